#!/usr/bin/env bash
# test_multipath: a drone with two uplinks behind two different NATs, a GCS
# behind one (issue #10, acceptance 1 to 4).
#
#                     +--------------------------------+
#                     | srv  203.0.113.10, .11         |
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
#                   +---------- drone --------+                     gcs
#
# Flows drone -> gcs (apps: tools/bench_flow, on 127.0.0.1:PORT each side):
#   red 14550 multipath redundant, fo 14560 failover, bal 5600 balance.
#  0. Both uplinks register through their own NAT (status "uplinks": mapped
#     on nata and natb) and the drone gets a direct path to gcs on each
#     (status peers[gcs].paths, state up).
#  1. red, 100/s: cut lte1 (drone eth0) for 3 s, heal, wait for both direct
#     paths, cut lte2 for 3 s, heal: every datagram arrives (lost set empty)
#     and the app sees no duplicate.
#  4. Between the two cuts, the healed lte1 carries traffic again without a
#     restart: its path's tx_packets (drone) and rx_packets (gcs) grow, and
#     the stream then survives the cut of lte2.
#  3. bal: each uplink shaped to 5 Mbit/s both ways (tbf on the drone's eth0
#     and eth1 and on each NAT's h-drone), checked first with plain UDP on
#     each uplink; a stream offered at 10.5 Mbit/s delivers > 8 Mbit/s.
#  2. fo, 100/s: cut the uplink whose path carries the stream; the longest
#     gap at the receiver must be <= 1.5 s (printed), the other uplink's path
#     carries the stream.
# MULTIPATH_LAB_ONLY=1 checks only what needs no multipath: the topology,
# source routing, the shaping (plain UDP on each uplink and one flow through
# the daemons), and cut/heal of each uplink.
set -euo pipefail
source "$(dirname "$0")/../../tools/lab/lib.sh"
source "$LAB_ROOT/tools/lab/topo.sh"
lab_init multipath
[ "$(id -u)" = 0 ] || fail "needs root for network namespaces"
[ -x "$LAB_BF" ] || fail "$LAB_BF missing (make build-tests builds it)"

lab_keys server drone gcs
lab_routes 'keepalive_s = 5;' drone gcs >"$LAB_DIR/routes.conf" <<CONF
flows: (
  { name = "red"; proto = "udp"; port = 14550; from = ["drone"]; to = ["gcs"];
    multipath = "redundant"; },
  { name = "fo"; proto = "udp"; port = 14560; from = ["drone"]; to = ["gcs"];
    multipath = "failover"; },
  { name = "bal"; proto = "udp"; port = 5600; from = ["drone"]; to = ["gcs"];
    multipath = "balance"; }
);
CONF

lab_server srv 203.0.113.10 203.0.113.11
lab_nat nata port-restricted-cone 198.51.100.1 10.0.2.0/24
lab_nat natb restricted-cone 198.51.100.2 10.0.3.0/24
lab_nat gnat port-restricted-cone 198.51.100.3 10.0.1.0/24
lab_host drone nata 10.0.2.2
lab_uplink drone natb 10.0.3.2
lab_host gcs gnat 10.0.1.2
# Uplink k of the drone: its name, source address, interface, NAT.
UP_NAME=(lte1 lte2) UP_SRC=(10.0.2.2 10.0.3.2) UP_IF=(eth0 eth1) UP_NAT=(nata natb)

# --- helpers -------------------------------------------------------------------

# raw_rates SECONDS: plain UDP (no daemons) from each drone uplink's address
# to srv, 1050 datagrams/s of 1250 bytes (10.5 Mbit/s) on both at once;
# prints the Mbit/s srv received from lte1 and from lte2: the median of its
# 250 ms windows (a busy machine may stall a sender now and then).
raw_rates() {
	local k n=$((1050 * $1))
	for k in 0 1; do
		lab_start_in srv "raw$k-rx" "$LAB_BF" --bind "203.0.113.10:$((9100 + k))" \
			--linger $(($1 * 1000 + 1500)) --timeout $(($1 * 1000 + 1500)) --window 250
		wait_until 3 lab_udp_bound srv "203.0.113.10:$((9100 + k))" || fail "raw sink $k did not start"
	done
	for k in 0 1; do
		lab_start_in drone "raw$k-tx" "$LAB_BF" --bind "${UP_SRC[$k]}:$((9100 + k))" \
			--to "203.0.113.10:$((9100 + k))" --id "${UP_NAME[$k]}" --count "$n" --rate 1050 \
			--size 1250 --timeout $(($1 * 1000 + 1000))
	done
	for k in 0 1; do
		wait "${LAB_PIDS[raw$k-tx]}" || true
		unset "LAB_PIDS[raw$k-tx]"
		wait "${LAB_PIDS[raw$k-rx]}" || true
		unset "LAB_PIDS[raw$k-rx]"
	done
	for k in 0 1; do
		lab_json "$LAB_DIR/raw$k-rx.log" '"%.2f" % (sorted(j["window_mbps"][:-1] or [0])[len(j["window_mbps"][:-1]) // 2])'
	done | tr '\n' ' ' | sed 's/ $//'
	echo
}

