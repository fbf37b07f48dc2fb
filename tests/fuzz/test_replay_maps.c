/* fuzz_maps inputs (seeds and regressions) as a plain test; see replay.h. */
#define FUZZ_TARGET "fuzz_maps"
#include "fuzz/fuzz_maps.c"
#include "fuzz/replay.h"
