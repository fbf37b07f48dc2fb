/* Map, ring buffer, perf buffer and callback helpers: the program side of
 * src/maps, with the kernel's return values. In checked runs the helpers
 * validate what a program passes (maps, memory) since nothing verified
 * it, and register the memory they hand out (bpfvm_call_allow_region). */
#include <string.h>

#include "helpers/helpers_internal.h"

#define BPF_RB_NO_WAKEUP 1ull
#define BPF_RB_FORCE_WAKEUP 2ull
#define BPF_MAX_LOOPS (8u * 1024 * 1024)

int bpfvm__helper_mem_ok(struct bpfvm_call_ctx *cc, uint64_t addr, uint64_t size, int write)
{
	if (!cc->checked || size == 0)
		return 1;
	return addr && bpfvm__region_allowed(cc, addr, (size_t)size, write);
}

struct bpfvm_map *bpfvm__helper_map(struct bpfvm_call_ctx *cc, uint64_t reg)
{
	struct bpfvm_map *map = (struct bpfvm_map *)(uintptr_t)reg;
	if (!cc->checked)
		return map;
	int has_outer = 0;
	for (size_t i = 0; i < cc->prog->nmaps; i++) {
		if (cc->prog->maps[i] == map)
			return map;
		enum bpfvm_map_type t = cc->prog->maps[i]->def.type;
		has_outer |= t == BPFVM_MAP_ARRAY_OF_MAPS || t == BPFVM_MAP_HASH_OF_MAPS;
	}
	/* Otherwise only an inner map, reachable through a map of maps of the
	 * program (a program without maps runs outside any read-side
	 * section, see bpfvm_prog_run). */
	if (!has_outer)
		return NULL;
	struct bpfvm_vm *vm = cc->vm;
	struct bpfvm_map *found = NULL;
	pthread_mutex_lock(&vm->lock);
	for (size_t i = 0; i < vm->nmaps && !found; i++)
		if (vm->maps[i] == map)
			found = map;
	pthread_mutex_unlock(&vm->lock);
	return found;
}

static int value_writable_by_prog(const struct bpfvm_map *map)
{
	return !(map->def.flags & BPFVM_F_RDONLY_PROG);
}

static uint64_t err(int e)
{
	return (uint64_t)(int64_t)e;
}

HELPER_FN(bpfvm__h_map_lookup_elem)
{
	/* Verified programs pass a map of theirs and a readable key, and
	 * nothing is registered for them: straight to the map. */
	if (!cc->checked) {
		struct bpfvm_map *map = (struct bpfvm_map *)(uintptr_t)r1;
		return (uint64_t)(uintptr_t)map->ops->lookup(map, (const void *)(uintptr_t)r2,
							     cc->run->cpu);
	}
	struct bpfvm_map *map = bpfvm__helper_map(cc, r1);
	if (!map || !bpfvm__helper_mem_ok(cc, r2, map->def.key_size, 0))
		return 0;
	void *v = map->ops->lookup(map, (const void *)(uintptr_t)r2, cc->run->cpu);
	if (v && map->def.type != BPFVM_MAP_ARRAY_OF_MAPS && map->def.type != BPFVM_MAP_HASH_OF_MAPS)
		bpfvm_call_allow_region(cc, v, map->def.value_size, value_writable_by_prog(map));
	return (uint64_t)(uintptr_t)v;
}

HELPER_FN(bpfvm__h_map_update_elem)
{
	struct bpfvm_map *map = bpfvm__helper_map(cc, r1);
	if (!map)
		return err(-EINVAL);
	if (!bpfvm__helper_mem_ok(cc, r2, map->def.key_size, 0) ||
	    !bpfvm__helper_mem_ok(cc, r3, map->def.value_size, 0))
		return err(-EFAULT);
	if (map->def.type == BPFVM_MAP_QUEUE || map->def.type == BPFVM_MAP_STACK)
		return err(-EINVAL);
	return err(map->ops->update(map, (const void *)(uintptr_t)r2, (const void *)(uintptr_t)r3, r4,
				    (int)bpfvm__cpu_slot(cc->run->cpu)));
}

HELPER_FN(bpfvm__h_map_delete_elem)
{
	struct bpfvm_map *map = bpfvm__helper_map(cc, r1);
	if (!map)
		return err(-EINVAL);
	if (!bpfvm__helper_mem_ok(cc, r2, map->def.key_size, 0))
		return err(-EFAULT);
	return err(map->ops->delete(map, (const void *)(uintptr_t)r2));
}

HELPER_FN(bpfvm__h_map_push_elem)
{
	struct bpfvm_map *map = bpfvm__helper_map(cc, r1);
	if (!map || !map->ops->push)
		return err(-EINVAL);
	if (!bpfvm__helper_mem_ok(cc, r2, map->def.value_size, 0))
		return err(-EFAULT);
	return err(map->ops->push(map, (const void *)(uintptr_t)r2, r3));
}

static uint64_t pop_or_peek(struct bpfvm_call_ctx *cc, uint64_t r1, uint64_t r2, int pop)
{
	struct bpfvm_map *map = bpfvm__helper_map(cc, r1);
	if (!map || !map->ops->pop)
		return err(-EINVAL);
	if (!bpfvm__helper_mem_ok(cc, r2, map->def.value_size, 1))
		return err(-EFAULT);
	void *value = (void *)(uintptr_t)r2;
	return err(pop ? map->ops->pop(map, value) : map->ops->peek(map, value));
}

HELPER_FN(bpfvm__h_map_pop_elem)
{
	return pop_or_peek(cc, r1, r2, 1);
}

