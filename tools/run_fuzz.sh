#!/usr/bin/env bash
# run_fuzz: run each libFuzzer target for $1 seconds on a copy of its seed
# corpus, FUZZ_JOBS of them at once (default: one per core). A crash fails the
# run; the reproducer stays in build/fuzz/crashes/.
set -u
secs=$1
shift
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
mkdir -p build/fuzz/crashes build/fuzz/work

# run_one NAME: fuzz it; its verdict goes to build/fuzz/NAME.result.
run_one() {
	local name=$1 seeds=tests/fuzz/corpus/${1#fuzz_} work=build/fuzz/work/${1#fuzz_}
	local log=build/fuzz/$1.log
	mkdir -p "$work"
	if build/fuzz/bin/"$name" -max_total_time="$secs" -max_len=4096 -rss_limit_mb=1024 -print_final_stats=1 \
		-artifact_prefix=build/fuzz/crashes/"$name"- "$work" "$seeds" >"$log" 2>&1; then
		echo "  PASS  fuzz/$name (${secs}s, $(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | awk '{print $2}') runs)"
	else
		echo "  FAIL  fuzz/$name — log: $log"
		tail -n 40 "$log" | sed 's/^/        /'
	fi >"build/fuzz/$name.result"
}

running=0
for name in "$@"; do
	if [ "$running" -ge "$jobs" ]; then
		wait -n
		running=$((running - 1))
	fi
	run_one "$name" &
	running=$((running + 1))
done
wait

fail=0
for name in "$@"; do
	cat "build/fuzz/$name.result"
	grep -q '^  PASS' "build/fuzz/$name.result" || fail=1
done
exit $fail
