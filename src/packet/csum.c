/* The Internet checksum as the kernel computes it (include/net/checksum.h):
 * 32-bit partial sums with end-around carry, folded to 16 bits at the end.
 * Values are taken in memory byte order, as the kernel does on x86, so
 * results match byte for byte on little-endian hosts. */
#include <string.h>

#include "packet/packet.h"

uint32_t bpfvm__csum_add(uint32_t a, uint32_t b)
{
	uint32_t res = a + b;
	return res + (res < b);
}

uint32_t bpfvm__csum_sub(uint32_t a, uint32_t b)
{
	return bpfvm__csum_add(a, ~b);
}

uint16_t bpfvm__csum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Sum the buffer as little-endian 32-bit words (the last one zero-padded)
 * with end-around carry: the value x86's csum_partial computes (64-bit adds
 * with carry folded to 32 bits are the same sum modulo 2^32 - 1). */
uint32_t bpfvm__csum_partial(const void *buf, size_t len, uint32_t sum)
{
	const uint8_t *p = buf;
	uint64_t acc = sum;
	while (len >= 4) {
		uint32_t w;
		memcpy(&w, p, 4);
		acc += w;
		p += 4;
		len -= 4;
	}
	uint32_t tail = 0;
	for (size_t i = 0; i < len; i++)
		tail |= (uint32_t)p[i] << (8 * i);
	acc += tail;
	while (acc >> 32)
		acc = (acc & 0xffffffffu) + (acc >> 32);
	return (uint32_t)acc;
}
