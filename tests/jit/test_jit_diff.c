/* Differential test: random programs generated from the opcode table
 * (random operands, bounded loops, memory accesses in a buffer and on the
 * stack, atomics, helper calls, bpf-to-bpf calls) run through the
 * interpreter and the JIT in checked mode; r0, the buffer, a copy of the
 * stack frame and the error (code and message) must be identical.
 * BPFVM_JIT_DIFF_N sets the number of programs, BPFVM_JIT_DIFF_SEED the seed. */
#include <inttypes.h>
#include <stdlib.h>

#include "jit_test_util.h"

#define DATA_BYTES 64
#define MEM_BYTES (DATA_BYTES + BPFVM_STACK_SIZE) /* data, then the stack copy */
#define HELPER_ID 100001

/* Registers: r1 = the buffer (restored from r9 after calls), r9 = its
 * copy, r8 = loop counter, r10 = frame pointer; the generator writes r0,
 * r2..r7 freely. */
static const int free_regs[] = {0, 2, 3, 4, 5, 6, 7};
#define NFREE 7

static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static uint32_t rnd_below(uint32_t n)
{
	return (uint32_t)(rnd() % n);
}

static uint64_t rnd_value(void)
{
	static const uint64_t edges[] = {0, 1, (uint64_t)-1, 0x80000000, 0x7fffffff,
					 0x8000000000000000ULL, 0xffffffff, 63, 32};
	switch (rnd_below(4)) {
	case 0:
		return edges[rnd_below(9)];
	case 1:
		return rnd_below(100);
	default:
		return rnd();
	}
}

static int32_t rnd_imm(void)
{
	return rnd_below(3) ? (int32_t)rnd_below(70) - 5 : (int32_t)rnd();
}

static int free_reg(void)
{
	return free_regs[rnd_below(NFREE)];
}

static uint64_t mix_helper(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
			   struct bpfvm_call_ctx *cc)
{
	(void)cc;
	return (r1 ? 1 : 0) ^ (r2 * 3) ^ (r3 << 7) ^ (r4 >> 3) ^ (r5 * 0x9e3779b97f4a7c15ULL);
}

/* Rows the generator draws from, by kind. */
static enum bpfvm_opid rows_alu[128], rows_jcond[64], rows_mem[32], rows_atomic[32];
static int n_alu, n_jcond, n_mem, n_atomic;

static void collect_rows(void)
{
	const struct bpfvm_opinfo *t = bpfvm_isa_table();
	for (size_t i = 0; i < bpfvm_isa_table_size(); i++) {
		switch (t[i].kind) {
		case BPFVM_KIND_ALU:
		case BPFVM_KIND_END:
			rows_alu[n_alu++] = (enum bpfvm_opid)i;
			break;
		case BPFVM_KIND_JCOND:
			rows_jcond[n_jcond++] = (enum bpfvm_opid)i;
			break;
		case BPFVM_KIND_LDX:
		case BPFVM_KIND_LDXSX:
		case BPFVM_KIND_ST:
		case BPFVM_KIND_STX:
			rows_mem[n_mem++] = (enum bpfvm_opid)i;
			break;
		case BPFVM_KIND_ATOMIC:
			rows_atomic[n_atomic++] = (enum bpfvm_opid)i;
			break;
		default:
			break;
		}
	}
}

/* An offset for an access of size bytes from base r1 or r10, in range
 * most of the time; aligned when asked (atomics). */
static int16_t rnd_offset(int base, int size, int aligned)
{
	int off;
	if (base == 1)
		off = (int)rnd_below(DATA_BYTES - (uint32_t)size + 1);
	else
		off = -(int)rnd_below(BPFVM_STACK_SIZE - (uint32_t)size + 1) - size;
	if (aligned)
		off &= ~(size - 1);
	if (rnd_below(40) == 0)
		off += (int)rnd_below(2 * BPFVM_STACK_SIZE) - BPFVM_STACK_SIZE; /* maybe out of range */
	return (int16_t)off;
}

static void gen_alu(struct prog_builder *pb)
{
	enum bpfvm_opid id = rows_alu[rnd_below((uint32_t)n_alu)];
	const struct bpfvm_opinfo *row = &bpfvm_isa_table()[id];
	int src = free_reg(); /* never r1/r9: pointer values differ between engines */
	pb_add(pb, id, free_reg(), src, row->match == BPFVM_MATCH_OFF ? row->match_val : 0,
	       row->match == BPFVM_MATCH_IMM ? row->match_val : rnd_imm(), 0);
}

