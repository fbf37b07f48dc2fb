/* Program type from the section name, as libbpf derives it.
 *
 * The facts come from libbpf's section_defs table: a name without '+'
 * matches exactly; "kprobe+" matches "kprobe" and "kprobe/...". libbpf
 * before 1.0 matched plain prefixes ("xdp_prog", "socket1",
 * "classifier_ingress"), and objects in the wild still use them, so a name
 * no rule matches exactly is tried again as a prefix. Longer names come
 * first so that "xdp.frags" is not taken for "xdp". */
#include <errno.h>
#include <string.h>

#include <linux/bpf.h>

#include <bpf/libbpf.h>

#include "bpfvm/object.h"

struct sec_rule {
	const char *name;
	int slash_args; /* the '+' of libbpf: "name" or "name/..." */
	enum bpf_prog_type type;
};

static const struct sec_rule sec_rules[] = {
	{"socket", 0, BPF_PROG_TYPE_SOCKET_FILTER},
	{"sk_reuseport/migrate", 0, BPF_PROG_TYPE_SK_REUSEPORT},
	{"sk_reuseport", 0, BPF_PROG_TYPE_SK_REUSEPORT},
	{"kprobe.multi", 1, BPF_PROG_TYPE_KPROBE},
	{"kretprobe.multi", 1, BPF_PROG_TYPE_KPROBE},
	{"kprobe", 1, BPF_PROG_TYPE_KPROBE},
	{"kretprobe", 1, BPF_PROG_TYPE_KPROBE},
	{"uprobe.s", 1, BPF_PROG_TYPE_KPROBE},
	{"uretprobe.s", 1, BPF_PROG_TYPE_KPROBE},
	{"uprobe", 1, BPF_PROG_TYPE_KPROBE},
	{"uretprobe", 1, BPF_PROG_TYPE_KPROBE},
	{"ksyscall", 1, BPF_PROG_TYPE_KPROBE},
	{"kretsyscall", 1, BPF_PROG_TYPE_KPROBE},
	{"usdt", 1, BPF_PROG_TYPE_KPROBE},
	{"tc", 0, BPF_PROG_TYPE_SCHED_CLS},
	{"classifier", 0, BPF_PROG_TYPE_SCHED_CLS},
	{"action", 0, BPF_PROG_TYPE_SCHED_ACT},
	{"tracepoint", 1, BPF_PROG_TYPE_TRACEPOINT},
	{"tp_btf", 1, BPF_PROG_TYPE_TRACING},
	{"tp", 1, BPF_PROG_TYPE_TRACEPOINT},
	{"raw_tracepoint.w", 1, BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE},
	{"raw_tp.w", 1, BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE},
	{"raw_tracepoint", 1, BPF_PROG_TYPE_RAW_TRACEPOINT},
	{"raw_tp", 1, BPF_PROG_TYPE_RAW_TRACEPOINT},
	{"fentry.s", 1, BPF_PROG_TYPE_TRACING},
	{"fmod_ret.s", 1, BPF_PROG_TYPE_TRACING},
	{"fexit.s", 1, BPF_PROG_TYPE_TRACING},
	{"fentry", 1, BPF_PROG_TYPE_TRACING},
	{"fmod_ret", 1, BPF_PROG_TYPE_TRACING},
	{"fexit", 1, BPF_PROG_TYPE_TRACING},
	{"iter.s", 1, BPF_PROG_TYPE_TRACING},
	{"iter", 1, BPF_PROG_TYPE_TRACING},
	{"freplace", 1, BPF_PROG_TYPE_EXT},
	{"lsm.s", 1, BPF_PROG_TYPE_LSM},
	{"lsm_cgroup", 1, BPF_PROG_TYPE_LSM},
	{"lsm", 1, BPF_PROG_TYPE_LSM},
	{"syscall", 0, BPF_PROG_TYPE_SYSCALL},
	{"xdp.frags/devmap", 0, BPF_PROG_TYPE_XDP},
	{"xdp.frags/cpumap", 0, BPF_PROG_TYPE_XDP},
	{"xdp.frags", 0, BPF_PROG_TYPE_XDP},
	{"xdp/devmap", 0, BPF_PROG_TYPE_XDP},
	{"xdp/cpumap", 0, BPF_PROG_TYPE_XDP},
	{"xdp", 0, BPF_PROG_TYPE_XDP},
	{"perf_event", 0, BPF_PROG_TYPE_PERF_EVENT},
	{"lwt_in", 0, BPF_PROG_TYPE_LWT_IN},
	{"lwt_out", 0, BPF_PROG_TYPE_LWT_OUT},
	{"lwt_xmit", 0, BPF_PROG_TYPE_LWT_XMIT},
	{"lwt_seg6local", 0, BPF_PROG_TYPE_LWT_SEG6LOCAL},
	{"sockops", 0, BPF_PROG_TYPE_SOCK_OPS},
	{"sk_skb/stream_parser", 0, BPF_PROG_TYPE_SK_SKB},
	{"sk_skb/stream_verdict", 0, BPF_PROG_TYPE_SK_SKB},
	{"sk_skb", 0, BPF_PROG_TYPE_SK_SKB},
	{"sk_msg", 0, BPF_PROG_TYPE_SK_MSG},
	{"lirc_mode2", 0, BPF_PROG_TYPE_LIRC_MODE2},
	{"flow_dissector", 0, BPF_PROG_TYPE_FLOW_DISSECTOR},
	{"cgroup_skb/ingress", 0, BPF_PROG_TYPE_CGROUP_SKB},
	{"cgroup_skb/egress", 0, BPF_PROG_TYPE_CGROUP_SKB},
	{"cgroup/skb", 0, BPF_PROG_TYPE_CGROUP_SKB},
	{"cgroup/sock_create", 0, BPF_PROG_TYPE_CGROUP_SOCK},
	{"cgroup/sock_release", 0, BPF_PROG_TYPE_CGROUP_SOCK},
	{"cgroup/sock", 0, BPF_PROG_TYPE_CGROUP_SOCK},
	{"cgroup/post_bind4", 0, BPF_PROG_TYPE_CGROUP_SOCK},
	{"cgroup/post_bind6", 0, BPF_PROG_TYPE_CGROUP_SOCK},
	{"cgroup/bind4", 0, BPF_PROG_TYPE_CGROUP_SOCK_ADDR},
	{"cgroup/bind6", 0, BPF_PROG_TYPE_CGROUP_SOCK_ADDR},
	{"cgroup/connect4", 0, BPF_PROG_TYPE_CGROUP_SOCK_ADDR},
	{"cgroup/connect6", 0, BPF_PROG_TYPE_CGROUP_SOCK_ADDR},
	{"cgroup/sendmsg4", 0, BPF_PROG_TYPE_CGROUP_SOCK_ADDR},
	{"cgroup/sendmsg6", 0, BPF_PROG_TYPE_CGROUP_SOCK_ADDR},
	{"cgroup/recvmsg4", 0, BPF_PROG_TYPE_CGROUP_SOCK_ADDR},
	{"cgroup/recvmsg6", 0, BPF_PROG_TYPE_CGROUP_SOCK_ADDR},
	{"cgroup/getpeername4", 0, BPF_PROG_TYPE_CGROUP_SOCK_ADDR},
	{"cgroup/getpeername6", 0, BPF_PROG_TYPE_CGROUP_SOCK_ADDR},
	{"cgroup/getsockname4", 0, BPF_PROG_TYPE_CGROUP_SOCK_ADDR},
	{"cgroup/getsockname6", 0, BPF_PROG_TYPE_CGROUP_SOCK_ADDR},
	{"cgroup/sysctl", 0, BPF_PROG_TYPE_CGROUP_SYSCTL},
	{"cgroup/getsockopt", 0, BPF_PROG_TYPE_CGROUP_SOCKOPT},
	{"cgroup/setsockopt", 0, BPF_PROG_TYPE_CGROUP_SOCKOPT},
	{"cgroup/dev", 0, BPF_PROG_TYPE_CGROUP_DEVICE},
	{"struct_ops.s", 1, BPF_PROG_TYPE_STRUCT_OPS},
	{"struct_ops", 1, BPF_PROG_TYPE_STRUCT_OPS},
	{"sk_lookup", 0, BPF_PROG_TYPE_SK_LOOKUP},
};
#define NRULES (sizeof(sec_rules) / sizeof(sec_rules[0]))

static int rule_matches(const struct sec_rule *r, const char *sec)
{
	size_t n = strlen(r->name);
	if (strncmp(sec, r->name, n) != 0)
		return 0;
	return sec[n] == 0 || (r->slash_args && sec[n] == '/');
}

int bpfvm_object_type_from_section(const char *section, enum bpfvm_prog_type *type)
{
	for (size_t i = 0; i < NRULES; i++)
		if (rule_matches(&sec_rules[i], section)) {
			*type = (enum bpfvm_prog_type)sec_rules[i].type;
			return 0;
		}
	/* libbpf < 1.0: any name starting with a known one. */
	for (size_t i = 0; i < NRULES; i++)
		if (strncmp(section, sec_rules[i].name, strlen(sec_rules[i].name)) == 0) {
			*type = (enum bpfvm_prog_type)sec_rules[i].type;
			return 0;
		}
	return -ENOENT;
}

const char *bpfvm_object_type_name(enum bpfvm_prog_type type)
{
	if (type == BPFVM_PROG_RAW)
		return "raw";
	return libbpf_bpf_prog_type_str((enum bpf_prog_type)type);
}
