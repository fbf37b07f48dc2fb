/* RINGBUF, as the kernel's ringbuf.c: one producer position and one
 * consumer position over a power-of-two data area; each record has an
 * 8-byte header (length with the BUSY and DISCARD bits, and its offset so
 * that submit/discard find the buffer from the record alone).
 *
 * The kernel maps the data pages twice so a record that wraps is
 * contiguous; here the data area is allocated twice as large and a record
 * is always written and read at its unwrapped address, which gives the same
 * contiguity without aliasing. Producers serialize on a spinlock while they
 * reserve; committing is a release store of the header, so the consumer
 * (bpfvm_ringbuf_poll, one at a time) never sees a half-written record. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maps/map_internal.h"

#define RB_BUSY_BIT (1u << 31)
#define RB_DISCARD_BIT (1u << 30)
#define RB_HDR_SZ 8u
#define RB_MAX_RECORD_SZ (UINT32_MAX >> 2)
#define RINGBUF_CREATE_FLAG_MASK BPFVM_F_NUMA_NODE

struct bpfvm_ringbuf {
	struct bpfvm_map map;
	uint64_t mask;
	bpfvm_spinlock_t lock;
	pthread_mutex_t consumer_lock;
	_Atomic uint64_t consumer_pos;
	_Atomic uint64_t producer_pos;
	_Alignas(8) unsigned char data[];
};

#define RB(m) ((struct bpfvm_ringbuf *)(m))

static int rb_check(const struct bpfvm_map_def *def, char *err, size_t errlen)
{
	uint32_t n = def->max_entries;
	if (def->key_size || def->value_size || n == 0 || (n & (n - 1)) ||
	    (n % BPFVM_PAGE_SIZE) || (def->flags & ~RINGBUF_CREATE_FLAG_MASK)) {
		snprintf(err, errlen, "ring buffers need key_size 0, value_size 0 and max_entries a "
			 "power-of-two multiple of %u", BPFVM_PAGE_SIZE);
		return -EINVAL;
	}
	return 0;
}

static struct bpfvm_map *rb_alloc(const struct bpfvm_map_def *def)
{
	struct bpfvm_ringbuf *rb = calloc(1, sizeof(*rb) + 2 * (size_t)def->max_entries);
	if (!rb)
		return NULL;
	rb->mask = def->max_entries - 1u;
	pthread_mutex_init(&rb->consumer_lock, NULL);
	return &rb->map;
}

static void rb_free(struct bpfvm_map *map)
{
	pthread_mutex_destroy(&RB(map)->consumer_lock);
	free(map);
}

static _Atomic uint32_t *hdr_len(unsigned char *hdr)
{
	return (_Atomic uint32_t *)(void *)hdr;
}

void *bpfvm__ringbuf_reserve(struct bpfvm_map *map, uint64_t size, uint64_t flags)
{
	struct bpfvm_ringbuf *rb = RB(map);
	if (map->def.type != BPFVM_MAP_RINGBUF || flags || size > RB_MAX_RECORD_SZ)
		return NULL;
	uint64_t len = (size + RB_HDR_SZ + 7) & ~7ull;
	if (len > rb->mask + 1)
		return NULL;
	uint64_t cons = atomic_load_explicit(&rb->consumer_pos, memory_order_acquire);
	bpfvm_spin_lock(&rb->lock);
	uint64_t prod = atomic_load_explicit(&rb->producer_pos, memory_order_relaxed);
	if (prod + len - cons > rb->mask + 1) {
		bpfvm_spin_unlock(&rb->lock);
		return NULL;
	}
	uint64_t off = prod & rb->mask;
	unsigned char *hdr = rb->data + off;
	atomic_store_explicit(hdr_len(hdr), (uint32_t)size | RB_BUSY_BIT, memory_order_relaxed);
	uint32_t units = (uint32_t)(off / 8);
	memcpy(hdr + 4, &units, sizeof(units));
	atomic_store_explicit(&rb->producer_pos, prod + len, memory_order_release);
	bpfvm_spin_unlock(&rb->lock);
	return hdr + RB_HDR_SZ;
}

/* The buffer a reserved record belongs to, from its header. */
static struct bpfvm_ringbuf *rb_of_sample(void *sample)
{
	unsigned char *hdr = (unsigned char *)sample - RB_HDR_SZ;
	uint32_t units;
	memcpy(&units, hdr + 4, sizeof(units));
	unsigned char *data = hdr - (size_t)units * 8;
	return (struct bpfvm_ringbuf *)(data - offsetof(struct bpfvm_ringbuf, data));
}

