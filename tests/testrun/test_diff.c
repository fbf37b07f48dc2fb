/* Differential tests: C programs compiled with clang at test time, loaded
 * into bpfvm by its ELF loader and into the kernel by libbpf, run on the
 * same generated packets; retval, data_out and the maps must agree. The
 * kernel half needs root; without it the bpfvm half still checks its own
 * invariants (valid checksums after rewriting, encapsulated lengths). */
#include <arpa/inet.h>
#include <net/if.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <stdio.h>
#include <sys/stat.h>

#include "bpfvm/object.h"
#include "testrun/tr_util.h"

#define NPKTS 400

/* ---- packets ---------------------------------------------------------------- */

struct gen {
	uint32_t seed;
};

static uint32_t rnd(struct gen *g)
{
	g->seed = g->seed * 1664525u + 1013904223u;
	return g->seed >> 8;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t sum)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v;
}

/* One of many packet shapes: 0-2 VLAN tags, IPv4/IPv6/ARP, TCP/UDP/ICMP
 * with valid checksums, some with TTL 1, UDP port 9 or TCP SYN to 23. */
static size_t gen_packet(struct gen *g, uint8_t *p)
{
	uint32_t r = rnd(g);
	size_t o = 0;
	const uint8_t dst[6] = {0x02, 0, 0, 0, 0, (uint8_t)(r & 3)};
	const uint8_t src[6] = {0x02, 0x11, 0x22, 0x33, 0x44, (uint8_t)(r >> 3)};
	memcpy(p, dst, 6), memcpy(p + 6, src, 6), o = 12;
	int tags = (r >> 8) % 5 == 0 ? 1 : (r >> 8) % 11 == 0 ? 2 : 0;
	for (int i = 0; i < tags; i++) {
		put16(p + o, i == 0 && tags == 2 ? 0x88a8 : 0x8100);
		put16(p + o + 2, (uint16_t)(rnd(g) & 0xfff));
		o += 4;
	}
	int l3 = (r >> 12) % 10; /* 0-5 IPv4, 6-8 IPv6, 9 ARP */
	int l4 = (r >> 16) % 4;  /* TCP, UDP, ICMP, other */
	size_t payload = 4 + rnd(g) % 90;
	if (l3 == 9) {
		put16(p + o, 0x0806);
		o += 2;
		for (int i = 0; i < 28; i++)
			p[o++] = (uint8_t)rnd(g);
		return o;
	}
	uint8_t proto = l4 == 0 ? 6 : l4 == 1 ? 17 : l4 == 2 ? (l3 < 6 ? 1 : 58) : 47;
	size_t l4len = (l4 == 0 ? 20 : 8) + payload;
	put16(p + o, l3 < 6 ? 0x0800 : 0x86dd);
	o += 2;
	uint8_t *ip = p + o;
	uint32_t pseudo;
	if (l3 < 6) {
		memset(ip, 0, 20);
		ip[0] = 0x45, put16(ip + 2, (uint16_t)(20 + l4len)), put16(ip + 4, (uint16_t)rnd(g));
		ip[8] = (rnd(g) % 13 == 0) ? 1 : 64, ip[9] = proto;
		for (int i = 12; i < 20; i++)
			ip[i] = (uint8_t)rnd(g);
		put16(ip + 10, (uint16_t)~fold(sum16(ip, 20, 0)));
		pseudo = sum16(ip + 12, 8, 0) + proto + (uint32_t)l4len;
		o += 20;
	} else {
		memset(ip, 0, 40);
		ip[0] = 0x60, put16(ip + 4, (uint16_t)l4len), ip[6] = proto, ip[7] = 64;
		for (int i = 8; i < 40; i++)
			ip[i] = (uint8_t)rnd(g);
		pseudo = sum16(ip + 8, 32, 0) + proto + (uint32_t)l4len;
		o += 40;
	}
	uint8_t *l4p = p + o;
	for (size_t i = 0; i < l4len; i++)
		l4p[i] = (uint8_t)rnd(g);
	int csum_off = -1;
	if (proto == 6) {
		put16(l4p + 2, rnd(g) % 4 == 0 ? 23 : (uint16_t)rnd(g));
		l4p[12] = 0x50, l4p[13] = rnd(g) % 2 ? 0x02 : 0x10;
		csum_off = 16;
	} else if (proto == 17) {
		put16(l4p + 2, rnd(g) % 4 == 0 ? 9 : (uint16_t)rnd(g));
		put16(l4p + 4, (uint16_t)l4len);
		csum_off = 6;
	} else if (proto == 1 || proto == 58) {
		l4p[0] = rnd(g) % 2 ? (proto == 1 ? 8 : 128) : 0, l4p[1] = 0;
		csum_off = 2;
		pseudo = proto == 1 ? 0 : pseudo;
	}
	if (csum_off >= 0) {
		put16(l4p + csum_off, 0);
		uint16_t c = (uint16_t)~fold(sum16(l4p, l4len, pseudo));
		put16(l4p + csum_off, proto == 17 && c == 0 ? 0xffff : c);
	}
	return o + l4len;
}

/* ---- programs ------------------------------------------------------------------ */

/* Compile tests/testrun/progs/NAME.bpf.c into path: 0, or 1 when there is
 * no clang (the test skips), or -1 when compiling failed. */
static int compile(const char *name, char *path, size_t len)
{
	char dir[256], cmd[1024];
	if (system("command -v clang >/dev/null 2>&1") != 0)
		return 1;
	harness_build_path("tests/testrun/progs", dir, sizeof(dir));
	snprintf(path, len, "%s/%s.bpf.o", dir, name);
	snprintf(cmd, sizeof(cmd),
		 "mkdir -p %s && clang -O2 -g -target bpf -I/usr/include/$(uname -m)-linux-gnu "
		 "-c tests/testrun/progs/%s.bpf.c -o %s 2>&1", dir, name, path);
	FILE *f = popen(cmd, "r");
	if (!f)
		return -1;
	char out[512];
	size_t n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = 0;
	if (pclose(f) != 0) {
		harness_fail(__FILE__, __LINE__, "clang failed on %s: %s", name, out);
		return -1;
	}
	return 0;
}

