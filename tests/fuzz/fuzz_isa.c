/* Fuzz target: decoder and validator on arbitrary bytes.
 * Property: every slot the decoder accepts re-encodes, from its decoded
 * fields, to the same bytes (the table is a bijection on valid forms). */
#include <stdlib.h>
#include <string.h>

#include "bpfvm/isa.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n = size / sizeof(struct bpfvm_insn);
	if (n == 0)
		return 0;
	struct bpfvm_insn *insns = malloc(n * sizeof(*insns));
	memcpy(insns, data, n * sizeof(*insns));
	char err[256];
	int valid = bpfvm_isa_validate(insns, n, err, sizeof(err)) == 0;
	for (size_t pc = 0; pc < n; pc++) {
		struct bpfvm_decoded d;
		if (bpfvm_isa_decode(insns, n, pc, &d, err, sizeof(err)))
			continue;
		if (valid) {
			struct bpfvm_insn enc[2];
			int slots = bpfvm_isa_encode(d.opid, d.dst, d.src, d.off, d.imm, d.imm64, enc);
			if (slots != d.slots || memcmp(enc, &insns[pc], (size_t)slots * sizeof(enc[0])))
				abort();
		}
		pc += (size_t)d.slots - 1;
	}
	free(insns);
	return 0;
}
