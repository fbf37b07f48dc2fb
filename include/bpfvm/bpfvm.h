/* bpfvm: a userspace eBPF runtime. Include this header for the whole API.
 *
 * The pipeline, one header per stage:
 *   isa.h      the instruction set: one opcode table, decode/encode/validate
 *   asm.h      assembler and disassembler (llvm/kernel and conformance syntax)
 *   vm.h       VMs, programs (load = validate + verify + prepare), runs
 *   cbpf.h     classic BPF: read, validate, run, translate to eBPF, pcap expressions
 *   helpers.h  helper functions and their prototypes
 *   maps.h     maps with the kernel's semantics
 *   object.h   BPF object files (ELF) as clang writes them and libbpf opens them
 */
#ifndef BPFVM_BPFVM_H
#define BPFVM_BPFVM_H

#include "bpfvm/asm.h"
#include "bpfvm/cbpf.h"
#include "bpfvm/helpers.h"
#include "bpfvm/isa.h"
#include "bpfvm/maps.h"
#include "bpfvm/object.h"
#include "bpfvm/vm.h"

#endif
