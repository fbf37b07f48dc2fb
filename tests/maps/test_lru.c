/* LRU hash maps, as the kernel's bpf_lru_list.c: what must hold whatever
 * the exact victim (the kernel's choice depends on its per-CPU lists):
 * elements programs keep looking up survive, the unreferenced oldest go
 * first, a full map evicts the kernel's batch (target_free) at once, and
 * the count never exceeds max_entries. */
#include <errno.h>
#include <stdlib.h>

#include "helpers/prog_util.h"

/* ctx holds a u32 key: look it up (a program lookup sets the reference
 * bit; the host's does not, as the kernel's syscall lookup). */
static const char touch_text[] =
	"r2 = r1\n"
	"r1 = map[0] ll\n"
	"call 1\n"
	"r0 = 0\n"
	"exit\n";

static void touch(struct bpfvm_prog *prog, uint32_t key)
{
	run_prog(prog, &key, sizeof(key), 0);
}

static uint32_t count_keys(struct bpfvm_map *m)
{
	uint32_t n = 0, key;
	int rc = bpfvm_map_get_next_key(m, NULL, &key);
	for (; rc == 0 && n < 1000000; rc = bpfvm_map_get_next_key(m, &key, &key))
		n++;
	return n;
}

static int present(struct bpfvm_map *m, uint32_t key)
{
	uint64_t v[BPFVM_NR_CPUS];
	return bpfvm_map_lookup(m, &key, v) == 0;
}

static void hot_keys_survive(enum bpfvm_map_type type)
{
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	enum { MAX = 64, HOT = 8 };
	struct bpfvm_map *m = make_map(vm, type, 4, 8, MAX, 0);
	struct bpfvm_prog *prog = load_prog(vm, touch_text, &m, 1);
	CHECK(prog);
	if (!prog)
		return;
	uint64_t v[BPFVM_NR_CPUS] = {0};
	for (uint32_t k = 0; k < MAX; k++)
		CHECK_EQ(bpfvm_map_update(m, &k, v, BPFVM_ANY), 0);
	uint32_t max_seen = 0;
	for (uint32_t round = 0; round < 40; round++) {
		for (uint32_t k = 0; k < HOT; k++)
			touch(prog, k);
		for (uint32_t j = 0; j < 16; j++) {
			uint32_t cold = 1000 + round * 16 + j;
			CHECK_EQ(bpfvm_map_update(m, &cold, v, BPFVM_NOEXIST), 0);
			CHECK(present(m, cold)); /* the newest insert is never the victim */
			uint32_t n = count_keys(m);
			max_seen = n > max_seen ? n : max_seen;
		}
		for (uint32_t k = 0; k < HOT; k++)
			CHECK(present(m, k));
	}
	CHECK_EQ(max_seen, MAX);
	bpfvm_vm_destroy(vm);
}

TEST(lru_keys_programs_keep_using_survive_eviction)
{
	hot_keys_survive(BPFVM_MAP_LRU_HASH);
	hot_keys_survive(BPFVM_MAP_LRU_PERCPU_HASH);
}

TEST(lru_evicts_the_oldest_unreferenced_in_kernel_sized_batches)
{
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	enum { MAX = 64, BATCH = MAX / BPFVM_NR_CPUS / 2 }; /* the kernel's target_free */
	struct bpfvm_map *m = make_map(vm, BPFVM_MAP_LRU_HASH, 4, 8, MAX, 0);
	struct bpfvm_prog *prog = load_prog(vm, touch_text, &m, 1);
	CHECK(prog);
	if (!prog)
		return;
	uint64_t v = 0;
	for (uint32_t k = 0; k < MAX; k++)
		CHECK_EQ(bpfvm_map_update(m, &k, &v, BPFVM_ANY), 0);
	/* The older half is referenced: the oldest of the newer half go. */
	for (uint32_t k = 0; k < MAX / 2; k++)
		touch(prog, k);
	uint32_t k = 500;
	CHECK_EQ(bpfvm_map_update(m, &k, &v, BPFVM_ANY), 0);
	CHECK_EQ(count_keys(m), MAX - BATCH + 1);
	for (k = 0; k < MAX; k++)
		CHECK_EQ(present(m, k), !(k >= MAX / 2 && k < MAX / 2 + BATCH));
	/* Room for BATCH - 1 more without evicting. */
	for (k = 501; k < 500 + BATCH; k++)
		CHECK_EQ(bpfvm_map_update(m, &k, &v, BPFVM_ANY), 0);
	CHECK_EQ(count_keys(m), MAX);
	/* Keys 0..31 are active now, their bits cleared by the move: the
	 * active list is only rotated once it outgrows the inactive one, so
	 * the next shrink takes inactive elements again. */
	k = 600;
	CHECK_EQ(bpfvm_map_update(m, &k, &v, BPFVM_ANY), 0);
	for (k = 0; k < MAX / 2; k++)
		CHECK(present(m, k));
	bpfvm_vm_destroy(vm);
}

/* When everything is referenced, an insert still succeeds (forced shrink)
 * and the map stays at most full. */
TEST(lru_insert_succeeds_when_every_element_is_referenced)
{
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	enum { MAX = 16 };
	struct bpfvm_map *m = make_map(vm, BPFVM_MAP_LRU_HASH, 4, 8, MAX, 0);
	struct bpfvm_prog *prog = load_prog(vm, touch_text, &m, 1);
	CHECK(prog);
	if (!prog)
		return;
	uint64_t v = 0;
	for (uint32_t round = 0; round < 50; round++) {
		uint32_t k = round;
		CHECK_EQ(bpfvm_map_update(m, &k, &v, BPFVM_ANY), 0);
		for (uint32_t j = 0; j <= round; j++)
			touch(prog, j);
		CHECK(count_keys(m) <= MAX);
		CHECK(present(m, round));
	}
	bpfvm_vm_destroy(vm);
}
