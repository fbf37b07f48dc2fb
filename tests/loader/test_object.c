/* Opening clang-compiled objects: programs per section, types from section
 * names, linking of subprograms, relocations, maps of every kind. */
#include <errno.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include "bpfvm/object.h"
#include "loader/objtest.h"

/* Each test opens its object on a VM of its own; close_obj frees both. */
static struct bpfvm_object *open_prog(const char *name)
{
	char path[600];
	struct bpfvm_object *obj = NULL;
	struct bpfvm_vm *vm;
	if (!objtest_compile(name, path, sizeof(path)))
		return NULL;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	int rc = bpfvm_object_open_file(vm, path, NULL, &obj);
	if (rc) {
		harness_fail(__FILE__, __LINE__, "open %s: %d %s", name, rc, bpfvm_vm_last_error(vm));
		bpfvm_vm_destroy(vm);
	}
	return obj;
}

static void close_obj(struct bpfvm_object *obj)
{
	struct bpfvm_vm *vm = bpfvm_object_vm(obj);
	bpfvm_object_close(obj);
	bpfvm_vm_destroy(vm);
}

#define OPEN(var, name)                                                         \
	if (system("command -v clang >/dev/null 2>&1") != 0)                    \
		SKIP("clang is not installed");                                 \
	struct bpfvm_object *var = open_prog(name);                             \
	if (!var)                                                               \
		return

static const struct bpfvm_insn *prog_insns(struct bpfvm_object *obj, const char *name, size_t *n)
{
	struct bpfvm_object_prog *p = bpfvm_object_find_prog(obj, name);
	if (!p) {
		harness_fail(__FILE__, __LINE__, "no program %s", name);
		*n = 0;
		return NULL;
	}
	return bpfvm_object_prog_insns(p, n);
}

TEST(every_program_section_gives_programs_with_libbpf_types)
{
	OPEN(obj, "sections");
	static const struct {
		const char *name, *section;
		enum bpfvm_prog_type type;
	} want[] = {
		{"xdp_pass", "xdp", BPFVM_PROG_XDP},
		{"xdp_drop", "xdp", BPFVM_PROG_XDP},
		{"tc_prog", "tc", BPFVM_PROG_SCHED_CLS},
		{"cls_prog", "classifier", BPFVM_PROG_SCHED_CLS},
		{"sock_prog", "socket", BPFVM_PROG_SOCKET_FILTER},
		{"kp", "kprobe/do_sys_open", BPFVM_PROG_KPROBE},
		{"krp", "kretprobe/do_sys_open", BPFVM_PROG_KPROBE},
		{"tp", "tracepoint/syscalls/sys_enter_execve", BPFVM_PROG_TRACEPOINT},
		{"rtp", "raw_tracepoint/sched_switch", BPFVM_PROG_RAW_TRACEPOINT},
		{"up", "uprobe/bin:func", BPFVM_PROG_KPROBE},
		{"iproute2_slot", "2/15", BPFVM_PROG_RAW},
		{"from_netdev", "from-netdev", BPFVM_PROG_RAW},
		{"static_prog", "custom", BPFVM_PROG_RAW},
		{"calc_a", "calc", BPFVM_PROG_RAW},
		{"cube", "calc", BPFVM_PROG_RAW},
		{"calc_b", "calc", BPFVM_PROG_RAW},
		{"loop_prog", "loop", BPFVM_PROG_RAW},
	};
	CHECK_EQ(bpfvm_object_prog_count(obj), sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct bpfvm_object_prog *p = bpfvm_object_find_prog(obj, want[i].name);
		CHECK(p != NULL);
		if (!p)
			continue;
		CHECK_STR(bpfvm_object_prog_section(p), want[i].section);
		CHECK_EQ(bpfvm_object_prog_type(p), want[i].type);
	}
	/* .text functions are subprograms, not programs. */
	CHECK(bpfvm_object_find_prog(obj, "add_one") == NULL);
	CHECK(bpfvm_object_find_prog_by_section(obj, "calc") == bpfvm_object_find_prog(obj, "calc_a"));
	CHECK_STR(bpfvm_object_license(obj), "GPL");
	CHECK_EQ(bpfvm_object_kern_version(obj), 0x050a00);
	close_obj(obj);
}

