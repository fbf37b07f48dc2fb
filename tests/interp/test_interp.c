/* The interpreter: every row of the opcode table with edge values, in all
 * three loops (verified fast path, checked mode, tracing) which must agree;
 * checked-mode faults, the budget, frames, callbacks and tail calls.
 *
 * Programs are built from opcode-table rows (bpfvm_isa_encode), so no test
 * spells an opcode number. The verified loop is reached by loading in
 * checked mode and flipping prog->safety (the verifier is a separate
 * component; these tests are about the engine). */
#include <errno.h>
#include <stdlib.h>

#include "bpfvm/bpfvm.h"
#include "common/harness.h"
#include "core/internal.h"


/* ---- building programs ------------------------------------------------------------- */

struct tp {
	struct bpfvm_insn insns[512];
	size_t n;
};

static void emit(struct tp *p, enum bpfvm_opid op, int dst, int src, int off, int32_t imm)
{
	p->n += (size_t)bpfvm_isa_encode(op, (uint8_t)dst, (uint8_t)src, (int16_t)off, imm, 0,
					 &p->insns[p->n]);
}

static void emit64(struct tp *p, int dst, uint64_t v)
{
	p->n += (size_t)bpfvm_isa_encode(BPFVM_OP_LDDW, (uint8_t)dst, 0, 0, 0, v, &p->insns[p->n]);
}

#define E(p, OP, dst, src, off, imm) emit(p, BPFVM_OP_##OP, dst, src, off, imm)
#define EXIT(p) E(p, EXIT, 0, 0, 0, 0)

/* ---- running them in every mode ------------------------------------------------------ */

enum mode { MODE_VERIFIED, MODE_CHECKED, MODE_TRACE, NMODES };
static const char *const mode_names[] = {"verified", "checked", "trace"};

struct result {
	int rc;
	uint64_t r0;
	uint64_t executed;
	char err[256];
};

static uint8_t rows_seen[BPFVM_OP__COUNT];
static unsigned programs_run;

static void note_row(void *user, const struct bpfvm_prog *prog, size_t pc, int frame,
		     const uint64_t regs[BPFVM_NREGS])
{
	(void)frame;
	(void)regs;
	size_t n;
	const struct bpfvm_insn *insns = bpfvm_prog_insns(prog, &n);
	const struct bpfvm_opinfo *row = bpfvm_isa_lookup(&insns[pc]);
	if (row)
		rows_seen[row - bpfvm_isa_table()] = 1;
	if (user)
		(*(unsigned *)user)++;
}

struct env {
	struct bpfvm_vm *vm;
	const void *pkt;
	size_t pkt_len;
	uint64_t budget;
	struct bpfvm_map *const *maps;
	size_t nmaps;
};

static uint64_t helper_add3(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e,
			    struct bpfvm_call_ctx *cc)
{
	(void)d, (void)e, (void)cc;
	return a + b + c;
}

/* bpf_loop-shaped host helper: calls the callback at pc r2 for i in [0, r1)
 * with (i, r3) and stops when it returns non-zero. Returns the count. */
static uint64_t helper_loop(uint64_t nr, uint64_t pc, uint64_t ctx, uint64_t d, uint64_t e,
			    struct bpfvm_call_ctx *cc)
{
	(void)d, (void)e;
	uint64_t i;
	for (i = 0; i < nr; i++) {
		uint64_t args[5] = {i, ctx, 0, 0, 0}, ret = 0;
		if (cc->invoke(cc, pc, args, &ret) || ret)
			return i + 1;
	}
	return i;
}

#define HELPER_ADD3 1000
#define HELPER_LOOP 1001

static struct bpfvm_vm *new_vm(void)
{
	struct bpfvm_vm *vm = NULL;
	CHECK(bpfvm_vm_create(&vm) == 0);
	struct bpfvm_helper add3 = BPFVM_HELPER(HELPER_ADD3, "add3", helper_add3, BPFVM_RET_INTEGER,
						BPFVM_ARG_ANYTHING, BPFVM_ARG_ANYTHING,
						BPFVM_ARG_ANYTHING, 0, 0);
	struct bpfvm_helper loop = BPFVM_HELPER(HELPER_LOOP, "loop", helper_loop, BPFVM_RET_INTEGER,
						BPFVM_ARG_ANYTHING, BPFVM_ARG_PTR_TO_FUNC,
						BPFVM_ARG_ANYTHING, 0, 0);
	CHECK(bpfvm_vm_register_helper(vm, &add3) == 0);
	CHECK(bpfvm_vm_register_helper(vm, &loop) == 0);
	return vm;
}

static struct result run_in(const struct env *env, const struct tp *p, void *mem, size_t len,
			    enum mode mode)
{
	struct result res = {0};
	struct bpfvm_vm *vm = env->vm ? env->vm : new_vm();
	struct bpfvm_prog *prog = NULL;
	struct bpfvm_prog_opts opts = {.safety = BPFVM_SAFETY_CHECKED,
				       .engine = BPFVM_ENGINE_INTERP,
				       .maps = env->maps,
				       .nmaps = env->nmaps};
	res.rc = bpfvm_prog_load(vm, p->insns, p->n, &opts, &prog);
	if (res.rc) {
		snprintf(res.err, sizeof(res.err), "load: %s", bpfvm_vm_last_error(vm));
	} else {
		if (mode == MODE_VERIFIED)
			prog->safety = BPFVM_SAFETY_VERIFIED;
		struct bpfvm_run run = {.ctx = mem, .ctx_size = len, .engine = BPFVM_ENGINE_INTERP,
					.pkt = env->pkt, .pkt_len = env->pkt_len,
					.budget = env->budget};
		if (mode == MODE_TRACE)
			run.trace = note_row;
		res.rc = bpfvm_prog_run(prog, &run);
		res.r0 = run.retval;
		res.executed = run.executed;
		snprintf(res.err, sizeof(res.err), "%s", run.error);
		bpfvm_prog_destroy(prog);
	}
	if (!env->vm)
		bpfvm_vm_destroy(vm);
	programs_run++;
	return res;
}

/* Run in the three loops on fresh copies of mem; they must agree. Returns
 * the checked-mode result; mem is left as the checked run wrote it. */
static struct result run_env(const struct env *env, const struct tp *p, void *mem, size_t len)
{
	struct result res[NMODES];
	uint8_t *orig = malloc(len ? len : 1), *copy = malloc(len ? len : 1), *checked_mem = malloc(len ? len : 1);
	if (mem)
		memcpy(orig, mem, len);
	for (int m = 0; m < NMODES; m++) {
		if (mem)
			memcpy(copy, orig, len);
		res[m] = run_in(env, p, mem ? copy : NULL, len, (enum mode)m);
		if (m == MODE_CHECKED && mem)
			memcpy(checked_mem, copy, len);
	}
	if (mem)
		memcpy(mem, checked_mem, len);
	free(orig);
	free(copy);
	free(checked_mem);
	for (int m = 0; m < NMODES; m++)
		if (m != MODE_CHECKED && (res[m].rc != res[MODE_CHECKED].rc || res[m].r0 != res[MODE_CHECKED].r0 ||
					  (res[m].rc == 0 && res[m].executed != res[MODE_CHECKED].executed)))
			harness_fail(__FILE__, __LINE__, "%s loop: rc %d r0 0x%llx executed %llu; checked: rc %d r0 0x%llx executed %llu (%s)",
				     mode_names[m], res[m].rc, (unsigned long long)res[m].r0,
				     (unsigned long long)res[m].executed, res[MODE_CHECKED].rc,
				     (unsigned long long)res[MODE_CHECKED].r0,
				     (unsigned long long)res[MODE_CHECKED].executed, res[MODE_CHECKED].err);
	return res[MODE_CHECKED];
}

