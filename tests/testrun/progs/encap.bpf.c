// XDP: encapsulate IPv4 packets in IPIP with bpf_xdp_adjust_head; the
// outer header checksum comes from bpf_csum_diff. Non-IPv4 passes.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

SEC("xdp")
int xdp_encap(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *inner = data + ETH_HLEN;
	if ((void *)(inner + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	__u16 inner_len = bpf_ntohs(inner->tot_len);
	struct ethhdr saved = *eth;
	if (bpf_xdp_adjust_head(ctx, -(int)sizeof(struct iphdr)))
		return XDP_ABORTED;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	eth = data;
	struct iphdr *outer = data + ETH_HLEN;
	if ((void *)(outer + 1) > end)
		return XDP_ABORTED;
	*eth = saved;
	outer->version = 4;
	outer->ihl = 5;
	outer->tos = 0;
	outer->tot_len = bpf_htons(inner_len + sizeof(struct iphdr));
	outer->id = bpf_htons(0x1234);
	outer->frag_off = 0;
	outer->ttl = 64;
	outer->protocol = IPPROTO_IPIP;
	outer->check = 0;
	outer->saddr = bpf_htonl(0xac100001);
	outer->daddr = bpf_htonl(0xac100002);
	__u32 sum = bpf_csum_diff(0, 0, (__be32 *)outer, sizeof(*outer), 0);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	outer->check = ~sum;
	return XDP_TX;
}

char _license[] SEC("license") = "GPL";
