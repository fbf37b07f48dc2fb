/* fuzz_isa inputs (seeds and regressions) as a plain test; see replay.h. */
#define FUZZ_TARGET "fuzz_isa"
#include "fuzz/fuzz_isa.c"
#include "fuzz/replay.h"