static void gen_mem(struct prog_builder *pb)
{
	enum bpfvm_opid id = rows_mem[rnd_below((uint32_t)n_mem)];
	const struct bpfvm_opinfo *row = &bpfvm_isa_table()[id];
	int base = rnd_below(2) ? 1 : 10;
	int16_t off = rnd_offset(base, row->size, 0);
	if (row->kind == BPFVM_KIND_LDX || row->kind == BPFVM_KIND_LDXSX)
		pb_add(pb, id, free_reg(), base, off, 0, 0);
	else
		pb_add(pb, id, base, free_reg(), off, rnd_imm(), 0);
}

static void gen_atomic(struct prog_builder *pb)
{
	enum bpfvm_opid id = rows_atomic[rnd_below((uint32_t)n_atomic)];
	const struct bpfvm_opinfo *row = &bpfvm_isa_table()[id];
	int base = rnd_below(2) ? 1 : 10;
	int16_t off = rnd_offset(base, row->size, rnd_below(30) != 0);
	pb_add(pb, id, base, free_reg(), off, row->match_val, 0);
}

static void gen_helper_call(struct prog_builder *pb)
{
	for (int r = 2; r <= 5; r++)
		if (rnd_below(2))
			PB_LDDW(pb, r, rnd_value());
	PB(pb, CALL_HELPER, 0, 0, 0, HELPER_ID);
	/* r1..r5 are clobbered by a call (the ABI; the JIT's helpers are C
	 * functions): set them again before any use. */
	PB(pb, MOV64_REG, 1, 9, 0, 0);
	for (int r = 2; r <= 5; r++)
		PB_LDDW(pb, r, rnd_value());
}

/* A straight-line block of n instructions, with short forward jumps that
 * stay inside it. */
static void gen_block(struct prog_builder *pb, int n, int allow_calls, size_t sub_call_slot_marker)
{
	(void)sub_call_slot_marker;
	size_t end_guess = pb->n;
	for (int i = 0; i < n; i++) {
		uint32_t pick = rnd_below(100);
		if (pick < 45) {
			gen_alu(pb);
		} else if (pick < 65) {
			gen_mem(pb);
		} else if (pick < 72) {
			gen_atomic(pb);
		} else if (pick < 80) {
			PB_LDDW(pb, free_reg(), rnd_value());
		} else if (pick < 92 && n - i > 3) {
			/* forward conditional jump over 1..3 of the following insns */
			enum bpfvm_opid id = rows_jcond[rnd_below((uint32_t)n_jcond)];
			int skip = 1 + (int)rnd_below(3);
			pb_add(pb, id, free_reg(), free_reg(), skip, rnd_imm(), 0);
			for (int k = 0; k < skip; k++, i++)
				gen_alu(pb);
		} else if (pick < 96 && allow_calls) {
			gen_helper_call(pb);
		} else {
			gen_alu(pb);
		}
	}
	(void)end_guess;
}

/* main: init, blocks and loops, a call to the subprogram, copy the stack
 * frame into the buffer, exit; then the subprogram. */
static void gen_program(struct prog_builder *pb)
{
	pb->n = 0;
	PB(pb, MOV64_REG, 9, 1, 0, 0);
	for (int i = 0; i < NFREE; i++)
		PB_LDDW(pb, free_regs[i], rnd_value());
	size_t call_sites[4];
	int ncalls = 0;
	int parts = 2 + (int)rnd_below(3);
	for (int p = 0; p < parts; p++) {
		if (rnd_below(2)) {
			/* r8 = 1..4; do { block } while (--r8) */
			PB(pb, MOV64_IMM, 8, 0, 0, 1 + (int32_t)rnd_below(4));
			size_t top = pb->n;
			gen_block(pb, 4 + (int)rnd_below(10), 1, 0);
			PB(pb, SUB64_IMM, 8, 0, 0, 1);
			PB(pb, JNE_IMM, 8, 0, (int)top - (int)pb->n - 1, 0);
		} else {
			gen_block(pb, 4 + (int)rnd_below(12), 1, 0);
		}
		if (ncalls < 4 && rnd_below(3) == 0)
			call_sites[ncalls++] = PB(pb, CALL_LOCAL, 0, 1, 0, 0);
	}
	/* copy the frame to mem[DATA_BYTES..] */
	for (int k = 0; k < BPFVM_STACK_SIZE / 8; k++) {
		PB(pb, LDX_DW, 2, 10, -BPFVM_STACK_SIZE + k * 8, 0);
		PB(pb, STX_DW, 1, 2, DATA_BYTES + k * 8, 0);
	}
	PB(pb, EXIT, 0, 0, 0, 0);
	size_t sub = pb->n;
	/* subprogram: its own frame, r6/r7 clobbered (restored by the call) */
	PB(pb, MOV64_IMM, 6, 0, 0, (int32_t)rnd());
	PB(pb, ST_DW, 10, 0, -8, (int32_t)rnd());
	gen_block(pb, 3 + (int)rnd_below(6), 0, 0);
	PB(pb, LDX_DW, 7, 10, -8, 0);
	PB(pb, ADD64_REG, 0, 7, 0, 0);
	PB(pb, EXIT, 0, 0, 0, 0);
	for (int i = 0; i < ncalls; i++)
		pb->insns[call_sites[i]].imm = (int32_t)((int64_t)sub - (int64_t)call_sites[i] - 1);
}

