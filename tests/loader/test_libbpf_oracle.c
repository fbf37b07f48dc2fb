/* libbpf as the oracle: bpfvm's loader and libbpf's bpf_object__open_file
 * (open only, no kernel needed) must find the same programs with the same
 * sections, types and sizes, and the same maps with the same definitions,
 * in every test object and, when BPFVM_CORPUS names a directory of objects
 * (tests/loader/corpus/corpus.sh build), in the real-world corpus. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "bpfvm/object.h"
#include "loader/objtest.h"

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level, (void)fmt, (void)ap;
	return 0;
}

/* libbpf names global data maps "<object prefix>.data"; bpfvm after the
 * section: compare the part from the first dot. */
static const char *data_suffix(const char *name)
{
	const char *dot = strchr(name, '.');
	return dot ? dot : name;
}

static struct bpfvm_object_map *find_map(struct bpfvm_object *obj, const struct bpf_map *lm)
{
	const char *name = bpf_map__name(lm);
	if (!bpf_map__is_internal(lm))
		return bpfvm_object_find_map(obj, name);
	for (size_t i = 0; i < bpfvm_object_map_count(obj); i++) {
		struct bpfvm_object_map *m = bpfvm_object_map_at(obj, i);
		if (bpfvm_object_map_is_global_data(m) &&
		    !strcmp(data_suffix(bpfvm_object_map_name(m)), data_suffix(name)))
			return m;
	}
	return NULL;
}

/* libbpf 1.x dropped the legacy "maps" section that libbpf 0.x and
 * iproute2 read; bpfvm keeps reading it. */
static int has_legacy_maps(struct bpfvm_object *obj)
{
	for (size_t i = 0; i < bpfvm_object_section_count(obj); i++) {
		const char *kind;
		bpfvm_object_section(obj, i, NULL, &kind);
		if (!strcmp(kind, "maps"))
			return 1;
	}
	return 0;
}

