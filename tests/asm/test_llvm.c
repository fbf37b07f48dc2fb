/* The LLVM syntax against LLVM itself (skipped when llvm-mc/llvm-objdump are
 * absent): for every table row, with varied operands,
 *  - our disassembly equals what llvm-objdump -d prints (the text after the
 *    bytes column, without the " <.text+0x..>" target annotation), for every
 *    instruction llvm knows;
 *  - llvm-mc assembles our text to our bytes, for every line it accepts.
 * llvm 14 decodes a few encodings it does not really know by ignoring
 * fields: sdiv/smod/movsx (off), local and kfunc calls (src), the ld_imm64
 * pseudo forms (printed as "ld_pseudo"). Those rows, and every cpu v4 row,
 * use the kernel log's syntax instead and are not compared. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bpfvm/asm.h"
#include "common/harness.h"

#define MAX_SAMPLES 4096

struct sample {
	size_t row;
	struct bpfvm_insn bytes[2];
	int slots;
	char text[160];
};

static struct sample samples[MAX_SAMPLES];
static size_t nsamples;

static const uint8_t regs[][2] = {{0, 1}, {10, 9}, {5, 5}, {3, 0}};
static const int16_t offs[] = {0, -8, 32767, -32768, 4};
static const int32_t imms[] = {0, 1, -1, INT32_MAX, INT32_MIN, 2675};
static const uint64_t imm64s[] = {0, 1, UINT64_MAX, 0x8000000000000000ull, 2675205388142210915ull};

/* Rows whose llvm 14 decoding ignores a field we print (see the top). */
static int llvm_decodes_lossily(const struct bpfvm_opinfo *row)
{
	if (row->version >= 4)
		return 1;
	if (row->kind == BPFVM_KIND_CALL && row->op != BPFVM_CALL_HELPER)
		return 1;
	return row->kind == BPFVM_KIND_LDDW && row->op != BPFVM_LDDW_IMM;
}

static void build_samples(void)
{
	const struct bpfvm_opinfo *t = bpfvm_isa_table();
	nsamples = 0;
	for (size_t r = 0; r < bpfvm_isa_table_size(); r++) {
		if (llvm_decodes_lossily(&t[r]))
			continue;
		for (size_t k = 0; k < 12 && nsamples < MAX_SAMPLES; k++) {
			struct sample *s = &samples[nsamples];
			uint8_t dst = (t[r].zero & BPFVM_Z_DST) ? 0 : regs[k % 4][0];
			uint8_t src = (t[r].zero & BPFVM_Z_SRC) ? 0 : regs[k % 4][1];
			int16_t off = (t[r].zero & BPFVM_Z_OFF) ? 0 : offs[k % 5];
			int32_t imm = (t[r].zero & BPFVM_Z_IMM) ? 0 : imms[k % 6];
			s->row = r;
			s->slots = bpfvm_isa_encode((enum bpfvm_opid)r, dst, src, off, imm, imm64s[k % 5],
						    s->bytes);
			if (bpfvm_disasm_insn(s->bytes, (size_t)s->slots, 0, BPFVM_SYNTAX_LLVM, s->text,
					      sizeof(s->text)) == s->slots)
				nsamples++;
		}
	}
}

static int have_llvm(void)
{
	return system("llvm-mc --version >/dev/null 2>&1 && llvm-objdump --version >/dev/null 2>&1 "
		      "&& llvm-objcopy --version >/dev/null 2>&1") == 0;
}

static char tmpdir[64];

static int make_tmpdir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/bpfvm-asm-llvm.XXXXXX");
	return mkdtemp(tmpdir) != NULL;
}

static void remove_tmpdir(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
}

/* objdump's text of our bytes, with flags (e.g. --mattr=+alu32): texts[i]
 * is the line of sample i, "" if missing. */
