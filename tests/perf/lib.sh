# Shared by bench_peers.sh and profile.sh (sourced, not run): the zone,
# the query mix, the peers' configurations and what /proc says about a
# server's processes.
#
# One record list renders everything: the zone file NSD and Knot load,
# the --zone-resolutions JSON we load, and dnsperf's query file.

PERF_ZONE=bench.test
PERF_NAMES=${PERF_NAMES:-100}
PERF_GEN_CPU=0  # dnsperf
PERF_SRV_CPU=1  # every server, its whole process tree
PERF_OURS_ADDR=127.0.0.1
PERF_NSD_ADDR=127.0.0.2
PERF_KNOT_ADDR=127.0.0.3
PERF_BASE_ADDR=127.0.0.4 # AHD_BIN_BASE, the before of a before/after run
PERF_CLK_TCK=$(getconf CLK_TCK)

perf_die() { echo "bench: $*" >&2; exit 1; }

# Debian packages the benchmark needs. Their services must not be left
# running or enabled: policy-rc.d refuses every start during the install
# (a Debian policy hook; we add one only if the machine has none), and
# the units are disabled afterwards.
perf_install() { # package...
	local missing="" p created=0
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	[ "$(id -u)" -eq 0 ] || perf_die "missing packages; run as root: apt-get install -y$missing"
	echo "bench: installing$missing" >&2
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 0755 /usr/sbin/policy-rc.d
		created=1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q $missing >/dev/null 2>&1 ||
		{ apt-get update -q >/dev/null && apt-get install -y -q $missing >/dev/null; } ||
		{ [ $created -eq 0 ] || rm -f /usr/sbin/policy-rc.d; perf_die "apt-get install$missing failed"; }
	[ $created -eq 0 ] || rm -f /usr/sbin/policy-rc.d
	for p in nsd knot; do
		[ -e "/lib/systemd/system/$p.service" ] || continue
		if [ -d /run/systemd/system ]; then
			systemctl disable --now "$p.service" >/dev/null 2>&1 || true
		else
			systemctl disable "$p.service" >/dev/null 2>&1 || true
		fi
	done
}

# perf_render DIR: records, bench.test.zone, resolutions.json, queries.
perf_render() {
	local d=$1
	# name, two addresses (documentation ranges: data only, never dialled)
	awk -v n="$PERF_NAMES" 'BEGIN {
		for (i = 1; i <= n; i++)
			printf "host%03d 192.0.2.%d 198.51.100.%d\n", i, i % 250 + 1, i % 250 + 1
	}' >"$d/records"
	{
		printf '$ORIGIN %s.\n$TTL 60\n' "$PERF_ZONE"
		printf '@ 1800 IN SOA ns1.%s. hostmaster.%s. 1 600 60 300 60\n' "$PERF_ZONE" "$PERF_ZONE"
		printf '@ 1800 IN NS ns1.%s.\n@ 1800 IN NS ns2.%s.\n' "$PERF_ZONE" "$PERF_ZONE"
		awk '{ printf "%s 60 IN A %s\n%s 60 IN A %s\n", $1, $2, $1, $3 }' "$d/records"
	} >"$d/$PERF_ZONE.zone"
	awk 'BEGIN { printf "{" }
		{ printf "%s\"%s\":[\"%s\",\"%s\"]", (NR > 1 ? "," : ""), $1, $2, $3 }
		END { printf "}" }' "$d/records" >"$d/resolutions.json"
	# 1000 queries: exactly 80% A at existing names, 10% NXDOMAIN, 5% SOA
	# and 5% NS at the apex, shuffled by a fixed Park-Miller generator so
	# every run and every server sees the same sequence.
	awk -v n="$PERF_NAMES" -v z="$PERF_ZONE" 'BEGIN {
		s = 20240601
		for (i = 0; i < 1000; i++) {
			s = (s * 16807) % 2147483647
			k = i % 20
			if (k < 16)      q[i] = sprintf("host%03d.%s A", int(s / 7) % n + 1, z)
			else if (k < 18) q[i] = sprintf("nx%04d.%s A", i, z)
			else if (k < 19) q[i] = z " SOA"
			else             q[i] = z " NS"
		}
		for (i = 999; i > 0; i--) {
			s = (s * 16807) % 2147483647
			j = s % (i + 1)
			t = q[i]; q[i] = q[j]; q[j] = t
		}
		for (i = 0; i < 1000; i++)
			print q[i]
	}' >"$d/queries"
}

