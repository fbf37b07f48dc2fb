/* Running JIT-compiled programs: the run state, the C side of checked
 * memory accesses, tail calls, legacy packet loads and callbacks, and the
 * messages of faults. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "jit/jit.h"

/* Clear n bytes (a multiple of 16, 16-aligned) with 16-byte stores.
 * memset of a few hundred bytes becomes `rep stosb` here, which costs
 * ~90 ns to start on the machines measured (more than a short program's
 * whole run); the empty asm keeps the compiler from turning the loop back
 * into memset. */
static void zero_bytes(void *mem, size_t n)
{
#if defined(__GNUC__)
	typedef uint64_t u64x2 __attribute__((vector_size(16), aligned(16)));
	u64x2 *p = mem;
	for (size_t i = 0; i < n / 16; i++) {
		__asm__("" : "+r"(p));
		p[i] = (u64x2){0, 0};
	}
#else
	memset(mem, 0, n);
#endif
}

static void zero_frame(void *frame)
{
	zero_bytes(frame, BPFVM_STACK_SIZE);
}

int bpfvm__jit_check_access(struct jit_state *st, uint64_t addr, uint32_t info)
{
	uint32_t size = info & 0xf;
	uint32_t access = info & (JIT_ACCESS_WRITE | JIT_ACCESS_ATOMIC);
	int aligned = !(access & JIT_ACCESS_ATOMIC) || !(addr & (size - 1));
	/* Inside the frames array only the frames in use count (the whole
	 * array is a region so that helpers accept stack pointers). */
	uint64_t stack_off = addr - st->stack_lo;
	if (stack_off < JIT_STACK_BYTES) {
		uint64_t in_use = st->cur_fp - st->stack_lo;
		if (aligned && stack_off < in_use && size <= in_use - stack_off)
			return 0;
	} else if (aligned && bpfvm__region_allowed(&st->cc, addr, size, (access & JIT_ACCESS_WRITE) != 0)) {
		return 0;
	}
	st->status = -EFAULT;
	st->fault_kind = JIT_FAULT_MEMORY;
	st->fault_pc = info >> 8;
	st->fault_addr = addr;
	st->fault_size = size;
	st->fault_access = access;
	return 1;
}

static int is_prog_map(const struct bpfvm_prog *prog, uint64_t ptr)
{
	for (size_t i = 0; i < prog->nmaps; i++)
		if ((uint64_t)(uintptr_t)prog->maps[i] == ptr)
			return 1;
	return 0;
}

static uint64_t tail_fault(struct jit_state *st, enum jit_fault kind, uint64_t map,
			   struct bpfvm_prog *target)
{
	st->status = -EINVAL;
	st->fault_kind = kind;
	st->fault_prog = st->cc.prog;
	st->fault_addr = map;
	st->fault_target = target;
	return 1;
}


/* Returns the code address of the target, 0 to fall through (empty slot,
 * index out of range, 33 tail calls done), 1 after a fault (generated
 * code stored the pc in fault_pc). The rules are the interpreter's: in
 * checked mode r2 must be a PROG_ARRAY of the program; a verified program
 * cannot continue into a checked one. A target that was prepared only for
 * the interpreter cannot continue this native run on the same frame: the
 * run stops with -EINVAL saying so (the interpreter refuses the converse;
 * load every program of a PROG_ARRAY for the same engine, the JIT being
 * the default where available). */
uint64_t bpfvm__jit_tail_call(uint64_t ctx, uint64_t map, uint64_t index, struct jit_state *st)
{
	(void)ctx;
	struct bpfvm_prog *cur = st->cc.prog;
	if (st->cc.checked) {
		if (!is_prog_map(cur, map))
			return tail_fault(st, JIT_FAULT_TAIL_MAP, map, NULL);
		if (bpfvm_map_def((struct bpfvm_map *)(uintptr_t)map)->type != BPFVM_MAP_PROG_ARRAY)
			return tail_fault(st, JIT_FAULT_TAIL_NOT_PROG_ARRAY, map, NULL);
	}
	if (st->cc.tail_calls >= BPFVM_MAX_TAIL_CALLS || index > UINT32_MAX)
		return 0;
	struct bpfvm_prog *target = bpfvm__prog_array_lookup((struct bpfvm_map *)(uintptr_t)map,
							     (uint32_t)index);
	if (!target)
		return 0;
	if (!target->jit)
		return tail_fault(st, JIT_FAULT_TAIL_NO_JIT, map, target);
	if (!st->cc.checked && target->safety == BPFVM_SAFETY_CHECKED)
		return tail_fault(st, JIT_FAULT_TAIL_CHECKED, map, target);
	if (st->cc.checked)
		bpfvm__allow_map_values(&st->cc, target);
	st->cc.tail_calls++;
	st->cc.prog = target;
	st->tail_ctx = (uint64_t)(uintptr_t)st->cc.run->ctx;
	return (uint64_t)(uintptr_t)(target->jit->image + target->jit->body_off);
}

