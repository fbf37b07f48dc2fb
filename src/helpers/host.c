/* Helpers that report on the host: time, randomness, CPU, task ids and
 * name, memory reads (bpf_probe_read*), and string to number conversion.
 * Task data comes from the VM's host info (bpfvm_vm_set_host_info), by
 * default the calling thread's real ids and name. */
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "helpers/helpers_internal.h"

int bpfvm_vm_set_host_info(struct bpfvm_vm *vm, const struct bpfvm_host_info *info)
{
	if (!info) {
		vm->host_info_set = 0;
		memset(&vm->host_info, 0, sizeof(vm->host_info));
		return 0;
	}
	if (!memchr(info->comm, 0, sizeof(info->comm)))
		return bpfvm__vm_error(vm, -EINVAL, "host info: comm must be NUL-terminated");
	vm->host_info = *info;
	vm->host_info_set = 1;
	return 0;
}

static void current_info(struct bpfvm_vm *vm, struct bpfvm_host_info *out)
{
	if (vm->host_info_set) {
		*out = vm->host_info;
		return;
	}
	memset(out, 0, sizeof(*out));
	out->tgid = (uint32_t)getpid();
	out->pid = (uint32_t)gettid();
	out->uid = (uint32_t)getuid();
	out->gid = (uint32_t)getgid();
	prctl(PR_GET_NAME, out->comm, 0, 0, 0);
	out->comm[sizeof(out->comm) - 1] = 0;
}

/* ---- memory reads --------------------------------------------------------------------- */

/* Reading our own memory through the kernel reports a bad address as
 * EFAULT instead of faulting. */
static int self_read(void *dst, uint64_t addr, size_t size)
{
	if (size == 0)
		return 0;
	struct iovec local = {dst, size};
	struct iovec remote = {(void *)(uintptr_t)addr, size};
	ssize_t n = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
	return n == (ssize_t)size ? 0 : -EFAULT;
}

int bpfvm__host_read(struct bpfvm_vm *vm, void *dst, uint64_t addr, size_t size, int user)
{
	if (vm->host_info_set && vm->host_info.read_mem)
		return vm->host_info.read_mem(vm->host_info.read_ctx, dst, addr, size, user) ? -EFAULT : 0;
	return self_read(dst, addr, size);
}

/* Reads up to the end of each page, so a string that ends just before an
 * unmapped page is still read. */
long bpfvm__host_read_str(struct bpfvm_vm *vm, char *dst, uint64_t addr, size_t size, int user)
{
	if (size == 0)
		return 0;
	size_t got = 0;
	while (got < size - 1) {
		uint64_t a = addr + got;
		size_t chunk = 4096 - (size_t)(a & 4095);
		if (chunk > size - 1 - got)
			chunk = size - 1 - got;
		if (bpfvm__host_read(vm, dst + got, a, chunk, user))
			return -EFAULT;
		char *nul = memchr(dst + got, 0, chunk);
		if (nul)
			return (long)(nul - dst) + 1;
		got += chunk;
	}
	dst[size - 1] = 0;
	return (long)size;
}

static uint64_t probe_read(struct bpfvm_call_ctx *cc, uint64_t dst, uint64_t size, uint64_t src,
			   int user)
{
	if (!bpfvm__helper_mem_ok(cc, dst, size, 1))
		return (uint64_t)(int64_t)-EFAULT;
	int rc = bpfvm__host_read(cc->vm, (void *)(uintptr_t)dst, src, size, user);
	if (rc)
		memset((void *)(uintptr_t)dst, 0, size);
	return (uint64_t)(int64_t)rc;
}

static uint64_t probe_read_str(struct bpfvm_call_ctx *cc, uint64_t dst, uint64_t size,
			       uint64_t src, int user)
{
	if (!bpfvm__helper_mem_ok(cc, dst, size, 1))
		return (uint64_t)(int64_t)-EFAULT;
	long rc = bpfvm__host_read_str(cc->vm, (char *)(uintptr_t)dst, src, size, user);
	if (rc < 0)
		memset((void *)(uintptr_t)dst, 0, size);
	return (uint64_t)(int64_t)rc;
}

HELPER_FN(bpfvm__h_probe_read)
{
	return probe_read(cc, r1, r2, r3, 0);
}

HELPER_FN(bpfvm__h_probe_read_kernel)
{
	return probe_read(cc, r1, r2, r3, 0);
}

HELPER_FN(bpfvm__h_probe_read_user)
{
	return probe_read(cc, r1, r2, r3, 1);
}

HELPER_FN(bpfvm__h_probe_read_str)
{
	return probe_read_str(cc, r1, r2, r3, 0);
}

HELPER_FN(bpfvm__h_probe_read_kernel_str)
{
	return probe_read_str(cc, r1, r2, r3, 0);
}

HELPER_FN(bpfvm__h_probe_read_user_str)
{
	return probe_read_str(cc, r1, r2, r3, 1);
}

/* ---- time, randomness, CPU, task ---------------------------------------------------------- */

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

HELPER_FN(bpfvm__h_ktime_get_ns)
{
	return clock_ns(CLOCK_MONOTONIC);
}

HELPER_FN(bpfvm__h_ktime_get_boot_ns)
{
	return clock_ns(CLOCK_BOOTTIME);
}

/* xorshift64* with per-thread state (the kernel's is per CPU): no state
 * shared between VMs or threads. */
static _Thread_local uint64_t prandom_state;

