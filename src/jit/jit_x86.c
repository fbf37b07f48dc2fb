/* x86-64 JIT compiler: translates a loaded program, instruction by
 * instruction as read from the opcode table, into machine code.
 *
 * Register mapping (the kernel's): R0 rax, R1 rdi, R2 rsi, R3 rdx, R4 rcx,
 * R5 r8, R6 rbx, R7 r13, R8 r14, R9 r15, R10 rbp. R1..R5 are then already
 * the first five SysV arguments of a helper call, and R6..R9 are
 * callee-saved in C. r12 holds the run state (struct jit_state); r9, r10
 * and r11 are scratch.
 *
 * Code layout: [entry stub][body: one block per instruction][fault stubs,
 * check thunk]. Every BPF function (the main program, subprograms,
 * callbacks) is entered with a native `call`, so EXIT is a plain `ret`;
 * inside generated code rsp is always 16-byte aligned, so helpers are called
 * directly. A bpf-to-bpf call pushes r6..r9 and r10, moves r10 down one
 * 512-byte frame and calls the target. Faults in checked mode store why in
 * the state and unwind to the innermost entry stub with one `mov rsp`.
 *
 * Jump sizes: the first pass emits every jump in its long form; later
 * passes use the previous pass's offsets to pick short forms, until the
 * layout stops changing (sizes only shrink, so this converges), as the
 * kernel's JIT does.
 *
 * Within straight-line code (reset where a jump lands) each pass follows
 * a little about the values, to leave out code: which register the flags
 * describe (a test against 0 after an ALU op), which register holds the
 * sum of two others (loads address [a + b] directly), how many low bits
 * each register may have set (masks and zero extensions that change
 * nothing). Fused pairs and loop-head alignment: see emit_fused_pair and
 * LOOP_ALIGN.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <cpuid.h>

#include "helpers/helpers_internal.h" /* bpfvm__h_map_lookup_elem: the helper inlined */
#include "jit/jit.h"
#include "jit/x86_emit.h"


static const uint8_t bpf_to_x86[BPFVM_NREGS] = {
	X86_RAX, X86_RDI, X86_RSI, X86_RDX, X86_RCX, X86_R8,
	X86_RBX, X86_R13, X86_R14, X86_R15, X86_RBP,
};
#define REG_STATE X86_R12
#define OFF(field) ((int32_t)offsetof(struct jit_state, field))

/* Out-of-line code after the body, in emission order. */
enum stub {
	STUB_UNWIND,
	STUB_LDPKT_EXIT,
	STUB_CHECK_THUNK,
	STUB_FAULT_BUDGET,
	STUB_FAULT_CALL_DEPTH,
	STUB_FAULT_BAD_HELPER,
	STUB_FAULT_FELL_OFF,
	STUB_ZERO_FRAME,
	STUB_COUNT,
};

struct jit_ctx {
	struct bpfvm_prog *prog;
	const struct bpfvm_decoded *insns; /* decoded slot by slot (second halves unused) */
	size_t n;
	struct x86_buf out;
	uint32_t *prev;      /* offsets of the previous pass: n + 1 insns */
	uint32_t *cur;       /* offsets of this pass */
	uint32_t prev_stub[STUB_COUNT];
	uint32_t cur_stub[STUB_COUNT];
	int force_long;
	int lean_entry;      /* nothing can unwind: see needs_unwind */
	int checked;
	int blind;
	int bmi2;
	uint64_t rng;
	const uint8_t *is_target; /* slots that jumps, calls or callbacks enter */
	size_t pc;
	size_t insn_start;   /* out.len where the current instruction began */
	int in_body;
	size_t last_aligned; /* out.len after the last loop-head padding */
	int flags_reg;       /* BPF register whose value ZF reflects, or -1 */
	int flags_w;         /* ... computed in 64 bits (1) or 32 (0) */
	int sum_x, sum_a, sum_b; /* BPF sum_x holds sum_a + sum_b (sum_x -1: none) */
	uint8_t width[BPFVM_NREGS]; /* bits each register's value may have set, 0..64 */
};

/* is_target bits: control enters the slot other than from the previous
 * one; a backward jump enters it (the head of a loop, in clang's layout). */
#define TARGET_JUMP 1
#define TARGET_LOOP_HEAD 2

/* Loop heads start on a 64-byte boundary, the granule of the op cache
 * and of instruction fetch lines: the whole body of a short loop then
 * comes from as few lines as it can. Heads less than 32 bytes after the
 * last aligned one are left alone (clusters of short latch blocks, as in
 * a switch, lose more to the padding than they gain). Measured on the
 * benchmark's loops (bench/bench_jit.c, AMD Zen 3): 10-25% on strcmp,
 * parse and memcpy against none; 16 bytes gained about half of that. */
#define LOOP_ALIGN 64
#define LOOP_ALIGN_GAP 32

/* ---- positions and jumps ---------------------------------------------------- */

/* Where the next byte lands, in the previous pass's coordinates (exact once
 * the layout has converged). */
static int64_t here(const struct jit_ctx *c)
{
	if (!c->in_body)
		return (int64_t)c->out.len;
	return (int64_t)c->prev[c->pc] + (int64_t)(c->out.len - c->insn_start);
}

/* jmp (cc < 0) or jcc to an image offset; short when it fits and allowed. */
static void emit_jump_to(struct jit_ctx *c, int cc, int64_t target)
{
	int64_t rel8 = target - (here(c) + 2);
	if (!c->force_long && fits_s8(rel8)) {
		if (cc < 0)
			emit_jmp_rel8(&c->out, (int8_t)rel8);
		else
			emit_jcc_rel8(&c->out, (enum x86_cc)cc, (int8_t)rel8);
		return;
	}
	int size = cc < 0 ? 5 : 6;
	int32_t rel = (int32_t)(target - (here(c) + size));
	if (cc < 0)
		emit_jmp_rel32(&c->out, rel);
	else
		emit_jcc_rel32(&c->out, (enum x86_cc)cc, rel);
}

/* Always-long jumps to stubs (their distance is not worth tracking). */
static void emit_jcc_stub(struct jit_ctx *c, int cc, enum stub s)
{
	int size = cc < 0 ? 5 : 6;
	int32_t rel = (int32_t)((int64_t)c->prev_stub[s] - (here(c) + size));
	if (cc < 0)
		emit_jmp_rel32(&c->out, rel);
	else
		emit_jcc_rel32(&c->out, (enum x86_cc)cc, rel);
}

static void emit_call_stub(struct jit_ctx *c, enum stub s)
{
	emit_call_rel32(&c->out, (int32_t)((int64_t)c->prev_stub[s] - (here(c) + 5)));
}

/* A short forward jcc (cc < 0: jmp) inside one instruction's code; returns
 * the position to patch once the destination is reached. */
static size_t emit_jcc_fwd(struct jit_ctx *c, int cc)
{
	if (cc < 0)
		emit_jmp_rel8(&c->out, 0);
	else
		emit_jcc_rel8(&c->out, (enum x86_cc)cc, 0);
	return c->out.len - 2;
}

static void patch_fwd(struct jit_ctx *c, size_t at)
{
	if (!c->out.oom)
		c->out.p[at + 1] = (uint8_t)(c->out.len - (at + 2));
}

/* ---- checked mode ------------------------------------------------------------ */

/* Unless cc holds, stop the run with the fault of stub s at this insn. */
static void emit_fault_unless(struct jit_ctx *c, enum x86_cc ok, enum stub s)
{
	size_t skip = emit_jcc_fwd(c, ok);
	emit_mov_imm64(&c->out, X86_R10, (uint32_t)c->pc, 1);
	emit_jcc_stub(c, -1, s);
	patch_fwd(c, skip);
}

/* Stop the run with the fault of stub s at this insn. */
static void emit_fault(struct jit_ctx *c, enum stub s)
{
	emit_mov_imm64(&c->out, X86_R10, (uint32_t)c->pc, 1);
	emit_jcc_stub(c, -1, s);
}

/* Charge `count` instructions to the budget (backward jumps, calls). */
static void emit_budget_charge(struct jit_ctx *c, int32_t count)
{
	if (!c->checked)
		return;
	emit_alu_mi(&c->out, X86_G1_SUB, 1, REG_STATE, OFF(budget), count);
	emit_fault_unless(c, X86_CC_AE, STUB_FAULT_BUDGET);
}

/* Check [base + off, +size) before an access, as the interpreter does:
 * the stack frames in use ([stack_lo, r10)) and the context inline,
 * everything else in C through the check thunk (which also refuses the
 * frames beyond the current one, map values, helper-returned memory and
 * host regions decide there) and unwinds on a bad access. Atomics must be
 * aligned. */
static void emit_access_check(struct jit_ctx *c, int bpf_base, int16_t off, int size, uint32_t access)
{
	static const int size_index[9] = {0, 0, 1, 0, 2, 0, 0, 0, 3};
	struct x86_buf *b = &c->out;
	size_t misaligned = 0;
	emit_lea(b, X86_R11, bpf_to_x86[bpf_base], off);
	if ((access & JIT_ACCESS_ATOMIC) && size > 1) {
		emit_test_ri(b, 0, X86_R11, size - 1);
		misaligned = emit_jcc_fwd(c, X86_CC_NE);
	}
	/* Context first (the usual target of a base other than r10), then
	 * the frames in use: addr - stack_lo <= (r10 - size) - stack_lo. */
	size_t in_ctx = 0;
	if (bpf_base != BPFVM_REG_FP) {
		emit_mov_rr(b, 1, X86_R10, X86_R11);
		emit_op_mem(b, 0, 1, "\x2b", 1, X86_R10, REG_STATE, OFF(ctx_lo), 0); /* sub r10, [] */
		emit_op_mem(b, 0, 1, "\x3b", 1, X86_R10, REG_STATE,
			    OFF(ctx_starts) + 8 * size_index[size], 0); /* cmp r10, [] */
		in_ctx = emit_jcc_fwd(c, X86_CC_B);
	}
	emit_mov_rr(b, 1, X86_R10, X86_R11);
	emit_op_mem(b, 0, 1, "\x2b", 1, X86_R10, REG_STATE, OFF(stack_lo), 0);
	emit_lea(b, X86_R9, X86_RBP, -size);
	emit_op_mem(b, 0, 1, "\x2b", 1, X86_R9, REG_STATE, OFF(stack_lo), 0);
	emit_alu_rr(b, X86_CMP, 1, X86_R10, X86_R9);
	size_t in_stack = emit_jcc_fwd(c, X86_CC_BE);
	if (misaligned)
		patch_fwd(c, misaligned);
	emit_mov_imm64(b, X86_R10, ((uint32_t)c->pc << 8) | access | (uint32_t)size, 1);
	emit_call_stub(c, STUB_CHECK_THUNK);
	patch_fwd(c, in_stack);
	if (bpf_base != BPFVM_REG_FP)
		patch_fwd(c, in_ctx);
}

