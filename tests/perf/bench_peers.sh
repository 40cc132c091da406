#!/bin/bash
# `make bench-peers` (DESIGN §7): queries per second against NSD and Knot on
# loopback, same zone, same query mix, generator and server on different
# cores. Prints numbers; asserts nothing; fails only when it cannot
# measure.
#
# dnsperf saturates its own core (CPU 0), so the fair comparison is
# queries per second of server CPU: utime+stime of every process of the
# server's tree (/proc/<pid>/stat) over the run. Rounds are interleaved
# (each round visits the servers in a rotated order) so that drift of
# the machine spreads over all of them.
#
# DNSSEC: the three servers sign with one and the same ECDSAP256SHA256
# key (perf_p256_key), and before the rounds every server must show
# RRSIGs from that key in sample answers, so all three answer with the
# same signatures and the comparison is like for like.
#
# Under change: our UDP rounds again, interleaved with runs where
# tests/perf/republish.c publishes a new image into the running server
# RATE times a second (the seqlock's readers under a busy writer).
#
# Under transfer: the same pairs, the "with" runs beside a kdig loop
# that asks our server for XFR_RATE transfers a second (AXFR and IXFR in
# turn, over TCP to the worker that answers the queries). Query speed
# should stay within the noise of the runs without (issue 14); the
# report also counts the transfers done, and no transfer done is a
# failure (the loop was refused), not a fast run.
#
# Knobs: PERF_ROUNDS PERF_SECONDS PERF_EXTRA_SECONDS PERF_STARTS PERF_PORT
# PERF_REPUBLISH_RATE PERF_XFR_RATE (see perf.mk), AHD_BIN (default
# build/a-healthy-dns).
#
# Before/after: AHD_BIN_BASE=PATH (or `make bench-peers BASE=<git rev>`,
# which builds that revision aside) adds a fourth server, the same flags
# run by that binary, to the start-up, UDP, TCP and DNSSEC rounds, so a
# change is compared with its base in one run, interleaved, on the same
# machine state: "us / base" is the before/after ratio.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/perf/lib.sh

B=${B:-build}
BIN=${AHD_BIN:-$B/a-healthy-dns}
FA=$B/perf/first_answer
RP=$B/perf/republish
RATE=${PERF_REPUBLISH_RATE:-10}
XFR_RATE=${PERF_XFR_RATE:-10}
ROUNDS=${PERF_ROUNDS:-3}
SECS=${PERF_SECONDS:-10}
XSECS=${PERF_EXTRA_SECONDS:-5}
XROUNDS=2
STARTS=${PERF_STARTS:-5}
PORT=${PERF_PORT:-25353}
PROBE_NAME=host001.$PERF_ZONE
BASE_BIN=${AHD_BIN_BASE:-}
SERVERS="ours nsd knot"

[ -x "$BIN" ] && [ -x "$FA" ] && [ -x "$RP" ] || perf_die "build first: make $BIN $FA $RP"
if [ -n "$BASE_BIN" ]; then
	[ -x "$BASE_BIN" ] || perf_die "AHD_BIN_BASE=$BASE_BIN is not an executable"
	SERVERS="ours base nsd knot"
fi
[[ $XFR_RATE =~ ^[1-9][0-9]{0,3}$ ]] || perf_die "PERF_XFR_RATE=$XFR_RATE: want 1 to 9999 transfers a second"
# A base from before transfers refuses --transfer-allow: give it the flag
# only if its usage lists it (captured whole: grep -q under pipefail
# could fail the pipeline through SIGPIPE).
BASE_XFR=0
if [ -n "$BASE_BIN" ]; then
	case $("$BASE_BIN" --help 2>&1 || true) in *--transfer-allow*) BASE_XFR=1 ;; esac
fi
[ "$(id -u)" -eq 0 ] || perf_die "needs root: republish maps the server's image read-write"
[ "$(nproc)" -ge 2 ] || perf_die "needs 2 CPUs: generator and server on different cores"
perf_install dnsperf nsd knot knot-dnsutils ldnsutils openssl util-linux procps time \
	bind9-dnsutils coreutils

W=$(mktemp -d /tmp/ahd-bench-peers.XXXXXX)
declare -A PID ADDR NAME
ADDR=([ours]=$PERF_OURS_ADDR [base]=$PERF_BASE_ADDR [nsd]=$PERF_NSD_ADDR [knot]=$PERF_KNOT_ADDR)
NAME=([ours]=a-healthy-dns [base]="ours, base"
	[nsd]="NSD $(nsd -v 2>&1 | awk 'NR == 1 { print $3 }')"
	[knot]="Knot $(knotd -V | awk '{ print $NF }')")
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
ZF_PLAIN=$W/$PERF_ZONE.zone
ZF_SIGNED=$W/$PERF_ZONE.zone.signed
NOTES=()
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

