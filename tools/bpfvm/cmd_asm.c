/* bpfvm asm / bpfvm disasm: the assembler and disassembler on the command line. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int parse_syntax(const char *cmd, const char *name, enum bpfvm_syntax *out)
{
	if (!strcmp(name, "llvm"))
		*out = BPFVM_SYNTAX_LLVM;
	else if (!strcmp(name, "conformance"))
		*out = BPFVM_SYNTAX_CONFORMANCE;
	else if (!strcmp(name, "auto"))
		*out = BPFVM_SYNTAX_AUTO;
	else {
		cli_error(cmd, "unknown syntax '%s' (expected llvm, conformance or auto)", name);
		return -1;
	}
	return 0;
}

/* ---- asm ----------------------------------------------------------------- */

static void asm_help(FILE *out)
{
	fprintf(out,
		"usage: bpfvm asm [--syntax llvm|conformance|auto] FILE [-o OUT] [--hex]\n\n"
		"Assemble FILE (\"-\" = stdin) into eBPF bytecode. With -o the raw 8-byte\n"
		"instruction slots are written to OUT; without -o, or with --hex, the slots\n"
		"are printed in hex on stdout, one per line.\n\n"
		"syntaxes:\n"
		"  llvm         what llvm-objdump -d prints: r1 = 2, if r1 > r2 goto +3,\n"
		"               *(u64 *)(r10 - 8) = r1, r1 = map[0] ll, call pc+2, .insn ...\n"
		"  conformance  the bpf_conformance mnemonics: mov %%r1, 2, jgt %%r1, %%r2, +3\n"
		"  auto         conformance if the text uses %%rN registers, else llvm (default)\n\n"
		"Labels (name:) and comments (; # //) are accepted in both. Errors are\n"
		"reported as FILE:LINE:COLUMN: error: ... and exit with status 1.\n");
}

static int write_bytes(const char *path, const struct bpfvm_insn *insns, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f) {
		cli_error("asm", "%s: cannot open for writing", path);
		return -1;
	}
	size_t wrote = fwrite(insns, sizeof(*insns), n, f);
	int bad = fclose(f) != 0 || wrote != n;
	if (bad)
		cli_error("asm", "%s: write error", path);
	return bad ? -1 : 0;
}

static void print_hex(const struct bpfvm_insn *insns, size_t n)
{
	const uint8_t *bytes = (const uint8_t *)insns;
	for (size_t i = 0; i < n; i++) {
		for (size_t b = 0; b < sizeof(*insns); b++)
			printf(b ? " %02x" : "%02x", bytes[i * sizeof(*insns) + b]);
		putchar('\n');
	}
}

static int asm_run(int argc, char **argv)
{
	enum bpfvm_syntax syntax = BPFVM_SYNTAX_AUTO;
	const char *file = NULL, *out = NULL;
	int hex = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--syntax") && i + 1 < argc) {
			if (parse_syntax("asm", argv[++i], &syntax))
				return CLI_USAGE;
		} else if (!strcmp(argv[i], "-o") && i + 1 < argc) {
			out = argv[++i];
		} else if (!strcmp(argv[i], "--hex")) {
			hex = 1;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			cli_error("asm", "unknown option '%s' (see bpfvm asm --help)", argv[i]);
			return CLI_USAGE;
		} else if (!file) {
			file = argv[i];
		} else {
			cli_error("asm", "more than one input file");
			return CLI_USAGE;
		}
	}
	if (!file) {
		cli_error("asm", "no input file (see bpfvm asm --help)");
		return CLI_USAGE;
	}
	char err[512];
	uint8_t *text;
	size_t len;
	if (cli_read_file(file, &text, &len, err, sizeof(err))) {
		cli_error("asm", "%s", err);
		return CLI_FAIL;
	}
	if (memchr(text, 0, len)) {
		cli_error("asm", "%s: not a text file (NUL byte at offset %zu)", file,
			  (size_t)((uint8_t *)memchr(text, 0, len) - text));
		free(text);
		return CLI_FAIL;
	}
	struct bpfvm_insn *insns;
	size_t n;
	int rc = bpfvm_asm((const char *)text, syntax, file, &insns, &n, err, sizeof(err));
	free(text);
	if (rc) {
		fprintf(stderr, "%s\n", err);
		return CLI_FAIL;
	}
	int status = CLI_OK;
	if (out && write_bytes(out, insns, n))
		status = CLI_FAIL;
	if (!out || hex)
		print_hex(insns, n);
	free(insns);
	return status;
}

