#!/usr/bin/env bash
# test_natcheck: NAT classification against the real server (issue #5,
# acceptance 1, 2 and 4).
#
#                 +------------------------------+
#                 | srv  203.0.113.10, .11       |
#                 | wormhole-server :7400/:7401  |
#                 +--------------+---------------+
#                                | internet (bridge)
#   +------------+-------------+-+-----------+-------------+--------------+
#   | open       | fc          | rc          | prc         | sym          |
#   | none       | full-cone   | restr.-cone | port-restr. | symmetric    |
#   | .100.1     | .100.2      | .100.3      | .100.4      | .100.5       |
#   +-----+------+------+------+------+------+------+------+-------+------+
#         |             |             |             |              |
#      hopen          hfc           hrc           hprc           hsym
#   198.51.100.130  10.0.2.2      10.0.3.2      10.0.4.2       10.0.5.2
#                                                   |              |
#                                                   +---- hmp -----+
#                                        uplink lte1 10.0.4.3   lte2 10.0.5.3
#
# Each host runs `wormhole-client natcheck --json` and must report the type,
# mapping and filtering its router makes, within 2 s. hmp has two uplinks:
# natcheck classifies each (text and JSON), and an uplink whose address is
# gone reports its error without losing the others. Debian's stun client
# (RFC 3489) run against the same server must agree for full cone,
# port-restricted cone and symmetric, and coturn's turnutils_natdiscovery
# (RFC 5780, also with PADDING) for the four NATs. With the server's alternate address
# silent the answer is still definite; with UDP cut it is "udp-blocked".
set -euo pipefail
source "$(dirname "$0")/../../tools/lab/lib.sh"
source "$LAB_ROOT/tools/lab/topo.sh"
lab_init natcheck
[ "$(id -u)" = 0 ] || fail "needs root for network namespaces"
command -v stun >/dev/null || fail "Debian's stun client is missing (make deps installs stun-client)"
NATDISC=$LAB_ROOT/build/coturn/usr/bin/turnutils_natdiscovery
[ -x "$NATDISC" ] || fail "$NATDISC missing (make deps unpacks it from coturn)"

KG=$LAB_BIN/wormhole-keygen
"$KG" genkey -o "$LAB_DIR/server.key"
SPUB=$("$KG" pubkey <"$LAB_DIR/server.key")
lab_routes '' >"$LAB_DIR/routes.conf" <<CONF
flows: ( );
CONF

lab_server srv 203.0.113.10 203.0.113.11
lab_nat open none 198.51.100.1 198.51.100.128/25
lab_host hopen open 198.51.100.130
lab_nat fc full-cone 198.51.100.2 10.0.2.0/24
lab_host hfc fc 10.0.2.2
lab_nat rc restricted-cone 198.51.100.3 10.0.3.0/24
lab_host hrc rc 10.0.3.2
lab_nat prc port-restricted-cone 198.51.100.4 10.0.4.0/24
lab_host hprc prc 10.0.4.2
lab_nat sym symmetric 198.51.100.5 10.0.5.0/24
lab_host hsym sym 10.0.5.2
lab_host hmp prc 10.0.4.3
lab_uplink hmp sym 10.0.5.3

lab_start_in srv server "$LAB_BIN/wormhole-server" -c "$LAB_DIR/routes.conf"
wait_until 5 grep -q "server: running" "$LAB_DIR/server.log" || fail "server did not start"

for h in hopen hfc hrc hprc hsym; do
	cat >"$LAB_DIR/$h.ini" <<INI
[client]
id = $h
key = $("$KG" genkey)
server = 203.0.113.10:7400
server_key = $SPUB
INI
	chmod 600 "$LAB_DIR/$h.ini"
done

# json_field FILE KEY: the value of a top-level JSON field (strings unquoted).
json_field() {
	python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))[sys.argv[2]]; print(str(v).lower() if isinstance(v,bool) else v)' "$1" "$2"
}

natcheck() {
	local host=$1 out=$LAB_DIR/$1.json
	lab_exec "$host" timeout 10 "$LAB_BIN/wormhole-client" -c "$LAB_DIR/$host.ini" natcheck --json \
		>"$out" 2>"$LAB_DIR/$host.natcheck.err" || fail "$host: natcheck failed: $(cat "$LAB_DIR/$host.natcheck.err")"
}

