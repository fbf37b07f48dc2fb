/* Creating an object's maps, loading its programs and running them:
 * subprograms, maps, global data set by the host, static PROG_ARRAY and
 * map-in-map values, and the seed examples (hello world, tail calls). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm/object.h"
#include "bpfvm/testrun.h"
#include "loader/objtest.h"

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

static const struct bpfvm_prog_opts checked = {.safety = BPFVM_SAFETY_CHECKED,
						.engine = BPFVM_ENGINE_INTERP};

static int load_verified_or_checked(struct bpfvm_object_prog *p, int *verified);

static int uses_packet(enum bpfvm_prog_type t)
{
	return t == BPFVM_PROG_XDP || t == BPFVM_PROG_SCHED_CLS || t == BPFVM_PROG_SOCKET_FILTER;
}

/* Load a program (verified, or with run-time checks when the verifier is
 * not built in or `checked_only`) and run it: RAW programs on an 8-byte
 * memory holding ctx_word, packet programs as a test run on a 64-byte
 * frame. Returns r0, or a sentinel on failure. */
static int64_t run_prog(struct bpfvm_object *obj, const char *name, uint32_t ctx_word, int checked_only)
{
	struct bpfvm_object_prog *p = bpfvm_object_find_prog(obj, name);
	if (!p) {
		harness_fail(__FILE__, __LINE__, "no program %s", name);
		return -1000;
	}
	if (!bpfvm_object_prog_handle(p)) {
		int verified;
		int rc = checked_only ? bpfvm_object_prog_load(p, &checked)
				      : load_verified_or_checked(p, &verified);
		if (rc) {
			harness_fail(__FILE__, __LINE__, "load %s: %d %s", name, rc,
				     bpfvm_vm_last_error(bpfvm_object_vm(obj)));
			return -1001;
		}
	}
	struct bpfvm_prog *prog = bpfvm_object_prog_handle(p);
	if (uses_packet(bpfvm_prog_type(prog))) {
		uint8_t frame[64] = {0};
		struct bpfvm_test_run_opts t = {.data_in = frame, .data_size_in = sizeof(frame),
						.engine = BPFVM_ENGINE_INTERP};
		int rc = bpfvm_prog_test_run(prog, &t);
		if (rc) {
			harness_fail(__FILE__, __LINE__, "test run %s: %d %s", name, rc, t.error);
			return -1002;
		}
		return (int32_t)t.retval;
	}
	uint64_t ctx = ctx_word;
	struct bpfvm_run run = {.ctx = &ctx, .ctx_size = sizeof(ctx), .engine = BPFVM_ENGINE_INTERP};
	int rc = bpfvm_prog_run(prog, &run);
	if (rc) {
		harness_fail(__FILE__, __LINE__, "run %s: %d %s", name, rc, run.error);
		return -1002;
	}
	return (int32_t)run.retval;
}

#define load_and_run(obj, name, word) run_prog(obj, name, word, 0)
/* Callbacks and map-in-map lookups: the verifier does not follow them yet. */
#define load_and_run_checked(obj, name, word) run_prog(obj, name, word, 1)

TEST(linked_subprograms_run_in_every_caller)
{
	OPEN(obj, "sections");
	CHECK_EQ(load_and_run(obj, "calc_a", 0), 9 + 4 + 8);
	CHECK_EQ(load_and_run(obj, "calc_b", 0), 16 + 1);
	CHECK_EQ(load_and_run(obj, "static_prog", 0), 7);
	CHECK_EQ(load_and_run_checked(obj, "loop_prog", 0), 5); /* bpf_loop with a callback address */
	close_obj(obj);
}

TEST(object_without_program_sections_runs_its_global_functions)
{
	OPEN(obj, "plain");
	CHECK_EQ(bpfvm_object_prog_count(obj), 1);
	struct bpfvm_object_prog *p = bpfvm_object_find_prog(obj, "checksum");
	CHECK(p != NULL);
	if (!p) {
		close_obj(obj);
		return;
	}
	CHECK_STR(bpfvm_object_prog_section(p), ".text");
	CHECK_EQ(bpfvm_object_prog_func_count(p), 2); /* checksum + sum */
	CHECK_EQ(bpfvm_object_prog_load(p, &checked), 0);
	uint8_t mem[16];
	for (int i = 0; i < 16; i++)
		mem[i] = (uint8_t)(i + 1);
	struct bpfvm_run run = {.ctx = mem, .ctx_size = sizeof(mem), .engine = BPFVM_ENGINE_INTERP};
	CHECK_EQ(bpfvm_prog_run(bpfvm_object_prog_handle(p), &run), 0);
	CHECK_EQ(run.retval, 136);
	close_obj(obj);
}