struct side {
	struct bpfvm_vm *vm;
	struct bpfvm_object *obj;
	struct bpfvm_prog *prog;
	struct bpf_object *kobj;
	int kfd;
};

/* Load prog from path into a new VM: verified when the verifier is built
 * in and accepts it, else with run-time checks. -ENOTSUP when the engine
 * is not available. */
static int bpfvm_side(struct side *s, const char *path, const char *prog, enum bpfvm_engine engine)
{
	const enum bpfvm_safety modes[] = {BPFVM_SAFETY_VERIFIED, BPFVM_SAFETY_CHECKED};
	int rc = -EINVAL;
	for (int m = 0; m < 2; m++) {
		if (bpfvm_vm_create(&s->vm))
			return -ENOMEM;
		rc = bpfvm_object_open_file(s->vm, path, NULL, &s->obj);
		struct bpfvm_object_prog *op = rc ? NULL : bpfvm_object_find_prog(s->obj, prog);
		struct bpfvm_prog_opts po = {.safety = modes[m], .engine = engine};
		if (op && (rc = bpfvm_object_prog_load(op, &po)) == 0) {
			s->prog = bpfvm_object_prog_handle(op);
			return 0;
		}
		if (!op && !rc)
			rc = -ENOENT;
		char msg[512];
		snprintf(msg, sizeof(msg), "%s", bpfvm_vm_last_error(s->vm));
		printf("note: %s, %s: %s\n", prog, m ? "checked" : "verified", msg);
		if (s->obj)
			bpfvm_object_close(s->obj);
		bpfvm_vm_destroy(s->vm);
		memset(s, 0, sizeof(*s));
		if (engine == BPFVM_ENGINE_JIT && rc == -ENOTSUP && strstr(msg, "JIT"))
			break; /* no JIT here: neither mode can help */
	}
	return rc;
}

static int kernel_side(struct side *s, const char *path, const char *prog)
{
	s->kobj = bpf_object__open_file(path, NULL);
	if (!s->kobj)
		return -errno;
	if (bpf_object__load(s->kobj)) {
		int e = errno;
		bpf_object__close(s->kobj);
		s->kobj = NULL;
		return -e;
	}
	s->kfd = bpf_program__fd(bpf_object__find_program_by_name(s->kobj, prog));
	return 0;
}

static void side_close(struct side *s)
{
	if (s->obj)
		bpfvm_object_close(s->obj);
	if (s->vm)
		bpfvm_vm_destroy(s->vm);
	if (s->kobj)
		bpf_object__close(s->kobj);
	memset(s, 0, sizeof(*s));
}

/* Every entry of the kernel's map is in bpfvm's with the same value, and
 * both have as many entries. */
static void compare_map(struct side *b, struct side *k, const char *name)
{
	struct bpfvm_object_map *om = bpfvm_object_find_map(b->obj, name);
	struct bpf_map *km = bpf_object__find_map_by_name(k->kobj, name);
	CHECK(om && km);
	if (!om || !km)
		return;
	struct bpfvm_map *bm = bpfvm_object_map_handle(om);
	int fd = bpf_map__fd(km);
	uint8_t key[64], next[64], kv[256], bv[256];
	size_t kcount = 0, bcount = 0;
	void *prev = NULL;
	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		memcpy(key, next, sizeof(key));
		prev = key;
		kcount++;
		CHECK_EQ(bpf_map_lookup_elem(fd, key, kv), 0);
		int rc = bpfvm_map_lookup(bm, key, bv);
		CHECK_EQ(rc, 0);
		if (!rc && memcmp(kv, bv, bpf_map__value_size(km)))
			harness_fail(__FILE__, __LINE__, "map %s: values differ for a key", name);
	}
	void *bprev = NULL;
	while (bpfvm_map_get_next_key(bm, bprev, next) == 0) {
		memcpy(key, next, sizeof(key));
		bprev = key;
		bcount++;
	}
	CHECK_EQ(bcount, kcount);
}

struct diff_stats {
	unsigned runs, verdicts[8];
};

typedef void (*pkt_check_fn)(const uint8_t *in, size_t inlen, const struct tr_result *out);

