/* XDP benchmark: a program that parses to L4, counts packets per protocol
 * in an ARRAY map and drops some (tests/testrun/progs/parse.bpf.c, built
 * with clang at run time), over 1M packets (4096 distinct frames, each run
 * 244 times): packets per second for bpfvm's engines and for the kernel's
 * BPF_PROG_TEST_RUN (as root), on the same packets.
 *
 *   build/bench/bench_xdp [packets] [interp|jit|kernel]
 *
 * (the optional last argument runs one side only, e.g. under perf record)
 *
 * bpfvm times are thread CPU time (the machine may be shared); the
 * kernel's repeat figure is its own measured duration per run. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bpfvm/bpfvm.h"
#include "bpfvm/object.h"
#include "bpfvm/testrun.h"

#define NDISTINCT 4096
#define OBJ_PATH "build/bench/bench_xdp_parse.bpf.o"

static uint8_t frames[NDISTINCT][128];
static uint32_t lens[NDISTINCT];

static uint32_t rnd(uint32_t *s)
{
	*s = *s * 1664525u + 1013904223u;
	return *s >> 8;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v;
}

/* Ethernet (10% with a VLAN tag), IPv4 (70%, 5% TTL 1) or IPv6, TCP/UDP/
 * ICMP, 20-60 bytes of payload; some UDP to port 9 and TCP SYN to 23. */
static uint32_t make_frame(uint32_t *seed, uint8_t *p)
{
	uint32_t r = rnd(seed), o = 12;
	memset(p, 0, 128);
	p[0] = 2, p[5] = 1, p[6] = 2, p[11] = 2;
	if (r % 10 == 0) {
		put16(p + 12, 0x8100), put16(p + 14, (uint16_t)(r & 0xfff));
		o += 4;
	}
	int v6 = (r >> 4) % 10 >= 7, l4 = (int)((r >> 8) % 3);
	uint8_t proto = l4 == 0 ? 6 : l4 == 1 ? 17 : (v6 ? 58 : 1);
	uint32_t payload = 20 + rnd(seed) % 40, l4len = (proto == 6 ? 20 : 8) + payload;
	put16(p + o, v6 ? 0x86dd : 0x0800);
	o += 2;
	if (v6) {
		p[o] = 0x60, put16(p + o + 4, (uint16_t)l4len), p[o + 6] = proto, p[o + 7] = 64;
		o += 40;
	} else {
		p[o] = 0x45, put16(p + o + 2, (uint16_t)(20 + l4len));
		p[o + 8] = (r >> 12) % 20 == 0 ? 1 : 64, p[o + 9] = proto;
		o += 20;
	}
	if (proto == 6) {
		put16(p + o + 2, (r >> 16) % 8 == 0 ? 23 : 80), p[o + 12] = 0x50, p[o + 13] = 0x02;
	} else if (proto == 17) {
		put16(p + o + 2, (r >> 16) % 8 == 0 ? 9 : 53), put16(p + o + 4, (uint16_t)l4len);
	} else {
		p[o] = (r >> 16) % 2 ? 8 : 0;
	}
	return o + l4len;
}

static double cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void row(const char *who, const char *how, uint64_t packets, double ns)
{
	double per = ns / (double)packets;
	printf("| %-34s | %-34s | %9llu | %9.1f | %9.2f |\n", who, how, (unsigned long long)packets,
	       per, per > 0 ? 1e3 / per : 0.0);
}

