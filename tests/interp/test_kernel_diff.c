/* Differential test against the Linux kernel: random straight-line
 * programs of ALU, byte-order, conditional-jump, stack and atomic rows of the
 * opcode table run in the kernel (BPF_PROG_TEST_RUN of a socket filter) and
 * in both interpreter loops; r0 must agree. The kernel's retval is 32 bits,
 * so each program runs twice: once returning r0, once r0 >> 32.
 * Skips when bpf() is not permitted. Deterministic (fixed seeds). */
#include <errno.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bpfvm/bpfvm.h"
#include "common/harness.h"
#include "core/internal.h"

#define NPROGS 500
#define NOPS 24

struct gen {
	uint64_t state;
	struct bpfvm_insn insns[4 * NOPS + 64];
	size_t n;
};

static uint64_t rnd(struct gen *g)
{
	g->state ^= g->state << 13;
	g->state ^= g->state >> 7;
	g->state ^= g->state << 17;
	return g->state;
}

/* Values near the edges are where implementations differ. */
static uint64_t edge_value(struct gen *g)
{
	static const uint64_t edges[] = {0, 1, 2, 3, 7, 31, 32, 63, 64, 0x7f, 0x80, 0xff, 0x7fff, 0x8000,
					 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ULL,
					 0x7fffffffffffffffULL, 0x8000000000000000ULL, ~0ULL, ~1ULL,
					 0xffffffff80000000ULL};
	uint64_t r = rnd(g);
	if (r % 3 == 0)
		return rnd(g);
	uint64_t v = edges[(r >> 8) % (sizeof(edges) / sizeof(edges[0]))];
	return (r >> 20) & 1 ? v : 0 - v;
}

static void emit(struct gen *g, enum bpfvm_opid op, int dst, int src, int off, int32_t imm, uint64_t imm64)
{
	g->n += (size_t)bpfvm_isa_encode(op, (uint8_t)dst, (uint8_t)src, (int16_t)off, imm, imm64,
					 &g->insns[g->n]);
}

/* An immediate the kernel accepts for the row (none where the row wants
 * zero, no division by a zero constant, shift counts below the width). */
static int32_t imm_for(struct gen *g, const struct bpfvm_opinfo *row)
{
	int32_t imm = (int32_t)edge_value(g);
	if (row->zero & BPFVM_Z_IMM)
		return 0;
	if (row->kind == BPFVM_KIND_ALU) {
		int bits = (row->flags & BPFVM_F_ALU32) ? 32 : 64;
		switch (row->op) {
		case BPFVM_ALU_LSH:
		case BPFVM_ALU_RSH:
		case BPFVM_ALU_ARSH:
			return (int32_t)((uint32_t)imm % (uint32_t)bits);
		case BPFVM_ALU_DIV:
		case BPFVM_ALU_SDIV:
		case BPFVM_ALU_MOD:
		case BPFVM_ALU_SMOD:
			return imm ? imm : 3;
		}
	}
	return imm;
}

static enum bpfvm_opid pick_row(struct gen *g, int kind)
{
	const struct bpfvm_opinfo *t = bpfvm_isa_table();
	for (;;) {
		size_t i = rnd(g) % BPFVM_OP__COUNT;
		if (t[i].kind == kind)
			return (enum bpfvm_opid)i;
	}
}

static void gen_alu(struct gen *g)
{
	int kind = rnd(g) % 8 == 0 ? BPFVM_KIND_END : BPFVM_KIND_ALU;
	enum bpfvm_opid op = pick_row(g, kind);
	const struct bpfvm_opinfo *row = &bpfvm_isa_table()[op];
	int dst = (int)(rnd(g) % 6), src = (int)(rnd(g) % 6);
	if (row->flags & BPFVM_F_REG_SRC)
		emit(g, op, dst, src, 0, 0, 0);
	else
		emit(g, op, dst, 0, 0, imm_for(g, row), 0);
}

/* if rA <op> rB/imm goto +1; r0 ^= K */
static void gen_jump(struct gen *g)
{
	enum bpfvm_opid op = pick_row(g, BPFVM_KIND_JCOND);
	const struct bpfvm_opinfo *row = &bpfvm_isa_table()[op];
	int a = (int)(rnd(g) % 6), b = (int)(rnd(g) % 6);
	if (row->flags & BPFVM_F_REG_SRC)
		emit(g, op, a, b, 1, 0, 0);
	else
		emit(g, op, a, 0, 1, (int32_t)edge_value(g), 0);
	emit(g, BPFVM_OP_XOR64_IMM, 0, 0, 0, (int32_t)rnd(g), 0);
}

/* Store rA at fp-16 (8 bytes), a random load or atomic on it, reload. */
static void gen_memory(struct gen *g)
{
	int a = (int)(rnd(g) % 6), b = (int)(rnd(g) % 6), c = (int)(rnd(g) % 6);
	emit(g, BPFVM_OP_STX_DW, 10, a, -16, 0, 0);
	if (rnd(g) % 2) {
		enum bpfvm_opid op = pick_row(g, BPFVM_KIND_ATOMIC);
		emit(g, op, 10, b, -16, bpfvm_isa_table()[op].match_val, 0);
	} else {
		static const enum bpfvm_opid loads[] = {
			BPFVM_OP_LDX_B, BPFVM_OP_LDX_H, BPFVM_OP_LDX_W, BPFVM_OP_LDX_DW,
			BPFVM_OP_LDXSX_B, BPFVM_OP_LDXSX_H, BPFVM_OP_LDXSX_W,
		};
		enum bpfvm_opid op = loads[rnd(g) % (sizeof(loads) / sizeof(loads[0]))];
		int size = bpfvm_isa_table()[op].size;
		int off = -16 + size * (int)(rnd(g) % (uint64_t)(8 / size)); /* aligned, as the kernel wants */
		emit(g, op, b, 10, off, 0, 0);
	}
	emit(g, BPFVM_OP_LDX_DW, c, 10, -16, 0, 0);
}

