/* Test runs of tracing programs and of bpfvm's raw-memory programs: the
 * context is the caller's bytes. The kernel has a test run only for raw
 * tracepoints; bpfvm runs kprobes and tracepoints the same way. */
#include <errno.h>
#include <string.h>

#include "testrun/testrun.h"

/* struct pt_regs of x86-64: r15 .. ss, 21 registers. */
#define PT_REGS_SIZE (21 * 8)
/* MAX_BPF_FUNC_ARGS u64 arguments of a raw tracepoint. */
#define RAW_TP_MAX_ARGS 12

static int no_data(struct bpfvm_test_run_opts *opts, const char *what)
{
	if (opts->data_in || opts->data_size_in || opts->data_out)
		return bpfvm__tr_error(opts, -EINVAL, "%s programs take ctx_in, not data_in/data_out", what);
	return 0;
}

/* The context is a zero-filled copy of ctx_in of `size` bytes. */
static int copy_ctx(struct bpfvm_test_runner *r, struct bpfvm_test_run_opts *opts, size_t size)
{
	if (opts->ctx_in && opts->ctx_size_in > size) {
		const uint8_t *in = opts->ctx_in;
		for (size_t i = size; i < opts->ctx_size_in; i++)
			if (in[i])
				return bpfvm__tr_error(opts, -E2BIG, "ctx_in: byte %zu is beyond the "
						       "%zu-byte context and not zero", i, size);
	}
	uint8_t *mem = bpfvm__tr_mem(r, opts, size);
	if (!mem)
		return -ENOMEM;
	if (opts->ctx_in)
		memcpy(mem, opts->ctx_in, opts->ctx_size_in < size ? opts->ctx_size_in : size);
	r->run.ctx = mem;
	r->run.ctx_size = size;
	return 0;
}

static int ctx_out(struct bpfvm_test_runner *r, struct bpfvm_test_run_opts *opts)
{
	if (!opts->ctx_out)
		return 0;
	size_t size = r->run.ctx_size, n = size;
	int rc = 0;
	if (opts->ctx_size_out < size) {
		n = opts->ctx_size_out;
		rc = bpfvm__tr_error(opts, -ENOSPC, "ctx_out: %u bytes, the context has %zu",
				     opts->ctx_size_out, size);
	}
	memcpy(opts->ctx_out, r->run.ctx, n);
	opts->ctx_size_out = (uint32_t)size;
	return rc;
}

static int kprobe_prepare(struct bpfvm_test_runner *r, struct bpfvm_test_run_opts *opts)
{
	int rc = no_data(opts, "kprobe");
	return rc ? rc : copy_ctx(r, opts, PT_REGS_SIZE);
}

static int tracepoint_prepare(struct bpfvm_test_runner *r, struct bpfvm_test_run_opts *opts)
{
	int rc = no_data(opts, "tracepoint");
	if (rc)
		return rc;
	if (!opts->ctx_in || !opts->ctx_size_in)
		return bpfvm__tr_error(opts, -EINVAL, "tracepoint programs need ctx_in: the record");
	return copy_ctx(r, opts, opts->ctx_size_in);
}

/* As bpf_prog_test_run_raw_tp: at most 12 u64 arguments. */
static int raw_tp_prepare(struct bpfvm_test_runner *r, struct bpfvm_test_run_opts *opts)
{
	int rc = no_data(opts, "raw tracepoint");
	if (rc)
		return rc;
	if (opts->ctx_size_in > RAW_TP_MAX_ARGS * 8)
		return bpfvm__tr_error(opts, -EINVAL, "ctx_in: %u bytes, a raw tracepoint has at most "
				       "%d arguments (%d bytes)", opts->ctx_size_in, RAW_TP_MAX_ARGS,
				       RAW_TP_MAX_ARGS * 8);
	rc = copy_ctx(r, opts, opts->ctx_size_in);
	return rc;
}

/* RAW: r1 = a copy of data_in, r2 = its length. */
static int raw_prepare(struct bpfvm_test_runner *r, struct bpfvm_test_run_opts *opts)
{
	if (opts->ctx_in || opts->ctx_out)
		return bpfvm__tr_error(opts, -EINVAL, "raw-memory programs take data_in, not ctx_in/ctx_out");
	uint8_t *mem = bpfvm__tr_mem(r, opts, opts->data_size_in);
	if (!mem)
		return -ENOMEM;
	if (opts->data_size_in)
		memcpy(mem, opts->data_in, opts->data_size_in);
	r->run.ctx = mem;
	r->run.ctx_size = opts->data_size_in;
	return 0;
}

static int raw_finish(struct bpfvm_test_runner *r, struct bpfvm_test_run_opts *opts)
{
	return bpfvm__tr_data_finish(opts, r->run.ctx, r->run.ctx_size);
}

const struct tr_type bpfvm__tr_kprobe = {BPFVM_PROG_KPROBE, kprobe_prepare, ctx_out};
const struct tr_type bpfvm__tr_tracepoint = {BPFVM_PROG_TRACEPOINT, tracepoint_prepare, ctx_out};
const struct tr_type bpfvm__tr_raw_tracepoint = {BPFVM_PROG_RAW_TRACEPOINT, raw_tp_prepare, ctx_out};
const struct tr_type bpfvm__tr_raw = {BPFVM_PROG_RAW, raw_prepare, raw_finish};