# expect HOST TYPE MAPPING FILTERING
expect() {
	local host=$1 type=$2 mapping=$3 filtering=$4 out=$LAB_DIR/$1.json
	natcheck "$host"
	local got
	got="$(json_field "$out" type) $(json_field "$out" mapping) $(json_field "$out" filtering)"
	[ "$got" = "$type $mapping $filtering" ] || fail "$host: got '$got', want '$type $mapping $filtering': $(cat "$out")"
	local ms
	ms=$(json_field "$out" elapsed_ms)
	[ "$ms" -lt 2000 ] || fail "$host: classification took $ms ms (want < 2000)"
	echo "  $host: $type, mapping $mapping, filtering $filtering, mapped $(json_field "$out" mapped_address), ${ms} ms"
}

EI=endpoint-independent
AD=address-dependent
APD=address-and-port-dependent
expect hopen open "$EI" "$EI"
expect hfc full-cone "$EI" "$EI"
expect hrc restricted-cone "$EI" "$AD"
expect hprc port-restricted-cone "$EI" "$APD"
expect hsym symmetric "$APD" "$APD"
[ "$(json_field "$LAB_DIR/hopen.json" mapped_address)" = "198.51.100.130:$(json_field "$LAB_DIR/hopen.json" mapped_address | cut -d: -f2)" ] ||
	fail "open host's mapped address is not its own"
[ "$(json_field "$LAB_DIR/hprc.json" port_preserving)" = true ] || fail "port-restricted NAT should preserve ports"
[ "$(json_field "$LAB_DIR/hsym.json" allocation)" = random ] || fail "symmetric NAT allocation should be random"

# Several uplinks: each one's NAT, in client.ini's order; the JSON keeps the
# first's fields at the top. A third uplink bound to an address hmp lacks
# fails alone (exit 1).
cat >"$LAB_DIR/hmp.ini" <<INI
[client]
id = hmp
key = $("$KG" genkey)
server = 203.0.113.10:7400
server_key = $SPUB
[uplink lte1]
source = 10.0.4.3
[uplink lte2]
source = 10.0.5.3
INI
chmod 600 "$LAB_DIR/hmp.ini"
natcheck hmp
python3 - "$LAB_DIR/hmp.json" <<'PY' || fail "hmp: two uplinks: $(cat "$LAB_DIR/hmp.json")"
import json, sys
j = json.load(open(sys.argv[1]))
up = j["uplinks"]
assert [u["name"] for u in up] == ["lte1", "lte2"], up
assert (j["type"], j["mapping"]) == ("port-restricted-cone", "endpoint-independent"), j
assert j["mapped_address"].startswith("198.51.100.4:"), j
assert up[0]["type"] == "port-restricted-cone" and up[0]["mapped_address"].startswith("198.51.100.4:")
assert (up[1]["type"], up[1]["mapping"]) == ("symmetric", "address-and-port-dependent"), up[1]
assert up[1]["mapped_address"].startswith("198.51.100.5:"), up[1]
assert all(u["elapsed_ms"] < 2000 for u in up), up
PY
lab_exec hmp timeout 20 "$LAB_BIN/wormhole-client" -c "$LAB_DIR/hmp.ini" natcheck >"$LAB_DIR/hmp.txt" ||
	fail "hmp: natcheck (text) failed"
python3 - "$LAB_DIR/hmp.txt" <<'PY' || fail "hmp: text blocks: $(cat "$LAB_DIR/hmp.txt")"
import re, sys
t = open(sys.argv[1]).read()
blocks = re.findall(r"^uplink (\S+):\n((?:  .*\n)+)", t, re.M)
assert [b[0] for b in blocks] == ["lte1", "lte2"], blocks
assert re.search(r"NAT type: +port-restricted-cone$", blocks[0][1], re.M), blocks[0]
assert re.search(r"NAT type: +symmetric$", blocks[1][1], re.M), blocks[1]
PY
printf '[uplink gone]\nsource = 10.0.4.99\n' >>"$LAB_DIR/hmp.ini"
rc=0
lab_exec hmp timeout 20 "$LAB_BIN/wormhole-client" -c "$LAB_DIR/hmp.ini" natcheck --json \
	>"$LAB_DIR/hmp3.json" 2>"$LAB_DIR/hmp3.err" || rc=$?
[ "$rc" = 1 ] || fail "hmp: an uplink that cannot be checked: exit $rc, want 1"
grep -q "uplink gone: bind 10.0.4.99" "$LAB_DIR/hmp3.err" || fail "hmp: stderr: $(cat "$LAB_DIR/hmp3.err")"
python3 - "$LAB_DIR/hmp3.json" <<'PY' || fail "hmp: failed uplink: $(cat "$LAB_DIR/hmp3.json")"
import json, sys
up = json.load(open(sys.argv[1]))["uplinks"]
assert [u["name"] for u in up] == ["lte1", "lte2", "gone"], up
assert [u.get("type") for u in up[:2]] == ["port-restricted-cone", "symmetric"], up
assert "bind 10.0.4.99" in up[2]["error"] and "type" not in up[2], up[2]
PY
echo "  hmp: lte1 $(json_field "$LAB_DIR/hmp.json" type), lte2 symmetric; a gone uplink: exit 1, its error"

