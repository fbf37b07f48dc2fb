/* A generator of random but structured eBPF programs (branches, bounded
 * loops, stack and map accesses, helper calls, pointer arithmetic) for the
 * differential test against the kernel's verifier. Deterministic for a
 * seed. Programs use two maps: map 0 = hash 8:8:16, map 1 = array 4:16:4. */
#include <stdint.h>
#include <string.h>

#include "bpfvm/isa.h"

#define DG_MAX 512

struct dg {
	struct bpfvm_insn insns[DG_MAX];
	int n;
	uint64_t rng;
	uint16_t init;     /* registers surely initialized on every path so far */
	uint16_t ptrs;     /* registers that may hold pointers */
	int loops;
};

static uint32_t dg_rand(struct dg *g)
{
	g->rng ^= g->rng << 13;
	g->rng ^= g->rng >> 7;
	g->rng ^= g->rng << 17;
	return (uint32_t)(g->rng >> 11);
}

static int dg_pick(struct dg *g, int n)
{
	return (int)(dg_rand(g) % (uint32_t)n);
}

static int dg_chance(struct dg *g, int percent)
{
	return dg_pick(g, 100) < percent;
}

static void dg_emit(struct dg *g, uint8_t code, int dst, int src, int16_t off, int32_t imm)
{
	if (g->n >= DG_MAX)
		return;
	struct bpfvm_insn *in = &g->insns[g->n++];
	in->code = code;
	in->dst = (uint8_t)dst;
	in->src = (uint8_t)src;
	in->off = off;
	in->imm = imm;
}

static void dg_op(struct dg *g, enum bpfvm_opid id, int dst, int src, int16_t off, int32_t imm)
{
	struct bpfvm_insn out[2];
	int k = bpfvm_isa_encode(id, (uint8_t)dst, (uint8_t)src, off, imm, (uint64_t)(uint32_t)imm, out);
	for (int i = 0; i < k; i++)
		dg_emit(g, out[i].code, out[i].dst, out[i].src, out[i].off, out[i].imm);
}

/* A scalar register: mostly an initialized one, now and then any (which
 * makes "R%d !read_ok" programs). */
static int dg_reg(struct dg *g)
{
	for (int tries = 0; tries < 12; tries++) {
		int r = 2 + dg_pick(g, 8); /* r2..r9, r6 (ctx) rarely */
		if (r == 6 && !dg_chance(g, 5))
			continue;
		if ((g->ptrs & (1u << r)) && !dg_chance(g, 10))
			continue;
		if ((g->init & (1u << r)) || dg_chance(g, 1))
			return r;
	}
	return 0;
}

static const enum bpfvm_opid alu_imm[] = {
	BPFVM_OP_ADD64_IMM, BPFVM_OP_SUB64_IMM, BPFVM_OP_MUL64_IMM, BPFVM_OP_AND64_IMM, BPFVM_OP_OR64_IMM,
	BPFVM_OP_XOR64_IMM, BPFVM_OP_LSH64_IMM, BPFVM_OP_RSH64_IMM, BPFVM_OP_ARSH64_IMM, BPFVM_OP_MOV64_IMM,
	BPFVM_OP_ADD32_IMM, BPFVM_OP_AND32_IMM, BPFVM_OP_MOV32_IMM, BPFVM_OP_RSH32_IMM, BPFVM_OP_DIV64_IMM,
	BPFVM_OP_MOD64_IMM,
};
static const enum bpfvm_opid alu_reg[] = {
	BPFVM_OP_ADD64_REG, BPFVM_OP_SUB64_REG, BPFVM_OP_AND64_REG, BPFVM_OP_OR64_REG, BPFVM_OP_XOR64_REG,
	BPFVM_OP_MOV64_REG, BPFVM_OP_MUL64_REG, BPFVM_OP_ADD32_REG, BPFVM_OP_MOV32_REG, BPFVM_OP_DIV64_REG,
};
static const enum bpfvm_opid jmp_imm[] = {
	BPFVM_OP_JEQ_IMM, BPFVM_OP_JNE_IMM, BPFVM_OP_JGT_IMM, BPFVM_OP_JGE_IMM, BPFVM_OP_JLT_IMM,
	BPFVM_OP_JLE_IMM, BPFVM_OP_JSGT_IMM, BPFVM_OP_JSLT_IMM, BPFVM_OP_JSET_IMM, BPFVM_OP_JEQ32_IMM,
	BPFVM_OP_JGT32_IMM,
};
static const enum bpfvm_opid jmp_reg[] = {
	BPFVM_OP_JEQ_REG, BPFVM_OP_JGT_REG, BPFVM_OP_JLT_REG, BPFVM_OP_JSGE_REG, BPFVM_OP_JNE_REG,
};
#define N(a) ((int)(sizeof(a) / sizeof(a[0])))

