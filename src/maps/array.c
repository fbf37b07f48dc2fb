/* The array family, as the kernel's arraymap.c: ARRAY, PERCPU_ARRAY and the
 * arrays of references PROG_ARRAY (program ids) and ARRAY_OF_MAPS (map ids).
 * Keys are u32 indexes; every element always exists, zero-filled. Values
 * are 8-byte aligned and never move, so a program's value pointer stays
 * valid for the map's lifetime. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maps/map_internal.h"

#define KMALLOC_MAX_SIZE (1u << 22)
#define PCPU_MIN_UNIT_SIZE (32u << 10)
#define ARRAY_CREATE_FLAG_MASK                                                        \
	(BPFVM_F_NUMA_NODE | BPFVM_F_MMAPABLE | BPFVM_F_ACCESS_MASK | BPFVM_F_PRESERVE_ELEMS | \
	 BPFVM_F_INNER_MAP)

struct bpfvm_array {
	struct bpfvm_map map;
	uint32_t elem_size; /* bytes between elements (all CPUs for per-CPU) */
	/* PROG_ARRAY / ARRAY_OF_MAPS: the referenced objects. */
	_Atomic(void *) *refs;
	struct bpfvm_rcu_list retired; /* ARRAY_OF_MAPS: replaced inner maps */
	pthread_mutex_t update_lock;   /* reference slots: one writer at a time */
	struct bpfvm_map_area area;    /* where this struct itself lives */
	/* In huge pages for big arrays (area.c): scattered lookups over a big
	 * array would otherwise miss the TLB, 4 KiB pages covering few values. */
	_Alignas(8) unsigned char values[];
};

#define ARRAY(m) ((struct bpfvm_array *)(m))

static int flags_access_ok(uint32_t flags)
{
	return !((flags & BPFVM_F_RDONLY) && (flags & BPFVM_F_WRONLY)) &&
	       !((flags & BPFVM_F_RDONLY_PROG) && (flags & BPFVM_F_WRONLY_PROG));
}

/* The kernel's array_map_alloc_check. */
static int array_check(const struct bpfvm_map_def *def, char *err, size_t errlen)
{
	int percpu = def->type == BPFVM_MAP_PERCPU_ARRAY;
	if (def->max_entries == 0 || def->key_size != 4 || def->value_size == 0 ||
	    (def->flags & ~ARRAY_CREATE_FLAG_MASK) || !flags_access_ok(def->flags)) {
		snprintf(err, errlen, "array maps need key_size 4, value_size > 0, max_entries > 0 "
			 "and known flags");
		return -EINVAL;
	}
	if (def->type != BPFVM_MAP_ARRAY && (def->flags & (BPFVM_F_MMAPABLE | BPFVM_F_INNER_MAP))) {
		snprintf(err, errlen, "BPF_F_MMAPABLE and BPF_F_INNER_MAP are for plain arrays");
		return -EINVAL;
	}
	if (def->type != BPFVM_MAP_PERF_EVENT_ARRAY && (def->flags & BPFVM_F_PRESERVE_ELEMS)) {
		snprintf(err, errlen, "BPF_F_PRESERVE_ELEMS is for perf event arrays");
		return -EINVAL;
	}
	if (def->value_size > KMALLOC_MAX_SIZE ||
	    (percpu && ((def->value_size + 7u) & ~7u) > PCPU_MIN_UNIT_SIZE)) {
		snprintf(err, errlen, "value_size %u is too large", def->value_size);
		return -E2BIG;
	}
	return 0;
}

/* The kernel's fd_array_map_alloc_check: values are u32 ids. */
static int fd_array_check(const struct bpfvm_map_def *def, char *err, size_t errlen)
{
	if (def->value_size != 4) {
		snprintf(err, errlen, "value_size must be 4 (an id)");
		return -EINVAL;
	}
	return array_check(def, err, errlen);
}

