#!/usr/bin/env bash
# Time bench_interp's three programs with bpfvm's interpreter and with
# uBPF's, on this machine, one after the other.
#
#   bench/compare_ubpf.sh /path/to/ubpf-checkout [REPEATS]
#
# uBPF is compiled from the given checkout into a temporary directory
# (nothing of it enters this repository). Without a checkout the script
# says so and exits 0.
set -eu
cd "$(dirname "$0")/.."
UBPF=${1:-}
REPEATS=${2:-5}
BUILD=${BUILD:-build}
if [ -z "$UBPF" ] || [ ! -f "$UBPF/vm/ubpf_vm.c" ]; then
	echo "compare_ubpf: skipped: give the path to a uBPF checkout (github.com/iovisor/ubpf)"
	exit 0
fi
CC=${CC:-cc}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# uBPF's library: its vm/*.c, with the config header CMake would generate.
printf '#pragma once\n#define UBPF_HAS_ELF_H\n' >"$TMP/ubpf_config.h"
for src in "$UBPF"/vm/ubpf_*.c; do
	$CC -O2 -std=gnu11 -w -I"$UBPF/vm/inc" -I"$UBPF/vm" -I"$TMP" -c "$src" -o "$TMP/$(basename "${src%.c}").o"
done
make --no-print-directory -s BUILD="$BUILD" "$BUILD/libbpfvm.a" "$BUILD/bench/bench_interp"
# bpfvm_isa_encode (to build the programs) comes from libbpfvm.a.
$CC -O2 -std=gnu11 -Iinclude -Isrc -I"$UBPF/vm/inc" -I"$TMP" -o "$TMP/ubpf_bench" bench/ubpf_bench.c \
	"$TMP"/ubpf_*.o "$BUILD/libbpfvm.a" $(pkg-config --libs libelf libbpf libpcap zlib 2>/dev/null) -lpthread -lm

echo "uBPF: $(git -C "$UBPF" log -1 --format='%h %cs' 2>/dev/null || echo "$UBPF")"
"$BUILD/bench/bench_interp" "$REPEATS"
"$TMP/ubpf_bench" "$REPEATS"
