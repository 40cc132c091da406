#!/bin/bash
# `make run`: a demo server on 127.0.0.1:53053 with one static name, one
# health-checked name with a live and a dead backend, and a local health
# target. Ctrl-C stops everything. The dig lines it prints come from
# bind9-dnsutils, which `make run` installs (scripts/deps.sh run); the
# system test test_demo runs them. AHD_BIN and AHD_TOOLS as in the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
B=build
BIN=${AHD_BIN:-$B/a-healthy-dns}
TOOLS=${AHD_TOOLS:-$B/tools}
PORT=${AHD_DEMO_PORT:-53053}
TARGET_PORT=${AHD_DEMO_TARGET_PORT:-18080}
METRICS_PORT=${AHD_DEMO_METRICS_PORT:-$((PORT + 1))}
# The control socket's default directory (/run/a-healthy-dns) is the
# package's; the demo keeps its own.
CTL_DIR=$(mktemp -d /tmp/ahd-demo.XXXXXX)
CTL=$CTL_DIR/control

"$TOOLS/ahd-health-target" --bind 127.0.0.1 "$TARGET_PORT" &
target=$!
trap 'kill $target 2>/dev/null || true; rm -rf "$CTL_DIR"' EXIT

cat <<EOT

a-healthy-dns demo: zone demo.test on 127.0.0.1:$PORT
  static.demo.test  A 192.0.2.10 (always published)
  www.demo.test     A 127.0.0.1 (health target on :$TARGET_PORT, up)
                    A 127.0.0.2 (nothing listens there, so withheld)
Try, in another terminal:
  dig @127.0.0.1 -p $PORT www.demo.test A
  dig @127.0.0.1 -p $PORT static.demo.test A
  dig @127.0.0.1 -p $PORT demo.test SOA
  dig @127.0.0.1 -p $PORT nothere.demo.test A      # NXDOMAIN
  kill $target     # stop the health target: www loses 127.0.0.1 within ~6 s
  $BIN drain www 127.0.0.1 --control-socket $CTL    # withdraw it now
  $BIN undrain www 127.0.0.1 --control-socket $CTL  # and back
  $BIN status --control-socket $CTL
  curl -s http://127.0.0.1:$METRICS_PORT/metrics | grep ahdns_backend_up
Ctrl-C stops the server.

EOT
"$BIN" \
	--hosted-zone demo.test \
	--ns '["ns1.demo.test", "ns2.demo.test"]' \
	--zone-resolutions "{\"static\": [\"192.0.2.10\"], \"www\": {\"ips\": [\"127.0.0.1\", \"127.0.0.2\"], \"health_port\": $TARGET_PORT}}" \
	--listen 127.0.0.1 --port "$PORT" \
	--control-socket "$CTL" --metrics-listen "127.0.0.1:$METRICS_PORT" \
	--test-min-interval 5 --test-timeout 1 --workers 2
