/* The programs of bench_interp.c run by uBPF's interpreter, for
 * bench/compare_ubpf.sh (built against a uBPF checkout given to that
 * script; not part of `make bench`). Bounds checks on is the counterpart of
 * bpfvm's checked mode, off the counterpart of its verified path. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_programs.h"
#include "ubpf.h"

static int bench_one(const struct bench_prog *bp, int bounds_check, int repeats)
{
	struct ubpf_vm *vm = ubpf_create();
	char *errmsg = NULL;
	ubpf_toggle_bounds_check(vm, bounds_check);
	if (ubpf_load(vm, bp->insns, (uint32_t)(bp->n * sizeof(bp->insns[0])), &errmsg) < 0) {
		fprintf(stderr, "ubpf_bench: %s: %s\n", bp->name, errmsg ? errmsg : "load failed");
		free(errmsg);
		ubpf_destroy(vm);
		return 1;
	}
	uint8_t *mem = bp->mem_size ? malloc(bp->mem_size) : NULL;
	double best = 0;
	for (int i = 0; i < repeats; i++) {
		if (mem)
			memset(mem, 0, bp->mem_size);
		uint64_t r0 = 0;
		double t0 = bench_now_ns();
		int rc = ubpf_exec(vm, mem, bp->mem_size, &r0);
		double t = bench_now_ns() - t0;
		if (rc < 0 || r0 != bp->expect) {
			fprintf(stderr, "ubpf_bench: %s: rc %d r0 %llu (want %llu)\n", bp->name, rc,
				(unsigned long long)r0, (unsigned long long)bp->expect);
			free(mem);
			ubpf_destroy(vm);
			return 1;
		}
		if (i == 0 || t < best)
			best = t;
	}
	printf("%-12s %-9s %11llu insns  %9.3f ms/run  %6.3f ns/insn\n", bp->name,
	       bounds_check ? "bounds" : "no-bounds", (unsigned long long)bp->executed, best / 1e6,
	       best / (double)bp->executed);
	free(mem);
	ubpf_destroy(vm);
	return 0;
}

int main(int argc, char **argv)
{
	int repeats = argc > 1 ? atoi(argv[1]) : 5;
	if (repeats < 1)
		repeats = 1;
	struct bench_prog progs[BENCH_NPROGS];
	bench_programs(progs);
	int rc = 0;
	printf("uBPF interpreter, best of %d runs (thread CPU time)\n", repeats);
	for (int i = 0; i < BENCH_NPROGS; i++) {
		rc |= bench_one(&progs[i], 0, repeats);
		rc |= bench_one(&progs[i], 1, repeats);
	}
	return rc;
}
