#!/usr/bin/env bash
# bench: every benchmark, each printing its own table (make bench).
#   tools/bench_crypto      seal+open of the session transport vs raw libsodium AEAD
#   tools/bench_flow.sh     a UDP flow through the relay vs plain UDP, on loopback
#   tools/bench_punch.sh    time to a direct path and failover gap, in the lab
#   tools/bench_tcp.sh      a TCP flow vs kernel TCP over the same lab path, 0/1/3 % loss
#   tools/bench_routes.sh   server start and reload with 1,000 clients vs 2, on loopback
#   tools/bench_idle.sh     what an idle client sends and receives, in the lab
set -euo pipefail
cd "$(dirname "$0")/.."
O=${BENCH_BUILD:-build/release}
echo "== session transport vs raw AEAD (1400-byte packets)"
"$O/tools/bench_crypto"
echo
echo "== server start and reload: a large routes.conf vs a small one (loopback)"
tools/bench_routes.sh
echo
echo "== UDP flow through the relay vs plain UDP (loopback)"
tools/bench_flow.sh
echo
echo "== hole punching and failover (namespace lab)"
tools/bench_punch.sh
echo
echo "== TCP flow vs kernel TCP over the same lab path (namespace lab)"
tools/bench_tcp.sh
echo
echo "== an idle client's traffic on its link (namespace lab)"
tools/bench_idle.sh
