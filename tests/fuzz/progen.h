/* Structure-aware program generator for the fuzz targets: the fuzzer's
 * bytes choose among well-formed constructs (rows of the opcode table on
 * scalar registers, aligned stack accesses, atomics, forward branches over
 * nested blocks, bounded countdown loops, map lookups with accesses to the
 * value, map updates and deletes, ring buffer output, helper calls), so
 * most inputs are programs a verifier can accept, and a byte mutation
 * changes one choice.
 *
 * Register discipline (why the verifier accepts most programs): r0, r7,
 * r8 and r9 always hold scalars, r6 keeps the context, r1..r5 are
 * temporaries of a single construct (calls clobber them), r4 is the loop
 * counter. The stack words at r10-8 .. r10-96 are zeroed by the prologue.
 * The epilogue folds r7..r9 and the stack words into r0, so a difference
 * in registers or stack memory shows in the return value.
 *
 * Maps (opts.maps order): 0 = hash 8:16:32, 1 = array 4:16:4, 2 = ring
 * buffer of 4096 bytes. pg_world_* create and compare them. */
#ifndef BPFVM_FUZZ_PROGEN_H
#define BPFVM_FUZZ_PROGEN_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm/bpfvm.h"

#define PG_MAX 512
#define PG_STACK_WORDS 12 /* r10-8 .. r10-96 zeroed */
#define PG_KEY_OFF (-72)
#define PG_VAL_OFF (-96)

struct pg {
	const uint8_t *p; /* the fuzzer's bytes, consumed from the front */
	size_t left;
	struct bpfvm_insn insns[PG_MAX];
	size_t n;
	int loops;
	/* For the kernel differential: no get_smp_processor_id (the kernel
	 * runs on any CPU) and no ring buffer (not compared there). */
	int portable;
};

static const uint8_t pg_scalars[4] = {0, 7, 8, 9};

static unsigned pg_byte(struct pg *g)
{
	if (!g->left)
		return 0;
	g->left--;
	return *g->p++;
}

static uint32_t pg_u32(struct pg *g)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++)
		v = v << 8 | pg_byte(g);
	return v;
}

static int pg_room(const struct pg *g, size_t need)
{
	return g->n + need + 64 < PG_MAX; /* 64: epilogue and slack */
}

static void pg_emit(struct pg *g, enum bpfvm_opid op, int dst, int src, int off, int32_t imm)
{
	struct bpfvm_insn enc[2];
	int slots = bpfvm_isa_encode(op, (uint8_t)dst, (uint8_t)src, (int16_t)off, imm, (uint64_t)(uint32_t)imm, enc);
	for (int i = 0; i < slots && g->n < PG_MAX; i++)
		g->insns[g->n++] = enc[i];
}

static void pg_emit64(struct pg *g, enum bpfvm_opid op, int dst, int src, uint64_t imm64)
{
	struct bpfvm_insn enc[2];
	int slots = bpfvm_isa_encode(op, (uint8_t)dst, (uint8_t)src, 0, (int32_t)(uint32_t)imm64, imm64, enc);
	for (int i = 0; i < slots && g->n < PG_MAX; i++)
		g->insns[g->n++] = enc[i];
}

static int pg_scalar(struct pg *g)
{
	return pg_scalars[pg_byte(g) & 3];
}

/* A random row of the opcode table of the given kind (cpu v4 included). */
static const struct bpfvm_opinfo *pg_row(struct pg *g, enum bpfvm_kind kind, enum bpfvm_opid *opid)
{
	const struct bpfvm_opinfo *t = bpfvm_isa_table();
	size_t n = bpfvm_isa_table_size(), count = 0;
	for (size_t i = 0; i < n; i++)
		count += t[i].kind == kind;
	if (!count)
		return NULL;
	size_t want = pg_byte(g) % count;
	for (size_t i = 0; i < n; i++) {
		if (t[i].kind != kind)
			continue;
		if (want-- == 0) {
			*opid = (enum bpfvm_opid)i;
			return &t[i];
		}
	}
	return NULL;
}

