#!/usr/bin/env bash
# Regenerates the seed corpora from the conformance cases (../shared) and
# the project's own example programs. The result is committed, so the
# fuzzers start from real programs even where ../shared is absent.
set -eu
cd "$(dirname "$0")/../.."
shared=${BPFVM_SHARED:-../shared}
out=tests/fuzz/corpus
mkdir -p "$out/fuzz_isa" "$out/fuzz_asm"
for f in "$shared"/conformance/tests/*.data; do
	name=$(basename "$f" .data)
	python3 "$shared/conformance/run.py" asm "$f" 2>/dev/null | xxd -r -p >"$out/fuzz_isa/$name" || true
	[ -s "$out/fuzz_isa/$name" ] || rm -f "$out/fuzz_isa/$name"
	awk '/^-- asm/{a=1;next} /^-- /{a=0} a' "$f" >"$out/fuzz_asm/$name.s"
	[ -s "$out/fuzz_asm/$name.s" ] || rm -f "$out/fuzz_asm/$name.s"
done
for f in examples/*.asm; do
	[ -e "$f" ] && cp "$f" "$out/fuzz_asm/"
done
echo "seeds: $(ls "$out/fuzz_isa" | wc -l) bytecode, $(ls "$out/fuzz_asm" | wc -l) assembly"
