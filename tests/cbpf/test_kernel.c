/* The validator against the kernel: SO_ATTACH_FILTER runs the kernel's
 * bpf_check_classic on a program; bpfvm_cbpf_validate must accept exactly
 * the programs the kernel accepts (random programs, valid and not, and
 * every tcpdump program of a few expressions). Skips without sockets. */
#include <errno.h>
#include <linux/filter.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bpfvm/cbpf.h"
#include "cbpf/cbpf_internal.h"
#include "cbpf/traffic.h"
#include "common/harness.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* 1 accepted, 0 rejected (EINVAL), -1 the kernel cannot be asked. */
static int kernel_accepts(int sock, const struct bpfvm_cbpf_insn *p, size_t n)
{
	struct sock_fprog prog = {(unsigned short)n, (struct sock_filter *)(uintptr_t)p};
	if (setsockopt(sock, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) == 0) {
		setsockopt(sock, SOL_SOCKET, SO_DETACH_FILTER, NULL, 0);
		return 1;
	}
	return errno == EINVAL ? 0 : -1;
}

static int is_known_ancillary(const struct bpfvm_cbpf_insn *in)
{
	const struct cbpf_opinfo *row = bpfvm__cbpf_lookup(in->code);
	uint32_t off = in->k - (uint32_t)SKF_AD_OFF;
	return row && row->kind == CBPF_K_LD_ABS && in->k >= (uint32_t)SKF_AD_OFF && off < SKF_AD_MAX &&
	       off % 4 == 0;
}

/* A random program, often almost valid: table opcodes with occasional
 * unknown ones, jumps sometimes past the end, M[] indexes sometimes out of
 * range, loads from the kernel's negative offsets, a final return usually. */
static size_t random_program(uint64_t *s, struct bpfvm_cbpf_insn *p, size_t max)
{
	const struct cbpf_opinfo *t = bpfvm__cbpf_table();
	size_t n = 1 + traffic_pick(s, (unsigned)max);
	for (size_t pc = 0; pc < n; pc++) {
		uint16_t code = traffic_pick(s, 16) == 0 ? (uint16_t)traffic_pick(s, 0x100)
							 : t[traffic_pick(s, CBPF_OP__COUNT)].code;
		uint32_t k;
		switch (traffic_pick(s, 10)) {
		case 0: k = (uint32_t)traffic_rand(s); break;
		case 1: k = (uint32_t)SKF_AD_OFF + traffic_pick(s, 80); break;
		case 2: k = (uint32_t)SKF_NET_OFF + traffic_pick(s, 40); break;
		case 3: k = traffic_pick(s, 40); break;
		default: k = traffic_pick(s, 20); break;
		}
		size_t room = n - pc;
		uint8_t jt = (uint8_t)traffic_pick(s, (unsigned)(room + 2 < 256 ? room + 2 : 256));
		uint8_t jf = (uint8_t)traffic_pick(s, (unsigned)(room + 2 < 256 ? room + 2 : 256));
		p[pc] = (struct bpfvm_cbpf_insn){code, jt, jf, k};
	}
	if (traffic_pick(s, 8))
		p[n - 1] = (struct bpfvm_cbpf_insn){t[traffic_pick(s, 2) ? CBPF_OP_RET_A : CBPF_OP_RET_K].code,
						    0, 0, 1};
	return n;
}

TEST(validator_agrees_with_the_kernel_on_random_programs)
{
	int sock = socket(AF_INET, SOCK_DGRAM, 0);
	if (sock < 0)
		SKIP("no socket to attach filters to");
	uint64_t seed = 0x5eed;
	struct bpfvm_cbpf_insn p[24];
	int accepted = 0, rejected = 0, skipped_anc = 0;
	for (int i = 0; i < 20000; i++) {
		size_t n = random_program(&seed, p, N(p));
		int anc = 0;
		for (size_t pc = 0; pc < n; pc++)
			anc |= is_known_ancillary(&p[pc]);
		int kernel = kernel_accepts(sock, p, n);
		if (kernel < 0) {
			close(sock);
			SKIP("the kernel refused SO_ATTACH_FILTER for another reason than EINVAL");
		}
		char err[256] = "";
		int ours = bpfvm_cbpf_validate(p, n, err, sizeof(err)) == 0;
		if (anc && kernel && !ours) { /* bpfvm refuses the known extensions on purpose */
			CHECK_CONTAINS(err, "ancillary");
			skipped_anc++;
			continue;
		}
		if (ours != kernel) {
			char *text = bpfvm_cbpf_dump(p, n, BPFVM_CBPF_LISTING);
			harness_fail(__FILE__, __LINE__, "program %d: kernel %s, bpfvm %s (%s):\n%s", i,
				     kernel ? "accepts" : "rejects", ours ? "accepts" : "rejects", err,
				     text ? text : "");
			free(text);
			break;
		}
		if (ours)
			accepted++;
		else
			rejected++;
	}
	close(sock);
	/* Both verdicts must have been exercised for the agreement to mean much. */
	CHECK(accepted > 500);
	CHECK(rejected > 500);
	fprintf(stderr, "note: %d accepted, %d rejected by both, %d known ancillary loads\n", accepted,
		rejected, skipped_anc);
}

TEST(kernel_accepts_what_bpfvm_accepts_from_tcpdump)
{
	int sock = socket(AF_INET, SOCK_DGRAM, 0);
	if (sock < 0)
		SKIP("no socket to attach filters to");
	static const char *const exprs[] = {"tcp and port 80", "vlan and udp", "ip6 and ip6[6] == 44",
					    "ip[2:2] % 7 = 3", "tcp[((tcp[12] & 0xf0) >> 2):4] = 0x47455420"};
	for (size_t e = 0; e < N(exprs); e++) {
		struct bpfvm_cbpf_insn *p;
		size_t n;
		char err[256];
		CHECK_EQ(bpfvm_cbpf_compile(exprs[e], 1, 65535, &p, &n, err, sizeof(err)), 0);
		CHECK_EQ(bpfvm_cbpf_validate(p, n, err, sizeof(err)), 0);
		CHECK_EQ(kernel_accepts(sock, p, n), 1);
		free(p);
	}
	close(sock);
}
