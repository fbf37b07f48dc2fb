/* The verifier's main loop: abstract interpretation of every path, as the
 * kernel's do_check, and bpfvm__verify, the entry point the core calls. */
#include <stdlib.h>
#include <string.h>

#include "bpfvm/maps.h"
#include "verifier/verifier.h"

int vcheck_alu(struct venv *env, const struct bpfvm_insn *insn);

int vcheck_reg_arg(struct venv *env, int regno, int t)
{
	if (regno >= BPFVM_NREGS)
		return verr(env, -EINVAL, "R%d is invalid\n", regno);
	struct vreg *r = &vcur_regs(env)[regno];
	env->scratched_regs |= 1u << regno;
	if (t == SRC_OP) {
		if (r->type == NOT_INIT)
			return verr(env, -EACCES, "R%d !read_ok\n", regno);
		return 0;
	}
	if (regno == BPFVM_REG_FP)
		return verr(env, -EACCES, "frame pointer is read only\n");
	if (t == DST_OP)
		vreg_mark_unknown(r);
	return 0;
}

bool vreg_is_pointer(const struct vreg *r)
{
	return r->type != SCALAR_VALUE && r->type != NOT_INIT;
}

bool vis_pointer_value(struct venv *env, int regno)
{
	if (env->allow_ptr_leaks)
		return false;
	return vcur_regs(env)[regno].type != SCALAR_VALUE;
}

void vmark_reg_invalid(struct venv *env, struct vreg *r)
{
	if (!env->allow_ptr_leaks)
		vreg_mark_not_init(r);
	else
		vreg_mark_unknown(r);
}

void vclear_pkt_pointers(struct venv *env)
{
	V_FOR_EACH_REG(env->cur, r, {
		uint16_t t = base_type(r->type);
		if (t == PTR_TO_PACKET || t == PTR_TO_PACKET_META || t == PTR_TO_PACKET_END)
			vmark_reg_invalid(env, r);
	});
}

/* ---- loads and stores ----------------------------------------------------------- */

static int check_ldx(struct venv *env, const struct bpfvm_insn *insn, const struct bpfvm_opinfo *oi)
{
	int err;
	if ((err = vcheck_reg_arg(env, insn->src, SRC_OP)) || (err = vcheck_reg_arg(env, insn->dst, DST_OP_NO_MARK)))
		return err;
	return vcheck_mem_access(env, insn->src, insn->off, oi->size, false, insn->dst, false,
				 oi->kind == BPFVM_KIND_LDXSX);
}

static int check_st(struct venv *env, const struct bpfvm_insn *insn, const struct bpfvm_opinfo *oi)
{
	int err;
	if (!oi || oi->kind != BPFVM_KIND_ST || insn->src)
		return verr(env, -EINVAL, "BPF_ST uses reserved fields\n");
	if ((err = vcheck_reg_arg(env, insn->dst, SRC_OP)))
		return err;
	return vcheck_mem_access(env, insn->dst, insn->off, oi->size, true, -1, false, false);
}

static bool is_ctx_or_pkt(const struct vreg *r)
{
	uint16_t t = r->type;
	return t == PTR_TO_CTX || t == PTR_TO_PACKET || t == PTR_TO_PACKET_META || t == PTR_TO_PACKET_END;
}

static int check_atomic(struct venv *env, const struct bpfvm_insn *insn, const struct bpfvm_opinfo *oi)
{
	int err;
	if (!oi || oi->kind != BPFVM_KIND_ATOMIC)
		return verr(env, -EINVAL, "BPF_ATOMIC uses invalid atomic opcode %02x\n", (uint32_t)insn->imm);
	if (oi->size != 4 && oi->size != 8)
		return verr(env, -EINVAL, "invalid atomic operand size\n");
	if ((err = vcheck_reg_arg(env, insn->src, SRC_OP)) || (err = vcheck_reg_arg(env, insn->dst, SRC_OP)))
		return err;
	if (oi->op == BPFVM_ATOMIC_CMPXCHG) {
		if ((err = vcheck_reg_arg(env, 0, SRC_OP)))
			return err;
		if (vis_pointer_value(env, 0))
			return verr(env, -EACCES, "R%d leaks addr into mem\n", 0);
	}
	if (vis_pointer_value(env, insn->src))
		return verr(env, -EACCES, "R%d leaks addr into mem\n", insn->src);
	const struct vreg *d = &vcur_regs(env)[insn->dst];
	if (is_ctx_or_pkt(d))
		return verr(env, -EACCES, "BPF_ATOMIC stores into R%d %s is not allowed\n", insn->dst, vtype_str(d->type));
	int load_reg = -1;
	if (oi->op == BPFVM_ATOMIC_CMPXCHG)
		load_reg = 0;
	else if (oi->op >= BPFVM_ATOMIC_FETCH_ADD)
		load_reg = insn->src;
	if ((err = vcheck_mem_access(env, insn->dst, insn->off, oi->size, false, -1, true, false)))
		return err;
	if (load_reg >= 0) {
		if ((err = vcheck_reg_arg(env, load_reg, DST_OP)))
			return err;
		if ((err = vcheck_mem_access(env, insn->dst, insn->off, oi->size, false, load_reg, true, false)))
			return err;
	}
	/* a stack slot written by an atomic holds an unknown value afterwards */
	struct vreg saved_src = vcur_regs(env)[insn->src];
	return vcheck_mem_access(env, insn->dst, insn->off, oi->size, true, -1, true, false) ?: ((void)saved_src, 0);
}