uint64_t bpfvm__jit_callx(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
			  struct bpfvm_call_ctx *cc)
{
	struct jit_state *st = cc->engine;
	uint64_t id = st->callx_id;
	const struct bpfvm_helper *h = id <= UINT32_MAX ? bpfvm_vm_helper(cc->vm, (uint32_t)id) : NULL;
	if (!h || !h->fn) {
		st->status = -EINVAL;
		st->fault_kind = JIT_FAULT_BAD_CALLX;
		st->fault_prog = cc->prog;
		st->fault_addr = id;
		return 0;
	}
	if (cc->checked) {
		const uint64_t args[5] = {r1, r2, r3, r4, r5};
		if (bpfvm__helper_args_check(cc, h, args, st->fault_msg, sizeof(st->fault_msg))) {
			st->status = -EFAULT;
			st->fault_kind = JIT_FAULT_HELPER_ARGS;
			st->fault_prog = cc->prog;
			return 0;
		}
	}
	return h->fn(r1, r2, r3, r4, r5, cc);
}

int bpfvm__jit_ld_packet(struct jit_state *st, uint64_t off, uint32_t size)
{
	const struct bpfvm_run *run = st->cc.run;
	if (!run->pkt || off > run->pkt_len || size > run->pkt_len - off)
		return 1;
	const uint8_t *p = (const uint8_t *)run->pkt + off;
	uint64_t v = 0;
	for (uint32_t i = 0; i < size; i++)
		v = v << 8 | p[i];
	st->pkt_value = v;
	return 0;
}

/* cc->invoke: run the function at pc of the running program with r1..r5 =
 * args in the frame after the helper caller's (bpf_loop,
 * for_each_map_elem). A fault inside sets the status, which the generated
 * code checks when the helper returns. */
static int jit_invoke(struct bpfvm_call_ctx *cc, uint64_t pc, const uint64_t args[5], uint64_t *ret)
{
	struct jit_state *st = cc->engine;
	struct bpfvm_prog *prog = cc->prog;
	const struct bpfvm_jit_code *jit = prog->jit;
	uint64_t fp = st->cur_fp + BPFVM_STACK_SIZE;
	int rc;
	if (pc >= prog->n) {
		st->fault_kind = JIT_FAULT_CALLBACK_PC;
		st->fault_addr = pc;
		rc = -EINVAL;
	} else if (fp - st->stack_lo > JIT_STACK_BYTES) {
		st->fault_kind = JIT_FAULT_CALLBACK_DEPTH;
		rc = -E2BIG;
	} else {
		zero_frame((void *)(uintptr_t)(fp - BPFVM_STACK_SIZE));
		uint64_t caller_fp = st->cur_fp;
		rc = jit->entry(st, jit->image + jit->addrs[pc], args, fp);
		st->cur_fp = caller_fp; /* the callback's own calls moved it */
		*ret = st->ret;
		cc->prog = prog;
		return rc == JIT_STATUS_PKT_EXIT ? -ECANCELED : rc;
	}
	st->status = rc;
	st->fault_prog = prog;
	return rc;
}

/* "insn N: what", naming the program when it is not the one the run
 * started with; the texts are the interpreter's. */
