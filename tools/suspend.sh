#!/usr/bin/env bash
# suspend: a GCS laptop that sleeps (lid closed) under a 50/s stream from
# the drone, in the namespace lab, with real daemons. Too long for `make
# test` (SUSPEND_S, default 200 s: longer than the 180 s after which session
# keys must no longer be used); `make suspend` runs it.
#
# A suspended machine runs nothing and its CLOCK_MONOTONIC stands still;
# CLOCK_BOOTTIME goes on. Here gcs1's client is stopped (SIGSTOP) for
# SUSPEND_S seconds with CLOCK_MONOTONIC held still for it meanwhile
# (tests/shim/clockshim.c, CLOCKSHIM_MONO_FREEZE: any jump of more than 3 s
# between two reads is taken out), then continued. The client keeps its protocol time on
# CLOCK_BOOTTIME (common/monotime.c), so it wakes knowing how old its keys
# and paths are. Passes when, within 5 s of waking, the stream reaches the
# GCS app again and none of the datagrams that queued in the client's
# socket during the sleep reach the app (latency p99 under 1 s): on
# CLOCK_MONOTONIC its 3-minute-old keys still counted as fresh and
# 1,300-1,400 datagrams, 200 s old, reached the app. Needs root.
set -euo pipefail
SUSPEND_S=${SUSPEND_S:-200}
# Shorter sleeps leave the keys valid: what queued meanwhile is delivered then.
[[ $SUSPEND_S =~ ^[0-9]+$ ]] && ((SUSPEND_S >= 181 && SUSPEND_S <= 3500)) || {
	echo "suspend: SUSPEND_S must be a number of seconds from 181 (past the key lifetime) to 3500" >&2
	exit 2
}
if [ "$(id -u)" != 0 ]; then
	echo "suspend: needs root for the namespace lab" >&2
	exit 1
fi
source "$(dirname "$0")/lab/lib.sh"
source "$LAB_ROOT/tools/lab/topo.sh"
lab_init suspend
[ -x "$LAB_BF" ] || fail "$LAB_BF missing (make build-tests builds it)"

SHIM=$LAB_ROOT/build/release/tests/clockshim.so
[ -f "$SHIM" ] || fail "$SHIM missing (make build-tests builds it)"

lab_keys server drone1 gcs1
lab_routes '' drone1 gcs1 >"$LAB_DIR/routes.conf" <<CONF
flows: ( { name = "up"; proto = "udp"; port = 14550; from = ["drone1"]; to = ["gcs1"]; } );
CONF
lab_two_sites
lab_wh_server srv
for n in drone1 gcs1; do lab_client_ini "$n" 203.0.113.10:7400; done
lab_wh_client drone1
lab_start_in gcs1 client-gcs1 env LD_PRELOAD="$SHIM" CLOCKSHIM_MONO_FREEZE=1 \
	"$LAB_BIN/wormhole-client" -c "$LAB_DIR/gcs1.ini" --log-level debug
wait_until 20 lab_flow_up drone1 gcs1 14550 || fail "the flow does not carry a datagram"
LAB_STREAM_MS=$(((SUSPEND_S + 60) * 1000)) lab_stream_start up drone1 gcs1 14550 50 200
sleep 3
pid=${LAB_PIDS[client-gcs1]}
kill -STOP "$pid"
echo "  $(lab_at) gcs1's client suspended for $SUSPEND_S s"
sleep "$SUSPEND_S"
kill -CONT "$pid"
woke=$(date +%s%3N)
echo "  $(lab_at) gcs1's client woke"
sleep 10
lab_stream_stop up
got=$(lab_json "$LAB_DIR/up-rx.log" 'j["received"]')
p99=$(lab_json "$LAB_DIR/up-rx.log" 'j["lat_p99_us"]')
end=$(lab_json "$LAB_DIR/up-rx.log" 'int(j["max_gap_end_wall_ms"])')
gap=$(lab_json "$LAB_DIR/up-rx.log" 'j["max_gap_ms"]')
echo "  $(lab_at) received $got, longest gap $gap ms, ending $((end - woke)) ms after waking, latency p99 $p99 us"
[ $((end - woke)) -le 5000 ] || fail "the stream came back only $((end - woke)) ms after waking (limit 5000)"
[ "$p99" -lt 1000000 ] || fail "stale datagrams reached the app after waking (latency p99 $p99 us)"
kill -0 "$pid" || fail "gcs1's client died"
lab_teardown
lab_pass
