/* The x86-64 JIT gives the interpreter's results: every ALU, jump, memory
 * and atomic row of the opcode table on edge-case operands, calls, faults
 * of checked mode, constant blinding and the code memory's protection. */
#include <inttypes.h>
#include <stdio.h>

#include "jit/jit.h"
#include "jit_test_util.h"

static const uint64_t edge_values[] = {
	0, 1, 2, 3, 7, 31, 32, 63, 64, 0x7f, 0x80, 0xff, 0x8000, 0xffff,
	0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ULL, 0x7fffffffffffffffULL,
	0x8000000000000000ULL, 0xffffffffffffffffULL, 0xfffffffffffffffeULL,
	0xffffffff80000000ULL, 0x123456789abcdef0ULL, 0xfedcba9876543210ULL, (uint64_t)-7,
};
#define NVALUES (sizeof(edge_values) / sizeof(edge_values[0]))

static const int32_t edge_imms[] = {0, 1, -1, 2, 3, 7, 8, 31, 32, 63, 64, -7, 0x7fffffff, INT32_MIN, 0x1234, -128, 127};
#define NIMMS (sizeof(edge_imms) / sizeof(edge_imms[0]))

/* Register pairs that hit the x86 special cases: rax/rdx for div, rcx for
 * shifts, the same register on both sides, r5 (r8) and r9 (r15). */
static const int reg_pairs[][2] = {{0, 1}, {1, 0}, {3, 2}, {2, 3}, {4, 1}, {1, 4}, {0, 3}, {3, 0}, {6, 6}, {5, 9}, {9, 4}, {4, 4}};
#define NPAIRS (sizeof(reg_pairs) / sizeof(reg_pairs[0]))

static int compare(const char *what, const struct engine_result *a, const struct engine_result *b)
{
	if (a->rc == b->rc && a->r0 == b->r0)
		return 1;
	harness_fail(__FILE__, __LINE__, "%s: interp rc %d r0 0x%" PRIx64 " (%s), jit rc %d r0 0x%" PRIx64 " (%s)",
		     what, a->rc, a->r0, a->error, b->rc, b->r0, b->error);
	return 0;
}

/* r0 = result of `dst op src|imm` with the destination's other registers
 * set, folded so every register that could be clobbered shows. */
static void check_alu_row(struct bpfvm_vm *vm, const struct bpfvm_opinfo *row, enum bpfvm_opid id)
{
	int fails = 0;
	for (size_t p = 0; p < NPAIRS && fails < 3; p++) {
		int dst = reg_pairs[p][0], src = reg_pairs[p][1];
		for (size_t a = 0; a < NVALUES && fails < 3; a++) {
			size_t nb = (row->flags & BPFVM_F_REG_SRC) ? NVALUES : NIMMS;
			/* Three second operands per first one, rotating so that every
			 * pair of edge values meets across the register pairs (all
			 * of them would take minutes under the sanitizers). */
			for (size_t k = 0; k < 3 && fails < 3; k++) {
				size_t bi = (a * 5 + k * 7 + p * 3) % nb;
				struct prog_builder pb = {.n = 0};
				for (int r = 0; r <= 9; r++)
					PB_LDDW(&pb, r, 0x1111111111111111ULL * (uint64_t)(r + 1));
				uint64_t bval = (row->flags & BPFVM_F_REG_SRC) ? edge_values[bi] : 0;
				int32_t imm = (row->flags & BPFVM_F_REG_SRC) ? 0 : edge_imms[bi];
				if (row->flags & BPFVM_F_REG_SRC)
					PB_LDDW(&pb, src, bval);
				if (dst != src || !(row->flags & BPFVM_F_REG_SRC))
					PB_LDDW(&pb, dst, edge_values[a]);
				int off = row->match == BPFVM_MATCH_OFF ? row->match_val : 0;
				pb_add(&pb, id, dst, (row->flags & BPFVM_F_REG_SRC) ? src : 0, off,
				       row->kind == BPFVM_KIND_END ? row->match_val : imm, 0);
				/* r0 = dst ^ rotate-mix of all other registers */
				PB(&pb, MOV64_REG, 0, dst, 0, 0);
				for (int r = 1; r <= 9; r++) {
					PB(&pb, LSH64_IMM, 0, 0, 0, 3);
					PB(&pb, XOR64_REG, 0, r, 0, 0);
				}
				PB(&pb, EXIT, 0, 0, 0, 0);
				/* dst's own value, unmixed, in r0 first */
				struct engine_result ri, rj;
				int rc = run_engines(vm, pb.insns, pb.n, NULL, 0, &ri, &rj, NULL, NULL, NULL);
				if (rc) {
					harness_fail(__FILE__, __LINE__, "%s: load: %s", row->id, bpfvm_vm_last_error(vm));
					fails++;
					continue;
				}
				char what[128];
				snprintf(what, sizeof(what), "%s r%d, r%d: a=0x%" PRIx64 " b=0x%" PRIx64 " imm=%d",
					 row->id, dst, src, edge_values[a], bval, imm);
				if (!compare(what, &ri, &rj))
					fails++;
			}
		}
	}
}

