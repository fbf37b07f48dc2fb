/* The public eBPF conformance suite (../shared/conformance/tests, the 313
 * cases of bpf_conformance) through the interpreter in checked mode:
 * r1 = the case's memory, r2 = its length, r0 compared with `-- result`.
 * Cases that fail must be listed in tests/conformance/known-failures.txt
 * with a reason; a listed case that passes fails the test too, so the list
 * stays true. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>

#include "bpfvm/bpfvm.h"
#include "common/harness.h"

#define KNOWN_FAILURES "tests/conformance/known-failures.txt"

struct conf_case {
	char *asm_text;   /* -- asm, NULL if absent */
	char *raw_text;   /* -- raw */
	char *mem_text;   /* -- mem */
	char *result;     /* -- result */
	char *error;      /* -- error */
};

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long len = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc((size_t)len + 1);
	if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) {
		free(buf);
		buf = NULL;
	}
	if (buf)
		buf[len] = 0;
	fclose(f);
	return buf;
}

static void append(char **dst, const char *line, size_t len)
{
	size_t old = *dst ? strlen(*dst) : 0;
	char *p = realloc(*dst, old + len + 2);
	if (!p)
		return;
	memcpy(p + old, line, len);
	p[old + len] = '\n';
	p[old + len + 1] = 0;
	*dst = p;
}

/* Split a .data file into its sections (README of the suite). */
static void parse_case(char *text, struct conf_case *c)
{
	memset(c, 0, sizeof(*c));
	char **section = NULL;
	for (char *line = text; line && *line;) {
		char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		if (len >= 2 && line[0] == '-' && line[1] == '-') {
			char name[64];
			snprintf(name, sizeof(name), "%.*s", (int)len, line);
			section = !strcmp(name, "-- asm")      ? &c->asm_text
				  : !strcmp(name, "-- raw")    ? &c->raw_text
				  : !strcmp(name, "-- mem")    ? &c->mem_text
				  : !strcmp(name, "-- result") ? &c->result
				  : !strcmp(name, "-- error")  ? &c->error
							       : NULL;
		} else if (section) {
			append(section, line, len);
		}
		line = nl ? nl + 1 : NULL;
	}
}

static void free_case(struct conf_case *c)
{
	free(c->asm_text);
	free(c->raw_text);
	free(c->mem_text);
	free(c->result);
	free(c->error);
}

/* Hex bytes separated by white space ("11 22 33"), '#' comments. */
static int parse_mem(const char *text, uint8_t **out, size_t *len)
{
	size_t cap = text ? strlen(text) / 2 + 1 : 1, n = 0;
	uint8_t *buf = calloc(cap, 1);
	if (!buf)
		return -ENOMEM;
	for (const char *p = text; p && *p;) {
		if (*p == '#') {
			while (*p && *p != '\n')
				p++;
			continue;
		}
		char *end;
		unsigned long v = strtoul(p, &end, 16);
		if (end == p) {
			p++;
			continue;
		}
		if (v > 0xff) {
			free(buf);
			return -EINVAL;
		}
		buf[n++] = (uint8_t)v;
		p = end;
	}
	*out = buf;
	*len = n;
	return 0;
}

/* One 64-bit instruction word in hex per line (the word's value, so its
 * low byte is the opcode). */
static int parse_raw(const char *text, struct bpfvm_insn **out, size_t *n)
{
	size_t cap = 16, count = 0;
	struct bpfvm_insn *insns = malloc(cap * sizeof(*insns));
	for (const char *p = text; insns && p && *p;) {
		char *end;
		unsigned long long w = strtoull(p, &end, 16);
		if (end == p) {
			p++;
			continue;
		}
		if (count == cap) {
			struct bpfvm_insn *ni = realloc(insns, (cap *= 2) * sizeof(*insns));
			if (!ni) {
				free(insns);
				return -ENOMEM;
			}
			insns = ni;
		}
		uint8_t bytes[8];
		for (int i = 0; i < 8; i++)
			bytes[i] = (uint8_t)(w >> (8 * i));
		memcpy(&insns[count++], bytes, 8);
		p = end;
	}
	if (!insns)
		return -ENOMEM;
	*out = insns;
	*n = count;
	return 0;
}

