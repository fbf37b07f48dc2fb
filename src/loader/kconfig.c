/* Kconfig externs (`extern int LINUX_KERNEL_VERSION __kconfig;`): libbpf
 * gathers the variables of BTF DATASEC ".kconfig" into one read-only
 * ".kconfig" map and fills in their values; programs read them through
 * map-value relocations against the undefined symbols. bpfvm does the same
 * for libbpf's virtual externs; a CONFIG_* option reads as unset (0) when
 * declared __weak and is an error otherwise, since a userspace VM has no
 * kernel configuration. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include <bpf/btf.h>
#include <linux/bpf.h>

#include "loader/loader.h"

static uint64_t kernel_version_code(void)
{
	struct utsname u;
	unsigned a = 0, b = 0, c = 0;
	if (uname(&u) == 0)
		sscanf(u.release, "%u.%u.%u", &a, &b, &c);
	return (uint64_t)a << 16 | (uint64_t)b << 8 | (c > 255 ? 255 : c);
}

/* Value of a virtual extern, or -ENOENT. */
static int virtual_extern(const char *name, uint64_t *value)
{
	if (!strcmp(name, "LINUX_KERNEL_VERSION"))
		*value = kernel_version_code();
	else if (!strcmp(name, "LINUX_HAS_BPF_COOKIE"))
		*value = 1; /* bpf_get_attach_cookie is there */
	else if (!strcmp(name, "LINUX_HAS_SYSCALL_WRAPPER"))
		*value = 1; /* x86-64 syscalls take a struct pt_regs since 4.17 */
	else
		return -ENOENT;
	return 0;
}

static const struct obj_sym *undefined_symbol(struct bpfvm_object *obj, const char *name)
{
	for (size_t i = 0; i < obj->nsyms; i++)
		if (obj->syms[i].shndx == SHN_UNDEF && !strcmp(obj->syms[i].name, name))
			return &obj->syms[i];
	return NULL;
}

/* Alignment of a scalar extern: its size (1, 2, 4 or 8). */
static int kconfig_cmp(const void *a, const void *b)
{
	const struct obj_kconfig *x = a, *y = b;
	if (x->size != y->size)
		return x->size > y->size ? -1 : 1;
	return strcmp(x->name, y->name);
}

int obj_collect_kconfig(struct bpfvm_object *obj)
{
	if (!obj->btf)
		return 0;
	__s32 sec_id = btf__find_by_name_kind(obj->btf, ".kconfig", BTF_KIND_DATASEC);
	if (sec_id < 0)
		return 0;
	const struct btf_type *sec = btf__type_by_id(obj->btf, (uint32_t)sec_id);
	const struct btf_var_secinfo *vi = btf_var_secinfos(sec);
	uint32_t n = btf_vlen(sec);
	obj->kconfig = calloc(n ? n : 1, sizeof(*obj->kconfig));
	if (!obj->kconfig)
		return obj_error(obj, -ENOMEM, "out of memory");
	uint64_t values[64];
	if (n > 64)
		return obj_error(obj, -E2BIG, "section .kconfig: more than 64 externs");
	for (uint32_t i = 0; i < n; i++) {
		const struct btf_type *var = btf__type_by_id(obj->btf, vi[i].type);
		const char *name = var && btf_is_var(var) ? btf__name_by_offset(obj->btf, var->name_off) : NULL;
		__s64 sz = name ? btf__resolve_size(obj->btf, var->type) : -1;
		if (!name || sz <= 0 || sz > 8)
			return obj_error(obj, -EINVAL, "section .kconfig: extern %u is not a scalar variable", i);
		obj->kconfig[i] = (struct obj_kconfig){name, 0, (uint32_t)sz};
	}
	/* libbpf's layout: larger alignment first, then smaller size, then
	 * name; each at its natural alignment. */
	qsort(obj->kconfig, n, sizeof(*obj->kconfig), kconfig_cmp);
	size_t size = 0;
	for (uint32_t i = 0; i < n; i++) {
		struct obj_kconfig *k = &obj->kconfig[i];
		const struct obj_sym *sym = undefined_symbol(obj, k->name);
		values[i] = 0;
		if (virtual_extern(k->name, &values[i]) && !(sym && sym->bind == STB_WEAK))
			return obj_error(obj, -ENOENT, "extern '%s' (.kconfig): bpfvm has no kernel "
					 "configuration; declare it __weak to read it as unset", k->name);
		size = (size + k->size - 1) / k->size * k->size;
		k->off = (uint32_t)size;
		size += k->size;
	}
	obj->nkconfig = n;
	if (!size)
		return 0;
	struct bpfvm_object_map *m = obj_new_map(obj, ".kconfig", ".kconfig", SIZE_MAX);
	if (!m)
		return obj_error(obj, -ENOMEM, "out of memory");
	m->kind = MAP_DATA;
	m->def.type = BPFVM_MAP_ARRAY;
	m->def.key_size = 4;
	m->def.value_size = (uint32_t)size;
	m->def.max_entries = 1;
	m->def.flags = BPF_F_RDONLY_PROG;
	m->data_size = size;
	m->data = calloc(1, size);
	if (!m->data)
		return obj_error(obj, -ENOMEM, "out of memory");
	for (uint32_t i = 0; i < n; i++) /* little-endian: the low bytes */
		memcpy((uint8_t *)m->data + obj->kconfig[i].off, &values[i], obj->kconfig[i].size);
	obj->kconfig_map = (long)(obj->nmaps - 1);
	return 0;
}

int obj_kconfig_offset(struct bpfvm_object *obj, const char *name, size_t *map, uint32_t *off)
{
	for (size_t i = 0; i < obj->nkconfig; i++)
		if (!strcmp(obj->kconfig[i].name, name) && obj->kconfig_map >= 0) {
			*map = (size_t)obj->kconfig_map;
			*off = obj->kconfig[i].off;
			return 0;
		}
	return -ENOENT;
}
