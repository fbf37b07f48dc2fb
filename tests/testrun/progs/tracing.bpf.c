// Tracing programs as clang compiles them for x86-64: a kprobe reading
// its arguments with PT_REGS_PARM1..5, a raw tracepoint reading u64
// arguments, a tracepoint reading fields of its record.
/* bpfvm runs kprobes on the x86-64 struct pt_regs. */
#define __TARGET_ARCH_x86
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

SEC("kprobe/do_sys_open")
int BPF_KPROBE(kprobe_args, long a, long b, long c, long d, long e)
{
	return a + 2 * b + 3 * c + 4 * d + 5 * e;
}

SEC("raw_tracepoint/sys_enter")
int raw_tp_args(struct bpf_raw_tracepoint_args *ctx)
{
	return ctx->args[0] * 10 + ctx->args[1];
}

struct write_record {
	__u64 common; /* type, flags, preempt count, pid */
	long syscall_nr;
	unsigned long fd, buf, count;
};

SEC("tracepoint/syscalls/sys_enter_write")
int tp_write(struct write_record *ctx)
{
	return ctx->fd == 1 ? (int)ctx->count : -1;
}

char _license[] SEC("license") = "GPL";
