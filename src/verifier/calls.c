/* Calls: helpers checked against the prototypes of the VM's helper
 * registry (the kernel's check_helper_call / check_func_arg), bpf-to-bpf
 * calls with their own frames, and returning from them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm/maps.h"
#include "verifier/verifier.h"

#define MEM_TYPES "fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_"
#define V_MAX_VAR_SIZ (1 << 29)
#define V_BPF_FUNC_MAX_ID 212 /* __BPF_FUNC_MAX_ID of Linux 6.18 */

enum { FN_TAIL_CALL = 12, FN_PERF_EVENT_READ = 22, FN_PERF_EVENT_OUTPUT = 25,
       FN_PERF_EVENT_READ_VALUE = 55, FN_MAP_PUSH = 87, FN_MAP_POP = 88, FN_MAP_PEEK = 89,
       FN_RINGBUF_OUTPUT = 130, FN_RINGBUF_QUERY = 134 };

struct call_meta {
	const struct bpfvm_map *map;
	uint32_t mem_size;
	uint32_t ref_obj_id;
	int release_regno;
	int cb_subprog;          /* callback's first insn, or -1 */
	int64_t const_key;       /* the key, when a constant on the stack, else -1 */
	uint64_t msize_max;      /* largest size a size argument allows */
};

enum { FN_GET_SMP_PROCESSOR_ID = 8, FN_PROBE_READ_STR = 45, FN_GET_STACK = 67,
       FN_PROBE_READ_USER_STR = 114, FN_PROBE_READ_KERNEL_STR = 115, FN_GET_TASK_STACK = 141 };
#define V_MAX_ERRNO 4095

/* do_refine_retval_range: helpers whose result the kernel bounds. */
static void refine_retval(struct vreg *r0, uint32_t id, const struct call_meta *meta)
{
	switch (id) {
	case FN_GET_SMP_PROCESSOR_ID:
		r0->umax = r0->u32max = BPFVM_NR_CPUS - 1;
		r0->smax = r0->s32max = BPFVM_NR_CPUS - 1;
		r0->smin = r0->s32min = 0;
		break;
	case FN_PROBE_READ_STR:
	case FN_GET_STACK:
	case FN_PROBE_READ_USER_STR:
	case FN_PROBE_READ_KERNEL_STR:
	case FN_GET_TASK_STACK:
		r0->smax = (int64_t)meta->msize_max;
		r0->s32max = (int32_t)meta->msize_max;
		r0->smin = r0->s32min = -V_MAX_ERRNO;
		break;
	default:
		return;
	}
	vreg_bounds_sync(r0);
}

/* The kernel's get_constant_map_key: a key that is a constant spilled
 * scalar of exactly key_size bytes, or key_size zero bytes, on the stack. */
static int64_t constant_map_key(struct venv *env, const struct vreg *key, uint32_t key_size)
{
	if (!env->bpf_capable || key->type != PTR_TO_STACK || !tnum_is_const(key->var_off))
		return -1;
	int stack_off = key->off + (int)key->var_off.value;
	int slot = -stack_off - 1, spi = slot / 8, off = slot % 8;
	struct vframe *f = env->cur->frames[key->frameno];
	if (stack_off >= 0 || spi >= f->nslots)
		return -1;
	const struct vslot *s = &f->slots[spi];
	uint32_t zero = 0, spill = 0;
	for (int i = off; i >= 0 && s->type[i] == STACK_ZERO; i--)
		zero++;
	if (zero >= key_size)
		return 0;
	if (s->type[7] != STACK_SPILL || s->spilled.type != SCALAR_VALUE)
		return -1;
	for (int i = off; i >= 0 && s->type[i] == STACK_SPILL; i--)
		spill++;
	if (spill != key_size || !tnum_is_const(s->spilled.var_off))
		return -1;
	/* the lookup's result depends on the key's value */
	if (vmark_slot_precise(env, key->frameno, spi))
		return -1;
	return (int64_t)(s->spilled.var_off.value & (key_size >= 8 ? ~0ULL : (1ULL << (key_size * 8)) - 1));
}

enum { FN_FOR_EACH_MAP_ELEM = 164, FN_LOOP = 181 };

/* The arguments a callback gets: bpf_loop(nr, cb, ctx, flags) calls
 * cb(index, ctx); bpf_for_each_map_elem(map, cb, ctx, flags) calls
 * cb(map, key, value, ctx). */
