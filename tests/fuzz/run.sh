#!/bin/bash
# Run each libFuzzer target for a while: run.sh BINDIR SECONDS TARGET...
# FUZZ_JOBS (default 1) targets run at a time, one process each.
# New inputs go to a scratch corpus under build/ (the checked-in seeds in
# tests/fuzz/corpus/<target> are read, never written); crashes, leaks,
# timeouts and broken invariants are saved in BINDIR/crashes/<target>/
# and make the run fail. Prints, per target, the executions, their rate,
# the coverage, the corpus size and the crashes found.
set -u
cd "$(dirname "$0")/../.."
bindir=$1 seconds=$2
shift 2
jobs=${FUZZ_JOBS:-1}

run_one() {
	local t=$1
	local work=$bindir/work/$t crashes=$bindir/crashes/$t log=$bindir/$t.log
	local opts=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048
		-print_final_stats=1 -artifact_prefix="$crashes/")

	mkdir -p "$work" "$crashes"
	# The config parsers print one line per refused input.
	case $t in config_*) opts+=(-close_fd_mask=2) ;; esac
	echo "== fuzz_$t for ${seconds}s (log: $log)"
	"$bindir/fuzz_$t" "${opts[@]}" "$work" "tests/fuzz/corpus/$t" >"$log" 2>&1
	echo $? >"$bindir/$t.rc"
}

# The summary of one finished target, from its log; 0 if it passed.
report_one() {
	local t=$1 log=$bindir/$1.log
	local rc execs rate last cov ft corp crashes
	rc=$(cat "$bindir/$t.rc" 2>/dev/null || echo 1)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	# The last status line: "#N <event> cov: C ft: F corp: K/size ...".
	last=$(grep -a -E '^#[0-9]+.*cov: ' "$log" | tail -n 1)
	cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	corp=$(echo "$last" | sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p')
	crashes=$(grep -a -c -E '^==[0-9]+==ERROR|fuzz invariant broken|^SUMMARY: libFuzzer' "$log")
	echo "fuzz_$t: ${execs:-?} executions in ${seconds}s, ${rate:-?} exec/s," \
		"cov: ${cov:-?} ft: ${ft:-?}, corpus ${corp:-?} inputs, $crashes crashes, exit $rc"
	if [ "$rc" -ne 0 ]; then
		grep -a -E 'ERROR|SUMMARY|invariant|Test unit written' "$log" | head -n 20
		return 1
	fi
	return 0
}

running=()
for t in "$@"; do
	rm -f "$bindir/$t.rc"
	run_one "$t" &
	running+=($!)
	if [ ${#running[@]} -ge "$jobs" ]; then
		wait "${running[0]}"
		running=("${running[@]:1}")
	fi
done
wait
failed=""
for t in "$@"; do
	report_one "$t" || failed="$failed $t"
done
if [ -n "$failed" ]; then
	echo "fuzz: crashes in:$failed (reproducers in $bindir/crashes/)"
	exit 1
fi
echo "fuzz: no crash"