perf_ns_json() { printf '["ns1.%s","ns2.%s"]' "$PERF_ZONE" "$PERF_ZONE"; }

# perf_nsd_conf DIR PORT ZONEFILE NAME: NSD with one server process,
# minimal responses (no NS in authority, like us and Knot) and RRL off.
perf_nsd_conf() {
	local d=$1 port=$2 zf=$3 name=$4
	mkdir -p "$d/$name"
	cat >"$d/$name/nsd.conf" <<EOT
server:
	server-count: 1
	ip-address: $PERF_NSD_ADDR
	port: $port
	do-ip6: no
	username: ""
	chroot: ""
	zonesdir: "$d"
	database: ""
	zonelistfile: "$d/$name/zone.list"
	xfrdfile: "$d/$name/xfrd.state"
	xfrdir: "$d/$name"
	pidfile: "$d/$name/nsd.pid"
	logfile: "$d/$name/nsd.log"
	verbosity: 0
	hide-version: yes
	minimal-responses: yes
	rrl-ratelimit: 0
	rrl-whitelist-ratelimit: 0
remote-control:
	control-enable: no
zone:
	name: "$PERF_ZONE"
	zonefile: "$zf"
EOT
}

# perf_knot_conf DIR PORT ZONEFILE NAME: Knot with one UDP, one TCP and
# one background worker, no journal, no zone file write-back.
perf_knot_conf() {
	local d=$1 port=$2 zf=$3 name=$4
	mkdir -p "$d/$name/db"
	cat >"$d/$name/knot.conf" <<EOT
server:
    rundir: "$d/$name"
    listen: $PERF_KNOT_ADDR@$port
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
log:
  - target: stderr
    any: warning
database:
    storage: "$d/$name/db"
template:
  - id: default
    storage: "$d/$name"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
    semantic-checks: off
zone:
  - domain: $PERF_ZONE
    file: "$zf"
EOT
}

# perf_p256_key DIR: one ECDSAP256SHA256 key for all three servers, so
# the DNSSEC run compares answers signed by the very same key (same
# DNSKEY, same key tag, same signature size). DIR/ours.pem is what we
# load (--priv-key-path); DIR/Kshared.{private,key} is the same key in
# the BIND format ldns-signzone reads, flags 257 like ours (one combined
# key signs everything). Prints the key tag.
perf_p256_key() {
	local d=$1 hdr
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$d/ours.pem" 2>/dev/null ||
		perf_die "openssl genpkey failed"
	# SEC1 ECPrivateKey DER for a named P-256 curve, 121 bytes: the
	# 32-byte scalar at offset 7, the uncompressed point 04|X|Y in the
	# last 65 bytes (RFC 5915, RFC 6605: the DNSKEY holds X|Y).
	openssl ec -in "$d/ours.pem" -outform DER -out "$d/ours.der" 2>/dev/null ||
		perf_die "openssl ec failed"
	hdr=$(od -An -tx1 -N7 "$d/ours.der" | tr -d ' \n')
	[ "$(stat -c %s "$d/ours.der")" -eq 121 ] && [ "$hdr" = 30770201010420 ] &&
		[ "$(od -An -tx1 -j55 -N2 "$d/ours.der" | tr -d ' \n')" = 0004 ] ||
		perf_die "unexpected DER layout of the P-256 key"
	printf 'Private-key-format: v1.2\nAlgorithm: 13 (ECDSAP256SHA256)\nPrivateKey: %s\n' \
		"$(head -c 39 "$d/ours.der" | tail -c 32 | base64 -w0)" >"$d/Kshared.private"
	printf '%s. 3600 IN DNSKEY 257 3 13 %s\n' "$PERF_ZONE" \
		"$(tail -c 64 "$d/ours.der" | base64 -w0)" >"$d/Kshared.key"
	rm -f "$d/ours.der"
	ldns-key2ds -n -2 "$d/Kshared.key" | awk '{ print $5 }'
}

