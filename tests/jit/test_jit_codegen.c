/* Code-generation choices of the JIT in verified code (the other JIT tests
 * run checked code): a conditional jump over a goto becomes one inverted
 * jump, loop heads start on 64-byte boundaries, and both keep the
 * interpreter's results. */
#include <inttypes.h>
#include <stdio.h>

#include "jit/jit.h"
#include "jit_test_util.h"

static const uint64_t values[] = {
	0, 1, 2, 0x7f, 0x80, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ULL,
	0x7fffffffffffffffULL, 0x8000000000000000ULL, 0xffffffffffffffffULL, (uint64_t)-7,
};
#define NVALUES (sizeof(values) / sizeof(values[0]))

static const int32_t imms[] = {0, 1, -1, 0x7f, 0x80, 0x7fffffff, INT32_MIN, -7};
#define NIMMS (sizeof(imms) / sizeof(imms[0]))

static const struct bpfvm_prog_opts verified = {.safety = BPFVM_SAFETY_VERIFIED};

static int same(const char *what, const struct engine_result *a, const struct engine_result *b)
{
	if (a->rc == b->rc && a->r0 == b->r0)
		return 1;
	harness_fail(__FILE__, __LINE__, "%s: interp rc %d r0 0x%" PRIx64 " (%s), jit rc %d r0 0x%" PRIx64 " (%s)",
		     what, a->rc, a->r0, a->error, b->rc, b->r0, b->error);
	return 0;
}

/* 0: r0 = 1; 1: if r3 op r4|imm goto +1; 2: goto +1; 3: r0 = 2; 4: exit
 * for every conditional jump row and operands on both sides of each edge. */
TEST(conditional_jump_over_goto_matches_the_interpreter_for_every_condition)
{
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	const struct bpfvm_opinfo *t = bpfvm_isa_table();
	for (size_t i = 0; i < bpfvm_isa_table_size(); i++) {
		if (t[i].kind != BPFVM_KIND_JCOND)
			continue;
		int reg = (t[i].flags & BPFVM_F_REG_SRC) != 0, fails = 0;
		for (size_t a = 0; a < NVALUES && fails < 3; a++) {
			size_t nb = reg ? NVALUES : NIMMS;
			for (size_t b = 0; b < nb && fails < 3; b++) {
				struct prog_builder pb = {.n = 0};
				PB_LDDW(&pb, 3, values[a]);
				PB_LDDW(&pb, 4, reg ? values[b] : 0);
				PB(&pb, MOV64_IMM, 0, 0, 0, 1);
				size_t jcond = pb_add(&pb, (enum bpfvm_opid)i, 3, 4, 1, reg ? 0 : imms[b], 0);
				PB(&pb, JA, 0, 0, 1, 0);
				PB(&pb, MOV64_IMM, 0, 0, 0, 2);
				PB(&pb, EXIT, 0, 0, 0, 0);
				struct engine_result ri, rj;
				CHECK_EQ(run_engines(vm, pb.insns, pb.n, NULL, 0, &ri, &rj, NULL, NULL, &verified), 0);
				char what[128];
				snprintf(what, sizeof(what), "%s a=0x%" PRIx64 " b#%zu", t[i].id, values[a], b);
				if (!same(what, &ri, &rj))
					fails++;
				if (a == 0 && b == 0) { /* the goto got no code of its own */
					struct bpfvm_prog *prog;
					CHECK_EQ(bpfvm_prog_load(vm, pb.insns, pb.n, &verified, &prog), 0);
					const uint32_t *addrs;
					CHECK(bpfvm__jit_image(prog, NULL, &addrs) != NULL);
					CHECK_EQ(addrs[jcond + 1], addrs[jcond + 2]);
					bpfvm_prog_destroy(prog);
				}
			}
		}
	}
	bpfvm_vm_destroy(vm);
}

/* r0 = sum of r6 for r6 = n..1, the loop closed by `if r6 == 0 goto +1;
 * goto head` (clang's latch); with land_on_goto a jump lands on the goto
 * too (then the pair is not fused). */
