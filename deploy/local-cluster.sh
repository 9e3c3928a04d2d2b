#!/usr/bin/env bash
# Starts a scan-service and N engine-nodes on this machine (127.0.0.1), with logs, and stops them cleanly.
#
#   deploy/local-cluster.sh start [--nodes N] [--db PATH] [--port-base P] [--dir DIR]
#   deploy/local-cluster.sh stop  [--dir DIR]
#   deploy/local-cluster.sh status [--dir DIR]
#
# Binaries come from $MARKETSCAN_BIN (default: the release build in .build/release). State (pid files,
# logs) lives in --dir (default deploy/run). Every process gets SIGTERM on stop, SIGKILL after 10 s.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cmd="${1:-}"; shift || true
nodes=2; db="$root/deploy/run/marketscan.sqlite"; port_base=5555; dir="$root/deploy/run"
while [ $# -gt 0 ]; do
  case "$1" in
    --nodes) nodes="$2"; shift 2 ;;
    --db) db="$2"; shift 2 ;;
    --port-base) port_base="$2"; shift 2 ;;
    --dir) dir="$2"; shift 2 ;;
    *) echo "local-cluster: unknown option $1" >&2; exit 2 ;;
  esac
done
bin="${MARKETSCAN_BIN:-$root/.build/release}"

stop_all() {
  [ -d "$dir/pids" ] || return 0
  local pids=()
  for f in "$dir"/pids/*.pid; do
    [ -f "$f" ] || continue
    local pid; pid=$(cat "$f")
    if kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null || true; pids+=("$pid"); fi
    rm -f "$f"
  done
  for _ in $(seq 1 100); do
    local alive=0
    for p in "${pids[@]:-}"; do [ -n "$p" ] && kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && return 0
    sleep 0.1
  done
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill -KILL "$p" 2>/dev/null || true; done
}

case "$cmd" in
  start)
    mkdir -p "$dir/pids" "$dir/logs"
    stop_all
    "$bin/scan-service" --db "$db" --port-base "$port_base" >"$dir/logs/scan-service.log" 2>&1 &
    echo $! > "$dir/pids/scan-service.pid"
    for i in $(seq 1 "$nodes"); do
      "$bin/engine-node" --service "127.0.0.1:$port_base" --db "$db" --name "node-$i" \
        >"$dir/logs/engine-node-$i.log" 2>&1 &
      echo $! > "$dir/pids/engine-node-$i.pid"
    done
    echo "local-cluster: scan-service (api tcp://127.0.0.1:$port_base, events tcp://127.0.0.1:$((port_base + 1)))" \
      "and $nodes engine-node(s); logs in $dir/logs" >&2
    ;;
  stop) stop_all; echo "local-cluster: stopped" >&2 ;;
  status)
    for f in "$dir"/pids/*.pid; do
      [ -f "$f" ] || continue
      n=$(basename "$f" .pid); p=$(cat "$f")
      if kill -0 "$p" 2>/dev/null; then echo "$n running (pid $p)"; else echo "$n not running"; fi
    done ;;
  *) echo "usage: $0 start|stop|status [--nodes N] [--db PATH] [--port-base P] [--dir DIR]" >&2; exit 2 ;;
esac
