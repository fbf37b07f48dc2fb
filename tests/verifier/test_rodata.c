/* Read-only maps as the kernel treats libbpf's .rodata: programs may not
 * write a BPF_F_RDONLY_PROG map, and once the host froze it the verifier
 * reads its bytes as constants (a `const volatile` option folds into the
 * program) and accepts format strings in it. */
#include <errno.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm/asm.h"
#include "bpfvm/bpfvm.h"
#include "common/harness.h"

struct fixture {
	struct bpfvm_vm *vm;
	struct bpfvm_map *maps[2]; /* 0: the read-only config, 1: a 16-byte array */
};

/* config: value_size 24 = {u8 shift at 0, pad, "%d apples\0" at 8}. */
static void setup(struct fixture *f, uint8_t shift, int freeze)
{
	CHECK_EQ(bpfvm_vm_create(&f->vm), 0);
	struct bpfvm_map_def cfg = {.type = BPFVM_MAP_ARRAY, .key_size = 4, .value_size = 24,
				    .max_entries = 1, .flags = BPF_F_RDONLY_PROG};
	struct bpfvm_map_def arr = {.type = BPFVM_MAP_ARRAY, .key_size = 4, .value_size = 16,
				    .max_entries = 1};
	CHECK_EQ(bpfvm_map_create(f->vm, &cfg, &f->maps[0]), 0);
	CHECK_EQ(bpfvm_map_create(f->vm, &arr, &f->maps[1]), 0);
	uint8_t value[24] = {shift};
	memcpy(value + 8, "%d apples", 10);
	uint32_t zero = 0;
	CHECK_EQ(bpfvm_map_update(f->maps[0], &zero, value, BPFVM_ANY), 0);
	if (freeze)
		CHECK_EQ(bpfvm_map_freeze(f->maps[0]), 0);
}

static void teardown(struct fixture *f)
{
	bpfvm_map_destroy(f->maps[0]);
	bpfvm_map_destroy(f->maps[1]);
	bpfvm_vm_destroy(f->vm);
}

/* Load (and on success run) text as an XDP-free raw program; returns the
 * load's errno, with the message in msg and r0 in *ret. */
static int load_run(struct fixture *f, const char *text, char *msg, size_t msglen, uint64_t *ret)
{
	struct bpfvm_insn *insns;
	size_t n;
	char err[256];
	if (bpfvm_asm(text, BPFVM_SYNTAX_LLVM, "rodata", &insns, &n, err, sizeof(err))) {
		snprintf(msg, msglen, "asm: %s", err);
		return -EINVAL;
	}
	struct bpfvm_prog_opts opts = {.type = BPFVM_PROG_RAW, .maps = f->maps, .nmaps = 2};
	struct bpfvm_prog *prog = NULL;
	int rc = bpfvm_prog_load(f->vm, insns, n, &opts, &prog);
	free(insns);
	snprintf(msg, msglen, "%s", rc ? bpfvm_vm_last_error(f->vm) : "");
	if (rc)
		return rc;
	uint8_t mem[8] = {0};
	struct bpfvm_run run = {.ctx = mem, .ctx_size = sizeof(mem)};
	CHECK_EQ(bpfvm_prog_run(prog, &run), 0);
	*ret = run.retval;
	bpfvm_prog_destroy(prog);
	return 0;
}

/* r2 = config byte 0 << 3 as an offset into the 16-byte array: in bounds
 * only if the verifier knows the byte (0 or 1). */
static const char *const offset_prog =
	"r1 = map_value[0] + 0 ll\n"
	"r2 = *(u8 *)(r1 + 0)\n"
	"r2 <<= 3\n"
	"r1 = map_value[1] + 0 ll\n"
	"r1 += r2\n"
	"r0 = *(u64 *)(r1 + 0)\n"
	"r0 = r2\n"
	"exit\n";

TEST(a_frozen_read_only_map_is_read_as_constants)
{
	struct fixture f;
	char msg[512];
	uint64_t ret = 0;
	setup(&f, 1, 1);
	CHECK_EQ(load_run(&f, offset_prog, msg, sizeof(msg), &ret), 0);
	CHECK_EQ(ret, 8);
	teardown(&f);
}

