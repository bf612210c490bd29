# lab/lib.sh: helpers every lab test sources (STYLE §10). Bash only.
#   lab_init NAME      per-run work dir, log dir, cleanup trap (logs kept in
#                      build/lab-logs/NAME on failure, or always with
#                      LAB_KEEP_LOGS=1)
#   lab_start NAME CMD...   start a process in the background, record its PID
#   lab_stop NAME      SIGTERM one started process, wait for it, return its status
#   wait_until SECONDS CMD...  poll CMD every 50 ms until it succeeds or time runs out
#   lab_loopback_clients SERVER_PORT API_BASE ID...
#                      server.key and, per ID, ID.key and ID.ini in $LAB_DIR for
#                      clients on loopback (local API on 127.1.0.1:API_BASE+k)
#   lab_json FILE EXPR  EXPR (Python) over j, the last JSON line of FILE
#   lab_metric API_PORT TOKEN NAME [LABELS]  one sample of the server's
#                      /metrics on 127.0.0.1:API_PORT ("missing" when absent)
#   lab_lost SEEN ID SENT  sequence numbers below SENT missing from ID's line
#                      of a bench_flow --seen-file, as ranges ("12-40 77");
#                      empty when none was lost
# With topo.sh (namespaces), for the daemons and the apps of a namespace lab:
#   lab_keys NAME...   $LAB_DIR/NAME.key for each; lab_pub NAME prints its public key
#   lab_client_ini ID SERVER_IP:PORT [LINES]
#                      $LAB_DIR/ID.ini (key ID.key, server key of server.key),
#                      LINES appended ([uplink ...] sections)
#   lab_wh_server NODE [TAG]  wormhole-server on $LAB_DIR/routes.conf in NODE
#                      (process and log server[-TAG], level $LAB_LOG_LEVEL,
#                      default debug), waits for "server: running"
#   lab_wh_client NODE [TAG]  wormhole-client on $LAB_DIR/NODE.ini in NODE
#                      (process and log client-NODE[-TAG], $LAB_LOG_LEVEL)
#   lab_status NODE    `wormhole-client status --json` of NODE's client
#   lab_status_field NODE PYEXPR  PYEXPR over it (j: the JSON), "" while it does not answer
#   lab_flow_up FROM TO PORT  one datagram crosses flow PORT from FROM's app to
#                      TO's (for wait_until: the flow is set up at both ends)
#   lab_stream_start NAME FROM TO PORT RATE SIZE [RX_OPTION...]
#                      a stream of unknown length through flow PORT: the app
#                      in TO (bench_flow on 127.0.0.1:PORT, --seen-file
#                      NAME.seen) and the one in FROM sending RATE/s datagrams
#                      of SIZE bytes to its client (127.1.0.1:PORT), id FROM
#   lab_stream_stop NAME  stop the sender, let 0.5 s drain, stop the sink;
#                      their reports are NAME-tx.log and NAME-rx.log
# Processes are killed only by the PIDs recorded here; namespaces (later tests)
# carry the per-run prefix wh-$$- and are removed by lab_cleanup.

LAB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LAB_BIN=${LAB_BIN:-$LAB_ROOT/bin}
LAB_BF=${BENCH_FLOW:-$LAB_ROOT/build/release/tools/bench_flow}
declare -A LAB_PIDS=()

# python3, for the tests' JSON checks, is Debian's (make deps installs it),
# called directly. The one first in PATH may be a version manager's shim:
# pyenv's is a shell script that looks the version up on every call (0.6 s
# and 0.4 s of CPU each, seen on a 2-core machine; a lab test calls python3
# hundreds of times, in wait_until loops among them). A link to it in a
# directory first in PATH also serves lab_exec and the tools' children.
lab_use_system_python() {
	local dir=$LAB_ROOT/build/lab-path
	[ -x /usr/bin/python3 ] || return 0
	[ ! "$(command -v python3)" -ef /usr/bin/python3 ] || return 0
	mkdir -p "$dir" 2>/dev/null || return 0
	# tests starting at once may race to make the link: either one's will do
	[ -L "$dir/python3" ] || ln -s /usr/bin/python3 "$dir/python3" 2>/dev/null || true
	[ -L "$dir/python3" ] || return 0
	PATH=$dir:$PATH
	export PATH
}
lab_use_system_python

