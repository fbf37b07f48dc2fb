/* The disassembler: decode with the ISA layer, then fill the row's LLVM
 * template or print its conformance mnemonic and operands. Encodings the
 * text cannot represent are printed as a `.insn` line (which assembles back
 * to the same slot) followed by a comment saying what is wrong. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asm/asm_internal.h"

/* Fields (FLD_*) that a row's template prints. */
static unsigned template_fields(const char *tpl)
{
	static const struct { char dir; unsigned fld; } map[] = {
		{'d', FLD_DST}, {'D', FLD_DST}, {'s', FLD_SRC}, {'S', FLD_SRC},
		{'i', FLD_IMM}, {'J', FLD_IMM}, {'o', FLD_OFF}, {'j', FLD_OFF},
		{'n', FLD_IMM2}, {'I', FLD_IMM | FLD_IMM2},
	};
	unsigned shown = 0;
	for (const char *p = tpl; p && *p; p++)
		if (p[0] == '%' && p[1])
			for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
				if (map[i].dir == p[1])
					shown |= map[i].fld;
	return shown;
}

/* A non-zero field that the text of the row would not show (so printing
 * it would lose information), or NULL. Fields the row matches on are
 * implied by the row itself. */
static const char *hidden_field(const struct bpfvm_opinfo *row, const struct bpfvm_insn *insn,
				int32_t imm2)
{
	unsigned shown = template_fields(row->llvm);
	if (row->match == BPFVM_MATCH_OFF)
		shown |= FLD_OFF;
	else if (row->match == BPFVM_MATCH_IMM)
		shown |= FLD_IMM;
	else if (row->match == BPFVM_MATCH_SRC)
		shown |= FLD_SRC;
	if (insn->dst && !(shown & FLD_DST))
		return "dst_reg";
	if (insn->src && !(shown & FLD_SRC))
		return "src_reg";
	if (insn->off && !(shown & FLD_OFF))
		return "off";
	if (insn->imm && !(shown & FLD_IMM))
		return "imm";
	if (imm2 && !(shown & FLD_IMM2))
		return "imm of the second slot";
	return NULL;
}

/* Why the slot at pc cannot be printed as an instruction, or NULL. */
static const char *invalid_reason(const struct bpfvm_insn *insns, size_t n, size_t pc,
				  char *why, size_t cap)
{
	const struct bpfvm_insn *insn = &insns[pc];
	const struct bpfvm_opinfo *row = bpfvm_isa_lookup(insn);
	if (!row) {
		snprintf(why, cap, "unknown opcode 0x%02x", insn->code);
		return why;
	}
	if (insn->dst >= BPFVM_NREGS || insn->src >= BPFVM_NREGS) {
		snprintf(why, cap, "invalid register r%u",
			 insn->dst >= BPFVM_NREGS ? insn->dst : insn->src);
		return why;
	}
	static const struct { unsigned flag; const char *name; } fields[] = {
		{BPFVM_Z_DST, "dst_reg"}, {BPFVM_Z_SRC, "src_reg"},
		{BPFVM_Z_OFF, "off"}, {BPFVM_Z_IMM, "imm"},
	};
	const int values[] = {insn->dst, insn->src, insn->off, insn->imm};
	for (size_t i = 0; i < 4; i++)
		if ((row->zero & fields[i].flag) && values[i]) {
			snprintf(why, cap, "%s uses reserved field %s", row->id, fields[i].name);
			return why;
		}
	if (row->flags & BPFVM_F_WIDE) {
		if (pc + 1 >= n) {
			snprintf(why, cap, "incomplete ld_imm64 (second slot missing)");
			return why;
		}
		const struct bpfvm_insn *hi = &insns[pc + 1];
		if (hi->code || hi->dst || hi->src || hi->off) {
			snprintf(why, cap, "invalid second slot of ld_imm64");
			return why;
		}
	}
	int32_t imm2 = (row->flags & BPFVM_F_WIDE) ? insns[pc + 1].imm : 0;
	const char *field = hidden_field(row, insn, imm2);
	if (field) {
		snprintf(why, cap, "%s: %s must be zero", row->id, field);
		return why;
	}
	return NULL;
}

static void format_raw(const struct bpfvm_insn *insn, enum bpfvm_syntax syntax, const char *why,
		       struct textbuf *tb)
{
	tb_printf(tb, ".insn 0x%02x %u %u %d %" PRId32 " %c %s", insn->code, insn->dst, insn->src,
		  insn->off, insn->imm, syntax == BPFVM_SYNTAX_CONFORMANCE ? '#' : ';', why);
}

int bpfvm_disasm_insn(const struct bpfvm_insn *insns, size_t n, size_t pc,
		      enum bpfvm_syntax syntax, char *buf, size_t buflen)
{
	char scratch[1];
	struct textbuf tb;
	if (buf && buflen)
		tb_init(&tb, buf, buflen);
	else
		tb_init(&tb, scratch, 0);
	if (!insns || pc >= n) {
		tb_printf(&tb, "no instruction at %zu (program has %zu)", pc, n);
		return -EINVAL;
	}
	char why[96];
	if (invalid_reason(insns, n, pc, why, sizeof(why))) {
		format_raw(&insns[pc], syntax, why, &tb);
		return -EINVAL;
	}
	struct bpfvm_decoded d;
	if (bpfvm_isa_decode(insns, n, pc, &d, NULL, 0)) {
		format_raw(&insns[pc], syntax, "undecodable", &tb);
		return -EINVAL;
	}
	if (syntax == BPFVM_SYNTAX_CONFORMANCE && conf_has_syntax(d.info))
		conf_format(&d, &tb);
	else
		tpl_fill(d.info->llvm ? d.info->llvm : d.info->id, &d, &tb);
	return d.slots;
}

char *bpfvm_disasm(const struct bpfvm_insn *insns, size_t n, enum bpfvm_syntax syntax,
		   int numbered)
{
	size_t cap = 64 + n * 48, len = 0;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	out[0] = 0;
	for (size_t pc = 0; pc < n;) {
		char line[320];
		int rc = bpfvm_disasm_insn(insns, n, pc, syntax, line, sizeof(line));
		if (len + strlen(line) + 32 > cap) {
			cap = cap * 2 + strlen(line) + 32;
			char *grown = realloc(out, cap);
			if (!grown) {
				free(out);
				return NULL;
			}
			out = grown;
		}
		if (numbered)
			len += (size_t)snprintf(out + len, cap - len, "%zu: ", pc);
		len += (size_t)snprintf(out + len, cap - len, "%s\n", line);
		pc += rc > 0 ? (size_t)rc : 1;
	}
	return out;
}
