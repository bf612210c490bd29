#!/usr/bin/env bash
# test_server_fds: a fleet's relay ports against the open-files limit.
#
#   +---------------------------------------------------------------+
#   | this host (loopback only)                                     |
#   |   wormhole-server  udp 127.0.0.1:17420  api 127.0.0.1:17421    |
#   |   routes.conf: gcs -> d1..d20 ("down"), d21..d40 -> gcs ("up"), |
#   |                d1, d2 N:N ("chat"); no client runs            |
#   +---------------------------------------------------------------+
#
# 1. Pairs are the clients that exchange something: gcs with each drone
#    and d1 with d2, 41 port pairs. The sinks of "down" (and the sources of
#    "up") are no peers of each other (all members pairwise: 41 + 380).
# 2. Started with a soft limit of 64 open files and a hard one of 4096 (a
#    service's usual 1024 is the same case, a fleet larger): the server
#    raises its soft limit and opens all 41 pairs (64 would hold 16).
# 3. With a hard limit of 128: the relay stops at its budget (the limit
#    less 64 kept for the rest of the server), says "out of file
#    descriptors" in at most three lines (never "range exhausted"), and the
#    server stays reachable: its API answers and a reload is applied.
#    /metrics and the health tell the 9 pairs without ports apart
#    (wormhole_relay_pairs_waiting, relay_pairs_waiting) and count the
#    failed allocations.
# 4. With a relay_a range of 38 ports (normal limit): 38 pairs get ports,
#    3 wait for one ("range exhausted"), and /metrics and the health say so.
# lab-run: loopback
set -euo pipefail
source "$(dirname "$0")/../../tools/lab/lib.sh"
lab_init server_fds
command -v prlimit >/dev/null || fail "prlimit missing (util-linux)"
command -v curl >/dev/null || fail "curl missing (make deps)"

KG=$LAB_BIN/wormhole-keygen
TOKEN=server-fds-test-token-0123
"$KG" genkey -o "$LAB_DIR/server.key"
CONF=$LAB_DIR/routes.conf
{
	echo "server: { listen = [\"127.0.0.1:17420\"]; key_file = \"server.key\";"
	echo "  relay_a = \"17500-17599\"; relay_b = \"17600-17699\";"
	echo "  api = { listen = \"127.0.0.1:17421\"; tokens = [\"$TOKEN\"]; }; };"
	echo "clients: {"
	echo "  gcs = { key = \"$("$KG" genkey | "$KG" pubkey)\"; };"
	for i in $(seq 1 40); do
		echo "  d$i = { key = \"$("$KG" genkey | "$KG" pubkey)\"; };"
	done
	echo "};"
	list() { seq -f '"d%g"' "$1" "$2" | paste -sd, -; }
	echo "flows: ("
	echo "  { name = \"down\"; proto = \"udp\"; port = 5600; from = [\"gcs\"]; to = [$(list 1 20)]; },"
	echo "  { name = \"up\"; proto = \"udp\"; port = 5601; from = [$(list 21 40)]; to = [\"gcs\"]; },"
	echo "  { name = \"chat\"; proto = \"udp\"; port = 5602; members = [\"d1\", \"d2\"]; }"
	echo ");"
} >"$CONF"
LOG=$LAB_DIR/server.log

