/* Shared by the test-run tests: instruction builders, packet builders and
 * the kernel oracle (BPF_PROG_TEST_RUN through libbpf). Static functions
 * only: each test file is its own binary. */
#ifndef BPFVM_TESTS_TR_UTIL_H
#define BPFVM_TESTS_TR_UTIL_H

#include <bpf/bpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bpfvm/bpfvm.h"
#include "bpfvm/testrun.h"
#include "common/harness.h"

/* ---- instructions ----------------------------------------------------------- */

#define I(CODE, DST, SRC, OFF, IMM) ((struct bpfvm_insn){(CODE), (DST), (SRC), (OFF), (IMM)})
#define MOV64_IMM(D, IMM) I(BPF_ALU64 | BPF_MOV | BPF_K, D, 0, 0, IMM)
#define MOV64_REG(D, S) I(BPF_ALU64 | BPF_MOV | BPF_X, D, S, 0, 0)
#define ADD64_IMM(D, IMM) I(BPF_ALU64 | BPF_ADD | BPF_K, D, 0, 0, IMM)
#define ADD64_REG(D, S) I(BPF_ALU64 | BPF_ADD | BPF_X, D, S, 0, 0)
#define SUB64_REG(D, S) I(BPF_ALU64 | BPF_SUB | BPF_X, D, S, 0, 0)
#define LDX_W(D, S, OFF) I(BPF_LDX | BPF_MEM | BPF_W, D, S, OFF, 0)
#define LDX_H(D, S, OFF) I(BPF_LDX | BPF_MEM | BPF_H, D, S, OFF, 0)
#define LDX_B(D, S, OFF) I(BPF_LDX | BPF_MEM | BPF_B, D, S, OFF, 0)
#define LDX_DW(D, S, OFF) I(BPF_LDX | BPF_MEM | BPF_DW, D, S, OFF, 0)
#define STX_W(D, S, OFF) I(BPF_STX | BPF_MEM | BPF_W, D, S, OFF, 0)
#define STX_B(D, S, OFF) I(BPF_STX | BPF_MEM | BPF_B, D, S, OFF, 0)
#define ST_W(D, OFF, IMM) I(BPF_ST | BPF_MEM | BPF_W, D, 0, OFF, IMM)
#define ST_B(D, OFF, IMM) I(BPF_ST | BPF_MEM | BPF_B, D, 0, OFF, IMM)
#define LD_ABS_B(IMM) I(BPF_LD | BPF_ABS | BPF_B, 0, 0, 0, IMM)
#define LD_ABS_H(IMM) I(BPF_LD | BPF_ABS | BPF_H, 0, 0, 0, IMM)
#define LD_ABS_W(IMM) I(BPF_LD | BPF_ABS | BPF_W, 0, 0, 0, IMM)
#define JGT_REG(D, S, OFF) I(BPF_JMP | BPF_JGT | BPF_X, D, S, OFF, 0)
#define JEQ_IMM(D, IMM, OFF) I(BPF_JMP | BPF_JEQ | BPF_K, D, 0, OFF, IMM)
#define JNE_IMM(D, IMM, OFF) I(BPF_JMP | BPF_JNE | BPF_K, D, 0, OFF, IMM)
#define CALL(ID) I(BPF_JMP | BPF_CALL, 0, 0, 0, ID)
#define EXIT() I(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)
#define NINSNS(a) (sizeof(a) / sizeof((a)[0]))

/* ---- packets ---------------------------------------------------------------- */

/* An Ethernet + IPv4 + UDP frame of total length len (>= 42) with a
 * valid IPv4 header checksum; payload bytes are i & 0xff. */
static inline void tr_udp4(uint8_t *p, size_t len, const uint8_t dst_mac[6])
{
	memset(p, 0, len);
	for (size_t i = 42; i < len; i++)
		p[i] = (uint8_t)i;
	memcpy(p, dst_mac, 6);
	const uint8_t src[6] = {0x02, 0, 0, 0, 0, 0x02};
	memcpy(p + 6, src, 6);
	p[12] = 0x08, p[13] = 0x00;
	uint8_t *ip = p + 14;
	size_t iplen = len - 14;
	ip[0] = 0x45, ip[2] = (uint8_t)(iplen >> 8), ip[3] = (uint8_t)iplen;
	ip[8] = 64, ip[9] = 17;
	ip[12] = 10, ip[15] = 1, ip[16] = 10, ip[19] = 2;
	uint32_t sum = 0;
	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	sum = ~sum & 0xffff;
	ip[10] = (uint8_t)(sum >> 8), ip[11] = (uint8_t)sum;
	uint8_t *udp = ip + 20;
	udp[0] = 0x30, udp[1] = 0x39, udp[2] = 0x00, udp[3] = 0x35;
	udp[4] = (uint8_t)((iplen - 20) >> 8), udp[5] = (uint8_t)(iplen - 20);
}

