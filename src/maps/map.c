/* Maps: creation with the kernel's validation, reference counting, the
 * host API (as the bpf() syscall commands) and the internal entry points
 * the core and the engines use. Each map family lives in its own file
 * behind a struct bpfvm_map_ops. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maps/map_internal.h"

static const struct bpfvm_map_ops *ops_of(enum bpfvm_map_type type)
{
	switch (type) {
	case BPFVM_MAP_HASH: return &bpfvm__hash_ops;
	case BPFVM_MAP_ARRAY: return &bpfvm__array_ops;
	case BPFVM_MAP_PROG_ARRAY: return &bpfvm__prog_array_ops;
	case BPFVM_MAP_PERF_EVENT_ARRAY: return &bpfvm__perf_event_array_ops;
	case BPFVM_MAP_PERCPU_HASH: return &bpfvm__percpu_hash_ops;
	case BPFVM_MAP_PERCPU_ARRAY: return &bpfvm__percpu_array_ops;
	case BPFVM_MAP_LRU_HASH: return &bpfvm__lru_hash_ops;
	case BPFVM_MAP_LRU_PERCPU_HASH: return &bpfvm__lru_percpu_hash_ops;
	case BPFVM_MAP_LPM_TRIE: return &bpfvm__lpm_trie_ops;
	case BPFVM_MAP_ARRAY_OF_MAPS: return &bpfvm__array_of_maps_ops;
	case BPFVM_MAP_HASH_OF_MAPS: return &bpfvm__hash_of_maps_ops;
	case BPFVM_MAP_QUEUE: return &bpfvm__queue_ops;
	case BPFVM_MAP_STACK: return &bpfvm__stack_ops;
	case BPFVM_MAP_RINGBUF: return &bpfvm__ringbuf_ops;
	}
	return NULL;
}

/* The kernel's bpf_map_meta_alloc checks: an inner map template exists
 * and is not itself a map of maps (nor a map type that cannot be inner). */
static int check_inner_template(const struct bpfvm_map_def *def, char *err, size_t errlen)
{
	if (!def->inner) {
		snprintf(err, errlen, "map of maps needs an inner map template");
		return -EINVAL;
	}
	enum bpfvm_map_type t = def->inner->def.type;
	if (t == BPFVM_MAP_ARRAY_OF_MAPS || t == BPFVM_MAP_HASH_OF_MAPS ||
	    t == BPFVM_MAP_PROG_ARRAY) {
		snprintf(err, errlen, "inner map template cannot be of type %u", t);
		return -EINVAL;
	}
	return 0;
}

int bpfvm_map_create(struct bpfvm_vm *vm, const struct bpfvm_map_def *def, struct bpfvm_map **out)
{
	char err[256] = "";
	*out = NULL;
	const struct bpfvm_map_ops *ops = def ? ops_of(def->type) : NULL;
	if (!ops)
		return bpfvm__vm_error(vm, -EINVAL, "map type %u is not supported",
				       def ? (unsigned)def->type : 0u);
	if (def->name && strlen(def->name) >= sizeof(((struct bpfvm_map *)0)->name))
		return bpfvm__vm_error(vm, -EINVAL, "map name '%s' is longer than 15 characters",
				       def->name);
	int rc = ops->check(def, err, sizeof(err));
	if (!rc && (def->type == BPFVM_MAP_ARRAY_OF_MAPS || def->type == BPFVM_MAP_HASH_OF_MAPS))
		rc = check_inner_template(def, err, sizeof(err));
	if (rc)
		return bpfvm__vm_error(vm, rc, "map '%s' (type %u): %s", def->name ? def->name : "",
				       def->type, err);
	struct bpfvm_map *map = ops->alloc(def);
	if (!map)
		return bpfvm__vm_error(vm, -ENOMEM, "map '%s': out of memory",
				       def->name ? def->name : "");
	map->vm = vm;
	map->ops = ops;
	map->def = *def;
	snprintf(map->name, sizeof(map->name), "%s", def->name ? def->name : "");
	map->def.name = map->name;
	map->pcpu_stride = (def->value_size + 7u) & ~7u;
	if (def->inner)
		bpfvm__map_get(def->inner);
	atomic_init(&map->refcnt, 1);
	atomic_init(&map->creator_ref_dropped, 0);
	rc = bpfvm__vm_add_map(vm, map, &map->id);
	if (rc) {
		map->id = 0;
		bpfvm__map_put(map);
		return bpfvm__vm_error(vm, rc, "map '%s': out of memory", map->name);
	}
	*out = map;
	return 0;
}

