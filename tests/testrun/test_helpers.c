/* Packet helpers: the same programs run on bpfvm and (as root) on the
 * kernel must give the same retval and the same bytes out. */
#include <stddef.h>
#include <stdio.h>

#include "testrun/tr_util.h"

static uint8_t pkt[4096];
static struct tr_result res;

static struct bpfvm_test_run_opts pkt_opts(size_t len)
{
	struct bpfvm_test_run_opts o = {.data_in = pkt, .data_size_in = (uint32_t)len};
	o.data_out = (void *)1;
	return o;
}

static uint32_t next_rand(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8 | *s << 24;
}

/* The IPv4 header checksum of the frame at p verifies (sums to 0xffff). */
static int ipv4_csum_ok(const uint8_t *p)
{
	uint32_t sum = 0;
	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)(p[14 + i] << 8 | p[15 + i]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff;
}

TEST(csum_diff_matches_the_kernel_on_random_inputs)
{
	uint32_t seed = 12345;
	tr_udp4(pkt, 60, tr_mac_other);
	for (int round = 0; round < 40; round++) {
		struct bpfvm_insn p[40];
		size_t n = 0;
		for (int i = 0; i < 16; i++)
			p[n++] = ST_W(10, (int16_t)(-64 + 4 * i), (int32_t)next_rand(&seed));
		int fs = (int)(next_rand(&seed) % 5) * 4 * (round % 3 != 0);
		int ts = (int)(next_rand(&seed) % 5) * 4 * (round % 3 != 1);
		if (fs) {
			p[n++] = MOV64_REG(1, 10);
			p[n++] = ADD64_IMM(1, -64);
		} else {
			p[n++] = MOV64_IMM(1, 0);
		}
		p[n++] = MOV64_IMM(2, fs);
		if (ts) {
			p[n++] = MOV64_REG(3, 10);
			p[n++] = ADD64_IMM(3, -32);
		} else {
			p[n++] = MOV64_IMM(3, 0);
		}
		p[n++] = MOV64_IMM(4, ts);
		p[n++] = MOV64_IMM(5, (int32_t)next_rand(&seed));
		p[n++] = CALL(BPF_FUNC_csum_diff);
		p[n++] = EXIT();
		struct bpfvm_test_run_opts o = pkt_opts(60);
		tr_check_same(__FILE__, __LINE__, BPFVM_PROG_XDP, p, n, &o, &res);
		CHECK_EQ(res.rc, 0);
		CHECK(res.retval <= 0xffff);
	}
}

/* tc: rewrite the IPv4 source address to 192.168.7.9 with
 * skb_store_bytes and fix the IPv4 and UDP checksums. */
TEST(l3_l4_csum_replace_rewrite_keeps_checksums_valid)
{
	const int32_t new_saddr = (int32_t)0x0907a8c0; /* 192.168.7.9 in memory order */
	const struct bpfvm_insn p[] = {
		MOV64_REG(6, 1),
		ST_W(10, -4, new_saddr),
		MOV64_REG(1, 6), MOV64_IMM(2, 26), MOV64_REG(3, 10), ADD64_IMM(3, -8), MOV64_IMM(4, 4),
		CALL(BPF_FUNC_skb_load_bytes),
		LDX_W(7, 10, -8),
		MOV64_REG(1, 6), MOV64_IMM(2, 26), MOV64_REG(3, 10), ADD64_IMM(3, -4), MOV64_IMM(4, 4),
		MOV64_IMM(5, 0), CALL(BPF_FUNC_skb_store_bytes),
		MOV64_REG(1, 6), MOV64_IMM(2, 24), MOV64_REG(3, 7), LDX_W(4, 10, -4), MOV64_IMM(5, 4),
		CALL(BPF_FUNC_l3_csum_replace),
		MOV64_REG(1, 6), MOV64_IMM(2, 40), MOV64_REG(3, 7), LDX_W(4, 10, -4),
		MOV64_IMM(5, 0x14), /* BPF_F_PSEUDO_HDR | 4 */
		CALL(BPF_FUNC_l4_csum_replace),
		EXIT(),
	};
	tr_udp4(pkt, 80, tr_mac_other);
	pkt[40] = 0x12, pkt[41] = 0x34; /* some UDP checksum */
	struct bpfvm_test_run_opts o = pkt_opts(80);
	CHECK_SAME(BPFVM_PROG_SCHED_CLS, p, &o, &res);
	CHECK_EQ(res.rc, 0);
	CHECK_EQ(res.retval, 0);
	CHECK_EQ(res.data_out[26], 192);
	CHECK_EQ(res.data_out[29], 9);
	CHECK(ipv4_csum_ok(res.data_out));
	CHECK(res.data_out[40] != 0x12 || res.data_out[41] != 0x34);
}

