/* bpfvm: classic BPF (the filters of tcpdump, libpcap and SO_ATTACH_FILTER).
 *
 *   read        tcpdump -dd / -ddd / -d text, raw struct sock_filter bytes
 *   validate    the Linux kernel's rules for classic filters
 *   run         an interpreter with libpcap's bpf_filter() semantics
 *   translate   classic -> eBPF (in the spirit of the kernel's
 *               bpf_convert_filter), loaded and run by bpfvm's engines
 *   compile     tcpdump expressions, through libpcap's pcap_compile()
 */
#ifndef BPFVM_CBPF_H
#define BPFVM_CBPF_H

#include <stddef.h>
#include <stdint.h>

#include "bpfvm/isa.h"
#include "bpfvm/vm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One classic instruction, laid out as struct sock_filter / struct bpf_insn
 * (8 bytes, host byte order). */
struct bpfvm_cbpf_insn {
	uint16_t code;
	uint8_t jt; /* forward offset if the condition holds */
	uint8_t jf; /* forward offset if it does not */
	uint32_t k;
};

#define BPFVM_CBPF_MAXINSNS 4096 /* the kernel's BPF_MAXINSNS */
#define BPFVM_CBPF_MEMWORDS 16   /* scratch memory M[0..15] */

/* ---- text and byte forms ----------------------------------------------- */

enum bpfvm_cbpf_format {
	BPFVM_CBPF_AUTO = 0,    /* reader: decide from the content */
	BPFVM_CBPF_C_ARRAY = 1, /* tcpdump -dd:  { 0x28, 0, 0, 0x0000000c }, */
	BPFVM_CBPF_DECIMAL = 2, /* tcpdump -ddd: count line, then "40 0 0 12" */
	BPFVM_CBPF_LISTING = 3, /* tcpdump -d:   (000) ldh      [12] */
	BPFVM_CBPF_RAW = 4,     /* 8-byte struct sock_filter records */
};

/* Read a classic program from data (len bytes). filename is used in
 * messages ("file:line: ..." for text, "file: insn N: ..." for bytes).
 * On success *out is malloc'ed (free with free()) and holds *n
 * instructions; the program is not validated. Returns 0 or -EINVAL. */
int bpfvm_cbpf_parse(const void *data, size_t len, enum bpfvm_cbpf_format format,
		     const char *filename, struct bpfvm_cbpf_insn **out, size_t *n, char *err,
		     size_t errlen);

/* One instruction as tcpdump -d prints it, without the "(NNN) " prefix
 * and without a newline (e.g. "jeq      #0x800           jt 2\tjf 11").
 * pc is the instruction's index (jump targets are printed absolute).
 * Returns the length written, as snprintf. */
int bpfvm_cbpf_format_insn(const struct bpfvm_cbpf_insn *insn, size_t pc, char *buf,
			   size_t buflen);

/* A whole program in one of the three text forms (malloc'ed string, NULL
 * on allocation failure or for BPFVM_CBPF_RAW/AUTO). */
char *bpfvm_cbpf_dump(const struct bpfvm_cbpf_insn *insns, size_t n,
		      enum bpfvm_cbpf_format format);

/* ---- validation and interpretation ----------------------------------------- */

/* The kernel's rules for classic filters (bpf_check_classic): 1..4096
 * instructions, known opcodes, jumps forward and inside the program, the
 * last instruction a return, M[] indexes < 16 and each M[] slot written
 * on every path before it is read, no division or modulo by a constant 0,
 * constant shifts below 32, no absolute load from the kernel's ancillary
 * range SKF_AD_OFF + n (the kernel rejects unknown n; bpfvm also rejects
 * the known extensions: captured packets have no socket metadata).
 * Returns 0 or -EINVAL with "insn N: ..." in err (err may be NULL). */
int bpfvm_cbpf_validate(const struct bpfvm_cbpf_insn *insns, size_t n, char *err,
			size_t errlen);

/* Run a classic program on a packet as libpcap's bpf_filter() does:
 * A = X = 0 at the start, loads in network byte order, a load outside
 * [0, caplen) returns 0, division or modulo by X == 0 returns 0, `len`
 * is wirelen. Safe on any program (an unknown opcode, a jump out of the
 * program or a bad M[] index returns 0); validate first to get the
 * kernel's diagnostics. Returns the filter's result (0 = drop). */
uint32_t bpfvm_cbpf_run(const struct bpfvm_cbpf_insn *insns, size_t n, const uint8_t *pkt,
			uint32_t wirelen, uint32_t caplen);

/* ---- translation to eBPF --------------------------------------------------- */

/* The context a translated program receives in r1 (run->ctx): the packet
 * bytes present (caplen of them) and the length on the wire. */
struct bpfvm_cbpf_ctx {
	const uint8_t *pkt;
	uint32_t caplen;
	uint32_t wirelen;
};

