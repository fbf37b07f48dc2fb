/* bpfvm: the command-line tool. Each subcommand is a thin layer over the
 * public API, in its own cmd_*.c file; this file only dispatches. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* Subcommands, in the order `bpfvm --help` lists them. */
extern const struct cli_cmd cli_cmd_asm;
extern const struct cli_cmd cli_cmd_disasm;
extern const struct cli_cmd cli_cmd_filter;
extern const struct cli_cmd cli_cmd_jit;
extern const struct cli_cmd cli_cmd_objdump;
extern const struct cli_cmd cli_cmd_run;
extern const struct cli_cmd cli_cmd_verify;

static const struct cli_cmd *const commands[] = {
	&cli_cmd_asm,
	&cli_cmd_disasm,
	&cli_cmd_filter,
	&cli_cmd_jit,
	&cli_cmd_objdump,
	&cli_cmd_run,
	&cli_cmd_verify,
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
	fprintf(out, "usage: bpfvm COMMAND [ARGS...]\n"
		     "       bpfvm help COMMAND | bpfvm COMMAND --help\n\n"
		     "A userspace eBPF runtime: assemble, disassemble, verify and run eBPF.\n\n"
		     "commands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
	fprintf(out, "\nexit status: 0 success, 1 bad input / rejected program / fault, 2 usage error\n");
}

static const struct cli_cmd *find_command(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i]->name, name) == 0)
			return commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return CLI_USAGE;
	}
	const char *name = argv[1];
	if (!strcmp(name, "--help") || !strcmp(name, "-h")) {
		usage(stdout);
		return CLI_OK;
	}
	if (!strcmp(name, "--version")) {
		printf("bpfvm 0.1.0\n");
		return CLI_OK;
	}
	if (!strcmp(name, "help")) {
		const struct cli_cmd *cmd = argc > 2 ? find_command(argv[2]) : NULL;
		if (argc > 2 && !cmd) {
			fprintf(stderr, "bpfvm: unknown command '%s'\n", argv[2]);
			return CLI_USAGE;
		}
		if (cmd)
			cmd->help(stdout);
		else
			usage(stdout);
		return CLI_OK;
	}
	const struct cli_cmd *cmd = find_command(name);
	if (!cmd) {
		fprintf(stderr, "bpfvm: unknown command '%s' (see bpfvm --help)\n", name);
		return CLI_USAGE;
	}
	for (int i = 2; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			cmd->help(stdout);
			return CLI_OK;
		}
	return cmd->run(argc - 1, argv + 1);
}