# set_cmd SERVER VARIANT PORT: CMD=(the server's command line).
set_cmd() {
	local s=$1 v=$2 port=$3 zf=$ZF_PLAIN
	if [ "$v" = signed ]; then zf=$ZF_SIGNED; fi
	case $s in
	ours | base)
		local bin=$BIN
		if [ "$s" = base ]; then bin=$BASE_BIN; fi
		CMD=("$bin" --hosted-zone "$PERF_ZONE" --ns "$(perf_ns_json)"
			--zone-resolutions "$(cat "$W/resolutions.json")"
			--listen "${ADDR[$s]}" --port "$port" --workers 1 --log-level warning)
		# Transfers allowed in every run, not only under transfer, so
		# the under-transfer pairs use the server the UDP rounds
		# measured.
		if [ "$s" = ours ] || [ "$BASE_XFR" = 1 ]; then
			CMD+=(--transfer-allow '["127.0.0.0/8"]')
		fi
		if [ "$v" = signed ]; then
			CMD+=(--priv-key-path "$W/ours.pem" --priv-key-alg ECDSAP256SHA256)
		fi
		;;
	nsd)
		perf_nsd_conf "$W" "$port" "$zf" "nsd-$v"
		CMD=(nsd -d -c "$W/nsd-$v/nsd.conf")
		;;
	knot)
		perf_knot_conf "$W" "$port" "$zf" "knot-$v"
		CMD=(knotd -c "$W/knot-$v/knot.conf")
		;;
	esac
}

# start_bg SERVER VARIANT PORT: run it pinned in the background until it
# answers; PID[SERVER-VARIANT]. Returns 1 (log kept in $W) if it does not.
start_bg() {
	local s=$1 v=$2 port=$3 key=$1-$2
	set_cmd "$s" "$v" "$port"
	taskset -c "$PERF_SRV_CPU" "${CMD[@]}" >"$W/$key.log" 2>&1 &
	PID[$key]=$!
	if ! taskset -c "$PERF_GEN_CPU" "$FA" wait "${ADDR[$s]}" "$port" "$PROBE_NAME" 10000; then
		perf_stop "${PID[$key]}"
		unset "PID[$key]"
		return 1
	fi
	# Answering means every thread has started (and set its own
	# affinity, if it does): now put them all on the server's core.
	perf_pin_tree "${PID[$key]}" "$PERF_SRV_CPU"
}

# user+nice+system ticks of CPU $1 (irq and softirq left out: loopback
# delivery runs there on behalf of the processes we measure).
cpu_busy() {
	awk -v c="cpu$1" '$1 == c { print $2 + $3 + $4 }' /proc/stat
}

# run_dnsperf MODE SERVER KEY PORT SECONDS ROUND [dnsperf flags]: one run,
# appended to $W/results as
#   mode server round qps completed lost server_ticks runtime resp_bytes
#   generator_ticks other_ticks_cpu0 other_ticks_cpu1
# where "other" is what processes other than dnsperf (CPU 0) and the
# server (CPU 1) used of those CPUs: a machine busy with something else
# makes the numbers noise, and the report says so.
run_dnsperf() {
	local mode=$1 s=$2 key=$3 port=$4 secs=$5 round=$6 t0 t1 b0 b1 g0 g1
	shift 6
	t0=$(perf_tree_ticks "${PID[$key]}")
	g0=$(cpu_busy "$PERF_GEN_CPU")
	b0=$(cpu_busy "$PERF_SRV_CPU")
	/usr/bin/time -f '%U %S' -o "$W/dnsperf.time" \
		taskset -c "$PERF_GEN_CPU" dnsperf -s "${ADDR[$s]}" -p "$port" -d "$W/queries" \
		-l "$secs" -t 1 "$@" >"$W/dnsperf.out" 2>&1 ||
		{ cat "$W/dnsperf.out" >&2; perf_die "dnsperf against $s failed"; }
	t1=$(perf_tree_ticks "${PID[$key]}")
	g1=$(cpu_busy "$PERF_GEN_CPU")
	b1=$(cpu_busy "$PERF_SRV_CPU")
	awk -v m="$mode" -v s="$s" -v r="$round" -v t=$((t1 - t0)) -v tck="$PERF_CLK_TCK" \
		-v g=$((g1 - g0)) -v b=$((b1 - b0)) '
		FILENAME ~ /time$/ { gen = int(($1 + $2) * tck + 0.5); next }
		/Queries completed:/ { c = $3 }
		/Queries lost:/ { l = $3 }
		/Run time \(s\):/ { rt = $4 }
		/Queries per second:/ { q = $4 }
		/Average packet size:/ { sz = $NF }
		END {
			o0 = g - gen; o1 = b - t
			print m, s, r, q, c, l, t, rt, sz, gen, (o0 > 0 ? o0 : 0), (o1 > 0 ? o1 : 0)
		}' "$W/dnsperf.time" "$W/dnsperf.out" >>"$W/results"
	# Which answers came back, once per mode and server: a server that
	# answered REFUSED would look fast.
	if [ "$round" = 1 ]; then
		sed -n "s/^ *Response codes: *//p" "$W/dnsperf.out" |
			sed "s/^/$mode ${NAME[$s]}: /" >>"$W/rcodes"
	fi
}

