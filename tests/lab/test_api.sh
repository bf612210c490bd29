#!/usr/bin/env bash
# test_api: the server's REST API driven with curl (issue #7 acceptance 1-6, 4b).
#
#   +-------------------------------------------------------------+
#   | this host (loopback only)                                   |
#   |   wormhole-server  udp 127.0.0.1:$SP   api http://127.0.0.1:$AP
#   |   wormhole-client drone3, gcs4, gcs5 (sockets on 127.1.0.1)  |
#   |   bench_flow apps: drone3 -> video -> gcs4 / gcs5            |
#   |   curl x 50 (acceptance 6)                                   |
#   +-------------------------------------------------------------+
#
# 1. create, read, update, delete a flow; add and remove a member: after each
#    write routes.conf passes --check-config and routes.conf.bak is the
#    previous version; a member added by the API gets traffic within 1 s;
#    the hand-written flow keeps its lines and comments (only the `to` line
#    changes, an `mtu` written at its default stays, and removing the member
#    gives back the file).
# 2. bad JSON, unknown member, duplicate name, wrong type (and a NUL in a
#    name or path, a low-order key): refused, file byte-identical.
# 2b. a write that fails (the backup cannot be made): 500, and neither the
#    file nor the running configuration changes (nothing applied live).
# 3. auth, If-Match, 2 MB body, 5,000 "/" path.
# 4. a hand edit between GET and PUT is not lost (and a PATCH right after a
#    hand edit keeps it). 4c. routes.conf moved away: reads still answer
#    (no ETag), a write gets 500 naming the file. 5. /metrics parses with
#    python3-prometheus-client. 6. 50 concurrent clients for 10 s.
# 6b. slow clients: 300 connections that send nothing or an unfinished
#    request (a slowloris) while curl asks: every answer comes, and the
#    stalled connections the gate drops for newer ones get 408 (logged with
#    their address, a few lines a second at most).
# 4b. kill -9 during a burst of writes: routes.conf is always a whole version.
# lab-run: alone (50 curl clients load both cores; on the host's loopback)
set -euo pipefail
source "$(dirname "$0")/../../tools/lab/lib.sh"
lab_init api

PY=/usr/bin/python3 # Debian's python3, where python3-prometheus-client lives
BF=$LAB_ROOT/build/release/tools/bench_flow
KG=$LAB_BIN/wormhole-keygen
command -v curl >/dev/null || fail "curl missing (make deps)"
$PY -c 'import prometheus_client' 2>/dev/null || fail "python3-prometheus-client missing (make deps)"
[ -x "$BF" ] || fail "$BF missing (make build-tests)"

# Ports from the PID, so parallel runs and other tests do not collide.
off=$(($$ % 400))
SP=$((30000 + off * 2))		  # server udp (+1 alt port)
AP=$((31000 + off))		  # api
RA="$((32000 + off * 4))-$((32000 + off * 4 + 3))"
RB="$((34000 + off * 4))-$((34000 + off * 4 + 3))"
VP=$((36000 + off * 2))		  # the video flow's port
TOKEN=write-token-$$-0123456789
RTOKEN=read-token-$$-0123456789
URL=http://127.0.0.1:$AP
CONF=$LAB_DIR/routes.conf

CAP=$((37000 + off * 4)) # the clients' local APIs: CAP, CAP+1, ...
lab_loopback_clients "$SP" "$CAP" drone3 gcs4 gcs5 gcs6
pub() { "$KG" pubkey <"$LAB_DIR/$1.key"; }

cat >"$CONF" <<CONF
# routes.conf for the API test: hand-written comments must survive API edits.
server: {
  listen = ["127.0.0.1:$SP"];
  key_file = "server.key";
  relay_a = "$RA"; relay_b = "$RB";  # small ranges: this test only
  keepalive_s = 5;
  api = { listen = "127.0.0.1:$AP"; tokens = ["$TOKEN"]; read_tokens = ["$RTOKEN"]; };
};
clients: {
  drone3 = { key = "$(pub drone3)"; };  # the drone
  gcs4 = { key = "$(pub gcs4)"; };
  gcs5 = { key = "$(pub gcs5)"; };
};
flows: (
  # video from the drone; gcs4's player listens on VP+1
  { name = "video";
    proto = "udp";     # RTP
    port = $VP;
    from = ["drone3"];
    to = [
      "gcs4"     # the ground station
    ];
    deliver = { gcs4 = "127.0.0.1:$((VP + 1))"; };  # its player
    mtu = 1400;        # the default, written out
  }
);
# end of file
CONF

# api METHOD PATH [BODY] [extra curl args...]: prints the status; the body is
# in $LAB_DIR/resp and the headers in $LAB_DIR/hdr.
api() {
	local m=$1 p=$2 body=${3:-}
	shift 3 2>/dev/null || shift $#
	local args=(-s -o "$LAB_DIR/resp" -D "$LAB_DIR/hdr" -w '%{http_code}' --max-time 15 -X "$m"
		-H "Authorization: Bearer $TOKEN")
	if [ -n "$body" ]; then
		args+=(-H 'Content-Type: application/json' --data-binary "$body")
	fi
	curl "${args[@]}" "$@" "$URL$p" || true
}
etag() { tr -d '\r' <"$LAB_DIR/hdr" | sed -n 's/^ETag: //p'; }
expect() { # expect STATUS GOT WHAT
	[ "$2" = "$1" ] || fail "$3: status $2, wanted $1: $(cat "$LAB_DIR/resp")"
}

