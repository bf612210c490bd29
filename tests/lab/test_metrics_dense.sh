#!/usr/bin/env bash
# test_metrics_dense: /metrics of a dense routes.conf costs the relay nothing.
#
#   +----------------------------------------------------------------+
#   | this host (loopback only)                                      |
#   |   wormhole-server  udp 127.0.0.1:SP  api 127.0.0.1:AP          |
#   |   routes.conf: d1..d600 in N:N flows of 32 members, each       |
#   |     starting 8 clients after the last (~18,000 relay pairs),   |
#   |     and gcs -> 4 x 31 drones (124 peers)                       |
#   |   probe A 127.0.0.1:PA --> relay d1<->d2 --> probe B :PB       |
#   |     (bound through the relay state file; no client runs)       |
#   +----------------------------------------------------------------+
#
# Every two clients sharing a flow have a relay pair from routes.conf on,
# online or not. A scrape looked each client's path up among all the pairs
# (and read each client 3 times, each flow's members 14 times): on such a
# file it took over a minute of the server's one loop, answered 503 after
# 10 s, and the relay forwarded nothing meanwhile. Now the scrape answers 200
# within a few seconds, every path is in it (all 124 of gcs's, where the
# API showed 64), and datagrams through the relay keep crossing during it.
# lab-run: loopback
set -euo pipefail
source "$(dirname "$0")/../../tools/lab/lib.sh"
lab_init metrics_dense
command -v curl >/dev/null || fail "curl missing (make deps)"

C=600
STRIDE=8
off=$(($$ % 400))
SP=$((36000 + off * 2)) # server udp (+1 alt port)
AP=$((37000 + off))     # api
PA=$((38000 + off * 2)) # probe sockets: PA, PA + 1
RA=$((42000 + off * 4)) # relay_a (4 ports), relay_b (next 4)
RTOKEN=read-token-$$-0123456789

"$LAB_BIN/wormhole-keygen" genkey -o "$LAB_DIR/server.key"
python3 - "$C" "$STRIDE" "$SP" "$AP" "$RTOKEN" "$RA" "$LAB_DIR" "$PA" >"$LAB_DIR/routes.conf" <<'PY'
import base64, os, sys, time

c, stride, sp, ap, token, ra, d, pa = sys.argv[1:]
c, stride, sp, ap, ra, pa = int(c), int(stride), int(sp), int(ap), int(ra), int(pa)
print('server: { listen = ["127.0.0.1:%d"]; alt_port = %d; key_file = "server.key";' % (sp, sp + 1))
print('  relay_a = "%d-%d"; relay_b = "%d-%d"; state_file = "%s/relay.state";' % (ra, ra + 3, ra + 4, ra + 7, d))
print('  api = { listen = "127.0.0.1:%d"; read_tokens = ["%s"]; }; };' % (ap, token))
print("clients: {")
for i in range(1, c + 1):
    print(' d%d = { key = "%s"; };' % (i, base64.b64encode(os.urandom(32)).decode()))
print(' gcs = { key = "%s"; };' % base64.b64encode(os.urandom(32)).decode())
print("};")
flows = []
for k, first in enumerate(range(1, c - 31 + 1, stride)):
    members = ", ".join('"d%d"' % i for i in range(first, first + 32))
    flows.append(' { name = "mesh-%d"; proto = "udp"; port = %d; members = [%s]; }' % (k, 20000 + k, members))
for j in range(4):
    to = ", ".join('"d%d"' % i for i in range(31 * j + 1, 31 * j + 32))
    flows.append(' { name = "gcs-%d"; proto = "udp"; port = %d; from = ["gcs"]; to = [%s]; }' % (j, 21000 + j, to))
print("flows: (\n%s\n);" % ",\n".join(flows))
# The relay pair d1<->d2 on the first ports of its ranges, bound to the
# probe's two sockets, as a restarted server finds it in its state file.
with open(d + "/relay.state", "w") as f:
    f.write("wormhole-relay-state 1 %d\n" % int(time.time() * 1e6))
    f.write("pair d1 %d d2 %d\n" % (ra, ra + 4))
    f.write("bind 0 0 1 127.0.0.1:%d 127.0.0.1:%d\n" % (ra, pa))
    f.write("bind 1 0 1 127.0.0.1:%d 127.0.0.1:%d\n" % (ra + 4, pa + 1))
PY
chmod 600 "$LAB_DIR/relay.state"
"$LAB_BIN/wormhole-server" --check-config "$LAB_DIR/routes.conf" >"$LAB_DIR/check.out" 2>&1 ||
	fail "the dense routes.conf is refused: $(cat "$LAB_DIR/check.out")"

