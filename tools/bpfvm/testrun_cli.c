/* bpfvm run in test-run mode: a program on a packet or context file, as
 * BPF_PROG_TEST_RUN (--data-file, --ctx-in, --data-out, --ctx-out), or on
 * every packet of a capture (--pcap, --out) with counts per verdict.
 * `bpfvm run` hands over here when one of these options is present. */
#include <errno.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bpfvm/bpfvm.h"
#include "bpfvm/testrun.h"
#include "cli.h"
#include "objfile.h"

#define CMD "run"

struct tr_cfg {
	const char *program;
	int is_hex;
	enum bpfvm_syntax syntax;
	struct cli_object_select sel; /* --prog, --section, --type / --prog-type */
	const char *prog_type;
	const char *data_file, *data_hex, *data_out, *ctx_in, *ctx_out;
	const char *pcap_in, *pcap_out;
	const char *fib_file;         /* --fib: routes for bpf_fib_lookup */
	struct bpfvm_fib *fib;
	unsigned long repeat;
	int dump_maps, json;          /* --dump-maps, --json (maps_cli.c) */
	enum bpfvm_engine engine;
	enum bpfvm_safety safety;
};

/* Options that only a test run has: any of them selects this mode. */
static const char *const testrun_only[] = {
	"--prog-type", "--data-file", "--data-hex", "--data-out", "--ctx-in", "--ctx-out",
	"--pcap", "--out", "--fib",
};

static int is_option(const char *arg, const char *name)
{
	size_t n = strlen(name);
	return !strncmp(arg, name, n) && (arg[n] == 0 || arg[n] == '=');
}

int cli_testrun_wanted(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		for (size_t j = 0; j < sizeof(testrun_only) / sizeof(testrun_only[0]); j++)
			if (is_option(argv[i], testrun_only[j]))
				return 1;
	return 0;
}

void cli_testrun_help(FILE *out)
{
	fprintf(out,
		"\ntest runs (as the kernel's BPF_PROG_TEST_RUN; XDP, tc, socket filter, tracing):\n"
		"  --prog-type T      program type of FILE: xdp, sched_cls (tc), sched_act,\n"
		"                     socket_filter, kprobe, tracepoint, raw_tracepoint, raw\n"
		"  --data-file PKT    the packet (data_in); prints retval and the verdict\n"
		"  --data-hex HEX     the packet as hex bytes\n"
		"  --data-out F       write data_out (the packet after the run) to F; - prints hex\n"
		"  --ctx-in F         the context (struct xdp_md, __sk_buff, pt_regs, args)\n"
		"  --ctx-out F        write ctx_out to F\n"
		"  --repeat N         run N times on the same context; prints the average time\n"
		"  --pcap IN          run an XDP, tc or socket-filter program on every packet of\n"
		"                     the capture IN; prints the count of each verdict (bytes\n"
		"                     kept for socket filters) and packets per second\n"
		"  --out OUT          with --pcap: write the packets the program lets through\n"
		"                     (XDP PASS/TX/REDIRECT, tc other than SHOT, socket filter:\n"
		"                     cut to the bytes kept) as they are after the run\n"
		"  --fib F            routes, devices and neighbours for bpf_fib_lookup, one a line:\n"
		"                       dev IFINDEX [mac MAC] [mtu N] [forwarding] [addr IP]\n"
		"                       route PREFIX/LEN dev IFINDEX [via IP] [mtu [lock] N] [table N]\n"
		"                             [metric N] [src IP] [blackhole|unreachable|prohibit]\n"
		"                       neigh IP dev IFINDEX lladdr MAC\n"
		"                     (without it: only the loopback, forwarding off)\n"
		"  --dump-maps, --json  also here: the maps after the run(s)\n");
}

/* ---- options ------------------------------------------------------------------ */

static int parse_ulong(const char *opt, const char *arg, unsigned long *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(arg, &end, 0);
	if (errno || *end || !*arg || v == 0) {
		cli_error(CMD, "%s: '%s' is not a positive number", opt, arg);
		return CLI_USAGE;
	}
	*out = v;
	return 0;
}

