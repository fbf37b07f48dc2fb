/* The LLVM syntax, both directions, from the `llvm` template of a table row.
 *
 * Directives (documented in isa.h): %d %D dst as rN/wN, %s %S src as rN/wN,
 * %i imm, %I 64-bit imm of LD_IMM64, %n imm of the second LD_IMM64 slot,
 * %o memory offset (" + 4" / " - 8"), %j jump offset in off, %J jump
 * offset in imm. One more, for llvm-objdump's habit of dropping a zero
 * operand (LD_IND prints `skb[r1]`): "%[ ... %]" is an optional group,
 * printed only when a field inside it is non-zero, and optional on input.
 *
 * Matching: a space in a template matches any amount of white space
 * (none included, unless it would glue two words together); every other
 * character matches itself. A directive that appears twice (`%d = -%d`)
 * must be given the same value both times.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "asm/asm_internal.h"

/* Letters that follow '%' in a directive; any other '%' is literal ("%="). */
#define DIRECTIVES "dDsSiInojJ"

/* ---- disassembly --------------------------------------------------------- */

/* Value of the instruction field a directive prints. */
static int64_t directive_value(char dir, const struct bpfvm_decoded *d)
{
	switch (dir) {
	case 'd': case 'D': return d->dst;
	case 's': case 'S': return d->src;
	case 'i': case 'J': return d->imm;
	case 'I': return (int64_t)d->imm64;
	case 'n': return d->imm2;
	case 'o': case 'j': return d->off;
	default: return 0;
	}
}

/* Does the optional group starting at tpl (just after "%[") hold a
 * non-zero field? */
static int group_has_value(const char *tpl, const struct bpfvm_decoded *d)
{
	for (const char *p = tpl; *p; p++) {
		if (p[0] != '%' || !p[1])
			continue;
		if (p[1] == ']')
			return 0;
		if (directive_value(p[1], d))
			return 1;
		p++;
	}
	return 0;
}

static const char *skip_group(const char *tpl)
{
	const char *end = strstr(tpl, "%]");
	return end ? end + 2 : tpl + strlen(tpl);
}

static void fill_directive(char dir, const struct bpfvm_decoded *d, struct textbuf *tb)
{
	switch (dir) {
	case 'd': tb_printf(tb, "r%u", d->dst); break;
	case 'D': tb_printf(tb, "w%u", d->dst); break;
	case 's': tb_printf(tb, "r%u", d->src); break;
	case 'S': tb_printf(tb, "w%u", d->src); break;
	case 'i': tb_printf(tb, "%" PRId32, d->imm); break;
	case 'n': tb_printf(tb, "%" PRId32, d->imm2); break;
	case 'I': tb_printf(tb, "%" PRId64, (int64_t)d->imm64); break;
	case 'o':
		if (d->off < 0)
			tb_printf(tb, " - %d", -(int)d->off);
		else
			tb_printf(tb, " + %d", d->off);
		break;
	case 'j': tb_printf(tb, "%+d", d->off); break;
	case 'J': tb_printf(tb, "%+" PRId32, d->imm); break;
	default: break;
	}
}

void tpl_fill(const char *tpl, const struct bpfvm_decoded *d, struct textbuf *tb)
{
	for (const char *p = tpl; *p; p++) {
		if (*p != '%' || !p[1]) {
			tb_putc(tb, *p);
			continue;
		}
		char dir = p[1];
		if (!strchr(DIRECTIVES "[]", dir)) {
			tb_putc(tb, *p);
			continue;
		}
		p++;
		if (dir == '[') {
			if (!group_has_value(p + 1, d))
				p = skip_group(p + 1) - 1;
		} else if (dir != ']') {
			fill_directive(dir, d, tb);
		}
	}
}

/* ---- assembly ------------------------------------------------------------ */

struct matcher {
	const char *s;
	size_t len, pos;
	struct operands *ops;
	struct failure *f;
	const char *tpl; /* the whole template */
	/* A 32-bit-or-narrower load, store or atomic: its value register may
	 * be written rN or wN, as llvm prints it without or with +alu32
	 * (`w2 = *(u32 *)(r1 - 4)`). The address register is always rN. */
	int either_width;
};

static size_t skip_space(struct matcher *m)
{
	size_t start = m->pos;
	while (m->pos < m->len && (m->s[m->pos] == ' ' || m->s[m->pos] == '\t'))
		m->pos++;
	return m->pos - start;
}

static int cur_tok(const struct matcher *m)
{
	return token_len(m->s + m->pos, m->len - m->pos);
}

#define GOT(m) cur_tok(m), (m)->s + (m)->pos

static void expected_ranked(struct matcher *m, const char *what, int rank)
{
	fail_expected(m->f, m->pos, rank, what, m->s + m->pos, m->len - m->pos);
}

