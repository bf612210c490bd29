#!/usr/bin/env bash
# test_listen_families: a server listening on the IPv6 wildcard and on an
# IPv4 address at once (README `server.listen`): every IPv6 socket is IPv6
# only, so the two bind side by side, and IPv4 clients are seen as IPv4.
#
#   gcs1 (IPv4) ---> 127.0.0.1:SP    server    [::]:SP <--- drone1 (IPv6, ::1)
#
# Checked:
#   1. the server starts (a dual-stack [::] socket held the IPv4 port too:
#      "Address already in use" on 127.0.0.1);
#   2. both clients come online, gcs1 by its IPv4 address, and gcs1's
#      status shows an IPv4 mapped address (a dual-stack socket answered it
#      ::ffff:127.0.0.1, an IPv6 address, and a NAT class made of that);
#   3. a flow between them carries (gcs1 to drone1, over the relay);
#   4. `--check-config` refuses what cannot bind side by side: a wildcard
#      beside an address of its family, an IPv4-mapped spelling of a listed
#      address, an IPv6 link-local address.
# lab-run: loopback
set -euo pipefail
source "$(dirname "$0")/../../tools/lab/lib.sh"
lab_init listen_families
cd "$LAB_ROOT"
BF=$LAB_ROOT/build/release/tools/bench_flow
[ -x "$BF" ] || fail "bench_flow missing (make build-tests builds it)"
[ -n "$(ip -6 addr show dev lo 2>/dev/null)" ] || ip link set lo up
[ -n "$(ip -6 addr show dev lo 2>/dev/null)" ] || fail "no IPv6 on the loopback"

off=$(($$ % 400))
SP=$((20000 + off * 2)) # server udp (+1 alt port)
RA0=$((21000 + off * 4))
RB0=$((23000 + off * 4))
VP=$((25000 + off * 2)) # flow port on 127.1.0.1; VP+1: the apps
CAP=$((26000 + off * 2))

lab_loopback_clients "$SP" "$CAP" gcs1 drone1
# drone1 reaches the server over IPv6 (its uplink's source too).
sed -i "s|^server = .*|server = [::1]:$SP|; s|^source = .*|source = ::1|" "$LAB_DIR/drone1.ini"
pub() { "$LAB_BIN/wormhole-keygen" pubkey <"$LAB_DIR/$1.key"; }
cat >"$LAB_DIR/routes.conf" <<CONF
server: {
  listen = ["[::]:$SP", "127.0.0.1:$SP"]; alt_port = $((SP + 1));
  key_file = "server.key";
  relay_a = "$RA0-$((RA0 + 3))"; relay_b = "$RB0-$((RB0 + 3))";
  punch = false;
};
clients: { drone1 = { key = "$(pub drone1)"; }; gcs1 = { key = "$(pub gcs1)"; }; };
flows: ( { name = "mav"; proto = "udp"; port = $VP; from = ["gcs1"]; to = ["drone1"];
           deliver = { drone1 = "127.0.0.1:$((VP + 1))"; }; } );
CONF
LOG=$LAB_DIR/server.log

echo "  1. [::]:$SP beside 127.0.0.1:$SP"
lab_start server "$LAB_BIN/wormhole-server" -c "$LAB_DIR/routes.conf" --log-level debug
wait_until 5 grep -q "server: running" "$LOG" || fail "server did not start: $(tail -n 3 "$LOG")"

echo "  2. an IPv4 and an IPv6 client"
for c in gcs1 drone1; do
	lab_start "client-$c" "$LAB_BIN/wormhole-client" -c "$LAB_DIR/$c.ini" --log-level debug
done
wait_until 10 grep -q "client gcs1: online addr=127.0.0.1:" "$LOG" ||
	fail "gcs1 not online by its IPv4 address: $(grep 'client gcs1' "$LOG" | tail -n 2)"
wait_until 10 grep -q "client drone1: online addr=\[::1\]:" "$LOG" ||
	fail "drone1 not online by ::1: $(grep 'client drone1' "$LOG" | tail -n 2)"
mapped() {
	"$LAB_BIN/wormhole-client" -c "$LAB_DIR/gcs1.ini" status --json 2>/dev/null |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["nat"]["mapped_address"])'
}
mapped_is_v4() { mapped | grep -q '^127\.0\.0\.1:'; }
wait_until 10 mapped_is_v4 || fail "gcs1's mapped address: $(mapped 2>&1)"
echo "     gcs1 mapped $(mapped)"

echo "  3. the flow carries from the IPv4 client to the IPv6 one"
wait_until 10 lab_lo_carries "$VP" $((VP + 1)) || fail "the flow does not carry"

echo "  4. --check-config refuses listen addresses that cannot bind side by side"
for l in '"0.0.0.0:7400", "127.0.0.1:7400"' '"[::1]:7400", "[::]:7400"' \
	'"127.0.0.1:7400", "[::ffff:127.0.0.1]:7400"' '"[fe80::1]:7400"'; do
	sed "s|^  listen = .*|  listen = [$l];|" "$LAB_DIR/routes.conf" >"$LAB_DIR/bad.conf"
	status=0
	"$LAB_BIN/wormhole-server" --check-config "$LAB_DIR/bad.conf" >/dev/null 2>"$LAB_DIR/err" ||
		status=$?
	[ "$status" = 1 ] && grep -q "^$LAB_DIR/bad.conf:2: server.listen: " "$LAB_DIR/err" ||
		fail "listen = [$l]: status $status, $(cat "$LAB_DIR/err")"
done
lab_pass
