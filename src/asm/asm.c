/* The assembler driver: lines, comments, labels, the two passes and the
 * error messages. Matching a statement against the table is done by
 * template.c (LLVM syntax) and conformance.c (mnemonic syntax). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asm/asm_internal.h"

/* One assembled statement, kept until labels are known. */
struct stmt {
	int raw;                 /* .insn: `insn` holds the slot as given */
	enum bpfvm_opid opid;
	struct operands ops;
	struct bpfvm_insn insn;
	size_t pc;               /* first slot */
	size_t line;
	size_t col0;             /* column (0-based) of the statement text */
};

struct label {
	const char *name;
	size_t len;
	size_t pc;
	size_t line;
};

struct assembler {
	const char *filename;
	enum bpfvm_syntax syntax;
	char *err;
	size_t errlen;
	struct stmt *stmts;
	size_t nstmts, capstmts;
	struct label *labels;
	size_t nlabels, caplabels;
	/* Open-addressing index into labels (slot = label index + 1), so that
	 * programs with many labels stay linear. */
	uint32_t *index;
	size_t index_cap; /* power of two, at least twice nlabels */
	size_t pc;
	size_t first_exit; /* conformance: "exit" names the first exit */
	int have_exit;
};

static int asm_error(struct assembler *a, size_t line, size_t col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int asm_error(struct assembler *a, size_t line, size_t col, const char *fmt, ...)
{
	if (!a->err || !a->errlen)
		return -EINVAL;
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(a->err, a->errlen, "%s:%zu:%zu: error: %s", a->filename, line, col + 1, msg);
	return -EINVAL;
}

static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 64;
	while (ncap < need)
		ncap *= 2;
	void *p = realloc(*arr, ncap * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

/* ---- lines ------------------------------------------------------------- */

/* Length of the line without its comment (`;`, `#` or `//`). */
static size_t code_length(const char *line, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (line[i] == ';' || line[i] == '#' || (line[i] == '/' && i + 1 < len && line[i + 1] == '/'))
			return i;
	return len;
}

static int is_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static size_t hash_name(const char *name, size_t len)
{
	size_t h = 1469598103934665603ull & SIZE_MAX; /* FNV-1a */
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)name[i]) * (1099511628211ull & SIZE_MAX);
	return h;
}

/* The index slot holding name, or the empty slot where it would go. */
static size_t index_slot(const struct assembler *a, const char *name, size_t len)
{
	size_t mask = a->index_cap - 1, i = hash_name(name, len) & mask;
	while (a->index[i]) {
		const struct label *l = &a->labels[a->index[i] - 1];
		if (l->len == len && !memcmp(l->name, name, len))
			break;
		i = (i + 1) & mask;
	}
	return i;
}

static struct label *find_label(struct assembler *a, const char *name, size_t len)
{
	if (!a->index_cap)
		return NULL;
	uint32_t slot = a->index[index_slot(a, name, len)];
	return slot ? &a->labels[slot - 1] : NULL;
}

static int grow_index(struct assembler *a)
{
	size_t cap = a->index_cap ? a->index_cap * 2 : 64;
	uint32_t *index = calloc(cap, sizeof(*index));
	if (!index)
		return -ENOMEM;
	free(a->index);
	a->index = index;
	a->index_cap = cap;
	for (size_t i = 0; i < a->nlabels; i++)
		a->index[index_slot(a, a->labels[i].name, a->labels[i].len)] = (uint32_t)(i + 1);
	return 0;
}

static int define_label(struct assembler *a, const char *name, size_t len, size_t line, size_t col)
{
	struct label *old = find_label(a, name, len);
	if (old)
		return asm_error(a, line, col, "duplicate label '%.*s' (first defined on line %zu)",
				 (int)len, name, old->line);
	if (a->nlabels >= UINT32_MAX - 1 ||
	    grow((void **)&a->labels, &a->caplabels, a->nlabels + 1, sizeof(*a->labels)))
		return -ENOMEM;
	if ((a->nlabels + 1) * 2 > a->index_cap && grow_index(a))
		return -ENOMEM;
	a->labels[a->nlabels] = (struct label){name, len, a->pc, line};
	a->index[index_slot(a, name, len)] = (uint32_t)(a->nlabels + 1);
	a->nlabels++;
	return 0;
}

/* Consume leading "name:" labels and "12:" slot numbers (as printed by
 * `bpfvm disasm --numbered`); *pos ends at the statement. */
