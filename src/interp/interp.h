/* The interpreter's pre-decoded program and run state (private to src/interp). */
#ifndef BPFVM_INTERP_H
#define BPFVM_INTERP_H

#include <stdint.h>

#include "core/internal.h"

/* Handlers: one per row of the opcode table (enum bpfvm_opid), then a few
 * that prepare substitutes for rows needing special treatment. */
enum interp_handler {
	INTERP_H_TAIL_CALL = BPFVM_OP__COUNT, /* call 12: the engine's own tail call */
	INTERP_H_NO_HELPER,                   /* call of a helper the VM lacks */
	INTERP_H_HELPER_DENIED,               /* helper not for this program type */
	INTERP_H_SECOND_SLOT,                 /* second half of an LD_IMM64 */
	INTERP_H_END,                         /* one past the last instruction */
	INTERP_H__COUNT
};

/* One decoded slot, 16 bytes. What x holds depends on the row:
 * jumps and local calls: the target; helper calls: the function;
 * LD_IMM64: the resolved value; memory access: the sign-extended offset. */
struct interp_insn {
	uint8_t h;   /* enum bpfvm_opid or enum interp_handler */
	uint8_t dst, src;
	uint8_t pad;
	int32_t imm;
	union {
		const struct interp_insn *t;
		bpfvm_helper_fn fn;
		uint64_t u64;
		int64_t off;
	} x;
};

struct bpfvm_interp_code {
	struct interp_insn *insns; /* n + 1 slots: the last is INTERP_H_END */
	size_t n;
};

/* What a bpf-to-bpf call saves. */
struct interp_frame {
	const struct interp_insn *ret;
	const struct interp_insn *code; /* code of the calling program */
	struct bpfvm_prog *prog;
	uint64_t saved[5];              /* r6..r10 */
};

/* Why a run stops early besides a fault. */
enum { INTERP_STOP_NONE = 0, INTERP_STOP_PKT = 1 };

struct interp_state {
	struct bpfvm_call_ctx cc;
	struct bpfvm_run *run;
	const struct bpfvm_prog *main_prog; /* the program the run started with */
	uint64_t executed;
	uint64_t budget;
	int depth;    /* frame of the instruction calling a helper (for invoke) */
	int stop;     /* INTERP_STOP_* or a negative errno raised in a nested loop */
	int (*loop)(struct interp_state *st, struct bpfvm_prog *prog, const struct interp_insn *ip,
		    int depth, const uint64_t args[5], uint64_t *r0);
	struct interp_frame frames[BPFVM_MAX_FRAMES];
	_Alignas(16) uint8_t stack[BPFVM_MAX_FRAMES][BPFVM_STACK_SIZE];
};

#endif