/* ---- constant blinding --------------------------------------------------------- */

static uint32_t next_key(struct jit_ctx *c)
{
	/* xorshift64*: the keys only need to be unpredictable per program. */
	c->rng ^= c->rng >> 12;
	c->rng ^= c->rng << 25;
	c->rng ^= c->rng >> 27;
	return (uint32_t)((c->rng * 0x2545f4914f6cdd1dULL) >> 32);
}

/* Put the sign-extended imm into reg without imm appearing in the code. */
static void emit_blinded_imm(struct jit_ctx *c, int reg, int32_t imm)
{
	uint32_t key = next_key(c);
	emit_rex(&c->out, 1, 0, 0, reg, 0);
	emit_byte(&c->out, 0xc7);
	emit_modrm(&c->out, 3, 0, reg);
	emit_u32(&c->out, (uint32_t)imm ^ key);
	emit_rex(&c->out, 1, 0, 0, reg, 0);
	emit_byte(&c->out, 0x81);
	emit_modrm(&c->out, 3, X86_G1_XOR, reg);
	emit_u32(&c->out, key);
}

/* ---- ALU ------------------------------------------------------------------------- */

static const enum x86_alu alu_rr_op[] = {
	[BPFVM_ALU_ADD] = X86_ADD, [BPFVM_ALU_SUB] = X86_SUB, [BPFVM_ALU_OR] = X86_OR,
	[BPFVM_ALU_AND] = X86_AND, [BPFVM_ALU_XOR] = X86_XOR,
};
static const enum x86_grp1 alu_ri_op[] = {
	[BPFVM_ALU_ADD] = X86_G1_ADD, [BPFVM_ALU_SUB] = X86_G1_SUB, [BPFVM_ALU_OR] = X86_G1_OR,
	[BPFVM_ALU_AND] = X86_G1_AND, [BPFVM_ALU_XOR] = X86_G1_XOR,
};

static int is_pow2(int32_t v)
{
	return v > 0 && (v & (v - 1)) == 0;
}

static int log2_u32(uint32_t v)
{
	int r = 0;
	while (v >>= 1)
		r++;
	return r;
}

/* Unsigned dst /= d or dst %= d for a constant d >= 3 that is not a power
 * of two, by multiplication (Granlund-Montgomery, Hacker's Delight 10-8):
 * with l = ceil(log2 d) and m = floor(2^64 (2^l - d) / d) + 1,
 * t = mulhi(m, x), q = (t + ((x - t) >> 1)) >> (l - 1). A 32-bit x is
 * zero-extended first, so one sequence serves both widths. rax and rdx
 * are kept in r10/r9 around mul. */
static void emit_udiv_by_const(struct jit_ctx *c, int is_mod, int w, int dst, uint32_t d)
{
	struct x86_buf *b = &c->out;
	int l = 64 - __builtin_clzll((uint64_t)d - 1);
	uint64_t m = (uint64_t)((((unsigned __int128)1 << 64) * ((1ULL << l) - d)) / d) + 1;
	emit_mov_rr(b, w, X86_R11, dst);
	if (dst != X86_RAX)
		emit_mov_rr(b, 1, X86_R10, X86_RAX);
	if (dst != X86_RDX)
		emit_mov_rr(b, 1, X86_R9, X86_RDX);
	emit_mov_imm64(b, X86_RAX, m, 0);
	emit_mul_r(b, X86_R11);
	emit_mov_rr(b, 1, X86_RAX, X86_R11);
	emit_alu_rr(b, X86_SUB, 1, X86_RAX, X86_RDX);
	emit_shift_ri(b, X86_SH_SHR, 1, X86_RAX, 1);
	emit_alu_rr(b, X86_ADD, 1, X86_RAX, X86_RDX);
	if (l > 1)
		emit_shift_ri(b, X86_SH_SHR, 1, X86_RAX, (uint8_t)(l - 1));
	if (is_mod) {
		emit_imul_rri(b, 1, X86_RAX, X86_RAX, (int32_t)d);
		emit_alu_rr(b, X86_SUB, 1, X86_R11, X86_RAX);
		emit_mov_rr(b, w, dst, X86_R11);
	} else if (dst != X86_RAX) {
		emit_mov_rr(b, w, dst, X86_RAX);
	}
	if (dst != X86_RAX)
		emit_mov_rr(b, 1, X86_RAX, X86_R10);
	if (dst != X86_RDX)
		emit_mov_rr(b, 1, X86_RDX, X86_R9);
}

/* dst /= src, dst %= src (signed or not) with the ISA's rules: x / 0 = 0,
 * x % 0 = x, INT_MIN / -1 = INT_MIN, INT_MIN % -1 = 0; 32-bit forms
 * zero-extend. rax and rdx are kept in r10/r9 around div, not on the stack;
 * a source other than those two is the divisor itself. */
static void emit_div_mod(struct jit_ctx *c, int op, int w, int dst, int src_reg, int32_t imm)
{
	struct x86_buf *b = &c->out;
	int is_mod = op == BPFVM_ALU_MOD || op == BPFVM_ALU_SMOD;
	int is_signed = op == BPFVM_ALU_SDIV || op == BPFVM_ALU_SMOD;
	int check_zero = 1, check_m1 = is_signed;
	int divisor = X86_R11; /* the source itself unless div overwrites it */
	if (src_reg < 0) {
		if (imm == 0) {
			if (!is_mod)
				emit_alu_rr(b, X86_XOR, 0, dst, dst);
			else if (!w)
				emit_mov_rr(b, 0, dst, dst);
			return;
		}
		if (is_signed && imm == -1) {
			if (is_mod)
				emit_alu_rr(b, X86_XOR, 0, dst, dst);
			else
				emit_neg(b, w, dst);
			return;
		}
		if (!is_signed && is_pow2(imm) && !c->blind) {
			if (is_mod) {
				emit_alu_ri(b, X86_G1_AND, w, dst, imm - 1);
			} else if (imm == 1) {
				if (!w)
					emit_mov_rr(b, 0, dst, dst);
			} else {
				emit_shift_ri(b, X86_SH_SHR, w, dst, (uint8_t)log2_u32((uint32_t)imm));
			}
			return;
		}
		if (!is_signed && imm > 2 && !c->blind) {
			emit_udiv_by_const(c, is_mod, w, dst, (uint32_t)imm);
			return;
		}
		if (c->blind)
			emit_blinded_imm(c, X86_R11, imm);
		else
			emit_mov_imm64(b, X86_R11, (uint64_t)(int64_t)imm, 1);
		check_zero = 0;
		check_m1 = 0;
	} else if (src_reg == X86_RAX || src_reg == X86_RDX) {
		emit_mov_rr(b, w, X86_R11, src_reg); /* div overwrites both */
	} else {
		divisor = src_reg;
	}
	size_t to_zero = 0, to_m1 = 0;
	if (check_zero) {
		emit_alu_rr(b, X86_TEST, w, divisor, divisor);
		to_zero = emit_jcc_fwd(c, X86_CC_E);
	}
	if (check_m1) {
		emit_alu_ri(b, X86_G1_CMP, w, divisor, -1);
		to_m1 = emit_jcc_fwd(c, X86_CC_E);
	}
	if (dst != X86_RAX)
		emit_mov_rr(b, 1, X86_R10, X86_RAX);
	if (dst != X86_RDX)
		emit_mov_rr(b, 1, X86_R9, X86_RDX);
	if (dst != X86_RAX)
		emit_mov_rr(b, 1, X86_RAX, dst);
	if (is_signed)
		emit_cqo(b, w);
	else
		emit_alu_rr(b, X86_XOR, 0, X86_RDX, X86_RDX);
	emit_div_r(b, w, is_signed, divisor);
	int result = is_mod ? X86_RDX : X86_RAX;
	if (dst != result)
		emit_mov_rr(b, w, dst, result);
	if (dst != X86_RAX)
		emit_mov_rr(b, 1, X86_RAX, X86_R10);
	if (dst != X86_RDX)
		emit_mov_rr(b, 1, X86_RDX, X86_R9);
	if (!check_zero && !check_m1)
		return;
	size_t done1 = emit_jcc_fwd(c, -1), done2 = 0;
	patch_fwd(c, to_zero);
	if (!is_mod)
		emit_alu_rr(b, X86_XOR, 0, dst, dst);
	else if (!w)
		emit_mov_rr(b, 0, dst, dst);
	if (check_m1) {
		done2 = emit_jcc_fwd(c, -1);
		patch_fwd(c, to_m1);
		if (is_mod)
			emit_alu_rr(b, X86_XOR, 0, dst, dst);
		else
			emit_neg(b, w, dst);
	}
	patch_fwd(c, done1);
	if (check_m1)
		patch_fwd(c, done2);
}

/* dst <<= src, >>=, s>>= by a register: BMI2 shlx/shrx/sarx when the CPU
 * has them (no rcx juggling, and the VEX form always zero-extends), else
 * through cl. */
static void emit_shift_by_reg(struct jit_ctx *c, enum x86_shift kind, int w, int dst, int src)
{
	struct x86_buf *b = &c->out;
	if (c->bmi2) {
		emit_shiftx(b, kind, w, dst, dst, src);
		return;
	}
	if (src == X86_RCX) {
		emit_shift_rcl(b, kind, w, dst);
	} else if (dst == X86_RCX) {
		emit_mov_rr(b, 1, X86_R11, X86_RCX);
		emit_mov_rr(b, 1, X86_RCX, src);
		emit_shift_rcl(b, kind, w, X86_R11);
		emit_mov_rr(b, 1, X86_RCX, X86_R11);
	} else {
		emit_mov_rr(b, 1, X86_R11, X86_RCX);
		emit_mov_rr(b, 1, X86_RCX, src);
		emit_shift_rcl(b, kind, w, dst);
		emit_mov_rr(b, 1, X86_RCX, X86_R11);
	}
	/* A 32-bit shift by 0 must still clear the upper half. */
	if (!w)
		emit_mov_rr(b, 0, dst, dst);
}

/* ---- value widths ---------------------------------------------------------------- */

/* Bits an unsigned value needs. */
static int bits_of(uint64_t v)
{
	return v ? 64 - __builtin_clzll(v) : 0;
}

static void forget_widths(struct jit_ctx *c)
{
	memset(c->width, 64, sizeof(c->width));
}

/* Width of the result of ALU insn d, from the operands' widths: loads of
 * 1, 2 and 4 bytes, small constants, masks and 32-bit operations bound it;
 * and/or/xor combine bounds; anything else may use every bit. */
