/* Small lexing and message helpers shared by both assembler syntaxes. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "asm/asm_internal.h"

void tb_init(struct textbuf *tb, char *buf, size_t cap)
{
	tb->buf = buf;
	tb->cap = cap;
	tb->len = 0;
	if (cap)
		buf[0] = 0;
}

void tb_printf(struct textbuf *tb, const char *fmt, ...)
{
	va_list ap;
	size_t room = tb->len < tb->cap ? tb->cap - tb->len : 0;
	va_start(ap, fmt);
	int w = vsnprintf(room ? tb->buf + tb->len : NULL, room, fmt, ap);
	va_end(ap);
	if (w > 0)
		tb->len += (size_t)w;
}

void tb_putc(struct textbuf *tb, char c)
{
	if (tb->len + 1 < tb->cap) {
		tb->buf[tb->len] = c;
		tb->buf[tb->len + 1] = 0;
	}
	tb->len++;
}

int is_word_char(int c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '$';
}

int is_label_start(int c)
{
	return isalpha((unsigned char)c) || c == '_' || c == '.' || c == '$';
}

int token_len(const char *text, size_t len)
{
	if (!len)
		return 0;
	size_t i = 0;
	if (is_word_char(text[0]) || ((text[0] == '-' || text[0] == '+' || text[0] == '%') &&
				      len > 1 && is_word_char(text[1]))) {
		i = 1;
		while (i < len && i < 40 && is_word_char(text[i]))
			i++;
		return (int)i;
	}
	return 1;
}

void fail_at(struct failure *f, size_t pos, int rank, const char *fmt, ...)
{
	if (f->set && (pos < f->pos || (pos == f->pos && rank <= f->rank)))
		return;
	f->set = 1;
	f->pos = pos;
	f->rank = rank;
	f->nwhat = 0;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
	va_end(ap);
}

void fail_expected(struct failure *f, size_t pos, int rank, const char *what, const char *text,
		   size_t len)
{
	if (f->set && (pos < f->pos || (pos == f->pos && rank < f->rank)))
		return;
	if (!f->set || pos != f->pos || rank != f->rank)
		f->nwhat = 0;
	f->set = 1;
	f->pos = pos;
	f->rank = rank;
	for (int i = 0; i < f->nwhat; i++)
		if (!strcmp(f->what[i], what))
			return;
	if (f->nwhat == 4)
		return;
	snprintf(f->what[f->nwhat++], sizeof(f->what[0]), "%s", what);
	char list[192] = "";
	for (int i = 0; i < f->nwhat; i++) {
		size_t used = strlen(list);
		snprintf(list + used, sizeof(list) - used, "%s%s",
			 i == 0 ? "" : i + 1 == f->nwhat ? " or " : ", ", f->what[i]);
	}
	if (len == 0)
		snprintf(f->msg, sizeof(f->msg), "expected %.150s, got end of line", list);
	else
		snprintf(f->msg, sizeof(f->msg), "expected %.120s, got '%.*s'", list,
			 token_len(text, len), text);
}

static int digit_value(int c, int base)
{
	int v;
	if (c >= '0' && c <= '9')
		v = c - '0';
	else if (c >= 'a' && c <= 'f')
		v = c - 'a' + 10;
	else if (c >= 'A' && c <= 'F')
		v = c - 'A' + 10;
	else
		return -1;
	return v < base ? v : -1;
}

int lex_int(const char *s, size_t len, size_t *pos, int64_t *value, int *is_neg, int *overflow)
{
	size_t p = *pos;
	int neg = 0, base = 10;
	if (p < len && (s[p] == '+' || s[p] == '-'))
		neg = s[p++] == '-';
	if (p + 1 < len && s[p] == '0' && (s[p + 1] == 'x' || s[p + 1] == 'X') &&
	    p + 2 < len && digit_value(s[p + 2], 16) >= 0) {
		base = 16;
		p += 2;
	}
	if (p >= len || digit_value(s[p], base) < 0)
		return 0;
	uint64_t mag = 0;
	int over = 0;
	for (int d; p < len && (d = digit_value(s[p], base)) >= 0; p++) {
		if (mag > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
			over = 1;
		mag = mag * (uint64_t)base + (uint64_t)d;
	}
	if (p < len && is_word_char(s[p]))
		return 0; /* "12abc" is not a number */
	*pos = p;
	*is_neg = neg;
	*overflow = over || (neg && mag > (uint64_t)1 << 63);
	*value = neg ? (int64_t)(0 - mag) : (int64_t)mag;
	return 1;
}
