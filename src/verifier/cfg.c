/* Structural checks before the path-by-path analysis, in the kernel's order:
 * opcodes and LD_IMM64 pairs (resolve_pseudo_ldimm64), subprograms and
 * jump ranges (check_subprogs), reachability (check_cfg). Also the static
 * register liveness that pruning uses. */
#include <stdlib.h>
#include <string.h>

#include "verifier/verifier.h"

/* The first table row with this opcode byte: the family of an instruction
 * whose other fields match no row (the kernel decides by opcode alone). */
const struct bpfvm_opinfo *vfamily_row(uint8_t code)
{
	const struct bpfvm_opinfo *t = bpfvm_isa_table();
	for (size_t i = 0; i < bpfvm_isa_table_size(); i++)
		if (t[i].code == code)
			return &t[i];
	return NULL;
}

const struct bpfvm_opinfo *vfamily_row_cached(struct venv *env, uint8_t code)
{
	if (!env->family_known[code]) {
		env->family[code] = vfamily_row(code);
		env->family_known[code] = 1;
	}
	return env->family[code];
}

static bool code_known(struct venv *env, uint8_t code)
{
	return vfamily_row_cached(env, code) != NULL;
}

static bool is_class(uint8_t code, enum bpfvm_class c)
{
	return (code & 0x07) == c;
}

static bool is_lddw(const struct bpfvm_insn *in)
{
	return in->code == 0x18; /* BPF_LD | BPF_IMM | BPF_DW, the only wide row */
}

static bool is_local_call(const struct bpfvm_insn *in)
{
	const struct bpfvm_opinfo *oi = bpfvm_isa_lookup(in);
	return oi && oi->kind == BPFVM_KIND_CALL && oi->op == BPFVM_CALL_LOCAL;
}

static bool is_func_lddw(const struct bpfvm_insn *in)
{
	return is_lddw(in) && in->src == BPFVM_LDDW_FUNC;
}

/* resolve_pseudo_ldimm64's checks. */
static int check_opcodes(struct venv *env)
{
	for (int i = 0; i < env->n; i++) {
		const struct bpfvm_insn *in = &env->insns[i];
		env->insn_idx = i;
		if (is_class(in->code, BPFVM_CLASS_LDX)) {
			const struct bpfvm_opinfo *oi = bpfvm_isa_lookup(in);
			bool mem = oi && (oi->kind == BPFVM_KIND_LDX || oi->kind == BPFVM_KIND_LDXSX);
			if (!mem || in->imm != 0)
				return verr(env, -EINVAL, "BPF_LDX uses reserved fields\n");
		}
		if (is_lddw(in)) {
			if (i == env->n - 1 || in[1].code || in[1].dst || in[1].src || in[1].off)
				return verr(env, -EINVAL, "invalid bpf_ld_imm64 insn\n");
			switch (in->src) {
			case BPFVM_LDDW_IMM:
			case BPFVM_LDDW_FUNC:
				break;
			case BPFVM_LDDW_MAP_FD:
			case BPFVM_LDDW_MAP_IDX:
			case BPFVM_LDDW_MAP_VALUE:
			case BPFVM_LDDW_MAP_IDX_VALUE:
				if ((in->src == BPFVM_LDDW_MAP_FD || in->src == BPFVM_LDDW_MAP_IDX) && in[1].imm)
					return verr(env, -EINVAL, "unrecognized bpf_ld_imm64 insn\n");
				if ((uint32_t)in->imm >= env->prog->nmaps || !env->prog->maps[in->imm])
					return verr(env, -EBADF, "fd %d is not pointing to valid bpf_map\n", in->imm);
				if (in->src == BPFVM_LDDW_MAP_VALUE || in->src == BPFVM_LDDW_MAP_IDX_VALUE) {
					const struct bpfvm_map_def *d = bpfvm_map_def(env->prog->maps[in->imm]);
					uint32_t off = (uint32_t)in[1].imm;
					if (off >= V_MAX_VAR_OFF)
						return verr(env, -EINVAL, "direct value offset of %u is not allowed\n", off);
					if (d->type != BPFVM_MAP_ARRAY || d->max_entries != 1)
						return verr(env, -EINVAL, "no direct value access support for this map type\n");
					if (off >= d->value_size)
						return verr(env, -EINVAL,
							    "invalid access to map value pointer, value_size=%u off=%u\n",
							    d->value_size, off);
				}
				break;
			default:
				return verr(env, -EINVAL, "unrecognized bpf_ld_imm64 insn\n");
			}
			env->aux[i + 1].ld_second = 1;
			i++;
			continue;
		}
		if (!code_known(env, in->code))
			return verr(env, -EINVAL, "unknown opcode %02x\n", in->code);
	}
	return 0;
}

