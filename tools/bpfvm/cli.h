/* bpfvm command-line tool: shared declarations of the subcommands.
 * Exit codes of every subcommand: 0 success, 1 the input was bad or the
 * program was rejected or faulted, 2 usage error. */
#ifndef BPFVM_CLI_H
#define BPFVM_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bpfvm/asm.h"
#include "bpfvm/isa.h"

#define CLI_OK 0
#define CLI_FAIL 1
#define CLI_USAGE 2

struct cli_cmd {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv); /* argv[0] is the command name */
	void (*help)(FILE *out);
};

/* A program read from the command line. */
struct cli_program {
	struct bpfvm_insn *insns; /* malloc'ed */
	size_t n;
	enum {
		CLI_FORMAT_BYTECODE, /* raw 8-byte slots */
		CLI_FORMAT_ASM,      /* assembly text, either syntax */
		CLI_FORMAT_HEX,      /* hex bytes on the command line or in a file */
		CLI_FORMAT_ELF,      /* an object file (see the loader) */
	} format;
};

/* Read a whole file ("-" = stdin). Returns 0 or -errno with a message. */
int cli_read_file(const char *path, uint8_t **data, size_t *len, char *err, size_t errlen);
/* Parse hex bytes ("b7 00 ..", "b70000..", "0x.. 0x..") into a malloc'ed buffer. */
int cli_parse_hex(const char *text, uint8_t **data, size_t *len, char *err, size_t errlen);
/* Load a program from a file (bytecode, assembly or hex by content; the
 * extension .s/.asm forces assembly, .bin/.o-less raw files are bytecode)
 * or, with is_hex, from a hex string. */
int cli_load_program(const char *arg, int is_hex, enum bpfvm_syntax syntax,
		     struct cli_program *out, char *err, size_t errlen);
void cli_program_free(struct cli_program *p);

/* Test runs (testrun_cli.c): does `bpfvm run ARGS` ask for one (--prog-type,
 * --data-file, --pcap, ...)? Then cli_testrun_main runs it; cli_testrun_help
 * prints those options for `bpfvm run --help`. */
int cli_testrun_wanted(int argc, char **argv);
int cli_testrun_main(int argc, char **argv);
void cli_testrun_help(FILE *out);

/* ---- maps (maps_cli.c) ---- */
struct bpfvm_vm;
struct bpfvm_map;
/* --maps=SPEC: "type:key_size:value_size:max_entries[:flags],..." creates
 * the maps on vm in order (map[N] in a program is the N-th); *maps is
 * malloc'ed. Types: hash array prog_array perf_event_array percpu_hash
 * percpu_array lru_hash lru_percpu_hash lpm_trie queue stack ringbuf.
 * Returns 0 or -errno with a message in err. */
int cli_parse_maps(struct bpfvm_vm *vm, const char *spec, struct bpfvm_map ***maps, size_t *n,
		   char *err, size_t errlen);
/* Print every map's contents (keys and values in hex, or JSON), after
 * printing pending ring/perf buffer records. */
void cli_dump_maps(struct bpfvm_vm *vm, FILE *out, int json);
/* Print (and consume) the records ring buffers and perf buffers hold. */
void cli_poll_buffers(struct bpfvm_vm *vm, FILE *out, int json);

/* Print "bpfvm CMD: message" to stderr. */
void cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