static void expected(struct matcher *m, const char *what)
{
	expected_ranked(m, what, RANK_MISMATCH);
}

/* Store a field value (a repeated register is checked by match_reg). */
static int set_field(struct matcher *m, unsigned fld, int64_t value)
{
	struct operands *o = m->ops;
	o->set |= fld;
	switch (fld) {
	case FLD_DST: o->dst = (uint8_t)value; break;
	case FLD_SRC: o->src = (uint8_t)value; break;
	case FLD_OFF: o->off = (int16_t)value; break;
	case FLD_IMM: o->imm = (int32_t)value; break;
	case FLD_IMM2: o->imm2 = (int32_t)value; break;
	case FLD_IMM64: o->imm64 = (uint64_t)value; break;
	}
	return 1;
}

static int match_reg(struct matcher *m, char prefix, unsigned fld)
{
	size_t at = m->pos;
	const char *what = prefix == 'w' ? "32-bit register w0..w10" : "register";
	if (prefix == '*') /* either width */
		prefix = at < m->len && m->s[at] == 'w' ? 'w' : 'r';
	if (at + 1 >= m->len || m->s[at] != prefix || m->s[at + 1] < '0' || m->s[at + 1] > '9') {
		expected(m, what);
		return 0;
	}
	size_t p = at + 1;
	unsigned num = 0;
	while (p < m->len && m->s[p] >= '0' && m->s[p] <= '9' && num < 1000)
		num = num * 10 + (unsigned)(m->s[p++] - '0');
	if (p < m->len && is_word_char(m->s[p])) {
		expected(m, what);
		return 0;
	}
	if (num >= BPFVM_NREGS) {
		fail_at(m->f, at, RANK_OPERAND, "expected %s, got '%.*s'", what, GOT(m));
		return 0;
	}
	uint8_t old = fld == FLD_DST ? m->ops->dst : m->ops->src;
	if ((m->ops->set & fld) && old != num) {
		/* `%d = -%d`: both places name one register. */
		fail_at(m->f, at, RANK_OPERAND, "expected %c%u again, got '%.*s'", prefix, old, GOT(m));
		return 0;
	}
	m->pos = p;
	return set_field(m, fld, num);
}

/* A number within [min, max] (max as unsigned, so both signed and unsigned
 * spellings of a 32-bit value are accepted). */
static int match_number(struct matcher *m, const char *what, int64_t min, uint64_t max,
			int64_t *value)
{
	size_t at = m->pos;
	int neg, over;
	if (!lex_int(m->s, m->len, &m->pos, value, &neg, &over)) {
		expected(m, what);
		return 0;
	}
	int ok = !over && (neg ? *value >= min : (uint64_t)*value <= max);
	if (!ok) {
		m->pos = at;
		fail_at(m->f, at, RANK_RANGE, "%s %.*s is out of range [%" PRId64 ", %" PRIu64 "]",
			what, GOT(m), min, max);
		return 0;
	}
	return 1;
}

static int match_imm(struct matcher *m, unsigned fld)
{
	int64_t v;
	return match_number(m, "immediate", INT32_MIN, UINT32_MAX, &v) && set_field(m, fld, v);
}

static int match_imm64(struct matcher *m)
{
	int64_t v;
	return match_number(m, "64-bit immediate", INT64_MIN, UINT64_MAX, &v) &&
	       set_field(m, FLD_IMM64, v);
}

/* " + 4", " - 8", "+4", or nothing (offset 0). */
static int match_mem_offset(struct matcher *m)
{
	size_t save = m->pos;
	skip_space(m);
	if (m->pos >= m->len || (m->s[m->pos] != '+' && m->s[m->pos] != '-')) {
		m->pos = save;
		return set_field(m, FLD_OFF, 0);
	}
	int neg = m->s[m->pos++] == '-';
	skip_space(m);
	size_t at = m->pos;
	int64_t v;
	if (!match_number(m, "offset", 0, neg ? 32768 : 32767, &v))
		return 0;
	if (m->s[at] == '-' || m->s[at] == '+') {
		m->pos = at;
		expected(m, "offset");
		return 0;
	}
	return set_field(m, FLD_OFF, neg ? -v : v);
}

/* A jump target: "+3", "-2", "3" or a label resolved later. */
static int match_jump(struct matcher *m, unsigned fld)
{
	size_t at = m->pos;
	if (at < m->len && is_label_start(m->s[at])) {
		size_t p = at;
		while (p < m->len && is_word_char(m->s[p]))
			p++;
		m->ops->label = m->s + at;
		m->ops->label_len = p - at;
		m->ops->label_pos = at;
		m->ops->label_field = fld;
		m->ops->set |= fld;
		m->pos = p;
		return 1;
	}
	int64_t v;
	if (fld == FLD_OFF)
		return match_number(m, "jump offset or label", INT16_MIN, INT16_MAX, &v) &&
		       set_field(m, fld, v);
	return match_number(m, "jump offset or label", INT32_MIN, INT32_MAX, &v) &&
	       set_field(m, fld, v);
}