lab_start server "$LAB_BIN/wormhole-server" -c "$CONF" --log-level debug
LOG=$LAB_DIR/server.log
wait_until 5 grep -q "api: listening" "$LOG" || fail "API did not start"
cp "$CONF" "$LAB_DIR/prev.conf"

# After each API write: the file is valid, the backup is the previous version.
written() {
	"$LAB_BIN/wormhole-server" --check-config "$CONF" >/dev/null || fail "$1: routes.conf invalid"
	cmp -s "$CONF.bak" "$LAB_DIR/prev.conf" || fail "$1: routes.conf.bak is not the previous version"
	grep -q '^# end of file$' "$CONF" && grep -q '# the drone$' "$CONF" ||
		fail "$1: hand-written comments lost"
	cp "$CONF" "$LAB_DIR/prev.conf"
}
unchanged() {
	cmp -s "$CONF" "$LAB_DIR/prev.conf" || fail "$1: routes.conf changed"
}

echo "  1. create, read, update, delete; members"
expect 200 "$(api GET /api/v1/health)" "health"
grep -q '"generation":1' "$LAB_DIR/resp" || fail "health: $(cat "$LAB_DIR/resp")"
cp "$CONF" "$LAB_DIR/orig.conf"
expect 201 "$(api POST /api/v1/flows '{"name": "telemetry", "proto": "udp", "port": '$((VP + 10))', "from": ["drone3"], "to": ["gcs5"]}')" "create"
written create
# Laid out like the video flow before it: a setting per line.
grep -q '^  { name = "telemetry";$' "$CONF" && grep -q '^    to = \["gcs5"\];$' "$CONF" &&
	grep -q '^  },$' "$CONF" || fail "create: the new flow is not laid out like video: $(sed -n '/^flows/,$p' "$CONF")"
expect 200 "$(api GET /api/v1/flows/telemetry)" "read"
grep -q '"to":\["gcs5"\]' "$LAB_DIR/resp" || fail "read: $(cat "$LAB_DIR/resp")"
expect 200 "$(api PUT /api/v1/flows/telemetry '{"proto": "udp", "port": '$((VP + 11))', "from": ["drone3"], "to": ["gcs5"], "mtu": 1200}')" "update (PUT)"
written "update (PUT)"
expect 200 "$(api PATCH /api/v1/flows/telemetry '{"impair": {"delay_ms": 5}}')" "update (PATCH)"
written "update (PATCH)"
grep -q '"port":'$((VP + 11))',.*"delay_ms":5' "$LAB_DIR/resp" || fail "PATCH lost a field: $(cat "$LAB_DIR/resp")"
expect 204 "$(api DELETE /api/v1/flows/telemetry)" "delete"
written delete
cmp -s "$CONF" "$LAB_DIR/orig.conf" || fail "delete: routes.conf is not back to what it was before create"
expect 201 "$(api PUT /api/v1/clients/gcs6 "{\"key\": \"$(pub gcs6)\"}")" "client register"
written "client register"
expect 200 "$(api GET /api/v1/clients/gcs6)" "client read"
grep -q '"online":false' "$LAB_DIR/resp" || fail "client read: $(cat "$LAB_DIR/resp")"
expect 204 "$(api DELETE /api/v1/clients/gcs6)" "client remove"
written "client remove"
grep -q gcs6 "$CONF" && fail "removed client still in routes.conf"
expect 404 "$(api GET /api/v1/flows/telemetry)" "read after delete"
grep -q 'telemetry' "$CONF" && fail "deleted flow still in routes.conf"

# Clients: drone3 sends video continuously; gcs5 joins through the API.
for c in drone3 gcs4 gcs5; do
	lab_start "$c" "$LAB_BIN/wormhole-client" -c "$LAB_DIR/$c.ini" --log-level debug
done
wait_until 10 grep -q "client gcs5: online" "$LOG" || fail "gcs5 did not come online"
lab_start gcs4app "$BF" --bind "127.0.0.1:$((VP + 1))" --expect 1000000 --timeout 60000
lab_start drone3app "$BF" --bind 127.0.0.1:0 --to "127.1.0.1:$VP" --count 1000000 --rate 200 --size 100 --timeout 60000
lab_start gcs5app "$BF" --bind "127.0.0.1:$VP" --expect 1 --linger 0 --timeout 30000
sleep 1 # video flows to gcs4 meanwhile; gcs5 is no member and gets nothing
kill -0 "${LAB_PIDS[gcs5app]}" || fail "gcs5 got video before it was a member"
cp "$CONF" "$LAB_DIR/before_add.conf"
t0=$(date +%s%N)
expect 201 "$(api POST /api/v1/flows/video/members '{"id": "gcs5", "as": "to"}')" "member add"
written "member add"
# Only the changed list is edited, element by element: gcs4 keeps its line
# and comment (with a comma now), gcs5 gets a line of its own, and every
# other line of the hand-written flow stays.
diff "$LAB_DIR/before_add.conf" "$CONF" | grep '^[<>]' >"$LAB_DIR/add.diff" || true
printf '%s\n' '<       "gcs4"     # the ground station' \
	'>       "gcs4",     # the ground station' '>       "gcs5"' | cmp -s - "$LAB_DIR/add.diff" ||
	fail "member add rewrote more than the to list: $(cat "$LAB_DIR/add.diff")"