HELPER_FN(bpfvm__h_get_prandom_u32)
{
	uint64_t x = prandom_state;
	if (!x) {
		if (getrandom(&x, sizeof(x), GRND_NONBLOCK) != sizeof(x))
			x = clock_ns(CLOCK_MONOTONIC) ^ ((uint64_t)gettid() << 32);
		x |= 1;
	}
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	prandom_state = x;
	return (uint32_t)((x * 0x2545F4914F6CDD1Dull) >> 32);
}

HELPER_FN(bpfvm__h_get_smp_processor_id)
{
	/* the CPU whose per-CPU map slots the run uses (maps wrap the id the
	 * same way); the verifier relies on the result being < BPFVM_NR_CPUS */
	return cc->run->cpu % BPFVM_NR_CPUS;
}

HELPER_FN(bpfvm__h_get_current_pid_tgid)
{
	struct bpfvm_host_info info;
	current_info(cc->vm, &info);
	return ((uint64_t)info.tgid << 32) | info.pid;
}

HELPER_FN(bpfvm__h_get_current_uid_gid)
{
	struct bpfvm_host_info info;
	current_info(cc->vm, &info);
	return ((uint64_t)info.gid << 32) | info.uid;
}

/* As the kernel's strscpy_pad: truncated, NUL-terminated, zero-padded. */
HELPER_FN(bpfvm__h_get_current_comm)
{
	if (!r2 || !bpfvm__helper_mem_ok(cc, r1, r2, 1))
		return (uint64_t)(int64_t)-EINVAL;
	struct bpfvm_host_info info;
	current_info(cc->vm, &info);
	char *buf = (char *)(uintptr_t)r1;
	memset(buf, 0, r2);
	size_t len = strnlen(info.comm, sizeof(info.comm));
	if (len > r2 - 1)
		len = r2 - 1;
	memcpy(buf, info.comm, len);
	return 0;
}

/* ---- strtol / strtoul ------------------------------------------------------------------------- */

#define BPF_STRTOX_BASE_MASK 0x1Full

static int k_isspace(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r') || c == 0xa0;
}

static int digit_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return 99;
}

/* The kernel's __bpf_strtoull: characters consumed, or -EINVAL/-ERANGE. */
static long strtoull_k(const char *buf, size_t buf_len, uint64_t flags, uint64_t *res, int *neg)
{
	unsigned base = (unsigned)(flags & BPF_STRTOX_BASE_MASK);
	if (!buf || !buf_len || (base != 0 && base != 8 && base != 10 && base != 16) ||
	    (flags & ~BPF_STRTOX_BASE_MASK))
		return -EINVAL;
	const char *cur = buf, *end = buf + buf_len;
	while (cur < end && k_isspace((unsigned char)*cur))
		cur++;
	*neg = cur < end && *cur == '-';
	if (*neg)
		cur++;
	size_t consumed = (size_t)(cur - buf), len = buf_len - consumed;
	if (!len)
		return -EINVAL;
	char str[64];
	if (len > sizeof(str) - 1)
		len = sizeof(str) - 1;
	memcpy(str, cur, len);
	str[len] = 0;
	const char *s = str;
	if (base == 0) {
		if (s[0] == '0')
			base = ((s[1] | 0x20) == 'x' && digit_value((unsigned char)s[2]) < 16) ? 16 : 8;
		else
			base = 10;
	}
	if (base == 16 && s[0] == '0' && (s[1] | 0x20) == 'x')
		s += 2;
	uint64_t v = 0;
	int overflow = 0;
	size_t n = 0;
	for (; s[n]; n++) {
		int d = digit_value((unsigned char)s[n]);
		if (d >= (int)base)
			break;
		if ((v & (~0ull << 60)) && v > (UINT64_MAX - (uint64_t)d) / base)
			overflow = 1;
		v = v * base + (uint64_t)d;
	}
	if (overflow)
		return -ERANGE;
	if (n == 0)
		return -EINVAL;
	*res = v;
	return (long)(consumed + (size_t)(s + n - str));
}

HELPER_FN(bpfvm__h_strtol)
{
	uint64_t v;
	int neg;
	if (!bpfvm__helper_mem_ok(cc, r1, r2, 0) || !bpfvm__helper_mem_ok(cc, r4, 8, 1))
		return (uint64_t)(int64_t)-EFAULT;
	long rc = strtoull_k((const char *)(uintptr_t)r1, r2, r3, &v, &neg);
	if (rc < 0)
		return (uint64_t)(int64_t)rc;
	if (neg) {
		if ((int64_t)(0 - v) > 0)
			return (uint64_t)(int64_t)-ERANGE;
		v = 0 - v;
	} else if ((int64_t)v < 0) {
		return (uint64_t)(int64_t)-ERANGE;
	}
	memcpy((void *)(uintptr_t)r4, &v, sizeof(v));
	return (uint64_t)rc;
}

HELPER_FN(bpfvm__h_strtoul)
{
	uint64_t v;
	int neg;
	if (!bpfvm__helper_mem_ok(cc, r1, r2, 0) || !bpfvm__helper_mem_ok(cc, r4, 8, 1))
		return (uint64_t)(int64_t)-EFAULT;
	long rc = strtoull_k((const char *)(uintptr_t)r1, r2, r3, &v, &neg);
	if (rc < 0)
		return (uint64_t)(int64_t)rc;
	if (neg)
		return (uint64_t)(int64_t)-EINVAL;
	memcpy((void *)(uintptr_t)r4, &v, sizeof(v));
	return (uint64_t)rc;
}
