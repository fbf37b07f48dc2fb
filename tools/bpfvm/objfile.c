/* Programs from BPF object files for the subcommands: open, pick a
 * program, load it, run or verify it (see objfile.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/libbpf.h>

#include "bpfvm/bpfvm.h"
#include "bpfvm/object.h"
#include "bpfvm/testrun.h"
#include "objfile.h"

int cli_is_object_file(const char *path)
{
	unsigned char magic[4];
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : NULL;
	if (!f)
		return 0;
	size_t got = fread(magic, 1, 4, f);
	fclose(f);
	return got == 4 && !memcmp(magic, "\177ELF", 4);
}

int cli_parse_prog_type(const char *name, enum bpfvm_prog_type *type)
{
	if (!strcmp(name, "raw")) {
		*type = BPFVM_PROG_RAW;
		return 0;
	}
	/* libbpf's names: "xdp", "sched_cls", "socket_filter", "kprobe"... */
	for (int t = 1; t < 64; t++) {
		const char *n = libbpf_bpf_prog_type_str((enum bpf_prog_type)t);
		if (n && !strcmp(n, name)) {
			*type = (enum bpfvm_prog_type)t;
			return 0;
		}
	}
	/* ... or a section name that implies one: "tc", "socket". */
	return bpfvm_object_type_from_section(name, type) ? -EINVAL : 0;
}

int cli_object_open(const char *cmd, struct bpfvm_vm *vm, const char *path,
		    struct bpfvm_object **out)
{
	/* One clear line per error: ours names the section; libbpf's own
	 * warnings about malformed BTF would only repeat it. */
	libbpf_set_print(NULL);
	int rc = bpfvm_object_open_file(vm, path, NULL, out);
	if (rc) {
		cli_error(cmd, "%s", bpfvm_vm_last_error(vm));
		return CLI_FAIL;
	}
	return CLI_OK;
}

static void list_programs(struct bpfvm_object *obj)
{
	fprintf(stderr, "programs of %s:\n", bpfvm_object_name(obj));
	for (size_t i = 0; i < bpfvm_object_prog_count(obj); i++) {
		struct bpfvm_object_prog *p = bpfvm_object_prog_at(obj, i);
		fprintf(stderr, "  %-24s section %s\n", bpfvm_object_prog_name(p), bpfvm_object_prog_section(p));
	}
}

struct bpfvm_object_prog *cli_object_pick(const char *cmd, struct bpfvm_object *obj,
					  const struct cli_object_select *sel)
{
	struct bpfvm_object_prog *p = NULL;
	if (sel->prog) {
		p = bpfvm_object_find_prog(obj, sel->prog);
		if (!p) {
			cli_error(cmd, "%s: no program named '%s'", bpfvm_object_name(obj), sel->prog);
			list_programs(obj);
			return NULL;
		}
		if (sel->section && strcmp(bpfvm_object_prog_section(p), sel->section)) {
			cli_error(cmd, "%s: program '%s' is in section '%s', not '%s'", bpfvm_object_name(obj),
				  sel->prog, bpfvm_object_prog_section(p), sel->section);
			return NULL;
		}
	} else if (sel->section) {
		p = bpfvm_object_find_prog_by_section(obj, sel->section);
		if (!p) {
			cli_error(cmd, "%s: no program in section '%s'", bpfvm_object_name(obj), sel->section);
			list_programs(obj);
			return NULL;
		}
	} else {
		p = bpfvm_object_prog_at(obj, 0);
		if (!p) {
			cli_error(cmd, "%s: the object has no programs", bpfvm_object_name(obj));
			return NULL;
		}
	}
	if (sel->type) {
		enum bpfvm_prog_type t;
		if (cli_parse_prog_type(sel->type, &t)) {
			cli_error(cmd, "--type: unknown program type '%s'", sel->type);
			return NULL;
		}
		bpfvm_object_prog_set_type(p, t);
	}
	return p;
}