static int check_stx(struct venv *env, const struct bpfvm_insn *insn, const struct bpfvm_opinfo *oi)
{
	int err;
	if ((insn->code & 0xe0) == 0xc0) /* BPF_ATOMIC mode */
		return check_atomic(env, insn, oi);
	if (!oi || oi->kind != BPFVM_KIND_STX || insn->imm)
		return verr(env, -EINVAL, "BPF_STX uses reserved fields\n");
	if ((err = vcheck_reg_arg(env, insn->src, SRC_OP)) || (err = vcheck_reg_arg(env, insn->dst, SRC_OP)))
		return err;
	return vcheck_mem_access(env, insn->dst, insn->off, oi->size, true, insn->src, false, false);
}

static int check_ld_imm(struct venv *env, const struct bpfvm_insn *insn, const struct bpfvm_opinfo *oi)
{
	int err;
	if (insn->off)
		return verr(env, -EINVAL, "BPF_LD_IMM64 uses reserved fields\n");
	if ((err = vcheck_reg_arg(env, insn->dst, DST_OP)))
		return err;
	struct vreg *d = &vcur_regs(env)[insn->dst];
	uint64_t imm64 = (uint32_t)insn->imm | (uint64_t)(uint32_t)insn[1].imm << 32;
	switch (oi->op) {
	case BPFVM_LDDW_IMM:
		vreg_mark_known(d, imm64);
		return 0;
	case BPFVM_LDDW_FUNC:
		vreg_mark_known(d, 0);
		d->type = PTR_TO_FUNC;
		d->subprog = (uint32_t)(env->insn_idx + insn->imm + 1);
		return 0;
	case BPFVM_LDDW_MAP_FD:
	case BPFVM_LDDW_MAP_IDX:
		vreg_mark_known(d, 0);
		d->type = CONST_PTR_TO_MAP;
		d->map = env->prog->maps[insn->imm];
		return 0;
	case BPFVM_LDDW_MAP_VALUE:
	case BPFVM_LDDW_MAP_IDX_VALUE:
		vreg_mark_known(d, 0);
		d->type = PTR_TO_MAP_VALUE;
		d->map = env->prog->maps[insn->imm];
		d->off = insn[1].imm;
		return 0;
	default:
		return verr(env, -EINVAL, "unrecognized bpf_ld_imm64 insn\n");
	}
}

static int check_ld_abs(struct venv *env, const struct bpfvm_insn *insn, const struct bpfvm_opinfo *oi)
{
	int err;
	if (!env->pt->ld_abs)
		return verr(env, -EINVAL, "BPF_LD_[ABS|IND] instructions not allowed for this program type\n");
	if (!oi || insn->dst || insn->off || (oi->kind == BPFVM_KIND_LDABS && insn->src))
		return verr(env, -EINVAL, "BPF_LD_[ABS|IND] uses reserved fields\n");
	if ((err = vcheck_reg_arg(env, 6, SRC_OP)))
		return err;
	if (env->cur->nrefs)
		return verr(env, -EINVAL, "BPF_LD_[ABS|IND] cannot be mixed with socket references\n");
	struct vreg *regs = vcur_regs(env);
	if (regs[6].type != PTR_TO_CTX)
		return verr(env, -EINVAL, "at the time of BPF_LD_ABS|IND R6 != pointer to skb\n");
	if (oi->kind == BPFVM_KIND_LDIND && (err = vcheck_reg_arg(env, insn->src, SRC_OP)))
		return err;
	if ((err = vcheck_ptr_off(env, &regs[6], 6, false)))
		return err;
	for (int i = 1; i <= 5; i++)
		vreg_mark_not_init(&regs[i]);
	vreg_mark_unknown(&regs[0]);
	vreg_coerce(&regs[0], oi->size);
	env->scratched_regs |= 1;
	return 0;
}

