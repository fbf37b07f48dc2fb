/* bpf_skb_adjust_room(skb, len_diff, mode, flags): insert zeroed room
 * after the MAC header (BPF_ADJ_ROOM_MAC) or after the network header
 * (BPF_ADJ_ROOM_NET), or remove as much there, with the kernel's checks,
 * errnos and effects on the sk_buff (net/core/filter.c: bpf_skb_net_grow,
 * bpf_skb_net_shrink): header offsets, protocol, encapsulation marks, GSO
 * fields. The program writes the new headers itself.
 *
 * Checksum state is not modelled: a test-run skb is CHECKSUM_NONE, which
 * __skb_reset_checksum_unnecessary and skb_postpull_rcsum leave alone. */
#include <errno.h>
#include <string.h>

#include "packet/packet.h"

#define ERR(e) ((uint64_t)(int64_t)-(e))
#define ENOTSUPP_ 524 /* the kernel's internal ENOTSUPP */

#define ADJ_ROOM_NET 0
#define ADJ_ROOM_MAC 1

/* Flags by value: the installed uapi header may predate the DECAP ones. */
#define F_FIXED_GSO (1ull << 0)
#define F_ENCAP_L3_IPV4 (1ull << 1)
#define F_ENCAP_L3_IPV6 (1ull << 2)
#define F_ENCAP_L4_GRE (1ull << 3)
#define F_ENCAP_L4_UDP (1ull << 4)
#define F_NO_CSUM_RESET (1ull << 5)
#define F_ENCAP_L2_ETH (1ull << 6)
#define F_DECAP_L3_IPV4 (1ull << 7)
#define F_DECAP_L3_IPV6 (1ull << 8)
#define ENCAP_L2_SHIFT 56
#define ENCAP_L2_MASK (0xffull << ENCAP_L2_SHIFT)
#define F_ENCAP_L3_MASK (F_ENCAP_L3_IPV4 | F_ENCAP_L3_IPV6)
#define F_DECAP_L3_MASK (F_DECAP_L3_IPV4 | F_DECAP_L3_IPV6)
#define F_KNOWN (F_FIXED_GSO | F_ENCAP_L3_MASK | F_ENCAP_L4_GRE | F_ENCAP_L4_UDP | \
		 F_NO_CSUM_RESET | F_ENCAP_L2_ETH | ENCAP_L2_MASK | F_DECAP_L3_MASK)

#define MAX_DIFF 0xfffu
#define IPV4_HLEN 20u
#define IPV6_HLEN 40u

/* skb_shinfo(skb)->gso_type bits the helper reads or sets. */
#define GSO_TCPV4 (1u << 0)
#define GSO_DODGY (1u << 1)
#define GSO_TCPV6 (1u << 4)
#define GSO_GRE (1u << 7)
#define GSO_IPXIP4 (1u << 9)
#define GSO_IPXIP6 (1u << 10)
#define GSO_UDP_TUNNEL (1u << 11)
#define GSO_UDP_L4 (1u << 16)

static uint16_t net_proto(uint16_t host)
{
	const uint8_t b[2] = {(uint8_t)(host >> 8), (uint8_t)host};
	uint16_t v;
	memcpy(&v, b, 2);
	return v;
}

static uint32_t skb_len(const struct bpfvm_pkt *pkt)
{
	return (uint32_t)(pkt->data_end - pkt->data);
}

/* bpf_skb_net_base_len: the fixed IP header length of skb->protocol. */
static uint32_t net_base_len(const struct bpfvm_pkt *pkt)
{
	if (pkt->protocol == net_proto(ETH_P_IP_))
		return IPV4_HLEN;
	if (pkt->protocol == net_proto(ETH_P_IPV6_))
		return IPV6_HLEN;
	return ~0u;
}

static int is_gso(const struct bpfvm_pkt *pkt)
{
	return pkt->view.skb.gso_size != 0;
}

/* UDP GSO sizes delimit datagrams: only a fixed gso_size may stay. */
static int gso_allows(const struct bpfvm_pkt *pkt, uint64_t flags)
{
	if (!is_gso(pkt) || (pkt->gso_type & (GSO_TCPV4 | GSO_TCPV6)))
		return 1;
	return (pkt->gso_type & GSO_UDP_L4) && (flags & F_FIXED_GSO);
}

