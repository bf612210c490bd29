#!/usr/bin/env bash
# test_metrics_fleet: /metrics of a fleet-sized routes.conf.
#
#   +--------------------------------------------------------------+
#   | this host (loopback only)                                    |
#   |   wormhole-server  udp 127.0.0.1:SP  api 127.0.0.1:AP         |
#   |   routes.conf: d1..d1000, 500 1:1 flows                      |
#   |     mavlink-telemetry-downlink-K: d(2K-1) -> d(2K)           |
#   |   no client runs                                             |
#   +--------------------------------------------------------------+
#
# A valid file with 1,000 clients and 500 flows (well within README's
# 10,000 settings) makes a /metrics answer of a few MiB. The scrape answers
# 200 with every series: one wormhole_client_online per client, one
# wormhole_flow_member_packets_total per member, and the daemon-wide
# counters that come last (the answer was cut at a fixed 1 MiB and every
# scrape got 500 "metrics too large").
# lab-run: loopback
set -euo pipefail
source "$(dirname "$0")/../../tools/lab/lib.sh"
lab_init metrics_fleet
command -v curl >/dev/null || fail "curl missing (make deps)"

C=1000
F=500
off=$(($$ % 400))
SP=$((34000 + off * 2)) # server udp (+1 alt port)
AP=$((35000 + off))     # api
RTOKEN=read-token-$$-0123456789

"$LAB_BIN/wormhole-keygen" genkey -o "$LAB_DIR/server.key"
# Client keys: random 32-byte public keys (any but the low-order points is
# a valid X25519 key); the clients never run.
python3 - "$C" "$F" "$SP" "$AP" "$RTOKEN" >"$LAB_DIR/routes.conf" <<'PY'
import base64, os, sys

c, f, sp, ap, token = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
print('server: { listen = ["127.0.0.1:%d"]; alt_port = %d; key_file = "server.key";' % (sp, sp + 1))
print('  relay_a = "40000-40999"; relay_b = "41000-41999";')
print('  api = { listen = "127.0.0.1:%d"; read_tokens = ["%s"]; }; };' % (ap, token))
print("clients: {")
for i in range(1, c + 1):
    print(' d%d = { key = "%s"; };' % (i, base64.b64encode(os.urandom(32)).decode()))
print("};")
print("flows: (")
print(",\n".join(
    ' { name = "mavlink-telemetry-downlink-%d"; proto = "udp"; port = %d; from = ["d%d"]; to = ["d%d"]; }'
    % (k, 20000 + k, 2 * k - 1, 2 * k) for k in range(1, f + 1)))
print(");")
PY
"$LAB_BIN/wormhole-server" --check-config "$LAB_DIR/routes.conf" >"$LAB_DIR/check.out" 2>&1 ||
	fail "the fleet's routes.conf is refused: $(cat "$LAB_DIR/check.out")"

lab_start server "$LAB_BIN/wormhole-server" -c "$LAB_DIR/routes.conf" --log-level info
wait_until 10 grep -q "server: running" "$LAB_DIR/server.log" || fail "server did not start: $(tail -3 "$LAB_DIR/server.log")"

code=$(curl -s -o "$LAB_DIR/metrics.txt" -w '%{http_code}' --max-time 20 \
	-H "Authorization: Bearer $RTOKEN" "http://127.0.0.1:$AP/metrics")
size=$(wc -c <"$LAB_DIR/metrics.txt")
[ "$code" = 200 ] || fail "GET /metrics: HTTP $code, $size bytes: $(head -c 200 "$LAB_DIR/metrics.txt")"
[ "$size" -gt $((1024 * 1024)) ] || fail "GET /metrics: only $size bytes (want over 1 MiB for this fleet)"
count() { grep -c "^$1{" "$LAB_DIR/metrics.txt" || true; }
[ "$(count wormhole_client_online)" = "$C" ] ||
	fail "$(count wormhole_client_online) wormhole_client_online series (want $C)"
[ "$(count wormhole_flow_member_packets_total)" = $((2 * F)) ] ||
	fail "$(count wormhole_flow_member_packets_total) wormhole_flow_member_packets_total series (want $((2 * F)))"
grep -q '^wormhole_flow_relay_packets_total{flow="mavlink-telemetry-downlink-500"} 0$' "$LAB_DIR/metrics.txt" ||
	fail "no wormhole_flow_relay_packets_total for the last flow"
for m in wormhole_relay_pairs wormhole_session_initiations_total wormhole_api_connections_total; do
	grep -q "^$m " "$LAB_DIR/metrics.txt" || fail "no $m in /metrics"
done
echo "  $C clients, $F flows: /metrics 200, $size bytes"
lab_pass