/* Run NPKTS generated packets through both sides of one engine. */
static void run_diff(const char *src, const char *prog, enum bpfvm_prog_type type,
		     const char *map, pkt_check_fn check, int *ran)
{
	char path[512];
	int crc = compile(src, path, sizeof(path));
	if (crc == 1)
		harness_skip("clang is not installed");
	if (crc)
		return;
	enum bpfvm_engine engines[] = {BPFVM_ENGINE_INTERP, BPFVM_ENGINE_JIT};
	for (int e = 0; e < 2; e++) {
		struct side b = {0}, k = {0};
		int brc = bpfvm_side(&b, path, prog, engines[e]);
		if (brc == -ENOTSUP && engines[e] == BPFVM_ENGINE_JIT)
			continue;
		CHECK_EQ(brc, 0);
		if (brc)
			return;
		CHECK_EQ(bpfvm_prog_type(b.prog), type);
		int krc = kernel_side(&k, path, prog);
		int have_kernel = krc == 0;
		if (krc && krc != -EPERM && krc != -ENOSYS)
			harness_fail(__FILE__, __LINE__, "kernel load of %s failed: %d", prog, krc);
		struct gen g = {.seed = 42};
		static uint8_t in[2048];
		static struct tr_result br, kr;
		unsigned mismatches = 0;
		for (int i = 0; i < NPKTS; i++) {
			size_t len = gen_packet(&g, in);
			struct bpfvm_test_run_opts o = {.data_in = in, .data_size_in = (uint32_t)len,
							.data_out = br.data_out,
							.data_size_out = sizeof(br.data_out), .engine = engines[e]};
			br.rc = bpfvm_prog_test_run(b.prog, &o);
			br.retval = o.retval;
			br.data_size_out = o.data_size_out;
			if (br.rc)
				harness_fail(__FILE__, __LINE__, "%s packet %d: %s", prog, i, o.error);
			if (check && !br.rc)
				check(in, len, &br);
			if (!have_kernel)
				continue;
			LIBBPF_OPTS(bpf_test_run_opts, ko, .data_in = in, .data_size_in = (uint32_t)len,
				    .data_out = kr.data_out, .data_size_out = sizeof(kr.data_out));
			kr.rc = bpf_prog_test_run_opts(k.kfd, &ko) ? -errno : 0;
			if (kr.rc != br.rc || ko.retval != br.retval || ko.data_size_out != br.data_size_out ||
			    memcmp(kr.data_out, br.data_out, br.data_size_out)) {
				if (mismatches++ < 3)
					harness_fail(__FILE__, __LINE__, "%s packet %d (%zu bytes): kernel rc %d "
						     "retval %u len %u, bpfvm rc %d retval %u len %u", prog, i,
						     len, kr.rc, ko.retval, ko.data_size_out, br.rc, br.retval,
						     br.data_size_out);
			}
		}
		if (have_kernel && map)
			compare_map(&b, &k, map);
		if (have_kernel)
			(*ran)++;
		side_close(&b);
		side_close(&k);
	}
}

static int kernel_runs;

static int ipv4_header_ok(const uint8_t *p)
{
	return fold(sum16(p, 20, 0)) == 0xffff;
}

TEST(xdp_parser_counts_and_verdicts_match_the_kernel)
{
	run_diff("parse", "xdp_parse", BPFVM_PROG_XDP, "counters", NULL, &kernel_runs);
}

/* After the rewrite the IPv4 header checksum still verifies. */
static void rewrite_check(const uint8_t *in, size_t len, const struct tr_result *out)
{
	if (in[12] == 0x08 && in[13] == 0x00 && out->retval == 3) {
		CHECK(ipv4_header_ok(out->data_out + 14));
		CHECK_EQ(out->data_out[30], 0xc0);
	}
}

TEST(tc_rewrite_with_checksum_helpers_matches_the_kernel)
{
	run_diff("rewrite", "tc_rewrite", BPFVM_PROG_SCHED_CLS, "seen", rewrite_check, &kernel_runs);
}

/* IPv4 packets grow by 20 bytes, the outer header verifies. */
static void encap_check(const uint8_t *in, size_t len, const struct tr_result *out)
{
	if (in[12] == 0x08 && in[13] == 0x00) {
		CHECK_EQ(out->retval, 3);
		CHECK_EQ(out->data_size_out, len + 20);
		CHECK(ipv4_header_ok(out->data_out + 14));
		CHECK(memcmp(out->data_out + 34, in + 14, len - 14) == 0);
	} else {
		CHECK_EQ(out->retval, 2);
	}
}

TEST(xdp_adjust_head_encapsulation_matches_the_kernel)
{
	run_diff("encap", "xdp_encap", BPFVM_PROG_XDP, NULL, encap_check, &kernel_runs);
}

TEST(socket_filter_with_ld_abs_matches_the_kernel)
{
	run_diff("filter", "sock_filter", BPFVM_PROG_SOCKET_FILTER, "kept", NULL, &kernel_runs);
}

TEST(tc_vlan_pop_push_matches_the_kernel)
{
	run_diff("vlan", "tc_vlan", BPFVM_PROG_SCHED_CLS, NULL, NULL, &kernel_runs);
}

/* IPv4 packets (no VLAN tag) that took the MAC-mode IPv4 encapsulation
 * grew by 20 zero bytes after the MAC header, with the marker written
 * through the moved data pointer; the inner packet follows unchanged. */
static void room_check(const uint8_t *in, size_t len, const struct tr_result *out)
{
	if (in[11] % 20 != 1 || in[12] != 0x08 || in[13] != 0x00)
		return;
	static const uint8_t zero[19];
	CHECK_EQ(out->retval & 0x3ff, 0);
	CHECK_EQ(out->data_size_out, len + 20);
	CHECK_EQ(out->data_out[14], 0x45);
	CHECK(memcmp(out->data_out + 15, zero, sizeof(zero)) == 0);
	CHECK(memcmp(out->data_out + 34, in + 14, len - 14) == 0);
}

TEST(tc_adjust_room_modes_and_flags_match_the_kernel)
{
	run_diff("room", "tc_room", BPFVM_PROG_SCHED_CLS, NULL, room_check, &kernel_runs);
}

/* Run the program name of an object on ctx; returns the retval. */
static uint32_t run_tracing(struct bpfvm_object *obj, const char *name, void *ctx, size_t size)
{
	struct bpfvm_object_prog *op = bpfvm_object_find_prog(obj, name);
	CHECK(op != NULL);
	if (!op)
		return 0;
	struct bpfvm_prog_opts po = {.safety = BPFVM_SAFETY_CHECKED};
	CHECK_EQ(bpfvm_object_prog_load(op, &po), 0);
	struct bpfvm_prog *prog = bpfvm_object_prog_handle(op);
	if (!prog)
		return 0;
	struct bpfvm_test_run_opts o = {.ctx_in = ctx, .ctx_size_in = (uint32_t)size};
	CHECK_EQ(bpfvm_prog_test_run(prog, &o), 0);
	return o.retval;
}

