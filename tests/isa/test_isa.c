/* The opcode table: every row encodes to bytes that look up to that row,
 * rows are unambiguous, and validation rejects malformed programs. */
#include <errno.h>

#include "bpfvm/isa.h"
#include "common/harness.h"

#define INSN(c, d, s, o, i) ((struct bpfvm_insn){.code = (c), .dst = (d), .src = (s), .off = (o), .imm = (i)})

TEST(every_row_round_trips_through_encode_and_lookup)
{
	const struct bpfvm_opinfo *t = bpfvm_isa_table();
	for (size_t i = 0; i < bpfvm_isa_table_size(); i++) {
		struct bpfvm_insn buf[2];
		int slots = bpfvm_isa_encode((enum bpfvm_opid)i, 1, 2, 0, 0, 0, buf);
		CHECK(slots == ((t[i].flags & BPFVM_F_WIDE) ? 2 : 1));
		const struct bpfvm_opinfo *row = bpfvm_isa_lookup(&buf[0]);
		if (row != &t[i])
			harness_fail(__FILE__, __LINE__, "row %s looks up as %s", t[i].id,
				     row ? row->id : "nothing");
	}
}

TEST(rows_have_templates_and_unique_ids)
{
	const struct bpfvm_opinfo *t = bpfvm_isa_table();
	for (size_t i = 0; i < bpfvm_isa_table_size(); i++) {
		CHECK(t[i].llvm != NULL);
		for (size_t j = i + 1; j < bpfvm_isa_table_size(); j++)
			if (strcmp(t[i].id, t[j].id) == 0 ||
			    (t[i].mnem && t[j].mnem && strcmp(t[i].mnem, t[j].mnem) == 0 &&
			     (t[i].flags & BPFVM_F_REG_SRC) == (t[j].flags & BPFVM_F_REG_SRC)))
				harness_fail(__FILE__, __LINE__, "rows %s and %s clash", t[i].id, t[j].id);
	}
}

TEST(table_covers_the_whole_isa)
{
	/* 14 ALU ops x 4 forms + 2 NEG, + 5 movsx, 9 end,
	 * 2 ja, 11 x 4 conditional jumps, 3 calls, callx, exit, 7 lddw,
	 * 6 legacy loads, 4 x 3 mem, 3 ldxsx, 10 x 2 atomics. */
	CHECK_EQ(bpfvm_isa_table_size(), 14 * 4 + 2 + 5 + 9 + 2 + 44 + 3 + 1 + 1 + 7 + 6 + 12 + 3 + 20);
}

TEST(decode_joins_ld_imm64_halves)
{
	struct bpfvm_insn p[2] = {INSN(0x18, 1, 0, 0, 0x55667788), INSN(0, 0, 0, 0, 0x11223344)};
	struct bpfvm_decoded d;
	CHECK(bpfvm_isa_decode(p, 2, 0, &d, NULL, 0) == 0);
	CHECK_EQ(d.imm64, 0x1122334455667788ULL);
	CHECK_EQ(d.slots, 2);
	CHECK(d.opid == BPFVM_OP_LDDW);
}

static void expect_invalid(const struct bpfvm_insn *p, size_t n, const char *msg)
{
	char err[256] = "";
	CHECK(bpfvm_isa_validate(p, n, err, sizeof(err)) == -EINVAL);
	CHECK_CONTAINS(err, msg);
}

TEST(validation_rejects_malformed_programs)
{
	struct bpfvm_insn exit_ = INSN(0x95, 0, 0, 0, 0);
	struct bpfvm_insn unknown[] = {INSN(0xff, 0, 0, 0, 0), exit_};
	expect_invalid(unknown, 2, "insn 0: unknown opcode 0xff");
	struct bpfvm_insn badreg[] = {INSN(0xb7, 11, 0, 0, 1), exit_};
	expect_invalid(badreg, 2, "insn 0: invalid register r11");
	struct bpfvm_insn reserved[] = {INSN(0xb7, 0, 0, 0, 1), INSN(0x95, 0, 0, 0, 7)};
	expect_invalid(reserved, 2, "insn 1: EXIT uses reserved field imm");
	struct bpfvm_insn half[] = {INSN(0x18, 0, 0, 0, 1)};
	expect_invalid(half, 1, "insn 0: incomplete ld_imm64");
	struct bpfvm_insn far[] = {INSN(0x05, 0, 0, 5, 0), exit_};
	expect_invalid(far, 2, "jump out of range from insn 0 to 6");
	struct bpfvm_insn middle[] = {INSN(0x05, 0, 0, 1, 0), INSN(0x18, 0, 0, 0, 1), INSN(0, 0, 0, 0, 0), exit_};
	expect_invalid(middle, 4, "jump into the middle of ld_imm64");
	struct bpfvm_insn fp[] = {INSN(0xb7, 10, 0, 0, 1), exit_};
	expect_invalid(fp, 2, "frame pointer r10 is read only");
	expect_invalid(fp, 0, "empty program");
	struct bpfvm_insn ok[] = {INSN(0xb7, 0, 0, 0, 1), exit_};
	CHECK(bpfvm_isa_validate(ok, 2, NULL, 0) == 0);
}
