/* fuzz_elf inputs (seeds and regressions) as a plain test; see replay.h. */
#define FUZZ_TARGET "fuzz_elf"
#include "fuzz/fuzz_elf.c"
#include "fuzz/replay.h"