static int alu_result_width(const struct jit_ctx *c, const struct bpfvm_decoded *d)
{
	int w32 = (d->info->flags & BPFVM_F_ALU32) != 0;
	int wd = c->width[d->dst];
	int ws = (d->info->flags & BPFVM_F_REG_SRC) ? c->width[d->src]
		 : d->imm >= 0 ? bits_of((uint64_t)d->imm) : 64;
	int r = 64;
	switch (d->info->op) {
	case BPFVM_ALU_MOV:
		r = ws;
		break;
	case BPFVM_ALU_AND:
		r = wd < ws ? wd : ws;
		break;
	case BPFVM_ALU_OR:
	case BPFVM_ALU_XOR:
		r = wd > ws ? wd : ws;
		break;
	}
	return w32 && r > 32 ? 32 : r;
}

/* After insn d (not fused): the widths it leaves. */
static void track_width(struct jit_ctx *c, const struct bpfvm_decoded *d)
{
	switch (d->info->kind) {
	case BPFVM_KIND_ALU:
		c->width[d->dst] = (uint8_t)alu_result_width(c, d);
		break;
	case BPFVM_KIND_LDX:
		c->width[d->dst] = (uint8_t)(d->info->size < 8 ? 8 * d->info->size : 64);
		break;
	case BPFVM_KIND_LDXSX:
	case BPFVM_KIND_LDDW:
	case BPFVM_KIND_END:
		c->width[d->dst] = 64;
		break;
	case BPFVM_KIND_ST:
	case BPFVM_KIND_STX:
	case BPFVM_KIND_JA:
	case BPFVM_KIND_JCOND:
		break;
	default: /* calls, atomics, packet loads: registers change unseen */
		forget_widths(c);
		break;
	}
}

/* An ALU insn that cannot change its register given the widths: a mask
 * `&= 2^k - 1` of a value of at most k bits, a zero extension `w = w` of
 * one of at most 32. */
static int alu_is_redundant(const struct jit_ctx *c, const struct bpfvm_decoded *d)
{
	int wd = c->width[d->dst];
	if (d->opid == BPFVM_OP_MOV32_REG && d->src == d->dst)
		return wd <= 32;
	if ((d->opid == BPFVM_OP_AND64_IMM || d->opid == BPFVM_OP_AND32_IMM) && d->imm > 0 &&
	    ((uint32_t)d->imm & ((uint32_t)d->imm + 1)) == 0)
		return wd <= bits_of((uint64_t)d->imm);
	return 0;
}

/* dst *= imm: by a power of two a shift, by 3, 5 or 9 a lea
 * [dst + dst * 2|4|8] (one cycle against imul's three, on chains such as
 * `acc = acc * 3 + c`), else imul. */
static void emit_mul_imm(struct x86_buf *b, int w, int dst, int32_t imm)
{
	if (imm == 1) {
		if (!w)
			emit_mov_rr(b, 0, dst, dst);
	} else if (is_pow2(imm)) {
		emit_shift_ri(b, X86_SH_SHL, w, dst, (uint8_t)log2_u32((uint32_t)imm));
	} else if (imm == 3 || imm == 5 || imm == 9) {
		emit_lea_bis(b, w, dst, dst, dst, log2_u32((uint32_t)imm - 1));
	} else {
		emit_imul_rri(b, w, dst, dst, imm);
	}
}

/* Immediates with a shorter x86 form: `&= 0xff`, `&= 0xffff` are movzx,
 * `&= -1` only zero-extends (w32) or does nothing, `^= -1` is not.
 * Returns 1 if emitted. */
static int emit_alu_imm_special(struct x86_buf *b, int op, int w, int dst, int32_t imm)
{
	if (op == BPFVM_ALU_AND && (imm == 0xff || imm == 0xffff)) {
		emit_movzx_rr(b, imm == 0xff ? 8 : 16, dst, dst);
		return 1;
	}
	if (op == BPFVM_ALU_AND && imm == -1) {
		if (!w)
			emit_mov_rr(b, 0, dst, dst);
		return 1;
	}
	if (op == BPFVM_ALU_XOR && imm == -1) {
		emit_not(b, w, dst);
		return 1;
	}
	return 0;
}

static void emit_alu(struct jit_ctx *c, const struct bpfvm_decoded *d)
{
	if (alu_is_redundant(c, d))
		return;
	struct x86_buf *b = &c->out;
	const struct bpfvm_opinfo *info = d->info;
	int w = !(info->flags & BPFVM_F_ALU32);
	int dst = bpf_to_x86[d->dst];
	int src = -1;
	int32_t imm = d->imm;
	if (info->flags & BPFVM_F_REG_SRC)
		src = bpf_to_x86[d->src];
	int op = info->op;
	int shift = op == BPFVM_ALU_LSH || op == BPFVM_ALU_RSH || op == BPFVM_ALU_ARSH;
	int divide = op == BPFVM_ALU_DIV || op == BPFVM_ALU_SDIV || op == BPFVM_ALU_MOD ||
		     op == BPFVM_ALU_SMOD;
	/* Blinded immediates go through r11 and the register form. Shift
	 * counts (6 bits) and divisions (handled in emit_div_mod) are not. */
	if (src < 0 && c->blind && !shift && !divide && op != BPFVM_ALU_NEG) {
		if (op == BPFVM_ALU_MOV) {
			uint32_t key = next_key(c);
			emit_mov_imm64(b, dst, w ? (uint64_t)(int64_t)(int32_t)((uint32_t)imm ^ key)
						 : (uint32_t)imm ^ key, 1);
			emit_rex(b, w, 0, 0, dst, 0);
			emit_byte(b, 0x81);
			emit_modrm(b, 3, X86_G1_XOR, dst);
			emit_u32(b, key);
			return;
		}
		emit_blinded_imm(c, X86_R11, imm);
		src = X86_R11;
	}
	switch (op) {
	case BPFVM_ALU_ADD:
	case BPFVM_ALU_SUB:
	case BPFVM_ALU_OR:
	case BPFVM_ALU_AND:
	case BPFVM_ALU_XOR:
		if (src >= 0)
			emit_alu_rr(b, alu_rr_op[op], w, dst, src);
		else if (!emit_alu_imm_special(b, op, w, dst, imm))
			emit_alu_ri(b, alu_ri_op[op], w, dst, imm);
		break;
	case BPFVM_ALU_MOV:
		if (src >= 0) {
			if (!w || src != dst)
				emit_mov_rr(b, w, dst, src);
		} else {
			emit_mov_imm64(b, dst, w ? (uint64_t)(int64_t)imm : (uint32_t)imm, 0);
		}
		break;
	case BPFVM_ALU_MUL:
		if (src >= 0)
			emit_imul_rr(b, w, dst, src);
		else
			emit_mul_imm(b, w, dst, imm);
		break;
	case BPFVM_ALU_DIV:
	case BPFVM_ALU_SDIV:
	case BPFVM_ALU_MOD:
	case BPFVM_ALU_SMOD:
		emit_div_mod(c, op, w, dst, src, imm);
		break;
	case BPFVM_ALU_LSH:
	case BPFVM_ALU_RSH:
	case BPFVM_ALU_ARSH: {
		enum x86_shift kind = op == BPFVM_ALU_LSH ? X86_SH_SHL
				      : op == BPFVM_ALU_RSH ? X86_SH_SHR : X86_SH_SAR;
		if (src >= 0) {
			emit_shift_by_reg(c, kind, w, dst, src);
		} else {
			uint8_t count = (uint8_t)(imm & (w ? 63 : 31));
			if (count)
				emit_shift_ri(b, kind, w, dst, count);
			else if (!w)
				emit_mov_rr(b, 0, dst, dst);
		}
		break;
	}
	case BPFVM_ALU_NEG:
		emit_neg(b, w, dst);
		break;
	case BPFVM_ALU_MOVSX:
		emit_movsx_rr(b, w, d->off, dst, src);
		break;
	}
}

/* le/be/bswap on a little-endian host: le truncates, be and bswap swap. */
static void emit_end(struct jit_ctx *c, const struct bpfvm_decoded *d)
{
	struct x86_buf *b = &c->out;
	int dst = bpf_to_x86[d->dst];
	int size = d->info->size;
	if (d->info->op == BPFVM_END_LE) {
		if (size == 2)
			emit_movzx_rr(b, 16, dst, dst);
		else if (size == 4)
			emit_mov_rr(b, 0, dst, dst);
		return;
	}
	if (size == 2) {
		emit_rol16_8(b, dst);
		emit_movzx_rr(b, 16, dst, dst);
	} else {
		emit_bswap(b, size == 8, dst);
	}
}

/* ---- jumps -------------------------------------------------------------------------- */

static const enum x86_cc jcc_of[] = {
	[BPFVM_JMP_JEQ] = X86_CC_E,   [BPFVM_JMP_JGT] = X86_CC_A,   [BPFVM_JMP_JGE] = X86_CC_AE,
	[BPFVM_JMP_JSET] = X86_CC_NE, [BPFVM_JMP_JNE] = X86_CC_NE,  [BPFVM_JMP_JSGT] = X86_CC_G,
	[BPFVM_JMP_JSGE] = X86_CC_GE, [BPFVM_JMP_JLT] = X86_CC_B,   [BPFVM_JMP_JLE] = X86_CC_BE,
	[BPFVM_JMP_JSLT] = X86_CC_L,  [BPFVM_JMP_JSLE] = X86_CC_LE,
};

static void emit_backward_charge(struct jit_ctx *c, int64_t target)
{
	if (target <= (int64_t)c->pc)
		emit_budget_charge(c, (int32_t)((int64_t)c->pc - target + 1));
}

/* Target of the unconditional jump d at pc. */
static int64_t ja_target(const struct bpfvm_decoded *d, size_t pc)
{
	return (int64_t)pc + 1 + ((d->info->flags & BPFVM_F_JUMP_IMM) ? d->imm : d->off);
}

static void emit_ja(struct jit_ctx *c, const struct bpfvm_decoded *d)
{
	int64_t target = ja_target(d, c->pc);
	if (target == (int64_t)c->pc + 1)
		return;
	emit_backward_charge(c, target);
	emit_jump_to(c, -1, c->prev[target]);
}

/* Does ZF already say whether d's register is 0, for d an == / != test
 * against 0? Yes when the last flag-setting instruction was an ALU op on
 * it as wide as the test, or 32-bit for a 64-bit test (the upper half is
 * then zero). Verified code only: checked code charges the budget (a sub)
 * before backward jumps. */
static int zf_reflects(const struct jit_ctx *c, const struct bpfvm_decoded *d)
{
	int op = d->info->op;
	if ((op != BPFVM_JMP_JEQ && op != BPFVM_JMP_JNE) || c->flags_reg != d->dst || c->checked)
		return 0;
	return !(d->info->flags & BPFVM_F_ALU32) || !c->flags_w;
}

/* After insn d (not fused, not a jump): which register's value ZF now
 * reflects. add/sub/and/or/xor set it from their result (not the movzx,
 * not and nothing of the short immediate forms); moves, and in verified
 * code loads and stores, leave the flags alone; everything else may
 * change them. */
