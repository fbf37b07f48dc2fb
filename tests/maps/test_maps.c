/* Map semantics through the host API: each test names the kernel behaviour
 * it checks (flags, errnos, iteration, per-CPU layout, LRU, LPM, ...). */
#include <errno.h>
#include <stdlib.h>

#include "bpfvm/maps.h"
#include "bpfvm/vm.h"
#include "common/harness.h"

#define ENOTSUPP 524

static struct bpfvm_vm *new_vm(void)
{
	struct bpfvm_vm *vm = NULL;
	if (bpfvm_vm_create(&vm))
		return NULL;
	return vm;
}

static int create(struct bpfvm_vm *vm, enum bpfvm_map_type type, uint32_t ks, uint32_t vs,
		  uint32_t max, uint32_t flags, struct bpfvm_map **out)
{
	struct bpfvm_map_def def = {.type = type, .key_size = ks, .value_size = vs,
				    .max_entries = max, .flags = flags, .name = "m"};
	return bpfvm_map_create(vm, &def, out);
}

TEST(array_create_validates_like_kernel)
{
	struct bpfvm_vm *vm = new_vm();
	struct bpfvm_map *m;
	CHECK_EQ(create(vm, BPFVM_MAP_ARRAY, 8, 8, 4, 0, &m), -EINVAL);
	CHECK_CONTAINS(bpfvm_vm_last_error(vm), "key_size 4");
	CHECK_EQ(create(vm, BPFVM_MAP_ARRAY, 4, 0, 4, 0, &m), -EINVAL);
	CHECK_EQ(create(vm, BPFVM_MAP_ARRAY, 4, 8, 0, 0, &m), -EINVAL);
	CHECK_EQ(create(vm, BPFVM_MAP_ARRAY, 4, 8, 4, 1u << 0, &m), -EINVAL); /* NO_PREALLOC */
	CHECK_EQ(create(vm, BPFVM_MAP_PERCPU_ARRAY, 4, 40000, 4, 0, &m), -E2BIG);
	CHECK_EQ(create(vm, BPFVM_MAP_ARRAY, 4, 8, 4, 0, &m), 0);
	CHECK(bpfvm_map_id(m) >= 1);
	CHECK(bpfvm_vm_map_by_id(vm, bpfvm_map_id(m)) == m);
	bpfvm_vm_destroy(vm);
}

TEST(array_update_flags_and_errnos)
{
	struct bpfvm_vm *vm = new_vm();
	struct bpfvm_map *m;
	CHECK_EQ(create(vm, BPFVM_MAP_ARRAY, 4, 8, 4, 0, &m), 0);
	uint32_t k = 2;
	uint64_t v = 0x1122334455667788ull, out = 1;
	CHECK_EQ(bpfvm_map_lookup(m, &k, &out), 0);
	CHECK_EQ(out, 0); /* elements exist, zeroed */
	CHECK_EQ(bpfvm_map_update(m, &k, &v, BPFVM_NOEXIST), -EEXIST);
	CHECK_EQ(bpfvm_map_update(m, &k, &v, BPFVM_EXIST), 0);
	CHECK_EQ(bpfvm_map_update(m, &k, &v, 3), -EINVAL);
	CHECK_EQ(bpfvm_map_lookup(m, &k, &out), 0);
	CHECK_EQ(out, v);
	k = 4;
	CHECK_EQ(bpfvm_map_update(m, &k, &v, BPFVM_ANY), -E2BIG);
	CHECK_EQ(bpfvm_map_lookup(m, &k, &out), -ENOENT);
	CHECK_EQ(bpfvm_map_delete(m, &k), -EINVAL);
	k = 0;
	CHECK_EQ(bpfvm_map_delete(m, &k), -EINVAL);
	CHECK_EQ(bpfvm_map_lookup_and_delete(m, &k, &out), -ENOTSUPP);
	bpfvm_vm_destroy(vm);
}

TEST(array_get_next_key_restarts_out_of_range)
{
	struct bpfvm_vm *vm = new_vm();
	struct bpfvm_map *m;
	CHECK_EQ(create(vm, BPFVM_MAP_ARRAY, 4, 4, 3, 0, &m), 0);
	uint32_t k, next;
	CHECK_EQ(bpfvm_map_get_next_key(m, NULL, &next), 0);
	CHECK_EQ(next, 0);
	k = 1;
	CHECK_EQ(bpfvm_map_get_next_key(m, &k, &next), 0);
	CHECK_EQ(next, 2);
	k = 2;
	CHECK_EQ(bpfvm_map_get_next_key(m, &k, &next), -ENOENT);
	k = 99;
	CHECK_EQ(bpfvm_map_get_next_key(m, &k, &next), 0);
	CHECK_EQ(next, 0);
	bpfvm_vm_destroy(vm);
}

