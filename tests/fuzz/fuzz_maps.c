/* Fuzz target: the map API under random operation sequences, checked
 * against a simple model. The first byte picks the map type (hash,
 * array, LRU hash, queue, stack, LPM trie); each further group of bytes
 * is one operation (update with ANY/NOEXIST/EXIST, lookup, delete,
 * get_next_key walk, push/pop/peek). Properties, as docs/maps.md states
 * them with the kernel's errnos:
 *  - hash: the model's contents, -EEXIST/-ENOENT by flag, -E2BIG when
 *    full, a get_next_key walk visits every key once;
 *  - array: every index present (zero at first), delete -EINVAL, an
 *    index past the end -E2BIG on update, -ENOENT on lookup;
 *  - LRU hash: never more than max_entries elements, an element just
 *    written is present with its value, a present element has the value
 *    last written (eviction may drop any other);
 *  - queue/stack: FIFO/LIFO order, -E2BIG when full (BPF_EXIST on a
 *    full queue or stack replaces the oldest), -ENOENT when empty;
 *  - LPM trie: lookups return the longest matching prefix's value. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm/bpfvm.h"

#define MAXE 8
#define KEYS 16 /* key space: twice the capacity, so maps fill up */

struct src {
	const uint8_t *p;
	size_t left;
};

static unsigned next(struct src *s)
{
	if (!s->left)
		return 0;
	s->left--;
	return *s->p++;
}

#define EXPECT(cond, ...)                                       \
	do {                                                    \
		if (!(cond)) {                                  \
			fprintf(stderr, "%s:%d: ", __FILE__, __LINE__); \
			fprintf(stderr, __VA_ARGS__);           \
			fprintf(stderr, "\n");                  \
			abort();                                \
		}                                               \
	} while (0)

/* ---- hash, array, LRU: a key -> value table with presence bits ------------- */

struct table {
	int present[KEYS];
	uint64_t val[KEYS];
	int count;
};

static void walk_keys(struct bpfvm_map *m, const struct table *t, int lru)
{
	uint32_t key, prev, seen[KEYS] = {0};
	int n = 0, rc = bpfvm_map_get_next_key(m, NULL, &key);
	while (rc == 0) {
		EXPECT(key < KEYS && !seen[key], "walk: key %u unexpected or repeated", key);
		seen[key] = 1;
		EXPECT(lru || t->present[key], "walk: key %u not in the model", key);
		n++;
		prev = key;
		rc = bpfvm_map_get_next_key(m, &prev, &key);
	}
	EXPECT(rc == -ENOENT, "walk ends with %d", rc);
	if (lru)
		EXPECT(n <= MAXE, "LRU map holds %d > %d elements", n, MAXE);
	else
		EXPECT(n == t->count, "walk saw %d keys, model has %d", n, t->count);
}