pairs() { grep -c "relay .*<->.*: ports " "$LOG" || true; }
running() { grep -q "server: running" "$LOG"; }
metric() { lab_metric 17421 "$TOKEN" "$@"; } # NAME
health() { curl -s --max-time 2 -H "Authorization: Bearer $TOKEN" http://127.0.0.1:17421/api/v1/health; }
# relay_counts PAIRS WITH_PORTS WAITING: what /metrics and the health say.
relay_counts() {
	local got
	got="$(metric wormhole_relay_pairs) $(metric wormhole_relay_pairs_with_ports)"
	got+=" $(metric wormhole_relay_pairs_waiting)"
	got+=" $(health | python3 -c 'import json,sys; print(json.load(sys.stdin).get("relay_pairs_waiting"))')"
	[ "$got" = "$1 $2 $3 $3" ] ||
		fail "relay pairs, with ports, waiting (metrics), waiting (health): $got (want $1 $2 $3 $3)"
	local failures
	failures=$(metric wormhole_relay_port_alloc_failures_total)
	if [ "$3" = 0 ]; then
		[ "$failures" = 0 ] || fail "wormhole_relay_port_alloc_failures_total $failures (want 0)"
	else
		[ "$failures" != missing ] && [ "$failures" -ge "$3" ] ||
			fail "wormhole_relay_port_alloc_failures_total $failures (want $3 or more)"
	fi
}

# --- 1 and 2: soft limit 64, hard 4096 ---------------------------------------
lab_start server prlimit --nofile=64:4096 -- "$LAB_BIN/wormhole-server" -c "$CONF" --log-level debug
wait_until 5 running || fail "server did not start: $(tail -3 "$LOG")"
grep -q "server: open files limit 4096" "$LOG" ||
	fail "the server did not raise its soft limit: $(grep 'open files' "$LOG" || echo 'no line')"
[ "$(pairs)" = 41 ] || fail "$(pairs) relay pairs opened (want 41: gcs with each drone, d1 with d2)"
for pair in "d1<->gcs" "d40<->gcs" "d1<->d2"; do
	grep -q "relay $pair: ports " "$LOG" || fail "no relay pair $pair"
done
grep -q "relay d3<->d4\|relay d21<->d22" "$LOG" && fail "two sinks (or two sources) of one flow got a relay pair"
grep -q "out of file descriptors\|range exhausted" "$LOG" && fail "allocation failed: $(grep -m1 'relay .*: no free\|out of file' "$LOG")"
relay_counts 41 41 0
echo "  limit 64:4096: raised to 4096, 41 pairs, none between two drones"
lab_stop server || true

# --- 3: hard limit 128 --------------------------------------------------------
lab_start server prlimit --nofile=128:128 -- "$LAB_BIN/wormhole-server" -c "$CONF" --log-level debug
wait_until 5 running || fail "server did not start under a 128 limit: $(tail -3 "$LOG")"
n=$(pairs)
[ "$n" = 32 ] || fail "$n pairs opened under a 128 limit (want 32: 128 less 64 kept, two sockets a pair)"
fd_lines=$(grep -c "out of file descriptors" "$LOG" || true)
[ "$fd_lines" -ge 1 ] && [ "$fd_lines" -le 3 ] || fail "$fd_lines 'out of file descriptors' lines (want 1 to 3)"
grep -q "range exhausted" "$LOG" && fail "an fd shortage was reported as an exhausted range"
grep -m1 "out of file descriptors" "$LOG" | sed 's/^[^ ]* /  /' | cut -c1-200
wait_until 5 health || fail "the API does not answer with the relay at its budget"
relay_counts 41 32 9
sed -i 's/port = 5602;/port = 5603;/' "$CONF"
wait_until 5 grep -q "reload: applied" "$LOG" || fail "a reload was not applied with the relay at its budget: $(grep 'reload' "$LOG" | tail -2)"
echo "  limit 128:128: $n pairs, $fd_lines fd line(s), API answers, reload applied"
lab_stop server || true

# --- 4: relay_a of 38 ports -----------------------------------------------------
sed -i 's/relay_a = "17500-17599"/relay_a = "17500-17537"/' "$CONF"
lab_start server prlimit --nofile=4096:4096 -- "$LAB_BIN/wormhole-server" -c "$CONF" --log-level debug
wait_until 5 running || fail "server did not start: $(tail -3 "$LOG")"
[ "$(pairs)" = 38 ] || fail "$(pairs) relay pairs opened with 38 ports in relay_a (want 38)"
grep -q "relay_a range 17500-17537 (range exhausted" "$LOG" || fail "no 'range exhausted' line"
wait_until 5 health || fail "the API does not answer with relay_a exhausted"
relay_counts 41 38 3
echo "  relay_a of 38 ports: 38 pairs with ports, 3 waiting, in /metrics and the health"
lab_pass
