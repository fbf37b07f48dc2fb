/* Reading classic programs: the three forms tcpdump prints (-dd C array,
 * -ddd decimal lines, -d listing) and raw struct sock_filter bytes.
 * Errors name the file, the line and what was expected. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbpf/cbpf_internal.h"

/* The text being read, one line at a time. */
struct reader {
	const char *text, *end;
	const char *file;
	const char *pos;        /* start of the next line */
	const char *line_start; /* current line */
	const char *line_end;
	unsigned lineno;
	char *err;
	size_t errlen;
	/* The program being built. */
	struct bpfvm_cbpf_insn *insns;
	size_t n, cap;
};

static int parse_error(struct reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int parse_error(struct reader *r, const char *fmt, ...)
{
	if (r->err && r->errlen) {
		int len = snprintf(r->err, r->errlen, "%s:%u: ", r->file, r->lineno);
		if (len >= 0 && (size_t)len < r->errlen) {
			va_list ap;
			va_start(ap, fmt);
			vsnprintf(r->err + len, r->errlen - (size_t)len, fmt, ap);
			va_end(ap);
		}
	}
	return -EINVAL;
}

/* Advance to the next line; returns 0 at the end of the text. */
static int next_line(struct reader *r)
{
	if (r->pos >= r->end)
		return 0;
	const char *nl = memchr(r->pos, '\n', (size_t)(r->end - r->pos));
	r->line_start = r->pos;
	r->line_end = nl ? nl : r->end;
	r->pos = r->line_end + 1;
	r->lineno++;
	return 1;
}

static int add_insn(struct reader *r, uint16_t code, uint8_t jt, uint8_t jf, uint32_t k)
{
	if (r->n >= BPFVM_CBPF_MAXINSNS * 16u)
		return parse_error(r, "too many instructions");
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		struct bpfvm_cbpf_insn *ni = realloc(r->insns, cap * sizeof(*ni));
		if (!ni) {
			parse_error(r, "out of memory");
			return -ENOMEM;
		}
		r->insns = ni;
		r->cap = cap;
	}
	r->insns[r->n++] = (struct bpfvm_cbpf_insn){code, jt, jf, k};
	return 0;
}

static const char *skip_space(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
		p++;
	return p;
}

/* An unsigned number, decimal or 0x hex (never octal: "(008)" is 8), or, with
 * allow_negative, a negative decimal taken modulo 2^32. */
static int parse_number(struct reader *r, const char **pp, const char *end, uint64_t max,
			int allow_negative, uint64_t *out, const char *what)
{
	const char *p = skip_space(*pp, end);
	int neg = 0;
	if (allow_negative && p < end && *p == '-') {
		neg = 1;
		p++;
	}
	if (p >= end || !isdigit((unsigned char)*p))
		return parse_error(r, "expected %s", what);
	char buf[32];
	size_t len = 0;
	while (p < end && isalnum((unsigned char)*p) && len < sizeof(buf) - 1)
		buf[len++] = *p++;
	buf[len] = 0;
	char *stop;
	errno = 0;
	int hex = buf[0] == '0' && (buf[1] == 'x' || buf[1] == 'X');
	unsigned long long v = strtoull(hex ? buf + 2 : buf, &stop, hex ? 16 : 10);
	if (hex && !buf[2])
		stop = buf + 1; /* "0x" alone */
	if (*stop || errno || v > max || (neg && v > 0x80000000ull))
		return parse_error(r, "bad %s '%s%s'", what, neg ? "-" : "", buf);
	*out = neg ? (uint64_t)(uint32_t)(0u - (uint32_t)v) : v;
	*pp = p;
	return 0;
}

static int expect_char(struct reader *r, const char **pp, const char *end, char c)
{
	const char *p = skip_space(*pp, end);
	if (p >= end || *p != c)
		return parse_error(r, "expected '%c'", c);
	*pp = p + 1;
	return 0;
}

static int rest_is_blank(const char *p, const char *end)
{
	return skip_space(p, end) == end;
}

/* ---- tcpdump -dd: { 0x28, 0, 0, 0x0000000c }, ------------------------------- */

static int parse_quad(struct reader *r, const char **pp, const char *end)
{
	uint64_t code, jt, jf, k;
	int rc;
	if ((rc = parse_number(r, pp, end, 0xffff, 0, &code, "opcode")) ||
	    (rc = expect_char(r, pp, end, ',')) ||
	    (rc = parse_number(r, pp, end, 0xff, 0, &jt, "jt")) ||
	    (rc = expect_char(r, pp, end, ',')) ||
	    (rc = parse_number(r, pp, end, 0xff, 0, &jf, "jf")) ||
	    (rc = expect_char(r, pp, end, ',')) ||
	    (rc = parse_number(r, pp, end, 0xffffffffu, 0, &k, "k")) ||
	    (rc = expect_char(r, pp, end, '}')))
		return rc;
	return add_insn(r, (uint16_t)code, (uint8_t)jt, (uint8_t)jf, (uint32_t)k);
}

