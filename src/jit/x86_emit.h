/* x86-64 instruction encoders for the JIT. Each function emits one machine
 * instruction (or a fixed idiom) and is named by what it emits, in the
 * spirit of the kernel's arch/x86/net/bpf_jit_comp.c. Registers are x86
 * register numbers (X86_RAX..X86_R15); the BPF mapping lives in jit.c.
 * Encoding facts: Intel SDM vol. 2 (REX, ModRM/SIB, VEX for BMI2). */
#ifndef BPFVM_JIT_X86_EMIT_H
#define BPFVM_JIT_X86_EMIT_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum x86_reg {
	X86_RAX, X86_RCX, X86_RDX, X86_RBX, X86_RSP, X86_RBP, X86_RSI, X86_RDI,
	X86_R8, X86_R9, X86_R10, X86_R11, X86_R12, X86_R13, X86_R14, X86_R15,
};

/* Condition codes (low nibble of Jcc). */
enum x86_cc {
	X86_CC_B = 0x2, X86_CC_AE = 0x3, X86_CC_E = 0x4, X86_CC_NE = 0x5, X86_CC_BE = 0x6,
	X86_CC_A = 0x7, X86_CC_L = 0xc, X86_CC_GE = 0xd, X86_CC_LE = 0xe, X86_CC_G = 0xf,
};

/* Two-operand ALU opcodes in the "r/m, reg" direction, and their /digit
 * for the immediate group 0x81/0x83. */
enum x86_alu {
	X86_ADD = 0x01, X86_OR = 0x09, X86_AND = 0x21, X86_SUB = 0x29, X86_XOR = 0x31,
	X86_CMP = 0x39, X86_TEST = 0x85, X86_MOV = 0x89,
};
enum x86_grp1 { X86_G1_ADD = 0, X86_G1_OR = 1, X86_G1_AND = 4, X86_G1_SUB = 5, X86_G1_XOR = 6, X86_G1_CMP = 7 };
enum x86_shift { X86_SH_ROL = 0, X86_SH_SHL = 4, X86_SH_SHR = 5, X86_SH_SAR = 7 };

/* A growing output buffer; oom is sticky. */
struct x86_buf {
	uint8_t *p;
	size_t len, cap;
	int oom;
};