TEST(every_alu_and_byteswap_row_matches_the_interpreter)
{
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	const struct bpfvm_opinfo *t = bpfvm_isa_table();
	int rows = 0;
	for (size_t i = 0; i < bpfvm_isa_table_size(); i++) {
		if (t[i].kind != BPFVM_KIND_ALU && t[i].kind != BPFVM_KIND_END)
			continue;
		check_alu_row(vm, &t[i], (enum bpfvm_opid)i);
		rows++;
	}
	CHECK(rows > 60);
	bpfvm_vm_destroy(vm);
}

TEST(every_conditional_jump_row_matches_the_interpreter)
{
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	const struct bpfvm_opinfo *t = bpfvm_isa_table();
	for (size_t i = 0; i < bpfvm_isa_table_size(); i++) {
		if (t[i].kind != BPFVM_KIND_JCOND)
			continue;
		int fails = 0;
		for (size_t a = 0; a < NVALUES && fails < 3; a++) {
			size_t nb = (t[i].flags & BPFVM_F_REG_SRC) ? NVALUES : NIMMS;
			for (size_t b = 0; b < nb && fails < 3; b++) {
				struct prog_builder pb = {.n = 0};
				PB(&pb, MOV64_IMM, 0, 0, 0, 1);
				PB_LDDW(&pb, 3, edge_values[a]);
				PB_LDDW(&pb, 4, (t[i].flags & BPFVM_F_REG_SRC) ? edge_values[b] : 0);
				pb_add(&pb, (enum bpfvm_opid)i, 3, 4, 1, (t[i].flags & BPFVM_F_REG_SRC) ? 0 : edge_imms[b], 0);
				PB(&pb, MOV64_IMM, 0, 0, 0, 2);
				PB(&pb, EXIT, 0, 0, 0, 0);
				struct engine_result ri, rj;
				CHECK_EQ(run_engines(vm, pb.insns, pb.n, NULL, 0, &ri, &rj, NULL, NULL, NULL), 0);
				char what[128];
				snprintf(what, sizeof(what), "%s a=0x%" PRIx64 " b=%zu", t[i].id, edge_values[a], b);
				if (!compare(what, &ri, &rj))
					fails++;
			}
		}
	}
	bpfvm_vm_destroy(vm);
}

/* Loads, sign-extending loads, stores of registers and immediates, on the
 * context and on the stack, for every size and a few offsets. */
