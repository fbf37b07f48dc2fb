/* Kconfig externs as libbpf provides them: virtual ones have values,
 * a __weak CONFIG_ option bpfvm cannot know reads as unset. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern unsigned int LINUX_KERNEL_VERSION __kconfig;
extern _Bool LINUX_HAS_BPF_COOKIE __kconfig;
extern int CONFIG_HZ __kconfig __weak;

SEC("kconfig") int read_kconfig(void *ctx)
{
	/* 1 when the version is set, +2 for the cookie, +4 if CONFIG_HZ is unset */
	return (LINUX_KERNEL_VERSION != 0) + 2 * LINUX_HAS_BPF_COOKIE + 4 * (CONFIG_HZ == 0);
}

char LICENSE[] SEC("license") = "GPL";
