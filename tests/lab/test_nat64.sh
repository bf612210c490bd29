#!/usr/bin/env bash
# test_nat64: drones on an IPv6-only LTE network, which reaches the IPv4
# internet through its carrier's NAT64 and DNS64, come online with the
# client.ini every drone has (the server by name, no IP setting) and share
# flows with a GCS on IPv4 and with one behind another carrier's NAT64:
# directly when the network's NAT64 prefix is known (RFC 7050), through the
# relay when it is not.
#
#        srv 203.0.113.10/.11 (wormhole-server)
#                    | internet (IPv4)
#   n64 198.51.100.1: NAT64 (tayga) and     gnat 198.51.100.2
#   port-restricted NAT44                    port-restricted cone
#                    | 2001:db8:64::/64              |
#   drone1 2001:db8:64::2, drone2 ::3        gcs1 10.0.2.2
#   (no IPv4; server = wormhole.test:7400)   server = 203.0.113.10:7400
#
#   n64b 198.51.100.3: another carrier's NAT64 (the same inside), gcs6
#   2001:db8:64::2 behind it, IPv6-only too, server = wormhole.test:7400
#
# The IPv6-only hosts' files answer as a DNS64 server does: wormhole.test has
# its A record, 203.0.113.10, and the synthesized AAAA
# 2001:db8:ffff::cb00:710a; drone1's and gcs6's also have the synthesized
# AAAA of ipv4only.arpa (2001:db8:ffff::c000:aa), drone2's and drone3's have
# not (a DNS server that does not answer for it).
#  1. No drone has a route to 203.0.113.10: each moves its sockets to
#     IPv6 and comes online through the NAT64 (the server sees it at
#     198.51.100.1). The build before sent to 203.0.113.10 for good.
#     drone3 (2001:db8:64::4) has a second interface, eth1, on a LAN with an
#     IPv4 default route that leads nowhere (a radio or flight controller
#     LAN that hands one out), and names eth0 as its uplink: the route check
#     goes through eth0, which has no IPv4, so drone3 too goes IPv6 and comes
#     online (with the host's routes alone it would take IPv4, via eth1).
#  2. drone1 finds the prefix 2001:db8:ffff::/96 and punches to gcs1 at its
#     address embedded in it: a direct path (through the NAT64 both ways);
#     drone2 and gcs1 stay on the relay. drone1 and gcs6 each reach the
#     other's public IPv4 address through their own NAT64: direct too.
#     drone1's status shows the prefix (nat.nat64_prefix), drone2's null.
#  3. Each flow carries 300 datagrams each way (drone1-gcs1 and drone1-gcs6
#     direct, drone2-gcs1 relayed), and TCP flows between drone1 and gcs1
#     copy 8 MB each way intact on their direct path.
#  4. natcheck on drone1 resolves the name the same way and classifies the
#     NAT64 in full through the prefix (the server's other address reached
#     embedded in it): port-restricted cone, endpoint-independent mapping,
#     its mapped address the NAT44's, the prefix shown (JSON and text);
#     drone1's own classification says so too.
#  5. The server's REST API shows drone1 mapped at its NAT64's public address.
set -euo pipefail
source "$(dirname "$0")/../../tools/lab/lib.sh"
source "$LAB_ROOT/tools/lab/topo.sh"
lab_init nat64
[ "$(id -u)" = 0 ] || fail "needs root for network namespaces"
[ -x "$LAB_BF" ] || fail "$LAB_BF missing (make build-tests builds it)"

TOKEN=t0k3n-nat64-lab-0001
lab_keys server drone1 drone2 drone3 gcs1 gcs6
lab_routes "api = { listen = \"203.0.113.10:7480\"; tokens = [\"$TOKEN\"]; };" drone1 drone2 drone3 gcs1 gcs6 \
	>"$LAB_DIR/routes.conf" <<CONF
flows: ( { name = "mav1"; proto = "udp"; port = 14550; members = ["drone1", "gcs1"]; },
         { name = "mav2"; proto = "udp"; port = 14552; members = ["drone2", "gcs1"]; },
         { name = "mav3"; proto = "udp"; port = 14554; members = ["drone1", "gcs6"]; },
         { name = "up"; proto = "tcp"; port = 2222; from = ["gcs1"]; to = ["drone1"]; },
         { name = "down"; proto = "tcp"; port = 2223; from = ["drone1"]; to = ["gcs1"]; } );
