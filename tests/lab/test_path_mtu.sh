#!/usr/bin/env bash
# test_path_mtu: a link in the middle narrower than the wormhole's full-size
# packets, that drops them without a word: gcs1's router (gnat) forwards
# packets of at most 1400 bytes (as a router whose next link is narrower
# and whose ICMP "too big" is filtered, or a middlebox that drops
# fragments). Every larger packet to or from gcs1 vanishes, over the relay
# and the direct path alike, while pings and acks pass; no route MTU tells
# the clients. (The links into gnat segment in software, gso_max_segs 1, as a
# real link does: a veth carries a batch of datagrams sent at once (UDP GSO)
# as one packet, which the length rule would take for one large packet.)
#
#        srv 203.0.113.10/.11 (wormhole-server)
#                    | internet
#     dnat port-restricted 198.51.100.1     gnat port-restricted 198.51.100.2
#                    |                      (drops what is over 1400 bytes)
#             drone1 10.0.1.2                    gcs1 10.0.2.2
#
# 1. Clean path: each client probes each path with a PING padded to a
#    full-size packet; answered ("full" in status), their streams use
#    full-size segments (status stream_mss above the base size).
# 2. The path narrows mid-session. A 3 MB copy each way through TCP flows:
#    the streams time out, the clients probe their paths at once, the probes
#    go unanswered while pings are answered: "packets of N bytes do not get
#    through the direct path", segments of the base size (1280-byte
#    packets), what was in flight resent cut to it; both copies arrive
#    intact. The build before resent its full-size segments until the
#    stream gave up.
# 3. Both clients find the relay narrow too; status shows each path's probe
#    state (relay_mtu_probe, paths[].mtu_probe: "base") and the base size.
# 4. A UDP flow's 1380-byte datagrams are lost on the narrow path (as
#    plain UDP's would be) and the sender warns; 1100-byte ones arrive.
# 5. A reload adds a flow: the server's route sets (28 flows, several
#    packets) reach both clients across the narrow path. The build before
#    packed them into full-size packets, lost there for good.
set -euo pipefail
source "$(dirname "$0")/../../tools/lab/lib.sh"
source "$(dirname "$0")/../../tools/lab/topo.sh"
lab_init path_mtu
TE=$LAB_ROOT/build/release/tests/tcpecho
[ -x "$TE" ] || fail "$TE missing (make build-tests builds it)"
BASE_MSS=1204 # the segment of a 1280-byte IPv4 packet (client/linkmtu.c)

lab_keys server drone1 gcs1
# write_routes [FLOW]: two TCP flows, a video flow, 24 UDP flows with long names (the
# clients' route sets take more than one packet), and FLOW. Saved by rename.
write_routes() {
	{
		lab_routes 'keepalive_s = 5;' drone1 gcs1 </dev/null
		echo 'flows: ('
		echo '  { name = "copy"; proto = "tcp"; port = 2222; from = ["gcs1"]; to = ["drone1"]; },'
		echo '  { name = "back"; proto = "tcp"; port = 2224; from = ["drone1"]; to = ["gcs1"]; },'
		echo '  { name = "video"; proto = "udp"; port = 5600; from = ["drone1"]; to = ["gcs1"]; }'
		for i in $(seq 10 33); do
			echo ", { name = \"telemetry-with-a-long-name-$i\"; proto = \"udp\"; port = $((6000 + i));"
			echo '    members = ["drone1", "gcs1"]; }'
		done
		echo "${1:+, $1}"
		echo ');'
	} >"$LAB_DIR/routes.conf.new"
	mv "$LAB_DIR/routes.conf.new" "$LAB_DIR/routes.conf"
}
write_routes
lab_two_sites
for n in drone1 gcs1; do lab_client_ini "$n" 203.0.113.10:7400; done
lab_start_in drone1 sink "$TE" server --bind 127.0.0.1:2222 --mode sink
lab_start_in gcs1 backsink "$TE" server --bind 127.0.0.1:2224 --mode sink
lab_wh_server srv
for n in drone1 gcs1; do lab_wh_client "$n"; done
direct() { grep -q "peer drone1: direct path up" "$LAB_DIR/client-gcs1.log"; }
wait_until 20 direct || fail "no direct path"
ready() { lab_exec gcs1 "$TE" copy --to 127.1.0.1:2222 --bytes 1000 --timeout-ms 3000; }
wait_until 10 ready || fail "the copy flow did not come up"

# peer NODE PEER EXPR: EXPR of NODE's status entry p for PEER (python).
peer() {
	python3 -c 'import json, sys
p = [p for p in json.loads(sys.argv[1])["peers"] if p["peer"] == sys.argv[2]][0]
print(eval(sys.argv[3]))' "$(lab_status "$1")" "$2" "$3"
}
mss() { peer "$1" "$2" 'p["stream_mss"]'; }
# probes NODE PEER: the relay's probe state and each direct path's.
probes() { peer "$1" "$2" '" ".join([p["relay_mtu_probe"]] + [str(q["mtu_probe"]) for q in p["paths"]])'; }
full_seg() { [ "$(mss gcs1 drone1)" -gt $BASE_MSS ] && [ "$(mss drone1 gcs1)" -gt $BASE_MSS ]; }
wait_until 5 full_seg || fail "1. full-size probes unanswered on a clean path (stream_mss $(mss gcs1 drone1) / $(mss drone1 gcs1))"
[ "$(probes gcs1 drone1)" = "full full" ] && [ "$(probes drone1 gcs1)" = "full full" ] ||
	fail "1. status: probes $(probes gcs1 drone1) / $(probes drone1 gcs1), not full"
