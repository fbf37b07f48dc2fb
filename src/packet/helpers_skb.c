/* sk_buff helpers (tc and socket filters) with the kernel's ids,
 * prototypes and semantics (net/core/filter.c, net/core/skbuff.c), on the
 * linear sk_buff of a test run. Offsets are from skb->data: the Ethernet
 * header for tc, the network header for socket filters. */
#include <errno.h>
#include <string.h>

#include "packet/packet.h"

#define ERR(e) ((uint64_t)(int64_t)-(e))
#define ENOTSUPP_ 524 /* the kernel's internal ENOTSUPP, as helpers return it */
#define TC_ONLY ((1ull << BPFVM_PROG_SCHED_CLS) | (1ull << BPFVM_PROG_SCHED_ACT))
#define SKB_TYPES (TC_ONLY | (1ull << BPFVM_PROG_SOCKET_FILTER))

static uint32_t skb_len(const struct bpfvm_pkt *pkt)
{
	return (uint32_t)(pkt->data_end - pkt->data);
}

static void packet_changed(struct bpfvm_pkt *pkt, struct bpfvm_call_ctx *cc)
{
	bpfvm__pkt_sync_view(pkt);
	bpfvm__pkt_sync_run(pkt, bpfvm_call_run(cc), cc);
}

static uint16_t load16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return v;
}

static void store16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

static uint16_t be16(uint16_t host)
{
	const uint8_t b[2] = {(uint8_t)(host >> 8), (uint8_t)host};
	return load16(b);
}

static uint16_t from_be16(uint16_t net)
{
	uint8_t b[2];
	store16(b, net);
	return (uint16_t)(b[0] << 8 | b[1]);
}

/* bpf_skb_load_bytes(skb, offset, to, len): on failure to is zeroed. */
static uint64_t skb_load_bytes(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
			       struct bpfvm_call_ctx *cc)
{
	struct bpfvm_pkt *pkt = bpfvm__pkt_of_call(cc, r1);
	uint32_t off = (uint32_t)r2, len = (uint32_t)r4;
	void *to = (void *)(uintptr_t)r3;
	if (!pkt || off > 0x7fffffffu || (uint64_t)off + len > skb_len(pkt)) {
		memset(to, 0, len);
		return ERR(EFAULT);
	}
	memcpy(to, pkt->data + off, len);
	return 0;
}

#define HDR_START_MAC 0
#define HDR_START_NET 1

/* bpf_skb_load_bytes_relative(skb, offset, to, len, start_header): offset
 * from the MAC or the network header; on failure to is zeroed. */
static uint64_t skb_load_bytes_relative(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4,
					uint64_t r5, struct bpfvm_call_ctx *cc)
{
	struct bpfvm_pkt *pkt = bpfvm__pkt_of_call(cc, r1);
	uint32_t off = (uint32_t)r2, len = (uint32_t)r4;
	void *to = (void *)(uintptr_t)r3;
	const uint8_t *start = NULL;
	if (pkt && off <= 0xffff && (uint32_t)r5 == HDR_START_MAC)
		start = pkt->mac;
	else if (pkt && off <= 0xffff && (uint32_t)r5 == HDR_START_NET)
		start = pkt->network;
	if (!start || (uint64_t)off + len > (uint64_t)(pkt->data_end - start)) {
		memset(to, 0, len);
		return ERR(EFAULT);
	}
	memcpy(to, start + off, len);
	return 0;
}

/* bpf_skb_pull_data(skb, len): the test-run skb is linear, so this only
 * checks that len (0: the whole head) is inside the packet. */
static uint64_t skb_pull_data(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
			      struct bpfvm_call_ctx *cc)
{
	struct bpfvm_pkt *pkt = bpfvm__pkt_of_call(cc, r1);
	if (!pkt)
		return ERR(EINVAL);
	if ((uint32_t)r2 > skb_len(pkt))
		return ERR(ENOMEM);
	packet_changed(pkt, cc);
	return 0;
}

