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
# turnutils_natdiscovery (coturn's RFC 5780 client, for test_natcheck) is
# unpacked from the coturn package into build/coturn, not installed: installing
# coturn would enable a TURN server on this machine. Its libraries are in $1.
NATDISC=build/coturn/usr/bin/turnutils_natdiscovery
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
if [ ! -x "$NATDISC" ]; then
	echo "deps: unpacking turnutils_natdiscovery from coturn into build/coturn"
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	if ! (cd "$tmp" && apt-get download -qq coturn >/dev/null 2>&1); then
		$SUDO apt-get update -qq
		(cd "$tmp" && apt-get download -qq coturn)
	fi
	mkdir -p build/coturn
	dpkg-deb -x "$tmp"/coturn_*.deb build/coturn
	rm -rf "$tmp"
	[ -x "$NATDISC" ] || { echo "deps: $NATDISC missing from the coturn package" >&2; exit 1; }
fi