/* Fields fixed by the row's match column (MOVSX's off, END's width...). */
static void pg_apply_match(const struct bpfvm_opinfo *r, int *src, int *off, int32_t *imm)
{
	if (r->zero & BPFVM_Z_SRC)
		*src = 0;
	if (r->zero & BPFVM_Z_OFF)
		*off = 0;
	if (r->zero & BPFVM_Z_IMM)
		*imm = 0;
	if (r->match == BPFVM_MATCH_OFF)
		*off = r->match_val;
	else if (r->match == BPFVM_MATCH_IMM)
		*imm = r->match_val;
	else if (r->match == BPFVM_MATCH_SRC)
		*src = r->match_val;
}

static void pg_alu(struct pg *g)
{
	enum bpfvm_opid op;
	const struct bpfvm_opinfo *r = pg_row(g, BPFVM_KIND_ALU, &op);
	int dst = pg_scalar(g), src = 0, off = 0;
	int32_t imm = 0;
	if (r->flags & BPFVM_F_REG_SRC) {
		src = pg_scalar(g);
	} else {
		imm = (int32_t)pg_u32(g);
		/* Division by a constant 0 is rejected by verifiers. */
		if (!imm && (r->op == BPFVM_ALU_DIV || r->op == BPFVM_ALU_SDIV || r->op == BPFVM_ALU_MOD ||
			     r->op == BPFVM_ALU_SMOD))
			imm = 1;
		/* Constant shifts must stay below the operand width. */
		if (r->op == BPFVM_ALU_LSH || r->op == BPFVM_ALU_RSH || r->op == BPFVM_ALU_ARSH)
			imm &= r->size * 8 - 1;
	}
	pg_apply_match(r, &src, &off, &imm);
	pg_emit(g, op, dst, src, off, imm);
}

static void pg_end(struct pg *g)
{
	enum bpfvm_opid op;
	const struct bpfvm_opinfo *r = pg_row(g, BPFVM_KIND_END, &op);
	int src = 0, off = 0;
	int32_t imm = 0;
	pg_apply_match(r, &src, &off, &imm);
	pg_emit(g, op, pg_scalar(g), src, off, imm);
}

/* An offset for a size-byte access to base+off in [base+lo, base+lo+len). */
static int pg_aligned(struct pg *g, int lo, int len, int size)
{
	return lo + (int)(pg_byte(g) % (unsigned)(len / size)) * size;
}

/* Load, store or atomic on memory at base register b, offsets [lo, lo+len).
 * Through a map value pointer in r1 (copied from r0), r0 is no data
 * register: it still holds that pointer, and a stored address would make
 * the map contents differ from run to run. */
static void pg_mem(struct pg *g, int b, int lo, int len)
{
	int no_r0 = b != 10;
	static const enum bpfvm_kind kinds[] = {BPFVM_KIND_LDX, BPFVM_KIND_LDXSX, BPFVM_KIND_ST, BPFVM_KIND_STX,
						BPFVM_KIND_ATOMIC};
	enum bpfvm_opid op;
	const struct bpfvm_opinfo *r = pg_row(g, kinds[pg_byte(g) % 5], &op);
	int size = r->size, src = 0, dst = b, off;
	int32_t imm = 0;
	off = pg_aligned(g, lo, len, size);
	switch (r->kind) {
	case BPFVM_KIND_LDX:
	case BPFVM_KIND_LDXSX:
		dst = no_r0 ? 7 + (int)(pg_byte(g) % 3) : pg_scalar(g);
		src = b;
		break;
	case BPFVM_KIND_ST:
		imm = (int32_t)pg_u32(g);
		break;
	default: /* STX, ATOMIC: the value comes from a scalar register */
		src = no_r0 ? 7 + (int)(pg_byte(g) % 3) : pg_scalar(g);
		break;
	}
	pg_apply_match(r, &src, &off, &imm); /* atomics: the operation is in imm */
	pg_emit(g, op, dst, src, off, imm);
}

