/* XDP packet helpers with the kernel's ids, prototypes and semantics
 * (net/core/filter.c), on the xdp_buff of a test run. */
#include <errno.h>
#include <string.h>

#include "packet/packet.h"

#define ERR(e) ((uint64_t)(int64_t)-(e))
#define XDP_ONLY (1ull << BPFVM_PROG_XDP)

/* Lowest address data or data_meta may move to: the kernel keeps a
 * struct xdp_frame at the start of the headroom. */
static uint8_t *frame_floor(const struct bpfvm_pkt *pkt)
{
	return pkt->frame + PKT_XDP_FRAME_HDR;
}

/* Highest address data_end may move to: the tailroom holds the
 * skb_shared_info. */
static uint8_t *frame_ceiling(const struct bpfvm_pkt *pkt)
{
	return pkt->frame + PKT_FRAME_SIZE - PKT_SHINFO_SIZE;
}

static void packet_moved(struct bpfvm_pkt *pkt, struct bpfvm_call_ctx *cc)
{
	if (pkt->data_meta < pkt->xdp_low)
		pkt->xdp_low = pkt->data_meta;
	bpfvm__pkt_sync_view(pkt);
	bpfvm__pkt_sync_run(pkt, bpfvm_call_run(cc), cc);
}

/* bpf_xdp_adjust_head(xdp, delta): move data by delta, keeping at least an
 * Ethernet header; metadata moves along with it. */
static uint64_t xdp_adjust_head(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
				struct bpfvm_call_ctx *cc)
{
	struct bpfvm_pkt *pkt = bpfvm__pkt_of_call(cc, r1);
	if (!pkt)
		return ERR(EINVAL);
	int delta = (int)r2;
	size_t metalen = (size_t)(pkt->data - pkt->data_meta);
	uint8_t *data = pkt->data + delta;
	if (data < frame_floor(pkt) + metalen || data > pkt->data_end - ETH_HLEN_)
		return ERR(EINVAL);
	if (metalen)
		memmove(pkt->data_meta + delta, pkt->data_meta, metalen);
	pkt->data_meta += delta;
	pkt->data = data;
	packet_moved(pkt, cc);
	return 0;
}

/* bpf_xdp_adjust_meta(xdp, delta): grow or shrink the metadata in front of
 * data; its length stays a multiple of 4. */
static uint64_t xdp_adjust_meta(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
				struct bpfvm_call_ctx *cc)
{
	struct bpfvm_pkt *pkt = bpfvm__pkt_of_call(cc, r1);
	if (!pkt)
		return ERR(EINVAL);
	uint8_t *meta = pkt->data_meta + (int)r2;
	if (meta < frame_floor(pkt) || meta > pkt->data)
		return ERR(EINVAL);
	if ((size_t)(pkt->data - meta) & 3)
		return ERR(EACCES);
	pkt->data_meta = meta;
	packet_moved(pkt, cc);
	return 0;
}

static uint8_t *frag_at(struct bpfvm_pkt *pkt, uint32_t i)
{
	return pkt->frags + (size_t)i * PKT_FRAME_SIZE;
}

/* Grow the last fragment into the rest of its page (zeroed). */
static int64_t frags_grow_tail(struct bpfvm_pkt *pkt, int delta)
{
	uint32_t last = pkt->nr_frags - 1;
	if ((uint32_t)delta > PKT_FRAME_SIZE - pkt->frag_size[last])
		return -EINVAL;
	memset(frag_at(pkt, last) + pkt->frag_size[last], 0, (size_t)delta);
	pkt->frag_size[last] += (uint32_t)delta;
	pkt->frags_size += (uint32_t)delta;
	return 0;
}

/* Shrink from the end: whole fragments go, then the frame's part, keeping
 * an Ethernet header's worth of bytes in all. */
static int64_t frags_shrink_tail(struct bpfvm_pkt *pkt, struct bpfvm_call_ctx *cc, int64_t shrink)
{
	uint64_t len = (uint64_t)(pkt->data_end - pkt->data) + pkt->frags_size;
	if (shrink > (int64_t)len - ETH_HLEN_)
		return -EINVAL;
	while (pkt->nr_frags && shrink > 0) {
		uint32_t last = pkt->nr_frags - 1;
		uint32_t cut = shrink < pkt->frag_size[last] ? (uint32_t)shrink : pkt->frag_size[last];
		pkt->frag_size[last] -= cut;
		pkt->frags_size -= cut;
		shrink -= cut;
		if (!pkt->frag_size[last])
			pkt->nr_frags--;
	}
	if (!pkt->nr_frags && shrink > 0) {
		pkt->data_end -= shrink;
		packet_moved(pkt, cc);
	}
	return 0;
}

/* bpf_xdp_adjust_tail(xdp, delta): move data_end (with fragments, the end
 * of the last one); grown bytes are zeroed. */
static uint64_t xdp_adjust_tail(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
				struct bpfvm_call_ctx *cc)
{
	struct bpfvm_pkt *pkt = bpfvm__pkt_of_call(cc, r1);
	if (!pkt)
		return ERR(EINVAL);
	int delta = (int)r2;
	if (pkt->nr_frags)
		return (uint64_t)(delta < 0 ? frags_shrink_tail(pkt, cc, -(int64_t)delta)
					    : frags_grow_tail(pkt, delta));
	uint8_t *end = pkt->data_end + delta;
	if (end > frame_ceiling(pkt) || end < pkt->data + ETH_HLEN_)
		return ERR(EINVAL);
	if (delta > 0)
		memset(pkt->data_end, 0, (size_t)delta);
	pkt->data_end = end;
	packet_moved(pkt, cc);
	return 0;
}

