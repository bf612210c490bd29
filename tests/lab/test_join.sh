#!/usr/bin/env bash
# test_join: `wormhole-client join FLOW` over the client's own session
# (issue #7: "the server allows it only where the flow permits joining, and
# writes it back like an API edit").
#
#   +----------------------------------------------------------------+
#   | this host (loopback only)                                      |
#   |   wormhole-server  udp 127.0.0.1:$SP   routes.conf (written)    |
#   |   wormhole-client drone3, gcs4, gcs5  (local APIs 127.1.0.1:CAP+k)|
#   |   bench_flow apps: drone3 -> video -> gcs4, later gcs5 too      |
#   |   wormhole-client join (CLI) -> gcs5's local API -> FLOW_JOIN   |
#   +----------------------------------------------------------------+
#
# 1. gcs5 joins the joinable flow video: exit 0, routes.conf gains gcs5
#    (--check-config passes, .bak is the previous version, comments
#    survive), and gcs5 receives video within 1 s.
# 2. A second join at once is rate-limited; joining video again is OK and
#    writes nothing.
# 3. A non-joinable flow, an unknown flow and a wrong role are refused with
#    a message, exit 1, routes.conf byte-identical. A body with a field the
#    local API does not know (a misspelt "as") is refused, 400 naming it,
#    and nothing is sent to the server.
# 4. The default role of an N:N flow is member.
# 5. With the server down, join fails with a clear error within a bound:
#    the server's silence (5 s), then at once once the session is known gone.
# 6. (run before 5) A second process with drone3's id and key: the server
#    warns that two processes take turns with that identity, once a minute.
# 7. (before 5) A client with another server_key and one whose key is not in
#    routes.conf: each says after 4 handshakes what to check, and the
#    server logs the refused handshakes.
# lab-run: loopback
set -euo pipefail
source "$(dirname "$0")/../../tools/lab/lib.sh"
lab_init join

BF=$LAB_ROOT/build/release/tools/bench_flow
KG=$LAB_BIN/wormhole-keygen
WC=$LAB_BIN/wormhole-client
[ -x "$BF" ] || fail "$BF missing (make build-tests)"

# Ports from the PID, so parallel runs and other tests do not collide.
off=$(($$ % 400))
SP=$((41000 + off * 2)) # server udp (+1 alt port)
RA="$((42000 + off * 4))-$((42000 + off * 4 + 3))"
RB="$((44000 + off * 4))-$((44000 + off * 4 + 3))"
VP=$((46000 + off * 4)) # video; VP+1 is gcs4's player; VP+2 the mesh flow
CAP=$((48000 + off * 4)) # the clients' local APIs: CAP, CAP+1, ...
CONF=$LAB_DIR/routes.conf

lab_loopback_clients "$SP" "$CAP" drone3 gcs4 gcs5 gcs6
pub() { "$KG" pubkey <"$LAB_DIR/$1.key"; }

cat >"$CONF" <<CONF
# routes.conf for the join test: hand-written comments must survive joins.
server: {
  listen = ["127.0.0.1:$SP"];
  key_file = "server.key";
  relay_a = "$RA"; relay_b = "$RB";  # small ranges: this test only
  keepalive_s = 5;
  punch = false;
};
clients: {
  drone3 = { key = "$(pub drone3)"; };  # the drone
  gcs4 = { key = "$(pub gcs4)"; };
  gcs5 = { key = "$(pub gcs5)"; };
};
flows: (
  # video from the drone; gcs5 may add itself
  { name = "video"; proto = "udp"; port = $VP; from = ["drone3"]; to = ["gcs4"];
    deliver = { gcs4 = "127.0.0.1:$((VP + 1))"; }; joinable = ["gcs5"]; },
  { name = "secret"; proto = "udp"; port = $((VP + 3)); from = ["drone3"]; to = ["gcs4"]; },
  { name = "mesh"; proto = "udp"; port = $((VP + 2)); members = ["drone3", "gcs4"];
    joinable = true; }
);
# end of file
CONF
cp "$CONF" "$LAB_DIR/prev.conf"

# join CLIENT ARGS...: runs the CLI; its exit code in $rc, output in $out.
join() {
	local c=$1
	shift
	local t0
	t0=$(date +%s)
	rc=0
	out=$(timeout 20 "$WC" -c "$LAB_DIR/$c.ini" join "$@" 2>&1) || rc=$?
	took=$(($(date +%s) - t0))
}
written() {
	"$LAB_BIN/wormhole-server" --check-config "$CONF" >/dev/null || fail "$1: routes.conf invalid"
	cmp -s "$CONF.bak" "$LAB_DIR/prev.conf" || fail "$1: routes.conf.bak is not the previous version"
	grep -q '^# end of file$' "$CONF" && grep -q '# the drone$' "$CONF" &&
		grep -q '# video from the drone; gcs5 may add itself$' "$CONF" ||
		fail "$1: hand-written comments lost"
	cp "$CONF" "$LAB_DIR/prev.conf"
}
unchanged() {
	cmp -s "$CONF" "$LAB_DIR/prev.conf" || fail "$1: routes.conf changed"
}
flow_line() { grep -A2 "name = \"$1\"" "$CONF" | tr '\n' ' '; }

