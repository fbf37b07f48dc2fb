/* Differential test: random structured programs go to the live kernel's
 * verifier (BPF_PROG_LOAD as root) and to bpfvm's; the verdicts must agree
 * and nothing bpfvm accepts may be rejected by the kernel. Every program
 * bpfvm accepts also runs in the interpreter with run-time checks on, and
 * no check may fire. BPFVM_DIFF_COUNT sets the number of programs (300
 * under make check) and BPFVM_DIFF_FIRST the first seed; BPFVM_DIFF_VERBOSE=1
 * lists disagreements (2: also differing messages). */
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bpfvm/bpfvm.h"
#include "common/harness.h"
#include "verifier/diffgen.c"

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

static int kmap_create(int type, int k, int v, int max)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.map_type = (uint32_t)type;
	a.key_size = (uint32_t)k;
	a.value_size = (uint32_t)v;
	a.max_entries = (uint32_t)max;
	return (int)sys_bpf(BPF_MAP_CREATE, &a);
}

static int is_noise(const char *l)
{
	static const char *const prefixes[] = {"cur state:", "old state:", "from ", "; ", "mark_precise", "last_idx",
					       "regs=", "parent ", " ", "\t"};
	const char *d = l;
	while (*d >= '0' && *d <= '9')
		d++;
	if (d > l && d[0] == ':' && d[1] == ' ')
		return 1;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (!strncmp(l, prefixes[i], strlen(prefixes[i])))
			return 1;
	return 0;
}

/* 0 accepted, else -errno; the key message (last log line) in msg. */
static int kload(const struct bpfvm_insn *insns, int n, const int *fds, char *msg, size_t msglen, char *log,
		 size_t loglen)
{
	struct bpf_insn k[DG_MAX];
	for (int i = 0; i < n; i++) {
		memcpy(&k[i], &insns[i], sizeof(k[i]));
		if (insns[i].code == 0x18 && insns[i].src == 1)
			k[i].imm = fds[insns[i].imm];
	}
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	a.insns = (uint64_t)(uintptr_t)k;
	a.insn_cnt = (uint32_t)n;
	a.license = (uint64_t)(uintptr_t)"GPL";
	msg[0] = 0;
	log[0] = 0;
	/* the verdict from a load without a log (a log that overflows would
	 * turn an accepted program into ENOSPC), the message from a second */
	int fd = (int)sys_bpf(BPF_PROG_LOAD, &a);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	int err = errno;
	a.log_buf = (uint64_t)(uintptr_t)log;
	a.log_size = (uint32_t)loglen;
	a.log_level = 1;
	fd = (int)sys_bpf(BPF_PROG_LOAD, &a);
	if (fd >= 0)
		close(fd);
	/* key line: the last line before "processed N insns" that is not a
	 * state dump (the rule of shared/verifier-cases/kcases.py) */
	char *p = strstr(log, "processed ");
	if (p) {
		if (p > log && p[-1] != '\n') {
			char *start = p;
			while (start > log && start[-1] != '\n')
				start--;
			snprintf(msg, msglen, "%.*s", (int)(p - start), start);
			size_t l = strlen(msg);
			while (l && msg[l - 1] == ' ')
				msg[--l] = 0;
			return -err;
		}
		*p = 0;
		for (;;) {
			char *end = p;
			while (end > log && end[-1] == '\n')
				*--end = 0;
			char *line = strrchr(log, '\n');
			line = line ? line + 1 : log;
			/* the kernel appends this one to the instruction's line */
			const char *inf = strstr(line, "infinite loop detected at insn");
			if (inf) {
				snprintf(msg, msglen, "%.200s", inf);
				break;
			}
			if (line == log || !is_noise(line)) {
				snprintf(msg, msglen, "%.500s", line);
				break;
			}
			*line = 0;
			p = line;
		}
	}
	return -err;
}

struct stats {
	int total, agree, both_accept, both_reject, same_msg, vm_only_accept, kernel_only_accept, unsound_runs;
};

static int env_int(const char *name, int def)
{
	const char *v = getenv(name);
	return v && *v ? atoi(v) : def;
}

