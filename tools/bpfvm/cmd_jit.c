/* bpfvm jit --dump: the x86-64 machine code the JIT makes of a program,
 * instruction by instruction (disassembled with capstone when the CLI is
 * built with it, hex bytes otherwise). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bpfvm/bpfvm.h"
#include "cli.h"
#include "jit/jit.h"

#ifdef BPFVM_HAVE_CAPSTONE
#include <capstone/capstone.h>
#endif

struct jit_cfg {
	const char *program;
	int is_hex;
	int dump;
	int checked;
	int blind;
	int hex_only;
	const char *maps; /* --maps SPEC, as bpfvm run's */
	enum bpfvm_syntax syntax;
};

static void jit_help(FILE *out)
{
	fprintf(out,
		"usage: bpfvm jit --dump [--no-verify] [--blind] [--hex] [--syntax S] [--maps SPEC]\n"
		"                FILE | --hex-prog HEX\n\n"
		"Compile a program (bytecode, assembly or hex) with the x86-64 JIT and print\n"
		"the machine code of each eBPF instruction under its disassembly, then the\n"
		"entry stub and the out-of-line code (fault exits, check thunk).\n\n"
		"options:\n"
		"  --dump        print the code (the default and only action)\n"
		"  --no-verify   compile for checked mode (run-time bounds checks, budget)\n"
		"  --blind       blind constants, as for untrusted code\n"
		"  --hex         print hex bytes even when capstone is available\n"
		"  --syntax S    assembly syntax of FILE: llvm, conformance or auto (default)\n"
		"  --hex-prog    FILE is a string of hex bytes\n"
		"  --maps SPEC   maps map[0], map[1].. as type:key_size:value_size:max_entries[:flags],...\n"
		"                (as bpfvm run; array lookups of verified programs are inlined)\n");
}

struct disasm {
#ifdef BPFVM_HAVE_CAPSTONE
	csh cs;
	int have_cs;
#endif
	int hex_only;
};

/* Print [start, end) of the image, one machine instruction per line. */
static void print_code(struct disasm *d, const uint8_t *image, uint32_t start, uint32_t end)
{
#ifdef BPFVM_HAVE_CAPSTONE
	if (d->have_cs && !d->hex_only) {
		cs_insn *insn;
		size_t count = cs_disasm(d->cs, image + start, end - start, start, 0, &insn);
		size_t done = 0;
		for (size_t i = 0; i < count; i++) {
			char bytes[64] = "";
			for (size_t b = 0; b < insn[i].size && b < 15; b++)
				snprintf(bytes + strlen(bytes), sizeof(bytes) - strlen(bytes), "%02x ", insn[i].bytes[b]);
			printf("    %5llx:  %-30s %s %s\n", (unsigned long long)insn[i].address, bytes,
			       insn[i].mnemonic, insn[i].op_str);
			done += insn[i].size;
		}
		if (count)
			cs_free(insn, count);
		start += (uint32_t)done;
		if (start >= end)
			return;
	}
#endif
	(void)d;
	for (uint32_t at = start; at < end; at += 16) {
		printf("    %5x: ", at);
		for (uint32_t b = at; b < end && b < at + 16; b++)
			printf(" %02x", image[b]);
		putchar('\n');
	}
}

static int parse_jit_args(int argc, char **argv, struct jit_cfg *cfg)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--dump"))
			cfg->dump = 1;
		else if (!strcmp(a, "--no-verify"))
			cfg->checked = 1;
		else if (!strcmp(a, "--blind"))
			cfg->blind = 1;
		else if (!strcmp(a, "--hex"))
			cfg->hex_only = 1;
		else if (!strcmp(a, "--hex-prog"))
			cfg->is_hex = 1;
		else if (!strcmp(a, "--maps") && i + 1 < argc)
			cfg->maps = argv[++i];
		else if (!strcmp(a, "--syntax") && i + 1 < argc) {
			const char *s = argv[++i];
			if (!strcmp(s, "llvm"))
				cfg->syntax = BPFVM_SYNTAX_LLVM;
			else if (!strcmp(s, "conformance"))
				cfg->syntax = BPFVM_SYNTAX_CONFORMANCE;
			else if (!strcmp(s, "auto"))
				cfg->syntax = BPFVM_SYNTAX_AUTO;
			else {
				cli_error("jit", "unknown syntax '%s'", s);
				return CLI_USAGE;
			}
		} else if (a[0] == '-' && a[1]) {
			cli_error("jit", "unknown option '%s' (see bpfvm jit --help)", a);
			return CLI_USAGE;
		} else if (!cfg->program) {
			cfg->program = a;
		} else {
			cli_error("jit", "more than one program given");
			return CLI_USAGE;
		}
	}
	if (!cfg->program) {
		cli_error("jit", "no program given (see bpfvm jit --help)");
		return CLI_USAGE;
	}
	return 0;
}

