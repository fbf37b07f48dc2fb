/* Calls through the JIT that leave the generated code: bpf_loop callbacks
 * (cc->invoke), faults inside a callback, tail calls with the 33-call
 * limit, and a tail call into a program without machine code. Each result
 * is compared with the interpreter's. */
#include "jit_test_util.h"

static struct engine_result run_prog(struct bpfvm_prog *prog, enum bpfvm_engine engine, void *mem,
				     size_t len)
{
	struct engine_result r;
	struct bpfvm_run run = {.ctx = mem, .ctx_size = len, .engine = engine};
	r.rc = bpfvm_prog_run(prog, &run);
	r.r0 = run.retval;
	snprintf(r.error, sizeof(r.error), "%s", run.error);
	return r;
}

/* r0 = 10 iterations + sum of the indexes the callback added to mem[0];
 * with fault_at >= 0 the callback reads far outside at that index. */
static void build_loop_prog(struct prog_builder *pb, int fault_at)
{
	pb->n = 0;
	PB(pb, MOV64_REG, 6, 1, 0, 0);
	PB(pb, MOV64_IMM, 1, 0, 0, 10);
	size_t func = pb_add(pb, BPFVM_OP_LDDW_FUNC, 2, 0, 0, 0, 0);
	PB(pb, MOV64_REG, 3, 6, 0, 0);
	PB(pb, MOV64_IMM, 4, 0, 0, 0);
	PB(pb, CALL_HELPER, 0, 0, 0, 181); /* bpf_loop */
	PB(pb, LDX_DW, 1, 6, 0, 0);
	PB(pb, ADD64_REG, 0, 1, 0, 0);
	PB(pb, EXIT, 0, 0, 0, 0);
	size_t cb = pb->n; /* callback(index = r1, ctx = r2) */
	pb->insns[func].imm = (int32_t)(cb - func - 1);
	if (fault_at >= 0) {
		PB(pb, JNE_IMM, 1, 0, 1, fault_at);
		PB(pb, LDX_DW, 0, 2, 4096, 0);
	}
	PB(pb, LDX_DW, 3, 2, 0, 0);
	PB(pb, ADD64_REG, 3, 1, 0, 0);
	PB(pb, STX_DW, 2, 3, 0, 0);
	PB(pb, STX_DW, 10, 1, -8, 0); /* the callback's own frame */
	PB(pb, MOV64_IMM, 0, 0, 0, 0);
	PB(pb, EXIT, 0, 0, 0, 0);
}

TEST(bpf_loop_callbacks_run_jit_code_on_their_own_frame)
{
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	struct prog_builder pb;
	build_loop_prog(&pb, -1);
	for (int safety = 0; safety < 2; safety++) {
		struct bpfvm_prog_opts opts = {.safety = safety ? BPFVM_SAFETY_CHECKED : BPFVM_SAFETY_VERIFIED};
		struct bpfvm_prog *prog;
		if (bpfvm_prog_load(vm, pb.insns, pb.n, &opts, &prog)) {
			CHECK(!safety); /* the verifier may refuse; checked mode must load */
			continue;
		}
		uint64_t mem_i[2] = {0, 0}, mem_j[2] = {0, 0};
		struct engine_result ri = run_prog(prog, BPFVM_ENGINE_INTERP, mem_i, sizeof(mem_i));
		struct engine_result rj = run_prog(prog, BPFVM_ENGINE_JIT, mem_j, sizeof(mem_j));
		CHECK_EQ(rj.rc, 0);
		CHECK_EQ(rj.r0, 10 + 45);
		CHECK_EQ(rj.r0, ri.r0);
		CHECK_EQ(mem_j[0], 45);
		bpfvm_prog_destroy(prog);
	}
	bpfvm_vm_destroy(vm);
}

TEST(a_fault_inside_a_callback_stops_the_whole_run)
{
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	struct prog_builder pb;
	build_loop_prog(&pb, 3);
	struct bpfvm_prog_opts opts = {.safety = BPFVM_SAFETY_CHECKED};
	struct bpfvm_prog *prog;
	CHECK_EQ(bpfvm_prog_load(vm, pb.insns, pb.n, &opts, &prog), 0);
	uint64_t mem_i[2] = {0, 0}, mem_j[2] = {0, 0};
	struct engine_result ri = run_prog(prog, BPFVM_ENGINE_INTERP, mem_i, sizeof(mem_i));
	struct engine_result rj = run_prog(prog, BPFVM_ENGINE_JIT, mem_j, sizeof(mem_j));
	CHECK_EQ(rj.rc, -EFAULT);
	CHECK_EQ(ri.rc, -EFAULT);
	CHECK_CONTAINS(rj.error, "insn 11: invalid read of 8 bytes");
	CHECK_EQ(mem_j[0], 0 + 1 + 2); /* iterations before the fault */
	CHECK_EQ(mem_j[0], mem_i[0]);
	bpfvm_prog_destroy(prog);
	bpfvm_vm_destroy(vm);
}

