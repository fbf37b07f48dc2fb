#!/usr/bin/env bash
# bpfvm asm / bpfvm disasm on the command line: round trip through a file,
# and one clear line plus exit status 1 for every kind of bad input.
. "$(dirname "$0")/../common/lib.sh"

if [ ! -x "$BPFVM" ]; then
	t_skip cli "$BPFVM not built"
	t_done
	exit
fi

cat >"$T_TMP/prog.s" <<'EOF'
; count to ten
	r0 = 0
loop:
	r0 += 1
	if r0 < 10 goto loop
	r1 = 2675205388142210915 ll
	*(u64 *)(r10 - 8) = r1
	exit
EOF

t_expect "asm writes bytecode" 0 "" -- "$BPFVM" asm "$T_TMP/prog.s" -o "$T_TMP/prog.bin"
size=$(stat -c %s "$T_TMP/prog.bin" 2>/dev/null)
[ "$size" = 56 ] && t_ok "bytecode has 7 slots" || t_fail "bytecode has 7 slots" "size $size"

out=$("$BPFVM" disasm "$T_TMP/prog.bin")
want='r0 = 0
r0 += 1
if r0 < 10 goto -2
r1 = 2675205388142210915 ll
*(u64 *)(r10 - 8) = r1
exit'
[ "$out" = "$want" ] && t_ok "disasm prints the program back" || t_fail "disasm prints the program back" "$out"

"$BPFVM" disasm "$T_TMP/prog.bin" >"$T_TMP/again.s"
"$BPFVM" asm "$T_TMP/again.s" -o "$T_TMP/again.bin"
cmp -s "$T_TMP/prog.bin" "$T_TMP/again.bin" && t_ok "asm(disasm(bytes)) == bytes" ||
	t_fail "asm(disasm(bytes)) == bytes"

t_expect "asm --hex prints slots" 0 "b7 00 00 00 00 00 00 00" -- "$BPFVM" asm --hex "$T_TMP/prog.s"
t_expect "disasm --numbered" 0 "3: r1 = 2675205388142210915 ll" -- "$BPFVM" disasm --numbered "$T_TMP/prog.bin"
t_expect "disasm conformance syntax" 0 "jlt %r0, 10, -2" -- "$BPFVM" disasm --syntax conformance "$T_TMP/prog.bin"
t_expect "disasm --hex" 0 "r0 = 1" -- "$BPFVM" disasm --hex "b7 00 00 00 01 00 00 00 95 00 00 00 00 00 00 00"
t_expect "conformance text assembles" 0 "b4 00 00 00 00 00 00 00" -- \
	"$BPFVM" asm --syntax conformance --hex <(printf 'mov32 %%r0, 0\nexit\n')

# Bad input: one line naming the problem, exit status 1.
head -c 12 "$T_TMP/prog.bin" >"$T_TMP/trunc.bin"
t_expect "truncated bytecode" 1 "truncated bytecode: 12 bytes is not a multiple of 8" -- \
	"$BPFVM" disasm "$T_TMP/trunc.bin"
t_expect "unknown opcode" 1 "insn 1: unknown opcode 0xff" -- \
	"$BPFVM" disasm --hex "b7 00 00 00 00 00 00 00 ff 00 00 00 00 00 00 00 95 00 00 00 00 00 00 00"
t_expect "unknown opcode still prints the rest" 1 ".insn 0xff 0 0 0 0 ; unknown opcode 0xff" -- \
	"$BPFVM" disasm --hex "b7 00 00 00 00 00 00 00 ff 00 00 00 00 00 00 00 95 00 00 00 00 00 00 00"
t_expect "half an LD_IMM64" 1 "insn 1: incomplete ld_imm64 (second slot missing)" -- \
	"$BPFVM" disasm --hex "b7 00 00 00 00 00 00 00 18 01 00 00 05 00 00 00"
t_expect "jump out of range" 1 "insn 0: jump out of range (target 6, program has 2 insns)" -- \
	"$BPFVM" disasm --hex "05 00 05 00 00 00 00 00 95 00 00 00 00 00 00 00"
t_expect "jump out of range is still printed" 1 "goto +5" -- \
	"$BPFVM" disasm --hex "05 00 05 00 00 00 00 00 95 00 00 00 00 00 00 00"

printf 'r0 = 0\nr0 = frobnicate(r1)\nexit\n' >"$T_TMP/garbage.s"
t_expect "garbage assembly" 1 "garbage.s:2:6: error:" -- "$BPFVM" asm "$T_TMP/garbage.s"
printf 'r0 = 0\nr1 = r11\nexit\n' >"$T_TMP/badreg.s"
t_expect "bad register" 1 "badreg.s:2:6: error: expected register, got 'r11'" -- "$BPFVM" asm "$T_TMP/badreg.s"
: >"$T_TMP/empty.s"
t_expect "empty file (asm)" 1 "empty.s: error: empty program" -- "$BPFVM" asm "$T_TMP/empty.s"
t_expect "empty file (disasm)" 1 "empty program" -- "$BPFVM" disasm "$T_TMP/empty.s"
: >"$T_TMP/empty.bin"
t_expect "empty bytecode file" 1 "empty program" -- "$BPFVM" disasm "$T_TMP/empty.bin"

for case in "$T_TMP/garbage.s" "$T_TMP/empty.s" "$T_TMP/trunc.bin"; do
	lines=$("$BPFVM" disasm "$case" 2>&1 >/dev/null | wc -l)
	[ "$lines" = 1 ] && t_ok "one error line for $(basename "$case")" ||
		t_fail "one error line for $(basename "$case")" "$lines lines"
done

t_expect "unknown syntax is a usage error" 2 "unknown syntax 'intel'" -- \
	"$BPFVM" asm --syntax intel "$T_TMP/prog.s"
t_expect "asm without a file is a usage error" 2 "no input file" -- "$BPFVM" asm
t_expect "asm help" 0 "usage: bpfvm asm" -- "$BPFVM" asm --help
t_expect "disasm help" 0 "usage: bpfvm disasm" -- "$BPFVM" help disasm
t_done
