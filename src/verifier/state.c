/* Verifier states: copying, the stack of pending branches, and pruning —
 * a state already proven safe at an instruction covers any state it
 * contains (the kernel's is_state_visited / states_equal). */
#include <stdlib.h>
#include <string.h>

#include "verifier/verifier.h"

struct vframe *vframe_new(int frameno, int callsite, int subprog)
{
	struct vframe *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->frameno = frameno;
	f->callsite = callsite;
	f->subprog = subprog;
	f->cb_call = -1;
	for (int i = 0; i < BPFVM_NREGS; i++)
		vreg_mark_not_init(&f->regs[i]);
	return f;
}

static struct vframe *vframe_clone(const struct vframe *src)
{
	struct vframe *f = malloc(sizeof(*f));
	if (!f)
		return NULL;
	*f = *src;
	f->slots = NULL;
	if (src->nslots) {
		f->slots = malloc((size_t)src->nslots * sizeof(*f->slots));
		if (!f->slots) {
			free(f);
			return NULL;
		}
		memcpy(f->slots, src->slots, (size_t)src->nslots * sizeof(*f->slots));
	}
	return f;
}

static void vframe_free(struct vframe *f)
{
	if (f) {
		free(f->slots);
		free(f);
	}
}

struct vstate *vstate_new(void)
{
	struct vstate *st = calloc(1, sizeof(*st));
	if (st) {
		st->branches = 1;
		vreg_mark_not_init(&st->len_reg);
	}
	return st;
}

struct vstate *vstate_clone(const struct vstate *src)
{
	struct vstate *st = malloc(sizeof(*st));
	if (!st)
		return NULL;
	*st = *src;
	memset(st->frames, 0, sizeof(st->frames));
	for (int i = 0; i <= src->curframe; i++) {
		st->frames[i] = vframe_clone(src->frames[i]);
		if (!st->frames[i]) {
			vstate_free(st);
			return NULL;
		}
	}
	return st;
}

void vstate_free(struct vstate *st)
{
	if (!st)
		return;
	for (int i = 0; i < BPFVM_MAX_FRAMES; i++)
		vframe_free(st->frames[i]);
	free(st);
}

/* ---- pending branches -------------------------------------------------------------- */

int vpush(struct venv *env, int insn_idx, int prev_idx, struct vstate **out)
{
	struct vstack_elem *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->state = vstate_clone(env->cur);
	if (!e->state) {
		free(e);
		return -ENOMEM;
	}
	e->insn_idx = insn_idx;
	e->prev_insn_idx = prev_idx;
	e->log_pos = env->log_len;
	e->next = env->stack_head;
	env->stack_head = e;
	env->stack_size++;
	if (env->stack_size > V_MAX_JMP_SEQ)
		return verr(env, -E2BIG, "The sequence of %d jumps is too complex.\n", env->stack_size);
	if (e->state->parent)
		e->state->parent->branches++;
	*out = e->state;
	return 0;
}

/* Continue with the newest pending branch; -ENOENT when none is left. */
int vpop(struct venv *env, int *insn_idx, int *prev_idx)
{
	struct vstack_elem *e = env->stack_head;
	if (!e)
		return -ENOENT;
	vstate_free(env->cur);
	env->cur = e->state;
	*insn_idx = e->insn_idx;
	*prev_idx = e->prev_insn_idx;
	/* Level 1 keeps only the log of the path being explored. */
	if (env->log_level == 1)
		vlog_reset(env, e->log_pos);
	env->stack_head = e->next;
	env->stack_size--;
	free(e);
	return 0;
}

void vupdate_branch_counts(struct venv *env, struct vstate *st)
{
	(void)env;
	while (st) {
		if (--st->branches)
			break;
		st = st->parent;
	}
}

/* ---- equivalence -------------------------------------------------------------------- */

#define ID_MAP_SIZE (2 * (BPFVM_NREGS + V_SLOTS) * BPFVM_MAX_FRAMES + V_MAX_REFS + 2)
struct idmap {
	uint32_t old[ID_MAP_SIZE], cur[ID_MAP_SIZE];
	int n;
	uint32_t tmp_gen;
	uint32_t old_len_id;     /* raw programs: scalars linked to the length */
	bool all_precise;        /* compare every scalar (unprivileged, callbacks) */
};

static bool check_ids(uint32_t old_id, uint32_t cur_id, struct idmap *m)
{
	if (!!old_id != !!cur_id)
		return false;
	if (!old_id)
		return true;
	for (int i = 0; i < m->n; i++) {
		if (m->old[i] == old_id)
			return m->cur[i] == cur_id;
		if (m->cur[i] == cur_id)
			return false;
	}
	if (m->n == ID_MAP_SIZE)
		return false;
	m->old[m->n] = old_id;
	m->cur[m->n] = cur_id;
	m->n++;
	return true;
}