/* bpfvm: one engine, (a) a test run per packet, (b) repeat per frame. */
static void bench_bpfvm(enum bpfvm_engine engine, const char *name, uint64_t total)
{
	struct bpfvm_vm *vm;
	struct bpfvm_object *obj;
	if (bpfvm_vm_create(&vm) || bpfvm_object_open_file(vm, OBJ_PATH, NULL, &obj)) {
		fprintf(stderr, "bpfvm: cannot open %s\n", OBJ_PATH);
		return;
	}
	struct bpfvm_object_prog *op = bpfvm_object_find_prog(obj, "xdp_parse");
	struct bpfvm_prog_opts po = {.safety = BPFVM_SAFETY_VERIFIED, .engine = engine};
	const char *mode = "verified";
	int rc = bpfvm_object_prog_load(op, &po);
	if (rc == -ENOTSUP && strstr(bpfvm_vm_last_error(vm), "verifier")) {
		po.safety = BPFVM_SAFETY_CHECKED;
		mode = "checked";
		rc = bpfvm_object_prog_load(op, &po);
	}
	if (rc) {
		char who[64];
		snprintf(who, sizeof(who), "bpfvm %s", name);
		printf("| %-34s | %-34s | %9s | %9s | %9s |\n", who,
		       strstr(bpfvm_vm_last_error(vm), "not available") ? "not available here" : "load failed",
		       "-", "-", "-");
		if (!strstr(bpfvm_vm_last_error(vm), "not available"))
			fprintf(stderr, "bpfvm %s: %s\n", name, bpfvm_vm_last_error(vm));
		bpfvm_object_close(obj);
		bpfvm_vm_destroy(vm);
		return;
	}
	struct bpfvm_prog *prog = bpfvm_object_prog_handle(op);
	struct bpfvm_test_runner *runner;
	bpfvm_test_runner_create(prog, &runner);
	char who[64], how[64];
	snprintf(who, sizeof(who), "bpfvm %s (%s)", name, mode);
	/* Per packet as a capture replay runs: no per-call timing. */
	struct bpfvm_test_run_opts o = {.engine = engine, .no_duration = 1};
	double start = cpu_ns();
	for (uint64_t i = 0; i < total; i++) {
		o.data_in = frames[i % NDISTINCT];
		o.data_size_in = lens[i % NDISTINCT];
		o.repeat = 1;
		if (bpfvm_test_runner_run(runner, &o)) {
			fprintf(stderr, "bpfvm: %s\n", o.error);
			break;
		}
	}
	row(who, "test run per packet", total, cpu_ns() - start);
	uint32_t repeat = (uint32_t)(total / NDISTINCT);
	start = cpu_ns();
	for (int i = 0; i < NDISTINCT; i++) {
		o.data_in = frames[i];
		o.data_size_in = lens[i];
		o.repeat = repeat;
		o.no_duration = 0;
		bpfvm_test_runner_run(runner, &o);
	}
	double cpu = cpu_ns() - start;
	snprintf(how, sizeof(how), "repeat %u per frame", repeat);
	row(who, how, (uint64_t)repeat * NDISTINCT, cpu);
	bpfvm_test_runner_destroy(runner);
	bpfvm_object_close(obj);
	bpfvm_vm_destroy(vm);
}

static void bench_kernel(uint64_t total)
{
	libbpf_set_print(NULL);
	struct bpf_object *obj = bpf_object__open_file(OBJ_PATH, NULL);
	if (!obj || bpf_object__load(obj)) {
		printf("| %-34s | %-34s | %9s | %9s | %9s |\n", "kernel BPF_PROG_TEST_RUN",
		       "not available (needs root)", "-", "-", "-");
		if (obj)
			bpf_object__close(obj);
		return;
	}
	int fd = bpf_program__fd(bpf_object__find_program_by_name(obj, "xdp_parse"));
	double start = cpu_ns();
	for (uint64_t i = 0; i < total; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frames[i % NDISTINCT],
			    .data_size_in = lens[i % NDISTINCT]);
		bpf_prog_test_run_opts(fd, &o);
	}
	row("kernel BPF_PROG_TEST_RUN (JIT)", "one bpf() call per packet", total, cpu_ns() - start);
	uint32_t repeat = (uint32_t)(total / NDISTINCT);
	double ns = 0;
	for (int i = 0; i < NDISTINCT; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frames[i], .data_size_in = lens[i],
			    .repeat = repeat);
		bpf_prog_test_run_opts(fd, &o);
		ns += (double)o.duration * repeat;
	}
	char how[64];
	snprintf(how, sizeof(how), "repeat %u per frame (kernel-timed)", repeat);
	row("kernel BPF_PROG_TEST_RUN (JIT)", how, (uint64_t)repeat * NDISTINCT, ns);
	bpf_object__close(obj);
}

int main(int argc, char **argv)
{
	uint64_t total = argc > 1 ? strtoull(argv[1], NULL, 0) : 1000000;
	if (total < NDISTINCT)
		total = NDISTINCT;
	if (system("mkdir -p build/bench && clang -O2 -g -target bpf -I/usr/include/$(uname -m)-linux-gnu "
		   "-c tests/testrun/progs/parse.bpf.c -o " OBJ_PATH)) {
		fprintf(stderr, "bench_xdp: needs clang (run from the source tree)\n");
		return 1;
	}
	uint32_t seed = 7;
	for (int i = 0; i < NDISTINCT; i++)
		lens[i] = make_frame(&seed, frames[i]);
	printf("XDP parse + count + drop, %llu packets (%d distinct frames)\n\n",
	       (unsigned long long)total, NDISTINCT);
	printf("| %-34s | %-34s | %9s | %9s | %9s |\n", "engine", "how", "packets", "ns/packet", "Mpps");
	printf("|%.36s|%.36s|%.11s|%.11s|%.11s|\n", "------------------------------------",
	       "------------------------------------", "-----------", "-----------", "-----------");
	const char *only = argc > 2 ? argv[2] : "";
	if (!*only || !strcmp(only, "interp"))
		bench_bpfvm(BPFVM_ENGINE_INTERP, "interpreter", total);
	if (!*only || !strcmp(only, "jit"))
		bench_bpfvm(BPFVM_ENGINE_JIT, "JIT", total);
	if (!*only || !strcmp(only, "kernel"))
		bench_kernel(total);
	return 0;
}
