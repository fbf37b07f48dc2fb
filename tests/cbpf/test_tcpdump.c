/* bpfvm against tcpdump: a capture generated here (IPv4, IPv6, TCP, UDP,
 * ICMP, ICMPv6, VLAN, fragments, ARP, truncated packets), filtered with
 * many expressions by `tcpdump -r in.pcap -w out.pcap EXPR` and by bpfvm
 * (classic interpreter, eBPF interpreter, JIT, and the `bpfvm filter`
 * command); the matching packets must be the same ones, by index. Also
 * reads tcpdump's -d, -dd and -ddd output for those expressions. */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <unistd.h>

#include "bpfvm/bpfvm.h"
#include "cbpf/traffic.h"
#include "common/harness.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define NPACKETS 4000
#define TS_BASE 1000000000 /* packet i has timestamp TS_BASE + i seconds */

static const char *const expressions[] = {
	"ip",
	"ip6",
	"arp",
	"tcp",
	"udp",
	"icmp",
	"icmp6",
	"tcp and port 80",
	"udp port 53",
	"host 10.0.0.1",
	"src host 192.168.1.10 and dst host 10.0.0.2",
	"dst net 10.0.0.0/8",
	"net 192.168.1.0/24 and tcp",
	"tcp[tcpflags] & tcp-syn != 0",
	"tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn",
	"portrange 1000-2000",
	"vlan",
	"vlan 100",
	"vlan and udp",
	"vlan 10 and ip6",
	"ip[6:2] & 0x1fff != 0",
	"ip[6] & 0x20 != 0",
	"len > 200",
	"less 100",
	"greater 500",
	"ether broadcast",
	"ether multicast",
	"ip6 and tcp port 443",
	"icmp[icmptype] == icmp-echo",
	"icmp6 and ip6[40] == 135",
	"ip and not tcp",
	"not ip and not ip6",
	"udp and (port 53 or port 123)",
	"tcp dst port 22 or udp src port 53",
	"ip proto 17",
	"ip6 and ip6[6] == 44",
	"ether src 02:00:00:00:00:01",
	"ether proto 0x0806",
	"ip[2:2] > 100 and ip[8] < 64",
	"tcp[13] = 0x12",
	"ip[0] & 0xf > 5",
	"ip[2:2] % 7 = 3 or ip[8] ^ 0xff > 200",
	"(ip[2:2] - 20) / 4 > 10",
	"tcp[((tcp[12] & 0xf0) >> 2):4] = 0x47455420",
	"ip[ip[0] & 0x3] > 0x40",
	"ether[0] & 1 = 0 and ip[16] >= 192",
	"udp[4:2] > 100",
	"arp[6:2] = 2",
};

static char dir[64];

static const char *path_in(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", dir, name);
	return buf;
}

static int have_tcpdump(void)
{
	return system("tcpdump --version >/dev/null 2>&1") == 0;
}

/* The captures the tests filter, written once per process: Ethernet, and
 * raw IP (DLT_RAW: the IPv4/IPv6 frames without their Ethernet header). */
struct capture {
	uint8_t (*data)[TRAFFIC_MAX_FRAME];
	struct pcap_pkthdr *hdr;
	size_t n;
	int linktype;
	char path[128];
};
static struct capture cap, raw_cap;

static void free_captures(void)
{
	struct capture *all[] = {&cap, &raw_cap};
	for (size_t i = 0; i < N(all); i++) {
		free(all[i]->data);
		free(all[i]->hdr);
		if (all[i]->path[0])
			unlink(all[i]->path);
	}
	if (dir[0])
		rmdir(dir);
}

/* Keep only untagged IP frames and drop their Ethernet header; 0 if the
 * frame has no IP packet to keep. */
static int strip_to_raw_ip(uint8_t *frame, struct pcap_pkthdr *h)
{
	unsigned type = (unsigned)frame[12] << 8 | frame[13];
	if (h->caplen <= 14 || (type != 0x0800 && type != 0x86dd))
		return 0;
	memmove(frame, frame + 14, h->caplen - 14);
	h->caplen -= 14;
	h->len -= 14;
	return 1;
}