TEST(tracing_programs_from_clang_read_their_context)
{
	char path[512];
	int crc = compile("tracing", path, sizeof(path));
	if (crc == 1)
		SKIP("clang is not installed");
	if (crc)
		return;
	struct bpfvm_vm *vm;
	struct bpfvm_object *obj;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	CHECK_EQ(bpfvm_object_open_file(vm, path, NULL, &obj), 0);
	/* x86-64 pt_regs: PT_REGS_PARM1..5 are di, si, dx, cx, r8 */
	uint64_t regs[21] = {0};
	regs[14] = 1, regs[13] = 2, regs[12] = 3, regs[11] = 4, regs[9] = 5;
	CHECK_EQ(run_tracing(obj, "kprobe_args", regs, sizeof(regs)), 55);
	uint64_t args[2] = {4, 2};
	CHECK_EQ(run_tracing(obj, "raw_tp_args", args, sizeof(args)), 42);
	uint64_t rec[5] = {0, 1, 1, 0x1000, 77};
	CHECK_EQ(run_tracing(obj, "tp_write", rec, sizeof(rec)), 77);
	bpfvm_object_close(obj);
	bpfvm_vm_destroy(vm);
}

/* ---- bpf_fib_lookup ------------------------------------------------------------ */

struct fib_req {
	uint32_t flags, rc;
	struct bpf_fib_lookup p;
};

#define FIB_PKT_LEN 100

static void fib_packet(uint8_t *pkt, const struct fib_req *q)
{
	memset(pkt, 0, FIB_PKT_LEN);
	pkt[0] = 2, pkt[12] = 0x88, pkt[13] = 0xb5; /* local experimental EtherType */
	memcpy(pkt + 14, q, sizeof(*q));
}

/* One lookup on bpfvm: the request's rc and params after the call. */
static struct fib_req fib_bpfvm(struct bpfvm_prog *prog, const struct bpfvm_fib *fib,
				const struct fib_req *q)
{
	uint8_t in[FIB_PKT_LEN], out[FIB_PKT_LEN + 64];
	struct fib_req r = {0};
	fib_packet(in, q);
	struct bpfvm_test_run_opts o = {.data_in = in, .data_size_in = FIB_PKT_LEN, .data_out = out,
					.data_size_out = sizeof(out), .fib = fib};
	CHECK_EQ(bpfvm_prog_test_run(prog, &o), 0);
	CHECK_EQ(o.data_size_out, FIB_PKT_LEN);
	memcpy(&r, out + 14, sizeof(r));
	return r;
}

static struct fib_req fib_kernel(int fd, const struct fib_req *q)
{
	uint8_t in[FIB_PKT_LEN], out[FIB_PKT_LEN + 64];
	struct fib_req r = {0};
	fib_packet(in, q);
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_size_in = FIB_PKT_LEN, .data_out = out,
		    .data_size_out = sizeof(out));
	CHECK_EQ(bpf_prog_test_run_opts(fd, &o), 0);
	memcpy(&r, out + 14, sizeof(r));
	return r;
}

static int sysctl_is_zero(const char *path)
{
	FILE *f = fopen(path, "r");
	int v = -1;
	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v == 0;
}

static struct fib_req fib_q4(uint32_t ifindex, const char *dst, uint32_t flags)
{
	struct fib_req q = {.flags = flags};
	q.p.family = AF_INET;
	q.p.ifindex = ifindex;
	inet_pton(AF_INET, dst, &q.p.ipv4_dst);
	return q;
}

static struct fib_req fib_q6(uint32_t ifindex, const char *dst, uint32_t flags)
{
	struct fib_req q = {.flags = flags};
	q.p.family = AF_INET6;
	q.p.ifindex = ifindex;
	inet_pton(AF_INET6, dst, q.p.ipv6_dst);
	return q;
}

/* Outcomes that do not depend on the machine's routes: a missing device,
 * the loopback with forwarding off (as a fresh namespace; checked only
 * where this machine has it off), unknown families and flags, IPv6
 * link-local/multicast/loopback addresses (never forwarded, before the
 * device is even looked up), a short params buffer. */
TEST(fib_lookup_matches_the_kernel_where_routes_do_not_matter)
{
	char path[512];
	int crc = compile("fib", path, sizeof(path));
	if (crc == 1)
		SKIP("clang is not installed");
	if (crc)
		return;
	int lo_v4_off = sysctl_is_zero("/proc/sys/net/ipv4/conf/lo/forwarding");
	int lo_v6_off = sysctl_is_zero("/proc/sys/net/ipv6/conf/lo/forwarding");
	struct fib_req qs[] = {
		fib_q4(999999, "10.1.1.1", 0), fib_q6(999999, "2001:db8::1", 0),
		fib_q4(1, "10.1.1.1", 0),      fib_q6(1, "2001:db8::1", 0),
		fib_q4(1, "10.1.1.1", 1u << 6), fib_q4(1, "10.1.1.1", 0x80000000u),
		fib_q6(999999, "fe80::1", 0),  fib_q6(999999, "ff02::1", 0),
		fib_q6(999999, "::1", 0),      fib_q4(1, "10.1.1.1", 1 | 8),
	};
	qs[4].p.family = 7; /* AF_AX25: not a FIB family */
	const char *progs[] = {"xdp_fib", "tc_fib"};
	for (int pi = 0; pi < 2; pi++) {
		struct side b = {0}, k = {0};
		CHECK_EQ(bpfvm_side(&b, path, progs[pi], BPFVM_ENGINE_INTERP), 0);
		if (!b.prog)
			return;
		int have_kernel = kernel_side(&k, path, progs[pi]) == 0;
		for (size_t i = 0; i < NINSNS(qs); i++) {
			struct fib_req br = fib_bpfvm(b.prog, NULL, &qs[i]);
			if (i == 0 || i == 1)
				CHECK_EQ((int32_t)br.rc, -ENODEV);
			if (i >= 6 && i <= 8)
				CHECK_EQ(br.rc, BPF_FIB_LKUP_RET_NOT_FWDED);
			int lo_case = i == 2 || i == 3 || i == 9;
			if (!have_kernel || (lo_case && !(qs[i].p.family == AF_INET ? lo_v4_off : lo_v6_off)))
				continue;
			struct fib_req kr = fib_kernel(k.kfd, &qs[i]);
			if (memcmp(&kr, &br, sizeof(kr)))
				harness_fail(__FILE__, __LINE__, "%s request %zu: kernel rc %d, bpfvm rc %d%s",
					     progs[pi], i, (int32_t)kr.rc, (int32_t)br.rc,
					     kr.rc == br.rc ? " (params differ)" : "");
		}
		if (have_kernel)
			kernel_runs++;
		side_close(&b);
		side_close(&k);
	}
	struct side b = {0}, k = {0};
	CHECK_EQ(bpfvm_side(&b, path, "xdp_fib_short", BPFVM_ENGINE_INTERP), 0);
	struct bpfvm_test_run_opts o = {.data_in = (uint8_t[64]){0}, .data_size_in = 64};
	if (b.prog) {
		CHECK_EQ(bpfvm_prog_test_run(b.prog, &o), 0);
		CHECK_EQ(o.retval, EINVAL);
	}
	if (kernel_side(&k, path, "xdp_fib_short") == 0) {
		LIBBPF_OPTS(bpf_test_run_opts, ko, .data_in = (uint8_t[64]){0}, .data_size_in = 64);
		CHECK_EQ(bpf_prog_test_run_opts(k.kfd, &ko), 0);
		CHECK_EQ(ko.retval, o.retval);
	}
	side_close(&b);
	side_close(&k);
}

