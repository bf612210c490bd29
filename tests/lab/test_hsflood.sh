#!/usr/bin/env bash
# test_hsflood: a handshake flood costs the server little and does not lock
# out a real client (issue #3: "handshake flooding costs the server little",
# with a stateless cookie under load, as WireGuard does; PROTOCOL.md
# "Cookies").
#
#   hsflood (127.0.0.10-17, keys the server does not know) --\
#   hsflood --mac2 (127.0.0.30, 100 ports, each a cookie) ---+--> wormhole-server 127.0.0.1
#   wormhole-client drone1 (127.0.0.1) ----------------------/
#
# hsflood sends initiations with a valid mac1 from 8 source addresses at
# 2000/s for 6 s. While it runs, the drone's client starts and must come
# online: its first initiation gets a cookie reply, the next carries mac2
# and is answered. Checked:
#   1. the drone comes online during the flood (within 8 s of its start),
#      sending the initiation with mac2 as soon as the cookie reply arrives
#      (not on its 1 s retry);
#   2. the flood got cookie replies and no response, and no reply was larger
#      than the initiation it answered (no amplification);
#   3. the server ran the Noise handshake (a Diffie-Hellman) for at most
#      CONN_LOAD_INITS_PER_S (64) initiations per second of flood: the rest
#      were answered with cookies (/metrics: unknown_key drops against
#      cookie replies);
#   4. the server's counters add up: every initiation that arrived was
#      answered, rate-limited or dropped for a reason;
#   5. after it, one host with 100 ports (hsflood --mac2) gets a cookie on
#      each, then sends initiations with mac2 at 10 a second per port (under
#      the server's 20 per source) for 2 s: the server runs the handshake for
#      at most CONN_LOAD_NET_INITS_PER_S (20) a second for that address (plus
#      its burst and the initiations each load window takes before it is
#      under load), drops the rest as `ratelimit`, and its counters add up.
# lab-run: loopback
set -euo pipefail
source "$(dirname "$0")/../../tools/lab/lib.sh"
lab_init hsflood
cd "$LAB_ROOT"
HF=$LAB_ROOT/build/release/tests/hsflood
[ -x "$HF" ] || fail "$HF missing (make build-tests builds it)"

# Ports from the PID, so parallel runs and other tests do not collide.
off=$(($$ % 400))
SP=$((40000 + off * 2)) # server udp (+1 alt port)
AP=$((41000 + off))     # api
RA="$((42000 + off * 4))-$((42000 + off * 4 + 3))"
RB="$((44000 + off * 4))-$((44000 + off * 4 + 3))"
CAP=$((46000 + off))
RTOKEN=read-token-$$-0123456789
RATE=2000
DURATION_MS=6000
LOAD_PER_S=64 # server/conn.h CONN_LOAD_INITS_PER_S
NET_PER_S=20  # server/conn.h CONN_LOAD_NET_INITS_PER_S
NET_BURST=5   # server/conn.h CONN_LOAD_NET_INITS_BURST
MAC2_PORTS=100
MAC2_RATE=1000 # all ports: 10 a second each
MAC2_MS=2000

lab_loopback_clients "$SP" "$CAP" drone1
cat >"$LAB_DIR/routes.conf" <<CONF
server: {
  listen = ["127.0.0.1:$SP"];
  key_file = "server.key";
  relay_a = "$RA"; relay_b = "$RB";
  keepalive_s = 5;
  api = { listen = "127.0.0.1:$AP"; read_tokens = ["$RTOKEN"]; };
};
clients: { drone1 = { key = "$("$LAB_BIN/wormhole-keygen" pubkey <"$LAB_DIR/drone1.key")"; }; };
flows: ();
CONF
lab_start server "$LAB_BIN/wormhole-server" -c "$LAB_DIR/routes.conf" --log-level debug
wait_until 5 grep -q "server: running" "$LAB_DIR/server.log" || fail "server did not start"

metric() { lab_metric "$AP" "$RTOKEN" "$@"; } # NAME [LABELS]

echo "  flood: $RATE initiations/s for $((DURATION_MS / 1000)) s from 8 addresses, unknown keys"
"$HF" --to "127.0.0.1:$SP" --server-key "$SERVER_PUB" --source 127.0.0.10 --sources 8 \
	--rate "$RATE" --duration-ms "$DURATION_MS" >"$LAB_DIR/flood.json" 2>"$LAB_DIR/flood.err" &
LAB_PIDS[hsflood]=$!
sleep 1.5
t0=$(date +%s%3N)
lab_start client-drone1 "$LAB_BIN/wormhole-client" -c "$LAB_DIR/drone1.ini" --log-level debug
online() { grep -q "client drone1: online" "$LAB_DIR/server.log"; }
wait_until 8 online || fail "1. drone1 did not come online during the flood"
t1=$(date +%s%3N)
flooding=$(kill -0 "${LAB_PIDS[hsflood]}" 2>/dev/null && echo yes || echo no)
[ "$flooding" = yes ] || fail "1. the flood ended before drone1 came online: the test proves nothing"
grep -q "under load (cookie reply), initiating again" "$LAB_DIR/client-drone1.log" ||
	fail "1. drone1 did not initiate again at once with the cookie (it waited for its retry)"
echo "  1. drone1 online $((t1 - t0)) ms after its start, during the flood (cookie reply, then" \
	"an initiation with mac2 at once)"

