/* Test runs: contexts built as the kernel's BPF_PROG_TEST_RUN builds them.
 * Every CHECK_SAME also runs the program through the live kernel when we
 * may (root) and requires identical status, retval, data_out and ctx_out;
 * the explicit CHECKs hold the values measured on Linux 6.18. */
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>

#include "testrun/tr_util.h"

static uint8_t pkt[4096];
static struct tr_result res;

static struct bpfvm_test_run_opts pkt_opts(size_t len)
{
	struct bpfvm_test_run_opts o = {.data_in = pkt, .data_size_in = (uint32_t)len};
	o.data_out = (void *)1; /* tr_* supply the buffer */
	return o;
}

/* r0 = ctx->data_end - ctx->data (XDP offsets 0 and 4). */
static const struct bpfvm_insn xdp_len[] = {
	LDX_W(2, 1, 0), LDX_W(0, 1, 4), SUB64_REG(0, 2), EXIT(),
};

TEST(xdp_sees_the_whole_frame_between_data_and_data_end)
{
	tr_udp4(pkt, 60, tr_mac_other);
	struct bpfvm_test_run_opts o = pkt_opts(60);
	CHECK_SAME(BPFVM_PROG_XDP, xdp_len, &o, &res);
	CHECK_EQ(res.rc, 0);
	CHECK_EQ(res.retval, 60);
	CHECK_EQ(res.data_size_out, 60);
	CHECK(memcmp(res.data_out, pkt, 60) == 0);
}

TEST(xdp_ingress_ifindex_is_loopback_and_rx_queue_zero)
{
	const struct bpfvm_insn ing[] = {LDX_W(0, 1, offsetof(struct xdp_md, ingress_ifindex)), EXIT()};
	const struct bpfvm_insn rxq[] = {LDX_W(0, 1, offsetof(struct xdp_md, rx_queue_index)), EXIT()};
	tr_udp4(pkt, 60, tr_mac_other);
	struct bpfvm_test_run_opts o = pkt_opts(60);
	CHECK_SAME(BPFVM_PROG_XDP, ing, &o, &res);
	CHECK_EQ(res.retval, 1);
	CHECK_SAME(BPFVM_PROG_XDP, rxq, &o, &res);
	CHECK_EQ(res.retval, 0);
	/* A ctx_in with ingress_ifindex 0 still sees the loopback; ctx_out
	 * keeps the 0 the caller gave. */
	struct xdp_md md = {.data_end = 60};
	o.ctx_in = &md;
	o.ctx_size_in = sizeof(md);
	o.ctx_out = (void *)1;
	CHECK_SAME(BPFVM_PROG_XDP, ing, &o, &res);
	CHECK_EQ(res.retval, 1);
	CHECK_EQ(((struct xdp_md *)res.ctx_out)->ingress_ifindex, 0);
}

TEST(xdp_ctx_in_data_is_the_metadata_length)
{
	/* r0 = data - data_meta */
	const struct bpfvm_insn meta[] = {LDX_W(2, 1, 8), LDX_W(0, 1, 0), SUB64_REG(0, 2), EXIT()};
	tr_udp4(pkt, 100, tr_mac_other);
	struct xdp_md md = {.data = 16, .data_end = 100};
	struct bpfvm_test_run_opts o = pkt_opts(100);
	o.ctx_in = &md;
	o.ctx_size_in = sizeof(md);
	o.ctx_out = (void *)1;
	CHECK_SAME(BPFVM_PROG_XDP, meta, &o, &res);
	CHECK_EQ(res.retval, 16);
	CHECK_SAME(BPFVM_PROG_XDP, xdp_len, &o, &res);
	CHECK_EQ(res.retval, 84);
	CHECK_EQ(res.data_size_out, 100);
	struct xdp_md *out = (struct xdp_md *)res.ctx_out;
	CHECK_EQ(out->data, 16);
	CHECK_EQ(out->data_end, 100);
}

TEST(xdp_rejects_bad_ctx_in_like_the_kernel)
{
	tr_udp4(pkt, 60, tr_mac_other);
	struct bpfvm_test_run_opts o = pkt_opts(60);
	struct xdp_md md;
	o.ctx_in = &md;
	o.ctx_size_in = sizeof(md);
	const struct xdp_md bad[] = {
		{.data_end = 60, .data_meta = 4},        /* data_meta must be 0 */
		{.data_end = 60, .egress_ifindex = 1},   /* no egress */
		{.data_end = 61},                        /* beyond the data */
		{.data_end = 60, .data = 6},             /* metadata not 4-aligned */
		{.data_end = 60, .data = 48},            /* leaves < 14 bytes of packet */
		{.data_end = 60, .rx_queue_index = 1},   /* queue without a device */
	};
	for (size_t i = 0; i < NINSNS(bad); i++) {
		md = bad[i];
		CHECK_SAME(BPFVM_PROG_XDP, xdp_len, &o, &res);
		CHECK_EQ(res.rc, -EINVAL);
	}
	/* A longer ctx_in needs a zero tail. */
	uint8_t big[40] = {0};
	((struct xdp_md *)big)->data_end = 60;
	o.ctx_in = big;
	o.ctx_size_in = sizeof(big);
	CHECK_SAME(BPFVM_PROG_XDP, xdp_len, &o, &res);
	CHECK_EQ(res.rc, 0);
	big[30] = 1;
	CHECK_SAME(BPFVM_PROG_XDP, xdp_len, &o, &res);
	CHECK_EQ(res.rc, -E2BIG);
}