void bpfvm__map_get(struct bpfvm_map *map)
{
	atomic_fetch_add_explicit(&map->refcnt, 1, memory_order_relaxed);
}

void bpfvm__map_put(struct bpfvm_map *map)
{
	if (atomic_fetch_sub_explicit(&map->refcnt, 1, memory_order_acq_rel) != 1)
		return;
	if (map->id)
		bpfvm__vm_remove_map(map->vm, map->id);
	struct bpfvm_map *inner = map->def.inner;
	map->ops->free(map);
	if (inner)
		bpfvm__map_put(inner);
}

/* Idempotent: the VM drops the creator's reference of the maps left at
 * its destruction, whether or not the host already did. */
void bpfvm_map_destroy(struct bpfvm_map *map)
{
	if (!map || atomic_exchange(&map->creator_ref_dropped, 1))
		return;
	bpfvm__map_put(map);
}

const struct bpfvm_map_def *bpfvm_map_def(const struct bpfvm_map *map)
{
	return &map->def;
}

uint32_t bpfvm_map_id(const struct bpfvm_map *map)
{
	return map->id;
}

size_t bpfvm__map_host_value_size(const struct bpfvm_map *map)
{
	if (bpfvm__map_is_percpu(map))
		return (size_t)map->pcpu_stride * BPFVM_NR_CPUS;
	return map->def.value_size;
}

/* ---- host API -------------------------------------------------------------------- */

/* Host operations run in a read-side section: they may touch elements
 * that a concurrent delete retires. */
#define HOST_OP(map, call)                                                   \
	do {                                                                 \
		uint64_t tok_ = bpfvm__rcu_read_lock((map)->vm);            \
		int rc_ = (call);                                            \
		bpfvm__rcu_read_unlock((map)->vm, tok_);                    \
		return rc_;                                                  \
	} while (0)

/* The host's access mode, as the bpf() syscall's for a map created with
 * BPF_F_RDONLY / BPF_F_WRONLY. */
static int host_can_read(const struct bpfvm_map *map)
{
	return !(map->def.flags & BPFVM_F_WRONLY);
}

static int host_can_write(const struct bpfvm_map *map)
{
	return !(map->def.flags & BPFVM_F_RDONLY) && !atomic_load(&map->frozen);
}

int bpfvm_map_freeze(struct bpfvm_map *map)
{
	int expected = 0;
	if (map->def.flags & BPFVM_F_RDONLY)
		return -EPERM; /* as the kernel: the host could not write it anyway */
	if (!atomic_compare_exchange_strong(&map->frozen, &expected, 1))
		return -EBUSY;
	return 0;
}

int bpfvm__map_is_rdonly_prog(const struct bpfvm_map *map)
{
	return (map->def.flags & BPFVM_F_RDONLY_PROG) && atomic_load(&map->frozen);
}

/* The bpf() syscall copies keys and values from user memory: a missing
 * one is -EFAULT there, and here. */
static int host_args_ok(const struct bpfvm_map *map, const void *key, const void *value)
{
	return (key || map->def.key_size == 0) && value;
}

int bpfvm_map_lookup(struct bpfvm_map *map, const void *key, void *value)
{
	if (!host_can_read(map))
		return -EPERM;
	if (!host_args_ok(map, key, value))
		return -EFAULT;
	if (map->def.type == BPFVM_MAP_QUEUE || map->def.type == BPFVM_MAP_STACK)
		HOST_OP(map, map->ops->peek(map, value));
	if (!map->ops->copy)
		return -BPFVM_ENOTSUPP;
	HOST_OP(map, map->ops->copy(map, key, value));
}

