/* Concurrency through programs: four threads run programs with
 * bpfvm_prog_run, two on the interpreter and two on the JIT, against
 * shared maps: a HASH map whose values they increment atomically, an LRU
 * hash they keep replacing into (more keys than room), a PERCPU_ARRAY
 * counter each thread increments on its own CPU slot, and a RINGBUF that
 * every run writes one record to while a fifth thread consumes. The books
 * must balance: hash values add up to the runs, the per-CPU slots too,
 * records consumed equal records produced, and the LRU map never holds
 * more than max_entries. tests/reliability/test_tsan.sh runs this binary
 * under ThreadSanitizer (no race report allowed).
 * BPFVM_CONC_RUNS sets the runs per thread (default 20000). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "bpfvm/bpfvm.h"
#include "common/harness.h"

#define THREADS 4
#define HASH_KEYS 64
#define LRU_MAX 16

/* r0 = 0 when every step worked; 1..4 name the step that failed. */
static const char *const prog_text =
	"call 7\n"                         /* key = prandom & 63 */
	"r0 &= 63\n"
	"*(u32 *)(r10 - 4) = r0\n"
	"*(u32 *)(r10 - 8) = 0\n"
	"r1 = map[0] ll\n"                 /* hash[key] += 1, atomically */
	"r2 = r10\n"
	"r2 += -4\n"
	"call 1\n"
	"if r0 == 0 goto fail1\n"
	"r1 = 1\n"
	"lock *(u64 *)(r0 + 0) += r1\n"
	"r1 = map[2] ll\n"                 /* percpu[0] += 1 on this CPU's copy */
	"r2 = r10\n"
	"r2 += -8\n"
	"call 1\n"
	"if r0 == 0 goto fail2\n"
	"r1 = *(u64 *)(r0 + 0)\n"
	"r1 += 1\n"
	"*(u64 *)(r0 + 0) = r1\n"
	"r1 = *(u32 *)(r10 - 4)\n"         /* lru[key] = key */
	"*(u64 *)(r10 - 16) = r1\n"
	"r1 = map[1] ll\n"
	"r2 = r10\n"
	"r2 += -4\n"
	"r3 = r10\n"
	"r3 += -16\n"
	"r4 = 0\n"
	"call 2\n"
	"if r0 != 0 goto fail3\n"
	"r1 = map[3] ll\n"                 /* one 8-byte record */
	"r2 = r10\n"
	"r2 += -16\n"
	"r3 = 8\n"
	"r4 = 0\n"
	"call 130\n"
	"if r0 != 0 goto fail4\n"
	"exit\n"
	"fail1:\n r0 = 1\n exit\n"
	"fail2:\n r0 = 2\n exit\n"
	"fail3:\n r0 = 3\n exit\n"
	"fail4:\n r0 = 4\n exit\n";

struct worker {
	struct bpfvm_prog *prog;
	enum bpfvm_engine engine;
	uint32_t cpu;
	long runs, ok, rb_full, other_fail, run_errors;
};

static atomic_int producers_done;
static long consumed;

static int count_record(void *user, const void *data, size_t size)
{
	(void)data;
	(*(long *)user) += size == 8;
	return 0;
}

static void *consume(void *arg)
{
	struct bpfvm_map *rb = arg;
	while (!atomic_load(&producers_done))
		bpfvm_ringbuf_poll(rb, count_record, &consumed);
	bpfvm_ringbuf_poll(rb, count_record, &consumed);
	return NULL;
}

static void *produce(void *arg)
{
	struct worker *w = arg;
	uint64_t ctx[2] = {0};
	for (long i = 0; i < w->runs; i++) {
		struct bpfvm_run run = {.ctx = ctx, .ctx_size = sizeof(ctx), .engine = w->engine, .cpu = w->cpu};
		if (bpfvm_prog_run(w->prog, &run)) {
			w->run_errors++;
			continue;
		}
		if (run.retval == 0)
			w->ok++;
		else if (run.retval == 4)
			w->rb_full++; /* ring buffer full: the run counted everything else */
		else
			w->other_fail++;
	}
	return NULL;
}

static long runs_per_thread(void)
{
	const char *v = getenv("BPFVM_CONC_RUNS");
	return v ? atol(v) : 20000;
}