TEST(xdp_packet_sizes_from_14_bytes_to_one_frame)
{
	tr_udp4(pkt, 3520, tr_mac_other);
	struct bpfvm_test_run_opts o = pkt_opts(13);
	CHECK_SAME(BPFVM_PROG_XDP, xdp_len, &o, &res);
	CHECK_EQ(res.rc, -EINVAL);
	o = pkt_opts(14);
	CHECK_SAME(BPFVM_PROG_XDP, xdp_len, &o, &res);
	CHECK_EQ(res.retval, 14);
	o = pkt_opts(3520);
	CHECK_SAME(BPFVM_PROG_XDP, xdp_len, &o, &res);
	CHECK_EQ(res.retval, 3520);
}

TEST(xdp_bytes_past_the_frame_go_to_fragments)
{
	static uint8_t big[20000];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 13 + i / 256);
	tr_udp4(big, 60, tr_mac_other);
	/* r0 = xdp_get_buff_len() << 16 | (data_end - data) */
	const struct bpfvm_insn p[] = {
		LDX_W(2, 1, 0), LDX_W(7, 1, 4), SUB64_REG(7, 2), CALL(BPF_FUNC_xdp_get_buff_len),
		I(BPF_ALU64 | BPF_LSH | BPF_K, 0, 0, 0, 16), ADD64_REG(0, 7), EXIT(),
	};
	const uint32_t sizes[] = {3521, 5000, 7617, 20000};
	for (size_t i = 0; i < NINSNS(sizes); i++) {
		struct bpfvm_test_run_opts o = {.data_in = big, .data_size_in = sizes[i],
						.data_out = (void *)1};
		CHECK_SAME(BPFVM_PROG_XDP, p, &o, &res);
		/* data_out holds 4096 bytes: 5000 is cut (the frame's part
		 * gives way to the fragments); when not even the fragments
		 * fit, the kernel reports no size and no retval. */
		if (sizes[i] <= 4096) {
			CHECK_EQ(res.rc, 0);
			CHECK(memcmp(res.data_out, big, sizes[i]) == 0);
		} else {
			CHECK_EQ(res.rc, -ENOSPC);
		}
		if (sizes[i] - 3520 <= 4096) {
			CHECK_EQ(res.retval, sizes[i] << 16 | 3520);
			CHECK_EQ(res.data_size_out, sizes[i]);
		} else {
			CHECK_EQ(res.retval, 0);
		}
	}
	/* with room for everything */
	static uint8_t out[20000];
	struct bpfvm_vm *vm;
	struct bpfvm_prog *prog;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	struct bpfvm_prog_opts po = {.type = BPFVM_PROG_XDP, .safety = BPFVM_SAFETY_CHECKED};
	CHECK_EQ(bpfvm_prog_load(vm, p, NINSNS(p), &po, &prog), 0);
	struct bpfvm_test_run_opts all = {.data_in = big, .data_size_in = 20000, .data_out = out,
					  .data_size_out = sizeof(out)};
	CHECK_EQ(bpfvm_prog_test_run(prog, &all), 0);
	CHECK_EQ(all.retval, 20000u << 16 | 3520);
	CHECK(memcmp(out, big, sizeof(out)) == 0);
	all.data_size_in = 3520 + 17 * 4096 + 1; /* more than 17 fragments */
	static uint8_t huge[3520 + 17 * 4096 + 1];
	all.data_in = huge;
	CHECK_EQ(bpfvm_prog_test_run(prog, &all), -ENOMEM);
	bpfvm_vm_destroy(vm);
	/* ctx_in data_end below the size: the rest is in fragments */
	struct xdp_md md = {.data = 8, .data_end = 40};
	struct bpfvm_test_run_opts o = {.data_in = big, .data_size_in = 100, .data_out = (void *)1,
					.ctx_in = &md, .ctx_size_in = sizeof(md), .ctx_out = (void *)1};
	CHECK_SAME(BPFVM_PROG_XDP, p, &o, &res);
	CHECK_EQ(res.retval, 92u << 16 | 32);
	CHECK_EQ(res.data_size_out, 100);
	CHECK(memcmp(res.data_out, big, 100) == 0);
	CHECK_EQ(((struct xdp_md *)res.ctx_out)->data_end, 40);
}

/* r0 = bpf_xdp_adjust_*(ctx, delta) */
static void adjust(int helper, int delta, size_t len, struct tr_result *r)
{
	const struct bpfvm_insn p[] = {MOV64_IMM(2, delta), CALL(helper), EXIT()};
	struct bpfvm_test_run_opts o = pkt_opts(len);
	o.ctx_out = (void *)1;
	struct xdp_md md = {.data_end = (uint32_t)len};
	o.ctx_in = &md;
	o.ctx_size_in = sizeof(md);
	CHECK_SAME(BPFVM_PROG_XDP, p, &o, r);
}