TEST(memory_rows_match_the_interpreter_on_stack_and_context)
{
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	const struct bpfvm_opinfo *t = bpfvm_isa_table();
	uint8_t mem[64], out_i[64], out_j[64];
	for (int i = 0; i < 64; i++)
		mem[i] = (uint8_t)(0x81 + i * 37);
	for (size_t i = 0; i < bpfvm_isa_table_size(); i++) {
		int kind = t[i].kind;
		if (kind != BPFVM_KIND_LDX && kind != BPFVM_KIND_LDXSX && kind != BPFVM_KIND_ST &&
		    kind != BPFVM_KIND_STX)
			continue;
		for (int on_stack = 0; on_stack < 2; on_stack++) {
			for (int off = 0; off < 16; off += 3) {
				struct prog_builder pb = {.n = 0};
				int base = on_stack ? 10 : 6;
				int o = on_stack ? -32 + off : off;
				PB(&pb, MOV64_REG, 6, 1, 0, 0);
				PB_LDDW(&pb, 7, 0x8899aabbccddeeffULL);
				if (on_stack) { /* fill the stack slot from memory first */
					for (int k = 0; k < 4; k++) {
						PB(&pb, LDX_DW, 2, 1, k * 8, 0);
						PB(&pb, STX_DW, 10, 2, -32 + k * 8, 0);
					}
				}
				if (kind == BPFVM_KIND_LDX || kind == BPFVM_KIND_LDXSX) {
					pb_add(&pb, (enum bpfvm_opid)i, 0, base, o, 0, 0);
				} else {
					pb_add(&pb, (enum bpfvm_opid)i, base, 7, o, -0x1234567, 0);
					PB(&pb, LDX_DW, 0, base, on_stack ? -32 : 0, 0);
					PB(&pb, LDX_DW, 3, base, on_stack ? -24 : 8, 0);
					PB(&pb, XOR64_REG, 0, 3, 0, 0);
				}
				PB(&pb, EXIT, 0, 0, 0, 0);
				struct engine_result ri, rj;
				CHECK_EQ(run_engines(vm, pb.insns, pb.n, mem, sizeof(mem), &ri, &rj, out_i, out_j, NULL), 0);
				char what[96];
				snprintf(what, sizeof(what), "%s %s off %d", t[i].id, on_stack ? "stack" : "ctx", o);
				compare(what, &ri, &rj);
				if (memcmp(out_i, out_j, sizeof(out_i)))
					harness_fail(__FILE__, __LINE__, "%s: memory differs", what);
			}
		}
	}
	bpfvm_vm_destroy(vm);
}

TEST(every_atomic_row_matches_the_interpreter)
{
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	const struct bpfvm_opinfo *t = bpfvm_isa_table();
	uint8_t mem[32], out_i[32], out_j[32];
	const int pairs[][3] = {{1, 2, 0}, {1, 0, 0}, {0, 3, 0}, {6, 0, 0}, {1, 2, 8}, {2, 4, 16}};
	for (size_t i = 0; i < bpfvm_isa_table_size(); i++) {
		if (t[i].kind != BPFVM_KIND_ATOMIC)
			continue;
		for (size_t p = 0; p < sizeof(pairs) / sizeof(pairs[0]); p++) {
			for (int cmp_equal = 0; cmp_equal < 2; cmp_equal++) {
				int base = pairs[p][0], src = pairs[p][1], off = pairs[p][2];
				for (int k = 0; k < 32; k++)
					mem[k] = (uint8_t)(0x35 + k * 11);
				struct prog_builder pb = {.n = 0};
				PB(&pb, MOV64_REG, base, 1, 0, 0);
				if (src != base)
					PB_LDDW(&pb, src, 0xf0f0f0f00ff00ff0ULL);
				if (src != 0 && base != 0) {
					if (cmp_equal)
						PB(&pb, LDX_DW, 0, base, off, 0);
					else
						PB_LDDW(&pb, 0, 0x1234);
				}
				pb_add(&pb, (enum bpfvm_opid)i, base, src, off, t[i].match_val, 0);
				/* r0 ^= src ^ memory (r0 and src unless they hold the pointer) */
				if (base == 0)
					PB(&pb, MOV64_IMM, 0, 0, 0, 0);
				PB(&pb, LSH64_IMM, 0, 0, 0, 1);
				if (src != base)
					PB(&pb, XOR64_REG, 0, src, 0, 0);
				PB(&pb, LDX_DW, 5, 1, off, 0);
				PB(&pb, XOR64_REG, 0, 5, 0, 0);
				PB(&pb, EXIT, 0, 0, 0, 0);
				struct engine_result ri, rj;
				CHECK_EQ(run_engines(vm, pb.insns, pb.n, mem, sizeof(mem), &ri, &rj, out_i, out_j, NULL), 0);
				char what[96];
				snprintf(what, sizeof(what), "%s base r%d src r%d off %d eq %d", t[i].id, base, src, off, cmp_equal);
				compare(what, &ri, &rj);
				if (memcmp(out_i, out_j, sizeof(out_i)))
					harness_fail(__FILE__, __LINE__, "%s: memory differs", what);
			}
		}
	}
	bpfvm_vm_destroy(vm);
}

static struct engine_result run_jit(struct bpfvm_vm *vm, struct prog_builder *pb, void *mem, size_t len,
				    const struct bpfvm_prog_opts *opts)
{
	struct engine_result ri, rj;
	uint8_t a[256], b[256];
	int rc = run_engines(vm, pb->insns, pb->n, mem, len, &ri, &rj, a, b, opts);
	if (rc) {
		rj.rc = rc;
		snprintf(rj.error, sizeof(rj.error), "load: %s", bpfvm_vm_last_error(vm));
		return rj;
	}
	compare("run", &ri, &rj);
	return rj;
}

