/* A program saves a value in a PERCPU_ARRAY and tail-calls a second one
 * through a PROG_ARRAY declared with static values; the second reads it. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);
} scratch SEC(".maps");

int second(struct xdp_md *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, int (struct xdp_md *));
} chain SEC(".maps") = {
	.values = { [0] = (void *)&second },
};

SEC("xdp") int first(struct xdp_md *ctx)
{
	__u32 zero = 0;
	__u64 *slot = bpf_map_lookup_elem(&scratch, &zero);
	if (!slot)
		return XDP_ABORTED;
	*slot = 0x1234;
	bpf_tail_call(ctx, &chain, 0);
	return XDP_DROP;
}

SEC("xdp") int second(struct xdp_md *ctx)
{
	__u32 zero = 0;
	__u64 *slot = bpf_map_lookup_elem(&scratch, &zero);
	if (!slot)
		return XDP_ABORTED;
	return *slot == 0x1234 ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