static int take_labels(struct assembler *a, const char *s, size_t len, size_t *pos, size_t line)
{
	for (;;) {
		size_t p = *pos;
		while (p < len && is_blank(s[p]))
			p++;
		size_t start = p;
		int numeric = p < len && s[p] >= '0' && s[p] <= '9';
		if (p >= len || !(is_label_start(s[p]) || numeric))
			return 0;
		while (p < len && (numeric ? (s[p] >= '0' && s[p] <= '9') : is_word_char(s[p])))
			p++;
		size_t end = p;
		while (p < len && is_blank(s[p]))
			p++;
		if (p >= len || s[p] != ':')
			return 0;
		if (!numeric) {
			int rc = define_label(a, s + start, end - start, line, start);
			if (rc)
				return rc;
		}
		*pos = p + 1;
	}
}

/* ---- statements -------------------------------------------------------- */

static int parse_raw(struct assembler *a, const char *s, size_t len, size_t line, size_t col0,
		     struct stmt *st)
{
	static const struct { const char *name; int64_t min; uint64_t max; } fields[5] = {
		{"opcode", 0, 255}, {"dst register", 0, 15}, {"src register", 0, 15},
		{"offset", INT16_MIN, UINT16_MAX}, {"immediate", INT32_MIN, UINT32_MAX},
	};
	int64_t v[5];
	size_t p = 5; /* after ".insn" */
	for (int i = 0; i < 5; i++) {
		while (p < len && (is_blank(s[p]) || s[p] == ','))
			p++;
		size_t at = p;
		int neg, over;
		if (!lex_int(s, len, &p, &v[i], &neg, &over))
			return asm_error(a, line, col0 + at, ".insn: expected %s, got '%.*s'",
					 fields[i].name, token_len(s + at, len - at), s + at);
		if (over || (neg ? v[i] < fields[i].min : (uint64_t)v[i] > fields[i].max))
			return asm_error(a, line, col0 + at, ".insn: %s %.*s is out of range",
					 fields[i].name, (int)(p - at), s + at);
	}
	while (p < len && is_blank(s[p]))
		p++;
	if (p < len)
		return asm_error(a, line, col0 + p, "unexpected '%.*s' after .insn",
				 token_len(s + p, len - p), s + p);
	st->raw = 1;
	st->insn.code = (uint8_t)v[0];
	st->insn.dst = (uint8_t)v[1];
	st->insn.src = (uint8_t)v[2];
	st->insn.off = (int16_t)(uint16_t)v[3];
	st->insn.imm = (int32_t)(uint32_t)v[4];
	return 0;
}

/* Match against every row's template; the first that fits wins. Only rows
 * without a conformance mnemonic when called as the conformance fallback. */
static const struct bpfvm_opinfo *match_llvm(const char *s, size_t len, struct operands *ops,
					     struct failure *f, int only_without_mnem)
{
	const struct bpfvm_opinfo *t = bpfvm_isa_table();
	size_t n = bpfvm_isa_table_size();
	for (size_t i = 0; i < n; i++) {
		if (only_without_mnem && t[i].mnem)
			continue;
		if (tpl_match(&t[i], s, len, ops, f))
			return &t[i];
	}
	return NULL;
}

static int parse_statement(struct assembler *a, const char *s, size_t len, size_t line,
			   size_t col0, struct stmt *st)
{
	memset(st, 0, sizeof(*st));
	st->line = line;
	st->col0 = col0;
	st->pc = a->pc;
	if (len >= 5 && !memcmp(s, ".insn", 5) && (len == 5 || is_blank(s[5])))
		return parse_raw(a, s, len, line, col0, st);
	struct failure f = {0};
	const struct bpfvm_opinfo *row = NULL;
	if (a->syntax == BPFVM_SYNTAX_CONFORMANCE) {
		if (!conf_parse(s, len, &row, &st->ops, &f) && f.pos == 0 && f.rank == RANK_MISMATCH) {
			/* Rows the suite has no mnemonic for (map loads) in LLVM syntax. */
			struct failure g = {0};
			row = match_llvm(s, len, &st->ops, &g, 1);
		}
	} else {
		row = match_llvm(s, len, &st->ops, &f, 0);
		if (!row && f.pos == 0)
			return asm_error(a, line, col0, "unknown instruction '%.*s'",
					 token_len(s, len), s);
	}
	if (!row)
		return asm_error(a, line, col0 + f.pos, "%s", f.msg);
	st->opid = (enum bpfvm_opid)(row - bpfvm_isa_table());
	return 0;
}

static int add_statement(struct assembler *a, const char *s, size_t len, size_t line, size_t col0)
{
	if (grow((void **)&a->stmts, &a->capstmts, a->nstmts + 1, sizeof(*a->stmts)))
		return -ENOMEM;
	struct stmt *st = &a->stmts[a->nstmts];
	int rc = parse_statement(a, s, len, line, col0, st);
	if (rc)
		return rc;
	a->nstmts++;
	const struct bpfvm_opinfo *row = st->raw ? NULL : &bpfvm_isa_table()[st->opid];
	if (row && row->kind == BPFVM_KIND_EXIT && !a->have_exit) {
		a->have_exit = 1;
		a->first_exit = a->pc;
	}
	a->pc += row && (row->flags & BPFVM_F_WIDE) ? 2 : 1;
	return 0;
}

