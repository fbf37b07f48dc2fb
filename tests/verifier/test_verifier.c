/* The verifier's behaviour beyond the kernel's case file: the raw program
 * type, unprivileged rules, callbacks, the log, the recorded stack depth,
 * and arbitrary bytes (a verdict, never a crash). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/harness.h"
#include "core/internal.h"
#include "verifier/vtest.c"

static struct vt_result res;

/* One slot of an instruction (bpfvm_isa_encode writes up to two). */
static struct bpfvm_insn enc1(enum bpfvm_opid id, int dst, int src, int16_t off, int32_t imm)
{
	struct bpfvm_insn out[2];
	bpfvm_isa_encode(id, (uint8_t)dst, (uint8_t)src, off, imm, 0, out);
	return out[0];
}

static const char *key(void)
{
	const char *m = strstr(res.msg, ": ");
	return m ? m + 2 : res.msg;
}

TEST(raw_memory_is_readable_after_a_length_check)
{
	vt_load("raw", "if r2 < 8 goto +2\nr0 = *(u64 *)(r1 + 0)\nexit\nr0 = 0\nexit\n", "", 0, 0, &res);
	CHECK_EQ(res.rc, 0);
	vt_load("raw", "r3 = r2\nif r3 < 8 goto +2\nr0 = *(u32 *)(r1 + 4)\nexit\nr0 = 0\nexit\n", "", 0, 0, &res);
	CHECK_EQ(res.rc, 0);
}

TEST(raw_memory_beyond_the_checked_length_is_rejected)
{
	vt_load("raw", "r0 = *(u8 *)(r1 + 0)\nexit\n", "", 0, 0, &res);
	CHECK_EQ(res.rc, -EACCES);
	CHECK_STR(key(), "R1 offset is outside of the packet");
	vt_load("raw", "if r2 < 4 goto +2\nr0 = *(u64 *)(r1 + 0)\nexit\nr0 = 0\nexit\n", "", 0, 0, &res);
	CHECK_EQ(res.rc, -EACCES);
	/* once r2 is changed it no longer speaks for the memory */
	vt_load("raw", "r2 += 1\nif r2 < 8 goto +2\nr0 = *(u64 *)(r1 + 0)\nexit\nr0 = 0\nexit\n", "", 0, 0, &res);
	CHECK_EQ(res.rc, -EACCES);
}

TEST(unprivileged_mode_forbids_leaks_loops_and_uninitialized_stack)
{
	vt_load("socket_filter", "r0 = r10\nexit\n", "", 1, 0, &res);
	CHECK_EQ(res.rc, -EACCES);
	CHECK_STR(key(), "R0 leaks addr as return value");
	vt_load("socket_filter", "r0 = *(u64 *)(r10 - 8)\nexit\n", "", 1, 0, &res);
	CHECK_EQ(res.rc, -EACCES);
	CHECK_STR(key(), "invalid read from stack R10 off=-8 size=8");
	vt_load("socket_filter", "r0 = 0\nr0 += 1\nif r0 < 10 goto -2\nexit\n", "", 1, 0, &res);
	CHECK_EQ(res.rc, -EINVAL);
	CHECK_STR(key(), "back-edge from insn 2 to 1");
	vt_load("socket_filter", "r0 = 0\nif r1 > r10 goto +1\nr0 = 1\nexit\n", "", 1, 0, &res);
	CHECK_EQ(res.rc, -EACCES);
	CHECK_STR(key(), "R10 pointer comparison prohibited");
	/* the same programs are fine for root */
	vt_load("socket_filter", "r0 = r10\nexit\n", "", 0, 0, &res);
	CHECK_EQ(res.rc, 0);
}

TEST(callbacks_are_verified_with_their_arguments)
{
	/* bpf_loop(4, cb, NULL, 0): cb(index, ctx) returns 0 */
	const char *ok = "r1 = 4\nr2 = func pc+6 ll\nr3 = 0\nr4 = 0\ncall 181\nr0 = 0\nexit\nr0 = 0\nexit\n";
	vt_load("socket_filter", ok, "", 0, 0, &res);
	CHECK_EQ(res.rc, 0);
	if (res.rc)
		printf("%s\n", res.msg);
	const char *bad_ret = "r1 = 4\nr2 = func pc+6 ll\nr3 = 0\nr4 = 0\ncall 181\nr0 = 0\nexit\nr0 = 2\nexit\n";
	vt_load("socket_filter", bad_ret, "", 0, 0, &res);
	CHECK_EQ(res.rc, -EINVAL);
	CHECK_CONTAINS(res.msg, "should have been in [0, 1]");
	/* the callback may not read the index as a pointer */
	const char *deref = "r1 = 4\nr2 = func pc+6 ll\nr3 = 0\nr4 = 0\ncall 181\nr0 = 0\nexit\nr0 = *(u8 *)(r1 + 0)\nexit\n";
	vt_load("socket_filter", deref, "", 0, 0, &res);
	CHECK_EQ(res.rc, -EACCES);
	CHECK_STR(key(), "R1 invalid mem access 'scalar'");
}

