/* sk_buff test runs (socket filters, tc), as the kernel's
 * bpf_prog_test_run_skb builds them: the frame goes through
 * eth_type_trans on the loopback device (which pulls the Ethernet header
 * and sets protocol and pkt_type); tc programs see it pushed back. */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "testrun/testrun.h"

#define LOOPBACK_IFINDEX 1
#define GSO_MAX_SEGS 65535
#define GSO_LEGACY_MAX_SIZE 65536
#define IPV4_HLEN 20
#define IPV6_HLEN 40

static uint16_t load16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return v;
}

static uint16_t net16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Is [from, to) of the user's __sk_buff zero? */
static int range_is_zero(const struct __sk_buff *skb, size_t from, size_t to)
{
	const uint8_t *p = (const uint8_t *)skb;
	for (size_t i = from; i < to; i++)
		if (p[i])
			return 0;
	return 1;
}

#define END(f) (offsetof(struct __sk_buff, f) + sizeof(((struct __sk_buff *)0)->f))
#define OFF(f) offsetof(struct __sk_buff, f)

/* convert___skb_to_skb: only mark, priority, ingress_ifindex, ifindex,
 * cb, tstamp, wire_len, gso_segs, gso_size and hwtstamp may be set. */
static int check_ctx(const struct __sk_buff *c, struct bpfvm_test_run_opts *opts)
{
	const size_t zero[][2] = {
		{0, OFF(mark)},          {END(mark), OFF(priority)}, {END(ifindex), OFF(cb)},
		{END(cb), OFF(tstamp)},  {END(gso_segs), OFF(gso_size)},
		{END(gso_size), OFF(hwtstamp)}, {END(hwtstamp), sizeof(struct __sk_buff)},
	};
	for (size_t i = 0; i < sizeof(zero) / sizeof(zero[0]); i++)
		if (!range_is_zero(c, zero[i][0], zero[i][1]))
			return bpfvm__tr_error(opts, -EINVAL, "ctx_in: bytes %zu..%zu of struct __sk_buff "
					       "must be zero (only mark, priority, ingress_ifindex, "
					       "ifindex, cb, tstamp, wire_len, gso_segs, gso_size, "
					       "hwtstamp may be set)", zero[i][0], zero[i][1] - 1);
	if (c->gso_segs > GSO_MAX_SEGS)
		return bpfvm__tr_error(opts, -EINVAL, "ctx_in: gso_segs %u > %d", c->gso_segs, GSO_MAX_SEGS);
	return 0;
}

/* eth_type_trans on the loopback device (MAC and broadcast address all
 * zero): protocol from the type field, pkt_type from the destination. */
static void eth_type_trans(struct bpfvm_pkt *pkt, uint8_t *pkt_type)
{
	const uint8_t *eth = pkt->data;
	static const uint8_t zero_mac[ETH_ALEN_];
	if (!memcmp(eth, zero_mac, ETH_ALEN_))
		*pkt_type = PACKET_HOST_;
	else if (eth[0] & 1)
		*pkt_type = PACKET_MULTICAST_;
	else
		*pkt_type = PACKET_OTHERHOST_;
	uint16_t type = net16(eth + 2 * ETH_ALEN_);
	if (type >= ETH_P_802_3_MIN_)
		pkt->protocol = load16(eth + 2 * ETH_ALEN_);
	else if (pkt->data_end - pkt->data >= ETH_HLEN_ + 2 && load16(eth + ETH_HLEN_) == 0xFFFF)
		pkt->protocol = (uint16_t)(ETH_P_802_3_ << 8); /* htons */
	else
		pkt->protocol = (uint16_t)(ETH_P_802_2_ << 8);
	pkt->mac = pkt->data;
	pkt->data += ETH_HLEN_;
	pkt->network = pkt->data;
}

/* The kernel refuses IP packets too short for their header. */
static int check_l3(const struct bpfvm_pkt *pkt, struct bpfvm_test_run_opts *opts)
{
	size_t l3 = (size_t)(pkt->data_end - pkt->network);
	uint8_t p[2];
	memcpy(p, &pkt->protocol, 2);
	uint16_t proto = (uint16_t)(p[0] << 8 | p[1]);
	if (proto == ETH_P_IP_ && l3 < IPV4_HLEN)
		return bpfvm__tr_error(opts, -EINVAL, "data_in: IPv4 packet of %zu bytes after the "
				       "Ethernet header, shorter than an IPv4 header", l3);
	if (proto == ETH_P_IPV6_ && l3 < IPV6_HLEN)
		return bpfvm__tr_error(opts, -EINVAL, "data_in: IPv6 packet of %zu bytes after the "
				       "Ethernet header, shorter than an IPv6 header", l3);
	return 0;
}