TEST(xdp_adjust_head_bounds_are_the_kernels)
{
	tr_udp4(pkt, 60, tr_mac_other);
	adjust(BPF_FUNC_xdp_adjust_head, -216, 60, &res); /* headroom minus struct xdp_frame */
	CHECK_EQ(res.retval, 0);
	CHECK_EQ(res.data_size_out, 276);
	CHECK_EQ(((struct xdp_md *)res.ctx_out)->data_end, 276);
	adjust(BPF_FUNC_xdp_adjust_head, -217, 60, &res);
	CHECK_EQ(res.retval, (uint32_t)-EINVAL);
	adjust(BPF_FUNC_xdp_adjust_head, 46, 60, &res); /* keeps an Ethernet header */
	CHECK_EQ(res.retval, 0);
	CHECK_EQ(res.data_size_out, 14);
	CHECK(memcmp(res.data_out, pkt + 46, 14) == 0);
	adjust(BPF_FUNC_xdp_adjust_head, 47, 60, &res);
	CHECK_EQ(res.retval, (uint32_t)-EINVAL);
}

TEST(xdp_adjust_tail_bounds_and_zeroed_growth)
{
	tr_udp4(pkt, 60, tr_mac_other);
	adjust(BPF_FUNC_xdp_adjust_tail, 3460, 60, &res);
	CHECK_EQ(res.retval, 0);
	CHECK_EQ(res.data_size_out, 3520);
	CHECK(res.data_out[60] == 0 && res.data_out[3519] == 0);
	adjust(BPF_FUNC_xdp_adjust_tail, 3461, 60, &res);
	CHECK_EQ(res.retval, (uint32_t)-EINVAL);
	adjust(BPF_FUNC_xdp_adjust_tail, -46, 60, &res);
	CHECK_EQ(res.retval, 0);
	CHECK_EQ(res.data_size_out, 14);
	adjust(BPF_FUNC_xdp_adjust_tail, -47, 60, &res);
	CHECK_EQ(res.retval, (uint32_t)-EINVAL);
}

TEST(xdp_adjust_meta_alignment_and_bounds)
{
	tr_udp4(pkt, 60, tr_mac_other);
	adjust(BPF_FUNC_xdp_adjust_meta, -216, 60, &res);
	CHECK_EQ(res.retval, 0);
	CHECK_EQ(((struct xdp_md *)res.ctx_out)->data, 216);
	CHECK_EQ(res.data_size_out, 276);
	adjust(BPF_FUNC_xdp_adjust_meta, -220, 60, &res);
	CHECK_EQ(res.retval, (uint32_t)-EINVAL);
	adjust(BPF_FUNC_xdp_adjust_meta, -6, 60, &res);
	CHECK_EQ(res.retval, (uint32_t)-EACCES);
	adjust(BPF_FUNC_xdp_adjust_meta, 4, 60, &res);
	CHECK_EQ(res.retval, (uint32_t)-EINVAL);
}

TEST(xdp_adjust_head_moves_the_metadata_along)
{
	/* meta 8 bytes from ctx_in, then adjust_head(-4): data_out is the
	 * metadata, 4 zero bytes... no: the metadata moves down by 4, the
	 * packet gains 4 headroom bytes in front. */
	for (int i = 0; i < 68; i++)
		pkt[i] = (uint8_t)(0xa0 + i);
	const struct bpfvm_insn p[] = {MOV64_IMM(2, -4), CALL(BPF_FUNC_xdp_adjust_head), EXIT()};
	struct xdp_md md = {.data = 8, .data_end = 68};
	struct bpfvm_test_run_opts o = pkt_opts(68);
	o.ctx_in = &md;
	o.ctx_size_in = sizeof(md);
	o.ctx_out = (void *)1;
	CHECK_SAME(BPFVM_PROG_XDP, p, &o, &res);
	CHECK_EQ(res.retval, 0);
	CHECK_EQ(res.data_size_out, 72);
	CHECK(memcmp(res.data_out, pkt, 8) == 0);      /* metadata first */
	CHECK(memcmp(res.data_out + 12, pkt + 8, 60) == 0);
	CHECK_EQ(((struct xdp_md *)res.ctx_out)->data, 8);
}

TEST(xdp_repeat_runs_share_the_packet)
{
	/* Each run increments byte 20 of the packet. */
	const struct bpfvm_insn p[] = {
		MOV64_IMM(0, 2), LDX_W(2, 1, 0), LDX_W(3, 1, 4), MOV64_REG(4, 2), ADD64_IMM(4, 21),
		JGT_REG(4, 3, 3), LDX_B(5, 2, 20), ADD64_IMM(5, 1), STX_B(2, 5, 20), EXIT(),
	};
	tr_udp4(pkt, 60, tr_mac_other);
	struct bpfvm_test_run_opts o = pkt_opts(60);
	o.repeat = 7;
	CHECK_SAME(BPFVM_PROG_XDP, p, &o, &res);
	CHECK_EQ(res.retval, 2);
	CHECK_EQ(res.data_out[20], (uint8_t)(pkt[20] + 7));
}

/* A reused runner clears only the headroom earlier runs reached, but a
 * program must still find it zero, as in the kernel's fresh buffer. The
 * program moves data down by packet byte 14, reads 8 bytes there, writes
 * 0xff over them and moves back; r0 = what it read. */
