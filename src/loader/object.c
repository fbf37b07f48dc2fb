/* Opening BPF objects: the ELF file (libelf), its sections and symbols,
 * its functions and programs. Maps live in maps.c, relocation and linking
 * in link.c, BTF and line info in btfext.c. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/btf.h>
#include <gelf.h>
#include <libelf.h>

#include "loader/loader.h"

#ifndef EM_BPF
#define EM_BPF 247
#endif

int obj_error(struct bpfvm_object *obj, int err, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return bpfvm__vm_error(obj->vm, err, "%s: %s", obj->name ? obj->name : "object", msg);
}

const char *obj_strdup(struct bpfvm_object *obj, const char *s)
{
	if (obj->nstrings == obj->strings_cap) {
		size_t cap = obj->strings_cap ? obj->strings_cap * 2 : 32;
		char **ns = realloc(obj->strings, cap * sizeof(*ns));
		if (!ns)
			return NULL;
		obj->strings = ns;
		obj->strings_cap = cap;
	}
	char *copy = strdup(s ? s : "");
	if (copy)
		obj->strings[obj->nstrings++] = copy;
	return copy;
}

const char *obj_sec_name(struct bpfvm_object *obj, size_t shndx)
{
	size_t strndx;
	GElf_Shdr shdr;
	Elf_Scn *scn = obj->elf ? elf_getscn(obj->elf, shndx) : NULL;
	if (!scn || !gelf_getshdr(scn, &shdr) || elf_getshdrstrndx(obj->elf, &strndx))
		return "?";
	const char *name = elf_strptr(obj->elf, strndx, shdr.sh_name);
	return name ? name : "?";
}

/* Section data, or NULL with the reason left to the caller. libelf checks
 * that the data lies inside the file, which is what protects us from
 * truncated objects. */
Elf_Data *obj_sec_data(struct bpfvm_object *obj, size_t shndx, GElf_Shdr *shdr)
{
	Elf_Scn *scn = elf_getscn(obj->elf, shndx);
	if (!scn || !gelf_getshdr(scn, shdr))
		return NULL;
	Elf_Data *data = elf_getdata(scn, NULL);
	if (data && shdr->sh_type != SHT_NOBITS && data->d_size != shdr->sh_size)
		return NULL;
	return data;
}

static int has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* ".data", ".data.foo", but not ".data_bar". */
static int is_section_family(const char *name, const char *family)
{
	size_t n = strlen(family);
	return strncmp(name, family, n) == 0 && (name[n] == 0 || name[n] == '.');
}

static int read_header(struct bpfvm_object *obj)
{
	GElf_Ehdr ehdr;
	if (elf_kind(obj->elf) != ELF_K_ELF)
		return obj_error(obj, -EINVAL, "not an ELF object");
	if (!gelf_getehdr(obj->elf, &ehdr))
		return obj_error(obj, -EINVAL, "corrupt ELF header: %s", elf_errmsg(-1));
	if (ehdr.e_ident[EI_CLASS] != ELFCLASS64)
		return obj_error(obj, -EINVAL, "not a 64-bit ELF object (BPF objects are ELF64)");
	if (ehdr.e_ident[EI_DATA] != ELFDATA2LSB)
		return obj_error(obj, -EINVAL, "big-endian BPF object (compiled with -target bpfeb); "
				 "bpfvm runs little-endian BPF (-target bpf or bpfel)");
	if (ehdr.e_machine != EM_BPF)
		return obj_error(obj, -EINVAL, "not a BPF object: e_machine is %u, not EM_BPF (247)",
				 ehdr.e_machine);
	if (ehdr.e_type != ET_REL)
		return obj_error(obj, -EINVAL, "not a relocatable object (e_type %u)", ehdr.e_type);
	size_t shnum, strndx;
	if (elf_getshdrnum(obj->elf, &shnum) || elf_getshdrstrndx(obj->elf, &strndx))
		return obj_error(obj, -EINVAL, "corrupt section headers: %s", elf_errmsg(-1));
	obj->nshndx = shnum;
	obj->sec_of_shndx = malloc((shnum ? shnum : 1) * sizeof(long));
	if (!obj->sec_of_shndx)
		return obj_error(obj, -ENOMEM, "out of memory");
	for (size_t i = 0; i < shnum; i++)
		obj->sec_of_shndx[i] = -1;
	return 0;
}

