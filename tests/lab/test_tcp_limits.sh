#!/usr/bin/env bash
# test_tcp_limits: a local app that opens far more TCP-flow connections than
# a client takes, or fills them all towards a target that does not read, gets
# what README "TCP flows" promises, and the client stays small and recovers
# (issue #8: "memory per stream is bounded").
#
#   gcs1 (source, 127.1.0.1:TP, TP+2) -- relay --> drone1 (sink)
#     echo  TP   -> tcpecho server --mode echo on 127.0.0.1:TP+1
#     stuck TP+2 -> tcpecho server --mode sink --read-kBps 1 on 127.0.0.1:TP+3
#   (all on loopback)
#
# Checked:
#   1. 400 connections at once to echo, held: 128 (FLOW_TCP_CONNS_MAX) echo a
#      line, every other one is reset or refused, none hangs;
#   2. once they close, 20 new connections in a row echo again (the streams
#      were freed);
#   3. 96 idle connections to echo and 32 to stuck, each of those writing as
#      fast as it can for LIMITS_FILL_S seconds into a target that reads
#      1 kB/s: each client's resident memory stays within LIMITS_RSS_MB (its
#      stream buffers grow up to 4 MiB each, and are capped at 48 MiB
#      together), a 129th connection is refused, and once the writers are
#      gone (reset) a new connection to echo works;
#   4. a reset after a half-close reaches the other side, both ways (flow
#      half, TP+1 -> a python target on 127.0.0.2:TP): the app sends 100 kB,
#      shuts its write side and resets 0.5 s later; the target, which read
#      to the EOF and waits, sees the reset within 2 s of that EOF. Then the
#      target replies, shuts its write side and resets 0.5 s later: the app
#      gets the reply and then the reset within 2 s. (The socket is readable
#      for good after the FIN: the reset went unnoticed, and both waited in
#      FIN-WAIT/CLOSE-WAIT holding a stream slot.)
# lab-run: loopback
set -euo pipefail
source "$(dirname "$0")/../../tools/lab/lib.sh"
lab_init tcp_limits
cd "$LAB_ROOT"
TE=$LAB_ROOT/build/release/tests/tcpecho
[ -x "$TE" ] || fail "$TE missing (make build-tests builds it)"
LIMITS_FILL_S=${LIMITS_FILL_S:-4}
LIMITS_RSS_MB=${LIMITS_RSS_MB:-80}

# Ports from the PID, so parallel runs and other tests do not collide.
off=$(($$ % 400))
SP=$((56000 + off * 2))
CAP=$((57000 + off * 2))
TP=$((58000 + off * 4))
RA0=$((60000 + off * 4))
RB0=$((62000 + off * 4))
lab_loopback_clients "$SP" "$CAP" drone1 gcs1
pub() { "$LAB_BIN/wormhole-keygen" pubkey <"$LAB_DIR/$1.key"; }
cat >"$LAB_DIR/routes.conf" <<CONF
server: { listen = ["127.0.0.1:$SP"]; key_file = "server.key"; punch = false;
          relay_a = "$RA0-$((RA0 + 3))"; relay_b = "$RB0-$((RB0 + 3))"; };
clients: { drone1 = { key = "$(pub drone1)"; }; gcs1 = { key = "$(pub gcs1)"; }; };
flows: (
  { name = "echo"; proto = "tcp"; port = $TP; from = ["gcs1"]; to = ["drone1"];
    deliver = { drone1 = "127.0.0.1:$((TP + 1))"; }; },
  { name = "stuck"; proto = "tcp"; port = $((TP + 2)); from = ["gcs1"]; to = ["drone1"];
    deliver = { drone1 = "127.0.0.1:$((TP + 3))"; }; },
  { name = "half"; proto = "tcp"; port = $((TP + 1)); from = ["gcs1"]; to = ["drone1"];
    deliver = { drone1 = "127.0.0.2:$TP"; }; }
);
CONF
lab_start server "$LAB_BIN/wormhole-server" -c "$LAB_DIR/routes.conf" --log-level debug
wait_until 5 grep -q "server: running" "$LAB_DIR/server.log" || fail "server did not start"
for c in drone1 gcs1; do
	lab_start "client-$c" "$LAB_BIN/wormhole-client" -c "$LAB_DIR/$c.ini" --log-level debug