TEST(bpf_to_bpf_calls_keep_r6_to_r9_and_get_their_own_frame)
{
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	struct prog_builder pb = {.n = 0};
	PB(&pb, MOV64_IMM, 6, 0, 0, 6);
	PB(&pb, MOV64_IMM, 9, 0, 0, 9);
	PB(&pb, ST_DW, 10, 0, -8, 100);
	PB(&pb, MOV64_IMM, 1, 0, 0, 5);
	PB(&pb, CALL_LOCAL, 0, 1, 0, 5);     /* -> sub at 10 */
	PB(&pb, ADD64_REG, 0, 6, 0, 0);      /* + 6 */
	PB(&pb, ADD64_REG, 0, 9, 0, 0);      /* + 9 */
	PB(&pb, LDX_DW, 1, 10, -8, 0);
	PB(&pb, ADD64_REG, 0, 1, 0, 0);      /* + 100 */
	PB(&pb, EXIT, 0, 0, 0, 0);
	/* sub(r1): clobbers r6, r9 and its own stack slot, returns r1 * 3 */
	PB(&pb, MOV64_IMM, 6, 0, 0, 1000);
	PB(&pb, MOV64_IMM, 9, 0, 0, 1000);
	PB(&pb, ST_DW, 10, 0, -8, 555);
	PB(&pb, MOV64_REG, 0, 1, 0, 0);
	PB(&pb, MUL64_IMM, 0, 0, 0, 3);
	PB(&pb, EXIT, 0, 0, 0, 0);
	struct engine_result r = run_jit(vm, &pb, NULL, 0, NULL);
	CHECK_EQ(r.rc, 0);
	CHECK_EQ(r.r0, 15 + 6 + 9 + 100);
	bpfvm_vm_destroy(vm);
}

TEST(checked_mode_stops_recursion_at_eight_frames)
{
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	struct prog_builder pb = {.n = 0};
	PB(&pb, CALL_LOCAL, 0, 1, 0, -1); /* calls itself forever */
	PB(&pb, EXIT, 0, 0, 0, 0);
	struct engine_result r = run_jit(vm, &pb, NULL, 0, NULL);
	CHECK_EQ(r.rc, -E2BIG);
	CHECK_CONTAINS(r.error, "insn 0: call depth exceeds 8 frames");
	bpfvm_vm_destroy(vm);
}

TEST(checked_mode_faults_name_the_instruction)
{
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	uint8_t mem[16] = {0};
	struct prog_builder pb = {.n = 0};
	PB(&pb, MOV64_IMM, 0, 0, 0, 0);
	PB(&pb, LDX_DW, 0, 1, 9, 0); /* one byte past the end */
	PB(&pb, EXIT, 0, 0, 0, 0);
	struct engine_result r = run_jit(vm, &pb, mem, sizeof(mem), NULL);
	CHECK_EQ(r.rc, -EFAULT);
	CHECK_CONTAINS(r.error, "insn 1: invalid read of 8 bytes");

	pb.n = 0; /* write into a frame that is not in use */
	PB(&pb, ST_W, 10, 0, 0, 1);
	PB(&pb, EXIT, 0, 0, 0, 0);
	r = run_jit(vm, &pb, mem, sizeof(mem), NULL);
	CHECK_EQ(r.rc, -EFAULT);
	CHECK_CONTAINS(r.error, "insn 0: invalid write of 4 bytes");

	pb.n = 0; /* a wild pointer is refused, not dereferenced */
	PB_LDDW(&pb, 2, 0xdead0000beef0000ULL);
	PB(&pb, STX_DW, 2, 2, 0, 0);
	PB(&pb, EXIT, 0, 0, 0, 0);
	r = run_jit(vm, &pb, mem, sizeof(mem), NULL);
	CHECK_EQ(r.rc, -EFAULT);
	CHECK_CONTAINS(r.error, "insn 2: invalid write of 8 bytes at 0xdead0000beef0000");

	pb.n = 0; /* misaligned atomic */
	PB(&pb, MOV64_IMM, 2, 0, 0, 1);
	PB(&pb, ATOMIC64_ADD, 1, 2, 4, 0);
	PB(&pb, EXIT, 0, 0, 0, 0);
	r = run_jit(vm, &pb, mem, sizeof(mem), NULL);
	CHECK_EQ(r.rc, -EFAULT);
	CHECK_CONTAINS(r.error, "insn 1: misaligned atomic access");

	pb.n = 0; /* endless loop */
	PB(&pb, MOV64_IMM, 0, 0, 0, 0);
	PB(&pb, ADD64_IMM, 0, 0, 0, 1);
	PB(&pb, JA, 0, 0, -2, 0);
	r = run_jit(vm, &pb, mem, sizeof(mem), NULL);
	CHECK_EQ(r.rc, -E2BIG);
	CHECK_CONTAINS(r.error, "instruction budget of 1000000 exhausted");

	pb.n = 0; /* unknown helper */
	PB(&pb, CALL_HELPER, 0, 0, 0, 999999);
	PB(&pb, EXIT, 0, 0, 0, 0);
	r = run_jit(vm, &pb, mem, sizeof(mem), NULL);
	CHECK_EQ(r.rc, -EINVAL);
	CHECK_CONTAINS(r.error, "insn 0: call to unknown helper 999999");

	pb.n = 0; /* running past the end */
	PB(&pb, MOV64_IMM, 0, 0, 0, 0);
	r = run_jit(vm, &pb, mem, sizeof(mem), NULL);
	CHECK_EQ(r.rc, -EINVAL);
	CHECK_CONTAINS(r.error, "insn 1: fell off the end of the program");
	bpfvm_vm_destroy(vm);
}