TEST(hash_flags_errnos_and_full_map)
{
	struct bpfvm_vm *vm = new_vm();
	struct bpfvm_map *m;
	CHECK_EQ(create(vm, BPFVM_MAP_HASH, 0, 8, 4, 0, &m), -EINVAL);
	CHECK_EQ(create(vm, BPFVM_MAP_LRU_HASH, 4, 8, 4, 1u << 0, &m), -ENOTSUPP);
	CHECK_EQ(create(vm, BPFVM_MAP_HASH, 4, 8, 2, 0, &m), 0);
	uint32_t k = 7;
	uint64_t v = 1, out = 0;
	CHECK_EQ(bpfvm_map_lookup(m, &k, &out), -ENOENT);
	CHECK_EQ(bpfvm_map_update(m, &k, &v, BPFVM_EXIST), -ENOENT);
	CHECK_EQ(bpfvm_map_update(m, &k, &v, BPFVM_NOEXIST), 0);
	CHECK_EQ(bpfvm_map_update(m, &k, &v, BPFVM_NOEXIST), -EEXIST);
	v = 2;
	CHECK_EQ(bpfvm_map_update(m, &k, &v, BPFVM_EXIST), 0);
	CHECK_EQ(bpfvm_map_lookup(m, &k, &out), 0);
	CHECK_EQ(out, 2);
	k = 8;
	CHECK_EQ(bpfvm_map_update(m, &k, &v, BPFVM_ANY), 0);
	k = 9;
	CHECK_EQ(bpfvm_map_update(m, &k, &v, BPFVM_ANY), -E2BIG);
	k = 8;
	CHECK_EQ(bpfvm_map_update(m, &k, &v, BPFVM_ANY), 0); /* replacing works when full */
	CHECK_EQ(bpfvm_map_lookup_and_delete(m, &k, &out), 0);
	CHECK_EQ(out, 2);
	CHECK_EQ(bpfvm_map_delete(m, &k), -ENOENT);
	k = 9;
	CHECK_EQ(bpfvm_map_update(m, &k, &v, BPFVM_ANY), 0);
	bpfvm_vm_destroy(vm);
}

/* Preallocated maps recycle their elements (after a grace period): a full
 * map that keeps deleting and inserting, or replacing, must keep the
 * kernel's count limit and never mix up values, whether an element comes
 * from the region, the free list or (while recycled ones wait) the heap. */
static void churn_full_map(enum bpfvm_map_type type, uint32_t flags, uint32_t vs)
{
	struct bpfvm_vm *vm = new_vm();
	struct bpfvm_map *m;
	enum { MAX = 64 };
	CHECK_EQ(create(vm, type, 4, vs, MAX, flags, &m), 0);
	int percpu = type == BPFVM_MAP_PERCPU_HASH;
	size_t host_vs = percpu ? ((vs + 7u) & ~7u) * BPFVM_NR_CPUS : vs;
	uint64_t *v = calloc(1, host_vs), *out = calloc(1, host_vs);
	uint32_t cur[MAX], extra = 0xffffffffu;
	for (uint32_t k = 0; k < MAX; k++) {
		cur[k] = k;
		v[0] = (uint64_t)k * 5;
		CHECK_EQ(bpfvm_map_update(m, &k, v, BPFVM_NOEXIST), 0);
	}
	CHECK_EQ(bpfvm_map_update(m, &extra, v, BPFVM_ANY), -E2BIG);
	for (uint32_t round = 0; round < 2000; round++) {
		uint32_t i = round % MAX;
		CHECK_EQ(bpfvm_map_delete(m, &cur[i]), 0);
		cur[i] += MAX;
		v[0] = 1;
		CHECK_EQ(bpfvm_map_update(m, &cur[i], v, BPFVM_NOEXIST), 0);
		CHECK_EQ(bpfvm_map_update(m, &extra, v, BPFVM_NOEXIST), -E2BIG);
		v[0] = (uint64_t)cur[i] * 5;
		CHECK_EQ(bpfvm_map_update(m, &cur[i], v, BPFVM_EXIST), 0); /* replace while full */
		CHECK_EQ(bpfvm_map_lookup(m, &cur[i], out), 0);
		CHECK_EQ(out[0], (uint64_t)cur[i] * 5);
	}
	uint32_t key, n = 0;
	int rc = bpfvm_map_get_next_key(m, NULL, &key);
	for (; rc == 0; rc = bpfvm_map_get_next_key(m, &key, &key)) {
		CHECK_EQ(bpfvm_map_lookup(m, &key, out), 0);
		CHECK_EQ(out[0], (uint64_t)key * 5);
		CHECK_EQ(key, cur[key % MAX]);
		n++;
	}
	CHECK_EQ(rc, -ENOENT);
	CHECK_EQ(n, MAX);
	free(v);
	free(out);
	bpfvm_vm_destroy(vm);
}