static int read_symbols(struct bpfvm_object *obj)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr shdr;
	while ((scn = elf_nextscn(obj->elf, scn))) {
		if (!gelf_getshdr(scn, &shdr))
			return obj_error(obj, -EINVAL, "corrupt section header: %s", elf_errmsg(-1));
		if (shdr.sh_type == SHT_SYMTAB)
			break;
	}
	if (!scn)
		return obj_error(obj, -EINVAL, "no symbol table (.symtab): not a clang-compiled BPF object?");
	Elf_Data *data = obj_sec_data(obj, elf_ndxscn(scn), &shdr);
	if (!data || !shdr.sh_entsize)
		return obj_error(obj, -EINVAL, "section .symtab: truncated or corrupt");
	size_t n = shdr.sh_size / shdr.sh_entsize;
	obj->syms = calloc(n ? n : 1, sizeof(*obj->syms));
	if (!obj->syms)
		return obj_error(obj, -ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		GElf_Sym sym;
		if (!gelf_getsym(data, (int)i, &sym))
			return obj_error(obj, -EINVAL, "section .symtab: symbol %zu is corrupt", i);
		const char *name = elf_strptr(obj->elf, shdr.sh_link, sym.st_name);
		struct obj_sym *s = &obj->syms[i];
		s->name = obj_strdup(obj, name ? name : "");
		if (!s->name)
			return obj_error(obj, -ENOMEM, "out of memory");
		s->shndx = sym.st_shndx;
		s->value = sym.st_value;
		s->size = sym.st_size;
		s->type = GELF_ST_TYPE(sym.st_info);
		s->bind = GELF_ST_BIND(sym.st_info);
		if (s->type == STT_SECTION && !*s->name && s->shndx < obj->nshndx)
			s->name = obj_strdup(obj, obj_sec_name(obj, s->shndx));
	}
	obj->nsyms = n;
	return 0;
}

static int add_code_section(struct bpfvm_object *obj, size_t shndx, const char *name)
{
	GElf_Shdr shdr;
	Elf_Data *data = obj_sec_data(obj, shndx, &shdr);
	if (!data)
		return obj_error(obj, -EINVAL, "section %s: truncated or corrupt (%s)", name,
				 elf_errmsg(-1));
	if (shdr.sh_size % sizeof(struct bpfvm_insn))
		return obj_error(obj, -EINVAL, "section %s: size %zu is not a multiple of 8", name,
				 (size_t)shdr.sh_size);
	struct obj_sec *ns = realloc(obj->secs, (obj->nsecs + 1) * sizeof(*ns));
	if (!ns)
		return obj_error(obj, -ENOMEM, "out of memory");
	obj->secs = ns;
	struct obj_sec *sec = &obj->secs[obj->nsecs];
	memset(sec, 0, sizeof(*sec));
	sec->name = strdup(name);
	sec->shndx = shndx;
	sec->n = shdr.sh_size / sizeof(struct bpfvm_insn);
	sec->insns = malloc(shdr.sh_size ? shdr.sh_size : 1);
	sec->is_text = strcmp(name, ".text") == 0;
	if (!sec->name || !sec->insns) {
		free(sec->name);
		free(sec->insns);
		return obj_error(obj, -ENOMEM, "out of memory");
	}
	memcpy(sec->insns, data->d_buf, shdr.sh_size);
	obj->sec_of_shndx[shndx] = (long)obj->nsecs++;
	return 0;
}

static int read_license_and_version(struct bpfvm_object *obj, size_t shndx, const char *name)
{
	GElf_Shdr shdr;
	Elf_Data *data = obj_sec_data(obj, shndx, &shdr);
	if (!data)
		return obj_error(obj, -EINVAL, "section %s: truncated or corrupt", name);
	if (!strcmp(name, "license")) {
		size_t n = data->d_size < sizeof(obj->license) - 1 ? data->d_size : sizeof(obj->license) - 1;
		if (n) /* an empty or NOBITS section has no buffer */
			memcpy(obj->license, data->d_buf, n);
		obj->license[n] = 0;
	} else {
		if (data->d_size != sizeof(uint32_t))
			return obj_error(obj, -EINVAL, "section version: %zu bytes, expected 4",
					 (size_t)data->d_size);
		memcpy(&obj->kern_version, data->d_buf, sizeof(uint32_t));
	}
	return 0;
}

/* Walk the sections once: code, license, version, BTF; maps come after
 * BTF is known. */
