/* The conformance (bpf_conformance / uBPF) syntax, both directions.
 *
 * A row's mnemonic comes from the table; its operand list follows from the
 * row's kind (an ALU row takes `dst, src|imm`, a load `dst, [src+off]`...),
 * so the parser and the printer below work for every row alike.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "asm/asm_internal.h"

enum operand_kind {
	OK_DST,        /* %rN -> dst */
	OK_SRC,        /* %rN -> src */
	OK_SRC_OR_IMM, /* %rN -> src (register row) or imm (immediate row) */
	OK_IMM,        /* 32-bit immediate */
	OK_IMM64,      /* 64-bit immediate (lddw) */
	OK_HELPER,     /* helper number, or %rN: callx with the register in dst */
	OK_MEM_DST,    /* [%rN+off] -> dst, off */
	OK_MEM_SRC,    /* [%rN+off] -> src, off */
	OK_TARGET,     /* label or +/-N -> off */
	OK_TARGET32,   /* label or +/-N -> imm */
};
#define MAX_OPERANDS 3

/* The operand list of a row, derived from what the row does. */
static int operand_kinds(const struct bpfvm_opinfo *row, enum operand_kind k[MAX_OPERANDS])
{
	switch (row->kind) {
	case BPFVM_KIND_ALU:
		k[0] = OK_DST;
		if (row->op == BPFVM_ALU_NEG)
			return 1;
		k[1] = row->op == BPFVM_ALU_MOVSX ? OK_SRC : OK_SRC_OR_IMM;
		return 2;
	case BPFVM_KIND_END:
	case BPFVM_KIND_CALLX:
		k[0] = OK_DST;
		return 1;
	case BPFVM_KIND_JA:
		k[0] = (row->flags & BPFVM_F_JUMP_IMM) ? OK_TARGET32 : OK_TARGET;
		return 1;
	case BPFVM_KIND_JCOND:
		k[0] = OK_DST;
		k[1] = OK_SRC_OR_IMM;
		k[2] = OK_TARGET;
		return 3;
	case BPFVM_KIND_CALL:
		k[0] = row->op == BPFVM_CALL_HELPER ? OK_HELPER
		       : row->op == BPFVM_CALL_LOCAL ? OK_TARGET32 : OK_IMM;
		return 1;
	case BPFVM_KIND_EXIT:
		return 0;
	case BPFVM_KIND_LDDW:
		k[0] = OK_DST;
		k[1] = OK_IMM64;
		return 2;
	case BPFVM_KIND_LDABS:
		k[0] = OK_IMM;
		return 1;
	case BPFVM_KIND_LDIND:
		k[0] = OK_SRC;
		k[1] = OK_IMM;
		return 2;
	case BPFVM_KIND_LDX:
	case BPFVM_KIND_LDXSX:
		k[0] = OK_DST;
		k[1] = OK_MEM_SRC;
		return 2;
	case BPFVM_KIND_ST:
		k[0] = OK_MEM_DST;
		k[1] = OK_IMM;
		return 2;
	default: /* STX, ATOMIC */
		k[0] = OK_MEM_DST;
		k[1] = OK_SRC;
		return 2;
	}
}

int conf_has_syntax(const struct bpfvm_opinfo *row)
{
	return row->mnem != NULL;
}

/* ---- printing ------------------------------------------------------------ */

static void format_operand(enum operand_kind k, const struct bpfvm_decoded *d,
			   struct textbuf *tb)
{
	switch (k) {
	case OK_DST: tb_printf(tb, "%%r%u", d->dst); break;
	case OK_SRC: tb_printf(tb, "%%r%u", d->src); break;
	case OK_SRC_OR_IMM:
		if (d->info->flags & BPFVM_F_REG_SRC)
			tb_printf(tb, "%%r%u", d->src);
		else
			tb_printf(tb, "%" PRId32, d->imm);
		break;
	case OK_IMM:
	case OK_HELPER: tb_printf(tb, "%" PRId32, d->imm); break;
	case OK_IMM64: tb_printf(tb, "0x%" PRIx64, d->imm64); break;
	case OK_MEM_DST: tb_printf(tb, "[%%r%u%+d]", d->dst, d->off); break;
	case OK_MEM_SRC: tb_printf(tb, "[%%r%u%+d]", d->src, d->off); break;
	case OK_TARGET: tb_printf(tb, "%+d", d->off); break;
	case OK_TARGET32: tb_printf(tb, "%+" PRId32, d->imm); break;
	}
}

