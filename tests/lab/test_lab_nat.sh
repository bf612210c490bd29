#!/usr/bin/env bash
# test_lab_nat: each NAT the lab builds behaves as its name says (RFC 4787
# mapping, filtering, port preservation), and the lab's impairments work
# (issues #4 and #5; tools/lab/topo.sh).
#
#                            P inet (bridge br0)
#   +---------+---------+---------+---------+---------+---------+---------+
#   |         |         |         |         |         |         |         |
#  srv      third     open       fc        rc       prc       sym       seq
#  203.0.   192.0.2.  198.51.   198.51.   198.51.   198.51.   198.51.   198.51.
#  113.10   50        100.1     100.2     100.3     100.4     100.5     100.6
#  113.11   (never    none      full-     restr.-   port-r.-  symm.     symm.
#  echo on  contact-  (routing) cone      cone      cone      random    sequential
#  both IPs ed)         |         |         |         |         |         |
#  :3478/:3479        hopen      hfc       hrc       hprc      hsym      hseq
#                     198.51.   10.0.2.2  10.0.3.2  10.0.4.2  10.0.5.2  10.0.6.2
#                     100.130                       hprc2
#                                                   10.0.4.3
#                     (hprc also gets eth1 10.0.2.3 behind fc: lab_uplink)
#
# For every host: mapping (one socket to three destinations), port
# preservation, filtering (answers from the contacted IP on another port, from
# another IP, and a datagram from a third party that was never contacted).
# Then loss, cut/heal and rate on real links, and a teardown that leaves no
# namespace with this run's prefix.
set -euo pipefail
source "$(dirname "$0")/../../tools/lab/lib.sh"
source "$(dirname "$0")/../../tools/lab/topo.sh"
lab_init lab_nat

PROBE=${UDPPROBE:-$LAB_ROOT/build/release/tests/udpprobe}
[ "$(id -u)" = 0 ] || fail "needs root (network namespaces, nftables)"
[ -x "$PROBE" ] || fail "udpprobe not built: $PROBE"
S1=203.0.113.10
S2=203.0.113.11
THIRD=192.0.2.50

# nat_fail MSG: keep every router's ruleset (with its learned sets) for the logs.
nat_fail() {
	local r
	for r in "${!LAB_NAT_TYPE[@]}"; do
		lab_exec "$r" nft list ruleset >"$LAB_DIR/nft-$r.txt" 2>&1 || true
	done
	fail "$@"
}

# probe HOST ARGS...: udpprobe send inside HOST; sets OUT and RC.
probe() {
	local host=$1
	shift
	RC=0
	OUT=$(lab_exec "$host" "$PROBE" send "$@" 2>&1) || RC=$?
	echo "$OUT" >>"$LAB_DIR/probe-$host.log"
}

# mapped DEST: the IP:PORT the echo at DEST reported in OUT.
mapped() {
	sed -n "s/^$1 mapped=\([^ ]*\) .*/\1/p" <<<"$OUT"
}

# answered HOST LOCAL_PORT FROM: does an answer sent from FROM reach HOST's
# mapping (made towards S1:3478 only)?
answered() {
	probe "$1" --bind "$LAN:$2" --from "$3" "$S1:3478"
	case $RC in
	0) return 0 ;;
	1) return 1 ;;
	*) nat_fail "udpprobe failed in $1: $OUT" ;;
	esac
}

# third_party_gets_in HOST LOCAL_PORT PUBLIC: a datagram from THIRD (never
# contacted) to PUBLIC reaches HOST's socket on LOCAL_PORT.
third_party_gets_in() {
	local host=$1 port=$2 public=$3 proc=listen-$1 rc=0
	lab_start_in "$host" "$proc" "$PROBE" listen --count 1 --timeout 1000 "$LAN:$port"
	wait_until 3 grep -q "^listening" "$LAB_DIR/$proc.log" || nat_fail "$proc did not start"
	lab_exec third "$PROBE" send --no-reply --tries 3 --bind "$THIRD:5555" "$public" >/dev/null
	wait_until 3 grep -q -e "^got from=$THIRD:5555" -e "^timeout" "$LAB_DIR/$proc.log" ||
		nat_fail "$proc did not finish"
	lab_stop "$proc" || rc=$?
	[ "$rc" -le 1 ] || nat_fail "$proc exited with $rc"
	return "$rc"
}

# expect WHAT ACTUAL(0/1) WANTED(yes/no)
expect() {
	local got=no
	[ "$2" = 0 ] && got=yes
	[ "$got" = "$3" ] || nat_fail "$TYPE: $1: got $got, want $3"
	echo "  $TYPE: $1: $got"
}

