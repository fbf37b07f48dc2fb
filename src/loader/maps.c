/* Map definitions of an object: the legacy "maps" and "maps/NAME"
 * sections, BTF-defined ".maps", and global data sections. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "loader/loader.h"


static int known_map_type(uint32_t type)
{
	return type != BPF_MAP_TYPE_UNSPEC && libbpf_bpf_map_type_str((enum bpf_map_type)type);
}

struct bpfvm_object_map *obj_new_map(struct bpfvm_object *obj, const char *name,
				     const char *section, size_t shndx)
{
	struct bpfvm_object_map *nm = realloc(obj->maps, (obj->nmaps + 1) * sizeof(*nm));
	if (!nm)
		return NULL;
	obj->maps = nm;
	struct bpfvm_object_map *m = &obj->maps[obj->nmaps];
	memset(m, 0, sizeof(*m));
	m->name = strdup(name);
	if (!m->name)
		return NULL;
	m->obj = obj;
	m->section = obj_strdup(obj, section);
	m->shndx = shndx;
	m->inner = -1;
	m->def.name = m->name;
	obj->nmaps++;
	return m;
}

void obj_maps_free(struct bpfvm_object *obj)
{
	for (size_t i = 0; i < obj->nmaps; i++) {
		struct bpfvm_object_map *m = &obj->maps[i];
		if (m->handle)
			bpfvm_map_destroy(m->handle);
		free(m->name);
		free(m->data);
		free(m->inits);
	}
	free(obj->maps);
	free(obj->map_handles);
}

/* ---- legacy struct bpf_map_def records ------------------------------------ */

/* Map symbols of a legacy maps section, in offset order. */
static size_t legacy_map_symbols(struct bpfvm_object *obj, size_t shndx, size_t *idx, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i < obj->nsyms; i++) {
		const struct obj_sym *s = &obj->syms[i];
		if (s->shndx != shndx || s->type == STT_SECTION || !*s->name)
			continue;
		if (n < cap)
			idx[n] = i;
		n++;
	}
	/* Insertion sort by offset: sections hold few maps. */
	for (size_t i = 1; i < n && i < cap; i++)
		for (size_t j = i; j > 0 && obj->syms[idx[j]].value < obj->syms[idx[j - 1]].value; j--) {
			size_t t = idx[j];
			idx[j] = idx[j - 1];
			idx[j - 1] = t;
		}
	return n;
}

static uint32_t u32_at(const uint8_t *rec, size_t field)
{
	uint32_t v;
	memcpy(&v, rec + field * 4, 4);
	return v;
}

/* struct bpf_map_def (20 bytes), samples/bpf's with inner_map_idx and
 * numa_node (28), iproute2's struct bpf_elf_map with id, pinning,
 * inner_id, inner_idx (36). */
static int legacy_map(struct bpfvm_object *obj, size_t shndx, const char *secname, const char *name,
		      const uint8_t *rec, size_t recsz, size_t first_in_section)
{
	struct bpfvm_object_map *m = obj_new_map(obj, name, secname, shndx);
	if (!m)
		return obj_error(obj, -ENOMEM, "out of memory");
	m->kind = MAP_LEGACY;
	m->def.type = u32_at(rec, 0);
	m->def.key_size = u32_at(rec, 1);
	m->def.value_size = u32_at(rec, 2);
	m->def.max_entries = u32_at(rec, 3);
	m->def.flags = u32_at(rec, 4);
	if (recsz >= 36) {
		m->elf_id = u32_at(rec, 5);
		m->inner_elf_id = u32_at(rec, 7);
		m->elf_inner_idx = u32_at(rec, 8);
	} else if (recsz >= 28 && (m->def.type == BPFVM_MAP_ARRAY_OF_MAPS ||
				   m->def.type == BPFVM_MAP_HASH_OF_MAPS)) {
		m->inner = (long)(first_in_section + u32_at(rec, 5));
	}
	if (!known_map_type(m->def.type))
		return obj_error(obj, -EINVAL, "section %s: map '%s': unknown map type %u", secname, name,
				 m->def.type);
	return 0;
}