static void callback_args(const struct bpfvm_helper *h, const struct vreg *regs, const struct call_meta *meta,
			  struct vreg args[5])
{
	for (int i = 0; i < 5; i++)
		vreg_mark_not_init(&args[i]);
	if (h->id == FN_FOR_EACH_MAP_ELEM && meta->map) {
		vreg_mark_unknown(&args[0]);
		vreg_mark_known(&args[0], 0);
		args[0].type = CONST_PTR_TO_MAP;
		args[0].map = meta->map;
		args[1] = args[0];
		args[1].type = PTR_TO_MAP_KEY;
		args[2] = args[0];
		args[2].type = PTR_TO_MAP_VALUE;
		args[3] = regs[3];
		return;
	}
	/* bpf_loop and any other helper taking (…, cb, ctx, …): index, ctx */
	vreg_mark_unknown(&args[0]);
	args[1] = regs[3];
}

/* Push the state in which the callback runs (again), from the current one. */
static int push_callback(struct venv *env, int call_insn, int cb_start, const struct vreg args[5])
{
	struct vstate *cb;
	int err = vpush(env, cb_start, call_insn, &cb);
	if (err)
		return err;
	if (cb->curframe + 1 >= BPFVM_MAX_FRAMES)
		return verr(env, -E2BIG, "the call stack of %d frames is too deep\n", cb->curframe + 2);
	int sp = vfind_subprog(env, cb_start);
	struct vframe *f = vframe_new(cb->curframe + 1, call_insn, sp < 0 ? 0 : sp);
	if (!f)
		return -ENOMEM;
	f->cb_call = call_insn;
	memcpy(f->cb_args, args, sizeof(f->cb_args));
	for (int i = 0; i < 5; i++)
		f->regs[i + 1] = args[i];
	vreg_mark_unknown(&f->regs[BPFVM_REG_FP]);
	vreg_mark_known(&f->regs[BPFVM_REG_FP], 0);
	f->regs[BPFVM_REG_FP].type = PTR_TO_STACK;
	f->regs[BPFVM_REG_FP].frameno = (uint8_t)(cb->curframe + 1);
	cb->frames[++cb->curframe] = f;
	return 0;
}

/* A callback returns: the helper may call it again or return. */
int vcallback_exit(struct venv *env, int *insn_idx)
{
	struct vstate *st = env->cur;
	struct vframe *callee = st->frames[st->curframe];
	struct vreg *r0 = &callee->regs[0];
	int err;
	if ((err = vcheck_reg_arg(env, 0, SRC_OP)))
		return err;
	if (r0->type != SCALAR_VALUE)
		return verr(env, -EINVAL, "At callback return the register R0 is not a known value (%s)\n", vtype_str(r0->type));
	if ((err = vmark_precise(env, 0)))
		return err;
	if (r0->smin < 0 || r0->smax > 1)
		return verr(env, -EINVAL, "At callback return the register R0 has smin=%lld smax=%lld should have been in [0, 1]\n",
			    (long long)r0->smin, (long long)r0->smax);
	int call = callee->cb_call, start = env->subprogs[callee->subprog].start;
	struct vreg args[5];
	memcpy(args, callee->cb_args, sizeof(args));
	free(callee->slots);
	free(callee);
	st->frames[st->curframe--] = NULL;
	struct vreg *regs = st->frames[st->curframe]->regs;
	for (int i = 1; i <= 5; i++)
		vreg_mark_not_init(&regs[i]);
	vreg_mark_unknown(&regs[0]);
	st->cb_unroll++;
	if ((err = push_callback(env, call, start, args)))
		return err;
	*insn_idx = call;
	env->scratched_regs = 0x7ff;
	return 0;
}

static void helper_label(const struct bpfvm_helper *h, uint32_t id, char *buf, size_t len)
{
	if (!h || !h->name)
		snprintf(buf, len, "unknown#%u", id);
	else
		snprintf(buf, len, "%s%s#%u", strncmp(h->name, "bpf_", 4) ? "bpf_" : "", h->name, id);
}

static bool is_mem_type(uint16_t t)
{
	switch (t) {
	case PTR_TO_STACK:
	case PTR_TO_PACKET:
	case PTR_TO_PACKET_META:
	case PTR_TO_MAP_KEY:
	case PTR_TO_MAP_VALUE:
	case PTR_TO_MEM:
	case PTR_TO_MEM | MEM_RINGBUF:
		return true;
	}
	return false;
}

