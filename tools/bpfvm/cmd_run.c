/* bpfvm run: load a program (bytecode, assembly or hex) and run it once or
 * many times, optionally tracing every instruction.
 *
 * Options are rows of run_options[]: a new option is one row plus, if it
 * needs state, one field of struct run_cfg. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bpfvm/bpfvm.h"
#include "cli.h"
#include "objfile.h"

/* Programs are verified before they run; --no-verify selects checked mode. */
static const enum bpfvm_safety default_safety = BPFVM_SAFETY_VERIFIED;

struct run_cfg {
	const char *program;      /* FILE, or the hex text with --hex */
	int is_hex;
	enum bpfvm_syntax syntax;
	uint8_t *mem;             /* --mem / --mem-file */
	size_t mem_len;
	unsigned long long repeat;
	int trace;
	enum bpfvm_engine engine;
	enum bpfvm_safety safety;
	struct cli_object_select sel; /* ELF objects: --prog, --section, --type */
	enum bpfvm_prog_type type;    /* --prog-type (bytecode/assembly) */
	int unpriv;                   /* --unpriv: verify with unprivileged rules */
	const char *maps;             /* --maps SPEC (maps_cli.c) */
	int dump_maps, json;          /* --dump-maps, --json */
};

struct run_option {
	const char *name;
	const char *arg;  /* name of the argument in the help, NULL for a flag */
	const char *help;
	/* Apply the option; returns 0 or CLI_FAIL/CLI_USAGE after printing why. */
	int (*apply)(struct run_cfg *cfg, const char *arg);
};

static int opt_hex(struct run_cfg *cfg, const char *arg)
{
	cfg->program = arg;
	cfg->is_hex = 1;
	return 0;
}

static int set_mem(struct run_cfg *cfg, uint8_t *data, size_t len)
{
	free(cfg->mem);
	cfg->mem = data;
	cfg->mem_len = len;
	return 0;
}

static int opt_mem(struct run_cfg *cfg, const char *arg)
{
	char err[256];
	uint8_t *data;
	size_t len;
	if (cli_parse_hex(arg, &data, &len, err, sizeof(err))) {
		cli_error("run", "--mem: %s", err);
		return CLI_USAGE;
	}
	return set_mem(cfg, data, len);
}

static int opt_mem_file(struct run_cfg *cfg, const char *arg)
{
	char err[256];
	uint8_t *data;
	size_t len;
	if (cli_read_file(arg, &data, &len, err, sizeof(err))) {
		cli_error("run", "--mem-file: %s", err);
		return CLI_FAIL;
	}
	return set_mem(cfg, data, len);
}

static int opt_repeat(struct run_cfg *cfg, const char *arg)
{
	char *end;
	errno = 0;
	cfg->repeat = strtoull(arg, &end, 0);
	if (errno || *end || cfg->repeat == 0 || arg[0] == '-') {
		cli_error("run", "--repeat: '%s' is not a positive number", arg);
		return CLI_USAGE;
	}
	return 0;
}

static int opt_trace(struct run_cfg *cfg, const char *arg)
{
	(void)arg;
	cfg->trace = 1;
	return 0;
}

static int opt_interp(struct run_cfg *cfg, const char *arg)
{
	(void)arg;
	cfg->engine = BPFVM_ENGINE_INTERP;
	return 0;
}

static int opt_jit(struct run_cfg *cfg, const char *arg)
{
	(void)arg;
	cfg->engine = BPFVM_ENGINE_JIT;
	return 0;
}

static int opt_no_verify(struct run_cfg *cfg, const char *arg)
{
	(void)arg;
	cfg->safety = BPFVM_SAFETY_CHECKED;
	return 0;
}

static int opt_syntax(struct run_cfg *cfg, const char *arg)
{
	if (!strcmp(arg, "llvm"))
		cfg->syntax = BPFVM_SYNTAX_LLVM;
	else if (!strcmp(arg, "conformance"))
		cfg->syntax = BPFVM_SYNTAX_CONFORMANCE;
	else if (!strcmp(arg, "auto"))
		cfg->syntax = BPFVM_SYNTAX_AUTO;
	else {
		cli_error("run", "--syntax: unknown syntax '%s' (llvm, conformance, auto)", arg);
		return CLI_USAGE;
	}
	return 0;
}

