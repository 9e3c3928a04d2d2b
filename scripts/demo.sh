#!/usr/bin/env bash
# The demo: the whole product on the bundled real sample (Korea Exchange daily bars).
#
# Builds the release binaries, loads the sample into a fresh database, starts scan-service and two
# engine-nodes on 127.0.0.1 (deploy/local-cluster.sh), runs a scan through the service with a live
# progress bar and prints the result table, then stops every process (also on Ctrl-C or error).
#
#   ./scripts/demo.sh                      # the default scan below
#   ./scripts/demo.sh --market KOSDAQ      # extra options are passed to `scan run`
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
scripts/setup.sh
echo "demo: building (release, for this CPU)…" >&2
scripts/build-release.sh >&2
bin="$root/.build/release"

run_dir="$(mktemp -d "${TMPDIR:-/tmp}/marketscan-demo.XXXXXX")"
port_base="${MARKETSCAN_PORT_BASE:-5555}"
cleanup() {
  MARKETSCAN_BIN="$bin" deploy/local-cluster.sh stop --dir "$run_dir" || true
  rm -rf "$run_dir"
}
trap cleanup EXIT INT TERM

db="$run_dir/marketscan.sqlite"
export MARKETSCAN_DB="$db"   # `scan run --endpoint` reads symbol names from the local store
"$bin/scan" data sample --db "$db"
MARKETSCAN_BIN="$bin" deploy/local-cluster.sh start --nodes 2 --db "$db" --port-base "$port_base" --dir "$run_dir"

formula="$(cat scripts/demo.msf)"   # the demo's formula (also scripts/report-screenshot.sh's)

echo "demo: scanning every symbol of the sample, 2021-09-20 … 2022-09-19, through scan-service + 2 engine-nodes" >&2
"$bin/scan" run --endpoint "tcp://127.0.0.1:$port_base" --name demo \
  --formula "$formula" --from 2021-09-20 --to 2022-09-19 "$@"
