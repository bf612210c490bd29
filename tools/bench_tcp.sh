#!/usr/bin/env bash
# bench_tcp: goodput through a TCP flow next to the kernel's own TCP over the
# same lab path, in the same run (issue #8, acceptance 5).
#
#     gcs1 10.0.2.2 -- gnat (port-restricted) 198.51.100.2 == internet ==
#         198.51.100.1 dnat (port-restricted, + tcp 2299 forwarded) -- drone1 10.0.1.2
#
# The pair punches a direct path between the NATs. For each loss rate (0, 1
# and 3 %, nftables on dnat's wan link, both ways), `tcpecho copy` moves
# BENCH_TCP_MB (default 100) MB from gcs1 to a sink on drone1, once through
# the wormhole TCP flow (127.1.0.1:2222 -> stream -> 127.0.0.1:2222) and
# once per kernel congestion control (cubic, bbr) over plain kernel TCP to
# dnat's public address (port 2299 forwarded to drone1): same hosts, same
# NATs, same links, same loss. Goodput counts from the first byte to the
# sink's checksum reply. Each transport copies BENCH_TCP_RUNS times (default
# 3) per row, interleaved; a cell is the median and the range. A row marked
# "relay" lost its direct path during the run. BENCH_TCP_LOSSES (default
# "0 1 3") picks the loss rates. Needs root (network namespaces).
#
# Tables:
#   unshaped  plain veth: no limit but the two shared cores. Kernel TCP moves
#             64 KiB segments without encryption; the wormhole seals and opens
#             every 1.4 kB datagram and crosses user space twice, so this
#             table measures CPU per byte (README "Benchmarks").
#   field     the drone's link as a field link, once per BENCH_TCP_LINKS pair
#             RATE:DELAY (default "50:25 200:10": LTE-like 50 Mbit/s and 25 ms
#             each way, then 200 Mbit/s and 10 ms), shaped by tbf and delayed
#             by tests/prog/delaywire: the path's capacity is the limit, as on
#             an LTE or radio link, so the ratio says how well each transport
#             uses the path. The goal is about these tables: >= 0.8 at 0 %,
#             >= 1.0 at 3 %.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
	echo "bench_tcp: needs root for the namespace lab; skipped"
	exit 0
fi
source tools/lab/lib.sh
source tools/lab/topo.sh
lab_init bench_tcp
LAB_LOG_LEVEL=info # the daemons' default: what is measured is what runs
TE=${TCPECHO:-$LAB_ROOT/build/release/tests/tcpecho}
[ -x "$TE" ] || fail "$TE missing (make build-tests builds it)"
MB=${BENCH_TCP_MB:-100}
# Field links, RATE:DELAY (Mbit/s each way : ms each way): LTE-like, and
# fast and short.
LINKS=${BENCH_TCP_LINKS:-50:25 200:10}
TIMEOUT_S=${BENCH_TCP_TIMEOUT_S:-30} # per copy; a slower one shows as "<upper bound"
RUNS=${BENCH_TCP_RUNS:-3}           # copies per transport and row; the median is shown
LOSSES=${BENCH_TCP_LOSSES:-0 1 3}   # loss rates, % (nftables on the drone's link, both ways)
for link in $LINKS; do
	[[ $link =~ ^[1-9][0-9]*:[0-9]+$ ]] ||
		fail "BENCH_TCP_LINKS: want RATE:DELAY pairs (Mbit/s : ms each way), got \"$link\""
done
[[ $TIMEOUT_S =~ ^[1-9][0-9]*$ ]] || fail "BENCH_TCP_TIMEOUT_S: want a whole number of s, got \"$TIMEOUT_S\""
[[ $MB =~ ^[1-9][0-9]*$ ]] || fail "BENCH_TCP_MB: want a whole number of MB, got \"$MB\""
[[ $RUNS =~ ^[1-9][0-9]?$ ]] || fail "BENCH_TCP_RUNS: want 1-99 copies per row, got \"$RUNS\""
for loss in $LOSSES; do
	[[ $loss =~ ^[0-9]+$ ]] && [ "$loss" -le 100 ] ||
		fail "BENCH_TCP_LOSSES: want whole percentages 0-100, got \"$loss\""
