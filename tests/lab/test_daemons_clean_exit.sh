#!/usr/bin/env bash
# test_daemons_clean_exit: both daemons free everything and exit 0 on
# SIGTERM/SIGINT, checked under valgrind (issue #2, "Daemons").
#
#   +---------------------------+
#   | this host (loopback only) |
#   |  wormhole-server, -client |
#   +---------------------------+
# lab-run: loopback
set -euo pipefail
source "$(dirname "$0")/../../tools/lab/lib.sh"
lab_init daemons_clean_exit
command -v valgrind >/dev/null || fail "valgrind not installed (make deps installs it)"

KG=$LAB_BIN/wormhole-keygen
"$KG" genkey -o "$LAB_DIR/server.key"
"$KG" genkey -o "$LAB_DIR/drone3.key"
SPUB=$("$KG" pubkey <"$LAB_DIR/server.key")
D3=$("$KG" pubkey <"$LAB_DIR/drone3.key")
AP=$((31500 + $$ % 400)) # REST API port, from the PID
TOKEN=clean-exit-token-0123456789
CAP=$((31900 + $$ % 100)) # the client's local API port
cat >"$LAB_DIR/routes.conf" <<CONF
server: { listen = ["127.0.0.1:17410"]; key_file = "server.key";
  api = { listen = "127.0.0.1:$AP"; tokens = ["$TOKEN"]; }; };
clients: { drone3 = { key = "$D3"; }; };
flows: ( { name = "mavlink"; proto = "udp"; port = 14550; members = ["drone3"];
           impair = { loss = 0.1; delay_ms = 20; jitter_ms = 5; seed = 1; }; } );
CONF
cat >"$LAB_DIR/client.ini" <<INI
[client]
id = drone3
key_file = drone3.key
server = 127.0.0.1:17410
server_key = $SPUB
api = 127.1.0.1:$CAP

; A [peers] section: its parsing once read past the section name (valgrind).
[peers]
gcs4 = $SPUB
INI

VG=(valgrind --quiet --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect
	--errors-for-leak-kinds=definite,indirect)
# Daemons built with ASan (make sanitize-lab) check themselves, leaks at exit
# included (their exit status is then not 0), and do not run under valgrind.
[ -z "${LAB_SANITIZED:-}" ] || VG=()
lab_start server "${VG[@]}" "$LAB_BIN/wormhole-server" -c "$LAB_DIR/routes.conf"
lab_start client "${VG[@]}" "$LAB_BIN/wormhole-client" -c "$LAB_DIR/client.ini"
wait_until 30 grep -q "server: running" "$LAB_DIR/server.log" || fail "server did not start"
wait_until 30 grep -q "client drone3: running" "$LAB_DIR/client.log" || fail "client did not start"

# REST API requests of each kind (read, write, refused, hostile), so their
# paths are checked for leaks too (issue #7).
api() { curl -s -o /dev/null -w '%{http_code}' --max-time 30 -H "Authorization: Bearer $TOKEN" "$@" || true; }
wait_until 30 curl -sf -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$AP/api/v1/health" ||
	fail "API did not answer"