static void track_flags(struct jit_ctx *c, const struct bpfvm_decoded *d)
{
	const struct bpfvm_opinfo *info = d->info;
	int op = info->op;
	if (info->kind == BPFVM_KIND_ALU && alu_is_redundant(c, d))
		return; /* no code, no change */
	if (info->kind == BPFVM_KIND_ALU &&
	    (op == BPFVM_ALU_ADD || op == BPFVM_ALU_SUB || op == BPFVM_ALU_OR || op == BPFVM_ALU_AND ||
	     op == BPFVM_ALU_XOR)) {
		int special = !(info->flags & BPFVM_F_REG_SRC) && !c->blind &&
			      ((op == BPFVM_ALU_AND && (d->imm == 0xff || d->imm == 0xffff || d->imm == -1)) ||
			       (op == BPFVM_ALU_XOR && d->imm == -1));
		c->flags_reg = special ? -1 : d->dst;
		c->flags_w = !(info->flags & BPFVM_F_ALU32);
		return;
	}
	int keeps = (info->kind == BPFVM_KIND_ALU && op == BPFVM_ALU_MOV && (info->flags & BPFVM_F_REG_SRC)) ||
		    (!c->checked && (info->kind == BPFVM_KIND_LDX || info->kind == BPFVM_KIND_LDXSX ||
				     info->kind == BPFVM_KIND_STX ||
				     (info->kind == BPFVM_KIND_ST && !c->blind)));
	int writes_it = info->kind != BPFVM_KIND_STX && info->kind != BPFVM_KIND_ST && d->dst == c->flags_reg;
	if (!keeps || writes_it)
		c->flags_reg = -1;
}

/* After insn d: forget sum_x = sum_a + sum_b once d may have changed one
 * of the three (conditional jumps change none; at a jump target the pass
 * forgets it too). */
static void track_sum(struct jit_ctx *c, const struct bpfvm_decoded *d)
{
	if (c->sum_x < 0)
		return;
	enum bpfvm_kind k = d->info->kind;
	int writes_dst = k == BPFVM_KIND_ALU || k == BPFVM_KIND_END || k == BPFVM_KIND_LDX ||
			 k == BPFVM_KIND_LDXSX || k == BPFVM_KIND_LDDW;
	int keeps = k == BPFVM_KIND_JCOND || k == BPFVM_KIND_ST || k == BPFVM_KIND_STX || writes_dst;
	if (!keeps || (writes_dst && (d->dst == c->sum_x || d->dst == c->sum_a || d->dst == c->sum_b)))
		c->sum_x = -1;
}

/* cmp/test for a conditional jump; returns the x86 condition that holds
 * when the jump is taken. Comparisons with 0 use test (shorter, and it
 * fuses with the jcc as cmp does). */
static enum x86_cc emit_compare(struct jit_ctx *c, const struct bpfvm_decoded *d)
{
	struct x86_buf *b = &c->out;
	const struct bpfvm_opinfo *info = d->info;
	int w = !(info->flags & BPFVM_F_ALU32);
	int dst = bpf_to_x86[d->dst];
	int is_set = info->op == BPFVM_JMP_JSET;
	if (info->flags & BPFVM_F_REG_SRC) {
		emit_alu_rr(b, is_set ? X86_TEST : X86_CMP, w, dst, bpf_to_x86[d->src]);
	} else if (c->blind) {
		emit_blinded_imm(c, X86_R11, d->imm);
		emit_alu_rr(b, is_set ? X86_TEST : X86_CMP, w, dst, X86_R11);
	} else if (is_set) {
		emit_test_ri(b, w, dst, d->imm);
	} else if (d->imm == 0) {
		if (!zf_reflects(c, d))
			emit_alu_rr(b, X86_TEST, w, dst, dst);
	} else {
		emit_alu_ri(b, X86_G1_CMP, w, dst, d->imm);
	}
	return jcc_of[info->op];
}

static void emit_jcond(struct jit_ctx *c, const struct bpfvm_decoded *d)
{
	int64_t target = (int64_t)c->pc + 1 + d->off;
	if (target == (int64_t)c->pc + 1)
		return;
	emit_backward_charge(c, target);
	enum x86_cc cc = emit_compare(c, d);
	emit_jump_to(c, cc, c->prev[target]);
}

/* `if cond goto +1; goto L` (clang's loop latch) -> one `if !cond goto L`:
 * a branch less on every iteration. Checked runs charge the budget on a
 * backward goto alone, as the interpreter: there only forward ones fuse. */
static int emit_jcond_over_ja(struct jit_ctx *c, const struct bpfvm_decoded *d)
{
	const struct bpfvm_decoded *e = d + 1;
	if (d->info->kind != BPFVM_KIND_JCOND || d->off != 1 || e->info->kind != BPFVM_KIND_JA)
		return 0;
	int64_t target = ja_target(e, c->pc + 1);
	if (target == (int64_t)c->pc + 2 || (c->checked && target <= (int64_t)c->pc + 1))
		return 0;
	enum x86_cc cc = emit_compare(c, d);
	emit_jump_to(c, (int)(cc ^ 1), c->prev[target]); /* x86 conditions pair up by the low bit */
	return 1;
}

/* ---- memory ------------------------------------------------------------------------------ */

static void emit_ldx(struct jit_ctx *c, const struct bpfvm_decoded *d)
{
	int size = d->info->size;
	if (c->checked)
		emit_access_check(c, d->src, d->off, size, 0);
	if (!c->checked && d->src == c->sum_x) /* address [a + b + off], not waiting for x */
		emit_load_bi(&c->out, size, d->info->kind == BPFVM_KIND_LDXSX, bpf_to_x86[d->dst],
			     bpf_to_x86[c->sum_a], bpf_to_x86[c->sum_b], d->off);
	else
		emit_load(&c->out, size, d->info->kind == BPFVM_KIND_LDXSX, bpf_to_x86[d->dst],
			  bpf_to_x86[d->src], d->off);
}

static void emit_st(struct jit_ctx *c, const struct bpfvm_decoded *d)
{
	int size = d->info->size;
	if (c->checked)
		emit_access_check(c, d->dst, d->off, size, JIT_ACCESS_WRITE);
	if (d->info->kind == BPFVM_KIND_STX) {
		emit_store_reg(&c->out, size, bpf_to_x86[d->dst], d->off, bpf_to_x86[d->src]);
	} else if (c->blind) {
		emit_blinded_imm(c, X86_R9, d->imm);
		emit_store_reg(&c->out, size, bpf_to_x86[d->dst], d->off, X86_R9);
	} else {
		emit_store_imm(&c->out, size, bpf_to_x86[d->dst], d->off, d->imm);
	}
}

/* or/and/xor with fetch: a cmpxchg loop. rax (R0) is the loop's
 * accumulator, kept in r10 meanwhile; r9 holds the address. */
static void emit_atomic_fetch_loop(struct jit_ctx *c, enum x86_alu op, int w, int base, int16_t off, int src)
{
	struct x86_buf *b = &c->out;
	emit_lea(b, X86_R9, base, off);
	emit_mov_rr(b, 1, X86_R10, X86_RAX);
	int operand = src == X86_RAX ? X86_R10 : src;
	size_t loop = b->len;
	emit_load(b, w ? 8 : 4, 0, X86_RAX, X86_R9, 0);
	emit_mov_rr(b, w, X86_R11, X86_RAX);
	emit_alu_rr(b, op, w, X86_R11, operand);
	emit_locked_op_mem(b, 1, w, "\x0f\xb1", 2, X86_R11, X86_R9, 0);
	emit_jcc_rel8(b, X86_CC_NE, (int8_t)((int64_t)loop - (int64_t)(b->len + 2)));
	emit_mov_rr(b, w, src, X86_RAX);
	if (src != X86_RAX)
		emit_mov_rr(b, 1, X86_RAX, X86_R10);
}

static void emit_atomic(struct jit_ctx *c, const struct bpfvm_decoded *d)
{
	struct x86_buf *b = &c->out;
	int w = d->info->size == 8;
	int base = bpf_to_x86[d->dst], src = bpf_to_x86[d->src];
	if (c->checked)
		emit_access_check(c, d->dst, d->off, d->info->size, JIT_ACCESS_WRITE | JIT_ACCESS_ATOMIC);
	switch (d->info->op) {
	case BPFVM_ATOMIC_ADD:
		emit_locked_op_mem(b, 1, w, "\x01", 1, src, base, d->off);
		break;
	case BPFVM_ATOMIC_OR:
		emit_locked_op_mem(b, 1, w, "\x09", 1, src, base, d->off);
		break;
	case BPFVM_ATOMIC_AND:
		emit_locked_op_mem(b, 1, w, "\x21", 1, src, base, d->off);
		break;
	case BPFVM_ATOMIC_XOR:
		emit_locked_op_mem(b, 1, w, "\x31", 1, src, base, d->off);
		break;
	case BPFVM_ATOMIC_FETCH_ADD:
		emit_locked_op_mem(b, 1, w, "\x0f\xc1", 2, src, base, d->off); /* xadd */
		break;
	case BPFVM_ATOMIC_FETCH_OR:
		emit_atomic_fetch_loop(c, X86_OR, w, base, d->off, src);
		break;
	case BPFVM_ATOMIC_FETCH_AND:
		emit_atomic_fetch_loop(c, X86_AND, w, base, d->off, src);
		break;
	case BPFVM_ATOMIC_FETCH_XOR:
		emit_atomic_fetch_loop(c, X86_XOR, w, base, d->off, src);
		break;
	case BPFVM_ATOMIC_XCHG:
		emit_locked_op_mem(b, 0, w, "\x87", 1, src, base, d->off); /* xchg locks itself */
		break;
	case BPFVM_ATOMIC_CMPXCHG:
		emit_locked_op_mem(b, 1, w, "\x0f\xb1", 2, src, base, d->off);
		if (!w) /* eax keeps its upper half when the exchange succeeds */
			emit_mov_rr(b, 0, X86_RAX, X86_RAX);
		break;
	}
}

static void emit_lddw(struct jit_ctx *c, const struct bpfvm_decoded *d)
{
	int dst = bpf_to_x86[d->dst];
	uint64_t v = c->prog->lddw_value[c->pc];
	if (!c->blind) {
		emit_mov_imm64(&c->out, dst, v, 0);
		return;
	}
	uint64_t key = ((uint64_t)next_key(c) << 32) | next_key(c);
	emit_movabs(&c->out, dst, v ^ key);
	emit_movabs(&c->out, X86_R11, key);
	emit_alu_rr(&c->out, X86_XOR, 1, dst, X86_R11);
}

/* LD_ABS / LD_IND through C (legacy and rare): R1..R5 are kept, as the
 * interpreter keeps them; an out-of-range load ends the run with r0 = 0. */
