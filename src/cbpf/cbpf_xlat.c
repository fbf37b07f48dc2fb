/* Classic BPF -> eBPF, in the spirit of the kernel's bpf_convert_filter.
 *
 * Register mapping (32-bit values kept zero-extended in 64-bit registers):
 *   r0  A (so "ret a" is a bare exit)   r4  X
 *   r1  struct bpfvm_cbpf_ctx *          r5  scratch (packet offsets)
 *   r2  packet start (ctx->pkt)          r6..r9  the first four M[] slots the
 *   r3  caplen (ctx->caplen)                     program uses; the others live
 *                                                on the stack at r10 - 64 + 4k
 * A batch program (bpfvm_cbpf_translate_batch) loops r1 over the packets
 * of a struct bpfvm_cbpf_batch, with r7 = the end of them and r8 = the
 * next result; r6 and r9 hold M[] slots there.
 *
 * Packet loads are explicit: "if caplen < k + size goto reject" (left out
 * when every path to the load already checked as much), a plain
 * LDX from r2 and a be16/be32 swap, instead of the legacy LD_ABS/LD_IND.
 * That keeps every load a handful of ordinary instructions that the JIT
 * turns into a compare, a load and a bswap inline, with no call into the
 * runtime, and it keeps the classic semantics exact (the wire length for
 * `len`, caplen for the bounds, X + k computed in 64 bits so it cannot wrap).
 * A rejected load, and a division by X == 0, jump to a shared
 * "r0 = 0; exit" at the end, as the classic program would return 0.
 *
 * Conditional jumps use JMP32 compares against k (an unsigned 32-bit
 * compare, whatever the sign of k). When jt is 0 the negated condition
 * jumps to jf, as the kernel does; JSET has no negation and takes two
 * instructions then.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbpf/cbpf_internal.h"
#include "core/internal.h"

enum {
	REG_A = 0,
	REG_CTX = 1,
	REG_PKT = 2,
	REG_CAPLEN = 3,
	REG_X = 4,
	REG_TMP = 5,
};

#define TARGET_REJECT SIZE_MAX       /* the shared "r0 = 0; exit" */
#define TARGET_STORE (SIZE_MAX - 1)  /* batch: store r0 as this packet's result */
#define TARGET_DONE (SIZE_MAX - 2)   /* batch: every packet filtered */

/* Batch programs keep the loop state in registers the M[] slots give up. */
enum {
	REG_BATCH_END = 7,     /* one past the last struct bpfvm_cbpf_ctx */
	REG_BATCH_RESULT = 8,  /* where the current packet's result goes */
};
#define MAX_SLOTS_PER_INSN 8

struct fixup {
	size_t slot;   /* the jump instruction */
	size_t target; /* classic pc, or TARGET_REJECT */
};

struct xlat {
	const struct bpfvm_cbpf_insn *in;
	size_t n;
	struct bpfvm_insn *out;
	size_t nout;
	struct fixup *fixups;
	size_t nfixups;
	int8_t mem_reg[BPFVM_CBPF_MEMWORDS]; /* register of M[k], or -1: stack */
	int batch;                           /* loop over a struct bpfvm_cbpf_batch */
	/* captured[pc]: caplen is at least this on every path into pc (an
	 * earlier bounds check passed), so loads below it need no check. */
	uint64_t *captured;
	size_t pc; /* the classic instruction being translated */
};

static void emit(struct xlat *x, enum bpfvm_opid op, uint8_t dst, uint8_t src, int16_t off,
		 int32_t imm)
{
	struct bpfvm_insn slots[2];
	int nslots = bpfvm_isa_encode(op, dst, src, off, imm, 0, slots);
	for (int i = 0; i < nslots; i++)
		x->out[x->nout++] = slots[i];
}

/* A jump whose offset is patched once every classic instruction has a slot. */
static void emit_jump(struct xlat *x, enum bpfvm_opid op, uint8_t dst, uint8_t src, int32_t imm,
		      size_t target)
{
	x->fixups[x->nfixups++] = (struct fixup){x->nout, target};
	emit(x, op, dst, src, 0, imm);
}

static enum bpfvm_opid ldx_op(unsigned size)
{
	return size == 4 ? BPFVM_OP_LDX_W : size == 2 ? BPFVM_OP_LDX_H : BPFVM_OP_LDX_B;
}

