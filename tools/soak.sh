#!/usr/bin/env bash
# soak: flows kept up across several session rekeys (every 2 minutes), in
# the namespace lab, with real daemons. Too long for `make test` (5 min by
# default); `make soak` runs it.
#
# A direct pair (drone1 behind a full cone, gcs1 behind a port-restricted
# cone: punched) and a relay pair (drone2, gcs2 behind symmetric NATs), a
# 100/s stream each way on each for SOAK_S seconds (default 300: two rekeys
# of every peer and server session). Passes when each stream lost at most 2
# datagrams (its first or last may cross the start or stop of the apps), no
# stream paused for 500 ms or more, no session reconnected, each pair kept
# its path kind, and each peer session made at least 1 + SOAK_S/120 keypairs
# (status key_generation: one per handshake, a rekey every 120 s). Prints
# the counts. Needs root.
#
# Beside the streams, each pair has a TCP flow (gcs to drone, as an SSH
# session) with 4 connections held open and idle for the whole soak, across
# the rekeys: at the end each must echo 256 KiB intact (tcpecho echo
# --idle-ms: one closed or reset meanwhile fails).
set -euo pipefail
SOAK_S=${SOAK_S:-300}
[[ $SOAK_S =~ ^[0-9]+$ ]] && ((SOAK_S >= 10 && SOAK_S <= 3500)) || {
	echo "soak: SOAK_S must be a number of seconds from 10 to 3500" >&2
	exit 2
}
if [ "$(id -u)" != 0 ]; then
	echo "soak: needs root for the namespace lab" >&2
	exit 1
fi
source "$(dirname "$0")/lab/lib.sh"
source "$LAB_ROOT/tools/lab/topo.sh"
lab_init soak
[ -x "$LAB_BF" ] || fail "$LAB_BF missing (make build-tests builds it)"
TE=$LAB_ROOT/build/release/tests/tcpecho
[ -x "$TE" ] || fail "$TE missing (make build-tests builds it)"

lab_keys server drone1 gcs1 drone2 gcs2
lab_routes 'keepalive_s = 25;' drone1 gcs1 drone2 gcs2 >"$LAB_DIR/routes.conf" <<CONF
flows: (
  { name = "up1"; proto = "udp"; port = 14550; from = ["drone1"]; to = ["gcs1"]; },
  { name = "dn1"; proto = "udp"; port = 14560; from = ["gcs1"]; to = ["drone1"]; },
  { name = "up2"; proto = "udp"; port = 14570; from = ["drone2"]; to = ["gcs2"]; },
  { name = "dn2"; proto = "udp"; port = 14580; from = ["gcs2"]; to = ["drone2"]; },
  { name = "tcp1"; proto = "tcp"; port = 2222; from = ["gcs1"]; to = ["drone1"]; },
  { name = "tcp2"; proto = "tcp"; port = 2223; from = ["gcs2"]; to = ["drone2"]; }
);
CONF
lab_server srv 203.0.113.10 203.0.113.11
lab_nat na full-cone 198.51.100.1 10.0.1.0/24
lab_nat nb port-restricted-cone 198.51.100.2 10.0.2.0/24
lab_nat nc symmetric 198.51.100.3 10.0.3.0/24
lab_nat nd symmetric 198.51.100.4 10.0.4.0/24
lab_host drone1 na 10.0.1.2
lab_host gcs1 nb 10.0.2.2
lab_host drone2 nc 10.0.3.2
lab_host gcs2 nd 10.0.4.2
lab_wh_server srv
lab_wh_clients drone1 gcs1 drone2 gcs2
streams="up1:drone1:gcs1:14550 dn1:gcs1:drone1:14560 up2:drone2:gcs2:14570 dn2:gcs2:drone2:14580"
for s in $streams; do
	IFS=: read -r name from to port <<<"$s"
	wait_until 20 lab_flow_up "$from" "$to" "$port" || fail "flow $name does not carry a datagram"
