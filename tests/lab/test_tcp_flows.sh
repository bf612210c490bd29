#!/usr/bin/env bash
# test_tcp_flows: TCP flows over reliable streams (issue #8, acceptance 1-4).
#
#        srv 203.0.113.10/.11 (wormhole-server)
#                    | internet
#     dnat port-restricted 198.51.100.1     gnat port-restricted 198.51.100.2
#                    |                                 |
#             drone1 10.0.1.2                    gcs1 10.0.2.2
#
# Flows, all from gcs1 (source, 127.1.0.1:PORT) to drone1 (sink, 127.0.0.1:PORT):
#   copy 2222  drone1 runs `tcpecho server --mode sink` (hash, answer after EOF)
#   echo 2223  drone1 runs `tcpecho server --mode echo`
#   dead 2224  nothing listens on drone1: the connection must close within 2 s
#   slow 2225  a sink that reads 4 MB/s: the writer is slowed down to it
#              (back-pressure) and the clients' memory stays bounded
#   order 2226 a sink that records the order of its connections
# Phase 1, the relay (routes.conf punch = false): a copy at 0 % and at 3 %
#   loss (nftables on dnat's wan link, both ways), byte-identical by checksum
#   and byte count; the reply comes after the client's half-close. 50
#   concurrent connections each echo 1 MB. The dead target. Connection order.
#   300 short connections in a row.
# Phase 2, a direct path (both NATs port-restricted: punching succeeds):
#   copies at 0 % and 3 % loss, then a copy during which dnat blocks gcs1's
#   public address (the direct path): the pair falls back to the relay and
#   the copy completes intact. Then drone1's client crashes and restarts
#   during a copy: gcs1 resets the connection within seconds (the peer's new
#   boot id).
# Phase 3, the direct path as a field link (200 Mbit/s, 10 ms each way, 3 %
#   loss): a copy and 20 echoes intact; receive buffers grew. Then drone1's
#   client is killed (a crash or a power loss: nobody is told): a new
#   connection to the flow is reset within 2 s, not left to hang.
# An app retrying 20 times a second, to the refused target (phase 1) and to
# the gone drone1 (phase 3), gets 5 log lines at once, then one a second.
# Sizes: TCP_FLOW_MB (default 100) for the relay at 0 % loss, TCP_FLOW_SMALL_MB
# (default 100 as well; the switch copy is three times that) for the others,
# TCP_FLOW_FIELD_MB (default 40) over the field link: about 25 s in all.
# Lower them on a slow machine.
# TCP_FLOW_KEEP_LOGS=1
# keeps the logs (with each stream's counters) in build/lab-logs/tcp_flows.
# lab-run: alone (100 MB copies load both cores)
set -euo pipefail
source "$(dirname "$0")/../../tools/lab/lib.sh"
source "$LAB_ROOT/tools/lab/topo.sh"
lab_init tcp_flows
[ "$(id -u)" = 0 ] || fail "needs root for network namespaces"
TE=${TCPECHO:-$LAB_ROOT/build/release/tests/tcpecho}
[ -x "$TE" ] || fail "$TE missing (make build-tests builds it)"
BIG_MB=${TCP_FLOW_MB:-100}
SMALL_MB=${TCP_FLOW_SMALL_MB:-100}
FIELD_MB=${TCP_FLOW_FIELD_MB:-40}

lab_keys server drone1 gcs1
# write_conf PUNCH
write_conf() {
	lab_routes "keepalive_s = 5; punch = $1;" drone1 gcs1 >"$LAB_DIR/routes.conf" <<CONF
flows: (
  { name = "copy"; proto = "tcp"; port = 2222; from = ["gcs1"]; to = ["drone1"]; },
  { name = "echo"; proto = "tcp"; port = 2223; from = ["gcs1"]; to = ["drone1"]; },
  { name = "dead"; proto = "tcp"; port = 2224; from = ["gcs1"]; to = ["drone1"]; },
  { name = "slow"; proto = "tcp"; port = 2225; from = ["gcs1"]; to = ["drone1"]; },
  { name = "order"; proto = "tcp"; port = 2226; from = ["gcs1"]; to = ["drone1"]; }
);
CONF
}

lab_two_sites
for n in drone1 gcs1; do lab_client_ini "$n" 203.0.113.10:7400; done
lab_start_in drone1 sink "$TE" server --bind 127.0.0.1:2222 --mode sink
lab_start_in drone1 echo "$TE" server --bind 127.0.0.1:2223 --mode echo
lab_start_in drone1 slow "$TE" server --bind 127.0.0.1:2225 --mode sink --read-kBps 4000

