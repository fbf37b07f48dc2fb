/* The verifier's internal model: abstract register and stack state per
 * path, the environment of one verification, and the entry points its
 * modules give each other. See docs/verifier.md for the design. */
#ifndef BPFVM_VERIFIER_H
#define BPFVM_VERIFIER_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/internal.h"
#include "progtypes/progtypes.h"
#include "verifier/tnum.h"

#define V_MAX_INSNS 1000000        /* BPF_COMPLEXITY_LIMIT_INSNS */
#define V_MAX_INSNS_UNPRIV 4096    /* BPF_MAXINSNS */
#define V_MAX_JMP_SEQ 8192         /* BPF_COMPLEXITY_LIMIT_JMP_SEQ */
#define V_MAX_VAR_OFF (1 << 29)    /* BPF_MAX_VAR_OFF */
#define V_MAX_PACKET_OFF 0xffff
#define V_STACK 512
#define V_SLOTS (V_STACK / 8)
#define V_MAX_SUBPROGS 256
#define V_MAX_REFS 64

/* Register types, in the kernel's terms (enum bpf_reg_type). */
enum vtype {
	NOT_INIT = 0,
	SCALAR_VALUE,
	PTR_TO_CTX,
	CONST_PTR_TO_MAP,
	PTR_TO_MAP_VALUE,
	PTR_TO_MAP_KEY,
	PTR_TO_STACK,
	PTR_TO_PACKET_META,
	PTR_TO_PACKET,
	PTR_TO_PACKET_END,
	PTR_TO_MEM,
	PTR_TO_FUNC,
	V_TYPE_MASK = 0xff,
	PTR_MAYBE_NULL = 0x100,
	MEM_RINGBUF = 0x200,
};
#define base_type(t) ((t) & V_TYPE_MASK)

struct vreg {
	uint16_t type;           /* enum vtype with flags */
	uint8_t frameno;         /* PTR_TO_STACK: the frame it points into */
	uint8_t precise;         /* scalar of a saved state whose value mattered */
	int32_t off;             /* fixed offset of a pointer */
	struct tnum var_off;     /* variable part (scalars: the value) */
	int64_t smin, smax;
	uint64_t umin, umax;
	int32_t s32min, s32max;
	uint32_t u32min, u32max;
	uint32_t id;             /* null checks, packet ranges, linked scalars */
	uint32_t ref_obj_id;     /* acquired object (ringbuf memory) */
	uint32_t range;          /* packet: bytes proven; mem: size */
	uint32_t subprog;        /* PTR_TO_FUNC: target insn */
	const struct bpfvm_map *map;
};

/* A scalar's id with one of these flags is linked to the scalars of the
 * same base id plus a constant, its `off` (the kernel's BPF_ADD_CONST:
 * r1 = r2; r1 += 4 keeps r1 = r2 + 4 across a comparison on either). */
#define V_ADD_CONST64 (1u << 31)
#define V_ADD_CONST32 (1u << 30)
#define V_ADD_CONST (V_ADD_CONST64 | V_ADD_CONST32)
static inline uint32_t vbase_id(uint32_t id)
{
	return id & ~V_ADD_CONST;
}

/* Per-byte stack slot kinds (the kernel's STACK_*). */
enum { STACK_INVALID = 0, STACK_SPILL, STACK_MISC, STACK_ZERO };

struct vslot {
	struct vreg spilled;
	uint8_t type[8];         /* index i = byte at -(8*spi + i + 1)... see stack_byte */
};

struct vframe {
	struct vreg regs[BPFVM_NREGS];
	int callsite;            /* insn of the call that made this frame, -1 for main */
	int frameno;
	int subprog;
	int cb_call;             /* callback frame: the helper call's insn, else -1 */
	struct vreg cb_args[5];  /* callback frame: r1..r5 each invocation gets */
	int nslots;              /* allocated stack in 8-byte slots */
	struct vslot *slots;     /* slots[i] covers bytes -(8i+8) .. -(8i+1) */
};

struct vref {
	uint32_t id;
	int insn;
};

/* Where a path went, for precision backtracking (the kernel's jmp_history):
 * arrivals by a jump (prev is not idx - 1) and the stack slot a load or
 * store used, with the registers a conditional jump refined together. */
enum {
	VH_ARRIVAL = 1u << 0,    /* reached idx from prev by a jump */
	VH_STACK = 1u << 1,      /* idx accessed the slot (frame, spi) below */
	VH_LINKED = 1u << 2,     /* idx refined the linked registers below */
	VH_LINKED_FAR = 1u << 3, /* ... some of them in other frames: give up */
};
struct vhist {
	int idx, prev;
	uint16_t flags;
	uint8_t frame, spi;
	uint16_t linked_regs;    /* current frame */
	uint64_t linked_slots;   /* current frame, spilled */
};

