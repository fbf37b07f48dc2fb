/* bpfvm: helper functions and their prototypes.
 *
 * A helper is declared once, in the spirit of the kernel's BPF_CALL_x: its
 * id, its name, the C function and the prototype the verifier checks calls
 * against. The standard helpers use the kernel's ids (linux/bpf.h); a host
 * adds its own with bpfvm_vm_register_helper.
 */
#ifndef BPFVM_HELPERS_H
#define BPFVM_HELPERS_H

#include <stdint.h>

#include "bpfvm/vm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a helper sees of the run that called it. */
struct bpfvm_call_ctx;

/* r1..r5 in, r0 out. cc gives access to the run (VM, program, CPU id,
 * host data); it is valid only during the call. */
typedef uint64_t (*bpfvm_helper_fn)(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4,
				    uint64_t r5, struct bpfvm_call_ctx *cc);

/* Argument types, as the kernel's enum bpf_arg_type. */
enum bpfvm_arg_type {
	BPFVM_ARG_DONTCARE = 0,          /* unused argument */
	BPFVM_ARG_ANYTHING,              /* any initialized scalar (no pointer in unpriv) */
	BPFVM_ARG_CONST_MAP_PTR,         /* a map pointer from LD_IMM64 */
	BPFVM_ARG_PTR_TO_MAP_KEY,        /* initialized memory of the map's key_size */
	BPFVM_ARG_PTR_TO_MAP_VALUE,      /* initialized memory of the map's value_size */
	BPFVM_ARG_PTR_TO_UNINIT_MAP_VALUE,/* writable memory of value_size (pop/peek) */
	BPFVM_ARG_PTR_TO_MEM,            /* initialized memory, size in the next arg */
	BPFVM_ARG_PTR_TO_MEM_OR_NULL,    /* same, or NULL */
	BPFVM_ARG_PTR_TO_UNINIT_MEM,     /* writable memory, size in the next arg */
	BPFVM_ARG_CONST_SIZE,            /* size of the previous memory arg, > 0 */
	BPFVM_ARG_CONST_SIZE_OR_ZERO,    /* size of the previous memory arg, >= 0 */
	BPFVM_ARG_PTR_TO_CTX,            /* the program's context */
	BPFVM_ARG_PTR_TO_FUNC,           /* a callback (LD_IMM64 src_reg 4) */
	BPFVM_ARG_PTR_TO_STACK_OR_NULL,  /* callback context: stack pointer or NULL */
	BPFVM_ARG_PTR_TO_CONST_STR,      /* NUL-terminated string in a read-only map */
	BPFVM_ARG_PTR_TO_ALLOC_MEM,      /* memory from bpf_ringbuf_reserve */
	BPFVM_ARG_CONST_ALLOC_SIZE_OR_ZERO,/* constant size of memory to allocate */
	BPFVM_ARG_PTR_TO_LONG,           /* writable 8-byte memory (strtol result) */
};

/* Return types, as the kernel's enum bpf_return_type. */
enum bpfvm_ret_type {
	BPFVM_RET_INTEGER = 0,
	BPFVM_RET_VOID,
	BPFVM_RET_PTR_TO_MAP_VALUE_OR_NULL,
	BPFVM_RET_PTR_TO_ALLOC_MEM_OR_NULL, /* ringbuf reserve: size from the const arg */
};

/* One helper: the single declaration the registry, the verifier, the
 * interpreter and the JIT read. */
struct bpfvm_helper {
	uint32_t id;
	const char *name;       /* without the bpf_ prefix, as the kernel log prints */
	bpfvm_helper_fn fn;
	enum bpfvm_ret_type ret;
	enum bpfvm_arg_type args[5];
	/* Program types that may call it: bitmask of (1u << type); 0 = all. */
	uint64_t prog_types;
	int gpl_only;
	/* Helpers that touch packet data (the verifier then forgets packet
	 * ranges, as the kernel does after bpf_skb_store_bytes & co.). */
	int changes_pkt_data;
};

/* Declare a helper in one line: BPFVM_HELPER(id, name, fn, ret, a1..a5). */
#define BPFVM_HELPER(ID, NAME, FN, RET, A1, A2, A3, A4, A5)                      \
	{                                                                        \
		.id = (ID), .name = (NAME), .fn = (FN), .ret = (RET),              \
		.args = {(A1), (A2), (A3), (A4), (A5)},                          \
	}

/* Register a host helper (or replace a standard one with the same id).
 * The struct is copied. Returns 0, -EINVAL (bad id/prototype). */
int bpfvm_vm_register_helper(struct bpfvm_vm *vm, const struct bpfvm_helper *helper);
/* The helper registered under id, or NULL. */
const struct bpfvm_helper *bpfvm_vm_helper(const struct bpfvm_vm *vm, uint32_t id);

/* Accessors for helper implementations. */
struct bpfvm_vm *bpfvm_call_vm(struct bpfvm_call_ctx *cc);
struct bpfvm_prog *bpfvm_call_prog(struct bpfvm_call_ctx *cc);
struct bpfvm_run *bpfvm_call_run(struct bpfvm_call_ctx *cc);
uint32_t bpfvm_call_cpu(struct bpfvm_call_ctx *cc);
/* In checked mode, let the program access [addr, addr + size) (e.g. memory
 * a helper returns). A no-op for verified programs. */
void bpfvm_call_allow_region(struct bpfvm_call_ctx *cc, void *addr, size_t size, int writable);

/* ---- host information the standard helpers report ------------------------------ */

/* What bpf_get_current_pid_tgid, bpf_get_current_uid_gid,
 * bpf_get_current_comm and the bpf_probe_read* helpers see. */
struct bpfvm_host_info {
	uint32_t pid, tgid; /* get_current_pid_tgid returns tgid << 32 | pid */
	uint32_t uid, gid;  /* get_current_uid_gid returns gid << 32 | uid */
	char comm[16];      /* NUL-terminated task name */
	/* bpf_probe_read* copy size bytes at addr to dst through this and
	 * return 0 or -EFAULT (user = 1 for the _user variants). NULL: read
	 * the process's own memory safely (process_vm_readv), so a bad
	 * address gives -EFAULT instead of a crash. */
	int (*read_mem)(void *ctx, void *dst, uint64_t addr, size_t size, int user);
	void *read_ctx;
};

/* Set what the helpers report. info NULL restores the defaults: the
 * calling thread's real ids (getpid, gettid, getuid, getgid) and name, read
 * at each call. */
int bpfvm_vm_set_host_info(struct bpfvm_vm *vm, const struct bpfvm_host_info *info);

#ifdef __cplusplus
}
#endif
#endif
