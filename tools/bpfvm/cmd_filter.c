/* bpfvm filter: count (and optionally save) the packets of a capture that
 * a tcpdump expression matches, running libpcap's compiled classic program
 * through bpfvm (classic interpreter, or its eBPF translation on the
 * interpreter or the JIT); -d shows the classic program beside its
 * translation. */
#include <errno.h>
#include <getopt.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bpfvm/bpfvm.h"
#include "cli.h"

/* The disassembler comes from the assembler component; until it is in the
 * library, -d prints the raw fields of each eBPF slot. */
#pragma weak bpfvm_disasm_insn

enum run_with { RUN_DEFAULT, RUN_INTERP, RUN_JIT, RUN_CBPF };

struct filter_opts {
	const char *expr;
	const char *in, *out;
	const char *program_file; /* -F: a classic program instead of an expression */
	int linktype;             /* -y, for -d without a capture */
	int show;                 /* -d */
	int checked;              /* --checked */
	int verbose;              /* -v */
	enum run_with with;
};

static void filter_help(FILE *out)
{
	fprintf(out,
		"usage: bpfvm filter [options] EXPRESSION IN.pcap\n"
		"       bpfvm filter -d [-y LINKTYPE] EXPRESSION\n"
		"\n"
		"Prints the number of packets of IN.pcap that the tcpdump expression matches.\n"
		"libpcap compiles the expression for the capture's link type; bpfvm validates the\n"
		"classic program with the kernel's rules and runs it.\n"
		"\n"
		"options:\n"
		"  -w OUT.pcap   also write the matching packets to OUT.pcap\n"
		"  --jit         run the eBPF translation on the JIT (the default when available)\n"
		"  --interp      run the eBPF translation on the interpreter\n"
		"  --cbpf        run the classic program on bpfvm's classic interpreter\n"
		"  --checked     keep the engines' run-time memory checks on the translation\n"
		"  -F FILE       read the classic program from FILE (tcpdump -d, -dd or -ddd\n"
		"                text, or raw struct sock_filter bytes) instead of EXPRESSION\n"
		"  -d            show the classic program beside its eBPF translation\n"
		"  -y LINKTYPE   link type for -d (name such as EN10MB, or DLT number; default EN10MB)\n"
		"  -v            also print the engine, packet count and time to stderr\n");
}

static int parse_args(int argc, char **argv, struct filter_opts *o)
{
	static const struct option longopts[] = {
		{"jit", no_argument, NULL, 'J'},     {"interp", no_argument, NULL, 'I'},
		{"cbpf", no_argument, NULL, 'C'},    {"checked", no_argument, NULL, 'K'},
		{NULL, 0, NULL, 0},
	};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+w:F:dy:v", longopts, NULL)) != -1) {
		switch (c) {
		case 'w': o->out = optarg; break;
		case 'F': o->program_file = optarg; break;
		case 'd': o->show = 1; break;
		case 'v': o->verbose = 1; break;
		case 'J': o->with = RUN_JIT; break;
		case 'I': o->with = RUN_INTERP; break;
		case 'C': o->with = RUN_CBPF; break;
		case 'K': o->checked = 1; break;
		case 'y': {
			char *end;
			long v = strtol(optarg, &end, 10);
			o->linktype = *end ? pcap_datalink_name_to_val(optarg) : (int)v;
			if (o->linktype < 0) {
				cli_error("filter", "unknown link type '%s'", optarg);
				return CLI_USAGE;
			}
			break;
		}
		default:
			filter_help(stderr);
			return CLI_USAGE;
		}
	}
	int need = (o->program_file ? 0 : 1) + (o->show ? 0 : 1);
	int have = argc - optind;
	if (have < need || have > need + (o->show ? 1 : 0)) {
		filter_help(stderr);
		return CLI_USAGE;
	}
	if (!o->program_file)
		o->expr = argv[optind++];
	if (optind < argc)
		o->in = argv[optind];
	return CLI_OK;
}