static const uint8_t tr_mac_other[6] = {0x02, 0, 0, 0, 0, 0x01};

/* ---- bpfvm -------------------------------------------------------------------- */

struct tr_result {
	int rc;
	uint32_t retval;
	uint32_t data_size_out;
	uint8_t data_out[4096] __attribute__((aligned(8)));
	uint8_t ctx_out[256] __attribute__((aligned(8)));
	uint32_t ctx_size_out;
	char error[256];
};

/* Run insns on bpfvm in checked mode (verified mode too when the verifier
 * is built in and accepts it; the results must agree). */
static inline int tr_bpfvm(enum bpfvm_prog_type type, const struct bpfvm_insn *insns, size_t n,
			   const struct bpfvm_test_run_opts *in, enum bpfvm_engine engine,
			   enum bpfvm_safety safety, struct tr_result *res)
{
	struct bpfvm_vm *vm;
	struct bpfvm_prog *prog;
	memset(res, 0, sizeof(*res));
	if (bpfvm_vm_create(&vm))
		return -ENOMEM;
	struct bpfvm_prog_opts po = {.name = "t", .type = type, .safety = safety, .engine = engine};
	int rc = bpfvm_prog_load(vm, insns, n, &po, &prog);
	if (rc) {
		snprintf(res->error, sizeof(res->error), "load: %s", bpfvm_vm_last_error(vm));
		bpfvm_vm_destroy(vm);
		return res->rc = rc;
	}
	struct bpfvm_test_run_opts o = *in;
	o.engine = engine;
	o.data_out = in->data_out ? res->data_out : NULL;
	o.data_size_out = in->data_out ? (in->data_size_out ? in->data_size_out : sizeof(res->data_out)) : 0;
	o.ctx_out = in->ctx_out ? res->ctx_out : NULL;
	o.ctx_size_out = in->ctx_out ? (in->ctx_size_out ? in->ctx_size_out : sizeof(res->ctx_out)) : 0;
	res->rc = bpfvm_prog_test_run(prog, &o);
	res->retval = o.retval;
	res->data_size_out = o.data_size_out;
	res->ctx_size_out = o.ctx_size_out;
	snprintf(res->error, sizeof(res->error), "%s", o.error);
	bpfvm_vm_destroy(vm);
	return res->rc;
}

/* ---- the kernel ------------------------------------------------------------------ */

#define TR_NO_KERNEL 1 /* tr_kernel: no BPF here (not root, no bpf()) */

/* Run insns through the kernel's BPF_PROG_TEST_RUN. Returns TR_NO_KERNEL
 * when the kernel cannot be used, -errno of a failed load, else 0 with
 * the test run's result in res. */
static inline int tr_kernel(enum bpfvm_prog_type type, const struct bpfvm_insn *insns, size_t n,
			    const struct bpfvm_test_run_opts *in, struct tr_result *res)
{
	memset(res, 0, sizeof(*res));
	char log[4096] = "";
	LIBBPF_OPTS(bpf_prog_load_opts, lo, .log_buf = log, .log_size = sizeof(log), .log_level = 1);
	int fd = bpf_prog_load((enum bpf_prog_type)type, "t", "GPL", (const struct bpf_insn *)insns, n, &lo);
	if (fd < 0) {
		int e = errno;
		if (e == EPERM || e == ENOSYS)
			return TR_NO_KERNEL;
		snprintf(res->error, sizeof(res->error), "kernel load: %.200s", log + (strlen(log) > 200 ? strlen(log) - 200 : 0));
		return -e;
	}
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in->data_in, .data_size_in = in->data_size_in,
		    .ctx_in = in->ctx_in, .ctx_size_in = in->ctx_size_in, .repeat = in->repeat);
	if (in->data_out) {
		o.data_out = res->data_out;
		o.data_size_out = in->data_size_out ? in->data_size_out : sizeof(res->data_out);
	}
	if (in->ctx_out) {
		o.ctx_out = res->ctx_out;
		o.ctx_size_out = in->ctx_size_out ? in->ctx_size_out : sizeof(res->ctx_out);
	}
	int rc = bpf_prog_test_run_opts(fd, &o);
	res->rc = rc ? -errno : 0;
	res->retval = o.retval;
	res->data_size_out = o.data_size_out;
	res->ctx_size_out = o.ctx_size_out;
	close(fd);
	return 0;
}