/* Packet bytes arrive in network order: swap on little-endian hosts. */
static void emit_to_host_order(struct xlat *x, uint8_t reg, unsigned size)
{
	if (size == 4)
		emit(x, BPFVM_OP_BE32, reg, 0, 0, 32);
	else if (size == 2)
		emit(x, BPFVM_OP_BE16, reg, 0, 0, 16);
}

/* dst = the size bytes at packet offset k, or reject if they are not all
 * captured. caplen fits in 32 bits, so k + size beyond that never fits. */
static void emit_load_abs(struct xlat *x, uint8_t dst, unsigned size, uint32_t k)
{
	uint64_t end = (uint64_t)k + size;
	if (end > UINT32_MAX) {
		emit_jump(x, BPFVM_OP_JA, 0, 0, 0, TARGET_REJECT);
		return;
	}
	if (end > x->captured[x->pc])
		emit_jump(x, BPFVM_OP_JLT32_IMM, REG_CAPLEN, 0, (int32_t)(uint32_t)end, TARGET_REJECT);
	if (k <= INT16_MAX) {
		emit(x, ldx_op(size), dst, REG_PKT, (int16_t)k, 0);
	} else {
		emit(x, BPFVM_OP_MOV32_IMM, REG_TMP, 0, 0, (int32_t)k); /* zero-extends k */
		emit(x, BPFVM_OP_ADD64_REG, REG_TMP, REG_PKT, 0, 0);
		emit(x, ldx_op(size), dst, REG_TMP, 0, 0);
	}
	emit_to_host_order(x, dst, size);
}

/* dst = the size bytes at packet offset X + k (64-bit sum: no wrap). */
static void emit_load_ind(struct xlat *x, uint8_t dst, unsigned size, uint32_t k)
{
	uint64_t end = (uint64_t)k + size;
	if (end <= INT32_MAX) {
		emit(x, BPFVM_OP_MOV64_REG, REG_TMP, REG_X, 0, 0);
		emit(x, BPFVM_OP_ADD64_IMM, REG_TMP, 0, 0, (int32_t)end);
	} else {
		emit(x, BPFVM_OP_MOV32_IMM, REG_TMP, 0, 0, (int32_t)k);
		emit(x, BPFVM_OP_ADD64_REG, REG_TMP, REG_X, 0, 0);
		emit(x, BPFVM_OP_ADD64_IMM, REG_TMP, 0, 0, (int32_t)size);
	}
	/* r5 = X + k + size: the end of the access must be within caplen. */
	emit_jump(x, BPFVM_OP_JGT_REG, REG_TMP, REG_CAPLEN, 0, TARGET_REJECT);
	emit(x, BPFVM_OP_ADD64_REG, REG_TMP, REG_PKT, 0, 0);
	emit(x, ldx_op(size), dst, REG_TMP, (int16_t)-(int16_t)size, 0);
	emit_to_host_order(x, dst, size);
}

static int16_t mem_stack_off(uint32_t k)
{
	return (int16_t)(-4 * (BPFVM_CBPF_MEMWORDS - (int)k));
}

static void emit_mem_load(struct xlat *x, uint8_t dst, uint32_t k)
{
	if (x->mem_reg[k] >= 0)
		emit(x, BPFVM_OP_MOV32_REG, dst, (uint8_t)x->mem_reg[k], 0, 0);
	else
		emit(x, BPFVM_OP_LDX_W, dst, BPFVM_REG_FP, mem_stack_off(k), 0);
}

static void emit_mem_store(struct xlat *x, uint8_t src, uint32_t k)
{
	if (x->mem_reg[k] >= 0)
		emit(x, BPFVM_OP_MOV32_REG, (uint8_t)x->mem_reg[k], src, 0, 0);
	else
		emit(x, BPFVM_OP_STX_W, BPFVM_REG_FP, src, mem_stack_off(k), 0);
}

/* A <<= X / A >>= X with libpcap's rule: a shift by 32 or more gives 0
 * (eBPF would mask the shift amount instead). */
static void emit_shift_by_x(struct xlat *x, enum bpfvm_opid op)
{
	emit(x, BPFVM_OP_JLT_IMM, REG_X, 0, 2, 32);
	emit(x, BPFVM_OP_MOV32_IMM, REG_A, 0, 0, 0);
	emit(x, BPFVM_OP_JA, 0, 0, 1, 0);
	emit(x, op, REG_A, REG_X, 0, 0);
}

