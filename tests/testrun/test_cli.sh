#!/usr/bin/env bash
# bpfvm run in test-run mode: --prog-type/--data-file/--data-out/--ctx-in/
# --ctx-out/--repeat on one packet, --pcap/--out over a capture.
. tests/common/lib.sh

if ! command -v clang >/dev/null || ! command -v python3 >/dev/null; then
	t_skip cli "needs clang and python3"
	t_done
	exit
fi
OBJ=$T_TMP/parse.o
clang -O2 -g -target bpf -I/usr/include/$(uname -m)-linux-gnu -c tests/testrun/progs/parse.bpf.c -o "$OBJ"
clang -O2 -g -target bpf -I/usr/include/$(uname -m)-linux-gnu -c tests/testrun/progs/filter.bpf.c -o "$T_TMP/filter.o"

# 3000 packets: UDP to 80, TCP SYN to 80, ICMP echo, UDP to 9 (dropped),
# TCP SYN to 23 (dropped), ICMP echo: 1000 each of DROP, PASS, TX.
python3 - "$T_TMP" <<'PY'
import struct, sys
d = sys.argv[1]
def csum(b):
    b += b'\0' * (len(b) % 2)
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
def pkt(proto, dport):
    pl = bytes(range(20))
    if proto == 17: l4 = struct.pack('!HHHH', 1234, dport, 28, 0) + pl
    elif proto == 6: l4 = struct.pack('!HHIIBBHHH', 1234, dport, 1, 0, 0x50, 2, 1000, 0, 0) + pl
    else: l4 = struct.pack('!BBHI', 8, 0, 0, 0) + pl
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(l4), 1, 0, 64, proto, 0, bytes([10,0,0,1]), bytes([10,0,0,2]))
    ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
    return bytes([2,0,0,0,0,1, 2,0,0,0,0,2]) + b'\x08\x00' + ip + l4
kinds = [(17, 80), (6, 80), (1, 0), (17, 9), (6, 23), (1, 0)]
with open(d + '/in.pcap', 'wb') as f:
    f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for i in range(3000):
        p = pkt(*kinds[i % 6])
        f.write(struct.pack('<IIII', i, 0, len(p), len(p)) + p)
open(d + '/udp.bin', 'wb').write(pkt(17, 80))
open(d + '/short.bin', 'wb').write(b'\0' * 10)
open(d + '/ctx.bin', 'wb').write(struct.pack('<6I', 0, len(pkt(17, 80)), 0, 0, 0, 0))
PY
count_pcap() {
	python3 -c 'import sys
d = open(sys.argv[1], "rb").read(); o = 24; n = 0
while o < len(d):
    cap = int.from_bytes(d[o+8:o+12], "little"); o += 16 + cap; n += 1
print(n)' "$1"
}

t_expect "one packet: retval and verdict" 0 "retval = 2 (0x2) XDP_PASS" -- \
	"$BPFVM" run "$OBJ" --prog xdp_parse --data-file "$T_TMP/udp.bin"
t_expect "data_out written" 0 "data_out = 62 bytes" -- \
	"$BPFVM" run "$OBJ" --prog xdp_parse --data-file "$T_TMP/udp.bin" --data-out "$T_TMP/out.bin"
if cmp -s "$T_TMP/udp.bin" "$T_TMP/out.bin"; then t_ok "data_out is the packet"; else t_fail "data_out is the packet"; fi
t_expect "repeat prints the average duration" 0 "average of 100 runs" -- \
	"$BPFVM" run "$OBJ" --prog xdp_parse --data-file "$T_TMP/udp.bin" --repeat 100
t_expect "ctx_in and ctx_out" 0 "XDP_PASS" -- \
	"$BPFVM" run "$OBJ" --prog xdp_parse --data-file "$T_TMP/udp.bin" --ctx-in "$T_TMP/ctx.bin" --ctx-out "$T_TMP/ctxout.bin"
if [ "$(stat -c %s "$T_TMP/ctxout.bin" 2>/dev/null)" = 24 ]; then t_ok "ctx_out is a struct xdp_md"; else t_fail "ctx_out is a struct xdp_md"; fi
t_expect "a too short packet is refused with the reason" 1 "at least an Ethernet header" -- \
	"$BPFVM" run "$OBJ" --prog xdp_parse --data-file "$T_TMP/short.bin"

printf 'r0 = *(u32 *)(r1 + 0)\nexit\n' > "$T_TMP/len.s"
t_expect "assembly with --prog-type socket_filter sees len = size - 14" 0 "retval = 48 (0x30)" -- \
	"$BPFVM" run "$T_TMP/len.s" --prog-type socket_filter --data-file "$T_TMP/udp.bin" --no-verify
t_expect "assembly needs --prog-type for a packet" 2 "--prog-type" -- \
	"$BPFVM" run "$T_TMP/len.s" --data-file "$T_TMP/udp.bin"
t_expect "unknown program type" 2 "unknown program type" -- \
	"$BPFVM" run "$T_TMP/len.s" --prog-type nope --data-file "$T_TMP/udp.bin"
