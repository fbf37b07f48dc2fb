/* Large map memory, as the kernel's bpf_map_area_alloc: big areas come
 * straight from mmap, aligned on huge pages and marked MADV_HUGEPAGE, so
 * that lookups scattered over a big map do not miss the TLB on every
 * access (the kernel's own map memory sits in huge pages). The mapping is
 * touched lazily: a big map costs only what it uses (but, as for the heap,
 * the kernel refuses an area larger than it could ever provide).
 * Small areas stay on the heap.
 *
 * Element pools (the kernel's preallocated elements, bpf_mem_alloc for
 * the others) serve fixed-size elements from one such area, lazily (a bump
 * index, then a free list of returned elements), so that a map's elements
 * sit together in huge pages; once the region is used up, from the heap.
 * The caller returns an element only when no reader can see it any more
 * (after its grace period, rcu.c). */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "maps/map_internal.h"

#define HUGE_PAGE_SIZE ((size_t)2 << 20)
/* Regions above this are not even tried (the heap serves such maps). */
#define POOL_MAX_BYTES ((uint64_t)1 << 46)

/* Map size + one huge page, then unmap the unaligned head and the tail, so
 * that the area starts on a huge page boundary. */
static void *map_aligned(size_t size)
{
	size_t span = size + HUGE_PAGE_SIZE;
	if (span < size)
		return NULL;
	unsigned char *raw = mmap(NULL, span, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		return NULL;
	uintptr_t start = ((uintptr_t)raw + HUGE_PAGE_SIZE - 1) & ~(uintptr_t)(HUGE_PAGE_SIZE - 1);
	unsigned char *base = (unsigned char *)start;
	if (base > raw)
		munmap(raw, (size_t)(base - raw));
	size_t tail = (size_t)(raw + span - (base + size));
	if (tail)
		munmap(base + size, tail);
	return base;
}

void *bpfvm__map_area_alloc(struct bpfvm_map_area *area, size_t size)
{
	area->size = size;
	area->mapped = size >= HUGE_PAGE_SIZE;
	if (!area->mapped) {
		area->base = calloc(1, size ? size : 1);
		return area->base;
	}
	/* Whole huge pages, so that the last one can be huge too. */
	area->size = (size + HUGE_PAGE_SIZE - 1) & ~(HUGE_PAGE_SIZE - 1);
	if (area->size < size)
		return area->base = NULL;
	area->base = map_aligned(area->size);
	if (area->base)
		madvise(area->base, area->size, MADV_HUGEPAGE); /* advice only */
	return area->base;
}

void bpfvm__map_area_free(struct bpfvm_map_area *area)
{
	if (!area->base)
		return;
	if (area->mapped)
		munmap(area->base, area->size);
	else
		free(area->base);
	area->base = NULL;
}

/* ---- element pools ---------------------------------------------------------------- */

void bpfvm__pool_init(struct bpfvm_elem_pool *pool, uint64_t count, size_t elem_size)
{
	memset(pool, 0, sizeof(*pool));
	pool->elem_size = (elem_size + 7u) & ~(size_t)7u;
	if (count == 0 || count > POOL_MAX_BYTES / pool->elem_size)
		return; /* no region: every element from the heap */
	if (bpfvm__map_area_alloc(&pool->area, (size_t)(count * pool->elem_size)))
		pool->cap = count;
}

static int pool_owns(const struct bpfvm_elem_pool *pool, const void *elem)
{
	const unsigned char *p = elem, *base = pool->area.base;
	return base && p >= base && p < base + pool->cap * pool->elem_size;
}

void *bpfvm__pool_alloc(struct bpfvm_elem_pool *pool)
{
	void *elem = NULL;
	if (pool->cap) {
		bpfvm_spin_lock(&pool->lock);
		if (pool->free_list) {
			elem = pool->free_list;
			memcpy(&pool->free_list, elem, sizeof(void *));
		} else if (pool->used < pool->cap) {
			elem = (unsigned char *)pool->area.base + pool->used++ * pool->elem_size;
		}
		bpfvm_spin_unlock(&pool->lock);
		if (elem) {
			memset(elem, 0, pool->elem_size); /* a reused one holds old data */
			return elem;
		}
	}
	return calloc(1, pool->elem_size);
}

void bpfvm__pool_free(struct bpfvm_elem_pool *pool, void *elem)
{
	if (!pool_owns(pool, elem)) {
		free(elem);
		return;
	}
	bpfvm_spin_lock(&pool->lock);
	memcpy(elem, &pool->free_list, sizeof(void *));
	pool->free_list = elem;
	bpfvm_spin_unlock(&pool->lock);
}

void bpfvm__pool_destroy(struct bpfvm_elem_pool *pool)
{
	bpfvm__map_area_free(&pool->area);
	pool->cap = 0;
}
