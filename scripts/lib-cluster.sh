# Shared by scripts/bench-cluster.sh and scripts/cpu-per-request.sh (sourced, not run): a Release build of kv-node, a
# work folder removed on exit with every process started, and a 3-node RF=3 cluster on loopback.
# After bench_setup PREFIX: $node runs kv-node, $work is the folder, and started processes go to the array pids.

bench_setup() { # PREFIX: the work folder's name under /tmp
  dotnet build src/Kv.Node -c Release -v quiet -nologo >/dev/null
  node="dotnet src/Kv.Node/bin/Release/net10.0/kv-node.dll"
  work=$(mktemp -d "/tmp/$1.XXXX")
  pids=()
  trap bench_cleanup EXIT
}

bench_cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}

wait_ping() { # PORT
  for _ in $(seq 1 150); do redis-cli -p "$1" ping 2>/dev/null | grep -q PONG && return 0; sleep 0.2; done
  echo "port $1 never answered PING" >&2; exit 2
}

# start_cluster RESP_BASE PEER_BASE NAME: three nodes (RESP on RESP_BASE..+2, seeds at PEER_BASE) with one I/O thread
# each, as co-located nodes should run (docs/protocol.md, "Threads"); their pids also go to the array cluster_pids.
start_cluster() {
  cluster_pids=()
  for i in 0 1 2; do
    mkdir -p "$work/c$i"
    $node --data "$work/c$i" --resp-port $(($1 + i)) --node-id "$3$i" --peer-port $(($2 + i)) \
      --seeds "127.0.0.1:$2" --rack "rack$i" --replication-factor 3 --io-threads 1 --log-level Warning >"$work/c$i.log" 2>&1 &
    pids+=($!); cluster_pids+=($!)
  done
}

# wait_cluster RESP_BASE: every node answers PING, and the first sees all three members NORMAL (joined, owning tokens)
# and up: "up" alone is not enough, joiners take a few seconds each and until then the first node owns everything.
wait_cluster() {
  local up=0
  for i in 0 1 2; do wait_ping $(($1 + i)); done
  for _ in $(seq 1 300); do
    up=$(redis-cli -p "$1" info ring 2>/dev/null | grep -c 'status=NORMAL,state=up' || true)
    [[ $up -ge 3 ]] && return 0
    sleep 0.2
  done
  echo "the cluster did not form (INFO ring shows $up members NORMAL and up)" >&2; exit 2
}