HELPER_FN(bpfvm__h_map_peek_elem)
{
	return pop_or_peek(cc, r1, r2, 0);
}

HELPER_FN(bpfvm__h_perf_event_output)
{
	struct bpfvm_map *map = bpfvm__helper_map(cc, r2);
	if (!map)
		return err(-EINVAL);
	if (!bpfvm__helper_mem_ok(cc, r4, r5, 0))
		return err(-EFAULT);
	return err(bpfvm__perf_output(map, cc->run->cpu, r3, (const void *)(uintptr_t)r4, r5));
}

/* ---- ring buffer -------------------------------------------------------------------- */

HELPER_FN(bpfvm__h_ringbuf_output)
{
	struct bpfvm_map *map = bpfvm__helper_map(cc, r1);
	if (!map || map->def.type != BPFVM_MAP_RINGBUF ||
	    (r4 & ~(BPF_RB_NO_WAKEUP | BPF_RB_FORCE_WAKEUP)))
		return err(-EINVAL);
	if (!bpfvm__helper_mem_ok(cc, r2, r3, 0))
		return err(-EFAULT);
	void *rec = bpfvm__ringbuf_reserve(map, r3, 0);
	if (!rec)
		return err(-EAGAIN);
	memcpy(rec, (const void *)(uintptr_t)r2, r3);
	bpfvm__ringbuf_commit(rec, 0);
	return 0;
}

HELPER_FN(bpfvm__h_ringbuf_reserve)
{
	struct bpfvm_map *map = bpfvm__helper_map(cc, r1);
	if (!map || map->def.type != BPFVM_MAP_RINGBUF)
		return 0;
	void *rec = bpfvm__ringbuf_reserve(map, r2, r3);
	if (rec)
		bpfvm_call_allow_region(cc, rec, r2, 1);
	return (uint64_t)(uintptr_t)rec;
}

/* A checked program may pass anything: only commit a sample that is a
 * pending reservation of one of the VM's ring buffers. */
static int sample_ok(struct bpfvm_call_ctx *cc, uint64_t r1)
{
	if (!r1)
		return 0;
	if (!cc->checked)
		return 1;
	if (!bpfvm__region_allowed(cc, r1, 1, 1))
		return 0;
	struct bpfvm_map *map = bpfvm__ringbuf_of_sample((void *)(uintptr_t)r1);
	struct bpfvm_vm *vm = cc->vm;
	int found = 0;
	pthread_mutex_lock(&vm->lock);
	for (size_t i = 0; i < vm->nmaps && !found; i++)
		found = vm->maps[i] == map && map->def.type == BPFVM_MAP_RINGBUF;
	pthread_mutex_unlock(&vm->lock);
	return found && bpfvm__ringbuf_contains(map, (void *)(uintptr_t)r1);
}

HELPER_FN(bpfvm__h_ringbuf_submit)
{
	if (sample_ok(cc, r1))
		bpfvm__ringbuf_commit((void *)(uintptr_t)r1, 0);
	return 0;
}

HELPER_FN(bpfvm__h_ringbuf_discard)
{
	if (sample_ok(cc, r1))
		bpfvm__ringbuf_commit((void *)(uintptr_t)r1, 1);
	return 0;
}

HELPER_FN(bpfvm__h_ringbuf_query)
{
	struct bpfvm_map *map = bpfvm__helper_map(cc, r1);
	if (!map || map->def.type != BPFVM_MAP_RINGBUF)
		return 0;
	return bpfvm__ringbuf_query(map, r2);
}

/* ---- callbacks -------------------------------------------------------------------------- */

struct for_each_state {
	struct bpfvm_call_ctx *cc;
	uint64_t pc, ctx;
	int failed;
};

static int for_each_cb(void *user, struct bpfvm_map *map, const void *key, void *value)
{
	struct for_each_state *st = user;
	struct bpfvm_call_ctx *cc = st->cc;
	/* The key may live on this C stack: readable for the callback only. */
	bpfvm_call_allow_region(cc, (void *)key, map->def.key_size, 0);
	bpfvm_call_allow_region(cc, value, map->def.value_size, value_writable_by_prog(map));
	uint64_t args[5] = {(uint64_t)(uintptr_t)map, (uint64_t)(uintptr_t)key,
			    (uint64_t)(uintptr_t)value, st->ctx, 0};
	uint64_t ret = 0;
	if (cc->invoke(cc, st->pc, args, &ret)) {
		st->failed = 1;
		return 1;
	}
	return ret != 0;
}

HELPER_FN(bpfvm__h_for_each_map_elem)
{
	struct bpfvm_map *map = bpfvm__helper_map(cc, r1);
	if (!map || r4 || !map->ops->for_each || !cc->invoke)
		return err(-EINVAL);
	struct for_each_state st = {cc, r2, r3, 0};
	long n = map->ops->for_each(map, for_each_cb, &st, cc->run->cpu);
	if (st.failed)
		return err(-EFAULT);
	return (uint64_t)n;
}

HELPER_FN(bpfvm__h_loop)
{
	if (r4 || !cc->invoke)
		return err(-EINVAL);
	if (r1 > BPF_MAX_LOOPS)
		return err(-E2BIG);
	for (uint64_t i = 0; i < r1; i++) {
		uint64_t args[5] = {i, r3, 0, 0, 0}, ret = 0;
		if (cc->invoke(cc, r2, args, &ret))
			return err(-EFAULT);
		if (ret)
			return i + 1;
	}
	return r1;
}
