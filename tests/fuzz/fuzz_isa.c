/* Fuzz target: decoder, validator and disassembler on arbitrary bytes.
 * Properties:
 *  - every slot the decoder accepts re-encodes, from its decoded fields,
 *    to the same bytes (the table is a bijection on valid forms);
 *  - the disassembler never fails on any bytes (invalid slots are
 *    described, not crashed on);
 *  - a program the validator accepts disassembles, in both syntaxes, to
 *    text that assembles back to the same bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm/asm.h"
#include "bpfvm/isa.h"

static void check_reencode(const struct bpfvm_insn *insns, size_t n)
{
	char err[256];
	for (size_t pc = 0; pc < n; pc++) {
		struct bpfvm_decoded d;
		if (bpfvm_isa_decode(insns, n, pc, &d, err, sizeof(err)))
			continue;
		struct bpfvm_insn enc[2];
		int slots = bpfvm_isa_encode(d.opid, d.dst, d.src, d.off, d.imm, d.imm64, enc);
		if (slots != d.slots || memcmp(enc, &insns[pc], (size_t)slots * sizeof(enc[0])))
			abort();
		pc += (size_t)d.slots - 1;
	}
}

static void check_disasm_round_trip(const struct bpfvm_insn *insns, size_t n, enum bpfvm_syntax syntax)
{
	char *text = bpfvm_disasm(insns, n, syntax, 0);
	if (!text)
		abort();
	struct bpfvm_insn *back = NULL;
	size_t nback = 0;
	char err[256];
	if (bpfvm_asm(text, syntax, "disasm", &back, &nback, err, sizeof(err))) {
		fprintf(stderr, "disassembly does not assemble: %s\n%s", err, text);
		abort();
	}
	if (nback != n || memcmp(back, insns, n * sizeof(*insns))) {
		fprintf(stderr, "reassembled bytes differ (%zu vs %zu slots):\n%s", nback, n, text);
		abort();
	}
	free(back);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n = size / sizeof(struct bpfvm_insn);
	if (n == 0)
		return 0;
	struct bpfvm_insn *insns = malloc(n * sizeof(*insns));
	memcpy(insns, data, n * sizeof(*insns));
	char err[256];
	int valid = bpfvm_isa_validate(insns, n, err, sizeof(err)) == 0;
	char *any = bpfvm_disasm(insns, n, BPFVM_SYNTAX_LLVM, 1);
	if (!any)
		abort();
	free(any);
	if (valid) {
		check_reencode(insns, n);
		check_disasm_round_trip(insns, n, BPFVM_SYNTAX_LLVM);
		check_disasm_round_trip(insns, n, BPFVM_SYNTAX_CONFORMANCE);
	}
	free(insns);
	return 0;
}
