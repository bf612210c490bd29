#!/usr/bin/env bash
# test_twin: one identity, two processes (a cloned SD card; PROTOCOL.md
# "One identity, two processes").
#
#                 srv 203.0.113.10 (wormhole-server, keepalive 5 s)
#                              | internet
#     dnat 198.51.100.1     gnat 198.51.100.2     cnat 198.51.100.4
#           |                     |                     |
#     drone1 10.0.1.2        gcs1 10.0.2.2        clone 10.0.3.2
#                                              (drone1's client.ini and key)
#
#  1. drone1 and gcs1 are up; a 100/s stream gcs1 -> drone1 runs.
#  2. The clone starts with drone1's id and key. The server refuses it (the
#     holder answers its probe): the clone says its id is in use by the
#     process at dnat's address, holds no flows, and `status` says
#     "refused"; the server names both, and its API shows the refusals
#     (`identity_conflict`, /metrics). Over 14 s (the clone tries again
#     after its 10 s retry) the stream to drone1 loses nothing.
#  3. drone1 is killed (-9): the clone takes the identity on its next try
#     and gets the flow.
#  4. The clone is killed (-9) and drone1 starts again at once (a crashed
#     client restarted): the holder does not answer the probe, so the new
#     process takes over within a few seconds, not after the offline
#     interval.
#  5. drone1 is stopped (SIGTERM) and started again: it told the server it
#     stops (LEAVE), so the API shows it offline at once and the new process
#     is not held back for a probe.
#  6. drone1 is killed (-9) and started again with its wall clock in 1970
#     (tests/shim/clockshim.c; a drone without a real-time clock before NTP):
#     its stamps are far below the last ones, the server probes the old
#     process, finds it gone and takes them; the flow is back within 8 s
#     (the build before: after the offline interval, 15 s here).
set -euo pipefail
source "$(dirname "$0")/../../tools/lab/lib.sh"
source "$LAB_ROOT/tools/lab/topo.sh"
lab_init twin
[ "$(id -u)" = 0 ] || fail "needs root for network namespaces"
[ -x "$LAB_BF" ] || fail "$LAB_BF missing (make build-tests builds it)"
SHIM=$LAB_ROOT/build/release/tests/clockshim.so
[ -f "$SHIM" ] || fail "$SHIM missing (make build-tests builds it)"

lab_keys server drone1 gcs1
TOKEN=twin-test-token-0123456789abcd
lab_routes "keepalive_s = 5; api = { listen = \"203.0.113.10:7480\"; tokens = [\"$TOKEN\"]; };" \
	drone1 gcs1 >"$LAB_DIR/routes.conf" <<CONF
flows: ( { name = "mav"; proto = "udp"; port = 14550; members = ["drone1", "gcs1"]; } );
CONF
lab_two_sites
lab_nat cnat port-restricted-cone 198.51.100.4 10.0.3.0/24
lab_host clone cnat 10.0.3.2
lab_wh_server srv
lab_client_ini drone1 203.0.113.10:7400
lab_client_ini gcs1 203.0.113.10:7400
cp "$LAB_DIR/drone1.ini" "$LAB_DIR/clone.ini" # the same id, key file and server
lab_wh_client drone1
lab_wh_client gcs1
SLOG=$LAB_DIR/server.log
api() { lab_exec srv curl -s --max-time 5 -H "Authorization: Bearer $TOKEN" "http://203.0.113.10:7480$1"; }
CLOG=$LAB_DIR/client-clone.log

# --- 1. the holder -------------------------------------------------------------
wait_until 20 lab_flow_up gcs1 drone1 14550 || fail "no datagram gcs1 -> drone1"
holder=$(grep -o 'client drone1: online addr=[0-9.:]*' "$SLOG" | head -n 1 | sed 's/.*addr=//')
[ -n "$holder" ] || fail "the server logged no address for drone1"
lab_stream_start down gcs1 drone1 14550 100 200
sleep 1
echo "  $(lab_at) drone1 online from $holder; stream gcs1 -> drone1 at 100/s"

# --- 2. the clone is refused ---------------------------------------------------
lab_wh_client clone
wait_until 10 grep -q "server: id drone1 is in use by another running process at $holder" "$CLOG" ||
	fail "the clone was not told its id is in use: $(grep 'server:' "$CLOG" | tail -n 5)"
grep -q "client drone1: two processes with this identity: the one at $holder holds it and answers, the one at 198.51.100.4:[0-9]* is refused" "$SLOG" ||
	fail "the server did not name both processes: $(grep 'client drone1' "$SLOG" | tail -n 5)"
st=$(lab_status clone) || fail "status of the clone failed"
python3 -c 'import json, sys; j = json.loads(sys.argv[1]); s = j["server"]
assert s["session"] == "refused" and s["held_by"] == sys.argv[2], s
assert j["flows"] == [] and j["peers"] == [], j' "$st" "$holder" ||
	fail "status of the clone: $st"
lab_exec clone "$LAB_BIN/wormhole-client" -c "$LAB_DIR/clone.ini" status |
	grep -q "this id is in use by another process (at $holder)" || fail "plain status of the clone"
c=$(api /api/v1/clients/drone1) || fail "GET /api/v1/clients/drone1 failed"
python3 -c 'import json, sys; j = json.loads(sys.argv[1]); c = j["identity_conflict"]
assert j["online"] and j["mapped_address"] == sys.argv[2], j
assert c["refusals"] >= 1 and c["last_address"].startswith("198.51.100.4:") and c["last_ms_ago"] < 10000, c' \
	"$c" "$holder" || fail "the API does not show the refused clone: $c"