static int skb_prepare(struct bpfvm_test_runner *r, struct bpfvm_test_run_opts *opts, int is_l2)
{
	uint32_t size = opts->data_size_in;
	if (size < ETH_HLEN_ || size > PKT_SKB_MAX_LINEAR)
		return bpfvm__tr_error(opts, -EINVAL, "data_in: %u bytes; an sk_buff test run takes "
				       "%d..%d", size, ETH_HLEN_, PKT_SKB_MAX_LINEAR);
	int rc = bpfvm__tr_ctx_init(r, opts, sizeof(struct __sk_buff));
	if (rc)
		return rc;
	const struct __sk_buff *c = &r->ctx.skb;
	if (opts->ctx_in && (rc = check_ctx(c, opts)))
		return rc;
	uint8_t *frame = bpfvm__tr_frame(r, opts, PKT_SKB_HEADROOM);
	if (!frame)
		return -ENOMEM;
	struct bpfvm_pkt *pkt = &r->pkt;
	pkt->data = frame + PKT_SKB_HEADROOM;
	memcpy(pkt->data, opts->data_in, size);
	pkt->data_end = pkt->data + size;
	pkt->data_meta = pkt->data;
	pkt->vlan_present = 0;
	pkt->vlan_tci = 0;
	pkt->vlan_proto = 0;
	pkt->is_l2 = (uint8_t)is_l2;
	pkt->transport = NULL; /* build_skb leaves it unset */
	pkt->encapsulation = 0;
	pkt->gso_type = 0;     /* convert___skb_to_skb sets gso_size, not the type */
	/* Any ifindex above the loopback's is taken as given: bpfvm has no
	 * devices, so pkt_type is still judged by the loopback's address. */
	pkt->ifindex = c->ifindex > LOOPBACK_IFINDEX ? c->ifindex : LOOPBACK_IFINDEX;
	uint8_t pkt_type;
	eth_type_trans(pkt, &pkt_type);
	if ((rc = check_l3(pkt, opts)))
		return rc;
	if (is_l2)
		pkt->data -= ETH_HLEN_;
	uint32_t wire_len = 0;
	if (r->have_ctx) {
		uint32_t len = (uint32_t)(pkt->data_end - pkt->data);
		wire_len = c->wire_len ? c->wire_len : len;
		if (c->wire_len && (c->wire_len < len || c->wire_len > GSO_LEGACY_MAX_SIZE))
			return bpfvm__tr_error(opts, -EINVAL, "ctx_in: wire_len %u outside %u..%d",
					       c->wire_len, len, GSO_LEGACY_MAX_SIZE);
	}
	struct __sk_buff *v = &pkt->view.skb;
	memset(v, 0, sizeof(*v));
	v->pkt_type = pkt_type;
	v->mark = c->mark;
	v->priority = c->priority;
	v->ingress_ifindex = c->ingress_ifindex;
	v->ifindex = pkt->ifindex;
	memcpy(v->cb, c->cb, sizeof(v->cb));
	v->tstamp = c->tstamp;
	v->wire_len = wire_len;
	v->gso_segs = c->gso_segs;
	v->gso_size = c->gso_size;
	v->hwtstamp = c->hwtstamp;
	bpfvm__pkt_sync_view(pkt);

	r->run.ctx = v;
	r->run.ctx_size = sizeof(*v);
	r->run.pkt_ctx = pkt;
	r->run.regions[0] = (struct bpfvm_region){pkt->data, (size_t)(pkt->data_end - pkt->data), 1};
	r->run.nregions = 1;
	bpfvm__pkt_sync_run(pkt, &r->run, NULL);
	return 0;
}

static int skb_finish(struct bpfvm_test_runner *r, struct bpfvm_test_run_opts *opts)
{
	struct bpfvm_pkt *pkt = &r->pkt;
	if (!pkt->is_l2) {
		/* The kernel pushes a zeroed Ethernet header back. */
		pkt->data -= ETH_HLEN_;
		memset(pkt->data, 0, ETH_HLEN_);
	}
	int rc = bpfvm__tr_data_finish(opts, pkt->data, (size_t)(pkt->data_end - pkt->data));
	if (rc || !r->have_ctx)
		return rc;
	/* convert_skb_to___skb: what the run may have changed. */
	const struct __sk_buff *v = &pkt->view.skb;
	struct __sk_buff *c = &r->ctx.skb;
	c->mark = v->mark;
	c->priority = v->priority;
	c->ingress_ifindex = v->ingress_ifindex;
	c->ifindex = pkt->ifindex;
	c->tstamp = v->tstamp;
	memcpy(c->cb, v->cb, sizeof(c->cb));
	c->wire_len = v->wire_len;
	c->gso_segs = v->gso_segs;
	c->hwtstamp = v->hwtstamp;
	return bpfvm__tr_ctx_finish(r, opts, sizeof(struct __sk_buff));
}

static int prepare_l3(struct bpfvm_test_runner *r, struct bpfvm_test_run_opts *opts)
{
	return skb_prepare(r, opts, 0);
}

static int prepare_l2(struct bpfvm_test_runner *r, struct bpfvm_test_run_opts *opts)
{
	return skb_prepare(r, opts, 1);
}

const struct tr_type bpfvm__tr_socket_filter = {BPFVM_PROG_SOCKET_FILTER, prepare_l3, skb_finish};
const struct tr_type bpfvm__tr_sched_cls = {BPFVM_PROG_SCHED_CLS, prepare_l2, skb_finish};
const struct tr_type bpfvm__tr_sched_act = {BPFVM_PROG_SCHED_ACT, prepare_l2, skb_finish};
