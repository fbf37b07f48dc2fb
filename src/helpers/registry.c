/* The standard helpers: one declaration each, with the kernel's id and the
 * prototype of its bpf_func_proto (ret, args, gpl_only, and the program
 * types the kernel offers it to when it restricts them). The verifier
 * reads these prototypes from the VM's registry. */
#include "helpers/helpers_internal.h"

#define A_ANY BPFVM_ARG_ANYTHING
#define A_NONE BPFVM_ARG_DONTCARE
#define A_MAP BPFVM_ARG_CONST_MAP_PTR
#define A_KEY BPFVM_ARG_PTR_TO_MAP_KEY
#define A_VALUE BPFVM_ARG_PTR_TO_MAP_VALUE
#define A_UVALUE BPFVM_ARG_PTR_TO_UNINIT_MAP_VALUE
#define A_MEM BPFVM_ARG_PTR_TO_MEM
#define A_MEM_NULL BPFVM_ARG_PTR_TO_MEM_OR_NULL
#define A_UMEM BPFVM_ARG_PTR_TO_UNINIT_MEM
#define A_SIZE BPFVM_ARG_CONST_SIZE
#define A_SIZE0 BPFVM_ARG_CONST_SIZE_OR_ZERO
#define A_CTX BPFVM_ARG_PTR_TO_CTX
#define A_FUNC BPFVM_ARG_PTR_TO_FUNC
#define A_STACK_NULL BPFVM_ARG_PTR_TO_STACK_OR_NULL
#define A_CSTR BPFVM_ARG_PTR_TO_CONST_STR
#define A_ALLOC BPFVM_ARG_PTR_TO_ALLOC_MEM
#define A_ALLOC_SIZE BPFVM_ARG_CONST_ALLOC_SIZE_OR_ZERO
#define A_LONG BPFVM_ARG_PTR_TO_LONG
#define R_INT BPFVM_RET_INTEGER
#define R_VOID BPFVM_RET_VOID
#define R_VALUE BPFVM_RET_PTR_TO_MAP_VALUE_OR_NULL
#define R_ALLOC BPFVM_RET_PTR_TO_ALLOC_MEM_OR_NULL

#define TYPE(t) (1ull << (t))
/* The kernel offers the legacy bpf_probe_read only to tracing programs;
 * bpfvm's own RAW type (embedding) gets it too. */
#define TRACING                                                                         \
	(TYPE(BPFVM_PROG_KPROBE) | TYPE(BPFVM_PROG_TRACEPOINT) |                        \
	 TYPE(BPFVM_PROG_RAW_TRACEPOINT) | TYPE(BPFVM_PROG_RAW))

#define GPL .gpl_only = 1

