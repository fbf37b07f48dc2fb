/* bpfvm: the eBPF instruction set (RFC 9669), described by one table.
 *
 * Every opcode bpfvm knows is one row of the table in src/isa/opcodes.def.
 * The decoder, encoder, validator, assembler, disassembler, verifier,
 * interpreter and JIT all read that table; nobody else spells opcode numbers.
 */
#ifndef BPFVM_ISA_H
#define BPFVM_ISA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One 64-bit instruction slot, laid out as the kernel's struct bpf_insn. */
struct bpfvm_insn {
	uint8_t code;    /* opcode */
	uint8_t dst : 4; /* destination register */
	uint8_t src : 4; /* source register */
	int16_t off;     /* signed offset */
	int32_t imm;     /* signed immediate */
};

#define BPFVM_NREGS 11       /* r0..r10 */
#define BPFVM_REG_FP 10      /* r10: read-only frame pointer */
#define BPFVM_STACK_SIZE 512 /* bytes per frame */
#define BPFVM_MAX_FRAMES 8   /* bpf-to-bpf call depth */

/* Instruction classes (low three bits of the opcode). */
enum bpfvm_class {
	BPFVM_CLASS_LD = 0x00,
	BPFVM_CLASS_LDX = 0x01,
	BPFVM_CLASS_ST = 0x02,
	BPFVM_CLASS_STX = 0x03,
	BPFVM_CLASS_ALU = 0x04,
	BPFVM_CLASS_JMP = 0x05,
	BPFVM_CLASS_JMP32 = 0x06,
	BPFVM_CLASS_ALU64 = 0x07,
};

/* The semantic family of an opcode: what the instruction does. */
enum bpfvm_kind {
	BPFVM_KIND_ALU,       /* arithmetic / logic / move, 32 or 64 bit */
	BPFVM_KIND_END,       /* byte order conversion or swap */
	BPFVM_KIND_JA,        /* unconditional jump (off or imm) */
	BPFVM_KIND_JCOND,     /* conditional jump */
	BPFVM_KIND_CALL,      /* helper, local (bpf-to-bpf), kfunc call */
	BPFVM_KIND_CALLX,     /* call through a register */
	BPFVM_KIND_EXIT,      /* return from program or subprogram */
	BPFVM_KIND_LDDW,      /* 64-bit immediate load (two slots) */
	BPFVM_KIND_LDABS,     /* legacy packet load, absolute */
	BPFVM_KIND_LDIND,     /* legacy packet load, indirect */
	BPFVM_KIND_LDX,       /* load from memory, zero-extended */
	BPFVM_KIND_LDXSX,     /* load from memory, sign-extended */
	BPFVM_KIND_ST,        /* store immediate */
	BPFVM_KIND_STX,       /* store register */
	BPFVM_KIND_ATOMIC,    /* atomic read-modify-write */
};

/* Operations within a family (the op field of a table row). */
enum bpfvm_alu_op {
	BPFVM_ALU_ADD, BPFVM_ALU_SUB, BPFVM_ALU_MUL, BPFVM_ALU_DIV, BPFVM_ALU_SDIV,
	BPFVM_ALU_OR, BPFVM_ALU_AND, BPFVM_ALU_LSH, BPFVM_ALU_RSH, BPFVM_ALU_NEG,
	BPFVM_ALU_MOD, BPFVM_ALU_SMOD, BPFVM_ALU_XOR, BPFVM_ALU_MOV, BPFVM_ALU_MOVSX,
	BPFVM_ALU_ARSH,
};
enum bpfvm_end_op { BPFVM_END_LE, BPFVM_END_BE, BPFVM_END_BSWAP };
enum bpfvm_jmp_op {
	BPFVM_JMP_JEQ, BPFVM_JMP_JGT, BPFVM_JMP_JGE, BPFVM_JMP_JSET, BPFVM_JMP_JNE,
	BPFVM_JMP_JSGT, BPFVM_JMP_JSGE, BPFVM_JMP_JLT, BPFVM_JMP_JLE, BPFVM_JMP_JSLT,
	BPFVM_JMP_JSLE,
};
enum bpfvm_call_op { BPFVM_CALL_HELPER, BPFVM_CALL_LOCAL, BPFVM_CALL_KFUNC };
enum bpfvm_atomic_op {
	BPFVM_ATOMIC_ADD, BPFVM_ATOMIC_OR, BPFVM_ATOMIC_AND, BPFVM_ATOMIC_XOR,
	BPFVM_ATOMIC_FETCH_ADD, BPFVM_ATOMIC_FETCH_OR, BPFVM_ATOMIC_FETCH_AND,
	BPFVM_ATOMIC_FETCH_XOR, BPFVM_ATOMIC_XCHG, BPFVM_ATOMIC_CMPXCHG,
};
/* src_reg forms of LD_IMM64 (the kernel's BPF_PSEUDO_*). */
enum bpfvm_lddw_op {
	BPFVM_LDDW_IMM = 0,           /* plain 64-bit constant */
	BPFVM_LDDW_MAP_FD = 1,        /* imm = map fd (bpfvm: map index) */
	BPFVM_LDDW_MAP_VALUE = 2,     /* imm = map fd, next imm = value offset */
	BPFVM_LDDW_BTF_ID = 3,        /* imm = BTF id of a kernel variable */
	BPFVM_LDDW_FUNC = 4,          /* imm = pc-relative subprogram address */
	BPFVM_LDDW_MAP_IDX = 5,       /* imm = index into the fd array */
	BPFVM_LDDW_MAP_IDX_VALUE = 6, /* same, value address + next imm */
};