static void dump_program(const struct bpfvm_prog *prog, const struct cli_program *p, int hex_only,
			 double compile_ns)
{
	size_t size;
	const uint32_t *addrs;
	const uint8_t *image = bpfvm__jit_image(prog, &size, &addrs);
	struct disasm d = {.hex_only = hex_only};
#ifdef BPFVM_HAVE_CAPSTONE
	d.have_cs = cs_open(CS_ARCH_X86, CS_MODE_64, &d.cs) == CS_ERR_OK;
#endif
	printf("; %zu eBPF slots -> %zu bytes of x86-64 (%s, %u passes, %.0f ns to compile)\n", p->n,
	       size, prog->jit->checked ? "checked" : "verified", prog->jit->passes, compile_ns);
	printf("; entry stub\n");
	print_code(&d, image, 0, addrs[0]);
	for (size_t pc = 0; pc < p->n;) {
		char text[256];
		int slots = bpfvm_disasm_insn(p->insns, p->n, pc, BPFVM_SYNTAX_LLVM, text, sizeof(text));
		if (slots < 1)
			slots = 1;
		size_t next = pc + (size_t)slots;
		printf("%4zu: %s\n", pc, text);
		print_code(&d, image, addrs[pc], addrs[next < p->n ? next : p->n]);
		pc = next;
	}
	printf("; past the end, fault exits and thunks\n");
	print_code(&d, image, addrs[p->n], (uint32_t)size);
#ifdef BPFVM_HAVE_CAPSTONE
	if (d.have_cs)
		cs_close(&d.cs);
#endif
}

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmd_jit(int argc, char **argv)
{
	struct jit_cfg cfg = {.syntax = BPFVM_SYNTAX_AUTO};
	int rc = parse_jit_args(argc, argv, &cfg);
	if (rc)
		return rc;
	char err[512];
	struct cli_program p;
	if (cli_load_program(cfg.program, cfg.is_hex, cfg.syntax, &p, err, sizeof(err))) {
		cli_error("jit", "%s", err);
		return CLI_FAIL;
	}
	struct bpfvm_vm *vm;
	if (bpfvm_vm_create(&vm)) {
		cli_program_free(&p);
		cli_error("jit", "out of memory");
		return CLI_FAIL;
	}
	struct bpfvm_prog_opts opts = {
		.name = cfg.program,
		.safety = cfg.checked ? BPFVM_SAFETY_CHECKED : BPFVM_SAFETY_VERIFIED,
		.engine = BPFVM_ENGINE_JIT,
		.jit_blind = cfg.blind,
	};
	struct bpfvm_map **maps = NULL;
	size_t nmaps = 0;
	if (cfg.maps && cli_parse_maps(vm, cfg.maps, &maps, &nmaps, err, sizeof(err))) {
		cli_error("jit", "--maps: %s", err);
		bpfvm_vm_destroy(vm);
		cli_program_free(&p);
		return CLI_USAGE;
	}
	opts.maps = maps;
	opts.nmaps = nmaps;
	struct bpfvm_prog *prog;
	double start = now_ns();
	rc = bpfvm_prog_load(vm, p.insns, p.n, &opts, &prog);
	double took = now_ns() - start;
	if (rc) {
		cli_error("jit", "%s%s", bpfvm_vm_last_error(vm),
			  cfg.checked ? "" : " (--no-verify compiles it for checked mode)");
		rc = CLI_FAIL;
	} else {
		dump_program(prog, &p, cfg.hex_only, took);
		rc = CLI_OK;
	}
	bpfvm_vm_destroy(vm);
	free(maps);
	cli_program_free(&p);
	return rc;
}

const struct cli_cmd cli_cmd_jit = {
	.name = "jit",
	.summary = "show the x86-64 code the JIT makes of a program",
	.run = cmd_jit,
	.help = jit_help,
};