TEST(section_types_agree_with_libbpf)
{
	static const char *const names[] = {
		"socket", "kprobe/x", "kretprobe/x", "uprobe/a:b", "uretprobe/a:b", "tc", "classifier",
		"action", "tracepoint/a/b", "tp/a/b", "raw_tracepoint/x", "raw_tp/x", "raw_tp.w/x",
		"tp_btf/x", "fentry/x", "fexit/x", "fmod_ret/x", "freplace/x", "lsm/x", "iter/x",
		"syscall", "xdp", "xdp.frags", "xdp/devmap", "xdp/cpumap", "perf_event", "lwt_in",
		"lwt_out", "lwt_xmit", "lwt_seg6local", "sockops", "sk_skb", "sk_skb/stream_parser",
		"sk_msg", "lirc_mode2", "flow_dissector", "cgroup_skb/ingress", "cgroup_skb/egress",
		"cgroup/skb", "cgroup/sock", "cgroup/post_bind4", "cgroup/bind4", "cgroup/connect6",
		"cgroup/sendmsg4", "cgroup/recvmsg6", "cgroup/sysctl", "cgroup/getsockopt",
		"cgroup/dev", "sk_lookup", "sk_reuseport", "ksyscall/x", "usdt/a:b:c",
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		enum bpf_prog_type lt;
		enum bpf_attach_type at;
		enum bpfvm_prog_type mine;
		if (libbpf_prog_type_by_name(names[i], &lt, &at) != 0)
			continue; /* this libbpf does not know it */
		CHECK_EQ(bpfvm_object_type_from_section(names[i], &mine), 0);
		if ((uint32_t)mine != (uint32_t)lt)
			harness_fail(__FILE__, __LINE__, "section %s: bpfvm type %d, libbpf %d", names[i],
				     mine, lt);
	}
	enum bpfvm_prog_type t;
	CHECK_EQ(bpfvm_object_type_from_section("2/15", &t), -ENOENT);
	CHECK_EQ(bpfvm_object_type_from_section("from-netdev", &t), -ENOENT);
	/* libbpf < 1.0 prefixes. */
	CHECK_EQ(bpfvm_object_type_from_section("xdp_prog", &t), 0);
	CHECK_EQ(t, BPFVM_PROG_XDP);
	CHECK_EQ(bpfvm_object_type_from_section("socket1", &t), 0);
	CHECK_EQ(t, BPFVM_PROG_SOCKET_FILTER);
	CHECK_STR(bpfvm_object_type_name(BPFVM_PROG_XDP), "xdp");
}

TEST(default_type_for_unknown_sections_and_override)
{
	char path[600];
	OBJTEST_COMPILE("sections", path);
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	struct bpfvm_object_opts opts = {.default_type = BPFVM_PROG_SCHED_CLS};
	struct bpfvm_object *obj;
	CHECK_EQ(bpfvm_object_open_file(vm, path, &opts, &obj), 0);
	struct bpfvm_object_prog *p = bpfvm_object_find_prog(obj, "from_netdev");
	CHECK_EQ(bpfvm_object_prog_type(p), BPFVM_PROG_SCHED_CLS);
	CHECK_EQ(bpfvm_object_prog_type(bpfvm_object_find_prog(obj, "xdp_pass")), BPFVM_PROG_XDP);
	CHECK_EQ(bpfvm_object_prog_set_type(p, BPFVM_PROG_XDP), 0);
	CHECK_EQ(bpfvm_object_prog_type(p), BPFVM_PROG_XDP);
	bpfvm_object_close(obj);
	bpfvm_vm_destroy(vm);
}