# start_daemons TAG: server and both clients, logs server-TAG.log, client-NAME-TAG.log.
start_daemons() {
	lab_wh_server srv "$1"
	for n in drone1 gcs1; do lab_wh_client "$n" "$1"; done
}
stop_daemons() {
	lab_stop "client-gcs1-$1" || true
	lab_stop "client-drone1-$1" || true
	lab_stop "server-$1" || true
}
field() { python3 -c "import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])[sys.argv[2]])" "$1" "$2"; }

# copy NAME MB: gcs1 copies MB megabytes to drone1's sink through the flow.
copy() {
	local out=$LAB_DIR/$1.json
	lab_exec gcs1 "$TE" copy --to 127.1.0.1:2222 --bytes $(($2 * 1048576)) --timeout-ms 240000 >"$out" ||
		fail "$1: copy failed: $(cat "$out")"
	echo "  $1: $2 MB intact (checksum and length), $(field "$out" mbit_s) Mbit/s"
}
flow_ready() { lab_exec gcs1 "$TE" copy --to 127.1.0.1:2222 --bytes 1000 --timeout-ms 3000; }

# --- 1. the relay ----------------------------------------------------------------
write_conf false
start_daemons r
wait_until 20 flow_ready || fail "the copy flow never came up on the relay"
copy relay_0pct "$BIG_MB"
lab_loss dnat wan 3
copy relay_3pct "$SMALL_MB"
lab_loss dnat wan 0

# The local API lists TCP flows too (GET /api/v1/flows/NAME on each client):
# the bytes copied so far went out of gcs1 and into drone1, each once.
API=http://127.1.0.1:7070/api/v1
api_flow() { lab_exec "$1" curl -sf --max-time 2 "$API/flows/$2"; }
copied=$(((BIG_MB + SMALL_MB) * 1048576))
# The finished copies' streams close within round trips (then they only linger).
closed() {
	local n
	for n in gcs1 drone1; do
		api_flow "$n" copy | python3 -c "import json,sys; sys.exit(json.load(sys.stdin)['connections'])" ||
			return 1
	done
}
wait_until 5 closed || fail "the finished copies' connections still show as open"
api_flow gcs1 copy >"$LAB_DIR/api-gcs1-copy.json" || fail "gcs1: GET /flows/copy failed"
api_flow drone1 copy >"$LAB_DIR/api-drone1-copy.json" || fail "drone1: GET /flows/copy failed"
lab_exec gcs1 "$LAB_BIN/wormhole-client" -c "$LAB_DIR/gcs1.ini" status --json \
	>"$LAB_DIR/status-gcs1.json" || fail "gcs1: wormhole-client status failed"
python3 - "$LAB_DIR/api-gcs1-copy.json" "$LAB_DIR/api-drone1-copy.json" "$copied" \
	"$LAB_DIR/status-gcs1.json" <<'PY' ||
import json, sys
src, dst = (json.load(open(f)) for f in sys.argv[1:3])
n = int(sys.argv[3])
# `wormhole-client status` lists the TCP flows too, with the same counters.
st = {f["name"]: f for f in json.load(open(sys.argv[4]))["flows"]}
assert set(st) == {"copy", "echo", "dead", "slow", "order"}, st
c = st["copy"]
assert c["proto"] == "tcp" and c["port"] == 2222 and c["saturated"] is None, c
assert c["tx_bytes"] == src["tx_bytes"] and c["rx_bytes"] == src["rx_bytes"], (c, src)
for j in (src, dst):
    assert j["proto"] == "tcp" and j["name"] == "copy" and j["connections"] == 0, j
    assert j["saturated"] is False and j["impair"] is None, j
# Stream bytes: the copies, a few 1000-byte probes and 4-byte headers.
assert n <= src["tx_bytes"] < n + 100000 and src["rx_bytes"] < 100000, src
assert n <= dst["rx_bytes"] < n + 100000 and dst["tx_bytes"] < 100000, dst
assert src["tx_packets"] >= n // 1404 and src["loss"] > 0, src
print("  local API: flow copy (tcp): gcs1 tx_bytes %d, drone1 rx_bytes %d, loss %.3f, rtt_ms %s"
      % (src["tx_bytes"], dst["rx_bytes"], src["loss"], src["rtt_ms"]))
PY
	fail "the local API's TCP flow report is wrong: $(cat "$LAB_DIR/api-gcs1-copy.json")"

lab_exec gcs1 "$TE" echo --to 127.1.0.1:2223 --conns 50 --bytes 1048576 --timeout-ms 120000 \
	>"$LAB_DIR/echo50.json" || fail "50 echoes: $(cat "$LAB_DIR/echo50.json")"