static struct result run(const struct tp *p, void *mem, size_t len)
{
	static const struct env plain;
	return run_env(&plain, p, mem, len);
}

static uint64_t run_ok(const struct tp *p, void *mem, size_t len, int line)
{
	struct result r = run(p, mem, len);
	if (r.rc)
		harness_fail(__FILE__, line, "run failed: %d %s", r.rc, r.err);
	return r.r0;
}

/* ---- ALU: every row with edge values --------------------------------------------- */

/* r1 = a; r2 = b; <op> r1, r2 (REG rows) or <op> r1, (s32)b (IMM rows);
 * r0 = r1; exit. */
static void check_alu(enum bpfvm_opid op, uint64_t a, uint64_t b, uint64_t want, int line)
{
	const struct bpfvm_opinfo *row = &bpfvm_isa_table()[op];
	struct tp p = {0};
	emit64(&p, 1, a);
	emit64(&p, 2, b);
	emit(&p, op, 1, (row->flags & BPFVM_F_REG_SRC) ? 2 : 0, 0,
	     (row->flags & BPFVM_F_REG_SRC) ? 0 : (int32_t)b);
	E(&p, MOV64_REG, 0, 1, 0, 0);
	EXIT(&p);
	struct result r = run(&p, NULL, 0);
	if (r.rc || r.r0 != want)
		harness_fail(__FILE__, line, "%s(0x%llx, 0x%llx) = 0x%llx (rc %d %s), want 0x%llx", row->id,
			     (unsigned long long)a, (unsigned long long)b, (unsigned long long)r.r0, r.rc,
			     r.err, (unsigned long long)want);
}