TEST(legacy_maps_are_created_and_shared_with_the_host)
{
	OPEN(obj, "legacy_maps");
	CHECK_EQ(load_and_run(obj, "count_prog", 0), 1);
	CHECK_EQ(load_and_run(obj, "count_prog", 0), 2);
	struct bpfvm_map *counters = bpfvm_object_map_handle(bpfvm_object_find_map(obj, "counters"));
	struct bpfvm_map *table = bpfvm_object_map_handle(bpfvm_object_find_map(obj, "table"));
	CHECK(counters && table);
	if (!counters || !table) {
		close_obj(obj);
		return;
	}
	uint32_t key = 1, k7 = 7, v32 = 0;
	uint64_t v = 0;
	CHECK_EQ(bpfvm_map_lookup(counters, &key, &v), 0);
	CHECK_EQ(v, 2);
	CHECK_EQ(bpfvm_map_lookup(table, &k7, &v32), 0);
	CHECK_EQ(v32, 70);
	close_obj(obj);
}

TEST(legacy_map_in_map_gets_its_inner_template)
{
	OPEN(obj, "legacy28");
	CHECK_EQ(bpfvm_object_create_maps(obj), 0);
	struct bpfvm_map *outer = bpfvm_object_map_handle(bpfvm_object_find_map(obj, "outer"));
	CHECK(outer && bpfvm_map_def(outer)->inner != NULL);
	CHECK_EQ(load_and_run(obj, "prog", 0), 2); /* outer[0] empty, plain[0] present */
	close_obj(obj);
}

TEST(global_data_is_read_and_set_by_the_host)
{
	OPEN(obj, "globals");
	struct bpfvm_object_map *ro = bpfvm_object_find_map(obj, ".rodata");
	/* Before the maps exist: change the initial value of a const volatile. */
	*(int *)bpfvm_object_map_data(ro, NULL) = 200;
	CHECK_EQ(load_and_run(obj, "use_globals", 0), 5 + 3 + 100);
	int *bss_hits = bpfvm_object_map_data(bpfvm_object_find_map(obj, ".bss"), NULL);
	int *data = bpfvm_object_map_data(bpfvm_object_find_map(obj, ".data"), NULL);
	CHECK(bss_hits && data);
	if (!bss_hits || !data) {
		close_obj(obj);
		return;
	}
	CHECK_EQ(*bss_hits, 1);
	CHECK_EQ(data[0], 8); /* counter after the run */
	/* After creation: the memory is the live map value. */
	data[0] = 150;
	CHECK_EQ(load_and_run(obj, "use_globals", 0), 150 + 4 + 100);
	data[0] = 300; /* over the limit of 200 */
	CHECK_EQ(load_and_run(obj, "use_globals", 0), -1);
	CHECK_EQ(*bss_hits, 3);
	close_obj(obj);
}

TEST(static_prog_array_values_make_tail_calls_work_without_host_code)
{
	OPEN(obj, "btf_maps");
	CHECK_EQ(load_and_run(obj, "entry_prog", 1), 11);
	/* prog_one and prog_two were loaded to fill the slots. */
	CHECK(bpfvm_object_prog_handle(bpfvm_object_find_prog(obj, "prog_one")) != NULL);
	CHECK(bpfvm_object_prog_handle(bpfvm_object_find_prog(obj, "prog_two")) != NULL);
	close_obj(obj);
}

TEST(static_map_in_map_values_hold_the_inner_maps)
{
	OPEN(obj, "btf_maps");
	CHECK_EQ(bpfvm_object_create_maps(obj), 0);
	struct bpfvm_map *inner_b = bpfvm_object_map_handle(bpfvm_object_find_map(obj, "inner_b"));
	struct bpfvm_map *pairs = bpfvm_object_map_handle(bpfvm_object_find_map(obj, "pairs"));
	uint32_t zero = 0, five = 5;
	uint64_t pair[2] = {1, 2};
	CHECK(inner_b && pairs);
	if (!inner_b || !pairs) {
		close_obj(obj);
		return;
	}
	CHECK_EQ(bpfvm_map_update(inner_b, &zero, &five, BPFVM_ANY), 0);
	CHECK_EQ(load_and_run_checked(obj, "read_inner", 0), 5);
	CHECK_EQ(bpfvm_map_update(pairs, &zero, pair, BPFVM_ANY), 0);
	CHECK_EQ(load_and_run_checked(obj, "read_inner", 0), 1005);
	close_obj(obj);
}