static uint64_t host_sum(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
			 struct bpfvm_call_ctx *cc)
{
	struct bpfvm_run *run = bpfvm_call_run(cc);
	return r1 + 2 * r2 + 3 * r3 + 4 * r4 + 5 * r5 + (run->user ? 1000 : 0);
}

TEST(helper_calls_pass_r1_to_r5_and_the_call_context)
{
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	struct bpfvm_helper h = BPFVM_HELPER(100000, "host_sum", host_sum, BPFVM_RET_INTEGER,
					     BPFVM_ARG_ANYTHING, BPFVM_ARG_ANYTHING, BPFVM_ARG_ANYTHING,
					     BPFVM_ARG_ANYTHING, BPFVM_ARG_ANYTHING);
	CHECK_EQ(bpfvm_vm_register_helper(vm, &h), 0);
	struct prog_builder pb = {.n = 0};
	PB(&pb, MOV64_IMM, 6, 0, 0, 77);
	for (int r = 1; r <= 5; r++)
		PB(&pb, MOV64_IMM, r, 0, 0, r * 10);
	PB(&pb, CALL_HELPER, 0, 0, 0, 100000);
	PB(&pb, ADD64_REG, 0, 6, 0, 0);
	PB(&pb, EXIT, 0, 0, 0, 0);
	struct bpfvm_prog_opts opts = {.safety = BPFVM_SAFETY_CHECKED, .engine = BPFVM_ENGINE_JIT};
	struct bpfvm_prog *prog;
	CHECK_EQ(bpfvm_prog_load(vm, pb.insns, pb.n, &opts, &prog), 0);
	struct bpfvm_run run = {.engine = BPFVM_ENGINE_JIT, .user = &run};
	CHECK_EQ(bpfvm_prog_run(prog, &run), 0);
	CHECK_EQ(run.retval, 10 + 40 + 90 + 160 + 250 + 1000 + 77);
	bpfvm_prog_destroy(prog);
	bpfvm_vm_destroy(vm);
}

TEST(legacy_packet_loads_are_big_endian_and_end_the_run_when_out_of_range)
{
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	uint8_t pkt[8] = {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0};
	struct prog_builder pb = {.n = 0};
	PB(&pb, MOV64_IMM, 7, 0, 0, 2);
	PB(&pb, MOV64_IMM, 1, 0, 0, 11);
	PB(&pb, LDABS_W, 0, 0, 0, 1);      /* 0x3456789a */
	PB(&pb, MOV64_REG, 6, 0, 0, 0);
	PB(&pb, LDIND_H, 0, 7, 0, 4);      /* pkt[6..7] = 0xdef0 */
	PB(&pb, ADD64_REG, 0, 6, 0, 0);
	PB(&pb, ADD64_REG, 0, 1, 0, 0);    /* r1 survives */
	PB(&pb, EXIT, 0, 0, 0, 0);
	struct bpfvm_prog_opts opts = {.safety = BPFVM_SAFETY_CHECKED};
	struct bpfvm_prog *prog;
	CHECK_EQ(bpfvm_prog_load(vm, pb.insns, pb.n, &opts, &prog), 0);
	for (int e = 0; e < 2; e++) {
		struct bpfvm_run run = {.engine = e ? BPFVM_ENGINE_JIT : BPFVM_ENGINE_INTERP,
					.pkt = pkt, .pkt_len = sizeof(pkt)};
		CHECK_EQ(bpfvm_prog_run(prog, &run), 0);
		CHECK_EQ(run.retval, 0x3456789aULL + 0xdef0 + 11);
		run.pkt_len = 7; /* the LDIND_H now reads past the end */
		CHECK_EQ(bpfvm_prog_run(prog, &run), 0);
		CHECK_EQ(run.retval, 0);
	}
	bpfvm_prog_destroy(prog);
	bpfvm_vm_destroy(vm);
}

