/* Precision tracking (the kernel's mark_chain_precision): a scalar of a
 * saved state is compared by value when a later safety decision (pointer
 * arithmetic, a helper's size argument, a branch decided by its bounds, a
 * return value range, a constant map key, a zero written to the stack)
 * depended on it. The decision's register is followed back through the
 * instructions of the path (moves, ALU, stack spills and fills, linked
 * registers of conditional jumps) to the saved states before it, which get
 * their copies marked precise. Whatever the walk does not model (calls into
 * subprograms, returns, callbacks, atomics, LD_ABS) marks every scalar of
 * every state on the path precise, which is always safe. */
#include <stdlib.h>
#include <string.h>

#include "verifier/verifier.h"

/* Registers and stack slots being traced, per frame. */
struct btrack {
	uint16_t regs[BPFVM_MAX_FRAMES];
	uint64_t slots[BPFVM_MAX_FRAMES];
};

static bool bt_empty(const struct btrack *bt)
{
	for (int f = 0; f < BPFVM_MAX_FRAMES; f++)
		if (bt->regs[f] || bt->slots[f])
			return false;
	return true;
}

int vhist_push(struct venv *env, struct vstate *st, const struct vhist *h)
{
	if (st->hist_end >= env->hist_cap) {
		uint32_t cap = env->hist_cap ? env->hist_cap * 2 : 256;
		struct vhist *n = realloc(env->hist, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		env->hist = n;
		env->hist_cap = cap;
	}
	env->hist[st->hist_end++] = *h;
	return 0;
}

void vnote_stack_access(struct venv *env, int frame, int spi)
{
	if (spi < 0 || spi >= V_SLOTS)
		return;
	env->pending.flags |= VH_STACK;
	env->pending.frame = (uint8_t)frame;
	env->pending.spi = (uint8_t)spi;
}

static int note_linked_id(struct venv *env, struct vhist *h, uint32_t id)
{
	struct vstate *st = env->cur;
	int cnt = 0;
	for (int fi = 0; fi <= st->curframe; fi++) {
		struct vframe *f = st->frames[fi];
		for (int r = 0; r < BPFVM_NREGS; r++) {
			if (f->regs[r].type != SCALAR_VALUE || vbase_id(f->regs[r].id) != id)
				continue;
			cnt++;
			if (fi == st->curframe)
				h->linked_regs |= (uint16_t)(1u << r);
			else
				h->flags |= VH_LINKED_FAR;
		}
		for (int spi = 0; spi < f->nslots && spi < V_SLOTS; spi++) {
			const struct vslot *s = &f->slots[spi];
			if (s->type[7] != STACK_SPILL || s->spilled.type != SCALAR_VALUE || vbase_id(s->spilled.id) != id)
				continue;
			cnt++;
			if (fi == st->curframe)
				h->linked_slots |= 1ULL << spi;
			else
				h->flags |= VH_LINKED_FAR;
		}
	}
	return cnt;
}

int vnote_linked(struct venv *env, const struct vreg *a, const struct vreg *b)
{
	struct vhist h = {.idx = env->insn_idx, .prev = env->prev_insn_idx};
	int cnt = 0;
	if (a && a->type == SCALAR_VALUE && a->id)
		cnt += note_linked_id(env, &h, vbase_id(a->id)) > 1;
	if (b && b->type == SCALAR_VALUE && b->id && (!a || vbase_id(b->id) != vbase_id(a->id)))
		cnt += note_linked_id(env, &h, vbase_id(b->id)) > 1;
	if (!cnt)
		return 0;
	h.flags |= VH_LINKED;
	return vhist_push(env, env->cur, &h);
}

void vclear_precise(struct vstate *st)
{
	V_FOR_EACH_REG(st, r, r->precise = 0);
}

void vmark_all_precise(struct vstate *st)
{
	for (; st; st = st->parent)
		V_FOR_EACH_REG(st, r, {
			if (r->type == SCALAR_VALUE)
				r->precise = 1;
		});
}

/* The history entries of insn i on this visit: the stack access or linked
 * registers it recorded (on top) and how it was reached. Returns the
 * previous instruction of the path. */
static int prev_insn(struct venv *env, const struct vstate *st, int i, uint32_t *n, struct vhist *rec)
{
	int prev = i - 1;
	const struct vhist *h = env->hist;
	memset(rec, 0, sizeof(*rec));
	if (*n > st->hist_start && h[*n - 1].idx == i && !(h[*n - 1].flags & VH_ARRIVAL)) {
		*rec = h[--*n];
		prev = rec->prev;
	}
	if (*n > st->hist_start && h[*n - 1].idx == i && (h[*n - 1].flags & VH_ARRIVAL))
		prev = h[--*n].prev;
	else if (prev >= 1 && env->aux[prev].ld_second)
		prev--;
	return prev;
}

/* Linked registers refined together by a jump are traced together. */
static void sync_linked(struct btrack *bt, int fr, const struct vhist *rec)
{
	if (!(rec->flags & VH_LINKED))
		return;
	if ((bt->regs[fr] & rec->linked_regs) || (bt->slots[fr] & rec->linked_slots)) {
		bt->regs[fr] |= rec->linked_regs;
		bt->slots[fr] |= rec->linked_slots;
	}
}

enum { BT_OK = 0, BT_GIVE_UP = 1 };

/* What an instruction means to the trace, from its opcode table row (found
 * once per instruction: backtracking runs often). */
enum {
	K_NONE = 1,       /* no register or slot flows: JA */
	K_DST_FROM_SRC,   /* dst op= src: src joins dst */
	K_DST_KEEPS,      /* dst op= imm, neg, byte swap: dst stays */
	K_MOV_SRC,        /* dst = src */
	K_MOV_IMM,        /* dst = imm, LD_IMM64 */
	K_LOAD,           /* dst = *(src + off) */
	K_STORE8,         /* *(dst + off) = src/imm, 8 bytes */
	K_STORE_NARROW,   /* ... fewer bytes */
	K_ATOMIC,
	K_LD_PKT,         /* LD_ABS, LD_IND */
	K_EXIT,
	K_HELPER,
	K_OTHER_CALL,     /* bpf-to-bpf, kfunc, unknown */
	K_JCOND_X,
	K_JCOND_K,
};

static uint8_t classify(const struct bpfvm_insn *insn)
{
	const struct bpfvm_opinfo *oi = bpfvm_isa_lookup(insn);
	if (!oi)
		return K_OTHER_CALL; /* never ran: anything conservative */
	bool is_x = oi->flags & BPFVM_F_REG_SRC;
	switch (oi->kind) {
	case BPFVM_KIND_ALU:
		if (oi->op == BPFVM_ALU_MOV || oi->op == BPFVM_ALU_MOVSX)
			return is_x ? K_MOV_SRC : K_MOV_IMM;
		return is_x ? K_DST_FROM_SRC : K_DST_KEEPS;
	case BPFVM_KIND_END:
		return K_DST_KEEPS;
	case BPFVM_KIND_JA:
		return K_NONE;
	case BPFVM_KIND_JCOND:
		return is_x ? K_JCOND_X : K_JCOND_K;
	case BPFVM_KIND_CALL:
		return oi->op == BPFVM_CALL_HELPER ? K_HELPER : K_OTHER_CALL;
	case BPFVM_KIND_EXIT:
		return K_EXIT;
	case BPFVM_KIND_LDDW:
		return K_MOV_IMM;
	case BPFVM_KIND_LDABS:
	case BPFVM_KIND_LDIND:
		return K_LD_PKT;
	case BPFVM_KIND_LDX:
	case BPFVM_KIND_LDXSX:
		return K_LOAD;
	case BPFVM_KIND_ST:
	case BPFVM_KIND_STX:
		return oi->size == 8 ? K_STORE8 : K_STORE_NARROW;
	case BPFVM_KIND_ATOMIC:
		return K_ATOMIC;
	default:
		return K_OTHER_CALL;
	}
}

/* Undo instruction i for the trace: which registers/slots before i the
 * traced ones after it came from. fr is the frame i ran in. */
static int backtrack_insn(struct venv *env, int i, int subseq, int fr, const struct vhist *rec, struct btrack *bt)
{
	const struct bpfvm_insn *insn = &env->insns[i];
	uint16_t dbit = (uint16_t)(1u << (insn->dst & 0xf)), sbit = (uint16_t)(1u << (insn->src & 0xf));
	uint16_t *regs = &bt->regs[fr];
	uint64_t sslot = 1ULL << rec->spi;
	bool slot_traced = (rec->flags & VH_STACK) && (bt->slots[rec->frame] & sslot);
	if (rec->flags & VH_LINKED_FAR)
		return BT_GIVE_UP;
	if (!env->aux[i].bt_kind)
		env->aux[i].bt_kind = classify(insn);
	sync_linked(bt, fr, rec);
	switch (env->aux[i].bt_kind) {
	case K_NONE:
	case K_DST_KEEPS:
	case K_JCOND_K:
		break;
	case K_DST_FROM_SRC:
		if (*regs & dbit)
			*regs |= sbit;
		break;
	case K_MOV_SRC:
		if (*regs & dbit)
			*regs = (uint16_t)((*regs & ~dbit) | sbit);
		break;
	case K_MOV_IMM:
		*regs &= (uint16_t)~dbit;
		break;
	case K_LOAD:
		if (!(*regs & dbit))
			break;
		*regs &= (uint16_t)~dbit;
		if (rec->flags & VH_STACK)
			bt->slots[rec->frame] |= sslot;
		break;
	case K_STORE8:
	case K_STORE_NARROW:
		if (*regs & dbit)
			return BT_GIVE_UP; /* a traced scalar used as a base address */
		if (!slot_traced)
			break;
		/* a full 8-byte store replaces the slot; a narrower one leaves
		 * the rest of it, which stays traced */
		if (env->aux[i].bt_kind == K_STORE8)
			bt->slots[rec->frame] &= ~sslot;
		if ((insn->code & 0x07) == BPFVM_CLASS_STX)
			*regs |= sbit;
		break;
	case K_ATOMIC:
		if ((*regs & (dbit | sbit | 1u)) || slot_traced)
			return BT_GIVE_UP; /* values fetched from memory */
		break;
	case K_LD_PKT:
		if (*regs & 0x3f) /* LD_ABS/LD_IND set r0, clobber r1-r5 */
			return BT_GIVE_UP;
		break;
	case K_HELPER:
		if (subseq != i + 1) /* went into a callback */
			return bt_empty(bt) ? BT_OK : BT_GIVE_UP;
		/* r0 comes from the helper; r1-r5 are dead after it */
		*regs &= (uint16_t)~1u;
		if (*regs & 0x3e)
			return BT_GIVE_UP;
		break;
	case K_JCOND_X:
		if (*regs & (dbit | sbit))
			*regs |= dbit | sbit; /* dst <op> src: both needed */
		break;
	default: /* EXIT, other calls: the trace would change frames */
		return bt_empty(bt) ? BT_OK : BT_GIVE_UP;
	}
	sync_linked(bt, fr, rec);
	return BT_OK;
}

/* Mark the traced registers of a saved state precise; those already
 * precise (with their past) or not scalars are traced no further. */
static void mark_in_state(struct vstate *st, struct btrack *bt)
{
	for (int fr = 0; fr <= st->curframe && fr < BPFVM_MAX_FRAMES; fr++) {
		struct vframe *f = st->frames[fr];
		for (int r = 0; r < BPFVM_NREGS; r++) {
			uint16_t bit = (uint16_t)(1u << r);
			if (!(bt->regs[fr] & bit))
				continue;
			struct vreg *reg = &f->regs[r];
			if (reg->type != SCALAR_VALUE || reg->precise)
				bt->regs[fr] &= (uint16_t)~bit;
			else
				reg->precise = 1;
		}
		for (int spi = 0; spi < V_SLOTS; spi++) {
			uint64_t bit = 1ULL << spi;
			if (!(bt->slots[fr] & bit))
				continue;
			if (spi >= f->nslots) {
				bt->slots[fr] &= ~bit;
				continue;
			}
			struct vslot *s = &f->slots[spi];
			if (s->type[7] != STACK_SPILL || s->spilled.type != SCALAR_VALUE || s->spilled.precise)
				bt->slots[fr] &= ~bit;
			else
				s->spilled.precise = 1;
		}
	}
	for (int fr = st->curframe + 1; fr < BPFVM_MAX_FRAMES; fr++)
		bt->regs[fr] = 0, bt->slots[fr] = 0;
}

/* Walk the current path back from before insn `at` (not yet executed by
 * cur) through cur's instructions and then each saved state's. */
static int backtrack(struct venv *env, struct btrack *bt)
{
	struct vstate *st = env->cur;
	if (!env->bpf_capable || bt_empty(bt))
		return 0;
	int i = st->insn_idx, first = st->first_insn_idx;
	uint32_t n = st->hist_end;
	struct vhist rec;
	bool skip = true; /* insn i itself has not run yet */
	int subseq = -1;
	long steps = 0;
	for (;;) {
		for (;;) {
			int prev = prev_insn(env, st, i, &n, &rec);
			if (!skip) {
				if (backtrack_insn(env, i, subseq, st->curframe, &rec, bt) == BT_GIVE_UP) {
					vmark_all_precise(env->cur);
					return 0;
				}
				if (bt_empty(bt))
					return 0;
			}
			skip = false;
			if (i == first || prev < 0 || ++steps > 4 * (long)env->n + 1000000) {
				if (i != first) { /* lost the path: be safe */
					vmark_all_precise(env->cur);
					return 0;
				}
				break;
			}
			subseq = i;
			i = prev;
		}
		subseq = st->first_insn_idx;
		st = st->parent;
		if (!st)
			return 0;
		mark_in_state(st, bt);
		if (bt_empty(bt))
			return 0;
		i = st->last_insn_idx;
		first = st->first_insn_idx;
		n = st->hist_end;
	}
}

int vmark_precise(struct venv *env, int regno)
{
	struct btrack bt = {0};
	struct vreg *r = &vcur_regs(env)[regno];
	if (r->type != SCALAR_VALUE)
		return 0;
	bt.regs[env->cur->curframe] = (uint16_t)(1u << regno);
	return backtrack(env, &bt);
}

int vmark_slot_precise(struct venv *env, int frame, int spi)
{
	struct btrack bt = {0};
	if (frame < 0 || frame > env->cur->curframe || spi < 0 || spi >= V_SLOTS)
		return 0;
	bt.slots[frame] = 1ULL << spi;
	return backtrack(env, &bt);
}

int vpropagate_precision(struct venv *env, const struct vstate *old)
{
	struct btrack bt = {0};
	for (int fr = 0; fr <= old->curframe && fr < BPFVM_MAX_FRAMES; fr++) {
		const struct vframe *f = old->frames[fr];
		for (int r = 0; r < BPFVM_NREGS; r++)
			if (f->regs[r].type == SCALAR_VALUE && f->regs[r].precise)
				bt.regs[fr] |= (uint16_t)(1u << r);
		for (int spi = 0; spi < f->nslots && spi < V_SLOTS; spi++) {
			const struct vslot *s = &f->slots[spi];
			if (s->type[7] == STACK_SPILL && s->spilled.type == SCALAR_VALUE && s->spilled.precise)
				bt.slots[fr] |= 1ULL << spi;
		}
	}
	return backtrack(env, &bt);
}