TEST(reused_runner_shows_a_zero_headroom_after_writes_and_metadata)
{
	const struct bpfvm_insn p[] = {
		MOV64_REG(6, 1), LDX_W(2, 6, 0), LDX_W(3, 6, 4), MOV64_REG(4, 2), ADD64_IMM(4, 15),
		JGT_REG(4, 3, 17), LDX_B(8, 2, 14),
		MOV64_REG(1, 6), MOV64_IMM(2, 0), SUB64_REG(2, 8), CALL(BPF_FUNC_xdp_adjust_head),
		JNE_IMM(0, 0, 12),
		LDX_W(2, 6, 0), LDX_W(3, 6, 4), MOV64_REG(4, 2), ADD64_IMM(4, 8), JGT_REG(4, 3, 7),
		LDX_DW(7, 2, 0), MOV64_IMM(5, -1), I(BPF_STX | BPF_MEM | BPF_DW, 2, 5, 0, 0),
		MOV64_REG(1, 6), MOV64_REG(2, 8), CALL(BPF_FUNC_xdp_adjust_head),
		MOV64_REG(0, 7), EXIT(),
		MOV64_IMM(0, 12345), EXIT(),
	};
	struct bpfvm_vm *vm;
	struct bpfvm_prog *prog;
	struct bpfvm_test_runner *r;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	struct bpfvm_prog_opts po = {.name = "t", .type = BPFVM_PROG_XDP, .safety = BPFVM_SAFETY_CHECKED};
	CHECK_EQ(bpfvm_prog_load(vm, p, NINSNS(p), &po, &prog), 0);
	CHECK_EQ(bpfvm_test_runner_create(prog, &r), 0);
	uint8_t in[8 + 64];
	const struct { uint8_t delta; uint32_t meta; uint32_t want; } runs[] = {
		{200, 0, 0}, {200, 0, 0}, {8, 8, 0xaaaaaaaau}, {8, 0, 0}, {16, 0, 0}, {200, 0, 0},
	};
	for (size_t i = 0; i < NINSNS(runs); i++) {
		memset(in, 0xaa, runs[i].meta);
		tr_udp4(in + runs[i].meta, 64, tr_mac_other);
		in[runs[i].meta + 14] = runs[i].delta;
		struct xdp_md md = {.data = runs[i].meta, .data_end = runs[i].meta + 64};
		struct bpfvm_test_run_opts o = {.data_in = in, .data_size_in = runs[i].meta + 64,
						.ctx_in = runs[i].meta ? &md : NULL,
						.ctx_size_in = runs[i].meta ? sizeof(md) : 0};
		CHECK_EQ(bpfvm_test_runner_run(r, &o), 0);
		if (o.retval != runs[i].want)
			harness_fail(__FILE__, __LINE__, "run %zu: read 0x%x, want 0x%x", i, o.retval,
				     runs[i].want);
	}
	bpfvm_test_runner_destroy(r);
	bpfvm_vm_destroy(vm);
}

/* ---- sk_buff ------------------------------------------------------------------ */

static void skb_field(enum bpfvm_prog_type type, size_t off, size_t len, struct tr_result *r)
{
	const struct bpfvm_insn p[] = {LDX_W(0, 1, (int16_t)off), EXIT()};
	struct bpfvm_test_run_opts o = pkt_opts(len);
	CHECK_SAME(type, p, &o, r);
}

TEST(socket_filter_sees_the_packet_after_the_ethernet_header)
{
	tr_udp4(pkt, 60, tr_mac_other);
	skb_field(BPFVM_PROG_SOCKET_FILTER, offsetof(struct __sk_buff, len), 60, &res);
	CHECK_EQ(res.retval, 46);
	skb_field(BPFVM_PROG_SOCKET_FILTER, offsetof(struct __sk_buff, protocol), 60, &res);
	CHECK_EQ(res.retval, 0x0008); /* htons(ETH_P_IP) */
	skb_field(BPFVM_PROG_SOCKET_FILTER, offsetof(struct __sk_buff, pkt_type), 60, &res);
	CHECK_EQ(res.retval, 3);      /* PACKET_OTHERHOST */
	skb_field(BPFVM_PROG_SOCKET_FILTER, offsetof(struct __sk_buff, ifindex), 60, &res);
	CHECK_EQ(res.retval, 1);
	/* LD_ABS 0 is the first byte of the IPv4 header, 9 its protocol. */
	const struct bpfvm_insn ld[] = {MOV64_REG(6, 1), LD_ABS_B(9), EXIT()};
	struct bpfvm_test_run_opts o = pkt_opts(60);
	CHECK_SAME(BPFVM_PROG_SOCKET_FILTER, ld, &o, &res);
	CHECK_EQ(res.retval, 17);
	const struct bpfvm_insn ldw[] = {MOV64_REG(6, 1), LD_ABS_W(12), EXIT()};
	CHECK_SAME(BPFVM_PROG_SOCKET_FILTER, ldw, &o, &res);
	CHECK_EQ(res.retval, 0x0a000001);
	/* Out of range: the program ends with 0. */
	const struct bpfvm_insn far[] = {MOV64_REG(6, 1), MOV64_IMM(0, 5), LD_ABS_B(46), EXIT()};
	CHECK_SAME(BPFVM_PROG_SOCKET_FILTER, far, &o, &res);
	CHECK_EQ(res.retval, 0);
}

