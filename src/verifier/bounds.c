/* Scalar values: known bits (tnum) and signed/unsigned 64- and 32-bit
 * bounds, kept consistent with each other as the kernel's reg_bounds_sync
 * does; arithmetic, and what a conditional jump teaches about its operands. */
#include <limits.h>
#include <string.h>

#include "verifier/verifier.h"

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

static void mark32_unbounded(struct vreg *r)
{
	r->s32min = INT32_MIN;
	r->s32max = INT32_MAX;
	r->u32min = 0;
	r->u32max = UINT32_MAX;
}

static void mark64_unbounded(struct vreg *r)
{
	r->smin = INT64_MIN;
	r->smax = INT64_MAX;
	r->umin = 0;
	r->umax = UINT64_MAX;
}

void vreg_mark_unbounded(struct vreg *r)
{
	mark64_unbounded(r);
	mark32_unbounded(r);
}

void vreg_mark_known(struct vreg *r, uint64_t v)
{
	r->var_off = tnum_const(v);
	r->smin = r->smax = (int64_t)v;
	r->umin = r->umax = v;
	r->s32min = r->s32max = (int32_t)v;
	r->u32min = r->u32max = (uint32_t)v;
}

void vreg_mark_unknown(struct vreg *r)
{
	memset(r, 0, sizeof(*r));
	r->type = SCALAR_VALUE;
	r->var_off = tnum_unknown;
	vreg_mark_unbounded(r);
}

void vscalar_clear_id(struct vreg *r)
{
	r->id = 0;
	r->off = 0;
}

void vreg_mark_not_init(struct vreg *r)
{
	vreg_mark_unknown(r);
	r->type = NOT_INIT;
}

static void update_bounds(struct vreg *r)
{
	struct tnum t32 = tnum_subreg(r->var_off);
	r->s32min = MAX(r->s32min, (int32_t)(t32.value | (t32.mask & 0x80000000u)));
	r->s32max = MIN(r->s32max, (int32_t)(t32.value | (t32.mask & 0x7fffffffu)));
	r->u32min = MAX(r->u32min, (uint32_t)t32.value);
	r->u32max = MIN(r->u32max, (uint32_t)(t32.value | t32.mask));
	r->smin = MAX(r->smin, (int64_t)(r->var_off.value | (r->var_off.mask & (1ULL << 63))));
	r->smax = MIN(r->smax, (int64_t)(r->var_off.value | (r->var_off.mask & ~(1ULL << 63))));
	r->umin = MAX(r->umin, r->var_off.value);
	r->umax = MIN(r->umax, r->var_off.value | r->var_off.mask);
}

static void deduce32(struct vreg *r)
{
	if ((r->umin >> 32) == (r->umax >> 32)) {
		r->u32min = MAX(r->u32min, (uint32_t)r->umin);
		r->u32max = MIN(r->u32max, (uint32_t)r->umax);
		if ((int32_t)r->umin <= (int32_t)r->umax) {
			r->s32min = MAX(r->s32min, (int32_t)r->umin);
			r->s32max = MIN(r->s32max, (int32_t)r->umax);
		}
	}
	if ((r->smin >> 32) == (r->smax >> 32)) {
		r->u32min = MAX(r->u32min, (uint32_t)r->smin);
		r->u32max = MIN(r->u32max, (uint32_t)r->smax);
		if ((int32_t)r->smin <= (int32_t)r->smax) {
			r->s32min = MAX(r->s32min, (int32_t)r->smin);
			r->s32max = MIN(r->s32max, (int32_t)r->smax);
		}
	}
	if ((int32_t)r->u32min <= (int32_t)r->u32max) {
		r->s32min = MAX(r->s32min, (int32_t)r->u32min);
		r->s32max = MIN(r->s32max, (int32_t)r->u32max);
	}
	if ((uint32_t)r->s32min <= (uint32_t)r->s32max) {
		r->u32min = MAX((uint32_t)r->s32min, r->u32min);
		r->u32max = MIN((uint32_t)r->s32max, r->u32max);
	}
}

