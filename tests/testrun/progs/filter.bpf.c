// Socket filter: keep UDP packets (whole) and TCP packets (headers only,
// 40 bytes), drop the rest; LD_ABS offsets start at the network header.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");
unsigned long long load_half(void *skb, unsigned long long off) asm("llvm.bpf.load.half");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} kept SEC(".maps");

SEC("socket")
int sock_filter(struct __sk_buff *skb)
{
	if (skb->protocol != bpf_htons(ETH_P_IP))
		return 0;
	__u32 proto = load_byte(skb, 9);
	__u32 k = proto == IPPROTO_UDP ? 0 : proto == IPPROTO_TCP ? 1 : 2;
	__u64 *v = bpf_map_lookup_elem(&kept, &k);
	if (v)
		__sync_fetch_and_add(v, skb->len);
	if (proto == IPPROTO_UDP)
		return skb->len;
	if (proto == IPPROTO_TCP)
		return load_half(skb, 2) > 40 ? 40 : skb->len;
	return 0;
}

char _license[] SEC("license") = "GPL";
