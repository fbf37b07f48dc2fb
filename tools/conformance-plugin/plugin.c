/* bpfvm-conformance-plugin: runs one program for the bpf_conformance runner.
 *
 * Protocol (the public runner's plugin interface): the program arrives on
 * standard input as hex bytes; the memory, when the test has any, is the
 * first argument in the same form; r1 points to the memory and r2 holds its
 * length. On success r0 is printed in hex ("0x2a") and the exit status is
 * 0; otherwise the message goes to standard error and the status is 1.
 *
 * Options (after the memory): --interp (default) or --jit, --verify (run
 * only programs the verifier accepts; default is run-time checked mode). */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm/bpfvm.h"

static int hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Hex bytes separated by spaces ("b7  00  ..."); "0x" prefixes allowed. */
static int parse_hex(const char *text, uint8_t **out, size_t *len)
{
	size_t cap = strlen(text) / 2 + 1, n = 0;
	uint8_t *buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	int hi = -1;
	for (const char *p = text; *p; p++) {
		if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X') && hi < 0) {
			p++;
			continue;
		}
		int v = hex_value((unsigned char)*p);
		if (v < 0) {
			if (!isspace((unsigned char)*p) && *p != ',') {
				free(buf);
				return -EINVAL;
			}
			if (hi >= 0) { /* a lone digit: "0 1" */
				buf[n++] = (uint8_t)hi;
				hi = -1;
			}
			continue;
		}
		if (hi < 0) {
			hi = v;
		} else {
			buf[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	if (hi >= 0)
		buf[n++] = (uint8_t)hi;
	*out = buf;
	*len = n;
	return 0;
}

static char *read_stdin(void)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		size_t got = fread(buf + n, 1, cap - n - 1, stdin);
		n += got;
		if (got == 0)
			break;
		if (n + 1 == cap) {
			char *nb = realloc(buf, cap *= 2);
			if (!nb)
				free(buf);
			buf = nb;
		}
	}
	if (buf)
		buf[n] = 0;
	return buf;
}

static int fail(const char *fmt, const char *arg)
{
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	return 1;
}

int main(int argc, char **argv)
{
	enum bpfvm_engine engine = BPFVM_ENGINE_INTERP;
	enum bpfvm_safety safety = BPFVM_SAFETY_CHECKED;
	const char *mem_hex = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--jit"))
			engine = BPFVM_ENGINE_JIT;
		else if (!strcmp(argv[i], "--interp"))
			engine = BPFVM_ENGINE_INTERP;
		else if (!strcmp(argv[i], "--verify"))
			safety = BPFVM_SAFETY_VERIFIED;
		else if (!strncmp(argv[i], "--", 2))
			return fail("unknown option %s", argv[i]);
		else if (!mem_hex)
			mem_hex = argv[i];
		else
			return fail("unexpected argument %s", argv[i]);
	}

	char *prog_hex = read_stdin();
	uint8_t *code = NULL, *mem = NULL;
	size_t code_len = 0, mem_len = 0;
	if (!prog_hex || parse_hex(prog_hex, &code, &code_len))
		return fail("%s", "cannot read the program (hex bytes on standard input)");
	free(prog_hex);
	if (code_len == 0 || code_len % sizeof(struct bpfvm_insn))
		return fail("%s", "program is not a whole number of 8-byte instructions");
	if (mem_hex && parse_hex(mem_hex, &mem, &mem_len))
		return fail("%s", "cannot parse the memory argument (hex bytes)");

	struct bpfvm_vm *vm;
	if (bpfvm_vm_create(&vm))
		return fail("%s", "cannot create a VM");
	struct bpfvm_insn *insns = malloc(code_len);
	if (!insns)
		return fail("%s", "out of memory");
	memcpy(insns, code, code_len);
	struct bpfvm_prog_opts opts = {.name = "conformance", .safety = safety, .engine = engine};
	struct bpfvm_prog *prog;
	int status = 0;
	if (bpfvm_prog_load(vm, insns, code_len / sizeof(*insns), &opts, &prog)) {
		status = fail("%s", bpfvm_vm_last_error(vm));
	} else {
		struct bpfvm_run run = {.ctx = mem_len ? mem : NULL, .ctx_size = mem_len, .engine = engine};
		if (bpfvm_prog_run(prog, &run))
			status = fail("%s", run.error);
		else
			printf("0x%" PRIx64 "\n", run.retval);
	}
	bpfvm_vm_destroy(vm);
	free(insns);
	free(code);
	free(mem);
	return status;
}
