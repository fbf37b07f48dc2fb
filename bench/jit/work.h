/* The JIT benchmark's workloads, written once in C and compiled three ways:
 * by clang for BPF (bench/jit/progs.bpf.c wraps them as raw-memory and XDP
 * programs) and natively by the benchmark driver (bench/bench_jit.c).
 *
 * Every function works on a BUF_SIZE buffer; indices are masked so the
 * kernel's verifier (map value) and bpfvm's (raw memory of proven length)
 * see every access in bounds. BPF has no conditional moves: the bit tricks
 * below compute comparisons arithmetically, as a C programmer for BPF
 * would. Generated once by a script; edit freely. */
#ifndef BENCH_JIT_WORK_H
#define BENCH_JIT_WORK_H

typedef unsigned long long u64;
typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;

#define BUF_SIZE 2048
#define WORK_INLINE static inline __attribute__((always_inline))
/* Hide a value from the optimizer (an empty asm that "changes" it). */
#define OPAQUE(x) __asm__("" : "+r"(x))

/* 1 if a < b (unsigned 32-bit), without a branch. */
WORK_INLINE u32 below(u32 a, u32 b)
{
	u64 delta = (u64)a - (u64)b;
	OPAQUE(delta); /* keep clang from turning it back into a compare and branch */
	return (u32)(delta >> 63);
}

/* Bounded-loop sum: 4 passes over 256 words. */
WORK_INLINE u64 w_sum(u8 *buf)
{
	u64 s = 0;
	for (u32 r = 0; r < 4; r++)
		for (u32 i = 0; i < 256; i++)
			s += (u64)*(u32 *)(buf + ((i * 4) & 1023)) * (i | 1) + r;
	return s;
}

/* memcpy 1 KiB in words, then memcmp: position of the first difference
 * and the number of different bytes. */
WORK_INLINE u64 w_memcpy(u8 *buf)
{
	for (u32 i = 0; i < 128; i++)
		*(u64 *)(buf + 1024 + ((i * 8) & 1016)) = *(u64 *)(buf + ((i * 8) & 1016)) ^ (i == 100);
	u64 diff = 0;
	for (u32 i = 0; i < 1024; i++) /* != without a branch: (x ^ y) + 255 >> 8 */
		diff += ((u32)(buf[i & 1023] ^ buf[1024 + (i & 1023)]) + 255) >> 8;
	u32 first = 1024;
	for (u32 i = 0; i < 1024; i++)
		if (buf[i & 1023] != buf[1024 + (i & 1023)]) {
			first = i;
			break;
		}
	return diff << 32 | first;
}

/* strcmp of 15 adjacent pairs of the 16 NUL-terminated strings of 64
 * bytes at the start of the buffer. */
WORK_INLINE u64 w_strcmp(u8 *buf)
{
	u64 acc = 0;
	for (u32 k = 0; k < 15; k++) {
		u32 a = k * 64, b = a + 64;
		int d = 0;
		for (u32 i = 0; i < 64; i++) {
			u8 x = buf[(a + i) & 1023], y = buf[(b + i) & 1023];
			if (x != y) {
				d = x - y;
				break;
			}
			if (!x)
				break;
		}
		acc = acc * 31 + (u32)d;
	}
	return acc;
}

/* Integer log2 by bit tricks (shift by 16/8/4/2/1 when above). */
WORK_INLINE u32 ilog2(u32 v)
{
	u32 r, s;
	r = below(0xffff, v) << 4;
	v >>= r;
	s = below(0xff, v) << 3;
	v >>= s;
	r |= s;
	s = below(0xf, v) << 2;
	v >>= s;
	r |= s;
	s = below(0x3, v) << 1;
	v >>= s;
	r |= s;
	return r | (v >> 1);
}

WORK_INLINE u64 w_log2(u8 *buf)
{
	u64 s = 0;
	for (u32 r = 0; r < 4; r++)
		for (u32 i = 0; i < 256; i++)
			s += ilog2((*(u32 *)(buf + ((i * 4) & 1023)) >> r) | 1);
	return s;
}

/* Sieve of Eratosthenes below 1024 in the second half of the buffer; a
 * composite i starts its (empty) marking loop past the end instead of
 * branching around it. */
