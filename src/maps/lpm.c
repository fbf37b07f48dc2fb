/* LPM_TRIE: longest-prefix match on keys laid out as the kernel's
 * struct bpf_lpm_trie_key (u32 prefixlen, then the data bytes, compared
 * most significant bit first).
 *
 * Entries are kept in a list sorted by prefix length, longest first, so a
 * lookup returns the first entry that matches the key on the entry's
 * prefix (the kernel limits the match to the key's prefixlen too). The list
 * is read without locks and updated under a mutex with the same publish /
 * retire rules as the hash maps (see hash.c), so a value pointer a program
 * got stays valid until its run ends. Lookups are linear in the number of
 * entries, unlike the kernel's trie walk; get_next_key follows the
 * kernel's post-order (longer prefixes before the prefixes they extend,
 * bit 0 before bit 1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maps/map_internal.h"

#define LPM_DATA_SIZE_MAX 256u
#define LPM_KEY_SIZE_MIN (4u + 1u)
#define LPM_KEY_SIZE_MAX (4u + LPM_DATA_SIZE_MAX)
#define LPM_VAL_SIZE_MAX ((1u << 22) - LPM_KEY_SIZE_MAX - 64u)
#define LPM_CREATE_FLAG_MASK (BPFVM_F_NO_PREALLOC | BPFVM_F_NUMA_NODE | BPFVM_F_ACCESS_MASK)

struct lpm_elem {
	struct bpfvm_rcu_head rcu;
	_Atomic(struct lpm_elem *) next;
	uint32_t prefixlen;
	_Alignas(8) unsigned char data[]; /* key data (8-aligned), then the value */
};

struct bpfvm_lpm {
	struct bpfvm_map map;
	pthread_mutex_t lock; /* writers */
	_Atomic(struct lpm_elem *) head;
	uint32_t n_entries;
	uint32_t data_size, data_stride, max_prefixlen;
	struct bpfvm_rcu_list retired;
};

#define LPM(m) ((struct bpfvm_lpm *)(m))

static int lpm_check(const struct bpfvm_map_def *def, char *err, size_t errlen)
{
	if (def->max_entries == 0 || !(def->flags & BPFVM_F_NO_PREALLOC) ||
	    (def->flags & ~LPM_CREATE_FLAG_MASK) ||
	    ((def->flags & BPFVM_F_RDONLY) && (def->flags & BPFVM_F_WRONLY)) ||
	    ((def->flags & BPFVM_F_RDONLY_PROG) && (def->flags & BPFVM_F_WRONLY_PROG)) ||
	    def->key_size < LPM_KEY_SIZE_MIN || def->key_size > LPM_KEY_SIZE_MAX ||
	    def->value_size < 1 || def->value_size > LPM_VAL_SIZE_MAX) {
		snprintf(err, errlen, "LPM tries need BPF_F_NO_PREALLOC, key_size %u..%u, "
			 "value_size > 0 and max_entries > 0", LPM_KEY_SIZE_MIN, LPM_KEY_SIZE_MAX);
		return -EINVAL;
	}
	return 0;
}

static struct bpfvm_map *lpm_alloc(const struct bpfvm_map_def *def)
{
	struct bpfvm_lpm *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	pthread_mutex_init(&t->lock, NULL);
	t->data_size = def->key_size - 4;
	t->data_stride = (t->data_size + 7u) & ~7u;
	t->max_prefixlen = t->data_size * 8;
	return &t->map;
}

static void lpm_elem_free(struct bpfvm_rcu_head *head)
{
	free(head);
}

