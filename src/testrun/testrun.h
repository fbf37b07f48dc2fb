/* Test runs: per-program-type context building (the kernel's
 * net/bpf/test_run.c) behind one driver. Internal to src/testrun. */
#ifndef BPFVM_TESTRUN_TESTRUN_H
#define BPFVM_TESTRUN_TESTRUN_H

#include "bpfvm/testrun.h"
#include "packet/packet.h"

struct bpfvm_test_runner {
	struct bpfvm_prog *prog;
	const struct tr_type *type; /* how this program type runs */
	struct bpfvm_run run;
	struct bpfvm_pkt pkt;  /* XDP and sk_buff types; frame allocated on first use */
	uint8_t *mem;          /* RAW memory or tracing context (malloc'ed) */
	size_t mem_cap;
	/* The kernel's copy of ctx_in (bpf_ctx_init): what ctx_out starts from. */
	union {
		struct xdp_md xdp;
		struct __sk_buff skb;
		uint8_t bytes[192];
	} ctx;
	int have_ctx;          /* ctx_in or ctx_out was given */
	int ctx_dirty;         /* ctx holds a caller's values: zero it before reuse */
};

/* How one program type builds its context and reports the result. */
struct tr_type {
	enum bpfvm_prog_type type;
	/* Build the context for opts into r->run; 0 or -errno (message in opts->error). */
	int (*prepare)(struct bpfvm_test_runner *r, struct bpfvm_test_run_opts *opts);
	/* Write data_out / ctx_out after the runs; 0, -ENOSPC or -errno. */
	int (*finish)(struct bpfvm_test_runner *r, struct bpfvm_test_run_opts *opts);
};

extern const struct tr_type bpfvm__tr_xdp, bpfvm__tr_socket_filter, bpfvm__tr_sched_cls,
	bpfvm__tr_sched_act, bpfvm__tr_kprobe, bpfvm__tr_tracepoint, bpfvm__tr_raw_tracepoint,
	bpfvm__tr_raw;

/* Set opts->error; returns err. */
int bpfvm__tr_error(struct bpfvm_test_run_opts *opts, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* bpf_ctx_init: copy ctx_in (at most max bytes; a longer ctx_in must have
 * a zero tail) into r->ctx, zero-filled. */
int bpfvm__tr_ctx_init(struct bpfvm_test_runner *r, struct bpfvm_test_run_opts *opts, size_t max);
/* bpf_ctx_finish: copy size bytes of r->ctx to ctx_out. */
int bpfvm__tr_ctx_finish(struct bpfvm_test_runner *r, struct bpfvm_test_run_opts *opts, size_t size);
/* bpf_test_finish: copy size bytes from data to data_out. */
int bpfvm__tr_data_finish(struct bpfvm_test_run_opts *opts, const void *data, size_t size);
/* The packet frame of the runner, allocated on first use (zeroed
 * headroom of the given size). NULL with a message when memory is out. */
uint8_t *bpfvm__tr_frame(struct bpfvm_test_runner *r, struct bpfvm_test_run_opts *opts,
			 size_t headroom);
/* Runner memory of at least size bytes, zeroed. */
uint8_t *bpfvm__tr_mem(struct bpfvm_test_runner *r, struct bpfvm_test_run_opts *opts, size_t size);

#endif
