#!/usr/bin/env bash
# test_uplink_iface: an uplink bound to an interface comes and goes without a
# restart (issue #10): unplugged and re-plugged (the interface is deleted and
# made again, with a new index), then taken down and up (same index).
#
#                     +--------------------------------+
#                     | srv  203.0.113.10              |
#                     | wormhole-server :7400/:7401    |
#                     +---------------+----------------+
#                                     | internet (bridge)
#        +----------------------+-----+----------------+----------------------+
#        | nata port-restricted |  natb restricted-cone |  gnat port-restricted |
#        | 198.51.100.1         |  198.51.100.2         |  198.51.100.3         |
#        | lan 10.0.2.1/24      |  lan 10.0.3.1/24      |  lan 10.0.1.1/24      |
#        +----------+-----------+  +----------+---------+  +----------+-----------+
#                   | h-drone                 | h-drone               | h-gcs
#              eth0 10.0.2.2             eth1 10.0.3.2           eth0 10.0.1.2
#              [uplink lte1] (0)         [uplink lte2] (1)       (default route)
#              source = 10.0.2.2         interface = eth1
#                   +---------- drone --------+                     gcs
#
# lte2's socket is bound to eth1 only (SO_BINDTODEVICE, no address): the
# kernel routes it with oif eth1, so the drone's main table also has a default
# route via natb dev eth1 metric 200 (eth0's, metric 0, stays the default).
# Flow drone -> gcs "red", multipath redundant, 100 datagrams/s throughout.
#  1. lte2 registers via natb (status uplinks[1] up, mapped on natb) and the
#     drone has a direct path to gcs on each uplink.
#  2. Unplug: delete the drone's eth1. The client logs the interface gone and
#     lte2's path leaves; lte1 carries the stream. Re-plug (same name and
#     address, new index, behind natb) and re-add the routes: the client
#     reopens lte2's socket, its path is up again within 25 s and carries
#     the stream.
#  3. Down/up: eth1 down for 2 s, then up and the routes again: the socket
#     stays (same index) and lte2's path is up again within 25 s.
#  4. Over the whole run the app lost no datagram and saw no duplicate (each
#     event hit one uplink only), and the drone's client kept running with no
#     error line.
set -euo pipefail
source "$(dirname "$0")/../../tools/lab/lib.sh"
source "$LAB_ROOT/tools/lab/topo.sh"
lab_init uplink_iface
[ "$(id -u)" = 0 ] || fail "needs root for network namespaces"
[ -x "$LAB_BF" ] || fail "$LAB_BF missing (make build-tests builds it)"
ms_since() { echo $(($(date +%s%3N) - $1)); }

lab_keys server drone gcs
cat >"$LAB_DIR/routes.conf" <<CONF
server: { listen = ["203.0.113.10:7400"]; alt_port = 7401;
          key_file = "server.key"; keepalive_s = 5; };
clients: { drone = { key = "$(lab_pub drone)"; }; gcs = { key = "$(lab_pub gcs)"; }; };
flows: (
  { name = "red"; proto = "udp"; port = 14550; from = ["drone"]; to = ["gcs"];
    multipath = "redundant"; }
);
CONF

lab_server srv 203.0.113.10
lab_nat nata port-restricted-cone 198.51.100.1 10.0.2.0/24
lab_nat natb restricted-cone 198.51.100.2 10.0.3.0/24
lab_nat gnat port-restricted-cone 198.51.100.3 10.0.1.0/24
lab_host drone nata 10.0.2.2
lab_uplink drone natb 10.0.3.2
lab_host gcs gnat 10.0.1.2
DNS=$(lab_ns drone)
# The route a socket bound only to eth1 uses (after a re-plug or an up too).
eth1_routes() {
	ip -n "$DNS" route replace default via 10.0.3.1 dev eth1 table 101
	ip -n "$DNS" route replace default via 10.0.3.1 dev eth1 metric 200
}
eth1_routes

lab_wh_server srv
lab_client_ini drone 203.0.113.10:7400 "[uplink lte1]
source = 10.0.2.2
[uplink lte2]
interface = eth1"
lab_client_ini gcs 203.0.113.10:7400
lab_wh_client drone
lab_wh_client gcs
DLOG=$LAB_DIR/client-drone.log

# --- helpers -------------------------------------------------------------------

# Direct paths of NODE to PEER: "UPLINK PEER_UPLINK STATE TX RX" per line;
# nothing when the status cannot be had.
paths() {
	lab_status "$1" 2>/dev/null | python3 -c '
import json, sys
for p in json.load(sys.stdin)["peers"]:
    if p["peer"] == sys.argv[1]:
        for x in p.get("paths", []):
            print(x["uplink"], x["peer_uplink"], x["state"], x["tx_packets"], x["rx_packets"])' "$2" 2>/dev/null || true
}
paths_brief() {
	paths drone gcs | awk '{printf "%s%s->%s %s tx=%s rx=%s", (NR > 1 ? "; " : ""), $1, $2, $3, $4, $5}
		END { if (NR == 0) printf "(no direct path in the status)" }'
}
up_on() { paths drone gcs | awk -v u="$1" '$1 == u && $3 == "up" {f = 1} END {exit !f}'; }
not_up_on() { ! up_on "$1"; }
both_direct() { up_on 0 && up_on 1; }
# tx UPLINK: packets the drone's paths on UPLINK sent to gcs.
tx() { paths drone gcs | awk -v u="$1" '$1 == u {s += $4} END {print s + 0}'; }