/* mem[0] += 1, then tail-call slot `slot` of map 0; r0 = mem[0] when the
 * tail call falls through. */
static void build_tail_prog(struct prog_builder *pb, int slot)
{
	pb->n = 0;
	PB(pb, MOV64_REG, 6, 1, 0, 0);
	PB(pb, LDX_W, 2, 6, 0, 0);
	PB(pb, ADD64_IMM, 2, 0, 0, 1);
	PB(pb, STX_W, 6, 2, 0, 0);
	PB(pb, MOV64_REG, 1, 6, 0, 0);
	pb_add(pb, BPFVM_OP_LDDW_MAP_FD, 2, 0, 0, 0, 0);
	PB(pb, MOV64_IMM, 3, 0, 0, slot);
	PB(pb, CALL_HELPER, 0, 0, 0, 12);
	PB(pb, LDX_W, 0, 6, 0, 0);
	PB(pb, EXIT, 0, 0, 0, 0);
}

TEST(tail_calls_stop_after_33_and_fall_through_on_empty_slots)
{
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	struct bpfvm_map_def def = {.type = BPFVM_MAP_PROG_ARRAY, .key_size = 4, .value_size = 4,
				    .max_entries = 4, .name = "jmp"};
	struct bpfvm_map *map;
	CHECK_EQ(bpfvm_map_create(vm, &def, &map), 0);
	struct prog_builder pb;
	build_tail_prog(&pb, 0);
	for (int safety = 0; safety < 2; safety++) {
		struct bpfvm_prog_opts opts = {.safety = safety ? BPFVM_SAFETY_CHECKED : BPFVM_SAFETY_VERIFIED,
					       .maps = &map, .nmaps = 1};
		struct bpfvm_prog *prog;
		if (bpfvm_prog_load(vm, pb.insns, pb.n, &opts, &prog)) {
			CHECK(!safety);
			continue;
		}
		uint32_t key = 0, id = bpfvm_prog_id(prog);
		CHECK_EQ(bpfvm_map_update(map, &key, &id, BPFVM_ANY), 0);
		uint32_t mem_i[2] = {0, 0}, mem_j[2] = {0, 0};
		struct engine_result ri = run_prog(prog, BPFVM_ENGINE_INTERP, mem_i, sizeof(mem_i));
		struct engine_result rj = run_prog(prog, BPFVM_ENGINE_JIT, mem_j, sizeof(mem_j));
		CHECK_EQ(rj.rc, 0);
		CHECK_EQ(rj.r0, 1 + 33); /* the first run and 33 tail calls */
		CHECK_EQ(ri.r0, rj.r0);
		CHECK_EQ(bpfvm_map_delete(map, &key), 0);
		mem_j[0] = 0;
		rj = run_prog(prog, BPFVM_ENGINE_JIT, mem_j, sizeof(mem_j));
		CHECK_EQ(rj.r0, 1); /* empty slot: falls through */
		bpfvm_prog_destroy(prog);
	}
	bpfvm_map_destroy(map);
	bpfvm_vm_destroy(vm);
}

TEST(tail_call_into_a_program_without_machine_code_is_an_error)
{
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	struct bpfvm_map_def def = {.type = BPFVM_MAP_PROG_ARRAY, .key_size = 4, .value_size = 4,
				    .max_entries = 4, .name = "jmp"};
	struct bpfvm_map *map;
	CHECK_EQ(bpfvm_map_create(vm, &def, &map), 0);
	struct prog_builder pb;
	build_tail_prog(&pb, 1);
	struct bpfvm_prog_opts opts = {.name = "caller", .safety = BPFVM_SAFETY_CHECKED, .maps = &map, .nmaps = 1};
	struct bpfvm_prog *caller, *target;
	CHECK_EQ(bpfvm_prog_load(vm, pb.insns, pb.n, &opts, &caller), 0);
	opts.name = "interp_only";
	opts.engine = BPFVM_ENGINE_INTERP;
	CHECK_EQ(bpfvm_prog_load(vm, pb.insns, pb.n, &opts, &target), 0);
	uint32_t key = 1, id = bpfvm_prog_id(target);
	CHECK_EQ(bpfvm_map_update(map, &key, &id, BPFVM_ANY), 0);
	uint32_t mem[2] = {0, 0};
	struct engine_result rj = run_prog(caller, BPFVM_ENGINE_JIT, mem, sizeof(mem));
	CHECK_EQ(rj.rc, -EINVAL);
	CHECK_CONTAINS(rj.error, "insn 8: tail call target 'interp_only' was not prepared for the JIT");
	bpfvm_prog_destroy(caller);
	bpfvm_prog_destroy(target);
	bpfvm_map_destroy(map);
	bpfvm_vm_destroy(vm);
}
