/* The x86-64 JIT: what the compiler (jit_x86.c) and the runtime
 * (jit_run.c) share, and the read-only view the CLI uses for dumps. */
#ifndef BPFVM_JIT_JIT_H
#define BPFVM_JIT_JIT_H

#include <stddef.h>
#include <stdint.h>

#include "core/internal.h"

/* Bytes of BPF stack of one run: BPFVM_MAX_FRAMES frames of 512 bytes,
 * laid out as the interpreter's: frame k is [stack_lo + 512 k, +512) and
 * its r10 is the end of it; a checked run may access [stack_lo, r10). */
#define JIT_STACK_BYTES (BPFVM_MAX_FRAMES * BPFVM_STACK_SIZE)

/* Why generated code stopped a run (jit_state.fault_kind). */
enum jit_fault {
	JIT_FAULT_NONE,
	JIT_FAULT_MEMORY,       /* C check rejected an access (details in state) */
	JIT_FAULT_BUDGET,       /* instruction budget exhausted */
	JIT_FAULT_CALL_DEPTH,   /* more than BPFVM_MAX_FRAMES frames */
	JIT_FAULT_BAD_HELPER,   /* call to an unknown helper */
	JIT_FAULT_BAD_CALLX,    /* callx with a register that names no helper */
	JIT_FAULT_TAIL_MAP,     /* checked: r2 of a tail call is not a map of the program */
	JIT_FAULT_TAIL_NOT_PROG_ARRAY, /* checked: the map is not a PROG_ARRAY */
	JIT_FAULT_TAIL_NO_JIT,  /* tail-call target has no machine code */
	JIT_FAULT_TAIL_CHECKED, /* verified program tail-calls a checked one */
	JIT_FAULT_CALLBACK_PC,  /* callback pc outside the program */
	JIT_FAULT_CALLBACK_DEPTH, /* callback frame beyond BPFVM_MAX_FRAMES */
	JIT_FAULT_FELL_OFF,     /* ran past the last instruction */
	JIT_FAULT_HELPER_ARGS,  /* checked: arguments unfit for the helper's prototype */
};

/* jit_state.status of a run ended by an out-of-range LD_ABS/LD_IND. */
#define JIT_STATUS_PKT_EXIT 1

/* The state of one JIT run. Generated code holds its address in r12 and
 * reaches fields by offsetof, so the layout is free to change. */
struct jit_state {
	_Alignas(16) uint64_t saved_rsp;     /* where a fault unwinds to (innermost entry) */
	uint64_t stack_lo;      /* lowest byte of the BPF stack */
	uint64_t ctx_lo;        /* checked mode: the context region, inline fast path */
	uint64_t ctx_starts[4]; /* number of valid start offsets for 1/2/4/8-byte accesses */
	uint64_t budget;        /* checked mode: instructions left */
	uint64_t cur_fp;        /* r10 at the last helper call or access check */
	uint64_t tail_ctx;      /* r1 of a tail-call target (the run's context) */
	uint64_t callx_id;      /* helper id of the running callx */
	uint64_t ret;           /* r0 when the entry returns */
	uint64_t pkt_value;     /* result of the last LD_ABS/LD_IND */
	int32_t status;         /* 0 or -errno once a fault happened */
	uint32_t fault_kind;    /* enum jit_fault */
	uint32_t fault_pc;
	uint32_t fault_size;
	uint64_t fault_addr;
	uint32_t fault_access;  /* JIT_ACCESS_* of a memory fault */
	struct bpfvm_prog *fault_prog;   /* program whose instruction faulted */
	struct bpfvm_prog *fault_target; /* tail-call target of a tail-call fault */
	struct bpfvm_prog *main_prog;    /* the program the run started with */
	struct bpfvm_call_ctx cc;
	char fault_msg[160];    /* JIT_FAULT_HELPER_ARGS: which argument and why */
};

/* Bits of the access word the generated code hands to the check thunk:
 * pc << 8 | access | size. */
#define JIT_ACCESS_WRITE 0x80u
#define JIT_ACCESS_ATOMIC 0x40u

/* Compiled code of one program. */
struct bpfvm_jit_code {
	uint8_t *image;   /* mmap'ed, read+execute */
	size_t image_size;
	size_t map_size;
	uint32_t *addrs;  /* addrs[pc]: offset of insn pc; addrs[n]: end of the body */
	size_t n;
	uint32_t body_off;
	int checked;
	int blinded;
	unsigned passes;  /* emission passes until the layout converged */
	/* int entry(struct jit_state *, void *target, const uint64_t args[5], uint64_t fp) */
	int (*entry)(struct jit_state *st, const void *target, const uint64_t *args, uint64_t fp);
};

/* Runtime entry points called from generated code. */
int bpfvm__jit_check_access(struct jit_state *st, uint64_t addr, uint32_t info);
uint64_t bpfvm__jit_tail_call(uint64_t ctx, uint64_t map, uint64_t index, struct jit_state *st);
uint64_t bpfvm__jit_callx(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
			  struct bpfvm_call_ctx *cc);
/* Legacy packet load: 0 with the big-endian value in st->pkt_value, or 1 when
 * [off, off + size) is outside the packet (the run then ends with r0 = 0). */
int bpfvm__jit_ld_packet(struct jit_state *st, uint64_t off, uint32_t size);

/* Read-only view of a program's machine code for dumps: image, its size,
 * and the offset of each instruction (n + 1 entries). NULL if the program
 * was not JIT-compiled. */
const uint8_t *bpfvm__jit_image(const struct bpfvm_prog *prog, size_t *size,
				const uint32_t **addrs);

#endif