static void deduce64(struct vreg *r)
{
	if ((int64_t)r->umin <= (int64_t)r->umax) {
		r->smin = MAX(r->smin, (int64_t)r->umin);
		r->smax = MIN(r->smax, (int64_t)r->umax);
	}
	if ((uint64_t)r->smin <= (uint64_t)r->smax) {
		r->umin = MAX((uint64_t)r->smin, r->umin);
		r->umax = MIN((uint64_t)r->smax, r->umax);
	} else {
		/* a range crossing the sign boundary */
		if (r->umax < (uint64_t)r->smin) {
			r->smin = (int64_t)r->umin;
			r->umax = MIN(r->umax, (uint64_t)r->smax);
		} else if ((uint64_t)r->smax < r->umin) {
			r->smax = (int64_t)r->umax;
			r->umin = MAX(r->umin, (uint64_t)r->smin);
		}
	}
}

static void deduce_mixed(struct vreg *r)
{
	uint64_t nu_min = (r->umin & ~0xffffffffULL) | r->u32min;
	uint64_t nu_max = (r->umax & ~0xffffffffULL) | r->u32max;
	r->umin = MAX(r->umin, nu_min);
	r->umax = MIN(r->umax, nu_max);
	int64_t ns_min = (int64_t)(((uint64_t)r->smin & ~0xffffffffULL) | r->u32min);
	int64_t ns_max = (int64_t)(((uint64_t)r->smax & ~0xffffffffULL) | r->u32max);
	r->smin = MAX(r->smin, ns_min);
	r->smax = MIN(r->smax, ns_max);
	if (r->s32min >= 0 && r->smin >= INT32_MIN && r->smax <= INT32_MAX) {
		r->smin = r->s32min;
		r->smax = r->s32max;
		r->umin = (uint64_t)r->s32min;
		r->umax = (uint64_t)r->s32max;
		r->var_off = tnum_intersect(r->var_off, tnum_range((uint64_t)r->smin, (uint64_t)r->smax));
	}
}

static void bound_offset(struct vreg *r)
{
	struct tnum t64 = tnum_intersect(r->var_off, tnum_range(r->umin, r->umax));
	struct tnum t32 = tnum_intersect(tnum_subreg(t64), tnum_range(r->u32min, r->u32max));
	r->var_off = tnum_or(tnum_clear_subreg(t64), t32);
}

/* A dead-branch state can make bounds contradictory; such a register holds
 * no value at all, and any answer about it is vacuously right. Keep it
 * well-formed by forgetting it. */
static void sanitize(struct vreg *r)
{
	if (r->smin > r->smax || r->umin > r->umax || r->s32min > r->s32max ||
	    r->u32min > r->u32max || (r->var_off.value & r->var_off.mask)) {
		r->var_off = tnum_unknown;
		vreg_mark_unbounded(r);
	}
}

void vreg_bounds_sync(struct vreg *r)
{
	update_bounds(r);
	deduce32(r);
	deduce64(r);
	deduce_mixed(r);
	deduce32(r);
	deduce64(r);
	bound_offset(r);
	update_bounds(r);
	sanitize(r);
}

/* ALU32 results are zero-extended into the 64-bit register. */
void vreg_zext32(struct vreg *r)
{
	r->var_off = tnum_subreg(r->var_off);
	r->umin = r->u32min;
	r->umax = r->u32max;
	if (r->s32min >= 0) {
		r->smin = r->s32min;
		r->smax = r->s32max;
	} else {
		r->smin = 0;
		r->smax = UINT32_MAX;
	}
}

/* Keep the low size bytes (a narrow load, a narrowing move). */
void vreg_coerce(struct vreg *r, int size)
{
	if (size >= 8)
		return;
	uint64_t mask = (1ULL << (size * 8)) - 1;
	r->var_off = tnum_cast(r->var_off, (unsigned)size);
	if ((r->umin & ~mask) == (r->umax & ~mask)) {
		r->umin &= mask;
		r->umax &= mask;
	} else {
		r->umin = 0;
		r->umax = mask;
	}
	r->smin = (int64_t)r->umin;
	r->smax = (int64_t)r->umax;
	if (size < 4 || (r->umax >> 32) == 0) {
		r->u32min = (uint32_t)r->umin;
		r->u32max = (uint32_t)r->umax;
		r->s32min = (int32_t)MIN(r->umin, (uint64_t)INT32_MAX);
		r->s32max = (int32_t)MIN(r->umax, (uint64_t)INT32_MAX);
		if (r->umax > INT32_MAX) {
			r->s32min = INT32_MIN;
			r->s32max = INT32_MAX;
		}
	} else {
		mark32_unbounded(r);
	}
	vreg_bounds_sync(r);
}