done
[ -n "$LOSSES" ] || fail "BENCH_TCP_LOSSES: empty"

lab_keys server drone1 gcs1
lab_routes 'keepalive_s = 5;' drone1 gcs1 >"$LAB_DIR/routes.conf" <<CONF
flows: ( { name = "copy"; proto = "tcp"; port = 2222; from = ["gcs1"]; to = ["drone1"]; } );
CONF
lab_two_sites
lab_exec dnat nft add rule ip wh_nat prerouting iifname wan tcp dport 2299 dnat ip to 10.0.1.2:2299
# Each kernel copy starts afresh, as each wormhole stream does: no ssthresh
# or RTT remembered from the copy before (Linux keeps them per destination).
for n in drone1 gcs1; do lab_exec "$n" sysctl -qw net.ipv4.tcp_no_metrics_save=1; done
for n in drone1 gcs1; do lab_client_ini "$n" 203.0.113.10:7400; done
lab_start_in drone1 sink "$TE" server --bind 127.0.0.1:2222 --mode sink
lab_start_in drone1 ksink "$TE" server --bind 10.0.1.2:2299 --mode sink
lab_wh_server srv
for n in drone1 gcs1; do lab_wh_client "$n"; done
downs() { grep -c "peer drone1: direct path .* lost" "$LAB_DIR/client-gcs1.log" || true; }
ups() { grep -c "peer drone1: direct path up" "$LAB_DIR/client-gcs1.log" || true; }
is_direct() { [ "$(ups)" -gt "$(downs)" ]; }
wait_until 20 is_direct || fail "no direct path"
ready() { lab_exec gcs1 "$TE" copy --to 127.1.0.1:2222 --bytes 1000 --timeout-ms 3000; }
wait_until 10 ready || fail "the flow did not come up"