/* Index of the first CALL_LOCAL at or after pc, and its target. */
static long next_call(const struct bpfvm_insn *insns, size_t n, size_t pc, size_t *target)
{
	for (; pc < n; pc++) {
		const struct bpfvm_opinfo *info = bpfvm_isa_lookup(&insns[pc]);
		if (info && info->kind == BPFVM_KIND_CALL && info->op == BPFVM_CALL_LOCAL) {
			*target = (size_t)bpfvm_isa_jump_target(info, &insns[pc], pc);
			return (long)pc;
		}
	}
	return -1;
}

TEST(subprograms_are_linked_into_each_caller)
{
	OPEN(obj, "sections");
	size_t n, target;
	/* calc_a (12 insns) calls square and twice (.text) and cube (same
	 * section, no relocation); twice calls add_one. */
	struct bpfvm_object_prog *p = bpfvm_object_find_prog(obj, "calc_a");
	const struct bpfvm_insn *in = bpfvm_object_prog_insns(p, &n);
	CHECK_EQ(bpfvm_object_prog_func_count(p), 5);
	size_t start;
	CHECK_STR(bpfvm_object_prog_func(p, 0, &start), "calc_a");
	CHECK_EQ(start, 0);
	const char *names[5] = {0};
	size_t starts[5] = {0};
	for (size_t i = 0; i < 5; i++)
		names[i] = bpfvm_object_prog_func(p, i, &starts[i]);
	/* Each call lands on the start of the function of that name. */
	long pc = next_call(in, n, 0, &target);
	CHECK(pc >= 0);
	int landed = 0;
	for (; pc >= 0; pc = next_call(in, n, (size_t)pc + 1, &target)) {
		for (size_t i = 1; i < 5; i++)
			landed += target == starts[i];
	}
	CHECK_EQ(landed, 4); /* square, twice, cube, add_one (from twice) */
	CHECK_EQ(n, 12 + 3 + 3 + 4 + 3);
	int seen_cube = 0, seen_add = 0;
	for (size_t i = 1; i < 5; i++) {
		seen_cube |= !strcmp(names[i], "cube");
		seen_add |= !strcmp(names[i], "add_one");
	}
	CHECK(seen_cube && seen_add);
	/* calc_b: its own copy of square and cube. */
	in = prog_insns(obj, "calc_b", &n);
	CHECK_EQ(n, 7 + 3 + 4);
	/* xdp_pass calls nothing. */
	prog_insns(obj, "xdp_pass", &n);
	CHECK_EQ(n, 2);
	close_obj(obj);
}

TEST(function_address_becomes_ld_imm64_src_4)
{
	OPEN(obj, "sections");
	size_t n;
	const struct bpfvm_insn *in = prog_insns(obj, "loop_prog", &n);
	int found = 0;
	for (size_t pc = 0; pc + 1 < n; pc++) {
		const struct bpfvm_opinfo *info = bpfvm_isa_lookup(&in[pc]);
		if (info && info->kind == BPFVM_KIND_LDDW && in[pc].src == BPFVM_LDDW_FUNC) {
			size_t t = (size_t)bpfvm_isa_jump_target(info, &in[pc], pc);
			size_t start;
			CHECK_STR(bpfvm_object_prog_func(bpfvm_object_find_prog(obj, "loop_prog"), 1, &start),
				  "count_cb");
			CHECK_EQ(t, start);
			found = 1;
		}
	}
	CHECK(found);
	CHECK_EQ(bpfvm_isa_validate(in, n, NULL, 0), 0);
	close_obj(obj);
}

static struct bpfvm_object_map *map_named(struct bpfvm_object *obj, const char *name)
{
	struct bpfvm_object_map *m = bpfvm_object_find_map(obj, name);
	if (!m)
		harness_fail(__FILE__, __LINE__, "no map %s", name);
	return m;
}

static void check_def(struct bpfvm_object_map *m, uint32_t type, uint32_t k, uint32_t v, uint32_t max,
		      uint32_t flags)
{
	if (!m)
		return;
	const struct bpfvm_map_def *d = bpfvm_object_map_def(m);
	if (d->type != type || d->key_size != k || d->value_size != v || d->max_entries != max ||
	    d->flags != flags)
		harness_fail(__FILE__, __LINE__, "map %s: {%u %u %u %u %#x}, want {%u %u %u %u %#x}",
			     bpfvm_object_map_name(m), d->type, d->key_size, d->value_size,
			     d->max_entries, d->flags, type, k, v, max, flags);
}

