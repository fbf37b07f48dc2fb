/* bpf_map_lookup_elem on ARRAY / PERCPU_ARRAY maps, which the JIT inlines
 * in verified programs when r1 is provably one map: the inlined code must
 * give the interpreter's results (in range, out of range, per-CPU slots,
 * values the program writes and the host reads back), leave no call in
 * the machine code of the call instruction, and keep the call where r1 is
 * not provably one map or the map is not an array. Lookups on other known
 * maps call the map's lookup directly: same results, the run's CPU passed. */
#include "jit_test_util.h"
#include "jit/jit.h"

#define NVAL 10

/* key = *(u32 *)ctx; v = lookup(map[0], &key);
 * if (!v) return 0xdead; v->count += 1; return v->count * 1000 + v->tag
 * (value layout: u64 count, u64 tag, u64 pad: 24 bytes, a stride that is
 * not a power of two). Returns the slot of the call. */
static size_t build_lookup_prog(struct prog_builder *pb)
{
	pb->n = 0;
	PB(pb, JGE_IMM, 2, 0, 2, 4); /* ctx of 4 bytes at least */
	PB(pb, MOV64_IMM, 0, 0, 0, 0);
	PB(pb, EXIT, 0, 0, 0, 0);
	PB(pb, LDX_W, 2, 1, 0, 0);
	PB(pb, STX_W, 10, 2, -4, 0);
	pb_add(pb, BPFVM_OP_LDDW_MAP_FD, 1, 1, 0, 0, 0);
	PB(pb, MOV64_REG, 2, 10, 0, 0);
	PB(pb, ADD64_IMM, 2, 0, 0, -4);
	size_t call = PB(pb, CALL_HELPER, 0, 0, 0, 1);
	PB(pb, JNE_IMM, 0, 0, 2, 0);
	PB(pb, MOV64_IMM, 0, 0, 0, 0xdead);
	PB(pb, EXIT, 0, 0, 0, 0);
	PB(pb, LDX_DW, 1, 0, 0, 0);
	PB(pb, ADD64_IMM, 1, 0, 0, 1);
	PB(pb, STX_DW, 0, 1, 0, 0);
	PB(pb, LDX_DW, 2, 0, 8, 0);
	PB(pb, MUL64_IMM, 1, 0, 0, 1000);
	PB(pb, ADD64_REG, 1, 2, 0, 0);
	PB(pb, MOV64_REG, 0, 1, 0, 0);
	PB(pb, EXIT, 0, 0, 0, 0);
	return call;
}

static struct bpfvm_map *new_map(struct bpfvm_vm *vm, enum bpfvm_map_type type)
{
	struct bpfvm_map_def def = {.type = type, .key_size = 4, .value_size = 24,
				    .max_entries = NVAL, .name = "vals"};
	struct bpfvm_map *map = NULL;
	if (bpfvm_map_create(vm, &def, &map))
		return NULL;
	return map;
}

static struct bpfvm_prog *load_with(struct bpfvm_vm *vm, const struct prog_builder *pb,
				    struct bpfvm_map *map)
{
	struct bpfvm_prog_opts opts = {.maps = &map, .nmaps = 1};
	struct bpfvm_prog *prog = NULL;
	if (bpfvm_prog_load(vm, pb->insns, pb->n, &opts, &prog)) {
		fprintf(stderr, "load: %s\n", bpfvm_vm_last_error(vm));
		return NULL;
	}
	return prog;
}

static uint64_t run_key(struct bpfvm_prog *prog, enum bpfvm_engine engine, uint32_t key,
			uint32_t cpu, int *rc)
{
	struct bpfvm_run run = {.ctx = &key, .ctx_size = sizeof(key), .engine = engine, .cpu = cpu};
	*rc = bpfvm_prog_run(prog, &run);
	return run.retval;
}

/* Is there a call (e8 rel32, or ff /2 through a register) in the machine
 * code of instruction pc? Decoding byte patterns is enough here: the
 * inlined code holds no ff byte but in its movabs immediate, which is
 * checked against the call r11 (41 ff d3) the helper call uses. */
