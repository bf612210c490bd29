#!/usr/bin/env bash
# test_uplink_idle: a drone with two uplinks and no peer online loses the
# uplink its server session runs on (cut, its interface up: coverage gone).
# With no peer there are no relay pings to tell (test_multipath_relay), and
# its keepalive (the default 25 s) would notice up to 28 s later: a join or a
# GCS coming online meanwhile would wait that long. A FLOW_JOIN or REGISTER
# left unanswered makes the client check the server at once; so does a
# route set that comes by another uplink than the session's (the server
# resends an unacked set by every uplink of the client).
#
# Topology as test_uplink_ctl: srv (203.0.113.10/.11); drone with lte1 (eth0,
# uplink 0) behind nata and lte2 (eth1, uplink 1) behind natb; gcs behind
# gnat, not started at first. Flows: down (gcs -> drone) and mesh (gcs, and
# anyone may join).
#  1. The drone comes up on lte1; lte2 registers as its second uplink.
#  2. lte1 cut both ways, a few seconds after the session came up (its next
#     keepalive is about 20 s away), and at once the drone asks to join mesh
#     (`wormhole-client join`): its FLOW_JOIN leaves by lte1 and is lost; the
#     resend a second later makes it check the server, the session moves to
#     lte2 and the join is answered within its 5 s (about 3 s here; the build
#     before: "the server did not answer").
#  3. lte1 healed: it registers as the second uplink within 10 s (its
#     REGISTER is resent until answered; status says so). lte2 (the
#     session's now) cut; 1 s later gcs starts: the drone's route set changes
#     (its peer is online), the server's copy by lte2 is lost and goes again
#     by lte1 1 s later; the drone says why it checks the server, its session
#     moves to lte1 and the flow down carries datagrams within 10 s of gcs
#     starting (about 4 s here; the build before waited for the keepalive:
#     more than 20 s).
#  4. lte2 healed (registered again), lte1 (the session's) cut, the drone
#     stopped (SIGTERM): its LEAVE goes by every uplink, so the server marks
#     it offline at once and a new process would not wait for a probe (the
#     build before sent it by the dead uplink alone).
set -euo pipefail
source "$(dirname "$0")/../../tools/lab/lib.sh"
source "$LAB_ROOT/tools/lab/topo.sh"
lab_init uplink_idle
[ "$(id -u)" = 0 ] || fail "needs root for network namespaces"
[ -x "$LAB_BF" ] || fail "$LAB_BF missing (make build-tests builds it)"

lab_keys server drone gcs
lab_routes '' drone gcs >"$LAB_DIR/routes.conf" <<CONF
flows: ( { name = "down"; proto = "udp"; port = 14550; from = ["gcs"]; to = ["drone"]; },
         { name = "mesh"; proto = "udp"; port = 14570; members = ["gcs"]; joinable = true; } );
CONF
lab_server srv 203.0.113.10 203.0.113.11
lab_nat nata port-restricted-cone 198.51.100.1 10.0.2.0/24
lab_nat natb port-restricted-cone 198.51.100.2 10.0.3.0/24
lab_nat gnat port-restricted-cone 198.51.100.3 10.0.1.0/24
lab_host drone nata 10.0.2.2
lab_uplink drone natb 10.0.3.2
lab_host gcs gnat 10.0.1.2

session_on() { [ "$(lab_status_field drone 'j["server"]["session"], j["server"]["uplink"]')" = "('up', $1)" ]; }
lte2_registered() { grep -q "client drone: uplink 1 (lte2) .*198\.51\.100\.2" "$LAB_DIR/server.log"; }

lab_wh_server srv
lab_client_ini drone 203.0.113.10:7400 "[uplink lte1]
source = 10.0.2.2
[uplink lte2]
source = 10.0.3.2"
lab_client_ini gcs 203.0.113.10:7400
lab_wh_client drone