#define F_RECOMPUTE_CSUM 1ull
#define F_INVALIDATE_HASH 2ull

/* bpf_skb_store_bytes(skb, offset, from, len, flags). The skb of a test
 * run has no checksum state (CHECKSUM_NONE) and no hash, so the flags
 * change nothing but must be valid. */
static uint64_t skb_store_bytes(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
				struct bpfvm_call_ctx *cc)
{
	struct bpfvm_pkt *pkt = bpfvm__pkt_of_call(cc, r1);
	uint32_t off = (uint32_t)r2, len = (uint32_t)r4;
	if (!pkt || (r5 & ~(F_RECOMPUTE_CSUM | F_INVALIDATE_HASH)))
		return ERR(EINVAL);
	if (off > 0x7fffffffu || (uint64_t)off + len > skb_len(pkt))
		return ERR(EFAULT);
	memmove(pkt->data + off, (const void *)(uintptr_t)r3, len);
	if (r5 & F_INVALIDATE_HASH)
		pkt->view.skb.hash = 0;
	return 0;
}

#define F_HDR_FIELD_MASK 0xfull
#define F_PSEUDO_HDR (1ull << 4)
#define F_MARK_MANGLED_0 (1ull << 5)
#define F_MARK_ENFORCE (1ull << 6)
#define F_IPV6 (1ull << 7)
#define CSUM_MANGLED_0 0xffff

/* The 16-bit checksum field at offset, or NULL (-EFAULT). */
static uint8_t *csum_field(struct bpfvm_pkt *pkt, uint32_t off)
{
	if (off > 0xffff || (off & 1) || (uint64_t)off + 2 > skb_len(pkt))
		return NULL;
	return pkt->data + off;
}

static uint16_t csum16_add(uint16_t csum, uint16_t addend)
{
	uint16_t res = (uint16_t)(csum + addend);
	return (uint16_t)(res + (res < addend));
}

/* Replace from by to (2 or 4 bytes, or a precomputed diff when size is 0)
 * in the checksum at p. The L3 helper replaces 2 bytes with 16-bit
 * arithmetic (csum_replace2), the L4 one with 32-bit arithmetic
 * (inet_proto_csum_replace2); they differ only in how zero comes out. */
static int64_t csum_replace(uint8_t *p, uint64_t size, uint64_t from, uint64_t to, int l3)
{
	uint32_t sum = load16(p);
	switch (size) {
	case 0:
		if (from)
			return -EINVAL;
		sum = bpfvm__csum_add((uint32_t)to, ~sum);
		break;
	case 2:
		if (l3) {
			uint16_t s16 = csum16_add(csum16_add((uint16_t)~sum, (uint16_t)~(uint16_t)from),
						  (uint16_t)to);
			store16(p, (uint16_t)~s16);
			return 0;
		}
		sum = bpfvm__csum_add(bpfvm__csum_sub(~sum, (uint16_t)from), (uint16_t)to);
		break;
	case 4:
		sum = bpfvm__csum_add(bpfvm__csum_sub(~sum, (uint32_t)from), (uint32_t)to);
		break;
	default:
		return -EINVAL;
	}
	store16(p, bpfvm__csum_fold(sum));
	return 0;
}

/* bpf_l3_csum_replace(skb, offset, from, to, flags). */
static uint64_t l3_csum_replace(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
				struct bpfvm_call_ctx *cc)
{
	struct bpfvm_pkt *pkt = bpfvm__pkt_of_call(cc, r1);
	if (!pkt || (r5 & ~F_HDR_FIELD_MASK))
		return ERR(EINVAL);
	uint8_t *p = csum_field(pkt, (uint32_t)r2);
	if (!p)
		return ERR(EFAULT);
	return (uint64_t)csum_replace(p, r5 & F_HDR_FIELD_MASK, r3, r4, 1);
}

