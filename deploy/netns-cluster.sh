#!/usr/bin/env bash
# Separate network hosts on one Linux machine, for the cluster tests and for trying a real deployment
# without real machines: network namespaces joined by veth pairs to a bridge, each host with its own
# address (never 127.0.0.1), and a PostgreSQL server on the data host. Needs root and iproute2.
#
#   deploy/netns-cluster.sh up RUNDIR           # builds the hosts, starts PostgreSQL on `data`;
#                                               # writes RUNDIR/cluster.env (names, addresses, URL)
#   deploy/netns-cluster.sh exec RUNDIR HOST CMD [ARG]...   # runs CMD on HOST (as `ip netns exec`)
#   deploy/netns-cluster.sh partition RUNDIR HOST   # cuts HOST off (its link to the bridge down)
#   deploy/netns-cluster.sh heal RUNDIR HOST        # brings it back
#   deploy/netns-cluster.sh pg RUNDIR stop|start|restart   # the data host's PostgreSQL
#   deploy/netns-cluster.sh down RUNDIR         # kills every process on the hosts, stops PostgreSQL,
#                                               # removes every namespace and link (idempotent)
#
# Hosts: data 10.77.0.10 (PostgreSQL, on a random port: see STORE_URL), svc 10.77.0.20, svc2 10.77.0.21 (a second service host),
# n1 n2 n3 10.77.0.31–33 (engine nodes), cli 10.77.0.40 (clients). Namespace names carry a random
# suffix (ms<6 hex>-HOST) so runs never collide; the bridge lives in its own namespace (ms…-sw), so
# nothing is added to the machine's own network. `up` installs a trap that runs `down` if it fails.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cmd=${1:?usage: netns-cluster.sh up|exec|partition|heal|pg|down RUNDIR ...}
run=${2:?missing RUNDIR}
hosts=(data svc svc2 n1 n2 n3 cli)
declare -A addr=([data]=10.77.0.10 [svc]=10.77.0.20 [svc2]=10.77.0.21 [n1]=10.77.0.31 [n2]=10.77.0.32
  [n3]=10.77.0.33 [cli]=10.77.0.40)

ns() { echo "$(cat "$run/prefix")-$1"; }

down() {
  [ -f "$run/prefix" ] || return 0
  local prefix
  prefix=$(cat "$run/prefix")
  # Processes first (PostgreSQL shuts down cleanly, the rest are killed by pid), then the namespaces.
  "$here/../scripts/pg-scratch.sh" stop "$run/pg" >/dev/null 2>&1 || true
  for h in "${hosts[@]}" sw; do
    local n="$prefix-$h"
    ip netns list 2>/dev/null | grep -qw "^$n" || continue
    for pid in $(ip netns pids "$n" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
  done
  for h in "${hosts[@]}" sw; do
    ip netns del "$prefix-$h" 2>/dev/null || true
  done
  rm -f "$run/prefix"
}

case "$cmd" in
up)
  if [ "$(id -u)" -ne 0 ]; then echo "netns-cluster: needs root (network namespaces)" >&2; exit 77; fi
  command -v ip >/dev/null || { echo "netns-cluster: iproute2 (ip) is missing" >&2; exit 77; }
  mkdir -p "$run"
  [ -f "$run/prefix" ] && down
  echo "ms$(head -c3 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$run/prefix"
  trap 'down' ERR
  sw=$(ns sw)
  ip netns add "$sw"
  ip -n "$sw" link set lo up
  ip -n "$sw" link add br0 type bridge
  ip -n "$sw" link set br0 up
  for h in "${hosts[@]}"; do
    n=$(ns "$h")
    ip netns add "$n"
    ip -n "$n" link set lo up
    ip -n "$sw" link add "v-$h" type veth peer name eth0 netns "$n"
    ip -n "$sw" link set "v-$h" master br0 up
    ip -n "$n" addr add "${addr[$h]}/24" dev eth0
    ip -n "$n" link set eth0 up
  done
  # PostgreSQL on the data host, listening on its address only.
  # A random port: clusters of concurrent runs share the machine's SysV IPC keys, derived from it.
  url=$(ip netns exec "$(ns data)" "$here/../scripts/pg-scratch.sh" start "$run/pg" $((20000 + RANDOM % 20000)) "${addr[data]}")
  {
    echo "PREFIX=$(cat "$run/prefix")"
    for h in "${hosts[@]}"; do echo "NS_${h^^}=$(ns "$h")"; echo "ADDR_${h^^}=${addr[$h]}"; done
    echo "STORE_URL=$url"
  } >"$run/cluster.env"
  trap - ERR
  cat "$run/cluster.env"
  ;;
exec)
  h=${3:?missing HOST}
  shift 3
  exec ip netns exec "$(ns "$h")" "$@"
  ;;
partition)
  ip -n "$(ns sw)" link set "v-${3:?missing HOST}" down
  ;;
heal)
  ip -n "$(ns sw)" link set "v-${3:?missing HOST}" up
  ;;
pg)
  action=${3:?missing stop|start|restart}
  if [ "$action" = start ]; then
    ip netns exec "$(ns data)" "$here/../scripts/pg-scratch.sh" start "$run/pg" "$(cat "$run/pg/port")" "${addr[data]}" >/dev/null
  else
    ip netns exec "$(ns data)" "$here/../scripts/pg-scratch.sh" "$action" "$run/pg"
  fi
  ;;
down)
  down
  ;;
*)
  echo "netns-cluster: unknown command '$cmd'" >&2
  exit 64
  ;;
esac
