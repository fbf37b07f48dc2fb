/* The opcode table and the operations every other component builds on:
 * lookup, decode, encode and structural validation. */
#include "bpfvm/isa.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct bpfvm_opinfo opcode_table[BPFVM_OP__COUNT] = {
#define BPFVM_OPCODE(ID, CODE, M, MV, KIND, OP, SIZE, ZERO, FLAGS, VER, MN, LLVM) \
	[BPFVM_OP_##ID] = {#ID, CODE, M, MV, KIND, OP, SIZE, ZERO,                 \
			   (FLAGS) | ((KIND) == BPFVM_KIND_LDDW ? BPFVM_F_WIDE : 0), VER, MN, LLVM},
#include "bpfvm/opcodes.def"
#undef BPFVM_OPCODE
};

/* Rows grouped by opcode byte: rows_by_code[c] lists the rows sharing c.
 * Built once; read-only afterwards, so it is safe to share between VMs. */
#define MAX_ROWS_PER_CODE 12
struct code_index {
	uint8_t count;
	uint16_t rows[MAX_ROWS_PER_CODE];
};
static struct code_index rows_by_code[256];
static pthread_once_t index_once = PTHREAD_ONCE_INIT;

static void build_code_index(void)
{
	for (size_t i = 0; i < BPFVM_OP__COUNT; i++) {
		struct code_index *ci = &rows_by_code[opcode_table[i].code];
		if (ci->count < MAX_ROWS_PER_CODE)
			ci->rows[ci->count++] = (uint16_t)i;
	}
}

const struct bpfvm_opinfo *bpfvm_isa_table(void)
{
	return opcode_table;
}

size_t bpfvm_isa_table_size(void)
{
	return BPFVM_OP__COUNT;
}

static int row_matches(const struct bpfvm_opinfo *row, const struct bpfvm_insn *insn)
{
	switch (row->match) {
	case BPFVM_MATCH_OFF:
		return insn->off == row->match_val;
	case BPFVM_MATCH_IMM:
		return insn->imm == row->match_val;
	case BPFVM_MATCH_SRC:
		return insn->src == row->match_val;
	default:
		return 1;
	}
}