echo "  1. clean path: full-size probes answered (relay, direct path), segments of $(mss gcs1 drone1) bytes"

ip -n "$(lab_ns gcs1)" link set dev eth0 gso_max_segs 1
ip -n "$(lab_ns gnat)" link set dev wan gso_max_segs 1
ip -n "$(lab_ns gnat)" link set dev h-gcs1 gso_max_segs 1
ip -n "$(lab_ns inet)" link set dev p-gnat gso_max_segs 1
lab_exec gnat nft -f - <<'NFT'
table inet wh_narrow {
	counter dropped { }
	chain forward {
		type filter hook forward priority filter; policy accept;
		meta length > 1400 counter name dropped drop
	}
}
NFT
echo "  2. the path narrows: gnat drops what is over 1400 bytes"
lab_exec gcs1 "$TE" copy --to 127.1.0.1:2222 --bytes $((3 * 1048576)) --timeout-ms 30000 \
	>"$LAB_DIR/copy.json" || fail "2. copy: $(cat "$LAB_DIR/copy.json")"
echo "  2. 3 MB gcs1 -> drone1 intact: $(lab_json "$LAB_DIR/copy.json" "j['ms']") ms"
lab_exec drone1 "$TE" copy --to 127.1.0.1:2224 --bytes $((3 * 1048576)) --timeout-ms 30000 \
	>"$LAB_DIR/back.json" || fail "2. copy back: $(cat "$LAB_DIR/back.json")"
echo "  2. 3 MB drone1 -> gcs1 intact: $(lab_json "$LAB_DIR/back.json" "j['ms']") ms"
for n in "gcs1 drone1" "drone1 gcs1"; do
	set -- $n
	grep -q "peer $2: packets of [0-9]* bytes do not get through the direct path" \
		"$LAB_DIR/client-$1.log" || fail "2. $1 did not find the direct path narrow"
done
grep -h "do not get through the direct path" "$LAB_DIR"/client-*.log | head -1 | sed 's/^/     /'
dropped=$(lab_exec gnat nft list counter inet wh_narrow dropped | awk '$1 == "packets" { print $2 }')
[ "$dropped" -gt 0 ] || fail "2. gnat dropped nothing: the path was not narrow"
echo "  2. gnat dropped $dropped full-size packets"

relay_narrow() {
	grep -q "peer drone1: packets of [0-9]* bytes do not get through the relay" "$LAB_DIR/client-gcs1.log" &&
		grep -q "peer gcs1: packets of [0-9]* bytes do not get through the relay" "$LAB_DIR/client-drone1.log"
}
wait_until 10 relay_narrow || fail "3. the relay's narrow link went unnoticed"
[ "$(mss gcs1 drone1)" = $BASE_MSS ] && [ "$(mss drone1 gcs1)" = $BASE_MSS ] ||
	fail "3. status: stream_mss $(mss gcs1 drone1) / $(mss drone1 gcs1), not $BASE_MSS"
[ "$(probes gcs1 drone1)" = "base base" ] && [ "$(probes drone1 gcs1)" = "base base" ] ||
	fail "3. status: probes $(probes gcs1 drone1) / $(probes drone1 gcs1), not base"
plain=$(lab_exec gcs1 "$LAB_BIN/wormhole-client" -c "$LAB_DIR/gcs1.ini" status)
grep -q "full-size packets do not get through the relay" <<<"$plain" &&
	grep -q "full-size packets do not get through the direct path uplink 0 -> 0" <<<"$plain" ||
	fail "3. plain status does not say which paths are narrow: $plain"
echo "  3. the relay found narrow too; status: probes base, segments of $BASE_MSS bytes both ways"

# 4. An app's datagrams too large for the narrow path are lost there, as
#    plain UDP's would be, and the sender says so; smaller ones arrive.
for size in 1380 1100; do
	lab_stream_start "v$size" drone1 gcs1 5600 100 "$size"
	sleep 1
	lab_stream_stop "v$size"
	eval "got$size=\$(lab_json \"\$LAB_DIR/v$size-rx.log\" \"j['received']\")"
	eval "sent$size=\$(lab_json \"\$LAB_DIR/v$size-tx.log\" \"j['sent']\")"
done
# shellcheck disable=SC2154 # set by eval above
{ [ "$got1380" = 0 ] && [ "$sent1100" -gt 50 ] && [ "$got1100" -ge $((sent1100 * 95 / 100)) ]; } ||
	fail "4. datagrams: $got1380 of $sent1380 of 1380 bytes, $got1100 of $sent1100 of 1100 arrived"
grep -q "flow video: datagrams of 1380 bytes to gcs1 may be lost: its path drops full-size" \
	"$LAB_DIR/client-drone1.log" || fail "4. drone1 did not warn of its 1380-byte datagrams"
echo "  4. video datagrams: 0 of $sent1380 of 1380 bytes (drone1 warns), $got1100 of $sent1100 of 1100 bytes"

# 5. A reload adds a flow: both clients' new route sets (27 flows and more)
#    cross the narrow path whole (route set packets fit 1280 bytes).
write_routes '  { name = "late"; proto = "udp"; port = 7000; from = ["gcs1"]; to = ["drone1"]; }'
has_late() {
	python3 -c 'import json, sys
assert "late" in [f["name"] for f in json.loads(sys.argv[1])["flows"]]' "$(lab_status "$1")" 2>/dev/null
}
wait_until 10 has_late gcs1 || fail "5. gcs1 never got the route set with flow late"
wait_until 5 has_late drone1 || fail "5. drone1 never got the route set with flow late"
echo "  5. a reload's route sets (28 flows) reached both clients across the narrow path"
lab_pass
