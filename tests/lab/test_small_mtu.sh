#!/usr/bin/env bash
# test_small_mtu: flows across a link whose MTU is below the wormhole's
# 1480-byte IPv4 packets (a modem or tunnel link of 1280-1400 bytes).
#
#        srv 203.0.113.10/.11 (wormhole-server)
#                    | internet (MTU 1500)
#     dnat port-restricted 198.51.100.1     gnat port-restricted 198.51.100.2
#                    |                                 | MTU 1280
#             drone1 10.0.1.2                    gcs1 10.0.2.2
#
# gcs1's own link has MTU 1280: its kernel fragments what it sends. Towards
# gcs1, gnat is a router whose next link is narrower than our 1480-byte
# packets, and it sends no ICMP "fragmentation needed" (filtered, as on many
# carrier networks): a packet with DF set is dropped there without a word, a
# black hole for every full-size packet while pings pass. The wormhole sends
# IPv4 with DF clear, so gnat fragments instead (its ICMP counter stays 0).
# gcs1 knows its own link's MTU (the route MTU towards the server): its
# stream segments shrink to fit it (1204 bytes for 1280), so what it sends
# leaves unfragmented; and it tells drone1 (FRAME_LINK_MTU), whose segments
# towards it shrink too, so gnat has nothing to fragment either. Datagrams that still do not fit (an app's 1400-byte
# UDP datagrams) leave in UDP GSO runs, which the kernel refuses outright
# when a segment does not fit the local link (EMSGSIZE); the client must
# fall back to one datagram per send. Checked over the direct path:
#   1. a 20 MB copy gcs1 -> drone1 and one drone1 -> gcs1 through TCP flows
#      arrive intact; gcs1 sent its copy without one IP fragment, and gnat
#      forwarded drone1's without one;
#   2. 4 connections each echo 2 MB (full-size packets both ways);
#   3. a UDP flow carries 1400-byte datagrams both ways (with DF set, none
#      of drone1's reached gcs1);
#   4. gnat never had to refuse a packet with DF set.
# lab-run: alone (20 MB copies load both cores)
set -euo pipefail
source "$(dirname "$0")/../../tools/lab/lib.sh"
source "$(dirname "$0")/../../tools/lab/topo.sh"
lab_init small_mtu
TE=$LAB_ROOT/build/release/tests/tcpecho
[ -x "$TE" ] || fail "$TE missing (make build-tests builds it)"
MTU=1280

lab_keys server drone1 gcs1
lab_routes 'keepalive_s = 5;' drone1 gcs1 >"$LAB_DIR/routes.conf" <<CONF
flows: (
  { name = "copy"; proto = "tcp"; port = 2222; from = ["gcs1"]; to = ["drone1"]; },
  { name = "echo"; proto = "tcp"; port = 2223; from = ["gcs1"]; to = ["drone1"]; },
  { name = "back"; proto = "tcp"; port = 2224; from = ["drone1"]; to = ["gcs1"]; },
  { name = "up"; proto = "udp"; port = 5600; from = ["gcs1"]; to = ["drone1"]; },
  { name = "down"; proto = "udp"; port = 5601; from = ["drone1"]; to = ["gcs1"]; }
);
CONF
lab_two_sites
ip -n "$(lab_ns gnat)" link set h-gcs1 mtu "$MTU"
ip -n "$(lab_ns gcs1)" link set eth0 mtu "$MTU"
frags() { lab_frags "${1:-gcs1}"; } # [NODE]: gcs1's fragments, or NODE's
lab_exec gnat nft -f - <<'NFT'
table ip wh_pmtu {
	counter frag_needed { }
	chain out {
		type filter hook output priority filter; policy accept;
		icmp type destination-unreachable icmp code frag-needed counter name frag_needed drop
	}
}
NFT
for n in drone1 gcs1; do lab_client_ini "$n" 203.0.113.10:7400; done
lab_start_in drone1 sink "$TE" server --bind 127.0.0.1:2222 --mode sink
lab_start_in drone1 echo "$TE" server --bind 127.0.0.1:2223 --mode echo
lab_start_in gcs1 backsink "$TE" server --bind 127.0.0.1:2224 --mode sink
lab_wh_server srv
for n in drone1 gcs1; do lab_wh_client "$n"; done
direct() { grep -q "peer drone1: direct path up" "$LAB_DIR/client-gcs1.log"; }
wait_until 20 direct || fail "no direct path"
ready() { lab_exec gcs1 "$TE" copy --to 127.1.0.1:2222 --bytes 1000 --timeout-ms 3000; }
wait_until 10 ready || fail "the copy flow did not come up"
echo "  gcs1's link: MTU $MTU; direct path up"
grep -q "link mtu: $MTU bytes on uplink 0: stream segments of 1204 bytes" "$LAB_DIR/client-gcs1.log" ||
	fail "gcs1 did not size its stream segments for its MTU: $(grep 'link mtu' "$LAB_DIR/client-gcs1.log" || echo 'no line')"