static void emit_cond_jump(struct xlat *x, const struct cbpf_opinfo *row,
			   const struct bpfvm_cbpf_insn *in, size_t pc)
{
	int by_x = row->kind == CBPF_K_JMP_X;
	uint8_t src = by_x ? REG_X : 0;
	int32_t imm = by_x ? 0 : (int32_t)in->k;
	size_t t_true = pc + 1 + in->jt, t_false = pc + 1 + in->jf;
	if (in->jt == 0 && in->jf == 0)
		return; /* both ways lead to the next instruction */
	if (in->jt == 0 && row->ebpf_inverse != CBPF_NO_EBPF) {
		emit_jump(x, (enum bpfvm_opid)row->ebpf_inverse, REG_A, src, imm, t_false);
		return;
	}
	if (in->jt == 0) { /* JSET with jt == 0: skip the jump to jf when set */
		emit(x, (enum bpfvm_opid)row->ebpf_op, REG_A, src, 1, imm);
		emit_jump(x, BPFVM_OP_JA, 0, 0, 0, t_false);
		return;
	}
	emit_jump(x, (enum bpfvm_opid)row->ebpf_op, REG_A, src, imm, t_true);
	if (in->jf != 0)
		emit_jump(x, BPFVM_OP_JA, 0, 0, 0, t_false);
}

static void emit_alu(struct xlat *x, const struct cbpf_opinfo *row, const struct bpfvm_cbpf_insn *in)
{
	enum bpfvm_opid op = (enum bpfvm_opid)row->ebpf_op;
	if (row->kind == CBPF_K_ALU_K) {
		emit(x, op, REG_A, 0, 0, (int32_t)in->k);
		return;
	}
	switch (op) {
	case BPFVM_OP_DIV32_REG:
	case BPFVM_OP_MOD32_REG:
		emit_jump(x, BPFVM_OP_JEQ_IMM, REG_X, 0, 0, TARGET_REJECT);
		emit(x, op, REG_A, REG_X, 0, 0);
		break;
	case BPFVM_OP_LSH32_REG:
	case BPFVM_OP_RSH32_REG:
		emit_shift_by_x(x, op);
		break;
	default:
		emit(x, op, REG_A, REG_X, 0, 0);
		break;
	}
}

/* The classic program returns A (r0): a single-packet program exits, a
 * batch program stores it and goes on with the next packet. */
static void emit_return(struct xlat *x)
{
	if (x->batch)
		emit_jump(x, BPFVM_OP_JA, 0, 0, 0, TARGET_STORE);
	else
		emit(x, BPFVM_OP_EXIT, 0, 0, 0, 0);
}

static void translate_insn(struct xlat *x, size_t pc)
{
	x->pc = pc;
	const struct bpfvm_cbpf_insn *in = &x->in[pc];
	const struct cbpf_opinfo *row = bpfvm__cbpf_lookup(in->code);
	switch ((enum cbpf_kind)row->kind) {
	case CBPF_K_RET_K:
		emit(x, BPFVM_OP_MOV32_IMM, REG_A, 0, 0, (int32_t)in->k);
		emit_return(x);
		break;
	case CBPF_K_RET_A:
		emit_return(x);
		break;
	case CBPF_K_LD_ABS:
		emit_load_abs(x, REG_A, row->size, in->k);
		break;
	case CBPF_K_LD_IND:
		emit_load_ind(x, REG_A, row->size, in->k);
		break;
	case CBPF_K_LDX_MSH:
		emit_load_abs(x, REG_X, 1, in->k);
		emit(x, BPFVM_OP_AND32_IMM, REG_X, 0, 0, 0xf);
		emit(x, BPFVM_OP_LSH32_IMM, REG_X, 0, 0, 2);
		break;
	case CBPF_K_LD_LEN:
	case CBPF_K_LDX_LEN:
		emit(x, BPFVM_OP_LDX_W, row->kind == CBPF_K_LD_LEN ? REG_A : REG_X, REG_CTX,
		     offsetof(struct bpfvm_cbpf_ctx, wirelen), 0);
		break;
	case CBPF_K_LD_IMM:
		emit(x, BPFVM_OP_MOV32_IMM, REG_A, 0, 0, (int32_t)in->k);
		break;
	case CBPF_K_LDX_IMM:
		emit(x, BPFVM_OP_MOV32_IMM, REG_X, 0, 0, (int32_t)in->k);
		break;
	case CBPF_K_LD_MEM:
		emit_mem_load(x, REG_A, in->k);
		break;
	case CBPF_K_LDX_MEM:
		emit_mem_load(x, REG_X, in->k);
		break;
	case CBPF_K_ST:
		emit_mem_store(x, REG_A, in->k);
		break;
	case CBPF_K_STX:
		emit_mem_store(x, REG_X, in->k);
		break;
	case CBPF_K_ALU_K:
	case CBPF_K_ALU_X:
		emit_alu(x, row, in);
		break;
	case CBPF_K_NEG:
		emit(x, BPFVM_OP_NEG32, REG_A, 0, 0, 0);
		break;
	case CBPF_K_JA:
		emit_jump(x, BPFVM_OP_JA, 0, 0, 0, pc + 1 + in->k);
		break;
	case CBPF_K_JMP_K:
	case CBPF_K_JMP_X:
		emit_cond_jump(x, row, in, pc);
		break;
	case CBPF_K_TAX:
		emit(x, BPFVM_OP_MOV32_REG, REG_X, REG_A, 0, 0);
		break;
	case CBPF_K_TXA:
		emit(x, BPFVM_OP_MOV32_REG, REG_A, REG_X, 0, 0);
		break;
	}
}

