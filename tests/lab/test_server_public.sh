#!/usr/bin/env bash
# test_server_public: a server host behind a cloud provider's 1:1 NAT (AWS
# Elastic IP, GCP or Azure external IP), which has only private addresses
# and is reached at public ones: routes.conf lists the private addresses in
# `listen` and the public ones in `public`.
#
#     cloud: 203.0.113.10 <-> 10.99.0.10, 203.0.113.11 <-> 10.99.0.11 (1:1)
#        srv listens on 10.99.0.10 and .11 (ports 7400, alt 7401)
#                    | internet
#     dnat symmetric 198.51.100.1          gnat port-restricted 198.51.100.2
#                    |                                 |
#             drone1 10.0.1.2                    gcs1 10.0.2.2
#     fnat full-cone 198.51.100.3 - fc1 10.0.3.2 (natcheck only)
#
#  1. The server logs each socket with its public address.
#  2. STUN tells the clients the public alternate address (OTHER-ADDRESS):
#     `natcheck` runs all of RFC 5780's tests against it (alternate_answered)
#     and finds each NAT's class and mapping: symmetric (address-and-port-
#     dependent) for drone1, port-restricted cone (endpoint-independent) for
#     gcs1, full cone for fc1. With the private addresses in OTHER-ADDRESS
#     (no `public`), the clients sent their alternate-address tests to
#     10.99.0.11, which no one reaches from outside (on a real network those
#     datagrams leave for whatever that private address is locally): the
#     alternate never answered, the cones' mapping came out "unknown" and
#     the full cone was taken for a restricted cone. coturn's RFC 5780 client
#     (turnutils_natdiscovery) on fc1 agrees: endpoint-independent mapping
#     and filtering.
#  3. The cone/symmetric pair punches with the spray and goes direct; the
#     flow carries datagrams both ways.
#  4. Nothing left the documentation ranges (the lab's guard counted no
#     stray packet).
#  5. A second server on this two-address host with a wildcard listen
#     address (0.0.0.0:7500) warns that its replies may leave from the other
#     address than a client sent to.
set -euo pipefail
source "$(dirname "$0")/../../tools/lab/lib.sh"
source "$LAB_ROOT/tools/lab/topo.sh"
lab_init server_public
[ "$(id -u)" = 0 ] || fail "needs root for network namespaces"
[ -x "$LAB_BF" ] || fail "$LAB_BF missing (make build-tests builds it)"
NATDISC=$LAB_ROOT/build/coturn/usr/bin/turnutils_natdiscovery
[ -x "$NATDISC" ] || fail "$NATDISC missing (make deps unpacks it from coturn)"

lab_keys server drone1 gcs1 fc1
cat >"$LAB_DIR/routes.conf" <<CONF
server: { listen = ["10.99.0.10:7400", "10.99.0.11:7400"];
          public = ["203.0.113.10", "203.0.113.11"];
          alt_port = 7401; key_file = "server.key"; };
clients: { drone1 = { key = "$(lab_pub drone1)"; }; gcs1 = { key = "$(lab_pub gcs1)"; }; };
flows: ( { name = "mav"; proto = "udp"; port = 14550; members = ["drone1", "gcs1"]; } );
CONF
lab_cloud_server srv 203.0.113.10=10.99.0.10 203.0.113.11=10.99.0.11
lab_nat dnat symmetric 198.51.100.1 10.0.1.0/24
lab_host drone1 dnat 10.0.1.2
lab_nat gnat port-restricted-cone 198.51.100.2 10.0.2.0/24
lab_host gcs1 gnat 10.0.2.2
lab_nat fnat full-cone 198.51.100.3 10.0.3.0/24
lab_host fc1 fnat 10.0.3.2
lab_wh_server srv
lab_client_ini drone1 203.0.113.10:7400
lab_client_ini gcs1 203.0.113.10:7400
lab_client_ini fc1 203.0.113.10:7400

# --- 1. the sockets and their public addresses -----------------------------------
for s in "10.99.0.10:7400 (public 203.0.113.10:7400)" "10.99.0.11:7401 (public 203.0.113.11:7401) (alt port)"; do
	grep -qF "listener: udp $s" "$LAB_DIR/server.log" || fail "the server did not log \"listener: udp $s\""