static struct bpfvm_map *array_alloc(const struct bpfvm_map_def *def)
{
	uint64_t stride = (def->value_size + 7u) & ~7u;
	uint64_t elem = def->type == BPFVM_MAP_PERCPU_ARRAY ? stride * BPFVM_NR_CPUS : stride;
	int has_refs = def->type == BPFVM_MAP_PROG_ARRAY || def->type == BPFVM_MAP_ARRAY_OF_MAPS;
	uint64_t bytes = has_refs ? 0 : elem * def->max_entries;
	if (bytes > ((uint64_t)1 << 40))
		return NULL;
	struct bpfvm_map_area area;
	struct bpfvm_array *a = bpfvm__map_area_alloc(&area, sizeof(*a) + bytes);
	if (!a)
		return NULL;
	a->area = area;
	a->elem_size = (uint32_t)elem;
	pthread_mutex_init(&a->update_lock, NULL);
	if (has_refs) {
		a->refs = calloc(def->max_entries, sizeof(*a->refs));
		if (!a->refs) {
			bpfvm__map_area_free(&area);
			return NULL;
		}
	}
	return &a->map;
}

static void array_free(struct bpfvm_map *map)
{
	struct bpfvm_array *a = ARRAY(map);
	if (map->def.type == BPFVM_MAP_ARRAY_OF_MAPS) {
		for (uint32_t i = 0; i < map->def.max_entries; i++)
			if (a->refs[i])
				bpfvm__map_put(a->refs[i]);
		bpfvm__rcu_drain(&a->retired);
	}
	pthread_mutex_destroy(&a->update_lock);
	free(a->refs);
	struct bpfvm_map_area area = a->area;
	bpfvm__map_area_free(&area);
}

static int index_of(struct bpfvm_map *map, const void *key, uint32_t *index)
{
	memcpy(index, key, sizeof(*index));
	return *index < map->def.max_entries;
}

static void *elem_addr(struct bpfvm_map *map, uint32_t index)
{
	return ARRAY(map)->values + (size_t)index * ARRAY(map)->elem_size;
}

static void *array_lookup(struct bpfvm_map *map, const void *key, uint32_t cpu)
{
	uint32_t i;
	if (!index_of(map, key, &i))
		return NULL;
	unsigned char *v = elem_addr(map, i);
	if (map->def.type == BPFVM_MAP_PERCPU_ARRAY)
		v += (size_t)bpfvm__cpu_slot(cpu) * map->pcpu_stride;
	return v;
}

int bpfvm__map_inline_lookup(struct bpfvm_map *map, struct bpfvm_map_inline_lookup *out)
{
	enum bpfvm_map_type type = map->def.type;
	if (type != BPFVM_MAP_ARRAY && type != BPFVM_MAP_PERCPU_ARRAY)
		return -EOPNOTSUPP;
	out->values = ARRAY(map)->values;
	out->elem_size = ARRAY(map)->elem_size;
	out->cpu_stride = type == BPFVM_MAP_PERCPU_ARRAY ? map->pcpu_stride : 0;
	out->max_entries = map->def.max_entries;
	return 0;
}

static int array_update(struct bpfvm_map *map, const void *key, const void *value,
			uint64_t flags, int cpu)
{
	uint32_t i;
	if ((flags & ~(uint64_t)BPFVM_F_LOCK) > BPFVM_EXIST)
		return -EINVAL;
	if (!index_of(map, key, &i))
		return -E2BIG;
	if (flags & BPFVM_NOEXIST)
		return -EEXIST;
	if (flags & BPFVM_F_LOCK)
		return -EINVAL; /* no bpf_spin_lock in our values */
	unsigned char *v = elem_addr(map, i);
	if (map->def.type != BPFVM_MAP_PERCPU_ARRAY) {
		memcpy(v, value, map->def.value_size);
	} else if (cpu == BPFVM_ALL_CPUS) {
		/* Whole 8-byte strides, as the kernel's copy_map_value_long. */
		memcpy(v, value, bpfvm__map_host_value_size(map));
	} else {
		memcpy(v + (size_t)bpfvm__cpu_slot((uint32_t)cpu) * map->pcpu_stride, value,
		       map->def.value_size);
	}
	return 0;
}

static int array_delete(struct bpfvm_map *map, const void *key)
{
	return -EINVAL;
}

static int array_copy(struct bpfvm_map *map, const void *key, void *value)
{
	uint32_t i;
	if (!index_of(map, key, &i))
		return -ENOENT;
	const unsigned char *v = elem_addr(map, i);
	if (map->def.type != BPFVM_MAP_PERCPU_ARRAY) {
		memcpy(value, v, map->def.value_size);
		return 0;
	}
	memcpy(value, v, bpfvm__map_host_value_size(map));
	return 0;
}