lab_init() {
	LAB_TEST=$1
	LAB_PREFIX="wh-$$-"
	LAB_DIR=$(mktemp -d "${TMPDIR:-/tmp}/wh-lab-$LAB_TEST.XXXXXX")
	LAB_LOGS=$LAB_ROOT/build/lab-logs/$LAB_TEST
	LAB_OK=0
	LAB_T0=$(date +%s%3N)
	rm -rf "$LAB_LOGS"
	trap lab_cleanup EXIT
}

# lab_at: seconds since lab_init, "  12.3 s", for progress lines.
lab_at() {
	awk -v t="$(date +%s%3N)" -v t0="$LAB_T0" 'BEGIN { printf "%5.1f s", (t - t0) / 1000 }'
}

lab_cleanup() {
	local name pid
	for name in "${!LAB_PIDS[@]}"; do
		pid=${LAB_PIDS[$name]}
		if kill -0 "$pid" 2>/dev/null; then
			kill -TERM "$pid" 2>/dev/null || true
			for _ in $(seq 1 40); do
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.05
			done
			kill -KILL "$pid" 2>/dev/null || true
		fi
	done
	local ns
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$LAB_PREFIX" || true); do
		ip netns del "$ns" 2>/dev/null || true
	done
	[ -z "${LAB_PREFIX:-}" ] || rm -rf /etc/netns/"$LAB_PREFIX"*
	if [ "$LAB_OK" != 1 ] || [ "${LAB_KEEP_LOGS:-0}" = 1 ]; then
		mkdir -p "$LAB_LOGS"
		cp -r "$LAB_DIR"/. "$LAB_LOGS"/ 2>/dev/null || true
		[ "$LAB_OK" = 1 ] || echo "lab $LAB_TEST: FAILED; logs kept in $LAB_LOGS" >&2
	fi
	rm -rf "$LAB_DIR"
}

lab_pass() {
	LAB_OK=1
	echo "lab $LAB_TEST: ok"
}

lab_start() {
	local name=$1
	shift
	"$@" >"$LAB_DIR/$name.log" 2>&1 &
	LAB_PIDS[$name]=$!
}

lab_stop() {
	local name=$1 pid=${LAB_PIDS[$1]} status=0
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" || status=$?
	unset "LAB_PIDS[$name]"
	return $status
}

wait_until() {
	local secs=$1
	shift
	local deadline
	deadline=$(($(date +%s%N) + $(awk "BEGIN{printf \"%.0f\", $secs * 1000000000}")))
	while :; do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		if [ "$(date +%s%N)" -ge "$deadline" ]; then
			return 1
		fi
		sleep 0.05
	done
}

fail() {
	echo "lab $LAB_TEST: $*" >&2
	exit 1
}

# lab_loopback_clients SERVER_PORT API_BASE ID...: keys and client.ini files
# for clients that run on this host against a server on 127.0.0.1. Each is
# bound to 127.0.0.1, so the local addresses it offers as punching
# candidates are loopback ones and no probe leaves loopback. Sets
# SERVER_PUB (the server's public key).
lab_loopback_clients() {
	local sp=$1 cap=$2 k=0 c
	shift 2
	"$LAB_BIN/wormhole-keygen" genkey -o "$LAB_DIR/server.key"
	SERVER_PUB=$("$LAB_BIN/wormhole-keygen" pubkey <"$LAB_DIR/server.key")
	for c in "$@"; do
		"$LAB_BIN/wormhole-keygen" genkey -o "$LAB_DIR/$c.key"
		cat >"$LAB_DIR/$c.ini" <<INI
[client]
id = $c
key_file = $c.key
server = 127.0.0.1:$sp
server_key = $SERVER_PUB
api = 127.1.0.1:$((cap + k))
[uplink lo]
source = 127.0.0.1
INI
		k=$((k + 1))
	done
}

# lab_json FILE EXPR: print EXPR, a Python expression over j, the last line of
# FILE that is a JSON object (a bench_flow report, a status answer).
lab_json() {
	python3 - "$1" "$2" <<'PY'
import json, sys
lines = [l for l in open(sys.argv[1]).read().splitlines() if l.startswith("{")]
j = json.loads(lines[-1])
print(eval(sys.argv[2]))
PY
}

lab_metric() {
	local name=$3
	[ -n "${4:-}" ] && name+="{$4}"
	curl -s --max-time 5 -H "Authorization: Bearer $2" "http://127.0.0.1:$1/metrics" |
		N=$name awk '$1 == ENVIRON["N"] { print $2; found = 1 } END { if (!found) print "missing" }'
}

