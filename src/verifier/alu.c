/* ALU instructions: moves, scalar arithmetic and the pointer arithmetic the
 * kernel allows (check_alu_op, adjust_ptr_min_max_vals). */
#include <string.h>

#include "verifier/verifier.h"

static const char *const alu_str[] = {
	[BPFVM_ALU_ADD] = "+=", [BPFVM_ALU_SUB] = "-=", [BPFVM_ALU_MUL] = "*=",
	[BPFVM_ALU_DIV] = "/=", [BPFVM_ALU_SDIV] = "/=", [BPFVM_ALU_OR] = "|=",
	[BPFVM_ALU_AND] = "&=", [BPFVM_ALU_LSH] = "<<=", [BPFVM_ALU_RSH] = ">>=",
	[BPFVM_ALU_NEG] = "neg", [BPFVM_ALU_MOD] = "%=", [BPFVM_ALU_SMOD] = "%=",
	[BPFVM_ALU_XOR] = "^=", [BPFVM_ALU_MOV] = "=", [BPFVM_ALU_MOVSX] = "=",
	[BPFVM_ALU_ARSH] = "s>>=",
};


static bool is_div_mod(int op)
{
	return op == BPFVM_ALU_DIV || op == BPFVM_ALU_SDIV || op == BPFVM_ALU_MOD || op == BPFVM_ALU_SMOD;
}

static bool is_pkt_ptr(uint16_t t)
{
	return t == PTR_TO_PACKET || t == PTR_TO_PACKET_META;
}

/* check_reg_sane_offset */
static int check_sane_offset(struct venv *env, const struct vreg *r, uint16_t type)
{
	bool known = tnum_is_const(r->var_off);
	int64_t val = (int64_t)r->var_off.value;
	if (known && (val >= V_MAX_VAR_OFF || val <= -V_MAX_VAR_OFF))
		return verr(env, -EINVAL, "math between %s pointer and %lld is not allowed\n", vtype_str(type),
			    (long long)val);
	if (r->off >= V_MAX_VAR_OFF || r->off <= -V_MAX_VAR_OFF)
		return verr(env, -EINVAL, "%s pointer offset %d is not allowed\n", vtype_str(type), r->off);
	if (r->smin == INT64_MIN)
		return verr(env, -EINVAL, "math between %s pointer and register with unbounded min value is not allowed\n",
			    vtype_str(type));
	if (r->smin >= V_MAX_VAR_OFF || r->smin <= -V_MAX_VAR_OFF)
		return verr(env, -EINVAL, "value %lld makes %s pointer be out of bounds\n", (long long)r->smin,
			    vtype_str(type));
	return 0;
}

/* Unprivileged: pointer arithmetic must stay inside the object (the
 * kernel's sanitize_check_bounds). */
static int check_unpriv_bounds(struct venv *env, int dst, const struct vreg *r)
{
	if (env->allow_ptr_leaks)
		return 0;
	if (base_type(r->type) == PTR_TO_STACK) {
		if (!tnum_is_const(r->var_off)) {
			char tn[48];
			tnum_str(tn, sizeof(tn), r->var_off);
			return verr(env, -EACCES, "R%d variable stack access prohibited for !root, var_off=%s off=%d\n", dst,
				    tn, r->off);
		}
		int64_t off = r->off + (int64_t)r->var_off.value;
		if (off >= 0 || off < -V_STACK)
			return verr(env, -EACCES, "R%d stack pointer arithmetic goes out of range, prohibited for !root; off=%d\n",
				    dst, (int)off);
	}
	return 0;
}

