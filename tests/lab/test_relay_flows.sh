#!/usr/bin/env bash
# test_relay_flows: named UDP flows between clients behind real NATs, through
# the relay (issue #4, acceptance 1-5).
#
#                     +-------------------------------+
#                     | srv  203.0.113.10, .11        |
#                     | wormhole-server :7400/:7401   |
#                     | relay 2000-2999 / 3000-3999   |
#                     +---------------+---------------+
#                                     | internet (bridge)
#        +----------------+-----------+-----+------------------+
#        | dnat symmetric | gnat port-restr.| cnat full-cone   |  third 192.0.2.50
#        | 198.51.100.1   | 198.51.100.2    | 198.51.100.3     |  (sprays relay ports)
#        +-------+--------+--------+--------+--------+---------+
#                |                 |                 |
#            drone1 10.0.1.2   gcs1 10.0.2.2     gcs2 10.0.3.2
#
# routes.conf sets `punch = false`: this test is about the relay, so no pair
# moves to a direct path (test_punch and test_failover cover those).
# Flows: mavlink N:N {drone1, gcs1}; video 1:N drone1 -> {gcs1, gcs2};
# telem N:1 {drone1, gcs2} -> gcs1 (gcs1's app answers each sender).
# Apps are tools/bench_flow on 127.0.0.1 inside each host.
set -euo pipefail
source "$(dirname "$0")/../../tools/lab/lib.sh"
source "$LAB_ROOT/tools/lab/topo.sh"
lab_init relay_flows
[ "$(id -u)" = 0 ] || fail "needs root for network namespaces"
command -v tcpdump >/dev/null || fail "tcpdump missing (make deps installs it)"
BF=${BENCH_FLOW:-$LAB_ROOT/build/release/tools/bench_flow}
[ -x "$BF" ] || fail "$BF missing (make build-tests builds it)"
CANARY="WORMHOLE-PLAINTEXT-CANARY"

lab_keys server drone1 gcs1 gcs2