static bool check_scalar_ids(uint32_t old_id, uint32_t cur_id, struct idmap *m)
{
	/* temporary ids (above any real one) for unlinked scalars */
	old_id = old_id ? old_id : 0x80000000u + ++m->tmp_gen;
	cur_id = cur_id ? cur_id : 0x80000000u + ++m->tmp_gen;
	return check_ids(old_id, cur_id, m);
}

static bool range_within(const struct vreg *o, const struct vreg *c)
{
	return o->umin <= c->umin && o->umax >= c->umax && o->smin <= c->smin && o->smax >= c->smax &&
	       o->u32min <= c->u32min && o->u32max >= c->u32max && o->s32min <= c->s32min &&
	       o->s32max >= c->s32max;
}

static bool same_value(const struct vreg *a, const struct vreg *b)
{
	return a->type == b->type && a->off == b->off && a->var_off.value == b->var_off.value &&
	       a->var_off.mask == b->var_off.mask && a->smin == b->smin && a->smax == b->smax &&
	       a->umin == b->umin && a->umax == b->umax && a->s32min == b->s32min &&
	       a->s32max == b->s32max && a->u32min == b->u32min && a->u32max == b->u32max &&
	       a->frameno == b->frameno && a->range == b->range && a->map == b->map &&
	       a->subprog == b->subprog;
}

static bool regs_exact(const struct vreg *o, const struct vreg *c, struct idmap *m)
{
	return same_value(o, c) && check_ids(o->id, c->id, m) && check_ids(o->ref_obj_id, c->ref_obj_id, m);
}

static bool regsafe(const struct vreg *o, const struct vreg *c, struct idmap *m, bool exact)
{
	if (exact)
		return regs_exact(o, c, m);
	if (o->type == NOT_INIT)
		return true;
	if (o->type != c->type)
		return false;
	switch (base_type(o->type)) {
	case SCALAR_VALUE:
		/* A scalar of a saved state that no safety decision after it
		 * depended on (not precise) is covered by any scalar; one linked
		 * to a raw program's length narrows that length when compared. */
		if (!o->precise && !m->all_precise && !(o->id && vbase_id(o->id) == m->old_len_id))
			return true;
		/* links with a constant delta: the same kind and delta, and the
		 * base ids mapped consistently with every other link */
		if ((o->id & V_ADD_CONST) != (c->id & V_ADD_CONST))
			return false;
		if ((o->id & V_ADD_CONST) && o->off != c->off)
			return false;
		if (!check_scalar_ids(vbase_id(o->id), vbase_id(c->id), m))
			return false;
		return range_within(o, c) && tnum_in(o->var_off, c->var_off);
	case PTR_TO_MAP_KEY:
	case PTR_TO_MAP_VALUE:
	case PTR_TO_MEM:
		return o->off == c->off && o->map == c->map && o->range == c->range && range_within(o, c) &&
		       tnum_in(o->var_off, c->var_off) && check_ids(o->id, c->id, m) &&
		       check_ids(o->ref_obj_id, c->ref_obj_id, m);
	case PTR_TO_PACKET_META:
	case PTR_TO_PACKET:
		if (o->range > c->range || o->off != c->off)
			return false;
		if (!check_ids(o->id, c->id, m))
			return false;
		return range_within(o, c) && tnum_in(o->var_off, c->var_off);
	default:
		return regs_exact(o, c, m);
	}
}

static bool is_pointer_slot(const struct vslot *s)
{
	return s->type[7] == STACK_SPILL && s->spilled.type != SCALAR_VALUE;
}

/* An old 8-byte spill of a scalar no decision depended on: any slot whose
 * bytes all read as some scalar covers it (the kernel compares such a slot
 * with an unbounded scalar). */
static bool imprecise_spill_covered(struct venv *env, const struct vslot *os, const struct vslot *cs,
				    const struct idmap *m)
{
	for (int k = 0; k < 8; k++)
		if (os->type[k] != STACK_SPILL)
			return false;
	const struct vreg *o = &os->spilled;
	if (o->type != SCALAR_VALUE || o->precise || m->all_precise || (o->id && vbase_id(o->id) == m->old_len_id))
		return false;
	if (is_pointer_slot(cs))
		return false;
	for (int k = 0; k < 8; k++)
		if (cs->type[k] == STACK_INVALID && !env->allow_uninit_stack)
			return false;
	return true;
}