gcs5_done() { ! kill -0 "${LAB_PIDS[gcs5app]}" 2>/dev/null; }
wait_until 1 gcs5_done || fail "gcs5 added by the API got no video within 1 s"
t1=$(date +%s%N)
wait "${LAB_PIDS[gcs5app]}" || fail "gcs5's app failed"
unset "LAB_PIDS[gcs5app]"
echo "     gcs5 added by the API received video after $(((t1 - t0) / 1000000)) ms"
expect 200 "$(api DELETE /api/v1/flows/video/members/gcs5)" "member remove"
written "member remove"
cmp -s "$LAB_DIR/before_add.conf" "$CONF" ||
	fail "member add then remove did not give back the file: $(diff "$LAB_DIR/before_add.conf" "$CONF")"

echo "  2. bad requests change nothing"
expect 400 "$(api POST /api/v1/flows '{"name": "x", "proto": ')" "bad JSON"
grep -q 'bad JSON' "$LAB_DIR/resp" || fail "bad JSON: $(cat "$LAB_DIR/resp")"
unchanged "bad JSON"
expect 400 "$(api POST /api/v1/flows/video/members '{"id": "drone9", "as": "to"}')" "unknown member"
grep -q 'unknown member \\"drone9\\"' "$LAB_DIR/resp" || fail "unknown member: $(cat "$LAB_DIR/resp")"
unchanged "unknown member"
expect 400 "$(api POST /api/v1/flows/video/members '{"id": "gcs5", "as": "to", "role": "x"}')" "unknown field in a member"
grep -q 'unknown field \\"role\\"' "$LAB_DIR/resp" || fail "unknown field in a member: $(cat "$LAB_DIR/resp")"
unchanged "unknown field in a member"
expect 400 "$(api POST /api/v1/flows '{"name": "x", "proto": "udp", "port": 1, "members": ["drone3", "ghost"]}')" "unknown member in a new flow"
grep -q 'ghost' "$LAB_DIR/resp" || fail "unknown member: $(cat "$LAB_DIR/resp")"
unchanged "unknown member in a new flow"
expect 400 "$(api POST /api/v1/flows '{"name": "video", "proto": "udp", "port": 1, "members": ["drone3", "gcs4"]}')" "duplicate name"
grep -q 'already exists' "$LAB_DIR/resp" || fail "duplicate: $(cat "$LAB_DIR/resp")"
unchanged "duplicate name"
expect 400 "$(api PATCH /api/v1/flows/video '{"port": "5600"}')" "wrong type"
grep -q 'port: must be an integer' "$LAB_DIR/resp" || fail "wrong type: $(cat "$LAB_DIR/resp")"
unchanged "wrong type"
expect 400 "$(api PATCH /api/v1/flows/video '{"port": 70000}')" "out of range"
unchanged "out of range"
expect 400 "$(api DELETE /api/v1/clients/gcs4)" "removing a client a flow uses"
unchanged "removing a client a flow uses"
# What cJSON and civetweb would cut short at a NUL: "video\u0000x" and
# "video%00x" would both name flow "video".
expect 400 "$(api POST /api/v1/flows '{"name": "video\u0000x", "proto": "udp", "port": 1, "members": ["drone3", "gcs4"]}')" "NUL in a name"
grep -q 'u0000 in a string' "$LAB_DIR/resp" || fail "NUL in a name: $(cat "$LAB_DIR/resp")"
expect 400 "$(api DELETE /api/v1/flows/video%00x)" "NUL in a path"
expect 400 "$(api PUT /api/v1/clients/gcs6 '{"key": "4Ot6fDtBuK4WVuP68Z/EatoJjeucMrH9hmIFFl9JuAA="}')" "low-order key"
grep -q 'low-order point' "$LAB_DIR/resp" || fail "low-order key: $(cat "$LAB_DIR/resp")"
unchanged "NUL in a name or path, low-order key"

echo "  2b. a write that fails changes nothing, on disk or live"
generation() { api GET /api/v1/health >/dev/null; grep -o '"generation":[0-9]*' "$LAB_DIR/resp"; }
gen0=$(generation)
applied0=$(grep -c ' applied ' "$LOG" || true)
# rename(2) cannot put a file over a folder that holds something, even as
# root: the backup step fails after the new text is written to its
# temporary file.
mv "$CONF.bak" "$LAB_DIR/bak.saved"
mkdir "$CONF.bak"
touch "$CONF.bak/blocker"
expect 500 "$(api DELETE /api/v1/flows/video)" "a delete that cannot be written"
grep -q 'cannot write: .*(nothing applied)' "$LAB_DIR/resp" || fail "failed write: $(cat "$LAB_DIR/resp")"
unchanged "a write that failed"
expect 200 "$(api GET /api/v1/flows/video)" "the flow after the failed delete"
[ "$(generation)" = "$gen0" ] || fail "a write that failed changed the running generation ($gen0)"
# Applied and then undone, the clients would have lost video for a moment.
[ "$(grep -c ' applied ' "$LOG" || true)" = "$applied0" ] ||
	fail "a write that failed was applied live: $(grep ' applied ' "$LOG" | tail -n 2)"
grep -q "api: cannot write $CONF: .*(nothing applied)" "$LOG" || fail "the failed write is not logged"
rm -r "$CONF.bak"
mv "$LAB_DIR/bak.saved" "$CONF.bak"
for f in "$CONF".wh-tmp.*; do
	[ ! -e "$f" ] || fail "a failed write left its temporary file $f"
done