const struct bpfvm_opinfo *bpfvm_isa_lookup(const struct bpfvm_insn *insn)
{
	pthread_once(&index_once, build_code_index);
	const struct code_index *ci = &rows_by_code[insn->code];
	for (unsigned i = 0; i < ci->count; i++) {
		const struct bpfvm_opinfo *row = &opcode_table[ci->rows[i]];
		if (row_matches(row, insn))
			return row;
	}
	return NULL;
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Name of the first field a row requires to be zero but is not, or NULL. */
static const char *nonzero_reserved_field(const struct bpfvm_opinfo *row,
					  const struct bpfvm_insn *insn)
{
	if ((row->zero & BPFVM_Z_DST) && insn->dst)
		return "dst_reg";
	if ((row->zero & BPFVM_Z_SRC) && insn->src)
		return "src_reg";
	if ((row->zero & BPFVM_Z_OFF) && insn->off)
		return "off";
	if ((row->zero & BPFVM_Z_IMM) && insn->imm)
		return "imm";
	return NULL;
}

int bpfvm_isa_decode(const struct bpfvm_insn *insns, size_t n, size_t pc,
		     struct bpfvm_decoded *out, char *err, size_t errlen)
{
	if (pc >= n)
		return fail(err, errlen, "insn %zu: past the end of the program (%zu insns)", pc, n);
	const struct bpfvm_insn *insn = &insns[pc];
	const struct bpfvm_opinfo *row = bpfvm_isa_lookup(insn);
	if (!row)
		return fail(err, errlen, "insn %zu: unknown opcode 0x%02x", pc, insn->code);
	memset(out, 0, sizeof(*out));
	out->info = row;
	out->opid = (enum bpfvm_opid)(row - opcode_table);
	out->dst = insn->dst;
	out->src = insn->src;
	out->off = insn->off;
	out->imm = insn->imm;
	out->slots = 1;
	if (row->flags & BPFVM_F_WIDE) {
		if (pc + 1 >= n)
			return fail(err, errlen, "insn %zu: incomplete ld_imm64 (second slot missing)", pc);
		const struct bpfvm_insn *hi = &insns[pc + 1];
		if (hi->code || hi->dst || hi->src || hi->off)
			return fail(err, errlen, "insn %zu: invalid second slot of ld_imm64", pc);
		out->imm2 = hi->imm;
		out->imm64 = (uint64_t)(uint32_t)insn->imm | ((uint64_t)(uint32_t)hi->imm << 32);
		out->slots = 2;
	}
	return 0;
}

int bpfvm_isa_encode(enum bpfvm_opid opid, uint8_t dst, uint8_t src, int16_t off,
		     int32_t imm, uint64_t imm64, struct bpfvm_insn out[2])
{
	const struct bpfvm_opinfo *row = &opcode_table[opid];
	memset(out, 0, sizeof(*out));
	out[0].code = row->code;
	out[0].dst = dst & 0xf;
	out[0].src = src & 0xf;
	out[0].off = off;
	out[0].imm = imm;
	switch (row->match) {
	case BPFVM_MATCH_OFF:
		out[0].off = (int16_t)row->match_val;
		break;
	case BPFVM_MATCH_IMM:
		out[0].imm = row->match_val;
		break;
	case BPFVM_MATCH_SRC:
		out[0].src = (uint8_t)row->match_val;
		break;
	}
	if (!(row->flags & BPFVM_F_WIDE))
		return 1;
	memset(&out[1], 0, sizeof(out[1]));
	if (row->op == BPFVM_LDDW_IMM) {
		out[0].imm = (int32_t)(uint32_t)imm64;
		out[1].imm = (int32_t)(uint32_t)(imm64 >> 32);
	} else {
		out[1].imm = (int32_t)(uint32_t)(imm64 >> 32);
	}
	return 2;
}

/* Does the row write its dst register (so that dst must not be r10)? */
static int writes_dst(const struct bpfvm_opinfo *row)
{
	switch (row->kind) {
	case BPFVM_KIND_ALU:
	case BPFVM_KIND_END:
	case BPFVM_KIND_LDDW:
	case BPFVM_KIND_LDX:
	case BPFVM_KIND_LDXSX:
		return 1;
	default:
		return 0;
	}
}

/* Atomics with fetch write their src register back. */
static int writes_src(const struct bpfvm_opinfo *row)
{
	return row->kind == BPFVM_KIND_ATOMIC &&
	       (row->op >= BPFVM_ATOMIC_FETCH_ADD && row->op != BPFVM_ATOMIC_CMPXCHG);
}

static int check_jump(const struct bpfvm_opinfo *row, const struct bpfvm_insn *insns,
		      size_t n, size_t pc, const uint8_t *is_second_half, char *err, size_t errlen)
{
	if (!(row->flags & (BPFVM_F_JUMP_OFF | BPFVM_F_JUMP_IMM)))
		return 0;
	int64_t target = bpfvm_isa_jump_target(row, &insns[pc], pc);
	if (target < 0 || target >= (int64_t)n)
		return fail(err, errlen, "insn %zu: jump out of range from insn %zu to %lld", pc, pc,
			    (long long)target);
	if (is_second_half[target])
		return fail(err, errlen, "insn %zu: jump into the middle of ld_imm64 at insn %lld", pc,
			    (long long)target - 1);
	return 0;
}

int bpfvm_isa_validate(const struct bpfvm_insn *insns, size_t n, char *err, size_t errlen)
{
	if (n == 0)
		return fail(err, errlen, "empty program");
	uint8_t stackbuf[4096];
	uint8_t *second = n <= sizeof(stackbuf) ? stackbuf : calloc(n, 1);
	if (!second)
		return -ENOMEM;
	memset(second, 0, n);
	int rc = 0;
	/* Pass 1: decode every slot, mark second halves of LD_IMM64. */
	for (size_t pc = 0; pc < n && !rc; pc++) {
		struct bpfvm_decoded d;
		rc = bpfvm_isa_decode(insns, n, pc, &d, err, errlen);
		if (rc)
			break;
		const struct bpfvm_insn *insn = &insns[pc];
		const char *field = nonzero_reserved_field(d.info, insn);
		if (insn->dst > BPFVM_REG_FP || insn->src > BPFVM_REG_FP)
			rc = fail(err, errlen, "insn %zu: invalid register r%u", pc,
				  insn->dst > BPFVM_REG_FP ? insn->dst : insn->src);
		else if (field)
			rc = fail(err, errlen, "insn %zu: %s uses reserved field %s", pc,
				  d.info->id, field);
		else if ((writes_dst(d.info) && insn->dst == BPFVM_REG_FP) ||
			 (writes_src(d.info) && insn->src == BPFVM_REG_FP))
			rc = fail(err, errlen, "insn %zu: frame pointer r10 is read only", pc);
		if (d.slots == 2)
			second[++pc] = 1;
	}
	/* Pass 2: jump targets, now that every second half is known. */
	for (size_t pc = 0; pc < n && !rc; pc++) {
		if (second[pc])
			continue;
		rc = check_jump(bpfvm_isa_lookup(&insns[pc]), insns, n, pc, second, err, errlen);
	}
	if (second != stackbuf)
		free(second);
	return rc;
}