/* Sign-extend the low size bytes (LDXSX, MOVSX). */
void vreg_coerce_sx(struct vreg *r, int size)
{
	int bits = size * 8;
	if (vreg_is_const(r, false)) {
		int64_t v = (int64_t)(r->var_off.value << (64 - bits)) >> (64 - bits);
		vreg_mark_known(r, (uint64_t)v);
		return;
	}
	/* Values of the narrow type that keep their range when sign-extended:
	 * [smin, smax] inside the type's non-negative half stays as it is. */
	uint64_t half = 1ULL << (bits - 1);
	bool keeps = r->umax < half;
	uint64_t umin = r->umin, umax = r->umax;
	vreg_mark_unknown(r);
	r->type = SCALAR_VALUE;
	if (keeps) {
		r->umin = umin;
		r->umax = umax;
		r->smin = (int64_t)umin;
		r->smax = (int64_t)umax;
	} else {
		r->smin = -(int64_t)half;
		r->smax = (int64_t)half - 1;
	}
	vreg_bounds_sync(r);
}

bool vreg_is_const(const struct vreg *r, bool is32)
{
	return is32 ? tnum_is_const(tnum_subreg(r->var_off)) : tnum_is_const(r->var_off);
}

uint64_t vreg_const(const struct vreg *r, bool is32)
{
	return is32 ? (uint32_t)r->var_off.value : r->var_off.value;
}

/* ---- arithmetic ----------------------------------------------------------------- */

static bool add_overflows_s64(int64_t a, int64_t b, int64_t *res)
{
	return __builtin_add_overflow(a, b, res);
}

static void op_add(struct vreg *d, const struct vreg *s)
{
	int64_t smin, smax;
	if (add_overflows_s64(d->smin, s->smin, &smin) || add_overflows_s64(d->smax, s->smax, &smax)) {
		d->smin = INT64_MIN;
		d->smax = INT64_MAX;
	} else {
		d->smin = smin;
		d->smax = smax;
	}
	uint64_t umin, umax;
	if (__builtin_add_overflow(d->umin, s->umin, &umin) ||
	    __builtin_add_overflow(d->umax, s->umax, &umax)) {
		d->umin = 0;
		d->umax = UINT64_MAX;
	} else {
		d->umin = umin;
		d->umax = umax;
	}
	d->var_off = tnum_add(d->var_off, s->var_off);
}

static void op_sub(struct vreg *d, const struct vreg *s)
{
	int64_t smin, smax;
	if (__builtin_sub_overflow(d->smin, s->smax, &smin) || __builtin_sub_overflow(d->smax, s->smin, &smax)) {
		d->smin = INT64_MIN;
		d->smax = INT64_MAX;
	} else {
		d->smin = smin;
		d->smax = smax;
	}
	if (d->umin < s->umax) {
		d->umin = 0;
		d->umax = UINT64_MAX;
	} else {
		d->umin -= s->umax;
		d->umax -= s->umin;
	}
	d->var_off = tnum_sub(d->var_off, s->var_off);
}

static void op_mul(struct vreg *d, const struct vreg *s)
{
	uint64_t umin, umax;
	if (__builtin_mul_overflow(d->umin, s->umin, &umin) || __builtin_mul_overflow(d->umax, s->umax, &umax)) {
		d->umin = 0;
		d->umax = UINT64_MAX;
	} else {
		d->umin = umin;
		d->umax = umax;
	}
	int64_t p[4];
	if (__builtin_mul_overflow(d->smin, s->smin, &p[0]) || __builtin_mul_overflow(d->smin, s->smax, &p[1]) ||
	    __builtin_mul_overflow(d->smax, s->smin, &p[2]) || __builtin_mul_overflow(d->smax, s->smax, &p[3])) {
		d->smin = INT64_MIN;
		d->smax = INT64_MAX;
	} else {
		d->smin = MIN(MIN(p[0], p[1]), MIN(p[2], p[3]));
		d->smax = MAX(MAX(p[0], p[1]), MAX(p[2], p[3]));
	}
	d->var_off = tnum_mul(d->var_off, s->var_off);
}