static struct prog_builder counted_loop(int32_t n, int land_on_goto)
{
	struct prog_builder pb = {.n = 0};
	PB(&pb, MOV64_IMM, 0, 0, 0, 0);
	PB(&pb, MOV64_IMM, 6, 0, 0, n);
	PB(&pb, MOV64_IMM, 7, 0, 0, 1);
	PB(&pb, ADD64_REG, 0, 6, 0, 0);   /* 3: the loop head */
	PB(&pb, SUB64_IMM, 6, 0, 0, 1);
	PB(&pb, JEQ_IMM, 6, 0, 3, 0);     /* 5: done: to the exit */
	if (land_on_goto)
		PB(&pb, JNE_IMM, 7, 0, 1, 0); /* 6: to the goto */
	else
		PB(&pb, MOV64_IMM, 8, 0, 0, 0);
	PB(&pb, JEQ_IMM, 6, 0, 1, 0);     /* 7: never taken */
	PB(&pb, JA, 0, 0, -6, 0);         /* 8: back to 3 */
	PB(&pb, EXIT, 0, 0, 0, 0);
	return pb;
}

TEST(loops_closed_by_a_conditional_jump_over_goto_count_like_the_interpreter)
{
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	for (int land = 0; land < 2; land++) {
		for (int32_t n = 1; n <= 20; n += 19) {
			struct prog_builder pb = counted_loop(n, land);
			struct engine_result ri, rj;
			CHECK_EQ(run_engines(vm, pb.insns, pb.n, NULL, 0, &ri, &rj, NULL, NULL, &verified), 0);
			char what[64];
			snprintf(what, sizeof(what), "n=%d land_on_goto=%d", n, land);
			same(what, &ri, &rj);
			CHECK_EQ(rj.r0, (uint64_t)n * (uint64_t)(n + 1) / 2);
		}
	}
	bpfvm_vm_destroy(vm);
}

TEST(loop_heads_start_on_64_byte_boundaries)
{
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	for (int before = 0; before < 20; before++) { /* short and long padding */
		struct prog_builder pb = {.n = 0};
		PB(&pb, MOV64_IMM, 0, 0, 0, 0);
		for (int i = 0; i < before; i++)
			PB(&pb, ADD64_IMM, 0, 0, 0, 1); /* 4 bytes each */
		PB(&pb, MOV64_IMM, 6, 0, 0, 3);
		size_t head = pb_add(&pb, BPFVM_OP_ADD64_IMM, 0, 0, 0, 100, 0);
		PB(&pb, SUB64_IMM, 6, 0, 0, 1);
		PB(&pb, JNE_IMM, 6, 0, -3, 0);
		PB(&pb, EXIT, 0, 0, 0, 0);
		struct bpfvm_prog *prog;
		CHECK_EQ(bpfvm_prog_load(vm, pb.insns, pb.n, &verified, &prog), 0);
		const uint32_t *addrs;
		CHECK(bpfvm__jit_image(prog, NULL, &addrs) != NULL);
		CHECK_EQ(addrs[head] % 64, 0);
		struct bpfvm_run run = {.engine = BPFVM_ENGINE_JIT};
		CHECK_EQ(bpfvm_prog_run(prog, &run), 0);
		CHECK_EQ(run.retval, (uint64_t)before + 300);
		bpfvm_prog_destroy(prog);
	}
	bpfvm_vm_destroy(vm);
}

/* Immediates with their own x86 forms (movzx for `&= 0xff` and `&= 0xffff`,
 * nothing or a zero extension for `&= -1`, not for `^= -1`), on every
 * register the JIT maps (byte forms of sil/dil need a REX prefix). */
