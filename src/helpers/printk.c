/* bpf_trace_printk and bpf_snprintf: the kernel's bpf_bprintf_prepare
 * checks (kernel/bpf/helpers.c), then formatting as its bstr_printf.
 *
 * Accepted: %d %i %u %x %X with an optional l or ll, %c, %s, %p (and %pK,
 * %px, %ps, %pS, %pB printed as hex: no symbols here; %pks, %pus strings;
 * %pI4 %pi4 %pI6 %pi6 addresses), %%; before the conversion optional
 * "0 + - space" flags and a width. Anything else, a non-printable or
 * non-ASCII character, a format not NUL-terminated within its size, a
 * %s/%p followed by a letter or digit, or more conversions than
 * arguments gives -EINVAL, as in the kernel (checked against it by
 * tests/helpers/test_kernel_printk.c). Strings are read with a
 * safe read; a bad pointer prints as an empty string. */
#include <stdio.h>
#include <string.h>

#include "helpers/helpers_internal.h"

#define MAX_BPRINTF_BUF 1024
#define MAX_BPRINTF_VARARGS 12
#define MAX_STR_ARG 512

/* The kernel's ctype is Latin-1 (160 is a space, 161..191 punctuation).
 * Its format check lets every byte >= 128 through (measured against
 * BPF_PROG_TEST_RUN: only ASCII controls other than \t..\r and DEL are
 * rejected). */
static int k_isspace(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r') || c == 160;
}

static int k_ispunct(unsigned char c)
{
	return (c >= 0x21 && c <= 0x2f) || (c >= 0x3a && c <= 0x40) || (c >= 0x5b && c <= 0x60) ||
	       (c >= 0x7b && c <= 0x7e) || (c >= 161 && c <= 191);
}

static int k_fmt_char_ok(unsigned char c)
{
	return (c >= 0x20 && c < 0x7f) || (c >= '\t' && c <= '\r') || c >= 0x80;
}

static int ends_word(unsigned char c)
{
	return c == 0 || k_isspace(c) || k_ispunct(c);
}

/* Output buffer that counts what would have been written, as vsnprintf. */
struct out {
	char *buf;
	size_t size, len;
};

static void put(struct out *o, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++, o->len++)
		if (o->size && o->len < o->size - 1)
			o->buf[o->len] = s[i];
}

static void put_fmt(struct out *o, const char *spec, ...) __attribute__((format(printf, 2, 3)));

