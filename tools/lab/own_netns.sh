#!/usr/bin/env bash
# own_netns TEST [ARGS...]: run a loopback lab test (`# lab-run: loopback`)
# in a network namespace of its own, with nothing but its loopback up, and
# remove the namespace after. The test's ports (the server's, its API's, the
# clients' local APIs, relay ports) then cannot meet another program's on
# the host's loopback: a connection's ephemeral port there once took a
# test's API port ("Address already in use"). tools/run_tests.sh uses it for
# loopback tests when it runs as root; a test run by hand uses the host's
# loopback as before. Exits with the test's status.
set -u
[ $# -ge 1 ] || {
	echo "usage: own_netns.sh TEST [ARGS...]" >&2
	exit 2
}
ns="wh-$$-lo"
child=""
cleanup() {
	[ -z "$child" ] || kill "$child" 2>/dev/null
	ip netns del "$ns" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
if ! ip netns add "$ns" || ! ip -n "$ns" link set lo up; then
	echo "own_netns: cannot make network namespace $ns" >&2
	exit 1
fi
ip netns exec "$ns" bash "$@" &
child=$!
wait "$child"
rc=$?
child=""
exit "$rc"
