/* The assembler and disassembler: both syntaxes, round trips over the whole
 * opcode table, labels, comments and the error messages. */
#include <errno.h>
#include <stdlib.h>

#include "bpfvm/asm.h"
#include "common/harness.h"

#define INSN(c, d, s, o, i) ((struct bpfvm_insn){.code = (c), .dst = (d), .src = (s), .off = (o), .imm = (i)})

/* Assemble; on failure report the message and return 0. */
static size_t assemble(const char *text, enum bpfvm_syntax syntax, struct bpfvm_insn **out)
{
	char err[256];
	size_t n = 0;
	*out = NULL;
	if (bpfvm_asm(text, syntax, "t.s", out, &n, err, sizeof(err))) {
		harness_fail(__FILE__, __LINE__, "assembling \"%s\": %s", text, err);
		return 0;
	}
	return n;
}

/* The error message for text that must not assemble. */
static const char *asm_error(const char *text, enum bpfvm_syntax syntax)
{
	static __thread char err[256];
	struct bpfvm_insn *out = NULL;
	size_t n = 0;
	err[0] = 0;
	int rc = bpfvm_asm(text, syntax, "prog.s", &out, &n, err, sizeof(err));
	if (rc != -EINVAL)
		harness_fail(__FILE__, __LINE__, "\"%s\" assembled (rc %d)", text, rc);
	free(out);
	return err;
}