static int add_subprog(struct venv *env, int off)
{
	if (off >= env->n || off < 0)
		return verr(env, -EINVAL, "call to invalid destination\n");
	for (int i = 0; i < env->nsubprogs; i++)
		if (env->subprogs[i].start == off)
			return 0;
	if (env->nsubprogs >= V_MAX_SUBPROGS)
		return verr(env, -E2BIG, "too many subprograms\n");
	/* keep sorted by start */
	int i = env->nsubprogs++;
	while (i > 0 && env->subprogs[i - 1].start > off) {
		env->subprogs[i] = env->subprogs[i - 1];
		i--;
	}
	memset(&env->subprogs[i], 0, sizeof(env->subprogs[i]));
	env->subprogs[i].start = off;
	return 0;
}

int vfind_subprog(struct venv *env, int start)
{
	for (int i = 0; i < env->nsubprogs; i++)
		if (env->subprogs[i].start == start)
			return i;
	return -1;
}

static int find_subprogs(struct venv *env)
{
	int rc;
	env->nsubprogs = 0;
	if ((rc = add_subprog(env, 0)))
		return rc;
	for (int i = 0; i < env->n; i++) {
		const struct bpfvm_insn *in = &env->insns[i];
		env->insn_idx = i;
		if (env->aux[i].ld_second)
			continue;
		if (is_local_call(in) || is_func_lddw(in)) {
			if (!env->bpf_capable)
				return verr(env, -EPERM, "loading/calling other bpf or kernel functions are allowed for CAP_BPF and CAP_SYS_ADMIN\n");
			if ((rc = add_subprog(env, i + in->imm + 1)))
				return rc;
		}
		const struct bpfvm_opinfo *oi = bpfvm_isa_lookup(in);
		if (oi && oi->kind == BPFVM_KIND_CALL && oi->op == BPFVM_CALL_KFUNC)
			return verr(env, -EINVAL, "kernel function calls are not supported by bpfvm\n");
	}
	env->subprogs[env->nsubprogs].start = env->n; /* sentinel */
	return 0;
}

/* check_subprogs: jumps stay in their subprogram, which ends in exit or jmp. */
static int check_subprog_ranges(struct venv *env)
{
	int cur = 0;
	int start = env->subprogs[0].start, end = env->subprogs[1].start;
	for (int i = 0; i < env->n; i++) {
		const struct bpfvm_insn *in = &env->insns[i];
		uint8_t code = in->code;
		env->insn_idx = i;
		bool jmp = is_class(code, BPFVM_CLASS_JMP) || is_class(code, BPFVM_CLASS_JMP32);
		uint8_t op = code & 0xf0;
		if (jmp && op != 0x90 /* EXIT */ && op != 0x80 /* CALL */) {
			int off = code == 0x06 ? i + in->imm + 1 : i + in->off + 1;
			if (off < start || off >= end)
				return verr(env, -EINVAL, "jump out of range from insn %d to %d\n", i, off);
		}
		if (i == end - 1) {
			if (code != 0x95 && code != 0x06 && code != 0x05)
				return verr(env, -EINVAL, "last insn is not an exit or jmp\n");
			start = end;
			cur++;
			if (cur < env->nsubprogs)
				end = env->subprogs[cur + 1].start;
		}
	}
	return 0;
}

/* Successors of insn i (at most 2) in the control-flow graph; a local call
 * has its callee as a second successor. */
static int successors(struct venv *env, int i, int succ[2], bool *call_edge)
{
	const struct bpfvm_insn *in = &env->insns[i];
	const struct bpfvm_opinfo *oi = bpfvm_isa_lookup(in);
	int n = 0;
	*call_edge = false;
	if (!oi)
		oi = vfamily_row_cached(env, in->code);
	if (!oi)
		return 0;
	switch (oi->kind) {
	case BPFVM_KIND_EXIT:
		return 0;
	case BPFVM_KIND_JA:
		succ[n++] = (int)bpfvm_isa_jump_target(oi, in, (size_t)i);
		return n;
	case BPFVM_KIND_JCOND:
		succ[n++] = i + 1;
		succ[n++] = (int)bpfvm_isa_jump_target(oi, in, (size_t)i);
		return n;
	case BPFVM_KIND_CALL:
		succ[n++] = i + 1;
		if (oi->op == BPFVM_CALL_LOCAL) {
			succ[n++] = i + in->imm + 1;
			*call_edge = true;
		}
		return n;
	case BPFVM_KIND_LDDW:
		succ[n++] = i + 2;
		if (oi->op == BPFVM_LDDW_FUNC) {
			succ[n++] = i + in->imm + 1;
			*call_edge = true;
		}
		return n;
	default:
		succ[n++] = i + 1;
		return n;
	}
}

