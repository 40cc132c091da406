#!/bin/bash
# `make bench-xdp` (DESIGN §14, issue 18): our AF_XDP mode against
# sockets. Two network namespaces of our own joined by a veth pair;
# dnsperf in one (CPU 0), the server in the other (CPU 1, its whole
# process tree re-pinned once it answers, as bench-peers does). Measured
# in one run, interleaved: us with sockets, us with --xdp on the
# server's veth end in native and in generic mode, Knot with sockets,
# Knot with its XDP mode, NSD. Prints numbers; asserts nothing; fails
# only when it cannot measure (or when a row would not measure what it
# says: an XDP program left on the veth before a run, our XDP rows in
# another mode than asked or answered by the kernel's sockets). If Knot
# cannot attach XDP here, the report says so with Knot's own error and
# still prints the other rows.
#
# Server CPU: a veth hands a packet to its peer in the sender's context,
# so the receive of a query (the kernel's IP/UDP path for a socket
# server; the XDP program and the copy into the XSK ring for an XDP
# server, in the veth's NAPI poll or, generic, in its netif_rx) runs in
# softirq on dnsperf's core, while an answer's delivery to dnsperf runs
# in the server's own context (its send raises the softirq and runs it
# on the way out). So the server's work is its process tree's
# utime+stime (answers delivered included) plus the softirq time of
# CPU 0 (queries received). The kernel counts time by ticks here (no
# IRQ_TIME_ACCOUNTING): a softirq tick is charged to the current task as
# well, so adding CPU 1's softirq on top would count the answers'
# delivery twice; it is printed, not added.
#
# Traffic goes only between the two addresses given to the namespaces
# below (IPv6 off on both ends: no link-local chatter either). The
# namespaces, and with them the veth pair, are removed on any exit.
#
# PERF_XDP_PROBE=1 adds a row: tests/tools/xdp/ahd-xdp-probe in native
# mode, which answers REFUSED to every query in place in its UMEM frame
# and does no DNS work at all: what the XDP/XSK path itself costs here,
# the floor under any AF_XDP server (DESIGN §14.3).
#
# Before/after: AHD_BIN_BASE=PATH (or `make bench-xdp BASE=<git rev>`)
# adds "us, sockets, base": that binary with sockets in the same rounds,
# for the "our sockets unchanged" ratio.
#
# Knobs: PERF_ROUNDS (3), PERF_XDP_SECONDS (5, each run), PERF_PORT
# (25353; servers on PORT+40..47), PERF_XDP_PROBE (0), AHD_BIN (default
# build/a-healthy-dns), AHD_BIN_BASE (none).
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/perf/lib.sh

B=${B:-build}
BIN=${AHD_BIN:-$B/a-healthy-dns}
FA=$B/perf/first_answer
ROUNDS=${PERF_ROUNDS:-3}
SECS=${PERF_XDP_SECONDS:-5}
PORT=${PERF_PORT:-25353}
PROBE_NAME=host001.$PERF_ZONE
SERVERS="ours oursxdp oursxdpg knot knotxdp nsd"
BASE_BIN=${AHD_BIN_BASE:-}
XB=$B/perf/xdp

[ -x "$BIN" ] && [ -x "$FA" ] || perf_die "build first: make $BIN $FA"
[[ $ROUNDS =~ ^[1-9][0-9]?$ ]] || perf_die "PERF_ROUNDS=$ROUNDS: want 1 to 99"
[[ $SECS =~ ^[1-9][0-9]{0,2}$ ]] || perf_die "PERF_XDP_SECONDS=$SECS: want 1 to 999"
[ "$(id -u)" -eq 0 ] || perf_die "needs root: network namespaces, veth, XDP"
[ "$(nproc)" -ge 2 ] || perf_die "needs 2 CPUs: generator and server on different cores"
if [ -n "$BASE_BIN" ]; then
	[ -x "$BASE_BIN" ] || perf_die "AHD_BIN_BASE=$BASE_BIN is not an executable"
	SERVERS="ours base oursxdp oursxdpg knot knotxdp nsd"
fi
perf_install dnsperf nsd knot iproute2 util-linux procps time coreutils
if [ "${PERF_XDP_PROBE:-0}" = 1 ]; then
	perf_install clang libbpf-dev libxdp-dev
	${MAKE:-make} -s "$XB/ahd-xdp-probe" "$B/bpf/ahd_xdp.bpf.o" >&2
	SERVERS="$SERVERS xskprobe"