/* One option: returns 0, CLI_USAGE; *used is set when it took argv[i+1]. */
static int apply_option(struct tr_cfg *c, const char *name, const char *value)
{
	const char **slot = NULL;
	if (!strcmp(name, "--prog"))
		slot = &c->sel.prog;
	else if (!strcmp(name, "--section"))
		slot = &c->sel.section;
	else if (!strcmp(name, "--type") || !strcmp(name, "--prog-type"))
		slot = &c->prog_type;
	else if (!strcmp(name, "--data-file"))
		slot = &c->data_file;
	else if (!strcmp(name, "--data-hex"))
		slot = &c->data_hex;
	else if (!strcmp(name, "--data-out"))
		slot = &c->data_out;
	else if (!strcmp(name, "--ctx-in"))
		slot = &c->ctx_in;
	else if (!strcmp(name, "--ctx-out"))
		slot = &c->ctx_out;
	else if (!strcmp(name, "--pcap"))
		slot = &c->pcap_in;
	else if (!strcmp(name, "--out"))
		slot = &c->pcap_out;
	else if (!strcmp(name, "--fib"))
		slot = &c->fib_file;
	if (slot) {
		*slot = value;
		return 0;
	}
	if (!strcmp(name, "--repeat"))
		return parse_ulong(name, value, &c->repeat);
	if (!strcmp(name, "--hex")) {
		c->program = value;
		c->is_hex = 1;
		return 0;
	}
	if (!strcmp(name, "--syntax")) {
		c->syntax = !strcmp(value, "llvm") ? BPFVM_SYNTAX_LLVM
			    : !strcmp(value, "conformance") ? BPFVM_SYNTAX_CONFORMANCE
							     : BPFVM_SYNTAX_AUTO;
		return 0;
	}
	cli_error(CMD, "unknown option '%s' (see bpfvm run --help)", name);
	return CLI_USAGE;
}

static int takes_value(const char *name)
{
	return strcmp(name, "--interp") && strcmp(name, "--jit") && strcmp(name, "--no-verify") &&
	       strcmp(name, "--dump-maps") && strcmp(name, "--json");
}

static int parse(int argc, char **argv, struct tr_cfg *c)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] != '-' || !strcmp(a, "-")) {
			if (c->program) {
				cli_error(CMD, "more than one program given ('%s' and '%s')", c->program, a);
				return CLI_USAGE;
			}
			c->program = a;
			continue;
		}
		char name[64];
		const char *eq = strchr(a, '=');
		snprintf(name, sizeof(name), "%.*s", eq ? (int)(eq - a) : (int)strlen(a), a);
		if (!strcmp(name, "--interp") || !strcmp(name, "--jit")) {
			c->engine = name[2] == 'i' ? BPFVM_ENGINE_INTERP : BPFVM_ENGINE_JIT;
			continue;
		}
		if (!strcmp(name, "--no-verify")) {
			c->safety = BPFVM_SAFETY_CHECKED;
			continue;
		}
		if (!strcmp(name, "--dump-maps") || !strcmp(name, "--json")) {
			c->dump_maps = 1;
			c->json |= name[2] == 'j';
			continue;
		}
		const char *value = eq ? eq + 1 : NULL;
		if (!value && takes_value(name)) {
			if (i + 1 >= argc) {
				cli_error(CMD, "%s needs an argument", name);
				return CLI_USAGE;
			}
			value = argv[++i];
		}
		int rc = apply_option(c, name, value);
		if (rc)
			return rc;
	}
	if (!c->program) {
		cli_error(CMD, "no program given (see bpfvm run --help)");
		return CLI_USAGE;
	}
	if (c->pcap_out && !c->pcap_in) {
		cli_error(CMD, "--out writes the packets of --pcap; give --pcap too");
		return CLI_USAGE;
	}
	if (c->pcap_in && (c->data_file || c->data_hex || c->ctx_in)) {
		cli_error(CMD, "--pcap takes its packets from the capture; drop --data-file/--ctx-in");
		return CLI_USAGE;
	}
	return 0;
}

/* ---- loading ------------------------------------------------------------------ */

struct loaded {
	struct bpfvm_vm *vm;
	struct bpfvm_object *obj;
	struct bpfvm_prog *prog;
};

