/* Differential test against the kernel: the same map definitions and the
 * same random operation sequences (update with every flag, lookup,
 * delete, get_next_key from present, missing and no key,
 * lookup_and_delete) run on kernel maps through bpf(2) and on bpfvm maps;
 * every return code, errno, value and next key must agree. Hash maps use
 * BPF_F_ZERO_SEED so that iteration order is comparable. Skips cleanly
 * when bpf(2) is not allowed (EPERM) or absent (ENOSYS). */
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bpfvm/maps.h"
#include "bpfvm/vm.h"
#include "common/harness.h"

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

static int kernel_rc(long r)
{
	return r < 0 ? -errno : 0;
}

static int kmap_create(const struct bpfvm_map_def *d)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.map_type = d->type;
	a.key_size = d->key_size;
	a.value_size = d->value_size;
	a.max_entries = d->max_entries;
	a.map_flags = d->flags;
	long fd = sys_bpf(BPF_MAP_CREATE, &a);
	return fd < 0 ? -errno : (int)fd;
}

static int kmap_op(int cmd, int fd, const void *key, void *value, uint64_t flags)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.map_fd = (uint32_t)fd;
	a.key = (uint64_t)(uintptr_t)key;
	if (cmd == BPF_MAP_GET_NEXT_KEY)
		a.next_key = (uint64_t)(uintptr_t)value;
	else
		a.value = (uint64_t)(uintptr_t)value;
	a.flags = flags;
	return kernel_rc(sys_bpf(cmd, &a));
}

/* Is the kernel usable? Sets a skip reason if not. */
static int kernel_available(const char **why)
{
	struct bpfvm_map_def d = {.type = BPFVM_MAP_ARRAY, .key_size = 4, .value_size = 4, .max_entries = 1};
	int fd = kmap_create(&d);
	if (fd == -EPERM || fd == -ENOSYS || fd == -EACCES) {
		*why = fd == -ENOSYS ? "bpf(2) is not available" : "bpf(2) is not permitted";
		return 0;
	}
	if (fd >= 0)
		close(fd);
	return 1;
}

