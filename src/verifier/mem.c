/* Memory accesses, per region type (the kernel's check_mem_access and its
 * helpers): stack, context, map values, packets, helper-returned memory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/bpf.h>

#include "bpfvm/maps.h"
#include "verifier/verifier.h"

static struct vframe *reg_frame(struct venv *env, const struct vreg *r)
{
	return env->cur->frames[r->frameno];
}

int vstack_grow(struct venv *env, struct vframe *f, int bytes)
{
	int slots = (bytes + 7) / 8;
	if (slots > f->nslots) {
		struct vslot *s = realloc(f->slots, (size_t)slots * sizeof(*s));
		if (!s)
			return -ENOMEM;
		memset(s + f->nslots, 0, (size_t)(slots - f->nslots) * sizeof(*s));
		for (int i = f->nslots; i < slots; i++)
			vreg_mark_not_init(&s[i].spilled);
		f->slots = s;
		f->nslots = slots;
	}
	struct vsubprog *sp = &env->subprogs[f->subprog];
	if (sp->stack_depth < bytes)
		sp->stack_depth = bytes;
	return 0;
}

/* Slot and byte index of the stack byte at offset off (off < 0). */
static inline struct vslot *stack_slot(struct vframe *f, int off)
{
	return &f->slots[(-off - 1) / 8];
}
static inline int stack_byte(int off)
{
	return (-off - 1) % 8;
}

static int check_stack_bounds(struct venv *env, int regno, int off, int size, bool write)
{
	const struct vreg *r = &vcur_regs(env)[regno];
	struct vframe *f = reg_frame(env, r);
	const char *what = write ? " write to" : " read from";
	int64_t min_off, max_off;
	char tn[48];
	if (tnum_is_const(r->var_off)) {
		min_off = (int64_t)r->var_off.value + off;
		max_off = min_off + size;
	} else {
		if (r->smax >= V_MAX_VAR_OFF || r->smin <= -V_MAX_VAR_OFF)
			return verr(env, -EACCES, "invalid unbounded variable-offset%s stack R%d\n", what, regno);
		min_off = r->smin + off;
		max_off = r->smax + off + size;
	}
	int min_valid = (write || env->allow_uninit_stack) ? -V_STACK : -f->nslots * 8;
	int err = 0;
	if (min_off < min_valid || min_off > -1)
		err = -EACCES;
	else if (max_off > 0)
		err = -EINVAL;
	if (err) {
		if (tnum_is_const(r->var_off))
			return verr(env, err, "invalid%s stack R%d off=%d size=%d\n", what, regno, off, size);
		tnum_str(tn, sizeof(tn), r->var_off);
		return verr(env, err, "invalid variable-offset%s stack R%d var_off=%s off=%d size=%d\n", what,
			    regno, tn, off, size);
	}
	return vstack_grow(env, f, (int)-min_off);
}

static void save_spill(struct vslot *s, const struct vreg *r, int size)
{
	s->spilled = *r;
	int i;
	for (i = 8; i > 8 - size; i--)
		s->type[i - 1] = STACK_SPILL;
	for (; i; i--)
		if (s->type[i - 1] != STACK_ZERO)
			s->type[i - 1] = STACK_MISC;
}

static bool slot_is_spill(const struct vslot *s)
{
	return s->type[7] == STACK_SPILL;
}

static void scrub_slot(struct vslot *s)
{
	for (int i = 0; i < 8; i++)
		if (s->type[i] != STACK_INVALID)
			s->type[i] = STACK_MISC;
}