WORK_INLINE u64 w_sieve(u8 *buf)
{
	u8 *s = buf + 1024;
	for (u32 i = 0; i < 1024; i += 8)
		*(u64 *)(s + (i & 1016)) = 0;
	u64 count = 0;
	for (u32 i = 2; i < 1024; i++) {
		u32 composite = s[i & 1023];
		OPAQUE(composite);
		count += 1 - composite;
		for (u32 j = i * i + (composite << 10); j < 1024; j += i)
			s[j & 1023] = 1;
	}
	return count;
}

/* A switch over 64 cases, one per byte of 1 KiB. */
WORK_INLINE u64 w_switch(u8 *buf)
{
	u64 acc = 1;
	for (u32 i = 0; i < 1024; i++) {
		u8 b = buf[i & 1023];
		switch (b & 63) {
		case 0: acc += 0x52e6e + i; break;
		case 1: acc ^= acc >> 31; break;
		case 2: acc = acc * 0x269e3 + 1; break;
		case 3: acc -= (acc << 13) ^ i; break;
		case 4: acc ^= 0xa6a3dULL * (b + 1); break;
		case 5: acc = (acc >> 2) | (acc << (64 - 2)); break;
		case 6: acc += (acc ^ 0x128b5) >> 5; break;
		case 7: acc = acc * 3 + 0xd23f3; break;
		case 8: acc += 0x892fc + i; break;
		case 9: acc ^= acc >> 4; break;
		case 10: acc = acc * 0x5d9df + 1; break;
		case 11: acc -= (acc << 19) ^ i; break;
		case 12: acc ^= 0xed93ULL * (b + 1); break;
		case 13: acc = (acc >> 30) | (acc << (64 - 30)); break;
		case 14: acc += (acc ^ 0x81e77) >> 5; break;
		case 15: acc = acc * 3 + 0x36f6a; break;
		case 16: acc += 0x9998 + i; break;
		case 17: acc ^= acc >> 3; break;
		case 18: acc = acc * 0x6f039 + 1; break;
		case 19: acc -= (acc << 14) ^ i; break;
		case 20: acc ^= 0x11e23ULL * (b + 1); break;
		case 21: acc = (acc >> 8) | (acc << (64 - 8)); break;
		case 22: acc += (acc ^ 0x17392) >> 5; break;
		case 23: acc = acc * 3 + 0x8d119; break;
		case 24: acc += 0x6cad7 + i; break;
		case 25: acc ^= acc >> 2; break;
		case 26: acc = acc * 0xd3acc + 1; break;
		case 27: acc -= (acc << 19) ^ i; break;
		case 28: acc ^= 0x1fb1aULL * (b + 1); break;
		case 29: acc = (acc >> 31) | (acc << (64 - 31)); break;
		case 30: acc += (acc ^ 0x39266) >> 5; break;
		case 31: acc = acc * 3 + 0xa170e; break;
		case 32: acc += 0xa09fa + i; break;
		case 33: acc ^= acc >> 19; break;
		case 34: acc = acc * 0xf29d3 + 1; break;
		case 35: acc -= (acc << 2) ^ i; break;
		case 36: acc ^= 0x93bd3ULL * (b + 1); break;
		case 37: acc = (acc >> 19) | (acc << (64 - 19)); break;
		case 38: acc += (acc ^ 0x658d0) >> 5; break;
		case 39: acc = acc * 3 + 0xcb21; break;
		case 40: acc += 0xf9ec0 + i; break;
		case 41: acc ^= acc >> 8; break;
		case 42: acc = acc * 0xbed0 + 1; break;
		case 43: acc -= (acc << 18) ^ i; break;
		case 44: acc ^= 0xdbc4cULL * (b + 1); break;
		case 45: acc = (acc >> 5) | (acc << (64 - 5)); break;
		case 46: acc += (acc ^ 0x4a240) >> 5; break;
		case 47: acc = acc * 3 + 0x6b4ce; break;
		case 48: acc += 0x24ee1 + i; break;
		case 49: acc ^= acc >> 18; break;
		case 50: acc = acc * 0x1e27d + 1; break;
		case 51: acc -= (acc << 19) ^ i; break;
		case 52: acc ^= 0x4ef8dULL * (b + 1); break;
		case 53: acc = (acc >> 18) | (acc << (64 - 18)); break;
		case 54: acc += (acc ^ 0xd0edd) >> 5; break;
		case 55: acc = acc * 3 + 0xae97e; break;
		case 56: acc += 0x2e444 + i; break;
		case 57: acc ^= acc >> 4; break;
		case 58: acc = acc * 0x94e3e + 1; break;
		case 59: acc -= (acc << 19) ^ i; break;
		case 60: acc ^= 0xa3900ULL * (b + 1); break;
		case 61: acc = (acc >> 7) | (acc << (64 - 7)); break;
		case 62: acc += (acc ^ 0x5f55a) >> 5; break;
		case 63: acc = acc * 3 + 0x18f16; break;
		}
	}
	return acc;
}

