#!/usr/bin/env bash
# test_boot_offline: a drone whose client starts before its network is up
# (an LTE modem that attaches after boot) reaches the server as soon as the
# network comes, and classifies its NAT again, instead of waiting out its
# server backoff (1, 2, 4, then 5 s) and its NAT mapping check (a keepalive
# interval, 25 s).
#
#   srv 203.0.113.10/.11; drone1 behind port-restricted dnat (no default
#   route for the first 4.2 s), gcs1 behind port-restricted gnat
#
# The client's initiations go out at about 0, 1, 3 and 7 s: the route comes
# back at 4.2 s, after the third, so a client on its timers alone would get
# a session 2.8-4.6 s later. The client watches rtnetlink: the flow must be
# up within 1.5 s of the route (about 0.3 s here, 3-6 s without the watch),
# and the NAT class must be found within 5 s (it was "udp-blocked" offline).
set -euo pipefail
source "$(dirname "$0")/../../tools/lab/lib.sh"
source "$LAB_ROOT/tools/lab/topo.sh"
lab_init boot_offline
[ "$(id -u)" = 0 ] || fail "needs root for network namespaces"
[ -x "$LAB_BF" ] || fail "$LAB_BF missing (make build-tests builds it)"

lab_keys server drone1 gcs1
lab_routes '' drone1 gcs1 >"$LAB_DIR/routes.conf" <<CONF
flows: ( { name = "down"; proto = "udp"; port = 14560; from = ["gcs1"]; to = ["drone1"]; } );
CONF
lab_two_sites
lab_wh_server srv
for n in drone1 gcs1; do
	lab_client_ini "$n" 203.0.113.10:7400
done
lab_wh_client gcs1
gw=$(lab_exec drone1 ip -4 route show default | awk '{ print $3; exit }')
[ -n "$gw" ] || fail "drone1 has no default route to take away"
lab_exec drone1 ip -4 route del default
lab_wh_client drone1
wait_until 5 grep -q "nat: udp-blocked" "$LAB_DIR/client-drone1.log" ||
	fail "offline, drone1 did not find UDP blocked"
sleep 2.4 # 4.2 s after the start: after the initiation at ~3 s
t0=$(date +%s%N)
lab_exec drone1 ip -4 route add default via "$gw"
wait_until 10 lab_flow_up gcs1 drone1 14560 || fail "the flow never came up"
t1=$(date +%s%N)
up_ms=$(((t1 - t0) / 1000000))
echo "  $(lab_at) flow up ${up_ms} ms after the route came back"
[ "$up_ms" -le 1500 ] || fail "the flow took ${up_ms} ms after the route came back (limit 1500)"
grep -q "network: addresses or routes changed" "$LAB_DIR/client-drone1.log" ||
	fail "drone1 did not say the network changed"
nat_found() { lab_status drone1 | grep -q '"class":"port-restricted-cone"'; }
wait_until 5 nat_found || fail "drone1's NAT class not found again: $(lab_status drone1 | head -c 400)"
echo "  $(lab_at) NAT class port-restricted-cone again"
lab_pass
