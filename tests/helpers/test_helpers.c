/* The standard helpers: registry prototypes, trace_printk/snprintf
 * formatting and error cases, strtol/strtoul, probe_read, host info,
 * queue/stack, ring buffer and perf buffer helpers, bpf_loop and
 * for_each_map_elem, called from programs or directly. */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "bpfvm/helpers.h"
#include "helpers/helpers_internal.h"
#include "helpers/prog_util.h"

struct sink {
	char text[4096];
	size_t len;
};

static void to_sink(void *user, const char *text, size_t len)
{
	struct sink *s = user;
	if (s->len + len < sizeof(s->text)) {
		memcpy(s->text + s->len, text, len);
		s->len += len;
		s->text[s->len] = 0;
	}
}

/* A direct helper call from a verified-mode context. */
struct direct {
	struct bpfvm_vm *vm;
	struct bpfvm_run run;
	struct bpfvm_call_ctx cc;
	struct sink sink;
};

static void direct_init(struct direct *d)
{
	memset(d, 0, sizeof(*d));
	bpfvm_vm_create(&d->vm);
	bpfvm_vm_set_print(d->vm, to_sink, &d->sink);
	d->cc.vm = d->vm;
	d->cc.run = &d->run;
}

static int64_t printk(struct direct *d, const char *fmt, uint64_t a, uint64_t b, uint64_t c)
{
	d->sink.len = 0;
	d->sink.text[0] = 0;
	return (int64_t)bpfvm__h_trace_printk((uint64_t)(uintptr_t)fmt, strlen(fmt) + 1, a, b, c,
					      &d->cc);
}

TEST(registry_has_kernel_ids_and_prototypes)
{
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	const struct bpfvm_helper *h = bpfvm_vm_helper(vm, 1);
	CHECK(h && !strcmp(h->name, "map_lookup_elem"));
	CHECK_EQ(h->ret, BPFVM_RET_PTR_TO_MAP_VALUE_OR_NULL);
	CHECK_EQ(h->args[0], BPFVM_ARG_CONST_MAP_PTR);
	CHECK_EQ(h->args[1], BPFVM_ARG_PTR_TO_MAP_KEY);
	h = bpfvm_vm_helper(vm, 6);
	CHECK(h && h->gpl_only && h->args[0] == BPFVM_ARG_PTR_TO_MEM && h->args[1] == BPFVM_ARG_CONST_SIZE);
	h = bpfvm_vm_helper(vm, 12);
	CHECK(h && h->fn == NULL && h->ret == BPFVM_RET_VOID && h->args[0] == BPFVM_ARG_PTR_TO_CTX);
	h = bpfvm_vm_helper(vm, 131);
	CHECK(h && h->ret == BPFVM_RET_PTR_TO_ALLOC_MEM_OR_NULL &&
	      h->args[1] == BPFVM_ARG_CONST_ALLOC_SIZE_OR_ZERO);
	h = bpfvm_vm_helper(vm, 4);
	CHECK(h && h->prog_types && !(h->prog_types & (1ull << BPFVM_PROG_XDP)));
	static const uint32_t ids[] = {1, 2, 3, 4, 5, 6, 7, 8, 12, 14, 15, 16, 25, 87, 88, 89, 105,
				       106, 112, 113, 114, 115, 125, 130, 131, 132, 133, 134, 164,
				       165, 181};
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		CHECK(bpfvm_vm_helper(vm, ids[i]) != NULL);
	bpfvm_vm_destroy(vm);
}

