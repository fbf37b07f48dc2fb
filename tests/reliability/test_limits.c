/* Limits on what a program can cost its host:
 *  - every run ends: a verified program's loops are proven bounded (an
 *    infinite loop is rejected), a checked program runs under an
 *    instruction budget on both engines;
 *  - memory is bounded: a program of one million instructions (the
 *    kernel's BPF_COMPLEXITY_LIMIT_INSNS) with a branch in every block
 *    verifies within MEM_BOUND_MB of extra peak RSS. The measured figure
 *    is printed ("peak RSS growth ...") for docs/reliability.md. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include "bpfvm/bpfvm.h"
#include "common/harness.h"

#define MILLION 1000000
/* The bound stated in docs/reliability.md. Sanitizer builds (make check)
 * have shadow memory and redzones on every allocation, so they get four
 * times the room. */
#define MEM_BOUND_MB 320

static long peak_rss_kb(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static int sanitized(void)
{
#if defined(__SANITIZE_ADDRESS__)
	return 1;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
	return 1;
#endif
#endif
	return 0;
}

static void put(struct bpfvm_insn *p, size_t *i, enum bpfvm_opid op, int dst, int off, int32_t imm)
{
	struct bpfvm_insn slot[2];
	bpfvm_isa_encode(op, (uint8_t)dst, 0, (int16_t)off, imm, 0, slot);
	p[(*i)++] = slot[0];
}

static struct bpfvm_insn *million_insn_program(size_t *n)
{
	struct bpfvm_insn *p = calloc(MILLION, sizeof(*p));
	size_t i = 0;
	put(p, &i, BPFVM_OP_MOV64_IMM, 0, 0, 0);
	/* Blocks of: r1 = r0; r1 &= 7; if r1 == 3 goto +1; r0 += 1 */
	while (i + 4 < MILLION - 1) {
		struct bpfvm_insn mov[2];
		bpfvm_isa_encode(BPFVM_OP_MOV64_REG, 1, 0, 0, 0, 0, mov);
		p[i++] = mov[0];
		put(p, &i, BPFVM_OP_AND64_IMM, 1, 0, 7);
		put(p, &i, BPFVM_OP_JEQ_IMM, 1, 1, 3);
		put(p, &i, BPFVM_OP_ADD64_IMM, 0, 0, 1);
	}
	while (i < MILLION - 1)
		put(p, &i, BPFVM_OP_ADD64_IMM, 0, 0, 1);
	put(p, &i, BPFVM_OP_EXIT, 0, 0, 0);
	*n = i;
	return p;
}

TEST(million_instruction_program_verifies_within_the_memory_bound)
{
	size_t n;
	struct bpfvm_insn *insns = million_insn_program(&n);
	CHECK_EQ(n, (size_t)MILLION);
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	long before = peak_rss_kb();
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct bpfvm_prog_opts opts = {.name = "million", .engine = BPFVM_ENGINE_INTERP};
	struct bpfvm_prog *prog = NULL;
	int rc = bpfvm_prog_load(vm, insns, n, &opts, &prog);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long growth = peak_rss_kb() - before;
	printf("    1M-instruction program: %s in %.2f s, peak RSS growth %ld KB (%.1f MB; %s build)%s%s\n",
	       rc ? "rejected" : "verified", (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
	       growth, growth / 1024.0, sanitized() ? "sanitizer" : "plain", rc ? ": " : "",
	       rc ? bpfvm_vm_last_error(vm) : "");
	CHECK_EQ(rc, 0);
	CHECK(growth <= (long)MEM_BOUND_MB * 1024 * (sanitized() ? 4 : 1));
	if (prog) {
		struct bpfvm_run run = {.engine = BPFVM_ENGINE_INTERP};
		CHECK_EQ(bpfvm_prog_run(prog, &run), 0);
		CHECK(run.retval > 0 && run.retval < MILLION);
		bpfvm_prog_destroy(prog);
	}
	bpfvm_vm_destroy(vm);
	free(insns);
}

static const struct bpfvm_insn forever[] = {
	{.code = 0xb7, .dst = 0, .imm = 0}, /* r0 = 0 */
	{.code = 0x07, .dst = 0, .imm = 1}, /* r0 += 1 */
	{.code = 0x05, .off = -2},          /* goto -2 */
	{.code = 0x95},                     /* exit */
};

TEST(verifier_rejects_an_infinite_loop)
{
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	struct bpfvm_prog *prog = NULL;
	struct bpfvm_prog_opts opts = {.name = "forever"};
	CHECK(bpfvm_prog_load(vm, forever, 4, &opts, &prog) != 0);
	CHECK(bpfvm_vm_last_error(vm)[0] != 0);
	bpfvm_vm_destroy(vm);
}

TEST(checked_runs_of_an_infinite_loop_stop_at_the_budget_on_both_engines)
{
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	const enum bpfvm_engine engines[2] = {BPFVM_ENGINE_INTERP, BPFVM_ENGINE_JIT};
	for (int e = 0; e < 2; e++) {
		struct bpfvm_prog *prog = NULL;
		struct bpfvm_prog_opts opts = {.name = "forever", .safety = BPFVM_SAFETY_CHECKED, .engine = engines[e]};
		CHECK_EQ(bpfvm_prog_load(vm, forever, 4, &opts, &prog), 0);
		if (!prog)
			continue;
		struct bpfvm_run run = {.engine = engines[e], .budget = 100000};
		CHECK(bpfvm_prog_run(prog, &run) != 0);
		CHECK(run.error[0] != 0);
		printf("    %s: %s\n", e ? "jit" : "interp", run.error);
		bpfvm_prog_destroy(prog);
	}
	bpfvm_vm_destroy(vm);
}
