/* bpfvm objdump: what bpfvm sees in a BPF object file: its sections, maps
 * and programs, and each program as it will be loaded (subprograms linked,
 * relocations applied), with the C source lines interleaved as
 * `llvm-objdump -S` prints them. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "bpfvm/bpfvm.h"
#include "bpfvm/object.h"
#include "objfile.h"

struct objdump_cfg {
	const char *path;
	struct cli_object_select sel;
	int headers_only;
	int no_source;
};

static void objdump_help(FILE *out)
{
	fprintf(out, "usage: bpfvm objdump [options] FILE.o\n\n"
		     "List the sections, maps and programs of a BPF object (clang -target bpf)\n"
		     "and disassemble each program as bpfvm loads it: subprograms linked in,\n"
		     "map references as map[N] (N = index in the maps table), C source lines\n"
		     "from .BTF.ext interleaved as '; text @ file:line'.\n\n"
		     "options:\n"
		     "  --prog NAME      only the program NAME\n"
		     "  --section SEC    only the programs of section SEC\n"
		     "  --headers        sections, maps and programs only, no disassembly\n"
		     "  --no-source      no source lines\n");
}

static int parse_args(int argc, char **argv, struct objdump_cfg *cfg)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--prog") || !strcmp(a, "--section")) {
			if (i + 1 >= argc) {
				cli_error("objdump", "%s needs an argument", a);
				return CLI_USAGE;
			}
			*(a[2] == 'p' ? &cfg->sel.prog : &cfg->sel.section) = argv[++i];
		} else if (!strcmp(a, "--headers")) {
			cfg->headers_only = 1;
		} else if (!strcmp(a, "--no-source")) {
			cfg->no_source = 1;
		} else if (a[0] == '-' && a[1]) {
			cli_error("objdump", "unknown option '%s' (see bpfvm objdump --help)", a);
			return CLI_USAGE;
		} else if (cfg->path) {
			cli_error("objdump", "more than one file given ('%s' and '%s')", cfg->path, a);
			return CLI_USAGE;
		} else {
			cfg->path = a;
		}
	}
	if (!cfg->path) {
		cli_error("objdump", "no object file given (see bpfvm objdump --help)");
		return CLI_USAGE;
	}
	return 0;
}

static void print_sections(struct bpfvm_object *obj)
{
	printf("Sections:\n  %-3s %-40s %8s  %s\n", "Idx", "Name", "Size", "Kind");
	for (size_t i = 0; i < bpfvm_object_section_count(obj); i++) {
		uint64_t size;
		const char *kind;
		const char *name = bpfvm_object_section(obj, i, &size, &kind);
		printf("  %-3zu %-40s %8" PRIu64 "  %s\n", i + 1, name, size, kind);
	}
}

static const char *map_type_name(uint32_t type)
{
	const char *n = libbpf_bpf_map_type_str((enum bpf_map_type)type);
	return n ? n : "?";
}

static void print_maps(struct bpfvm_object *obj)
{
	size_t n = bpfvm_object_map_count(obj);
	printf("\nMaps:\n");
	if (!n) {
		printf("  (none)\n");
		return;
	}
	printf("  %-3s %-24s %-16s %5s %6s %8s %6s  %s\n", "Idx", "Name", "Type", "Key", "Value", "Max",
	       "Flags", "Section");
	for (size_t i = 0; i < n; i++) {
		struct bpfvm_object_map *m = bpfvm_object_map_at(obj, i);
		const struct bpfvm_map_def *d = bpfvm_object_map_def(m);
		printf("  %-3zu %-24s %-16s %5u %6u %8u %#6x  %s\n", i, bpfvm_object_map_name(m),
		       map_type_name(d->type), d->key_size, d->value_size, d->max_entries, d->flags,
		       bpfvm_object_map_section(m));
		const char *kt = bpfvm_object_map_key_type(m), *vt = bpfvm_object_map_value_type(m);
		if (kt || vt)
			printf("      key %s, value %s\n", kt ? kt : "-", vt ? vt : "-");
		for (size_t k = 0; k < bpfvm_object_map_init_count(m); k++) {
			uint32_t slot;
			const char *target = bpfvm_object_map_init(m, k, &slot);
			printf("      [%u] = %s\n", slot, target);
		}
	}
}

static void print_programs(struct bpfvm_object *obj)
{
	printf("\nPrograms:\n  %-24s %-32s %-16s %6s  %s\n", "Name", "Section", "Type", "Insns",
	       "Subprograms");
	for (size_t i = 0; i < bpfvm_object_prog_count(obj); i++) {
		struct bpfvm_object_prog *p = bpfvm_object_prog_at(obj, i);
		const char *type = bpfvm_object_type_name(bpfvm_object_prog_type(p));
		size_t n;
		bpfvm_object_prog_insns(p, &n);
		printf("  %-24s %-32s %-16s %6zu  ", bpfvm_object_prog_name(p), bpfvm_object_prog_section(p),
		       type ? type : "?", n);
		for (size_t f = 1; f < bpfvm_object_prog_func_count(p); f++)
			printf("%s%s", f > 1 ? ", " : "", bpfvm_object_prog_func(p, f, NULL));
		printf("\n");
	}
}

/* What an instruction refers to, as a trailing comment. */
static void annotate(struct bpfvm_object *obj, struct bpfvm_vm *vm, const struct bpfvm_insn *in,
		     char *buf, size_t len)
{
	const struct bpfvm_opinfo *info = bpfvm_isa_lookup(in);
	buf[0] = 0;
	if (!info)
		return;
	if (info->kind == BPFVM_KIND_LDDW &&
	    (in->src == BPFVM_LDDW_MAP_FD || in->src == BPFVM_LDDW_MAP_VALUE)) {
		struct bpfvm_object_map *m = bpfvm_object_map_at(obj, (size_t)in->imm);
		if (m)
			snprintf(buf, len, "  ; %s", bpfvm_object_map_name(m));
	} else if (info->kind == BPFVM_KIND_CALL && info->op == BPFVM_CALL_HELPER) {
		const struct bpfvm_helper *h = bpfvm_vm_helper(vm, (uint32_t)in->imm);
		if (h)
			snprintf(buf, len, "  ; bpf_%s", h->name);
	}
}