static void put_repeat(struct out *o, char c, long n)
{
	for (long i = 0; i < n; i++)
		put(o, &c, 1);
}
static void put_fmt(struct out *o, const char *spec, ...)
{
	char tmp[MAX_STR_ARG + 128];
	va_list ap;
	va_start(ap, spec);
	int n = vsnprintf(tmp, sizeof(tmp), spec, ap);
	va_end(ap);
	if (n > 0)
		put(o, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

#define FIELD_WIDTH_MAX ((1 << 23) - 1) /* the kernel's vsnprintf limit */
#define LIBC_WIDTH_MAX 256

/* The spec's flags and width, as "%<flags><width>" + conv. Widths past
 * what the temporary buffer holds are left out; put_padded adds them. */
static void make_spec(char *spec, size_t size, const char *flags, size_t flen, const char *conv)
{
	long width = 0;
	size_t f = 0;
	while (f < flen && (flags[f] < '1' || flags[f] > '9'))
		f++;
	for (size_t i = f; i < flen; i++)
		width = width < FIELD_WIDTH_MAX ? width * 10 + (flags[i] - '0') : width;
	if (width > LIBC_WIDTH_MAX)
		flen = f;
	snprintf(spec, size, "%%%.*s%s", (int)flen, flags, conv);
}

/* Width of the spec if it is too wide for make_spec, else 0. */
static long big_width(const char *flags, size_t flen, int *left, int *zero)
{
	long width = 0;
	size_t f = 0;
	*left = *zero = 0;
	while (f < flen && (flags[f] < '1' || flags[f] > '9')) {
		*left |= flags[f] == '-';
		*zero |= flags[f] == '0';
		f++;
	}
	for (size_t i = f; i < flen; i++)
		width = width < FIELD_WIDTH_MAX ? width * 10 + (flags[i] - '0') : width;
	if (width > FIELD_WIDTH_MAX)
		width = FIELD_WIDTH_MAX;
	return width > LIBC_WIDTH_MAX ? width : 0;
}

static void put_ip(struct out *o, struct bpfvm_vm *vm, char kind, char ver, uint64_t addr)
{
	unsigned char ip[16];
	size_t n = ver == '4' ? 4 : 16;
	if (bpfvm__host_read(vm, ip, addr, n, 0)) {
		put(o, "(efault)", 8);
		return;
	}
	if (ver == '4') {
		if (kind == 'I')
			put_fmt(o, "%u.%u.%u.%u", ip[0], ip[1], ip[2], ip[3]);
		else
			put_fmt(o, "%03u.%03u.%03u.%03u", ip[0], ip[1], ip[2], ip[3]);
		return;
	}
	for (int i = 0; i < 16; i += 2)
		put_fmt(o, kind == 'I' && i ? ":%02x%02x" : "%02x%02x", ip[i], ip[i + 1]);
}

/* Append one converted argument, adding the padding of a field width
 * too wide for the temporary buffer (as the kernel's, up to 2^23 - 1). */
static void emit(struct out *o, const struct out *t, const char *flags, size_t flen, int numeric)
{
	int left, zero;
	long width = big_width(flags, flen, &left, &zero);
	size_t len = t->len < t->size ? t->len : t->size - 1;
	long pad = width > (long)len ? width - (long)len : 0;
	if (!pad) {
		put(o, t->buf, len);
		return;
	}
	if (left) {
		put(o, t->buf, len);
		put_repeat(o, ' ', pad);
	} else if (zero && numeric) {
		size_t sign = len && (t->buf[0] == '-' || t->buf[0] == '+' || t->buf[0] == ' ');
		put(o, t->buf, sign);
		put_repeat(o, '0', pad);
		put(o, t->buf + sign, len - sign);
	} else {
		put_repeat(o, ' ', pad);
		put(o, t->buf, len);
	}
}

int bpfvm__bprintf(struct bpfvm_vm *vm, char *outbuf, size_t outsz, const char *fmt,
		   size_t fmt_size, const uint64_t *args, int nargs)
{
	const char *nul = memchr(fmt, 0, fmt_size);
	if (!nul)
		return -EINVAL;
	size_t n = (size_t)(nul - fmt);
	/* First pass checks everything, as the kernel does before printing. */
	for (int pass = 0; pass < 2; pass++) {
		struct out o = {outbuf, pass ? outsz : 0, 0};
		int spec_no = 0;
		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)fmt[i];
			if (!k_fmt_char_ok(c))
				return -EINVAL;
			if (c != '%') {
				put(&o, &fmt[i], 1);
				continue;
			}
			if (fmt[i + 1] == '%') {
				put(&o, "%", 1);
				i++;
				continue;
			}
			if (spec_no >= nargs)
				return -EINVAL;
			uint64_t arg = args[spec_no];
			i++;
			const char *flags = &fmt[i];
			while (fmt[i] == '0' || fmt[i] == '+' || fmt[i] == '-' || fmt[i] == ' ')
				i++;
			if (fmt[i] >= '1' && fmt[i] <= '9')
				while (fmt[i] >= '0' && fmt[i] <= '9')
					i++;
			size_t flen = (size_t)(&fmt[i] - flags);
			char spec[48], tbuf[MAX_STR_ARG + 128];
			struct out t = {tbuf, sizeof(tbuf), 0};
			int numeric = 1;
			if (fmt[i] == 'p') {
				char next = fmt[i + 1];
				if ((next == 'k' || next == 'u') && fmt[i + 2] == 's') {
					i += 2;
					if (!ends_word((unsigned char)fmt[i + 1]))
						return -EINVAL;
					goto string_arg;
				}
				if (ends_word((unsigned char)next) || next == 'K' || next == 'x' ||
				    next == 's' || next == 'S' || next == 'B') {
					if (!ends_word((unsigned char)next))
						i++;
					if (!arg && next != 'K' && next != 'x') {
						/* As the kernel: "(null)", as wide as a pointer. */
						make_spec(spec, sizeof(spec), flags, flen, flen ? "s" : "16s");
						put_fmt(&t, spec, "(null)");
					} else {
						make_spec(spec, sizeof(spec), flags, flen, flen ? "llx" : "016llx");
						put_fmt(&t, spec, (unsigned long long)arg);
					}
					emit(&o, &t, flags, flen, numeric);
					spec_no++;
					continue;
				}
				if ((next != 'i' && next != 'I') || (fmt[i + 2] != '4' && fmt[i + 2] != '6'))
					return -EINVAL;
				if (pass)
					put_ip(&t, vm, next, fmt[i + 2], arg);
				i += 2;
				emit(&o, &t, flags, flen, numeric);
				spec_no++;
				continue;
			}
			if (fmt[i] == 's') {
				if (!ends_word((unsigned char)fmt[i + 1]))
					return -EINVAL;
string_arg:
				numeric = 0;
				if (pass) {
					char str[MAX_STR_ARG];
					if (bpfvm__host_read_str(vm, str, arg, sizeof(str), 0) < 0)
						str[0] = 0;
					make_spec(spec, sizeof(spec), flags, flen, "s");
					put_fmt(&t, spec, str);
				}
				emit(&o, &t, flags, flen, numeric);
				spec_no++;
				continue;
			}
			if (fmt[i] == 'c') {
				numeric = 0;
				make_spec(spec, sizeof(spec), flags, flen, "c");
				put_fmt(&t, spec, (int)(unsigned char)arg);
				emit(&o, &t, flags, flen, numeric);
				spec_no++;
				continue;
			}
			int longs = 0;
			while (longs < 2 && fmt[i] == 'l') {
				longs++;
				i++;
			}
			char conv = fmt[i];
			if (conv != 'i' && conv != 'd' && conv != 'u' && conv != 'x' && conv != 'X')
				return -EINVAL;
			int is_signed = conv == 'i' || conv == 'd';
			char cs[4] = {'l', 'l', is_signed ? 'd' : conv, 0};
			make_spec(spec, sizeof(spec), flags, flen, cs);
			if (longs == 0 && is_signed)
				put_fmt(&t, spec, (long long)(int32_t)arg);
			else if (longs == 0)
				put_fmt(&t, spec, (unsigned long long)(uint32_t)arg);
			else if (is_signed)
				put_fmt(&t, spec, (long long)arg);
			else
				put_fmt(&t, spec, (unsigned long long)arg);
			emit(&o, &t, flags, flen, numeric);
			spec_no++;
		}
		if (pass) {
			if (o.size)
				o.buf[o.len < o.size ? o.len : o.size - 1] = 0;
			return (int)o.len;
		}
	}
	return -EINVAL; /* not reached */
}