TEST(csum_replace_two_bytes_by_diff_and_mangled_zero)
{
	/* IP id (offset 18) := 0xbeef with a 2-byte l3 replace; then a
	 * by-diff l3 replace of 0 (no change); then an l4 replace on a zero
	 * UDP checksum with BPF_F_MARK_MANGLED_0 leaves it zero. */
	const struct bpfvm_insn p[] = {
		MOV64_REG(6, 1),
		ST_W(10, -4, 0xefbe),
		MOV64_REG(1, 6), MOV64_IMM(2, 18), MOV64_REG(3, 10), ADD64_IMM(3, -4), MOV64_IMM(4, 2),
		MOV64_IMM(5, 0), CALL(BPF_FUNC_skb_store_bytes),
		MOV64_REG(1, 6), MOV64_IMM(2, 24), MOV64_IMM(3, 0), MOV64_IMM(4, 0xefbe), MOV64_IMM(5, 2),
		CALL(BPF_FUNC_l3_csum_replace),
		MOV64_REG(1, 6), MOV64_IMM(2, 24), MOV64_IMM(3, 0), MOV64_IMM(4, 0), MOV64_IMM(5, 0),
		CALL(BPF_FUNC_l3_csum_replace),
		MOV64_REG(1, 6), MOV64_IMM(2, 40), MOV64_IMM(3, 1), MOV64_IMM(4, 2), MOV64_IMM(5, 0x22),
		CALL(BPF_FUNC_l4_csum_replace),
		MOV64_REG(8, 0),
		/* invalid: odd offset (-EFAULT) and bad size (-EINVAL) add up */
		MOV64_REG(1, 6), MOV64_IMM(2, 25), MOV64_IMM(3, 0), MOV64_IMM(4, 0), MOV64_IMM(5, 2),
		CALL(BPF_FUNC_l3_csum_replace), ADD64_REG(8, 0),
		MOV64_REG(1, 6), MOV64_IMM(2, 24), MOV64_IMM(3, 0), MOV64_IMM(4, 0), MOV64_IMM(5, 3),
		CALL(BPF_FUNC_l3_csum_replace), ADD64_REG(8, 0),
		MOV64_REG(0, 8), EXIT(),
	};
	tr_udp4(pkt, 80, tr_mac_other);
	struct bpfvm_test_run_opts o = pkt_opts(80);
	CHECK_SAME(BPFVM_PROG_SCHED_CLS, p, &o, &res);
	CHECK_EQ(res.retval, (uint32_t)(-EFAULT - EINVAL));
	CHECK_EQ(res.data_out[18], 0xbe);
	CHECK(ipv4_csum_ok(res.data_out));
	CHECK_EQ(res.data_out[40], 0);
	CHECK_EQ(res.data_out[41], 0);
}

TEST(skb_load_bytes_offsets_start_at_the_network_header_in_socket_filters)
{
	/* load 4 bytes at r7 offset; return them (or the error) */
	for (int off = 0; off <= 44; off += 11) {
		const struct bpfvm_insn p[] = {
			ST_W(10, -4, 0x55555555),
			MOV64_IMM(2, off), MOV64_REG(3, 10), ADD64_IMM(3, -4), MOV64_IMM(4, 4),
			CALL(BPF_FUNC_skb_load_bytes),
			JNE_IMM(0, 0, 1), LDX_W(0, 10, -4), EXIT(),
		};
		tr_udp4(pkt, 60, tr_mac_other);
		struct bpfvm_test_run_opts o = pkt_opts(60);
		CHECK_SAME(BPFVM_PROG_SOCKET_FILTER, p, &o, &res);
		if (off + 4 <= 46) {
			uint32_t want;
			memcpy(&want, pkt + 14 + off, 4);
			CHECK_EQ(res.retval, want);
		} else {
			CHECK_EQ(res.retval, (uint32_t)-EFAULT);
		}
	}
}

TEST(skb_load_bytes_failure_zeroes_the_buffer)
{
	const struct bpfvm_insn p[] = {
		ST_W(10, -4, 0x55555555),
		MOV64_IMM(2, 44), MOV64_REG(3, 10), ADD64_IMM(3, -4), MOV64_IMM(4, 4),
		CALL(BPF_FUNC_skb_load_bytes), LDX_W(0, 10, -4), EXIT(),
	};
	tr_udp4(pkt, 60, tr_mac_other);
	struct bpfvm_test_run_opts o = pkt_opts(60);
	CHECK_SAME(BPFVM_PROG_SCHED_CLS, p, &o, &res);
	uint32_t want;
	memcpy(&want, pkt + 44, 4);
	CHECK_EQ(res.retval, want);       /* tc: 44 + 4 <= 60, from the frame */
	CHECK_SAME(BPFVM_PROG_SOCKET_FILTER, p, &o, &res);
	CHECK_EQ(res.retval, 0);          /* socket filter: past 46 bytes */
}

/* Return skb->vlan_tci after pushing tags 100 then 200 (proto r2). */
TEST(vlan_push_offloads_the_new_tag_and_inserts_the_old_one)
{
	const struct bpfvm_insn p[] = {
		MOV64_REG(6, 1),
		MOV64_REG(1, 6), MOV64_IMM(2, 0x0081), MOV64_IMM(3, 100), CALL(BPF_FUNC_skb_vlan_push),
		MOV64_REG(1, 6), MOV64_IMM(2, 0xa888), MOV64_IMM(3, 200), CALL(BPF_FUNC_skb_vlan_push),
		LDX_W(7, 6, offsetof(struct __sk_buff, vlan_tci)),
		LDX_W(8, 6, offsetof(struct __sk_buff, vlan_proto)),
		LDX_W(9, 6, offsetof(struct __sk_buff, len)),
		LDX_W(2, 6, offsetof(struct __sk_buff, vlan_present)),
		/* r0 = tci | len << 16 | present << 28, proto checked below */
		MOV64_REG(0, 9), I(BPF_ALU64 | BPF_LSH | BPF_K, 0, 0, 0, 16), ADD64_REG(0, 7),
		I(BPF_ALU64 | BPF_LSH | BPF_K, 2, 0, 0, 28), ADD64_REG(0, 2),
		JEQ_IMM(8, 0xa888, 1), MOV64_IMM(0, -1), EXIT(),
	};
	tr_udp4(pkt, 60, tr_mac_other);
	struct bpfvm_test_run_opts o = pkt_opts(60);
	CHECK_SAME(BPFVM_PROG_SCHED_CLS, p, &o, &res);
	CHECK_EQ(res.retval, (1u << 28) | (64u << 16) | 200);
	CHECK_EQ(res.data_size_out, 64);
	CHECK_EQ(res.data_out[12], 0x81);
	CHECK_EQ(res.data_out[13], 0x00);
	CHECK_EQ(res.data_out[15], 100);
	CHECK_EQ(res.data_out[16], 0x08);
	CHECK(memcmp(res.data_out + 18, pkt + 14, 46) == 0);
}