TEST(trace_printk_formats_as_kernel)
{
	struct direct d;
	direct_init(&d);
	CHECK_EQ(printk(&d, "x=%d y=%u z=%x\n", (uint64_t)-5, 0xffffffffu, 255), 23);
	CHECK_STR(d.sink.text, "x=-5 y=4294967295 z=ff\n");
	/* %d takes the low 32 bits; %ld/%lld all 64. */
	printk(&d, "%d %ld %lld", 0x100000005ull, (uint64_t)-1, 1ull << 40);
	CHECK_STR(d.sink.text, "5 -1 1099511627776");
	printk(&d, "%i %li", (uint64_t)-7, 8, 0);
	CHECK_STR(d.sink.text, "-7 8");
	printk(&d, "%lu %llx %lx", (uint64_t)-1, 0xabcull, 0x10ull);
	CHECK_STR(d.sink.text, "18446744073709551615 abc 10");
	printk(&d, "[%5d] [%-3u] [%08x]", 42, 7, 0xbeef);
	CHECK_STR(d.sink.text, "[   42] [7  ] [0000beef]");
	printk(&d, "%X%%", 0xab, 0, 0);
	CHECK_STR(d.sink.text, "AB%");
	const char *s = "str";
	printk(&d, "%s:%c|%p", (uint64_t)(uintptr_t)s, 'Q', 0x1234);
	CHECK_STR(d.sink.text, "str:Q|0000000000001234");
	/* A bad string pointer prints as an empty string. */
	printk(&d, "<%s>", 8, 0, 0);
	CHECK_STR(d.sink.text, "<>");
	uint8_t ip[4] = {10, 0, 0, 1};
	printk(&d, "%pI4 %pi4", (uint64_t)(uintptr_t)ip, (uint64_t)(uintptr_t)ip, 0);
	CHECK_STR(d.sink.text, "10.0.0.1 010.000.000.001");
	bpfvm_vm_destroy(d.vm);
}

TEST(trace_printk_rejects_what_kernel_rejects)
{
	struct direct d;
	direct_init(&d);
	CHECK_EQ(printk(&d, "%d %d %d %d", 1, 2, 3), -EINVAL);  /* 4 conversions */
	CHECK_EQ(printk(&d, "%f", 1, 2, 3), -EINVAL);
	CHECK_EQ(printk(&d, "%.2d", 1, 2, 3), -EINVAL);         /* no precision */
	CHECK_EQ(printk(&d, "%lllu", 1, 2, 3), -EINVAL);
	CHECK_EQ(printk(&d, "%sa", 1, 2, 3), -EINVAL);          /* %s then a letter */
	CHECK_EQ(printk(&d, "%pz", 1, 2, 3), -EINVAL);
	CHECK_EQ(printk(&d, "bell\a", 1, 2, 3), -EINVAL);       /* not printable */
	CHECK_EQ(printk(&d, "del\x7f", 1, 2, 3), -EINVAL);
	CHECK_EQ(d.sink.len, 0);
	/* Not NUL-terminated within its size. */
	const char fmt[4] = {'a', 'b', 'c', 'd'};
	CHECK_EQ((int64_t)bpfvm__h_trace_printk((uint64_t)(uintptr_t)fmt, 4, 0, 0, 0, &d.cc), -EINVAL);
	/* Bytes >= 128 pass, as in the kernel. */
	CHECK_EQ(printk(&d, "caf\xc3\xa9", 1, 2, 3), 5);
	/* %% consumes no argument. */
	CHECK_EQ(printk(&d, "%% %d %d %d %%", 1, 2, 3), 9);
	bpfvm_vm_destroy(d.vm);
}

TEST(snprintf_returns_size_with_nul_and_truncates)
{
	struct direct d;
	direct_init(&d);
	char out[8];
	uint64_t args[2] = {12345, (uint64_t)(uintptr_t)"ab"};
	const char *fmt = "n=%d s=%s";
	CHECK_EQ(bpfvm__h_snprintf((uint64_t)(uintptr_t)out, sizeof(out), (uint64_t)(uintptr_t)fmt,
				   (uint64_t)(uintptr_t)args, 16, &d.cc), 13);
	CHECK_STR(out, "n=12345");
	CHECK_EQ(bpfvm__h_snprintf(0, 0, (uint64_t)(uintptr_t)fmt, (uint64_t)(uintptr_t)args, 16,
				   &d.cc), 13);
	CHECK_EQ((int64_t)bpfvm__h_snprintf((uint64_t)(uintptr_t)out, sizeof(out),
					    (uint64_t)(uintptr_t)fmt, (uint64_t)(uintptr_t)args, 12,
					    &d.cc), -EINVAL); /* data_len % 8 */
	CHECK_EQ((int64_t)bpfvm__h_snprintf((uint64_t)(uintptr_t)out, sizeof(out),
					    (uint64_t)(uintptr_t)fmt, (uint64_t)(uintptr_t)args, 8,
					    &d.cc), -EINVAL); /* 2 conversions, 1 arg */
	bpfvm_vm_destroy(d.vm);
}

