/* bpfvm assembler/disassembler: declarations shared by the files of src/asm.
 *
 * Both syntaxes are driven by the opcode table: the LLVM syntax by the
 * row's `llvm` template (template.c), the conformance syntax by the row's
 * mnemonic plus an operand list derived from the row's kind (conformance.c).
 */
#ifndef BPFVM_ASM_INTERNAL_H
#define BPFVM_ASM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "bpfvm/asm.h"
#include "bpfvm/isa.h"

/* A growable text buffer that never overflows: appends past the capacity
 * are dropped (the length still counts them, so callers can detect it). */
struct textbuf {
	char *buf;
	size_t cap;
	size_t len;
};
void tb_init(struct textbuf *tb, char *buf, size_t cap);
void tb_printf(struct textbuf *tb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tb_putc(struct textbuf *tb, char c);

/* Operand fields collected while matching one statement. */
enum {
	FLD_DST = 1 << 0,
	FLD_SRC = 1 << 1,
	FLD_OFF = 1 << 2,
	FLD_IMM = 1 << 3,
	FLD_IMM2 = 1 << 4,
	FLD_IMM64 = 1 << 5,
};
struct operands {
	unsigned set; /* FLD_* fields already given a value */
	uint8_t dst, src;
	int16_t off;
	int32_t imm, imm2;
	uint64_t imm64;
	/* A jump target given as a label name, resolved after the whole text is
	 * read: stored into off (FLD_OFF) or imm (FLD_IMM). */
	const char *label;
	size_t label_len;
	size_t label_pos;
	unsigned label_field;
};

/* The furthest point a failed match reached and what was expected there;
 * when several rows fail, the one that got furthest names the error. */
struct failure {
	size_t pos;  /* byte offset in the statement text */
	int rank;    /* at equal positions, a more specific complaint wins */
	int set;
	char msg[192];
	int nwhat;         /* alternatives collected by fail_expected */
	char what[4][40];
};
/* A literal keyword that did not match ranks below an operand that did not
 * parse, which ranks below an operand of the right kind but wrong value. */
enum { RANK_LITERAL = 1, RANK_MISMATCH = 2, RANK_OPERAND = 3, RANK_RANGE = 4 };
void fail_at(struct failure *f, size_t pos, int rank, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* "expected WHAT, got 'TOKEN'", merging the alternatives of rows that all
 * stopped at the same place ("expected immediate or register"). */
void fail_expected(struct failure *f, size_t pos, int rank, const char *what, const char *text,
		   size_t len);
/* The token starting at text (word, number or single character), for messages. */
int token_len(const char *text, size_t len);

/* Lexing helpers shared by both syntaxes. */
int is_word_char(int c);
int is_label_start(int c);
/* Parse an integer (optional sign, decimal or 0x hex) at s[*pos..len).
 * Returns 1 and advances *pos on success, 0 if there is no number there;
 * *overflow is set when the digits do not fit in 64 bits. */
int lex_int(const char *s, size_t len, size_t *pos, int64_t *value, int *is_neg, int *overflow);

/* LLVM syntax. Match statement text (no comment, trimmed) against one row's
 * template; 1 on success (ops filled). */
int tpl_match(const struct bpfvm_opinfo *row, const char *text, size_t len, struct operands *ops,
	      struct failure *f);
/* Fill a row's template with a decoded instruction. */
void tpl_fill(const char *tpl, const struct bpfvm_decoded *d, struct textbuf *tb);

/* Conformance syntax. */
int conf_parse(const char *text, size_t len, const struct bpfvm_opinfo **row_out,
	       struct operands *ops, struct failure *f);
void conf_format(const struct bpfvm_decoded *d, struct textbuf *tb);
/* Whether a row can be written in the conformance syntax. */
int conf_has_syntax(const struct bpfvm_opinfo *row);

#endif
