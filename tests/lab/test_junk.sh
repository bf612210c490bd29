#!/usr/bin/env bash
# test_junk: malformed datagrams of every shape at every UDP socket of the
# daemons, during a stream: they must be dropped, counted and answered with
# nothing, and cost the stream nothing (README "Running it for real",
# "Hostile input": a malformed packet never crashes a daemon, and only
# authenticated input changes any state).
#
#   hsflood --junk (127.0.0.10-13) --> server main and alternate port, and a
#                                      relay port no pair holds
#   hsflood --junk (127.0.0.20-23) --> the pair's two relay ports
#   hsflood --junk (127.0.0.30-33) --> both clients' uplink sockets
#   drone1 -- mav (udp, 100/s) --> relay --> gcs1        (all on loopback)
#
# Each flood sends JUNK_RATE datagrams a second for JUNK_S seconds: empty
# ones, a few bytes, our message types at their exact length and a few bytes
# off, transport packets for small receiver indexes, STUN headers with
# random attributes, STUN binding requests asking for another address, random
# bytes up to 65,507 (tests/prog/hsflood.c). Checked:
#   1. every daemon still runs and answers (the server's API, the clients'
#      status), and no session broke: each client came online once and went
#      offline never, and the stream kept its relay path;
#   2. the stream lost at most JUNK_LOSS_MAX datagrams and waited at most
#      1 s for one, through the floods;
#   3. the junk got nothing back but STUN answers from the server's STUN
#      ports: no message of ours, nothing from a relay port or a client;
#   4. the relay forwarded none of it: it counts what reached the pair's
#      ports from unbound sources as dropped, and the relay forwarded no more
#      than the stream's own traffic; the server's listen ports and the
#      clients answered (STUN) or dropped what reached them and count it by
#      reason (/metrics, status: drops);
#   5. the logs stayed small: lines remote input causes are rate-limited
#      (at most JUNK_LOG_MAX lines in each daemon's log during the floods, at
#      debug level).
# lab-run: loopback
set -euo pipefail
source "$(dirname "$0")/../../tools/lab/lib.sh"
lab_init junk
cd "$LAB_ROOT"
HF=$LAB_ROOT/build/release/tests/hsflood
BF=$LAB_ROOT/build/release/tools/bench_flow
[ -x "$HF" ] && [ -x "$BF" ] || fail "hsflood or bench_flow missing (make build-tests builds them)"

# Ports from the PID, so parallel runs and other tests do not collide.
off=$(($$ % 400))
SP=$((47000 + off * 2)) # server udp (+1 alt port)
AP=$((48000 + off))     # api
RA0=$((49000 + off * 4))
RB0=$((51000 + off * 4))
VP=$((53000 + off * 2)) # mav on 127.1.0.1; VP+1: gcs1's app
CAP=$((54000 + off * 2))
RTOKEN=read-token-$$-0123456789
JUNK_RATE=${JUNK_RATE:-1500}
JUNK_S=${JUNK_S:-5}
JUNK_LOSS_MAX=${JUNK_LOSS_MAX:-5}
JUNK_LOG_MAX=${JUNK_LOG_MAX:-300}
STREAM_N=$(((JUNK_S + 5) * 100))

lab_loopback_clients "$SP" "$CAP" drone1 gcs1
pub() { "$LAB_BIN/wormhole-keygen" pubkey <"$LAB_DIR/$1.key"; }
cat >"$LAB_DIR/routes.conf" <<CONF
server: {
  listen = ["127.0.0.1:$SP"]; alt_port = $((SP + 1));
  key_file = "server.key";
  relay_a = "$RA0-$((RA0 + 3))"; relay_b = "$RB0-$((RB0 + 3))";
  keepalive_s = 5;
  punch = false;
  api = { listen = "127.0.0.1:$AP"; read_tokens = ["$RTOKEN"]; };
};
clients: { drone1 = { key = "$(pub drone1)"; }; gcs1 = { key = "$(pub gcs1)"; }; };
flows: ( { name = "mav"; proto = "udp"; port = $VP; from = ["drone1"]; to = ["gcs1"];
           deliver = { gcs1 = "127.0.0.1:$((VP + 1))"; }; } );
