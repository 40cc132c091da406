#!/bin/bash
# Run every test binary that `make tests` built and add up criterion's
# results. Unit tests are built with ASan+UBSan; system tests run twice,
# against the plain binary and the sanitized one (AHD_BIN), and the
# four DNS tables once more over XDP (below).
# Ends with "check: N passed, N failed" on a line of its own.
set -u
cd "$(dirname "$0")/.."
B=build
passed=0 failed=0 skipped=0 suites_failed=""
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

run_one() { # label, command...
	local label=$1 out rc tested failing crashing
	shift
	out=$(mktemp)
	LANG=C "$@" --color=never -j2 >"$out" 2>&1
	rc=$?
	cat "$out"
	# [====] Synthesis: Tested: 12 | Passing: 12 | Failing: 0 | Crashing: 0
	local syn
	syn=$(grep -a 'Synthesis:' "$out" | tail -n 1)
	if [ -n "$syn" ]; then
		tested=$(sed -n 's/.*Tested: \([0-9]*\).*/\1/p' <<<"$syn")
		failing=$(sed -n 's/.*Failing: \([0-9]*\).*/\1/p' <<<"$syn")
		crashing=$(sed -n 's/.*Crashing: \([0-9]*\).*/\1/p' <<<"$syn")
		passed=$((passed + tested - failing - crashing))
		failed=$((failed + failing + crashing))
	fi
	# Tests skipped because the kernel refuses XDP (sysutil prints one
	# "SKIP" line each; criterion shows skips only with --verbose).
	skipped=$((skipped + $(grep -ac '^SKIP .*: the kernel refuses XDP' "$out")))
	# A sanitizer report from a test process (a leak found at its exit,
	# say) does not always change criterion's verdict: count it here.
	if grep -aqE 'ERROR: (LeakSanitizer|AddressSanitizer)|runtime error:' "$out"; then
		echo "$label: sanitizer report above"
		failed=$((failed + 1))
		rc=1
	fi
	if [ $rc -ne 0 ] || [ -z "$syn" ]; then
		[ -z "$syn" ] && failed=$((failed + 1))
		suites_failed="$suites_failed $label"
	fi
	rm -f "$out"
}

for t in "$B"/tests/unit/test_*; do
	[ -x "$t" ] || continue
	run_one "$(basename "$t")" "$t"
done

for bin in "$B/a-healthy-dns" "$B/asan/a-healthy-dns"; do
	for t in "$B"/tests/system/test_*; do
		[ -x "$t" ] || continue
		echo "== $(basename "$t") against $bin"
		AHD_BIN=$bin AHD_TOOLS=$B/tools run_one "$(basename "$t")[$bin]" "$t"
	done
done

# The DNS, EDNS, DNSSEC and hostile-packet tables again over the AF_XDP
# path (issue 18, DESIGN §14.2): AHD_TEST_XDP puts each test in network
# namespaces of its own joined by a veth and starts the server with
# --xdp on it (tests/system/common/sysutil.h); native mode with the plain
# binary, generic mode with the sanitized one. The filters leave out what
# makes no sense there: test_dns's transport suite (listeners on the
# wildcard and ::1, queries to 127.0.0.2, not through the veth) and
# edns/anycast_pair_shares_cookies (three servers at once; an interface
# holds one XDP program).
xdp_filter() {
	case $1 in
	test_dns) echo '@(dns|ttl|health)/*' ;;
	test_edns) echo 'edns/!(anycast_pair_shares_cookies)' ;;
	*) echo '*/*' ;;
	esac
}
for mode_bin in "native $B/a-healthy-dns" "generic $B/asan/a-healthy-dns"; do
	mode=${mode_bin%% *} bin=${mode_bin#* }
	for n in test_dns test_edns test_dnssec test_hostile; do
		t=$B/tests/system/$n
		[ -x "$t" ] || continue
		echo "== $n over XDP ($mode mode) against $bin"
		AHD_TEST_XDP=$mode AHD_BIN=$bin AHD_TOOLS=$B/tools \
			run_one "$n[xdp-$mode]" "$t" --filter "$(xdp_filter "$n")"
	done
done

# Memcheck over a running server (every process traced): zero errors, zero
# leaks. Built by tests/valgrind/valgrind.mk.
if [ -x "$B/tests/valgrind/test_memcheck" ]; then
	echo "== test_memcheck (valgrind) against $B/a-healthy-dns"
	AHD_TOOLS=$B/tools run_one test_memcheck "$B/tests/valgrind/test_memcheck"
fi

# The man page must be clean under mandoc's style lint.
echo "== mandoc -Tlint man/a-healthy-dns.8"
lint=$(mandoc -Tlint -Wstyle man/a-healthy-dns.8 2>&1 | grep -v 'mandoc.db')
if [ -z "$lint" ]; then
	passed=$((passed + 1))
else
	echo "$lint"
	failed=$((failed + 1))
	suites_failed="$suites_failed mandoc-lint"
fi

[ -n "$suites_failed" ] && echo "failing suites:$suites_failed"
[ "$skipped" -gt 0 ] && echo "skipped: $skipped tests, the kernel refuses XDP (the SKIP lines above)"
echo "check: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ -z "$suites_failed" ]