done
lab_start echo "$TE" server --bind "127.0.0.1:$((TP + 1))" --mode echo
lab_start stuck "$TE" server --bind "127.0.0.1:$((TP + 3))" --mode sink --read-kBps 1
wait_until 10 grep -q "peer drone1: session established" "$LAB_DIR/client-gcs1.log" ||
	fail "gcs1 has no session with drone1"
listening() { [ -n "$(ss -Hltn src "$1")" ]; }
wait_until 5 listening "127.1.0.1:$((TP + 2))" || fail "gcs1 does not listen for stuck"

# The app: python, every socket operation with a timeout.
python3 - "$TP" "${LAB_PIDS[client-gcs1]}" "${LAB_PIDS[client-drone1]}" "$LIMITS_FILL_S" \
	>"$LAB_DIR/app.json" 2>"$LAB_DIR/app.err" <<'PY' || fail "the app failed: $(tail -n 3 "$LAB_DIR/app.err")"
import json, select, socket, struct, sys, time
tp, pid_g, pid_d, fill_s = int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4])
out = {}

def rss_kb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1])

def connect(port):
    try:
        return socket.create_connection(("127.1.0.1", port), timeout=5)
    except OSError:
        return None

def echoes(c, line):
    """True: echoed; False: reset or closed; None: no answer in 5 s."""
    try:
        c.settimeout(5)
        c.sendall(line)
        got = b""
        while not got.endswith(b"\n"):
            d = c.recv(64)
            if not d:
                return False
            got += d
        return got == line
    except (ConnectionResetError, BrokenPipeError, ConnectionAbortedError):
        return False
    except socket.timeout:
        return None

# 1. 400 at once, held.
conns = [connect(tp) for _ in range(400)]
time.sleep(1)
res = [echoes(c, b"x%d\n" % i) if c else False for i, c in enumerate(conns)]
out["held_echoed"] = res.count(True)
out["held_refused"] = res.count(False)
out["held_hung"] = res.count(None)
for c in conns:
    if c:
        c.close()
time.sleep(2.5)  # finished streams linger 2 s

# 2. 20 in a row.
ok = 0
for i in range(20):
    c = connect(tp)
    if c:
        ok += echoes(c, b"after %d\n" % i) is True
        c.close()
out["after_echoed"] = ok

# 3. 96 idle connections to echo and 32 writers into a target that reads
# 1 kB/s: 128 streams open, the writers' able to fill 4 MiB buffers each.
idle = [connect(tp) for _ in range(96)]
out["idle"] = sum(1 for c in idle if c)
ws = [connect(tp + 2) for _ in range(32)]
ws = [w for w in ws if w]
out["writers"] = len(ws)
for w in ws:
    # Small kernel buffers on the app's side: what fills is the client's.
    w.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
    w.setblocking(False)
chunk = b"\0" * 65536
written = 0
max_g = max_d = 0
end = time.monotonic() + fill_s
while time.monotonic() < end:
    _, wr, _ = select.select([], ws, [], 0.05)
    for w in wr:
        try:
            written += w.send(chunk)
        except (BlockingIOError, ConnectionResetError, BrokenPipeError):
            pass
    max_g = max(max_g, rss_kb(pid_g))
    max_d = max(max_d, rss_kb(pid_d))
out["written_mb"] = round(written / 1048576, 1)
out["rss_gcs1_kb"] = max_g
out["rss_drone1_kb"] = max_d
extra = connect(tp)
out["extra_at_limit"] = {True: "echoed", False: "refused", None: "hung"}[echoes(extra, b"extra\n") if extra else False]
if extra:
    extra.close()
# Gone for good: a reset (a plain close would leave their data to drain at
# 1 kB/s, and the streams rightly open until it has).
for w in ws:
    w.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    w.close()
for c in idle:
    if c:
        c.close()
time.sleep(2)
c = connect(tp)
out["after_writers"] = bool(c) and echoes(c, b"again\n") is True
print(json.dumps(out))
PY
j() { lab_json "$LAB_DIR/app.json" "$1"; }
echo "  app: $(cat "$LAB_DIR/app.json")"
[ "$(j "j['held_echoed']")" = 128 ] && [ "$(j "j['held_refused']")" = 272 ] ||
	fail "1. of 400 held connections $(j "j['held_echoed']") echoed and $(j "j['held_refused']") were refused (want 128 and 272)"