echo "  3. auth, If-Match, limits, hostile paths"
code() { curl -s -o "$LAB_DIR/resp" -w '%{http_code}' --max-time 15 "$@" || true; }
expect 401 "$(code "$URL/api/v1/flows")" "no token"
expect 401 "$(code -H "Authorization: Bearer wrong-token-0123456789" "$URL/api/v1/flows")" "wrong token"
expect 200 "$(code -H "Authorization: Bearer $RTOKEN" "$URL/api/v1/flows")" "read token reads"
expect 403 "$(code -X DELETE -H "Authorization: Bearer $RTOKEN" "$URL/api/v1/flows/video")" "read token writes"
expect 412 "$(api PATCH /api/v1/flows/video '{"mtu": 1300}' -H 'If-Match: "0123456789abcdef"')" "stale If-Match"
unchanged "stale If-Match"
head -c 2000000 /dev/zero | tr '\0' ' ' >"$LAB_DIR/big.json"
expect 413 "$(api POST /api/v1/flows @"$LAB_DIR/big.json")" "2 MB body"
expect 411 "$(api POST /api/v1/flows '{}' -H 'Transfer-Encoding: chunked')" "chunked body"
expect 415 "$(code -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: text/plain' --data '{}' "$URL/api/v1/flows")" "text/plain body"
expect 421 "$(code -H "Authorization: Bearer $TOKEN" -H "Host: rebind.example:$AP" "$URL/api/v1/flows")" "foreign Host"
expect 405 "$(api PATCH /api/v1/flows '{}')" "PATCH on the list"
tr -d '\r' <"$LAB_DIR/hdr" | grep -q '^Allow: GET, POST$' || fail "405 without Allow: $(cat "$LAB_DIR/hdr")"
expect 404 "$(api GET /api/v1/nothing)" "unknown path"
grep -q '"error"' "$LAB_DIR/resp" || fail "404 is not JSON"
slashes=$(head -c 5000 /dev/zero | tr '\0' '/')
expect 404 "$(code --path-as-is -H "Authorization: Bearer $TOKEN" "$URL$slashes")" "5,000 slashes"
expect 200 "$(api GET /api/v1/health)" "health after 5,000 slashes"
unchanged "hostile requests"

echo "  4. a hand edit between GET and PUT is not lost"
expect 200 "$(api GET /api/v1/flows/video)" "GET before the hand edit"
old_etag=$(etag)
sed -i 's/^# end of file$/# end of file (edited by hand)/' "$CONF"
expect 412 "$(api PUT /api/v1/flows/video '{"proto": "udp", "port": '$VP', "from": ["drone3"], "to": ["gcs4"], "mtu": 1000}' -H "If-Match: $old_etag")" "PUT with the old ETag"
grep -q 'edited by hand' "$CONF" || fail "the hand edit was overwritten"
expect 200 "$(api GET /api/v1/flows/video)" "GET after the hand edit"
[ "$(etag)" != "$old_etag" ] || fail "ETag did not change with the file"
cp "$CONF" "$LAB_DIR/prev.conf"
expect 200 "$(api PATCH /api/v1/flows/video '{"mtu": 1000}' -H "If-Match: $(etag)")" "PATCH with the new ETag"
grep -q 'edited by hand' "$CONF" || fail "the API write lost the hand edit"
sed -i 's/^# end of file (edited by hand)$/# end of file/' "$CONF"
cp "$CONF" "$LAB_DIR/prev.conf"
# A hand edit of the flow itself, saved, and at once (before the reload
# 100 ms later) a PATCH of another field with the file's new ETag: the
# PATCH starts from the file, so the hand edit stays (it used to start from
# the running flow and put mtu = 1000 back).
file_etag() { # the ETag of a file's content: BLAKE2b-128, as the API computes it
	$PY -c 'import hashlib, sys; print("\"%s\"" % hashlib.blake2b(open(sys.argv[1], "rb").read(), digest_size=16).hexdigest())' "$1"
}
sed 's/^    mtu = 1000; /    mtu = 1100; /' "$CONF" >"$LAB_DIR/hand.conf"
grep -q '^    mtu = 1100; .*# the default, written out$' "$LAB_DIR/hand.conf" || fail "test bug: no mtu line to edit"
hand_etag=$(file_etag "$LAB_DIR/hand.conf")
cp "$LAB_DIR/hand.conf" "$CONF"
expect 200 "$(api PATCH /api/v1/flows/video '{"multipath": "redundant"}' -H "If-Match: $hand_etag")" "PATCH right after a hand edit"
grep -q '^    mtu = 1100; .*# the default, written out$' "$CONF" ||
	fail "PATCH right after a hand edit undid it: $(grep -n 'mtu' "$CONF")"
grep -q 'multipath = "redundant"' "$CONF" || fail "PATCH right after a hand edit: not written"
expect 200 "$(api PATCH /api/v1/flows/video '{"multipath": null}')" "PATCH multipath back"
grep -q '^    mtu = 1100; ' "$CONF" && ! grep -q multipath "$CONF" ||
	fail "PATCH multipath back: $(sed -n '/^flows/,$p' "$CONF")"
# Set back to its default, the mtu line is rewritten in place with its
# comment (it used to be removed).
expect 200 "$(api PATCH /api/v1/flows/video '{"mtu": 1400}')" "PATCH mtu to its default"
grep -q '^    mtu = 1400; .*# the default, written out$' "$CONF" ||
	fail "PATCH mtu to its default: $(sed -n '/^flows/,$p' "$CONF")"
