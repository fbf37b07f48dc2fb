/* Programs: load (validate, resolve, verify, prepare engines) and run. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

static int jit_available(void)
{
	return bpfvm__jit_supported();
}

/* The kernel's license_is_gpl_compatible(): the licenses under which a
 * program may call GPL-only helpers. */
static int license_is_gpl_compatible(const char *license)
{
	static const char *const gpl[] = {"GPL", "GPL v2", "GPL and additional rights",
					  "Dual BSD/GPL", "Dual MIT/GPL", "Dual MPL/GPL"};
	if (!license)
		return 1;
	for (size_t i = 0; i < sizeof(gpl) / sizeof(gpl[0]); i++)
		if (strcmp(license, gpl[i]) == 0)
			return 1;
	return 0;
}

/* Remember the value of map as a region checked runs may access (only
 * element 0 of an array is directly addressable). */
static int note_map_value(struct bpfvm_prog *prog, struct bpfvm_map *map)
{
	uint64_t base;
	if (bpfvm__map_direct_value_addr(map, 0, &base))
		return 0;
	for (int i = 0; i < prog->nmap_values; i++)
		if ((uint64_t)(uintptr_t)prog->map_values[i].addr == base)
			return 0;
	struct bpfvm_region *r = realloc(prog->map_values, (size_t)(prog->nmap_values + 1) * sizeof(*r));
	if (!r)
		return -ENOMEM;
	prog->map_values = r;
	r[prog->nmap_values++] = (struct bpfvm_region){(void *)(uintptr_t)base,
						       bpfvm_map_def(map)->value_size, 1};
	return 0;
}

void bpfvm__allow_map_values(struct bpfvm_call_ctx *cc, const struct bpfvm_prog *prog)
{
	for (int i = 0; i < prog->nmap_values; i++)
		bpfvm_call_allow_region(cc, prog->map_values[i].addr, prog->map_values[i].size,
					prog->map_values[i].writable);
}

/* Resolve the helper of every CALL_HELPER and the run-time value of every
 * LD_IMM64, once, so that the engines only read tables. */
static int resolve_slots(struct bpfvm_prog *prog, char *err, size_t errlen)
{
	for (size_t pc = 0; pc < prog->n; pc++) {
		struct bpfvm_decoded d;
		int rc = bpfvm_isa_decode(prog->insns, prog->n, pc, &d, err, errlen);
		if (rc)
			return rc;
		if (d.opid == BPFVM_OP_CALL_HELPER) {
			prog->call_helper[pc] = bpfvm_vm_helper(prog->vm, (uint32_t)d.imm);
		} else if (d.info->kind == BPFVM_KIND_LDDW) {
			rc = 0;
			switch (d.info->op) {
			case BPFVM_LDDW_IMM:
				prog->lddw_value[pc] = d.imm64;
				break;
			case BPFVM_LDDW_MAP_FD:
			case BPFVM_LDDW_MAP_IDX:
				if ((uint32_t)d.imm >= prog->nmaps) {
					snprintf(err, errlen, "insn %zu: map %u does not exist (%zu maps declared)",
						 pc, (uint32_t)d.imm, prog->nmaps);
					return -EINVAL;
				}
				prog->lddw_value[pc] = (uint64_t)(uintptr_t)prog->maps[(uint32_t)d.imm];
				break;
			case BPFVM_LDDW_MAP_VALUE:
			case BPFVM_LDDW_MAP_IDX_VALUE:
				if ((uint32_t)d.imm >= prog->nmaps) {
					snprintf(err, errlen, "insn %zu: map %u does not exist (%zu maps declared)",
						 pc, (uint32_t)d.imm, prog->nmaps);
					return -EINVAL;
				}
				if (bpfvm__map_direct_value_addr(prog->maps[(uint32_t)d.imm],
								 (uint32_t)d.imm2, &prog->lddw_value[pc])) {
					snprintf(err, errlen, "insn %zu: map %u has no direct value access at offset %d",
						 pc, (uint32_t)d.imm, d.imm2);
					return -EINVAL;
				}
				if (note_map_value(prog, prog->maps[(uint32_t)d.imm])) {
					snprintf(err, errlen, "out of memory");
					return -ENOMEM;
				}
				break;
			case BPFVM_LDDW_FUNC:
				prog->lddw_value[pc] = (uint64_t)bpfvm_isa_jump_target(d.info, &prog->insns[pc], pc);
				break;
			default:
				snprintf(err, errlen, "insn %zu: %s is not supported by bpfvm", pc, d.info->id);
				return -EINVAL;
			}
		}
		pc += (size_t)d.slots - 1;
	}
	return 0;
}

/* Only ARRAY and PERCPU_ARRAY maps: their values live as long as the map
 * (which the program references) and none of them leads to other maps or
 * programs, so a run of the program needs no read-side section. */
static int maps_are_plain_arrays(const struct bpfvm_prog *prog)
{
	for (size_t i = 0; i < prog->nmaps; i++) {
		if (!prog->maps[i])
			return 0;
		enum bpfvm_map_type t = bpfvm_map_def(prog->maps[i])->type;
		if (t != BPFVM_MAP_ARRAY && t != BPFVM_MAP_PERCPU_ARRAY)
			return 0;
	}
	return 1;
}

