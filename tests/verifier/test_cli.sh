#!/usr/bin/env bash
# bpfvm verify: exit 0 and "accepted" for a safe program; exit 1 and
# "insn N: <the kernel's message>" for a rejected one; maps from --maps.
. "$(dirname "$0")/../common/lib.sh"
dir=$T_TMP
# t_check NAME CMD...: passes when CMD succeeds
t_check() {
	local name=$1
	shift
	if "$@"; then t_ok "$name"; else t_fail "$name"; fi
}

printf 'r0 = 0\nexit\n' > "$dir/ok.s"
out=$("$BPFVM" verify --prog-type socket_filter "$dir/ok.s" 2>&1)
rc=$?
t_check "verify accepts a safe program" [ $rc -eq 0 ]
t_check "verify says so" [ "$out" = "accepted" ]

printf 'r0 = *(u32 *)(r1 + 1000)\nexit\n' > "$dir/ctx.s"
err=$("$BPFVM" verify --prog-type socket_filter "$dir/ctx.s" 2>&1 >/dev/null)
rc=$?
t_check "verify rejects with exit 1" [ $rc -eq 1 ]
t_check "the message names the insn and the kernel's text" \
	[ "$err" = "insn 0: invalid bpf_context access off=1000 size=4" ]

printf '*(u64 *)(r10 - 8) = 0\nr1 = map[0] ll\nr2 = r10\nr2 += -8\ncall 1\nr0 = *(u64 *)(r0 + 0)\nexit\n' > "$dir/map.s"
err=$("$BPFVM" verify --prog-type socket_filter --maps=hash:8:8:16 "$dir/map.s" 2>&1 >/dev/null)
t_check "maps from --maps; a missing null check is rejected" \
	[ "$err" = "insn 6: R0 invalid mem access 'map_value_or_null'" ]

log=$("$BPFVM" verify --prog-type socket_filter --log-level 2 "$dir/ok.s" 2>&1)
t_check "--log-level 2 prints the kernel's log" grep -q '^0: R1=ctx() R10=fp0$' <<<"$log"
t_check "... and its closing line" grep -q '^processed 2 insns (limit 1000000)' <<<"$log"

printf 'r0 = r10\nexit\n' > "$dir/leak.s"
"$BPFVM" verify --prog-type socket_filter "$dir/leak.s" >/dev/null 2>&1
rc=$?
t_check "root may return a pointer" [ $rc -eq 0 ]
err=$("$BPFVM" verify --prog-type socket_filter --unpriv "$dir/leak.s" 2>&1 >/dev/null)
t_check "--unpriv forbids it" [ "$err" = "insn 1: R0 leaks addr as return value" ]

"$BPFVM" verify --prog-type nonsense "$dir/ok.s" >/dev/null 2>&1
rc=$?
t_check "an unknown program type is a usage error" [ $rc -eq 2 ]

printf 'if r2 < 8 goto +2\nr0 = *(u64 *)(r1 + 0)\nexit\nr0 = 1\nexit\n' > "$dir/raw.s"
out=$("$BPFVM" run --mem "01 00 00 00 00 00 00 00" "$dir/raw.s" 2>&1)
t_check "bpfvm run verifies raw programs and runs them" grep -q 'retval = 1 ' <<<"$out"
printf 'r0 = *(u64 *)(r1 + 0)\nexit\n' > "$dir/rawbad.s"
"$BPFVM" run --mem "01 00 00 00 00 00 00 00" "$dir/rawbad.s" >/dev/null 2>&1
rc=$?
t_check "bpfvm run refuses an unverifiable program" [ $rc -eq 1 ]
out=$("$BPFVM" run --no-verify --mem "01 00 00 00 00 00 00 00" "$dir/rawbad.s" 2>&1)
t_check "... unless --no-verify runs it with checks" grep -q 'retval = 1 ' <<<"$out"
t_done