t_expect "--out needs --pcap" 2 "give --pcap too" -- \
	"$BPFVM" run "$OBJ" --out "$T_TMP/x.pcap"

out=$("$BPFVM" run "$OBJ" --prog xdp_parse --pcap "$T_TMP/in.pcap" --out "$T_TMP/out.pcap" 2>&1)
rc=$?
if [ $rc = 0 ] && grep -Eq 'XDP_DROP +1000' <<<"$out" && grep -Eq 'XDP_PASS +1000' <<<"$out" &&
   grep -Eq 'XDP_TX +1000' <<<"$out" && grep -q '3000 packets in .* packets/s' <<<"$out"; then
	t_ok "pcap: counts per XDP verdict and packets per second"
else
	t_fail "pcap: counts per XDP verdict and packets per second" "$out"
fi
t_expect "pcap then --dump-maps: 3000 Ethernet frames counted" 0 "key: 00 00 00 00  value: b8 0b 00 00" -- \
	"$BPFVM" run "$OBJ" --prog xdp_parse --pcap "$T_TMP/in.pcap" --dump-maps
t_expect "--data-out - prints the packet in hex" 0 "0000  02 00 00 00 00 01" -- \
	"$BPFVM" run "$OBJ" --prog xdp_parse --data-file "$T_TMP/udp.bin" --data-out -
n=$(count_pcap "$T_TMP/out.pcap")
if [ "$n" = 2000 ]; then t_ok "pcap --out keeps PASS and TX packets"; else t_fail "pcap --out keeps PASS and TX packets" "$n packets"; fi

out=$("$BPFVM" run "$T_TMP/filter.o" --pcap "$T_TMP/in.pcap" --out "$T_TMP/kept.pcap" 2>&1)
# UDP (1000 x 48 bytes after the Ethernet header) kept whole, TCP (1000) cut to 40, ICMP dropped
if grep -Eq 'kept +2000 packets, 88000 bytes' <<<"$out" && grep -Eq 'dropped +1000' <<<"$out"; then
	t_ok "pcap: socket filter bytes kept"
else
	t_fail "pcap: socket filter bytes kept" "$out"
fi
n=$(count_pcap "$T_TMP/kept.pcap")
if [ "$n" = 2000 ]; then t_ok "pcap --out of a socket filter"; else t_fail "pcap --out of a socket filter" "$n packets"; fi
# --fib: routes from a text file for bpf_fib_lookup (tests/testrun/progs/fib.bpf.c
# reads a request after the Ethernet header and writes the result back).
clang -O2 -g -target bpf -I/usr/include/$(uname -m)-linux-gnu -c tests/testrun/progs/fib.bpf.c -o "$T_TMP/fib.o"
cat > "$T_TMP/routes.txt" <<'EOF2'
dev 2 mac 02:00:00:00:00:02 forwarding
dev 3 mac 02:00:00:00:00:03 mtu 9000 forwarding
route 10.1.0.0/16 dev 3 via 10.0.0.254 metric 4
neigh 10.0.0.254 dev 3 lladdr 02:aa:00:00:00:fe
EOF2
python3 - "$T_TMP" <<'PY'
import struct, sys
req = struct.pack('<II', 0, 0) + struct.pack('<BBHHHI', 2, 0, 0, 0, 0, 2) + b'\0' * 4 + \
      b'\0' * 16 + bytes([10, 1, 2, 3]) + b'\0' * 12 + b'\0' * 16
open(sys.argv[1] + '/fibreq.bin', 'wb').write(b'\2' + b'\0' * 11 + b'\x88\xb5' + req + b'\0' * 14)
PY
t_expect "--fib: lookup through the file's routes" 0 "retval = 2 (0x2) XDP_PASS" -- \
	"$BPFVM" run "$T_TMP/fib.o" --prog xdp_fib --fib "$T_TMP/routes.txt" \
	--data-file "$T_TMP/fibreq.bin" --data-out "$T_TMP/fibout.bin"
res=$(python3 -c "
import struct, sys
b = open(sys.argv[1], 'rb').read()[14:]
rc, = struct.unpack_from('<I', b, 4)
ifindex, = struct.unpack_from('<I', b, 8 + 8)
print(rc, ifindex, b[8 + 32:8 + 36].hex(), b[8 + 58:8 + 64].hex())" "$T_TMP/fibout.bin")
if [ "$res" = "0 3 0a0000fe 02aa000000fe" ]; then t_ok "--fib: gateway, egress device and MAC written back"
else t_fail "--fib: gateway, egress device and MAC written back" "$res"; fi
printf 'dev 2\nroute 10.0.0.0/40 dev 2\n' > "$T_TMP/bad_routes.txt"
t_expect "--fib: a bad line is named" 1 "bad_routes.txt: line 2: prefix length 40 is longer" -- \
	"$BPFVM" run "$T_TMP/fib.o" --prog xdp_fib --fib "$T_TMP/bad_routes.txt" \
	--data-file "$T_TMP/fibreq.bin"
t_done
