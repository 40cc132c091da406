# a-healthy-dns: see README.md. Build outputs go to build/.
CC ?= cc
PREFIX ?= /usr/local
DESTDIR ?=
VERSION := 0.1.0

PKGS := ldns json-c libbsd openssl libseccomp libbpf libxdp
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
# The XDP program (DESIGN §14.4): BPF bytecode built by clang, carried
# in the binary by src/xdp_obj.S.
BPF_OBJ := $(B)/bpf/ahd_xdp.bpf.o
OBJS := $(SRCS:src/%.c=$(B)/obj/%.o) $(B)/obj/xdp_obj.o
SAN_OBJS := $(SRCS:src/%.c=$(B)/asan/obj/%.o) $(B)/asan/obj/xdp_obj.o
# Everything but main(): what the benchmarks and perf tools link against.
LIB_OBJS := $(filter-out $(B)/obj/main.o,$(OBJS))
SAN_LIB_OBJS := $(filter-out $(B)/asan/obj/main.o,$(SAN_OBJS))

# Link sets. Each unit test (and, in tests/fuzz/fuzz.mk, each fuzz
# target) links only the objects it tests plus their real dependencies,
# so the linker proves what a module needs: a call from the query core
# into the configuration or the log fails to link test_query and
# fuzz_query instead of passing unseen. A set names modules (src/<name>.c)
# that belong together; a new file joins the set of the module it was
# split from (config_*.c -> SET_config, zsign.c -> SET_image, shm.c ->
# SET_proc, ...), and a target whose module gains a dependency adds that
# set to its line. Every unit test needs a DEPS_ line (empty if it tests
# a header only); `make` stops if one is missing.
SET_core := query dname edns cookie answer answer_dnssec # the query core: pure
SET_log := log
SET_config := config file tsig config_value config_zone config_options config_json config_help config_xfr config_tsig config_rrl config_keys keyroll dname $(SET_log)
SET_shm := shm $(SET_log)
SET_proc := proc $(SET_shm)
SET_dnssec := dnssec $(SET_config)
SET_image := zimg zimg_build zimg_iter zimg_size xfr_hist zsign health $(SET_dnssec) $(SET_shm) dname # build and publish
SET_sock := sock
SET_check := check_tcp check_http check_tls $(SET_sock) $(SET_log)
SET_health := health
SET_admin := admin admin_dump
# Response rate limiting (DESIGN §10): pure like the core, keyed with
# cookie.c's SipHash; no configuration, no log.
SET_rrl := rrl cookie
SET_stats := stats stats_keys $(SET_rrl) $(SET_health) $(SET_config) $(SET_proc)

DEPS_test_query := query dname edns
DEPS_test_dname := dname
DEPS_test_edns := edns
DEPS_test_cookie := cookie
DEPS_test_seqlock :=
# The answer tests build their images with the builder (which signs and
# reads the configuration); the answer code itself is SET_core.
DEPS_test_answer := $(SET_core) $(SET_image)
DEPS_test_answer_dnssec := $(SET_core) $(SET_image)
DEPS_test_zimg := $(SET_core) $(SET_image)
DEPS_test_zimg_dnssec := $(SET_image) prober keyset $(SET_check) $(SET_stats) $(SET_admin) control control_proto admin_status admin_keys admin_control
DEPS_test_zimg_iter := $(SET_core) $(SET_image)
DEPS_test_xfr_hist := $(SET_image)
DEPS_test_dnssec := $(SET_dnssec)
DEPS_test_keyroll := $(SET_config)
DEPS_test_config := $(SET_config)
DEPS_test_health := $(SET_health)
DEPS_test_control := control_proto $(SET_health) $(SET_config)
DEPS_test_stats := $(SET_stats) admin admin_status admin_keys admin_control control_proto
DEPS_test_proc := $(SET_proc)
DEPS_test_check := $(SET_check) $(SET_proc) # proc_raise_nofile: room for a round
DEPS_test_tcp := tcp $(SET_sock)
DEPS_test_udp := udp $(SET_sock)
DEPS_test_xfr := xfr xfr_msg $(SET_core) $(SET_image)
DEPS_test_tsig := tsig dname
DEPS_test_rrl := $(SET_rrl)
# The NOTIFY messages, built from SOA answers of a real image; the
# notifier's allow-list.
DEPS_test_notify := notify_msg $(SET_core) $(SET_image) $(SET_proc)
# The metrics writer and parser (pure), and the page over a real
# statistics object.
DEPS_test_metrics := metrics_text metrics_page $(SET_stats)
# The AF_XDP frames: pure.
DEPS_test_xdp_pkt := xdp_pkt

# $(call link_objs,DIR,TARGET): TARGET's objects in DIR, each once.
link_objs = $(patsubst %,$(1)/%.o,$(sort $(DEPS_$(2))))

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/unit/%)
$(foreach t,$(UNIT_SRCS:tests/unit/%.c=%),$(if $(filter undefined,$(origin DEPS_$(t))),\
	$(error Makefile: no link set DEPS_$(t) for tests/unit/$(t).c)))
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

$(BPF_OBJ): src/bpf/ahd_xdp.bpf.c include/xdp_maps.h
	@mkdir -p $(@D)
	clang -O2 -g -Wall -Werror -target bpf -Iinclude \
		-I/usr/include/$(shell $(CC) -dumpmachine) -c -o $@ $<

$(B)/obj/xdp_obj.o $(B)/asan/obj/xdp_obj.o: src/xdp_obj.S $(BPF_OBJ)
	@mkdir -p $(@D)
	$(CC) -DAHD_XDP_OBJ='"$(BPF_OBJ)"' -c -o $@ $<

$(B)/obj/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(B)/asan/obj/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(CPPFLAGS) $(CFLAGS) $(SAN) -c -o $@ $<

# Unit tests run under ASan+UBSan: they link the sanitized objects of
# their link set (above).
.SECONDEXPANSION:
$(B)/tests/unit/test_%: tests/unit/test_%.c $$(call link_objs,$(B)/asan/obj,test_$$*)
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) $(SAN) -o $@ $< $(call link_objs,$(B)/asan/obj,test_$*) \
		$(LDLIBS) -lcriterion

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
bench: bench-peers bench-failover bench-scale bench-dnssec bench-replication bench-rrl bench-rrl-flood bench-xdp