/* FNV-1a (32-bit) over 1 KiB and FNV-1a (64-bit) over 1 KiB, mixed. */
WORK_INLINE u64 w_hash(u8 *buf)
{
	u32 h = 2166136261u;
	for (u32 i = 0; i < 1024; i++) {
		h ^= buf[i & 1023];
		h *= 16777619u;
	}
	u64 h64 = 14695981039346656037ULL;
	for (u32 i = 0; i < 1024; i++) {
		h64 ^= buf[1023 - (i & 1023)];
		h64 *= 1099511628211ULL;
	}
	return h64 ^ ((u64)h << 29);
}

/* 128 binary searches in a sorted array of 256 words; the keys are the
 * words of the second KiB. Steps are branch-free (a mask from the sign of
 * the difference), as BPF has no conditional move. */
WORK_INLINE u64 w_bsearch(u8 *buf)
{
	u64 found = 0;
	for (u32 q = 0; q < 128; q++) {
		u32 key = *(u32 *)(buf + 1024 + ((q * 4) & 1020));
		u32 lo = 0, hi = 256;
		for (u32 step = 0; step < 9; step++) {
			u32 mid = (lo + hi) >> 1;
			u32 v = *(u32 *)(buf + ((mid * 4) & 1020));
			u64 delta = (u64)v - (u64)key;
			OPAQUE(delta); /* keep clang from turning the mask back into a branch */
			u32 m = (u32)((long long)delta >> 63); /* ~0 if v < key */
			lo += (mid + 1 - lo) & m;
			hi -= (hi - mid) & ~m;
		}
		found += lo;
	}
	return found;
}

/* Parse 16 Ethernet/IPv4/TCP-or-UDP frames of 64 bytes (4 passes): ether
 * type, header length, IPv4 header checksum, ports. */
WORK_INLINE u64 w_parse(u8 *buf)
{
	u64 acc = 0;
	for (u32 r = 0; r < 4; r++)
		for (u32 k = 0; k < 16; k++) {
			u8 *p = buf + ((k * 64) & 960);
			u32 eth = (u32)p[12] << 8 | p[13];
			if (eth != 0x0800) {
				acc += 1;
				continue;
			}
			u32 ihl = (p[14] & 15) * 4;
			if (ihl < 20) {
				acc += 2;
				continue;
			}
			u32 sum = 0;
			for (u32 i = 0; i < 10; i++)
				sum += (u32)p[14 + 2 * i] << 8 | p[15 + 2 * i];
			sum = (sum & 0xffff) + (sum >> 16);
			sum = (sum & 0xffff) + (sum >> 16);
			u8 *l4 = p + 14 + (ihl & 60);
			u32 sport = (u32)l4[0] << 8 | l4[1], dport = (u32)l4[2] << 8 | l4[3];
			u8 proto = p[23];
			if (proto == 6)
				acc += sport ^ dport ^ (~sum & 0xffff);
			else if (proto == 17)
				acc += (sport + dport) ^ (~sum & 0xffff);
			else
				acc += 3 + r;
		}
	return acc;
}

/* Division-heavy: 64-bit and 32-bit divisions and remainders by data and
 * by constants. */
WORK_INLINE u64 w_div(u8 *buf)
{
	u64 x = 0x123456789abcdefULL, acc = 0;
	for (u32 i = 0; i < 256; i++) {
		u32 d = *(u32 *)(buf + ((i * 4) & 1023)) | 1;
		acc += x / d + x % 13 + (u32)x / 7 + (u32)acc % ((d & 0xffff) | 1);
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
	}
	return acc;
}

/* The list the wrappers and the driver iterate: X(name). */
#define WORK_LIST(X) X(sum) X(memcpy) X(strcmp) X(log2) X(sieve) X(switch) X(hash) X(bsearch) X(parse) X(div)

#endif
