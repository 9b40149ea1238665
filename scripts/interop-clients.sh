#!/usr/bin/env bash
# Drives kv-node with other people's Redis clients and checks every answer: ioredis 5, node-redis 4 and 5 (RESP2
# and RESP3) and redis-py (Debian's python3-redis). The targets: one node, one node with a password, and two nodes
# of a local 3-node RF=3 QUORUM cluster; and ioredis against a node with --idle-timeout 1 (closed idle, no error). The clients come from npm and apt (installed on first use, the npm ones
# under .tools/interop); the default suite cannot run this, as CI has only the .NET SDK.
# Usage: scripts/interop-clients.sh            Env: NODE_CMD (default: the Release build), PORT (first port, 19800)
set -euo pipefail
cd "$(dirname "$0")/.."
base=${PORT:-19800}
command -v node >/dev/null && command -v npm >/dev/null || {
  apt-get update -qq >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; }
/usr/bin/python3 -c 'import redis' 2>/dev/null || {
  apt-get update -qq >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-redis >/dev/null; }
mkdir -p .tools/interop
cp scripts/interop/package.json .tools/interop/
if [[ ! -d .tools/interop/node_modules/ioredis ]] || ! cmp -s scripts/interop/package.json .tools/interop/node_modules/.package.json; then
  (cd .tools/interop && npm install --no-audit --no-fund --loglevel=error >/dev/null && cp package.json node_modules/.package.json)
fi
cp scripts/interop/clients.js .tools/interop/
if [[ -z ${NODE_CMD:-} ]]; then
  dotnet build src/Kv.Node -c Release -v quiet -nologo >/dev/null
  NODE_CMD="dotnet src/Kv.Node/bin/Release/net10.0/kv-node.dll"
fi
work=$(mktemp -d /tmp/interop.XXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill $p 2>/dev/null; done; wait 2>/dev/null; rm -rf "$work"' EXIT
wait_ping() { for _ in $(seq 1 100); do redis-cli -p "$1" ${2:+-a "$2"} --no-auth-warning ping 2>/dev/null | grep -q PONG && return 0; sleep 0.2; done
  echo "port $1 never answered PING" >&2; exit 2; }
command -v redis-cli >/dev/null || { apt-get update -qq >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-tools >/dev/null; }

$NODE_CMD --data "$work/single" --resp-port "$base" --log-level Warning >"$work/single.log" 2>&1 & pids+=($!)
$NODE_CMD --data "$work/auth" --resp-port $((base + 1)) --password interop-secret --log-level Warning >"$work/auth.log" 2>&1 & pids+=($!)
$NODE_CMD --data "$work/idle" --resp-port $((base + 2)) --idle-timeout 1 --log-level Warning >"$work/idle.log" 2>&1 & pids+=($!)
for i in 0 1 2; do
  $NODE_CMD --data "$work/c$i" --resp-port $((base + 10 + i)) --node-id "interop$i" --peer-port $((base + 20 + i)) \
    --seeds "127.0.0.1:$((base + 20))" --rack "rack$i" --replication-factor 3 --io-threads 1 --log-level Warning >"$work/c$i.log" 2>&1 & pids+=($!)
done
wait_ping "$base"; wait_ping $((base + 1)) interop-secret; wait_ping $((base + 2))
up=0
for _ in $(seq 1 300); do
  up=$(redis-cli -p $((base + 10)) info ring 2>/dev/null | grep -c 'status=NORMAL,state=up' || true)
  [[ $up -ge 3 ]] && break; sleep 0.2
done
[[ $up -ge 3 ]] || { echo "the cluster did not form ($up members NORMAL and up)" >&2; exit 2; }

failed=0
target() { # name port [password]
  echo "== $1"
  node .tools/interop/clients.js "$2" ${3:-} || failed=1
  /usr/bin/python3 scripts/interop/clients.py "$2" ${3:-} || failed=1
}
echo "== one node with --idle-timeout 1"
IDLE_PORT=$((base + 2)) node .tools/interop/clients.js "$base" || failed=1
target "one node" "$base"
target "one node with a password" $((base + 1)) interop-secret
target "cluster, first node" $((base + 10))
target "cluster, third node" $((base + 12))
if [[ $failed -eq 0 ]]; then echo "every client passed on every target"; else echo "some checks failed (FAIL lines above)"; exit 1; fi