/* ---- conditional jumps ---------------------------------------------------------- */

/* reg is linked to known (same base id): what a comparison proved on
 * known holds for reg, shifted by their constant deltas. */
static void sync_one(struct vreg *reg, const struct vreg *known)
{
	if (reg->type != SCALAR_VALUE || reg == known || vbase_id(reg->id) != vbase_id(known->id))
		return;
	if ((!(reg->id & V_ADD_CONST) && !(known->id & V_ADD_CONST)) || reg->off == known->off) {
		uint8_t precise = reg->precise;
		*reg = *known;
		reg->precise = precise;
		return;
	}
	uint32_t id = reg->id;
	int32_t off = reg->off;
	uint8_t precise = reg->precise;
	struct vreg delta;
	vreg_mark_unknown(&delta);
	vreg_mark_known(&delta, (uint64_t)((int64_t)off - (int64_t)known->off));
	*reg = *known;
	vscalar_alu(reg, &delta, BPFVM_ALU_ADD, false);
	if ((id | known->id) & V_ADD_CONST32)
		vreg_zext32(reg); /* the 32-bit add wrapped in 32 bits */
	vreg_bounds_sync(reg);
	reg->id = id;
	reg->off = off;
	reg->precise = precise;
}

static void sync_linked(struct vstate *st, const struct vreg *known)
{
	if (known->type != SCALAR_VALUE || !known->id)
		return;
	struct vreg k = *known;
	V_FOR_EACH_REG(st, r, sync_one(r, &k));
	sync_one(&st->len_reg, &k);
}

static void mark_ptr_or_null(struct venv *env, struct vstate *st, uint32_t id, bool is_null)
{
	uint32_t ref = 0;
	V_FOR_EACH_REG(st, r, {
		if ((r->type & PTR_MAYBE_NULL) && r->id == id) {
			if (r->ref_obj_id)
				ref = r->ref_obj_id;
			if (is_null) {
				vreg_mark_unknown(r);
				vreg_mark_known(r, 0);
			} else {
				r->type &= (uint16_t)~PTR_MAYBE_NULL;
				if (!r->ref_obj_id)
					r->id = 0;
				/* a map-in-map lookup gives the inner map */
				const struct bpfvm_map_def *d = r->type == PTR_TO_MAP_VALUE && r->map ? bpfvm_map_def(r->map) : NULL;
				if (d && (d->type == BPFVM_MAP_ARRAY_OF_MAPS || d->type == BPFVM_MAP_HASH_OF_MAPS) && d->inner) {
					r->type = CONST_PTR_TO_MAP;
					r->map = d->inner;
				}
			}
		}
	});
	if (is_null && ref) {
		for (int i = 0; i < st->nrefs; i++)
			if (st->refs[i].id == ref) {
				memmove(&st->refs[i], &st->refs[i + 1], (size_t)(st->nrefs - i - 1) * sizeof(st->refs[0]));
				st->nrefs--;
				break;
			}
	}
	(void)env;
}

static void find_good_pkt_pointers(struct vstate *st, const struct vreg *p, bool right_open)
{
	if (p->off < 0 || (p->off == 0 && right_open))
		return;
	if (p->umax > V_MAX_PACKET_OFF || p->umax + (uint64_t)p->off > V_MAX_PACKET_OFF)
		return;
	uint32_t range = (uint32_t)p->off + (right_open ? 1 : 0);
	uint16_t type = p->type;
	uint32_t id = p->id;
	V_FOR_EACH_REG(st, r, {
		if (r->type == type && r->id == id && r->range < range)
			r->range = range;
	});
}

static bool is_init_pkt(const struct vreg *r, uint16_t type)
{
	return r->type == type && r->off == 0 && tnum_equals_const(r->var_off, 0);
}

/* A comparison of a packet pointer with the end of its data: in the branch
 * where ptr <= end (or ptr < end) the bytes before ptr are readable. */