TEST(hash_full_map_recycles_elements_within_max_entries)
{
	churn_full_map(BPFVM_MAP_HASH, 0, 8);
	churn_full_map(BPFVM_MAP_HASH, 1u << 0, 8); /* BPF_F_NO_PREALLOC */
	churn_full_map(BPFVM_MAP_HASH, 0, 100);
	churn_full_map(BPFVM_MAP_PERCPU_HASH, 0, 12);
}

/* Big maps live in huge-page mappings (area.c): values must read back and
 * a full iteration must see every element. */
TEST(big_hash_and_array_maps_work_across_huge_page_areas)
{
	struct bpfvm_vm *vm = new_vm();
	struct bpfvm_map *h, *a;
	enum { N = 1u << 17 };
	CHECK_EQ(create(vm, BPFVM_MAP_HASH, 4, 8, N, 0, &h), 0);
	CHECK_EQ(create(vm, BPFVM_MAP_ARRAY, 4, 24, N, 0, &a), 0);
	for (uint32_t k = 0; k < N; k++) {
		uint64_t v = (uint64_t)k * 7, av[3] = {k, ~(uint64_t)k, 1};
		CHECK_EQ(bpfvm_map_update(h, &k, &v, BPFVM_NOEXIST), 0);
		CHECK_EQ(bpfvm_map_update(a, &k, av, BPFVM_ANY), 0);
	}
	uint32_t k = N;
	uint64_t v = 0, av[3];
	CHECK_EQ(bpfvm_map_update(h, &k, &v, BPFVM_NOEXIST), -E2BIG);
	for (k = 0; k < N; k += 4099) {
		CHECK_EQ(bpfvm_map_lookup(h, &k, &v), 0);
		CHECK_EQ(v, (uint64_t)k * 7);
		CHECK_EQ(bpfvm_map_lookup(a, &k, av), 0);
		CHECK_EQ(av[1], ~(uint64_t)k);
	}
	uint32_t n = 0;
	int rc = bpfvm_map_get_next_key(h, NULL, &k);
	for (; rc == 0; rc = bpfvm_map_get_next_key(h, &k, &k))
		n++;
	CHECK_EQ(n, N);
	bpfvm_vm_destroy(vm);
}

TEST(hash_get_next_key_visits_all_and_restarts_on_missing_key)
{
	struct bpfvm_vm *vm = new_vm();
	struct bpfvm_map *m;
	CHECK_EQ(create(vm, BPFVM_MAP_HASH, 4, 4, 100, 0, &m), 0);
	for (uint32_t k = 0; k < 50; k++)
		CHECK_EQ(bpfvm_map_update(m, &k, &k, BPFVM_ANY), 0);
	int seen[50] = {0}, count = 0;
	uint32_t key, next, first;
	int rc = bpfvm_map_get_next_key(m, NULL, &next);
	first = next;
	while (rc == 0) {
		CHECK(next < 50);
		if (next < 50)
			seen[next]++;
		count++;
		key = next;
		rc = bpfvm_map_get_next_key(m, &key, &next);
	}
	CHECK_EQ(rc, -ENOENT);
	CHECK_EQ(count, 50);
	for (int i = 0; i < 50; i++)
		CHECK_EQ(seen[i], 1);
	key = 1000; /* missing: restart from the first */
	CHECK_EQ(bpfvm_map_get_next_key(m, &key, &next), 0);
	CHECK_EQ(next, first);
	bpfvm_vm_destroy(vm);
}

TEST(percpu_maps_use_host_layout_of_all_cpus)
{
	struct bpfvm_vm *vm = new_vm();
	struct bpfvm_map *a, *h;
	CHECK_EQ(create(vm, BPFVM_MAP_PERCPU_ARRAY, 4, 4, 2, 0, &a), 0);
	CHECK_EQ(create(vm, BPFVM_MAP_PERCPU_HASH, 4, 4, 2, 0, &h), 0);
	/* value_size 4 takes 8 bytes per CPU in the host layout. */
	uint64_t in[BPFVM_NR_CPUS], out[BPFVM_NR_CPUS];
	for (int c = 0; c < BPFVM_NR_CPUS; c++)
		in[c] = 0xdead000000000000ull | (uint64_t)(c + 1);
	uint32_t k = 1;
	CHECK_EQ(bpfvm_map_update(a, &k, in, BPFVM_ANY), 0);
	CHECK_EQ(bpfvm_map_update(h, &k, in, BPFVM_ANY), 0);
	/* Whole 8-byte strides round-trip, padding included, as the
	 * kernel's copy_map_value_long (checked in test_kernel_diff). */
	CHECK_EQ(bpfvm_map_lookup(a, &k, out), 0);
	for (int c = 0; c < BPFVM_NR_CPUS; c++)
		CHECK_EQ(out[c], in[c]);
	CHECK_EQ(bpfvm_map_lookup(h, &k, out), 0);
	for (int c = 0; c < BPFVM_NR_CPUS; c++)
		CHECK_EQ(out[c], in[c]);
	bpfvm_vm_destroy(vm);
}

