/* Assembler and disassembler throughput: a generated program of N lines
 * (default 100000) mixing the common instruction forms.
 * Usage: build/bench/bench_asm [N] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bpfvm/asm.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts); /* CPU time: the machine is shared */
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static const char *const forms[] = {
		"r0 = 0", "r1 += 5", "*(u64 *)(r10 - 8) = r1", "r2 = *(u32 *)(r1 + 4)",
		"if r0 == 0 goto +1", "r1 = 2675205388142210915 ll",
		"lock *(u64 *)(r0 + 0) += r1", "w0 = w1",
	};
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
	char *text = malloc(n * 40 + 8);
	if (!text)
		return 1;
	size_t len = 0;
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(text + len, "%s\n", forms[i * 7 % 8]);
	strcpy(text + len, "exit\n");

	struct bpfvm_insn *insns;
	size_t slots;
	char err[256];
	double t0 = now();
	if (bpfvm_asm(text, BPFVM_SYNTAX_LLVM, "bench", &insns, &slots, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	double t1 = now();
	char *out = bpfvm_disasm(insns, slots, BPFVM_SYNTAX_LLVM, 0);
	double t2 = now();
	printf("asm:    %zu lines in %.3f s CPU (%.2f us/line)\n", n + 1, t1 - t0, (t1 - t0) * 1e6 / (n + 1));
	printf("disasm: %zu slots in %.3f s CPU (%.2f us/slot)\n", slots, t2 - t1, (t2 - t1) * 1e6 / slots);
	free(out);
	free(insns);
	free(text);
	return 0;
}
