#!/bin/bash
# `make perf-profile`: where a worker's time goes, to plan optimizations.
# Prints numbers; asserts nothing.
#
#  1. The query core alone (answer_loop: answer_query on the benchmark's
#     query mix against an in-memory image): ns per query, and with
#     callgrind the instructions per query, per query class and per
#     function.
#  2. A live worker under dnsperf load (same pinning as bench-peers):
#     user vs system CPU, syscalls per query, and a perf profile split
#     into the syscalls and our own code.
#
# Knobs: PERF_SECONDS (10: the loaded run), PERF_PORT (25353),
# AHD_BIN (default build/a-healthy-dns).
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/perf/lib.sh

B=${B:-build}
BIN=${AHD_BIN:-$B/a-healthy-dns}
FA=$B/perf/first_answer
LOOP=$B/perf/answer_loop
SECS=${PERF_SECONDS:-10}
PORT=$((${PERF_PORT:-25353} + 20))

[ -x "$BIN" ] && [ -x "$FA" ] && [ -x "$LOOP" ] || perf_die "build first: make $BIN $FA $LOOP"
perf_install dnsperf valgrind linux-perf strace util-linux procps

W=$(mktemp -d /tmp/ahd-perf-profile.XXXXXX)
SRV=
cleanup() {
	[ -z "$SRV" ] || perf_stop "$SRV"
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
perf_render "$W"
grep -E '^host[0-9]+\.' "$W/queries" >"$W/q-positive"
grep -E '^nx[0-9]+\.' "$W/queries" >"$W/q-nxdomain"
grep -E ' SOA$' "$W/queries" >"$W/q-soa"
grep -E ' NS$' "$W/queries" >"$W/q-ns"

echo "== 1. The query core alone (answer_query, no I/O) =="
taskset -c "$PERF_SRV_CPU" "$LOOP" "$W/resolutions.json" "$W/queries" 2000 | sed 's/^/  /'

# Ir inside answer_query (everything it calls included) over the run,
# divided by the number of calls.
cg_per_query() { # query file, iterations
	local n
	n=$(($(wc -l <"$1") * $2))
	valgrind --tool=callgrind --callgrind-out-file="$W/cg.out" --toggle-collect=answer_query \
		"$LOOP" "$W/resolutions.json" "$1" "$2" >/dev/null 2>"$W/cg.log"
	awk -v n="$n" '/Collected :/ { printf "%.0f", $NF / n }' "$W/cg.log"
}
echo
echo "instructions per answer_query call (callgrind, inclusive):"
printf '  %-30s %s\n' "mix (80/10/5/5)" "$(cg_per_query "$W/queries" 20)"
for c in positive nxdomain soa ns; do
	printf '  %-30s %s\n' "$c only" "$(cg_per_query "$W/q-$c" 20)"
done
cg_per_query "$W/queries" 20 >/dev/null
echo
echo "top functions on the mix, instructions per query (self; inclusive):"
nq=$(($(wc -l <"$W/queries") * 20))
callgrind_annotate --inclusive=yes "$W/cg.out" 2>/dev/null |
	awk -v n="$nq" '/^ *[0-9,]+ .*:/ { v = $1; gsub(",", "", v); sub(/ \[.*/, "", $0); f = $NF; if (!(f in inc)) inc[f] = v / n }
		END { for (f in inc) print f, inc[f] }' >"$W/inc"
callgrind_annotate "$W/cg.out" 2>/dev/null |
	awk -v n="$nq" 'NR == FNR { inc[$1] = $2; next }
		/^ *[0-9,]+ .*:/ { v = $1; gsub(",", "", v); sub(/ \[.*/, "", $0); f = $NF
			if (c++ < 14) printf "  %7.1f  %7.1f  %s\n", v / n, (f in inc) ? inc[f] : 0, f }' "$W/inc" -

echo
echo "== 2. A live worker under dnsperf load (server on CPU $PERF_SRV_CPU, dnsperf on CPU $PERF_GEN_CPU) =="
taskset -c "$PERF_SRV_CPU" "$BIN" --hosted-zone "$PERF_ZONE" --ns "$(perf_ns_json)" \
	--zone-resolutions "$(cat "$W/resolutions.json")" --listen "$PERF_OURS_ADDR" \
	--port "$PORT" --workers 1 --log-level info 2>"$W/server.log" &
SRV=$!
"$FA" wait "$PERF_OURS_ADDR" "$PORT" "host001.$PERF_ZONE" 10000 || {
	cat "$W/server.log" >&2
	perf_die "server did not start"
}
WP=$(ps -o pid=,args= --ppid "$SRV" | awk '/worker/ { print $1; exit }')
[ -n "$WP" ] || perf_die "no worker process under $SRV"

# Measure the middle of the run, not its ramp-up and tail.
win=$((SECS - 4))
[ "$win" -ge 2 ] || win=2
taskset -c "$PERF_GEN_CPU" dnsperf -s "$PERF_OURS_ADDR" -p "$PORT" -d "$W/queries" \
	-l $((win + 4)) -t 1 >"$W/dnsperf.out" 2>&1 &
DP=$!
sleep 2
read -r u0 s0 <<<"$(perf_tree_ticks_split "$WP")"
q0=$(date +%s%N)
have_perf=0
if perf stat -e 'syscalls:sys_enter_recvmmsg' -p "$WP" -- sleep 0.1 >/dev/null 2>&1; then
	have_perf=1
	perf stat -x, -e 'syscalls:sys_enter_recvmmsg,syscalls:sys_enter_sendmmsg,syscalls:sys_enter_epoll_pwait,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_recvmsg,syscalls:sys_enter_sendmsg,context-switches' \
		-p "$WP" -o "$W/stat.csv" -- sleep "$win" >/dev/null 2>&1 || have_perf=0
else
	sleep "$win"
fi
read -r u1 s1 <<<"$(perf_tree_ticks_split "$WP")"
wait "$DP" || true
qps=$(awk '/Queries per second:/ { printf "%.0f", $4 }' "$W/dnsperf.out")
echo "  dnsperf: $qps queries/s over the whole run"
awk -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v w="$win" -v q="$qps" -v tck="$PERF_CLK_TCK" 'BEGIN {
	cpu = (u + s) / tck
	printf "  worker CPU over %d s: %.2f s (%.0f%% of its core): user %.0f%%, system %.0f%%\n",
	       w, cpu, 100 * cpu / w, 100 * u / (u + s), 100 * s / (u + s)
	if (q > 0) printf "  worker CPU per query: %.2f us (at %s q/s)\n", 1e6 * cpu / (q * w), q
}'
if [ $have_perf = 1 ]; then
	awk -F, -v q="$qps" -v w="$win" '$1 ~ /^[0-9]+$/ && $1 > 0 {
		sub(/^syscalls:sys_enter_/, "", $3)
		printf "  %-18s %9d calls  %6.3f per query\n", $3, $1, (q > 0 ? $1 / (q * w) : 0)
	}' "$W/stat.csv"
	awk -F, -v q="$qps" -v w="$win" '$3 ~ /recvmmsg$/ && $1 > 0 && q > 0 {
		printf "  queries per recvmmsg batch: %.1f\n", q * w / $1 }' "$W/stat.csv"