static int scan_sections(struct bpfvm_object *obj, size_t *btf, size_t *btf_ext)
{
	for (size_t i = 1; i < obj->nshndx; i++) {
		GElf_Shdr shdr;
		Elf_Scn *scn = elf_getscn(obj->elf, i);
		if (!scn || !gelf_getshdr(scn, &shdr))
			return obj_error(obj, -EINVAL, "section %zu: corrupt header", i);
		const char *name = obj_sec_name(obj, i);
		int rc = 0;
		if (!strcmp(name, "license") || !strcmp(name, "version"))
			rc = read_license_and_version(obj, i, name);
		else if (!strcmp(name, ".BTF"))
			*btf = i;
		else if (!strcmp(name, ".BTF.ext"))
			*btf_ext = i;
		else if (!strcmp(name, ".maps"))
			obj->maps_shndx = i;
		else if (shdr.sh_type == SHT_PROGBITS && (shdr.sh_flags & SHF_EXECINSTR) && shdr.sh_size)
			rc = add_code_section(obj, i, name);
		if (rc)
			return rc;
	}
	return 0;
}

static int collect_maps(struct bpfvm_object *obj)
{
	int rc;
	for (size_t i = 1; i < obj->nshndx; i++) {
		const char *name = obj_sec_name(obj, i);
		if (!strcmp(name, "maps") || has_prefix(name, "maps/")) {
			rc = obj_collect_legacy_maps(obj, i, name);
			if (rc)
				return rc;
		}
	}
	if (obj->maps_shndx) {
		rc = obj_collect_btf_maps(obj, obj->maps_shndx);
		if (rc)
			return rc;
	}
	for (size_t i = 1; i < obj->nshndx; i++) {
		GElf_Shdr shdr;
		Elf_Scn *scn = elf_getscn(obj->elf, i);
		const char *name = obj_sec_name(obj, i);
		if (!scn || !gelf_getshdr(scn, &shdr) || !(shdr.sh_flags & SHF_ALLOC) ||
		    (shdr.sh_flags & SHF_EXECINSTR))
			continue;
		if (is_section_family(name, ".data") || is_section_family(name, ".rodata") ||
		    is_section_family(name, ".bss")) {
			rc = obj_collect_data_map(obj, i, name);
			if (rc)
				return rc;
		}
	}
	return 0;
}

static int add_func(struct bpfvm_object *obj, const char *name, size_t sec, size_t start, size_t len)
{
	struct obj_func *nf = realloc(obj->funcs, (obj->nfuncs + 1) * sizeof(*nf));
	if (!nf)
		return obj_error(obj, -ENOMEM, "out of memory");
	obj->funcs = nf;
	obj->funcs[obj->nfuncs++] = (struct obj_func){name, sec, start, len};
	return 0;
}

