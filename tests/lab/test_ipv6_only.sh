#!/usr/bin/env bash
# test_ipv6_only: a client whose client.ini names its server and fixes no
# family (no numeric address, no uplink source) follows the family its
# server is reachable by (README "client.ini"): a drone on an IPv6-only
# network (a NAT64 one among them) comes online without an IP setting.
#
#   one namespace, no route to 203.0.113.0/24, IPv6 off at first;
#   /etc/hosts: wormhole.test is 203.0.113.10 and ::1, both.test is
#   127.0.0.2 and ::1
#     drone (server = wormhole.test:7400)     started with no IPv6
#     gcs   (server = [::1]:7400)             started once IPv6 is on
#     d46   (server = both.test:7400)         both families have a route
#   wormhole-server on 127.0.0.2:7400 and [::1]:7400 (not on 127.0.0.1:
#   glibc answers an IPv4 lookup of a name the hosts file gives ::1 with
#   127.0.0.1, which would let the build before reach it by chance)
#
# 1. With no IPv6, the drone takes the name's IPv4 address (it has no route
#    to it either) and waits.
# 2. IPv6 comes up (the modem attached): the drone looks the name up at once
#    (a network change), moves its sockets to IPv6 and comes online at
#    [::1]:7400 (its NAT classified anew: open, where IPv4 had found UDP
#    blocked), and a flow carries 200 datagrams each way between it and
#    gcs. The build before stayed on 203.0.113.10 for good.
# 3. d46, with a route to both of its server's addresses, stays on IPv4.
# 4. natcheck resolves the name the same way and classifies over IPv6.
# 5. IPv6 goes, and the name now also has an address with a route
#    (127.0.0.2): the drone moves back to IPv4 and comes online there.
# 6. IPv6 comes back (the drone stays on IPv4, which works); then UDP to
#    127.0.0.2 is dropped: with both families routed, the drone finds the
#    server over IPv6 by itself. The build before stayed on IPv4.
set -euo pipefail
source "$(dirname "$0")/../../tools/lab/lib.sh"
source "$LAB_ROOT/tools/lab/topo.sh"
lab_init ipv6_only
[ "$(id -u)" = 0 ] || fail "needs root for network namespaces"
[ -x "$LAB_BF" ] || fail "$LAB_BF missing (make build-tests builds it)"

lab_ns_loopback v6 off
# The DNS server named is nobody (no route to it): only the hosts file answers.
lab_etc v6 resolv.conf <<<$'nameserver 192.0.2.53\noptions timeout:1 attempts:1'
lab_etc v6 hosts <<'HOSTS'
127.0.0.1 localhost
203.0.113.10 wormhole.test
::1 wormhole.test
127.0.0.2 both.test
::1 both.test
HOSTS

lab_keys server drone gcs d46
cat >"$LAB_DIR/routes.conf" <<CONF
server: { listen = ["127.0.0.2:7400", "[::1]:7400"]; key_file = "server.key"; keepalive_s = 5; };
clients: { drone = { key = "$(lab_pub drone)"; }; gcs = { key = "$(lab_pub gcs)"; };
           d46 = { key = "$(lab_pub d46)"; }; };
flows: ( { name = "mav"; proto = "udp"; port = 14550; members = ["drone", "gcs"];
           listen = { gcs = 14551; }; deliver = { gcs = "127.0.0.1:14560"; }; } );
CONF
lab_client_ini drone wormhole.test:7400 "api = 127.1.0.1:7070"
lab_client_ini gcs "[::1]:7400" "api = 127.1.0.1:7071"
lab_client_ini d46 both.test:7400 "api = 127.1.0.1:7072"
DLOG=$LAB_DIR/client-drone.log

status_of() { lab_exec v6 "$LAB_BIN/wormhole-client" -c "$LAB_DIR/$1.ini" status --json 2>/dev/null; }
nat_class_of() { # ID: its status's NAT class
	status_of "$1" | python3 -c 'import json, sys; print(json.load(sys.stdin)["nat"]["class"])' \
		2>/dev/null || true
}
session_of() { # ID: "SESSION ADDRESS" of its server session
	status_of "$1" | python3 -c 'import json, sys; s = json.load(sys.stdin)["server"]
print(s["session"], s["address"])' 2>/dev/null || true
}

# --- 1. no IPv6 yet ---------------------------------------------------------------
lab_start_in v6 client-drone "$LAB_BIN/wormhole-client" -c "$LAB_DIR/drone.ini" --log-level debug
wait_until 10 grep -q "server: wormhole.test:7400 resolves to 203.0.113.10:7400" "$DLOG" ||
	fail "1. the drone did not take the name's IPv4 address: $(grep 'server:' "$DLOG" | head -3)"
sleep 1
s=$(session_of drone)
[ "${s%% *}" = connecting ] || fail "1. with no route to its server, the drone's session is: $s"
echo "  $(lab_at) 1. no IPv6: the drone waits on 203.0.113.10 ($s)"

