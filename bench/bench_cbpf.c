/* Classic BPF throughput: packets per second over a 1M-packet capture held
 * in memory, for typical tcpdump expressions, on libpcap's bpf_filter()
 * interpreter, bpfvm's classic interpreter, and bpfvm's eBPF interpreter
 * and JIT running the translated program (unchecked, as bpfvm_cbpf_load
 * runs it by default; --checked adds the run-time-checked variants), one
 * run per packet and, with the batch translation, in the prefetching bursts
 * of bpfvm_cbpf_filter_packets. libpcap is also timed with the same
 * prefetching around its bpf_filter calls, and the memory floor (touching
 * one byte per packet) is printed: on a capture larger than the caches it
 * bounds every engine.
 * Time is this thread's CPU time: the machine is shared, and wall time
 * would count the time other processes hold the CPU.
 *   usage: bench_cbpf [--packets N] [--checked] */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../tests/cbpf/traffic.h"
#include "bpfvm/bpfvm.h"

static const char *const expressions[] = {
	"tcp and port 80",
	"udp and dst port 53",
	"host 192.168.1.10",
	"tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn",
	"vlan 100 and ip",
};
#define NEXPR (sizeof(expressions) / sizeof(expressions[0]))

/* The capture: packets packed back to back. */
struct capture {
	uint8_t *bytes;
	size_t *off;
	uint32_t *wirelen, *caplen;
	size_t n;
	struct bpfvm_cbpf_ctx *ctxs; /* the same packets, as batch input */
	uint32_t *results;
};