int cli_object_load(const char *cmd, struct bpfvm_object *obj, struct bpfvm_object_prog *p,
		    const struct bpfvm_prog_opts *opts)
{
	if (bpfvm_object_prog_load(p, opts)) {
		/* The message names the object, section and program. */
		cli_error(cmd, "%s", bpfvm_vm_last_error(bpfvm_object_vm(obj)));
		if (opts && opts->log_buf && opts->log_buf[0])
			fprintf(stderr, "%s", opts->log_buf);
		return CLI_FAIL;
	}
	return CLI_OK;
}

/* ---- run ---------------------------------------------------------------------- */

/* --trace: each instruction is printed when the next one starts, with
 * the registers it changed, and the C source line an instruction starts
 * is printed before it as "; text @ file:line" (llvm-objdump -S style). */
struct source_tracer {
	struct bpfvm_object *obj;
	int pending;
	const struct bpfvm_prog *prog;
	size_t pc;
	int frame;
	uint64_t regs[BPFVM_NREGS];
	const char *shown; /* last source line printed */
};

static const char *line_of(struct bpfvm_object *obj, const struct bpfvm_prog *prog, size_t pc)
{
	for (size_t i = 0; i < bpfvm_object_prog_count(obj); i++) {
		struct bpfvm_object_prog *p = bpfvm_object_prog_at(obj, i);
		if (bpfvm_object_prog_handle(p) != prog)
			continue;
		const char *const *li = bpfvm_object_prog_line_info(p);
		size_t n;
		bpfvm_object_prog_insns(p, &n);
		return li && pc < n ? li[pc] : NULL;
	}
	return NULL;
}

static void print_traced(const struct source_tracer *t, const uint64_t *after)
{
	size_t n;
	const struct bpfvm_insn *insns = bpfvm_prog_insns(t->prog, &n);
	char text[128], changes[512] = "";
	size_t used = 0;
	if (bpfvm_disasm_insn(insns, n, t->pc, BPFVM_SYNTAX_LLVM, text, sizeof(text)) < 0)
		snprintf(text, sizeof(text), "(opcode 0x%02x)", insns[t->pc].code);
	for (int r = 0; after && r < BPFVM_NREGS && used < sizeof(changes); r++)
		if (after[r] != t->regs[r])
			used += (size_t)snprintf(changes + used, sizeof(changes) - used,
						 "%sr%d = 0x%" PRIx64, used ? ", " : "", r, after[r]);
	if (changes[0])
		printf("%*s%4zu: %-24s ; %s\n", 2 * t->frame, "", t->pc, text, changes);
	else
		printf("%*s%4zu: %s\n", 2 * t->frame, "", t->pc, text);
}

static void trace_with_source(void *user, const struct bpfvm_prog *prog, size_t pc, int frame,
			      const uint64_t regs[BPFVM_NREGS])
{
	struct source_tracer *t = user;
	if (t->pending)
		print_traced(t, regs);
	const char *line = line_of(t->obj, prog, pc);
	if (line && (!t->shown || strcmp(line, t->shown))) {
		printf("%*s; %s\n", 2 * frame, "", line);
		t->shown = line;
	}
	t->pending = 1;
	t->prog = prog;
	t->pc = pc;
	t->frame = frame;
	memcpy(t->regs, regs, sizeof(t->regs));
}

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int run_raw(const char *cmd, struct bpfvm_object *obj, struct bpfvm_prog *prog,
		   const struct bpfvm_prog_opts *opts, const uint8_t *mem, size_t len,
		   unsigned long long repeat, int trace)
{
	uint8_t *copy = malloc(len ? len : 1);
	if (!copy)
		return CLI_FAIL;
	if (len)
		memcpy(copy, mem, len);
	struct source_tracer st = {.obj = obj};
	struct bpfvm_run run = {.ctx = len ? copy : NULL, .ctx_size = len, .engine = opts->engine};
	if (trace) {
		run.trace = trace_with_source;
		run.trace_user = &st;
		run.engine = BPFVM_ENGINE_INTERP;
	}
	int rc = bpfvm_prog_run(prog, &run);
	if (trace && st.pending)
		print_traced(&st, rc ? NULL : st.regs);
	double start = now_ns();
	run.trace = NULL;
	for (unsigned long long i = 1; !rc && i < repeat; i++)
		rc = bpfvm_prog_run(prog, &run);
	free(copy);
	if (rc) {
		cli_error(cmd, "prog '%s': %s", bpfvm_prog_name(prog), run.error[0] ? run.error : strerror(-rc));
		return CLI_FAIL;
	}
	if (repeat > 1) {
		double per = (now_ns() - start) / (double)(repeat - 1);
		printf("%llu runs: %.1f ns/run, %.0f runs/s\n", repeat, per, per > 0 ? 1e9 / per : 0.0);
	}
	printf("retval = %" PRIu64 " (0x%" PRIx64 ")\n", run.retval, run.retval);
	return CLI_OK;
}

