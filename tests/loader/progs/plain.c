/* A plain C function compiled without SEC(): an object with only .text.
 * Its global functions are the programs (RAW: r1 = memory, r2 = length);
 * the static helper stays a subprogram. */
static __attribute__((noinline)) unsigned int sum(const unsigned char *p, unsigned int n)
{
	unsigned int s = 0;
	for (unsigned int i = 0; i < n && i < 16; i++)
		s += p[i];
	return s;
}

unsigned int checksum(const unsigned char *mem, unsigned long len)
{
	return len >= 16 ? sum(mem, 16) : 0;
}
