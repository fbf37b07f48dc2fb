/* Concurrency: several threads hammer shared maps at once, 1M operations
 * in all, and the books must balance. Phase 1 uses the host API (inserts,
 * replaces, deletes, lookups, lookup_and_delete on a HASH map too small for
 * its keys, so -E2BIG happens too); phase 2 runs programs that count hits
 * with atomic adds on hash values while another thread churns other keys,
 * so reclamation runs under readers. tests/maps/test_tsan.sh runs this
 * binary under ThreadSanitizer. Phase 3 reshapes an LPM trie while other
 * threads look up addresses in it. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "helpers/prog_util.h"
#include "maps/map_internal.h"

#define THREADS 4
#define OPS_TOTAL 1000000
#define KEYS 2048
#define MAX_ENTRIES 1024

struct worker {
	struct bpfvm_map *map;
	struct bpfvm_prog *prog;
	unsigned seed;
	long inserted, deleted, bad_values, unexpected, runs, failed_runs;
};

static unsigned next_rand(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

/* Values carry their key in the low half: a lookup that returns another
 * key's value, or a torn one, is caught. */
static uint64_t value_for(uint32_t key, unsigned seq)
{
	return ((uint64_t)seq << 32) | key;
}

static void *host_ops(void *arg)
{
	struct worker *w = arg;
	for (int i = 0; i < OPS_TOTAL / THREADS; i++) {
		unsigned r = next_rand(&w->seed);
		uint32_t key = r % KEYS;
		uint64_t v = value_for(key, r), out;
		int rc;
		switch ((r >> 12) % 5) {
		case 0:
			rc = bpfvm_map_update(w->map, &key, &v, BPFVM_NOEXIST);
			if (rc == 0)
				w->inserted++;
			else if (rc != -EEXIST && rc != -E2BIG)
				w->unexpected++;
			break;
		case 1:
			rc = bpfvm_map_update(w->map, &key, &v, BPFVM_EXIST);
			if (rc != 0 && rc != -ENOENT)
				w->unexpected++;
			break;
		case 2:
			rc = bpfvm_map_delete(w->map, &key);
			if (rc == 0)
				w->deleted++;
			else if (rc != -ENOENT)
				w->unexpected++;
			break;
		case 3:
			rc = bpfvm_map_lookup_and_delete(w->map, &key, &out);
			if (rc == 0) {
				w->deleted++;
				w->bad_values += (uint32_t)out != key;
			} else if (rc != -ENOENT) {
				w->unexpected++;
			}
			break;
		default:
			rc = bpfvm_map_lookup(w->map, &key, &out);
			if (rc == 0)
				w->bad_values += (uint32_t)out != key;
			else if (rc != -ENOENT)
				w->unexpected++;
			break;
		}
	}
	return NULL;
}

static long count_elements(struct bpfvm_map *map)
{
	long n = 0;
	uint32_t key, next;
	int rc = bpfvm_map_get_next_key(map, NULL, &next);
	while (rc == 0 && n <= KEYS) {
		n++;
		key = next;
		rc = bpfvm_map_get_next_key(map, &key, &next);
	}
	return n;
}

TEST(hash_host_operations_from_threads_balance)
{
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	struct bpfvm_map *map = make_map(vm, BPFVM_MAP_HASH, 4, 8, MAX_ENTRIES, 0);
	struct worker w[THREADS];
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){.map = map, .seed = 1234u + (unsigned)i * 7919u};
		pthread_create(&t[i], NULL, host_ops, &w[i]);
	}
	long inserted = 0, deleted = 0, bad = 0, unexpected = 0;
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		inserted += w[i].inserted;
		deleted += w[i].deleted;
		bad += w[i].bad_values;
		unexpected += w[i].unexpected;
	}
	CHECK(inserted > 10000 && deleted > 10000);
	CHECK_EQ(bad, 0);
	CHECK_EQ(unexpected, 0);
	long n = count_elements(map);
	CHECK_EQ(n, inserted - deleted);
	CHECK(n <= MAX_ENTRIES);
	bpfvm_vm_destroy(vm);
}

static void *lru_ops(void *arg)
{
	struct worker *w = arg;
	for (int i = 0; i < OPS_TOTAL / 4 / THREADS; i++) {
		unsigned r = next_rand(&w->seed);
		uint32_t key = r % KEYS;
		uint64_t v = value_for(key, r), out;
		int rc;
		switch ((r >> 12) % 4) {
		case 0:
		case 1:
			rc = bpfvm_map_update(w->map, &key, &v, BPFVM_ANY);
			w->unexpected += rc != 0; /* LRU maps evict, never -E2BIG */
			break;
		case 2:
			rc = bpfvm_map_delete(w->map, &key);
			w->unexpected += rc != 0 && rc != -ENOENT;
			break;
		default:
			rc = bpfvm_map_lookup(w->map, &key, &out);
			if (rc == 0)
				w->bad_values += (uint32_t)out != key;
			else
				w->unexpected += rc != -ENOENT;
			break;
		}
	}
	return NULL;
}