static int make_capture(struct capture *c, int linktype, const char *name)
{
	if (c->n)
		return 0;
	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/tmp/bpfvm-cbpf-XXXXXX");
		if (!mkdtemp(dir))
			return -errno;
		atexit(free_captures);
	}
	c->linktype = linktype;
	path_in(name, c->path, sizeof(c->path));
	c->data = malloc((size_t)NPACKETS * TRAFFIC_MAX_FRAME);
	c->hdr = calloc(NPACKETS, sizeof(*c->hdr));
	pcap_t *p = pcap_open_dead(linktype, 65535);
	pcap_dumper_t *d = p ? pcap_dump_open(p, c->path) : NULL;
	if (!c->data || !c->hdr || !d) {
		if (p)
			pcap_close(p);
		return -EIO;
	}
	uint64_t seed = 20241125;
	size_t n = 0;
	for (size_t i = 0; i < NPACKETS; i++) {
		traffic_frame(&seed, c->data[n], &c->hdr[n].len, &c->hdr[n].caplen);
		if (linktype == DLT_RAW && !strip_to_raw_ip(c->data[n], &c->hdr[n]))
			continue;
		c->hdr[n].ts.tv_sec = TS_BASE + (time_t)n;
		pcap_dump((u_char *)d, &c->hdr[n], c->data[n]);
		n++;
	}
	c->n = n;
	pcap_dump_close(d);
	pcap_close(p);
	return 0;
}

/* The indexes of the packets of a pcap file written from capture c
 * (marked by their timestamps), as a 0/1 vector; -1 if unreadable. */
static int read_matches(const struct capture *c, const char *path, uint8_t *match)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline(path, errbuf);
	if (!p)
		return -1;
	memset(match, 0, c->n);
	struct pcap_pkthdr *h;
	const u_char *data;
	int count = 0;
	while (pcap_next_ex(p, &h, &data) == 1) {
		long i = (long)h->ts.tv_sec - TS_BASE;
		if (i >= 0 && (size_t)i < c->n) {
			match[i] = 1;
			count++;
		}
	}
	pcap_close(p);
	return count;
}

static int tcpdump_matches(const struct capture *c, const char *expr, uint8_t *match)
{
	char out[128], cmd[1024];
	path_in("tcpdump.pcap", out, sizeof(out));
	/* -Z root: keep the output file writable if tcpdump drops privileges */
	snprintf(cmd, sizeof(cmd), "tcpdump -Z root -r '%s' -w '%s' '%s' >/dev/null 2>&1", c->path,
		 out, expr);
	if (system(cmd) != 0) {
		snprintf(cmd, sizeof(cmd), "tcpdump -r '%s' -w '%s' '%s' >/dev/null 2>&1", c->path,
			 out, expr);
		if (system(cmd) != 0)
			return -1;
	}
	int count = read_matches(c, out, match);
	unlink(out);
	return count;
}

static void report_difference(const struct capture *c, const char *expr, const char *engine,
			      const uint8_t *want, const uint8_t *got)
{
	for (size_t i = 0; i < c->n; i++)
		if (want[i] != got[i]) {
			harness_fail(__FILE__, __LINE__,
				     "'%s' (%s, link type %d): packet %zu (wire %u, captured %u) %s by tcpdump, %s by bpfvm",
				     expr, engine, c->linktype, i, c->hdr[i].len, c->hdr[i].caplen,
				     want[i] ? "matched" : "not matched", got[i] ? "matched" : "not matched");
			return;
		}
}

struct engine {
	const char *name;
	enum bpfvm_engine engine; /* 0: the classic interpreter */
	int classic;
	int batch; /* the batch translation: 1 all packets in one run, 2 in
		    * the prefetching bursts of bpfvm_cbpf_filter_packets */
};