static int func_cmp(const void *a, const void *b)
{
	const struct obj_func *x = a, *y = b;
	if (x->sec != y->sec)
		return x->sec < y->sec ? -1 : 1;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* Functions from STT_FUNC symbols; a section without any (hand-written
 * assembly, old compilers) is one function named by a symbol at offset 0
 * or by the section. Functions without a size end where the next begins. */
static int collect_funcs(struct bpfvm_object *obj)
{
	for (size_t i = 0; i < obj->nsyms; i++) {
		const struct obj_sym *s = &obj->syms[i];
		if (s->type != STT_FUNC || s->shndx >= obj->nshndx || obj->sec_of_shndx[s->shndx] < 0)
			continue;
		size_t sec = (size_t)obj->sec_of_shndx[s->shndx];
		if (s->value % 8 || s->size % 8 || s->value / 8 >= obj->secs[sec].n ||
		    s->size / 8 > obj->secs[sec].n - s->value / 8)
			return obj_error(obj, -EINVAL, "section %s: function '%s' lies outside the section "
					 "(offset %llu, size %llu)", obj->secs[sec].name, s->name,
					 (unsigned long long)s->value, (unsigned long long)s->size);
		int rc = add_func(obj, s->name, sec, s->value / 8, s->size / 8);
		if (rc)
			return rc;
	}
	for (size_t sec = 0; sec < obj->nsecs; sec++) {
		int found = 0;
		for (size_t f = 0; f < obj->nfuncs; f++)
			found |= obj->funcs[f].sec == sec;
		if (found)
			continue;
		const char *name = obj->secs[sec].name;
		for (size_t i = 0; i < obj->nsyms; i++) {
			const struct obj_sym *s = &obj->syms[i];
			if (s->shndx == obj->secs[sec].shndx && s->value == 0 && s->bind == STB_GLOBAL &&
			    s->type == STT_NOTYPE && *s->name) {
				name = s->name;
				break;
			}
		}
		int rc = add_func(obj, name, sec, 0, obj->secs[sec].n);
		if (rc)
			return rc;
	}
	if (obj->nfuncs)
		qsort(obj->funcs, obj->nfuncs, sizeof(*obj->funcs), func_cmp);
	for (size_t f = 0; f < obj->nfuncs; f++) {
		struct obj_func *fn = &obj->funcs[f];
		int last = f + 1 == obj->nfuncs || obj->funcs[f + 1].sec != fn->sec;
		size_t end = last ? obj->secs[fn->sec].n : obj->funcs[f + 1].start;
		if (fn->len == 0)
			fn->len = end - fn->start;
		if (fn->len == 0)
			return obj_error(obj, -EINVAL, "section %s: function '%s' has no instructions",
					 obj->secs[fn->sec].name, fn->name);
		if (fn->start + fn->len > end)
			return obj_error(obj, -EINVAL, "section %s: functions '%s' and '%s' overlap",
					 obj->secs[fn->sec].name, fn->name, obj->funcs[f + 1].name);
	}
	return 0;
}

/* Global functions of .text are programs only in an object that has no
 * program section: a plain C function compiled without SEC(), as libbpf
 * before 1.0 accepted it. */
static int text_func_is_prog(const struct bpfvm_object *obj, size_t f, int has_prog_sections)
{
	if (has_prog_sections)
		return 0;
	for (size_t i = 0; i < obj->nsyms; i++) {
		const struct obj_sym *s = &obj->syms[i];
		if (s->type == STT_FUNC && s->bind == STB_GLOBAL && s->name == obj->funcs[f].name)
			return 1;
	}
	return 0;
}

/* Every function of a program section is a program (static ones too, as
 * libbpf does); functions of .text are subprograms. */
static int collect_progs(struct bpfvm_object *obj, enum bpfvm_prog_type default_type)
{
	size_t n = 0;
	int has_prog_sections = 0;
	for (size_t f = 0; f < obj->nfuncs; f++)
		has_prog_sections |= !obj->secs[obj->funcs[f].sec].is_text;
	for (size_t f = 0; f < obj->nfuncs; f++)
		n += !obj->secs[obj->funcs[f].sec].is_text || text_func_is_prog(obj, f, has_prog_sections);
	obj->progs = calloc(n ? n : 1, sizeof(*obj->progs));
	if (!obj->progs)
		return obj_error(obj, -ENOMEM, "out of memory");
	for (size_t f = 0; f < obj->nfuncs; f++) {
		const struct obj_sec *sec = &obj->secs[obj->funcs[f].sec];
		if (sec->is_text && !text_func_is_prog(obj, f, has_prog_sections))
			continue;
		struct bpfvm_object_prog *p = &obj->progs[obj->nprogs++];
		p->obj = obj;
		p->func = f;
		p->name = obj->funcs[f].name;
		p->section = sec->name;
		if (bpfvm_object_type_from_section(sec->name, &p->type))
			p->type = default_type;
	}
	return 0;
}

static int collect_relocations(struct bpfvm_object *obj)
{
	for (size_t i = 1; i < obj->nshndx; i++) {
		GElf_Shdr shdr;
		Elf_Scn *scn = elf_getscn(obj->elf, i);
		if (!scn || !gelf_getshdr(scn, &shdr))
			continue;
		if (shdr.sh_type != SHT_REL && shdr.sh_type != SHT_RELA)
			continue;
		size_t target = shdr.sh_info;
		int rc = 0;
		if (target < obj->nshndx && obj->sec_of_shndx[target] >= 0)
			rc = obj_collect_code_relos(obj, i, (size_t)obj->sec_of_shndx[target]);
		else if (target && target == obj->maps_shndx)
			rc = obj_collect_map_relos(obj, i);
		/* Relocations of debug info, BTF and data need nothing here. */
		if (rc)
			return rc;
	}
	return 0;
}

static int add_init(struct bpfvm_object *obj, struct bpfvm_object_map *map, struct obj_init init)
{
	struct obj_init *ni = realloc(map->inits, (map->ninits + 1) * sizeof(*ni));
	if (!ni)
		return obj_error(obj, -ENOMEM, "out of memory");
	map->inits = ni;
	map->inits[map->ninits++] = init;
	return 0;
}

/* iproute2 places a map with an id into slot inner_idx of every map-in-map
 * whose inner_id is that id (unless inner_idx is -1); the map is also
 * those maps' inner template. */
static int collect_iproute2_inner_maps(struct bpfvm_object *obj)
{
	for (size_t i = 0; i < obj->nmaps; i++) {
		const struct bpfvm_object_map *inner = &obj->maps[i];
		if (!inner->elf_id || inner->inner_elf_id || inner->elf_inner_idx == UINT32_MAX)
			continue;
		for (size_t j = 0; j < obj->nmaps; j++) {
			struct bpfvm_object_map *outer = &obj->maps[j];
			if (outer->inner_elf_id != inner->elf_id ||
			    (outer->def.type != BPFVM_MAP_ARRAY_OF_MAPS && outer->def.type != BPFVM_MAP_HASH_OF_MAPS))
				continue;
			int rc = add_init(obj, outer, (struct obj_init){inner->elf_inner_idx, 0, i, inner->name});
			if (rc)
				return rc;
		}
	}
	return 0;
}

/* iproute2 puts a program of section "ID/SLOT" into slot SLOT of the
 * PROG_ARRAY whose bpf_elf_map.id is ID. */
static int collect_iproute2_tail_calls(struct bpfvm_object *obj)
{
	for (size_t i = 0; i < obj->nprogs; i++) {
		unsigned id, slot;
		int end = 0;
		if (sscanf(obj->progs[i].section, "%u/%u%n", &id, &slot, &end) != 2 ||
		    obj->progs[i].section[end])
			continue;
		for (size_t m = 0; m < obj->nmaps; m++) {
			struct bpfvm_object_map *map = &obj->maps[m];
			if (map->elf_id != id || map->def.type != BPFVM_MAP_PROG_ARRAY)
				continue;
			int rc = add_init(obj, map, (struct obj_init){slot, 1, i, obj->progs[i].name});
			if (rc)
				return rc;
		}
	}
	return 0;
}

static const char *section_kind(const char *name, const GElf_Shdr *shdr)
{
	if (shdr->sh_type == SHT_REL || shdr->sh_type == SHT_RELA)
		return "reloc";
	if (shdr->sh_type == SHT_SYMTAB)
		return "symtab";
	if (shdr->sh_type == SHT_STRTAB)
		return "strtab";
	if ((shdr->sh_flags & SHF_EXECINSTR) && shdr->sh_type == SHT_PROGBITS)
		return "code";
	if (!strcmp(name, ".maps"))
		return "btf-maps";
	if (!strcmp(name, "maps") || has_prefix(name, "maps/"))
		return "maps";
	if (!strcmp(name, ".BTF"))
		return "btf";
	if (!strcmp(name, ".BTF.ext"))
		return "btf.ext";
	if (!strcmp(name, "license") || !strcmp(name, "version"))
		return name;
	if (is_section_family(name, ".data") || is_section_family(name, ".rodata") ||
	    is_section_family(name, ".bss"))
		return "data";
	if (has_prefix(name, ".debug") || has_prefix(name, ".llvm"))
		return "debug";
	return "other";
}

static int list_sections(struct bpfvm_object *obj)
{
	obj->sections = calloc(obj->nshndx ? obj->nshndx : 1, sizeof(*obj->sections));
	if (!obj->sections)
		return obj_error(obj, -ENOMEM, "out of memory");
	for (size_t i = 1; i < obj->nshndx; i++) {
		GElf_Shdr shdr;
		Elf_Scn *scn = elf_getscn(obj->elf, i);
		if (!scn || !gelf_getshdr(scn, &shdr))
			return obj_error(obj, -EINVAL, "section %zu: corrupt header", i);
		const char *name = obj_strdup(obj, obj_sec_name(obj, i));
		if (!name)
			return obj_error(obj, -ENOMEM, "out of memory");
		obj->sections[obj->nsections++] =
			(struct obj_section_info){name, section_kind(name, &shdr), shdr.sh_size};
	}
	return 0;
}

static int open_elf(struct bpfvm_object *obj, const struct bpfvm_object_opts *opts)
{
	size_t btf = 0, btf_ext = 0;
	int rc = read_header(obj);
	if (!rc)
		rc = list_sections(obj);
	if (!rc)
		rc = read_symbols(obj);
	if (!rc)
		rc = scan_sections(obj, &btf, &btf_ext);
	if (!rc)
		rc = obj_load_btf(obj, btf, btf_ext);
	if (!rc)
		rc = collect_maps(obj);
	if (!rc)
		rc = obj_collect_kconfig(obj);
	if (!rc)
		rc = collect_funcs(obj);
	if (!rc)
		rc = collect_progs(obj, opts->default_type);
	if (!rc)
		rc = collect_relocations(obj);
	if (!rc)
		rc = collect_iproute2_tail_calls(obj);
	if (!rc)
		rc = collect_iproute2_inner_maps(obj);
	for (size_t i = 0; !rc && i < obj->nprogs; i++)
		rc = obj_link_prog(obj, &obj->progs[i]);
	return rc;
}

int bpfvm_object_open_mem(struct bpfvm_vm *vm, const void *data, size_t size,
			  const struct bpfvm_object_opts *opts, struct bpfvm_object **out)
{
	static const struct bpfvm_object_opts no_opts;
	if (!opts)
		opts = &no_opts;
	*out = NULL;
	struct bpfvm_object *obj = calloc(1, sizeof(*obj));
	if (!obj)
		return bpfvm__vm_error(vm, -ENOMEM, "out of memory");
	obj->vm = vm;
	obj->kconfig_map = -1;
	obj->name = strdup(opts->name ? opts->name : "object");
	/* libelf wants writable memory; keep our own copy while opening. */
	char *image = malloc(size ? size : 1);
	if (!obj->name || !image) {
		free(image);
		bpfvm_object_close(obj);
		return bpfvm__vm_error(vm, -ENOMEM, "out of memory");
	}
	memcpy(image, data, size);
	int rc;
	if (elf_version(EV_CURRENT) == EV_NONE) {
		rc = obj_error(obj, -EINVAL, "libelf is too old: %s", elf_errmsg(-1));
	} else if (size < 4 || memcmp(image, ELFMAG, SELFMAG) != 0) {
		rc = obj_error(obj, -EINVAL, "not an ELF object (no \\177ELF magic)");
	} else if (!(obj->elf = elf_memory(image, size))) {
		rc = obj_error(obj, -EINVAL, "corrupt ELF: %s", elf_errmsg(-1));
	} else {
		rc = open_elf(obj, opts);
	}
	if (obj->elf)
		elf_end(obj->elf);
	obj->elf = NULL;
	free(image);
	if (rc) {
		char msg[sizeof(vm->last_error)];
		snprintf(msg, sizeof(msg), "%s", bpfvm_vm_last_error(vm));
		bpfvm_object_close(obj);
		return bpfvm__vm_error(vm, rc, "%s", msg);
	}
	vm->last_error[0] = 0;
	*out = obj;
	return 0;
}

int bpfvm_object_open_file(struct bpfvm_vm *vm, const char *path,
			   const struct bpfvm_object_opts *opts, struct bpfvm_object **out)
{
	*out = NULL;
	FILE *f = fopen(path, "rb");
	if (!f) {
		int e = errno;
		return bpfvm__vm_error(vm, -e, "%s: %s", path, strerror(e));
	}
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		n += fread(buf + n, 1, cap - n, f);
		if (n < cap)
			break;
		char *nb = realloc(buf, cap * 2);
		if (!nb)
			free(buf);
		buf = nb;
		cap *= 2;
	}
	int err = ferror(f);
	fclose(f);
	if (!buf || err) {
		free(buf);
		return bpfvm__vm_error(vm, buf ? -EIO : -ENOMEM, "%s: %s", path,
				       buf ? "read error" : "out of memory");
	}
	struct bpfvm_object_opts o = opts ? *opts : (struct bpfvm_object_opts){0};
	if (!o.name)
		o.name = path;
	int rc = bpfvm_object_open_mem(vm, buf, n, &o, out);
	free(buf);
	return rc;
}

