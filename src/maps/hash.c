/* The hash family, as the kernel's hashtab.c: HASH, PERCPU_HASH, LRU_HASH,
 * LRU_PERCPU_HASH and HASH_OF_MAPS.
 *
 * Concurrency scheme (see also docs/maps.md):
 *  - readers (program lookups, host lookups, get_next_key, for_each) take
 *    no lock at all: they walk a bucket's singly linked chain with acquire
 *    loads;
 *  - writers take the bucket's spinlock, fully build a new element, then
 *    publish it with a release store; an update of an existing key links a
 *    new element in front and unlinks the old one (per-CPU maps update in
 *    place, as the kernel's), so readers see either value, never a torn key;
 *  - an unlinked element is retired to the epoch-based reclamation of
 *    rcu.c and freed only when no run or host operation that could have
 *    seen it is left: a value pointer a program got stays valid until its
 *    run ends, and a reader's next pointer never dangles;
 *  - the element count is an atomic reserved before linking, so max_entries
 *    is never exceeded (-E2BIG, as the kernel's non-preallocated maps);
 *  - as in the kernel, elements are preallocated unless BPF_F_NO_PREALLOC:
 *    one region for max_entries elements (and a few more for the updates
 *    that replace an element of a full map), in huge pages when it is big,
 *    as is the bucket array (area.c), since scattered lookups in a big map
 *    otherwise miss the TLB twice each. Elements are taken from the region
 *    lazily (a bump index) and a retired element goes to a free list only
 *    after its grace period, so lock-free readers never see an element
 *    reused under them (the kernel reuses at once and copes with nulls
 *    lists). If the region is exhausted (elements waiting for their grace
 *    period) or could not be mapped, elements come from the heap, so the
 *    kernel's limits hold exactly whatever the timing;
 *  - LRU maps keep the kernel's active and inactive lists (bpf_lru_list.c)
 *    under a mutex taken only by writers; program lookups just set a
 *    reference bit, as the kernel's bpf_lru_node_set_ref. An insert that
 *    finds the map full rotates the lists and shrinks the inactive one as
 *    the kernel does (see the LRU section below). Lock order: the LRU lock,
 *    then a bucket lock; an inserter never holds a bucket lock while it
 *    evicts.
 *
 * The hash function and bucket layout are the kernel's (jhash, seed 0 with
 * BPF_F_ZERO_SEED, roundup_pow_of_two(max_entries) buckets, insertion at
 * the head), so get_next_key iterates in the kernel's order for maps
 * created with BPF_F_ZERO_SEED.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "maps/map_internal.h"

#define KMALLOC_MAX_SIZE (1u << 22)
#define PCPU_MIN_UNIT_SIZE (32u << 10)
#define HTAB_CREATE_FLAG_MASK                                                          \
	(BPFVM_F_NO_PREALLOC | BPFVM_F_NO_COMMON_LRU | BPFVM_F_NUMA_NODE | BPFVM_F_ACCESS_MASK | \
	 BPFVM_F_ZERO_SEED)

struct lru_link {
	struct lru_link *prev, *next;
};

/* Where an LRU element is; ACTIVE and INACTIVE index the lists. */
enum lru_state { LRU_NOT_LISTED, LRU_ACTIVE, LRU_INACTIVE, LRU_DEAD };

/* What lookups read comes first (next, hash, then the key in data), so
 * that a short element is one or two cache lines. */
struct htab_elem {
	_Atomic(struct htab_elem *) next;
	uint32_t hash;
	atomic_uchar lru_ref;
	unsigned char lru_state; /* enum lru_state, under lru_lock */
	union {
		/* LRU list links (under lru_lock), used while the element is
		 * listed; the retirement record once it is unlinked from both
		 * its bucket and the LRU lists. */
		struct lru_link lru;
		struct bpfvm_rcu_head rcu;
	};
	struct bpfvm_htab *htab;
	/* At offset 48: with a key and a value of up to 8 bytes each, an
	 * element is one 64-byte cache line. */
	_Alignas(8) unsigned char data[]; /* key (8-aligned), then the value(s) */
};

struct bucket {
	_Atomic(struct htab_elem *) head;
	bpfvm_spinlock_t lock;
};

