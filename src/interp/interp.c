/* The interpreter: decodes a program once into struct interp_insn (helper
 * functions, LD_IMM64 values and jump targets resolved) and runs it with
 * one of three compiled copies of the loop in interp_loop.h:
 *   - verified programs: no run-time checks at all;
 *   - checked programs: every memory access bounds-checked against the
 *     stack frames, the context and the registered regions, and an
 *     instruction budget;
 *   - tracing: the run's trace callback before every instruction.
 * The copy is chosen once per run, so the fast path pays nothing for the
 * others. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interp/interp.h"
#include "interp/interp_ops.h"

#if defined(__GNUC__) && !defined(BPFVM_INTERP_SWITCH)
#define INTERP_COMPUTED_GOTO 1
#else
#define INTERP_COMPUTED_GOTO 0
#endif

_Static_assert(INTERP_H__COUNT <= 256, "handler index must fit struct interp_insn.h");
_Static_assert(sizeof(struct interp_insn) == 16, "decoded slots are 16 bytes");

enum interp_access { INTERP_READ, INTERP_WRITE, INTERP_ATOMIC };

/* ---- faults ---------------------------------------------------------------------- */

/* "insn N: message" in run->error; N is the slot in the running program
 * (named when it is not the program the run started with). */
static int __attribute__((noinline, cold, format(printf, 6, 7)))
interp_fault(struct interp_state *st, const struct bpfvm_prog *prog, const struct interp_insn *code,
	     const struct interp_insn *ip, int err, const char *fmt, ...)
{
	char msg[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	struct bpfvm_run *run = st->run;
	if (prog == st->main_prog)
		return bpfvm__run_error(run, err, "insn %td: %s", ip - code, msg);
	return bpfvm__run_error(run, err, "insn %td of program '%s': %s", ip - code, prog->name, msg);
}

static int __attribute__((noinline, cold))
interp_fault_mem(struct interp_state *st, const struct bpfvm_prog *prog,
		 const struct interp_insn *code, const struct interp_insn *ip, uint64_t addr,
		 size_t size, enum interp_access access)
{
	static const char *const what[] = {"read", "write", "atomic access"};
	if (access == INTERP_ATOMIC && (addr & (size - 1)))
		return interp_fault(st, prog, code, ip, -EFAULT,
				    "misaligned atomic access of %zu bytes at 0x%llx", size,
				    (unsigned long long)addr);
	return interp_fault(st, prog, code, ip, -EFAULT,
			    "invalid %s of %zu bytes at 0x%llx (outside the stack, context and "
			    "registered memory)",
			    what[access], size, (unsigned long long)addr);
}

/* ---- checked mode -------------------------------------------------------------------- */

/* May the instruction access [addr, addr + size)? The stack frames in use
 * (0..depth) are one contiguous array; anything else must be a region of
 * the run (context, packet, memory helpers handed out). */
static inline int interp_mem_ok(struct interp_state *st, int depth, uint64_t addr, size_t size,
				enum interp_access access)
{
	if (access == INTERP_ATOMIC && (addr & (size - 1)))
		return 0;
	/* Inside the frames array the frames in use decide, even though the
	 * whole array is a region (for helpers given stack pointers). */
	uint64_t stack_off = addr - (uint64_t)(uintptr_t)st->stack[0];
	uint64_t stack_len = (uint64_t)(depth + 1) * BPFVM_STACK_SIZE;
	if (stack_off < sizeof(st->stack))
		return stack_off < stack_len && size <= stack_len - stack_off;
	/* The first region is the context when there is one: try it inline. */
	const struct bpfvm_region *r = &st->cc.regions[0];
	uint64_t r_lo = (uint64_t)(uintptr_t)r->addr;
	if (st->cc.nregions > 0 && addr - r_lo < r->size && size <= r->size - (addr - r_lo) &&
	    (access == INTERP_READ || r->writable))
		return 1;
	return bpfvm__region_allowed(&st->cc, addr, size, access != INTERP_READ);
}

/* Zero a 512-byte stack frame. Compilers turn memset and plain loops into
 * `rep stos`, whose start-up cost dominated bpf-to-bpf calls; 16-byte
 * stores behind an opaque pointer are several times faster. */
static inline void interp_zero_frame(uint8_t *frame)
{
#if defined(__GNUC__)
	typedef uint64_t v2u64 __attribute__((vector_size(16), aligned(16)));
	v2u64 *v = (v2u64 *)(void *)frame;
	for (int i = 0; i < BPFVM_STACK_SIZE / 16; i += 4) {
		__asm__("" : "+r"(v)); /* keeps the loop from becoming memset */
		v[i] = (v2u64){0, 0};
		v[i + 1] = (v2u64){0, 0};
		v[i + 2] = (v2u64){0, 0};
		v[i + 3] = (v2u64){0, 0};
	}
#else
	memset(frame, 0, BPFVM_STACK_SIZE);
#endif
}

/* Zero the top `bytes` of a frame (rounded up to 64): what a verified
 * program can touch, as the verifier measured it (prog->stack_depth).
 * Short filters then do not pay for zeroing 512 bytes on every run. */
static inline void interp_zero_stack_top(uint8_t *frame, uint32_t bytes)
{
	if (bytes >= BPFVM_STACK_SIZE - 63) {
		interp_zero_frame(frame);
		return;
	}
	uint32_t rounded = (bytes + 63) & ~63u;
	memset(frame + BPFVM_STACK_SIZE - rounded, 0, rounded);
}

/* May programs of prog's type call helper h (its prog_types mask)? */
static inline int interp_helper_allowed(const struct bpfvm_prog *prog, const struct bpfvm_helper *h)
{
	return !h->prog_types || (h->prog_types & (1ULL << ((unsigned)prog->type & 63)));
}

/* ---- tail calls ------------------------------------------------------------------------ */

static int is_map_of(const struct bpfvm_prog *prog, uint64_t ptr)
{
	for (size_t i = 0; i < prog->nmaps; i++)
		if ((uint64_t)(uintptr_t)prog->maps[i] == ptr)
			return 1;
	return 0;
}


/* bpf_tail_call(ctx, map, index): the program in the slot, or NULL to fall
 * through (empty slot, out of range, 33 tail calls done). In checked mode
 * the map must be one the program references, so a forged pointer never
 * reaches the map code. Returns 0 or a fault. */
static int __attribute__((noinline))
interp_tail_target(struct interp_state *st, struct bpfvm_prog *prog, const struct interp_insn *code,
		   const struct interp_insn *ip, uint64_t map_ptr, uint64_t index, int checked,
		   struct bpfvm_prog **target)
{
	*target = NULL;
	if (checked) {
		if (!is_map_of(prog, map_ptr))
			return interp_fault(st, prog, code, ip, -EINVAL,
					    "tail call with r2 = 0x%llx, not a map of the program",
					    (unsigned long long)map_ptr);
		struct bpfvm_map *map = (struct bpfvm_map *)(uintptr_t)map_ptr;
		if (bpfvm_map_def(map)->type != BPFVM_MAP_PROG_ARRAY)
			return interp_fault(st, prog, code, ip, -EINVAL,
					    "tail call through a map that is not a prog array");
	}
	if (st->cc.tail_calls >= BPFVM_MAX_TAIL_CALLS || index > UINT32_MAX)
		return 0;
	struct bpfvm_prog *next = bpfvm__prog_array_lookup((struct bpfvm_map *)(uintptr_t)map_ptr,
							   (uint32_t)index);
	if (!next)
		return 0;
	if (!next->interp)
		return interp_fault(st, prog, code, ip, -EINVAL,
				    "tail call target '%s' was not prepared for the interpreter",
				    next->name);
	if (!checked && next->safety == BPFVM_SAFETY_CHECKED)
		return interp_fault(st, prog, code, ip, -EINVAL,
				    "tail call from a verified program into '%s', which needs run-time checks",
				    next->name);
	if (checked)
		bpfvm__allow_map_values(&st->cc, next);
	st->cc.tail_calls++;
	*target = next;
	return 0;
}

/* ---- the three loops ------------------------------------------------------------------- */

#define LOOP_NAME interp_loop_verified
#define LOOP_CHECKED 0
#define LOOP_TRACE 0
#include "interp/interp_loop.h"
#undef LOOP_NAME
#undef LOOP_CHECKED
#undef LOOP_TRACE

#define LOOP_NAME interp_loop_checked
#define LOOP_CHECKED 1
#define LOOP_TRACE 0
#include "interp/interp_loop.h"
#undef LOOP_NAME
#undef LOOP_CHECKED
#undef LOOP_TRACE

#define LOOP_NAME interp_loop_trace
#define LOOP_CHECKED checked
#define LOOP_TRACE 1
#include "interp/interp_loop.h"
#undef LOOP_NAME
#undef LOOP_CHECKED
#undef LOOP_TRACE

/* ---- callbacks (bpf_loop, for_each_map_elem) ----------------------------------------- */

/* Run the subprogram at pc of the running program in the frame above the
 * helper's caller, with r1..r5 = args; its r0 comes back in *ret. A fault
 * inside stops the whole run (st->stop) once the helper returns. */
static int interp_invoke(struct bpfvm_call_ctx *cc, uint64_t pc, const uint64_t args[5],
			 uint64_t *ret)
{
	struct interp_state *st = cc->engine;
	struct bpfvm_prog *prog = cc->prog;
	int caller_depth = st->depth;
	int rc;
	if (pc >= prog->n) {
		rc = bpfvm__run_error(st->run, -EINVAL, "insn %llu: callback outside the program (%zu insns)",
				      (unsigned long long)pc, prog->n);
	} else if (caller_depth + 1 >= BPFVM_MAX_FRAMES) {
		rc = bpfvm__run_error(st->run, -E2BIG, "insn %llu: callback call depth exceeds %d frames",
				      (unsigned long long)pc, BPFVM_MAX_FRAMES);
	} else {
		int depth = caller_depth + 1;
		interp_zero_frame(st->stack[depth]);
		rc = st->loop(st, prog, &prog->interp->insns[pc], depth, args, ret);
	}
	st->depth = caller_depth;
	st->cc.prog = prog;
	if (rc == 0)
		return 0;
	if (!st->stop)
		st->stop = rc;
	return rc < 0 ? rc : -ECANCELED;
}

/* ---- prepare / release / run --------------------------------------------------------- */

static void free_code(struct bpfvm_interp_code *ic)
{
	if (!ic)
		return;
	free(ic->insns);
	free(ic);
}

/* The jump or call target of the row at pc as a slot pointer. */
static int resolve_target(struct bpfvm_interp_code *ic, const struct bpfvm_prog *prog, size_t pc,
			  const struct bpfvm_opinfo *info, char *err, size_t errlen)
{
	int64_t t = bpfvm_isa_jump_target(info, &prog->insns[pc], pc);
	if (t < 0 || t > (int64_t)prog->n) {
		snprintf(err, errlen, "insn %zu: jump out of range to %lld", pc, (long long)t);
		return -EINVAL;
	}
	ic->insns[pc].x.t = &ic->insns[t];
	return 0;
}

static int decode_slot(struct bpfvm_interp_code *ic, const struct bpfvm_prog *prog, size_t pc,
		       const struct bpfvm_decoded *d, char *err, size_t errlen)
{
	struct interp_insn *ins = &ic->insns[pc];
	const struct bpfvm_opinfo *info = d->info;
	ins->h = (uint8_t)d->opid;
	ins->dst = d->dst;
	ins->src = d->src;
	ins->imm = d->imm;
	switch (info->kind) {
	case BPFVM_KIND_JA:
	case BPFVM_KIND_JCOND:
		return resolve_target(ic, prog, pc, info, err, errlen);
	case BPFVM_KIND_CALL:
		if (info->op == BPFVM_CALL_LOCAL)
			return resolve_target(ic, prog, pc, info, err, errlen);
		if (info->op == BPFVM_CALL_KFUNC) {
			snprintf(err, errlen, "insn %zu: kfunc calls are not supported by the interpreter", pc);
			return -ENOTSUP;
		}
		if (d->imm == BPFVM_HELPER_TAIL_CALL) {
			ins->h = INTERP_H_TAIL_CALL;
		} else if (prog->call_helper[pc] && !interp_helper_allowed(prog, prog->call_helper[pc])) {
			/* The verifier rejects these; a checked program faults
			 * when it gets there (the helper would misread its ctx). */
			ins->h = INTERP_H_HELPER_DENIED;
		} else if (prog->call_helper[pc] && prog->call_helper[pc]->fn) {
			ins->x.fn = prog->call_helper[pc]->fn;
		} else {
			/* Checked programs fault when they get there; the verifier
			 * rejects verified ones before. */
			ins->h = INTERP_H_NO_HELPER;
		}
		return 0;
	case BPFVM_KIND_LDDW:
		ins->x.u64 = prog->lddw_value[pc];
		ic->insns[pc + 1].h = INTERP_H_SECOND_SLOT;
		return 0;
	case BPFVM_KIND_LDX:
	case BPFVM_KIND_LDXSX:
	case BPFVM_KIND_ST:
	case BPFVM_KIND_STX:
	case BPFVM_KIND_ATOMIC:
		ins->x.off = d->off;
		return 0;
	default:
		return 0;
	}
}

int bpfvm__interp_prepare(struct bpfvm_prog *prog, char *err, size_t errlen)
{
	struct bpfvm_interp_code *ic = calloc(1, sizeof(*ic));
	if (!ic || !(ic->insns = calloc(prog->n + 1, sizeof(*ic->insns)))) {
		free(ic);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ic->n = prog->n;
	int rc = 0;
	for (size_t pc = 0; pc < prog->n && !rc; pc++) {
		struct bpfvm_decoded d;
		rc = bpfvm_isa_decode(prog->insns, prog->n, pc, &d, err, errlen);
		if (!rc)
			rc = decode_slot(ic, prog, pc, &d, err, errlen);
		if (!rc)
			pc += (size_t)d.slots - 1;
	}
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	if (rc) {
		free_code(ic);
		return rc;
	}
	ic->insns[prog->n].h = INTERP_H_END;
	prog->interp = ic;
	return 0;
}

void bpfvm__interp_release(struct bpfvm_prog *prog)
{
	free_code(prog->interp);
	prog->interp = NULL;
}

int bpfvm__interp_run(struct bpfvm_prog *prog, struct bpfvm_run *run)
{
	struct interp_state st;
	bpfvm__call_ctx_init(&st.cc, prog, run);
	st.cc.invoke = interp_invoke;
	st.cc.engine = &st;
	st.run = run;
	st.main_prog = prog;
	st.executed = 0;
	st.budget = run->budget ? run->budget : BPFVM_DEFAULT_BUDGET;
	st.depth = 0;
	st.stop = 0;
	if (run->trace)
		st.loop = interp_loop_trace;
	else if (st.cc.checked)
		st.loop = interp_loop_checked;
	else
		st.loop = interp_loop_verified;
	if (st.cc.checked) {
		bpfvm__allow_map_values(&st.cc, prog);
		/* Helpers check the pointers a checked program passes against
		 * the regions: the stack frames are the run's own memory. */
		bpfvm__call_allow_fixed_region(&st.cc, st.stack, sizeof(st.stack), 1);
	}
	/* Only a measured depth narrows the zeroing (an unmeasured one is
	 * BPFVM_STACK_DEPTH_UNKNOWN, beyond the frame). */
	interp_zero_stack_top(st.stack[0], st.cc.checked ? BPFVM_STACK_SIZE : prog->stack_depth);

	const uint64_t args[5] = {(uint64_t)(uintptr_t)run->ctx, run->ctx_size, 0, 0, 0};
	uint64_t r0 = 0;
	int rc = st.loop(&st, prog, prog->interp->insns, 0, args, &r0);
	run->executed = st.executed;
	if (rc < 0)
		return rc;
	run->retval = rc == INTERP_STOP_PKT ? 0 : r0;
	return 0;
}
