/* Global data: .data, .rodata, .bss and a custom .data.* section. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

int counter = 5;                          /* .data */
const volatile int limit = 10;            /* .rodata */
unsigned long long hits;                  /* .bss */
int extra SEC(".data.extra") = 100;       /* custom data section */
static int file_static = 3;               /* .data, through the section symbol */

SEC("globals") int use_globals(void *ctx)
{
	hits++;
	counter += file_static++;
	if (counter > limit)
		return -1;
	return counter + extra;
}

char LICENSE[] SEC("license") = "GPL";
