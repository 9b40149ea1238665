# Sourced by the probe scripts (probe-node.sh, alloc-profile.sh, probe-cluster.sh); run from the project root.
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

# GC tracing of one process during a measured run, for alloc-profile.sh and probe-cluster.sh (TRACE=1).
# start_gc_trace PID FILE: installs dotnet-trace into .tools/ and builds bench/kv-allocs on first use, then traces
# PID's GC events at verbose level (they carry the allocation samples) into FILE until stop_gc_trace. With job
# control on, the tracer runs in its own process group and keeps SIGINT (a background job of a script otherwise
# ignores it), which is how dotnet-trace is told to finish the file.
start_gc_trace() {
  [[ -x .tools/dotnet-trace ]] || dotnet tool install --tool-path .tools dotnet-trace >/dev/null
  dotnet build bench/kv-allocs -c Release -v quiet -nologo >/dev/null
  set -m
  .tools/dotnet-trace collect -p "$1" --providers Microsoft-Windows-DotNETRuntime:0x1:5 -o "$2" >"$2.log" 2>&1 & tracer=$!
  set +m
  sleep 2
}
stop_gc_trace() { kill -INT "$tracer" 2>/dev/null; wait "$tracer" 2>/dev/null || true; }
# report_gc_trace FILE REQUESTS: bytes allocated per request by type (TOP, 15); GCS=1 every collection instead
# (how long it stopped the threads, bytes promoted); STACKS=FILTER the call stacks behind the samples whose
# "TYPE KIND size~SIZE" contains FILTER, e.g. STACKS="Byte[] Small size~4K" (" " matches every sample).
report_gc_trace() {
  local allocs=bench/kv-allocs/bin/Release/net10.0/kv-allocs.dll
  if [[ -n ${GCS:-} ]]; then dotnet $allocs --gcs "$1"
  elif [[ -n ${STACKS:-} ]]; then dotnet $allocs --stacks "$STACKS" "$1" "${TOP:-6}"
  else dotnet $allocs "$1" "$2" "${TOP:-15}"; fi
}