static bool reg_is_null(const struct vreg *r)
{
	return r->type == SCALAR_VALUE && tnum_equals_const(r->var_off, 0);
}

/* A string the helper reads at run time must be a constant: in a frozen
 * read-only map (.rodata), at a known offset, NUL-terminated inside the
 * value (the kernel's check for ARG_PTR_TO_CONST_STR, same messages). */
static int check_const_str(struct venv *env, const struct vreg *r, int regno)
{
	struct bpfvm_map *map = (struct bpfvm_map *)(uintptr_t)r->map; /* only read here */
	uint32_t value_size = bpfvm_map_def(map)->value_size;
	if (!bpfvm__map_is_rdonly_prog(map))
		return verr(env, -EACCES, "R%d does not point to a readonly map'\n", regno);
	if (!tnum_is_const(r->var_off))
		return verr(env, -EACCES, "R%d is not a constant address'\n", regno);
	uint64_t base;
	if (bpfvm__map_direct_value_addr(map, 0, &base))
		return verr(env, -EACCES, "no direct value access support for this map type\n");
	int err = vcheck_helper_mem(env, regno, (int)value_size - r->off, false, false);
	if (err)
		return err;
	uint64_t off = (uint64_t)r->off + r->var_off.value;
	if (off >= value_size ||
	    !memchr((const char *)(uintptr_t)base + off, 0, value_size - off))
		return verr(env, -EINVAL, "string is not zero-terminated\n");
	return 0;
}

static int type_error(struct venv *env, int regno, const char *expected)
{
	return verr(env, -EACCES, "R%d type=%s expected=%s\n", regno, vtype_str(vcur_regs(env)[regno].type),
		    expected);
}

/* check_mem_size_reg: a size argument bounds the memory argument before it. */
static int check_size_arg(struct venv *env, int regno, bool zero_ok, bool write)
{
	const struct vreg *r = &vcur_regs(env)[regno];
	if (r->smin < 0)
		return verr(env, -EACCES, "R%d min value is negative, either use unsigned or 'var &= const'\n", regno);
	if (r->umin == 0 && !zero_ok)
		return verr(env, -EACCES, "R%d invalid zero-sized read: u64=[%lld,%llu]\n", regno, (long long)r->umin,
			    (unsigned long long)r->umax);
	if (r->umax >= V_MAX_VAR_SIZ)
		return verr(env, -EACCES, "R%d unbounded memory access, use 'var &= const' or 'if (var < const)'\n", regno);
	int err = vcheck_helper_mem(env, regno - 1, (int)r->umax, write, zero_ok);
	return err ? err : vmark_precise(env, regno);
}

