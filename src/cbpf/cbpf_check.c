/* The validator: the Linux kernel's rules for classic filters
 * (net/core/filter.c: bpf_check_classic, chk_code_allowed,
 * check_load_and_stores), with messages naming the instruction. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "cbpf/cbpf_internal.h"

static int reject(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int reject(char *err, size_t errlen, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* The kernel's ancillary loads (SKF_AD_OFF + n, linux/filter.h) read
 * socket-buffer metadata that a captured packet does not have. */
#define SKF_AD_BASE 0xfffff000u
#define SKF_AD_LIMIT 64u /* SKF_AD_MAX */

/* The checks that need only the instruction and the program length. */
static int check_insn(const struct bpfvm_cbpf_insn *in, size_t pc, size_t n, char *err,
		      size_t errlen)
{
	const struct cbpf_opinfo *row = bpfvm__cbpf_lookup(in->code);
	if (!row)
		return reject(err, errlen, "insn %zu: unknown opcode 0x%x", pc, in->code);
	switch ((enum cbpf_kind)row->kind) {
	case CBPF_K_LD_ABS:
		if (in->k < SKF_AD_BASE)
			break;
		/* The kernel accepts the known extensions and rejects the rest
		 * of the range; bpfvm runs captured packets and has none. */
		if (in->k - SKF_AD_BASE < SKF_AD_LIMIT && (in->k - SKF_AD_BASE) % 4 == 0)
			return reject(err, errlen, "insn %zu: Linux ancillary load SKF_AD_OFF + %u is not supported",
				      pc, in->k - SKF_AD_BASE);
		return reject(err, errlen, "insn %zu: load from %d: offset in the kernel's ancillary range "
			      "but no known extension", pc, (int32_t)in->k);
	case CBPF_K_ALU_K:
		if ((row->ebpf_op == BPFVM_OP_DIV32_IMM || row->ebpf_op == BPFVM_OP_MOD32_IMM) &&
		    in->k == 0)
			return reject(err, errlen, "insn %zu: %s by constant zero", pc,
				      row->ebpf_op == BPFVM_OP_DIV32_IMM ? "division" : "modulo");
		if ((row->ebpf_op == BPFVM_OP_LSH32_IMM || row->ebpf_op == BPFVM_OP_RSH32_IMM) &&
		    in->k >= 32)
			return reject(err, errlen, "insn %zu: shift by %u (must be below 32)", pc, in->k);
		break;
	case CBPF_K_LD_MEM:
	case CBPF_K_LDX_MEM:
	case CBPF_K_ST:
	case CBPF_K_STX:
		if (in->k >= BPFVM_CBPF_MEMWORDS)
			return reject(err, errlen, "insn %zu: scratch memory M[%u] out of range (M[0..%d])",
				      pc, in->k, BPFVM_CBPF_MEMWORDS - 1);
		break;
	case CBPF_K_JA:
		/* k is unsigned: libpcap's backward jumps (ip6 protochain)
		 * are huge forward ones, outside any program. */
		if ((int32_t)in->k < 0)
			return reject(err, errlen, "insn %zu: backward jump (ja %d); classic filters jump forward only",
				      pc, (int32_t)in->k);
		if ((uint64_t)in->k >= n - pc - 1)
			return reject(err, errlen, "insn %zu: jump to %llu is outside the program (%zu insns)",
				      pc, (unsigned long long)pc + 1 + in->k, n);
		break;
	case CBPF_K_JMP_K:
	case CBPF_K_JMP_X:
		if (pc + 1 + in->jt >= n || pc + 1 + in->jf >= n)
			return reject(err, errlen, "insn %zu: jump to %zu is outside the program (%zu insns)",
				      pc, pc + 1 + (in->jt > in->jf ? in->jt : in->jf), n);
		break;
	default:
		break;
	}
	return 0;
}

/* Scratch memory must be written on every path before it is read
 * (the kernel's check_load_and_stores): a forward data-flow over the
 * valid-slot bitmask, meeting (AND) at jump targets. */
static int check_scratch_memory(const struct bpfvm_cbpf_insn *insns, size_t n, char *err,
				size_t errlen)
{
	uint16_t *valid_at = malloc(n * sizeof(*valid_at));
	if (!valid_at) {
		reject(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		valid_at[i] = 0xffff;
	uint16_t valid = 0; /* slots written on the path falling into pc */
	int rc = 0;
	for (size_t pc = 0; pc < n && !rc; pc++) {
		const struct bpfvm_cbpf_insn *in = &insns[pc];
		const struct cbpf_opinfo *row = bpfvm__cbpf_lookup(in->code);
		valid &= valid_at[pc];
		switch ((enum cbpf_kind)row->kind) {
		case CBPF_K_ST:
		case CBPF_K_STX:
			valid |= (uint16_t)(1u << in->k);
			break;
		case CBPF_K_LD_MEM:
		case CBPF_K_LDX_MEM:
			if (!(valid & (1u << in->k)))
				rc = reject(err, errlen, "insn %zu: M[%u] may be read before it is written",
					    pc, in->k);
			break;
		case CBPF_K_JA:
			valid_at[pc + 1 + in->k] &= valid;
			valid = 0xffff; /* nothing falls through */
			break;
		case CBPF_K_JMP_K:
		case CBPF_K_JMP_X:
			valid_at[pc + 1 + in->jt] &= valid;
			valid_at[pc + 1 + in->jf] &= valid;
			valid = 0xffff;
			break;
		default:
			/* A return does not reset the mask: as in the kernel, the
			 * instruction after it is checked as if reached from it. */
			break;
		}
	}
	free(valid_at);
	return rc;
}

int bpfvm_cbpf_validate(const struct bpfvm_cbpf_insn *insns, size_t n, char *err, size_t errlen)
{
	if (n == 0 || !insns)
		return reject(err, errlen, "empty program");
	if (n > BPFVM_CBPF_MAXINSNS)
		return reject(err, errlen, "program has %zu instructions (at most %d)", n,
			      BPFVM_CBPF_MAXINSNS);
	for (size_t pc = 0; pc < n; pc++) {
		int rc = check_insn(&insns[pc], pc, n, err, errlen);
		if (rc)
			return rc;
	}
	const struct cbpf_opinfo *last = bpfvm__cbpf_lookup(insns[n - 1].code);
	if (last->kind != CBPF_K_RET_K && last->kind != CBPF_K_RET_A)
		return reject(err, errlen, "insn %zu: the last instruction must be a return (ret #k or ret a)",
			      n - 1);
	return check_scratch_memory(insns, n, err, errlen);
}