int obj_collect_legacy_maps(struct bpfvm_object *obj, size_t shndx, const char *secname)
{
	GElf_Shdr shdr;
	Elf_Data *data = obj_sec_data(obj, shndx, &shdr);
	if (!data || !data->d_buf)
		return obj_error(obj, -EINVAL, "section %s: truncated or corrupt", secname);
	size_t idx[256];
	size_t nsyms = legacy_map_symbols(obj, shndx, idx, 256);
	size_t first = obj->nmaps, size = data->d_size;
	if (nsyms > 256)
		return obj_error(obj, -E2BIG, "section %s: more than 256 maps", secname);
	if (nsyms == 0) {
		/* "maps/NAME" without a symbol: one map named by the section. */
		if (strncmp(secname, "maps/", 5) || size < 20)
			return obj_error(obj, -EINVAL, "section %s: no map symbols", secname);
		int rc = legacy_map(obj, shndx, secname, secname + 5, data->d_buf, size, first);
		if (!rc)
			obj->maps[obj->nmaps - 1].sec_off = 0;
		return rc;
	}
	size_t recsz = size / nsyms;
	if (size % nsyms || recsz < 20 || recsz % 4)
		return obj_error(obj, -EINVAL, "section %s: %zu bytes for %zu map symbols: not a whole "
				 "number of map definitions of at least 20 bytes", secname, size, nsyms);
	for (size_t i = 0; i < nsyms; i++) {
		const struct obj_sym *s = &obj->syms[idx[i]];
		if (s->value % recsz || s->value + recsz > size)
			return obj_error(obj, -EINVAL, "section %s: map '%s' at offset %llu is not on a "
					 "%zu-byte record boundary", secname, s->name,
					 (unsigned long long)s->value, recsz);
		int rc = legacy_map(obj, shndx, secname, s->name, (const uint8_t *)data->d_buf + s->value,
				    recsz, first);
		if (rc)
			return rc;
		struct bpfvm_object_map *m = &obj->maps[obj->nmaps - 1];
		m->sec_off = s->value;
		m->sec_size = recsz;
	}
	for (size_t i = first; i < obj->nmaps; i++)
		if (obj->maps[i].inner >= (long)obj->nmaps)
			return obj_error(obj, -EINVAL, "section %s: map '%s': inner_map_idx %ld out of range",
					 secname, obj->maps[i].name, obj->maps[i].inner - (long)first);
	return 0;
}

/* ---- BTF-defined maps ----------------------------------------------------- */

static const struct btf_type *skip_mods(const struct btf *btf, uint32_t id, uint32_t *out_id)
{
	const struct btf_type *t = btf__type_by_id(btf, id);
	while (t && (btf_is_mod(t) || btf_is_typedef(t))) {
		id = t->type;
		t = btf__type_by_id(btf, id);
	}
	if (out_id)
		*out_id = id;
	return t;
}

/* __uint(name, val) is `int (*name)[val]`. */
static int btf_uint_member(const struct btf *btf, uint32_t type_id, uint32_t *val)
{
	const struct btf_type *t = skip_mods(btf, type_id, NULL);
	if (!t || !btf_is_ptr(t))
		return -EINVAL;
	const struct btf_type *arr = skip_mods(btf, t->type, NULL);
	if (!arr || !btf_is_array(arr))
		return -EINVAL;
	*val = btf_array(arr)->nelems;
	return 0;
}

/* "struct pair", "__u32", "int[4]": how the program's source names a
 * BTF type, for listings. */