struct bpfvm_htab {
	struct bpfvm_map map;
	struct bucket *buckets;
	struct bpfvm_map_area bucket_area;
	/* Preallocated elements (no region with BPF_F_NO_PREALLOC). */
	struct bpfvm_elem_pool pool;
	uint32_t n_buckets;
	uint32_t key_stride;  /* key_size rounded up to 8 */
	uint32_t value_bytes; /* stored value bytes (all CPUs for per-CPU) */
	uint32_t seed;
	int percpu, lru, of_maps;
	atomic_uint count;
	struct bpfvm_rcu_list retired;
	pthread_mutex_t lru_lock;
	/* Heads (next = most recent) and lengths of the active and inactive
	 * lists, indexed by enum lru_state; where the inactive rotation
	 * resumes; how many elements a shrink frees at once. */
	struct lru_link lru_lists[LRU_INACTIVE + 1];
	uint32_t lru_counts[LRU_INACTIVE + 1];
	struct lru_link *lru_rotation;
	uint32_t lru_target;
};

#define HTAB(m) ((struct bpfvm_htab *)(m))

/* ---- the kernel's jhash ---------------------------------------------------------- */

static inline uint32_t rol32(uint32_t w, unsigned s)
{
	return (w << s) | (w >> (32 - s));
}

#define JHASH_MIX(a, b, c)                                                      \
	do {                                                                    \
		a -= c; a ^= rol32(c, 4);  c += b;                              \
		b -= a; b ^= rol32(a, 6);  a += c;                              \
		c -= b; c ^= rol32(b, 8);  b += a;                              \
		a -= c; a ^= rol32(c, 16); c += b;                              \
		b -= a; b ^= rol32(a, 19); a += c;                              \
		c -= b; c ^= rol32(b, 4);  b += a;                              \
	} while (0)

#define JHASH_FINAL(a, b, c)                                                    \
	do {                                                                    \
		c ^= b; c -= rol32(b, 14);                                      \
		a ^= c; a -= rol32(c, 11);                                      \
		b ^= a; b -= rol32(a, 25);                                      \
		c ^= b; c -= rol32(b, 16);                                      \
		a ^= c; a -= rol32(c, 4);                                       \
		b ^= a; b -= rol32(a, 14);                                      \
		c ^= b; c -= rol32(b, 24);                                      \
	} while (0)

#define JHASH_INITVAL 0xdeadbeefu

static uint32_t get32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static uint32_t jhash(const unsigned char *k, uint32_t length, uint32_t initval)
{
	uint32_t a, b, c;
	a = b = c = JHASH_INITVAL + length + initval;
	while (length > 12) {
		a += get32(k);
		b += get32(k + 4);
		c += get32(k + 8);
		JHASH_MIX(a, b, c);
		length -= 12;
		k += 12;
	}
	switch (length) {
	case 12: c += (uint32_t)k[11] << 24; /* fall through */
	case 11: c += (uint32_t)k[10] << 16; /* fall through */
	case 10: c += (uint32_t)k[9] << 8;   /* fall through */
	case 9:  c += k[8];                  /* fall through */
	case 8:  b += (uint32_t)k[7] << 24;  /* fall through */
	case 7:  b += (uint32_t)k[6] << 16;  /* fall through */
	case 6:  b += (uint32_t)k[5] << 8;   /* fall through */
	case 5:  b += k[4];                  /* fall through */
	case 4:  a += (uint32_t)k[3] << 24;  /* fall through */
	case 3:  a += (uint32_t)k[2] << 16;  /* fall through */
	case 2:  a += (uint32_t)k[1] << 8;   /* fall through */
	case 1:  a += k[0];
		JHASH_FINAL(a, b, c);
		break;
	default:
		break;
	}
	return c;
}

static uint32_t jhash2(const unsigned char *k, uint32_t words, uint32_t initval)
{
	uint32_t a, b, c;
	a = b = c = JHASH_INITVAL + (words << 2) + initval;
	while (words > 3) {
		a += get32(k);
		b += get32(k + 4);
		c += get32(k + 8);
		JHASH_MIX(a, b, c);
		words -= 3;
		k += 12;
	}
	switch (words) {
	case 3: c += get32(k + 8); /* fall through */
	case 2: b += get32(k + 4); /* fall through */
	case 1: a += get32(k);
		JHASH_FINAL(a, b, c);
		break;
	default:
		break;
	}
	return c;
}

static uint32_t key_hash(const struct bpfvm_htab *h, const void *key)
{
	uint32_t len = h->map.def.key_size;
	if ((len & 3) == 0)
		return jhash2(key, len / 4, h->seed);
	return jhash(key, len, h->seed);
}

/* ---- creation ------------------------------------------------------------------------ */

static int flags_access_ok(uint32_t flags)
{
	return !((flags & BPFVM_F_RDONLY) && (flags & BPFVM_F_WRONLY)) &&
	       !((flags & BPFVM_F_RDONLY_PROG) && (flags & BPFVM_F_WRONLY_PROG));
}

