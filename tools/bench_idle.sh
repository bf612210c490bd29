#!/usr/bin/env bash
# bench_idle: what an idle client costs on its link (a metered LTE modem),
# in the namespace lab. Three drones, each behind a NAT of its own, with
# every flow silent:
#   - drone1 with one peer on a punched direct path (gcs1; both NATs
#     port-restricted cones): pings every 200 ms each way on the direct
#     path (the price of a failover within 1 s) and the relay kept warm;
#   - drone2 with one peer on the relay only (gcs2; both NATs symmetric);
#   - drone3 in no flow: its server session alone (the baseline).
# Counts the bytes and packets on each drone's link over the same
# BENCH_IDLE_S seconds (default 30), after every pair has settled, and
# prints them per second (IP packets with their headers, as a modem bills
# them, less the 14-byte Ethernet header the lab's veth adds) with the
# ratio to the baseline. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
	echo "bench_idle: needs root for the namespace lab; skipped"
	exit 0
fi
S=${BENCH_IDLE_S:-30}
[[ $S =~ ^[1-9][0-9]*$ ]] && ((S <= 3600)) || {
	echo "bench_idle: BENCH_IDLE_S must be a number of seconds from 1 to 3600" >&2
	exit 2
}
source tools/lab/lib.sh
source tools/lab/topo.sh
lab_init bench_idle
# shellcheck disable=SC2034 # read by lab_wh_server and lab_wh_client
LAB_LOG_LEVEL=info

lab_keys server drone1 gcs1 drone2 gcs2 drone3
lab_routes '' drone1 gcs1 drone2 gcs2 drone3 >"$LAB_DIR/routes.conf" <<CONF
flows: (
  { name = "mav1"; proto = "udp"; port = 14550; members = ["drone1", "gcs1"]; },
  { name = "mav2"; proto = "udp"; port = 14560; members = ["drone2", "gcs2"]; }
);
CONF
lab_two_sites
lab_relay_sites
lab_nat ne port-restricted-cone 198.51.100.5 10.0.5.0/24
lab_host drone3 ne 10.0.5.2
lab_wh_server srv
lab_wh_clients drone1 gcs1 drone2 gcs2 drone3
is_direct() { grep -q "peer gcs1: direct path up" "$LAB_DIR/client-drone1.log"; }
wait_until 20 is_direct || fail "drone1 -> gcs1 found no direct path"
relay_up() { grep -q "punch: the server keeps this pair on the relay" "$LAB_DIR/client-drone2.log"; }
wait_until 20 relay_up || fail "drone2 -> gcs2 was not kept on the relay"
wait_until 20 lab_flow_up drone2 gcs2 14560 || fail "drone2's flow does not carry a datagram"
wait_until 20 lab_flow_up drone1 gcs1 14550 || fail "drone1's flow does not carry a datagram"
sleep 5 # past the NAT classifications and the first path reports

# counters HOST: "rx_bytes tx_bytes rx_packets tx_packets" of its link.
counters() {
	local f
	for f in rx_bytes tx_bytes rx_packets tx_packets; do
		lab_exec "$1" cat "/sys/class/net/eth0/statistics/$f"
	done | paste -sd' '
}
declare -A c0
for n in drone1 drone2 drone3; do c0[$n]=$(counters "$n"); done
sleep "$S"
echo "  idle for $S s; per second on the drone's link (IP packets, both ways):"
printf "  %-34s %10s %10s %8s %8s %7s\n" "" "B/s up" "B/s down" "pkt/s up" "pkt/s dn" "ratio"
base=""
for n in drone3 drone1 drone2; do
	read -r rb0 tb0 rp0 tp0 <<<"${c0[$n]}"
	read -r rb1 tb1 rp1 tp1 <<<"$(counters "$n")"
	row=$(python3 -c '
import sys
rb, tb, rp, tp, s = (float(x) for x in sys.argv[1:6])
base = sys.argv[6]
up, dn = (tb - 14 * tp) / s, (rb - 14 * rp) / s
ratio = "1.00" if not base else "%.2f" % ((up + dn) / float(base))
print("%.0f %.0f %.1f %.1f %s %.0f" % (up, dn, tp / s, rp / s, ratio, up + dn))' \
		$((rb1 - rb0)) $((tb1 - tb0)) $((rp1 - rp0)) $((tp1 - tp0)) "$S" "$base")
	read -r up dn pu pd ratio sum <<<"$row"
	[ -n "$base" ] || base=$sum
	case $n in
	drone3) what="no peer (server session only)" ;;
	drone1) what="1 peer, direct path" ;;
	drone2) what="1 peer, relay only" ;;
	esac
	printf "  %-34s %10s %10s %8s %8s %7s\n" "$what" "$up" "$dn" "$pu" "$pd" "$ratio"
done
lab_pass
