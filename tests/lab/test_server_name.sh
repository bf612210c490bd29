#!/usr/bin/env bash
# test_server_name: client.ini names the server by a host name.
#
#        srv 203.0.113.10 and .11 (wormhole-server listens on both, punch off)
#                    | internet
#     dnat port-restricted 198.51.100.1     gnat port-restricted 198.51.100.2
#                    |                                 |
#             drone1 10.0.1.2                    gcs1 10.0.2.2
#   server = wormhole.test:7400                 server = 203.0.113.10:7400
#
# drone1's namespace has its own /etc/hosts and /etc/resolv.conf (lab_etc):
# the DNS server it names, 192.0.2.53, is nobody, so only the hosts file
# answers, and only what the test writes there.
#  1. The name is in no hosts file: drone1 runs, says it cannot resolve the
#     name, and waits (status: connecting, server "wormhole.test:7400").
#  2. The hosts file gets "203.0.113.11 wormhole.test": drone1 resolves it on
#     its own (no restart) and comes online through .11; the flow carries
#     datagrams both ways through the relay; `natcheck` resolves the name
#     itself.
#  3. The server "moves": the hosts file now says .10 and dnat drops
#     everything to and from .11. drone1 loses the server, looks the name up
#     again, reaches .10, and a 100/s stream gcs1 -> drone1 is back within
#     15 s.
set -euo pipefail
source "$(dirname "$0")/../../tools/lab/lib.sh"
source "$LAB_ROOT/tools/lab/topo.sh"
lab_init server_name
[ "$(id -u)" = 0 ] || fail "needs root for network namespaces"
[ -x "$LAB_BF" ] || fail "$LAB_BF missing (make build-tests builds it)"

lab_keys server drone1 gcs1
lab_routes 'punch = false;' drone1 gcs1 >"$LAB_DIR/routes.conf" <<CONF
flows: ( { name = "mav"; proto = "udp"; port = 14550; members = ["drone1", "gcs1"]; } );
CONF
lab_two_sites
lab_etc drone1 resolv.conf <<<$'nameserver 192.0.2.53\noptions timeout:1 attempts:1'
lab_etc drone1 hosts <<<'127.0.0.1 localhost'
lab_wh_server srv
lab_client_ini drone1 "wormhole.test:7400"
lab_client_ini gcs1 203.0.113.10:7400
lab_wh_client drone1
lab_wh_client gcs1
DLOG=$LAB_DIR/client-drone1.log

# --- 1. the name resolves to nothing -------------------------------------------
wait_until 10 grep -q "server: cannot resolve wormhole.test:7400" "$DLOG" ||
	fail "drone1 did not say it cannot resolve the name: $(grep 'server:' "$DLOG" | head -3)"
wait_until 5 grep -q "server: waiting for wormhole.test:7400 (unresolved) to resolve" "$DLOG" ||
	fail "drone1 did not say it waits for the name"
st=$(lab_status drone1) || fail "status failed while the name does not resolve"
python3 -c 'import json, sys; s = json.loads(sys.argv[1])["server"]
assert s["session"] == "connecting" and s["address"] == "wormhole.test:7400", s' "$st" 2>/dev/null ||
	fail "status while unresolved: $st"
kill -0 "${LAB_PIDS[client-drone1]}" || fail "drone1 exited"
echo "  $(lab_at) drone1 runs and waits for wormhole.test to resolve"

# --- 2. the name appears -------------------------------------------------------
lab_etc drone1 hosts <<<$'127.0.0.1 localhost\n203.0.113.11 wormhole.test'
echo "  $(lab_at) the hosts file says wormhole.test is 203.0.113.11"
wait_until 40 grep -q "server: wormhole.test:7400 resolves to 203.0.113.11:7400" "$DLOG" ||
	fail "drone1 never resolved the name"
wait_until 10 grep -q "server: session established" "$DLOG" || fail "drone1 never reached the server"
wait_until 20 lab_flow_up gcs1 drone1 14550 || fail "no datagram gcs1 -> drone1 through the relay"
wait_until 10 lab_flow_up drone1 gcs1 14550 || fail "no datagram drone1 -> gcs1 through the relay"
grep -q "relay drone1<->gcs1: drone1 bound " "$LAB_DIR/server.log" || fail "drone1 never bound its relay port"
echo "  $(lab_at) drone1 online through 203.0.113.11; the flow carries datagrams both ways"
t=$(lab_exec drone1 timeout 20 "$LAB_BIN/wormhole-client" -c "$LAB_DIR/drone1.ini" natcheck --json |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["type"])') || fail "natcheck failed"
[ "$t" = port-restricted-cone ] || fail "natcheck says $t (want port-restricted-cone)"
echo "  $(lab_at) natcheck through the name: $t"

# --- 3. the server moves -------------------------------------------------------
lab_stream_start down gcs1 drone1 14550 100 200
sleep 2
lab_etc drone1 hosts <<<$'127.0.0.1 localhost\n203.0.113.10 wormhole.test'
lab_block dnat wan 203.0.113.11
echo "  $(lab_at) wormhole.test is now 203.0.113.10; dnat drops everything to and from .11"
wait_until 20 grep -q "server: wormhole.test:7400 now resolves to 203.0.113.10:7400 (was 203.0.113.11:7400)" "$DLOG" ||
	fail "drone1 did not look the name up again: $(grep 'server:' "$DLOG" | tail -5)"
sleep 3
lab_stream_gap down 15000 "stream gcs1 -> drone1"
lab_flow_up drone1 gcs1 14550 || fail "no datagram drone1 -> gcs1 after the move to .10"
lab_pass