/* The kernel's htab_map_alloc_check. */
static int htab_check(const struct bpfvm_map_def *def, char *err, size_t errlen)
{
	int percpu = def->type == BPFVM_MAP_PERCPU_HASH || def->type == BPFVM_MAP_LRU_PERCPU_HASH;
	int lru = def->type == BPFVM_MAP_LRU_HASH || def->type == BPFVM_MAP_LRU_PERCPU_HASH;
	int prealloc = !(def->flags & BPFVM_F_NO_PREALLOC);
	if ((def->flags & ~HTAB_CREATE_FLAG_MASK) || !flags_access_ok(def->flags)) {
		snprintf(err, errlen, "unknown or conflicting map flags 0x%x", def->flags);
		return -EINVAL;
	}
	if (!lru && (def->flags & BPFVM_F_NO_COMMON_LRU)) {
		snprintf(err, errlen, "BPF_F_NO_COMMON_LRU is for LRU maps");
		return -EINVAL;
	}
	if (lru && !prealloc) {
		snprintf(err, errlen, "LRU maps cannot use BPF_F_NO_PREALLOC");
		return -BPFVM_ENOTSUPP;
	}
	if (def->max_entries == 0 || def->key_size == 0 || def->value_size == 0) {
		snprintf(err, errlen, "hash maps need key_size, value_size and max_entries > 0");
		return -EINVAL;
	}
	if ((uint64_t)def->key_size + def->value_size >= KMALLOC_MAX_SIZE - sizeof(struct htab_elem) ||
	    (percpu && ((def->value_size + 7u) & ~7u) > PCPU_MIN_UNIT_SIZE)) {
		snprintf(err, errlen, "key_size + value_size is too large");
		return -E2BIG;
	}
	if (def->max_entries > (1u << 31)) {
		snprintf(err, errlen, "max_entries %u is too large", def->max_entries);
		return -E2BIG;
	}
	return 0;
}

static int fd_htab_check(const struct bpfvm_map_def *def, char *err, size_t errlen)
{
	if (def->value_size != 4) {
		snprintf(err, errlen, "value_size must be 4 (a map id)");
		return -EINVAL;
	}
	return htab_check(def, err, errlen);
}

static uint32_t roundup_pow2(uint32_t v)
{
	uint32_t p = 1;
	while (p < v)
		p <<= 1;
	return p;
}

/* A seed per map without global state: mix the clock and the map address. */
static uint32_t random_seed(const void *addr)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)(uintptr_t)addr;
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return (uint32_t)x;
}

static uint32_t lru_free_target(uint32_t max_entries);

static struct bpfvm_map *htab_alloc(const struct bpfvm_map_def *def)
{
	struct bpfvm_htab *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->percpu = def->type == BPFVM_MAP_PERCPU_HASH || def->type == BPFVM_MAP_LRU_PERCPU_HASH;
	h->lru = def->type == BPFVM_MAP_LRU_HASH || def->type == BPFVM_MAP_LRU_PERCPU_HASH;
	h->of_maps = def->type == BPFVM_MAP_HASH_OF_MAPS;
	h->n_buckets = roundup_pow2(def->max_entries);
	h->key_stride = (def->key_size + 7u) & ~7u;
	uint32_t stride = (def->value_size + 7u) & ~7u;
	h->value_bytes = h->of_maps ? sizeof(void *) : h->percpu ? stride * BPFVM_NR_CPUS : stride;
	h->seed = (def->flags & BPFVM_F_ZERO_SEED) ? 0 : random_seed(h);
	h->buckets = bpfvm__map_area_alloc(&h->bucket_area,
					   (size_t)h->n_buckets * sizeof(*h->buckets));
	if (!h->buckets) {
		free(h);
		return NULL;
	}
	/* The kernel preallocates max_entries elements plus one per CPU for
	 * the updates that replace an element while the map is full. */
	uint64_t prealloc = (def->flags & BPFVM_F_NO_PREALLOC)
				    ? 0
				    : (uint64_t)def->max_entries + BPFVM_NR_CPUS;
	bpfvm__pool_init(&h->pool, prealloc, sizeof(struct htab_elem) + h->key_stride + h->value_bytes);
	pthread_mutex_init(&h->lru_lock, NULL);
	for (int l = LRU_ACTIVE; l <= LRU_INACTIVE; l++)
		h->lru_lists[l].next = h->lru_lists[l].prev = &h->lru_lists[l];
	h->lru_rotation = &h->lru_lists[LRU_INACTIVE];
	h->lru_target = lru_free_target(def->max_entries);
	return &h->map;
}

