/* The verifier log in the kernel's format: "N: (code) insn" lines, register
 * states ("R1=ctx() R10=fp0") and error messages. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bpfvm/maps.h"
#include "verifier/verifier.h"

static void vlog_va(struct venv *env, const char *fmt, va_list ap)
{
	if (!env->log_buf || !env->log_size || env->log_len + 1 >= env->log_size)
		return;
	size_t room = env->log_size - env->log_len;
	int n = vsnprintf(env->log_buf + env->log_len, room, fmt, ap);
	if (n < 0)
		return;
	env->log_len += (size_t)n < room ? (size_t)n : room - 1;
}

void vlog(struct venv *env, const char *fmt, ...)
{
	if (!env->log_level)
		return;
	va_list ap;
	va_start(ap, fmt);
	vlog_va(env, fmt, ap);
	va_end(ap);
}

int verr(struct venv *env, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(env->msg, sizeof(env->msg), fmt, ap);
	va_end(ap);
	env->err_insn = env->insn_idx;
	if (env->log_level) {
		size_t len = strlen(env->msg);
		/* The kernel prints the message with a trailing newline (except
		 * for the few it does not; those keep theirs off in msg). */
		vlog(env, "%s", env->msg);
		if (len && env->msg[len - 1] != '\n' && strcmp(env->msg, "expected prog array map for tail call"))
			vlog(env, "\n");
	}
	return err;
}

void vlog_reset(struct venv *env, size_t pos)
{
	if (pos < env->log_len) {
		env->log_len = pos;
		if (env->log_buf && env->log_size)
			env->log_buf[pos] = 0;
	}
}

const char *vtype_str(uint16_t type)
{
	static const char *const names[] = {
		[NOT_INIT] = "?", [SCALAR_VALUE] = "scalar", [PTR_TO_CTX] = "ctx",
		[CONST_PTR_TO_MAP] = "map_ptr", [PTR_TO_MAP_VALUE] = "map_value",
		[PTR_TO_MAP_KEY] = "map_key", [PTR_TO_STACK] = "fp",
		[PTR_TO_PACKET_META] = "pkt_meta", [PTR_TO_PACKET] = "pkt",
		[PTR_TO_PACKET_END] = "pkt_end", [PTR_TO_MEM] = "mem", [PTR_TO_FUNC] = "func",
	};
	switch (type) {
	case PTR_TO_MAP_VALUE | PTR_MAYBE_NULL: return "map_value_or_null";
	case PTR_TO_MEM | MEM_RINGBUF: return "ringbuf_mem";
	case PTR_TO_MEM | MEM_RINGBUF | PTR_MAYBE_NULL: return "ringbuf_mem_or_null";
	case PTR_TO_MEM | PTR_MAYBE_NULL: return "mem_or_null";
	}
	unsigned b = base_type(type);
	return b < sizeof(names) / sizeof(names[0]) && names[b] ? names[b] : "?";
}

/* ---- numbers and registers ----------------------------------------------------- */

struct sbuf {
	char *p;
	size_t len, cap;
};