static int32_t dg_imm(struct dg *g)
{
	static const int32_t interesting[] = {0, 1, 2, 3, 4, 7, 8, 15, 16, 31, 63, 64, 255, -1, -8, 0x7fffffff, 4096};
	if (dg_chance(g, 60))
		return interesting[dg_pick(g, N(interesting))];
	return (int32_t)dg_rand(g) >> dg_pick(g, 31);
}

static void gen_alu(struct dg *g)
{
	int dst = dg_reg(g);
	if (dg_chance(g, 60)) {
		enum bpfvm_opid id = alu_imm[dg_pick(g, N(alu_imm))];
		int32_t imm = dg_imm(g);
		if (id == BPFVM_OP_LSH64_IMM || id == BPFVM_OP_RSH64_IMM || id == BPFVM_OP_ARSH64_IMM)
			imm = dg_chance(g, 95) ? dg_pick(g, 64) : 64;
		if (id == BPFVM_OP_RSH32_IMM)
			imm = dg_pick(g, 32);
		if ((id == BPFVM_OP_DIV64_IMM || id == BPFVM_OP_MOD64_IMM) && imm == 0 && dg_chance(g, 90))
			imm = 3;
		dg_op(g, id, dst, 0, 0, imm);
	} else {
		dg_op(g, alu_reg[dg_pick(g, N(alu_reg))], dst, dg_reg(g), 0, 0);
	}
	g->init |= (uint16_t)(1u << dst);
	g->ptrs &= (uint16_t)~(1u << dst);
}

static void gen_stack(struct dg *g)
{
	static const enum bpfvm_opid st[] = {BPFVM_OP_STX_DW, BPFVM_OP_STX_W, BPFVM_OP_STX_H, BPFVM_OP_STX_B,
					     BPFVM_OP_ST_DW, BPFVM_OP_ST_W};
	static const enum bpfvm_opid ld[] = {BPFVM_OP_LDX_DW, BPFVM_OP_LDX_W, BPFVM_OP_LDX_H, BPFVM_OP_LDX_B};
	static const int sizes[] = {8, 4, 2, 1};
	int k = dg_pick(g, 4);
	int off = -8 * (1 + dg_pick(g, 8)) + (dg_chance(g, 10) ? dg_pick(g, 8) : 0) - (k ? 0 : 0);
	if (dg_chance(g, 2))
		off = -520;
	if (dg_chance(g, 70)) {
		int which = dg_pick(g, N(st));
		if (which >= 4)
			dg_op(g, st[which], BPFVM_REG_FP, 0, (int16_t)off, dg_imm(g));
		else
			dg_op(g, st[which], BPFVM_REG_FP, dg_chance(g, 10) ? 1 : dg_reg(g), (int16_t)off, 0);
	} else {
		int dst = dg_reg(g);
		dg_op(g, ld[k], dst, BPFVM_REG_FP, (int16_t)(off - (off % sizes[k])), 0);
		g->init |= (uint16_t)(1u << dst);
	}
}

static void gen_ctx_load(struct dg *g)
{
	static const int offs[] = {0, 4, 8, 16, 24, 32, 44, 48, 52, 68, 76, 1000};
	int dst = dg_reg(g);
	int off = offs[dg_pick(g, N(offs))];
	if (dst == 6)
		dst = 7;
	dg_op(g, dg_chance(g, 85) ? BPFVM_OP_LDX_W : BPFVM_OP_LDX_B, dst, 6, (int16_t)off, 0);
	g->init |= (uint16_t)(1u << dst);
	g->ptrs &= (uint16_t)~(1u << dst);
}

