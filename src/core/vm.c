/* The VM: registries of helpers, programs and maps, and error reporting.
 * Everything a VM knows lives in its struct; there is no global state. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

static void print_to_stderr(void *user, const char *text, size_t len)
{
	(void)user;
	fwrite(text, 1, len, stderr);
}

int bpfvm_vm_create(struct bpfvm_vm **out)
{
	struct bpfvm_vm *vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	pthread_mutex_init(&vm->lock, NULL);
	vm->print = print_to_stderr;
	int rc = bpfvm__helpers_register_std(vm);
	if (!rc)
		rc = bpfvm__packet_helpers_register(vm);
	if (rc) {
		bpfvm_vm_destroy(vm);
		return rc;
	}
	*out = vm;
	return 0;
}

void bpfvm_vm_destroy(struct bpfvm_vm *vm)
{
	if (!vm)
		return;
	/* Programs first: they hold references on maps. */
	for (size_t i = 0; i < vm->nprogs; i++)
		if (vm->progs[i])
			bpfvm_prog_destroy(vm->progs[i]);
	for (size_t i = 0; i < vm->nmaps; i++)
		if (vm->maps[i])
			bpfvm_map_destroy(vm->maps[i]);
	free(vm->progs);
	free(vm->maps);
	free(vm->helpers);
	pthread_mutex_destroy(&vm->lock);
	free(vm);
}

const char *bpfvm_vm_last_error(const struct bpfvm_vm *vm)
{
	return vm->last_error;
}

void bpfvm_vm_set_print(struct bpfvm_vm *vm, bpfvm_print_fn fn, void *user)
{
	vm->print = fn ? fn : print_to_stderr;
	vm->print_user = fn ? user : NULL;
}

int bpfvm__vm_error(struct bpfvm_vm *vm, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(vm->last_error, sizeof(vm->last_error), fmt, ap);
	va_end(ap);
	return err;
}

int bpfvm__run_error(struct bpfvm_run *run, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(run->error, sizeof(run->error), fmt, ap);
	va_end(ap);
	return err;
}

/* Grow *arr (of elements of size elem) to hold at least need elements. */
static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 16;
	while (ncap < need)
		ncap *= 2;
	void *p = realloc(*arr, ncap * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

int bpfvm_vm_register_helper(struct bpfvm_vm *vm, const struct bpfvm_helper *helper)
{
	if (!helper || !helper->name || (!helper->fn && helper->id != BPFVM_HELPER_TAIL_CALL))
		return bpfvm__vm_error(vm, -EINVAL, "helper needs a name and a function");
	pthread_mutex_lock(&vm->lock);
	int rc = 0;
	size_t i;
	for (i = 0; i < vm->nhelpers; i++)
		if (vm->helpers[i].id == helper->id)
			break;
	if (i == vm->nhelpers) {
		rc = grow((void **)&vm->helpers, &vm->helpers_cap, vm->nhelpers + 1,
			  sizeof(*vm->helpers));
		if (!rc)
			vm->nhelpers++;
	}
	if (!rc)
		vm->helpers[i] = *helper;
	pthread_mutex_unlock(&vm->lock);
	return rc;
}

const struct bpfvm_helper *bpfvm_vm_helper(const struct bpfvm_vm *vm, uint32_t id)
{
	for (size_t i = 0; i < vm->nhelpers; i++)
		if (vm->helpers[i].id == id)
			return &vm->helpers[i];
	return NULL;
}

int bpfvm__vm_add_map(struct bpfvm_vm *vm, struct bpfvm_map *map, uint32_t *id)
{
	pthread_mutex_lock(&vm->lock);
	int rc = grow((void **)&vm->maps, &vm->maps_cap, vm->nmaps + 1, sizeof(*vm->maps));
	if (!rc) {
		vm->maps[vm->nmaps++] = map;
		*id = (uint32_t)vm->nmaps;
	}
	pthread_mutex_unlock(&vm->lock);
	return rc;
}

void bpfvm__vm_remove_map(struct bpfvm_vm *vm, uint32_t id)
{
	pthread_mutex_lock(&vm->lock);
	if (id >= 1 && id <= vm->nmaps)
		vm->maps[id - 1] = NULL;
	pthread_mutex_unlock(&vm->lock);
}

struct bpfvm_map *bpfvm_vm_map_by_id(struct bpfvm_vm *vm, uint32_t id)
{
	struct bpfvm_map *map = NULL;
	pthread_mutex_lock(&vm->lock);
	if (id >= 1 && id <= vm->nmaps)
		map = vm->maps[id - 1];
	pthread_mutex_unlock(&vm->lock);
	return map;
}

size_t bpfvm_vm_map_count(const struct bpfvm_vm *vm)
{
	size_t count = 0;
	for (size_t i = 0; i < vm->nmaps; i++)
		count += vm->maps[i] != NULL;
	return count;
}

struct bpfvm_map *bpfvm_vm_map_at(const struct bpfvm_vm *vm, size_t index)
{
	for (size_t i = 0; i < vm->nmaps; i++)
		if (vm->maps[i] && index-- == 0)
			return vm->maps[i];
	return NULL;
}

int bpfvm__vm_add_prog(struct bpfvm_vm *vm, struct bpfvm_prog *prog)
{
	pthread_mutex_lock(&vm->lock);
	int rc = grow((void **)&vm->progs, &vm->progs_cap, vm->nprogs + 1, sizeof(*vm->progs));
	if (!rc) {
		vm->progs[vm->nprogs++] = prog;
		prog->id = (uint32_t)vm->nprogs;
	}
	pthread_mutex_unlock(&vm->lock);
	return rc;
}

void bpfvm__vm_remove_prog(struct bpfvm_vm *vm, uint32_t id)
{
	pthread_mutex_lock(&vm->lock);
	if (id >= 1 && id <= vm->nprogs)
		vm->progs[id - 1] = NULL;
	pthread_mutex_unlock(&vm->lock);
}

struct bpfvm_prog *bpfvm_vm_prog_by_id(struct bpfvm_vm *vm, uint32_t id)
{
	struct bpfvm_prog *prog = NULL;
	pthread_mutex_lock(&vm->lock);
	if (id >= 1 && id <= vm->nprogs)
		prog = vm->progs[id - 1];
	pthread_mutex_unlock(&vm->lock);
	return prog;
}