TEST(socket_filter_data_out_has_a_zeroed_ethernet_header)
{
	const struct bpfvm_insn p[] = {MOV64_IMM(0, 0xffff), EXIT()};
	tr_udp4(pkt, 60, tr_mac_other);
	struct bpfvm_test_run_opts o = pkt_opts(60);
	CHECK_SAME(BPFVM_PROG_SOCKET_FILTER, p, &o, &res);
	CHECK_EQ(res.data_size_out, 60);
	static const uint8_t zero[14];
	CHECK(memcmp(res.data_out, zero, 14) == 0);
	CHECK(memcmp(res.data_out + 14, pkt + 14, 46) == 0);
}

TEST(pkt_type_follows_the_destination_mac_on_loopback)
{
	const uint8_t host[6] = {0}, mcast[6] = {0x01, 0, 0x5e, 0, 0, 1},
		      bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	const struct { const uint8_t *mac; uint32_t type; } cases[] = {
		{host, 0}, {mcast, 2}, {bcast, 2}, {tr_mac_other, 3},
	};
	for (size_t i = 0; i < NINSNS(cases); i++) {
		tr_udp4(pkt, 60, cases[i].mac);
		skb_field(BPFVM_PROG_SCHED_CLS, offsetof(struct __sk_buff, pkt_type), 60, &res);
		CHECK_EQ(res.retval, cases[i].type);
	}
}

TEST(tc_sees_the_frame_from_the_ethernet_header)
{
	tr_udp4(pkt, 60, tr_mac_other);
	skb_field(BPFVM_PROG_SCHED_CLS, offsetof(struct __sk_buff, len), 60, &res);
	CHECK_EQ(res.retval, 60);
	const struct bpfvm_insn dl[] = {
		LDX_W(2, 1, offsetof(struct __sk_buff, data)),
		LDX_W(0, 1, offsetof(struct __sk_buff, data_end)), SUB64_REG(0, 2), EXIT(),
	};
	struct bpfvm_test_run_opts o = pkt_opts(60);
	CHECK_SAME(BPFVM_PROG_SCHED_CLS, dl, &o, &res);
	CHECK_EQ(res.retval, 60);
	const struct bpfvm_insn et[] = {MOV64_REG(6, 1), LD_ABS_H(12), EXIT()};
	CHECK_SAME(BPFVM_PROG_SCHED_ACT, et, &o, &res);
	CHECK_EQ(res.retval, 0x0800);
	CHECK(memcmp(res.data_out, pkt, 60) == 0);
	/* wire_len is 0 without a ctx_in, the length with one. */
	skb_field(BPFVM_PROG_SCHED_CLS, offsetof(struct __sk_buff, wire_len), 60, &res);
	CHECK_EQ(res.retval, 0);
	struct __sk_buff c = {0};
	const struct bpfvm_insn wl[] = {LDX_W(0, 1, offsetof(struct __sk_buff, wire_len)), EXIT()};
	o.ctx_in = &c;
	o.ctx_size_in = sizeof(c);
	CHECK_SAME(BPFVM_PROG_SCHED_CLS, wl, &o, &res);
	CHECK_EQ(res.retval, 60);
}

TEST(skb_ctx_in_fields_reach_the_program_and_ctx_out)
{
	/* mark += cb[0]; priority = 77; return mark */
	const struct bpfvm_insn p[] = {
		LDX_W(2, 1, offsetof(struct __sk_buff, mark)),
		LDX_W(3, 1, offsetof(struct __sk_buff, cb)), ADD64_REG(2, 3),
		STX_W(1, 2, offsetof(struct __sk_buff, mark)),
		ST_W(1, offsetof(struct __sk_buff, priority), 77),
		ST_W(1, offsetof(struct __sk_buff, cb) + 8, 5),
		MOV64_REG(0, 2), EXIT(),
	};
	tr_udp4(pkt, 60, tr_mac_other);
	struct __sk_buff c = {.mark = 40, .cb = {2}, .ingress_ifindex = 9, .tstamp = 1234,
			      .gso_segs = 3, .gso_size = 100, .hwtstamp = 5, .wire_len = 80};
	struct bpfvm_test_run_opts o = pkt_opts(60);
	o.ctx_in = &c;
	o.ctx_size_in = sizeof(c);
	o.ctx_out = (void *)1;
	CHECK_SAME(BPFVM_PROG_SCHED_CLS, p, &o, &res);
	CHECK_EQ(res.retval, 42);
	const struct __sk_buff *out = (const struct __sk_buff *)res.ctx_out;
	CHECK_EQ(out->mark, 42);
	CHECK_EQ(out->priority, 77);
	CHECK_EQ(out->cb[2], 5);
	CHECK_EQ(out->ifindex, 1);
	CHECK_EQ(out->ingress_ifindex, 9);
	CHECK_EQ(out->wire_len, 80);
	CHECK_EQ(out->len, 0); /* not written back */
	/* socket filters: wire_len is the pulled length */
	const struct bpfvm_insn r0[] = {MOV64_IMM(0, 0), EXIT()};
	struct __sk_buff c2 = {0};
	o.ctx_in = &c2;
	CHECK_SAME(BPFVM_PROG_SOCKET_FILTER, r0, &o, &res);
	CHECK_EQ(((const struct __sk_buff *)res.ctx_out)->wire_len, 46);
}

