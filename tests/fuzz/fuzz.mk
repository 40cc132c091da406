# Fuzzing (included by the top-level Makefile, after its variables).
#
#   make fuzz                 build the libFuzzer targets with clang and run
#                             each for FUZZ_SECONDS, FUZZ_JOBS at a time;
#                             prints executions, exec/s, coverage, corpus
#                             size and crashes per target; a crash fails
#   make fuzz-build           only build them: $(B)/fuzz/fuzz_<target>
#   make fuzz-corpus          regenerate the generated seeds (queries, images)
#   $(FUZZ_CHECK_BINS)        the corpus replay tests `make check` runs
#
# The libFuzzer build has its own objects, compiled with clang and
# coverage instrumentation in $(B)/fuzz/obj/; the replay tests link gcc's
# sanitized objects like every unit test. Each target links only its link
# set (DEPS_fuzz_<target> below).

FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
# One target per core.
FUZZ_JOBS ?= 2
FUZZ_TARGETS := query config_json config_argv zimg xfr tsig notify rrl metrics control keyroll xdp_pkt
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := $(BASE_CFLAGS) -O1 -g $(FUZZ_SAN) -Itests/fuzz
FUZZ_OBJS := $(filter-out $(B)/fuzz/obj/main.o,$(SRCS:src/%.c=$(B)/fuzz/obj/%.o))
# Link sets (see the Makefile): fuzz_common.c builds images from a
# configuration, so every target links the image builder; fuzz_query and
# fuzz_zimg add the query core. Both the libFuzzer build and the replay
# tests link exactly these.
DEPS_fuzz_common := $(SET_image)
DEPS_fuzz_query := $(DEPS_fuzz_common) $(SET_core)
DEPS_fuzz_zimg := $(DEPS_fuzz_common) $(SET_core)
DEPS_fuzz_xfr := $(DEPS_fuzz_common) $(SET_core) xfr xfr_msg xfr_hist zimg_iter
DEPS_fuzz_rrl := $(DEPS_fuzz_common) $(SET_core) $(SET_stats) worker_rrl
DEPS_fuzz_config_json := $(DEPS_fuzz_common)
DEPS_fuzz_config_argv := $(DEPS_fuzz_common)
DEPS_gen_corpus := $(DEPS_fuzz_common)
# tsig.c is in SET_config, which the common set has already.
DEPS_fuzz_tsig := $(DEPS_fuzz_common)
# The notifier's messages (notify_msg.c); the query core makes our NOTIFY.
DEPS_fuzz_notify := $(DEPS_fuzz_common) $(SET_core) notify_msg
# The metrics endpoint's request parser and label escaping (pure).
DEPS_fuzz_metrics := $(DEPS_fuzz_common) metrics_text
# The control socket's request lines and override records (control_proto.c).
DEPS_fuzz_control := $(DEPS_fuzz_common) control_proto
# The key-state file (keyroll.c, in the configuration set).
DEPS_fuzz_keyroll := $(DEPS_fuzz_common)
# The AF_XDP frames (xdp_pkt.c, pure).
DEPS_fuzz_xdp_pkt := $(DEPS_fuzz_common) xdp_pkt
FUZZ_BINS := $(FUZZ_TARGETS:%=$(B)/fuzz/fuzz_%)
FUZZ_CHECK_BINS := $(FUZZ_TARGETS:%=$(B)/tests/unit/test_fuzz_%)

.PHONY: fuzz fuzz-build fuzz-corpus
# Prerequisites of pattern rules only: not intermediate files to delete.
.SECONDARY: $(FUZZ_OBJS) $(FUZZ_TARGETS:%=$(B)/fuzz/obj/fuzz_%.o) $(B)/fuzz/obj/fuzz_common.o

# -Werror is gcc's gate (`make all`); clang warns about more, which must
# not stop a fuzz run, so the project's objects only warn here.
$(B)/fuzz/obj/%.o: src/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Wno-error -fsanitize=fuzzer-no-link -c -o $@ $<

