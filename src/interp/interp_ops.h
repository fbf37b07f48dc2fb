/* The semantics of the eBPF operations (RFC 9669, Linux kernel), as inline
 * functions of compile-time constant operations: every handler of the
 * interpreter calls them with the op of its opcode-table row, so each
 * handler folds down to the one operation it performs. */
#ifndef BPFVM_INTERP_OPS_H
#define BPFVM_INTERP_OPS_H

#include <stdint.h>
#include <string.h>

#include "bpfvm/isa.h"

#define INTERP_INLINE static inline __attribute__((always_inline))

/* 64-bit ALU. Division by zero gives 0 and modulo by zero leaves dst, as the
 * kernel; signed INT64_MIN / -1 is INT64_MIN and INT64_MIN % -1 is 0 (no
 * trap); shift counts are masked to the operand width. movsx_bits is the
 * source width of MOVSX rows. */
INTERP_INLINE uint64_t interp_alu64(int op, uint64_t dst, uint64_t src, int movsx_bits)
{
	switch (op) {
	case BPFVM_ALU_ADD: return dst + src;
	case BPFVM_ALU_SUB: return dst - src;
	case BPFVM_ALU_MUL: return dst * src;
	case BPFVM_ALU_DIV: return src ? dst / src : 0;
	case BPFVM_ALU_SDIV:
		if (src == 0)
			return 0;
		if ((int64_t)src == -1)
			return 0 - dst; /* also INT64_MIN / -1 = INT64_MIN, without UB */
		return (uint64_t)((int64_t)dst / (int64_t)src);
	case BPFVM_ALU_OR: return dst | src;
	case BPFVM_ALU_AND: return dst & src;
	case BPFVM_ALU_LSH: return dst << (src & 63);
	case BPFVM_ALU_RSH: return dst >> (src & 63);
	case BPFVM_ALU_NEG: return 0 - dst;
	case BPFVM_ALU_MOD: return src ? dst % src : dst;
	case BPFVM_ALU_SMOD:
		if (src == 0)
			return dst;
		if ((int64_t)src == -1)
			return 0;
		return (uint64_t)((int64_t)dst % (int64_t)src);
	case BPFVM_ALU_XOR: return dst ^ src;
	case BPFVM_ALU_MOV: return src;
	case BPFVM_ALU_MOVSX:
		return movsx_bits == 8    ? (uint64_t)(int64_t)(int8_t)src
		       : movsx_bits == 16 ? (uint64_t)(int64_t)(int16_t)src
					  : (uint64_t)(int64_t)(int32_t)src;
	case BPFVM_ALU_ARSH: return (uint64_t)((int64_t)dst >> (src & 63));
	}
	return dst;
}

/* 32-bit ALU on the low halves; the caller zero-extends the result. */
INTERP_INLINE uint32_t interp_alu32(int op, uint32_t dst, uint32_t src, int movsx_bits)
{
	switch (op) {
	case BPFVM_ALU_ADD: return dst + src;
	case BPFVM_ALU_SUB: return dst - src;
	case BPFVM_ALU_MUL: return dst * src;
	case BPFVM_ALU_DIV: return src ? dst / src : 0;
	case BPFVM_ALU_SDIV:
		if (src == 0)
			return 0;
		if ((int32_t)src == -1)
			return 0u - dst;
		return (uint32_t)((int32_t)dst / (int32_t)src);
	case BPFVM_ALU_OR: return dst | src;
	case BPFVM_ALU_AND: return dst & src;
	case BPFVM_ALU_LSH: return dst << (src & 31);
	case BPFVM_ALU_RSH: return dst >> (src & 31);
	case BPFVM_ALU_NEG: return 0u - dst;
	case BPFVM_ALU_MOD: return src ? dst % src : dst;
	case BPFVM_ALU_SMOD:
		if (src == 0)
			return dst;
		if ((int32_t)src == -1)
			return 0;
		return (uint32_t)((int32_t)dst % (int32_t)src);
	case BPFVM_ALU_XOR: return dst ^ src;
	case BPFVM_ALU_MOV: return src;
	case BPFVM_ALU_MOVSX:
		return movsx_bits == 8 ? (uint32_t)(int32_t)(int8_t)src : (uint32_t)(int32_t)(int16_t)src;
	case BPFVM_ALU_ARSH: return (uint32_t)((int32_t)dst >> (src & 31));
	}
	return dst;
}

/* Byte order: LE/BE convert between host order and the named order and
 * truncate to the width; BSWAP swaps unconditionally (v4). */
INTERP_INLINE uint64_t interp_end(int op, int bytes, uint64_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	int swap = op != BPFVM_END_BE;
#else
	int swap = op != BPFVM_END_LE;
#endif
	switch (bytes) {
	case 1: return (uint8_t)v;
	case 2: return swap ? __builtin_bswap16((uint16_t)v) : (uint16_t)v;
	case 4: return swap ? __builtin_bswap32((uint32_t)v) : (uint32_t)v;
	default: return swap ? __builtin_bswap64(v) : v;
	}
}

