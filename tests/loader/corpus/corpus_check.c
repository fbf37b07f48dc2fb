/* For each object file given: does it open, does each program verify, does
 * each program run (BPF_PROG_TEST_RUN style, with run-time checks so that
 * running is measured apart from verifying)? Prints one line per program:
 *   OBJECT PROG TYPE open=ok|fail verify=ok|fail|n/a run=ok|fail|n/a
 *   kernel=ok|fail|n/a REASON
 * where kernel is the running kernel's verdict on the program (libbpf
 * loads it alone, pins cleared; n/a without privileges or when libbpf 1.x
 * cannot open the object).
 * Used by corpus.sh to build docs/corpus.md. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "bpfvm/bpfvm.h"
#include "bpfvm/object.h"
#include "bpfvm/testrun.h"

/* Ethernet + IPv4 + UDP, so that parsers get past their first checks. */
static const unsigned char packet[64] = {
	0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00,             /* eth */
	0x45, 0, 0, 50, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, /* ipv4 */
	0x30, 0x39, 0x00, 0x35, 0, 30, 0, 0,                               /* udp */
};

static int uses_packet(enum bpfvm_prog_type t)
{
	return t == BPFVM_PROG_XDP || t == BPFVM_PROG_SCHED_CLS || t == BPFVM_PROG_SCHED_ACT ||
	       t == BPFVM_PROG_SOCKET_FILTER;
}

static void one_line(char *s)
{
	for (; *s; s++)
		if (*s == '\n' || *s == '\t')
			*s = ' ';
}

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level, (void)fmt, (void)ap;
	return 0;
}

/* Load with libbpf into the running kernel, every program with the type
 * bpfvm gave it (libbpf 1.x knows no type for "xdp_prog" or custom
 * sections). only == NULL loads them all. Returns 0, -EPERM, or another
 * error. */
static int kernel_load(const char *path, const char *only)
{
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	struct bpfvm_vm *vm;
	struct bpfvm_object *mine = NULL;
	if (!obj)
		return -ENOENT;
	if (bpfvm_vm_create(&vm) == 0 && bpfvm_object_open_file(vm, path, NULL, &mine) == 0) {
		struct bpf_program *p;
		bpf_object__for_each_program(p, obj)
		{
			struct bpfvm_object_prog *mp = bpfvm_object_find_prog(mine, bpf_program__name(p));
			if (mp && bpfvm_object_prog_type(mp) != BPFVM_PROG_RAW)
				bpf_program__set_type(p, (enum bpf_prog_type)bpfvm_object_prog_type(mp));
			if (only)
				bpf_program__set_autoload(p, !strcmp(bpf_program__name(p), only));
		}
	}
	bpfvm_object_close(mine);
	bpfvm_vm_destroy(vm);
	struct bpf_map *m;
	bpf_object__for_each_map(m, obj)
		bpf_map__set_pin_path(m, NULL);
	int rc = bpf_object__load(obj);
	bpf_object__close(obj);
	return rc;
}

/* The kernel's verdict on one program: the whole object loads (so static
 * PROG_ARRAY values find their programs), or else the program alone. */
static const char *kernel_verdict(const char *path, const char *prog, enum bpfvm_prog_type type)
{
	if (type == BPFVM_PROG_RAW)
		return "n/a"; /* bpfvm's own type: the kernel has none */
	int rc = kernel_load(path, NULL);
	if (rc)
		rc = kernel_load(path, prog);
	return rc == 0 ? "ok" : rc == -EPERM || rc == -ENOENT ? "n/a" : "fail";
}

static void check_prog(const char *path, size_t index)
{
	struct bpfvm_vm *vm;
	struct bpfvm_object *obj;
	char reason[600] = "";
	if (bpfvm_vm_create(&vm))
		return;
	bpfvm_object_open_file(vm, path, NULL, &obj);
	struct bpfvm_object_prog *p = bpfvm_object_prog_at(obj, index);
	char name[128];
	snprintf(name, sizeof(name), "%s", bpfvm_object_prog_name(p));
	enum bpfvm_prog_type type = bpfvm_object_prog_type(p);
	const char *tname = bpfvm_object_type_name(type);
	/* Verify. */
	struct bpfvm_prog_opts vopts = {.safety = BPFVM_SAFETY_VERIFIED, .engine = BPFVM_ENGINE_INTERP};
	int rc = bpfvm_object_prog_load(p, &vopts);
	const char *verify = rc == 0 ? "ok" : rc == -ENOTSUP && strstr(bpfvm_vm_last_error(vm), "not built")
					     ? "n/a" : "fail";
	if (rc && strcmp(verify, "n/a"))
		snprintf(reason, sizeof(reason), "verify: %s", bpfvm_vm_last_error(vm));
	bpfvm_object_close(obj);
	/* Run, with run-time checks, in a fresh object. */
	const char *run = "fail";
	bpfvm_object_open_file(vm, path, NULL, &obj);
	p = bpfvm_object_prog_at(obj, index);
	struct bpfvm_prog_opts copts = {.safety = BPFVM_SAFETY_CHECKED, .engine = BPFVM_ENGINE_INTERP};
	rc = bpfvm_object_prog_load(p, &copts);
	if (rc) {
		if (!reason[0])
			snprintf(reason, sizeof(reason), "load: %s", bpfvm_vm_last_error(vm));
	} else {
		unsigned char ctx[512] = {0};
		struct bpfvm_test_run_opts t = {.engine = BPFVM_ENGINE_INTERP};
		if (uses_packet(type)) {
			t.data_in = packet;
			t.data_size_in = sizeof(packet);
		} else if (type == BPFVM_PROG_RAW) {
			t.data_in = ctx;
			t.data_size_in = 64;
		} else {
			t.ctx_in = ctx;
			t.ctx_size_in = type == BPFVM_PROG_RAW_TRACEPOINT ? 96 : 256;
		}
		rc = bpfvm_prog_test_run(bpfvm_object_prog_handle(p), &t);
		if (rc == 0 || rc == -ENOSPC)
			run = "ok";
		else if (rc == -ENOTSUP)
			run = "n/a";
		if (rc && rc != -ENOSPC && !reason[0])
			snprintf(reason, sizeof(reason), "run: %s", t.error);
	}
	one_line(reason);
	printf("%s\t%s\t%s\topen=ok\tverify=%s\trun=%s\t%s\tkernel=%s\n", path, name, tname ? tname : "?",
	       verify, run, reason, kernel_verdict(path, name, type));
	bpfvm_object_close(obj);
	bpfvm_vm_destroy(vm);
}

int main(int argc, char **argv)
{
	libbpf_set_print(quiet);
	for (int i = 1; i < argc; i++) {
		struct bpfvm_vm *vm;
		struct bpfvm_object *obj;
		if (bpfvm_vm_create(&vm))
			return 1;
		if (bpfvm_object_open_file(vm, argv[i], NULL, &obj)) {
			char msg[600];
			snprintf(msg, sizeof(msg), "%s", bpfvm_vm_last_error(vm));
			one_line(msg);
			printf("%s\t-\t-\topen=fail\tverify=n/a\trun=n/a\t%s\n", argv[i], msg);
			bpfvm_vm_destroy(vm);
			continue;
		}
		size_t n = bpfvm_object_prog_count(obj);
		bpfvm_object_close(obj);
		bpfvm_vm_destroy(vm);
		if (n == 0)
			printf("%s\t-\t-\topen=ok\tverify=n/a\trun=n/a\tno programs\n", argv[i]);
		for (size_t k = 0; k < n; k++)
			check_prog(argv[i], k);
		fflush(stdout);
	}
	return 0;
}