TEST(and_and_xor_immediates_with_short_forms_match_the_interpreter)
{
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	static const enum bpfvm_opid ops[] = {BPFVM_OP_AND64_IMM, BPFVM_OP_AND32_IMM, BPFVM_OP_XOR64_IMM,
					      BPFVM_OP_XOR32_IMM};
	static const int32_t special[] = {0xff, 0xffff, -1, 0xfe};
	for (size_t o = 0; o < sizeof(ops) / sizeof(ops[0]); o++)
		for (size_t k = 0; k < sizeof(special) / sizeof(special[0]); k++)
			for (int reg = 0; reg <= 9; reg++)
				for (size_t v = 0; v < NVALUES; v += 3) {
					struct prog_builder pb = {.n = 0};
					PB_LDDW(&pb, reg, values[v] ^ 0x5a5a5a5a5a5a5aULL);
					pb_add(&pb, ops[o], reg, 0, 0, special[k], 0);
					PB(&pb, MOV64_REG, 0, reg, 0, 0);
					PB(&pb, EXIT, 0, 0, 0, 0);
					struct engine_result ri, rj;
					CHECK_EQ(run_engines(vm, pb.insns, pb.n, NULL, 0, &ri, &rj, NULL, NULL, &verified), 0);
					char what[96];
					snprintf(what, sizeof(what), "%s r%d imm %d v#%zu", bpfvm_isa_table()[ops[o]].id, reg,
						 special[k], v);
					same(what, &ri, &rj);
				}
	bpfvm_vm_destroy(vm);
}

/* `w = a; w += b` is one 32-bit lea: the sum wraps at 32 bits and the
 * upper half is cleared, for every pair of distinct registers. */
TEST(mov32_add32_pair_is_a_zero_extended_sum)
{
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	for (int dst = 0; dst <= 9; dst++)
		for (int a = 0; a <= 9; a++)
			for (int bsrc = 0; bsrc <= 9; bsrc++) {
				if (a == dst || bsrc == dst)
					continue;
				struct prog_builder pb = {.n = 0};
				PB_LDDW(&pb, dst, 0x1111111111111111ULL);
				if (bsrc != a)
					PB_LDDW(&pb, bsrc, 0xfffffff0fffffff8ULL);
				PB_LDDW(&pb, a, 0x80000000deadbeefULL);
				PB(&pb, MOV32_REG, dst, a, 0, 0);
				PB(&pb, ADD32_REG, dst, bsrc, 0, 0);
				PB(&pb, MOV64_REG, 0, dst, 0, 0);
				PB(&pb, EXIT, 0, 0, 0, 0);
				struct engine_result ri, rj;
				CHECK_EQ(run_engines(vm, pb.insns, pb.n, NULL, 0, &ri, &rj, NULL, NULL, &verified), 0);
				char what[64];
				snprintf(what, sizeof(what), "w%d = w%d; w%d += w%d", dst, a, dst, bsrc);
				same(what, &ri, &rj);
				CHECK_EQ(rj.r0, bsrc == a ? 0xbd5b7ddeULL : 0xdeadbee7ULL);
			}
	bpfvm_vm_destroy(vm);
}

/* `if r == 0` / `!= 0` right after an ALU op on r (moves, loads and stores
 * in between) reuses the op's flags: every width pairing, results whose
 * low or high half alone is zero, and a path that reaches the test from
 * elsewhere with other flags. */
