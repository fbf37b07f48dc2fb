#!/usr/bin/env bash
# Runs every test binary (build/.../tests/*/test_*) and shell test
# (tests/*/test_*.sh), adds up their closing lines and prints the total.
# Exit status is non-zero if any test failed or any test program crashed.
set -u
cd "$(dirname "$0")/.."
export BUILD=${BUILD:-build}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
pass=0 fail=0 skip=0
logdir=$BUILD/test-logs
mkdir -p "$logdir"

run_one() {
	local name=$1; shift
	local log="$logdir/$(echo "$name" | tr '/' '_').log"
	local start=$SECONDS
	"$@" >"$log" 2>&1
	local rc=$?
	local summary
	summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
	if [ -z "$summary" ]; then
		echo "FAIL $name: exit $rc without a summary line (see $log)"
		tail -20 "$log" | sed 's/^/    /'
		fail=$((fail + 1))
		return
	fi
	local p f s
	p=$(echo "$summary" | sed -E 's/^([0-9]+) passed.*/\1/')
	f=$(echo "$summary" | sed -E 's/.* ([0-9]+) failed.*/\1/')
	s=$(echo "$summary" | sed -nE 's/.* ([0-9]+) skipped.*/\1/p')
	pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + ${s:-0}))
	if [ "$f" -ne 0 ] || [ "$rc" -ne 0 ]; then
		[ "$f" -eq 0 ] && fail=$((fail + 1))
		echo "FAIL $name ($summary, exit $rc)"
		grep -E '^(FAIL|    )' "$log" | head -40 | sed 's/^/    /'
	else
		echo "ok   $name ($summary, $((SECONDS - start))s)"
	fi
}

for bin in $(find "$BUILD/tests" -type f -name 'test_*' -perm -u+x 2>/dev/null | sort); do
	run_one "${bin#$BUILD/}" "$bin"
done
for script in $(find tests -name 'test_*.sh' | sort); do
	run_one "$script" bash "$script"
done
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
