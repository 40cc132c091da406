#!/bin/bash
# Does the unit's SystemCallFilter= allow every system call the server
# makes? Runs the server as root on loopback under strace (config check,
# start, queries over UDP and TCP, a failing health check, SIGHUP, SIGTERM),
# then compares the calls seen with the unit's filter, expanded by
# systemd-analyze. A call outside the filter would kill the service with
# SIGSYS, so one missing here is a bug in the unit or a new call to review.
#
# usage: packaging/systemd/check-syscalls.sh [BINARY]   (root; needs strace)
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${1:-build/a-healthy-dns}
unit=${AHD_UNIT:-packaging/systemd/a-healthy-dns.service}
port=${AHD_CHECK_PORT:-53097}
mport=${AHD_CHECK_METRICS_PORT:-53098}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

[ "$(id -u)" = 0 ] || { echo "$0: run as root (the supervisor's setuid path)" >&2; exit 2; }
command -v strace >/dev/null || { echo "$0: strace is not installed" >&2; exit 2; }

cat >"$tmp/config.json" <<EOF
{"hosted-zone": "check.test", "ns": ["ns1.check.test", "ns2.check.test"],
 "zone-resolutions": {"static": ["192.0.2.10"],
                      "www": {"ips": ["127.0.0.1"], "health_port": 9}},
 "listen": ["127.0.0.1"], "port": $port, "workers": 2,
 "test-min-interval": 1, "test-timeout": 1, "metrics-listen": "127.0.0.1:$mport",
 "shm-name": "/a-healthy-dns.check-syscalls"}
EOF

strace -f -qq -o "$tmp/trace.check" "$bin" --config "$tmp/config.json" --check-config \
	>"$tmp/check.log" 2>&1
strace -f -qq -o "$tmp/trace.run" "$bin" --config "$tmp/config.json" >"$tmp/run.log" 2>&1 &
tracer=$!
for _ in $(seq 50); do
	grep -q 'ready' "$tmp/run.log" && break
	sleep 0.2
done
if command -v dig >/dev/null; then
	dig +time=1 +tries=1 @127.0.0.1 -p "$port" static.check.test A >/dev/null || true
	dig +tcp +time=1 +tries=1 @127.0.0.1 -p "$port" www.check.test A >/dev/null || true
fi
if command -v curl >/dev/null; then
	curl -s -m 2 "http://127.0.0.1:$mport/metrics" >/dev/null || true
fi
sleep 2 # a few check rounds
sup=$(pgrep -P "$tracer" | head -n 1)
kill -HUP "$sup"
sleep 1
kill -TERM "$sup"
wait "$tracer" || true

# Syscall names seen, one per line.
cat "$tmp/trace.check" "$tmp/trace.run" |
	sed -nE 's/^[0-9]+ +([a-z_0-9]+)\(.*/\1/p' | sort -u >"$tmp/used"

packaging/systemd/unit-syscalls.sh "$unit" >"$tmp/allowed"

missing=$(comm -23 "$tmp/used" "$tmp/allowed")
echo "$(wc -l <"$tmp/used") distinct system calls seen, $(wc -l <"$tmp/allowed") allowed by $unit"
if [ -n "$missing" ]; then
	echo "NOT allowed by the unit (the service would die with SIGSYS):"
	echo "$missing"
	exit 1
fi
echo "all allowed"