static void emit_ld_packet(struct jit_ctx *c, const struct bpfvm_decoded *d)
{
	struct x86_buf *b = &c->out;
	/* The offset is 32-bit (imm + src); a negative one is out of range. */
	if (d->info->kind == BPFVM_KIND_LDIND) {
		emit_op_mem(b, 0, 0, "\x8d", 1, X86_R11, bpf_to_x86[d->src], d->imm, 0); /* lea r11d */
		emit_movsx_rr(b, 1, 32, X86_R11, X86_R11);
	} else {
		emit_mov_imm64(b, X86_R11, (uint64_t)(int64_t)d->imm, 1);
	}
	static const int saved[] = {X86_RDI, X86_RSI, X86_RDX, X86_RCX, X86_R8};
	for (int i = 0; i < 5; i++)
		emit_push(b, saved[i]);
	emit_alu_ri(b, X86_G1_SUB, 1, X86_RSP, 8);
	emit_mov_rr(b, 1, X86_RDI, REG_STATE);
	emit_mov_rr(b, 1, X86_RSI, X86_R11);
	emit_mov_imm64(b, X86_RDX, (uint32_t)d->info->size, 0);
	emit_movabs(b, X86_RAX, (uint64_t)(uintptr_t)bpfvm__jit_ld_packet);
	emit_call_reg(b, X86_RAX);
	emit_alu_ri(b, X86_G1_ADD, 1, X86_RSP, 8);
	for (int i = 4; i >= 0; i--)
		emit_pop(b, saved[i]);
	emit_alu_rr(b, X86_TEST, 0, X86_RAX, X86_RAX);
	emit_jcc_stub(c, X86_CC_NE, STUB_LDPKT_EXIT);
	emit_load(b, 8, 0, X86_RAX, REG_STATE, OFF(pkt_value));
}

/* ---- calls ---------------------------------------------------------------------------------- */

static int helper_takes_callback(const struct bpfvm_helper *h)
{
	for (int i = 0; i < 5; i++)
		if (h->args[i] == BPFVM_ARG_PTR_TO_FUNC)
			return 1;
	return 0;
}

/* fn(r1..r5, cc): R1..R5 are already rdi, rsi, rdx, rcx, r8. */
static void emit_helper_call(struct jit_ctx *c, const struct bpfvm_helper *h)
{
	struct x86_buf *b = &c->out;
	emit_budget_charge(c, 1);
	emit_store_reg(b, 8, REG_STATE, OFF(cur_fp), X86_RBP);
	emit_lea(b, X86_R9, REG_STATE, OFF(cc));
	emit_movabs(b, X86_R11, (uint64_t)(uintptr_t)h->fn);
	emit_call_reg(b, X86_R11);
	if (helper_takes_callback(h)) {
		/* A callback that faulted has already set the status. */
		emit_alu_mi(b, X86_G1_CMP, 0, REG_STATE, OFF(status), 0);
		emit_jcc_stub(c, X86_CC_NE, STUB_UNWIND);
	}
}

/* ---- inlined map lookups ---------------------------------------------------------------- */

/* Does the instruction possibly write BPF register reg? (Conservative:
 * anything that is not a plain ALU, load, store or conditional jump
 * counts as a write.) */
static int may_write_reg(const struct bpfvm_decoded *d, int reg)
{
	switch (d->info->kind) {
	case BPFVM_KIND_ALU:
	case BPFVM_KIND_END:
	case BPFVM_KIND_LDX:
	case BPFVM_KIND_LDXSX:
	case BPFVM_KIND_LDDW:
		return d->dst == reg;
	case BPFVM_KIND_ST:
	case BPFVM_KIND_STX:
	case BPFVM_KIND_JCOND:
		return 0;
	case BPFVM_KIND_ATOMIC: /* fetch forms write src, cmpxchg r0 */
		return d->src == reg || reg == 0;
	default:
		return 1;
	}
}

/* The map r1 holds at the call at pc, when the code alone proves it:
 * an LD_IMM64 of a map into r1 earlier in the same straight-line run of
 * instructions (no jump lands after it, up to and including the call),
 * and nothing in between that may write r1. NULL otherwise. */
static struct bpfvm_map *map_in_r1(const struct jit_ctx *c, size_t pc)
{
	enum { MAX_SCAN = 64 };
	for (size_t q = pc, steps = 0; q > 0 && steps < MAX_SCAN; steps++) {
		if (c->is_target[q])
			return NULL;
		q--;
		if (c->insns[q].slots == 0) /* second half of an LD_IMM64 */
			q--;
		const struct bpfvm_decoded *d = &c->insns[q];
		if (d->info->kind == BPFVM_KIND_LDDW && d->dst == 1 &&
		    (d->info->op == BPFVM_LDDW_MAP_FD || d->info->op == BPFVM_LDDW_MAP_IDX))
			return (struct bpfvm_map *)(uintptr_t)c->prog->lddw_value[q];
		if (may_write_reg(d, 1))
			return NULL;
	}
	return NULL;
}

/* reg *= v (64-bit; v <= INT32_MAX): a shift when v is a power of two. */
static void emit_mul_by_const(struct x86_buf *b, int reg, uint32_t v)
{
	if (v && !(v & (v - 1)))
		emit_shift_ri(b, X86_SH_SHL, 1, reg, (uint8_t)__builtin_ctz(v));
	else
		emit_imul_rri(b, 1, reg, reg, (int32_t)v);
}

/* The map of the helper call at pc when it is a bpf_map_lookup_elem (the
 * standard helper, not a host's replacement) of a verified program and r1
 * provably holds that map; NULL otherwise. */
static struct bpfvm_map *known_lookup_map(const struct jit_ctx *c, size_t pc)
{
	const struct bpfvm_helper *h = c->prog->call_helper[pc];
	if (c->checked || !h || h->id != 1 || h->fn != bpfvm__h_map_lookup_elem)
		return NULL;
	return map_in_r1(c, pc);
}

/* Is the call at pc a known lookup on an ARRAY / PERCPU_ARRAY? Fills lk
 * with the map's layout. */
static int lookup_to_inline(const struct jit_ctx *c, size_t pc, struct bpfvm_map_inline_lookup *lk)
{
	struct bpfvm_map *map = known_lookup_map(c, pc);
	return map && !bpfvm__map_inline_lookup(map, lk) && lk->elem_size <= INT32_MAX &&
	       lk->cpu_stride <= INT32_MAX;
}

/* A known lookup on another map type (hash, LRU, LPM, ...): call the map's
 * own lookup with (map, key, run->cpu), which is all the helper does for
 * a verified program, without the helper in between. */
static int emit_direct_map_lookup(struct jit_ctx *c)
{
	struct bpfvm_map *map = known_lookup_map(c, c->pc);
	if (!map || !map->ops->lookup)
		return 0;
	struct x86_buf *b = &c->out;
	emit_load(b, 8, 0, X86_RDX, REG_STATE, OFF(cc.run));
	emit_load(b, 4, 0, X86_RDX, X86_RDX, (int32_t)offsetof(struct bpfvm_run, cpu));
	emit_movabs(b, X86_R11, (uint64_t)(uintptr_t)map->ops->lookup);
	emit_call_reg(b, X86_R11);
	return 1;
}

/* bpf_map_lookup_elem on an ARRAY / PERCPU_ARRAY known at compile time,
 * without a call (the kernel's map_gen_lookup): r0 = the value of index
 * *(u32 *)r2, or 0 when the index is out of range. For a per-CPU array the
 * run's CPU slot (run->cpu % BPFVM_NR_CPUS) picks the copy, as the helper
 * does. Returns 0 if the call cannot be inlined (nothing emitted). Only for
 * verified programs: checked runs register the value as a region in the
 * helper. r1..r5 are left as they are (the verifier makes them unreadable
 * after a call). */
static int emit_inline_array_lookup(struct jit_ctx *c)
{
	_Static_assert((BPFVM_NR_CPUS & (BPFVM_NR_CPUS - 1)) == 0, "cpu slot is a mask");
	struct bpfvm_map_inline_lookup lk;
	if (!lookup_to_inline(c, c->pc, &lk))
		return 0;
	struct x86_buf *b = &c->out;
	emit_load(b, 4, 0, X86_RAX, bpf_to_x86[2], 0);
	emit_alu_ri(b, X86_G1_CMP, 0, X86_RAX, (int32_t)lk.max_entries);
	size_t out_of_range = emit_jcc_fwd(c, X86_CC_AE);
	emit_mul_by_const(b, X86_RAX, lk.elem_size);
	if (lk.cpu_stride) {
		emit_load(b, 8, 0, X86_R11, REG_STATE, OFF(cc.run));
		emit_load(b, 4, 0, X86_R11, X86_R11, (int32_t)offsetof(struct bpfvm_run, cpu));
		emit_alu_ri(b, X86_G1_AND, 0, X86_R11, BPFVM_NR_CPUS - 1);
		emit_mul_by_const(b, X86_R11, lk.cpu_stride);
		emit_alu_rr(b, X86_ADD, 1, X86_RAX, X86_R11);
	}
	emit_movabs(b, X86_R11, (uint64_t)(uintptr_t)lk.values);
	emit_alu_rr(b, X86_ADD, 1, X86_RAX, X86_R11);
	size_t done = emit_jcc_fwd(c, -1);
	patch_fwd(c, out_of_range);
	emit_alu_rr(b, X86_XOR, 0, X86_RAX, X86_RAX);
	patch_fwd(c, done);
	return 1;
}

/* Checked mode: the call goes through bpfvm__jit_callx with the helper's
 * id, which checks the arguments against the helper's prototype before
 * calling it (src/core/helper_args.c), exactly as the interpreter does. */
static void emit_checked_helper_call(struct jit_ctx *c, uint32_t id)
{
	struct x86_buf *b = &c->out;
	emit_budget_charge(c, 1);
	emit_store_imm(b, 8, REG_STATE, OFF(callx_id), (int32_t)id);
	emit_store_imm(b, 4, REG_STATE, OFF(fault_pc), (int32_t)c->pc);
	emit_store_reg(b, 8, REG_STATE, OFF(cur_fp), X86_RBP);
	emit_lea(b, X86_R9, REG_STATE, OFF(cc));
	emit_movabs(b, X86_R11, (uint64_t)(uintptr_t)bpfvm__jit_callx);
	emit_call_reg(b, X86_R11);
	emit_alu_mi(b, X86_G1_CMP, 0, REG_STATE, OFF(status), 0);
	emit_jcc_stub(c, X86_CC_NE, STUB_UNWIND);
}

/* bpf_tail_call(ctx, map, index): C finds the target; its code is entered
 * with a jump, on the current frame, with r1 = the run's context, never
 * to return here. On fall through every register is as before (the
 * interpreter's behaviour), so r0..r5 are kept around the C call. */
