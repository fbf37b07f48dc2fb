/* JIT benchmark: ten CPU-bound workloads (bench/jit/work.h) timed four ways
 * in one run: bpfvm's interpreter, bpfvm's JIT, the kernel's JIT through
 * BPF_PROG_TEST_RUN (as root; the column is skipped otherwise) and the
 * same C compiled natively (gcc -O2, this file). Each workload is compiled
 * by clang -O2 -target bpf twice (default -mcpu and -mcpu=v3); bpfvm runs
 * the raw-memory wrapper (r1 = buffer, r2 = length) whose instructions
 * libbpf extracts from the object, the kernel runs the XDP wrapper on an
 * ARRAY map value holding the same buffer. Also prints the JIT's compile
 * speed (eBPF instructions per second, bpfvm__jit_prepare alone).
 *
 *   build/bench/bench_jit [--quick] [--chunks N] [--only NAME,NAME...]
 *   (bench/jit/run.sh builds and runs it)
 *
 * Each engine runs about 200 ms (20 with --quick) per workload, in N
 * chunks (--chunks, default 10) taken in turn with the other engines; its
 * time is that of its best chunk (the machine is shared: the least
 * disturbed one). --only runs the named workloads alone.
 *
 * bpfvm and native times are thread CPU time per run (the machine may be
 * shared); the kernel's is its own measured duration per run. Not a test. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bpfvm/bpfvm.h"
#include "jit/jit.h"
#include "jit/work.h"

static double thread_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static uint32_t rnd(uint32_t *s)
{
	*s = *s * 1664525u + 1013904223u;
	return *s >> 8;
}

/* The buffer each workload expects (the same for every engine). */
static void init_buffer(const char *name, u8 *buf)
{
	uint32_t seed = 12345;
	for (int i = 0; i < BUF_SIZE; i++)
		buf[i] = (u8)rnd(&seed);
	if (!strcmp(name, "strcmp")) {
		for (int k = 0; k < 16; k++) { /* similar strings differing late */
			for (int i = 0; i < 63; i++)
				buf[k * 64 + i] = (u8)('a' + (i % 26));
			buf[k * 64 + 40 + (k % 20)] = (u8)('A' + k);
			buf[k * 64 + 63] = 0;
		}
	} else if (!strcmp(name, "bsearch")) {
		for (u32 i = 0; i < 256; i++) {
			u32 v = i * 4099 + (i % 3);
			memcpy(buf + i * 4, &v, 4);
			u32 key = rnd(&seed) % (256 * 4099);
			memcpy(buf + 1024 + i * 4, &key, 4);
		}
	} else if (!strcmp(name, "parse")) {
		for (int k = 0; k < 16; k++) {
			u8 *p = buf + k * 64;
			memset(p, 0, 64);
			p[12] = k % 7 == 6 ? 0x86 : 0x08, p[13] = k % 7 == 6 ? 0xdd : 0x00;
			p[14] = 0x45, p[16] = 0, p[17] = 50, p[22] = 64;
			p[23] = k % 3 == 0 ? 6 : k % 3 == 1 ? 17 : 1;
			for (int i = 26; i < 34; i++)
				p[i] = (u8)rnd(&seed);
			p[34] = (u8)k, p[35] = 80, p[36] = 0x1f, p[37] = (u8)(k * 7);
		}
	}
}

/* ---- native -------------------------------------------------------------------- */

typedef u64 (*work_fn)(u8 *buf);
#define NATIVE_FN(name) static u64 native_##name(u8 *buf) { return w_##name(buf); }
WORK_LIST(NATIVE_FN)
#define NATIVE_ENTRY(name) {#name, native_##name},
static const struct {
	const char *name;
	work_fn fn;
} workloads[] = {WORK_LIST(NATIVE_ENTRY)};
#define NWORK (sizeof(workloads) / sizeof(workloads[0]))

static double time_native(work_fn fn, u8 *buf, unsigned long n, u64 *result)
{
	double t0 = thread_ns();
	u64 r = 0;
	for (unsigned long i = 0; i < n; i++) {
		__asm__ volatile("" : : "r"(buf) : "memory"); /* no hoisting across runs */
		r = fn(buf);
	}
	*result = r;
	return (thread_ns() - t0) / (double)n;
}

/* ---- bpfvm --------------------------------------------------------------------- */

