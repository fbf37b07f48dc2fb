#!/usr/bin/env bash
# Part of the test run: every fuzz target for a short, bounded time
# (FUZZ_SECONDS, default 10). tests/fuzz/run.sh runs them longer on demand.
exec bash tests/fuzz/run.sh "${FUZZ_SECONDS:-10}"
