# Memcheck over a running server (tests/valgrind/test_memcheck.c): the
# plain binary under valgrind with every child traced, a query mix, health
# changes, a worker restart, SIGTERM; then every process's log must show
# 0 errors and nothing definitely or indirectly lost. About 15 s for its
# four tests on two idle cores.
#   make valgrind            build and run it
#   AHD_VALGRIND_BIN=path    another plain (not ASan) build to check
# Included by the top Makefile after its variables.
VG_TEST := $(B)/tests/valgrind/test_memcheck

.PHONY: valgrind

# `make tests` builds it too, so scripts/check.sh can run it.
tests: $(VG_TEST)

$(VG_TEST): tests/valgrind/test_memcheck.c $(SYS_COMMON) $(wildcard tests/system/common/*.h)
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) -Itests/system/common $(CFLAGS) -o $@ $< $(SYS_COMMON) $(LDLIBS) -lcriterion

# -j1 keeps valgrind's slowdown off other work; -j2 passes as well.
valgrind: $(B)/a-healthy-dns $(VG_TEST) $(B)/tools/ahd-health-target
	AHD_TOOLS=$(B)/tools $(VG_TEST) --color=never -j1
