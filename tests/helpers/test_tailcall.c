/* Tail calls end to end: a program stores a value in a PERCPU_ARRAY and
 * tail-calls, through a PROG_ARRAY the host filled, a program that reads
 * it; the 33-call limit; empty and out-of-range slots fall through. */
#include <errno.h>

#include "helpers/prog_util.h"

/* Every test runs in each engine and safety mode the library offers. */
static const struct {
	enum bpfvm_safety safety;
	enum bpfvm_engine engine;
} modes[] = {
	{BPFVM_SAFETY_CHECKED, BPFVM_ENGINE_INTERP},
	{BPFVM_SAFETY_CHECKED, BPFVM_ENGINE_JIT},
	{BPFVM_SAFETY_VERIFIED, BPFVM_ENGINE_INTERP},
	{BPFVM_SAFETY_VERIFIED, BPFVM_ENGINE_JIT},
};
static size_t cur;

static struct bpfvm_prog *load_mode(struct bpfvm_vm *vm, const char *text, struct bpfvm_map **maps,
				    size_t nmaps)
{
	return load_prog_ex(vm, text, maps, nmaps, modes[cur].safety, modes[cur].engine);
}

static uint64_t run_mode(struct bpfvm_prog *prog, uint32_t cpu)
{
	return run_prog_on(prog, NULL, 0, cpu, modes[cur].engine);
}

#define FOR_EACH_MODE for (cur = 0; cur < sizeof(modes) / sizeof(modes[0]); cur++)

/* Stores 42 in percpu[0] (this CPU's copy), then tail-calls slot r2-index. */
#define CALLER(slot)                                                              \
	"r6 = r1\n"                                                              \
	"r1 = 0\n"                                                               \
	"*(u32 *)(r10 - 4) = r1\n"                                               \
	"r2 = r10\n"                                                             \
	"r2 += -4\n"                                                             \
	"r1 = map[0] ll\n"                                                       \
	"call 1\n"                                                               \
	"if r0 == 0 goto fail\n"                                                 \
	"r1 = 42\n"                                                              \
	"*(u64 *)(r0 + 0) = r1\n"                                                \
	"r1 = r6\n"                                                              \
	"r2 = map[1] ll\n"                                                       \
	"r3 = " slot "\n"                                                        \
	"call 12\n"                                                              \
	"r0 = 7\n" /* fell through */                                            \
	"exit\n"                                                                 \
	"fail: r0 = 1\n"                                                         \
	"exit\n"

static const char callee_text[] =
	"r1 = 0\n"
	"*(u32 *)(r10 - 4) = r1\n"
	"r2 = r10\n"
	"r2 += -4\n"
	"r1 = map[0] ll\n"
	"call 1\n"
	"if r0 == 0 goto fail\n"
	"r0 = *(u64 *)(r0 + 0)\n"
	"r0 += 100\n"
	"exit\n"
	"fail: r0 = 2\n"
	"exit\n";

struct fixture {
	struct bpfvm_vm *vm;
	struct bpfvm_map *maps[2]; /* percpu array, prog array */
	struct bpfvm_prog *callee;
};

static int setup(struct fixture *f)
{
	if (bpfvm_vm_create(&f->vm))
		return -1;
	f->maps[0] = make_map(f->vm, BPFVM_MAP_PERCPU_ARRAY, 4, 8, 1, 0);
	f->maps[1] = make_map(f->vm, BPFVM_MAP_PROG_ARRAY, 4, 4, 4, 0);
	if (!f->maps[0] || !f->maps[1])
		return -1;
	f->callee = load_mode(f->vm, callee_text, f->maps, 2);
	if (!f->callee)
		return -1;
	uint32_t slot = 0, id = bpfvm_prog_id(f->callee);
	return bpfvm_map_update(f->maps[1], &slot, &id, BPFVM_ANY);
}

TEST(tail_call_reads_percpu_value_written_before_the_jump)
{
	FOR_EACH_MODE {
		struct fixture f;
		CHECK_EQ(setup(&f), 0);
		struct bpfvm_prog *caller = load_mode(f.vm, CALLER("0"), f.maps, 2);
		CHECK(caller);
		if (!caller)
			continue;
		CHECK_EQ(run_mode(caller, 2), 142);
		/* Only CPU 2's copy was written. */
		uint64_t all[BPFVM_NR_CPUS];
		uint32_t k = 0;
		CHECK_EQ(bpfvm_map_lookup(f.maps[0], &k, all), 0);
		for (int c = 0; c < BPFVM_NR_CPUS; c++)
			CHECK_EQ(all[c], c == 2 ? 42 : 0);
		bpfvm_vm_destroy(f.vm);
	}
}

