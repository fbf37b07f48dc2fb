/* Fuzz target: interpreter versus JIT on structure-aware programs
 * (progen.h). Each engine runs the program the verifier accepted on its
 * own fresh maps; r0 (into which the epilogue folds the scalar registers
 * and the stack words), the error status and the contents of every map
 * (hash entries, array values, ring buffer records) must be the same.
 * Programs also run in checked mode on both engines. */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz/progen.h"

struct outcome {
	int loaded, rc;
	uint64_t r0, maps;
	char error[256];
};

static void run_on(const struct bpfvm_insn *insns, size_t n, enum bpfvm_engine engine, enum bpfvm_safety safety,
		   struct outcome *o)
{
	struct pg_world w;
	memset(o, 0, sizeof(*o));
	if (pg_world_create(&w))
		abort();
	struct bpfvm_prog_opts opts = {.name = "fuzz", .safety = safety, .engine = engine, .maps = w.maps,
				       .nmaps = 3};
	struct bpfvm_prog *prog;
	if (bpfvm_prog_load(w.vm, insns, n, &opts, &prog) == 0) {
		o->loaded = 1;
		uint8_t ctx[64] = {0};
		struct bpfvm_run run = {.ctx = ctx, .ctx_size = sizeof(ctx), .engine = engine};
		o->rc = bpfvm_prog_run(prog, &run);
		o->r0 = run.retval;
		snprintf(o->error, sizeof(o->error), "%s", run.error);
		o->maps = pg_world_digest(&w);
		bpfvm_prog_destroy(prog);
	} else {
		snprintf(o->error, sizeof(o->error), "%s", bpfvm_vm_last_error(w.vm));
	}
	pg_world_destroy(&w);
}

static void compare(const struct outcome *i, const struct outcome *j, const char *mode)
{
	if (i->loaded != j->loaded) {
		/* Both engines share the verifier: a load difference is a JIT
		 * failure to compile what the verifier accepted. */
		fprintf(stderr, "%s: interp %s, jit %s: %s\n", mode, i->loaded ? "loads" : "rejects",
			j->loaded ? "loads" : "rejects", i->loaded ? j->error : i->error);
		abort();
	}
	if (!i->loaded)
		return;
	if (i->rc != j->rc || i->r0 != j->r0 || i->maps != j->maps) {
		fprintf(stderr, "%s: interp rc %d r0 %#llx maps %#llx (%s) / jit rc %d r0 %#llx maps %#llx (%s)\n", mode,
			i->rc, (unsigned long long)i->r0, (unsigned long long)i->maps, i->error, j->rc,
			(unsigned long long)j->r0, (unsigned long long)j->maps, j->error);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pg g;
	size_t n = pg_generate(&g, data, size);
	struct outcome i, j;
	run_on(g.insns, n, BPFVM_ENGINE_INTERP, BPFVM_SAFETY_VERIFIED, &i);
	if (!i.loaded)
		return 0;
	run_on(g.insns, n, BPFVM_ENGINE_JIT, BPFVM_SAFETY_VERIFIED, &j);
	compare(&i, &j, "verified");
	run_on(g.insns, n, BPFVM_ENGINE_INTERP, BPFVM_SAFETY_CHECKED, &i);
	run_on(g.insns, n, BPFVM_ENGINE_JIT, BPFVM_SAFETY_CHECKED, &j);
	compare(&i, &j, "checked");
	return 0;
}