/* bpf_l4_csum_replace(skb, offset, from, to, flags). With CHECKSUM_NONE
 * the pseudo-header flag changes nothing; a zero UDP checksum stays zero
 * with BPF_F_MARK_MANGLED_0 and becomes 0xffff when the result is 0. */
static uint64_t l4_csum_replace(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
				struct bpfvm_call_ctx *cc)
{
	struct bpfvm_pkt *pkt = bpfvm__pkt_of_call(cc, r1);
	const uint64_t valid = F_MARK_MANGLED_0 | F_MARK_ENFORCE | F_PSEUDO_HDR | F_HDR_FIELD_MASK | F_IPV6;
	if (!pkt || (r5 & ~valid))
		return ERR(EINVAL);
	uint8_t *p = csum_field(pkt, (uint32_t)r2);
	if (!p)
		return ERR(EFAULT);
	int mangled0 = (r5 & F_MARK_MANGLED_0) != 0;
	if (mangled0 && !(r5 & F_MARK_ENFORCE) && load16(p) == 0)
		return 0;
	int64_t rc = csum_replace(p, r5 & F_HDR_FIELD_MASK, r3, r4, 0);
	if (rc)
		return (uint64_t)rc;
	if (mangled0 && load16(p) == 0)
		store16(p, CSUM_MANGLED_0);
	return 0;
}

static int eth_type_vlan(uint16_t proto_be)
{
	return proto_be == be16(ETH_P_8021Q_) || proto_be == be16(ETH_P_8021AD_);
}

/* The protocol of an Ethernet payload whose type/length field is type_be,
 * as vlan_set_encap_proto / eth_type_trans decide it. */
static uint16_t encap_proto(uint16_t type_be, const uint8_t *payload, size_t avail)
{
	if (from_be16(type_be) >= ETH_P_802_3_MIN_)
		return type_be;
	if (avail >= 2 && load16(payload) == 0xFFFF)
		return be16(ETH_P_802_3_);
	return be16(ETH_P_802_2_);
}

/* __skb_vlan_pop: remove the tag after the MAC addresses; the protocol
 * becomes the encapsulated one. */
static int64_t vlan_pop_from_data(struct bpfvm_pkt *pkt, uint16_t *tci)
{
	if (skb_len(pkt) < ETH_HLEN_ + VLAN_HLEN_)
		return -ENOMEM;
	uint8_t *vh = pkt->data + ETH_HLEN_; /* TCI, then the inner type */
	*tci = from_be16(load16(vh));
	uint16_t inner = load16(vh + 2);
	memmove(pkt->data + VLAN_HLEN_, pkt->data, 2 * ETH_ALEN_);
	pkt->data += VLAN_HLEN_;
	pkt->mac = pkt->data;
	pkt->protocol = encap_proto(inner, vh + 4, (size_t)(pkt->data_end - (vh + 4)));
	if (pkt->network < pkt->data + ETH_HLEN_)
		pkt->network = pkt->data + ETH_HLEN_;
	return 0;
}

int bpfvm__pkt_make_headroom(struct bpfvm_pkt *pkt, size_t need)
{
	size_t room = (size_t)(pkt->data - pkt->frame);
	if (room >= need)
		return 0;
	/* pskb_expand_head grows the head by ALIGN(delta, NET_SKB_PAD); the
	 * frame start stays where the kernel's skb->head is. */
	size_t shift = (need - room + PKT_NET_SKB_PAD - 1) & ~(size_t)(PKT_NET_SKB_PAD - 1);
	if ((size_t)(pkt->frame + PKT_MAP_SIZE - pkt->data_end) < shift)
		return -ENOMEM;
	memmove(pkt->data + shift, pkt->data, (size_t)(pkt->data_end - pkt->data));
	memset(pkt->data, 0, shift);
	pkt->data += shift;
	pkt->data_end += shift;
	pkt->data_meta = pkt->data;
	pkt->mac += shift;
	pkt->network += shift;
	/* Header offsets move with the head, the unset transport header
	 * (offset 0xffff) too: it wraps to shift - 1 and counts as set from
	 * then on, as in the kernel's skb_headers_offset_update. */
	pkt->transport = pkt->transport ? pkt->transport + shift : pkt->frame + shift - 1;
	return 0;
}

