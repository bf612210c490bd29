#!/usr/bin/env bash
# test_server_restart: a pair that only the relay can join (symmetric NATs on
# both sides) gets its flow back soon after the server restarts, with the
# default keepalive (25 s). The restarted server has lost every session and
# relay binding; the clients' peer session survives (its keys are end to
# end), but nothing crosses the relay until both clients have a new server
# session and have bound the relay ports again. Waiting for the next
# keepalive to notice would cost up to 25 s + 3 probes: the clients notice
# the relay going silent (it answers relay pings every second) and probe the
# server at once.
#
#   srv 203.0.113.10/.11; drone1 behind symmetric dnat, gcs1 behind symmetric gnat
#
# Flow down (gcs1 -> drone1) at 100 datagrams/s while the server stops and
# starts again at once: the longest gap in the stream stays under 8 s
# (printed; about 5 s here, 26 s before the clients watched the relay), and
# both clients said why they reconnected.
set -euo pipefail
source "$(dirname "$0")/../../tools/lab/lib.sh"
source "$LAB_ROOT/tools/lab/topo.sh"
lab_init server_restart
[ "$(id -u)" = 0 ] || fail "needs root for network namespaces"
[ -x "$LAB_BF" ] || fail "$LAB_BF missing (make build-tests builds it)"

lab_keys server drone1 gcs1
cat >"$LAB_DIR/routes.conf" <<CONF
server: { listen = ["203.0.113.10:7400", "203.0.113.11:7400"]; alt_port = 7401;
          key_file = "server.key"; };
clients: { drone1 = { key = "$(lab_pub drone1)"; }; gcs1 = { key = "$(lab_pub gcs1)"; }; };
flows: ( { name = "down"; proto = "udp"; port = 14560; from = ["gcs1"]; to = ["drone1"]; } );
CONF
lab_two_sites symmetric symmetric
lab_wh_server srv
for n in drone1 gcs1; do
	lab_client_ini "$n" 203.0.113.10:7400
	lab_wh_client "$n"
done
wait_until 20 lab_flow_up gcs1 drone1 14560 || fail "the flow does not carry a datagram"
echo "  $(lab_at) flow up over the relay"

lab_stream_start down gcs1 drone1 14560 100 200
sleep 3
lab_stop server || true
lab_wh_server srv
echo "  $(lab_at) server restarted"
back() { [ "$(grep -c "client drone1: online" "$LAB_DIR/server.log")" -ge 1 ] &&
	[ "$(grep -c "client gcs1: online" "$LAB_DIR/server.log")" -ge 1 ]; }
wait_until 30 back || fail "the clients did not come back to the restarted server within 30 s"
echo "  $(lab_at) both clients online again"
sleep 4
lab_stream_stop down
sent=$(lab_json "$LAB_DIR/down-tx.log" 'j["sent"]')
got=$(lab_json "$LAB_DIR/down-rx.log" 'j["received"]')
gap=$(lab_json "$LAB_DIR/down-rx.log" 'j["max_gap_ms"]')
echo "  $(lab_at) stream: received $got of $sent, longest gap $gap ms"
awk -v g="$gap" 'BEGIN { exit !(g < 8000) }' || fail "the flow was gone for $gap ms across the restart (limit 8000)"
for n in drone1 gcs1; do
	grep -q "server: the relay went silent" "$LAB_DIR/client-$n.log" ||
		fail "$n did not notice the relay going silent"
	grep -q "server: lost, reconnecting" "$LAB_DIR/client-$n.log" ||
		fail "$n never said it lost the server"
done
! grep -q "direct path up" "$LAB_DIR/client-gcs1.log" ||
	fail "a direct path between symmetric NATs: this test wants the relay alone"
lab_teardown
lab_pass
