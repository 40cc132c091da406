#!/bin/bash
# Run each libFuzzer target for a while: run.sh BINDIR SECONDS TARGET...
# New inputs go to a scratch corpus under build/ (the checked-in seeds in
# tests/fuzz/corpus/<target> are read, never written); crashes, leaks,
# timeouts and broken invariants are saved in BINDIR/crashes/<target>/
# and make the run fail. Prints the executions of each target.
set -u
cd "$(dirname "$0")/../.."
bindir=$1 seconds=$2
shift 2
failed=""
for t in "$@"; do
	work=$bindir/work/$t crashes=$bindir/crashes/$t log=$bindir/$t.log
	mkdir -p "$work" "$crashes"
	opts=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048
		-print_final_stats=1 -artifact_prefix="$crashes/")
	# The config parsers print one line per refused input.
	case $t in config_*) opts+=(-close_fd_mask=2) ;; esac
	echo "== fuzz_$t for ${seconds}s (log: $log)"
	"$bindir/fuzz_$t" "${opts[@]}" "$work" "tests/fuzz/corpus/$t" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	cov=$(grep -a -o 'cov: [0-9]*' "$log" | tail -n 1)
	corp=$(find "$work" -type f | wc -l)
	echo "fuzz_$t: ${execs:-?} executions, $cov, $corp new inputs, exit $rc"
	if [ $rc -ne 0 ]; then
		failed="$failed $t"
		grep -a -E 'ERROR|SUMMARY|invariant|Test unit written' "$log" | head -n 20
	fi
done
if [ -n "$failed" ]; then
	echo "fuzz: crashes in:$failed (reproducers in $bindir/crashes/)"
	exit 1
fi
echo "fuzz: no crash"
