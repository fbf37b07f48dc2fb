// bpf_fib_lookup driven by the packet: after the Ethernet header comes a
// request { u32 flags; u32 rc; struct bpf_fib_lookup params; }; the
// program looks it up and writes the result code and the params back, so
// data_out shows everything the helper wrote. XDP and tc.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>

struct req {
	__u32 flags;
	__u32 rc;
	struct bpf_fib_lookup params;
};

static __always_inline int lookup(void *ctx, void *data, void *end)
{
	struct req *q = data + ETH_HLEN;
	if ((void *)(q + 1) > end)
		return 1;
	struct bpf_fib_lookup p = q->params;
	long rc = bpf_fib_lookup(ctx, &p, sizeof(p), q->flags);
	q->params = p;
	q->rc = (__u32)rc;
	return 0;
}

SEC("xdp")
int xdp_fib(struct xdp_md *ctx)
{
	if (lookup(ctx, (void *)(long)ctx->data, (void *)(long)ctx->data_end))
		return XDP_ABORTED;
	return XDP_PASS;
}

SEC("tc")
int tc_fib(struct __sk_buff *skb)
{
	if (lookup(skb, (void *)(long)skb->data, (void *)(long)skb->data_end))
		return 2; /* TC_ACT_SHOT */
	return 0;
}

/* A params buffer shorter than the struct: -EINVAL before anything else. */
SEC("xdp")
int xdp_fib_short(struct xdp_md *ctx)
{
	struct bpf_fib_lookup p = {.family = 2, .ifindex = 1};
	return (int)-bpf_fib_lookup(ctx, &p, 32, 0);
}

char _license[] SEC("license") = "GPL";
