#!/bin/sh
# Install the Debian packages that building and testing need.
# As root: apt-get installs what is missing. Otherwise: print the exact
# command and fail, so `make check` never half-runs.
# --list prints the packages of that set, one a line, and installs nothing.
#   usage: scripts/deps.sh [--list] [build|test|run|deb]
set -eu
# clang, libbpf-dev and libxdp-dev: the XDP program and its loader (--xdp).
build="gcc make pkg-config libldns-dev libjson-c-dev libbsd-dev libssl-dev libseccomp-dev clang libbpf-dev libxdp-dev"
# nsd, knot and bind9 are the stock secondaries of the replication
# tests (issue 14), which start them on loopback ports with their own
# configuration; knot-dnssecutils has kzonecheck. prometheus: promtool
# and a real server scrape the metrics endpoint (issue 16).
# ca-certificates: the system store the https checks verify against.
# unbound: the caching validator of the key rollover test (issue 17).
test="$build libcriterion-dev ldnsutils bind9-dnsutils bind9-utils openssl ca-certificates knot-dnsutils clang libclang-rt-14-dev valgrind mandoc procps iproute2 systemd nsd knot knot-dnssecutils bind9 prometheus unbound"
list=false
if [ "${1:-}" = --list ]; then
	list=true
	shift
fi
case "${1:-test}" in
build) want=$build ;;
# `make run` prints dig lines to try.
run) want="$build bind9-dnsutils" ;;
deb) want="$build build-essential debhelper dpkg-dev lintian" ;;
test) want=$test ;;
*) echo "usage: $0 [--list] [build|test|run|deb]" >&2; exit 2 ;;
esac
if $list; then
	printf '%s\n' $want
	exit 0
fi
missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "missing packages; run as root:  apt-get install -y$missing" >&2
	exit 1
fi
echo "installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# nsd, knot and bind9 would start their system services on install (and
# take port 53 on a developer's machine): invoke-rc.d asks policy-rc.d,
# and exit status 101 means "action forbidden". Only a policy we create
# is removed again; one already there (containers ship one) is left.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	trap 'rm -f "$policy"' EXIT
	trap 'exit 1' INT TERM HUP
fi
# The package lists may be absent on a fresh machine; update once then.
apt-get install -y -q $missing >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q $missing >/dev/null; }