static int64_t strto(struct direct *d, int is_signed, const char *s, size_t len, uint64_t flags,
		     int64_t *res)
{
	*res = 0x5a5a;
	HELPER_FN((*fn)) = is_signed ? bpfvm__h_strtol : bpfvm__h_strtoul;
	return (int64_t)fn((uint64_t)(uintptr_t)s, len, flags, (uint64_t)(uintptr_t)res, 0, &d->cc);
}

TEST(strtol_and_strtoul_follow_kernel_rules)
{
	struct direct d;
	direct_init(&d);
	int64_t r;
	CHECK_EQ(strto(&d, 1, "  -123xyz", 9, 0, &r), 6);
	CHECK_EQ(r, -123);
	CHECK_EQ(strto(&d, 1, "0x1f", 4, 0, &r), 4);
	CHECK_EQ(r, 31);
	CHECK_EQ(strto(&d, 1, "0x1f", 4, 16, &r), 4);
	CHECK_EQ(r, 31);
	CHECK_EQ(strto(&d, 1, "017", 3, 0, &r), 3);
	CHECK_EQ(r, 15);
	CHECK_EQ(strto(&d, 1, "0x", 2, 0, &r), 1); /* base 8, just "0" */
	CHECK_EQ(r, 0);
	CHECK_EQ(strto(&d, 1, "12", 1, 10, &r), 1); /* buf_len limits */
	CHECK_EQ(r, 1);
	CHECK_EQ(strto(&d, 1, "12", 2, 7, &r), -EINVAL); /* bad base */
	CHECK_EQ(strto(&d, 1, "12", 2, 0x20, &r), -EINVAL); /* bad flags */
	CHECK_EQ(strto(&d, 1, "xyz", 3, 0, &r), -EINVAL);
	CHECK_EQ(r, 0x5a5a); /* untouched on error */
	CHECK_EQ(strto(&d, 1, "   ", 3, 0, &r), -EINVAL);
	CHECK_EQ(strto(&d, 1, "9223372036854775808", 19, 0, &r), -ERANGE);
	CHECK_EQ(strto(&d, 1, "-9223372036854775808", 20, 0, &r), 20);
	CHECK_EQ(r, INT64_MIN);
	CHECK_EQ(strto(&d, 0, "18446744073709551615", 20, 0, &r), 20);
	CHECK_EQ((uint64_t)r, UINT64_MAX);
	CHECK_EQ(strto(&d, 0, "18446744073709551616", 20, 0, &r), -ERANGE);
	CHECK_EQ(strto(&d, 0, "-1", 2, 0, &r), -EINVAL);
	bpfvm_vm_destroy(d.vm);
}

