/* Frames in low memory and the program's view of a packet. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "packet/packet.h"

/* The view's data fields are 32 bits wide; a frame whose last byte is
 * below 2 GiB keeps every pointer into it positive as a 32-bit value
 * too, so signed and unsigned comparisons of them agree. */
#define LOW_LIMIT (1ULL << 31)

static int frame_is_low(const void *p)
{
	return (uint64_t)(uintptr_t)p + PKT_MAP_SIZE <= LOW_LIMIT;
}

#ifndef MAP_32BIT
/* Without MAP_32BIT (non-x86-64): ask for addresses below 2 GiB one at a
 * time; MAP_FIXED_NOREPLACE never clobbers an existing mapping. */
static uint8_t *frame_alloc_probe(void)
{
#ifdef MAP_FIXED_NOREPLACE
	for (uint64_t hint = 1ULL << 28; hint + PKT_MAP_SIZE <= LOW_LIMIT; hint += 1ULL << 24) {
		void *p = mmap((void *)(uintptr_t)hint, PKT_MAP_SIZE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		if (p == MAP_FAILED)
			continue;
		if (frame_is_low(p))
			return p;
		munmap(p, PKT_MAP_SIZE); /* an old kernel took it as a hint */
	}
#endif
	errno = ENOMEM;
	return NULL;
}
#endif

uint8_t *bpfvm__pkt_frame_alloc(void)
{
#ifdef MAP_32BIT
	void *p = mmap(NULL, PKT_MAP_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	if (!frame_is_low(p)) {
		munmap(p, PKT_MAP_SIZE);
		errno = ENOMEM;
		return NULL;
	}
	return p;
#else
	return frame_alloc_probe();
#endif
}

void bpfvm__pkt_frame_free(uint8_t *frame)
{
	if (frame)
		munmap(frame, PKT_MAP_SIZE);
}

static uint32_t addr32(const uint8_t *p)
{
	return (uint32_t)(uintptr_t)p;
}

void bpfvm__pkt_sync_view(struct bpfvm_pkt *pkt)
{
	if (pkt->type == BPFVM_PROG_XDP) {
		struct xdp_md *md = &pkt->view.xdp;
		md->data = addr32(pkt->data);
		md->data_end = addr32(pkt->data_end);
		md->data_meta = addr32(pkt->data_meta);
		return;
	}
	struct __sk_buff *skb = &pkt->view.skb;
	skb->len = (uint32_t)(pkt->data_end - pkt->data);
	skb->protocol = pkt->protocol;
	skb->vlan_present = pkt->vlan_present;
	skb->vlan_tci = pkt->vlan_tci;
	skb->vlan_proto = pkt->vlan_proto;
	skb->data = addr32(pkt->data);
	skb->data_end = addr32(pkt->data_end);
	skb->data_meta = addr32(pkt->data); /* no skb metadata in a test run */
}

void bpfvm__pkt_sync_run(struct bpfvm_pkt *pkt, struct bpfvm_run *run, struct bpfvm_call_ctx *cc)
{
	run->pkt = pkt->data;
	run->pkt_len = (size_t)(pkt->data_end - pkt->data);
	uint8_t *start = pkt->type == BPFVM_PROG_XDP ? pkt->data_meta : pkt->data;
	if (cc)
		bpfvm_call_allow_region(cc, start, (size_t)(pkt->data_end - start), 1);
}

struct bpfvm_pkt *bpfvm__pkt_of_call(struct bpfvm_call_ctx *cc, uint64_t r1)
{
	struct bpfvm_run *run = bpfvm_call_run(cc);
	struct bpfvm_pkt *pkt = run->pkt_ctx;
	if (!pkt || r1 != (uint64_t)(uintptr_t)run->ctx || run->ctx != (void *)&pkt->view)
		return NULL;
	return pkt;
}
