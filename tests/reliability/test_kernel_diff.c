/* Differential against the live kernel at scale: programs from the fuzz
 * targets' structure-aware generator (tests/fuzz/progen.h, portable
 * constructs only) go through the kernel's verifier and BPF_PROG_TEST_RUN
 * (as socket filters) and through bpfvm (verifier, then interpreter and
 * JIT). Compared: the verdict, r0 (low 32 bits: the kernel's retval; the
 * program folds its high half, the registers and its stack words into
 * it) and the memory the program wrote (hash and array map contents).
 * Unlike tests/verifier/test_differential.c (verdicts and messages of its
 * own generator) this one compares results and memory.
 *
 * BPFVM_KDIFF_COUNT programs (default 200), seeds from BPFVM_KDIFF_FIRST
 * (default 1); BPFVM_KDIFF_VERBOSE=1 lists each disagreement (2: with
 * the program). Prints one
 * "kdiff:" line of figures (scripts/reliability-report.sh reads it).
 * The test fails on a program bpfvm accepts and the kernel rejects, and
 * on any result or memory difference for programs both accept; stricter
 * bpfvm verdicts are counted, not failed. Skips without bpf() rights. */
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/harness.h"
#include "fuzz/progen.h"

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

static int kmap_create(uint32_t type, uint32_t k, uint32_t v, uint32_t max)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.map_type = type;
	a.key_size = k;
	a.value_size = v;
	a.max_entries = max;
	return (int)sys_bpf(BPF_MAP_CREATE, &a);
}

static int klookup(void *map, const void *key, void *value)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.map_fd = (uint32_t)(uintptr_t)map;
	a.key = (uint64_t)(uintptr_t)key;
	a.value = (uint64_t)(uintptr_t)value;
	return sys_bpf(BPF_MAP_LOOKUP_ELEM, &a) ? -errno : 0;
}

struct kworld {
	int fds[3];
};

static int kworld_create(struct kworld *w)
{
	w->fds[0] = kmap_create(BPF_MAP_TYPE_HASH, 8, 16, 32);
	w->fds[1] = kmap_create(BPF_MAP_TYPE_ARRAY, 4, 16, 4);
	w->fds[2] = kmap_create(BPF_MAP_TYPE_RINGBUF, 0, 0, 4096);
	return w->fds[0] < 0 || w->fds[1] < 0 || w->fds[2] < 0 ? -errno : 0;
}

static void kworld_destroy(struct kworld *w)
{
	for (int i = 0; i < 3; i++)
		if (w->fds[i] >= 0)
			close(w->fds[i]);
}

/* Load (map indexes become the kernel's fds) and run once; 0 or -errno. */
static int krun(const struct bpfvm_insn *insns, size_t n, struct kworld *w, uint32_t *retval)
{
	struct bpfvm_insn *copy = malloc(n * sizeof(*copy));
	memcpy(copy, insns, n * sizeof(*copy));
	for (size_t i = 0; i + 1 < n; i++)
		if (copy[i].code == 0x18 && copy[i].src == BPFVM_LDDW_MAP_FD)
			copy[i].imm = w->fds[copy[i].imm];
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	a.insns = (uint64_t)(uintptr_t)copy;
	a.insn_cnt = (uint32_t)n;
	a.license = (uint64_t)(uintptr_t)"GPL";
	int fd = (int)sys_bpf(BPF_PROG_LOAD, &a);
	int err = fd < 0 ? -errno : 0;
	free(copy);
	if (fd < 0)
		return err;
	uint8_t pkt[64] = {0};
	memset(&a, 0, sizeof(a));
	a.test.prog_fd = (uint32_t)fd;
	a.test.data_in = (uint64_t)(uintptr_t)pkt;
	a.test.data_size_in = sizeof(pkt);
	a.test.repeat = 1;
	err = sys_bpf(BPF_PROG_TEST_RUN, &a) ? -errno : 0;
	*retval = a.test.retval;
	close(fd);
	return err ? err : 0;
}

struct bres {
	int loaded;
	uint64_t r0, maps;
	char msg[300];
};

