/* Packets of test runs: the frame, the kernel's xdp_buff / sk_buff state
 * and the program's view of it (struct xdp_md / struct __sk_buff).
 *
 * Design (docs/progtypes.md): the frame lives in the low 2 GiB of the
 * address space, so the 32-bit data / data_end / data_meta fields of the
 * uapi structs hold the real addresses and a program reads them with a
 * plain 32-bit load, in every engine and mode, without rewriting.
 * Shared by src/packet (helpers) and src/testrun (context building).
 */
#ifndef BPFVM_PACKET_PACKET_H
#define BPFVM_PACKET_PACKET_H

#include <linux/bpf.h>
#include <stddef.h>
#include <stdint.h>

#include "bpfvm/testrun.h"
#include "core/internal.h"

/* Geometry of the kernel's test-run buffers (net/bpf/test_run.c). */
#define PKT_FRAME_SIZE 4096    /* one page per frame */
/* Bytes mapped per frame: the XDP frame is the first page; an sk_buff
 * may grow (bpf_skb_change_head/tail) up to PKT_SKB_MAX_LEN and move. */
#define PKT_MAP_SIZE (9 * 4096)
#define PKT_SKB_MAX_LEN 16064  /* BPF_SKB_MAX_LEN (SKB_MAX_ALLOC on x86-64) */
#define PKT_SHINFO_SIZE 320    /* SKB_DATA_ALIGN(sizeof(struct skb_shared_info)) */
#define PKT_XDP_HEADROOM 256   /* XDP_PACKET_HEADROOM */
#define PKT_XDP_FRAME_HDR 40   /* sizeof(struct xdp_frame), kept at the start */
#define PKT_SKB_HEADROOM 64    /* NET_SKB_PAD + NET_IP_ALIGN (0 on x86) */
#define PKT_NET_SKB_PAD 64     /* skb_cow grows the head in these steps */
#define PKT_XDP_MAX_LINEAR (PKT_FRAME_SIZE - PKT_XDP_HEADROOM - PKT_SHINFO_SIZE)
#define PKT_SKB_MAX_LINEAR (PKT_FRAME_SIZE - PKT_SKB_HEADROOM - PKT_SHINFO_SIZE)
#define PKT_XDP_MAX_META (PKT_XDP_HEADROOM - PKT_XDP_FRAME_HDR)
#define PKT_MAX_FRAGS 17       /* MAX_SKB_FRAGS: XDP fragments of one page each */

#define ETH_HLEN_ 14
#define ETH_ALEN_ 6
#define VLAN_HLEN_ 4
#define ETH_P_IP_ 0x0800
#define ETH_P_IPV6_ 0x86DD
#define ETH_P_8021Q_ 0x8100
#define ETH_P_8021AD_ 0x88A8
#define ETH_P_802_3_MIN_ 0x0600
#define ETH_P_802_3_ 0x0001
#define ETH_P_802_2_ 0x0004

/* struct sk_buff pkt_type values. */
#define PACKET_HOST_ 0
#define PACKET_MULTICAST_ 2
#define PACKET_OTHERHOST_ 3

