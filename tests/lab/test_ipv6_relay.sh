#!/usr/bin/env bash
# test_ipv6_relay: a client that reaches the server over IPv6 and one that
# reaches it over IPv4 share a flow through the relay (the server listens on
# both families; its relay answers each client from the address family the
# client uses: README "Flows", PROTOCOL.md "Relay").
#
#   one namespace, IPv6 on: wormhole-server on 127.0.0.1:7400 and [::1]:7400
#     v4 (server = 127.0.0.1:7400, uplink source 127.0.0.1)
#     v6 (server = [::1]:7400,     uplink source ::1)
#
#     dual (server = 127.0.0.1:7400, [::1]:7400; uplinks lo4 source
#           127.0.0.1 and lo6 source ::1)
#
# Both register (status: the server address of their family, session up), a
# members flow carries 200 datagrams each way (all delivered, none twice),
# and the relay binds each on its own family (server log). punch = false:
# the two families cannot meet directly.
# dual's uplinks take their source's family: its session runs on lo4 over
# IPv4 and lo6 registers at [::1]:7400 and binds the relay there (the build
# before sent lo6's registration from its IPv6 socket to the session's IPv4
# address: it stayed "registering"), and dual does not say at start that
# [::1]:7400 is not used.
set -euo pipefail
source "$(dirname "$0")/../../tools/lab/lib.sh"
source "$LAB_ROOT/tools/lab/topo.sh"
lab_init ipv6_relay
[ "$(id -u)" = 0 ] || fail "needs root for network namespaces"
[ -x "$LAB_BF" ] || fail "$LAB_BF missing (make build-tests builds it)"

# A namespace of its own with IPv6 on (the topology's namespaces have it off).
lab_ns_loopback v6 on

lab_keys server v4 v6 dual
cat >"$LAB_DIR/routes.conf" <<CONF
server: { listen = ["127.0.0.1:7400", "[::1]:7400"]; key_file = "server.key"; punch = false; };
clients: { v4 = { key = "$(lab_pub v4)"; }; v6 = { key = "$(lab_pub v6)"; };
           dual = { key = "$(lab_pub dual)"; }; };
flows: ( { name = "mav"; proto = "udp"; port = 14550; members = ["v4", "v6"];
           listen = { v6 = 14551; }; deliver = { v6 = "127.0.0.1:14560"; }; },
         { name = "dl"; proto = "udp"; port = 14570; members = ["dual", "v4"];
           listen = { dual = 14571; }; deliver = { dual = "127.0.0.1:14580"; }; } );
CONF
lab_client_ini v4 127.0.0.1:7400 "api = 127.1.0.1:7070
[uplink lo4]
source = 127.0.0.1"
lab_client_ini v6 "[::1]:7400" "api = 127.1.0.1:7071
[uplink lo6]
source = ::1"
lab_client_ini dual "127.0.0.1:7400, [::1]:7400" "api = 127.1.0.1:7072
[uplink lo4]
source = 127.0.0.1
[uplink lo6]
source = ::1"
lab_wh_server v6
for c in v4 v6 dual; do
	lab_start_in v6 "client-$c" "$LAB_BIN/wormhole-client" -c "$LAB_DIR/$c.ini" --log-level debug
done

status_of() { lab_exec v6 "$LAB_BIN/wormhole-client" -c "$LAB_DIR/$1.ini" status --json 2>/dev/null; }
up_at() { # ID ADDRESS: its session is up with the server at ADDRESS
	[ "$(status_of "$1" | python3 -c 'import json, sys; s = json.load(sys.stdin)["server"]
print(s["session"], s["address"])' 2>/dev/null)" = "up $2" ]
}
wait_until 10 up_at v4 127.0.0.1:7400 || fail "v4 did not come up over IPv4: $(status_of v4)"
wait_until 10 up_at v6 "[::1]:7400" || fail "v6 did not come up over IPv6: $(status_of v6)"
echo "  $(lab_at) v4 up at 127.0.0.1:7400, v6 up at [::1]:7400"
bound() { grep -q "relay [a-z0-9]*<->[a-z0-9]*: $1 bound $2" "$LAB_DIR/server.log"; }
wait_until 10 bound v4 '127\.0\.0\.1:' || fail "the relay did not bind v4 over IPv4"
wait_until 10 bound v6 '\[::1\]:' || fail "the relay did not bind v6 over IPv6"

# 200 datagrams each way at once: v4's app on 127.0.0.1:14550 (flow port),
# v6's on 127.0.0.1:14560 (its deliver) sending to its listen port 14551.
lab_both_ways 200 "v6 v6 127.0.0.1:14560 127.1.0.1:14551" "v6 v4 127.0.0.1:14550 127.1.0.1:14550"

# dual: one uplink of each family.
wait_until 10 up_at dual 127.0.0.1:7400 || fail "dual did not come up over IPv4: $(status_of dual)"
lo6_registered() {
	[ "$(status_of dual | python3 -c 'import json, sys
u = [x for x in json.load(sys.stdin)["uplinks"] if x["name"] == "lo6"][0]
print(u["server"], u["local"].startswith("[::1]:"))' 2>/dev/null)" = "registered True" ]
}
wait_until 10 lo6_registered || fail "dual's lo6 did not register over IPv6: $(status_of dual | head -c 800)"
wait_until 10 bound dual '\[::1\]:' || fail "dual's lo6 did not bind the relay over IPv6"
wait_until 10 bound dual '127\.0\.0\.1:' || fail "dual's lo4 did not bind the relay over IPv4"
! grep -q "is not used" "$LAB_DIR/client-dual.log" || fail "dual said a server address is not used"
echo "  $(lab_at) dual: session on lo4 over IPv4, lo6 registered and bound over IPv6"
lab_both_ways 100 "v6 dual 127.0.0.1:14580 127.1.0.1:14571" "v6 v4 127.0.0.1:14570 127.1.0.1:14570"
lab_teardown
lab_pass