# Every process of the tree rooted at $1 (itself included).
perf_tree() {
	ps -e -o pid=,ppid= | awk -v r="$1" '{ pp[$1] = $2 }
		END { for (p in pp) for (q = p; q != "" && q != 0; q = pp[q]) if (q == r) { print p; break } }'
}

# perf_pin_tree PID CPU: every thread of every process of PID's tree on
# CPU. taskset before exec is not enough: Knot pins its UDP worker
# threads itself (thread i on CPU i), which put its query thread on the
# generator's core, beside dnsperf, where loopback delivery needs no
# cross-CPU wake-up, and made its CPU per query look a fifth lower.
perf_pin_tree() {
	local p t
	for p in $(perf_tree "$1"); do
		taskset -a -p -c "$2" "$p" >/dev/null 2>&1 || true
		for t in /proc/"$p"/task/*/status; do
			[ -e "$t" ] || continue
			grep -q "^Cpus_allowed_list:[[:space:]]*$2\$" "$t" ||
				perf_die "could not pin $t to CPU $2"
		done
	done
}

# utime + stime of the whole tree, in clock ticks.
perf_tree_ticks() {
	local p
	for p in $(perf_tree "$1"); do
		cat "/proc/$p/stat" 2>/dev/null || true
	done | awk '{ sub(/^.*\) /, ""); t += $12 + $13 } END { print t + 0 }'
}

# Same split: "user system" ticks.
perf_tree_ticks_split() {
	local p
	for p in $(perf_tree "$1"); do
		cat "/proc/$p/stat" 2>/dev/null || true
	done | awk '{ sub(/^.*\) /, ""); u += $12; s += $13 } END { print u + 0, s + 0 }'
}

# Proportional set size of the whole tree, kB.
perf_tree_pss() {
	local p
	for p in $(perf_tree "$1"); do
		cat "/proc/$p/smaps_rollup" 2>/dev/null || true
	done | awk '/^Pss:/ { s += $2 } END { print s + 0 }'
}

perf_tree_count() { perf_tree "$1" | wc -l; }

# perf_stop PID: SIGTERM the server we started, SIGKILL after 10 s.
perf_stop() {
	local pid=$1 i st
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 1 1000); do
		# Our own child stays a zombie until waited for.
		st=$(ps -o stat= -p "$pid" 2>/dev/null) || break
		case $st in Z*) break ;; esac
		sleep 0.01
	done
	[ "$i" -lt 1000 ] || kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# perf_veth_up NS_CLIENT NS_SERVER IF_CLIENT IF_SERVER ADDR_CLIENT
# ADDR_SERVER: two network namespaces joined by a veth pair, each end
# with its /30 address, IPv6 off so that nothing (not even link-local
# chatter) goes anywhere but between the two addresses.
perf_veth_up() {
	local nc=$1 ns=$2 ic=$3 is=$4 ac=$5 as=$6 n i a
	ip netns add "$nc" && ip netns add "$ns" || perf_die "ip netns add failed"
	ip link add "$ic" netns "$nc" type veth peer name "$is" netns "$ns" ||
		perf_die "ip link add veth failed"
	for n in "$nc" "$ns"; do
		if [ "$n" = "$nc" ]; then i=$ic a=$ac; else i=$is a=$as; fi
		ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 ||
			true
		ip -n "$n" link set lo up
		ip -n "$n" addr add "$a/30" dev "$i"
		ip -n "$n" link set "$i" up
	done
}

# perf_veth_down NS...: whatever still runs in these namespaces was
# started by the caller (a server's stray child would keep one alive):
# killed, then the namespaces deleted, the veth with them.
perf_veth_down() {
	local n p
	for n in "$@"; do
		for p in $(ip netns pids "$n" 2>/dev/null); do
			kill -KILL "$p" 2>/dev/null || true
		done
		ip netns del "$n" 2>/dev/null || true
	done
}