/* Fault messages name addresses, which differ between the engines'
 * stacks and buffers: compare them without. */
static void strip_addresses(char *msg)
{
	char *p = strstr(msg, " at 0x");
	if (!p)
		return;
	char *end = p + 6;
	while ((*end >= '0' && *end <= '9') || (*end >= 'a' && *end <= 'f'))
		end++;
	memmove(p, end, strlen(end) + 1);
}

TEST(random_programs_behave_identically_in_interpreter_and_jit)
{
	collect_rows();
	const char *s = getenv("BPFVM_JIT_DIFF_SEED");
	uint64_t seed = s ? strtoull(s, NULL, 0) : 0x5eed1234abcdULL;
	const char *ns = getenv("BPFVM_JIT_DIFF_N");
	int count = ns ? atoi(ns) : 3000;
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	struct bpfvm_helper h = BPFVM_HELPER(HELPER_ID, "mix", mix_helper, BPFVM_RET_INTEGER,
					     BPFVM_ARG_ANYTHING, BPFVM_ARG_ANYTHING, BPFVM_ARG_ANYTHING,
					     BPFVM_ARG_ANYTHING, BPFVM_ARG_ANYTHING);
	CHECK_EQ(bpfvm_vm_register_helper(vm, &h), 0);
	static struct prog_builder pb;
	int failures = 0, faults = 0;
	for (int i = 0; i < count && failures < 5; i++) {
		rng_state = seed + (uint64_t)i * 0x9e3779b97f4a7c15ULL;
		rng_state |= 1;
		gen_program(&pb);
		uint8_t mem[MEM_BYTES], out_i[MEM_BYTES], out_j[MEM_BYTES];
		for (size_t k = 0; k < DATA_BYTES; k++)
			mem[k] = (uint8_t)rnd();
		memset(mem + DATA_BYTES, 0, BPFVM_STACK_SIZE);
		struct bpfvm_prog_opts opts = {.safety = BPFVM_SAFETY_CHECKED, .jit_blind = (int)rnd_below(2)};
		struct engine_result ri, rj;
		int rc = run_engines(vm, pb.insns, pb.n, mem, sizeof(mem), &ri, &rj, out_i, out_j, &opts);
		if (rc) {
			harness_fail(__FILE__, __LINE__, "program %d: load: %s", i, bpfvm_vm_last_error(vm));
			failures++;
			continue;
		}
		faults += ri.rc != 0;
		strip_addresses(ri.error);
		strip_addresses(rj.error);
		if (ri.rc != rj.rc || ri.r0 != rj.r0 || strcmp(ri.error, rj.error) ||
		    memcmp(out_i, out_j, sizeof(out_i))) {
			harness_fail(__FILE__, __LINE__,
				     "program %d (seed 0x%" PRIx64 "): interp rc %d r0 0x%" PRIx64 " '%s' / jit rc %d r0 0x%" PRIx64 " '%s' / memory %s",
				     i, seed, ri.rc, ri.r0, ri.error, rj.rc, rj.r0, rj.error,
				     memcmp(out_i, out_j, sizeof(out_i)) ? "differs" : "same");
			failures++;
			if (getenv("BPFVM_JIT_DIFF_DUMP")) {
				char *text = bpfvm_disasm(pb.insns, pb.n, BPFVM_SYNTAX_LLVM, 1);
				printf("%s\n", text);
				free(text);
				for (size_t k = 0; k < sizeof(out_i); k++)
					if (out_i[k] != out_j[k])
						printf("mem[%zu]: interp %02x jit %02x\n", k, out_i[k], out_j[k]);
			}
		}
	}
	printf("%d programs, %d ended in a fault in both engines\n", count, faults);
	bpfvm_vm_destroy(vm);
}