void conf_format(const struct bpfvm_decoded *d, struct textbuf *tb)
{
	enum operand_kind k[MAX_OPERANDS];
	int n = operand_kinds(d->info, k);
	tb_printf(tb, "%s", d->info->mnem);
	for (int i = 0; i < n; i++) {
		tb_printf(tb, i ? ", " : " ");
		format_operand(k[i], d, tb);
	}
}

/* ---- names --------------------------------------------------------------- */

/* Does `name` (lower case, words separated by one space) name this row?
 * Besides the row's own mnemonic, the suite spells some rows differently:
 * add64 (= add), swap16 (= bswap16), gotol (= ja32), call helper (= call),
 * lock add64 / lock fetch xchg (= lock add / lock xchg). */
static int row_has_name(const struct bpfvm_opinfo *row, const char *name)
{
	const char *mn = row->mnem;
	if (!mn)
		return 0;
	if (!strcmp(name, mn))
		return 1;
	size_t ml = strlen(mn), nl = strlen(name);
	int wide = !(row->flags & BPFVM_F_ALU32);
	int with64 = nl == ml + 2 && !strncmp(name, mn, ml) && !strcmp(name + ml, "64");
	switch (row->kind) {
	case BPFVM_KIND_ALU:
		return wide && row->op != BPFVM_ALU_MOVSX && with64;
	case BPFVM_KIND_END:
		return row->op == BPFVM_END_BSWAP && !strcmp(name, mn + 1);
	case BPFVM_KIND_JA:
		return (row->flags & BPFVM_F_JUMP_IMM) && !strcmp(name, "gotol");
	case BPFVM_KIND_CALL:
		return row->op == BPFVM_CALL_HELPER && !strcmp(name, "call helper");
	case BPFVM_KIND_ATOMIC: {
		if (wide && with64)
			return 1;
		/* xchg and cmpxchg always fetch: "lock fetch xchg[64|32]". */
		if ((row->op != BPFVM_ATOMIC_XCHG && row->op != BPFVM_ATOMIC_CMPXCHG) ||
		    strncmp(name, "lock fetch ", 11) || strncmp(mn, "lock ", 5))
			return 0;
		const char *rest = name + 11, *base = mn + 5;
		size_t bl = strlen(base);
		return !strcmp(rest, base) ||
		       (wide && !strncmp(rest, base, bl) && !strcmp(rest + bl, "64"));
	}
	default:
		return 0;
	}
}

/* ---- parsing ------------------------------------------------------------- */

#define MAX_TOKENS 8
struct tokens {
	size_t n;
	size_t pos[MAX_TOKENS], len[MAX_TOKENS];
};

/* Split on white space and commas; "[...]" is one token. */
static int tokenize(const char *s, size_t len, struct tokens *t, struct failure *f)
{
	size_t p = 0;
	t->n = 0;
	for (;;) {
		while (p < len && (isspace((unsigned char)s[p]) || s[p] == ','))
			p++;
		if (p >= len)
			return 1;
		if (t->n == MAX_TOKENS) {
			fail_at(f, p, RANK_OPERAND, "too many operands at '%.*s'",
				token_len(s + p, len - p), s + p);
			return 0;
		}
		size_t start = p;
		if (s[p] == '[') {
			while (p < len && s[p] != ']')
				p++;
			if (p >= len) {
				fail_at(f, start, RANK_OPERAND, "missing ']' in memory operand");
				return 0;
			}
			p++;
		} else {
			while (p < len && !isspace((unsigned char)s[p]) && s[p] != ',')
				p++;
		}
		t->pos[t->n] = start;
		t->len[t->n++] = p - start;
	}
}

struct cparser {
	const char *s;
	struct failure *f;
	struct operands *ops;
};

/* %rN or rN, N <= 10. (The suite's run.py also takes r11..r15; no test
 * uses them, and `.insn` encodes invalid registers explicitly.) */
static int parse_reg(const char *s, size_t len, unsigned *reg)
{
	size_t p = 0;
	if (p < len && s[p] == '%')
		p++;
	if (p >= len || s[p] != 'r' || p + 1 >= len)
		return 0;
	unsigned v = 0;
	for (p++; p < len; p++) {
		if (!isdigit((unsigned char)s[p]) || v > 100)
			return 0;
		v = v * 10 + (unsigned)(s[p] - '0');
	}
	if (v >= BPFVM_NREGS)
		return 0;
	*reg = v;
	return 1;
}

static int is_reg_token(const char *s, size_t len)
{
	unsigned r;
	return parse_reg(s, len, &r);
}