uplinks_ok() {
	lab_status drone | python3 -c '
import json, sys
u = sorted(json.load(sys.stdin).get("uplinks", []), key=lambda x: x["id"])
want = [("lte1", "198.51.100.1:"), ("lte2", "198.51.100.2:")]
ok = len(u) == 2 and all(x["name"] == n and x["state"] == "up" and x["mapped"].startswith(m)
                         for x, (n, m) in zip(u, want))
sys.exit(0 if ok else 1)'
}
uplinks_brief() {
	lab_status drone 2>/dev/null | python3 -c '
import json, sys
print("; ".join("%d %s %s %s mapped %s" % (u["id"], u["name"], u["state"], u.get("local") or "-",
                u.get("mapped") or "-") for u in json.load(sys.stdin)["uplinks"]))' 2>/dev/null ||
		echo "(no status)"
}
lte2_down() {
	lab_status drone | python3 -c '
import json, sys
sys.exit(0 if [u["state"] for u in json.load(sys.stdin)["uplinks"] if u["name"] == "lte2"] == ["down"] else 1)'
}
logged() { grep -c -- "$1" "$DLOG" || true; }
logged_more() { [ "$(logged "$1")" -gt "$2" ]; }

# grows WHAT UPLINK SECONDS MIN: the drone's path on UPLINK sends >= MIN
# packets in SECONDS; prints how many.
grows() {
	local a b
	a=$(tx "$2")
	sleep "$3"
	b=$(tx "$2")
	echo "  $(lab_at) $1: lte$(($2 + 1))'s path sent $((b - a)) in $3 s"
	[ $((b - a)) -ge "$4" ] || fail "$1: lte$(($2 + 1))'s path sent $((b - a)) in $3 s, want >= $4 ($(paths_brief))"
}

# --- 1. both uplinks, a direct path on each ----------------------------------
wait_until 10 uplinks_ok || fail "step 1: lte1 up via nata and lte2 up via natb not in the status: $(uplinks_brief)"
echo "  $(lab_at) uplinks: $(uplinks_brief)"
wait_until 25 both_direct || fail "step 1: no direct path to gcs on both uplinks: $(paths_brief)"
echo "  $(lab_at) direct paths: $(paths_brief)"
wait_until 10 lab_flow_up drone gcs 14550 || fail "step 1: flow red does not carry a datagram"
lab_stream_start red drone gcs 14550 100 200
sleep 2

# --- 2. unplug eth1, re-plug it (a new index) --------------------------------
gone0=$(logged "uplink lte2: interface eth1 is gone, reopening its socket")
bound0=$(logged "uplink lte2: bound")
idx0=$(ip -n "$DNS" -o link show eth1 | cut -d: -f1)
t=$(date +%s%3N)
ip -n "$DNS" link del eth1
wait_until 5 logged_more "uplink lte2: interface eth1 is gone" "$gone0" ||
	fail "step 2: no \"interface eth1 is gone\" in the drone's log 5 s after eth1 was deleted"
echo "  $(lab_at) eth1 deleted (index $idx0): the client saw it gone after $(ms_since "$t") ms"
wait_until 3 not_up_on 1 || fail "step 2: lte2's path still up after eth1 is gone: $(paths_brief)"
echo "  $(lab_at) lte2's path left $(ms_since "$t") ms after the delete; paths: $(paths_brief); uplinks: $(uplinks_brief)"
lte2_down || fail "step 2: the status does not show lte2 down while eth1 is gone: $(uplinks_brief)"
grows "step 2, eth1 gone" 0 1 80
sleep 1 # gone for a reopen attempt or two

lab_uplink_relink drone natb 10.0.3.2 eth1
eth1_routes
idx1=$(ip -n "$DNS" -o link show eth1 | cut -d: -f1)
[ "$idx1" != "$idx0" ] || fail "step 2: the re-plugged eth1 kept index $idx0"
t=$(date +%s%3N)
wait_until 5 logged_more "uplink lte2: bound" "$bound0" ||
	fail "step 2: the client did not reopen lte2's socket 5 s after eth1 came back (index $idx1)"
echo "  $(lab_at) eth1 re-plugged (index $idx1): lte2's socket reopened after $(ms_since "$t") ms"
wait_until 25 up_on 1 || fail "step 2: lte2's path not up 25 s after the re-plug: $(paths_brief)"
echo "  $(lab_at) lte2's path up again $(ms_since "$t") ms after the re-plug: $(paths_brief)"
wait_until 5 uplinks_ok || fail "step 2: lte2 not up via natb after the re-plug: $(uplinks_brief)"
grows "step 2, re-plugged" 1 2 150

# --- 3. eth1 down and up (same index) ---------------------------------------
bound0=$(logged "uplink lte2: bound")
ip -n "$DNS" link set eth1 down
sleep 2
echo "  $(lab_at) eth1 down for 2 s; paths then: $(paths_brief)"
ip -n "$DNS" link set eth1 up
eth1_routes
t=$(date +%s%3N)
wait_until 25 up_on 1 || fail "step 3: lte2's path not up 25 s after eth1 came up: $(paths_brief)"
echo "  $(lab_at) lte2's path up $(ms_since "$t") ms after eth1 came up: $(paths_brief)"
[ "$(logged "uplink lte2: bound")" = "$bound0" ] ||
	fail "step 3: lte2's socket was reopened though eth1 kept its index"
grows "step 3, after down/up" 1 2 150

# --- 4. the stream over the whole run; the client --------------------------
lab_stream_stop red
lab_stream_lossless red drone 1000 "step 4"
topo_alive "${LAB_PIDS[client-drone]}" || fail "step 4: the drone's client is not running"
errs=$(awk '$2 == "error"' "$DLOG"; grep -i "out of memory" "$DLOG" || true)
[ -z "$errs" ] || fail "step 4: the drone's client logged errors: $errs"

lab_teardown
lab_pass
