/* Differential tests: C programs compiled with clang at test time, loaded
 * into bpfvm by its ELF loader and into the kernel by libbpf, run on the
 * same generated packets; retval, data_out and the maps must agree. The
 * kernel half needs root; without it the bpfvm half still checks its own
 * invariants (valid checksums after rewriting, encapsulated lengths). */
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

TEST(zz_kernel_was_compared)
{
	if (!kernel_runs)
		SKIP("no kernel BPF_PROG_TEST_RUN here (needs root); compared bpfvm only");
	CHECK(kernel_runs >= 5);
}
