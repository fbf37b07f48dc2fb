#!/usr/bin/env bash
# bpfvm jit --dump --maps: a verified program's ARRAY / PERCPU_ARRAY lookup
# is inlined (no call under `call 1`), a HASH lookup keeps its call.
source "$(dirname "$0")/../common/lib.sh"

prog=$T_TMP/lookup.s
cat > "$prog" <<'ASM'
if r2 < 4 goto miss
r2 = *(u32 *)(r1 + 0)
*(u32 *)(r10 - 4) = r2
r1 = map[0] ll
r2 = r10
r2 += -4
call 1
if r0 == 0 goto miss
r0 = *(u64 *)(r0 + 0)
exit
miss:
r0 = 0
exit
ASM

# The machine code printed under `call 1`, up to the next instruction.
code_of_call() {
	"$BPFVM" jit --dump --hex "$@" "$prog" | sed -n '/^ *7: call 1$/,/^ *8: /p' | sed '1d;$d'
}

for spec in array:4:24:16 percpu_array:4:8:16; do
	code=$(code_of_call --maps "$spec")
	if [ -n "$code" ] && ! grep -q "41 ff d3" <<<"$code"; then
		t_ok "$spec lookup is inlined (no call r11)"
	else
		t_fail "$spec lookup is inlined (no call r11)" "$code"
	fi
done
code=$(code_of_call --maps hash:4:8:16)
if grep -q "41 ff d3" <<<"$code"; then
	t_ok "hash lookup keeps the helper call"
else
	t_fail "hash lookup keeps the helper call" "$code"
fi
code=$(code_of_call --maps array:4:24:16 --no-verify)
if grep -q "41 ff d3" <<<"$code"; then
	t_ok "checked mode keeps the helper call"
else
	t_fail "checked mode keeps the helper call" "$code"
fi
t_expect "a bad map spec is a usage error" 2 "--maps" -- "$BPFVM" jit --dump --maps bogus:1 "$prog"
t_done
