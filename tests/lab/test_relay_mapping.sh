#!/usr/bin/env bash
# test_relay_mapping: the relay path when the network in front of a client
# treats its relay traffic alone differently (README "Paths"):
#
#   drone1 10.0.1.2 -- dnat (symmetric) --+-- srv 203.0.113.10 (relay 2000-3999)
#   gcs1   10.0.2.2 -- gnat (symmetric) --+    relay only: no direct path
#
#   1. dnat forgets only drone1's mapping towards its relay port (conntrack
#      -D of that one flow: a NAT evicting or timing out one mapping; the
#      control port's stays, so a mapping probe shows nothing new): drone1
#      binds the relay again as soon as the relay goes silent (2.5 s), so a
#      100/s stream comes back within 5 s (before: at the next periodic bind,
#      up to keepalive_s = 25 s later; 16 s measured);
#   2. dnat drops UDP to the relay ports while the server's port passes (a
#      firewall that opens one port): drone1 says so within 10 s (before:
#      nothing in the log, its status alone showed relay_bound false), and
#      says when the binds are answered again after the block is lifted.
set -euo pipefail
source "$(dirname "$0")/../../tools/lab/lib.sh"
source "$LAB_ROOT/tools/lab/topo.sh"
lab_init relay_mapping
[ "$(id -u)" = 0 ] || fail "needs root for network namespaces"
[ -x "$LAB_BF" ] || fail "$LAB_BF missing (make build-tests builds it)"

lab_keys server drone1 gcs1
lab_routes "keepalive_s = 25;" drone1 gcs1 >"$LAB_DIR/routes.conf" <<CONF
flows: ( { name = "down"; proto = "udp"; port = 14560; from = ["gcs1"]; to = ["drone1"]; } );
CONF
lab_two_sites symmetric symmetric
lab_wh_server srv
lab_wh_clients drone1 gcs1
wait_until 20 lab_flow_up gcs1 drone1 14560 || fail "the flow does not carry a datagram"
DLOG=$LAB_DIR/client-drone1.log
wait_until 5 grep -q "relay drone1<->gcs1: ports drone1=" "$LAB_DIR/server.log" || fail "no relay pair"
rport=$(grep -o "relay drone1<->gcs1: ports drone1=[0-9]*" "$LAB_DIR/server.log" | tail -n 1)
rport=${rport##*=}
echo "  $(lab_at) flow up over the relay; drone1's relay port $rport"

# --- 1. only the relay flow's mapping is forgotten --------------------------------
lab_stream_start remap gcs1 drone1 14560 100 200
sleep 2
lab_exec dnat conntrack -D -p udp --orig-port-dst "$rport" >/dev/null 2>&1 ||
	fail "1. no conntrack entry towards relay port $rport in dnat"
echo "  $(lab_at) dnat forgot drone1's mapping towards port $rport (only that one)"
sleep 8
lab_stream_gap remap 5000 "1. a new mapping for the relay flow alone"

# --- 2. the relay ports blocked, the server's port open ----------------------------
lab_exec dnat nft -f - <<NFT
table ip wh_relay_fw {
	chain f {
		type filter hook forward priority 0; policy accept;
		ip daddr 203.0.113.10 udp dport 2000-3999 drop
	}
}
NFT
lab_exec dnat conntrack -F >/dev/null 2>&1 || true # every mapping new: drone1 binds again
from=$(($(wc -l <"$DLOG") + 1))
blocked() { tail -n +"$from" "$DLOG" | grep -q "peer gcs1: relay port 203.0.113.10:$rport answers none of 5 binds"; }
wait_until 20 blocked || fail "2. drone1 did not say its relay port does not answer: $(tail -n +"$from" "$DLOG" | grep -v debug | tail -5)"
echo "  $(lab_at) 2. drone1: $(tail -n +"$from" "$DLOG" | grep -o "relay port .*answers none.*" | head -n 1 | cut -c1-60)..."
lab_exec dnat nft delete table ip wh_relay_fw
wait_until 20 grep -q "peer gcs1: relay port $rport answers our binds now" "$DLOG" ||
	fail "2. drone1 did not say its binds are answered again"
wait_until 20 lab_flow_up gcs1 drone1 14560 || fail "2. the flow did not come back after the block"
echo "  $(lab_at) 2. the block lifted: binds answered, the flow carries again"
lab_teardown
lab_pass