void bpfvm__ringbuf_commit(void *sample, int discard)
{
	unsigned char *hdr = (unsigned char *)sample - RB_HDR_SZ;
	uint32_t len = atomic_load_explicit(hdr_len(hdr), memory_order_relaxed);
	len &= ~RB_BUSY_BIT;
	if (discard)
		len |= RB_DISCARD_BIT;
	atomic_store_explicit(hdr_len(hdr), len, memory_order_release);
}

int bpfvm__ringbuf_contains(struct bpfvm_map *map, const void *sample)
{
	struct bpfvm_ringbuf *rb = RB(map);
	const unsigned char *p = sample;
	return p >= rb->data + RB_HDR_SZ && p < rb->data + 2 * (rb->mask + 1);
}

struct bpfvm_map *bpfvm__ringbuf_of_sample(void *sample)
{
	return &rb_of_sample(sample)->map;
}

uint64_t bpfvm__ringbuf_query(struct bpfvm_map *map, uint64_t flags)
{
	struct bpfvm_ringbuf *rb = RB(map);
	uint64_t cons = atomic_load(&rb->consumer_pos), prod = atomic_load(&rb->producer_pos);
	switch (flags) {
	case 0: return prod - cons;      /* BPF_RB_AVAIL_DATA */
	case 1: return rb->mask + 1;     /* BPF_RB_RING_SIZE */
	case 2: return cons;             /* BPF_RB_CONS_POS */
	case 3: return prod;             /* BPF_RB_PROD_POS */
	default: return 0;
	}
}

int bpfvm_ringbuf_poll(struct bpfvm_map *map, bpfvm_record_fn fn, void *user)
{
	if (!map || map->def.type != BPFVM_MAP_RINGBUF || !fn)
		return -EINVAL;
	struct bpfvm_ringbuf *rb = RB(map);
	int consumed = 0;
	pthread_mutex_lock(&rb->consumer_lock);
	uint64_t cons = atomic_load_explicit(&rb->consumer_pos, memory_order_relaxed);
	uint64_t prod = atomic_load_explicit(&rb->producer_pos, memory_order_acquire);
	while (cons < prod) {
		unsigned char *hdr = rb->data + (cons & rb->mask);
		uint32_t len = atomic_load_explicit(hdr_len(hdr), memory_order_acquire);
		if (len & RB_BUSY_BIT)
			break; /* records are consumed in order */
		uint32_t size = len & ~(RB_BUSY_BIT | RB_DISCARD_BIT);
		int stop = 0;
		if (!(len & RB_DISCARD_BIT)) {
			consumed++;
			stop = fn(user, hdr + RB_HDR_SZ, size);
		}
		cons += (size + RB_HDR_SZ + 7) & ~7ull;
		atomic_store_explicit(&rb->consumer_pos, cons, memory_order_release);
		if (stop)
			break;
	}
	pthread_mutex_unlock(&rb->consumer_lock);
	return consumed;
}

static void *rb_lookup(struct bpfvm_map *map, const void *key, uint32_t cpu)
{
	return NULL;
}

static int rb_update(struct bpfvm_map *map, const void *key, const void *value, uint64_t flags,
		     int cpu)
{
	return -BPFVM_ENOTSUPP;
}

static int rb_delete(struct bpfvm_map *map, const void *key)
{
	return -BPFVM_ENOTSUPP;
}

static int rb_get_next_key(struct bpfvm_map *map, const void *key, void *next_key)
{
	return -BPFVM_ENOTSUPP;
}

const struct bpfvm_map_ops bpfvm__ringbuf_ops = {
	.check = rb_check,
	.alloc = rb_alloc,
	.free = rb_free,
	.lookup = rb_lookup,
	.update = rb_update,
	.delete = rb_delete,
	.get_next_key = rb_get_next_key,
};
