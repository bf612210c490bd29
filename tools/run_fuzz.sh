#!/bin/sh
# run_fuzz: run each libFuzzer target for $1 seconds on a copy of its seed corpus.
# A crash fails the run; the reproducer stays in build/fuzz/crashes/.
set -u
secs=$1
shift
fail=0
mkdir -p build/fuzz/crashes build/fuzz/work
for name in "$@"; do
	seeds=tests/fuzz/corpus/${name#fuzz_}
	work=build/fuzz/work/${name#fuzz_}
	mkdir -p "$work"
	log=build/fuzz/$name.log
	if build/fuzz/bin/"$name" -max_total_time="$secs" -max_len=4096 -rss_limit_mb=1024 -print_final_stats=1 \
		-artifact_prefix=build/fuzz/crashes/"$name"- "$work" "$seeds" >"$log" 2>&1; then
		echo "  PASS  fuzz/$name (${secs}s, $(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | awk '{print $2}') runs)"
	else
		echo "  FAIL  fuzz/$name — log: $log"
		tail -n 40 "$log" | sed 's/^/        /'
		fail=1
	fi
done
exit $fail
