#!/usr/bin/env bash
# test_punch: hole punching for every pair of NAT types (issue #6,
# acceptance 1; DESIGN §5.3). Seventeen clients, two behind a router of each
# type (a and b): one flow per pair {Ta, Tb'} for every unordered pair of
# types (T, T'), 21 pairs, all punched at once through one server. Every
# pair must end up on a direct path except a random symmetric NAT with any
# symmetric one, which stays on the relay; a symmetric NAT that hands out
# ports in sequence must meet another such NAT, or a restricted or
# port-restricted cone, by port prediction (strategy predict). Every pair's
# flow must carry datagrams both ways afterwards.
# Prints, per pair, the path reached, the strategy and the time from "both
# registered" (the later of the two clients' `online` lines in the server
# log) to the server's `path ... direct` line.
#
#        srv 203.0.113.10/.11 (wormhole-server)
#                    | internet
#   routers 198.51.100.1-12: a and b of none, full-cone, restricted-cone,
#   port-restricted-cone, symmetric, symmetric-seq; one client behind each.
#
# One more client, prl, sits behind pra's router: the pair {pra, prl} shares
# a public IP and must go direct over the LAN (strategy lan). Four more sit
# behind double NAT, a home router each (same LAN range and address) behind a
# carrier-grade NAT: cga and cgb behind one that does not hairpin, hga and
# hgb behind one that does. cga must classify as port-restricted cone and
# punch through both NATs to prb; each pair shares a public IP and tries
# strategy lan: {cga, cgb} finds no path (their LANs are apart, no hairpin)
# and must stay on the relay, its flow working; {hga, hgb} must go direct
# through the hairpin, at their public address. A host beside
# sqb makes new mappings on its NAT all along (about 250/s), as other
# machines on an office network do: predict must meet all the same.
# Last, the server's strategy memory: cgs sits behind a symmetric router of
# its own under cga's carrier NAT (one public IP), and starts once cga and
# prb went direct by simultaneous probes: it must not get that remembered
# strategy (it cannot work for a symmetric NAT) but a spray, and go direct.
# PUNCH_TYPES (space-separated subset of the six) limits the matrix.
set -euo pipefail
source "$(dirname "$0")/../../tools/lab/lib.sh"
source "$LAB_ROOT/tools/lab/topo.sh"
lab_init punch
[ "$(id -u)" = 0 ] || fail "needs root for network namespaces"
BF=${BENCH_FLOW:-$LAB_ROOT/build/release/tools/bench_flow}
[ -x "$BF" ] || fail "$BF missing (make build-tests builds it)"
KG=$LAB_BIN/wormhole-keygen
read -r -a TYPES <<<"${PUNCH_TYPES:-none full-cone restricted-cone port-restricted-cone symmetric symmetric-seq}"
WAIT_S=${PUNCH_WAIT_S:-25}

short() { # a client-name-friendly tag per type
	case $1 in
	none) echo op ;; full-cone) echo fc ;; restricted-cone) echo rc ;;
	port-restricted-cone) echo pr ;; symmetric) echo sy ;; symmetric-seq) echo sq ;;
	*) echo "$1" ;;
	esac
}

lab_server srv 203.0.113.10 203.0.113.11
"$KG" genkey -o "$LAB_DIR/server.key"
pub() { "$KG" pubkey <"$LAB_DIR/$1.key"; }

CLIENTS=()
LATE=()
n=0
for t in "${TYPES[@]}"; do
	for side in a b; do
		n=$((n + 1))
		c="$(short "$t")$side"
		if [ "$t" = none ]; then
			# A public host: the router only routes (documentation range LAN).
			lan="198.51.100.$((128 + (n - 1) * 8))/29"
			ip="198.51.100.$((128 + (n - 1) * 8 + 2))"
		else
			lan="10.0.$n.0/24"
			ip="10.0.$n.2"
		fi
		lab_nat "r$c" "$t" "198.51.100.$n" "$lan"
		lab_host "$c" "r$c" "$ip"
		"$KG" genkey -o "$LAB_DIR/$c.key"
		CLIENTS+=("$c")
		if [ "$c" = pra ]; then
			lab_host prl rpra "10.0.$n.3"
			"$KG" genkey -o "$LAB_DIR/prl.key"
			CLIENTS+=(prl)
		fi
		if [ "$c" = sqb ]; then
			lab_host noise rsqb "10.0.$n.3" # another host on sqb's office LAN
		fi
	done
