#!/bin/bash
# The system calls a unit's SystemCallFilter= lines allow, one per line,
# expanded with systemd-analyze syscall-filter as systemd applies them:
# the first allow list sets the set, a "~" list removes from it, a later
# allow list adds to it.
#
# usage: packaging/systemd/unit-syscalls.sh [UNIT]
set -euo pipefail
unit=${1:-$(dirname "$0")/a-healthy-dns.service}
command -v systemd-analyze >/dev/null ||
	{ echo "$0: systemd-analyze is not installed" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

expand() {
	local g s
	for g in "$@"; do
		case $g in
		@*)
			for s in $(systemd-analyze syscall-filter "$g" 2>/dev/null |
				sed -nE 's/^ +([@a-z_0-9-]+)$/\1/p'); do
				expand "$s"
			done ;;
		*) echo "$g" ;;
		esac
	done
}

: >"$tmp/allowed"
while IFS= read -r spec; do
	case $spec in
	"~"*)
		# shellcheck disable=SC2086 # word splitting is the point
		expand ${spec#\~} | sort -u >"$tmp/deny"
		sort -u "$tmp/allowed" | comm -23 - "$tmp/deny" >"$tmp/next"
		mv "$tmp/next" "$tmp/allowed" ;;
	*)
		# shellcheck disable=SC2086
		expand $spec >>"$tmp/allowed" ;;
	esac
done < <(sed -n 's/^SystemCallFilter=//p' "$unit")
sort -u "$tmp/allowed"
