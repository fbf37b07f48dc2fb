/* bpfvm verify: run the verifier on a program and report its verdict as the
 * kernel would (exit 0 accepted, 1 rejected with "insn N: message"). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm/bpfvm.h"
#include "cli.h"
#include "objfile.h"


struct verify_cfg {
	const char *program;
	int is_hex;
	enum bpfvm_syntax syntax;
	enum bpfvm_prog_type type;
	unsigned log_level;
	int unpriv;
	const char *maps;
	struct cli_object_select sel;
};

static void verify_help(FILE *out)
{
	fprintf(out,
		"usage: bpfvm verify [options] FILE\n"
		"       bpfvm verify [options] --hex \"b7 00 ...\"\n\n"
		"Verify an eBPF program as the Linux kernel's verifier does. Exit status 0\n"
		"when it is accepted; 1 when it is rejected, with 'insn N: message' (the\n"
		"kernel's message text).\n\n"
		"options:\n"
		"  --prog-type T      socket_filter, xdp, sched_cls, sched_act, kprobe, tracepoint,\n"
		"                     raw_tracepoint, cgroup_skb or raw (default: raw; r1 = memory,\n"
		"                     r2 = its length)\n"
		"  --log-level N      print the verifier log: 1 (the failing path), 2 (every state)\n"
		"  --unpriv           the kernel's rules for unprivileged loaders\n"
		"  --maps=SPEC        maps the program refers to as map[0], map[1]...:\n"
		"                     type:key_size:value_size:max_entries[,...]\n"
		"                     (hash, array, prog_array, perf_event_array, percpu_hash,\n"
		"                     percpu_array, lru_hash, ringbuf, queue, stack)\n"
		"  --syntax S         assembly syntax: llvm, conformance or auto (default)\n"
		"  --hex HEX          the program as hex bytes instead of FILE\n"
		"  --prog NAME, --section SEC   object files: which program (default: all)\n");
}

static int parse_type(const char *name, enum bpfvm_prog_type *out)
{
	static const struct {
		const char *name;
		enum bpfvm_prog_type type;
	} types[] = {
		{"raw", BPFVM_PROG_RAW}, {"socket_filter", BPFVM_PROG_SOCKET_FILTER},
		{"kprobe", BPFVM_PROG_KPROBE}, {"sched_cls", BPFVM_PROG_SCHED_CLS},
		{"sched_act", BPFVM_PROG_SCHED_ACT}, {"tracepoint", BPFVM_PROG_TRACEPOINT},
		{"xdp", BPFVM_PROG_XDP}, {"raw_tracepoint", BPFVM_PROG_RAW_TRACEPOINT},
		{"cgroup_skb", (enum bpfvm_prog_type)8},
	};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(types[i].name, name)) {
			*out = types[i].type;
			return 0;
		}
	return -EINVAL;
}

static int parse_args(int argc, char **argv, struct verify_cfg *cfg)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *eq = strchr(a, '=');
		char name[32];
		snprintf(name, sizeof(name), "%.*s", eq ? (int)(eq - a) : (int)strlen(a), a);

		const char *val = eq ? eq + 1 : (i + 1 < argc ? argv[i + 1] : NULL);
		int takes = !strcmp(name, "--prog-type") || !strcmp(name, "--log-level") || !strcmp(name, "--maps") ||
			    !strcmp(name, "--syntax") || !strcmp(name, "--hex") || !strcmp(name, "--prog") ||
			    !strcmp(name, "--section");
		if (a[0] != '-' || !strcmp(a, "-")) {
			if (cfg->program) {
				cli_error("verify", "more than one program given ('%s' and '%s')", cfg->program, a);
				return CLI_USAGE;
			}
			cfg->program = a;
			continue;
		}
		if (takes && !val) {
			cli_error("verify", "%s needs an argument", name);
			return CLI_USAGE;
		}
		if (takes && !eq)
			i++;
		if (!strcmp(name, "--prog-type")) {
			if (parse_type(val, &cfg->type)) {
				cli_error("verify", "--prog-type: unknown program type '%s'", val);
				return CLI_USAGE;
			}
			cfg->sel.type = val;
		} else if (!strcmp(name, "--log-level")) {
			if (strcmp(val, "1") && strcmp(val, "2")) {
				cli_error("verify", "--log-level: 1 or 2, not '%s'", val);
				return CLI_USAGE;
			}
			cfg->log_level = (unsigned)atoi(val);
		} else if (!strcmp(name, "--maps")) {
			cfg->maps = val;
		} else if (!strcmp(name, "--syntax")) {
			if (!strcmp(val, "llvm"))
				cfg->syntax = BPFVM_SYNTAX_LLVM;
			else if (!strcmp(val, "conformance"))
				cfg->syntax = BPFVM_SYNTAX_CONFORMANCE;
			else if (!strcmp(val, "auto"))
				cfg->syntax = BPFVM_SYNTAX_AUTO;
			else {
				cli_error("verify", "--syntax: unknown syntax '%s'", val);
				return CLI_USAGE;
			}
		} else if (!strcmp(name, "--hex")) {
			cfg->program = val;
			cfg->is_hex = 1;
		} else if (!strcmp(name, "--prog")) {
			cfg->sel.prog = val;
		} else if (!strcmp(name, "--section")) {
			cfg->sel.section = val;
		} else if (!strcmp(name, "--unpriv") && !eq) {
			cfg->unpriv = 1;
		} else {
			cli_error("verify", "unknown option '%s' (see bpfvm verify --help)", a);
			return CLI_USAGE;
		}
	}
	if (!cfg->program) {
		cli_error("verify", "no program given (see bpfvm verify --help)");
		return CLI_USAGE;
	}
	return 0;
}

static int cmd_verify(int argc, char **argv)
{
	struct verify_cfg cfg = {.syntax = BPFVM_SYNTAX_AUTO, .type = BPFVM_PROG_RAW};
	int rc = parse_args(argc, argv, &cfg);
	if (rc)
		return rc;
	size_t log_size = cfg.log_level ? 16u << 20 : 0;
	char *log = log_size ? calloc(1, log_size) : NULL;
	if (log_size && !log) {
		cli_error("verify", "out of memory");
		return CLI_FAIL;
	}
	struct bpfvm_prog_opts opts = {
		.name = cfg.is_hex ? "hex" : cfg.program,
		.type = cfg.type,
		.safety = BPFVM_SAFETY_VERIFIED,
		.engine = BPFVM_ENGINE_INTERP,
		.unpriv = cfg.unpriv,
		.log_buf = log,
		.log_size = log_size,
		.log_level = cfg.log_level,
	};
	if (!cfg.is_hex && cli_is_object_file(cfg.program)) {
		if (!cfg.sel.type)
			cfg.sel.type = NULL;
		rc = cli_object_verify("verify", cfg.program, &cfg.sel, &opts);
		free(log);
		return rc;
	}
	char err[512];
	struct cli_program p;
	if (cli_load_program(cfg.program, cfg.is_hex, cfg.syntax, &p, err, sizeof(err))) {
		cli_error("verify", "%s", err);
		free(log);
		return CLI_FAIL;
	}
	struct bpfvm_vm *vm = NULL;
	struct bpfvm_map **maps = NULL;
	size_t nmaps = 0;
	struct bpfvm_prog *prog = NULL;
	if (bpfvm_vm_create(&vm)) {
		cli_error("verify", "cannot create a VM");
		rc = CLI_FAIL;
		goto out;
	}
	if (cfg.maps && cli_parse_maps(vm, cfg.maps, &maps, &nmaps, err, sizeof(err))) {
		cli_error("verify", "--maps: %s", err);
		rc = CLI_FAIL;
		goto out;
	}
	opts.maps = maps;
	opts.nmaps = nmaps;
	int lrc = bpfvm_prog_load(vm, p.insns, p.n, &opts, &prog);
	if (log && log[0])
		fputs(log, stdout);
	if (lrc) {
		fprintf(stderr, "%s\n", bpfvm_vm_last_error(vm));
		rc = CLI_FAIL;
	} else {
		printf("accepted\n");
		rc = CLI_OK;
	}
out:
	bpfvm_prog_destroy(prog);
	for (size_t i = 0; i < nmaps; i++)
		bpfvm_map_destroy(maps[i]);
	free(maps);
	bpfvm_vm_destroy(vm);
	cli_program_free(&p);
	free(log);
	return rc;
}

const struct cli_cmd cli_cmd_verify = {
	.name = "verify",
	.summary = "verify a program as the Linux kernel's verifier does",
	.run = cmd_verify,
	.help = verify_help,
};