int bpfvm_map_update(struct bpfvm_map *map, const void *key, const void *value, uint64_t flags)
{
	if (!host_can_write(map))
		return -EPERM;
	if (!host_args_ok(map, key, value))
		return -EFAULT;
	if (map->def.type == BPFVM_MAP_QUEUE || map->def.type == BPFVM_MAP_STACK)
		HOST_OP(map, map->ops->push(map, value, flags));
	if (!map->ops->update)
		return -BPFVM_ENOTSUPP;
	HOST_OP(map, map->ops->update(map, key, value, flags, BPFVM_ALL_CPUS));
}

int bpfvm_map_delete(struct bpfvm_map *map, const void *key)
{
	if (!host_can_write(map))
		return -EPERM;
	if (!key && map->def.key_size)
		return -EFAULT;
	if (!map->ops->delete)
		return -BPFVM_ENOTSUPP;
	HOST_OP(map, map->ops->delete(map, key));
}

int bpfvm_map_get_next_key(struct bpfvm_map *map, const void *key, void *next_key)
{
	if (!host_can_read(map))
		return -EPERM;
	if (!next_key)
		return -EFAULT;
	if (!map->ops->get_next_key)
		return -BPFVM_ENOTSUPP;
	HOST_OP(map, map->ops->get_next_key(map, key, next_key));
}

int bpfvm_map_lookup_and_delete(struct bpfvm_map *map, const void *key, void *value)
{
	if (!host_can_read(map) || !host_can_write(map))
		return -EPERM;
	if (!host_args_ok(map, key, value))
		return -EFAULT;
	if (map->def.type == BPFVM_MAP_QUEUE || map->def.type == BPFVM_MAP_STACK)
		HOST_OP(map, map->ops->pop(map, value));
	if (!map->ops->lookup_and_delete)
		return -BPFVM_ENOTSUPP;
	HOST_OP(map, map->ops->lookup_and_delete(map, key, value, BPFVM_ALL_CPUS));
}

/* ---- internal entry points ---------------------------------------------------------- */

int bpfvm__map_direct_value_addr(struct bpfvm_map *map, uint32_t off, uint64_t *addr)
{
	if (!map->ops->direct_value_addr)
		return -EINVAL;
	return map->ops->direct_value_addr(map, off, addr);
}

/* Maps of maps store map ids from the host; the inner map must have the
 * shape of the template, as the kernel's bpf_map_meta_equal. */
int bpfvm__map_of_maps_resolve(struct bpfvm_map *outer, const void *id_value,
			       struct bpfvm_map **inner)
{
	uint32_t id;
	memcpy(&id, id_value, sizeof(id));
	struct bpfvm_vm *vm = outer->vm;
	pthread_mutex_lock(&vm->lock);
	struct bpfvm_map *m = id >= 1 && id <= vm->nmaps ? vm->maps[id - 1] : NULL;
	/* A map whose last reference is being dropped is already gone. */
	if (m) {
		unsigned r = atomic_load(&m->refcnt);
		while (r && !atomic_compare_exchange_weak(&m->refcnt, &r, r + 1))
			;
		if (!r)
			m = NULL;
	}
	pthread_mutex_unlock(&vm->lock);
	if (!m)
		return -EBADF;
	const struct bpfvm_map_def *t = &outer->def.inner->def, *d = &m->def;
	int same = d->type == t->type && d->key_size == t->key_size &&
		   d->value_size == t->value_size && d->flags == t->flags &&
		   ((t->flags & BPFVM_F_INNER_MAP) || d->max_entries == t->max_entries);
	if (!same || d->type == BPFVM_MAP_ARRAY_OF_MAPS || d->type == BPFVM_MAP_HASH_OF_MAPS) {
		bpfvm__map_put(m);
		return -EINVAL;
	}
	*inner = m;
	return 0;
}
