#!/usr/bin/env bash
# Where a request's CPU goes: runs redis-benchmark (SET and GET, 50 clients, 100-byte values, pipelining 1 and 16)
# against one node and against a 3-node RF=3 QUORUM cluster on loopback, and prints, per test, the CPU time each
# process used per request (user + system, from /proc/PID/stat; redis-benchmark's from its own rusage), their sum,
# and the throughput that sum allows if every core of this machine did nothing else (cores / total).
# It is what docs/cluster.md's "What three nodes on two cores can reach" is computed from.
# Usage: scripts/cpu-per-request.sh [REQUESTS]   (default 300000 per test at -P1, five times as many at -P16)
# Before measuring, each target is loaded with LOAD (default 1500000) SET+GET requests at -P16, so reads find data
# in memtables and tables as in a warm server, and the JIT has compiled the hot paths.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-300000}
load=${LOAD:-1500000}
command -v redis-benchmark >/dev/null || {
  apt-get update -qq >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-tools >/dev/null; }
source scripts/lib-cluster.sh
bench_setup cpureq

single_port=18580 cluster_base=18581 peer_base=18601
mkdir -p "$work/single"
$node --data "$work/single" --resp-port $single_port --log-level Warning >"$work/single.log" 2>&1 & single_pid=$!; pids+=($!)
start_cluster $cluster_base $peer_base cpu
wait_ping $single_port
wait_cluster $cluster_base
for port in $single_port $cluster_base; do
  redis-benchmark -p $port -t set,get -n "$load" -c 50 -P 16 -d 100 -r 1000000 -q >/dev/null 2>&1
done

hz=$(getconf CLK_TCK)
cores=$(nproc)
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
us() { awk -v t="$1" -v n="$2" -v hz="$hz" 'BEGIN { printf "%.2f", t / hz * 1e6 / n }'; }
# Runs one test; prints "req/s client_us" (the client's CPU from bash's `times`, which reports finished children).
bench() { # port test pipeline count
  (
    redis-benchmark -p "$1" -t "$2" -n "$4" -c 50 -P "$3" -d 100 -r 1000000 --csv 2>/dev/null |
      awk -F'","' 'NR>1 { gsub(/"/,""); split($0,f,","); printf "%s ", f[2] }'
    times >"$work/times" # a builtin with a redirection runs in this shell, which waited for redis-benchmark
    tail -1 "$work/times" | awk -v n="$4" '{
      split($1, u, /[ms]/); split($2, s, /[ms]/); printf "%.2f\n", ((u[1]*60 + u[2]) + (s[1]*60 + s[2])) * 1e6 / n }'
  )
}
printf '%-9s %-8s %10s %8s %8s %8s %8s %8s %12s\n' test target req/s node0 node1 node2 client total ceiling_req/s
for p in 1 16; do
  count=$n; [[ $p -gt 1 ]] && count=$((n * 5))
  for t in set get; do
    before=$(ticks $single_pid)
    read -r rps client < <(bench $single_port $t $p $count)
    node=$(us $(($(ticks $single_pid) - before)) $count)
    total=$(awk -v a="$node" -v b="$client" 'BEGIN { printf "%.2f", a + b }')
    printf '%-9s %-8s %10.0f %8s %8s %8s %8s %8s %12.0f\n' "${t^^} -P$p" single "$rps" "$node" - - "$client" "$total" \
      "$(awk -v t="$total" -v c="$cores" 'BEGIN { print c * 1e6 / t }')"
    b=(); for i in 0 1 2; do b[$i]=$(ticks ${cluster_pids[$i]}); done
    read -r rps client < <(bench $cluster_base $t $p $count)
    c=(); for i in 0 1 2; do c[$i]=$(us $(($(ticks ${cluster_pids[$i]}) - b[$i])) $count); done
    total=$(awk -v a="${c[0]}" -v b="${c[1]}" -v d="${c[2]}" -v e="$client" 'BEGIN { printf "%.2f", a + b + d + e }')
    printf '%-9s %-8s %10.0f %8s %8s %8s %8s %8s %12.0f\n' "${t^^} -P$p" cluster "$rps" "${c[0]}" "${c[1]}" "${c[2]}" "$client" "$total" \
      "$(awk -v t="$total" -v c="$cores" 'BEGIN { print c * 1e6 / t }')"
  done
done
echo "(microseconds of CPU per request; node0 is the node redis-benchmark talks to, the coordinator)"
