#!/usr/bin/env bash
# Writes docs/report.html's screenshot, docs/report.png: the demo's scan on the bundled sample with
# `--study 1,5,20 --explain --format html`, opened in headless chromium at its full height.
#
#   scripts/report-screenshot.sh            # uses .build/debug (swift build first)
#   MARKETSCAN_BIN=.build/release scripts/report-screenshot.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${MARKETSCAN_BIN:-.build/debug}"
browser="$(command -v chromium || command -v chromium-browser)"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
"$bin/scan" data sample --db "$dir/m.sqlite" >/dev/null
formula="$(cat scripts/demo.msf)"
"$bin/scan" run --local --db "$dir/m.sqlite" --name demo --formula "$formula" --from 2021-09-20 --to 2022-09-19 \
  --study 1,5,20 --explain --format html --output "$dir/report.html"
flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run "--user-data-dir=$dir/profile")
height="$("$browser" "${flags[@]}" --window-size=1200,1000 --dump-dom "file://$dir/report.html" 2>/dev/null \
  | sed -n 's/.*data-height="\([0-9]*\)".*/\1/p' | head -1)"
"$browser" "${flags[@]}" --window-size="1200,${height:-4000}" --screenshot="$dir/report.png" \
  "file://$dir/report.html" 2>/dev/null
cp "$dir/report.png" docs/report.png
echo "wrote docs/report.png (1200 × ${height:-4000})"
