#!/usr/bin/env bash
# test_nat_report: the daemon classifies its NAT from its main socket and
# reports it to the server (issue #5), and recovers from a NAT rebinding
# without a restart (issue #4, DESIGN §5.4).
#
#                 +-------------------------------+
#                 | srv  203.0.113.10, .11        |
#                 | wormhole-server :7400/:7401   |
#                 | keepalive_s = 2, relay ports  |
#                 +---------------+---------------+
#                                 | internet (bridge)
#              +------------------+------------------+
#              | gnat port-restr.                    | dnat symmetric
#              | 198.51.100.2                        | 198.51.100.1
#              +--------+---------+        +---------+--------+
#                       |                            |   <- conntrack -F here
#                  gcs1 10.0.2.2                drone1 10.0.1.2
#
# Flow mavlink N:N {drone1, gcs1}; the apps are tools/bench_flow. The server
# must log each client's class. Then drone1's router forgets every mapping
# while a 100/s stream runs both ways: drone1 must log the changed mapped
# address, the server must see the new address, and the stream must lose at
# most 3 s worth; a burst sent afterwards must arrive whole.
set -euo pipefail
source "$(dirname "$0")/../../tools/lab/lib.sh"
source "$LAB_ROOT/tools/lab/topo.sh"
lab_init nat_report
[ "$(id -u)" = 0 ] || fail "needs root for network namespaces"
command -v conntrack >/dev/null || fail "conntrack missing (make deps installs it)"
BF=${BENCH_FLOW:-$LAB_ROOT/build/release/tools/bench_flow}
[ -x "$BF" ] || fail "$BF missing (make build-tests builds it)"

lab_keys server drone1 gcs1
lab_routes 'keepalive_s = 2;' drone1 gcs1 >"$LAB_DIR/routes.conf" <<CONF
flows: (
  { name = "mavlink"; proto = "udp"; port = 14550; members = ["drone1", "gcs1"]; }
);
CONF

lab_two_sites symmetric

lab_wh_server srv
lab_wh_clients drone1 gcs1

# 1. Each client finds its class from its main socket and the server logs it
#    (server/conn.c: "online ... nat=X" or, once known later, "nat=X was=...").
wait_until 10 grep -Eq "client gcs1: .*nat=port-restricted-cone( |$)" "$LAB_DIR/server.log" ||
	fail "server never reported gcs1 as port-restricted: $(grep 'client gcs1' "$LAB_DIR/server.log")"
wait_until 10 grep -Eq "client drone1: .*nat=symmetric( |$)" "$LAB_DIR/server.log" ||
	fail "server never reported drone1 as symmetric: $(grep 'client drone1' "$LAB_DIR/server.log")"
grep -q "nat: port-restricted-cone mapping=endpoint-independent filtering=address-and-port-dependent mapped=198.51.100.2:" \
	"$LAB_DIR/client-gcs1.log" || fail "gcs1 did not log its class: $(grep 'nat:' "$LAB_DIR/client-gcs1.log")"
grep -q "nat: symmetric mapping=address-and-port-dependent filtering=address-and-port-dependent mapped=198.51.100.1:[0-9]* ports=random step=0 " \
	"$LAB_DIR/client-drone1.log" || fail "drone1 did not log its class: $(grep 'nat:' "$LAB_DIR/client-drone1.log")"
echo "  server: $(grep -Eo 'client gcs1: .*nat=port-restricted' "$LAB_DIR/server.log" | tail -1)"
echo "  server: $(grep -Eo 'client drone1: .*nat=symmetric' "$LAB_DIR/server.log" | tail -1)"