# --- topology -------------------------------------------------------------------
t0=$(date +%s%N)
lab_server srv "$S1" "$S2"
lab_server third "$THIRD"
lab_nat open none 198.51.100.1 198.51.100.128/25
lab_host hopen open 198.51.100.130
lab_nat fc full-cone 198.51.100.2 10.0.2.0/24
lab_host hfc fc 10.0.2.2
lab_nat rc restricted-cone 198.51.100.3 10.0.3.0/24
lab_host hrc rc 10.0.3.2
lab_nat prc port-restricted-cone 198.51.100.4 10.0.4.0/24
lab_host hprc prc 10.0.4.2
lab_host hprc2 prc 10.0.4.3
lab_nat sym symmetric 198.51.100.5 10.0.5.0/24
lab_host hsym sym 10.0.5.2
lab_nat seq symmetric-seq 198.51.100.6 10.0.6.0/24
lab_host hseq seq 10.0.6.2
echo "topology built in $((($(date +%s%N) - t0) / 1000000)) ms"

lab_start_in srv echo "$PROBE" echo --duration 60000 --also-from "$S1:3479" \
	--also-from "$S2:3478" --also-from "$S2:3479" "$S1:3478"
wait_until 5 grep -q "listening $S2:3479" "$LAB_DIR/echo.log" || fail "echo did not start"

# --- mapping, port preservation, filtering per type -------------------------------
#       host   LAN address     mapping       filter: other port / other IP / third party
CASES="hopen  198.51.100.130  own           yes yes yes
hfc    10.0.2.2        eim           yes yes yes
hrc    10.0.3.2        eim           yes no  no
hprc   10.0.4.2        eim           no  no  no
hsym   10.0.5.2        random        no  no  no
hseq   10.0.6.2        sequential    no  no  no"

port=41000
while read -r -u 3 host LAN mapping other_port other_ip third; do
	nat=${host#h}
	TYPE=${LAB_NAT_TYPE[$nat]}
	public=$LAN
	[ "$mapping" = own ] || public=$(lab_nat_public "$nat")

	# Mapping: one socket, three destinations (two IPs, two ports).
	port=$((port + 10))
	probe "$host" --bind "$LAN:$port" "$S1:3478" "$S2:3478" "$S1:3479"
	[ "$RC" = 0 ] || nat_fail "$TYPE: mapping probe failed: $OUT"
	m1=$(mapped "$S1:3478") m2=$(mapped "$S2:3478") m3=$(mapped "$S1:3479")
	echo "  $TYPE: local $LAN:$port mapped to $m1, $m2, $m3"
	for m in "$m1" "$m2" "$m3"; do
		[ "${m%:*}" = "$public" ] || nat_fail "$TYPE: mapped address $m, want $public"
	done
	p1=${m1##*:} p2=${m2##*:} p3=${m3##*:}
	case $mapping in
	own | eim)
		# Endpoint-independent mapping with port preservation (none: no
		# translation at all, the host sees its own address).
		[ "$p1" = "$port" ] && [ "$p2" = "$port" ] && [ "$p3" = "$port" ] ||
			nat_fail "$TYPE: want port $port kept for every destination"
		;;
	random)
		# Address-and-port-dependent mapping: a new port per destination.
		[ "$p1" != "$p2" ] && [ "$p2" != "$p3" ] && [ "$p1" != "$p3" ] ||
			nat_fail "$TYPE: want three different ports"
		;;
	sequential)
		[ $((p2 - p1)) = 1 ] && [ $((p3 - p2)) = 1 ] ||
			nat_fail "$TYPE: want consecutive ports, got $p1 $p2 $p3"
		;;
	esac

	# Filtering, on a fresh port whose mapping only ever sent to S1:3478.
	port=$((port + 10))
	answered "$host" "$port" "$S1:3478" || nat_fail "$TYPE: no answer from the contacted endpoint"
	m=$(mapped "$S1:3478")
	rc=0
	answered "$host" "$port" "$S1:3479" || rc=$?
	expect "answer from contacted IP, other port" "$rc" "$other_port"
	rc=0
	answered "$host" "$port" "$S2:3478" || rc=$?
	expect "answer from another IP" "$rc" "$other_ip"
	rc=0
	third_party_gets_in "$host" "$port" "$m" || rc=$?
	expect "datagram from a never-contacted third party" "$rc" "$third"
	# Positive control after the negatives: the mapping itself still works.
	answered "$host" "$port" "$S1:3478" || nat_fail "$TYPE: mapping lost after filter tests"
done 3<<<"$CASES"

