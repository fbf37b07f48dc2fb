/* Fuzz target: BPF ELF objects (bpfvm_object_open_mem) on arbitrary bytes.
 * Properties: never a crash, hang or leak; every failure leaves a message
 * in the VM's last error; an object that opens can be walked (sections,
 * programs with their instructions, maps) and loaded (maps created,
 * programs verified) without any sanitizer report, and closes cleanly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfvm/bpfvm.h"

static void require_message(struct bpfvm_vm *vm, const char *what, int rc)
{
	const char *e = bpfvm_vm_last_error(vm);
	if (!e || !*e) {
		fprintf(stderr, "%s failed (%d) without a message\n", what, rc);
		abort();
	}
}

static void walk(struct bpfvm_object *obj)
{
	volatile size_t sink = 0;
	for (size_t i = 0; i < bpfvm_object_section_count(obj); i++) {
		uint64_t size;
		const char *name = bpfvm_object_section(obj, i, &size, NULL);
		sink += name ? strlen(name) : 0;
	}
	for (size_t i = 0; i < bpfvm_object_prog_count(obj); i++) {
		struct bpfvm_object_prog *p = bpfvm_object_prog_at(obj, i);
		size_t n = 0;
		const struct bpfvm_insn *insns = bpfvm_object_prog_insns(p, &n);
		for (size_t k = 0; k < n; k++)
			sink += insns[k].code;
		sink += strlen(bpfvm_object_prog_name(p)) + strlen(bpfvm_object_prog_section(p));
	}
	for (size_t i = 0; i < bpfvm_object_map_count(obj); i++) {
		struct bpfvm_object_map *m = bpfvm_object_map_at(obj, i);
		sink += strlen(bpfvm_object_map_name(m)) + bpfvm_object_map_def(m)->value_size;
	}
	(void)sink;
}

/* An object may ask for maps of any size (max_entries x value_size is the
 * user's request, honoured as the kernel honours it within its memory
 * limits); loading a 16 GB array is no finding, so such objects are
 * walked but not loaded. */
#define FUZZ_MAP_BYTES_MAX (64ull << 20)

static int maps_are_small(struct bpfvm_object *obj)
{
	for (size_t i = 0; i < bpfvm_object_map_count(obj); i++) {
		const struct bpfvm_map_def *d = bpfvm_object_map_def(bpfvm_object_map_at(obj, i));
		uint64_t bytes = ((uint64_t)d->key_size + d->value_size + 64) * d->max_entries * BPFVM_NR_CPUS;
		if (bytes > FUZZ_MAP_BYTES_MAX)
			return 0;
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bpfvm_vm *vm;
	if (bpfvm_vm_create(&vm))
		abort();
	struct bpfvm_object *obj = NULL;
	int rc = bpfvm_object_open_mem(vm, data, size, NULL, &obj);
	if (rc) {
		require_message(vm, "open", rc);
	} else {
		walk(obj);
		if (maps_are_small(obj)) {
			rc = bpfvm_object_load(obj, NULL);
			if (rc)
				require_message(vm, "load", rc);
		}
		bpfvm_object_close(obj);
	}
	bpfvm_vm_destroy(vm);
	return 0;
}
