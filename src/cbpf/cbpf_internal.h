/* Classic BPF: the opcode table and the entry points shared by the files of
 * src/cbpf (validator, interpreter, translator, text readers/writers). */
#ifndef BPFVM_CBPF_INTERNAL_H
#define BPFVM_CBPF_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "bpfvm/cbpf.h"
#include "bpfvm/isa.h"

/* What a classic instruction does. */
enum cbpf_kind {
	CBPF_K_RET_K, CBPF_K_RET_A,
	CBPF_K_LD_ABS, CBPF_K_LD_IND, CBPF_K_LD_LEN, CBPF_K_LD_IMM, CBPF_K_LD_MEM,
	CBPF_K_LDX_IMM, CBPF_K_LDX_MEM, CBPF_K_LDX_LEN, CBPF_K_LDX_MSH,
	CBPF_K_ST, CBPF_K_STX,
	CBPF_K_ALU_K, CBPF_K_ALU_X, CBPF_K_NEG,
	CBPF_K_JA, CBPF_K_JMP_K, CBPF_K_JMP_X,
	CBPF_K_TAX, CBPF_K_TXA,
};

/* How tcpdump -d prints the operand (libpcap's bpf_image). */
enum cbpf_operand {
	CBPF_OPD_NONE,   /* nothing */
	CBPF_OPD_ABS,    /* [k] */
	CBPF_OPD_IND,    /* [x + k] */
	CBPF_OPD_LEN,    /* #pktlen */
	CBPF_OPD_HEX,    /* #0xk */
	CBPF_OPD_DEC,    /* #k (signed decimal) */
	CBPF_OPD_MEM,    /* M[k] */
	CBPF_OPD_MSH,    /* 4*([k]&0xf) */
	CBPF_OPD_X,      /* x */
	CBPF_OPD_TARGET, /* absolute target pc + 1 + k */
};

#define CBPF_NO_EBPF BPFVM_OP__COUNT

struct cbpf_opinfo {
	const char *id;        /* e.g. "LD_H_ABS" */
	uint16_t code;
	uint8_t kind;          /* enum cbpf_kind */
	uint8_t size;          /* bytes loaded from the packet */
	uint16_t ebpf_op;      /* enum bpfvm_opid or CBPF_NO_EBPF */
	uint16_t ebpf_inverse; /* enum bpfvm_opid or CBPF_NO_EBPF */
	const char *mnem;
	uint8_t operand;       /* enum cbpf_operand */
};

enum cbpf_opid {
#define CBPF_OP(ID, ...) CBPF_OP_##ID,
#include "cbpf/cbpf_ops.def"
#undef CBPF_OP
	CBPF_OP__COUNT
};

/* Opcode values by name, for code that dispatches on the raw opcode. */
enum cbpf_code {
#define CBPF_OP(ID, CODE, ...) CBPF_CODE_##ID = CODE,
#include "cbpf/cbpf_ops.def"
#undef CBPF_OP
};

const struct cbpf_opinfo *bpfvm__cbpf_table(void);
/* The row of a classic opcode, or NULL for one the kernel does not accept. */
const struct cbpf_opinfo *bpfvm__cbpf_lookup(uint16_t code);

#endif