static int insn_code_calls(const struct bpfvm_prog *prog, size_t pc)
{
	size_t size;
	const uint32_t *addrs;
	const uint8_t *image = bpfvm__jit_image(prog, &size, &addrs);
	for (uint32_t i = addrs[pc]; i + 2 < addrs[pc + 1]; i++)
		if (image[i] == 0x41 && image[i + 1] == 0xff && image[i + 2] == 0xd3)
			return 1;
	return 0;
}

TEST(inlined_array_lookup_matches_the_interpreter_and_writes_reach_the_host)
{
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	struct bpfvm_map *map = new_map(vm, BPFVM_MAP_ARRAY);
	CHECK(map != NULL);
	if (!map)
		return;
	for (uint32_t k = 0; k < NVAL; k++) {
		uint64_t v[3] = {k * 10, 100 + k, 0};
		CHECK_EQ(bpfvm_map_update(map, &k, v, 0), 0);
	}
	struct prog_builder pb;
	size_t call = build_lookup_prog(&pb);
	struct bpfvm_prog *prog = load_with(vm, &pb, map);
	CHECK(prog != NULL);
	if (!prog)
		return;
	CHECK(!insn_code_calls(prog, call));
	static const uint32_t keys[] = {0, 1, 5, NVAL - 1, NVAL, NVAL + 1, 0x7fffffff, 0x80000000u,
					0xffffffffu};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		int rc_i, rc_j;
		uint64_t ri = run_key(prog, BPFVM_ENGINE_INTERP, keys[i], 0, &rc_i);
		uint64_t rj = run_key(prog, BPFVM_ENGINE_JIT, keys[i], 0, &rc_j);
		CHECK_EQ(rc_i, 0);
		CHECK_EQ(rc_j, 0);
		if (keys[i] < NVAL) {
			/* count k*10 -> +1 (interp) -> +1 (JIT) */
			CHECK_EQ(ri, (keys[i] * 10 + 1) * 1000 + 100 + keys[i]);
			CHECK_EQ(rj, (keys[i] * 10 + 2) * 1000 + 100 + keys[i]);
			uint64_t v[3];
			CHECK_EQ(bpfvm_map_lookup(map, &keys[i], v), 0);
			CHECK_EQ(v[0], keys[i] * 10 + 2);
		} else {
			CHECK_EQ(ri, 0xdead);
			CHECK_EQ(rj, 0xdead);
		}
	}
	bpfvm_prog_destroy(prog);
	bpfvm_map_destroy(map);
	bpfvm_vm_destroy(vm);
}

