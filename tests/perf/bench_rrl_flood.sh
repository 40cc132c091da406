#!/bin/bash
# `make bench-rrl-flood` (DESIGN §10, issue 15): response rate limiting on
# loopback. Prints numbers; asserts nothing; fails only when it cannot
# measure.
#
# 1. RRL on but never triggered (--rrl-rate 1000000: every UDP answer is
#    checked, none limited) against RRL off: two servers with the same
#    zone, dnsperf UDP runs in pairs, back to back in alternating order
#    (run-to-run noise is several %, the effect is expected below that),
#    medians and the median of the per-pair ratios of QPS and of queries
#    per server CPU-second (goal in the issue: within 3%).
# 2. A spoofed flood (tests/perf/flood.c): one query (host001 A, without
#    and with an OPT with DO in turn) from NSRC sources of 127.1.1.0/24,
#    one victim prefix, at a fixed rate, against --rrl-rate 20 --rrl-slip
#    2: at 10x the rate (200 q/s), then at PERF_FLOOD_RATE q/s for the
#    CPU cost, and that heavy flood against RRL off for reference. Server
#    CPU per query received (CPU time of every thread of its process
#    tree, from schedstat: finer than clock ticks, over udp_queries of
#    `status --json`), bytes the server sent to the flood sockets per
#    byte the flood sent (the amplification of a limited flood: goal
#    below 1.0), and limited/slipped/dropped from `status --json`.
# 3. The amplification table, RRL off: the largest answers a spoofed UDP
#    query can provoke, response bytes / query bytes, without EDNS and
#    with EDNS (payload 4096 and DO asked; the server at the default
#    --edns-size 1232 and at 4096), for an unsigned, an ED25519-signed
#    and an RSA-4096-signed zone. Sizes from dig (+qr: QUERY SIZE, MSG
#    SIZE rcvd; +nocookie, +ignore: no TCP retry on TC).
#
# Generator (dnsperf, flood, dig) on CPU 0, every server's whole process
# tree on CPU 1, --workers 1.
#
# Knobs: PERF_ROUNDS (3: 2 x ROUNDS pairs), PERF_EXTRA_SECONDS (5, each
# dnsperf run), PERF_FLOOD_SECONDS (5, each flood), PERF_FLOOD_RATE
# (20000), PERF_FLOOD_SOURCES (200), PERF_PORT (25353; this script uses
# PORT+100 and up), AHD_BIN (default build/a-healthy-dns).
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/perf/lib.sh

B=${B:-build}
BIN=${AHD_BIN:-$B/a-healthy-dns}
FA=$B/perf/first_answer
FL=$B/perf/flood
ROUNDS=${PERF_ROUNDS:-3}
SECS=${PERF_EXTRA_SECONDS:-5}
FSECS=${PERF_FLOOD_SECONDS:-5}
FRATE=${PERF_FLOOD_RATE:-20000}
NSRC=${PERF_FLOOD_SOURCES:-200}
PORT=$((${PERF_PORT:-25353} + 100))
PROBE_NAME=host001.$PERF_ZONE
RRL_RATE=20
RRL_SLIP=2
OFF_ADDR=127.0.0.1
ON_ADDR=127.0.0.2
FLOOD_ADDR=127.0.0.5
AMP_ADDR=127.0.0.6
SRC_PREFIX=127.1.1

[ -x "$BIN" ] && [ -x "$FA" ] && [ -x "$FL" ] || perf_die "build first: make $BIN $FA $FL"
[ "$(nproc)" -ge 2 ] || perf_die "needs 2 CPUs: generator and server on different cores"
perf_install dnsperf bind9-dnsutils openssl util-linux procps python3

