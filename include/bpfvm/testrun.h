/* bpfvm: run a program on a packet or a context, as the kernel's
 * BPF_PROG_TEST_RUN does.
 *
 * The context is built as the kernel's test run (net/bpf/test_run.c)
 * builds it, so that the same program on the same input gives the same
 * retval, data_out and ctx_out in bpfvm and in the kernel:
 *
 *  XDP            data_in is the frame (the first ctx_in->data bytes are
 *                 metadata); 256 bytes of headroom, 320 of tailroom in a
 *                 4096-byte frame, what does not fit in page-sized
 *                 fragments; ingress_ifindex 1 (loopback), rx_queue_index
 *                 0 unless ctx_in says otherwise.
 *  SOCKET_FILTER  an sk_buff whose Ethernet header is pulled: len =
 *                 data_size_in - 14, LD_ABS offsets start at the network
 *                 header, protocol from the EtherType, pkt_type from the
 *                 destination MAC as seen by the loopback device, ifindex
 *                 1; data_out has the Ethernet header zeroed, as the kernel
 *                 pushes back a zeroed header.
 *  SCHED_CLS/ACT  the same sk_buff with the Ethernet header pushed back:
 *                 len = data_size_in, data..data_end is the whole frame.
 *  KPROBE         ctx_in is a struct pt_regs (x86-64 layout).
 *  TRACEPOINT     ctx_in is the raw tracepoint record.
 *  RAW_TRACEPOINT ctx_in is the array of u64 arguments (at most 12).
 *  RAW            r1 = a copy of data_in, r2 = its length; data_out is
 *                 that memory after the run.
 *
 * ctx_in / ctx_out are the uapi structs (struct xdp_md, struct __sk_buff)
 * with the kernel's rules: fields the kernel does not take from the user
 * must be zero, a ctx_in longer than the struct must have a zero tail.
 */
#ifndef BPFVM_TESTRUN_H
#define BPFVM_TESTRUN_H

#include <stdint.h>

#include "bpfvm/vm.h"

#ifdef __cplusplus
extern "C" {
#endif

struct bpfvm_test_run_opts {
	/* In. */
	const void *data_in;
	uint32_t data_size_in;
	void *data_out;          /* may be NULL */
	uint32_t data_size_out;  /* in: capacity of data_out (0 is no room, where the
				  * kernel would copy without a limit); out: full size */
	const void *ctx_in;      /* may be NULL */
	uint32_t ctx_size_in;
	void *ctx_out;           /* may be NULL */
	uint32_t ctx_size_out;   /* in: capacity of ctx_out; out: full size */
	uint32_t repeat;         /* runs on the same context (0 = 1) */
	uint32_t cpu;            /* CPU id for per-CPU maps */
	enum bpfvm_engine engine;
	uint64_t budget;         /* checked mode, per run; 0 = default */
	void *user;              /* passed to host helpers */
	int no_duration;         /* skip the timing (two clock reads); duration stays 0 */
	/* Out. */
	uint32_t retval;         /* r0 of the last run, as the kernel reports it */
	uint64_t retval64;       /* the whole r0 */
	uint32_t duration;       /* average ns per run */
	int redirected;          /* the last run called a bpf_redirect* helper */
	uint32_t redirect_ifindex;
	uint64_t redirect_flags;
	char error[256];         /* why the call failed */
};

/* Run prog on opts' input. Returns 0, or -ENOSPC when data_out or ctx_out
 * was too small (what fits is copied, the sizes say how much there was,
 * retval is valid), or another negative errno with a message in
 * opts->error: -EINVAL for input the kernel rejects, -E2BIG for a ctx_in
 * with a non-zero tail, -ENOTSUP for a program type without a test run,
 * or the error of a faulting run. */
int bpfvm_prog_test_run(struct bpfvm_prog *prog, struct bpfvm_test_run_opts *opts);

/* A reusable test run: keeps the packet frame (allocated once in low
 * memory) and the context between calls, for replaying many packets. One
 * runner must not be used by two threads at once; use one per thread. */
struct bpfvm_test_runner;
int bpfvm_test_runner_create(struct bpfvm_prog *prog, struct bpfvm_test_runner **out);
int bpfvm_test_runner_run(struct bpfvm_test_runner *runner, struct bpfvm_test_run_opts *opts);
void bpfvm_test_runner_destroy(struct bpfvm_test_runner *runner);

/* Verdict names: "XDP_PASS", "TC_ACT_SHOT", ... or NULL when the value
 * has no name for that program type. */
const char *bpfvm_verdict_name(enum bpfvm_prog_type type, uint64_t retval);

#ifdef __cplusplus
}
#endif
#endif