/* Cases the verifier accepts also run through the verified (unchecked)
 * loop, which must agree with checked mode. */
static unsigned verified_runs;

static void check_verified_path(struct bpfvm_vm *vm, const struct bpfvm_insn *insns, size_t n,
				uint8_t *mem, size_t mem_len, uint64_t want, char *why, size_t whylen)
{
	struct bpfvm_prog *prog = NULL;
	struct bpfvm_prog_opts opts = {.safety = BPFVM_SAFETY_VERIFIED, .engine = BPFVM_ENGINE_INTERP};
	if (bpfvm_prog_load(vm, insns, n, &opts, &prog))
		return; /* beyond what the verifier proves safe: checked mode only */
	uint8_t *copy = malloc(mem_len ? mem_len : 1);
	if (copy && mem_len)
		memcpy(copy, mem, mem_len);
	struct bpfvm_run run = {.ctx = mem_len ? copy : NULL, .ctx_size = mem_len,
				.engine = BPFVM_ENGINE_INTERP};
	int rc = bpfvm_prog_run(prog, &run);
	if (rc || run.retval != want)
		snprintf(why, whylen, "verified loop: rc %d r0 = 0x%llx, checked mode gave 0x%llx (%s)", rc,
			 (unsigned long long)run.retval, (unsigned long long)want, run.error);
	verified_runs++;
	free(copy);
	bpfvm_prog_destroy(prog);
}

/* Run one program; returns 0 and fills why on a mismatch. */
static int run_program(struct bpfvm_vm *vm, const struct bpfvm_insn *insns, size_t n,
		       const struct conf_case *c, char *why, size_t whylen)
{
	uint8_t *mem = NULL;
	size_t mem_len = 0;
	if (parse_mem(c->mem_text, &mem, &mem_len)) {
		snprintf(why, whylen, "bad -- mem section");
		return 0;
	}
	struct bpfvm_prog *prog = NULL;
	struct bpfvm_prog_opts opts = {.safety = BPFVM_SAFETY_CHECKED, .engine = BPFVM_ENGINE_INTERP};
	int ok = 0;
	int rc = bpfvm_prog_load(vm, insns, n, &opts, &prog);
	if (rc) {
		if (c->error)
			ok = 1; /* rejected as the case expects */
		else
			snprintf(why, whylen, "load failed: %s", bpfvm_vm_last_error(vm));
	} else {
		struct bpfvm_run run = {.ctx = mem_len ? mem : NULL, .ctx_size = mem_len,
					.engine = BPFVM_ENGINE_INTERP};
		uint8_t *orig = malloc(mem_len ? mem_len : 1);
		if (orig && mem_len)
			memcpy(orig, mem, mem_len);
		rc = bpfvm_prog_run(prog, &run);
		uint64_t want = c->result ? strtoull(c->result, NULL, 16) : 0;
		if (c->error && !c->result)
			ok = rc != 0;
		else if (rc)
			snprintf(why, whylen, "run failed: %s", run.error);
		else if (run.retval != want)
			snprintf(why, whylen, "r0 = 0x%llx, expected 0x%llx",
				 (unsigned long long)run.retval, (unsigned long long)want);
		else
			ok = 1;
		if (ok && !rc && orig)
			check_verified_path(vm, insns, n, orig, mem_len, run.retval, why, whylen);
		if (why[0])
			ok = 0;
		free(orig);
		if (!ok && c->error && !why[0])
			snprintf(why, whylen, "expected error '%s'", c->error);
		bpfvm_prog_destroy(prog);
	}
	free(mem);
	return ok;
}

