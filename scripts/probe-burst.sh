#!/usr/bin/env bash
# Reads right after a burst of writes, the pattern of resp-vs-redis.sh's pipelined rows: one kv-node warmed with
# WARM GETs, then SETS pipelined SETs (400k: the default 64 MiB memtable switches near their end, so its flush has
# just begun), then at once N GETs; all redis-benchmark with 50 clients, -P PIPELINE (16), 100-byte values. Prints
# the GETs' req/s and p99, the CPU (clock ticks, 1/100 s) each of the node's threads used during them, and INFO
# engine's flush pauses and memtable sizes afterwards.
# Usage: scripts/probe-burst.sh          Env: NODE_CMD (default: the Release build; add options to it, e.g.
# NODE_CMD="src/Kv.Node/bin/Release/net10.0/kv-node --flush-pacing false"), WARM (300000), SETS (400000), N (300000),
# PIPELINE (16). Run alternating A/B pairs: this machine's speed drifts by a third between runs.
set -euo pipefail
cd "$(dirname "$0")/.."
warm=${WARM:-300000} sets=${SETS:-400000} n=${N:-300000} pipe=${PIPELINE:-16} port=${PORT:-19620}
source scripts/lib-node.sh
start_probe_node probe-burst "$port"
bench() { redis-benchmark -p "$port" -t "$1" -n "$2" -c 50 -P "$pipe" -d 100 -r 1000000 "${@:3}"; }
threads() { for t in /proc/$pid/task/*; do echo "$(tr ' ' _ <"$t/comm") $(awk '{print $14 + $15}' "$t/stat")"; done |
  awk '{a[$1] += $2} END {for (k in a) print k, a[k]}' | sort; }
bench get "$warm" -q >/dev/null 2>&1
bench set "$sets" -q >/dev/null 2>&1
threads >"$work/before"
out=$(bench get "$n" --csv 2>/dev/null | tail -1)
threads >"$work/after"
echo "$out" | sed 's/"//g' | awk -F, -v p="$pipe" '{ printf "GET -P%s right after the SETs: %s req/s  p99 %s ms\n", p, $2, $7 }'
echo "CPU ticks during the GETs: $(join "$work/before" "$work/after" | awk '$3 > $2 { printf "%s %d  ", $1, $3 - $2 }')"
redis-cli -p "$port" info engine | tr -d '\r' | grep -E '^engine_(flush_pauses|flushes|memtable_bytes|immutable_memtable_bytes):' | tr '\n' ' '
echo