static void pg_block(struct pg *g, int depth, int budget);

/* if rX op (rY|imm) goto over a nested block */
static void pg_branch(struct pg *g, int depth)
{
	enum bpfvm_opid op;
	const struct bpfvm_opinfo *r = pg_row(g, BPFVM_KIND_JCOND, &op);
	int src = 0, off = 0;
	int32_t imm = 0;
	if (r->flags & BPFVM_F_REG_SRC)
		src = pg_scalar(g);
	else
		imm = (int32_t)(int8_t)pg_byte(g);
	int dst = pg_scalar(g);
	size_t at = g->n;
	pg_emit(g, op, dst, src, off, imm);
	pg_block(g, depth + 1, 1 + (int)(pg_byte(g) % 6));
	g->insns[at].off = (int16_t)(g->n - at - 1);
}

/* r4 = K; top: body; r4 -= 1; if r4 != 0 goto top */
static void pg_loop(struct pg *g, int depth)
{
	if (g->loops >= 2) {
		pg_alu(g);
		return;
	}
	g->loops++;
	pg_emit(g, BPFVM_OP_MOV64_IMM, 4, 0, 0, 1 + (int)(pg_byte(g) % 8));
	size_t top = g->n;
	int body = 1 + (int)(pg_byte(g) % 4);
	for (int i = 0; i < body && pg_room(g, 8); i++) {
		if (pg_byte(g) & 1)
			pg_alu(g);
		else
			pg_mem(g, 10, PG_VAL_OFF, -PG_VAL_OFF);
	}
	pg_emit(g, BPFVM_OP_SUB64_IMM, 4, 0, 0, 1);
	pg_emit(g, BPFVM_OP_JNE_IMM, 4, 0, (int)top - (int)g->n - 1, 0);
	(void)depth;
}

/* The key word at r10-72 = (scalar & mask); r2 = r10 - 72. */
static void pg_key(struct pg *g, int mask)
{
	pg_emit(g, BPFVM_OP_MOV64_REG, 1, pg_scalar(g), 0, 0);
	pg_emit(g, BPFVM_OP_AND64_IMM, 1, 0, 0, mask);
	pg_emit(g, BPFVM_OP_STX_DW, 10, 1, PG_KEY_OFF, 0);
	pg_emit(g, BPFVM_OP_MOV64_REG, 2, 10, 0, 0);
	pg_emit(g, BPFVM_OP_ADD64_IMM, 2, 0, 0, PG_KEY_OFF);
}

static void pg_map_ref(struct pg *g, int reg, int idx)
{
	pg_emit64(g, BPFVM_OP_LDDW_MAP_FD, reg, BPFVM_LDDW_MAP_FD, (uint64_t)idx);
}

/* r0 = lookup(map, key); if r0 != NULL { accesses through r1 = r0 } */
static void pg_lookup(struct pg *g)
{
	int idx = pg_byte(g) & 1;
	pg_key(g, idx ? 7 : 31);
	pg_map_ref(g, 1, idx);
	pg_emit(g, BPFVM_OP_CALL_HELPER, 0, 0, 0, 1);
	size_t at = g->n;
	pg_emit(g, BPFVM_OP_JEQ_IMM, 0, 0, 0, 0);
	pg_emit(g, BPFVM_OP_MOV64_REG, 1, 0, 0, 0);
	int accesses = 1 + (int)(pg_byte(g) % 4);
	for (int i = 0; i < accesses; i++)
		pg_mem(g, 1, 0, 16);
	g->insns[at].off = (int16_t)(g->n - at - 1);
	pg_emit(g, BPFVM_OP_MOV64_REG, 0, 7 + (int)(pg_byte(g) % 3), 0, 0); /* r0 scalar on both paths */
}

