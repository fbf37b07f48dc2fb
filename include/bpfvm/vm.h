/* bpfvm: virtual machines, programs and runs.
 *
 * Conventions of the whole public API:
 *  - opaque handles, functions named bpfvm_<object>_<verb>;
 *  - status is 0 or a negative errno; a failed call on a VM leaves a
 *    one-line message in bpfvm_vm_last_error(vm); a failed run leaves it
 *    in run->error (runs never touch shared state, so one program can run
 *    on many threads at once);
 *  - no global mutable state: several VMs can live in one process.
 */
#ifndef BPFVM_VM_H
#define BPFVM_VM_H

#include <stdint.h>
#include <stdio.h>

#include "bpfvm/isa.h"

#ifdef __cplusplus
extern "C" {
#endif

struct bpfvm_vm;
struct bpfvm_prog;
struct bpfvm_map;

/* Program types; the values are the kernel's BPF_PROG_TYPE_* numbers where
 * one exists, so that objects and tools agree. RAW is bpfvm's own type for
 * embedding: r1 = memory, r2 = its length. */
enum bpfvm_prog_type {
	BPFVM_PROG_RAW = 0,
	BPFVM_PROG_SOCKET_FILTER = 1,
	BPFVM_PROG_KPROBE = 2,
	BPFVM_PROG_SCHED_CLS = 3,
	BPFVM_PROG_SCHED_ACT = 4,
	BPFVM_PROG_TRACEPOINT = 5,
	BPFVM_PROG_XDP = 6,
	BPFVM_PROG_RAW_TRACEPOINT = 17,
};

/* ---- VM ----------------------------------------------------------------- */

int bpfvm_vm_create(struct bpfvm_vm **out);
void bpfvm_vm_destroy(struct bpfvm_vm *vm);
/* Message of the last failed call on this VM ("" if none). */
const char *bpfvm_vm_last_error(const struct bpfvm_vm *vm);

/* Where bpf_trace_printk output goes: default stderr. */
typedef void (*bpfvm_print_fn)(void *user, const char *text, size_t len);
void bpfvm_vm_set_print(struct bpfvm_vm *vm, bpfvm_print_fn fn, void *user);

/* ---- Programs ------------------------------------------------------------- */

/* How a program is kept safe. */
enum bpfvm_safety {
	/* Verified before it runs (the verifier's verdict decides); runs
	 * without run-time checks. */
	BPFVM_SAFETY_VERIFIED = 0,
	/* Not verified: every memory access is checked at run time against
	 * the stack, the context and the registered regions, jumps and calls
	 * are bounded by an instruction budget, and a fault stops the run. */
	BPFVM_SAFETY_CHECKED = 1,
};

enum bpfvm_engine {
	BPFVM_ENGINE_DEFAULT = 0, /* JIT where supported, else interpreter */
	BPFVM_ENGINE_INTERP = 1,
	BPFVM_ENGINE_JIT = 2,
};

struct bpfvm_prog_opts {
	const char *name;            /* for messages; may be NULL */
	enum bpfvm_prog_type type;   /* default BPFVM_PROG_RAW */
	enum bpfvm_safety safety;    /* default BPFVM_SAFETY_VERIFIED */
	enum bpfvm_engine engine;    /* engine(s) to prepare */
	int unpriv;                  /* verify with the unprivileged rules */
	int jit_blind;               /* JIT: blind constants (untrusted code) */
	/* The program's license, as the kernel's license attribute: GPL-only
	 * helpers need a GPL-compatible one. NULL means "GPL". */
	const char *license;
	/* LD_IMM64 with src_reg 1/2 (map fd / map value) and imm N refers to
	 * maps[N]; the program takes a reference on each. */
	struct bpfvm_map *const *maps;
	size_t nmaps;
	/* Verifier log, as the kernel's log_buf/log_size/log_level. */
	char *log_buf;
	size_t log_size;
	unsigned log_level;
	/* Source lines per instruction (from BTF line info), may be NULL;
	 * line_info[i] is the text for insn i or NULL. Not copied. */
	const char *const *line_info;
};

/* Validate (and, when opts->safety is VERIFIED, verify) a program and
 * prepare it to run. On success *out holds a program of the VM. */
int bpfvm_prog_load(struct bpfvm_vm *vm, const struct bpfvm_insn *insns, size_t n,
		    const struct bpfvm_prog_opts *opts, struct bpfvm_prog **out);
void bpfvm_prog_destroy(struct bpfvm_prog *prog);

/* A VM-unique id (>= 1): the value stored in PROG_ARRAY slots. */
uint32_t bpfvm_prog_id(const struct bpfvm_prog *prog);
struct bpfvm_prog *bpfvm_vm_prog_by_id(struct bpfvm_vm *vm, uint32_t id);
const struct bpfvm_insn *bpfvm_prog_insns(const struct bpfvm_prog *prog, size_t *n);
const char *bpfvm_prog_name(const struct bpfvm_prog *prog);
enum bpfvm_prog_type bpfvm_prog_type(const struct bpfvm_prog *prog);

/* ---- Runs ------------------------------------------------------------------- */

/* A memory region a checked-mode program may access besides its stack. */
struct bpfvm_region {
	void *addr;
	size_t size;
	int writable;
};

#define BPFVM_MAX_REGIONS 8
#define BPFVM_DEFAULT_BUDGET 100000000ULL /* instructions, checked mode */

/* Called before each executed instruction when tracing; regs are the
 * values before it executes. */
typedef void (*bpfvm_trace_fn)(void *user, const struct bpfvm_prog *prog, size_t pc,
			       int frame, const uint64_t regs[BPFVM_NREGS]);

struct bpfvm_run {
	/* In. r1 = ctx, r2 = ctx_size: for RAW programs ctx is the memory
	 * and ctx_size its length; for other types ctx points to the
	 * context the program type defines. */
	void *ctx;
	size_t ctx_size;
	/* Packet seen by the legacy LD_ABS / LD_IND loads (for socket filters
	 * it starts at the network header, as the kernel's skb->data after the
	 * Ethernet header is pulled). An out-of-range load ends the run with
	 * r0 = 0, as in the kernel. */
	const void *pkt;
	size_t pkt_len;
	/* Further regions the program may touch (packet data, ...). */
	struct bpfvm_region regions[BPFVM_MAX_REGIONS];
	int nregions;
	enum bpfvm_engine engine;  /* which prepared engine runs it */
	uint64_t budget;           /* checked mode; 0 = BPFVM_DEFAULT_BUDGET */
	uint32_t cpu;              /* CPU id for per-CPU maps */
	bpfvm_trace_fn trace;      /* interpreter only; may be NULL */
	void *trace_user;
	void *user;                /* passed to host helpers */
	/* Packet state of a test run (bpfvm_prog_test_run sets it; NULL
	 * otherwise): the packet helpers find the xdp_buff / sk_buff here. */
	void *pkt_ctx;
	/* Out. */
	uint64_t retval;           /* r0 at exit */
	uint64_t executed;         /* instructions executed (interpreter) */
	uint32_t redirect_ifindex; /* set by bpf_redirect* helpers */
	uint64_t redirect_flags;
	int redirected;
	char error[256];           /* why the run failed */
};

/* Run a program. Returns 0 (retval in run->retval) or a negative errno with
 * a message in run->error: -EFAULT for a bad memory access, -E2BIG when the
 * budget runs out, -EINVAL for a bad call. */
int bpfvm_prog_run(struct bpfvm_prog *prog, struct bpfvm_run *run);

#ifdef __cplusplus
}
#endif
#endif