cp "$CONF" "$LAB_DIR/prev.conf"
# Flows added by hand and saved: at once (before the reload applies them)
# a POST of one's name is a duplicate, and a DELETE of the other removes
# it from the file (both looked at the running config: the POST wrote a
# second flow of that name that the validator refused, the DELETE was 404).
HP=$((39000 + off * 2))
add_hand_flow() { # add_hand_flow NAME PORT: the file with one more flow, to stdout
	$PY - "$CONF" "$1" "$2" <<'PY'
import sys
text = open(sys.argv[1]).read()
head, tail = text.rsplit("\n);\n", 1)
print(head + ',\n  { name = "%s"; proto = "udp"; port = %s; from = ["gcs4"]; to = ["gcs5"]; }\n);\n' % (sys.argv[2], sys.argv[3]) + tail, end="")
PY
}
add_hand_flow handmade "$HP" >"$LAB_DIR/hand.conf"
cp "$LAB_DIR/hand.conf" "$CONF"
expect 400 "$(api POST /api/v1/flows '{"name": "handmade", "proto": "udp", "port": '$((HP + 1))', "from": ["gcs4"], "to": ["gcs5"]}')" "POST of a flow just added by hand"
grep -q 'name: flow ."handmade." already exists' "$LAB_DIR/resp" ||
	fail "POST of a flow just added by hand: $(cat "$LAB_DIR/resp")"
cmp -s "$CONF" "$LAB_DIR/hand.conf" || fail "the refused POST changed routes.conf"
running_has() { [ "$(api GET "/api/v1/flows/$1")" = 200 ]; }
wait_until 5 running_has handmade || fail "the hand-added flow was not applied"
add_hand_flow handmade2 "$((HP + 1))" >"$LAB_DIR/hand2.conf"
cp "$LAB_DIR/hand2.conf" "$CONF"
expect 204 "$(api DELETE /api/v1/flows/handmade2)" "DELETE of a flow just added by hand"
! grep -q handmade2 "$CONF" || fail "DELETE of a flow just added by hand left it in the file"
expect 204 "$(api DELETE /api/v1/flows/handmade)" "DELETE handmade"
cmp -s "$CONF" "$LAB_DIR/prev.conf" || fail "routes.conf after the hand-added flows: $(diff "$LAB_DIR/prev.conf" "$CONF")"

echo "  4c. routes.conf cannot be read: reads answer, writes say why"
mv "$CONF" "$LAB_DIR/away.conf"
expect 200 "$(api GET /api/v1/health)" "health without routes.conf"
tr -d '\r' <"$LAB_DIR/hdr" | grep -q '^ETag:' && fail "an ETag without routes.conf"
expect 200 "$(api GET /api/v1/flows)" "flows without routes.conf"
grep -q '"name":"video"' "$LAB_DIR/resp" || fail "flows without routes.conf: $(cat "$LAB_DIR/resp")"
expect 200 "$(api GET /metrics)" "metrics without routes.conf"
expect 404 "$(api GET /api/v1/nothing)" "unknown path without routes.conf"
expect 401 "$(code "$URL/api/v1/health")" "no token without routes.conf"
expect 500 "$(api PATCH /api/v1/flows/video '{"mtu": 1300}')" "a write without routes.conf"
grep -q "$CONF: cannot read: No such file or directory (nothing changed)" "$LAB_DIR/resp" ||
	fail "a write without routes.conf: $(cat "$LAB_DIR/resp")"
[ ! -e "$CONF" ] || fail "a write without routes.conf made one"
mv "$LAB_DIR/away.conf" "$CONF"
expect 200 "$(api GET /api/v1/health)" "health with routes.conf back"
[ "$(etag)" = "$(file_etag "$CONF")" ] || fail "the ETag is not back with routes.conf"

echo "  4d. routes.conf that does not load: writes are 409 naming its line, nothing edited"
cp "$CONF" "$LAB_DIR/good.conf"
echo 'junk ;;; {{' >>"$CONF"
cp "$CONF" "$LAB_DIR/prev.conf"
bad_line=$(wc -l <"$CONF")
for req in "PUT /api/v1/clients/gcs9 {\"key\":\"$(pub gcs5)\"}" "DELETE /api/v1/clients/gcs5" \
	"PATCH /api/v1/flows/video {\"mtu\":1300}" "DELETE /api/v1/flows/video"; do
	read -r m p b <<<"$req"
	expect 409 "$(api "$m" "$p" "$b")" "$m $p on a file that does not load"
	grep -q "routes.conf:$bad_line: syntax error" "$LAB_DIR/resp" ||
		fail "$m $p on a file that does not load: $(cat "$LAB_DIR/resp") (want line $bad_line)"
	unchanged "$m $p on a file that does not load"
done
cp "$LAB_DIR/good.conf" "$CONF"

echo "  5. /metrics is valid Prometheus text"
wait_until 5 grep -q "client drone3: online" "$LOG" || true
curl -s --max-time 15 -H "Authorization: Bearer $RTOKEN" "$URL/metrics" >"$LAB_DIR/metrics.txt"
$PY - "$LAB_DIR/metrics.txt" <<'PY' || fail "/metrics: $(head -c 600 "$LAB_DIR/metrics.txt")"
import sys
from prometheus_client.parser import text_string_to_metric_families
fams = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}
def samples(name):
    return [s for s in fams[name].samples]
