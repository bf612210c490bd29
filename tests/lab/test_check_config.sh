#!/usr/bin/env bash
# test_check_config: `--check-config` of both daemons (issue #2, acceptance 2).
#
#   +--------------------------------------------------+
#   | this host: loopback only (a client whose server  |
#   | never answers, for its log level)                |
#   +--------------------------------------------------+
#
# The README's example routes.conf and client.ini files pass; every file in
# the invalid corpus (one defect each, first line "# expect: LINE: message",
# or "# expect: message" for an error that has no line)
# fails with exit status 1 and exactly "FILE:LINE: message" on stderr.
# lab-run: loopback
set -euo pipefail
source "$(dirname "$0")/../../tools/lab/lib.sh"
lab_init check_config
cd "$LAB_ROOT"

# Key files lose their mode in git; the warning about that is not under test.
chmod 600 config/examples/*.key

bin/wormhole-server --check-config config/examples/routes.conf >"$LAB_DIR/out" 2>&1 ||
	fail "example routes.conf refused: $(cat "$LAB_DIR/out")"
for ini in config/examples/*.ini; do
	bin/wormhole-client --check-config "$ini" >"$LAB_DIR/out" 2>&1 ||
		fail "example $ini refused: $(cat "$LAB_DIR/out")"
done

n=0
for f in tests/config/invalid/*; do
	case "$f" in
	*.conf) prog=bin/wormhole-server ;;
	*.ini) prog=bin/wormhole-client ;;
	*) continue ;;
	esac
	# (byte_order_mark.conf: the mark comes before the comment)
	expect=$(head -n 1 "$f" | sed -n 's/^\xef\xbb\xbf//; s/^[#;] expect: //p')
	[ -n "$expect" ] || fail "$f: first line has no '# expect: LINE: message'"
	status=0
	"$prog" --check-config "$f" >"$LAB_DIR/out" 2>"$LAB_DIR/err" || status=$?
	[ "$status" = 1 ] || fail "$f: exit status $status, want 1"
	got=$(grep -v ': warning: ' "$LAB_DIR/err" || true)
	# "LINE: message", or just "message" for an error with no line.
	case "$expect" in
	[0-9]*) want="$f:$expect" ;;
	*) want="$f: $expect" ;;
	esac
	[ "$got" = "$want" ] || fail "$f: got '$got', want '$want'"
	n=$((n + 1))
done
[ "$n" -ge 25 ] || fail "only $n invalid files in the corpus (want at least 25)"
echo "  $n invalid files refused with the expected FILE:LINE: message"

# Usage errors exit 2 with one line.
status=0
bin/wormhole-server --bogus 2>"$LAB_DIR/err" || status=$?
[ "$status" = 2 ] && [ "$(wc -l <"$LAB_DIR/err")" = 1 ] || fail "bad flag: status $status"
status=0
bin/wormhole-client --log-level loud 2>"$LAB_DIR/err" || status=$?
[ "$status" = 2 ] || fail "bad --log-level: status $status"

# A command's own --help needs no client.ini (none here: the cwd has none),
# and its options may follow it: -c names the file, a wrong one exits 2.
for cmd in run natcheck status; do
	bin/wormhole-client "$cmd" --help >"$LAB_DIR/out" 2>&1 || fail "$cmd --help: $(cat "$LAB_DIR/out")"
	grep -q "^Usage: wormhole-client .*$cmd" "$LAB_DIR/out" || fail "$cmd --help: no usage"
done
# Every form of an option works after the command as before it.
for args in "natcheck -c $LAB_DIR/none.ini" "status --json --config $LAB_DIR/none.ini" \
	"status --config=$LAB_DIR/none.ini" "status -c$LAB_DIR/none.ini" \
	"natcheck --log-level=debug --log-format=json --json -c $LAB_DIR/none.ini" \
	"run --log-level debug --config=$LAB_DIR/none.ini"; do
	status=0
	bin/wormhole-client $args 2>"$LAB_DIR/err" || status=$?
	[ "$status" = 2 ] && grep -q "$LAB_DIR/none.ini: cannot read" "$LAB_DIR/err" ||
		fail "$args: status $status, $(cat "$LAB_DIR/err")"
done
for args in "status --bogus" "natcheck -c" "run --json" "run extra" "status -xh" \
	"--check-config config/examples/drone3.ini extra"; do
	status=0
	bin/wormhole-client $args 2>"$LAB_DIR/err" || status=$?
	[ "$status" = 2 ] && [ "$(wc -l <"$LAB_DIR/err")" = 1 ] || fail "$args: status $status"
done

# client.ini's log_level is the daemon's level, and --log-level on the
# command line wins over it: the debug line the daemon logs as it starts
# ("client: open files limit", with its file:line) shows with log_level =
# debug, and with log_level = error plus --log-level debug. The client's
# server is a loopback port nothing answers on.
cp config/examples/drone3.key "$LAB_DIR/drone3.key"
CAP=$((32100 + $$ % 100)) # the client's local API port
ini_with_level() {
	cat <<INI
[client]
id = drone3
key_file = drone3.key
server = 127.0.0.1:9
server_key = $(bin/wormhole-keygen pubkey config/examples/server.key)
api = 127.1.0.1:$CAP
log_level = $1
INI
}
ini_with_level debug >"$LAB_DIR/debug.ini"
ini_with_level error >"$LAB_DIR/error.ini"
bin/wormhole-client --check-config "$LAB_DIR/debug.ini" >/dev/null || fail "debug.ini refused"
lab_start client-ini "$LAB_BIN/wormhole-client" -c "$LAB_DIR/debug.ini"
wait_until 10 grep -q "debug client: open files limit .*(client/main.c:" "$LAB_DIR/client-ini.log" ||
	fail "log_level = debug: no debug line: $(head -c 300 "$LAB_DIR/client-ini.log")"
lab_stop client-ini || fail "client (log_level = debug) did not stop cleanly"
lab_start client-cli "$LAB_BIN/wormhole-client" --log-level debug -c "$LAB_DIR/error.ini"
wait_until 10 grep -q "debug client: open files limit" "$LAB_DIR/client-cli.log" ||
	fail "--log-level debug over log_level = error: no debug line"
lab_stop client-cli || fail "client (--log-level debug) did not stop cleanly"

# wormhole-keygen takes --log-level and --log-format like every program,
# before or after its command; a bad value is a usage error.
bin/wormhole-keygen --log-level debug --log-format json genkey >"$LAB_DIR/k1" 2>"$LAB_DIR/err" &&
	bin/wormhole-keygen pubkey "$LAB_DIR/k1" --log-level=warn >"$LAB_DIR/out" 2>>"$LAB_DIR/err" ||
	fail "keygen with --log-level/--log-format: $(cat "$LAB_DIR/err")"
[ "$(wc -c <"$LAB_DIR/out")" = 45 ] || fail "keygen pubkey --log-level: '$(cat "$LAB_DIR/out")'"
status=0
bin/wormhole-keygen genkey --log-level loud >/dev/null 2>"$LAB_DIR/err" || status=$?
[ "$status" = 2 ] && [ "$(wc -l <"$LAB_DIR/err")" = 1 ] || fail "keygen --log-level loud: status $status"

# wormhole-keygen fails (exit 1, one line) when a key cannot be written
# whole, and leaves no partial key file behind: a file size limit on -o,
# and a full stdout for genkey and pubkey.
status=0
err=$( (
	trap '' XFSZ
	ulimit -f 0
	exec bin/wormhole-keygen genkey -o "$LAB_DIR/k.key"
) 2>&1) || status=$?
[ "$status" = 1 ] && [ "$(printf '%s\n' "$err" | wc -l)" = 1 ] ||
	fail "genkey -o over a file size limit: status $status, '$err'"
[ ! -e "$LAB_DIR/k.key" ] || fail "genkey -o over a file size limit left $LAB_DIR/k.key"
for args in genkey "pubkey config/examples/drone3.key"; do
	status=0
	bin/wormhole-keygen $args >/dev/full 2>"$LAB_DIR/err" || status=$?
	[ "$status" = 1 ] && [ "$(wc -l <"$LAB_DIR/err")" = 1 ] &&
		grep -q "write stdout: No space left on device" "$LAB_DIR/err" ||
		fail "keygen $args >/dev/full: status $status, $(cat "$LAB_DIR/err")"
done
# wormhole-keygen's configuration is a key file: -c FILE names it (pubkey
# reads it), --check-config checks it as the daemons load it: 0 and the
# public key for a usable key; 1 and one line naming the file otherwise
# (not a key, a FIFO, missing); 2 without a file.
bin/wormhole-keygen genkey -o "$LAB_DIR/ck.key" || fail "genkey -o ck.key"
pub=$(bin/wormhole-keygen pubkey <"$LAB_DIR/ck.key")
out=$(bin/wormhole-keygen --check-config "$LAB_DIR/ck.key") ||
	fail "keygen --check-config on a good key: status $?"
[ "$out" = "$LAB_DIR/ck.key: ok (public key $pub)" ] || fail "keygen --check-config: '$out'"
out=$(bin/wormhole-keygen -c "$LAB_DIR/ck.key" --check-config) && [ "${out##* }" = "$pub)" ] ||
	fail "keygen -c FILE --check-config: '$out'"
[ "$(bin/wormhole-keygen -c "$LAB_DIR/ck.key" pubkey)" = "$pub" ] || fail "keygen -c FILE pubkey"
printf 'not a key\n' >"$LAB_DIR/bad.key"
mkfifo "$LAB_DIR/fifo.key"
for bad in bad.key fifo.key missing.key; do
	status=0
	timeout 5 bin/wormhole-keygen --check-config "$LAB_DIR/$bad" >"$LAB_DIR/out" 2>"$LAB_DIR/err" ||
		status=$?
	[ "$status" = 1 ] && [ "$(wc -l <"$LAB_DIR/err")" = 1 ] && [ ! -s "$LAB_DIR/out" ] &&
		grep -q "^$LAB_DIR/$bad: " "$LAB_DIR/err" ||
		fail "keygen --check-config $bad: status $status, '$(cat "$LAB_DIR/err")'"
done
status=0
bin/wormhole-keygen --check-config >/dev/null 2>"$LAB_DIR/err" || status=$?
[ "$status" = 2 ] || fail "keygen --check-config without a file: status $status"

# The server's exit status: 2 for a configuration that does not load, 1
# for one that loads but cannot be put to work (its port taken).
status=0
bin/wormhole-server -c "$LAB_DIR/none.conf" 2>/dev/null || status=$?
[ "$status" = 2 ] || fail "server with no routes.conf: exit $status, want 2"
HP=$((32200 + $$ % 100))
sed "s|^  listen = .*|  listen = [\"127.0.0.1:$HP\"];|; s|^  alt_port = .*||" config/examples/routes.conf \
	>"$LAB_DIR/taken.conf"
cp config/examples/*.key "$LAB_DIR/"
python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
open(sys.argv[2], "w").close()
time.sleep(20)' "$HP" "$LAB_DIR/held" &
holder=$!
wait_until 5 test -e "$LAB_DIR/held" || fail "could not hold port $HP"
status=0
timeout 10 bin/wormhole-server -c "$LAB_DIR/taken.conf" 2>"$LAB_DIR/err" || status=$?
kill "$holder" 2>/dev/null || true
wait "$holder" 2>/dev/null || true
[ "$status" = 1 ] && grep -q "bind 127.0.0.1:$HP: Address already in use" "$LAB_DIR/err" ||
	fail "server with its port taken: exit $status, want 1: $(tail -n 1 "$LAB_DIR/err")"

# A private key others can read gets a warning, in a key file (key_file =)
# or written in client.ini itself (key = ...); none at mode 600. The
# same check on the daemon: its start-up line.
ini_with_level warn | sed "s|^key_file = .*|key = $(cat "$LAB_DIR/drone3.key")|" >"$LAB_DIR/inline.ini"
for ini in debug.ini inline.ini; do
	for mode in 600 644; do
		chmod "$mode" "$LAB_DIR/$ini" "$LAB_DIR/drone3.key"
		bin/wormhole-client --check-config "$LAB_DIR/$ini" >/dev/null 2>"$LAB_DIR/err" ||
			fail "$ini ($mode) refused: $(cat "$LAB_DIR/err")"
		n=$(grep -c ": warning: .*can be read by other users" "$LAB_DIR/err" || true)
		[ "$n" = "$([ "$mode" = 644 ] && echo 1 || echo 0)" ] ||
			fail "$ini at mode $mode: $n warnings: $(cat "$LAB_DIR/err")"
	done
done
grep -q "this file holding the private key" "$LAB_DIR/err" || fail "inline key warning: $(cat "$LAB_DIR/err")"
lab_start client-inline "$LAB_BIN/wormhole-client" -c "$LAB_DIR/inline.ini"
wait_until 10 grep -q "inline.ini: this file holding the private key can be read by other users" \
	"$LAB_DIR/client-inline.log" || fail "daemon: no warning for a readable inline key"
lab_stop client-inline || fail "client (inline key) did not stop cleanly"
lab_pass