/* r0..r5 = random; NOPS random operations; fold r1..r5 into r0; exit.
 * high: return the upper half of r0. */
static void generate(struct gen *g, uint64_t seed, int high)
{
	g->state = seed * 0x9e3779b97f4a7c15ULL + 1;
	g->n = 0;
	for (int r = 0; r <= 5; r++)
		emit(g, BPFVM_OP_LDDW, r, 0, 0, 0, edge_value(g));
	for (int i = 0; i < NOPS; i++) {
		uint64_t what = rnd(g) % 10;
		if (what < 6)
			gen_alu(g);
		else if (what < 8)
			gen_jump(g);
		else
			gen_memory(g);
	}
	for (int r = 1; r <= 5; r++) {
		emit(g, BPFVM_OP_MUL64_IMM, 0, 0, 0, 31, 0);
		emit(g, BPFVM_OP_XOR64_REG, 0, r, 0, 0, 0);
	}
	if (high)
		emit(g, BPFVM_OP_RSH64_IMM, 0, 0, 0, 32, 0);
	emit(g, BPFVM_OP_EXIT, 0, 0, 0, 0, 0);
}

/* Load as a socket filter and test-run; -errno when bpf() is refused. */
static int kernel_run(const struct gen *g, uint32_t *retval, char *log, size_t loglen)
{
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	attr.insns = (uint64_t)(uintptr_t)g->insns;
	attr.insn_cnt = (uint32_t)g->n;
	attr.license = (uint64_t)(uintptr_t)"GPL";
	attr.log_buf = (uint64_t)(uintptr_t)log;
	attr.log_size = (uint32_t)loglen;
	attr.log_level = 1;
	log[0] = 0;
	int fd = (int)syscall(__NR_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
	if (fd < 0)
		return -errno;
	static uint8_t pkt[64];
	memset(&attr, 0, sizeof(attr));
	attr.test.prog_fd = (uint32_t)fd;
	attr.test.data_in = (uint64_t)(uintptr_t)pkt;
	attr.test.data_size_in = sizeof(pkt);
	attr.test.repeat = 1;
	int rc = (int)syscall(__NR_bpf, BPF_PROG_TEST_RUN, &attr, sizeof(attr));
	int err = errno;
	close(fd);
	if (rc)
		return -err;
	*retval = attr.test.retval;
	return 0;
}

static int ours(struct bpfvm_vm *vm, const struct gen *g, enum bpfvm_safety loop, uint64_t *r0,
		char *err, size_t errlen)
{
	struct bpfvm_prog *prog;
	struct bpfvm_prog_opts opts = {.safety = BPFVM_SAFETY_CHECKED, .engine = BPFVM_ENGINE_INTERP};
	int rc = bpfvm_prog_load(vm, g->insns, g->n, &opts, &prog);
	if (rc) {
		snprintf(err, errlen, "load: %s", bpfvm_vm_last_error(vm));
		return rc;
	}
	prog->safety = loop; /* the kernel accepted it: both loops may run it */
	struct bpfvm_run run = {.engine = BPFVM_ENGINE_INTERP};
	rc = bpfvm_prog_run(prog, &run);
	snprintf(err, errlen, "%s", run.error);
	*r0 = run.retval;
	bpfvm_prog_destroy(prog);
	return rc;
}

TEST(random_programs_agree_with_the_kernel)
{
	struct bpfvm_vm *vm;
	CHECK(bpfvm_vm_create(&vm) == 0);
	static char log[65536];
	unsigned compared = 0, rejected = 0;
	for (uint64_t seed = 1; seed <= NPROGS; seed++) {
		for (int high = 0; high < 2; high++) {
			struct gen g;
			generate(&g, seed, high);
			uint32_t kret;
			int rc = kernel_run(&g, &kret, log, sizeof(log));
			if (rc == -EPERM || rc == -ENOSYS) {
				bpfvm_vm_destroy(vm);
				SKIP("bpf() is not permitted here: no kernel to compare with");
			}
			if (rc) {
				/* The kernel refused the program: nothing to compare. */
				rejected++;
				if (getenv("KDIFF_VERBOSE"))
					printf("    seed %llu rejected (%d): %s\n", (unsigned long long)seed, rc,
					       log);
				continue;
			}
			for (int loop = 0; loop < 2; loop++) {
				uint64_t r0 = 0;
				char err[256];
				enum bpfvm_safety s = loop ? BPFVM_SAFETY_CHECKED : BPFVM_SAFETY_VERIFIED;
				if (ours(vm, &g, s, &r0, err, sizeof(err)) || (uint32_t)r0 != kret)
					harness_fail(__FILE__, __LINE__,
						     "seed %llu%s (%s loop): kernel 0x%x, bpfvm 0x%llx %s",
						     (unsigned long long)seed, high ? " high" : "",
						     loop ? "checked" : "verified", kret,
						     (unsigned long long)r0, err);
			}
			compared++;
		}
	}
	printf("    %u programs compared with the kernel, %u refused by its verifier\n", compared, rejected);
	CHECK(compared > NPROGS); /* most programs are valid */
	bpfvm_vm_destroy(vm);
}