/* The bytes an instruction proves captured when execution goes on past it
 * (its bounds check passed); 0 when it proves nothing. X + k + size
 * within caplen proves k + size too. */
static uint64_t proves_captured(const struct cbpf_opinfo *row, const struct bpfvm_cbpf_insn *in)
{
	uint64_t end = (uint64_t)in->k + row->size;
	int loads = row->kind == CBPF_K_LD_ABS || row->kind == CBPF_K_LD_IND || row->kind == CBPF_K_LDX_MSH;
	return loads && end <= UINT32_MAX ? end : 0;
}

/* Forward data flow over the classic program (jumps only go forward, so
 * one pass in order sees every predecessor first): the least caplen
 * proven on all paths into each instruction. */
static void compute_captured(struct xlat *x)
{
	uint64_t *c = x->captured;
	for (size_t pc = 0; pc < x->n; pc++)
		c[pc] = UINT64_MAX; /* no path reaches it yet */
	c[0] = 0;
	for (size_t pc = 0; pc < x->n; pc++) {
		const struct bpfvm_cbpf_insn *in = &x->in[pc];
		const struct cbpf_opinfo *row = bpfvm__cbpf_lookup(in->code);
		if (c[pc] == UINT64_MAX)
			c[pc] = 0; /* unreachable: assume nothing */
		uint64_t out = c[pc], proven = proves_captured(row, in);
		if (proven > out)
			out = proven;
		size_t succ[2];
		int nsucc = 0;
		switch ((enum cbpf_kind)row->kind) {
		case CBPF_K_RET_K:
		case CBPF_K_RET_A:
			break;
		case CBPF_K_JA:
			succ[nsucc++] = pc + 1 + in->k;
			break;
		case CBPF_K_JMP_K:
		case CBPF_K_JMP_X:
			succ[nsucc++] = pc + 1 + in->jt;
			succ[nsucc++] = pc + 1 + in->jf;
			break;
		default:
			succ[nsucc++] = pc + 1;
			break;
		}
		for (int i = 0; i < nsucc; i++)
			if (succ[i] < x->n && out < c[succ[i]])
				c[succ[i]] = out;
	}
}

/* The first scratch slots the program touches live in registers: r6..r9,
 * or r6 and r9 in a batch program (r7, r8 run its loop). */
static void assign_mem_registers(struct xlat *x)
{
	static const uint8_t single_regs[] = {6, 7, 8, 9}, batch_regs[] = {6, 9};
	const uint8_t *regs = x->batch ? batch_regs : single_regs;
	size_t nregs = x->batch ? sizeof(batch_regs) : sizeof(single_regs), next = 0;
	memset(x->mem_reg, -1, sizeof(x->mem_reg));
	for (size_t pc = 0; pc < x->n; pc++) {
		const struct cbpf_opinfo *row = bpfvm__cbpf_lookup(x->in[pc].code);
		int uses_mem = row->kind == CBPF_K_LD_MEM || row->kind == CBPF_K_LDX_MEM ||
			       row->kind == CBPF_K_ST || row->kind == CBPF_K_STX;
		uint32_t k = x->in[pc].k;
		if (uses_mem && x->mem_reg[k] < 0 && next < nregs)
			x->mem_reg[k] = (int8_t)regs[next++];
	}
}

