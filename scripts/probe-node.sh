#!/usr/bin/env bash
# A finer probe than the benchmarks: one kv-node under redis-benchmark (50 clients, 100-byte values), reporting
# req/s, p99, and what the node spent per request: CPU time (from /proc) and voluntary context switches.
# Usage: scripts/probe-node.sh TEST PIPELINE        e.g. scripts/probe-node.sh get 1
# Env: NODE_CMD (default: the Release build), N requests measured (150000), WARM requests first (150000, so the JIT
# has settled), PREFILL keys SET first (pipelined 16) and SETTLE seconds to wait after them (10; flushes and
# compactions finish), so reads reach tables: PREFILL=1200000 WARM=300000 N=1000000 scripts/probe-node.sh get 16
# measures point reads on a full store. Any DOTNET_* variable compares runtime settings. Run alternating A/B pairs: this machine's
# speed drifts by a third between runs, so a single pair proves nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
test=${1:?usage: probe-node.sh TEST PIPELINE} pipe=${2:?usage: probe-node.sh TEST PIPELINE}
n=${N:-150000} warm=${WARM:-150000} port=${PORT:-19600}
source scripts/lib-node.sh
start_probe_node probe-node "$port"
if [[ -n ${PREFILL:-} ]]; then
  redis-benchmark -p "$port" -t set -n "$PREFILL" -c 50 -P 16 -d 100 -r 1000000 -q >/dev/null 2>&1
  sleep "${SETTLE:-10}"
fi
redis-benchmark -p "$port" -t "$test" -n "$warm" -c 50 -P "$pipe" -d 100 -r 1000000 -q >/dev/null 2>&1
switches() { cat /proc/$pid/task/*/status 2>/dev/null | awk '/^voluntary_ctxt/ {v += $2} END {print v}'; }
cpu() { awk '{print $14 + $15}' /proc/$pid/stat; }   # user + system clock ticks (1/100 s)
s0=$(switches) c0=$(cpu)
out=$(redis-benchmark -p "$port" -t "$test" -n "$n" -c 50 -P "$pipe" -d 100 -r 1000000 --csv 2>/dev/null | tail -1)
s1=$(switches) c1=$(cpu)
echo "$out" | sed 's/"//g' | awk -F, -v n="$n" -v c=$((c1 - c0)) -v s=$((s1 - s0)) -v p="$pipe" \
  '{ printf "%s -P%s  %s req/s  p50 %s ms  p99 %s ms  node CPU %.1f us/req  %.2f context switches/req\n", $1, p, $2, $5, $7, c * 10000 / n, s / n }'