echo "  50 connections echoed 1 MB each (half-closed after sending): $(cat "$LAB_DIR/echo50.json")"

lab_exec gcs1 "$TE" connect --to 127.1.0.1:2224 --within-ms 2000 >"$LAB_DIR/dead.json" ||
	fail "dead target: $(cat "$LAB_DIR/dead.json")"
echo "  dead target: the connection was closed after $(field "$LAB_DIR/dead.json" ms) ms (limit 2000)"
grep -q "flow dead: stream .*connect 127.0.0.1:2224" "$LAB_DIR/client-drone1-r.log" ||
	fail "drone1 did not log the refused target"
# An app that retries the refused target 20 times a second (for 3 s here):
# drone1 says so in 5 lines at once, then one a second for the peer, which
# counts those left out (it logged every one: 1,188 lines a minute).
# retry_conns PORT SECONDS: gcs1's app connects 20 times a second.
retry_conns() {
	lab_exec gcs1 python3 -c '
import socket, sys, time
end = time.time() + float(sys.argv[2])
while time.time() < end:
    s = socket.socket()
    try:
        s.connect(("127.1.0.1", int(sys.argv[1])))
    except OSError:
        pass
    time.sleep(0.05)
    s.close()' "$1" "$2"
}
# lines_since LOG MARK PATTERN: LOG's lines after line MARK that match.
lines_since() { tail -n +$(($2 + 1)) "$1" | grep -c "$3" || true; }
mark=$(wc -l <"$LAB_DIR/client-drone1-r.log")
retry_conns 2224 3
sleep 0.5
n=$(lines_since "$LAB_DIR/client-drone1-r.log" "$mark" "flow dead: stream .*connect 127.0.0.1:2224")
echo "  a refused target retried 20 times a second for 3 s: drone1 logged $n lines (limit 5 + 1/s + 2)"
[ "$n" -ge 3 ] && [ "$n" -le 11 ] || fail "drone1 logged $n lines for 3 s of retries to a refused target"
[ "$(lines_since "$LAB_DIR/client-drone1-r.log" "$mark" "2224: .*more like it not logged")" -ge 1 ] ||
	fail "drone1 did not count the lines it left out"
# Connections reach the target in the order the source accepted them (apps
# such as iperf3 --bidir tell theirs apart by it), also when the sink's client
# takes their first frames in one batch: it is stopped (a busy moment) while
# gcs1 opens 8 connections, 20 ms apart, each sending its number.
lab_start_in drone1 ordersink python3 -c '
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 2226))
s.listen(16)
seen, conns = [], []
for _ in range(8):
    c, _ = s.accept()
    c.settimeout(10)
    b = b""
    while not b.endswith(b"\n"):
        d = c.recv(16)
        if not d:
            break
        b += d
    seen.append(b.decode().strip())
    conns.append(c)
print("accepted:" + ",".join(seen), flush=True)'
wait_until 3 lab_tcp_listening drone1 127.0.0.1:2226 || fail "the order sink did not start"
kill -STOP "${LAB_PIDS[client-drone1-r]}"
lab_exec gcs1 python3 -c '
import socket, time
cs = []
for i in range(8):
    c = socket.create_connection(("127.1.0.1", 2226))
    c.sendall(b"%d\n" % i)
    cs.append(c)
    time.sleep(0.02)
time.sleep(3)' &
ORDER_SRC=$!
sleep 0.5
kill -CONT "${LAB_PIDS[client-drone1-r]}"
wait_until 10 grep -q "^accepted:" "$LAB_DIR/ordersink.log" ||
	fail "the order sink did not get its 8 connections: $(cat "$LAB_DIR/ordersink.log")"
wait "$ORDER_SRC" || true
order=$(sed -n 's/^accepted://p' "$LAB_DIR/ordersink.log")
echo "  connection order at the target: $order"
[ "$order" = "0,1,2,3,4,5,6,7" ] || fail "the target accepted the connections in another order: $order"