static void print_disassembly(struct bpfvm_object *obj, struct bpfvm_vm *vm, struct bpfvm_object_prog *p,
			      int no_source)
{
	size_t n;
	const struct bpfvm_insn *insns = bpfvm_object_prog_insns(p, &n);
	const char *const *lines = no_source ? NULL : bpfvm_object_prog_line_info(p);
	const char *type = bpfvm_object_type_name(bpfvm_object_prog_type(p));
	size_t nf = bpfvm_object_prog_func_count(p), next_f = 0;
	const char *shown = NULL; /* a line is shown once until another starts */
	printf("\nDisassembly of prog '%s' (section %s, type %s):\n", bpfvm_object_prog_name(p),
	       bpfvm_object_prog_section(p), type ? type : "?");
	for (size_t pc = 0; pc < n;) {
		size_t start;
		while (next_f < nf && (bpfvm_object_prog_func(p, next_f, &start), start == pc)) {
			printf("\n%016zx <%s>:\n", pc * 8, bpfvm_object_prog_func(p, next_f, NULL));
			next_f++;
			shown = NULL;
		}
		if (lines && lines[pc] && (!shown || strcmp(shown, lines[pc]))) {
			printf("; %s\n", lines[pc]);
			shown = lines[pc];
		}
		char text[160], note[96];
		int slots = bpfvm_disasm_insn(insns, n, pc, BPFVM_SYNTAX_LLVM, text, sizeof(text));
		if (slots < 1)
			slots = 1;
		annotate(obj, vm, &insns[pc], note, sizeof(note));
		const uint8_t *b = (const uint8_t *)&insns[pc];
		printf("%8zu:\t", pc);
		for (int i = 0; i < 8 * slots; i++)
			printf("%02x%s", b[i], i + 1 < 8 * slots ? " " : "");
		printf("\t%s%s\n", text, note);
		pc += (size_t)slots;
	}
}

static int cmd_objdump(int argc, char **argv)
{
	struct objdump_cfg cfg = {0};
	int rc = parse_args(argc, argv, &cfg);
	if (rc)
		return rc;
	struct bpfvm_vm *vm;
	struct bpfvm_object *obj;
	if (bpfvm_vm_create(&vm)) {
		cli_error("objdump", "cannot create a VM");
		return CLI_FAIL;
	}
	rc = cli_object_open("objdump", vm, cfg.path, &obj);
	if (rc) {
		bpfvm_vm_destroy(vm);
		return rc;
	}
	struct bpfvm_object_prog *only = NULL;
	if (cfg.sel.prog && !(only = cli_object_pick("objdump", obj, &cfg.sel)))
		rc = CLI_FAIL;
	if (cfg.sel.section && !bpfvm_object_find_prog_by_section(obj, cfg.sel.section)) {
		cli_error("objdump", "%s: no program in section '%s'", cfg.path, cfg.sel.section);
		rc = CLI_FAIL;
	}
	if (!rc) {
		printf("%s:\tfile format elf64-bpf\nlicense: %s\nversion: %#x\n\n", cfg.path,
		       bpfvm_object_license(obj)[0] ? bpfvm_object_license(obj) : "(none)",
		       bpfvm_object_kern_version(obj));
		print_sections(obj);
		print_maps(obj);
		print_programs(obj);
		for (size_t i = 0; !cfg.headers_only && i < bpfvm_object_prog_count(obj); i++) {
			struct bpfvm_object_prog *p = bpfvm_object_prog_at(obj, i);
			if ((only && p != only) ||
			    (cfg.sel.section && strcmp(cfg.sel.section, bpfvm_object_prog_section(p))))
				continue;
			print_disassembly(obj, vm, p, cfg.no_source);
		}
	}
	bpfvm_object_close(obj);
	bpfvm_vm_destroy(vm);
	return rc;
}

const struct cli_cmd cli_cmd_objdump = {
	.name = "objdump",
	.summary = "list and disassemble a BPF object (ELF) with source lines",
	.run = cmd_objdump,
	.help = objdump_help,
};
