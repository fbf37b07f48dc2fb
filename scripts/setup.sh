#!/usr/bin/env bash
# Quick start, step 1: install what is missing, build, run the example.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
make -j"$(nproc)"
make example
