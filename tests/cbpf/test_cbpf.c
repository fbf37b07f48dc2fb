/* Classic BPF: the validator's kernel rules, the interpreter's libpcap
 * semantics and the readers of tcpdump's three text forms and raw bytes.
 * Programs are written with the kernel's own macros (linux/filter.h), an
 * independent spelling of the opcodes. */
#include <errno.h>
#include <linux/filter.h>
#include <stdlib.h>

#include "bpfvm/cbpf.h"
#include "common/harness.h"

#define S(code, k) ((struct bpfvm_cbpf_insn){(code), 0, 0, (k)})
#define J(code, k, jt, jf) ((struct bpfvm_cbpf_insn){(code), (jt), (jf), (k)})
#define N(a) (sizeof(a) / sizeof((a)[0]))

/* "ip and tcp" for Ethernet, as tcpdump compiles it. */
static const struct bpfvm_cbpf_insn ip_tcp[] = {
	S(BPF_LD | BPF_H | BPF_ABS, 12),
	J(BPF_JMP | BPF_JEQ | BPF_K, 0x800, 0, 3),
	S(BPF_LD | BPF_B | BPF_ABS, 23),
	J(BPF_JMP | BPF_JEQ | BPF_K, 6, 0, 1),
	S(BPF_RET | BPF_K, 262144),
	S(BPF_RET | BPF_K, 0),
};

static int validate_msg(const struct bpfvm_cbpf_insn *p, size_t n, char *err, size_t len)
{
	err[0] = 0;
	return bpfvm_cbpf_validate(p, n, err, len);
}

TEST(validator_accepts_a_tcpdump_program)
{
	char err[256];
	CHECK_EQ(validate_msg(ip_tcp, N(ip_tcp), err, sizeof(err)), 0);
}