TEST(lru_hash_evicts_instead_of_failing)
{
	struct bpfvm_vm *vm = new_vm();
	struct bpfvm_map *m;
	CHECK_EQ(create(vm, BPFVM_MAP_LRU_HASH, 4, 8, 8, 0, &m), 0);
	for (uint32_t k = 0; k < 100; k++) {
		uint64_t v = k;
		CHECK_EQ(bpfvm_map_update(m, &k, &v, BPFVM_ANY), 0);
	}
	int count = 0;
	uint32_t key, next;
	int rc = bpfvm_map_get_next_key(m, NULL, &next);
	while (rc == 0) {
		count++;
		key = next;
		rc = bpfvm_map_get_next_key(m, &key, &next);
	}
	CHECK_EQ(count, 8);
	/* The most recent insert survives. */
	uint64_t out;
	key = 99;
	CHECK_EQ(bpfvm_map_lookup(m, &key, &out), 0);
	CHECK_EQ(out, 99);
	key = 99;
	uint64_t v = 1;
	CHECK_EQ(bpfvm_map_update(m, &key, &v, BPFVM_NOEXIST), -EEXIST);
	bpfvm_vm_destroy(vm);
}

TEST(queue_and_stack_order_overwrite_and_errnos)
{
	struct bpfvm_vm *vm = new_vm();
	struct bpfvm_map *q, *s;
	CHECK_EQ(create(vm, BPFVM_MAP_QUEUE, 4, 4, 2, 0, &q), -EINVAL); /* key_size must be 0 */
	CHECK_EQ(create(vm, BPFVM_MAP_QUEUE, 0, 4, 2, 0, &q), 0);
	CHECK_EQ(create(vm, BPFVM_MAP_STACK, 0, 4, 2, 0, &s), 0);
	uint32_t v, out;
	CHECK_EQ(bpfvm_map_lookup(q, NULL, &out), -ENOENT);
	for (v = 1; v <= 2; v++) {
		CHECK_EQ(bpfvm_map_update(q, NULL, &v, BPFVM_ANY), 0);
		CHECK_EQ(bpfvm_map_update(s, NULL, &v, BPFVM_ANY), 0);
	}
	v = 3;
	CHECK_EQ(bpfvm_map_update(q, NULL, &v, BPFVM_ANY), -E2BIG);
	CHECK_EQ(bpfvm_map_update(q, NULL, &v, BPFVM_NOEXIST), -EINVAL);
	CHECK_EQ(bpfvm_map_update(q, NULL, &v, BPFVM_EXIST), 0); /* drops the oldest (1) */
	CHECK_EQ(bpfvm_map_lookup(q, NULL, &out), 0);
	CHECK_EQ(out, 2);
	CHECK_EQ(bpfvm_map_lookup_and_delete(q, NULL, &out), 0);
	CHECK_EQ(out, 2);
	CHECK_EQ(bpfvm_map_lookup_and_delete(q, NULL, &out), 0);
	CHECK_EQ(out, 3);
	CHECK_EQ(bpfvm_map_lookup_and_delete(q, NULL, &out), -ENOENT);
	CHECK_EQ(bpfvm_map_lookup_and_delete(s, NULL, &out), 0);
	CHECK_EQ(out, 2); /* stack: newest first */
	CHECK_EQ(bpfvm_map_delete(s, NULL), -EINVAL);
	bpfvm_vm_destroy(vm);
}

static void lpm_key(uint8_t key[8], uint32_t plen, uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	memcpy(key, &plen, 4);
	key[4] = a, key[5] = b, key[6] = c, key[7] = d;
}

