/* The kernel as the oracle for the seed examples: libbpf loads each object
 * into the running kernel (BPF_PROG_LOAD, static PROG_ARRAY values filled
 * by libbpf) and BPF_PROG_TEST_RUN runs it; bpfvm must accept what the
 * kernel accepts, reject what it rejects with the same message, and return
 * the same verdict. Skips without privileges. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfvm/object.h"
#include "bpfvm/testrun.h"
#include "loader/objtest.h"

struct kernel_log {
	char text[8192];
	size_t len;
};

/* libbpf's print callback is process-wide: this test is single-threaded. */
static struct kernel_log *current_log;

static int capture_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	if (current_log && current_log->len < sizeof(current_log->text) - 1) {
		int n = vsnprintf(current_log->text + current_log->len,
				  sizeof(current_log->text) - current_log->len, fmt, ap);
		if (n > 0)
			current_log->len += (size_t)n;
		if (current_log->len >= sizeof(current_log->text))
			current_log->len = sizeof(current_log->text) - 1;
	}
	return 0;
}

/* Load the object into the kernel; returns 0, -EACCES (rejected, log in
 * klog) or 1 when the kernel cannot be used here. */
static int kernel_load(const char *path, struct bpf_object **out, struct kernel_log *klog)
{
	current_log = klog;
	libbpf_print_fn_t old = libbpf_set_print(capture_log);
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	struct bpf_map *m;
	/* No BPF filesystem needed: pinning means nothing to bpfvm either. */
	if (obj)
		bpf_object__for_each_map(m, obj)
			bpf_map__set_pin_path(m, NULL);
	int rc = obj ? bpf_object__load(obj) : -errno;
	libbpf_set_print(old);
	current_log = NULL;
	if (rc && (strstr(klog->text, "Operation not permitted") || rc == -EPERM || rc == -ENOSYS)) {
		bpf_object__close(obj);
		return 1;
	}
	*out = obj;
	return rc ? -EACCES : 0;
}

static int kernel_test_run(struct bpf_object *obj, const char *prog, uint32_t *retval)
{
	struct bpf_program *p = bpf_object__find_program_by_name(obj, prog);
	uint8_t pkt[64] = {0};
	LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = pkt, .data_size_in = sizeof(pkt));
	if (!p)
		return -ENOENT;
	int rc = bpf_prog_test_run_opts(bpf_program__fd(p), &t);
	*retval = t.retval;
	return rc;
}

static int bpfvm_load_and_run(const char *path, const char *prog, uint32_t *retval, char *msg,
			      size_t msglen)
{
	struct bpfvm_vm *vm;
	struct bpfvm_object *obj;
	if (bpfvm_vm_create(&vm))
		return -ENOMEM;
	int rc = bpfvm_object_open_file(vm, path, NULL, &obj);
	if (!rc) {
		/* The entry program and the chain its PROG_ARRAY values name. */
		struct bpfvm_prog_opts o = {.safety = BPFVM_SAFETY_VERIFIED};
		rc = bpfvm_object_prog_load(bpfvm_object_find_prog(obj, prog), &o);
		snprintf(msg, msglen, "%s", bpfvm_vm_last_error(vm));
		if (!rc) {
			uint8_t pkt[64] = {0};
			struct bpfvm_test_run_opts t = {.data_in = pkt, .data_size_in = sizeof(pkt)};
			rc = bpfvm_prog_test_run(bpfvm_object_prog_handle(bpfvm_object_find_prog(obj, prog)), &t);
			if (rc)
				snprintf(msg, msglen, "%s", t.error);
			*retval = t.retval;
		}
		bpfvm_object_close(obj);
	}
	bpfvm_vm_destroy(vm);
	return rc;
}

static void agree_on(const char *name, const char *entry, const char *rejection)
{
	char path[600], msg[512] = "";
	if (!objtest_compile(name, path, sizeof(path))) {
		harness_fail(__FILE__, __LINE__, "clang failed on %s.c", name);
		return;
	}
	static struct kernel_log klog;
	memset(&klog, 0, sizeof(klog));
	struct bpf_object *kobj = NULL;
	int krc = kernel_load(path, &kobj, &klog);
	if (krc == 1)
		SKIP("the kernel refuses BPF here (not root, or no BPF syscall)");
	uint32_t kret = 0, vret = 0;
	int vrc = bpfvm_load_and_run(path, entry, &vret, msg, sizeof(msg));
	if (rejection) {
		CHECK(krc != 0);
		CHECK_CONTAINS(klog.text, rejection);
		CHECK(vrc != 0);
		CHECK_CONTAINS(msg, rejection);
	} else {
		if (krc)
			harness_fail(__FILE__, __LINE__, "%s: the kernel rejects it: %s", name,
				     klog.len > 600 ? klog.text + klog.len - 600 : klog.text);
		if (vrc)
			harness_fail(__FILE__, __LINE__, "%s: bpfvm rejects it: %s", name, msg);
		if (!krc && !vrc) {
			CHECK_EQ(kernel_test_run(kobj, entry, &kret), 0);
			CHECK_EQ(vret, kret);
		}
	}
	bpf_object__close(kobj);
}

TEST(tail_call_value_through_percpu_array_agrees_with_the_kernel)
{
	if (system("command -v clang >/dev/null 2>&1") != 0)
		SKIP("clang is not installed");
	agree_on("tailcall", "first", NULL);
}

TEST(tail_call_pointer_through_percpu_array_agrees_with_the_kernel)
{
	if (system("command -v clang >/dev/null 2>&1") != 0)
		SKIP("clang is not installed");
	agree_on("tailcall_ptr", "saver", NULL);
}

TEST(tail_call_through_r9_is_rejected_by_both)
{
	if (system("command -v clang >/dev/null 2>&1") != 0)
		SKIP("clang is not installed");
	agree_on("tailcall_r9", "first", "R9 !read_ok");
}

TEST(btf_maps_static_values_agree_with_the_kernel)
{
	if (system("command -v clang >/dev/null 2>&1") != 0)
		SKIP("clang is not installed");
	agree_on("btf_maps", "entry_prog", NULL);
}