struct vstate {
	struct vframe *frames[BPFVM_MAX_FRAMES];
	int curframe;
	struct vreg len_reg;     /* raw programs: the memory length r2 started as */
	struct vref refs[V_MAX_REFS];
	int nrefs;
	/* Callback invocations re-entered on this path (the kernel's
	 * callback_unroll_depth): the same state in a later invocation is
	 * the helper calling again, not an infinite loop. */
	uint32_t cb_unroll;
	/* Exploration bookkeeping (as the kernel's parent/branches). */
	struct vstate *parent;
	uint32_t branches;
	int insn_idx;
	uint64_t hash;           /* of the registers, for quick loop checks */
	/* The instructions since the last saved state: first..last (the
	 * last only known once saved), and the history to walk them back:
	 * env->hist[hist_start..hist_end). The array is shared: a state
	 * appends at its end, over entries of paths already finished (the
	 * pending states' ends never decrease down the stack, as the kernel's
	 * insn_hist). */
	int first_insn_idx, last_insn_idx;
	uint32_t hist_start, hist_end;
};

/* A state saved at a prune point. */
struct vstate_list {
	struct vstate *state;
	struct vstate_list *next;
	uint32_t miss, hit;
};

/* A pending branch of the exploration. */
struct vstack_elem {
	struct vstate *state;
	int insn_idx, prev_insn_idx;
	size_t log_pos;
	struct vstack_elem *next;
};

struct vsubprog {
	int start;
	int stack_depth;         /* bytes, max over paths */
	int has_call;
};

struct vinsn_aux {
	uint8_t prune_point;
	uint8_t seen;
	uint8_t jmp_target;
	uint8_t ld_second;       /* second slot of an LD_IMM64 */
	uint8_t cb_entry;        /* first insn of a callback */
	uint8_t bt_kind;         /* precision.c: what backtracking does here (0: not known yet) */
};

struct venv {
	struct bpfvm_prog *prog;
	const struct bpfvm_insn *insns;
	int n;
	const struct bpfvm_progtype *pt;
	int unpriv;
	/* privileges, as the kernel derives them from capabilities */
	bool allow_ptr_leaks, allow_uninit_stack, bpf_capable;
	struct vinsn_aux *aux;
	uint16_t *live;          /* registers live before each insn */
	struct vsubprog subprogs[V_MAX_SUBPROGS + 1];
	int nsubprogs;
	struct vstate *cur;
	struct vstack_elem *stack_head;
	int stack_size;
	struct vstate_list **explored; /* per insn */
	uint32_t id_gen;
	int insn_idx, prev_insn_idx;
	/* statistics, as the kernel's closing log line */
	uint64_t insn_processed, prev_insn_processed;
	uint64_t jmps_processed, prev_jmps_processed;
	uint32_t total_states, peak_states, cur_states, max_states_per_insn;
	/* log */
	char *log_buf;
	size_t log_size, log_len;
	unsigned log_level;
	size_t prev_log_pos, prev_insn_print_pos;
	char *err;
	size_t errlen;
	char msg[512];           /* the error message (the kernel's last log line) */
	int err_insn;            /* where it happened */
	struct vhist pending;    /* what the current insn adds to the history */
	struct vhist *hist;      /* the shared history (see struct vstate) */
	uint32_t hist_cap;
	/* vfamily_row per opcode byte, found once (the table scan is slow) */
	const struct bpfvm_opinfo *family[256];
	uint8_t family_known[256];
	uint32_t scratched_regs; /* registers an insn touched: printed after it */
	uint64_t scratched_slots;
	int print_state;         /* the state changed: print it after the insn */
};

