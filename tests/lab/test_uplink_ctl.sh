#!/usr/bin/env bash
# test_uplink_ctl: the server session and the relay move between a client's
# uplinks (issue #10: a drone whose first modem is down still works, and one
# modem dropping never takes the control plane with it).
#
# Topology as test_multipath: srv (203.0.113.10/.11); drone with lte1 (eth0,
# uplink 0) behind nata and lte2 (eth1, uplink 1) behind natb; gcs behind gnat.
# One redundant flow drone -> gcs, a 100/s stream all along.
#  1. lte1 is cut before the drone starts: the drone's session comes up on
#     lte2 (status server.uplink 1; the server logs the session on uplink 1),
#     and it gets a direct path to gcs from lte2.
#  2. lte1 healed: it registers as a second uplink (status: mapped on nata)
#     and gets its own direct path, without a restart; the server's API
#     lists both uplinks and both direct uplink pairs. Once lte1 has
#     answered three STUN probes in a row (keepalive 5 s), the session moves
#     back to it, the uplink listed first.
#  3. lte1 (carrying the session again) cut: the session moves to lte2
#     (server.uplink 1) within 12 s, the stream goes on over lte2.
#  4. The stream lost nothing and the app saw no duplicate.
set -euo pipefail
source "$(dirname "$0")/../../tools/lab/lib.sh"
source "$LAB_ROOT/tools/lab/topo.sh"
lab_init uplink_ctl
[ "$(id -u)" = 0 ] || fail "needs root for network namespaces"
[ -x "$LAB_BF" ] || fail "$LAB_BF missing (make build-tests builds it)"

lab_keys server drone gcs
lab_routes 'keepalive_s = 5;
          api = { listen = "127.0.0.1:7480"; tokens = ["uplink-ctl-test-token-0123"]; };' drone gcs >"$LAB_DIR/routes.conf" <<CONF
flows: (
  { name = "red"; proto = "udp"; port = 14550; from = ["drone"]; to = ["gcs"];
    multipath = "redundant"; }
);
CONF

lab_server srv 203.0.113.10 203.0.113.11
lab_nat nata port-restricted-cone 198.51.100.1 10.0.2.0/24
lab_nat natb restricted-cone 198.51.100.2 10.0.3.0/24
lab_nat gnat port-restricted-cone 198.51.100.3 10.0.1.0/24
lab_host drone nata 10.0.2.2
lab_uplink drone natb 10.0.3.2
lab_host gcs gnat 10.0.1.2

session_on() { [ "$(lab_status_field drone 'j["server"]["session"], j["server"]["uplink"]')" = "('up', $1)" ]; }
path_up() { # UPLINK: the drone has a direct path to gcs from that uplink
	[ "$(lab_status_field drone '[x["state"] for p in j["peers"] if p["peer"] == "gcs" for x in p["paths"] if x["uplink"] == '"$1"']')" = "['up']" ]
}
# api_uplinks: the drone's uplinks in the server's API, "ID@NAT_PUBLIC_IP" in
# id order, and its uplink pairs to gcs that are direct ("U/PU").
api_uplinks() {
	lab_exec srv curl -s -H "Authorization: Bearer uplink-ctl-test-token-0123" \
		"http://127.0.0.1:7480/api/v1/clients/drone" | python3 -c '
import json, sys
j = json.load(sys.stdin)
ups = sorted(j["uplinks"], key=lambda u: u["id"])
print(" ".join("%d@%s" % (u["id"], (u["address"] or "-").split(":")[0]) for u in ups), end=" ")
print(" ".join(sorted("%d/%d" % (x["uplink"], x["peer_uplink"]) for p in j["paths"]
                      if p["peer"] == "gcs" for x in p["paths"] if x["kind"] == "direct")))' 2>/dev/null || true
}
mapped_on() { # UPLINK NAT
	[[ "$(lab_status_field drone '[u["mapped"] for u in j["uplinks"] if u["id"] == '"$1"'][0]')" == "$(lab_nat_public "$2")":* ]]
}

lab_cut drone eth0
lab_wh_server srv
lab_client_ini drone 203.0.113.10:7400 "[uplink lte1]
source = 10.0.2.2
[uplink lte2]
source = 10.0.3.2"
lab_client_ini gcs 203.0.113.10:7400
lab_wh_client gcs
lab_wh_client drone

# --- 1. the first uplink is down from the start ---------------------------------
wait_until 15 session_on 1 || fail "step 1: the drone's session did not come up on lte2 (status: $(lab_status_field drone 'j["server"]'))"
grep -q "server: no answer on uplink lte1, trying uplink lte2" "$LAB_DIR/client-drone.log" ||
	fail "step 1: the drone did not log its move to lte2"
grep -q "client drone: session on uplink 1 (lte2) now" "$LAB_DIR/server.log" ||
	fail "step 1: the server did not log the drone's session on uplink 1"
echo "  $(lab_at) lte1 down at start: session on lte2"
wait_until 20 path_up 1 || fail "step 1: no direct path to gcs from lte2"
wait_until 10 lab_flow_up drone gcs 14550 || fail "step 1: the flow does not carry a datagram"
echo "  $(lab_at) direct path from lte2, flow up"
lab_stream_start red drone gcs 14550 100 200

# --- 2. lte1 comes back: a second uplink, its own path -----------------------------
lab_heal drone eth0
t=$(date +%s%3N)
wait_until 20 mapped_on 0 nata || fail "step 2: lte1 not registered via nata after healing"
wait_until 30 path_up 0 || fail "step 2: lte1 got no direct path after healing"
echo "  $(lab_at) lte1 healed: registered and direct after $(($(date +%s%3N) - t)) ms"
wait_until 40 session_on 0 || fail "step 2: the session did not return to lte1 (status: $(lab_status_field drone 'j["server"]'))"
grep -q "server: uplink lte1 answers again (3 probes in a row), moving the session back from uplink lte2" \
	"$LAB_DIR/client-drone.log" || fail "step 2: the drone did not log its return to lte1"
echo "  $(lab_at) session back on lte1 $(($(date +%s%3N) - t)) ms after the heal"
api_both() { [ "$(api_uplinks)" = "0@198.51.100.1 1@198.51.100.2 0/0 1/0" ]; }
wait_until 10 api_both || fail "step 2: the server API shows the drone's uplinks and direct pairs as \"$(api_uplinks)\", want \"0@198.51.100.1 1@198.51.100.2 0/0 1/0\""
echo "  $(lab_at) server API: uplinks and direct pairs $(api_uplinks)"

# --- 3. the uplink carrying the session goes: the session moves --------------------
sleep 1
lab_cut drone eth0
t=$(date +%s%3N)
wait_until 12 session_on 1 || fail "step 3: the session did not move to lte2 (status: $(lab_status_field drone 'j["server"]'))"
echo "  $(lab_at) lte1 cut: session on lte2 after $(($(date +%s%3N) - t)) ms"
sleep 2
lab_heal drone eth0
sleep 1
lab_stream_stop red

# --- 4. the stream ----------------------------------------------------------------
lab_stream_lossless red drone 500 "step 4"
kill -0 "${LAB_PIDS[client-drone]}" || fail "the drone client died"

lab_teardown
lab_pass
