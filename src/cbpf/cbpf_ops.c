/* The classic opcode table, and classic programs as text (tcpdump's three
 * dump formats). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbpf/cbpf_internal.h"

static const struct cbpf_opinfo cbpf_table[CBPF_OP__COUNT] = {
#define CBPF_OP(ID, CODE, KIND, SIZE, EOP, EINV, MN, OPD) \
	[CBPF_OP_##ID] = {#ID, CODE, KIND, SIZE, EOP, EINV, MN, OPD},
#include "cbpf/cbpf_ops.def"
#undef CBPF_OP
};

/* Row index + 1 by opcode (0: unknown). Classic opcodes fit in a byte;
 * larger codes are unknown by construction. */
static const uint8_t row_by_code[256] = {
#define CBPF_OP(ID, CODE, ...) [CODE] = CBPF_OP_##ID + 1,
#include "cbpf/cbpf_ops.def"
#undef CBPF_OP
};

const struct cbpf_opinfo *bpfvm__cbpf_table(void)
{
	return cbpf_table;
}

const struct cbpf_opinfo *bpfvm__cbpf_lookup(uint16_t code)
{
	if (code > 0xff || !row_by_code[code])
		return NULL;
	return &cbpf_table[row_by_code[code] - 1];
}

static void format_operand(const struct cbpf_opinfo *row, const struct bpfvm_cbpf_insn *insn,
			   size_t pc, char *buf, size_t len)
{
	switch ((enum cbpf_operand)row->operand) {
	case CBPF_OPD_NONE:
		buf[0] = 0;
		break;
	case CBPF_OPD_ABS:
		snprintf(buf, len, "[%d]", (int32_t)insn->k);
		break;
	case CBPF_OPD_IND:
		snprintf(buf, len, "[x + %d]", (int32_t)insn->k);
		break;
	case CBPF_OPD_LEN:
		snprintf(buf, len, "#pktlen");
		break;
	case CBPF_OPD_HEX:
		snprintf(buf, len, "#0x%x", insn->k);
		break;
	case CBPF_OPD_DEC:
		snprintf(buf, len, "#%d", (int32_t)insn->k);
		break;
	case CBPF_OPD_MEM:
		snprintf(buf, len, "M[%d]", (int32_t)insn->k);
		break;
	case CBPF_OPD_MSH:
		snprintf(buf, len, "4*([%d]&0xf)", (int32_t)insn->k);
		break;
	case CBPF_OPD_X:
		snprintf(buf, len, "x");
		break;
	case CBPF_OPD_TARGET:
		snprintf(buf, len, "%llu", (unsigned long long)pc + 1 + insn->k);
		break;
	}
}

int bpfvm_cbpf_format_insn(const struct bpfvm_cbpf_insn *insn, size_t pc, char *buf,
			   size_t buflen)
{
	const struct cbpf_opinfo *row = bpfvm__cbpf_lookup(insn->code);
	char operand[64];
	if (!row)
		return snprintf(buf, buflen, "%-8s 0x%x", "unimp", insn->code);
	format_operand(row, insn, pc, operand, sizeof(operand));
	if (row->kind == CBPF_K_JMP_K || row->kind == CBPF_K_JMP_X)
		return snprintf(buf, buflen, "%-8s %-16s jt %zu\tjf %zu", row->mnem, operand,
				pc + 1 + insn->jt, pc + 1 + insn->jf);
	return snprintf(buf, buflen, "%-8s %s", row->mnem, operand);
}

/* A growing string for the dumps. */
struct strbuf {
	char *s;
	size_t len, cap;
	int failed;
};

static void sb_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct strbuf *sb, const char *fmt, ...)
{
	if (sb->failed)
		return;
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int need = vsnprintf(sb->s ? sb->s + sb->len : NULL, sb->s ? sb->cap - sb->len : 0, fmt, ap);
		va_end(ap);
		if (need < 0) {
			sb->failed = 1;
			return;
		}
		if (sb->s && sb->len + (size_t)need < sb->cap) {
			sb->len += (size_t)need;
			return;
		}
		size_t cap = (sb->cap ? sb->cap * 2 : 256) + (size_t)need;
		char *ns = realloc(sb->s, cap);
		if (!ns) {
			sb->failed = 1;
			return;
		}
		sb->s = ns;
		sb->cap = cap;
	}
}

char *bpfvm_cbpf_dump(const struct bpfvm_cbpf_insn *insns, size_t n, enum bpfvm_cbpf_format format)
{
	struct strbuf sb = {0};
	char line[160];
	if (format == BPFVM_CBPF_DECIMAL)
		sb_printf(&sb, "%zu\n", n);
	for (size_t pc = 0; pc < n; pc++) {
		const struct bpfvm_cbpf_insn *in = &insns[pc];
		switch (format) {
		case BPFVM_CBPF_C_ARRAY:
			sb_printf(&sb, "{ 0x%x, %u, %u, 0x%08x },\n", in->code, in->jt, in->jf, in->k);
			break;
		case BPFVM_CBPF_DECIMAL:
			sb_printf(&sb, "%u %u %u %u\n", in->code, in->jt, in->jf, in->k);
			break;
		case BPFVM_CBPF_LISTING:
			bpfvm_cbpf_format_insn(in, pc, line, sizeof(line));
			sb_printf(&sb, "(%03zu) %s\n", pc, line);
			break;
		default:
			free(sb.s);
			return NULL;
		}
	}
	if (!sb.s && !sb.failed)
		sb_printf(&sb, "%s", "");
	if (sb.failed) {
		free(sb.s);
		return NULL;
	}
	return sb.s;
}