wait "${LAB_PIDS[hsflood]}" || fail "hsflood failed: $(cat "$LAB_DIR/flood.err")"
unset 'LAB_PIDS[hsflood]'
j() { lab_json "$LAB_DIR/flood.json" "$1"; }
sent=$(j "j['sent']")
cookies=$(j "j['cookie_replies']")
responses=$(j "j['responses']")
other=$(j "j['other']")
maxlen=$(j "j['max_reply_len']")
reqlen=$(j "j['request_len']")
[ "$cookies" -gt 0 ] || fail "2. the flood got no cookie reply ($(cat "$LAB_DIR/flood.json"))"
[ "$responses" -eq 0 ] && [ "$other" -eq 0 ] ||
	fail "2. unknown keys got $responses responses, $other other replies"
[ "$maxlen" -le "$reqlen" ] || fail "2. a reply of $maxlen bytes to a $reqlen-byte initiation"
echo "  2. flood: $sent sent, $cookies cookie replies ($maxlen bytes each, initiations $reqlen), 0 responses"

inits=$(metric wormhole_session_initiations_total)
mcookies=$(metric wormhole_session_cookie_replies_total)
unknown=$(metric wormhole_session_drops_total 'reason="unknown_key"')
limited=$(metric wormhole_session_drops_total 'reason="ratelimit"')
badmac=$(metric wormhole_session_drops_total 'reason="bad_mac1"')
responded=$(metric wormhole_session_responses_total)
for v in "$inits" "$mcookies" "$unknown" "$limited" "$badmac" "$responded"; do
	[[ $v =~ ^[0-9]+$ ]] || fail "/metrics: a session counter is $v"
done
# One-second load windows the flood touched (it may straddle one more).
windows=$(((DURATION_MS + 999) / 1000 + 1))
[ "$unknown" -le $((LOAD_PER_S * windows)) ] ||
	fail "3. $unknown handshakes run for unknown keys in $windows load windows (at most $((LOAD_PER_S * windows)))"
[ "$mcookies" -ge "$cookies" ] || fail "3. /metrics counts $mcookies cookie replies, the flood got $cookies"
echo "  3. server: $inits initiations, $mcookies cookie replies, $unknown handshakes for unknown keys" \
	"(at most $LOAD_PER_S/s), $limited rate-limited"
[ "$badmac" -eq 0 ] || fail "4. $badmac initiations with a valid mac1 counted as bad"
[ $((mcookies + unknown + limited + responded)) -eq "$inits" ] ||
	fail "4. initiations $inits != cookie replies $mcookies + unknown keys $unknown + rate-limited $limited + responses $responded"
[ "$responded" -ge 1 ] || fail "4. no response sent (drone1 is online)"
echo "  4. counters add up: $mcookies + $unknown + $limited + $responded (drone1) = $inits"

echo "  mac2 flood: one address, $MAC2_PORTS ports with a cookie each, $MAC2_RATE/s for $((MAC2_MS / 1000)) s"
ta=$(date +%s%3N)
"$HF" --mac2 --to "127.0.0.1:$SP" --server-key "$SERVER_PUB" --source 127.0.0.30 \
	--sources "$MAC2_PORTS" --rate "$MAC2_RATE" --duration-ms "$MAC2_MS" \
	>"$LAB_DIR/mac2.json" 2>"$LAB_DIR/mac2.err" || fail "hsflood --mac2 failed: $(cat "$LAB_DIR/mac2.err")"
tb=$(date +%s%3N)
holders=$(lab_json "$LAB_DIR/mac2.json" "j['mac2_sources']")
msent=$(lab_json "$LAB_DIR/mac2.json" "j['sent']")
[ "$holders" -ge $((MAC2_PORTS / 2)) ] ||
	fail "5. only $holders of $MAC2_PORTS ports got a cookie: the test proves nothing"
d_inits=$(($(metric wormhole_session_initiations_total) - inits))
d_cookies=$(($(metric wormhole_session_cookie_replies_total) - mcookies))
d_unknown=$(($(metric wormhole_session_drops_total 'reason="unknown_key"') - unknown))
d_limited=$(($(metric wormhole_session_drops_total 'reason="ratelimit"') - limited))
d_responded=$(($(metric wormhole_session_responses_total) - responded))
# Handshakes one address can get through in the run's span (ms): the per
# network bucket's burst and rate, and in each one-second load window the
# initiations that come before the server is under load (the span touches at
# most floor(span) + 2 windows: their starts are at least 1 s apart).
span=$((tb - ta))
bound=$((NET_BURST + (NET_PER_S * span + 999) / 1000 + LOAD_PER_S * (span / 1000 + 2)))
echo "  5. $holders ports held a cookie; $msent initiations with mac2 sent in ${span} ms in all:" \
	"$d_unknown handshakes run (at most $bound), $d_limited rate-limited, $d_cookies cookie replies"
[ "$d_unknown" -le "$bound" ] ||
	fail "5. one address got $d_unknown handshakes through in $span ms (at most $bound)"
[ "$d_limited" -gt 0 ] || fail "5. no initiation with mac2 was rate-limited"
[ $((d_cookies + d_unknown + d_limited + d_responded)) -eq "$d_inits" ] ||
	fail "5. initiations $d_inits != cookie replies $d_cookies + unknown keys $d_unknown + rate-limited $d_limited + responses $d_responded"
lab_pass