/* Out of range (or no key) restarts at 0, as the kernel. */
static int array_get_next_key(struct bpfvm_map *map, const void *key, void *next_key)
{
	uint32_t i, next;
	if (!key || !index_of(map, key, &i))
		next = 0;
	else if (i == map->def.max_entries - 1)
		return -ENOENT;
	else
		next = i + 1;
	memcpy(next_key, &next, sizeof(next));
	return 0;
}

/* The kernel's array_map_direct_value_addr: single-element arrays only. */
static int array_direct_value_addr(struct bpfvm_map *map, uint32_t off, uint64_t *addr)
{
	if (map->def.max_entries != 1 || off >= map->def.value_size)
		return -EINVAL;
	*addr = (uint64_t)(uintptr_t)(ARRAY(map)->values + off);
	return 0;
}

static long array_for_each(struct bpfvm_map *map, bpfvm_map_elem_fn fn, void *user, uint32_t cpu)
{
	long n = 0;
	for (uint32_t i = 0; i < map->def.max_entries; i++) {
		n++;
		if (fn(user, map, &i, array_lookup(map, &i, cpu)))
			break;
	}
	return n;
}

const struct bpfvm_map_ops bpfvm__array_ops = {
	.check = array_check,
	.alloc = array_alloc,
	.free = array_free,
	.lookup = array_lookup,
	.update = array_update,
	.delete = array_delete,
	.copy = array_copy,
	.get_next_key = array_get_next_key,
	.direct_value_addr = array_direct_value_addr,
	.for_each = array_for_each,
};

const struct bpfvm_map_ops bpfvm__percpu_array_ops = {
	.check = array_check,
	.alloc = array_alloc,
	.free = array_free,
	.lookup = array_lookup,
	.update = array_update,
	.delete = array_delete,
	.copy = array_copy,
	.get_next_key = array_get_next_key,
	.for_each = array_for_each,
};

/* ---- PROG_ARRAY ----------------------------------------------------------------------- */

/* Slots hold program pointers; the host sees program ids. A program is
 * dropped from every slot when it is destroyed (bpfvm__prog_arrays_forget),
 * so the host must not destroy a program while a run may tail-call it. */
static int prog_array_update(struct bpfvm_map *map, const void *key, const void *value,
			     uint64_t flags, int cpu)
{
	uint32_t i, id;
	if (flags != BPFVM_ANY)
		return -EINVAL;
	if (!index_of(map, key, &i))
		return -E2BIG;
	if (cpu != BPFVM_ALL_CPUS)
		return -EOPNOTSUPP; /* programs cannot update program arrays */
	memcpy(&id, value, sizeof(id));
	struct bpfvm_prog *prog = bpfvm_vm_prog_by_id(map->vm, id);
	if (!prog)
		return -EBADF;
	atomic_store_explicit(&ARRAY(map)->refs[i], prog, memory_order_release);
	return 0;
}

static int ref_array_delete(struct bpfvm_map *map, const void *key);

static int prog_array_copy(struct bpfvm_map *map, const void *key, void *value)
{
	uint32_t i;
	if (!index_of(map, key, &i))
		return -ENOENT;
	struct bpfvm_prog *prog = atomic_load_explicit(&ARRAY(map)->refs[i], memory_order_acquire);
	if (!prog)
		return -ENOENT;
	uint32_t id = bpfvm_prog_id(prog);
	memcpy(value, &id, sizeof(id));
	return 0;
}

/* Programs cannot look into program arrays (only bpf_tail_call). */
static void *no_lookup(struct bpfvm_map *map, const void *key, uint32_t cpu)
{
	return NULL;
}

const struct bpfvm_map_ops bpfvm__prog_array_ops = {
	.check = fd_array_check,
	.alloc = array_alloc,
	.free = array_free,
	.lookup = no_lookup,
	.update = prog_array_update,
	.delete = ref_array_delete,
	.copy = prog_array_copy,
	.get_next_key = array_get_next_key,
};