static int check_arg(struct venv *env, const struct bpfvm_helper *h, int arg, struct call_meta *meta)
{
	enum bpfvm_arg_type t = h->args[arg];
	int regno = arg + 1;
	int err;
	if (t == BPFVM_ARG_DONTCARE)
		return 0;
	if ((err = vcheck_reg_arg(env, regno, SRC_OP)))
		return err;
	struct vreg *r = &vcur_regs(env)[regno];
	if (t == BPFVM_ARG_ANYTHING) {
		if (vis_pointer_value(env, regno))
			return verr(env, -EACCES, "R%d leaks addr into helper function\n", regno);
		return 0;
	}
	if (r->ref_obj_id && t != BPFVM_ARG_PTR_TO_ALLOC_MEM) {
		if (meta->ref_obj_id)
			return verr(env, -EACCES, "more than one arg with ref_obj_id R%d %u %u\n", regno, r->ref_obj_id,
				    meta->ref_obj_id);
		meta->ref_obj_id = r->ref_obj_id;
	}
	switch (t) {
	case BPFVM_ARG_CONST_MAP_PTR:
		if (r->type != CONST_PTR_TO_MAP)
			return type_error(env, regno, "map_ptr");
		meta->map = r->map;
		return 0;
	case BPFVM_ARG_PTR_TO_MAP_KEY:
	case BPFVM_ARG_PTR_TO_MAP_VALUE:
	case BPFVM_ARG_PTR_TO_UNINIT_MAP_VALUE: {
		if (!is_mem_type(r->type))
			return type_error(env, regno, MEM_TYPES);
		if (!meta->map)
			return verr(env, -EACCES, "invalid map_ptr to access map->%s\n",
				    t == BPFVM_ARG_PTR_TO_MAP_KEY ? "key" : "value");
		const struct bpfvm_map_def *d = bpfvm_map_def(meta->map);
		if (t == BPFVM_ARG_PTR_TO_MAP_KEY) {
			if (d->type == BPFVM_MAP_ARRAY || d->type == BPFVM_MAP_PERCPU_ARRAY)
				meta->const_key = constant_map_key(env, r, d->key_size);
			return vcheck_helper_mem(env, regno, (int)d->key_size, false, false);
		}
		return vcheck_helper_mem(env, regno, (int)d->value_size, t == BPFVM_ARG_PTR_TO_UNINIT_MAP_VALUE, false);
	}
	case BPFVM_ARG_PTR_TO_MEM:
	case BPFVM_ARG_PTR_TO_MEM_OR_NULL:
	case BPFVM_ARG_PTR_TO_UNINIT_MEM:
		if (t == BPFVM_ARG_PTR_TO_MEM_OR_NULL && reg_is_null(r))
			return 0;
		if (!is_mem_type(r->type))
			return type_error(env, regno, MEM_TYPES);
		return 0; /* checked with the size argument that follows */
	case BPFVM_ARG_CONST_SIZE:
	case BPFVM_ARG_CONST_SIZE_OR_ZERO:
		if (r->type != SCALAR_VALUE)
			return type_error(env, regno, "scalar");
		meta->msize_max = r->umax;
		return check_size_arg(env, regno, t == BPFVM_ARG_CONST_SIZE_OR_ZERO,
				      arg > 0 && h->args[arg - 1] == BPFVM_ARG_PTR_TO_UNINIT_MEM);
	case BPFVM_ARG_PTR_TO_CTX:
		/* raw programs: their memory (r1 as it came) is their context */
		if (env->pt->raw_memory && r->type == PTR_TO_PACKET && !r->id && !r->off &&
		    tnum_equals_const(r->var_off, 0))
			return 0;
		if (r->type != PTR_TO_CTX)
			return type_error(env, regno, "ctx");
		return vcheck_ptr_off(env, r, regno, false);
	case BPFVM_ARG_PTR_TO_FUNC:
		if (r->type != PTR_TO_FUNC)
			return type_error(env, regno, "func");
		meta->cb_subprog = (int)r->subprog;
		return 0;
	case BPFVM_ARG_PTR_TO_STACK_OR_NULL:
		if (reg_is_null(r))
			return 0;
		if (r->type != PTR_TO_STACK)
			return type_error(env, regno, "fp");
		return 0;
	case BPFVM_ARG_PTR_TO_CONST_STR:
		if (r->type != PTR_TO_MAP_VALUE)
			return type_error(env, regno, "map_value");
		return check_const_str(env, r, regno);
	case BPFVM_ARG_PTR_TO_ALLOC_MEM:
		if (r->type != (PTR_TO_MEM | MEM_RINGBUF))
			return type_error(env, regno, "ringbuf_mem");
		if (r->off || !tnum_equals_const(r->var_off, 0))
			return verr(env, -EACCES, "R%d must have zero offset when passed to release func\n", regno);
		if (!r->ref_obj_id)
			return verr(env, -EACCES, "R%d must be referenced when passed to release function\n", regno);
		meta->release_regno = regno;
		meta->ref_obj_id = r->ref_obj_id;
		return 0;
	case BPFVM_ARG_CONST_ALLOC_SIZE_OR_ZERO:
		if (r->type != SCALAR_VALUE)
			return type_error(env, regno, "scalar");
		if (!tnum_is_const(r->var_off))
			return verr(env, -EACCES, "R%d is not a known constant'\n", regno);
		meta->mem_size = (uint32_t)r->var_off.value;
		return vmark_precise(env, regno);
	case BPFVM_ARG_PTR_TO_LONG:
		if (!is_mem_type(r->type))
			return type_error(env, regno, MEM_TYPES);
		return vcheck_helper_mem(env, regno, 8, true, false);
	default:
		return verr(env, -EINVAL, "kernel subsystem misconfigured func %s#%u\n", h->name, h->id);
	}
}