static void btf_type_name(const struct btf *btf, uint32_t id, char *buf, size_t len)
{
	const struct btf_type *t = btf__type_by_id(btf, id);
	const char *name = t ? btf__name_by_offset(btf, t->name_off) : NULL;
	if (!t) {
		snprintf(buf, len, "?");
	} else if (btf_is_array(t)) {
		char elem[96];
		btf_type_name(btf, btf_array(t)->type, elem, sizeof(elem));
		snprintf(buf, len, "%s[%u]", elem, btf_array(t)->nelems);
	} else if (btf_is_mod(t) && !(name && *name)) {
		btf_type_name(btf, t->type, buf, len);
	} else if (btf_is_ptr(t)) {
		char to[96];
		btf_type_name(btf, t->type, to, sizeof(to));
		snprintf(buf, len, "%s *", to);
	} else {
		const char *kw = btf_is_struct(t) ? "struct " : btf_is_union(t) ? "union " :
				 btf_is_enum(t) ? "enum " : "";
		snprintf(buf, len, "%s%s", kw, name && *name ? name : "(anon)");
	}
}

/* __type(name, T) is `T *name`: the size of T. */
static int btf_type_size_member(const struct btf *btf, uint32_t type_id, uint32_t *size)
{
	const struct btf_type *t = skip_mods(btf, type_id, NULL);
	if (!t || !btf_is_ptr(t))
		return -EINVAL;
	__s64 sz = btf__resolve_size(btf, t->type);
	if (sz < 0 || sz > UINT32_MAX)
		return -EINVAL;
	*size = (uint32_t)sz;
	return 0;
}

struct btf_map_parse {
	struct bpfvm_object *obj;
	const char *map;
	struct bpfvm_map_def *def;
	struct bpfvm_object_map *m; /* NULL for an inner definition */
	struct bpfvm_map_def *inner_def;
	int has_inner;
};

static int parse_btf_map_def(struct btf_map_parse *p, const struct btf_type *st);

/* __array(values, T): a zero-length array of pointers to T, where T is a
 * map definition (map-in-map) or a function prototype (PROG_ARRAY). */
static int parse_values_member(struct btf_map_parse *p, const struct btf_type *st, size_t i)
{
	const struct btf *btf = p->obj->btf;
	const struct btf_member *mb = &btf_members(st)[i];
	const struct btf_type *arr = skip_mods(btf, mb->type, NULL);
	const struct btf_type *ptr = arr && btf_is_array(arr) ? skip_mods(btf, btf_array(arr)->type, NULL) : NULL;
	const struct btf_type *elem = ptr && btf_is_ptr(ptr) ? skip_mods(btf, ptr->type, NULL) : NULL;
	if (!elem || (!btf_is_struct(elem) && !btf_is_func_proto(elem)))
		return obj_error(p->obj, -EINVAL, "section .maps: map '%s': 'values' is not "
				 "__array(values, <map or function>)", p->map);
	if (!p->m)
		return obj_error(p->obj, -EINVAL, "section .maps: map '%s': nested map-in-map is not "
				 "supported", p->map);
	/* Slots hold ids: libbpf makes the value 4 bytes. */
	if (p->def->value_size && p->def->value_size != 4)
		return obj_error(p->obj, -EINVAL, "section .maps: map '%s': value size %u conflicts "
				 "with __array(values, ...), whose values are 4-byte ids", p->map,
				 p->def->value_size);
	p->def->value_size = 4;
	p->m->has_values = 1;
	p->m->values_off = btf_member_bit_offset(st, (uint32_t)i) / 8;
	p->m->values_are_progs = btf_is_func_proto(elem);
	if (btf_is_struct(elem)) {
		struct btf_map_parse inner = {p->obj, p->map, p->inner_def, NULL, NULL, 0};
		int rc = parse_btf_map_def(&inner, elem);
		if (rc)
			return rc;
		p->has_inner = 1;
	}
	return 0;
}