/* A frame with tags (outer first) inserted after the MAC addresses. */
static size_t tagged(uint8_t *p, size_t len, const uint16_t *protos, const uint16_t *tcis, int ntags)
{
	uint8_t plain[2048];
	tr_udp4(plain, len, tr_mac_other);
	memcpy(p, plain, 12);
	size_t o = 12;
	for (int i = 0; i < ntags; i++) {
		p[o++] = (uint8_t)(protos[i] >> 8), p[o++] = (uint8_t)protos[i];
		p[o++] = (uint8_t)(tcis[i] >> 8), p[o++] = (uint8_t)tcis[i];
	}
	memcpy(p + o, plain + 12, len - 12);
	return len + 4 * (size_t)ntags;
}

TEST(vlan_pop_removes_tags_and_offloads_the_next)
{
	/* r0 = vlan_present << 24 | vlan_tci << 8 ... plus LD_ABS sees the new frame */
	const struct bpfvm_insn p[] = {
		MOV64_REG(6, 1), CALL(BPF_FUNC_skb_vlan_pop), MOV64_REG(7, 0),
		LDX_W(8, 6, offsetof(struct __sk_buff, vlan_present)),
		LDX_W(9, 6, offsetof(struct __sk_buff, vlan_tci)),
		LD_ABS_H(12),
		I(BPF_ALU64 | BPF_LSH | BPF_K, 8, 0, 0, 28), ADD64_REG(0, 8),
		I(BPF_ALU64 | BPF_LSH | BPF_K, 9, 0, 0, 16), ADD64_REG(0, 9),
		ADD64_REG(0, 7), EXIT(),
	};
	const uint16_t one_p[] = {0x8100}, one_t[] = {7};
	size_t len = tagged(pkt, 60, one_p, one_t, 1);
	struct bpfvm_test_run_opts o = pkt_opts(len);
	CHECK_SAME(BPFVM_PROG_SCHED_CLS, p, &o, &res);
	CHECK_EQ(res.retval, 0x0800);
	CHECK_EQ(res.data_size_out, 60);
	const uint16_t two_p[] = {0x88a8, 0x8100}, two_t[] = {5, 9};
	len = tagged(pkt, 60, two_p, two_t, 2);
	o = pkt_opts(len);
	CHECK_SAME(BPFVM_PROG_SCHED_CLS, p, &o, &res);
	CHECK_EQ(res.retval, (1u << 28) | (9u << 16) | 0x0800);
	CHECK_EQ(res.data_size_out, 60);
	tr_udp4(pkt, 60, tr_mac_other); /* untagged: nothing to pop */
	o = pkt_opts(60);
	CHECK_SAME(BPFVM_PROG_SCHED_CLS, p, &o, &res);
	CHECK_EQ(res.retval, 0x0800);
}

TEST(redirect_verdicts_and_recorded_target)
{
	const struct bpfvm_insn p[] = {MOV64_IMM(1, 5), MOV64_IMM(2, 0), CALL(BPF_FUNC_redirect), EXIT()};
	const struct bpfvm_insn pf[] = {MOV64_IMM(1, 5), MOV64_IMM(2, 1), CALL(BPF_FUNC_redirect), EXIT()};
	const struct bpfvm_insn pb[] = {MOV64_IMM(1, 5), MOV64_IMM(2, 4), CALL(BPF_FUNC_redirect), EXIT()};
	tr_udp4(pkt, 60, tr_mac_other);
	struct bpfvm_test_run_opts o = pkt_opts(60);
	CHECK_SAME(BPFVM_PROG_XDP, p, &o, &res);
	CHECK_EQ(res.retval, 4);  /* XDP_REDIRECT */
	CHECK_SAME(BPFVM_PROG_XDP, pf, &o, &res);
	CHECK_EQ(res.retval, 0);  /* flags: XDP_ABORTED */
	CHECK_SAME(BPFVM_PROG_SCHED_CLS, pf, &o, &res);
	CHECK_EQ(res.retval, 7);  /* BPF_F_INGRESS: TC_ACT_REDIRECT */
	CHECK_SAME(BPFVM_PROG_SCHED_CLS, pb, &o, &res);
	CHECK_EQ(res.retval, 2);  /* unknown flag: TC_ACT_SHOT */

	struct bpfvm_vm *vm;
	struct bpfvm_prog *prog;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	struct bpfvm_prog_opts po = {.type = BPFVM_PROG_SCHED_CLS, .safety = BPFVM_SAFETY_CHECKED};
	CHECK_EQ(bpfvm_prog_load(vm, pf, NINSNS(pf), &po, &prog), 0);
	o = (struct bpfvm_test_run_opts){.data_in = pkt, .data_size_in = 60};
	CHECK_EQ(bpfvm_prog_test_run(prog, &o), 0);
	CHECK_EQ(o.redirected, 1);
	CHECK_EQ(o.redirect_ifindex, 5);
	CHECK_EQ(o.redirect_flags, 1);
	bpfvm_vm_destroy(vm);
}

TEST(redirect_map_uses_the_ifindex_in_the_map_or_the_fallback_action)
{
	struct bpfvm_vm *vm;
	struct bpfvm_map *map;
	struct bpfvm_prog *prog;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	struct bpfvm_map_def def = {.type = BPFVM_MAP_HASH, .key_size = 4, .value_size = 4, .max_entries = 4};
	if (bpfvm_map_create(vm, &def, &map)) {
		bpfvm_vm_destroy(vm);
		SKIP("maps are not built in");
	}
	uint32_t k = 3, ifindex = 17;
	CHECK_EQ(bpfvm_map_update(map, &k, &ifindex, 0), 0);
	/* r0 = redirect_map(map, key, XDP_PASS) for key 3 then key 4 */
	for (int key = 3; key <= 4; key++) {
		const struct bpfvm_insn p[] = {
			I(BPF_LD | BPF_DW | BPF_IMM, 1, 1, 0, 0), I(0, 0, 0, 0, 0),
			MOV64_IMM(2, key), MOV64_IMM(3, 2), CALL(BPF_FUNC_redirect_map), EXIT(),
		};
		struct bpfvm_prog_opts po = {.type = BPFVM_PROG_XDP, .safety = BPFVM_SAFETY_CHECKED,
					     .maps = &map, .nmaps = 1};
		CHECK_EQ(bpfvm_prog_load(vm, p, NINSNS(p), &po, &prog), 0);
		tr_udp4(pkt, 60, tr_mac_other);
		struct bpfvm_test_run_opts o = {.data_in = pkt, .data_size_in = 60};
		CHECK_EQ(bpfvm_prog_test_run(prog, &o), 0);
		CHECK_EQ(o.retval, key == 3 ? 4 : 2);
		CHECK_EQ(o.redirected, key == 3);
		CHECK_EQ(o.redirect_ifindex, key == 3 ? 17 : 0);
		bpfvm_prog_destroy(prog);
	}
	bpfvm_vm_destroy(vm);
}