TEST(zero_tests_after_alu_ops_match_the_interpreter)
{
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	static const enum bpfvm_opid alus[] = {BPFVM_OP_ADD64_IMM, BPFVM_OP_ADD32_IMM, BPFVM_OP_SUB64_REG,
					       BPFVM_OP_SUB32_REG, BPFVM_OP_AND64_IMM, BPFVM_OP_XOR32_IMM,
					       BPFVM_OP_OR64_REG, BPFVM_OP_AND32_IMM};
	static const enum bpfvm_opid tests[] = {BPFVM_OP_JEQ_IMM, BPFVM_OP_JNE_IMM, BPFVM_OP_JEQ32_IMM,
						BPFVM_OP_JNE32_IMM};
	static const uint64_t starts[] = {0, 1, 0x100000000ULL, 0xffffffffULL, 0x1ffffffffULL, (uint64_t)-1};
	static const int32_t operands[] = {-1, 1, 0, 0xff};
	for (size_t a = 0; a < sizeof(alus) / sizeof(alus[0]); a++)
		for (size_t t = 0; t < sizeof(tests) / sizeof(tests[0]); t++)
			for (size_t v = 0; v < sizeof(starts) / sizeof(starts[0]); v++)
				for (size_t k = 0; k < sizeof(operands) / sizeof(operands[0]); k++)
					for (int other_path = 0; other_path < 2; other_path++) {
						struct prog_builder pb = {.n = 0};
						PB(&pb, MOV64_IMM, 0, 0, 0, 1);
						PB_LDDW(&pb, 6, starts[v]);
						PB_LDDW(&pb, 7, (uint64_t)(int64_t)operands[k]);
						PB(&pb, STX_DW, 10, 6, -8, 0);
						/* with other_path: straight to the test, past the op */
						PB(&pb, JNE_IMM, 0, 0, other_path ? 4 : 0, 0);
						pb_add(&pb, alus[a], 6, 7, 0, operands[k], 0);
						PB(&pb, MOV64_REG, 8, 7, 0, 0);
						PB(&pb, LDX_DW, 9, 10, -8, 0);
						PB(&pb, STX_DW, 10, 8, -16, 0);
						pb_add(&pb, tests[t], 6, 0, 1, 0, 0);
						PB(&pb, MOV64_IMM, 0, 0, 0, 2);
						PB(&pb, EXIT, 0, 0, 0, 0);
						struct engine_result ri, rj;
						CHECK_EQ(run_engines(vm, pb.insns, pb.n, NULL, 0, &ri, &rj, NULL, NULL, &verified), 0);
						char what[128];
						snprintf(what, sizeof(what), "%s then %s, r6=0x%" PRIx64 " op %d other_path %d",
							 bpfvm_isa_table()[alus[a]].id, bpfvm_isa_table()[tests[t]].id, starts[v],
							 operands[k], other_path);
						same(what, &ri, &rj);
					}
	bpfvm_vm_destroy(vm);
}

/* `x = a; x += b; y = *(size *)(x + off)` loads from [a + b + off]: every
 * size, zero and sign extension, y the sum's register or another (then x
 * keeps the sum when it is read later, and a later load through x uses
 * it too), bases that need a displacement byte in x86 (r7 = r13,
 * r10 = rbp). */