static int opt_prog(struct run_cfg *cfg, const char *arg)
{
	cfg->sel.prog = arg;
	return 0;
}

static int opt_section(struct run_cfg *cfg, const char *arg)
{
	cfg->sel.section = arg;
	return 0;
}

static int opt_type(struct run_cfg *cfg, const char *arg)
{
	cfg->sel.type = arg;
	return 0;
}

static int opt_prog_type(struct run_cfg *cfg, const char *arg)
{
	if (cli_parse_prog_type(arg, &cfg->type)) {
		cli_error("run", "--prog-type: unknown program type '%s'", arg);
		return CLI_USAGE;
	}
	return 0;
}

static int opt_unpriv(struct run_cfg *cfg, const char *arg)
{
	(void)arg;
	cfg->unpriv = 1;
	return 0;
}

static int opt_maps(struct run_cfg *cfg, const char *arg)
{
	cfg->maps = arg;
	return 0;
}

static int opt_dump_maps(struct run_cfg *cfg, const char *arg)
{
	(void)arg;
	cfg->dump_maps = 1;
	return 0;
}

static int opt_json(struct run_cfg *cfg, const char *arg)
{
	(void)arg;
	cfg->json = 1;
	return 0;
}

static const struct run_option run_options[] = {
	{"--hex", "HEX", "the program as hex bytes (\"b7 00 00 00 2a 00 00 00 95 ...\") instead of FILE", opt_hex},
	{"--mem", "HEX", "memory for the program: r1 points to it, r2 holds its length", opt_mem},
	{"--mem-file", "FILE", "the same, read from FILE", opt_mem_file},
	{"--syntax", "S", "assembly syntax of FILE: llvm, conformance or auto (default)", opt_syntax},
	{"--repeat", "N", "run N times and print the time per run and runs per second", opt_repeat},
	{"--trace", NULL, "print every executed instruction and the registers it changed", opt_trace},
	{"--interp", NULL, "run with the interpreter", opt_interp},
	{"--jit", NULL, "run with the JIT compiler", opt_jit},
	{"--no-verify", NULL, "do not verify: run with run-time checks (bounds, budget)", opt_no_verify},
	{"--prog-type", "T", "verify as program type T (default raw: r1 = memory, r2 = length)", opt_prog_type},
	{"--unpriv", NULL, "verify with the kernel's rules for unprivileged loaders", opt_unpriv},
	{"--prog", "NAME", "object file (.o): run the program (function) NAME", opt_prog},
	{"--section", "SEC", "object file: run the first program of section SEC", opt_section},
	{"--type", "TYPE", "object file: program type instead of the section's (xdp, tc, raw...)", opt_type},
	{"--maps", "SPEC", "maps map[0], map[1].. as type:key_size:value_size:max_entries[:flags],...", opt_maps},
	{"--dump-maps", NULL, "print every map's contents after the run", opt_dump_maps},
	{"--json", NULL, "--dump-maps and buffer records as JSON", opt_json},
};
#define NRUN_OPTIONS (sizeof(run_options) / sizeof(run_options[0]))

static void run_help(FILE *out)
{
	fprintf(out, "usage: bpfvm run [options] FILE\n"
		     "       bpfvm run [options] --hex \"b7 00 ...\"\n\n"
		     "Run an eBPF program (bytecode, assembly in either syntax, or hex) and print\n"
		     "r0: retval = 42 (0x2a). A fault prints 'insn N: ...' and exits 1.\n\n"
		     "options:\n");
	for (size_t i = 0; i < NRUN_OPTIONS; i++) {
		char left[40];
		snprintf(left, sizeof(left), "%s%s%s", run_options[i].name, run_options[i].arg ? " " : "",
			 run_options[i].arg ? run_options[i].arg : "");
		fprintf(out, "  %-18s %s\n", left, run_options[i].help);
	}
	cli_testrun_help(out);
}