static unsigned rnd(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

static int percpu_type(enum bpfvm_map_type t)
{
	return t == BPFVM_MAP_PERCPU_ARRAY || t == BPFVM_MAP_PERCPU_HASH;
}

/* The kernel's number of possible CPUs (its per-CPU value count). */
static int kernel_cpus(void)
{
	int first = 0, last = 0;
	FILE *f = fopen("/sys/devices/system/cpu/possible", "r");
	if (f) {
		if (fscanf(f, "%d-%d", &first, &last) < 2)
			last = first;
		fclose(f);
	}
	return last + 1;
}

struct diff_ctx {
	const char *what;
	int mismatches;
	int ok[6], failed[6]; /* per operation: both succeeded / both failed alike */
};

static void mismatch(struct diff_ctx *c, int step, const char *op, int krc, int vrc)
{
	if (c->mismatches++ < 5)
		harness_fail(__FILE__, __LINE__, "%s step %d %s: kernel %d, bpfvm %d", c->what, step, op,
			     krc, vrc);
}

/* Keys: a 4-byte little-endian index in a keyspace, padded to key_size.
 * LPM: idx % (max prefixlen + 1) is the prefixlen, the rest r gives the
 * data: each byte's top 2 bits come from 2 bits of r (so prefixes share
 * and part at many lengths: intermediate nodes), the low bits from r too
 * when r & 4 (bits past the prefix that get_next_key must give back). */
static void make_key(const struct bpfvm_map_def *d, unsigned idx, uint8_t *key)
{
	memset(key, 0, d->key_size);
	if (d->type == BPFVM_MAP_LPM_TRIE) {
		uint32_t data_size = d->key_size - 4, lengths = data_size * 8 + 1;
		uint32_t plen = idx % lengths, r = idx / lengths;
		memcpy(key, &plen, 4);
		for (uint32_t j = 0; j < data_size; j++)
			key[4 + j] = (uint8_t)((((r >> (2 * (j % 8))) & 3) << 6) |
					       ((((r >> 4) + j) & 0x3f) * ((r & 4) >> 2)));
		return;
	}
	for (uint32_t i = 0; i < d->key_size; i++)
		key[i] = (uint8_t)(idx >> (8 * (i % 4)));
}

static void run_sequence(const char *what, const struct bpfvm_map_def *d, unsigned keyspace,
			 int steps, unsigned seed)
{
	struct diff_ctx c = {what, 0};
	int kfd = kmap_create(d);
	struct bpfvm_vm *vm;
	bpfvm_vm_create(&vm);
	struct bpfvm_map *m;
	int vrc = bpfvm_map_create(vm, d, &m);
	CHECK_EQ(vrc, kfd < 0 ? kfd : 0);
	if (kfd < 0 || vrc) {
		if (kfd >= 0)
			close(kfd);
		bpfvm_vm_destroy(vm);
		return;
	}
	int queue = d->type == BPFVM_MAP_QUEUE || d->type == BPFVM_MAP_STACK;
	size_t ks = d->key_size ? d->key_size : 1, vs = d->value_size;
	size_t fill = vs; /* bytes written by updates */
	if (percpu_type(d->type)) {
		/* Host layout: 8-byte strides, one per CPU; the kernel has
		 * kernel_cpus of them, bpfvm BPFVM_NR_CPUS. Compare the CPUs
		 * both have. */
		size_t stride = (vs + 7) & ~(size_t)7;
		int both = kernel_cpus() < BPFVM_NR_CPUS ? kernel_cpus() : BPFVM_NR_CPUS;
		fill = stride * (size_t)(kernel_cpus() > BPFVM_NR_CPUS ? kernel_cpus() : BPFVM_NR_CPUS);
		vs = stride * (size_t)both;
	}
	uint8_t key[64], kval[1024], vval[1024], knext[64], vnext[64];
	for (int step = 0; step < steps && c.mismatches < 5; step++) {
		unsigned r = rnd(&seed);
		int before = c.mismatches;
		make_key(d, r % keyspace, key);
		const void *kp = queue ? NULL : key;
		int op = (int)((r >> 10) % 6);
		int krc, rc;
		switch (op) {
		case 0: { /* update with a random flag (3 = invalid) */
			uint64_t flags = (r >> 14) % 4;
			for (size_t i = 0; i < fill; i++)
				kval[i] = (uint8_t)(r >> (i % 3)) ^ (uint8_t)(i / 8);
			krc = kmap_op(BPF_MAP_UPDATE_ELEM, kfd, kp, kval, flags);
			rc = bpfvm_map_update(m, kp, kval, flags);
			if (krc != rc)
				mismatch(&c, step, "update", krc, rc);
			break;
		}
		case 1:
			memset(kval, 0xee, fill);
			memset(vval, 0xee, fill);
			krc = kmap_op(BPF_MAP_LOOKUP_ELEM, kfd, kp, kval, 0);
			rc = bpfvm_map_lookup(m, kp, vval);
			if (krc != rc)
				mismatch(&c, step, "lookup", krc, rc);
			else if (!rc && memcmp(kval, vval, vs))
				mismatch(&c, step, "lookup value", 0, 1);
			break;
		case 2:
			krc = kmap_op(BPF_MAP_DELETE_ELEM, kfd, kp, NULL, 0);
			rc = bpfvm_map_delete(m, kp);
			if (krc != rc)
				mismatch(&c, step, "delete", krc, rc);
			break;
		case 3:
		case 4: {
			/* From no key, from a present key (the last one seen) or a
			 * random (maybe missing) key. */
			const void *from = (r >> 16) % 4 == 0 ? NULL : key;
			if (queue)
				from = NULL;
			memset(knext, 0, ks);
			memset(vnext, 0, ks);
			krc = kmap_op(BPF_MAP_GET_NEXT_KEY, kfd, from, knext, 0);
			rc = bpfvm_map_get_next_key(m, from, vnext);
			if (krc != rc)
				mismatch(&c, step, "get_next_key", krc, rc);
			else if (!rc && memcmp(knext, vnext, ks))
				mismatch(&c, step, "get_next_key key", 0, 1);
			break;
		}
		default:
			memset(kval, 0xee, fill);
			memset(vval, 0xee, fill);
			krc = kmap_op(BPF_MAP_LOOKUP_AND_DELETE_ELEM, kfd, kp, kval, 0);
			rc = bpfvm_map_lookup_and_delete(m, kp, vval);
			if (krc != rc)
				mismatch(&c, step, "lookup_and_delete", krc, rc);
			else if (!rc && memcmp(kval, vval, vs))
				mismatch(&c, step, "lookup_and_delete value", 0, 1);
			break;
		}
		if (c.mismatches == before)
			(rc ? c.failed : c.ok)[op]++;
	}
	/* Evidence the sequence exercised both outcomes of each operation. */
	printf("  %s: update %d/%d lookup %d/%d delete %d/%d next %d/%d lookup_and_delete %d/%d "
	       "(ok/errno)\n", what, c.ok[0], c.failed[0], c.ok[1], c.failed[1], c.ok[2], c.failed[2],
	       c.ok[3] + c.ok[4], c.failed[3] + c.failed[4], c.ok[5], c.failed[5]);
	CHECK_EQ(c.mismatches, 0);
	close(kfd);
	bpfvm_vm_destroy(vm);
}

#define ZERO_SEED BPF_F_ZERO_SEED

TEST(kernel_diff_hash)
{
	const char *why;
	if (!kernel_available(&why))
		SKIP(why);
	struct bpfvm_map_def d = {.type = BPFVM_MAP_HASH, .key_size = 4, .value_size = 8,
				  .max_entries = 32, .flags = ZERO_SEED};
	run_sequence("hash k4", &d, 64, 20000, 1);
	d.flags = ZERO_SEED | BPF_F_NO_PREALLOC;
	run_sequence("hash k4 no-prealloc", &d, 64, 20000, 2);
	struct bpfvm_map_def odd = {.type = BPFVM_MAP_HASH, .key_size = 6, .value_size = 3,
				    .max_entries = 40, .flags = ZERO_SEED};
	run_sequence("hash k6 v3", &odd, 100, 20000, 3);
	struct bpfvm_map_def big = {.type = BPFVM_MAP_HASH, .key_size = 20, .value_size = 16,
				    .max_entries = 7, .flags = ZERO_SEED};
	run_sequence("hash k20", &big, 12, 10000, 4);
}

TEST(kernel_diff_array)
{
	const char *why;
	if (!kernel_available(&why))
		SKIP(why);
	struct bpfvm_map_def d = {.type = BPFVM_MAP_ARRAY, .key_size = 4, .value_size = 12,
				  .max_entries = 10};
	run_sequence("array", &d, 14, 10000, 5);
}

TEST(kernel_diff_host_access_modes)
{
	const char *why;
	if (!kernel_available(&why))
		SKIP(why);
	struct bpfvm_map_def d = {.type = BPFVM_MAP_HASH, .key_size = 4, .value_size = 4,
				  .max_entries = 8, .flags = ZERO_SEED | BPF_F_RDONLY};
	run_sequence("hash rdonly", &d, 10, 2000, 9);
	d.flags = ZERO_SEED | BPF_F_WRONLY;
	run_sequence("hash wronly", &d, 10, 2000, 10);
	struct bpfvm_map_def a = {.type = BPFVM_MAP_ARRAY, .key_size = 4, .value_size = 4,
				  .max_entries = 8, .flags = BPF_F_RDONLY_PROG};
	run_sequence("array rdonly_prog", &a, 10, 2000, 11);
}

TEST(kernel_diff_percpu_maps)
{
	const char *why;
	if (!kernel_available(&why))
		SKIP(why);
	if (kernel_cpus() * 24 > 1024)
		SKIP("too many possible CPUs for the test's buffers");
	struct bpfvm_map_def a = {.type = BPFVM_MAP_PERCPU_ARRAY, .key_size = 4, .value_size = 12,
				  .max_entries = 6};
	run_sequence("percpu array", &a, 8, 5000, 12);
	struct bpfvm_map_def h = {.type = BPFVM_MAP_PERCPU_HASH, .key_size = 4, .value_size = 4,
				  .max_entries = 16, .flags = ZERO_SEED};
	run_sequence("percpu hash", &h, 24, 10000, 13);
}

TEST(kernel_diff_queue_stack)
{
	const char *why;
	if (!kernel_available(&why))
		SKIP(why);
	struct bpfvm_map_def q = {.type = BPFVM_MAP_QUEUE, .key_size = 0, .value_size = 8,
				  .max_entries = 5};
	run_sequence("queue", &q, 1, 5000, 6);
	struct bpfvm_map_def s = {.type = BPFVM_MAP_STACK, .key_size = 0, .value_size = 4,
				  .max_entries = 3};
	run_sequence("stack", &s, 1, 5000, 7);
}

TEST(kernel_diff_lpm_trie)
{
	const char *why;
	if (!kernel_available(&why))
		SKIP(why);
	struct bpfvm_map_def d = {.type = BPFVM_MAP_LPM_TRIE, .key_size = 8, .value_size = 4,
				  .max_entries = 16, .flags = BPF_F_NO_PREALLOC};
	run_sequence("lpm", &d, 33 * 6, 10000, 8);
	d.max_entries = 64;
	run_sequence("lpm k8 wide", &d, 33 * 64, 20000, 14);
	struct bpfvm_map_def k7 = {.type = BPFVM_MAP_LPM_TRIE, .key_size = 7, .value_size = 12,
				   .max_entries = 40, .flags = BPF_F_NO_PREALLOC};
	run_sequence("lpm k7", &k7, 25 * 48, 20000, 15);
	struct bpfvm_map_def k5 = {.type = BPFVM_MAP_LPM_TRIE, .key_size = 5, .value_size = 1,
				   .max_entries = 300, .flags = BPF_F_NO_PREALLOC};
	run_sequence("lpm k5", &k5, 9 * 64, 20000, 16);
	struct bpfvm_map_def k20 = {.type = BPFVM_MAP_LPM_TRIE, .key_size = 20, .value_size = 8,
				    .max_entries = 100, .flags = BPF_F_NO_PREALLOC};
	run_sequence("lpm k20", &k20, 129 * 16, 10000, 17);
}

TEST(kernel_diff_map_create_validation)
{
	const char *why;
	if (!kernel_available(&why))
		SKIP(why);
	static const struct bpfvm_map_def defs[] = {
		{BPFVM_MAP_ARRAY, 4, 8, 4, 0, 0, 0},
		{BPFVM_MAP_ARRAY, 8, 8, 4, 0, 0, 0},
		{BPFVM_MAP_ARRAY, 4, 0, 4, 0, 0, 0},
		{BPFVM_MAP_ARRAY, 4, 8, 0, 0, 0, 0},
		{BPFVM_MAP_ARRAY, 4, 8, 4, BPF_F_NO_PREALLOC, 0, 0},
		{BPFVM_MAP_ARRAY, 4, 8, 4, BPF_F_RDONLY | BPF_F_WRONLY, 0, 0},
		{BPFVM_MAP_ARRAY, 4, 8, 4, BPF_F_PRESERVE_ELEMS, 0, 0},
		{BPFVM_MAP_PERCPU_ARRAY, 4, 8, 4, BPF_F_MMAPABLE, 0, 0},
		{BPFVM_MAP_PERCPU_ARRAY, 4, 40000, 4, 0, 0, 0},
		{BPFVM_MAP_HASH, 0, 8, 4, 0, 0, 0},
		{BPFVM_MAP_HASH, 4, 0, 4, 0, 0, 0},
		{BPFVM_MAP_HASH, 4, 8, 0, 0, 0, 0},
		{BPFVM_MAP_HASH, 4, 8, 4, BPF_F_NO_COMMON_LRU, 0, 0},
		{BPFVM_MAP_HASH, 4, 8, 4, BPF_F_MMAPABLE, 0, 0},
		{BPFVM_MAP_HASH, 600, 8, 4, 0, 0, 0},
		{BPFVM_MAP_LRU_HASH, 4, 8, 4, BPF_F_NO_PREALLOC, 0, 0},
		{BPFVM_MAP_LRU_HASH, 4, 8, 4, 0, 0, 0},
		{BPFVM_MAP_PERCPU_HASH, 4, 40000, 4, 0, 0, 0},
		{BPFVM_MAP_PROG_ARRAY, 4, 8, 4, 0, 0, 0},
		{BPFVM_MAP_PROG_ARRAY, 4, 4, 4, 0, 0, 0},
		{BPFVM_MAP_QUEUE, 4, 4, 4, 0, 0, 0},
		{BPFVM_MAP_QUEUE, 0, 0, 4, 0, 0, 0},
		{BPFVM_MAP_QUEUE, 0, 4, 0, 0, 0, 0},
		{BPFVM_MAP_STACK, 0, 4, 4, BPF_F_NO_PREALLOC, 0, 0},
		{BPFVM_MAP_LPM_TRIE, 8, 4, 4, 0, 0, 0},
		{BPFVM_MAP_LPM_TRIE, 4, 4, 4, BPF_F_NO_PREALLOC, 0, 0},
		{BPFVM_MAP_LPM_TRIE, 261, 4, 4, BPF_F_NO_PREALLOC, 0, 0},
		{BPFVM_MAP_LPM_TRIE, 260, 4, 4, BPF_F_NO_PREALLOC, 0, 0},
		{BPFVM_MAP_LPM_TRIE, 8, 0, 4, BPF_F_NO_PREALLOC, 0, 0},
		{BPFVM_MAP_RINGBUF, 0, 0, 4096, 0, 0, 0},
		{BPFVM_MAP_RINGBUF, 0, 0, 8192 + 4096, 0, 0, 0},
		{BPFVM_MAP_RINGBUF, 0, 0, 2048, 0, 0, 0},
		{BPFVM_MAP_RINGBUF, 4, 0, 4096, 0, 0, 0},
		{BPFVM_MAP_RINGBUF, 0, 0, 4096, BPF_F_NO_PREALLOC, 0, 0},
		{BPFVM_MAP_PERF_EVENT_ARRAY, 4, 4, 4, 0, 0, 0},
		{BPFVM_MAP_PERF_EVENT_ARRAY, 4, 8, 4, 0, 0, 0},
	};
	struct bpfvm_vm *vm;
	bpfvm_vm_create(&vm);
	for (size_t i = 0; i < sizeof(defs) / sizeof(defs[0]); i++) {
		int kfd = kmap_create(&defs[i]);
		struct bpfvm_map *m;
		int rc = bpfvm_map_create(vm, &defs[i], &m);
		int want = kfd < 0 ? kfd : 0;
		if (rc != want)
			harness_fail(__FILE__, __LINE__, "def %zu (type %u k%u v%u max%u flags 0x%x): kernel %d, bpfvm %d",
				     i, defs[i].type, defs[i].key_size, defs[i].value_size,
				     defs[i].max_entries, defs[i].flags, want, rc);
		if (kfd >= 0)
			close(kfd);
		if (!rc)
			bpfvm_map_destroy(m);
	}
	bpfvm_vm_destroy(vm);
}