fi

if [ $have_perf = 1 ]; then
	echo
	echo "perf record (cpu-clock) of the worker under load:"
	taskset -c "$PERF_GEN_CPU" dnsperf -s "$PERF_OURS_ADDR" -p "$PORT" -d "$W/queries" \
		-l $((win + 3)) -t 1 >/dev/null 2>&1 &
	DP=$!
	sleep 1.5
	perf record -q -e cpu-clock -F 4999 -g -p "$WP" -o "$W/perf.data" -- sleep "$win" \
		>/dev/null 2>&1 || true
	wait "$DP" || true
	perf report -i "$W/perf.data" --no-children --sort dso --stdio -g none 2>/dev/null |
		awk '/%/ { printf "  %-8s %s\n", $1, $2 }'
	echo "  by syscall (inclusive, kernel work they trigger included):"
	perf report -i "$W/perf.data" --children --sort sym --stdio -g none 2>/dev/null |
		awk '/\[k\] __x64_sys_|\[k\] handle_softirqs$|\[k\] __schedule$/ { printf "    %-8s %s\n", $1, $NF }'
	echo "  top symbols (self):"
	perf report -i "$W/perf.data" --no-children --sort dso,sym --stdio -g none 2>/dev/null |
		awk '/%/ && n++ < 15 { $2 = ""; sub(/^ +/, ""); printf "    %s\n", $0 }'
	echo "  our code (self, per cent of worker samples):"
	perf report -i "$W/perf.data" --no-children --sort dso,sym --stdio -g none 2>/dev/null |
		awk -v b="$(basename "$BIN")" '/%/ && $2 == b && n++ < 10 { printf "    %-8s %s\n", $1, $NF }'
