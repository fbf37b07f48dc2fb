/* See harness.h. */
#include "common/harness.h"

#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>

#define MAX_TESTS 1024

static struct {
	const char *name;
	harness_fn fn;
} tests[MAX_TESTS];
static int ntests;
static int current_failed, current_skipped;

void harness_register(const char *name, harness_fn fn)
{
	if (ntests < MAX_TESTS) {
		tests[ntests].name = name;
		tests[ntests].fn = fn;
		ntests++;
	}
}

void harness_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stdout, "    %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	current_failed++;
}

void harness_skip(const char *why)
{
	printf("    skipped: %s\n", why);
	current_skipped = 1;
}

const char *harness_build_path(const char *rel, char *buf, size_t len)
{
	const char *build = getenv("BUILD");
	snprintf(buf, len, "%s/%s", build && *build ? build : "build", rel);
	return buf;
}

const char *harness_shared_dir(void)
{
	static const char *const candidates[] = {"../shared", "../../shared"};
	const char *env = getenv("BPFVM_SHARED");
	struct stat st;
	if (env && stat(env, &st) == 0)
		return env;
	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++)
		if (stat(candidates[i], &st) == 0 && S_ISDIR(st.st_mode))
			return candidates[i];
	return NULL;
}

int main(int argc, char **argv)
{
	int passed = 0, failed = 0, skipped = 0;
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 0; i < ntests; i++) {
		if (argc > 1 && !strstr(tests[i].name, argv[1]))
			continue;
		current_failed = 0;
		current_skipped = 0;
		tests[i].fn();
		if (current_failed) {
			printf("FAIL %s\n", tests[i].name);
			failed++;
		} else if (current_skipped) {
			printf("skip %s\n", tests[i].name);
			skipped++;
		} else {
			printf("ok   %s\n", tests[i].name);
			passed++;
		}
	}
	printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
	return failed ? 1 : 0;
}