static const struct engine engines[] = {
	{"classic interpreter", 0, 1, 0},
	{"eBPF interpreter", BPFVM_ENGINE_INTERP, 0, 0},
	{"JIT", BPFVM_ENGINE_JIT, 0, 0},
	{"JIT, one batch", BPFVM_ENGINE_JIT, 0, 1},
	{"JIT, bursts", BPFVM_ENGINE_JIT, 0, 2},
	{"eBPF interpreter, bursts", BPFVM_ENGINE_INTERP, 0, 2},
};

/* All packets of c through the batch translation, in one run or in
 * bursts. */
static void run_batch(struct bpfvm_prog *ep, enum bpfvm_engine engine, int bursts,
		      const struct capture *c, uint8_t *got)
{
	struct bpfvm_cbpf_ctx *ctxs = malloc(c->n * sizeof(*ctxs));
	uint32_t *results = malloc(c->n * sizeof(*results));
	for (size_t i = 0; i < c->n; i++)
		ctxs[i] = (struct bpfvm_cbpf_ctx){c->data[i], c->hdr[i].caplen, c->hdr[i].len};
	struct bpfvm_cbpf_batch batch = {ctxs, results, c->n};
	struct bpfvm_run run = {.engine = engine};
	int rc;
	if (bursts) {
		rc = bpfvm_cbpf_filter_packets(ep, engine, ctxs, c->n, results, run.error,
					       sizeof(run.error));
	} else {
		bpfvm_cbpf_batch_run_init(&run, &batch);
		rc = bpfvm_prog_run(ep, &run);
	}
	if (rc)
		harness_fail(__FILE__, __LINE__, "batch run: %s", run.error);
	for (size_t i = 0; i < c->n; i++)
		got[i] = rc == 0 && results[i] != 0;
	free(ctxs);
	free(results);
}

/* Every expression on capture c: each engine must match exactly the
 * packets tcpdump matches. */
static void compare_with_tcpdump(const struct capture *c, const char *const *exprs, size_t nexprs)
{
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	uint8_t *want = malloc(c->n), *got = malloc(c->n);
	int missing_engine[N(engines)] = {0};
	size_t nonempty = 0;
	for (size_t e = 0; e < nexprs; e++) {
		const char *expr = exprs[e];
		int wanted = tcpdump_matches(c, expr, want);
		if (wanted < 0) {
			harness_fail(__FILE__, __LINE__, "tcpdump failed on '%s'", expr);
			continue;
		}
		nonempty += wanted > 0 && (size_t)wanted < c->n;
		struct bpfvm_cbpf_insn *prog;
		size_t n;
		char err[256];
		if (bpfvm_cbpf_compile(expr, c->linktype, 65535, &prog, &n, err, sizeof(err))) {
			harness_fail(__FILE__, __LINE__, "'%s': %s", expr, err);
			continue;
		}
		for (size_t g = 0; g < N(engines); g++) {
			struct bpfvm_prog *ep = NULL;
			if (!engines[g].classic) {
				struct bpfvm_prog_opts opts = {.engine = engines[g].engine};
				int rc = engines[g].batch ? bpfvm_cbpf_load_batch(vm, prog, n, &opts, &ep)
							  : bpfvm_cbpf_load(vm, prog, n, &opts, &ep);
				if (rc == -ENOTSUP) {
					missing_engine[g] = 1;
					continue;
				}
				if (rc) {
					harness_fail(__FILE__, __LINE__, "'%s': load: %s", expr,
						     bpfvm_vm_last_error(vm));
					continue;
				}
			}
			if (engines[g].batch)
				run_batch(ep, engines[g].engine, engines[g].batch == 2, c, got);
			for (size_t i = 0; i < c->n && !engines[g].batch; i++) {
				if (engines[g].classic) {
					got[i] = bpfvm_cbpf_run(prog, n, c->data[i], c->hdr[i].len,
								c->hdr[i].caplen) != 0;
					continue;
				}
				struct bpfvm_run run = {.engine = engines[g].engine};
				struct bpfvm_cbpf_ctx ctx;
				bpfvm_cbpf_run_init(&run, &ctx, c->data[i], c->hdr[i].len, c->hdr[i].caplen);
				int rc = bpfvm_prog_run(ep, &run);
				if (rc)
					harness_fail(__FILE__, __LINE__, "'%s' (%s) packet %zu: %s", expr,
						     engines[g].name, i, run.error);
				got[i] = rc == 0 && run.retval != 0;
			}
			bpfvm_prog_destroy(ep);
			report_difference(c, expr, engines[g].name, want, got);
		}
		free(prog);
	}
	/* The traffic must exercise the expressions, not trivially (mis)match. */
	CHECK(nonempty >= nexprs - 2);
	for (size_t g = 0; g < N(engines); g++)
		if (missing_engine[g])
			fprintf(stderr, "note: %s not available, not compared\n", engines[g].name);
	free(want);
	free(got);
	bpfvm_vm_destroy(vm);
}

