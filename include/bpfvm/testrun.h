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

struct bpfvm_fib;

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
	/* Routes and neighbours bpf_fib_lookup consults (NULL: only the
	 * loopback device, forwarding disabled, as a fresh network namespace). */
	const struct bpfvm_fib *fib;
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

/* ---- the host's FIB for bpf_fib_lookup ---------------------------------------
 *
 * Userspace has no kernel FIB: the host describes one. A FIB holds devices
 * (ifindex, MAC, MTU, forwarding), routes per table (IPv4/IPv6 prefix,
 * device, optional gateway, MTU, metric, preferred source, type) and
 * neighbours (address on a device -> MAC). bpf_fib_lookup then follows the
 * kernel's bpf_ipv4_fib_lookup / bpf_ipv6_fib_lookup on it: longest prefix
 * first, then the lowest metric; without BPF_FIB_LOOKUP_DIRECT the local
 * (255), main (254) and default (253) tables are searched in that order,
 * as the default rules do (policy rules, marks and multipath are not
 * modelled). Device ifindex 1 is the loopback (MTU 65536, forwarding off)
 * unless the host adds its own. Fill a FIB before the runs that use it; it
 * is read-only during runs and may be shared by runs on many threads. */

#define BPFVM_FIB_TABLE_MAIN 254

enum bpfvm_route_type {
	BPFVM_ROUTE_UNICAST = 0,
	BPFVM_ROUTE_BLACKHOLE,    /* bpf_fib_lookup: BPF_FIB_LKUP_RET_BLACKHOLE */
	BPFVM_ROUTE_UNREACHABLE,  /* BPF_FIB_LKUP_RET_UNREACHABLE */
	BPFVM_ROUTE_PROHIBIT,     /* BPF_FIB_LKUP_RET_PROHIBIT */
	BPFVM_ROUTE_LOCAL,        /* delivered locally: BPF_FIB_LKUP_RET_NOT_FWDED */
};

struct bpfvm_fib_dev {
	uint32_t ifindex;         /* > 0 */
	uint8_t mac[6];           /* the smac of lookups through this device */
	uint32_t mtu;             /* 0 = 1500 */
	int forwarding;           /* 0: lookups arriving here give FWD_DISABLED */
	/* The device's own addresses: sources for BPF_FIB_LOOKUP_SRC, and
	 * local destinations (NOT_FWDED) as the kernel's local table makes
	 * them. All zero = none. */
	uint8_t addr4[4];
	uint8_t addr6[16];
};

struct bpfvm_fib_route {
	int family;               /* AF_INET or AF_INET6 */
	uint8_t dst[16];          /* prefix, network order (4 bytes for IPv4) */
	uint8_t prefix_len;
	uint32_t ifindex;         /* the device the route leaves through */
	int gw_family;            /* 0: directly connected; AF_INET or AF_INET6 */
	uint8_t gateway[16];
	/* The route's MTU counts only when locked (ip route ... mtu lock N):
	 * the kernel's forwarding lookup ignores an unlocked one (without
	 * net.ipv4.ip_forward_use_pmtu, which is not modelled). */
	uint32_t mtu;
	int mtu_locked;
	uint32_t table;           /* 0 = BPFVM_FIB_TABLE_MAIN */
	uint32_t metric;          /* rt_metric of the result; lower wins */
	uint8_t prefsrc[16];      /* preferred source, all zero = none */
	enum bpfvm_route_type type;
	int lwt_encap;            /* has a lightweight-tunnel encap: UNSUPP_LWT */
};

struct bpfvm_fib_neigh {
	int family;               /* AF_INET or AF_INET6 */
	uint8_t addr[16];         /* network order */
	uint32_t ifindex;
	uint8_t mac[6];           /* the dmac of lookups that resolve to addr */
};

int bpfvm_fib_create(struct bpfvm_fib **out);
void bpfvm_fib_destroy(struct bpfvm_fib *fib);
/* 0, -EINVAL for bad fields (message in bpfvm_fib_last_error), -ENODEV
 * for a route or neighbour on a device not added, -ENOMEM. A device added
 * again replaces the first; routes and neighbours add up. */
int bpfvm_fib_add_dev(struct bpfvm_fib *fib, const struct bpfvm_fib_dev *dev);
int bpfvm_fib_add_route(struct bpfvm_fib *fib, const struct bpfvm_fib_route *route);
int bpfvm_fib_add_neigh(struct bpfvm_fib *fib, const struct bpfvm_fib_neigh *neigh);
/* Read a FIB from text, one entry a line ('#' starts a comment):
 *   dev IFINDEX [mac MAC] [mtu N] [forwarding] [addr IP]...
 *   route PREFIX/LEN dev IFINDEX [via IP] [mtu [lock] N] [table N] [metric N]
 *         [src IP] [blackhole|unreachable|prohibit|local] [lwt]
 *   neigh IP dev IFINDEX lladdr MAC
 * 0, or -EINVAL with "line N: why" in bpfvm_fib_last_error. */
int bpfvm_fib_parse(struct bpfvm_fib *fib, const char *text);
const char *bpfvm_fib_last_error(const struct bpfvm_fib *fib);

/* Verdict names: "XDP_PASS", "TC_ACT_SHOT", ... or NULL when the value
 * has no name for that program type. */
const char *bpfvm_verdict_name(enum bpfvm_prog_type type, uint64_t retval);

#ifdef __cplusplus
}
#endif
#endif
