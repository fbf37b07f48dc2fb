/* Map helpers from programs on every engine and safety mode: the
 * interpreter and the JIT, verified and checked. Each case is one
 * program checked on all four combinations (those the library offers). */
#include <errno.h>

#include "helpers/prog_util.h"

static const struct {
	enum bpfvm_safety safety;
	enum bpfvm_engine engine;
	const char *name;
} modes[] = {
	{BPFVM_SAFETY_CHECKED, BPFVM_ENGINE_INTERP, "checked interp"},
	{BPFVM_SAFETY_CHECKED, BPFVM_ENGINE_JIT, "checked jit"},
	{BPFVM_SAFETY_VERIFIED, BPFVM_ENGINE_INTERP, "verified interp"},
	{BPFVM_SAFETY_VERIFIED, BPFVM_ENGINE_JIT, "verified jit"},
};
#define NMODES (sizeof(modes) / sizeof(modes[0]))

/* Load text in mode m; NULL (reported) when that mode cannot load it. */
static struct bpfvm_prog *load_in(struct bpfvm_vm *vm, size_t m, const char *text,
				  struct bpfvm_map **maps, size_t nmaps)
{
	return load_prog_ex(vm, text, maps, nmaps, modes[m].safety, modes[m].engine);
}

/* 200 lookups with keys on the stack: more than the 64 regions a checked
 * run keeps for memory helpers hand out, so the stack must stay usable. */
TEST(many_lookups_with_stack_keys_on_every_engine)
{
	for (size_t m = 0; m < NMODES; m++) {
		struct bpfvm_vm *vm;
		CHECK_EQ(bpfvm_vm_create(&vm), 0);
		struct bpfvm_map *map = make_map(vm, BPFVM_MAP_HASH, 4, 8, 256, 0);
		for (uint32_t k = 0; k < 200; k++) {
			uint64_t v = k;
			bpfvm_map_update(map, &k, &v, BPFVM_ANY);
		}
		struct bpfvm_prog *p = load_in(vm, m,
			"r6 = 0\nr7 = 0\n"
			"loop: *(u32 *)(r10 - 4) = r6\n"
			"r1 = map[0] ll\nr2 = r10\nr2 += -4\ncall 1\n"
			"if r0 == 0 goto next\n"
			"r1 = *(u64 *)(r0 + 0)\nr7 += r1\n"
			"next: r6 += 1\n"
			"if r6 < 200 goto loop\n"
			"r0 = r7\nexit\n", &map, 1);
		if (p)
			CHECK_EQ(run_prog_on(p, NULL, 0, 0, modes[m].engine), 199 * 200 / 2);
		bpfvm_vm_destroy(vm);
	}
}

TEST(hash_of_maps_lookup_gives_the_inner_map_to_a_program)
{
	for (size_t m = 0; m < NMODES; m++) {
		struct bpfvm_vm *vm;
		CHECK_EQ(bpfvm_vm_create(&vm), 0);
		struct bpfvm_map *inner = make_map(vm, BPFVM_MAP_ARRAY, 4, 8, 4, 0);
		struct bpfvm_map_def def = {.type = BPFVM_MAP_HASH_OF_MAPS, .key_size = 4,
					    .value_size = 4, .max_entries = 4, .inner = inner};
		struct bpfvm_map *outer;
		CHECK_EQ(bpfvm_map_create(vm, &def, &outer), 0);
		uint32_t k = 9, id = bpfvm_map_id(inner), two = 2;
		uint64_t v = 1234;
		CHECK_EQ(bpfvm_map_update(outer, &k, &id, BPFVM_ANY), 0);
		CHECK_EQ(bpfvm_map_update(inner, &two, &v, BPFVM_ANY), 0);
		/* outer[9] -> inner; inner[2] -> value. */
		struct bpfvm_prog *p = load_in(vm, m,
			"r1 = 9\n*(u32 *)(r10 - 4) = r1\n"
			"r1 = map[0] ll\nr2 = r10\nr2 += -4\ncall 1\n"
			"if r0 == 0 goto fail\n"
			"r1 = 2\n*(u32 *)(r10 - 8) = r1\n"
			"r1 = r0\nr2 = r10\nr2 += -8\ncall 1\n"
			"if r0 == 0 goto fail\n"
			"r0 = *(u64 *)(r0 + 0)\nexit\n"
			"fail: r0 = 1\nexit\n", &outer, 1);
		if (p)
			CHECK_EQ(run_prog_on(p, NULL, 0, 0, modes[m].engine), 1234);
		bpfvm_vm_destroy(vm);
	}
}