/* r1 = the packet's struct bpfvm_cbpf_ctx: load the packet and caplen,
 * and start with A = X = 0. */
static void emit_packet_setup(struct xlat *x)
{
	emit(x, BPFVM_OP_LDX_DW, REG_PKT, REG_CTX, offsetof(struct bpfvm_cbpf_ctx, pkt), 0);
	emit(x, BPFVM_OP_LDX_W, REG_CAPLEN, REG_CTX, offsetof(struct bpfvm_cbpf_ctx, caplen), 0);
	emit(x, BPFVM_OP_MOV32_IMM, REG_A, 0, 0, 0);
	emit(x, BPFVM_OP_MOV32_IMM, REG_X, 0, 0, 0);
}

_Static_assert(sizeof(struct bpfvm_cbpf_ctx) == 16, "the batch loop steps r1 by 16");

/* Batch: r1 = struct bpfvm_cbpf_batch; loop r1 over its packets, r8 over
 * its results, until r1 reaches r7. Returns the loop head's slot. */
static size_t emit_batch_prologue(struct xlat *x)
{
	emit(x, BPFVM_OP_LDX_DW, REG_BATCH_RESULT, REG_CTX, offsetof(struct bpfvm_cbpf_batch, results), 0);
	emit(x, BPFVM_OP_LDX_DW, REG_BATCH_END, REG_CTX, offsetof(struct bpfvm_cbpf_batch, count), 0);
	emit(x, BPFVM_OP_LSH64_IMM, REG_BATCH_END, 0, 0, 4);
	emit(x, BPFVM_OP_LDX_DW, REG_CTX, REG_CTX, offsetof(struct bpfvm_cbpf_batch, pkts), 0);
	emit(x, BPFVM_OP_ADD64_REG, REG_BATCH_END, REG_CTX, 0, 0);
	size_t head = x->nout;
	emit_jump(x, BPFVM_OP_JGE_REG, REG_CTX, REG_BATCH_END, 0, TARGET_DONE);
	emit_packet_setup(x);
	return head;
}

struct labels {
	size_t reject, store, done;
};

static int patch_jumps(struct xlat *x, const size_t *starts, const struct labels *l, char *err,
		       size_t errlen)
{
	for (size_t i = 0; i < x->nfixups; i++) {
		const struct fixup *f = &x->fixups[i];
		size_t target = f->target == TARGET_REJECT ? l->reject
				: f->target == TARGET_STORE ? l->store
				: f->target == TARGET_DONE  ? l->done
							    : starts[f->target];
		int64_t off = (int64_t)target - (int64_t)f->slot - 1;
		if (off < INT16_MIN || off > INT16_MAX) {
			snprintf(err, errlen, "program too large to translate: a jump spans %lld eBPF insns",
				 (long long)off);
			return -E2BIG;
		}
		x->out[f->slot].off = (int16_t)off;
	}
	return 0;
}

/* Batch epilogue: the reject path sets r0 = 0 and falls into the store of
 * r0 as the packet's result; then step to the next packet and loop. */
static void emit_batch_epilogue(struct xlat *x, size_t head, struct labels *l)
{
	l->reject = x->nout;
	emit(x, BPFVM_OP_MOV32_IMM, REG_A, 0, 0, 0);
	l->store = x->nout;
	emit(x, BPFVM_OP_STX_W, REG_BATCH_RESULT, REG_A, 0, 0);
	emit(x, BPFVM_OP_ADD64_IMM, REG_BATCH_RESULT, 0, 0, 4);
	emit(x, BPFVM_OP_ADD64_IMM, REG_CTX, 0, 0, (int32_t)sizeof(struct bpfvm_cbpf_ctx));
	emit(x, BPFVM_OP_JA, 0, 0, (int16_t)((int64_t)head - (int64_t)x->nout - 1), 0);
	l->done = x->nout;
	emit(x, BPFVM_OP_MOV32_IMM, REG_A, 0, 0, 0);
	emit(x, BPFVM_OP_EXIT, 0, 0, 0, 0);
}