static bool stacksafe(struct venv *env, const struct vframe *o, const struct vframe *c, struct idmap *m,
		      bool exact)
{
	for (int spi = 0; spi < o->nslots; spi++) {
		const struct vslot *os = &o->slots[spi];
		const struct vslot *cs = spi < c->nslots ? &c->slots[spi] : NULL;
		if (!exact && cs && imprecise_spill_covered(env, os, cs, m))
			continue;
		bool any = false;
		for (int k = 0; k < 8; k++)
			any |= os->type[k] != STACK_INVALID;
		if (!any) {
			/* old never wrote here: anything but a pointer that a read could leak */
			if (exact && cs) {
				for (int k = 0; k < 8; k++)
					if (cs->type[k] != STACK_INVALID)
						return false;
			}
			if (cs && is_pointer_slot(cs))
				return false;
			continue;
		}
		if (!cs)
			return false;
		for (int k = 0; k < 8; k++) {
			uint8_t ot = os->type[k], ct = cs->type[k];
			if (exact) {
				if (ot != ct)
					return false;
				continue;
			}
			if (ot == STACK_INVALID) {
				if (is_pointer_slot(cs))
					return false;
				continue;
			}
			if (ot == STACK_MISC && env->allow_uninit_stack && !is_pointer_slot(cs))
				continue;
			if (ot == STACK_MISC && (ct == STACK_ZERO || ct == STACK_MISC))
				continue;
			if (ot == STACK_MISC && ct == STACK_SPILL && cs->spilled.type == SCALAR_VALUE)
				continue;
			if (ot != ct)
				return false;
		}
		if (os->type[7] == STACK_SPILL && cs->type[7] == STACK_SPILL &&
		    !regsafe(&os->spilled, &cs->spilled, m, exact))
			return false;
		if (os->type[7] == STACK_SPILL && cs->type[7] != STACK_SPILL)
			return false;
	}
	return true;
}

static bool refsafe(const struct vstate *o, const struct vstate *c, struct idmap *m)
{
	if (o->nrefs != c->nrefs)
		return false;
	for (int i = 0; i < o->nrefs; i++)
		if (!check_ids(o->refs[i].id, c->refs[i].id, m))
			return false;
	return true;
}

static bool states_equal(struct venv *env, const struct vstate *o, const struct vstate *c, bool exact,
			 bool all_precise)
{
	struct idmap map;
	struct idmap *m = &map;
	bool eq = false;
	m->n = 0; /* entries past n are never read */
	m->tmp_gen = 0;
	m->all_precise = all_precise || !env->bpf_capable;
	m->old_len_id = o->len_reg.type == SCALAR_VALUE ? o->len_reg.id : 0;
	if (o->curframe != c->curframe || !refsafe(o, c, m))
		goto out;
	if (env->pt->raw_memory) {
		/* the length's bounds decide packet accesses: always compared */
		bool all = m->all_precise;
		m->all_precise = true;
		bool ok = regsafe(&o->len_reg, &c->len_reg, m, exact);
		m->all_precise = all;
		if (!ok)
			goto out;
	}
	for (int i = 0; i <= o->curframe; i++) {
		const struct vframe *of = o->frames[i], *cf = c->frames[i];
		if (of->callsite != cf->callsite)
			goto out;
		for (int r = 0; r < BPFVM_NREGS; r++)
			if (!regsafe(&of->regs[r], &cf->regs[r], m, exact))
				goto out;
		if (!stacksafe(env, of, cf, m, exact))
			goto out;
	}
	eq = true;
out:
	return eq;
}

/* Could cur be a later iteration of a loop that old heads? (cheap test) */
static bool maybe_looping(const struct vstate *o, const struct vstate *c)
{
	if (o->curframe != c->curframe)
		return false;
	const struct vframe *of = o->frames[o->curframe], *cf = c->frames[c->curframe];
	for (int r = 0; r < BPFVM_NREGS; r++)
		if (!same_value(&of->regs[r], &cf->regs[r]) || of->regs[r].id != cf->regs[r].id)
			return false;
	return true;
}

static void drop_dead_regs(struct venv *env, struct vstate *st);

