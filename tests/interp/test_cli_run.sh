#!/usr/bin/env bash
# bpfvm run: programs from hex, both assembly syntaxes and bytecode; memory;
# tracing; repeat timing; faults reported with their instruction.
. "$(dirname "$0")/../common/lib.sh"

if [ ! -x "$BPFVM" ]; then
	t_skip "bpfvm run" "$BPFVM is not built"
	t_done
	exit
fi

t_expect "hex program prints r0 in decimal and hex" 0 "retval = 42 (0x2a)" -- \
	"$BPFVM" run --hex "b7 00 00 00 2a 00 00 00 95 00 00 00 00 00 00 00"

printf 'r0 = 0\nr1 = 5\nloop:\nr0 += r1\nr1 -= 1\nif r1 != 0 goto loop\nexit\n' >"$T_TMP/sum.s"
t_expect "llvm syntax assembly" 0 "retval = 15 (0xf)" -- "$BPFVM" run "$T_TMP/sum.s"

printf 'mov %%r0, 0\nldxh %%r0, [%%r1+2]\nadd %%r0, %%r2\nexit\n' >"$T_TMP/mem.asm"
t_expect "conformance syntax with --mem: r1 = memory, r2 = length" 0 "retval = 1029 (0x405)" -- \
	"$BPFVM" run --no-verify --mem "00 00 01 04" "$T_TMP/mem.asm"

printf '\x00\x00\x01\x04' >"$T_TMP/mem.bin"
t_expect "--mem-file" 0 "retval = 1029 (0x405)" -- "$BPFVM" run --no-verify --mem-file "$T_TMP/mem.bin" "$T_TMP/mem.asm"

printf '\xb7\x00\x00\x00\x07\x00\x00\x00\x95\x00\x00\x00\x00\x00\x00\x00' >"$T_TMP/prog.bin"
t_expect "raw bytecode file" 0 "retval = 7 (0x7)" -- "$BPFVM" run "$T_TMP/prog.bin"

out=$("$BPFVM" run --trace "$T_TMP/sum.s" 2>&1)
if grep -qE '^ +2: r0 \+= r1 +; r0 = 0x5$' <<<"$out" && grep -qE '^ +5: exit$' <<<"$out" &&
	[ "$(grep -c 'r0 += r1' <<<"$out")" = 5 ]; then
	t_ok "--trace prints each executed instruction with the registers it changed"
else
	t_fail "--trace prints each executed instruction with the registers it changed" "$out"
fi

t_expect "--repeat prints time per run" 0 "1000 runs: " -- "$BPFVM" run --repeat 1000 "$T_TMP/sum.s"

printf 'r0 = *(u32 *)(r1 + 8)\nexit\n' >"$T_TMP/oob.s"
out=$("$BPFVM" run --no-verify --mem "01 02 03 04" "$T_TMP/oob.s" 2>&1); rc=$?
if [ $rc = 1 ] && grep -q '^bpfvm run: insn 0: invalid read of 4 bytes at 0x' <<<"$out"; then
	t_ok "checked mode: out-of-bounds read faults with its instruction, exit 1"
else
	t_fail "out-of-bounds read faults with its instruction, exit 1" "rc $rc: $out"
fi

printf 'r0 = 0\nloop:\ngoto loop\nexit\n' >"$T_TMP/spin.s"
t_expect "checked mode: endless loop stops at the budget" 1 "instruction budget" -- "$BPFVM" run --no-verify "$T_TMP/spin.s"

printf 'r0 = 0\nr0 +== 1\nexit\n' >"$T_TMP/bad.s"
t_expect "assembly error names file and line" 1 "bad.s:2" -- "$BPFVM" run "$T_TMP/bad.s"
t_expect "unknown option is a usage error" 2 "unknown option '--bogus'" -- "$BPFVM" run --bogus "$T_TMP/sum.s"

out=$("$BPFVM" run --jit "$T_TMP/sum.s" 2>&1); rc=$?
if { [ $rc = 0 ] && grep -q 'retval = 15 (0xf)' <<<"$out"; } ||
	{ [ $rc = 1 ] && grep -q '^bpfvm run: .*JIT' <<<"$out"; }; then
	t_ok "--jit runs the program or says the JIT is unavailable"
else
	t_fail "--jit runs the program or says the JIT is unavailable" "rc $rc: $out"
fi
t_done
