/* Checked mode never lets a program hurt the process: thousands of random
 * programs (every row of the opcode table, random registers, offsets
 * around the stack and the context, random jumps and calls) load in checked
 * mode and run against a small context with a small budget. Under
 * AddressSanitizer any access outside the stack, context or registered
 * memory, or any crash, fails the test; the runs themselves may fault. */
#include <errno.h>
#include <stdlib.h>

#include "bpfvm/bpfvm.h"
#include "common/harness.h"

#define NPROGS 20000
#define MAXLEN 40

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int16_t random_off(uint64_t *s)
{
	/* around the fields a program can legally reach, and a bit past */
	static const int16_t offs[] = {0, 1, 2, 4, 7, 8, 16, 56, 60, 63, 64, 65, -1, -4, -8, -16,
				       -256, -504, -508, -512, -513, -520, 512};
	return offs[rnd(s) % (sizeof(offs) / sizeof(offs[0]))];
}

static int random_reg(uint64_t *s)
{
	/* r1 (context) and r10 (frame) often, so memory rows hit memory */
	uint64_t r = rnd(s) % 16;
	return r < 4 ? 1 : r < 8 ? 10 : (int)(r % 11);
}

/* Helpers a random program may call: ones that take no pointers. */
static const int32_t safe_helpers[] = {5, 7, 8, 14, 15};

static size_t random_program(uint64_t *s, struct bpfvm_insn *out)
{
	size_t n = 2 + rnd(s) % (MAXLEN - 4);
	const struct bpfvm_opinfo *t = bpfvm_isa_table();
	size_t pc = 0;
	while (pc < n) {
		enum bpfvm_opid op = (enum bpfvm_opid)(rnd(s) % BPFVM_OP__COUNT);
		const struct bpfvm_opinfo *row = &t[op];
		if (row->kind == BPFVM_KIND_LDDW && row->op != BPFVM_LDDW_IMM && row->op != BPFVM_LDDW_FUNC)
			continue; /* needs maps */
		if ((row->flags & BPFVM_F_WIDE) && pc + 2 > n)
			continue;
		int dst = random_reg(s), src = random_reg(s);
		int16_t off = random_off(s);
		int32_t imm = (int32_t)rnd(s);
		if (rnd(s) % 2)
			imm = (int32_t)(rnd(s) % 64) - 8;
		if (row->flags & (BPFVM_F_JUMP_OFF | BPFVM_F_JUMP_IMM)) {
			/* a target inside the program (or just past it) */
			int32_t delta = (int32_t)(rnd(s) % (n + 1)) - (int32_t)pc - 1;
			if (row->flags & BPFVM_F_JUMP_IMM)
				imm = delta;
			else
				off = (int16_t)delta;
		}
		/* fields the row needs zero, and no writes to r10, so that most
		 * programs pass the structural validation */
		if (row->zero & BPFVM_Z_DST)
			dst = 0;
		if (row->zero & BPFVM_Z_SRC)
			src = 0;
		if (row->zero & BPFVM_Z_OFF)
			off = 0;
		if (row->zero & BPFVM_Z_IMM)
			imm = 0;
		int writes_dst = row->kind == BPFVM_KIND_ALU || row->kind == BPFVM_KIND_END ||
				 row->kind == BPFVM_KIND_LDDW || row->kind == BPFVM_KIND_LDX ||
				 row->kind == BPFVM_KIND_LDXSX;
		if (writes_dst && dst == 10)
			dst = (int)(rnd(s) % 10);
		if (row->kind == BPFVM_KIND_ATOMIC && src == 10)
			src = (int)(rnd(s) % 10);
		if (row->kind == BPFVM_KIND_CALL && row->op == BPFVM_CALL_HELPER)
			imm = safe_helpers[rnd(s) % (sizeof(safe_helpers) / sizeof(safe_helpers[0]))];
		if (row->kind == BPFVM_KIND_CALLX) {
			/* callx r(dst): make dst hold a helper id sometimes */
			pc += (size_t)bpfvm_isa_encode(BPFVM_OP_MOV64_IMM, (uint8_t)(dst % 10), 0, 0,
						       safe_helpers[rnd(s) % 5], 0, &out[pc]);
			if (pc >= n)
				break;
		}
		pc += (size_t)bpfvm_isa_encode(op, (uint8_t)dst, (uint8_t)src, off, imm, rnd(s), &out[pc]);
	}
	bpfvm_isa_encode(BPFVM_OP_EXIT, 0, 0, 0, 0, 0, &out[n]);
	return n + 1;
}

TEST(random_programs_never_escape_checked_mode)
{
	struct bpfvm_vm *vm;
	CHECK(bpfvm_vm_create(&vm) == 0);
	uint64_t seed = 0x1234567887654321ULL;
	unsigned loaded = 0, finished = 0, faulted = 0;
	static const uint8_t pkt[32] = {0x45};
	for (int i = 0; i < NPROGS; i++) {
		struct bpfvm_insn insns[MAXLEN + 4];
		size_t n = random_program(&seed, insns);
		struct bpfvm_prog *prog;
		struct bpfvm_prog_opts opts = {.safety = BPFVM_SAFETY_CHECKED, .engine = BPFVM_ENGINE_INTERP};
		if (bpfvm_prog_load(vm, insns, n, &opts, &prog))
			continue; /* structurally invalid: rejected at load */
		loaded++;
		uint8_t *ctx = malloc(64); /* exact size: ASan sees one byte past it */
		memset(ctx, 0xab, 64);
		struct bpfvm_run run = {.ctx = ctx, .ctx_size = 64, .budget = 2000,
					.pkt = pkt, .pkt_len = sizeof(pkt)};
		int rc = bpfvm_prog_run(prog, &run);
		if (rc == 0)
			finished++;
		else if (rc == -EFAULT || rc == -E2BIG || rc == -EINVAL)
			faulted++;
		else
			harness_fail(__FILE__, __LINE__, "program %d: unexpected rc %d (%s)", i, rc, run.error);
		if (rc && !strstr(run.error, "insn "))
			harness_fail(__FILE__, __LINE__, "program %d: fault without a location: %s", i, run.error);
		free(ctx);
		bpfvm_prog_destroy(prog);
	}
	printf("    %d random programs: %u loaded, %u ran to exit, %u stopped by a check\n", NPROGS, loaded,
	       finished, faulted);
	CHECK(loaded > NPROGS / 10);
	CHECK(finished > 0 && faulted > 0);
	bpfvm_vm_destroy(vm);
}
