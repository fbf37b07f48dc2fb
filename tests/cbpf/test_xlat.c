/* Classic -> eBPF translation: the output's shape, and that it computes
 * exactly what the classic interpreter computes, on bpfvm's eBPF
 * interpreter and JIT, with and without run-time checks, for tcpdump's
 * programs and for random valid programs over synthetic traffic. */
#include <errno.h>
#include <linux/filter.h>
#include <pcap/pcap.h>
#include <stdlib.h>

#include "bpfvm/bpfvm.h"
#include "bpfvm/cbpf.h"
#include "cbpf/cbpf_internal.h"
#include "cbpf/traffic.h"
#include "core/internal.h"
#include "common/harness.h"

#define S(code, k) ((struct bpfvm_cbpf_insn){(code), 0, 0, (k)})
#define J(code, k, jt, jf) ((struct bpfvm_cbpf_insn){(code), (jt), (jf), (k)})
#define N(a) (sizeof(a) / sizeof((a)[0]))

TEST(translation_is_a_valid_ebpf_program_with_a_slot_map)
{
	struct bpfvm_cbpf_insn p[] = {
		S(BPF_LD | BPF_H | BPF_ABS, 12), J(BPF_JMP | BPF_JEQ | BPF_K, 0x800, 0, 3),
		S(BPF_LDX | BPF_B | BPF_MSH, 14), S(BPF_LD | BPF_H | BPF_IND, 16),
		S(BPF_RET | BPF_A, 0), S(BPF_RET | BPF_K, 0),
	};
	struct bpfvm_insn *out;
	size_t nout, starts[N(p) + 1];
	char err[256];
	CHECK_EQ(bpfvm_cbpf_translate(p, N(p), &out, &nout, starts, err, sizeof(err)), 0);
	CHECK_EQ(bpfvm_isa_validate(out, nout, err, sizeof(err)), 0);
	CHECK_EQ(starts[N(p)], nout);
	for (size_t i = 0; i < N(p); i++)
		CHECK(starts[i] < starts[i + 1]);
	/* ldh [12]: bounds check, 16-bit load at offset 12, byte swap. */
	CHECK_EQ(out[starts[0]].code, bpfvm_isa_table()[BPFVM_OP_JLT32_IMM].code);
	CHECK_EQ(out[starts[0]].imm, 14);
	CHECK_EQ(out[starts[0] + 1].code, bpfvm_isa_table()[BPFVM_OP_LDX_H].code);
	CHECK_EQ(out[starts[0] + 1].off, 12);
	CHECK_EQ(bpfvm_isa_lookup(&out[starts[0] + 2]), &bpfvm_isa_table()[BPFVM_OP_BE16]);
	/* jeq with jt == 0 becomes one negated jump to jf's slot. */
	CHECK_EQ(starts[2] - starts[1], 1);
	CHECK_EQ(bpfvm_isa_lookup(&out[starts[1]]), &bpfvm_isa_table()[BPFVM_OP_JNE32_IMM]);
	CHECK_EQ(starts[1] + 1 + out[starts[1]].off, starts[5]);
	/* ret a is a bare exit: A lives in r0. */
	CHECK_EQ(starts[5] - starts[4], 1);
	CHECK_EQ(bpfvm_isa_lookup(&out[starts[4]]), &bpfvm_isa_table()[BPFVM_OP_EXIT]);
	free(out);
}

