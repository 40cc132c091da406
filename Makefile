# a-healthy-dns: see README.md. Build outputs go to build/.
CC ?= cc
PREFIX ?= /usr/local
DESTDIR ?=
VERSION := 0.1.0

PKGS := ldns json-c libbsd openssl libseccomp
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wformat=2 -Wvla -Wno-unused-parameter
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -DAHD_VERSION='"$(VERSION)"' -Iinclude $(PKG_CFLAGS) $(WARN) -MMD -MP
CFLAGS ?= -O2 -g
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDLIBS := $(PKG_LIBS) -lpthread

B := build
SRCS := $(wildcard src/*.c)
OBJS := $(SRCS:src/%.c=$(B)/obj/%.o)
SAN_OBJS := $(SRCS:src/%.c=$(B)/asan/obj/%.o)
# Everything but main(): what unit tests and fuzzers link against.
LIB_OBJS := $(filter-out $(B)/obj/main.o,$(OBJS))
SAN_LIB_OBJS := $(filter-out $(B)/asan/obj/main.o,$(SAN_OBJS))

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/unit/%)
SYS_SRCS := $(wildcard tests/system/test_*.c)
SYS_BINS := $(SYS_SRCS:tests/system/%.c=$(B)/tests/system/%)
SYS_COMMON := $(wildcard tests/system/common/*.c)
TOOL_SRCS := $(wildcard tests/tools/*.c)
TOOL_BINS := $(TOOL_SRCS:tests/tools/%.c=$(B)/tools/%)

.PHONY: all asan tests deps deps-build deps-run check run install clean bench fuzz

all: $(B)/a-healthy-dns

$(B)/a-healthy-dns: $(OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

asan: $(B)/asan/a-healthy-dns

$(B)/asan/a-healthy-dns: $(SAN_OBJS)
	$(CC) $(CFLAGS) $(SAN) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/obj/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(B)/asan/obj/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(CPPFLAGS) $(CFLAGS) $(SAN) -c -o $@ $<

# Unit tests run under ASan+UBSan: they link the sanitized objects.
$(B)/tests/unit/%: tests/unit/%.c $(SAN_LIB_OBJS)
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) $(SAN) -o $@ $< $(SAN_LIB_OBJS) $(LDLIBS) -lcriterion

# System tests are clients: they start the real binary and talk DNS to it.
$(B)/tests/system/%: tests/system/%.c $(SYS_COMMON) $(wildcard tests/system/common/*.h)
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) -Itests/system/common $(CFLAGS) -o $@ $< $(SYS_COMMON) $(LDLIBS) -lcriterion

$(B)/tools/%: tests/tools/%.c
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -o $@ $< $(LDLIBS)

tests: all asan $(UNIT_BINS) $(SYS_BINS) $(TOOL_BINS)

deps:
	@scripts/deps.sh test

deps-build:
	@scripts/deps.sh build

deps-run:
	@scripts/deps.sh run

# Every test: unit tests (sanitized), then system tests against the plain
# and the sanitized binary. Ends with one "N passed, N failed" line.
check: deps
	$(MAKE) tests
	scripts/check.sh

run: deps-run
	$(MAKE) all $(B)/tools/ahd-health-target
	scripts/run-demo.sh

install: all
	install -D -m 0755 $(B)/a-healthy-dns $(DESTDIR)$(PREFIX)/sbin/a-healthy-dns
	install -D -m 0644 man/a-healthy-dns.8 $(DESTDIR)$(PREFIX)/share/man/man8/a-healthy-dns.8

clean:
	rm -rf $(B)

-include $(OBJS:.o=.d) $(SAN_OBJS:.o=.d)

# Fragments owned by their areas (after `all`, so it stays the default).
-include packaging/packaging.mk
-include tests/bench/bench.mk
-include tests/fuzz/fuzz.mk
-include tests/bench_dnssec/bench_dnssec.mk
-include tests/soak/soak.mk
-include tests/valgrind/valgrind.mk
-include tests/perf/perf.mk

# Benchmarks print numbers; nothing here asserts a speed.
bench: bench-peers bench-failover bench-scale bench-dnssec
