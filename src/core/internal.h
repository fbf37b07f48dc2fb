/* Internal structures shared by the components of libbpfvm.
 * Not installed. Functions named bpfvm__* are internal entry points that one
 * component provides to the others. */
#ifndef BPFVM_CORE_INTERNAL_H
#define BPFVM_CORE_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "bpfvm/helpers.h"
#include "bpfvm/isa.h"
#include "bpfvm/maps.h"
#include "bpfvm/vm.h"

#define BPFVM_MAX_TAIL_CALLS 33 /* the kernel's MAX_TAIL_CALL_CNT */
#define BPFVM_HELPER_TAIL_CALL 12
#define BPFVM_MAX_RUN_REGIONS 64
#define BPFVM_STACK_DEPTH_UNKNOWN UINT32_MAX

struct bpfvm_vm {
	pthread_mutex_t lock; /* guards the registries below */
	char last_error[512];
	bpfvm_print_fn print;
	void *print_user;
	/* Helper registry: standard helpers first, host helpers added. */
	struct bpfvm_helper *helpers;
	size_t nhelpers, helpers_cap;
	/* Programs and maps by id (index = id - 1; NULL when destroyed). */
	struct bpfvm_prog **progs;
	size_t nprogs, progs_cap;
	struct bpfvm_map **maps;
	size_t nmaps, maps_cap;
	/* Deferred reclamation of map elements (src/maps/rcu.c): the epoch
	 * and the readers that entered in even/odd epochs. */
	_Atomic uint64_t rcu_epoch;
	_Atomic uint64_t rcu_readers[2];
	/* What the standard helpers report (src/helpers); host_info_set 0 =
	 * the defaults. */
	struct bpfvm_host_info host_info;
	int host_info_set;
};

struct bpfvm_interp_code; /* the interpreter's pre-decoded form (src/interp) */
struct bpfvm_jit_code;    /* the JIT's machine code (src/jit) */

struct bpfvm_prog {
	struct bpfvm_vm *vm;
	uint32_t id;
	char name[64];
	enum bpfvm_prog_type type;
	enum bpfvm_safety safety;
	int unpriv;
	int gpl_compatible;       /* from opts->license, as the kernel decides */
	int jit_blind;            /* JIT: blind constants (opts->jit_blind) */
	struct bpfvm_insn *insns; /* as loaded (LD_IMM64 still holds map indexes) */
	size_t n;
	struct bpfvm_map **maps;  /* maps[i] for LD_IMM64 imm i; referenced */
	size_t nmaps;
	/* For each slot: the helper a CALL_HELPER at that slot calls, else NULL.
	 * Resolved once at load time from the VM's registry. */
	const struct bpfvm_helper **call_helper;
	/* For each slot: the run-time value of an LD_IMM64 (map address, map
	 * value address, function pc), else 0. */
	uint64_t *lddw_value;
	const char *const *line_info;
	/* Map values LD_IMM64 addresses directly (src_reg 2/6): regions a
	 * checked run may access, collected once at load for both engines. */
	struct bpfvm_region *map_values;
	int nmap_values;
	/* Bytes of frame 0 the program uses, as the verifier (or the cbpf
	 * translation) measured them; BPFVM_STACK_DEPTH_UNKNOWN when nothing
	 * did. Engines zero only the measured bytes of frame 0 at entry. */
	uint32_t stack_depth;
	/* The run needs no read-side section of map memory: every map of
	 * the program is an array whose values never move nor are freed
	 * while the program holds it (no tail calls, inner maps, elements). */
	int runs_without_rcu;
	struct bpfvm_interp_code *interp;
	struct bpfvm_jit_code *jit;
};

/* The state of one run, given to helpers as struct bpfvm_call_ctx. */
struct bpfvm_call_ctx {
	struct bpfvm_vm *vm;
	struct bpfvm_prog *prog; /* the running program (changes on tail calls) */
	struct bpfvm_run *run;
	int checked;             /* run-time checked mode */
	struct bpfvm_region regions[BPFVM_MAX_RUN_REGIONS];
	int nregions;
	int nfixed; /* regions[0..nfixed) stay for the whole run (never evicted) */
	uint32_t tail_calls;
	/* Set by the running engine: run the subprogram starting at pc with
	 * r1..r5 on the current stack of frames and return its r0 (bpf_loop,
	 * for_each_map_elem callbacks). Returns 0 or -errno. */
	int (*invoke)(struct bpfvm_call_ctx *cc, uint64_t pc, const uint64_t args[5],
		      uint64_t *ret);
	void *engine; /* the engine's own state for invoke */
};

/* ---- core (src/core) -------------------------------------------------------- */

