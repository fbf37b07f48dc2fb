/* Shared by the helper tests: assemble LLVM-syntax text and load it into a
 * VM with maps, run it. Header-only so each test binary stays one file. */
#ifndef BPFVM_TEST_PROG_UTIL_H
#define BPFVM_TEST_PROG_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm/asm.h"
#include "bpfvm/maps.h"
#include "bpfvm/vm.h"
#include "common/harness.h"

/* The assembler takes callback addresses as "func pc+N" (the kernel's
 * target = pc + N + 1); tests write "func @label" and this rewrites it.
 * Slots: a line ending in " ll" takes two, a label-only line none. */
static inline char *resolve_funcs(const char *text)
{
	char labels[32][32];
	long label_slot[32];
	int nlabels = 0;
	long slot = 0;
	for (const char *l = text; *l;) {
		const char *e = strchr(l, '\n');
		size_t len = e ? (size_t)(e - l) : strlen(l);
		const char *colon = memchr(l, ':', len);
		const char *body = l;
		if (colon && nlabels < 32 && colon - l < 31 && !memchr(l, ' ', (size_t)(colon - l))) {
			memcpy(labels[nlabels], l, (size_t)(colon - l));
			labels[nlabels][colon - l] = 0;
			label_slot[nlabels++] = slot;
			body = colon + 1;
		}
		while (body < l + len && *body == ' ')
			body++;
		if (body < l + len)
			slot += (len >= 3 && !strncmp(l + len - 3, " ll", 3)) ? 2 : 1;
		l += len + (e ? 1 : 0);
	}
	char *out = malloc(strlen(text) * 2 + 64);
	char *o = out;
	slot = 0;
	for (const char *l = text; *l;) {
		const char *e = strchr(l, '\n');
		size_t len = e ? (size_t)(e - l) : strlen(l);
		const char *f = strstr(l, "func @");
		if (f && f < l + len) {
			const char *name = f + 6;
			size_t nl = strcspn(name, " \n");
			long target = -1;
			for (int i = 0; i < nlabels; i++)
				if (strlen(labels[i]) == nl && !strncmp(labels[i], name, nl))
					target = label_slot[i];
			o += sprintf(o, "%.*sfunc pc%+ld%.*s\n", (int)(f - l), l, target - slot - 1,
				     (int)(l + len - (name + nl)), name + nl);
		} else {
			o += sprintf(o, "%.*s\n", (int)len, l);
		}
		const char *colon = memchr(l, ':', len);
		const char *body = (colon && !memchr(l, ' ', (size_t)(colon - l))) ? colon + 1 : l;
		while (body < l + len && *body == ' ')
			body++;
		if (body < l + len)
			slot += (len >= 3 && !strncmp(l + len - 3, " ll", 3)) ? 2 : 1;
		l += len + (e ? 1 : 0);
	}
	*o = 0;
	return out;
}

/* Load text as a checked program using maps (map[i] = maps[i]); NULL on
 * failure, after reporting it. */
static inline struct bpfvm_prog *load_prog_ex(struct bpfvm_vm *vm, const char *text,
					      struct bpfvm_map **maps, size_t nmaps,
					      enum bpfvm_safety safety, enum bpfvm_engine engine)
{
	struct bpfvm_insn *insns;
	size_t n;
	char err[256];
	char *resolved = resolve_funcs(text);
	int arc = bpfvm_asm(resolved, BPFVM_SYNTAX_LLVM, "test.s", &insns, &n, err, sizeof(err));
	free(resolved);
	if (arc) {
		harness_fail(__FILE__, __LINE__, "assembly failed: %s", err);
		return NULL;
	}
	struct bpfvm_prog_opts opts = {.name = "t", .safety = safety, .engine = engine,
				       .maps = maps, .nmaps = nmaps};
	struct bpfvm_prog *prog = NULL;
	int rc = bpfvm_prog_load(vm, insns, n, &opts, &prog);
	free(insns);
	if (rc) {
		harness_fail(__FILE__, __LINE__, "load failed (%d): %s", rc, bpfvm_vm_last_error(vm));
		return NULL;
	}
	return prog;
}

static inline struct bpfvm_prog *load_prog(struct bpfvm_vm *vm, const char *text,
					   struct bpfvm_map **maps, size_t nmaps)
{
	return load_prog_ex(vm, text, maps, nmaps, BPFVM_SAFETY_CHECKED, BPFVM_ENGINE_INTERP);
}

/* Run with mem as r1/r2 on cpu with an engine; returns r0, or ~0 after
 * reporting a fault. */
static inline uint64_t run_prog_on(struct bpfvm_prog *prog, void *mem, size_t len, uint32_t cpu,
				   enum bpfvm_engine engine)
{
	struct bpfvm_run run = {.ctx = mem, .ctx_size = len, .cpu = cpu, .engine = engine};
	int rc = bpfvm_prog_run(prog, &run);
	if (rc) {
		harness_fail(__FILE__, __LINE__, "run failed (%d): %s", rc, run.error);
		return ~0ull;
	}
	return run.retval;
}

/* Run with mem as r1/r2 on cpu; returns r0, or ~0 after reporting a fault. */
static inline uint64_t run_prog(struct bpfvm_prog *prog, void *mem, size_t len, uint32_t cpu)
{
	struct bpfvm_run run = {.ctx = mem, .ctx_size = len, .cpu = cpu,
				.engine = BPFVM_ENGINE_INTERP};
	int rc = bpfvm_prog_run(prog, &run);
	if (rc) {
		harness_fail(__FILE__, __LINE__, "run failed (%d): %s", rc, run.error);
		return ~0ull;
	}
	return run.retval;
}

static inline struct bpfvm_map *make_map(struct bpfvm_vm *vm, enum bpfvm_map_type type,
					 uint32_t ks, uint32_t vs, uint32_t max, uint32_t flags)
{
	struct bpfvm_map_def def = {.type = type, .key_size = ks, .value_size = vs,
				    .max_entries = max, .flags = flags};
	struct bpfvm_map *m = NULL;
	if (bpfvm_map_create(vm, &def, &m))
		harness_fail(__FILE__, __LINE__, "map create: %s", bpfvm_vm_last_error(vm));
	return m;
}

#endif
