#!/bin/sh
# run_tests: run each test program or script given, print one line per test,
# and a summary; exit 1 if any failed. $1 names the suite (unit, corpus, lab...).
set -u
suite=$1
shift
pass=0
fail=0
failed=""
logdir=build/test-logs/$suite
mkdir -p "$logdir"
for t in "$@"; do
	name=$(basename "$t")
	log=$logdir/$name.log
	case "$suite" in
	corpus)
		target=${name}
		dir=tests/fuzz/corpus/${target#fuzz_}
		set -- "$t" "$dir"
		;;
	vectors)
		# The public vectors file is kept in tests/vectors/ (a copy of
		# ../shared/vectors/), so a clone alone runs it.
		set -- "$t" tests/vectors/*.json
		;;
	lab)
		set -- bash "$t"
		;;
	*)
		set -- "$t"
		;;
	esac
	start=$(date +%s)
	if "$@" >"$log" 2>&1; then
		pass=$((pass + 1))
		echo "  PASS  $suite/$name ($(($(date +%s) - start))s)"
	else
		fail=$((fail + 1))
		failed="$failed $name"
		echo "  FAIL  $suite/$name ($(($(date +%s) - start))s) — log: $log"
		tail -n 30 "$log" | sed 's/^/        /'
	fi
	if [ "$suite" = bench ] || [ "$suite" = vectors ]; then
		cat "$log"
	fi
done
echo "$suite: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
