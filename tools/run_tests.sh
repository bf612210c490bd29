#!/usr/bin/env bash
# run_tests: run each test program or script given, print one line per test,
# and a summary; exit 1 if any failed. $1 names the suite (unit, corpus, lab...).
#
# Lab tests run LAB_JOBS at a time (default 4, on 2 cores): most of their
# time is spent waiting for timers (cooldowns, timeouts, keepalives), and
# each builds its own namespaces with a per-run prefix. Longest first, by the
# durations of the last run, else of tests/lab/durations (kept in the tree
# for a clean clone: rewrite it from build/test-logs/lab/durations when tests
# change much). A test says in its header how it may
# share the machine:
#   # lab-run: alone     runs with no other test beside it (it loads the CPU,
#                        or what it measures would suffer from another test)
#   # lab-run: loopback  uses its own loopback, not the namespace lab: as root
#                        it runs in a network namespace of its own
#                        (tools/lab/own_netns.sh), beside any test; else on
#                        the host's loopback, never beside another loopback
#                        test (their ports may meet)
# Tests without the line run beside any other non-alone test. LAB_JOBS=1 runs
# them one by one, in the order given.
set -u
suite=$1
shift
pass=0
fail=0
failed=""
logdir=build/test-logs/$suite
mkdir -p "$logdir"

