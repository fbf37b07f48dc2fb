/* XDP test runs, as the kernel's bpf_prog_test_run_xdp builds them: a
 * 4096-byte frame, XDP_PACKET_HEADROOM in front of the packet, metadata
 * (the first ctx_in->data bytes of data_in) just before it, what does not
 * fit (or lies past ctx_in->data_end) in page-sized fragments, the
 * loopback device's receive queue 0 unless ctx_in names a device. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "testrun/testrun.h"

#define LOOPBACK_IFINDEX 1

/* The kernel's checks of a user xdp_md (bpf_prog_test_run_xdp and
 * xdp_convert_md_to_buff), measured against Linux 6.18. */
static int check_ctx(const struct xdp_md *md, uint32_t size, struct bpfvm_test_run_opts *opts)
{
	if (md->data_meta || md->egress_ifindex)
		return bpfvm__tr_error(opts, -EINVAL, "ctx_in: data_meta and egress_ifindex must be 0");
	if (md->data_end > size || md->data > md->data_end)
		return bpfvm__tr_error(opts, -EINVAL, "ctx_in: need data <= data_end <= data_size_in "
				       "(%u, %u, %u)", md->data, md->data_end, size);
	if ((md->data & 3) || md->data > PKT_XDP_MAX_META)
		return bpfvm__tr_error(opts, -EINVAL, "ctx_in: metadata length %u is not a multiple "
				       "of 4 up to %d", md->data, PKT_XDP_MAX_META);
	if (!md->ingress_ifindex && md->rx_queue_index)
		return bpfvm__tr_error(opts, -EINVAL, "ctx_in: rx_queue_index needs an ingress_ifindex");
	return 0;
}

/* Put data_in[from, size) into page-sized fragments, as the kernel does
 * with what does not fit the frame or lies past ctx_in->data_end. */
static int fill_frags(struct bpfvm_test_runner *r, struct bpfvm_test_run_opts *opts, uint32_t from)
{
	struct bpfvm_pkt *pkt = &r->pkt;
	uint32_t size = opts->data_size_in;
	pkt->nr_frags = 0;
	pkt->frags_size = 0;
	if (from >= size)
		return 0;
	if (size - from > (uint32_t)PKT_MAX_FRAGS * PKT_FRAME_SIZE)
		return bpfvm__tr_error(opts, -ENOMEM, "data_in: %u bytes past the frame need more than "
				       "%d fragments", size - from, PKT_MAX_FRAGS);
	if (!pkt->frags && !(pkt->frags = malloc((size_t)PKT_MAX_FRAGS * PKT_FRAME_SIZE)))
		return bpfvm__tr_error(opts, -ENOMEM, "out of memory for fragments");
	const uint8_t *in = opts->data_in;
	while (from < size) {
		uint32_t n = size - from < PKT_FRAME_SIZE ? size - from : PKT_FRAME_SIZE;
		memcpy(pkt->frags + (size_t)pkt->nr_frags * PKT_FRAME_SIZE, in + from, n);
		pkt->frag_size[pkt->nr_frags++] = n;
		pkt->frags_size += n;
		from += n;
	}
	return 0;
}

/* Zero what earlier runs may have left in the headroom: the kernel's is
 * zero, and bpf_xdp_adjust_head can expose it. The packet area itself is
 * overwritten by the copy, and what lies past data_end is zeroed by
 * bpf_xdp_adjust_tail when it grows, so neither needs clearing. */
static void clear_headroom(struct bpfvm_pkt *pkt)
{
	uint8_t *top = pkt->frame + PKT_XDP_HEADROOM;
	if (pkt->xdp_low && pkt->xdp_low < top)
		memset(pkt->xdp_low, 0, (size_t)(top - pkt->xdp_low));
	pkt->xdp_low = top;
}

