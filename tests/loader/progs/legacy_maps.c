/* Legacy map definitions: struct bpf_map_def (20 bytes) in "maps", and a
 * "maps/NAME" section, as pre-BTF libbpf and samples wrote them. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct legacy_def {
	unsigned int type, key_size, value_size, max_entries, map_flags;
};

struct legacy_def counters SEC("maps") = {
	.type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 8, .max_entries = 4,
};
struct legacy_def table SEC("maps") = {
	.type = BPF_MAP_TYPE_HASH, .key_size = 4, .value_size = 4, .max_entries = 16,
};
struct legacy_def other SEC("maps/other") = {
	.type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 4, .max_entries = 2,
};

/* Adds 1 to counters[1] and returns the new count. */
SEC("count") int count_prog(void *ctx)
{
	__u32 key = 1;
	__u64 *v = bpf_map_lookup_elem(&counters, &key);
	if (!v)
		return -1;
	*v += 1;
	__u32 k2 = 7, val = 70;
	bpf_map_update_elem(&table, &k2, &val, BPF_ANY);
	__u32 *o = bpf_map_lookup_elem(&other, &key);
	return o ? (int)*v : -2;
}

char LICENSE[] SEC("license") = "GPL";
