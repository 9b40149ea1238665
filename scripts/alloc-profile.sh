#!/usr/bin/env bash
# Where one node's allocations go under one redis-benchmark test (50 clients, 100-byte values): traces the
# runtime's allocation samples with dotnet-trace during the measured run and prints the heaviest types in bytes
# per request (estimates: the runtime samples one allocation per ~100 KB).
# Usage: scripts/alloc-profile.sh TEST PIPELINE        e.g. scripts/alloc-profile.sh set 1
# Env: NODE_CMD (default: the Release build), N requests measured (150000), WARM requests first (100000), TOP (15).
#   GCS=1 lists every collection during the run instead (how long it stopped the node's threads, bytes promoted),
#   STACKS=FILTER the call stacks behind the samples whose "TYPE KIND size~SIZE" contains FILTER, e.g.
#   STACKS="Byte[] Small size~4K" (STACKS=" " matches every sample). scripts/probe-cluster.sh TRACE=1 does the same
#   for a cluster's coordinator. Installs dotnet-trace into .tools/ (NuGet) and builds bench/kv-allocs on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
test=${1:?usage: alloc-profile.sh TEST PIPELINE} pipe=${2:?usage: alloc-profile.sh TEST PIPELINE}
n=${N:-150000} warm=${WARM:-100000} port=${PORT:-19640}
source scripts/lib-node.sh
start_probe_node alloc-profile "$port"
redis-benchmark -p "$port" -t "$test" -n "$warm" -c 50 -P "$pipe" -d 100 -r 1000000 -q >/dev/null 2>&1
start_gc_trace "$pid" "$work/trace.nettrace"
redis-benchmark -p "$port" -t "$test" -n "$n" -c 50 -P "$pipe" -d 100 -r 1000000 --csv 2>/dev/null | tail -n 1 |
  sed 's/"//g' | awk -F, -v p="$pipe" '{ printf "%s -P%s  %s req/s  p99 %s ms\n", $1, p, $2, $7 }'
stop_gc_trace
report_gc_trace "$work/trace.nettrace" "$n"
