# Soak tests (reliability issue, items 3 and 5): the long versions of
# tests/system/test_faults.c and test_limits.c, run outside `make check`
# (about 8 minutes for the faults, a few for the limits). Included from the
# top-level Makefile. Both binaries, plain then sanitized, like check;
# SOAK_BINS narrows it (e.g. make soak SOAK_BINS=build/a-healthy-dns).
SOAK_B := build/tests/soak
SOAK_SRCS := $(wildcard tests/soak/soak_*.c)
SOAK_TESTS := $(SOAK_SRCS:tests/soak/%.c=$(SOAK_B)/%)
SOAK_BINS ?= build/a-healthy-dns build/asan/a-healthy-dns

.PHONY: soak

$(SOAK_B)/%: tests/soak/%.c tests/system/test_faults.c tests/system/test_limits.c \
		$(SYS_COMMON) $(wildcard tests/system/common/*.h)
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) -Itests/system/common $(CFLAGS) -o $@ $< $(SYS_COMMON) $(LDLIBS) -lcriterion

soak: all asan build/tools/ahd-health-target $(SOAK_TESTS)
	@set -e; for bin in $(SOAK_BINS); do \
		for t in $(SOAK_TESTS); do \
			echo "== $$t against $$bin"; \
			AHD_BIN=$$bin AHD_TOOLS=build/tools $$t --color=never -j1; \
		done; \
	done