static void unload(struct loaded *l)
{
	if (l->obj)
		bpfvm_object_close(l->obj);
	else if (l->prog)
		bpfvm_prog_destroy(l->prog);
	if (l->vm)
		bpfvm_vm_destroy(l->vm);
}

/* Load FILE (an object, bytecode, assembly or hex) as the program type
 * asked for; verified unless --no-verify, falling back to run-time checks
 * when the verifier is not built in. */
static int load(struct tr_cfg *c, struct loaded *l)
{
	enum bpfvm_prog_type type = BPFVM_PROG_RAW;
	if (c->prog_type && cli_parse_prog_type(c->prog_type, &type)) {
		cli_error(CMD, "--prog-type: unknown program type '%s'", c->prog_type);
		return CLI_USAGE;
	}
	if (bpfvm_vm_create(&l->vm)) {
		cli_error(CMD, "cannot create a VM");
		return CLI_FAIL;
	}
	struct bpfvm_prog_opts po = {.type = type, .safety = c->safety, .engine = c->engine};
	if (!c->is_hex && cli_is_object_file(c->program)) {
		c->sel.type = c->prog_type;
		if (cli_object_open(CMD, l->vm, c->program, &l->obj))
			return CLI_FAIL;
		struct bpfvm_object_prog *p = cli_object_pick(CMD, l->obj, &c->sel);
		if (!p || cli_object_load(CMD, l->obj, p, &po))
			return CLI_FAIL;
		l->prog = bpfvm_object_prog_handle(p);
		return CLI_OK;
	}
	if (!c->prog_type) {
		cli_error(CMD, "%s: give the program type with --prog-type (xdp, sched_cls, ...)",
			  c->program);
		return CLI_USAGE;
	}
	char err[512];
	struct cli_program p;
	if (cli_load_program(c->program, c->is_hex, c->syntax, &p, err, sizeof(err))) {
		cli_error(CMD, "%s", err);
		return CLI_FAIL;
	}
	po.name = "prog";
	int rc = bpfvm_prog_load(l->vm, p.insns, p.n, &po, &l->prog);
	if (rc == -ENOTSUP && po.safety == BPFVM_SAFETY_VERIFIED) {
		po.safety = BPFVM_SAFETY_CHECKED;
		rc = bpfvm_prog_load(l->vm, p.insns, p.n, &po, &l->prog);
	}
	cli_program_free(&p);
	if (rc) {
		cli_error(CMD, "%s: %s", c->program, bpfvm_vm_last_error(l->vm));
		return CLI_FAIL;
	}
	return CLI_OK;
}

/* ---- one run --------------------------------------------------------------------- */

static int write_file(const char *path, const void *data, size_t len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "wb") : stdout;
	if (!f || fwrite(data, 1, len, f) != len) {
		cli_error(CMD, "%s: %s", path, strerror(errno));
		if (f && f != stdout)
			fclose(f);
		return CLI_FAIL;
	}
	if (f != stdout && fclose(f)) {
		cli_error(CMD, "%s: %s", path, strerror(errno));
		return CLI_FAIL;
	}
	return CLI_OK;
}

/* "0000  45 00 00 54 ..." lines of 16 bytes, for --data-out -. */
static void hex_dump(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i += 16) {
		printf("%04zx ", i);
		for (size_t j = i; j < i + 16 && j < n; j++)
			printf(" %02x", p[j]);
		putchar('\n');
	}
}

static int read_input(const char *file, const char *hex, uint8_t **data, size_t *len)
{
	char err[512];
	int rc = file ? cli_read_file(file, data, len, err, sizeof(err))
		      : cli_parse_hex(hex, data, len, err, sizeof(err));
	if (rc)
		cli_error(CMD, "%s", err);
	return rc ? CLI_FAIL : CLI_OK;
}

