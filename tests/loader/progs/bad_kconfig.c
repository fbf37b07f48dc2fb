/* Bad input: a non-weak CONFIG_ option a userspace VM cannot know. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern int CONFIG_HZ __kconfig;

SEC("kconfig") int needs_hz(void *ctx)
{
	return CONFIG_HZ;
}

char LICENSE[] SEC("license") = "GPL";