static int image_contains(const struct bpfvm_prog *prog, const void *needle, size_t len)
{
	size_t size;
	const uint8_t *img = bpfvm__jit_image(prog, &size, NULL);
	for (size_t i = 0; i + len <= size; i++)
		if (!memcmp(img + i, needle, len))
			return 1;
	return 0;
}

TEST(constant_blinding_keeps_results_and_hides_immediates)
{
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	const int32_t magic = 0x5a5aa5a5;
	struct prog_builder pb = {.n = 0};
	PB(&pb, MOV64_IMM, 0, 0, 0, magic);
	PB(&pb, ADD64_IMM, 0, 0, 0, magic);
	PB(&pb, XOR32_IMM, 0, 0, 0, magic);
	PB(&pb, JEQ_IMM, 0, 0, 1, magic);
	PB(&pb, ST_W, 10, 0, -4, magic);
	PB(&pb, LDX_W, 1, 10, -4, 0);
	PB(&pb, ADD64_REG, 0, 1, 0, 0);
	PB_LDDW(&pb, 2, 0x5a5aa5a55a5aa5a5ULL);
	PB(&pb, ADD64_REG, 0, 2, 0, 0);
	PB(&pb, DIV64_IMM, 0, 0, 0, magic);
	PB(&pb, EXIT, 0, 0, 0, 0);
	for (int blind = 0; blind < 2; blind++) {
		struct bpfvm_prog_opts opts = {.safety = BPFVM_SAFETY_CHECKED, .jit_blind = blind};
		struct bpfvm_prog *prog;
		CHECK_EQ(bpfvm_prog_load(vm, pb.insns, pb.n, &opts, &prog), 0);
		CHECK_EQ(image_contains(prog, &magic, 4), !blind);
		struct bpfvm_run ri = {.engine = BPFVM_ENGINE_INTERP}, rj = {.engine = BPFVM_ENGINE_JIT};
		CHECK_EQ(bpfvm_prog_run(prog, &ri), 0);
		CHECK_EQ(bpfvm_prog_run(prog, &rj), 0);
		CHECK_EQ(rj.retval, ri.retval);
		bpfvm_prog_destroy(prog);
	}
	bpfvm_vm_destroy(vm);
}

/* The image is mapped r-x, never w+x: look it up in /proc/self/maps. */
TEST(code_memory_is_executable_but_not_writable)
{
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	struct prog_builder pb = {.n = 0};
	PB(&pb, MOV64_IMM, 0, 0, 0, 1);
	PB(&pb, EXIT, 0, 0, 0, 0);
	struct bpfvm_prog_opts opts = {.safety = BPFVM_SAFETY_CHECKED};
	struct bpfvm_prog *prog;
	CHECK_EQ(bpfvm_prog_load(vm, pb.insns, pb.n, &opts, &prog), 0);
	uintptr_t img = (uintptr_t)bpfvm__jit_image(prog, NULL, NULL);
	FILE *f = fopen("/proc/self/maps", "r");
	if (!f)
		SKIP("no /proc/self/maps");
	char line[512], perms[8] = "";
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		char p[8];
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, p) == 3 && img >= lo && img < hi)
			snprintf(perms, sizeof(perms), "%s", p);
	}
	fclose(f);
	CHECK_STR(perms, "r-xp");
	bpfvm_prog_destroy(prog);
	bpfvm_vm_destroy(vm);
}

/* Jumps shrink to rel8 where the target is near: a long forward jump and
 * many short ones, all still landing right. */
