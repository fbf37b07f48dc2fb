/* The program-type table: context layouts (as the kernel's
 * *_is_valid_access functions define them), LD_ABS permission and return
 * value rules for every program type bpfvm verifies. */
#include <string.h>

#include "progtypes/progtypes.h"

/* Access rules of a field, packed in the table rows below. */
#define R 1, 0, 1, 0  /* readable, narrow loads */
#define RW 1, 1, 1, 0 /* readable and writable (writes use the full width) */
#define RX 1, 0, 0, 1 /* readable with exactly the field's size only */
#define RWX 1, 1, 0, 1
#define NO 0, 0, 0, 0
/* "Free" fields (cb[], kprobe registers, tracepoint records): any aligned
 * access of 1, 2, 4 or 8 bytes inside the field. */
#define FREE_RO 1, 0, 2, 0
#define FREE_RW 1, 1, 2, 0

#define F(name, off, size, rules, kind) {name, off, size, rules, kind}

/* struct __sk_buff as a socket filter sees it (sk_filter_is_valid_access). */
static const struct bpfvm_ctx_field skb_filter_fields[] = {
	F("len", 0, 4, R, BPFVM_CTX_SCALAR),
	F("pkt_type", 4, 4, R, BPFVM_CTX_SCALAR),
	F("mark", 8, 4, R, BPFVM_CTX_SCALAR),
	F("queue_mapping", 12, 4, R, BPFVM_CTX_SCALAR),
	F("protocol", 16, 4, R, BPFVM_CTX_SCALAR),
	F("vlan_present", 20, 4, R, BPFVM_CTX_SCALAR),
	F("vlan_tci", 24, 4, R, BPFVM_CTX_SCALAR),
	F("vlan_proto", 28, 4, R, BPFVM_CTX_SCALAR),
	F("priority", 32, 4, R, BPFVM_CTX_SCALAR),
	F("ingress_ifindex", 36, 4, R, BPFVM_CTX_SCALAR),
	F("ifindex", 40, 4, R, BPFVM_CTX_SCALAR),
	F("tc_index", 44, 4, R, BPFVM_CTX_SCALAR),
	F("cb", 48, 20, FREE_RW, BPFVM_CTX_SCALAR),
	F("hash", 68, 4, R, BPFVM_CTX_SCALAR),
	F("napi_id", 84, 4, R, BPFVM_CTX_SCALAR),
	F("gso_segs", 164, 4, R, BPFVM_CTX_SCALAR),
	F("gso_size", 176, 4, R, BPFVM_CTX_SCALAR),
};

/* struct __sk_buff for tc classifiers and actions (tc_cls_act_is_valid_access). */
static const struct bpfvm_ctx_field skb_tc_fields[] = {
	F("len", 0, 4, R, BPFVM_CTX_SCALAR),
	F("pkt_type", 4, 4, R, BPFVM_CTX_SCALAR),
	F("mark", 8, 4, RW, BPFVM_CTX_SCALAR),
	F("queue_mapping", 12, 4, RW, BPFVM_CTX_SCALAR),
	F("protocol", 16, 4, R, BPFVM_CTX_SCALAR),
	F("vlan_present", 20, 4, R, BPFVM_CTX_SCALAR),
	F("vlan_tci", 24, 4, R, BPFVM_CTX_SCALAR),
	F("vlan_proto", 28, 4, R, BPFVM_CTX_SCALAR),
	F("priority", 32, 4, RW, BPFVM_CTX_SCALAR),
	F("ingress_ifindex", 36, 4, R, BPFVM_CTX_SCALAR),
	F("ifindex", 40, 4, R, BPFVM_CTX_SCALAR),
	F("tc_index", 44, 4, RW, BPFVM_CTX_SCALAR),
	F("cb", 48, 20, FREE_RW, BPFVM_CTX_SCALAR),
	F("hash", 68, 4, R, BPFVM_CTX_SCALAR),
	F("tc_classid", 72, 4, RW, BPFVM_CTX_SCALAR),
	F("data", 76, 4, RX, BPFVM_CTX_PKT),
	F("data_end", 80, 4, RX, BPFVM_CTX_PKT_END),
	F("napi_id", 84, 4, R, BPFVM_CTX_SCALAR),
	F("data_meta", 140, 4, RX, BPFVM_CTX_PKT_META),
	F("tstamp", 152, 8, RWX, BPFVM_CTX_SCALAR),
	F("wire_len", 160, 4, R, BPFVM_CTX_SCALAR),
	F("gso_segs", 164, 4, R, BPFVM_CTX_SCALAR),
	F("gso_size", 176, 4, R, BPFVM_CTX_SCALAR),
	F("tstamp_type", 180, 1, RX, BPFVM_CTX_SCALAR),
	F("hwtstamp", 184, 8, RX, BPFVM_CTX_SCALAR),
};