static int want_reg(struct cparser *c, size_t at, size_t len, uint8_t *out)
{
	unsigned r;
	if (!parse_reg(c->s + at, len, &r)) {
		fail_at(c->f, at, RANK_OPERAND, "expected register, got '%.*s'", (int)len, c->s + at);
		return 0;
	}
	*out = (uint8_t)r;
	return 1;
}

/* A whole token that is a number within [min, max]. */
static int want_int(struct cparser *c, size_t at, size_t len, int64_t min, uint64_t max,
		    int64_t *v)
{
	size_t p = 0;
	int neg, over;
	if (!lex_int(c->s + at, len, &p, v, &neg, &over) || p != len) {
		fail_at(c->f, at, RANK_OPERAND, "invalid number '%.*s'", (int)len, c->s + at);
		return 0;
	}
	if (over || (neg ? *v < min : (uint64_t)*v > max)) {
		fail_at(c->f, at, RANK_RANGE, "%.*s is out of range [%" PRId64 ", %" PRIu64 "]",
			(int)len, c->s + at, min, max);
		return 0;
	}
	return 1;
}

/* [%rN], [%rN+off], [%rN - off] */
static int want_mem(struct cparser *c, size_t at, size_t len, uint8_t *reg)
{
	const char *s = c->s + at;
	size_t p = 1, e = len - 1; /* inside the brackets */
	while (p < e && isspace((unsigned char)s[p]))
		p++;
	size_t rs = p;
	while (p < e && (isalnum((unsigned char)s[p]) || s[p] == '%'))
		p++;
	if (!want_reg(c, at + rs, p - rs, reg))
		return 0;
	while (p < e && isspace((unsigned char)s[p]))
		p++;
	int64_t off = 0;
	if (p < e) {
		int neg = s[p] == '-';
		if (s[p] != '+' && s[p] != '-') {
			fail_at(c->f, at + p, RANK_OPERAND, "invalid memory operand '%.*s'", (int)len, s);
			return 0;
		}
		p++;
		while (p < e && isspace((unsigned char)s[p]))
			p++;
		size_t ns = p;
		while (p < e && !isspace((unsigned char)s[p]))
			p++;
		size_t ne = p;
		while (p < e && isspace((unsigned char)s[p]))
			p++;
		if (p != e || ns == ne || s[ns] == '+' || s[ns] == '-') {
			fail_at(c->f, at, RANK_OPERAND, "invalid memory operand '%.*s'", (int)len, s);
			return 0;
		}
		if (!want_int(c, at + ns, ne - ns, 0, neg ? 32768 : 65535, &off))
			return 0;
		off = neg ? -off : off;
	}
	c->ops->off = (int16_t)off;
	c->ops->set |= FLD_OFF;
	return 1;
}

static int want_target(struct cparser *c, size_t at, size_t len, unsigned fld)
{
	const char *s = c->s + at;
	int64_t v;
	if (is_label_start(s[0])) {
		size_t p = 0;
		while (p < len && is_word_char(s[p]))
			p++;
		if (p != len) {
			fail_at(c->f, at, RANK_OPERAND, "invalid label '%.*s'", (int)len, s);
			return 0;
		}
		c->ops->label = s;
		c->ops->label_len = len;
		c->ops->label_pos = at;
		c->ops->label_field = fld;
		c->ops->set |= fld;
		return 1;
	}
	if (fld == FLD_OFF) {
		if (!want_int(c, at, len, INT16_MIN, UINT16_MAX, &v))
			return 0;
		c->ops->off = (int16_t)(uint16_t)v;
	} else {
		if (!want_int(c, at, len, INT32_MIN, UINT32_MAX, &v))
			return 0;
		c->ops->imm = (int32_t)(uint32_t)v;
	}
	c->ops->set |= fld;
	return 1;
}

/* The sibling row with the same name whose source is (not) a register:
 * `add %r1, 2` and `add %r1, %r2` share a mnemonic but not a row. */
static const struct bpfvm_opinfo *row_with_source(const struct bpfvm_opinfo *row, int reg_src)
{
	const struct bpfvm_opinfo *t = bpfvm_isa_table();
	size_t n = bpfvm_isa_table_size();
	for (size_t i = 0; i < n; i++)
		if (t[i].mnem && !strcmp(t[i].mnem, row->mnem) &&
		    !!(t[i].flags & BPFVM_F_REG_SRC) == reg_src)
			return &t[i];
	return row;
}

