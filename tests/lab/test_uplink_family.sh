#!/usr/bin/env bash
# test_uplink_family: a drone with an IPv6-only modem (its carrier reaches
# IPv4 through a NAT64) and an IPv4-only one: each uplink takes the family
# that routes through its own interface, so both reach the server and carry
# the drone's flows, and the session moves from one family to the other when
# the first modem goes.
#
#        srv 203.0.113.10/.11 (wormhole-server, IPv4 only)
#                    | internet (IPv4)
#   n64 198.51.100.1: NAT64 (tayga)   natb 198.51.100.2       gnat 198.51.100.3
#   and a port-restricted NAT44       port-restricted cone    port-restricted cone
#        | 2001:db8:64::/64                | 10.0.3.0/24            | 10.0.2.0/24
#   eth0 2001:db8:64::2 [uplink lte6]  eth1 10.0.3.2 [uplink lte4]  gcs 10.0.2.2
#        +----------------- drone ----------------+
#
# The drone's client.ini names the server (wormhole.test:7400) and binds both
# uplinks by interface: no address, no family. Its hosts file answers as its
# carrier's DNS64 does (wormhole.test: 203.0.113.10 and the synthesized
# 2001:db8:ffff::cb00:710a; ipv4only.arpa's synthesized AAAA). Its main table
# has an IPv4 default route via eth1: the route check of each uplink goes
# through its own interface (eth0 has no IPv4, eth1 no IPv6).
# lte6's carrier is 60 ms farther from the server each way than lte4's.
# Flow drone -> gcs "red", multipath redundant.
#  1. lte6 (uplink 0) runs the session over IPv6 through the NAT64. lte4's
#     modem connects after that (eth1 gets its IPv4 address and routes):
#     lte4, open in the main socket's family while nothing routed through
#     eth1, reopens an IPv4 socket and registers at 203.0.113.10 through
#     natb (the build before kept it IPv6, bound to eth1: it stayed
#     "registering").
#     Each binds the relay (lte4 at the server's IPv4 address: the relay
#     address in use is the session's, of IPv6; the build before sent
#     lte4's binds and relay pings there from its IPv4 socket, and failed;
#     and lte4, opened after the peers' binds, binds as soon as its
#     registration is answered, not a keepalive interval later).
#     The server sees both uplinks, at 198.51.100.1 and 198.51.100.2, and
#     knows the session runs on lte6: lte4 registers once the server has
#     answered the session's own REGISTER (the build before sent both at
#     once, and lte4's, on the faster link, came first: the server took
#     lte4 for the session's uplink).
#  2. The drone has a direct path to gcs on each uplink (lte6 through the
#     NAT64 with the prefix, lte4 over IPv4), and the flow carries a stream.
#  3. lte6 goes (eth0 deleted: the modem unplugged): the session moves to
#     lte4 over IPv4 (status: server address 203.0.113.10:7400, lte4
#     "session"), and the stream, on lte4's path throughout, loses nothing.
set -euo pipefail
source "$(dirname "$0")/../../tools/lab/lib.sh"
source "$LAB_ROOT/tools/lab/topo.sh"
lab_init uplink_family
[ "$(id -u)" = 0 ] || fail "needs root for network namespaces"
[ -x "$LAB_BF" ] || fail "$LAB_BF missing (make build-tests builds it)"

lab_keys server drone gcs
lab_routes "" drone gcs >"$LAB_DIR/routes.conf" <<CONF
flows: ( { name = "red"; proto = "udp"; port = 14550; from = ["drone"]; to = ["gcs"];
           multipath = "redundant"; } );
CONF
lab_server srv 203.0.113.10 203.0.113.11
lab_nat64 n64 port-restricted-cone 198.51.100.1
lab_host6 drone n64 2001:db8:64::2
lab_nat natb port-restricted-cone 198.51.100.2 10.0.3.0/24
lab_uplink drone natb 10.0.3.2
lab_nat gnat port-restricted-cone 198.51.100.3 10.0.2.0/24
lab_host gcs gnat 10.0.2.2
lab_delay n64 60
DNS=$(lab_ns drone)
# lte4's modem connects after the client started: no address on eth1 yet.
ip -n "$DNS" addr flush dev eth1
lte4_connects() {
	ip -n "$DNS" addr add 10.0.3.2/24 dev eth1
	ip -n "$DNS" route add default via 10.0.3.1 dev eth1 table 101
	# What a socket bound to eth1 routes by (SO_BINDTODEVICE: the main table).
	ip -n "$DNS" route add default via 10.0.3.1 dev eth1
}
lab_etc drone resolv.conf <<<$'nameserver 192.0.2.53\noptions timeout:1 attempts:1'
lab_etc drone hosts <<'HOSTS'
127.0.0.1 localhost
203.0.113.10 wormhole.test
2001:db8:ffff::cb00:710a wormhole.test
2001:db8:ffff::c000:aa ipv4only.arpa
HOSTS
lab_client_ini drone wormhole.test:7400 $'[uplink lte6]\ninterface = eth0\n[uplink lte4]\ninterface = eth1'
lab_client_ini gcs 203.0.113.10:7400
lab_wh_server srv
lab_wh_client drone
lab_wh_client gcs
DLOG=$LAB_DIR/client-drone.log
V6SRV='[2001:db8:ffff::cb00:710a]:7400'