/* Give an element's memory back (no reader can see it any more). */
static void elem_release(struct htab_elem *e)
{
	bpfvm__pool_free(&e->htab->pool, e);
}

static void elem_free(struct htab_elem *e)
{
	if (e->htab->of_maps) {
		struct bpfvm_map *inner;
		memcpy(&inner, e->data + e->htab->key_stride, sizeof(inner));
		bpfvm__map_put(inner);
	}
	elem_release(e);
}

static void elem_free_rcu(struct bpfvm_rcu_head *head, struct bpfvm_rcu_list *list)
{
	elem_free((struct htab_elem *)(void *)((char *)head - offsetof(struct htab_elem, rcu)));
}

static void htab_free(struct bpfvm_map *map)
{
	struct bpfvm_htab *h = HTAB(map);
	for (uint32_t b = 0; b < h->n_buckets; b++) {
		struct htab_elem *e = atomic_load_explicit(&h->buckets[b].head, memory_order_relaxed);
		while (e) {
			struct htab_elem *next = atomic_load_explicit(&e->next, memory_order_relaxed);
			elem_free(e);
			e = next;
		}
	}
	bpfvm__rcu_drain(&h->retired);
	pthread_mutex_destroy(&h->lru_lock);
	bpfvm__pool_destroy(&h->pool);
	bpfvm__map_area_free(&h->bucket_area);
	free(h);
}

/* ---- elements ---------------------------------------------------------------------- */

static void *elem_value(const struct bpfvm_htab *h, struct htab_elem *e)
{
	return e->data + h->key_stride;
}

static struct bucket *bucket_of(struct bpfvm_htab *h, uint32_t hash)
{
	return &h->buckets[hash & (h->n_buckets - 1)];
}

/* The common key sizes compare as one load (u32 / u64 keys). */
static inline int keys_equal(const void *a, const void *b, uint32_t size)
{
	if (size == 4) {
		uint32_t x, y;
		memcpy(&x, a, 4);
		memcpy(&y, b, 4);
		return x == y;
	}
	if (size == 8) {
		uint64_t x, y;
		memcpy(&x, a, 8);
		memcpy(&y, b, 8);
		return x == y;
	}
	return memcmp(a, b, size) == 0;
}

/* Lock-free: safe in a read-side section, or under the bucket lock. */
static struct htab_elem *find(struct bpfvm_htab *h, struct bucket *b, uint32_t hash,
			      const void *key, _Atomic(struct htab_elem *) **link)
{
	_Atomic(struct htab_elem *) *prev = &b->head;
	struct htab_elem *e = atomic_load_explicit(prev, memory_order_acquire);
	while (e) {
		if (e->hash == hash && keys_equal(e->data, key, h->map.def.key_size)) {
			if (link)
				*link = prev;
			return e;
		}
		prev = &e->next;
		e = atomic_load_explicit(prev, memory_order_acquire);
	}
	return NULL;
}

/* Copy a value into an element: one CPU's (the others zeroed for a new
 * element, as the kernel's pcpu_init_value) or all of them. */
static void store_value(struct bpfvm_htab *h, struct htab_elem *e, const void *value, int cpu,
			int is_new)
{
	unsigned char *v = elem_value(h, e);
	uint32_t vs = h->map.def.value_size, stride = h->map.pcpu_stride;
	if (!h->percpu) {
		memcpy(v, value, vs);
		return;
	}
	if (cpu == BPFVM_ALL_CPUS) {
		/* Whole 8-byte strides, as the kernel's copy_map_value_long. */
		memcpy(v, value, (size_t)stride * BPFVM_NR_CPUS);
		return;
	}
	for (int c = 0; c < BPFVM_NR_CPUS; c++) {
		unsigned char *dst = v + (size_t)c * stride;
		if ((uint32_t)c == bpfvm__cpu_slot((uint32_t)cpu))
			memcpy(dst, value, vs);
		else if (is_new)
			memset(dst, 0, vs);
	}
}

static void copy_value_out(struct bpfvm_htab *h, struct htab_elem *e, void *value)
{
	if (h->of_maps) {
		struct bpfvm_map *inner;
		memcpy(&inner, elem_value(h, e), sizeof(inner));
		memcpy(value, &inner->id, sizeof(inner->id));
		return;
	}
	if (!h->percpu) {
		memcpy(value, elem_value(h, e), h->map.def.value_size);
		return;
	}
	memcpy(value, elem_value(h, e), bpfvm__map_host_value_size(&h->map));
}

