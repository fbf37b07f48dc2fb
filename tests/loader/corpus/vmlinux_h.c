/* Write vmlinux.h (every type of the running kernel's BTF, as C) to
 * stdout, with libbpf's btf_dump, for building CO-RE programs of the corpus
 * when bpftool is not installed. */
#include <stdarg.h>
#include <stdio.h>

#include <bpf/btf.h>

static void print_fn(void *ctx, const char *fmt, va_list args)
{
	vfprintf(ctx, fmt, args);
}

int main(void)
{
	struct btf *btf = btf__load_vmlinux_btf();
	if (!btf) {
		fprintf(stderr, "vmlinux_h: cannot read the kernel's BTF\n");
		return 1;
	}
	struct btf_dump *d = btf_dump__new(btf, print_fn, stdout, NULL);
	if (!d)
		return 1;
	printf("#ifndef __VMLINUX_H__\n#define __VMLINUX_H__\n\n"
	       "#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n\n");
	for (__u32 id = 1; id < btf__type_cnt(btf); id++)
		if (btf_dump__dump_type(d, id))
			return 1;
	printf("\n#pragma clang attribute pop\n#endif\n");
	btf_dump__free(d);
	btf__free(btf);
	return 0;
}
