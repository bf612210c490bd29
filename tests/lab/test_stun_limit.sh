#!/usr/bin/env bash
# test_stun_limit: the server's STUN answers to one source address are
# bounded (server/listener.h LISTENER_STUN_PER_SECOND and _BURST), so a
# spoofed flood cannot aim them at a victim; other addresses are served as
# before, and the address is served again once its budget has refilled.
#
#   stun sender 127.0.0.20 (then 127.0.0.21) --> wormhole-server 127.0.0.1
#
#   1. 6000 binding requests from 127.0.0.20 at 3000/s: the burst (2000) and
#      the refill (1000/s) are answered, no more; the rest is counted in
#      /metrics as wormhole_stun_drops_total{reason="rate_limited"}, and
#      answered + held back add up to what arrived.
#   2. Right after, another address (127.0.0.21) gets all its answers.
#   3. After 1.5 s (1500 requests' worth of refill), 127.0.0.20 gets a
#      burst of 1200 answered again.
#   4. The server says so in its log, at most 3 lines, then one per 10 s.
# lab-run: loopback
set -euo pipefail
source "$(dirname "$0")/../../tools/lab/lib.sh"
lab_init stun_limit
command -v curl >/dev/null || fail "curl missing (make deps)"

PER_S=1000 # server/listener.h LISTENER_STUN_PER_SECOND
BURST=2000 # LISTENER_STUN_BURST
off=$(($$ % 400))
SP=$((30000 + off * 2)) # server udp (+1 alt port)
AP=$((31000 + off))     # api
RTOKEN=read-token-$$-0123456789

"$LAB_BIN/wormhole-keygen" genkey -o "$LAB_DIR/server.key"
cat >"$LAB_DIR/routes.conf" <<CONF
server: {
  listen = ["127.0.0.1:$SP"]; alt_port = $((SP + 1));
  key_file = "server.key";
  relay_a = "$((32000 + off * 2))-$((32000 + off * 2 + 1))";
  relay_b = "$((33000 + off * 2))-$((33000 + off * 2 + 1))";
  api = { listen = "127.0.0.1:$AP"; read_tokens = ["$RTOKEN"]; };
};
clients: { };
flows: ();
CONF
lab_start server "$LAB_BIN/wormhole-server" -c "$LAB_DIR/routes.conf" --log-level debug
wait_until 5 grep -q "server: running" "$LAB_DIR/server.log" || fail "server did not start"

metric() { lab_metric "$AP" "$RTOKEN" "$@"; } # NAME [LABELS]

# stun FROM COUNT RATE: COUNT binding requests from FROM (any port) to the
# server at RATE a second, each with its own transaction id; prints one JSON
# line: sent, answered (success responses matching a request), elapsed_s
# (first to last send).
stun() {
	timeout 30 python3 - "$1" "$SP" "$2" "$3" <<'PY'
import json, os, socket, struct, sys, time

src, port, count, rate = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
s.bind((src, 0))
s.setblocking(False)
ids, answered = set(), 0

def drain():
    global answered
    while True:
        try:
            d = s.recv(2048)
        except BlockingIOError:
            return
        if len(d) >= 20 and struct.unpack("!H", d[:2])[0] == 0x0101 and d[8:20] in ids:
            ids.discard(d[8:20])
            answered += 1

start = time.monotonic()
for i in range(count):
    due = start + i / rate
    while time.monotonic() < due:
        drain()
        time.sleep(0.001)
    tid = os.urandom(12)
    ids.add(tid)
    s.sendto(struct.pack("!HHI", 0x0001, 0, 0x2112A442) + tid, ("127.0.0.1", port))
elapsed = time.monotonic() - start
end = time.monotonic() + 1.5
while time.monotonic() < end and ids:
    drain()
    time.sleep(0.01)
print(json.dumps({"sent": count, "answered": answered, "elapsed_s": round(elapsed, 3)}))
PY
}

# --- 1. a flood from one address --------------------------------------------------
rx0=$(metric wormhole_listener_rx_packets_total)
ans0=$(metric wormhole_stun_answered_total)
held0=$(metric wormhole_stun_drops_total 'reason="rate_limited"')
[[ $rx0 =~ ^[0-9]+$ && $ans0 =~ ^[0-9]+$ && $held0 =~ ^[0-9]+$ ]] ||
	fail "1. /metrics lacks the counters: rx $rx0, answered $ans0, rate_limited $held0"
stun 127.0.0.20 6000 3000 >"$LAB_DIR/flood.log" || fail "1. the STUN sender failed"
answered=$(lab_json "$LAB_DIR/flood.log" "j['answered']")
elapsed=$(lab_json "$LAB_DIR/flood.log" "j['elapsed_s']")
# What the budget allows over the flood and the 1.5 s the answers may take
# to come (a server slowed by a loaded machine refills meanwhile).
most=$(lab_json "$LAB_DIR/flood.log" "int($BURST + $PER_S * (j['elapsed_s'] + 1.5))")
[ "$answered" -ge "$BURST" ] || fail "1. only $answered of 6000 answered (the burst is $BURST)"
[ "$answered" -le "$most" ] ||
	fail "1. $answered of 6000 answered in ${elapsed} s: more than the $most the limit allows"
rx1=$(metric wormhole_listener_rx_packets_total)
ans1=$(metric wormhole_stun_answered_total)
held1=$(metric wormhole_stun_drops_total 'reason="rate_limited"')
held=$((held1 - held0))
[ "$held" -ge $((6000 - answered - 60)) ] ||
	fail "1. /metrics: $held rate_limited for $((6000 - answered)) requests not answered"
[ $((ans1 - ans0 + held)) = $((rx1 - rx0)) ] ||
	fail "1. /metrics: $((ans1 - ans0)) answered + $held held back != $((rx1 - rx0)) received"
echo "  1. 127.0.0.20: 6000 requests in ${elapsed} s, $answered answered (at most $most)," \
	"$held held back and counted"

# --- 2. another address is served -----------------------------------------------
stun 127.0.0.21 50 500 >"$LAB_DIR/other.log" || fail "2. the STUN sender failed"
other=$(lab_json "$LAB_DIR/other.log" "j['answered']")
[ "$other" = 50 ] || fail "2. 127.0.0.21 got $other of 50 answers while 127.0.0.20 was held back"
echo "  2. 127.0.0.21: 50 of 50 answered"

# --- 3. the budget refills ----------------------------------------------------------
sleep 1.5
stun 127.0.0.20 1200 3000 >"$LAB_DIR/again.log" || fail "3. the STUN sender failed"
again=$(lab_json "$LAB_DIR/again.log" "j['answered']")
[ "$again" = 1200 ] || fail "3. after 1.5 s 127.0.0.20 got $again of 1200 answers"
echo "  3. 127.0.0.20 after 1.5 s: 1200 of 1200 answered"

# --- 4. the log -----------------------------------------------------------------------
lines=$(grep -c "STUN answers to 127.0.0.20:[0-9]* held back" "$LAB_DIR/server.log" || true)
[ "$lines" -ge 1 ] && [ "$lines" -le 4 ] ||
	fail "4. $lines log lines about the held-back answers (want 1 to 4)"
echo "  4. server log: $lines line(s): $(grep -m1 "held back" "$LAB_DIR/server.log" | cut -c1-150)"
lab_pass