TEST(lru_hash_evicts_consistently_under_threads)
{
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	struct bpfvm_map *map = make_map(vm, BPFVM_MAP_LRU_HASH, 4, 8, 256, 0);
	struct worker w[THREADS];
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){.map = map, .seed = 777u + (unsigned)i};
		pthread_create(&t[i], NULL, lru_ops, &w[i]);
	}
	long bad = 0, unexpected = 0;
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		bad += w[i].bad_values;
		unexpected += w[i].unexpected;
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(unexpected, 0);
	long n = count_elements(map);
	CHECK(n > 0 && n <= 256);
	bpfvm_vm_destroy(vm);
}

/* Ring buffer: producers on every thread, one consumer polling at the
 * same time; every record arrives exactly once, whole. */
struct rb_producer {
	struct bpfvm_map *rb;
	uint32_t id;
	long produced, dropped;
	atomic_int *finished;
};

static void *rb_produce(void *arg)
{
	struct rb_producer *p = arg;
	for (uint32_t i = 0; i < OPS_TOTAL / 8 / THREADS; i++) {
		uint32_t *rec = bpfvm__ringbuf_reserve(p->rb, 16, 0);
		if (!rec) {
			p->dropped++;
			sched_yield();
			continue;
		}
		rec[0] = p->id, rec[1] = i, rec[2] = p->id ^ i, rec[3] = ~i;
		bpfvm__ringbuf_commit(rec, (i % 7) == 0); /* every 7th discarded */
		p->produced += (i % 7) != 0;
	}
	atomic_fetch_add(p->finished, 1);
	return NULL;
}

struct rb_totals {
	long records, bad;
};

static int rb_consume(void *user, const void *data, size_t size)
{
	struct rb_totals *t = user;
	const uint32_t *r = data;
	t->records++;
	t->bad += size != 16 || r[2] != (r[0] ^ r[1]) || r[3] != ~r[1] || r[1] % 7 == 0;
	return 0;
}

TEST(ringbuf_producers_and_a_consumer_in_parallel_lose_nothing)
{
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	struct bpfvm_map *rb = make_map(vm, BPFVM_MAP_RINGBUF, 0, 0, 1u << 16, 0);
	struct rb_producer p[THREADS];
	pthread_t t[THREADS];
	atomic_int finished = 0;
	for (int i = 0; i < THREADS; i++) {
		p[i] = (struct rb_producer){.rb = rb, .id = (uint32_t)i, .finished = &finished};
		pthread_create(&t[i], NULL, rb_produce, &p[i]);
	}
	struct rb_totals totals = {0, 0};
	while (atomic_load(&finished) < THREADS)
		if (bpfvm_ringbuf_poll(rb, rb_consume, &totals) == 0)
			sched_yield();
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	bpfvm_ringbuf_poll(rb, rb_consume, &totals);
	long produced = 0;
	for (int i = 0; i < THREADS; i++)
		produced += p[i].produced;
	CHECK(produced > 0);
	CHECK_EQ(totals.bad, 0);
	CHECK_EQ(totals.records, produced);
	bpfvm_vm_destroy(vm);
}

/* ctx holds a u32 key: add 1 to its counter, inserting it if absent. */
static const char count_text[] =
	"r6 = r1\n"
	"r1 = map[0] ll\n"
	"r2 = r6\n"
	"call 1\n"
	"if r0 == 0 goto insert\n"
	"r1 = 1\n"
	"lock *(u64 *)(r0 + 0) += r1\n"
	"r0 = 0\n"
	"exit\n"
	"insert: r1 = 1\n"
	"*(u64 *)(r10 - 8) = r1\n"
	"r1 = map[0] ll\n"
	"r2 = r6\n"
	"r3 = r10\n"
	"r3 += -8\n"
	"r4 = 1\n"
	"call 2\n"
	"if r0 == 0 goto done\n"
	"r1 = map[0] ll\n"
	"r2 = r6\n"
	"call 1\n"
	"if r0 == 0 goto err\n"
	"r1 = 1\n"
	"lock *(u64 *)(r0 + 0) += r1\n"
	"done: r0 = 0\n"
	"exit\n"
	"err: r0 = 1\n"
	"exit\n";

static void *prog_runs(void *arg)
{
	struct worker *w = arg;
	for (int i = 0; i < OPS_TOTAL / 2 / THREADS; i++) {
		uint32_t key = next_rand(&w->seed) % 512;
		struct bpfvm_run run = {.ctx = &key, .ctx_size = sizeof(key),
					.engine = BPFVM_ENGINE_INTERP, .cpu = (uint32_t)i};
		if (bpfvm_prog_run(w->prog, &run) || run.retval != 0)
			w->failed_runs++;
		w->runs++;
	}
	return NULL;
}

/* Keys 512.. are inserted and deleted meanwhile: elements are retired
 * and reclaimed while the programs' runs hold pointers into the map. */
static void *churn(void *arg)
{
	struct worker *w = arg;
	for (int i = 0; i < OPS_TOTAL / 4; i++) {
		uint32_t key = 512 + next_rand(&w->seed) % 256;
		uint64_t v = 5;
		if (i & 1)
			bpfvm_map_delete(w->map, &key);
		else
			bpfvm_map_update(w->map, &key, &v, BPFVM_ANY);
	}
	return NULL;
}