static int assemble_line(struct assembler *a, const char *line, size_t len, size_t lineno)
{
	len = code_length(line, len);
	size_t pos = 0;
	int rc = take_labels(a, line, len, &pos, lineno);
	if (rc)
		return rc;
	while (pos < len && is_blank(line[pos]))
		pos++;
	while (len > pos && is_blank(line[len - 1]))
		len--;
	if (pos == len)
		return 0;
	return add_statement(a, line + pos, len - pos, lineno, pos);
}

/* ---- pass 2 ------------------------------------------------------------ */

static int resolve_label(struct assembler *a, struct stmt *st)
{
	struct operands *o = &st->ops;
	const struct label *l = find_label(a, o->label, o->label_len);
	size_t col = st->col0 + o->label_pos;
	if (!l)
		return asm_error(a, st->line, col, "undefined label '%.*s'", (int)o->label_len,
				 o->label);
	int64_t rel = (int64_t)l->pc - (int64_t)st->pc - 1;
	if (o->label_field == FLD_OFF) {
		if (rel < INT16_MIN || rel > INT16_MAX)
			return asm_error(a, st->line, col,
					 "jump to '%.*s' is out of range: offset %" PRId64
					 " does not fit in 16 bits",
					 (int)o->label_len, o->label, rel);
		o->off = (int16_t)rel;
	} else {
		if (rel < INT32_MIN || rel > INT32_MAX)
			return asm_error(a, st->line, col, "jump to '%.*s' is out of range",
					 (int)o->label_len, o->label);
		o->imm = (int32_t)rel;
	}
	return 0;
}

static int encode_all(struct assembler *a, struct bpfvm_insn *out)
{
	for (size_t i = 0; i < a->nstmts; i++) {
		struct stmt *st = &a->stmts[i];
		if (st->raw) {
			out[st->pc] = st->insn;
			continue;
		}
		if (st->ops.label) {
			int rc = resolve_label(a, st);
			if (rc)
				return rc;
		}
		struct operands *o = &st->ops;
		uint64_t imm64 = o->imm64;
		if (o->set & FLD_IMM2)
			imm64 = (uint64_t)(uint32_t)o->imm | (uint64_t)(uint32_t)o->imm2 << 32;
		struct bpfvm_insn pair[2];
		int slots = bpfvm_isa_encode(st->opid, o->dst, o->src, o->off, o->imm, imm64, pair);
		memcpy(&out[st->pc], pair, (size_t)slots * sizeof(pair[0]));
	}
	return 0;
}

static enum bpfvm_syntax detect_syntax(const char *text)
{
	return strstr(text, "%r") ? BPFVM_SYNTAX_CONFORMANCE : BPFVM_SYNTAX_LLVM;
}

int bpfvm_asm(const char *text, enum bpfvm_syntax syntax, const char *filename,
	      struct bpfvm_insn **out, size_t *n, char *err, size_t errlen)
{
	struct assembler a = {0};
	a.filename = filename ? filename : "<input>";
	a.err = err;
	a.errlen = errlen;
	if (err && errlen)
		err[0] = 0;
	if (!out || !n)
		return -EINVAL;
	*out = NULL;
	*n = 0;
	if (!text) {
		if (err && errlen)
			snprintf(err, errlen, "%s: error: no input", a.filename);
		return -EINVAL;
	}
	a.syntax = syntax == BPFVM_SYNTAX_AUTO ? detect_syntax(text) : syntax;

	int rc = 0;
	size_t lineno = 1;
	for (const char *line = text; !rc; lineno++) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		rc = assemble_line(&a, line, len, lineno);
		if (!nl)
			break;
		line = nl + 1;
	}
	if (!rc && a.nstmts == 0) {
		if (err && errlen)
			snprintf(err, errlen, "%s: error: empty program", a.filename);
		rc = -EINVAL;
	}
	if (!rc && a.syntax == BPFVM_SYNTAX_CONFORMANCE && a.have_exit &&
	    !find_label(&a, "exit", 4)) {
		size_t end = a.pc;
		a.pc = a.first_exit;
		rc = define_label(&a, "exit", 4, 0, 0);
		a.pc = end;
	}
	struct bpfvm_insn *insns = NULL;
	if (!rc) {
		insns = calloc(a.pc, sizeof(*insns));
		rc = insns ? encode_all(&a, insns) : -ENOMEM;
	}
	if (rc == -ENOMEM && err && errlen)
		snprintf(err, errlen, "%s: error: out of memory", a.filename);
	if (!rc) {
		*out = insns;
		*n = a.pc;
	} else {
		free(insns);
	}
	free(a.stmts);
	free(a.labels);
	free(a.index);
	return rc;
}