static int adjust_ptr_alu(struct venv *env, const struct bpfvm_insn *insn, int op, bool is64, int dst,
			  const struct vreg *ptr, const struct vreg *offr, bool scalar_dst)
{
	struct vreg *d = &vcur_regs(env)[dst];
	bool known = tnum_is_const(offr->var_off);
	int64_t smin_val = offr->smin, smax_val = offr->smax, smin_ptr = ptr->smin, smax_ptr = ptr->smax;
	uint64_t umin_val = offr->umin, umax_val = offr->umax, umin_ptr = ptr->umin, umax_ptr = ptr->umax;
	int err;
	(void)insn;
	if ((known && (smin_val != smax_val || umin_val != umax_val)) || smin_val > smax_val || umin_val > umax_val) {
		vreg_mark_unknown(d);
		return 0;
	}
	if (!is64) {
		if (op == BPFVM_ALU_SUB && env->allow_ptr_leaks) {
			vreg_mark_unknown(d);
			return 0;
		}
		return verr(env, -EACCES, "R%d 32-bit pointer arithmetic prohibited\n", dst);
	}
	if (ptr->type & PTR_MAYBE_NULL)
		return verr(env, -EACCES, "R%d pointer arithmetic on %s prohibited, null-check it first\n", dst,
			    vtype_str(ptr->type));
	switch (base_type(ptr->type)) {
	case PTR_TO_CTX:
	case PTR_TO_MAP_VALUE:
	case PTR_TO_MAP_KEY:
	case PTR_TO_STACK:
	case PTR_TO_PACKET_META:
	case PTR_TO_PACKET:
	case PTR_TO_MEM:
	case PTR_TO_FUNC:
		break;
	case CONST_PTR_TO_MAP:
		if (known && smin_val == 0 && op == BPFVM_ALU_ADD)
			break;
		/* fallthrough */
	default:
		return verr(env, -EACCES, "R%d pointer arithmetic on %s prohibited\n", dst, vtype_str(ptr->type));
	}
	struct vreg p = *ptr, o = *offr;
	if ((err = check_sane_offset(env, &o, p.type)) || (err = check_sane_offset(env, &p, p.type)))
		return err;
	struct vreg res = p;
	res.s32min = INT32_MIN;
	res.s32max = INT32_MAX;
	res.u32min = 0;
	res.u32max = UINT32_MAX;
	switch (op) {
	case BPFVM_ALU_ADD:
		if (known && (int64_t)p.off + smin_val == (int64_t)(int32_t)(p.off + smin_val)) {
			res.off = (int32_t)(p.off + smin_val);
			break;
		}
		if (__builtin_add_overflow(smin_ptr, smin_val, &res.smin) ||
		    __builtin_add_overflow(smax_ptr, smax_val, &res.smax)) {
			res.smin = INT64_MIN;
			res.smax = INT64_MAX;
		}
		if (umin_ptr + umin_val < umin_ptr || umax_ptr + umax_val < umax_ptr) {
			res.umin = 0;
			res.umax = UINT64_MAX;
		} else {
			res.umin = umin_ptr + umin_val;
			res.umax = umax_ptr + umax_val;
		}
		res.var_off = tnum_add(p.var_off, o.var_off);
		if (is_pkt_ptr(p.type)) {
			res.id = ++env->id_gen;
			res.range = 0;
		}
		break;
	case BPFVM_ALU_SUB:
		if (scalar_dst)
			return verr(env, -EACCES, "R%d tried to subtract pointer from scalar\n", dst);
		if (p.type == PTR_TO_STACK)
			return verr(env, -EACCES, "R%d subtraction from stack pointer prohibited\n", dst);
		if (known && (int64_t)p.off - smin_val == (int64_t)(int32_t)(p.off - smin_val)) {
			res.off = (int32_t)(p.off - smin_val);
			break;
		}
		if (__builtin_sub_overflow(smin_ptr, smax_val, &res.smin) ||
		    __builtin_sub_overflow(smax_ptr, smin_val, &res.smax)) {
			res.smin = INT64_MIN;
			res.smax = INT64_MAX;
		}
		if (umin_ptr < umax_val) {
			res.umin = 0;
			res.umax = UINT64_MAX;
		} else {
			res.umin = umin_ptr - umax_val;
			res.umax = umax_ptr - umin_val;
		}
		res.var_off = tnum_sub(p.var_off, o.var_off);
		if (is_pkt_ptr(p.type)) {
			res.id = ++env->id_gen;
			if (smin_val < 0)
				res.range = 0;
		}
		break;
	case BPFVM_ALU_AND:
	case BPFVM_ALU_OR:
	case BPFVM_ALU_XOR:
		return verr(env, -EACCES, "R%d bitwise operator %s on pointer prohibited\n", dst, alu_str[op]);
	default:
		return verr(env, -EACCES, "R%d pointer arithmetic with %s operator prohibited\n", dst, alu_str[op]);
	}
	if ((err = check_sane_offset(env, &res, p.type)))
		return err;
	vreg_bounds_sync(&res);
	if ((err = check_unpriv_bounds(env, dst, &res)))
		return err;
	*d = res;
	return 0;
}

/* Compilers write r1 = r2; r1 += 1; if r2 < 1000 ...; use r1: dst keeps
 * its link to r2 with the constant delta, so that a comparison on either
 * bounds both (the kernel's BPF_ADD_CONST; one delta per link, 32-bit
 * only on values that fit in 32 bits). id and umax are dst's before. */