done
echo "  $(lab_at) server on 10.99.0.10/.11, public 203.0.113.10/.11"

# --- 2. natcheck through the cloud NAT --------------------------------------------
natcheck() { # NODE -> "type mapping alternate_answered"
	lab_exec "$1" timeout 20 "$LAB_BIN/wormhole-client" -c "$LAB_DIR/$1.ini" natcheck --json |
		python3 -c 'import json, sys; j = json.load(sys.stdin)
print(j["type"], j["mapping"], j["alternate_answered"])'
}
got=$(natcheck drone1) || fail "natcheck failed on drone1"
[ "$got" = "symmetric address-and-port-dependent True" ] ||
	fail "drone1 natcheck: \"$got\" (want \"symmetric address-and-port-dependent True\")"
echo "  $(lab_at) drone1: $got"
got=$(natcheck gcs1) || fail "natcheck failed on gcs1"
[ "$got" = "port-restricted-cone endpoint-independent True" ] ||
	fail "gcs1 natcheck: \"$got\" (want \"port-restricted-cone endpoint-independent True\")"
echo "  $(lab_at) gcs1: $got"
got=$(natcheck fc1) || fail "natcheck failed on fc1"
[ "$got" = "full-cone endpoint-independent True" ] ||
	fail "fc1 natcheck: \"$got\" (want \"full-cone endpoint-independent True\")"
echo "  $(lab_at) fc1: $got"
out=$(lab_exec fc1 timeout 20 "$NATDISC" -m -f -p 7400 203.0.113.10 2>&1 | grep -E '(Mapping|Filtering)!|error' || true)
for want in "NAT with Endpoint Independent Mapping!" "NAT with Endpoint Independent Filtering!"; do
	grep -q "$want" <<<"$out" || fail "turnutils_natdiscovery on fc1 says '$(tr '\n' ' ' <<<"$out")', want '$want'"
done
echo "  $(lab_at) turnutils_natdiscovery on fc1: $(tr '\n' ' ' <<<"$out")"

# --- 3. the cone/symmetric pair punches with the spray ----------------------------
lab_wh_client drone1
lab_wh_client gcs1
direct() { grep -q "path drone1 -> gcs1: direct via .* strategy=spray\|path gcs1 -> drone1: direct via .* strategy=spray" "$LAB_DIR/server.log"; }
wait_until 30 direct || fail "no direct path by the spray: $(grep 'punch\|path ' "$LAB_DIR/server.log" | tail -3)"
echo "  $(lab_at) direct path by the spray: $(grep -o 'path [a-z0-9]* -> [a-z0-9]*: direct via [^ ]*' "$LAB_DIR/server.log" | head -1)"
wait_until 10 lab_flow_up drone1 gcs1 14550 || fail "no datagram drone1 -> gcs1"
wait_until 10 lab_flow_up gcs1 drone1 14550 || fail "no datagram gcs1 -> drone1"
echo "  $(lab_at) the flow carries datagrams both ways"

# --- 4. nothing strayed ------------------------------------------------------------
[ "$(lab_stray)" = 0 ] || fail "$(lab_stray) packets tried to leave the documentation ranges"
echo "  $(lab_at) no stray packet"

# --- 5. a wildcard listen address on a two-address host ---------------------------
sed -e 's/listen = \["10.99.0.10:7400", "10.99.0.11:7400"\];/listen = "0.0.0.0:7500";/' \
	-e '/public = /d' -e 's/alt_port = 7401;/alt_port = 7501; relay_a = "4000-4099"; relay_b = "5000-5099";/' \
	"$LAB_DIR/routes.conf" >"$LAB_DIR/wild.conf"
lab_start_in srv wild "$LAB_BIN/wormhole-server" -c "$LAB_DIR/wild.conf"
wait_until 5 grep -q "server: running" "$LAB_DIR/wild.log" || fail "5. the wildcard server did not start: $(tail -2 "$LAB_DIR/wild.log")"
grep -q "listener: 0.0.0.0:7500 is a wildcard on a host with 2 addresses" "$LAB_DIR/wild.log" ||
	fail "5. no warning about the wildcard listen address: $(grep listener "$LAB_DIR/wild.log")"
echo "  $(lab_at) a wildcard listen address on this host is warned about"
lab_teardown
lab_pass
