/* iproute2's struct bpf_elf_map (36 bytes) and tail-call sections "ID/SLOT":
 * the program of section "1/0" goes into slot 0 of the PROG_ARRAY whose
 * id is 1. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct bpf_elf_map {
	unsigned int type, size_key, size_value, max_elem, flags, id, pinning, inner_id, inner_idx;
};

struct bpf_elf_map jmp_table SEC("maps") = {
	.type = BPF_MAP_TYPE_PROG_ARRAY, .size_key = 4, .size_value = 4, .max_elem = 2, .id = 1,
	.pinning = 2,
};
struct bpf_elf_map stats SEC("maps") = {
	.type = BPF_MAP_TYPE_ARRAY, .size_key = 4, .size_value = 4, .max_elem = 1,
};
/* Map-in-map: the map with id 7 is the inner template of every map whose
 * inner_id is 7, and goes into their slot inner_idx. */
struct bpf_elf_map inner_seven SEC("maps") = {
	.type = BPF_MAP_TYPE_ARRAY, .size_key = 4, .size_value = 4, .max_elem = 1, .id = 7,
	.inner_idx = 1,
};
struct bpf_elf_map outer SEC("maps") = {
	.type = BPF_MAP_TYPE_ARRAY_OF_MAPS, .size_key = 4, .size_value = 4, .max_elem = 2,
	.inner_id = 7,
};

SEC("1/0") int tail_zero(void *ctx)
{
	return 42;
}

SEC("classifier") int entry_prog(void *ctx)
{
	bpf_tail_call(ctx, &jmp_table, 0);
	return 1;
}

/* 1 when outer[1] holds inner_seven. */
SEC("classifier") int read_outer(void *ctx)
{
	__u32 one = 1;
	return bpf_map_lookup_elem(&outer, &one) != 0;
}

char LICENSE[] SEC("license") = "GPL";
