#!/usr/bin/env bash
# test_congestion: congestion reports and "maximum throughput reached"
# (issue #9, acceptance 2): a sender ramps from 2 to 20 Mbit/s through a
# 10 Mbit/s bottleneck, then drops to 5 Mbit/s. The sending client must log
# the flow saturated within 2 s of crossing 10 Mbit/s, with capacity_kbps
# within 20 % of 10,000, and cleared within 2 s of the drop. Twice: with the
# flow's own bottleneck (impair rate_kbps, in gcs1's client), and with a
# tbf on the link to gcs1 (the network's bottleneck). In the first run the
# local API reports it too (acceptance 3): a watcher on drone1's
# /api/v1/events gets hello, then saturated, then cleared for video, and
# GET /api/v1/flows/video says saturated with capacity_kbps within 20 % of
# 10,000 while it is. Then (3) a saturated flow whose source stops must
# clear by itself, and a sink that goes away must drop out of its flow's
# numbers.
#
#                 +-------------------------------+
#                 | srv  203.0.113.10, .11        |
#                 | wormhole-server :7400/:7401   |
#                 +---------------+---------------+
#                                 | internet (bridge)
#              +------------------+------------------+
#              | dnat port-restr. 198.51.100.1       | gnat port-restr. 198.51.100.2
#              +------------------+                  +------------------+
#                                 |                  h-gcs1: tbf 10 Mbit/s (run 2)
#                          drone1 10.0.1.2                   gcs1 10.0.2.2, gcs2 10.0.2.3
#
# Flows drone1 -> gcs1: video 5600 with impair { rate_kbps = 10000; },
# bulk 5700 without impairment; drone1 -> gcs1, gcs2: fan 5800 with impair
# { rate_kbps = 5000; }. Apps are tools/bench_flow; 1250-byte datagrams, so
# 1000/s is 10 Mbit/s of payload.
# lab-run: alone (it measures a path's capacity)
set -euo pipefail
source "$(dirname "$0")/../../tools/lab/lib.sh"
source "$LAB_ROOT/tools/lab/topo.sh"
lab_init congestion
[ "$(id -u)" = 0 ] || fail "needs root for network namespaces"
BF=${BENCH_FLOW:-$LAB_ROOT/build/release/tools/bench_flow}
[ -x "$BF" ] || fail "$BF missing (make build-tests builds it)"

lab_keys server drone1 gcs1 gcs2
lab_routes 'keepalive_s = 10;' drone1 gcs1 gcs2 >"$LAB_DIR/routes.conf" <<CONF
flows: (
  { name = "video"; proto = "udp"; port = 5600; from = ["drone1"]; to = ["gcs1"];
    impair = { rate_kbps = 10000; }; },
  { name = "bulk"; proto = "udp"; port = 5700; from = ["drone1"]; to = ["gcs1"]; },
  { name = "fan"; proto = "udp"; port = 5800; from = ["drone1"]; to = ["gcs1", "gcs2"];
    impair = { rate_kbps = 5000; }; }
);
CONF

lab_two_sites
lab_host gcs2 gnat 10.0.2.3

lab_wh_server srv
lab_wh_clients drone1 gcs1 gcs2

flow_up() {
	lab_exec gcs1 "$BF" --bind 127.0.0.1:5700 --expect 1 --timeout 400 --linger 0 >/dev/null 2>&1 &
	local rx=$!
	sleep 0.05
	lab_exec drone1 "$BF" --bind 127.0.0.1:15700 --to 127.1.0.1:5700 --count 3 --rate 50 --timeout 100 >/dev/null 2>&1 || true
	wait $rx
}
wait_until 20 flow_up || fail "flows never came up"
echo "  flows up through the relay"

# ramp NAME PORT: 2 -> 20 Mbit/s over 9 s (10 Mbit/s at 4 s), then 5 Mbit/s
# for 4 s; prints nothing, leaves NAME-rx.json and NAME-tx.json.
ramp() {
	lab_exec gcs1 "$BF" --bind "127.0.0.1:$2" --linger 14500 --timeout 14500 \
		>"$LAB_DIR/$1-rx.json" 2>&1 &
	local rx=$!
	sleep 0.2
	lab_exec drone1 "$BF" --bind "127.0.0.1:1$2" --to "127.1.0.1:$2" --id drone1 \
		--size 1250 --count 1000000 --ramp 0:200,9000:2000,9001:500,13000:500 \
		--timeout 14000 >"$LAB_DIR/$1-tx.json" 2>&1 || true
	wait $rx || true
}