[ "$(j "j['held_hung']")" = 0 ] || fail "1. $(j "j['held_hung']") connections got no answer and no reset"
echo "  1. 400 connections at once: 128 echo, 272 refused, none hangs"
[ "$(j "j['after_echoed']")" = 20 ] || fail "2. after they closed, $(j "j['after_echoed']") of 20 new connections echoed"
echo "  2. then 20 new connections in a row: all echo"
[ "$(j "j['writers']")" = 32 ] && [ "$(j "j['idle']")" = 96 ] ||
	fail "3. only $(j "j['idle']") idle connections and $(j "j['writers']") writers connected"
for c in gcs1 drone1; do
	kb=$(j "j['rss_${c}_kb']")
	# ASan's shadow memory and quarantine (make sanitize-lab) are not the streams'.
	[ "$kb" -le $((LIMITS_RSS_MB * 1024)) ] || [ -n "${LAB_SANITIZED:-}" ] ||
		fail "3. $c grew to $((kb / 1024)) MB while 32 streams were stuck (at most $LIMITS_RSS_MB)"
done
[ "$(j "j['extra_at_limit']")" = refused ] || fail "3. a 129th connection was $(j "j['extra_at_limit']")"
[ "$(j "j['after_writers']")" = True ] || fail "3. after the writers left, a new connection did not echo"
echo "  3. 96 idle connections and 32 stuck writers ($(j "j['written_mb']") MB accepted from the app in $LIMITS_FILL_S s):" \
	"gcs1 at most $(($(j "j['rss_gcs1_kb']") / 1024)) MB, drone1 $(($(j "j['rss_drone1_kb']") / 1024)) MB" \
	"resident; a 129th refused; after them a new connection echoes"
# 4. Resets after a half-close, both ways.
python3 - "$TP" >"$LAB_DIR/half.json" <<'PY'
import json, select, socket, struct, sys, threading, time
tp = int(sys.argv[1])

def reset(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()

def reset_seen_ms(s, secs):
    # After the EOF: ms until the socket reports a reset (ERR/HUP), or None.
    t0 = time.time()
    p = select.poll()
    p.register(s, select.POLLERR | select.POLLHUP)
    while time.time() - t0 < secs:
        if p.poll(50):
            return int((time.time() - t0) * 1000)
    return None

def read_to_eof(s):
    n = 0
    while True:
        d = s.recv(65536)
        if not d:
            return n
        n += len(d)

out = {}
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.2", tp))
ls.listen(4)
ls.settimeout(10)

def target():
    c, _ = ls.accept()  # the app half-closes, then resets
    c.settimeout(10)
    out["target_got"] = read_to_eof(c)
    out["target_reset_ms"] = reset_seen_ms(c, 4)
    c.close()
    c, _ = ls.accept()  # the target replies, half-closes, resets
    c.settimeout(10)
    c.recv(100)
    c.sendall(b"R" * 1000)
    c.shutdown(socket.SHUT_WR)
    time.sleep(0.5)
    reset(c)

t = threading.Thread(target=target)
t.start()
a = socket.create_connection(("127.1.0.1", tp + 1), timeout=5)
a.sendall(b"x" * 100000)
a.shutdown(socket.SHUT_WR)
time.sleep(0.5)
reset(a)
time.sleep(4.5)
a = socket.create_connection(("127.1.0.1", tp + 1), timeout=5)
a.settimeout(10)
a.sendall(b"hello")
out["app_got"] = read_to_eof(a)
out["app_reset_ms"] = reset_seen_ms(a, 4)
t.join(12)
print(json.dumps(out))
PY
h() { lab_json "$LAB_DIR/half.json" "$1"; }
echo "  half-close then reset: $(cat "$LAB_DIR/half.json")"
[ "$(h "j['target_got']")" = 100000 ] || fail "4. the target got $(h "j['target_got']") of 100000 bytes before the EOF"
ms=$(h "j['target_reset_ms']")
[ "$ms" != None ] && [ "$ms" -le 2000 ] ||
	fail "4. the app's reset after its half-close did not reach the target within 2 s of the EOF ($ms ms)"
[ "$(h "j['app_got']")" = 1000 ] || fail "4. the app got $(h "j['app_got']") of the target's 1000 bytes"
ms=$(h "j['app_reset_ms']")
[ "$ms" != None ] && [ "$ms" -le 2000 ] ||
	fail "4. the target's reset after its half-close did not reach the app within 2 s of the EOF ($ms ms)"
echo "  4. a reset after a half-close reaches the other side, both ways"
for p in server client-drone1 client-gcs1; do
	kill -0 "${LAB_PIDS[$p]}" 2>/dev/null || fail "$p died"
done
lab_pass
