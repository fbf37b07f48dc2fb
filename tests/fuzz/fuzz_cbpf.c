/* Fuzz target: classic BPF. Input: one byte n, n 8-byte struct sock_filter
 * records, then the packet (its first byte adds to the wire length).
 * Properties:
 *  - bpfvm_cbpf_run is safe on any program, valid or not;
 *  - a program bpfvm_cbpf_validate accepts gives, on the packet, the same
 *    result in bpfvm's classic interpreter, in libpcap's bpf_filter(), and
 *    translated to eBPF in the interpreter and the JIT (verified mode)
 *    and the interpreter in checked mode (no check may fire);
 *  - a rejection has an "insn N:" message. */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm/bpfvm.h"
#include "bpfvm/cbpf.h"

static uint32_t run_translated(struct bpfvm_vm *vm, const struct bpfvm_cbpf_insn *prog, size_t n,
			       enum bpfvm_engine engine, enum bpfvm_safety safety, const uint8_t *pkt,
			       uint32_t wirelen, uint32_t caplen)
{
	struct bpfvm_prog_opts opts = {.name = "cbpf", .engine = engine, .safety = safety};
	struct bpfvm_prog *p;
	if (bpfvm_cbpf_load(vm, prog, n, &opts, &p)) {
		fprintf(stderr, "valid program does not load: %s\n", bpfvm_vm_last_error(vm));
		abort();
	}
	struct bpfvm_cbpf_ctx ctx;
	struct bpfvm_run run = {.engine = engine};
	bpfvm_cbpf_run_init(&run, &ctx, pkt, wirelen, caplen);
	if (bpfvm_prog_run(p, &run)) {
		fprintf(stderr, "translated run failed: %s\n", run.error);
		abort();
	}
	bpfvm_prog_destroy(p);
	return (uint32_t)run.retval;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t n = data[0] % 64 + 1;
	if (size < 1 + n * 8)
		return 0;
	struct bpfvm_cbpf_insn *prog = malloc(n * sizeof(*prog));
	memcpy(prog, data + 1, n * sizeof(*prog));
	const uint8_t *rest = data + 1 + n * 8;
	size_t rest_len = size - 1 - n * 8;
	uint32_t extra = rest_len ? rest[0] : 0;
	/* The packet in its own allocation, so ASan sees a read past caplen. */
	uint32_t caplen = rest_len ? (uint32_t)rest_len - 1 : 0;
	uint8_t *pkt = malloc(caplen ? caplen : 1);
	memcpy(pkt, rest_len ? rest + 1 : rest, caplen);
	uint32_t wirelen = caplen + extra;

	uint32_t mine = bpfvm_cbpf_run(prog, n, pkt, wirelen, caplen);
	char err[256] = "";
	if (bpfvm_cbpf_validate(prog, n, err, sizeof(err))) {
		if (strncmp(err, "insn ", 5))
			abort();
	} else {
		uint32_t theirs = bpf_filter((const struct bpf_insn *)prog, pkt, wirelen, caplen);
		struct bpfvm_vm *vm;
		if (bpfvm_vm_create(&vm))
			abort();
		uint32_t xi = run_translated(vm, prog, n, BPFVM_ENGINE_INTERP, BPFVM_SAFETY_VERIFIED, pkt, wirelen, caplen);
		uint32_t xj = run_translated(vm, prog, n, BPFVM_ENGINE_JIT, BPFVM_SAFETY_VERIFIED, pkt, wirelen, caplen);
		uint32_t xc = run_translated(vm, prog, n, BPFVM_ENGINE_INTERP, BPFVM_SAFETY_CHECKED, pkt, wirelen, caplen);
		bpfvm_vm_destroy(vm);
		if (mine != theirs || xi != theirs || xj != theirs || xc != theirs) {
			fprintf(stderr, "libpcap %u, classic interpreter %u, translated: interp %u jit %u checked %u\n",
				theirs, mine, xi, xj, xc);
			abort();
		}
	}
	free(pkt);
	free(prog);
	return 0;
}