else
	echo
	echo "perf cannot sample here; syscall counts with strace instead (it slows the worker):"
	taskset -c "$PERF_GEN_CPU" dnsperf -s "$PERF_OURS_ADDR" -p "$PORT" -d "$W/queries" \
		-l 5 -t 1 >/dev/null 2>&1 &
	DP=$!
	sleep 1
	timeout -s INT 3 strace -c -p "$WP" -o "$W/strace.txt" >/dev/null 2>&1 || true
	wait "$DP" || true
	sed 's/^/  /' "$W/strace.txt"
fi

# Syscalls per query of each server under the same load: whether a gap
# in queries per CPU-second comes from the syscall pattern (batching,
# event waits) or from the cost per packet.
if [ $have_perf = 1 ] && command -v nsd >/dev/null && command -v knotd >/dev/null; then
	echo
	echo "== 3. Syscalls per query under load, us and the peers =="
	perf_nsd_conf "$W" $((PORT + 1)) "$W/$PERF_ZONE.zone" nsd
	perf_knot_conf "$W" $((PORT + 2)) "$W/$PERF_ZONE.zone" knot
	taskset -c "$PERF_SRV_CPU" nsd -d -c "$W/nsd/nsd.conf" >"$W/nsd.log" 2>&1 &
	NSD=$!
	taskset -c "$PERF_SRV_CPU" knotd -c "$W/knot/knot.conf" >"$W/knot.log" 2>&1 &
	KNOT=$!
	"$FA" wait "$PERF_NSD_ADDR" $((PORT + 1)) "host001.$PERF_ZONE" 10000 &&
		"$FA" wait "$PERF_KNOT_ADDR" $((PORT + 2)) "host001.$PERF_ZONE" 10000 ||
		perf_die "NSD or Knot did not start"
	perf_pin_tree "$NSD" "$PERF_SRV_CPU"
	perf_pin_tree "$KNOT" "$PERF_SRV_CPU"
	for s in "a-healthy-dns $PERF_OURS_ADDR $PORT $SRV" "nsd $PERF_NSD_ADDR $((PORT + 1)) $NSD" \
		"knot $PERF_KNOT_ADDR $((PORT + 2)) $KNOT"; do
		read -r name addr port root <<<"$s"
		taskset -c "$PERF_GEN_CPU" dnsperf -s "$addr" -p "$port" -d "$W/queries" \
			-l 6 -t 1 >"$W/dnsperf.out" 2>&1 &
		DP=$!
		sleep 1
		perf stat -x, -e 'syscalls:sys_enter_*' -p "$(perf_tree "$root" | paste -sd,)" \
			-o "$W/sc.csv" -- sleep 4 >/dev/null 2>&1 || true
		wait "$DP" || true
		q=$(awk '/Queries per second:/ { print $4 }' "$W/dnsperf.out")
		awk -F, -v q="$q" -v name="$name" '
			$1 ~ /^[0-9]+$/ && $1 > 0 && q > 0 && $1 / (q * 4) >= 0.005 {
				sub(/^syscalls:sys_enter_/, "", $3); l = l sprintf("  %s %.3f", $3, $1 / (q * 4)) }
			END { printf "  %-14s%s\n", name, l }' "$W/sc.csv"
	done
	perf_stop "$NSD"
	perf_stop "$KNOT"
fi