/* check_map_func_compatibility: special maps go with their own helpers only. */
static int check_map_compat(struct venv *env, const struct bpfvm_map *map, const struct bpfvm_helper *h)
{
	char name[80];
	int id = (int)h->id;
	int mt = map ? (int)bpfvm_map_def(map)->type : -1;
	bool ringbuf_fn = id >= FN_RINGBUF_OUTPUT && id <= FN_RINGBUF_QUERY;
	bool perf_fn = id == FN_PERF_EVENT_OUTPUT || id == FN_PERF_EVENT_READ || id == FN_PERF_EVENT_READ_VALUE;
	bool queue_fn = id == FN_MAP_PUSH || id == FN_MAP_POP || id == FN_MAP_PEEK;
	bool ok = true;
	if (!map)
		return 0;
	switch (mt) {
	case BPFVM_MAP_RINGBUF: ok = ringbuf_fn; break;
	case BPFVM_MAP_PROG_ARRAY: ok = id == FN_TAIL_CALL; break;
	case BPFVM_MAP_PERF_EVENT_ARRAY: ok = perf_fn; break;
	case BPFVM_MAP_QUEUE:
	case BPFVM_MAP_STACK: ok = queue_fn; break;
	default: break;
	}
	if (ok) {
		if (ringbuf_fn && mt != BPFVM_MAP_RINGBUF)
			ok = false;
		if (perf_fn && mt != BPFVM_MAP_PERF_EVENT_ARRAY)
			ok = false;
		if (queue_fn && mt != BPFVM_MAP_QUEUE && mt != BPFVM_MAP_STACK)
			ok = false;
	}
	if (ok)
		return 0;
	helper_label(h, h->id, name, sizeof(name));
	return verr(env, -EINVAL, "cannot pass map_type %d into func %s\n", mt, name);
}

static int release_reference(struct venv *env, uint32_t ref_obj_id)
{
	struct vstate *st = env->cur;
	int i;
	for (i = 0; i < st->nrefs; i++)
		if (st->refs[i].id == ref_obj_id)
			break;
	if (i == st->nrefs)
		return verr(env, -EFAULT, "verifier internal error: reference %u not found\n", ref_obj_id);
	memmove(&st->refs[i], &st->refs[i + 1], (size_t)(st->nrefs - i - 1) * sizeof(st->refs[0]));
	st->nrefs--;
	V_FOR_EACH_REG(st, r, {
		if (r->ref_obj_id == ref_obj_id)
			vmark_reg_invalid(env, r);
	});
	return 0;
}