# write_conf [EXTRA_MAVLINK_MEMBER]
write_conf() {
	local extra=${1:+, \"$1\"}
	lab_routes 'keepalive_s = 10; punch = false;' drone1 gcs1 gcs2 <<CONF
flows: (
  { name = "mavlink"; proto = "udp"; port = 14550; members = ["drone1", "gcs1"$extra]; },
  { name = "video"; proto = "udp"; port = 5600; from = ["drone1"]; to = ["gcs1", "gcs2"]; },
  { name = "telem"; proto = "udp"; port = 14600; from = ["drone1", "gcs2"]; to = ["gcs1"]; }
);
CONF
}
write_conf >"$LAB_DIR/routes.conf"

lab_two_sites symmetric
lab_server third 192.0.2.50
lab_nat cnat full-cone 198.51.100.3 10.0.3.0/24
lab_host gcs2 cnat 10.0.3.2

# Everything the server receives, to look for plaintext afterwards.
lab_start_in srv capture tcpdump -i eth0 -U -n -s 0 -w "$LAB_DIR/server.pcap" udp
wait_until 5 test -s "$LAB_DIR/capture.log" || true
lab_wh_server srv
lab_wh_clients drone1 gcs1 gcs2

# flow_up HOST SRC_BIND TO SINK_HOST SINK_BIND: one datagram gets through.
flow_up() {
	lab_exec "$4" "$BF" --bind "$5" --expect 1 --timeout 400 --linger 0 >/dev/null 2>&1 &
	local rx=$!
	sleep 0.05
	lab_exec "$1" "$BF" --bind "$2" --to "$3" --count 3 --rate 50 --timeout 100 >/dev/null 2>&1 || true
	wait $rx
}
wait_until 20 flow_up drone1 127.0.0.1:14550 127.1.0.1:14550 gcs1 127.0.0.1:14550 ||
	fail "mavlink drone1 -> gcs1 never came up"
wait_until 10 flow_up gcs1 127.0.0.1:14550 127.1.0.1:14550 drone1 127.0.0.1:14550 ||
	fail "mavlink gcs1 -> drone1 never came up"
wait_until 10 flow_up drone1 127.0.0.1:5600 127.1.0.1:5600 gcs2 127.0.0.1:5600 ||
	fail "video drone1 -> gcs2 never came up"
wait_until 10 flow_up gcs2 127.0.0.1:14601 127.1.0.1:14600 gcs1 127.0.0.1:14600 ||
	fail "telem gcs2 -> gcs1 never came up"
echo "  flows up through the relay"

# json FILE EXPR: evaluate a Python expression on the JSON object j.
json() { python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
app() { # app NAME HOST ARGS...: start bench_flow in HOST, output in NAME.json
	local name=$1 host=$2
	shift 2
	lab_exec "$host" "$BF" "$@" >"$LAB_DIR/$name.json" 2>"$LAB_DIR/$name.err" &
	APP_PIDS[$name]=$!
}
declare -A APP_PIDS=()
app_wait() { wait "${APP_PIDS[$1]}" || fail "$1: $(cat "$LAB_DIR/$1.json" "$LAB_DIR/$1.err")"; }

# 1. N:N, 10,000 datagrams each way, intact, none lost; the canary text fills
#    every datagram and must never appear in what the server receives.
N=10000
app m_drone1 drone1 --bind 127.0.0.1:14550 --to 127.1.0.1:14550 --id drone1 --count $N \
	--size 400 --rate 2000 --expect $N --timeout 40000 --fill "$CANARY" --delay 500
app m_gcs1 gcs1 --bind 127.0.0.1:14550 --to 127.1.0.1:14550 --id gcs1 --count $N \
	--size 400 --rate 2000 --expect $N --timeout 40000 --fill "$CANARY" --delay 500
app_wait m_drone1
app_wait m_gcs1
for a in m_drone1 m_gcs1; do
	[ "$(json "$LAB_DIR/$a.json" 'j["received"] == 10000 and j["dup"] == 0 and j["corrupt"] == 0')" = True ] ||
		fail "$a: $(cat "$LAB_DIR/$a.json")"
done
echo "  mavlink N:N: 10000 each way, none lost, none corrupt"
sleep 0.5
kill -INT "${LAB_PIDS[capture]}" 2>/dev/null || true
wait_until 5 test -s "$LAB_DIR/server.pcap" || fail "no capture"
sleep 0.3
[ "$(stat -c %s "$LAB_DIR/server.pcap")" -gt 3000000 ] || fail "capture too small: the traffic did not cross the server"
if grep -aq "$CANARY" "$LAB_DIR/server.pcap" || grep -aq "PLAINTEXT" "$LAB_DIR/server.pcap"; then
	fail "plaintext seen by the server"
fi
echo "  the server's capture ($(stat -c %s "$LAB_DIR/server.pcap") bytes) holds no plaintext"

# 2. 1:N: both sinks get every datagram. N:1: gcs1's app answers each sender;
#    each source gets only its own replies, and the sink tells sources apart.
app v_gcs1 gcs1 --bind 127.0.0.1:5600 --expect 2000 --timeout 20000
app v_gcs2 gcs2 --bind 127.0.0.1:5600 --expect 2000 --timeout 20000
app t_gcs1 gcs1 --bind 127.0.0.1:14600 --echo --expect 2000 --timeout 20000
sleep 0.2
app v_drone1 drone1 --bind 127.0.0.1:5601 --to 127.1.0.1:5600 --id drone1 --count 2000 --size 1200 --rate 500
app t_drone1 drone1 --bind 127.0.0.1:14601 --to 127.1.0.1:14600 --id drone1 --count 1000 --rate 250 --expect-echo 1000 --timeout 20000
app t_gcs2 gcs2 --bind 127.0.0.1:14601 --to 127.1.0.1:14600 --id gcs2 --count 1000 --rate 250 --expect-echo 1000 --timeout 20000
for a in v_drone1 t_drone1 t_gcs2 v_gcs1 v_gcs2 t_gcs1; do app_wait $a; done
for a in v_gcs1 v_gcs2; do
	[ "$(json "$LAB_DIR/$a.json" 'j["received"] == 2000 and j["dup"] == 0')" = True ] || fail "$a: $(cat "$LAB_DIR/$a.json")"
done
for a in t_drone1 t_gcs2; do
	[ "$(json "$LAB_DIR/$a.json" 'j["echo"] == 1000 and j["foreign"] == 0 and j["echo_dup"] == 0')" = True ] ||
		fail "$a: $(cat "$LAB_DIR/$a.json")"
done
[ "$(json "$LAB_DIR/t_gcs1.json" 'j["senders"]["drone1"]["from"] != j["senders"]["gcs2"]["from"] and not j["senders"]["drone1"]["multi_addr"]')" = True ] ||
	fail "the sink app cannot tell the sources apart: $(cat "$LAB_DIR/t_gcs1.json")"
echo "  video 1:N: both sinks got all 2000; telem N:1: each source got exactly its 1000 replies"

# 3. A third host sprays every relay port: nothing is forwarded to anyone.
# (--expect 0 --linger D: just listen for D ms)
app s_gcs1 gcs1 --bind 127.0.0.1:14550 --linger 3000
app s_drone1 drone1 --bind 127.0.0.1:14550 --linger 3000
app s_gcs2 gcs2 --bind 127.0.0.1:5600 --linger 3000
sleep 0.2
lab_exec third bash -c 'for p in $(seq 2000 3999); do echo -n "stray-from-third" >/dev/udp/203.0.113.10/$p; done' 2>/dev/null || true
for a in s_gcs1 s_drone1 s_gcs2; do
	wait "${APP_PIDS[$a]}" || true
	[ "$(json "$LAB_DIR/$a.json" 'j["received"] + j["foreign"]')" = 0 ] || fail "$a got something: $(cat "$LAB_DIR/$a.json")"
done
echo "  2000 relay ports sprayed from a third host: nothing forwarded"

# Datagrams up to the flow's mtu (1400 by default) pass intact; larger ones
# are refused, never truncated.
app z_gcs2 gcs2 --bind 127.0.0.1:5600 --linger 2500
sleep 0.2
lab_exec drone1 "$BF" --bind 127.0.0.1:5601 --to 127.1.0.1:5600 --id big --count 5 --size 1401 --rate 50 >/dev/null
lab_exec drone1 "$BF" --bind 127.0.0.1:5601 --to 127.1.0.1:5600 --id max --count 5 --size 1400 --rate 50 >/dev/null
wait "${APP_PIDS[z_gcs2]}" || true
[ "$(json "$LAB_DIR/z_gcs2.json" '(j["received"], j["corrupt"], sorted(j["senders"]))')" = "(5, 0, ['max'])" ] ||
	fail "mtu: $(cat "$LAB_DIR/z_gcs2.json")"
echo "  1400-byte datagrams pass intact, 1401-byte ones are refused"

# 4. Add gcs2 to mavlink by editing routes.conf: it gets traffic within 1 s,
#    and the running flows lose nothing; removing it stops it.
app e_gcs1 gcs1 --bind 127.0.0.1:14550 --expect 3000 --timeout 30000
app e_video gcs1 --bind 127.0.0.1:5600 --expect 3000 --timeout 30000
app e_gcs2 gcs2 --bind 127.0.0.1:14550 --linger 8500
sleep 0.2
app e_drone1 drone1 --bind 127.0.0.1:14550 --to 127.1.0.1:14550 --id drone1 --count 3000 --rate 375
app e_vdrone1 drone1 --bind 127.0.0.1:5601 --to 127.1.0.1:5600 --id drone1 --count 3000 --rate 375
sleep 2
t_add=$(date +%s%3N)
write_conf gcs2 >"$LAB_DIR/routes.conf.new"
mv "$LAB_DIR/routes.conf.new" "$LAB_DIR/routes.conf"
sleep 3
write_conf >"$LAB_DIR/routes.conf.new"
mv "$LAB_DIR/routes.conf.new" "$LAB_DIR/routes.conf"
for a in e_drone1 e_vdrone1 e_gcs1 e_video; do app_wait $a; done
wait "${APP_PIDS[e_gcs2]}" || true
first=$(json "$LAB_DIR/e_gcs2.json" 'j["first_rx_wall_ms"]')
got=$(json "$LAB_DIR/e_gcs2.json" 'j["received"]')
[ "$first" -gt 0 ] || fail "gcs2 never got mavlink traffic after being added"
delay=$((first - t_add))
[ "$delay" -le 1000 ] || fail "gcs2 got its first mavlink datagram ${delay} ms after the save (want <= 1000)"
# While it was a member (3 s at 375/s) it got most of the stream, and after
# the removal (3 s of the stream left) it got nothing more: at most 3 s + 1 s
# of traffic.
[ "$got" -ge 560 ] && [ "$got" -le 1500 ] || fail "gcs2 got $got mavlink datagrams (want 560..1500)"
for a in e_gcs1 e_video; do
	[ "$(json "$LAB_DIR/$a.json" 'j["received"]')" = 3000 ] || fail "$a lost traffic during the edits: $(cat "$LAB_DIR/$a.json")"
done
echo "  gcs2 added: first datagram after ${delay} ms; removed: stopped ($got received); other flows lost nothing"

# 5. Kill the server and start it again: clients re-register, flows work again.
#    With keepalive_s = 10, waiting for 3 silent intervals would take 30 s;
#    unanswered PINGs must bring the clients back well within 20 s.
lab_stop server || true
t_restart=$(date +%s)
lab_start_in srv server2 "$LAB_BIN/wormhole-server" -c "$LAB_DIR/routes.conf" --log-level debug
wait_until 5 grep -q "server: running" "$LAB_DIR/server2.log" || fail "server did not restart"
wait_until 20 flow_up drone1 127.0.0.1:14550 127.1.0.1:14550 gcs1 127.0.0.1:14550 ||
	fail "mavlink did not come back after the server restart"
echo "  flow back $(($(date +%s) - t_restart)) s after the server restart"
app r_gcs1 gcs1 --bind 127.0.0.1:14550 --expect 500 --timeout 10000
sleep 0.2
app r_drone1 drone1 --bind 127.0.0.1:14550 --to 127.1.0.1:14550 --id drone1 --count 500 --rate 250
app_wait r_drone1
app_wait r_gcs1
echo "  server restarted: clients re-registered, 500 of 500 datagrams through"

lab_teardown
lab_pass