TEST(lpm_trie_longest_prefix_match)
{
	struct bpfvm_vm *vm = new_vm();
	struct bpfvm_map *m;
	CHECK_EQ(create(vm, BPFVM_MAP_LPM_TRIE, 8, 4, 8, 0, &m), -EINVAL); /* needs NO_PREALLOC */
	CHECK_EQ(create(vm, BPFVM_MAP_LPM_TRIE, 8, 4, 3, 1u << 0, &m), 0);
	uint8_t k[8];
	uint32_t v, out;
	lpm_key(k, 8, 10, 0, 0, 0), v = 8;
	CHECK_EQ(bpfvm_map_update(m, k, &v, BPFVM_ANY), 0);
	lpm_key(k, 16, 10, 1, 0, 0), v = 16;
	CHECK_EQ(bpfvm_map_update(m, k, &v, BPFVM_ANY), 0);
	lpm_key(k, 24, 10, 1, 2, 0), v = 24;
	CHECK_EQ(bpfvm_map_update(m, k, &v, BPFVM_ANY), 0);
	lpm_key(k, 32, 10, 1, 2, 3), v = 32;
	CHECK_EQ(bpfvm_map_update(m, k, &v, BPFVM_ANY), -ENOSPC);
	CHECK_EQ(bpfvm_map_update(m, k, &v, 4), -EINVAL);
	lpm_key(k, 33, 10, 1, 2, 3);
	CHECK_EQ(bpfvm_map_update(m, k, &v, BPFVM_ANY), -EINVAL);
	lpm_key(k, 32, 10, 1, 2, 3);
	CHECK_EQ(bpfvm_map_lookup(m, k, &out), 0);
	CHECK_EQ(out, 24);
	lpm_key(k, 32, 10, 1, 9, 9);
	CHECK_EQ(bpfvm_map_lookup(m, k, &out), 0);
	CHECK_EQ(out, 16);
	lpm_key(k, 12, 10, 1, 2, 3); /* the key's prefixlen limits the match */
	CHECK_EQ(bpfvm_map_lookup(m, k, &out), 0);
	CHECK_EQ(out, 8);
	lpm_key(k, 32, 11, 0, 0, 0);
	CHECK_EQ(bpfvm_map_lookup(m, k, &out), -ENOENT);
	lpm_key(k, 16, 10, 1, 77, 77); /* bits past the prefix do not matter */
	CHECK_EQ(bpfvm_map_delete(m, k), 0);
	CHECK_EQ(bpfvm_map_delete(m, k), -ENOENT);
	lpm_key(k, 32, 10, 1, 9, 9);
	CHECK_EQ(bpfvm_map_lookup(m, k, &out), 0);
	CHECK_EQ(out, 8);
	/* Post-order: the /24 comes before the /8 it extends. */
	uint8_t next[8];
	CHECK_EQ(bpfvm_map_get_next_key(m, NULL, next), 0);
	CHECK_EQ(next[0], 24);
	CHECK_EQ(bpfvm_map_get_next_key(m, next, next), 0);
	CHECK_EQ(next[0], 8);
	CHECK_EQ(bpfvm_map_get_next_key(m, next, next), -ENOENT);
	bpfvm_vm_destroy(vm);
}

static uint32_t lpm_get(struct bpfvm_map *m, uint32_t plen, uint8_t a, uint8_t b, uint8_t c,
			uint8_t d)
{
	uint8_t k[8];
	uint32_t out = 0;
	lpm_key(k, plen, a, b, c, d);
	return bpfvm_map_lookup(m, k, &out) == 0 ? out : 0;
}

static int lpm_put(struct bpfvm_map *m, uint32_t plen, uint8_t a, uint8_t b, uint8_t c, uint8_t d,
		   uint32_t v, uint64_t flags)
{
	uint8_t k[8];
	lpm_key(k, plen, a, b, c, d);
	return bpfvm_map_update(m, k, &v, flags);
}

static int lpm_del(struct bpfvm_map *m, uint32_t plen, uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	uint8_t k[8];
	lpm_key(k, plen, a, b, c, d);
	return bpfvm_map_delete(m, k);
}

/* The kernel's trie: entries that part at some bit get an intermediate
 * node (no entry: not found, not counted, not iterated), deleting an entry
 * with two subtrees keeps it as an intermediate node, deleting one of two
 * children of an intermediate node removes that node too; the example of
 * the kernel's lpm_trie.c iterates in its documented post-order. */
