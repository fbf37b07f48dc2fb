# Helpers for shell tests (tests/<component>/test_*.sh), sourced by them.
# Each check prints "ok"/"FAIL" and the script ends with t_done, which prints
# "N passed, N failed, N skipped" for tests/run.sh.
BUILD=${BUILD:-build}
BPFVM=${BPFVM:-$BUILD/bpfvm}
SHARED=${BPFVM_SHARED:-../shared}
T_PASS=0 T_FAIL=0 T_SKIP=0
T_TMP=$(mktemp -d)
trap 'rm -rf "$T_TMP"' EXIT

t_ok()   { echo "ok   $1"; T_PASS=$((T_PASS + 1)); }
t_fail() { echo "FAIL $1"; shift; [ $# -gt 0 ] && echo "    $*"; T_FAIL=$((T_FAIL + 1)); }
t_skip() { echo "skip $1: $2"; T_SKIP=$((T_SKIP + 1)); }

# t_expect NAME EXPECTED_EXIT EXPECTED_OUTPUT_SUBSTRING -- CMD...
t_expect() {
	local name=$1 want_rc=$2 want_out=$3; shift 4
	local out rc
	out=$("$@" 2>&1); rc=$?
	if [ "$rc" != "$want_rc" ]; then
		t_fail "$name" "exit $rc, wanted $want_rc; output: $(echo "$out" | head -5)"
	elif [ -n "$want_out" ] && ! grep -qF -- "$want_out" <<<"$out"; then
		t_fail "$name" "output lacks '$want_out': $(echo "$out" | head -5)"
	else
		t_ok "$name"
	fi
}

t_done() {
	echo "$T_PASS passed, $T_FAIL failed, $T_SKIP skipped"
	[ "$T_FAIL" -eq 0 ]
}