# raw_from: srv received the last raw run's datagrams from each drone
# uplink through that uplink's NAT (source routing: lte1 via nata, lte2 via natb).
raw_from() {
	local k
	for k in 0 1; do
		[[ $(lab_json "$LAB_DIR/raw$k-rx.log" "j['senders']['${UP_NAME[$k]}']['from']") == \
		"$(lab_nat_public "${UP_NAT[$k]}")":* ]] || return 1
	done
}

shape() { # KBIT: both directions of both drone uplinks (0 removes it)
	local k
	for k in 0 1; do
		lab_rate drone "${UP_IF[$k]}" "$1"
		lab_rate "${UP_NAT[$k]}" h-drone "$1"
	done
}

in_range() { python3 -c 'import sys; sys.exit(0 if float(sys.argv[2]) <= float(sys.argv[1]) <= float(sys.argv[3]) else 1)' "$@"; }

# Direct paths in the status: "UPLINK PEER_UPLINK STATE TX RX" per path of
# NODE to PEER, one per line; nothing when the status cannot be had (then the
# waits time out and the counters read 0, with a message naming the step).
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
both_direct() { [ "$(paths drone gcs | awk '$3 == "up" {print $1}' | sort -u | tr -d '\n')" = 01 ]; }
# counter NODE PEER FIELD UPLINK_COL UPLINK: sum of FIELD (4 tx, 5 rx) over
# NODE's paths whose column UPLINK_COL (1 own uplink, 2 peer's) is UPLINK.
counter() {
	paths "$1" "$2" | awk -v f="$3" -v c="$4" -v u="$5" '$c == u {s += $f} END {print s + 0}'
}

uplinks_ok() {
	lab_status drone | python3 -c '
import json, sys
u = sorted(json.load(sys.stdin).get("uplinks", []), key=lambda x: x["id"])
want = [("lte1", "10.0.2.2:", "198.51.100.1:"), ("lte2", "10.0.3.2:", "198.51.100.2:")]
ok = len(u) == 2 and all(x["name"] == n and x["local"].startswith(l) and x["mapped"].startswith(m)
                         and x["state"] == "up" for x, (n, l, m) in zip(u, want))
sys.exit(0 if ok else 1)'
}

# --- the lab before the daemons: source routing and shaping ------------------
# Plain UDP at 10.5 Mbit/s on both uplinks at once: unshaped each carries it
# all, through its own NAT; shaped to 5 Mbit/s, each carries about 5 (so one
# uplink alone cannot deliver the 8 Mbit/s of step 3). Before the daemons
# start: overloading the links would cost them their paths.
r=$(raw_rates 1)
raw_from || fail "lab: plain UDP from lte1 and lte2 did not leave through nata and natb"
echo "  $(lab_at) lab: plain UDP, unshaped: lte1 ${r% *} Mbit/s via nata, lte2 ${r#* } Mbit/s via natb"
in_range "${r% *}" 9 11 && in_range "${r#* }" 9 11 || fail "lab: unshaped uplinks carry lte1 ${r% *}, lte2 ${r#* } Mbit/s, want 10.5"
shape 5000
r=$(raw_rates 2)
shape 0
echo "  $(lab_at) lab: plain UDP, shaped to 5 Mbit/s: lte1 ${r% *}, lte2 ${r#* } Mbit/s"
in_range "${r% *}" 3.5 5.3 && in_range "${r#* }" 3.5 5.3 ||
	fail "lab: a shaped uplink does not carry 3.5..5.3 Mbit/s (lte1 ${r% *}, lte2 ${r#* })"

