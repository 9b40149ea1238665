#!/usr/bin/env bash
# Starts a 3-node KvStore cluster on loopback: RESP on 6379-6381, internode on 7001-7003,
# data under ./data/node{1,2,3}, replication factor 3, QUORUM reads and writes.
# Ctrl-C stops all three. Connect with: redis-cli -p 6379 (any node serves every key).
# The three share this machine's cores, so each runs one socket I/O thread (--io-threads 1, docs/protocol.md).
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build src/Kv.Node -c Release -v quiet -nologo
BIN=src/Kv.Node/bin/Release/net10.0/kv-node
SEEDS=127.0.0.1:7001
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait' INT TERM EXIT
for i in 1 2 3; do
  mkdir -p "data/node$i"
  "$BIN" --data "data/node$i" --resp-port $((6378 + i)) --node-id "node$i" --peer-port $((7000 + i)) \
    --seeds "$SEEDS" --dc dc1 --rack "rack$i" --replication-factor 3 --io-threads 1 &
  pids+=($!)
  sleep 1
done
# Ready when node 1 sees all three members joined (NORMAL) and up; until then QUORUM requests may be unavailable
# (a cluster that has fewer nodes than the replication factor cannot place a quorum of copies).
ready_members() {
  { exec 3<>/dev/tcp/127.0.0.1/6379; } 2>/dev/null || { echo 0; return; }
  printf 'INFO ring\r\nQUIT\r\n' >&3
  timeout 2 cat <&3 | grep -c 'status=NORMAL,state=up' || true
  exec 3>&-
}
for _ in $(seq 1 120); do
  [[ $(ready_members) -ge 3 ]] && break
  sleep 0.5
done
if [[ $(ready_members) -ge 3 ]]; then
  echo "3-node cluster ready: redis-cli -p 6379 | 6380 | 6381   (INFO ring shows the members)"
else
  echo "the cluster did not finish forming within 60 s; INFO ring on port 6379 shows how far it got" >&2
fi
wait
