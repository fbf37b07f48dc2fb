/* Reading programs and data from the command line. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

void cli_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "bpfvm %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_read_file(const char *path, uint8_t **data, size_t *len, char *err, size_t errlen)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	if (!f) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	size_t cap = 4096, n = 0;
	uint8_t *buf = malloc(cap + 1);
	while (buf) {
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (n < cap)
			break;
		cap *= 2;
		uint8_t *nb = realloc(buf, cap + 1);
		if (!nb) {
			free(buf);
			buf = NULL;
		}
		buf = nb;
	}
	int rc = 0;
	if (!buf) {
		snprintf(err, errlen, "%s: out of memory", path);
		rc = -ENOMEM;
	} else if (ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		free(buf);
		rc = -EIO;
	} else {
		buf[n] = 0; /* text readers may treat it as a string */
		*data = buf;
		*len = n;
	}
	if (f != stdin)
		fclose(f);
	return rc;
}

static int hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int cli_parse_hex(const char *text, uint8_t **data, size_t *len, char *err, size_t errlen)
{
	size_t cap = strlen(text) / 2 + 1, n = 0;
	uint8_t *buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	const char *p = text;
	int pending = -1;
	while (*p) {
		if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X') && pending < 0) {
			p += 2;
			continue;
		}
		int d = hex_digit((unsigned char)*p);
		if (d >= 0) {
			if (pending < 0) {
				pending = d;
			} else {
				buf[n++] = (uint8_t)(pending << 4 | d);
				pending = -1;
			}
		} else if (isspace((unsigned char)*p) || *p == ',') {
			if (pending >= 0) {
				snprintf(err, errlen, "hex: odd number of digits before offset %zu",
					 (size_t)(p - text));
				free(buf);
				return -EINVAL;
			}
		} else {
			snprintf(err, errlen, "hex: unexpected character '%c' at offset %zu", *p,
				 (size_t)(p - text));
			free(buf);
			return -EINVAL;
		}
		p++;
	}
	if (pending >= 0) {
		snprintf(err, errlen, "hex: odd number of digits");
		free(buf);
		return -EINVAL;
	}
	*data = buf;
	*len = n;
	return 0;
}

static int bytes_to_program(const uint8_t *bytes, size_t len, const char *what,
			    struct cli_program *out, char *err, size_t errlen)
{
	if (len == 0) {
		snprintf(err, errlen, "%s: empty program", what);
		return -EINVAL;
	}
	if (len % sizeof(struct bpfvm_insn)) {
		snprintf(err, errlen, "%s: truncated bytecode: %zu bytes is not a multiple of 8 "
			 "(last instruction %zu is incomplete)", what, len, len / 8);
		return -EINVAL;
	}
	out->n = len / sizeof(struct bpfvm_insn);
	out->insns = malloc(len);
	if (!out->insns)
		return -ENOMEM;
	memcpy(out->insns, bytes, len);
	return 0;
}

/* Text that is only hex digits, spaces and 0x prefixes. */
static int looks_like_hex(const uint8_t *s, size_t len)
{
	size_t digits = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '0' && i + 1 < len && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
			i++;
			continue;
		}
		if (isxdigit(s[i]))
			digits++;
		else if (!isspace(s[i]) && s[i] != ',')
			return 0;
	}
	return digits > 0;
}

static int looks_like_text(const uint8_t *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] == 0 || (s[i] < 0x20 && !isspace(s[i])))
			return 0;
	return 1;
}

static int has_suffix(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

int cli_load_program(const char *arg, int is_hex, enum bpfvm_syntax syntax,
		     struct cli_program *out, char *err, size_t errlen)
{
	uint8_t *data = NULL;
	size_t len = 0;
	int rc;
	memset(out, 0, sizeof(*out));
	if (is_hex) {
		uint8_t *bytes;
		rc = cli_parse_hex(arg, &bytes, &len, err, errlen);
		if (rc)
			return rc;
		out->format = CLI_FORMAT_HEX;
		rc = bytes_to_program(bytes, len, "hex", out, err, errlen);
		free(bytes);
		return rc;
	}
	rc = cli_read_file(arg, &data, &len, err, errlen);
	if (rc)
		return rc;
	if (len >= 4 && memcmp(data, "\177ELF", 4) == 0) {
		snprintf(err, errlen, "%s: is an ELF object; use the object loader", arg);
		out->format = CLI_FORMAT_ELF;
		rc = -ENOTSUP;
	} else if (has_suffix(arg, ".s") || has_suffix(arg, ".asm") ||
		   (looks_like_text(data, len) && !looks_like_hex(data, len))) {
		out->format = CLI_FORMAT_ASM;
		rc = bpfvm_asm((const char *)data, syntax, arg, &out->insns, &out->n, err, errlen);
	} else if (looks_like_text(data, len) && looks_like_hex(data, len) && len > 0) {
		uint8_t *bytes;
		out->format = CLI_FORMAT_HEX;
		rc = cli_parse_hex((const char *)data, &bytes, &len, err, errlen);
		if (!rc) {
			rc = bytes_to_program(bytes, len, arg, out, err, errlen);
			free(bytes);
		}
	} else {
		out->format = CLI_FORMAT_BYTECODE;
		rc = bytes_to_program(data, len, arg, out, err, errlen);
	}
	free(data);
	return rc;
}

void cli_program_free(struct cli_program *p)
{
	free(p->insns);
	p->insns = NULL;
	p->n = 0;
}
