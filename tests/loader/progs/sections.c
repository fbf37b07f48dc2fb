/* Every kind of program section, several programs per section, static
 * functions as programs, subprograms in .text and in the same section. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* A global subprogram in .text, called from several programs. */
__attribute__((noinline)) int add_one(int x)
{
	return x + 1;
}

/* A static subprogram in .text, called through a static call. */
static __attribute__((noinline)) int twice(int x)
{
	return add_one(x) * 2;
}

SEC("xdp") int xdp_pass(struct xdp_md *ctx) { return XDP_PASS; }
SEC("xdp") int xdp_drop(struct xdp_md *ctx) { return twice(0) - 1; } /* XDP_DROP: 1 */
SEC("tc") int tc_prog(struct __sk_buff *skb) { return add_one(1); }
SEC("classifier") int cls_prog(struct __sk_buff *skb) { return 0; }
SEC("socket") int sock_prog(struct __sk_buff *skb) { return 0; }
SEC("kprobe/do_sys_open") int kp(void *ctx) { return 0; }
SEC("kretprobe/do_sys_open") int krp(void *ctx) { return 0; }
SEC("tracepoint/syscalls/sys_enter_execve") int tp(void *ctx) { return 0; }
SEC("raw_tracepoint/sched_switch") int rtp(void *ctx) { return 0; }
SEC("uprobe/bin:func") int up(void *ctx) { return 0; }
SEC("2/15") int iproute2_slot(struct __sk_buff *skb) { return 0; }
SEC("from-netdev") int from_netdev(struct __sk_buff *skb) { return 0; }

/* A static function in a program section is a program too. */
SEC("custom") static int static_prog(void *ctx) { return 7; }

/* Subprogram in the same section as its callers. */
static __attribute__((noinline)) int square(int x)
{
	return x * x;
}

/* Subprogram placed in the same section as its callers (a function of a
 * program section is a program of its own as well). */
static __attribute__((noinline, section("calc"))) int cube(int x)
{
	return x * x * x;
}

SEC("calc") int calc_a(void *ctx) { return square(3) + twice(1) + cube(2); } /* 9 + 4 + 8 */
SEC("calc") int calc_b(void *ctx) { return square(4) + cube(1); }            /* 16 + 1 */

/* A callback passed by address (LD_IMM64 src_reg 4). */
static int count_cb(__u32 index, void *data)
{
	*(int *)data += 1;
	return 0;
}

SEC("loop") int loop_prog(void *ctx)
{
	int n = 0;
	bpf_loop(5, count_cb, &n, 0);
	return n;
}

char LICENSE[] SEC("license") = "GPL";
__u32 _version SEC("version") = 0x050a00;