CONF
lab_server srv 203.0.113.10 203.0.113.11
lab_nat64 n64 port-restricted-cone 198.51.100.1
lab_host6 drone1 n64 2001:db8:64::2
lab_host6 drone2 n64 2001:db8:64::3
lab_host6 drone3 n64 2001:db8:64::4
# drone3's eth1: a LAN with an IPv4 default route to nobody (nothing leaves
# the namespace: eth1's peer is in it too, unaddressed).
D3=$(lab_ns drone3)
ip -n "$D3" link add eth1 type veth peer name eth1p
ip -n "$D3" addr add 192.168.144.20/24 dev eth1
ip -n "$D3" link set eth1 up
ip -n "$D3" link set eth1p up
ip -n "$D3" route add default via 192.168.144.1 dev eth1
lab_nat gnat port-restricted-cone 198.51.100.2 10.0.2.0/24
lab_host gcs1 gnat 10.0.2.2
lab_nat64 n64b port-restricted-cone 198.51.100.3
lab_host6 gcs6 n64b 2001:db8:64::2
HOSTS='127.0.0.1 localhost
203.0.113.10 wormhole.test
2001:db8:ffff::cb00:710a wormhole.test'
for d in drone1 drone2 drone3 gcs6; do
	lab_etc $d resolv.conf <<<$'nameserver 192.0.2.53\noptions timeout:1 attempts:1'
done
lab_client_ini drone1 wormhole.test:7400
lab_client_ini drone2 wormhole.test:7400
lab_client_ini drone3 wormhole.test:7400 $'[uplink lte]\ninterface = eth0'
lab_client_ini gcs6 wormhole.test:7400
lab_etc drone1 hosts <<<"$HOSTS"$'\n2001:db8:ffff::c000:aa ipv4only.arpa'
lab_etc drone2 hosts <<<"$HOSTS"
lab_etc drone3 hosts <<<"$HOSTS"
lab_etc gcs6 hosts <<<"$HOSTS"$'\n2001:db8:ffff::c000:aa ipv4only.arpa'
lab_client_ini gcs1 203.0.113.10:7400
lab_wh_server srv
TE=$LAB_ROOT/build/release/tests/tcpecho
lab_start_in drone1 sink-up "$TE" server --bind 127.0.0.1:2222 --mode sink
lab_start_in gcs1 sink-down "$TE" server --bind 127.0.0.1:2223 --mode sink
for n in drone1 drone2 drone3 gcs1 gcs6; do lab_wh_client $n; done
V6SRV='[2001:db8:ffff::cb00:710a]:7400'

# --- 1. online through the NAT64 --------------------------------------------------
for d in drone1 drone2 drone3; do
	wait_until 10 grep -qF "server: wormhole.test:7400 is reachable at $V6SRV: the client's sockets moved to IPv6" \
		"$LAB_DIR/client-$d.log" ||
		fail "1. $d did not move to IPv6: $(grep 'server:' "$LAB_DIR/client-$d.log" | head -5)"
	wait_until 10 eval '[ "$(lab_status_field $d "j[\"server\"][\"session\"]")" = up ]' ||
		fail "1. $d is not online: $(lab_status $d 2>&1 | head -c 600)"
	a=$(lab_status_field $d 'j["server"]["address"]')
	[ "$a" = "$V6SRV" ] || fail "1. $d's server address is $a (want $V6SRV)"
	wait_until 10 grep -q "client $d: online addr=198.51.100.1:" "$LAB_DIR/server.log" ||
		fail "1. the server did not see $d at 198.51.100.1: $(grep "$d" "$LAB_DIR/server.log" | head -3)"
	echo "  $(lab_at) 1. $d online at $a, through the NAT64 at 198.51.100.1"
done

# --- 2. direct with the prefix, relayed without ---------------------------------------
grep -q "nat64: this network's NAT64 prefix is 2001:db8:ffff::/96 (from ipv4only.arpa)" \
	"$LAB_DIR/client-drone1.log" || fail "2. drone1 did not find the NAT64 prefix"
! grep -q "nat64:" "$LAB_DIR/client-drone2.log" || fail "2. drone2 found a NAT64 prefix"
wait_until 15 grep -q "path drone1 -> gcs1: direct via \[2001:db8:ffff::c633:6402\]:" "$LAB_DIR/server.log" ||
	fail "2. no direct path drone1 -> gcs1 through the NAT64: $(grep 'path' "$LAB_DIR/server.log" | head -4)"
wait_until 5 grep -q "path gcs1 -> drone1: direct via 198.51.100.1:" "$LAB_DIR/server.log" ||
	fail "2. no direct path gcs1 -> drone1"
echo "  $(lab_at) 2. drone1 <-> gcs1 direct through the NAT64 ($(grep -o 'peer gcs1: direct path up.*' \
	"$LAB_DIR/client-drone1.log" | head -1))"
wait_until 15 grep -q "path drone1 -> gcs6: direct via \[2001:db8:ffff::c633:6403\]:" "$LAB_DIR/server.log" ||
	fail "2. no direct path drone1 -> gcs6: $(grep 'path.*gcs6' "$LAB_DIR/server.log" | head -4)"
wait_until 5 grep -q "path gcs6 -> drone1: direct via \[2001:db8:ffff::c633:6401\]:" "$LAB_DIR/server.log" ||
	fail "2. no direct path gcs6 -> drone1: $(grep 'path.*gcs6' "$LAB_DIR/server.log" | head -4)"
