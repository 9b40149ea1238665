#!/usr/bin/env bash
# Where one node's allocations go under one redis-benchmark test (50 clients, 100-byte values): traces the
# runtime's allocation samples with dotnet-trace during the measured run and prints the heaviest types in bytes
# per request (estimates: the runtime samples one allocation per ~100 KB).
# Usage: scripts/alloc-profile.sh TEST PIPELINE        e.g. scripts/alloc-profile.sh set 1
# Env: NODE_CMD (default: the Release build), N requests measured (150000), WARM requests first (100000), TOP (15).
#   GCS=1 lists every collection during the run instead (how long it stopped the node's threads, bytes promoted),
#   STACKS=FILTER the call stacks behind the samples whose "TYPE KIND size~SIZE" contains FILTER, e.g.
#   STACKS="Byte[] Small size~4K" (STACKS=" " matches every sample).
# Installs dotnet-trace into .tools/ (NuGet) and builds bench/kv-allocs on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
test=${1:?usage: alloc-profile.sh TEST PIPELINE} pipe=${2:?usage: alloc-profile.sh TEST PIPELINE}
n=${N:-150000} warm=${WARM:-100000} port=${PORT:-19640}
[[ -x .tools/dotnet-trace ]] || dotnet tool install --tool-path .tools dotnet-trace >/dev/null
dotnet build bench/kv-allocs -c Release -v quiet -nologo >/dev/null
source scripts/lib-node.sh
start_probe_node alloc-profile "$port"
redis-benchmark -p "$port" -t "$test" -n "$warm" -c 50 -P "$pipe" -d 100 -r 1000000 -q >/dev/null 2>&1
# GC events at verbose level carry the allocation samples; the trace stops when the benchmark is done.
# With job control on, the tracer runs in its own process group and keeps SIGINT (a background job of a script
# otherwise ignores it), which is how dotnet-trace is told to finish the file.
set -m
.tools/dotnet-trace collect -p "$pid" --providers Microsoft-Windows-DotNETRuntime:0x1:5 -o "$work/trace.nettrace" >"$work/trace.log" 2>&1 & tracer=$!
set +m
sleep 2
redis-benchmark -p "$port" -t "$test" -n "$n" -c 50 -P "$pipe" -d 100 -r 1000000 --csv 2>/dev/null | tail -n 1 |
  sed 's/"//g' | awk -F, -v p="$pipe" '{ printf "%s -P%s  %s req/s  p99 %s ms\n", $1, p, $2, $7 }'
kill -INT $tracer 2>/dev/null; wait $tracer 2>/dev/null || true
allocs=bench/kv-allocs/bin/Release/net10.0/kv-allocs.dll
if [[ -n ${GCS:-} ]]; then dotnet $allocs --gcs "$work/trace.nettrace"
elif [[ -n ${STACKS:-} ]]; then dotnet $allocs --stacks "$STACKS" "$work/trace.nettrace" "${TOP:-6}"
else dotnet $allocs "$work/trace.nettrace" "$n" "${TOP:-15}"; fi
