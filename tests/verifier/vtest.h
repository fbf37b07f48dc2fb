/* Shared helpers of the verifier tests: load a program from assembly text
 * with maps given as "type:key:value:max" specs. */
#ifndef BPFVM_TESTS_VTEST_H
#define BPFVM_TESTS_VTEST_H

#include <stddef.h>

#include "bpfvm/vm.h"

struct vt_result {
	int rc;            /* of bpfvm_prog_load */
	char msg[512];     /* the VM's last error */
	char log[65536];   /* verifier log (log_level as requested) */
	int asm_failed;
};

/* Create maps from "hash:8:8:16,array:4:8:1"; returns the count or -1. */
int vt_make_maps(struct bpfvm_vm *vm, const char *spec, struct bpfvm_map **maps, int max);
/* Assemble text and load it verified; fills res. */
/* Same, with the program's license (NULL = GPL). */
void vt_load_licensed(const char *type, const char *text, const char *maps, int unpriv,
		      unsigned log_level, const char *license, struct vt_result *res);
void vt_load(const char *type, const char *text, const char *maps, int unpriv, unsigned log_level,
	     struct vt_result *res);
int vt_prog_type(const char *name, enum bpfvm_prog_type *out);

#endif