# "ID NAME SERVER LOCAL MAPPED" per uplink of the drone.
uplinks() {
	lab_status drone 2>/dev/null | python3 -c '
import json, sys
for u in sorted(json.load(sys.stdin).get("uplinks", []), key=lambda x: x["id"]):
    print(u["id"], u["name"], u.get("server") or "-", u.get("local") or "-", u.get("mapped") or "-")' \
		2>/dev/null || true
}
uplinks_brief() { uplinks | paste -sd ';' | sed 's/;/; /g'; }
# uplink_is NAME SERVER_STATE LOCAL_PREFIX MAPPED_PREFIX
uplink_is() {
	uplinks | awk -v n="$1" -v s="$2" -v l="$3" -v m="$4" \
		'$2 == n && $3 == s && index($4, l) == 1 && index($5, m) == 1 {f = 1} END {exit !f}'
}
# Direct paths of the drone to gcs: "UPLINK STATE" per line.
paths() {
	lab_status drone 2>/dev/null | python3 -c '
import json, sys
for p in json.load(sys.stdin)["peers"]:
    if p["peer"] == "gcs":
        for x in p.get("paths", []):
            print(x["uplink"], x["state"], x["tx_packets"])' 2>/dev/null || true
}
up_on() { paths | awk -v u="$1" '$1 == u && $2 == "up" {f = 1} END {exit !f}'; }
paths_brief() { paths | paste -sd ';' | sed 's/;/; /g'; }

# --- 1. each uplink on its family ---------------------------------------------------
wait_until 10 eval '[ "$(lab_status_field drone "j[\"server\"][\"session\"]")" = up ]' ||
	fail "1. the drone is not online: $(grep 'server:' "$DLOG" | head -5)"
a=$(lab_status_field drone 'j["server"]["address"]')
[ "$a" = "$V6SRV" ] || fail "1. the drone's session runs to $a (want $V6SRV, through the NAT64)"
wait_until 10 uplink_is lte6 session '[::]:' 198.51.100.1: ||
	fail "1. lte6 does not run the session over IPv6 through the NAT64: $(uplinks_brief)"
echo "  $(lab_at) 1. online on lte6; lte4's modem not connected: $(uplinks_brief)"
lte4_connects
wait_until 5 grep -qF "uplink lte4: the server is reached over IPv4 through it now: reopening its socket" "$DLOG" ||
	fail "1. lte4 did not reopen over IPv4 once eth1 had its address: $(grep 'uplink lte4' "$DLOG" | head -5)"
wait_until 10 uplink_is lte4 registered 0.0.0.0: 198.51.100.2: ||
	fail "1. lte4 did not register over IPv4 through natb: $(uplinks_brief); $(grep 'uplink lte4' "$DLOG" | head -3)"
echo "  $(lab_at) 1. uplinks: $(uplinks_brief)"
wait_until 5 grep -q "client drone: uplink 1 (lte4) addr=198.51.100.2:" "$LAB_DIR/server.log" ||
	fail "1. the server did not see lte4 at 198.51.100.2: $(grep 'client drone' "$LAB_DIR/server.log" | head -5)"
grep -q "client drone: online addr=198.51.100.1:.* uplink=0$" "$LAB_DIR/server.log" ||
	fail "1. the server did not see the session on lte6: $(grep 'client drone' "$LAB_DIR/server.log" | head -5)"
# Each uplink binds the relay at the server's address of its family.
wait_until 5 eval 'grep -q "relay drone<->gcs: drone bound 198.51.100.2:" "$LAB_DIR/server.log" &&
	grep -q "relay drone<->gcs: drone bound .* endpoints=2" "$LAB_DIR/server.log"' ||
	fail "1. lte4 did not bind the relay: $(grep 'relay drone<->gcs: drone' "$LAB_DIR/server.log" | head -5)"

# --- 2. a direct path on each, a stream -------------------------------------------
wait_until 25 eval 'up_on 0 && up_on 1' ||
	fail "2. no direct path to gcs on both uplinks: $(paths_brief)"
echo "  $(lab_at) 2. direct paths: $(paths_brief)"
wait_until 10 lab_flow_up drone gcs 14550 || fail "2. flow red does not carry a datagram"
lab_stream_start red drone gcs 14550 100 200
sleep 2

# --- 3. lte6 goes: the session moves to IPv4 ------------------------------------
! grep -q "client drone: session on uplink" "$LAB_DIR/server.log" ||
	fail "3. the server moved the session before lte6 went: $(grep 'client drone' "$LAB_DIR/server.log" | head -5)"
t=$(date +%s%3N)
ip -n "$DNS" link del eth0
wait_until 15 uplink_is lte4 session 0.0.0.0: 198.51.100.2: ||
	fail "3. the session did not move to lte4: $(uplinks_brief); $(grep 'server:' "$DLOG" | tail -5)"
a=$(lab_status_field drone 'j["server"]["address"]')
[ "$a" = 203.0.113.10:7400 ] || fail "3. the session runs to $a (want 203.0.113.10:7400)"
echo "  $(lab_at) 3. eth0 gone: the session runs on lte4 over IPv4 after $(($(date +%s%3N) - t)) ms ($(uplinks_brief))"
sleep 2
lab_stream_stop red
lab_stream_lossless red drone 300 "3."
topo_alive "${LAB_PIDS[client-drone]}" || fail "3. the drone's client is not running"
errs=$(awk '$2 == "error"' "$DLOG")
[ -z "$errs" ] || fail "3. the drone's client logged errors: $errs"

lab_teardown
lab_pass
