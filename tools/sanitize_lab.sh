#!/usr/bin/env bash
# sanitize_lab BIN_DIR TEST...: run lab tests with the daemons in BIN_DIR
# (built with ASan and UBSan: make sanitize-lab) and fail when any daemon
# reported a memory error, undefined behaviour or, at its exit, a leak.
# Each report is a file in build/asan/lab-reports/ (the sanitizers' log_path;
# a daemon's stderr is its test's log, which a passing test does not keep),
# printed at the end. The tests know (LAB_SANITIZED=1): test_daemons_clean_exit
# leaves valgrind out (ASan's leak check at exit takes its place) and
# test_tcp_flows does not bound the clients' resident memory (ASan's shadow
# and quarantine are most of it).
set -u
cd "$(dirname "$0")/.." || exit 2
[ $# -ge 2 ] || {
	echo "usage: tools/sanitize_lab.sh BIN_DIR TEST..." >&2
	exit 2
}
bin=$(cd "$1" && pwd) || exit 2
shift
for p in wormhole-server wormhole-client wormhole-keygen; do
	nm "$bin/$p" 2>/dev/null | grep -q __asan_init || {
		echo "sanitize_lab: $bin/$p is not built with ASan (make sanitize-lab builds it)" >&2
		exit 2
	}
done
reports=$PWD/build/asan/lab-reports
rm -rf "$reports"
mkdir -p "$reports"
# verify_asan_link_order=0: test_twin preloads its clock shim into a daemon.
export ASAN_OPTIONS="log_path=$reports/asan:detect_leaks=1:verify_asan_link_order=0"
export UBSAN_OPTIONS="log_path=$reports/ubsan:print_stacktrace=1:halt_on_error=1"
export LAB_BIN=$bin LAB_SANITIZED=1
tools/run_tests.sh lab "$@"
rc=$?
n=$(find "$reports" -type f | wc -l)
if [ "$n" -gt 0 ]; then
	echo "sanitize_lab: $n sanitizer reports:" >&2
	for f in "$reports"/*; do
		echo "--- $f" >&2
		head -n 60 "$f" >&2
	done
	exit 1
fi
echo "sanitize_lab: no sanitizer reports from the daemons"
exit "$rc"