/* Map index each LD_IMM64 src 1 of a program refers to, by map name. */
static int prog_refers_to_map(struct bpfvm_object *obj, const char *prog, const char *map, int src)
{
	size_t n;
	const struct bpfvm_insn *in = prog_insns(obj, prog, &n);
	for (size_t pc = 0; pc + 1 < n; pc++) {
		const struct bpfvm_opinfo *info = bpfvm_isa_lookup(&in[pc]);
		if (!info || info->kind != BPFVM_KIND_LDDW || in[pc].src != src)
			continue;
		struct bpfvm_object_map *m = bpfvm_object_map_at(obj, (size_t)in[pc].imm);
		if (m && !strcmp(bpfvm_object_map_name(m), map))
			return 1;
		pc++;
	}
	return 0;
}

TEST(legacy_maps_20_byte_records_and_maps_name_sections)
{
	OPEN(obj, "legacy_maps");
	CHECK_EQ(bpfvm_object_map_count(obj), 3);
	check_def(map_named(obj, "counters"), BPF_MAP_TYPE_ARRAY, 4, 8, 4, 0);
	check_def(map_named(obj, "table"), BPF_MAP_TYPE_HASH, 4, 4, 16, 0);
	check_def(map_named(obj, "other"), BPF_MAP_TYPE_ARRAY, 4, 4, 2, 0);
	CHECK_STR(bpfvm_object_map_section(map_named(obj, "other")), "maps/other");
	CHECK(prog_refers_to_map(obj, "count_prog", "counters", 1));
	CHECK(prog_refers_to_map(obj, "count_prog", "table", 1));
	CHECK(prog_refers_to_map(obj, "count_prog", "other", 1));
	close_obj(obj);
}

TEST(legacy_maps_28_byte_records_with_inner_map_idx)
{
	OPEN(obj, "legacy28");
	CHECK_EQ(bpfvm_object_map_count(obj), 3);
	check_def(map_named(obj, "inner_tmpl"), BPF_MAP_TYPE_ARRAY, 4, 4, 1, 0);
	check_def(map_named(obj, "outer"), BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, 4, 2, 0);
	check_def(map_named(obj, "plain"), BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 3, 0);
	CHECK_EQ(bpfvm_object_prog_type(bpfvm_object_find_prog(obj, "prog")), BPFVM_PROG_SOCKET_FILTER);
	close_obj(obj);
}

TEST(iproute2_bpf_elf_map_and_id_slot_sections)
{
	OPEN(obj, "iproute2");
	CHECK_EQ(bpfvm_object_map_count(obj), 4);
	struct bpfvm_object_map *outer = map_named(obj, "outer");
	CHECK_EQ(bpfvm_object_map_init_count(outer), 1);
	uint32_t islot = 9;
	CHECK_STR(bpfvm_object_map_init(outer, 0, &islot), "inner_seven");
	CHECK_EQ(islot, 1);
	struct bpfvm_object_map *jt = map_named(obj, "jmp_table");
	check_def(jt, BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 2, 0);
	CHECK_EQ(bpfvm_object_map_init_count(jt), 1);
	uint32_t slot = 9;
	CHECK_STR(bpfvm_object_map_init(jt, 0, &slot), "tail_zero");
	CHECK_EQ(slot, 0);
	close_obj(obj);
}