# summary FILE...: one transport's runs at one loss rate: the median
# goodput, then " (min-max)" when it ran more than once. "<X" when the
# median run timed out (X: what it sent over the time, an upper bound);
# "FAIL" when any run failed (no checksum match, no connection).
summary() {
	python3 - "$@" <<'PY'
import json, sys
runs = []
for path in sys.argv[1:]:
    try:
        j = json.loads(open(path).read())
    except (OSError, ValueError):
        j = {'ok': False}
    if not j.get('ok') and not j.get('timed_out'):
        print('FAIL')
        sys.exit(0)
    runs.append((float(j['mbit_s']), bool(j.get('timed_out'))))
runs.sort()
rate, cut = runs[(len(runs) - 1) // 2]
out = ('<' if cut else '') + f'{rate:.1f}'
if len(runs) > 1:
    out += f' ({runs[0][0]:.1f}-{runs[-1][0]:.1f})'
print(out)
PY
}
# ratio W K: the medians' ratio W / K; ">R" when K is an upper bound,
# "n/a" when either failed.
ratio() {
	python3 -c "
import sys
w, k = (a.split(' ')[0] for a in sys.argv[1:3])
if 'FAIL' in (w, k) or not float(k.lstrip('<')):
    print('n/a')
else:
    print(('>' if k.startswith('<') else '') + f'{float(w.lstrip(\"<\")) / float(k.lstrip(\"<\")):.2f}')" "$1" "$2"
}
# copy TO FILE [--cc CC]: one copy of MB MB from gcs1 to TO.
copy() {
	local to=$1 out=$2
	shift 2
	lab_exec gcs1 "$TE" copy --to "$to" --bytes $((MB * 1048576)) "$@" \
		--timeout-ms $((TIMEOUT_S * 1000)) >"$out" || true
}
# timed_out FILE: the copy ran out of time (repeating it would only bound
# the same figure again).
timed_out() { grep -q '"timed_out":true' "$1"; }
# Kernel congestion controls to compare with: cubic (Linux's default) and
# bbr, those of them this kernel has.
CCS=""
for cc in cubic bbr; do
	grep -qw "$cc" /proc/sys/net/ipv4/tcp_available_congestion_control && CCS+=" $cc"
done
[ -n "$CCS" ] || fail "the kernel offers neither cubic nor bbr"

# table TAG: one row per loss rate: the wormhole, then kernel TCP with each
# congestion control, each with its ratio. RUNS rounds per row, each a
# wormhole copy and then one per congestion control (interleaved, so a
# slow spell of the machine falls on both); a transport whose copy timed
# out is not run again in that row.
table() {
	local tag=$1 loss cc note n_down row run f w k
	row=$(printf "  %-6s %24s" loss "wormhole Mbit/s")
	for cc in $CCS; do row+=$(printf " %24s %6s" "kernel $cc" ratio); done
	echo "$row"
	for loss in $LOSSES; do
		wait_until 25 is_direct || true
		n_down=$(downs)
		lab_loss dnat wan "$loss"
		for run in $(seq "$RUNS"); do
			f=$LAB_DIR/wh-$tag-$loss-$run.json
			[ "$run" -gt 1 ] && timed_out "$LAB_DIR/wh-$tag-$loss-1.json" || copy 127.1.0.1:2222 "$f"
			for cc in $CCS; do
				f=$LAB_DIR/k-$cc-$tag-$loss-$run.json
				[ "$run" -gt 1 ] && timed_out "$LAB_DIR/k-$cc-$tag-$loss-1.json" ||
					copy 198.51.100.1:2299 "$f" --cc "$cc"
			done
		done
		lab_loss dnat wan 0
		w=$(summary "$LAB_DIR"/wh-"$tag-$loss"-*.json)
		row=$(printf "  %-6s %24s" "$loss %" "$w")
		for cc in $CCS; do
			k=$(summary "$LAB_DIR"/k-"$cc-$tag-$loss"-*.json)
			row+=$(printf " %24s %6s" "$k" "$(ratio "$w" "$k")")
		done
		note=""
		[ "$(downs)" -gt "$n_down" ] && note="  (relay: the direct path was lost during the run)"
		echo "$row$note"
	done
}

# Unshaped veth: no limit but the two shared cores. Kernel TCP moves 64 KiB
# segments without encryption; this table measures CPU per byte, not the
# transport. For information.
echo "  unshaped veth (CPU-bound: the copies share two cores with the daemons), $MB MB per copy, median of $RUNS:"
table unshaped

# The drone's link (dnat wan <-> the internet) as a field link: shaped to
# RATE Mbit/s each way (tbf; a 3200-byte bucket splits GSO trains, so loss
# hits single packets as on a radio link) and DELAY ms each way (delaywire).
# The path's capacity is the limit; the tables show how well each transport
# uses it. These are the tables the goal is about.
for link in $LINKS; do
	RATE=${link%:*}
	DELAY=${link#*:}
	lab_delay dnat "$DELAY"
	lab_rate dnat wan $((RATE * 1000)) 3200
	lab_rate inet p-dnat $((RATE * 1000)) 3200
	# Let the direct path's monitor see the new RTT, and warm the path up
	# once (its first copy would otherwise pay for the change).
	sleep 2
	wait_until 25 is_direct || true
	lab_exec gcs1 "$TE" copy --to 127.1.0.1:2222 --bytes $((10 * 1048576)) --timeout-ms 20000 \
		>/dev/null || true
	echo "  field link: $RATE Mbit/s and $DELAY ms each way (RTT $((2 * DELAY)) ms), $MB MB per copy, median of $RUNS:"
	table "field-$RATE-$DELAY"
done
echo "  (goal on a field link: ratio >= 0.8 at 0 %, >= 1.0 at 3 %; byte-identical by checksum in every copy)"
lab_pass >/dev/null