TEST(programs_on_interpreter_and_jit_update_shared_maps_without_losing_counts)
{
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	const struct bpfvm_map_def defs[4] = {
		{.type = BPFVM_MAP_HASH, .key_size = 4, .value_size = 8, .max_entries = HASH_KEYS, .name = "hits"},
		{.type = BPFVM_MAP_LRU_HASH, .key_size = 4, .value_size = 8, .max_entries = LRU_MAX, .name = "recent"},
		{.type = BPFVM_MAP_PERCPU_ARRAY, .key_size = 4, .value_size = 8, .max_entries = 1, .name = "runs"},
		{.type = BPFVM_MAP_RINGBUF, .max_entries = 1 << 16, .name = "events"},
	};
	struct bpfvm_map *maps[4];
	for (int i = 0; i < 4; i++)
		CHECK_EQ(bpfvm_map_create(vm, &defs[i], &maps[i]), 0);
	for (uint32_t k = 0; k < HASH_KEYS; k++) {
		uint64_t zero = 0;
		CHECK_EQ(bpfvm_map_update(maps[0], &k, &zero, BPFVM_NOEXIST), 0);
	}
	struct bpfvm_insn *insns;
	size_t n;
	char err[256];
	CHECK_EQ(bpfvm_asm(prog_text, BPFVM_SYNTAX_LLVM, "conc.s", &insns, &n, err, sizeof(err)), 0);
	struct bpfvm_prog *progs[2];
	const enum bpfvm_engine engines[2] = {BPFVM_ENGINE_INTERP, BPFVM_ENGINE_JIT};
	for (int e = 0; e < 2; e++) {
		struct bpfvm_prog_opts opts = {.name = "conc", .engine = engines[e], .maps = maps, .nmaps = 4};
		int rc = bpfvm_prog_load(vm, insns, n, &opts, &progs[e]);
		if (rc)
			harness_fail(__FILE__, __LINE__, "load (%s): %s", e ? "jit" : "interp", bpfvm_vm_last_error(vm));
		CHECK_EQ(rc, 0);
	}
	free(insns);

	struct worker w[THREADS];
	pthread_t t[THREADS], consumer;
	long per = runs_per_thread();
	atomic_store(&producers_done, 0);
	consumed = 0;
	pthread_create(&consumer, NULL, consume, maps[3]);
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){.prog = progs[i % 2], .engine = engines[i % 2], .cpu = (uint32_t)i, .runs = per};
		pthread_create(&t[i], NULL, produce, &w[i]);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	atomic_store(&producers_done, 1);
	pthread_join(consumer, NULL);

	long ok = 0, full = 0, counted = 0;
	for (int i = 0; i < THREADS; i++) {
		CHECK_EQ(w[i].run_errors, 0);
		CHECK_EQ(w[i].other_fail, 0);
		ok += w[i].ok;
		full += w[i].rb_full;
	}
	counted = ok + full; /* every run that got past the map steps */
	CHECK_EQ(counted, per * THREADS);

	uint64_t hash_sum = 0;
	for (uint32_t k = 0; k < HASH_KEYS; k++) {
		uint64_t v = 0;
		CHECK_EQ(bpfvm_map_lookup(maps[0], &k, &v), 0);
		hash_sum += v;
	}
	CHECK_EQ(hash_sum, (uint64_t)counted);

	uint64_t slots[BPFVM_NR_CPUS] = {0}, percpu_sum = 0;
	uint32_t zero = 0;
	CHECK_EQ(bpfvm_map_lookup(maps[2], &zero, slots), 0);
	for (int c = 0; c < BPFVM_NR_CPUS; c++)
		percpu_sum += slots[c];
	CHECK_EQ(percpu_sum, (uint64_t)counted);

	CHECK_EQ(consumed, ok);

	uint32_t key, next;
	int lru_n = 0, rc = bpfvm_map_get_next_key(maps[1], NULL, &key);
	while (rc == 0 && lru_n <= LRU_MAX + 1) {
		lru_n++;
		rc = bpfvm_map_get_next_key(maps[1], &key, &next);
		key = next;
	}
	CHECK(lru_n >= 1 && lru_n <= LRU_MAX);

	bpfvm_prog_destroy(progs[0]);
	bpfvm_prog_destroy(progs[1]);
	for (int i = 0; i < 4; i++)
		bpfvm_map_destroy(maps[i]);
	bpfvm_vm_destroy(vm);
}