/* A new outer header: gso must be checked again, segments recounted and,
 * unless fixed, the MSS shrinks or grows by the header change. */
static void gso_update(struct bpfvm_pkt *pkt, uint64_t flags, uint32_t gso_bits, int64_t mss_delta)
{
	if (!is_gso(pkt))
		return;
	struct __sk_buff *v = &pkt->view.skb;
	if (!(flags & F_FIXED_GSO))
		v->gso_size = (uint32_t)((int64_t)v->gso_size + mss_delta) & 0xffff;
	pkt->gso_type |= gso_bits;
	v->gso_segs = 0;
}

/* bpf_skb_generic_push + header moves (bpf_skb_net_hdr_push): len zero
 * bytes at off from skb->data; the MAC and network headers move to the
 * front with the bytes before off. */
static void hdr_push(struct bpfvm_pkt *pkt, uint32_t off, uint32_t len)
{
	int trans_same = pkt->transport && pkt->transport == pkt->network;
	pkt->data -= len;
	memmove(pkt->data, pkt->data + len, off);
	memset(pkt->data + off, 0, len);
	pkt->mac -= len;
	pkt->network -= len;
	if (trans_same)
		pkt->transport = pkt->network;
}

/* bpf_skb_generic_pop + header moves: drop len bytes at off. */
static int hdr_pop(struct bpfvm_pkt *pkt, uint32_t off, uint32_t len)
{
	if ((uint64_t)off + len > skb_len(pkt))
		return -ENOMEM; /* pskb_may_pull */
	int trans_same = pkt->transport && pkt->transport == pkt->network;
	memmove(pkt->data + len, pkt->data, off);
	pkt->data += len;
	pkt->mac += len;
	pkt->network += len;
	if (trans_same)
		pkt->transport = pkt->network;
	return 0;
}

/* The checks of bpf_skb_net_grow for an encapsulating grow, in its order. */
static int encap_checks(const struct bpfvm_pkt *pkt, uint32_t len, uint64_t flags)
{
	uint32_t inner_mac_len = (uint32_t)(flags >> ENCAP_L2_SHIFT);
	if ((flags & F_ENCAP_L3_MASK) == F_ENCAP_L3_MASK)
		return -EINVAL;
	if ((flags & F_ENCAP_L4_GRE) && (flags & F_ENCAP_L4_UDP))
		return -EINVAL;
	if ((flags & F_ENCAP_L2_ETH) && inner_mac_len < ETH_HLEN_)
		return -EINVAL;
	if (pkt->encapsulation)
		return -EALREADY;
	if (inner_mac_len > len)
		return -EINVAL;
	return 0;
}

/* After an encapsulating push: the old network header is the inner one,
 * the outer network header follows the MAC header, L4 tunnels set the
 * transport header, the protocol follows the outer L3 family. */
static uint32_t mark_encap(struct bpfvm_pkt *pkt, uint32_t mac_len, uint64_t flags)
{
	pkt->encapsulation = 1;
	pkt->network = pkt->data + mac_len;
	if (flags & (F_ENCAP_L4_GRE | F_ENCAP_L4_UDP))
		pkt->transport = pkt->network + (flags & F_ENCAP_L3_IPV6 ? IPV6_HLEN : IPV4_HLEN);
	if (pkt->protocol == net_proto(ETH_P_IP_) && (flags & F_ENCAP_L3_IPV6))
		pkt->protocol = net_proto(ETH_P_IPV6_);
	else if (pkt->protocol == net_proto(ETH_P_IPV6_) && (flags & F_ENCAP_L3_IPV4))
		pkt->protocol = net_proto(ETH_P_IP_);
	if (flags & F_ENCAP_L4_UDP)
		return GSO_UDP_TUNNEL;
	if (flags & F_ENCAP_L4_GRE)
		return GSO_GRE;
	return flags & F_ENCAP_L3_IPV6 ? GSO_IPXIP6 : GSO_IPXIP4;
}