echo "  $(lab_at) 2. drone1 <-> gcs6 direct through both NAT64s"
p=$(lab_status_field drone1 'j["nat"]["nat64_prefix"]')
[ "$p" = 2001:db8:ffff::/96 ] || fail "2. drone1's status: nat64_prefix $p"
p=$(lab_status_field drone2 'j["nat"]["nat64_prefix"]')
[ "$p" = None ] || fail "2. drone2's status: nat64_prefix $p (want null)"
lab_exec drone1 "$LAB_BIN/wormhole-client" -c "$LAB_DIR/drone1.ini" status |
	grep -q "^nat: .*, through the NAT64 prefix 2001:db8:ffff::/96$" ||
	fail "2. drone1's text status does not show the prefix"

# --- 3. the flows ---------------------------------------------------------------------
wait_until 20 lab_flow_up gcs1 drone2 14552 || fail "3. the relayed flow does not carry a datagram"
# Six apps at once, two per flow (drone1 and gcs1 have one per flow port).
lab_both_ways 300 "drone1 drone1-mav1 127.0.0.1:14550 127.1.0.1:14550" \
	"gcs1 gcs1-mav1 127.0.0.1:14550 127.1.0.1:14550" \
	"drone2 drone2 127.0.0.1:14552 127.1.0.1:14552" \
	"gcs1 gcs1-mav2 127.0.0.1:14552 127.1.0.1:14552" \
	"drone1 drone1-mav3 127.0.0.1:14554 127.1.0.1:14554" \
	"gcs6 gcs6 127.0.0.1:14554 127.1.0.1:14554"
! grep -q "path drone2 -> gcs1: direct" "$LAB_DIR/server.log" || fail "3. drone2 went direct without the prefix"
# TCP flows on the direct path: a datagram that fits an IPv4 link of 1500
# bytes is 20 bytes longer as IPv6 on the drone's side, and still fits it.
copy() { # FROM PORT
	local out
	out=$(lab_exec "$1" "$TE" copy --to "127.1.0.1:$2" --bytes 8388608 --timeout-ms 30000) ||
		fail "3. TCP copy from $1 through port $2 failed: $out"
	echo "  $(lab_at) 3. 8 MB by TCP from $1, intact: $(python3 -c 'import json, sys
print(json.loads(sys.argv[1].splitlines()[-1])["mbit_s"])' "$out") Mbit/s"
}
wait_until 10 lab_exec gcs1 "$TE" copy --to 127.1.0.1:2222 --bytes 1000 --timeout-ms 3000 ||
	fail "3. the TCP flow up never came up"
copy gcs1 2222
copy drone1 2223

# --- 4. natcheck --------------------------------------------------------------------
nc=$(lab_exec drone1 timeout 20 "$LAB_BIN/wormhole-client" -c "$LAB_DIR/drone1.ini" natcheck --json) ||
	fail "4. natcheck failed: $nc"
read -r behind mapped type mapping filtering pref < <(python3 -c 'import json, sys; j = json.loads(sys.argv[1])
print(j["behind_nat"], j["mapped_address"], j["type"], j["mapping"], j["filtering"], j["nat64_prefix"])' "$nc") ||
	fail "4. natcheck's answer: $nc"
[ "$pref" = 2001:db8:ffff::/96 ] || fail "4. natcheck's nat64_prefix: $pref (want 2001:db8:ffff::/96)"
lab_exec drone1 timeout 20 "$LAB_BIN/wormhole-client" -c "$LAB_DIR/drone1.ini" natcheck |
	grep -qx 'NAT64 prefix:    2001:db8:ffff::/96' || fail "4. natcheck's text does not show the prefix"
[ "$behind" = True ] && [[ $mapped == 198.51.100.1:* ]] ||
	fail "4. natcheck: behind_nat $behind, mapped $mapped (want True, 198.51.100.1:PORT): $nc"
# The server's other address and port, which it names in IPv4, are reached
# through the prefix: the whole of RFC 5780 runs through the NAT64.
[ "$type $mapping $filtering" = "port-restricted-cone endpoint-independent address-and-port-dependent" ] ||
	fail "4. natcheck through the NAT64: $type, mapping $mapping, filtering $filtering: $nc"
grep -q "nat: port-restricted-cone mapping=endpoint-independent filtering=address-and-port-dependent" \
	"$LAB_DIR/client-drone1.log" || fail "4. drone1 did not classify its NAT64 in full"
echo "  $(lab_at) 4. natcheck through the NAT64: $type, mapping $mapping, filtering $filtering, mapped $mapped"

# --- 5. the REST API ---------------------------------------------------------------
j=$(lab_exec srv curl -sf -H "Authorization: Bearer $TOKEN" http://203.0.113.10:7480/api/v1/clients/drone1) ||
	fail "5. GET /api/v1/clients/drone1 failed"
addr=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["mapped_address"])' "$j") ||
	fail "5. no mapped address in $j"
[[ $addr == 198.51.100.1:* ]] || fail "5. the API shows drone1 at $addr (want 198.51.100.1:PORT)"
echo "  $(lab_at) 5. the API shows drone1 at $addr"
[ "$(lab_stray)" = 0 ] || fail "$(lab_stray) packets tried to leave the documentation ranges (IPv6 on the internet?)"
lab_teardown
lab_pass
