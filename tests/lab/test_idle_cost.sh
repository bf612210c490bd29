#!/usr/bin/env bash
# test_idle_cost: what an idle pair costs on a metered link (PROTOCOL.md
# "Punching" 5 and "Relay", nat/pathmon.h). Each side pings a direct path
# every 200 ms and the relay every second; the PONG it owes the peer rides
# in the packet of its own next PING, so an idle direct path carries 5
# packets a second each way, not 10, and a relay 1, not 2 (one uplink on
# each side); the hold does not show in the RTT or the loss reported.
#
#     drone1 10.0.1.2 -- dnat (port-restricted) 198.51.100.1 ==
#     gcs1   10.0.2.2 -- gnat (port-restricted) 198.51.100.2 == internet
#     drone2 10.0.3.2 -- nc (symmetric) 198.51.100.3 ==          |
#     gcs2   10.0.4.2 -- nd (symmetric) 198.51.100.4 ==     srv 203.0.113.10
#
#  1. drone1 and gcs1 punch a direct path; drone2 and gcs2 stay on the
#     relay; both flows carry a datagram.
#  2. Over about 7 s with the flows idle, nftables on the drones' NATs
#     counts, each way, the direct path's packets (3.5 to 6.5 a second: the
#     pings, a path MTU probe at most) and the relay port's for drone2 (0.5
#     to 1.6 a second: the relay pings, a bind at most).
#  3. Meanwhile every client's status shows, each second, an RTT under
#     20 ms (veth; a hold counted in it makes it 100 ms or more) and no loss
#     on the path in use and on the relay.
set -euo pipefail
source "$(dirname "$0")/../../tools/lab/lib.sh"
source "$LAB_ROOT/tools/lab/topo.sh"
lab_init idle_cost
[ "$(id -u)" = 0 ] || fail "needs root for network namespaces"
[ -x "$LAB_BF" ] || fail "$LAB_BF missing (make build-tests builds it)"
MEASURE_S=6 # status samples, one a second

lab_keys server drone1 gcs1 drone2 gcs2
lab_routes '' drone1 gcs1 drone2 gcs2 >"$LAB_DIR/routes.conf" <<CONF
flows: (
  { name = "mav1"; proto = "udp"; port = 14550; members = ["drone1", "gcs1"]; },
  { name = "mav2"; proto = "udp"; port = 14560; members = ["drone2", "gcs2"]; }
);
CONF
lab_two_sites
lab_relay_sites
lab_wh_server srv
lab_wh_clients drone1 gcs1 drone2 gcs2

# 1. A direct path for one pair, the relay for the other; the flows work.
up() { grep -q "peer $2: direct path up" "$LAB_DIR/client-$1.log"; }
both_up() { up drone1 gcs1 && up gcs1 drone1; }
wait_until 20 both_up || fail "drone1 and gcs1 found no direct path"
relay_kept() { grep -q "punch: the server keeps this pair on the relay" "$LAB_DIR/client-drone2.log"; }
wait_until 20 relay_kept || fail "drone2 and gcs2 were not kept on the relay"
wait_until 10 lab_flow_up drone1 gcs1 14550 || fail "flow mav1 does not carry a datagram"
wait_until 10 lab_flow_up drone2 gcs2 14560 || fail "flow mav2 does not carry a datagram"
sleep 2 # the first path MTU probes are over

# 2. Count on the drones' NATs' public links, each way: the direct path's
# packets (to and from gnat) and drone2's relay packets (to and from srv,
# the server's own port 7400 aside).
count_rules() { # NAT MATCH_OUT MATCH_IN
	lab_exec "$1" nft -f - <<NFT
table ip wh_count {
	counter tx_count {
	}
	counter rx_count {
	}
	chain forward_count {
		type filter hook forward priority 0; policy accept;
		oifname "wan" $2 counter name "tx_count"
		iifname "wan" $3 counter name "rx_count"
	}
}
NFT
}
count_rules dnat "ip daddr 198.51.100.2 udp dport 1-65535" "ip saddr 198.51.100.2 udp sport 1-65535"
count_rules nc "ip daddr 203.0.113.10 udp dport != 7400" "ip saddr 203.0.113.10 udp sport != 7400"
t0=$(date +%s%N)
count() { # NAT NAME: packets counted so far
	lab_exec "$1" nft -j list counter ip wh_count "$2" |
		python3 -c 'import json, sys
print([x["counter"]["packets"] for x in json.load(sys.stdin)["nftables"] if "counter" in x][0])'
}

# 3. Meanwhile: the RTT and loss each side reports (sampled every second).
path_ok() { # HOST PEER PATH: the status shows PATH; RTTs < 20 ms, no loss
	lab_status "$1" | python3 -c '
import json, sys
peer, host, path = sys.argv[1:4]
p = {x["peer"]: x for x in json.load(sys.stdin)["peers"]}[peer]
ok = p["path"] == path and p["rtt_ms"] is not None and 0 < p["rtt_ms"] < 20 and p["loss"] == 0
ok = ok and p["relay_rtt_ms"] is not None and 0 < p["relay_rtt_ms"] < 20 and p["relay_loss"] == 0
if not ok:
    print("  %s -> %s: path %s rtt_ms %s loss %s relay_rtt_ms %s relay_loss %s" % (host, peer,
          p["path"], p["rtt_ms"], p["loss"], p["relay_rtt_ms"], p["relay_loss"]), file=sys.stderr)
sys.exit(0 if ok else 1)' "$2" "$1" "$3"
}
bad=0
for ((i = 0; i < MEASURE_S; i++)); do
	sleep 1
	path_ok drone1 gcs1 direct || bad=$((bad + 1))
	path_ok gcs1 drone1 direct || bad=$((bad + 1))
	path_ok drone2 gcs2 relay || bad=$((bad + 1))
	path_ok gcs2 drone2 relay || bad=$((bad + 1))
done
d_out=$(count dnat tx_count) d_in=$(count dnat rx_count)
r_out=$(count nc tx_count) r_in=$(count nc rx_count)
ms=$((($(date +%s%N) - t0) / 1000000))
lab_exec dnat nft delete table ip wh_count
lab_exec nc nft delete table ip wh_count
echo "  idle over $ms ms: direct path drone1 -> gcs1 $d_out packets, back $d_in;" \
	"relay drone2 -> srv $r_out, back $r_in"
rate_within() { # WHAT LOW_X10 HIGH_X10 PINGED N...: each N packets in $ms ms, LOW..HIGH/10 a second
	local what=$1 lo=$2 hi=$3 pinged=$4 n
	shift 4
	for n in "$@"; do
		((n * 10000 >= ms * lo)) || fail "$what carried $n packets in $ms ms: it is not pinged $pinged"
		((n * 10000 <= ms * hi)) ||
			fail "$what carried $n packets in $ms ms: the pongs do not ride with the pings"
	done
}
rate_within "the direct path" 35 65 "every 200 ms" "$d_out" "$d_in" # 10/s without
rate_within "the relay" 5 16 "every second" "$r_out" "$r_in"           # 2/s without
((bad == 0)) || fail "$bad status samples showed a held pong in an RTT or a loss (above)"
! grep -q "peer gcs1: direct path .* lost" "$LAB_DIR/client-drone1.log" ||
	fail "the direct path was lost while idle"
! grep -q "the relay went silent" "$LAB_DIR/client-drone2.log" "$LAB_DIR/client-gcs2.log" ||
	fail "a relay-only client found the relay silent while idle"
lab_pass
