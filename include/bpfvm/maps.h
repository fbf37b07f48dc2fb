/* bpfvm: maps, with the kernel's semantics and errno values.
 *
 * Map types and flags use the kernel's numbers (linux/bpf.h) so that
 * objects compiled for the kernel load unchanged.
 */
#ifndef BPFVM_MAPS_H
#define BPFVM_MAPS_H

#include <stddef.h>
#include <stdint.h>

#include "bpfvm/vm.h"

#ifdef __cplusplus
extern "C" {
#endif

enum bpfvm_map_type {
	BPFVM_MAP_HASH = 1,
	BPFVM_MAP_ARRAY = 2,
	BPFVM_MAP_PROG_ARRAY = 3,
	BPFVM_MAP_PERF_EVENT_ARRAY = 4,
	BPFVM_MAP_PERCPU_HASH = 5,
	BPFVM_MAP_PERCPU_ARRAY = 6,
	BPFVM_MAP_LRU_HASH = 9,
	BPFVM_MAP_LRU_PERCPU_HASH = 10,
	BPFVM_MAP_LPM_TRIE = 11,
	BPFVM_MAP_ARRAY_OF_MAPS = 12,
	BPFVM_MAP_HASH_OF_MAPS = 13,
	BPFVM_MAP_QUEUE = 22,
	BPFVM_MAP_STACK = 23,
	BPFVM_MAP_RINGBUF = 27,
};

/* Update flags. */
#define BPFVM_ANY 0
#define BPFVM_NOEXIST 1
#define BPFVM_EXIST 2

/* Number of CPUs per-CPU maps keep values for (CPU ids 0..n-1). */
#define BPFVM_NR_CPUS 4

struct bpfvm_map_def {
	enum bpfvm_map_type type;
	uint32_t key_size;
	uint32_t value_size;
	uint32_t max_entries;
	uint32_t flags;          /* BPF_F_* map_flags */
	const char *name;        /* copied */
	/* For ARRAY_OF_MAPS / HASH_OF_MAPS: a map whose shape inner maps have. */
	struct bpfvm_map *inner;
};

/* Create a map of the VM. Errors: -EINVAL (bad sizes/flags for the type),
 * -ENOMEM; the message is in bpfvm_vm_last_error(vm). */
int bpfvm_map_create(struct bpfvm_vm *vm, const struct bpfvm_map_def *def, struct bpfvm_map **out);
/* Drop the creator's reference; the map lives while programs use it. */
void bpfvm_map_destroy(struct bpfvm_map *map);

const struct bpfvm_map_def *bpfvm_map_def(const struct bpfvm_map *map);
uint32_t bpfvm_map_id(const struct bpfvm_map *map); /* VM-unique, >= 1 */
struct bpfvm_map *bpfvm_vm_map_by_id(struct bpfvm_vm *vm, uint32_t id);
/* Maps of the VM in creation order (for --dump-maps). */
size_t bpfvm_vm_map_count(const struct bpfvm_vm *vm);
struct bpfvm_map *bpfvm_vm_map_at(const struct bpfvm_vm *vm, size_t i);

/* Host operations, as the bpf() syscall's: for per-CPU maps, value holds
 * BPFVM_NR_CPUS values of value_size rounded up to 8 bytes, one per CPU.
 * PROG_ARRAY values are program ids (u32), *_OF_MAPS values are map ids. */
int bpfvm_map_lookup(struct bpfvm_map *map, const void *key, void *value);
int bpfvm_map_update(struct bpfvm_map *map, const void *key, const void *value, uint64_t flags);
int bpfvm_map_delete(struct bpfvm_map *map, const void *key);
/* key NULL or missing: the first key. -ENOENT after the last. */
int bpfvm_map_get_next_key(struct bpfvm_map *map, const void *key, void *next_key);
int bpfvm_map_lookup_and_delete(struct bpfvm_map *map, const void *key, void *value);
/* The kernel's BPF_MAP_FREEZE: from now on the host can no longer update
 * or delete (-EPERM); programs keep their access. A frozen map created
 * with BPF_F_RDONLY_PROG (libbpf's .rodata, .kconfig) is constant, so the
 * verifier reads its bytes as known values, and helpers may take format
 * strings from it. -EBUSY when already frozen, -EPERM for a map the host
 * may not write (BPF_F_RDONLY). */
int bpfvm_map_freeze(struct bpfvm_map *map);

/* Ring buffer and perf buffer consumers: fn is called once per record;
 * a non-zero return stops the poll. Returns records consumed or -errno. */
typedef int (*bpfvm_record_fn)(void *user, const void *data, size_t size);
int bpfvm_ringbuf_poll(struct bpfvm_map *ringbuf, bpfvm_record_fn fn, void *user);
int bpfvm_perfbuf_poll(struct bpfvm_map *perf_array, bpfvm_record_fn fn, void *user);

#ifdef __cplusplus
}
#endif
#endif
