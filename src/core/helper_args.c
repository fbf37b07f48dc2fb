/* Checked mode: helper arguments checked against the helper's prototype.
 *
 * A verified program only reaches a helper with arguments the verifier
 * proved to match its prototype. A checked (unverified) program can pass
 * anything, so before each helper call the engines ask this module to do
 * at run time what the verifier does statically: every pointer argument
 * must point into memory the run may access, for the size the prototype
 * implies (the map's key or value size, the next argument for memory
 * arguments, a NUL inside the region for strings). One mechanism, read
 * from the same prototypes the verifier reads, keeps every helper -- the
 * standard ones and the host's -- from being handed a wild pointer. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/internal.h"

struct arg_check {
	struct bpfvm_call_ctx *cc;
	const struct bpfvm_helper *h;
	const uint64_t *args;
	struct bpfvm_map *map; /* the CONST_MAP_PTR argument seen so far */
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 3, 4)))
static int arg_fail(struct arg_check *ac, int i, const char *fmt, ...)
{
	int len = snprintf(ac->err, ac->errlen, "helper bpf_%s#%u: R%d ", ac->h->name, ac->h->id,
			   i + 1);
	if (len >= 0 && (size_t)len < ac->errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(ac->err + len, ac->errlen - (size_t)len, fmt, ap);
		va_end(ap);
	}
	return -EFAULT;
}

static int is_vm_map(struct bpfvm_vm *vm, uint64_t ptr)
{
	int found = 0;
	pthread_mutex_lock(&vm->lock);
	for (size_t i = 0; i < vm->nmaps && !found; i++)
		found = vm->maps[i] && (uint64_t)(uintptr_t)vm->maps[i] == ptr;
	pthread_mutex_unlock(&vm->lock);
	return found;
}

/* The region holding addr, or NULL. */
static const struct bpfvm_region *region_of(const struct bpfvm_call_ctx *cc, uint64_t addr)
{
	for (int i = 0; i < cc->nregions; i++) {
		uint64_t lo = (uint64_t)(uintptr_t)cc->regions[i].addr;
		if (addr >= lo && addr - lo < cc->regions[i].size)
			return &cc->regions[i];
	}
	return NULL;
}

static int check_mem(struct arg_check *ac, int i, uint64_t size, int write)
{
	uint64_t addr = ac->args[i];
	if (size == 0)
		return 0;
	if (!addr || size > SIZE_MAX || !bpfvm__region_allowed(ac->cc, addr, (size_t)size, write))
		return arg_fail(ac, i, write ? "= 0x%llx: %llu bytes not writable by this run"
					     : "= 0x%llx: %llu bytes not readable by this run",
				(unsigned long long)addr, (unsigned long long)size);
	return 0;
}

static int check_map_sized(struct arg_check *ac, int i, int value, int write)
{
	if (!ac->map)
		return arg_fail(ac, i, "= 0x%llx: no map argument precedes it", (unsigned long long)ac->args[i]);
	const struct bpfvm_map_def *def = bpfvm_map_def(ac->map);
	return check_mem(ac, i, value ? def->value_size : def->key_size, write);
}

/* Size of the memory argument i: the next argument, as in the kernel's
 * ARG_PTR_TO_MEM + ARG_CONST_SIZE pairs. */
static uint64_t mem_size(const struct arg_check *ac, int i)
{
	return i + 1 < 5 ? ac->args[i + 1] : 0;
}

static int check_const_str(struct arg_check *ac, int i)
{
	const struct bpfvm_region *r = region_of(ac->cc, ac->args[i]);
	if (!r)
		return arg_fail(ac, i, "= 0x%llx: string not readable by this run", (unsigned long long)ac->args[i]);
	uint64_t off = ac->args[i] - (uint64_t)(uintptr_t)r->addr;
	if (!memchr((const char *)r->addr + off, 0, r->size - off))
		return arg_fail(ac, i, "= 0x%llx: string not NUL-terminated inside its memory",
				(unsigned long long)ac->args[i]);
	return 0;
}

static int check_one(struct arg_check *ac, int i)
{
	uint64_t v = ac->args[i];
	switch (ac->h->args[i]) {
	case BPFVM_ARG_CONST_MAP_PTR:
		if (!is_vm_map(ac->cc->vm, v))
			return arg_fail(ac, i, "= 0x%llx is not a map", (unsigned long long)v);
		ac->map = (struct bpfvm_map *)(uintptr_t)v;
		return 0;
	case BPFVM_ARG_PTR_TO_MAP_KEY:
		return check_map_sized(ac, i, 0, 0);
	case BPFVM_ARG_PTR_TO_MAP_VALUE:
		return check_map_sized(ac, i, 1, 0);
	case BPFVM_ARG_PTR_TO_UNINIT_MAP_VALUE:
		return check_map_sized(ac, i, 1, 1);
	case BPFVM_ARG_PTR_TO_MEM_OR_NULL:
		if (!v)
			return 0;
		return check_mem(ac, i, mem_size(ac, i), 0);
	case BPFVM_ARG_PTR_TO_MEM:
		return check_mem(ac, i, mem_size(ac, i), 0);
	case BPFVM_ARG_PTR_TO_UNINIT_MEM:
		return check_mem(ac, i, mem_size(ac, i), 1);
	case BPFVM_ARG_PTR_TO_LONG:
		return check_mem(ac, i, 8, 1);
	case BPFVM_ARG_PTR_TO_CTX:
		if (v != (uint64_t)(uintptr_t)ac->cc->run->ctx)
			return arg_fail(ac, i, "= 0x%llx is not the context (0x%llx)", (unsigned long long)v,
					(unsigned long long)(uintptr_t)ac->cc->run->ctx);
		return 0;
	case BPFVM_ARG_PTR_TO_FUNC:
		if (v >= ac->cc->prog->n)
			return arg_fail(ac, i, "= %llu is not an instruction of the program (%llu)",
					(unsigned long long)v,
					(unsigned long long)ac->cc->prog->n);
		return 0;
	case BPFVM_ARG_PTR_TO_STACK_OR_NULL:
		return v ? check_mem(ac, i, 1, 0) : 0;
	case BPFVM_ARG_PTR_TO_CONST_STR:
		return check_const_str(ac, i);
	case BPFVM_ARG_PTR_TO_ALLOC_MEM:
		return check_mem(ac, i, 1, 1);
	default: /* scalars and sizes: any value is safe for the helper */
		return 0;
	}
}

int bpfvm__helper_args_check(struct bpfvm_call_ctx *cc, const struct bpfvm_helper *h,
			     const uint64_t args[5], char *err, size_t errlen)
{
	struct arg_check ac = {cc, h, args, NULL, err, errlen};
	for (int i = 0; i < 5; i++) {
		int rc = check_one(&ac, i);
		if (rc)
			return rc;
	}
	return 0;
}
