#!/usr/bin/env bash
# The map stress test (tests/maps/test_stress.c: threads sharing hash maps
# through the host API and through programs) under ThreadSanitizer: any
# data race report fails. Builds the library with SAN=thread into
# build/tsan (incrementally after the first time).
cd "$(dirname "$0")/../.."
. tests/common/lib.sh

TSAN_BUILD=build/tsan
if ! echo 'int main(void){return 0;}' | ${CC:-cc} -fsanitize=thread -x c - -o "$T_TMP/probe" 2>/dev/null; then
	t_skip tsan_stress "the compiler cannot build with -fsanitize=thread"
	t_done
	exit
fi
if ! make --no-print-directory -j2 SAN=thread BUILD=$TSAN_BUILD $TSAN_BUILD/tests/maps/test_stress \
	>"$T_TMP/build.log" 2>&1; then
	t_fail tsan_build "$(tail -5 "$T_TMP/build.log")"
	t_done
	exit
fi
out=$(TSAN_OPTIONS="halt_on_error=1 exitcode=66" BUILD=$TSAN_BUILD $TSAN_BUILD/tests/maps/test_stress 2>&1)
rc=$?
if [ $rc -ne 0 ] || grep -q "ThreadSanitizer" <<<"$out"; then
	t_fail tsan_stress_is_race_free "exit $rc: $(grep -A8 'WARNING: ThreadSanitizer' <<<"$out" | head -20)"
elif ! grep -qE '^[1-9][0-9]* passed, 0 failed' <<<"$out"; then
	t_fail tsan_stress_is_race_free "$(tail -5 <<<"$out")"
else
	t_ok tsan_stress_is_race_free
fi
t_done