t0=$(date +%s%3N)
lab_start server "$LAB_BIN/wormhole-server" -c "$LAB_DIR/routes.conf" --log-level info
wait_until 30 grep -q "server: running" "$LAB_DIR/server.log" || fail "server did not start: $(tail -3 "$LAB_DIR/server.log")"
echo "  server running after $(($(date +%s%3N) - t0)) ms"

# The probe: a datagram from A to d1's relay port every 20 ms until
# probe.stop appears; B reports the longest any took to cross, and how many.
cat >"$LAB_DIR/probe.py" <<'PY'
import os, select, socket, struct, sys, time

pa, ra, d = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); a.bind(("127.0.0.1", pa))
b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); b.bind(("127.0.0.1", pa + 1))
sent, got, worst, nxt, seq = {}, 0, 0.0, 0.0, 0
end = time.monotonic() + 40
while time.monotonic() < end and not os.path.exists(d + "/probe.stop"):
    now = time.monotonic()
    if now >= nxt:
        seq += 1
        sent[seq] = now
        a.sendto(struct.pack("!4xI", seq) + b"x" * 56, ("127.0.0.1", ra))
        nxt = now + 0.02
    # A datagram not yet across counts as late as it is now.
    late = [now - t for t in sent.values()]
    worst = max([worst] + late)
    if select.select([b], [], [], 0.005)[0]:
        data, _ = b.recvfrom(2048)
        if len(data) == 64 and sent.pop(struct.unpack("!4xI", data[:8])[0], None) is not None:
            got += 1
            if got == 1:
                worst = 0.0  # from the first crossing on
                open(d + "/probe.ready", "w").close()
print("sent=%d got=%d worst_ms=%d" % (seq, got, worst * 1000), flush=True)
PY
lab_start probe python3 "$LAB_DIR/probe.py" "$PA" "$RA" "$LAB_DIR"
wait_until 5 test -e "$LAB_DIR/probe.ready" || fail "no datagram crossed the relay d1<->d2: $(tail -3 "$LAB_DIR/server.log")"
sleep 0.3

t0=$(date +%s%3N)
code=$(curl -s -o "$LAB_DIR/metrics.txt" -w '%{http_code}' --max-time 12 \
	-H "Authorization: Bearer $RTOKEN" "http://127.0.0.1:$AP/metrics")
ms=$(($(date +%s%3N) - t0))
sleep 0.3
touch "$LAB_DIR/probe.stop"
wait_until 5 grep -q worst_ms "$LAB_DIR/probe.log" || fail "the probe did not finish"
probe=$(cat "$LAB_DIR/probe.log")
size=$(wc -c <"$LAB_DIR/metrics.txt")
echo "  GET /metrics: HTTP $code in $ms ms, $size bytes; relay probe: $probe"
[ "$code" = 200 ] || fail "GET /metrics: HTTP $code after $ms ms: $(head -c 200 "$LAB_DIR/metrics.txt")"
[ "$ms" -lt 5000 ] || fail "GET /metrics took $ms ms (want under 5 s)"
worst=${probe##*worst_ms=}
[ "$worst" -lt 2000 ] || fail "a datagram took $worst ms to cross the relay during the scrape (want under 2 s)"

pairs=$(awk '$1 == "wormhole_relay_pairs" { print $2 }' "$LAB_DIR/metrics.txt")
paths=$(grep -c '^wormhole_client_path_info{' "$LAB_DIR/metrics.txt" || true)
[ "${pairs:-0}" -gt 10000 ] || fail "only ${pairs:-no} relay pairs (want over 10,000)"
[ "$paths" = $((2 * pairs)) ] || fail "$paths wormhole_client_path_info series (want 2 x $pairs pairs)"
gcs=$(grep -c '^wormhole_client_path_info{client="gcs",' "$LAB_DIR/metrics.txt" || true)
[ "$gcs" = 124 ] || fail "$gcs paths of gcs in /metrics (want 124)"
members=$(grep -c '^wormhole_flow_member_relay_packets_total{flow="mesh-0",' "$LAB_DIR/metrics.txt" || true)
[ "$members" = 32 ] || fail "$members members of mesh-0 in /metrics (want 32)"
grep -q '^wormhole_flow_member_relay_packets_total{flow="mesh-0",client="d1"} [1-9]' "$LAB_DIR/metrics.txt" ||
	fail "the probe's datagrams are not counted for d1 in mesh-0"
curl -s -o "$LAB_DIR/gcs.json" --max-time 5 -H "Authorization: Bearer $RTOKEN" \
	"http://127.0.0.1:$AP/api/v1/clients/gcs"
n=$(lab_json "$LAB_DIR/gcs.json" 'len(j["paths"])')
[ "$n" = 124 ] || fail "GET /api/v1/clients/gcs: $n paths (want 124)"
echo "  $pairs relay pairs: every path in /metrics and the API"
lab_pass