TEST(every_engine_matches_the_packets_tcpdump_matches)
{
	if (!have_tcpdump())
		SKIP("tcpdump is not installed");
	CHECK_EQ(make_capture(&cap, DLT_EN10MB, "ether.pcap"), 0);
	compare_with_tcpdump(&cap, expressions, N(expressions));
}

TEST(raw_ip_captures_compile_for_their_link_type)
{
	if (!have_tcpdump())
		SKIP("tcpdump is not installed");
	CHECK_EQ(make_capture(&raw_cap, DLT_RAW, "raw.pcap"), 0);
	static const char *const raw_exprs[] = {
		"ip", "ip6", "tcp port 80", "udp", "icmp6", "ip[6:2] & 0x1fff != 0", "less 100",
		"host 10.0.0.1", "ip6 and ip6[6] == 44", "tcp[tcpflags] & tcp-syn != 0",
	};
	compare_with_tcpdump(&raw_cap, raw_exprs, N(raw_exprs));
}

/* Runs a shell command and returns its first line of output. */
static int run_capture_line(const char *cmd, char *line, size_t len)
{
	FILE *f = popen(cmd, "r");
	if (!f)
		return -1;
	line[0] = 0;
	if (!fgets(line, (int)len, f))
		line[0] = 0;
	while (fgetc(f) != EOF)
		;
	return pclose(f);
}

TEST(filter_command_counts_and_writes_the_tcpdump_matches)
{
	if (!have_tcpdump())
		SKIP("tcpdump is not installed");
	char cli[512];
	harness_build_path("bpfvm", cli, sizeof(cli));
	if (access(cli, X_OK) != 0)
		SKIP("the bpfvm command is not built");
	CHECK_EQ(make_capture(&cap, DLT_EN10MB, "ether.pcap"), 0);
	static const char *const some[] = {"tcp and port 80", "vlan and udp", "ip6 and ip6[6] == 44",
					   "less 100", "icmp or arp"};
	static const char *const flags[] = {"", "--interp", "--cbpf", "--checked"};
	uint8_t *want = malloc(cap.n), *got = malloc(cap.n);
	char out[128], cmd[1024], line[256];
	path_in("bpfvm.pcap", out, sizeof(out));
	for (size_t e = 0; e < N(some); e++) {
		int wanted = tcpdump_matches(&cap, some[e], want);
		for (size_t f = 0; f < N(flags); f++) {
			snprintf(cmd, sizeof(cmd), "'%s' filter %s -w '%s' '%s' '%s' 2>&1", cli, flags[f], out,
				 some[e], cap.path);
			int rc = run_capture_line(cmd, line, sizeof(line));
			if (rc != 0 || atoi(line) != wanted) {
				harness_fail(__FILE__, __LINE__, "bpfvm filter %s '%s': exit %d, printed '%s', tcpdump matched %d",
					     flags[f], some[e], rc, line, wanted);
				continue;
			}
			CHECK_EQ(read_matches(&cap, out, got), wanted);
			report_difference(&cap, some[e], flags[f], want, got);
			unlink(out);
		}
	}
	free(want);
	free(got);
}