/* Translate a valid classic program into eBPF (validates it first).
 * The result is a RAW program taking struct bpfvm_cbpf_ctx * in r1 and
 * returning the classic result in r0; every packet load is bounds-checked
 * by the program itself against caplen. *out is malloc'ed (*nout slots).
 * If starts is not NULL it receives n + 1 entries: the first eBPF slot of
 * each classic instruction, and the total length. The last two slots are
 * the shared reject path (r0 = 0; exit) of failed bounds checks and
 * division by X == 0. Returns 0 or -EINVAL (err: "insn N: ..."), -ENOMEM. */
int bpfvm_cbpf_translate(const struct bpfvm_cbpf_insn *insns, size_t n,
			 struct bpfvm_insn **out, size_t *nout, size_t *starts, char *err,
			 size_t errlen);

/* Validate, translate and load a classic program into vm (type RAW, run
 * with bpfvm_cbpf_run_init + bpfvm_prog_run). opts may be NULL; its engine
 * and name are used. opts->safety:
 *  - BPFVM_SAFETY_VERIFIED (default): the translation is safe by
 *    construction (each packet access follows its own bounds check, M[]
 *    are fixed slots, jumps only go forward, no calls), so it runs without
 *    run-time checks, as the kernel runs converted classic filters;
 *  - BPFVM_SAFETY_CHECKED: the engines check every access as well.
 * The error is in bpfvm_vm_last_error(vm). */
int bpfvm_cbpf_load(struct bpfvm_vm *vm, const struct bpfvm_cbpf_insn *insns, size_t n,
		    const struct bpfvm_prog_opts *opts, struct bpfvm_prog **out);

/* Prepare run (ctx, regions) for one packet of a program from
 * bpfvm_cbpf_load; ctx must live until the run ends. Other fields of run
 * (engine, budget, ...) are left as the caller set them. */
void bpfvm_cbpf_run_init(struct bpfvm_run *run, struct bpfvm_cbpf_ctx *ctx, const uint8_t *pkt,
			 uint32_t wirelen, uint32_t caplen);

/* ---- many packets per run ---------------------------------------------------- */

/* A batch: count packets in, one result per packet out. */
struct bpfvm_cbpf_batch {
	const struct bpfvm_cbpf_ctx *pkts;
	uint32_t *results; /* count entries, written by the run */
	uint64_t count;
};

/* The translation as a loop over a struct bpfvm_cbpf_batch (r1): the
 * filter body runs once per packet (a return stores r0 as the packet's
 * result instead of exiting) and the run returns 0 when all are done.
 * One run for many packets spreads the cost of starting a run over them,
 * as a packet pipeline that filters bursts does. */
int bpfvm_cbpf_translate_batch(const struct bpfvm_cbpf_insn *insns, size_t n,
			       struct bpfvm_insn **out, size_t *nout, size_t *starts, char *err,
			       size_t errlen);

/* Load the batch translation (as bpfvm_cbpf_load; runs without run-time
 * checks only: BPFVM_SAFETY_CHECKED is refused with -EINVAL). */
int bpfvm_cbpf_load_batch(struct bpfvm_vm *vm, const struct bpfvm_cbpf_insn *insns, size_t n,
			  const struct bpfvm_prog_opts *opts, struct bpfvm_prog **out);

/* Prepare run for one batch (batch must live until the run ends). */
void bpfvm_cbpf_batch_run_init(struct bpfvm_run *run, struct bpfvm_cbpf_batch *batch);

/* Filter a capture held in memory: results[i] = the filter's result for
 * pkts[i], with a batch program (bpfvm_cbpf_load_batch) run on bursts of
 * BPFVM_CBPF_BURST packets. The packets of the next burst are prefetched
 * while the current one is filtered, so that on a capture larger than the
 * caches the memory latency of one burst overlaps with the work on the
 * previous one (a filter touches one or two cache lines per packet and
 * would otherwise wait for each). engine as in struct bpfvm_run.
 * Returns 0, or a negative errno with the run's message in err. */
#define BPFVM_CBPF_BURST 32
int bpfvm_cbpf_filter_packets(struct bpfvm_prog *batch_prog, enum bpfvm_engine engine,
			      const struct bpfvm_cbpf_ctx *pkts, size_t n, uint32_t *results,
			      char *err, size_t errlen);

/* ---- tcpdump expressions ---------------------------------------------------- */

/* Compile a pcap filter expression with libpcap for a link type
 * (DLT_*, e.g. 1 = Ethernet) and snapshot length, optimized as tcpdump
 * does. *out is malloc'ed. Returns 0 or -EINVAL with libpcap's message. */
int bpfvm_cbpf_compile(const char *expr, int linktype, int snaplen, struct bpfvm_cbpf_insn **out,
		       size_t *n, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