struct bpfvm_prog *bpfvm__prog_array_lookup(struct bpfvm_map *map, uint32_t index)
{
	if (map->def.type != BPFVM_MAP_PROG_ARRAY || index >= map->def.max_entries)
		return NULL;
	return atomic_load_explicit(&ARRAY(map)->refs[index], memory_order_acquire);
}

void bpfvm__prog_arrays_forget(struct bpfvm_vm *vm, struct bpfvm_prog *prog)
{
	pthread_mutex_lock(&vm->lock);
	for (size_t m = 0; m < vm->nmaps; m++) {
		struct bpfvm_map *map = vm->maps[m];
		if (!map || map->def.type != BPFVM_MAP_PROG_ARRAY)
			continue;
		for (uint32_t i = 0; i < map->def.max_entries; i++) {
			void *expected = prog;
			atomic_compare_exchange_strong(&ARRAY(map)->refs[i], &expected, NULL);
		}
	}
	pthread_mutex_unlock(&vm->lock);
}

/* ---- ARRAY_OF_MAPS ------------------------------------------------------------------------ */

/* A replaced inner map may still be in use by a running program: its
 * reference is dropped after a grace period, as the kernel's RCU put. */
struct deferred_put {
	struct bpfvm_rcu_head rcu;
	struct bpfvm_map *map;
};

static void deferred_put_fn(struct bpfvm_rcu_head *head, struct bpfvm_rcu_list *list)
{
	struct deferred_put *d = (struct deferred_put *)head;
	bpfvm__map_put(d->map);
	free(d);
}

static void release_ref(struct bpfvm_map *outer, void *old)
{
	if (outer->def.type != BPFVM_MAP_ARRAY_OF_MAPS || !old)
		return;
	struct deferred_put *d = malloc(sizeof(*d));
	if (!d) {
		/* Cannot defer: keep the reference rather than risk a use
		 * after free; the inner map lives until the VM goes. */
		return;
	}
	d->map = old;
	bpfvm__rcu_retire(outer->vm, &ARRAY(outer)->retired, &d->rcu, deferred_put_fn);
}

static int ref_array_delete(struct bpfvm_map *map, const void *key)
{
	uint32_t i;
	if (!index_of(map, key, &i))
		return -E2BIG;
	struct bpfvm_array *a = ARRAY(map);
	pthread_mutex_lock(&a->update_lock);
	void *old = atomic_exchange(&a->refs[i], NULL);
	pthread_mutex_unlock(&a->update_lock);
	if (!old)
		return -ENOENT;
	release_ref(map, old);
	return 0;
}

static int map_array_update(struct bpfvm_map *map, const void *key, const void *value,
			    uint64_t flags, int cpu)
{
	uint32_t i;
	struct bpfvm_map *inner;
	if (flags != BPFVM_ANY)
		return -EINVAL;
	if (!index_of(map, key, &i))
		return -E2BIG;
	if (cpu != BPFVM_ALL_CPUS)
		return -EOPNOTSUPP;
	int rc = bpfvm__map_of_maps_resolve(map, value, &inner);
	if (rc)
		return rc;
	void *old = atomic_exchange(&ARRAY(map)->refs[i], inner);
	release_ref(map, old);
	return 0;
}

static int map_array_copy(struct bpfvm_map *map, const void *key, void *value)
{
	uint32_t i;
	if (!index_of(map, key, &i))
		return -ENOENT;
	struct bpfvm_map *inner = atomic_load_explicit(&ARRAY(map)->refs[i], memory_order_acquire);
	if (!inner)
		return -ENOENT;
	memcpy(value, &inner->id, sizeof(inner->id));
	return 0;
}

/* From a program, the value is the inner map itself. */
static void *map_array_lookup(struct bpfvm_map *map, const void *key, uint32_t cpu)
{
	uint32_t i;
	if (!index_of(map, key, &i))
		return NULL;
	return atomic_load_explicit(&ARRAY(map)->refs[i], memory_order_acquire);
}

const struct bpfvm_map_ops bpfvm__array_of_maps_ops = {
	.check = fd_array_check,
	.alloc = array_alloc,
	.free = array_free,
	.lookup = map_array_lookup,
	.update = map_array_update,
	.delete = ref_array_delete,
	.copy = map_array_copy,
	.get_next_key = array_get_next_key,
};