done
# path_of CLIENT: its one peer's path kind.
path_of() { lab_status "$1" | python3 -c 'import json, sys; print(json.load(sys.stdin)["peers"][0]["path"])'; }
is_direct() { [ "$(path_of drone1)" = direct ]; }
wait_until 20 is_direct || fail "drone1 and gcs1 never went direct"
# The apps run a minute longer than the soak (lab_stream_stop ends them).
export LAB_STREAM_MS=$(((SOAK_S + 60) * 1000))
for s in $streams; do
	IFS=: read -r name from to port <<<"$s"
	lab_stream_start "$name" "$from" "$to" "$port" 100 200
done
echo "  $(lab_at) 4 streams of 100/s for $SOAK_S s"
tcps="tcp1:gcs1:drone1:2222 tcp2:gcs2:drone2:2223"
for t in $tcps; do
	IFS=: read -r name from to port <<<"$t"
	lab_start_in "$to" "$name-echo" "$TE" server --bind "127.0.0.1:$port" --mode echo
	ready() { lab_exec "$from" "$TE" echo --to "127.1.0.1:$port" --bytes 1000 --timeout-ms 3000; }
	wait_until 20 ready >/dev/null || fail "TCP flow $name does not echo"
	lab_start_in "$from" "$name-idle" "$TE" echo --to "127.1.0.1:$port" --conns 4 \
		--bytes 262144 --idle-ms $((SOAK_S * 1000)) --timeout-ms 60000
done
echo "  $(lab_at) 2 TCP flows with 4 idle connections each"
sleep "$SOAK_S"
for s in $streams; do
	lab_stream_stop "${s%%:*}"
done
bad=0
for s in $streams; do
	IFS=: read -r name from to port <<<"$s"
	sent=$(lab_json "$LAB_DIR/$name-tx.log" 'j["sent"]')
	got=$(lab_json "$LAB_DIR/$name-rx.log" 'j["received"]')
	gap=$(lab_json "$LAB_DIR/$name-rx.log" 'j["max_gap_ms"]')
	echo "  $name $from -> $to: received $got of $sent, longest gap $gap ms"
	[ $((sent - got)) -le 2 ] || { echo "  $name lost $((sent - got))"; bad=1; }
	python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) < 500 else 1)' "$gap" ||
		{ echo "  $name paused $gap ms"; bad=1; }
done
for t in $tcps; do
	name=${t%%:*}
	# each ends by itself once idle and echoed (at most 60 s after the idle)
	wait_until 70 grep -q '^{' "$LAB_DIR/$name-idle.log" ||
		fail "$name: the idle connections' echo never ended"
	line=$(lab_json "$LAB_DIR/$name-idle.log" '"%d %d %d" % (j["ok"], j["closed_idle"], j["ms"])')
	read -r ok closed ms <<<"$line"
	echo "  $name: $ok of 4 idle connections echoed 256 KiB after $SOAK_S s ($ms ms)," \
		"$closed closed while idle"
	[ "$ok" = 4 ] || bad=1
done
want_gen=$((SOAK_S / 120))
for n in drone1 gcs1 drone2 gcs2; do
	want_path=direct
	[[ $n == *2 ]] && want_path=relay
	line=$(lab_status "$n" | python3 -c 'import json, sys
j = json.load(sys.stdin); p = j["peers"][0]
print(j["server"]["session"], j["server"]["reconnects"], p["session"], p["path"], p["key_generation"])')
	read -r srv reconnects session path gen <<<"$line"
	echo "  $n: server $srv (reconnects $reconnects), peer $session on $path, key_generation $gen"
	[ "$srv" = up ] && [ "$reconnects" = 0 ] && [ "$session" = up ] && [ "$path" = "$want_path" ] ||
		bad=1
	[ "$gen" -ge $((1 + want_gen)) ] || { echo "  $n: fewer keypairs than $((1 + want_gen))"; bad=1; }
done
[ "$bad" = 0 ] || fail "see above"
lab_teardown
lab_pass