void bpfvm_object_close(struct bpfvm_object *obj)
{
	if (!obj)
		return;
	for (size_t i = 0; i < obj->nprogs; i++)
		obj_prog_free(&obj->progs[i]);
	free(obj->progs);
	obj_maps_free(obj);
	for (size_t i = 0; i < obj->nsecs; i++) {
		struct obj_sec *s = &obj->secs[i];
		for (size_t l = 0; l < s->nlines; l++)
			free(s->lines[l].formatted);
		free(s->lines);
		free(s->relocs);
		free(s->insns);
		free(s->name);
	}
	free(obj->secs);
	free(obj->funcs);
	free(obj->syms);
	free(obj->sec_of_shndx);
	free(obj->sections);
	free(obj->kconfig);
	btf__free(obj->btf);
	for (size_t i = 0; i < obj->nstrings; i++)
		free(obj->strings[i]);
	free(obj->strings);
	free(obj->name);
	free(obj);
}

/* ---- accessors ------------------------------------------------------------- */

const char *bpfvm_object_name(const struct bpfvm_object *obj)
{
	return obj->name;
}

const char *bpfvm_object_license(const struct bpfvm_object *obj)
{
	return obj->license;
}

uint32_t bpfvm_object_kern_version(const struct bpfvm_object *obj)
{
	return obj->kern_version;
}