/* bpf_xdp_load_bytes / bpf_xdp_store_bytes(xdp, offset, buf, len): copy
 * between the packet (from data) and buf; the range must be inside it. */
/* Copy len bytes at offset of the packet (frame part, then fragments)
 * to or from buf. Offsets and lengths beyond 16 bits are -EFAULT, ranges
 * past the end -EINVAL. */
static int64_t xdp_copy(struct bpfvm_pkt *pkt, uint64_t offset, uint64_t len, uint8_t *buf,
			int to_packet)
{
	uint32_t off = (uint32_t)offset, n = (uint32_t)len;
	uint32_t head = (uint32_t)(pkt->data_end - pkt->data);
	if (off > 0xffff || n > 0xffff)
		return -EFAULT;
	if ((uint64_t)off + n > (uint64_t)head + pkt->frags_size)
		return -EINVAL;
	for (uint32_t seg = 0, start = 0; n && seg <= pkt->nr_frags; seg++) {
		uint8_t *base = seg ? frag_at(pkt, seg - 1) : pkt->data;
		uint32_t size = seg ? pkt->frag_size[seg - 1] : head;
		if (off < start + size) {
			uint32_t at = off - start, chunk = size - at < n ? size - at : n;
			if (to_packet)
				memmove(base + at, buf, chunk);
			else
				memcpy(buf, base + at, chunk);
			buf += chunk, off += chunk, n -= chunk;
		}
		start += size;
	}
	return 0;
}

static uint64_t xdp_load_bytes(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
			       struct bpfvm_call_ctx *cc)
{
	struct bpfvm_pkt *pkt = bpfvm__pkt_of_call(cc, r1);
	if (!pkt)
		return ERR(EINVAL);
	return (uint64_t)xdp_copy(pkt, r2, r4, (uint8_t *)(uintptr_t)r3, 0);
}

static uint64_t xdp_store_bytes(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
				struct bpfvm_call_ctx *cc)
{
	struct bpfvm_pkt *pkt = bpfvm__pkt_of_call(cc, r1);
	if (!pkt)
		return ERR(EINVAL);
	return (uint64_t)xdp_copy(pkt, r2, r4, (uint8_t *)(uintptr_t)r3, 1);
}

/* bpf_xdp_get_buff_len(xdp): the packet's length (no fragments here). */
static uint64_t xdp_get_buff_len(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
				 struct bpfvm_call_ctx *cc)
{
	struct bpfvm_pkt *pkt = bpfvm__pkt_of_call(cc, r1);
	return pkt ? (uint64_t)(pkt->data_end - pkt->data) + pkt->frags_size : 0;
}

static struct bpfvm_helper changes(struct bpfvm_helper h)
{
	h.changes_pkt_data = 1;
	return h;
}

static struct bpfvm_helper only(struct bpfvm_helper h, uint64_t types)
{
	h.prog_types = types;
	return h;
}

int bpfvm__xdp_helpers_register(struct bpfvm_vm *vm)
{
	const struct bpfvm_helper helpers[] = {
		changes(only((struct bpfvm_helper)BPFVM_HELPER(
			BPF_FUNC_xdp_adjust_head, "xdp_adjust_head", xdp_adjust_head,
			BPFVM_RET_INTEGER, BPFVM_ARG_PTR_TO_CTX, BPFVM_ARG_ANYTHING, 0, 0, 0), XDP_ONLY)),
		changes(only((struct bpfvm_helper)BPFVM_HELPER(
			BPF_FUNC_xdp_adjust_meta, "xdp_adjust_meta", xdp_adjust_meta,
			BPFVM_RET_INTEGER, BPFVM_ARG_PTR_TO_CTX, BPFVM_ARG_ANYTHING, 0, 0, 0), XDP_ONLY)),
		changes(only((struct bpfvm_helper)BPFVM_HELPER(
			BPF_FUNC_xdp_adjust_tail, "xdp_adjust_tail", xdp_adjust_tail,
			BPFVM_RET_INTEGER, BPFVM_ARG_PTR_TO_CTX, BPFVM_ARG_ANYTHING, 0, 0, 0), XDP_ONLY)),
		only((struct bpfvm_helper)BPFVM_HELPER(
			BPF_FUNC_xdp_get_buff_len, "xdp_get_buff_len", xdp_get_buff_len,
			BPFVM_RET_INTEGER, BPFVM_ARG_PTR_TO_CTX, 0, 0, 0, 0), XDP_ONLY),
		only((struct bpfvm_helper)BPFVM_HELPER(
			BPF_FUNC_xdp_load_bytes, "xdp_load_bytes", xdp_load_bytes, BPFVM_RET_INTEGER,
			BPFVM_ARG_PTR_TO_CTX, BPFVM_ARG_ANYTHING, BPFVM_ARG_PTR_TO_UNINIT_MEM,
			BPFVM_ARG_CONST_SIZE, 0), XDP_ONLY),
		only((struct bpfvm_helper)BPFVM_HELPER(
			BPF_FUNC_xdp_store_bytes, "xdp_store_bytes", xdp_store_bytes, BPFVM_RET_INTEGER,
			BPFVM_ARG_PTR_TO_CTX, BPFVM_ARG_ANYTHING, BPFVM_ARG_PTR_TO_MEM,
			BPFVM_ARG_CONST_SIZE, 0), XDP_ONLY),
	};
	for (size_t i = 0; i < sizeof(helpers) / sizeof(helpers[0]); i++) {
		int rc = bpfvm_vm_register_helper(vm, &helpers[i]);
		if (rc)
			return rc;
	}
	return 0;
}