TEST(percpu_hash_program_insert_zeroes_other_cpus)
{
	for (size_t m = 0; m < NMODES; m++) {
		struct bpfvm_vm *vm;
		CHECK_EQ(bpfvm_vm_create(&vm), 0);
		struct bpfvm_map *map = make_map(vm, BPFVM_MAP_PERCPU_HASH, 4, 8, 4, 0);
		struct bpfvm_prog *p = load_in(vm, m,
			"r1 = 5\n*(u32 *)(r10 - 4) = r1\n"
			"r1 = 77\n*(u64 *)(r10 - 16) = r1\n"
			"r1 = map[0] ll\nr2 = r10\nr2 += -4\nr3 = r10\nr3 += -16\nr4 = 0\ncall 2\n"
			"exit\n", &map, 1);
		if (p) {
			CHECK_EQ(run_prog_on(p, NULL, 0, 3, modes[m].engine), 0);
			CHECK_EQ(run_prog_on(p, NULL, 0, 1, modes[m].engine), 0);
		}
		uint64_t all[BPFVM_NR_CPUS];
		uint32_t k = 5;
		CHECK_EQ(bpfvm_map_lookup(map, &k, all), 0);
		for (int c = 0; c < BPFVM_NR_CPUS; c++)
			CHECK_EQ(all[c], (c == 1 || c == 3) ? 77 : 0);
		bpfvm_vm_destroy(vm);
	}
}

TEST(lpm_trie_lookup_from_a_program)
{
	for (size_t m = 0; m < NMODES; m++) {
		struct bpfvm_vm *vm;
		CHECK_EQ(bpfvm_vm_create(&vm), 0);
		struct bpfvm_map *map = make_map(vm, BPFVM_MAP_LPM_TRIE, 8, 8, 8, 1);
		uint8_t key[8] = {16, 0, 0, 0, 192, 168, 0, 0};
		uint64_t v = 16;
		CHECK_EQ(bpfvm_map_update(map, key, &v, BPFVM_ANY), 0);
		key[0] = 24, key[6] = 7, v = 24;
		CHECK_EQ(bpfvm_map_update(map, key, &v, BPFVM_ANY), 0);
		/* 192.168.7.9/32 -> the /24; 192.168.8.1/32 -> the /16. */
		struct bpfvm_prog *p = load_in(vm, m,
			"r1 = 32\n*(u32 *)(r10 - 8) = r1\n"
			"r1 = 0x0907a8c0\n*(u32 *)(r10 - 4) = r1\n"
			"r1 = map[0] ll\nr2 = r10\nr2 += -8\ncall 1\n"
			"if r0 == 0 goto fail\n"
			"r6 = *(u64 *)(r0 + 0)\nr6 *= 100\n"
			"r1 = 0x0108a8c0\n*(u32 *)(r10 - 4) = r1\n"
			"r1 = map[0] ll\nr2 = r10\nr2 += -8\ncall 1\n"
			"if r0 == 0 goto fail\n"
			"r0 = *(u64 *)(r0 + 0)\nr0 += r6\nexit\n"
			"fail: r0 = 1\nexit\n", &map, 1);
		if (p)
			CHECK_EQ(run_prog_on(p, NULL, 0, 0, modes[m].engine), 2416);
		bpfvm_vm_destroy(vm);
	}
}

TEST(array_direct_value_access_through_ld_imm64)
{
	for (size_t m = 0; m < NMODES; m++) {
		struct bpfvm_vm *vm;
		CHECK_EQ(bpfvm_vm_create(&vm), 0);
		struct bpfvm_map *map = make_map(vm, BPFVM_MAP_ARRAY, 4, 16, 1, 0);
		uint32_t k = 0;
		uint64_t v[2] = {5, 6};
		CHECK_EQ(bpfvm_map_update(map, &k, v, BPFVM_ANY), 0);
		/* r1 = &value + 8: reads 6, writes 60 back. */
		struct bpfvm_prog *p = load_in(vm, m,
			"r1 = map_value[0] + 8 ll\n"
			"r0 = *(u64 *)(r1 + 0)\n"
			"r2 = 60\n*(u64 *)(r1 + 0) = r2\nexit\n", &map, 1);
		if (p)
			CHECK_EQ(run_prog_on(p, NULL, 0, 0, modes[m].engine), 6);
		CHECK_EQ(bpfvm_map_lookup(map, &k, v), 0);
		CHECK_EQ(v[1], p ? 60 : 6);
		bpfvm_vm_destroy(vm);
	}
}