static int net_grow(struct bpfvm_pkt *pkt, uint32_t off, uint32_t len, uint64_t flags)
{
	int encap = (flags & F_ENCAP_L3_MASK) != 0;
	if (!gso_allows(pkt, flags))
		return -ENOTSUPP_;
	if (bpfvm__pkt_make_headroom(pkt, len))
		return -ENOMEM;
	/* NET mode on a packet cut below its IP header makes off pass
	 * data_end; the kernel then moves tailroom bytes. Stay in the frame. */
	if ((size_t)(pkt->frame + PKT_MAP_SIZE - pkt->data) < (size_t)off + len)
		return -ENOMEM;
	uint32_t mac_len = (uint32_t)(pkt->network - pkt->mac);
	int rc = encap ? encap_checks(pkt, len, flags) : 0;
	if (rc)
		return rc;
	hdr_push(pkt, off, len);
	uint32_t gso_bits = GSO_DODGY;
	if (encap)
		gso_bits |= mark_encap(pkt, mac_len, flags);
	gso_update(pkt, flags, gso_bits, -(int64_t)len);
	return 0;
}

static int net_shrink(struct bpfvm_pkt *pkt, uint32_t off, uint32_t len, uint64_t flags)
{
	if (flags & ~(F_FIXED_GSO | F_DECAP_L3_MASK | F_NO_CSUM_RESET))
		return -EINVAL;
	if (!gso_allows(pkt, flags))
		return -ENOTSUPP_;
	int rc = hdr_pop(pkt, off, len);
	if (rc)
		return rc;
	if (pkt->protocol == net_proto(ETH_P_IP_) && (flags & F_DECAP_L3_IPV6))
		pkt->protocol = net_proto(ETH_P_IPV6_);
	else if (pkt->protocol == net_proto(ETH_P_IPV6_) && (flags & F_DECAP_L3_IPV4))
		pkt->protocol = net_proto(ETH_P_IP_);
	gso_update(pkt, flags, GSO_DODGY, len);
	return 0;
}

/* The smallest network-layer length a decapsulation may leave: 0 and
 * the base length when no DECAP flag is given, -EINVAL for both. */
static int64_t decap_min_len(uint64_t flags, uint32_t base)
{
	switch (flags & F_DECAP_L3_MASK) {
	case 0:
		return base;
	case F_DECAP_L3_IPV4:
		return IPV4_HLEN;
	case F_DECAP_L3_IPV6:
		return IPV6_HLEN;
	default:
		return -EINVAL;
	}
}

static int adjust_room(struct bpfvm_pkt *pkt, int32_t len_diff, uint32_t mode, uint64_t flags)
{
	uint32_t diff = len_diff < 0 ? 0u - (uint32_t)len_diff : (uint32_t)len_diff;
	int shrink = len_diff < 0;
	if (flags & ~F_KNOWN)
		return -EINVAL;
	if (diff > MAX_DIFF)
		return -EFAULT;
	uint32_t base = net_base_len(pkt);
	if (base == ~0u)
		return -ENOTSUPP_;
	uint32_t off = (uint32_t)(pkt->network - pkt->mac);
	if (mode == ADJ_ROOM_NET)
		off += base;
	else if (mode != ADJ_ROOM_MAC)
		return -ENOTSUPP_;
	if ((flags & F_DECAP_L3_MASK) && !shrink)
		return -EINVAL;
	int64_t len_min = decap_min_len(flags, base);
	if (len_min < 0)
		return (int)len_min;
	uint32_t len_cur = skb_len(pkt) - (uint32_t)(pkt->network - pkt->data);
	if (shrink && (diff >= len_cur || len_cur - diff < len_min))
		return -ENOTSUPP_;
	if (!shrink && skb_len(pkt) + diff > PKT_SKB_MAX_LEN && !is_gso(pkt))
		return -ENOTSUPP_;
	return shrink ? net_shrink(pkt, off, diff, flags) : net_grow(pkt, off, diff, flags);
}

uint64_t bpfvm__skb_adjust_room(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
				struct bpfvm_call_ctx *cc)
{
	struct bpfvm_pkt *pkt = bpfvm__pkt_of_call(cc, r1);
	if (!pkt)
		return ERR(EINVAL);
	int rc = adjust_room(pkt, (int32_t)r2, (uint32_t)r3, r4);
	/* bpf_compute_data_pointers runs whatever the outcome: a failed grow
	 * may still have moved the packet for headroom. */
	bpfvm__pkt_sync_view(pkt);
	bpfvm__pkt_sync_run(pkt, bpfvm_call_run(cc), cc);
	return (uint64_t)(int64_t)rc;
}