#define ALU(OP, a, b, want) check_alu(BPFVM_OP_##OP, (uint64_t)(a), (uint64_t)(b), (uint64_t)(want), __LINE__)
/* Same operation in its REG and IMM forms (b must fit in s32). */
#define ALU2(OP, a, b, want)                                                     \
	do {                                                                     \
		ALU(OP##_REG, a, b, want);                                       \
		ALU(OP##_IMM, a, b, want);                                       \
	} while (0)

#define I64MIN 0x8000000000000000ULL
#define ALL1 0xffffffffffffffffULL

TEST(alu64_arithmetic_wraps)
{
	ALU2(ADD64, ALL1, 1, 0);
	ALU2(ADD64, 5, -7, -2);
	ALU2(SUB64, 0, 1, ALL1);
	ALU2(SUB64, 5, -7, 12);
	ALU2(MUL64, 0x100000001ULL, -1, -(int64_t)0x100000001LL);
	ALU(MUL64_REG, 0x100000000ULL, 0x100000000ULL, 0);
	ALU2(MUL64, 3, 7, 21);
}

TEST(alu32_arithmetic_zero_extends)
{
	ALU2(ADD32, 0x1ffffffffULL, 1, 0);
	ALU2(ADD32, 0xabcd00000005ULL, 1, 6);
	ALU2(SUB32, 0, 1, 0xffffffff);
	ALU2(SUB32, 0x700000000ULL, 0, 0);
	ALU2(MUL32, 0x10000, 0x10000, 0);
	ALU2(MUL32, 0xffffffff80000000ULL, -1, 0x80000000);
}

TEST(division_by_zero_gives_zero_and_modulo_keeps_dst)
{
	ALU2(DIV64, 10, 3, 3);
	ALU2(DIV64, 10, 0, 0);
	ALU2(DIV64, ALL1, -1, 1); /* imm -1 is sign-extended: u64 max / u64 max */
	ALU2(DIV32, 0x100000010ULL, 2, 8);
	ALU2(DIV32, 0x100000010ULL, 0, 0);
	ALU2(MOD64, 10, 3, 1);
	ALU2(MOD64, 0x123456789ULL, 0, 0x123456789ULL);
	ALU2(MOD32, 0x100000007ULL, 0, 7); /* unchanged low half, zero-extended */
	ALU2(MOD32, 0x100000007ULL, 4, 3);
}

TEST(signed_division_never_traps)
{
	ALU2(SDIV64, -7, 2, -3);
	ALU2(SDIV64, 7, -2, -3);
	ALU2(SDIV64, I64MIN, -1, I64MIN);
	ALU2(SDIV64, -7, 0, 0);
	ALU2(SDIV32, 0xfffffff9, 2, 0xfffffffd);
	ALU2(SDIV32, 0x80000000, -1, 0x80000000);
	ALU2(SDIV32, 0x1fffffff9ULL, 0, 0);
	ALU2(SMOD64, -7, 2, -1);
	ALU2(SMOD64, 7, -2, 1);
	ALU2(SMOD64, I64MIN, -1, 0);
	ALU2(SMOD64, -7, 0, -7);
	ALU2(SMOD32, 0xfffffff9, 2, 0xffffffff);
	ALU2(SMOD32, 0x80000000, -1, 0);
	ALU2(SMOD32, 0x3fffffff9ULL, 0, 0xfffffff9);
}

TEST(bitwise_operations)
{
	ALU2(OR64, 0xf0, 0x0f, 0xff);
	ALU2(OR64, 0, -1, ALL1);
	ALU2(OR32, 0x1000000f0ULL, 0x0f, 0xff);
	ALU2(AND64, ALL1, 0x0ff0, 0x0ff0);
	ALU2(AND64, ALL1, -2, ALL1 - 1);
	ALU2(AND32, ALL1, -2, 0xfffffffe);
	ALU2(XOR64, 0xff, 0x0f, 0xf0);
	ALU2(XOR64, 0, -1, ALL1);
	ALU2(XOR32, 0xff000000ffULL, -1, 0xffffff00);
}

TEST(shift_counts_are_masked)
{
	ALU2(LSH64, 1, 63, I64MIN);
	ALU2(LSH64, 1, 64, 1);
	ALU2(LSH64, 3, 65, 6);
	ALU2(LSH32, 1, 31, 0x80000000);
	ALU2(LSH32, 1, 32, 1);
	ALU2(LSH32, 0xffffffff, 4, 0xfffffff0);
	ALU2(RSH64, I64MIN, 63, 1);
	ALU2(RSH64, I64MIN, 64, I64MIN);
	ALU2(RSH32, 0xf00000000ULL, 1, 0);
	ALU2(RSH32, 0x80000000, 33, 0x40000000);
	ALU2(ARSH64, I64MIN, 63, ALL1);
	ALU2(ARSH64, I64MIN, 64, I64MIN);
	ALU2(ARSH64, 0x4000000000000000ULL, 62, 1);
	ALU2(ARSH32, 0x80000000, 31, 0xffffffff);
	ALU2(ARSH32, 0xff80000000ULL, 4, 0xf8000000);
}

TEST(negation_and_moves)
{
	ALU(NEG64, 1, 0, ALL1);
	ALU(NEG64, I64MIN, 0, I64MIN);
	ALU(NEG32, 1, 0, 0xffffffff);
	ALU(NEG32, 0x180000000ULL, 0, 0x80000000);
	ALU2(MOV64, 0, -1, ALL1);
	ALU2(MOV64, 0, 0x7fffffff, 0x7fffffff);
	ALU2(MOV32, ALL1, -1, 0xffffffff);
	ALU(MOV32_REG, 0, 0x1234567887654321ULL, 0x87654321);
	ALU(MOVSX8_64, 0, 0x180, 0xffffffffffffff80ULL);
	ALU(MOVSX8_64, 0, 0x7f, 0x7f);
	ALU(MOVSX16_64, 0, 0x18000, 0xffffffffffff8000ULL);
	ALU(MOVSX32_64, 0, 0x180000000ULL, 0xffffffff80000000ULL);
	ALU(MOVSX32_64, 0, 0x17fffffffULL, 0x7fffffff);
	ALU(MOVSX8_32, 0, 0x180, 0xffffff80);
	ALU(MOVSX16_32, 0, 0xffff8000ULL, 0xffff8000);
	ALU(MOVSX16_32, 0, 0x7fff, 0x7fff);
}

static void check_end(enum bpfvm_opid op, uint64_t a, uint64_t want, int line)
{
	struct tp p = {0};
	emit64(&p, 0, a);
	emit(&p, op, 0, 0, 0, 0);
	EXIT(&p);
	uint64_t got = run_ok(&p, NULL, 0, line);
	if (got != want)
		harness_fail(__FILE__, line, "%s(0x%llx) = 0x%llx, want 0x%llx", bpfvm_isa_table()[op].id,
			     (unsigned long long)a, (unsigned long long)got, (unsigned long long)want);
}
#define END(OP, a, want) check_end(BPFVM_OP_##OP, a, want, __LINE__)

TEST(byte_order_conversions_truncate_and_swap)
{
	const uint64_t v = 0x1122334455667788ULL;
	END(LE16, v, 0x7788);
	END(LE32, v, 0x55667788);
	END(LE64, v, v);
	END(BE16, v, 0x8877);
	END(BE32, v, 0x88776655);
	END(BE64, v, 0x8877665544332211ULL);
	END(BSWAP16, v, 0x8877);
	END(BSWAP32, v, 0x88776655);
	END(BSWAP64, v, 0x8877665544332211ULL);
}

/* ---- jumps: every conditional row against a reference ------------------------------- */

static int reference_cond(int op, int wide, uint64_t a, uint64_t b)
{
	if (!wide) {
		uint32_t x = (uint32_t)a, y = (uint32_t)b;
		int32_t sx = (int32_t)x, sy = (int32_t)y;
		switch (op) {
		case BPFVM_JMP_JEQ: return x == y;
		case BPFVM_JMP_JGT: return x > y;
		case BPFVM_JMP_JGE: return x >= y;
		case BPFVM_JMP_JSET: return (x & y) != 0;
		case BPFVM_JMP_JNE: return x != y;
		case BPFVM_JMP_JSGT: return sx > sy;
		case BPFVM_JMP_JSGE: return sx >= sy;
		case BPFVM_JMP_JLT: return x < y;
		case BPFVM_JMP_JLE: return x <= y;
		case BPFVM_JMP_JSLT: return sx < sy;
		case BPFVM_JMP_JSLE: return sx <= sy;
		}
		return -1;
	}
	int64_t sa = (int64_t)a, sb = (int64_t)b;
	switch (op) {
	case BPFVM_JMP_JEQ: return a == b;
	case BPFVM_JMP_JGT: return a > b;
	case BPFVM_JMP_JGE: return a >= b;
	case BPFVM_JMP_JSET: return (a & b) != 0;
	case BPFVM_JMP_JNE: return a != b;
	case BPFVM_JMP_JSGT: return sa > sb;
	case BPFVM_JMP_JSGE: return sa >= sb;
	case BPFVM_JMP_JLT: return a < b;
	case BPFVM_JMP_JLE: return a <= b;
	case BPFVM_JMP_JSLT: return sa < sb;
	case BPFVM_JMP_JSLE: return sa <= sb;
	}
	return -1;
}

TEST(every_conditional_jump_row_matches_reference)
{
	static const int64_t pairs[][2] = {
		{0, 0}, {1, 2}, {2, 1}, {-1, 1}, {1, -1}, {0x100000005LL, 5}, {5, 0x100000005LL},
		{INT64_MIN, INT64_MAX}, {0x80000000LL, 0x7fffffff}, {-5, -5}, {6, 3}, {0x7fffffff, -0x80000000LL},
	};
	const struct bpfvm_opinfo *t = bpfvm_isa_table();
	for (size_t op = 0; op < BPFVM_OP__COUNT; op++) {
		if (t[op].kind != BPFVM_KIND_JCOND)
			continue;
		int reg = t[op].flags & BPFVM_F_REG_SRC;
		for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
			uint64_t a = (uint64_t)pairs[i][0];
			uint64_t b = reg ? (uint64_t)pairs[i][1] : (uint64_t)(int64_t)(int32_t)pairs[i][1];
			struct tp p = {0};
			emit64(&p, 1, a);
			emit64(&p, 2, b);
			emit(&p, (enum bpfvm_opid)op, 1, reg ? 2 : 0, 2, reg ? 0 : (int32_t)b);
			E(&p, MOV64_IMM, 0, 0, 0, 0);
			EXIT(&p);
			E(&p, MOV64_IMM, 0, 0, 0, 1);
			EXIT(&p);
			int want = reference_cond(t[op].op, !(t[op].flags & BPFVM_F_ALU32), a, b);
			uint64_t got = run_ok(&p, NULL, 0, __LINE__);
			if (got != (uint64_t)want)
				harness_fail(__FILE__, __LINE__, "%s(0x%llx, 0x%llx): taken=%llu, want %d", t[op].id,
					     (unsigned long long)a, (unsigned long long)b, (unsigned long long)got, want);
		}
	}
}

TEST(unconditional_jumps_use_off_and_imm)
{
	struct tp p = {0};
	E(&p, MOV64_IMM, 0, 0, 0, 1);
	E(&p, JA, 0, 0, 2, 0);    /* -> 4 */
	E(&p, MOV64_IMM, 0, 0, 0, 99);
	EXIT(&p);
	E(&p, JA32, 0, 0, 0, 2);  /* -> 7 */
	E(&p, MOV64_IMM, 0, 0, 0, 98);
	EXIT(&p);
	E(&p, ADD64_IMM, 0, 0, 0, 1);
	EXIT(&p);
	CHECK_EQ(run_ok(&p, NULL, 0, __LINE__), 2);
}

TEST(loop_counts_executed_instructions)
{
	/* r0 = 0; r1 = 10; loop: r0 += r1; r1 -= 1; if r1 != 0 goto loop; exit */
	struct tp p = {0};
	E(&p, MOV64_IMM, 0, 0, 0, 0);
	E(&p, MOV64_IMM, 1, 0, 0, 10);
	E(&p, ADD64_REG, 0, 1, 0, 0);
	E(&p, SUB64_IMM, 1, 0, 0, 1);
	E(&p, JNE_IMM, 1, 0, -3, 0);
	EXIT(&p);
	struct result r = run(&p, NULL, 0);
	CHECK_EQ(r.rc, 0);
	CHECK_EQ(r.r0, 55);
	CHECK_EQ(r.executed, 2 + 10 * 3 + 1);
}

/* ---- LD_IMM64 -------------------------------------------------------------------- */

TEST(ld_imm64_loads_full_64_bits_and_function_addresses)
{
	struct tp p = {0};
	emit64(&p, 0, 0x8000000000000001ULL);
	EXIT(&p);
	CHECK_EQ(run_ok(&p, NULL, 0, __LINE__), 0x8000000000000001ULL);

	/* src 4: the pc of a subprogram (here 3: pc 0 + 1 + imm 2) */
	struct tp f = {0};
	f.n += (size_t)bpfvm_isa_encode(BPFVM_OP_LDDW_FUNC, 0, 0, 0, 2, 0, &f.insns[f.n]);
	EXIT(&f);
	EXIT(&f);
	CHECK_EQ(run_ok(&f, NULL, 0, __LINE__), 3);
}

/* ---- memory ---------------------------------------------------------------------- */

TEST(loads_zero_and_sign_extend)
{
	uint8_t mem[16] = {0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0xff};
	static const struct {
		enum bpfvm_opid op;
		int off;
		uint64_t want;
	} cases[] = {
		{BPFVM_OP_LDX_B, 0, 0x81},
		{BPFVM_OP_LDX_H, 1, 0x8382},
		{BPFVM_OP_LDX_W, 2, 0x86858483},
		{BPFVM_OP_LDX_DW, 1, 0xff88878685848382ULL},
		{BPFVM_OP_LDXSX_B, 0, 0xffffffffffffff81ULL},
		{BPFVM_OP_LDXSX_H, 0, 0xffffffffffff8281ULL},
		{BPFVM_OP_LDXSX_W, 0, 0xffffffff84838281ULL},
		{BPFVM_OP_LDXSX_B, 9, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tp p = {0};
		emit64(&p, 0, ALL1);
		emit(&p, cases[i].op, 0, 1, (int)cases[i].off, 0);
		EXIT(&p);
		uint64_t got = run_ok(&p, mem, sizeof(mem), __LINE__);
		if (got != cases[i].want)
			harness_fail(__FILE__, __LINE__, "%s +%d = 0x%llx, want 0x%llx",
				     bpfvm_isa_table()[cases[i].op].id, cases[i].off,
				     (unsigned long long)got, (unsigned long long)cases[i].want);
	}
}

TEST(stores_of_every_size_to_memory_and_stack)
{
	uint8_t mem[32] = {0};
	struct tp p = {0};
	E(&p, ST_B, 1, 0, 0, 0x1ff);        /* truncated to 0xff */
	E(&p, ST_H, 1, 0, 2, -2);           /* 0xfffe */
	E(&p, ST_W, 1, 0, 4, 0x12345678);
	E(&p, ST_DW, 1, 0, 8, -1);          /* sign-extended imm */
	emit64(&p, 2, 0x1122334455667788ULL);
	E(&p, STX_B, 1, 2, 16, 0);
	E(&p, STX_H, 1, 2, 18, 0);
	E(&p, STX_W, 1, 2, 20, 0);
	E(&p, STX_DW, 1, 2, 24, 0);
	/* and through the stack: store, reload, return */
	E(&p, STX_DW, 10, 2, -8, 0);
	E(&p, LDX_W, 0, 10, -4, 0);
	EXIT(&p);
	CHECK_EQ(run_ok(&p, mem, sizeof(mem), __LINE__), 0x11223344);
	static const uint8_t want[32] = {0xff, 0, 0xfe, 0xff, 0x78, 0x56, 0x34, 0x12,
					 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					 0x88, 0, 0x88, 0x77, 0x88, 0x77, 0x66, 0x55,
					 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11};
	CHECK(memcmp(mem, want, sizeof(want)) == 0);
}

TEST(stack_starts_zeroed_and_r10_is_its_top)
{
	struct tp p = {0};
	E(&p, LDX_DW, 0, 10, -512, 0);
	E(&p, LDX_DW, 1, 10, -8, 0);
	E(&p, OR64_REG, 0, 1, 0, 0);
	EXIT(&p);
	CHECK_EQ(run_ok(&p, NULL, 0, __LINE__), 0);
}

TEST(entry_registers_are_ctx_and_its_size)
{
	uint8_t mem[24];
	struct tp p = {0};
	E(&p, MOV64_REG, 0, 2, 0, 0);
	EXIT(&p);
	CHECK_EQ(run_ok(&p, mem, sizeof(mem), __LINE__), 24);
}

/* op with r2 = operand on a u64 (or u32) at mem[8]; returns what the
 * instruction left in r0 (cmpxchg) or r2 (fetch), and mem. */
static void check_atomic(enum bpfvm_opid op, uint64_t initial, uint64_t operand, uint64_t r0_in,
			 uint64_t want_mem, uint64_t want_reg, int line)
{
	const struct bpfvm_opinfo *row = &bpfvm_isa_table()[op];
	uint8_t mem[16] = {0};
	memcpy(&mem[8], &initial, 8);
	struct tp p = {0};
	emit64(&p, 2, operand);
	emit64(&p, 0, r0_in);
	emit(&p, op, 1, 2, 8, row->match_val);
	if (row->op != BPFVM_ATOMIC_CMPXCHG)
		E(&p, MOV64_REG, 0, 2, 0, 0);
	EXIT(&p);
	uint64_t got = run_ok(&p, mem, sizeof(mem), line);
	uint64_t after;
	memcpy(&after, &mem[8], 8);
	if (got != want_reg || after != want_mem)
		harness_fail(__FILE__, line, "%s: memory 0x%llx reg 0x%llx, want 0x%llx 0x%llx", row->id,
			     (unsigned long long)after, (unsigned long long)got,
			     (unsigned long long)want_mem, (unsigned long long)want_reg);
}
#define ATOMIC(OP, init, operand, r0, mem, reg) \
	check_atomic(BPFVM_OP_##OP, init, operand, r0, mem, reg, __LINE__)

TEST(atomics_with_and_without_fetch)
{
	const uint64_t hi = 0xaaaaaaaa00000000ULL;
	ATOMIC(ATOMIC64_ADD, 5, 7, 0, 12, 7);
	ATOMIC(ATOMIC32_ADD, hi | 0xffffffff, 2, 0, hi | 1, 2); /* upper word untouched */
	ATOMIC(ATOMIC64_OR, 0xf0, 0x0f, 0, 0xff, 0x0f);
	ATOMIC(ATOMIC32_OR, hi | 0xf0, 0x0f, 0, hi | 0xff, 0x0f);
	ATOMIC(ATOMIC64_AND, 0xff, 0x0f, 0, 0x0f, 0x0f);
	ATOMIC(ATOMIC32_AND, hi | 0xff, 0x0f, 0, hi | 0x0f, 0x0f);
	ATOMIC(ATOMIC64_XOR, 0xff, 0x0f, 0, 0xf0, 0x0f);
	ATOMIC(ATOMIC32_XOR, hi | 0xff, 0x0f, 0, hi | 0xf0, 0x0f);
	ATOMIC(ATOMIC64_FETCH_ADD, 5, 7, 0, 12, 5);
	ATOMIC(ATOMIC32_FETCH_ADD, hi | 5, 0xffffffff00000007ULL, 0, hi | 12, 5);
	ATOMIC(ATOMIC64_FETCH_OR, 0xf0, 0x0f, 0, 0xff, 0xf0);
	ATOMIC(ATOMIC32_FETCH_OR, hi | 0xf0, 0x0f, 0, hi | 0xff, 0xf0);
	ATOMIC(ATOMIC64_FETCH_AND, 0xff, 0x0f, 0, 0x0f, 0xff);
	ATOMIC(ATOMIC32_FETCH_AND, hi | 0xff, 0x0f, 0, hi | 0x0f, 0xff);
	ATOMIC(ATOMIC64_FETCH_XOR, 0xff, 0x0f, 0, 0xf0, 0xff);
	ATOMIC(ATOMIC32_FETCH_XOR, hi | 0xff, 0x0f, 0, hi | 0xf0, 0xff);
	ATOMIC(ATOMIC64_XCHG, 1, 2, 0, 2, 1);
	ATOMIC(ATOMIC32_XCHG, hi | 1, 2, 0, hi | 2, 1);
	/* cmpxchg: r0 gets the old value; memory changes only on a match */
	ATOMIC(ATOMIC64_CMPXCHG, 1, 2, 1, 2, 1);
	ATOMIC(ATOMIC64_CMPXCHG, 1, 2, 3, 1, 1);
	ATOMIC(ATOMIC32_CMPXCHG, hi | 1, 2, 0xffffffff00000001ULL, hi | 2, 1);
	ATOMIC(ATOMIC32_CMPXCHG, hi | 1, 2, 3, hi | 1, 1);
}

/* ---- legacy packet loads ---------------------------------------------------------- */

TEST(ld_abs_and_ld_ind_read_network_order_and_end_the_run_when_out_of_range)
{
	static const uint8_t pkt[8] = {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0};
	struct env env = {.pkt = pkt, .pkt_len = sizeof(pkt)};
	static const struct {
		enum bpfvm_opid op;
		int32_t imm;
		uint64_t r6;
		uint64_t want;
	} cases[] = {
		{BPFVM_OP_LDABS_B, 1, 0, 0x34},
		{BPFVM_OP_LDABS_H, 1, 0, 0x3456},
		{BPFVM_OP_LDABS_W, 4, 0, 0x9abcdef0},
		{BPFVM_OP_LDIND_B, 1, 6, 0xf0},
		{BPFVM_OP_LDIND_H, -1, 2, 0x3456},
		{BPFVM_OP_LDIND_W, 0, 4, 0x9abcdef0},
		{BPFVM_OP_LDABS_W, 5, 0, 0},  /* 3 bytes left: r0 = 0, run ends */
		{BPFVM_OP_LDIND_B, 0, 8, 0},
		{BPFVM_OP_LDIND_B, 0, ALL1, 0}, /* negative offset */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tp p = {0};
		emit64(&p, 6, cases[i].r6);
		emit(&p, cases[i].op, 0, bpfvm_isa_table()[cases[i].op].kind == BPFVM_KIND_LDIND ? 6 : 0,
		     0, cases[i].imm);
		E(&p, ADD64_IMM, 0, 0, 0, 0x100); /* skipped when the load ends the run */
		E(&p, AND64_IMM, 0, 0, 0, 0xff);  /* keeps the low byte: r0 was loaded */
		E(&p, MOV64_IMM, 0, 0, 0, 0);
		emit(&p, cases[i].op, 0, bpfvm_isa_table()[cases[i].op].kind == BPFVM_KIND_LDIND ? 6 : 0,
		     0, cases[i].imm);
		EXIT(&p);
		struct result r = run_env(&env, &p, NULL, 0);
		if (r.rc || r.r0 != cases[i].want)
			harness_fail(__FILE__, __LINE__, "case %zu (%s): rc %d r0 0x%llx, want 0x%llx", i,
				     bpfvm_isa_table()[cases[i].op].id, r.rc, (unsigned long long)r.r0,
				     (unsigned long long)cases[i].want);
	}
}

/* ---- calls ----------------------------------------------------------------------- */

TEST(helper_calls_pass_r1_to_r5_and_return_r0)
{
	struct tp p = {0};
	E(&p, MOV64_IMM, 1, 0, 0, 1);
	E(&p, MOV64_IMM, 2, 0, 0, 20);
	E(&p, MOV64_IMM, 3, 0, 0, 300);
	E(&p, CALL_HELPER, 0, 0, 0, HELPER_ADD3);
	EXIT(&p);
	CHECK_EQ(run_ok(&p, NULL, 0, __LINE__), 321);
}

TEST(callx_calls_the_helper_whose_id_is_in_the_register)
{
	struct tp p = {0};
	E(&p, MOV64_IMM, 1, 0, 0, 2);
	E(&p, MOV64_IMM, 2, 0, 0, 3);
	E(&p, MOV64_IMM, 3, 0, 0, 4);
	E(&p, MOV64_IMM, 5, 0, 0, HELPER_ADD3);
	E(&p, CALLX, 5, 0, 0, 0);
	EXIT(&p);
	CHECK_EQ(run_ok(&p, NULL, 0, __LINE__), 9);

	struct tp bad = {0};
	E(&bad, MOV64_IMM, 5, 0, 0, 424242);
	E(&bad, CALLX, 5, 0, 0, 0);
	EXIT(&bad);
	struct result r = run(&bad, NULL, 0);
	CHECK_EQ(r.rc, -EINVAL);
	CHECK_STR(r.err, "insn 1: callx to unknown helper 424242");
}

TEST(unknown_helper_fails_with_its_location)
{
	struct tp p = {0};
	E(&p, MOV64_IMM, 0, 0, 0, 0);
	E(&p, CALL_HELPER, 0, 0, 0, 99999);
	EXIT(&p);
	struct result r = run(&p, NULL, 0);
	CHECK_EQ(r.rc, -EINVAL);
	CHECK_STR(r.err, "insn 1: call to unknown helper 99999");
}

TEST(local_calls_preserve_r6_to_r9_and_get_their_own_stack)
{
	struct tp p = {0};
	E(&p, MOV64_IMM, 6, 0, 0, 6);
	E(&p, MOV64_IMM, 9, 0, 0, 9);
	E(&p, ST_DW, 10, 0, -8, 77);        /* caller's stack */
	E(&p, MOV64_REG, 1, 10, 0, 0);
	E(&p, MOV64_IMM, 2, 0, 0, 5);
	E(&p, CALL_LOCAL, 0, 0, 0, 6);      /* -> 11 */
	E(&p, ADD64_REG, 0, 6, 0, 0);       /* + 6 */
	E(&p, ADD64_REG, 0, 9, 0, 0);       /* + 9 */
	E(&p, LDX_DW, 1, 10, -8, 0);
	E(&p, ADD64_REG, 0, 1, 0, 0);       /* + 77: untouched by the callee */
	EXIT(&p);
	/* 11: callee: its stack is fresh and zeroed, r10 differs */
	E(&p, LDX_DW, 0, 10, -8, 0);        /* 0 */
	E(&p, ST_DW, 10, 0, -8, 1000);
	E(&p, LDX_DW, 3, 1, -8, 0);         /* caller's -8 via pointer: 77 */
	E(&p, ADD64_REG, 0, 3, 0, 0);
	E(&p, ADD64_REG, 0, 2, 0, 0);       /* + 5 */
	E(&p, MOV64_IMM, 6, 0, 0, 0);
	E(&p, MOV64_IMM, 9, 0, 0, 0);
	E(&p, JEQ_REG, 1, 10, 1, 0);        /* same r10 would be a bug */
	EXIT(&p);
	E(&p, MOV64_IMM, 0, 0, 0, -1);
	EXIT(&p);
	CHECK_EQ(run_ok(&p, NULL, 0, __LINE__), 77 + 5 + 6 + 9 + 77);
}

TEST(call_depth_is_limited_to_max_frames)
{
	struct tp p = {0};
	E(&p, CALL_LOCAL, 0, 0, 0, -1); /* calls itself forever */
	EXIT(&p);
	struct result r = run(&p, NULL, 0);
	CHECK_EQ(r.rc, -E2BIG);
	CHECK_STR(r.err, "insn 0: call depth exceeds 8 frames");
}

TEST(callbacks_run_subprograms_for_helpers)
{
	/* r0 = loop(5, &cb, r10 - 8); return the sum the callback kept at
	 * [r10 - 8] * 100 + the count */
	struct tp p = {0};
	E(&p, ST_DW, 10, 0, -8, 0);
	E(&p, MOV64_IMM, 1, 0, 0, 5);
	p.n += (size_t)bpfvm_isa_encode(BPFVM_OP_LDDW_FUNC, 2, 0, 0, 8, 0, &p.insns[p.n]); /* 2 + 1 + 8 -> 11 */
	E(&p, MOV64_REG, 3, 10, 0, 0);
	E(&p, ADD64_IMM, 3, 0, 0, -8);
	E(&p, CALL_HELPER, 0, 0, 0, HELPER_LOOP);
	E(&p, LDX_DW, 1, 10, -8, 0);
	E(&p, MUL64_IMM, 1, 0, 0, 100);
	E(&p, ADD64_REG, 0, 1, 0, 0);
	EXIT(&p);
	/* 11: cb(i, ctx): *ctx += i; return 0 */
	E(&p, LDX_DW, 3, 2, 0, 0);
	E(&p, ADD64_REG, 3, 1, 0, 0);
	E(&p, STX_DW, 2, 3, 0, 0);
	E(&p, MOV64_IMM, 0, 0, 0, 0);
	EXIT(&p);
	CHECK_EQ(run_ok(&p, NULL, 0, __LINE__), (0 + 1 + 2 + 3 + 4) * 100 + 5);
}

TEST(fault_inside_a_callback_ends_the_whole_run)
{
	struct tp p = {0};
	E(&p, MOV64_IMM, 1, 0, 0, 3);
	p.n += (size_t)bpfvm_isa_encode(BPFVM_OP_LDDW_FUNC, 2, 0, 0, 4, 0, &p.insns[p.n]); /* 1 + 1 + 4 -> 6 */
	E(&p, CALL_HELPER, 0, 0, 0, HELPER_LOOP);
	E(&p, MOV64_IMM, 0, 0, 0, 1);
	EXIT(&p);
	E(&p, LDX_DW, 0, 0, 0, 0); /* 6: reads address 0 */
	EXIT(&p);
	struct result r = run_in(&(struct env){0}, &p, NULL, 0, MODE_CHECKED);
	CHECK_EQ(r.rc, -EFAULT);
	CHECK_CONTAINS(r.err, "insn 6: invalid read of 8 bytes at 0x0");
}

TEST(helpers_of_other_program_types_fault_in_checked_mode)
{
	/* bpf_xdp_adjust_head (44) is for XDP programs only; RAW may not */
	struct bpfvm_vm *vm = new_vm();
	const struct bpfvm_helper *h = bpfvm_vm_helper(vm, 44);
	int restricted = h && h->prog_types && !(h->prog_types & 1);
	bpfvm_vm_destroy(vm);
	if (!restricted)
		SKIP("no helper 44 restricted to other program types in this VM");
	struct tp p = {0};
	E(&p, MOV64_IMM, 2, 0, 0, 0);
	E(&p, CALL_HELPER, 0, 0, 0, 44);
	EXIT(&p);
	struct result r = run_in(&(struct env){0}, &p, NULL, 0, MODE_CHECKED);
	CHECK_EQ(r.rc, -EINVAL);
	CHECK_CONTAINS(r.err, "insn 1: helper bpf_");
	CHECK_CONTAINS(r.err, "#44 is not available to program type 0");
	struct tp x = {0};
	E(&x, MOV64_IMM, 3, 0, 0, 44);
	E(&x, CALLX, 3, 0, 0, 0);
	EXIT(&x);
	r = run_in(&(struct env){0}, &x, NULL, 0, MODE_CHECKED);
	CHECK_EQ(r.rc, -EINVAL);
	CHECK_CONTAINS(r.err, "#44 is not available to program type 0");
}

TEST(kfunc_calls_are_rejected_at_load)
{
	struct tp p = {0};
	E(&p, CALL_KFUNC, 0, 0, 0, 1234);
	EXIT(&p);
	struct result r = run_in(&(struct env){0}, &p, NULL, 0, MODE_CHECKED);
	CHECK_EQ(r.rc, -ENOTSUP);
	CHECK_CONTAINS(r.err, "insn 0: kfunc calls are not supported by the interpreter");
}

/* ---- checked mode ---------------------------------------------------------------- */

TEST(checked_mode_rejects_accesses_outside_stack_ctx_and_regions)
{
	uint8_t mem[8] = {0};
	struct {
		const char *what;
		enum bpfvm_opid op;
		int base, off;
		const char *msg;
	} cases[] = {
		{"past the context", BPFVM_OP_LDX_DW, 1, 1, "insn 0: invalid read of 8 bytes at 0x"},
		{"before the context", BPFVM_OP_STX_B, 1, -1, "insn 0: invalid write of 1 bytes at 0x"},
		{"below the stack frame", BPFVM_OP_STX_DW, 10, -520, "insn 0: invalid write of 8 bytes"},
		{"above the stack", BPFVM_OP_LDX_W, 10, 0, "insn 0: invalid read of 4 bytes"},
		{"null", BPFVM_OP_LDX_B, 0, 0, "insn 0: invalid read of 1 bytes at 0x0 (outside the stack, context and registered memory)"},
		{"atomic past ctx", BPFVM_OP_ATOMIC64_ADD, 1, 8, "insn 0: invalid atomic access of 8 bytes"},
		{"misaligned atomic", BPFVM_OP_ATOMIC32_ADD, 10, -7, "insn 0: misaligned atomic access of 4 bytes"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct bpfvm_opinfo *row = &bpfvm_isa_table()[cases[i].op];
		struct tp p = {0};
		int mem_reg_is_dst = row->kind != BPFVM_KIND_LDX;
		emit(&p, cases[i].op, mem_reg_is_dst ? cases[i].base : 0,
		     mem_reg_is_dst ? 2 : cases[i].base, cases[i].off, row->match_val);
		EXIT(&p);
		struct result r = run_in(&(struct env){0}, &p, mem, sizeof(mem), MODE_CHECKED);
		if (r.rc != -EFAULT || !strstr(r.err, cases[i].msg))
			harness_fail(__FILE__, __LINE__, "%s: rc %d \"%s\"", cases[i].what, r.rc, r.err);
	}
}

TEST(checked_mode_allows_registered_regions_read_only_when_asked)
{
	static uint8_t ro[8] = {42};
	struct tp p = {0};
	emit64(&p, 1, (uint64_t)(uintptr_t)ro);
	E(&p, LDX_B, 0, 1, 0, 0);
	EXIT(&p);
	struct bpfvm_vm *vm = new_vm();
	struct bpfvm_prog *prog;
	struct bpfvm_prog_opts opts = {.safety = BPFVM_SAFETY_CHECKED, .engine = BPFVM_ENGINE_INTERP};
	CHECK(bpfvm_prog_load(vm, p.insns, p.n, &opts, &prog) == 0);
	struct bpfvm_run run = {.regions = {{ro, sizeof(ro), 0}}, .nregions = 1};
	CHECK_EQ(bpfvm_prog_run(prog, &run), 0);
	CHECK_EQ(run.retval, 42);

	struct tp w = {0};
	emit64(&w, 1, (uint64_t)(uintptr_t)ro);
	E(&w, ST_B, 1, 0, 0, 1);
	EXIT(&w);
	struct bpfvm_prog *wprog;
	CHECK(bpfvm_prog_load(vm, w.insns, w.n, &opts, &wprog) == 0);
	CHECK_EQ(bpfvm_prog_run(wprog, &run), -EFAULT);
	CHECK_CONTAINS(run.error, "insn 2: invalid write of 1 bytes");
	CHECK_EQ(ro[0], 42);
	bpfvm_vm_destroy(vm);
}

TEST(budget_stops_endless_loops)
{
	struct tp p = {0};
	E(&p, MOV64_IMM, 0, 0, 0, 0);
	E(&p, JA, 0, 0, -1, 0);
	EXIT(&p);
	struct env env = {.budget = 1000};
	struct result r = run_in(&env, &p, NULL, 0, MODE_CHECKED);
	CHECK_EQ(r.rc, -E2BIG);
	CHECK_STR(r.err, "insn 1: instruction budget of 1000 exhausted (endless loop?)");
	r = run_in(&env, &p, NULL, 0, MODE_TRACE);
	CHECK_EQ(r.rc, -E2BIG);
}

TEST(budget_counts_callback_instructions_too)
{
	/* loop(1000000, cb) where cb is 2 instructions: more than the budget */
	struct tp p = {0};
	E(&p, MOV64_IMM, 1, 0, 0, 1000000);
	p.n += (size_t)bpfvm_isa_encode(BPFVM_OP_LDDW_FUNC, 2, 0, 0, 3, 0, &p.insns[p.n]); /* 1 + 1 + 3 -> 5 */
	E(&p, CALL_HELPER, 0, 0, 0, HELPER_LOOP);
	EXIT(&p);
	E(&p, MOV64_IMM, 0, 0, 0, 0);
	EXIT(&p);
	struct env env = {.budget = 10000};
	struct result r = run_in(&env, &p, NULL, 0, MODE_CHECKED);
	CHECK_EQ(r.rc, -E2BIG);
	CHECK_CONTAINS(r.err, "budget of 10000 exhausted");
}

TEST(falling_off_the_end_faults)
{
	struct tp p = {0};
	E(&p, MOV64_IMM, 0, 0, 0, 0);
	struct result r = run(&p, NULL, 0);
	CHECK_EQ(r.rc, -EINVAL);
	CHECK_STR(r.err, "insn 1: fell off the end of the program");
}

/* ---- tracing --------------------------------------------------------------------- */

struct trace_log {
	size_t pcs[16];
	uint64_t r0[16];
	int frames[16];
	unsigned n;
};

static void log_trace(void *user, const struct bpfvm_prog *prog, size_t pc, int frame,
		      const uint64_t regs[BPFVM_NREGS])
{
	(void)prog;
	struct trace_log *log = user;
	if (log->n < 16) {
		log->pcs[log->n] = pc;
		log->r0[log->n] = regs[0];
		log->frames[log->n] = frame;
	}
	log->n++;
}

TEST(trace_sees_every_instruction_before_it_runs)
{
	struct tp p = {0};
	E(&p, MOV64_IMM, 0, 0, 0, 7);
	E(&p, CALL_LOCAL, 0, 0, 0, 1); /* -> 3 */
	EXIT(&p);
	E(&p, MOV64_IMM, 0, 0, 0, 9);
	EXIT(&p);
	struct bpfvm_vm *vm = new_vm();
	struct bpfvm_prog *prog;
	struct bpfvm_prog_opts opts = {.safety = BPFVM_SAFETY_CHECKED, .engine = BPFVM_ENGINE_INTERP};
	CHECK(bpfvm_prog_load(vm, p.insns, p.n, &opts, &prog) == 0);
	struct trace_log log = {0};
	struct bpfvm_run run = {.trace = log_trace, .trace_user = &log};
	CHECK_EQ(bpfvm_prog_run(prog, &run), 0);
	CHECK_EQ(run.retval, 9);
	CHECK_EQ(log.n, 5);
	CHECK_EQ(run.executed, 5);
	static const size_t want_pcs[] = {0, 1, 3, 4, 2};
	static const int want_frames[] = {0, 0, 1, 1, 0};
	for (int i = 0; i < 5; i++) {
		CHECK_EQ(log.pcs[i], want_pcs[i]);
		CHECK_EQ(log.frames[i], want_frames[i]);
	}
	CHECK_EQ(log.r0[1], 7); /* values before the instruction */
	bpfvm_vm_destroy(vm);
}

/* ---- tail calls (need PROG_ARRAY maps) -------------------------------------------- */

TEST(tail_calls_replace_the_program_and_fall_through_on_empty_slots)
{
	struct bpfvm_vm *vm = new_vm();
	struct bpfvm_map *pa = NULL;
	struct bpfvm_map_def def = {.type = BPFVM_MAP_PROG_ARRAY, .key_size = 4, .value_size = 4,
				    .max_entries = 4, .name = "jmp"};
	CHECK(bpfvm_map_create(vm, &def, &pa) == 0);
	if (!pa) {
		bpfvm_vm_destroy(vm);
		return;
	}
	struct bpfvm_prog_opts opts = {.safety = BPFVM_SAFETY_CHECKED, .engine = BPFVM_ENGINE_INTERP,
				       .maps = &pa, .nmaps = 1};
	/* target: r0 = *(u8 *)(r1 + 0) + 100 (sees ctx in r1) */
	struct tp t = {0};
	E(&t, LDX_B, 0, 1, 0, 0);
	E(&t, ADD64_IMM, 0, 0, 0, 100);
	EXIT(&t);
	struct bpfvm_prog *target;
	CHECK(bpfvm_prog_load(vm, t.insns, t.n, &opts, &target) == 0);
	uint32_t key = 1, id = bpfvm_prog_id(target);
	CHECK(bpfvm_map_update(pa, &key, &id, BPFVM_ANY) == 0);
	/* main: tail_call(ctx, pa, r6) for r6 = 0 (empty: falls through), then 1 */
	struct tp m = {0};
	E(&m, MOV64_REG, 7, 1, 0, 0);
	E(&m, MOV64_IMM, 6, 0, 0, 0);
	m.n += (size_t)bpfvm_isa_encode(BPFVM_OP_LDDW_MAP_FD, 2, 0, 0, 0, 0, &m.insns[m.n]);
	E(&m, MOV64_REG, 3, 6, 0, 0);
	E(&m, MOV64_IMM, 1, 0, 0, 0); /* r1 is clobbered: the target still gets ctx */
	E(&m, CALL_HELPER, 0, 0, 0, BPFVM_HELPER_TAIL_CALL);
	E(&m, ADD64_IMM, 6, 0, 0, 1);
	E(&m, JLT_IMM, 6, 0, -7, 2);
	E(&m, MOV64_IMM, 0, 0, 0, -1);
	EXIT(&m);
	struct bpfvm_prog *main_prog;
	CHECK(bpfvm_prog_load(vm, m.insns, m.n, &opts, &main_prog) == 0);
	uint8_t ctx[4] = {5};
	struct bpfvm_run run = {.ctx = ctx, .ctx_size = sizeof(ctx)};
	CHECK_EQ(bpfvm_prog_run(main_prog, &run), 0);
	CHECK_EQ(run.retval, 105);
	bpfvm_vm_destroy(vm);
}

TEST(tail_call_with_a_forged_map_pointer_faults_in_checked_mode)
{
	struct tp m = {0};
	E(&m, MOV64_IMM, 2, 0, 0, 0x1234);
	E(&m, MOV64_IMM, 3, 0, 0, 0);
	E(&m, CALL_HELPER, 0, 0, 0, BPFVM_HELPER_TAIL_CALL);
	EXIT(&m);
	struct result r = run_in(&(struct env){0}, &m, NULL, 0, MODE_CHECKED);
	CHECK_EQ(r.rc, -EINVAL);
	CHECK_STR(r.err, "insn 2: tail call with r2 = 0x1234, not a map of the program");
}

static struct bpfvm_map *new_map(struct bpfvm_vm *vm, enum bpfvm_map_type type, uint32_t value_size,
				  uint32_t max_entries)
{
	struct bpfvm_map *map = NULL;
	struct bpfvm_map_def def = {.type = type, .key_size = 4, .value_size = value_size,
				    .max_entries = max_entries, .name = "m"};
	CHECK(bpfvm_map_create(vm, &def, &map) == 0);
	return map;
}

TEST(tail_calls_stop_after_33)
{
	/* The program counts its runs in ctx[0] and tail-calls itself: it
	 * runs once plus 33 tail calls, then falls through and returns. */
	struct bpfvm_vm *vm = new_vm();
	struct bpfvm_map *pa = new_map(vm, BPFVM_MAP_PROG_ARRAY, 4, 1);
	struct tp m = {0};
	E(&m, LDX_DW, 2, 1, 0, 0);
	E(&m, ADD64_IMM, 2, 0, 0, 1);
	E(&m, STX_DW, 1, 2, 0, 0);
	m.n += (size_t)bpfvm_isa_encode(BPFVM_OP_LDDW_MAP_FD, 2, 0, 0, 0, 0, &m.insns[m.n]);
	E(&m, MOV64_IMM, 3, 0, 0, 0);
	E(&m, CALL_HELPER, 0, 0, 0, BPFVM_HELPER_TAIL_CALL);
	E(&m, MOV64_IMM, 0, 0, 0, 7);
	EXIT(&m);
	for (int checked = 0; checked < 2 && pa; checked++) {
		struct bpfvm_prog_opts opts = {.safety = BPFVM_SAFETY_CHECKED, .engine = BPFVM_ENGINE_INTERP,
					       .maps = &pa, .nmaps = 1};
		struct bpfvm_prog *prog;
		CHECK(bpfvm_prog_load(vm, m.insns, m.n, &opts, &prog) == 0);
		if (!checked)
			prog->safety = BPFVM_SAFETY_VERIFIED;
		uint32_t key = 0, id = bpfvm_prog_id(prog);
		CHECK(bpfvm_map_update(pa, &key, &id, BPFVM_ANY) == 0);
		uint64_t count = 0;
		struct bpfvm_run run = {.ctx = &count, .ctx_size = sizeof(count)};
		CHECK_EQ(bpfvm_prog_run(prog, &run), 0);
		CHECK_EQ(run.retval, 7);
		CHECK_EQ(count, 1 + 33);
		bpfvm_prog_destroy(prog);
	}
	bpfvm_vm_destroy(vm);
}

TEST(checked_mode_reaches_map_values_by_ld_imm64_and_by_lookup)
{
	struct bpfvm_vm *vm = new_vm();
	struct bpfvm_map *arr = new_map(vm, BPFVM_MAP_ARRAY, 16, 1);
	/* *(u64 *)(map_value + 8) = 5; r0 = lookup(arr, &0)->[8] + 1, with the
	 * fd-style and the index-style LD_IMM64 forms */
	static const enum bpfvm_opid forms[2][2] = {
		{BPFVM_OP_LDDW_MAP_VALUE, BPFVM_OP_LDDW_MAP_FD},
		{BPFVM_OP_LDDW_MAP_IDX_VALUE, BPFVM_OP_LDDW_MAP_IDX},
	};
	struct env env = {.vm = vm, .maps = &arr, .nmaps = 1};
	struct result r;
	for (int f = 0; f < 2; f++) {
		struct tp p = {0};
		p.n += (size_t)bpfvm_isa_encode(forms[f][0], 1, 0, 0, 0, 8ull << 32, &p.insns[p.n]);
		E(&p, ST_DW, 1, 0, 0, 5 + f);
		E(&p, ST_W, 10, 0, -4, 0);
		p.n += (size_t)bpfvm_isa_encode(forms[f][1], 1, 0, 0, 0, 0, &p.insns[p.n]);
		E(&p, MOV64_REG, 2, 10, 0, 0);
		E(&p, ADD64_IMM, 2, 0, 0, -4);
		E(&p, CALL_HELPER, 0, 0, 0, 1); /* bpf_map_lookup_elem */
		E(&p, JNE_IMM, 0, 0, 2, 0);
		E(&p, MOV64_IMM, 0, 0, 0, -1);
		EXIT(&p);
		E(&p, LDX_DW, 0, 0, 8, 0);
		E(&p, ADD64_IMM, 0, 0, 0, 1);
		EXIT(&p);
		r = run_env(&env, &p, NULL, 0);
		CHECK_EQ(r.rc, 0);
		CHECK_EQ(r.r0, 6 + f);
	}

	/* past the end of the value: a fault in checked mode */
	struct tp bad = {0};
	bad.n += (size_t)bpfvm_isa_encode(BPFVM_OP_LDDW_MAP_VALUE, 1, 0, 0, 0, 8ull << 32, &bad.insns[bad.n]);
	E(&bad, LDX_DW, 0, 1, 8, 0);
	EXIT(&bad);
	r = run_in(&env, &bad, NULL, 0, MODE_CHECKED);
	CHECK_EQ(r.rc, -EFAULT);
	CHECK_CONTAINS(r.err, "insn 2: invalid read of 8 bytes");
	bpfvm_vm_destroy(vm);
}

/* ---- many runs of one program at once ------------------------------------------ */

#include <pthread.h>

struct thread_arg {
	struct bpfvm_prog *prog;
	int ok;
};

static void *run_many(void *p)
{
	struct thread_arg *a = p;
	a->ok = 1;
	for (int i = 0; i < 200; i++) {
		uint64_t mem[2] = {(uint64_t)i, 0};
		struct bpfvm_run run = {.ctx = mem, .ctx_size = sizeof(mem)};
		if (bpfvm_prog_run(a->prog, &run) || run.retval != (uint64_t)i * 3 || mem[1] != (uint64_t)i)
			a->ok = 0;
	}
	return NULL;
}

TEST(one_program_runs_on_many_threads)
{
	struct tp p = {0};
	E(&p, LDX_DW, 0, 1, 0, 0);
	E(&p, STX_DW, 1, 0, 8, 0);
	E(&p, MUL64_IMM, 0, 0, 0, 3);
	EXIT(&p);
	struct bpfvm_vm *vm = new_vm();
	struct bpfvm_prog *prog;
	struct bpfvm_prog_opts opts = {.safety = BPFVM_SAFETY_CHECKED, .engine = BPFVM_ENGINE_INTERP};
	CHECK(bpfvm_prog_load(vm, p.insns, p.n, &opts, &prog) == 0);
	pthread_t th[4];
	struct thread_arg args[4];
	for (int i = 0; i < 4; i++) {
		args[i].prog = prog;
		pthread_create(&th[i], NULL, run_many, &args[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		CHECK(args[i].ok);
	}
	bpfvm_vm_destroy(vm);
}

/* Registered last: the tests above must have executed every row except
 * the two bpfvm rejects at load (kfunc calls, BTF ids of kernel variables). */
TEST(every_opcode_row_was_executed_by_the_tests_above)
{
	if (programs_run < 100)
		SKIP("run the whole file to measure row coverage");
	const struct bpfvm_opinfo *t = bpfvm_isa_table();
	for (size_t i = 0; i < BPFVM_OP__COUNT; i++) {
		if (rows_seen[i] || i == BPFVM_OP_CALL_KFUNC || i == BPFVM_OP_LDDW_BTF_ID)
			continue;
		harness_fail(__FILE__, __LINE__, "row %s never executed", t[i].id);
	}
}