/* Signed bounds from unsigned ones when the range does not cross the sign bit. */
static void signed_from_unsigned(struct vreg *d)
{
	if ((int64_t)d->umin <= (int64_t)d->umax) {
		d->smin = (int64_t)d->umin;
		d->smax = (int64_t)d->umax;
	} else {
		d->smin = INT64_MIN;
		d->smax = INT64_MAX;
	}
}

static void op_bitwise(struct vreg *d, const struct vreg *s, int op)
{
	bool known = tnum_is_const(d->var_off) && tnum_is_const(s->var_off);
	uint64_t dumax = d->umax, dumin = d->umin;
	if (op == BPFVM_ALU_AND)
		d->var_off = tnum_and(d->var_off, s->var_off);
	else if (op == BPFVM_ALU_OR)
		d->var_off = tnum_or(d->var_off, s->var_off);
	else
		d->var_off = tnum_xor(d->var_off, s->var_off);
	if (known) {
		vreg_mark_known(d, d->var_off.value);
		return;
	}
	if (op == BPFVM_ALU_AND) {
		d->umin = d->var_off.value;
		d->umax = MIN(dumax, s->umax);
	} else if (op == BPFVM_ALU_OR) {
		d->umin = MAX(dumin, s->umin);
		d->umax = d->var_off.value | d->var_off.mask;
	} else {
		d->umin = d->var_off.value;
		d->umax = d->var_off.value | d->var_off.mask;
	}
	signed_from_unsigned(d);
}

static void op_lsh(struct vreg *d, uint64_t sh_min, uint64_t sh_max)
{
	d->smin = INT64_MIN;
	d->smax = INT64_MAX;
	if (sh_max >= 64 || d->umax > (1ULL << (63 - sh_max))) {
		d->umin = 0;
		d->umax = UINT64_MAX;
	} else {
		d->umin <<= sh_min;
		d->umax <<= sh_max;
	}
	d->var_off = tnum_lshift(d->var_off, (unsigned)sh_min);
}

static void op_rsh(struct vreg *d, uint64_t sh_min, uint64_t sh_max)
{
	d->smin = INT64_MIN;
	d->smax = INT64_MAX;
	d->var_off = tnum_rshift(d->var_off, (unsigned)sh_min);
	d->umin >>= sh_max;
	d->umax >>= sh_min;
}

static void op_arsh(struct vreg *d, uint64_t sh)
{
	d->smin >>= sh;
	d->smax >>= sh;
	d->var_off = tnum_arshift(d->var_off, (unsigned)sh, 64);
	d->umin = 0;
	d->umax = UINT64_MAX;
}

/* Can the result's range be computed (else it is an unknown scalar)? */
bool vscalar_op_safe(const struct vreg *src, int op, bool is32)
{
	unsigned bits = is32 ? 32 : 64;
	bool src_const = is32 ? (vreg_is_const(src, true) && src->s32min == src->s32max &&
				 src->u32min == src->u32max)
			      : (vreg_is_const(src, false) && src->smin == src->smax && src->umin == src->umax);
	switch (op) {
	case BPFVM_ALU_ADD:
	case BPFVM_ALU_SUB:
	case BPFVM_ALU_NEG:
	case BPFVM_ALU_AND:
	case BPFVM_ALU_XOR:
	case BPFVM_ALU_OR:
	case BPFVM_ALU_MUL:
		return true;
	case BPFVM_ALU_LSH:
	case BPFVM_ALU_RSH:
	case BPFVM_ALU_ARSH:
		return src_const && (is32 ? src->u32max : src->umax) < bits;
	default:
		return false;
	}
}

/* The 64-bit view of a 32-bit operand: zero- or sign-extended. */
static struct vreg widen32(const struct vreg *r, bool sign)
{
	struct vreg w = *r;
	struct tnum t = tnum_subreg(r->var_off);
	if (!sign) {
		w.var_off = t;
		w.umin = r->u32min;
		w.umax = r->u32max;
		w.smin = r->u32min;
		w.smax = r->u32max;
	} else {
		if (t.mask & 0x80000000u)
			t = TNUM(t.value, t.mask | 0xffffffff00000000ULL);
		else if (t.value & 0x80000000u)
			t = TNUM(t.value | 0xffffffff00000000ULL, t.mask);
		w.var_off = t;
		w.smin = r->s32min;
		w.smax = r->s32max;
		w.umin = 0;
		w.umax = UINT64_MAX;
	}
	mark32_unbounded(&w);
	vreg_bounds_sync(&w);
	return w;
}

