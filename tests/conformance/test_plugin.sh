#!/usr/bin/env bash
# The conformance plugin through the suite's own runner (the public
# bpf_conformance plugin protocol): every case must pass, except the ones
# tests/conformance/known-failures.txt lists (and those must still fail).
. "$(dirname "$0")/../common/lib.sh"

PLUGIN=$BUILD/bpfvm-conformance-plugin
RUNNER=$SHARED/conformance/run.py
if [ ! -f "$RUNNER" ]; then
	t_skip "conformance plugin" "$RUNNER is absent"
elif [ ! -x "$PLUGIN" ]; then
	t_skip "conformance plugin" "$PLUGIN is not built"
elif ! command -v python3 >/dev/null; then
	t_skip "conformance plugin" "python3 is not installed"
else
	known=$(grep -v '^#' tests/conformance/known-failures.txt | cut -d: -f1 | sort)
	out=$(python3 "$RUNNER" run --plugin "$PLUGIN" "$SHARED/conformance/tests" 2>&1)
	summary=$(tail -1 <<<"$out")
	failed_names=$(grep -oE '[A-Za-z0-9_.-]+\.data' <<<"$out" | sed 's/\.data$//' | sort -u)
	if [ "$failed_names" = "$known" ] && grep -qE '^[0-9]+ passed' <<<"$summary"; then
		t_ok "run.py with the plugin: $summary (failures are exactly the known ones)"
	else
		t_fail "run.py with the plugin: $summary" \
			"failed: $(echo $failed_names); known: $(echo $known); $(head -20 <<<"$out")"
	fi

	printf 'b7 00 00 00 2a 00 00 00 95 00 00 00 00 00 00 00\n' >"$T_TMP/p"
	t_expect "plugin prints r0 in hex" 0 "0x2a" -- bash -c "'$PLUGIN' <'$T_TMP/p'"
	# ldxb r0, [r1+1]; exit  with memory "11 22"
	printf '71  10  01  00  00  00  00  00  95  00  00  00  00  00  00  00\n' >"$T_TMP/m"
	t_expect "plugin gives the memory argument in r1" 0 "0x22" -- bash -c "'$PLUGIN' '11  22' <'$T_TMP/m'"
	# ldxb r0, [r1+5] with 2 bytes of memory: a fault, message and exit 1
	printf '71  10  05  00  00  00  00  00  95  00  00  00  00  00  00  00\n' >"$T_TMP/f"
	t_expect "plugin reports faults with a message and non-zero exit" 1 "insn 0: invalid read" -- \
		bash -c "'$PLUGIN' '11  22' <'$T_TMP/f'"
fi
t_done