CONF
LOG=$LAB_DIR/server.log
lab_start server "$LAB_BIN/wormhole-server" -c "$LAB_DIR/routes.conf" --log-level debug
wait_until 5 grep -q "server: running" "$LOG" || fail "server did not start"
t_start=$(date +%s)
for c in drone1 gcs1; do
	lab_start "client-$c" "$LAB_BIN/wormhole-client" -c "$LAB_DIR/$c.ini" --log-level debug
done
for c in drone1 gcs1; do
	wait_until 10 grep -q "client $c: online" "$LOG" || fail "$c did not come online"
done

metric() { lab_metric "$AP" "$RTOKEN" "$@"; } # NAME [LABELS]
# The pair's relay ports, from the server's line "relay drone1<->gcs1: ports drone1=P gcs1=Q".
wait_until 5 grep -q "relay drone1<->gcs1: ports" "$LOG" || fail "no relay pair for drone1 and gcs1"
ports=$(grep -o "relay drone1<->gcs1: ports drone1=[0-9]* gcs1=[0-9]*" "$LOG" | tail -n 1)
P1=${ports##*drone1=}
P1=${P1%% *}
P2=${ports##*gcs1=}
FREE=$RA0
while [ "$FREE" = "$P1" ] || [ "$FREE" = "$P2" ]; do FREE=$((FREE + 1)); done
# Each client's uplink sockets: its UDP sockets on 127.0.0.1.
uplinks() {
	ss -Hunap src 127.0.0.1 | awk -v pid="pid=$1," 'index($0, pid) { print $4 }'
}
client_to=()
for c in drone1 gcs1; do
	socks=$(uplinks "${LAB_PIDS[client-$c]}")
	[ -n "$socks" ] || fail "no UDP socket of $c on 127.0.0.1"
	for s in $socks; do client_to+=(--to "$s"); done
done

# The stream, on the relay (punch = false) before the floods start.
lab_start gcs1app "$BF" --bind "127.0.0.1:$((VP + 1))" --expect "$STREAM_N" --timeout $(((JUNK_S + 20) * 1000))
lab_start drone1app "$BF" --bind 127.0.0.1:0 --to "127.1.0.1:$VP" --count "$STREAM_N" --rate 100 \
	--size 200 --timeout $(((JUNK_S + 20) * 1000))
wait_until 5 grep -q "peer gcs1: session established" "$LAB_DIR/client-drone1.log" ||
	fail "drone1 has no session with gcs1"
sleep 1
# The sum of every sample of the server's counters of what its listen ports
# did with a datagram: answered (STUN) or dropped, by the listener or the
# session layer.
handled() {
	curl -s --max-time 5 -H "Authorization: Bearer $RTOKEN" "http://127.0.0.1:$AP/metrics" |
		awk '/^wormhole_(stun_answered|stun_drops|listener_drops|session_drops)_total/ { n += $2 }
		     END { print n + 0 }'
}
handled0=$(handled)
fwd0=$(metric wormhole_relay_forwarded_total)
unbound0=$(metric wormhole_relay_drops_total 'reason="unbound_source"')
lines0=()
for d in server client-drone1 client-gcs1; do lines0+=("$(wc -l <"$LAB_DIR/$d.log")"); done

echo "  floods: $JUNK_RATE junk datagrams/s for $JUNK_S s at each group of sockets:" \
	"server $SP, $((SP + 1)) and free relay port $FREE; relay pair $P1, $P2; clients ${client_to[*]}"
flood() { # NAME SOURCE --to...
	local name=$1 src=$2
	shift 2
	lab_start "$name" "$HF" --junk "$@" --source "$src" --sources 4 --rate "$JUNK_RATE" \
		--duration-ms $((JUNK_S * 1000)) --seed "$$"
}
flood junk-server 127.0.0.10 --to "127.0.0.1:$SP" --to "127.0.0.1:$((SP + 1))" --to "127.0.0.1:$FREE"
flood junk-relay 127.0.0.20 --to "127.0.0.1:$P1" --to "127.0.0.1:$P2"
flood junk-clients 127.0.0.30 "${client_to[@]}"
for f in junk-server junk-relay junk-clients; do
	wait "${LAB_PIDS[$f]}" || fail "hsflood $f failed: $(cat "$LAB_DIR/$f.log")"
	unset "LAB_PIDS[$f]"
done
declare -A loglines
i=0
for d in server client-drone1 client-gcs1; do
	loglines[$d]=$(($(wc -l <"$LAB_DIR/$d.log") - lines0[i]))
	i=$((i + 1))
done

# 1. Everyone still here and in session.
for p in server client-drone1 client-gcs1; do
	kill -0 "${LAB_PIDS[$p]}" 2>/dev/null || fail "1. $p died during the junk: $(tail -n 5 "$LAB_DIR/$p.log")"
done
curl -sf --max-time 5 -H "Authorization: Bearer $RTOKEN" "http://127.0.0.1:$AP/api/v1/health" >/dev/null ||
	fail "1. the server's API does not answer after the junk"
for c in drone1 gcs1; do
	timeout 10 "$LAB_BIN/wormhole-client" -c "$LAB_DIR/$c.ini" status >"$LAB_DIR/status-$c.txt" ||
		fail "1. $c's status does not answer after the junk"
	[ "$(grep -c "client $c: online" "$LOG")" = 1 ] || fail "1. $c came online more than once"
done
! grep -q "offline" "$LOG" || fail "1. a client went offline: $(grep offline "$LOG" | head -n 1)"
! grep -q "peer gcs1: direct path up\|peer gcs1: session down" "$LAB_DIR/client-drone1.log" ||
	fail "1. drone1's session with gcs1 went down or left the relay"
# The relay path began with the session: status gives its time (README:
# `since`, null only before a session), the text the same "N s ago".
for c in drone1 gcs1; do
	timeout 10 "$LAB_BIN/wormhole-client" -c "$LAB_DIR/$c.ini" status --json >"$LAB_DIR/status-$c.json" ||
		fail "1. $c's status --json failed"
	[ "$(lab_json "$LAB_DIR/status-$c.json" "[(p['path'], isinstance(p['since'], (int, float)) and
		$t_start - 1 <= p['since'] <= $(date +%s) + 1) for p in j['peers']]")" = "[('relay', True)]" ] ||
		fail "1. $c's peer on the relay: since is not when its session began: $(cat "$LAB_DIR/status-$c.json")"
	grep -Eq "path relay .* since [0-9]+ s ago$" "$LAB_DIR/status-$c.txt" ||
		fail "1. $c's text status: $(cat "$LAB_DIR/status-$c.txt")"
done
echo "  1. server and clients running and answering, no session broken; status: relay since the session began"

# 2. The stream.
wait "${LAB_PIDS[drone1app]}" || fail "2. drone1's app failed: $(cat "$LAB_DIR/drone1app.log")"
unset "LAB_PIDS[drone1app]"
# The last datagrams are on their way for milliseconds: an app still waiting
# 2 s later waits for lost ones, and is told to stop and report.
wait_until 2 sh -c "! kill -0 ${LAB_PIDS[gcs1app]}" || kill -TERM "${LAB_PIDS[gcs1app]}" 2>/dev/null || true
status=0
wait "${LAB_PIDS[gcs1app]}" || status=$?
unset "LAB_PIDS[gcs1app]"
j() { lab_json "$LAB_DIR/gcs1app.log" "$1"; }
received=$(j "j['received']")
gap=$(j "int(j['max_gap_ms'])")
corrupt=$(j "j['corrupt'] + j['foreign']")
[ "$corrupt" = 0 ] || fail "2. the stream's app got $corrupt corrupt or foreign datagrams"
[ $((STREAM_N - received)) -le "$JUNK_LOSS_MAX" ] ||
	fail "2. the stream lost $((STREAM_N - received)) of $STREAM_N (at most $JUNK_LOSS_MAX; app exit $status)"
[ "$gap" -le 1000 ] || fail "2. the stream waited $gap ms for a datagram"
echo "  2. stream: $received of $STREAM_N arrived, longest wait $gap ms"

# 3. Replies.
for f in junk-server junk-relay junk-clients; do
	k() { lab_json "$LAB_DIR/$f.log" "$1"; }
	ours=$(k "j['cookie_replies'] + j['responses'] + j['other']")
	stun=$(k "j['stun_replies']")
	[ "$ours" = 0 ] || fail "3. $f: $ours replies that are not STUN answers ($(cat "$LAB_DIR/$f.log"))"
	[ "$f" = junk-server ] || [ "$stun" = 0 ] || fail "3. $f: $stun STUN answers from a relay port or a client"
	echo "  3. $f: $(k "j['sent']") sent ($(k "j['bytes_sent']") bytes), $stun STUN answers, nothing else back"
done

# 4. The relay forwarded none of it.
fwd1=$(metric wormhole_relay_forwarded_total)
unbound1=$(metric wormhole_relay_drops_total 'reason="unbound_source"')
relay_sent=$(lab_json "$LAB_DIR/junk-relay.log" "j['sent']")
[[ $fwd1 =~ ^[0-9]+$ && $unbound1 =~ ^[0-9]+$ ]] || fail "4. /metrics: relay counters $fwd1 $unbound1"
[ $((unbound1 - unbound0)) -ge $((relay_sent * 9 / 10)) ] ||
	fail "4. the relay counted $((unbound1 - unbound0)) unbound-source drops for $relay_sent junk datagrams"
# The stream's datagrams and the sessions' pings, both ways: far fewer than the junk.
[ $((fwd1 - fwd0)) -le $(((JUNK_S + 5) * 300)) ] ||
	fail "4. the relay forwarded $((fwd1 - fwd0)) datagrams during the junk"
echo "  4. relay: $((unbound1 - unbound0)) junk datagrams dropped as from unbound sources," \
	"$((fwd1 - fwd0)) forwarded (the stream and the sessions' own)"

# The server answered or dropped, and counted, all that reached its listen
# ports (two of junk-server's three targets; the third, a relay port, above).
handled1=$(handled)
server_sent=$(lab_json "$LAB_DIR/junk-server.log" "j['sent']")
[ $((handled1 - handled0)) -ge $((server_sent * 2 / 3 * 9 / 10)) ] ||
	fail "4. the server counted $((handled1 - handled0)) datagrams answered or dropped for" \
		"$((server_sent * 2 / 3)) junk datagrams at its listen ports"
echo "     server: $((handled1 - handled0)) datagrams answered (STUN) or dropped and counted by reason," \
	"of about $((server_sent * 2 / 3)) junk sent to its listen ports"
# The clients dropped and counted every junk datagram that reached them
# (status: drops by reason).
counted=0
for c in drone1 gcs1; do
	timeout 10 "$LAB_BIN/wormhole-client" -c "$LAB_DIR/$c.ini" status --json >"$LAB_DIR/status-$c.json" ||
		fail "4. $c's status --json failed"
	n=$(lab_json "$LAB_DIR/status-$c.json" "sum(j['drops'].values())") || fail "4. $c's status has no drops"
	counted=$((counted + n))
done
clients_sent=$(lab_json "$LAB_DIR/junk-clients.log" "j['sent']")
[ "$counted" -ge $((clients_sent * 9 / 10)) ] ||
	fail "4. the clients counted $counted drops for $clients_sent junk datagrams"
echo "     clients: $counted datagrams dropped and counted by reason (status: drops), of" \
	"$clients_sent junk sent to them: $(lab_json "$LAB_DIR/status-drone1.json" "j['drops']")"

# 5. Logs.
for d in server client-drone1 client-gcs1; do
	[ "${loglines[$d]}" -le "$JUNK_LOG_MAX" ] ||
		fail "5. $d wrote ${loglines[$d]} log lines during the junk (at most $JUNK_LOG_MAX)"
done
echo "  5. log lines during the junk: server ${loglines[server]}, drone1 ${loglines[client-drone1]}," \
	"gcs1 ${loglines[client-gcs1]} (debug level)"
lab_pass