TEST(skb_rejects_bad_input_like_the_kernel)
{
	const struct bpfvm_insn r0[] = {MOV64_IMM(0, 0), EXIT()};
	tr_udp4(pkt, 60, tr_mac_other);
	struct bpfvm_test_run_opts o = pkt_opts(33); /* IPv4 shorter than its header */
	CHECK_SAME(BPFVM_PROG_SOCKET_FILTER, r0, &o, &res);
	CHECK_EQ(res.rc, -EINVAL);
	o = pkt_opts(34);
	CHECK_SAME(BPFVM_PROG_SOCKET_FILTER, r0, &o, &res);
	CHECK_EQ(res.rc, 0);
	pkt[12] = 0x88, pkt[13] = 0xb5; /* any other EtherType: 14 bytes are enough */
	o = pkt_opts(14);
	CHECK_SAME(BPFVM_PROG_SCHED_CLS, r0, &o, &res);
	CHECK_EQ(res.rc, 0);
	o = pkt_opts(3713);
	CHECK_SAME(BPFVM_PROG_SCHED_CLS, r0, &o, &res);
	CHECK_EQ(res.rc, -EINVAL);
	tr_udp4(pkt, 60, tr_mac_other);
	o = pkt_opts(60);
	struct __sk_buff c = {.len = 5};
	o.ctx_in = &c;
	o.ctx_size_in = sizeof(c);
	CHECK_SAME(BPFVM_PROG_SCHED_CLS, r0, &o, &res);
	CHECK_EQ(res.rc, -EINVAL);
	c = (struct __sk_buff){.wire_len = 10}; /* below the length */
	CHECK_SAME(BPFVM_PROG_SCHED_CLS, r0, &o, &res);
	CHECK_EQ(res.rc, -EINVAL);
	/* ctx_out too small: -ENOSPC, the size says how much there was */
	c = (struct __sk_buff){0};
	o.ctx_out = (void *)1;
	o.ctx_size_out = 8;
	CHECK_SAME(BPFVM_PROG_SCHED_CLS, r0, &o, &res);
	CHECK_EQ(res.rc, -ENOSPC);
	CHECK_EQ(res.ctx_size_out, sizeof(struct __sk_buff));
}

TEST(data_out_too_small_is_enospc_with_the_full_size)
{
	const struct bpfvm_insn r2[] = {MOV64_IMM(0, 2), EXIT()};
	tr_udp4(pkt, 60, tr_mac_other);
	struct bpfvm_test_run_opts o = pkt_opts(60);
	o.data_size_out = 10;
	CHECK_SAME(BPFVM_PROG_XDP, r2, &o, &res);
	CHECK_EQ(res.rc, -ENOSPC);
	CHECK_EQ(res.data_size_out, 60);
	CHECK_EQ(res.retval, 2);
	CHECK(memcmp(res.data_out, pkt, 10) == 0);
}

/* ---- tracing and raw memory -------------------------------------------------------- */

static int run_ctx(enum bpfvm_prog_type type, const struct bpfvm_insn *p, size_t n,
		   struct bpfvm_test_run_opts *o)
{
	struct bpfvm_vm *vm;
	struct bpfvm_prog *prog;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	struct bpfvm_prog_opts po = {.type = type, .safety = BPFVM_SAFETY_CHECKED};
	int rc = bpfvm_prog_load(vm, p, n, &po, &prog);
	if (!rc)
		rc = bpfvm_prog_test_run(prog, o);
	bpfvm_vm_destroy(vm);
	return rc;
}

TEST(kprobe_reads_pt_regs_parm1_from_di)
{
	uint64_t regs[21] = {0};
	regs[14] = 0x1122334455ull; /* di: PT_REGS_PARM1 */
	const struct bpfvm_insn p[] = {LDX_DW(0, 1, 14 * 8), EXIT()};
	struct bpfvm_test_run_opts o = {.ctx_in = regs, .ctx_size_in = sizeof(regs)};
	CHECK_EQ(run_ctx(BPFVM_PROG_KPROBE, p, NINSNS(p), &o), 0);
	CHECK_EQ(o.retval64, 0x1122334455ull);
	CHECK_EQ(o.retval, 0x22334455u);
	o.data_in = regs; /* kprobes take no packet */
	o.data_size_in = 8;
	CHECK_EQ(run_ctx(BPFVM_PROG_KPROBE, p, NINSNS(p), &o), -EINVAL);
}

TEST(raw_tracepoint_reads_its_u64_arguments)
{
	uint64_t args[3] = {7, 8, 9};
	const struct bpfvm_insn p[] = {LDX_DW(0, 1, 16), EXIT()};
	struct bpfvm_test_run_opts o = {.ctx_in = args, .ctx_size_in = sizeof(args)};
	CHECK_EQ(run_ctx(BPFVM_PROG_RAW_TRACEPOINT, p, NINSNS(p), &o), 0);
	CHECK_EQ(o.retval, 9);
	uint64_t many[13] = {0};
	o.ctx_in = many;
	o.ctx_size_in = sizeof(many);
	CHECK_EQ(run_ctx(BPFVM_PROG_RAW_TRACEPOINT, p, NINSNS(p), &o), -EINVAL);
	CHECK_CONTAINS(o.error, "at most 12");
}