static void emit_tail_call(struct jit_ctx *c)
{
	struct x86_buf *b = &c->out;
	static const int saved[] = {X86_RDI, X86_RSI, X86_RDX, X86_RCX, X86_R8, X86_RAX};
	emit_budget_charge(c, 1);
	emit_store_imm(b, 4, REG_STATE, OFF(fault_pc), (int32_t)c->pc);
	for (int i = 0; i < 6; i++)
		emit_push(b, saved[i]);
	emit_mov_rr(b, 1, X86_RCX, REG_STATE);
	emit_movabs(b, X86_R11, (uint64_t)(uintptr_t)bpfvm__jit_tail_call);
	emit_call_reg(b, X86_R11);
	emit_mov_rr(b, 1, X86_R11, X86_RAX);
	for (int i = 5; i >= 0; i--)
		emit_pop(b, saved[i]);
	emit_alu_ri(b, X86_G1_CMP, 1, X86_R11, 1);
	size_t fallthrough = emit_jcc_fwd(c, X86_CC_B); /* 0: no target */
	emit_jcc_stub(c, X86_CC_E, STUB_UNWIND);         /* 1: fault, status set */
	emit_load(b, 8, 0, X86_RDI, REG_STATE, OFF(tail_ctx));
	emit_jmp_reg(b, X86_R11);
	patch_fwd(c, fallthrough);
}

/* callx: the register holds a helper's id (the bpf_conformance reading
 * of RFC 9669, as the interpreter); id 12 is the tail call. */
static void emit_callx(struct jit_ctx *c, const struct bpfvm_decoded *d)
{
	struct x86_buf *b = &c->out;
	int reg = bpf_to_x86[d->dst];
	emit_alu_ri(b, X86_G1_CMP, 1, reg, BPFVM_HELPER_TAIL_CALL);
	size_t not_tail = emit_jcc_fwd(c, X86_CC_NE);
	emit_tail_call(c);
	size_t done = emit_jcc_fwd(c, -1);
	patch_fwd(c, not_tail);
	emit_budget_charge(c, 1);
	emit_store_reg(b, 8, REG_STATE, OFF(callx_id), reg);
	emit_store_imm(b, 4, REG_STATE, OFF(fault_pc), (int32_t)c->pc);
	emit_store_reg(b, 8, REG_STATE, OFF(cur_fp), X86_RBP);
	emit_lea(b, X86_R9, REG_STATE, OFF(cc));
	emit_movabs(b, X86_R11, (uint64_t)(uintptr_t)bpfvm__jit_callx);
	emit_call_reg(b, X86_R11);
	emit_alu_mi(b, X86_G1_CMP, 0, REG_STATE, OFF(status), 0);
	emit_jcc_stub(c, X86_CC_NE, STUB_UNWIND);
	patch_fwd(c, done);
}

/* Push what the callee must not change (r6..r9, r10), move r10 to the
 * next frame and call; 5 pushes + the return address keep rsp 16-byte
 * aligned. Checked runs get a zeroed frame, as in the interpreter. */
static void emit_local_call(struct jit_ctx *c, int64_t target)
{
	struct x86_buf *b = &c->out;
	if (c->checked) {
		emit_budget_charge(c, 1);
		emit_lea(b, X86_R11, X86_RBP, BPFVM_STACK_SIZE);
		emit_op_mem(b, 0, 1, "\x2b", 1, X86_R11, REG_STATE, OFF(stack_lo), 0);
		emit_alu_ri(b, X86_G1_CMP, 1, X86_R11, JIT_STACK_BYTES);
		emit_fault_unless(c, X86_CC_BE, STUB_FAULT_CALL_DEPTH);
	}
	static const int saved[] = {X86_RBX, X86_R13, X86_R14, X86_R15, X86_RBP};
	for (int i = 0; i < 5; i++)
		emit_push(b, saved[i]);
	emit_lea(b, X86_RBP, X86_RBP, BPFVM_STACK_SIZE);
	if (c->checked)
		emit_call_stub(c, STUB_ZERO_FRAME);
	emit_call_rel32(b, (int32_t)((int64_t)c->prev[target] - (here(c) + 5)));
	for (int i = 4; i >= 0; i--)
		emit_pop(b, saved[i]);
}

static void emit_call(struct jit_ctx *c, const struct bpfvm_decoded *d)
{
	switch (d->info->op) {
	case BPFVM_CALL_HELPER: {
		const struct bpfvm_helper *h = c->prog->call_helper[c->pc];
		if ((uint32_t)d->imm == BPFVM_HELPER_TAIL_CALL)
			emit_tail_call(c);
		else if (emit_inline_array_lookup(c))
			; /* no call left */
		else if (emit_direct_map_lookup(c))
			; /* straight to the map */
		else if (h && h->fn && c->checked)
			emit_checked_helper_call(c, (uint32_t)d->imm);
		else if (h && h->fn)
			emit_helper_call(c, h);
		else
			emit_fault(c, STUB_FAULT_BAD_HELPER);
		break;
	}
	case BPFVM_CALL_LOCAL:
		emit_local_call(c, (int64_t)c->pc + 1 + d->imm);
		break;
	default: /* rejected by bpfvm__jit_prepare */
		break;
	}
}

/* Pairs of instructions clang emits together that x86 does in one, when
 * nothing jumps between them: `r <<= 32; r >>= 32` (zero extension of
 * cpu v1/v2 code) -> mov r32, r32; `r <<= 32; r s>>= 32` -> movsxd;
 * `r = a; r += b|imm` (64 or 32 bits) -> lea; a conditional jump over a goto -> one
 * inverted jump. Returns 1 if the pair at pc was emitted. */
static int emit_fused_pair(struct jit_ctx *c, const struct bpfvm_decoded *d)
{
	if (c->pc + 1 >= c->n || (c->is_target[c->pc + 1] & TARGET_JUMP) || d->slots != 1)
		return 0;
	const struct bpfvm_decoded *e = d + 1;
	struct x86_buf *b = &c->out;
	int dst = bpf_to_x86[d->dst];
	if (emit_jcond_over_ja(c, d))
		return 1;
	if (d->opid == BPFVM_OP_LSH64_IMM && d->imm == 32 && e->dst == d->dst && e->imm == 32) {
		if (e->opid == BPFVM_OP_RSH64_IMM) {
			if (c->width[d->dst] > 32)
				emit_mov_rr(b, 0, dst, dst);
			return 1;
		}
		if (e->opid == BPFVM_OP_ARSH64_IMM) {
			emit_movsx_rr(b, 1, 32, dst, dst);
			return 1;
		}
		return 0;
	}
	if (e->dst != d->dst || d->src == d->dst || c->blind)
		return 0;
	int src = bpf_to_x86[d->src];
	if (d->opid == BPFVM_OP_MOV64_REG && e->opid == BPFVM_OP_ADD64_IMM) {
		emit_lea(b, dst, src, e->imm);
		return 1;
	}
	if (d->opid == BPFVM_OP_MOV32_REG && e->opid == BPFVM_OP_ADD32_IMM) {
		emit_lea32(b, dst, src, e->imm);
		return 1;
	}
	if (d->opid == BPFVM_OP_MOV64_REG && e->opid == BPFVM_OP_ADD64_REG && e->src != e->dst) {
		emit_lea_bi(b, 1, dst, src, bpf_to_x86[e->src]);
		c->sum_x = d->dst;
		c->sum_a = d->src;
		c->sum_b = e->src;
		return 1;
	}
	if (d->opid == BPFVM_OP_MOV32_REG && e->opid == BPFVM_OP_ADD32_REG && e->src != e->dst) {
		emit_lea_bi(b, 0, dst, src, bpf_to_x86[e->src]);
		return 1;
	}
	return 0;
}

/* Is BPF register reg overwritten, before anything reads it, in the
 * straight-line code from slot pc on (no jump lands there, no jump or call
 * comes first)? A short look ahead: the answer "no" is always safe. */
static int dead_after(const struct jit_ctx *c, size_t pc, int reg)
{
	for (size_t k = pc; k < c->n && k < pc + 16; k++) {
		const struct bpfvm_decoded *d = &c->insns[k];
		if (c->is_target[k] & TARGET_JUMP)
			return 0;
		if (!d->slots)
			continue; /* second half of LD_IMM64 */
		const struct bpfvm_opinfo *info = d->info;
		int reads_src = (info->flags & BPFVM_F_REG_SRC) && d->src == reg;
		switch (info->kind) {
		case BPFVM_KIND_ALU:
			if (reads_src)
				return 0;
			if (d->dst == reg) /* mov and movsx only write it */
				return info->op == BPFVM_ALU_MOV || info->op == BPFVM_ALU_MOVSX;
			break;
		case BPFVM_KIND_LDX:
		case BPFVM_KIND_LDXSX:
			if (d->src == reg)
				return 0;
			if (d->dst == reg)
				return 1;
			break;
		case BPFVM_KIND_LDDW:
			if (d->dst == reg)
				return 1;
			break;
		case BPFVM_KIND_ST:
		case BPFVM_KIND_STX:
			if (d->dst == reg || reads_src)
				return 0;
			break;
		default: /* jumps, calls, exits, atomics, byte swaps */
			return 0;
		}
	}
	return 0;
}

/* `x = a; x += b; y = *(size *)(x + off)`, clang's indexed load, when no
 * jump lands inside: the load addresses [a + b + off] itself, so it does
 * not wait for the sum; the sum is kept only when y is not x and x is
 * read before it is overwritten (as far as dead_after sees). Verified
 * code only (checked code checks the access through x). Returns 1 if
 * the three were emitted. */
static int emit_fused_indexed_load(struct jit_ctx *c, const struct bpfvm_decoded *d)
{
	if (c->checked || c->blind || c->pc + 2 >= c->n || d->slots != 1 ||
	    (c->is_target[c->pc + 1] & TARGET_JUMP) || (c->is_target[c->pc + 2] & TARGET_JUMP))
		return 0;
	const struct bpfvm_decoded *e = d + 1, *f = d + 2;
	if (d->opid != BPFVM_OP_MOV64_REG || e->opid != BPFVM_OP_ADD64_REG || d->src == d->dst ||
	    e->dst != d->dst || e->src == e->dst ||
	    (f->info->kind != BPFVM_KIND_LDX && f->info->kind != BPFVM_KIND_LDXSX) || f->src != d->dst)
		return 0;
	int a = bpf_to_x86[d->src], idx = bpf_to_x86[e->src];
	int keep_sum = f->dst != d->dst && !dead_after(c, c->pc + 3, d->dst);
	if (keep_sum)
		emit_lea_bi(&c->out, 1, bpf_to_x86[d->dst], a, idx);
	emit_load_bi(&c->out, f->info->size, f->info->kind == BPFVM_KIND_LDXSX, bpf_to_x86[f->dst], a, idx,
		     f->off);
	c->sum_x = -1;
	if (keep_sum && f->dst != d->src && f->dst != e->src) {
		c->sum_x = d->dst;
		c->sum_a = d->src;
		c->sum_b = e->src;
	}
	return 1;
}