TEST(filter_command_shows_classic_and_ebpf_side_by_side)
{
	char cli[512], cmd[1024];
	harness_build_path("bpfvm", cli, sizeof(cli));
	if (access(cli, X_OK) != 0)
		SKIP("the bpfvm command is not built");
	snprintf(cmd, sizeof(cmd), "'%s' filter -d 'tcp and port 80' 2>&1", cli);
	FILE *f = popen(cmd, "r");
	CHECK(f != NULL);
	if (!f)
		return;
	char all[16384];
	size_t len = fread(all, 1, sizeof(all) - 1, f);
	all[len] = 0;
	CHECK_EQ(pclose(f), 0);
	CHECK_CONTAINS(all, "(000) ldh      [12]");
	CHECK_CONTAINS(all, "ldxb     4*([14]&0xf)");
	CHECK_CONTAINS(all, "(prologue)");
	CHECK_CONTAINS(all, "(reject: out-of-bounds load, X == 0)");
	CHECK_CONTAINS(all, "classic instructions,");
	/* A rejected program is one clear line naming the instruction. */
	char prog[128];
	path_in("bad.txt", prog, sizeof(prog));
	CHECK_EQ(make_capture(&cap, DLT_EN10MB, "ether.pcap"), 0);
	FILE *bad = fopen(prog, "w");
	fputs("(000) ld       M[3]\n(001) ret\n", bad);
	fclose(bad);
	snprintf(cmd, sizeof(cmd), "'%s' filter -F '%s' '%s' 2>&1", cli, prog, cap.path);
	char line[256];
	CHECK_EQ(WEXITSTATUS(run_capture_line(cmd, line, sizeof(line))), 1);
	CHECK_CONTAINS(line, "insn 0: M[3] may be read before it is written");
	unlink(prog);
	/* libpcap's protochain loops backwards: the kernel's rules refuse it. */
	snprintf(cmd, sizeof(cmd), "'%s' filter 'ip6 protochain 6' '%s' 2>&1", cli, cap.path);
	CHECK_EQ(WEXITSTATUS(run_capture_line(cmd, line, sizeof(line))), 1);
	CHECK_CONTAINS(line, "backward jump");
}

/* Output of a tcpdump -d/-dd/-ddd run, parsed, must be the program
 * libpcap compiles for the same expression. */
TEST(tcpdump_text_forms_read_back_as_the_compiled_program)
{
	if (!have_tcpdump())
		SKIP("tcpdump is not installed");
	static const char *const forms[] = {"-d", "-dd", "-ddd"};
	for (size_t e = 0; e < N(expressions); e += 3) {
		struct bpfvm_cbpf_insn *want;
		size_t nwant;
		char err[256];
		CHECK_EQ(bpfvm_cbpf_compile(expressions[e], DLT_EN10MB, 262144, &want, &nwant, err, sizeof(err)), 0);
		for (size_t f = 0; f < N(forms); f++) {
			char cmd[512], text[65536];
			snprintf(cmd, sizeof(cmd), "tcpdump -y EN10MB %s '%s' 2>/dev/null", forms[f], expressions[e]);
			FILE *p = popen(cmd, "r");
			size_t len = p ? fread(text, 1, sizeof(text) - 1, p) : 0;
			if (p)
				pclose(p);
			text[len] = 0;
			struct bpfvm_cbpf_insn *got = NULL;
			size_t ngot = 0;
			if (bpfvm_cbpf_parse(text, len, BPFVM_CBPF_AUTO, forms[f], &got, &ngot, err, sizeof(err))) {
				harness_fail(__FILE__, __LINE__, "tcpdump %s '%s': %s", forms[f], expressions[e], err);
				continue;
			}
			if (ngot != nwant || memcmp(got, want, nwant * sizeof(*want)) != 0)
				harness_fail(__FILE__, __LINE__, "tcpdump %s '%s': read %zu insns, compiled %zu, or they differ",
					     forms[f], expressions[e], ngot, nwant);
			free(got);
		}
		free(want);
	}
}