grep -q "peer gcs1: its links take packets of $MTU bytes: stream segments to it of 1204 bytes" \
	"$LAB_DIR/client-drone1.log" || fail "drone1 did not learn gcs1's link MTU"
# status shows both: gcs1's own link, and gcs1's as drone1 knows it.
python3 -c 'import json, sys; g = json.loads(sys.argv[1]); d = json.loads(sys.argv[2])
p = [p for p in d["peers"] if p["peer"] == "gcs1"][0]
assert g["link_mtu"] == 1280 and g["stream_mss"] == 1204, (g["link_mtu"], g["stream_mss"])
assert p["link_mtu"] == 1280 and p["stream_mss"] == 1204, p' "$(lab_status gcs1)" "$(lab_status drone1)" ||
	fail "status does not show the link MTU"
lab_exec gcs1 "$LAB_BIN/wormhole-client" -c "$LAB_DIR/gcs1.ini" status |
	grep -q "^link mtu: $MTU here, .* at the server; stream segments of 1204 bytes" ||
	fail "plain status does not show the link MTU"
f0=$(frags)

lab_exec gcs1 "$TE" copy --to 127.1.0.1:2222 --bytes $((20 * 1048576)) --timeout-ms 30000 \
	>"$LAB_DIR/copy.json" || fail "1. copy: $(cat "$LAB_DIR/copy.json")"
echo "  1. 20 MB intact through MTU $MTU: $(lab_json "$LAB_DIR/copy.json" "j['mbit_s']") Mbit/s"
[ "$(frags)" = "$f0" ] || fail "1. gcs1 sent $(($(frags) - f0)) IP fragments during its copy"
echo "  1. gcs1 sent its copy without one IP fragment (segments of 1204 bytes)"

g0=$(frags gnat)
lab_exec drone1 "$TE" copy --to 127.1.0.1:2224 --bytes $((20 * 1048576)) --timeout-ms 30000 \
	>"$LAB_DIR/back.json" || fail "1. copy back: $(cat "$LAB_DIR/back.json")"
echo "  1. 20 MB intact the other way: $(lab_json "$LAB_DIR/back.json" "j['mbit_s']") Mbit/s"
[ "$(frags gnat)" = "$g0" ] || fail "1. gnat made $(($(frags gnat) - g0)) IP fragments of drone1's copy"
echo "  1. gnat forwarded drone1's copy without one IP fragment (drone1 knew gcs1's MTU)"

lab_exec gcs1 "$TE" echo --to 127.1.0.1:2223 --bytes $((2 * 1048576)) --conns 4 --timeout-ms 30000 \
	>"$LAB_DIR/echo.json" || fail "2. echo: $(cat "$LAB_DIR/echo.json")"
echo "  2. 4 connections echoed 2 MB each: $(cat "$LAB_DIR/echo.json")"

# 3. 200 datagrams of 1400 bytes each way through the UDP flow.
for dir in "gcs1 drone1 5600" "drone1 gcs1 5601"; do
	set -- $dir
	wait_until 10 lab_flow_up "$1" "$2" "$3" || fail "3. UDP flow $1 -> $2 not up"
	lab_stream_start "v-$1" "$1" "$2" "$3" 200 1400
	sleep 1.5
	lab_stream_stop "v-$1"
	got=$(lab_json "$LAB_DIR/v-$1-rx.log" "j['received']")
	sent=$(lab_json "$LAB_DIR/v-$1-tx.log" "j['sent']")
	[ "$sent" -gt 100 ] && [ "$got" -ge $((sent * 95 / 100)) ] ||
		fail "3. $1 -> $2: $got of $sent datagrams of 1400 bytes arrived"
	echo "  3. $1 -> $2: $got of $sent datagrams of 1400 bytes"
done
icmp=$(lab_exec gnat nft list counter ip wh_pmtu frag_needed | awk '$1 == "packets" { print $2 }')
[ "$icmp" = 0 ] || fail "4. gnat refused $icmp packets with DF set (ICMP fragmentation needed)"
echo "  4. gnat fragmented, never refused a packet with DF set"
grep -h "refused a segmented send" "$LAB_DIR"/client-*.log | sed 's/^/     /' | head -2 || true
lab_pass