static int xdp_prepare(struct bpfvm_test_runner *r, struct bpfvm_test_run_opts *opts)
{
	uint32_t size = opts->data_size_in;
	int rc = 0;
	/* Without ctx_in/ctx_out (a capture replay) the copy stays zero. */
	if (opts->ctx_in || opts->ctx_out || r->ctx_dirty)
		rc = bpfvm__tr_ctx_init(r, opts, sizeof(struct xdp_md));
	else
		r->have_ctx = 0;
	if (rc)
		return rc;
	const struct xdp_md *md = &r->ctx.xdp;
	if (opts->ctx_in && (rc = check_ctx(md, size, opts)))
		return rc;
	uint32_t metalen = md->data;
	if (size < metalen + ETH_HLEN_)
		return bpfvm__tr_error(opts, -EINVAL, "data_in: %u bytes, an XDP packet needs at least "
				       "an Ethernet header (%d)", size - metalen, ETH_HLEN_);
	/* The frame holds the metadata and up to PKT_XDP_MAX_LINEAR bytes (or
	 * up to ctx_in->data_end); the rest goes to fragments. */
	uint32_t linear = opts->ctx_in ? md->data_end : size;
	if (linear > metalen + PKT_XDP_MAX_LINEAR)
		linear = metalen + PKT_XDP_MAX_LINEAR;
	uint8_t *frame = r->pkt.frame ? r->pkt.frame : bpfvm__tr_frame(r, opts, 0);
	if (!frame)
		return -ENOMEM;
	struct bpfvm_pkt *pkt = &r->pkt;
	if (linear < size) {
		if ((rc = fill_frags(r, opts, linear)))
			return rc;
	} else {
		pkt->nr_frags = 0;
		pkt->frags_size = 0;
	}
	clear_headroom(pkt);
	pkt->data_meta = frame + PKT_XDP_HEADROOM - metalen;
	pkt->xdp_low = pkt->data_meta;
	memcpy(pkt->data_meta, opts->data_in, linear);
	pkt->data = frame + PKT_XDP_HEADROOM;
	pkt->data_end = pkt->data_meta + linear;
	pkt->ingress_ifindex = md->ingress_ifindex ? md->ingress_ifindex : LOOPBACK_IFINDEX;
	pkt->rx_queue_index = md->rx_queue_index;
	/* The view and the run, as bpfvm__pkt_sync_view / sync_run would set
	 * them, written here directly: this is the per-packet path. */
	pkt->view.xdp = (struct xdp_md){
		.data = (uint32_t)(uintptr_t)pkt->data,
		.data_end = (uint32_t)(uintptr_t)pkt->data_end,
		.data_meta = (uint32_t)(uintptr_t)pkt->data_meta,
		.ingress_ifindex = pkt->ingress_ifindex,
		.rx_queue_index = pkt->rx_queue_index,
	};
	r->run.ctx = &pkt->view.xdp;
	r->run.ctx_size = sizeof(struct xdp_md);
	r->run.pkt_ctx = pkt;
	r->run.regions[0] = (struct bpfvm_region){pkt->data_meta, linear, 1};
	r->run.nregions = 1;
	r->run.pkt = pkt->data;
	r->run.pkt_len = (size_t)(pkt->data_end - pkt->data);
	return 0;
}

/* data_out with fragments: the frame's part, then each fragment. When
 * data_out is too small the kernel (bpf_test_finish) keeps room for all
 * the fragments by cutting the frame's part, and if even the fragments do
 * not fit it reports nothing: no size, no retval. */
static int finish_with_frags(struct bpfvm_pkt *pkt, struct bpfvm_test_run_opts *opts)
{
	size_t head = (size_t)(pkt->data_end - pkt->data_meta), total = head + pkt->frags_size;
	size_t cap = opts->data_out ? opts->data_size_out : total;
	int rc = 0;
	if (cap < total) {
		rc = bpfvm__tr_error(opts, -ENOSPC, "data_out: %zu bytes, the output has %zu", cap, total);
		if (cap < pkt->frags_size) {
			opts->retval = 0;
			opts->retval64 = 0;
			opts->duration = 0;
			return rc;
		}
		head = cap - pkt->frags_size;
	}
	opts->data_size_out = (uint32_t)total;
	if (!opts->data_out)
		return 0;
	uint8_t *out = opts->data_out;
	memcpy(out, pkt->data_meta, head);
	size_t at = head;
	for (uint32_t i = 0; i < pkt->nr_frags && at < cap; i++) {
		size_t n = cap - at < pkt->frag_size[i] ? cap - at : pkt->frag_size[i];
		memcpy(out + at, pkt->frags + (size_t)i * PKT_FRAME_SIZE, n);
		at += n;
	}
	return rc;
}

/* data_out is the metadata, the packet and its fragments; ctx_out gives
 * the offsets of data and data_end from the start of data_out
 * (xdp_convert_buff_to_md). */
static int xdp_finish(struct bpfvm_test_runner *r, struct bpfvm_test_run_opts *opts)
{
	struct bpfvm_pkt *pkt = &r->pkt;
	size_t len = (size_t)(pkt->data_end - pkt->data_meta);
	int rc = 0;
	if (pkt->nr_frags)
		rc = finish_with_frags(pkt, opts);
	else if (opts->data_out)
		rc = bpfvm__tr_data_finish(opts, pkt->data_meta, len);
	else
		opts->data_size_out = (uint32_t)len;
	if (rc || !r->have_ctx)
		return rc;
	r->ctx.xdp.data = (uint32_t)(pkt->data - pkt->data_meta);
	r->ctx.xdp.data_end = (uint32_t)(pkt->data_end - pkt->data_meta);
	return bpfvm__tr_ctx_finish(r, opts, sizeof(struct xdp_md));
}

const struct tr_type bpfvm__tr_xdp = {BPFVM_PROG_XDP, xdp_prepare, xdp_finish};