static int prepare_engines(struct bpfvm_prog *prog, enum bpfvm_engine engine, char *err,
			   size_t errlen)
{
	int rc;
	if (engine != BPFVM_ENGINE_JIT) {
		rc = bpfvm__interp_prepare(prog, err, errlen);
		if (rc)
			return rc;
	}
	if (engine == BPFVM_ENGINE_JIT || (engine == BPFVM_ENGINE_DEFAULT && jit_available())) {
		if (!jit_available()) {
			snprintf(err, errlen, "the JIT is not available on this machine");
			return -ENOTSUP;
		}
		rc = bpfvm__jit_prepare(prog, err, errlen);
		if (rc)
			return rc;
	}
	return 0;
}

int bpfvm_prog_load(struct bpfvm_vm *vm, const struct bpfvm_insn *insns, size_t n,
		    const struct bpfvm_prog_opts *opts, struct bpfvm_prog **out)
{
	static const struct bpfvm_prog_opts no_opts;
	char err[512] = "";
	int rc;
	if (!opts)
		opts = &no_opts;
	*out = NULL;
	if (!insns || n == 0)
		return bpfvm__vm_error(vm, -EINVAL, "empty program");
	struct bpfvm_prog *prog = calloc(1, sizeof(*prog));
	if (!prog)
		return bpfvm__vm_error(vm, -ENOMEM, "out of memory");
	prog->vm = vm;
	snprintf(prog->name, sizeof(prog->name), "%s", opts->name ? opts->name : "prog");
	prog->type = opts->type;
	prog->safety = opts->safety;
	prog->unpriv = opts->unpriv;
	prog->gpl_compatible = license_is_gpl_compatible(opts->license);
	prog->jit_blind = opts->jit_blind;
	prog->line_info = opts->line_info;
	prog->n = n;
	prog->insns = malloc(n * sizeof(*insns));
	prog->call_helper = calloc(n, sizeof(*prog->call_helper));
	prog->lddw_value = calloc(n, sizeof(*prog->lddw_value));
	prog->maps = calloc(opts->nmaps ? opts->nmaps : 1, sizeof(*prog->maps));
	if (!prog->insns || !prog->call_helper || !prog->lddw_value || !prog->maps) {
		rc = bpfvm__vm_error(vm, -ENOMEM, "out of memory");
		goto fail;
	}
	memcpy(prog->insns, insns, n * sizeof(*insns));
	for (size_t i = 0; i < opts->nmaps; i++) {
		prog->maps[i] = opts->maps[i];
		bpfvm__map_get(prog->maps[i]);
	}
	prog->nmaps = opts->nmaps;
	prog->runs_without_rcu = maps_are_plain_arrays(prog);
	prog->stack_depth = BPFVM_STACK_DEPTH_UNKNOWN; /* until the verifier measures it */

	if (prog->safety == BPFVM_SAFETY_VERIFIED) {
		rc = bpfvm__verify(prog, opts->log_buf, opts->log_size, opts->log_level, err, sizeof(err));
		if (rc)
			goto fail_msg;
	} else {
		rc = bpfvm_isa_validate(insns, n, err, sizeof(err));
		if (rc)
			goto fail_msg;
	}
	rc = resolve_slots(prog, err, sizeof(err));
	if (rc)
		goto fail_msg;
	rc = prepare_engines(prog, opts->engine, err, sizeof(err));
	if (rc)
		goto fail_msg;
	rc = bpfvm__vm_add_prog(vm, prog);
	if (rc) {
		snprintf(err, sizeof(err), "out of memory");
		goto fail_msg;
	}
	vm->last_error[0] = 0;
	*out = prog;
	return 0;

fail_msg:
	bpfvm__vm_error(vm, rc, "%s", err);
fail:
	prog->id = 0;
	bpfvm_prog_destroy(prog);
	return rc;
}

void bpfvm_prog_destroy(struct bpfvm_prog *prog)
{
	if (!prog)
		return;
	if (prog->id) {
		bpfvm__vm_remove_prog(prog->vm, prog->id);
		bpfvm__prog_arrays_forget(prog->vm, prog);
	}
	if (prog->jit)
		bpfvm__jit_release(prog);
	if (prog->interp)
		bpfvm__interp_release(prog);
	for (size_t i = 0; i < prog->nmaps; i++)
		if (prog->maps[i])
			bpfvm__map_put(prog->maps[i]);
	free(prog->maps);
	free(prog->insns);
	free(prog->call_helper);
	free(prog->lddw_value);
	free(prog->map_values);
	free(prog);
}

uint32_t bpfvm_prog_id(const struct bpfvm_prog *prog)
{
	return prog->id;
}

const struct bpfvm_insn *bpfvm_prog_insns(const struct bpfvm_prog *prog, size_t *n)
{
	if (n)
		*n = prog->n;
	return prog->insns;
}

const char *bpfvm_prog_name(const struct bpfvm_prog *prog)
{
	return prog->name;
}

enum bpfvm_prog_type bpfvm_prog_type(const struct bpfvm_prog *prog)
{
	return prog->type;
}