/* struct __sk_buff for cgroup skb programs (cg_skb_is_valid_access, root). */
static const struct bpfvm_ctx_field skb_cgroup_fields[] = {
	F("len", 0, 4, R, BPFVM_CTX_SCALAR),
	F("pkt_type", 4, 4, R, BPFVM_CTX_SCALAR),
	F("mark", 8, 4, RW, BPFVM_CTX_SCALAR),
	F("queue_mapping", 12, 4, R, BPFVM_CTX_SCALAR),
	F("protocol", 16, 4, R, BPFVM_CTX_SCALAR),
	F("vlan_present", 20, 4, R, BPFVM_CTX_SCALAR),
	F("vlan_tci", 24, 4, R, BPFVM_CTX_SCALAR),
	F("vlan_proto", 28, 4, R, BPFVM_CTX_SCALAR),
	F("priority", 32, 4, RW, BPFVM_CTX_SCALAR),
	F("ingress_ifindex", 36, 4, R, BPFVM_CTX_SCALAR),
	F("ifindex", 40, 4, R, BPFVM_CTX_SCALAR),
	F("tc_index", 44, 4, R, BPFVM_CTX_SCALAR),
	F("cb", 48, 20, FREE_RW, BPFVM_CTX_SCALAR),
	F("hash", 68, 4, R, BPFVM_CTX_SCALAR),
	F("data", 76, 4, RX, BPFVM_CTX_PKT),
	F("data_end", 80, 4, RX, BPFVM_CTX_PKT_END),
	F("napi_id", 84, 4, R, BPFVM_CTX_SCALAR),
	F("gso_segs", 164, 4, R, BPFVM_CTX_SCALAR),
	F("gso_size", 176, 4, R, BPFVM_CTX_SCALAR),
};

/* struct xdp_md (xdp_is_valid_access): read only, 4-byte loads only. */
static const struct bpfvm_ctx_field xdp_fields[] = {
	F("data", 0, 4, RX, BPFVM_CTX_PKT),
	F("data_end", 4, 4, RX, BPFVM_CTX_PKT_END),
	F("data_meta", 8, 4, RX, BPFVM_CTX_PKT_META),
	F("ingress_ifindex", 12, 4, RX, BPFVM_CTX_SCALAR),
	F("rx_queue_index", 16, 4, RX, BPFVM_CTX_SCALAR),
};

/* struct pt_regs of x86-64 (21 registers), read only. */
static const struct bpfvm_ctx_field kprobe_fields[] = {
	F("regs", 0, 168, FREE_RO, BPFVM_CTX_SCALAR),
};

/* A tracepoint record after its 8-byte common header (PERF_MAX_TRACE_SIZE). */
static const struct bpfvm_ctx_field tracepoint_fields[] = {
	F("record", 8, 8192 - 8, FREE_RO, BPFVM_CTX_SCALAR),
};