/* The CALLX row, for `call %rN`. */
static const struct bpfvm_opinfo *callx_row(void)
{
	return &bpfvm_isa_table()[BPFVM_OP_CALLX];
}

static int parse_operand(struct cparser *c, enum operand_kind k, size_t at, size_t len,
			 const struct bpfvm_opinfo **row)
{
	struct operands *o = c->ops;
	const char *s = c->s + at;
	int64_t v;
	switch (k) {
	case OK_DST:
		o->set |= FLD_DST;
		return want_reg(c, at, len, &o->dst);
	case OK_SRC:
		o->set |= FLD_SRC;
		return want_reg(c, at, len, &o->src);
	case OK_SRC_OR_IMM:
		*row = row_with_source(*row, is_reg_token(s, len));
		if (is_reg_token(s, len))
			return parse_operand(c, OK_SRC, at, len, row);
		return parse_operand(c, OK_IMM, at, len, row);
	case OK_IMM:
		if (!want_int(c, at, len, INT32_MIN, UINT32_MAX, &v))
			return 0;
		o->imm = (int32_t)(uint32_t)v;
		o->set |= FLD_IMM;
		return 1;
	case OK_IMM64:
		if (!want_int(c, at, len, INT64_MIN, UINT64_MAX, &v))
			return 0;
		o->imm64 = (uint64_t)v;
		o->set |= FLD_IMM64;
		return 1;
	case OK_HELPER:
		if (is_reg_token(s, len)) {
			*row = callx_row();
			return parse_operand(c, OK_DST, at, len, row);
		}
		return parse_operand(c, OK_IMM, at, len, row);
	case OK_MEM_DST:
	case OK_MEM_SRC:
		if (s[0] != '[') {
			fail_at(c->f, at, RANK_OPERAND, "expected memory operand [%%rN+off], got '%.*s'",
				(int)len, s);
			return 0;
		}
		o->set |= k == OK_MEM_DST ? FLD_DST : FLD_SRC;
		return want_mem(c, at, len, k == OK_MEM_DST ? &o->dst : &o->src);
	case OK_TARGET:
		return want_target(c, at, len, FLD_OFF);
	case OK_TARGET32:
		return want_target(c, at, len, FLD_IMM);
	}
	return 0;
}

/* Mnemonic of the first `words` tokens, lower case, one space between words. */
static void join_words(const char *s, const struct tokens *t, size_t words, char *out, size_t cap)
{
	size_t n = 0;
	for (size_t w = 0; w < words; w++) {
		if (w && n + 1 < cap)
			out[n++] = ' ';
		for (size_t i = 0; i < t->len[w] && n + 1 < cap; i++)
			out[n++] = (char)tolower((unsigned char)s[t->pos[w] + i]);
	}
	out[n] = 0;
}

static const struct bpfvm_opinfo *find_row_named(const char *name)
{
	const struct bpfvm_opinfo *t = bpfvm_isa_table();
	size_t n = bpfvm_isa_table_size();
	for (size_t i = 0; i < n; i++)
		if (row_has_name(&t[i], name))
			return &t[i];
	return NULL;
}

int conf_parse(const char *text, size_t len, const struct bpfvm_opinfo **row_out,
	       struct operands *ops, struct failure *f)
{
	struct tokens t;
	memset(ops, 0, sizeof(*ops));
	if (!tokenize(text, len, &t, f) || t.n == 0)
		return 0;
	/* The longest run of leading words that is a mnemonic ("lock fetch add"). */
	for (size_t words = t.n < 3 ? t.n : 3; words > 0; words--) {
		char name[64];
		join_words(text, &t, words, name, sizeof(name));
		const struct bpfvm_opinfo *row = find_row_named(name);
		if (!row)
			continue;
		enum operand_kind k[MAX_OPERANDS];
		size_t want = (size_t)operand_kinds(row, k), got = t.n - words;
		if (got != want) {
			fail_at(f, got > want ? t.pos[words + want] : len, RANK_OPERAND,
				"%s takes %zu operand%s, got %zu", name, want, want == 1 ? "" : "s",
				got);
			return 0;
		}
		struct cparser c = {text, f, ops};
		for (size_t i = 0; i < want; i++)
			if (!parse_operand(&c, k[i], t.pos[words + i], t.len[words + i], &row))
				return 0;
		*row_out = row;
		return 1;
	}
	fail_at(f, 0, RANK_MISMATCH, "unknown mnemonic '%.*s'", (int)t.len[0], text);
	return 0;
}
