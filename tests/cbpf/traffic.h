/* Synthetic Ethernet traffic for the classic BPF tests and benchmark:
 * IPv4/IPv6 TCP, UDP, ICMP, ICMPv6, 802.1Q and QinQ VLANs, IPv4 and IPv6
 * fragments, ARP, other ethertypes, and packets cut short of their wire
 * length. Deterministic for a seed, so a failure can be replayed. */
#ifndef BPFVM_TESTS_CBPF_TRAFFIC_H
#define BPFVM_TESTS_CBPF_TRAFFIC_H

#include <stdint.h>
#include <string.h>

#define TRAFFIC_MAX_FRAME 1514

static inline uint64_t traffic_rand(uint64_t *s)
{
	/* xorshift64*: good enough to pick packet shapes */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1Dull;
}

static inline unsigned traffic_pick(uint64_t *s, unsigned n)
{
	return (unsigned)(traffic_rand(s) >> 33) % n;
}

struct frame {
	uint8_t *b;
	size_t len;
};

static inline void put8(struct frame *f, unsigned v)
{
	f->b[f->len++] = (uint8_t)v;
}
static inline void put16(struct frame *f, unsigned v)
{
	put8(f, v >> 8);
	put8(f, v);
}
static inline void put32(struct frame *f, uint32_t v)
{
	put16(f, v >> 16);
	put16(f, v & 0xffff);
}
static inline void put_bytes(struct frame *f, const uint8_t *p, size_t n)
{
	memcpy(f->b + f->len, p, n);
	f->len += n;
}
static inline void patch16(struct frame *f, size_t at, unsigned v)
{
	f->b[at] = (uint8_t)(v >> 8);
	f->b[at + 1] = (uint8_t)v;
}

