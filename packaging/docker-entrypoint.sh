#!/bin/sh
# Container entrypoint: the image's contract is "flags as the command"
# (docker run IMAGE --hosted-zone ... --port 53053). Compose files written
# for the original image configure it with DNS_* variables instead; each
# one that is set and not empty becomes the matching flag, placed before
# the command's own flags so that a flag given on the command wins (the
# last occurrence of a flag is the one used). Unset or empty: the flag is
# omitted and the server's default applies. Note the port: the original
# image defaulted DNS_PORT to 53; this one runs as a non-root uid and so
# keeps the server's default, 53053, unless DNS_PORT or --port says
# otherwise (port 53 then needs CAP_NET_BIND_SERVICE or
# --sysctl net.ipv4.ip_unprivileged_port_start=53).
#
# AHDNS_* variables need no mapping: the server reads them itself, below
# any flag. A first argument that is not an option is a subcommand
# (status, ds, dump): it gets the arguments as they are.
set -eu

AHD_BIN=/usr/sbin/a-healthy-dns

if [ $# -eq 0 ] || [ "${1#-}" != "$1" ]; then
	if [ -n "${DNS_PRIV_KEY_ALG:-}" ]; then
		set -- "--priv-key-alg=$DNS_PRIV_KEY_ALG" "$@"
	fi
	if [ -n "${DNS_PRIV_KEY_PATH:-}" ]; then
		set -- "--priv-key-path=$DNS_PRIV_KEY_PATH" "$@"
	fi
	if [ -n "${DNS_TEST_TIMEOUT:-}" ]; then
		set -- "--test-timeout=$DNS_TEST_TIMEOUT" "$@"
	fi
	if [ -n "${DNS_TEST_MIN_INTERVAL:-}" ]; then
		set -- "--test-min-interval=$DNS_TEST_MIN_INTERVAL" "$@"
	fi
	if [ -n "${DNS_LOG_LEVEL:-}" ]; then
		set -- "--log-level=$DNS_LOG_LEVEL" "$@"
	fi
	if [ -n "${DNS_PORT:-}" ]; then
		set -- "--port=$DNS_PORT" "$@"
	fi
	if [ -n "${DNS_ALIAS_ZONES:-}" ]; then
		set -- "--alias-zones=$DNS_ALIAS_ZONES" "$@"
	fi
	if [ -n "${DNS_NAME_SERVERS:-}" ]; then
		set -- "--ns=$DNS_NAME_SERVERS" "$@"
	fi
	if [ -n "${DNS_ZONE_RESOLUTIONS:-}" ]; then
		set -- "--zone-resolutions=$DNS_ZONE_RESOLUTIONS" "$@"
	fi
	if [ -n "${DNS_HOSTED_ZONE:-}" ]; then
		set -- "--hosted-zone=$DNS_HOSTED_ZONE" "$@"
	fi
fi

# exec: the server is PID 1 and gets docker stop's SIGTERM itself.
exec "$AHD_BIN" "$@"
