#!/usr/bin/env bash
# Starts a 3-node KvStore cluster on loopback: RESP on 6379-6381, internode on 7001-7003,
# data under ./data/node{1,2,3}, replication factor 3, QUORUM reads and writes.
# Ctrl-C stops all three. Connect with: redis-cli -p 6379 (any node serves every key).
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
    --seeds "$SEEDS" --dc dc1 --rack "rack$i" --replication-factor 3 &
  pids+=($!)
  sleep 1
done
echo "3-node cluster up: redis-cli -p 6379 | 6380 | 6381   (INFO ring shows the members)"
wait