static int stack_write_fixed(struct venv *env, struct vframe *f, int off, int size, int value_regno,
			     const struct bpfvm_insn *insn)
{
	struct vslot *s = stack_slot(f, off);
	vnote_stack_access(env, f->frameno, (-off - 1) / 8);
	struct vreg *val = value_regno >= 0 ? &vcur_regs(env)[value_regno] : NULL;
	env->scratched_slots |= 1ULL << ((-off - 1) / 8);
	if (!env->allow_ptr_leaks && slot_is_spill(s) && s->spilled.type != SCALAR_VALUE && size != 8)
		return verr(env, -EACCES, "attempt to corrupt spilled pointer on stack\n");
	bool is_st = value_regno < 0 && insn;
	if (val && !(off % 8) && val->type == SCALAR_VALUE && env->bpf_capable) {
		/* the spill stays linked to the register if it holds all of it */
		bool fits = vreg_width(val) <= 8 * size;
		if (fits)
			vassign_scalar_id(env, val);
		struct vreg v = *val;
		if (!fits)
			vscalar_clear_id(&v);
		save_spill(s, &v, size);
	} else if (!val && !(off % 8) && is_st && env->bpf_capable) {
		struct vreg v;
		vreg_mark_unknown(&v);
		vreg_mark_known(&v, (uint64_t)(int64_t)insn->imm);
		save_spill(s, &v, size);
	} else if (val && val->type != SCALAR_VALUE && val->type != NOT_INIT) {
		if (size != 8)
			return verr(env, -EACCES, "invalid size of register spill\n");
		if (f != vcur_frame(env) && val->type == PTR_TO_STACK)
			return verr(env, -EINVAL, "cannot spill pointers to stack into stack frame of the caller\n");
		save_spill(s, val, size);
	} else {
		uint8_t type = STACK_MISC;
		if (slot_is_spill(s))
			scrub_slot(s);
		vreg_mark_not_init(&s->spilled);
		if (val && val->type == SCALAR_VALUE && tnum_equals_const(val->var_off, 0)) {
			/* the slot's kind now depends on the register's value */
			int err = vmark_precise(env, value_regno);
			if (err)
				return err;
			type = STACK_ZERO;
		} else if (!val && is_st && insn->imm == 0) {
			type = STACK_ZERO;
		}
		for (int i = 0; i < size; i++)
			s->type[stack_byte(off + i)] = type;
	}
	return 0;
}

static int stack_read_fixed(struct venv *env, struct vframe *f, int off, int size, int dst_regno)
{
	struct vslot *s = stack_slot(f, off);
	vnote_stack_access(env, f->frameno, (-off - 1) / 8);
	struct vreg *regs = vcur_regs(env);
	int slot = -off - 1;
	if (slot_is_spill(s)) {
		int spill_size = 1;
		for (int i = 7; i > 0 && s->type[i - 1] == STACK_SPILL; i--)
			spill_size++;
		if (size != 8 || spill_size != 8) {
			if (s->spilled.type != SCALAR_VALUE)
				return verr(env, -EACCES, "invalid size of register fill\n");
			if (dst_regno < 0)
				return 0;
			if (size <= spill_size && !(off % 8)) {
				int width = vreg_width(&s->spilled);
				if (env->bpf_capable && size == 4 && spill_size == 4 && width <= 32)
					vassign_scalar_id(env, &s->spilled);
				regs[dst_regno] = s->spilled;
				if (width > size * 8) /* a narrowing fill is not a copy */
					vscalar_clear_id(&regs[dst_regno]);
			} else {
				int spill_cnt = 0, zero_cnt = 0;
				for (int i = 0; i < size; i++) {
					uint8_t t = s->type[(slot - i) % 8];
					if (t == STACK_SPILL)
						spill_cnt++;
					else if (t == STACK_ZERO)
						zero_cnt++;
					else if (t == STACK_MISC || (t == STACK_INVALID && env->allow_uninit_stack))
						continue;
					else
						return verr(env, -EACCES, "invalid read from stack off %d+%d size %d\n", off, i, size);
				}
				if ((spill_cnt == size && tnum_equals_const(s->spilled.var_off, 0)) || zero_cnt == size) {
					vreg_mark_unknown(&regs[dst_regno]);
					vreg_mark_known(&regs[dst_regno], 0);
				} else {
					vreg_mark_unknown(&regs[dst_regno]);
				}
			}
		} else if (dst_regno >= 0) {
			regs[dst_regno] = s->spilled;
		} else if (!env->allow_ptr_leaks && s->spilled.type != SCALAR_VALUE) {
			return verr(env, -EACCES, "leaking pointer from stack off %d\n", off);
		}
		return 0;
	}
	int zeros = 0;
	for (int i = 0; i < size; i++) {
		uint8_t t = s->type[(slot - i) % 8];
		if (t == STACK_MISC)
			continue;
		if (t == STACK_ZERO) {
			zeros++;
			continue;
		}
		if (t == STACK_INVALID && env->allow_uninit_stack)
			continue;
		return verr(env, -EACCES, "invalid read from stack off %d+%d size %d\n", off, i, size);
	}
	if (dst_regno >= 0) {
		vreg_mark_unknown(&regs[dst_regno]);
		if (zeros == size)
			vreg_mark_known(&regs[dst_regno], 0);
	}
	return 0;
}

