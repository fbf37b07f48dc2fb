/* Helpers of the verifier tests (see vtest.h). Included by each test
 * binary (tests are one file each). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm/asm.h"
#include "bpfvm/maps.h"
#include "progtypes/progtypes.h"
#include "verifier/vtest.h"

int vt_prog_type(const char *name, enum bpfvm_prog_type *out)
{
	const struct bpfvm_progtype *pt = bpfvm__progtype_by_name(name);
	if (!pt)
		return -1;
	*out = pt->type;
	return 0;
}

static int map_type(const char *name)
{
	static const struct {
		const char *name;
		int type;
	} types[] = {{"hash", BPFVM_MAP_HASH}, {"array", BPFVM_MAP_ARRAY}, {"prog_array", BPFVM_MAP_PROG_ARRAY},
		     {"perf_event_array", BPFVM_MAP_PERF_EVENT_ARRAY}, {"percpu_hash", BPFVM_MAP_PERCPU_HASH},
		     {"percpu_array", BPFVM_MAP_PERCPU_ARRAY}, {"lru_hash", BPFVM_MAP_LRU_HASH},
		     {"ringbuf", BPFVM_MAP_RINGBUF}, {"queue", BPFVM_MAP_QUEUE}, {"stack", BPFVM_MAP_STACK}};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(types[i].name, name))
			return types[i].type;
	return -1;
}

int vt_make_maps(struct bpfvm_vm *vm, const char *spec, struct bpfvm_map **maps, int max)
{
	int n = 0;
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", spec ? spec : "");
	for (char *save = NULL, *tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		char tname[32];
		unsigned k, v, m;
		if (n == max || sscanf(tok, "%31[a-z_]:%u:%u:%u", tname, &k, &v, &m) != 4)
			return -1;
		struct bpfvm_map_def def = {0};
		def.type = (enum bpfvm_map_type)map_type(tname);
		def.key_size = k;
		def.value_size = v;
		def.max_entries = m;
		if ((int)def.type < 0 || bpfvm_map_create(vm, &def, &maps[n]))
			return -1;
		n++;
	}
	return n;
}

void vt_load(const char *type, const char *text, const char *maps_spec, int unpriv, unsigned log_level,
	     struct vt_result *res)
{
	vt_load_licensed(type, text, maps_spec, unpriv, log_level, NULL, res);
}

void vt_load_licensed(const char *type, const char *text, const char *maps_spec, int unpriv,
		      unsigned log_level, const char *license, struct vt_result *res)
{
	struct bpfvm_vm *vm = NULL;
	struct bpfvm_map *maps[8];
	struct bpfvm_insn *insns = NULL;
	size_t n = 0;
	char err[512];
	memset(res, 0, sizeof(*res));
	if (bpfvm_vm_create(&vm)) {
		res->rc = -ENOMEM;
		return;
	}
	int nmaps = vt_make_maps(vm, maps_spec, maps, 8);
	struct bpfvm_prog_opts opts = {0};
	if (vt_prog_type(type, &opts.type) || nmaps < 0) {
		res->rc = -EINVAL;
		snprintf(res->msg, sizeof(res->msg), "bad type or maps");
		goto out;
	}
	if (bpfvm_asm(text, BPFVM_SYNTAX_LLVM, "case", &insns, &n, err, sizeof(err))) {
		res->asm_failed = 1;
		res->rc = -EINVAL;
		snprintf(res->msg, sizeof(res->msg), "%s", err);
		goto out;
	}
	opts.safety = BPFVM_SAFETY_VERIFIED;
	opts.engine = BPFVM_ENGINE_INTERP;
	opts.unpriv = unpriv;
	opts.license = license;
	opts.maps = maps;
	opts.nmaps = (size_t)nmaps;
	opts.log_buf = log_level ? res->log : NULL;
	opts.log_size = log_level ? sizeof(res->log) : 0;
	opts.log_level = log_level;
	struct bpfvm_prog *prog = NULL;
	res->rc = bpfvm_prog_load(vm, insns, n, &opts, &prog);
	snprintf(res->msg, sizeof(res->msg), "%s", bpfvm_vm_last_error(vm));
	bpfvm_prog_destroy(prog);
out:
	for (int i = 0; i < nmaps; i++)
		bpfvm_map_destroy(maps[i]);
	free(insns);
	bpfvm_vm_destroy(vm);
}
