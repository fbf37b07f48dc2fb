#!/usr/bin/env bash
# State pruning with precision tracking: what clang builds (the JIT
# benchmark's programs) gets the kernel's verdict, a 1000-iteration loop of
# map lookups fits the budget, and programs that a too-weak state comparison
# would accept are still rejected with the kernel's message (checked again
# against the running kernel with kcases.py when we may load programs).
. "$(dirname "$0")/../common/lib.sh"
dir=$T_TMP
KCASES=$SHARED/verifier-cases/kcases.py

# t_verify NAME WANT_RC WANT_OUTPUT FILE ARGS...
t_verify() {
	local name=$1 rc=$2 want=$3 file=$4
	shift 4
	t_expect "$name" "$rc" "$want" -- "$BPFVM" verify "$@" "$file"
}

# The kernel's verdict for the same program, when it can be asked.
# t_kernel NAME TYPE FILE MAPS WANT (accept | the key message)
t_kernel() {
	local name=$1 type=$2 file=$3 maps=$4 want=$5 out
	if [ "$(id -u)" != 0 ] || [ ! -r "$KCASES" ]; then
		t_skip "$name" "the kernel is not available to load programs"
		return
	fi
	out=$(python3 "$KCASES" try "$type" "$(tr '\n' ';' <"$file")" "$maps" 2>&1 | head -1)
	case $out in
	"accept "*) [ "$want" = accept ] && t_ok "$name" || t_fail "$name" "kernel: $out" ;;
	"reject "*) [ "${out#*| }" = "$want" ] && t_ok "$name" || t_fail "$name" "kernel: $out, wanted $want" ;;
	*) t_skip "$name" "kcases.py: $out" ;;
	esac
}

# --- unsound if pruned: two paths meet, the first (explored first) is safe -----------------

# r6 = 0 or 64 reaches a map value offset through a stack spill and fill
cat >"$dir/spill.s" <<'EOF'
r9 = 0
r9 = 0
r9 = 0
r9 = 0
r9 = 0
call 7
r6 = 64
if r0 == 0 goto +1
r6 = 0
*(u64 *)(r10 - 16) = r6
*(u32 *)(r10 - 4) = 0
r1 = map[0] ll
r2 = r10
r2 += -4
call 1
if r0 == 0 goto +3
r6 = *(u64 *)(r10 - 16)
r0 += r6
r0 = *(u64 *)(r0 + 0)
r0 = 0
exit
EOF
msg="R0 min value is outside of the allowed memory range"
t_verify "an offset spilled and filled is precise: its other value is explored" 1 "insn 19: $msg" \
	"$dir/spill.s" --prog-type xdp --maps=array:4:8:1
t_kernel "the kernel rejects the spilled offset too" xdp "$dir/spill.s" array:4:8:1 "$msg"

# r6 = 0 or 1 decides a branch (through a copy): the value that takes the
# other branch must be explored
cat >"$dir/branch.s" <<'EOF'
r9 = 0
r9 = 0
r9 = 0
r9 = 0
r9 = 0
call 7
r6 = 1
if r0 == 0 goto +1
r6 = 0
r7 = r6
if r7 == 0 goto +2
r0 = *(u8 *)(r0 + 0)
exit
r0 = 0
exit
EOF
msg="R0 invalid mem access 'scalar'"
t_verify "a register that decided a branch is precise" 1 "insn 11: $msg" "$dir/branch.s" --prog-type xdp
t_kernel "the kernel rejects the other branch value too" xdp "$dir/branch.s" "" "$msg"

# r7 is a copy of r6 on the first path only: its bounds check bounds r6
# there, not on the second path, where r6 must not be pruned (the padding
# makes the verifier save a state where the paths meet)
cat >"$dir/linked.s" <<'EOF'
r9 = 0
r9 = 0
r9 = 0
r9 = 0
r9 = 0
call 7
r6 = r0
call 7
r8 = r0
call 7
r7 = r0
if r8 == 0 goto +9
r7 = r6
goto +0
goto +0
r9 = 0
r9 = 0
r9 = 0
r9 = 0
r9 = 0
r9 = 0
if r7 > 8 goto +9
*(u32 *)(r10 - 4) = 0
r1 = map[0] ll
r2 = r10
r2 += -4
call 1
if r0 == 0 goto +2
r0 += r6
r0 = *(u8 *)(r0 + 0)
r0 = 0
exit
EOF
msg="math between map_value pointer and register with unbounded min value is not allowed"
t_verify "registers refined together are precise together (links compared)" 1 "insn 29: $msg" \
	"$dir/linked.s" --prog-type xdp --maps=array:4:16:1