# Acceptance 2: Debian's stun client (RFC 3489) agrees. Its summary line names
# mapping and filtering; each run uses its own local port.
stun_says() {
	local host=$1 port=$2
	lab_exec "$host" timeout 20 stun 203.0.113.10:7400 -p "$port" 2>&1 | grep '^Primary:' || true
}
check_stun() {
	local host=$1 want=$2 port=$3 line
	line=$(stun_says "$host" "$port")
	echo "  stun client on $host: $line"
	grep -q "$want" <<<"$line" || fail "$host: stun client says '$line', want '$want'"
}
check_stun hfc "Independent Mapping, Independent Filter" 40010
check_stun hprc "Independent Mapping, Port Dependent Filter" 40020
check_stun hsym "Dependent Mapping" 40030

# coturn's turnutils_natdiscovery (RFC 5780: OTHER-ADDRESS, CHANGE-REQUEST)
# agrees on mapping and filtering (the port-restricted NAT with -P: 1500 bytes of PADDING
# (RFC 5780 §7.6), fragmented on the way, answered with a padded response).
# The four runs go in parallel (each host has its own NAT; a run waits up to
# seconds for answers that a filtering NAT never lets through).
natdiscovery_start() { # HOST [OPTION]: run it in the background, into HOST.natdisc
	lab_exec "$1" timeout 20 "$NATDISC" -m -f ${2:-} -p 7400 203.0.113.10 \
		>"$LAB_DIR/$1.natdisc" 2>&1 &
	NATDISC_PIDS+=($!)
}
check_natdiscovery() { # HOST WANT_MAPPING WANT_FILTERING [OPTION]
	local host=$1 out
	out=$(grep -E '(Mapping|Filtering)!|error' "$LAB_DIR/$host.natdisc" || true)
	echo "  turnutils_natdiscovery ${4:-}on $host: $(tr '\n' ' ' <<<"$out")"
	grep -q "NAT with $2 Mapping!" <<<"$out" || fail "$host: natdiscovery ${4:-}says '$out', want $2 mapping"
	grep -q "NAT with $3 Filtering!" <<<"$out" || fail "$host: natdiscovery ${4:-}says '$out', want $3 filtering"
}
NATDISC_PIDS=()
t0=$(date +%s%N)
natdiscovery_start hfc
natdiscovery_start hrc
natdiscovery_start hsym
natdiscovery_start hprc -P
wait "${NATDISC_PIDS[@]}" || true
echo "  turnutils_natdiscovery: four runs in $((($(date +%s%N) - t0) / 1000000)) ms"
check_natdiscovery hfc "Endpoint Independent" "Endpoint Independent"
check_natdiscovery hrc "Endpoint Independent" "Address Dependent"
check_natdiscovery hsym "Address and Port Dependent" "Address and Port Dependent"
check_natdiscovery hprc "Endpoint Independent" "Address and Port Dependent" "-P "

# Acceptance 4: with the alternate address silent the answer is definite and
# quick; with UDP blocked it says so.
lab_exec srv nft -f - <<'NFT'
table inet natcheck_alt {
	chain input {
		type filter hook input priority 0;
		ip daddr 203.0.113.11 udp dport { 7400, 7401 } drop
	}
}
NFT
natcheck hprc
t=$(json_field "$LAB_DIR/hprc.json" type)
case "$t" in
restricted-cone | port-restricted-cone | full-cone) ;;
*) fail "with the alternate address silent: type '$t'" ;;
esac
[ "$(json_field "$LAB_DIR/hprc.json" alternate_answered)" = false ] || fail "alternate should be silent"
echo "  alternate address silent: $t in $(json_field "$LAB_DIR/hprc.json" elapsed_ms) ms"
lab_exec srv nft delete table inet natcheck_alt

lab_cut prc wan
natcheck hprc
[ "$(json_field "$LAB_DIR/hprc.json" type)" = udp-blocked ] || fail "cut path: $(cat "$LAB_DIR/hprc.json")"
echo "  UDP cut: udp-blocked in $(json_field "$LAB_DIR/hprc.json" elapsed_ms) ms"
lab_heal prc wan

lab_teardown
lab_pass