/* How a table row is told apart from rows sharing its opcode byte. */
enum bpfvm_match { BPFVM_MATCH_NONE, BPFVM_MATCH_OFF, BPFVM_MATCH_IMM, BPFVM_MATCH_SRC };

/* Fields that a row requires to be zero. */
enum {
	BPFVM_Z_DST = 1 << 0,
	BPFVM_Z_SRC = 1 << 1,
	BPFVM_Z_OFF = 1 << 2,
	BPFVM_Z_IMM = 1 << 3,
};

/* Operand flags of a row, derived from its shape. */
enum {
	BPFVM_F_REG_SRC = 1 << 0, /* the source operand is src_reg (BPF_X), else imm (BPF_K) */
	BPFVM_F_ALU32 = 1 << 1,   /* 32-bit operation (ALU, JMP32, W-sized atomic operand) */
	BPFVM_F_WIDE = 1 << 2,    /* occupies two slots (LD_IMM64) */
	BPFVM_F_JUMP_IMM = 1 << 3,/* jump target in imm (gotol, call local) */
	BPFVM_F_JUMP_OFF = 1 << 4,/* jump target in off */
};

/* One row of the opcode table.
 * Template directives in `llvm` (the C-like syntax of llvm-objdump and the
 * kernel log), filled by the disassembler and matched by the assembler:
 *   %d / %D  dst as rN / wN        %s / %S  src as rN / wN
 *   %i       imm, signed decimal    %I      64-bit imm of LD_IMM64
 *   %n       imm of the second LD_IMM64 slot, signed decimal
 *   %o       memory offset " + 4" / " - 8" (with surrounding spaces)
 *   %j       jump offset from off, "+3" / "-2"
 *   %J       jump offset from imm, "+3" / "-2"
 *   %[ .. %] optional group: printed only if a field inside is non-zero
 */
struct bpfvm_opinfo {
	const char *id;      /* symbolic name, e.g. "ADD64_IMM" */
	uint8_t code;        /* opcode byte */
	uint8_t match;       /* enum bpfvm_match */
	int32_t match_val;   /* value of the matched field */
	uint8_t kind;        /* enum bpfvm_kind */
	uint8_t op;          /* operation within the kind */
	uint8_t size;        /* access size or operand width in bytes */
	uint8_t zero;        /* BPFVM_Z_* fields that must be zero */
	uint8_t flags;       /* BPFVM_F_* */
	uint8_t version;     /* ISA version (cpu v1..v4) that introduced it */
	const char *mnem;    /* mnemonic of the conformance syntax, NULL if none */
	const char *llvm;    /* C-like template */
};

/* Index of a row in the table (enum generated from the table). */
enum bpfvm_opid {
#define BPFVM_OPCODE(ID, ...) BPFVM_OP_##ID,
#include "bpfvm/opcodes.def"
#undef BPFVM_OPCODE
	BPFVM_OP__COUNT
};

/* The whole table, BPFVM_OP__COUNT rows, indexed by enum bpfvm_opid. */
const struct bpfvm_opinfo *bpfvm_isa_table(void);
size_t bpfvm_isa_table_size(void);

/* The row describing `insn`, or NULL for an unknown encoding. Fields that
 * must be zero are not checked here (see bpfvm_isa_validate). */
const struct bpfvm_opinfo *bpfvm_isa_lookup(const struct bpfvm_insn *insn);

/* A decoded instruction: its row plus operands, imm64 for LD_IMM64. */
struct bpfvm_decoded {
	const struct bpfvm_opinfo *info;
	enum bpfvm_opid opid;
	uint8_t dst, src;
	int16_t off;
	int32_t imm;
	int32_t imm2;   /* imm of the second slot (LD_IMM64) */
	uint64_t imm64; /* (u32)imm | (u64)imm2 << 32 for LD_IMM64 */
	int slots;      /* 1, or 2 for LD_IMM64 */
};

/* Decode the instruction at insns[pc]. Returns 0, or -EINVAL with a message
 * naming the instruction index in err (err may be NULL). */
int bpfvm_isa_decode(const struct bpfvm_insn *insns, size_t n, size_t pc,
		     struct bpfvm_decoded *out, char *err, size_t errlen);

/* Encode a row with operands into one or two slots (LD_IMM64: imm64 is
 * used, two slots written). Returns the number of slots written. */
int bpfvm_isa_encode(enum bpfvm_opid opid, uint8_t dst, uint8_t src, int16_t off,
		     int32_t imm, uint64_t imm64, struct bpfvm_insn out[2]);

/* Structural validation of a whole program: known opcodes, registers <= 10,
 * zero reserved fields, complete LD_IMM64 pairs, jumps inside the program
 * and not into the second half of an LD_IMM64, no writes to r10.
 * Returns 0 or -EINVAL with "insn N: ..." in err. */
int bpfvm_isa_validate(const struct bpfvm_insn *insns, size_t n, char *err, size_t errlen);

/* Target slot of a jump or local call at pc (pc + 1 + offset). */
static inline int64_t bpfvm_isa_jump_target(const struct bpfvm_opinfo *info,
					    const struct bpfvm_insn *insn, size_t pc)
{
	int64_t delta = (info->flags & BPFVM_F_JUMP_IMM) ? insn->imm : insn->off;
	return (int64_t)pc + 1 + delta;
}

#ifdef __cplusplus
}
#endif
#endif