enum { UNSEEN = 0, DISCOVERED = 1, EXPLORED = 2 };

/* check_cfg: depth-first walk; unreachable code and (unprivileged) loops
 * are rejected; prune points are marked as the kernel marks them. */
static int check_cfg(struct venv *env)
{
	int n = env->n, rc = 0;
	uint8_t *state = calloc((size_t)n, 1);
	int *stack = malloc((size_t)n * sizeof(int));
	int *next_edge = calloc((size_t)n, sizeof(int));
	if (!state || !stack || !next_edge) {
		rc = -ENOMEM;
		goto out;
	}
	int sp = 0;
	stack[sp++] = 0;
	state[0] = DISCOVERED;
	while (sp) {
		int t = stack[sp - 1];
		int succ[2];
		bool call_edge;
		int ns = successors(env, t, succ, &call_edge);
		const struct bpfvm_opinfo *oi = bpfvm_isa_lookup(&env->insns[t]);
		if (!oi)
			oi = vfamily_row_cached(env, env->insns[t].code);
		if (oi && oi->kind == BPFVM_KIND_JCOND)
			env->aux[t].prune_point = 1;
		if (oi && oi->kind == BPFVM_KIND_CALL) {
			if (t + 1 < n)
				env->aux[t + 1].prune_point = 1;
			if (oi->op == BPFVM_CALL_LOCAL)
				env->aux[t].prune_point = 1;
		}
		if (next_edge[t] < ns) {
			int e = next_edge[t]++;
			int w = succ[e];
			bool branch = (e == 1) || (oi && oi->kind == BPFVM_KIND_JA);
			env->insn_idx = t;
			if (w < 0 || w >= n) {
				rc = verr(env, -EINVAL, "jump out of range from insn %d to %d\n", t, w);
				goto out;
			}
			if (branch) {
				env->aux[w].prune_point = 1;
				env->aux[w].jmp_target = 1;
			}
			if (state[w] == UNSEEN) {
				state[w] = DISCOVERED;
				stack[sp++] = w;
			} else if (state[w] == DISCOVERED && !call_edge && !env->bpf_capable) {
				rc = verr(env, -EINVAL, "back-edge from insn %d to %d\n", t, w);
				goto out;
			}
			continue;
		}
		state[t] = EXPLORED;
		sp--;
	}
	for (int i = 0; i < n; i++) {
		env->insn_idx = i;
		if (state[i] != EXPLORED) {
			rc = verr(env, -EINVAL, "unreachable insn %d\n", i);
			goto out;
		}
		if (is_lddw(&env->insns[i])) {
			if (i + 1 < n && state[i + 1] != UNSEEN) {
				rc = verr(env, -EINVAL, "jump into the middle of ldimm64 insn %d\n", i);
				goto out;
			}
			i++;
		}
	}
out:
	free(state);
	free(stack);
	free(next_edge);
	return rc;
}

