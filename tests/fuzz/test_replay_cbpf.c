/* fuzz_cbpf inputs (seeds and regressions) as a plain test; see replay.h. */
#define FUZZ_TARGET "fuzz_cbpf"
#include "fuzz/fuzz_cbpf.c"
#include "fuzz/replay.h"
