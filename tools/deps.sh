#!/bin/sh
# deps: install the Debian packages listed in $1 that are missing; a no-op when
# every one is present. Used by `make deps` (and so by the README's commands).
set -eu
list=${1:-tools/debian-packages.txt}
missing=""
for p in $(grep -v '^[[:space:]]*#' "$list" | tr -s ' \n' '\n' | grep -v '^$'); do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done
# Two test tools are unpacked from their packages into build/, not installed:
# turnutils_natdiscovery (coturn's RFC 5780 client, for test_natcheck) into
# build/coturn, since installing coturn would enable a TURN server on this
# machine; tayga (a NAT64, for test_nat64) into build/tayga, since installing it
# would start a NAT64 with NAT44 rules in the host's own network. Their
# libraries are in $1.
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
if [ -z "$missing" ]; then
	echo "deps: all packages present"
else
	echo "deps: installing:$missing"
	$SUDO apt-get update -qq
	# shellcheck disable=SC2086
	$SUDO apt-get install -y -qq --no-install-recommends $missing
fi
# unpack PACKAGE BINARY: PACKAGE's files into build/PACKAGE unless BINARY
# (a path under it) is there.
tmp=""
trap 'rm -rf "$tmp"' EXIT
unpack() {
	[ ! -x "$2" ] || return 0
	echo "deps: unpacking $(basename "$2") from $1 into build/$1"
	tmp=$(mktemp -d)
	if ! (cd "$tmp" && apt-get download -qq "$1" >/dev/null 2>&1); then
		$SUDO apt-get update -qq
		(cd "$tmp" && apt-get download -qq "$1")
	fi
	mkdir -p "build/$1"
	dpkg-deb -x "$tmp/$1"_*.deb "build/$1"
	rm -rf "$tmp"
	[ -x "$2" ] || { echo "deps: $2 missing from the $1 package" >&2; exit 1; }
}
unpack coturn build/coturn/usr/bin/turnutils_natdiscovery
unpack tayga build/tayga/usr/sbin/tayga