TEST(raw_tracepoint_test_run_matches_the_kernel)
{
	uint64_t args[4] = {7, 8, 0x100000009ull, 3};
	/* r0 = args[2] + args[0] */
	const struct bpfvm_insn p[] = {LDX_DW(0, 1, 16), LDX_DW(2, 1, 0), ADD64_REG(0, 2), EXIT()};
	struct bpfvm_test_run_opts o = {.ctx_in = args, .ctx_size_in = sizeof(args)};
	CHECK_SAME(BPFVM_PROG_RAW_TRACEPOINT, p, &o, &res);
	CHECK_EQ(res.rc, 0);
	CHECK_EQ(res.retval, 16); /* the kernel reports 32 bits */
	uint64_t many[13] = {0};
	o.ctx_in = many;
	o.ctx_size_in = sizeof(many);
	CHECK_SAME(BPFVM_PROG_RAW_TRACEPOINT, p, &o, &res);
	CHECK_EQ(res.rc, -EINVAL);
}

TEST(tracepoint_reads_its_record)
{
	uint8_t rec[16] = {0};
	rec[8] = 42;
	const struct bpfvm_insn p[] = {LDX_B(0, 1, 8), EXIT()};
	struct bpfvm_test_run_opts o = {.ctx_in = rec, .ctx_size_in = sizeof(rec)};
	CHECK_EQ(run_ctx(BPFVM_PROG_TRACEPOINT, p, NINSNS(p), &o), 0);
	CHECK_EQ(o.retval, 42);
}

TEST(raw_program_gets_memory_and_length_and_returns_it_changed)
{
	uint8_t mem[8] = {1, 2, 3, 4, 5, 6, 7, 8}, out[8];
	/* mem[0] = len; return mem[7] */
	const struct bpfvm_insn p[] = {STX_B(1, 2, 0), LDX_B(0, 1, 7), EXIT()};
	struct bpfvm_test_run_opts o = {.data_in = mem, .data_size_in = 8, .data_out = out,
					.data_size_out = sizeof(out)};
	CHECK_EQ(run_ctx(BPFVM_PROG_RAW, p, NINSNS(p), &o), 0);
	CHECK_EQ(o.retval, 8);
	CHECK_EQ(out[0], 8);
	CHECK_EQ(out[1], 2);
	CHECK_EQ(o.data_size_out, 8);
}

TEST(verdict_names)
{
	CHECK_STR(bpfvm_verdict_name(BPFVM_PROG_XDP, 3), "XDP_TX");
	CHECK_STR(bpfvm_verdict_name(BPFVM_PROG_SCHED_CLS, 7), "TC_ACT_REDIRECT");
	CHECK_STR(bpfvm_verdict_name(BPFVM_PROG_SCHED_CLS, (uint32_t)-1), "TC_ACT_UNSPEC");
	CHECK(bpfvm_verdict_name(BPFVM_PROG_XDP, 5) == NULL);
}

/* ---- safety and threads ------------------------------------------------------------- */

TEST(checked_mode_faults_past_data_end_and_allows_the_adjusted_head)
{
	struct bpfvm_vm *vm;
	struct bpfvm_prog *prog;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	/* r0 = *(u8 *)(data_end): one byte past the packet, no bounds check */
	const struct bpfvm_insn past[] = {LDX_W(2, 1, 4), LDX_B(0, 2, 0), EXIT()};
	struct bpfvm_prog_opts po = {.type = BPFVM_PROG_XDP, .safety = BPFVM_SAFETY_CHECKED};
	CHECK_EQ(bpfvm_prog_load(vm, past, NINSNS(past), &po, &prog), 0);
	tr_udp4(pkt, 60, tr_mac_other);
	struct bpfvm_test_run_opts o = {.data_in = pkt, .data_size_in = 60};
	CHECK_EQ(bpfvm_prog_test_run(prog, &o), -EFAULT);
	CHECK(o.error[0] != 0);
	/* adjust_head(-4), then write 0xab to the new first byte */
	const struct bpfvm_insn grow[] = {
		MOV64_REG(6, 1), MOV64_IMM(2, -4), CALL(BPF_FUNC_xdp_adjust_head),
		LDX_W(2, 6, 0), ST_B(2, 0, 0xab), MOV64_IMM(0, 2), EXIT(),
	};
	CHECK_EQ(bpfvm_prog_load(vm, grow, NINSNS(grow), &po, &prog), 0);
	uint8_t out[128];
	o = (struct bpfvm_test_run_opts){.data_in = pkt, .data_size_in = 60, .data_out = out,
					 .data_size_out = sizeof(out)};
	CHECK_EQ(bpfvm_prog_test_run(prog, &o), 0);
	CHECK_EQ(o.data_size_out, 64);
	CHECK_EQ(out[0], 0xab);
	CHECK(memcmp(out + 4, pkt, 60) == 0);
	bpfvm_vm_destroy(vm);
}

struct thread_arg {
	struct bpfvm_prog *prog;
	int seed;
	int failures;
};

/* Each thread has its own runner; results must not depend on the others. */
static void *runner_thread(void *p)
{
	struct thread_arg *a = p;
	struct bpfvm_test_runner *r;
	if (bpfvm_test_runner_create(a->prog, &r)) {
		a->failures++;
		return NULL;
	}
	uint8_t frame[200], out[256];
	for (int i = 0; i < 2000; i++) {
		size_t len = 42 + (size_t)((i * 7 + a->seed) % 150);
		tr_udp4(frame, len, tr_mac_other);
		struct bpfvm_test_run_opts o = {.data_in = frame, .data_size_in = (uint32_t)len,
						.data_out = out, .data_size_out = sizeof(out)};
		if (bpfvm_test_runner_run(r, &o) || o.retval != len || o.data_size_out != len ||
		    memcmp(out, frame, len))
			a->failures++;
	}
	bpfvm_test_runner_destroy(r);
	return NULL;
}