# lab_lost SEEN ID SENT: which of the SENT datagrams of sender ID the app did
# not see, from bench_flow's --seen-file (sequence numbers past the highest
# received count as lost too).
lab_lost() {
	python3 - "$1" "$2" "$3" <<'PY'
import sys
rows = dict((l.split() + [""])[:2] for l in open(sys.argv[1]) if l.strip())
bits = rows.get(sys.argv[2], "").ljust(int(sys.argv[3]), "0")[:int(sys.argv[3])]
lost = [i for i, b in enumerate(bits) if b == "0"]
out, i = [], 0
while i < len(lost):
    j = i
    while j + 1 < len(lost) and lost[j + 1] == lost[j] + 1:
        j += 1
    out.append(str(lost[i]) if i == j else "%d-%d" % (lost[i], lost[j]))
    i = j + 1
print(" ".join(out))
PY
}

lab_keys() {
	local n
	for n in "$@"; do
		"$LAB_BIN/wormhole-keygen" genkey -o "$LAB_DIR/$n.key"
	done
}

lab_pub() {
	"$LAB_BIN/wormhole-keygen" pubkey <"$LAB_DIR/$1.key"
}

lab_client_ini() {
	cat >"$LAB_DIR/$1.ini" <<INI
[client]
id = $1
key_file = $1.key
server = $2
server_key = $(lab_pub server)
${3:-}
INI
}

# lab_routes SERVER_EXTRA CLIENT...: print a routes.conf for the lab server
# (lab_server srv 203.0.113.10 203.0.113.11: ports 7400 and 7401, key
# server.key) with SERVER_EXTRA added to its group and each CLIENT with its
# key (lab_keys), then stdin: the flows group.
lab_routes() {
	local extra=$1 c
	shift
	echo 'server: { listen = ["203.0.113.10:7400", "203.0.113.11:7400"]; alt_port = 7401;'
	echo "          key_file = \"server.key\";${extra:+ $extra} };"
	echo -n 'clients: {'
	for c in "$@"; do
		echo -n " $c = { key = \"$(lab_pub "$c")\"; };"
	done
	echo ' };'
	cat
}

lab_wh_server() {
	local name=server${2:+-$2}
	lab_start_in "$1" "$name" "$LAB_BIN/wormhole-server" -c "$LAB_DIR/routes.conf" \
		--log-level "${LAB_LOG_LEVEL:-debug}"
	# LAB_START_S: longer for daemons under valgrind on a busy machine.
	wait_until "${LAB_START_S:-5}" grep -q "server: running" "$LAB_DIR/$name.log" ||
		fail "server did not start within ${LAB_START_S:-5} s"
}

lab_wh_client() {
	lab_start_in "$1" "client-$1${2:+-$2}" "$LAB_BIN/wormhole-client" -c "$LAB_DIR/$1.ini" \
		--log-level "${LAB_LOG_LEVEL:-debug}"
}

# lab_wh_clients CLIENT...: a client.ini for each CLIENT (the lab server at
# 203.0.113.10:7400) and its client started.
lab_wh_clients() {
	local n
	for n in "$@"; do
		lab_client_ini "$n" 203.0.113.10:7400
		lab_wh_client "$n"
	done
}

lab_status() {
	lab_exec "$1" "$LAB_BIN/wormhole-client" -c "$LAB_DIR/$1.ini" status --json
}

# lab_status_field NODE PYEXPR: PYEXPR (Python, j: the JSON) over NODE's
# status, or "" while it does not answer.
lab_status_field() {
	lab_status "$1" 2>/dev/null | python3 -c '
import json, sys
j = json.load(sys.stdin)
print(eval(sys.argv[1]))' "$2" 2>/dev/null || true
}

# lab_udp_bound NODE IP:PORT: a UDP socket is bound to IP:PORT in NODE.
lab_udp_bound() {
	[ -n "$(lab_exec "$1" ss -Hlun src "$2")" ]
}

# lab_tcp_listening NODE IP:PORT: a TCP socket listens on IP:PORT in NODE.
lab_tcp_listening() {
	[ -n "$(lab_exec "$1" ss -Hltn src "$2")" ]
}

lab_flow_up() {
	local from=$1 to=$2 port=$3 rx
	lab_exec "$to" "$LAB_BF" --bind "127.0.0.1:$port" --expect 1 --timeout 400 --linger 0 \
		>/dev/null 2>&1 &
	rx=$!
	wait_until 1 lab_udp_bound "$to" "127.0.0.1:$port" || true
	lab_exec "$from" "$LAB_BF" --bind "127.0.0.1:$port" --to "127.1.0.1:$port" --count 3 \
		--rate 50 --timeout 100 >/dev/null 2>&1 || true
	wait "$rx"
}

