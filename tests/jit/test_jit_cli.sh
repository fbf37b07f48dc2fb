#!/usr/bin/env bash
# bpfvm jit --dump: machine code per eBPF instruction, both modes, errors.
source "$(dirname "$0")/../common/lib.sh"

prog=$T_TMP/loop.s
printf 'r0 = 0\nr1 = 10\nloop:\nr0 += r1\nr1 -= 1\nif r1 != 0 goto loop\nexit\n' > "$prog"

t_expect "dump lists every instruction with its code" 0 "   4: if r1 != 0 goto -3" -- "$BPFVM" jit --dump "$prog"
t_expect "dump prints a summary line" 0 "6 eBPF slots ->" -- "$BPFVM" jit --dump "$prog"
t_expect "checked mode is named" 0 "(checked," -- "$BPFVM" jit --dump --no-verify "$prog"
t_expect "hex bytes on request" 0 "48 01 f8" -- "$BPFVM" jit --dump --hex "$prog"
t_expect "help" 0 "usage: bpfvm jit" -- "$BPFVM" jit --help
t_expect "unknown option is a usage error" 2 "unknown option" -- "$BPFVM" jit --bogus "$prog"
t_expect "missing file fails" 1 "" -- "$BPFVM" jit --dump "$T_TMP/missing.s"
printf 'r0 = *(u64 *)(r1 + 0)\nexit\n' > "$T_TMP/bad.s"
t_expect "a rejected program says how to compile it anyway" 1 "--no-verify" -- "$BPFVM" jit --dump "$T_TMP/bad.s"
t_done