fi

# Names unique to this run (interface names: at most 15 bytes).
TAG=$(($$ % 1000000))
NS_C=ahdx-$TAG-client
NS_S=ahdx-$TAG-server
IF_C=ahx${TAG}c
IF_S=ahx${TAG}s
C_ADDR=10.254.0.1
S_ADDR=10.254.0.2
PERF_NSD_ADDR=$S_ADDR
PERF_KNOT_ADDR=$S_ADDR

W=$(mktemp -d /tmp/ahd-bench-xdp.XXXXXX)
declare -A PID NAME
declare -A SPORT=([ours]=$((PORT + 40)) [knot]=$((PORT + 41)) [knotxdp]=$((PORT + 42)) [nsd]=$((PORT + 43))
	[xskprobe]=$((PORT + 44)) [oursxdp]=$((PORT + 45)) [oursxdpg]=$((PORT + 46)) [base]=$((PORT + 47)))
NAME=([ours]="us, sockets" [knot]="Knot, sockets" [knotxdp]="Knot, XDP" [nsd]="NSD, sockets"
	[xskprobe]="XSK probe, REFUSED" [oursxdp]="us, XDP native" [oursxdpg]="us, XDP generic"
	[base]="us, sockets, base")
# The mode our XDP rows ask for, and what `ip -d link` then shows.
declare -A XMODE=([oursxdp]=native [oursxdpg]=generic)
declare -A XLINK=([native]=xdp [generic]=xdpgeneric)
declare -A RING
cleanup() {
	local k
	for k in "${!PID[@]}"; do
		perf_stop "${PID[$k]}"
	done
	perf_veth_down "$NS_S" "$NS_C"
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

in_c() { ip netns exec "$NS_C" "$@"; }

# set_cmd SERVER: CMD=(the server's command line).
set_cmd() {
	local s=$1 port=${SPORT[$1]}
	case $s in
	ours | base | oursxdp | oursxdpg)
		local bin=$BIN level=warning
		[ "$s" != base ] || bin=$BASE_BIN
		# The log level lets the supervisor say which mode it attached
		# in, and the worker what its ring carried (info: start and
		# stop lines only, nothing per query).
		[ -z "${XMODE[$s]:-}" ] || level=info
		CMD=("$bin" --hosted-zone "$PERF_ZONE" --ns "$(perf_ns_json)"
			--zone-resolutions "$(cat "$W/resolutions.json")"
			--listen "$S_ADDR" --port "$port" --workers 1 --log-level "$level")
		# The same server and flags, the queries through the ring.
		[ -z "${XMODE[$s]:-}" ] || CMD+=(--xdp "$IF_S" --xdp-mode "${XMODE[$s]}")
		;;
	nsd)
		perf_nsd_conf "$W" "$port" "$W/$PERF_ZONE.zone" nsd
		CMD=(nsd -d -c "$W/nsd/nsd.conf")
		;;
	xskprobe)
		# Answers until stopped (SIGTERM; the link goes with it).
		CMD=("$XB/ahd-xdp-probe" "$B/bpf/ahd_xdp.bpf.o" "$IF_S" "$port" native 4000000000 86400)
		;;
	knot | knotxdp)
		perf_knot_conf "$W" "$port" "$W/$PERF_ZONE.zone" "$s"
		if [ "$s" = knotxdp ]; then
			# Knot logs the XDP mode it got at info level. Sockets
			# stay on the same port for TCP, as Knot advises.
			sed -i 's/any: warning/any: info/' "$W/$s/knot.conf"
			printf 'xdp:\n    listen: %s@%s\n    udp: on\n' "$IF_S" "$port" >>"$W/$s/knot.conf"
		fi
		CMD=(knotd -c "$W/$s/knot.conf")
		;;
	esac
}

# answering SERVER: it answers (the probe, only REFUSED: says "ready").
answering() {
	if [ "$1" = xskprobe ]; then
		grep -q '^ready' "$W/$1.log" || { sleep 0.25; return 1; }
		return 0
	fi
	in_c taskset -c "$PERF_GEN_CPU" "$FA" wait "$S_ADDR" "${SPORT[$1]}" "$PROBE_NAME" 500
}