static struct htab_elem *elem_new(struct bpfvm_htab *h, const void *key, uint32_t hash)
{
	struct htab_elem *e = bpfvm__pool_alloc(&h->pool);
	if (!e)
		return NULL;
	e->htab = h;
	e->hash = hash;
	memcpy(e->data, key, h->map.def.key_size);
	return e;
}

/* What a program sees as the value: cpu's copy, or the inner map. */
static void *htab_lookup_value_cpu(struct bpfvm_htab *h, struct htab_elem *e, uint32_t cpu)
{
	unsigned char *v = elem_value(h, e);
	if (h->of_maps) {
		struct bpfvm_map *inner;
		memcpy(&inner, v, sizeof(inner));
		return inner;
	}
	if (h->percpu)
		v += (size_t)bpfvm__cpu_slot(cpu) * h->map.pcpu_stride;
	return v;
}

/* ---- LRU ------------------------------------------------------------------------------- */

/* The kernel's bpf_lru_list.c for the common LRU, without its per-CPU
 * local lists (a new element goes straight to the inactive list, where the
 * kernel's pending list would flush it):
 *  - a program lookup sets the element's reference bit;
 *  - an element moved between or within the lists loses its bit and goes
 *    to the head of its new list;
 *  - an insert into a full map rotates: if the inactive list is shorter
 *    than the active one, the active list is scanned from its tail
 *    (referenced ones back to the active head, the others to the inactive
 *    list), then up to LRU_NR_SCANS inactive elements from where the last
 *    rotation stopped (referenced ones go active);
 *  - then it shrinks: from the inactive tail, referenced elements go active
 *    and unreferenced ones are evicted, up to lru_target of them (the
 *    kernel refills a CPU's free list that many at a time) within
 *    LRU_NR_SCANS; if none could go, the first element from the tail of
 *    the inactive list (else the active one) goes whatever its bit.
 * Which element goes is therefore close to the kernel's choice but not the
 * same (its per-CPU lists depend on which CPU ran what). */
#define LRU_NR_SCANS 128u
#define LRU_LOCAL_FREE_TARGET 128u

/* The kernel's target_free: clamp(nr_elems / possible CPUs / 2, 1, 128). */
static uint32_t lru_free_target(uint32_t max_entries)
{
	uint32_t t = max_entries / BPFVM_NR_CPUS / 2;
	return t < 1 ? 1 : t > LRU_LOCAL_FREE_TARGET ? LRU_LOCAL_FREE_TARGET : t;
}

static struct htab_elem *lru_elem(struct lru_link *l)
{
	return (struct htab_elem *)(void *)((char *)l - offsetof(struct htab_elem, lru));
}

static int lru_referenced(struct htab_elem *e)
{
	return atomic_load_explicit(&e->lru_ref, memory_order_relaxed);
}

static void lru_unlist_locked(struct bpfvm_htab *h, struct htab_elem *e)
{
	if (&e->lru == h->lru_rotation)
		h->lru_rotation = e->lru.prev; /* the rotation resumes after it */
	e->lru.prev->next = e->lru.next;
	e->lru.next->prev = e->lru.prev;
	h->lru_counts[e->lru_state]--;
}

/* To the head of list, reference bit cleared (the kernel's
 * __bpf_lru_node_move and __bpf_lru_node_move_in). */
static void lru_move_locked(struct bpfvm_htab *h, struct htab_elem *e, enum lru_state list)
{
	if (e->lru_state == LRU_ACTIVE || e->lru_state == LRU_INACTIVE)
		lru_unlist_locked(h, e);
	atomic_store_explicit(&e->lru_ref, 0, memory_order_relaxed);
	struct lru_link *head = &h->lru_lists[list];
	e->lru.next = head->next;
	e->lru.prev = head;
	head->next->prev = &e->lru;
	head->next = &e->lru;
	e->lru_state = (unsigned char)list;
	h->lru_counts[list]++;
}

/* A new element (already in its bucket): inactive, or active if a program
 * looked it up already. */
static void lru_add(struct bpfvm_htab *h, struct htab_elem *e)
{
	pthread_mutex_lock(&h->lru_lock);
	if (e->lru_state == LRU_NOT_LISTED)
		lru_move_locked(h, e, lru_referenced(e) ? LRU_ACTIVE : LRU_INACTIVE);
	pthread_mutex_unlock(&h->lru_lock);
}

static void lru_forget(struct bpfvm_htab *h, struct htab_elem *e)
{
	pthread_mutex_lock(&h->lru_lock);
	if (e->lru_state == LRU_ACTIVE || e->lru_state == LRU_INACTIVE)
		lru_unlist_locked(h, e);
	e->lru_state = LRU_DEAD;
	pthread_mutex_unlock(&h->lru_lock);
}

