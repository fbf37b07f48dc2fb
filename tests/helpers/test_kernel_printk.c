/* bpf_trace_printk against the kernel: the same program (format on the
 * stack, three arguments, call 6) is run by BPF_PROG_TEST_RUN as a socket
 * filter and by bpfvm; the return values (text length, or -EINVAL for the
 * formats the kernel rejects) must agree. The kernel's retval is 32-bit.
 * Skips cleanly when bpf(2) is not permitted or absent. */
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bpfvm/vm.h"
#include "common/harness.h"

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

static struct bpfvm_insn mk(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	return (struct bpfvm_insn){.code = code, .dst = dst, .src = src, .off = off, .imm = imm};
}

static size_t emit_lddw(struct bpfvm_insn *p, uint8_t dst, uint64_t v)
{
	p[0] = mk(0x18, dst, 0, 0, (int32_t)(uint32_t)v);
	p[1] = mk(0, 0, 0, 0, (int32_t)(uint32_t)(v >> 32));
	return 2;
}

/* fmt (NUL included) on the stack, r3..r5 = args, call 6, exit. */
static size_t build(struct bpfvm_insn *p, const char *fmt, const uint64_t args[3])
{
	size_t len = strlen(fmt) + 1, padded = (len + 7) & ~(size_t)7, n = 0;
	for (size_t i = 0; i < padded; i += 8) {
		uint64_t chunk = 0;
		memcpy(&chunk, fmt + i, len - i < 8 ? len - i : 8);
		n += emit_lddw(p + n, 1, chunk);
		p[n++] = mk(0x7b, 10, 1, (int16_t)(i - padded), 0); /* *(u64 *)(r10 - ..) = r1 */
	}
	p[n++] = mk(0xbf, 1, 10, 0, 0);                 /* r1 = r10 */
	p[n++] = mk(0x07, 1, 0, 0, -(int32_t)padded);  /* r1 += -padded */
	p[n++] = mk(0xb7, 2, 0, 0, (int32_t)len);      /* r2 = len */
	for (int a = 0; a < 3; a++)
		n += emit_lddw(p + n, (uint8_t)(3 + a), args[a]);
	p[n++] = mk(0x85, 0, 0, 0, 6);                 /* call 6 */
	p[n++] = mk(0x95, 0, 0, 0, 0);                 /* exit */
	return n;
}

/* 0 and the kernel's retval, or -errno when the kernel cannot run it. */
static int kernel_run(const struct bpfvm_insn *insns, size_t n, uint32_t *retval)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	a.insns = (uint64_t)(uintptr_t)insns;
	a.insn_cnt = (uint32_t)n;
	a.license = (uint64_t)(uintptr_t)"GPL";
	long fd = sys_bpf(BPF_PROG_LOAD, &a);
	if (fd < 0)
		return -errno;
	uint8_t pkt[64] = {0};
	memset(&a, 0, sizeof(a));
	a.test.prog_fd = (uint32_t)fd;
	a.test.data_in = (uint64_t)(uintptr_t)pkt;
	a.test.data_size_in = sizeof(pkt);
	a.test.repeat = 1;
	long rc = sys_bpf(BPF_PROG_TEST_RUN, &a);
	int err = rc < 0 ? -errno : 0;
	close((int)fd);
	*retval = a.test.retval;
	return err;
}

static void discard(void *user, const char *text, size_t len)
{
	(void)user, (void)text, (void)len;
}

static int vm_run(const struct bpfvm_insn *insns, size_t n, uint32_t *retval)
{
	struct bpfvm_vm *vm;
	bpfvm_vm_create(&vm);
	bpfvm_vm_set_print(vm, discard, NULL);
	struct bpfvm_prog_opts opts = {.safety = BPFVM_SAFETY_CHECKED, .engine = BPFVM_ENGINE_INTERP};
	struct bpfvm_prog *prog;
	int rc = bpfvm_prog_load(vm, insns, n, &opts, &prog);
	if (!rc) {
		struct bpfvm_run run = {.engine = BPFVM_ENGINE_INTERP};
		rc = bpfvm_prog_run(prog, &run);
		*retval = (uint32_t)run.retval;
	}
	bpfvm_vm_destroy(vm);
	return rc;
}

static const struct {
	const char *fmt;
	uint64_t args[3];
} cases[] = {
	{"hello\n", {0}},
	{"%d %u %x\n", {(uint64_t)-5, 0xffffffffull, 255}},
	{"%d", {0x100000005ull}},
	{"%ld %lu %lx", {(uint64_t)-1, (uint64_t)-1, 0xabcdef0123ull}},
	{"%lld %llu %llx", {(uint64_t)-12345, 1ull << 63, 0xdeadbeefcafeull}},
	{"%i %li %lli", {(uint64_t)-7, (uint64_t)-8, 9}},
	{"%X %lX %llX", {0xabc, 0xdef, 0x123}},
	{"[%5d][%-5d][%05d]", {42, 42, 42}},
	{"[% d][%+d][%-+8d]", {7, 7, 7}},
	{"%c%c%c", {'a', 'b', 'c'}},
	{"%%d %d%%", {3}},
	{"[%s]", {0}},
	{"%p", {0x1234}},
	{"%px", {0xffff888012345678ull}},
	{"%d %d %d %d", {1, 2, 3}},
	{"%f", {1}},
	{"%.2d", {1}},
	{"%lllu", {1}},
	{"%sa", {0}},
	{"%pz", {0}},
	{"%#x", {1}},
	{"abc%", {0}},
	{"tab\there", {0}},
	{"bell\a", {0}},
	{"caf\xc3\xa9", {0}},
	{"%5c|%-3c|", {'x', 'y'}},
	{"%10llu|%-10lx|", {123, 0xab}},
	{"%123456789d", {1}},
	{"%-300d|%0300d|%300s", {1, (uint64_t)-2, 0}},
	{"ctl\x85", {0}},
	{"del\x7f", {0}},
	{"ctl\x01", {0}},
	{"%s\xa1", {0}},
	{"%s\xc3", {0}},
	{"nbsp\xa0%d", {5}},
	{"%p|%10p", {0, 0}},
	{"%5s|%-5s|", {0, 0}},
};

TEST(trace_printk_return_values_match_kernel)
{
	struct bpfvm_insn insns[128];
	int compared = 0;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = build(insns, cases[i].fmt, cases[i].args);
		uint32_t kret = 0, vret = 0;
		int krc = kernel_run(insns, n, &kret);
		if (krc == -EPERM || krc == -ENOSYS || krc == -EACCES) {
			if (compared == 0)
				SKIP("bpf(2) program loading is not permitted here");
			continue;
		}
		if (krc) {
			harness_fail(__FILE__, __LINE__, "kernel could not run '%s': %d", cases[i].fmt, krc);
			continue;
		}
		int vrc = vm_run(insns, n, &vret);
		if (vrc) {
			harness_fail(__FILE__, __LINE__, "bpfvm could not run '%s': %d", cases[i].fmt, vrc);
			continue;
		}
		if (kret != vret)
			harness_fail(__FILE__, __LINE__, "'%s': kernel returned %d, bpfvm %d", cases[i].fmt,
				     (int32_t)kret, (int32_t)vret);
		compared++;
	}
	printf("  %d formats compared\n", compared);
	CHECK(compared > 0);
}