static const char fib_text[] =
	"# devices: 2 and 3 forward, 4 does not, 6 has a tiny MTU\n"
	"dev 2 mac 02:00:00:00:00:02 mtu 1500 forwarding addr 10.0.0.1 addr 2001:db8::1\n"
	"dev 3 mac 02:00:00:00:00:03 mtu 9000 forwarding\n"
	"dev 4 mtu 1500\n"
	"\n"
	"dev 6 mac 02:00:00:00:00:06 mtu 68 forwarding\n"
	"route 10.1.0.0/16 dev 3 via 10.0.0.254 metric 10\n"
	"route 10.1.2.0/24 dev 2 metric 5\n"
	"route 10.1.2.0/24 dev 3 metric 1   # same prefix: the lower metric wins\n"
	"route 10.9.0.0/16 blackhole\n"
	"route 10.8.0.0/16 unreachable\n"
	"route 10.7.0.0/16 prohibit\n"
	"route 10.6.0.0/16 dev 2 lwt\n"
	"route 10.5.0.0/16 dev 2 mtu lock 1280\n"
	"route 10.4.0.0/16 dev 2 via fe80::1\n"
	"route 10.3.0.0/16 dev 6\n"
	"route 0.0.0.0/0 dev 2 via 10.0.0.253 table 100\n"
	"route 2001:db8:1::/48 dev 3 via 2001:db8::fe metric 7\n"
	"route 2001:db8:2::/48 dev 2\n"
	"route 2001:db8:3::/48 dev 3\n"
	"neigh 10.0.0.254 dev 3 lladdr 02:aa:00:00:00:fe\n"
	"neigh 10.1.2.7 dev 3 lladdr 02:aa:00:00:00:07\n"
	"neigh 2001:db8::fe dev 3 lladdr 02:aa:00:00:00:66\n"
	"neigh fe80::1 dev 2 lladdr 02:aa:00:00:00:80\n";

#define F_DIRECT 1u
#define F_OUTPUT 2u
#define F_SKIP 4u
#define F_TBID 8u
#define F_SRC 16u

static void check_mac(const uint8_t *mac, uint8_t last4, uint8_t last)
{
	const uint8_t want[6] = {0x02, last4, 0, 0, 0, last};
	CHECK(memcmp(mac, want, 6) == 0);
}

/* The host's FIB: longest prefix and metric, gateways (an IPv6 one for an
 * IPv4 route too), neighbours and MACs, route types, MTUs, tables, the
 * OUTPUT, SKIP_NEIGH, TBID and SRC flags, on XDP and tc. */