/* The classic program: compiled from the expression or read from -F. */
static int get_program(const struct filter_opts *o, int linktype, int snaplen,
		       struct bpfvm_cbpf_insn **prog, size_t *n)
{
	char err[512];
	int rc;
	if (o->program_file) {
		uint8_t *data;
		size_t len;
		if (cli_read_file(o->program_file, &data, &len, err, sizeof(err))) {
			cli_error("filter", "%s", err);
			return CLI_FAIL;
		}
		rc = bpfvm_cbpf_parse(data, len, BPFVM_CBPF_AUTO, o->program_file, prog, n, err,
				      sizeof(err));
		free(data);
	} else {
		rc = bpfvm_cbpf_compile(o->expr, linktype, snaplen, prog, n, err, sizeof(err));
	}
	if (rc) {
		cli_error("filter", "%s", err);
		return CLI_FAIL;
	}
	if (bpfvm_cbpf_validate(*prog, *n, err, sizeof(err))) {
		cli_error("filter", "the classic program is rejected: %s", err);
		free(*prog);
		*prog = NULL;
		return CLI_FAIL;
	}
	return CLI_OK;
}

/* ---- -d: classic | eBPF side by side ------------------------------------------ */

static void format_ebpf(const struct bpfvm_insn *insns, size_t n, size_t pc, char *buf, size_t len)
{
	if (bpfvm_disasm_insn && bpfvm_disasm_insn(insns, n, pc, BPFVM_SYNTAX_LLVM, buf, len) > 0)
		return;
	const struct bpfvm_insn *in = &insns[pc];
	snprintf(buf, len, "code 0x%02x dst r%u src r%u off %d imm %d", in->code, in->dst, in->src,
		 in->off, in->imm);
}

static void print_side(const char *left, const struct bpfvm_insn *e, size_t ne, size_t from,
		       size_t to)
{
	char right[160];
	if (from == to) {
		printf("%-44s|\n", left);
		return;
	}
	for (size_t s = from; s < to; s++) {
		format_ebpf(e, ne, s, right, sizeof(right));
		printf("%-44s| %4zu: %s\n", s == from ? left : "", s, right);
	}
}

static int show_program(const struct bpfvm_cbpf_insn *prog, size_t n)
{
	struct bpfvm_insn *e;
	size_t ne;
	size_t *starts = malloc((n + 1) * sizeof(*starts));
	char err[256], left[160], line[112];
	if (!starts || bpfvm_cbpf_translate(prog, n, &e, &ne, starts, err, sizeof(err))) {
		cli_error("filter", "translation failed: %s", starts ? err : "out of memory");
		free(starts);
		return CLI_FAIL;
	}
	printf("%-44s| %s\n", "classic BPF (tcpdump -d)", "eBPF (r0 = A, r4 = X, r1 = ctx, r2 = packet, r3 = caplen)");
	print_side("(prologue)", e, ne, 0, starts[0]);
	for (size_t pc = 0; pc < n; pc++) {
		bpfvm_cbpf_format_insn(&prog[pc], pc, line, sizeof(line));
		for (char *t = line; *t; t++)
			if (*t == '\t')
				*t = ' ';
		snprintf(left, sizeof(left), "(%03zu) %s", pc, line);
		/* The translation ends with the shared reject path (2 slots). */
		size_t end = pc + 1 < n ? starts[pc + 1] : ne - 2;
		print_side(left, e, ne, starts[pc], end);
	}
	print_side("(reject: out-of-bounds load, X == 0)", e, ne, ne - 2, ne);
	printf("%zu classic instructions, %zu eBPF instructions\n", n, ne);
	free(e);
	free(starts);
	return CLI_OK;
}

/* ---- filtering a capture ----------------------------------------------------------- */

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *engine_name(enum run_with with)
{
	if (with == RUN_CBPF)
		return "classic interpreter";
	return with == RUN_INTERP ? "eBPF interpreter" : "eBPF JIT";
}

static int load_translation(struct bpfvm_vm *vm, const struct bpfvm_cbpf_insn *prog, size_t n,
			    enum run_with with, int checked, struct bpfvm_prog **ep)
{
	struct bpfvm_prog_opts opts = {
		.name = "filter",
		.engine = with == RUN_JIT ? BPFVM_ENGINE_JIT : BPFVM_ENGINE_INTERP,
		.safety = checked ? BPFVM_SAFETY_CHECKED : BPFVM_SAFETY_VERIFIED,
	};
	return bpfvm_cbpf_load(vm, prog, n, &opts, ep);
}

