/* Bad input: a relocation against a symbol no section defines. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern int missing_variable;

SEC("xdp") int uses_extern(struct xdp_md *ctx)
{
	return missing_variable;
}

char LICENSE[] SEC("license") = "GPL";
