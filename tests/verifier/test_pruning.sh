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

# a value that goes through a subprogram: the walk back gives up at the
# return and marks every scalar of the path precise (still sound)
cat >"$dir/subprog.s" <<'EOF'
r9 = 0
r9 = 0
r9 = 0
r9 = 0
r9 = 0
call 7
r6 = 64
if r0 == 0 goto +1
r6 = 0
r1 = r6
call pc+12
r6 = r0
*(u32 *)(r10 - 4) = 0
r1 = map[0] ll
r2 = r10
r2 += -4
call 1
if r0 == 0 goto +2
r0 += r6
r0 = *(u64 *)(r0 + 0)
r0 = 0
exit
r0 = r1
exit
EOF
msg="R0 min value is outside of the allowed memory range"
t_verify "an offset returned by a subprogram keeps both values apart" 1 "insn 20: $msg" "$dir/subprog.s" \
	--prog-type xdp --maps=array:4:8:1
t_kernel "the kernel rejects the returned offset too" xdp "$dir/subprog.s" array:4:8:1 "$msg"

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

# --- links with a constant delta: r7 = r6 + 8 is bounded by a check on r6 ---------------------
cat >"$dir/add8.s" <<'EOF'
call 7
r6 = r0
r7 = r6
r7 += 8
if r6 > 8 goto +9
*(u32 *)(r10 - 4) = 0
r1 = map[0] ll
r2 = r10
r2 += -4
call 1
if r0 == 0 goto +2
r0 += r7
r0 = *(u8 *)(r0 + 0)
r0 = 0
exit
EOF
sed 's/^r7 += 8$/r7 += 7/' "$dir/add8.s" >"$dir/add7.s"
msg="R0 max value is outside of the allowed memory range"
t_verify "r6 <= 8 bounds r7 = r6 + 8 (one byte past a 16-byte value)" 1 "insn 13: $msg" "$dir/add8.s" \
	--prog-type xdp --maps=array:4:16:1
t_kernel "the kernel rejects r6 + 8 too" xdp "$dir/add8.s" array:4:16:1 "$msg"
t_verify "... and accepts r6 + 7" 0 "accepted" "$dir/add7.s" --prog-type xdp --maps=array:4:16:1
t_kernel "the kernel accepts r6 + 7" xdp "$dir/add7.s" array:4:16:1 accept
# 32-bit: w7 = w6 + 4 with w6 <= 11 is at most 15
cat >"$dir/add32.s" <<'EOF'
call 7
r6 = r0
r6 &= 0xff
w7 = w6
w7 += 4
if w6 > 11 goto +9
*(u32 *)(r10 - 4) = 0
r1 = map[0] ll
r2 = r10
r2 += -4
call 1
if r0 == 0 goto +2
r0 += r7
r0 = *(u8 *)(r0 + 0)
r0 = 0
exit
EOF
t_verify "w7 = w6 + 4 is bounded by a check on w6" 0 "accepted" "$dir/add32.s" --prog-type xdp --maps=array:4:16:1
t_verify "... exactly (15 is past a 15-byte value)" 1 "insn 14: $msg" "$dir/add32.s" --prog-type xdp --maps=array:4:15:1
t_kernel "the kernel rejects it for 15 bytes too" xdp "$dir/add32.s" array:4:15:1 "$msg"
# w7 = w6 - 3 wraps in 32 bits for w6 < 3: no bound on r7
cat >"$dir/sub32.s" <<'EOF'
call 7
r6 = r0
r6 &= 0xff
w7 = w6
w7 -= 3
if r6 > 9 goto +9
*(u32 *)(r10 - 4) = 0
r1 = map[0] ll
r2 = r10
r2 += -4
call 1
if r0 == 0 goto +2
r0 += r7
r0 = *(u8 *)(r0 + 0)
r0 = 0
exit
EOF
msg2="R0 unbounded memory access, make sure to bounds check any such access"
t_verify "w6 - 3 wraps: the link gives no bound below 3" 1 "insn 14: $msg2" "$dir/sub32.s" \
	--prog-type xdp --maps=array:4:16:1