# start SERVER: run it in the server namespace, pinned, until it answers
# through the veth. Returns 1 (log kept in $W/SERVER.log) if it does not.
start() {
	local s=$1
	set_cmd "$s"
	# A simple command, not a function, so that $! is the server itself:
	# ip netns exec, env and taskset exec in turn.
	ip netns exec "$NS_S" env "${XDP_ENV[@]}" taskset -c "$PERF_SRV_CPU" "${CMD[@]}" >"$W/$s.log" 2>&1 &
	PID[$s]=$!
	# Up to 10 s, but no longer than the server lives.
	local i
	for i in $(seq 1 20); do
		if answering "$s"; then
			perf_pin_tree "${PID[$s]}" "$PERF_SRV_CPU"
			return 0
		fi
		kill -0 "${PID[$s]}" 2>/dev/null || break
	done
	stop "$s"
	return 1
}
stop() {
	perf_stop "${PID[$1]}"
	unset "PID[$1]"
}

# What Knot's log says went wrong with XDP: libbpf's and Knot's own
# lines, without the verifier's instruction dump.
knot_xdp_err() {
	grep -v -E '^[0-9]+: |^; |^[[:space:]]*$' "$W/knotxdp.log" |
		grep -i -E 'libbpf|xdp|fail|error|cannot|critical' | head -n 12 || true
}

# Knot's word on XDP: "native", "emulated", or its error lines.
knot_xdp_mode() {
	local l
	l=$(grep -m1 'initialized XDP interface' "$W/knotxdp.log" || true)
	case $l in
	*native*) echo native ;;
	*emulated*) echo emulated ;;
	*) return 1 ;;
	esac
}

# softirq ticks of CPU $1.
cpu_softirq() { awk -v c="cpu$1" '$1 == c { print $8 }' /proc/stat; }
# user+nice+system ticks of CPU $1 (the "other processes" check).
cpu_busy() { awk -v c="cpu$1" '$1 == c { print $2 + $3 + $4 }' /proc/stat; }

# Datagrams the server namespace's kernel delivered to UDP sockets
# (Udp InDatagrams): all of them for a socket server, none for one that
# answers through its XSK ring.
udp_in() { ip netns exec "$NS_S" awk '$1 == "Udp:" && ++n == 2 { print $2 }' /proc/net/snmp; }

# How a program sits on the server's veth end, as `ip -d link` shows it
# ("xdp" native, "xdpgeneric", ...), or "none".
xdp_attached() {
	ip -n "$NS_S" -d link show dev "$IF_S" |
		awk 'NR == 1 { for (i = 1; i <= NF; i++) if ($i ~ /^xdp/) { print $i; exit } print "none" }'
}

# measure SERVER ROUND: one dnsperf run, appended to $W/results as
#   server round qps completed lost tree_ticks sirq0 sirq1 runtime
#   gen_ticks busy0 busy1 kernel_udp_in
measure() {
	local s=$1 r=$2 t0 t1 q0 q1 p0 p1 b0 b1 c0 c1 u0 u1
	u0=$(udp_in)
	t0=$(perf_tree_ticks "${PID[$s]}")
	q0=$(cpu_softirq "$PERF_GEN_CPU") p0=$(cpu_softirq "$PERF_SRV_CPU")
	b0=$(cpu_busy "$PERF_GEN_CPU") c0=$(cpu_busy "$PERF_SRV_CPU")
	in_c /usr/bin/time -f '%U %S' -o "$W/dnsperf.time" \
		taskset -c "$PERF_GEN_CPU" dnsperf -s "$S_ADDR" -p "${SPORT[$s]}" -d "$W/queries" \
		-l "$SECS" -t 1 >"$W/dnsperf.out" 2>&1 ||
		{ cat "$W/dnsperf.out" >&2; perf_die "dnsperf against ${NAME[$s]} failed"; }
	t1=$(perf_tree_ticks "${PID[$s]}")
	q1=$(cpu_softirq "$PERF_GEN_CPU") p1=$(cpu_softirq "$PERF_SRV_CPU")
	b1=$(cpu_busy "$PERF_GEN_CPU") c1=$(cpu_busy "$PERF_SRV_CPU")
	u1=$(udp_in)
	awk -v s="$s" -v r="$r" -v t=$((t1 - t0)) -v q=$((q1 - q0)) -v p=$((p1 - p0)) \
		-v b0=$((b1 - b0)) -v b1=$((c1 - c0)) -v u=$((u1 - u0)) -v tck="$PERF_CLK_TCK" '
		FILENAME ~ /time$/ { gen = int(($1 + $2) * tck + 0.5); next }
		/Queries completed:/ { c = $3 }
		/Queries lost:/ { l = $3 }
		/Run time \(s\):/ { rt = $4 }
		/Queries per second:/ { qps = $4 }
		END { print s, r, qps, c, l, t, q, p, rt, gen, b0, b1, u }' "$W/dnsperf.time" "$W/dnsperf.out" >>"$W/results"
	if [ "$r" = 1 ]; then
		sed -n "s/^ *Response codes: *//p" "$W/dnsperf.out" | sed "s/^/${NAME[$s]}: /" >>"$W/rcodes"
	fi
}