static int make_capture(struct capture *c, size_t n)
{
	uint64_t seed = 1;
	size_t cap = n * 256, used = 0;
	c->bytes = malloc(cap);
	c->off = malloc(n * sizeof(*c->off));
	c->wirelen = malloc(n * sizeof(*c->wirelen));
	c->caplen = malloc(n * sizeof(*c->caplen));
	if (!c->bytes || !c->off || !c->wirelen || !c->caplen)
		return -ENOMEM;
	uint8_t frame[TRAFFIC_MAX_FRAME];
	for (size_t i = 0; i < n; i++) {
		traffic_frame(&seed, frame, &c->wirelen[i], &c->caplen[i]);
		if (used + c->caplen[i] > cap) {
			cap *= 2;
			uint8_t *nb = realloc(c->bytes, cap);
			if (!nb)
				return -ENOMEM;
			c->bytes = nb;
		}
		memcpy(c->bytes + used, frame, c->caplen[i]);
		c->off[i] = used;
		used += c->caplen[i];
	}
	c->n = n;
	c->ctxs = malloc(n * sizeof(*c->ctxs));
	c->results = malloc(n * sizeof(*c->results));
	if (!c->ctxs || !c->results)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		c->ctxs[i] = (struct bpfvm_cbpf_ctx){c->bytes + c->off[i], c->caplen[i], c->wirelen[i]};
	return 0;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

enum engine {
	E_LIBPCAP, E_LIBPCAP_PREFETCH, E_CBPF, E_INTERP, E_JIT, E_INTERP_BATCH, E_JIT_BATCH,
	E_INTERP_CHECKED, E_JIT_CHECKED, E_COUNT
};
static const char *const engine_names[E_COUNT] = {
	"libpcap bpf_filter", "pcap prefetched", "bpfvm classic", "eBPF interp", "JIT",
	"interp bursts", "JIT bursts", "interp checked", "JIT checked",
};

struct job {
	enum engine e;
	const struct bpf_program *pcap_prog;
	const struct bpfvm_cbpf_insn *prog;
	size_t n;
	struct bpfvm_prog *ep;
};

static int is_jit(enum engine e)
{
	return e == E_JIT || e == E_JIT_BATCH || e == E_JIT_CHECKED;
}

static int is_batch(enum engine e)
{
	return e == E_INTERP_BATCH || e == E_JIT_BATCH;
}

/* One pass of the batch program over the capture, in the prefetching
 * bursts of bpfvm_cbpf_filter_packets. */
static size_t batch_pass(const struct job *j, const struct capture *c)
{
	char err[256];
	enum bpfvm_engine engine = is_jit(j->e) ? BPFVM_ENGINE_JIT : BPFVM_ENGINE_INTERP;
	if (bpfvm_cbpf_filter_packets(j->ep, engine, c->ctxs, c->n, c->results, err, sizeof(err))) {
		fprintf(stderr, "run failed: %s\n", err);
		exit(1);
	}
	size_t matched = 0;
	for (size_t k = 0; k < c->n; k++)
		matched += c->results[k] != 0;
	return matched;
}

/* libpcap's bpf_filter given the same help bursts get: the packets of the
 * next BPFVM_CBPF_BURST prefetched while the current ones are filtered
 * (bpf_filter itself takes one packet, so a caller would do this). */
static size_t pcap_prefetch_pass(const struct job *j, const struct capture *c)
{
	size_t matched = 0;
	for (size_t i = 0; i < c->n; i += BPFVM_CBPF_BURST) {
		size_t end = i + BPFVM_CBPF_BURST < c->n ? i + BPFVM_CBPF_BURST : c->n;
		for (size_t k = end; k < end + BPFVM_CBPF_BURST && k < c->n; k++)
			__builtin_prefetch(c->bytes + c->off[k]);
		for (size_t k = i; k < end; k++)
			matched += bpf_filter(j->pcap_prog->bf_insns, c->bytes + c->off[k], c->wirelen[k],
					      c->caplen[k]) != 0;
	}
	return matched;
}

/* One pass over the capture; returns the number of matches. */
static size_t one_pass(const struct job *j, const struct capture *c)
{
	if (is_batch(j->e))
		return batch_pass(j, c);
	if (j->e == E_LIBPCAP_PREFETCH)
		return pcap_prefetch_pass(j, c);
	size_t matched = 0;
	struct bpfvm_run run = {.engine = is_jit(j->e) ? BPFVM_ENGINE_JIT : BPFVM_ENGINE_INTERP};
	struct bpfvm_cbpf_ctx ctx;
	for (size_t i = 0; i < c->n; i++) {
		const uint8_t *p = c->bytes + c->off[i];
		switch (j->e) {
		case E_LIBPCAP:
			matched += bpf_filter(j->pcap_prog->bf_insns, p, c->wirelen[i], c->caplen[i]) != 0;
			break;
		case E_CBPF:
			matched += bpfvm_cbpf_run(j->prog, j->n, p, c->wirelen[i], c->caplen[i]) != 0;
			break;
		default:
			bpfvm_cbpf_run_init(&run, &ctx, p, c->wirelen[i], c->caplen[i]);
			if (bpfvm_prog_run(j->ep, &run)) {
				fprintf(stderr, "run failed: %s\n", run.error);
				exit(1);
			}
			matched += run.retval != 0;
			break;
		}
	}
	return matched;
}

/* Packets per second: best of several passes (least disturbed by the
 * other processes sharing the machine). */
static double measure(const struct job *j, const struct capture *c, size_t *matched)
{
	double best = 0;
	for (int rep = 0; rep < 3; rep++) {
		double t0 = now();
		*matched = one_pass(j, c);
		double pps = (double)c->n / (now() - t0);
		if (pps > best)
			best = pps;
	}
	return best;
}

/* The floor any filter sits on: reading one byte (the ethertype) of every
 * packet, which brings each packet into the cache; with prefetch, the
 * packets of the next burst are asked for first, as bursts do. Mpps. */
static double memory_floor(const struct capture *c, int prefetch)
{
	double best = 0;
	for (int rep = 0; rep < 3; rep++) {
		volatile unsigned sink;
		unsigned acc = 0;
		double t0 = now();
		for (size_t i = 0; i < c->n; i += BPFVM_CBPF_BURST) {
			size_t end = i + BPFVM_CBPF_BURST < c->n ? i + BPFVM_CBPF_BURST : c->n;
			for (size_t k = end; prefetch && k < end + BPFVM_CBPF_BURST && k < c->n; k++)
				__builtin_prefetch(c->bytes + c->off[k]);
			for (size_t k = i; k < end; k++)
				acc += c->caplen[k] > 12 ? c->bytes[c->off[k] + 12] : 0;
		}
		double pps = (double)c->n / (now() - t0);
		sink = acc;
		(void)sink;
		if (pps > best)
			best = pps;
	}
	return best / 1e6;
}

int main(int argc, char **argv)
{
	size_t npackets = 1000000;
	int with_checked = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--packets") && i + 1 < argc)
			npackets = strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--checked"))
			with_checked = 1;
	}
	struct capture c;
	if (make_capture(&c, npackets)) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}
	struct bpfvm_vm *vm;
	if (bpfvm_vm_create(&vm))
		return 1;
	printf("classic BPF filtering, %zu packets in memory (Mpps of thread CPU time, best of 3 passes)\n",
	       c.n);
	printf("memory floor (read one byte of each packet): %.1f Mpps, with prefetching bursts %.1f Mpps\n\n",
	       memory_floor(&c, 0), memory_floor(&c, 1));
	printf("%-44s", "expression");
	for (int e = 0; e < E_COUNT; e++)
		if (e < E_INTERP_CHECKED || with_checked)
			printf(" %16s", engine_names[e]);
	printf(" %8s %9s %9s\n", "matched", "JIT/pcap", "bursts/pcap");
	pcap_t *dead = pcap_open_dead(DLT_EN10MB, 262144);
	for (size_t x = 0; x < NEXPR; x++) {
		struct bpf_program pp;
		struct bpfvm_cbpf_insn *prog;
		size_t n;
		char err[256];
		if (pcap_compile(dead, &pp, expressions[x], 1, PCAP_NETMASK_UNKNOWN) ||
		    bpfvm_cbpf_compile(expressions[x], DLT_EN10MB, 262144, &prog, &n, err, sizeof(err))) {
			fprintf(stderr, "%s: cannot compile\n", expressions[x]);
			return 1;
		}
		printf("%-44s", expressions[x]);
		double pps[E_COUNT] = {0};
		size_t first_matched = 0;
		for (int e = 0; e < E_COUNT; e++) {
			if (e >= E_INTERP_CHECKED && !with_checked)
				continue;
			struct job j = {(enum engine)e, &pp, prog, n, NULL};
			if (e >= E_INTERP) {
				int checked = e >= E_INTERP_CHECKED;
				struct bpfvm_prog_opts o = {
					.engine = is_jit((enum engine)e) ? BPFVM_ENGINE_JIT : BPFVM_ENGINE_INTERP,
					.safety = checked ? BPFVM_SAFETY_CHECKED : BPFVM_SAFETY_VERIFIED};
				int rc = is_batch((enum engine)e) ? bpfvm_cbpf_load_batch(vm, prog, n, &o, &j.ep)
								  : bpfvm_cbpf_load(vm, prog, n, &o, &j.ep);
				if (rc) {
					printf(" %16s", "n/a");
					continue;
				}
			}
			size_t matched;
			pps[e] = measure(&j, &c, &matched);
			bpfvm_prog_destroy(j.ep);
			if (e == 0)
				first_matched = matched;
			else if (matched != first_matched) {
				fprintf(stderr, "\n%s: %s matched %zu packets, libpcap %zu\n", expressions[x],
					engine_names[e], matched, first_matched);
				return 1;
			}
			printf(" %16.2f", pps[e] / 1e6);
			fflush(stdout);
		}
		printf(" %8zu", first_matched);
		printf(" %8.1fx %8.1fx\n", pps[E_JIT] / pps[E_LIBPCAP], pps[E_JIT_BATCH] / pps[E_LIBPCAP]);
		pcap_freecode(&pp);
		free(prog);
	}
	pcap_close(dead);
	bpfvm_vm_destroy(vm);
	free(c.ctxs);
	free(c.results);
	free(c.bytes);
	free(c.off);
	free(c.wirelen);
	free(c.caplen);
	return 0;
}
