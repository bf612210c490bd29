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
if [ -z "$missing" ]; then
	echo "deps: all packages present"
	exit 0
fi
echo "deps: installing:$missing"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
