#!/usr/bin/env bash
# test_check_config: `--check-config` of both daemons (issue #2, acceptance 2).
#
#   +------------------------------+
#   | this host: no network at all |
#   +------------------------------+
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
for args in "natcheck -c $LAB_DIR/none.ini" "status --json --config $LAB_DIR/none.ini"; do
	status=0
	bin/wormhole-client $args 2>"$LAB_DIR/err" || status=$?
	[ "$status" = 2 ] && grep -q "^$LAB_DIR/none.ini: cannot read" "$LAB_DIR/err" ||
		fail "$args: status $status, $(cat "$LAB_DIR/err")"
done
for args in "status --bogus" "natcheck -c" "run --json" "run extra"; do
	status=0
	bin/wormhole-client $args 2>"$LAB_DIR/err" || status=$?
	[ "$status" = 2 ] && [ "$(wc -l <"$LAB_DIR/err")" = 1 ] || fail "$args: status $status"
done

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
lab_pass
