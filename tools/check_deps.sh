#!/bin/sh
# check_deps: the one-way dependency rule of STYLE §1, checked on #include lines.
# server, client -> api, nat, proto, config -> common; nat -> proto; api -> config.
set -u
bad=0
allowed() {
	case "$1" in
	common) echo "common" ;;
	proto) echo "proto common" ;;
	config) echo "config common" ;;
	nat) echo "nat proto common" ;;
	api) echo "api config common" ;;
	server | client) echo "$1 api nat proto config common" ;;
	esac
}
for mod in common proto config nat api server client; do
	ok=$(allowed "$mod")
	for f in $(find "$mod" -name '*.[ch]' 2>/dev/null); do
		for inc in $(grep -oE '^#include "[a-z]+/' "$f" | sed 's/#include "//; s|/||'); do
			case " $ok " in
			*" $inc "*) ;;
			*)
				echo "check-deps: $f includes $inc/ (not allowed from $mod/)"
				bad=1
				;;
			esac
		done
	done
done
[ $bad -eq 0 ] && echo "check-deps: ok"
exit $bad