static int same_insn(const struct bpfvm_insn *a, const struct bpfvm_insn *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

TEST(llvm_syntax_assembles_the_documented_forms)
{
	struct bpfvm_insn *p = NULL;
	size_t n = assemble("r1 = 2675\n"
			    "w0 = w1\n"
			    "*(u16 *)(r10 - 8) = r1\n"
			    "r1 = *(u32 *)(r6 + 4)\n"
			    "if r0 == 0 goto +2\n"
			    "if w1 s> w2 goto -5\n"
			    "call 6\n"
			    "r1 = 2675205388142210915 ll\n"
			    "r0 = be16 r0\n"
			    "lock *(u64 *)(r0 + 0) += r1\n"
			    "r0 = atomic_fetch_add((u64 *)(r1 + 0), r0)\n"
			    "r1 = map[3] ll\n"
			    "call pc-4\n"
			    ".insn 0xbf 1 2 0 0\n"
			    "r1 = 0x10\n"
			    "exit\n",
			    BPFVM_SYNTAX_LLVM, &p);
	CHECK_EQ(n, 18);
	if (n != 18)
		return;
	CHECK(same_insn(&p[0], &INSN(0xb7, 1, 0, 0, 2675)));
	CHECK(same_insn(&p[1], &INSN(0xbc, 0, 1, 0, 0)));
	CHECK(same_insn(&p[2], &INSN(0x6b, 10, 1, -8, 0)));
	CHECK(same_insn(&p[3], &INSN(0x61, 1, 6, 4, 0)));
	CHECK(same_insn(&p[4], &INSN(0x15, 0, 0, 2, 0)));
	CHECK(same_insn(&p[5], &INSN(0x6e, 1, 2, -5, 0)));
	CHECK(same_insn(&p[6], &INSN(0x85, 0, 0, 0, 6)));
	CHECK(same_insn(&p[7], &INSN(0x18, 1, 0, 0, 0x6d6d6f63)));
	CHECK(same_insn(&p[8], &INSN(0x00, 0, 0, 0, 0x25203d20)));
	CHECK(same_insn(&p[9], &INSN(0xdc, 0, 0, 0, 16)));
	CHECK(same_insn(&p[10], &INSN(0xdb, 0, 1, 0, 0)));
	CHECK(same_insn(&p[11], &INSN(0xdb, 1, 0, 0, 1)));
	CHECK(same_insn(&p[12], &INSN(0x18, 1, 1, 0, 3)));
	CHECK(same_insn(&p[13], &INSN(0x00, 0, 0, 0, 0)));
	CHECK(same_insn(&p[14], &INSN(0x85, 0, 1, 0, -4)));
	CHECK(same_insn(&p[15], &INSN(0xbf, 1, 2, 0, 0)));
	CHECK(same_insn(&p[16], &INSN(0xb7, 1, 0, 0, 16)));
	CHECK(same_insn(&p[17], &INSN(0x95, 0, 0, 0, 0)));
	free(p);
}

TEST(labels_and_comments_in_llvm_syntax)
{
	struct bpfvm_insn *p = NULL;
	size_t n = assemble("; leading comment\n"
			    "start:  r0 = 0  # set r0\n"
			    "loop:\n"
			    "  r0 += 1 // count\n"
			    "  if r0 < 10 goto loop\n"
			    "  r1 = 1 ll\n"
			    "  goto out\n"
			    "  r0 = 5\n"
			    "out: exit\n",
			    BPFVM_SYNTAX_LLVM, &p);
	CHECK_EQ(n, 8);
	if (n != 8)
		return;
	CHECK_EQ((int16_t)p[2].off, -2); /* slot 2 -> loop (slot 1) */
	CHECK_EQ((int16_t)p[5].off, 1);  /* slot 5 -> out (slot 7), past the lddw */
	free(p);
}

TEST(narrow_loads_stores_and_atomics_take_w_registers_as_llvm_alu32_prints_them)
{
	struct bpfvm_insn *a = NULL, *b = NULL;
	size_t na = assemble("w2 = *(u32 *)(r1 - 4)\n"
			     "*(u16 *)(r10 - 8) = w3\n"
			     "lock *(u32 *)(r0 + 0) += w1\n"
			     "r1 = atomic_fetch_or((u32 *)(r0 + 0), r1)\n",
			     BPFVM_SYNTAX_LLVM, &a);
	size_t nb = assemble("r2 = *(u32 *)(r1 - 4)\n"
			     "*(u16 *)(r10 - 8) = r3\n"
			     "lock *(u32 *)(r0 + 0) += r1\n"
			     "w1 = atomic_fetch_or((u32 *)(r0 + 0), w1)\n",
			     BPFVM_SYNTAX_LLVM, &b);
	CHECK_EQ(na, 4);
	CHECK(na == nb && memcmp(a, b, na * sizeof(*a)) == 0);
	free(a);
	free(b);
	/* The address is always a 64-bit register, and 64-bit values stay rN. */
	CHECK_CONTAINS(asm_error("r2 = *(u32 *)(w1 - 4)\n", BPFVM_SYNTAX_LLVM), "got 'w1'");
	CHECK_CONTAINS(asm_error("w2 = *(u64 *)(r1 - 4)\n", BPFVM_SYNTAX_LLVM), "error:");
}

TEST(crlf_line_endings_and_tabs_are_accepted)
{
	struct bpfvm_insn *p = NULL;
	size_t n = assemble("\tr0 = 1\r\n\tif r0 != 1 goto end\r\n\tr0 = 2\r\nend:\texit\r\n",
			    BPFVM_SYNTAX_LLVM, &p);
	CHECK_EQ(n, 4);
	if (n == 4)
		CHECK_EQ((int16_t)p[1].off, 1);
	free(p);
}

TEST(conformance_syntax_assembles_mnemonics_and_aliases)
{
	struct bpfvm_insn *p = NULL;
	size_t n = assemble("mov32 %r0, 0\n"
			    "add64 %r0, %r1\n"
			    "stxdw [%r10-8], %r0\n"
			    "lock fetch add [%r1], %r2\n"
			    "lock fetch xchg32 [%r1+4], %r2\n"
			    "swap16 %r3\n"
			    "gotol +1\n"
			    "call %r5\n"
			    "call local func\n"
			    "call runtime 7\n"
			    "ldindh %r1, 0x10\n"
			    "lddw %r0, 0x123456789\n"
			    "jne %r0, 1, exit\n"
			    "exit\n"
			    "func:\n"
			    "exit\n",
			    BPFVM_SYNTAX_CONFORMANCE, &p);
	CHECK_EQ(n, 16);
	if (n != 16)
		return;
	CHECK(same_insn(&p[0], &INSN(0xb4, 0, 0, 0, 0)));
	CHECK(same_insn(&p[1], &INSN(0x0f, 0, 1, 0, 0)));
	CHECK(same_insn(&p[2], &INSN(0x7b, 10, 0, -8, 0)));
	CHECK(same_insn(&p[3], &INSN(0xdb, 1, 2, 0, 1)));
	CHECK(same_insn(&p[4], &INSN(0xc3, 1, 2, 4, 0xe1)));
	CHECK(same_insn(&p[5], &INSN(0xd7, 3, 0, 0, 16)));
	CHECK(same_insn(&p[6], &INSN(0x06, 0, 0, 0, 1)));
	CHECK(same_insn(&p[7], &INSN(0x8d, 5, 0, 0, 0)));
	CHECK(same_insn(&p[8], &INSN(0x85, 0, 1, 0, 6)));  /* func = slot 15 */
	CHECK(same_insn(&p[9], &INSN(0x85, 0, 2, 0, 7)));
	CHECK(same_insn(&p[10], &INSN(0x48, 0, 1, 0, 16)));
	CHECK(same_insn(&p[11], &INSN(0x18, 0, 0, 0, 0x23456789)));
	CHECK(same_insn(&p[12], &INSN(0x00, 0, 0, 0, 1)));
	CHECK(same_insn(&p[13], &INSN(0x55, 0, 0, 0, 1))); /* "exit" = first exit, slot 14 */
	free(p);
}

TEST(auto_syntax_picks_conformance_for_percent_registers)
{
	struct bpfvm_insn *a = NULL, *b = NULL;
	size_t na = assemble("mov %r0, 1\nexit\n", BPFVM_SYNTAX_AUTO, &a);
	size_t nb = assemble("r0 = 1\nexit\n", BPFVM_SYNTAX_AUTO, &b);
	CHECK_EQ(na, 2);
	CHECK_EQ(nb, 2);
	if (na == 2 && nb == 2)
		CHECK(memcmp(a, b, 2 * sizeof(*a)) == 0);
	free(a);
	free(b);
}

TEST(disassembler_prints_llvm_objdump_text)
{
	static const struct {
		struct bpfvm_insn insn[2];
		const char *llvm, *conf;
	} cases[] = {
		{{INSN(0xb7, 1, 0, 0, -1)}, "r1 = -1", "mov %r1, -1"},
		{{INSN(0x07, 1, 0, 0, -8)}, "r1 += -8", "add %r1, -8"},
		{{INSN(0xbc, 0, 1, 0, 0)}, "w0 = w1", "mov32 %r0, %r1"},
		{{INSN(0x6b, 10, 1, -8, 0)}, "*(u16 *)(r10 - 8) = r1", "stxh [%r10-8], %r1"},
		{{INSN(0x61, 1, 6, 4, 0)}, "r1 = *(u32 *)(r6 + 4)", "ldxw %r1, [%r6+4]"},
		{{INSN(0x15, 0, 0, 2, 0)}, "if r0 == 0 goto +2", "jeq %r0, 0, +2"},
		{{INSN(0x6e, 1, 2, -5, 0)}, "if w1 s> w2 goto -5", "jsgt32 %r1, %r2, -5"},
		{{INSN(0x18, 1, 0, 0, -1), INSN(0, 0, 0, 0, -1)}, "r1 = -1 ll",
		 "lddw %r1, 0xffffffffffffffff"},
		{{INSN(0xdb, 0, 1, 0, 0)}, "lock *(u64 *)(r0 + 0) += r1", "lock add [%r0+0], %r1"},
		{{INSN(0xdb, 1, 0, 0, 1)}, "r0 = atomic_fetch_add((u64 *)(r1 + 0), r0)",
		 "lock fetch add [%r1+0], %r0"},
		{{INSN(0x40, 0, 1, 0, 0)}, "r0 = *(u32 *)skb[r1]", "ldindw %r1, 0"},
		{{INSN(0x40, 0, 1, 0, 8)}, "r0 = *(u32 *)skb[r1 + 8]", "ldindw %r1, 8"},
		{{INSN(0x3f, 1, 2, 1, 0)}, "r1 s/= r2", "sdiv %r1, %r2"},
		{{INSN(0xbf, 0, 1, 8, 0)}, "r0 = (s8)r1", "movsx864 %r0, %r1"},
		{{INSN(0x91, 0, 1, 0, 0)}, "r0 = *(s8 *)(r1 + 0)", "ldxsb %r0, [%r1+0]"},
		{{INSN(0xd7, 0, 0, 0, 16)}, "r0 = bswap16 r0", "bswap16 %r0"},
		{{INSN(0x06, 0, 0, 0, 5)}, "gotol +5", "ja32 +5"},
		{{INSN(0x8d, 2, 0, 0, 0)}, "callx r2", "callx %r2"},
		{{INSN(0x9f, 0, 1, 0, 0)}, "r0 %= r1", "mod %r0, %r1"},
		{{INSN(0x85, 0, 1, 0, -3)}, "call pc-3", "call local -3"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[128];
		size_t n = cases[i].insn[0].code == 0x18 ? 2 : 1;
		CHECK_EQ(bpfvm_disasm_insn(cases[i].insn, n, 0, BPFVM_SYNTAX_LLVM, buf, sizeof(buf)), n);
		CHECK_STR(buf, cases[i].llvm);
		CHECK_EQ(bpfvm_disasm_insn(cases[i].insn, n, 0, BPFVM_SYNTAX_CONFORMANCE, buf,
					   sizeof(buf)), n);
		CHECK_STR(buf, cases[i].conf);
	}
}

TEST(invalid_encodings_disassemble_to_insn_lines)
{
	char buf[128];
	struct bpfvm_insn bad = INSN(0xff, 0, 0, 0, 0);
	CHECK_EQ(bpfvm_disasm_insn(&bad, 1, 0, BPFVM_SYNTAX_LLVM, buf, sizeof(buf)), -EINVAL);
	CHECK_STR(buf, ".insn 0xff 0 0 0 0 ; unknown opcode 0xff");
	struct bpfvm_insn half = INSN(0x18, 1, 0, 0, 5);
	CHECK_EQ(bpfvm_disasm_insn(&half, 1, 0, BPFVM_SYNTAX_LLVM, buf, sizeof(buf)), -EINVAL);
	CHECK_CONTAINS(buf, "incomplete ld_imm64");
	struct bpfvm_insn r12 = INSN(0xb7, 12, 0, 0, 1);
	CHECK_EQ(bpfvm_disasm_insn(&r12, 1, 0, BPFVM_SYNTAX_CONFORMANCE, buf, sizeof(buf)), -EINVAL);
	CHECK_STR(buf, ".insn 0xb7 12 0 0 1 # invalid register r12");
	struct bpfvm_insn reserved = INSN(0x95, 0, 0, 0, 7);
	CHECK_EQ(bpfvm_disasm_insn(&reserved, 1, 0, BPFVM_SYNTAX_LLVM, buf, sizeof(buf)), -EINVAL);
	CHECK_CONTAINS(buf, "EXIT uses reserved field imm");
	/* The .insn text assembles back to the same slot. */
	struct bpfvm_insn *p = NULL;
	CHECK_EQ(bpfvm_disasm_insn(&reserved, 1, 0, BPFVM_SYNTAX_LLVM, buf, sizeof(buf)), -EINVAL);
	if (assemble(buf, BPFVM_SYNTAX_LLVM, &p) == 1)
		CHECK(same_insn(p, &reserved));
	free(p);
	/* A tiny buffer truncates but never overflows. */
	char tiny[4];
	struct bpfvm_insn mov = INSN(0xb7, 1, 0, 0, 123456);
	CHECK_EQ(bpfvm_disasm_insn(&mov, 1, 0, BPFVM_SYNTAX_LLVM, tiny, sizeof(tiny)), 1);
	CHECK_STR(tiny, "r1 ");
	CHECK_EQ(bpfvm_disasm_insn(&mov, 1, 3, BPFVM_SYNTAX_LLVM, NULL, 0), -EINVAL);
}

TEST(whole_program_disassembly_numbers_slots)
{
	struct bpfvm_insn prog[] = {INSN(0x18, 1, 0, 0, 7), INSN(0, 0, 0, 0, 0),
				    INSN(0xb7, 0, 0, 0, 0), INSN(0x95, 0, 0, 0, 0)};
	char *text = bpfvm_disasm(prog, 4, BPFVM_SYNTAX_LLVM, 1);
	CHECK_STR(text, "0: r1 = 7 ll\n2: r0 = 0\n3: exit\n");
	/* Numbered output assembles back (slot numbers are skipped). */
	struct bpfvm_insn *p = NULL;
	if (text && assemble(text, BPFVM_SYNTAX_LLVM, &p) == 4)
		CHECK(memcmp(p, prog, sizeof(prog)) == 0);
	free(p);
	free(text);
	text = bpfvm_disasm(prog, 0, BPFVM_SYNTAX_LLVM, 0);
	CHECK_STR(text, "");
	free(text);
}

/* ---- round trips over the whole table ------------------------------------ */

static const uint8_t regs[][2] = {{0, 1}, {10, 9}, {5, 5}, {3, 0}};
static const int16_t offs[] = {0, -8, 32767, -32768, 4};
static const int32_t imms[] = {0, 1, -1, INT32_MAX, INT32_MIN, 2675};
static const uint64_t imm64s[] = {0, 1, UINT64_MAX, 0x8000000000000000ull, 2675205388142210915ull};

/* The k-th operand variant of a row, with the fields the row requires to
 * be zero cleared. */
static int variant(size_t row, size_t k, struct bpfvm_insn out[2])
{
	const struct bpfvm_opinfo *info = &bpfvm_isa_table()[row];
	uint8_t dst = regs[k % 4][0], src = regs[k % 4][1];
	int16_t off = offs[k % 5];
	int32_t imm = imms[k % 6];
	dst = (info->zero & BPFVM_Z_DST) ? 0 : dst;
	src = (info->zero & BPFVM_Z_SRC) ? 0 : src;
	off = (info->zero & BPFVM_Z_OFF) ? 0 : off;
	imm = (info->zero & BPFVM_Z_IMM) ? 0 : imm;
	/* LD_IMM64 forms whose text has no second-slot operand need imm2 = 0. */
	uint64_t imm64 = strstr(info->llvm, "%I") || strstr(info->llvm, "%n") ? imm64s[k % 5] : 0;
	return bpfvm_isa_encode((enum bpfvm_opid)row, dst, src, off, imm, imm64, out);
}

static void round_trip(enum bpfvm_syntax syntax)
{
	size_t rows = bpfvm_isa_table_size();
	for (size_t r = 0; r < rows; r++) {
		for (size_t k = 0; k < 30; k++) {
			struct bpfvm_insn bytes[2];
			int slots = variant(r, k, bytes);
			char text[160], again[160];
			int rc = bpfvm_disasm_insn(bytes, (size_t)slots, 0, syntax, text, sizeof(text));
			if (rc == -EINVAL && strstr(text, "must be zero"))
				slots = 1; /* a field the text cannot show: an .insn line */
			else if (rc != slots) {
				harness_fail(__FILE__, __LINE__, "%s variant %zu: disasm rc %d: %s",
					     bpfvm_isa_table()[r].id, k, rc, text);
				break;
			}
			struct bpfvm_insn *p = NULL;
			size_t n = 0;
			char err[256];
			if (bpfvm_asm(text, syntax, "rt.s", &p, &n, err, sizeof(err))) {
				harness_fail(__FILE__, __LINE__, "%s: \"%s\" does not assemble: %s",
					     bpfvm_isa_table()[r].id, text, err);
				break;
			}
			if (n != (size_t)slots || memcmp(p, bytes, n * sizeof(*p))) {
				harness_fail(__FILE__, __LINE__, "%s: \"%s\" assembles to other bytes",
					     bpfvm_isa_table()[r].id, text);
			} else {
				bpfvm_disasm_insn(p, n, 0, syntax, again, sizeof(again));
				if (strcmp(text, again))
					harness_fail(__FILE__, __LINE__, "%s: \"%s\" became \"%s\"",
						     bpfvm_isa_table()[r].id, text, again);
			}
			free(p);
		}
	}
}

TEST(every_row_round_trips_in_llvm_syntax)
{
	round_trip(BPFVM_SYNTAX_LLVM);
}

TEST(every_row_round_trips_in_conformance_syntax)
{
	round_trip(BPFVM_SYNTAX_CONFORMANCE);
}

TEST(every_row_is_printed_by_its_own_template)
{
	/* Each row's text assembles to that row, never to a neighbour. */
	size_t rows = bpfvm_isa_table_size();
	for (size_t r = 0; r < rows; r++) {
		struct bpfvm_insn bytes[2];
		int slots = variant(r, 1, bytes);
		char text[160];
		bpfvm_disasm_insn(bytes, (size_t)slots, 0, BPFVM_SYNTAX_LLVM, text, sizeof(text));
		struct bpfvm_insn *p = NULL;
		size_t n = 0;
		if (bpfvm_asm(text, BPFVM_SYNTAX_LLVM, "t.s", &p, &n, NULL, 0) == 0)
			CHECK(bpfvm_isa_lookup(p) == &bpfvm_isa_table()[r]);
		else
			harness_fail(__FILE__, __LINE__, "%s: \"%s\"", bpfvm_isa_table()[r].id, text);
		free(p);
	}
}

/* ---- errors -------------------------------------------------------------- */

TEST(errors_name_file_line_column_and_token)
{
	CHECK_STR(asm_error("r0 = 0\nexit\nr1 = r11\n", BPFVM_SYNTAX_LLVM),
		  "prog.s:3:6: error: expected register, got 'r11'");
	CHECK_STR(asm_error("  mov r1, 2\n", BPFVM_SYNTAX_LLVM),
		  "prog.s:1:3: error: unknown instruction 'mov'");
	CHECK_STR(asm_error("frob %r1\n", BPFVM_SYNTAX_CONFORMANCE),
		  "prog.s:1:1: error: unknown mnemonic 'frob'");
	CHECK_CONTAINS(asm_error("r1 += 4294967296\n", BPFVM_SYNTAX_LLVM),
		       "prog.s:1:7: error: immediate 4294967296 is out of range");
	CHECK_STR(asm_error("r1 = 4294967296\n", BPFVM_SYNTAX_LLVM),
		  "prog.s:1:16: error: expected 'll', got end of line");
	CHECK_CONTAINS(asm_error("r1 = *(u32 *)(r2 + 40000)\n", BPFVM_SYNTAX_LLVM),
		       "prog.s:1:20: error: offset 40000 is out of range");
	CHECK_CONTAINS(asm_error("goto +40000\n", BPFVM_SYNTAX_LLVM),
		       "prog.s:1:6: error: jump offset or label +40000 is out of range");
	CHECK_STR(asm_error("goto nowhere\nexit\n", BPFVM_SYNTAX_LLVM),
		  "prog.s:1:6: error: undefined label 'nowhere'");
	CHECK_STR(asm_error("a: r0 = 0\na: exit\n", BPFVM_SYNTAX_LLVM),
		  "prog.s:2:1: error: duplicate label 'a' (first defined on line 1)");
	CHECK_STR(asm_error("exit foo\n", BPFVM_SYNTAX_LLVM),
		  "prog.s:1:6: error: unexpected 'foo' after the instruction");
	CHECK_STR(asm_error("add %r1\n", BPFVM_SYNTAX_CONFORMANCE),
		  "prog.s:1:8: error: add takes 2 operands, got 1");
	CHECK_STR(asm_error("mov %r11, 1\n", BPFVM_SYNTAX_CONFORMANCE),
		  "prog.s:1:5: error: expected register, got '%r11'");
	CHECK_STR(asm_error("ldxw %r1, [%r2+x]\n", BPFVM_SYNTAX_CONFORMANCE),
		  "prog.s:1:16: error: invalid number 'x'");
	CHECK_STR(asm_error("jeq %r1, 1, nowhere\nexit\n", BPFVM_SYNTAX_CONFORMANCE),
		  "prog.s:1:13: error: undefined label 'nowhere'");
	CHECK_STR(asm_error("mov %r1, %x\n", BPFVM_SYNTAX_CONFORMANCE),
		  "prog.s:1:10: error: invalid number '%x'");
	CHECK_STR(asm_error("", BPFVM_SYNTAX_LLVM), "prog.s: error: empty program");
	CHECK_STR(asm_error("  ; only a comment\n\n", BPFVM_SYNTAX_LLVM),
		  "prog.s: error: empty program");
	CHECK_CONTAINS(asm_error(".insn 0x100 0 0 0 0\n", BPFVM_SYNTAX_LLVM),
		       "prog.s:1:7: error: .insn: opcode 0x100 is out of range");
}

TEST(jump_to_a_label_beyond_16_bits_is_an_error)
{
	size_t n = 40000;
	char *text = malloc(n * 8 + 64);
	if (!text)
		SKIP("out of memory");
	size_t len = (size_t)sprintf(text, "goto far\n");
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(text + len, "r0 = 0\n");
	sprintf(text + len, "far: exit\n");
	CHECK_STR(asm_error(text, BPFVM_SYNTAX_LLVM),
		  "prog.s:1:6: error: jump to 'far' is out of range: offset 40000 does not fit in 16 bits");
	free(text);
}

TEST(many_labels_resolve_to_their_slots)
{
	size_t n = 20000;
	char *text = malloc(n * 40 + 16);
	if (!text)
		SKIP("out of memory");
	size_t len = 0;
	for (size_t i = 0; i < n; i++) /* each line jumps back to the label two lines up */
		len += (size_t)sprintf(text + len, "L%zu: if r0 > %zu goto L%zu\n", i, i,
				       i >= 2 ? i - 2 : 0);
	sprintf(text + len, "exit\n");
	struct bpfvm_insn *p = NULL;
	if (assemble(text, BPFVM_SYNTAX_LLVM, &p) == n + 1) {
		CHECK_EQ((int16_t)p[0].off, -1);
		CHECK_EQ((int16_t)p[1].off, -2);
		CHECK_EQ((int16_t)p[n - 1].off, -3);
		CHECK_EQ(p[n - 1].imm, n - 1);
	}
	free(p);
	free(text);
}

/* ---- robustness ---------------------------------------------------------- */

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

TEST(random_bytes_disassemble_without_crashing)
{
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	struct bpfvm_insn prog[64];
	for (int round = 0; round < 2000; round++) {
		size_t n = 1 + rng_next(&seed) % 64;
		for (size_t i = 0; i < n; i++) {
			uint64_t v = rng_next(&seed);
			memcpy(&prog[i], &v, sizeof(v));
			if (rng_next(&seed) % 2) /* bias towards known opcodes */
				prog[i].code = bpfvm_isa_table()[rng_next(&seed) % bpfvm_isa_table_size()].code;
		}
		for (int syntax = 0; syntax < 2; syntax++) {
			char *text = bpfvm_disasm(prog, n, (enum bpfvm_syntax)syntax, round & 1);
			CHECK(text != NULL);
			/* Whatever it printed assembles back to the same bytes. */
			struct bpfvm_insn *p = NULL;
			size_t got = 0;
			char err[256];
			if (bpfvm_asm(text, (enum bpfvm_syntax)syntax, "fuzz", &p, &got, err, sizeof(err)))
				harness_fail(__FILE__, __LINE__, "reassembly failed: %s", err);
			else if (got != n || memcmp(p, prog, n * sizeof(*p)))
				harness_fail(__FILE__, __LINE__, "reassembly differs (%zu vs %zu slots)",
					     got, n);
			free(p);
			free(text);
		}
	}
}

TEST(random_text_never_crashes_the_assembler)
{
	static const char alphabet[] = "rw0123456789 =+-*()[]%,:;#/.<>&|^sugotifl\n\tx";
	uint64_t seed = 12345;
	char text[200];
	for (int round = 0; round < 20000; round++) {
		size_t len = rng_next(&seed) % (sizeof(text) - 1);
		for (size_t i = 0; i < len; i++)
			text[i] = alphabet[rng_next(&seed) % (sizeof(alphabet) - 1)];
		text[len] = 0;
		struct bpfvm_insn *p = NULL;
		size_t n = 0;
		char err[128];
		int rc = bpfvm_asm(text, (enum bpfvm_syntax)(round % 3), "fuzz", &p, &n, err, sizeof(err));
		CHECK(rc == 0 || rc == -EINVAL);
		CHECK(rc != 0 || n > 0);
		CHECK(rc == 0 || strstr(err, "error: ") != NULL);
		free(p);
	}
}
