/* Checked mode: a program that hands a helper a pointer its prototype does
 * not allow faults before the helper runs, on every engine, with a message
 * naming the helper and the argument -- never a crash of the process. */
#include <errno.h>
#include <stdlib.h>

#include "bpfvm/bpfvm.h"
#include "common/harness.h"

static int run_checked(const char *text, enum bpfvm_engine engine, void *mem, size_t len,
		       char *msg, size_t msglen)
{
	struct bpfvm_vm *vm;
	struct bpfvm_insn *insns;
	size_t n;
	char err[256];
	if (bpfvm_vm_create(&vm))
		return -ENOMEM;
	int rc = bpfvm_asm(text, BPFVM_SYNTAX_LLVM, "test", &insns, &n, err, sizeof(err));
	if (rc) {
		snprintf(msg, msglen, "asm: %s", err);
		bpfvm_vm_destroy(vm);
		return rc;
	}
	struct bpfvm_prog_opts opts = {.safety = BPFVM_SAFETY_CHECKED, .engine = engine};
	struct bpfvm_prog *prog;
	rc = bpfvm_prog_load(vm, insns, n, &opts, &prog);
	free(insns);
	if (rc) {
		snprintf(msg, msglen, "load: %s", bpfvm_vm_last_error(vm));
		bpfvm_vm_destroy(vm);
		return rc;
	}
	struct bpfvm_run run = {.ctx = mem, .ctx_size = len, .engine = engine};
	rc = bpfvm_prog_run(prog, &run);
	snprintf(msg, msglen, "%s", run.error);
	bpfvm_vm_destroy(vm);
	return rc;
}

static const enum bpfvm_engine engines[] = {BPFVM_ENGINE_INTERP, BPFVM_ENGINE_JIT};

static void expect_fault(const char *text, const char *want)
{
	for (size_t e = 0; e < sizeof(engines) / sizeof(engines[0]); e++) {
		char msg[256] = "";
		uint8_t mem[16] = {0};
		int rc = run_checked(text, engines[e], mem, sizeof(mem), msg, sizeof(msg));
		if (rc == -ENOTSUP && engines[e] == BPFVM_ENGINE_JIT)
			continue; /* no JIT on this machine */
		CHECK_EQ(rc, -EFAULT);
		CHECK_CONTAINS(msg, want);
	}
}

TEST(printk_with_a_null_format_faults_instead_of_crashing)
{
	expect_fault("r1 = 0\nr2 = 16\ncall 6\nr0 = 0\nexit\n", "bpf_trace_printk#6: R1 = 0x0");
}

TEST(printk_format_larger_than_its_memory_faults)
{
	/* r1 = the 16-byte memory, but the size claims 4096 bytes. */
	expect_fault("r2 = 4096\ncall 6\nr0 = 0\nexit\n", "4096 bytes not readable");
}

TEST(map_helper_with_a_fake_map_faults)
{
	expect_fault("r1 = 0x1000 ll\nr2 = r10\nr2 += -8\n*(u64 *)(r10 - 8) = r2\ncall 1\nexit\n",
		     "R1 = 0x1000 is not a map");
}

TEST(helper_writing_to_wild_memory_faults)
{
	/* bpf_probe_read_kernel(dst = 0x1000, size = 8, src = stack) */
	expect_fault("r1 = 0x1000\nr2 = 8\nr3 = r10\nr3 += -8\ncall 113\nr0 = 0\nexit\n",
		     "8 bytes not writable");
}

TEST(helpers_still_accept_the_stack_and_the_memory)
{
	for (size_t e = 0; e < sizeof(engines) / sizeof(engines[0]); e++) {
		char msg[256] = "";
		uint8_t mem[16] = "hi %d\n";
		int rc = run_checked("r2 = 7\nr3 = 5\ncall 6\nr1 = r10\nr1 += -8\nr2 = 8\nr3 = 0\n"
				     "call 113\nr0 = 0\nexit\n",
				     engines[e], mem, sizeof(mem), msg, sizeof(msg));
		if (rc == -ENOTSUP && engines[e] == BPFVM_ENGINE_JIT)
			continue;
		CHECK_EQ(rc, 0);
	}
}
