#!/usr/bin/env bash
# bpfvm objdump / run / verify on clang-compiled objects, and the exit
# status and one-line message for bad objects.
cd "$(dirname "$0")/../.." || exit 1
. tests/common/lib.sh

if ! command -v clang >/dev/null; then
	t_skip "object CLI" "clang is not installed"
	t_done
	exit
fi
INC=/usr/include/$(uname -m)-linux-gnu
obj() { clang -O2 -g -target bpf -I"$INC" -c "tests/loader/progs/$1.c" -o "$T_TMP/$1.o" && echo "$T_TMP/$1.o"; }
SECTIONS=$(obj sections) GLOBALS=$(obj globals) LEGACY=$(obj legacy_maps) TAIL=$(obj tailcall)
R9=$(obj tailcall_r9) HELLO=$(obj hello) BTFMAPS=$(obj btf_maps)
BADEXT=$(obj bad_extern) BADMAP=$(obj bad_maptype) PROPRIETARY=$(obj proprietary)

t_expect "objdump lists sections" 0 "calc                                          184  code" -- "$BPFVM" objdump --headers "$SECTIONS"
t_expect "objdump lists programs with types" 0 "tracepoint/syscalls/sys_enter_execve tracepoint" -- "$BPFVM" objdump --headers "$SECTIONS"
t_expect "objdump shows linked subprograms" 0 "square, twice, cube, add_one" -- "$BPFVM" objdump --headers "$SECTIONS"
t_expect "objdump interleaves C source" 0 "; return x * x * x; @ sections.c:" -- "$BPFVM" objdump --prog calc_b "$SECTIONS"
t_expect "objdump names maps at their use" 0 "r1 = map[1] ll  ; table" -- "$BPFVM" objdump --section count "$LEGACY"
t_expect "objdump lists map table" 0 ".rodata                  array                4      4        1   0x80  .rodata" -- "$BPFVM" objdump --headers "$GLOBALS"
t_expect "objdump shows static values" 0 "[2] = prog_two" -- "$BPFVM" objdump --headers "$BTFMAPS"
t_expect "objdump shows BTF key/value types" 0 "key __u32, value struct pair" -- "$BPFVM" objdump --headers "$BTFMAPS"
t_expect "objdump --prog unknown" 1 "no program named 'nope'" -- "$BPFVM" objdump --prog nope "$SECTIONS"

t_expect "GPL-only helper refused for a non-GPL license" 1 "cannot call GPL-restricted function from non-GPL compatible program" -- "$BPFVM" verify "$PROPRIETARY"
t_expect "the same helper is fine under GPL" 0 "verified" -- "$BPFVM" verify "$HELLO"

t_expect "run --prog links subprograms" 0 "retval = 21 (0x15)" -- "$BPFVM" run --no-verify "$SECTIONS" --prog calc_a
t_expect "run --section" 0 "retval = 17 (0x11)" -- "$BPFVM" run --no-verify "$SECTIONS" --section calc --prog calc_b
t_expect "run bpf_loop callback" 0 "retval = 5 (0x5)" -- "$BPFVM" run --no-verify "$SECTIONS" --prog loop_prog
t_expect "run global data" 0 "retval = 108 (0x6c)" -- "$BPFVM" run --no-verify "$GLOBALS"
t_expect "run legacy maps" 0 "retval = 1 (0x1)" -- "$BPFVM" run --no-verify "$LEGACY"
t_expect "run xdp test-run" 0 "XDP_PASS" -- "$BPFVM" run --no-verify "$SECTIONS" --section xdp
t_expect "run --type override" 0 "retval = 7 (0x7)" -- "$BPFVM" run --no-verify "$SECTIONS" --prog static_prog --type raw
t_expect "run tail call chain from C" 0 "retval = 2 (0x2) XDP_PASS" -- "$BPFVM" run --no-verify "$TAIL" --prog first
t_expect "run hello world prints" 0 "Hello, World!" -- "$BPFVM" run --no-verify "$HELLO"
t_expect "run --trace shows source" 0 "; return x * x; @ sections.c:" -- "$BPFVM" run --no-verify --trace "$SECTIONS" --prog calc_b
t_expect "run unknown section" 1 "no program in section 'nope'" -- "$BPFVM" run "$SECTIONS" --section nope

t_expect "bad extern: exit 1, names symbol" 1 "section xdp: insn 0: relocation against undefined symbol 'missing_variable'" -- "$BPFVM" objdump "$BADEXT"
t_expect "bad map type: exit 1, names map" 1 "section .maps: map 'strange': unknown map type 999" -- "$BPFVM" run "$BADMAP"
head -c 700 "$SECTIONS" >"$T_TMP/trunc.o"
t_expect "truncated object: exit 1" 1 "trunc.o: " -- "$BPFVM" objdump "$T_TMP/trunc.o"
cp "$HELLO" "$T_TMP/x86.o"; printf '\x3e' | dd of="$T_TMP/x86.o" bs=1 seek=18 conv=notrunc 2>/dev/null
t_expect "wrong e_machine: exit 1" 1 "e_machine is 62" -- "$BPFVM" run "$T_TMP/x86.o"

# verify: needs the verifier and the verify command.
if "$BPFVM" --help | grep -q '^  verify'; then
	t_expect "verify one program" 0 "section calc: prog 'calc_a' (raw, 25 insns): verified" -- "$BPFVM" verify "$SECTIONS" --prog calc_a
	# cube alone cubes its context pointer: rejected, the others verified.
	t_expect "verify every program, one rejected" 1 "section calc: prog 'cube': insn 1: R0 pointer *= pointer prohibited" -- "$BPFVM" verify "$SECTIONS"
	t_expect "verify lists the verified ones" 1 "prog 'xdp_drop' (xdp, 10 insns): verified" -- "$BPFVM" verify "$SECTIONS"
	t_expect "verify r9 across tail call" 1 "R9 !read_ok" -- "$BPFVM" verify "$R9"
	t_expect "verifier log shows the C line" 1 '; asm volatile("%0 = r9" : "=r"(v)); @ tailcall_r9.c:' -- "$BPFVM" verify "$R9" --log-level 1
	t_expect "verify tail call chain" 0 "prog 'second'" -- "$BPFVM" verify "$TAIL"
	t_expect "run (verified) r9 rejected" 1 "R9 !read_ok" -- "$BPFVM" run "$R9" --prog first
	t_expect "run (verified) tail chain" 0 "XDP_PASS" -- "$BPFVM" run "$TAIL" --prog first
else
	t_skip "verify on objects" "bpfvm has no verify command yet"
fi
t_done