TEST(indexed_loads_match_the_interpreter)
{
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	static const enum bpfvm_opid loads[] = {BPFVM_OP_LDX_B, BPFVM_OP_LDX_H, BPFVM_OP_LDX_W, BPFVM_OP_LDX_DW,
						BPFVM_OP_LDXSX_B, BPFVM_OP_LDXSX_H, BPFVM_OP_LDXSX_W};
	static const int bases[] = {10, 7};
	static const int dsts[] = {3, 0, 2, 7}; /* x itself, another, b, a (when a is r7) */
	static const int16_t offs[] = {0, 8, 200};
	for (size_t l = 0; l < sizeof(loads) / sizeof(loads[0]); l++)
		for (size_t bi = 0; bi < 2; bi++)
			for (size_t di = 0; di < sizeof(dsts) / sizeof(dsts[0]); di++)
				for (size_t o = 0; o < sizeof(offs) / sizeof(offs[0]); o++) {
					int a = bases[bi], y = dsts[di];
					if (y == 7 && a != 7)
						continue;
					struct prog_builder pb = {.n = 0};
					for (int k = 1; k <= 64; k++) /* the frame: bytes 0x80 + k */
						PB(&pb, ST_DW, 10, 0, -8 * k, (int32_t)(0x81828384u + 0x01010101u * (uint32_t)k));
					PB(&pb, MOV64_REG, 7, 10, 0, 0);
					PB(&pb, MOV64_IMM, 2, 0, 0, -496);
					PB(&pb, MOV64_REG, 3, a, 0, 0);
					PB(&pb, ADD64_REG, 3, 2, 0, 0);
					pb_add(&pb, loads[l], y, 3, offs[o], 0, 0);
					if (y == 3)
						PB(&pb, MOV64_IMM, 4, 0, 0, 0);
					else if (o == 0) /* the sum is kept: a second load through it */
						pb_add(&pb, loads[l], 4, 3, offs[o] + 8, 0, 0);
					else if (o == 1) { /* read a little later */
						PB(&pb, MOV64_IMM, 5, 0, 0, 1);
						PB(&pb, LDX_B, 4, 3, 3, 0);
					} else { /* overwritten first: no sum needed */
						PB(&pb, MOV64_IMM, 5, 0, 0, 1);
						PB(&pb, LDX_DW, 3, 10, -8, 0);
						PB(&pb, MOV64_REG, 4, 3, 0, 0);
					}
					PB(&pb, LSH64_IMM, 4, 0, 0, 7);
					PB(&pb, MOV64_REG, 0, y, 0, 0);
					PB(&pb, XOR64_REG, 0, 4, 0, 0);
					PB(&pb, EXIT, 0, 0, 0, 0);
					struct engine_result ri, rj;
					CHECK_EQ(run_engines(vm, pb.insns, pb.n, NULL, 0, &ri, &rj, NULL, NULL, &verified), 0);
					char what[96];
					snprintf(what, sizeof(what), "%s base r%d into r%d off %d", bpfvm_isa_table()[loads[l]].id,
						 a, y, offs[o]);
					same(what, &ri, &rj);
				}
	bpfvm_vm_destroy(vm);
}

/* Masks and zero extensions the JIT drops when the value cannot have the
 * bits they clear (after 1/2/4-byte loads, small constants, and/or/xor
 * of such, 32-bit ops): every combination of a producer, a combiner and a
 * mask or extension, and a jump that brings a wide value to the mask
 * from elsewhere. */