api /metrics | grep -Eq '^wormhole_identity_refusals_total [1-9]' || fail "no refusal in /metrics"
echo "  $(lab_at) the clone is refused: $(grep -o 'server: id drone1 is in use.*' "$CLOG" | head -n 1)"
sleep 14 # past the clone's next try (10 s and up to a quarter more)
tries=$(grep -c 'server: session established, registering (refused so far)' "$CLOG" || true)
[ "$tries" -ge 2 ] || fail "the clone tried $tries times in 15 s (want 2 or more)"
lab_stream_stop down
lab_stream_lossless down gcs1 1500 "while the clone tries"
grep -q "client drone1: restarted" "$SLOG" && fail "the server took the clone for a restart of drone1"
[ "$(lab_status drone1 | python3 -c 'import json, sys; print(json.load(sys.stdin)["server"]["session"])')" = up ] ||
	fail "drone1's server session is not up"
echo "  $(lab_at) the clone tried $tries times; drone1 kept its session and its stream"

# --- 3. the holder dies: the clone takes over ---------------------------------
kill -9 "${LAB_PIDS[client-drone1]}"
wait "${LAB_PIDS[client-drone1]}" 2>/dev/null || true
unset "LAB_PIDS[client-drone1]"
t0=$(date +%s%N)
echo "  $(lab_at) drone1 killed (-9)"
wait_until 20 grep -q "server: this process holds id drone1 now" "$CLOG" ||
	fail "the clone did not take the identity: $(grep 'server:' "$CLOG" | tail -n 5)"
wait_until 15 lab_flow_up gcs1 clone 14550 || fail "no datagram gcs1 -> the clone"
echo "  $(lab_at) the clone holds drone1 and gets the flow, $((($(date +%s%N) - t0) / 1000000)) ms after the kill"

# --- 4. a crashed holder restarted at once ------------------------------------
kill -9 "${LAB_PIDS[client-clone]}"
wait "${LAB_PIDS[client-clone]}" 2>/dev/null || true
unset "LAB_PIDS[client-clone]"
t0=$(date +%s%N)
lab_wh_client drone1 again
DLOG=$LAB_DIR/client-drone1-again.log
echo "  $(lab_at) the clone killed (-9) and drone1 started again"
wait_until 8 lab_flow_up gcs1 drone1 14550 || fail "drone1 did not get its flow back within 8 s: $(grep 'server:' "$DLOG" | tail -n 5)"
ms=$((($(date +%s%N) - t0) / 1000000))
grep -q "another process had id drone1 at 198.51.100.4:[0-9]* until just now; the server checks that it is gone" "$DLOG" ||
	fail "drone1 was not checked against the clone's session: $(grep 'server:' "$DLOG" | tail -n 5)"
grep -q "client drone1: the process at 198.51.100.4:[0-9]* left 1500 ms of probes unanswered: the one at $holder" "$SLOG" ||
	grep -q "client drone1: the process at 198.51.100.4:[0-9]* left 1500 ms of probes unanswered: the one at 198.51.100.1:[0-9]* takes over" "$SLOG" ||
	fail "the server did not say the clone was gone: $(grep 'client drone1' "$SLOG" | tail -n 5)"
echo "  $(lab_at) drone1 holds its id again and gets the flow, $ms ms after its start"

# --- 5. a clean restart -----------------------------------------------------------
# A stopped client says so (LEAVE): the server frees its identity at once and
# the next process is not held back for a probe.
lab_stop client-drone1-again || fail "drone1 did not stop cleanly"
wait_until 2 grep -q "client drone1: offline (its process stopped)" "$SLOG" ||
	fail "the server did not hear drone1 stop"
api /api/v1/clients/drone1 | grep -q '"online":false' || fail "the API shows a stopped drone1 online"
t0=$(date +%s%N)
lab_wh_client drone1 third
wait_until 8 lab_flow_up gcs1 drone1 14550 || fail "drone1 did not get its flow back after a clean restart"
ms=$((($(date +%s%N) - t0) / 1000000))
grep -q "the server checks that it is gone" "$LAB_DIR/client-drone1-third.log" &&
	fail "a cleanly restarted drone1 was held back for a probe"
echo "  $(lab_at) drone1 stopped (it told the server) and started again: flow back $ms ms after its start"

# --- 6. a crashed holder restarted with its clock back in 1970 -------------------
# A drone without a real-time clock restarted before NTP: its wall clock
# reads 1970, so its stamps come from its monotonic clock, far below those
# the server took from the process before. The server probes that process
# (gone) and takes the lower stamp: drone1 is back within 8 s, not after the
# offline interval (3 keepalive intervals: 15 s here, 75 s at the default).
kill -9 "${LAB_PIDS[client-drone1-third]}"
wait "${LAB_PIDS[client-drone1-third]}" 2>/dev/null || true
unset "LAB_PIDS[client-drone1-third]"
t0=$(date +%s%N)
lab_start_in drone1 client-drone1-fourth env LD_PRELOAD="$SHIM" CLOCKSHIM_REALTIME=0 \
	"$LAB_BIN/wormhole-client" -c "$LAB_DIR/drone1.ini" --log-level debug
wait_until 8 lab_flow_up gcs1 drone1 14550 ||
	fail "drone1, restarted with its clock in 1970, did not get its flow back within 8 s: $(grep 'client drone1' "$SLOG" | tail -n 3)"
ms=$((($(date +%s%N) - t0) / 1000000))
grep -q "client drone1: a handshake from 198.51.100.1:[0-9]* with an older stamp while the process at 198.51.100.1:[0-9]* is live" "$SLOG" ||
	fail "the server did not check the old process for a lower stamp: $(grep 'client drone1' "$SLOG" | tail -n 3)"
echo "  $(lab_at) drone1 crashed and started again with its clock in 1970: flow back $ms ms after its start"
lab_teardown
lab_pass