TEST(validator_rejects_empty_and_oversized_programs)
{
	char err[256];
	CHECK_EQ(validate_msg(ip_tcp, 0, err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "empty program");
	struct bpfvm_cbpf_insn *big = calloc(BPFVM_CBPF_MAXINSNS + 1, sizeof(*big));
	for (size_t i = 0; i <= BPFVM_CBPF_MAXINSNS; i++)
		big[i] = S(BPF_RET | BPF_K, 0);
	CHECK_EQ(validate_msg(big, BPFVM_CBPF_MAXINSNS, err, sizeof(err)), 0);
	CHECK_EQ(validate_msg(big, BPFVM_CBPF_MAXINSNS + 1, err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "4097 instructions (at most 4096)");
	free(big);
}

TEST(validator_rejects_unknown_opcodes_naming_the_insn)
{
	char err[256];
	struct bpfvm_cbpf_insn p[] = {S(BPF_LD | BPF_IMM, 1), S(BPF_RET | BPF_X, 0), S(BPF_RET | BPF_A, 0)};
	CHECK_EQ(validate_msg(p, N(p), err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "insn 1: unknown opcode 0xe");
	p[1] = S(0x1234, 0);
	CHECK_EQ(validate_msg(p, N(p), err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "insn 1: unknown opcode 0x1234");
}

TEST(validator_rejects_jumps_out_of_the_program)
{
	char err[256];
	struct bpfvm_cbpf_insn p[] = {J(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 2), S(BPF_RET | BPF_K, 1),
				      S(BPF_RET | BPF_K, 0)};
	CHECK_EQ(validate_msg(p, N(p), err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "insn 0: jump to 3 is outside");
	p[0].jf = 1;
	CHECK_EQ(validate_msg(p, N(p), err, sizeof(err)), 0);
	/* ja: k is unsigned, so "backward" (k = -1) is out of range too. */
	struct bpfvm_cbpf_insn q[] = {S(BPF_LD | BPF_IMM, 1), S(BPF_JMP | BPF_JA, 0xffffffffu),
				      S(BPF_RET | BPF_A, 0)};
	CHECK_EQ(validate_msg(q, N(q), err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "insn 1: backward jump (ja -1)");
	q[1].k = 1;
	CHECK_EQ(validate_msg(q, N(q), err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "insn 1: jump to 3 is outside the program (3 insns)");
	q[1].k = 0;
	CHECK_EQ(validate_msg(q, N(q), err, sizeof(err)), 0);
}

TEST(validator_requires_a_final_return)
{
	char err[256];
	struct bpfvm_cbpf_insn p[] = {S(BPF_RET | BPF_K, 0), S(BPF_LD | BPF_IMM, 1)};
	CHECK_EQ(validate_msg(p, N(p), err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "insn 1: the last instruction must be a return");
}

TEST(validator_rejects_constant_division_by_zero_and_wide_shifts)
{
	char err[256];
	struct bpfvm_cbpf_insn p[] = {S(BPF_LD | BPF_IMM, 7), S(BPF_ALU | BPF_DIV | BPF_K, 0),
				      S(BPF_RET | BPF_A, 0)};
	CHECK_EQ(validate_msg(p, N(p), err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "insn 1: division by constant zero");
	p[1] = S(BPF_ALU | BPF_MOD | BPF_K, 0);
	CHECK_EQ(validate_msg(p, N(p), err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "insn 1: modulo by constant zero");
	p[1] = S(BPF_ALU | BPF_LSH | BPF_K, 32);
	CHECK_EQ(validate_msg(p, N(p), err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "insn 1: shift by 32");
	p[1] = S(BPF_ALU | BPF_DIV | BPF_X, 0); /* by X: checked at run time */
	CHECK_EQ(validate_msg(p, N(p), err, sizeof(err)), 0);
}

TEST(validator_checks_scratch_memory_index_and_initialisation)
{
	char err[256];
	struct bpfvm_cbpf_insn bad_index[] = {S(BPF_ST, 16), S(BPF_RET | BPF_K, 0)};
	CHECK_EQ(validate_msg(bad_index, N(bad_index), err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "insn 0: scratch memory M[16] out of range");
	struct bpfvm_cbpf_insn unwritten[] = {S(BPF_LDX | BPF_MEM, 3), S(BPF_RET | BPF_K, 0)};
	CHECK_EQ(validate_msg(unwritten, N(unwritten), err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "insn 0: M[3] may be read before it is written");
	/* Written on one path only: the join must reject. */
	struct bpfvm_cbpf_insn one_path[] = {
		S(BPF_LD | BPF_LEN, 0),
		J(BPF_JMP | BPF_JGT | BPF_K, 10, 0, 1),
		S(BPF_ST, 2),
		S(BPF_LD | BPF_MEM, 2),
		S(BPF_RET | BPF_A, 0),
	};
	CHECK_EQ(validate_msg(one_path, N(one_path), err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "insn 3: M[2] may be read");
	/* Written before the branch: fine on both paths. */
	struct bpfvm_cbpf_insn both[] = {
		S(BPF_LD | BPF_LEN, 0),
		S(BPF_STX, 2),
		J(BPF_JMP | BPF_JGT | BPF_K, 10, 0, 1),
		S(BPF_ST, 2),
		S(BPF_LD | BPF_MEM, 2),
		S(BPF_RET | BPF_A, 0),
	};
	CHECK_EQ(validate_msg(both, N(both), err, sizeof(err)), 0);
	/* As in the kernel, code after a return counts as reached from it
	 * (even when nothing jumps there), so it must not read unwritten M[]. */
	struct bpfvm_cbpf_insn after_ret[] = {
		S(BPF_RET | BPF_K, 0),
		S(BPF_LD | BPF_MEM, 0),
		S(BPF_RET | BPF_A, 0),
	};
	CHECK_EQ(validate_msg(after_ret, N(after_ret), err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "insn 1: M[0] may be read");
}

/* ---- interpreter ------------------------------------------------------------- */

static const uint8_t pkt[] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa};

static uint32_t run(const struct bpfvm_cbpf_insn *p, size_t n, uint32_t caplen)
{
	return bpfvm_cbpf_run(p, n, pkt, 1500, caplen);
}

TEST(interpreter_loads_in_network_byte_order)
{
	struct bpfvm_cbpf_insn w[] = {S(BPF_LD | BPF_W | BPF_ABS, 1), S(BPF_RET | BPF_A, 0)};
	CHECK_EQ(run(w, N(w), sizeof(pkt)), 0x22334455);
	struct bpfvm_cbpf_insn h[] = {S(BPF_LD | BPF_H | BPF_ABS, 8), S(BPF_RET | BPF_A, 0)};
	CHECK_EQ(run(h, N(h), sizeof(pkt)), 0x99aa);
	struct bpfvm_cbpf_insn b[] = {S(BPF_LDX | BPF_IMM, 3), S(BPF_LD | BPF_B | BPF_IND, 2),
				      S(BPF_RET | BPF_A, 0)};
	CHECK_EQ(run(b, N(b), sizeof(pkt)), 0x66);
	struct bpfvm_cbpf_insn msh[] = {S(BPF_LDX | BPF_B | BPF_MSH, 4), S(BPF_MISC | BPF_TXA, 0),
					S(BPF_RET | BPF_A, 0)};
	CHECK_EQ(run(msh, N(msh), sizeof(pkt)), (0x55 & 0xf) * 4);
}

TEST(interpreter_rejects_loads_beyond_the_captured_bytes)
{
	struct bpfvm_cbpf_insn w[] = {S(BPF_LD | BPF_W | BPF_ABS, 6), S(BPF_RET | BPF_K, 7)};
	CHECK_EQ(run(w, N(w), 10), 7);
	CHECK_EQ(run(w, N(w), 9), 0); /* bytes 6..9 need caplen 10 */
	struct bpfvm_cbpf_insn huge[] = {S(BPF_LD | BPF_B | BPF_ABS, 0xffffffffu), S(BPF_RET | BPF_K, 7)};
	CHECK_EQ(run(huge, N(huge), 10), 0);
	/* X + k must not wrap around to a small offset. */
	struct bpfvm_cbpf_insn wrap[] = {S(BPF_LDX | BPF_IMM, 0xffffffffu), S(BPF_LD | BPF_B | BPF_IND, 2),
					 S(BPF_RET | BPF_K, 7)};
	CHECK_EQ(run(wrap, N(wrap), 10), 0);
	struct bpfvm_cbpf_insn msh[] = {S(BPF_LDX | BPF_B | BPF_MSH, 10), S(BPF_RET | BPF_K, 7)};
	CHECK_EQ(run(msh, N(msh), 10), 0);
}

TEST(interpreter_returns_zero_on_division_by_zero_x)
{
	struct bpfvm_cbpf_insn p[] = {S(BPF_LD | BPF_IMM, 10), S(BPF_ALU | BPF_DIV | BPF_X, 0),
				      S(BPF_RET | BPF_K, 5)};
	CHECK_EQ(run(p, N(p), 10), 0);
	p[1] = S(BPF_ALU | BPF_MOD | BPF_X, 0);
	CHECK_EQ(run(p, N(p), 10), 0);
}

TEST(interpreter_arithmetic_is_32_bit_unsigned)
{
	struct bpfvm_cbpf_insn p[] = {
		S(BPF_LD | BPF_IMM, 0xfffffff0u), S(BPF_ALU | BPF_ADD | BPF_K, 0x20), /* wraps to 0x10 */
		S(BPF_LDX | BPF_IMM, 3), S(BPF_ALU | BPF_MUL | BPF_X, 0),            /* 0x30 */
		S(BPF_ALU | BPF_MOD | BPF_K, 7),                                      /* 6 */
		S(BPF_ALU | BPF_NEG, 0),                                              /* 0xfffffffa */
		S(BPF_ALU | BPF_RSH | BPF_K, 28),                                     /* 0xf */
		S(BPF_ALU | BPF_XOR | BPF_K, 0x3),                                    /* 0xc */
		S(BPF_RET | BPF_A, 0),
	};
	CHECK_EQ(run(p, N(p), 10), 0xc);
	/* Shifts by X of 32 or more give 0 (libpcap), not a masked shift. */
	struct bpfvm_cbpf_insn sh[] = {S(BPF_LD | BPF_IMM, 1), S(BPF_LDX | BPF_IMM, 32),
				       S(BPF_ALU | BPF_LSH | BPF_X, 0), S(BPF_RET | BPF_A, 0)};
	CHECK_EQ(run(sh, N(sh), 10), 0);
	sh[1].k = 31;
	CHECK_EQ(run(sh, N(sh), 10), 0x80000000u);
}

TEST(interpreter_len_is_the_wire_length)
{
	struct bpfvm_cbpf_insn p[] = {S(BPF_LD | BPF_W | BPF_LEN, 0), S(BPF_RET | BPF_A, 0)};
	CHECK_EQ(bpfvm_cbpf_run(p, N(p), pkt, 1514, 10), 1514);
	struct bpfvm_cbpf_insn x[] = {S(BPF_LDX | BPF_W | BPF_LEN, 0), S(BPF_MISC | BPF_TXA, 0),
				      S(BPF_RET | BPF_A, 0)};
	CHECK_EQ(bpfvm_cbpf_run(x, N(x), pkt, 60, 10), 60);
}

TEST(interpreter_follows_jumps_and_scratch_memory)
{
	CHECK_EQ(run(ip_tcp, N(ip_tcp), 10), 0); /* too short for the ethertype */
	uint8_t frame[64] = {0};
	frame[12] = 0x08;
	frame[23] = 6;
	CHECK_EQ(bpfvm_cbpf_run(ip_tcp, N(ip_tcp), frame, 64, 64), 262144);
	frame[23] = 17;
	CHECK_EQ(bpfvm_cbpf_run(ip_tcp, N(ip_tcp), frame, 64, 64), 0);
	struct bpfvm_cbpf_insn p[] = {
		S(BPF_LD | BPF_IMM, 0x80),  S(BPF_ST, 15),
		S(BPF_LDX | BPF_MEM, 15),   J(BPF_JMP | BPF_JSET | BPF_X, 0, 0, 2),
		S(BPF_JMP | BPF_JA, 1),     S(BPF_RET | BPF_K, 1),
		S(BPF_RET | BPF_K, 2),      S(BPF_RET | BPF_K, 3),
	};
	CHECK_EQ(run(p, N(p), 10), 2);
}

TEST(interpreter_is_safe_on_invalid_programs)
{
	struct bpfvm_cbpf_insn p[] = {S(BPF_ST, 99), S(BPF_RET | BPF_K, 1)};
	CHECK_EQ(run(p, N(p), 10), 0);
	struct bpfvm_cbpf_insn q[] = {S(BPF_JMP | BPF_JA, 5), S(BPF_RET | BPF_K, 1)};
	CHECK_EQ(run(q, N(q), 10), 0);
	struct bpfvm_cbpf_insn r[] = {S(0xff, 0), S(BPF_RET | BPF_K, 1)};
	CHECK_EQ(run(r, N(r), 10), 0);
	struct bpfvm_cbpf_insn noret[] = {S(BPF_LD | BPF_IMM, 1)};
	CHECK_EQ(run(noret, N(noret), 10), 0);
}

/* ---- readers and writers ------------------------------------------------------ */

/* One of every opcode the validator accepts. */
static const struct bpfvm_cbpf_insn every_op[] = {
	S(BPF_LD | BPF_W | BPF_ABS, 0x7fffffff), S(BPF_LD | BPF_H | BPF_ABS, 12),
	S(BPF_LD | BPF_B | BPF_ABS, 23), S(BPF_LD | BPF_W | BPF_IND, 4),
	S(BPF_LD | BPF_H | BPF_IND, 0xfffffffeu), S(BPF_LD | BPF_B | BPF_IND, 14),
	S(BPF_LD | BPF_W | BPF_LEN, 0), S(BPF_LD | BPF_IMM, 0xdeadbeef), S(BPF_ST, 1),
	S(BPF_LD | BPF_MEM, 1), S(BPF_LDX | BPF_IMM, 40), S(BPF_LDX | BPF_MEM, 1),
	S(BPF_LDX | BPF_W | BPF_LEN, 0), S(BPF_LDX | BPF_B | BPF_MSH, 14), S(BPF_STX, 15),
	S(BPF_ALU | BPF_ADD | BPF_K, 0xffffffffu), S(BPF_ALU | BPF_SUB | BPF_X, 0),
	S(BPF_ALU | BPF_MUL | BPF_K, 3), S(BPF_ALU | BPF_DIV | BPF_X, 0),
	S(BPF_ALU | BPF_DIV | BPF_K, 4), S(BPF_ALU | BPF_MOD | BPF_K, 5),
	S(BPF_ALU | BPF_MOD | BPF_X, 0), S(BPF_ALU | BPF_AND | BPF_K, 0xff),
	S(BPF_ALU | BPF_OR | BPF_X, 0), S(BPF_ALU | BPF_XOR | BPF_K, 0x10),
	S(BPF_ALU | BPF_LSH | BPF_K, 2), S(BPF_ALU | BPF_RSH | BPF_X, 0), S(BPF_ALU | BPF_NEG, 0),
	S(BPF_MISC | BPF_TAX, 0), S(BPF_MISC | BPF_TXA, 0),
	J(BPF_JMP | BPF_JEQ | BPF_K, 0x800, 0, 255), J(BPF_JMP | BPF_JGT | BPF_X, 0, 1, 0),
	J(BPF_JMP | BPF_JGE | BPF_K, 9, 2, 3), J(BPF_JMP | BPF_JSET | BPF_X, 0, 4, 5),
	S(BPF_JMP | BPF_JA, 2), S(BPF_RET | BPF_A, 0), S(BPF_RET | BPF_K, 0xffffffffu),
};

static void check_round_trip(enum bpfvm_cbpf_format fmt, enum bpfvm_cbpf_format read_as)
{
	char *text = bpfvm_cbpf_dump(every_op, N(every_op), fmt);
	CHECK(text != NULL);
	if (!text)
		return;
	struct bpfvm_cbpf_insn *got = NULL;
	size_t n = 0;
	char err[256] = "";
	int rc = bpfvm_cbpf_parse(text, strlen(text), read_as, "dump", &got, &n, err, sizeof(err));
	if (rc)
		harness_fail(__FILE__, __LINE__, "format %d: %s", (int)fmt, err);
	CHECK_EQ(n, N(every_op));
	if (n == N(every_op) && memcmp(got, every_op, sizeof(every_op)) != 0) {
		for (size_t i = 0; i < n; i++)
			if (memcmp(&got[i], &every_op[i], sizeof(got[i])))
				harness_fail(__FILE__, __LINE__, "format %d insn %zu: code 0x%x k 0x%x jt %u jf %u",
					     (int)fmt, i, got[i].code, got[i].k, got[i].jt, got[i].jf);
	}
	free(got);
	free(text);
}

TEST(every_text_form_round_trips_every_opcode)
{
	check_round_trip(BPFVM_CBPF_C_ARRAY, BPFVM_CBPF_C_ARRAY);
	check_round_trip(BPFVM_CBPF_DECIMAL, BPFVM_CBPF_DECIMAL);
	check_round_trip(BPFVM_CBPF_LISTING, BPFVM_CBPF_LISTING);
	check_round_trip(BPFVM_CBPF_C_ARRAY, BPFVM_CBPF_AUTO);
	check_round_trip(BPFVM_CBPF_DECIMAL, BPFVM_CBPF_AUTO);
	check_round_trip(BPFVM_CBPF_LISTING, BPFVM_CBPF_AUTO);
}

TEST(listing_prints_as_tcpdump_d)
{
	char line[128];
	bpfvm_cbpf_format_insn(&ip_tcp[1], 1, line, sizeof(line));
	CHECK_STR(line, "jeq      #0x800           jt 2\tjf 5");
	bpfvm_cbpf_format_insn(&every_op[13], 6, line, sizeof(line));
	CHECK_STR(line, "ldxb     4*([14]&0xf)");
	bpfvm_cbpf_format_insn(&every_op[36], 18, line, sizeof(line));
	CHECK_STR(line, "ret      #-1");
	bpfvm_cbpf_format_insn(&every_op[35], 18, line, sizeof(line));
	CHECK_STR(line, "ret      ");
}

TEST(c_array_reader_skips_declarations_and_comments)
{
	const char *text = "struct sock_filter code[] = {\n"
			   "\t{ 0x28, 0, 0, 0x0000000c }, /* ldh [12] */\n"
			   "\t{ 0x15, 0, 1, 2048 },{ 6, 0, 0, 0x40000 },\n"
			   "\t{ 0x6, 0, 0, 0 }\n};\n";
	struct bpfvm_cbpf_insn *got;
	size_t n;
	char err[256];
	CHECK_EQ(bpfvm_cbpf_parse(text, strlen(text), BPFVM_CBPF_AUTO, "f.c", &got, &n, err, sizeof(err)), 0);
	CHECK_EQ(n, 4);
	CHECK_EQ(got[1].code, BPF_JMP | BPF_JEQ | BPF_K);
	CHECK_EQ(got[1].jf, 1);
	CHECK_EQ(got[1].k, 0x800);
	CHECK_EQ(got[2].k, 0x40000);
	free(got);
}

TEST(readers_report_file_and_line)
{
	struct bpfvm_cbpf_insn *got;
	size_t n;
	char err[256];
	const char *dec = "3\n40 0 0 12\n6 0 0\n";
	CHECK_EQ(bpfvm_cbpf_parse(dec, strlen(dec), BPFVM_CBPF_AUTO, "p.txt", &got, &n, err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "p.txt:3: expected k");
	const char *count = "3\n40 0 0 12\n6 0 0 0\n";
	CHECK_EQ(bpfvm_cbpf_parse(count, strlen(count), BPFVM_CBPF_AUTO, "p.txt", &got, &n, err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "announces 3 instructions, 2 follow");
	const char *lst = "(000) ldh      [12]\n(001) frob     #1\n";
	CHECK_EQ(bpfvm_cbpf_parse(lst, strlen(lst), BPFVM_CBPF_AUTO, "l.txt", &got, &n, err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "l.txt:2: unknown instruction 'frob'");
	const char *order = "(000) ldh      [12]\n(002) ret      #0\n";
	CHECK_EQ(bpfvm_cbpf_parse(order, strlen(order), BPFVM_CBPF_AUTO, "l.txt", &got, &n, err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "l.txt:2: instruction (002) where (001) was expected");
	const char *back = "(000) jeq      #0x1             jt 0\tjf 1\n(001) ret      #0\n";
	CHECK_EQ(bpfvm_cbpf_parse(back, strlen(back), BPFVM_CBPF_AUTO, "l.txt", &got, &n, err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "l.txt:1: jt target 0 is not forward");
	const char *carr = "{ 0x28, 0, 0 0xc },\n";
	CHECK_EQ(bpfvm_cbpf_parse(carr, strlen(carr), BPFVM_CBPF_AUTO, "c.txt", &got, &n, err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "c.txt:1: expected ','");
}

TEST(raw_bytes_are_sock_filter_records)
{
	struct sock_filter kf[] = {BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),
				   BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x86dd, 0, 1),
				   BPF_STMT(BPF_RET | BPF_K, 0xffff), BPF_STMT(BPF_RET | BPF_K, 0)};
	CHECK_EQ(sizeof(struct sock_filter), sizeof(struct bpfvm_cbpf_insn));
	struct bpfvm_cbpf_insn *got;
	size_t n;
	char err[256];
	CHECK_EQ(bpfvm_cbpf_parse(kf, sizeof(kf), BPFVM_CBPF_AUTO, "f.bin", &got, &n, err, sizeof(err)), 0);
	CHECK_EQ(n, 4);
	CHECK_EQ(got[1].code, kf[1].code);
	CHECK_EQ(got[1].jf, 1);
	CHECK_EQ(got[1].k, 0x86dd);
	free(got);
	CHECK_EQ(bpfvm_cbpf_parse(kf, sizeof(kf) - 3, BPFVM_CBPF_RAW, "f.bin", &got, &n, err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "f.bin: 29 bytes is not a whole number");
}
