#!/usr/bin/env bash
# The interpreter's portable dispatch (a switch, for compilers without
# labels as values) runs the whole interpreter test suite too: interp.c is
# rebuilt with BPFVM_INTERP_SWITCH and linked ahead of the library's copy.
. "$(dirname "$0")/../common/lib.sh"

LIB=$BUILD/libbpfvm.a
HARNESS=$BUILD/tests/common/harness.o
if [ ! -f "$LIB" ] || [ ! -f "$HARNESS" ]; then
	t_skip "switch dispatch" "$LIB or $HARNESS is not built"
	t_done
	exit
fi
CC=${CC:-cc}
# Same sanitizers as the build under test, if any.
SANFLAGS=""
case "$BUILD" in *san*) SANFLAGS="-O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined" ;; esac
cp "$LIB" "$T_TMP/lib.a"
ar d "$T_TMP/lib.a" interp.o
if $CC -std=c11 -D_GNU_SOURCE -DBPFVM_INTERP_SWITCH -Iinclude -Isrc $SANFLAGS -c src/interp/interp.c -o "$T_TMP/interp.o" &&
	ar rcs "$T_TMP/lib.a" "$T_TMP/interp.o" &&
	$CC -std=c11 -D_GNU_SOURCE -Iinclude -Isrc -Itests $SANFLAGS -o "$T_TMP/test_interp" tests/interp/test_interp.c \
		"$HARNESS" "$T_TMP/lib.a" $(pkg-config --libs libelf libbpf libpcap zlib 2>/dev/null) -lpthread -lm; then
	out=$("$T_TMP/test_interp" 2>&1)
	summary=$(tail -1 <<<"$out")
	if grep -qE '^[0-9]+ passed, 0 failed' <<<"$summary"; then
		t_ok "interpreter tests with switch dispatch: $summary"
	else
		t_fail "interpreter tests with switch dispatch" "$(grep -E '^(FAIL|    )' <<<"$out" | head -20)"
	fi
else
	t_fail "interpreter builds with switch dispatch"
fi
t_done