static void link_add_const(struct venv *env, struct vreg *dst, uint32_t id, uint64_t umax, const struct vreg *src,
			   int op, bool is64)
{
	vscalar_clear_id(dst);
	if (!env->bpf_capable || (op != BPFVM_ALU_ADD && op != BPFVM_ALU_SUB) || !id || (id & V_ADD_CONST) ||
	    !vreg_is_const(src, !is64))
		return;
	uint64_t val = vreg_const(src, !is64);
	if (is64 && ((int64_t)val < INT32_MIN || (int64_t)val > INT32_MAX))
		return;
	if (!is64 && umax > UINT32_MAX)
		return;
	int32_t off = (int32_t)(uint32_t)val;
	if (op == BPFVM_ALU_SUB) {
		if (off == INT32_MIN)
			return;
		off = -off;
	}
	dst->id = id | (is64 ? V_ADD_CONST64 : V_ADD_CONST32);
	dst->off = off;
}

void vassign_scalar_id(struct venv *env, struct vreg *src)
{
	if (src->type != SCALAR_VALUE)
		return;
	if (src->id & V_ADD_CONST) /* a copy cannot carry a second delta */
		vscalar_clear_id(src);
	if (!src->id && !tnum_is_const(src->var_off))
		src->id = ++env->id_gen;
}

static int adjust_reg_vals(struct venv *env, const struct bpfvm_insn *insn, int op, bool is64, bool is_x)
{
	struct vreg *regs = vcur_regs(env);
	struct vreg *dst = &regs[insn->dst];
	struct vreg srcv;
	const struct vreg *src;
	if (is_x) {
		src = &regs[insn->src];
		if (src->type != SCALAR_VALUE) {
			if (dst->type != SCALAR_VALUE) {
				if (op == BPFVM_ALU_SUB && env->allow_ptr_leaks) {
					vreg_mark_unknown(dst);
					return 0;
				}
				return verr(env, -EACCES, "R%d pointer %s pointer prohibited\n", insn->dst, alu_str[op]);
			}
			/* scalar += pointer: the scalar becomes part of a pointer */
			int err = vmark_precise(env, insn->dst);
			if (err)
				return err;
			struct vreg scalar = *dst;
			return adjust_ptr_alu(env, insn, op, is64, insn->dst, src, &scalar, true);
		}
		if (dst->type != SCALAR_VALUE) {
			int err = vmark_precise(env, insn->src);
			if (err)
				return err;
			struct vreg ptr = *dst;
			return adjust_ptr_alu(env, insn, op, is64, insn->dst, &ptr, src, false);
		}
	} else {
		vreg_mark_unknown(&srcv);
		vreg_mark_known(&srcv, (uint64_t)(int64_t)insn->imm);
		src = &srcv;
		if (dst->type != SCALAR_VALUE) {
			struct vreg ptr = *dst;
			return adjust_ptr_alu(env, insn, op, is64, insn->dst, &ptr, src, false);
		}
	}
	struct vreg s = *src;
	uint32_t id = dst->id;
	uint64_t umax = dst->umax;
	vscalar_alu(dst, &s, op, !is64);
	link_add_const(env, dst, id, umax, &s, op, is64);
	return 0;
}

static int do_mov(struct venv *env, const struct bpfvm_insn *insn, const struct bpfvm_opinfo *oi, bool is64,
		  bool is_x)
{
	struct vreg *regs = vcur_regs(env);
	struct vreg *dst = &regs[insn->dst];
	if (!is_x) {
		vreg_mark_unknown(dst);
		vreg_mark_known(dst, is64 ? (uint64_t)(int64_t)insn->imm : (uint32_t)insn->imm);
		return 0;
	}
	struct vreg *src = &regs[insn->src];
	if (is64) {
		if (oi->op == BPFVM_ALU_MOV) {
			vassign_scalar_id(env, src);
			*dst = *src;
			return 0;
		}
		if (vis_pointer_value(env, insn->src))
			return verr(env, -EACCES, "R%d sign-extension part of pointer\n", insn->src);
		if (src->type == SCALAR_VALUE) {
			/* a value the sign extension leaves as it is stays linked */
			bool no_sext = src->umax < (1ULL << (insn->off - 1));
			if (no_sext)
				vassign_scalar_id(env, src);
			*dst = *src;
			if (!no_sext)
				vscalar_clear_id(dst);
			vreg_coerce_sx(dst, insn->off / 8);
		} else {
			vreg_mark_unknown(dst);
		}
		return 0;
	}
	if (vis_pointer_value(env, insn->src))
		return verr(env, -EACCES, "R%d partial copy of pointer\n", insn->src);
	if (src->type == SCALAR_VALUE) {
		/* w1 = w2 of a value that fits in 32 bits (or a sign extension
		 * that changes nothing) is a copy: linked */
		bool same = oi->op == BPFVM_ALU_MOVSX ? src->umax < (1ULL << (insn->off - 1)) : vreg_width(src) <= 32;
		if (same)
			vassign_scalar_id(env, src);
		*dst = *src;
		if (!same)
			vscalar_clear_id(dst);
		if (oi->op == BPFVM_ALU_MOVSX)
			vreg_coerce_sx(dst, insn->off / 8);
		vreg_coerce(dst, 4);
	} else {
		vreg_mark_unknown(dst);
		vreg_coerce(dst, 4);
	}
	return 0;
}