TEST(short_and_long_jumps_both_land_on_their_targets)
{
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	struct prog_builder pb = {.n = 0};
	PB(&pb, MOV64_IMM, 0, 0, 0, 0);
	PB(&pb, JEQ_IMM, 1, 0, 200, 0);        /* r1 == 0 (no ctx): skip the block */
	for (int i = 0; i < 200; i++)
		PB(&pb, ADD64_IMM, 0, 0, 0, 1000);
	for (int i = 0; i < 50; i++) {          /* r0 += 1 fifty times via short jumps */
		PB(&pb, JA, 0, 0, 1, 0);
		PB(&pb, MOV64_IMM, 0, 0, 0, -1);
		PB(&pb, ADD64_IMM, 0, 0, 0, 1);
	}
	PB(&pb, EXIT, 0, 0, 0, 0);
	struct bpfvm_prog_opts opts = {.safety = BPFVM_SAFETY_CHECKED};
	struct bpfvm_prog *prog;
	CHECK_EQ(bpfvm_prog_load(vm, pb.insns, pb.n, &opts, &prog), 0);
	CHECK(prog->jit->passes >= 2);
	/* a 2-byte jmp per JA: 50 short forms */
	const uint32_t *addrs;
	bpfvm__jit_image(prog, NULL, &addrs);
	CHECK_EQ(addrs[203] - addrs[202], 2);
	struct bpfvm_run run = {.engine = BPFVM_ENGINE_JIT};
	CHECK_EQ(bpfvm_prog_run(prog, &run), 0);
	CHECK_EQ(run.retval, 50);
	bpfvm_prog_destroy(prog);
	bpfvm_vm_destroy(vm);
}

/* Pairs the JIT fuses (zero/sign extension by shifts, mov + add as lea)
 * give the interpreter's results, and are left alone when a jump lands
 * between them. */
TEST(fused_instruction_pairs_match_the_interpreter)
{
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	static const enum bpfvm_opid firsts[] = {BPFVM_OP_LSH64_IMM, BPFVM_OP_LSH64_IMM, BPFVM_OP_MOV64_REG,
						 BPFVM_OP_MOV32_REG, BPFVM_OP_MOV64_REG};
	static const enum bpfvm_opid seconds[] = {BPFVM_OP_RSH64_IMM, BPFVM_OP_ARSH64_IMM, BPFVM_OP_ADD64_IMM,
						  BPFVM_OP_ADD32_IMM, BPFVM_OP_ADD64_REG};
	for (size_t f = 0; f < sizeof(firsts) / sizeof(firsts[0]); f++) {
		for (size_t p = 0; p < NPAIRS; p++) {
			for (size_t v = 0; v < NVALUES; v++) {
				for (int split = 0; split < 2; split++) {
					int dst = reg_pairs[p][0], a = reg_pairs[p][1], bsrc = reg_pairs[(p + 3) % NPAIRS][1];
					struct prog_builder pb = {.n = 0};
					PB_LDDW(&pb, dst, edge_values[v]);
					if (a != dst)
						PB_LDDW(&pb, a, edge_values[(v + 5) % NVALUES]);
					if (bsrc != dst && bsrc != a)
						PB_LDDW(&pb, bsrc, edge_values[(v + 9) % NVALUES]);
					PB(&pb, MOV64_IMM, 8, 0, 0, split);
					/* split: a jump lands on the second of the pair (no
					 * fusion); otherwise on the first (fused) */
					PB(&pb, JNE_IMM, 8, 0, split, 0);
					pb_add(&pb, firsts[f], dst, a, 0, 32, 0);
					pb_add(&pb, seconds[f], dst, bsrc, 0, f >= 2 ? (int32_t)edge_values[(v + 2) % NVALUES] : 32, 0);
					PB(&pb, MOV64_REG, 0, dst, 0, 0);
					PB(&pb, EXIT, 0, 0, 0, 0);
					struct engine_result ri, rj;
					CHECK_EQ(run_engines(vm, pb.insns, pb.n, NULL, 0, &ri, &rj, NULL, NULL, NULL), 0);
					char what[128];
					snprintf(what, sizeof(what), "%s+%s r%d r%d r%d v=%zu split %d",
						 bpfvm_isa_table()[firsts[f]].id, bpfvm_isa_table()[seconds[f]].id,
						 dst, a, bsrc, v, split);
					compare(what, &ri, &rj);
				}
			}
		}
	}
	bpfvm_vm_destroy(vm);
}