/* ---- log.c ---- */
void vlog(struct venv *env, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* An error: logs the line and keeps it as the message; returns err. */
int verr(struct venv *env, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void vlog_insn(struct venv *env, int idx);
void vlog_state(struct venv *env, const struct vstate *st, bool all);
void vlog_reset(struct venv *env, size_t pos);
const char *vtype_str(uint16_t type);
void vreg_str(const struct vreg *r, char *buf, size_t len);

/* ---- bounds.c: scalar values ---- */
void vreg_mark_unknown(struct vreg *r);
void vreg_mark_known(struct vreg *r, uint64_t v);
void vreg_mark_not_init(struct vreg *r);
void vreg_mark_unbounded(struct vreg *r);
/* Significant bits of a scalar's largest value (fls64 of umax). */
static inline int vreg_width(const struct vreg *r)
{
	return r->umax ? 64 - __builtin_clzll(r->umax) : 0;
}
/* A scalar no longer equal to its links (id and constant delta cleared). */
void vscalar_clear_id(struct vreg *r);
void vreg_bounds_sync(struct vreg *r);
void vreg_zext32(struct vreg *r);
void vreg_coerce(struct vreg *r, int size);
void vreg_coerce_sx(struct vreg *r, int size);
bool vreg_is_const(const struct vreg *r, bool is32);
uint64_t vreg_const(const struct vreg *r, bool is32);
/* dst = dst op src for scalars; op is an enum bpfvm_alu_op. */
void vscalar_alu(struct vreg *dst, const struct vreg *src, int op, bool is32);
bool vscalar_op_safe(const struct vreg *src, int op, bool is32);
/* -1 unknown, 0 never, 1 always */
int vbranch_taken(const struct vreg *a, const struct vreg *b, int op, bool is32);
/* Narrow a and b to the branch where `a op b` holds. */
void vrefine_cond(struct vreg *a, struct vreg *b, int op, bool is32);
int vrev_op(int op);   /* the op of the other branch, with JSET reversal marked */
#define V_JSET_FALSE 100

/* ---- state.c: states, pruning ---- */
struct vstate *vstate_new(void);
struct vstate *vstate_clone(const struct vstate *src);
void vstate_free(struct vstate *st);
struct vframe *vframe_new(int frameno, int callsite, int subprog);
int vpush(struct venv *env, int insn_idx, int prev_idx, struct vstate **out);
int vpop(struct venv *env, int *insn_idx, int *prev_idx);
/* 1: pruned (safe); 0: continue; <0 error */
int vstate_visited(struct venv *env, int insn_idx);
void vupdate_branch_counts(struct venv *env, struct vstate *st);
void vfree_explored(struct venv *env);
/* ---- precision.c: which scalars of saved states must be compared ---- */
int vhist_push(struct venv *env, struct vstate *st, const struct vhist *h);
/* The value of register regno (current frame) matters to the current
 * instruction: mark where it came from precise in the saved states. */
int vmark_precise(struct venv *env, int regno);
int vmark_slot_precise(struct venv *env, int frame, int spi);
/* An old state covered cur: what old needed precise, cur's past needs too. */
int vpropagate_precision(struct venv *env, const struct vstate *old);
void vmark_all_precise(struct vstate *st);
void vclear_precise(struct vstate *st);
/* Record, for the insn being checked, a fixed-offset stack access. */
void vnote_stack_access(struct venv *env, int frame, int spi);
/* ... and the registers a conditional jump on a and b refines together
 * (recorded at once, before the jump's other branch is pushed). */
int vnote_linked(struct venv *env, const struct vreg *a, const struct vreg *b);
/* Call fn for every register and spilled register in all frames. */
#define V_FOR_EACH_REG(st, r, body)                                                   \
	do {                                                                          \
		for (int fi_ = 0; fi_ <= (st)->curframe; fi_++) {                     \
			struct vframe *f_ = (st)->frames[fi_];                        \
			for (int ri_ = 0; ri_ < BPFVM_NREGS; ri_++) {                 \
				struct vreg *r = &f_->regs[ri_];                      \
				body;                                                 \
			}                                                             \
			for (int si_ = 0; si_ < f_->nslots; si_++) {                  \
				if (f_->slots[si_].type[7] != STACK_SPILL)            \
					continue;                                     \
				struct vreg *r = &f_->slots[si_].spilled;             \
				body;                                                 \
			}                                                             \
		}                                                                     \
	} while (0)

/* ---- cfg.c: structure ---- */
const struct bpfvm_opinfo *vfamily_row(uint8_t code);
const struct bpfvm_opinfo *vfamily_row_cached(struct venv *env, uint8_t code);
int vcheck_structure(struct venv *env);

/* ---- mem.c: memory accesses ---- */
int vcheck_mem_access(struct venv *env, int regno, int off, int size, bool write, int value_regno,
		      bool strict_atomic, bool sign_ext);
int vcheck_helper_mem(struct venv *env, int regno, int size, bool write, bool zero_ok);
int vcheck_ptr_off(struct venv *env, const struct vreg *r, int regno, bool fixed_off_ok);
int vstack_grow(struct venv *env, struct vframe *f, int bytes);

/* ---- calls.c ---- */
int vcheck_helper_call(struct venv *env, const struct bpfvm_insn *insn, int insn_idx);
int vcheck_func_call(struct venv *env, const struct bpfvm_insn *insn, int *insn_idx);
int vprepare_func_exit(struct venv *env, int *insn_idx);
int vcallback_exit(struct venv *env, int *insn_idx);
int vfind_subprog(struct venv *env, int start);

/* ---- verify.c ---- */
static inline struct vframe *vcur_frame(struct venv *env)
{
	return env->cur->frames[env->cur->curframe];
}
static inline struct vreg *vcur_regs(struct venv *env)
{
	return vcur_frame(env)->regs;
}
enum { SRC_OP, DST_OP, DST_OP_NO_MARK };
int vcheck_reg_arg(struct venv *env, int regno, int t);
bool vis_pointer_value(struct venv *env, int regno);
bool vreg_is_pointer(const struct vreg *r);
void vmark_reg_invalid(struct venv *env, struct vreg *r);
/* rX = rY of a scalar: give rY an id (dropping a constant delta) so that
 * the copy stays linked (the kernel's assign_scalar_id_before_mov). */
void vassign_scalar_id(struct venv *env, struct vreg *src);
void vclear_pkt_pointers(struct venv *env);

#endif
