/* Fixed cost of a run: ns per bpfvm_prog_run of tiny programs, where the
 * entry and exit of the engine are most of the time.
 *   empty     r0 = 0; exit
 *   filter    the classic filter "tcp and port 80" translated to eBPF, on
 *             one 74-byte TCP packet (bpfvm_cbpf_run_init + run, as
 *             bench_cbpf does per packet)
 *   lookup    one ARRAY bpf_map_lookup_elem and a read of the value
 *   lookup8   eight of them (the per-lookup cost is (lookup8 - lookup) / 7)
 * for the interpreter and the JIT, verified. Thread CPU time, best of
 * several passes (the machine may be shared). Not a test.
 *
 *   build/bench/bench_run [runs [program]]   (program: only that one, for perf) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bpfvm/bpfvm.h"

static double thread_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static struct bpfvm_insn insn(enum bpfvm_opid id, int dst, int src, int off, int32_t imm)
{
	struct bpfvm_insn i[2];
	bpfvm_isa_encode(id, (uint8_t)dst, (uint8_t)src, (int16_t)off, imm, 0, i);
	return i[0];
}

/* r1 = map 0 (LD_IMM64 with src_reg 1, imm = map index 0). */
static size_t ld_map(struct bpfvm_insn *p, int dst)
{
	return (size_t)bpfvm_isa_encode(BPFVM_OP_LDDW_MAP_FD, (uint8_t)dst, 1, 0, 0, 0, p);
}

/* count lookups of key (i * 7) % 64, summing the first u64 of each value. */
static size_t lookup_prog(struct bpfvm_insn *p, int count)
{
	size_t n = 0;
	p[n++] = insn(BPFVM_OP_MOV64_IMM, 6, 0, 0, 0);
	for (int i = 0; i < count; i++) {
		p[n++] = insn(BPFVM_OP_ST_W, BPFVM_REG_FP, 0, -4, (i * 7) % 64);
		n += ld_map(&p[n], 1);
		p[n++] = insn(BPFVM_OP_MOV64_REG, 2, BPFVM_REG_FP, 0, 0);
		p[n++] = insn(BPFVM_OP_ADD64_IMM, 2, 0, 0, -4);
		p[n++] = insn(BPFVM_OP_CALL_HELPER, 0, 0, 0, 1);
		p[n++] = insn(BPFVM_OP_JEQ_IMM, 0, 0, 2, 0);
		p[n++] = insn(BPFVM_OP_LDX_DW, 1, 0, 0, 0);
		p[n++] = insn(BPFVM_OP_ADD64_REG, 6, 1, 0, 0);
	}
	p[n++] = insn(BPFVM_OP_MOV64_REG, 0, 6, 0, 0);
	p[n++] = insn(BPFVM_OP_EXIT, 0, 0, 0, 0);
	return n;
}

/* An Ethernet + IPv4 + TCP packet to port 80. */
static void make_packet(uint8_t pkt[74])
{
	memset(pkt, 0, 74);
	pkt[12] = 0x08; /* IPv4 */
	pkt[14] = 0x45;
	pkt[16] = 0;
	pkt[17] = 60;
	pkt[23] = 6; /* TCP */
	pkt[34] = 0x30;
	pkt[35] = 0x39; /* source port 12345 */
	pkt[37] = 80;   /* destination port 80 */
	pkt[46] = 0xa0;
}

struct job {
	struct bpfvm_prog *prog;
	enum bpfvm_engine engine;
	const uint8_t *pkt; /* filter: run bpfvm_cbpf_run_init per run */
};

static double ns_per_run(const struct job *j, long runs, uint64_t *r0)
{
	double best = 1e30;
	struct bpfvm_run run = {.engine = j->engine};
	struct bpfvm_cbpf_ctx cctx;
	for (int pass = 0; pass < 7; pass++) {
		double t0 = thread_ns();
		for (long i = 0; i < runs; i++) {
			if (j->pkt)
				bpfvm_cbpf_run_init(&run, &cctx, j->pkt, 74, 74);
			if (bpfvm_prog_run(j->prog, &run)) {
				fprintf(stderr, "run failed: %s\n", run.error);
				exit(1);
			}
		}
		double ns = (thread_ns() - t0) / (double)runs;
		if (ns < best)
			best = ns;
	}
	*r0 = run.retval;
	return best;
}

