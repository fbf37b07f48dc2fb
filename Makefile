# bpfvm build. `make` builds the library, the CLI and the conformance plugin
# into build/; `make check` builds with AddressSanitizer and
# UndefinedBehaviorSanitizer into build/san and runs every test.
# Dependencies are tracked per object (-MMD), so an edit rebuilds only what
# it must.

PREFIX ?= /usr/local
BUILD ?= build
CC ?= cc
SAN ?=
WERROR ?=

PKGS := libelf libbpf libpcap zlib
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CAPSTONE := $(shell pkg-config --exists capstone 2>/dev/null && echo 1)
ifeq ($(CAPSTONE),1)
CAP_CFLAGS := -DBPFVM_HAVE_CAPSTONE $(shell pkg-config --cflags capstone)
CAP_LIBS := $(shell pkg-config --libs capstone)
endif

OPT := -O2
ifeq ($(SAN),1)
OPT := -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
endif
ifeq ($(SAN),thread)
OPT := -O1 -fsanitize=thread
endif
ifeq ($(SAN),fuzz)
OPT := -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
endif
WARN := -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers
ifeq ($(WERROR),1)
WARN += -Werror
endif
CPPFLAGS += -Iinclude -Isrc -D_GNU_SOURCE
$(BUILD)/tests/%.o: CPPFLAGS += -Itests
CFLAGS += -std=c11 -g -fPIC $(OPT) $(WARN) -MMD -MP $(PKG_CFLAGS)
LDFLAGS += $(filter -fsanitize=%,$(OPT))
LDLIBS += $(PKG_LIBS) -lpthread -lm

LIB_SRCS := $(sort $(wildcard src/*/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
CLI_SRCS := $(sort $(wildcard tools/bpfvm/*.c))
CLI_OBJS := $(CLI_SRCS:%.c=$(BUILD)/%.o)
TEST_COMMON := $(sort $(wildcard tests/common/*.c))
TEST_COMMON_OBJS := $(TEST_COMMON:%.c=$(BUILD)/%.o)
TEST_SRCS := $(sort $(wildcard tests/*/test_*.c))
TEST_BINS := $(TEST_SRCS:%.c=$(BUILD)/%)
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(FUZZ_SRCS:%.c=$(BUILD)/%)
BENCH_SRCS := $(sort $(wildcard bench/bench_*.c))
BENCH_BINS := $(BENCH_SRCS:%.c=$(BUILD)/%)

STATIC := $(BUILD)/libbpfvm.a
SHARED := $(BUILD)/libbpfvm.so
CLI := $(BUILD)/bpfvm
PLUGIN := $(BUILD)/bpfvm-conformance-plugin

# Keep objects made through chained rules (tests/common/*.o): the
# interpreter's switch-dispatch test relinks the suite with them.
.SECONDARY:

.PHONY: all lib tests bench fuzzers check check-clang install uninstall clean example
all: lib $(CLI) $(PLUGIN)
lib: $(STATIC) $(SHARED)
tests: all $(TEST_BINS)
bench: all $(BENCH_BINS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(STATIC): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(SHARED): $(LIB_OBJS)
	$(CC) -shared -Wl,-soname,libbpfvm.so.0 $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(CLI): $(CLI_OBJS) $(STATIC)
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJS) $(STATIC) $(LDLIBS) $(CAP_LIBS)

$(BUILD)/tools/bpfvm/%.o: CFLAGS += $(CAP_CFLAGS)

$(PLUGIN): $(BUILD)/tools/conformance-plugin/plugin.o $(STATIC)
	$(CC) $(LDFLAGS) -o $@ $< $(STATIC) $(LDLIBS)

$(BUILD)/tests/%: tests/%.c $(TEST_COMMON_OBJS) $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests $(CFLAGS) -o $@ $< $(TEST_COMMON_OBJS) $(STATIC) $(LDLIBS)

# libFuzzer targets: build with `make CC=clang SAN=fuzz BUILD=build/fuzz fuzzers`.
fuzzers: $(FUZZ_BINS)
$(BUILD)/tests/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(TEST_COMMON_OBJS) $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests $(CFLAGS) -fsanitize=fuzzer -o $@ $< $(STATIC) $(LDLIBS)

$(BUILD)/bench/%: bench/%.c $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(STATIC) $(LDLIBS)

# Every test, under ASan + UBSan. The fuzz test (tests/fuzz/test_fuzz.sh)
# builds the library again with clang and -Werror, so a clang warning fails
# the run too.
JOBS ?= $(shell nproc)
check:
	$(MAKE) --no-print-directory -j$(JOBS) SAN=1 BUILD=build/san tests
	BUILD=build/san tests/run.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include/bpfvm $(DESTDIR)$(PREFIX)/bin
	install -m 644 $(STATIC) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(SHARED) $(DESTDIR)$(PREFIX)/lib/libbpfvm.so.0
	ln -sf libbpfvm.so.0 $(DESTDIR)$(PREFIX)/lib/libbpfvm.so
	install -m 644 include/bpfvm/*.h include/bpfvm/*.def $(DESTDIR)$(PREFIX)/include/bpfvm/
	install -m 755 $(CLI) $(PLUGIN) $(DESTDIR)$(PREFIX)/bin/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@PKG_LIBS@|$(PKG_LIBS)|' bpfvm.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/bpfvm.pc

uninstall:
	rm -rf $(DESTDIR)$(PREFIX)/include/bpfvm $(DESTDIR)$(PREFIX)/lib/pkgconfig/bpfvm.pc
	rm -f $(DESTDIR)$(PREFIX)/lib/libbpfvm.* $(DESTDIR)$(PREFIX)/bin/bpfvm $(DESTDIR)$(PREFIX)/bin/bpfvm-conformance-plugin

example: all
	$(CLI) run examples/hello.asm

clean:
	rm -rf build

-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d) $(TEST_COMMON_OBJS:.o=.d) $(BUILD)/tools/conformance-plugin/plugin.d
# Test and fuzz programs too: a shared header (tests/fuzz/progen.h) rebuilds them.
-include $(TEST_BINS:=.d) $(FUZZ_BINS:=.d)
