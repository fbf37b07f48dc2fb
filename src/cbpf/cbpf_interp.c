/* The classic interpreter, with libpcap's bpf_filter() semantics: 32-bit
 * unsigned A and X, packet loads in network byte order, any load outside
 * the captured bytes returns 0, division by X == 0 returns 0, shifts by
 * 32 or more give 0, `len` is the length on the wire. It dispatches on the
 * raw opcode (names from cbpf_ops.def), so it needs no preparation, and it
 * stays safe on programs that were never validated. */
#include "cbpf/cbpf_internal.h"

static inline uint32_t load_be(const uint8_t *p, unsigned size)
{
	switch (size) {
	case 4:
		return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	case 2:
		return (uint32_t)p[0] << 8 | p[1];
	default:
		return p[0];
	}
}

/* Is [off, off + size) inside the captured bytes? off is computed in 64
 * bits so that X + k cannot wrap around. */
static inline int in_packet(uint64_t off, unsigned size, uint32_t caplen)
{
	return off + size <= caplen;
}

uint32_t bpfvm_cbpf_run(const struct bpfvm_cbpf_insn *insns, size_t n, const uint8_t *pkt,
			uint32_t wirelen, uint32_t caplen)
{
	uint32_t A = 0, X = 0, M[BPFVM_CBPF_MEMWORDS] = {0};
	size_t pc = 0;
	uint64_t off;
	unsigned size;

	while (pc < n) {
		const struct bpfvm_cbpf_insn *in = &insns[pc++];
		uint32_t k = in->k;
		switch ((enum cbpf_code)in->code) {
		case CBPF_CODE_RET_K:
			return k;
		case CBPF_CODE_RET_A:
			return A;

		case CBPF_CODE_LD_W_ABS:
			size = 4;
			goto load_abs;
		case CBPF_CODE_LD_H_ABS:
			size = 2;
			goto load_abs;
		case CBPF_CODE_LD_B_ABS:
			size = 1;
		load_abs:
			off = k;
			goto load;
		case CBPF_CODE_LD_W_IND:
			size = 4;
			goto load_ind;
		case CBPF_CODE_LD_H_IND:
			size = 2;
			goto load_ind;
		case CBPF_CODE_LD_B_IND:
			size = 1;
		load_ind:
			off = (uint64_t)X + k;
		load:
			if (!in_packet(off, size, caplen))
				return 0;
			A = load_be(pkt + off, size);
			break;
		case CBPF_CODE_LDX_MSH:
			if (!in_packet(k, 1, caplen))
				return 0;
			X = (uint32_t)(pkt[k] & 0xf) << 2;
			break;

		case CBPF_CODE_LD_LEN:
			A = wirelen;
			break;
		case CBPF_CODE_LDX_LEN:
			X = wirelen;
			break;
		case CBPF_CODE_LD_IMM:
			A = k;
			break;
		case CBPF_CODE_LDX_IMM:
			X = k;
			break;
		case CBPF_CODE_LD_MEM:
			if (k >= BPFVM_CBPF_MEMWORDS)
				return 0;
			A = M[k];
			break;
		case CBPF_CODE_LDX_MEM:
			if (k >= BPFVM_CBPF_MEMWORDS)
				return 0;
			X = M[k];
			break;
		case CBPF_CODE_ST:
			if (k >= BPFVM_CBPF_MEMWORDS)
				return 0;
			M[k] = A;
			break;
		case CBPF_CODE_STX:
			if (k >= BPFVM_CBPF_MEMWORDS)
				return 0;
			M[k] = X;
			break;

		case CBPF_CODE_ADD_X:
			k = X;
			/* fall through */
		case CBPF_CODE_ADD_K:
			A += k;
			break;
		case CBPF_CODE_SUB_X:
			k = X;
			/* fall through */
		case CBPF_CODE_SUB_K:
			A -= k;
			break;
		case CBPF_CODE_MUL_X:
			k = X;
			/* fall through */
		case CBPF_CODE_MUL_K:
			A *= k;
			break;
		case CBPF_CODE_DIV_X:
			k = X;
			/* fall through */
		case CBPF_CODE_DIV_K:
			if (k == 0)
				return 0;
			A /= k;
			break;
		case CBPF_CODE_MOD_X:
			k = X;
			/* fall through */
		case CBPF_CODE_MOD_K:
			if (k == 0)
				return 0;
			A %= k;
			break;
		case CBPF_CODE_AND_X:
			k = X;
			/* fall through */
		case CBPF_CODE_AND_K:
			A &= k;
			break;
		case CBPF_CODE_OR_X:
			k = X;
			/* fall through */
		case CBPF_CODE_OR_K:
			A |= k;
			break;
		case CBPF_CODE_XOR_X:
			k = X;
			/* fall through */
		case CBPF_CODE_XOR_K:
			A ^= k;
			break;
		case CBPF_CODE_LSH_X:
			k = X;
			/* fall through */
		case CBPF_CODE_LSH_K:
			A = k < 32 ? A << k : 0;
			break;
		case CBPF_CODE_RSH_X:
			k = X;
			/* fall through */
		case CBPF_CODE_RSH_K:
			A = k < 32 ? A >> k : 0;
			break;
		case CBPF_CODE_NEG:
			A = 0u - A;
			break;

		case CBPF_CODE_JA:
			/* Forward only: k is unsigned, a target past the end stops. */
			if ((uint64_t)k >= n - pc)
				return 0;
			pc += k;
			break;
		case CBPF_CODE_JEQ_X:
			k = X;
			/* fall through */
		case CBPF_CODE_JEQ_K:
			pc += A == k ? in->jt : in->jf;
			break;
		case CBPF_CODE_JGT_X:
			k = X;
			/* fall through */
		case CBPF_CODE_JGT_K:
			pc += A > k ? in->jt : in->jf;
			break;
		case CBPF_CODE_JGE_X:
			k = X;
			/* fall through */
		case CBPF_CODE_JGE_K:
			pc += A >= k ? in->jt : in->jf;
			break;
		case CBPF_CODE_JSET_X:
			k = X;
			/* fall through */
		case CBPF_CODE_JSET_K:
			pc += (A & k) ? in->jt : in->jf;
			break;

		case CBPF_CODE_TAX:
			X = A;
			break;
		case CBPF_CODE_TXA:
			A = X;
			break;
		default:
			return 0; /* unknown opcode */
		}
	}
	return 0; /* ran off the end (or jumped past it) */
}
