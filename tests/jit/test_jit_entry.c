/* The JIT's two entry stubs: verified programs in which nothing can unwind
 * (no helper calls but inlined lookups, no callx, no LD_ABS/LD_IND) get the
 * lean one (no unwind point, status always 0); everything else keeps the
 * full one. Both give the interpreter's results. */
#include "jit_test_util.h"
#include "jit/jit.h"

/* The full stub saves the outer unwind point: push qword ptr [r12]. */
static int has_unwind_point(const struct bpfvm_prog *prog)
{
	size_t size;
	const uint32_t *addrs;
	const uint8_t *image = bpfvm__jit_image(prog, &size, &addrs);
	for (uint32_t i = 0; i + 3 < addrs[0]; i++)
		if (image[i] == 0x41 && image[i + 1] == 0xff && image[i + 2] == 0x34 && image[i + 3] == 0x24)
			return 1;
	return 0;
}

static struct bpfvm_prog *load(struct bpfvm_vm *vm, const struct prog_builder *pb,
			       enum bpfvm_prog_type type, enum bpfvm_safety safety,
			       struct bpfvm_map *map)
{
	struct bpfvm_prog_opts o = {.type = type, .safety = safety, .maps = map ? &map : NULL,
				    .nmaps = map != NULL};
	struct bpfvm_prog *prog = NULL;
	if (bpfvm_prog_load(vm, pb->insns, pb->n, &o, &prog))
		fprintf(stderr, "load: %s\n", bpfvm_vm_last_error(vm));
	return prog;
}

/* Run in both engines on a copy of mem each; r0 of the JIT, which must
 * equal the interpreter's (and both runs succeed). */
static uint64_t run_both(struct bpfvm_prog *prog, const void *mem, size_t len, const void *pkt,
			 size_t pkt_len)
{
	uint64_t r0[2];
	for (int e = 0; e < 2; e++) {
		uint8_t copy[64];
		memcpy(copy, mem, len);
		struct bpfvm_run run = {.ctx = len ? copy : NULL, .ctx_size = len, .pkt = pkt,
					.pkt_len = pkt_len,
					.engine = e ? BPFVM_ENGINE_JIT : BPFVM_ENGINE_INTERP};
		CHECK_EQ(bpfvm_prog_run(prog, &run), 0);
		r0[e] = run.retval;
	}
	CHECK_EQ(r0[1], r0[0]);
	return r0[1];
}

TEST(programs_that_cannot_unwind_get_the_lean_entry)
{
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	struct prog_builder pb = {.n = 0};
	/* r0 = r1 + r2 (a bpf-to-bpf call in between), r6..r9 and the stack used. */
	PB(&pb, MOV64_IMM, 6, 0, 0, 3);
	PB(&pb, STX_DW, 10, 6, -8, 0);
	PB(&pb, CALL_LOCAL, 0, 0, 0, 3);
	PB(&pb, LDX_DW, 7, 10, -8, 0);
	PB(&pb, ADD64_REG, 0, 7, 0, 0);
	PB(&pb, EXIT, 0, 0, 0, 0);
	PB(&pb, MOV64_IMM, 0, 0, 0, 40);
	PB(&pb, EXIT, 0, 0, 0, 0);
	struct bpfvm_prog *prog = load(vm, &pb, BPFVM_PROG_RAW, BPFVM_SAFETY_VERIFIED, NULL);
	CHECK(prog != NULL);
	if (prog) {
		CHECK(!has_unwind_point(prog));
		CHECK_EQ(run_both(prog, "", 0, NULL, 0), 43);
		bpfvm_prog_destroy(prog);
	}
	/* The same program in checked mode keeps the full entry. */
	prog = load(vm, &pb, BPFVM_PROG_RAW, BPFVM_SAFETY_CHECKED, NULL);
	CHECK(prog != NULL);
	if (prog) {
		CHECK(has_unwind_point(prog));
		CHECK_EQ(run_both(prog, "", 0, NULL, 0), 43);
		bpfvm_prog_destroy(prog);
	}
	bpfvm_vm_destroy(vm);
}

TEST(helper_calls_and_packet_loads_keep_the_full_entry)
{
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	/* bpf_get_prandom_u32 (7): a real call. */
	struct prog_builder pb = {.n = 0};
	PB(&pb, CALL_HELPER, 0, 0, 0, 7);
	PB(&pb, MOV64_IMM, 0, 0, 0, 5);
	PB(&pb, EXIT, 0, 0, 0, 0);
	struct bpfvm_prog *prog = load(vm, &pb, BPFVM_PROG_RAW, BPFVM_SAFETY_VERIFIED, NULL);
	CHECK(prog != NULL);
	if (prog) {
		CHECK(has_unwind_point(prog));
		CHECK_EQ(run_both(prog, "", 0, NULL, 0), 5);
		bpfvm_prog_destroy(prog);
	}
	/* LD_ABS past the packet ends the run with r0 = 0 (an unwind). */
	pb.n = 0;
	PB(&pb, MOV64_REG, 6, 1, 0, 0);
	PB(&pb, LDABS_B, 0, 0, 0, 1);
	PB(&pb, LDABS_W, 0, 0, 0, 100);
	PB(&pb, MOV64_IMM, 0, 0, 0, 9);
	PB(&pb, EXIT, 0, 0, 0, 0);
	prog = load(vm, &pb, BPFVM_PROG_SOCKET_FILTER, BPFVM_SAFETY_VERIFIED, NULL);
	CHECK(prog != NULL);
	if (prog) {
		static const uint8_t pkt[8] = {1, 2, 3, 4, 5, 6, 7, 8};
		uint8_t skb[64] = {0};
		CHECK(has_unwind_point(prog));
		CHECK_EQ(run_both(prog, skb, sizeof(skb), pkt, sizeof(pkt)), 0);
		bpfvm_prog_destroy(prog);
	}
	/* An inlined array lookup is no call: lean entry. */
	struct bpfvm_map_def def = {.type = BPFVM_MAP_ARRAY, .key_size = 4, .value_size = 8,
				    .max_entries = 4, .name = "a"};
	struct bpfvm_map *map;
	CHECK_EQ(bpfvm_map_create(vm, &def, &map), 0);
	uint32_t k = 2;
	uint64_t v = 77;
	CHECK_EQ(bpfvm_map_update(map, &k, &v, 0), 0);
	pb.n = 0;
	PB(&pb, ST_W, 10, 0, -4, 2);
	pb_add(&pb, BPFVM_OP_LDDW_MAP_FD, 1, 1, 0, 0, 0);
	PB(&pb, MOV64_REG, 2, 10, 0, 0);
	PB(&pb, ADD64_IMM, 2, 0, 0, -4);
	PB(&pb, CALL_HELPER, 0, 0, 0, 1);
	PB(&pb, JEQ_IMM, 0, 0, 1, 0);
	PB(&pb, LDX_DW, 0, 0, 0, 0);
	PB(&pb, EXIT, 0, 0, 0, 0);
	prog = load(vm, &pb, BPFVM_PROG_RAW, BPFVM_SAFETY_VERIFIED, map);
	CHECK(prog != NULL);
	if (prog) {
		CHECK(!has_unwind_point(prog));
		CHECK_EQ(run_both(prog, "", 0, NULL, 0), 77);
		bpfvm_prog_destroy(prog);
	}
	bpfvm_map_destroy(map);
	bpfvm_vm_destroy(vm);
}
