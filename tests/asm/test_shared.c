/* The assembler against the shared test data: every program of the kernel
 * verifier cases assembles, and every asm section of the conformance suite
 * assembles to exactly the bytes of the suite's reference assembler
 * (../shared/conformance/run.py). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "bpfvm/asm.h"
#include "common/harness.h"

static char *read_all(FILE *f)
{
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	while (buf) {
		size_t got = fread(buf + len, 1, cap - len - 1, f);
		len += got;
		if (got == 0)
			break;
		if (len + 1 == cap) {
			char *grown = realloc(buf, cap * 2);
			if (!grown) {
				free(buf);
				return NULL;
			}
			buf = grown;
			cap *= 2;
		}
	}
	if (buf)
		buf[len] = 0;
	return buf;
}

/* Append one line to a growing string. */
static void append(char **s, size_t *len, const char *line, size_t n)
{
	char *grown = realloc(*s, *len + n + 2);
	if (!grown)
		return;
	*s = grown;
	memcpy(*s + *len, line, n);
	*len += n;
	(*s)[(*len)++] = '\n';
	(*s)[*len] = 0;
}

TEST(every_verifier_case_program_assembles)
{
	const char *shared = harness_shared_dir();
	if (!shared)
		SKIP("../shared is absent");
	char path[512];
	snprintf(path, sizeof(path), "%s/verifier-cases/cases.txt", shared);
	FILE *f = fopen(path, "r");
	if (!f)
		SKIP("verifier-cases/cases.txt is absent");
	char *text = read_all(f);
	fclose(f);
	if (!text)
		SKIP("out of memory");
	int programs = 0;
	char name[128] = "?";
	char *code = NULL;
	size_t codelen = 0;
	int in_code = 0;
	for (char *line = text, *next; line && *line; line = next) {
		char *nl = strchr(line, '\n');
		next = nl ? nl + 1 : NULL;
		size_t n = nl ? (size_t)(nl - line) : strlen(line);
		int separator = n >= 3 && !strncmp(line, "---", 3);
		if (separator || !next) {
			if (!separator && in_code)
				append(&code, &codelen, line, n);
			if (in_code && code) {
				struct bpfvm_insn *insns = NULL;
				size_t count = 0;
				char err[256];
				if (bpfvm_asm(code, BPFVM_SYNTAX_LLVM, name, &insns, &count, err,
					      sizeof(err)))
					harness_fail(__FILE__, __LINE__, "%s: %s", name, err);
				else
					programs++;
				free(insns);
			}
			free(code);
			code = NULL;
			codelen = 0;
			in_code = 0;
			continue;
		}
		if (!strncmp(line, "name: ", 6))
			snprintf(name, sizeof(name), "%.*s", (int)(n - 6), line + 6);
		else if (!strncmp(line, "code:", 5))
			in_code = 1;
		else if (in_code)
			append(&code, &codelen, line, n);
	}
	free(code);
	free(text);
	printf("    %d verifier case programs assembled\n", programs);
	CHECK(programs >= 63);
}

static int hex_nibble(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Compare our bytes with the reference's hex; describe the first difference. */
static int same_bytes(const struct bpfvm_insn *insns, size_t n, const char *hex, char *why,
		      size_t whylen)
{
	size_t len = strlen(hex);
	if (len != n * 16) {
		snprintf(why, whylen, "%zu slots, reference has %zu", n, len / 16);
		return 0;
	}
	const uint8_t *b = (const uint8_t *)insns;
	for (size_t i = 0; i < n * 8; i++)
		if (b[i] != (hex_nibble(hex[2 * i]) << 4 | hex_nibble(hex[2 * i + 1]))) {
			snprintf(why, whylen, "slot %zu differs: reference %.16s", i / 8,
				 hex + (i / 8) * 16);
			return 0;
		}
	return 1;
}

TEST(conformance_asm_sections_match_the_reference_assembler)
{
	const char *shared = harness_shared_dir();
	if (!shared)
		SKIP("../shared is absent");
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "python3 tests/asm/conformance_asm.py '%s' 2>/dev/null", shared);
	FILE *p = popen(cmd, "r");
	if (!p)
		SKIP("cannot run python3");
	char *out = read_all(p);
	int status = pclose(p);
	if (!out || status != 0 || !strstr(out, "FILE ")) {
		free(out);
		SKIP("python3 or ../shared/conformance/run.py unavailable");
	}
	int files = 0, same = 0;
	char *line = out;
	while (line && !strncmp(line, "FILE ", 5)) {
		char name[256], result[1 << 14];
		int nlines = 0, used = 0;
		if (sscanf(line, "FILE %255s\n%16383[^\n]\nASM %d\n%n", name, result, &nlines, &used) < 3 ||
		    !used) {
			harness_fail(__FILE__, __LINE__, "cannot parse helper output near '%.40s'", line);
			break;
		}
		char *src = line + used, *end = src;
		for (int i = 0; i < nlines && end; i++) {
			end = strchr(end, '\n');
			end = end ? end + 1 : NULL;
		}
		if (!end)
			break;
		char saved = *end;
		*end = 0;
		struct bpfvm_insn *insns = NULL;
		size_t n = 0;
		char err[256], why[128];
		int rc = bpfvm_asm(src, BPFVM_SYNTAX_CONFORMANCE, name, &insns, &n, err, sizeof(err));
		*end = saved;
		files++;
		if (!strncmp(result, "ERROR", 5)) {
			if (rc == 0)
				harness_fail(__FILE__, __LINE__, "%s: reference rejects it (%s), we accept",
					     name, result);
			else
				same++;
		} else if (rc) {
			harness_fail(__FILE__, __LINE__, "%s: %s", name, err);
		} else if (!same_bytes(insns, n, result + 6, why, sizeof(why))) {
			harness_fail(__FILE__, __LINE__, "%s: %s", name, why);
		} else {
			same++;
		}
		free(insns);
		line = end;
	}
	free(out);
	printf("    %d of %d conformance asm sections identical\n", same, files);
	CHECK(files > 0);
	CHECK_EQ(same, files);
}