int vcheck_helper_call(struct venv *env, const struct bpfvm_insn *insn, int insn_idx)
{
	uint32_t id = (uint32_t)insn->imm;
	const struct bpfvm_helper *h = bpfvm_vm_helper(env->prog->vm, id);
	struct call_meta meta = {0};
	char name[80];
	meta.cb_subprog = -1;
	meta.const_key = -1;
	int err;
	helper_label(h, id, name, sizeof(name));
	if (!h) {
		if (insn->imm < 0 || insn->imm >= V_BPF_FUNC_MAX_ID)
			return verr(env, -EINVAL, "invalid func %s\n", name);
		return verr(env, -EINVAL, "program of this type cannot use helper %s\n", name);
	}
	if (h->prog_types && !(h->prog_types & (1ULL << (env->prog->type & 63))))
		return verr(env, -EINVAL, "program of this type cannot use helper %s\n", name);
	if (h->gpl_only && !env->prog->gpl_compatible)
		return verr(env, -EINVAL, "cannot call GPL-restricted function from non-GPL compatible program\n");
	for (int i = 0; i < 5; i++)
		if ((err = check_arg(env, h, i, &meta)))
			return err;
	if (id == FN_TAIL_CALL && (!meta.map || bpfvm_map_def(meta.map)->type != BPFVM_MAP_PROG_ARRAY))
		return verr(env, -EINVAL, "expected prog array map for tail call");
	if (id == FN_TAIL_CALL && env->cur->nrefs)
		return verr(env, -EINVAL, "tail_call would lead to reference leak\n");
	if (meta.release_regno && (err = release_reference(env, meta.ref_obj_id)))
		return err;
	struct vreg *regs = vcur_regs(env);
	struct vreg cb_args[5];
	if (meta.cb_subprog >= 0) {
		env->aux[meta.cb_subprog].cb_entry = 1;
		callback_args(h, regs, &meta, cb_args);
	}
	for (int i = 1; i <= 5; i++)
		vreg_mark_not_init(&regs[i]);
	struct vreg *r0 = &regs[0];
	vreg_mark_unknown(r0);
	switch (h->ret) {
	case BPFVM_RET_INTEGER:
		refine_retval(r0, id, &meta);
		break;
	case BPFVM_RET_VOID:
		r0->type = NOT_INIT;
		break;
	case BPFVM_RET_PTR_TO_MAP_VALUE_OR_NULL:
		if (!meta.map)
			return verr(env, -EINVAL, "kernel subsystem misconfigured verifier\n");
		vreg_mark_known(r0, 0);
		r0->type = PTR_TO_MAP_VALUE | PTR_MAYBE_NULL;
		r0->map = meta.map;
		/* an array lookup with a constant in-range key cannot fail */
		if (id == 1 && meta.const_key >= 0 && (uint64_t)meta.const_key < bpfvm_map_def(meta.map)->max_entries)
			r0->type = PTR_TO_MAP_VALUE;
		else
			r0->id = ++env->id_gen;
		break;
	case BPFVM_RET_PTR_TO_ALLOC_MEM_OR_NULL: {
		vreg_mark_known(r0, 0);
		r0->type = PTR_TO_MEM | MEM_RINGBUF | PTR_MAYBE_NULL;
		r0->range = meta.mem_size;
		r0->id = ++env->id_gen;
		/* the memory must be submitted or discarded: acquire a reference */
		if (env->cur->nrefs >= V_MAX_REFS)
			return verr(env, -EINVAL, "too many acquired references\n");
		uint32_t ref = ++env->id_gen;
		env->cur->refs[env->cur->nrefs++] = (struct vref){ref, insn_idx};
		r0->id = ref;
		r0->ref_obj_id = ref;
		break;
	}
	}
	env->scratched_regs |= 1;
	if ((err = check_map_compat(env, meta.map, h)))
		return err;
	if (h->changes_pkt_data)
		vclear_pkt_pointers(env);
	if (meta.cb_subprog >= 0) {
		/* the helper may call the callback (0 or more times) before it
		 * returns: explore a first invocation from here */
		if ((err = push_callback(env, insn_idx, meta.cb_subprog, cb_args)))
			return err;
	}
	return 0;
}

int vcheck_func_call(struct venv *env, const struct bpfvm_insn *insn, int *insn_idx)
{
	struct vstate *st = env->cur;
	int target = *insn_idx + insn->imm + 1;
	int sp = vfind_subprog(env, target);
	if (sp < 0)
		return verr(env, -EFAULT, "verifier bug. No program starts at insn %d\n", target);
	if (st->curframe + 1 >= BPFVM_MAX_FRAMES)
		return verr(env, -E2BIG, "the call stack of %d frames is too deep\n", st->curframe + 2);
	struct vframe *caller = st->frames[st->curframe];
	struct vframe *callee = vframe_new(st->curframe + 1, *insn_idx, sp);
	if (!callee)
		return -ENOMEM;
	for (int i = 1; i <= 5; i++)
		callee->regs[i] = caller->regs[i];
	vreg_mark_unknown(&callee->regs[BPFVM_REG_FP]);
	vreg_mark_known(&callee->regs[BPFVM_REG_FP], 0);
	callee->regs[BPFVM_REG_FP].type = PTR_TO_STACK;
	callee->regs[BPFVM_REG_FP].frameno = (uint8_t)(st->curframe + 1);
	for (int i = 0; i <= 5; i++)
		vreg_mark_not_init(&caller->regs[i]);
	st->frames[++st->curframe] = callee;
	env->subprogs[caller->subprog].has_call = 1;
	*insn_idx = env->subprogs[sp].start - 1;
	return 0;
}

int vprepare_func_exit(struct venv *env, int *insn_idx)
{
	struct vstate *st = env->cur;
	struct vframe *callee = st->frames[st->curframe];
	struct vreg *r0 = &callee->regs[0];
	if (r0->type == PTR_TO_STACK)
		return verr(env, -EINVAL, "cannot return stack pointer to the caller\n");
	struct vframe *caller = st->frames[st->curframe - 1];
	caller->regs[0] = *r0;
	*insn_idx = callee->callsite;
	free(callee->slots);
	free(callee);
	st->frames[st->curframe--] = NULL;
	env->scratched_regs = 0x7ff;
	return 0;
}