struct bpfvm_vm *bpfvm_object_vm(const struct bpfvm_object *obj)
{
	return obj->vm;
}

size_t bpfvm_object_section_count(const struct bpfvm_object *obj)
{
	return obj->nsections;
}

const char *bpfvm_object_section(const struct bpfvm_object *obj, size_t i, uint64_t *size,
				 const char **kind)
{
	if (i >= obj->nsections)
		return NULL;
	if (size)
		*size = obj->sections[i].size;
	if (kind)
		*kind = obj->sections[i].kind;
	return obj->sections[i].name;
}

size_t bpfvm_object_prog_count(const struct bpfvm_object *obj)
{
	return obj->nprogs;
}

struct bpfvm_object_prog *bpfvm_object_prog_at(const struct bpfvm_object *obj, size_t i)
{
	return i < obj->nprogs ? &obj->progs[i] : NULL;
}

struct bpfvm_object_prog *bpfvm_object_find_prog(const struct bpfvm_object *obj, const char *name)
{
	for (size_t i = 0; i < obj->nprogs; i++)
		if (!strcmp(obj->progs[i].name, name))
			return &obj->progs[i];
	return NULL;
}

struct bpfvm_object_prog *bpfvm_object_find_prog_by_section(const struct bpfvm_object *obj,
							      const char *section)
{
	for (size_t i = 0; i < obj->nprogs; i++)
		if (!strcmp(obj->progs[i].section, section))
			return &obj->progs[i];
	return NULL;
}