/* __vlan_insert_tag: put a tag between the MAC addresses and the type. */
static int64_t vlan_insert(struct bpfvm_pkt *pkt, uint16_t proto_be, uint16_t tci)
{
	if (bpfvm__pkt_make_headroom(pkt, VLAN_HLEN_))
		return -ENOMEM;
	pkt->data -= VLAN_HLEN_;
	memmove(pkt->data, pkt->data + VLAN_HLEN_, 2 * ETH_ALEN_);
	store16(pkt->data + 2 * ETH_ALEN_, proto_be);
	store16(pkt->data + 2 * ETH_ALEN_ + 2, be16(tci));
	pkt->mac = pkt->data;
	return 0;
}

/* bpf_skb_vlan_push(skb, vlan_proto, vlan_tci): the new tag becomes the
 * offloaded (hw-accel) tag; an existing offloaded tag moves into the
 * packet first, as skb_vlan_push does. */
static uint64_t skb_vlan_push(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
			      struct bpfvm_call_ctx *cc)
{
	struct bpfvm_pkt *pkt = bpfvm__pkt_of_call(cc, r1);
	if (!pkt)
		return ERR(EINVAL);
	uint16_t proto = (uint16_t)r2;
	if (!eth_type_vlan(proto))
		proto = be16(ETH_P_8021Q_);
	if (pkt->vlan_present) {
		int64_t rc = vlan_insert(pkt, pkt->vlan_proto, pkt->vlan_tci);
		if (rc)
			return (uint64_t)rc;
		pkt->protocol = pkt->vlan_proto;
		pkt->network -= VLAN_HLEN_;
	}
	pkt->vlan_proto = proto;
	pkt->vlan_tci = (uint16_t)r3;
	pkt->vlan_present = 1;
	packet_changed(pkt, cc);
	return 0;
}

/* bpf_skb_vlan_pop(skb): drop the offloaded tag (or the outer tag of the
 * packet), then move a next tag in the packet into the offload slot. */
static uint64_t skb_vlan_pop(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
			     struct bpfvm_call_ctx *cc)
{
	struct bpfvm_pkt *pkt = bpfvm__pkt_of_call(cc, r1);
	if (!pkt)
		return ERR(EINVAL);
	uint16_t tci;
	int64_t rc = 0;
	if (pkt->vlan_present) {
		pkt->vlan_present = 0;
		pkt->vlan_tci = 0;
		pkt->vlan_proto = 0;
	} else if (!eth_type_vlan(pkt->protocol)) {
		return 0;
	} else {
		rc = vlan_pop_from_data(pkt, &tci);
	}
	if (!rc && eth_type_vlan(pkt->protocol)) {
		uint16_t proto = pkt->protocol;
		rc = vlan_pop_from_data(pkt, &tci);
		if (!rc) {
			pkt->vlan_proto = proto;
			pkt->vlan_tci = tci;
			pkt->vlan_present = 1;
		}
	}
	packet_changed(pkt, cc);
	return (uint64_t)rc;
}

static int skb_is_gso(const struct bpfvm_pkt *pkt)
{
	return pkt->view.skb.gso_size != 0;
}

/* bpf_skb_change_head(skb, head_room, flags): push head_room zero bytes
 * in front, which become the new MAC header; protocol and network header
 * stay. */