/* Run on bpfvm (interpreter, and JIT when present) and, where possible,
 * the kernel; check that they agree on status, retval, data_out, ctx_out.
 * The bpfvm interpreter result is left in *res. */
static inline void tr_check_same(const char *file, int line, enum bpfvm_prog_type type,
				 const struct bpfvm_insn *insns, size_t n,
				 const struct bpfvm_test_run_opts *in, struct tr_result *res)
{
	static struct tr_result k, j;
	tr_bpfvm(type, insns, n, in, BPFVM_ENGINE_INTERP, BPFVM_SAFETY_CHECKED, res);
	if (tr_bpfvm(type, insns, n, in, BPFVM_ENGINE_JIT, BPFVM_SAFETY_CHECKED, &j) != -ENOTSUP) {
		if (j.rc != res->rc || j.retval != res->retval || j.data_size_out != res->data_size_out ||
		    memcmp(j.data_out, res->data_out, sizeof(j.data_out)))
			harness_fail(file, line, "JIT and interpreter differ: rc %d/%d retval %u/%u (%s)",
				     j.rc, res->rc, j.retval, res->retval, j.error);
	}
	/* Verified mode, when the verifier is built in and accepts the
	 * program (rejections are the verifier tests' business). */
	if (tr_bpfvm(type, insns, n, in, BPFVM_ENGINE_INTERP, BPFVM_SAFETY_VERIFIED, &j) == 0 ||
	    !strstr(j.error, "load:")) {
		if (j.rc != res->rc || j.retval != res->retval || j.data_size_out != res->data_size_out ||
		    memcmp(j.data_out, res->data_out, sizeof(j.data_out)))
			harness_fail(file, line, "verified and checked modes differ: rc %d/%d retval %u/%u (%s)",
				     j.rc, res->rc, j.retval, res->retval, j.error);
	}
	int krc = tr_kernel(type, insns, n, in, &k);
	if (krc == TR_NO_KERNEL)
		return;
	if (krc) {
		harness_fail(file, line, "kernel rejected the program: %s", k.error);
		return;
	}
	if (k.rc != res->rc)
		harness_fail(file, line, "status: kernel %d, bpfvm %d (%s)", k.rc, res->rc, res->error);
	if (k.rc && k.rc != -ENOSPC)
		return;
	if (k.retval != res->retval)
		harness_fail(file, line, "retval: kernel %u (0x%x), bpfvm %u (0x%x)", k.retval, k.retval,
			     res->retval, res->retval);
	if (in->data_out && (k.data_size_out != res->data_size_out ||
			     memcmp(k.data_out, res->data_out, k.data_size_out < sizeof(k.data_out) ? k.data_size_out : sizeof(k.data_out)))) {
		size_t i = 0;
		while (i < k.data_size_out && k.data_out[i] == res->data_out[i])
			i++;
		harness_fail(file, line, "data_out: kernel %u bytes, bpfvm %u; first difference at %zu",
			     k.data_size_out, res->data_size_out, i);
	}
	if (in->ctx_out && (k.ctx_size_out != res->ctx_size_out ||
			    memcmp(k.ctx_out, res->ctx_out, k.ctx_size_out))) {
		size_t i = 0;
		while (i < k.ctx_size_out && k.ctx_out[i] == res->ctx_out[i])
			i++;
		harness_fail(file, line, "ctx_out: kernel %u bytes, bpfvm %u; first difference at byte %zu",
			     k.ctx_size_out, res->ctx_size_out, i);
	}
}

#define CHECK_SAME(type, insns, opts, res) \
	tr_check_same(__FILE__, __LINE__, type, insns, NINSNS(insns), opts, res)

#endif