static double time_bpfvm(struct bpfvm_prog *prog, enum bpfvm_engine engine, u8 *buf,
			 unsigned long n, u64 *result, int *rc)
{
	struct bpfvm_run run = {.ctx = buf, .ctx_size = BUF_SIZE, .engine = engine};
	*rc = bpfvm_prog_run(prog, &run); /* warm up */
	double t0 = thread_ns();
	for (unsigned long i = 0; i < n && !*rc; i++)
		*rc = bpfvm_prog_run(prog, &run);
	*result = run.retval;
	if (*rc)
		fprintf(stderr, "  run failed: %s\n", run.error);
	return (thread_ns() - t0) / (double)n;
}

/* ---- kernel ---------------------------------------------------------------------- */

/* xdp_NAME of the object, loaded alone, its buffer in place. */
struct kprog {
	struct bpf_object *obj;
	int prog_fd, res_fd;
};

/* Load only xdp_NAME and fill its buffer map. 0, or a negative errno
 * (not root, load failure) with why set. */
static int kernel_load(struct kprog *k, const char *obj_path, const char *name, const u8 *buf,
		       char *why, size_t whylen)
{
	char prog_name[64];
	snprintf(prog_name, sizeof(prog_name), "xdp_%s", name);
	memset(k, 0, sizeof(*k));
	k->obj = bpf_object__open_file(obj_path, NULL);
	if (!k->obj) {
		snprintf(why, whylen, "open failed");
		return -errno;
	}
	struct bpf_program *p, *want = NULL;
	bpf_object__for_each_program(p, k->obj) {
		int mine = !strcmp(bpf_program__name(p), prog_name);
		bpf_program__set_autoload(p, mine);
		if (mine)
			want = p;
	}
	int err = -ENOENT;
	if (!want) {
		snprintf(why, whylen, "no program %s", prog_name);
		goto fail;
	}
	err = bpf_object__load(k->obj);
	if (err) {
		snprintf(why, whylen, "kernel load: %s", strerror(-err));
		goto fail;
	}
	int buf_fd = bpf_object__find_map_fd_by_name(k->obj, "buf_map");
	k->res_fd = bpf_object__find_map_fd_by_name(k->obj, "result_map");
	k->prog_fd = bpf_program__fd(want);
	u32 key = 0;
	if (bpf_map_update_elem(buf_fd, &key, buf, BPF_ANY)) {
		err = -errno;
		snprintf(why, whylen, "map update: %s", strerror(errno));
		goto fail;
	}
	return 0;
fail:
	bpf_object__close(k->obj);
	k->obj = NULL;
	return err;
}

/* n runs with BPF_PROG_TEST_RUN: the kernel's own measured ns per run,
 * or a negative errno. */
static double time_kernel(struct kprog *k, unsigned long n, u64 *result, char *why, size_t whylen)
{
	u8 pkt[64] = {0};
	LIBBPF_OPTS(bpf_test_run_opts, topts, .data_in = pkt, .data_size_in = sizeof(pkt),
		    .repeat = (int)(n > 0x7fffffff ? 0x7fffffff : n));
	if (bpf_prog_test_run_opts(k->prog_fd, &topts)) {
		snprintf(why, whylen, "test run: %s", strerror(errno));
		return -errno;
	}
	u32 key = 0;
	bpf_map_lookup_elem(k->res_fd, &key, result);
	return (double)topts.duration;
}

/* ---- JIT compile speed ---------------------------------------------------------------- */

struct compile_stats {
	double ns;
	unsigned long long insns;
};

static void measure_compile(struct bpfvm_prog *prog, struct compile_stats *cs)
{
	char err[256];
	for (int rep = 0; rep < 200; rep++) {
		bpfvm__jit_release(prog);
		double t0 = thread_ns();
		if (bpfvm__jit_prepare(prog, err, sizeof(err))) {
			fprintf(stderr, "re-prepare failed: %s\n", err);
			return;
		}
		cs->ns += thread_ns() - t0;
		cs->insns += prog->n;
	}
}

/* ---- driver ------------------------------------------------------------------------------ */

static const char *build_dir(void)
{
	const char *b = getenv("BUILD");
	return b && *b ? b : "build";
}

static int build_object(const char *cpu, char *path, size_t len)
{
	snprintf(path, len, "%s/bench/jit_progs_%s.bpf.o", build_dir(), cpu);
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
		 "clang -O2 -g -target bpf %s%s -Ibench/jit -I/usr/include/x86_64-linux-gnu "
		 "-c bench/jit/progs.bpf.c -o %s",
		 strcmp(cpu, "default") ? "-mcpu=" : "", strcmp(cpu, "default") ? cpu : "", path);
	if (system(cmd)) {
		fprintf(stderr, "bench_jit: '%s' failed (clang with the BPF target is needed)\n", cmd);
		return -1;
	}
	return 0;
}