# Short connections in a row (a client polling the drone): 300 echoes, one
# connection each, as fast as they go. A finished stream lingers 2 s and
# counts toward the 128 a client may have; the new one ends the oldest of
# those instead of being refused.
short=$(lab_exec gcs1 python3 -c '
import socket
ok = 0
for i in range(300):
    try:
        c = socket.create_connection(("127.1.0.1", 2223), timeout=5)
        c.sendall(b"ping %d" % i)
        c.shutdown(socket.SHUT_WR)
        got = b""
        while True:
            d = c.recv(64)
            if not d:
                break
            got += d
        c.close()
        ok += got == b"ping %d" % i
    except OSError:
        pass
print(ok)')
echo "  short connections in a row: $short of 300 echoed"
[ "$short" = 300 ] || fail "only $short of 300 short connections in a row were echoed"

# Back-pressure: 24 MB into a 4 MB/s reader. Without it the writer would be
# done at once; with it, it waits for all but the buffers (the stream's
# 256 KiB each way plus the local sockets' kernel buffers).
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/${LAB_PIDS[client-$1-r]}/status"; }
lab_exec gcs1 "$TE" copy --to 127.1.0.1:2225 --bytes $((24 * 1048576)) --timeout-ms 60000 \
	>"$LAB_DIR/slow.json" &
CP=$!
sleep 1
api_flow gcs1 slow >"$LAB_DIR/api-gcs1-slow.json" || fail "gcs1: GET /flows/slow failed"
python3 -c "import json,sys; j = json.load(open(sys.argv[1])); assert j['connections'] == 1, j" \
	"$LAB_DIR/api-gcs1-slow.json" || fail "mid-copy, the flow shows no open connection"
max_rss=0
for _ in $(seq 1 200); do
	kill -0 "$CP" 2>/dev/null || break
	for n in drone1 gcs1; do
		r=$(rss_kb $n)
		((r > max_rss)) && max_rss=$r
	done
	sleep 0.05
done
wait "$CP" || fail "slow reader copy failed: $(cat "$LAB_DIR/slow.json")"
send_ms=$(field "$LAB_DIR/slow.json" send_ms)
echo "  back-pressure: 24 MB to a 4 MB/s reader; the writer finished after ${send_ms} ms" \
	"(>= 2000 expected), largest client RSS $((max_rss / 1024)) MB (limit 64)"
[ "$send_ms" -ge 2000 ] || fail "the writer was not slowed down by the slow reader"
# ASan's shadow memory and quarantine (make sanitize-lab) are not the stream's.
[ "$max_rss" -le 65536 ] || [ -n "${LAB_SANITIZED:-}" ] || fail "a client grew to $max_rss kB"
if grep -q "direct path up" "$LAB_DIR/client-gcs1-r.log"; then
	fail "phase 1 was meant to stay on the relay"
fi
stop_daemons r

# --- 2. a direct path -------------------------------------------------------------
write_conf true
start_daemons d
ups() { grep -c "peer $2: direct path up" "$LAB_DIR/client-$1-d.log" || true; }
both_direct() { [ "$(ups drone1 gcs1)" -ge 1 ] && [ "$(ups gcs1 drone1)" -ge 1 ]; }
wait_until 20 both_direct || fail "drone1 and gcs1 never got a direct path"
wait_until 10 flow_ready || fail "the copy flow never came up on the direct path"
copy direct_0pct "$SMALL_MB"
lab_loss dnat wan 3
copy direct_3pct "$SMALL_MB"
lab_loss dnat wan 0

# A path switch mid-transfer: block the direct path while a copy runs
# (three times the small size, so it is still running when the pair has
# moved to the relay).
# Under load and loss the path monitor may already have dropped the direct
# path (it comes back after a 10 s cooldown): wait until it is direct.
downs() { grep -c "peer gcs1: direct path .* lost" "$LAB_DIR/client-drone1-d.log" || true; }
is_direct() { [ "$(ups drone1 gcs1)" -gt "$(downs)" ]; }
wait_until 25 is_direct || fail "drone1 is not on a direct path before the cut"
n_down=$(downs)
lab_exec gcs1 "$TE" copy --to 127.1.0.1:2222 --bytes $((3 * SMALL_MB * 1048576)) --timeout-ms 240000 \
	>"$LAB_DIR/switch.json" &
CP=$!
sleep 0.3
cut_ns=$(date +%s%N)
lab_block dnat wan 198.51.100.2
left_direct() { [ "$(downs)" -gt "$n_down" ]; }
wait_until 5 left_direct || fail "drone1 did not leave the blocked direct path"
fell_ms=$((($(date +%s%N) - cut_ns) / 1000000))
kill -0 "$CP" 2>/dev/null || fail "the copy ended before the path switch; nothing was tested"
wait "$CP" || fail "the copy across the path switch failed: $(cat "$LAB_DIR/switch.json")"
lab_unblock dnat wan
[ "$(field "$LAB_DIR/switch.json" ok)" = True ] || fail "switch copy not intact"
echo "  path switch: on the relay ${fell_ms} ms after the cut (limit 1000 + polling);" \
	"$((3 * SMALL_MB)) MB intact across it, $(field "$LAB_DIR/switch.json" mbit_s) Mbit/s overall"

# A peer that restarts: drone1's client crashes (kill -9: it sends no RST
# for its streams, as a stopping one does) and is started again while
# gcs1 copies to the slow sink. Its new process registers with another boot
# id; the server's PEER frame carries it, and gcs1 resets the stream with it
# (the local connection ends) within seconds, not after ~25 s of RTOs.
lab_exec gcs1 "$TE" copy --to 127.1.0.1:2225 --bytes $((100 * 1048576)) --timeout-ms 60000 \
	>"$LAB_DIR/restart.json" &
CP=$!
sleep 1
kill -0 "$CP" 2>/dev/null || fail "the copy to the slow sink ended early: $(cat "$LAB_DIR/restart.json")"
kill -KILL "${LAB_PIDS[client-drone1-d]}"
wait "${LAB_PIDS[client-drone1-d]}" 2>/dev/null || true
restart_ns=$(date +%s%N)
lab_wh_client drone1 d
copy_done() { ! kill -0 "$CP" 2>/dev/null; }
wait_until 10 copy_done || fail "gcs1's connection to the restarted drone1 is still open after 10 s"
reset_ms=$((($(date +%s%N) - restart_ns) / 1000000))
wait "$CP" && fail "the copy to a restarted peer reported success"
grep -q "peer drone1: restarted" "$LAB_DIR/client-gcs1-d.log" || fail "gcs1 did not log drone1's restart"
echo "  peer restart: gcs1's connection reset ${reset_ms} ms after drone1's client started again (limit 10000)"

# --- 3. a field link --------------------------------------------------------------
# The drone's link as a field link: 200 Mbit/s and 10 ms each way, 3 %
# loss. The path holds more than a stream's first 256 KiB, so the buffers
# grow (ring buffers re-laid out with data held above holes); the copy and
# 20 concurrent echoes must come through intact, and the stream logs must
# show the receive buffer grown.
log_mark=$(wc -l <"$LAB_DIR/client-drone1-d.log")
lab_delay dnat 10
lab_rate dnat wan 200000 3200
lab_rate inet p-dnat 200000 3200
wait_until 25 is_direct || fail "drone1 is not on a direct path over the field link"
lab_loss dnat wan 3
copy field_3pct "$FIELD_MB"
out=$(lab_exec gcs1 "$TE" echo --to 127.1.0.1:2223 --bytes 1048576 --conns 20 --timeout-ms 120000) ||
	fail "echo over the field link: $out"
echo "  20 connections echoed 1 MB each over the field link: $out"
lab_loss dnat wan 0
sleep 0.5 # the last echo streams' close lines
grown=$(tail -n +$((log_mark + 1)) "$LAB_DIR/client-drone1-d.log" | grep "stream .* closed" |
	grep -o 'rcv_cap=[0-9]*' | awk -F= '$2 > 262144' | wc -l)
echo "  streams whose receive buffer grew past 256 KiB on drone1: $grown"
[ "$grown" -ge 1 ] || fail "no stream's receive buffer grew over the field link"
kill -KILL "${LAB_PIDS[client-drone1-d]}"
wait "${LAB_PIDS[client-drone1-d]}" 2>/dev/null || true # reaped quietly; stop_daemons finds it gone
lab_exec gcs1 "$TE" connect --to 127.1.0.1:2223 --within-ms 2000 >"$LAB_DIR/gone.json" ||
	fail "a connection while drone1's client is gone: $(cat "$LAB_DIR/gone.json")"
grep -q "stream .* to drone1: no answer in [0-9]* ms, the peer silent" "$LAB_DIR/client-gcs1-d.log" ||
	fail "gcs1 did not say why it reset the connection"
echo "  drone1's client killed: a new connection reset after $(field "$LAB_DIR/gone.json" ms) ms (limit 2000)"
# The app retries 20 times a second (3 s here): 5 lines at once, then one a
# second for the peer, as for a refused target.
mark=$(wc -l <"$LAB_DIR/client-gcs1-d.log")
retry_conns 2223 3
sleep 2 # the last ones are reset 1.5 s after they opened
n=$(lines_since "$LAB_DIR/client-gcs1-d.log" "$mark" "to drone1: no answer in")
echo "  connections to the gone drone1 retried 20 times a second for 3 s: gcs1 logged $n lines (limit 5 + 1/s + 2)"
[ "$n" -ge 3 ] && [ "$n" -le 12 ] || fail "gcs1 logged $n lines for 3 s of retries to a gone peer"
stop_daemons d
if [ "${TCP_FLOW_KEEP_LOGS:-0}" = 1 ]; then
	mkdir -p "$LAB_LOGS" && cp -r "$LAB_DIR"/. "$LAB_LOGS"/
fi
lab_pass