/* Set the VM's last error (printf style); returns err. */
int bpfvm__vm_error(struct bpfvm_vm *vm, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Register a map/program in the VM, assigning its id. */
int bpfvm__vm_add_map(struct bpfvm_vm *vm, struct bpfvm_map *map, uint32_t *id);
void bpfvm__vm_remove_map(struct bpfvm_vm *vm, uint32_t id);
int bpfvm__vm_add_prog(struct bpfvm_vm *vm, struct bpfvm_prog *prog);
void bpfvm__vm_remove_prog(struct bpfvm_vm *vm, uint32_t id);
/* Is [addr, addr+size) inside a region the checked-mode run may access? */
int bpfvm__region_allowed(const struct bpfvm_call_ctx *cc, uint64_t addr, size_t size, int write);
/* A region for the whole run (the engine's stack, ...): unlike those of
 * bpfvm_call_allow_region it is never evicted for newer ones. */
void bpfvm__call_allow_fixed_region(struct bpfvm_call_ctx *cc, void *addr, size_t size, int writable);
/* Checked runs: the context and run->regions as the run's fixed regions. */
void bpfvm__call_ctx_add_run_regions(struct bpfvm_call_ctx *cc, struct bpfvm_run *run);
/* Prepare a call context for a run of prog (regions from run, ctx).
 * Inline: it is part of the fixed cost of every run, and a verified run
 * needs only these few stores (the regions are for checked runs). */
static inline void bpfvm__call_ctx_init(struct bpfvm_call_ctx *cc, struct bpfvm_prog *prog,
					struct bpfvm_run *run)
{
	cc->vm = prog->vm;
	cc->prog = prog;
	cc->run = run;
	cc->checked = prog->safety == BPFVM_SAFETY_CHECKED;
	cc->nregions = 0;
	cc->nfixed = 0;
	cc->tail_calls = 0;
	cc->invoke = NULL;
	cc->engine = NULL;
	if (cc->checked)
		bpfvm__call_ctx_add_run_regions(cc, run);
}
/* Let a checked run of prog access the map values prog addresses
 * directly (at entry and after a tail call into prog). */
void bpfvm__allow_map_values(struct bpfvm_call_ctx *cc, const struct bpfvm_prog *prog);
/* Printf to the run's error buffer; returns err. */
int bpfvm__run_error(struct bpfvm_run *run, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Checked mode: are args fit for helper h's prototype (pointers into
 * memory the run may access, for the sizes the prototype implies)?
 * Returns 0 or -EFAULT with a message naming the argument. */
int bpfvm__helper_args_check(struct bpfvm_call_ctx *cc, const struct bpfvm_helper *h,
			     const uint64_t args[5], char *err, size_t errlen);

/* ---- maps (src/maps) ---------------------------------------------------------- */

void bpfvm__map_get(struct bpfvm_map *map);
void bpfvm__map_put(struct bpfvm_map *map);
/* Address of byte off of the value of a single-value-addressable map
 * (ARRAY: element 0 .. as the kernel's map_direct_value_addr). */
int bpfvm__map_direct_value_addr(struct bpfvm_map *map, uint32_t off, uint64_t *addr);
/* Frozen and BPF_F_RDONLY_PROG: its bytes never change again (the
 * kernel's bpf_map_is_rdonly), so the verifier may read them. */
int bpfvm__map_is_rdonly_prog(const struct bpfvm_map *map);
/* What generated code needs to look up an array element without a call
 * (the kernel's map_gen_lookup): the value of index k < max_entries, for
 * the CPU slot c (the run's cpu % BPFVM_NR_CPUS) of a per-CPU array, is at values + k * elem_size +
 * c * cpu_stride (cpu_stride 0 for a plain array). Values never move while
 * the map lives. Returns 0 for ARRAY and PERCPU_ARRAY, -EOPNOTSUPP for
 * other types. */
struct bpfvm_map_inline_lookup {
	uint8_t *values;
	uint32_t elem_size, cpu_stride, max_entries;
};
int bpfvm__map_inline_lookup(struct bpfvm_map *map, struct bpfvm_map_inline_lookup *out);
/* The program in a PROG_ARRAY slot, or NULL (out of range, empty). */
struct bpfvm_prog *bpfvm__prog_array_lookup(struct bpfvm_map *map, uint32_t index);
/* Drop programs from PROG_ARRAY slots when a program is destroyed. */
void bpfvm__prog_arrays_forget(struct bpfvm_vm *vm, struct bpfvm_prog *prog);
/* A run is a read-side section: map elements a program was handed stay
 * allocated until it ends. Returns a token for the unlock. */
uint64_t bpfvm__rcu_read_lock(struct bpfvm_vm *vm);
void bpfvm__rcu_read_unlock(struct bpfvm_vm *vm, uint64_t token);

/* ---- helpers (src/helpers) ----------------------------------------------------- */

/* Register the standard helpers into a new VM. */
int bpfvm__helpers_register_std(struct bpfvm_vm *vm);

/* ---- packets (src/packet) ------------------------------------------------------ */

/* Register the packet helpers (XDP, tc, socket filter) into a new VM. */
int bpfvm__packet_helpers_register(struct bpfvm_vm *vm);

/* ---- engines (src/interp, src/jit) --------------------------------------------- */

int bpfvm__interp_prepare(struct bpfvm_prog *prog, char *err, size_t errlen);
void bpfvm__interp_release(struct bpfvm_prog *prog);
int bpfvm__interp_run(struct bpfvm_prog *prog, struct bpfvm_run *run);

int bpfvm__jit_supported(void);
int bpfvm__jit_prepare(struct bpfvm_prog *prog, char *err, size_t errlen);
void bpfvm__jit_release(struct bpfvm_prog *prog);
int bpfvm__jit_run(struct bpfvm_prog *prog, struct bpfvm_run *run);

/* ---- verifier (src/verifier) ------------------------------------------------------ */

/* Verify prog (its type, safety, unpriv, maps and helpers are set).
 * Returns 0 or -EACCES/-EINVAL/-E2BIG as the kernel's BPF_PROG_LOAD, with
 * the kernel's message in err and the log in log_buf. */
int bpfvm__verify(struct bpfvm_prog *prog, char *log_buf, size_t log_size, unsigned log_level,
		  char *err, size_t errlen);

#endif