/* Assemble/take the program(s) of a case and run them; 1 when it passes. */
static int run_case(struct bpfvm_vm *vm, const char *path, char *why, size_t whylen)
{
	char *text = read_text(path);
	if (!text) {
		snprintf(why, whylen, "cannot read %.200s", path);
		return 0;
	}
	struct conf_case c;
	parse_case(text, &c);
	int ok = 1;
	why[0] = 0;
	if (!c.asm_text && !c.raw_text) {
		snprintf(why, whylen, "no program");
		ok = 0;
	}
	if (ok && c.asm_text) {
		struct bpfvm_insn *insns = NULL;
		size_t n = 0;
		char err[256];
		if (bpfvm_asm(c.asm_text, BPFVM_SYNTAX_CONFORMANCE, path, &insns, &n, err, sizeof(err))) {
			snprintf(why, whylen, "assembler: %s", err);
			ok = 0;
		} else {
			ok = run_program(vm, insns, n, &c, why, whylen);
		}
		free(insns);
	}
	if (ok && c.raw_text) {
		struct bpfvm_insn *insns = NULL;
		size_t n = 0;
		if (parse_raw(c.raw_text, &insns, &n)) {
			snprintf(why, whylen, "bad -- raw section");
			ok = 0;
		} else {
			ok = run_program(vm, insns, n, &c, why, whylen);
		}
		free(insns);
	}
	free_case(&c);
	free(text);
	return ok;
}

/* known-failures.txt: "case-name: reason" per line, '#' comments. */
struct known {
	char name[128];
	int seen;
};

static size_t load_known(struct known *list, size_t max)
{
	char *text = read_text(KNOWN_FAILURES);
	size_t n = 0;
	for (char *line = text; line && *line && n < max;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		char *colon = strchr(line, ':');
		if (line[0] != '#' && colon && colon > line) {
			snprintf(list[n].name, sizeof(list[n].name), "%.*s", (int)(colon - line), line);
			list[n].seen = 0;
			n++;
		}
		line = nl ? nl + 1 : NULL;
	}
	free(text);
	return n;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

TEST(conformance_suite_passes_except_known_failures)
{
	const char *shared = harness_shared_dir();
	char dir[512];
	if (!shared)
		SKIP("../shared is absent: no conformance suite to run");
	snprintf(dir, sizeof(dir), "%s/conformance/tests", shared);
	DIR *d = opendir(dir);
	if (!d)
		SKIP("../shared/conformance/tests is absent");
	char *names[1024];
	size_t count = 0;
	struct dirent *e;
	while ((e = readdir(d)) && count < 1024) {
		size_t len = strlen(e->d_name);
		if (len > 5 && !strcmp(e->d_name + len - 5, ".data"))
			names[count++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, count, sizeof(names[0]), cmp_str);

	static struct known known[512];
	size_t nknown = load_known(known, 512);
	struct bpfvm_vm *vm = NULL;
	CHECK(bpfvm_vm_create(&vm) == 0);
	size_t passed = 0, failed_known = 0;
	for (size_t i = 0; i < count; i++) {
		char path[1024], why[1024], name[128];
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		snprintf(name, sizeof(name), "%.*s", (int)(strlen(names[i]) - 5), names[i]);
		int ok = run_case(vm, path, why, sizeof(why));
		struct known *k = NULL;
		for (size_t j = 0; j < nknown; j++)
			if (!strcmp(known[j].name, name))
				k = &known[j];
		if (k)
			k->seen = 1;
		if (ok && k)
			harness_fail(__FILE__, __LINE__, "%s passes but is listed in " KNOWN_FAILURES, name);
		else if (!ok && !k)
			harness_fail(__FILE__, __LINE__, "%s: %s", name, why);
		else if (!ok)
			failed_known++;
		passed += ok;
		free(names[i]);
	}
	for (size_t j = 0; j < nknown; j++)
		if (!known[j].seen)
			harness_fail(__FILE__, __LINE__, "%s is listed in " KNOWN_FAILURES " but is not a case",
				     known[j].name);
	printf("    conformance: %zu of %zu cases pass, %zu known failures; %u programs the verifier "
	       "accepts agree in the verified loop\n", passed, count, failed_known, verified_runs);
	CHECK(count >= 313);
	bpfvm_vm_destroy(vm);
}
