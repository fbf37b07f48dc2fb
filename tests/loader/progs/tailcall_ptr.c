/* The seed example as the issue words it: the first program saves a
 * pointer (its context) in a PERCPU_ARRAY and tail-calls the second, which
 * reads it back and finds its own context. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);
} saved SEC(".maps");

int reader(struct xdp_md *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, int (struct xdp_md *));
} next SEC(".maps") = {
	.values = { [0] = (void *)&reader },
};

SEC("xdp") int saver(struct xdp_md *ctx)
{
	__u32 zero = 0;
	__u64 *slot = bpf_map_lookup_elem(&saved, &zero);
	if (!slot)
		return XDP_ABORTED;
	*slot = (__u64)(long)ctx;
	bpf_tail_call(ctx, &next, 0);
	return XDP_DROP;
}

SEC("xdp") int reader(struct xdp_md *ctx)
{
	__u32 zero = 0;
	__u64 *slot = bpf_map_lookup_elem(&saved, &zero);
	if (!slot)
		return XDP_ABORTED;
	return *slot == (__u64)(long)ctx ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