static void op64(struct vreg *d, const struct vreg *s, int op)
{
	switch (op) {
	case BPFVM_ALU_ADD: op_add(d, s); break;
	case BPFVM_ALU_SUB: op_sub(d, s); break;
	case BPFVM_ALU_MUL: op_mul(d, s); break;
	case BPFVM_ALU_AND:
	case BPFVM_ALU_OR:
	case BPFVM_ALU_XOR: op_bitwise(d, s, op); break;
	case BPFVM_ALU_LSH: op_lsh(d, s->umin, s->umax); break;
	case BPFVM_ALU_RSH: op_rsh(d, s->umin, s->umax); break;
	case BPFVM_ALU_ARSH: op_arsh(d, s->umin); break;
	case BPFVM_ALU_NEG: {
		struct vreg zero = *d, x = *d;
		vreg_mark_known(&zero, 0);
		op_sub(&zero, &x);
		*d = zero;
		break;
	}
	default:
		vreg_mark_unknown(d);
		return;
	}
	mark32_unbounded(d);
}

void vscalar_alu(struct vreg *dst, const struct vreg *src, int op, bool is32)
{
	uint32_t id = dst->id;
	if (!vscalar_op_safe(src, op, is32)) {
		vreg_mark_unknown(dst);
		return;
	}
	(void)id;
	if (!is32) {
		op64(dst, src, op);
		vscalar_clear_id(dst);
		vreg_bounds_sync(dst);
		return;
	}
	/* 32-bit: compute on the widened operands, keep the low half. */
	bool sign = op == BPFVM_ALU_ARSH;
	struct vreg d = widen32(dst, sign), s = widen32(src, false);
	if (sign)
		s.umin = s.umax = src->u32min; /* shift amount */
	op64(&d, &s, op);
	vreg_bounds_sync(&d);
	struct vreg out;
	vreg_mark_unknown(&out);
	out.var_off = tnum_subreg(d.var_off);
	if ((d.umin >> 32) == (d.umax >> 32)) {
		out.u32min = (uint32_t)d.umin;
		out.u32max = (uint32_t)d.umax;
	}
	if (sign && d.smin >= INT32_MIN && d.smax <= INT32_MAX) {
		out.s32min = (int32_t)d.smin;
		out.s32max = (int32_t)d.smax;
	}
	out.umin = 0;
	out.umax = UINT32_MAX;
	vreg_bounds_sync(&out);
	/* deduce 32-bit signed bounds from the tnum and unsigned ones, then zero-extend */
	vreg_zext32(&out);
	vreg_bounds_sync(&out);
	*dst = out;
}

/* ---- conditional jumps ----------------------------------------------------------- */

struct view {
	uint64_t umin, umax;
	int64_t smin, smax;
	struct tnum t;
};

static struct view view_of(const struct vreg *r, bool is32)
{
	if (is32)
		return (struct view){r->u32min, r->u32max, r->s32min, r->s32max, tnum_subreg(r->var_off)};
	return (struct view){r->umin, r->umax, r->smin, r->smax, r->var_off};
}

