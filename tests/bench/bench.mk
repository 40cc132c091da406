# Benchmarks (DESIGN §7): included from the top-level Makefile. Each prints a
# table and one "RESULT ..." line; it fails only when it cannot measure,
# never on a timing. They start build/a-healthy-dns (AHD_BIN overrides)
# on 127.0.0.1 with backends on 127.0.0.0/8 served by the benchmark.
#
#   make bench-failover [BENCH_FLIPS=20]
#   make bench-scale [BENCH_SCALE_ARGS="names interval timeout rounds"]
#     (default "5000 5 2 5": 10,000 addresses; needs ~20,000 file
#     descriptors, raised as root when the hard limit is lower): three
#     runs, tcp checks, then https with session resumption and without
#     (BENCH_SCALE_MODES="tcp https https-noresume" picks them)
#   make bench-replication [BENCH_FLIPS=20] [BENCH_REP_NAMES=10000]
#     (a stock NSD and Knot as secondaries, from tests/system/common/
#     secondary.c: needs nsd and knotd installed)
BENCH_B := build/bench
BENCH_COMMON := tests/bench/bench_util.c
BENCH_HDRS := tests/bench/bench_util.h

# The replication benchmark also links the system tests' secondaries.
BENCH_SYS := tests/system/common/secondary.c tests/system/common/sysutil.c
BENCH_SYS_HDRS := tests/system/common/secondary.h tests/system/common/sysutil.h

.PHONY: bench-failover bench-scale bench-replication

$(BENCH_B)/%: tests/bench/%.c $(BENCH_COMMON) $(BENCH_HDRS)
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) -Itests/bench $(CFLAGS) -o $@ $< $(BENCH_COMMON) $(LDLIBS)

bench-failover: build/a-healthy-dns $(BENCH_B)/bench_failover
	$(BENCH_B)/bench_failover $(BENCH_FLIPS)

BENCH_SCALE_MODES ?= tcp https https-noresume

bench-scale: build/a-healthy-dns $(BENCH_B)/bench_scale build/tools/ahd-tls-target
	for m in $(BENCH_SCALE_MODES); do \
		BENCH_SCALE_MODE=$$m AHD_TOOLS=build/tools $(BENCH_B)/bench_scale $(BENCH_SCALE_ARGS) || exit 1; \
	done

$(BENCH_B)/bench_replication: tests/bench/bench_replication.c $(BENCH_COMMON) $(BENCH_HDRS) \
		$(BENCH_SYS) $(BENCH_SYS_HDRS)
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) -Itests/bench -Itests/system/common $(CFLAGS) -o $@ $< \
		$(BENCH_COMMON) $(BENCH_SYS) $(LDLIBS)

bench-replication: build/a-healthy-dns $(BENCH_B)/bench_replication
	$(BENCH_B)/bench_replication $(or $(BENCH_FLIPS),20) $(or $(BENCH_REP_NAMES),10000)
