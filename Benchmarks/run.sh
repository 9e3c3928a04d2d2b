#!/usr/bin/env bash
# The one command of the benchmarks (issue 8, DESIGN §7):
#
#   Benchmarks/run.sh              T1, T2, T3, the peers (T1, T2), scaling; the tables, every target of
#                                  issue 15 and DESIGN §7 with the peer's figure and met / not met
#   Benchmarks/run.sh --quick      T1 only, fewer runs: checks the harness in a minute or two
#   Benchmarks/run.sh --no-t3      without T3 (500 x 252 days of 1-minute bars, 49 M bars, a 2.6 GB store)
#   Benchmarks/run.sh --t3-peers   also the peers on T3 (a 3 GB CSV in pandas: several GB of memory)
#
# F1 runs on T1, T2, T3; the 12-indicator formula of FormulaBench on T1 and T2. The lean peer
# (peers/pandas_talib_lean.py: pip install TA-Lib pandas) runs both; its match sets must equal ours.
# Other options go to Benchmarks/bench.py (--help lists them). Data, logs and figures land in
# Benchmarks/results/ (git-ignored); the chart of a full run is copied to Benchmarks/charts/.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "building release binaries …"
scripts/build-release.sh --product scan
scripts/build-release.sh --product scan-service
scripts/build-release.sh --product engine-node
BIN="$(swift build -c release --show-bin-path)"

# Evaluation alone: the FormulaBench executable of Benchmarks/Package.swift, built for generic x86-64
# (issue 15's evaluation targets are on the portable build, not only with -target-cpu native).
if [[ -f Benchmarks/Package.swift ]]; then
    MARKETSCAN_GENERIC_BUILD=1 scripts/build-release.sh --package-path Benchmarks --product FormulaBench \
        || echo "warning: FormulaBench did not build; no evaluation-alone figure" >&2
fi

exec python3 Benchmarks/bench.py --bin "$BIN" "$@"
