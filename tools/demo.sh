#!/usr/bin/env bash
# demo: a local wormhole on loopback — the server with the example routes.conf
# and the two example clients, drone3 and gcs4. Edit build/demo/routes.conf
# while it runs and watch the server apply (or refuse) the change.
# Ctrl-C stops everything; DEMO_SECONDS=N stops after N seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=build/demo
rm -rf "$dir"
mkdir -p "$dir"
cp config/examples/routes.conf config/examples/*.ini config/examples/*.key "$dir"/
chmod 600 "$dir"/*.key

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
for ini in "$dir"/*.ini; do
	name=$(basename "$ini" .ini)
	bin/wormhole-client -c "$ini" > >(sed -u "s/^/[$name] /") 2>&1 &
	pids+=($!)
done
cat <<MSG

wormhole demo running. Try, in another terminal:
  sed -i 's/port = 5600/port = 5601/' $dir/routes.conf    # applied live
  sed -i 's/"gcs4"\]/"gcs9"]/' $dir/routes.conf            # refused: unknown client
Ctrl-C to stop.

MSG
if [ -n "${DEMO_SECONDS:-}" ]; then
	sleep "$DEMO_SECONDS"
else
	wait
fi
