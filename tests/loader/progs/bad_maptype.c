/* Bad input: a BTF-defined map of a type no kernel knows. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, 999);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 1);
} strange SEC(".maps");

SEC("xdp") int uses_strange(struct xdp_md *ctx)
{
	__u32 k = 0;
	return bpf_map_lookup_elem(&strange, &k) ? 1 : 2;
}

char LICENSE[] SEC("license") = "GPL";