static int run_once(struct tr_cfg *c, struct bpfvm_prog *prog)
{
	uint8_t *data = NULL, *ctx = NULL;
	size_t data_len = 0, ctx_len = 0;
	static uint8_t data_out[65536], ctx_out[4096];
	int rc = CLI_OK;
	if ((c->data_file || c->data_hex) && read_input(c->data_file, c->data_hex, &data, &data_len))
		rc = CLI_FAIL;
	if (!rc && c->ctx_in && read_input(c->ctx_in, NULL, &ctx, &ctx_len))
		rc = CLI_FAIL;
	enum bpfvm_prog_type type = bpfvm_prog_type(prog);
	struct bpfvm_test_run_opts o = {
		.data_in = data, .data_size_in = (uint32_t)data_len,
		.data_out = type == BPFVM_PROG_RAW || c->data_out ? data_out : NULL,
		.data_size_out = sizeof(data_out),
		.ctx_in = ctx, .ctx_size_in = (uint32_t)ctx_len,
		.ctx_out = c->ctx_out ? ctx_out : NULL, .ctx_size_out = sizeof(ctx_out),
		.repeat = (uint32_t)(c->repeat > UINT32_MAX ? UINT32_MAX : c->repeat),
		.engine = c->engine, .fib = c->fib,
	};
	int trc = rc ? 0 : bpfvm_prog_test_run(prog, &o);
	if (!rc && trc) {
		cli_error(CMD, "%s", o.error[0] ? o.error : strerror(-trc));
		rc = CLI_FAIL;
	}
	if (!rc) {
		const char *verdict = bpfvm_verdict_name(type, o.retval);
		printf("retval = %" PRIu32 " (0x%" PRIx32 ")%s%s\n", o.retval, o.retval,
		       verdict ? " " : "", verdict ? verdict : "");
		if (o.redirected)
			printf("redirect = ifindex %" PRIu32 ", flags 0x%" PRIx64 "\n", o.redirect_ifindex,
			       o.redirect_flags);
		if (c->repeat > 1)
			printf("duration = %" PRIu32 " ns (average of %lu runs)\n", o.duration, c->repeat);
		if (c->data_out) {
			printf("data_out = %" PRIu32 " bytes\n", o.data_size_out);
			if (!strcmp(c->data_out, "-"))
				hex_dump(data_out, o.data_size_out);
			else
				rc = write_file(c->data_out, data_out, o.data_size_out);
		}
		if (!rc && c->ctx_out)
			rc = write_file(c->ctx_out, ctx_out, o.ctx_size_out);
	}
	free(data);
	free(ctx);
	return rc;
}

/* ---- captures ------------------------------------------------------------------- */

struct pcap_stats {
	uint64_t packets, errors;
	uint64_t verdicts[16];   /* XDP / tc verdicts 0..8, [15] = others */
	uint64_t tc_unspec;
	uint64_t kept_packets, kept_bytes, dropped; /* socket filters */
	double cpu_s;            /* CPU time of the replay (reading, running, writing) */
};

