/* Replays a fuzz target's inputs as a plain test (gcc, ASan + UBSan under
 * make check, no libFuzzer needed): the crash reproducers kept in
 * tests/fuzz/regressions/<target>/ and the seed corpus
 * tests/fuzz/corpus/<target>/. A test_replay_<target>.c defines
 * FUZZ_TARGET and includes the target's source and this file. A
 * regression that comes back aborts the binary (the target's own checks)
 * or trips the sanitizers, and the test run reports it. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/harness.h"

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	fseek(f, 0, SEEK_END);
	long len = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *buf = malloc(len > 0 ? (size_t)len : 1);
	size_t got = buf ? fread(buf, 1, (size_t)len, f) : 0;
	fclose(f);
	if (!buf || got != (size_t)len) {
		free(buf);
		return -1;
	}
	LLVMFuzzerTestOneInput(buf, got);
	free(buf);
	return 0;
}

/* Replays every regular file of dir; returns how many, -1 if dir is absent. */
static int replay_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char path[1024];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (replay_file(path) == 0)
			n++;
	}
	closedir(d);
	return n;
}

TEST(regression_inputs_replay_without_a_finding)
{
	int n = replay_dir("tests/fuzz/regressions/" FUZZ_TARGET);
	if (n < 0)
		SKIP("no regressions recorded for " FUZZ_TARGET);
	CHECK(n > 0);
}

TEST(seed_corpus_replays_without_a_finding)
{
	int n = replay_dir("tests/fuzz/corpus/" FUZZ_TARGET);
	CHECK(n > 0);
}
