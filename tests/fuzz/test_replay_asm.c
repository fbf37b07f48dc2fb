/* fuzz_asm inputs (seeds and regressions) as a plain test; see replay.h. */
#define FUZZ_TARGET "fuzz_asm"
#include "fuzz/fuzz_asm.c"
#include "fuzz/replay.h"