# Apps run through lab_start_in (recorded PIDs); each prints one JSON line.
json() { python3 -c 'import json,sys; j=json.loads(open(sys.argv[1]).read().strip().splitlines()[-1]); print(eval(sys.argv[2]))' "$1" "$2"; }
app_wait() {
	wait "${LAB_PIDS[$1]}" || true
	unset "LAB_PIDS[$1]"
}
# flow_up: one datagram gets across each way.
flow_up() {
	local a
	for a in drone1 gcs1; do
		lab_start_in "$a" "up_$a" "$BF" --bind 127.0.0.1:14550 --to 127.1.0.1:14550 --id "$a" \
			--count 5 --rate 50 --delay 100 --expect 1 --timeout 1000 --linger 0
	done
	app_wait up_drone1
	app_wait up_gcs1
	[ "$(json "$LAB_DIR/up_drone1.log" 'j["received"] > 0')" = True ] &&
		[ "$(json "$LAB_DIR/up_gcs1.log" 'j["received"] > 0')" = True ]
}
wait_until 20 flow_up || fail "mavlink never came up both ways"
echo "  mavlink up through the relay"

# 2. A NAT rebinding during a 100/s stream each way (10 s): drone1's router
#    forgets every mapping 3 s in, so its new packets get new public ports.
now_ms() { date +%s%3N; }
past() { [ "$(now_ms)" -ge "$1" ]; }
COUNT=1000
for a in drone1 gcs1; do
	lab_start_in "$a" "s_$a" "$BF" --bind 127.0.0.1:14550 --to 127.1.0.1:14550 --id "$a" \
		--count $COUNT --rate 100 --delay 200 --expect $COUNT --timeout 12500
done
t_start=$(now_ms)
addr_lines=$(grep -c "client drone1: address" "$LAB_DIR/server.log" || true)
wait_until 5 past $((t_start + 3200)) || fail "clock"
t_flush=$(now_ms)
lab_exec dnat conntrack -F >/dev/null 2>&1 || fail "conntrack -F failed in dnat"
wait_until 5 grep -q "nat: mapped address changed" "$LAB_DIR/client-drone1.log" ||
	fail "drone1 did not notice its new mapping"
t_seen=$(now_ms)
change=$(grep -o "nat: mapped address changed .*" "$LAB_DIR/client-drone1.log" | head -1)
new_addr=${change##* -> }
wait_until 5 grep -q "client drone1: address .* -> $new_addr\$" "$LAB_DIR/server.log" ||
	fail "server never saw drone1 at $new_addr: $(grep 'client drone1' "$LAB_DIR/server.log")"
[ "$(grep -c "client drone1: address" "$LAB_DIR/server.log")" -gt "$addr_lines" ] || fail "no new address line"
echo "  drone1: ${change#nat: } (noticed $((t_seen - t_flush)) ms after the flush)"
echo "  server: $(grep -o "client drone1: address .*" "$LAB_DIR/server.log" | tail -1)"
! grep -q "nat: mapped address changed" "$LAB_DIR/client-gcs1.log" || fail "gcs1's mapping did not change, yet it says so"

app_wait s_drone1
app_wait s_gcs1
for a in drone1 gcs1; do
	got=$(json "$LAB_DIR/s_$a.log" 'j["received"]')
	[ "$(json "$LAB_DIR/s_$a.log" 'j["corrupt"] + j["dup"]')" = 0 ] || fail "s_$a: $(cat "$LAB_DIR/s_$a.log")"
	# 3 s at 100/s.
	[ "$got" -ge $((COUNT - 300)) ] || fail "$a received $got of $COUNT: more than 3 s lost"
	echo "  stream to $a: $got of $COUNT arrived (gap about $(((COUNT - got) * 10)) ms)"
done

# 3. After the change every datagram arrives, both ways.
for a in drone1 gcs1; do
	lab_start_in "$a" "b_$a" "$BF" --bind 127.0.0.1:14550 --to 127.1.0.1:14550 --id "$a" \
		--count 200 --rate 100 --delay 200 --expect 200 --timeout 6000
done
app_wait b_drone1
app_wait b_gcs1
for a in drone1 gcs1; do
	[ "$(json "$LAB_DIR/b_$a.log" 'j["received"] == 200 and j["corrupt"] == 0')" = True ] ||
		fail "burst to $a after the rebinding: $(cat "$LAB_DIR/b_$a.log")"
done
echo "  burst after the rebinding: 200 of 200 each way"

lab_teardown
lab_pass