TEST(btf_defined_maps_with_types_flags_inner_maps_and_static_values)
{
	OPEN(obj, "btf_maps");
	check_def(map_named(obj, "pairs"), BPF_MAP_TYPE_HASH, 4, 16, 64, BPF_F_NO_PREALLOC);
	CHECK_STR(bpfvm_object_map_key_type(map_named(obj, "pairs")), "__u32");
	CHECK_STR(bpfvm_object_map_value_type(map_named(obj, "pairs")), "struct pair");
	CHECK(bpfvm_object_map_key_type(map_named(obj, "sized")) == NULL); /* key_size only */
	check_def(map_named(obj, "sized"), BPF_MAP_TYPE_ARRAY, 4, 12, 3, 0);
	check_def(map_named(obj, "inner_a"), BPF_MAP_TYPE_ARRAY, 4, 4, 1, 0);
	check_def(map_named(obj, "outer"), BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, 4, 4, 0);
	check_def(map_named(obj, "outer.inner"), BPF_MAP_TYPE_ARRAY, 4, 4, 1, 0);
	check_def(map_named(obj, "jumps"), BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 3, 0);
	struct bpfvm_object_map *outer = map_named(obj, "outer"), *jumps = map_named(obj, "jumps");
	uint32_t slot;
	CHECK_EQ(bpfvm_object_map_init_count(outer), 2);
	CHECK_STR(bpfvm_object_map_init(outer, 0, &slot), "inner_a");
	CHECK_EQ(slot, 0);
	CHECK_STR(bpfvm_object_map_init(outer, 1, &slot), "inner_b");
	CHECK_EQ(slot, 2);
	CHECK_EQ(bpfvm_object_map_init_count(jumps), 2);
	CHECK_STR(bpfvm_object_map_init(jumps, 0, &slot), "prog_one");
	CHECK_EQ(slot, 1);
	CHECK_STR(bpfvm_object_map_init(jumps, 1, &slot), "prog_two");
	CHECK_EQ(slot, 2);
	CHECK(prog_refers_to_map(obj, "entry_prog", "jumps", 1));
	CHECK(prog_refers_to_map(obj, "read_inner", "outer", 1));
	CHECK(prog_refers_to_map(obj, "read_inner", "pairs", 1));
	close_obj(obj);
}

TEST(global_data_sections_become_array_maps_with_value_relocations)
{
	OPEN(obj, "globals");
	struct bpfvm_object_map *data = map_named(obj, ".data"), *ro = map_named(obj, ".rodata");
	struct bpfvm_object_map *bss = map_named(obj, ".bss"), *extra = map_named(obj, ".data.extra");
	check_def(data, BPF_MAP_TYPE_ARRAY, 4, 8, 1, 0);
	check_def(ro, BPF_MAP_TYPE_ARRAY, 4, 4, 1, BPF_F_RDONLY_PROG);
	check_def(bss, BPF_MAP_TYPE_ARRAY, 4, 8, 1, 0);
	check_def(extra, BPF_MAP_TYPE_ARRAY, 4, 4, 1, 0);
	size_t size;
	int *d = bpfvm_object_map_data(data, &size);
	CHECK_EQ(size, 8);
	CHECK(d && d[0] == 5 && d[1] == 3); /* counter, file_static */
	CHECK_EQ(*(int *)bpfvm_object_map_data(ro, NULL), 10);
	CHECK(prog_refers_to_map(obj, "use_globals", ".data", 2));
	CHECK(prog_refers_to_map(obj, "use_globals", ".rodata", 2));
	CHECK(prog_refers_to_map(obj, "use_globals", ".bss", 2));
	CHECK(prog_refers_to_map(obj, "use_globals", ".data.extra", 2));
	/* file_static goes through the .data section symbol: offset 4. */
	size_t n;
	const struct bpfvm_insn *in = prog_insns(obj, "use_globals", &n);
	int off4 = 0;
	for (size_t pc = 0; pc + 1 < n; pc++)
		if (in[pc].code == 0x18 && in[pc].src == BPFVM_LDDW_MAP_VALUE && in[pc + 1].imm == 4)
			off4 = 1;
	CHECK(off4);
	close_obj(obj);
}

