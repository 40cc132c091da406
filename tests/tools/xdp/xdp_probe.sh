#!/bin/bash
# `make xdp-probe` (DESIGN §14.3, issue 18 groundwork): can this kernel,
# with Debian's libxdp, libbpf and clang, do what the AF_XDP path needs?
# Across a veth pair between two namespaces of this run's own (the
# helpers of tests/perf/lib.sh), for native and for generic mode:
#   1. ahd-xdp-probe loads the server's program (src/bpf/ahd_xdp.bpf.c), attaches
#      it through a BPF link and answers on queue 0's XSK socket;
#   2. dig from the other namespace gets its answers (REFUSED, QR set:
#      built in place in the UMEM frame, checksums by the probe, which
#      the client's kernel verifies);
#   3. meanwhile our socket server on another port still answers (other
#      ports pass to the kernel);
#   4. kill -9 of the probe leaves the interface without a program, and
#      the server on the probe's port answers again through the kernel.
# Prints one line per check; exits 1 if any failed. Not part of `make
# check`: it needs root and changes nothing outside its namespaces.
set -euo pipefail
cd "$(dirname "$0")/../../.."
. tests/perf/lib.sh

B=${B:-build}
BIN=${AHD_BIN:-$B/a-healthy-dns}
FA=$B/perf/first_answer
XB=$B/perf/xdp
PORT=${PERF_PORT:-25353}
QPORT=$((PORT + 50)) # the probe's; our server on QPORT+1 beside it
[ "$(id -u)" -eq 0 ] || perf_die "needs root: network namespaces, BPF, XDP"
[ -x "$BIN" ] && [ -x "$FA" ] || perf_die "build first: make $BIN $FA"
perf_install clang libbpf-dev libxdp-dev bind9-dnsutils iproute2
${MAKE:-make} -s "$XB/ahd-xdp-probe" "$B/bpf/ahd_xdp.bpf.o" >&2

TAG=$(($$ % 1000000))
NS_C=ahdp-$TAG-client NS_S=ahdp-$TAG-server IF_C=ahp${TAG}c IF_S=ahp${TAG}s
C_ADDR=10.254.1.1 S_ADDR=10.254.1.2
W=$(mktemp -d /tmp/ahd-xdp-probe.XXXXXX)
declare -A PID
cleanup() {
	local k
	for k in "${!PID[@]}"; do
		kill -KILL "${PID[$k]}" 2>/dev/null || true
		wait "${PID[$k]}" 2>/dev/null || true
	done
	perf_veth_down "$NS_S" "$NS_C"
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
perf_veth_up "$NS_C" "$NS_S" "$IF_C" "$IF_S" "$C_ADDR" "$S_ADDR"
perf_render "$W"

FAILED=0
check() { # WHAT CONDITION...
	local what=$1
	shift
	if "$@"; then echo "ok   $what"; else echo "FAIL $what"; FAILED=1; fi
}
attached() { ip -n "$NS_S" link show "$IF_S" | grep -q 'prog/xdp'; }
# attached_as native|generic: ip link says "xdp" or "xdpgeneric".
attached_as() {
	local want=xdp
	[ "$1" = native ] || want=xdpgeneric
	attached && ip -n "$NS_S" link show "$IF_S" | grep -q " $want qdisc"
}
detached() { ! attached; }
dig_refused() {
	ip netns exec "$NS_C" dig +tries=1 +time=2 @"$S_ADDR" -p "$QPORT" "host001.$PERF_ZONE" A 2>&1 |
		grep -q 'status: REFUSED'
}
ours_answers() { # PORT
	ip netns exec "$NS_C" "$FA" wait "$S_ADDR" "$1" "host001.$PERF_ZONE" 5000
}
# start_ours PORT: our socket server in the server namespace.
start_ours() {
	ip netns exec "$NS_S" "$BIN" --hosted-zone "$PERF_ZONE" --ns "$(perf_ns_json)" \
		--zone-resolutions "$(cat "$W/resolutions.json")" --listen "$S_ADDR" --port "$1" \
		--workers 1 --log-level warning >"$W/ours-$1.log" 2>&1 &
	PID[ours-$1]=$!
}
# probe MODE COUNT: the probe in the background until it prints "ready".
probe() {
	ip netns exec "$NS_S" "$XB/ahd-xdp-probe" "$B/bpf/ahd_xdp.bpf.o" "$IF_S" "$QPORT" "$1" "$2" 20 \
		>"$W/probe-$1.out" 2>&1 &
	PID[probe]=$!
	local i
	for i in $(seq 1 100); do
		grep -q '^ready' "$W/probe-$1.out" && return 0
		kill -0 "${PID[probe]}" 2>/dev/null || break
		sleep 0.05
	done
	sed 's/^/     /' "$W/probe-$1.out"
	return 1
}

echo "kernel $(uname -r), libxdp $(dpkg-query -W -f='${Version}' libxdp-dev), libbpf $(dpkg-query -W -f='${Version}' libbpf-dev), $(clang --version | head -n 1)"
start_ours $((QPORT + 1))
check "our socket server answers on $S_ADDR port $((QPORT + 1)) before any XDP" ours_answers $((QPORT + 1))
for mode in native generic; do
	if ! probe "$mode" 3; then
		check "$mode: program loaded, attached through a link, XSK socket bound on queue 0" false
		continue
	fi
	check "$mode: program loaded, attached through a link in $mode mode, XSK socket bound on queue 0" \
		attached_as "$mode"
	for i in 1 2 3; do
		check "$mode: dig answer $i through the XSK socket (REFUSED, built in place)" dig_refused
	done
	check "$mode: another port still reaches the kernel (our server answers)" ours_answers $((QPORT + 1))
	wait "${PID[probe]}" && st=0 || st=$?
	unset "PID[probe]"
	check "$mode: the probe counted 3 answers and exited 0 ($(tail -n 1 "$W/probe-$mode.out"))" [ "$st" -eq 0 ]
	check "$mode: detached after a clean exit" detached
done

# kill -9: the link dies with its last fd, so does the attachment.
if probe native 1000000; then
	check "kill -9: attached before" attached
	kill -KILL "${PID[probe]}"
	wait "${PID[probe]}" 2>/dev/null || true
	unset "PID[probe]"
	for i in $(seq 1 100); do detached && break; sleep 0.05; done
	check "kill -9: the interface has no program left" detached
	start_ours "$QPORT"
	check "kill -9: the probe's port answers again through the kernel (our server)" ours_answers "$QPORT"
fi
exit $FAILED
