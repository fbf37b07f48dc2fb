#!/usr/bin/env bash
# The library never ends the host process on bad input: no object of
# libbpfvm.a calls exit(), _exit(), abort(), assert() (which aborts),
# err()/errx() or traps. Checked at link level with nm on the archive the
# test run built, so a call hidden in a macro counts too, plus a grep of
# src/ for compiler traps (they leave no symbol). A justified use would go
# into ALLOWED as "object.o:symbol" with its reason; there is none.
cd "$(dirname "$0")/../.."
. tests/common/lib.sh

ALLOWED=()
archive=${BUILD:-build}/libbpfvm.a
if [ ! -f "$archive" ]; then
	t_skip library_never_exits "$archive is not built"
	t_done
	exit
fi
fatal='^(exit|_exit|_Exit|quick_exit|abort|__assert_fail|__assert_perror_fail|__assert|err|errx|verr|verrx)$'
# Symbols the archive defines itself (the verifier's verr()) are not libc's.
defined=$(nm --defined-only "$archive" 2>/dev/null | awk 'NF == 3 { print $3 }' | sort -u)
found=$(nm -A -u "$archive" 2>/dev/null | awk '{ n = split($1, p, ":"); print p[n - 1] ":" $NF }' |
	awk -F: -v re="$fatal" '$2 ~ re' | sort -u | while IFS=: read -r obj sym; do
		grep -qx "$sym" <<<"$defined" || echo "$obj:$sym"
	done)
bad=
for use in $found; do
	allowed=0
	for a in "${ALLOWED[@]}"; do [ "$a" = "$use" ] && allowed=1; done
	[ $allowed -eq 0 ] && bad="$bad $use"
done
if [ -n "$bad" ]; then
	t_fail library_objects_call_no_process_ending_function "$bad"
else
	t_ok library_objects_call_no_process_ending_function
fi
traps=$(grep -rn '__builtin_trap\|__builtin_unreachable\|\bassert(' src/ | grep -v '_Static_assert' || true)
if [ -n "$traps" ]; then
	t_fail library_sources_have_no_trap_or_assert "$traps"
else
	t_ok library_sources_have_no_trap_or_assert
fi
# The check itself must be able to see a call: nm finds abort in an object
# that calls it.
printf '#include <stdlib.h>\nvoid f(int x) { if (x) abort(); }\n\n' >"$T_TMP/probe.c"
if ${CC:-cc} -c "$T_TMP/probe.c" -o "$T_TMP/probe.o" 2>/dev/null; then
	if nm -u "$T_TMP/probe.o" | grep -qw abort; then
		t_ok nm_sees_an_abort_call
	else
		t_fail nm_sees_an_abort_call "nm -u does not list abort in an object that calls it"
	fi
fi
t_done
