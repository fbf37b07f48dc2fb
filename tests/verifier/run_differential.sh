#!/usr/bin/env bash
# The large differential run behind the figures in docs/verifier.md:
#   tests/verifier/run_differential.sh [COUNT [FIRST_SEED]]   (root; default 10000 from seed 1)
# Builds the test and runs COUNT generated programs through the kernel's
# verifier and bpfvm's; prints disagreements and the closing figures.
set -eu
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
make --no-print-directory BUILD="$BUILD" "$BUILD/tests/verifier/test_differential" >/dev/null
BPFVM_DIFF_COUNT=${1:-10000} BPFVM_DIFF_FIRST=${2:-1} BPFVM_DIFF_VERBOSE=${VERBOSE:-1} \
	BUILD="$BUILD" "$BUILD/tests/verifier/test_differential"