# --- 1. up on lte1, lte2 registered --------------------------------------------
wait_until 10 session_on 0 || fail "step 1: the drone's session did not come up on lte1"
wait_until 10 lte2_registered || fail "step 1: the server did not register the drone's lte2"
ups() { lab_status_field drone '" ".join("%d:%s" % (u["id"], u["server"]) for u in j["uplinks"])'; }
wait_until 3 eval '[ "$(ups)" = "0:session 1:registered" ]' ||
	fail "step 1: status says the uplinks are \"$(ups)\", want \"0:session 1:registered\""
echo "  $(lab_at) drone up on lte1, lte2 registered"

# --- 2. a join by a dead uplink -----------------------------------------------------
lab_cut drone eth0
t=$(date +%s%3N)
rc=0
out=$(lab_exec drone timeout 20 "$LAB_BIN/wormhole-client" -c "$LAB_DIR/drone.ini" join mesh 2>&1) || rc=$?
echo "  $(lab_at) join by a dead uplink: \"$out\" (exit $rc) after $(($(date +%s%3N) - t)) ms"
[ "$rc" = 0 ] && [[ $out == "joined mesh"* ]] || fail "step 2: the join failed: exit $rc: $out"
grep -q "server: a FLOW_JOIN went unanswered, checking that the server is still there" \
	"$LAB_DIR/client-drone.log" || fail "step 2: the drone did not say why it checked the server"
session_on 1 || fail "step 2: the session is not on lte2 (status: $(lab_status_field drone 'j["server"]'))"

# --- 3. the dead uplink misses a route set; the peer comes online --------------------
# lte1, back, registers as the second uplink within seconds (its REGISTER,
# lost while it was cut, is resent 2, 4, 8... s apart until answered), not at
# its next keepalive.
lab_heal drone eth0
t=$(date +%s%3N)
lte1_registered() { grep -q "client drone: uplink 0 (lte1) addr=198\.51\.100\.1:" "$LAB_DIR/server.log"; }
wait_until 10 lte1_registered || fail "step 3: lte1 did not register as the second uplink within 10 s"
echo "  $(lab_at) lte1 registered as the second uplink $(($(date +%s%3N) - t)) ms after the heal"
wait_until 3 eval '[ "$(ups)" = "0:registered 1:session" ]' ||
	fail "step 3: status says the uplinks are \"$(ups)\", want \"0:registered 1:session\""
lab_cut drone eth1
sleep 1
lab_wh_client gcs
t=$(date +%s%3N)
wait_until 10 session_on 0 ||
	fail "step 3: the drone's session did not move to lte1 within 10 s (status: $(lab_status_field drone 'j["server"]'))"
echo "  $(lab_at) session on lte1 $(($(date +%s%3N) - t)) ms after gcs started"
wait_until 10 lab_flow_up gcs drone 14550 || fail "step 3: the flow does not carry a datagram"
ms=$(($(date +%s%3N) - t))
echo "  $(lab_at) flow up $ms ms after gcs started"
[ "$ms" -le 10000 ] || fail "step 3: the flow came up only $ms ms after gcs started (limit 10000)"
grep -q "server: its route set came again by uplink lte1: it did not hear our ack by uplink lte2, checking that the server is still there" \
	"$LAB_DIR/client-drone.log" || fail "step 3: the drone did not say why it checked the server"
grep -q "client drone: route set .*(unacked: again, by every uplink)" "$LAB_DIR/server.log" ||
	fail "step 3: the server did not resend the route set by every uplink"

# --- 4. a clean stop with the session's uplink dead ------------------------------------
lab_heal drone eth1
wait_until 10 eval '[ "$(ups)" = "0:session 1:registered" ]' ||
	fail "step 4: status says the uplinks are \"$(ups)\", want \"0:session 1:registered\""
lab_cut drone eth0
lab_stop client-drone || fail "step 4: the drone did not stop cleanly"
wait_until 2 grep -q "client drone: offline (its process stopped)" "$LAB_DIR/server.log" ||
	fail "step 4: the server did not hear the drone stop (LEAVE by lte2)"
echo "  $(lab_at) drone stopped with lte1 cut: the server heard its LEAVE by lte2"
lab_teardown
lab_pass
