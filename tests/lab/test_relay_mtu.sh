#!/usr/bin/env bash
# test_relay_mtu: the relay on a server whose own link has a small MTU (a
# cloud NIC below 1500: GCP's default VPC MTU is 1460; here 1280).
#
#        srv 203.0.113.10/.11, its link (eth0 and the internet's port) MTU 1280
#                    | internet (MTU 1500 elsewhere)
#     dnat port-restricted 198.51.100.1     gnat port-restricted 198.51.100.2
#                    |                                 |
#             drone1 10.0.1.2                    gcs1 10.0.2.2
#
# punch = false: everything goes through the relay. A full-size packet
# (1480 bytes) does not fit the server's link: its kernel fragmented every one
# it relayed (29,866 fragments for the two copies below, and the first copy
# at 259 Mbit/s, with the previous build). The server measures its links' MTU
# and sends it after each REGISTER (FRAME_LINK_MTU); the clients keep their
# stream packets on the relay path within it.
#  1. The server logs its link MTU; each client logs the relay's.
#  2. A 10 MB copy through a TCP flow each way arrives intact.
#  3. The server sent none of it as IP fragments (it forwarded packets that
#     fit its link).
set -euo pipefail
source "$(dirname "$0")/../../tools/lab/lib.sh"
source "$LAB_ROOT/tools/lab/topo.sh"
lab_init relay_mtu
[ "$(id -u)" = 0 ] || fail "needs root for network namespaces"
TE=$LAB_ROOT/build/release/tests/tcpecho
[ -x "$TE" ] || fail "$TE missing (make build-tests builds it)"
MTU=1280

lab_keys server drone1 gcs1
lab_routes 'punch = false;' drone1 gcs1 >"$LAB_DIR/routes.conf" <<CONF
flows: (
  { name = "copy"; proto = "tcp"; port = 2222; from = ["gcs1"]; to = ["drone1"]; },
  { name = "back"; proto = "tcp"; port = 2224; from = ["drone1"]; to = ["gcs1"]; }
);
CONF
lab_two_sites
ip -n "$(lab_ns inet)" link set p-srv mtu "$MTU"
ip -n "$(lab_ns srv)" link set eth0 mtu "$MTU"
frags() { lab_frags srv; }
for n in drone1 gcs1; do lab_client_ini "$n" 203.0.113.10:7400; done
lab_start_in drone1 sink "$TE" server --bind 127.0.0.1:2222 --mode sink
lab_start_in gcs1 backsink "$TE" server --bind 127.0.0.1:2224 --mode sink
lab_wh_server srv
for n in drone1 gcs1; do lab_wh_client "$n"; done

# --- 1. the MTUs ----------------------------------------------------------------------
grep -q "listener: link mtu $MTU" "$LAB_DIR/server.log" ||
	fail "1. the server did not find its link MTU: $(grep 'link mtu' "$LAB_DIR/server.log" || echo 'no line')"
for n in drone1 gcs1; do
	wait_until 10 grep -q "relay: the server's links take packets of $MTU bytes: stream segments over the relay of at most 1204 bytes" "$LAB_DIR/client-$n.log" ||
		fail "1. $n did not learn the relay's MTU"
	[ "$(lab_status "$n" | python3 -c 'import json, sys; print(json.load(sys.stdin)["server"]["link_mtu"])')" = "$MTU" ] ||
		fail "1. $n's status does not show the server's link MTU"
done
echo "  $(lab_at) server link MTU $MTU; both clients size their relay segments to 1204 bytes"

# --- 2. copies through the relay --------------------------------------------------------
ready() { lab_exec gcs1 "$TE" copy --to 127.1.0.1:2222 --bytes 1000 --timeout-ms 3000; }
wait_until 20 ready || fail "2. the copy flow did not come up"
f0=$(frags)
lab_exec gcs1 "$TE" copy --to 127.1.0.1:2222 --bytes $((10 * 1048576)) --timeout-ms 30000 \
	>"$LAB_DIR/copy.json" || fail "2. copy gcs1 -> drone1: $(cat "$LAB_DIR/copy.json")"
echo "  $(lab_at) 10 MB gcs1 -> drone1 intact through the relay: $(lab_json "$LAB_DIR/copy.json" "j['mbit_s']") Mbit/s"
lab_exec drone1 "$TE" copy --to 127.1.0.1:2224 --bytes $((10 * 1048576)) --timeout-ms 30000 \
	>"$LAB_DIR/back.json" || fail "2. copy drone1 -> gcs1: $(cat "$LAB_DIR/back.json")"
echo "  $(lab_at) 10 MB drone1 -> gcs1 intact through the relay: $(lab_json "$LAB_DIR/back.json" "j['mbit_s']") Mbit/s"

# --- 3. nothing fragmented at the server --------------------------------------------------
[ "$(frags)" = "$f0" ] || fail "3. the server made $(($(frags) - f0)) IP fragments relaying the copies"
echo "  $(lab_at) the server relayed both copies without one IP fragment"
grep -q "peer gcs1: direct path up\|peer drone1: direct path up" "$LAB_DIR"/client-*.log &&
	fail "a direct path came up: this test wants the relay alone"
lab_pass