/* Variable-offset stack access (privileged only). Reads need every byte
 * in the range initialized (or uninit reads allowed); writes make them MISC. */
static int stack_access_var(struct venv *env, const struct vreg *r, int off, int size, bool write,
			    int value_regno)
{
	struct vframe *f = reg_frame(env, r);
	int64_t min_off = r->smin + off, max_off = r->smax + off;
	struct vreg *regs = vcur_regs(env);
	if (write) {
		if (value_regno >= 0 && regs[value_regno].type == SCALAR_VALUE &&
		    tnum_equals_const(regs[value_regno].var_off, 0)) {
			/* zero bytes stay zero: the value matters */
			int err = vmark_precise(env, value_regno);
			if (err)
				return err;
		}
		for (int64_t o = min_off; o < max_off + size; o++) {
			struct vslot *s = stack_slot(f, (int)o);
			if (slot_is_spill(s) && s->spilled.type != SCALAR_VALUE && !env->allow_ptr_leaks)
				return verr(env, -EACCES, "spilled ptr in range of var-offset stack write; off=%d\n", (int)o);
			if (slot_is_spill(s)) {
				scrub_slot(s);
				vreg_mark_not_init(&s->spilled);
			}
			uint8_t *t = &s->type[stack_byte((int)o)];
			bool zero = value_regno >= 0 && regs[value_regno].type == SCALAR_VALUE &&
				    tnum_equals_const(regs[value_regno].var_off, 0);
			/* a byte the write may or may not reach keeps what it was unless that was nothing */
			if (*t == STACK_INVALID || *t == STACK_SPILL)
				*t = STACK_MISC;
			else if (!(*t == STACK_ZERO && zero))
				*t = STACK_MISC;
		}
		return 0;
	}
	bool all_zero = true;
	for (int64_t o = min_off; o < max_off + size; o++) {
		struct vslot *s = stack_slot(f, (int)o);
		uint8_t t = s->type[stack_byte((int)o)];
		if (t == STACK_ZERO)
			continue;
		all_zero = false;
		if (t == STACK_MISC || t == STACK_SPILL || (t == STACK_INVALID && env->allow_uninit_stack)) {
			if (t == STACK_SPILL && s->spilled.type != SCALAR_VALUE && !env->allow_ptr_leaks)
				return verr(env, -EACCES, "invalid read from stack R%d var_off variable\n", value_regno);
			continue;
		}
		char tn[48];
		tnum_str(tn, sizeof(tn), r->var_off);
		return verr(env, -EACCES, "invalid read from stack R%d var_off %s+%d size %d\n", value_regno, tn,
			    (int)(o - min_off), size);
	}
	if (value_regno >= 0) {
		vreg_mark_unknown(&regs[value_regno]);
		if (all_zero)
			vreg_mark_known(&regs[value_regno], 0);
	}
	return 0;
}