/* Conditional jumps; 32-bit forms compare the low halves. */
INTERP_INLINE int interp_cond64(int op, uint64_t a, uint64_t b)
{
	switch (op) {
	case BPFVM_JMP_JEQ: return a == b;
	case BPFVM_JMP_JGT: return a > b;
	case BPFVM_JMP_JGE: return a >= b;
	case BPFVM_JMP_JSET: return (a & b) != 0;
	case BPFVM_JMP_JNE: return a != b;
	case BPFVM_JMP_JSGT: return (int64_t)a > (int64_t)b;
	case BPFVM_JMP_JSGE: return (int64_t)a >= (int64_t)b;
	case BPFVM_JMP_JLT: return a < b;
	case BPFVM_JMP_JLE: return a <= b;
	case BPFVM_JMP_JSLT: return (int64_t)a < (int64_t)b;
	case BPFVM_JMP_JSLE: return (int64_t)a <= (int64_t)b;
	}
	return 0;
}

INTERP_INLINE int interp_cond32(int op, uint32_t a, uint32_t b)
{
	switch (op) {
	case BPFVM_JMP_JEQ: return a == b;
	case BPFVM_JMP_JGT: return a > b;
	case BPFVM_JMP_JGE: return a >= b;
	case BPFVM_JMP_JSET: return (a & b) != 0;
	case BPFVM_JMP_JNE: return a != b;
	case BPFVM_JMP_JSGT: return (int32_t)a > (int32_t)b;
	case BPFVM_JMP_JSGE: return (int32_t)a >= (int32_t)b;
	case BPFVM_JMP_JLT: return a < b;
	case BPFVM_JMP_JLE: return a <= b;
	case BPFVM_JMP_JSLT: return (int32_t)a < (int32_t)b;
	case BPFVM_JMP_JSLE: return (int32_t)a <= (int32_t)b;
	}
	return 0;
}

/* Loads and stores of any alignment (memcpy folds into one move). */
INTERP_INLINE uint64_t interp_load(int bytes, uintptr_t addr)
{
	switch (bytes) {
	case 1: return *(const uint8_t *)addr;
	case 2: { uint16_t v; memcpy(&v, (const void *)addr, 2); return v; }
	case 4: { uint32_t v; memcpy(&v, (const void *)addr, 4); return v; }
	default: { uint64_t v; memcpy(&v, (const void *)addr, 8); return v; }
	}
}

INTERP_INLINE uint64_t interp_sext(int bytes, uint64_t v)
{
	switch (bytes) {
	case 1: return (uint64_t)(int64_t)(int8_t)v;
	case 2: return (uint64_t)(int64_t)(int16_t)v;
	case 4: return (uint64_t)(int64_t)(int32_t)v;
	default: return v;
	}
}

INTERP_INLINE void interp_store(int bytes, uintptr_t addr, uint64_t v)
{
	switch (bytes) {
	case 1: *(uint8_t *)addr = (uint8_t)v; break;
	case 2: { uint16_t x = (uint16_t)v; memcpy((void *)addr, &x, 2); break; }
	case 4: { uint32_t x = (uint32_t)v; memcpy((void *)addr, &x, 4); break; }
	default: memcpy((void *)addr, &v, 8); break;
	}
}

/* Atomic read-modify-write (sequentially consistent, as the kernel's
 * atomics with fetch are fully ordered). Returns the value the
 * instruction writes back to a register: the old value for FETCH/XCHG,
 * the old value for CMPXCHG (to r0), unused otherwise. */
#define INTERP_ATOMIC_BODY(T, p, op, src, r0)                                        \
	switch (op) {                                                                   \
	case BPFVM_ATOMIC_ADD:                                                          \
	case BPFVM_ATOMIC_FETCH_ADD: return __atomic_fetch_add(p, (T)(src), __ATOMIC_SEQ_CST); \
	case BPFVM_ATOMIC_OR:                                                           \
	case BPFVM_ATOMIC_FETCH_OR: return __atomic_fetch_or(p, (T)(src), __ATOMIC_SEQ_CST);   \
	case BPFVM_ATOMIC_AND:                                                          \
	case BPFVM_ATOMIC_FETCH_AND: return __atomic_fetch_and(p, (T)(src), __ATOMIC_SEQ_CST); \
	case BPFVM_ATOMIC_XOR:                                                          \
	case BPFVM_ATOMIC_FETCH_XOR: return __atomic_fetch_xor(p, (T)(src), __ATOMIC_SEQ_CST); \
	case BPFVM_ATOMIC_XCHG: return __atomic_exchange_n(p, (T)(src), __ATOMIC_SEQ_CST);   \
	case BPFVM_ATOMIC_CMPXCHG: {                                                    \
		T expected_ = (T)(r0);                                                  \
		__atomic_compare_exchange_n(p, &expected_, (T)(src), 0, __ATOMIC_SEQ_CST, \
					    __ATOMIC_SEQ_CST);                          \
		return expected_;                                                       \
	}                                                                               \
	}                                                                               \
	return 0

INTERP_INLINE uint64_t interp_atomic64(int op, uintptr_t addr, uint64_t src, uint64_t r0)
{
	uint64_t *p = (uint64_t *)addr;
	INTERP_ATOMIC_BODY(uint64_t, p, op, src, r0);
}

INTERP_INLINE uint32_t interp_atomic32(int op, uintptr_t addr, uint64_t src, uint64_t r0)
{
	uint32_t *p = (uint32_t *)addr;
	INTERP_ATOMIC_BODY(uint32_t, p, op, src, r0);
}

/* Does the atomic write its result to a register (src, or r0 for cmpxchg)? */
#define INTERP_ATOMIC_FETCHES(op) ((op) >= BPFVM_ATOMIC_FETCH_ADD)

#endif
