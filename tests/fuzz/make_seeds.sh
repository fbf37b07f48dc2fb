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

# ELF objects: the loader's and test-run's test programs, compiled as users do.
mkdir -p "$out/fuzz_elf"
if command -v clang >/dev/null; then
	for f in tests/loader/progs/*.c tests/testrun/progs/*.bpf.c; do
		name=$(basename "$f" .c)
		clang -O2 -g -target bpf -I"/usr/include/$(uname -m)-linux-gnu" -Itests/loader -c "$f" \
			-o "$out/fuzz_elf/${name%.bpf}.o" 2>/dev/null || rm -f "$out/fuzz_elf/${name%.bpf}.o"
	done
fi

# Classic filters compiled by tcpdump, each followed by an Ethernet frame.
mkdir -p "$out/fuzz_cbpf"
if command -v tcpdump >/dev/null; then
	python3 - "$out/fuzz_cbpf" <<'PY'
import random, struct, subprocess, sys
filters = ['tcp port 80', 'udp', 'ip host 10.0.0.1', 'arp', 'vlan and tcp', 'ip6 and udp port 53',
           'tcp[tcpflags] & tcp-syn != 0', 'icmp', 'len > 100', 'ip[2:2] > 576', 'ether broadcast',
           'ip proto 47 or ip6', 'not port 22', 'net 192.168.0.0/16', 'tcp and (port 443 or port 8080)',
           'ip[6:2] & 0x1fff = 0']
rng = random.Random(1)
for i, f in enumerate(filters):
    lines = subprocess.run(['tcpdump', '-y', 'EN10MB', '-ddd', f], capture_output=True, text=True).stdout.split('\n')
    n = int(lines[0])
    if n > 64:
        continue
    prog = b''.join(struct.pack('<HBBI', *map(int, l.split())) for l in lines[1:1 + n])
    frame = (bytes.fromhex('ffffffffffff0011223344550800') + bytes.fromhex('45000028000040004006') + bytes(2) +
             bytes([10, 0, 0, 1, 10, 0, 0, 2]) + struct.pack('>HH', 1234, 80) +
             bytes(rng.randrange(256) for _ in range(rng.randrange(40))))
    open('%s/seed%02d' % (sys.argv[1], i), 'wb').write(bytes([n - 1]) + prog + bytes([rng.randrange(4)]) + frame)
PY
fi

# Byte streams for the generators (programs, map operations): fixed
# pseudo-random bytes, so the corpus is reproducible.
python3 - "$out" <<'PY'
import os, random, sys
rng = random.Random(9)
for target, count, size in (('fuzz_verify', 24, 600), ('fuzz_jit', 24, 600), ('fuzz_maps', 24, 400)):
    os.makedirs('%s/%s' % (sys.argv[1], target), exist_ok=True)
    for i in range(count):
        data = bytes([i % 6]) if target == 'fuzz_maps' else b''
        data += bytes(rng.randrange(256) for _ in range(rng.randrange(16, size)))
        open('%s/%s/seed%02d' % (sys.argv[1], target, i), 'wb').write(data)
PY
echo "seeds: $(ls "$out/fuzz_isa" | wc -l) bytecode, $(ls "$out/fuzz_asm" | wc -l) assembly," \
	"$(ls "$out/fuzz_elf" | wc -l) objects, $(ls "$out/fuzz_cbpf" | wc -l) classic filters"
