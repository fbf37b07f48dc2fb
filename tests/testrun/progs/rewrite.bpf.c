// tc: NAT-like rewrite of IPv4 destination address and TCP/UDP destination
// port, fixing the checksums with bpf_l3_csum_replace / bpf_l4_csum_replace.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define IP_OFF ETH_HLEN
#define IP_CSUM_OFF (IP_OFF + offsetof(struct iphdr, check))
#define IP_DST_OFF (IP_OFF + offsetof(struct iphdr, daddr))

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);   /* original destination address */
	__type(value, __u64); /* packets rewritten */
} seen SEC(".maps");

SEC("tc")
int tc_rewrite(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + ETH_HLEN;
	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5)
		return TC_ACT_OK;
	__u32 old_dst = ip->daddr, new_dst = bpf_htonl(0xc0a80001 + (bpf_ntohl(old_dst) & 0xff));
	__u8 proto = ip->protocol;
	__u64 one = 1, *n = bpf_map_lookup_elem(&seen, &old_dst);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&seen, &old_dst, &one, BPF_ANY);
	int l4_csum_off = 0, l4_port_off = 0;
	if (proto == IPPROTO_TCP) {
		l4_csum_off = IP_OFF + 20 + offsetof(struct tcphdr, check);
		l4_port_off = IP_OFF + 20 + offsetof(struct tcphdr, dest);
	} else if (proto == IPPROTO_UDP) {
		l4_csum_off = IP_OFF + 20 + offsetof(struct udphdr, check);
		l4_port_off = IP_OFF + 20 + offsetof(struct udphdr, dest);
	}
	if (l4_csum_off) {
		__u32 flags = BPF_F_PSEUDO_HDR | sizeof(new_dst);
		if (proto == IPPROTO_UDP)
			flags |= BPF_F_MARK_MANGLED_0;
		if (bpf_l4_csum_replace(skb, l4_csum_off, old_dst, new_dst, flags))
			return TC_ACT_SHOT;
	}
	if (bpf_l3_csum_replace(skb, IP_CSUM_OFF, old_dst, new_dst, sizeof(new_dst)))
		return TC_ACT_SHOT;
	if (bpf_skb_store_bytes(skb, IP_DST_OFF, &new_dst, sizeof(new_dst), 0))
		return TC_ACT_SHOT;
	if (l4_port_off) {
		__be16 old_port, new_port = bpf_htons(8080);
		if (bpf_skb_load_bytes(skb, l4_port_off, &old_port, 2))
			return TC_ACT_SHOT;
		__u32 flags = proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 | 2 : 2;
		if (bpf_l4_csum_replace(skb, l4_csum_off, old_port, new_port, flags))
			return TC_ACT_SHOT;
		if (bpf_skb_store_bytes(skb, l4_port_off, &new_port, 2, 0))
			return TC_ACT_SHOT;
	}
	skb->mark = 0x5a;
	return TC_ACT_PIPE;
}

char _license[] SEC("license") = "GPL";