static double clock_s(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double now_s(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

/* Does the program let this packet through, and how many bytes of it? */
static size_t passed_bytes(enum bpfvm_prog_type type, uint32_t retval, size_t len)
{
	switch (type) {
	case BPFVM_PROG_XDP:
		return retval >= 2 && retval <= 4 ? len : 0; /* PASS, TX, REDIRECT */
	case BPFVM_PROG_SOCKET_FILTER:
		return retval < len ? retval : len;
	default:
		return retval == 2 ? 0 : len; /* all but TC_ACT_SHOT */
	}
}

static void count_verdict(struct pcap_stats *s, enum bpfvm_prog_type type, uint32_t retval,
			  size_t len)
{
	if (type == BPFVM_PROG_SOCKET_FILTER) {
		size_t kept = passed_bytes(type, retval, len);
		if (kept) {
			s->kept_packets++;
			s->kept_bytes += kept;
		} else {
			s->dropped++;
		}
	} else if (type == BPFVM_PROG_SCHED_CLS || type == BPFVM_PROG_SCHED_ACT) {
		if (retval == UINT32_MAX)
			s->tc_unspec++;
		else
			s->verdicts[retval < 15 ? retval : 15]++;
	} else {
		s->verdicts[retval < 15 ? retval : 15]++;
	}
}

static void print_stats(const struct pcap_stats *s, enum bpfvm_prog_type type, double wall)
{
	if (type == BPFVM_PROG_SOCKET_FILTER) {
		printf("kept     %12" PRIu64 " packets, %" PRIu64 " bytes\n", s->kept_packets, s->kept_bytes);
		printf("dropped  %12" PRIu64 " packets\n", s->dropped);
	} else {
		if (s->tc_unspec)
			printf("%-16s %12" PRIu64 "\n", "TC_ACT_UNSPEC", s->tc_unspec);
		for (uint32_t v = 0; v < 15; v++) {
			const char *name = bpfvm_verdict_name(type, v);
			if (name && (s->verdicts[v] || type == BPFVM_PROG_XDP))
				printf("%-16s %12" PRIu64 "\n", name, s->verdicts[v]);
			else if (!name && s->verdicts[v])
				printf("retval %-9u %12" PRIu64 "\n", v, s->verdicts[v]);
		}
		if (s->verdicts[15])
			printf("%-16s %12" PRIu64 "\n", "other retval", s->verdicts[15]);
	}
	if (s->errors)
		printf("not run  %12" PRIu64 " packets (rejected by the test run, see above)\n", s->errors);
	printf("%" PRIu64 " packets in %.3f s (CPU %.3f s): %.0f packets/s, %.0f packets per CPU second\n",
	       s->packets, wall, s->cpu_s, wall > 0 ? (double)s->packets / wall : 0.0,
	       s->cpu_s > 0 ? (double)s->packets / s->cpu_s : 0.0);
}

/* A progress bar on stderr, when it is a terminal and the run takes a
 * while: redrawn at most ten times a second. */
struct progress {
	int enabled;
	long total;
	double start, last;
	int shown;
};

static void progress_update(struct progress *p, FILE *f, uint64_t packets)
{
	if (!p->enabled || (packets & 1023))
		return; /* the clock is read once per 1024 packets */
	double t = now_s();
	if (t - p->start < 0.5 || t - p->last < 0.1)
		return;
	p->last = t;
	long pos = f ? ftell(f) : -1;
	double frac = p->total > 0 && pos >= 0 ? (double)pos / (double)p->total : 0.0;
	int width = 30, fill = (int)(frac * width);
	fprintf(stderr, "\r[%.*s%*s] %3.0f%% %" PRIu64 " packets", fill,
		"##############################", width - fill, "", frac * 100, packets);
	p->shown = 1;
}

static void progress_done(struct progress *p)
{
	if (p->shown)
		fprintf(stderr, "\r%*s\r", 60, "");
}

static int check_pcap_type(enum bpfvm_prog_type type)
{
	if (type == BPFVM_PROG_XDP || type == BPFVM_PROG_SCHED_CLS || type == BPFVM_PROG_SCHED_ACT ||
	    type == BPFVM_PROG_SOCKET_FILTER)
		return 0;
	cli_error(CMD, "--pcap runs XDP, tc and socket-filter programs; this one is of type %d",
		  (int)type);
	return CLI_USAGE;
}

static int run_pcap(struct tr_cfg *c, struct bpfvm_prog *prog)
{
	enum bpfvm_prog_type type = bpfvm_prog_type(prog);
	if (check_pcap_type(type))
		return CLI_USAGE;
	char errbuf[PCAP_ERRBUF_SIZE];
	pcap_t *in = pcap_open_offline(c->pcap_in, errbuf);
	if (!in) {
		cli_error(CMD, "%s: %s", c->pcap_in, errbuf);
		return CLI_FAIL;
	}
	if (pcap_datalink(in) != DLT_EN10MB) {
		cli_error(CMD, "%s: link type %s; the programs need Ethernet frames", c->pcap_in,
			  pcap_datalink_val_to_name(pcap_datalink(in)));
		pcap_close(in);
		return CLI_FAIL;
	}
	pcap_t *dead = NULL;
	pcap_dumper_t *out = NULL;
	if (c->pcap_out) {
		dead = pcap_open_dead(DLT_EN10MB, 65535);
		out = dead ? pcap_dump_open(dead, c->pcap_out) : NULL;
		if (!out) {
			cli_error(CMD, "%s: %s", c->pcap_out, dead ? pcap_geterr(dead) : "cannot open");
			if (dead)
				pcap_close(dead);
			pcap_close(in);
			return CLI_FAIL;
		}
	}
	struct bpfvm_test_runner *runner;
	if (bpfvm_test_runner_create(prog, &runner)) {
		cli_error(CMD, "cannot create a test run");
		pcap_close(in);
		if (out)
			pcap_dump_close(out), pcap_close(dead);
		return CLI_FAIL;
	}
	struct progress prog_bar = {.enabled = isatty(2), .start = now_s()};
	struct stat st;
	if (!stat(c->pcap_in, &st))
		prog_bar.total = (long)st.st_size;
	struct pcap_stats s = {0};
	static uint8_t data_out[65536];
	struct pcap_pkthdr *hdr;
	const u_char *bytes;
	int got, rc = CLI_OK;
	double start = now_s(), cpu_start = clock_s(CLOCK_THREAD_CPUTIME_ID);
	unsigned reported = 0;
	while ((got = pcap_next_ex(in, &hdr, &bytes)) == 1) {
		s.packets++;
		struct bpfvm_test_run_opts o = {
			.data_in = bytes, .data_size_in = hdr->caplen,
			.data_out = out ? data_out : NULL, .data_size_out = sizeof(data_out),
			.engine = c->engine, .no_duration = 1, .fib = c->fib,
		};
		int trc = bpfvm_test_runner_run(runner, &o);
		if (trc) {
			s.errors++;
			if (reported++ < 5)
				cli_error(CMD, "packet %" PRIu64 " (%u bytes): %s", s.packets, hdr->caplen, o.error);
			continue;
		}
		count_verdict(&s, type, o.retval, hdr->caplen);
		size_t keep = out ? passed_bytes(type, o.retval, o.data_size_out) : 0;
		if (keep) {
			struct pcap_pkthdr h = *hdr;
			h.caplen = (bpf_u_int32)keep;
			if (type != BPFVM_PROG_SOCKET_FILTER)
				h.len = (bpf_u_int32)(hdr->len - hdr->caplen + keep);
			/* A socket filter cannot change the packet; its data_out has
			 * the Ethernet header zeroed (the kernel's), so write the
			 * captured bytes. */
			pcap_dump((u_char *)out, &h, type == BPFVM_PROG_SOCKET_FILTER ? bytes : data_out);
		}
		progress_update(&prog_bar, pcap_file(in), s.packets);
	}
	progress_done(&prog_bar);
	s.cpu_s = clock_s(CLOCK_THREAD_CPUTIME_ID) - cpu_start;
	if (got == -1) {
		cli_error(CMD, "%s: %s", c->pcap_in, pcap_geterr(in));
		rc = CLI_FAIL;
	}
	print_stats(&s, type, now_s() - start);
	bpfvm_test_runner_destroy(runner);
	pcap_close(in);
	if (out) {
		pcap_dump_close(out);
		pcap_close(dead);
	}
	return rc;
}

/* --fib FILE: the FIB bpf_fib_lookup consults. */
static int load_fib(struct tr_cfg *c)
{
	uint8_t *text;
	size_t len;
	char err[512];
	if (cli_read_file(c->fib_file, &text, &len, err, sizeof(err))) {
		cli_error(CMD, "%s", err);
		return CLI_FAIL;
	}
	char *z = realloc(text, len + 1);
	if (!z || bpfvm_fib_create(&c->fib)) {
		free(z ? z : (char *)text);
		cli_error(CMD, "out of memory");
		return CLI_FAIL;
	}
	z[len] = 0;
	int rc = bpfvm_fib_parse(c->fib, z);
	free(z);
	if (rc) {
		cli_error(CMD, "%s: %s", c->fib_file, bpfvm_fib_last_error(c->fib));
		return CLI_FAIL;
	}
	return CLI_OK;
}

int cli_testrun_main(int argc, char **argv)
{
	struct tr_cfg c = {.syntax = BPFVM_SYNTAX_AUTO, .repeat = 1, .engine = BPFVM_ENGINE_DEFAULT,
			   .safety = BPFVM_SAFETY_VERIFIED};
	int rc = parse(argc, argv, &c);
	if (rc)
		return rc;
	if (c.fib_file && (rc = load_fib(&c)))
		return rc;
	struct loaded l = {0};
	rc = load(&c, &l);
	if (!rc)
		rc = c.pcap_in ? run_pcap(&c, l.prog) : run_once(&c, l.prog);
	if (!rc && c.dump_maps)
		cli_dump_maps(l.vm, stdout, c.json);
	unload(&l);
	bpfvm_fib_destroy(c.fib);
	return rc;
}