pk = {s.labels["flow"]: s.value for s in samples("wormhole_flow_packets")}
by = {s.labels["flow"]: s.value for s in samples("wormhole_flow_bytes")}
mp = {(s.labels["flow"], s.labels["client"]): s.value for s in samples("wormhole_flow_member_packets")}
assert mp.get(("video", "drone3"), 0) > 0, mp  # the video source reported what it sent
assert "video" in pk and "video" in by, (pk, by)
assert pk["video"] > 0 and by["video"] >= 100 * pk["video"], (pk, by)
kinds = {(s.labels["client"], s.labels["peer"]): s.labels["kind"] for s in samples("wormhole_client_path_info")}
assert kinds.get(("drone3", "gcs4")) in ("relay", "direct"), kinds
online = {s.labels["client"]: s.value for s in samples("wormhole_client_online")}
assert online["drone3"] == 1, online
print("     /metrics: %d families, video %d packets, path kinds %s" % (len(fams), pk["video"], sorted(set(kinds.values()))))
PY
expect 200 "$(api GET /api/v1/flows/video/stats)" "flow stats"
grep -q '"packets":[1-9]' "$LAB_DIR/resp" || fail "flow stats: $(cat "$LAB_DIR/resp")"
expect 200 "$(api GET /api/v1/clients/drone3)" "client"
grep -q '"online":true' "$LAB_DIR/resp" && grep -q '"kind":"\(relay\|direct\)"' "$LAB_DIR/resp" ||
	fail "client: $(cat "$LAB_DIR/resp")"
# The client's local API (DESIGN §8): `wormhole-client status`.
"$LAB_BIN/wormhole-client" -c "$LAB_DIR/drone3.ini" status --json >"$LAB_DIR/status.json" ||
	fail "wormhole-client status --json failed"
$PY - "$LAB_DIR/status.json" <<'PY' || fail "client status: $(cat "$LAB_DIR/status.json")"
import json, sys
st = json.load(open(sys.argv[1]))
assert st["id"] == "drone3" and st["server"]["session"] == "up", st
peers = {p["id"]: p for p in st["peers"]}
assert peers["gcs4"]["session"] == "up" and peers["gcs4"]["path"] in ("relay", "direct"), peers
assert peers["gcs4"]["tx_packets"] > 0, peers
flows = {f["name"]: f for f in st["flows"]}
assert flows["video"]["tx_packets"] > 0, flows
PY
"$LAB_BIN/wormhole-client" -c "$LAB_DIR/drone3.ini" status >"$LAB_DIR/status.txt" ||
	fail "wormhole-client status failed"
grep -q "^server 127.0.0.1:$SP: session up" "$LAB_DIR/status.txt" &&
	grep -q "^  gcs4 .*session up" "$LAB_DIR/status.txt" || fail "status text: $(cat "$LAB_DIR/status.txt")"
echo "     wormhole-client status: server session up, peer gcs4 up on the relay"
for p in drone3app gcs4app drone3 gcs4 gcs5; do
	lab_stop "$p" || true
done

"$LAB_BIN/wormhole-client" -c "$LAB_DIR/drone3.ini" status >/dev/null 2>"$LAB_DIR/status.err" &&
	fail "status answered without a daemon"
grep -q "no client daemon answers on 127.1.0.1:$CAP" "$LAB_DIR/status.err" || fail "status error: $(cat "$LAB_DIR/status.err")"
# Something else answers 200 on the port: `status` and `status --json` both
# refuse it (one line, exit 1); --json never passes it through. An HTML
# error page ("404:" below: answered 404) is one line too, not the page.
BODIES=('<html>hello</html>' '{"pe' '[1,2,3]' $'404:<html>\n<body>Not Found</body>\n</html>')
lab_start stub $PY -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.1.0.1", int(sys.argv[1])))
s.listen(5)
s.settimeout(10)
open(sys.argv[2], "w").close()
for b in sys.argv[3:]:
    code = b"404 Not Found" if b.startswith("404:") else b"200 OK"
    b = b[4:] if b.startswith("404:") else b
    for _ in range(2):  # status --json, then status
        c, _ = s.accept()
        c.recv(4096)
        c.sendall(b"HTTP/1.1 %s\r\nContent-Type: text/html\r\nContent-Length: %d\r\n"
                  b"Connection: close\r\n\r\n%s" % (code, len(b.encode()), b.encode()))
        c.close()' "$CAP" "$LAB_DIR/stub.ready" "${BODIES[@]}"
wait_until 5 test -e "$LAB_DIR/stub.ready" || fail "the stub server did not start: $(cat "$LAB_DIR/stub.log")"
for b in "${BODIES[@]}"; do
	want="wormhole-client status: 127.1.0.1:$CAP answered something else than a status"
	case "$b" in 404:*)
		want="wormhole-client status: 127.1.0.1:$CAP answered HTTP 404, not a wormhole client's API (something else listens there?)" ;;
	esac
	for mode in --json text; do
		rc=0
		"$LAB_BIN/wormhole-client" -c "$LAB_DIR/drone3.ini" status ${mode/text/} >"$LAB_DIR/status.out" \
			2>"$LAB_DIR/status.err" || rc=$?
		[ "$rc" = 1 ] && [ ! -s "$LAB_DIR/status.out" ] && [ "$(cat "$LAB_DIR/status.err")" = "$want" ] ||
			fail "status $mode with '$b' answering: exit $rc, out '$(cat "$LAB_DIR/status.out")', err '$(cat "$LAB_DIR/status.err")'"
	done
