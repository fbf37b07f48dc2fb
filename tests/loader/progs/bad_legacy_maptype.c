/* Bad input: a legacy map definition of an unknown type. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct legacy_def {
	unsigned int type, key_size, value_size, max_entries, map_flags;
};

struct legacy_def weird SEC("maps") = {.type = 250, .key_size = 4, .value_size = 4, .max_entries = 1};

SEC("socket") int uses_weird(void *ctx)
{
	__u32 k = 0;
	return bpf_map_lookup_elem(&weird, &k) ? 1 : 0;
}

char LICENSE[] SEC("license") = "GPL";
