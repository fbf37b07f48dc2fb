/* Fuzz target: the assembler on arbitrary text, in each syntax. Properties:
 *  - an error has a "file:line:col: error:" message;
 *  - whatever assembles disassembles, in both syntaxes, to text that
 *    assembles again to the same bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm/asm.h"

static void round_trip(const struct bpfvm_insn *insns, size_t n, enum bpfvm_syntax syntax, const char *src)
{
	char *text = bpfvm_disasm(insns, n, syntax, 0);
	if (!text)
		abort();
	struct bpfvm_insn *back = NULL;
	size_t nback = 0;
	char err[256];
	if (bpfvm_asm(text, syntax, "disasm", &back, &nback, err, sizeof(err))) {
		fprintf(stderr, "source:\n%s\ndisassembly does not assemble: %s\n%s", src, err, text);
		abort();
	}
	if (nback != n || memcmp(back, insns, n * sizeof(*insns))) {
		fprintf(stderr, "source:\n%s\nreassembled bytes differ (%zu vs %zu slots):\n%s", src, nback, n, text);
		abort();
	}
	free(back);
	free(text);
}

static void try_syntax(const char *src, enum bpfvm_syntax syntax)
{
	struct bpfvm_insn *insns = NULL;
	size_t n = 0;
	char err[256] = "";
	if (bpfvm_asm(src, syntax, "fuzz.s", &insns, &n, err, sizeof(err))) {
		if (strncmp(err, "fuzz.s:", 7) || !strstr(err, "error"))
			abort(); /* every error names its location */
		return;
	}
	round_trip(insns, n, BPFVM_SYNTAX_LLVM, src);
	round_trip(insns, n, BPFVM_SYNTAX_CONFORMANCE, src);
	free(insns);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *src = malloc(size + 1);
	memcpy(src, data, size);
	src[size] = 0;
	try_syntax(src, BPFVM_SYNTAX_LLVM);
	try_syntax(src, BPFVM_SYNTAX_CONFORMANCE);
	try_syntax(src, BPFVM_SYNTAX_AUTO);
	free(src);
	return 0;
}