[ "$(api "http://127.0.0.1:$AP/api/v1/flows")" = 200 ] || fail "API GET flows"
[ "$(api "http://127.0.0.1:$AP/metrics")" = 200 ] || fail "API GET metrics"
[ "$(api -X PATCH -H 'Content-Type: application/json' --data '{"mtu": 1200}' \
	"http://127.0.0.1:$AP/api/v1/flows/mavlink")" = 200 ] || fail "API PATCH"
[ "$(api -X POST -H 'Content-Type: application/json' --data '{"name": "x", "port": "1"}' \
	"http://127.0.0.1:$AP/api/v1/flows")" = 400 ] || fail "API bad body"
[ "$(api -X DELETE "http://127.0.0.1:$AP/api/v1/flows/nothing")" = 404 ] || fail "API 404"
[ "$(api --path-as-is "http://127.0.0.1:$AP$(head -c 5000 /dev/zero | tr '\0' '/')")" = 404 ] ||
	fail "API 5,000 slashes"

wait_until 30 "$LAB_BIN/wormhole-client" -c "$LAB_DIR/client.ini" status ||
	fail "client local API did not answer"
"$LAB_BIN/wormhole-client" -c "$LAB_DIR/client.ini" status --json | grep -q '"id":"drone3"' ||
	fail "client status --json"
# The client's per-flow API (issue #9): the list, one flow, a 404, and an
# event stream that a watcher leaves, and one still open when the client
# stops (it must end cleanly, without leaks).
CAPI=http://127.1.0.1:$CAP/api/v1
wait_until 30 sh -c "curl -sf '$CAPI/flows' | grep -q '\"name\":\"mavlink\"'" ||
	fail "client GET /api/v1/flows"
wait_until 30 sh -c "curl -sf '$CAPI/flows/mavlink' | grep -q '\"impair\":{\"dropped\":'" ||
	fail "client GET /api/v1/flows/mavlink: no impairment counters"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$CAPI/flows/nothing")" = 404 ] ||
	fail "client GET /flows/nothing: want 404"
curl -sN --max-time 3 "$CAPI/events" >"$LAB_DIR/events-left.txt" || true
grep -q "^event: hello" "$LAB_DIR/events-left.txt" || fail "no hello on /api/v1/events"
lab_start events-open curl -sN --max-time 60 "$CAPI/events"
wait_until 30 grep -q "^event: state" "$LAB_DIR/events-open.log" || fail "no state on /api/v1/events"

# Streams while a monitor polls /status every 0.3 s. Each request once
# restarted every stream's keep-alive wait, so a polled API sent none and
# readers that had left kept their slots (503 for as long as the polling
# went on). Now a reader gets a keep-alive every 2 s, and the slots of
# readers that leave come free within a few seconds.
lab_start poller sh -c "while :; do curl -s -o /dev/null --max-time 2 '$CAPI/status'; sleep 0.3; done"
lab_start events-kept curl -sN --max-time 5.5 "$CAPI/events"
wait_until 30 grep -q "^event: hello" "$LAB_DIR/events-kept.log" || fail "no hello on /api/v1/events"
# Readers that leave take every slot left (events-left may still hold one): the last gets 503.
answered() { grep -q "^event: hello" "$LAB_DIR/events-gone$1.log" || ! kill -0 "${LAB_PIDS[events-gone$1]}"; }
gone=()
for i in 1 2 3 4; do
	lab_start "events-gone$i" curl -sN "$CAPI/events"
	wait_until 30 answered "$i" || fail "no answer on /api/v1/events"
	grep -q "^event: hello" "$LAB_DIR/events-gone$i.log" || break
	gone+=("events-gone$i")
done
grep -q "too many event streams" "$LAB_DIR/events-gone$i.log" || fail "no 503 past 4 event streams"
wait "${LAB_PIDS[events-gone$i]}" || true
unset "LAB_PIDS[events-gone$i]"
for name in "${gone[@]}"; do lab_stop "$name" || true; done
t0=$(date +%s%N)
stream_free() { [ "$(curl -s -o /dev/null --max-time 0.5 -w '%{http_code}' "$CAPI/events" || true)" = 200 ]; }
wait_until 10 stream_free || fail "readers that left still hold the event streams (503) while /status is polled"
ms=$((($(date +%s%N) - t0) / 1000000))
echo "  event streams: readers that left: ${#gone[@]}; a new stream accepted $ms ms later"
wait "${LAB_PIDS[events-kept]}" || true
unset "LAB_PIDS[events-kept]"
lab_stop poller || true
n=$(grep -c "^: keep-alive" "$LAB_DIR/events-kept.log" || true)
echo "  event stream: $n keep-alives in 5.5 s while /status was polled every 0.3 s"
[ "$n" -ge 2 ] || fail "$n keep-alives in 5.5 s on a stream while /status was polled (want one every 2 s)"

# One applied reload (which also replaces the flow's impairment engine) and
# one refused one, so their paths are checked too.
wait_until 30 grep -q "flow mavlink: impair loss=0.1 " "$LAB_DIR/client.log" || fail "no impairment"
sed -i 's/port = 14550/port = 14551/; s/loss = 0.1;/loss = 0.2;/' "$LAB_DIR/routes.conf"
wait_until 10 grep -q "generation=3" "$LAB_DIR/server.log" || fail "reload not applied"
wait_until 30 grep -q "flow mavlink: impair loss=0.2 " "$LAB_DIR/client.log" ||
	fail "the impairment was not replaced"
echo 'flows: ( { name = "x"; } );' >>"$LAB_DIR/routes.conf"
wait_until 10 grep -q "running configuration kept" "$LAB_DIR/server.log" || fail "bad reload not refused"

status=0
lab_stop server || status=$?
[ "$status" = 0 ] || fail "server exit status $status (valgrind: 99 = leak or memory error; ASan: its report in build/asan/lab-reports)"
kill -INT "${LAB_PIDS[client]}"
status=0
wait "${LAB_PIDS[client]}" || status=$?
unset "LAB_PIDS[client]"
[ "$status" = 0 ] || fail "client exit status $status (valgrind: 99 = leak or memory error; ASan: its report in build/asan/lab-reports)"
# The open stream ended with the client: curl saw the end (exit 0), not
# its --max-time (28).
status=0
wait "${LAB_PIDS[events-open]}" || status=$?
unset "LAB_PIDS[events-open]"
[ "$status" = 0 ] || fail "the /api/v1/events stream did not end with the client (curl $status)"
echo "  server and client: clean exit, no leaks or memory errors"
lab_pass
