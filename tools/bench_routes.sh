#!/usr/bin/env bash
# bench_routes: the server's start with a large routes.conf (BENCH_CLIENTS
# clients, default 1000, paired into BENCH_CLIENTS/2 flows, each pair with a
# relay port pair), next to its start with a routes.conf of 2 clients and 1
# flow in the same run, and a save of one flow (a reload, applied live):
# time from the start to "server: running", and from the save to the next
# "reload: applied" line plus the relay's update after it (the following
# STUN answer). And the large start again with a relay state file binding
# both sides of every pair (server/relaystate.c: read, ports held and
# claimed, addresses restored, a restart notice to each). Loopback only:
# the notices go to 127.0.0.2, where nothing listens.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${BENCH_CLIENTS:-1000}
KG=bin/wormhole-keygen
SRV=bin/wormhole-server
D=$(mktemp -d /tmp/wh-bench-routes.XXXXXX)
SPID=""
cleanup() {
	[ -z "$SPID" ] || kill "$SPID" 2>/dev/null || true
	rm -rf "$D"
}
trap cleanup EXIT
"$KG" genkey -o "$D/server.key"
port=$((47000 + $$ % 1000 * 2))

# write_conf N: N clients c0.. (keys of their own), flows f0.. pairing c2k with c2k+1.
write_conf() {
	local n=$1 i
	{
		echo "server: { listen = [\"127.0.0.1:$port\"]; key_file = \"server.key\";"
		echo "          relay_a = \"20000-29999\"; relay_b = \"30000-39999\"; };"
		echo "clients: {"
		for ((i = 0; i < n; i++)); do
			echo "  c$i = { key = \"$("$KG" genkey | "$KG" pubkey)\"; };"
		done
		echo "};"
		echo "flows: ("
		for ((i = 0; i < n; i += 2)); do
			[ "$i" = 0 ] || echo ","
			echo -n "  { name = \"f$i\"; proto = \"udp\"; port = $((10000 + i)); from = [\"c$i\"]; to = [\"c$((i + 1))\"]; }"
		done
		echo
		echo ");"
	}
}

ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

# write_state N: routes.conf.state for write_conf N, written now: pair k
# (c2k, c2k+1) on relay ports 20000+k and 30000+k, each side bound.
write_state() {
	local n=$1 i k
	echo "wormhole-relay-state 1 $(date +%s%6N)"
	for ((i = 0; i < n; i += 2)); do
		k=$((i / 2))
		echo "pair c$i $((20000 + k)) c$((i + 1)) $((30000 + k))"
		echo "bind 0 100 1 127.0.0.1:$((20000 + k)) 127.0.0.2:$((40000 + i))"
		echo "bind 1 100 1 127.0.0.1:$((30000 + k)) 127.0.0.2:$((40000 + i + 1))"
	done
}

# run N [state]: print "start_ms reload_ms" for a routes.conf of N clients
# (with state: and a relay state file).
run() {
	local n=$1 t0 start reload
	write_conf "$n" >"$D/routes.conf"
	rm -f "$D/routes.conf.state"
	[ -z "${2:-}" ] || write_state "$n" >"$D/routes.conf.state"
	t0=$(date +%s%N)
	"$SRV" -c "$D/routes.conf" >"$D/server.log" 2>&1 &
	SPID=$!
	for ((i = 0; i < 600; i++)); do
		grep -q "server: running" "$D/server.log" && break
		sleep 0.01
	done
	start=$(ms_since "$t0")
	t0=$(date +%s%N)
	sed -i 's/port = 10000;/port = 9999;/' "$D/routes.conf"
	for ((i = 0; i < 600; i++)); do
		grep -q "generation=2" "$D/server.log" && break
		sleep 0.01
	done
	# The loop is free again once it answers a STUN binding request.
	python3 - "$port" <<'PY'
import os, socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(10)
s.sendto(struct.pack("!HHI", 1, 0, 0x2112A442) + os.urandom(12), ("127.0.0.1", int(sys.argv[1])))
s.recv(1500)
PY
	reload=$(ms_since "$t0")
	kill "$SPID"
	wait "$SPID" || true
	SPID=""
	echo "$start $reload"
}

read -r small_start small_reload < <(run 2)
read -r big_start big_reload < <(run "$N")
read -r state_start state_reload < <(run "$N" state)
grep -q "relay state .*: restored $N client addresses of $((N / 2)) relay pairs" "$D/server.log" ||
	{ echo "bench_routes: the relay state was not restored: $(grep 'relay state' "$D/server.log")" >&2; exit 1; }
printf '%-34s %12s %12s\n' "routes.conf" "start ms" "reload ms"
printf '%-34s %12s %12s\n' "2 clients, 1 flow" "$small_start" "$small_reload"
printf '%-34s %12s %12s\n' "$N clients, $((N / 2)) flows" "$big_start" "$big_reload"
printf '%-34s %12s %12s\n' "the same, relay state restored" "$state_start" "$state_reload"
awk -v a="$small_start" -v b="$big_start" -v c="$small_reload" -v d="$big_reload" \
	'BEGIN { printf "ratio (large / small)              %12.1f %12.1f\n", b / (a ? a : 1), d / (c ? c : 1) }'
awk -v a="$big_start" -v b="$state_start" \
	'BEGIN { printf "ratio (restored / large)           %12.1f\n", b / (a ? a : 1) }'
