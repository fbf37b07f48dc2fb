/* Helpers shared by XDP and tc (checksum difference, redirects) and the
 * registration of every packet helper. */
#include <errno.h>
#include <string.h>

#include "packet/packet.h"

#define ERR(e) ((uint64_t)(int64_t)-(e))
#define TC_TYPES ((1ull << BPFVM_PROG_SCHED_CLS) | (1ull << BPFVM_PROG_SCHED_ACT))
#define XDP_TYPE (1ull << BPFVM_PROG_XDP)

#define XDP_ABORTED_ 0
#define XDP_REDIRECT_ 4
#define TC_ACT_SHOT_ 2
#define TC_ACT_REDIRECT_ 7
#define F_INGRESS 1ull
#define F_ACTION_MASK 3ull
#define F_BROADCAST 8ull
#define F_EXCLUDE_INGRESS 16ull
#define CSUM_DIFF_MAX 512 /* the kernel's scratch buffer: MAX_BPF_STACK */

/* Fold a 32-bit sum to 16 bits without complementing (csum_from32to16):
 * since Linux 6.13 bpf_csum_diff returns this on every architecture. */
static uint32_t from32to16(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	return (sum & 0xffff) + (sum >> 16);
}

/* bpf_csum_diff(from, from_size, to, to_size, seed): the checksum of to
 * minus that of from, plus seed. */
static uint64_t csum_diff(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
			  struct bpfvm_call_ctx *cc)
{
	const void *from = (const void *)(uintptr_t)r1, *to = (const void *)(uintptr_t)r3;
	uint32_t from_size = (uint32_t)r2, to_size = (uint32_t)r4, seed = (uint32_t)r5;
	if (((from_size | to_size) & 3) || from_size > CSUM_DIFF_MAX || to_size > CSUM_DIFF_MAX)
		return ERR(EINVAL);
	if (!to_size)
		return from32to16(~bpfvm__csum_partial(from, from_size, ~seed));
	if (!from_size)
		return from32to16(bpfvm__csum_partial(to, to_size, seed));
	return from32to16(bpfvm__csum_sub(bpfvm__csum_partial(to, to_size, seed),
					  bpfvm__csum_partial(from, from_size, 0)));
}

static void record_redirect(struct bpfvm_call_ctx *cc, uint32_t ifindex, uint64_t flags)
{
	struct bpfvm_run *run = bpfvm_call_run(cc);
	run->redirected = 1;
	run->redirect_ifindex = ifindex;
	run->redirect_flags = flags;
}

/* bpf_redirect(ifindex, flags): XDP takes no flags, tc only BPF_F_INGRESS. */
static uint64_t redirect(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
			 struct bpfvm_call_ctx *cc)
{
	if (bpfvm_prog_type(bpfvm_call_prog(cc)) == BPFVM_PROG_XDP) {
		if (r2)
			return XDP_ABORTED_;
		record_redirect(cc, (uint32_t)r1, r2);
		return XDP_REDIRECT_;
	}
	if (r2 & ~F_INGRESS)
		return TC_ACT_SHOT_;
	record_redirect(cc, (uint32_t)r1, r2);
	return TC_ACT_REDIRECT_;
}

/* bpf_redirect_map(map, key, flags): redirect to the device map entry at
 * key; on a miss return the action in the low flag bits. bpfvm has no
 * device maps: any map whose value starts with a u32 ifindex (the
 * DEVMAP value layout) serves, e.g. an ARRAY or HASH of u32. */
static uint64_t redirect_map(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
			     struct bpfvm_call_ctx *cc)
{
	struct bpfvm_map *map = (struct bpfvm_map *)(uintptr_t)r1;
	uint64_t flags = r3;
	if (flags & ~(F_ACTION_MASK | F_BROADCAST | F_EXCLUDE_INGRESS))
		return XDP_ABORTED_;
	if (!map)
		return flags & F_ACTION_MASK;
	const struct bpfvm_map_def *def = bpfvm_map_def(map);
	uint8_t key[8] = {0}, value[64];
	uint32_t k = (uint32_t)r2;
	if (def->key_size > sizeof(key) || def->value_size > sizeof(value) || def->value_size < 4)
		return flags & F_ACTION_MASK;
	memcpy(key, &k, def->key_size < 4 ? def->key_size : 4);
	if (bpfvm_map_lookup(map, key, value))
		return flags & F_ACTION_MASK;
	uint32_t ifindex;
	memcpy(&ifindex, value, 4);
	record_redirect(cc, ifindex, flags);
	return XDP_REDIRECT_;
}

static int register_common(struct bpfvm_vm *vm)
{
	struct bpfvm_helper helpers[] = {
		BPFVM_HELPER(BPF_FUNC_csum_diff, "csum_diff", csum_diff, BPFVM_RET_INTEGER,
			     BPFVM_ARG_PTR_TO_MEM_OR_NULL, BPFVM_ARG_CONST_SIZE_OR_ZERO,
			     BPFVM_ARG_PTR_TO_MEM_OR_NULL, BPFVM_ARG_CONST_SIZE_OR_ZERO,
			     BPFVM_ARG_ANYTHING),
		BPFVM_HELPER(BPF_FUNC_redirect, "redirect", redirect, BPFVM_RET_INTEGER,
			     BPFVM_ARG_ANYTHING, BPFVM_ARG_ANYTHING, 0, 0, 0),
		BPFVM_HELPER(BPF_FUNC_redirect_map, "redirect_map", redirect_map, BPFVM_RET_INTEGER,
			     BPFVM_ARG_CONST_MAP_PTR, BPFVM_ARG_ANYTHING, BPFVM_ARG_ANYTHING, 0, 0),
		BPFVM_HELPER(BPF_FUNC_fib_lookup, "fib_lookup", bpfvm__fib_lookup, BPFVM_RET_INTEGER,
			     BPFVM_ARG_PTR_TO_CTX, BPFVM_ARG_PTR_TO_MEM, BPFVM_ARG_CONST_SIZE,
			     BPFVM_ARG_ANYTHING, 0),
	};
	helpers[0].prog_types = TC_TYPES | XDP_TYPE;
	helpers[1].prog_types = TC_TYPES | XDP_TYPE;
	helpers[2].prog_types = XDP_TYPE;
	helpers[3].prog_types = TC_TYPES | XDP_TYPE;
	for (size_t i = 0; i < sizeof(helpers) / sizeof(helpers[0]); i++) {
		int rc = bpfvm_vm_register_helper(vm, &helpers[i]);
		if (rc)
			return rc;
	}
	return 0;
}

int bpfvm__packet_helpers_register(struct bpfvm_vm *vm)
{
	int rc = register_common(vm);
	if (!rc)
		rc = bpfvm__xdp_helpers_register(vm);
	if (!rc)
		rc = bpfvm__skb_helpers_register(vm);
	return rc;
}