TEST(lpm_trie_intermediate_nodes_and_post_order)
{
	struct bpfvm_vm *vm = new_vm();
	struct bpfvm_map *m;
	CHECK_EQ(create(vm, BPFVM_MAP_LPM_TRIE, 8, 4, 4, 1u << 0, &m), 0);
	CHECK_EQ(lpm_put(m, 24, 192, 168, 0, 0, 1, BPFVM_NOEXIST), 0);
	CHECK_EQ(lpm_put(m, 24, 192, 168, 1, 0, 2, BPFVM_NOEXIST), 0); /* parts at bit 23 */
	CHECK_EQ(lpm_get(m, 32, 192, 168, 1, 9), 2);
	CHECK_EQ(lpm_get(m, 32, 192, 168, 2, 9), 0);
	/* The intermediate node (192.168.0.0/23) is no entry. */
	CHECK_EQ(lpm_del(m, 23, 192, 168, 0, 0), -ENOENT);
	CHECK_EQ(lpm_put(m, 23, 192, 168, 0, 0, 9, BPFVM_EXIST), -ENOENT);
	CHECK_EQ(lpm_put(m, 24, 192, 168, 128, 0, 3, BPFVM_NOEXIST), 0);
	CHECK_EQ(lpm_put(m, 16, 192, 168, 0, 0, 4, BPFVM_NOEXIST), 0);
	CHECK_EQ(lpm_put(m, 8, 10, 0, 0, 0, 5, BPFVM_NOEXIST), -ENOSPC); /* 4 entries */
	CHECK_EQ(lpm_put(m, 16, 192, 168, 7, 7, 6, BPFVM_ANY), 0);      /* replacing is fine */
	CHECK_EQ(lpm_get(m, 32, 192, 168, 200, 1), 6);
	CHECK_EQ(lpm_get(m, 32, 192, 168, 128, 1), 3);
	/* Post-order: 0/24, 1/24, 128/24, then the /16 (its data as stored). */
	const uint8_t want[4][2] = {{24, 0}, {24, 1}, {24, 128}, {16, 7}};
	uint8_t key[8], *from = NULL;
	for (int i = 0; i < 4; i++) {
		CHECK_EQ(bpfvm_map_get_next_key(m, from, key), 0);
		CHECK_EQ(key[0], want[i][0]);
		CHECK_EQ(key[6], want[i][1]);
		from = key;
	}
	CHECK_EQ(bpfvm_map_get_next_key(m, key, key), -ENOENT);
	/* A missing key, or one the walk stops at without matching, restarts. */
	lpm_key(key, 24, 192, 168, 5, 0);
	CHECK_EQ(bpfvm_map_get_next_key(m, key, key), 0);
	CHECK_EQ(key[6], 0);
	/* The /16 has two subtrees: deleted, it stays as a junction. */
	CHECK_EQ(lpm_del(m, 16, 192, 168, 0, 0), 0);
	CHECK_EQ(lpm_get(m, 32, 192, 168, 200, 1), 0);
	CHECK_EQ(lpm_get(m, 32, 192, 168, 128, 1), 3);
	CHECK_EQ(lpm_put(m, 16, 192, 168, 0, 0, 7, BPFVM_EXIST), -ENOENT);
	CHECK_EQ(lpm_put(m, 16, 192, 168, 0, 0, 7, BPFVM_NOEXIST), 0); /* back in its place */
	CHECK_EQ(lpm_get(m, 32, 192, 168, 200, 1), 7);
	/* Deleting 1/24 drops the /23 junction: 0/24 stays reachable. */
	CHECK_EQ(lpm_del(m, 24, 192, 168, 1, 0), 0);
	CHECK_EQ(lpm_get(m, 32, 192, 168, 0, 5), 1);
	CHECK_EQ(lpm_get(m, 32, 192, 168, 1, 5), 7);
	CHECK_EQ(lpm_del(m, 24, 192, 168, 0, 0), 0);
	CHECK_EQ(lpm_del(m, 24, 192, 168, 128, 0), 0);
	CHECK_EQ(lpm_get(m, 32, 192, 168, 0, 5), 7);
	CHECK_EQ(lpm_del(m, 16, 192, 168, 0, 0), 0);
	CHECK_EQ(bpfvm_map_get_next_key(m, NULL, key), -ENOENT);
	bpfvm_vm_destroy(vm);
}

/* A lookup walks one path, O(prefix bits): a trie of 256-byte keys holding
 * every prefix length of one key and 4096 other entries answers each
 * length, and the full-length match. */