/* Registers an instruction reads and writes, for liveness. */
static void uses_defs(struct venv *env, int i, uint16_t *use, uint16_t *def)
{
	const struct bpfvm_insn *in = &env->insns[i];
	const struct bpfvm_opinfo *oi = bpfvm_isa_lookup(in);
	uint16_t d = (uint16_t)(1u << in->dst), s = (uint16_t)(1u << in->src);
	*use = *def = 0;
	if (!oi) {
		*use = 0x7ff; /* unknown: assume everything is read */
		return;
	}
	switch (oi->kind) {
	case BPFVM_KIND_ALU:
		*use = (oi->op == BPFVM_ALU_MOV || oi->op == BPFVM_ALU_MOVSX) ? 0 : d;
		if (oi->flags & BPFVM_F_REG_SRC)
			*use |= s;
		*def = d;
		break;
	case BPFVM_KIND_END:
		*use = *def = d;
		break;
	case BPFVM_KIND_JCOND:
		*use = d | ((oi->flags & BPFVM_F_REG_SRC) ? s : 0);
		break;
	case BPFVM_KIND_CALL:
	case BPFVM_KIND_CALLX: {
		/* a helper reads the arguments its prototype names */
		const struct bpfvm_helper *h = oi->op == BPFVM_CALL_HELPER && oi->kind == BPFVM_KIND_CALL
						       ? bpfvm_vm_helper(env->prog->vm, (uint32_t)in->imm)
						       : NULL;
		*use = 0x3e | (oi->kind == BPFVM_KIND_CALLX ? d : 0);
		if (h) {
			*use = 0;
			for (int a = 0; a < 5; a++)
				if (h->args[a] != BPFVM_ARG_DONTCARE)
					*use |= (uint16_t)(1u << (a + 1));
		}
		*def = 0x3f;
		break;
	}
	case BPFVM_KIND_EXIT:
		*use = 1;
		break;
	case BPFVM_KIND_JA: /* reads nothing (was taken for an unknown insn reading all) */
		break;
	case BPFVM_KIND_LDDW:
		*def = d;
		break;
	case BPFVM_KIND_LDABS:
	case BPFVM_KIND_LDIND:
		*use = (1u << 6) | (oi->kind == BPFVM_KIND_LDIND ? s : 0);
		*def = 0x3f;
		break;
	case BPFVM_KIND_LDX:
	case BPFVM_KIND_LDXSX:
		*use = s;
		*def = d;
		break;
	case BPFVM_KIND_ST:
		*use = d;
		break;
	case BPFVM_KIND_STX:
		*use = d | s;
		break;
	case BPFVM_KIND_ATOMIC:
		*use = d | s;
		if (oi->op == BPFVM_ATOMIC_CMPXCHG) {
			*use |= 1;
			*def = 1;
		} else if (oi->op >= BPFVM_ATOMIC_FETCH_ADD) {
			*def = s;
		}
		break;
	default:
		*use = 0x7ff;
		break;
	}
}

/* Backward may-live analysis to a fixed point. */
static int compute_liveness(struct venv *env)
{
	int n = env->n;
	env->live = calloc((size_t)n + 1, sizeof(*env->live));
	uint16_t *use = malloc((size_t)n * sizeof(*use)), *def = malloc((size_t)n * sizeof(*def));
	if (!env->live || !use || !def) {
		free(use);
		free(def);
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++)
		uses_defs(env, i, &use[i], &def[i]);
	bool changed = true;
	while (changed) {
		changed = false;
		for (int i = n - 1; i >= 0; i--) {
			if (env->aux[i].ld_second)
				continue;
			int succ[2];
			bool call_edge;
			int ns = successors(env, i, succ, &call_edge);
			uint16_t out = 0;
			for (int k = 0; k < ns; k++) {
				if (call_edge && k == 1)
					continue; /* the callee's registers are its own */
				if (succ[k] >= 0 && succ[k] < n)
					out |= env->live[succ[k]];
			}
			uint16_t in = (uint16_t)(use[i] | (out & ~def[i]));
			if (in != env->live[i]) {
				env->live[i] = in;
				changed = true;
			}
		}
	}
	free(use);
	free(def);
	return 0;
}

/* Level 2 lists the registers live before each instruction, as 6.18. */
static void log_liveness(struct venv *env)
{
	if (env->log_level < 2)
		return;
	vlog(env, "Live regs before insn:\n");
	for (int i = 0; i < env->n; i++) {
		if (env->aux[i].ld_second)
			continue;
		char regs[11];
		for (int r = 0; r < 10; r++)
			regs[r] = (env->live[i] & (1u << r)) ? (char)('0' + r) : '.';
		regs[10] = 0;
		size_t mark = env->log_len;
		vlog_insn(env, i);
		/* vlog_insn wrote "N: text\n": rewrite it as "%7d: regs text" */
		if (env->log_buf && env->log_len > mark) {
			char line[200];
			snprintf(line, sizeof(line), "%s", env->log_buf + mark);
			vlog_reset(env, mark);
			char *text = strchr(line, ' ');
			vlog(env, "%7d: %s %s", i, regs, text ? text + 1 : line);
		}
	}
	env->prev_log_pos = 0;
}

int vcheck_structure(struct venv *env)
{
	int rc = check_opcodes(env);
	if (!rc)
		rc = find_subprogs(env);
	if (!rc)
		rc = check_subprog_ranges(env);
	if (!rc)
		rc = check_cfg(env);
	if (!rc)
		rc = compute_liveness(env);
	if (!rc)
		log_liveness(env);
	return rc;
}