done
lab_stop stub || fail "stub server: $(cat "$LAB_DIR/stub.log")"
echo "     status and status --json refuse what is not a status (and an HTML 404): one line, exit 1"

echo "  6. 50 concurrent clients for 10 s"
worker() { # worker N: reads and writes until the deadline, one status per line
	local n=$1 end=$(($(date +%s) + 10)) i=0 m p b
	while [ "$(date +%s)" -lt "$end" ] && [ $i -lt 2000 ]; do
		i=$((i + 1))
		case $(((n + i) % 6)) in
		0) m=GET p=/api/v1/flows b= ;;
		1) m=GET p=/metrics b= ;;
		2) m=PATCH p=/api/v1/flows/video b="{\"mtu\": $((1000 + (n * 7 + i) % 400))}" ;;
		3) m=POST p=/api/v1/flows/video/members b='{"id": "gcs5", "as": "to"}' ;;
		4) m=DELETE p=/api/v1/flows/video/members/gcs5 b= ;;
		5) m=POST p=/api/v1/flows b="{\"name\": \"w$n\", \"proto\": \"udp\", \"port\": $((VP + 100 + n)), \"members\": [\"gcs4\", \"gcs5\"]}" ;;
		esac
		if [ -n "$b" ]; then
			s=$(curl -s -o /dev/null -w '%{http_code}' --max-time 20 -X "$m" -H "Authorization: Bearer $TOKEN" \
				-H 'Content-Type: application/json' --data-binary "$b" "$URL$p" || true)
		else
			s=$(curl -s -o /dev/null -w '%{http_code}' --max-time 20 -X "$m" -H "Authorization: Bearer $TOKEN" "$URL$p" || true)
		fi
		echo "$m $s"
	done >"$LAB_DIR/worker.$n"
}
wrote_before=$(grep -c "api: wrote" "$LOG" || true)
wpids=()
for n in $(seq 1 50); do
	worker "$n" &
	wpids+=($!)
done
for p in "${wpids[@]}"; do wait "$p"; done
kill -0 "${LAB_PIDS[server]}" || fail "server died under 50 concurrent clients"
cat "$LAB_DIR"/worker.* >"$LAB_DIR/statuses"
total=$(wc -l <"$LAB_DIR/statuses")
bad=$(grep -v -E '^(GET 200|(PATCH|POST|DELETE) (200|201|204|400|404|409|412))$' "$LAB_DIR/statuses" || true)
[ -z "$bad" ] || fail "unexpected statuses: $(sort "$LAB_DIR/statuses" | uniq -c | tr '\n' ' ')"
# A member added twice is answered 200 with nothing to write; every other
# 2xx write (and an added member: 201) must have been written exactly once.
ok_writes=$(grep -c -E '^(PATCH 200|POST 201|DELETE 20[04])$' "$LAB_DIR/statuses" || true)
wrote=$(($(grep -c "api: wrote" "$LOG") - wrote_before))
[ "$ok_writes" = "$wrote" ] || fail "$ok_writes writes answered 2xx but $wrote written"
"$LAB_BIN/wormhole-server" --check-config "$CONF" >/dev/null || fail "routes.conf invalid after the burst"
expect 200 "$(api GET /api/v1/health)" "health after the burst"
echo "     $total requests: $(sort "$LAB_DIR/statuses" | uniq -c | awk '{printf "%s %s:%s, ", $1, $2, $3}')"
echo "     $ok_writes writes applied, each one written once"
echo "  6b. 300 slow connections (nothing, or a request never finished)"
# hogs N: N connections, every third sending an unfinished request; counts
# the 408s they get, until the file "$LAB_DIR/hogs.stop" appears.
cat >"$LAB_DIR/hogs.py" <<'PY'
import os, socket, sys, time
port, n, stop = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
socks = []
for i in range(n):
    s = socket.socket()
    s.setblocking(False)
    try:
        s.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    socks.append(s)
time.sleep(0.3)
for i, s in enumerate(socks):
    if i % 3 == 0:
        try:
            s.send(b"POST /api/v1/flows HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le")
        except OSError:
            pass
print("ready", flush=True)
end = time.time() + 60
while not os.path.exists(stop) and time.time() < end:
    time.sleep(0.1)
got = 0
for s in socks:
    try:
        got += s.recv(4096).startswith(b"HTTP/1.1 408")
    except OSError:
        pass
print(got)
PY
$PY "$LAB_DIR/hogs.py" "$AP" 300 "$LAB_DIR/hogs.stop" >"$LAB_DIR/hogs.out" &
hogs=$!
wait_until 10 grep -q ready "$LAB_DIR/hogs.out" || fail "the slow clients did not start"
t0=$(date +%s%N)
for i in $(seq 1 10); do
	expect 200 "$(curl -s -o /dev/null -w '%{http_code}' --max-time 8 -H "Authorization: Bearer $TOKEN" \
		"$URL/api/v1/health" || true)" "health $i under 300 slow connections"
done
ms=$((($(date +%s%N) - t0) / 1000000))
touch "$LAB_DIR/hogs.stop"
wait "$hogs" || fail "the slow clients failed"
# All but the 64 the gate holds were dropped for the ones behind them (the
# rest get theirs at the gate's 5 s; the unit test checks that one).
n408=$(tail -n 1 "$LAB_DIR/hogs.out")
[ "$n408" -ge 200 ] || fail "only $n408 of the 300 slow connections got 408"
slow=$(curl -s -H "Authorization: Bearer $TOKEN" "$URL/metrics" |
	sed -n 's/^wormhole_api_connections_dropped_total{reason="slow_request"} \([0-9]*\)$/\1/p')
