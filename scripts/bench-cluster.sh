#!/usr/bin/env bash
# Issue 6's benchmark: redis-benchmark (SET and GET, 50 clients, 100-byte values, pipelining 1 and 16)
# against a 3-node RF=3 cluster on loopback at QUORUM, beside one single node and Redis 7 with
# appendonly yes + appendfsync always, all in one run on this machine. Prints req/s, p50 and p99 (ms).
# Usage: scripts/bench-cluster.sh [REQUESTS]      (default 200000 per test at -P1, five times as many at -P16, so no
#        test is over in a fraction of a second; REPS alternating runs, default 1)
# Every target first gets an untimed warm-up (SET and GET, both pipelines), so the figures are a warm server's and
# not the .NET JIT's first seconds; Redis gets the same warm-up.
# The cluster's three nodes, the single node, Redis and redis-benchmark all share this machine's cores. The three
# cluster nodes get one I/O thread each (--io-threads 1) rather than one per core each, as any co-located nodes
# should (docs/protocol.md, "Threads"); the single node keeps the default.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-200000}
reps=${REPS:-1}
command -v redis-benchmark >/dev/null && command -v redis-server >/dev/null || {
  apt-get update -qq >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools >/dev/null; }
source scripts/lib-cluster.sh
bench_setup clusterbench

redis_port=18379 single_port=18380 cluster_base=18381 peer_base=18401
redis-server --port $redis_port --dir "$work" --save "" --appendonly yes --appendfsync always >"$work/redis.log" 2>&1 & pids+=($!)
mkdir -p "$work/single"
$node --data "$work/single" --resp-port $single_port --log-level Warning >"$work/single.log" 2>&1 & pids+=($!)
start_cluster $cluster_base $peer_base bench
wait_ping $redis_port; wait_ping $single_port
wait_cluster $cluster_base

res="$work/results"
bench() { # label port pipeline
  local count=$n; [[ $3 -gt 1 ]] && count=$((n * 5))
  redis-benchmark -p "$2" -t set,get -n "$count" -c 50 -P "$3" -d 100 -r 1000000 --csv 2>/dev/null |
    awk -F'","' -v w="$1" -v p="$3" 'NR>1 { gsub(/"/,""); split($0,f,","); print w "," p "," f[1] "," f[2] "," f[5] "," f[7] }' >>"$res"
}
for port in $redis_port $single_port $cluster_base; do
  redis-benchmark -p $port -t set,get -n 20000 -c 50 -P 1 -d 100 -r 1000000 -q >/dev/null 2>&1
  redis-benchmark -p $port -t set,get -n 300000 -c 50 -P 16 -d 100 -r 1000000 -q >/dev/null 2>&1
done
for ((r = 0; r < reps; r++)); do
  for p in 1 16; do
    bench redis $redis_port $p
    bench single $single_port $p
    bench cluster $cluster_base $p
  done
done
median() { sort -g | awk '{a[NR]=$1} END { if (NR==0) print "-"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2 }'; }
pick() { awk -F, -v w="$1" -v p="$2" -v t="$3" -v c="$4" '$1==w && $2==p && $3==t {print $c}' "$res" | median; }
printf '%-9s %-14s %11s %8s %8s\n' test target req/s p50_ms p99_ms
for p in 1 16; do
  for t in SET GET; do
    for w in redis single cluster; do
      label=$w; [[ $w == redis ]] && label="redis-aof"; [[ $w == cluster ]] && label="cluster-3xQ"
      printf '%-9s %-14s %11s %8s %8s\n' "$t -P$p" "$label" "$(pick $w $p $t 4)" "$(pick $w $p $t 5)" "$(pick $w $p $t 6)"
    done
    s=$(pick single $p $t 4); c=$(pick cluster $p $t 4)
    awk -v s="$s" -v c="$c" -v t="$t -P$p" 'BEGIN { if (s > 0) printf "%-9s cluster/single throughput: %.2f\n", t, c / s }'
  done
done
