/* The same pair, but the value travels in r9 across the tail call. A tail
 * call starts the callee with only r1 (ctx) and r10 set, so verification
 * must reject the callee's read of r9 ("R9 !read_ok"). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

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
	asm volatile("r9 = 0x1234" ::: "r9");
	bpf_tail_call(ctx, &chain, 0);
	return XDP_DROP;
}

SEC("xdp") int second(struct xdp_md *ctx)
{
	int v;
	asm volatile("%0 = r9" : "=r"(v));
	return v == 0x1234 ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
