#!/usr/bin/env bash
# bench_tcp: goodput through a TCP flow next to the kernel's own TCP over the
# same lab path, in the same run (issue #8, acceptance 5).
#
#     gcs1 10.0.2.2 -- gnat (port-restricted) 198.51.100.2 == internet ==
#         198.51.100.1 dnat (port-restricted, + tcp 2299 forwarded) -- drone1 10.0.1.2
#
# The pair punches a direct path between the NATs. For each loss rate (0, 1
# and 3 %, nftables on dnat's wan link, both ways), `tcpecho copy` moves
# BENCH_TCP_MB (default 100) MB from gcs1 to a sink on drone1, once through
# the wormhole TCP flow (127.1.0.1:2222 -> stream -> 127.0.0.1:2222) and once
# over plain kernel TCP to dnat's public address (port 2299 forwarded to
# drone1): same hosts, same NATs, same links, same loss. Goodput counts from
# the first byte to the sink's checksum reply. Prints the table and the
# ratios (goal: >= 0.8 at 0 %, >= 1.0 at 3 %). A row marked "relay" lost its
# direct path during the run. Needs root (network namespaces).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
	echo "bench_tcp: needs root for the namespace lab; skipped"
	exit 0
fi
source tools/lab/lib.sh
source tools/lab/topo.sh
lab_init bench_tcp
TE=${TCPECHO:-$LAB_ROOT/build/release/tests/tcpecho}
[ -x "$TE" ] || fail "$TE missing (make build-tests builds it)"
KG=$LAB_BIN/wormhole-keygen
MB=${BENCH_TCP_MB:-100}

for n in server drone1 gcs1; do "$KG" genkey -o "$LAB_DIR/$n.key"; done
pub() { "$KG" pubkey <"$LAB_DIR/$1.key"; }
cat >"$LAB_DIR/routes.conf" <<CONF
server: { listen = ["203.0.113.10:7400", "203.0.113.11:7400"]; alt_port = 7401;
          key_file = "server.key"; keepalive_s = 5; };
clients: { drone1 = { key = "$(pub drone1)"; }; gcs1 = { key = "$(pub gcs1)"; }; };
flows: ( { name = "copy"; proto = "tcp"; port = 2222; from = ["gcs1"]; to = ["drone1"]; } );
CONF
lab_server srv 203.0.113.10 203.0.113.11
lab_nat dnat port-restricted-cone 198.51.100.1 10.0.1.0/24
lab_host drone1 dnat 10.0.1.2
lab_nat gnat port-restricted-cone 198.51.100.2 10.0.2.0/24
lab_host gcs1 gnat 10.0.2.2
lab_exec dnat nft add rule ip wh_nat prerouting iifname wan tcp dport 2299 dnat ip to 10.0.1.2:2299
for n in drone1 gcs1; do
	printf '[client]\nid = %s\nkey_file = %s.key\nserver = 203.0.113.10:7400\nserver_key = %s\n' \
		"$n" "$n" "$(pub server)" >"$LAB_DIR/$n.ini"
done
lab_start_in drone1 sink "$TE" server --bind 127.0.0.1:2222 --mode sink
lab_start_in drone1 ksink "$TE" server --bind 10.0.1.2:2299 --mode sink
lab_start_in srv server "$LAB_BIN/wormhole-server" -c "$LAB_DIR/routes.conf"
wait_until 5 grep -q "server: running" "$LAB_DIR/server.log" || fail "server did not start"
for n in drone1 gcs1; do
	lab_start_in "$n" "client-$n" "$LAB_BIN/wormhole-client" -c "$LAB_DIR/$n.ini"
done
downs() { grep -c "peer drone1: direct path .* lost" "$LAB_DIR/client-gcs1.log" || true; }
ups() { grep -c "peer drone1: direct path up" "$LAB_DIR/client-gcs1.log" || true; }
is_direct() { [ "$(ups)" -gt "$(downs)" ]; }
wait_until 20 is_direct || fail "no direct path"
ready() { lab_exec gcs1 "$TE" copy --to 127.1.0.1:2222 --bytes 1000 --timeout-ms 3000; }
wait_until 10 ready || fail "the flow did not come up"

rate() { python3 -c "import json,sys; j=json.loads(open(sys.argv[1]).read()); print(j['mbit_s'] if j['ok'] else 0)" "$1"; }
printf "  %-6s %14s %14s %7s\n" loss "wormhole Mbit/s" "kernel Mbit/s" ratio
for loss in 0 1 3; do
	wait_until 25 is_direct || true
	n_down=$(downs)
	lab_loss dnat wan "$loss"
	lab_exec gcs1 "$TE" copy --to 127.1.0.1:2222 --bytes $((MB * 1048576)) --timeout-ms 600000 \
		>"$LAB_DIR/wh-$loss.json" || true
	lab_exec gcs1 "$TE" copy --to 198.51.100.1:2299 --bytes $((MB * 1048576)) --timeout-ms 600000 \
		>"$LAB_DIR/k-$loss.json" || true
	lab_loss dnat wan 0
	w=$(rate "$LAB_DIR/wh-$loss.json")
	k=$(rate "$LAB_DIR/k-$loss.json")
	note=""
	[ "$(downs)" -gt "$n_down" ] && note="  (relay: the direct path was lost during the run)"
	printf "  %-6s %14s %14s %7s%s\n" "$loss %" "$w" "$k" \
		"$(python3 -c "import sys; k=float(sys.argv[2]); print(f'{float(sys.argv[1])/k:.2f}' if k else 'n/a')" "$w" "$k")" "$note"
done
echo "  ($MB MB per copy, byte-identical by SHA-256 in both cases; goal: ratio >= 0.8 at 0 %, >= 1.0 at 3 %)"
lab_pass >/dev/null