lab_start server "$LAB_BIN/wormhole-server" -c "$CONF" --log-level debug
LOG=$LAB_DIR/server.log
for c in drone3 gcs4 gcs5; do
	lab_start "$c" "$WC" -c "$LAB_DIR/$c.ini" --log-level debug
done
for c in drone3 gcs4 gcs5; do
	wait_until 10 grep -q "client $c: online" "$LOG" || fail "$c did not come online"
done
wait_until 5 grep -q "local API on" "$LAB_DIR/gcs5.log" || fail "gcs5's local API did not start"

echo "  1. gcs5 joins the joinable flow video"
lab_start gcs4app "$BF" --bind "127.0.0.1:$((VP + 1))" --expect 1000000 --timeout 60000
lab_start drone3app "$BF" --bind 127.0.0.1:0 --to "127.1.0.1:$VP" --count 1000000 --rate 200 --size 100 --timeout 60000
lab_start gcs5app "$BF" --bind "127.0.0.1:$VP" --expect 1 --linger 0 --timeout 30000
gcs5_done() { ! kill -0 "${LAB_PIDS[gcs5app]}" 2>/dev/null; }
# video flows to gcs4 meanwhile; gcs5 is no member and gets nothing
! wait_until 0.5 gcs5_done || fail "gcs5 got video before it joined"
t0=$(date +%s%N)
join gcs5 video
[ "$rc" = 0 ] || fail "join video: exit $rc: $out"
[ "$out" = "joined video as to" ] || fail "join video printed: $out"
# 2 (rate limit): a second join that would write, at once, is refused.
join gcs5 mesh
[ "$rc" = 1 ] && grep -q 'join mesh refused: too many joins' <<<"$out" ||
	fail "an immediate second join was not rate-limited: exit $rc: $out"
wait_until 1 gcs5_done || fail "gcs5 got no video within 1 s of joining"
t1=$(date +%s%N)
wait "${LAB_PIDS[gcs5app]}" || fail "gcs5's app failed"
unset "LAB_PIDS[gcs5app]"
echo "     gcs5 received video $(((t1 - t0) / 1000000)) ms after asking"
[ $(((t1 - t0) / 1000000)) -le 1000 ] || fail "gcs5 got video $(((t1 - t0) / 1000000)) ms after asking"
written "join video"
flow_line video | grep -q 'to = \[ *"gcs4", *"gcs5" *\]' || fail "video's to is not gcs4, gcs5: $(flow_line video)"
grep -q 'join: client gcs5 joined flow video as to' "$LOG" || fail "no join line in the server log"

echo "  2. joining again is OK and writes nothing"
cp "$CONF.bak" "$LAB_DIR/prev.bak"
join gcs5 video --as to
[ "$rc" = 0 ] && [ "$out" = "already in video as to" ] || fail "join again: exit $rc: $out"
unchanged "join again"
cmp -s "$CONF.bak" "$LAB_DIR/prev.bak" || fail "joining again rewrote the backup"

echo "  3. refusals change nothing"
join gcs5 secret
[ "$rc" = 1 ] || fail "join secret: exit $rc: $out"
[ "$out" = 'join secret refused: flow "secret" is not joinable by gcs5' ] || fail "join secret printed: $out"
unchanged "not joinable"
join gcs5 nosuch
[ "$rc" = 1 ] && [ "$out" = 'join nosuch refused: no flow "nosuch"' ] || fail "join nosuch: exit $rc: $out"
unchanged "unknown flow"
join gcs5 mesh --as to
[ "$rc" = 1 ] && grep -q 'join mesh refused: flow "mesh" has members (N:N): join as member' <<<"$out" ||
	fail "join mesh --as to: exit $rc: $out"
unchanged "wrong role"
join gcs5 video --as sideways
[ "$rc" = 2 ] || fail "a bad --as: exit $rc: $out"
# Straight to gcs5's local API (the CLI only sends flow and as): a field it
# does not know was once dropped, so "role" joined mesh as the default.
n_mesh=$(grep -c 'join: client gcs5 .*mesh' "$LOG" || true)
ans=$(curl -s -w ' %{http_code}' --max-time 10 -X POST -H 'Content-Type: application/json' \
	-d '{"flow": "mesh", "role": "from", "bogus": 1}' "http://127.1.0.1:$((CAP + 2))/api/v1/join")
[ "$ans" = '{"error":"unknown field \"role\" (a join is {\"flow\", \"as\"})"} 400' ] ||
	fail "a join body with unknown fields: $ans"
unchanged "unknown field"
[ "$(grep -c 'join: client gcs5 .*mesh' "$LOG" || true)" = "$n_mesh" ] ||
	fail "a join with an unknown field reached the server"
cmp -s "$CONF.bak" "$LAB_DIR/prev.bak" || fail "a refused join rewrote the backup"