/* update(map, key, value at r10-96, flags) or delete(map, key) */
static void pg_update(struct pg *g)
{
	int idx = pg_byte(g) & 1, del = (pg_byte(g) % 4) == 0;
	pg_emit(g, BPFVM_OP_STX_DW, 10, pg_scalar(g), PG_VAL_OFF, 0);
	pg_key(g, idx ? 7 : 63);
	pg_map_ref(g, 1, idx);
	if (del) {
		pg_emit(g, BPFVM_OP_CALL_HELPER, 0, 0, 0, 3);
		return;
	}
	pg_emit(g, BPFVM_OP_MOV64_REG, 3, 10, 0, 0);
	pg_emit(g, BPFVM_OP_ADD64_IMM, 3, 0, 0, PG_VAL_OFF);
	pg_emit(g, BPFVM_OP_MOV64_IMM, 4, 0, 0, (int32_t)(pg_byte(g) % 3)); /* ANY, NOEXIST, EXIST */
	pg_emit(g, BPFVM_OP_CALL_HELPER, 0, 0, 0, 2);
}

/* ringbuf_output(rb, r10-96, 8|16, 0) */
static void pg_ringbuf(struct pg *g)
{
	pg_map_ref(g, 1, 2);
	pg_emit(g, BPFVM_OP_MOV64_REG, 2, 10, 0, 0);
	pg_emit(g, BPFVM_OP_ADD64_IMM, 2, 0, 0, PG_VAL_OFF);
	pg_emit(g, BPFVM_OP_MOV64_IMM, 3, 0, 0, (pg_byte(g) & 1) ? 16 : 8);
	pg_emit(g, BPFVM_OP_MOV64_IMM, 4, 0, 0, 0);
	pg_emit(g, BPFVM_OP_CALL_HELPER, 0, 0, 0, 130);
}

static void pg_construct(struct pg *g, int depth)
{
	switch (pg_byte(g) % 12) {
	case 0: case 1: case 2: case 3:
		pg_alu(g);
		break;
	case 4:
		pg_end(g);
		break;
	case 5: case 6:
		pg_mem(g, 10, PG_VAL_OFF, -PG_VAL_OFF);
		break;
	case 7:
		if (depth < 3)
			pg_branch(g, depth);
		else
			pg_alu(g);
		break;
	case 8:
		pg_loop(g, depth);
		break;
	case 9:
		pg_lookup(g);
		break;
	case 10:
		pg_update(g);
		break;
	default:
		if (g->portable)
			pg_alu(g);
		else if (pg_byte(g) & 1)
			pg_ringbuf(g);
		else
			pg_emit(g, BPFVM_OP_CALL_HELPER, 0, 0, 0, 8); /* get_smp_processor_id */
		break;
	}
}

static void pg_block(struct pg *g, int depth, int budget)
{
	for (int i = 0; i < budget && g->left && pg_room(g, 40); i++)
		pg_construct(g, depth);
}

/* Build a program from data; returns the number of slots. portable: only
 * constructs whose result does not depend on the CPU or the ring buffer. */
static size_t pg_generate_ex(struct pg *g, const uint8_t *data, size_t size, int portable)
{
	memset(g, 0, sizeof(*g));
	g->portable = portable;
	g->p = data;
	g->left = size;
	pg_emit(g, BPFVM_OP_MOV64_REG, 6, 1, 0, 0);
	for (int i = 0; i < 4; i++) {
		int reg = pg_scalars[i];
		if (pg_byte(g) & 1)
			pg_emit64(g, BPFVM_OP_LDDW, reg, 0, (uint64_t)pg_u32(g) << 32 | pg_u32(g));
		else
			pg_emit(g, BPFVM_OP_MOV64_IMM, reg, 0, 0, (int32_t)pg_u32(g));
	}
	for (int i = 1; i <= PG_STACK_WORDS; i++)
		pg_emit(g, BPFVM_OP_ST_DW, 10, 0, -8 * i, 0);
	pg_block(g, 0, 1 << 30);
	for (int i = 1; i < 4; i++)
		pg_emit(g, BPFVM_OP_XOR64_REG, 0, pg_scalars[i], 0, 0);
	for (int i = 1; i <= PG_STACK_WORDS; i++) {
		pg_emit(g, BPFVM_OP_LDX_DW, 1, 10, -8 * i, 0);
		pg_emit(g, BPFVM_OP_MUL64_IMM, 0, 0, 0, 31);
		pg_emit(g, BPFVM_OP_ADD64_REG, 0, 1, 0, 0);
	}
	/* Fold the high half in: the kernel's test run returns 32 bits. */
	pg_emit(g, BPFVM_OP_MOV64_REG, 1, 0, 0, 0);
	pg_emit(g, BPFVM_OP_RSH64_IMM, 1, 0, 0, 32);
	pg_emit(g, BPFVM_OP_XOR64_REG, 0, 1, 0, 0);
	pg_emit(g, BPFVM_OP_EXIT, 0, 0, 0, 0);
	return g->n;
}