static uint64_t skb_change_head(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
				struct bpfvm_call_ctx *cc)
{
	struct bpfvm_pkt *pkt = bpfvm__pkt_of_call(cc, r1);
	uint32_t room = (uint32_t)r2, len = pkt ? skb_len(pkt) : 0, new_len = len + room;
	if (!pkt || r3 || (!skb_is_gso(pkt) && new_len > PKT_SKB_MAX_LEN) || new_len < len)
		return ERR(EINVAL);
	if (bpfvm__pkt_make_headroom(pkt, room))
		return ERR(ENOMEM);
	pkt->data -= room;
	memset(pkt->data, 0, room);
	pkt->mac = pkt->data;
	packet_changed(pkt, cc);
	return 0;
}

/* bpf_skb_change_tail(skb, new_len, flags): trim, or grow with zeros; never
 * below the network header. A GSO packet stops being one. */
static uint64_t skb_change_tail(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
				struct bpfvm_call_ctx *cc)
{
	struct bpfvm_pkt *pkt = bpfvm__pkt_of_call(cc, r1);
	if (!pkt)
		return ERR(EINVAL);
	uint32_t new_len = (uint32_t)r2, len = skb_len(pkt);
	/* __bpf_skb_min_len: the transport header once it is set. Measured
	 * on Linux 6.18: a transport header at or before skb->data (as the
	 * wrapped unset one after a head reallocation may be) does not
	 * count; the network header's offset does. */
	uint8_t *hdr = pkt->transport && pkt->transport > pkt->data ? pkt->transport : pkt->network;
	int64_t hdr_off = hdr - pkt->data;
	uint32_t min_len = hdr_off > 0 ? (uint32_t)hdr_off : 0;
	if (r3 || new_len > PKT_SKB_MAX_LEN || new_len < min_len)
		return ERR(EINVAL);
	if (pkt->encapsulation)
		return ERR(ENOTSUPP_);
	if (new_len > len) {
		if ((size_t)(pkt->frame + PKT_MAP_SIZE - pkt->data) < new_len)
			return ERR(ENOMEM);
		memset(pkt->data_end, 0, new_len - len);
	}
	pkt->data_end = pkt->data + new_len;
	if (skb_is_gso(pkt)) {
		pkt->view.skb.gso_size = 0;
		pkt->view.skb.gso_segs = 0;
	}
	packet_changed(pkt, cc);
	return 0;
}

#define IPV4_HLEN_ 20
#define IPV6_HLEN_ 40

/* bpf_skb_change_proto(skb, proto, flags): IPv4 <-> IPv6 by making room
 * for the bigger header (20 zero bytes after the MAC header) or dropping
 * the difference; the program writes the new header itself. */
static uint64_t skb_change_proto(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
				 struct bpfvm_call_ctx *cc)
{
	struct bpfvm_pkt *pkt = bpfvm__pkt_of_call(cc, r1);
	if (!pkt || r3)
		return ERR(EINVAL);
	uint16_t to = (uint16_t)r2;
	const uint32_t diff = IPV6_HLEN_ - IPV4_HLEN_;
	size_t off = (size_t)(pkt->network - pkt->mac); /* MAC header length */
	if (pkt->protocol == be16(ETH_P_IP_) && to == be16(ETH_P_IPV6_)) {
		if (bpfvm__pkt_make_headroom(pkt, diff))
			return ERR(ENOMEM);
		pkt->data -= diff;
		memmove(pkt->data, pkt->data + diff, off);
		memset(pkt->data + off, 0, diff);
		if (pkt->transport == pkt->network)
			pkt->transport -= diff;
		pkt->mac -= diff;
		pkt->network -= diff;
	} else if (pkt->protocol == be16(ETH_P_IPV6_) && to == be16(ETH_P_IP_)) {
		if (skb_len(pkt) < off + diff)
			return ERR(ENOMEM);
		memmove(pkt->data + diff, pkt->data, off);
		pkt->data += diff;
		if (pkt->transport == pkt->network)
			pkt->transport += diff;
		pkt->mac += diff;
		pkt->network += diff;
	} else {
		return ERR(ENOTSUPP_);
	}
	pkt->protocol = to;
	pkt->view.skb.hash = 0;
	packet_changed(pkt, cc);
	return 0;
}