done

# Double NAT: two drones on one LTE carrier. cga and cgb sit each behind a
# home router (port-restricted cone) on the same LAN range with the same
# address, both routers behind one carrier-grade NAT (port-restricted cone,
# 198.51.100.13) that does not hairpin; hga and hgb likewise behind one that
# does (198.51.100.14).
if [[ " ${TYPES[*]} " == *" port-restricted-cone "* ]]; then
	for g in cg hg; do
		if [ $g = cg ]; then
			lab_nat cgn port-restricted-cone 198.51.100.13 10.64.0.0/24
		else
			lab_nat hgn port-restricted-cone 198.51.100.14 10.64.0.0/24 hairpin
		fi
		for side in a b; do
			lab_nat_inner "${g}h$side" port-restricted-cone "${g}n" \
				"10.64.0.$([ $side = a ] && echo 2 || echo 3)" 192.168.8.0/24
			lab_host "$g$side" "${g}h$side" 192.168.8.2
			"$KG" genkey -o "$LAB_DIR/$g$side.key"
			CLIENTS+=("$g$side")
		done
	done
	# Started last (see the end): in routes.conf, not in CLIENTS.
	lab_nat_inner cghs symmetric cgn 10.64.0.4 192.168.8.0/24
	lab_host cgs cghs 192.168.8.2
	"$KG" genkey -o "$LAB_DIR/cgs.key"
	LATE=(cgs)
fi

