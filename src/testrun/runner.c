/* The test-run driver: validate the request, let the program type build
 * its context, run the program `repeat` times on it (as the kernel does,
 * the runs share the context), time them and copy the results out. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testrun/testrun.h"

_Static_assert(sizeof(struct __sk_buff) <= 192, "runner ctx copy holds a struct __sk_buff");

static const struct tr_type *const types[] = {
	&bpfvm__tr_xdp,        &bpfvm__tr_socket_filter, &bpfvm__tr_sched_cls,
	&bpfvm__tr_sched_act,  &bpfvm__tr_kprobe,        &bpfvm__tr_tracepoint,
	&bpfvm__tr_raw_tracepoint, &bpfvm__tr_raw,
};

static const struct tr_type *type_of(enum bpfvm_prog_type t)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i]->type == t)
			return types[i];
	return NULL;
}

int bpfvm__tr_error(struct bpfvm_test_run_opts *opts, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(opts->error, sizeof(opts->error), fmt, ap);
	va_end(ap);
	return err;
}

int bpfvm__tr_ctx_init(struct bpfvm_test_runner *r, struct bpfvm_test_run_opts *opts, size_t max)
{
	if (r->ctx_dirty)
		memset(&r->ctx, 0, sizeof(r->ctx));
	r->have_ctx = opts->ctx_in || opts->ctx_out;
	r->ctx_dirty = r->have_ctx;
	if (!opts->ctx_in)
		return 0;
	const uint8_t *in = opts->ctx_in;
	for (size_t i = max; i < opts->ctx_size_in; i++)
		if (in[i])
			return bpfvm__tr_error(opts, -E2BIG, "ctx_in: byte %zu is beyond the %zu-byte "
					       "context and not zero", i, max);
	memcpy(&r->ctx, in, opts->ctx_size_in < max ? opts->ctx_size_in : max);
	return 0;
}

int bpfvm__tr_ctx_finish(struct bpfvm_test_runner *r, struct bpfvm_test_run_opts *opts, size_t size)
{
	if (!opts->ctx_out)
		return 0;
	int rc = 0;
	size_t n = size;
	if (opts->ctx_size_out < size) {
		n = opts->ctx_size_out;
		rc = bpfvm__tr_error(opts, -ENOSPC, "ctx_out: %u bytes, the context has %zu",
				     opts->ctx_size_out, size);
	}
	memcpy(opts->ctx_out, &r->ctx, n);
	opts->ctx_size_out = (uint32_t)size;
	return rc;
}

int bpfvm__tr_data_finish(struct bpfvm_test_run_opts *opts, const void *data, size_t size)
{
	int rc = 0;
	if (opts->data_out) {
		size_t n = size;
		if (opts->data_size_out < size) {
			n = opts->data_size_out;
			rc = bpfvm__tr_error(opts, -ENOSPC, "data_out: %u bytes, the output has %zu",
					     opts->data_size_out, size);
		}
		memcpy(opts->data_out, data, n);
	}
	opts->data_size_out = (uint32_t)size;
	return rc;
}

uint8_t *bpfvm__tr_frame(struct bpfvm_test_runner *r, struct bpfvm_test_run_opts *opts,
			 size_t headroom)
{
	if (!r->pkt.frame) {
		r->pkt.frame = bpfvm__pkt_frame_alloc();
		if (!r->pkt.frame) {
			bpfvm__tr_error(opts, -ENOMEM, "cannot map a packet frame below 2 GiB");
			return NULL;
		}
	}
	memset(r->pkt.frame, 0, headroom);
	return r->pkt.frame;
}

uint8_t *bpfvm__tr_mem(struct bpfvm_test_runner *r, struct bpfvm_test_run_opts *opts, size_t size)
{
	if (size == 0)
		size = 1;
	if (size > r->mem_cap) {
		uint8_t *m = realloc(r->mem, size);
		if (!m) {
			bpfvm__tr_error(opts, -ENOMEM, "out of memory (%zu bytes)", size);
			return NULL;
		}
		r->mem = m;
		r->mem_cap = size;
	}
	memset(r->mem, 0, size);
	return r->mem;
}

int bpfvm_test_runner_create(struct bpfvm_prog *prog, struct bpfvm_test_runner **out)
{
	*out = NULL;
	if (!prog)
		return -EINVAL;
	if (!type_of(bpfvm_prog_type(prog)))
		return -ENOTSUP;
	struct bpfvm_test_runner *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->prog = prog;
	r->type = type_of(bpfvm_prog_type(prog));
	r->pkt.type = bpfvm_prog_type(prog);
	*out = r;
	return 0;
}

void bpfvm_test_runner_destroy(struct bpfvm_test_runner *r)
{
	if (!r)
		return;
	bpfvm__pkt_frame_free(r->pkt.frame);
	free(r->pkt.frags);
	free(r->mem);
	free(r);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Run the prepared context `repeat` times; the runs share it, as in the
 * kernel's bpf_test_run. */