TEST(xdp_load_and_store_bytes)
{
	/* copy bytes 30..33 over 0..3; return store status + load status of a bad range */
	const struct bpfvm_insn p[] = {
		MOV64_REG(6, 1),
		MOV64_IMM(2, 30), MOV64_REG(3, 10), ADD64_IMM(3, -4), MOV64_IMM(4, 4),
		CALL(BPF_FUNC_xdp_load_bytes), MOV64_REG(7, 0),
		MOV64_REG(1, 6), MOV64_IMM(2, 0), MOV64_REG(3, 10), ADD64_IMM(3, -4), MOV64_IMM(4, 4),
		CALL(BPF_FUNC_xdp_store_bytes), ADD64_REG(7, 0),
		MOV64_REG(1, 6), MOV64_IMM(2, 58), MOV64_REG(3, 10), ADD64_IMM(3, -4), MOV64_IMM(4, 4),
		CALL(BPF_FUNC_xdp_load_bytes), ADD64_REG(7, 0),
		MOV64_REG(0, 7), EXIT(),
	};
	tr_udp4(pkt, 60, tr_mac_other);
	struct bpfvm_test_run_opts o = pkt_opts(60);
	CHECK_SAME(BPFVM_PROG_XDP, p, &o, &res);
	CHECK_EQ(res.retval, (uint32_t)-EINVAL);
	CHECK(memcmp(res.data_out, pkt + 30, 4) == 0);
}

TEST(helpers_refuse_a_context_that_is_not_a_test_runs)
{
	/* Run an XDP program with bpfvm_prog_run and a plain struct xdp_md:
	 * the helper must not touch it. */
	struct bpfvm_vm *vm;
	struct bpfvm_prog *prog;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	const struct bpfvm_insn p[] = {MOV64_IMM(2, -4), CALL(BPF_FUNC_xdp_adjust_head), EXIT()};
	struct bpfvm_prog_opts po = {.type = BPFVM_PROG_XDP, .safety = BPFVM_SAFETY_CHECKED};
	CHECK_EQ(bpfvm_prog_load(vm, p, NINSNS(p), &po, &prog), 0);
	struct xdp_md md = {0};
	struct bpfvm_run run = {.ctx = &md, .ctx_size = sizeof(md)};
	CHECK_EQ(bpfvm_prog_run(prog, &run), 0);
	CHECK_EQ((int64_t)run.retval, -EINVAL);
	bpfvm_vm_destroy(vm);
}

TEST(skb_load_bytes_relative_from_mac_or_network_header)
{
	/* r0 = load(MAC, 12, 2) | load(NET, 9, 1) << 16 ; errors added in the high bits */
	const struct bpfvm_insn p[] = {
		MOV64_REG(6, 1), ST_W(10, -4, 0), ST_W(10, -8, 0),
		MOV64_REG(1, 6), MOV64_IMM(2, 12), MOV64_REG(3, 10), ADD64_IMM(3, -4), MOV64_IMM(4, 2),
		MOV64_IMM(5, 0), CALL(BPF_FUNC_skb_load_bytes_relative), MOV64_REG(7, 0),
		MOV64_REG(1, 6), MOV64_IMM(2, 9), MOV64_REG(3, 10), ADD64_IMM(3, -8), MOV64_IMM(4, 1),
		MOV64_IMM(5, 1), CALL(BPF_FUNC_skb_load_bytes_relative), ADD64_REG(7, 0),
		MOV64_REG(1, 6), MOV64_IMM(2, 0), MOV64_REG(3, 10), ADD64_IMM(3, -12), MOV64_IMM(4, 1),
		MOV64_IMM(5, 2), CALL(BPF_FUNC_skb_load_bytes_relative), ADD64_REG(7, 0),
		MOV64_REG(1, 6), MOV64_IMM(2, 45), MOV64_REG(3, 10), ADD64_IMM(3, -12), MOV64_IMM(4, 2),
		MOV64_IMM(5, 1), CALL(BPF_FUNC_skb_load_bytes_relative), ADD64_REG(7, 0),
		LDX_W(0, 10, -4), LDX_W(2, 10, -8), I(BPF_ALU64 | BPF_LSH | BPF_K, 2, 0, 0, 16),
		ADD64_REG(0, 2), I(BPF_ALU64 | BPF_LSH | BPF_K, 7, 0, 0, 24), ADD64_REG(0, 7), EXIT(),
	};
	tr_udp4(pkt, 60, tr_mac_other);
	struct bpfvm_test_run_opts o = pkt_opts(60);
	uint32_t want = 0x0008u | 17u << 16 | (uint32_t)(-2 * EFAULT) << 24;
	CHECK_SAME(BPFVM_PROG_SOCKET_FILTER, p, &o, &res);
	CHECK_EQ(res.retval, want);
	CHECK_SAME(BPFVM_PROG_SCHED_CLS, p, &o, &res);
	CHECK_EQ(res.retval, want);
}

