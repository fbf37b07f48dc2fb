/* bpfvm: BPF object files, as clang writes them and libbpf opens them.
 *
 * `clang -O2 -g -target bpf -c prog.c -o prog.o` produces an ELF object;
 * bpfvm_object_open_* reads it (libelf, libbpf's BTF API), finds its
 * programs (one per function of each program section), its maps (legacy
 * "maps" / "maps/NAME" sections, BTF-defined ".maps", global data), links
 * the subprograms every program calls into its own copy and applies the
 * relocations. Creating the maps and loading the programs (verification
 * included) go through bpfvm_map_create and bpfvm_prog_load.
 *
 * Status is 0 or a negative errno; the message, naming the section and
 * symbol at fault, is in bpfvm_vm_last_error(vm) of the VM the object was
 * opened on. An object is used from one thread at a time; the programs it
 * loads can run on many. Close the object before destroying its VM.
 */
#ifndef BPFVM_OBJECT_H
#define BPFVM_OBJECT_H

#include <stddef.h>
#include <stdint.h>

#include "bpfvm/isa.h"
#include "bpfvm/maps.h"
#include "bpfvm/vm.h"

#ifdef __cplusplus
extern "C" {
#endif

struct bpfvm_object;
struct bpfvm_object_prog;
struct bpfvm_object_map;

struct bpfvm_object_opts {
	/* Name used in messages; default the file name, or "object". */
	const char *name;
	/* Program type of sections whose name says nothing libbpf knows
	 * (iproute2's "2/15" or "from-netdev", custom names). Default RAW. */
	enum bpfvm_prog_type default_type;
};

/* Open an object from a file or from memory (data is copied). */
int bpfvm_object_open_file(struct bpfvm_vm *vm, const char *path,
			   const struct bpfvm_object_opts *opts, struct bpfvm_object **out);
int bpfvm_object_open_mem(struct bpfvm_vm *vm, const void *data, size_t size,
			  const struct bpfvm_object_opts *opts, struct bpfvm_object **out);
/* Destroy the object's programs and maps (maps live on while loaded
 * programs of the VM still use them). */
void bpfvm_object_close(struct bpfvm_object *obj);

const char *bpfvm_object_name(const struct bpfvm_object *obj);
/* Contents of the "license" section, "" if none. */
const char *bpfvm_object_license(const struct bpfvm_object *obj);
/* The "version" section (kernel version for old kprobes), 0 if none. */
uint32_t bpfvm_object_kern_version(const struct bpfvm_object *obj);
struct bpfvm_vm *bpfvm_object_vm(const struct bpfvm_object *obj);

/* Every ELF section of the object, for listings: its name, size in bytes
 * and what bpfvm made of it ("code", "maps", "btf-maps", "data", "btf",
 * "btf.ext", "license", "version", "reloc", "symtab", "strtab", "debug",
 * "other"). Returns NULL past the last. */
size_t bpfvm_object_section_count(const struct bpfvm_object *obj);
const char *bpfvm_object_section(const struct bpfvm_object *obj, size_t i, uint64_t *size,
				 const char **kind);

/* ---- programs ------------------------------------------------------------ */

size_t bpfvm_object_prog_count(const struct bpfvm_object *obj);
struct bpfvm_object_prog *bpfvm_object_prog_at(const struct bpfvm_object *obj, size_t i);
/* By function name, or NULL. */
struct bpfvm_object_prog *bpfvm_object_find_prog(const struct bpfvm_object *obj, const char *name);
/* The first program of a section, or NULL. */
struct bpfvm_object_prog *bpfvm_object_find_prog_by_section(const struct bpfvm_object *obj,
							      const char *section);

const char *bpfvm_object_prog_name(const struct bpfvm_object_prog *prog);
const char *bpfvm_object_prog_section(const struct bpfvm_object_prog *prog);
/* Derived from the section name (see bpfvm_object_type_from_section). */
enum bpfvm_prog_type bpfvm_object_prog_type(const struct bpfvm_object_prog *prog);
/* Override the type; only before the program is loaded. */
int bpfvm_object_prog_set_type(struct bpfvm_object_prog *prog, enum bpfvm_prog_type type);

/* The program as it will be loaded: its own code, then a copy of every
 * subprogram it calls, relocated. LD_IMM64 map references have src_reg 1
 * (map) or 2 (map value, second imm = offset) and imm = the map's index in
 * the object (bpfvm_object_map_at). */
const struct bpfvm_insn *bpfvm_object_prog_insns(const struct bpfvm_object_prog *prog, size_t *n);
/* Source line of each instruction of bpfvm_object_prog_insns, or NULL
 * where a new line does not start: "text @ file:line", as the kernel's
 * verifier log prints BTF line info. NULL if the object has no .BTF.ext. */
const char *const *bpfvm_object_prog_line_info(const struct bpfvm_object_prog *prog);

/* Where each linked function starts: function 0 is the program itself. */
size_t bpfvm_object_prog_func_count(const struct bpfvm_object_prog *prog);
const char *bpfvm_object_prog_func(const struct bpfvm_object_prog *prog, size_t i, size_t *start);

/* Source position of instruction pc (from .BTF.ext). Returns 0 and sets
 * the outputs, or -ENOENT when the instruction starts no line. */
int bpfvm_object_prog_source(const struct bpfvm_object_prog *prog, size_t pc, const char **file,
			     uint32_t *line, uint32_t *col, const char **text);

/* Create the object's maps (once), then load the program with
 * bpfvm_prog_load. From opts (may be NULL) the loader takes safety,
 * engine, unpriv, jit_blind and the log; it sets name, type, maps and
 * line_info itself. Programs named by static PROG_ARRAY initial values of
 * maps the program uses are loaded too and put in their slots, so that a
 * tail-call chain runs without host code. */
int bpfvm_object_prog_load(struct bpfvm_object_prog *prog, const struct bpfvm_prog_opts *opts);
/* The loaded program (owned by the object), or NULL before a load. */
struct bpfvm_prog *bpfvm_object_prog_handle(const struct bpfvm_object_prog *prog);
/* Load every program; stops at the first failure. */
int bpfvm_object_load(struct bpfvm_object *obj, const struct bpfvm_prog_opts *opts);

/* ---- maps ------------------------------------------------------------------ */

size_t bpfvm_object_map_count(const struct bpfvm_object *obj);
struct bpfvm_object_map *bpfvm_object_map_at(const struct bpfvm_object *obj, size_t i);
/* By name; global data maps are named after their section (".data",
 * ".rodata", ".bss", ".data.foo"). */
struct bpfvm_object_map *bpfvm_object_find_map(const struct bpfvm_object *obj, const char *name);

const char *bpfvm_object_map_name(const struct bpfvm_object_map *map);
const char *bpfvm_object_map_section(const struct bpfvm_object_map *map);
const struct bpfvm_map_def *bpfvm_object_map_def(const struct bpfvm_object_map *map);
/* Is this a global data map (.data, .rodata, .bss)? */
int bpfvm_object_map_is_global_data(const struct bpfvm_object_map *map);
/* Global data: the variables' memory, size bytes. Before the maps are
 * created it is the initial value (write to change it); afterwards it is
 * the live map value, shared with running programs (as libbpf's skeleton
 * memory-maps it). .rodata and .kconfig are frozen when created, as libbpf
 * freezes them, and the verifier reads their values as constants: do not
 * write them afterwards. NULL for other maps. */
void *bpfvm_object_map_data(struct bpfvm_object_map *map, size_t *size);
/* C names of a BTF-defined map's key and value types as declared with
 * __type(key, ...) ("__u32", "struct pair"), or NULL. */
const char *bpfvm_object_map_key_type(const struct bpfvm_object_map *map);
const char *bpfvm_object_map_value_type(const struct bpfvm_object_map *map);
/* The created map, or NULL before bpfvm_object_create_maps. */
struct bpfvm_map *bpfvm_object_map_handle(const struct bpfvm_object_map *map);
/* Static initial values (BTF `.values = {...}`, iproute2 "ID/SLOT"
 * sections): number of slots set, and for slot i its index and target
 * name (a program or a map). */
size_t bpfvm_object_map_init_count(const struct bpfvm_object_map *map);
const char *bpfvm_object_map_init(const struct bpfvm_object_map *map, size_t i, uint32_t *slot);

/* Create every map of the object (idempotent); fills global data and
 * static map-in-map values. */
int bpfvm_object_create_maps(struct bpfvm_object *obj);

/* ---- section names ---------------------------------------------------------- */

/* Program type for a section name, as libbpf derives it; also accepts the
 * prefixes libbpf before 1.0 accepted ("xdp_prog", "socket1").
 * Returns 0, or -ENOENT for a name that says nothing about the type. */
int bpfvm_object_type_from_section(const char *section, enum bpfvm_prog_type *type);
/* "xdp", "sched_cls", ... (libbpf's names), or NULL for an unknown type. */
const char *bpfvm_object_type_name(enum bpfvm_prog_type type);

#ifdef __cplusplus
}
#endif
#endif