static int check_mem_bound(struct venv *env, int regno, int64_t off, int size, uint32_t mem_size, bool zero_ok)
{
	const struct vreg *r = &vcur_regs(env)[regno];
	bool size_ok = size > 0 || (size == 0 && zero_ok);
	if (off >= 0 && size_ok && (uint64_t)off + (uint64_t)size <= mem_size)
		return 0;
	switch (base_type(r->type)) {
	case PTR_TO_MAP_KEY:
		return verr(env, -EACCES, "invalid access to map key, key_size=%u off=%d size=%d\n", mem_size, (int)off, size);
	case PTR_TO_MAP_VALUE:
		return verr(env, -EACCES, "invalid access to map value, value_size=%u off=%d size=%d\n", mem_size, (int)off, size);
	case PTR_TO_PACKET:
	case PTR_TO_PACKET_META:
	case PTR_TO_PACKET_END:
		return verr(env, -EACCES, "invalid access to packet, off=%d size=%d, R%d(id=%u,off=%d,r=%u)\n", (int)off,
			    size, regno, r->id, (int)off, mem_size);
	default:
		return verr(env, -EACCES, "invalid access to memory, mem_size=%u off=%d size=%d\n", mem_size, (int)off, size);
	}
}

/* check_mem_region_access: both ends of the variable range must fit.
 * Details go to the log; the message is the summary line after them. */
static int check_region(struct venv *env, int regno, int off, int size, uint32_t mem_size, bool zero_ok)
{
	const struct vreg *r = &vcur_regs(env)[regno];
	if (r->smin < 0 && (r->smin == INT64_MIN || (off + r->smin != (int64_t)(int32_t)(off + r->smin)) || r->smin + off < 0))
		return verr(env, -EACCES, "R%d min value is negative, either use unsigned index or do a if (index >=0) check.\n", regno);
	int err = check_mem_bound(env, regno, r->smin + off, size, mem_size, zero_ok);
	if (err)
		return verr(env, err, "R%d min value is outside of the allowed memory range\n", regno);
	if (r->umax >= V_MAX_VAR_OFF)
		return verr(env, -EACCES, "R%d unbounded memory access, make sure to bounds check any such access\n", regno);
	err = check_mem_bound(env, regno, (int64_t)r->umax + off, size, mem_size, zero_ok);
	if (err)
		return verr(env, err, "R%d max value is outside of the allowed memory range\n", regno);
	return 0;
}

/* Raw programs: r1 is memory whose length r2 started as; a bound proven on
 * that length (the state's len_reg) is a packet range from r1. A pointer
 * r1 + var (+ off) may read len - var bytes from r1 + var, at least
 * min(len) - max(var): the range counts from after the variable part, as
 * the kernel's packet ranges do (the caller checks smin >= 0). */
static uint32_t raw_range(struct venv *env, const struct vreg *r)
{
	uint32_t range = r->range;
	if (env->pt->raw_memory && r->type == PTR_TO_PACKET && env->cur->len_reg.type == SCALAR_VALUE &&
	    r->umax <= V_MAX_PACKET_OFF) {
		uint64_t umin = env->cur->len_reg.umin;
		if (umin > V_MAX_PACKET_OFF)
			umin = V_MAX_PACKET_OFF;
		if (umin >= r->umax && umin - r->umax > range)
			range = (uint32_t)(umin - r->umax);
	}
	return range;
}

static int check_packet(struct venv *env, int regno, int off, int size, bool zero_ok)
{
	const struct vreg *r = &vcur_regs(env)[regno];
	if (r->smin < 0)
		return verr(env, -EACCES, "R%d min value is negative, either use unsigned index or do a if (index >=0) check.\n", regno);
	int err = check_mem_bound(env, regno, off, size, raw_range(env, r), zero_ok);
	if (err)
		return verr(env, err, "R%d offset is outside of the packet\n", regno);
	/* the variable part was added to a pointer whose range counts from
	 * after it (find_good_pkt_pointers gives it its own id) */
	if (r->umax > V_MAX_PACKET_OFF)
		return verr(env, -EACCES, "R%d offset is outside of the packet\n", regno);
	return 0;
}

