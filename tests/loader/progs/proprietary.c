/* A non-GPL program calling a GPL-only helper (bpf_trace_printk): the
 * kernel refuses it, and so does bpfvm, from the object's license section. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("kprobe/do_nothing")
int say_hi(void *ctx)
{
	bpf_printk("hi");
	return 0;
}

char LICENSE[] SEC("license") = "Proprietary";
