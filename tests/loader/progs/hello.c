/* The hello world of eBPF: bpf_trace_printk. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("tracepoint/syscalls/sys_enter_execve")
int hello(void *ctx)
{
	bpf_printk("Hello, World!");
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