TEST(kconfig_externs_read_libbpf_virtual_values)
{
	OPEN(obj, "kconfig");
	struct bpfvm_object_map *kc = bpfvm_object_find_map(obj, ".kconfig");
	CHECK(kc != NULL);
	if (kc)
		CHECK_EQ(bpfvm_object_map_def(kc)->value_size, 4 + 4 + 1); /* libbpf layout: int, u32, bool */
	CHECK_EQ(load_and_run(obj, "read_kconfig", 0), 1 + 2 + 4);
	close_obj(obj);
}

TEST(iproute2_id_slot_sections_fill_the_prog_array)
{
	/* tc loads iproute2 objects: sections such as "1/0" are tc programs. */
	char path[600];
	OBJTEST_COMPILE("iproute2", path);
	struct bpfvm_vm *vm;
	struct bpfvm_object *obj;
	struct bpfvm_object_opts opts = {.default_type = BPFVM_PROG_SCHED_CLS};
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	CHECK_EQ(bpfvm_object_open_file(vm, path, &opts, &obj), 0);
	CHECK_EQ(load_and_run(obj, "entry_prog", 0), 42);
	/* outer[1] = inner_seven, which is also outer's inner template. */
	struct bpfvm_map *outer = bpfvm_object_map_handle(bpfvm_object_find_map(obj, "outer"));
	struct bpfvm_map *seven = bpfvm_object_map_handle(bpfvm_object_find_map(obj, "inner_seven"));
	uint32_t one = 1, id = 0;
	CHECK(outer && seven);
	if (outer && seven) {
		CHECK(bpfvm_map_def(outer)->inner == seven);
		CHECK_EQ(bpfvm_map_lookup(outer, &one, &id), 0);
		CHECK_EQ(id, bpfvm_map_id(seven));
	}
	CHECK_EQ(load_and_run_checked(obj, "read_outer", 0), 1);
	bpfvm_object_close(obj);
	bpfvm_vm_destroy(vm);
}

static void capture(void *user, const char *text, size_t len)
{
	char *buf = user;
	size_t have = strlen(buf);
	if (have + len < 256) {
		memcpy(buf + have, text, len);
		buf[have + len] = 0;
	}
}

static int load_verified_or_checked(struct bpfvm_object_prog *p, int *verified)
{
	struct bpfvm_prog_opts o = {.safety = BPFVM_SAFETY_VERIFIED, .engine = BPFVM_ENGINE_INTERP};
	int rc = bpfvm_object_prog_load(p, &o);
	*verified = rc != -ENOTSUP;
	if (rc == -ENOTSUP)
		rc = bpfvm_object_prog_load(p, &checked);
	return rc;
}

TEST(seed_hello_world_prints_through_trace_printk)
{
	OPEN(obj, "hello");
	char out[256] = "";
	bpfvm_vm_set_print(bpfvm_object_vm(obj), capture, out);
	struct bpfvm_object_prog *p = bpfvm_object_find_prog(obj, "hello");
	CHECK_EQ(bpfvm_object_prog_type(p), BPFVM_PROG_TRACEPOINT);
	int verified;
	int rc = load_verified_or_checked(p, &verified);
	if (rc)
		harness_fail(__FILE__, __LINE__, "load: %s", bpfvm_vm_last_error(bpfvm_object_vm(obj)));
	if (!rc) {
		uint8_t record[64] = {0};
		struct bpfvm_test_run_opts t = {.ctx_in = record, .ctx_size_in = sizeof(record)};
		rc = bpfvm_prog_test_run(bpfvm_object_prog_handle(p), &t);
		if (rc)
			harness_fail(__FILE__, __LINE__, "run: %s", t.error);
		CHECK_EQ(t.retval, 0);
		CHECK_CONTAINS(out, "Hello, World!");
	}
	close_obj(obj);
}

