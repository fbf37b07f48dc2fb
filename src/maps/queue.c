/* QUEUE and STACK, as the kernel's queue_stack_maps.c: a ring of
 * max_entries + 1 slots under a spinlock; values are copied in and out, so
 * no program keeps a pointer into the map. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maps/map_internal.h"

#define KMALLOC_MAX_SIZE (1u << 22)
#define QUEUE_STACK_CREATE_FLAG_MASK (BPFVM_F_NUMA_NODE | BPFVM_F_ACCESS_MASK)

struct bpfvm_qs {
	struct bpfvm_map map;
	bpfvm_spinlock_t lock;
	uint32_t size; /* max_entries + 1 */
	uint32_t head, tail;
	_Alignas(8) unsigned char slots[];
};

#define QS(m) ((struct bpfvm_qs *)(m))

static int qs_check(const struct bpfvm_map_def *def, char *err, size_t errlen)
{
	if (def->max_entries == 0 || def->key_size != 0 || def->value_size == 0 ||
	    (def->flags & ~QUEUE_STACK_CREATE_FLAG_MASK) ||
	    ((def->flags & BPFVM_F_RDONLY) && (def->flags & BPFVM_F_WRONLY)) ||
	    ((def->flags & BPFVM_F_RDONLY_PROG) && (def->flags & BPFVM_F_WRONLY_PROG))) {
		snprintf(err, errlen, "queue/stack maps need key_size 0, value_size > 0 and "
			 "max_entries > 0");
		return -EINVAL;
	}
	if (def->value_size > KMALLOC_MAX_SIZE) {
		snprintf(err, errlen, "value_size %u is too large", def->value_size);
		return -E2BIG;
	}
	return 0;
}

static struct bpfvm_map *qs_alloc(const struct bpfvm_map_def *def)
{
	uint64_t bytes = ((uint64_t)def->max_entries + 1) * def->value_size;
	if (bytes > ((uint64_t)1 << 40))
		return NULL;
	struct bpfvm_qs *q = calloc(1, sizeof(*q) + bytes);
	if (!q)
		return NULL;
	q->size = def->max_entries + 1;
	return &q->map;
}

static void qs_free(struct bpfvm_map *map)
{
	free(map);
}

static unsigned char *slot(struct bpfvm_qs *q, uint32_t i)
{
	return q->slots + (size_t)i * q->map.def.value_size;
}

static int qs_push(struct bpfvm_map *map, const void *value, uint64_t flags)
{
	struct bpfvm_qs *q = QS(map);
	if ((flags & BPFVM_NOEXIST) || flags > BPFVM_EXIST)
		return -EINVAL;
	bpfvm_spin_lock(&q->lock);
	uint32_t next_head = q->head + 1 >= q->size ? 0 : q->head + 1;
	if (next_head == q->tail) {
		if (!(flags & BPFVM_EXIST)) {
			bpfvm_spin_unlock(&q->lock);
			return -E2BIG;
		}
		/* Overwrite the oldest element. */
		q->tail = q->tail + 1 >= q->size ? 0 : q->tail + 1;
	}
	memcpy(slot(q, q->head), value, map->def.value_size);
	q->head = next_head;
	bpfvm_spin_unlock(&q->lock);
	return 0;
}

/* Take (or just read) the element a queue gives first (the oldest) or a
 * stack gives first (the newest). */
static int qs_take(struct bpfvm_map *map, void *value, int remove)
{
	struct bpfvm_qs *q = QS(map);
	bpfvm_spin_lock(&q->lock);
	if (q->head == q->tail) {
		bpfvm_spin_unlock(&q->lock);
		return -ENOENT;
	}
	if (map->def.type == BPFVM_MAP_QUEUE) {
		memcpy(value, slot(q, q->tail), map->def.value_size);
		if (remove)
			q->tail = q->tail + 1 >= q->size ? 0 : q->tail + 1;
	} else {
		uint32_t top = q->head == 0 ? q->size - 1 : q->head - 1;
		memcpy(value, slot(q, top), map->def.value_size);
		if (remove)
			q->head = top;
	}
	bpfvm_spin_unlock(&q->lock);
	return 0;
}

static int qs_pop(struct bpfvm_map *map, void *value)
{
	return qs_take(map, value, 1);
}

static int qs_peek(struct bpfvm_map *map, void *value)
{
	return qs_take(map, value, 0);
}

/* The generic element operations do not apply, as in the kernel. */
static void *qs_lookup(struct bpfvm_map *map, const void *key, uint32_t cpu)
{
	return NULL;
}

static int qs_update(struct bpfvm_map *map, const void *key, const void *value, uint64_t flags,
		     int cpu)
{
	return -EINVAL;
}

static int qs_delete(struct bpfvm_map *map, const void *key)
{
	return -EINVAL;
}

static int qs_get_next_key(struct bpfvm_map *map, const void *key, void *next_key)
{
	return -EINVAL;
}

#define QS_OPS(name)                                                             \
	const struct bpfvm_map_ops name = {                                      \
		.check = qs_check,                                               \
		.alloc = qs_alloc,                                               \
		.free = qs_free,                                                 \
		.lookup = qs_lookup,                                             \
		.update = qs_update,                                             \
		.delete = qs_delete,                                             \
		.get_next_key = qs_get_next_key,                                 \
		.push = qs_push,                                                 \
		.pop = qs_pop,                                                   \
		.peek = qs_peek,                                                 \
	}

QS_OPS(bpfvm__queue_ops);
QS_OPS(bpfvm__stack_ops);