TEST(inlined_percpu_array_lookup_picks_the_run_cpu_slot)
{
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	struct bpfvm_map *map = new_map(vm, BPFVM_MAP_PERCPU_ARRAY);
	CHECK(map != NULL);
	if (!map)
		return;
	/* Host layout: BPFVM_NR_CPUS values of 24 bytes each. */
	for (uint32_t k = 0; k < NVAL; k++) {
		uint64_t v[BPFVM_NR_CPUS][3];
		for (int c = 0; c < BPFVM_NR_CPUS; c++) {
			v[c][0] = 0;
			v[c][1] = k * 100 + (uint64_t)c;
			v[c][2] = 0;
		}
		CHECK_EQ(bpfvm_map_update(map, &k, v, 0), 0);
	}
	struct prog_builder pb;
	size_t call = build_lookup_prog(&pb);
	struct bpfvm_prog *prog = load_with(vm, &pb, map);
	CHECK(prog != NULL);
	if (!prog)
		return;
	CHECK(!insn_code_calls(prog, call));
	/* CPU ids beyond BPFVM_NR_CPUS wrap, as in the helper. */
	for (uint32_t cpu = 0; cpu < 2 * BPFVM_NR_CPUS + 1; cpu++) {
		for (uint32_t key = NVAL - 2; key < NVAL + 1; key++) {
			int rc_i, rc_j;
			uint64_t ri = run_key(prog, BPFVM_ENGINE_INTERP, key, cpu, &rc_i);
			uint64_t rj = run_key(prog, BPFVM_ENGINE_JIT, key, cpu, &rc_j);
			CHECK_EQ(rc_i, 0);
			CHECK_EQ(rc_j, 0);
			if (key < NVAL) { /* the JIT counted once more */
				CHECK_EQ(rj, ri + 1000);
				CHECK_EQ(rj % 1000, key * 100 + cpu % BPFVM_NR_CPUS);
			} else {
				CHECK_EQ(ri, 0xdead);
				CHECK_EQ(rj, 0xdead);
			}
		}
	}
	/* Each slot was counted by both engines on every CPU id mapping to it. */
	for (uint32_t key = NVAL - 2; key < NVAL; key++) {
		uint64_t v[BPFVM_NR_CPUS][3];
		CHECK_EQ(bpfvm_map_lookup(map, &key, v), 0);
		for (uint32_t c = 0; c < BPFVM_NR_CPUS; c++) {
			uint64_t ids = 0;
			for (uint32_t cpu = 0; cpu < 2 * BPFVM_NR_CPUS + 1; cpu++)
				ids += cpu % BPFVM_NR_CPUS == c;
			CHECK_EQ(v[c][0], 2 * ids);
		}
	}
	bpfvm_prog_destroy(prog);
	bpfvm_map_destroy(map);
	bpfvm_vm_destroy(vm);
}

TEST(lookups_keep_the_call_unless_r1_is_provably_one_array)
{
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	struct prog_builder pb;
	size_t call = build_lookup_prog(&pb);

	/* A hash map: the call stays, results as the interpreter's. */
	struct bpfvm_map_def hdef = {.type = BPFVM_MAP_HASH, .key_size = 4, .value_size = 24,
				     .max_entries = 16, .name = "h"};
	struct bpfvm_map *hash;
	CHECK_EQ(bpfvm_map_create(vm, &hdef, &hash), 0);
	uint32_t k3 = 3;
	uint64_t v3[3] = {7, 9, 0};
	CHECK_EQ(bpfvm_map_update(hash, &k3, v3, 0), 0);
	struct bpfvm_prog *prog = load_with(vm, &pb, hash);
	CHECK(prog != NULL);
	if (!prog)
		return;
	CHECK(insn_code_calls(prog, call));
	int rc;
	CHECK_EQ(run_key(prog, BPFVM_ENGINE_JIT, 3, 0, &rc), 8 * 1000 + 9);
	CHECK_EQ(run_key(prog, BPFVM_ENGINE_JIT, 4, 0, &rc), 0xdead);
	bpfvm_prog_destroy(prog);
	bpfvm_map_destroy(hash);

	/* r1 comes through another register: not provable by the pattern,
	 * the call stays. */
	struct bpfvm_map *arr = new_map(vm, BPFVM_MAP_ARRAY);
	CHECK(arr != NULL);
	if (!arr)
		return;
	pb.n = 0;
	PB(&pb, JGE_IMM, 2, 0, 2, 4);
	PB(&pb, MOV64_IMM, 0, 0, 0, 0);
	PB(&pb, EXIT, 0, 0, 0, 0);
	PB(&pb, LDX_W, 2, 1, 0, 0);
	PB(&pb, STX_W, 10, 2, -4, 0);
	pb_add(&pb, BPFVM_OP_LDDW_MAP_FD, 7, 1, 0, 0, 0);
	PB(&pb, MOV64_REG, 1, 7, 0, 0);
	PB(&pb, MOV64_REG, 2, 10, 0, 0);
	PB(&pb, ADD64_IMM, 2, 0, 0, -4);
	call = PB(&pb, CALL_HELPER, 0, 0, 0, 1);
	PB(&pb, EXIT, 0, 0, 0, 0);
	prog = load_with(vm, &pb, arr);
	CHECK(prog != NULL);
	if (!prog)
		return;
	CHECK(insn_code_calls(prog, call));
	bpfvm_prog_destroy(prog);

	/* A jump lands between the map load and the call: the call stays. */
	pb.n = 0;
	PB(&pb, JGE_IMM, 2, 0, 2, 4);
	PB(&pb, MOV64_IMM, 0, 0, 0, 0);
	PB(&pb, EXIT, 0, 0, 0, 0);
	PB(&pb, LDX_W, 2, 1, 0, 0);
	PB(&pb, STX_W, 10, 2, -4, 0);
	pb_add(&pb, BPFVM_OP_LDDW_MAP_FD, 1, 1, 0, 0, 0);
	PB(&pb, JEQ_IMM, 2, 0, 1, 0);
	PB(&pb, MOV64_IMM, 3, 0, 0, 0);
	PB(&pb, MOV64_REG, 2, 10, 0, 0); /* jump target */
	PB(&pb, ADD64_IMM, 2, 0, 0, -4);
	call = PB(&pb, CALL_HELPER, 0, 0, 0, 1);
	PB(&pb, EXIT, 0, 0, 0, 0);
	prog = load_with(vm, &pb, arr);
	CHECK(prog != NULL);
	if (!prog)
		return;
	CHECK(insn_code_calls(prog, call));
	bpfvm_prog_destroy(prog);

	/* Checked programs keep the helper call (it registers the value). */
	call = build_lookup_prog(&pb);
	struct bpfvm_prog_opts opts = {.maps = &arr, .nmaps = 1, .safety = BPFVM_SAFETY_CHECKED};
	CHECK_EQ(bpfvm_prog_load(vm, pb.insns, pb.n, &opts, &prog), 0);
	CHECK(insn_code_calls(prog, call));
	CHECK_EQ(run_key(prog, BPFVM_ENGINE_JIT, 1, 0, &rc), 1 * 1000);
	CHECK_EQ(rc, 0);
	bpfvm_prog_destroy(prog);
	bpfvm_map_destroy(arr);
	bpfvm_vm_destroy(vm);
}