const struct cli_cmd cli_cmd_asm = {
	.name = "asm",
	.summary = "assemble text (llvm or conformance syntax) into bytecode",
	.run = asm_run,
	.help = asm_help,
};

/* ---- disasm -------------------------------------------------------------- */

static void disasm_help(FILE *out)
{
	fprintf(out,
		"usage: bpfvm disasm [--syntax llvm|conformance] [--numbered] FILE\n"
		"       bpfvm disasm [--syntax llvm|conformance] [--numbered] --hex \"b7 00 00 ...\"\n\n"
		"Print the instructions of a program, one per line. FILE holds raw bytecode,\n"
		"hex text or assembly. The llvm syntax (default) is what llvm-objdump -d\n"
		"prints; instructions llvm 14 does not know use the kernel verifier log's\n"
		"syntax. --numbered prefixes each line with its slot index (\"0: \").\n\n"
		"Invalid encodings (unknown opcode, reserved fields, half an ld_imm64,\n"
		"jumps out of the program) are printed as `.insn` lines where possible and\n"
		"reported on stderr with their instruction index; the exit status is then 1.\n");
}

/* Jump or call target outside the program? Report it. */
static int check_target(const struct bpfvm_insn *insns, size_t n, size_t pc)
{
	const struct bpfvm_opinfo *row = bpfvm_isa_lookup(&insns[pc]);
	if (!row || !(row->flags & (BPFVM_F_JUMP_OFF | BPFVM_F_JUMP_IMM)))
		return 0;
	int64_t target = bpfvm_isa_jump_target(row, &insns[pc], pc);
	if (target >= 0 && target < (int64_t)n)
		return 0;
	cli_error("disasm", "insn %zu: jump out of range (target %lld, program has %zu insns)", pc,
		  (long long)target, n);
	return 1;
}

static int disasm_run(int argc, char **argv)
{
	enum bpfvm_syntax syntax = BPFVM_SYNTAX_LLVM;
	const char *arg = NULL;
	int numbered = 0, is_hex = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--syntax") && i + 1 < argc) {
			if (parse_syntax("disasm", argv[++i], &syntax))
				return CLI_USAGE;
		} else if (!strcmp(argv[i], "--numbered")) {
			numbered = 1;
		} else if (!strcmp(argv[i], "--hex") && i + 1 < argc && !arg) {
			is_hex = 1;
			arg = argv[++i];
		} else if (argv[i][0] == '-' && argv[i][1]) {
			cli_error("disasm", "unknown option '%s' (see bpfvm disasm --help)", argv[i]);
			return CLI_USAGE;
		} else if (!arg) {
			arg = argv[i];
		} else {
			cli_error("disasm", "more than one program given");
			return CLI_USAGE;
		}
	}
	if (!arg) {
		cli_error("disasm", "no program (FILE or --hex \"...\"; see bpfvm disasm --help)");
		return CLI_USAGE;
	}
	if (syntax == BPFVM_SYNTAX_AUTO)
		syntax = BPFVM_SYNTAX_LLVM;
	struct cli_program prog;
	char err[512];
	if (cli_load_program(arg, is_hex, BPFVM_SYNTAX_AUTO, &prog, err, sizeof(err))) {
		cli_error("disasm", "%s", err);
		cli_program_free(&prog);
		return CLI_FAIL;
	}
	int bad = 0;
	for (size_t pc = 0; pc < prog.n;) {
		char line[320];
		int rc = bpfvm_disasm_insn(prog.insns, prog.n, pc, syntax, line, sizeof(line));
		if (numbered)
			printf("%zu: ", pc);
		printf("%s\n", line);
		if (rc < 0) {
			const char *why = strstr(line, syntax == BPFVM_SYNTAX_CONFORMANCE ? " # " : " ; ");
			cli_error("disasm", "insn %zu: %s", pc, why ? why + 3 : line);
			bad = 1;
		} else {
			bad |= check_target(prog.insns, prog.n, pc);
		}
		pc += rc > 0 ? (size_t)rc : 1;
	}
	cli_program_free(&prog);
	return bad ? CLI_FAIL : CLI_OK;
}

const struct cli_cmd cli_cmd_disasm = {
	.name = "disasm",
	.summary = "print the instructions of a program (llvm or conformance syntax)",
	.run = disasm_run,
	.help = disasm_help,
};