/* Every "{ n, n, n, n }" in the text is one instruction; other text
 * (a surrounding "struct sock_filter f[] = {", "};", comments) is skipped. */
static int parse_c_array(struct reader *r)
{
	while (next_line(r)) {
		const char *p = r->line_start, *end = r->line_end;
		const char *comment = NULL;
		for (const char *q = p; q + 1 < end; q++)
			if (q[0] == '/' && (q[1] == '/' || q[1] == '*')) {
				comment = q;
				break;
			}
		if (comment)
			end = comment;
		while ((p = memchr(p, '{', (size_t)(end - p))) != NULL) {
			p++;
			const char *q = skip_space(p, end);
			if (q >= end || !isdigit((unsigned char)*q))
				continue;
			int rc = parse_quad(r, &p, end);
			if (rc)
				return rc;
		}
	}
	return 0;
}

/* ---- tcpdump -ddd: a count line, then "code jt jf k" per line ---------------- */

static int parse_decimal(struct reader *r)
{
	uint64_t count = 0;
	int have_count = 0;
	while (next_line(r)) {
		const char *p = skip_space(r->line_start, r->line_end), *end = r->line_end;
		if (p == end || *p == '#')
			continue;
		int rc;
		if (!have_count) {
			if ((rc = parse_number(r, &p, end, BPFVM_CBPF_MAXINSNS * 16u, 0, &count,
					       "instruction count")))
				return rc;
			if (!rest_is_blank(p, end))
				return parse_error(r, "expected only the instruction count on the first line");
			have_count = 1;
			continue;
		}
		uint64_t code, jt, jf, k;
		if ((rc = parse_number(r, &p, end, 0xffff, 0, &code, "opcode")) ||
		    (rc = parse_number(r, &p, end, 0xff, 0, &jt, "jt")) ||
		    (rc = parse_number(r, &p, end, 0xff, 0, &jf, "jf")) ||
		    (rc = parse_number(r, &p, end, 0xffffffffu, 0, &k, "k")))
			return rc;
		if (!rest_is_blank(p, end))
			return parse_error(r, "expected four numbers: code jt jf k");
		if ((rc = add_insn(r, (uint16_t)code, (uint8_t)jt, (uint8_t)jf, (uint32_t)k)))
			return rc;
	}
	if (!have_count)
		return parse_error(r, "expected the instruction count");
	if (count != r->n)
		return parse_error(r, "the first line announces %llu instructions, %zu follow",
				   (unsigned long long)count, r->n);
	return 0;
}

/* ---- tcpdump -d: (000) ldh      [12] ------------------------------------------ */

/* The operand's syntax class; immediates in hex and decimal are one class. */
static int operand_class(int operand)
{
	return operand == CBPF_OPD_DEC ? CBPF_OPD_HEX : operand;
}