TEST(skb_pull_data_and_xdp_get_buff_len)
{
	/* pull 0, 60, 61: 0 + 0 + -ENOMEM */
	const struct bpfvm_insn pull[] = {
		MOV64_REG(6, 1), MOV64_IMM(2, 0), CALL(BPF_FUNC_skb_pull_data), MOV64_REG(7, 0),
		MOV64_REG(1, 6), MOV64_IMM(2, 60), CALL(BPF_FUNC_skb_pull_data), ADD64_REG(7, 0),
		MOV64_REG(1, 6), MOV64_IMM(2, 61), CALL(BPF_FUNC_skb_pull_data), ADD64_REG(7, 0),
		MOV64_REG(0, 7), EXIT(),
	};
	tr_udp4(pkt, 60, tr_mac_other);
	struct bpfvm_test_run_opts o = pkt_opts(60);
	CHECK_SAME(BPFVM_PROG_SCHED_CLS, pull, &o, &res);
	CHECK_EQ(res.retval, (uint32_t)-ENOMEM);
	/* len before and after adjust_head(-10): 60 << 8 | 70 */
	const struct bpfvm_insn len[] = {
		MOV64_REG(6, 1), CALL(BPF_FUNC_xdp_get_buff_len), MOV64_REG(7, 0),
		MOV64_REG(1, 6), MOV64_IMM(2, -10), CALL(BPF_FUNC_xdp_adjust_head),
		MOV64_REG(1, 6), CALL(BPF_FUNC_xdp_get_buff_len),
		I(BPF_ALU64 | BPF_LSH | BPF_K, 7, 0, 0, 8), ADD64_REG(0, 7), EXIT(),
	};
	CHECK_SAME(BPFVM_PROG_XDP, len, &o, &res);
	CHECK_EQ(res.retval, 60u << 8 | 70);
}

/* Random sequences of adjust_head / adjust_tail / adjust_meta with deltas
 * around every bound, on packets with and without metadata: status of each
 * call (folded into r0), data_out and ctx_out must match the kernel. */
TEST(random_xdp_adjust_sequences_match_the_kernel)
{
	static const int helpers[] = {BPF_FUNC_xdp_adjust_head, BPF_FUNC_xdp_adjust_tail,
				      BPF_FUNC_xdp_adjust_meta};
	static const int deltas[] = {-300, -256, -220, -216, -200, -64, -20, -14, -8, -6, -4, -1, 0,
				     1, 4, 8, 14, 20, 46, 100, 1000, 3460, 3461};
	uint32_t seed = 99;
	for (int round = 0; round < 80; round++) {
		struct bpfvm_insn p[64];
		size_t n = 0;
		p[n++] = MOV64_REG(6, 1);
		p[n++] = MOV64_IMM(7, 0);
		for (int step = 0; step < 6; step++) {
			p[n++] = MOV64_REG(1, 6);
			p[n++] = MOV64_IMM(2, deltas[next_rand(&seed) % NINSNS(deltas)]);
			p[n++] = CALL(helpers[next_rand(&seed) % 3]);
			p[n++] = I(BPF_ALU64 | BPF_MUL | BPF_K, 7, 0, 0, 3);
			p[n++] = ADD64_REG(7, 0);
		}
		p[n++] = MOV64_REG(0, 7);
		p[n++] = EXIT();
		uint32_t len = 60 + next_rand(&seed) % 200;
		for (uint32_t i = 0; i < len; i++)
			pkt[i] = (uint8_t)(i * 7 + round);
		struct xdp_md md = {.data = 4 * (next_rand(&seed) % 5), .data_end = len};
		struct bpfvm_test_run_opts o = pkt_opts(len);
		o.ctx_in = &md;
		o.ctx_size_in = sizeof(md);
		o.ctx_out = (void *)1;
		tr_check_same(__FILE__, __LINE__, BPFVM_PROG_XDP, p, n, &o, &res);
		CHECK_EQ(res.rc, 0);
	}
}

/* Random sequences of tc packet helpers (vlan push/pop, store bytes, L3/L4
 * checksum replacement with valid and invalid offsets and flags) on tagged
 * and untagged frames: results, data_out and ctx_out match the kernel. */