TEST(masks_and_zero_extensions_of_narrow_values_match_the_interpreter)
{
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	static const enum bpfvm_opid producers[] = {BPFVM_OP_LDX_B, BPFVM_OP_LDX_H, BPFVM_OP_LDX_W, BPFVM_OP_LDX_DW,
						    BPFVM_OP_LDXSX_B, BPFVM_OP_MOV64_IMM, BPFVM_OP_MOV32_IMM,
						    BPFVM_OP_ADD32_IMM, BPFVM_OP_MOVSX8_32};
	static const enum bpfvm_opid combiners[] = {BPFVM_OP_MOV64_REG, BPFVM_OP_XOR64_REG, BPFVM_OP_OR32_REG,
						    BPFVM_OP_AND64_REG, BPFVM_OP_OR64_IMM, BPFVM_OP_XOR64_IMM,
						    BPFVM_OP_AND64_IMM, BPFVM_OP_MOV32_REG};
	static const int32_t imms[] = {0xff, 0x7fffffff, -1, 0x100, -128};
	static const struct { enum bpfvm_opid id; int32_t imm; } masks[] = {
		{BPFVM_OP_AND64_IMM, 0xff}, {BPFVM_OP_AND64_IMM, 0xffff}, {BPFVM_OP_AND32_IMM, 0xff},
		{BPFVM_OP_AND64_IMM, 0x7f}, {BPFVM_OP_AND32_IMM, 0x7fffffff}, {BPFVM_OP_MOV32_REG, 0},
		{BPFVM_OP_LSH64_IMM, 32},
	};
	for (size_t p = 0; p < sizeof(producers) / sizeof(producers[0]); p++)
		for (size_t cmb = 0; cmb < sizeof(combiners) / sizeof(combiners[0]); cmb++)
			for (size_t m = 0; m < sizeof(masks) / sizeof(masks[0]); m++)
				for (size_t i = 0; i < sizeof(imms) / sizeof(imms[0]); i++)
					for (int wide_path = 0; wide_path < 2; wide_path++) {
						struct prog_builder pb = {.n = 0};
						PB_LDDW(&pb, 1, 0xf1e2d3c4b5a69788ULL);
						PB(&pb, STX_DW, 10, 1, -8, 0);
						PB_LDDW(&pb, 6, 0x8877665544332211ULL);
						PB_LDDW(&pb, 7, (uint64_t)(int64_t)imms[i] ^ 0xff00000000ULL);
						PB(&pb, MOV64_IMM, 8, 0, 0, wide_path);
						/* with wide_path: straight to the mask, r6 still wide */
						PB(&pb, JNE_IMM, 8, 0, 3, 0);
						if (bpfvm_isa_table()[producers[p]].kind != BPFVM_KIND_ALU)
							pb_add(&pb, producers[p], 6, 10, -8, 0, 0);
						else
							pb_add(&pb, producers[p], 6, 7, producers[p] == BPFVM_OP_MOVSX8_32 ? 8 : 0, imms[i], 0);
						pb_add(&pb, combiners[cmb], 6, 7, 0, imms[i], 0);
						PB(&pb, MOV64_IMM, 9, 0, 0, 0);
						pb_add(&pb, masks[m].id, 6, 6, 0, masks[m].imm, 0);
						if (masks[m].id == BPFVM_OP_LSH64_IMM)
							PB(&pb, RSH64_IMM, 6, 0, 0, 32);
						PB(&pb, MOV64_REG, 0, 6, 0, 0);
						PB(&pb, EXIT, 0, 0, 0, 0);
						struct engine_result ri, rj;
						int rc = run_engines(vm, pb.insns, pb.n, NULL, 0, &ri, &rj, NULL, NULL, &verified);
						char what[160];
						snprintf(what, sizeof(what), "%s, %s imm %d, %s %d, wide path %d",
							 bpfvm_isa_table()[producers[p]].id, bpfvm_isa_table()[combiners[cmb]].id,
							 imms[i], bpfvm_isa_table()[masks[m].id].id, masks[m].imm, wide_path);
						if (rc)
							harness_fail(__FILE__, __LINE__, "%s: load failed %d", what, rc);
						else
							same(what, &ri, &rj);
					}
	bpfvm_vm_destroy(vm);
}

/* Multiplications by constants done without imul (shifts for powers of
 * two, lea for 3, 5 and 9) wrap and zero-extend as imul does, on every
 * mapped register (r7 = r13 needs lea's displacement byte). */
TEST(multiplications_by_small_constants_match_the_interpreter)
{
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	static const int32_t factors[] = {1, 2, 3, 4, 5, 8, 9, 16, 0x40000000, 6, -3, 0};
	static const enum bpfvm_opid ops[] = {BPFVM_OP_MUL64_IMM, BPFVM_OP_MUL32_IMM};
	for (size_t o = 0; o < 2; o++)
		for (size_t f = 0; f < sizeof(factors) / sizeof(factors[0]); f++)
			for (int reg = 0; reg <= 9; reg++)
				for (size_t v = 0; v < NVALUES; v += 2) {
					struct prog_builder pb = {.n = 0};
					PB_LDDW(&pb, reg, values[v] ^ 0x0123456789abcdefULL);
					pb_add(&pb, ops[o], reg, 0, 0, factors[f], 0);
					PB(&pb, MOV64_REG, 0, reg, 0, 0);
					PB(&pb, EXIT, 0, 0, 0, 0);
					struct engine_result ri, rj;
					CHECK_EQ(run_engines(vm, pb.insns, pb.n, NULL, 0, &ri, &rj, NULL, NULL, &verified), 0);
					char what[96];
					snprintf(what, sizeof(what), "%s r%d by %d v#%zu", bpfvm_isa_table()[ops[o]].id, reg,
						 factors[f], v);
					same(what, &ri, &rj);
				}
	bpfvm_vm_destroy(vm);
}
