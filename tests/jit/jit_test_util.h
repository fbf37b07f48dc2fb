/* Shared by the JIT tests: building programs from opcode-table rows and
 * running one program through both engines. */
#ifndef BPFVM_TESTS_JIT_UTIL_H
#define BPFVM_TESTS_JIT_UTIL_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm/bpfvm.h"
#include "common/harness.h"

struct prog_builder {
	struct bpfvm_insn insns[4096];
	size_t n;
};

/* Append one row (two slots for LD_IMM64). */
static inline size_t pb_add(struct prog_builder *pb, enum bpfvm_opid id, int dst, int src, int off,
			    int32_t imm, uint64_t imm64)
{
	/* Fields the row requires to be zero are zeroed here, so callers
	 * can pass one set of operands to every row of a family. */
	const struct bpfvm_opinfo *row = &bpfvm_isa_table()[id];
	if (row->zero & BPFVM_Z_DST)
		dst = 0;
	if (row->zero & BPFVM_Z_SRC)
		src = 0;
	if (row->zero & BPFVM_Z_OFF)
		off = 0;
	if (row->zero & BPFVM_Z_IMM)
		imm = 0;
	size_t at = pb->n;
	pb->n += (size_t)bpfvm_isa_encode(id, (uint8_t)dst, (uint8_t)src, (int16_t)off, imm, imm64,
					  &pb->insns[pb->n]);
	return at;
}

#define PB(pb, ID, dst, src, off, imm) pb_add((pb), BPFVM_OP_##ID, dst, src, off, imm, 0)
#define PB_LDDW(pb, dst, v) pb_add((pb), BPFVM_OP_LDDW, dst, 0, 0, 0, (v))

/* The result of one run. */
struct engine_result {
	int rc;
	uint64_t r0;
	char error[256];
};

/* Load prog (checked unless verified) for both engines and run it once in
 * each, each on its own copy of mem. mem_out_* receive the memory after. */
static inline int run_engines(struct bpfvm_vm *vm, const struct bpfvm_insn *insns, size_t n,
			      const void *mem, size_t len, struct engine_result *interp,
			      struct engine_result *jit, void *mem_interp, void *mem_jit,
			      const struct bpfvm_prog_opts *opts_in)
{
	struct bpfvm_prog_opts opts = {.safety = BPFVM_SAFETY_CHECKED};
	if (opts_in)
		opts = *opts_in;
	struct bpfvm_prog *prog;
	int rc = bpfvm_prog_load(vm, insns, n, &opts, &prog);
	if (rc)
		return rc;
	struct engine_result *res[2] = {interp, jit};
	void *bufs[2] = {mem_interp, mem_jit};
	for (int e = 0; e < 2; e++) {
		if (len)
			memcpy(bufs[e], mem, len);
		struct bpfvm_run run = {0};
		run.ctx = len ? bufs[e] : NULL;
		run.ctx_size = len;
		run.engine = e == 0 ? BPFVM_ENGINE_INTERP : BPFVM_ENGINE_JIT;
		run.budget = 1000000;
		res[e]->rc = bpfvm_prog_run(prog, &run);
		res[e]->r0 = run.retval;
		snprintf(res[e]->error, sizeof(res[e]->error), "%s", run.error);
	}
	bpfvm_prog_destroy(prog);
	return 0;
}

#endif
