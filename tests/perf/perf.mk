# Speed against the peers (DESIGN §7): included from the top-level Makefile
# after its variables. Prints numbers, asserts nothing.
#
#   make bench-peers     dnsperf against NSD, Knot and us on loopback
#                        (installs dnsperf, nsd, knot if missing; ~5 min):
#                        UDP, TCP, DNSSEC (one key for all three), UDP
#                        while an image is published 10 times a second,
#                        UDP while the zone is transferred 10 times a
#                        second (AXFR and IXFR in turn, kdig on CPU 0)
#   make perf-profile    where our query path spends its time: callgrind
#                        on the query core, perf/strace on a loaded worker
#   make bench-rrl       the cost of a rate-limiting check (DESIGN §10):
#                        a table per worker against one shared table
#   make bench-xdp       the AF_XDP mode (DESIGN §14, ~2 min): two network
#                        namespaces joined by a veth pair, dnsperf in one,
#                        the server in the other; us with sockets and with
#                        --xdp (native and generic), Knot with sockets and
#                        with its XDP mode on the veth, NSD (PERF_ROUNDS
#                        rounds of PERF_XDP_SECONDS, 5 s; servers on
#                        PERF_PORT+40..47 in their namespace);
#                        PERF_XDP_PROBE=1 adds the bare XSK probe's row,
#                        BASE=<git rev> that revision with sockets
#   make xdp-probe       groundwork for the AF_XDP path (DESIGN §14.3):
#                        tests/tools/xdp/ahd-xdp-probe loads an XDP
#                        program and answers on an XSK socket across a
#                        veth pair, native and generic, then kill -9
#                        (installs clang, libbpf-dev, libxdp-dev)
#   make bench-rrl-flood response rate limiting on loopback (DESIGN §10,
#                        ~2 min): RRL on but not triggered against off
#                        (dnsperf pairs), a spoofed flood from 127.1.1.0/24
#                        (tests/perf/flood.c) at 10x the rate and at
#                        PERF_FLOOD_RATE (20000) q/s, and the amplification
#                        table (unsigned, ED25519, RSA-4096; dig)
#
# Knobs (environment): PERF_ROUNDS (3), PERF_SECONDS (10),
# PERF_EXTRA_SECONDS (5, the TCP and DNSSEC runs), PERF_STARTS (5),
# PERF_PORT (25353, first of the ports used on 127.0.0.1-3),
# PERF_REPUBLISH_RATE (10 images a second in the "under change" runs),
# PERF_XFR_RATE (10 transfers a second in the "under transfer" runs),
# PERF_FLOOD_RATE (20000 q/s, the heavy flood of bench-rrl-flood),
# PERF_FLOOD_SECONDS (5, each flood), PERF_FLOOD_SOURCES (200 addresses
# of 127.1.1.0/24); bench-rrl-flood uses ports PERF_PORT+100 and up.
# BASE=<git rev> (make variable): that revision's binary joins the
# rounds as "ours, base", for a before/after ratio in one run.
# Runs as root: republish maps the running server's image read-write.
PERF_B := $(B)/perf

.PHONY: bench-peers perf-profile bench-rrl bench-rrl-flood bench-xdp xdp-probe

$(PERF_B)/flood: tests/perf/flood.c
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -o $@ $<

bench-rrl-flood: $(B)/a-healthy-dns $(PERF_B)/first_answer $(PERF_B)/flood
	tests/perf/bench_rrl_flood.sh

$(PERF_B)/rrl_bench: tests/perf/rrl_bench.c $(B)/obj/rrl.o $(B)/obj/cookie.o
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -o $@ $^

bench-rrl: $(PERF_B)/rrl_bench
	$(PERF_B)/rrl_bench

$(PERF_B)/first_answer: tests/perf/first_answer.c
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -o $@ $<

# The query core alone, on an image in plain memory: links every object
# but main.o, like the unit tests, without sanitizers.
$(PERF_B)/answer_loop: tests/perf/answer_loop.c $(LIB_OBJS)
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -o $@ $< $(LIB_OBJS) $(LDLIBS)

# Publishes into a running server's image (the "under change" run);
# links like answer_loop.
$(PERF_B)/republish: tests/perf/republish.c $(LIB_OBJS)
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -o $@ $< $(LIB_OBJS) $(LDLIBS)

# BASE=<git rev>: also run that revision's binary (built aside from
# `git archive`) in the same rounds, for a before/after ratio.
ifneq ($(BASE),)
PERF_BASE_DIR := $(PERF_B)/base
PERF_BASE_BIN := $(PERF_BASE_DIR)/build/a-healthy-dns
.PHONY: $(PERF_BASE_BIN)
$(PERF_BASE_BIN):
	rm -rf $(PERF_BASE_DIR) && mkdir -p $(PERF_BASE_DIR)
	git archive --format=tar $(BASE) | tar -x -C $(PERF_BASE_DIR)
	$(MAKE) -C $(PERF_BASE_DIR) all
endif

bench-peers: $(B)/a-healthy-dns $(PERF_B)/first_answer $(PERF_B)/republish $(PERF_BASE_BIN)
	AHD_BIN_BASE=$(PERF_BASE_BIN) tests/perf/bench_peers.sh

# The build needs clang, libbpf-dev and libxdp-dev (the XDP program):
# installed first on a fresh clone, then the build in a make that sees
# them (pkg-config runs when a Makefile is read).
bench-xdp:
	scripts/deps.sh build
	$(MAKE) $(B)/a-healthy-dns $(PERF_B)/first_answer $(PERF_BASE_BIN)
	AHD_BIN_BASE=$(PERF_BASE_BIN) tests/perf/bench_xdp.sh

# Not in `all`. It loads the server's own program ($(BPF_OBJ)), every
# destination address allowed.
$(PERF_B)/xdp/ahd-xdp-probe: tests/tools/xdp/ahd_xdp_probe.c
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -o $@ $< -lxdp -lbpf

xdp-probe: $(B)/a-healthy-dns $(PERF_B)/first_answer
	tests/tools/xdp/xdp_probe.sh

perf-profile: $(B)/a-healthy-dns $(PERF_B)/first_answer $(PERF_B)/answer_loop
	tests/perf/profile.sh