/* Widths after the fused pair at d: a zero extension bounds its register
 * to 32 bits, the other pairs may set any. */
static void track_fused_width(struct jit_ctx *c, const struct bpfvm_decoded *d)
{
	const struct bpfvm_decoded *e = d + 1;
	if (d->info->kind != BPFVM_KIND_ALU) /* a jump over a goto: the block ends */
		return;
	if (d->opid == BPFVM_OP_LSH64_IMM && e->opid == BPFVM_OP_RSH64_IMM)
		c->width[d->dst] = c->width[d->dst] < 32 ? c->width[d->dst] : 32;
	else
		c->width[d->dst] = e->opid == BPFVM_OP_ADD32_IMM || e->opid == BPFVM_OP_ADD32_REG ? 32 : 64;
}

static void emit_insn(struct jit_ctx *c, const struct bpfvm_decoded *d)
{
	switch (d->info->kind) {
	case BPFVM_KIND_ALU:
		emit_alu(c, d);
		break;
	case BPFVM_KIND_END:
		emit_end(c, d);
		break;
	case BPFVM_KIND_JA:
		emit_ja(c, d);
		break;
	case BPFVM_KIND_JCOND:
		emit_jcond(c, d);
		break;
	case BPFVM_KIND_CALL:
		emit_call(c, d);
		break;
	case BPFVM_KIND_CALLX:
		emit_callx(c, d);
		break;
	case BPFVM_KIND_EXIT:
		emit_ret(&c->out);
		break;
	case BPFVM_KIND_LDDW:
		emit_lddw(c, d);
		break;
	case BPFVM_KIND_LDABS:
	case BPFVM_KIND_LDIND:
		emit_ld_packet(c, d);
		break;
	case BPFVM_KIND_LDX:
	case BPFVM_KIND_LDXSX:
		emit_ldx(c, d);
		break;
	case BPFVM_KIND_ST:
	case BPFVM_KIND_STX:
		emit_st(c, d);
		break;
	case BPFVM_KIND_ATOMIC:
		emit_atomic(c, d);
		break;
	}
}

/* ---- entry stub and out-of-line code ----------------------------------------------------------- */

/* int entry(struct jit_state *st, void *target, const uint64_t args[5], uint64_t fp)
 * Saves the C callee-saved registers and the outer unwind point, enters
 * the BPF function at target with r1..r5 = args and r10 = fp, and returns
 * st->status (r0 in st->ret). A fault unwinds to the instruction after the
 * call: saved_rsp points at its return address. */
static void emit_entry_stub(struct jit_ctx *c)
{
	struct x86_buf *b = &c->out;
	static const int callee_saved[] = {X86_RBP, X86_RBX, X86_R12, X86_R13, X86_R14, X86_R15};
	for (int i = 0; i < 6; i++)
		emit_push(b, callee_saved[i]);
	emit_mov_rr(b, 1, REG_STATE, X86_RDI);
	emit_push_mem(b, REG_STATE, OFF(saved_rsp));
	emit_alu_ri(b, X86_G1_SUB, 1, X86_RSP, 8);
	emit_lea(b, X86_R11, X86_RSP, -8);
	emit_store_reg(b, 8, REG_STATE, OFF(saved_rsp), X86_R11);
	emit_mov_rr(b, 1, X86_RBP, X86_RCX);
	emit_mov_rr(b, 1, X86_R11, X86_RSI);
	emit_mov_rr(b, 1, X86_R10, X86_RDX);
	emit_load(b, 8, 0, X86_RDI, X86_R10, 0);
	emit_load(b, 8, 0, X86_RSI, X86_R10, 8);
	emit_load(b, 8, 0, X86_RDX, X86_R10, 16);
	emit_load(b, 8, 0, X86_RCX, X86_R10, 24);
	emit_load(b, 8, 0, X86_R8, X86_R10, 32);
	/* Registers the program has not set read as zero, as in the interpreter. */
	static const int zeroed[] = {X86_RAX, X86_RBX, X86_R13, X86_R14, X86_R15};
	for (int i = 0; i < 5; i++)
		emit_alu_rr(b, X86_XOR, 0, zeroed[i], zeroed[i]);
	emit_call_reg(b, X86_R11);
	emit_store_reg(b, 8, REG_STATE, OFF(ret), X86_RAX);
	emit_alu_ri(b, X86_G1_ADD, 1, X86_RSP, 8);
	emit_pop_mem(b, REG_STATE, OFF(saved_rsp));
	emit_load(b, 4, 0, X86_RAX, REG_STATE, OFF(status));
	for (int i = 5; i >= 0; i--)
		emit_pop(b, callee_saved[i]);
	emit_ret(b);
}

/* The entry of a program in which nothing can unwind (needs_unwind): no
 * unwind point to save, the status is always 0, r3..r5 start as 0 (only
 * callbacks, which need helper calls, pass them). Same signature and
 * stack alignment as emit_entry_stub. */
static void emit_lean_entry_stub(struct jit_ctx *c)
{
	struct x86_buf *b = &c->out;
	static const int callee_saved[] = {X86_RBP, X86_RBX, X86_R12, X86_R13, X86_R14, X86_R15};
	for (int i = 0; i < 6; i++)
		emit_push(b, callee_saved[i]);
	emit_mov_rr(b, 1, REG_STATE, X86_RDI);
	emit_mov_rr(b, 1, X86_RBP, X86_RCX);
	emit_mov_rr(b, 1, X86_R11, X86_RSI);
	emit_load(b, 8, 0, X86_RDI, X86_RDX, 0);
	emit_load(b, 8, 0, X86_RSI, X86_RDX, 8);
	static const int zeroed[] = {X86_RDX, X86_RCX, X86_R8, X86_RAX, X86_RBX, X86_R13, X86_R14, X86_R15};
	for (int i = 0; i < 8; i++)
		emit_alu_rr(b, X86_XOR, 0, zeroed[i], zeroed[i]);
	emit_call_reg(b, X86_R11);
	emit_store_reg(b, 8, REG_STATE, OFF(ret), X86_RAX);
	emit_alu_rr(b, X86_XOR, 0, X86_RAX, X86_RAX);
	for (int i = 5; i >= 0; i--)
		emit_pop(b, callee_saved[i]);
	emit_ret(b);
}

/* Can a run of this program end other than by its EXIT: a fault, an
 * LD_ABS out of the packet, a tail call (its target's faults), a callback
 * (through a helper)? Verified programs without helper calls (known map
 * lookups aside), callx and legacy packet loads cannot. */
static int needs_unwind(const struct jit_ctx *c)
{
	if (c->checked)
		return 1;
	for (size_t pc = 0; pc < c->n; pc++) {
		const struct bpfvm_decoded *d = &c->insns[pc];
		if (!d->slots)
			continue;
		switch (d->info->kind) {
		case BPFVM_KIND_CALL:
			/* Map lookups, inlined or direct, never unwind. */
			if (d->info->op == BPFVM_CALL_HELPER && !known_lookup_map(c, pc))
				return 1;
			break;
		case BPFVM_KIND_CALLX:
		case BPFVM_KIND_LDABS:
		case BPFVM_KIND_LDIND:
			return 1;
		default:
			break;
		}
	}
	return 0;
}

static void emit_fault_stub(struct jit_ctx *c, enum jit_fault kind, int err)
{
	struct x86_buf *b = &c->out;
	emit_store_reg(b, 4, REG_STATE, OFF(fault_pc), X86_R10);
	emit_store_imm(b, 4, REG_STATE, OFF(fault_kind), (int32_t)kind);
	emit_store_imm(b, 4, REG_STATE, OFF(status), err);
	emit_movabs(b, X86_R11, (uint64_t)(uintptr_t)c->prog);
	emit_store_reg(b, 8, REG_STATE, OFF(fault_prog), X86_R11);
	emit_jcc_stub(c, -1, STUB_UNWIND);
}

/* call check_thunk with r11 = address, r10d = pc << 8 | write << 7 | size:
 * returns if the access is allowed, else unwinds (C set the status). */
static void emit_check_thunk(struct jit_ctx *c)
{
	struct x86_buf *b = &c->out;
	static const int saved[] = {X86_RAX, X86_RDI, X86_RSI, X86_RDX, X86_RCX, X86_R8, X86_R11};
	for (int i = 0; i < 7; i++)
		emit_push(b, saved[i]);
	emit_movabs(b, X86_RAX, (uint64_t)(uintptr_t)c->prog);
	emit_store_reg(b, 8, REG_STATE, OFF(fault_prog), X86_RAX);
	emit_store_reg(b, 8, REG_STATE, OFF(cur_fp), X86_RBP);
	emit_mov_rr(b, 1, X86_RDI, REG_STATE);
	emit_mov_rr(b, 1, X86_RSI, X86_R11);
	emit_mov_rr(b, 0, X86_RDX, X86_R10);
	emit_movabs(b, X86_RAX, (uint64_t)(uintptr_t)bpfvm__jit_check_access);
	emit_call_reg(b, X86_RAX);
	emit_alu_rr(b, X86_TEST, 0, X86_RAX, X86_RAX);
	for (int i = 6; i >= 0; i--)
		emit_pop(b, saved[i]); /* pop keeps the flags of test */
	emit_jcc_stub(c, X86_CC_NE, STUB_UNWIND);
	emit_ret(b);
}

/* Zero [r10 - 512, r10): mov qword [rbp + r11], 0 for r11 = -512..-8. */
static void emit_zero_frame(struct jit_ctx *c)
{
	struct x86_buf *b = &c->out;
	emit_mov_imm64(b, X86_R11, (uint64_t)-BPFVM_STACK_SIZE, 0);
	size_t loop = b->len;
	emit_rex(b, 1, 0, X86_R11, X86_RBP, 0);
	emit_byte(b, 0xc7);
	emit_modrm(b, 1, 0, 4);
	emit_byte(b, (uint8_t)(((X86_R11 & 7) << 3) | X86_RBP));
	emit_byte(b, 0);
	emit_u32(b, 0);
	emit_alu_ri(b, X86_G1_ADD, 1, X86_R11, 8);
	emit_jcc_rel8(b, X86_CC_NE, (int8_t)((int64_t)loop - (int64_t)(b->len + 2)));
	emit_ret(b);
}

