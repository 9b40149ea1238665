#!/usr/bin/env bash
# A finer probe than scripts/bench-cluster.sh: a 3-node RF=3 cluster on loopback under redis-benchmark (50 clients,
# 100-byte values, QUORUM, all requests sent to the first node), reporting req/s, p99 and each node's CPU time per
# request: the coordinator's first, then the two replicas'.
# Usage: scripts/probe-cluster.sh TEST PIPELINE        e.g. scripts/probe-cluster.sh set 16
# Env: NODE_CMD (default: the Release build), N requests measured (100000), WARM requests first (150000, so the JIT
# has settled on all three nodes), IO_THREADS per node (1, as co-located nodes should run), and any DOTNET_* variable
# to compare runtime settings. Run alternating A/B pairs. TRACE=1 also traces the coordinator's GC events during the
# measured run and prints its allocations per request, or with GCS=1 / STACKS=FILTER what scripts/alloc-profile.sh
# prints for them.
set -euo pipefail
cd "$(dirname "$0")/.."
test=${1:?usage: probe-cluster.sh TEST PIPELINE} pipe=${2:?usage: probe-cluster.sh TEST PIPELINE}
n=${N:-100000} warm=${WARM:-150000} resp=${PORT:-19381} peer=$((${PORT:-19381} + 20))
if [[ -z ${NODE_CMD:-} ]]; then
  dotnet build src/Kv.Node -c Release -v quiet -nologo >/dev/null
  NODE_CMD="dotnet src/Kv.Node/bin/Release/net10.0/kv-node.dll"
fi
work=$(mktemp -d /tmp/probe-cluster.XXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill $p 2>/dev/null; done; wait 2>/dev/null; rm -rf "$work"' EXIT
for i in 0 1 2; do
  mkdir -p "$work/n$i"
  $NODE_CMD --data "$work/n$i" --resp-port $((resp + i)) --node-id "probe$i" --peer-port $((peer + i)) --seeds "127.0.0.1:$peer" \
    --rack "rack$i" --replication-factor 3 --io-threads "${IO_THREADS:-1}" --log-level Warning >"$work/n$i.log" 2>&1 & pids+=($!)
done
up=0
for _ in $(seq 1 300); do
  up=$(redis-cli -p "$resp" info ring 2>/dev/null | grep -c 'status=NORMAL,state=up' || true)
  [[ $up -ge 3 ]] && break; sleep 0.2
done
[[ $up -ge 3 ]] || { echo "the cluster did not form ($up members NORMAL and up)" >&2; exit 2; }
cpu() { for p in "${pids[@]}"; do awk '{printf "%d ", $14 + $15}' /proc/$p/stat; done; }
redis-benchmark -p "$resp" -t "$test" -n "$warm" -c 50 -P "$pipe" -d 100 -r 1000000 -q >/dev/null 2>&1
source scripts/lib-node.sh
[[ -n ${TRACE:-} ]] && start_gc_trace "${pids[0]}" "$work/trace.nettrace"
c0=$(cpu)
out=$(redis-benchmark -p "$resp" -t "$test" -n "$n" -c 50 -P "$pipe" -d 100 -r 1000000 --csv 2>/dev/null | tail -1)
c1=$(cpu)
[[ -n ${TRACE:-} ]] && stop_gc_trace
echo "$out" | sed 's/"//g' | awk -F, -v n="$n" -v a="$c0" -v b="$c1" -v p="$pipe" '{
  split(a, x, " "); split(b, y, " ")
  printf "%s -P%s  %s req/s  p50 %s ms  p99 %s ms  node CPU us/req: coordinator %.1f, replicas %.1f %.1f\n", $1, p, $2, $5, $7,
    (y[1] - x[1]) * 10000 / n, (y[2] - x[2]) * 10000 / n, (y[3] - x[3]) * 10000 / n }'
[[ -z ${TRACE:-} ]] || report_gc_trace "$work/trace.nettrace" "$n"
