/* Internal interface of the maps component (src/maps): the common map
 * header, the per-family operations table (as the kernel's struct
 * bpf_map_ops) and the deferred-reclamation domain shared by the families
 * whose elements a running program may still point to.
 *
 * Not installed; src/helpers uses it for the program side of maps. */
#ifndef BPFVM_MAPS_INTERNAL_H
#define BPFVM_MAPS_INTERNAL_H

#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "core/internal.h"

/* The kernel's internal "operation not supported" errno, which BPF_MAP_CREATE
 * returns for e.g. LRU maps without preallocation. */
#define BPFVM_ENOTSUPP 524

/* Kernel map_flags bits (linux/bpf.h). */
#define BPFVM_F_NO_PREALLOC (1u << 0)
#define BPFVM_F_NO_COMMON_LRU (1u << 1)
#define BPFVM_F_NUMA_NODE (1u << 2)
#define BPFVM_F_RDONLY (1u << 3)
#define BPFVM_F_WRONLY (1u << 4)
#define BPFVM_F_ZERO_SEED (1u << 6)
#define BPFVM_F_RDONLY_PROG (1u << 7)
#define BPFVM_F_WRONLY_PROG (1u << 8)
#define BPFVM_F_MMAPABLE (1u << 10)
#define BPFVM_F_PRESERVE_ELEMS (1u << 11)
#define BPFVM_F_INNER_MAP (1u << 12)
#define BPFVM_F_ACCESS_MASK \
	(BPFVM_F_RDONLY | BPFVM_F_WRONLY | BPFVM_F_RDONLY_PROG | BPFVM_F_WRONLY_PROG)
#define BPFVM_F_LOCK 4 /* update/lookup flag: we have no bpf_spin_lock values */

#define BPFVM_PAGE_SIZE 4096u

struct bpfvm_map;

/* Where per-CPU operations apply: one CPU (program side) or all of them
 * laid out one after the other (host side, as the bpf() syscall). */
#define BPFVM_ALL_CPUS (-1)

/* Called for each element by for_each: returns non-zero to stop. */
typedef int (*bpfvm_map_elem_fn)(void *user, struct bpfvm_map *map, const void *key,
				 void *value);

struct bpfvm_map_ops {
	/* Validate the definition as the kernel's map_alloc_check (sizes and
	 * flags the generic code does not know). Message in err. */
	int (*check)(const struct bpfvm_map_def *def, char *err, size_t errlen);
	/* Allocate a map whose first member is struct bpfvm_map; NULL if out
	 * of memory. */
	struct bpfvm_map *(*alloc)(const struct bpfvm_map_def *def);
	void (*free)(struct bpfvm_map *map);

	/* Program side: the address of the value for key (cpu's copy for
	 * per-CPU maps), valid until the end of the run; NULL if absent. */
	void *(*lookup)(struct bpfvm_map *map, const void *key, uint32_t cpu);
	/* cpu is BPFVM_ALL_CPUS for the host layout. */
	int (*update)(struct bpfvm_map *map, const void *key, const void *value, uint64_t flags,
		      int cpu);
	int (*delete)(struct bpfvm_map *map, const void *key);
	/* Host side: copy the value (all CPUs for per-CPU maps). */
	int (*copy)(struct bpfvm_map *map, const void *key, void *value);
	int (*get_next_key)(struct bpfvm_map *map, const void *key, void *next_key);
	int (*lookup_and_delete)(struct bpfvm_map *map, const void *key, void *value, int cpu);
	/* QUEUE / STACK. */
	int (*push)(struct bpfvm_map *map, const void *value, uint64_t flags);
	int (*pop)(struct bpfvm_map *map, void *value);
	int (*peek)(struct bpfvm_map *map, void *value);
	/* ARRAY: address of byte off of the whole value area. */
	int (*direct_value_addr)(struct bpfvm_map *map, uint32_t off, uint64_t *addr);
	/* Visit every element (cpu's value for per-CPU maps); returns the
	 * number of elements visited, the one that stopped included. */
	long (*for_each)(struct bpfvm_map *map, bpfvm_map_elem_fn fn, void *user, uint32_t cpu);
};

struct bpfvm_map {
	struct bpfvm_vm *vm;
	const struct bpfvm_map_ops *ops;
	struct bpfvm_map_def def; /* def.name points to name */
	char name[16];            /* BPF_OBJ_NAME_LEN, as the kernel */
	uint32_t id;
	atomic_uint refcnt;
	atomic_int creator_ref_dropped;
	/* Per-CPU value stride: value_size rounded up to 8 bytes. */
	uint32_t pcpu_stride;
	/* Set once by bpfvm_map_freeze: the host may no longer write. */
	atomic_int frozen;
};

/* The operations of each family (one file each). */
extern const struct bpfvm_map_ops bpfvm__array_ops;
extern const struct bpfvm_map_ops bpfvm__percpu_array_ops;
extern const struct bpfvm_map_ops bpfvm__prog_array_ops;
extern const struct bpfvm_map_ops bpfvm__array_of_maps_ops;
extern const struct bpfvm_map_ops bpfvm__perf_event_array_ops;
extern const struct bpfvm_map_ops bpfvm__hash_ops;
extern const struct bpfvm_map_ops bpfvm__percpu_hash_ops;
extern const struct bpfvm_map_ops bpfvm__lru_hash_ops;
extern const struct bpfvm_map_ops bpfvm__lru_percpu_hash_ops;
extern const struct bpfvm_map_ops bpfvm__hash_of_maps_ops;
extern const struct bpfvm_map_ops bpfvm__queue_ops;
extern const struct bpfvm_map_ops bpfvm__stack_ops;
extern const struct bpfvm_map_ops bpfvm__lpm_trie_ops;
extern const struct bpfvm_map_ops bpfvm__ringbuf_ops;