static int parse_btf_map_def(struct btf_map_parse *p, const struct btf_type *st)
{
	const struct btf *btf = p->obj->btf;
	const struct btf_member *mb = btf_members(st);
	for (uint32_t i = 0; i < btf_vlen(st); i++) {
		const char *name = btf__name_by_offset(btf, mb[i].name_off);
		uint32_t v = 0;
		int rc = 0;
		if (!name)
			name = "?";
		if (!strcmp(name, "type"))
			rc = btf_uint_member(btf, mb[i].type, &v), p->def->type = v;
		else if (!strcmp(name, "max_entries"))
			rc = btf_uint_member(btf, mb[i].type, &p->def->max_entries);
		else if (!strcmp(name, "map_flags"))
			rc = btf_uint_member(btf, mb[i].type, &p->def->flags);
		else if (!strcmp(name, "key_size"))
			rc = btf_uint_member(btf, mb[i].type, &p->def->key_size);
		else if (!strcmp(name, "value_size"))
			rc = btf_uint_member(btf, mb[i].type, &p->def->value_size);
		else if (!strcmp(name, "key") || !strcmp(name, "value")) {
			int is_key = name[0] == 'k';
			rc = btf_type_size_member(btf, mb[i].type, is_key ? &p->def->key_size
									   : &p->def->value_size);
			if (!rc && p->m) {
				char tn[128];
				btf_type_name(btf, skip_mods(btf, mb[i].type, NULL)->type, tn, sizeof(tn));
				*(is_key ? &p->m->key_type : &p->m->value_type) = obj_strdup(p->obj, tn);
			}
		}
		else if (!strcmp(name, "pinning") || !strcmp(name, "numa_node") ||
			 !strcmp(name, "map_extra"))
			rc = btf_uint_member(btf, mb[i].type, &v); /* accepted, no meaning here */
		else if (!strcmp(name, "values"))
			rc = parse_values_member(p, st, i);
		else
			return obj_error(p->obj, -EINVAL, "section .maps: map '%s': unknown attribute '%s'",
					 p->map, name);
		if (rc == -EINVAL)
			return obj_error(p->obj, -EINVAL, "section .maps: map '%s': attribute '%s' is "
					 "malformed", p->map, name);
		if (rc)
			return rc;
	}
	/* libbpf sizes a perf event array for the CPUs when the object does
	 * not say, and its slots are u32 fds. */
	if (p->def->type == BPFVM_MAP_PERF_EVENT_ARRAY) {
		if (!p->def->key_size)
			p->def->key_size = 4;
		if (!p->def->value_size)
			p->def->value_size = 4;
		if (!p->def->max_entries)
			p->def->max_entries = BPFVM_NR_CPUS;
	}
	if (!known_map_type(p->def->type))
		return obj_error(p->obj, -EINVAL, "section .maps: map '%s': %s map type %u", p->map,
				 p->def->type ? "unknown" : "missing", p->def->type);
	return 0;
}

static long symbol_in_section(struct bpfvm_object *obj, size_t shndx, const char *name)
{
	for (size_t i = 0; i < obj->nsyms; i++)
		if (obj->syms[i].shndx == shndx && obj->syms[i].type != STT_SECTION &&
		    !strcmp(obj->syms[i].name, name))
			return (long)i;
	return -1;
}