TEST(probe_read_copies_or_zeroes_with_efault)
{
	struct direct d;
	direct_init(&d);
	uint64_t src = 0x1122334455667788ull, dst = 0;
	CHECK_EQ(bpfvm__h_probe_read_kernel((uint64_t)(uintptr_t)&dst, 8, (uint64_t)(uintptr_t)&src,
					    0, 0, &d.cc), 0);
	CHECK_EQ(dst, src);
	dst = 1;
	CHECK_EQ((int64_t)bpfvm__h_probe_read_user((uint64_t)(uintptr_t)&dst, 8, 16, 0, 0, &d.cc),
		 -EFAULT);
	CHECK_EQ(dst, 0);
	char buf[8];
	CHECK_EQ(bpfvm__h_probe_read_kernel_str((uint64_t)(uintptr_t)buf, sizeof(buf),
						(uint64_t)(uintptr_t)"hi", 0, 0, &d.cc), 3);
	CHECK_STR(buf, "hi");
	CHECK_EQ(bpfvm__h_probe_read_user_str((uint64_t)(uintptr_t)buf, 4,
					      (uint64_t)(uintptr_t)"longer", 0, 0, &d.cc), 4);
	CHECK_STR(buf, "lon");
	CHECK_EQ((int64_t)bpfvm__h_probe_read_kernel_str((uint64_t)(uintptr_t)buf, 8, 16, 0, 0, &d.cc),
		 -EFAULT);
	CHECK_EQ(bpfvm__h_probe_read_str((uint64_t)(uintptr_t)buf, 0, 16, 0, 0, &d.cc), 0);
	bpfvm_vm_destroy(d.vm);
}

TEST(host_info_defaults_and_overrides)
{
	struct direct d;
	direct_init(&d);
	uint64_t pt = bpfvm__h_get_current_pid_tgid(0, 0, 0, 0, 0, &d.cc);
	CHECK_EQ(pt >> 32, (uint64_t)getpid());
	CHECK_EQ((uint32_t)pt, (uint32_t)gettid());
	uint64_t ug = bpfvm__h_get_current_uid_gid(0, 0, 0, 0, 0, &d.cc);
	CHECK_EQ((uint32_t)ug, getuid());
	CHECK_EQ(ug >> 32, getgid());
	struct bpfvm_host_info info = {.pid = 10, .tgid = 20, .uid = 30, .gid = 40, .comm = "myprog"};
	CHECK_EQ(bpfvm_vm_set_host_info(d.vm, &info), 0);
	CHECK_EQ(bpfvm__h_get_current_pid_tgid(0, 0, 0, 0, 0, &d.cc), (20ull << 32) | 10);
	CHECK_EQ(bpfvm__h_get_current_uid_gid(0, 0, 0, 0, 0, &d.cc), (40ull << 32) | 30);
	char comm[16];
	memset(comm, 'x', sizeof(comm));
	CHECK_EQ(bpfvm__h_get_current_comm((uint64_t)(uintptr_t)comm, 4, 0, 0, 0, &d.cc), 0);
	CHECK_STR(comm, "myp");
	CHECK_EQ(bpfvm__h_get_current_comm((uint64_t)(uintptr_t)comm, 16, 0, 0, 0, &d.cc), 0);
	CHECK_STR(comm, "myprog");
	CHECK_EQ(comm[15], 0); /* zero-padded */
	d.run.cpu = 3;
	CHECK_EQ(bpfvm__h_get_smp_processor_id(0, 0, 0, 0, 0, &d.cc), 3);
	uint64_t a = bpfvm__h_ktime_get_ns(0, 0, 0, 0, 0, &d.cc);
	uint64_t b = bpfvm__h_ktime_get_ns(0, 0, 0, 0, 0, &d.cc);
	CHECK(b >= a && a > 0);
	uint64_t r1 = bpfvm__h_get_prandom_u32(0, 0, 0, 0, 0, &d.cc);
	uint64_t r2 = bpfvm__h_get_prandom_u32(0, 0, 0, 0, 0, &d.cc);
	CHECK(r1 <= UINT32_MAX && r2 <= UINT32_MAX && r1 != r2);
	bpfvm_vm_destroy(d.vm);
}

/* ---- from programs ------------------------------------------------------------------ */