static int uses_packet(enum bpfvm_prog_type t)
{
	return t == BPFVM_PROG_XDP || t == BPFVM_PROG_SCHED_CLS || t == BPFVM_PROG_SCHED_ACT ||
	       t == BPFVM_PROG_SOCKET_FILTER;
}

static int run_typed(const char *cmd, struct bpfvm_prog *prog, const struct bpfvm_prog_opts *opts,
		     const uint8_t *mem, size_t len, unsigned long long repeat)
{
	enum bpfvm_prog_type type = bpfvm_prog_type(prog);
	/* A packet program needs at least an Ethernet header. */
	uint8_t frame[64] = {0};
	struct bpfvm_test_run_opts t = {.repeat = (uint32_t)(repeat > UINT32_MAX ? UINT32_MAX : repeat),
					.engine = opts->engine};
	if (uses_packet(type)) {
		t.data_in = len ? mem : frame;
		t.data_size_in = (uint32_t)(len ? len : sizeof(frame));
	} else {
		t.ctx_in = len ? mem : frame;
		t.ctx_size_in = (uint32_t)(len ? len : sizeof(frame));
	}
	int rc = bpfvm_prog_test_run(prog, &t);
	if (rc && rc != -ENOSPC) {
		cli_error(cmd, "prog '%s': %s", bpfvm_prog_name(prog), t.error[0] ? t.error : strerror(-rc));
		return CLI_FAIL;
	}
	if (repeat > 1)
		printf("%llu runs: %u ns/run\n", repeat, t.duration);
	const char *verdict = bpfvm_verdict_name(type, t.retval64);
	printf("retval = %" PRIu64 " (0x%" PRIx64 ")%s%s\n", t.retval64, t.retval64, verdict ? " " : "",
	       verdict ? verdict : "");
	return CLI_OK;
}

int cli_object_run(const char *cmd, const char *path, const struct cli_object_select *sel,
		   const struct bpfvm_prog_opts *opts, const uint8_t *mem, size_t mem_len,
		   unsigned long long repeat, int trace)
{
	struct bpfvm_vm *vm;
	struct bpfvm_object *obj = NULL;
	if (bpfvm_vm_create(&vm)) {
		cli_error(cmd, "cannot create a VM");
		return CLI_FAIL;
	}
	int rc = cli_object_open(cmd, vm, path, &obj);
	struct bpfvm_object_prog *p = rc ? NULL : cli_object_pick(cmd, obj, sel);
	if (!rc && !p)
		rc = CLI_FAIL;
	struct bpfvm_prog_opts o = *opts;
	if (trace)
		o.engine = BPFVM_ENGINE_INTERP; /* tracing watches the interpreter */
	if (!rc)
		rc = cli_object_load(cmd, obj, p, &o);
	if (!rc) {
		struct bpfvm_prog *prog = bpfvm_object_prog_handle(p);
		if (bpfvm_prog_type(prog) == BPFVM_PROG_RAW) {
			rc = run_raw(cmd, obj, prog, opts, mem, mem_len, repeat, trace);
		} else if (trace) {
			cli_error(cmd, "--trace runs %s programs only with --type raw (their context "
				  "comes from the test run)", bpfvm_object_type_name(bpfvm_prog_type(prog)));
			rc = CLI_USAGE;
		} else {
			rc = run_typed(cmd, prog, opts, mem, mem_len, repeat);
		}
	}
	bpfvm_object_close(obj);
	bpfvm_vm_destroy(vm);
	return rc;
}