int vbranch_taken(const struct vreg *r1, const struct vreg *r2, int op, bool is32)
{
	struct view a = view_of(r1, is32), b = view_of(r2, is32);
	switch (op) {
	case BPFVM_JMP_JEQ:
	case BPFVM_JMP_JNE: {
		int eq = -1;
		if (tnum_is_const(a.t) && tnum_is_const(b.t))
			eq = a.t.value == b.t.value;
		else if (a.umin > b.umax || a.umax < b.umin || a.smin > b.smax || a.smax < b.smin)
			eq = 0;
		else if (!is32 && (r1->u32min > r2->u32max || r1->u32max < r2->u32min ||
				   r1->s32min > r2->s32max || r1->s32max < r2->s32min))
			eq = 0;
		else if ((a.t.value ^ b.t.value) & ~(a.t.mask | b.t.mask))
			eq = 0; /* a bit known in both differs (the tnums do not overlap) */
		if (eq < 0)
			return -1;
		return op == BPFVM_JMP_JEQ ? eq : !eq;
	}
	case BPFVM_JMP_JSET: {
		const struct view *v = &a, *c = &b;
		if (!tnum_is_const(b.t)) {
			v = &b;
			c = &a;
		}
		if (!tnum_is_const(c->t))
			return -1;
		if ((~v->t.mask & v->t.value) & c->t.value)
			return 1;
		if (!((v->t.mask | v->t.value) & c->t.value))
			return 0;
		return -1;
	}
	case BPFVM_JMP_JGT:
		if (a.umin > b.umax) return 1;
		if (a.umax <= b.umin) return 0;
		return -1;
	case BPFVM_JMP_JSGT:
		if (a.smin > b.smax) return 1;
		if (a.smax <= b.smin) return 0;
		return -1;
	case BPFVM_JMP_JLT:
		if (a.umax < b.umin) return 1;
		if (a.umin >= b.umax) return 0;
		return -1;
	case BPFVM_JMP_JSLT:
		if (a.smax < b.smin) return 1;
		if (a.smin >= b.smax) return 0;
		return -1;
	case BPFVM_JMP_JGE:
		if (a.umin >= b.umax) return 1;
		if (a.umax < b.umin) return 0;
		return -1;
	case BPFVM_JMP_JSGE:
		if (a.smin >= b.smax) return 1;
		if (a.smax < b.smin) return 0;
		return -1;
	case BPFVM_JMP_JLE:
		if (a.umax <= b.umin) return 1;
		if (a.umin > b.umax) return 0;
		return -1;
	case BPFVM_JMP_JSLE:
		if (a.smax <= b.smin) return 1;
		if (a.smin > b.smax) return 0;
		return -1;
	}
	return -1;
}

int vrev_op(int op)
{
	switch (op) {
	case BPFVM_JMP_JEQ: return BPFVM_JMP_JNE;
	case BPFVM_JMP_JNE: return BPFVM_JMP_JEQ;
	case BPFVM_JMP_JSET: return V_JSET_FALSE;
	case BPFVM_JMP_JGT: return BPFVM_JMP_JLE;
	case BPFVM_JMP_JGE: return BPFVM_JMP_JLT;
	case BPFVM_JMP_JLT: return BPFVM_JMP_JGE;
	case BPFVM_JMP_JLE: return BPFVM_JMP_JGT;
	case BPFVM_JMP_JSGT: return BPFVM_JMP_JSLE;
	case BPFVM_JMP_JSGE: return BPFVM_JMP_JSLT;
	case BPFVM_JMP_JSLT: return BPFVM_JMP_JSGE;
	case BPFVM_JMP_JSLE: return BPFVM_JMP_JSGT;
	}
	return op;
}

static int flip_op(int op)
{
	switch (op) {
	case BPFVM_JMP_JGT: return BPFVM_JMP_JLT;
	case BPFVM_JMP_JGE: return BPFVM_JMP_JLE;
	case BPFVM_JMP_JLT: return BPFVM_JMP_JGT;
	case BPFVM_JMP_JLE: return BPFVM_JMP_JGE;
	case BPFVM_JMP_JSGT: return BPFVM_JMP_JSLT;
	case BPFVM_JMP_JSGE: return BPFVM_JMP_JSLE;
	case BPFVM_JMP_JSLT: return BPFVM_JMP_JSGT;
	case BPFVM_JMP_JSLE: return BPFVM_JMP_JSGE;
	}
	return op;
}

static void refine32_eq(struct vreg *a, struct vreg *b)
{
	a->u32min = b->u32min = MAX(a->u32min, b->u32min);
	a->u32max = b->u32max = MIN(a->u32max, b->u32max);
	a->s32min = b->s32min = MAX(a->s32min, b->s32min);
	a->s32max = b->s32max = MIN(a->s32max, b->s32max);
	struct tnum t = tnum_intersect(tnum_subreg(a->var_off), tnum_subreg(b->var_off));
	a->var_off = tnum_with_subreg(a->var_off, t);
	b->var_off = tnum_with_subreg(b->var_off, t);
}

