/* The benchmark workloads as BPF programs, two wrappers each:
 *   raw_NAME: a raw-memory program (r1 = buffer, r2 = length) for bpfvm;
 *   xdp_NAME: an XDP program for the kernel's BPF_PROG_TEST_RUN, whose
 *             buffer is the value of an ARRAY map (raw memory is not
 *             possible there); it stores the result in a second map.
 * Built by bench/bench_jit.c with clang -O2 -target bpf (default -mcpu and
 * -mcpu=v3); the driver takes the raw programs' instructions with libbpf. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "work.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__uint(value_size, BUF_SIZE);
} buf_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} result_map SEC(".maps");

#define RAW(name)                                              \
	SEC("xdp") u64 raw_##name(u8 *buf, u64 len)             \
	{                                                      \
		if (len < BUF_SIZE)                            \
			return 0;                              \
		return w_##name(buf);                          \
	}
#define XDP(name)                                              \
	SEC("xdp") int xdp_##name(struct xdp_md *ctx)           \
	{                                                      \
		u32 key = 0;                                   \
		u8 *buf = bpf_map_lookup_elem(&buf_map, &key);  \
		u64 *res = bpf_map_lookup_elem(&result_map, &key); \
		if (!buf || !res)                              \
			return XDP_ABORTED;                    \
		*res = w_##name(buf);                          \
		return XDP_PASS;                               \
	}

WORK_LIST(RAW)
WORK_LIST(XDP)

char LICENSE[] SEC("license") = "GPL";
