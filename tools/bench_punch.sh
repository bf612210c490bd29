#!/usr/bin/env bash
# bench_punch: how fast pairs reach a direct path and how long a failover
# leaves a stream without data (issue #6, acceptance 5), in the namespace lab.
#   - time from "both clients registered" to the direct path, for a
#     cone/cone pair (port-restricted both sides: simultaneous probes), a
#     cone/symmetric pair (port-restricted + symmetric: spray and scan), a
#     cone/sequential-symmetric pair and a pair of sequential symmetric
#     NATs (port prediction), BENCH_RUNS runs (default 5) of
#     tests/lab/test_punch.sh on those types;
#   - the longest gap in a 100/s stream when the direct path is cut,
#     BENCH_RUNS runs of tests/lab/test_failover.sh (FAILOVER_ONLY=1).
# Prints each sample and the medians. Needs root (network namespaces).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${BENCH_RUNS:-5}
if [ "$(id -u)" != 0 ]; then
	echo "bench_punch: needs root for the namespace lab; skipped"
	exit 0
fi
median() { python3 -c 'import sys,statistics; v=[float(x) for x in sys.argv[1:]]; print(f"{statistics.median(v):.0f}" if v else "n/a")' "$@"; }

cc=() cs=() cq=() qq=() gaps=()
for ((i = 1; i <= RUNS; i++)); do
	out=$(PUNCH_TYPES="port-restricted-cone symmetric symmetric-seq" tests/lab/test_punch.sh 2>&1) || {
		echo "$out" | tail -5
		echo "bench_punch: run $i of test_punch failed"
		exit 1
	}
	a=$(sed -n 's/^pra-prb direct .*time_ms=\([0-9]*\).*/\1/p' <<<"$out")
	b=$(sed -n 's/^pra-syb direct .*time_ms=\([0-9]*\).*/\1/p' <<<"$out")
	c=$(sed -n 's/^pra-sqb direct .*time_ms=\([0-9]*\).*/\1/p' <<<"$out")
	d=$(sed -n 's/^sqa-sqb direct .*time_ms=\([0-9]*\).*/\1/p' <<<"$out")
	echo "  run $i: cone/cone ${a:-?} ms, cone/symmetric ${b:-?} ms," \
		"cone/sequential ${c:-?} ms, sequential/sequential ${d:-?} ms"
	[ -n "$a" ] && cc+=("$a")
	[ -n "$b" ] && cs+=("$b")
	[ -n "$c" ] && cq+=("$c")
	[ -n "$d" ] && qq+=("$d")
done
for ((i = 1; i <= RUNS; i++)); do
	out=$(FAILOVER_ONLY=1 tests/lab/test_failover.sh 2>&1) || {
		echo "$out" | tail -5
		echo "bench_punch: run $i of test_failover failed"
		exit 1
	}
	g=$(sed -n 's/^FAILOVER_GAP_MS=\([0-9.]*\).*/\1/p' <<<"$out")
	echo "  run $i: failover gap ${g:-?} ms"
	[ -n "$g" ] && gaps+=("$g")
done
printf '%-40s %10s %6s\n' "measure ($RUNS runs)" "median ms" "runs"
printf '%-40s %10s %6s\n' "time to direct, cone/cone" "$(median "${cc[@]}")" "${#cc[@]}"
printf '%-40s %10s %6s\n' "time to direct, cone/symmetric (spray)" "$(median "${cs[@]}")" "${#cs[@]}"
printf '%-40s %10s %6s\n' "time to direct, cone/seq. sym. (predict)" "$(median "${cq[@]}")" "${#cq[@]}"
printf '%-40s %10s %6s\n' "time to direct, seq./seq. sym. (predict)" "$(median "${qq[@]}")" "${#qq[@]}"
printf '%-40s %10s %6s\n' "failover gap, 100/s stream (target 1000)" "$(median "${gaps[@]}")" "${#gaps[@]}"
