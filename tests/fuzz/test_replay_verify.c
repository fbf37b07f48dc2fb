/* fuzz_verify inputs (seeds and regressions) as a plain test; see replay.h. */
#define FUZZ_TARGET "fuzz_verify"
#include "fuzz/fuzz_verify.c"
#include "fuzz/replay.h"