static void lpm_free(struct bpfvm_map *map)
{
	struct bpfvm_lpm *t = LPM(map);
	struct lpm_elem *e = atomic_load_explicit(&t->head, memory_order_relaxed);
	while (e) {
		struct lpm_elem *next = atomic_load_explicit(&e->next, memory_order_relaxed);
		free(e);
		e = next;
	}
	bpfvm__rcu_drain(&t->retired);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static int bit_at(const unsigned char *data, uint32_t i)
{
	return (data[i / 8] >> (7 - i % 8)) & 1;
}

/* Length of the common prefix of a and b, at most limit bits. */
static uint32_t common_prefix(const unsigned char *a, const unsigned char *b, uint32_t limit)
{
	uint32_t i = 0;
	while (i + 8 <= limit && a[i / 8] == b[i / 8])
		i += 8;
	while (i < limit && bit_at(a, i) == bit_at(b, i))
		i++;
	return i;
}

static uint32_t key_prefixlen(const void *key)
{
	uint32_t plen;
	memcpy(&plen, key, sizeof(plen));
	return plen;
}

static const unsigned char *key_data(const void *key)
{
	return (const unsigned char *)key + 4;
}

static void *elem_value(struct bpfvm_lpm *t, struct lpm_elem *e)
{
	return e->data + t->data_stride;
}

static struct lpm_elem *longest_match(struct bpfvm_lpm *t, const void *key)
{
	uint32_t kplen = key_prefixlen(key);
	const unsigned char *kd = key_data(key);
	for (struct lpm_elem *e = atomic_load_explicit(&t->head, memory_order_acquire); e;
	     e = atomic_load_explicit(&e->next, memory_order_acquire)) {
		if (e->prefixlen <= kplen && common_prefix(e->data, kd, e->prefixlen) == e->prefixlen)
			return e;
	}
	return NULL;
}

/* The entry with exactly this prefix (bits past prefixlen ignored). */
static struct lpm_elem *exact(struct bpfvm_lpm *t, const void *key,
			      _Atomic(struct lpm_elem *) **link)
{
	uint32_t plen = key_prefixlen(key);
	_Atomic(struct lpm_elem *) *prev = &t->head;
	for (struct lpm_elem *e = atomic_load_explicit(prev, memory_order_acquire); e;
	     e = atomic_load_explicit(prev, memory_order_acquire)) {
		if (e->prefixlen == plen && common_prefix(e->data, key_data(key), plen) == plen) {
			if (link)
				*link = prev;
			return e;
		}
		prev = &e->next;
	}
	return NULL;
}

static void *lpm_lookup(struct bpfvm_map *map, const void *key, uint32_t cpu)
{
	struct lpm_elem *e = longest_match(LPM(map), key);
	return e ? elem_value(LPM(map), e) : NULL;
}

static int lpm_copy(struct bpfvm_map *map, const void *key, void *value)
{
	struct lpm_elem *e = longest_match(LPM(map), key);
	if (!e)
		return -ENOENT;
	memcpy(value, elem_value(LPM(map), e), map->def.value_size);
	return 0;
}

static int lpm_update(struct bpfvm_map *map, const void *key, const void *value, uint64_t flags,
		      int cpu)
{
	struct bpfvm_lpm *t = LPM(map);
	uint32_t plen = key_prefixlen(key);
	if (flags > BPFVM_EXIST || plen > t->max_prefixlen)
		return -EINVAL;
	struct lpm_elem *n = calloc(1, sizeof(*n) + t->data_stride + map->def.value_size);
	if (!n)
		return -ENOMEM;
	n->prefixlen = plen;
	memcpy(n->data, key_data(key), t->data_size);
	memcpy(elem_value(t, n), value, map->def.value_size);

	pthread_mutex_lock(&t->lock);
	_Atomic(struct lpm_elem *) *link;
	struct lpm_elem *old = exact(t, key, &link);
	int rc = 0;
	if (old && flags == BPFVM_NOEXIST)
		rc = -EEXIST;
	else if (!old && flags == BPFVM_EXIST)
		rc = -ENOENT;
	else if (!old && t->n_entries == map->def.max_entries)
		rc = -ENOSPC;
	if (rc) {
		pthread_mutex_unlock(&t->lock);
		free(n);
		return rc;
	}
	if (old) {
		atomic_store_explicit(&n->next, atomic_load_explicit(&old->next, memory_order_relaxed),
				      memory_order_relaxed);
		atomic_store_explicit(link, n, memory_order_release);
	} else {
		/* Before the first entry with a shorter prefix. */
		_Atomic(struct lpm_elem *) *prev = &t->head;
		struct lpm_elem *e = atomic_load_explicit(prev, memory_order_relaxed);
		while (e && e->prefixlen >= plen) {
			prev = &e->next;
			e = atomic_load_explicit(prev, memory_order_relaxed);
		}
		atomic_store_explicit(&n->next, e, memory_order_relaxed);
		atomic_store_explicit(prev, n, memory_order_release);
		t->n_entries++;
	}
	pthread_mutex_unlock(&t->lock);
	if (old)
		bpfvm__rcu_retire(map->vm, &t->retired, &old->rcu, lpm_elem_free);
	return 0;
}

static int lpm_delete(struct bpfvm_map *map, const void *key)
{
	struct bpfvm_lpm *t = LPM(map);
	if (key_prefixlen(key) > t->max_prefixlen)
		return -EINVAL;
	pthread_mutex_lock(&t->lock);
	_Atomic(struct lpm_elem *) *link;
	struct lpm_elem *e = exact(t, key, &link);
	if (e) {
		atomic_store_explicit(link, atomic_load_explicit(&e->next, memory_order_relaxed),
				      memory_order_release);
		t->n_entries--;
	}
	pthread_mutex_unlock(&t->lock);
	if (!e)
		return -ENOENT;
	bpfvm__rcu_retire(map->vm, &t->retired, &e->rcu, lpm_elem_free);
	return 0;
}

/* Post-order of the kernel's trie: < 0 if a comes before b. */
static int postorder_cmp(const struct lpm_elem *a, const struct lpm_elem *b)
{
	uint32_t m = a->prefixlen < b->prefixlen ? a->prefixlen : b->prefixlen;
	uint32_t c = common_prefix(a->data, b->data, m);
	if (c < m)
		return bit_at(a->data, c) ? 1 : -1;
	if (a->prefixlen != b->prefixlen)
		return a->prefixlen > b->prefixlen ? -1 : 1;
	return 0;
}

static int lpm_get_next_key(struct bpfvm_map *map, const void *key, void *next_key)
{
	struct bpfvm_lpm *t = LPM(map);
	struct lpm_elem *cur = NULL, *best = NULL;
	if (key && key_prefixlen(key) <= t->max_prefixlen)
		cur = exact(t, key, NULL);
	for (struct lpm_elem *e = atomic_load_explicit(&t->head, memory_order_acquire); e;
	     e = atomic_load_explicit(&e->next, memory_order_acquire)) {
		if (cur && postorder_cmp(e, cur) <= 0)
			continue;
		if (!best || postorder_cmp(e, best) < 0)
			best = e;
	}
	if (!best)
		return -ENOENT;
	memcpy(next_key, &best->prefixlen, 4);
	memcpy((unsigned char *)next_key + 4, best->data, t->data_size);
	return 0;
}


const struct bpfvm_map_ops bpfvm__lpm_trie_ops = {
	.check = lpm_check,
	.alloc = lpm_alloc,
	.free = lpm_free,
	.lookup = lpm_lookup,
	.update = lpm_update,
	.delete = lpm_delete,
	.copy = lpm_copy,
	.get_next_key = lpm_get_next_key,
	.for_each = NULL,
};