# rounds MODE ROUNDS SECONDS VARIANT "SERVER:PORT ..." [dnsperf flags]
rounds() {
	local mode=$1 n=$2 secs=$3 v=$4 list r i k
	read -r -a list <<<"$5"
	shift 5
	for r in $(seq 1 "$n"); do
		for i in $(seq 0 $((${#list[@]} - 1))); do
			k=${list[$(((i + r) % ${#list[@]}))]}
			echo "bench: $mode round $r/$n: ${NAME[${k%%:*}]}" >&2
			run_dnsperf "$mode" "${k%%:*}" "${k%%:*}-$v" "${k##*:}" "$secs" "$r" "$@"
		done
	done
}

# Each server's port offset from PORT (plain zone; the signed one adds 10).
declare -A OFF=([ours]=0 [nsd]=1 [knot]=2 [base]=3)
# "SERVER:PORT ..." of every server in $SERVERS, signed zone with $1 = 10.
server_list() {
	local s out=""
	for s in $SERVERS; do out="$out $s:$((PORT + ${1:-0} + ${OFF[$s]}))"; done
	echo "${out# }"
}

# --- start-up: spawn to first answer, CPU 1 otherwise idle ------------
for s in $SERVERS; do
	set_cmd "$s" plain "$PORT"
	echo "bench: start-up of ${NAME[$s]} x $STARTS" >&2
	taskset -c "$PERF_GEN_CPU" "$FA" start "${ADDR[$s]}" "$PORT" "$PROBE_NAME" \
		"$PERF_SRV_CPU" "$STARTS" -- "${CMD[@]}" 2>"$W/startup-$s.log" |
		awk -v s="$s" '{ print s, $2, $3, $4 }' >>"$W/startup" ||
		{ cat "$W/startup-$s.log" >&2; perf_die "start-up of $s failed"; }
done

# --- plain zone: idle memory, then UDP rounds, then TCP ----------------
for s in $SERVERS; do
	start_bg "$s" plain $((PORT + ${OFF[$s]})) || { cat "$W/$s-plain.log" >&2; perf_die "$s did not start"; }
done
sleep 1 # let start-up work settle before calling it idle
for s in $SERVERS; do
	echo "$s $(perf_tree_pss "${PID[$s-plain]}") $(perf_tree_count "${PID[$s-plain]}")"
done >"$W/pss"

rounds udp "$ROUNDS" "$SECS" plain "$(server_list)"

tcp_list="nsd:$((PORT + 1)) knot:$((PORT + 2))"
if [ -n "$BASE_BIN" ]; then tcp_list="base:$((PORT + 3)) $tcp_list"; fi
if kdig +tcp +retry=0 +timeout=1 @"$PERF_OURS_ADDR" -p "$PORT" "$PROBE_NAME" A 2>/dev/null |
	grep -q 'status: NOERROR'; then
	tcp_list="ours:$PORT $tcp_list"
else
	NOTES+=("TCP: a-healthy-dns does not answer over TCP yet; its TCP line is skipped.")
fi
rounds tcp "$XROUNDS" "$XSECS" plain "$tcp_list" -m tcp

# --- under change: our UDP rounds while images are published ------------
# Pairs of runs, one without and one with publishing, back to back in
# alternating order: run-to-run noise on a shared machine (several %)
# is larger than the effect, so the report gives the median of the
# per-pair ratios next to the medians of each kind. Many short pairs
# rather than a few long ones, for the same reason.
CHG_PAIRS=$((2 * ROUNDS))
# The serial delta is read from the server itself (SOA) just before and
# just after dnsperf, so it counts the publishes the queries ran into.
soa_serial() {
	dig +short +norec +time=1 +tries=1 @"$PERF_OURS_ADDR" -p "$PORT" "$PERF_ZONE" SOA |
		awk 'NR == 1 { print $3 }'
}

# change_run still|change ROUND: one UDP run against our plain server;
# appends to $W/change its results line plus
#   serial_delta publishes publisher_cpu_ms publish_us_avg publish_us_max
change_run() {
	local v=$1 r=$2 s0 s1 rp i=0 out n cpu avg max
	if [ "$v" = change ]; then
		s0=$(soa_serial)
		# On the server's CPU, as its prober would be. In PID so that
		# the exit trap stops it if a run fails.
		taskset -c "$PERF_SRV_CPU" "$RP" 0 "$RATE" -- "${OURS_PLAIN[@]}" \
			>"$W/republish.out" 2>"$W/republish.err" &
		rp=$!
		PID[republish]=$rp
		# It waits for the generation to hold still, then publishes.
		until [ "$(soa_serial)" != "$s0" ]; do
			i=$((i + 1))
			[ "$i" -le 100 ] || { cat "$W/republish.err" >&2; perf_die "republish did not publish"; }
			sleep 0.05
		done
	fi
	s0=$(soa_serial)
	run_dnsperf "$v" ours ours-plain "$PORT" "$XSECS" "$r"
	s1=$(soa_serial)
	if [ "$v" = change ]; then
		kill -TERM "$rp"
		unset "PID[republish]"
		wait "$rp" || { cat "$W/republish.err" >&2; perf_die "republish failed"; }
		out=$(awk '{ print $2, $13, $9, $11 }' "$W/republish.out")
		read -r n cpu avg max <<<"$out"
		echo "$(tail -n 1 "$W/results") $(((s1 - s0 + 4294967296) % 4294967296)) $n $cpu $avg $max"
	else
		echo "$(tail -n 1 "$W/results") $(((s1 - s0 + 4294967296) % 4294967296)) 0 0 0 0"
	fi >>"$W/change"
}
set_cmd ours plain "$PORT"
OURS_PLAIN=("${CMD[@]}")
for r in $(seq 1 "$CHG_PAIRS"); do
	for v in still change; do
		if [ $((r % 2)) -eq 0 ]; then v=$([ "$v" = still ] && echo change || echo still); fi
		echo "bench: under change pair $r/$CHG_PAIRS: $v" >&2
		change_run "$v" "$r"
	done
done

# --- under transfer: our UDP rounds while the zone is transferred --------
# Pairs as under change: one run without, one with a loop asking for
# XFR_RATE transfers a second over TCP, served by the same worker as the
# queries (a transfer must not hold up the queries behind it). The loop
# runs on dnsperf's core, not the server's: the transfers are work of
# the server and belong in its CPU (q/CPU-s), the client's work must not
# take the server's core. What the loop takes from dnsperf lowers QPS a
# little, so the report gives the loop's share of CPU 0 beside it.
XFR_PAIRS=$((2 * ROUNDS))

# xfr_loop SERIAL LOG: one kdig transfer every 1/XFR_RATE s, AXFR and
# IXFR from SERIAL-1 in turn (a secondary one publish behind: the
# difference when the history has it, else the whole zone, and the
# report shows which by the records). Appends "axfr|ixfr ok RECORDS" or
# "axfr|ixfr fail" per transfer to LOG, the last failure's output to
# LOG.err. On TERM it ends after the transfer in progress, so no kdig
# outlives it. Only shell built-ins between the transfers: the loop
# shares dnsperf's core, and each kdig already costs ~3.5 ms of it.
xfr_loop() {
	local from=$(((${1:-0} + 4294967295) % 4294967296)) log=$2 stop=0 k=0
	local period=$((1000000 / XFR_RATE)) next now d kind out nap
	trap 'stop=1' TERM
	taskset -p -c "$PERF_GEN_CPU" "$BASHPID" >/dev/null
	# A pipe nobody writes to: `read -t` on it is a sleep without a
	# process (an exec of sleep costs about a third of a kdig).
	exec {nap}<> <(:)
	next=${EPOCHREALTIME//[!0-9]/}
	while [ "$stop" -eq 0 ]; do
		kind=AXFR
		if [ $((k % 2)) -eq 1 ]; then kind=IXFR=$from; fi
		k=$((k + 1))
		if out=$(kdig +retry=0 +timeout=2 -p "$PORT" @"$PERF_OURS_ADDR" "$PERF_ZONE" "$kind" 2>&1) &&
			[[ $out =~ \(([0-9]+)\ messages?,\ ([0-9]+)\ records?\) ]]; then
			echo "${kind%%=*} ok ${BASH_REMATCH[2]}"
		else
			echo "${kind%%=*} fail"
			printf '%s\n' "$out" >"$log.err"
		fi >>"$log"
		# A fixed rate: the next start is one period after the last
		# one's, and a transfer that overran is not made up in a burst.
		now=${EPOCHREALTIME//[!0-9]/}
		next=$((next + period))
		if [ "$next" -gt "$now" ]; then
			d=$((next - now))
			printf -v d '%d.%06d' $((d / 1000000)) $((d % 1000000))
			read -r -t "$d" -u "$nap" _ || true
		else
			next=$now
		fi
	done
}

# utime+stime of process $1 and of the children it has waited for
# (the loop's kdig and sleep), in clock ticks.
waited_ticks() {
	awk '{ sub(/^.*\) /, ""); print $12 + $13 + $14 + $15 }' "/proc/$1/stat"
}

# xfr_run still|xfr ROUND: one UDP run against our plain server; appends
# to $W/xfr its results line plus
#   axfr_ok ixfr_ok failed axfr_records_min axfr_records_max
#   ixfr_records_min ixfr_records_max loop_ticks window_us
# counting the transfers that ended while dnsperf ran; the window is
# measured here, dnsperf's run time leaves out its start and end.
xfr_run() {
	local v=$1 r=$2 lp log=$W/xfr-$2.log i=0 n0 n1 l0 l1 w0 w1 out
	if [ "$v" = still ]; then
		run_dnsperf xfr-still ours ours-plain "$PORT" "$XSECS" "$r"
		echo "$(tail -n 1 "$W/results") 0 0 0 0 0 0 0 0 0" >>"$W/xfr"
		return
	fi
	: >"$log"
	xfr_loop "$(soa_serial)" "$log" &
	lp=$!
	PID[xfr]=$lp # the exit trap stops it if a run fails
	# A whole transfer before the run: none means they are refused.
	until grep -q ' ok ' "$log"; do
		i=$((i + 1))
		[ "$i" -le 100 ] || { cat "$log.err" >&2 2>/dev/null
			perf_die "no transfer completed in 5 s, $(wc -l <"$log") tried (kdig's last answer above)"; }
		sleep 0.05
	done
	n0=$(wc -l <"$log")
	w0=${EPOCHREALTIME//[!0-9]/}
	l0=$(waited_ticks "$lp")
	run_dnsperf xfr ours ours-plain "$PORT" "$XSECS" "$r"
	n1=$(wc -l <"$log")
	w1=${EPOCHREALTIME//[!0-9]/}
	l1=$(waited_ticks "$lp")
	kill -TERM "$lp"
	unset "PID[xfr]"
	wait "$lp" || perf_die "the transfer loop failed"
	out=$(sed -n "$((n0 + 1)),${n1}p" "$log" | awk '
		function mm(k, x) {
			if (!(k in lo) || x < lo[k]) lo[k] = x
			if (x > hi[k]) hi[k] = x
		}
		$2 == "ok" { ok[$1]++; mm($1, $3) }
		$2 == "fail" { f++ }
		END { print ok["AXFR"] + 0, ok["IXFR"] + 0, f + 0, lo["AXFR"] + 0, hi["AXFR"] + 0,
		      lo["IXFR"] + 0, hi["IXFR"] + 0 }')
	read -r n0 n1 _ <<<"$out"
	[ $((n0 + n1)) -gt 0 ] || { cat "$log.err" >&2 2>/dev/null; perf_die "no transfer completed during run $r"; }
	echo "$(tail -n 1 "$W/results") $out $((l1 - l0)) $((w1 - w0))" >>"$W/xfr"
}
for r in $(seq 1 "$XFR_PAIRS"); do
	for v in still xfr; do
		if [ $((r % 2)) -eq 0 ]; then v=$([ "$v" = still ] && echo xfr || echo still); fi
		echo "bench: under transfer pair $r/$XFR_PAIRS: $v" >&2
		xfr_run "$v" "$r"
	done
done
for s in $SERVERS; do
	perf_stop "${PID[$s-plain]}"
	unset "PID[$s-plain]"
done

# --- DNSSEC: a signed zone, queries with DO ----------------------------
# One key for all three (perf_p256_key): ours loads the PEM, NSD and Knot
# serve the zone ldns-signzone signed with the same key.
KEY_TAG=$(perf_p256_key "$W")
ldns-signzone -f "$ZF_SIGNED" "$ZF_PLAIN" "$W/Kshared" >/dev/null 2>&1 ||
	perf_die "ldns-signzone failed"

# dnssec_check SERVER PORT: sample answers with DO; appends to
# $W/dnssec-check "server rrsigs_A rrsigs_NXDOMAIN rrsigs_SOA dnskey_tags
# rrsig_tags". Returns 1 unless every sample is signed by the shared key
# (tag KEY_TAG) and the served DNSKEY is that key.
dnssec_check() {
	local s=$1 port=$2 q out counts="" tags="" dk
	for q in "$PROBE_NAME A" "nx0000.$PERF_ZONE A" "$PERF_ZONE SOA"; do
		# shellcheck disable=SC2086 # name and type
		out=$(dig +dnssec +norec +time=1 +tries=1 +noall +answer +authority \
			@"${ADDR[$s]}" -p "$port" $q 2>/dev/null) || true
		counts="$counts $(awk '$4 == "RRSIG" { n++ } END { print n + 0 }' <<<"$out")"
		tags="$tags $(awk '$4 == "RRSIG" { print $11 }' <<<"$out")"
	done
	dk=$(dig +dnssec +norec +multi +time=1 +tries=1 @"${ADDR[$s]}" -p "$port" "$PERF_ZONE" DNSKEY 2>/dev/null |
		sed -n 's/.*key id = \([0-9]*\).*/\1/p' | sort -u | paste -sd, -)
	tags=$(tr ' ' '\n' <<<"$tags" | sed '/^$/d' | sort -u | paste -sd, -)
	echo "$s$counts ${dk:--} ${tags:--}" >>"$W/dnssec-check"
	# shellcheck disable=SC2086 # three counts
	set -- $counts
	[ "$1" -ge 1 ] && [ "$2" -ge 2 ] && [ "$3" -ge 1 ] && [ "$dk" = "$KEY_TAG" ] && [ "$tags" = "$KEY_TAG" ]
}

sec_list="nsd:$((PORT + 11)) knot:$((PORT + 12))"
start_bg nsd signed $((PORT + 11)) || { cat "$W/nsd-signed.log" >&2; perf_die "signed NSD did not start"; }
start_bg knot signed $((PORT + 12)) || { cat "$W/knot-signed.log" >&2; perf_die "signed Knot did not start"; }
dnssec_check nsd $((PORT + 11)) || { cat "$W/dnssec-check" >&2; perf_die "NSD does not answer signed with key $KEY_TAG"; }
dnssec_check knot $((PORT + 12)) || { cat "$W/dnssec-check" >&2; perf_die "Knot does not answer signed with key $KEY_TAG"; }
# The prober signs after start-up: give the signed image a moment.
signed_soon() {
	local s=$1 i
	for i in $(seq 1 50); do
		dig +dnssec +norec +time=1 +tries=1 @"${ADDR[$s]}" -p $((PORT + 10 + ${OFF[$s]})) "$PROBE_NAME" A 2>/dev/null |
			grep -q 'RRSIG' && return 0
		sleep 0.1
	done
	return 1
}
for s in $SERVERS; do
	case $s in nsd | knot) continue ;; esac
	port=$((PORT + 10 + ${OFF[$s]}))
	if start_bg "$s" signed "$port" && { signed_soon "$s" || true; } && dnssec_check "$s" "$port"; then
		sec_list="$s:$port $sec_list"
	else
		NOTES+=("DNSSEC: ${NAME[$s]} did not answer signed with key $KEY_TAG (see the check above); its DNSSEC line is skipped.")
	fi
done
rounds dnssec "$XROUNDS" "$XSECS" signed "$sec_list" -D

# A child that died and was restarted during the runs skews them.
for f in "$W"/ours-*.log "$W"/base-*.log; do
	[ -f "$f" ] || continue
	if grep -q 'killed by signal\|restarting in' "$f"; then
		NOTES+=("a-healthy-dns restarted a child during the runs ($(basename "$f" .log)): $(grep -m1 'killed by signal\|restarting in' "$f" | sed 's/^.*: warning: //')")
	fi
done

# --- report -----------------------------------------------------------
echo
echo "a-healthy-dns against its peers on loopback (make bench-peers)"
echo "zone $PERF_ZONE: $PERF_NAMES names x 2 A; queries: 80% A, 10% NXDOMAIN, 10% SOA/NS at the apex"
echo "dnsperf (1 client, 100 outstanding) on CPU $PERF_GEN_CPU; each server's whole process tree on CPU $PERF_SRV_CPU"
echo "(every thread re-pinned once the server answers: Knot pins its UDP threads to CPU i itself)"
echo "us: --workers 1, --transfer-allow 127.0.0.0/8 (transfers asked for only under transfer); NSD: server-count 1, RRL off, minimal-responses; Knot: udp/tcp/background-workers 1"
echo "q/CPU-s: answers per second of server CPU (utime+stime of all its processes); srv, gen: CPU use of the server and of dnsperf"
echo "$(nproc) CPUs: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"

NAMES_ARGS=$(for s in $SERVERS; do printf '%s=%s\n' "$s" "${NAME[$s]}"; done)
awk -v tck="$PERF_CLK_TCK" -v names="$NAMES_ARGS" -v servers="$SERVERS" -v rounds="$ROUNDS" -v secs="$SECS" \
	-v xrounds="$XROUNDS" -v xsecs="$XSECS" -v starts="$STARTS" '
function sort(a, n,   i, j, t) {
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
}
function ratio(x, y) { return y > 0 ? sprintf("%.2fx", x / y) : "-" }
BEGIN {
	split(names, nl, "\n")
	for (i in nl) { split(nl[i], kv, "="); disp[kv[1]] = kv[2] }
	nserv = split(servers, order, " ")
	title["udp"] = sprintf("UDP, no EDNS (%d rounds x %d s)", rounds, secs)
	title["tcp"] = sprintf("TCP, dnsperf -m tcp (%d rounds x %d s)", xrounds, xsecs)
	title["dnssec"] = sprintf("DNSSEC, signed zone, DO bit, dnsperf -D (%d rounds x %d s)", xrounds, xsecs)
	modes[1] = "udp"; modes[2] = "tcp"; modes[3] = "dnssec"
}
FILENAME ~ /results$/ {
	k = $1 SUBSEP $2
	n[k]++
	qps[k, n[k]] = $4
	qpc[k, n[k]] = $7 > 0 ? $5 / ($7 / tck) : 0
	busy[k, n[k]] = $8 > 0 ? 100 * ($7 / tck) / $8 : 0
	lost[k] += $6; sent[k] += $5 + $6
	resp[k] = $9
	gbusy[k, n[k]] = $8 > 0 ? 100 * ($10 / tck) / $8 : 0
	oth0[$1] += $11; oth1[$1] += $12; othrt[$1] += $8
	next
}
FILENAME ~ /pss$/ { pss[$1] = $2; nproc[$1] = $3; next }
FILENAME ~ /startup$/ { st[$1] = $2; stmin[$1] = $3; stmax[$1] = $4; next }
END {
	for (m = 1; m <= 3; m++) {
		mode = modes[m]
		printf "\n%s\n", title[mode]
		printf "  %-14s %9s %19s %12s %6s %6s %12s %6s\n", "server", "QPS med", "(min-max)",
		       "q/CPU-s med", "srv", "gen", "lost", "resp B"
		for (o = 1; o <= nserv; o++) {
			s = order[o]; k = mode SUBSEP s
			if (!(k in n)) continue
			c = n[k]
			for (i = 1; i <= c; i++) {
				a[i] = qps[k, i]; b[i] = qpc[k, i]; d[i] = busy[k, i]; e[i] = gbusy[k, i]
			}
			sort(a, c); sort(b, c); sort(d, c); sort(e, c)
			mid = int((c + 1) / 2)
			medq[mode, s] = a[mid]; medc[mode, s] = b[mid]
			printf "  %-14s %9.0f %19s %12.0f %5.0f%% %5.0f%% %5d (%.3f%%) %5s\n", disp[s], a[mid],
			       sprintf("(%.0f-%.0f)", a[1], a[c]), b[mid], d[mid], e[mid], lost[k],
			       (sent[k] > 0 ? 100 * lost[k] / sent[k] : 0), resp[k]
		}
		if (othrt[mode] > 0) {
			o0 = 100 * (oth0[mode] / tck) / othrt[mode]
			o1 = 100 * (oth1[mode] / tck) / othrt[mode]
			printf "  other processes used %.0f%% of CPU 0 and %.0f%% of CPU 1 during these runs%s\n",
			       o0, o1, (o0 > 5 || o1 > 5) ? ": the machine was not quiet, QPS is noisy" : ""
		}
		for (o = 2; o <= nserv; o++) {
			s = order[o]
			if ((mode, "ours") in medq && (mode, s) in medq)
				printf "  us / %-9s QPS %s, q/CPU-s %s\n", disp[s],
				       ratio(medq[mode, "ours"], medq[mode, s]), ratio(medc[mode, "ours"], medc[mode, s])
		}
	}
	printf "\nIdle memory and start-up (start-up: spawn to first UDP answer, 1 ms polling, %d starts)\n", starts
	printf "  %-14s %10s %6s %12s %17s\n", "server", "PSS kB", "procs", "start ms med", "(min-max)"
	for (o = 1; o <= nserv; o++) {
		s = order[o]
		printf "  %-14s %10d %6d %12.2f %17s\n", disp[s], pss[s], nproc[s], st[s],
		       sprintf("(%.2f-%.2f)", stmin[s], stmax[s])
	}
	for (o = 2; o <= nserv; o++) {
		s = order[o]
		printf "  us / %-9s PSS %s, start-up %s (lower is better)\n", disp[s],
		       ratio(pss["ours"], pss[s]), ratio(st["ours"], st[s])
	}
}' "$W/results" "$W/pss" "$W/startup"

echo
echo "DNSSEC answers checked before the rounds (dig +dnssec; RRSIGs in answer + authority):"
printf '  %-14s %9s %16s %10s %12s %12s\n' server "A host001" "NXDOMAIN nx0000" "SOA apex" "DNSKEY tag" "RRSIG tags"
while read -r s a nx soa dk tags; do
	printf '  %-14s %9s %16s %10s %12s %12s\n' "${NAME[$s]}" "$a" "$nx" "$soa" "$dk" "$tags"
done <"$W/dnssec-check"
echo "  one ECDSAP256SHA256 key (tag $KEY_TAG) for every server: ours from its PEM, NSD and Knot from ldns-signzone with the same key"

echo
awk -v tck="$PERF_CLK_TCK" -v rounds="$CHG_PAIRS" -v secs="$XSECS" -v rate="$RATE" '
function sort(a, n,   i, j, t) {
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
}
{
	v = $1; c = ++n[v]
	pubt = $15 / 1000 * tck
	qps[v, c] = $4
	qpc[v, c] = $7 > 0 ? $5 / ($7 / tck) : 0
	qpp[v, c] = $7 + pubt > 0 ? $5 / (($7 + pubt) / tck) : 0
	pq[v, $3] = qpc[v, c]; pp[v, $3] = qpp[v, c]; pqps[v, $3] = $4
	busy[v, c] = $8 > 0 ? 100 * ($7 / tck) / $8 : 0
	lost[v] += $6; sent[v] += $5 + $6
	sd[v] += $13; rt[v] += $8; pubs[v] += $14; cpu[v] += $15
	if ($16 > 0) { avg[v] += $16; navg[v]++ }
	if ($17 > max[v]) max[v] = $17
	o1 = $12 - pubt
	oth0 += $11; oth1 += (o1 > 0 ? o1 : 0); othrt += $8
}
END {
	printf "Under change: our UDP runs while tests/perf/republish publishes a new image %d times a second\n", rate
	printf "(%d pairs of %d s runs without and with, back to back; + pub: q/CPU-s counting the publisher'"'"'s CPU too)\n", rounds, secs
	printf "  %-13s %9s %19s %12s %19s %12s %5s %8s %13s %15s\n", "run", "QPS med", "(min-max)",
	       "q/CPU-s med", "(min-max)", "+ pub med", "srv", "lost", "serial delta", "publish us"
	lab["still"] = "still"; lab["change"] = "republishing"
	for (o = 1; o <= 2; o++) {
		v = o == 1 ? "still" : "change"
		if (!(v in n)) continue
		c = n[v]
		for (i = 1; i <= c; i++) { a[i] = qps[v, i]; b[i] = qpc[v, i]; e[i] = qpp[v, i]; d[i] = busy[v, i] }
		sort(a, c); sort(b, c); sort(e, c); sort(d, c)
		mid = int((c + 1) / 2)
		mq[v] = a[mid]; mc[v] = b[mid]; mp[v] = e[mid]
		printf "  %-13s %9.0f %19s %12.0f %19s %12.0f %4.0f%% %8s %13s %15s\n", lab[v], a[mid],
		       sprintf("(%.0f-%.0f)", a[1], a[c]), b[mid], sprintf("(%.0f-%.0f)", b[1], b[c]), e[mid], d[mid],
		       sprintf("%d", lost[v]), sprintf("%d (%.1f/s)", sd[v], rt[v] > 0 ? sd[v] / rt[v] : 0),
		       (navg[v] > 0 ? sprintf("%.0f avg, %.0f max", avg[v] / navg[v], max[v]) : "-")
	}
	if (("still" in n) && ("change" in n) && mc["still"] > 0 && mq["still"] > 0)
		printf "  republishing / still, medians: q/CPU-s %.3fx (server only), %.3fx (+ publisher), QPS %.3fx\n",
		       mc["change"] / mc["still"], mp["change"] / mc["still"], mq["change"] / mq["still"]
	c = 0
	for (r = 1; r <= rounds; r++) {
		if (pq["still", r] > 0 && pqps["still", r] > 0 && ("change", r) in pq) {
			c++
			a[c] = pq["change", r] / pq["still", r]; b[c] = pp["change", r] / pq["still", r]
			e[c] = pqps["change", r] / pqps["still", r]
		}
	}
	if (c > 0) {
		sort(a, c); sort(b, c); sort(e, c)
		mid = int((c + 1) / 2)
		printf "  republishing / still, median of %d pairs: q/CPU-s %.3fx (%.3f-%.3f), %.3fx + publisher, QPS %.3fx (%.3f-%.3f)\n",
		       c, a[mid], a[1], a[c], b[mid], e[mid], e[1], e[c]
	}
	printf "  publishes: %d by the tool (%.0f ms of its CPU), the serial moved %d during the runs with it and %d without\n",
	       pubs["change"], cpu["change"], sd["change"], sd["still"]
	if (othrt > 0) {
		o0 = 100 * (oth0 / tck) / othrt; o1 = 100 * (oth1 / tck) / othrt
		printf "  other processes used %.0f%% of CPU 0 and %.0f%% of CPU 1 during these runs%s\n",
		       o0, o1, (o0 > 5 || o1 > 5) ? ": the machine was not quiet, QPS is noisy" : ""
	}
}' "$W/change"

echo
awk -v tck="$PERF_CLK_TCK" -v rounds="$XFR_PAIRS" -v secs="$XSECS" -v rate="$XFR_RATE" '
function sort(a, n,   i, j, t) {
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
}
function span(lo, hi) { return lo == hi ? sprintf("%d", lo) : sprintf("%d-%d", lo, hi) }
{
	v = $1 == "xfr" ? "xfr" : "still"; c = ++n[v]
	qps[v, c] = $4
	qpc[v, c] = $7 > 0 ? $5 / ($7 / tck) : 0
	pq[v, $3] = qpc[v, c]; pqps[v, $3] = $4
	busy[v, c] = $8 > 0 ? 100 * ($7 / tck) / $8 : 0
	# dnsperf short of its core while QPS drops: it waited for answers.
	gbusy[v, c] = $8 > 0 ? 100 * ($10 / tck) / $8 : 0
	lost[v] += $6; rt[v] += $8; win[v] += $21 / 1e6
	ax[v] += $13; ix[v] += $14; fl[v] += $15; loop += $20
	if ($13 > 0) { if (!alo || $16 < alo) alo = $16; if ($17 > ahi) ahi = $17 }
	if ($14 > 0) { if (!ilo || $18 < ilo) ilo = $18; if ($19 > ihi) ihi = $19 }
	# The loop runs on CPU 0 beside dnsperf: not "other" there.
	o0 = $11 - $20
	oth0 += (o0 > 0 ? o0 : 0); oth1 += $12; othrt += $8
}
END {
	printf "Under transfer: our UDP runs while kdig transfers the zone over TCP %d times a second (AXFR and IXFR in turn), from CPU 0\n", rate
	printf "(%d pairs of %d s runs without and with, back to back; the transfers count in the server'"'"'s CPU, the kdig loop'"'"'s does not)\n", rounds, secs
	printf "  %-13s %9s %19s %12s %19s %5s %5s %8s %22s\n", "run", "QPS med", "(min-max)",
	       "q/CPU-s med", "(min-max)", "srv", "gen", "lost", "transfers done"
	lab["still"] = "still"; lab["xfr"] = "transferring"
	for (o = 1; o <= 2; o++) {
		v = o == 1 ? "still" : "xfr"
		if (!(v in n)) continue
		c = n[v]
		for (i = 1; i <= c; i++) {
			a[i] = qps[v, i]; b[i] = qpc[v, i]; d[i] = busy[v, i]; g[i] = gbusy[v, i]
		}
		sort(a, c); sort(b, c); sort(d, c); sort(g, c)
		mid = int((c + 1) / 2)
		mq[v] = a[mid]; mc[v] = b[mid]
		printf "  %-13s %9.0f %19s %12.0f %19s %4.0f%% %4.0f%% %8d %22s\n", lab[v], a[mid],
		       sprintf("(%.0f-%.0f)", a[1], a[c]), b[mid], sprintf("(%.0f-%.0f)", b[1], b[c]), d[mid], g[mid],
		       lost[v], sprintf("%d (%.1f/s)", ax[v] + ix[v], win[v] > 0 ? (ax[v] + ix[v]) / win[v] : 0)
	}
	if (("still" in n) && ("xfr" in n) && mc["still"] > 0 && mq["still"] > 0)
		printf "  transferring / still, medians: q/CPU-s %.3fx, QPS %.3fx\n",
		       mc["xfr"] / mc["still"], mq["xfr"] / mq["still"]
	c = 0
	for (r = 1; r <= rounds; r++) {
		if (pq["still", r] > 0 && pqps["still", r] > 0 && ("xfr", r) in pq) {
			c++
			a[c] = pq["xfr", r] / pq["still", r]; e[c] = pqps["xfr", r] / pqps["still", r]
		}
	}
	if (c > 0) {
		sort(a, c); sort(e, c)
		mid = int((c + 1) / 2)
		printf "  transferring / still, median of %d pairs: q/CPU-s %.3fx (%.3f-%.3f), QPS %.3fx (%.3f-%.3f)\n",
		       c, a[mid], a[1], a[c], e[mid], e[1], e[c]
	}
	printf "  transfers done during the runs: %d AXFR (%s records each), %d IXFR (%s records each), %.1f a second of %d asked, %d failed\n",
	       ax["xfr"], (ax["xfr"] ? span(alo, ahi) : "-"), ix["xfr"], (ix["xfr"] ? span(ilo, ihi) : "-"),
	       (win["xfr"] > 0 ? (ax["xfr"] + ix["xfr"]) / win["xfr"] : 0), rate, fl["xfr"]
	if (win["xfr"] > 0)
		printf "  the kdig loop used %.1f%% of CPU 0 (dnsperf'"'"'s core) during the runs with it\n",
		       100 * (loop / tck) / win["xfr"]
	if (othrt > 0) {
		o0 = 100 * (oth0 / tck) / othrt; o1 = 100 * (oth1 / tck) / othrt
		printf "  other processes used %.0f%% of CPU 0 and %.0f%% of CPU 1 during these runs%s\n",
		       o0, o1, (o0 > 5 || o1 > 5) ? ": the machine was not quiet, QPS is noisy" : ""
	}
}' "$W/xfr"

echo
echo "Load average (1 5 15 min): $LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
echo
echo "Response codes (first round of each mode):"
sed 's/^/  /' "$W/rcodes"
for n in "${NOTES[@]}"; do
	echo "Note: $n"
done
