#!/usr/bin/env bash
# churn: what a long flight does to the daemons' resources. Too long for
# `make test` (about 2.5 min with the default 12 cycles); `make churn` runs it.
#
#   drone1 (port-restricted) -- punched direct path -- gcs1 (port-restricted)
#   drone2 (symmetric) -- punched by the spray -- gcs1
#
# Flows: "mav" (udp, drone1 -> gcs1, a 100/s stream all along), "ssh" and
# "ssh2" (tcp, gcs1 -> drone1 and drone2, echo servers), "dead" (tcp, gcs1 ->
# drone1, where nothing listens) and "chat" (udp N:N, all three).
# Each cycle (CHURN_CYCLES, default 12):
#   - the direct path is cut for 2 s (failover to the relay) and healed, and
#     the cycle waits for the direct path to come back (10 s cooldown);
#   - a flow is added through the REST API, carries a datagram, gets a member,
#     and is deleted again; routes.conf is rewritten in place (a reload);
#   - 20 TCP connections echo 64 KiB each to each drone, and one connects
#     through "dead" (closed within 2 s);
#   - every third cycle drone2 is killed (SIGKILL) and started again, and
#     every fourth the server is stopped and started again once the pair is
#     direct (the direct path carries on; the next cut waits until every
#     client is back in session and so has a relay to fall back to).
# Resources of each daemon (open files, resident memory) and the server's
# relay port pairs are read after cycle 2 (warm: every kind of state has
# existed once) and after the last one. Passes when no daemon holds more
# open files than at the baseline (+2 for a punch in flight), resident
# memory grew by at most CHURN_RSS_KB (default 2048 KiB) per daemon, the
# server holds as many relay pairs as at the baseline, and the 100/s stream
# lost nothing but what the 2 s cuts cost before failover (at most 1.2 s of
# it per cut). Prints the figures. Needs root.
#
# CHURN_VALGRIND=1 runs every daemon under valgrind (memcheck, leaks of the
# definite and indirect kinds are errors) and stops them with SIGTERM at the
# end: passes when each exits cleanly (drone2's killed processes say
# nothing). Resident memory is not compared then (valgrind's own).
set -euo pipefail
CYCLES=${CHURN_CYCLES:-12}
RSS_KB=${CHURN_RSS_KB:-2048}
[[ $CYCLES =~ ^[0-9]+$ ]] && ((CYCLES >= 3 && CYCLES <= 200)) || {
	echo "churn: CHURN_CYCLES must be a number of cycles from 3 to 200" >&2
	exit 2
}
VALGRIND=${CHURN_VALGRIND:-0}
[[ $VALGRIND =~ ^[01]$ ]] || {
	echo "churn: CHURN_VALGRIND must be 0 or 1" >&2
	exit 2
}
[[ $RSS_KB =~ ^[0-9]+$ ]] || {
	echo "churn: CHURN_RSS_KB must be a number of KiB" >&2
	exit 2
}
if [ "$(id -u)" != 0 ]; then
	echo "churn: needs root for the namespace lab" >&2
	exit 1
fi
source "$(dirname "$0")/lab/lib.sh"
source "$LAB_ROOT/tools/lab/topo.sh"
lab_init churn
TE=$LAB_ROOT/build/release/tests/tcpecho
[ -x "$TE" ] || fail "$TE missing (make build-tests builds it)"
[ -x "$LAB_BF" ] || fail "$LAB_BF missing (make build-tests builds it)"
command -v curl >/dev/null || fail "curl missing (make deps)"
if [ "$VALGRIND" = 1 ]; then
	command -v valgrind >/dev/null || fail "valgrind missing (make deps)"
	# The lab starts $LAB_BIN/wormhole-*: make those valgrind the real ones.
	mkdir -p "$LAB_DIR/vgbin"
	for b in wormhole-server wormhole-client wormhole-keygen; do
		printf '#!/bin/sh\nexec valgrind --quiet --error-exitcode=99 --leak-check=full %s %s "$@"\n' \
			"--show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect" \
			"$LAB_BIN/$b" >"$LAB_DIR/vgbin/$b"
		chmod +x "$LAB_DIR/vgbin/$b"
	done
	LAB_BIN=$LAB_DIR/vgbin
	# A server restarted under valgrind on a busy machine once took over 5 s.
	# shellcheck disable=SC2034 # read by lab_wh_server
	LAB_START_S=30
fi
# shellcheck disable=SC2034 # read by lab_wh_server and lab_wh_client
LAB_LOG_LEVEL=info

