#!/usr/bin/env bash
# Installs what a fresh Debian machine with only the Swift toolchain lacks for building and testing
# MarketScan: libzmq (C library + headers), a headless browser for the HTML report's test (Debian's
# chromium) and the Python packages the protocol example tests use.
# Idempotent: installs nothing that is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
if ! pkg-config --exists libzmq 2>/dev/null || [ ! -f /usr/include/zmq.h ]; then
  need_apt+=(libzmq3-dev)
fi
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3 python3-pip)
# The HTML report is tested in a real headless browser (Tests/ScanOutputTests/HTMLReportBrowserTests.swift).
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || need_apt+=(chromium)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]} (apt-get)" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# Python packages used by tests — the Python client (clients/python, which brings pyzmq and pandas;
# installing it also checks that it pip-installs), pytest for its tests, jsonschema for the schema
# checks — not by the product itself.
py_missing=()
python3 -c 'import marketscan, zmq, pandas' 2>/dev/null || py_missing+=(./clients/python)
python3 -c 'import pytest' 2>/dev/null || py_missing+=(pytest)
python3 -c 'import jsonschema' 2>/dev/null || py_missing+=(jsonschema)
if [ ${#py_missing[@]} -gt 0 ]; then
  echo "setup: installing ${py_missing[*]} (pip)" >&2
  python3 -m pip install --quiet "${py_missing[@]}" 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages "${py_missing[@]}"
fi
