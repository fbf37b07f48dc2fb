/* Built against the installed library with pkg-config by test_install.sh. */
#include <bpfvm/bpfvm.h>
#include <stdio.h>

int main(void)
{
	struct bpfvm_vm *vm;
	struct bpfvm_prog *prog;
	struct bpfvm_insn insns[2];
	bpfvm_isa_encode(BPFVM_OP_MOV64_IMM, 0, 0, 0, 42, 0, &insns[0]);
	bpfvm_isa_encode(BPFVM_OP_EXIT, 0, 0, 0, 0, 0, &insns[1]);
	struct bpfvm_prog_opts opts = {.safety = BPFVM_SAFETY_CHECKED, .engine = BPFVM_ENGINE_INTERP};
	if (bpfvm_vm_create(&vm) || bpfvm_prog_load(vm, insns, 2, &opts, &prog)) {
		fprintf(stderr, "load failed\n");
		return 1;
	}
	struct bpfvm_run run = {.engine = BPFVM_ENGINE_INTERP};
	int rc = bpfvm_prog_run(prog, &run);
	printf("%d %llu\n", rc, (unsigned long long)run.retval);
	bpfvm_vm_destroy(vm);
	return 0;
}