static const struct run_option *find_option(const char *name)
{
	for (size_t i = 0; i < NRUN_OPTIONS; i++)
		if (!strcmp(run_options[i].name, name))
			return &run_options[i];
	return NULL;
}

static int parse_args(int argc, char **argv, struct run_cfg *cfg)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] != '-' || !strcmp(a, "-")) {
			if (cfg->program) {
				cli_error("run", "more than one program given ('%s' and '%s')", cfg->program, a);
				return CLI_USAGE;
			}
			cfg->program = a;
			continue;
		}
		const char *value = NULL;
		char name[64];
		const char *eq = strchr(a, '=');
		snprintf(name, sizeof(name), "%.*s", eq ? (int)(eq - a) : (int)strlen(a), a);
		const struct run_option *opt = find_option(name);
		if (!opt) {
			cli_error("run", "unknown option '%s' (see bpfvm run --help)", a);
			return CLI_USAGE;
		}
		if (opt->arg) {
			if (eq)
				value = eq + 1;
			else if (i + 1 < argc)
				value = argv[++i];
			else {
				cli_error("run", "%s needs an argument (%s)", opt->name, opt->arg);
				return CLI_USAGE;
			}
		} else if (eq) {
			cli_error("run", "%s takes no argument", opt->name);
			return CLI_USAGE;
		}
		int rc = opt->apply(cfg, value);
		if (rc)
			return rc;
	}
	if (!cfg->program) {
		cli_error("run", "no program given (see bpfvm run --help)");
		return CLI_USAGE;
	}
	return 0;
}

/* ---- --trace ------------------------------------------------------------------ */

/* The trace callback sees registers before each instruction, so an
 * instruction is printed when the next one starts (or the run ends), with
 * the registers that differ. */
struct tracer {
	int pending;
	const struct bpfvm_prog *prog;
	size_t pc;
	int frame;
	uint64_t regs[BPFVM_NREGS];
};

static void print_traced(const struct tracer *t, const uint64_t *after)
{
	size_t n;
	const struct bpfvm_insn *insns = bpfvm_prog_insns(t->prog, &n);
	char text[128];
	if (bpfvm_disasm_insn(insns, n, t->pc, BPFVM_SYNTAX_LLVM, text, sizeof(text)) < 0)
		snprintf(text, sizeof(text), "(opcode 0x%02x)", insns[t->pc].code);
	char changes[512] = "";
	size_t used = 0;
	for (int r = 0; after && r < BPFVM_NREGS && used < sizeof(changes); r++) {
		if (after[r] == t->regs[r])
			continue;
		used += (size_t)snprintf(changes + used, sizeof(changes) - used, "%sr%d = 0x%" PRIx64,
					 used ? ", " : "", r, after[r]);
	}
	if (changes[0])
		printf("%*s%4zu: %-24s ; %s\n", 2 * t->frame, "", t->pc, text, changes);
	else
		printf("%*s%4zu: %s\n", 2 * t->frame, "", t->pc, text);
}

static void trace_insn(void *user, const struct bpfvm_prog *prog, size_t pc, int frame,
		       const uint64_t regs[BPFVM_NREGS])
{
	struct tracer *t = user;
	if (t->pending)
		print_traced(t, regs);
	t->pending = 1;
	t->prog = prog;
	t->pc = pc;
	t->frame = frame;
	memcpy(t->regs, regs, sizeof(t->regs));
}

/* ---- running ---------------------------------------------------------------- */

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int report_fault(int rc, const struct bpfvm_run *run)
{
	cli_error("run", "%s", run->error[0] ? run->error : strerror(-rc));
	return CLI_FAIL;
}

