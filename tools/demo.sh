#!/usr/bin/env bash
# demo: a local wormhole on loopback — the server, a drone (drone3) and a
# ground station (gcs4), with the example keys from config/examples/. A
# MAVLink-like UDP flow passes both ways through the relay, and a video-like
# flow from the drone to the GCS; the demo prints what each app received.
# Then it keeps running: edit build/demo/routes.conf and watch the server
# apply (or refuse) the change. Ctrl-C stops everything; DEMO_SECONDS=N stops
# after N seconds.
#
# Both clients run on this one host, so the GCS listens for mavlink on
# 14551 and its "apps" sit on 127.0.0.1:14560 and :5610 (the `listen` and
# `deliver` overrides below); on separate machines the defaults just work.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=build/demo
BF=build/release/tools/bench_flow
rm -rf "$dir"
mkdir -p "$dir"
cp config/examples/*.ini config/examples/*.key "$dir"/
# On loopback: bind the clients there, so the local addresses they offer
# as punching candidates are loopback ones too.
for c in drone3 gcs4; do printf '\n[uplink lo]\nsource = 127.0.0.1\n' >>"$dir/$c.ini"; done
chmod 600 "$dir"/*.key
pub() { bin/wormhole-keygen pubkey <"$dir/$1.key"; }
cat >"$dir/routes.conf" <<CONF
# The demo's routes.conf: edit it while the demo runs.
server: { listen = ["127.0.0.1:7400"]; alt_port = 7401; key_file = "server.key";
          keepalive_s = 5; };
clients: { drone3 = { key = "$(pub drone3)"; }; gcs4 = { key = "$(pub gcs4)"; }; };
flows: (
  { name = "mavlink"; proto = "udp"; port = 14550; members = ["drone3", "gcs4"];
    listen = { gcs4 = 14551; }; deliver = { gcs4 = "127.0.0.1:14560"; }; },
  { name = "video"; proto = "udp"; port = 5600; from = ["drone3"]; to = ["gcs4"];
    deliver = { gcs4 = "127.0.0.1:5610"; }; }
);
CONF

pids=()
stop() {
	for p in "${pids[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
}
trap stop EXIT INT TERM

# Process substitution keeps $! the daemon's own PID, so stop() kills exactly it.
bin/wormhole-server -c "$dir/routes.conf" > >(sed -u 's/^/[server] /') 2>&1 &
pids+=($!)
sleep 0.3
for c in drone3 gcs4; do
	bin/wormhole-client -c "$dir/$c.ini" > >(sed -u "s/^/[$c] /") 2>&1 &
	pids+=($!)
done

# Wait (at most 10 s) until a first datagram crosses the mavlink flow.
up=0
for _ in $(seq 1 50); do
	"$BF" --bind 127.0.0.1:14560 --expect 1 --timeout 200 --linger 0 >/dev/null 2>&1 &
	rx=$!
	"$BF" --bind 127.0.0.1:0 --to 127.1.0.1:14550 --count 2 --rate 20 --timeout 100 >/dev/null 2>&1 || true
	if wait $rx; then
		up=1
		break
	fi
done
if [ $up = 0 ]; then
	echo "demo: the mavlink flow did not come up; see the log lines above" >&2
	exit 1
fi

summary() { # summary WHAT JSON
	python3 - "$1" "$2" <<'PY'
import json, sys
what, j = sys.argv[1], json.loads(sys.argv[2])
print(f"[demo] {what}: received {j['received']} datagrams, {j['dup']} duplicates, "
      f"{j['corrupt']} corrupt, latency p50 {j['lat_p50_us']} us, p99 {j['lat_p99_us']} us")
PY
}
echo "[demo] mavlink: 200 heartbeats each way at 50/s, and video: 2000 x 1200 bytes at 500/s"
"$BF" --bind 127.0.0.1:14560 --to 127.1.0.1:14551 --id gcs4 --count 200 --rate 50 --expect 200 --delay 300 \
	--timeout 15000 >"$dir/gcs-mavlink.json" &
a=$!
"$BF" --bind 127.0.0.1:5610 --expect 2000 --timeout 15000 >"$dir/gcs-video.json" &
b=$!
"$BF" --bind 127.0.0.1:14550 --to 127.1.0.1:14550 --id drone3 --count 200 --rate 50 --expect 200 --delay 300 \
	--timeout 15000 >"$dir/drone-mavlink.json" &
c=$!
"$BF" --bind 127.0.0.1:5601 --to 127.1.0.1:5600 --id drone3 --count 2000 --size 1200 --rate 500 --delay 300 \
	--timeout 15000 >/dev/null &
d=$!
wait $a $b $c $d || true
summary "gcs4 app, mavlink from drone3" "$(cat "$dir/gcs-mavlink.json")"
summary "drone3 app, mavlink from gcs4" "$(cat "$dir/drone-mavlink.json")"
summary "gcs4 app, video from drone3" "$(cat "$dir/gcs-video.json")"

cat <<MSG

[demo] running. Try, in another terminal:
  sed -i 's/port = 5600/port = 5602/' $dir/routes.conf    # applied live
  sed -i 's/"gcs4"\]/"gcs9"]/' $dir/routes.conf            # refused: unknown client
Ctrl-C to stop.

MSG
# In the background, waited for: a SIGTERM then stops the demo at once (bash
# runs a trap only once its foreground command ends).
if [ -n "${DEMO_SECONDS:-}" ]; then
	sleep "$DEMO_SECONDS" &
	pids+=($!)
	wait $!
else
	wait
fi