TEST(queue_helpers_push_pop_peek_from_a_program)
{
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	struct bpfvm_map *q = make_map(vm, BPFVM_MAP_QUEUE, 0, 8, 2, 0);
	/* push 5, push 6, push 7 (full: -E2BIG), peek -> 5, pop -> 5;
	 * returns pop's value * 1000 + the third push's result as u8. */
	struct bpfvm_prog *p = load_prog(vm,
		"r1 = 5\n*(u64 *)(r10 - 8) = r1\n"
		"r1 = map[0] ll\nr2 = r10\nr2 += -8\nr3 = 0\ncall 87\n"
		"r1 = 6\n*(u64 *)(r10 - 8) = r1\n"
		"r1 = map[0] ll\nr2 = r10\nr2 += -8\nr3 = 0\ncall 87\n"
		"r1 = map[0] ll\nr2 = r10\nr2 += -8\nr3 = 0\ncall 87\n"
		"r6 = r0\nr6 &= 255\n"
		"r1 = map[0] ll\nr2 = r10\nr2 += -16\ncall 89\n"
		"r1 = map[0] ll\nr2 = r10\nr2 += -8\ncall 88\n"
		"r0 = *(u64 *)(r10 - 8)\nr0 *= 1000\nr0 += r6\nexit\n", &q, 1);
	CHECK(p);
	if (p)
		CHECK_EQ(run_prog(p, NULL, 0, 0), 5000 + ((uint64_t)-E2BIG & 255));
	uint64_t v;
	CHECK_EQ(bpfvm_map_lookup_and_delete(q, NULL, &v), 0);
	CHECK_EQ(v, 6);
	bpfvm_vm_destroy(vm);
}

static int count_records(void *user, const void *data, size_t size)
{
	uint64_t *sum = user;
	uint64_t v = 0;
	memcpy(&v, data, size < 8 ? size : 8);
	sum[0]++;
	sum[1] += v;
	return 0;
}

TEST(ringbuf_helpers_output_reserve_submit_discard_query)
{
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	struct bpfvm_map *rb = make_map(vm, BPFVM_MAP_RINGBUF, 0, 0, 4096, 0);
	/* output 11; reserve 8 -> write 22 -> submit; reserve -> discard;
	 * bad flags -> -EINVAL; returns AVAIL_DATA. */
	struct bpfvm_prog *p = load_prog(vm,
		"r1 = 11\n*(u64 *)(r10 - 8) = r1\n"
		"r1 = map[0] ll\nr2 = r10\nr2 += -8\nr3 = 8\nr4 = 0\ncall 130\n"
		"if r0 != 0 goto fail\n"
		"r1 = map[0] ll\nr2 = 8\nr3 = 0\ncall 131\n"
		"if r0 == 0 goto fail\n"
		"r1 = 22\n*(u64 *)(r0 + 0) = r1\n"
		"r1 = r0\nr2 = 0\ncall 132\n"
		"r1 = map[0] ll\nr2 = 8\nr3 = 0\ncall 131\n"
		"if r0 == 0 goto fail\n"
		"r1 = r0\nr2 = 0\ncall 133\n"
		"r1 = map[0] ll\nr2 = r10\nr2 += -8\nr3 = 8\nr4 = 4\ncall 130\n"
		"if r0 != -22 goto fail\n"
		"r1 = map[0] ll\nr2 = 0\ncall 134\n"
		"exit\n"
		"fail: r0 = 1\nexit\n", &rb, 1);
	CHECK(p);
	if (p)
		CHECK_EQ(run_prog(p, NULL, 0, 0), 3 * 16);
	uint64_t sum[2] = {0, 0};
	CHECK_EQ(bpfvm_ringbuf_poll(rb, count_records, sum), 2);
	CHECK_EQ(sum[0], 2);
	CHECK_EQ(sum[1], 33);
	CHECK_EQ(bpfvm_ringbuf_poll(rb, count_records, sum), 0);
	bpfvm_vm_destroy(vm);
}