TEST(direct_lookups_on_per_cpu_hash_maps_pass_the_run_cpu)
{
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	struct bpfvm_map_def def = {.type = BPFVM_MAP_PERCPU_HASH, .key_size = 4, .value_size = 24,
				    .max_entries = 16, .name = "ph"};
	struct bpfvm_map *map;
	CHECK_EQ(bpfvm_map_create(vm, &def, &map), 0);
	uint32_t key = 3;
	uint64_t v[BPFVM_NR_CPUS][3];
	for (int c = 0; c < BPFVM_NR_CPUS; c++) {
		v[c][0] = 0;
		v[c][1] = 10 + (uint64_t)c;
		v[c][2] = 0;
	}
	CHECK_EQ(bpfvm_map_update(map, &key, v, 0), 0);
	struct prog_builder pb;
	build_lookup_prog(&pb);
	struct bpfvm_prog *prog = load_with(vm, &pb, map);
	CHECK(prog != NULL);
	if (!prog)
		return;
	for (uint32_t cpu = 0; cpu < 2 * BPFVM_NR_CPUS; cpu++) {
		int rc_i, rc_j;
		uint64_t ri = run_key(prog, BPFVM_ENGINE_INTERP, 3, cpu, &rc_i);
		uint64_t rj = run_key(prog, BPFVM_ENGINE_JIT, 3, cpu, &rc_j);
		CHECK_EQ(rc_i, 0);
		CHECK_EQ(rc_j, 0);
		CHECK_EQ(rj, ri + 1000);
		CHECK_EQ(rj % 1000, 10 + cpu % BPFVM_NR_CPUS);
		CHECK_EQ(run_key(prog, BPFVM_ENGINE_JIT, 4, cpu, &rc_j), 0xdead);
	}
	bpfvm_prog_destroy(prog);
	bpfvm_map_destroy(map);
	bpfvm_vm_destroy(vm);
}
