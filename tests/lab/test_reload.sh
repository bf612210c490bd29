#!/usr/bin/env bash
# test_reload: routes.conf hot reload (issue #2, acceptance 3).
#
#   +---------------------------+
#   | this host (loopback only) |
#   |  wormhole-server          |
#   |    watches $LAB_DIR/routes.conf
#   +---------------------------+
#
# Saves routes.conf in place, by rename (as vim and sed -i do) and with an
# invalid edit; the first two must be applied within 1 s and the third
# refused while the running configuration stays. Rapid same-size saves must
# end in the last content, and SIGHUP must reload. A symlinked routes.conf
# (a ConfigMap's links swapped, the file behind them replaced) reloads
# within 1 s too. Evidence is the server's own log lines.
# lab-run: loopback
set -euo pipefail
source "$(dirname "$0")/../../tools/lab/lib.sh"
lab_init reload

KG=$LAB_BIN/wormhole-keygen
"$KG" genkey -o "$LAB_DIR/server.key"
D3=$("$KG" genkey | "$KG" pubkey)
G4=$("$KG" genkey | "$KG" pubkey)
G5=$("$KG" genkey | "$KG" pubkey)
CONF=$LAB_DIR/routes.conf

# write_conf VIDEO_PORT [EXTRA_FLOW] — the routes.conf the test edits.
write_conf() {
	cat <<CONF
# routes.conf for the reload test
server: { listen = ["127.0.0.1:17400"]; key_file = "server.key"; };
clients: { drone3 = { key = "$D3"; }; gcs4 = { key = "$G4"; }; gcs5 = { key = "$G5"; }; };
flows: (
  { name = "mavlink"; proto = "udp"; port = 14550; members = ["drone3", "gcs4"]; },
  { name = "video"; proto = "udp"; port = $1; from = ["drone3"]; to = ["gcs4"]; }${2:-}
);
CONF
}

write_conf 5600 >"$CONF"
lab_start server "$LAB_BIN/wormhole-server" -c "$CONF" --log-level debug
LOG=$LAB_DIR/server.log
wait_until 5 grep -q "server: running" "$LOG" || fail "server did not start"

applied() { grep -q "reload: applied .* generation=$1: $2\$" "$LOG"; }

# saved_within SECONDS GENERATION DIFF: wait for that reload line, and check
# the time from the save to the line with the server's own clock.
saved_within() {
	local secs=$1 gen=$2 diff=$3 t0=$4
	wait_until "$secs" applied "$gen" "$diff" || fail "generation $gen ($diff) not applied within ${secs}s"
	local t1
	t1=$(date +%s%N)
	echo "  generation $gen applied after $(((t1 - t0) / 1000000)) ms: $diff"
}

# 1. In place: same inode, truncate and write (what `cat >` and many editors do).
ino=$(stat -c %i "$CONF")
t0=$(date +%s%N)
write_conf 5601 >"$CONF"
[ "$(stat -c %i "$CONF")" = "$ino" ] || fail "in-place save changed the inode"
saved_within 1 2 "flows ~video" "$t0"

# 2. By rename: a new file moved over the old one (vim, sed -i).
t0=$(date +%s%N)
write_conf 5601 ', { name = "telemetry"; proto = "udp"; port = 14560; from = ["drone3"]; to = ["gcs5"]; }' >"$CONF.tmp"
mv "$CONF.tmp" "$CONF"
saved_within 1 3 "flows +telemetry" "$t0"

# sed -i writes a temporary file and renames it too.
t0=$(date +%s%N)
sed -i 's/port = 14560/port = 14561/' "$CONF"
saved_within 1 4 "flows ~telemetry" "$t0"

# 3. An invalid edit is refused with FILE:LINE: message; the old config stays.
cp "$CONF" "$LAB_DIR/good.conf"
sed -i 's/to = \["gcs5"\]/to = ["drone9"]/' "$CONF"
wait_until 1 grep -q "reload: $CONF:[0-9]*: .*drone9.* (running configuration kept)" "$LOG" ||
	fail "invalid edit not refused with a FILE:LINE message within 1 s"
grep "running configuration kept" "$LOG" | sed 's/^/  refused: /'
kill -0 "${LAB_PIDS[server]}" || fail "server died on an invalid edit"
! grep -q "generation=5" "$LOG" || fail "invalid edit was applied"
# The running configuration is still generation 4: a new valid edit is diffed
# against it and shows exactly one change.
t0=$(date +%s%N)
sed 's/port = 5601/port = 5602/' "$LAB_DIR/good.conf" >"$CONF.tmp"
mv "$CONF.tmp" "$CONF"
saved_within 1 5 "flows ~video" "$t0"

# 4. Rapid same-size saves in place, within one second: the last one wins.
for p in 5603 5604 5605 5606; do
	sed "s/port = 5601/port = $p/" "$LAB_DIR/good.conf" >"$LAB_DIR/next.conf"
	cat "$LAB_DIR/next.conf" >"$CONF"
done
size=$(stat -c %s "$CONF")
[ "$size" = "$(stat -c %s "$LAB_DIR/good.conf")" ] || fail "test bug: saves changed the size"
sleep 1.2
# SIGHUP forces a reload of what is on disk: "no changes" proves the running
# configuration already holds the last save (port 5606).
n_before=$(grep -c "reload: applied" "$LOG")
kill -HUP "${LAB_PIDS[server]}"
more_reloads() { [ "$(grep -c 'reload: applied' "$LOG")" -gt "$n_before" ]; }
wait_until 2 more_reloads || fail "SIGHUP did not reload"
grep "reload: applied" "$LOG" | tail -n 1 | grep -q ": no changes$" ||
	fail "after rapid saves the running config is not the last save: $(grep 'reload: applied' "$LOG" | tail -n 1)"
echo "  rapid same-size saves: the last one is running"

# 5. SIGTERM stops the server cleanly.
lab_stop server || fail "server exited with status $?"
grep -q "server: stopped" "$LOG" || fail "no clean stop"

# 6. A symlinked routes.conf, laid out as a Kubernetes ConfigMap volume:
# routes.conf -> ..data/routes.conf, ..data -> ..v1. An update makes ..v2
# and renames a new ..data link over the old one: no event names
# routes.conf. Then the file behind the links is replaced by a rename in
# its own folder, which inotify on routes.conf's folder does not see.
CM=$LAB_DIR/cm
mkdir -p "$CM/..v1"
cp "$LAB_DIR/server.key" "$CM/server.key"
write_conf 5700 | sed 's/17400/17410/' >"$CM/..v1/routes.conf"
ln -s ..v1 "$CM/..data"
ln -s ..data/routes.conf "$CM/routes.conf"
lab_start cmserver "$LAB_BIN/wormhole-server" -c "$CM/routes.conf" --log-level debug
LOG=$LAB_DIR/cmserver.log
wait_until 5 grep -q "server: running" "$LOG" || fail "server on a symlinked routes.conf did not start"
mkdir "$CM/..v2"
write_conf 5701 | sed 's/17400/17410/' >"$CM/..v2/routes.conf"
ln -s ..v2 "$CM/..tmp"
t0=$(date +%s%N)
mv -T "$CM/..tmp" "$CM/..data"
saved_within 1 2 "flows ~video" "$t0"
write_conf 5702 | sed 's/17400/17410/' >"$CM/..v2/routes.conf.new"
t0=$(date +%s%N)
mv "$CM/..v2/routes.conf.new" "$CM/..v2/routes.conf"
saved_within 1 3 "flows ~video" "$t0"
lab_stop cmserver || fail "server on a symlinked routes.conf exited with status $?"
lab_pass
