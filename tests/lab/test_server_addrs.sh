#!/usr/bin/env bash
# test_server_addrs: a client.ini listing several server addresses.
#
#        srv 203.0.113.10 and .11 (wormhole-server listens on both, punch off)
#                    | internet (203.0.113.12: nobody)
#     dnat port-restricted 198.51.100.1     gnat port-restricted 198.51.100.2
#                    |                                 |
#             drone1 10.0.1.2                    gcs1 10.0.2.2
#   server = 203.0.113.12:7400,                 server = 203.0.113.10:7400
#            203.0.113.11:7400, 203.0.113.10:7400
#
# Flow mav N:N {drone1, gcs1}, relay only. Both NATs drop what does not come
# from the address a packet went to, so the relay must answer each client
# from the server address that client uses.
#  1. drone1 gets no answer from .12, moves on to .11 and comes online; the
#     flow carries datagrams both ways through the relay ports on .11 (the
#     drone) and .10 (the GCS). `natcheck` classifies the NAT through .11.
#  2. A 100/s stream gcs1 -> drone1; dnat then drops everything to and from
#     .11: drone1 loses the server, moves on to .10, and the stream is back
#     within 10 s (about 4-5 s here).
set -euo pipefail
source "$(dirname "$0")/../../tools/lab/lib.sh"
source "$LAB_ROOT/tools/lab/topo.sh"
lab_init server_addrs
[ "$(id -u)" = 0 ] || fail "needs root for network namespaces"
[ -x "$LAB_BF" ] || fail "$LAB_BF missing (make build-tests builds it)"

lab_keys server drone1 gcs1
lab_routes 'punch = false;' drone1 gcs1 >"$LAB_DIR/routes.conf" <<CONF
flows: ( { name = "mav"; proto = "udp"; port = 14550; members = ["drone1", "gcs1"]; } );
CONF
lab_two_sites
lab_wh_server srv
lab_client_ini drone1 "203.0.113.12:7400, 203.0.113.11:7400, 203.0.113.10:7400"
lab_client_ini gcs1 203.0.113.10:7400
lab_wh_client drone1
lab_wh_client gcs1
DLOG=$LAB_DIR/client-drone1.log

# --- 1. the first address is dead, the second works -----------------------------
wait_until 10 grep -q "server: session established" "$DLOG" || fail "drone1 never reached the server"
grep -q "server: no answer from 203.0.113.12:7400, trying 203.0.113.11:7400" "$DLOG" ||
	fail "drone1 did not say it moved from .12 to .11: $(grep 'server:' "$DLOG" | head -3)"
echo "  $(lab_at) drone1 online through 203.0.113.11 after trying .12"
wait_until 20 lab_flow_up gcs1 drone1 14550 || fail "no datagram gcs1 -> drone1 through the relay"
wait_until 10 lab_flow_up drone1 gcs1 14550 || fail "no datagram drone1 -> gcs1 through the relay"
grep -q "relay drone1<->gcs1: drone1 bound " "$LAB_DIR/server.log" || fail "drone1 never bound its relay port"
echo "  $(lab_at) the flow carries datagrams both ways over the relay"
# natcheck asks the next address while the answer is "udp-blocked".
t=$(lab_exec drone1 timeout 20 "$LAB_BIN/wormhole-client" -c "$LAB_DIR/drone1.ini" natcheck --json |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["type"])') || fail "natcheck failed"
[ "$t" = port-restricted-cone ] || fail "natcheck says $t (want port-restricted-cone, from .11)"
echo "  $(lab_at) natcheck: $t (.12 gave no answer, .11 did)"

# --- 2. the address in use goes dark ------------------------------------------
lab_stream_start down gcs1 drone1 14550 100 200
sleep 2
lab_block dnat wan 203.0.113.11
echo "  $(lab_at) dnat drops everything to and from 203.0.113.11"
wait_until 15 grep -q "trying 203.0.113.10:7400" "$DLOG" || fail "drone1 did not move on to .10"
sleep 3
lab_stream_gap down 10000 "stream gcs1 -> drone1"
lab_flow_up drone1 gcs1 14550 || fail "no datagram drone1 -> gcs1 after the move to .10"
lab_pass