/* The protocol behind any VLAN tags in the packet (vlan_get_protocol). */
static uint16_t inner_protocol(const struct bpfvm_pkt *pkt)
{
	uint16_t proto = pkt->protocol;
	const uint8_t *p = pkt->mac + ETH_HLEN_;
	while (eth_type_vlan(proto) && p + VLAN_HLEN_ <= pkt->data_end) {
		proto = load16(p + 2);
		p += VLAN_HLEN_;
	}
	return proto;
}

/* bpf_skb_ecn_set_ce(skb): mark an ECN-capable IPv4/IPv6 packet as
 * congestion experienced (INET_ECN_set_ce), at the network header. */
static uint64_t skb_ecn_set_ce(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
			       struct bpfvm_call_ctx *cc)
{
	struct bpfvm_pkt *pkt = bpfvm__pkt_of_call(cc, r1);
	if (!pkt)
		return 0;
	uint16_t proto = pkt->vlan_present ? pkt->protocol : inner_protocol(pkt);
	uint8_t *ip = pkt->network;
	if (proto == be16(ETH_P_IP_) && ip + IPV4_HLEN_ <= pkt->data_end) {
		uint32_t ecn = (uint32_t)(ip[1] + 1) & 3;
		if (!(ecn & 2))
			return !ecn;
		uint16_t add = (uint16_t)(be16(0xFFFB) + be16((uint16_t)ecn));
		store16(ip + 10, csum16_add(load16(ip + 10), add));
		ip[1] |= 3;
		return 1;
	}
	if (proto == be16(ETH_P_IPV6_) && ip + IPV6_HLEN_ <= pkt->data_end) {
		uint8_t dsfield = (uint8_t)((ip[0] << 4) | (ip[1] >> 4));
		if (!(dsfield & 3))
			return 0;
		ip[1] |= 3 << 4;
		return 1;
	}
	return 0;
}

