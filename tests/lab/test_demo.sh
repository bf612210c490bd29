#!/usr/bin/env bash
# test_demo: the README's first command does what the README says. `make
# demo` runs tools/demo.sh (after deps and the build, which make test has
# done): a server and two clients on loopback, a MAVLink-like flow both ways
# and a video-like flow through the relay, a summary of what each app got,
# then the demo keeps running and applies edits of build/demo/routes.conf.
# Checked:
#   1. the three summaries: 200 heartbeats each way and 2000 video datagrams
#      received, none corrupt;
#   2. the README's two example edits: the port change is applied live
#      (`reload: applied`), the unknown client is refused with its line and
#      the running configuration kept;
#   3. stopped (SIGTERM), the demo ends within 5 s and leaves no daemon
#      behind (it once slept out its DEMO_SECONDS first).
# The demo's ports are fixed (7400, 7401, 14550-14560, 5600-5610 on
# 127.0.0.1), hence loopback: no other loopback test runs beside it.
# lab-run: loopback
set -euo pipefail
source "$(dirname "$0")/../../tools/lab/lib.sh"
lab_init demo
cd "$LAB_ROOT"
[ -x build/release/tools/bench_flow ] && [ -x bin/wormhole-server ] ||
	fail "bench_flow or the daemons missing (make build-tests)"
LOG=$LAB_DIR/demo.log
lab_start demo env DEMO_SECONDS=60 tools/demo.sh
wait_until 40 grep -q "^\[demo\] running" "$LOG" ||
	fail "the demo did not reach its running state: $(tail -n 5 "$LOG")"

# 1. What the apps received.
got() { # WHAT: the "received N" of that summary line
	grep "^\[demo\] $1: received" "$LOG" | sed 's/.*received \([0-9]*\) datagrams.*/\1/'
}
for what in "gcs4 app, mavlink from drone3:200" "drone3 app, mavlink from gcs4:200" \
	"gcs4 app, video from drone3:2000"; do
	n=$(got "${what%:*}")
	[ "$n" = "${what##*:}" ] || fail "1. ${what%:*}: received ${n:-nothing}, want ${what##*:}"
done
! grep "^\[demo\] .*received" "$LOG" | grep -qv " 0 corrupt" || fail "1. an app got corrupt datagrams"
grep "^\[demo\] .*received" "$LOG" | sed 's/^/  /'

# 2. The README's edits, as printed by the demo.
sed -i 's/port = 5600/port = 5602/' build/demo/routes.conf
wait_until 5 grep -q "reload: applied .*video" "$LOG" || fail "2. the port change was not applied"
sed -i 's/"gcs4"\]/"gcs9"]/' build/demo/routes.conf
wait_until 5 grep -q "routes.conf:[0-9]*: .*gcs9.*running configuration kept" "$LOG" ||
	fail "2. the unknown client was not refused with its line: $(grep reload "$LOG" | tail -n 2)"
echo "  2. $(grep -o "reload: applied .*" "$LOG" | head -n 1 | cut -c1-90)"
echo "     $(grep -o "routes.conf:[0-9]*: .*gcs9.*" "$LOG" | head -n 1 | cut -c1-90)"

# 3. Stopped, nothing of it left.
t0=$(date +%s%N)
lab_stop demo || true
stop_ms=$((($(date +%s%N) - t0) / 1000000))
[ "$stop_ms" -le 5000 ] || fail "3. the demo took $stop_ms ms to stop on SIGTERM"
gone() { ! pgrep -f "build/demo/(routes.conf|drone3.ini|gcs4.ini)" >/dev/null; }
wait_until 5 gone || fail "3. a daemon of the demo is still running: $(pgrep -af "build/demo/")"
echo "  3. stopped $stop_ms ms after SIGTERM: no daemon left"
lab_pass
