/* Map lookups from a BPF program, bpfvm (interpreter and JIT) next to the
 * kernel running the same program through BPF_PROG_TEST_RUN.
 *
 * The program does LOOKUPS unrolled lookups per run with scattered keys
 * (i * 2654435761 masked to the key range) and counts the hits:
 *   hash:  a HASH map holding 1M u32 keys (0..2^20-1), u64 values
 *   array: an ARRAY map of 1M u64 values
 *   lpm:   an LPM_TRIE of 64K prefixes /16../32 at scattered addresses,
 *          looked up with full addresses inside them (every lookup hits)
 * Printed: ns per lookup (run time / LOOKUPS, the few instructions around
 * each call included, the same for every engine), fastest of BATCHES
 * batches. Verified mode when the
 * verifier accepts the program, else checked mode (slower: helpers
 * validate and register every pointer). The kernel column is skipped without
 * permission for bpf(2). */
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "bpfvm/maps.h"
#include "bpfvm/vm.h"

#define NKEYS (1u << 20)
#define LOOKUPS 1000
#define RUNS 400
/* The machine may be shared: each engine runs BATCHES batches of RUNS runs
 * and the fastest batch counts, for the kernel too. */
#define BATCHES 5

#define NPREFIXES (1u << 16)

/* One benchmarked map: its definition, how it is filled and the key of
 * the i-th lookup (what the program stores at r10 - key_size). */
struct bench_case {
	const char *name;
	enum bpfvm_map_type type;
	uint32_t key_size, max_entries, flags;
	uint32_t fill; /* elements inserted before the runs */
	void (*fill_key)(uint32_t i, uint8_t *key);
	void (*lookup_key)(uint32_t i, uint8_t *key);
};

static void u32_key(uint32_t i, uint8_t *key)
{
	memcpy(key, &i, 4);
}

static void scattered_u32_key(uint32_t i, uint8_t *key)
{
	uint32_t k = (uint32_t)(i * 2654435761u) & (NKEYS - 1);
	memcpy(key, &k, 4);
}

/* LPM: NPREFIXES prefixes of 16 to 32 bits at scattered addresses
 * (struct bpf_lpm_trie_key: u32 prefixlen, then the address in network
 * order); lookups of full addresses inside scattered ones of them, so
 * every lookup hits, at the longest prefix that covers the address. */
static uint32_t prefix_addr(uint32_t i)
{
	return i * 2654435761u;
}

static void lpm_prefix_key(uint32_t i, uint8_t *key)
{
	uint32_t plen = 16 + i % 17, addr = prefix_addr(i);
	if (plen < 32)
		addr &= ~0u << (32 - plen);
	uint32_t be = __builtin_bswap32(addr);
	memcpy(key, &plen, 4);
	memcpy(key + 4, &be, 4);
}

static void lpm_lookup_key(uint32_t i, uint8_t *key)
{
	uint32_t which = (i * 7919u) % NPREFIXES, plen = 16 + which % 17, addr = prefix_addr(which);
	if (plen < 32) {
		uint32_t mask = ~0u << (32 - plen);
		addr = (addr & mask) | (i * 40503u & ~mask); /* anywhere inside the prefix */
	}
	uint32_t be = __builtin_bswap32(addr), full = 32;
	memcpy(key, &full, 4);
	memcpy(key + 4, &be, 4);
}

static const struct bench_case cases[] = {
	{"hash", BPFVM_MAP_HASH, 4, NKEYS, 0, NKEYS, u32_key, scattered_u32_key},
	{"array", BPFVM_MAP_ARRAY, 4, NKEYS, 0, 0, u32_key, scattered_u32_key},
	{"lpm", BPFVM_MAP_LPM_TRIE, 8, NPREFIXES, BPF_F_NO_PREALLOC, NPREFIXES, lpm_prefix_key,
	 lpm_lookup_key},
};

static struct bpfvm_insn mk(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	return (struct bpfvm_insn){.code = code, .dst = dst, .src = src, .off = off, .imm = imm};
}

/* LOOKUPS unrolled lookups, without loops or branches so that the
 * verifiers need no state pruning:
 *   *(u32 *)(r10 - ks + 4j) = key_i word j; r1 = map[0] ll; r2 = r10 - ks;
 *   call 1
 * with key_i from the case (hash and array: (i * 2654435761) & (NKEYS - 1),
 * every key present). Returns 1 if the last lookup found its key (a check
 * the maps hold). */