static bool match_pkt_pointers(int op, const struct vreg *dst, const struct vreg *src, struct vstate *this_b,
			       struct vstate *other_b)
{
	const struct vreg *ptr;
	bool ptr_is_dst;
	if ((dst->type == PTR_TO_PACKET && src->type == PTR_TO_PACKET_END) ||
	    (dst->type == PTR_TO_PACKET_META && is_init_pkt(src, PTR_TO_PACKET))) {
		ptr = dst;
		ptr_is_dst = true;
	} else if ((dst->type == PTR_TO_PACKET_END && src->type == PTR_TO_PACKET) ||
		   (is_init_pkt(dst, PTR_TO_PACKET) && src->type == PTR_TO_PACKET_META)) {
		ptr = src;
		ptr_is_dst = false;
	} else {
		return false;
	}
	/* normalise to "ptr OP end" */
	if (!ptr_is_dst) {
		switch (op) {
		case BPFVM_JMP_JGT: op = BPFVM_JMP_JLT; break;
		case BPFVM_JMP_JLT: op = BPFVM_JMP_JGT; break;
		case BPFVM_JMP_JGE: op = BPFVM_JMP_JLE; break;
		case BPFVM_JMP_JLE: op = BPFVM_JMP_JGE; break;
		default: return false;
		}
	}
	switch (op) {
	case BPFVM_JMP_JGT: /* false: ptr <= end */
		find_good_pkt_pointers(this_b, ptr, false);
		return true;
	case BPFVM_JMP_JLT: /* true: ptr < end */
		find_good_pkt_pointers(other_b, ptr, true);
		return true;
	case BPFVM_JMP_JGE: /* false: ptr < end */
		find_good_pkt_pointers(this_b, ptr, true);
		return true;
	case BPFVM_JMP_JLE: /* true: ptr <= end */
		find_good_pkt_pointers(other_b, ptr, false);
		return true;
	}
	return false;
}

static bool reg_not_null(const struct vreg *r)
{
	if (r->type & PTR_MAYBE_NULL)
		return false;
	uint16_t t = base_type(r->type);
	return t == PTR_TO_MAP_VALUE || t == PTR_TO_MAP_KEY || t == PTR_TO_MEM || t == CONST_PTR_TO_MAP;
}

static int ptr_branch_taken(const struct vreg *a, const struct vreg *b, int op, bool is32)
{
	if (!vreg_is_pointer(b) && vreg_is_const(b, is32)) {
		/* pointer vs constant */
	} else if (!vreg_is_pointer(a) && vreg_is_const(a, is32)) {
		const struct vreg *t = a;
		a = b;
		b = t;
	} else {
		return -1;
	}
	if (!reg_not_null(a) || vreg_const(b, is32) != 0)
		return -1;
	if (op == BPFVM_JMP_JEQ)
		return 0;
	if (op == BPFVM_JMP_JNE)
		return 1;
	return -1;
}

