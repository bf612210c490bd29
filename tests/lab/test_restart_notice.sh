#!/usr/bin/env bash
# test_restart_notice: a server's restart notice (PROTOCOL.md "Relay") is
# authenticated but not bound to a session, so an old one sent again must
# not end a working session; and a relay port answers an unverified
# sender with no more bytes than it sent.
#
#   drone1 offline: 28 bytes to each relay port --> the server answers at
#                   drone1's side with a genuine notice (once, 28 bytes)
#   drone1 online:  those notices sent to drone1 from the server's address
#                   (another port, as anyone on the path could)
#
# Checked:
#   1. the ports gave back no more bytes than they got, notices only from
#      drone1's side, one per datagram;
#   2. drone1 checks each replayed notice (two PINGs), sees the server still
#      has its session, and keeps it: no reconnect, still registered once
#      (before: each notice made it start a new session, and with several
#      uplinks move it off its preferred one);
#   3. the flow still carries datagrams.
# A real restart, told by the notice, is test_relay_recovery's.
# lab-run: loopback
set -euo pipefail
source "$(dirname "$0")/../../tools/lab/lib.sh"
lab_init restart_notice
cd "$LAB_ROOT"
BF=$LAB_ROOT/build/release/tools/bench_flow
[ -x "$BF" ] || fail "bench_flow missing (make build-tests builds it)"

# Ports from the PID, so parallel runs and other tests do not collide.
off=$(($$ % 400))
SP=$((20000 + off * 2)) # server udp (+1 alt port)
RA0=$((21000 + off * 4))
RB0=$((23000 + off * 4))
VP=$((25000 + off * 2)) # mav on 127.1.0.1; VP+1: gcs1's app
CAP=$((26000 + off * 2))

lab_loopback_clients "$SP" "$CAP" drone1 gcs1
pub() { "$LAB_BIN/wormhole-keygen" pubkey <"$LAB_DIR/$1.key"; }
cat >"$LAB_DIR/routes.conf" <<CONF
server: {
  listen = ["127.0.0.1:$SP"]; alt_port = $((SP + 1));
  key_file = "server.key";
  relay_a = "$RA0-$((RA0 + 3))"; relay_b = "$RB0-$((RB0 + 3))";
  keepalive_s = 5;
  punch = false;
};
clients: { drone1 = { key = "$(pub drone1)"; }; gcs1 = { key = "$(pub gcs1)"; }; };
flows: ( { name = "mav"; proto = "udp"; port = $VP; from = ["drone1"]; to = ["gcs1"];
           deliver = { gcs1 = "127.0.0.1:$((VP + 1))"; }; } );
CONF
LOG=$LAB_DIR/server.log
lab_start server "$LAB_BIN/wormhole-server" -c "$LAB_DIR/routes.conf" --log-level debug
wait_until 5 grep -q "server: running" "$LOG" || fail "server did not start"
lab_start client-gcs1 "$LAB_BIN/wormhole-client" -c "$LAB_DIR/gcs1.ini" --log-level debug
wait_until 10 grep -q "client gcs1: online" "$LOG" || fail "gcs1 did not come online"
wait_until 5 grep -q "relay drone1<->gcs1: ports" "$LOG" || fail "no relay pair for drone1 and gcs1"
# flow_carries: datagrams cross mav from drone1's app to gcs1's
flow_carries() { lab_lo_carries "$VP" $((VP + 1)) 5; }

echo "  1. drone1 offline: what its relay ports give an unverified sender"
# Two rounds 3.2 s apart (the server tells a side at most once per 3 s):
# 28 bytes to each of the pair's ports, everything that comes back kept.
python3 - "$RA0" "$RB0" "$LAB_DIR/notices.bin" <<'PY' >"$LAB_DIR/harvest.txt" || fail "harvest: $(cat "$LAB_DIR/harvest.txt")"
import socket, sys, time
ra, rb, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
ports = [ra + i for i in range(4)] + [rb + i for i in range(4)]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
s.settimeout(0.2)
sent = got_bytes = 0
notices, bad = [], []
for rnd in range(2):
    for p in ports:
        s.sendto(b"\x04" + b"\x00" * 27, ("127.0.0.1", p))
        sent += 28
    end = time.time() + 3.2
    while time.time() < end:
        try:
            d, a = s.recvfrom(2048)
        except socket.timeout:
            continue
        got_bytes += len(d)
        if d[0] == 0xD5 and len(d) == 28:
            notices.append((a[1], d))
        else:
            bad.append((a[1], d[:8].hex()))
print("sent", sent, "got", got_bytes, "notices", len(notices), "from", sorted({p for p, _ in notices}), "other", bad)
open(out, "wb").write(b"".join(d for _, d in notices))
sys.exit(0 if notices and not bad and got_bytes <= sent and len({p for p, _ in notices}) == 1 else 1)
PY
read -r _ sent _ got _ n_notices _ <"$LAB_DIR/harvest.txt"
[ "$n_notices" = 2 ] || fail "1. wanted a notice a round: $(cat "$LAB_DIR/harvest.txt")"
echo "     sent $sent bytes, got $got back: $n_notices notices, one a datagram, from drone1's port"

echo "  2. drone1 online: the old notices sent to it again"
lab_start client-drone1 "$LAB_BIN/wormhole-client" -c "$LAB_DIR/drone1.ini" --log-level debug
wait_until 10 grep -q "client drone1: online" "$LOG" || fail "drone1 did not come online"
wait_until 10 flow_carries || fail "the flow carries nothing before the notices"
DPID=${LAB_PIDS[client-drone1]}
dport() { # drone1's uplink socket: its UDP socket on 127.0.0.1
	ss -Huanp | awk -v p="pid=$DPID," 'index($0, p) && $4 ~ /^127\.0\.0\.1:/ { sub(/.*:/, "", $4); print $4 }' |
		head -n 1
}
DP=$(dport || true)
[ -n "$DP" ] || fail "drone1's uplink socket not found"
python3 - "$DP" "$LAB_DIR/notices.bin" <<'PY' || fail "replay failed"
import socket, sys, time
port, data = int(sys.argv[1]), open(sys.argv[2], "rb").read()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))  # the server's address, another port
for i in range(0, len(data), 28):
    s.sendto(data[i:i + 28], ("127.0.0.1", port))
    time.sleep(1.0)
PY
sleep 1
DLOG=$LAB_DIR/client-drone1.log
checked=$(grep -c "a restart notice came, but the server still has our session" "$DLOG" || true)
[ "$checked" = 2 ] || fail "2. drone1 did not check both notices ($checked): $(grep -i notice "$DLOG" | tail -5)"
! grep -q "server: it restarted (its notice came), reconnecting" "$DLOG" ||
	fail "2. a replayed notice made drone1 reconnect"
[ "$(grep -c "client drone1: online" "$LOG")" = 1 ] || fail "2. drone1 registered again"
echo "     drone1 checked both ($checked), kept its session, registered once"

echo "  3. the flow still carries datagrams"
flow_carries || fail "3. the flow does not carry datagrams"
lab_pass
