/* XDP test runs, as the kernel's bpf_prog_test_run_xdp builds them: a
 * 4096-byte frame, XDP_PACKET_HEADROOM in front of the packet, metadata
 * (the first ctx_in->data bytes of data_in) just before it, the loopback
 * device's receive queue 0 unless ctx_in names a device. */
#include <errno.h>
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
	if (md->data_end != size)
		return bpfvm__tr_error(opts, -EINVAL, "ctx_in: data_end %u below data_size_in %u puts "
				       "the rest in fragments; multi-buffer XDP is not supported",
				       md->data_end, size);
	return 0;
}

static int xdp_prepare(struct bpfvm_test_runner *r, struct bpfvm_test_run_opts *opts)
{
	uint32_t size = opts->data_size_in;
	int rc = bpfvm__tr_ctx_init(r, opts, sizeof(struct xdp_md));
	if (rc)
		return rc;
	const struct xdp_md *md = &r->ctx.xdp;
	if (opts->ctx_in && (rc = check_ctx(md, size, opts)))
		return rc;
	uint32_t metalen = md->data;
	if (size < metalen + ETH_HLEN_)
		return bpfvm__tr_error(opts, -EINVAL, "data_in: %u bytes, an XDP packet needs at least "
				       "an Ethernet header (%d)", size - metalen, ETH_HLEN_);
	if (size - metalen > PKT_XDP_MAX_LINEAR)
		return bpfvm__tr_error(opts, -EINVAL, "data_in: %u bytes do not fit in one %d-byte "
				       "frame (at most %d); multi-buffer XDP is not supported",
				       size - metalen, PKT_FRAME_SIZE, PKT_XDP_MAX_LINEAR);
	uint8_t *frame = bpfvm__tr_frame(r, opts, PKT_XDP_HEADROOM);
	if (!frame)
		return -ENOMEM;
	struct bpfvm_pkt *pkt = &r->pkt;
	pkt->data_meta = frame + PKT_XDP_HEADROOM - metalen;
	memcpy(pkt->data_meta, opts->data_in, size);
	pkt->data = frame + PKT_XDP_HEADROOM;
	pkt->data_end = pkt->data_meta + size;
	pkt->ingress_ifindex = md->ingress_ifindex ? md->ingress_ifindex : LOOPBACK_IFINDEX;
	pkt->rx_queue_index = md->rx_queue_index;
	memset(&pkt->view.xdp, 0, sizeof(pkt->view.xdp));
	pkt->view.xdp.ingress_ifindex = pkt->ingress_ifindex;
	pkt->view.xdp.rx_queue_index = pkt->rx_queue_index;
	bpfvm__pkt_sync_view(pkt);

	r->run.ctx = &pkt->view.xdp;
	r->run.ctx_size = sizeof(struct xdp_md);
	r->run.pkt_ctx = pkt;
	r->run.regions[0] = (struct bpfvm_region){pkt->data_meta, size, 1};
	r->run.nregions = 1;
	bpfvm__pkt_sync_run(pkt, &r->run, NULL);
	return 0;
}

/* data_out is the metadata and the packet; ctx_out gives their offsets
 * from the start of data_out (xdp_convert_buff_to_md). */
static int xdp_finish(struct bpfvm_test_runner *r, struct bpfvm_test_run_opts *opts)
{
	struct bpfvm_pkt *pkt = &r->pkt;
	int rc = bpfvm__tr_data_finish(opts, pkt->data_meta, (size_t)(pkt->data_end - pkt->data_meta));
	if (rc || !r->have_ctx)
		return rc;
	r->ctx.xdp.data = (uint32_t)(pkt->data - pkt->data_meta);
	r->ctx.xdp.data_end = (uint32_t)(pkt->data_end - pkt->data_meta);
	return bpfvm__tr_ctx_finish(r, opts, sizeof(struct xdp_md));
}

const struct tr_type bpfvm__tr_xdp = {BPFVM_PROG_XDP, xdp_prepare, xdp_finish};
