#!/usr/bin/env bash
# test_udp_edits: UDP flows across route edits that change their sockets or
# their numbering, a delivery target on the sink's LAN, and listen ports
# held by another app at the start.
#   0. held: another app holds gcs1's listen ports of flow b (UDP
#      127.1.0.1:5001) and of flow t (TCP 127.1.0.1:5040) for 2 s as gcs1's
#      client starts: the client says so once, tries again (1 s, then 2 s,
#      ...) and listens within a few seconds of the ports' release, then both
#      flows carry (it used to stay without a listening socket until a
#      restart or an edit).
#   1. lan: drone1 delivers to 10.0.1.1:5031, a host on its LAN (its router
#      here), not to loopback: the source's sending socket must not be bound
#      to 127.1.0.1 (the kernel refuses to send from there to the LAN: every
#      datagram was lost, silently, and counted as delivered).
#   2. rd (multipath = "redundant": every datagram goes as a copy on each
#      path) is removed from routes.conf and added back while the pair keeps
#      its session through the other flows: its new datagrams arrive (its
#      numbers used to start at 1 again, and drone1's duplicate filter took
#      up to 4,095 of them for copies of the old ones).
#   3. a and b swap ports in one save: both listen on their new ports (the
#      first one to be applied found its new port still held by the other,
#      and stayed without a listening socket).
#
#   srv 203.0.113.10/.11; drone1 behind port-restricted dnat (10.0.1.1),
#   gcs1 behind port-restricted gnat; gcs1 is every flow's source.
set -euo pipefail
source "$(dirname "$0")/../../tools/lab/lib.sh"
source "$LAB_ROOT/tools/lab/topo.sh"
lab_init udp_edits
[ "$(id -u)" = 0 ] || fail "needs root for network namespaces"
[ -x "$LAB_BF" ] || fail "$LAB_BF missing (make build-tests builds it)"
TE=$LAB_ROOT/build/release/tests/tcpecho
[ -x "$TE" ] || fail "$TE missing (make build-tests builds it)"

lab_keys server drone1 gcs1
# conf WITH_RD PORT_A PORT_B: routes.conf on stdout.
conf() {
	local rd='  { name = "rd"; proto = "udp"; port = 5020; from = ["gcs1"]; to = ["drone1"]; multipath = "redundant"; },'
	[ "$1" = with ] || rd=""
	lab_routes "keepalive_s = 5;" drone1 gcs1 <<CONF
flows: (
$rd
  { name = "a"; proto = "udp"; port = $2; from = ["gcs1"]; to = ["drone1"]; },
  { name = "b"; proto = "udp"; port = $3; from = ["gcs1"]; to = ["drone1"]; },
  { name = "lan"; proto = "udp"; port = 5031; from = ["gcs1"]; to = ["drone1"];
    deliver = { drone1 = "10.0.1.1:5031"; }; },
  { name = "t"; proto = "tcp"; port = 5040; from = ["gcs1"]; to = ["drone1"]; }
);
CONF
}
save() { # like an editor: by rename
	conf "$@" >"$LAB_DIR/routes.conf.new"
	mv "$LAB_DIR/routes.conf.new" "$LAB_DIR/routes.conf"
}
conf with 5000 5001 >"$LAB_DIR/routes.conf"
lab_two_sites
lab_wh_server srv
# --- 0. listen ports held at the start ----------------------------------------------
lab_start_in drone1 echo "$TE" server --bind 127.0.0.1:5040 --mode echo
lab_start_in gcs1 holder python3 -c 'import socket, time
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.1.0.1", 5001))
t = socket.socket()
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("127.1.0.1", 5040))
t.listen(1)
print("holding", flush=True)
time.sleep(2)'
wait_until 3 grep -q holding "$LAB_DIR/holder.log" || fail "the port holder did not start"
lab_wh_clients drone1 gcs1
wait_until 20 lab_flow_up gcs1 drone1 5000 || fail "flow a does not carry a datagram"
echo "  $(lab_at) flows up"
wait "${LAB_PIDS[holder]}" || fail "the port holder failed: $(cat "$LAB_DIR/holder.log")"
unset 'LAB_PIDS[holder]'
freed_ns=$(date +%s%N)
for f in "b: cannot listen on 127.1.0.1:5001" "t: cannot listen on tcp 127.1.0.1:5040"; do
	[ "$(grep -c "flow $f" "$LAB_DIR/client-gcs1.log")" = 1 ] ||
		fail "gcs1 did not say once that flow $f is taken"
done
wait_until 6 eval 'lab_udp_bound gcs1 127.1.0.1:5001 && lab_tcp_listening gcs1 127.1.0.1:5040' ||
	fail "gcs1 does not listen on the ports 6 s after their release"
held_ms=$((($(date +%s%N) - freed_ns) / 1000000))
grep -q "flow b: listening on 127.1.0.1:5001 now" "$LAB_DIR/client-gcs1.log" ||
	fail "gcs1 did not say flow b listens now"