# Two hosts behind one cone NAT on the same local port. The second one first
# talks to a server port the first has not used (plain Linux snat would let it
# keep port 43000 there, shared with the first host), then to the one the
# first host uses (where 43000 is taken): its mapping must not change.
TYPE="port-restricted-cone"
probe hprc --bind 10.0.4.2:43000 "$S1:3478"
[ "$RC" = 0 ] && [ "$(mapped "$S1:3478")" = 198.51.100.4:43000 ] || nat_fail "first host: $OUT"
probe hprc2 --bind 10.0.4.3:43000 "$S2:3478" "$S1:3478" "$S1:3479"
[ "$RC" = 0 ] || nat_fail "second host: $OUT"
m1=$(mapped "$S2:3478") m2=$(mapped "$S1:3478") m3=$(mapped "$S1:3479")
echo "  $TYPE: second host on port 43000 mapped to $m1, $m2, $m3"
[ "$m1" != 198.51.100.4:43000 ] && [ "$m1" = "$m2" ] && [ "$m2" = "$m3" ] ||
	nat_fail "second host on a taken port: want one new port for every destination"

# A second uplink (multipath): hprc also sits behind the full cone; a socket
# bound to that address leaves through it, one bound to eth0's through prc.
lab_uplink hprc fc 10.0.2.3
probe hprc --bind 10.0.2.3:44000 "$S1:3478"
[ "$RC" = 0 ] && [ "$(mapped "$S1:3478")" = 198.51.100.2:44000 ] || nat_fail "uplink eth1: $OUT"
probe hprc --bind 10.0.4.2:44000 "$S1:3478"
[ "$RC" = 0 ] && [ "$(mapped "$S1:3478")" = 198.51.100.4:44000 ] || nat_fail "uplink eth0: $OUT"
echo "  second uplink: 10.0.2.3 leaves as 198.51.100.2, 10.0.4.2 as 198.51.100.4"

# --- impairments ----------------------------------------------------------------------
TYPE=impair
LAN=10.0.4.2
# burst_received HOST ARGS...: distinct answers a burst to S1:3478 got back.
burst_received() {
	local host=$1 out
	shift
	out=$(lab_exec "$host" "$PROBE" burst --bind "$LAN:42000" "$@" "$S1:3478")
	echo "$out" >>"$LAB_DIR/probe-$host.log"
	sed -n 's/^sent=[0-9]* received=\([0-9]*\)$/\1/p' <<<"$out"
}

n=$(burst_received hprc --count 200 --gap 1)
[ "$n" = 200 ] || nat_fail "clean path lost datagrams: $n of 200 answered"
echo "  loss 0 %: $n of 200 answered"
# 30 % each way on the router's public link: about 49 % answered (98 of 200,
# sd 7); the bounds are more than 8 sd away.
lab_loss prc wan 30
n=$(burst_received hprc --count 200 --gap 1)
((n >= 40 && n <= 160)) || nat_fail "30 % loss: $n of 200 answered, want about 98"
echo "  loss 30 % both ways: $n of 200 answered"
lab_loss prc wan 0
n=$(burst_received hprc --count 200 --gap 1)
[ "$n" = 200 ] || nat_fail "loss removed, still lost: $n of 200 answered"

lab_cut srv eth0
probe hprc --bind "$LAN:42001" "$S1:3478"
[ "$RC" = 1 ] || nat_fail "cut server link: want no answer, got: $OUT"
lab_heal srv eth0
probe hprc --bind "$LAN:42001" "$S1:3478"
[ "$RC" = 0 ] || nat_fail "healed server link: want an answer, got: $OUT"
echo "  cut server link: no answer; healed: answered"
lab_cut prc "h-hprc" in
probe hprc --bind "$LAN:42002" "$S1:3478"
[ "$RC" = 1 ] || nat_fail "cut LAN link (in): want no answer, got: $OUT"
lab_heal prc "h-hprc"
probe hprc --bind "$LAN:42002" "$S1:3478"
[ "$RC" = 0 ] || nat_fail "healed LAN link: want an answer, got: $OUT"
echo "  cut LAN link (router ingress only): no answer; healed: answered"

# 16 kbit/s: the 3200-byte bucket passes about 42 answers at once, the rest
# queue and leave at about 27 per second: about 55 within the 500 ms wait.
lab_rate srv eth0 16
n=$(burst_received hprc --count 100 --gap 0)
((n >= 20 && n <= 70)) || nat_fail "rate 16 kbit/s: $n of 100 answered at once, want far fewer"
echo "  rate 16 kbit/s: $n of 100 back-to-back answers passed"
lab_rate srv eth0 0
n=$(burst_received hprc --count 100 --gap 0)
[ "$n" = 100 ] || nat_fail "rate removed: $n of 100 answered"

# Nothing crossed the internet but IPv4 and ARP between documentation addresses.
stray=$(lab_stray)
[ "$stray" = 0 ] || nat_fail "the internet dropped $stray packets outside the documentation ranges"
echo "  internet guard: 0 stray packets"

# --- teardown -----------------------------------------------------------------------------
lab_teardown
[ -z "$(lab_netns_left)" ] || fail "namespaces left: $(lab_netns_left)"
echo "torn down: no namespace with prefix $LAB_PREFIX left"
lab_pass