TEST(random_tc_helper_sequences_match_the_kernel)
{
	static const int32_t protos[] = {0x0081, 0xa888, 0x3412};
	static const int32_t offs[] = {0, 1, 12, 14, 24, 25, 26, 40, 58, 59, 60, 61, 70, 0x10000};
	static const int32_t l3flags[] = {0, 2, 4, 3, 0x10};
	static const int32_t l4flags[] = {0x12, 0x14, 0x24, 0x62, 0x80 | 2, 0x100, 4};
	uint32_t seed = 4242;
	for (int round = 0; round < 80; round++) {
		struct bpfvm_insn p[96];
		size_t n = 0;
		p[n++] = MOV64_REG(6, 1);
		p[n++] = MOV64_IMM(7, 0);
		p[n++] = ST_W(10, -4, (int32_t)next_rand(&seed));
		for (int step = 0; step < 5; step++) {
			uint32_t r = next_rand(&seed);
			p[n++] = MOV64_REG(1, 6);
			switch (r % 5) {
			case 0:
				p[n++] = MOV64_IMM(2, protos[(r >> 4) % 3]);
				p[n++] = MOV64_IMM(3, (int32_t)((r >> 8) & 0xffff));
				p[n++] = CALL(BPF_FUNC_skb_vlan_push);
				break;
			case 1:
				p[n++] = CALL(BPF_FUNC_skb_vlan_pop);
				break;
			case 2:
				p[n++] = MOV64_IMM(2, offs[(r >> 4) % NINSNS(offs)]);
				p[n++] = MOV64_REG(3, 10);
				p[n++] = ADD64_IMM(3, -4);
				p[n++] = MOV64_IMM(4, 4);
				p[n++] = MOV64_IMM(5, (int32_t)((r >> 12) % 4));
				p[n++] = CALL(BPF_FUNC_skb_store_bytes);
				break;
			case 3:
			case 4:
				p[n++] = MOV64_IMM(2, offs[(r >> 4) % NINSNS(offs)]);
				p[n++] = MOV64_IMM(3, (r >> 9) % 3 ? (int32_t)next_rand(&seed) : 0);
				p[n++] = MOV64_IMM(4, (int32_t)next_rand(&seed));
				p[n++] = MOV64_IMM(5, r % 5 == 3 ? l3flags[(r >> 16) % NINSNS(l3flags)]
								: l4flags[(r >> 16) % NINSNS(l4flags)]);
				p[n++] = CALL(r % 5 == 3 ? BPF_FUNC_l3_csum_replace : BPF_FUNC_l4_csum_replace);
				break;
			}
			p[n++] = I(BPF_ALU64 | BPF_MUL | BPF_K, 7, 0, 0, 5);
			p[n++] = ADD64_REG(7, 0);
		}
		/* fold the final skb state into r0 */
		p[n++] = LDX_W(2, 6, offsetof(struct __sk_buff, len));
		p[n++] = ADD64_REG(7, 2);
		p[n++] = LDX_W(2, 6, offsetof(struct __sk_buff, vlan_tci));
		p[n++] = I(BPF_ALU64 | BPF_LSH | BPF_K, 2, 0, 0, 8);
		p[n++] = ADD64_REG(7, 2);
		p[n++] = LDX_W(2, 6, offsetof(struct __sk_buff, protocol));
		p[n++] = I(BPF_ALU64 | BPF_LSH | BPF_K, 2, 0, 0, 16);
		p[n++] = ADD64_REG(7, 2);
		p[n++] = LDX_W(2, 6, offsetof(struct __sk_buff, vlan_present));
		p[n++] = ADD64_REG(7, 2);
		p[n++] = MOV64_REG(0, 7);
		p[n++] = EXIT();
		size_t len;
		int tags = (int)(next_rand(&seed) % 3);
		const uint16_t tp[] = {0x88a8, 0x8100}, tt[] = {(uint16_t)next_rand(&seed), 77};
		if (tags == 0) {
			len = 60;
			tr_udp4(pkt, len, tr_mac_other);
		} else {
			uint8_t plain[64];
			tr_udp4(plain, 60, tr_mac_other);
			memcpy(pkt, plain, 12);
			size_t o = 12;
			for (int t = 0; t < tags; t++) {
				uint16_t proto = tags == 2 ? tp[t] : 0x8100;
				pkt[o++] = (uint8_t)(proto >> 8), pkt[o++] = (uint8_t)proto;
				pkt[o++] = (uint8_t)(tt[t] >> 8), pkt[o++] = (uint8_t)tt[t];
			}
			memcpy(pkt + o, plain + 12, 48);
			len = o + 48;
		}
		struct __sk_buff c = {.mark = 3};
		struct bpfvm_test_run_opts o = pkt_opts(len);
		o.ctx_in = &c;
		o.ctx_size_in = sizeof(c);
		o.ctx_out = (void *)1;
		tr_check_same(__FILE__, __LINE__, BPFVM_PROG_SCHED_CLS, p, n, &o, &res);
		CHECK_EQ(res.rc, 0);
	}
}

/* Multi-buffer XDP: frames past 3520 bytes (or ctx_in data_end) carry
 * fragments; adjust_tail grows and shrinks them, get_buff_len counts them,
 * load/store bytes cross into them. All against the kernel. */
TEST(random_xdp_fragment_sequences_match_the_kernel)
{
	static const int tails[] = {-5000, -600, -577, -100, -20, -1, 1, 20, 500, 576, 577, 4000};
	static const int offs[] = {0, 10, 3500, 3516, 3519, 3520, 3521, 3600, 3700, 3900, 4095, 7000};
	static uint8_t big[8192];
	uint32_t seed = 777;
	for (int round = 0; round < 60; round++) {
		struct bpfvm_insn p[96];
		size_t n = 0;
		p[n++] = MOV64_REG(6, 1);
		p[n++] = MOV64_IMM(7, 0);
		p[n++] = ST_W(10, -8, (int32_t)next_rand(&seed));
		p[n++] = ST_W(10, -4, (int32_t)next_rand(&seed));
		for (int step = 0; step < 6; step++) {
			uint32_t r = next_rand(&seed);
			p[n++] = MOV64_REG(1, 6);
			switch (r % 4) {
			case 0:
				p[n++] = MOV64_IMM(2, tails[(r >> 4) % NINSNS(tails)]);
				p[n++] = CALL(BPF_FUNC_xdp_adjust_tail);
				break;
			case 1:
				p[n++] = CALL(BPF_FUNC_xdp_get_buff_len);
				break;
			case 2:
			case 3:
				p[n++] = MOV64_IMM(2, offs[(r >> 4) % NINSNS(offs)] + (int32_t)((r >> 12) % 3));
				p[n++] = MOV64_REG(3, 10);
				p[n++] = ADD64_IMM(3, -8);
				p[n++] = MOV64_IMM(4, 1 + (int32_t)((r >> 16) % 8));
				p[n++] = CALL(r % 4 == 2 ? BPF_FUNC_xdp_load_bytes : BPF_FUNC_xdp_store_bytes);
				break;
			}
			p[n++] = I(BPF_ALU64 | BPF_MUL | BPF_K, 7, 0, 0, 7);
			p[n++] = ADD64_REG(7, 0);
		}
		p[n++] = LDX_W(2, 10, -8);
		p[n++] = ADD64_REG(7, 2);
		p[n++] = MOV64_REG(0, 7);
		p[n++] = EXIT();
		uint32_t len = 3400 + next_rand(&seed) % 700;
		for (uint32_t i = 0; i < len; i++)
			big[i] = (uint8_t)(i * 31 + round);
		struct bpfvm_test_run_opts o = {.data_in = big, .data_size_in = len, .data_out = (void *)1};
		struct xdp_md md = {.data = 4, .data_end = 2000 + next_rand(&seed) % 1000};
		if (round % 3 == 0) {
			o.ctx_in = &md;
			o.ctx_size_in = sizeof(md);
			o.ctx_out = (void *)1;
		}
		tr_check_same(__FILE__, __LINE__, BPFVM_PROG_XDP, p, n, &o, &res);
		CHECK(res.rc == 0 || res.rc == -ENOSPC);
	}
}

