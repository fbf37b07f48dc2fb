/* Shared by the loader tests: compile a test program of tests/loader/progs
 * with clang at test time, as users build their objects. */
#ifndef BPFVM_TESTS_LOADER_OBJTEST_H
#define BPFVM_TESTS_LOADER_OBJTEST_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "common/harness.h"

/* Compile tests/loader/progs/<name>.c into the build tree; returns the
 * object's path in buf, or NULL when clang is missing or fails (the reason
 * is printed). */
static inline const char *objtest_compile(const char *name, char *buf, size_t len)
{
	char dir[512], cmd[2048];
	struct utsname u;
	harness_build_path("tests/loader/progs", dir, sizeof(dir));
	snprintf(cmd, sizeof(cmd), "mkdir -p %s", dir);
	if (system(cmd) != 0)
		return NULL;
	snprintf(buf, len, "%s/%s.o", dir, name);
	uname(&u);
	/* asm/types.h lives in the multiarch directory on Debian. */
	snprintf(cmd, sizeof(cmd),
		 "clang -O2 -g -target bpf -I/usr/include/%s-linux-gnu -c tests/loader/progs/%s.c "
		 "-o %s.tmp.%d 2>&1 && mv %s.tmp.%d %s",
		 u.machine, name, buf, (int)getpid(), buf, (int)getpid(), buf);
	if (system(cmd) != 0) {
		fprintf(stderr, "cannot compile %s.c with clang\n", name);
		return NULL;
	}
	return buf;
}

/* Skips the test when clang is not installed; fails it when clang is
 * there but cannot compile the program. */
#define OBJTEST_COMPILE(name, buf)                                              \
	do {                                                                    \
		if (system("command -v clang >/dev/null 2>&1") != 0)            \
			SKIP("clang is not installed");                         \
		if (!objtest_compile(name, buf, sizeof(buf))) {                 \
			harness_fail(__FILE__, __LINE__, "clang failed on %s.c", name); \
			return;                                                 \
		}                                                               \
	} while (0)

#endif
