# DNSSEC signing cost (issue: DNSSEC item 2; DESIGN §7): included from the
# top-level Makefile. Prints numbers, asserts nothing on timing; fails
# only when it cannot measure.
#
#   make bench-dnssec                    10,000 names, ECDSAP256SHA256 and RSASHA256
#   make bench-dnssec BENCH_DNSSEC_ARGS="-n 50000 -a 1"   other sizes, alias zones
BENCH_DNSSEC_B := $(B)/bench_dnssec

.PHONY: bench-dnssec

# Links every object but main.o, like the unit tests, without sanitizers.
$(BENCH_DNSSEC_B)/bench_sign: tests/bench_dnssec/bench_sign.c $(LIB_OBJS)
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -o $@ $< $(LIB_OBJS) $(LDLIBS)

bench-dnssec: $(BENCH_DNSSEC_B)/bench_sign
	$(BENCH_DNSSEC_B)/bench_sign $(BENCH_DNSSEC_ARGS)