int obj_collect_btf_maps(struct bpfvm_object *obj, size_t shndx)
{
	if (!obj->btf)
		return obj_error(obj, -EINVAL, "section .maps: BTF-defined maps need a .BTF section "
				 "(compile with -g)");
	__s32 sec_id = btf__find_by_name_kind(obj->btf, ".maps", BTF_KIND_DATASEC);
	if (sec_id < 0)
		return obj_error(obj, -EINVAL, "section .maps: no DATASEC '.maps' in .BTF");
	const struct btf_type *sec = btf__type_by_id(obj->btf, (uint32_t)sec_id);
	const struct btf_var_secinfo *vi = btf_var_secinfos(sec);
	for (uint32_t i = 0; i < btf_vlen(sec); i++) {
		const struct btf_type *var = btf__type_by_id(obj->btf, vi[i].type);
		const char *name = var ? btf__name_by_offset(obj->btf, var->name_off) : NULL;
		if (!var || !btf_is_var(var) || !name)
			return obj_error(obj, -EINVAL, "section .maps: entry %u of DATASEC .maps is not a "
					 "variable", i);
		const struct btf_type *st = skip_mods(obj->btf, var->type, NULL);
		if (!st || !btf_is_struct(st))
			return obj_error(obj, -EINVAL, "section .maps: map '%s' is not a struct", name);
		/* clang leaves DATASEC offsets at 0: the symbol table knows. */
		long sym = symbol_in_section(obj, shndx, name);
		if (sym < 0)
			return obj_error(obj, -EINVAL, "section .maps: map '%s' has no symbol", name);
		struct bpfvm_object_map *m = obj_new_map(obj, name, ".maps", shndx);
		if (!m)
			return obj_error(obj, -ENOMEM, "out of memory");
		m->kind = MAP_BTF;
		m->sec_off = obj->syms[sym].value;
		m->sec_size = st->size;
		struct bpfvm_map_def inner_def = {0};
		struct btf_map_parse p = {obj, m->name, &m->def, m, &inner_def, 0};
		int rc = parse_btf_map_def(&p, st);
		if (rc)
			return rc;
		if (p.has_inner) {
			/* The inner definition becomes a template map of its own,
			 * created before the outer one. */
			char iname[300];
			snprintf(iname, sizeof(iname), "%s.inner", name);
			size_t outer = obj->nmaps - 1;
			struct bpfvm_object_map *im = obj_new_map(obj, iname, ".maps", shndx);
			if (!im)
				return obj_error(obj, -ENOMEM, "out of memory");
			im->kind = MAP_BTF;
			im->sec_off = UINT64_MAX; /* not addressable from code */
			inner_def.name = im->name;
			im->def = inner_def;
			obj->maps[outer].inner = (long)(obj->nmaps - 1);
		}
	}
	return 0;
}

/* ---- global data -------------------------------------------------------- */

int obj_collect_data_map(struct bpfvm_object *obj, size_t shndx, const char *secname)
{
	GElf_Shdr shdr;
	Elf_Scn *scn = elf_getscn(obj->elf, shndx);
	if (!scn || !gelf_getshdr(scn, &shdr))
		return obj_error(obj, -EINVAL, "section %s: corrupt header", secname);
	if (shdr.sh_size == 0)
		return 0;
	if (shdr.sh_size > UINT32_MAX)
		return obj_error(obj, -E2BIG, "section %s: too large for a map value", secname);
	const void *bytes = NULL;
	if (shdr.sh_type != SHT_NOBITS) {
		Elf_Data *data = obj_sec_data(obj, shndx, &shdr);
		if (!data || !data->d_buf)
			return obj_error(obj, -EINVAL, "section %s: truncated or corrupt", secname);
		bytes = data->d_buf;
	}
	struct bpfvm_object_map *m = obj_new_map(obj, secname, secname, shndx);
	if (!m)
		return obj_error(obj, -ENOMEM, "out of memory");
	m->kind = MAP_DATA;
	m->sec_off = 0;
	m->sec_size = shdr.sh_size;
	m->def.type = BPFVM_MAP_ARRAY;
	m->def.key_size = 4;
	m->def.value_size = (uint32_t)shdr.sh_size;
	m->def.max_entries = 1;
	/* Programs may not write .rodata, and the verifier may read it as
	 * constants (format strings), as libbpf arranges with the kernel. */
	if (!strncmp(secname, ".rodata", 7))
		m->def.flags = BPF_F_RDONLY_PROG;
	m->data_size = shdr.sh_size;
	m->data = calloc(1, shdr.sh_size);
	if (!m->data)
		return obj_error(obj, -ENOMEM, "out of memory");
	if (bytes)
		memcpy(m->data, bytes, shdr.sh_size);
	return 0;
}

/* ---- lookups ---------------------------------------------------------------- */

long obj_map_at_symbol(struct bpfvm_object *obj, const struct obj_sym *sym, uint64_t off)
{
	for (size_t i = 0; i < obj->nmaps; i++) {
		const struct bpfvm_object_map *m = &obj->maps[i];
		if (m->shndx != sym->shndx || m->kind == MAP_DATA)
			continue;
		if (m->sec_off == sym->value + off)
			return (long)i;
	}
	return -1;
}