/* The state of one packet: the kernel's xdp_buff or sk_buff. */
struct bpfvm_pkt {
	/* What the program sees through r1; the first member, so that
	 * run->ctx points at it. */
	union {
		struct xdp_md xdp;
		struct __sk_buff skb;
	} view;
	enum bpfvm_prog_type type;
	uint8_t *frame;     /* PKT_MAP_SIZE bytes below 2 GiB */
	/* xdp_buff: hard_start = frame. sk_buff: head = frame. */
	uint8_t *data_meta; /* XDP only; == data without metadata */
	/* XDP: the lowest data_meta since the headroom was last cleared. The
	 * kernel's headroom is zero; a reused frame needs clearing only as
	 * far down as a previous run could have written (metadata,
	 * bpf_xdp_adjust_head/meta). NULL: the frame is fresh. */
	uint8_t *xdp_low;
	uint8_t *data;      /* xdp->data / skb->data */
	uint8_t *data_end;  /* xdp->data_end / skb->data + skb->len */
	uint8_t *mac;       /* skb: mac header */
	uint8_t *network;   /* skb: network header */
	uint8_t *transport; /* skb: transport header, NULL while unset */
	uint16_t protocol;  /* skb->protocol, network byte order as stored */
	uint16_t vlan_proto;/* skb->vlan_proto (network order) */
	uint16_t vlan_tci;  /* skb->vlan_tci (host order) */
	uint8_t vlan_present;
	uint8_t is_l2;      /* tc: skb->data is the Ethernet header */
	uint8_t encapsulation; /* skb->encapsulation (set by bpf_skb_adjust_room) */
	uint32_t gso_type;  /* skb_shinfo(skb)->gso_type; a test run starts with 0 */
	uint32_t ingress_ifindex; /* XDP: rxq->dev->ifindex */
	uint32_t rx_queue_index;
	uint32_t ifindex;   /* skb->dev->ifindex */
	const struct bpfvm_fib *fib; /* the host's FIB for bpf_fib_lookup, or NULL */
	/* XDP multi-buffer: what does not fit the frame (or lies past
	 * ctx_in->data_end) is in fragments of up to a page, fragment i at
	 * frags + i * PKT_FRAME_SIZE; programs reach them only by helpers. */
	uint8_t *frags;     /* PKT_MAX_FRAGS pages, malloc'ed on first use */
	uint32_t frag_size[PKT_MAX_FRAGS];
	uint32_t nr_frags;
	uint32_t frags_size;/* sum of frag_size */
};

/* ---- frames (src/packet/frame.c) --------------------------------------- */

/* A zeroed frame of PKT_MAP_SIZE bytes whose addresses fit in 31 bits,
 * or NULL (errno set). */
uint8_t *bpfvm__pkt_frame_alloc(void);
void bpfvm__pkt_frame_free(uint8_t *frame);

/* Write the packet state into the program's view (data pointers, len,
 * protocol, vlan fields) after it changed. */
void bpfvm__pkt_sync_view(struct bpfvm_pkt *pkt);
/* Make the run see the current packet: LD_ABS bounds and, in checked
 * mode, the region [data_meta, data_end). */
void bpfvm__pkt_sync_run(struct bpfvm_pkt *pkt, struct bpfvm_run *run,
			 struct bpfvm_call_ctx *cc);

/* The packet state of the run that called a helper, if the helper's r1 is
 * that run's context; else NULL (the program was run outside a test run). */
struct bpfvm_pkt *bpfvm__pkt_of_call(struct bpfvm_call_ctx *cc, uint64_t r1);

/* skb_cow: make at least need bytes of headroom in front of skb->data,
 * moving the packet (and its header pointers) further into the frame
 * when there are fewer. 0 or -ENOMEM. */
int bpfvm__pkt_make_headroom(struct bpfvm_pkt *pkt, size_t need);

/* ---- checksums (src/packet/csum.c), the kernel's ones'-complement math -- */

uint32_t bpfvm__csum_add(uint32_t a, uint32_t b);
uint32_t bpfvm__csum_sub(uint32_t a, uint32_t b);
uint16_t bpfvm__csum_fold(uint32_t sum);
/* Sum of len bytes (len any), added to sum, 32 bits. */
uint32_t bpfvm__csum_partial(const void *buf, size_t len, uint32_t sum);

/* ---- helpers (src/packet/helpers_*.c) ------------------------------------ */

int bpfvm__xdp_helpers_register(struct bpfvm_vm *vm);
int bpfvm__skb_helpers_register(struct bpfvm_vm *vm);
/* bpf_fib_lookup on the run's FIB (src/packet/fib.c), XDP and tc. */
uint64_t bpfvm__fib_lookup(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
			   struct bpfvm_call_ctx *cc);
/* bpf_skb_adjust_room (src/packet/skb_room.c). */
uint64_t bpfvm__skb_adjust_room(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
				struct bpfvm_call_ctx *cc);

#endif