t_kernel "the kernel rejects the wrapped difference too" xdp "$dir/sub32.s" array:4:16:1 "$msg2"
# the paths meet with r7 = r6 + 7 and r7 = r6 + 8: the deltas are compared
cat >"$dir/delta.s" <<'EOF'
r9 = 0
r9 = 0
r9 = 0
r9 = 0
r9 = 0
call 7
r6 = r0
call 7
r7 = r6
if r0 == 0 goto +9
r7 += 7
goto +0
r9 = 0
r9 = 0
r9 = 0
r9 = 0
r9 = 0
r9 = 0
goto +1
r7 += 8
if r6 > 8 goto +9
*(u32 *)(r10 - 4) = 0
r1 = map[0] ll
r2 = r10
r2 += -4
call 1
if r0 == 0 goto +2
r0 += r7
r0 = *(u8 *)(r0 + 0)
r0 = 0
exit
EOF
t_verify "a saved r6 + 7 does not cover r6 + 8" 1 "insn 29: $msg" "$dir/delta.s" --prog-type xdp \
	--maps=array:4:16:1
t_kernel "the kernel rejects the r6 + 8 path too" xdp "$dir/delta.s" array:4:16:1 "$msg"

# --- memory: an endless loop whose pending branches each carry the path's
# history (shared, as the kernel's insn_hist, since a copy per state took
# 24 GB here: differential seed 60388) --------------------------------------------------------
hex="bf 16 00 00 00 00 00 00 b7 08 00 00 fb ff ff ff b7 09 00 00 00 00 00 00 37 09 00 00 3f 00 00 00 04 08 00 00 fb ff ff ff 07 09 00 00 01 00 00 00 a5 09 fc ff 10 00 00 00 ad 88 08 00 00 00 00 00 c7 09 00 00 1e 00 00 00 b7 07 00 00 00 00 00 00 47 08 00 00 8b 51 d7 27 07 07 00 00 01 00 00 00 a5 07 fd ff 13 00 00 00 bf 62 00 00 00 00 00 00 07 02 00 00 00 00 00 00 61 22 00 00 00 00 00 00 61 64 44 00 00 00 00 00 2f 89 00 00 00 00 00 00 47 04 00 00 3c 1e 27 ff b7 09 00 00 00 00 00 00 bf 99 00 00 00 00 00 00 07 09 00 00 01 00 00 00 a5 09 fd ff 10 00 00 00 c7 09 00 00 0d 00 00 00 b7 00 00 00 00 00 00 00 95 00 00 00 00 00 00 00"
if [ -x /usr/bin/time ]; then
	out=$(/usr/bin/time -f "peak %M" "$BPFVM" verify --prog-type socket_filter --maps=hash:8:8:16,array:4:16:4 \
		--hex "$hex" 2>&1)
	peak=$(sed -n 's/^peak \([0-9]*\)$/\1/p' <<<"$out")
	limit=600000
	case $BUILD in *san*) limit=2400000 ;; esac
	if grep -qF "insn 6: BPF program is too large. Processed 1000001 insn" <<<"$out" && [ "${peak:-0}" -le $limit ]; then
		t_ok "an endless loop of branches runs out of budget in bounded memory (${peak} KB)"
	else
		t_fail "an endless loop of branches runs out of budget in bounded memory" "peak ${peak} KB: $(tail -2 <<<"$out")"
	fi
else
	t_skip "an endless loop of branches runs out of budget in bounded memory" "no /usr/bin/time"
fi

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
# insn 183; -mcpu=v3: E2BIG, 1M insns). The raw_ twins (bpfvm only) get the
# same verdicts but for the -mcpu=v3 sieve, whose candidate loop bpfvm
# bounds through r1 = r2 + const links and walks to its end.
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
	if [ $cpu = default ]; then
		t_verify "bench sieve ($cpu): xdp rejected as by the kernel" 1 \
			"insn 183: R1 max value is outside of the allowed memory range" "$obj" --prog xdp_sieve --prog-type xdp
		t_verify "bench sieve ($cpu): raw rejected" 1 "" "$obj" --prog raw_sieve --prog-type raw
	else
		t_verify "bench sieve ($cpu): xdp runs out of budget as in the kernel" 1 \
			"insn 173: BPF program is too large. Processed 1000001 insn" "$obj" --prog xdp_sieve --prog-type xdp
		t_verify "bench sieve ($cpu): raw accepted" 0 "" "$obj" --prog raw_sieve --prog-type raw
	fi
done
[ $built = 1 ] || true
t_done