TEST(ringbuf_full_reserve_fails_and_wraps_after_consume)
{
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	struct bpfvm_map *rb = make_map(vm, BPFVM_MAP_RINGBUF, 0, 0, 4096, 0);
	int n = 0;
	void *r;
	while ((r = bpfvm__ringbuf_reserve(rb, 1000, 0)) != NULL) {
		memset(r, n, 1000);
		bpfvm__ringbuf_commit(r, 0);
		n++;
	}
	CHECK_EQ(n, 4); /* 4 * 1008 fits in 4096, a fifth does not */
	CHECK(bpfvm__ringbuf_reserve(rb, 8, 1) == NULL); /* flags must be 0 */
	uint64_t sum[2] = {0, 0};
	CHECK_EQ(bpfvm_ringbuf_poll(rb, count_records, sum), 4);
	for (int i = 0; i < 10; i++) { /* records now wrap around the end */
		r = bpfvm__ringbuf_reserve(rb, 1000, 0);
		CHECK(r != NULL);
		if (!r)
			break;
		memset(r, 0x11, 1000);
		bpfvm__ringbuf_commit(r, 0);
		CHECK_EQ(bpfvm_ringbuf_poll(rb, count_records, sum), 1);
	}
	bpfvm_vm_destroy(vm);
}

TEST(perf_event_output_selects_slot_and_errnos)
{
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	struct bpfvm_map *pa = make_map(vm, BPFVM_MAP_PERF_EVENT_ARRAY, 4, 4, 4, 0);
	uint32_t k = 2, v = 0;
	CHECK_EQ(bpfvm_map_update(pa, &k, &v, BPFVM_ANY), 0);
	/* BPF_F_CURRENT_CPU on cpu 2, then index 3 (empty: -ENOENT), then
	 * index 9 (-E2BIG), then bad flags (-EINVAL). */
	struct bpfvm_prog *p = load_prog(vm,
		"r6 = r1\n"
		"r1 = 99\n*(u64 *)(r10 - 8) = r1\n"
		"r1 = r6\nr2 = map[0] ll\nr3 = 0xffffffff ll\nr4 = r10\nr4 += -8\nr5 = 8\ncall 25\n"
		"if r0 != 0 goto fail\n"
		"r1 = r6\nr2 = map[0] ll\nr3 = 3\nr4 = r10\nr4 += -8\nr5 = 8\ncall 25\n"
		"if r0 != -2 goto fail\n"
		"r1 = r6\nr2 = map[0] ll\nr3 = 9\nr4 = r10\nr4 += -8\nr5 = 8\ncall 25\n"
		"if r0 != -7 goto fail\n"
		"r1 = r6\nr2 = map[0] ll\nr3 = 0x100000000 ll\nr4 = r10\nr4 += -8\nr5 = 8\ncall 25\n"
		"if r0 != -22 goto fail\n"
		"r0 = 0\nexit\n"
		"fail: r0 = 1\nexit\n", &pa, 1);
	CHECK(p);
	if (p)
		CHECK_EQ(run_prog(p, NULL, 0, 2), 0);
	uint64_t sum[2] = {0, 0};
	CHECK_EQ(bpfvm_perfbuf_poll(pa, count_records, sum), 1);
	CHECK_EQ(sum[1], 99);
	bpfvm_vm_destroy(vm);
}

TEST(loop_calls_back_until_stopped_and_checks_args)
{
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	/* ctx = a u64 on the stack; the callback adds the index and stops at 5. */
	struct bpfvm_prog *p = load_prog(vm,
		"r1 = 0\n*(u64 *)(r10 - 8) = r1\n"
		"r1 = 100\nr2 = func @cb ll\nr3 = r10\nr3 += -8\nr4 = 0\ncall 181\n"
		"r6 = r0\n"
		"r7 = *(u64 *)(r10 - 8)\nr7 *= 1000\nr7 += r6\n"
		"r1 = 1\nr2 = func @cb ll\nr3 = 0\nr4 = 1\ncall 181\n" /* flags: -EINVAL */
		"if r0 != -22 goto fail\n"
		"r1 = 0x800001 ll\nr2 = func @cb ll\nr3 = 0\nr4 = 0\ncall 181\n" /* too many: -E2BIG */
		"if r0 != -7 goto fail\n"
		"r0 = r7\nexit\n"
		"fail: r0 = 1\nexit\n"
		"cb: r3 = *(u64 *)(r2 + 0)\nr3 += r1\n*(u64 *)(r2 + 0) = r3\n"
		"r0 = 0\nif r1 != 5 goto +1\nr0 = 1\nexit\n", NULL, 0);
	CHECK(p);
	if (p)
		CHECK_EQ(run_prog(p, NULL, 0, 0), 15 * 1000 + 6); /* 0+..+5, 6 iterations */
	bpfvm_vm_destroy(vm);
}