lab_wh_server srv
lab_client_ini drone 203.0.113.10:7400 "[uplink lte1]
source = 10.0.2.2
[uplink lte2]
source = 10.0.3.2"
lab_client_ini gcs 203.0.113.10:7400
lab_wh_client drone
lab_wh_client gcs

# --- without multipath: the lab itself ---------------------------------------
if [ "${MULTIPATH_LAB_ONLY:-0}" = 1 ]; then
	wait_until 20 lab_flow_up drone gcs 5600 || fail "flow bal never came up"
	shape 5000
	lab_stream_start one drone gcs 5600 1050 1250 --window 1000
	sleep 4
	lab_stream_stop one
	echo "  $(lab_at) one flow through the daemons at 10.5 Mbit/s, shaped: $(lab_json "$LAB_DIR/one-rx.log" 'j["window_mbps"]') Mbit/s per second"
	in_range "$(lab_json "$LAB_DIR/one-rx.log" 'j["mbps"]')" 3.5 5.3 ||
		fail "one flow over one shaped uplink: $(lab_json "$LAB_DIR/one-rx.log" 'j["mbps"]') Mbit/s, want 3.5..5.3"
	shape 0
	for k in 0 1; do
		lab_cut drone "${UP_IF[$k]}"
		r=$(raw_rates 1)
		lab_heal drone "${UP_IF[$k]}"
		echo "  $(lab_at) ${UP_NAME[$k]} cut: plain UDP lte1 ${r% *}, lte2 ${r#* } Mbit/s"
		[ "$(lab_json "$LAB_DIR/raw$k-rx.log" 'j["received"]')" = 0 ] ||
			fail "cut of ${UP_IF[$k]}: its traffic still arrived"
		[ "$(lab_json "$LAB_DIR/raw$((1 - k))-rx.log" 'j["received"]')" -ge 1000 ] ||
			fail "cut of ${UP_IF[$k]}: the other uplink stopped too"
	done
	r=$(raw_rates 1)
	in_range "${r% *}" 9 11 && in_range "${r#* }" 9 11 || fail "after healing: lte1 ${r% *}, lte2 ${r#* } Mbit/s"
	echo "  $(lab_at) healed: lte1 ${r% *}, lte2 ${r#* } Mbit/s"
	lab_teardown
	lab_pass
	exit 0
fi

# --- 0. two uplinks, two direct paths ----------------------------------------
wait_until 10 uplinks_ok || {
	{ lab_status drone || true; echo; } >&2
	fail "step 0: the drone's status does not show lte1 up via nata and lte2 up via natb"
}
echo "  $(lab_at) uplinks: $(lab_status drone | python3 -c '
import json, sys
print("; ".join("%d %s %s mapped %s" % (u["id"], u["name"], u["local"], u["mapped"]) for u in json.load(sys.stdin)["uplinks"]))')"
wait_until 25 both_direct || fail "step 0: no direct path to gcs on both uplinks: $(paths_brief)"
echo "  $(lab_at) direct paths: $(paths_brief)"
for port in 14550 14560 5600; do
	wait_until 10 lab_flow_up drone gcs $port || fail "step 0: flow on port $port does not carry a datagram"
done

# cut_uplink K SECONDS: cut drone uplink K, print its path's state at the end.
cut_uplink() {
	lab_cut drone "${UP_IF[$1]}"
	sleep "$2"
	echo "  $(lab_at) ${UP_NAME[$1]} cut for $2 s; paths then: $(paths_brief)"
	lab_heal drone "${UP_IF[$1]}"
}
# grows NAME BEFORE AFTER MIN: the counter grew by at least MIN.
grows() {
	[ $(($3 - $2)) -ge "$4" ] || fail "$1 grew by $(($3 - $2)) (from $2), want >= $4"
}

# --- 1 and 4. redundant: no loss, no duplicate, either uplink cut ------------
lab_stream_start red drone gcs 14550 100 200
sleep 2
cut_uplink 0 3
t_heal=$(date +%s%3N)
wait_until 20 both_direct || fail "step 4: lte1 got no direct path again after healing: $(paths_brief)"
echo "  $(lab_at) lte1 healed: both direct again after $(($(date +%s%3N) - t_heal)) ms"
tx0=$(counter drone gcs 4 1 0) rx0=$(counter gcs drone 5 2 0)
sleep 2
tx1=$(counter drone gcs 4 1 0) rx1=$(counter gcs drone 5 2 0)
echo "  $(lab_at) lte1 carries again: over 2 s its path sent $((tx1 - tx0)) (drone), received $((rx1 - rx0)) (gcs)"
grows "step 4: tx_packets of the drone's lte1 path" "$tx0" "$tx1" 150
grows "step 4: rx_packets of gcs's path from lte1" "$rx0" "$rx1" 150
cut_uplink 1 3
sleep 1
lab_stream_stop red
lab_stream_lossless red drone 900 "step 1"

