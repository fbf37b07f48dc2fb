/* bpfvm: assembler and disassembler, driven by the opcode table.
 *
 * Two syntaxes:
 *  - LLVM: the C-like text of llvm-objdump -d and the kernel verifier log
 *    (`r1 = 2675`, `if w1 s> w2 goto -5`, `*(u16 *)(r10 - 8) = r1`);
 *  - CONFORMANCE: the mnemonic text of the bpf_conformance suite
 *    (`mov32 %r0, 0`, `stxdw [%r10-8], %r0`, `lock fetch add [%r1], %r2`).
 * Both accept labels (`name:`) and comments (`;`, `#`, `//`).
 */
#ifndef BPFVM_ASM_H
#define BPFVM_ASM_H

#include <stddef.h>

#include "bpfvm/isa.h"

#ifdef __cplusplus
extern "C" {
#endif

enum bpfvm_syntax {
	BPFVM_SYNTAX_LLVM = 0,
	BPFVM_SYNTAX_CONFORMANCE = 1,
	BPFVM_SYNTAX_AUTO = 2, /* assembler: decide from the text */
};

/* Assemble text into *out (malloc'ed, free with free()), *n slots.
 * filename is used in messages only. On error returns -EINVAL and writes
 * "file:line:column: error: ..." to err. */
int bpfvm_asm(const char *text, enum bpfvm_syntax syntax, const char *filename,
	      struct bpfvm_insn **out, size_t *n, char *err, size_t errlen);

/* Disassemble the instruction at insns[pc] into buf (no newline). Returns
 * the number of slots consumed (1 or 2) or -EINVAL for an invalid
 * encoding (buf then holds a description). */
int bpfvm_disasm_insn(const struct bpfvm_insn *insns, size_t n, size_t pc,
		      enum bpfvm_syntax syntax, char *buf, size_t buflen);

/* Disassemble a whole program, one instruction per line, into a malloc'ed
 * string; with numbered != 0 each line starts with its slot index as the
 * kernel log prints it ("0: "). Returns NULL on allocation failure. */
char *bpfvm_disasm(const struct bpfvm_insn *insns, size_t n, enum bpfvm_syntax syntax,
		   int numbered);

#ifdef __cplusplus
}
#endif
#endif