command_for() { # TEST: the command line that runs it, in CMD[]
	local t=$1 name
	name=$(basename "$t")
	case "$suite" in
	corpus)
		CMD=("$t" "tests/fuzz/corpus/${name#fuzz_}")
		;;
	vectors)
		# The public vectors file is kept in tests/vectors/ (a copy of
		# ../shared/vectors/), so a clone alone runs it.
		CMD=("$t" tests/vectors/*.json)
		;;
	lab)
		CMD=(bash "$t")
		if [ "$own_netns" = 1 ] && grep -q '^# lab-run: loopback' "$t"; then
			CMD=(bash tools/lab/own_netns.sh "$t")
		fi
		;;
	*)
		CMD=("$t")
		;;
	esac
}

# report NAME RC SECONDS: one line, the log's tail on failure.
report() {
	local name=$1 rc=$2 secs=$3 log=$logdir/$1.log
	if [ "$rc" = 0 ]; then
		pass=$((pass + 1))
		echo "  PASS  $suite/$name (${secs}s)"
	else
		fail=$((fail + 1))
		failed="$failed $name"
		echo "  FAIL  $suite/$name (${secs}s) — log: $log"
		tail -n 30 "$log" | sed 's/^/        /'
	fi
	if [ "$suite" = bench ] || [ "$suite" = vectors ]; then
		cat "$log"
	fi
}

run_serial() {
	local t name start rc
	for t in "$@"; do
		name=$(basename "$t")
		command_for "$t"
		start=$(date +%s)
		"${CMD[@]}" >"$logdir/$name.log" 2>&1
		rc=$?
		report "$name" "$rc" $(($(date +%s) - start))
	done
}

# run_lab_parallel TEST...: longest first (durations of the last run, kept in
# $logdir/durations, else tests/lab/durations), alone tests after the others,
# one at a time.
run_lab_parallel() {
	local jobs=$1 t name mode i pick
	shift
	local -A kind=() secs=() started=() running=()
	local -a shared=() alone=()
	local durations=$logdir/durations n_loop=0 f
	for f in tests/lab/durations "$durations"; do
		if [ -f "$f" ]; then
			while read -r name i; do secs[$name]=$i; done <"$f"
		fi
	done
	for t in "$@"; do
		name=$(basename "$t")
		mode=$(sed -n 's/^# lab-run: *\([a-z]*\).*/\1/p' "$t" | head -n 1)
		kind[$t]=${mode:-shared}
		# In a namespace of its own a loopback test meets no other's ports.
		[ "${kind[$t]}" != loopback ] || [ "$own_netns" = 0 ] || kind[$t]=shared
		case "${kind[$t]}" in
		alone) alone+=("$t") ;;
		shared | loopback) shared+=("$t") ;;
		*)
			echo "run_tests: $t: unknown \"# lab-run: $mode\" (alone or loopback)" >&2
			return 2
			;;
		esac
	done
	# Longest first: a long test started last would leave one lane idle.
	mapfile -t shared < <(for t in "${shared[@]}"; do
		echo "${secs[$(basename "$t")]:-0} $t"
	done | sort -s -k1,1nr | cut -d' ' -f2-)
	: >"$durations.new"

	finish_one() { # wait for any running test and report it
		local done_pid rc name
		wait -n -p done_pid "${!running[@]}"
		rc=$?
		t=${running[$done_pid]}
		unset "running[$done_pid]"
		name=$(basename "$t")
		[ "${kind[$t]}" != loopback ] || n_loop=$((n_loop - 1))
		i=$(($(date +%s) - ${started[$t]}))
		echo "$name $i" >>"$durations.new"
		report "$name" "$rc" "$i"
	}
	start_one() { # TEST
		local name
		name=$(basename "$1")
		command_for "$1"
		started[$1]=$(date +%s)
		# A background job of a script ignores SIGINT and SIGQUIT: give
		# the test the dispositions it has when run in the foreground
		# (Ctrl-C ends it through its cleanup; its daemons and tools see
		# what they would see run by hand).
		(
			trap - INT QUIT
			exec "${CMD[@]}"
		) >"$logdir/$name.log" 2>&1 &
		running[$!]=$1
		[ "${kind[$1]}" != loopback ] || n_loop=$((n_loop + 1))
	}

	while [ "${#shared[@]}" -gt 0 ]; do
		# the first test that may start now: any, but a loopback test
		# only while no other loopback test runs. The loopback tests run
		# one after another: while what is left of that chain is longer
		# than the longest other test left, the chain goes first, or it
		# would run alone at the end.
		pick=-1
		if [ "${#running[@]}" -lt "$jobs" ]; then
			local loop_left=0 loop_first=-1 other_first=-1
			for i in "${!shared[@]}"; do
				if [ "${kind[${shared[$i]}]}" = loopback ]; then
					loop_left=$((loop_left + ${secs[$(basename "${shared[$i]}")]:-0}))
					[ "$loop_first" -ge 0 ] || loop_first=$i
				elif [ "$other_first" -lt 0 ]; then
					other_first=$i
				fi
			done
			if [ "$n_loop" = 0 ] && [ "$loop_first" -ge 0 ] && { [ "$other_first" -lt 0 ] ||
				[ "$loop_left" -ge "${secs[$(basename "${shared[$other_first]}")]:-0}" ]; }; then
				pick=$loop_first
			elif [ "$other_first" -ge 0 ]; then
				pick=$other_first
			fi
		fi
		if [ "$pick" -lt 0 ]; then
			finish_one
			continue
		fi
		start_one "${shared[$pick]}"
		unset "shared[$pick]"
		shared=("${shared[@]}")
	done
	while [ "${#running[@]}" -gt 0 ]; do
		finish_one
	done
	for t in "${alone[@]}"; do
		start_one "$t"
		finish_one
	done
	# Keep the durations of tests this run did not include.
	cat "$durations" "$durations.new" 2>/dev/null |
		awk '{ d[$1] = $2 } END { for (t in d) print t, d[t] }' >"$durations.tmp"
	mv "$durations.tmp" "$durations"
	rm -f "$durations.new"
}

# Loopback lab tests each get a network namespace of their own when we can
# make one (root, iproute2).
own_netns=0
if [ "$suite" = lab ] && [ "$(id -u)" = 0 ] && command -v ip >/dev/null; then
	own_netns=1
fi
jobs=${LAB_JOBS:-4}
case "$jobs" in
'' | *[!0-9]* | 0)
	echo "run_tests: LAB_JOBS=$jobs: expected a number of tests to run at once (1 or more)" >&2
	exit 2
	;;
esac
# `wait -n -p` (which test ended) came with bash 5.1: older ones run serially.
if [ "${BASH_VERSINFO[0]}" -lt 5 ] || { [ "${BASH_VERSINFO[0]}" = 5 ] && [ "${BASH_VERSINFO[1]}" -lt 1 ]; }; then
	jobs=1
fi
if [ "$suite" = lab ] && [ "$jobs" -gt 1 ]; then
	run_lab_parallel "$jobs" "$@" || exit $?
else
	run_serial "$@"
fi
echo "$suite: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