int vcheck_ptr_off(struct venv *env, const struct vreg *r, int regno, bool fixed_off_ok)
{
	char tn[48];
	if (r->off < 0)
		return verr(env, -EACCES, "negative offset %s ptr R%d off=%d disallowed\n", vtype_str(r->type), regno, r->off);
	if (!fixed_off_ok && r->off)
		return verr(env, -EACCES, "dereference of modified %s ptr R%d off=%d disallowed\n", vtype_str(r->type),
			    regno, r->off);
	if (!tnum_is_const(r->var_off) || r->var_off.value) {
		tnum_str(tn, sizeof(tn), r->var_off);
		return verr(env, -EACCES, "variable %s access var_off=%s disallowed\n", vtype_str(r->type), tn);
	}
	return 0;
}

static int check_alignment(struct venv *env, const struct vreg *r, int off, int size)
{
	if (base_type(r->type) != PTR_TO_STACK || size == 1)
		return 0;
	struct tnum t = tnum_add(r->var_off, tnum_const((uint64_t)(int64_t)(r->off + off)));
	if (tnum_is_aligned(t, (uint64_t)size))
		return 0;
	char tn[48];
	if (tnum_is_const(r->var_off))
		snprintf(tn, sizeof(tn), "%lld", (long long)r->var_off.value);
	else
		tnum_str(tn, sizeof(tn), r->var_off);
	return verr(env, -EACCES, "misaligned stack access off %s+%d+%d size %d\n", tn, r->off, off, size);
}

/* BPF_F_RDONLY_PROG / BPF_F_WRONLY_PROG: what programs may do with the
 * map's values (the kernel's check_map_access_type). */
static int check_map_access_type(struct venv *env, const struct vreg *r, int off, int size, bool write)
{
	const struct bpfvm_map_def *def = bpfvm_map_def(r->map);
	if (write && (def->flags & BPF_F_RDONLY_PROG))
		return verr(env, -EACCES, "write into map forbidden, value_size=%u off=%d size=%d\n",
			    def->value_size, off, size);
	if (!write && (def->flags & BPF_F_WRONLY_PROG))
		return verr(env, -EACCES, "read from map forbidden, value_size=%u off=%d size=%d\n",
			    def->value_size, off, size);
	return 0;
}

/* A load from a frozen read-only map at a known offset reads a constant
 * (the kernel's bpf_map_direct_read): libbpf's `const volatile`
 * configuration in .rodata folds into the program. Returns 1 when d got
 * the value, 0 when the load stays an unknown scalar. */
static int read_rdonly_map(const struct vreg *r, int off, int size, bool sign_ext, struct vreg *d)
{
	uint64_t addr;
	struct bpfvm_map *map = (struct bpfvm_map *)(uintptr_t)r->map; /* only read here */
	if (!tnum_is_const(r->var_off) || !bpfvm__map_is_rdonly_prog(map) ||
	    bpfvm__map_direct_value_addr(map, (uint32_t)(off + (int64_t)r->var_off.value), &addr))
		return 0;
	const void *p = (const void *)(uintptr_t)addr;
	uint64_t v;
	switch (size) {
	case 1: { uint8_t x; memcpy(&x, p, 1); v = sign_ext ? (uint64_t)(int64_t)(int8_t)x : x; break; }
	case 2: { uint16_t x; memcpy(&x, p, 2); v = sign_ext ? (uint64_t)(int64_t)(int16_t)x : x; break; }
	case 4: { uint32_t x; memcpy(&x, p, 4); v = sign_ext ? (uint64_t)(int64_t)(int32_t)x : x; break; }
	case 8: memcpy(&v, p, 8); break;
	default: return 0;
	}
	vreg_mark_unknown(d); /* a scalar, nothing kept from before */
	vreg_mark_known(d, v);
	return 1;
}