TEST(line_info_names_the_c_source_line)
{
	OPEN(obj, "globals");
	struct bpfvm_object_prog *p = bpfvm_object_find_prog(obj, "use_globals");
	const char *const *li = bpfvm_object_prog_line_info(p);
	CHECK(li != NULL);
	size_t n;
	bpfvm_object_prog_insns(p, &n);
	int found = 0;
	for (size_t i = 0; li && i < n; i++)
		if (li[i] && strstr(li[i], "hits++;") && strstr(li[i], "@ globals.c:"))
			found = 1;
	CHECK(found);
	const char *file, *text;
	uint32_t line, col;
	CHECK_EQ(bpfvm_object_prog_source(p, 0, &file, &line, &col, &text), 0);
	CHECK_CONTAINS(file, "globals.c");
	CHECK(line > 0);
	close_obj(obj);
}

TEST(open_from_memory_equals_open_from_file)
{
	char path[600];
	OBJTEST_COMPILE("btf_maps", path);
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	FILE *f = fopen(path, "rb");
	CHECK(f != NULL);
	if (!f) {
		bpfvm_vm_destroy(vm);
		return;
	}
	static char buf[1 << 20];
	size_t len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	struct bpfvm_object *a, *b;
	CHECK_EQ(bpfvm_object_open_mem(vm, buf, len, NULL, &a), 0);
	CHECK_EQ(bpfvm_object_open_file(vm, path, NULL, &b), 0);
	CHECK_EQ(bpfvm_object_prog_count(a), bpfvm_object_prog_count(b));
	CHECK_EQ(bpfvm_object_map_count(a), bpfvm_object_map_count(b));
	size_t na, nb;
	const struct bpfvm_insn *ia = prog_insns(a, "read_inner", &na);
	const struct bpfvm_insn *ib = prog_insns(b, "read_inner", &nb);
	CHECK_EQ(na, nb);
	CHECK(ia && ib && memcmp(ia, ib, na * sizeof(*ia)) == 0);
	CHECK_STR(bpfvm_object_name(a), "object");
	CHECK_STR(bpfvm_object_name(b), path);
	bpfvm_object_close(a);
	bpfvm_object_close(b);
	bpfvm_vm_destroy(vm);
}

/* Rewrite an object's REL sections as RELA ones, as other toolchains write
 * them: the addend moves out of the instruction (the offset of a global
 * variable, the target of a call relative to its symbol). */