# lab_lo_carries PORT TARGET [MIN]: on this host's loopback, 10 datagrams
# from an app into the flow on 127.1.0.1:PORT (50/s); true when at least MIN
# (default 9) reach the app at 127.0.0.1:TARGET.
lab_lo_carries() {
	local rx
	"$LAB_BF" --bind "127.0.0.1:$2" --expect "${3:-9}" --timeout 3000 --linger 0 >/dev/null 2>&1 &
	rx=$!
	sleep 0.2
	"$LAB_BF" --bind 127.0.0.1:0 --to "127.1.0.1:$1" --count 10 --rate 50 --timeout 700 \
		>/dev/null 2>&1 || true
	wait "$rx"
}

# Both apps stop after LAB_STREAM_MS (default 300,000 ms, at most 3,600,000)
# at the latest; lab_stream_stop ends them sooner.
lab_stream_start() {
	local name=$1 from=$2 to=$3 port=$4 rate=$5 size=$6 ms=${LAB_STREAM_MS:-300000}
	shift 6
	lab_start_in "$to" "$name-rx" "$LAB_BF" --bind "127.0.0.1:$port" --linger "$ms" \
		--timeout "$ms" --seen-file "$LAB_DIR/$name.seen" "$@"
	wait_until 3 lab_udp_bound "$to" "127.0.0.1:$port" || fail "$name: the sink app did not start"
	lab_start_in "$from" "$name-tx" "$LAB_BF" --bind "127.0.0.1:$port" --to "127.1.0.1:$port" \
		--id "$from" --count 10000000 --rate "$rate" --size "$size" --timeout "$ms"
}

# lab_stream_lossless NAME FROM MIN_SENT STEP: stream NAME (stopped) from FROM
# delivered every datagram it sent, none twice, and at least MIN_SENT; prints
# the counts and the longest gap, or fails naming STEP.
lab_stream_lossless() {
	local name=$1 from=$2 min=$3 step=$4 sent got dup lost
	sent=$(lab_json "$LAB_DIR/$name-tx.log" 'j["sent"]')
	got=$(lab_json "$LAB_DIR/$name-rx.log" 'j["received"]')
	dup=$(lab_json "$LAB_DIR/$name-rx.log" 'j["dup"]')
	lost=$(lab_lost "$LAB_DIR/$name.seen" "$from" "$sent")
	echo "  $(lab_at) stream $name: sent $sent, received $got, duplicates $dup, lost {$lost}," \
		"longest gap $(lab_json "$LAB_DIR/$name-rx.log" 'j["max_gap_ms"]') ms"
	[ -z "$lost" ] && [ "$got" = "$sent" ] || fail "$step: stream $name lost datagrams: {$lost}"
	[ "$dup" = 0 ] || fail "$step: the app saw $dup duplicates of stream $name"
	[ "$sent" -ge "$min" ] || fail "$step: stream $name sent only $sent datagrams"
}

# lab_stream_gap NAME LIMIT_MS LABEL: stop stream NAME (100/s), print its
# counts and its longest gap, and fail naming LABEL unless that gap is under
# LIMIT_MS and no more than LIMIT_MS worth was lost. The gap is measured
# between datagrams received: a flow that never came back shows as lost
# datagrams.
lab_stream_gap() {
	local sent got gap
	lab_stream_stop "$1"
	sent=$(lab_json "$LAB_DIR/$1-tx.log" 'j["sent"]')
	got=$(lab_json "$LAB_DIR/$1-rx.log" 'j["received"]')
	gap=$(lab_json "$LAB_DIR/$1-rx.log" 'j["max_gap_ms"]')
	echo "  $(lab_at) $3: received $got of $sent, longest gap $gap ms"
	awk -v g="$gap" -v l="$2" 'BEGIN { exit !(g < l) }' ||
		fail "$3: the flow was gone for $gap ms (limit $2)"
	[ $((sent - got)) -le $(($2 / 10)) ] || fail "$3: lost $((sent - got)) of $sent (limit $(($2 / 10)))"
}

lab_stream_stop() {
	lab_stop "$1-tx" || true # bench_flow exits 1 when stopped before --count
	sleep 0.5		 # datagrams still on their way
	lab_stop "$1-rx" || true
}