static int objdump_samples(const char *flags, char (*texts)[160])
{
	char path[128], cmd[512];
	snprintf(path, sizeof(path), "%s/bytes.s", tmpdir);
	FILE *f = fopen(path, "w");
	if (!f)
		return 0;
	fprintf(f, ".text\n");
	for (size_t i = 0; i < nsamples; i++)
		for (int s = 0; s < samples[i].slots; s++) {
			const uint8_t *b = (const uint8_t *)&samples[i].bytes[s];
			fprintf(f, ".byte %u,%u,%u,%u,%u,%u,%u,%u\n", b[0], b[1], b[2], b[3], b[4], b[5],
				b[6], b[7]);
		}
	fclose(f);
	snprintf(cmd, sizeof(cmd),
		 "llvm-mc -triple bpf -filetype=obj %s/bytes.s -o %s/bytes.o && "
		 "llvm-objdump -d %s %s/bytes.o",
		 tmpdir, tmpdir, flags, tmpdir);
	FILE *p = popen(cmd, "r");
	if (!p)
		return 0;
	/* Slot number -> sample. */
	size_t *sample_at = calloc(2 * nsamples + 1, sizeof(*sample_at));
	size_t slot = 0;
	for (size_t i = 0; i < nsamples && sample_at; i++) {
		sample_at[slot] = i + 1;
		slot += (size_t)samples[i].slots;
		texts[i][0] = 0;
	}
	char line[512];
	int lines = 0;
	while (fgets(line, sizeof(line), p)) {
		unsigned long pc;
		char *colon = strchr(line, ':');
		if (!colon || sscanf(line, " %lu:", &pc) != 1 || pc >= slot || !sample_at ||
		    !sample_at[pc])
			continue;
		/* The text follows the last tab (after the bytes column). */
		char *text = strrchr(line, '\t');
		if (!text)
			continue;
		text++;
		text[strcspn(text, "\n")] = 0;
		/* Drop a trailing jump-target annotation " <.text+0x58>". */
		char *annot = NULL;
		for (char *a = strstr(text, " <"); a; a = strstr(a + 1, " <"))
			annot = a;
		if (annot && text[strlen(text) - 1] == '>' && !strchr(annot + 1, ' '))
			*annot = 0;
		/* "ld_pseudo\tr1, 1, 5" has a tab of its own: keep the whole text. */
		if (!strncmp(text - 10, "ld_pseudo", 9))
			text -= 10;
		snprintf(texts[sample_at[pc] - 1], 160, "%s", text);
		lines++;
	}
	free(sample_at);
	pclose(p);
	return lines;
}

TEST(disassembly_matches_llvm_objdump)
{
	if (!have_llvm())
		SKIP("llvm-mc / llvm-objdump / llvm-objcopy not installed");
	if (!make_tmpdir())
		SKIP("cannot create a temporary directory");
	build_samples();
	static char plain[MAX_SAMPLES][160], alu32[MAX_SAMPLES][160];
	int got = objdump_samples("", plain);
	objdump_samples("--mattr=+alu32", alu32);
	remove_tmpdir();
	CHECK(got > 0);
	int compared = 0, unknown = 0;
	for (size_t i = 0; i < nsamples; i++) {
		/* What objdump prints by default; for the 32-bit atomics it only
		 * decodes with +alu32, that output. */
		const char *theirs = plain[i];
		const struct bpfvm_opinfo *row = &bpfvm_isa_table()[samples[i].row];
		if (!strcmp(theirs, "<unknown>") && alu32[i][0] && strcmp(alu32[i], "<unknown>"))
			theirs = alu32[i];
		/* Without +alu32, llvm 14 decodes every 32-bit atomic as the plain
		 * add, ignoring the operation in imm: only +alu32 tells them apart. */
		if (row->kind == BPFVM_KIND_ATOMIC && (row->flags & BPFVM_F_ALU32) &&
		    row->op != BPFVM_ATOMIC_ADD)
			theirs = alu32[i];
		/* llvm prints LD_IND as skb[rN] whatever imm holds. */
		if (row->kind == BPFVM_KIND_LDIND && samples[i].bytes[0].imm != 0)
			theirs = "";
		if (!theirs[0] || !strcmp(theirs, "<unknown>")) {
			unknown++;
			continue;
		}
		compared++;
		if (strcmp(theirs, samples[i].text))
			harness_fail(__FILE__, __LINE__, "%s: we print \"%s\", llvm-objdump \"%s\"",
				     bpfvm_isa_table()[samples[i].row].id, samples[i].text, theirs);
	}
	printf("    %d instructions compared with llvm-objdump, %d unknown to llvm 14\n", compared,
	       unknown);
}