static int check_cond_jmp(struct venv *env, const struct bpfvm_insn *insn, const struct bpfvm_opinfo *oi,
			  int *insn_idx)
{
	int err;
	bool is_x = oi && (oi->flags & BPFVM_F_REG_SRC);
	bool is32 = (insn->code & 0x07) == BPFVM_CLASS_JMP32;
	if (!oi)
		return verr(env, -EINVAL, "BPF_JMP/JMP32 uses reserved fields\n");
	int op = oi->op;
	if (is_x ? insn->imm != 0 : insn->src != 0)
		return verr(env, -EINVAL, "BPF_JMP/JMP32 uses reserved fields\n");
	if ((err = vcheck_reg_arg(env, insn->dst, SRC_OP)))
		return err;
	struct vreg *regs = vcur_regs(env);
	struct vreg *dst = &regs[insn->dst];
	struct vreg fake;
	struct vreg *src;
	if (is_x) {
		if ((err = vcheck_reg_arg(env, insn->src, SRC_OP)))
			return err;
		src = &regs[insn->src];
		bool both_pkt = (base_type(dst->type) >= PTR_TO_PACKET_META && base_type(dst->type) <= PTR_TO_PACKET_END) &&
				(base_type(src->type) >= PTR_TO_PACKET_META && base_type(src->type) <= PTR_TO_PACKET_END);
		if (!both_pkt && vis_pointer_value(env, insn->src))
			return verr(env, -EACCES, "R%d pointer comparison prohibited\n", insn->src);
	} else {
		vreg_mark_unknown(&fake);
		vreg_mark_known(&fake, (uint64_t)(int64_t)insn->imm);
		src = &fake;
	}
	int pred;
	if (vreg_is_pointer(dst) || vreg_is_pointer(src))
		pred = ptr_branch_taken(dst, src, op, is32);
	else
		pred = vbranch_taken(dst, src, op, is32);
	if (pred >= 0) {
		/* the branch was decided by the values: they must not change */
		if (dst->type == SCALAR_VALUE && (err = vmark_precise(env, insn->dst)))
			return err;
		if (is_x && src->type == SCALAR_VALUE && (err = vmark_precise(env, insn->src)))
			return err;
	}
	if (pred == 1) {
		*insn_idx += insn->off;
		return 0;
	}
	if (pred == 0)
		return 0;
	if (dst->type == SCALAR_VALUE && src->type == SCALAR_VALUE &&
	    (err = vnote_linked(env, dst, is_x ? src : NULL)))
		return err;
	struct vstate *other;
	if ((err = vpush(env, *insn_idx + insn->off + 1, *insn_idx, &other)))
		return err;
	struct vreg *oregs = other->frames[other->curframe]->regs;
	if (dst->type == SCALAR_VALUE && src->type == SCALAR_VALUE) {
		struct vreg ofake = fake;
		struct vreg *osrc = is_x ? &oregs[insn->src] : &ofake;
		vrefine_cond(&oregs[insn->dst], osrc, op, is32);
		vreg_bounds_sync(&oregs[insn->dst]);
		vreg_bounds_sync(osrc);
		vrefine_cond(dst, src, vrev_op(op), is32);
		vreg_bounds_sync(dst);
		vreg_bounds_sync(src);
		if (is_x) {
			sync_linked(env->cur, src);
			sync_linked(other, &oregs[insn->src]);
		}
		sync_linked(env->cur, dst);
		sync_linked(other, &oregs[insn->dst]);
	}
	if (!is32 && !is_x && insn->imm == 0 && (op == BPFVM_JMP_JEQ || op == BPFVM_JMP_JNE) &&
	    (dst->type & PTR_MAYBE_NULL)) {
		uint32_t id = dst->id;
		mark_ptr_or_null(env, env->cur, id, op == BPFVM_JMP_JNE);
		mark_ptr_or_null(env, other, id, op == BPFVM_JMP_JEQ);
	} else if (!(is_x && !is32 && match_pkt_pointers(op, dst, src, env->cur, other)) &&
		   vis_pointer_value(env, insn->dst)) {
		return verr(env, -EACCES, "R%d pointer comparison prohibited\n", insn->dst);
	}
	return 0;
}

/* ---- exit ------------------------------------------------------------------------- */

static int check_return_code(struct venv *env)
{
	int err;
	if ((err = vcheck_reg_arg(env, 0, SRC_OP)))
		return err;
	if (vis_pointer_value(env, 0))
		return verr(env, -EACCES, "R%d leaks addr as return value\n", 0);
	if (!env->pt->ret_checked)
		return 0;
	const struct vreg *r0 = &vcur_regs(env)[0];
	if (r0->type != SCALAR_VALUE)
		return verr(env, -EINVAL, "At program exit the register R0 is not a known value (%s)\n", vtype_str(r0->type));
	if ((err = vmark_precise(env, 0)))
		return err;
	if (r0->smin >= env->pt->ret_min && r0->smax <= env->pt->ret_max)
		return 0;
	char buf[128];
	int n = snprintf(buf, sizeof(buf), "At program exit the register R0 has");
	bool unknown = true;
	if (r0->smin > INT64_MIN)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, " smin=%lld", (long long)r0->smin), unknown = false;
	if (r0->smax < INT64_MAX)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, " smax=%lld", (long long)r0->smax), unknown = false;
	if (unknown)
		snprintf(buf + n, sizeof(buf) - (size_t)n, " unknown scalar value");
	return verr(env, -EINVAL, "%s should have been in [%lld, %lld]\n", buf, (long long)env->pt->ret_min,
		    (long long)env->pt->ret_max);
}

/* 1: this path ended (pop the next one); 0: continue; <0 error */
static int check_exit(struct venv *env, const struct bpfvm_insn *insn, int *insn_idx)
{
	int err;
	if ((insn->code & 0x07) != BPFVM_CLASS_JMP || (insn->code & 0x08) || insn->imm || insn->src || insn->dst)
		return verr(env, -EINVAL, "BPF_EXIT uses reserved fields\n");
	if (!env->cur->curframe && env->cur->nrefs) {
		for (int i = 0; i < env->cur->nrefs; i++)
			vlog(env, "Unreleased reference id=%u alloc_insn=%d\n", env->cur->refs[i].id, env->cur->refs[i].insn);
		return verr(env, -EINVAL, "BPF_EXIT instruction in main prog would lead to reference leak\n");
	}
	if (env->cur->curframe && env->cur->frames[env->cur->curframe]->cb_call >= 0)
		return vcallback_exit(env, insn_idx);
	if (env->cur->curframe) {
		err = vprepare_func_exit(env, insn_idx);
		return err ? err : 0;
	}
	if ((err = check_return_code(env)))
		return err;
	return 1;
}