static int rel_to_rela(const char *in_path, const char *out_path)
{
	elf_version(EV_CURRENT);
	int in = open(in_path, O_RDONLY), out = open(out_path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	Elf *src = in >= 0 ? elf_begin(in, ELF_C_READ, NULL) : NULL;
	Elf *dst = out >= 0 ? elf_begin(out, ELF_C_WRITE, NULL) : NULL;
	GElf_Ehdr eh;
	size_t shstrndx, nbufs = 0;
	void *bufs[128];
	int ok = src && dst && gelf_getehdr(src, &eh) && gelf_newehdr(dst, ELFCLASS64) &&
		 !elf_getshdrstrndx(src, &shstrndx);
	if (ok)
		ok = gelf_update_ehdr(dst, &eh) != 0;
	for (Elf_Scn *scn = NULL; ok && (scn = elf_nextscn(src, scn));) {
		GElf_Shdr sh;
		gelf_getshdr(scn, &sh);
		Elf_Data *d = elf_getdata(scn, NULL);
		Elf_Scn *ns = elf_newscn(dst);
		Elf_Data *nd = elf_newdata(ns);
		*nd = *d;
		if (sh.sh_type == SHT_REL) {
			size_t n = sh.sh_size / sh.sh_entsize;
			Elf64_Rela *rela = calloc(n ? n : 1, sizeof(*rela));
			if (!rela || nbufs == 128) {
				free(rela);
				ok = 0;
				break;
			}
			bufs[nbufs++] = rela;
			Elf_Scn *tscn = elf_getscn(src, sh.sh_info);
			GElf_Shdr tsh;
			gelf_getshdr(tscn, &tsh);
			Elf_Data *target = elf_getdata(tscn, NULL);
			int code = (tsh.sh_flags & SHF_EXECINSTR) != 0;
			for (size_t i = 0; i < n; i++) {
				GElf_Rel r;
				gelf_getrel(d, (int)i, &r);
				rela[i].r_offset = r.r_offset;
				rela[i].r_info = r.r_info;
				/* LD_IMM64 keeps its offset as addend; a call's
				 * target is symbol + addend. */
				if (code && r.r_offset + 8 <= target->d_size) {
					struct bpfvm_insn insn;
					memcpy(&insn, (char *)target->d_buf + r.r_offset, sizeof(insn));
					const struct bpfvm_opinfo *info = bpfvm_isa_lookup(&insn);
					if (info && info->kind == BPFVM_KIND_LDDW)
						rela[i].r_addend = insn.imm;
					else if (info && info->kind == BPFVM_KIND_CALL)
						rela[i].r_addend = ((int64_t)insn.imm + 1) * 8;
					/* The instruction no longer holds it (the
					 * copy shares this buffer). */
					insn.imm = 0;
					memcpy((char *)target->d_buf + r.r_offset, &insn, sizeof(insn));
				}
			}
			nd->d_buf = rela;
			nd->d_size = n * sizeof(*rela);
			nd->d_type = ELF_T_RELA;
			sh.sh_type = SHT_RELA;
			sh.sh_entsize = sizeof(Elf64_Rela);
			sh.sh_size = nd->d_size;
		}
		gelf_update_shdr(ns, &sh);
	}
	int rc = ok && elf_update(dst, ELF_C_WRITE) >= 0 ? 0 : -1;
	elf_end(dst);
	elf_end(src);
	for (size_t i = 0; i < nbufs; i++)
		free(bufs[i]);
	close(in);
	close(out);
	return rc;
}

TEST(rela_relocation_sections_link_like_rel_ones)
{
	char path[600], rela_path[640];
	OBJTEST_COMPILE("globals", path);
	snprintf(rela_path, sizeof(rela_path), "%s.rela.o", path);
	CHECK_EQ(rel_to_rela(path, rela_path), 0);
	struct bpfvm_vm *vm;
	struct bpfvm_object *rel, *rela;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	CHECK_EQ(bpfvm_object_open_file(vm, path, NULL, &rel), 0);
	int rc = bpfvm_object_open_file(vm, rela_path, NULL, &rela);
	if (rc)
		harness_fail(__FILE__, __LINE__, "open rela: %s", bpfvm_vm_last_error(vm));
	else {
		size_t na, nb;
		const struct bpfvm_insn *a = prog_insns(rel, "use_globals", &na);
		const struct bpfvm_insn *b = prog_insns(rela, "use_globals", &nb);
		CHECK_EQ(na, nb);
		/* Same maps and offsets; only the instructions' own imm
		 * (REL's addend) differs before relocation, not after. */
		CHECK(a && b && na == nb && memcmp(a, b, na * sizeof(*a)) == 0);
		bpfvm_object_close(rela);
	}
	bpfvm_object_close(rel);
	bpfvm_vm_destroy(vm);
}

TEST(rela_calls_link_like_rel_ones)
{
	char path[600], rela_path[640];
	OBJTEST_COMPILE("sections", path);
	snprintf(rela_path, sizeof(rela_path), "%s.rela.o", path);
	CHECK_EQ(rel_to_rela(path, rela_path), 0);
	struct bpfvm_vm *vm;
	struct bpfvm_object *rel, *rela;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	CHECK_EQ(bpfvm_object_open_file(vm, path, NULL, &rel), 0);
	int rc = bpfvm_object_open_file(vm, rela_path, NULL, &rela);
	if (rc)
		harness_fail(__FILE__, __LINE__, "open rela: %s", bpfvm_vm_last_error(vm));
	else {
		static const char *const progs[] = {"calc_a", "calc_b", "xdp_drop", "loop_prog"};
		for (size_t i = 0; i < 4; i++) {
			size_t na, nb;
			const struct bpfvm_insn *a = prog_insns(rel, progs[i], &na);
			const struct bpfvm_insn *b = prog_insns(rela, progs[i], &nb);
			CHECK(a && b && na == nb && memcmp(a, b, na * sizeof(*a)) == 0);
		}
		bpfvm_object_close(rela);
	}
	bpfvm_object_close(rel);
	bpfvm_vm_destroy(vm);
}