const char *bpfvm_object_prog_name(const struct bpfvm_object_prog *prog)
{
	return prog->name;
}

const char *bpfvm_object_prog_section(const struct bpfvm_object_prog *prog)
{
	return prog->section;
}

enum bpfvm_prog_type bpfvm_object_prog_type(const struct bpfvm_object_prog *prog)
{
	return prog->type;
}

int bpfvm_object_prog_set_type(struct bpfvm_object_prog *prog, enum bpfvm_prog_type type)
{
	if (prog->handle)
		return obj_error(prog->obj, -EBUSY, "prog '%s': already loaded", prog->name);
	prog->type = type;
	return 0;
}

const struct bpfvm_insn *bpfvm_object_prog_insns(const struct bpfvm_object_prog *prog, size_t *n)
{
	if (n)
		*n = prog->n;
	return prog->insns;
}

const char *const *bpfvm_object_prog_line_info(const struct bpfvm_object_prog *prog)
{
	return (const char *const *)prog->line_info;
}

size_t bpfvm_object_prog_func_count(const struct bpfvm_object_prog *prog)
{
	return prog->nfuncs;
}

const char *bpfvm_object_prog_func(const struct bpfvm_object_prog *prog, size_t i, size_t *start)
{
	if (i >= prog->nfuncs)
		return NULL;
	if (start)
		*start = prog->funcs[i].start;
	return prog->funcs[i].name;
}

int bpfvm_object_prog_source(const struct bpfvm_object_prog *prog, size_t pc, const char **file,
			     uint32_t *line, uint32_t *col, const char **text)
{
	if (!prog->lines || pc >= prog->n || !prog->lines[pc])
		return -ENOENT;
	const struct obj_line *l = prog->lines[pc];
	if (file)
		*file = l->file;
	if (line)
		*line = l->line;
	if (col)
		*col = l->col;
	if (text)
		*text = l->text;
	return 0;
}

struct bpfvm_prog *bpfvm_object_prog_handle(const struct bpfvm_object_prog *prog)
{
	return prog->handle;
}
