/* PERF_EVENT_ARRAY: one record queue per slot, standing for the kernel's
 * per-CPU perf event ring buffers. The host enables a slot by storing any
 * u32 in it (the kernel stores a perf event fd there) and disables it with
 * a delete; bpf_perf_event_output appends to the slot its flags select
 * (BPF_F_CURRENT_CPU: the run's CPU) and bpfvm_perfbuf_poll drains the
 * slots in order. A slot holds at most PERF_SLOT_BYTES of unread data, past
 * which output fails with -ENOSPC as a full perf buffer does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maps/map_internal.h"

#define PERF_SLOT_BYTES (1u << 20)
#define PERF_INDEX_MASK 0xffffffffull
#define PERF_CURRENT_CPU PERF_INDEX_MASK

struct perf_record {
	struct perf_record *next;
	size_t size;
	_Alignas(8) unsigned char data[];
};

struct perf_slot {
	pthread_mutex_t lock;
	int enabled;
	uint32_t cookie;
	struct perf_record *head, *tail;
	size_t bytes;
};

struct bpfvm_perfbuf {
	struct bpfvm_map map;
	struct perf_slot slots[];
};

#define PB(m) ((struct bpfvm_perfbuf *)(m))

static int pb_check(const struct bpfvm_map_def *def, char *err, size_t errlen)
{
	if (def->max_entries == 0 || def->key_size != 4 || def->value_size != 4 ||
	    (def->flags & ~(BPFVM_F_NUMA_NODE | BPFVM_F_ACCESS_MASK | BPFVM_F_PRESERVE_ELEMS))) {
		snprintf(err, errlen, "perf event arrays need key_size 4, value_size 4 and "
			 "max_entries > 0");
		return -EINVAL;
	}
	return 0;
}

static struct bpfvm_map *pb_alloc(const struct bpfvm_map_def *def)
{
	if (def->max_entries > (1u << 20))
		return NULL;
	struct bpfvm_perfbuf *pb = calloc(1, sizeof(*pb) + def->max_entries * sizeof(pb->slots[0]));
	if (!pb)
		return NULL;
	for (uint32_t i = 0; i < def->max_entries; i++)
		pthread_mutex_init(&pb->slots[i].lock, NULL);
	return &pb->map;
}

static void drop_records(struct perf_slot *s)
{
	while (s->head) {
		struct perf_record *next = s->head->next;
		free(s->head);
		s->head = next;
	}
	s->tail = NULL;
	s->bytes = 0;
}

static void pb_free(struct bpfvm_map *map)
{
	struct bpfvm_perfbuf *pb = PB(map);
	for (uint32_t i = 0; i < map->def.max_entries; i++) {
		drop_records(&pb->slots[i]);
		pthread_mutex_destroy(&pb->slots[i].lock);
	}
	free(pb);
}

static int slot_index(struct bpfvm_map *map, const void *key, uint32_t *i)
{
	memcpy(i, key, sizeof(*i));
	return *i < map->def.max_entries;
}

static int pb_update(struct bpfvm_map *map, const void *key, const void *value, uint64_t flags,
		     int cpu)
{
	uint32_t i;
	if (flags != BPFVM_ANY)
		return -EINVAL;
	if (!slot_index(map, key, &i))
		return -E2BIG;
	if (cpu != BPFVM_ALL_CPUS)
		return -EOPNOTSUPP;
	struct perf_slot *s = &PB(map)->slots[i];
	pthread_mutex_lock(&s->lock);
	s->enabled = 1;
	memcpy(&s->cookie, value, sizeof(s->cookie));
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static int pb_delete(struct bpfvm_map *map, const void *key)
{
	uint32_t i;
	if (!slot_index(map, key, &i))
		return -E2BIG;
	struct perf_slot *s = &PB(map)->slots[i];
	pthread_mutex_lock(&s->lock);
	int was = s->enabled;
	s->enabled = 0;
	pthread_mutex_unlock(&s->lock);
	return was ? 0 : -ENOENT;
}

/* The kernel gives no syscall lookup for perf event arrays. */
static int pb_copy(struct bpfvm_map *map, const void *key, void *value)
{
	return -BPFVM_ENOTSUPP;
}

static void *pb_lookup(struct bpfvm_map *map, const void *key, uint32_t cpu)
{
	return NULL;
}

static int pb_get_next_key(struct bpfvm_map *map, const void *key, void *next_key)
{
	uint32_t i, next;
	if (!key || !slot_index(map, key, &i))
		next = 0;
	else if (i == map->def.max_entries - 1)
		return -ENOENT;
	else
		next = i + 1;
	memcpy(next_key, &next, sizeof(next));
	return 0;
}

/* bpf_perf_event_output's checks and errnos (__bpf_perf_event_output). */
int bpfvm__perf_output(struct bpfvm_map *map, uint32_t cpu, uint64_t flags, const void *data,
		       uint64_t size)
{
	if (map->def.type != BPFVM_MAP_PERF_EVENT_ARRAY || (flags & ~PERF_INDEX_MASK))
		return -EINVAL;
	uint64_t index = flags & PERF_INDEX_MASK;
	if (index == PERF_CURRENT_CPU)
		index = cpu;
	if (index >= map->def.max_entries)
		return -E2BIG;
	struct perf_slot *s = &PB(map)->slots[index];
	struct perf_record *r = malloc(sizeof(*r) + size);
	if (!r)
		return -ENOMEM;
	r->next = NULL;
	r->size = size;
	memcpy(r->data, data, size);
	pthread_mutex_lock(&s->lock);
	int rc = 0;
	if (!s->enabled)
		rc = -ENOENT;
	else if (s->bytes + size > PERF_SLOT_BYTES)
		rc = -ENOSPC;
	if (!rc) {
		if (s->tail)
			s->tail->next = r;
		else
			s->head = r;
		s->tail = r;
		s->bytes += size;
	}
	pthread_mutex_unlock(&s->lock);
	if (rc)
		free(r);
	return rc;
}

int bpfvm_perfbuf_poll(struct bpfvm_map *map, bpfvm_record_fn fn, void *user)
{
	if (!map || map->def.type != BPFVM_MAP_PERF_EVENT_ARRAY || !fn)
		return -EINVAL;
	int consumed = 0;
	for (uint32_t i = 0; i < map->def.max_entries; i++) {
		struct perf_slot *s = &PB(map)->slots[i];
		for (;;) {
			pthread_mutex_lock(&s->lock);
			struct perf_record *r = s->head;
			if (r) {
				s->head = r->next;
				if (!s->head)
					s->tail = NULL;
				s->bytes -= r->size;
			}
			pthread_mutex_unlock(&s->lock);
			if (!r)
				break;
			int stop = fn(user, r->data, r->size);
			free(r);
			consumed++;
			if (stop)
				return consumed;
		}
	}
	return consumed;
}

const struct bpfvm_map_ops bpfvm__perf_event_array_ops = {
	.check = pb_check,
	.alloc = pb_alloc,
	.free = pb_free,
	.lookup = pb_lookup,
	.update = pb_update,
	.delete = pb_delete,
	.copy = pb_copy,
	.get_next_key = pb_get_next_key,
};