/* bpf_skb_change_head / change_tail mixed with vlan push and stores, with
 * and without GSO in ctx_in; LD_ABS sees the changed packet. */
TEST(random_skb_change_head_tail_sequences_match_the_kernel)
{
	static const int32_t heads[] = {0, 1, 4, 14, 63, 64, 65, 200, 4000, 16004, 16005, -1};
	static const int32_t tails[] = {0, 13, 14, 15, 34, 60, 61, 100, 3000, 10000, 16064, 16065};
	uint32_t seed = 31337;
	for (int round = 0; round < 80; round++) {
		struct bpfvm_insn p[96];
		size_t n = 0;
		p[n++] = MOV64_REG(6, 1);
		p[n++] = MOV64_IMM(7, 0);
		p[n++] = ST_W(10, -4, (int32_t)next_rand(&seed));
		for (int step = 0; step < 5; step++) {
			uint32_t r = next_rand(&seed);
			p[n++] = MOV64_REG(1, 6);
			switch (r % 4) {
			case 0:
				p[n++] = MOV64_IMM(2, heads[(r >> 4) % NINSNS(heads)]);
				p[n++] = MOV64_IMM(3, (r >> 12) % 8 == 0);
				p[n++] = CALL(BPF_FUNC_skb_change_head);
				break;
			case 1:
				p[n++] = MOV64_IMM(2, tails[(r >> 4) % NINSNS(tails)]);
				p[n++] = MOV64_IMM(3, (r >> 12) % 8 == 0);
				p[n++] = CALL(BPF_FUNC_skb_change_tail);
				break;
			case 2:
				p[n++] = MOV64_IMM(2, 0x0081);
				p[n++] = MOV64_IMM(3, (int32_t)((r >> 8) & 0xfff));
				p[n++] = CALL(BPF_FUNC_skb_vlan_push);
				break;
			case 3:
				p[n++] = MOV64_IMM(2, (int32_t)((r >> 4) % 40));
				p[n++] = MOV64_REG(3, 10);
				p[n++] = ADD64_IMM(3, -4);
				p[n++] = MOV64_IMM(4, 4);
				p[n++] = MOV64_IMM(5, 0);
				p[n++] = CALL(BPF_FUNC_skb_store_bytes);
				break;
			}
			p[n++] = I(BPF_ALU64 | BPF_MUL | BPF_K, 7, 0, 0, 5);
			p[n++] = ADD64_REG(7, 0);
		}
		p[n++] = LDX_W(2, 6, offsetof(struct __sk_buff, len));
		p[n++] = ADD64_REG(7, 2);
		p[n++] = LDX_W(2, 6, offsetof(struct __sk_buff, gso_segs));
		p[n++] = ADD64_REG(7, 2);
		p[n++] = LD_ABS_B(13);
		p[n++] = I(BPF_ALU64 | BPF_LSH | BPF_K, 0, 0, 0, 24);
		p[n++] = ADD64_REG(0, 7);
		p[n++] = EXIT();
		tr_udp4(pkt, 60, tr_mac_other);
		struct __sk_buff c = {.gso_size = round % 4 == 0 ? 1400 : 0, .gso_segs = round % 4 == 0 ? 2 : 0};
		struct bpfvm_test_run_opts o = pkt_opts(60);
		o.ctx_in = &c;
		o.ctx_size_in = sizeof(c);
		o.ctx_out = (void *)1;
		tr_check_same(__FILE__, __LINE__, BPFVM_PROG_SCHED_CLS, p, n, &o, &res);
		CHECK(res.rc == 0 || res.rc == -ENOSPC);
	}
}

/* A frame of the given EtherType(s): IPv4 (tos byte) or IPv6 (traffic
 * class), optionally behind a VLAN tag. */
static size_t l3_frame(uint8_t *p, int v6, int tagged, uint8_t tclass)
{
	memset(p, 0, 128);
	tr_udp4(p, 90, tr_mac_other);
	if (v6) {
		p[12] = 0x86, p[13] = 0xdd;
		p[14] = (uint8_t)(0x60 | tclass >> 4), p[15] = (uint8_t)(tclass << 4);
		p[18] = 0, p[19] = 36, p[20] = 17, p[21] = 64;
	} else {
		p[15] = tclass;
		p[24] = p[25] = 0;
		uint32_t sum = 0;
		for (int i = 0; i < 20; i += 2)
			sum += (uint32_t)(p[14 + i] << 8 | p[15 + i]);
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
		p[24] = (uint8_t)(~sum >> 8), p[25] = (uint8_t)~sum;
	}
	if (!tagged)
		return 90;
	memmove(p + 16, p + 12, 90 - 12);
	p[12] = 0x81, p[13] = 0x00, p[14] = 0x00, p[15] = 0x05;
	return 94;
}