/* ---- one instruction ------------------------------------------------------------- */

/* Returns 1 when the path ends, 0 to continue at *insn_idx + 1, <0 on error. */
static int do_check_insn(struct venv *env, int *insn_idx)
{
	const struct bpfvm_insn *insn = &env->insns[*insn_idx];
	const struct bpfvm_opinfo *oi = bpfvm_isa_lookup(insn);
	switch (insn->code & 0x07) {
	case BPFVM_CLASS_ALU:
	case BPFVM_CLASS_ALU64:
		return vcheck_alu(env, insn);
	case BPFVM_CLASS_LDX:
		return check_ldx(env, insn, oi);
	case BPFVM_CLASS_STX:
		return check_stx(env, insn, oi);
	case BPFVM_CLASS_ST:
		return check_st(env, insn, oi);
	case BPFVM_CLASS_LD:
		if (oi && oi->kind == BPFVM_KIND_LDDW) {
			int err = check_ld_imm(env, insn, oi);
			(*insn_idx)++;
			return err;
		}
		if (oi && (oi->kind == BPFVM_KIND_LDABS || oi->kind == BPFVM_KIND_LDIND))
			return check_ld_abs(env, insn, oi);
		return verr(env, -EINVAL, "invalid BPF_LD mode\n");
	default: /* JMP, JMP32 */
		break;
	}
	env->jmps_processed++;
	uint8_t op = insn->code & 0xf0;
	if (op == 0x80) { /* BPF_CALL */
		bool is32 = (insn->code & 0x07) == BPFVM_CLASS_JMP32;
		if ((insn->code & 0x08) || (insn->src != 2 && insn->off) || (insn->src > 2) || insn->dst || is32 || !oi)
			return verr(env, -EINVAL, "BPF_CALL uses reserved fields\n");
		if (oi->op == BPFVM_CALL_LOCAL)
			return vcheck_func_call(env, insn, insn_idx);
		if (oi->op == BPFVM_CALL_KFUNC)
			return verr(env, -EINVAL, "kernel function calls are not supported by bpfvm\n");
		return vcheck_helper_call(env, insn, *insn_idx);
	}
	if (op == 0x00) { /* BPF_JA */
		bool is32 = (insn->code & 0x07) == BPFVM_CLASS_JMP32;
		if ((insn->code & 0x08) || insn->src || insn->dst || (!is32 && insn->imm) || (is32 && insn->off))
			return verr(env, -EINVAL, "BPF_JA uses reserved fields\n");
		*insn_idx += is32 ? insn->imm : insn->off;
		return 0;
	}
	if (op == 0x90) /* BPF_EXIT */
		return check_exit(env, insn, insn_idx);
	if (op == 0x80 + 0x60 || (oi && oi->kind == BPFVM_KIND_CALLX))
		return verr(env, -EINVAL, "BPF_CALL uses reserved fields\n");
	if (!oi || oi->kind != BPFVM_KIND_JCOND)
		return verr(env, -EINVAL, "invalid BPF_JMP/JMP32 opcode %x\n", op);
	return check_cond_jmp(env, insn, oi, insn_idx);
}

/* ---- the walk ---------------------------------------------------------------------- */

static void print_insn_state(struct venv *env)
{
	if (!env->log_level || !(env->scratched_regs || env->scratched_slots))
		return;
	if (env->prev_log_pos && env->prev_log_pos == env->log_len) {
		vlog_reset(env, env->prev_log_pos - 1);
		size_t pos = env->prev_insn_print_pos;
		size_t want = ((pos + 4 > 40 ? pos + 4 : 40) + 7) / 8 * 8 - pos - 1;
		vlog(env, "%*c;", (int)want, ' ');
	} else {
		vlog(env, "%d:", env->insn_idx);
	}
	vlog_state(env, env->cur, false);
}

