// tc: bpf_skb_adjust_room in its modes and flag combinations, chosen by
// the last byte of the source MAC. The retval packs both helper results,
// the resulting protocol and length; data_out shows the moved headers.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#ifndef BPF_F_ADJ_ROOM_DECAP_L3_IPV4
#define BPF_F_ADJ_ROOM_DECAP_L3_IPV4 (1ULL << 7)
#define BPF_F_ADJ_ROOM_DECAP_L3_IPV6 (1ULL << 8)
#endif

#define MAC BPF_ADJ_ROOM_MAC
#define NET BPF_ADJ_ROOM_NET
#define V4 BPF_F_ADJ_ROOM_ENCAP_L3_IPV4
#define V6 BPF_F_ADJ_ROOM_ENCAP_L3_IPV6
#define GRE BPF_F_ADJ_ROOM_ENCAP_L4_GRE
#define UDP BPF_F_ADJ_ROOM_ENCAP_L4_UDP

static __always_inline __u32 pack(struct __sk_buff *skb, long r1, long r2)
{
	__u32 v = (__u32)(-r1) & 0x3ff;
	v |= ((__u32)(-r2) & 0x3ff) << 10;
	v |= (__u32)(skb->protocol == bpf_htons(ETH_P_IPV6)) << 20;
	v |= (__u32)(skb->protocol == bpf_htons(ETH_P_IP)) << 21;
	v |= (skb->len & 0x3ff) << 22;
	return v;
}

/* Write a marker after the MAC header through direct packet access: the
 * data pointers must follow the moved packet. */
static __always_inline void mark(struct __sk_buff *skb, __u8 byte)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	__u8 *p = data + ETH_HLEN;
	if ((void *)(p + 1) <= end)
		*p = byte;
}

SEC("tc")
int tc_room(struct __sk_buff *skb)
{
	__u8 sel;
	long r1 = 0, r2 = 0;
	if (bpf_skb_load_bytes(skb, 11, &sel, 1))
		return 1;
	switch (sel % 20) {
	case 0:
		r1 = bpf_skb_adjust_room(skb, 20, NET, 0);
		break;
	case 1:
		r1 = bpf_skb_adjust_room(skb, 20, MAC, V4);
		mark(skb, 0x45);
		break;
	case 2:
		r1 = bpf_skb_adjust_room(skb, 40, MAC, V6);
		mark(skb, 0x60);
		break;
	case 3:
		r1 = bpf_skb_adjust_room(skb, 28, MAC, V4 | UDP);
		r2 = bpf_skb_adjust_room(skb, 28, MAC, V4 | UDP);
		break;
	case 4:
		r1 = bpf_skb_adjust_room(skb, 38, MAC,
					 V4 | GRE | BPF_F_ADJ_ROOM_ENCAP_L2(14) |
					 BPF_F_ADJ_ROOM_ENCAP_L2_ETH);
		r2 = bpf_skb_change_tail(skb, skb->len + 4, 0);
		break;
	case 5:
		r1 = bpf_skb_adjust_room(skb, 20, MAC, V4 | GRE | UDP);
		r2 = bpf_skb_adjust_room(skb, 20, MAC, V4 | V6);
		break;
	case 6:
		r1 = bpf_skb_adjust_room(skb, 20, MAC, V4 | BPF_F_ADJ_ROOM_ENCAP_L2_ETH);
		r2 = bpf_skb_adjust_room(skb, 20, MAC, V6 | BPF_F_ADJ_ROOM_ENCAP_L2(30));
		break;
	case 7:
		r1 = bpf_skb_adjust_room(skb, -8, NET, 0);
		break;
	case 8:
		r1 = bpf_skb_adjust_room(skb, -20, MAC, BPF_F_ADJ_ROOM_DECAP_L3_IPV4);
		break;
	case 9:
		r1 = bpf_skb_adjust_room(skb, -20, MAC, BPF_F_ADJ_ROOM_DECAP_L3_IPV6);
		r2 = bpf_skb_adjust_room(skb, -40, MAC, BPF_F_ADJ_ROOM_DECAP_L3_IPV4);
		break;
	case 10:
		r1 = bpf_skb_adjust_room(skb, 8, 2, 0);
		r2 = bpf_skb_adjust_room(skb, 0x1000, MAC, 0);
		break;
	case 11:
		r1 = bpf_skb_adjust_room(skb, 8, MAC, 1ULL << 9);
		r2 = bpf_skb_adjust_room(skb, 8, MAC, BPF_F_ADJ_ROOM_DECAP_L3_IPV4);
		break;
	case 12:
		r1 = bpf_skb_adjust_room(skb, -8, MAC,
					 BPF_F_ADJ_ROOM_DECAP_L3_IPV4 | BPF_F_ADJ_ROOM_DECAP_L3_IPV6);
		r2 = bpf_skb_adjust_room(skb, -8, MAC, V4);
		break;
	case 13:
		r1 = bpf_skb_adjust_room(skb, -2000, NET, 0);
		r2 = bpf_skb_adjust_room(skb, -0x1000, NET, 0);
		break;
	case 14:
		r1 = bpf_skb_adjust_room(skb, 12, NET, BPF_F_ADJ_ROOM_FIXED_GSO |
					 BPF_F_ADJ_ROOM_NO_CSUM_RESET);
		r2 = bpf_skb_adjust_room(skb, -12, NET, BPF_F_ADJ_ROOM_NO_CSUM_RESET);
		break;
	case 15:
		r1 = bpf_skb_adjust_room(skb, 40, MAC, V6 | UDP);
		r2 = bpf_skb_adjust_room(skb, -40, MAC, 0);
		mark(skb, 0x99);
		break;
	case 16:
		r1 = bpf_skb_adjust_room(skb, 0, NET, 0);
		r2 = bpf_skb_adjust_room(skb, 0x800, MAC, 0);
		break;
	case 17:
		r1 = bpf_skb_adjust_room(skb, -1, NET, 0);
		r2 = bpf_skb_adjust_room(skb, 6, NET, V4 | GRE | BPF_F_ADJ_ROOM_ENCAP_L2(6));
		break;
	case 18:
		r1 = bpf_skb_vlan_push(skb, bpf_htons(ETH_P_8021Q), 7);
		r2 = bpf_skb_adjust_room(skb, 4, MAC, 0);
		break;
	default:
		r1 = bpf_skb_change_head(skb, 4, 0);
		r2 = bpf_skb_adjust_room(skb, -4, MAC, 0);
		break;
	}
	return pack(skb, r1, r2);
}

char _license[] SEC("license") = "GPL";