static long map_containing(struct bpfvm_object *obj, size_t shndx, uint64_t off)
{
	for (size_t i = 0; i < obj->nmaps; i++) {
		const struct bpfvm_object_map *m = &obj->maps[i];
		/* `values` is a zero-length array at the end of the struct:
		 * its initializer extends past the struct's BTF size. */
		uint64_t size = m->sec_size;
		if (m->has_values && m->values_off + 8ull * m->def.max_entries > size)
			size = m->values_off + 8ull * m->def.max_entries;
		if (m->shndx == shndx && m->sec_off != UINT64_MAX && off >= m->sec_off &&
		    off < m->sec_off + size)
			return (long)i;
	}
	return -1;
}

static long prog_of_symbol(struct bpfvm_object *obj, const struct obj_sym *sym)
{
	for (size_t i = 0; i < obj->nprogs; i++) {
		const struct obj_func *f = &obj->funcs[obj->progs[i].func];
		if (obj->secs[f->sec].shndx == sym->shndx && f->start * 8 == sym->value)
			return (long)i;
	}
	return -1;
}

/* .rel.maps: `.values = { [i] = &prog_or_map }` of BTF-defined maps. */
int obj_collect_map_relos(struct bpfvm_object *obj, size_t relshndx)
{
	GElf_Shdr shdr;
	Elf_Data *data = obj_sec_data(obj, relshndx, &shdr);
	if (!data || !shdr.sh_entsize)
		return obj_error(obj, -EINVAL, "section .rel.maps: truncated or corrupt");
	size_t n = shdr.sh_size / shdr.sh_entsize;
	for (size_t r = 0; r < n; r++) {
		GElf_Rel rel;
		GElf_Rela rela;
		if (shdr.sh_type == SHT_RELA ? !gelf_getrela(data, (int)r, &rela)
					     : !gelf_getrel(data, (int)r, &rel))
			return obj_error(obj, -EINVAL, "section .rel.maps: relocation %zu is corrupt", r);
		if (shdr.sh_type == SHT_RELA)
			rel = (GElf_Rel){rela.r_offset, rela.r_info};
		size_t symi = GELF_R_SYM(rel.r_info);
		if (symi >= obj->nsyms)
			return obj_error(obj, -EINVAL, "section .rel.maps: relocation %zu names missing "
					 "symbol %zu", r, symi);
		const struct obj_sym *sym = &obj->syms[symi];
		long mi = map_containing(obj, obj->maps_shndx, rel.r_offset);
		if (mi < 0)
			return obj_error(obj, -EINVAL, "section .maps: relocation at offset %llu against "
					 "'%s' is in no map", (unsigned long long)rel.r_offset, sym->name);
		struct bpfvm_object_map *m = &obj->maps[mi];
		uint64_t rel_off = rel.r_offset - m->sec_off;
		if (!m->has_values || rel_off < m->values_off || (rel_off - m->values_off) % 8)
			return obj_error(obj, -EINVAL, "section .maps: map '%s': relocation against '%s' "
					 "outside its values", m->name, sym->name);
		uint32_t slot = (uint32_t)((rel_off - m->values_off) / 8);
		if (slot >= m->def.max_entries)
			return obj_error(obj, -EINVAL, "section .maps: map '%s': initial value [%u] beyond "
					 "max_entries %u", m->name, slot, m->def.max_entries);
		long target = m->values_are_progs ? prog_of_symbol(obj, sym) : obj_map_at_symbol(obj, sym, 0);
		if (target < 0)
			return obj_error(obj, -EINVAL, "section .maps: map '%s': initial value [%u] = '%s' "
					 "is not a %s of this object", m->name, slot, sym->name,
					 m->values_are_progs ? "program" : "map");
		struct obj_init *ni = realloc(m->inits, (m->ninits + 1) * sizeof(*ni));
		if (!ni)
			return obj_error(obj, -ENOMEM, "out of memory");
		m->inits = ni;
		m->inits[m->ninits++] = (struct obj_init){slot, m->values_are_progs, (size_t)target, sym->name};
	}
	return 0;
}