static void emit_stubs(struct jit_ctx *c)
{
	struct x86_buf *b = &c->out;
	for (int s = 0; s < STUB_COUNT; s++) {
		c->cur_stub[s] = (uint32_t)b->len;
		switch ((enum stub)s) {
		case STUB_UNWIND:
			emit_load(b, 8, 0, X86_RSP, REG_STATE, OFF(saved_rsp));
			emit_ret(b);
			break;
		case STUB_LDPKT_EXIT:
			/* Status 1: the whole run ends with r0 = 0, callbacks included. */
			emit_store_imm(b, 4, REG_STATE, OFF(status), JIT_STATUS_PKT_EXIT);
			emit_jcc_stub(c, -1, STUB_UNWIND);
			break;
		case STUB_CHECK_THUNK:
			emit_check_thunk(c);
			break;
		case STUB_FAULT_BUDGET:
			emit_fault_stub(c, JIT_FAULT_BUDGET, -E2BIG);
			break;
		case STUB_FAULT_CALL_DEPTH:
			emit_fault_stub(c, JIT_FAULT_CALL_DEPTH, -E2BIG);
			break;
		case STUB_FAULT_BAD_HELPER:
			emit_fault_stub(c, JIT_FAULT_BAD_HELPER, -EINVAL);
			break;
		case STUB_FAULT_FELL_OFF:
			emit_fault_stub(c, JIT_FAULT_FELL_OFF, -EINVAL);
			break;
		case STUB_ZERO_FRAME:
			emit_zero_frame(c);
			break;
		case STUB_COUNT:
			break;
		}
	}
}

/* ---- passes -------------------------------------------------------------------------------------- */

/* Padding up to the next LOOP_ALIGN boundary before the loop head at
 * c->pc, which then starts there. Padding is not monotonic in the layout,
 * but the passes fall back to long jumps, where it settles, as for jumps. */
static void pad_loop_head(struct jit_ctx *c)
{
	if (c->out.len < c->last_aligned + LOOP_ALIGN_GAP && c->last_aligned)
		return;
	emit_padding(&c->out, -c->out.len & (LOOP_ALIGN - 1));
	c->last_aligned = c->out.len;
	c->insn_start = c->out.len;
	c->cur[c->pc] = (uint32_t)c->out.len;
}

static void emit_pass(struct jit_ctx *c)
{
	c->out.len = 0;
	c->last_aligned = 0;
	c->flags_reg = -1;
	c->sum_x = -1;
	forget_widths(c);
	c->in_body = 0;
	if (c->lean_entry)
		emit_lean_entry_stub(c);
	else
		emit_entry_stub(c);
	c->in_body = 1;
	for (size_t pc = 0; pc < c->n; pc++) {
		c->pc = pc;
		c->insn_start = c->out.len;
		c->cur[pc] = (uint32_t)c->out.len;
		if (c->is_target[pc] & TARGET_LOOP_HEAD)
			pad_loop_head(c);
		const struct bpfvm_decoded *d = &c->insns[pc];
		if (c->is_target[pc] & TARGET_JUMP) { /* other paths, other state */
			c->flags_reg = -1;
			c->sum_x = -1;
			forget_widths(c);
		}
		if (emit_fused_indexed_load(c, d)) {
			c->cur[++pc] = (uint32_t)c->out.len; /* the next two are in the first */
			c->cur[++pc] = (uint32_t)c->out.len;
			c->flags_reg = -1;
			c->width[d->dst] = 64;
			track_width(c, d + 2);
			continue;
		}
		int sum_before = c->sum_x;
		if (emit_fused_pair(c, d)) {
			c->cur[++pc] = (uint32_t)c->out.len; /* the second one is in the first */
			c->flags_reg = -1;
			if (c->sum_x == sum_before) /* the pair did not record a new sum */
				track_sum(c, d + 1); /* it wrote d->dst, as its second does */
			track_fused_width(c, d);
			continue;
		}
		emit_insn(c, d);
		track_flags(c, d);
		track_sum(c, d);
		track_width(c, d);
		if (d->slots == 2) {
			c->cur[++pc] = (uint32_t)c->out.len;
		}
	}
	c->cur[c->n] = (uint32_t)c->out.len;
	c->pc = c->n; /* running past the last instruction is a fault */
	c->insn_start = c->out.len;
	emit_fault(c, STUB_FAULT_FELL_OFF);
	c->in_body = 0;
	emit_stubs(c);
}

static int cpu_has_bmi2(void)
{
	unsigned a, b, cx, dx;
	if (getenv("BPFVM_JIT_NO_BMI2"))
		return 0;
	if (__get_cpuid_max(0, NULL) < 7)
		return 0;
	__cpuid_count(7, 0, a, b, cx, dx);
	return (b >> 8) & 1;
}

int bpfvm__jit_supported(void)
{
	return 1;
}

static int decode_all(struct bpfvm_prog *prog, struct bpfvm_jit_code *jit,
		      struct bpfvm_decoded *out, char *err, size_t errlen)
{
	for (size_t pc = 0; pc < prog->n; pc++) {
		int rc = bpfvm_isa_decode(prog->insns, prog->n, pc, &out[pc], err, errlen);
		if (rc)
			return rc;
		const struct bpfvm_opinfo *info = out[pc].info;
		if (info->kind == BPFVM_KIND_CALL && info->op == BPFVM_CALL_KFUNC) {
			snprintf(err, errlen, "insn %zu: kfunc calls are not supported by the JIT", pc);
			return -ENOTSUP;
		}
		if (out[pc].slots == 2) {
			pc++;
			out[pc] = out[pc - 1];
			out[pc].slots = 0;
		}
	}
	return 0;
}

/* Slots control can reach other than from the previous one: jump and call
 * targets, functions named by LD_IMM64 (callbacks); and which of them
 * backward jumps reach (TARGET_* bits). */
static uint8_t *mark_targets(const struct bpfvm_prog *prog, const struct bpfvm_decoded *insns)
{
	uint8_t *t = calloc(prog->n + 1, 1);
	if (!t)
		return NULL;
	for (size_t pc = 0; pc < prog->n; pc++) {
		const struct bpfvm_decoded *d = &insns[pc];
		if (!d->slots)
			continue;
		const struct bpfvm_opinfo *info = d->info;
		int64_t target = -1;
		if (info->kind == BPFVM_KIND_LDDW && info->op == BPFVM_LDDW_FUNC)
			target = (int64_t)prog->lddw_value[pc];
		else if (info->flags & (BPFVM_F_JUMP_OFF | BPFVM_F_JUMP_IMM))
			target = bpfvm_isa_jump_target(info, &prog->insns[pc], pc);
		if (target < 0 || target > (int64_t)prog->n)
			continue;
		t[target] |= TARGET_JUMP;
		if (target <= (int64_t)pc && (info->kind == BPFVM_KIND_JA || info->kind == BPFVM_KIND_JCOND))
			t[target] |= TARGET_LOOP_HEAD;
	}
	return t;
}

static int install_image(struct bpfvm_jit_code *jit, const struct x86_buf *out, char *err, size_t errlen)
{
	size_t page = 4096;
	size_t size = (out->len + page - 1) & ~(page - 1);
	void *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		snprintf(err, errlen, "jit: cannot map %zu bytes of code memory", size);
		return -ENOMEM;
	}
	memcpy(mem, out->p, out->len);
	/* Fill the tail with int3 so a stray jump traps. */
	memset((uint8_t *)mem + out->len, 0xcc, size - out->len);
	if (mprotect(mem, size, PROT_READ | PROT_EXEC)) {
		int e = errno;
		munmap(mem, size);
		snprintf(err, errlen, "jit: cannot make code executable: %s", strerror(e));
		return -e;
	}
	jit->image = mem;
	jit->image_size = out->len;
	jit->map_size = size;
	return 0;
}

int bpfvm__jit_prepare(struct bpfvm_prog *prog, char *err, size_t errlen)
{
	struct jit_ctx c = {0};
	int rc = -ENOMEM;
	if (prog->n >= (1u << 24)) {
		snprintf(err, errlen, "jit: program of %zu instructions is too large", prog->n);
		return -E2BIG;
	}
	struct bpfvm_jit_code *jit = calloc(1, sizeof(*jit));
	struct bpfvm_decoded *insns = calloc(prog->n, sizeof(*insns));
	uint8_t *is_target = NULL;
	c.prev = calloc(prog->n + 1, sizeof(uint32_t));
	c.cur = calloc(prog->n + 1, sizeof(uint32_t));
	if (!jit || !insns || !c.prev || !c.cur) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	rc = decode_all(prog, jit, insns, err, errlen);
	if (rc)
		goto out;
	is_target = mark_targets(prog, insns);
	if (!is_target) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	c.is_target = is_target;
	c.prog = prog;
	c.insns = insns;
	c.n = prog->n;
	c.checked = prog->safety == BPFVM_SAFETY_CHECKED;
	c.blind = prog->jit_blind;
	c.bmi2 = cpu_has_bmi2();
	c.lean_entry = !needs_unwind(&c);
	if (c.blind && getrandom(&c.rng, sizeof(c.rng), 0) != sizeof(c.rng))
		c.rng = (uint64_t)(uintptr_t)&c ^ 0x9e3779b97f4a7c15ULL;
	c.rng |= 1;
	/* Pass 0: every jump long, which bounds every size; then shrink. */
	c.force_long = 1;
	unsigned pass;
	for (pass = 0;; pass++) {
		emit_pass(&c);
		if (c.out.oom) {
			snprintf(err, errlen, "out of memory");
			rc = -ENOMEM;
			goto out;
		}
		int same = !memcmp(c.prev, c.cur, (c.n + 1) * sizeof(uint32_t)) &&
			   !memcmp(c.prev_stub, c.cur_stub, sizeof(c.cur_stub));
		if (same && pass > 0)
			break;
		uint32_t *t = c.prev;
		c.prev = c.cur;
		c.cur = t;
		memcpy(c.prev_stub, c.cur_stub, sizeof(c.cur_stub));
		/* Long forms everywhere settle in two passes; only a pathological
		 * layout gets here. */
		c.force_long = pass >= 30;
	}
	rc = install_image(jit, &c.out, err, errlen);
	if (rc)
		goto out;
	jit->addrs = c.cur;
	c.cur = NULL;
	jit->n = c.n;
	jit->body_off = jit->addrs[0];
	jit->checked = c.checked;
	jit->blinded = c.blind;
	jit->passes = pass + 1;
	jit->entry = (int (*)(struct jit_state *, const void *, const uint64_t *, uint64_t))(void *)jit->image;
	prog->jit = jit;
	jit = NULL;
out:
	free(jit);
	free(insns);
	free(is_target);
	free(c.prev);
	free(c.cur);
	free(c.out.p);
	return rc;
}

void bpfvm__jit_release(struct bpfvm_prog *prog)
{
	struct bpfvm_jit_code *jit = prog->jit;
	if (!jit)
		return;
	munmap(jit->image, jit->map_size);
	free(jit->addrs);
	free(jit);
	prog->jit = NULL;
}

const uint8_t *bpfvm__jit_image(const struct bpfvm_prog *prog, size_t *size, const uint32_t **addrs)
{
	if (!prog->jit)
		return NULL;
	if (size)
		*size = prog->jit->image_size;
	if (addrs)
		*addrs = prog->jit->addrs;
	return prog->jit->image;
}