TEST(tail_call_empty_or_out_of_range_slot_falls_through)
{
	FOR_EACH_MODE {
		struct fixture f;
		CHECK_EQ(setup(&f), 0);
		struct bpfvm_prog *empty = load_mode(f.vm, CALLER("1"), f.maps, 2);
		struct bpfvm_prog *range = load_mode(f.vm, CALLER("99"), f.maps, 2);
		CHECK(empty && range);
		if (!empty || !range)
			continue;
		CHECK_EQ(run_mode(empty, 0), 7);
		CHECK_EQ(run_mode(range, 0), 7);
		/* A slot the host deletes is empty again. */
		struct bpfvm_prog *zero = load_mode(f.vm, CALLER("0"), f.maps, 2);
		uint32_t slot = 0;
		CHECK_EQ(run_mode(zero, 0), 142);
		CHECK_EQ(bpfvm_map_delete(f.maps[1], &slot), 0);
		CHECK_EQ(bpfvm_map_delete(f.maps[1], &slot), -ENOENT);
		CHECK_EQ(run_mode(zero, 0), 7);
		bpfvm_vm_destroy(f.vm);
	}
}

TEST(tail_call_destroyed_program_leaves_its_slot)
{
	FOR_EACH_MODE {
		struct fixture f;
		CHECK_EQ(setup(&f), 0);
		struct bpfvm_prog *caller = load_mode(f.vm, CALLER("0"), f.maps, 2);
		CHECK(caller);
		if (!caller)
			continue;
		uint32_t slot = 0, id;
		CHECK_EQ(bpfvm_map_lookup(f.maps[1], &slot, &id), 0);
		CHECK_EQ(id, bpfvm_prog_id(f.callee));
		bpfvm_prog_destroy(f.callee);
		CHECK_EQ(bpfvm_map_lookup(f.maps[1], &slot, &id), -ENOENT);
		CHECK_EQ(run_mode(caller, 0), 7);
		bpfvm_vm_destroy(f.vm);
	}
}

/* Counts its executions in array[0] and tail-calls itself. */
static const char self_text[] =
	"r6 = r1\n"
	"r1 = 0\n"
	"*(u32 *)(r10 - 4) = r1\n"
	"r2 = r10\n"
	"r2 += -4\n"
	"r1 = map[1] ll\n"
	"call 1\n"
	"if r0 == 0 goto fail\n"
	"r1 = 1\n"
	"lock *(u64 *)(r0 + 0) += r1\n"
	"r1 = r6\n"
	"r2 = map[0] ll\n"
	"r3 = 0\n"
	"call 12\n"
	"r0 = 77\n"
	"exit\n"
	"fail: r0 = 1\n"
	"exit\n";

TEST(tail_call_limit_is_33_calls)
{
	FOR_EACH_MODE {
		struct bpfvm_vm *vm;
		CHECK_EQ(bpfvm_vm_create(&vm), 0);
		struct bpfvm_map *maps[2] = {make_map(vm, BPFVM_MAP_PROG_ARRAY, 4, 4, 1, 0),
					     make_map(vm, BPFVM_MAP_ARRAY, 4, 8, 1, 0)};
		struct bpfvm_prog *self = load_mode(vm, self_text, maps, 2);
		CHECK(self);
		if (!self)
			continue;
		uint32_t slot = 0, id = bpfvm_prog_id(self);
		CHECK_EQ(bpfvm_map_update(maps[0], &slot, &id, BPFVM_ANY), 0);
		CHECK_EQ(bpfvm_map_update(maps[0], &slot, &id, BPFVM_NOEXIST), -EINVAL);
		CHECK_EQ(run_mode(self, 0), 77);
		uint64_t count;
		CHECK_EQ(bpfvm_map_lookup(maps[1], &slot, &count), 0);
		CHECK_EQ(count, 1 + 33);
		bpfvm_vm_destroy(vm);
	}
}