TEST(bounds_checks_proven_on_every_path_are_left_out)
{
	struct bpfvm_cbpf_insn p[] = {
		S(BPF_LD | BPF_W | BPF_LEN, 0),
		J(BPF_JMP | BPF_JGT | BPF_K, 10, 0, 2),
		S(BPF_LD | BPF_B | BPF_ABS, 30), /* checks caplen >= 31 */
		S(BPF_LD | BPF_B | BPF_ABS, 5),  /* proven by the load before */
		S(BPF_LD | BPF_B | BPF_ABS, 20), /* also reached from insn 1: checks */
		S(BPF_RET | BPF_A, 0),
	};
	struct bpfvm_insn *out;
	size_t nout, starts[N(p) + 1];
	CHECK_EQ(bpfvm_cbpf_translate(p, N(p), &out, &nout, starts, NULL, 0), 0);
	const struct bpfvm_opinfo *t = bpfvm_isa_table();
	CHECK_EQ(bpfvm_isa_lookup(&out[starts[2]]), &t[BPFVM_OP_JLT32_IMM]);
	CHECK_EQ(bpfvm_isa_lookup(&out[starts[3]]), &t[BPFVM_OP_LDX_B]);
	CHECK_EQ(starts[4] - starts[3], 1);
	CHECK_EQ(bpfvm_isa_lookup(&out[starts[4]]), &t[BPFVM_OP_JLT32_IMM]);
	CHECK_EQ(out[starts[4]].imm, 21);
	free(out);
}