TEST(random_programs_agree_with_the_kernel_and_run_safely)
{
	int count = env_int("BPFVM_DIFF_COUNT", 300);
	int verbose = env_int("BPFVM_DIFF_VERBOSE", 0);
	int first = env_int("BPFVM_DIFF_FIRST", 1);
	int fds[2];
	fds[0] = kmap_create(BPF_MAP_TYPE_HASH, 8, 8, 16);
	fds[1] = kmap_create(BPF_MAP_TYPE_ARRAY, 4, 16, 4);
	if (fds[0] < 0 || fds[1] < 0) {
		int e = errno;
		if (fds[0] >= 0)
			close(fds[0]);
		if (e == EPERM || e == ENOSYS || e == EACCES)
			SKIP("the kernel refuses bpf() here (not root or no BPF)");
		SKIP("cannot create kernel maps");
	}
	struct bpfvm_vm *vm = NULL;
	CHECK(bpfvm_vm_create(&vm) == 0);
	struct bpfvm_map *maps[2];
	struct bpfvm_map_def d0 = {.type = BPFVM_MAP_HASH, .key_size = 8, .value_size = 8, .max_entries = 16};
	struct bpfvm_map_def d1 = {.type = BPFVM_MAP_ARRAY, .key_size = 4, .value_size = 16, .max_entries = 4};
	CHECK(bpfvm_map_create(vm, &d0, &maps[0]) == 0);
	CHECK(bpfvm_map_create(vm, &d1, &maps[1]) == 0);
	static char klog[1 << 20];
	char kmsg[512];
	struct stats s = {0};
	struct dg *g = malloc(sizeof(*g));
	for (int i = 0; i < count; i++) {
		dg_generate(g, (uint64_t)(i + first));
		int krc = kload(g->insns, g->n, fds, kmsg, sizeof(kmsg), klog, sizeof(klog));
		int seed = i + first;
		if (i == 0 && (krc == -EPERM || krc == -ENOSYS)) {
			free(g);
			bpfvm_vm_destroy(vm);
			close(fds[0]);
			close(fds[1]);
			SKIP("the kernel refuses BPF_PROG_LOAD here");
		}
		struct bpfvm_prog_opts opts = {.type = BPFVM_PROG_SOCKET_FILTER, .safety = BPFVM_SAFETY_VERIFIED,
					       .engine = BPFVM_ENGINE_INTERP, .maps = maps, .nmaps = 2};
		struct bpfvm_prog *prog = NULL;
		int vrc = bpfvm_prog_load(vm, g->insns, (size_t)g->n, &opts, &prog);
		const char *vmsg = bpfvm_vm_last_error(vm);
		const char *vkey = strstr(vmsg, ": ");
		vkey = vkey ? vkey + 2 : vmsg;
		s.total++;
		if (!vrc == !krc) {
			s.agree++;
			if (!vrc)
				s.both_accept++;
			else {
				s.both_reject++;
				s.same_msg += !strcmp(vkey, kmsg);
				if (verbose > 1 && strcmp(vkey, kmsg))
					printf("msg seed %d: bpfvm '%s' kernel '%s'\n", seed, vkey, kmsg);
				if (verbose > 2)
					printf("reject: %s\n", kmsg);
			}
		} else if (!vrc) {
			s.vm_only_accept++;
			printf("UNSAFE seed %d: bpfvm accepts, kernel rejects (%d) '%s'\n", seed, krc, kmsg);
		} else {
			s.kernel_only_accept++;
			if (verbose)
				printf("strict seed %d: bpfvm rejects '%s', kernel accepts\n", seed, vmsg);
		}
		if (!vrc) {
			/* soundness: the same program with run-time checks never faults */
			bpfvm_prog_destroy(prog);
			prog = NULL;
			opts.safety = BPFVM_SAFETY_CHECKED;
			if (bpfvm_prog_load(vm, g->insns, (size_t)g->n, &opts, &prog) == 0) {
				uint8_t skb[192] = {0};
				struct bpfvm_run run = {.ctx = skb, .ctx_size = sizeof(skb), .engine = BPFVM_ENGINE_INTERP};
				int rrc = bpfvm_prog_run(prog, &run);
				if (rrc) {
					s.unsound_runs++;
					printf("FAULT seed %d: verified program faults with checks on: %s\n", seed, run.error);
				}
			}
		}
		bpfvm_prog_destroy(prog);
	}
	printf("programs %d, verdicts agree %d (%.2f%%), both accept %d, both reject %d (same message %d), "
	       "bpfvm-only accept %d, kernel-only accept %d, faults under checks %d\n",
	       s.total, s.agree, 100.0 * s.agree / (s.total ? s.total : 1), s.both_accept, s.both_reject, s.same_msg,
	       s.vm_only_accept, s.kernel_only_accept, s.unsound_runs);
	CHECK(s.vm_only_accept == 0);
	CHECK(s.unsound_runs == 0);
	CHECK(s.agree * 100 >= s.total * 97);
	free(g);
	bpfvm_map_destroy(maps[0]);
	bpfvm_map_destroy(maps[1]);
	bpfvm_vm_destroy(vm);
	close(fds[0]);
	close(fds[1]);
}
