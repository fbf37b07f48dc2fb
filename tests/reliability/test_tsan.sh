#!/usr/bin/env bash
# tests/reliability/test_concurrency.c (threads running programs on the
# interpreter and the JIT against shared hash, LRU, per-CPU and ring
# buffer maps) under ThreadSanitizer: any race report fails, and the
# counters must add up. Builds the TSan variant into build/tsan
# (incrementally; the library build there is shared with
# tests/maps/test_tsan.sh). Skips when the compiler has no TSan.
cd "$(dirname "$0")/../.."
. tests/common/lib.sh

TSAN_BUILD=build/tsan
bin=$TSAN_BUILD/tests/reliability/test_concurrency
if ! echo 'int main(void){return 0;}' | ${CC:-cc} -fsanitize=thread -x c - -o "$T_TMP/probe" 2>/dev/null ||
	! "$T_TMP/probe" 2>/dev/null; then
	t_skip tsan_concurrency "the compiler cannot build or run -fsanitize=thread programs"
	t_done
	exit
fi
if ! make --no-print-directory -j2 SAN=thread BUILD=$TSAN_BUILD "$bin" >"$T_TMP/build.log" 2>&1; then
	t_fail tsan_build "$(tail -5 "$T_TMP/build.log")"
	t_done
	exit
fi
out=$(BPFVM_CONC_RUNS=${BPFVM_CONC_RUNS:-20000} TSAN_OPTIONS="halt_on_error=1 exitcode=66" \
	timeout 120 "$bin" 2>&1)
rc=$?
if [ $rc -ne 0 ] || grep -q "ThreadSanitizer" <<<"$out"; then
	t_fail programs_on_shared_maps_are_race_free "exit $rc: $(grep -A12 'WARNING: ThreadSanitizer\|^FAIL\|^    ' <<<"$out" | head -24)"
elif ! grep -qE '^1 passed, 0 failed' <<<"$out"; then
	t_fail programs_on_shared_maps_are_race_free "$(tail -5 <<<"$out")"
else
	t_ok programs_on_shared_maps_are_race_free
fi
t_done
