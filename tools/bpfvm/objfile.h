/* bpfvm command-line tool: programs from BPF object files (ELF), for the
 * subcommands that take a program (run, verify, objdump). Every function
 * prints "bpfvm CMD: ..." on failure and returns CLI_FAIL or CLI_USAGE. */
#ifndef BPFVM_CLI_OBJFILE_H
#define BPFVM_CLI_OBJFILE_H

#include <stddef.h>
#include <stdint.h>

#include "bpfvm/object.h"
#include "cli.h"

/* Which program of an object: by function name (--prog), by section
 * (--section), else the first; type (--type) overrides the section's. */
struct cli_object_select {
	const char *prog;
	const char *section;
	const char *type;
};

/* Does the file start with the ELF magic? */
int cli_is_object_file(const char *path);

/* "xdp", "sched_cls", "tc", "socket", "kprobe", "raw", ... (libbpf's type
 * names and the section names that imply them). Returns 0 or -EINVAL. */
int cli_parse_prog_type(const char *name, enum bpfvm_prog_type *type);

/* Open an object on vm. */
int cli_object_open(const char *cmd, struct bpfvm_vm *vm, const char *path,
		    struct bpfvm_object **out);

/* The selected program, or NULL after printing why (with the list of
 * programs the object has). */
struct bpfvm_object_prog *cli_object_pick(const char *cmd, struct bpfvm_object *obj,
					  const struct cli_object_select *sel);

/* Load the program (and the programs its static PROG_ARRAY values name);
 * on failure prints the verifier's message naming section and program. */
int cli_object_load(const char *cmd, struct bpfvm_object *obj, struct bpfvm_object_prog *p,
		    const struct bpfvm_prog_opts *opts);

/* The whole path of `bpfvm run FILE.o`: open, pick, load, then run. RAW
 * programs get mem as r1/r2; programs of other types run as the kernel's
 * BPF_PROG_TEST_RUN does, with mem as the packet (XDP, tc, socket filter)
 * or the context (tracing types). Prints retval (and the verdict name).
 * With trace (RAW programs; interpreter), every instruction is printed
 * with the registers it changed, each C source line as "; text @ file:line"
 * before its first instruction. */
int cli_object_run(const char *cmd, const char *path, const struct cli_object_select *sel,
		   const struct bpfvm_prog_opts *opts, const uint8_t *mem, size_t mem_len,
		   unsigned long long repeat, int trace);

/* `bpfvm verify FILE.o`: verify the selected program, or every program
 * when none is selected; one line per program; the verifier log (if
 * opts->log_level) after a rejection. CLI_OK when all pass. */
int cli_object_verify(const char *cmd, const char *path, const struct cli_object_select *sel,
		      const struct bpfvm_prog_opts *opts);

#endif
