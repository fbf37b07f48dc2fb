/* Fuzz target: verifier plus interpreter on structure-aware programs
 * (progen.h). Properties:
 *  - a rejected program comes with a message;
 *  - a program the verifier accepts runs in the interpreter without
 *    run-time checks (BPFVM_SAFETY_VERIFIED) and without any sanitizer
 *    report, and ends without an error;
 *  - loaded again with run-time checks (BPFVM_SAFETY_CHECKED) on fresh
 *    maps, no check fires and r0 and the maps come out the same.
 * FUZZ_VERBOSE=1 in the environment prints each verdict (to tune the
 * generator: most programs should be accepted), FUZZ_VERBOSE=2 also the
 * program. */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz/progen.h"

static int verbose = -1;

/* Load and run once in a fresh world; returns 1 if loaded, 0 if rejected. */
static int load_and_run(const struct bpfvm_insn *insns, size_t n, enum bpfvm_safety safety, uint64_t *r0,
			uint64_t *digest, char *msg, size_t msglen)
{
	struct pg_world w;
	if (pg_world_create(&w))
		abort();
	struct bpfvm_prog_opts opts = {.name = "fuzz", .safety = safety, .engine = BPFVM_ENGINE_INTERP,
				       .maps = w.maps, .nmaps = 3};
	struct bpfvm_prog *prog;
	int rc = bpfvm_prog_load(w.vm, insns, n, &opts, &prog);
	if (rc) {
		const char *e = bpfvm_vm_last_error(w.vm);
		if (!e || !*e)
			abort(); /* every rejection explains itself */
		snprintf(msg, msglen, "%s", e);
		pg_world_destroy(&w);
		return 0;
	}
	uint8_t ctx[64] = {0};
	struct bpfvm_run run = {.ctx = ctx, .ctx_size = sizeof(ctx), .engine = BPFVM_ENGINE_INTERP};
	if (bpfvm_prog_run(prog, &run)) {
		fprintf(stderr, "%s run failed: %s\n", safety == BPFVM_SAFETY_CHECKED ? "checked" : "verified",
			run.error);
		abort();
	}
	*r0 = run.retval;
	*digest = pg_world_digest(&w);
	bpfvm_prog_destroy(prog);
	pg_world_destroy(&w);
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pg g;
	if (verbose < 0)
		verbose = getenv("FUZZ_VERBOSE") ? atoi(getenv("FUZZ_VERBOSE")) : 0;
	size_t n = pg_generate(&g, data, size);
	char msg[512];
	if (verbose > 1) {
		char *text = bpfvm_disasm(g.insns, n, BPFVM_SYNTAX_LLVM, 1);
		fprintf(stderr, "%s", text ? text : "");
		free(text);
	}
	uint64_t r0v, dv, r0c, dc;
	if (!load_and_run(g.insns, n, BPFVM_SAFETY_VERIFIED, &r0v, &dv, msg, sizeof(msg))) {
		if (verbose)
			fprintf(stderr, "reject (%zu insns): %.200s\n", n, msg);
		return 0;
	}
	if (verbose)
		fprintf(stderr, "accept (%zu insns)\n", n);
	if (!load_and_run(g.insns, n, BPFVM_SAFETY_CHECKED, &r0c, &dc, msg, sizeof(msg))) {
		fprintf(stderr, "checked load failed: %s\n", msg);
		abort();
	}
	if (r0v != r0c || dv != dc) {
		fprintf(stderr, "verified r0 %#llx maps %#llx, checked r0 %#llx maps %#llx\n", (unsigned long long)r0v,
			(unsigned long long)dv, (unsigned long long)r0c, (unsigned long long)dc);
		abort();
	}
	return 0;
}