static int filter_capture(const struct filter_opts *o)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	pcap_t *in = pcap_open_offline(o->in, errbuf);
	if (!in) {
		cli_error("filter", "%s", errbuf);
		return CLI_FAIL;
	}
	struct bpfvm_cbpf_insn *prog = NULL;
	size_t n = 0;
	struct bpfvm_vm *vm = NULL;
	struct bpfvm_prog *ep = NULL;
	pcap_dumper_t *out = NULL;
	enum run_with with = o->with;
	int rc = get_program(o, pcap_datalink(in), pcap_snapshot(in), &prog, &n);
	if (rc)
		goto done;
	rc = CLI_FAIL;
	if (with != RUN_CBPF) {
		if (bpfvm_vm_create(&vm)) {
			cli_error("filter", "out of memory");
			goto done;
		}
		/* The default engine is the JIT when the library has one. */
		if (with == RUN_DEFAULT)
			with = load_translation(vm, prog, n, RUN_JIT, o->checked, &ep) == -ENOTSUP
				       ? RUN_INTERP
				       : RUN_JIT;
		if (!ep && load_translation(vm, prog, n, with, o->checked, &ep)) {
			cli_error("filter", "%s", bpfvm_vm_last_error(vm));
			goto done;
		}
	}
	if (o->out && !(out = pcap_dump_open(in, o->out))) {
		cli_error("filter", "%s", pcap_geterr(in));
		goto done;
	}
	struct bpfvm_run run = {.engine = with == RUN_JIT ? BPFVM_ENGINE_JIT : BPFVM_ENGINE_INTERP};
	struct bpfvm_cbpf_ctx ctx;
	struct pcap_pkthdr *hdr;
	const u_char *data;
	size_t total = 0, matched = 0;
	double start = now_seconds();
	int got;
	while ((got = pcap_next_ex(in, &hdr, &data)) == 1) {
		uint64_t result;
		total++;
		if (with == RUN_CBPF) {
			result = bpfvm_cbpf_run(prog, n, data, hdr->len, hdr->caplen);
		} else {
			bpfvm_cbpf_run_init(&run, &ctx, data, hdr->len, hdr->caplen);
			if (bpfvm_prog_run(ep, &run)) {
				cli_error("filter", "%s: packet %zu: %s", o->in, total, run.error);
				goto done;
			}
			result = run.retval;
		}
		if (result) {
			matched++;
			if (out)
				pcap_dump((u_char *)out, hdr, data);
		}
	}
	if (got == PCAP_ERROR) {
		cli_error("filter", "%s: %s", o->in, pcap_geterr(in));
		goto done;
	}
	double secs = now_seconds() - start;
	printf("%zu\n", matched);
	if (o->verbose)
		fprintf(stderr, "%zu of %zu packets matched (%s, %zu classic insns, %.3f ms)\n", matched,
			total, engine_name(with), n, secs * 1e3);
	rc = CLI_OK;
done:
	if (out)
		pcap_dump_close(out);
	bpfvm_prog_destroy(ep);
	if (vm)
		bpfvm_vm_destroy(vm);
	free(prog);
	pcap_close(in);
	return rc;
}

static int filter_run(int argc, char **argv)
{
	struct filter_opts o = {.linktype = DLT_EN10MB};
	int rc = parse_args(argc, argv, &o);
	if (rc)
		return rc;
	if (o.show) {
		struct bpfvm_cbpf_insn *prog;
		size_t n;
		int linktype = o.linktype, snaplen = 262144;
		if (o.in) { /* the capture decides the link type */
			char errbuf[PCAP_ERRBUF_SIZE];
			pcap_t *in = pcap_open_offline(o.in, errbuf);
			if (!in) {
				cli_error("filter", "%s", errbuf);
				return CLI_FAIL;
			}
			linktype = pcap_datalink(in);
			snaplen = pcap_snapshot(in);
			pcap_close(in);
		}
		if ((rc = get_program(&o, linktype, snaplen, &prog, &n)))
			return rc;
		rc = show_program(prog, n);
		free(prog);
		return rc;
	}
	return filter_capture(&o);
}

const struct cli_cmd cli_cmd_filter = {
	.name = "filter",
	.summary = "count the packets of a capture a tcpdump expression matches",
	.run = filter_run,
	.help = filter_help,
};