static int match_directive(struct matcher *m, char dir)
{
	switch (dir) {
	case 'd': return match_reg(m, 'r', FLD_DST);
	case 'D': return match_reg(m, 'w', FLD_DST);
	case 's': return match_reg(m, 'r', FLD_SRC);
	case 'S': return match_reg(m, 'w', FLD_SRC);
	case 'i': return match_imm(m, FLD_IMM);
	case 'n': return match_imm(m, FLD_IMM2);
	case 'I': return match_imm64(m);
	case 'o': return match_mem_offset(m);
	case 'j': return match_jump(m, FLD_OFF);
	case 'J': return match_jump(m, FLD_IMM);
	default: return 0;
	}
}

/* The literal text the template expects next, for messages ("'goto'"). */
static void expected_literal(struct matcher *m, const char *tpl)
{
	size_t n = 0;
	while (tpl[n] && tpl[n] != ' ' && tpl[n] != '%')
		n++;
	char what[48];
	snprintf(what, sizeof(what), "'%.*s'", (int)(n < 36 ? n : 36), tpl);
	expected_ranked(m, what, RANK_LITERAL);
}

static int match_space(struct matcher *m)
{
	size_t n = skip_space(m);
	if (n == 0 && m->pos > 0 && m->pos < m->len && is_word_char(m->s[m->pos - 1]) &&
	    is_word_char(m->s[m->pos])) {
		expected_ranked(m, "a space", RANK_LITERAL);
		return 0;
	}
	return 1;
}

/* Match tpl up to its end or to the "%]" closing the current group. */
static int match_seq(struct matcher *m, const char **tplp)
{
	const char *p = *tplp;
	while (*p) {
		if (p[0] == '%' && p[1] == ']') {
			*tplp = p + 2;
			return 1;
		}
		if (p[0] == '%' && p[1] == '[') {
			/* Optional group: on failure, rewind and continue after it. */
			struct operands saved = *m->ops;
			size_t save = m->pos;
			const char *inner = p + 2;
			if (!match_seq(m, &inner)) {
				*m->ops = saved;
				m->pos = save;
				inner = skip_group(p + 2);
			}
			p = inner;
			continue;
		}
		if (p[0] == '%' && p[1] && strchr(DIRECTIVES, p[1])) {
			int value_reg = strchr("dDsS", p[1]) && strncmp(p + 2, "%o", 2) != 0;
			if (m->either_width && value_reg) {
				if (!match_reg(m, '*', p[1] == 'd' || p[1] == 'D' ? FLD_DST : FLD_SRC))
					return 0;
			} else if (!match_directive(m, p[1])) {
				return 0;
			}
			p += 2;
			continue;
		}
		if (*p == ' ') {
			if (!match_space(m))
				return 0;
		} else if (m->pos < m->len && m->s[m->pos] == *p) {
			m->pos++;
		} else {
			/* Complain about the whole keyword ("func"), not its tail. */
			size_t k = 0;
			while (p - k > m->tpl && is_word_char(p[-(long)k - 1]) &&
			       !(p - k - 1 > m->tpl && p[-(long)k - 2] == '%') && k < m->pos)
				k++;
			m->pos -= k;
			expected_literal(m, p - k);
			return 0;
		}
		p++;
	}
	*tplp = p;
	return 1;
}

int tpl_match(const struct bpfvm_opinfo *row, const char *text, size_t len, struct operands *ops,
	      struct failure *f)
{
	if (!row->llvm || !len)
		return 0;
	int memory = row->kind == BPFVM_KIND_LDX || row->kind == BPFVM_KIND_STX ||
		     row->kind == BPFVM_KIND_ATOMIC;
	int either_width = memory && row->size <= 4;
	/* Quick reject on the first character: a failure at the very start
	 * only ever yields "unknown instruction", so no message is lost. */
	const char *t0 = row->llvm;
	char first = t0[0] != '%' ? t0[0] : (t0[1] == 'D' || t0[1] == 'S') ? 'w' : 'r';
	if (text[0] != first && !(either_width && t0[0] == '%' && (text[0] == 'w' || text[0] == 'r')))
		return 0;
	struct matcher m = {text, len, 0, ops, f, row->llvm, either_width};
	memset(ops, 0, sizeof(*ops));
	const char *tpl = row->llvm;
	if (!match_seq(&m, &tpl))
		return 0;
	skip_space(&m);
	if (m.pos < m.len) {
		fail_at(f, m.pos, RANK_MISMATCH, "unexpected '%.*s' after the instruction",
			GOT(&m));
		return 0;
	}
	return 1;
}