TOKEN=churn-token-0123456789
lab_keys server drone1 gcs1 drone2
routes() { # the routes.conf of cycle $1 (a comment that changes: a reload)
	lab_routes "keepalive_s = 5;
          api = { listen = \"127.0.0.1:7480\"; tokens = [\"$TOKEN\"]; };" drone1 gcs1 drone2 <<CONF
# churn cycle $1
flows: (
  { name = "mav"; proto = "udp"; port = 14550; from = ["drone1"]; to = ["gcs1"]; },
  { name = "ssh"; proto = "tcp"; port = 2222; from = ["gcs1"]; to = ["drone1"]; },
  { name = "ssh2"; proto = "tcp"; port = 2223; from = ["gcs1"]; to = ["drone2"]; },
  { name = "dead"; proto = "tcp"; port = 2224; from = ["gcs1"]; to = ["drone1"]; },
  { name = "chat"; proto = "udp"; port = 14600; members = ["drone1", "gcs1", "drone2"]; }
);
CONF
}
routes 0 >"$LAB_DIR/routes.conf"
lab_two_sites
lab_nat nc symmetric 198.51.100.3 10.0.3.0/24
lab_host drone2 nc 10.0.3.2
lab_start_in drone1 echo1 "$TE" server --bind 127.0.0.1:2222 --mode echo
lab_start_in drone2 echo2 "$TE" server --bind 127.0.0.1:2223 --mode echo
lab_wh_server srv
lab_wh_clients drone1 gcs1 drone2

api() { # METHOD PATH [BODY]: the HTTP status of an API call on the server
	lab_exec srv curl -s -o /dev/null -w '%{http_code}' -X "$1" -H "Authorization: Bearer $TOKEN" \
		-H 'Content-Type: application/json' ${3:+-d "$3"} "http://127.0.0.1:7480/api/v1$2"
}
downs() { grep -c "peer drone1: direct path .* lost" "$LAB_DIR/client-gcs1.log" || true; }
# sessions: server sessions established, all clients and processes together.
sessions() { cat "$LAB_DIR"/client-*.log | grep -c "server: session established" || true; }
ups() { grep -c "peer drone1: direct path up" "$LAB_DIR/client-gcs1.log" || true; }
is_direct() { [ "$(ups)" -gt "$(downs)" ]; }
relay_pairs() {
	lab_exec srv curl -s -H "Authorization: Bearer $TOKEN" http://127.0.0.1:7480/metrics |
		awk '$1 == "wormhole_relay_pairs" { print $2 }'
}
# usage PROC: "<open files> <resident KiB>" of a daemon started by lab_start.
usage() {
	local pid=${LAB_PIDS[$1]}
	echo "$(find "/proc/$pid/fd" -mindepth 1 | wc -l) $(awk '$1 == "VmRSS:" { print $2 }' "/proc/$pid/status")"
}
DAEMONS="server client-drone1 client-gcs1 client-drone2"
snapshot() { # TAG: every daemon's usage and the relay pairs, into $LAB_DIR/TAG
	local d
	for d in $DAEMONS; do echo "$d $(usage "$d")"; done >"$LAB_DIR/$1"
	echo "relay_pairs $(relay_pairs)" >>"$LAB_DIR/$1"
}

wait_until 20 is_direct || fail "no direct path drone1 -> gcs1"
wait_until 20 lab_flow_up drone1 gcs1 14550 || fail "flow mav does not carry a datagram"
ssh_up() { lab_exec gcs1 "$TE" echo --to 127.1.0.1:2222 --bytes 1000 --conns 1 --timeout-ms 3000 >/dev/null; }
wait_until 20 ssh_up || fail "flow ssh does not carry a connection"
# The stream's apps run for the whole churn (a cycle takes 11-15 s).
LAB_STREAM_MS=$(((CYCLES * 16 + 60) * 1000)) lab_stream_start mav drone1 gcs1 14550 100 64

cycle() {
	local i=$1 n_down
	# Failover and back: 2 s without the direct path.
	n_down=$(downs)
	lab_block dnat wan 198.51.100.2
	sleep 2
	lab_unblock dnat wan
	[ "$(downs)" -gt "$n_down" ] || fail "cycle $i: the cut did not take the direct path down"
	# A flow through the API, used and deleted; a reload by saving routes.conf.
	local body
	body='{"name": "tmp", "proto": "udp", "port": 15000, "from": ["drone2"], "to": ["gcs1"]}'
	[ "$(api POST /flows "$body")" = 201 ] || fail "cycle $i: POST /flows failed"
	wait_until 10 lab_flow_up drone2 gcs1 15000 || fail "cycle $i: flow tmp does not carry a datagram"
	[ "$(api POST /flows/tmp/members '{"id": "drone1", "as": "from"}')" = 201 ] ||
		fail "cycle $i: POST /flows/tmp/members failed"
	[ "$(api DELETE /flows/tmp)" = 204 ] || fail "cycle $i: DELETE /flows/tmp failed"
	routes "$i" >"$LAB_DIR/routes.conf.new"
	cat "$LAB_DIR/routes.conf.new" >"$LAB_DIR/routes.conf"
	# TCP: echoes to both drones, a dead target.
	local port
	for port in 2222 2223; do
		lab_exec gcs1 "$TE" echo --to "127.1.0.1:$port" --bytes 65536 --conns 20 --timeout-ms 30000 \
			>"$LAB_DIR/echo-$i-$port.json" ||
			fail "cycle $i: TCP echoes on $port failed: $(cat "$LAB_DIR/echo-$i-$port.json")"
	done
	lab_exec gcs1 "$TE" connect --to 127.1.0.1:2224 --within-ms 2000 >/dev/null ||
		fail "cycle $i: a connection to a dead target was not closed within 2 s"
	if ((i % 3 == 0)); then
		kill -KILL "${LAB_PIDS[client-drone2]}"
		wait "${LAB_PIDS[client-drone2]}" 2>/dev/null || true
		lab_wh_client drone2 "$i"
		LAB_PIDS[client-drone2]=${LAB_PIDS[client-drone2-$i]}
		unset "LAB_PIDS[client-drone2-$i]"
		wait_until 20 lab_flow_up drone2 gcs1 14600 || fail "cycle $i: drone2 back, flow chat does not carry"
	fi
	wait_until 25 is_direct || fail "cycle $i: the direct path did not come back"
	if ((i % 4 == 0)); then
		# The server restarts while the pair is direct (which keeps
		# carrying "mav"): every client registers again, binds its relay
		# ports again and gets its route set again.
		local before
		before=$(sessions)
		lab_stop server || fail "cycle $i: the server did not stop cleanly"
		lab_wh_server srv
		# Every client back in session (they notice the restart by the
		# relay's silence, 2.5 s), and their relay ports bound: before
		# that, a cut of the direct path would find no relay to fall
		# back to (a double fault, not what this counts).
		back() { [ "$(sessions)" -ge $((before + 3)) ]; }
		wait_until 20 back || fail "cycle $i: the clients did not come back to the restarted server"
		sleep 1
		wait_until 20 lab_flow_up drone2 gcs1 14600 ||
			fail "cycle $i: after the server's restart, flow chat does not carry"
	fi
}

for i in $(seq 1 "$CYCLES"); do
	cycle "$i"
	[ "$i" -eq 2 ] && snapshot base
	echo "  $(lab_at) cycle $i done (resident KiB: $(for d in $DAEMONS; do usage "$d" | cut -d' ' -f2; done | tr '\n' ' '))"
done
sleep 3 # let the last cycle's state time out as the cycles before did
snapshot end
lab_stream_stop mav
sent=$(lab_json "$LAB_DIR/mav-tx.log" 'j["sent"]')
got=$(lab_json "$LAB_DIR/mav-rx.log" 'j["received"]')
dup=$(lab_json "$LAB_DIR/mav-rx.log" 'j["dup"]')
gap=$(lab_json "$LAB_DIR/mav-rx.log" 'j["max_gap_ms"]')
lost=$((sent - (got - dup)))

echo "  after cycle 2 -> after cycle $CYCLES (open files, resident KiB):"
bad=""
while read -r name f0 r0 && read -r _ f1 r1 <&3; do
	if [ "$name" = relay_pairs ]; then
		echo "    server relay pairs: $f0 -> $f1"
		[ "$f1" -le "$f0" ] || bad+=" relay pairs $f0 -> $f1;"
		continue
	fi
	echo "    $name: $f0 -> $f1 files, $r0 -> $r1 KiB"
	[ "$f1" -le $((f0 + 2)) ] || bad+=" $name open files $f0 -> $f1;"
	[ "$VALGRIND" = 1 ] || [ "$r1" -le $((r0 + RSS_KB)) ] || bad+=" $name resident $r0 -> $r1 KiB;"
done <"$LAB_DIR/base" 3<"$LAB_DIR/end"
echo "    mav stream (100/s): sent $sent, lost $lost over $CYCLES cuts of 2 s, longest gap $gap ms"
[ "$lost" -le $((CYCLES * 120)) ] || bad+=" mav lost $lost;"
if [ "$VALGRIND" = 1 ]; then
	for d in client-drone1 client-gcs1 client-drone2 server; do
		status=0
		lab_stop "$d" || status=$?
		echo "    $d under valgrind: exit status $status"
		[ "$status" = 0 ] || bad+=" $d exit status $status under valgrind (99: a leak or a memory error, in $d.log);"
	done
fi
[ -z "$bad" ] || fail "resources grew or traffic was lost:$bad"
lab_pass