# --- 2. IPv6 comes up ---------------------------------------------------------------
lab_ipv6 v6 on
up_at=$(date +%s%3N)
lab_wh_server v6
lab_start_in v6 client-gcs "$LAB_BIN/wormhole-client" -c "$LAB_DIR/gcs.ini" --log-level debug
wait_until 10 grep -q "server: wormhole.test:7400 is reachable at \[::1\]:7400: the client's sockets moved to IPv6" "$DLOG" ||
	fail "2. the drone did not move to IPv6: $(grep 'server:' "$DLOG" | tail -3)"
wait_until 10 eval '[ "$(session_of drone)" = "up [::1]:7400" ]' ||
	fail "2. the drone did not come online over IPv6: $(session_of drone)"
echo "  $(lab_at) 2. the drone is online at [::1]:7400, $(($(date +%s%3N) - up_at)) ms after IPv6 came up"
wait_until 10 eval '[ "$(session_of gcs)" = "up [::1]:7400" ]' || fail "gcs is not online: $(session_of gcs)"
# Its NAT was classified through IPv4 (udp-blocked: no route); on IPv6 anew.
wait_until 5 eval '[ "$(nat_class_of drone)" = open ]' ||
	fail "2. the drone did not classify its NAT again over IPv6: $(nat_class_of drone)"

# 200 datagrams each way at once: the drone's app on 127.0.0.1:14550 (flow
# port), gcs's on 127.0.0.1:14560 (its deliver) sending to its listen port.
lab_both_ways 200 "v6 gcs 127.0.0.1:14560 127.1.0.1:14551" "v6 drone 127.0.0.1:14550 127.1.0.1:14550"

# --- 3. both families: IPv4 stays ---------------------------------------------------
lab_start_in v6 client-d46 "$LAB_BIN/wormhole-client" -c "$LAB_DIR/d46.ini" --log-level debug
wait_until 10 eval '[ "$(session_of d46)" = "up 127.0.0.2:7400" ]' ||
	fail "3. d46 is not online over IPv4: $(session_of d46)"
! grep -q "sockets moved" "$LAB_DIR/client-d46.log" || fail "3. d46 moved its sockets"
echo "  $(lab_at) 3. d46 (both families routed) is online at 127.0.0.2:7400"

# --- 4. natcheck ------------------------------------------------------------------
nc=$(lab_exec v6 timeout 20 "$LAB_BIN/wormhole-client" -c "$LAB_DIR/drone.ini" natcheck --json) ||
	fail "4. natcheck failed: $nc"
m=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["mapped_address"])' "$nc" 2>/dev/null) ||
	fail "4. natcheck's answer has no mapped address: $nc"
case "$m" in
'[::1]:'*) echo "  $(lab_at) 4. natcheck over IPv6: mapped $m" ;;
*) fail "4. natcheck's mapped address is $m (want [::1]:PORT): $nc" ;;
esac
# --- 5. IPv6 goes (the modem moved to an IPv4-only network) -------------------------
lab_etc v6 hosts <<'HOSTS'
127.0.0.1 localhost
127.0.0.2 wormhole.test
::1 wormhole.test
HOSTS
lab_ipv6 v6 off
down_at=$(date +%s%3N)
wait_until 20 eval '[ "$(session_of drone)" = "up 127.0.0.2:7400" ]' ||
	fail "5. the drone did not come back over IPv4: $(session_of drone); $(grep 'server:' "$DLOG" | tail -3)"
grep -q "server: wormhole.test:7400 is reachable at 127.0.0.2:7400: the client's sockets moved to IPv4" "$DLOG" ||
	fail "5. the drone did not say it moved to IPv4"
echo "  $(lab_at) 5. IPv6 gone: the drone is online at 127.0.0.2:7400 $(($(date +%s%3N) - down_at)) ms later"

# --- 6. both families route, IPv4 goes unanswered ---------------------------------------
# IPv6 is back; the drone stays on IPv4 (it works). Then nothing of UDP to the
# server's IPv4 address goes through any more (a carrier's IPv4 NAT broken,
# a firewall): the drone loses the server (keepalive 5 s here), and after
# its names' first refresh in the outage and one more unanswered round it
# takes the other family, which answers.
lab_ipv6 v6 on
sleep 1
[ "$(session_of drone)" = "up 127.0.0.2:7400" ] || fail "6. the drone left IPv4 when IPv6 came back"
lab_exec v6 nft -f - <<'NFT'
table inet wh_block4 {
	chain out {
		type filter hook output priority filter; policy accept;
		ip daddr 127.0.0.2 meta l4proto udp drop
	}
}
NFT
block_at=$(date +%s%3N)
wait_until 40 eval '[ "$(session_of drone)" = "up [::1]:7400" ]' ||
	fail "6. the drone did not move to IPv6: $(session_of drone); $(grep 'server:' "$DLOG" | tail -4)"
grep -q "server: no answer over IPv4; wormhole.test:7400 is reachable at \[::1\]:7400: the client's sockets moved to IPv6" "$DLOG" ||
	fail "6. the drone did not say it moved to IPv6"
echo "  $(lab_at) 6. IPv4 unanswered: the drone is online at [::1]:7400 $(($(date +%s%3N) - block_at)) ms later"
lab_teardown
lab_pass