TEST(fib_lookup_follows_the_hosts_routes_and_neighbours)
{
	char path[512];
	int crc = compile("fib", path, sizeof(path));
	if (crc == 1)
		SKIP("clang is not installed");
	if (crc)
		return;
	struct bpfvm_fib *fib;
	CHECK_EQ(bpfvm_fib_create(&fib), 0);
	CHECK_EQ(bpfvm_fib_parse(fib, fib_text), 0);
	struct side b = {0}, t = {0};
	CHECK_EQ(bpfvm_side(&b, path, "xdp_fib", BPFVM_ENGINE_INTERP), 0);
	CHECK_EQ(bpfvm_side(&t, path, "tc_fib", BPFVM_ENGINE_INTERP), 0);
	if (!b.prog || !t.prog)
		return;
	struct fib_req q = fib_q4(2, "10.1.9.9", 0), r = fib_bpfvm(b.prog, fib, &q);
	CHECK_EQ(r.rc, BPF_FIB_LKUP_RET_SUCCESS);
	CHECK_EQ(r.p.ifindex, 3);
	CHECK_EQ(r.p.ipv4_dst, htonl(0x0a0000fe));
	CHECK_EQ(r.p.rt_metric, 10);
	CHECK_EQ(r.p.mtu_result, 9000);
	check_mac(r.p.dmac, 0xaa, 0xfe);
	check_mac(r.p.smac, 0, 3);
	q = fib_q4(2, "10.1.2.7", 0), r = fib_bpfvm(b.prog, fib, &q);
	CHECK_EQ(r.rc, BPF_FIB_LKUP_RET_SUCCESS);
	CHECK_EQ(r.p.ifindex, 3);
	CHECK_EQ(r.p.rt_metric, 1);
	CHECK_EQ(r.p.ipv4_dst, htonl(0x0a010207));
	check_mac(r.p.dmac, 0xaa, 0x07);
	q = fib_q4(2, "10.1.2.8", 0);
	CHECK_EQ(fib_bpfvm(b.prog, fib, &q).rc, BPF_FIB_LKUP_RET_NO_NEIGH);
	q.flags = F_SKIP, r = fib_bpfvm(b.prog, fib, &q);
	CHECK_EQ(r.rc, BPF_FIB_LKUP_RET_SUCCESS);
	CHECK(memcmp(r.p.dmac, (uint8_t[6]){0}, 6) == 0); /* left as it was */
	const struct { const char *dst; uint32_t rc; } types[] = {
		{"10.9.1.1", BPF_FIB_LKUP_RET_BLACKHOLE}, {"10.8.1.1", BPF_FIB_LKUP_RET_UNREACHABLE},
		{"10.7.1.1", BPF_FIB_LKUP_RET_PROHIBIT},  {"10.6.1.1", BPF_FIB_LKUP_RET_UNSUPP_LWT},
		{"192.168.1.1", BPF_FIB_LKUP_RET_NOT_FWDED},
	};
	for (size_t i = 0; i < NINSNS(types); i++) {
		q = fib_q4(2, types[i].dst, 0);
		CHECK_EQ(fib_bpfvm(b.prog, fib, &q).rc, types[i].rc);
		CHECK_EQ(fib_bpfvm(t.prog, fib, &q).rc, types[i].rc);
	}
	/* MTU: the route's when it has one; tot_len above it needs fragmenting */
	q = fib_q4(2, "10.5.1.1", F_SKIP), q.p.tot_len = 1400, r = fib_bpfvm(t.prog, fib, &q);
	CHECK_EQ(r.rc, BPF_FIB_LKUP_RET_FRAG_NEEDED);
	CHECK_EQ(r.p.mtu_result, 1280);
	/* tc without tot_len: the packet itself against the device MTU */
	q = fib_q4(2, "10.3.1.1", F_SKIP), r = fib_bpfvm(t.prog, fib, &q);
	CHECK_EQ(r.rc, BPF_FIB_LKUP_RET_FRAG_NEEDED);
	CHECK_EQ(r.p.mtu_result, 68);
	CHECK_EQ(fib_bpfvm(b.prog, fib, &q).rc, BPF_FIB_LKUP_RET_SUCCESS);
	/* an IPv6 gateway turns the IPv4 result into IPv6 */
	q = fib_q4(2, "10.4.1.1", 0), r = fib_bpfvm(b.prog, fib, &q);
	CHECK_EQ(r.rc, BPF_FIB_LKUP_RET_SUCCESS);
	CHECK_EQ(r.p.family, AF_INET6);
	CHECK_EQ(r.p.ipv6_dst[0], htonl(0xfe800000));
	check_mac(r.p.dmac, 0xaa, 0x80);
	/* tables: only DIRECT|TBID reaches table 100, and tbid reads back 0 */
	q = fib_q4(2, "192.168.1.1", F_DIRECT | F_TBID | F_SKIP), q.p.tbid = 100;
	r = fib_bpfvm(b.prog, fib, &q);
	CHECK_EQ(r.rc, BPF_FIB_LKUP_RET_SUCCESS);
	CHECK_EQ(r.p.ipv4_dst, htonl(0x0a0000fd));
	CHECK_EQ(r.p.tbid, 0);
	q.p.tbid = 77;
	CHECK_EQ(fib_bpfvm(b.prog, fib, &q).rc, BPF_FIB_LKUP_RET_NOT_FWDED);
	/* a device's own address is local: not forwarded, unless DIRECT skips
	 * the local table and the main table's route applies */
	q = fib_q4(2, "10.0.0.1", F_SKIP);
	CHECK_EQ(fib_bpfvm(b.prog, fib, &q).rc, BPF_FIB_LKUP_RET_NOT_FWDED);
	q = fib_q4(2, "10.0.0.1", F_SKIP | F_DIRECT | F_TBID), q.p.tbid = 100;
	CHECK_EQ(fib_bpfvm(b.prog, fib, &q).rc, BPF_FIB_LKUP_RET_SUCCESS);
	/* devices: forwarding off, unknown */
	q = fib_q4(4, "10.1.2.7", 0);
	CHECK_EQ(fib_bpfvm(b.prog, fib, &q).rc, BPF_FIB_LKUP_RET_FWD_DISABLED);
	q = fib_q4(5, "10.1.2.7", 0);
	CHECK_EQ((int32_t)fib_bpfvm(b.prog, fib, &q).rc, -ENODEV);
	/* OUTPUT: only routes leaving through ifindex (the metric-5 one) */
	q = fib_q4(2, "10.1.2.7", F_OUTPUT | F_SKIP), r = fib_bpfvm(b.prog, fib, &q);
	CHECK_EQ(r.rc, BPF_FIB_LKUP_RET_SUCCESS);
	CHECK_EQ(r.p.ifindex, 2);
	CHECK_EQ(r.p.rt_metric, 5);
	/* SRC: the device's address; IPv6 without one is NO_SRC_ADDR */
	q = fib_q6(2, "2001:db8:2::5", F_SRC | F_SKIP), r = fib_bpfvm(b.prog, fib, &q);
	CHECK_EQ(r.rc, BPF_FIB_LKUP_RET_SUCCESS);
	CHECK_EQ(r.p.ipv6_src[0], htonl(0x20010db8));
	CHECK_EQ(r.p.ipv6_src[3], htonl(1));
	q = fib_q6(2, "2001:db8:3::5", F_SRC | F_SKIP);
	CHECK_EQ(fib_bpfvm(b.prog, fib, &q).rc, BPF_FIB_LKUP_RET_NO_SRC_ADDR);
	q = fib_q6(2, "2001:db8:1::5", 0), r = fib_bpfvm(t.prog, fib, &q);
	CHECK_EQ(r.rc, BPF_FIB_LKUP_RET_SUCCESS);
	CHECK_EQ(r.p.ipv6_dst[3], htonl(0xfe));
	CHECK_EQ(r.p.rt_metric, 7);
	check_mac(r.p.dmac, 0xaa, 0x66);
	side_close(&b);
	side_close(&t);
	bpfvm_fib_destroy(fib);
}