static const uint8_t traffic_macs[][6] = {
	{0x02, 0, 0, 0, 0, 0x01}, {0x02, 0, 0, 0, 0, 0x02}, {0x02, 0, 0, 0, 0, 0x03},
	{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, {0x01, 0x00, 0x5e, 0, 0, 0x01}, {0x33, 0x33, 0, 0, 0, 0x01},
};
static const uint32_t traffic_ip4[] = {0x0a000001, 0x0a000002, 0xc0a8010a, 0xc0a80114, 0xac100504, 0x08080808};
static const uint8_t traffic_ip6[][16] = {
	{0x20, 0x01, 0x0d, 0xb8, [15] = 1}, {0x20, 0x01, 0x0d, 0xb8, [15] = 2},
	{0xfe, 0x80, [15] = 1}, {0xff, 0x02, [15] = 1},
};
static const uint16_t traffic_ports[] = {80, 443, 22, 53, 123, 8080, 1500, 1999, 33000, 5353};

static inline void put_eth(struct frame *f, uint64_t *s, unsigned type, int vlan)
{
	unsigned dst = traffic_pick(s, 6), src = traffic_pick(s, 3);
	put_bytes(f, traffic_macs[dst], 6);
	put_bytes(f, traffic_macs[src], 6);
	if (vlan == 2) { /* QinQ: 802.1ad outer tag */
		put16(f, 0x88a8);
		put16(f, 300 + traffic_pick(s, 2));
	}
	if (vlan) {
		static const unsigned ids[] = {10, 100, 200};
		put16(f, 0x8100);
		put16(f, (traffic_pick(s, 8) << 13) | ids[traffic_pick(s, 3)]);
	}
	put16(f, type);
}

static inline unsigned traffic_port(uint64_t *s)
{
	return traffic_pick(s, 4) == 0 ? 1024 + traffic_pick(s, 60000)
				       : traffic_ports[traffic_pick(s, sizeof(traffic_ports) / 2)];
}

/* L4 header and payload; returns nothing, appends to f. */
static inline void put_l4(struct frame *f, uint64_t *s, unsigned proto, int v6)
{
	unsigned payload = traffic_pick(s, 4) == 0 ? 600 + traffic_pick(s, 800) : traffic_pick(s, 120);
	if (proto == 6) {
		static const unsigned flags[] = {0x02, 0x12, 0x10, 0x11, 0x04, 0x18};
		unsigned sport = traffic_port(s), dport = traffic_port(s);
		unsigned fl = flags[traffic_pick(s, 6)];
		unsigned opt_words = traffic_pick(s, 3) == 0 ? 3 : 0;
		put16(f, sport);
		put16(f, dport);
		put32(f, (uint32_t)traffic_rand(s));
		put32(f, (uint32_t)traffic_rand(s));
		put8(f, (5 + opt_words) << 4);
		put8(f, fl);
		put16(f, 65535);
		put32(f, 0); /* checksum, urgent */
		for (unsigned i = 0; i < opt_words * 4; i++)
			put8(f, 1); /* NOP options */
		if (fl == 0x18 && (dport == 80 || dport == 8080)) {
			static const char get[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
			put_bytes(f, (const uint8_t *)get, sizeof(get) - 1);
			return;
		}
	} else if (proto == 17) {
		put16(f, traffic_port(s));
		put16(f, traffic_port(s));
		put16(f, 8 + payload);
		put16(f, 0);
	} else if (proto == 1 || proto == 58) {
		static const unsigned t4[] = {8, 0, 3, 11}, t6[] = {128, 129, 135, 136, 1};
		put8(f, proto == 1 ? t4[traffic_pick(s, 4)] : t6[traffic_pick(s, 5)]);
		put8(f, 0);
		put16(f, 0);
		put32(f, (uint32_t)traffic_rand(s));
	}
	(void)v6;
	for (unsigned i = 0; i < payload && f->len < TRAFFIC_MAX_FRAME; i++)
		put8(f, (uint8_t)traffic_rand(s));
}

/* IPv4 header; frag: 0 none, 1 first fragment (MF), 2 later fragment. */
static inline void put_ipv4(struct frame *f, uint64_t *s, unsigned proto, int frag)
{
	size_t start = f->len;
	unsigned opt_words = traffic_pick(s, 6) == 0 ? 1 + traffic_pick(s, 2) : 0;
	put8(f, 0x40 | (5 + opt_words));
	put8(f, 0);
	put16(f, 0); /* total length, patched */
	put16(f, traffic_pick(s, 65536));
	unsigned fragword = frag == 1 ? 0x2000 : frag == 2 ? (0x2000 * traffic_pick(s, 2)) | (1 + traffic_pick(s, 180)) : 0x4000 * traffic_pick(s, 2);
	put16(f, fragword);
	put8(f, 1 + traffic_pick(s, 128));
	put8(f, proto);
	put16(f, 0);
	put32(f, traffic_ip4[traffic_pick(s, 6)]);
	put32(f, traffic_ip4[traffic_pick(s, 6)]);
	for (unsigned i = 0; i < opt_words * 4; i++)
		put8(f, 1);
	if (frag == 2) {
		unsigned n = 8 * (1 + traffic_pick(s, 40));
		for (unsigned i = 0; i < n; i++)
			put8(f, (uint8_t)traffic_rand(s));
	} else {
		put_l4(f, s, proto, 0);
	}
	if (f->len > TRAFFIC_MAX_FRAME)
		f->len = TRAFFIC_MAX_FRAME;
	patch16(f, start + 2, (unsigned)(f->len - start));
}

static inline void put_ipv6(struct frame *f, uint64_t *s, unsigned proto, int ext)
{
	size_t start = f->len;
	put32(f, 0x60000000);
	put16(f, 0); /* payload length, patched */
	unsigned first = ext == 1 ? 0 : ext == 2 ? 44 : proto;
	put8(f, first);
	put8(f, 64);
	put_bytes(f, traffic_ip6[traffic_pick(s, 4)], 16);
	put_bytes(f, traffic_ip6[traffic_pick(s, 4)], 16);
	if (ext == 1) { /* hop-by-hop options, 8 bytes */
		put8(f, proto);
		put8(f, 0);
		put16(f, 0x0502);
		put32(f, 0x00000100);
	} else if (ext == 2) { /* fragment header */
		put8(f, proto);
		put8(f, 0);
		put16(f, traffic_pick(s, 2) ? 0x0001 : (8 * (1 + traffic_pick(s, 50))) << 3);
		put32(f, (uint32_t)traffic_rand(s));
	}
	put_l4(f, s, proto, 1);
	if (f->len > TRAFFIC_MAX_FRAME)
		f->len = TRAFFIC_MAX_FRAME;
	patch16(f, start + 4, (unsigned)(f->len - start - 40));
}

static inline void put_arp(struct frame *f, uint64_t *s)
{
	unsigned op = 1 + traffic_pick(s, 2);
	put16(f, 1);
	put16(f, 0x0800);
	put8(f, 6);
	put8(f, 4);
	put16(f, op);
	put_bytes(f, traffic_macs[traffic_pick(s, 3)], 6);
	put32(f, traffic_ip4[traffic_pick(s, 6)]);
	put_bytes(f, traffic_macs[traffic_pick(s, 3)], 6);
	put32(f, traffic_ip4[traffic_pick(s, 6)]);
	while (f->len < 60)
		put8(f, 0);
}

/* One frame into buf (TRAFFIC_MAX_FRAME bytes); sets its wire and
 * captured lengths (caplen < wirelen for about one packet in twelve). */
static inline void traffic_frame(uint64_t *s, uint8_t *buf, uint32_t *wirelen, uint32_t *caplen)
{
	struct frame f = {buf, 0};
	static const unsigned l4[] = {6, 6, 17, 17, 1};
	switch (traffic_pick(s, 12)) {
	case 0: case 1: case 2:
		put_eth(&f, s, 0x0800, 0);
		put_ipv4(&f, s, l4[traffic_pick(s, 5)], 0);
		break;
	case 3: case 4:
		put_eth(&f, s, 0x86dd, 0);
		put_ipv6(&f, s, traffic_pick(s, 3) == 0 ? 58 : l4[traffic_pick(s, 4)], 0);
		break;
	case 5:
		put_eth(&f, s, 0x86dd, 0);
		put_ipv6(&f, s, traffic_pick(s, 2) ? 58 : 17, 1 + traffic_pick(s, 2));
		break;
	case 6: case 7: {
		int vlan = traffic_pick(s, 4) == 0 ? 2 : 1;
		if (traffic_pick(s, 3) == 0) {
			put_eth(&f, s, 0x86dd, vlan);
			put_ipv6(&f, s, l4[traffic_pick(s, 4)], 0);
		} else {
			put_eth(&f, s, 0x0800, vlan);
			put_ipv4(&f, s, l4[traffic_pick(s, 5)], 0);
		}
		break;
	}
	case 8:
		put_eth(&f, s, 0x0800, 0);
		put_ipv4(&f, s, traffic_pick(s, 2) ? 6 : 17, 1 + traffic_pick(s, 2));
		break;
	case 9: case 10:
		put_eth(&f, s, 0x0806, 0);
		put_arp(&f, s);
		break;
	default:
		put_eth(&f, s, traffic_pick(s, 2) ? 0x88cc : 0x8863, 0);
		for (unsigned i = 0; i < 46; i++)
			put8(&f, (uint8_t)traffic_rand(s));
		break;
	}
	*wirelen = (uint32_t)f.len;
	*caplen = (uint32_t)f.len;
	if (traffic_pick(s, 12) == 0) {
		static const uint32_t cuts[] = {1, 13, 14, 20, 23, 34, 38, 40, 42, 54, 58};
		uint32_t cut = traffic_pick(s, 2) ? cuts[traffic_pick(s, 11)] : 1 + traffic_pick(s, (unsigned)f.len);
		if (cut < f.len)
			*caplen = cut;
	}
}

#endif