/* Parse the operand text into its class and value. */
static int parse_operand(struct reader *r, const char *p, const char *end, int *cls, uint64_t *k)
{
	p = skip_space(p, end);
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*k = 0;
	if (p == end) {
		*cls = CBPF_OPD_NONE;
		return 0;
	}
	size_t len = (size_t)(end - p);
	if ((len == 1 && (*p == 'a' || *p == 'A'))) { /* "ret a" */
		*cls = CBPF_OPD_NONE;
		return 0;
	}
	if (len == 1 && (*p == 'x' || *p == 'X')) {
		*cls = CBPF_OPD_X;
		return 0;
	}
	if ((len == 7 && !strncmp(p, "#pktlen", 7)) || (len == 4 && !strncmp(p, "#len", 4)) ||
	    (len == 3 && !strncmp(p, "len", 3))) {
		*cls = CBPF_OPD_LEN;
		return 0;
	}
	int rc;
	if (*p == '#') {
		p++;
		*cls = CBPF_OPD_HEX;
		rc = parse_number(r, &p, end, 0xffffffffu, 1, k, "immediate");
	} else if (!strncmp(p, "M[", 2)) {
		p += 2;
		*cls = CBPF_OPD_MEM;
		if ((rc = parse_number(r, &p, end, 0xffffffffu, 0, k, "scratch memory index")) ||
		    (rc = expect_char(r, &p, end, ']')))
			return rc;
	} else if (!strncmp(p, "4*([", 4)) {
		p += 4;
		*cls = CBPF_OPD_MSH;
		if ((rc = parse_number(r, &p, end, 0xffffffffu, 1, k, "offset")) ||
		    (rc = expect_char(r, &p, end, ']')) || (rc = expect_char(r, &p, end, '&')))
			return rc;
		uint64_t mask;
		if ((rc = parse_number(r, &p, end, 0xff, 0, &mask, "mask 0xf")))
			return rc;
		if (mask != 0xf)
			return parse_error(r, "expected mask 0xf in 4*([k]&0xf)");
		rc = expect_char(r, &p, end, ')');
	} else if (*p == '[') {
		p++;
		const char *q = skip_space(p, end);
		if (q < end && (*q == 'x' || *q == 'X')) {
			p = q + 1;
			*cls = CBPF_OPD_IND;
			if ((rc = expect_char(r, &p, end, '+')))
				return rc;
		} else {
			*cls = CBPF_OPD_ABS;
		}
		if ((rc = parse_number(r, &p, end, 0xffffffffu, 1, k, "offset")) ||
		    (rc = expect_char(r, &p, end, ']')))
			return rc;
	} else if (isdigit((unsigned char)*p) || *p == '-') {
		*cls = CBPF_OPD_TARGET;
		rc = parse_number(r, &p, end, 0xffffffffu, 1, k, "jump target");
	} else {
		return parse_error(r, "unknown operand '%.*s'", (int)len, p);
	}
	if (rc)
		return rc;
	if (!rest_is_blank(p, end))
		return parse_error(r, "unexpected text after the operand: '%.*s'", (int)(end - p), p);
	return 0;
}

/* The row printed as mnem with an operand of class cls. */
static const struct cbpf_opinfo *find_row(const char *mnem, size_t mlen, int cls)
{
	const struct cbpf_opinfo *t = bpfvm__cbpf_table();
	for (size_t i = 0; i < CBPF_OP__COUNT; i++)
		if (strlen(t[i].mnem) == mlen && !strncmp(t[i].mnem, mnem, mlen) &&
		    operand_class(t[i].operand) == cls)
			return &t[i];
	return NULL;
}

/* An absolute jump target as a forward offset from pc. */
static int target_offset(struct reader *r, uint64_t target, size_t pc, uint64_t max, uint64_t *off,
			 const char *what)
{
	if (target <= pc || target - pc - 1 > max)
		return parse_error(r, "%s target %llu is not forward of insn %zu within %llu", what,
				   (unsigned long long)target, pc, (unsigned long long)max);
	*off = target - pc - 1;
	return 0;
}

static int parse_listing_line(struct reader *r, const char *p, const char *end)
{
	size_t pc = r->n;
	int rc;
	if (*p == '(') { /* "(NNN) " index, must be the next one */
		uint64_t idx;
		p++;
		if ((rc = parse_number(r, &p, end, 0xffffffffu, 0, &idx, "instruction index")) ||
		    (rc = expect_char(r, &p, end, ')')))
			return rc;
		if (idx != pc)
			return parse_error(r, "instruction (%03llu) where (%03zu) was expected",
					   (unsigned long long)idx, pc);
		p = skip_space(p, end);
	}
	const char *mnem = p;
	while (p < end && isalpha((unsigned char)*p))
		p++;
	size_t mlen = (size_t)(p - mnem);
	if (!mlen)
		return parse_error(r, "expected a mnemonic");
	if (mlen == 5 && !strncmp(mnem, "unimp", 5))
		return parse_error(r, "unknown instruction (unimp)");
	/* Conditional jumps end with "jt N<tab>jf N". */
	const char *jt_at = NULL;
	for (const char *q = p; q + 3 < end; q++)
		if (!strncmp(q, "jt ", 3) && (q[-1] == ' ' || q[-1] == '\t')) {
			jt_at = q;
			break;
		}
	const char *operand_end = jt_at ? jt_at : end;
	int cls = CBPF_OPD_NONE;
	uint64_t k;
	if ((rc = parse_operand(r, p, operand_end, &cls, &k)))
		return rc;
	const struct cbpf_opinfo *row = find_row(mnem, mlen, cls);
	if (!row)
		return parse_error(r, "unknown instruction '%.*s' with this operand", (int)mlen, mnem);
	int is_cond = row->kind == CBPF_K_JMP_K || row->kind == CBPF_K_JMP_X;
	if (is_cond != (jt_at != NULL))
		return parse_error(r, is_cond ? "expected 'jt N jf N' after a conditional jump"
					      : "'jt'/'jf' after an instruction that does not branch");
	uint64_t jt = 0, jf = 0;
	if (jt_at) {
		uint64_t t_true, t_false;
		const char *q = jt_at + 3;
		if ((rc = parse_number(r, &q, end, 0xffffffffu, 0, &t_true, "jt target")))
			return rc;
		q = skip_space(q, end);
		if (end - q < 3 || strncmp(q, "jf ", 3))
			return parse_error(r, "expected 'jf N'");
		q += 3;
		if ((rc = parse_number(r, &q, end, 0xffffffffu, 0, &t_false, "jf target")))
			return rc;
		if (!rest_is_blank(q, end))
			return parse_error(r, "unexpected text after jf");
		if ((rc = target_offset(r, t_true, pc, 255, &jt, "jt")) ||
		    (rc = target_offset(r, t_false, pc, 255, &jf, "jf")))
			return rc;
	}
	if (row->operand == CBPF_OPD_TARGET) {
		/* ja prints an absolute target; libpcap's protochain jumps
		 * backwards, which wraps k as libpcap does (validate rejects it). */
		k = (uint32_t)(k - pc - 1);
	}
	return add_insn(r, row->code, (uint8_t)jt, (uint8_t)jf, (uint32_t)k);
}