static int run_program(struct bpfvm_prog *prog, struct run_cfg *cfg)
{
	struct bpfvm_run run = {.ctx = cfg->mem, .ctx_size = cfg->mem_len, .engine = cfg->engine};
	struct tracer tracer = {0};
	if (cfg->trace) {
		run.trace = trace_insn;
		run.trace_user = &tracer;
	}
	int rc = bpfvm_prog_run(prog, &run);
	if (cfg->trace && tracer.pending)
		print_traced(&tracer, rc ? NULL : tracer.regs);
	if (rc)
		return report_fault(rc, &run);
	if (cfg->repeat > 1) {
		/* The first run above checked the program works; time the rest
		 * (memory is not restored between runs). */
		run.trace = NULL;
		double start = now_ns();
		for (unsigned long long i = 1; i < cfg->repeat; i++) {
			rc = bpfvm_prog_run(prog, &run);
			if (rc)
				return report_fault(rc, &run);
		}
		double per_run = (now_ns() - start) / (double)(cfg->repeat - 1);
		printf("%llu runs: %.1f ns/run, %.0f runs/s\n", cfg->repeat, per_run,
		       per_run > 0 ? 1e9 / per_run : 0.0);
	}
	printf("retval = %" PRIu64 " (0x%" PRIx64 ")\n", run.retval, run.retval);
	return CLI_OK;
}

static int cmd_run(int argc, char **argv)
{
	if (cli_testrun_wanted(argc, argv))
		return cli_testrun_main(argc, argv);
	struct run_cfg cfg = {.syntax = BPFVM_SYNTAX_AUTO, .repeat = 1, .engine = BPFVM_ENGINE_DEFAULT,
			      .safety = default_safety};
	int rc = parse_args(argc, argv, &cfg);
	if (!rc && cfg.trace && cfg.engine == BPFVM_ENGINE_JIT) {
		cli_error("run", "--trace watches the interpreter; it cannot trace JIT code");
		rc = CLI_USAGE;
	}
	if (rc) {
		free(cfg.mem);
		return rc;
	}
	if (!cfg.is_hex && cli_is_object_file(cfg.program)) {
		/* ELF objects: the loader opens, links, loads and runs. */
		struct bpfvm_prog_opts oopts = {.safety = cfg.safety, .engine = cfg.engine};
		rc = cli_object_run("run", cfg.program, &cfg.sel, &oopts, cfg.mem, cfg.mem_len,
				    cfg.repeat, cfg.trace);
		free(cfg.mem);
		return rc;
	}
	char err[512];
	struct cli_program p;
	if (cli_load_program(cfg.program, cfg.is_hex, cfg.syntax, &p, err, sizeof(err))) {
		cli_error("run", "%s", err);
		free(cfg.mem);
		return CLI_FAIL;
	}
	struct bpfvm_vm *vm = NULL;
	struct bpfvm_prog *prog = NULL;
	struct bpfvm_map **maps = NULL;
	size_t nmaps = 0;
	rc = bpfvm_vm_create(&vm);
	if (rc) {
		cli_error("run", "cannot create a VM: %s", strerror(-rc));
		rc = CLI_FAIL;
		goto out;
	}
	struct bpfvm_prog_opts opts = {
		.name = cfg.is_hex ? "hex" : cfg.program,
		.type = cfg.type,
		.safety = cfg.safety,
		.unpriv = cfg.unpriv,
		/* Tracing watches the interpreter. */
		.engine = cfg.trace ? BPFVM_ENGINE_INTERP : cfg.engine,
	};
	if (cfg.maps && cli_parse_maps(vm, cfg.maps, &maps, &nmaps, err, sizeof(err))) {
		cli_error("run", "--maps: %s", err);
		rc = CLI_USAGE;
		goto out;
	}
	opts.maps = maps;
	opts.nmaps = nmaps;
	if (bpfvm_prog_load(vm, p.insns, p.n, &opts, &prog)) {
		cli_error("run", "%s", bpfvm_vm_last_error(vm));
		rc = CLI_FAIL;
		goto out;
	}
	rc = run_program(prog, &cfg);
	if (cfg.dump_maps)
		cli_dump_maps(vm, stdout, cfg.json);
	else
		cli_poll_buffers(vm, stdout, cfg.json);
out:
	free(maps);
	bpfvm_vm_destroy(vm);
	cli_program_free(&p);
	free(cfg.mem);
	return rc;
}

const struct cli_cmd cli_cmd_run = {
	.name = "run",
	.summary = "run a program (bytecode, assembly or hex) and print r0",
	.run = cmd_run,
	.help = run_help,
};