TEST(runners_on_many_threads_share_one_program)
{
	struct bpfvm_vm *vm;
	struct bpfvm_prog *prog;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	struct bpfvm_prog_opts po = {.type = BPFVM_PROG_XDP, .safety = BPFVM_SAFETY_CHECKED};
	CHECK_EQ(bpfvm_prog_load(vm, xdp_len, NINSNS(xdp_len), &po, &prog), 0);
	pthread_t th[4];
	struct thread_arg args[4];
	for (int i = 0; i < 4; i++) {
		args[i] = (struct thread_arg){.prog = prog, .seed = i * 13};
		CHECK_EQ(pthread_create(&th[i], NULL, runner_thread, &args[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		CHECK_EQ(args[i].failures, 0);
	}
	bpfvm_vm_destroy(vm);
}

TEST(frames_live_below_2_gib)
{
	/* The program sees the frame address in a 32-bit field: read it and
	 * check that it is the real address of a byte we wrote. */
	const struct bpfvm_insn p[] = {LDX_W(2, 1, 0), LDX_B(0, 2, 13), EXIT()};
	tr_udp4(pkt, 60, tr_mac_other);
	pkt[13] = 0x77;
	struct bpfvm_test_run_opts o = pkt_opts(60);
	o.data_out = NULL;
	struct bpfvm_vm *vm;
	struct bpfvm_prog *prog;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	struct bpfvm_prog_opts po = {.type = BPFVM_PROG_XDP, .safety = BPFVM_SAFETY_CHECKED};
	CHECK_EQ(bpfvm_prog_load(vm, p, NINSNS(p), &po, &prog), 0);
	CHECK_EQ(bpfvm_prog_test_run(prog, &o), 0);
	CHECK_EQ(o.retval, 0x77);
	bpfvm_vm_destroy(vm);
}

TEST(duration_is_the_average_per_run_unless_turned_off)
{
	struct bpfvm_vm *vm;
	struct bpfvm_prog *prog;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	/* a loop of 2000 iterations makes a run take measurable time */
	const struct bpfvm_insn p[] = {
		MOV64_IMM(0, 0), ADD64_IMM(0, 1), JNE_IMM(0, 2000, -2), EXIT(),
	};
	struct bpfvm_prog_opts po = {.type = BPFVM_PROG_XDP, .safety = BPFVM_SAFETY_CHECKED};
	CHECK_EQ(bpfvm_prog_load(vm, p, NINSNS(p), &po, &prog), 0);
	tr_udp4(pkt, 60, tr_mac_other);
	struct bpfvm_test_run_opts o = {.data_in = pkt, .data_size_in = 60, .repeat = 50};
	CHECK_EQ(bpfvm_prog_test_run(prog, &o), 0);
	CHECK_EQ(o.retval, 2000);
	CHECK(o.duration > 0);
	o.no_duration = 1;
	CHECK_EQ(bpfvm_prog_test_run(prog, &o), 0);
	CHECK_EQ(o.duration, 0);
	bpfvm_vm_destroy(vm);
}

static uint32_t next_rand(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8 | *s << 24;
}

/* Random ctx_in: which fields may be set, which values are refused, what
 * comes back in ctx_out: the kernel decides, bpfvm must agree. */
TEST(random_ctx_in_is_accepted_refused_and_returned_like_the_kernel)
{
	uint32_t seed = 2024;
	const struct bpfvm_insn r0[] = {MOV64_IMM(0, 1), EXIT()};
	tr_udp4(pkt, 60, tr_mac_other);
	for (int round = 0; round < 120; round++) {
		union {
			struct __sk_buff skb;
			struct xdp_md xdp;
			uint32_t w[64];
		} c;
		memset(&c, 0, sizeof(c));
		int xdp = round % 3 == 0;
		size_t words = (xdp ? sizeof(struct xdp_md) : sizeof(struct __sk_buff)) / 4;
		/* set one to three random words to small or random values */
		int nset = 1 + (int)(next_rand(&seed) % 3);
		for (int k = 0; k < nset; k++) {
			uint32_t w = next_rand(&seed) % words, v = next_rand(&seed);
			c.w[w] = v % 4 == 0 ? v : v % 97;
		}
		if (xdp && next_rand(&seed) % 2)
			c.xdp.data_end = 60;
		/* bpfvm has no devices: it takes any ifindex (documented), the
		 * kernel wants one that exists, so keep to the loopback's. */
		if (xdp) {
			c.xdp.ingress_ifindex = c.xdp.ingress_ifindex ? 1 : 0;
			c.xdp.rx_queue_index = 0;
		} else {
			c.skb.ifindex = c.skb.ifindex ? 1 : 0;
		}
		struct bpfvm_test_run_opts o = pkt_opts(60);
		o.ctx_in = &c;
		o.ctx_size_in = (uint32_t)(words * 4);
		o.ctx_out = (void *)1;
		enum bpfvm_prog_type t = xdp ? BPFVM_PROG_XDP
					     : round % 3 == 1 ? BPFVM_PROG_SCHED_CLS : BPFVM_PROG_SOCKET_FILTER;
		tr_check_same(__FILE__, __LINE__, t, r0, NINSNS(r0), &o, &res);
	}
}
