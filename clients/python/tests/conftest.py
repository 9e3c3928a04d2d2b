"""A real scan-service and engine node on 127.0.0.1 for the client tests: the built executables
(``$MARKETSCAN_BIN``, else ``<repo>/.build/debug``) on a copy of the bundled sample."""
from __future__ import annotations

import faulthandler
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Dict, Iterator, List, Optional

import pytest

REPO = Path(__file__).resolve().parents[3]
BIN = Path(os.environ.get("MARKETSCAN_BIN", REPO / ".build" / "debug"))
# A liveness bound, not a timing: a test still running after this fails with every thread's stack
# (faulthandler) instead of holding the run until CI's own limit. The slowest test takes ~20 s.
TEST_LIMIT_S = int(os.environ.get("MARKETSCAN_PY_TEST_LIMIT_S", "300"))
# The same for one command a test runs (`scan data sample`, `scan keygen`, ...).
COMMAND_LIMIT_S = 120


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    """Fails a test that runs past ``TEST_LIMIT_S`` (SIGALRM raises in the main thread, where pyzmq's
    blocking calls and subprocess waits let it through), after dumping every thread's stack."""
    def expired(signum, frame):
        raise TimeoutError(f"{item.nodeid} still running after {TEST_LIMIT_S} s (a hang: stacks above)")

    previous = signal.signal(signal.SIGALRM, expired)
    faulthandler.dump_traceback_later(TEST_LIMIT_S - 2, exit=False)
    signal.alarm(TEST_LIMIT_S)
    try:
        yield
    finally:
        signal.alarm(0)
        faulthandler.cancel_dump_traceback_later()
        signal.signal(signal.SIGALRM, previous)


def ephemeral_range() -> range:
    """The kernel's ephemeral ports (Linux's default when the file cannot be read)."""
    try:
        low, high = (int(x) for x in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
        return range(low, high + 1)
    except (OSError, ValueError):
        return range(32_768, 61_000)


def free_base(count: int = 6) -> int:
    """A base of ``count`` consecutive ports free now, below the ephemeral range: a port inside it can
    be taken by any outgoing connection (a node's, a client's) between this check and the service's
    bind, or be connected to by a node's own socket before the service binds it (a self-connection)."""
    start = ephemeral_range().start
    low, high = (10_000, start - count) if start - count > 10_000 else (61_000, 65_535 - count)
    for _ in range(200):
        base = random.randint(low, high)
        ok = True
        for port in range(base, base + count):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError(f"no {count} consecutive free ports on 127.0.0.1")


class Cluster:
    """The service and its nodes; every process is stopped and the directory removed at the end."""

    def __init__(self, directory: Path, extra: Optional[List[str]] = None, node_extra: Optional[List[str]] = None) -> None:
        self.directory = directory
        self.db = str(directory / "ms.sqlite")
        self.base = free_base()
        self.api = f"tcp://127.0.0.1:{self.base}"
        self.events = f"tcp://127.0.0.1:{self.base + 1}"
        self.processes: Dict[str, subprocess.Popen] = {}
        self.extra = extra or []
        self.node_extra = node_extra or []

    def binary(self, name: str) -> str:
        path = BIN / name
        if not path.exists():
            raise RuntimeError(f"{path} is missing: run `swift build` first (or set MARKETSCAN_BIN)")
        return str(path)

    def start(self, name: str, args: List[str]) -> subprocess.Popen:
        log = open(self.directory / f"{name}.log", "wb")
        p = subprocess.Popen([self.binary(args[0])] + args[1:], stdout=log, stderr=subprocess.STDOUT)
        self.processes[name] = p
        return p

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')}" for p in self.directory.glob("*.log"))

    def stop(self) -> None:
        for p in self.processes.values():
            if p.poll() is None:
                p.terminate()
        for p in self.processes.values():
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def start_cluster(directory: Path, nodes: int = 1, pace_ms: int = 0, service_extra=None, node_extra=None,
                  symbols_csv: Optional[str] = None) -> Cluster:
    """The bundled sample (and the symbols of ``symbols_csv``, a native listing) in a fresh store,
    the service on free ports and ``nodes`` engine nodes."""
    c = Cluster(directory, service_extra, node_extra)
    subprocess.run([c.binary("scan"), "data", "sample", "--db", c.db], check=True, capture_output=True,
                   timeout=COMMAND_LIMIT_S)
    if symbols_csv is not None:
        listing = directory / "symbols.csv"
        listing.write_text(symbols_csv, encoding="utf-8")
        subprocess.run([c.binary("scan"), "data", "import-symbols", str(listing), "--db", c.db], check=True,
                       capture_output=True, timeout=COMMAND_LIMIT_S)
    c.start("scan-service", ["scan-service", "--db", c.db, "--port-base", str(c.base)] + c.extra)
    for i in range(nodes):
        c.start(f"node-{i}", ["engine-node", "--service", f"127.0.0.1:{c.base}", "--db", c.db, "--threads", "2",
                              "--name", f"node-{i}", "--pace-ms", str(pace_ms)] + c.node_extra)
    return c


def shared_data() -> Path:
    """The shared real data (``shared/data`` beside the repository or above it)."""
    for parent in REPO.parents:
        if (parent / "shared" / "data").is_dir():
            return parent / "shared" / "data"
    raise RuntimeError(f"no shared/data above {REPO}")


def wait_ready(client, nodes: int, within: float = 30.0) -> None:
    from marketscan import RequestTimeout

    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if len(client.request("PING", timeout=0.5)["nodes"]) >= nodes:
                return
        except RequestTimeout:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"the service did not list {nodes} node(s) within {within} s")


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    """One service with one slow-ish node (a pause per symbol, so a scan can be caught mid-way)."""
    directory = Path(tempfile.mkdtemp(prefix="marketscan-py-"))
    c = start_cluster(directory, nodes=1, pace_ms=40)
    try:
        yield c
    finally:
        c.stop()
        shutil.rmtree(directory, ignore_errors=True)