/* key on the stack, lookup, null check, access the value */
static void gen_map(struct dg *g)
{
	int map = dg_pick(g, 2);
	dg_op(g, map ? BPFVM_OP_ST_W : BPFVM_OP_ST_DW, BPFVM_REG_FP, 0, -8, dg_pick(g, 4));
	dg_op(g, BPFVM_OP_LDDW_MAP_FD, 1, 1, 0, map);
	dg_op(g, BPFVM_OP_MOV64_REG, 2, BPFVM_REG_FP, 0, 0);
	dg_op(g, BPFVM_OP_ADD64_IMM, 2, 0, 0, dg_chance(g, 95) ? -8 : -4);
	dg_op(g, BPFVM_OP_CALL_HELPER, 0, 0, 0, 1);
	g->init &= (uint16_t)~0x3e;
	g->ptrs &= (uint16_t)~0x3f;
	int null_check = dg_chance(g, 90);
	int at = g->n;
	if (null_check)
		dg_op(g, BPFVM_OP_JEQ_IMM, 0, 0, 0, 0); /* patched below */
	int vsize = map ? 16 : 8;
	int kind = dg_pick(g, 4);
	if (kind == 0) {
		int dst = dg_reg(g);
		int off = dg_chance(g, 85) ? 8 * dg_pick(g, vsize / 8) : vsize;
		dg_op(g, BPFVM_OP_LDX_DW, dst, 0, (int16_t)off, 0);
		if (!null_check)
			g->init |= (uint16_t)(1u << dst);
	} else if (kind == 1) {
		dg_op(g, BPFVM_OP_STX_DW, 0, dg_reg(g), 0, 0);
	} else {
		/* variable offset: bounded (usually) index into the value */
		dg_op(g, BPFVM_OP_LDX_W, 3, 0, 0, 0);
		if (dg_chance(g, 50))
			dg_op(g, BPFVM_OP_AND64_IMM, 3, 0, 0, dg_chance(g, 85) ? vsize - 1 : vsize);
		else if (dg_chance(g, 80))
			dg_op(g, BPFVM_OP_JGT_IMM, 3, 0, 2, dg_chance(g, 85) ? vsize - 1 : vsize);
		dg_op(g, BPFVM_OP_ADD64_REG, 0, 3, 0, 0);
		dg_op(g, BPFVM_OP_LDX_B, 4, 0, 0, 0);
		if (!null_check)
			g->init |= (1u << 4) | (1u << 3);
	}
	if (null_check)
		g->insns[at].off = (int16_t)(g->n - at - 1);
	g->init |= 1;
}

static void gen_helper(struct dg *g)
{
	static const int ids[] = {5, 7, 8, 14};
	dg_op(g, BPFVM_OP_CALL_HELPER, 0, 0, 0, ids[dg_pick(g, N(ids))]);
	g->init &= (uint16_t)~0x3e;
	g->ptrs &= (uint16_t)~0x3f;
	g->init |= 1;
	if (dg_chance(g, 50)) {
		int dst = 6 + dg_pick(g, 4);
		if (dst != 6) {
			dg_op(g, BPFVM_OP_MOV64_REG, dst, 0, 0, 0);
			g->init |= (uint16_t)(1u << dst);
		}
	}
}

static void gen_ptr(struct dg *g)
{
	int dst = 2 + dg_pick(g, 3);
	switch (dg_pick(g, 4)) {
	case 0: /* a stack pointer moved around and stored through */
		dg_op(g, BPFVM_OP_MOV64_REG, dst, BPFVM_REG_FP, 0, 0);
		dg_op(g, BPFVM_OP_ADD64_IMM, dst, 0, 0, -8 * (1 + dg_pick(g, 4)));
		dg_op(g, BPFVM_OP_STX_DW, dst, dg_chance(g, 50) ? 6 : dg_reg(g), 0, 0);
		break;
	case 1: /* modified ctx pointer */
		dg_op(g, BPFVM_OP_MOV64_REG, dst, 6, 0, 0);
		dg_op(g, BPFVM_OP_ADD64_IMM, dst, 0, 0, 4 * dg_pick(g, 3));
		dg_op(g, BPFVM_OP_LDX_W, dst, dst, 0, 0);
		g->init |= (uint16_t)(1u << dst);
		g->ptrs &= (uint16_t)~(1u << dst);
		return;
	case 2: /* pointer plus a scalar */
		dg_op(g, BPFVM_OP_MOV64_REG, dst, BPFVM_REG_FP, 0, 0);
		dg_op(g, BPFVM_OP_ADD64_REG, dst, dg_reg(g), 0, 0);
		break;
	default: /* spill and fill a pointer */
		dg_op(g, BPFVM_OP_STX_DW, BPFVM_REG_FP, 6, -16, 0);
		dg_op(g, BPFVM_OP_LDX_DW, dst, BPFVM_REG_FP, dg_chance(g, 90) ? -16 : -12, 0);
		break;
	}
	g->init |= (uint16_t)(1u << dst);
	g->ptrs |= (uint16_t)(1u << dst);
}