t_heal=$(date +%s%3N)
wait_until 20 both_direct || fail "step 4: lte2 got no direct path again after healing: $(paths_brief)"
echo "  $(lab_at) lte2 healed: both direct again after $(($(date +%s%3N) - t_heal)) ms"

# --- 3. balance over two 5 Mbit/s uplinks (shaping checked above) ----------
shape 5000
tx0=$(counter drone gcs 4 1 0) tx1=$(counter drone gcs 4 1 1)
lab_stream_start bal drone gcs 5600 1050 1250 --window 1000
sleep 7
lab_stream_stop bal
shape 0
echo "  $(lab_at) balance at 10.5 Mbit/s: $(lab_json "$LAB_DIR/bal-rx.log" 'j["window_mbps"]') Mbit/s per second;" \
	"packets on lte1 $(($(counter drone gcs 4 1 0) - tx0)), lte2 $(($(counter drone gcs 4 1 1) - tx1))"
# Steady state: seconds 2 to 5 (the first lets the capacity estimates settle).
bal=$(lab_json "$LAB_DIR/bal-rx.log" '"%.2f" % (sum(j["window_mbps"][2:6]) / 4)')
echo "  $(lab_at) balance delivered $bal Mbit/s (seconds 2-5; whole run $(lab_json "$LAB_DIR/bal-rx.log" 'j["mbps"]'))"
in_range "$bal" 8 100 || fail "step 3: balance delivered $bal Mbit/s over two 5 Mbit/s uplinks, want > 8"

# --- 2. failover: cut the uplink that carries the stream ---------------------
wait_until 20 both_direct || fail "step 2: not direct on both uplinks before failover: $(paths_brief)"
lab_stream_start fo drone gcs 14560 100 200
sleep 2
a0=$(counter drone gcs 4 1 0) b0=$(counter drone gcs 4 1 1)
sleep 1
a1=$(counter drone gcs 4 1 0) b1=$(counter drone gcs 4 1 1)
if [ $((a1 - a0)) -ge $((b1 - b0)) ]; then act=0; else act=1; fi
oth=$((1 - act))
echo "  $(lab_at) failover: the stream is on ${UP_NAME[$act]} (over 1 s: lte1 +$((a1 - a0)), lte2 +$((b1 - b0)) packets)"
[ $((a1 - a0 + b1 - b0)) -ge 80 ] || fail "step 2: the failover stream is not on a direct path"
o0=$(counter drone gcs 4 1 $oth)
t_cut=$(date +%s%3N)
cut_uplink $act 3
o1=$(counter drone gcs 4 1 $oth)
sleep 0.5
lab_stream_stop fo
sent=$(lab_json "$LAB_DIR/fo-tx.log" 'j["sent"]')
got=$(lab_json "$LAB_DIR/fo-rx.log" 'j["received"]')
gap=$(lab_json "$LAB_DIR/fo-rx.log" 'j["max_gap_ms"]')
gap_end=$(lab_json "$LAB_DIR/fo-rx.log" 'j["max_gap_end_wall_ms"]')
echo "  $(lab_at) failover: longest gap ${gap} ms (limit 1500), ending $((gap_end - t_cut)) ms after the cut;" \
	"${UP_NAME[$oth]} took $((o1 - o0)) packets during the cut; received $got of $sent, dup $(lab_json "$LAB_DIR/fo-rx.log" 'j["dup"]')"
in_range "$gap" 0 1500 || fail "step 2: failover gap ${gap} ms > 1500 ms"
[ $((o1 - o0)) -ge 150 ] || fail "step 2: ${UP_NAME[$oth]}'s path took only $((o1 - o0)) packets during the 3 s cut"
[ $((sent - got)) -le 160 ] || fail "step 2: lost $((sent - got)) of $sent (more than 1.5 s of the stream)"

lab_teardown
lab_pass