static int init_state(struct venv *env)
{
	struct vstate *st = vstate_new();
	struct vframe *f = st ? vframe_new(0, -1, 0) : NULL;
	if (!f) {
		vstate_free(st);
		return -ENOMEM;
	}
	st->frames[0] = f;
	struct vreg *r1 = &f->regs[1], *r10 = &f->regs[BPFVM_REG_FP];
	vreg_mark_unknown(r1);
	vreg_mark_known(r1, 0);
	if (env->pt->raw_memory) {
		/* r1 = the memory, r2 = its length, linked to the state's len_reg
		 * so that what a comparison proves on r2 becomes r1's range */
		r1->type = PTR_TO_PACKET;
		struct vreg *r2 = &f->regs[2];
		vreg_mark_unknown(r2);
		r2->id = ++env->id_gen;
		st->len_reg = *r2;
	} else {
		r1->type = PTR_TO_CTX;
	}
	vreg_mark_unknown(r10);
	vreg_mark_known(r10, 0);
	r10->type = PTR_TO_STACK;
	env->cur = st;
	return 0;
}

/* The history precision backtracking walks: the stack slot insn `at` used. */
static int record_history(struct venv *env, int at)
{
	int err;
	if (env->pending.flags) {
		env->pending.idx = at;
		env->pending.prev = env->prev_insn_idx;
		if ((err = vhist_push(env, env->cur, &env->pending)))
			return err;
	}
	return 0;
}

/* How insn_idx was reached, when not by falling through (recorded when the
 * path runs it: a pending branch gets its entry once popped). */
static int record_arrival(struct venv *env, int insn_idx, int prev_idx)
{
	if (!env->insn_processed || insn_idx == prev_idx + 1 ||
	    (insn_idx == prev_idx + 2 && env->aux[prev_idx + 1].ld_second))
		return 0;
	struct vhist h = {.idx = insn_idx, .prev = prev_idx, .flags = VH_ARRIVAL};
	return vhist_push(env, env->cur, &h);
}

static int do_check(struct venv *env)
{
	int insn_idx = 0, prev_idx = 0, err;
	bool print_from = false;
	env->scratched_regs = 0x7ff;
	for (;;) {
		if (insn_idx < 0 || insn_idx >= env->n)
			return verr(env, -EFAULT, "invalid insn idx %d insn_cnt %d\n", insn_idx, env->n);
		env->insn_idx = insn_idx;
		env->prev_insn_idx = prev_idx;
		memset(&env->pending, 0, sizeof(env->pending));
		if ((err = record_arrival(env, insn_idx, prev_idx)))
			return err;
		if (++env->insn_processed > (env->bpf_capable ? V_MAX_INSNS : V_MAX_INSNS))
			return verr(env, -E2BIG, "BPF program is too large. Processed %llu insn\n",
				    (unsigned long long)env->insn_processed);
		env->cur->insn_idx = insn_idx;
		if (env->aux[insn_idx].prune_point) {
			err = vstate_visited(env, insn_idx);
			if (err < 0)
				return err;
			if (err == 1) {
				if (env->log_level) {
					if (print_from)
						vlog(env, "\nfrom %d to %d: safe\n", prev_idx, insn_idx);
					else
						vlog(env, "%d: safe\n", insn_idx);
				}
				goto path_done;
			}
		}
		if (env->log_level >= 2 && print_from) {
			vlog(env, "\nfrom %d to %d:", prev_idx, insn_idx);
			env->prev_log_pos = 0;
			vlog_state(env, env->cur, true);
			print_from = false;
		}
		if (env->log_level) {
			print_insn_state(env);
			vlog_insn(env, insn_idx);
		}
		print_from = false;
		int at = insn_idx;
		err = do_check_insn(env, &insn_idx);
		if (err < 0)
			return err;
		env->insn_idx = at;
		if (err == 1)
			goto path_done;
		print_insn_state(env);
		prev_idx = at;
		insn_idx++;
		if ((err = record_history(env, at)))
			return err;
		continue;
path_done:
		vupdate_branch_counts(env, env->cur);
		err = vpop(env, &insn_idx, &prev_idx);
		if (err == -ENOENT)
			break;
		if (err)
			return err;
		print_from = true;
		env->scratched_regs = 0x7ff;
		env->scratched_slots = ~0ULL;
	}
	return 0;
}

static int round_stack(int depth)
{
	return (depth + 15) / 16 * 16;
}