static void gen_block(struct dg *g, int depth);

static void gen_branch(struct dg *g, int depth)
{
	int at = g->n;
	if (dg_chance(g, 70))
		dg_op(g, jmp_imm[dg_pick(g, N(jmp_imm))], dg_reg(g), 0, 0, dg_imm(g));
	else
		dg_op(g, jmp_reg[dg_pick(g, N(jmp_reg))], dg_reg(g), dg_reg(g), 0, 0);
	uint16_t before = g->init, ptrs_before = g->ptrs;
	int nb = 1 + dg_pick(g, 3);
	for (int i = 0; i < nb; i++)
		gen_block(g, depth + 1);
	g->insns[at].off = (int16_t)(g->n - at - 1);
	g->init = before; /* the skipped path did not set what the blocks set */
	g->ptrs |= ptrs_before;
}

static void gen_loop(struct dg *g, int depth)
{
	int ctr = 6 + 1 + dg_pick(g, 3); /* r7..r9 */
	int bound = 1 + dg_pick(g, 20);
	if (g->loops++ > 2)
		return;
	dg_op(g, BPFVM_OP_MOV64_IMM, ctr, 0, 0, 0);
	g->init |= (uint16_t)(1u << ctr);
	int top = g->n;
	int nb = 1 + dg_pick(g, 2);
	for (int i = 0; i < nb; i++) {
		if (dg_chance(g, 60))
			gen_alu(g);
		else
			gen_stack(g);
	}
	(void)depth;
	dg_op(g, BPFVM_OP_ADD64_IMM, ctr, 0, 0, dg_chance(g, 97) ? 1 : 0);
	g->init |= (uint16_t)(1u << ctr);
	dg_op(g, BPFVM_OP_JLT_IMM, ctr, 0, (int16_t)(top - g->n - 1), bound);
}

static void gen_block(struct dg *g, int depth)
{
	int k = dg_pick(g, 100);
	if (g->n > DG_MAX - 40)
		return;
	if (k < 30)
		gen_alu(g);
	else if (k < 45)
		gen_stack(g);
	else if (k < 55)
		gen_ctx_load(g);
	else if (k < 67)
		gen_map(g);
	else if (k < 75)
		gen_helper(g);
	else if (k < 83)
		gen_ptr(g);
	else if (k < 94 && depth < 3)
		gen_branch(g, depth);
	else if (depth < 2)
		gen_loop(g, depth);
	else
		gen_alu(g);
}

/* Generate program number seed into g. */
static void dg_generate(struct dg *g, uint64_t seed)
{
	memset(g, 0, sizeof(*g));
	g->rng = seed * 0x9e3779b97f4a7c15ULL + 1;
	dg_op(g, BPFVM_OP_MOV64_REG, 6, 1, 0, 0);
	g->init = (1u << 1) | (1u << 6);
	int nregs = dg_pick(g, 6);
	for (int i = 0; i < nregs; i++) {
		int r = 2 + dg_pick(g, 8);
		dg_op(g, BPFVM_OP_MOV64_IMM, r, 0, 0, dg_imm(g));
		g->init |= (uint16_t)(1u << r);
	}
	int blocks = 2 + dg_pick(g, 10);
	for (int i = 0; i < blocks; i++)
		gen_block(g, 0);
	if (dg_chance(g, 95)) {
		if (dg_chance(g, 85))
			dg_op(g, BPFVM_OP_MOV64_IMM, 0, 0, 0, dg_pick(g, 3));
		else
			dg_op(g, BPFVM_OP_MOV64_REG, 0, dg_reg(g), 0, 0);
	}
	dg_op(g, BPFVM_OP_EXIT, 0, 0, 0, 0);
}
