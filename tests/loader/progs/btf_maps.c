/* BTF-defined maps: __type and __uint attributes, flags, pinning, map-in-map
 * with an inner definition and static values, a PROG_ARRAY with static
 * values. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct pair {
	__u64 a, b;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct pair);
	__uint(max_entries, 64);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pairs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(key_size, 4);
	__uint(value_size, 12);
	__uint(max_entries, 3);
} sized SEC(".maps");

struct inner_map {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 1);
} inner_a SEC(".maps"), inner_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, struct inner_map);
} outer SEC(".maps") = {
	.values = { [0] = &inner_a, [2] = &inner_b },
};

int prog_one(struct __sk_buff *ctx);
int prog_two(struct __sk_buff *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 3);
	__uint(key_size, sizeof(__u32));
	__array(values, int (struct __sk_buff *));
} jumps SEC(".maps") = {
	.values = { [1] = (void *)&prog_one, [2] = (void *)&prog_two },
};

SEC("tc") int prog_one(struct __sk_buff *ctx) { return 11; }
SEC("tc") int prog_two(struct __sk_buff *ctx) { return 22; }

/* Tail-calls slot 1 of `jumps`; returns 99 if the slot is empty. */
SEC("tc") int entry_prog(struct __sk_buff *ctx)
{
	bpf_tail_call(ctx, &jumps, 1);
	return 99;
}

/* Reads inner_b through outer[2]. */
SEC("tc") int read_inner(struct __sk_buff *ctx)
{
	__u32 key = 2, zero = 0;
	void *inner = bpf_map_lookup_elem(&outer, &key);
	if (!inner)
		return -1;
	__u32 *v = bpf_map_lookup_elem(inner, &zero);
	struct pair *p = bpf_map_lookup_elem(&pairs, &zero);
	return v ? (int)*v + (p ? 1000 : 0) : -2;
}

char LICENSE[] SEC("license") = "GPL";