TEST(an_unfrozen_read_only_map_is_not_constant)
{
	struct fixture f;
	char msg[512];
	uint64_t ret = 0;
	setup(&f, 1, 0);
	CHECK_EQ(load_run(&f, offset_prog, msg, sizeof(msg), &ret), -EACCES);
	CHECK_CONTAINS(msg, "R1 max value is outside of the allowed memory range");
	teardown(&f);
}

TEST(the_constant_is_the_value_in_the_map)
{
	struct fixture f;
	char msg[512];
	uint64_t ret = 0;
	setup(&f, 2, 1); /* 2 << 3 = 16: one past the 16-byte value */
	CHECK_EQ(load_run(&f, offset_prog, msg, sizeof(msg), &ret), -EACCES);
	CHECK_CONTAINS(msg, "R1 min value is outside of the allowed memory range"); /* the kernel's last line */
	teardown(&f);
}

TEST(programs_may_not_write_a_read_only_map)
{
	struct fixture f;
	char msg[512];
	uint64_t ret = 0;
	setup(&f, 0, 1);
	CHECK_EQ(load_run(&f, "r1 = map_value[0] + 4 ll\n*(u32 *)(r1 + 0) = 7\nr0 = 0\nexit\n", msg,
			  sizeof(msg), &ret), -EACCES);
	CHECK_CONTAINS(msg, "write into map forbidden, value_size=24 off=4 size=4");
	teardown(&f);
}

/* bpf_snprintf(buf, 16, "%d apples", args, 8): the format must be a
 * constant NUL-terminated string of a frozen read-only map. */
static const char *const snprintf_prog =
	"*(u64 *)(r10 - 8) = 3\n"
	"r1 = r10\n"
	"r1 += -24\n"
	"r2 = 16\n"
	"r3 = map_value[0] + %d ll\n"
	"r4 = r10\n"
	"r4 += -8\n"
	"r5 = 8\n"
	"call 165\n"
	"r0 = *(u8 *)(r10 - 24)\n"
	"exit\n";

TEST(format_strings_come_from_frozen_read_only_maps)
{
	struct fixture f;
	char msg[512], text[512];
	uint64_t ret = 0;
	setup(&f, 0, 1);
	snprintf(text, sizeof(text), snprintf_prog, 8);
	CHECK_EQ(load_run(&f, text, msg, sizeof(msg), &ret), 0);
	CHECK_EQ(ret, '3'); /* the buffer starts with "3 apples" */
	teardown(&f);

	setup(&f, 0, 0);
	snprintf(text, sizeof(text), snprintf_prog, 8);
	CHECK_EQ(load_run(&f, text, msg, sizeof(msg), &ret), -EACCES);
	CHECK_CONTAINS(msg, "R3 does not point to a readonly map'");
	teardown(&f);
}

TEST(strings_must_end_inside_the_value)
{
	struct fixture f;
	char msg[512], text[512];
	uint64_t ret = 0;
	CHECK_EQ(bpfvm_vm_create(&f.vm), 0);
	struct bpfvm_map_def cfg = {.type = BPFVM_MAP_ARRAY, .key_size = 4, .value_size = 8,
				    .max_entries = 1, .flags = BPF_F_RDONLY_PROG};
	struct bpfvm_map_def arr = {.type = BPFVM_MAP_ARRAY, .key_size = 4, .value_size = 16,
				    .max_entries = 1};
	CHECK_EQ(bpfvm_map_create(f.vm, &cfg, &f.maps[0]), 0);
	CHECK_EQ(bpfvm_map_create(f.vm, &arr, &f.maps[1]), 0);
	uint32_t zero = 0;
	CHECK_EQ(bpfvm_map_update(f.maps[0], &zero, "abcdefgh", BPFVM_ANY), 0);
	CHECK_EQ(bpfvm_map_freeze(f.maps[0]), 0);
	snprintf(text, sizeof(text), snprintf_prog, 0);
	CHECK_EQ(load_run(&f, text, msg, sizeof(msg), &ret), -EINVAL);
	CHECK_CONTAINS(msg, "string is not zero-terminated");
	teardown(&f);
}

TEST(a_frozen_map_refuses_host_writes)
{
	struct fixture f;
	setup(&f, 0, 1);
	uint32_t zero = 0;
	uint8_t value[24] = {0};
	CHECK_EQ(bpfvm_map_update(f.maps[0], &zero, value, BPFVM_ANY), -EPERM);
	CHECK_EQ(bpfvm_map_freeze(f.maps[0]), -EBUSY);
	CHECK_EQ(bpfvm_map_lookup(f.maps[0], &zero, value), 0);
	CHECK_EQ(value[8], '%'); /* reads still work */
	teardown(&f);
}

