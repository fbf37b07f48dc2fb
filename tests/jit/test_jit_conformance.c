/* The conformance suite (../shared/conformance/tests) through the JIT: for
 * every case, the JIT's r0 (or failure) equals the interpreter's and the
 * case's `-- result`, in checked mode with r1 = the case's memory. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>

#include "bpfvm/bpfvm.h"
#include "common/harness.h"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long len = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = len >= 0 ? malloc((size_t)len + 1) : NULL;
	if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) {
		free(buf);
		buf = NULL;
	}
	if (buf)
		buf[len] = 0;
	fclose(f);
	return buf;
}

/* The text of section `name` ("-- asm") up to the next "-- " line, in a
 * malloc'ed string, or NULL. */
static char *section(const char *text, const char *name)
{
	size_t nlen = strlen(name);
	for (const char *l = text; l && *l;) {
		const char *nl = strchr(l, '\n');
		size_t len = nl ? (size_t)(nl - l) : strlen(l);
		if (len == nlen && !strncmp(l, name, nlen)) {
			const char *start = nl ? nl + 1 : l + len;
			const char *end = start;
			while (*end && strncmp(end, "-- ", 3)) {
				const char *e = strchr(end, '\n');
				end = e ? e + 1 : end + strlen(end);
			}
			return strndup(start, (size_t)(end - start));
		}
		l = nl ? nl + 1 : NULL;
	}
	return NULL;
}

/* Hex tokens: bytes ("-- mem") or 64-bit words ("-- raw"); '#' comments. */
static size_t parse_hex_words(const char *text, uint64_t *out, size_t max)
{
	size_t n = 0;
	for (const char *p = text; p && *p && n < max;) {
		if (*p == '#') {
			p = strchr(p, '\n');
			continue;
		}
		char *end;
		unsigned long long v = strtoull(p, &end, 16);
		if (end == p) {
			p++;
			continue;
		}
		out[n++] = v;
		p = end;
	}
	return n;
}

struct outcome {
	int load_rc, run_rc;
	uint64_t r0;
	char error[256];
};

static void run_engine(struct bpfvm_prog *prog, enum bpfvm_engine engine, const uint8_t *mem,
		       size_t len, struct outcome *o)
{
	uint8_t copy[4096];
	memcpy(copy, mem, len);
	struct bpfvm_run run = {.ctx = len ? copy : NULL, .ctx_size = len, .engine = engine};
	o->run_rc = bpfvm_prog_run(prog, &run);
	o->r0 = run.retval;
	snprintf(o->error, sizeof(o->error), "%s", run.error);
}

/* Returns 1 when the JIT agrees with the interpreter and the case. */
static int check_case(struct bpfvm_vm *vm, const char *path, char *why, size_t whylen)
{
	char *text = slurp(path);
	if (!text) {
		snprintf(why, whylen, "cannot read");
		return 0;
	}
	char *asm_text = section(text, "-- asm"), *raw = section(text, "-- raw");
	char *mem_text = section(text, "-- mem"), *result = section(text, "-- result");
	char *error = section(text, "-- error");
	struct bpfvm_insn *insns = NULL;
	size_t n = 0;
	int ok = 0;
	char err[256];
	if (asm_text) {
		if (bpfvm_asm(asm_text, BPFVM_SYNTAX_CONFORMANCE, path, &insns, &n, err, sizeof(err))) {
			snprintf(why, whylen, "assembler: %s", err);
			goto out;
		}
	} else if (raw) {
		uint64_t words[4096];
		n = parse_hex_words(raw, words, 4096);
		insns = calloc(n ? n : 1, sizeof(*insns));
		for (size_t i = 0; insns && i < n; i++)
			for (int b = 0; b < 8; b++)
				((uint8_t *)&insns[i])[b] = (uint8_t)(words[i] >> (8 * b));
	} else {
		snprintf(why, whylen, "no program");
		goto out;
	}
	uint64_t bytes[4096];
	size_t mem_len = parse_hex_words(mem_text, bytes, 4096);
	uint8_t mem[4096];
	for (size_t i = 0; i < mem_len; i++)
		mem[i] = (uint8_t)bytes[i];
	struct bpfvm_prog_opts opts = {.safety = BPFVM_SAFETY_CHECKED, .engine = BPFVM_ENGINE_DEFAULT};
	struct bpfvm_prog *prog;
	int rc = bpfvm_prog_load(vm, insns, n, &opts, &prog);
	if (rc) {
		ok = error != NULL;
		if (!ok)
			snprintf(why, whylen, "load: %s", bpfvm_vm_last_error(vm));
		goto out;
	}
	struct outcome oi, oj;
	run_engine(prog, BPFVM_ENGINE_INTERP, mem, mem_len, &oi);
	run_engine(prog, BPFVM_ENGINE_JIT, mem, mem_len, &oj);
	bpfvm_prog_destroy(prog);
	uint64_t want = result ? strtoull(result, NULL, 16) : 0;
	if (oi.run_rc != oj.run_rc || oi.r0 != oj.r0 || strcmp(oi.error, oj.error))
		snprintf(why, whylen, "interp rc %d r0 0x%llx '%s' vs jit rc %d r0 0x%llx '%s'", oi.run_rc,
			 (unsigned long long)oi.r0, oi.error, oj.run_rc, (unsigned long long)oj.r0, oj.error);
	else if (result && (oj.run_rc || oj.r0 != want))
		snprintf(why, whylen, "jit r0 0x%llx rc %d, expected 0x%llx", (unsigned long long)oj.r0,
			 oj.run_rc, (unsigned long long)want);
	else if (!result && error && !oj.run_rc)
		snprintf(why, whylen, "expected an error");
	else
		ok = 1;
out:
	free(insns);
	free(asm_text);
	free(raw);
	free(mem_text);
	free(result);
	free(error);
	free(text);
	return ok;
}

TEST(jit_matches_interpreter_and_expected_results_on_the_conformance_suite)
{
	const char *shared = harness_shared_dir();
	if (!shared)
		SKIP("../shared is absent: no conformance suite");
	char dir[512];
	snprintf(dir, sizeof(dir), "%s/conformance/tests", shared);
	DIR *d = opendir(dir);
	if (!d)
		SKIP("no conformance/tests directory in ../shared");
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	int cases = 0, passed = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (len < 6 || strcmp(e->d_name + len - 5, ".data"))
			continue;
		char path[1024], why[600] = "";
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		cases++;
		if (check_case(vm, path, why, sizeof(why)))
			passed++;
		else
			harness_fail(__FILE__, __LINE__, "%s: %s", e->d_name, why);
	}
	closedir(d);
	printf("conformance through the JIT: %d of %d cases\n", passed, cases);
	CHECK(cases >= 300);
	bpfvm_vm_destroy(vm);
}