echo "  4. the default role of an N:N flow is member"
mesh_joined() {
	join gcs5 mesh
	[ "$rc" = 0 ]
}
wait_until 3 mesh_joined || fail "join mesh: exit $rc: $out"
join gcs5 mesh
[ "$out" = "already in mesh as member" ] || fail "join mesh did not make gcs5 a member: $out"
written "join mesh"
flow_line mesh | grep -q 'members = \[ *"drone3", *"gcs4", *"gcs5" *\]' || fail "mesh members: $(flow_line mesh)"

echo "  6. a second machine with drone3's identity is named in the server's log"
echo "  7. misconfigured clients are told why the server does not answer"
# (before 5, which stops the server; 6 and 7 run side by side)
# 6: a second process with one id and key is refused while the first one
# answers (test_twin has the rest); the server names both, once a minute,
# and the second one says its id is in use.
sed "s/^api = .*/api = 127.1.0.1:$((CAP + 3 + 1))/" "$LAB_DIR/drone3.ini" >"$LAB_DIR/drone3-twin.ini"
# 7: one client with another server_key (the server cannot even check its
# mac1), one whose key routes.conf does not list: each client names the
# likely cause after 4 handshakes, and the server logs who it refused.
"$KG" genkey -o "$LAB_DIR/stranger.key"
STRANGER_FP=$("$KG" pubkey <"$LAB_DIR/stranger.key" | cut -c1-8)
sed -e "s/^id = .*/id = gcs6/" -e "s/^key_file = .*/key_file = stranger.key/" \
	-e "s/^api = .*/api = 127.1.0.1:$((CAP + 3 + 2))/" "$LAB_DIR/gcs6.ini" >"$LAB_DIR/stranger.ini"
sed -e "s|^server_key = .*|server_key = $("$KG" genkey | "$KG" pubkey)|" \
	-e "s/^api = .*/api = 127.1.0.1:$((CAP + 3 + 3))/" "$LAB_DIR/gcs6.ini" >"$LAB_DIR/wrongsrv.ini"
lab_start drone3twin "$WC" -c "$LAB_DIR/drone3-twin.ini" --log-level debug
lab_start stranger "$WC" -c "$LAB_DIR/stranger.ini"
lab_start wrongsrv "$WC" -c "$LAB_DIR/wrongsrv.ini"
wait_until 20 grep -q "client drone3: two processes with this identity: the one at 127.0.0.1:[0-9]* holds it and answers" "$LOG" ||
	fail "no warning about two processes with drone3's identity"
grep -q "server: id drone3 is in use by another running process at 127.0.0.1:" "$LAB_DIR/drone3twin.log" ||
	fail "the second process was not told drone3 is in use: $(grep 'server:' "$LAB_DIR/drone3twin.log" | tail -3)"
wait_until 15 grep -q "answers STUN but none of 4 handshakes: check server_key" "$LAB_DIR/wrongsrv.log" ||
	fail "the client with another server_key was not told: $(tail -3 "$LAB_DIR/wrongsrv.log")"
wait_until 5 grep -q "routes.conf lists client gcs6 with this key ($STRANGER_FP" "$LAB_DIR/stranger.log" ||
	fail "the client with an unlisted key was not told: $(tail -3 "$LAB_DIR/stranger.log")"
grep -q "refused: not made for this server's key" "$LOG" || fail "the server did not log the wrong server_key"
grep -q "refused: from a key no client in routes.conf has ($STRANGER_FP" "$LOG" ||
	fail "the server did not log the unlisted key"
lab_stop stranger || true
lab_stop wrongsrv || true
lab_stop drone3twin || true
grep -c "two processes with this identity" "$LOG" | grep -qx 1 || fail "the twin warning repeated within a minute"

echo "  5. no daemon, no server: clear errors, bounded"
join gcs6 video
[ "$rc" = 1 ] && grep -q 'no client daemon answers on 127.1.0.1' <<<"$out" || fail "join without a daemon: exit $rc: $out"
lab_stop server || true
join gcs5 video
[ "$rc" != 0 ] || fail "join with the server down succeeded: $out"
[ "$rc" != 124 ] && [ "$took" -le 10 ] || fail "join with the server down took $took s (exit $rc)"
grep -q 'wormhole-client join video: .*server' <<<"$out" || fail "join with the server down printed: $out"
echo "     server down: \"$out\" after ${took} s"
# Once the daemon knows its session is gone, it refuses at once (503).
session_down() { "$WC" -c "$LAB_DIR/gcs5.ini" status --json | grep -q '"session":"connecting"'; }
wait_until 20 session_down || fail "gcs5 did not notice the server is gone"
join gcs5 video
[ "$rc" = 1 ] && [ "$took" -le 1 ] || fail "join without a session: exit $rc after $took s: $out"
[ "$out" = "wormhole-client join video: not connected to the server (is wormhole-server running?)" ] ||
	fail "join without a session printed: $out"
unchanged "server down"

lab_pass
