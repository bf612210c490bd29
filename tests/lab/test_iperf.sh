#!/usr/bin/env bash
# test_iperf: a stock iperf3 through a TCP flow and a UDP flow, as an
# operator measuring a link would run it.
#
#        srv 203.0.113.10/.11 (wormhole-server)
#     dnat port-restricted 198.51.100.1     gnat port-restricted 198.51.100.2
#             drone1 10.0.1.2                    gcs1 10.0.2.2
#       iperf3 -s on 127.0.0.1:5201         iperf3 -c 127.1.0.1 -p 5201
#
# Flows "perf" (tcp 5201) and "perfu" (udp 5201), gcs1 -> drone1: iperf3's
# control connection is TCP and a UDP test's data is UDP, on one port.
# Rates are capped (-b) so that the test measures function, not the CPU.
#  1. TCP: 20 MB up, 20 MB down (-R), 2 s both ways at once (--bidir) and 4
#     connections at once (-P 4): each test completes, and the receiving end
#     counts (nearly) what the sending end sent.
#  2. UDP with 1200-byte datagrams, 2 s at 20 Mbit/s each way: every
#     datagram arrives.
#  3. UDP with iperf3's own datagram size (32 KiB on loopback, over what one
#     flow datagram takes): nothing arrives, and gcs1 says why, in one
#     warning line, and counts the refusals in the flow's drops.
set -euo pipefail
source "$(dirname "$0")/../../tools/lab/lib.sh"
source "$LAB_ROOT/tools/lab/topo.sh"
lab_init iperf
command -v iperf3 >/dev/null || fail "iperf3 missing (make deps)"

lab_keys server drone1 gcs1
lab_routes 'keepalive_s = 5;' drone1 gcs1 >"$LAB_DIR/routes.conf" <<CONF
flows: (
  { name = "perf"; proto = "tcp"; port = 5201; from = ["gcs1"]; to = ["drone1"]; },
  { name = "perfu"; proto = "udp"; port = 5201; from = ["gcs1"]; to = ["drone1"]; }
);
CONF
lab_two_sites
lab_start_in drone1 iperf3-server iperf3 -s -B 127.0.0.1 -p 5201
lab_wh_server srv
lab_wh_clients drone1 gcs1
direct() { grep -q "peer drone1: direct path up" "$LAB_DIR/client-gcs1.log"; }
wait_until 20 direct || fail "no direct path between gcs1 and drone1"
wait_until 10 lab_tcp_listening gcs1 127.1.0.1:5201 || fail "gcs1 does not listen on 127.1.0.1:5201"
wait_until 10 lab_udp_bound gcs1 127.1.0.1:5201 || fail "gcs1 has no UDP socket on 127.1.0.1:5201"

# perf NAME ARGS...: iperf3 from gcs1 through the flows, its JSON in NAME.json.
perf() {
	local name=$1
	shift
	lab_exec gcs1 timeout 30 iperf3 -c 127.1.0.1 -p 5201 --json "$@" >"$LAB_DIR/$name.json" ||
		fail "iperf3 $*: $(python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get("error"))' \
			"$LAB_DIR/$name.json" 2>/dev/null || tail -n 3 "$LAB_DIR/$name.json")"
}
# got NAME EXPR: EXPR (Python) over e, the "end" part of NAME's JSON.
got() {
	python3 - "$LAB_DIR/$1.json" "$2" <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))["end"]
print(eval(sys.argv[2]))
PY
}
# tcp_ok NAME [SUFFIX]: the receiving end counted at least 95 % of what the
# sending end sent (iperf3 ends a test on its control connection, which may
# overtake the last bytes in flight on the data connections), and something.
tcp_ok() {
	local s=sum_sent${2:-} r=sum_received${2:-}
	[ "$(got "$1" "int(e['$s']['bytes'] > 0 and e['$r']['bytes'] >= 0.95 * e['$s']['bytes'])")" = 1 ] ||
		fail "1. $1${2:+ reverse}: received $(got "$1" "e['$r']['bytes']") of $(got "$1" "e['$s']['bytes']") bytes"
	echo "  1. $1${2:+ reverse}: $(got "$1" "e['$r']['bytes']") of $(got "$1" "e['$s']['bytes']") bytes," \
		"$(got "$1" "round(e['$r']['bits_per_second'] / 1e6, 1)") Mbit/s"
}

# --- 1. TCP ---------------------------------------------------------------------
perf up -n 20M -b 200M
tcp_ok up
perf down -n 20M -b 200M -R
tcp_ok down
perf bidir -t 2 -b 100M --bidir
tcp_ok bidir
tcp_ok bidir _bidir_reverse
perf parallel -n 20M -b 50M -P 4
tcp_ok parallel

# --- 2. UDP, 1200-byte datagrams -------------------------------------------------------
for dir in up down; do
	args=(-u -l 1200 -b 20M -t 2)
	[ "$dir" = up ] || args+=(-R)
	perf "udp-$dir" "${args[@]}"
	line=$(got "udp-$dir" "'%d %d' % (e['sum']['packets'], e['sum']['lost_packets'])")
	read -r packets lost <<<"$line"
	[ "$packets" -ge 3000 ] && [ "$lost" = 0 ] ||
		fail "2. udp $dir: $lost of $packets datagrams lost"
	echo "  2. udp $dir: $packets datagrams of 1200 bytes, $lost lost"
done

# --- 3. UDP, iperf3's own size -------------------------------------------------------
drops() { lab_status_field gcs1 "[f for f in j['flows'] if f['name'] == 'perfu'][0]['drops']"; }
drops0=$(drops)
[[ $drops0 =~ ^[0-9]+$ ]] || fail "3. gcs1's status has no drops for flow perfu: \"$drops0\""
perf udp-big -u -b 2M -t 1
rx=$(got udp-big "e['sum_received']['bytes']")
[ "$rx" = 0 ] || fail "3. $rx bytes of over-size datagrams arrived"
drops1=$(drops)
[ "$drops1" -gt "$drops0" ] || fail "3. the flow's drops stayed at $drops1"
warn() { grep "flow perfu: datagrams of .* bytes from the app refused" "$LAB_DIR/client-gcs1.log"; }
wait_until 2 warn >/dev/null || fail "3. gcs1 did not say why the datagrams were refused"
[ "$(warn | wc -l)" = 1 ] || fail "3. $(warn | wc -l) warnings (want one a minute)"
echo "  3. udp with iperf3's own size: nothing arrived, $((drops1 - drops0)) refused, and:"
echo "     $(warn | cut -c 26-)"
lab_teardown
lab_pass
