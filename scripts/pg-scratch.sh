#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests and the netns harness (never for production data).
#
#   scripts/pg-scratch.sh start DIR [PORT [LISTEN]]   # initdb in DIR (when new), start on PORT (0: a free
#                                                     # one) listening on LISTEN (127.0.0.1); creates the
#                                                     # role and database `marketscan` (password
#                                                     # `marketscan`) and prints the store URL
#   scripts/pg-scratch.sh stop DIR                    # fast shutdown; DIR is left for the caller to remove
#   scripts/pg-scratch.sh restart DIR                 # fast restart on the same port (fault injection)
#   scripts/pg-scratch.sh createdb DIR NAME           # another database owned by `marketscan`; prints its URL
#   scripts/pg-scratch.sh sql DIR DB STATEMENT        # runs one statement as the superuser
#
# Runs the server as the `postgres` user when started as root (initdb refuses root). The socket
# directory is DIR itself, so several clusters never collide.
set -euo pipefail

cmd=${1:?usage: pg-scratch.sh start|stop|restart DIR [PORT [LISTEN]]}
dir=${2:?missing DIR}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  echo "pg-scratch: PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin); run scripts/setup.sh" >&2
  exit 3
fi
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$cmd" in
start)
  port=${3:-0}
  listen=${4:-127.0.0.1}
  if [ "$port" = 0 ]; then
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  fi
  mkdir -p "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_pg "$bin/initdb" -D "$dir/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
      --no-sync -E UTF8 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    echo "host all all 0.0.0.0/0 scram-sha-256" | as_pg tee -a "$dir/data/pg_hba.conf" >/dev/null
    fresh=1
  fi
  echo "$port" >"$dir/port"
  as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 start \
    -o "-p $port -k $dir -c listen_addresses=$listen -c fsync=off -c max_connections=200" >/dev/null \
    || { tail -20 "$dir/server.log" >&2; exit 1; }
  if [ "${fresh:-0}" = 1 ]; then
    as_pg "$bin/psql" -qX -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 \
      -c "CREATE ROLE marketscan LOGIN PASSWORD 'marketscan'" -c "CREATE DATABASE marketscan OWNER marketscan" >/dev/null
  fi
  host=$listen; [ "$host" = "*" ] || [ "$host" = "0.0.0.0" ] && host=127.0.0.1
  echo "postgres://marketscan:marketscan@$host:$port/marketscan"
  ;;
stop)
  [ -f "$dir/data/postmaster.pid" ] || exit 0
  as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null
  ;;
restart)
  as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 30 restart >/dev/null
  ;;
createdb)
  name=${3:?missing NAME}
  port=$(cat "$dir/port")
  as_pg "$bin/psql" -qX -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 \
    -c "CREATE DATABASE \"$name\" OWNER marketscan" >/dev/null
  echo "postgres://marketscan:marketscan@127.0.0.1:$port/$name"
  ;;
sql)
  as_pg "$bin/psql" -qX -h "$dir" -p "$(cat "$dir/port")" -U postgres -d "${3:?missing DB}" -v ON_ERROR_STOP=1 \
    -c "${4:?missing STATEMENT}" >/dev/null
  ;;
*)
  echo "pg-scratch: unknown command '$cmd'" >&2
  exit 64
  ;;
esac