/* ---- the same routes in a private network namespace of the kernel ---------- */

/* Two veth pairs: v0 (10.0.0.1/24, 2001:db8::1/64, MTU 1500) and v2
 * (10.2.0.1/24, MTU 9000) forward, v1 (v0's peer) does not; routes of
 * every type, a second table, neighbours. The kernel's XDP/tc test runs
 * look up routes in the caller's namespace. */
static const char netns_cmds[] =
	"set -e; exec >/dev/null 2>&1\n"
	"ip link set lo up\n"
	"ip link add v0 type veth peer name v1\n"
	"ip link add v2 type veth peer name v3\n"
	"ip link set v0 address 02:00:00:00:00:0a mtu 1500 up\n"
	"ip link set v1 address 02:00:00:00:00:1a up\n"
	"ip link set v2 address 02:00:00:00:00:0b mtu 9000 up\n"
	"ip link set v3 mtu 9000 up\n"
	"echo 1 > /proc/sys/net/ipv4/conf/all/forwarding\n"
	"echo 1 > /proc/sys/net/ipv6/conf/all/forwarding\n"
	"echo 0 > /proc/sys/net/ipv4/conf/v1/forwarding\n"
	"echo 0 > /proc/sys/net/ipv6/conf/v1/forwarding\n"
	"ip addr add 10.0.0.1/24 dev v0\n"
	"ip addr add 2001:db8::1/64 dev v0 nodad\n"
	"ip addr add 10.2.0.1/24 dev v2\n"
	"ip route add 10.1.0.0/16 via 10.0.0.254 dev v0 metric 10\n"
	"ip route add 10.1.2.0/24 dev v2 metric 1\n"
	"ip route add blackhole 10.9.0.0/16\n"
	"ip route add unreachable 10.8.0.0/16\n"
	"ip route add prohibit 10.7.0.0/16\n"
	"ip route add 10.5.0.0/16 dev v0 mtu lock 1280\n"
	"ip route add 10.6.0.0/16 dev v0 mtu 1280\n"
	"ip route add default via 10.0.0.253 dev v0 table 100\n"
	"ip -6 route add 2001:db8:1::/48 via 2001:db8::fe dev v0 metric 7\n"
	"ip neigh add 10.0.0.254 lladdr 02:aa:00:00:00:fe dev v0 nud permanent\n"
	"ip neigh add 10.1.2.7 lladdr 02:aa:00:00:00:07 dev v2 nud permanent\n"
	"ip neigh add 2001:db8::fe lladdr 02:aa:00:00:00:66 dev v0 nud permanent\n";

/* The same, for bpfvm: the kernel's connected routes (metric 0 for IPv4,
 * 256 for IPv6) are written out. */
static int netns_fib_text(char *buf, size_t len, uint32_t v0, uint32_t v1, uint32_t v2)
{
	return snprintf(buf, len,
		"dev %u mac 02:00:00:00:00:0a mtu 1500 forwarding addr 10.0.0.1 addr 2001:db8::1\n"
		"dev %u mac 02:00:00:00:00:1a mtu 1500\n"
		"dev %u mac 02:00:00:00:00:0b mtu 9000 forwarding addr 10.2.0.1\n"
		"route 10.0.0.0/24 dev %u src 10.0.0.1\n"
		"route 10.2.0.0/24 dev %u src 10.2.0.1\n"
		"route 2001:db8::/64 dev %u metric 256\n"
		"route 10.1.0.0/16 dev %u via 10.0.0.254 metric 10\n"
		"route 10.1.2.0/24 dev %u metric 1\n"
		"route 10.9.0.0/16 blackhole\n"
		"route 10.8.0.0/16 unreachable\n"
		"route 10.7.0.0/16 prohibit\n"
		"route 10.5.0.0/16 dev %u mtu lock 1280\n"
		"route 10.6.0.0/16 dev %u mtu 1280\n"
		"route 0.0.0.0/0 dev %u via 10.0.0.253 table 100\n"
		"route 2001:db8:1::/48 dev %u via 2001:db8::fe metric 7\n"
		"neigh 10.0.0.254 dev %u lladdr 02:aa:00:00:00:fe\n"
		"neigh 10.1.2.7 dev %u lladdr 02:aa:00:00:00:07\n"
		"neigh 2001:db8::fe dev %u lladdr 02:aa:00:00:00:66\n",
		v0, v1, v2, v0, v2, v0, v0, v2, v0, v0, v0, v0, v0, v2, v0);
}

/* In the child, inside the namespace: every request on both sides and
 * both program types; the number of differences. */