static int translate(const struct bpfvm_cbpf_insn *insns, size_t n, int batch,
		     struct bpfvm_insn **out, size_t *nout, size_t *starts, char *err, size_t errlen)
{
	char dummy[8];
	if (!err) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	*out = NULL;
	*nout = 0;
	int rc = bpfvm_cbpf_validate(insns, n, err, errlen);
	if (rc)
		return rc;
	struct xlat x = {.in = insns, .n = n, .batch = batch};
	size_t cap = (n + 4) * MAX_SLOTS_PER_INSN;
	size_t *own_starts = starts ? NULL : malloc((n + 1) * sizeof(*own_starts));
	x.out = calloc(cap, sizeof(*x.out));
	x.fixups = malloc((2 * n + 2) * MAX_SLOTS_PER_INSN * sizeof(*x.fixups));
	x.captured = malloc(n * sizeof(*x.captured));
	if (!x.out || !x.fixups || !x.captured || (!starts && !own_starts)) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto done;
	}
	if (!starts)
		starts = own_starts;
	assign_mem_registers(&x);
	compute_captured(&x);
	size_t head = 0;
	if (batch)
		head = emit_batch_prologue(&x);
	else
		emit_packet_setup(&x);
	for (size_t pc = 0; pc < n; pc++) {
		starts[pc] = x.nout;
		translate_insn(&x, pc);
	}
	struct labels labels = {0};
	if (batch) {
		emit_batch_epilogue(&x, head, &labels);
	} else {
		labels.reject = x.nout;
		emit(&x, BPFVM_OP_MOV32_IMM, REG_A, 0, 0, 0);
		emit(&x, BPFVM_OP_EXIT, 0, 0, 0, 0);
	}
	starts[n] = x.nout;
	rc = patch_jumps(&x, starts, &labels, err, errlen);
	if (rc)
		goto done;
	*out = x.out;
	*nout = x.nout;
	x.out = NULL;
done:
	free(x.out);
	free(x.fixups);
	free(x.captured);
	free(own_starts);
	return rc;
}

int bpfvm_cbpf_translate(const struct bpfvm_cbpf_insn *insns, size_t n, struct bpfvm_insn **out,
			 size_t *nout, size_t *starts, char *err, size_t errlen)
{
	return translate(insns, n, 0, out, nout, starts, err, errlen);
}

int bpfvm_cbpf_translate_batch(const struct bpfvm_cbpf_insn *insns, size_t n,
			       struct bpfvm_insn **out, size_t *nout, size_t *starts, char *err,
			       size_t errlen)
{
	return translate(insns, n, 1, out, nout, starts, err, errlen);
}

/* ---- loading and running ------------------------------------------------------------ */

/* Prepare the engines again for a program that runs without run-time
 * checks. The translation is safe by construction (every packet access is
 * preceded by its bounds check against caplen, M[] are fixed stack slots
 * or registers, jumps only go forward, no calls), so it runs the way the
 * kernel runs converted classic filters: unverified and unchecked. */
static int run_unchecked(struct bpfvm_prog *prog, char *err, size_t errlen)
{
	int rc = 0;
	prog->safety = BPFVM_SAFETY_VERIFIED;
	if (prog->interp) {
		bpfvm__interp_release(prog);
		rc = bpfvm__interp_prepare(prog, err, errlen);
	}
	if (!rc && prog->jit) {
		bpfvm__jit_release(prog);
		rc = bpfvm__jit_prepare(prog, err, errlen);
	}
	return rc;
}

/* Bytes of stack the translation uses (M[] slots that did not get a
 * register), so that engines need not prepare more. */
static uint32_t stack_bytes(const struct bpfvm_insn *insns, size_t n)
{
	int32_t lowest = 0;
	for (size_t i = 0; i < n; i++) {
		int on_stack = insns[i].dst == BPFVM_REG_FP || insns[i].src == BPFVM_REG_FP;
		if (on_stack && insns[i].off < lowest)
			lowest = insns[i].off;
	}
	return (uint32_t)-lowest;
}

