#!/usr/bin/env bash
# The test command: sets up what is missing, builds every product (the end-to-end tests start the
# real executables), then runs every test — Swift, then Python (pytest). Exits non-zero when
# anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/check-imports.py   # Package.swift's dependencies are exactly the imports
swift build
# Liveness bounds, not timings (the suites take ~2 and ~0.5 minutes; building the tests is inside the
# first): a hang ends the run with a message instead of holding CI until its own limit. For swift
# test the message says what was stuck — the tests that had started and not ended (from swift-testing's
# event stream), the live processes, and a backtrace of every thread of the test process
# (scripts/bounded-run.py) — and the output is line-buffered, so the log's last lines are the real ones.
# Whatever the tests start and leave running (a scratch PostgreSQL server of a killed run) is named and
# stopped when swift test ends.
events="$(mktemp -t marketscan-test-events.XXXXXX)"
trap 'rm -f "$events"' EXIT
MARKETSCAN_INSTALL_GDB="${CI:+1}" scripts/bounded-run.py --limit 2400 --what "swift test" --events "$events" -- \
  stdbuf -oL -eL swift test --event-stream-output-path "$events" --event-stream-version 0 "$@"
# The Python client's tests (against the built executables) and the schema checks; the client is
# imported from the source tree. pytest exits 5 when it collects no test: a broken setup, so a failure.
set +e
PYTHONPATH="$PWD/clients/python/src${PYTHONPATH:+:$PYTHONPATH}" timeout -k 30 1200 python3 -m pytest -q \
  -p no:cacheprovider clients/python/tests protocol/tests
rc=$?
[ "$rc" -eq 124 ] && echo "test.sh: pytest still running after 20 minutes: stopped" >&2
set -e
if [ "$rc" -eq 5 ]; then
  echo "test.sh: pytest collected no tests in clients/python/tests and protocol/tests" >&2
  exit 1
fi
exit "$rc"