static size_t build_prog(const struct bench_case *bc, struct bpfvm_insn *p)
{
	size_t n = 0;
	int16_t ks = (int16_t)bc->key_size;
	p[n++] = mk(0xb7, 7, 0, 0, 0);                        /* r7 = 0 */
	for (uint32_t i = 0; i < LOOKUPS; i++) {
		uint8_t key[8];
		bc->lookup_key(i, key);
		for (int16_t w = 0; w < ks; w += 4) {
			int32_t word;
			memcpy(&word, key + w, 4);
			p[n++] = mk(0x62, 10, 0, (int16_t)(w - ks), word); /* *(u32 *)(r10 - ..) = */
		}
		p[n++] = mk(0x18, 1, 1, 0, 0);                /* r1 = map[0] ll */
		p[n++] = mk(0, 0, 0, 0, 0);
		p[n++] = mk(0xbf, 2, 10, 0, 0);               /* r2 = r10 */
		p[n++] = mk(0x07, 2, 0, 0, -ks);              /* r2 += -key_size */
		p[n++] = mk(0x85, 0, 0, 0, 1);                /* call 1 */
	}
	p[n++] = mk(0x15, 0, 0, 1, 0);                        /* if r0 == 0 goto +1 */
	p[n++] = mk(0xb7, 7, 0, 0, 1);                        /* r7 = 1 */
	p[n++] = mk(0xbf, 0, 7, 0, 0);                        /* r0 = r7 */
	p[n++] = mk(0x95, 0, 0, 0, 0);                        /* exit */
	return n;
}

/* CPU time of this thread: the machine may be shared, and the kernel's
 * BPF_PROG_TEST_RUN duration leaves out time it was rescheduled too. */
static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