static int load(struct bpfvm_vm *vm, const struct bpfvm_cbpf_insn *insns, size_t n, int batch,
		const struct bpfvm_prog_opts *opts, struct bpfvm_prog **out)
{
	char err[256];
	struct bpfvm_insn *ebpf;
	size_t nebpf;
	*out = NULL;
	struct bpfvm_prog_opts o = {0};
	if (opts)
		o = *opts;
	int keep_checks = o.safety == BPFVM_SAFETY_CHECKED;
	if (batch && keep_checks)
		return bpfvm__vm_error(vm, -EINVAL, "batch programs run without run-time checks "
				       "(the packets of a batch are not regions)");
	int rc = translate(insns, n, batch, &ebpf, &nebpf, NULL, err, sizeof(err));
	if (rc)
		return bpfvm__vm_error(vm, rc, "%s", err);
	o.type = BPFVM_PROG_RAW;
	o.safety = BPFVM_SAFETY_CHECKED; /* structural validation, no verifier */
	o.maps = NULL;
	o.nmaps = 0;
	if (!o.name)
		o.name = batch ? "cbpf_batch" : "cbpf";
	rc = bpfvm_prog_load(vm, ebpf, nebpf, &o, out);
	if (!rc)
		(*out)->stack_depth = stack_bytes(ebpf, nebpf);
	free(ebpf);
	if (rc || keep_checks)
		return rc;
	rc = run_unchecked(*out, err, sizeof(err));
	if (rc) {
		bpfvm_prog_destroy(*out);
		*out = NULL;
		return bpfvm__vm_error(vm, rc, "%s", err);
	}
	return 0;
}

int bpfvm_cbpf_load(struct bpfvm_vm *vm, const struct bpfvm_cbpf_insn *insns, size_t n,
		    const struct bpfvm_prog_opts *opts, struct bpfvm_prog **out)
{
	return load(vm, insns, n, 0, opts, out);
}

int bpfvm_cbpf_load_batch(struct bpfvm_vm *vm, const struct bpfvm_cbpf_insn *insns, size_t n,
			  const struct bpfvm_prog_opts *opts, struct bpfvm_prog **out)
{
	return load(vm, insns, n, 1, opts, out);
}

void bpfvm_cbpf_run_init(struct bpfvm_run *run, struct bpfvm_cbpf_ctx *ctx, const uint8_t *pkt,
			 uint32_t wirelen, uint32_t caplen)
{
	ctx->pkt = pkt;
	ctx->caplen = caplen;
	ctx->wirelen = wirelen;
	run->ctx = ctx;
	run->ctx_size = sizeof(*ctx);
	/* Checked programs may read the packet; unchecked ones ignore this. */
	run->regions[0] = (struct bpfvm_region){(void *)(uintptr_t)pkt, caplen, 0};
	run->nregions = 1;
}

void bpfvm_cbpf_batch_run_init(struct bpfvm_run *run, struct bpfvm_cbpf_batch *batch)
{
	run->ctx = batch;
	run->ctx_size = sizeof(*batch);
	run->nregions = 0;
}

/* Ask for the first cache line of each packet of a burst. */
static void prefetch_packets(const struct bpfvm_cbpf_ctx *pkts, size_t n)
{
	for (size_t i = 0; i < n; i++)
		__builtin_prefetch(pkts[i].pkt);
}

int bpfvm_cbpf_filter_packets(struct bpfvm_prog *batch_prog, enum bpfvm_engine engine,
			      const struct bpfvm_cbpf_ctx *pkts, size_t n, uint32_t *results,
			      char *err, size_t errlen)
{
	struct bpfvm_run run = {.engine = engine};
	prefetch_packets(pkts, n < BPFVM_CBPF_BURST ? n : BPFVM_CBPF_BURST);
	for (size_t i = 0; i < n; i += BPFVM_CBPF_BURST) {
		size_t count = n - i < BPFVM_CBPF_BURST ? n - i : BPFVM_CBPF_BURST;
		size_t next = i + count;
		if (next < n)
			prefetch_packets(pkts + next, n - next < BPFVM_CBPF_BURST ? n - next : BPFVM_CBPF_BURST);
		struct bpfvm_cbpf_batch burst = {pkts + i, results + i, count};
		bpfvm_cbpf_batch_run_init(&run, &burst);
		int rc = bpfvm_prog_run(batch_prog, &run);
		if (rc) {
			snprintf(err, errlen, "packet %zu..%zu: %s", i, i + count - 1, run.error);
			return rc;
		}
	}
	return 0;
}