/* Raw tracepoint arguments: up to 12 u64 (MAX_BPF_FUNC_ARGS). */
static const struct bpfvm_ctx_field raw_tp_fields[] = {
	F("args", 0, 96, FREE_RO, BPFVM_CTX_SCALAR),
};

#undef F
#define FIELDS(a) a, sizeof(a) / sizeof(a[0])

static const struct bpfvm_progtype progtypes[] = {
	{BPFVM_PROG_RAW, "raw", NULL, 0, 0, 0, 1, 1, 0, 0, 0, NULL},
	{BPFVM_PROG_SOCKET_FILTER, "socket_filter", FIELDS(skb_filter_fields), 192, 1, 0, 0, 0, 0, 0, NULL},
	{BPFVM_PROG_KPROBE, "kprobe", FIELDS(kprobe_fields), 168, 0, 0, 0, 0, 0, 0, NULL},
	{BPFVM_PROG_SCHED_CLS, "sched_cls", FIELDS(skb_tc_fields), 192, 1, 1, 0, 0, 0, 0, NULL},
	{BPFVM_PROG_SCHED_ACT, "sched_act", FIELDS(skb_tc_fields), 192, 1, 1, 0, 0, 0, 0, NULL},
	{BPFVM_PROG_TRACEPOINT, "tracepoint", FIELDS(tracepoint_fields), 8192, 0, 0, 0, 0, 0, 0, NULL},
	{BPFVM_PROG_XDP, "xdp", FIELDS(xdp_fields), 24, 0, 1, 0, 0, 0, 0, NULL},
	{BPFVM_PROG_CGROUP_SKB_, "cgroup_skb", FIELDS(skb_cgroup_fields), 192, 0, 0, 0, 1, 0, 1, NULL},
	{BPFVM_PROG_RAW_TRACEPOINT, "raw_tracepoint", FIELDS(raw_tp_fields), 96, 0, 0, 0, 0, 0, 0, NULL},
};
#define NPROGTYPES (sizeof(progtypes) / sizeof(progtypes[0]))

const struct bpfvm_progtype *bpfvm__progtype(enum bpfvm_prog_type type)
{
	for (size_t i = 0; i < NPROGTYPES; i++)
		if (progtypes[i].type == type)
			return &progtypes[i];
	return NULL;
}

const struct bpfvm_progtype *bpfvm__progtype_by_name(const char *name)
{
	for (size_t i = 0; i < NPROGTYPES; i++)
		if (!strcmp(progtypes[i].name, name))
			return &progtypes[i];
	return NULL;
}

const struct bpfvm_progtype *bpfvm__progtypes(size_t *n)
{
	*n = NPROGTYPES;
	return progtypes;
}

static int is_pow2_size(int size)
{
	return size == 1 || size == 2 || size == 4 || size == 8;
}

/* The rules of the kernel's *_is_valid_access: the access is aligned to its
 * own size, stays inside one field, and uses a width the field allows. */
int bpfvm__progtype_ctx_access(const struct bpfvm_progtype *pt, int off, int size, int write,
			       struct bpfvm_ctx_access *out)
{
	if (pt->ctx_access)
		return pt->ctx_access(pt, off, size, write, out);
	if (off < 0 || !is_pow2_size(size) || off % size)
		return 0;
	for (size_t i = 0; i < pt->nfields; i++) {
		const struct bpfvm_ctx_field *f = &pt->fields[i];
		if (off < f->off || off >= f->off + f->size)
			continue;
		if (off + size > f->off + f->size)
			return 0;
		if (write ? !f->writable : !f->readable)
			return 0;
		if (f->narrow_read == 2) {
			/* any aligned width inside the field */
		} else if (write || f->exact_size) {
			if (size != f->size)
				return 0;
		} else if (size > f->size || size > 4) {
			return 0;
		}
		out->kind = (enum bpfvm_ctx_field_kind)f->kind;
		out->field = f;
		return 1;
	}
	return 0;
}
