#!/usr/bin/env bash
# test_nat64: a drone on an IPv6-only LTE network, which reaches the IPv4
# internet through its carrier's NAT64 and DNS64, comes online with the
# client.ini every drone has (the server by name, no IP setting) and shares
# a flow with a GCS on IPv4.
#
#        srv 203.0.113.10/.11 (wormhole-server)
#                    | internet (IPv4)
#   n64 198.51.100.1: NAT64 (tayga) and     gnat 198.51.100.2
#   port-restricted NAT44                    port-restricted cone
#                    | 2001:db8:64::/64              |
#   drone1 2001:db8:64::2, no IPv4           gcs1 10.0.2.2
#   server = wormhole.test:7400              server = 203.0.113.10:7400
#
# drone1's hosts file answers as a DNS64 server does: wormhole.test has its
# A record, 203.0.113.10, and the synthesized AAAA 2001:db8:ffff::cb00:710a.
#  1. drone1 has no route to 203.0.113.10: it moves its sockets to IPv6 and
#     comes online through the NAT64 (the server sees it at 198.51.100.1).
#     The build before sent to 203.0.113.10 for good.
#  2. The flow carries 300 datagrams each way between drone1 and gcs1 (through
#     the relay: a family of its own on each side).
#  3. natcheck on drone1 resolves the name the same way and classifies the
#     NAT64: behind a NAT, its mapped address the NAT44's.
#  4. The server's REST API shows drone1 mapped at its NAT64's public address.
set -euo pipefail
source "$(dirname "$0")/../../tools/lab/lib.sh"
source "$LAB_ROOT/tools/lab/topo.sh"
lab_init nat64
[ "$(id -u)" = 0 ] || fail "needs root for network namespaces"
[ -x "$LAB_BF" ] || fail "$LAB_BF missing (make build-tests builds it)"

TOKEN=t0k3n-nat64-lab-0001
lab_keys server drone1 gcs1
lab_routes "api = { listen = \"203.0.113.10:7480\"; tokens = [\"$TOKEN\"]; };" drone1 gcs1 \
	>"$LAB_DIR/routes.conf" <<CONF
flows: ( { name = "mav"; proto = "udp"; port = 14550; members = ["drone1", "gcs1"]; } );
CONF
lab_server srv 203.0.113.10 203.0.113.11
lab_nat64 n64 port-restricted-cone 198.51.100.1
lab_host6 drone1 n64 2001:db8:64::2
lab_nat gnat port-restricted-cone 198.51.100.2 10.0.2.0/24
lab_host gcs1 gnat 10.0.2.2
lab_etc drone1 resolv.conf <<<$'nameserver 192.0.2.53\noptions timeout:1 attempts:1'
lab_etc drone1 hosts <<'HOSTS'
127.0.0.1 localhost
203.0.113.10 wormhole.test
2001:db8:ffff::cb00:710a wormhole.test
HOSTS
lab_wh_server srv
lab_client_ini drone1 wormhole.test:7400
lab_client_ini gcs1 203.0.113.10:7400
lab_wh_client drone1
lab_wh_client gcs1
DLOG=$LAB_DIR/client-drone1.log
V6SRV='[2001:db8:ffff::cb00:710a]:7400'

# --- 1. online through the NAT64 --------------------------------------------------
wait_until 10 grep -qF "server: wormhole.test:7400 is reachable at $V6SRV: the client's sockets moved to IPv6" "$DLOG" ||
	fail "1. drone1 did not move to IPv6: $(grep 'server:' "$DLOG" | head -5)"
wait_until 10 eval '[ "$(lab_status_field drone1 "j[\"server\"][\"session\"]")" = up ]' ||
	fail "1. drone1 is not online: $(lab_status drone1 2>&1 | head -c 600)"
a=$(lab_status_field drone1 'j["server"]["address"]')
[ "$a" = "$V6SRV" ] || fail "1. drone1's server address is $a (want $V6SRV)"
wait_until 10 grep -q "client drone1: online addr=198.51.100.1:" "$LAB_DIR/server.log" ||
	fail "1. the server did not see drone1 at 198.51.100.1: $(grep 'drone1' "$LAB_DIR/server.log" | head -3)"
echo "  $(lab_at) 1. drone1 online at $a, through the NAT64 at 198.51.100.1"

# --- 2. a flow with an IPv4 GCS -------------------------------------------------------
wait_until 20 lab_flow_up gcs1 drone1 14550 || fail "2. the flow does not carry a datagram"
lab_both_ways 300 "drone1 drone1 127.0.0.1:14550 127.1.0.1:14550" \
	"gcs1 gcs1 127.0.0.1:14550 127.1.0.1:14550"

# --- 3. natcheck --------------------------------------------------------------------
nc=$(lab_exec drone1 timeout 20 "$LAB_BIN/wormhole-client" -c "$LAB_DIR/drone1.ini" natcheck --json) ||
	fail "3. natcheck failed: $nc"
read -r behind mapped type < <(python3 -c 'import json, sys; j = json.loads(sys.argv[1])
print(j["behind_nat"], j["mapped_address"], j["type"])' "$nc") || fail "3. natcheck's answer: $nc"
[ "$behind" = True ] && [[ $mapped == 198.51.100.1:* ]] ||
	fail "3. natcheck: behind_nat $behind, mapped $mapped (want True, 198.51.100.1:PORT): $nc"
echo "  $(lab_at) 3. natcheck through the NAT64: $type, mapped $mapped"

# --- 4. the REST API ---------------------------------------------------------------
j=$(lab_exec srv curl -sf -H "Authorization: Bearer $TOKEN" http://203.0.113.10:7480/api/v1/clients/drone1) ||
	fail "4. GET /api/v1/clients/drone1 failed"
addr=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["mapped_address"])' "$j") ||
	fail "4. no address in $j"
[[ $addr == 198.51.100.1:* ]] || fail "4. the API shows drone1 at $addr (want 198.51.100.1:PORT)"
echo "  $(lab_at) 4. the API shows drone1 at $addr"
[ "$(lab_stray)" = 0 ] || fail "$(lab_stray) packets tried to leave the documentation ranges (IPv6 on the internet?)"
lab_teardown
lab_pass
