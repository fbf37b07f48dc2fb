/* Verification time of bpfvm's verifier next to the Linux kernel's own
 * (BPF_PROG_LOAD with BPF_LOG_STATS reports "verification time N usec")
 * for the same programs: a 100,000-instruction program and a loop-heavy
 * one. Also the peak memory of a process that verifies each program.
 * Usage: bench_verifier [repeats]  (kernel columns need root) */
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bpfvm/bpfvm.h"

struct prog {
	struct bpfvm_insn *insns;
	int n, cap;
};

static void emit(struct prog *p, enum bpfvm_opid id, int dst, int src, int16_t off, int32_t imm)
{
	struct bpfvm_insn out[2];
	int k = bpfvm_isa_encode(id, (uint8_t)dst, (uint8_t)src, off, imm, (uint64_t)(uint32_t)imm, out);
	if (p->n + k > p->cap) {
		p->cap = p->cap ? p->cap * 2 : 1024;
		p->insns = realloc(p->insns, (size_t)p->cap * sizeof(*p->insns));
		if (!p->insns)
			exit(1);
	}
	for (int i = 0; i < k; i++)
		p->insns[p->n++] = out[i];
}

/* ~100,000 instructions of arithmetic, stack traffic and forward branches
 * on the packet length (two paths through the whole program). */
static void make_large(struct prog *p, int target)
{
	emit(p, BPFVM_OP_MOV64_IMM, 0, 0, 0, 0);
	emit(p, BPFVM_OP_LDX_W, 2, 1, 0, 0); /* skb->len: unknown */
	emit(p, BPFVM_OP_MOV64_IMM, 3, 0, 0, 1);
	int k = 0;
	while (p->n < target - 14) {
		int slot = -8 * (1 + k % 16);
		/* the skipped side only computes r5, dead after the join */
		emit(p, BPFVM_OP_ADD64_IMM, 3, 0, 0, (k & 7) + 1);
		emit(p, BPFVM_OP_STX_DW, BPFVM_REG_FP, 3, (int16_t)slot, 0);
		/* forks once (r2 unknown), then each side knows the answer */
		emit(p, BPFVM_OP_JGT_IMM, 2, 0, 2, 100);
		emit(p, BPFVM_OP_LDX_DW, 5, BPFVM_REG_FP, (int16_t)slot, 0);
		emit(p, BPFVM_OP_AND64_IMM, 5, 0, 0, 0xff);
		k++;
	}
	while (p->n < target - 1)
		emit(p, BPFVM_OP_ADD64_IMM, 0, 0, 0, 1);
	emit(p, BPFVM_OP_EXIT, 0, 0, 0, 0);
}

/* Nested bounded loops: outer x inner iterations explored one by one. */
static void make_loops(struct prog *p, int outer, int inner)
{
	emit(p, BPFVM_OP_MOV64_IMM, 0, 0, 0, 0);
	emit(p, BPFVM_OP_MOV64_IMM, 6, 0, 0, 0);      /* 1: outer counter */
	int outer_top = p->n;
	emit(p, BPFVM_OP_MOV64_IMM, 7, 0, 0, 0);      /* inner counter */
	int inner_top = p->n;
	emit(p, BPFVM_OP_ADD64_REG, 0, 7, 0, 0);
	emit(p, BPFVM_OP_AND64_IMM, 0, 0, 0, 0xff);
	emit(p, BPFVM_OP_ADD64_IMM, 7, 0, 0, 1);
	emit(p, BPFVM_OP_JLT_IMM, 7, 0, (int16_t)(inner_top - p->n - 1), inner);
	emit(p, BPFVM_OP_ADD64_IMM, 6, 0, 0, 1);
	emit(p, BPFVM_OP_JLT_IMM, 6, 0, (int16_t)(outer_top - p->n - 1), outer);
	emit(p, BPFVM_OP_EXIT, 0, 0, 0, 0);
}