TEST(lpm_trie_deep_prefixes_of_long_keys)
{
	struct bpfvm_vm *vm = new_vm();
	struct bpfvm_map *m;
	enum { DATA = 256, KS = 4 + DATA };
	CHECK_EQ(create(vm, BPFVM_MAP_LPM_TRIE, KS, 4, 8192, 1u << 0, &m), 0);
	uint8_t key[KS], probe[KS];
	uint32_t plen, v, out;
	memset(key, 0xa5, sizeof(key));
	for (plen = 0; plen <= DATA * 8; plen += 1 + plen / 64) {
		memcpy(key, &plen, 4);
		v = plen + 1;
		CHECK_EQ(bpfvm_map_update(m, key, &v, BPFVM_NOEXIST), 0);
	}
	for (uint32_t i = 0; i < 4096; i++) {
		memset(key + 4, (int)(i & 0xff), DATA);
		key[4 + 100 + i % 150] ^= (uint8_t)(i >> 8 | 1);
		plen = 8 * (101 + i % 150);
		memcpy(key, &plen, 4);
		v = 1u << 31 | i;
		CHECK_EQ(bpfvm_map_update(m, key, &v, BPFVM_ANY), 0);
	}
	/* Probes: the 0xa5 key cut at each length q. */
	memset(probe, 0xa5, sizeof(probe));
	for (uint32_t q = 0; q <= DATA * 8; q += 7) {
		memcpy(probe, &q, 4);
		CHECK_EQ(bpfvm_map_lookup(m, probe, &out), 0);
		uint32_t best = 0;
		for (plen = 0; plen <= q; plen += 1 + plen / 64)
			best = plen;
		CHECK_EQ(out, best + 1);
	}
	plen = DATA * 8;
	memcpy(probe, &plen, 4);
	probe[4 + DATA - 1] ^= 1; /* the last bit differs */
	CHECK_EQ(bpfvm_map_lookup(m, probe, &out), 0);
	CHECK(out != (uint32_t)DATA * 8 + 1);
	bpfvm_vm_destroy(vm);
}

TEST(ringbuf_create_validation)
{
	struct bpfvm_vm *vm = new_vm();
	struct bpfvm_map *m;
	CHECK_EQ(create(vm, BPFVM_MAP_RINGBUF, 0, 0, 4096 * 3, 0, &m), -EINVAL);
	CHECK_EQ(create(vm, BPFVM_MAP_RINGBUF, 0, 0, 2048, 0, &m), -EINVAL);
	CHECK_EQ(create(vm, BPFVM_MAP_RINGBUF, 4, 0, 4096, 0, &m), -EINVAL);
	CHECK_EQ(create(vm, BPFVM_MAP_RINGBUF, 0, 0, 4096 * 4, 0, &m), 0);
	bpfvm_vm_destroy(vm);
}

TEST(array_of_maps_checks_inner_shape_and_keeps_inner_alive)
{
	struct bpfvm_vm *vm = new_vm();
	struct bpfvm_map *tmpl, *inner, *wrong, *outer;
	CHECK_EQ(create(vm, BPFVM_MAP_ARRAY, 4, 8, 4, 0, &tmpl), 0);
	CHECK_EQ(create(vm, BPFVM_MAP_ARRAY, 4, 8, 4, 0, &inner), 0);
	CHECK_EQ(create(vm, BPFVM_MAP_ARRAY, 4, 16, 4, 0, &wrong), 0);
	struct bpfvm_map_def def = {.type = BPFVM_MAP_ARRAY_OF_MAPS, .key_size = 4, .value_size = 4,
				    .max_entries = 2, .inner = tmpl};
	CHECK_EQ(bpfvm_map_create(vm, &def, &outer), 0);
	uint32_t k = 0, id = bpfvm_map_id(wrong), out;
	CHECK_EQ(bpfvm_map_update(outer, &k, &id, BPFVM_ANY), -EINVAL);
	id = 9999;
	CHECK_EQ(bpfvm_map_update(outer, &k, &id, BPFVM_ANY), -EBADF);
	id = bpfvm_map_id(inner);
	CHECK_EQ(bpfvm_map_update(outer, &k, &id, BPFVM_ANY), 0);
	CHECK_EQ(bpfvm_map_lookup(outer, &k, &out), 0);
	CHECK_EQ(out, id);
	k = 1;
	CHECK_EQ(bpfvm_map_lookup(outer, &k, &out), -ENOENT);
	bpfvm_map_destroy(inner); /* the outer map still references it */
	CHECK(bpfvm_vm_map_by_id(vm, id) == inner);
	k = 0;
	CHECK_EQ(bpfvm_map_delete(outer, &k), 0);
	CHECK_EQ(bpfvm_map_delete(outer, &k), -ENOENT);
	bpfvm_vm_destroy(vm);
}