static void refine64_eq(struct vreg *a, struct vreg *b)
{
	a->umin = b->umin = MAX(a->umin, b->umin);
	a->umax = b->umax = MIN(a->umax, b->umax);
	a->smin = b->smin = MAX(a->smin, b->smin);
	a->smax = b->smax = MIN(a->smax, b->smax);
	a->var_off = b->var_off = tnum_intersect(a->var_off, b->var_off);
}

void vrefine_cond(struct vreg *r1, struct vreg *r2, int op, bool is32)
{
	switch (op) {
	case BPFVM_JMP_JGE:
	case BPFVM_JMP_JGT:
	case BPFVM_JMP_JSGE:
	case BPFVM_JMP_JSGT: {
		struct vreg *t = r1;
		r1 = r2;
		r2 = t;
		op = flip_op(op);
		break;
	}
	}
	switch (op) {
	case BPFVM_JMP_JEQ:
		if (is32)
			refine32_eq(r1, r2);
		else
			refine64_eq(r1, r2);
		break;
	case BPFVM_JMP_JNE: {
		if (!vreg_is_const(r2, is32)) {
			struct vreg *t = r1;
			r1 = r2;
			r2 = t;
		}
		if (!vreg_is_const(r2, is32))
			break;
		uint64_t v = vreg_const(r2, is32);
		if (is32) {
			if (r1->u32min == (uint32_t)v) r1->u32min++;
			if (r1->u32max == (uint32_t)v) r1->u32max--;
			if (r1->s32min == (int32_t)v) r1->s32min++;
			if (r1->s32max == (int32_t)v) r1->s32max--;
		} else {
			if (r1->umin == v) r1->umin++;
			if (r1->umax == v) r1->umax--;
			if (r1->smin == (int64_t)v) r1->smin++;
			if (r1->smax == (int64_t)v) r1->smax--;
		}
		break;
	}
	case BPFVM_JMP_JSET:
	case V_JSET_FALSE: {
		if (!vreg_is_const(r2, is32)) {
			struct vreg *t = r1;
			r1 = r2;
			r2 = t;
		}
		if (!vreg_is_const(r2, is32))
			break;
		uint64_t v = vreg_const(r2, is32);
		if (op == BPFVM_JMP_JSET) {
			if (!v || (v & (v - 1)))
				break;
			if (is32)
				r1->var_off = tnum_with_subreg(r1->var_off, tnum_or(tnum_subreg(r1->var_off), tnum_const(v)));
			else
				r1->var_off = tnum_or(r1->var_off, tnum_const(v));
		} else {
			vreg_mark_unbounded(r1);
			if (is32)
				r1->var_off = tnum_with_subreg(r1->var_off, tnum_and(tnum_subreg(r1->var_off), tnum_const(~v)));
			else
				r1->var_off = tnum_and(r1->var_off, tnum_const(~v));
		}
		break;
	}
	case BPFVM_JMP_JLE:
		if (is32) {
			r1->u32max = MIN(r1->u32max, r2->u32max);
			r2->u32min = MAX(r1->u32min, r2->u32min);
		} else {
			r1->umax = MIN(r1->umax, r2->umax);
			r2->umin = MAX(r1->umin, r2->umin);
		}
		break;
	case BPFVM_JMP_JLT:
		if (is32) {
			r1->u32max = MIN(r1->u32max, r2->u32max - 1);
			r2->u32min = MAX(r1->u32min + 1, r2->u32min);
		} else {
			r1->umax = MIN(r1->umax, r2->umax - 1);
			r2->umin = MAX(r1->umin + 1, r2->umin);
		}
		break;
	case BPFVM_JMP_JSLE:
		if (is32) {
			r1->s32max = MIN(r1->s32max, r2->s32max);
			r2->s32min = MAX(r1->s32min, r2->s32min);
		} else {
			r1->smax = MIN(r1->smax, r2->smax);
			r2->smin = MAX(r1->smin, r2->smin);
		}
		break;
	case BPFVM_JMP_JSLT:
		if (is32) {
			r1->s32max = MIN(r1->s32max, r2->s32max - 1);
			r2->s32min = MAX(r1->s32min + 1, r2->s32min);
		} else {
			r1->smax = MIN(r1->smax, r2->smax - 1);
			r2->smin = MAX(r1->smin + 1, r2->smin);
		}
		break;
	}
}