TEST(for_each_map_elem_visits_hash_and_array)
{
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	struct bpfvm_map *maps[2] = {make_map(vm, BPFVM_MAP_HASH, 4, 8, 16, 0),
				     make_map(vm, BPFVM_MAP_ARRAY, 4, 8, 3, 0)};
	for (uint32_t k = 1; k <= 4; k++) {
		uint64_t v = k * 10;
		CHECK_EQ(bpfvm_map_update(maps[0], &k, &v, BPFVM_ANY), 0);
	}
	/* Sum of values into the ctx; the callback doubles each value. */
	struct bpfvm_prog *p = load_prog(vm,
		"r1 = 0\n*(u64 *)(r10 - 8) = r1\n"
		"r1 = map[0] ll\nr2 = func @cb ll\nr3 = r10\nr3 += -8\nr4 = 0\ncall 164\n"
		"r6 = r0\n"
		"r1 = map[1] ll\nr2 = func @cb ll\nr3 = r10\nr3 += -8\nr4 = 0\ncall 164\n"
		"r6 *= 10\nr6 += r0\n"
		"r0 = *(u64 *)(r10 - 8)\nr0 *= 100\nr0 += r6\nexit\n"
		"cb: r5 = *(u64 *)(r3 + 0)\nr1 = *(u64 *)(r4 + 0)\nr1 += r5\n*(u64 *)(r4 + 0) = r1\n"
		"r5 *= 2\n*(u64 *)(r3 + 0) = r5\nr0 = 0\nexit\n", maps, 2);
	CHECK(p);
	if (p)
		CHECK_EQ(run_prog(p, NULL, 0, 0), 100 * 100 + 4 * 10 + 3);
	uint32_t k = 3;
	uint64_t v;
	CHECK_EQ(bpfvm_map_lookup(maps[0], &k, &v), 0);
	CHECK_EQ(v, 60);
	bpfvm_vm_destroy(vm);
}

TEST(checked_program_cannot_pass_a_fake_map)
{
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	struct bpfvm_prog *p = load_prog(vm,
		"r1 = 0x1000 ll\nr2 = r10\nr2 += -8\n*(u64 *)(r10 - 8) = r2\ncall 1\nexit\n", NULL, 0);
	CHECK(p);
	if (p) {
		/* The helper's prototype says R1 is a map: the run faults
		 * before the helper sees the fake pointer. */
		struct bpfvm_run run = {.engine = BPFVM_ENGINE_INTERP};
		CHECK_EQ(bpfvm_prog_run(p, &run), -EFAULT);
		CHECK_CONTAINS(run.error, "R1 = 0x1000 is not a map");
	}
	bpfvm_vm_destroy(vm);
}

TEST(checked_program_cannot_use_a_map_it_was_not_given)
{
	struct bpfvm_vm *vm;
	CHECK_EQ(bpfvm_vm_create(&vm), 0);
	struct bpfvm_map *other = make_map(vm, BPFVM_MAP_ARRAY, 4, 8, 1, 0);
	char text[256];
	/* The real address of a map of the VM, forged as an immediate. */
	snprintf(text, sizeof(text),
		 "r1 = 0\n*(u32 *)(r10 - 4) = r1\nr1 = %llu ll\nr2 = r10\nr2 += -4\ncall 1\nexit\n",
		 (unsigned long long)(uintptr_t)other);
	struct bpfvm_prog *p = load_prog(vm, text, NULL, 0);
	CHECK(p);
	if (p)
		CHECK_EQ(run_prog(p, NULL, 0, 0), 0);
	bpfvm_vm_destroy(vm);
}