TEST(host_api_rejects_missing_key_or_value_with_efault)
{
	struct bpfvm_vm *vm = new_vm();
	struct bpfvm_map *h, *q;
	CHECK_EQ(create(vm, BPFVM_MAP_HASH, 4, 8, 4, 0, &h), 0);
	CHECK_EQ(create(vm, BPFVM_MAP_QUEUE, 0, 8, 4, 0, &q), 0);
	uint32_t k = 1;
	uint64_t v = 2;
	CHECK_EQ(bpfvm_map_update(h, NULL, &v, BPFVM_ANY), -EFAULT);
	CHECK_EQ(bpfvm_map_update(h, &k, NULL, BPFVM_ANY), -EFAULT);
	CHECK_EQ(bpfvm_map_lookup(h, NULL, &v), -EFAULT);
	CHECK_EQ(bpfvm_map_delete(h, NULL), -EFAULT);
	CHECK_EQ(bpfvm_map_get_next_key(h, NULL, NULL), -EFAULT);
	CHECK_EQ(bpfvm_map_lookup_and_delete(h, &k, NULL), -EFAULT);
	CHECK_EQ(bpfvm_map_update(q, NULL, &v, BPFVM_ANY), 0); /* queues take no key */
	bpfvm_vm_destroy(vm);
}

TEST(rdonly_and_wronly_maps_refuse_host_access)
{
	struct bpfvm_vm *vm = new_vm();
	struct bpfvm_map *ro, *wo;
	CHECK_EQ(create(vm, BPFVM_MAP_ARRAY, 4, 8, 4, 1u << 3, &ro), 0);
	CHECK_EQ(create(vm, BPFVM_MAP_ARRAY, 4, 8, 4, 1u << 4, &wo), 0);
	uint32_t k = 1, next;
	uint64_t v = 2;
	CHECK_EQ(bpfvm_map_update(ro, &k, &v, BPFVM_ANY), -EPERM);
	CHECK_EQ(bpfvm_map_lookup(ro, &k, &v), 0);
	CHECK_EQ(bpfvm_map_update(wo, &k, &v, BPFVM_ANY), 0);
	CHECK_EQ(bpfvm_map_lookup(wo, &k, &v), -EPERM);
	CHECK_EQ(bpfvm_map_get_next_key(wo, NULL, &next), -EPERM);
	bpfvm_vm_destroy(vm);
}

TEST(lru_percpu_hash_keeps_per_cpu_values_and_evicts)
{
	struct bpfvm_vm *vm = new_vm();
	struct bpfvm_map *m;
	CHECK_EQ(create(vm, BPFVM_MAP_LRU_PERCPU_HASH, 4, 8, 4, 0, &m), 0);
	uint64_t in[BPFVM_NR_CPUS], out[BPFVM_NR_CPUS];
	for (uint32_t k = 0; k < 10; k++) {
		for (int c = 0; c < BPFVM_NR_CPUS; c++)
			in[c] = k * 100 + (uint64_t)c;
		CHECK_EQ(bpfvm_map_update(m, &k, in, BPFVM_ANY), 0);
	}
	uint32_t k = 9;
	CHECK_EQ(bpfvm_map_lookup(m, &k, out), 0);
	for (int c = 0; c < BPFVM_NR_CPUS; c++)
		CHECK_EQ(out[c], 900 + (uint64_t)c);
	int count = 0;
	uint32_t key, next;
	int rc = bpfvm_map_get_next_key(m, NULL, &next);
	while (rc == 0) {
		count++;
		key = next;
		rc = bpfvm_map_get_next_key(m, &key, &next);
	}
	CHECK_EQ(count, 4);
	CHECK_EQ(bpfvm_map_lookup_and_delete(m, &k, out), 0);
	CHECK_EQ(out[3], 903);
	CHECK_EQ(bpfvm_map_lookup(m, &k, out), -ENOENT);
	bpfvm_vm_destroy(vm);
}

TEST(lru_prefers_evicting_unreferenced_elements)
{
	struct bpfvm_vm *vm = new_vm();
	struct bpfvm_map *m;
	CHECK_EQ(create(vm, BPFVM_MAP_LRU_HASH, 4, 8, 4, 0, &m), 0);
	uint64_t v = 1;
	for (uint32_t k = 0; k < 4; k++)
		CHECK_EQ(bpfvm_map_update(m, &k, &v, BPFVM_ANY), 0);
	/* Key 4 evicts the oldest, 0; key 1 survives the next insert only if
	 * its reference bit protects it, which a host lookup does not set
	 * (as the kernel's syscall lookup), so 1 goes next. */
	uint32_t k = 4;
	CHECK_EQ(bpfvm_map_update(m, &k, &v, BPFVM_ANY), 0);
	k = 0;
	CHECK_EQ(bpfvm_map_lookup(m, &k, &v), -ENOENT);
	k = 1;
	CHECK_EQ(bpfvm_map_lookup(m, &k, &v), 0);
	k = 5;
	CHECK_EQ(bpfvm_map_update(m, &k, &v, BPFVM_ANY), 0);
	k = 1;
	CHECK_EQ(bpfvm_map_lookup(m, &k, &v), -ENOENT);
	bpfvm_vm_destroy(vm);
}
