#!/usr/bin/env bash
# test_ssh_flow: a stock SSH client and server through a TCP flow (issue #8:
# "an operator must be able to reach SSH ... on a drone through the same
# wormhole").
#
#        srv 203.0.113.10/.11 (wormhole-server)
#                    | internet
#     dnat port-restricted 198.51.100.1     gnat port-restricted 198.51.100.2
#                    |                                 |
#             drone1 10.0.1.2                    gcs1 10.0.2.2
#        dropbear on 127.0.0.1:22            OpenSSH's ssh to 127.1.0.1:2222
#
# Flow "ssh" (tcp 2222, gcs1 -> drone1, delivered to 127.0.0.1:22). Dropbear
# runs as root in drone1's namespace, whose /etc/passwd (ip netns exec's
# /etc/netns overlay) gives root a home in the lab's folder with the test's
# authorized_keys: the host's own files are not touched.
#  1. a command: its output comes back, and its exit status;
#  2. 20 MB up (`cat > file`) and 20 MB down (`cat file`), byte-identical;
#  3. a session that prints a line every 100 ms for 4 s while the direct path
#     is cut (dnat blocks gcs1's public address) after 1 s: every line
#     arrives, in order, the pair having moved to the relay.
set -euo pipefail
source "$(dirname "$0")/../../tools/lab/lib.sh"
source "$LAB_ROOT/tools/lab/topo.sh"
lab_init ssh_flow
for b in dropbear dropbearkey ssh ssh-keygen; do
	command -v "$b" >/dev/null || fail "$b missing (make deps: dropbear-bin, openssh-client)"
done

lab_keys server drone1 gcs1
lab_routes 'keepalive_s = 5;' drone1 gcs1 >"$LAB_DIR/routes.conf" <<CONF
flows: ( { name = "ssh"; proto = "tcp"; port = 2222; from = ["gcs1"]; to = ["drone1"];
           deliver = { drone1 = "127.0.0.1:22"; }; } );
CONF
lab_two_sites

H=$LAB_DIR/home
mkdir -p "$H/.ssh"
chmod 700 "$H" "$H/.ssh"
dropbearkey -t ed25519 -f "$LAB_DIR/hostkey" >/dev/null 2>&1
ssh-keygen -q -t ed25519 -N '' -f "$LAB_DIR/userkey"
cp "$LAB_DIR/userkey.pub" "$H/.ssh/authorized_keys"
chmod 600 "$H/.ssh/authorized_keys"
lab_etc drone1 passwd <<<"root:x:0:0:root:$H:/bin/sh"
lab_start_in drone1 dropbear dropbear -F -E -s -p 127.0.0.1:22 -r "$LAB_DIR/hostkey" \
	-P "$LAB_DIR/dropbear.pid"
lab_wh_server srv
lab_wh_clients drone1 gcs1
SSH=(ssh -F /dev/null -p 2222 -i "$LAB_DIR/userkey" -o StrictHostKeyChecking=no
	-o UserKnownHostsFile=/dev/null -o BatchMode=yes -o ConnectTimeout=5 -o LogLevel=ERROR
	root@127.1.0.1)
on_gcs() { lab_exec gcs1 timeout 30 "${SSH[@]}" "$@"; }
direct() { grep -q "peer drone1: direct path up" "$LAB_DIR/client-gcs1.log"; }
wait_until 20 direct || fail "no direct path between gcs1 and drone1"
wait_until 20 on_gcs true 2>/dev/null || fail "ssh through the flow: $(on_gcs true 2>&1 | tail -n 1)"

echo "  1. a command"
out=$(on_gcs 'echo "hello from $(cat /proc/sys/kernel/hostname)"; exit 7') && st=0 || st=$?
[ "$out" = "hello from $(cat /proc/sys/kernel/hostname)" ] || fail "the command's output: \"$out\""
[ "$st" = 7 ] || fail "the command's exit status: $st, want 7"
echo "     output \"$out\", exit status $st"

echo "  2. 20 MB each way"
head -c $((20 * 1048576)) /dev/urandom >"$LAB_DIR/blob"
t0=$(date +%s%N)
on_gcs "cat > $LAB_DIR/blob.up" <"$LAB_DIR/blob" || fail "the upload failed"
t1=$(date +%s%N)
on_gcs "cat $LAB_DIR/blob" >"$LAB_DIR/blob.down" || fail "the download failed"
t2=$(date +%s%N)
cmp -s "$LAB_DIR/blob" "$LAB_DIR/blob.up" || fail "the upload arrived changed"
cmp -s "$LAB_DIR/blob" "$LAB_DIR/blob.down" || fail "the download arrived changed"
echo "     identical: up in $(((t1 - t0) / 1000000)) ms, down in $(((t2 - t1) / 1000000)) ms"

echo "  3. a session across a cut of the direct path"
on_gcs 'for i in $(seq 1 40); do echo "line $i"; sleep 0.1; done' >"$LAB_DIR/lines" 2>&1 &
sess=$!
sleep 1
lab_block dnat wan 198.51.100.2
wait "$sess" || fail "the session broke: $(tail -n 2 "$LAB_DIR/lines")"
lab_unblock dnat wan
seq 1 40 | sed 's/^/line /' | cmp -s - "$LAB_DIR/lines" ||
	fail "the session's lines: $(wc -l <"$LAB_DIR/lines") of 40, or out of order"
grep -q "peer drone1: direct path .* lost" "$LAB_DIR/client-gcs1.log" ||
	fail "the cut did not take the direct path down"
echo "     40 lines in order; gcs1: $(grep -o "direct path .* lost ([^)]*)" "$LAB_DIR/client-gcs1.log" | tail -n 1)"
lab_pass