# start_knot_xdp: Knot in XDP mode, answering through XDP. First as
# Debian ships it (libxdp attaches through its dispatcher where it can),
# then with LIBXDP_SKIP_DISPATCHER=1 (one program, attached directly).
# Knot itself tries native mode first and falls back to emulated
# (generic) on its own. Returns 1, with XDP_STATE=failed and the errors
# of every attempt in XDP_TRIED, when no attempt served through XDP.
XDP_ENV=()
XDP_TRIED=""
start_knot_xdp() {
	local envs attempt mode
	if [ "$XDP_STATE" != "not tried" ]; then
		start knotxdp && return 0
		XDP_STATE=failed XDP_TRIED="$XDP_TRIED$(printf '\n  later start failed:\n%s' "$(knot_xdp_err | sed 's/^/    /')")"
		return 1
	fi
	for envs in "" LIBXDP_SKIP_DISPATCHER=1; do
		XDP_ENV=()
		[ -z "$envs" ] || XDP_ENV=("$envs")
		attempt="knotd, xdp: listen: $IF_S@${SPORT[knotxdp]}${envs:+, $envs}"
		if start knotxdp; then
			if mode=$(knot_xdp_mode); then
				XDP_STATE=$mode
				NAME[knotxdp]="Knot, XDP $mode"
				return 0
			fi
			# Answering, but through its sockets, not XDP.
			stop knotxdp
		fi
		XDP_TRIED="$XDP_TRIED$(printf '\n  tried %s:\n%s' "$attempt" "$(knot_xdp_err | sed 's/^/    /')")"
	done
	XDP_STATE=failed
	return 1
}

perf_render "$W"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
perf_veth_up "$NS_C" "$NS_S" "$IF_C" "$IF_S" "$C_ADDR" "$S_ADDR"
XDP_STATE="not tried"

# our_xdp_check SERVER: one of our XDP rows is attached as asked (the
# supervisor's line and `ip -d link` agree), or the run stops: a row
# labelled XDP must not measure the sockets.
our_xdp_check() {
	local s=$1 want=${XMODE[$1]} got
	got=$(xdp_attached)
	grep -q "info: xdp: $IF_S: $want mode" "$W/$s.log" && [ "$got" = "${XLINK[$want]}" ] || {
		cat "$W/$s.log" >&2
		perf_die "${NAME[$s]}: asked for --xdp-mode $want, ip -d link shows '$got' on $IF_S"
	}
}

