# Benchmarks (DESIGN §7): included from the top-level Makefile. Each prints a
# table and one "RESULT ..." line; it fails only when it cannot measure,
# never on a timing. They start build/a-healthy-dns (AHD_BIN overrides)
# on 127.0.0.1 with backends on 127.0.0.0/8 served by the benchmark.
#
#   make bench-failover [BENCH_FLIPS=20]
#   make bench-scale [BENCH_SCALE_ARGS="names interval timeout rounds"]
#     (default "5000 5 2 5": 10,000 addresses; needs ~20,000 file
#     descriptors, raised as root when the hard limit is lower)
BENCH_B := build/bench
BENCH_COMMON := tests/bench/bench_util.c
BENCH_HDRS := tests/bench/bench_util.h

.PHONY: bench-failover bench-scale

$(BENCH_B)/%: tests/bench/%.c $(BENCH_COMMON) $(BENCH_HDRS)
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) -Itests/bench $(CFLAGS) -o $@ $< $(BENCH_COMMON) $(LDLIBS)

bench-failover: build/a-healthy-dns $(BENCH_B)/bench_failover
	$(BENCH_B)/bench_failover $(BENCH_FLIPS)

bench-scale: build/a-healthy-dns $(BENCH_B)/bench_scale
	$(BENCH_B)/bench_scale $(BENCH_SCALE_ARGS)