int vcheck_mem_access(struct venv *env, int regno, int off, int size, bool write, int value_regno,
		      bool strict_atomic, bool sign_ext)
{
	struct vreg *regs = vcur_regs(env);
	struct vreg *r = &regs[regno];
	int err = check_alignment(env, r, off, size);
	(void)strict_atomic;
	if (err)
		return err;
	off += r->off;
	bool leak = write && value_regno >= 0 && vis_pointer_value(env, value_regno);
	switch (r->type) {
	case PTR_TO_MAP_VALUE: {
		if (leak)
			return verr(env, -EACCES, "R%d leaks addr into map\n", value_regno);
		err = check_map_access_type(env, r, off, size, write);
		if (err)
			return err;
		err = check_region(env, regno, off, size, bpfvm_map_def(r->map)->value_size, false);
		if (err)
			return err;
		if (!write && value_regno >= 0 &&
		    !read_rdonly_map(r, off, size, sign_ext, &regs[value_regno]))
			vreg_mark_unknown(&regs[value_regno]);
		break;
	}
	case PTR_TO_MAP_KEY:
		err = check_region(env, regno, off, size, bpfvm_map_def(r->map)->key_size, false);
		if (err)
			return err;
		if (!write && value_regno >= 0)
			vreg_mark_unknown(&regs[value_regno]);
		break;
	case PTR_TO_MEM:
	case PTR_TO_MEM | MEM_RINGBUF:
		if (leak)
			return verr(env, -EACCES, "R%d leaks addr into mem\n", value_regno);
		err = check_region(env, regno, off, size, r->range, false);
		if (err)
			return err;
		if (!write && value_regno >= 0)
			vreg_mark_unknown(&regs[value_regno]);
		break;
	case PTR_TO_CTX: {
		if (leak)
			return verr(env, -EACCES, "R%d leaks addr into ctx\n", value_regno);
		err = vcheck_ptr_off(env, r, regno, false);
		if (err)
			return err;
		struct bpfvm_ctx_access acc;
		if (env->pt->raw_memory || !bpfvm__progtype_ctx_access(env->pt, off, size, write, &acc))
			return verr(env, -EACCES, "invalid bpf_context access off=%d size=%d\n", off, size);
		if (!write && value_regno >= 0) {
			struct vreg *d = &regs[value_regno];
			vreg_mark_unknown(d);
			if (acc.kind != BPFVM_CTX_SCALAR) {
				vreg_mark_known(d, 0);
				d->type = acc.kind == BPFVM_CTX_PKT ? PTR_TO_PACKET
					  : acc.kind == BPFVM_CTX_PKT_END ? PTR_TO_PACKET_END
									   : PTR_TO_PACKET_META;
				return 0; /* a pointer: no narrowing below */
			}
		}
		break;
	}
	case PTR_TO_STACK: {
		err = check_stack_bounds(env, regno, off, size, write);
		if (err)
			return err;
		struct vframe *f = reg_frame(env, r);
		if (!tnum_is_const(r->var_off)) {
			err = stack_access_var(env, r, off, size, write, write ? value_regno : value_regno);
		} else {
			int abs_off = off + (int)r->var_off.value;
			if (write)
				err = stack_write_fixed(env, f, abs_off, size, value_regno, &env->insns[env->insn_idx]);
			else
				err = stack_read_fixed(env, f, abs_off, size, value_regno);
		}
		if (err)
			return err;
		break;
	}
	case PTR_TO_PACKET:
	case PTR_TO_PACKET_META:
		if (write && !env->pt->pkt_write)
			return verr(env, -EACCES, "cannot write into packet\n");
		if (leak)
			return verr(env, -EACCES, "R%d leaks addr into packet\n", value_regno);
		err = check_packet(env, regno, off, size, false);
		if (err)
			return err;
		if (!write && value_regno >= 0)
			vreg_mark_unknown(&regs[value_regno]);
		break;
	default:
		return verr(env, -EACCES, "R%d invalid mem access '%s'\n", regno, vtype_str(r->type));
	}
	if (!write && value_regno >= 0 && size < 8 && regs[value_regno].type == SCALAR_VALUE) {
		if (sign_ext)
			vreg_coerce_sx(&regs[value_regno], size);
		else
			vreg_coerce(&regs[value_regno], size);
	}
	return 0;
}

