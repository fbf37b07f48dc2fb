/* The object loader's own structures, shared by the files of src/loader. */
#ifndef BPFVM_LOADER_H
#define BPFVM_LOADER_H

#include <gelf.h>
#include <stddef.h>
#include <stdint.h>

#include "bpfvm/object.h"
#include "core/internal.h"

struct btf;

/* A symbol of the ELF symbol table, copied. */
struct obj_sym {
	const char *name; /* points into the object's string copies */
	size_t shndx;
	uint64_t value, size;
	unsigned type, bind;
};

/* A relocation of one instruction, resolved at open time. */
enum obj_reloc_kind {
	RELOC_MAP,      /* LD_IMM64 of a map: src_reg 1 */
	RELOC_DATA,     /* LD_IMM64 of a global variable: src_reg 2 + offset */
	RELOC_CALL,     /* bpf-to-bpf call */
	RELOC_FUNC,     /* LD_IMM64 of a function address: src_reg 4 */
};

struct obj_reloc {
	size_t insn; /* index in its section */
	enum obj_reloc_kind kind;
	size_t map;        /* MAP, DATA: index in obj->maps */
	uint32_t off;      /* DATA: offset in the map value */
	size_t target_sec; /* CALL, FUNC: index in obj->secs */
	size_t target;     /* CALL, FUNC: insn index in target_sec */
	const char *sym;   /* symbol name, for messages */
};

/* A source line starting at an instruction (from .BTF.ext line info). */
struct obj_line {
	size_t insn; /* index in its section */
	const char *file, *text;
	uint32_t line, col;
	char *formatted; /* "text @ file:line" */
};

/* A section of code (SHF_EXECINSTR). */
struct obj_sec {
	char *name;
	size_t shndx;
	struct bpfvm_insn *insns;
	size_t n;
	struct obj_reloc *relocs;
	size_t nrelocs;
	struct obj_line *lines; /* sorted by insn */
	size_t nlines;
	int is_text; /* .text holds subprograms, not programs */
};

/* A function: a program or a subprogram. */
struct obj_func {
	const char *name;
	size_t sec; /* index in obj->secs */
	size_t start, len;
};

struct obj_linked_func {
	const char *name;
	size_t start;
};

struct bpfvm_object_prog {
	struct bpfvm_object *obj;
	size_t func; /* index in obj->funcs */
	const char *name, *section;
	enum bpfvm_prog_type type;
	struct bpfvm_insn *insns;
	size_t n;
	const char **line_info; /* n entries, NULL if no line info */
	const struct obj_line **lines; /* n entries, NULL if no line info */
	struct obj_linked_func *funcs;
	size_t nfuncs;
	uint8_t *uses_map; /* obj->nmaps flags */
	struct bpfvm_prog *handle;
	int loading;
};

struct obj_init {
	uint32_t slot;
	int is_prog;   /* target is a program, else a map */
	size_t target; /* index in obj->progs or obj->maps */
	const char *name;
};

enum obj_map_kind { MAP_LEGACY, MAP_BTF, MAP_DATA };

struct bpfvm_object_map {
	struct bpfvm_object *obj;
	enum obj_map_kind kind;
	char *name;
	const char *section;
	size_t shndx;
	uint64_t sec_off, sec_size; /* where its definition lies in its section */
	struct bpfvm_map_def def;
	uint32_t elf_id;          /* iproute2's bpf_elf_map.id, 0 if none */
	uint32_t inner_elf_id;    /* iproute2's inner_id */
	uint32_t elf_inner_idx;   /* iproute2's inner_idx: slot in outer maps */
	const char *key_type, *value_type; /* BTF: __type(key, ...) names, or NULL */
	long inner;               /* index of the inner map template, -1 if none */
	uint32_t values_off;      /* BTF: byte offset of the `values` member */
	int has_values;
	int values_are_progs;
	void *data;               /* global data: initial value */
	size_t data_size;
	struct obj_init *inits;
	size_t ninits;
	int populated;            /* static values written to the map */
	struct bpfvm_map *handle;
	int creating;
};

struct obj_kconfig {
	const char *name;
	uint32_t off, size; /* in the .kconfig map's value */
};

struct obj_section_info {
	const char *name, *kind;
	uint64_t size;
};

struct bpfvm_object {
	struct bpfvm_vm *vm;
	char *name;
	char license[128];
	uint32_t kern_version;
	char **strings; /* copies of names, freed at close */
	size_t nstrings, strings_cap;
	struct obj_sym *syms;
	size_t nsyms;
	struct obj_sec *secs;
	size_t nsecs;
	long *sec_of_shndx;   /* ELF section index -> obj->secs index, -1 */
	size_t nshndx;
	struct obj_func *funcs;
	size_t nfuncs;
	struct bpfvm_object_prog *progs;
	size_t nprogs;
	struct bpfvm_object_map *maps;
	size_t nmaps;
	struct bpfvm_map **map_handles; /* nmaps entries once created */
	int maps_created;
	struct btf *btf;
	struct obj_kconfig *kconfig; /* externs of BTF DATASEC .kconfig */
	size_t nkconfig;
	long kconfig_map;            /* index in maps, -1 if none */
	struct obj_section_info *sections; /* every ELF section, for listings */
	size_t nsections;
	/* Set while opening only. */
	Elf *elf;
	size_t maps_shndx;    /* ".maps", 0 if none */
};

/* Error helpers: message in the VM, returns err. */
int obj_error(struct bpfvm_object *obj, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Keep a copy of s for the object's lifetime. */
const char *obj_strdup(struct bpfvm_object *obj, const char *s);
const char *obj_sec_name(struct bpfvm_object *obj, size_t shndx);
Elf_Data *obj_sec_data(struct bpfvm_object *obj, size_t shndx, GElf_Shdr *shdr);

/* maps.c */
struct bpfvm_object_map *obj_new_map(struct bpfvm_object *obj, const char *name,
				     const char *section, size_t shndx);
int obj_collect_legacy_maps(struct bpfvm_object *obj, size_t shndx, const char *secname);
int obj_collect_btf_maps(struct bpfvm_object *obj, size_t shndx);
int obj_collect_data_map(struct bpfvm_object *obj, size_t shndx, const char *secname);
int obj_collect_map_relos(struct bpfvm_object *obj, size_t relshndx);
long obj_map_at_symbol(struct bpfvm_object *obj, const struct obj_sym *sym, uint64_t off);
void obj_maps_free(struct bpfvm_object *obj);

/* link.c */
int obj_collect_code_relos(struct bpfvm_object *obj, size_t relshndx, size_t sec);
int obj_link_prog(struct bpfvm_object *obj, struct bpfvm_object_prog *prog);
void obj_prog_free(struct bpfvm_object_prog *prog);

/* btfext.c */
int obj_load_btf(struct bpfvm_object *obj, size_t btf_shndx, size_t ext_shndx);

/* kconfig.c */
int obj_collect_kconfig(struct bpfvm_object *obj);
int obj_kconfig_offset(struct bpfvm_object *obj, const char *name, size_t *map, uint32_t *off);

/* sectype.c: nothing but the public functions. */

#endif