# One flow per unordered pair of types: Ta with T'b.
PAIRS=()
port=20000
flows=""
for ((i = 0; i < ${#TYPES[@]}; i++)); do
	for ((j = i; j < ${#TYPES[@]}; j++)); do
		a="$(short "${TYPES[$i]}")a"
		b="$(short "${TYPES[$j]}")b"
		PAIRS+=("$a:$b:$port")
		flows+="  { name = \"p_${a}_${b}\"; proto = \"udp\"; port = $port; members = [\"$a\", \"$b\"]; },"$'\n'
		port=$((port + 1))
	done
done
if [[ " ${CLIENTS[*]} " == *" prl "* ]]; then
	PAIRS+=("pra:prl:$port")
	flows+="  { name = \"p_pra_prl\"; proto = \"udp\"; port = $port; members = [\"pra\", \"prl\"]; },"$'\n'
fi
if [[ " ${CLIENTS[*]} " == *" cga "* ]]; then
	# Through both NATs to a cone elsewhere; to each other by their one
	# public address: the LAN addresses lead nowhere, so the relay stays
	# unless the carrier NAT hairpins.
	for p in "cga:prb:$((port + 1))" "cga:cgb:$((port + 2))" "hga:hgb:$((port + 3))"; do
		IFS=: read -r a b q <<<"$p"
		PAIRS+=("$p")
		flows+="  { name = \"p_${a}_${b}\"; proto = \"udp\"; port = $q; members = [\"$a\", \"$b\"]; },"$'\n'
	done
	flows+="  { name = \"p_cgs_prb\"; proto = \"udp\"; port = $((port + 4)); members = [\"cgs\", \"prb\"]; },"$'\n'
fi
{
	echo 'flows: ('
	echo -n "${flows%,$'\n'}"
	echo
	echo ');'
} | lab_routes "keepalive_s = 10; api = { listen = \"203.0.113.10:7480\"; tokens = [\"t0k3n-punch-lab-0001\"]; };" \
	"${CLIENTS[@]}" "${LATE[@]}" >"$LAB_DIR/routes.conf"

# The host beside sqb takes a new mapping from their sequential NAT about
# every 4 ms (a fresh socket per datagram to the server's discard port), so
# sqb's NAT hands out ports to someone else while the pair predicts: 12 s,
# at most 3000 datagrams.
if [[ " ${TYPES[*]} " == *" symmetric-seq "* ]]; then
	lab_start_in noise noise python3 -c '
import socket, time
end = time.monotonic() + 12
for i in range(3000):
    if time.monotonic() > end:
        break
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b"x", ("203.0.113.10", 9))
    s.close()
    time.sleep(0.004)
'
fi
lab_start_in srv server "$LAB_BIN/wormhole-server" -c "$LAB_DIR/routes.conf" --log-level debug
wait_until 5 grep -q "server: running" "$LAB_DIR/server.log" || fail "server did not start"
for c in "${CLIENTS[@]}" "${LATE[@]}"; do
	cat >"$LAB_DIR/$c.ini" <<INI
[client]
id = $c
key_file = $c.key
server = 203.0.113.10:7400
server_key = $(pub server)
INI
	[[ " ${LATE[*]} " == *" $c "* ]] ||
		lab_start_in "$c" "client-$c" "$LAB_BIN/wormhole-client" -c "$LAB_DIR/$c.ini" --log-level debug
done

# Wait until every pair that should go direct did (bounded).
# Relay only: a random symmetric NAT with a symmetric one (sy with sy or sq).
expect_direct() {
	[[ ! (($1 == sy? && $2 == s[yq]?) || ($1 == sq? && $2 == sy?) || $1-$2 == cga-cgb) ]]
}
all_direct() {
	local p a b
	for p in "${PAIRS[@]}"; do
		IFS=: read -r a b _ <<<"$p"
		expect_direct "$a" "$b" || continue
		grep -q "path $a -> $b: direct\|path $b -> $a: direct" "$LAB_DIR/server.log" || return 1
	done
}
wait_until "$WAIT_S" all_direct || true

# Report: path, strategy, time from both online to the first direct line.
report=$(python3 - "$LAB_DIR/server.log" "${PAIRS[@]}" <<'PY'
import re, sys, datetime
log = open(sys.argv[1]).read().splitlines()
def ts(line):
    return datetime.datetime.strptime(line[:23], "%Y-%m-%dT%H:%M:%S.%f").timestamp()
online, direct, strat = {}, {}, {}
for line in log:
    m = re.search(r"client (\S+): online", line)
    if m and m.group(1) not in online:
        online[m.group(1)] = ts(line)
    m = re.search(r"path (\S+) -> (\S+): direct via \S+ strategy=(\S+)", line)
    if m:
        key = tuple(sorted((m.group(1), m.group(2))))
        if key not in direct:
            direct[key] = ts(line)
            strat[key] = m.group(3)
    m = re.search(r"punch (\S+) <-> (\S+): strategy=(\S+)", line)
    if m:
        key = tuple(sorted((m.group(1), m.group(2))))
        strat.setdefault(key, m.group(3))
for p in sys.argv[2:]:
    a, b, _ = p.split(":")
    key = tuple(sorted((a, b)))
    if key in direct and a in online and b in online:
        ms = (direct[key] - max(online[a], online[b])) * 1000
        print(f"{a}-{b} direct strategy={strat.get(key, '?')} time_ms={ms:.0f}")
    else:
        print(f"{a}-{b} relay strategy={strat.get(key, 'none')}")
PY
)
echo "$report"

bad=""
for p in "${PAIRS[@]}"; do
	IFS=: read -r a b _ <<<"$p"
	line=$(grep "^$a-$b " <<<"$report")
	if [ "$b" = prl ]; then
		[[ $line == *" direct strategy=lan "* ]] || bad+=" $a-$b(not lan)"
	elif [ "$a-$b" = cga-cgb ]; then
		[[ $line == *" relay strategy=lan" ]] || bad+=" $a-$b(not lan, or direct)"
	elif [ "$a-$b" = hga-hgb ]; then
		[[ $line == *" direct strategy=lan "* ]] || bad+=" $a-$b(not lan)"
	elif [[ $a-$b == sqa-sqb || $a-$b == [rp][cr]a-sqb ]]; then
		# Sequential symmetric with sequential symmetric or a cone
		# that filters: port prediction, no spray.
		[[ $line == *" direct strategy=predict "* ]] || bad+=" $a-$b(not predict)"
	elif expect_direct "$a" "$b"; then
		[[ $line == *" direct "* ]] || bad+=" $a-$b(relay)"
	else
		[[ $line == *" relay "* ]] || bad+=" $a-$b(direct?)"
	fi
done
[ -z "$bad" ] || fail "pairs not where they should be:$bad"
if [[ " ${CLIENTS[*]} " == *" prl "* ]]; then
	grep -q "path pr[al] -> pr[al]: direct via 10\.0\." "$LAB_DIR/server.log" ||
		fail "the pair behind one NAT did not use its LAN addresses"
fi

# The API shows why sqa and sqb could predict: their NATs' port step.
api() { lab_exec srv curl -s --max-time 5 -H "Authorization: Bearer t0k3n-punch-lab-0001" "http://203.0.113.10:7480$1"; }
if [[ " ${CLIENTS[*]} " == *" hga "* ]]; then
	grep -q "path hg[ab] -> hg[ab]: direct via 198\.51\.100\.14:" "$LAB_DIR/server.log" ||
		fail "the pair behind a hairpinning carrier NAT did not meet at its public address"
fi
if [[ " ${CLIENTS[*]} " == *" cga "* ]]; then
	# Two port-restricted cones in a row behave as one.
	api /api/v1/clients/cga | grep -q '"nat_class":"port-restricted-cone"' ||
		fail "cga behind two NATs: $(api /api/v1/clients/cga)"
fi
if [[ " ${CLIENTS[*]} " == *" sqa "* ]]; then
	api /api/v1/clients/sqa | grep -q '"nat_class":"symmetric","nat_port_step":1' ||
		fail "the API does not show sqa's NAT port step: $(api /api/v1/clients/sqa)"
fi
if [[ " ${CLIENTS[*]} " == *" sya "* ]]; then
	api /api/v1/clients/sya | grep -q '"nat_class":"symmetric","nat_port_step":null' ||
		fail "the API shows a port step for sya's random NAT: $(api /api/v1/clients/sya)"
fi

# Every pair's flow carries traffic both ways now (direct, or the relay for
# the random symmetric pairs): 200 datagrams each way, all delivered. Each app
# waits 1 s before sending, so that its peer's app (one of 54 started at once
# on a busy machine) has bound its socket: once a late app lost the first 19
# datagrams its client had delivered.
pids=()
for p in "${PAIRS[@]}"; do
	IFS=: read -r a b port <<<"$p"
	lab_exec "$b" "$BF" --bind "127.0.0.1:$port" --to "127.1.0.1:$port" --id "$b" \
		--count 200 --rate 400 --expect 200 --delay 1000 --timeout 8000 \
		>"$LAB_DIR/bf-$a-$b-b.json" 2>&1 &
	pids+=($!)
	lab_exec "$a" "$BF" --bind "127.0.0.1:$port" --to "127.1.0.1:$port" --id "$a" \
		--count 200 --rate 400 --expect 200 --delay 1000 --timeout 8000 \
		>"$LAB_DIR/bf-$a-$b-a.json" 2>&1 &
	pids+=($!)
done
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=$((failed + 1)); done
[ "$failed" = 0 ] || {
	grep -l '"ok":false\|error' "$LAB_DIR"/bf-*.json | head -5 >&2 || true
	fail "$failed flow apps did not get all their datagrams"
}
# The data went direct: no pair that is direct fell back meanwhile.
! grep -q "fallback to relay" "$LAB_DIR/server.log" || fail "a direct path fell back during the test"

# Strategy memory: cga and prb went direct by simultaneous probes, which the
# server keeps for the carrier NAT's address and prb's. cgs, behind that
# address too but behind a symmetric router, must get a spray (a cone and a
# symmetric NAT), not the remembered strategy, and be direct within 25 s
# (about 2 s: its NAT class, then the spray; 25 s covers a failed spray
# and its 10 s back-off).
if [ ${#LATE[@]} -gt 0 ]; then
	grep -q "punch cga <-> prb: strategy=simultaneous" "$LAB_DIR/server.log" ||
		fail "cga and prb did not punch by simultaneous probes: nothing remembered"
	lab_start_in cgs client-cgs "$LAB_BIN/wormhole-client" -c "$LAB_DIR/cgs.ini" --log-level debug
	t0=$(date +%s%3N)
	wait_until 25 grep -q "path cgs -> prb: direct\|path prb -> cgs: direct" "$LAB_DIR/server.log" || {
		grep "punch cgs <-> prb" "$LAB_DIR/server.log" | tail -3 >&2 || true
		fail "cgs (symmetric, behind cga's carrier NAT) not direct with prb within 25 s"
	}
	echo "cgs-prb direct strategy=$(grep -o "punch cgs <-> prb: strategy=[a-z]*" "$LAB_DIR/server.log" |
		tail -1 | cut -d= -f2) time_ms=$(($(date +%s%3N) - t0)) (from its start)"
	! grep -q "punch cgs <-> prb: strategy=simultaneous" "$LAB_DIR/server.log" ||
		fail "cgs was sent cga's remembered simultaneous strategy"
fi
lab_pass