$(B)/fuzz/obj/fuzz_common.o: tests/fuzz/fuzz_common.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -DFUZZ_LIBFUZZER -c -o $@ $<

$(B)/fuzz/obj/fuzz_%.o: tests/fuzz/fuzz_%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -DFUZZ_LIBFUZZER -fsanitize=fuzzer-no-link -c -o $@ $<

$(B)/fuzz/fuzz_%: $(B)/fuzz/obj/fuzz_%.o $(B)/fuzz/obj/fuzz_common.o \
		$$(call link_objs,$(B)/fuzz/obj,fuzz_$$*)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

fuzz-build: $(FUZZ_BINS)

fuzz: $(FUZZ_BINS)
	FUZZ_JOBS=$(FUZZ_JOBS) tests/fuzz/run.sh $(B)/fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# Replay of the checked-in corpus under gcc's ASan+UBSan, as criterion
# tests, so scripts/check.sh runs and counts them. Named here, not in the
# top-level `tests:` rule: that rule is read before this file, when
# FUZZ_CHECK_BINS is still empty.
tests: $(FUZZ_CHECK_BINS)

$(B)/tests/unit/test_fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c tests/fuzz/fuzz_common.c \
		tests/fuzz/fuzz.h $$(call link_objs,$(B)/asan/obj,fuzz_$$*)
	@mkdir -p $(@D)
	$(CC) $(filter-out -MMD -MP,$(BASE_CFLAGS)) $(CFLAGS) $(SAN) -Itests/fuzz \
		-DFUZZ_TARGET='"$*"' -DFUZZ_CORPUS='"$(CURDIR)/tests/fuzz/corpus/$*"' \
		-o $@ tests/fuzz/replay.c tests/fuzz/fuzz_$*.c tests/fuzz/fuzz_common.c \
		$(call link_objs,$(B)/asan/obj,fuzz_$*) $(LDLIBS) -lcriterion

$(B)/fuzz/gen_corpus: tests/fuzz/gen_corpus.c tests/fuzz/fuzz_common.c tests/fuzz/fuzz.h \
		$(call link_objs,$(B)/asan/obj,gen_corpus)
	@mkdir -p $(@D)
	$(CC) $(filter-out -MMD -MP,$(BASE_CFLAGS)) $(CFLAGS) $(SAN) -Itests/fuzz -o $@ \
		tests/fuzz/gen_corpus.c tests/fuzz/fuzz_common.c \
		$(call link_objs,$(B)/asan/obj,gen_corpus) $(LDLIBS)

fuzz-corpus: $(B)/fuzz/gen_corpus
	$(B)/fuzz/gen_corpus tests/fuzz/corpus

-include $(FUZZ_OBJS:.o=.d) $(FUZZ_TARGETS:%=$(B)/fuzz/obj/fuzz_%.d) $(B)/fuzz/obj/fuzz_common.d

# fuzz_tsig (tsig.c): TSIG parsing, verification and signing. Its seeds: the
# requests kdig and dig sent (captured once on loopback) and what
# gen_tsig_corpus writes with ldns and tsig.c.
$(B)/tests/unit/test_fuzz_tsig $(B)/fuzz/obj/fuzz_tsig.o: tests/fuzz/fuzz_tsig.h

$(B)/fuzz/gen_tsig_corpus: tests/fuzz/gen_tsig_corpus.c tests/fuzz/fuzz_tsig.h $(B)/asan/obj/tsig.o \
		$(B)/asan/obj/dname.o
	@mkdir -p $(@D)
	$(CC) $(filter-out -MMD -MP,$(BASE_CFLAGS)) $(CFLAGS) $(SAN) -Itests/fuzz -o $@ \
		tests/fuzz/gen_tsig_corpus.c $(B)/asan/obj/tsig.o $(B)/asan/obj/dname.o $(LDLIBS)

.PHONY: fuzz-corpus-tsig
fuzz-corpus: fuzz-corpus-tsig
fuzz-corpus-tsig: $(B)/fuzz/gen_tsig_corpus
	$(B)/fuzz/gen_tsig_corpus tests/fuzz/corpus/tsig