static int parse_listing(struct reader *r)
{
	while (next_line(r)) {
		const char *p = skip_space(r->line_start, r->line_end), *end = r->line_end;
		while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
			end--;
		if (p == end || *p == ';' || (*p == '/' && end - p > 1 && p[1] == '/'))
			continue;
		if (!strncmp(p, "Warning:", 8)) /* tcpdump's "Warning: assuming Ethernet" */
			continue;
		int rc = parse_listing_line(r, p, end);
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- raw bytes and format detection -------------------------------------------- */

static int looks_binary(const uint8_t *data, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (data[i] == 0 || (data[i] < 0x20 && !isspace(data[i])) || data[i] >= 0x7f)
			return 1;
	return 0;
}

static enum bpfvm_cbpf_format detect_text_format(const char *text, const char *end)
{
	if (memchr(text, '{', (size_t)(end - text)))
		return BPFVM_CBPF_C_ARRAY;
	const char *p = text;
	/* The first line that is not blank decides. */
	for (;;) {
		while (p < end && isspace((unsigned char)*p))
			p++;
		if (p >= end)
			return BPFVM_CBPF_LISTING;
		if (*p != ';' && strncmp(p, "Warning:", 8) != 0 && *p != '#')
			break;
		while (p < end && *p != '\n')
			p++;
	}
	return isdigit((unsigned char)*p) ? BPFVM_CBPF_DECIMAL : BPFVM_CBPF_LISTING;
}

int bpfvm_cbpf_parse(const void *data, size_t len, enum bpfvm_cbpf_format format,
		     const char *filename, struct bpfvm_cbpf_insn **out, size_t *n, char *err,
		     size_t errlen)
{
	struct reader r = {.text = data, .end = (const char *)data + len,
			   .pos = data,
			   .file = filename ? filename : "<input>", .err = err, .errlen = errlen};
	*out = NULL;
	*n = 0;
	if (format == BPFVM_CBPF_AUTO)
		format = looks_binary(data, len) ? BPFVM_CBPF_RAW : detect_text_format(r.text, r.end);
	int rc;
	switch (format) {
	case BPFVM_CBPF_RAW:
		if (len % sizeof(struct bpfvm_cbpf_insn)) {
			if (err && errlen)
				snprintf(err, errlen, "%s: %zu bytes is not a whole number of 8-byte instructions",
					 r.file, len);
			return -EINVAL;
		}
		if (len == 0) {
			if (err && errlen)
				snprintf(err, errlen, "%s: empty program", r.file);
			return -EINVAL;
		}
		*out = malloc(len);
		if (!*out)
			return -ENOMEM;
		memcpy(*out, data, len);
		*n = len / sizeof(struct bpfvm_cbpf_insn);
		return 0;
	case BPFVM_CBPF_C_ARRAY:
		rc = parse_c_array(&r);
		break;
	case BPFVM_CBPF_DECIMAL:
		rc = parse_decimal(&r);
		break;
	case BPFVM_CBPF_LISTING:
		rc = parse_listing(&r);
		break;
	default:
		if (err && errlen)
			snprintf(err, errlen, "%s: unknown format %d", r.file, (int)format);
		return -EINVAL;
	}
	if (!rc && r.n == 0) {
		if (err && errlen)
			snprintf(err, errlen, "%s: no instructions found", r.file);
		rc = -EINVAL;
	}
	if (rc) {
		free(r.insns);
		return rc;
	}
	*out = r.insns;
	*n = r.n;
	return 0;
}