static void fuzz_table(struct bpfvm_map *m, enum bpfvm_map_type type, struct src *s)
{
	struct table t = {0};
	int array = type == BPFVM_MAP_ARRAY, lru = type == BPFVM_MAP_LRU_HASH;
	if (array) {
		for (int k = 0; k < MAXE; k++)
			t.present[k] = 1;
		t.count = MAXE;
	}
	while (s->left) {
		unsigned op = next(s) % 4;
		uint32_t key = next(s) % KEYS;
		uint64_t v = next(s) * 0x0101010101010101ULL, got = 0;
		int rc;
		switch (op) {
		case 0: { /* update */
			uint64_t flags = next(s) % 3;
			rc = bpfvm_map_update(m, &key, &v, flags);
			int want = 0;
			if (array && key >= MAXE)
				want = -E2BIG;
			else if (flags == BPFVM_NOEXIST && t.present[key])
				want = -EEXIST;
			else if (flags == BPFVM_EXIST && !t.present[key])
				want = -ENOENT;
			else if (!lru && !t.present[key] && t.count >= MAXE)
				want = -E2BIG;
			/* An LRU element the model still holds may have been evicted. */
			if (lru && t.present[key] && ((want == -EEXIST && rc == 0) || (want == 0 && rc == -ENOENT))) {
				t.present[key] = 0;
				t.count--;
				if (rc)
					break;
				want = 0;
			}
			EXPECT(rc == want, "update key %u flags %llu: %d, model %d", key, (unsigned long long)flags, rc,
			       want);
			if (rc == 0) {
				if (!t.present[key])
					t.count++;
				t.present[key] = 1;
				t.val[key] = v;
				if (lru)
					EXPECT(bpfvm_map_lookup(m, &key, &got) == 0 && got == v,
					       "LRU: key %u just written is gone", key);
			}
			break;
		}
		case 1: /* lookup */
			rc = bpfvm_map_lookup(m, &key, &got);
			if (lru && rc == -ENOENT && t.present[key]) { /* evicted */
				t.present[key] = 0;
				t.count--;
				break;
			}
			EXPECT(rc == (t.present[key] ? 0 : -ENOENT), "lookup key %u: %d", key, rc);
			if (rc == 0)
				EXPECT(got == t.val[key], "lookup key %u: %#llx, model %#llx", key, (unsigned long long)got,
				       (unsigned long long)t.val[key]);
			break;
		case 2: /* delete */
			rc = bpfvm_map_delete(m, &key);
			if (array) {
				EXPECT(rc == -EINVAL, "array delete: %d", rc);
				break;
			}
			if (lru && rc == -ENOENT && t.present[key]) {
				t.present[key] = 0;
				t.count--;
				break;
			}
			EXPECT(rc == (t.present[key] ? 0 : -ENOENT), "delete key %u: %d", key, rc);
			if (rc == 0) {
				t.present[key] = 0;
				t.count--;
			}
			break;
		default:
			walk_keys(m, &t, lru);
			break;
		}
	}
	walk_keys(m, &t, lru);
}

/* ---- queue and stack ------------------------------------------------------- */

static void fuzz_queue(struct bpfvm_map *m, int stack, struct src *s)
{
	uint64_t model[MAXE];
	int n = 0;
	while (s->left) {
		unsigned op = next(s) % 3;
		uint64_t v = next(s) * 0x0101010101010101ULL + 1, got = 0;
		int rc;
		if (op == 0) {
			uint64_t flags = next(s) & 1 ? BPFVM_EXIST : BPFVM_ANY;
			rc = bpfvm_map_update(m, NULL, &v, flags);
			if (n == MAXE && flags != BPFVM_EXIST) {
				EXPECT(rc == -E2BIG, "push on full: %d", rc);
				continue;
			}
			EXPECT(rc == 0, "push: %d", rc);
			if (n == MAXE) { /* replaces the oldest */
				memmove(model, model + 1, (MAXE - 1) * sizeof(model[0]));
				n--;
			}
			model[n++] = v;
		} else {
			rc = op == 1 ? bpfvm_map_lookup_and_delete(m, NULL, &got) : bpfvm_map_lookup(m, NULL, &got);
			if (!n) {
				EXPECT(rc == -ENOENT, "pop/peek on empty: %d", rc);
				continue;
			}
			EXPECT(rc == 0, "pop/peek: %d", rc);
			uint64_t want = stack ? model[n - 1] : model[0];
			EXPECT(got == want, "%s: %#llx, model %#llx", stack ? "stack" : "queue", (unsigned long long)got,
			       (unsigned long long)want);
			if (op == 1) {
				if (!stack)
					memmove(model, model + 1, (size_t)(n - 1) * sizeof(model[0]));
				n--;
			}
		}
	}
}

/* ---- LPM trie --------------------------------------------------------------- */

struct lpm_key {
	uint32_t prefixlen;
	uint8_t addr[4];
};

struct prefix {
	uint32_t bits, len; /* address MSB first, masked to len */
	uint64_t val;
};

static uint32_t mask_of(uint32_t len)
{
	return len ? ~0u << (32 - len) : 0;
}