static struct bpfvm_prog *load(struct bpfvm_vm *vm, const struct bpfvm_insn *p, size_t n,
			       struct bpfvm_map *map)
{
	struct bpfvm_prog_opts o = {.name = "bench", .maps = map ? &map : NULL, .nmaps = map != NULL};
	struct bpfvm_prog *prog;
	if (bpfvm_prog_load(vm, p, n, &o, &prog)) {
		fprintf(stderr, "load: %s\n", bpfvm_vm_last_error(vm));
		exit(1);
	}
	return prog;
}

int main(int argc, char **argv)
{
	long runs = argc > 1 ? atol(argv[1]) : 2000000;
	struct bpfvm_vm *vm;
	if (bpfvm_vm_create(&vm))
		return 1;
	struct bpfvm_map_def def = {.type = BPFVM_MAP_ARRAY, .key_size = 4, .value_size = 8,
				    .max_entries = 64, .name = "arr"};
	struct bpfvm_map *map;
	if (bpfvm_map_create(vm, &def, &map))
		return 1;
	for (uint32_t k = 0; k < 64; k++) {
		uint64_t v = k;
		bpfvm_map_update(map, &k, &v, 0);
	}
	static struct bpfvm_insn p[256];
	struct {
		const char *name;
		struct bpfvm_prog *prog;
		const uint8_t *pkt;
	} progs[4];
	p[0] = insn(BPFVM_OP_MOV64_IMM, 0, 0, 0, 0);
	p[1] = insn(BPFVM_OP_EXIT, 0, 0, 0, 0);
	progs[0].name = "empty";
	progs[0].prog = load(vm, p, 2, NULL);
	progs[0].pkt = NULL;

	static uint8_t pkt[74];
	make_packet(pkt);
	struct bpfvm_cbpf_insn *cprog;
	size_t cn;
	char err[256];
	if (bpfvm_cbpf_compile("tcp and port 80", 1 /* DLT_EN10MB */, 262144, &cprog, &cn, err,
			       sizeof(err))) {
		fprintf(stderr, "compile: %s\n", err);
		return 1;
	}
	struct bpfvm_prog_opts co = {.name = "filter"};
	if (bpfvm_cbpf_load(vm, cprog, cn, &co, &progs[1].prog)) {
		fprintf(stderr, "cbpf load: %s\n", bpfvm_vm_last_error(vm));
		return 1;
	}
	free(cprog);
	progs[1].name = "filter";
	progs[1].pkt = pkt;

	progs[2].name = "lookup";
	progs[2].prog = load(vm, p, lookup_prog(p, 1), map);
	progs[2].pkt = NULL;
	progs[3].name = "lookup8";
	progs[3].prog = load(vm, p, lookup_prog(p, 8), map);
	progs[3].pkt = NULL;
	bpfvm_map_destroy(map);

	printf("ns per bpfvm_prog_run, thread CPU time, best of 7 x %ld runs\n", runs);
	printf("%-10s %12s %12s   r0\n", "program", "interp", "jit");
	const char *only = argc > 2 ? argv[2] : NULL;
	for (int i = 0; i < 4; i++) {
		if (only && strcmp(only, progs[i].name)) {
			bpfvm_prog_destroy(progs[i].prog);
			continue;
		}
		uint64_t r0i, r0j;
		struct job ji = {progs[i].prog, BPFVM_ENGINE_INTERP, progs[i].pkt};
		struct job jj = {progs[i].prog, BPFVM_ENGINE_JIT, progs[i].pkt};
		double ni = ns_per_run(&ji, runs, &r0i);
		double nj = ns_per_run(&jj, runs, &r0j);
		printf("%-10s %12.1f %12.1f   %llu%s\n", progs[i].name, ni, nj, (unsigned long long)r0j,
		       r0i == r0j ? "" : " (engines differ!)");
		bpfvm_prog_destroy(progs[i].prog);
	}
	bpfvm_vm_destroy(vm);
	return 0;
}