static inline size_t pg_generate(struct pg *g, const uint8_t *data, size_t size)
{
	return pg_generate_ex(g, data, size, 0);
}

/* ---- the maps a generated program uses ------------------------------------ */

struct pg_world {
	struct bpfvm_vm *vm;
	struct bpfvm_map *maps[3];
};

static int pg_world_create(struct pg_world *w)
{
	static const struct bpfvm_map_def defs[3] = {
		{.type = BPFVM_MAP_HASH, .key_size = 8, .value_size = 16, .max_entries = 32, .name = "h"},
		{.type = BPFVM_MAP_ARRAY, .key_size = 4, .value_size = 16, .max_entries = 4, .name = "a"},
		{.type = BPFVM_MAP_RINGBUF, .max_entries = 4096, .name = "rb"},
	};
	memset(w, 0, sizeof(*w));
	if (bpfvm_vm_create(&w->vm))
		return -1;
	for (int i = 0; i < 3; i++)
		if (bpfvm_map_create(w->vm, &defs[i], &w->maps[i]))
			return -1;
	return 0;
}

static void pg_world_destroy(struct pg_world *w)
{
	for (int i = 0; i < 3; i++)
		if (w->maps[i])
			bpfvm_map_destroy(w->maps[i]);
	if (w->vm)
		bpfvm_vm_destroy(w->vm);
}

struct pg_digest {
	uint64_t h;
	size_t items;
};

static void pg_mix(struct pg_digest *d, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		d->h = (d->h ^ b[i]) * 0x100000001b3ULL;
	d->items++;
}

static int pg_digest_record(void *user, const void *data, size_t size)
{
	pg_mix(user, &size, sizeof(size));
	pg_mix(user, data, size);
	return 0;
}

/* A digest of every map's contents (hash entries in key order, array
 * values, ring buffer records, which it drains). */
typedef int (*pg_lookup_fn)(void *map, const void *key, void *value);

static int pg_bpfvm_lookup(void *map, const void *key, void *value)
{
	return bpfvm_map_lookup(map, key, value);
}

/* The hash and array contents through lookup (the same walk for bpfvm's
 * maps and, in the kernel differential, the kernel's). */
static void pg_digest_tables(struct pg_digest *d, pg_lookup_fn lookup, void *hash, void *array)
{
	uint8_t val[16];
	for (uint64_t k = 0; k < 64; k++)
		if (lookup(hash, &k, val) == 0) {
			pg_mix(d, &k, sizeof(k));
			pg_mix(d, val, sizeof(val));
		}
	for (uint32_t k = 0; k < 4; k++)
		if (lookup(array, &k, val) == 0)
			pg_mix(d, val, sizeof(val));
}

static inline uint64_t pg_world_digest(struct pg_world *w)
{
	struct pg_digest d = {0xcbf29ce484222325ULL, 0};
	pg_digest_tables(&d, pg_bpfvm_lookup, w->maps[0], w->maps[1]);
	bpfvm_ringbuf_poll(w->maps[2], pg_digest_record, &d);
	return d.h ^ d.items;
}

#endif