TEST(hash_program_counters_add_up_under_churn)
{
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	struct bpfvm_map *map = make_map(vm, BPFVM_MAP_HASH, 4, 8, 4096, 0);
	struct bpfvm_prog *prog = load_prog(vm, count_text, &map, 1);
	CHECK(prog);
	if (!prog)
		return;
	struct worker w[THREADS + 1];
	pthread_t t[THREADS + 1];
	for (int i = 0; i <= THREADS; i++) {
		w[i] = (struct worker){.map = map, .prog = prog, .seed = 99u + (unsigned)i};
		pthread_create(&t[i], NULL, i == THREADS ? churn : prog_runs, &w[i]);
	}
	long runs = 0, failed = 0;
	for (int i = 0; i <= THREADS; i++) {
		pthread_join(t[i], NULL);
		runs += w[i].runs;
		failed += w[i].failed_runs;
	}
	CHECK_EQ(failed, 0);
	uint64_t total = 0, v;
	for (uint32_t key = 0; key < 512; key++)
		if (bpfvm_map_lookup(map, &key, &v) == 0)
			total += v;
	CHECK_EQ(total, (uint64_t)runs);
	bpfvm_vm_destroy(vm);
}

/* ---- LPM trie: lock-free lookups while writers reshape the trie ---- */

#define LPM_OPS 40000

struct lpm_worker {
	struct bpfvm_map *map;
	unsigned seed;
	int writer;
	long found, wrong, unexpected;
};

/* A prefix from r: few top bits vary, so prefixes nest and part often
 * (intermediate nodes come and go). Its value names it. */
static void lpm_prefix(unsigned r, uint8_t key[8], uint32_t *value)
{
	uint32_t plen = r % 33, addr = (r >> 6) * 0x9e3779b1u & 0xf0f0f080u;
	if (plen < 32)
		addr &= plen ? ~0u << (32 - plen) : 0;
	uint32_t be = __builtin_bswap32(addr);
	memcpy(key, &plen, 4);
	memcpy(key + 4, &be, 4);
	*value = addr | plen; /* plen <= 32 fits in the low bits the mask clears */
}

static void *lpm_ops(void *arg)
{
	struct lpm_worker *w = arg;
	uint8_t key[8], next[8];
	for (int i = 0; i < LPM_OPS; i++) {
		unsigned r = next_rand(&w->seed);
		uint32_t v, out;
		lpm_prefix(r, key, &v);
		int rc;
		if (w->writer) {
			rc = (r & 1) ? bpfvm_map_update(w->map, key, &v, BPFVM_ANY)
				     : bpfvm_map_delete(w->map, key);
			if (rc && rc != -ENOENT && rc != -ENOSPC)
				w->unexpected++;
			continue;
		}
		if (r % 16 == 0) {
			rc = bpfvm_map_get_next_key(w->map, key, next);
			if (rc && rc != -ENOENT)
				w->unexpected++;
			continue;
		}
		/* Look up a full address: a hit must be a prefix of it. */
		uint32_t plen = 32, addr = next_rand(&w->seed) & 0xf0f0f080u, be = __builtin_bswap32(addr);
		memcpy(key, &plen, 4);
		memcpy(key + 4, &be, 4);
		rc = bpfvm_map_lookup(w->map, key, &out);
		if (rc == 0) {
			uint32_t hit_len = out & 63, hit_addr = out & 0xf0f0f080u;
			uint32_t mask = hit_len ? ~0u << (32 - hit_len) : 0;
			w->found++;
			w->wrong += hit_len > 32 || ((addr ^ hit_addr) & mask) != 0;
		} else if (rc != -ENOENT) {
			w->unexpected++;
		}
	}
	return NULL;
}

TEST(lpm_trie_lookups_stay_consistent_under_writers)
{
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	struct bpfvm_map *map = make_map(vm, BPFVM_MAP_LPM_TRIE, 8, 4, 200, 1u << 0);
	struct lpm_worker w[THREADS];
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct lpm_worker){.map = map, .seed = 7u + (unsigned)i, .writer = i < 2};
		pthread_create(&t[i], NULL, lpm_ops, &w[i]);
	}
	long found = 0, wrong = 0, unexpected = 0;
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		found += w[i].found;
		wrong += w[i].wrong;
		unexpected += w[i].unexpected;
	}
	CHECK_EQ(wrong, 0);
	CHECK_EQ(unexpected, 0);
	CHECK(found > 0);
	/* Quiet again: every entry is found by its own prefix. */
	uint8_t key[8], *from = NULL;
	long entries = 0;
	while (entries <= 200 && bpfvm_map_get_next_key(map, from, key) == 0) {
		uint32_t out;
		CHECK_EQ(bpfvm_map_lookup(map, key, &out), 0);
		uint32_t plen;
		memcpy(&plen, key, 4);
		CHECK_EQ(out & 63, plen);
		entries++;
		from = key;
	}
	CHECK(entries <= 200);
	bpfvm_vm_destroy(vm);
}