TEST(lru_program_lookup_protects_an_element_from_eviction)
{
	for (size_t m = 0; m < NMODES; m++) {
		struct bpfvm_vm *vm;
		CHECK_EQ(bpfvm_vm_create(&vm), 0);
		struct bpfvm_map *map = make_map(vm, BPFVM_MAP_LRU_HASH, 4, 8, 4, 0);
		uint64_t v = 1;
		for (uint32_t k = 0; k < 4; k++)
			bpfvm_map_update(map, &k, &v, BPFVM_ANY);
		struct bpfvm_prog *p = load_in(vm, m,
			"r1 = 0\n*(u32 *)(r10 - 4) = r1\n"
			"r1 = map[0] ll\nr2 = r10\nr2 += -4\ncall 1\n"
			"r0 = 0\nexit\n", &map, 1);
		if (p)
			run_prog_on(p, NULL, 0, 0, modes[m].engine);
		uint32_t k = 4;
		CHECK_EQ(bpfvm_map_update(map, &k, &v, BPFVM_ANY), 0);
		k = 0; /* referenced by the program: kept */
		CHECK_EQ(bpfvm_map_lookup(map, &k, &v), p ? 0 : -ENOENT);
		k = 1; /* the least recent unreferenced one went */
		CHECK_EQ(bpfvm_map_lookup(map, &k, &v), p ? -ENOENT : 0);
		bpfvm_vm_destroy(vm);
	}
}

TEST(array_of_maps_lookup_gives_the_inner_map_to_a_program)
{
	for (size_t m = 0; m < NMODES; m++) {
		struct bpfvm_vm *vm;
		CHECK_EQ(bpfvm_vm_create(&vm), 0);
		struct bpfvm_map *inner = make_map(vm, BPFVM_MAP_HASH, 4, 8, 4, 0);
		struct bpfvm_map_def def = {.type = BPFVM_MAP_ARRAY_OF_MAPS, .key_size = 4,
					    .value_size = 4, .max_entries = 2, .inner = inner};
		struct bpfvm_map *outer;
		CHECK_EQ(bpfvm_map_create(vm, &def, &outer), 0);
		uint32_t one = 1, id = bpfvm_map_id(inner);
		CHECK_EQ(bpfvm_map_update(outer, &one, &id, BPFVM_ANY), 0);
		/* Insert inner[7] = 55 through outer[1], then read it back;
		 * outer[0] is empty: NULL. */
		struct bpfvm_prog *p = load_in(vm, m,
			"r1 = 0\n*(u32 *)(r10 - 4) = r1\n"
			"r1 = map[0] ll\nr2 = r10\nr2 += -4\ncall 1\n"
			"if r0 != 0 goto fail\n"
			"r1 = 1\n*(u32 *)(r10 - 4) = r1\n"
			"r1 = map[0] ll\nr2 = r10\nr2 += -4\ncall 1\n"
			"if r0 == 0 goto fail\n"
			"r6 = r0\n"
			"r1 = 7\n*(u32 *)(r10 - 8) = r1\n"
			"r1 = 55\n*(u64 *)(r10 - 16) = r1\n"
			"r1 = r6\nr2 = r10\nr2 += -8\nr3 = r10\nr3 += -16\nr4 = 0\ncall 2\n"
			"if r0 != 0 goto fail\n"
			"r1 = r6\nr2 = r10\nr2 += -8\ncall 1\n"
			"if r0 == 0 goto fail\n"
			"r0 = *(u64 *)(r0 + 0)\nexit\n"
			"fail: r0 = 1\nexit\n", &outer, 1);
		if (p)
			CHECK_EQ(run_prog_on(p, NULL, 0, 0, modes[m].engine), 55);
		bpfvm_vm_destroy(vm);
	}
}
