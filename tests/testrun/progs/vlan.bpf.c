// tc: pop every VLAN tag, then push VLAN 42 when the packet is IPv6,
// and report the result in the return value.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

SEC("tc")
int tc_vlan(struct __sk_buff *skb)
{
	int popped = 0;
	for (int i = 0; i < 3; i++) {
		if (!skb->vlan_present && skb->protocol != bpf_htons(ETH_P_8021Q) &&
		    skb->protocol != bpf_htons(ETH_P_8021AD))
			break;
		if (bpf_skb_vlan_pop(skb))
			return TC_ACT_SHOT;
		popped++;
	}
	if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		if (bpf_skb_vlan_push(skb, bpf_htons(ETH_P_8021Q), 42))
			return TC_ACT_SHOT;
	}
	return popped << 8 | skb->vlan_present << 4 | (skb->len & 0xf);
}

char _license[] SEC("license") = "GPL";