static inline void emit_byte(struct x86_buf *b, uint8_t v)
{
	if (b->len == b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 4096;
		uint8_t *np = realloc(b->p, ncap);
		if (!np) {
			b->oom = 1;
			b->len = 0; /* keep writing into the old buffer; result discarded */
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
	b->p[b->len++] = v;
}

static inline void emit_u16(struct x86_buf *b, uint16_t v)
{
	emit_byte(b, (uint8_t)v);
	emit_byte(b, (uint8_t)(v >> 8));
}

static inline void emit_u32(struct x86_buf *b, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		emit_byte(b, (uint8_t)(v >> (8 * i)));
}

static inline void emit_u64(struct x86_buf *b, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		emit_byte(b, (uint8_t)(v >> (8 * i)));
}

static inline int fits_s8(int64_t v)
{
	return v >= -128 && v <= 127;
}

static inline int fits_s32(int64_t v)
{
	return v >= INT32_MIN && v <= INT32_MAX;
}

/* REX prefix for reg (ModRM.reg), index (SIB.index) and rm (ModRM.rm or
 * base). byte_regs: an 8-bit operand that names spl/bpl/sil/dil needs a
 * REX prefix even without extension bits. */
static inline void emit_rex(struct x86_buf *b, int w, int reg, int index, int rm, int byte_regs)
{
	uint8_t rex = 0x40 | (w ? 8 : 0) | ((reg & 8) ? 4 : 0) | ((index & 8) ? 2 : 0) | ((rm & 8) ? 1 : 0);
	if (rex != 0x40 || byte_regs)
		emit_byte(b, rex);
}

static inline void emit_modrm(struct x86_buf *b, int mod, int reg, int rm)
{
	emit_byte(b, (uint8_t)((mod << 6) | ((reg & 7) << 3) | (rm & 7)));
}

/* ModRM (+SIB, +displacement) for the memory operand [base + disp]. */
static inline void emit_mem_operand(struct x86_buf *b, int reg, int base, int32_t disp)
{
	int mod = disp == 0 && (base & 7) != X86_RBP ? 0 : fits_s8(disp) ? 1 : 2;
	emit_modrm(b, mod, reg, base);
	if ((base & 7) == X86_RSP)
		emit_byte(b, 0x24); /* SIB: no index, base */
	if (mod == 1)
		emit_byte(b, (uint8_t)disp);
	else if (mod == 2)
		emit_u32(b, (uint32_t)disp);
}

/* An instruction "prefix66? REX opcode ModRM" with a memory operand. */
static inline void emit_op_mem(struct x86_buf *b, int p66, int w, const char *op, int oplen,
			       int reg, int base, int32_t disp, int byte_reg)
{
	if (p66)
		emit_byte(b, 0x66);
	emit_rex(b, w, reg, 0, base, byte_reg && reg >= X86_RSP && reg <= X86_RDI);
	for (int i = 0; i < oplen; i++)
		emit_byte(b, (uint8_t)op[i]);
	emit_mem_operand(b, reg, base, disp);
}

/* An instruction "REX opcode ModRM(reg, rm)" between registers. */
static inline void emit_op_rr(struct x86_buf *b, int w, const char *op, int oplen, int reg, int rm)
{
	emit_rex(b, w, reg, 0, rm, 0);
	for (int i = 0; i < oplen; i++)
		emit_byte(b, (uint8_t)op[i]);
	emit_modrm(b, 3, reg, rm);
}

/* op dst, src (add/sub/and/or/xor/cmp/test/mov), 64 or 32 bit. */
static inline void emit_alu_rr(struct x86_buf *b, enum x86_alu op, int w, int dst, int src)
{
	char opc = (char)op;
	emit_op_rr(b, w, &opc, 1, src, dst);
}

/* op dst, imm (group 1: add/or/and/sub/xor/cmp), imm8 form when it fits. */
static inline void emit_alu_ri(struct x86_buf *b, enum x86_grp1 ext, int w, int dst, int32_t imm)
{
	emit_rex(b, w, 0, 0, dst, 0);
	if (fits_s8(imm)) {
		emit_byte(b, 0x83);
		emit_modrm(b, 3, ext, dst);
		emit_byte(b, (uint8_t)imm);
	} else {
		emit_byte(b, 0x81);
		emit_modrm(b, 3, ext, dst);
		emit_u32(b, (uint32_t)imm);
	}
}

/* test dst, imm32 (imm sign-extended in the 64-bit form). */
static inline void emit_test_ri(struct x86_buf *b, int w, int dst, int32_t imm)
{
	emit_rex(b, w, 0, 0, dst, 0);
	emit_byte(b, 0xf7);
	emit_modrm(b, 3, 0, dst);
	emit_u32(b, (uint32_t)imm);
}

/* mov dst, src (64) or mov dst32, src32 (zero-extends). */
static inline void emit_mov_rr(struct x86_buf *b, int w, int dst, int src)
{
	emit_alu_rr(b, X86_MOV, w, dst, src);
}

/* Load a 64-bit constant with the shortest encoding: xor, mov r32 (zero
 * extends), mov r64 with a sign-extended imm32, or movabs. May clobber
 * flags (xor) unless keep_flags. */
static inline void emit_mov_imm64(struct x86_buf *b, int dst, uint64_t v, int keep_flags)
{
	if (v == 0 && !keep_flags) {
		emit_alu_rr(b, X86_XOR, 0, dst, dst);
	} else if (v <= UINT32_MAX) {
		emit_rex(b, 0, 0, 0, dst, 0);
		emit_byte(b, (uint8_t)(0xb8 + (dst & 7)));
		emit_u32(b, (uint32_t)v);
	} else if (fits_s32((int64_t)v)) {
		emit_rex(b, 1, 0, 0, dst, 0);
		emit_byte(b, 0xc7);
		emit_modrm(b, 3, 0, dst);
		emit_u32(b, (uint32_t)v);
	} else {
		emit_rex(b, 1, 0, 0, dst, 0);
		emit_byte(b, (uint8_t)(0xb8 + (dst & 7)));
		emit_u64(b, v);
	}
}

/* movabs dst, imm64 (always 10 bytes: addresses patched by position). */
static inline void emit_movabs(struct x86_buf *b, int dst, uint64_t v)
{
	emit_rex(b, 1, 0, 0, dst, 0);
	emit_byte(b, (uint8_t)(0xb8 + (dst & 7)));
	emit_u64(b, v);
}

/* imul dst, src */
static inline void emit_imul_rr(struct x86_buf *b, int w, int dst, int src)
{
	emit_op_rr(b, w, "\x0f\xaf", 2, dst, src);
}

/* imul dst, src, imm */
static inline void emit_imul_rri(struct x86_buf *b, int w, int dst, int src, int32_t imm)
{
	if (fits_s8(imm)) {
		emit_op_rr(b, w, "\x6b", 1, dst, src);
		emit_byte(b, (uint8_t)imm);
	} else {
		emit_op_rr(b, w, "\x69", 1, dst, src);
		emit_u32(b, (uint32_t)imm);
	}
}

/* shl/shr/sar/rol dst, imm8 */
static inline void emit_shift_ri(struct x86_buf *b, enum x86_shift ext, int w, int dst, uint8_t imm)
{
	emit_rex(b, w, 0, 0, dst, 0);
	if (imm == 1) {
		emit_byte(b, 0xd1);
		emit_modrm(b, 3, ext, dst);
	} else {
		emit_byte(b, 0xc1);
		emit_modrm(b, 3, ext, dst);
		emit_byte(b, imm);
	}
}

/* shl/shr/sar dst, cl */
static inline void emit_shift_rcl(struct x86_buf *b, enum x86_shift ext, int w, int dst)
{
	emit_rex(b, w, 0, 0, dst, 0);
	emit_byte(b, 0xd3);
	emit_modrm(b, 3, ext, dst);
}

/* BMI2 shlx/shrx/sarx dst, src, count (VEX.0F38 F7; pp selects the op). */
static inline void emit_shiftx(struct x86_buf *b, enum x86_shift kind, int w, int dst, int src, int count)
{
	int pp = kind == X86_SH_SHL ? 1 : kind == X86_SH_SAR ? 2 : 3;
	emit_byte(b, 0xc4);
	emit_byte(b, (uint8_t)(((dst & 8) ? 0 : 0x80) | 0x40 | ((src & 8) ? 0 : 0x20) | 0x02));
	emit_byte(b, (uint8_t)((w ? 0x80 : 0) | ((~count & 15) << 3) | pp));
	emit_byte(b, 0xf7);
	emit_modrm(b, 3, dst, src);
}

/* neg dst */
static inline void emit_neg(struct x86_buf *b, int w, int dst)
{
	emit_rex(b, w, 0, 0, dst, 0);
	emit_byte(b, 0xf7);
	emit_modrm(b, 3, 3, dst);
}

/* not dst */
static inline void emit_not(struct x86_buf *b, int w, int dst)
{
	emit_rex(b, w, 0, 0, dst, 0);
	emit_byte(b, 0xf7);
	emit_modrm(b, 3, 2, dst);
}

/* div/idiv rm (rdx:rax / rm) */
static inline void emit_div_r(struct x86_buf *b, int w, int is_signed, int rm)
{
	emit_rex(b, w, 0, 0, rm, 0);
	emit_byte(b, 0xf7);
	emit_modrm(b, 3, is_signed ? 7 : 6, rm);
}

/* cqo (w) or cdq: sign-extend rax into rdx */
static inline void emit_cqo(struct x86_buf *b, int w)
{
	if (w)
		emit_byte(b, 0x48);
	emit_byte(b, 0x99);
}

/* movzx dst32, src8/src16 */
static inline void emit_movzx_rr(struct x86_buf *b, int bits, int dst, int src)
{
	emit_rex(b, 0, dst, 0, src, bits == 8 && src >= X86_RSP && src <= X86_RDI);
	emit_byte(b, 0x0f);
	emit_byte(b, bits == 8 ? 0xb6 : 0xb7);
	emit_modrm(b, 3, dst, src);
}

/* movsx dst, src8/src16/src32 (w: 64-bit destination) */
static inline void emit_movsx_rr(struct x86_buf *b, int w, int bits, int dst, int src)
{
	emit_rex(b, w, dst, 0, src, bits == 8 && src >= X86_RSP && src <= X86_RDI);
	if (bits == 32) {
		emit_byte(b, 0x63);
	} else {
		emit_byte(b, 0x0f);
		emit_byte(b, bits == 8 ? 0xbe : 0xbf);
	}
	emit_modrm(b, 3, dst, src);
}

/* bswap dst (32 or 64) */
static inline void emit_bswap(struct x86_buf *b, int w, int dst)
{
	emit_rex(b, w, 0, 0, dst, 0);
	emit_byte(b, 0x0f);
	emit_byte(b, (uint8_t)(0xc8 + (dst & 7)));
}

/* rol dst16, 8: swap the two low bytes */
static inline void emit_rol16_8(struct x86_buf *b, int dst)
{
	emit_byte(b, 0x66);
	emit_shift_ri(b, X86_SH_ROL, 0, dst, 8);
}

/* mov dst, [base + disp] with zero (or sign) extension to 64 bits. */
static inline void emit_load(struct x86_buf *b, int size, int sign, int dst, int base, int32_t disp)
{
	switch (size) {
	case 1:
		emit_op_mem(b, 0, sign, sign ? "\x0f\xbe" : "\x0f\xb6", 2, dst, base, disp, 0);
		break;
	case 2:
		emit_op_mem(b, 0, sign, sign ? "\x0f\xbf" : "\x0f\xb7", 2, dst, base, disp, 0);
		break;
	case 4:
		emit_op_mem(b, 0, sign, sign ? "\x63" : "\x8b", 1, dst, base, disp, 0);
		break;
	default:
		emit_op_mem(b, 0, 1, "\x8b", 1, dst, base, disp, 0);
		break;
	}
}

/* ModRM + SIB (+displacement) for [base + index + disp]; index is never
 * rsp (no index), base rbp/r13 need a displacement. */
static inline void emit_mem_operand_bi(struct x86_buf *b, int reg, int base, int index, int32_t disp)
{
	int mod = disp == 0 && (base & 7) != X86_RBP ? 0 : fits_s8(disp) ? 1 : 2;
	emit_modrm(b, mod, reg, 4);
	emit_byte(b, (uint8_t)(((index & 7) << 3) | (base & 7)));
	if (mod == 1)
		emit_byte(b, (uint8_t)disp);
	else if (mod == 2)
		emit_u32(b, (uint32_t)disp);
}

/* mov dst, [base + index + disp], zero- (or sign-) extended to 64 bits. */
static inline void emit_load_bi(struct x86_buf *b, int size, int sign, int dst, int base, int index,
				int32_t disp)
{
	static const char *const zx[] = {NULL, "\x0f\xb6", "\x0f\xb7", NULL, "\x8b", NULL, NULL, NULL, "\x8b"};
	static const char *const sx[] = {NULL, "\x0f\xbe", "\x0f\xbf", NULL, "\x63", NULL, NULL, NULL, "\x8b"};
	const char *op = sign ? sx[size] : zx[size];
	int oplen = size <= 2 ? 2 : 1;
	emit_rex(b, size == 8 || sign, dst, index, base, 0);
	for (int i = 0; i < oplen; i++)
		emit_byte(b, (uint8_t)op[i]);
	emit_mem_operand_bi(b, dst, base, index, disp);
}

/* mov [base + disp], src (size bytes) */
static inline void emit_store_reg(struct x86_buf *b, int size, int base, int32_t disp, int src)
{
	switch (size) {
	case 1:
		emit_op_mem(b, 0, 0, "\x88", 1, src, base, disp, 1);
		break;
	case 2:
		emit_op_mem(b, 1, 0, "\x89", 1, src, base, disp, 0);
		break;
	case 4:
		emit_op_mem(b, 0, 0, "\x89", 1, src, base, disp, 0);
		break;
	default:
		emit_op_mem(b, 0, 1, "\x89", 1, src, base, disp, 0);
		break;
	}
}

/* mov size ptr [base + disp], imm (the 8-byte form sign-extends imm32) */
static inline void emit_store_imm(struct x86_buf *b, int size, int base, int32_t disp, int32_t imm)
{
	switch (size) {
	case 1:
		emit_op_mem(b, 0, 0, "\xc6", 1, 0, base, disp, 0);
		emit_byte(b, (uint8_t)imm);
		break;
	case 2:
		emit_op_mem(b, 1, 0, "\xc7", 1, 0, base, disp, 0);
		emit_u16(b, (uint16_t)imm);
		break;
	default:
		emit_op_mem(b, 0, size == 8, "\xc7", 1, 0, base, disp, 0);
		emit_u32(b, (uint32_t)imm);
		break;
	}
}

/* lea dst, [base + disp] */
static inline void emit_lea(struct x86_buf *b, int dst, int base, int32_t disp)
{
	emit_op_mem(b, 0, 1, "\x8d", 1, dst, base, disp, 0);
}

/* lea dst, [base + index << scale] (w: 64-bit result, else 32-bit,
 * zero-extended; scale 0..3) */
static inline void emit_lea_bis(struct x86_buf *b, int w, int dst, int base, int index, int scale)
{
	emit_rex(b, w, dst, index, base, 0);
	emit_byte(b, 0x8d);
	int need_disp = (base & 7) == X86_RBP;
	emit_modrm(b, need_disp ? 1 : 0, dst, 4);
	emit_byte(b, (uint8_t)((scale << 6) | ((index & 7) << 3) | (base & 7)));
	if (need_disp)
		emit_byte(b, 0);
}

/* lea dst, [base + index] (w: 64-bit result, else 32-bit, zero-extended) */
static inline void emit_lea_bi(struct x86_buf *b, int w, int dst, int base, int index)
{
	emit_lea_bis(b, w, dst, base, index, 0);
}

/* lea dst32, [base + disp]: 32-bit result, zero-extended */
static inline void emit_lea32(struct x86_buf *b, int dst, int base, int32_t disp)
{
	emit_op_mem(b, 0, 0, "\x8d", 1, dst, base, disp, 0);
}

/* mul rm: rdx:rax = rax * rm (unsigned) */
static inline void emit_mul_r(struct x86_buf *b, int rm)
{
	emit_rex(b, 1, 0, 0, rm, 0);
	emit_byte(b, 0xf7);
	emit_modrm(b, 3, 4, rm);
}

/* lock? op [base + disp], src for a 32/64-bit atomic: opcode given. */
static inline void emit_locked_op_mem(struct x86_buf *b, int lock, int w, const char *op, int oplen,
				      int src, int base, int32_t disp)
{
	if (lock)
		emit_byte(b, 0xf0);
	emit_op_mem(b, 0, w, op, oplen, src, base, disp, 0);
}

/* op qword [base + disp], imm (group 1) */
static inline void emit_alu_mi(struct x86_buf *b, enum x86_grp1 ext, int w, int base, int32_t disp, int32_t imm)
{
	if (fits_s8(imm)) {
		emit_op_mem(b, 0, w, "\x83", 1, ext, base, disp, 0);
		emit_byte(b, (uint8_t)imm);
	} else {
		emit_op_mem(b, 0, w, "\x81", 1, ext, base, disp, 0);
		emit_u32(b, (uint32_t)imm);
	}
}

static inline void emit_push(struct x86_buf *b, int r)
{
	emit_rex(b, 0, 0, 0, r, 0);
	emit_byte(b, (uint8_t)(0x50 + (r & 7)));
}

static inline void emit_pop(struct x86_buf *b, int r)
{
	emit_rex(b, 0, 0, 0, r, 0);
	emit_byte(b, (uint8_t)(0x58 + (r & 7)));
}

/* push qword [base + disp] / pop qword [base + disp] */
static inline void emit_push_mem(struct x86_buf *b, int base, int32_t disp)
{
	emit_op_mem(b, 0, 0, "\xff", 1, 6, base, disp, 0);
}

static inline void emit_pop_mem(struct x86_buf *b, int base, int32_t disp)
{
	emit_op_mem(b, 0, 0, "\x8f", 1, 0, base, disp, 0);
}

/* call reg / jmp reg */
static inline void emit_call_reg(struct x86_buf *b, int r)
{
	emit_rex(b, 0, 0, 0, r, 0);
	emit_byte(b, 0xff);
	emit_modrm(b, 3, 2, r);
}

static inline void emit_jmp_reg(struct x86_buf *b, int r)
{
	emit_rex(b, 0, 0, 0, r, 0);
	emit_byte(b, 0xff);
	emit_modrm(b, 3, 4, r);
}

static inline void emit_ret(struct x86_buf *b)
{
	emit_byte(b, 0xc3);
}

/* n bytes of padding as the fewest long NOPs (the SDM's recommended
 * multi-byte forms, at most 9 bytes each). */
static inline void emit_nops(struct x86_buf *b, size_t n)
{
	static const uint8_t nops[9][9] = {
		{0x90},
		{0x66, 0x90},
		{0x0f, 0x1f, 0x00},
		{0x0f, 0x1f, 0x40, 0x00},
		{0x0f, 0x1f, 0x44, 0x00, 0x00},
		{0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00},
		{0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00},
		{0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00},
		{0x66, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00},
	};
	while (n) {
		size_t k = n > 9 ? 9 : n;
		for (size_t i = 0; i < k; i++)
			emit_byte(b, nops[k - 1][i]);
		n -= k;
	}
}

/* n < 128 bytes of padding that code may run into: one NOP when that is
 * enough, else a jump over int3 bytes (a run of NOPs costs more cycles
 * than the jump, on a loop entered often). */
static inline void emit_padding(struct x86_buf *b, size_t n)
{
	if (n <= 9) {
		emit_nops(b, n);
		return;
	}
	emit_byte(b, 0xeb);
	emit_byte(b, (uint8_t)(n - 2));
	for (size_t i = 2; i < n; i++)
		emit_byte(b, 0xcc);
}

/* Relative jumps: the displacement counts from the end of the instruction. */
static inline void emit_jmp_rel8(struct x86_buf *b, int8_t rel)
{
	emit_byte(b, 0xeb);
	emit_byte(b, (uint8_t)rel);
}

static inline void emit_jmp_rel32(struct x86_buf *b, int32_t rel)
{
	emit_byte(b, 0xe9);
	emit_u32(b, (uint32_t)rel);
}

static inline void emit_jcc_rel8(struct x86_buf *b, enum x86_cc cc, int8_t rel)
{
	emit_byte(b, (uint8_t)(0x70 + cc));
	emit_byte(b, (uint8_t)rel);
}

static inline void emit_jcc_rel32(struct x86_buf *b, enum x86_cc cc, int32_t rel)
{
	emit_byte(b, 0x0f);
	emit_byte(b, (uint8_t)(0x80 + cc));
	emit_u32(b, (uint32_t)rel);
}

static inline void emit_call_rel32(struct x86_buf *b, int32_t rel)
{
	emit_byte(b, 0xe8);
	emit_u32(b, (uint32_t)rel);
}

/* lea dst, [rip + rel] (rel from the end of the instruction) */
static inline void emit_lea_rip(struct x86_buf *b, int dst, int32_t rel)
{
	emit_rex(b, 1, dst, 0, 0, 0);
	emit_byte(b, 0x8d);
	emit_modrm(b, 0, dst, 5);
	emit_u32(b, (uint32_t)rel);
}

/* movsxd dst, dword [base + index*4] */
static inline void emit_load_s32_indexed(struct x86_buf *b, int dst, int base, int index)
{
	emit_rex(b, 1, dst, index, base, 0);
	emit_byte(b, 0x63);
	emit_modrm(b, (base & 7) == X86_RBP ? 1 : 0, dst, 4);
	emit_byte(b, (uint8_t)((2 << 6) | ((index & 7) << 3) | (base & 7)));
	if ((base & 7) == X86_RBP)
		emit_byte(b, 0);
}

#endif