/* Memory a helper reads or writes through a pointer argument. */
int vcheck_helper_mem(struct venv *env, int regno, int size, bool write, bool zero_ok)
{
	struct vreg *r = &vcur_regs(env)[regno];
	switch (base_type(r->type)) {
	case PTR_TO_PACKET:
	case PTR_TO_PACKET_META:
		if (r->type & PTR_MAYBE_NULL)
			break;
		return check_packet(env, regno, r->off, size, zero_ok);
	case PTR_TO_MAP_KEY:
		return check_region(env, regno, r->off, size, bpfvm_map_def(r->map)->key_size, zero_ok);
	case PTR_TO_MAP_VALUE:
		if (check_map_access_type(env, r, r->off, size, write))
			return -EACCES;
		return check_region(env, regno, r->off, size, bpfvm_map_def(r->map)->value_size, zero_ok);
	case PTR_TO_MEM:
		return check_region(env, regno, r->off, size, r->range, zero_ok);
	case PTR_TO_STACK: {
		if (size == 0 && !zero_ok)
			return verr(env, -EACCES, "invalid zero-sized read\n");
		int err = check_stack_bounds(env, regno, r->off, size, write);
		if (err)
			return err;
		struct vframe *f = reg_frame(env, r);
		int64_t min_off, max_off;
		if (tnum_is_const(r->var_off)) {
			min_off = max_off = (int64_t)r->var_off.value + r->off;
		} else {
			if (!env->allow_ptr_leaks) {
				char tn[48];
				tnum_str(tn, sizeof(tn), r->var_off);
				return verr(env, -EACCES, "R%d variable offset stack access prohibited for !root, var_off=%s\n",
					    regno, tn);
			}
			min_off = r->smin + r->off;
			max_off = r->smax + r->off;
		}
		for (int64_t i = min_off; i < max_off + size; i++) {
			int slot = (int)(-i - 1);
			struct vslot *s = &f->slots[slot / 8];
			uint8_t *t = &s->type[slot % 8];
			if (*t == STACK_MISC)
				continue;
			if (*t == STACK_ZERO || (*t == STACK_INVALID && env->allow_uninit_stack)) {
				if (write)
					*t = STACK_MISC;
				continue;
			}
			if (*t == STACK_INVALID && write && tnum_is_const(r->var_off)) {
				*t = STACK_MISC; /* helper initializes it (raw mode) */
				continue;
			}
			if (s->type[7] == STACK_SPILL && (s->spilled.type == SCALAR_VALUE || env->allow_ptr_leaks)) {
				if (write) {
					vreg_mark_not_init(&s->spilled);
					scrub_slot(s);
				}
				continue;
			}
			if (tnum_is_const(r->var_off))
				return verr(env, -EACCES, "invalid read from stack R%d off %d+%d size %d\n", regno,
					    (int)min_off, (int)(i - min_off), size);
			char tn[48];
			tnum_str(tn, sizeof(tn), r->var_off);
			return verr(env, -EACCES, "invalid read from stack R%d var_off %s+%d size %d\n", regno, tn,
				    (int)(i - min_off), size);
		}
		return 0;
	}
	default:
		break;
	}
	if (zero_ok && size == 0 && r->type == SCALAR_VALUE && tnum_equals_const(r->var_off, 0))
		return 0;
	return verr(env, -EACCES, "R%d type=%s expected=%s\n", regno, vtype_str(r->type), "fp");
}