static const struct bpfvm_helper std_helpers[] = {
	BPFVM_HELPER(1, "map_lookup_elem", bpfvm__h_map_lookup_elem, R_VALUE, A_MAP, A_KEY, A_NONE, A_NONE, A_NONE),
	BPFVM_HELPER(2, "map_update_elem", bpfvm__h_map_update_elem, R_INT, A_MAP, A_KEY, A_VALUE, A_ANY, A_NONE),
	BPFVM_HELPER(3, "map_delete_elem", bpfvm__h_map_delete_elem, R_INT, A_MAP, A_KEY, A_NONE, A_NONE, A_NONE),
	{.id = 4, .name = "probe_read", .fn = bpfvm__h_probe_read, .ret = R_INT, .args = {A_UMEM, A_SIZE0, A_ANY},
	 .prog_types = TRACING, GPL},
	BPFVM_HELPER(5, "ktime_get_ns", bpfvm__h_ktime_get_ns, R_INT, A_NONE, A_NONE, A_NONE, A_NONE, A_NONE),
	{.id = 6, .name = "trace_printk", .fn = bpfvm__h_trace_printk, .ret = R_INT,
	 .args = {A_MEM, A_SIZE}, GPL},
	BPFVM_HELPER(7, "get_prandom_u32", bpfvm__h_get_prandom_u32, R_INT, A_NONE, A_NONE, A_NONE, A_NONE, A_NONE),
	BPFVM_HELPER(8, "get_smp_processor_id", bpfvm__h_get_smp_processor_id, R_INT, A_NONE, A_NONE, A_NONE, A_NONE, A_NONE),
	/* The engines implement the jump itself. */
	BPFVM_HELPER(12, "tail_call", NULL, R_VOID, A_CTX, A_MAP, A_ANY, A_NONE, A_NONE),
	BPFVM_HELPER(14, "get_current_pid_tgid", bpfvm__h_get_current_pid_tgid, R_INT, A_NONE, A_NONE, A_NONE, A_NONE, A_NONE),
	BPFVM_HELPER(15, "get_current_uid_gid", bpfvm__h_get_current_uid_gid, R_INT, A_NONE, A_NONE, A_NONE, A_NONE, A_NONE),
	BPFVM_HELPER(16, "get_current_comm", bpfvm__h_get_current_comm, R_INT, A_UMEM, A_SIZE, A_NONE, A_NONE, A_NONE),
	{.id = 25, .name = "perf_event_output", .fn = bpfvm__h_perf_event_output, .ret = R_INT,
	 .args = {A_CTX, A_MAP, A_ANY, A_MEM, A_SIZE0}, GPL},
	{.id = 45, .name = "probe_read_str", .fn = bpfvm__h_probe_read_str, .ret = R_INT,
	 .args = {A_UMEM, A_SIZE0, A_ANY}, .prog_types = TRACING, GPL},
	BPFVM_HELPER(87, "map_push_elem", bpfvm__h_map_push_elem, R_INT, A_MAP, A_VALUE, A_ANY, A_NONE, A_NONE),
	BPFVM_HELPER(88, "map_pop_elem", bpfvm__h_map_pop_elem, R_INT, A_MAP, A_UVALUE, A_NONE, A_NONE, A_NONE),
	BPFVM_HELPER(89, "map_peek_elem", bpfvm__h_map_peek_elem, R_INT, A_MAP, A_UVALUE, A_NONE, A_NONE, A_NONE),
	BPFVM_HELPER(105, "strtol", bpfvm__h_strtol, R_INT, A_MEM, A_SIZE, A_ANY, A_LONG, A_NONE),
	BPFVM_HELPER(106, "strtoul", bpfvm__h_strtoul, R_INT, A_MEM, A_SIZE, A_ANY, A_LONG, A_NONE),
	{.id = 112, .name = "probe_read_user", .fn = bpfvm__h_probe_read_user, .ret = R_INT,
	 .args = {A_UMEM, A_SIZE0, A_ANY}, GPL},
	{.id = 113, .name = "probe_read_kernel", .fn = bpfvm__h_probe_read_kernel, .ret = R_INT,
	 .args = {A_UMEM, A_SIZE0, A_ANY}, GPL},
	{.id = 114, .name = "probe_read_user_str", .fn = bpfvm__h_probe_read_user_str, .ret = R_INT,
	 .args = {A_UMEM, A_SIZE0, A_ANY}, GPL},
	{.id = 115, .name = "probe_read_kernel_str", .fn = bpfvm__h_probe_read_kernel_str, .ret = R_INT,
	 .args = {A_UMEM, A_SIZE0, A_ANY}, GPL},
	BPFVM_HELPER(125, "ktime_get_boot_ns", bpfvm__h_ktime_get_boot_ns, R_INT, A_NONE, A_NONE, A_NONE, A_NONE, A_NONE),
	BPFVM_HELPER(130, "ringbuf_output", bpfvm__h_ringbuf_output, R_INT, A_MAP, A_MEM, A_SIZE0, A_ANY, A_NONE),
	BPFVM_HELPER(131, "ringbuf_reserve", bpfvm__h_ringbuf_reserve, R_ALLOC, A_MAP, A_ALLOC_SIZE, A_ANY, A_NONE, A_NONE),
	BPFVM_HELPER(132, "ringbuf_submit", bpfvm__h_ringbuf_submit, R_VOID, A_ALLOC, A_ANY, A_NONE, A_NONE, A_NONE),
	BPFVM_HELPER(133, "ringbuf_discard", bpfvm__h_ringbuf_discard, R_VOID, A_ALLOC, A_ANY, A_NONE, A_NONE, A_NONE),
	BPFVM_HELPER(134, "ringbuf_query", bpfvm__h_ringbuf_query, R_INT, A_MAP, A_ANY, A_NONE, A_NONE, A_NONE),
	BPFVM_HELPER(164, "for_each_map_elem", bpfvm__h_for_each_map_elem, R_INT, A_MAP, A_FUNC, A_STACK_NULL, A_ANY, A_NONE),
	{.id = 165, .name = "snprintf", .fn = bpfvm__h_snprintf, .ret = R_INT,
	 .args = {A_MEM_NULL, A_SIZE0, A_CSTR, A_MEM_NULL, A_SIZE0}, GPL},
	BPFVM_HELPER(181, "loop", bpfvm__h_loop, R_INT, A_ANY, A_FUNC, A_STACK_NULL, A_ANY, A_NONE),
};

int bpfvm__helpers_register_std(struct bpfvm_vm *vm)
{
	for (size_t i = 0; i < sizeof(std_helpers) / sizeof(std_helpers[0]); i++) {
		int rc = bpfvm_vm_register_helper(vm, &std_helpers[i]);
		if (rc)
			return rc;
	}
	return 0;
}