/* Thread CPU time: the machine is shared, wall time would count the others. */
static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* bpfvm: best of `repeats` verification times (us); -1 on rejection. */
static double bpfvm_time(const struct prog *p, int repeats, char *msg, size_t msglen)
{
	struct bpfvm_vm *vm;
	double best = -1;
	if (bpfvm_vm_create(&vm))
		return -1;
	for (int r = 0; r < repeats; r++) {
		struct bpfvm_prog_opts opts = {.type = BPFVM_PROG_SOCKET_FILTER, .engine = BPFVM_ENGINE_INTERP};
		struct bpfvm_prog *prog = NULL;
		double t0 = now_us();
		int rc = bpfvm_prog_load(vm, p->insns, (size_t)p->n, &opts, &prog);
		double dt = now_us() - t0;
		if (rc) {
			snprintf(msg, msglen, "%s", bpfvm_vm_last_error(vm));
			bpfvm_vm_destroy(vm);
			return -1;
		}
		bpfvm_prog_destroy(prog);
		if (best < 0 || dt < best)
			best = dt;
	}
	bpfvm_vm_destroy(vm);
	return best;
}

/* Growth of the peak RSS (KiB) of a child process that verifies p once. */
static long bpfvm_peak_kib(const struct prog *p)
{
	int fds[2];
	long grown = -1;
	if (pipe(fds))
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		char msg[256];
		struct rusage before, after;
		getrusage(RUSAGE_SELF, &before);
		bpfvm_time(p, 1, msg, sizeof(msg));
		getrusage(RUSAGE_SELF, &after);
		long d = after.ru_maxrss - before.ru_maxrss;
		if (write(fds[1], &d, sizeof(d)) != sizeof(d))
			_exit(1);
		_exit(0);
	}
	close(fds[1]);
	if (pid > 0 && read(fds[0], &grown, sizeof(grown)) != sizeof(grown))
		grown = -1;
	close(fds[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	return grown;
}

/* The kernel's "verification time N usec" and its processed-insn count. */
static long kernel_time(const struct prog *p, long *processed, char *msg, size_t msglen)
{
	static char log[1 << 16];
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	a.insns = (uint64_t)(uintptr_t)p->insns;
	a.insn_cnt = (uint32_t)p->n;
	a.license = (uint64_t)(uintptr_t)"GPL";
	a.log_buf = (uint64_t)(uintptr_t)log;
	a.log_size = sizeof(log);
	a.log_level = 4; /* BPF_LOG_STATS */
	log[0] = 0;
	int fd = (int)syscall(__NR_bpf, BPF_PROG_LOAD, &a, sizeof(a));
	if (fd < 0) {
		snprintf(msg, msglen, "%s", errno == EPERM ? "not permitted (run as root)" : strerror(errno));
		return -1;
	}
	close(fd);
	long us = -1;
	const char *t = strstr(log, "verification time ");
	if (t)
		us = strtol(t + 18, NULL, 10);
	const char *pr = strstr(log, "processed ");
	*processed = pr ? strtol(pr + 10, NULL, 10) : -1;
	return us;
}

static void row(const char *name, const struct prog *p, int repeats, long peak)
{
	char msg[512] = "", kmsg[256] = "";
	long kproc = -1;
	double us = bpfvm_time(p, repeats, msg, sizeof(msg));
	long kus = kernel_time(p, &kproc, kmsg, sizeof(kmsg));
	printf("%-26s %7d insns  bpfvm %10.0f us  kernel %8s us (processed %ld)  bpfvm peak +%ld KiB\n", name, p->n, us,
	       kus >= 0 ? (snprintf(kmsg, sizeof(kmsg), "%ld", kus), kmsg) : kmsg, kproc, peak);
	if (us < 0)
		printf("    bpfvm rejected it: %s\n", msg);
}

int main(int argc, char **argv)
{
	int repeats = argc > 1 ? atoi(argv[1]) : 3;
	struct prog large = {0}, loops = {0}, tiny = {0};
	make_large(&large, 100000);
	make_loops(&loops, 300, 300);
	emit(&tiny, BPFVM_OP_MOV64_IMM, 0, 0, 0, 0);
	emit(&tiny, BPFVM_OP_EXIT, 0, 0, 0, 0);
	printf("verification time, best of %d (bpfvm, thread CPU time) / one load (kernel, BPF_LOG_STATS)\n", repeats);
	/* peaks first, from a parent whose heap the verifier has not grown */
	long peaks[3] = {bpfvm_peak_kib(&tiny), bpfvm_peak_kib(&large), bpfvm_peak_kib(&loops)};
	row("2 insns (baseline)", &tiny, repeats, peaks[0]);
	row("100,000-insn program", &large, repeats, peaks[1]);
	row("loops 300 x 300", &loops, repeats, peaks[2]);
	free(large.insns);
	free(loops.insns);
	free(tiny.insns);
	return 0;
}