[ "${slow:-0}" -ge "$n408" ] || fail "/metrics counts ${slow:-no} slow requests dropped, the clients saw $n408"
# The server's log says so too, naming the client (a few lines: rate-limited).
n_logged=$(grep -c "api: 408, a request still coming while the gate was full from 127\.0\.0\.1:" "$LOG" || true)
[ "$n_logged" -ge 1 ] && [ "$n_logged" -le 40 ] ||
	fail "the server logged $n_logged of the slow connections the gate dropped (want a few, rate-limited)"
echo "     10 health requests answered in $ms ms; $n408 of the 300 slow connections got 408" \
	"(/metrics: $slow slow requests dropped; $n_logged lines in the log)"

lab_stop server || fail "server did not stop cleanly"

echo "  4b. kill -9 during a burst of writes"
expect_version() { # the file is the base or the base with the video group's mtu changed
	local v
	cmp -s "$CONF" "$LAB_DIR/base.conf" && return 0
	v=$(grep -o 'mtu = [0-9]*' "$CONF" | grep -o '[0-9]*$' | head -n 1) # only video has one
	[ -n "$v" ] || return 1
	sed "s/@MTU@/$v/" "$LAB_DIR/template.conf" | cmp -s - "$CONF"
}
lab_start server "$LAB_BIN/wormhole-server" -c "$CONF"
wait_until 5 curl -sf -H "Authorization: Bearer $TOKEN" "$URL/api/v1/health" || fail "restart failed"
expect 200 "$(api PATCH /api/v1/flows/video '{"mtu": 999}')" "template write"
sed 's/mtu = 999;/mtu = @MTU@;/' "$CONF" >"$LAB_DIR/template.conf"
grep -q '@MTU@' "$LAB_DIR/template.conf" || fail "test bug: no mtu in the template"
for round in 1 2 3 4 5 6; do
	cp "$CONF" "$LAB_DIR/base.conf"
	if [ "$round" -gt 1 ]; then
		lab_start server "$LAB_BIN/wormhole-server" -c "$CONF"
		wait_until 5 curl -sf -H "Authorization: Bearer $TOKEN" "$URL/api/v1/health" ||
			fail "round $round: the server did not start on the file left by kill -9"
	fi
	burst() {
		for i in $(seq 1 400); do
			curl -s -o /dev/null --max-time 5 -X PATCH -H "Authorization: Bearer $TOKEN" \
				-H 'Content-Type: application/json' --data "{\"mtu\": $((600 + (i * 13 + $1) % 700))}" \
				"$URL/api/v1/flows/video" || break # the server is gone
		done
	}
	bpids=()
	for k in 1 2 3; do
		burst "$k" &
		bpids+=($!)
	done
	sleep "0.$((RANDOM % 7 + 2))"
	dead=${LAB_PIDS[server]}
	kill -KILL "$dead"
	wait "$dead" 2>/dev/null || true
	unset "LAB_PIDS[server]"
	for p in "${bpids[@]}"; do wait "$p" || true; done
	"$LAB_BIN/wormhole-server" --check-config "$CONF" >/dev/null || fail "round $round: routes.conf invalid after kill -9"
	expect_version || fail "round $round: routes.conf is not a version that was written"
	"$LAB_BIN/wormhole-server" --check-config "$CONF.bak" >/dev/null || fail "round $round: backup invalid"
done
echo "     6 rounds: routes.conf was a whole version every time"
# What a server killed mid-write may leave (routes.conf.wh-tmp.PID and
# routes.conf.wh-bak.PID of a dead process) is tidied once it starts again:
# copies of routes.conf or its .bak go, a file holding anything else (a
# hand edit an exchange took out) is kept as routes.conf.recovered.PID;
# an operator's own dated backup is never touched.
cp "$CONF" "$CONF.wh-tmp.$dead"
cp "$CONF.bak" "$CONF.wh-bak.$dead"
sh -c 'exit 0' &
dead2=$! # another process that is gone
wait "$dead2" || true
printf '# a hand edit\n' >"$CONF.wh-tmp.$dead2"
cp "$CONF.bak" "$CONF.bak.20261129"
lab_start server "$LAB_BIN/wormhole-server" -c "$CONF"
wait_until 5 curl -sf -H "Authorization: Bearer $TOKEN" "$URL/api/v1/health" || fail "restart failed"
left=$(ls "$CONF".wh-tmp.* "$CONF".wh-bak.* 2>/dev/null || true)
[ -z "$left" ] || fail "temporary files left after a restart: $left"
grep -q "server: removed 2 temporary file(s) a killed writer left" "$LAB_DIR/server.log" ||
	fail "the server did not log the files it removed"
[ "$(cat "$CONF.recovered.$dead2" 2>/dev/null)" = "# a hand edit" ] ||
	fail "a killed writer's file holding a hand edit was not kept"
grep -q "server: kept 1 file(s) a killed writer left next to .*recovered" "$LAB_DIR/server.log" ||
	fail "the server did not say it kept a file"
[ -e "$CONF.bak.20261129" ] || fail "the operator's routes.conf.bak.20261129 was removed"
rm -f "$CONF.recovered.$dead2" "$CONF.bak.20261129"
echo "     leftovers of a killed writer tidied at the next start (a hand edit kept)"
lab_stop server || fail "server did not stop cleanly"
lab_pass