# judge NAME FLOW LOG_FROM_LINE: the saturated/cleared lines of FLOW in
# drone1's log (from line LOG_FROM_LINE on) against the ramp's timeline.
judge() {
	python3 - "$LAB_DIR/$1-tx.json" "$LAB_DIR/client-drone1.log" "$2" "$3" "$1" <<'PY'
import datetime, json, re, sys
tx = json.load(open(sys.argv[1]))
start = tx["tx_start_wall_ms"]
lines = open(sys.argv[2]).read().splitlines()[int(sys.argv[4]):]
pat = re.compile(r"^(\S+) info  flow " + sys.argv[3] + r": (saturated|cleared) capacity_kbps=(\d+) send_kbps=(\d+) loss=([0-9.]+)")
ev = []
for l in lines:
    m = pat.match(l)
    if m:
        t = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
        ev.append((int(t.timestamp() * 1000) - start, m.group(2), int(m.group(3)), int(m.group(4)), float(m.group(5))))
kinds = [e[1] for e in ev]
ok = kinds == ["saturated", "cleared"]
if ok:
    sat, clr = ev
    ok = 4000 - 500 <= sat[0] <= 4000 + 2000 and abs(sat[2] - 10000) <= 2000 \
        and 9000 <= clr[0] <= 9000 + 2000 and abs(clr[2] - 10000) <= 2000
print("  %s: %s" % (sys.argv[5], "; ".join("%s at %.2f s (capacity_kbps=%d send_kbps=%d loss=%.3f)" % (e[1], e[0] / 1000, e[2], e[3], e[4]) for e in ev) or "no events"))
sys.exit(0 if ok else 1)
PY
}

API=http://127.1.0.1:7070/api/v1 # drone1's local API (the default address)

# saturated_now: drone1's API shows video saturated; keeps the answer.
saturated_now() {
	lab_exec drone1 curl -sf --max-time 1 "$API/flows/video" >"$LAB_DIR/flows-video.json" &&
		grep -q '"saturated":true' "$LAB_DIR/flows-video.json"
}

# judge_api: the watcher's events and the /flows answer while saturated.
judge_api() {
	python3 - "$LAB_DIR/watcher.log" "$LAB_DIR/flows-video.json" <<'PY'
import json, sys
events, name = [], None
for line in open(sys.argv[1]).read().splitlines():
    if line.startswith("event: "):
        name = line[7:]
    elif line.startswith("data: ") and name:
        events.append((name, json.loads(line[6:])))
        name = None
video = [(n, d["saturated"]) for n, d in events if n in ("saturated", "cleared") and d.get("name") == "video"]
flow = json.load(open(sys.argv[2]))
print("  API: events %s; /flows/video while saturated: saturated=%s capacity_kbps=%s" %
      ([n for n, _ in events], flow.get("saturated"), flow.get("capacity_kbps")))
ok = events[:1] and events[0][0] == "hello" and video == [("saturated", True), ("cleared", False)]
ok = ok and flow.get("saturated") is True and flow.get("capacity_kbps") is not None \
    and abs(flow["capacity_kbps"] - 10000) <= 2000
sys.exit(0 if ok else 1)
PY
}

# 1. The flow's own bottleneck (impair rate_kbps = 10000 at gcs1), watched
# through drone1's local API.
from=$(wc -l <"$LAB_DIR/client-drone1.log")
lab_start_in drone1 watcher curl -sN --max-time 16 "$API/events"
wait_until 5 grep -q "^event: hello" "$LAB_DIR/watcher.log" || fail "no hello on /api/v1/events"
ramp video 5600 &
ramp_pid=$!
wait_until 9 saturated_now || echo "  /api/v1/flows/video never said saturated"
wait $ramp_pid
wait "${LAB_PIDS[watcher]}" || true # curl ends at --max-time
unset "LAB_PIDS[watcher]"
judge video video "$from" || fail "video (rate_kbps bottleneck): see above; crossing at 4 s, drop at 9 s"
judge_api || fail "local API: want hello, saturated, cleared for video and capacity_kbps 10000 +- 20 %"