static inline int bpfvm__map_is_percpu(const struct bpfvm_map *map)
{
	enum bpfvm_map_type t = map->def.type;
	return t == BPFVM_MAP_PERCPU_ARRAY || t == BPFVM_MAP_PERCPU_HASH ||
	       t == BPFVM_MAP_LRU_PERCPU_HASH;
}

/* CPU slot of a run's CPU id (hosts may number CPUs beyond BPFVM_NR_CPUS). */
static inline uint32_t bpfvm__cpu_slot(uint32_t cpu)
{
	return cpu % BPFVM_NR_CPUS;
}

/* Size of a value as the host sees it (all CPUs for per-CPU maps). */
size_t bpfvm__map_host_value_size(const struct bpfvm_map *map);

/* Zeroed memory for big map parts (area.c): huge-page-backed mmap from
 * 2 MB on, the heap below. NULL if out of memory. */
struct bpfvm_map_area {
	void *base;
	size_t size;
	int mapped;
};
void *bpfvm__map_area_alloc(struct bpfvm_map_area *area, size_t size);
void bpfvm__map_area_free(struct bpfvm_map_area *area);

/* Inner maps of *_OF_MAPS: the map a host id names, if it has the shape of
 * the outer map's template; referenced on success. */
int bpfvm__map_of_maps_resolve(struct bpfvm_map *outer, const void *id_value,
			       struct bpfvm_map **inner);

/* RINGBUF (ringbuf.c): reserve returns NULL when full or on bad flags;
 * commit submits (discard = 0) or discards a reserved record. */
void *bpfvm__ringbuf_reserve(struct bpfvm_map *map, uint64_t size, uint64_t flags);
void bpfvm__ringbuf_commit(void *sample, int discard);
uint64_t bpfvm__ringbuf_query(struct bpfvm_map *map, uint64_t flags);
/* For checked runs: the ring buffer a sample pointer claims to belong to
 * (computed from its header, so only trust it after ringbuf_contains). */
struct bpfvm_map *bpfvm__ringbuf_of_sample(void *sample);
int bpfvm__ringbuf_contains(struct bpfvm_map *map, const void *sample);

/* PERF_EVENT_ARRAY (perfbuf.c): bpf_perf_event_output's semantics. */
int bpfvm__perf_output(struct bpfvm_map *map, uint32_t cpu, uint64_t flags, const void *data,
		       uint64_t size);

/* ---- spinlock --------------------------------------------------------------- */

/* A test-and-test-and-set lock for short critical sections (bucket
 * updates); zero-initialized memory is an unlocked lock. */
typedef struct {
	atomic_int locked;
} bpfvm_spinlock_t;

static inline void bpfvm_spin_lock(bpfvm_spinlock_t *l)
{
	for (;;) {
		if (!atomic_exchange_explicit(&l->locked, 1, memory_order_acquire))
			return;
		while (atomic_load_explicit(&l->locked, memory_order_relaxed))
			sched_yield();
	}
}

static inline void bpfvm_spin_unlock(bpfvm_spinlock_t *l)
{
	atomic_store_explicit(&l->locked, 0, memory_order_release);
}

/* Fixed-size map elements (area.c): from a region for count elements,
 * then from the heap. alloc gives a zeroed element or NULL; free takes
 * any element alloc gave (its first 8 bytes are overwritten). */
struct bpfvm_elem_pool {
	struct bpfvm_map_area area;
	size_t elem_size;
	uint64_t cap, used;
	void *free_list;
	bpfvm_spinlock_t lock;
};
void bpfvm__pool_init(struct bpfvm_elem_pool *pool, uint64_t count, size_t elem_size);
void *bpfvm__pool_alloc(struct bpfvm_elem_pool *pool);
void bpfvm__pool_free(struct bpfvm_elem_pool *pool, void *elem);
void bpfvm__pool_destroy(struct bpfvm_elem_pool *pool);

/* ---- deferred reclamation (rcu.c) ---------------------------------------------- */

struct bpfvm_rcu_head;
struct bpfvm_rcu_list;

/* Memory a reader may still see when it is unlinked: freed (by fn, given
 * the list it was retired to, so a map can find itself) once every reader
 * that could have seen it has left its read-side section. */
typedef void (*bpfvm_rcu_fn)(struct bpfvm_rcu_head *head, struct bpfvm_rcu_list *list);
struct bpfvm_rcu_head {
	struct bpfvm_rcu_head *next;
	uint64_t epoch;
	bpfvm_rcu_fn fn;
};

/* Per-map list of retired memory. Zero-initialized is empty. */
struct bpfvm_rcu_list {
	_Atomic(struct bpfvm_rcu_head *) head;
	atomic_int reclaiming;
};

/* Read-side sections on the VM's domain (bpfvm__run_enter/exit are the
 * public-to-core names; host map operations use these too). */
uint64_t bpfvm__rcu_read_lock(struct bpfvm_vm *vm);
void bpfvm__rcu_read_unlock(struct bpfvm_vm *vm, uint64_t token);
/* Retire memory unlinked from a structure readers traverse. */
void bpfvm__rcu_retire(struct bpfvm_vm *vm, struct bpfvm_rcu_list *list,
		       struct bpfvm_rcu_head *head, bpfvm_rcu_fn fn);
/* Free every retired item now (the map is being freed: no reader left). */
void bpfvm__rcu_drain(struct bpfvm_rcu_list *list);

#endif