int bpfvm__skb_helpers_register(struct bpfvm_vm *vm)
{
	struct bpfvm_helper helpers[] = {
		BPFVM_HELPER(BPF_FUNC_skb_load_bytes, "skb_load_bytes", skb_load_bytes,
			     BPFVM_RET_INTEGER, BPFVM_ARG_PTR_TO_CTX, BPFVM_ARG_ANYTHING,
			     BPFVM_ARG_PTR_TO_UNINIT_MEM, BPFVM_ARG_CONST_SIZE, 0),
		BPFVM_HELPER(BPF_FUNC_skb_load_bytes_relative, "skb_load_bytes_relative",
			     skb_load_bytes_relative, BPFVM_RET_INTEGER, BPFVM_ARG_PTR_TO_CTX,
			     BPFVM_ARG_ANYTHING, BPFVM_ARG_PTR_TO_UNINIT_MEM, BPFVM_ARG_CONST_SIZE,
			     BPFVM_ARG_ANYTHING),
		BPFVM_HELPER(BPF_FUNC_skb_pull_data, "skb_pull_data", skb_pull_data,
			     BPFVM_RET_INTEGER, BPFVM_ARG_PTR_TO_CTX, BPFVM_ARG_ANYTHING, 0, 0, 0),
		BPFVM_HELPER(BPF_FUNC_skb_store_bytes, "skb_store_bytes", skb_store_bytes,
			     BPFVM_RET_INTEGER, BPFVM_ARG_PTR_TO_CTX, BPFVM_ARG_ANYTHING,
			     BPFVM_ARG_PTR_TO_MEM, BPFVM_ARG_CONST_SIZE, BPFVM_ARG_ANYTHING),
		BPFVM_HELPER(BPF_FUNC_l3_csum_replace, "l3_csum_replace", l3_csum_replace,
			     BPFVM_RET_INTEGER, BPFVM_ARG_PTR_TO_CTX, BPFVM_ARG_ANYTHING,
			     BPFVM_ARG_ANYTHING, BPFVM_ARG_ANYTHING, BPFVM_ARG_ANYTHING),
		BPFVM_HELPER(BPF_FUNC_l4_csum_replace, "l4_csum_replace", l4_csum_replace,
			     BPFVM_RET_INTEGER, BPFVM_ARG_PTR_TO_CTX, BPFVM_ARG_ANYTHING,
			     BPFVM_ARG_ANYTHING, BPFVM_ARG_ANYTHING, BPFVM_ARG_ANYTHING),
		BPFVM_HELPER(BPF_FUNC_skb_vlan_push, "skb_vlan_push", skb_vlan_push,
			     BPFVM_RET_INTEGER, BPFVM_ARG_PTR_TO_CTX, BPFVM_ARG_ANYTHING,
			     BPFVM_ARG_ANYTHING, 0, 0),
		BPFVM_HELPER(BPF_FUNC_skb_vlan_pop, "skb_vlan_pop", skb_vlan_pop,
			     BPFVM_RET_INTEGER, BPFVM_ARG_PTR_TO_CTX, 0, 0, 0, 0),
		BPFVM_HELPER(BPF_FUNC_skb_change_proto, "skb_change_proto", skb_change_proto,
			     BPFVM_RET_INTEGER, BPFVM_ARG_PTR_TO_CTX, BPFVM_ARG_ANYTHING,
			     BPFVM_ARG_ANYTHING, 0, 0),
		BPFVM_HELPER(BPF_FUNC_skb_ecn_set_ce, "skb_ecn_set_ce", skb_ecn_set_ce,
			     BPFVM_RET_INTEGER, BPFVM_ARG_PTR_TO_CTX, 0, 0, 0, 0),
		BPFVM_HELPER(BPF_FUNC_skb_change_head, "skb_change_head", skb_change_head,
			     BPFVM_RET_INTEGER, BPFVM_ARG_PTR_TO_CTX, BPFVM_ARG_ANYTHING,
			     BPFVM_ARG_ANYTHING, 0, 0),
		BPFVM_HELPER(BPF_FUNC_skb_change_tail, "skb_change_tail", skb_change_tail,
			     BPFVM_RET_INTEGER, BPFVM_ARG_PTR_TO_CTX, BPFVM_ARG_ANYTHING,
			     BPFVM_ARG_ANYTHING, 0, 0),
		BPFVM_HELPER(BPF_FUNC_skb_adjust_room, "skb_adjust_room", bpfvm__skb_adjust_room,
			     BPFVM_RET_INTEGER, BPFVM_ARG_PTR_TO_CTX, BPFVM_ARG_ANYTHING,
			     BPFVM_ARG_ANYTHING, BPFVM_ARG_ANYTHING, 0),
	};
	/* Who may call what, and which helpers move packet data (the
	 * kernel's bpf_helper_changes_pkt_data). */
	helpers[0].prog_types = SKB_TYPES; /* load_bytes */
	helpers[1].prog_types = SKB_TYPES; /* load_bytes_relative */
	for (size_t i = 2; i < sizeof(helpers) / sizeof(helpers[0]); i++) {
		helpers[i].prog_types = TC_ONLY;
		/* ECN marking rewrites two bytes in place; the rest may move
		 * or resize the packet. */
		helpers[i].changes_pkt_data = helpers[i].id != BPF_FUNC_skb_ecn_set_ce;
	}
	for (size_t i = 0; i < sizeof(helpers) / sizeof(helpers[0]); i++) {
		int rc = bpfvm_vm_register_helper(vm, &helpers[i]);
		if (rc)
			return rc;
	}
	return 0;
}
