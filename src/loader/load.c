/* Creating an object's maps and loading its programs through the public
 * API (bpfvm_map_create, bpfvm_prog_load), and the static initial values
 * that make a tail-call chain declared in C work without host code. */
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loader/loader.h"

/* Prefix the VM's last error (set by a call that just failed). */
static int obj_wrap_error(struct bpfvm_object *obj, int rc, const char *what)
{
	char msg[sizeof(obj->vm->last_error)];
	snprintf(msg, sizeof(msg), "%s", bpfvm_vm_last_error(obj->vm));
	return obj_error(obj, rc, "%s: %s", what, msg);
}

static long map_by_elf_id(struct bpfvm_object *obj, uint32_t id)
{
	for (size_t i = 0; i < obj->nmaps; i++)
		if (obj->maps[i].elf_id == id)
			return (long)i;
	return -1;
}

static int create_map(struct bpfvm_object *obj, size_t i)
{
	struct bpfvm_object_map *m = &obj->maps[i];
	char what[320];
	if (m->handle)
		return 0;
	snprintf(what, sizeof(what), "section %s: map '%s'", m->section, m->name);
	if (m->creating)
		return obj_error(obj, -ELOOP, "%s: map-in-map definitions form a cycle", what);
	m->creating = 1;
	struct bpfvm_map_def def = m->def;
	/* The kernel keeps 15 characters of a map's name (BPF_OBJ_NAME_LEN)
	 * and libbpf truncates longer ones; the object keeps the full name. */
	char short_name[16];
	snprintf(short_name, sizeof(short_name), "%s", m->name);
	def.name = short_name;
	long inner = m->inner;
	if (inner < 0 && m->inner_elf_id)
		inner = map_by_elf_id(obj, m->inner_elf_id);
	if (inner < 0 && m->inner_elf_id)
		return obj_error(obj, -EINVAL, "%s: inner map id %u does not exist", what, m->inner_elf_id);
	if (inner >= 0) {
		int rc = create_map(obj, (size_t)inner);
		if (rc)
			return rc;
		def.inner = obj->maps[inner].handle;
	}
	int rc = bpfvm_map_create(obj->vm, &def, &m->handle);
	m->creating = 0;
	if (rc)
		return obj_wrap_error(obj, rc, what);
	obj->map_handles[i] = m->handle;
	if (m->kind == MAP_DATA) {
		uint32_t zero = 0;
		rc = bpfvm_map_update(m->handle, &zero, m->data, BPFVM_ANY);
		if (rc)
			return obj_error(obj, rc, "%s: cannot set its initial value", what);
	}
	/* .rodata and .kconfig are constants from now on, as libbpf freezes
	 * them: the verifier then reads their values (const volatile
	 * configuration folds into the program) and format strings. */
	if (def.flags & BPF_F_RDONLY_PROG) {
		rc = bpfvm_map_freeze(m->handle);
		if (rc)
			return obj_error(obj, rc, "%s: cannot freeze it", what);
	}
	return 0;
}

/* `.values = { [i] = &inner_map }` of a map-in-map: map ids. */
static int fill_map_in_map(struct bpfvm_object *obj, struct bpfvm_object_map *m)
{
	for (size_t k = 0; k < m->ninits; k++) {
		const struct obj_init *in = &m->inits[k];
		if (in->is_prog)
			continue;
		uint32_t id = bpfvm_map_id(obj->maps[in->target].handle);
		int rc = bpfvm_map_update(m->handle, &in->slot, &id, BPFVM_ANY);
		if (rc)
			return obj_error(obj, rc, "section %s: map '%s': cannot set [%u] = '%s': %s",
					 m->section, m->name, in->slot, in->name, bpfvm_vm_last_error(obj->vm));
	}
	return 0;
}

