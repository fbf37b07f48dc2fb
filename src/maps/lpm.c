/* LPM_TRIE: longest-prefix match on keys laid out as the kernel's
 * struct bpf_lpm_trie_key (u32 prefixlen, then the data bytes, compared
 * most significant bit first).
 *
 * The kernel's trie (lpm_trie.c): a binary trie of path-compressed nodes,
 * each holding a prefix; a node's children extend its prefix, the child
 * taken by the first bit after it. A real node holds an entry and a value;
 * an intermediate node (LPM_IM) only joins two subtrees whose prefixes
 * part at its length, and always has two children. A lookup walks one
 * path from the root, so it costs O(prefix bits), and returns the last
 * real node whose whole prefix the key matches (within the key's own
 * prefixlen). Update and delete keep the kernel's shape exactly (when an
 * intermediate node is created or dropped, and a deleted node with two
 * children becomes intermediate in place), so get_next_key walks the
 * kernel's post-order: more specific prefixes first, bit 0 before bit 1.
 *
 * Readers take no lock: child links are published with release stores
 * and read with acquire loads. Writers take the trie mutex; a node that
 * is unlinked or replaced is retired to the epoch reclamation of rcu.c, so
 * a value pointer a program got stays valid until its run ends, and a
 * reader's walk never reaches freed memory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maps/map_internal.h"

#define LPM_DATA_SIZE_MAX 256u
#define LPM_KEY_SIZE_MIN (4u + 1u)
#define LPM_KEY_SIZE_MAX (4u + LPM_DATA_SIZE_MAX)
#define LPM_VAL_SIZE_MAX ((1u << 22) - LPM_KEY_SIZE_MAX - 64u)
#define LPM_CREATE_FLAG_MASK (BPFVM_F_NO_PREALLOC | BPFVM_F_NUMA_NODE | BPFVM_F_ACCESS_MASK)

/* Flag of an intermediate node: no entry, no value, two children. */
#define LPM_IM 1u

/* What a lookup reads (children, prefixlen, flags, data) comes first; with
 * a 4-byte key and an 8-byte value a node is one 64-byte line of the pool. */
struct lpm_node {
	_Atomic(struct lpm_node *) child[2];
	uint32_t prefixlen;
	/* LPM_IM; set in place when an entry with two children is deleted,
	 * so read atomically. */
	atomic_uint flags;
	struct bpfvm_rcu_head rcu;
	_Alignas(8) unsigned char data[]; /* key data (8-aligned), then the value */
};

struct bpfvm_lpm {
	struct bpfvm_map map;
	pthread_mutex_t lock; /* writers */
	_Atomic(struct lpm_node *) root;
	uint32_t n_entries; /* real nodes, under lock */
	uint32_t data_size, data_stride, max_prefixlen;
	struct bpfvm_rcu_list retired;
	/* Nodes, real or intermediate (at most 2 * max_entries - 1 at once),
	 * together in huge pages: a lookup visits one per prefix length. */
	struct bpfvm_elem_pool pool;
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
	bpfvm__pool_init(&t->pool, 2 * (uint64_t)def->max_entries,
			 sizeof(struct lpm_node) + t->data_stride + def->value_size);
	return &t->map;
}

static struct lpm_node *node_of_rcu(struct bpfvm_rcu_head *head)
{
	return (struct lpm_node *)(void *)((char *)head - offsetof(struct lpm_node, rcu));
}

static void node_free_rcu(struct bpfvm_rcu_head *head, struct bpfvm_rcu_list *list)
{
	struct bpfvm_lpm *t = (struct bpfvm_lpm *)(void *)((char *)list -
							   offsetof(struct bpfvm_lpm, retired));
	bpfvm__pool_free(&t->pool, node_of_rcu(head));
}

/* Readers may be walking through node: free it after its grace period. */
static void retire(struct bpfvm_lpm *t, struct lpm_node *node)
{
	bpfvm__rcu_retire(t->map.vm, &t->retired, &node->rcu, node_free_rcu);
}

static struct lpm_node *child_of(struct lpm_node *node, unsigned bit)
{
	return atomic_load_explicit(&node->child[bit], memory_order_acquire);
}