/* ---- verify ----------------------------------------------------------------- */

/* Print a verifier log with the C source line an instruction starts
 * before the instruction ("; text @ file:line"), as the kernel prints
 * BTF line info: a log line "N: (op) ..." is instruction N. */
static void print_log_with_source(FILE *out, struct bpfvm_object_prog *p, const char *log)
{
	const char *const *lines = bpfvm_object_prog_line_info(p);
	const char *shown = NULL;
	size_t n;
	bpfvm_object_prog_insns(p, &n);
	while (*log) {
		const char *eol = strchr(log, '\n');
		size_t len = eol ? (size_t)(eol - log) + 1 : strlen(log);
		char *end;
		unsigned long pc = strtoul(log, &end, 10);
		if (lines && end != log && end[0] == ':' && end[1] == ' ' && end[2] == '(' && pc < n &&
		    lines[pc] && (!shown || strcmp(shown, lines[pc]))) {
			fprintf(out, "; %s\n", lines[pc]);
			shown = lines[pc];
		}
		fwrite(log, 1, len, out);
		log += len;
	}
}

static int verify_one(const char *cmd, struct bpfvm_object *obj, struct bpfvm_object_prog *p,
		      const struct bpfvm_prog_opts *opts)
{
	int rc = bpfvm_object_prog_load(p, opts);
	const char *type = bpfvm_object_type_name(bpfvm_object_prog_type(p));
	/* A failure of a program its static PROG_ARRAY values name is that
	 * program's, reported when the loop reaches it. */
	int own_failure = rc && !bpfvm_object_prog_handle(p);
	if (!own_failure) {
		size_t n;
		bpfvm_object_prog_insns(p, &n);
		printf("%s: section %s: prog '%s' (%s, %zu insns): verified\n", bpfvm_object_name(obj),
		       bpfvm_object_prog_section(p), bpfvm_object_prog_name(p), type ? type : "?", n);
		if (opts->log_buf && opts->log_level && opts->log_buf[0] && !rc)
			print_log_with_source(stdout, p, opts->log_buf);
		return rc ? CLI_FAIL : CLI_OK;
	}
	cli_error(cmd, "%s", bpfvm_vm_last_error(bpfvm_object_vm(obj)));
	if (opts->log_buf && opts->log_buf[0])
		print_log_with_source(stderr, p, opts->log_buf);
	return CLI_FAIL;
}

int cli_object_verify(const char *cmd, const char *path, const struct cli_object_select *sel,
		      const struct bpfvm_prog_opts *opts)
{
	struct bpfvm_object_prog *picked = NULL;
	struct bpfvm_object *obj = NULL;
	struct bpfvm_vm *vm;
	int failed = 0;
	if (bpfvm_vm_create(&vm)) {
		cli_error(cmd, "cannot create a VM");
		return CLI_FAIL;
	}
	int rc = cli_object_open(cmd, vm, path, &obj);
	if (!rc && (sel->prog || sel->section || sel->type)) {
		picked = cli_object_pick(cmd, obj, sel);
		if (!picked)
			rc = CLI_FAIL;
	}
	for (size_t i = 0; !rc && i < bpfvm_object_prog_count(obj); i++) {
		struct bpfvm_object_prog *p = bpfvm_object_prog_at(obj, i);
		if ((picked && p != picked) || bpfvm_object_prog_handle(p))
			continue; /* loaded already: named by a static PROG_ARRAY */
		if (opts->log_buf && opts->log_size)
			opts->log_buf[0] = 0;
		failed |= verify_one(cmd, obj, p, opts) != CLI_OK;
	}
	bpfvm_object_close(obj);
	bpfvm_vm_destroy(vm);
	return rc ? rc : failed ? CLI_FAIL : CLI_OK;
}