/* ns per lookup in the kernel, or a negative errno. */
static double kernel_ns(const struct bench_case *bc, struct bpfvm_insn *insns, size_t n,
			uint64_t *hits)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.map_type = bc->type;
	a.key_size = bc->key_size;
	a.value_size = 8;
	a.max_entries = bc->max_entries;
	a.map_flags = bc->flags;
	long mfd = sys_bpf(BPF_MAP_CREATE, &a);
	if (mfd < 0)
		return -errno;
	{
		for (uint32_t k = 0; k < bc->fill; k++) {
			uint64_t v = k;
			uint8_t key[8];
			bc->fill_key(k, key);
			memset(&a, 0, sizeof(a));
			a.map_fd = (uint32_t)mfd;
			a.key = (uint64_t)(uintptr_t)key;
			a.value = (uint64_t)(uintptr_t)&v;
			if (sys_bpf(BPF_MAP_UPDATE_ELEM, &a) < 0) {
				close((int)mfd);
				return -errno;
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		if (insns[i].code == 0x18 && insns[i].src == 1)
			insns[i].imm = (int32_t)mfd;
	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	a.insns = (uint64_t)(uintptr_t)insns;
	a.insn_cnt = (uint32_t)n;
	a.license = (uint64_t)(uintptr_t)"GPL";
	long pfd = sys_bpf(BPF_PROG_LOAD, &a);
	if (pfd < 0) {
		int e = errno;
		close((int)mfd);
		return -e;
	}
	uint8_t pkt[64] = {0};
	double best = -1;
	for (int batch = 0; batch < BATCHES; batch++) {
		memset(&a, 0, sizeof(a));
		a.test.prog_fd = (uint32_t)pfd;
		a.test.data_in = (uint64_t)(uintptr_t)pkt;
		a.test.data_size_in = sizeof(pkt);
		a.test.repeat = RUNS;
		if (sys_bpf(BPF_PROG_TEST_RUN, &a) < 0) {
			best = -errno;
			break;
		}
		*hits = a.test.retval;
		double ns = (double)a.test.duration / LOOKUPS; /* duration is per run */
		if (best < 0 || ns < best)
			best = ns;
	}
	close((int)pfd);
	close((int)mfd);
	return best;
}

static struct bpfvm_map *make_map(struct bpfvm_vm *vm, const struct bench_case *bc)
{
	struct bpfvm_map_def def = {.type = bc->type, .key_size = bc->key_size, .value_size = 8,
				    .max_entries = bc->max_entries, .flags = bc->flags};
	struct bpfvm_map *m;
	if (bpfvm_map_create(vm, &def, &m))
		return NULL;
	for (uint32_t k = 0; k < bc->fill; k++) {
		uint64_t v = k;
		uint8_t key[8];
		bc->fill_key(k, key);
		bpfvm_map_update(m, key, &v, BPFVM_ANY);
	}
	return m;
}

/* Anonymous memory of this process in transparent huge pages, in MB (-1 if
 * unknown): tells whether a big map got the huge pages it asked for. */
static long huge_mb(void)
{
	FILE *f = fopen("/proc/self/smaps_rollup", "r");
	if (!f)
		return -1;
	char line[256];
	long kb = -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb < 0 ? -1 : kb / 1024;
}

/* ns per lookup with one engine, or a negative errno (message printed). */
static double bpfvm_ns(struct bpfvm_vm *vm, struct bpfvm_map *map, const struct bpfvm_insn *insns,
		       size_t n, enum bpfvm_engine engine, const char **mode, uint64_t *hits)
{
	struct bpfvm_prog_opts opts = {.name = "bench", .engine = engine, .maps = &map, .nmaps = 1,
				       .safety = BPFVM_SAFETY_VERIFIED};
	struct bpfvm_prog *prog;
	*mode = "verified";
	if (bpfvm_prog_load(vm, insns, n, &opts, &prog)) {
		fprintf(stderr, "(verifier: %s)\n", bpfvm_vm_last_error(vm));
		opts.safety = BPFVM_SAFETY_CHECKED;
		*mode = "checked";
		if (bpfvm_prog_load(vm, insns, n, &opts, &prog))
			return -EINVAL;
	}
	struct bpfvm_run run = {.engine = engine};
	if (bpfvm_prog_run(prog, &run)) {
		bpfvm_prog_destroy(prog);
		return -EFAULT;
	}
	*hits = run.retval;
	double ns = -1;
	for (int batch = 0; batch < BATCHES; batch++) {
		double start = now_ns();
		for (int i = 0; i < RUNS; i++)
			bpfvm_prog_run(prog, &run);
		double batch_ns = (now_ns() - start) / RUNS / LOOKUPS;
		if (ns < 0 || batch_ns < ns)
			ns = batch_ns;
	}
	bpfvm_prog_destroy(prog);
	return ns;
}

static void bench_case(const struct bench_case *bc, const struct bpfvm_insn *insns, size_t n)
{
	const char *name = bc->name;
	struct bpfvm_vm *vm;
	if (bpfvm_vm_create(&vm))
		return;
	struct bpfvm_map *map = make_map(vm, bc);
	if (!map) {
		printf("%-6s cannot create the map: %s\n", name, bpfvm_vm_last_error(vm));
		bpfvm_vm_destroy(vm);
		return;
	}
	printf("%-6s map created, process memory in huge pages: %ld MB\n", name, huge_mb());
	const struct {
		enum bpfvm_engine engine;
		const char *name;
	} engines[] = {{BPFVM_ENGINE_INTERP, "interp"}, {BPFVM_ENGINE_JIT, "jit"}};
	for (size_t e = 0; e < 2; e++) {
		const char *mode;
		uint64_t hits = 0;
		double ns = bpfvm_ns(vm, map, insns, n, engines[e].engine, &mode, &hits);
		if (ns < 0)
			printf("%-6s bpfvm %-7s: not available (%s)\n", name, engines[e].name,
			       bpfvm_vm_last_error(vm));
		else
			printf("%-6s bpfvm %-7s: %6.1f ns/lookup  (%s, last found %llu)\n", name,
			       engines[e].name, ns, mode, (unsigned long long)hits);
	}
	bpfvm_vm_destroy(vm);
	struct bpfvm_insn *copy = malloc(n * sizeof(*copy));
	memcpy(copy, insns, n * sizeof(*copy));
	uint64_t hits = 0;
	double kns = kernel_ns(bc, copy, n, &hits);
	if (kns < 0)
		printf("%-6s kernel        : skipped (%s)\n", name, strerror((int)-kns));
	else
		printf("%-6s kernel        : %6.1f ns/lookup  (BPF_PROG_TEST_RUN, last found %llu)\n", name,
		       kns, (unsigned long long)hits);
	free(copy);
}

int main(void)
{
	struct bpfvm_insn *insns = malloc((LOOKUPS * 8 + 4) * sizeof(*insns));
	if (!insns)
		return 1;
	printf("%d lookups per run, best of %d batches of %d runs; hash and array: %u keys, "
	       "lpm: %u prefixes /16../32\n", LOOKUPS, BATCHES, RUNS, NKEYS, NPREFIXES);
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
		bench_case(&cases[c], insns, build_prog(&cases[c], insns));
	free(insns);
	return 0;
}
