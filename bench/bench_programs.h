/* The programs the interpreter benchmarks run (bench_interp.c, and
 * ubpf_bench.c for the comparison with uBPF): built from opcode-table rows
 * into plain eBPF bytecode, so any runtime can load them. */
#ifndef BPFVM_BENCH_PROGRAMS_H
#define BPFVM_BENCH_PROGRAMS_H

#include <stdint.h>
#include <stdlib.h>

#include "bpfvm/isa.h"

struct bench_prog {
	const char *name;
	struct bpfvm_insn insns[64];
	size_t n;
	size_t mem_size;  /* bytes of memory in r1 (length in r2), 0 for none */
	uint64_t expect;  /* r0 a correct run returns (memory zero-filled) */
	uint64_t executed; /* instructions a run executes */
};

static inline void bench_emit(struct bench_prog *p, enum bpfvm_opid op, int dst, int src, int off,
			      int32_t imm)
{
	p->n += (size_t)bpfvm_isa_encode(op, (uint8_t)dst, (uint8_t)src, (int16_t)off, imm, 0,
					 &p->insns[p->n]);
}
#define BE(p, OP, d, s, o, i) bench_emit(p, BPFVM_OP_##OP, d, s, o, i)

#define BENCH_ARITH_ITERS 10000000
#define BENCH_CALL_ITERS 1000000
#define BENCH_MEM_SIZE (1u << 20)

/* 10M iterations of 7 ALU/jump instructions. */
static inline void bench_arith(struct bench_prog *p)
{
	*p = (struct bench_prog){.name = "arith-loop"};
	BE(p, MOV64_IMM, 0, 0, 0, 0);
	BE(p, MOV64_IMM, 1, 0, 0, BENCH_ARITH_ITERS);
	BE(p, ADD64_REG, 0, 1, 0, 0);   /* loop: */
	BE(p, XOR64_IMM, 0, 0, 0, 0x5a5a);
	BE(p, MOV64_REG, 2, 0, 0, 0);
	BE(p, RSH64_IMM, 2, 0, 0, 3);
	BE(p, ADD64_REG, 0, 2, 0, 0);
	BE(p, SUB64_IMM, 1, 0, 0, 1);
	BE(p, JNE_IMM, 1, 0, -7, 0);
	BE(p, EXIT, 0, 0, 0, 0);
	uint64_t r0 = 0;
	for (uint64_t r1 = BENCH_ARITH_ITERS; r1; r1--) {
		r0 += r1;
		r0 ^= 0x5a5a;
		r0 += r0 >> 3;
	}
	p->expect = r0;
	p->executed = 2 + 7ull * BENCH_ARITH_ITERS + 1;
}

/* Read, increment and write back every u64 of a 1 MiB buffer, summing. */
static inline void bench_memory(struct bench_prog *p)
{
	*p = (struct bench_prog){.name = "memory-1MiB", .mem_size = BENCH_MEM_SIZE};
	BE(p, MOV64_IMM, 0, 0, 0, 0);
	BE(p, MOV64_REG, 3, 1, 0, 0);
	BE(p, MOV64_REG, 4, 1, 0, 0);
	BE(p, ADD64_REG, 4, 2, 0, 0);
	BE(p, LDX_DW, 5, 3, 0, 0);      /* loop: */
	BE(p, ADD64_IMM, 5, 0, 0, 1);
	BE(p, STX_DW, 3, 5, 0, 0);
	BE(p, ADD64_REG, 0, 5, 0, 0);
	BE(p, ADD64_IMM, 3, 0, 0, 8);
	BE(p, JLT_REG, 3, 4, -6, 0);
	BE(p, EXIT, 0, 0, 0, 0);
	p->expect = BENCH_MEM_SIZE / 8; /* each zeroed word becomes 1 */
	p->executed = 4 + 6ull * (BENCH_MEM_SIZE / 8) + 1;
}

/* 1M bpf-to-bpf calls of a 4-instruction function. */
static inline void bench_calls(struct bench_prog *p)
{
	*p = (struct bench_prog){.name = "calls"};
	BE(p, MOV64_IMM, 6, 0, 0, BENCH_CALL_ITERS);
	BE(p, MOV64_IMM, 7, 0, 0, 0);
	BE(p, MOV64_REG, 1, 6, 0, 0);   /* loop: */
	BE(p, CALL_LOCAL, 0, 0, 0, 5);  /* -> f (3 + 1 + 5) */
	BE(p, ADD64_REG, 7, 0, 0, 0);
	BE(p, SUB64_IMM, 6, 0, 0, 1);
	BE(p, JNE_IMM, 6, 0, -5, 0);
	BE(p, MOV64_REG, 0, 7, 0, 0);
	BE(p, EXIT, 0, 0, 0, 0);
	BE(p, MOV64_REG, 0, 1, 0, 0);   /* f: */
	BE(p, MUL64_IMM, 0, 0, 0, 3);
	BE(p, ADD64_IMM, 0, 0, 0, 1);
	BE(p, EXIT, 0, 0, 0, 0);
	uint64_t sum = 0;
	for (uint64_t i = BENCH_CALL_ITERS; i; i--)
		sum += i * 3 + 1;
	p->expect = sum;
	p->executed = 2 + 9ull * BENCH_CALL_ITERS + 2;
}

/* CPU time of this thread: steadier than wall time on a shared machine. */
#include <time.h>
static inline double bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

#define BENCH_NPROGS 3
static inline void bench_programs(struct bench_prog out[BENCH_NPROGS])
{
	bench_arith(&out[0]);
	bench_memory(&out[1]);
	bench_calls(&out[2]);
}

#endif