/* bpf_trace_printk(fmt, fmt_size, arg1, arg2, arg3): the text goes to the
 * VM's print sink; returns its length. */
HELPER_FN(bpfvm__h_trace_printk)
{
	if (!bpfvm__helper_mem_ok(cc, r1, r2, 0))
		return (uint64_t)(int64_t)-EFAULT;
	uint64_t args[3] = {r3, r4, r5};
	char buf[MAX_BPRINTF_BUF];
	int n = bpfvm__bprintf(cc->vm, buf, sizeof(buf), (const char *)(uintptr_t)r1, r2, args, 3);
	if (n < 0)
		return (uint64_t)(int64_t)n;
	size_t len = (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1;
	cc->vm->print(cc->vm->print_user, buf, len);
	return (uint64_t)n;
}

/* bpf_snprintf(str, str_size, fmt, data, data_len): returns the bytes the
 * whole text needs, NUL included. */
HELPER_FN(bpfvm__h_snprintf)
{
	if ((r5 % 8) || r5 / 8 > MAX_BPRINTF_VARARGS)
		return (uint64_t)(int64_t)-EINVAL;
	if (r5 && !r4)
		return (uint64_t)(int64_t)-EINVAL;
	if (!bpfvm__helper_mem_ok(cc, r1, r2, 1) || !bpfvm__helper_mem_ok(cc, r4, r5, 0))
		return (uint64_t)(int64_t)-EFAULT;
	/* The verifier has checked fmt is a NUL-terminated constant; a
	 * checked program's fmt must at least be readable memory. */
	const char *fmt = (const char *)(uintptr_t)r3;
	size_t fmt_size = 4096;
	if (cc->checked) {
		size_t i = 0;
		while (i < fmt_size && bpfvm__helper_mem_ok(cc, r3 + i, 1, 0) && fmt[i])
			i++;
		if (i == fmt_size || !bpfvm__helper_mem_ok(cc, r3 + i, 1, 0))
			return (uint64_t)(int64_t)-EINVAL;
		fmt_size = i + 1;
	} else {
		fmt_size = strnlen(fmt, fmt_size) + 1;
	}
	uint64_t args[MAX_BPRINTF_VARARGS];
	if (r5)
		memcpy(args, (const void *)(uintptr_t)r4, r5);
	int n = bpfvm__bprintf(cc->vm, (char *)(uintptr_t)r1, r2, fmt, fmt_size, args,
			       (int)(r5 / 8));
	if (n < 0)
		return (uint64_t)(int64_t)n;
	return (uint64_t)n + 1;
}
