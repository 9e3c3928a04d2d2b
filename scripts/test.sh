#!/usr/bin/env bash
# The test command: sets up what is missing, builds every product (the end-to-end tests start the
# real executables), then runs every test. Exits non-zero when anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/check-imports.py   # Package.swift's dependencies are exactly the imports
swift build
swift test "$@"