TEST(translation_refuses_invalid_programs)
{
	struct bpfvm_cbpf_insn p[] = {S(BPF_LD | BPF_MEM, 1), S(BPF_RET | BPF_A, 0)};
	struct bpfvm_insn *out;
	size_t nout;
	char err[256];
	CHECK_EQ(bpfvm_cbpf_translate(p, N(p), &out, &nout, NULL, err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "insn 0: M[1] may be read before it is written");
	CHECK(out == NULL);
}

TEST(scratch_memory_uses_registers_then_the_stack)
{
	/* Five slots: four live in r6..r9, the fifth on the stack. */
	struct bpfvm_cbpf_insn p[] = {
		S(BPF_LD | BPF_IMM, 1), S(BPF_ST, 0), S(BPF_ST, 3), S(BPF_ST, 5), S(BPF_ST, 7),
		S(BPF_ST, 15), S(BPF_LD | BPF_MEM, 15), S(BPF_RET | BPF_A, 0),
	};
	struct bpfvm_insn *out;
	size_t nout, starts[N(p) + 1];
	CHECK_EQ(bpfvm_cbpf_translate(p, N(p), &out, &nout, starts, NULL, 0), 0);
	CHECK_EQ(bpfvm_isa_lookup(&out[starts[1]]), &bpfvm_isa_table()[BPFVM_OP_MOV32_REG]);
	CHECK_EQ(out[starts[1]].dst, 6);
	CHECK_EQ(out[starts[4]].dst, 9);
	CHECK_EQ(bpfvm_isa_lookup(&out[starts[5]]), &bpfvm_isa_table()[BPFVM_OP_STX_W]);
	CHECK_EQ(out[starts[5]].dst, BPFVM_REG_FP);
	CHECK_EQ(out[starts[5]].off, -4);
	free(out);
}

/* Bursts cover every packet exactly once, whatever n is next to the burst
 * size: result i is packet i's length (the filter returns len). */
TEST(filter_packets_covers_every_packet_in_bursts)
{
	struct bpfvm_cbpf_insn p[] = {S(BPF_LD | BPF_W | BPF_LEN, 0), S(BPF_RET | BPF_A, 0)};
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	static const uint8_t byte = 0;
	static const size_t counts[] = {0, 1, BPFVM_CBPF_BURST - 1, BPFVM_CBPF_BURST,
					BPFVM_CBPF_BURST + 1, 3 * BPFVM_CBPF_BURST + 7};
	struct bpfvm_cbpf_ctx pkts[3 * BPFVM_CBPF_BURST + 7];
	uint32_t results[3 * BPFVM_CBPF_BURST + 7];
	for (size_t i = 0; i < N(pkts); i++)
		pkts[i] = (struct bpfvm_cbpf_ctx){&byte, 1, (uint32_t)(1000 + i)};
	for (int engine = BPFVM_ENGINE_INTERP; engine <= BPFVM_ENGINE_JIT; engine++) {
		struct bpfvm_prog_opts opts = {.engine = (enum bpfvm_engine)engine};
		struct bpfvm_prog *ep;
		int rc = bpfvm_cbpf_load_batch(vm, p, N(p), &opts, &ep);
		if (rc == -ENOTSUP)
			continue; /* no JIT on this machine */
		CHECK_EQ(rc, 0);
		for (size_t c = 0; c < N(counts); c++) {
			char err[256] = "";
			memset(results, 0xff, sizeof(results));
			CHECK_EQ(bpfvm_cbpf_filter_packets(ep, (enum bpfvm_engine)engine, pkts, counts[c],
							   results, err, sizeof(err)), 0);
			for (size_t i = 0; i < counts[c]; i++)
				CHECK_EQ(results[i], 1000 + i);
			if (counts[c] < N(results))
				CHECK_EQ(results[counts[c]], 0xffffffffu); /* nothing past n */
		}
		bpfvm_prog_destroy(ep);
	}
	bpfvm_vm_destroy(vm);
}

TEST(batch_translation_loops_and_refuses_checked_mode)
{
	struct bpfvm_cbpf_insn p[] = {S(BPF_LD | BPF_W | BPF_LEN, 0), S(BPF_RET | BPF_A, 0)};
	struct bpfvm_insn *out;
	size_t nout;
	char err[256];
	CHECK_EQ(bpfvm_cbpf_translate_batch(p, N(p), &out, &nout, NULL, err, sizeof(err)), 0);
	CHECK_EQ(bpfvm_isa_validate(out, nout, err, sizeof(err)), 0);
	int backward = 0;
	for (size_t i = 0; i < nout; i++)
		if (bpfvm_isa_lookup(&out[i]) == &bpfvm_isa_table()[BPFVM_OP_JA] && out[i].off < 0)
			backward++;
	CHECK_EQ(backward, 1); /* the loop back to the next packet */
	free(out);
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	struct bpfvm_prog_opts opts = {.safety = BPFVM_SAFETY_CHECKED};
	struct bpfvm_prog *ep;
	CHECK_EQ(bpfvm_cbpf_load_batch(vm, p, N(p), &opts, &ep), -EINVAL);
	CHECK_CONTAINS(bpfvm_vm_last_error(vm), "batch programs run without run-time checks");
	/* An empty batch is a run that does nothing. */
	opts.safety = BPFVM_SAFETY_VERIFIED;
	opts.engine = BPFVM_ENGINE_INTERP;
	CHECK_EQ(bpfvm_cbpf_load_batch(vm, p, N(p), &opts, &ep), 0);
	struct bpfvm_cbpf_batch none = {NULL, NULL, 0};
	struct bpfvm_run run = {.engine = BPFVM_ENGINE_INTERP};
	bpfvm_cbpf_batch_run_init(&run, &none);
	CHECK_EQ(bpfvm_prog_run(ep, &run), 0);
	bpfvm_prog_destroy(ep);
	bpfvm_vm_destroy(vm);
}

TEST(loaded_translation_declares_its_stack_use)
{
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	struct bpfvm_cbpf_insn regs_only[] = {S(BPF_LD | BPF_IMM, 1), S(BPF_ST, 0), S(BPF_LD | BPF_MEM, 0),
					      S(BPF_RET | BPF_A, 0)};
	struct bpfvm_cbpf_insn fifth_slot[] = {S(BPF_LD | BPF_IMM, 1), S(BPF_ST, 1), S(BPF_ST, 2), S(BPF_ST, 3),
					       S(BPF_ST, 4), S(BPF_ST, 0), S(BPF_RET | BPF_A, 0)};
	struct bpfvm_prog_opts opts = {.engine = BPFVM_ENGINE_INTERP};
	struct bpfvm_prog *p;
	CHECK_EQ(bpfvm_cbpf_load(vm, regs_only, N(regs_only), &opts, &p), 0);
	if (p)
		CHECK_EQ(p->stack_depth, 0);
	bpfvm_prog_destroy(p);
	CHECK_EQ(bpfvm_cbpf_load(vm, fifth_slot, N(fifth_slot), &opts, &p), 0);
	if (p)
		CHECK_EQ(p->stack_depth, 64); /* M[0] is the fifth slot: r10 - 64 */
	bpfvm_prog_destroy(p);
	bpfvm_vm_destroy(vm);
}

/* ---- differential runs ------------------------------------------------------------ */

struct packets {
	uint8_t (*data)[TRAFFIC_MAX_FRAME];
	uint32_t *wirelen, *caplen;
	size_t n;
};

static struct packets make_packets(size_t n, uint64_t seed)
{
	struct packets p = {malloc(n * TRAFFIC_MAX_FRAME), malloc(n * 4), malloc(n * 4), n};
	for (size_t i = 0; i < n; i++)
		traffic_frame(&seed, p.data[i], &p.wirelen[i], &p.caplen[i]);
	return p;
}

static void free_packets(struct packets *p)
{
	free(p->data);
	free(p->wirelen);
	free(p->caplen);
}

struct engine_mode {
	const char *name;
	enum bpfvm_engine engine;
	enum bpfvm_safety safety;
};

static const struct engine_mode modes[] = {
	{"interp", BPFVM_ENGINE_INTERP, BPFVM_SAFETY_VERIFIED},
	{"interp-checked", BPFVM_ENGINE_INTERP, BPFVM_SAFETY_CHECKED},
	{"jit", BPFVM_ENGINE_JIT, BPFVM_SAFETY_VERIFIED},
	{"jit-checked", BPFVM_ENGINE_JIT, BPFVM_SAFETY_CHECKED},
};

/* Runs the batch translation of prog over all packets in one run per
 * engine; returns the number of engines that ran, reports mismatches. */
static int compare_batch(struct bpfvm_vm *vm, const struct bpfvm_cbpf_insn *prog, size_t n,
			 const struct packets *pk, const char *what)
{
	static const enum bpfvm_engine batch_engines[] = {BPFVM_ENGINE_INTERP, BPFVM_ENGINE_JIT};
	struct bpfvm_cbpf_ctx *ctxs = malloc(pk->n * sizeof(*ctxs));
	uint32_t *results = malloc(pk->n * sizeof(*results));
	int ran = 0;
	for (size_t i = 0; i < pk->n; i++)
		ctxs[i] = (struct bpfvm_cbpf_ctx){pk->data[i], pk->caplen[i], pk->wirelen[i]};
	for (size_t e = 0; e < N(batch_engines); e++) {
		struct bpfvm_prog_opts opts = {.engine = batch_engines[e]};
		struct bpfvm_prog *ep;
		if (bpfvm_cbpf_load_batch(vm, prog, n, &opts, &ep)) {
			harness_fail(__FILE__, __LINE__, "%s: batch load: %s", what, bpfvm_vm_last_error(vm));
			continue;
		}
		memset(results, 0xa5, pk->n * sizeof(*results));
		struct bpfvm_cbpf_batch batch = {ctxs, results, pk->n};
		struct bpfvm_run run = {.engine = batch_engines[e]};
		bpfvm_cbpf_batch_run_init(&run, &batch);
		int rc = bpfvm_prog_run(ep, &run);
		CHECK_EQ(rc, 0);
		CHECK_EQ(run.retval, 0);
		for (size_t i = 0; i < pk->n && rc == 0; i++) {
			uint32_t want = bpfvm_cbpf_run(prog, n, pk->data[i], pk->wirelen[i], pk->caplen[i]);
			if (results[i] != want) {
				harness_fail(__FILE__, __LINE__, "%s (batch, engine %d) packet %zu: 0x%x, classic 0x%x",
					     what, (int)batch_engines[e], i, results[i], want);
				break;
			}
		}
		bpfvm_prog_destroy(ep);
		ran++;
	}
	free(ctxs);
	free(results);
	return ran;
}

/* Runs prog on every packet in every engine mode; returns the number of
 * modes that ran (0 when none is available), reports mismatches. */
static int compare_engines(struct bpfvm_vm *vm, const struct bpfvm_cbpf_insn *prog, size_t n,
			   const struct packets *pk, const char *what, int *skipped_jit)
{
	int ran = 0;
	for (size_t m = 0; m < N(modes); m++) {
		struct bpfvm_prog_opts opts = {.engine = modes[m].engine, .safety = modes[m].safety};
		struct bpfvm_prog *ep;
		int rc = bpfvm_cbpf_load(vm, prog, n, &opts, &ep);
		if (rc == -ENOTSUP) {
			if (modes[m].engine == BPFVM_ENGINE_JIT)
				*skipped_jit = 1;
			continue;
		}
		if (rc) {
			harness_fail(__FILE__, __LINE__, "%s: load (%s): %s", what, modes[m].name,
				     bpfvm_vm_last_error(vm));
			continue;
		}
		ran++;
		int mismatches = 0;
		for (size_t i = 0; i < pk->n && mismatches < 3; i++) {
			struct bpfvm_run run = {.engine = modes[m].engine};
			struct bpfvm_cbpf_ctx ctx;
			bpfvm_cbpf_run_init(&run, &ctx, pk->data[i], pk->wirelen[i], pk->caplen[i]);
			uint32_t want = bpfvm_cbpf_run(prog, n, pk->data[i], pk->wirelen[i], pk->caplen[i]);
			rc = bpfvm_prog_run(ep, &run);
			if (rc || run.retval != want) {
				mismatches++;
				harness_fail(__FILE__, __LINE__, "%s (%s) packet %zu (caplen %u): rc %d '%s', "
					     "r0 0x%llx, classic 0x%x", what, modes[m].name, i,
					     pk->caplen[i], rc, run.error, (unsigned long long)run.retval, want);
			}
		}
		bpfvm_prog_destroy(ep);
	}
	return ran;
}

static const char *const expressions[] = {
	"ip", "ip6", "arp", "tcp port 80", "udp and port 53", "icmp or icmp6",
	"vlan 100 and udp", "ip[6:2] & 0x1fff != 0", "len > 200", "less 100",
	"tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn", "net 192.168.1.0/24",
	"tcp[((tcp[12] & 0xf0) >> 2):4] = 0x47455420", "ip[2:2] % 7 = 3 or ip[8] ^ 0xff > 200",
	"(ip[2:2] - 20) / 4 > 10 and ip[0] & 0xf > 5", "ip6 and ip6[6] == 44",
	"ip[0] << ip[1] = 4", "ip[8] >> (ip[9] & 0x3f) = 1", "ether multicast",
	"ether[0:4] * 3 + ether[4:2] = 7", "ip[2:2] / (ip[9] - 6) > 10",
};

TEST(translated_tcpdump_programs_match_the_classic_interpreter)
{
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	struct packets pk = make_packets(1500, 42);
	int ran = 0, skipped_jit = 0;
	for (size_t e = 0; e < N(expressions); e++) {
		struct bpfvm_cbpf_insn *prog;
		size_t n;
		char err[256];
		if (bpfvm_cbpf_compile(expressions[e], 1, 65535, &prog, &n, err, sizeof(err))) {
			harness_fail(__FILE__, __LINE__, "%s: %s", expressions[e], err);
			continue;
		}
		ran += compare_engines(vm, prog, n, &pk, expressions[e], &skipped_jit);
		ran += compare_batch(vm, prog, n, &pk, expressions[e]);
		free(prog);
	}
	free_packets(&pk);
	bpfvm_vm_destroy(vm);
	if (!ran)
		SKIP("no eBPF engine is built into the library yet");
	if (skipped_jit)
		fprintf(stderr, "note: the JIT is not available; compared the interpreter only\n");
}

/* A random valid classic program: random rows of the opcode table with
 * small packet offsets, in-range forward jumps and a final return. */
static size_t random_program(uint64_t *s, struct bpfvm_cbpf_insn *p, size_t max)
{
	const struct cbpf_opinfo *t = bpfvm__cbpf_table();
	char err[128];
	for (;;) {
		size_t n = 2 + traffic_pick(s, (unsigned)max - 1);
		for (size_t pc = 0; pc < n; pc++) {
			const struct cbpf_opinfo *row = &t[traffic_pick(s, CBPF_OP__COUNT)];
			uint32_t k;
			switch (traffic_pick(s, 8)) {
			case 0: k = (uint32_t)traffic_rand(s); break;
			case 1: k = 0xffffffffu - traffic_pick(s, 4); break;
			case 2: k = traffic_pick(s, 40); break;
			default: k = traffic_pick(s, 70); break;
			}
			if (row->kind == CBPF_K_LD_MEM || row->kind == CBPF_K_LDX_MEM ||
			    row->kind == CBPF_K_ST || row->kind == CBPF_K_STX)
				k = traffic_pick(s, BPFVM_CBPF_MEMWORDS);
			if (row->kind == CBPF_K_ALU_K && (row->ebpf_op == BPFVM_OP_LSH32_IMM ||
							  row->ebpf_op == BPFVM_OP_RSH32_IMM))
				k %= 32;
			if (row->kind == CBPF_K_ALU_K && k == 0)
				k = 1;
			size_t room = n - pc - 1;
			uint8_t jt = 0, jf = 0;
			if (row->kind == CBPF_K_JA)
				k = room ? traffic_pick(s, (unsigned)room) : 0;
			if (row->kind == CBPF_K_JMP_K || row->kind == CBPF_K_JMP_X) {
				jt = room ? (uint8_t)traffic_pick(s, (unsigned)(room < 256 ? room : 256)) : 0;
				jf = room ? (uint8_t)traffic_pick(s, (unsigned)(room < 256 ? room : 256)) : 0;
			}
			p[pc] = (struct bpfvm_cbpf_insn){row->code, jt, jf, k};
		}
		p[n - 1] = (struct bpfvm_cbpf_insn){t[traffic_pick(s, 2) ? CBPF_OP_RET_A : CBPF_OP_RET_K].code, 0, 0,
						    (uint32_t)traffic_rand(s)};
		if (bpfvm_cbpf_validate(p, n, err, sizeof(err)) == 0)
			return n;
	}
}

TEST(translated_random_programs_match_the_classic_interpreter)
{
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	struct packets pk = make_packets(200, 7);
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	struct bpfvm_cbpf_insn prog[48];
	int ran = 0, skipped_jit = 0;
	for (int i = 0; i < 300; i++) {
		size_t n = random_program(&seed, prog, N(prog));
		char what[64];
		snprintf(what, sizeof(what), "random program %d", i);
		ran += compare_engines(vm, prog, n, &pk, what, &skipped_jit);
		ran += compare_batch(vm, prog, n, &pk, what);
	}
	free_packets(&pk);
	bpfvm_vm_destroy(vm);
	if (!ran)
		SKIP("no eBPF engine is built into the library yet");
}

/* The classic interpreter itself against libpcap's bpf_filter(), on the
 * same random programs and packets (lengths cut anywhere). */
TEST(classic_interpreter_matches_libpcap_bpf_filter)
{
	struct packets pk = make_packets(200, 11);
	uint64_t seed = 0x1234567;
	struct bpfvm_cbpf_insn prog[48];
	int mismatches = 0;
	for (int i = 0; i < 2000 && mismatches < 3; i++) {
		size_t n = random_program(&seed, prog, N(prog));
		for (size_t j = 0; j < pk.n && mismatches < 3; j++) {
			uint32_t caplen = j % 3 ? pk.caplen[j] : (uint32_t)traffic_pick(&seed, pk.caplen[j] + 1);
			uint32_t ours = bpfvm_cbpf_run(prog, n, pk.data[j], pk.wirelen[j], caplen);
			uint32_t theirs = bpf_filter((const struct bpf_insn *)prog, pk.data[j], pk.wirelen[j], caplen);
			if (ours != theirs) {
				mismatches++;
				harness_fail(__FILE__, __LINE__, "random program %d packet %zu: bpfvm 0x%x, libpcap 0x%x",
					     i, j, ours, theirs);
			}
		}
	}
	free_packets(&pk);
}