TEST(seed_tail_call_passes_a_value_through_a_percpu_array)
{
	OPEN(obj, "tailcall");
	struct bpfvm_object_prog *first = bpfvm_object_find_prog(obj, "first");
	int verified;
	int rc = load_verified_or_checked(first, &verified);
	if (rc)
		harness_fail(__FILE__, __LINE__, "load: %s", bpfvm_vm_last_error(bpfvm_object_vm(obj)));
	if (!rc) {
		uint8_t pkt[64] = {0};
		struct bpfvm_test_run_opts t = {.data_in = pkt, .data_size_in = sizeof(pkt)};
		rc = bpfvm_prog_test_run(bpfvm_object_prog_handle(first), &t);
		if (rc)
			harness_fail(__FILE__, __LINE__, "run: %s", t.error);
		CHECK_EQ(t.retval, 2); /* XDP_PASS: second saw 0x1234 */
		uint64_t percpu[BPFVM_NR_CPUS];
		uint32_t zero = 0;
		CHECK_EQ(bpfvm_map_lookup(bpfvm_object_map_handle(bpfvm_object_find_map(obj, "scratch")),
					  &zero, percpu), 0);
		CHECK_EQ(percpu[0], 0x1234);
	}
	close_obj(obj);
}

TEST(seed_tail_call_passes_a_pointer_through_a_percpu_array)
{
	OPEN(obj, "tailcall_ptr");
	int verified;
	int rc = load_verified_or_checked(bpfvm_object_find_prog(obj, "saver"), &verified);
	if (rc)
		harness_fail(__FILE__, __LINE__, "load: %s", bpfvm_vm_last_error(bpfvm_object_vm(obj)));
	if (!rc) {
		uint8_t pkt[64] = {0};
		struct bpfvm_test_run_opts t = {.data_in = pkt, .data_size_in = sizeof(pkt)};
		rc = bpfvm_prog_test_run(bpfvm_object_prog_handle(bpfvm_object_find_prog(obj, "saver")), &t);
		if (rc)
			harness_fail(__FILE__, __LINE__, "run: %s", t.error);
		CHECK_EQ(t.retval, 2); /* XDP_PASS: reader found its own context */
	}
	close_obj(obj);
}

TEST(seed_tail_call_through_r9_is_rejected_in_the_callee)
{
	OPEN(obj, "tailcall_r9");
	struct bpfvm_object_prog *first = bpfvm_object_find_prog(obj, "first");
	struct bpfvm_prog_opts o = {.safety = BPFVM_SAFETY_VERIFIED};
	int rc = bpfvm_object_prog_load(first, &o);
	const char *msg = bpfvm_vm_last_error(bpfvm_object_vm(obj));
	if (rc == -ENOTSUP && strstr(msg, "verifier is not built")) {
		close_obj(obj);
		SKIP("the verifier is not built into this library yet");
	}
	CHECK_EQ(rc, -EACCES);
	CHECK_CONTAINS(msg, "R9 !read_ok");
	CHECK_CONTAINS(msg, "prog 'second'");
	/* The caller itself verified; the callee did not. */
	CHECK(bpfvm_object_prog_handle(first) != NULL);
	CHECK(bpfvm_object_prog_handle(bpfvm_object_find_prog(obj, "second")) == NULL);
	close_obj(obj);
}

TEST(whole_object_loads_and_runs_on_the_jit_too)
{
	OPEN(obj, "btf_maps");
	struct bpfvm_prog_opts o = {.safety = BPFVM_SAFETY_CHECKED, .engine = BPFVM_ENGINE_DEFAULT};
	int rc = bpfvm_object_load(obj, &o);
	if (rc)
		harness_fail(__FILE__, __LINE__, "load: %s", bpfvm_vm_last_error(bpfvm_object_vm(obj)));
	for (size_t i = 0; !rc && i < bpfvm_object_prog_count(obj); i++)
		CHECK(bpfvm_object_prog_handle(bpfvm_object_prog_at(obj, i)) != NULL);
	struct bpfvm_prog *entry = rc ? NULL : bpfvm_object_prog_handle(bpfvm_object_find_prog(obj, "entry_prog"));
	if (entry) {
		uint8_t frame[64] = {0};
		struct bpfvm_test_run_opts t = {.data_in = frame, .data_size_in = sizeof(frame),
						.engine = BPFVM_ENGINE_JIT};
		rc = bpfvm_prog_test_run(entry, &t);
		if (rc == -ENOTSUP) {
			close_obj(obj);
			SKIP("no JIT on this machine");
		}
		CHECK_EQ(rc, 0);
		CHECK_EQ(t.retval, 11); /* tail call into prog_one through the static slot */
	}
	close_obj(obj);
}