/* Unlink e from its bucket if it is still there; the one who unlinks
 * retires it. Called with the bucket unlocked. */
static int unlink_elem(struct bpfvm_htab *h, struct htab_elem *e)
{
	struct bucket *b = bucket_of(h, e->hash);
	bpfvm_spin_lock(&b->lock);
	_Atomic(struct htab_elem *) *prev = &b->head;
	struct htab_elem *cur = atomic_load_explicit(prev, memory_order_relaxed);
	while (cur && cur != e) {
		prev = &cur->next;
		cur = atomic_load_explicit(prev, memory_order_relaxed);
	}
	if (cur)
		atomic_store_explicit(prev, atomic_load_explicit(&e->next, memory_order_relaxed),
				      memory_order_release);
	bpfvm_spin_unlock(&b->lock);
	if (!cur)
		return 0;
	atomic_fetch_sub(&h->count, 1);
	bpfvm__rcu_retire(h->map.vm, &h->retired, &e->rcu, elem_free_rcu);
	return 1;
}

/* Evict e if it is still in its bucket (the kernel's del_from_htab). It
 * leaves the lists first: once unlinked it may be retired. If someone else
 * is unlinking it (a replace or a delete), their lru_forget finds it dead
 * already. */
static int lru_evict_locked(struct bpfvm_htab *h, struct htab_elem *e)
{
	lru_unlist_locked(h, e);
	e->lru_state = LRU_DEAD;
	return unlink_elem(h, e);
}

static void lru_rotate_active_locked(struct bpfvm_htab *h)
{
	struct lru_link *head = &h->lru_lists[LRU_ACTIVE];
	if (h->lru_counts[LRU_INACTIVE] >= h->lru_counts[LRU_ACTIVE])
		return;
	struct lru_link *first = head->next, *cur = head->prev;
	for (uint32_t i = 0; cur != head;) {
		struct lru_link *prev = cur->prev;
		struct htab_elem *e = lru_elem(cur);
		lru_move_locked(h, e, lru_referenced(e) ? LRU_ACTIVE : LRU_INACTIVE);
		if (++i == LRU_NR_SCANS || cur == first)
			break;
		cur = prev;
	}
}

/* From where the last rotation stopped towards the head, wrapping. */
static void lru_rotate_inactive_locked(struct bpfvm_htab *h)
{
	struct lru_link *head = &h->lru_lists[LRU_INACTIVE];
	if (head->next == head)
		return;
	struct lru_link *last = h->lru_rotation->next;
	if (last == head)
		last = last->next;
	struct lru_link *cur = h->lru_rotation, *next = cur;
	for (uint32_t i = 0; i < LRU_NR_SCANS;) {
		if (cur == head) {
			cur = cur->prev;
			continue;
		}
		next = cur->prev;
		struct htab_elem *e = lru_elem(cur);
		if (lru_referenced(e))
			lru_move_locked(h, e, LRU_ACTIVE);
		if (cur == last)
			break;
		cur = next;
		i++;
	}
	h->lru_rotation = next;
}

static uint32_t lru_shrink_locked(struct bpfvm_htab *h)
{
	struct lru_link *head = &h->lru_lists[LRU_INACTIVE];
	uint32_t evicted = 0, scanned = 0;
	for (struct lru_link *cur = head->prev; cur != head;) {
		struct lru_link *prev = cur->prev;
		struct htab_elem *e = lru_elem(cur);
		if (lru_referenced(e))
			lru_move_locked(h, e, LRU_ACTIVE);
		else if (lru_evict_locked(h, e) && ++evicted == h->lru_target)
			break;
		if (++scanned == LRU_NR_SCANS)
			break;
		cur = prev;
	}
	if (evicted)
		return evicted;
	/* Everything scanned was referenced: the first that can go goes. */
	head = h->lru_counts[LRU_INACTIVE] ? head : &h->lru_lists[LRU_ACTIVE];
	for (struct lru_link *cur = head->prev; cur != head;) {
		struct lru_link *prev = cur->prev;
		if (lru_evict_locked(h, lru_elem(cur)))
			return 1;
		cur = prev;
	}
	return 0;
}

static void lru_make_room(struct bpfvm_htab *h)
{
	pthread_mutex_lock(&h->lru_lock);
	lru_rotate_active_locked(h);
	lru_rotate_inactive_locked(h);
	lru_shrink_locked(h);
	pthread_mutex_unlock(&h->lru_lock);
}

/* ---- operations --------------------------------------------------------------------- */