/* Line numbers llvm-mc rejects, from its "FILE:LINE:COL: error:" lines. */
static size_t rejected_lines(const char *cmd, uint8_t *rejected, size_t nlines)
{
	FILE *p = popen(cmd, "r");
	if (!p)
		return 0;
	char line[512];
	size_t count = 0;
	while (fgets(line, sizeof(line), p)) {
		char *e = strstr(line, ".s:");
		unsigned long ln;
		if (e && strstr(line, "error:") && sscanf(e + 3, "%lu:", &ln) == 1 && ln >= 1 &&
		    ln <= nlines && !rejected[ln - 1]) {
			rejected[ln - 1] = 1;
			count++;
		}
	}
	pclose(p);
	return count;
}

TEST(llvm_mc_assembles_our_text_to_our_bytes)
{
	if (!have_llvm())
		SKIP("llvm-mc / llvm-objdump / llvm-objcopy not installed");
	if (!make_tmpdir())
		SKIP("cannot create a temporary directory");
	build_samples();
	static uint8_t rejected[MAX_SAMPLES];
	memset(rejected, 0, sizeof(rejected));
	char path[128], cmd[512];
	snprintf(path, sizeof(path), "%s/text.s", tmpdir);
	/* Round 1: find the lines llvm-mc 14 cannot parse (it lacks e.g. the
	 * atomic_fetch_* and store-immediate syntax); round 2 assembles the rest. */
	size_t skipped = 0;
	for (int round = 0; round < 2; round++) {
		FILE *f = fopen(path, "w");
		if (!f)
			break;
		for (size_t i = 0; i < nsamples; i++)
			fprintf(f, "%s\n", rejected[i] ? "" : samples[i].text);
		fclose(f);
		snprintf(cmd, sizeof(cmd),
			 "llvm-mc -triple bpf -mattr=+alu32 -filetype=obj %s -o %s/text.o 2>&1 && "
			 "llvm-objcopy -O binary --only-section=.text %s/text.o %s/text.bin",
			 path, tmpdir, tmpdir, tmpdir);
		skipped += rejected_lines(cmd, rejected, nsamples);
	}
	snprintf(path, sizeof(path), "%s/text.bin", tmpdir);
	FILE *f = fopen(path, "rb");
	size_t compared = 0;
	if (f) {
		for (size_t i = 0; i < nsamples; i++) {
			if (rejected[i])
				continue;
			struct bpfvm_insn theirs[2];
			size_t n = fread(theirs, sizeof(theirs[0]), (size_t)samples[i].slots, f);
			if (n != (size_t)samples[i].slots) {
				harness_fail(__FILE__, __LINE__, "llvm-mc output ends at \"%s\"",
					     samples[i].text);
				break;
			}
			compared++;
			if (memcmp(theirs, samples[i].bytes, n * sizeof(theirs[0])))
				harness_fail(__FILE__, __LINE__, "%s: llvm-mc encodes \"%s\" differently",
					     bpfvm_isa_table()[samples[i].row].id, samples[i].text);
		}
		fclose(f);
	}
	remove_tmpdir();
	printf("    %zu lines compared with llvm-mc, %zu it cannot parse\n", compared, skipped);
	CHECK(compared > 0);
}
