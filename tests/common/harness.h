/* A tiny test harness: TEST(name) { CHECK(...); } in any tests/<component>/test_*.c.
 * Each binary runs its tests (or those whose name contains argv[1]) and
 * ends with "N passed, N failed, N skipped"; tests/run.sh adds them up. */
#ifndef BPFVM_TEST_HARNESS_H
#define BPFVM_TEST_HARNESS_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef void (*harness_fn)(void);
void harness_register(const char *name, harness_fn fn);
void harness_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void harness_skip(const char *why);
/* Path of a file of the build (BUILD env var, default "build"). */
const char *harness_build_path(const char *rel, char *buf, size_t len);
/* Directory of ../shared next to the project, or NULL when absent. */
const char *harness_shared_dir(void);

#define TEST(name)                                                              \
	static void name(void);                                                 \
	__attribute__((constructor)) static void harness_reg_##name(void)       \
	{                                                                       \
		harness_register(#name, name);                                  \
	}                                                                       \
	static void name(void)

#define CHECK(cond)                                                             \
	do {                                                                    \
		if (!(cond))                                                    \
			harness_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);    \
	} while (0)

#define CHECK_EQ(a, b)                                                          \
	do {                                                                    \
		uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                \
		if (a_ != b_)                                                   \
			harness_fail(__FILE__, __LINE__, "%s == %s: 0x%" PRIx64 " != 0x%" PRIx64, \
				     #a, #b, a_, b_);                           \
	} while (0)

#define CHECK_STR(a, b)                                                         \
	do {                                                                    \
		const char *a_ = (a), *b_ = (b);                                \
		if (!a_ || !b_ || strcmp(a_, b_) != 0)                          \
			harness_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", #a, #b, \
				     a_ ? a_ : "(null)", b_ ? b_ : "(null)");   \
	} while (0)

#define CHECK_CONTAINS(hay, needle)                                             \
	do {                                                                    \
		const char *h_ = (hay), *n_ = (needle);                         \
		if (!h_ || !strstr(h_, n_))                                     \
			harness_fail(__FILE__, __LINE__, "\"%s\" does not contain \"%s\"", \
				     h_ ? h_ : "(null)", n_);                   \
	} while (0)

#define SKIP(why)                                                               \
	do {                                                                    \
		harness_skip(why);                                              \
		return;                                                         \
	} while (0)

#endif