static int netns_compare(const char *path)
{
	uint32_t v0 = if_nametoindex("v0"), v1 = if_nametoindex("v1"), v2 = if_nametoindex("v2");
	char text[2048];
	struct bpfvm_fib *fib;
	netns_fib_text(text, sizeof(text), v0, v1, v2);
	if (!v0 || !v1 || !v2 || bpfvm_fib_create(&fib) || bpfvm_fib_parse(fib, text)) {
		printf("    netns FIB setup failed\n");
		return 1;
	}
	struct fib_req qs[] = {
		fib_q4(v0, "10.1.9.9", 0),          fib_q4(v0, "10.1.2.7", 0),
		fib_q4(v0, "10.1.2.8", 0),          fib_q4(v0, "10.1.2.8", F_SKIP),
		fib_q4(v0, "10.0.0.77", 0),         fib_q4(v0, "10.0.0.77", F_SKIP),
		fib_q4(v0, "10.0.0.1", 0),          fib_q4(v0, "10.9.1.1", 0),
		fib_q4(v0, "10.8.1.1", 0),          fib_q4(v0, "10.7.1.1", 0),
		fib_q4(v0, "10.5.1.1", F_SKIP),     fib_q4(v0, "10.5.1.1", F_SKIP),
		fib_q4(v0, "192.168.1.1", 0),       fib_q4(v0, "192.168.1.1", F_DIRECT | F_TBID | F_SKIP),
		fib_q4(v0, "192.168.1.1", F_DIRECT | F_TBID), fib_q4(v0, "10.1.2.7", F_OUTPUT),
		fib_q4(v0, "10.1.9.9", F_SRC),      fib_q4(v0, "10.1.2.7", F_SRC),
		fib_q4(v1, "10.1.2.7", 0),          fib_q4(v0, "10.1.2.7", F_DIRECT),
		fib_q6(v0, "2001:db8:1::5", 0),     fib_q6(v0, "2001:db8:1::5", F_SRC),
		fib_q6(v0, "2001:db8::77", 0),      fib_q6(v0, "2001:db8::77", F_SKIP),
		fib_q6(v0, "2001:db9::1", 0),       fib_q6(v1, "2001:db8:1::5", 0),
		fib_q4(v2, "10.1.9.9", 0),          fib_q4(v0, "10.1.9.9", F_DIRECT | F_TBID),
		fib_q4(v0, "10.6.1.1", F_SKIP),
	};
	qs[28].p.tot_len = 1400; /* an unlocked route MTU does not count */
	qs[10].p.tot_len = 1400;
	qs[11].p.tot_len = 1000;
	qs[13].p.tbid = 100;
	qs[14].p.tbid = 77;
	qs[27].p.tbid = 254;
	const char *progs[] = {"xdp_fib", "tc_fib"};
	int diffs = 0;
	for (int pi = 0; pi < 2; pi++) {
		struct side b = {0}, k = {0};
		if (bpfvm_side(&b, path, progs[pi], BPFVM_ENGINE_INTERP) || kernel_side(&k, path, progs[pi])) {
			printf("    %s: load failed\n", progs[pi]);
			return 1;
		}
		for (size_t i = 0; i < NINSNS(qs); i++) {
			struct fib_req br = fib_bpfvm(b.prog, fib, &qs[i]), kr = fib_kernel(k.kfd, &qs[i]);
			if (!memcmp(&br, &kr, sizeof(br)))
				continue;
			size_t at = 0;
			while (((uint8_t *)&br)[at] == ((uint8_t *)&kr)[at])
				at++;
			printf("    %s request %zu: kernel rc %d, bpfvm rc %d, first difference at byte %zu\n",
			       progs[pi], i, (int32_t)kr.rc, (int32_t)br.rc, at);
			diffs++;
		}
		side_close(&b);
		side_close(&k);
	}
	bpfvm_fib_destroy(fib);
	return diffs;
}

/* bpf_fib_lookup against the kernel on the same routes: a child process
 * makes a network namespace (needs root and iproute2 with veth), builds
 * the routes there and in a bpfvm FIB, and compares every request. */
TEST(fib_lookup_matches_the_kernel_on_the_same_routes_in_a_private_netns)
{
	char path[512];
	int crc = compile("fib", path, sizeof(path));
	if (crc == 1)
		SKIP("clang is not installed");
	if (crc)
		return;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		if (unshare(CLONE_NEWNET))
			_exit(77);
		if (system(netns_cmds) != 0)
			_exit(78);
		int diffs = netns_compare(path);
		fflush(stdout);
		_exit(diffs ? 1 : 0);
	}
	int status = 0;
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	if (code == 77)
		SKIP("cannot make a network namespace (needs root)");
	if (code == 78)
		SKIP("cannot set up veth devices and routes with ip in a namespace");
	if (code != 0)
		harness_fail(__FILE__, __LINE__, "kernel and bpfvm differ on the namespace's routes "
			     "(exit %d, details above)", code);
	else
		kernel_runs++;
}

TEST(fib_text_errors_name_the_line)
{
	struct bpfvm_fib *fib;
	CHECK_EQ(bpfvm_fib_create(&fib), 0);
	CHECK_EQ(bpfvm_fib_parse(fib, "dev 2\n\nroute 10.0.0.0/33 dev 2\n"), -EINVAL);
	CHECK(strstr(bpfvm_fib_last_error(fib), "line 3") != NULL);
	CHECK_EQ(bpfvm_fib_parse(fib, "neigh 10.0.0.1 dev 9 lladdr 02:00:00:00:00:01\n"), -ENODEV);
	CHECK(strstr(bpfvm_fib_last_error(fib), "device 9") != NULL);
	CHECK_EQ(bpfvm_fib_parse(fib, "route 10.0.0.0/8 dev 2 via nowhere\n"), -EINVAL);
	CHECK(strstr(bpfvm_fib_last_error(fib), "'via'") != NULL);
	CHECK_EQ(bpfvm_fib_parse(fib, "gateway 1.2.3.4\n"), -EINVAL);
	bpfvm_fib_destroy(fib);
}

TEST(zz_kernel_was_compared)
{
	if (!kernel_runs)
		SKIP("no kernel BPF_PROG_TEST_RUN here (needs root); compared bpfvm only");
	CHECK(kernel_runs >= 5);
}