# Each run starts its server afresh and stops it after: an XDP program
# (ours or Knot's) must not stay on the veth while a socket server runs
# (with a program attached, every packet takes the veth's XDP path), so
# `ip -d link` is asked before every run.
CLEAN_CHECKS=0
for r in $(seq 1 "$ROUNDS"); do
	read -r -a list <<<"$SERVERS"
	for i in $(seq 0 $((${#list[@]} - 1))); do
		s=${list[$(((i + r) % ${#list[@]}))]}
		if [ "$s" = knotxdp ] && [ "$XDP_STATE" = failed ]; then continue; fi
		echo "bench: round $r/$ROUNDS: ${NAME[$s]}" >&2
		a=$(xdp_attached)
		[ "$a" = none ] || perf_die "before ${NAME[$s]}: an XDP program ($a) is still on $IF_S"
		CLEAN_CHECKS=$((CLEAN_CHECKS + 1))
		if [ "$s" = knotxdp ]; then
			start_knot_xdp || continue
		elif ! start "$s"; then
			cat "$W/$s.log" >&2
			perf_die "${NAME[$s]} did not answer over the veth"
		fi
		[ -z "${XMODE[$s]:-}" ] || our_xdp_check "$s"
		measure "$s" "$r"
		stop "$s"
		# What our worker's ring carried, from its stop line.
		[ -z "${XMODE[$s]:-}" ] ||
			RING[$s]=$(grep -m1 'info: xdp: received' "$W/$s.log" | sed 's/^.*info: xdp: //')
	done
done

a=$(xdp_attached)
[ "$a" = none ] || perf_die "after the last run: an XDP program ($a) is still on $IF_S"
CLEAN_CHECKS=$((CLEAN_CHECKS + 1))

# What the ratios say where Knot's XDP row could not be measured.
KNOT_XDP_NOTE="not measured: Knot's XDP mode did not load here (its error below)"

KNOT_V=$(knotd -V | awk '{ print $NF }')
NSD_V=$(nsd -v 2>&1 | awk 'NR == 1 { print $3 }')
echo
echo "a-healthy-dns (sockets and --xdp), Knot $KNOT_V (sockets and XDP) and NSD $NSD_V across a veth pair (make bench-xdp)"
echo "namespaces $NS_C ($C_ADDR, dnsperf on CPU $PERF_GEN_CPU) and $NS_S ($S_ADDR, the server's whole tree on CPU $PERF_SRV_CPU); kernel $(uname -r)"
echo "zone $PERF_ZONE: $PERF_NAMES names x 2 A; queries: 80% A, 10% NXDOMAIN, 10% SOA/NS at the apex; dnsperf 1 client, 100 outstanding"
echo "us: --workers 1, XDP rows add --xdp $IF_S --xdp-mode native|generic; NSD: server-count 1, RRL off;"
echo "  Knot: udp/tcp/background-workers 1, XDP: listen $IF_S (veth)"
echo "$ROUNDS rounds x $SECS s, servers in rotated order, each started for its run and stopped after; medians"
echo "q/CPU-s: answers per server CPU-second = process tree utime+stime (answers' delivery to dnsperf runs in"
echo "  the server's context) + softirq of CPU $PERF_GEN_CPU (the veth receives a query in the sender's context: the"
echo "  kernel UDP path, or the XDP program and the copy into the XSK ring, run in softirq on dnsperf's core);"
echo "  q/proc-s: the process tree alone, as bench-peers counts; sirq0, sirq1: softirq share of CPU 0 and 1"
echo "  during the run (sirq1 is already in the tree's stime when it ran in the server's context: ticks, no IRQ"
echo "  time accounting); kUDP: datagrams the server namespace's kernel delivered to UDP sockets per answer"
echo "  (100% for a socket server, 0% when every query came through the XSK ring)"
awk -v tck="$PERF_CLK_TCK" -v servers="$SERVERS" -v knote="$KNOT_XDP_NOTE" \
	-v names="$(for s in $SERVERS; do printf '%s=%s\n' "$s" "${NAME[$s]}"; done)" '
function sort(a, n,   i, j, t) {
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
}
function med(a, n) { sort(a, n); return a[int((n + 1) / 2)] }
function ratio(x, y) { return y > 0 ? sprintf("%.2fx", x / y) : "-" }
BEGIN {
	split(names, nl, "\n")
	for (i in nl) { split(nl[i], kv, "="); disp[kv[1]] = kv[2] }
	nserv = split(servers, order, " ")
}
{
	s = $1; c = ++n[s]
	qps[s, c] = $3
	qc[s, c] = $6 + $7 > 0 ? $4 / (($6 + $7) / tck) : 0
	qp[s, c] = $6 > 0 ? $4 / ($6 / tck) : 0
	srv[s, c] = $9 > 0 ? 100 * ($6 / tck) / $9 : 0
	s0[s, c] = $9 > 0 ? 100 * ($7 / tck) / $9 : 0
	s1[s, c] = $9 > 0 ? 100 * ($8 / tck) / $9 : 0
	lost[s] += $5; sent[s] += $4 + $5; kin[s] += $13; done[s] += $4
	o0 = $11 - $10; o1 = $12 - $6
	oth0 += (o0 > 0 ? o0 : 0); oth1 += (o1 > 0 ? o1 : 0); othrt += $9
}
END {
	printf "\n  %-22s %8s %15s %8s %9s %4s %5s %5s %5s %13s\n", "server", "QPS med", "(min-max)",
	       "q/CPU-s", "q/proc-s", "srv", "sirq0", "sirq1", "kUDP", "lost"
	for (o = 1; o <= nserv; o++) {
		s = order[o]
		if (!(s in n)) { printf "  %-22s %s\n", disp[s], "not measured (see below)"; continue }
		c = n[s]
		for (i = 1; i <= c; i++) {
			a[i] = qps[s, i]; b[i] = qc[s, i]; d[i] = qp[s, i]; e[i] = srv[s, i]; f[i] = s0[s, i]; g[i] = s1[s, i]
		}
		lo = 1e18; hi = 0
		for (i = 1; i <= c; i++) { if (a[i] < lo) lo = a[i]; if (a[i] > hi) hi = a[i] }
		mq[s] = med(a, c); mc[s] = med(b, c); mp[s] = med(d, c)
		printf "  %-22s %8.0f %15s %8.0f %9.0f %3.0f%% %4.0f%% %4.0f%% %4.0f%% %5d (%.2f%%)\n", disp[s], mq[s],
		       sprintf("(%.0f-%.0f)", lo, hi), mc[s], mp[s], med(e, c), med(f, c), med(g, c),
		       (done[s] > 0 ? 100 * kin[s] / done[s] : 0), lost[s], (sent[s] > 0 ? 100 * lost[s] / sent[s] : 0)
	}
	# First the ratios issue 18 asks for, then the rest.
	printf "\n  %-40s %8s %9s %6s\n", "ratio (medians of this run)", "q/CPU-s", "q/proc-s", "QPS"
	np = split("oursxdp nsd goal >= 1.5x|oursxdpg nsd|oursxdp knotxdp|oursxdpg knotxdp|" \
		   "ours base|ours nsd (before --xdp, DESIGN 14.1: 1.07-1.09x)|oursxdp ours|oursxdpg ours|" \
		   "oursxdp oursxdpg|ours knot|knotxdp nsd|knotxdp knot|xskprobe ours|oursxdp xskprobe", pairs, "|")
	for (p = 1; p <= np; p++) {
		# "x y note": the ratio x / y, the note after it.
		split(pairs[p], xy, " ")
		x = xy[1]; y = xy[2]
		note = substr(pairs[p], length(x) + length(y) + 3)
		if (!(x in disp) || !(y in disp)) continue
		label = disp[x] " / " disp[y]
		if ((x in mc) && (y in mc))
			printf "  %-40s %8s %9s %6s  %s\n", label, ratio(mc[x], mc[y]), ratio(mp[x], mp[y]),
			       ratio(mq[x], mq[y]), note
		else if (x == "knotxdp" || y == "knotxdp")
			printf "  %-40s %s\n", label, knote
	}
	for (o = 1; o <= nserv; o++) {
		s = order[o]
		if ((s in n) && s ~ /^oursxdp/ && kin[s] > done[s] / 100)
			printf "  warning: %s: the kernel delivered %d of %d answered queries to a UDP socket\n",
			       disp[s], kin[s], done[s]
	}
	if (othrt > 0) {
		o0 = 100 * (oth0 / tck) / othrt; o1 = 100 * (oth1 / tck) / othrt
		printf "  other processes used %.0f%% of CPU 0 and %.0f%% of CPU 1 during the runs%s\n", o0, o1,
		       (o0 > 5 || o1 > 5) ? ": the machine was not quiet, the numbers are noisy" : ""
	}
}' "$W/results"

echo
echo "XDP on $IF_S: ip -d link showed no program before each of the $((CLEAN_CHECKS - 1)) runs and after the last"
for s in oursxdp oursxdpg; do
	[ -n "${RING[$s]:-}" ] || continue
	echo "  ${NAME[$s]}: $(grep -m1 "info: xdp: $IF_S: " "$W/$s.log" | sed 's/^.*info: xdp: //'); last run's worker: ${RING[$s]}"
done
case $XDP_STATE in
native | emulated)
	echo "  Knot attached in $XDP_STATE mode: $(grep -m1 'initialized XDP interface' "$W/knotxdp.log" | sed 's/^.*info: //')"
	;;
*)
	echo "  Knot could not serve through XDP on $IF_S (veth, kernel $(uname -r), as root in $NS_S);"
	echo "  its row is left out, the others stand. What was tried and what Knot's log said:${XDP_TRIED}"
	;;
esac
echo "Load average (1 5 15 min): $LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
echo "Response codes (first round):"
sed 's/^/  /' "$W/rcodes"
