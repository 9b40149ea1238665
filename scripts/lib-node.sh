# Sourced by the probe scripts (probe-node.sh, alloc-profile.sh); run from the project root.
# start_probe_node NAME PORT: starts one kv-node (NODE_CMD, default the Release build, built here) serving RESP on
# PORT with its data under a fresh /tmp/NAME.XXXX folder, and waits until it answers PING. Sets work (the folder)
# and pid; on exit the node is stopped and the folder removed.
start_probe_node() {
  if [[ -z ${NODE_CMD:-} ]]; then
    dotnet build src/Kv.Node -c Release -v quiet -nologo >/dev/null
    NODE_CMD="dotnet src/Kv.Node/bin/Release/net10.0/kv-node.dll"
  fi
  work=$(mktemp -d "/tmp/$1.XXXX")
  $NODE_CMD --data "$work/data" --resp-port "$2" --log-level Warning >"$work/log" 2>&1 & pid=$!
  trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
  for _ in $(seq 1 100); do redis-cli -p "$2" ping 2>/dev/null | grep -q PONG && return 0; sleep 0.1; done
  echo "kv-node never answered PING on port $2 (log: $work/log)" >&2
  cat "$work/log" >&2
  exit 2
}