struct row {
	double interp, jit, kernel, native;
	int checked;
};

static double geomean(const double *v, int n)
{
	double s = 0;
	int k = 0;
	for (int i = 0; i < n; i++)
		if (v[i] > 0) {
			s += log(v[i]);
			k++;
		}
	return k ? exp(s / k) : 0;
}

/* Is name in the comma-separated list (NULL: every name)? */
static int selected(const char *list, const char *name)
{
	if (!list)
		return 1;
	size_t len = strlen(name);
	for (const char *p = list; *p;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n == len && !strncmp(p, name, len))
			return 1;
		if (!end)
			break;
		p = end + 1;
	}
	return 0;
}

static double min_pos(double a, double b)
{
	return a <= 0 ? b : b <= 0 ? a : a < b ? a : b;
}

int main(int argc, char **argv)
{
	int quick = 0, chunks = 10;
	const char *only = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick")) {
			quick = 1;
		} else if (!strcmp(argv[i], "--chunks") && i + 1 < argc) {
			chunks = atoi(argv[++i]);
			if (chunks < 1)
				chunks = 1;
		} else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
			only = argv[++i];
		} else {
			fprintf(stderr, "usage: bench_jit [--quick] [--chunks N] [--only NAME,NAME...]\n");
			return 2;
		}
	}
	double target_ns = quick ? 2e7 : 2e8; /* time per measurement */
	const char *cpus[] = {"default", "v3"};
	struct bpfvm_vm *vm;
	if (bpfvm_vm_create(&vm))
		return 1;
	libbpf_set_print(NULL);
	int kernel_ok = geteuid() == 0;
	static u8 buf[BUF_SIZE], ref[BUF_SIZE];
	struct compile_stats cs = {0};
	double r_jk[2 * NWORK], r_jn[2 * NWORK], r_ij[2 * NWORK];
	double v_jk[2 * NWORK], v_jn[2 * NWORK]; /* rows bpfvm verified */
	int nr = 0, nv = 0, mismatches = 0;
	printf("%-8s %-7s %6s %11s %9s %10s %10s %8s %8s %8s\n", "program", "cpu", "insns", "interp ns",
	       "jit ns", "kernel ns", "native ns", "jit/kern", "jit/nat", "int/jit");
	for (int c = 0; c < 2; c++) {
		char obj_path[512];
		if (build_object(cpus[c], obj_path, sizeof(obj_path)))
			return 1;
		struct bpf_object *obj = bpf_object__open_file(obj_path, NULL);
		if (!obj) {
			fprintf(stderr, "bench_jit: libbpf cannot open %s\n", obj_path);
			return 1;
		}
		for (size_t w = 0; w < NWORK; w++) {
			const char *name = workloads[w].name;
			if (!selected(only, name))
				continue;
			char prog_name[64];
			snprintf(prog_name, sizeof(prog_name), "raw_%s", name);
			struct bpf_program *bp = bpf_object__find_program_by_name(obj, prog_name);
			if (!bp) {
				fprintf(stderr, "bench_jit: %s not in the object\n", prog_name);
				continue;
			}
			const struct bpfvm_insn *insns = (const void *)bpf_program__insns(bp);
			size_t n = bpf_program__insn_cnt(bp);
			struct row r = {0};
			struct bpfvm_prog_opts opts = {.name = name, .safety = BPFVM_SAFETY_VERIFIED};
			struct bpfvm_prog *prog;
			if (bpfvm_prog_load(vm, insns, n, &opts, &prog)) {
				/* The verifier said no: run with run-time checks, say so. */
				fprintf(stderr, "  %s/%s: bpfvm verifier: %.200s; running checked\n", name,
					cpus[c], bpfvm_vm_last_error(vm));
				opts.safety = BPFVM_SAFETY_CHECKED;
				r.checked = 1;
				if (bpfvm_prog_load(vm, insns, n, &opts, &prog)) {
					fprintf(stderr, "  %s: load failed: %s\n", name, bpfvm_vm_last_error(vm));
					continue;
				}
			}
			init_buffer(name, ref);
			u64 res_native, res_interp, res_jit, res_kernel = 0;
			int rc;
			char why[256] = "";
			struct kprog kp = {0};
			if (kernel_ok) {
				int err = kernel_load(&kp, obj_path, name, ref, why, sizeof(why));
				if (err) {
					fprintf(stderr, "  %s/%s: kernel: %s\n", name, cpus[c], why);
					r.kernel = err;
				}
			}
			/* Calibrate each engine once: a chunk of runs lasts about
			 * chunk_ns. Then time the engines chunk by chunk, in turn, and
			 * keep each one's best chunk. */
			double chunk_ns = target_ns / chunks;
			memcpy(buf, ref, BUF_SIZE);
			double probe = time_native(workloads[w].fn, buf, 50, &res_native);
			unsigned long n_native = (unsigned long)(chunk_ns / (probe > 1 ? probe : 1)) + 1;
			probe = time_bpfvm(prog, BPFVM_ENGINE_JIT, buf, 20, &res_jit, &rc);
			unsigned long n_jit = (unsigned long)(chunk_ns / (probe > 1 ? probe : 1)) + 1;
			probe = time_bpfvm(prog, BPFVM_ENGINE_INTERP, buf, 5, &res_interp, &rc);
			unsigned long n_interp = (unsigned long)(chunk_ns / 2 / (probe > 1 ? probe : 1)) + 1;
			for (int k = 0; k < chunks; k++) {
				memcpy(buf, ref, BUF_SIZE);
				r.native = min_pos(r.native, time_native(workloads[w].fn, buf, n_native, &res_native));
				memcpy(buf, ref, BUF_SIZE);
				r.jit = min_pos(r.jit, time_bpfvm(prog, BPFVM_ENGINE_JIT, buf, n_jit, &res_jit, &rc));
				memcpy(buf, ref, BUF_SIZE);
				r.interp = min_pos(r.interp, time_bpfvm(prog, BPFVM_ENGINE_INTERP, buf, n_interp,
									&res_interp, &rc));
				if (kp.obj && r.kernel >= 0) {
					double t = time_kernel(&kp, n_jit, &res_kernel, why, sizeof(why));
					if (t < 0)
						fprintf(stderr, "  %s/%s: kernel: %s\n", name, cpus[c], why);
					r.kernel = t < 0 ? t : min_pos(r.kernel, t);
				}
			}
			if (kp.obj)
				bpf_object__close(kp.obj);
			if (res_native != res_jit || res_interp != res_jit ||
			    (r.kernel > 0 && res_kernel != res_jit)) {
				fprintf(stderr, "  %s/%s: RESULTS DIFFER native %llx interp %llx jit %llx kernel %llx\n",
					name, cpus[c], res_native, (unsigned long long)res_interp,
					(unsigned long long)res_jit, res_kernel);
				mismatches++;
			}
			char kbuf[16] = "-", jk[16] = "-";
			if (r.kernel > 0) {
				snprintf(kbuf, sizeof(kbuf), "%.0f", r.kernel);
				snprintf(jk, sizeof(jk), "%.2f", r.jit / r.kernel);
			}
			printf("%-8s %-7s %6zu %11.0f %9.0f%s %10s %10.0f %8s %8.2f %8.1f\n", name, cpus[c], n,
			       r.interp, r.jit, r.checked ? "*" : " ", kbuf, r.native, jk, r.jit / r.native,
			       r.interp / r.jit);
			r_jk[nr] = r.kernel > 0 ? r.jit / r.kernel : 0;
			r_jn[nr] = r.jit / r.native;
			r_ij[nr] = r.interp / r.jit;
			nr++;
			if (!r.checked) {
				v_jk[nv] = r_jk[nr - 1];
				v_jn[nv] = r_jn[nr - 1];
				nv++;
			}
			measure_compile(prog, &cs);
			bpfvm_prog_destroy(prog);
		}
		bpf_object__close(obj);
	}
	printf("geomean: jit/kernel %.2f, jit/native %.2f, interp/jit %.1f%s\n", geomean(r_jk, nr),
	       geomean(r_jn, nr), geomean(r_ij, nr), kernel_ok ? "" : " (kernel column needs root)");
	printf("geomean of the %d rows bpfvm verified (no run-time checks, as the kernel): "
	       "jit/kernel %.2f, jit/native %.2f\n", nv, geomean(v_jk, nv), geomean(v_jn, nv));
	printf("JIT compile speed: %.2f M eBPF instructions/s (%llu instructions, bpfvm__jit_prepare only)\n",
	       cs.ns > 0 ? (double)cs.insns / cs.ns * 1e3 : 0.0, cs.insns);
	if (mismatches)
		printf("%d workloads gave different results between engines (see above)\n", mismatches);
	printf("* = bpfvm's verifier rejected the program: both bpfvm engines ran it in checked mode\n");
	bpfvm_vm_destroy(vm);
	return mismatches ? 1 : 0;
}