static void *htab_lookup(struct bpfvm_map *map, const void *key, uint32_t cpu)
{
	struct bpfvm_htab *h = HTAB(map);
	uint32_t hash = key_hash(h, key);
	struct htab_elem *e = find(h, bucket_of(h, hash), hash, key, NULL);
	if (!e)
		return NULL;
	if (h->lru && !atomic_load_explicit(&e->lru_ref, memory_order_relaxed))
		atomic_store_explicit(&e->lru_ref, 1, memory_order_relaxed);
	return htab_lookup_value_cpu(h, e, cpu);
}

static int htab_copy(struct bpfvm_map *map, const void *key, void *value)
{
	struct bpfvm_htab *h = HTAB(map);
	uint32_t hash = key_hash(h, key);
	struct htab_elem *e = find(h, bucket_of(h, hash), hash, key, NULL);
	if (!e)
		return -ENOENT;
	copy_value_out(h, e, value);
	return 0;
}

/* Reserve room for one more element. */
static int reserve_slot(struct bpfvm_htab *h)
{
	if (atomic_fetch_add(&h->count, 1) < h->map.def.max_entries)
		return 0;
	atomic_fetch_sub(&h->count, 1);
	return -E2BIG;
}

static int htab_update(struct bpfvm_map *map, const void *key, const void *value, uint64_t flags,
		       int cpu)
{
	struct bpfvm_htab *h = HTAB(map);
	if ((flags & ~(uint64_t)BPFVM_F_LOCK) > BPFVM_EXIST)
		return -EINVAL;
	if (flags & BPFVM_F_LOCK)
		return -EINVAL; /* no bpf_spin_lock in our values */
	struct bpfvm_map *inner = NULL;
	if (h->of_maps) {
		if (cpu != BPFVM_ALL_CPUS)
			return -EOPNOTSUPP;
		int rc = bpfvm__map_of_maps_resolve(map, value, &inner);
		if (rc)
			return rc;
	}
	uint32_t hash = key_hash(h, key);
	struct bucket *b = bucket_of(h, hash);
	struct htab_elem *e = elem_new(h, key, hash);
	if (!e) {
		if (inner)
			bpfvm__map_put(inner);
		return -ENOMEM;
	}
	if (inner)
		memcpy(elem_value(h, e), &inner, sizeof(inner));
	else if (!h->percpu)
		store_value(h, e, value, cpu, 1);

	for (int attempt = 0;; attempt++) {
		_Atomic(struct htab_elem *) *link;
		bpfvm_spin_lock(&b->lock);
		struct htab_elem *old = find(h, b, hash, key, &link);
		int rc = 0;
		if (old && flags == BPFVM_NOEXIST)
			rc = -EEXIST;
		else if (!old && flags == BPFVM_EXIST)
			rc = -ENOENT;
		if (!rc && old && h->percpu) {
			/* In place, as the kernel's per-CPU maps (whose LRU
			 * flavour counts it as a reference). */
			store_value(h, old, value, cpu, 0);
			if (h->lru)
				atomic_store_explicit(&old->lru_ref, 1, memory_order_relaxed);
			bpfvm_spin_unlock(&b->lock);
			elem_release(e);
			return 0;
		}
		if (!rc && !old)
			rc = reserve_slot(h);
		if (rc == -E2BIG && h->lru && attempt < 64) {
			bpfvm_spin_unlock(&b->lock);
			lru_make_room(h);
			continue;
		}
		if (rc) {
			bpfvm_spin_unlock(&b->lock);
			elem_free(e); /* drops the inner map reference if any */
			return rc;
		}
		if (h->percpu)
			store_value(h, e, value, cpu, 1);
		/* New element at the head, then the old one out. */
		atomic_store_explicit(&e->next, atomic_load_explicit(&b->head, memory_order_relaxed),
				      memory_order_relaxed);
		atomic_store_explicit(&b->head, e, memory_order_release);
		if (old) {
			/* link may have been &b->head: old is now e's successor. */
			if (link == &b->head)
				link = &e->next;
			atomic_store_explicit(link, atomic_load_explicit(&old->next, memory_order_relaxed),
					      memory_order_release);
		}
		bpfvm_spin_unlock(&b->lock);
		if (h->lru) {
			if (old)
				lru_forget(h, old);
			lru_add(h, e);
		}
		if (old)
			bpfvm__rcu_retire(map->vm, &h->retired, &old->rcu, elem_free_rcu);
		return 0;
	}
}

/* Unlink key's element; it is returned for the caller to read before
 * retiring it. */