/* ---- the same programs in the kernel ------------------------------------------- */

#include <sys/syscall.h>
#include <unistd.h>

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	long rc = syscall(__NR_bpf, cmd, attr, sizeof(*attr));
	return rc < 0 ? -errno : rc;
}

/* The fixture's maps in the kernel: fds[2], or a negative errno. */
static long kernel_maps(uint8_t shift, int freeze, int fds[2])
{
	static const uint32_t sizes[2] = {24, 16}, flags[2] = {BPF_F_RDONLY_PROG, 0};
	for (int i = 0; i < 2; i++) {
		union bpf_attr a;
		memset(&a, 0, sizeof(a));
		a.map_type = BPF_MAP_TYPE_ARRAY;
		a.key_size = 4;
		a.value_size = sizes[i];
		a.max_entries = 1;
		a.map_flags = flags[i];
		long fd = sys_bpf(BPF_MAP_CREATE, &a);
		if (fd < 0)
			return fd;
		fds[i] = (int)fd;
	}
	uint8_t value[24] = {shift};
	memcpy(value + 8, "%d apples", 10);
	uint32_t zero = 0;
	union bpf_attr u;
	memset(&u, 0, sizeof(u));
	u.map_fd = (uint32_t)fds[0];
	u.key = (uint64_t)(uintptr_t)&zero;
	u.value = (uint64_t)(uintptr_t)value;
	long rc = sys_bpf(BPF_MAP_UPDATE_ELEM, &u);
	if (!rc && freeze) {
		memset(&u, 0, sizeof(u));
		u.map_fd = (uint32_t)fds[0];
		rc = sys_bpf(BPF_MAP_FREEZE, &u);
	}
	return rc;
}

/* The kernel's verdict on text as an XDP program (map_value[i] -> fds[i]). */
static long kernel_load(const char *text, const int fds[2])
{
	struct bpfvm_insn *insns;
	size_t n;
	char err[256];
	if (bpfvm_asm(text, BPFVM_SYNTAX_LLVM, "rodata", &insns, &n, err, sizeof(err)))
		return -EINVAL;
	for (size_t i = 0; i + 1 < n; i++)
		if (insns[i].code == 0x18 && insns[i].src == BPF_PSEUDO_MAP_VALUE) {
			insns[i].imm = fds[insns[i].imm];
			i++;
		}
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_XDP;
	a.insns = (uint64_t)(uintptr_t)insns;
	a.insn_cnt = (uint32_t)n;
	a.license = (uint64_t)(uintptr_t)"GPL";
	long fd = sys_bpf(BPF_PROG_LOAD, &a);
	free(insns);
	if (fd >= 0)
		close((int)fd);
	return fd >= 0 ? 0 : fd;
}

TEST(read_only_map_verdicts_match_the_kernel)
{
	const char *progs[] = {offset_prog, "r1 = map_value[0] + 4 ll\n*(u32 *)(r1 + 0) = 7\nr0 = 0\nexit\n"};
	for (int freeze = 0; freeze <= 1; freeze++)
		for (uint8_t shift = 0; shift <= 2; shift++)
			for (size_t p = 0; p < sizeof(progs) / sizeof(progs[0]); p++) {
				int fds[2] = {-1, -1};
				long krc = kernel_maps(shift, freeze, fds);
				if (krc == -EPERM || krc == -ENOSYS) {
					SKIP("bpf(2) is not permitted or not available here");
					return;
				}
				CHECK_EQ(krc, 0);
				krc = kernel_load(progs[p], fds);
				close(fds[0]);
				close(fds[1]);
				struct fixture f;
				char msg[512];
				uint64_t ret;
				setup(&f, shift, freeze);
				int rc = load_run(&f, progs[p], msg, sizeof(msg), &ret);
				if ((rc == 0) != (krc == 0))
					harness_fail(__FILE__, __LINE__, "program %zu, shift %u, frozen %d: bpfvm %d (%s), kernel %ld",
						     p, shift, freeze, rc, msg, krc);
				teardown(&f);
			}
}
