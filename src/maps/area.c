/* Large map memory, as the kernel's bpf_map_area_alloc: big areas come
 * straight from mmap, aligned on huge pages and marked MADV_HUGEPAGE, so
 * that lookups scattered over a big map do not miss the TLB on every
 * access (the kernel's own map memory sits in huge pages). The mapping is
 * touched lazily: a big map costs only what it uses (but, as for the heap,
 * the kernel refuses an area larger than it could ever provide).
 * Small areas stay on the heap. */
#include <stdlib.h>
#include <sys/mman.h>

#include "maps/map_internal.h"

#define HUGE_PAGE_SIZE ((size_t)2 << 20)

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