TEST(log_level_2_prints_states_in_the_kernel_format)
{
	vt_load("socket_filter", "r0 = 0\nexit\n", "", 0, 2, &res);
	CHECK_EQ(res.rc, 0);
	CHECK_CONTAINS(res.log, "0: R1=ctx() R10=fp0\n");
	CHECK_CONTAINS(res.log, "0: (b7) r0 = 0                        ; R0=0\n");
	CHECK_CONTAINS(res.log, "1: (95) exit\n");
	CHECK_CONTAINS(res.log, "processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0\n");
	/* level 1 keeps only the closing line of an accepted program */
	vt_load("socket_filter", "r0 = 0\nexit\n", "", 0, 1, &res);
	CHECK_STR(res.log, "processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0\n");
	/* and the failing path with the message for a rejected one */
	vt_load("socket_filter", "r0 = *(u32 *)(r1 + 1000)\nexit\n", "", 0, 1, &res);
	CHECK_CONTAINS(res.log, "0: (61) r0 = *(u32 *)(r1 +1000)\ninvalid bpf_context access off=1000 size=4\n");
}

TEST(accepted_programs_record_their_stack_depth)
{
	struct bpfvm_vm *vm;
	CHECK(bpfvm_vm_create(&vm) == 0);
	struct bpfvm_insn insns[3];
	insns[0] = enc1(BPFVM_OP_ST_DW, BPFVM_REG_FP, 0, -24, 1);
	insns[1] = enc1(BPFVM_OP_MOV64_IMM, 0, 0, 0, 0);
	insns[2] = enc1(BPFVM_OP_EXIT, 0, 0, 0, 0);
	struct bpfvm_prog_opts opts = {.type = BPFVM_PROG_SOCKET_FILTER, .engine = BPFVM_ENGINE_INTERP};
	struct bpfvm_prog *prog = NULL;
	CHECK(bpfvm_prog_load(vm, insns, 3, &opts, &prog) == 0);
	if (prog)
		CHECK_EQ(prog->stack_depth, 24);
	bpfvm_prog_destroy(prog);
	bpfvm_vm_destroy(vm);
}

TEST(loops_are_explored_until_they_end_and_endless_ones_are_caught)
{
	vt_load("socket_filter", "r0 = 0\nr0 += 1\nif r0 < 1000 goto -2\nexit\n", "", 0, 0, &res);
	CHECK_EQ(res.rc, 0);
	vt_load("socket_filter", "r0 = 0\nr1 = 0\nr1 += 0\nif r1 < 10 goto -2\nexit\n", "", 0, 0, &res);
	CHECK_EQ(res.rc, -EINVAL);
	CHECK_STR(key(), "infinite loop detected at insn 3");
	/* inside a callback too: only a later invocation of the callback
	 * (the helper calling it again) may meet an equal state */
	vt_load("socket_filter",
		"r1 = 4\nr2 = func pc+6 ll\nr3 = 0\nr4 = 0\ncall 181\nr0 = 0\nexit\n"
		"r1 = 0\nr1 += 0\nif r1 < 10 goto -2\nr0 = 0\nexit\n", "", 0, 0, &res);
	CHECK_EQ(res.rc, -EINVAL);
	CHECK_STR(key(), "infinite loop detected at insn 10");
}

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

TEST(arbitrary_bytes_get_a_verdict_and_a_message)
{
	struct bpfvm_vm *vm;
	CHECK(bpfvm_vm_create(&vm) == 0);
	struct bpfvm_map *maps[2];
	CHECK(vt_make_maps(vm, "hash:8:8:16,array:4:8:4", maps, 2) == 2);
	const struct bpfvm_opinfo *table = bpfvm_isa_table();
	size_t nrows = bpfvm_isa_table_size();
	uint64_t seed = 0x1234567;
	int accepted = 0, rejected = 0;
	for (int i = 0; i < 3000; i++) {
		struct bpfvm_insn insns[24];
		size_t n = 1 + rng_next(&seed) % 24;
		for (size_t k = 0; k < n; k++) {
			uint64_t r = rng_next(&seed);
			memcpy(&insns[k], &r, sizeof(r));
			/* mostly real opcodes with small operands, so that the
			 * analysis (not just the decoder) sees the bytes */
			if (r % 4) {
				insns[k].code = table[(r >> 8) % nrows].code;
				insns[k].dst = (uint8_t)((r >> 20) % 11);
				insns[k].src = (uint8_t)((r >> 24) % 11);
				insns[k].off = (int16_t)((int16_t)(r >> 32) % 16);
				insns[k].imm = (int32_t)((int32_t)(r >> 40) % 64);
			}
		}
		if (rng_next(&seed) % 2)
			insns[n - 1] = enc1(BPFVM_OP_EXIT, 0, 0, 0, 0);
		enum bpfvm_prog_type types[] = {BPFVM_PROG_SOCKET_FILTER, BPFVM_PROG_XDP, BPFVM_PROG_RAW,
						BPFVM_PROG_KPROBE};
		struct bpfvm_prog_opts opts = {.type = types[i % 4], .engine = BPFVM_ENGINE_INTERP,
					       .unpriv = i % 5 == 0, .maps = maps, .nmaps = 2};
		struct bpfvm_prog *prog = NULL;
		int rc = bpfvm_prog_load(vm, insns, n, &opts, &prog);
		if (rc == 0) {
			accepted++;
			bpfvm_prog_destroy(prog);
		} else {
			rejected++;
			CHECK(bpfvm_vm_last_error(vm)[0] != 0);
		}
	}
	printf("%d accepted, %d rejected\n", accepted, rejected);
	CHECK(accepted + rejected == 3000);
	bpfvm_map_destroy(maps[0]);
	bpfvm_map_destroy(maps[1]);
	bpfvm_vm_destroy(vm);
}