TEST(skb_change_proto_and_ecn_set_ce_match_the_kernel)
{
	/* change_proto(to) then ecn_set_ce, return both results and len */
	const int32_t tos[] = {0, 1, 2, 3, 0xfc, 0xfd, 0xfe};
	const int32_t protos[] = {0xdd86, 0x0008, 0x1234};
	for (int v6 = 0; v6 < 2; v6++)
		for (int tagged = 0; tagged < 2; tagged++)
			for (size_t t = 0; t < NINSNS(tos); t++)
				for (size_t q = 0; q < NINSNS(protos); q++) {
					const struct bpfvm_insn p[] = {
						MOV64_REG(6, 1), CALL(BPF_FUNC_skb_ecn_set_ce), MOV64_REG(7, 0),
						MOV64_REG(1, 6), MOV64_IMM(2, protos[q]), MOV64_IMM(3, 0),
						CALL(BPF_FUNC_skb_change_proto),
						I(BPF_ALU64 | BPF_LSH | BPF_K, 0, 0, 0, 4), ADD64_REG(7, 0),
						MOV64_REG(1, 6), CALL(BPF_FUNC_skb_ecn_set_ce),
						I(BPF_ALU64 | BPF_LSH | BPF_K, 0, 0, 0, 20), ADD64_REG(7, 0),
						LDX_W(2, 6, offsetof(struct __sk_buff, len)),
						I(BPF_ALU64 | BPF_LSH | BPF_K, 2, 0, 0, 24), ADD64_REG(7, 2),
						MOV64_REG(0, 7), EXIT(),
					};
					size_t len = l3_frame(pkt, v6, tagged, (uint8_t)tos[t]);
					struct bpfvm_test_run_opts o = pkt_opts(len);
					CHECK_SAME(BPFVM_PROG_SCHED_CLS, p, &o, &res);
					CHECK_EQ(res.rc, 0);
				}
	/* an ECT(0) IPv4 frame becomes CE with a still valid header checksum */
	const struct bpfvm_insn ce[] = {CALL(BPF_FUNC_skb_ecn_set_ce), EXIT()};
	size_t len = l3_frame(pkt, 0, 0, 2);
	struct bpfvm_test_run_opts o = pkt_opts(len);
	CHECK_SAME(BPFVM_PROG_SCHED_CLS, ce, &o, &res);
	CHECK_EQ(res.retval, 1);
	CHECK_EQ(res.data_out[15], 3);
	CHECK(ipv4_csum_ok(res.data_out));
}

/* bpf_skb_adjust_room in random sequences with change_proto, change_tail
 * and change_head, on IPv4/IPv6 frames (some VLAN-tagged), with and
 * without GSO in ctx_in: every result, len, protocol, the bytes and
 * ctx_out (gso_segs) agree with the kernel. */
TEST(random_skb_adjust_room_sequences_match_the_kernel)
{
	static const int32_t diffs[] = {0, 1, 4, 8, 14, 20, 40, 4095, 4096, -1, -4, -8, -20, -40, -60, -4096};
	static const uint64_t flags[] = {
		0, 1ull << 0, 1ull << 1, 1ull << 2, (1ull << 1) | (1ull << 3), (1ull << 2) | (1ull << 4),
		(1ull << 1) | (1ull << 6) | (14ull << 56), (1ull << 1) | (8ull << 56), 1ull << 5,
		1ull << 7, 1ull << 8, (1ull << 7) | (1ull << 8), (1ull << 1) | (1ull << 2), 1ull << 9,
		(1ull << 3) | (1ull << 4) | (1ull << 1), (1ull << 6) | (1ull << 2),
	};
	uint32_t seed = 4242;
	for (int round = 0; round < 150; round++) {
		struct bpfvm_insn p[128];
		size_t n = 0;
		p[n++] = MOV64_REG(6, 1);
		p[n++] = MOV64_IMM(7, 0);
		for (int step = 0; step < 4; step++) {
			uint32_t r = next_rand(&seed);
			p[n++] = MOV64_REG(1, 6);
			switch (r % 6) {
			case 0:
			case 1:
			case 2: {
				uint64_t f = flags[(r >> 8) % NINSNS(flags)];
				p[n++] = MOV64_IMM(2, diffs[(r >> 4) % NINSNS(diffs)]);
				p[n++] = MOV64_IMM(3, (int32_t)((r >> 16) % 5 == 0 ? 2 : (r >> 16) & 1));
				p[n++] = I(BPF_LD | BPF_DW | BPF_IMM, 4, 0, 0, (int32_t)(uint32_t)f);
				p[n++] = I(0, 0, 0, 0, (int32_t)(uint32_t)(f >> 32));
				p[n++] = CALL(BPF_FUNC_skb_adjust_room);
				break;
			}
			case 3:
				p[n++] = MOV64_IMM(2, (r >> 4) % 2 ? 0xdd86 : 0x0008);
				p[n++] = MOV64_IMM(3, 0);
				p[n++] = CALL(BPF_FUNC_skb_change_proto);
				break;
			case 4:
				p[n++] = MOV64_IMM(2, (int32_t)(20 + (r >> 4) % 120));
				p[n++] = MOV64_IMM(3, 0);
				p[n++] = CALL(BPF_FUNC_skb_change_tail);
				break;
			case 5:
				p[n++] = MOV64_IMM(2, (int32_t)((r >> 4) % 20));
				p[n++] = MOV64_IMM(3, 0);
				p[n++] = CALL(BPF_FUNC_skb_change_head);
				break;
			}
			p[n++] = I(BPF_ALU64 | BPF_MUL | BPF_K, 7, 0, 0, 1031);
			p[n++] = ADD64_REG(7, 0);
		}
		p[n++] = LDX_W(2, 6, offsetof(struct __sk_buff, len));
		p[n++] = ADD64_REG(7, 2);
		p[n++] = LDX_W(2, 6, offsetof(struct __sk_buff, protocol));
		p[n++] = I(BPF_ALU64 | BPF_LSH | BPF_K, 2, 0, 0, 16);
		p[n++] = ADD64_REG(7, 2);
		p[n++] = LDX_W(2, 6, offsetof(struct __sk_buff, gso_size));
		p[n++] = ADD64_REG(7, 2);
		p[n++] = MOV64_REG(0, 7);
		p[n++] = EXIT();
		size_t len = l3_frame(pkt, round % 3 == 1, round % 7 == 3, 0);
		struct __sk_buff c = {.gso_size = round % 5 == 0 ? 1400 : 0, .gso_segs = round % 5 == 0 ? 3 : 0};
		struct bpfvm_test_run_opts o = pkt_opts(len);
		o.ctx_in = &c;
		o.ctx_size_in = sizeof(c);
		o.ctx_out = (void *)1;
		tr_check_same(__FILE__, __LINE__, BPFVM_PROG_SCHED_CLS, p, n, &o, &res);
		CHECK(res.rc == 0 || res.rc == -ENOSPC);
	}
}