static struct lpm_key key_of(uint32_t bits, uint32_t len)
{
	struct lpm_key k = {len, {bits >> 24, bits >> 16, bits >> 8, bits}};
	return k;
}

static void fuzz_lpm(struct bpfvm_map *m, struct src *s)
{
	struct prefix model[MAXE];
	int n = 0;
	while (s->left) {
		unsigned op = next(s) % 3;
		/* Few distinct addresses so prefixes overlap. */
		uint32_t addr = (uint32_t)(next(s) & 0xc3) << 24 | (uint32_t)(next(s) & 0x81) << 16;
		uint32_t len = next(s) % 34; /* 33: invalid */
		uint64_t v = next(s) + 1, got;
		struct lpm_key k = key_of(addr, len);
		int at = -1;
		for (int i = 0; i < n; i++)
			if (len <= 32 && model[i].len == len && model[i].bits == (addr & mask_of(len)))
				at = i;
		if (op == 0) {
			int rc = bpfvm_map_update(m, &k, &v, BPFVM_ANY);
			int want = len > 32 ? -EINVAL : at < 0 && n == MAXE ? -ENOSPC : 0;
			EXPECT(rc == want, "lpm update /%u: %d, model %d", len, rc, want);
			if (rc)
				continue;
			if (at < 0) {
				at = n++;
				model[at].bits = addr & mask_of(len);
				model[at].len = len;
			}
			model[at].val = v;
		} else if (op == 1) {
			int rc = bpfvm_map_delete(m, &k);
			if (len > 32) {
				EXPECT(rc == -EINVAL, "lpm delete /%u: %d", len, rc);
				continue;
			}
			EXPECT(rc == (at < 0 ? -ENOENT : 0), "lpm delete /%u: %d", len, rc);
			if (at >= 0)
				model[at] = model[--n];
		} else {
			struct lpm_key q = key_of(addr, 32);
			int best = -1;
			for (int i = 0; i < n; i++)
				if ((addr & mask_of(model[i].len)) == model[i].bits &&
				    (best < 0 || model[i].len > model[best].len))
					best = i;
			int rc = bpfvm_map_lookup(m, &q, &got);
			EXPECT(rc == (best < 0 ? -ENOENT : 0), "lpm lookup: %d", rc);
			if (best >= 0)
				EXPECT(got == model[best].val, "lpm lookup: %llu, model /%u %llu", (unsigned long long)got,
				       model[best].len, (unsigned long long)model[best].val);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum bpfvm_map_type types[] = {BPFVM_MAP_HASH, BPFVM_MAP_ARRAY, BPFVM_MAP_LRU_HASH,
						    BPFVM_MAP_QUEUE, BPFVM_MAP_STACK, BPFVM_MAP_LPM_TRIE};
	struct src s = {data, size};
	enum bpfvm_map_type type = types[next(&s) % 6];
	struct bpfvm_map_def def = {.type = type, .key_size = 4, .value_size = 8, .max_entries = MAXE, .name = "m"};
	if (type == BPFVM_MAP_QUEUE || type == BPFVM_MAP_STACK)
		def.key_size = 0;
	if (type == BPFVM_MAP_LPM_TRIE) {
		def.key_size = sizeof(struct lpm_key);
		def.flags = 1; /* BPF_F_NO_PREALLOC */
	}
	struct bpfvm_vm *vm;
	struct bpfvm_map *m;
	if (bpfvm_vm_create(&vm))
		abort();
	if (bpfvm_map_create(vm, &def, &m)) {
		fprintf(stderr, "create: %s\n", bpfvm_vm_last_error(vm));
		abort();
	}
	if (type == BPFVM_MAP_QUEUE || type == BPFVM_MAP_STACK)
		fuzz_queue(m, type == BPFVM_MAP_STACK, &s);
	else if (type == BPFVM_MAP_LPM_TRIE)
		fuzz_lpm(m, &s);
	else
		fuzz_table(m, type, &s);
	bpfvm_map_destroy(m);
	bpfvm_vm_destroy(vm);
	return 0;
}