W=$(mktemp -d /tmp/ahd-bench-rrl.XXXXXX)
declare -A PID
cleanup() {
	local k
	for k in "${!PID[@]}"; do
		perf_stop "${PID[$k]}"
	done
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

perf_render "$W"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

# start KEY ADDR PORT [flags]: our server pinned on CPU 1, in the
# background until it answers; PID[KEY], log $W/KEY.log.
start() {
	local key=$1 addr=$2 port=$3
	shift 3
	taskset -c "$PERF_SRV_CPU" "$BIN" --hosted-zone "$PERF_ZONE" --ns "$(perf_ns_json)" \
		--zone-resolutions "$(cat "$W/resolutions.json")" --listen "$addr" --port "$port" \
		--workers 1 --log-level warning "$@" >"$W/$key.log" 2>&1 &
	PID[$key]=$!
	taskset -c "$PERF_GEN_CPU" "$FA" wait "$addr" "$port" "$PROBE_NAME" 10000 ||
		{ cat "$W/$key.log" >&2; perf_die "$key did not start"; }
	perf_pin_tree "${PID[$key]}" "$PERF_SRV_CPU"
}
stop() {
	perf_stop "${PID[$1]}"
	unset "PID[$1]"
}

# status_totals PORT: "udp_queries rrl_limited rrl_slipped rrl_dropped"
# of all workers.
status_totals() {
	"$BIN" status --json --port "$1" | python3 -c '
import json, sys
t = json.load(sys.stdin)["totals"]
print(t["udp_queries"], t["rrl_limited"], t["rrl_slipped"], t["rrl_dropped"])'
}

# CPU time of every thread of PID's tree, ns (/proc/.../schedstat): the
# 10x flood costs the server a few ms, below the 10 ms of a clock tick.
tree_ns() {
	local p
	for p in $(perf_tree "$1"); do
		cat /proc/"$p"/task/*/schedstat 2>/dev/null || true
	done | awk '{ t += $1 } END { printf "%.0f\n", t }'
}

# UDP datagrams the kernel dropped for want of buffer space, all sockets.
rcvbuf_errors() {
	awk '$1 == "Udp:" && !h { for (i = 2; i <= NF; i++) if ($i == "RcvbufErrors") c = i; h = 1; next }
		$1 == "Udp:" { print $c }' /proc/net/snmp
}

# --- 1. RRL on, not triggered, against off -----------------------------
start off "$OFF_ADDR" "$PORT"
start on "$ON_ADDR" $((PORT + 1)) --rrl-rate 1000000
# pair_run off|on PAIR: one dnsperf run; appends to $W/pairs
#   variant pair qps completed lost server_ticks runtime other_ticks_cpu1
# where "other" is what processes other than the server used of its CPU
# (user+nice+system of /proc/stat): a busy machine makes the pairs noise.
cpu1_busy() { awk -v c="cpu$PERF_SRV_CPU" '$1 == c { print $2 + $3 + $4 }' /proc/stat; }
pair_run() {
	local v=$1 r=$2 addr=$OFF_ADDR port=$PORT t0 t1 b0 b1
	if [ "$v" = on ]; then addr=$ON_ADDR port=$((PORT + 1)); fi
	t0=$(perf_tree_ticks "${PID[$v]}")
	b0=$(cpu1_busy)
	taskset -c "$PERF_GEN_CPU" dnsperf -s "$addr" -p "$port" -d "$W/queries" -l "$SECS" -t 1 \
		>"$W/dnsperf.out" 2>&1 || { cat "$W/dnsperf.out" >&2; perf_die "dnsperf failed"; }
	t1=$(perf_tree_ticks "${PID[$v]}")
	b1=$(cpu1_busy)
	awk -v v="$v" -v r="$r" -v t=$((t1 - t0)) -v o=$((b1 - b0 - t1 + t0)) '
		/Queries completed:/ { c = $3 }
		/Queries lost:/ { l = $3 }
		/Run time \(s\):/ { rt = $4 }
		/Queries per second:/ { q = $4 }
		END { print v, r, q, c, l, t, rt, (o > 0 ? o : 0) }' "$W/dnsperf.out" >>"$W/pairs"
	if [ "$r" = 1 ]; then
		sed -n "s/^ *Response codes: *//p" "$W/dnsperf.out" | sed "s/^/RRL $v: /" >>"$W/rcodes"
	fi
}
PAIRS=$((2 * ROUNDS))
for r in $(seq 1 "$PAIRS"); do
	for v in off on; do
		if [ $((r % 2)) -eq 0 ]; then v=$([ "$v" = off ] && echo on || echo off); fi
		echo "bench: RRL pair $r/$PAIRS: $v" >&2
		pair_run "$v" "$r"
	done
done
ON_TOTALS=$(status_totals $((PORT + 1)))
stop off
stop on

# --- 2. spoofed flood ---------------------------------------------------
start flood "$FLOOD_ADDR" $((PORT + 2)) --rrl-rate "$RRL_RATE" --rrl-slip "$RRL_SLIP"
start flood-off "$OFF_ADDR" $((PORT + 3))
# flood_run LABEL KEY PORT RATE ADDR: appends to $W/flood
#   label rate server_ns udp_queries limited slipped dropped rcvbuf_errors
#   sent sent_bytes recv recv_bytes answered truncated wall_us
flood_run() {
	local label=$1 key=$2 port=$3 rate=$4 addr=$5 t0 t1 s0 s1 e0 e1 w0 w1 out
	echo "bench: flood $label: $rate q/s for $FSECS s from $NSRC sources of $SRC_PREFIX.0/24" >&2
	s0=$(status_totals "$port")
	e0=$(rcvbuf_errors)
	t0=$(tree_ns "${PID[$key]}")
	w0=${EPOCHREALTIME//[!0-9]/}
	out=$(taskset -c "$PERF_GEN_CPU" "$FL" "$addr" "$port" "$PROBE_NAME" "$rate" "$FSECS" "$SRC_PREFIX" "$NSRC") ||
		perf_die "flood failed"
	w1=${EPOCHREALTIME//[!0-9]/}
	t1=$(tree_ns "${PID[$key]}")
	e1=$(rcvbuf_errors)
	s1=$(status_totals "$port")
	read -r -a a <<<"$s0"
	read -r -a b <<<"$s1"
	echo "$label $rate $((t1 - t0)) $((b[0] - a[0])) $((b[1] - a[1])) $((b[2] - a[2])) $((b[3] - a[3])) $((e1 - e0))" \
		"$(awk '{ print $2, $4, $6, $8, $10, $12 }' <<<"$out") $((w1 - w0))" >>"$W/flood"
}
flood_run "10x the rate, RRL ${RRL_RATE}/s slip $RRL_SLIP" flood $((PORT + 2)) $((10 * RRL_RATE)) "$FLOOD_ADDR"
flood_run "heavy, RRL ${RRL_RATE}/s slip $RRL_SLIP" flood $((PORT + 2)) "$FRATE" "$FLOOD_ADDR"
flood_run "heavy, RRL off" flood-off $((PORT + 3)) "$FRATE" "$OFF_ADDR"
stop flood
stop flood-off

# --- 3. amplification table ---------------------------------------------
# The zone gains one name with 40 addresses.
python3 - "$W/resolutions.json" <<'EOF'
import json, sys
p = sys.argv[1]
z = json.load(open(p))
z["many"] = ["192.0.2.%d" % i for i in range(1, 41)]
open(p, "w").write(json.dumps(z, separators=(",", ":")))
EOF
openssl genpkey -algorithm ED25519 -out "$W/ed25519.pem" 2>/dev/null || perf_die "openssl genpkey ED25519 failed"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:4096 -out "$W/rsa4096.pem" 2>/dev/null ||
	perf_die "openssl genpkey RSA failed"

# amp_dig PORT NAME TYPE noedns|edns: "query_bytes response_bytes tc"
amp_dig() {
	local port=$1 name=$2 type=$3 opts=(+noedns) out
	if [ "$4" = edns ]; then opts=(+bufsize=4096 +dnssec); fi
	out=$(taskset -c "$PERF_GEN_CPU" dig +norec +notcp +nocookie +ignore +qr +time=2 +tries=1 "${opts[@]}" \
		@"$AMP_ADDR" -p "$port" "$name" "$type" 2>&1) || true
	awk '/^;; QUERY SIZE:/ { q = $4 }
		/^;; MSG SIZE +rcvd:/ { r = $NF }
		/^;; flags:/ && /qr/ { tc = / tc[ ;]/ ? "TC" : "-" }
		END { print q + 0, r + 0, (tc == "" ? "-" : tc) }' <<<"$out"
}
# signed_soon PORT: the prober signs after start-up.
signed_soon() {
	local i
	for i in $(seq 1 100); do
		dig +dnssec +norec +time=1 +tries=1 @"$AMP_ADDR" -p "$1" "$PERF_ZONE" DNSKEY 2>/dev/null |
			grep -q 'RRSIG' && return 0
		sleep 0.1
	done
	perf_die "no signed answer on port $1"
}
AMP_Q=("$PERF_ZONE ANY" "$PERF_ZONE DNSKEY" "$PERF_ZONE RRSIG" "nx-amplify.$PERF_ZONE A" "many.$PERF_ZONE A")
AMP_L=("ANY at the apex" "DNSKEY at the apex" "RRSIG at the apex" "NXDOMAIN" "A, 40 addresses")
port=$((PORT + 10))
for z in unsigned ed25519 rsa4096; do
	keyflags=()
	case $z in
	ed25519) keyflags=(--priv-key-path "$W/ed25519.pem" --priv-key-alg ED25519) ;;
	rsa4096) keyflags=(--priv-key-path "$W/rsa4096.pem" --priv-key-alg RSASHA256) ;;
	esac
	for es in 1232 4096; do
		echo "bench: amplification, $z zone, --edns-size $es" >&2
		start "amp-$z-$es" "$AMP_ADDR" "$port" --edns-size "$es" "${keyflags[@]}"
		if [ "$z" != unsigned ]; then signed_soon "$port"; fi
		for i in "${!AMP_Q[@]}"; do
			read -r name type <<<"${AMP_Q[$i]}"
			echo "$z|${AMP_L[$i]}|$es|edns|$(amp_dig "$port" "$name" "$type" edns)" >>"$W/amp"
			if [ "$es" = 1232 ]; then
				echo "$z|${AMP_L[$i]}|$es|noedns|$(amp_dig "$port" "$name" "$type" noedns)" >>"$W/amp"
			fi
		done
		stop "amp-$z-$es"
		port=$((port + 1))
	done
done

# --- report -----------------------------------------------------------
echo
echo "Response rate limiting on loopback (make bench-rrl-flood, DESIGN §10)"
echo "zone $PERF_ZONE: $PERF_NAMES names x 2 A; our server --workers 1, its whole process tree on CPU $PERF_SRV_CPU; dnsperf, flood and dig on CPU $PERF_GEN_CPU"
echo "$(nproc) CPUs: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
echo
awk -v tck="$PERF_CLK_TCK" -v pairs="$PAIRS" -v secs="$SECS" -v on="$ON_TOTALS" '
function sort(a, n,   i, j, t) {
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
}
{
	v = $1; c = ++n[v]
	qps[v, c] = $3; qpc[v, c] = $6 > 0 ? $4 / ($6 / tck) : 0
	pq[v, $2] = $3; pc[v, $2] = qpc[v, c]; lost[v] += $5
	oth += $8; othrt += $7
}
END {
	printf "1. RRL on but not triggered (--rrl-rate 1000000) against off: dnsperf UDP, no EDNS\n"
	printf "(%d pairs of %d s runs, back to back in alternating order; q/CPU-s: answers per second of server CPU)\n", pairs, secs
	printf "  %-8s %9s %19s %12s %19s %7s\n", "RRL", "QPS med", "(min-max)", "q/CPU-s med", "(min-max)", "lost"
	for (o = 1; o <= 2; o++) {
		v = o == 1 ? "off" : "on"; c = n[v]
		for (i = 1; i <= c; i++) { a[i] = qps[v, i]; b[i] = qpc[v, i] }
		sort(a, c); sort(b, c); mid = int((c + 1) / 2)
		mq[v] = a[mid]; mc[v] = b[mid]
		printf "  %-8s %9.0f %19s %12.0f %19s %7d\n", v, a[mid], sprintf("(%.0f-%.0f)", a[1], a[c]),
		       b[mid], sprintf("(%.0f-%.0f)", b[1], b[c]), lost[v]
	}
	if (mq["off"] > 0 && mc["off"] > 0)
		printf "  on / off, medians: QPS %.3fx, q/CPU-s %.3fx\n", mq["on"] / mq["off"], mc["on"] / mc["off"]
	c = 0
	for (r = 1; r <= pairs; r++)
		if (pq["off", r] > 0 && pc["off", r] > 0) {
			c++; a[c] = pq["on", r] / pq["off", r]; b[c] = pc["on", r] / pc["off", r]
		}
	if (c > 0) {
		sort(a, c); sort(b, c); mid = int((c + 1) / 2)
		printf "  on / off, median of %d pairs: QPS %.3fx (%.3f-%.3f), q/CPU-s %.3fx (%.3f-%.3f) (goal: within 3%%)\n",
		       c, a[mid], a[1], a[c], b[mid], b[1], b[c]
	}
	if (othrt > 0)
		printf "  other processes used %.0f%% of CPU 1 during these runs%s\n", 100 * (oth / tck) / othrt,
		       (100 * (oth / tck) / othrt > 5 ? ": the machine was not quiet, the ratios are noise" : "")
	split(on, t, " ")
	printf "  the RRL server checked %d UDP queries: %d limited, %d slipped, %d dropped\n", t[1], t[2], t[3], t[4]
}' "$W/pairs"

echo
echo "2. Spoofed flood (tests/perf/flood.c): $PROBE_NAME A, without and with OPT+DO in turn, from $NSRC"
echo "   sources of $SRC_PREFIX.0/24 (one victim prefix), $FSECS s each, at a fixed rate; server --rrl-rate $RRL_RATE --rrl-slip $RRL_SLIP (window default)"
echo "   rcvd: queries the server read (status udp_queries); kernel drops: UDP RcvbufErrors, all sockets;"
echo "   CPU: every thread of the server's tree (schedstat), over the flood and its 300 ms drain"
echo "   out/in: bytes the server sent to the flood sockets / bytes the flood sent (the amplification)"
awk -v secs="$FSECS" '
{
	n = split($0, f, " ")
	# the label is everything before the last 14 fields
	lab = ""
	for (i = 1; i <= n - 14; i++) lab = lab (i > 1 ? " " : "") f[i]
	k = n - 14
	rate = f[k + 1]; cpu = f[k + 2] / 1e9; rcvd = f[k + 3]; lim = f[k + 4]; sl = f[k + 5]; dr = f[k + 6]
	kd = f[k + 7]; sent = f[k + 8]; sb = f[k + 9]; rc = f[k + 10]; rb = f[k + 11]; ans = f[k + 12]
	tc = f[k + 13]; wall = f[k + 14] / 1e6
	printf "  %s: %d q/s asked, %.0f q/s sent, %d sent (%d B, %.1f B each)\n", lab, rate,
	       sent / secs, sent, sb, (sent > 0 ? sb / sent : 0)
	printf "    server: %d rcvd, %d kernel drops, CPU %.3f s = %.2f us per query rcvd (%.1f%% of a core)\n",
	       rcvd, kd, cpu, (rcvd > 0 ? 1e6 * cpu / rcvd : 0), (wall > 0 ? 100 * cpu / wall : 0)
	printf "    RRL: %d limited (%.1f%% of rcvd), %d slipped, %d dropped, %d passed\n", lim,
	       (rcvd > 0 ? 100 * lim / rcvd : 0), sl, dr, rcvd - lim
	printf "    back at the flood: %d answers, %d TC slips, %d B; out/in %.3f\n", ans, tc, rb,
	       (sb > 0 ? rb / sb : 0)
}' "$W/flood"

echo
echo "3. Amplification, RRL off: response bytes / query bytes (dig +qr QUERY SIZE, MSG SIZE rcvd; TC: truncated)"
echo "   no EDNS: plain query, 512-byte limit; EDNS: +bufsize=4096 +dnssec (DO) against --edns-size 1232 and 4096"
awk -F'|' '
{
	split($5, r, " ")
	col = $4 == "noedns" ? "n" : ("e" $3)
	k = $1 SUBSEP $2
	if (!(k in seen)) { seen[k] = 1; order[++nk] = k; zone[nk] = $1; q[nk] = $2 }
	qb[k, col] = r[1]; rb[k, col] = r[2]; tc[k, col] = r[3]
}
function cell(k, c) {
	if (!((k, c) in rb) || rb[k, c] == 0) return sprintf("%16s", "no answer")
	return sprintf("%5d %6s %3s", rb[k, c], sprintf("%.1fx", rb[k, c] / qb[k, c]), tc[k, c] == "TC" ? "TC" : "")
}
END {
	printf "  %-9s %-19s | %4s %16s | %4s %16s %16s\n", "zone", "query", "q B", "no EDNS: resp", "q B",
	       "EDNS 1232: resp", "EDNS 4096: resp"
	for (i = 1; i <= nk; i++) {
		k = order[i]
		printf "  %-9s %-19s | %4d %s | %4d %s %s\n", zone[i], q[i], qb[k, "n"], cell(k, "n"),
		       qb[k, "e1232"], cell(k, "e1232"), cell(k, "e4096")
	}
}' "$W/amp"
echo "  zones: unsigned; ED25519 and RSASHA256 4096-bit keys from openssl genpkey (--priv-key-path/--priv-key-alg)"

echo
echo "Load average (1 5 15 min): $LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
echo "Response codes (first pair):"
sed 's/^/  /' "$W/rcodes"
for f in "$W"/*.log; do
	if grep -q 'killed by signal\|restarting in' "$f"; then
		echo "Note: a-healthy-dns restarted a child during the runs ($(basename "$f" .log))"
	fi
done
