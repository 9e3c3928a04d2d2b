#!/usr/bin/env bash
# Release build of the three executables for THIS machine's CPU (the demo, the benchmarks and a
# deployment build on the machine that runs it). On x86_64 it targets the host CPU
# (`-target-cpu native`) and enables the wide-vector kernels (`MARKETSCAN_HOST_SIMD`): exact results
# are unchanged, evaluation is faster. Set MARKETSCAN_GENERIC_BUILD=1 for a portable binary.
#   scripts/build-release.sh [extra swift build flags]
set -euo pipefail
cd "$(dirname "$0")/.."
flags=(-c release)
if [ "$(uname -m)" = x86_64 ] && [ -z "${MARKETSCAN_GENERIC_BUILD:-}" ]; then
  flags+=(-Xswiftc -target-cpu -Xswiftc native -Xcc -march=native -Xswiftc -DMARKETSCAN_HOST_SIMD)
fi
swift build "${flags[@]}" "$@"
