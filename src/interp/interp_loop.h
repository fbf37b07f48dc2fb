/* The interpreter loop, as a template included by interp.c once per mode:
 *
 *   LOOP_NAME     name of the function to define
 *   LOOP_CHECKED  0 (verified: no run-time checks), 1 (checked mode) or an
 *                 expression read at run time (the tracing loop)
 *   LOOP_TRACE    1 to call run->trace before every instruction
 *
 * The handlers are generated from the opcode table: each row becomes one
 * handler that runs the semantics of its kind with the row's constant op,
 * size and flags, so every handler compiles down to its one operation.
 * With GCC/Clang the handlers are dispatched with computed goto (one
 * indirect jump per handler, as the kernel's ___bpf_prog_run and Lua's
 * lvm.c); elsewhere with a switch.
 *
 * The loop runs from ip at frame `depth` with r1..r5 = args until the
 * EXIT of that frame. Returns 0 (r0 in *r0), a negative errno (message in
 * run->error) or INTERP_STOP_PKT. */

static int LOOP_NAME(struct interp_state *st, struct bpfvm_prog *prog, const struct interp_insn *ip,
		     int depth, const uint64_t args[5], uint64_t *r0)
{
	const int base_depth = depth;
	const struct interp_insn *code = prog->interp->insns;
	uint64_t R[BPFVM_NREGS] = {0, args[0], args[1], args[2], args[3], args[4]};
	uint64_t n = 0; /* instructions executed since the last flush to st->executed */
	uint64_t limit = st->budget > st->executed ? st->budget - st->executed : 0;
	int rc = 0;
	(void)limit;
#if LOOP_TRACE
	const int checked = st->cc.checked;
#endif
	R[BPFVM_REG_FP] = (uint64_t)(uintptr_t)(st->stack[depth] + BPFVM_STACK_SIZE);

	/* Count, enforce the budget (checked mode), trace (tracing loop). */
#undef BEFORE_INSN
#if LOOP_TRACE
#define BEFORE_INSN                                                              \
	if (LOOP_CHECKED && __builtin_expect(n >= limit, 0))                     \
		goto budget_out;                                                 \
	n++;                                                                     \
	if (ip->h != INTERP_H_END)                                               \
		st->run->trace(st->run->trace_user, prog, (size_t)(ip - code), depth, R);
#else
#define BEFORE_INSN                                                              \
	if (LOOP_CHECKED && __builtin_expect(n >= limit, 0))                     \
		goto budget_out;                                                 \
	n++;
#endif

#if INTERP_COMPUTED_GOTO
	static const void *const handlers[INTERP_H__COUNT] = {
#define BPFVM_OPCODE(ID, ...) [BPFVM_OP_##ID] = &&L_##ID,
#include "bpfvm/opcodes.def"
#undef BPFVM_OPCODE
		[INTERP_H_TAIL_CALL] = &&L_TAIL_CALL,
		[INTERP_H_NO_HELPER] = &&L_NO_HELPER,
		[INTERP_H_HELPER_DENIED] = &&L_HELPER_DENIED,
		[INTERP_H_SECOND_SLOT] = &&L_SECOND_SLOT,
		[INTERP_H_END] = &&L_END,
	};
#define HANDLER(ID) L_##ID:
#define HANDLER_X(NAME) L_##NAME:
#define DISPATCH                                                                 \
	{                                                                        \
		BEFORE_INSN                                                      \
		goto *handlers[ip->h];                                           \
	}
	DISPATCH
#else
#define HANDLER(ID) case BPFVM_OP_##ID:
#define HANDLER_X(NAME) case INTERP_H_##NAME:
#define DISPATCH goto dispatch;
dispatch:
	BEFORE_INSN
	switch (ip->h) {
#endif

#define NEXT                                                                     \
	{                                                                        \
		ip++;                                                            \
		DISPATCH                                                         \
	}
#define FAULT(expr)                                                              \
	{                                                                        \
		rc = (expr);                                                     \
		goto fault;                                                      \
	}
#define CHECK_MEM(addr, size, access)                                            \
	if (LOOP_CHECKED && __builtin_expect(!interp_mem_ok(st, depth, addr, size, access), 0)) \
		FAULT(interp_fault_mem(st, prog, code, ip, addr, size, access))

	/* A helper sees the run through cc; the executed count and frame
	 * depth are published for bpf_loop-style callbacks (invoke). */
#define CALL_HELPER(fn)                                                          \
	{                                                                        \
		st->depth = depth;                                               \
		st->executed += n;                                               \
		n = 0;                                                           \
		R[0] = (fn)(R[1], R[2], R[3], R[4], R[5], &st->cc);              \
		if (__builtin_expect(st->stop != 0, 0))                          \
			goto stopped;                                            \
		if (LOOP_CHECKED)                                                \
			limit = st->budget > st->executed ? st->budget - st->executed : 0; \
	}

	/* Checked mode: the helper's prototype decides which arguments must
	 * point into memory of the run (see src/core/helper_args.c). */
#define CHECK_HELPER_ARGS(h)                                                     \
	if (LOOP_CHECKED) {                                                      \
		const uint64_t a_[5] = {R[1], R[2], R[3], R[4], R[5]};          \
		char m_[160];                                                    \
		if (__builtin_expect(bpfvm__helper_args_check(&st->cc, (h), a_, m_, sizeof(m_)) != 0, 0)) \
			FAULT(interp_fault(st, prog, code, ip, -EFAULT, "%s", m_)) \
	}

	/* ---- one handler per row of the opcode table -------------------------- */
#define EXEC_BPFVM_KIND_ALU(MV, OP, SIZE, FLAGS)                                     \
	{                                                                            \
		uint64_t s_ = ((FLAGS) & BPFVM_F_REG_SRC) ? R[ip->src] : (uint64_t)(int64_t)ip->imm; \
		if ((FLAGS) & BPFVM_F_ALU32)                                         \
			R[ip->dst] = interp_alu32(OP, (uint32_t)R[ip->dst], (uint32_t)s_, MV); \
		else                                                                 \
			R[ip->dst] = interp_alu64(OP, R[ip->dst], s_, MV);           \
		NEXT                                                                 \
	}
#define EXEC_BPFVM_KIND_END(MV, OP, SIZE, FLAGS)                                     \
	{                                                                            \
		R[ip->dst] = interp_end(OP, SIZE, R[ip->dst]);                       \
		NEXT                                                                 \
	}
#define EXEC_BPFVM_KIND_JA(MV, OP, SIZE, FLAGS)                                      \
	{                                                                            \
		ip = ip->x.t;                                                        \
		DISPATCH                                                             \
	}
#define EXEC_BPFVM_KIND_JCOND(MV, OP, SIZE, FLAGS)                                   \
	{                                                                            \
		uint64_t b_ = ((FLAGS) & BPFVM_F_REG_SRC) ? R[ip->src] : (uint64_t)(int64_t)ip->imm; \
		int taken_ = ((FLAGS) & BPFVM_F_ALU32)                               \
				     ? interp_cond32(OP, (uint32_t)R[ip->dst], (uint32_t)b_) \
				     : interp_cond64(OP, R[ip->dst], b_);            \
		ip = taken_ ? ip->x.t : ip + 1;                                      \
		DISPATCH                                                             \
	}
#define EXEC_BPFVM_KIND_CALL(MV, OP, SIZE, FLAGS)                                    \
	{                                                                            \
		if ((OP) == BPFVM_CALL_HELPER) {                                     \
			CHECK_HELPER_ARGS(prog->call_helper[ip - code])              \
			CALL_HELPER(ip->x.fn)                                        \
			NEXT                                                         \
		}                                                                    \
		if ((OP) == BPFVM_CALL_LOCAL)                                        \
			goto call_local;                                             \
		FAULT(interp_fault(st, prog, code, ip, -EINVAL, "kfunc calls are not supported")) \
	}
#define EXEC_BPFVM_KIND_CALLX(MV, OP, SIZE, FLAGS)                                   \
	{                                                                            \
		/* callx: the register holds a helper's static id (the           \
		 * bpf_conformance/PREVAIL reading of RFC 9669's callx). */     \
		uint64_t id_ = R[ip->dst];                                           \
		if (id_ == BPFVM_HELPER_TAIL_CALL)                                   \
			goto tail_call;                                              \
		const struct bpfvm_helper *h_ =                                      \
			id_ <= UINT32_MAX ? bpfvm_vm_helper(st->cc.vm, (uint32_t)id_) : NULL; \
		if (!h_ || !h_->fn)                                                  \
			FAULT(interp_fault(st, prog, code, ip, -EINVAL,               \
					   "callx to unknown helper %llu", (unsigned long long)id_)) \
		if (!interp_helper_allowed(prog, h_))                                \
			FAULT(interp_fault(st, prog, code, ip, -EINVAL,               \
					   "helper bpf_%s#%llu is not available to program type %d", \
					   h_->name, (unsigned long long)id_, (int)prog->type)) \
		CHECK_HELPER_ARGS(h_)                                                \
		CALL_HELPER(h_->fn)                                                  \
		NEXT                                                                 \
	}
#define EXEC_BPFVM_KIND_EXIT(MV, OP, SIZE, FLAGS)                                    \
	{                                                                            \
		if (depth == base_depth)                                             \
			goto done;                                                   \
		const struct interp_frame *f_ = &st->frames[--depth];                \
		R[6] = f_->saved[0];                                                 \
		R[7] = f_->saved[1];                                                 \
		R[8] = f_->saved[2];                                                 \
		R[9] = f_->saved[3];                                                 \
		R[10] = f_->saved[4];                                                \
		code = f_->code;                                                     \
		prog = f_->prog;                                                     \
		st->cc.prog = prog;                                                  \
		ip = f_->ret;                                                        \
		DISPATCH                                                             \
	}
#define EXEC_BPFVM_KIND_LDDW(MV, OP, SIZE, FLAGS)                                    \
	{                                                                            \
		R[ip->dst] = ip->x.u64;                                              \
		ip += 2;                                                             \
		DISPATCH                                                             \
	}
#define EXEC_PKT_LOAD(SIZE, INDIRECT)                                                \
	{                                                                            \
		uint32_t o_ = (uint32_t)ip->imm + ((INDIRECT) ? (uint32_t)R[ip->src] : 0u); \
		const struct bpfvm_run *run_ = st->run;                              \
		if ((int32_t)o_ < 0 || !run_->pkt || run_->pkt_len < (SIZE) ||      \
		    o_ > run_->pkt_len - (SIZE))                                     \
			goto pkt_out;                                                \
		R[0] = interp_end(BPFVM_END_BE, SIZE,                                \
				  interp_load(SIZE, (uintptr_t)run_->pkt + o_));     \
		NEXT                                                                 \
	}
#define EXEC_BPFVM_KIND_LDABS(MV, OP, SIZE, FLAGS) EXEC_PKT_LOAD(SIZE, 0)
#define EXEC_BPFVM_KIND_LDIND(MV, OP, SIZE, FLAGS) EXEC_PKT_LOAD(SIZE, 1)
#define EXEC_BPFVM_KIND_LDX(MV, OP, SIZE, FLAGS)                                     \
	{                                                                            \
		uint64_t a_ = R[ip->src] + (uint64_t)ip->x.off;                      \
		CHECK_MEM(a_, SIZE, INTERP_READ)                                     \
		R[ip->dst] = interp_load(SIZE, (uintptr_t)a_);                       \
		NEXT                                                                 \
	}
#define EXEC_BPFVM_KIND_LDXSX(MV, OP, SIZE, FLAGS)                                   \
	{                                                                            \
		uint64_t a_ = R[ip->src] + (uint64_t)ip->x.off;                      \
		CHECK_MEM(a_, SIZE, INTERP_READ)                                     \
		R[ip->dst] = interp_sext(SIZE, interp_load(SIZE, (uintptr_t)a_));    \
		NEXT                                                                 \
	}
#define EXEC_BPFVM_KIND_ST(MV, OP, SIZE, FLAGS)                                      \
	{                                                                            \
		uint64_t a_ = R[ip->dst] + (uint64_t)ip->x.off;                      \
		CHECK_MEM(a_, SIZE, INTERP_WRITE)                                    \
		interp_store(SIZE, (uintptr_t)a_, (uint64_t)(int64_t)ip->imm);       \
		NEXT                                                                 \
	}
#define EXEC_BPFVM_KIND_STX(MV, OP, SIZE, FLAGS)                                     \
	{                                                                            \
		uint64_t a_ = R[ip->dst] + (uint64_t)ip->x.off;                      \
		CHECK_MEM(a_, SIZE, INTERP_WRITE)                                    \
		interp_store(SIZE, (uintptr_t)a_, R[ip->src]);                       \
		NEXT                                                                 \
	}
#define EXEC_BPFVM_KIND_ATOMIC(MV, OP, SIZE, FLAGS)                                  \
	{                                                                            \
		uint64_t a_ = R[ip->dst] + (uint64_t)ip->x.off;                      \
		CHECK_MEM(a_, SIZE, INTERP_ATOMIC)                                   \
		uint64_t old_ = (SIZE) == 8                                          \
					? interp_atomic64(OP, (uintptr_t)a_, R[ip->src], R[0]) \
					: interp_atomic32(OP, (uintptr_t)a_, R[ip->src], R[0]); \
		if ((OP) == BPFVM_ATOMIC_CMPXCHG)                                    \
			R[0] = old_;                                                 \
		else if (INTERP_ATOMIC_FETCHES(OP))                                  \
			R[ip->src] = old_;                                           \
		NEXT                                                                 \
	}

#define BPFVM_OPCODE(ID, CODE, M, MV, KIND, OP, SIZE, ZERO, FLAGS, VER, MN, LLVM) \
	HANDLER(ID) EXEC_##KIND(MV, OP, SIZE, FLAGS)
#include "bpfvm/opcodes.def"
#undef BPFVM_OPCODE

	/* ---- handlers prepare substitutes for rows ---------------------------- */
	HANDLER_X(TAIL_CALL)
	goto tail_call;
	HANDLER_X(NO_HELPER)
	FAULT(interp_fault(st, prog, code, ip, -EINVAL, "call to unknown helper %d", ip->imm))
	HANDLER_X(HELPER_DENIED)
	FAULT(interp_fault(st, prog, code, ip, -EINVAL, "helper bpf_%s#%d is not available to program type %d",
			   prog->call_helper[ip - code]->name, ip->imm, (int)prog->type))
	HANDLER_X(SECOND_SLOT)
	FAULT(interp_fault(st, prog, code, ip, -EINVAL, "jump into the middle of ld_imm64"))
	HANDLER_X(END)
	FAULT(interp_fault(st, prog, code, ip, -EINVAL, "fell off the end of the program"))
#if !INTERP_COMPUTED_GOTO
	}
	FAULT(interp_fault(st, prog, code, ip, -EINVAL, "invalid instruction"))
#endif

call_local:
	/* bpf-to-bpf call: a new zeroed stack frame; r6..r9 and r10 come back
	 * on EXIT (the kernel interpreter gets the same effect by recursing). */
	if (__builtin_expect(depth + 1 >= BPFVM_MAX_FRAMES, 0))
		FAULT(interp_fault(st, prog, code, ip, -E2BIG,
				   "call depth exceeds %d frames", BPFVM_MAX_FRAMES))
	{
		struct interp_frame *f = &st->frames[depth++];
		f->ret = ip + 1;
		f->code = code;
		f->prog = prog;
		memcpy(f->saved, &R[6], sizeof(f->saved));
		interp_zero_frame(st->stack[depth]);
		R[BPFVM_REG_FP] = (uint64_t)(uintptr_t)(st->stack[depth] + BPFVM_STACK_SIZE);
		ip = ip->x.t;
	}
	DISPATCH

tail_call: {
	struct bpfvm_prog *target = NULL;
	rc = interp_tail_target(st, prog, code, ip, R[2], R[3], LOOP_CHECKED, &target);
	if (rc)
		goto fault;
	if (!target)
		NEXT /* empty slot or limit reached: fall through, as the kernel */
	prog = target;
	st->cc.prog = target;
	code = target->interp->insns;
	ip = code;
	R[1] = (uint64_t)(uintptr_t)st->run->ctx;
	DISPATCH
}

budget_out:
	rc = interp_fault(st, prog, code, ip, -E2BIG,
			  "instruction budget of %llu exhausted (endless loop?)",
			  (unsigned long long)st->budget);
fault:
	st->executed += n;
	return rc;
stopped:
	st->executed += n;
	return st->stop;
pkt_out:
	/* Out-of-range legacy packet load: the run ends with r0 = 0. */
	st->executed += n;
	*r0 = 0;
	return INTERP_STOP_PKT;
done:
	st->executed += n;
	*r0 = R[0];
	return 0;

#undef HANDLER
#undef HANDLER_X
#undef BEFORE_INSN
#undef DISPATCH
#undef NEXT
#undef FAULT
#undef CHECK_MEM
#undef CHECK_HELPER_ARGS
#undef CALL_HELPER
#undef EXEC_PKT_LOAD
#undef EXEC_BPFVM_KIND_ALU
#undef EXEC_BPFVM_KIND_END
#undef EXEC_BPFVM_KIND_JA
#undef EXEC_BPFVM_KIND_JCOND
#undef EXEC_BPFVM_KIND_CALL
#undef EXEC_BPFVM_KIND_CALLX
#undef EXEC_BPFVM_KIND_EXIT
#undef EXEC_BPFVM_KIND_LDDW
#undef EXEC_BPFVM_KIND_LDABS
#undef EXEC_BPFVM_KIND_LDIND
#undef EXEC_BPFVM_KIND_LDX
#undef EXEC_BPFVM_KIND_LDXSX
#undef EXEC_BPFVM_KIND_ST
#undef EXEC_BPFVM_KIND_STX
#undef EXEC_BPFVM_KIND_ATOMIC
}