int vcheck_alu(struct venv *env, const struct bpfvm_insn *insn);
int vcheck_alu(struct venv *env, const struct bpfvm_insn *insn)
{
	const struct bpfvm_opinfo *fam = vfamily_row_cached(env, insn->code);
	bool is64 = (insn->code & 0x07) == BPFVM_CLASS_ALU64;
	bool is_x = fam && (fam->flags & BPFVM_F_REG_SRC);
	int err;
	if (!fam)
		return verr(env, -EINVAL, "unknown opcode %02x\n", insn->code);
	if (fam->kind == BPFVM_KIND_END || fam->op == BPFVM_ALU_NEG) {
		if (fam->op == BPFVM_ALU_NEG && fam->kind == BPFVM_KIND_ALU) {
			if (is_x || insn->src || insn->off || insn->imm)
				return verr(env, -EINVAL, "BPF_NEG uses reserved fields\n");
		} else if (insn->src || insn->off || (insn->imm != 16 && insn->imm != 32 && insn->imm != 64) ||
			   (is64 && is_x)) {
			return verr(env, -EINVAL, "BPF_END uses reserved fields\n");
		}
		if ((err = vcheck_reg_arg(env, insn->dst, SRC_OP)))
			return err;
		if (vis_pointer_value(env, insn->dst))
			return verr(env, -EACCES, "R%d pointer arithmetic prohibited\n", insn->dst);
		struct vreg *d = &vcur_regs(env)[insn->dst];
		if (fam->kind == BPFVM_KIND_ALU && d->type == SCALAR_VALUE) {
			if ((err = vcheck_reg_arg(env, insn->dst, DST_OP_NO_MARK)))
				return err;
			struct vreg zero;
			vreg_mark_unknown(&zero);
			vscalar_alu(d, &zero, BPFVM_ALU_NEG, !is64);
			return 0;
		}
		return vcheck_reg_arg(env, insn->dst, DST_OP);
	}
	if (fam->op == BPFVM_ALU_MOV || fam->op == BPFVM_ALU_MOVSX) {
		if (is_x) {
			bool off_ok = is64 ? (insn->off == 0 || insn->off == 8 || insn->off == 16 || insn->off == 32)
					   : (insn->off == 0 || insn->off == 8 || insn->off == 16);
			if (insn->imm || !off_ok)
				return verr(env, -EINVAL, "BPF_MOV uses reserved fields\n");
			if ((err = vcheck_reg_arg(env, insn->src, SRC_OP)))
				return err;
		} else if (insn->src || insn->off) {
			return verr(env, -EINVAL, "BPF_MOV uses reserved fields\n");
		}
		if ((err = vcheck_reg_arg(env, insn->dst, DST_OP_NO_MARK)))
			return err;
		const struct bpfvm_opinfo *oi = bpfvm_isa_lookup(insn);
		if (!oi)
			return verr(env, -EINVAL, "BPF_MOV uses reserved fields\n");
		return do_mov(env, insn, oi, is64, is_x);
	}
	bool div_mod = is_div_mod(fam->op);
	if ((is_x ? insn->imm != 0 : insn->src != 0) || (insn->off != 0 && insn->off != 1) ||
	    (insn->off == 1 && !div_mod))
		return verr(env, -EINVAL, "BPF_ALU uses reserved fields\n");
	if (is_x && (err = vcheck_reg_arg(env, insn->src, SRC_OP)))
		return err;
	if ((err = vcheck_reg_arg(env, insn->dst, SRC_OP)))
		return err;
	const struct bpfvm_opinfo *oi = bpfvm_isa_lookup(insn);
	if (!oi)
		return verr(env, -EINVAL, "BPF_ALU uses reserved fields\n");
	int op = oi->op;
	if (div_mod && !is_x && insn->imm == 0)
		return verr(env, -EINVAL, "div by zero\n");
	if ((op == BPFVM_ALU_LSH || op == BPFVM_ALU_RSH || op == BPFVM_ALU_ARSH) && !is_x) {
		int size = is64 ? 64 : 32;
		if (insn->imm < 0 || insn->imm >= size)
			return verr(env, -EINVAL, "invalid shift %d\n", insn->imm);
	}
	if ((err = vcheck_reg_arg(env, insn->dst, DST_OP_NO_MARK)))
		return err;
	return adjust_reg_vals(env, insn, op, is64, is_x);
}