int bpfvm_object_create_maps(struct bpfvm_object *obj)
{
	if (obj->maps_created)
		return 0;
	if (!obj->map_handles) {
		obj->map_handles = calloc(obj->nmaps ? obj->nmaps : 1, sizeof(*obj->map_handles));
		if (!obj->map_handles)
			return obj_error(obj, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < obj->nmaps; i++) {
		int rc = create_map(obj, i);
		if (rc)
			return rc;
	}
	for (size_t i = 0; i < obj->nmaps; i++) {
		int rc = fill_map_in_map(obj, &obj->maps[i]);
		if (rc)
			return rc;
	}
	obj->maps_created = 1;
	return 0;
}

/* ---- programs -------------------------------------------------------------- */

static int load_one(struct bpfvm_object_prog *p, const struct bpfvm_prog_opts *base)
{
	struct bpfvm_object *obj = p->obj;
	if (p->handle)
		return 0;
	struct bpfvm_prog_opts o = base ? *base : (struct bpfvm_prog_opts){0};
	o.name = p->name;
	o.type = p->type;
	o.maps = obj->map_handles;
	o.nmaps = obj->nmaps;
	o.line_info = (const char *const *)p->line_info;
	/* The license section decides GPL-only helpers, as in the kernel; an
	 * object without one is taken as GPL rather than refused. */
	if (!o.license && obj->license[0])
		o.license = obj->license;
	int rc = bpfvm_prog_load(obj->vm, p->insns, p->n, &o, &p->handle);
	if (rc) {
		char what[320];
		snprintf(what, sizeof(what), "section %s: prog '%s'", p->section, p->name);
		return obj_wrap_error(obj, rc, what);
	}
	return 0;
}

static int map_used_by_loaded_prog(struct bpfvm_object *obj, size_t m)
{
	for (size_t i = 0; i < obj->nprogs; i++)
		if (obj->progs[i].handle && obj->progs[i].uses_map[m])
			return 1;
	return 0;
}

/* Fill the PROG_ARRAY slots declared in the object of every map a loaded
 * program uses, loading the programs they name; repeat until nothing
 * changes, since those programs may use further PROG_ARRAYs. */
static int populate_prog_arrays(struct bpfvm_object *obj, const struct bpfvm_prog_opts *opts)
{
	int changed = 1;
	while (changed) {
		changed = 0;
		for (size_t m = 0; m < obj->nmaps; m++) {
			struct bpfvm_object_map *map = &obj->maps[m];
			if (map->populated || map->def.type != BPFVM_MAP_PROG_ARRAY || !map->ninits ||
			    !map_used_by_loaded_prog(obj, m))
				continue;
			map->populated = 1;
			changed = 1;
			for (size_t k = 0; k < map->ninits; k++) {
				struct obj_init *in = &map->inits[k];
				struct bpfvm_object_prog *target = &obj->progs[in->target];
				int rc = load_one(target, opts);
				if (rc)
					return rc;
				uint32_t id = bpfvm_prog_id(target->handle);
				rc = bpfvm_map_update(map->handle, &in->slot, &id, BPFVM_ANY);
				if (rc)
					return obj_error(obj, rc, "section %s: map '%s': cannot set [%u] = prog "
							 "'%s': %s", map->section, map->name, in->slot,
							 in->name, bpfvm_vm_last_error(obj->vm));
			}
		}
	}
	return 0;
}

int bpfvm_object_prog_load(struct bpfvm_object_prog *p, const struct bpfvm_prog_opts *opts)
{
	int rc = bpfvm_object_create_maps(p->obj);
	if (!rc)
		rc = load_one(p, opts);
	if (!rc)
		rc = populate_prog_arrays(p->obj, opts);
	return rc;
}

int bpfvm_object_load(struct bpfvm_object *obj, const struct bpfvm_prog_opts *opts)
{
	for (size_t i = 0; i < obj->nprogs; i++) {
		int rc = bpfvm_object_prog_load(&obj->progs[i], opts);
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- map accessors -------------------------------------------------------- */

size_t bpfvm_object_map_count(const struct bpfvm_object *obj)
{
	return obj->nmaps;
}

struct bpfvm_object_map *bpfvm_object_map_at(const struct bpfvm_object *obj, size_t i)
{
	return i < obj->nmaps ? &obj->maps[i] : NULL;
}

struct bpfvm_object_map *bpfvm_object_find_map(const struct bpfvm_object *obj, const char *name)
{
	for (size_t i = 0; i < obj->nmaps; i++)
		if (!strcmp(obj->maps[i].name, name))
			return &obj->maps[i];
	return NULL;
}

const char *bpfvm_object_map_name(const struct bpfvm_object_map *map)
{
	return map->name;
}

const char *bpfvm_object_map_section(const struct bpfvm_object_map *map)
{
	return map->section;
}

const struct bpfvm_map_def *bpfvm_object_map_def(const struct bpfvm_object_map *map)
{
	return &map->def;
}

int bpfvm_object_map_is_global_data(const struct bpfvm_object_map *map)
{
	return map->kind == MAP_DATA;
}

void *bpfvm_object_map_data(struct bpfvm_object_map *map, size_t *size)
{
	if (map->kind != MAP_DATA)
		return NULL;
	if (size)
		*size = map->data_size;
	if (!map->handle)
		return map->data;
	uint64_t addr;
	if (bpfvm__map_direct_value_addr(map->handle, 0, &addr))
		return NULL;
	return (void *)(uintptr_t)addr;
}

const char *bpfvm_object_map_key_type(const struct bpfvm_object_map *map)
{
	return map->key_type;
}

const char *bpfvm_object_map_value_type(const struct bpfvm_object_map *map)
{
	return map->value_type;
}

struct bpfvm_map *bpfvm_object_map_handle(const struct bpfvm_object_map *map)
{
	return map->handle;
}

size_t bpfvm_object_map_init_count(const struct bpfvm_object_map *map)
{
	return map->ninits;
}

const char *bpfvm_object_map_init(const struct bpfvm_object_map *map, size_t i, uint32_t *slot)
{
	if (i >= map->ninits)
		return NULL;
	if (slot)
		*slot = map->inits[i].slot;
	return map->inits[i].name;
}
