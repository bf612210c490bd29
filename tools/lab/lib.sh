# lab/lib.sh: helpers every lab test sources (STYLE §10). Bash only.
#   lab_init NAME      per-run work dir, log dir, cleanup trap
#   lab_start NAME CMD...   start a process in the background, record its PID
#   lab_stop NAME      SIGTERM one started process, wait for it, return its status
#   wait_until SECONDS CMD...  poll CMD every 50 ms until it succeeds or time runs out
#   lab_loopback_clients SERVER_PORT API_BASE ID...
#                      server.key and, per ID, ID.key and ID.ini in $LAB_DIR for
#                      clients on loopback (local API on 127.1.0.1:API_BASE+k)
# Processes are killed only by the PIDs recorded here; namespaces (later tests)
# carry the per-run prefix wh-$$- and are removed by lab_cleanup.

LAB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LAB_BIN=${LAB_BIN:-$LAB_ROOT/bin}
declare -A LAB_PIDS=()

lab_init() {
	LAB_TEST=$1
	LAB_PREFIX="wh-$$-"
	LAB_DIR=$(mktemp -d "${TMPDIR:-/tmp}/wh-lab-$LAB_TEST.XXXXXX")
	LAB_LOGS=$LAB_ROOT/build/lab-logs/$LAB_TEST
	LAB_OK=0
	rm -rf "$LAB_LOGS"
	trap lab_cleanup EXIT
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
	if [ "$LAB_OK" != 1 ]; then
		mkdir -p "$LAB_LOGS"
		cp -r "$LAB_DIR"/. "$LAB_LOGS"/ 2>/dev/null || true
		echo "lab $LAB_TEST: FAILED; logs kept in $LAB_LOGS" >&2
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
