#!/usr/bin/env bash
# test_lossy_direct: a direct path that answers but loses far more than the
# relay carries nothing until it is clean again (client/pathsel.c), and the
# status says why (README "status": `path_reason`, the path's `lossy`).
#
#   srv 203.0.113.10/.11; drone1 behind dnat 198.51.100.1, gcs1 behind
#   gnat 198.51.100.2 (port-restricted cones: they punch a direct path)
#
# Flow down (gcs1 -> drone1). Once direct, LOSS_PCT (default 12) % of the
# packets between the two NATs are dropped on dnat's link, each way: about a
# fifth of the direct path's pings go unanswered, the relay's none. gcs1 must
# move the flow to the relay within 25 s (its status: path relay, path_reason "lossy
# direct path", the path still up and marked lossy), and a stream sent
# then must arrive whole but for at most 1 % (on the direct path it would
# lose LOSS_PCT %). With the loss gone, the direct path carries again
# within 30 s and the reason is gone (about 3 s and 11 s here).
set -euo pipefail
source "$(dirname "$0")/../../tools/lab/lib.sh"
source "$LAB_ROOT/tools/lab/topo.sh"
lab_init lossy_direct
[ "$(id -u)" = 0 ] || fail "needs root for network namespaces"
[ -x "$LAB_BF" ] || fail "$LAB_BF missing (make build-tests builds it)"
LOSS_PCT=${LOSS_PCT:-12}

lab_keys server drone1 gcs1
lab_routes "" drone1 gcs1 >"$LAB_DIR/routes.conf" <<CONF
flows: ( { name = "down"; proto = "udp"; port = 14560; from = ["gcs1"]; to = ["drone1"]; } );
CONF
lab_two_sites
lab_wh_server srv
lab_wh_clients drone1 gcs1

# PEER's entry in gcs1's status: path, path_reason, and whether its first
# direct path is up and lossy.
view() {
	lab_status_field gcs1 '[(p["path"], p["path_reason"], [(x["state"], x["lossy"]) for x in p["paths"]])
	for p in j["peers"] if p["peer"] == "drone1"][0]'
}
is_clean_direct() { [ "$(view)" = "('direct', None, [('up', False)])" ]; }
is_left_for_loss() { [ "$(view)" = "('relay', 'lossy direct path', [('up', True)])" ]; }

wait_until 30 is_clean_direct || fail "no clean direct path within 30 s: $(view)"
echo "  $(lab_at) direct: $(view)"

lab_block dnat wan 198.51.100.2 "$LOSS_PCT"
echo "  $(lab_at) $LOSS_PCT % of the packets between the NATs dropped, each way"
wait_until 25 is_left_for_loss || fail "the lossy direct path was not left within 25 s: $(view)"
echo "  $(lab_at) left: $(view)"
# Left for its loss while up, or (pings lost several in a row: it went,
# and came back) judged by the pings it lost before it went.
grep -qE "peer drone1: direct path .* (loses [0-9]+ % of pings, the relay [0-9]+ %: traffic leaves it for the relay|lost [0-9]+ % of its pings before it went)" \
	"$LAB_DIR/client-gcs1.log" || fail "gcs1 did not log why it left the direct path"
lab_exec gcs1 "$LAB_BIN/wormhole-client" -c "$LAB_DIR/gcs1.ini" status |
	grep -q "on the relay while a direct path is up: lossy direct path" ||
	fail "the status text does not say why the relay carries"

lab_stream_start onrelay gcs1 drone1 14560 100 200
sleep 5
lab_stream_stop onrelay
sent=$(lab_json "$LAB_DIR/onrelay-tx.log" 'j["sent"]')
got=$(lab_json "$LAB_DIR/onrelay-rx.log" 'j["received"]')
echo "  $(lab_at) stream on the relay beside the lossy path: received $got of $sent; $(view)"
[ "$sent" -ge 300 ] || fail "the stream sent only $sent datagrams"
[ $((100 * (sent - got))) -le "$sent" ] ||
	fail "lost $((sent - got)) of $sent: the lossy direct path still carried the flow"

lab_unblock dnat wan
wait_until 30 is_clean_direct || fail "the direct path did not carry again within 30 s of the loss: $(view)"
echo "  $(lab_at) clean again: $(view)"
grep -q "peer drone1: direct path .* clean again" "$LAB_DIR/client-gcs1.log" ||
	fail "gcs1 did not log the path clean again"
lab_teardown
lab_pass