static struct htab_elem *unlink_key(struct bpfvm_htab *h, const void *key)
{
	uint32_t hash = key_hash(h, key);
	struct bucket *b = bucket_of(h, hash);
	_Atomic(struct htab_elem *) *link;
	bpfvm_spin_lock(&b->lock);
	struct htab_elem *e = find(h, b, hash, key, &link);
	if (e)
		atomic_store_explicit(link, atomic_load_explicit(&e->next, memory_order_relaxed),
				      memory_order_release);
	bpfvm_spin_unlock(&b->lock);
	if (!e)
		return NULL;
	atomic_fetch_sub(&h->count, 1);
	if (h->lru)
		lru_forget(h, e);
	return e;
}

static int htab_delete(struct bpfvm_map *map, const void *key)
{
	struct bpfvm_htab *h = HTAB(map);
	struct htab_elem *e = unlink_key(h, key);
	if (!e)
		return -ENOENT;
	bpfvm__rcu_retire(map->vm, &h->retired, &e->rcu, elem_free_rcu);
	return 0;
}

static int htab_lookup_and_delete(struct bpfvm_map *map, const void *key, void *value, int cpu)
{
	struct bpfvm_htab *h = HTAB(map);
	if (h->of_maps)
		return -BPFVM_ENOTSUPP;
	struct htab_elem *e = unlink_key(h, key);
	if (!e)
		return -ENOENT;
	if (cpu == BPFVM_ALL_CPUS)
		copy_value_out(h, e, value);
	else
		memcpy(value, htab_lookup_value_cpu(h, e, (uint32_t)cpu), map->def.value_size);
	bpfvm__rcu_retire(map->vm, &h->retired, &e->rcu, elem_free_rcu);
	return 0;
}

/* The kernel's htab_map_get_next_key: the next element in the key's chain,
 * else the first of the following buckets; a missing key restarts from
 * the first bucket. */
static int htab_get_next_key(struct bpfvm_map *map, const void *key, void *next_key)
{
	struct bpfvm_htab *h = HTAB(map);
	uint32_t first_bucket = 0;
	if (key) {
		uint32_t hash = key_hash(h, key);
		struct htab_elem *e = find(h, bucket_of(h, hash), hash, key, NULL);
		if (e) {
			struct htab_elem *n = atomic_load_explicit(&e->next, memory_order_acquire);
			if (n) {
				memcpy(next_key, n->data, map->def.key_size);
				return 0;
			}
			first_bucket = (hash & (h->n_buckets - 1)) + 1;
		}
	}
	for (uint32_t i = first_bucket; i < h->n_buckets; i++) {
		struct htab_elem *n = atomic_load_explicit(&h->buckets[i].head, memory_order_acquire);
		if (n) {
			memcpy(next_key, n->data, map->def.key_size);
			return 0;
		}
	}
	return -ENOENT;
}

static long htab_for_each(struct bpfvm_map *map, bpfvm_map_elem_fn fn, void *user, uint32_t cpu)
{
	struct bpfvm_htab *h = HTAB(map);
	long n = 0;
	for (uint32_t i = 0; i < h->n_buckets; i++) {
		struct htab_elem *e = atomic_load_explicit(&h->buckets[i].head, memory_order_acquire);
		for (; e; e = atomic_load_explicit(&e->next, memory_order_acquire)) {
			n++;
			if (fn(user, map, e->data, htab_lookup_value_cpu(h, e, cpu)))
				return n;
		}
	}
	return n;
}

#define HTAB_OPS(name, checkfn, for_each_fn)                                    \
	const struct bpfvm_map_ops name = {                                      \
		.check = checkfn,                                                \
		.alloc = htab_alloc,                                             \
		.free = htab_free,                                               \
		.lookup = htab_lookup,                                           \
		.update = htab_update,                                           \
		.delete = htab_delete,                                           \
		.copy = htab_copy,                                               \
		.get_next_key = htab_get_next_key,                               \
		.lookup_and_delete = htab_lookup_and_delete,                     \
		.for_each = for_each_fn,                                         \
	}

HTAB_OPS(bpfvm__hash_ops, htab_check, htab_for_each);
HTAB_OPS(bpfvm__percpu_hash_ops, htab_check, htab_for_each);
HTAB_OPS(bpfvm__lru_hash_ops, htab_check, htab_for_each);
HTAB_OPS(bpfvm__lru_percpu_hash_ops, htab_check, htab_for_each);
/* As the kernel's: no bpf_for_each_map_elem over maps of maps (the
 * callback would get an inner map as a value). */
HTAB_OPS(bpfvm__hash_of_maps_ops, fd_htab_check, NULL);
