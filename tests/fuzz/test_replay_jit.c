/* fuzz_jit inputs (seeds and regressions) as a plain test; see replay.h. */
#define FUZZ_TARGET "fuzz_jit"
#include "fuzz/fuzz_jit.c"
#include "fuzz/replay.h"
