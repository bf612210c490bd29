#!/usr/bin/env bash
# bench_flow: send UDP at a given rate and size through a wormhole flow on
# the relay path (a server and two clients on loopback) and over a plain UDP
# socket on the same host, in the same run, and print both with the ratio.
#   BENCH_RATE  datagrams per second (default 20000)
#   BENCH_SIZE  bytes per datagram (default 1200)
#   BENCH_COUNT datagrams per run (default 100000)
set -euo pipefail
cd "$(dirname "$0")/.."
O=${BENCH_BUILD:-build/release}
BF=$O/tools/bench_flow
KG=bin/wormhole-keygen
RATE=${BENCH_RATE:-20000}
SIZE=${BENCH_SIZE:-1200}
COUNT=${BENCH_COUNT:-100000}
dir=$(mktemp -d "${TMPDIR:-/tmp}/wh-bench.XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT

"$KG" genkey -o "$dir/server.key"
"$KG" genkey -o "$dir/a.key"
"$KG" genkey -o "$dir/b.key"
cat >"$dir/routes.conf" <<CONF
server: { listen = ["127.0.0.1:17600"]; alt_port = 17601; key_file = "server.key";
          relay_a = "17610-17619"; relay_b = "17620-17629";
          punch = false; };  # this benchmark measures the relay
clients: { a = { key = "$("$KG" pubkey <"$dir/a.key")"; };
           b = { key = "$("$KG" pubkey <"$dir/b.key")"; }; };
flows: ( { name = "bench"; proto = "udp"; port = 17650; from = ["a"]; to = ["b"];
           deliver = { b = "127.0.0.1:17651"; }; } );
CONF
for c in a b; do
	cat >"$dir/$c.ini" <<INI
[client]
id = $c
key_file = $c.key
server = 127.0.0.1:17600
server_key = $("$KG" pubkey <"$dir/server.key")
api = 127.1.0.1:$([ $c = a ] && echo 17660 || echo 17661)
[uplink lo]
source = 127.0.0.1
INI
done
bin/wormhole-server -c "$dir/routes.conf" 2>"$dir/server.log" &
pids+=($!)
sleep 0.2
for c in a b; do
	bin/wormhole-client -c "$dir/$c.ini" 2>"$dir/$c.log" &
	pids+=($!)
done
# Wait (bounded) until a probe datagram makes it through the flow.
probe() {
	"$BF" --bind 127.0.0.1:17651 --expect 1 --timeout 300 --linger 0 >/dev/null 2>&1 &
	local rx=$!
	"$BF" --bind 127.0.0.1:0 --to 127.1.0.1:17650 --count 3 --rate 100 --timeout 50 >/dev/null 2>&1 || true
	wait $rx
}
ok=0
for _ in $(seq 1 50); do
	if probe; then
		ok=1
		break
	fi
done
[ $ok = 1 ] || { echo "bench_flow: the flow never came up; logs:" >&2; tail -n 20 "$dir"/*.log >&2; exit 1; }

run() { # run NAME RX_BIND TX_TO
	local rx secs=$((COUNT * 1000 / RATE + 5000))
	"$BF" --bind "$2" --expect "$COUNT" --timeout "$secs" --linger 300 >"$dir/rx.json" &
	local rxpid=$!
	"$BF" --bind 127.0.0.1:0 --to "$3" --id tx --count "$COUNT" --size "$SIZE" --rate "$RATE" \
		--timeout "$secs" >/dev/null || true
	wait $rxpid || true
	rx=$(cat "$dir/rx.json")
	python3 - "$1" "$rx" "$COUNT" <<'PY'
import json, sys
name, rx, count = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
loss = 100.0 * (count - rx["received"]) / count
print(f"{name:<14} {rx['mbps']:>9.1f} {rx['pps']:>10.0f} {loss:>7.2f} {rx['lat_p50_us']:>9} {rx['lat_p99_us']:>9}")
PY
}
printf "%-14s %9s %10s %7s %9s %9s\n" path Mbit/s pkt/s loss% p50_us p99_us
plain=$(run "plain UDP" 127.0.0.1:17653 127.0.0.1:17653)
echo "$plain"
flow=$(run "wormhole relay" 127.0.0.1:17651 127.1.0.1:17650)
echo "$flow"
python3 - "$plain" "$flow" <<'PY'
import sys
p, f = sys.argv[1].split(), sys.argv[2].split()
pm, fm = float(p[-5]), float(f[-5])
print(f"ratio (relay/plain): throughput {fm / pm if pm else 0:.2f}, p50 latency {int(f[-2]) / max(1, int(p[-2])):.1f}x")
PY