# 2. The network's bottleneck: tbf 10 Mbit/s towards gcs1, flow bulk.
lab_rate gnat h-gcs1 10000
from=$(wc -l <"$LAB_DIR/client-drone1.log")
ramp bulk 5700
lab_rate gnat h-gcs1 0
judge bulk bulk "$from" || fail "bulk (tbf bottleneck): see above; crossing at 4 s, drop at 9 s"

# 3. fan (drone1 -> gcs1, gcs2; rate_kbps = 5000 at each): 8 Mbit/s for
# 1.5 s saturates it. (a) The source stops: no send and no report comes
# any more, yet "saturated" must clear within 2.5 s (an event, and the
# flows API with send_kbps 0, not the last burst). (b) gcs2's client stops
# and 1 Mbit/s goes to the flow: its state must follow gcs1's reports
# (send_kbps about 1000, no loss), not gcs2's last ones.
fan_rx() { # NODE MS: an app for fan in NODE for MS ms
	lab_exec "$1" "$BF" --bind 127.0.0.1:5800 --linger "$2" --timeout "$2" >/dev/null 2>&1
}
fan_tx() { # RATE COUNT: datagrams/s and how many, to fan from drone1
	lab_exec drone1 "$BF" --bind 127.0.0.1:15800 --to 127.1.0.1:5800 --id drone1 --size 1250 \
		--rate "$1" --count "$2" --timeout 10000 >/dev/null 2>&1 || true
}
fan_up() {
	lab_exec gcs2 "$BF" --bind 127.0.0.1:5800 --expect 1 --timeout 400 --linger 0 >/dev/null 2>&1 &
	local rx=$!
	sleep 0.05
	fan_tx 50 3
	wait $rx
}
# fan_api PYEXPR: PYEXPR (Python, j: drone1's /flows/fan answer) holds.
fan_api() {
	lab_exec drone1 curl -sf --max-time 1 "$API/flows/fan" >"$LAB_DIR/flows-fan.json" &&
		python3 -c 'import json, sys; j = json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' \
			"$LAB_DIR/flows-fan.json" "$1"
}
fan_cleared_event() {
	grep -A1 '^event: cleared' "$LAB_DIR/watcher-fan.log" | grep -q '"name":"fan"'
}
wait_until 10 fan_up || fail "fan never came up at gcs2"
problems=""
lab_start_in drone1 watcher-fan curl -sN --max-time 12 "$API/events"
wait_until 5 grep -q "^event: hello" "$LAB_DIR/watcher-fan.log" || fail "no hello on /api/v1/events"
fan_rx gcs1 8500 &
rx1=$!
fan_rx gcs2 4000 &
rx2=$!
sleep 0.2
fan_tx 800 1200 &
tx=$!
wait_until 2 fan_api 'j["saturated"]' || fail "fan never saturated: $(cat "$LAB_DIR/flows-fan.json")"
wait $tx
stop_ms=$(date +%s%3N)
if wait_until 2.5 fan_cleared_event; then
	echo "  fan: cleared $(($(date +%s%3N) - stop_ms)) ms after its source stopped"
else
	problems+=" no cleared event within 2.5 s of the source stopping;"
fi
wait_until 1.5 fan_api 'not j["saturated"] and j["send_kbps"] == 0' ||
	problems+=" idle: $(cat "$LAB_DIR/flows-fan.json");"
wait $rx2 || true
lab_stop client-gcs2 || true
fan_tx 100 250 &
tx=$!
sleep 2
fan_api 'j["loss"] < 0.05 and 700 <= j["send_kbps"] <= 1300' ||
	problems+=" without gcs2: $(cat "$LAB_DIR/flows-fan.json");"
wait $tx
wait $rx1 || true
lab_stop watcher-fan || true
[ -z "$problems" ] || fail "fan:$problems"
echo "  fan: without gcs2: $(cut -c1-110 "$LAB_DIR/flows-fan.json")"

lab_teardown
lab_pass
