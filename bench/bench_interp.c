/* Interpreter benchmark: an arithmetic loop (10M iterations), a pass over a
 * 1 MiB buffer and 1M bpf-to-bpf calls, in the verified fast path and in
 * checked mode. Prints ns per executed instruction and per run, and the
 * fixed cost of a run (a two-instruction program).
 *
 *   make bench && build/bench/bench_interp [REPEATS]
 *
 * The verified path runs programs the verifier accepted. These loops are
 * longer than the verifier explores (like the kernel's, it gives up after
 * 1M simulated instructions), so when it refuses one the benchmark loads it
 * in checked mode and switches its safety afterwards: it measures the
 * engine, and these programs are known to be safe. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_programs.h"
#include "bpfvm/bpfvm.h"
#include "core/internal.h"

static struct bpfvm_prog *load(struct bpfvm_vm *vm, const struct bench_prog *bp,
			       enum bpfvm_safety safety, int *emulated)
{
	struct bpfvm_prog_opts opts = {.name = bp->name, .safety = safety,
				       .engine = BPFVM_ENGINE_INTERP};
	struct bpfvm_prog *prog = NULL;
	*emulated = 0;
	int rc = bpfvm_prog_load(vm, bp->insns, bp->n, &opts, &prog);
	if (rc && safety == BPFVM_SAFETY_VERIFIED) {
		opts.safety = BPFVM_SAFETY_CHECKED;
		rc = bpfvm_prog_load(vm, bp->insns, bp->n, &opts, &prog);
		if (!rc) {
			prog->safety = BPFVM_SAFETY_VERIFIED;
			*emulated = 1;
		}
	}
	if (rc) {
		fprintf(stderr, "bench_interp: %s: %s\n", bp->name, bpfvm_vm_last_error(vm));
		return NULL;
	}
	return prog;
}

/* Best of `repeats` runs. */
static int bench_one(struct bpfvm_vm *vm, const struct bench_prog *bp, enum bpfvm_safety safety,
		     int repeats)
{
	int emulated;
	struct bpfvm_prog *prog = load(vm, bp, safety, &emulated);
	if (!prog)
		return 1;
	uint8_t *mem = bp->mem_size ? malloc(bp->mem_size) : NULL;
	double best = 0;
	uint64_t executed = 0;
	for (int i = 0; i < repeats; i++) {
		if (mem)
			memset(mem, 0, bp->mem_size);
		struct bpfvm_run run = {.ctx = mem, .ctx_size = bp->mem_size,
					.engine = BPFVM_ENGINE_INTERP, .budget = UINT64_MAX};
		double t0 = bench_now_ns();
		int rc = bpfvm_prog_run(prog, &run);
		double t = bench_now_ns() - t0;
		if (rc || run.retval != bp->expect || run.executed != bp->executed) {
			fprintf(stderr, "bench_interp: %s: rc %d r0 %llu (want %llu), %llu insns (want %llu) %s\n",
				bp->name, rc, (unsigned long long)run.retval, (unsigned long long)bp->expect,
				(unsigned long long)run.executed, (unsigned long long)bp->executed, run.error);
			free(mem);
			return 1;
		}
		if (i == 0 || t < best)
			best = t;
		executed = run.executed;
	}
	printf("%-12s %-9s %11llu insns  %9.3f ms/run  %6.3f ns/insn%s\n", bp->name,
	       safety == BPFVM_SAFETY_VERIFIED ? "verified" : "checked",
	       (unsigned long long)executed, best / 1e6, best / (double)executed,
	       emulated ? "  (not verified: safety switched after a checked load)" : "");
	free(mem);
	bpfvm_prog_destroy(prog);
	return 0;
}

/* Fixed cost of a run: 1M runs of `r0 = 42; exit`. */
static int bench_overhead(struct bpfvm_vm *vm, enum bpfvm_safety safety)
{
	struct bench_prog bp = {.name = "tiny"};
	BE(&bp, MOV64_IMM, 0, 0, 0, 42);
	BE(&bp, EXIT, 0, 0, 0, 0);
	int emulated;
	struct bpfvm_prog *prog = load(vm, &bp, safety, &emulated);
	if (!prog)
		return 1;
	enum { RUNS = 1000000 };
	struct bpfvm_run run = {.engine = BPFVM_ENGINE_INTERP};
	double t0 = bench_now_ns();
	for (int i = 0; i < RUNS; i++)
		if (bpfvm_prog_run(prog, &run) || run.retval != 42)
			return 1;
	double per_run = (bench_now_ns() - t0) / RUNS;
	printf("%-12s %-9s %11d insns  %9.1f ns/run (fixed cost of bpfvm_prog_run)\n", bp.name,
	       safety == BPFVM_SAFETY_VERIFIED ? "verified" : "checked", 2, per_run);
	bpfvm_prog_destroy(prog);
	return 0;
}

int main(int argc, char **argv)
{
	int repeats = argc > 1 ? atoi(argv[1]) : 5;
	if (repeats < 1)
		repeats = 1;
	struct bpfvm_vm *vm;
	if (bpfvm_vm_create(&vm)) {
		fprintf(stderr, "bench_interp: cannot create a VM\n");
		return 1;
	}
	struct bench_prog progs[BENCH_NPROGS];
	bench_programs(progs);
	int rc = 0;
	printf("bpfvm interpreter, best of %d runs (thread CPU time)\n", repeats);
	for (int i = 0; i < BENCH_NPROGS; i++) {
		rc |= bench_one(vm, &progs[i], BPFVM_SAFETY_VERIFIED, repeats);
		rc |= bench_one(vm, &progs[i], BPFVM_SAFETY_CHECKED, repeats);
	}
	rc |= bench_overhead(vm, BPFVM_SAFETY_VERIFIED);
	rc |= bench_overhead(vm, BPFVM_SAFETY_CHECKED);
	bpfvm_vm_destroy(vm);
	return rc;
}
