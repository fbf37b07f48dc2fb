#!/usr/bin/env bash
# Build and run the JIT benchmark (bench/bench_jit.c): bpfvm interpreter,
# bpfvm JIT, the kernel's JIT (BPF_PROG_TEST_RUN, as root) and native gcc -O2
# on ten workloads, each built with clang's default -mcpu and -mcpu=v3.
#   bench/jit/run.sh [--quick]
set -e
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
make --no-print-directory -j2 BUILD="$BUILD" "$BUILD/bench/bench_jit" >/dev/null
mkdir -p "$BUILD/bench"
BUILD=$BUILD "$BUILD/bench/bench_jit" "$@"