static inline int run_engine(struct bpfvm_prog *prog, struct bpfvm_run *run);

/* The whole run is a read-side section of the VM's map memory. */
int bpfvm_prog_run(struct bpfvm_prog *prog, struct bpfvm_run *run)
{
	/* A program without maps cannot reach map memory (tail calls and
	 * inner maps both go through a map of the program), nor can one with
	 * only plain arrays reach memory that is ever freed under it, so it
	 * needs no read-side section: two atomic operations less per run,
	 * which is much of the cost of a short filter. */
	if (prog->runs_without_rcu)
		return run_engine(prog, run);
	uint64_t token = bpfvm__rcu_read_lock(prog->vm);
	int rc = run_engine(prog, run);
	bpfvm__rcu_read_unlock(prog->vm, token);
	return rc;
}

static inline int run_engine(struct bpfvm_prog *prog, struct bpfvm_run *run)
{
	run->error[0] = 0;
	run->retval = 0;
	run->executed = 0;
	run->redirected = 0;
	enum bpfvm_engine engine = run->engine;
	if (engine == BPFVM_ENGINE_DEFAULT)
		engine = prog->jit ? BPFVM_ENGINE_JIT : BPFVM_ENGINE_INTERP;
	/* Tracing is an interpreter feature: it watches every instruction. */
	if (run->trace)
		engine = BPFVM_ENGINE_INTERP;
	if (engine == BPFVM_ENGINE_JIT) {
		if (!prog->jit)
			return bpfvm__run_error(run, -ENOTSUP, "program was not prepared for the JIT");
		return bpfvm__jit_run(prog, run);
	}
	if (!prog->interp)
		return bpfvm__run_error(run, -ENOTSUP, "program was not prepared for the interpreter");
	return bpfvm__interp_run(prog, run);
}

/* ---- call contexts -------------------------------------------------------------- */

void bpfvm__call_ctx_add_run_regions(struct bpfvm_call_ctx *cc, struct bpfvm_run *run)
{
	if (run->ctx && run->ctx_size)
		cc->regions[cc->nregions++] = (struct bpfvm_region){run->ctx, run->ctx_size, 1};
	for (int i = 0; i < run->nregions && i < BPFVM_MAX_REGIONS; i++)
		cc->regions[cc->nregions++] = run->regions[i];
	cc->nfixed = cc->nregions;
}

int bpfvm__region_allowed(const struct bpfvm_call_ctx *cc, uint64_t addr, size_t size, int write)
{
	for (int i = 0; i < cc->nregions; i++) {
		const struct bpfvm_region *r = &cc->regions[i];
		uint64_t start = (uint64_t)(uintptr_t)r->addr;
		if (addr >= start && size <= r->size && addr - start <= r->size - size)
			return !write || r->writable;
	}
	return 0;
}

void bpfvm_call_allow_region(struct bpfvm_call_ctx *cc, void *addr, size_t size, int writable)
{
	if (!cc->checked || !addr)
		return;
	uint64_t a = (uint64_t)(uintptr_t)addr;
	if (bpfvm__region_allowed(cc, a, size, writable))
		return;
	/* Keep the newest regions: a program that keeps asking for new memory
	 * loses access to the oldest, never to the stack or context. */
	int first_dynamic = cc->nfixed;
	if (first_dynamic >= BPFVM_MAX_RUN_REGIONS)
		return;
	if (cc->nregions == BPFVM_MAX_RUN_REGIONS) {
		memmove(&cc->regions[first_dynamic], &cc->regions[first_dynamic + 1],
			(size_t)(BPFVM_MAX_RUN_REGIONS - first_dynamic - 1) * sizeof(cc->regions[0]));
		cc->nregions--;
	}
	cc->regions[cc->nregions++] = (struct bpfvm_region){addr, size, writable};
}

void bpfvm__call_allow_fixed_region(struct bpfvm_call_ctx *cc, void *addr, size_t size, int writable)
{
	if (!cc->checked || !addr || cc->nfixed >= BPFVM_MAX_RUN_REGIONS)
		return;
	/* Insert at the end of the fixed ones, dropping the oldest dynamic
	 * region if the table is full. */
	if (cc->nregions == BPFVM_MAX_RUN_REGIONS)
		cc->nregions--;
	memmove(&cc->regions[cc->nfixed + 1], &cc->regions[cc->nfixed],
		(size_t)(cc->nregions - cc->nfixed) * sizeof(cc->regions[0]));
	cc->regions[cc->nfixed++] = (struct bpfvm_region){addr, size, writable};
	cc->nregions++;
}

struct bpfvm_vm *bpfvm_call_vm(struct bpfvm_call_ctx *cc)
{
	return cc->vm;
}

struct bpfvm_prog *bpfvm_call_prog(struct bpfvm_call_ctx *cc)
{
	return cc->prog;
}

struct bpfvm_run *bpfvm_call_run(struct bpfvm_call_ctx *cc)
{
	return cc->run;
}

uint32_t bpfvm_call_cpu(struct bpfvm_call_ctx *cc)
{
	return cc->run->cpu;
}