static void sb(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb(struct sbuf *b, const char *fmt, ...)
{
	if (b->len + 1 >= b->cap)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->len += (size_t)n < b->cap - b->len ? (size_t)n : b->cap - b->len - 1;
}

static void sb_snum(struct sbuf *b, int64_t v)
{
	if (v >= -256 && v <= 256)
		sb(b, "%" PRId64, v);
	else
		sb(b, "%#" PRIx64, (uint64_t)v);
}

static void sb_unum(struct sbuf *b, uint64_t v)
{
	if (v <= 256)
		sb(b, "%" PRIu64, v);
	else
		sb(b, "%#" PRIx64, v);
}

/* The kernel's print_scalar_ranges: equal bounds are printed once, joined. */
static void sb_ranges(struct sbuf *b, const struct vreg *r, const char **sep)
{
	struct {
		const char *name;
		uint64_t val;
		bool omit;
	} m[] = {
		{"smin", (uint64_t)r->smin, r->smin == INT64_MIN},
		{"smax", (uint64_t)r->smax, r->smax == INT64_MAX},
		{"umin", r->umin, r->umin == 0},
		{"umax", r->umax, r->umax == UINT64_MAX},
		{"smin32", (uint64_t)(int64_t)r->s32min, r->s32min == INT32_MIN},
		{"smax32", (uint64_t)(int64_t)r->s32max, r->s32max == INT32_MAX},
		{"umin32", r->u32min, r->u32min == 0},
		{"umax32", r->u32max, r->u32max == UINT32_MAX},
	};
	size_t n = sizeof(m) / sizeof(m[0]);
	for (size_t i = 0; i < n; i++) {
		if (m[i].omit)
			continue;
		bool neg1 = m[i].name[0] == 's' && (int64_t)m[i].val < 0;
		sb(b, "%s%s=", *sep, m[i].name);
		*sep = ",";
		for (size_t j = i + 2; j < n; j += 2) {
			bool neg2 = m[j].name[0] == 's' && (int64_t)m[j].val < 0;
			if (m[j].omit || m[j].val != m[i].val || neg1 != neg2)
				continue;
			m[j].omit = true;
			sb(b, "%s=", m[j].name);
		}
		if (m[i].name[0] == 's')
			sb_snum(b, (int64_t)m[i].val);
		else
			sb_unum(b, m[i].val);
	}
}

static void sb_reg(struct sbuf *b, const struct vreg *r)
{
	char tn[48];
	const char *sep = "";
	if (r->type == SCALAR_VALUE) {
		if (tnum_is_const(r->var_off)) {
			sb_snum(b, (int64_t)r->var_off.value);
			return;
		}
		sb(b, "scalar(");
		if (r->id)
			sb(b, "%sid=%u", sep, vbase_id(r->id)), sep = ",";
		if (r->id & V_ADD_CONST)
			sb(b, "%+d", r->off);
		sb_ranges(b, r, &sep);
		if (!tnum_is_unknown(r->var_off)) {
			tnum_str(tn, sizeof(tn), r->var_off);
			sb(b, "%svar_off=%s", sep, tn);
		}
		sb(b, ")");
		return;
	}
	if (r->type == PTR_TO_STACK && tnum_is_const(r->var_off) && !r->var_off.value) {
		if (r->frameno)
			sb(b, "fp[%d]%d", r->frameno, r->off);
		else
			sb(b, "fp%d", r->off);
		return;
	}
	sb(b, "%s(", vtype_str(r->type));
	if (r->id)
		sb(b, "%sid=%u", sep, r->id), sep = ",";
	if (r->ref_obj_id)
		sb(b, "%sref_obj_id=%u", sep, r->ref_obj_id), sep = ",";
	if (r->off && base_type(r->type) != PTR_TO_STACK)
		sb(b, "%soff=%d", sep, r->off), sep = ",";
	unsigned t = base_type(r->type);
	if (t == PTR_TO_PACKET || t == PTR_TO_PACKET_META)
		sb(b, "%sr=%u", sep, r->range), sep = ",";
	if ((t == CONST_PTR_TO_MAP || t == PTR_TO_MAP_VALUE || t == PTR_TO_MAP_KEY) && r->map) {
		const struct bpfvm_map_def *d = bpfvm_map_def(r->map);
		sb(b, "%sks=%u,vs=%u", sep, d->key_size, d->value_size), sep = ",";
	}
	if (t == PTR_TO_MEM)
		sb(b, "%ssz=%u", sep, r->range), sep = ",";
	if (t == PTR_TO_STACK)
		sb(b, "%soff=%d", sep, r->off), sep = ",";
	if (tnum_is_const(r->var_off)) {
		if (r->var_off.value)
			sb(b, "%simm=%" PRIx64, sep, r->var_off.value);
	} else {
		sb_ranges(b, r, &sep);
		if (!tnum_is_unknown(r->var_off)) {
			tnum_str(tn, sizeof(tn), r->var_off);
			sb(b, "%svar_off=%s", sep, tn);
		}
	}
	sb(b, ")");
}

void vreg_str(const struct vreg *r, char *buf, size_t len)
{
	struct sbuf b = {buf, 0, len};
	buf[0] = 0;
	sb_reg(&b, r);
}

static char slot_char(uint8_t t)
{
	switch (t) {
	case STACK_SPILL: return 'r';
	case STACK_MISC: return 'm';
	case STACK_ZERO: return '0';
	default: return '?';
	}
}

void vlog_state(struct venv *env, const struct vstate *st, bool all)
{
	char buf[512];
	const struct vframe *f = st->frames[st->curframe];
	if (st->curframe)
		vlog(env, " frame%d:", st->curframe);
	for (int i = 0; i < BPFVM_NREGS; i++) {
		const struct vreg *r = &f->regs[i];
		if (r->type == NOT_INIT || (!all && !(env->scratched_regs & (1u << i))))
			continue;
		vreg_str(r, buf, sizeof(buf));
		vlog(env, " R%d=%s", i, buf);
	}
	for (int s = 0; s < f->nslots; s++) {
		const struct vslot *sl = &f->slots[s];
		if (!all && !(env->scratched_slots & (1ULL << s)))
			continue;
		bool any = false;
		for (int k = 0; k < 8; k++)
			any |= sl->type[k] != STACK_INVALID;
		if (!any)
			continue;
		if (sl->type[7] == STACK_SPILL) {
			vreg_str(&sl->spilled, buf, sizeof(buf));
			vlog(env, " fp%d=%s", -(s + 1) * 8, buf);
		} else {
			char t[9];
			for (int k = 0; k < 8; k++)
				t[k] = slot_char(sl->type[7 - k]);
			t[8] = 0;
			vlog(env, " fp%d=%s", -(s + 1) * 8, t);
		}
	}
	for (int i = 0; i < st->nrefs; i++)
		vlog(env, "%s%u", i ? "," : " refs=", st->refs[i].id);
	vlog(env, "\n");
	env->scratched_regs = 0;
	env->scratched_slots = 0;
}

/* ---- instructions, as the kernel's print_bpf_insn -------------------------------- */

static const char *const alu_ops[] = {
	[BPFVM_ALU_ADD] = "+=", [BPFVM_ALU_SUB] = "-=", [BPFVM_ALU_MUL] = "*=",
	[BPFVM_ALU_DIV] = "/=", [BPFVM_ALU_SDIV] = "s/=", [BPFVM_ALU_OR] = "|=",
	[BPFVM_ALU_AND] = "&=", [BPFVM_ALU_LSH] = "<<=", [BPFVM_ALU_RSH] = ">>=",
	[BPFVM_ALU_NEG] = "neg", [BPFVM_ALU_MOD] = "%=", [BPFVM_ALU_SMOD] = "s%=",
	[BPFVM_ALU_XOR] = "^=", [BPFVM_ALU_MOV] = "=", [BPFVM_ALU_MOVSX] = "=",
	[BPFVM_ALU_ARSH] = "s>>=",
};
static const char *const jmp_ops[] = {
	[BPFVM_JMP_JEQ] = "==", [BPFVM_JMP_JGT] = ">", [BPFVM_JMP_JGE] = ">=",
	[BPFVM_JMP_JSET] = "&", [BPFVM_JMP_JNE] = "!=", [BPFVM_JMP_JSGT] = "s>",
	[BPFVM_JMP_JSGE] = "s>=", [BPFVM_JMP_JLT] = "<", [BPFVM_JMP_JLE] = "<=",
	[BPFVM_JMP_JSLT] = "s<", [BPFVM_JMP_JSLE] = "s<=",
};
static const char *const atomic_ops[] = {
	[BPFVM_ATOMIC_ADD] = "+=", [BPFVM_ATOMIC_OR] = "|=", [BPFVM_ATOMIC_AND] = "&=",
	[BPFVM_ATOMIC_XOR] = "^=", [BPFVM_ATOMIC_FETCH_ADD] = "add", [BPFVM_ATOMIC_FETCH_OR] = "or",
	[BPFVM_ATOMIC_FETCH_AND] = "and", [BPFVM_ATOMIC_FETCH_XOR] = "xor",
};

static const char *size_name(int size, bool sx)
{
	switch (size) {
	case 1: return sx ? "s8" : "u8";
	case 2: return sx ? "s16" : "u16";
	case 4: return sx ? "s32" : "u32";
	default: return sx ? "s64" : "u64";
	}
}

static void helper_name(struct venv *env, int32_t id, char *buf, size_t len)
{
	const struct bpfvm_helper *h = bpfvm_vm_helper(env->prog->vm, (uint32_t)id);
	if (!h || !h->name)
		snprintf(buf, len, "unknown#%d", id);
	else
		snprintf(buf, len, "%s%s#%d", strncmp(h->name, "bpf_", 4) ? "bpf_" : "", h->name, id);
}

void vlog_insn(struct venv *env, int idx)
{
	const struct bpfvm_insn *in = &env->insns[idx];
	const struct bpfvm_opinfo *oi = bpfvm_isa_lookup(in);
	char b[160], h[80];
	char w = oi && (oi->flags & BPFVM_F_ALU32) ? 'w' : 'r';
	b[0] = 0;
	if (!oi) {
		snprintf(b, sizeof(b), "(%02x) unknown", in->code);
	} else {
		switch (oi->kind) {
		case BPFVM_KIND_ALU:
			if (oi->op == BPFVM_ALU_NEG)
				snprintf(b, sizeof(b), "(%02x) %c%d = -%c%d", in->code, w, in->dst, w, in->dst);
			else if (oi->op == BPFVM_ALU_MOVSX)
				snprintf(b, sizeof(b), "(%02x) %c%d = (s%d)%c%d", in->code, w, in->dst, in->off, w, in->src);
			else if (oi->flags & BPFVM_F_REG_SRC)
				snprintf(b, sizeof(b), "(%02x) %c%d %s %c%d", in->code, w, in->dst, alu_ops[oi->op], w, in->src);
			else
				snprintf(b, sizeof(b), "(%02x) %c%d %s %d", in->code, w, in->dst, alu_ops[oi->op], in->imm);
			break;
		case BPFVM_KIND_END:
			snprintf(b, sizeof(b), "(%02x) r%d = %s%d r%d", in->code, in->dst,
				 oi->op == BPFVM_END_BSWAP ? "bswap" : oi->op == BPFVM_END_BE ? "be" : "le",
				 in->imm, in->dst);
			break;
		case BPFVM_KIND_JA:
			if (oi->flags & BPFVM_F_JUMP_IMM)
				snprintf(b, sizeof(b), "(%02x) gotol pc%+d", in->code, in->imm);
			else
				snprintf(b, sizeof(b), "(%02x) goto pc%+d", in->code, in->off);
			break;
		case BPFVM_KIND_JCOND:
			if (oi->flags & BPFVM_F_REG_SRC)
				snprintf(b, sizeof(b), "(%02x) if %c%d %s %c%d goto pc%+d", in->code, w, in->dst,
					 jmp_ops[oi->op], w, in->src, in->off);
			else
				snprintf(b, sizeof(b), "(%02x) if %c%d %s 0x%x goto pc%+d", in->code, w, in->dst,
					 jmp_ops[oi->op], (uint32_t)in->imm, in->off);
			break;
		case BPFVM_KIND_CALL:
			if (oi->op == BPFVM_CALL_LOCAL) {
				snprintf(b, sizeof(b), "(%02x) call pc%+d", in->code, in->imm);
			} else {
				helper_name(env, in->imm, h, sizeof(h));
				snprintf(b, sizeof(b), "(%02x) call %s", in->code, h);
			}
			break;
		case BPFVM_KIND_CALLX:
			snprintf(b, sizeof(b), "(%02x) callx r%d", in->code, in->dst);
			break;
		case BPFVM_KIND_EXIT:
			snprintf(b, sizeof(b), "(%02x) exit", in->code);
			break;
		case BPFVM_KIND_LDDW: {
			uint64_t v = (uint32_t)in->imm;
			if (idx + 1 < env->n)
				v |= (uint64_t)(uint32_t)env->insns[idx + 1].imm << 32;
			if (oi->op == BPFVM_LDDW_MAP_FD || oi->op == BPFVM_LDDW_MAP_IDX)
				snprintf(b, sizeof(b), "(%02x) r%d = map[id:%d]", in->code, in->dst, in->imm);
			else if (oi->op == BPFVM_LDDW_MAP_VALUE || oi->op == BPFVM_LDDW_MAP_IDX_VALUE)
				snprintf(b, sizeof(b), "(%02x) r%d = map[id:%d][0]+%d", in->code, in->dst, in->imm,
					 idx + 1 < env->n ? env->insns[idx + 1].imm : 0);
			else if (oi->op == BPFVM_LDDW_FUNC)
				snprintf(b, sizeof(b), "(%02x) r%d = func pc%+d", in->code, in->dst, in->imm);
			else
				snprintf(b, sizeof(b), "(%02x) r%d = %#" PRIx64, in->code, in->dst, v);
			break;
		}
		case BPFVM_KIND_LDABS:
			snprintf(b, sizeof(b), "(%02x) r0 = *(%s *)skb[%d]", in->code, size_name(oi->size, 0), in->imm);
			break;
		case BPFVM_KIND_LDIND:
			snprintf(b, sizeof(b), "(%02x) r0 = *(%s *)skb[r%d + %d]", in->code, size_name(oi->size, 0),
				 in->src, in->imm);
			break;
		case BPFVM_KIND_LDX:
		case BPFVM_KIND_LDXSX:
			snprintf(b, sizeof(b), "(%02x) r%d = *(%s *)(r%d %+d)", in->code, in->dst,
				 size_name(oi->size, oi->kind == BPFVM_KIND_LDXSX), in->src, in->off);
			break;
		case BPFVM_KIND_ST:
			snprintf(b, sizeof(b), "(%02x) *(%s *)(r%d %+d) = %d", in->code, size_name(oi->size, 0),
				 in->dst, in->off, in->imm);
			break;
		case BPFVM_KIND_STX:
			snprintf(b, sizeof(b), "(%02x) *(%s *)(r%d %+d) = r%d", in->code, size_name(oi->size, 0),
				 in->dst, in->off, in->src);
			break;
		case BPFVM_KIND_ATOMIC: {
			const char *bits = oi->size == 8 ? "64" : "";
			if (oi->op <= BPFVM_ATOMIC_XOR)
				snprintf(b, sizeof(b), "(%02x) lock *(%s *)(r%d %+d) %s r%d", in->code,
					 size_name(oi->size, 0), in->dst, in->off, atomic_ops[oi->op], in->src);
			else if (oi->op <= BPFVM_ATOMIC_FETCH_XOR)
				snprintf(b, sizeof(b), "(%02x) r%d = atomic%s_fetch_%s((%s *)(r%d %+d), r%d)", in->code,
					 in->src, bits, atomic_ops[oi->op], size_name(oi->size, 0), in->dst, in->off, in->src);
			else if (oi->op == BPFVM_ATOMIC_XCHG)
				snprintf(b, sizeof(b), "(%02x) r%d = atomic%s_xchg((%s *)(r%d %+d), r%d)", in->code, in->src,
					 bits, size_name(oi->size, 0), in->dst, in->off, in->src);
			else
				snprintf(b, sizeof(b), "(%02x) r0 = atomic%s_cmpxchg((%s *)(r%d %+d), r0, r%d)", in->code,
					 bits, size_name(oi->size, 0), in->dst, in->off, in->src);
			break;
		}
		}
	}
	env->prev_log_pos = env->log_len;
	vlog(env, "%d: %s\n", idx, b);
	env->prev_insn_print_pos = env->log_len - env->prev_log_pos;
	env->prev_log_pos = env->log_len;
}
