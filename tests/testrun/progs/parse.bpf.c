// XDP: parse Ethernet / up to two VLAN tags / IPv4 / IPv6 / TCP / UDP /
// ICMP / ICMPv6, count packets per protocol, drop some, bounce ICMP echo
// requests (XDP_TX with MACs swapped).
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

enum { C_ETH, C_VLAN, C_IPV4, C_IPV6, C_TCP, C_UDP, C_ICMP, C_ICMP6, C_OTHER, C_BYTES, C_DROP, C_MAX };

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, C_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

struct icmp_hdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__u32 rest;
};

struct vlan_hdr {
	__be16 tci;
	__be16 proto;
};

static __always_inline void count(__u32 k, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &k);
	if (v)
		__sync_fetch_and_add(v, n);
}

SEC("xdp")
int xdp_parse(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > end)
		return XDP_ABORTED;
	count(C_ETH, 1);
	count(C_BYTES, end - data);
	__u16 proto = eth->h_proto;
	void *l3 = eth + 1;
#pragma unroll
	for (int i = 0; i < 2; i++) {
		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		struct vlan_hdr *vh = l3;
		if ((void *)(vh + 1) > end)
			return XDP_DROP;
		count(C_VLAN, 1);
		proto = vh->proto;
		l3 = vh + 1;
	}
	__u8 l4proto;
	void *l4;
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = l3;
		if ((void *)(ip + 1) > end)
			return XDP_DROP;
		if (ip->ihl < 5)
			return XDP_DROP;
		count(C_IPV4, 1);
		l4proto = ip->protocol;
		l4 = (void *)ip + ip->ihl * 4;
		if (ip->ttl <= 1) {
			count(C_DROP, 1);
			return XDP_DROP;
		}
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = l3;
		if ((void *)(ip6 + 1) > end)
			return XDP_DROP;
		count(C_IPV6, 1);
		l4proto = ip6->nexthdr;
		l4 = ip6 + 1;
	} else {
		count(C_OTHER, 1);
		return XDP_PASS;
	}
	if (l4proto == IPPROTO_TCP) {
		struct tcphdr *tcp = l4;
		if ((void *)(tcp + 1) > end)
			return XDP_DROP;
		count(C_TCP, 1);
		if (tcp->syn && !tcp->ack && tcp->dest == bpf_htons(23)) {
			count(C_DROP, 1);
			return XDP_DROP;
		}
	} else if (l4proto == IPPROTO_UDP) {
		struct udphdr *udp = l4;
		if ((void *)(udp + 1) > end)
			return XDP_DROP;
		count(C_UDP, 1);
		if (udp->dest == bpf_htons(9)) {
			count(C_DROP, 1);
			return XDP_DROP;
		}
	} else if (l4proto == IPPROTO_ICMP || l4proto == 58) {
		struct icmp_hdr *icmp = l4;
		if ((void *)(icmp + 1) > end)
			return XDP_DROP;
		count(l4proto == IPPROTO_ICMP ? C_ICMP : C_ICMP6, 1);
		if (icmp->type == (l4proto == IPPROTO_ICMP ? 8 : 128)) {
			__u8 tmp[ETH_ALEN];
			__builtin_memcpy(tmp, eth->h_dest, ETH_ALEN);
			__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
			__builtin_memcpy(eth->h_source, tmp, ETH_ALEN);
			return XDP_TX;
		}
	} else {
		count(C_OTHER, 1);
	}
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