/* check_max_stack_depth: frames of a call chain share the 512-byte stack. */
static int check_call_chain(struct venv *env, int sp, int frame, int depth)
{
	depth += round_stack(env->subprogs[sp].stack_depth);
	if (depth > V_STACK)
		return verr(env, -EACCES, "combined stack size of %d calls is %d. Too large\n", frame + 1, depth);
	if (frame + 1 >= BPFVM_MAX_FRAMES)
		return 0;
	for (int i = env->subprogs[sp].start; i < env->subprogs[sp + 1].start; i++) {
		const struct bpfvm_insn *in = &env->insns[i];
		if (env->aux[i].ld_second || !env->aux[i].seen)
			continue;
		const struct bpfvm_opinfo *oi = bpfvm_isa_lookup(in);
		bool callee_ref = oi && ((oi->kind == BPFVM_KIND_CALL && oi->op == BPFVM_CALL_LOCAL) ||
					 (oi->kind == BPFVM_KIND_LDDW && oi->op == BPFVM_LDDW_FUNC));
		if (!callee_ref)
			continue;
		int callee = vfind_subprog(env, i + in->imm + 1);
		if (callee < 0)
			continue;
		int err = check_call_chain(env, callee, frame + 1, depth);
		if (err)
			return err;
	}
	return 0;
}

static void free_env(struct venv *env)
{
	while (env->stack_head) {
		struct vstack_elem *e = env->stack_head;
		env->stack_head = e->next;
		vstate_free(e->state);
		free(e);
	}
	vstate_free(env->cur);
	vfree_explored(env);
	free(env->hist);
	free(env->aux);
	free(env->live);
}

int bpfvm__verify(struct bpfvm_prog *prog, char *log_buf, size_t log_size, unsigned log_level, char *err,
		  size_t errlen)
{
	struct venv *env = calloc(1, sizeof(*env));
	int rc;
	if (!env) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	env->prog = prog;
	env->insns = prog->insns;
	env->n = (int)prog->n;
	env->unpriv = prog->unpriv;
	env->allow_ptr_leaks = env->allow_uninit_stack = env->bpf_capable = !prog->unpriv;
	env->log_buf = log_size ? log_buf : NULL;
	env->log_size = log_buf ? log_size : 0;
	env->log_level = log_buf ? log_level : 0;
	if (env->log_buf)
		env->log_buf[0] = 0;
	env->err = err;
	env->errlen = errlen;
	env->pt = bpfvm__progtype(prog->type);
	if (!env->pt) {
		snprintf(err, errlen, "unknown program type %d", (int)prog->type);
		free(env);
		return -EINVAL;
	}
	size_t limit = prog->unpriv ? V_MAX_INSNS_UNPRIV : V_MAX_INSNS;
	if (prog->n == 0 || prog->n > limit) {
		snprintf(err, errlen, "program of %zu insns is %s (limit %zu)", prog->n,
			 prog->n ? "too large" : "empty", limit);
		free(env);
		return prog->n ? -E2BIG : -EINVAL;
	}
	env->aux = calloc(prog->n + 1, sizeof(*env->aux));
	env->explored = calloc(prog->n + 1, sizeof(*env->explored));
	if (!env->aux || !env->explored) {
		rc = -ENOMEM;
		snprintf(env->msg, sizeof(env->msg), "out of memory");
		goto out;
	}
	if (env->log_level >= 2)
		vlog(env, "func#0 @0\n");
	rc = vcheck_structure(env);
	if (!rc)
		rc = init_state(env);
	if (!rc) {
		rc = do_check(env);
		if (!rc) {
			for (int i = 0; i < env->n; i++)
				env->aux[i].seen = 1;
			rc = check_call_chain(env, 0, 0, 0);
		}
	}
	if (!rc && env->log_level == 1)
		vlog_reset(env, 0);
	vlog(env, "processed %llu insns (limit %d) max_states_per_insn %u total_states %u peak_states %u mark_read 0\n",
	     (unsigned long long)env->insn_processed, V_MAX_INSNS, env->max_states_per_insn, env->total_states,
	     env->peak_states);
	if (!rc)
		prog->stack_depth = (uint32_t)env->subprogs[0].stack_depth;
out:
	if (rc) {
		size_t len = strlen(env->msg);
		while (len && env->msg[len - 1] == '\n')
			env->msg[--len] = 0;
		if (rc == -ENOMEM && !len)
			snprintf(env->msg, sizeof(env->msg), "out of memory");
		snprintf(err, errlen, "insn %d: %s", env->err_insn, env->msg);
	}
	free_env(env);
	free(env);
	return rc;
}