int vstate_visited(struct venv *env, int insn_idx)
{
	struct vstate *cur = env->cur;
	bool add_new = env->jmps_processed - env->prev_jmps_processed >= 2 &&
		       env->insn_processed - env->prev_insn_processed >= 8;
	uint32_t states_cnt = 0;
	struct vstate_list **pp = &env->explored[insn_idx];
	drop_dead_regs(env, cur);
	while (*pp) {
		struct vstate_list *sl = *pp;
		states_cnt++;
		if (sl->state->branches && env->aux[insn_idx].cb_entry) {
			/* a callback invoked again from a state an invocation in
			 * progress already covers adds nothing (helpers bound the
			 * number of invocations, so this is no infinite loop) */
			if (states_equal(env, sl->state, cur, false, true)) {
				/* the covering state is still being explored: its
				 * precision marks are not final, so everything in
				 * cur's past counts */
				vmark_all_precise(cur);
				sl->hit++;
				return 1;
			}
		} else if (sl->state->branches) {
			if (sl->state->cb_unroll == cur->cb_unroll && maybe_looping(sl->state, cur) &&
			    states_equal(env, sl->state, cur, true, true))
				return verr(env, -EINVAL, "infinite loop detected at insn %d\n", insn_idx);
			if (env->jmps_processed - env->prev_jmps_processed < 20 &&
			    env->insn_processed - env->prev_insn_processed < 100)
				add_new = false;
		} else if (states_equal(env, sl->state, cur, false, false)) {
			int err = vpropagate_precision(env, sl->state);
			if (err)
				return err;
			sl->hit++;
			return 1;
		}
		if (add_new)
			sl->miss++;
		if (sl->miss > sl->hit * 3 + 3) {
			/* rarely useful: stop comparing against it (it stays alive
			 * as a parent of other states until the end) */
			*pp = sl->next;
			free(sl);
			env->cur_states--;
			continue;
		}
		pp = &sl->next;
	}
	if (env->max_states_per_insn < states_cnt)
		env->max_states_per_insn = states_cnt;
	if (!env->bpf_capable && states_cnt > 64)
		return 0;
	if (!add_new)
		return 0;
	struct vstate_list *sl = calloc(1, sizeof(*sl));
	/* precision is found again for the new state (by backtracking from
	 * the uses after it), not inherited */
	vclear_precise(cur);
	struct vstate *copy = vstate_clone(cur);
	struct vstate_list *keep = calloc(1, sizeof(*keep));
	if (!sl || !copy || !keep) {
		free(sl);
		free(keep);
		vstate_free(copy);
		return -ENOMEM;
	}
	env->total_states++;
	env->cur_states++;
	if (env->peak_states < env->cur_states)
		env->peak_states = env->cur_states;
	env->prev_jmps_processed = env->jmps_processed;
	env->prev_insn_processed = env->insn_processed;
	copy->insn_idx = insn_idx;
	copy->branches = 1;
	/* the saved state's instructions end before this one; cur's begin here */
	copy->last_insn_idx = env->prev_insn_idx;
	if (copy->hist_end > copy->hist_start && env->hist[copy->hist_end - 1].idx == insn_idx &&
	    (env->hist[copy->hist_end - 1].flags & VH_ARRIVAL))
		copy->hist_end--; /* how cur got here is cur's */
	cur->first_insn_idx = insn_idx;
	cur->hist_start = copy->hist_end;
	cur->parent = copy;
	sl->state = copy;
	sl->next = env->explored[insn_idx];
	env->explored[insn_idx] = sl;
	/* every saved state is also on the list of all states, freed at the end */
	keep->state = copy;
	keep->next = env->explored[env->n];
	env->explored[env->n] = keep;
	return 0;
}

void vfree_explored(struct venv *env)
{
	if (!env->explored)
		return;
	for (int i = 0; i < env->n; i++) {
		struct vstate_list *sl = env->explored[i];
		while (sl) {
			struct vstate_list *next = sl->next;
			free(sl);
			sl = next;
		}
	}
	struct vstate_list *sl = env->explored[env->n];
	while (sl) {
		struct vstate_list *next = sl->next;
		vstate_free(sl->state);
		free(sl);
		sl = next;
	}
	free(env->explored);
	env->explored = NULL;
}

/* Registers not live at a frame's next instruction cannot affect the rest
 * of the path: forget them so that they do not defeat pruning. */
static void drop_dead_regs(struct venv *env, struct vstate *st)
{
	if (!env->live)
		return;
	for (int fi = 0; fi <= st->curframe; fi++) {
		int pc = fi == st->curframe ? st->insn_idx : st->frames[fi + 1]->callsite + 1;
		if (pc < 0 || pc >= env->n)
			continue;
		uint16_t live = env->live[pc];
		struct vframe *f = st->frames[fi];
		for (int r = 0; r < BPFVM_NREGS - 1; r++)
			if (!(live & (1u << r)) && f->regs[r].type != NOT_INIT)
				vreg_mark_not_init(&f->regs[r]);
	}
}