t_kernel "the kernel rejects the unlinked path too" xdp "$dir/linked.s" array:4:16:1 "$msg"

# raw programs: a copy of the length proves the memory's size only while linked
cat >"$dir/rawlen.s" <<'EOF'
r6 = r1
r7 = r2
r8 = 0
r8 = 0
r8 = 0
call 7
r9 = r0
call 7
if r0 == 0 goto +1
goto +1
r7 = r9
if r7 < 8 goto +2
r0 = *(u64 *)(r6 + 0)
exit
r0 = 0
exit
EOF
t_verify "a copy of the raw length compared on one path only proves nothing on the other" 1 \
	"insn 12: R6 offset is outside of the packet" "$dir/rawlen.s" --prog-type raw
sed 's/^r7 = r9$/r8 = r9/' "$dir/rawlen.s" >"$dir/rawlen_ok.s"
t_verify "... and proves the size when both paths keep it" 0 "accepted" "$dir/rawlen_ok.s" --prog-type raw

# --- liveness: an unconditional jump reads no register (as 6.18's table) ----------------------
printf 'r1 = 1\nr2 = 2\nr3 = 3\nr4 = 0\nif r4 == 0 goto +2\nr0 = r2\ngoto +1\nr0 = r1\nr5 = 3\nexit\n' >"$dir/live.s"
t_verify "registers written after a goto are dead before it" 0 "      6: 0......... (05) goto pc+1" \
	"$dir/live.s" --prog-type xdp --log-level 2
t_verify "... and before the branch only what either side reads is live" 0 "      4: .12.4..... (15) if r4 == 0x0 goto pc+2" \
	"$dir/live.s" --prog-type xdp --log-level 2

# --- budget: a loop of 1000 lookups, the value summed -----------------------------------------
cat >"$dir/loop.s" <<'EOF'
r6 = 0
r7 = 0
*(u32 *)(r10 - 4) = r6
r1 = map[0] ll
r2 = r10
r2 += -4
call 1
if r0 == 0 goto +3
r1 = *(u64 *)(r0 + 0)
r1 &= 0xff
r7 += r1
r6 += 1
if r6 < 1000 goto -12
r0 = r7
exit
EOF
t_verify "1000 iterations of a map lookup fit the budget (hash)" 0 "accepted" "$dir/loop.s" \
	--prog-type xdp --maps=hash:4:8:1024
t_verify "1000 iterations of a map lookup fit the budget (array)" 0 "accepted" "$dir/loop.s" \
	--prog-type xdp --maps=array:4:8:1024
t_kernel "the kernel accepts the loop" xdp "$dir/loop.s" hash:4:8:1024 accept

# --- the JIT benchmark's programs, built by clang ---------------------------------------------
# Linux 6.18 accepts every xdp_ program but sieve (default cpu: EACCES at
# insn 183; -mcpu=v3: E2BIG, 1M insns); the raw_ twins get the same verdicts.
built=0
for cpu in default v3; do
	obj=$dir/progs_$cpu.o
	flag=
	[ $cpu = v3 ] && flag=-mcpu=v3
	if ! command -v clang >/dev/null ||
		! clang -O2 -g -target bpf $flag -Ibench/jit -I/usr/include/x86_64-linux-gnu \
			-c bench/jit/progs.bpf.c -o "$obj" 2>/dev/null; then
		t_skip "bench programs ($cpu)" "clang cannot build BPF objects here"
		continue
	fi
	built=1
	for w in sum memcpy strcmp log2 switch hash bsearch parse div; do
		t_verify "bench $w ($cpu): xdp accepted as by the kernel" 0 "" "$obj" --prog xdp_$w --prog-type xdp
		t_verify "bench $w ($cpu): raw accepted" 0 "" "$obj" --prog raw_$w --prog-type raw
	done
	want=
	[ $cpu = default ] && want="insn 183: R1 max value is outside of the allowed memory range"
	t_verify "bench sieve ($cpu): xdp rejected as by the kernel" 1 "$want" "$obj" --prog xdp_sieve --prog-type xdp
	t_verify "bench sieve ($cpu): raw rejected" 1 "" "$obj" --prog raw_sieve --prog-type raw
done
[ $built = 1 ] || true
t_done