grep -q "flow t: listening on tcp 127.1.0.1:5040 now" "$LAB_DIR/client-gcs1.log" ||
	fail "gcs1 did not say flow t listens now"
wait_until 5 lab_flow_up gcs1 drone1 5001 || fail "flow b does not carry once it listens"
lab_exec gcs1 "$TE" echo --to 127.1.0.1:5040 --bytes 100000 --conns 2 --timeout-ms 5000 \
	>"$LAB_DIR/held-echo.json" || fail "flow t does not carry once it listens: $(cat "$LAB_DIR/held-echo.json")"
echo "  $(lab_at) held: gcs1 listens on both ports ${held_ms} ms after their release; b and t carry"
log_mark=$(wc -l <"$LAB_DIR/client-gcs1.log")

# stream PORT TAG N: N datagrams from gcs1's app through the flow on PORT to
# the app at BIND (default 127.0.0.1:PORT on drone1); prints how many arrived.
stream() {
	local port=$1 tag=$2 n=$3 ns=${4:-drone1} bind=${5:-127.0.0.1:$1}
	lab_start_in "$ns" "rx-$tag" "$LAB_BF" --bind "$bind" --expect "$n" --linger 300 \
		--timeout $((n * 5 + 4000))
	wait_until 3 lab_udp_bound "$ns" "$bind" || fail "$tag: the receiving app did not start"
	lab_exec gcs1 "$LAB_BF" --bind "127.0.0.1:$port" --to "127.1.0.1:$port" --id g --count "$n" \
		--rate 200 --timeout $((n * 5 + 2000)) >"$LAB_DIR/tx-$tag.log" 2>&1 || true
	lab_stop "rx-$tag" || true
	lab_json "$LAB_DIR/rx-$tag.log" 'j["received"]'
}

# --- 1. a delivery target on the LAN ----------------------------------------------
got=$(stream 5031 lan 100 dnat 10.0.1.1:5031)
echo "  $(lab_at) lan: the app at 10.0.1.1 received $got of 100"
[ "$got" -ge 95 ] || fail "lan: $got of 100 datagrams reached the app on drone1's LAN"
grep -q "flow lan: source gcs1 delivers from 0.0.0.0:" "$LAB_DIR/client-drone1.log" ||
	fail "lan: drone1 did not say its socket for gcs1 is on 0.0.0.0"

# --- 2. a redundant flow removed and added back -----------------------------------
wait_until 15 eval '[ "$(lab_status_field gcs1 "j[\"peers\"][0][\"path\"]")" = direct ]' ||
	fail "no direct path: rd would not send copies"
got=$(stream 5020 rd-before 300)
echo "  $(lab_at) rd: $got of 300 before the edit"
[ "$got" -ge 290 ] || fail "rd: $got of 300 before any edit"
save without 5000 5001
wait_until 5 grep -q "flow rd: removed" "$LAB_DIR/client-drone1.log" || fail "rd was not removed"
save with 5000 5001
wait_until 5 eval '[ "$(grep -c "flow rd: added" "$LAB_DIR/client-drone1.log")" = 2 ]' ||
	fail "rd was not added back on drone1"
wait_until 5 eval '[ "$(grep -c "flow rd: added" "$LAB_DIR/client-gcs1.log")" = 2 ]' ||
	fail "rd was not added back on gcs1"
got=$(stream 5020 rd-after 300)
echo "  $(lab_at) rd: $got of 300 after it was removed and added back"
[ "$got" -ge 290 ] || fail "rd: $got of 300 after the re-add (taken for copies of the old ones?)"

# --- 3. two flows swap ports ------------------------------------------------------
save with 5001 5000
wait_until 5 eval '[ "$(grep -c "flow a: changed" "$LAB_DIR/client-gcs1.log")" -ge 1 ] &&
	[ "$(grep -c "flow b: changed" "$LAB_DIR/client-gcs1.log")" -ge 1 ]' ||
	fail "the swap did not reach gcs1"
wait_until 3 eval 'lab_udp_bound gcs1 127.1.0.1:5000 && lab_udp_bound gcs1 127.1.0.1:5001' ||
	fail "after the swap gcs1 does not listen on both ports: $(grep "cannot listen" "$LAB_DIR/client-gcs1.log" | tail -1)"
! tail -n +$((log_mark + 1)) "$LAB_DIR/client-gcs1.log" | grep -q "cannot listen" ||
	fail "gcs1: $(grep "cannot listen" "$LAB_DIR/client-gcs1.log" | tail -1)"
got=$(stream 5001 a-swapped 50)
[ "$got" -ge 48 ] || fail "flow a on its new port 5001: $got of 50"
got=$(stream 5000 b-swapped 50)
[ "$got" -ge 48 ] || fail "flow b on its new port 5000: $got of 50"
echo "  $(lab_at) a and b swapped ports: both listen and carry"
lab_pass
