/* samples/bpf's 28-byte map definition with inner_map_idx and numa_node. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct bpf_load_map_def {
	unsigned int type, key_size, value_size, max_entries, map_flags, inner_map_idx, numa_node;
};

struct bpf_load_map_def inner_tmpl SEC("maps") = {
	.type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 4, .max_entries = 1,
};
struct bpf_load_map_def outer SEC("maps") = {
	.type = BPF_MAP_TYPE_ARRAY_OF_MAPS, .key_size = 4, .value_size = 4, .max_entries = 2,
	.inner_map_idx = 0,
};
struct bpf_load_map_def plain SEC("maps") = {
	.type = BPF_MAP_TYPE_PERCPU_ARRAY, .key_size = 4, .value_size = 8, .max_entries = 3,
};

SEC("socket1") int prog(void *ctx)
{
	__u32 key = 0;
	void *inner = bpf_map_lookup_elem(&outer, &key);
	__u64 *p = bpf_map_lookup_elem(&plain, &key);
	return (inner ? 1 : 0) + (p ? 2 : 0);
}

char LICENSE[] SEC("license") = "GPL";