static int run_repeated(struct bpfvm_test_runner *r, struct bpfvm_test_run_opts *opts)
{
	uint32_t repeat = opts->repeat ? opts->repeat : 1;
	uint64_t start = opts->no_duration ? 0 : now_ns();
	for (uint32_t i = 0; i < repeat; i++) {
		int rc = bpfvm_prog_run(r->prog, &r->run);
		if (rc)
			return bpfvm__tr_error(opts, rc, "%s", r->run.error);
	}
	if (!opts->no_duration) {
		uint64_t avg = (now_ns() - start) / repeat;
		opts->duration = avg > UINT32_MAX ? UINT32_MAX : (uint32_t)avg;
	}
	opts->retval64 = r->run.retval;
	opts->retval = (uint32_t)r->run.retval;
	opts->redirected = r->run.redirected;
	opts->redirect_ifindex = r->run.redirected ? r->run.redirect_ifindex : 0;
	opts->redirect_flags = r->run.redirected ? r->run.redirect_flags : 0;
	return 0;
}

int bpfvm_test_runner_run(struct bpfvm_test_runner *r, struct bpfvm_test_run_opts *opts)
{
	const struct tr_type *t = r->type;
	opts->error[0] = 0;
	opts->retval = 0;
	opts->retval64 = 0;
	opts->duration = 0;
	opts->redirected = 0;
	if (!t)
		return bpfvm__tr_error(opts, -ENOTSUP, "program type %d has no test run",
				       (int)bpfvm_prog_type(r->prog));
	if (opts->data_size_in && !opts->data_in)
		return bpfvm__tr_error(opts, -EINVAL, "data_size_in is %u but data_in is NULL",
				       opts->data_size_in);
	if (opts->ctx_size_in && !opts->ctx_in)
		return bpfvm__tr_error(opts, -EINVAL, "ctx_size_in is %u but ctx_in is NULL",
				       opts->ctx_size_in);
	/* The run's inputs that come from opts. The context, packet and
	 * region fields are set by the type's prepare, and those a type does
	 * not use keep the zero of bpfvm_test_runner_create (a runner never
	 * changes type): this is the per-packet path of replays. */
	r->run.engine = opts->engine;
	r->run.budget = opts->budget;
	r->run.cpu = opts->cpu;
	r->run.user = opts->user;
	r->pkt.fib = opts->fib;
	int rc = t->prepare(r, opts);
	if (rc)
		return rc;
	rc = run_repeated(r, opts);
	if (rc)
		return rc;
	return t->finish(r, opts);
}

int bpfvm_prog_test_run(struct bpfvm_prog *prog, struct bpfvm_test_run_opts *opts)
{
	struct bpfvm_test_runner *r;
	int rc = bpfvm_test_runner_create(prog, &r);
	if (rc) {
		opts->error[0] = 0;
		return bpfvm__tr_error(opts, rc, rc == -ENOTSUP ? "program type %d has no test run"
								: "cannot create a test run (%d)",
				       prog ? (int)bpfvm_prog_type(prog) : rc);
	}
	rc = bpfvm_test_runner_run(r, opts);
	bpfvm_test_runner_destroy(r);
	return rc;
}

const char *bpfvm_verdict_name(enum bpfvm_prog_type type, uint64_t retval)
{
	static const char *const xdp[] = {"XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX",
					  "XDP_REDIRECT"};
	static const char *const tc[] = {"TC_ACT_OK",     "TC_ACT_RECLASSIFY", "TC_ACT_SHOT",
					 "TC_ACT_PIPE",   "TC_ACT_STOLEN",     "TC_ACT_QUEUED",
					 "TC_ACT_REPEAT", "TC_ACT_REDIRECT",   "TC_ACT_TRAP"};
	uint32_t v = (uint32_t)retval;
	switch (type) {
	case BPFVM_PROG_XDP:
		return v < sizeof(xdp) / sizeof(xdp[0]) ? xdp[v] : NULL;
	case BPFVM_PROG_SCHED_CLS:
	case BPFVM_PROG_SCHED_ACT:
		if (v == UINT32_MAX)
			return "TC_ACT_UNSPEC";
		return v < sizeof(tc) / sizeof(tc[0]) ? tc[v] : NULL;
	default:
		return NULL;
	}
}