static int is_im(struct lpm_node *node)
{
	return atomic_load_explicit(&node->flags, memory_order_relaxed) & LPM_IM;
}

/* No reader is left: free the nodes, the rcu.next links making the list
 * of those still to visit (no recursion, however deep the trie). */
static void lpm_free(struct bpfvm_map *map)
{
	struct bpfvm_lpm *t = LPM(map);
	struct lpm_node *todo = atomic_load_explicit(&t->root, memory_order_relaxed);
	if (todo)
		todo->rcu.next = NULL;
	while (todo) {
		struct lpm_node *node = todo;
		todo = node->rcu.next ? node_of_rcu(node->rcu.next) : NULL;
		for (unsigned bit = 0; bit < 2; bit++) {
			struct lpm_node *c = atomic_load_explicit(&node->child[bit], memory_order_relaxed);
			if (c) {
				c->rcu.next = todo ? &todo->rcu : NULL;
				todo = c;
			}
		}
		bpfvm__pool_free(&t->pool, node);
	}
	bpfvm__rcu_drain(&t->retired);
	bpfvm__pool_destroy(&t->pool);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static unsigned bit_at(const unsigned char *data, uint32_t i)
{
	return (data[i / 8] >> (7 - i % 8)) & 1;
}

/* Leading bits a and b share, at most limit (<= 8 * their size). */
static uint32_t common_bits(const unsigned char *a, const unsigned char *b, uint32_t limit)
{
	uint32_t bits = 0;
	for (uint32_t i = 0; bits < limit; i++) {
		unsigned diff = a[i] ^ b[i];
		if (diff) {
			bits += (uint32_t)__builtin_clz(diff) - 24; /* zeros above the top set bit */
			break;
		}
		bits += 8;
	}
	return bits < limit ? bits : limit;
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

/* The kernel's longest_prefix_match: how far key matches node's prefix,
 * within both prefix lengths. */
static uint32_t match_len(const struct lpm_node *node, const void *key)
{
	uint32_t kplen = key_prefixlen(key);
	uint32_t limit = node->prefixlen < kplen ? node->prefixlen : kplen;
	return common_bits(node->data, key_data(key), limit);
}

static void *node_value(struct bpfvm_lpm *t, struct lpm_node *node)
{
	return node->data + t->data_stride;
}

static struct lpm_node *longest_match(struct bpfvm_lpm *t, const void *key)
{
	struct lpm_node *found = NULL;
	struct lpm_node *node = atomic_load_explicit(&t->root, memory_order_acquire);
	while (node) {
		uint32_t m = match_len(node, key);
		if (m == t->max_prefixlen) {
			/* A full-length match is an entry: intermediate nodes
			 * are always shorter than their children. */
			found = node;
			break;
		}
		if (m < node->prefixlen)
			break;
		if (!is_im(node))
			found = node;
		node = child_of(node, bit_at(key_data(key), node->prefixlen));
	}
	return found;
}

static void *lpm_lookup(struct bpfvm_map *map, const void *key, uint32_t cpu)
{
	struct lpm_node *node = longest_match(LPM(map), key);
	return node ? node_value(LPM(map), node) : NULL;
}

static int lpm_copy(struct bpfvm_map *map, const void *key, void *value)
{
	struct lpm_node *node = longest_match(LPM(map), key);
	if (!node)
		return -ENOENT;
	memcpy(value, node_value(LPM(map), node), map->def.value_size);
	return 0;
}

/* A node for prefix key, with value (real) or without (intermediate). */
static struct lpm_node *node_new(struct bpfvm_lpm *t, uint32_t prefixlen,
				 const unsigned char *data, const void *value)
{
	struct lpm_node *node = bpfvm__pool_alloc(&t->pool);
	if (!node)
		return NULL;
	node->prefixlen = prefixlen;
	memcpy(node->data, data, t->data_size);
	if (value)
		memcpy(node_value(t, node), value, t->map.def.value_size);
	else
		atomic_init(&node->flags, LPM_IM);
	return node;
}

static void publish(_Atomic(struct lpm_node *) *slot, struct lpm_node *node)
{
	atomic_store_explicit(slot, node, memory_order_release);
}

/* Room for one more entry, as the kernel's trie_check_add_elem. */
static int may_add(struct bpfvm_lpm *t, uint64_t flags)
{
	if (flags == BPFVM_EXIST)
		return -ENOENT;
	if (t->n_entries == t->map.def.max_entries)
		return -ENOSPC;
	t->n_entries++;
	return 0;
}

/* Under the lock: link new (a real node for key) into the trie. Returns
 * 0 or an errno; *old is a node to retire once unlocked. */
static int insert_locked(struct bpfvm_lpm *t, const void *key, struct lpm_node *new,
			 uint64_t flags, struct lpm_node **old)
{
	uint32_t plen = new->prefixlen, m = 0;
	_Atomic(struct lpm_node *) *slot = &t->root;
	struct lpm_node *node;
	/* Down while the node's whole prefix is ours and shorter than it. */
	while ((node = atomic_load_explicit(slot, memory_order_relaxed))) {
		m = match_len(node, key);
		if (node->prefixlen != m || node->prefixlen == plen ||
		    node->prefixlen == t->max_prefixlen)
			break;
		slot = &node->child[bit_at(key_data(key), node->prefixlen)];
	}
	if (!node) {
		int rc = may_add(t, flags);
		if (!rc)
			publish(slot, new);
		return rc;
	}
	if (node->prefixlen == m) {
		/* Same prefix: new takes the node's place (and children). */
		if (!is_im(node)) {
			if (flags == BPFVM_NOEXIST)
				return -EEXIST;
		} else {
			int rc = may_add(t, flags);
			if (rc)
				return rc;
		}
		for (unsigned bit = 0; bit < 2; bit++)
			atomic_store_explicit(&new->child[bit],
					      atomic_load_explicit(&node->child[bit], memory_order_relaxed),
					      memory_order_relaxed);
		publish(slot, new);
		*old = node;
		return 0;
	}
	int rc = may_add(t, flags);
	if (rc)
		return rc;
	if (m == plen) {
		/* new is a prefix of node: it goes above it. */
		atomic_store_explicit(&new->child[bit_at(node->data, m)], node, memory_order_relaxed);
		publish(slot, new);
		return 0;
	}
	/* They part after m bits: an intermediate node joins them. */
	struct lpm_node *im = node_new(t, m, node->data, NULL);
	if (!im) {
		t->n_entries--;
		return -ENOMEM;
	}
	unsigned new_bit = bit_at(key_data(key), m);
	atomic_store_explicit(&im->child[new_bit], new, memory_order_relaxed);
	atomic_store_explicit(&im->child[!new_bit], node, memory_order_relaxed);
	publish(slot, im);
	return 0;
}

static int lpm_update(struct bpfvm_map *map, const void *key, const void *value, uint64_t flags,
		      int cpu)
{
	struct bpfvm_lpm *t = LPM(map);
	uint32_t plen = key_prefixlen(key);
	if (flags > BPFVM_EXIST || plen > t->max_prefixlen)
		return -EINVAL;
	struct lpm_node *new = node_new(t, plen, key_data(key), value), *old = NULL;
	if (!new)
		return -ENOMEM;
	pthread_mutex_lock(&t->lock);
	int rc = insert_locked(t, key, new, flags, &old);
	pthread_mutex_unlock(&t->lock);
	if (rc)
		bpfvm__pool_free(&t->pool, new);
	if (old)
		retire(t, old);
	return rc;
}

/* Under the lock: unlink key's entry. Up to two nodes to retire. */
static int remove_locked(struct bpfvm_lpm *t, const void *key, struct lpm_node *gone[2])
{
	uint32_t plen = key_prefixlen(key), m = 0;
	_Atomic(struct lpm_node *) *trim = &t->root, *trim2 = trim;
	struct lpm_node *node, *parent = NULL;
	while ((node = atomic_load_explicit(trim, memory_order_relaxed))) {
		m = match_len(node, key);
		if (node->prefixlen != m || node->prefixlen == plen)
			break;
		parent = node;
		trim2 = trim;
		trim = &node->child[bit_at(key_data(key), node->prefixlen)];
	}
	if (!node || node->prefixlen != plen || node->prefixlen != m || is_im(node))
		return -ENOENT;
	t->n_entries--;
	struct lpm_node *c0 = atomic_load_explicit(&node->child[0], memory_order_relaxed);
	struct lpm_node *c1 = atomic_load_explicit(&node->child[1], memory_order_relaxed);
	if (c0 && c1) {
		/* Still needed to join its subtrees. */
		atomic_fetch_or_explicit(&node->flags, LPM_IM, memory_order_relaxed);
		return 0;
	}
	if (parent && is_im(parent) && !c0 && !c1) {
		/* The intermediate parent would have one child: its other
		 * child takes its place. */
		unsigned node_bit = atomic_load_explicit(&parent->child[0], memory_order_relaxed) != node;
		publish(trim2, atomic_load_explicit(&parent->child[!node_bit], memory_order_relaxed));
		gone[0] = node;
		gone[1] = parent;
		return 0;
	}
	publish(trim, c0 ? c0 : c1);
	gone[0] = node;
	return 0;
}

static int lpm_delete(struct bpfvm_map *map, const void *key)
{
	struct bpfvm_lpm *t = LPM(map);
	if (key_prefixlen(key) > t->max_prefixlen)
		return -EINVAL;
	struct lpm_node *gone[2] = {NULL, NULL};
	pthread_mutex_lock(&t->lock);
	int rc = remove_locked(t, key, gone);
	pthread_mutex_unlock(&t->lock);
	for (int i = 0; i < 2; i++)
		if (gone[i])
			retire(t, gone[i]);
	return rc;
}

/* The first entry in post-order under root: down the leftmost path, then
 * right where there is no left. */
static struct lpm_node *leftmost(struct lpm_node *root)
{
	struct lpm_node *first = NULL;
	for (struct lpm_node *node = root; node;) {
		if (is_im(node)) {
			node = child_of(node, 0);
		} else {
			first = node;
			node = child_of(node, 0);
			if (!node)
				node = child_of(first, 1);
		}
	}
	return first;
}

static void copy_key(struct bpfvm_lpm *t, const struct lpm_node *node, void *next_key)
{
	memcpy(next_key, &node->prefixlen, 4);
	memcpy((unsigned char *)next_key + 4, node->data, t->data_size);
}

/* The kernel's trie_get_next_key: the entry after key in post-order; the
 * first entry if key is absent, intermediate or invalid. */
static int lpm_get_next_key(struct bpfvm_map *map, const void *key, void *next_key)
{
	struct bpfvm_lpm *t = LPM(map);
	struct lpm_node *root = atomic_load_explicit(&t->root, memory_order_acquire);
	if (!root)
		return -ENOENT;
	if (!key || key_prefixlen(key) > t->max_prefixlen) {
		copy_key(t, leftmost(root), next_key);
		return 0;
	}
	/* Prefix lengths grow strictly down a path: at most max_prefixlen + 1
	 * nodes on it. */
	struct lpm_node **path = malloc(((size_t)t->max_prefixlen + 1) * sizeof(*path));
	if (!path)
		return -ENOMEM;
	uint32_t plen = key_prefixlen(key), m = 0;
	int depth = -1;
	struct lpm_node *node = root;
	while (node) {
		path[++depth] = node;
		m = match_len(node, key);
		if (node->prefixlen != m || node->prefixlen == plen)
			break;
		node = child_of(node, bit_at(key_data(key), node->prefixlen));
	}
	struct lpm_node *next = NULL;
	int rc = 0;
	/* Only an exact match counts (the walk may stop on a node of the
	 * same length that the key does not match, as the kernel checks since
	 * 6.13). */
	if (!node || node->prefixlen != plen || m != plen || is_im(node)) {
		next = leftmost(root);
	} else {
		/* Up from key's node: a right sibling subtree comes next,
		 * else the first real ancestor. */
		for (; depth > 0 && !next; depth--) {
			struct lpm_node *parent = path[depth - 1];
			struct lpm_node *right = child_of(parent, 1);
			if (child_of(parent, 0) == path[depth] && right)
				next = leftmost(right);
			else if (!is_im(parent))
				next = parent;
		}
		if (!next)
			rc = -ENOENT;
	}
	free(path);
	if (next)
		copy_key(t, next, next_key);
	return rc;
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