/* Returns the number of mismatches, each reported. */
static int compare_with_libbpf(const char *path)
{
	int bad = 0;
	struct bpf_object *lo = bpf_object__open_file(path, NULL);
	struct bpfvm_vm *vm;
	struct bpfvm_object *obj = NULL;
	if (bpfvm_vm_create(&vm))
		return 1;
	int rc = bpfvm_object_open_file(vm, path, NULL, &obj);
	if (!lo || rc) {
		/* Both must refuse, or neither. */
		if (!lo != !!rc && !(obj && has_legacy_maps(obj))) {
			harness_fail(__FILE__, __LINE__, "%s: libbpf %s, bpfvm %s (%s)", path,
				     lo ? "opens" : "refuses", rc ? "refuses" : "opens",
				     rc ? bpfvm_vm_last_error(vm) : "");
			bad++;
		}
		goto out;
	}
	struct bpf_program *lp;
	size_t nprogs = 0;
	bpf_object__for_each_program(lp, lo)
	{
		nprogs++;
		struct bpfvm_object_prog *p = bpfvm_object_find_prog(obj, bpf_program__name(lp));
		if (!p) {
			harness_fail(__FILE__, __LINE__, "%s: bpfvm lacks program %s", path,
				     bpf_program__name(lp));
			bad++;
			continue;
		}
		size_t own_len = 0, n;
		bpfvm_object_prog_insns(p, &n);
		if (!bpfvm_object_prog_func(p, 1, &own_len))
			own_len = n;
		/* Where libbpf 1.x knows no type ("xdp_prog", "xdp/pass"),
		 * bpfvm uses the prefix libbpf 0.x matched. */
		uint32_t ltype = (uint32_t)bpf_program__type(lp);
		if (strcmp(bpfvm_object_prog_section(p), bpf_program__section_name(lp)) ||
		    (ltype && (uint32_t)bpfvm_object_prog_type(p) != ltype) ||
		    own_len != bpf_program__insn_cnt(lp)) {
			harness_fail(__FILE__, __LINE__, "%s: prog %s: bpfvm {%s, type %d, %zu insns}, "
				     "libbpf {%s, type %d, %zu insns}", path, bpf_program__name(lp),
				     bpfvm_object_prog_section(p), bpfvm_object_prog_type(p), own_len,
				     bpf_program__section_name(lp), bpf_program__type(lp),
				     bpf_program__insn_cnt(lp));
			bad++;
		}
	}
	if (nprogs != bpfvm_object_prog_count(obj)) {
		harness_fail(__FILE__, __LINE__, "%s: %zu programs in bpfvm, %zu in libbpf", path,
			     bpfvm_object_prog_count(obj), nprogs);
		bad++;
	}
	struct bpf_map *lm;
	bpf_object__for_each_map(lm, lo)
	{
		struct bpfvm_object_map *m = find_map(obj, lm);
		if (!m) {
			harness_fail(__FILE__, __LINE__, "%s: bpfvm lacks map %s", path, bpf_map__name(lm));
			bad++;
			continue;
		}
		const struct bpfvm_map_def *d = bpfvm_object_map_def(m);
		/* libbpf adds BPF_F_MMAPABLE to global data and sizes perf
		 * event arrays at load time: compare what the object says. */
		uint32_t lflags = bpf_map__map_flags(lm) & ~(uint32_t)BPF_F_MMAPABLE;
		uint32_t lmax = bpf_map__max_entries(lm);
		if (bpf_map__type(lm) == BPF_MAP_TYPE_PERF_EVENT_ARRAY && !lmax)
			lmax = d->max_entries;
		if ((uint32_t)bpf_map__type(lm) != d->type || bpf_map__key_size(lm) != d->key_size ||
		    bpf_map__value_size(lm) != d->value_size || lmax != d->max_entries ||
		    lflags != d->flags) {
			harness_fail(__FILE__, __LINE__, "%s: map %s: bpfvm {%u %u %u %u %#x}, libbpf "
				     "{%u %u %u %u %#x}", path, bpf_map__name(lm), d->type, d->key_size,
				     d->value_size, d->max_entries, d->flags, bpf_map__type(lm),
				     bpf_map__key_size(lm), bpf_map__value_size(lm), lmax, lflags);
			bad++;
		}
	}
out:
	bpf_object__close(lo);
	bpfvm_object_close(obj);
	bpfvm_vm_destroy(vm);
	return bad;
}

TEST(test_programs_open_as_libbpf_opens_them)
{
	/* libbpf 1.x refuses legacy "maps" sections, so legacy_maps,
	 * legacy28 and iproute2 have no oracle here. */
	/* libbpf 1.1 refuses static programs, so sections has none either. */
	static const char *const progs[] = {"btf_maps", "globals", "hello", "tailcall", "tailcall_r9",
					    "kconfig"};
	libbpf_print_fn_t old = libbpf_set_print(quiet);
	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		char path[600];
		OBJTEST_COMPILE(progs[i], path);
		compare_with_libbpf(path);
	}
	libbpf_set_print(old);
}

TEST(corpus_objects_open_as_libbpf_opens_them)
{
	const char *dir = getenv("BPFVM_CORPUS");
	if (!dir)
		SKIP("BPFVM_CORPUS is not set (a directory from tests/loader/corpus/corpus.sh build)");
	DIR *d = opendir(dir);
	if (!d)
		SKIP("BPFVM_CORPUS is not a directory");
	libbpf_print_fn_t old = libbpf_set_print(quiet);
	struct dirent *e;
	int objects = 0, bad = 0;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (len < 3 || strcmp(e->d_name + len - 2, ".o"))
			continue;
		/* bpfvm's deliberate extensions, tested on their own: static
		 * programs (libbpf 1.1 refuses them) and .text-only objects. */
		if (strstr(e->d_name, "__sections.o") || strstr(e->d_name, "__plain.o"))
			continue;
		char path[1024];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		objects++;
		bad += compare_with_libbpf(path) != 0;
	}
	closedir(d);
	libbpf_set_print(old);
	printf("corpus: %d objects, %d differ from libbpf\n", objects, bad);
	CHECK(objects > 0);
}