static void brun(const struct bpfvm_insn *insns, size_t n, enum bpfvm_engine engine, struct bres *r)
{
	struct pg_world w;
	memset(r, 0, sizeof(*r));
	if (pg_world_create(&w))
		abort();
	struct bpfvm_prog_opts opts = {.name = "kdiff", .engine = engine, .maps = w.maps, .nmaps = 3};
	struct bpfvm_prog *prog;
	if (bpfvm_prog_load(w.vm, insns, n, &opts, &prog) == 0) {
		uint8_t ctx[64] = {0};
		struct bpfvm_run run = {.ctx = ctx, .ctx_size = sizeof(ctx), .engine = engine};
		r->loaded = bpfvm_prog_run(prog, &run) == 0;
		r->r0 = run.retval;
		if (!r->loaded)
			snprintf(r->msg, sizeof(r->msg), "run: %s", run.error);
		struct pg_digest d = {0xcbf29ce484222325ULL, 0};
		pg_digest_tables(&d, pg_bpfvm_lookup, w.maps[0], w.maps[1]);
		r->maps = d.h ^ d.items;
		bpfvm_prog_destroy(prog);
	} else {
		snprintf(r->msg, sizeof(r->msg), "%s", bpfvm_vm_last_error(w.vm));
	}
	pg_world_destroy(&w);
}

static long env_long(const char *name, long def)
{
	const char *v = getenv(name);
	return v ? atol(v) : def;
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

TEST(random_programs_agree_with_the_kernel_on_verdict_r0_and_memory)
{
	struct kworld probe;
	if (kworld_create(&probe)) {
		kworld_destroy(&probe);
		SKIP("bpf(BPF_MAP_CREATE) is not permitted here");
	}
	kworld_destroy(&probe);
	long count = env_long("BPFVM_KDIFF_COUNT", 200), first = env_long("BPFVM_KDIFF_FIRST", 1);
	int verbose = (int)env_long("BPFVM_KDIFF_VERBOSE", 0);
	long both = 0, neither = 0, only_kernel = 0, only_bpfvm = 0, r0_same = 0, mem_same = 0, jit_same = 0;
	static struct pg g;
	uint8_t bytes[700];
	for (long seed = first; seed < first + count; seed++) {
		uint64_t s = (uint64_t)seed * 0x9e3779b97f4a7c15ULL | 1;
		size_t len = 32 + xorshift(&s) % (sizeof(bytes) - 32);
		for (size_t i = 0; i < len; i++)
			bytes[i] = (uint8_t)(xorshift(&s) >> 24);
		size_t n = pg_generate_ex(&g, bytes, len, 1);
		struct kworld kw;
		if (kworld_create(&kw))
			abort();
		uint32_t kret = 0;
		int krc = krun(g.insns, n, &kw, &kret);
		struct bres bi, bj;
		brun(g.insns, n, BPFVM_ENGINE_INTERP, &bi);
		brun(g.insns, n, BPFVM_ENGINE_JIT, &bj);
		if (krc == 0 && bi.loaded) {
			both++;
			struct pg_digest d = {0xcbf29ce484222325ULL, 0};
			pg_digest_tables(&d, klookup, (void *)(uintptr_t)kw.fds[0], (void *)(uintptr_t)kw.fds[1]);
			uint64_t kmaps = d.h ^ d.items;
			r0_same += (uint32_t)bi.r0 == kret;
			mem_same += bi.maps == kmaps;
			jit_same += bj.loaded && bj.r0 == bi.r0 && bj.maps == bi.maps;
			if (verbose && ((uint32_t)bi.r0 != kret || bi.maps != kmaps)) {
				printf("DIFF seed %ld: r0 bpfvm %#x kernel %#x, maps %s\n", seed, (uint32_t)bi.r0, kret,
				       bi.maps == kmaps ? "same" : "differ");
				if (verbose > 1) {
					char *text = bpfvm_disasm(g.insns, n, BPFVM_SYNTAX_LLVM, 1);
					printf("%s", text ? text : "");
					free(text);
				}
			}
		} else if (krc == 0) {
			only_kernel++;
			if (verbose)
				printf("strict seed %ld: bpfvm rejects: %s\n", seed, bi.msg);
		} else if (bi.loaded) {
			only_bpfvm++;
			printf("UNSAFE seed %ld: bpfvm accepts, kernel rejects (%d)\n", seed, krc);
		} else {
			neither++;
		}
		kworld_destroy(&kw);
	}
	printf("kdiff: programs %ld, both accept %ld, both reject %ld, only kernel accepts %ld, only bpfvm accepts %ld, "
	       "r0 agree %ld/%ld, memory agree %ld/%ld, jit agrees with interpreter %ld/%ld\n",
	       count, both, neither, only_kernel, only_bpfvm, r0_same, both, mem_same, both, jit_same, both);
	CHECK_EQ(only_bpfvm, 0);
	CHECK_EQ(r0_same, both);
	CHECK_EQ(mem_same, both);
	CHECK_EQ(jit_same, both);
	CHECK(both > 0);
}
