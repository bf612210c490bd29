#!/usr/bin/env bash
# test_peer_gone: datagrams for a sink whose client is gone are dropped and
# counted at the source, not sent into the relay (README "REST API", flow
# stats `drops`; client/flow_udp.h FLOW_UDP_PEER_GONE_US).
#
#   drone1 --mav--> gcs1, over the relay, all on this host's loopback
#
# Checked:
#   1. after 12 s with no datagram the flow still carries at once: a live
#      peer's path pings keep it heard (no drop counted);
#   2. gcs1 stopped: 50 datagrams sent 11 s later are drops at drone1 (its
#      status: drops +50, tx_packets unchanged), said in its log, and the
#      server's flow stats count them (wormhole_flow_drops_total);
#   3. gcs1 back: the flow carries again.
# lab-run: loopback
set -euo pipefail
source "$(dirname "$0")/../../tools/lab/lib.sh"
lab_init peer_gone
cd "$LAB_ROOT"
BF=$LAB_ROOT/build/release/tools/bench_flow
[ -x "$BF" ] || fail "bench_flow missing (make build-tests builds it)"

# Ports from the PID, so parallel runs and other tests do not collide.
off=$(($$ % 400))
SP=$((20000 + off * 2)) # server udp (+1 alt port)
RA0=$((21000 + off * 4))
RB0=$((23000 + off * 4))
VP=$((25000 + off * 2)) # mav on 127.1.0.1; VP+1: gcs1's app
CAP=$((26000 + off * 2)) # drone1's local API; +1: gcs1's
AP=$((27000 + off))      # the server's REST API
TOKEN=peer-gone-read-token-0123456789

lab_loopback_clients "$SP" "$CAP" drone1 gcs1
pub() { "$LAB_BIN/wormhole-keygen" pubkey <"$LAB_DIR/$1.key"; }
cat >"$LAB_DIR/routes.conf" <<CONF
server: {
  listen = ["127.0.0.1:$SP"]; alt_port = $((SP + 1));
  key_file = "server.key";
  relay_a = "$RA0-$((RA0 + 3))"; relay_b = "$RB0-$((RB0 + 3))";
  punch = false;
  api = { listen = "127.0.0.1:$AP"; read_tokens = ["$TOKEN"]; };
};
clients: { drone1 = { key = "$(pub drone1)"; }; gcs1 = { key = "$(pub gcs1)"; }; };
flows: ( { name = "mav"; proto = "udp"; port = $VP; from = ["drone1"]; to = ["gcs1"];
           deliver = { gcs1 = "127.0.0.1:$((VP + 1))"; }; } );
CONF
LOG=$LAB_DIR/server.log
lab_start server "$LAB_BIN/wormhole-server" -c "$LAB_DIR/routes.conf" --log-level debug
wait_until 5 grep -q "server: running" "$LOG" || fail "server did not start"
for c in drone1 gcs1; do
	lab_start "client-$c" "$LAB_BIN/wormhole-client" -c "$LAB_DIR/$c.ini" --log-level debug
	wait_until 10 grep -q "client $c: online" "$LOG" || fail "$c did not come online"
done

# drone1's status of flow mav: PYEXPR over it (f).
mav() {
	"$LAB_BIN/wormhole-client" -c "$LAB_DIR/drone1.ini" status --json 2>/dev/null | python3 -c '
import json, sys
f = [f for f in json.load(sys.stdin)["flows"] if f["name"] == "mav"][0]
print(eval(sys.argv[1]))' "$1"
}
# send N: N datagrams from drone1's app into mav (50/s).
send() {
	"$BF" --bind 127.0.0.1:0 --to "127.1.0.1:$VP" --count "$1" --rate 50 \
		--timeout $(($1 * 20 + 500)) >/dev/null 2>&1 || true
}
carries() { lab_lo_carries "$VP" $((VP + 1)); }
wait_until 10 carries || fail "the flow does not carry"

echo "  1. idle for 12 s: still carries, nothing dropped"
sleep 12
drops=$(mav 'f["drops"]')
carries || fail "after 12 s idle the flow does not carry"
[ "$(mav 'f["drops"]')" = "$drops" ] || fail "idle: drops $drops -> $(mav 'f["drops"]')"

echo "  2. gcs1 gone: drone1 drops and counts"
lab_stop client-gcs1 || fail "gcs1 did not stop cleanly"
wait_until 10 grep -q "client gcs1: offline" "$LOG" || fail "the server did not see gcs1 go"
sleep 11
drops=$(mav 'f["drops"]')
tx=$(mav 'f["tx_packets"]')
send 50
mav_drops_are() { [ "$(mav 'f["drops"]')" = "$1" ]; }
wait_until 5 mav_drops_are $((drops + 50)) ||
	fail "drops $drops -> $(mav 'f["drops"]') after 50 datagrams for a gone sink"
[ "$(mav 'f["tx_packets"]')" = "$tx" ] || fail "tx_packets $tx -> $(mav 'f["tx_packets"]'): sent anyway"
grep -q "flow mav: gcs1 not heard for .* its datagrams are dropped" "$LAB_DIR/client-drone1.log" ||
	fail "drone1 did not say why it drops"
# The server's flow stats (drone1 reports about once a second).
srv_drops() { lab_metric "$AP" "$TOKEN" wormhole_flow_drops_total 'flow="mav"'; }
srv_drops_are() { [ "$(srv_drops)" = "$1" ]; }
wait_until 5 srv_drops_are $((drops + 50)) ||
	fail "server: wormhole_flow_drops_total{flow=\"mav\"} $(srv_drops), want $((drops + 50))"
echo "     drops $drops -> $(mav 'f["drops"]'), tx_packets $tx (unchanged)"

echo "  3. gcs1 back: carries again"
lab_start client-gcs1-2 "$LAB_BIN/wormhole-client" -c "$LAB_DIR/gcs1.ini" --log-level debug
wait_until 10 carries || fail "the flow does not carry once gcs1 is back"
lab_pass
