#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/fuzz_*.c) with clang and runs each
# for SECONDS (default 20) starting from its seed corpus
# (tests/fuzz/corpus/<target>/). A crash, leak or sanitizer report fails the
# target; the reproducer is kept in build/fuzz/artifacts/.
#   tests/fuzz/run.sh [SECONDS] [TARGET...]
# Prints one line per target and "N passed, N failed"; appends
# "target<TAB>seconds<TAB>executions<TAB>result" to build/fuzz/stats.tsv.
set -u
cd "$(dirname "$0")/../.."
seconds=${1:-20}; shift || true
if ! command -v clang >/dev/null; then
	echo "skip fuzz: clang not installed"; echo "0 passed, 0 failed, 1 skipped"; exit 0
fi
if ! make -s -j"$(nproc)" CC=clang SAN=fuzz WERROR=1 BUILD=build/fuzz fuzzers >build/fuzz-build.log 2>&1; then
	echo "FAIL fuzz build"; tail -20 build/fuzz-build.log; echo "0 passed, 1 failed"; exit 1
fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	for f in tests/fuzz/fuzz_*.c; do targets+=("$(basename "$f" .c)"); done
fi
mkdir -p build/fuzz/artifacts build/fuzz/work
pass=0 fail=0
for t in "${targets[@]}"; do
	work=build/fuzz/work/$t
	mkdir -p "$work"
	seeds=tests/fuzz/corpus/$t
	[ -d "$seeds" ] || seeds=
	log=build/fuzz/$t.log
	ASAN_OPTIONS=detect_leaks=1 build/fuzz/tests/fuzz/$t -max_total_time="$seconds" -timeout=10 \
		-rss_limit_mb=4096 -artifact_prefix=build/fuzz/artifacts/$t- -print_final_stats=1 \
		"$work" $seeds >"$log" 2>&1
	rc=$?
	execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$log" | tail -1)
	if [ $rc -eq 0 ]; then
		echo "ok   $t: ${execs:-?} executions in ${seconds}s"
		pass=$((pass + 1)); result=ok
	else
		echo "FAIL $t (exit $rc): see $log"
		grep -E 'ERROR|SUMMARY|runtime error' "$log" | head -5 | sed 's/^/    /'
		fail=$((fail + 1)); result=crash
	fi
	printf '%s\t%s\t%s\t%s\n' "$t" "$seconds" "${execs:-0}" "$result" >>build/fuzz/stats.tsv
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
