#!/usr/bin/env bash
# test_punch_agree: after a spray both sides take the same direct path and
# keep it (PROTOCOL.md "Direct paths" 3: the decider's PATH UP).
#
#        srv 203.0.113.10/.11 (wormhole-server)
#                    | internet
#          delaywire: 300 ms each way (an LTE link with a deep queue)
#                    |
#     dnat symmetric 198.51.100.1        gnat restricted-cone 198.51.100.2
#                    |                                 |
#             drone1 10.0.1.2                    gcs1 10.0.2.2
#
# Flow mavlink {drone1, gcs1}. The pair punches by spray: drone1 opens 256
# sockets, gcs1 probes random ports of dnat. Each side may validate a
# different one of drone1's sockets (its probe answered there), and drone1
# keeps only the socket it validated: gcs1's path then died a second later
# and both fell back for 10 s (at 600 ms of RTT, every time); or gcs1
# validated none and stayed on the relay while drone1 was direct (1 run in
# 5 with little delay). Both sides must come up, report `direct`, and lose
# the path neither within AGREE_OBS_S (default 4) seconds of the later's
# `up` line nor at all until the end. AGREE_DELAY_MS changes the delay.
set -euo pipefail
source "$(dirname "$0")/../../tools/lab/lib.sh"
source "$LAB_ROOT/tools/lab/topo.sh"
lab_init punch_agree
[ "$(id -u)" = 0 ] || fail "needs root for network namespaces"
OBS_S=${AGREE_OBS_S:-4}
DELAY_MS=${AGREE_DELAY_MS:-300}

lab_keys server drone1 gcs1
lab_routes "" drone1 gcs1 >"$LAB_DIR/routes.conf" <<CONF
flows: (
  { name = "mavlink"; proto = "udp"; port = 14550; members = ["drone1", "gcs1"]; }
);
CONF
lab_two_sites symmetric restricted-cone
lab_delay dnat "$DELAY_MS"
lab_wh_server srv
lab_wh_clients drone1 gcs1

ups() { grep -c "peer $2: direct path up" "$LAB_DIR/client-$1.log" || true; }
downs() { grep -c "peer $2: direct path .* lost" "$LAB_DIR/client-$1.log" || true; }
both_up() { [ "$(ups drone1 gcs1)" -ge 1 ] && [ "$(ups gcs1 drone1)" -ge 1 ]; }
path_of() { # HOST PEER: the path the status shows
	lab_exec "$1" "$LAB_BIN/wormhole-client" -c "$LAB_DIR/$1.ini" status --json |
		/usr/bin/python3 -c '
import json, sys
print({x["peer"]: x for x in json.load(sys.stdin)["peers"]}[sys.argv[1]]["path"])' "$2"
}
show() {
	grep -hE "punch|direct path" "$LAB_DIR/client-drone1.log" | sed 's/^/  drone1: /' | tail -6 >&2
	grep -hE "punch|direct path" "$LAB_DIR/client-gcs1.log" | sed 's/^/  gcs1: /' | tail -6 >&2
}

if ! wait_until 45 both_up; then
	show
	fail "not both direct after 45 s: drone1 $(path_of drone1 gcs1), gcs1 $(path_of gcs1 drone1)"
fi
echo "  $(lab_at): both up: drone1 $(grep -o 'direct path up via .*' "$LAB_DIR/client-drone1.log" | head -1)"
echo "  gcs1 $(grep -oE 'direct path (up via|moves) .*' "$LAB_DIR/client-gcs1.log" | head -2 | tr '\n' ';')"
sleep "$OBS_S"
d=$(downs drone1 gcs1) g=$(downs gcs1 drone1)
pd=$(path_of drone1 gcs1) pg=$(path_of gcs1 drone1)
echo "  $(lab_at): ${OBS_S} s later: drone1 $pd (lost $d), gcs1 $pg (lost $g)"
if [ "$d" != 0 ] || [ "$g" != 0 ] || [ "$pd" != direct ] || [ "$pg" != direct ]; then
	show
	fail "the direct path did not hold on both sides"
fi
lab_pass