static int fault_message(const struct jit_state *st, struct bpfvm_run *run)
{
	char msg[200];
	unsigned pc = st->fault_pc;
	switch ((enum jit_fault)st->fault_kind) {
	case JIT_FAULT_MEMORY:
		if ((st->fault_access & JIT_ACCESS_ATOMIC) && (st->fault_addr & (st->fault_size - 1)))
			snprintf(msg, sizeof(msg), "misaligned atomic access of %u bytes at 0x%llx",
				 st->fault_size, (unsigned long long)st->fault_addr);
		else
			snprintf(msg, sizeof(msg),
				 "invalid %s of %u bytes at 0x%llx (outside the stack, context and "
				 "registered memory)",
				 (st->fault_access & JIT_ACCESS_ATOMIC) ? "atomic access"
				 : (st->fault_access & JIT_ACCESS_WRITE) ? "write" : "read",
				 st->fault_size, (unsigned long long)st->fault_addr);
		break;
	case JIT_FAULT_BUDGET:
		snprintf(msg, sizeof(msg), "instruction budget of %llu exhausted (endless loop?)",
			 (unsigned long long)(run->budget ? run->budget : BPFVM_DEFAULT_BUDGET));
		break;
	case JIT_FAULT_CALL_DEPTH:
		snprintf(msg, sizeof(msg), "call depth exceeds %d frames", BPFVM_MAX_FRAMES);
		break;
	case JIT_FAULT_BAD_HELPER:
		snprintf(msg, sizeof(msg), "call to unknown helper %d", st->fault_prog->insns[pc].imm);
		break;
	case JIT_FAULT_BAD_CALLX:
		snprintf(msg, sizeof(msg), "callx to unknown helper %llu",
			 (unsigned long long)st->fault_addr);
		break;
	case JIT_FAULT_TAIL_MAP:
		snprintf(msg, sizeof(msg), "tail call with r2 = 0x%llx, not a map of the program",
			 (unsigned long long)st->fault_addr);
		break;
	case JIT_FAULT_TAIL_NOT_PROG_ARRAY:
		snprintf(msg, sizeof(msg), "tail call through a map that is not a prog array");
		break;
	case JIT_FAULT_TAIL_NO_JIT:
		snprintf(msg, sizeof(msg), "tail call target '%s' was not prepared for the JIT",
			 st->fault_target->name);
		break;
	case JIT_FAULT_TAIL_CHECKED:
		snprintf(msg, sizeof(msg),
			 "tail call from a verified program into '%s', which needs run-time checks",
			 st->fault_target->name);
		break;
	case JIT_FAULT_FELL_OFF:
		snprintf(msg, sizeof(msg), "fell off the end of the program");
		break;
	case JIT_FAULT_HELPER_ARGS:
		snprintf(msg, sizeof(msg), "%s", st->fault_msg);
		break;
	case JIT_FAULT_CALLBACK_PC:
		return bpfvm__run_error(run, st->status, "callback at insn %llu is outside the program",
					(unsigned long long)st->fault_addr);
	case JIT_FAULT_CALLBACK_DEPTH:
		return bpfvm__run_error(run, st->status, "callback exceeds %d frames", BPFVM_MAX_FRAMES);
	default:
		snprintf(msg, sizeof(msg), "run failed");
		break;
	}
	if (!st->fault_prog || st->fault_prog == st->main_prog)
		return bpfvm__run_error(run, st->status, "insn %u: %s", pc, msg);
	return bpfvm__run_error(run, st->status, "insn %u of program '%s': %s", pc, st->fault_prog->name,
				msg);
}

/* What only checked runs use: the budget, the context bounds the inline
 * checks read, and the regions helpers accept (the stack is the run's own
 * memory; the generated code checks it inline). */
static void prepare_checked_run(struct jit_state *st, struct bpfvm_prog *prog,
				struct bpfvm_run *run, uint8_t *stack)
{
	static const size_t sizes[4] = {1, 2, 4, 8};
	int has_ctx = run->ctx && run->ctx_size;
	st->budget = run->budget ? run->budget : BPFVM_DEFAULT_BUDGET;
	st->ctx_lo = has_ctx ? (uint64_t)(uintptr_t)run->ctx : 0;
	for (int i = 0; i < 4; i++)
		st->ctx_starts[i] = has_ctx && run->ctx_size >= sizes[i] ? run->ctx_size - sizes[i] + 1 : 0;
	bpfvm__call_allow_fixed_region(&st->cc, stack, JIT_STACK_BYTES, 1);
	bpfvm__allow_map_values(&st->cc, prog);
}

/* The fixed cost of every run: keep it to the stores generated code and
 * the fault paths need. */
int bpfvm__jit_run(struct bpfvm_prog *prog, struct bpfvm_run *run)
{
	struct jit_state st;
	_Alignas(64) uint8_t stack[JIT_STACK_BYTES];
	/* Only what generated code reads before writing needs a value. */
	st.status = 0;
	st.fault_kind = JIT_FAULT_NONE;
	st.fault_prog = NULL;
	st.saved_rsp = 0; /* the entry saves and restores it */
	bpfvm__call_ctx_init(&st.cc, prog, run);
	st.cc.invoke = jit_invoke;
	st.cc.engine = &st;
	st.main_prog = prog;
	st.stack_lo = (uint64_t)(uintptr_t)stack;
	/* Frame 0 starts zeroed, as in the interpreter (only the depth the
	 * verifier measured, when it did); later frames are zeroed by the
	 * call in checked mode (the verifier forbids reading stack that was
	 * not written otherwise). */
	uint32_t depth = st.cc.checked ? BPFVM_STACK_SIZE : prog->stack_depth;
	if (depth > BPFVM_STACK_SIZE - 16)
		zero_frame(stack);
	else if (depth)
		zero_bytes(stack + BPFVM_STACK_SIZE - ((depth + 15) & ~15u), (depth + 15) & ~15u);
	if (st.cc.checked)
		prepare_checked_run(&st, prog, run, stack);
	const uint64_t args[5] = {(uint64_t)(uintptr_t)run->ctx, run->ctx_size, 0, 0, 0};
	const struct bpfvm_jit_code *jit = prog->jit;
	int rc = jit->entry(&st, jit->image + jit->body_off, args, st.stack_lo + BPFVM_STACK_SIZE);
	if (rc == JIT_STATUS_PKT_EXIT) {
		run->retval = 0;
		return 0;
	}
	if (rc)
		return fault_message(&st, run);
	run->retval = st.ret;
	return 0;
}
