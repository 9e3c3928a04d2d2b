#!/usr/bin/env python3
"""MarketScan benchmark harness (issue 8, DESIGN §7). Run it through Benchmarks/run.sh.

For each data set (T1, T2, T3 unless --no-t3) it
  * generates the bars with `scan data generate` (fixed seed) into Benchmarks/results/<set>.base.sqlite
    (kept between runs; regenerated when the parameters change), exports them to CSV for the peers, and
    scans a fresh copy, <set>.sqlite (the service stores its sessions in the store it serves);
  * end to end: starts scan-service + N engine-nodes on 127.0.0.1, waits for the nodes, times the first
    RUN_SCAN ("wait": true) on the fresh service, then the median of warm runs, through a pyzmq DEALER;
    reads VmHWM (resident high-water mark) of the service and of each node from /proc;
  * in process: `scan run --local --format json` (processing_time_ms and the process's wall time);
  * evaluation alone: the FormulaBench executable of Benchmarks/Package.swift when it exists;
  * the peers on the same CSV: pandas + TA-Lib, and vectorbt; their match counts must equal ours (and the
    (symbol, timestamp) sets too) or the run fails;
  * scaling: throughput with 1, 2 and 4 nodes, and over data sizes 1x, 4x, 16x; one PNG chart.
Every figure goes to results/results.json, the table to stdout and results/table.md.
Every process started here listens on 127.0.0.1 only and is stopped on exit, error or Ctrl-C.
"""
from __future__ import annotations

import argparse
import csv
import importlib.util
import itertools
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import zmq

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
CHARTS = HERE / "charts"

F1 = "crossover(sma(close,5), sma(close,20)) and volume > 1.5 * sma(volume,20)"
# The 12-indicator formula of Benchmarks/Sources/FormulaBench (issue 15), as FormulaBench evaluates it.
TWELVE = """signal s = sma(close, 20) > ema(close, 50) and rsi(close, 14) < 70 and macd_hist(12, 26, 9) > 0 and
  close > bb_lower(20, 2) and atr(14) > 0.5 and adx(14) > 20 and cci(20) > -100 and
  willr(14) > -80 and mfi(14) < 80 and stoch_k(14, 3, 3) > 20 and obv() > obv()[5] and
  wma(close, 10) > close[1]
column rsi14 = rsi(close, 14)
"""
# Workload name -> (formula source, the lean peer's --formula, FormulaBench's --only prefix).
WORKLOADS = {"F1": (F1, "f1", "F1"), "twelve": (TWELVE, "twelve", "12 indicators")}
SEED = 8


@dataclass
class DataSet:
    name: str
    symbols: int
    days: int
    timeframe: str
    start: str
    end: str
    note: str
    csv_cols: str = "date"

    @property
    def base(self) -> Path:
        """The generated store, never scanned (kept pristine between runs)."""
        return RESULTS / f"{self.name.lower()}.base.sqlite"

    @property
    def db(self) -> Path:
        """The working copy every scan of a run uses (the service keeps its sessions in it)."""
        return RESULTS / f"{self.name.lower()}.sqlite"

    @property
    def csv(self) -> Path:
        return RESULTS / f"{self.name.lower()}.csv"

    @property
    def bars(self) -> int:
        return self.symbols * self.days * (390 if self.timeframe == "1m" else 1)

    def key(self) -> str:
        return f"{self.symbols} {self.days} {self.timeframe} {SEED}"


DATASETS = {
    "T1": DataSet("T1", 500, 252, "1d", "2024-01-01", "2024-12-31", "500 x 252 daily; range = the last year"),
    "T2": DataSet("T2", 2000, 2520, "1d", "2015-01-01", "2024-12-31",
                  "2,000 x 2,520 daily (10 years); range = the full history"),
    "T3": DataSet("T3", 500, 252, "1m", "2024-01-01", "2024-12-31",
                  "500 x 252 days x 390 1-minute bars; range = the last year (all of it)"),
}


# ---------------------------------------------------------------------------------------------- processes

class Processes:
    """Every child process this harness starts, stopped on exit (also on error and Ctrl-C)."""

    def __init__(self) -> None:
        self.children: list[subprocess.Popen] = []

    def start(self, args: list[str], log: Path) -> subprocess.Popen:
        out = open(log, "wb")
        p = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True)
        out.close()
        self.children.append(p)
        return p

    def stop(self, p: subprocess.Popen, timeout: float = 5.0) -> None:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if p in self.children:
            self.children.remove(p)

    def stop_all(self) -> None:
        for p in list(reversed(self.children)):
            self.stop(p)


PROCS = Processes()


def on_signal(signum, frame):  # noqa: ARG001
    raise KeyboardInterrupt(f"signal {signum}")


def run(args: list[str], **kw) -> subprocess.CompletedProcess:
    """Runs a command to completion; its output is returned, and it fails loudly."""
    r = subprocess.run(args, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.stderr.write(r.stdout[-4000:] + r.stderr[-4000:])
        raise SystemExit(f"FAILED ({r.returncode}): {' '.join(map(str, args))}")
    return r


def minor_faults(pid: int) -> int:
    """Minor page faults of a live process so far (fresh pages the kernel mapped for it)."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[7])
    except FileNotFoundError:
        return 0


def cpu_ms(pid: int) -> float:
    """User + system CPU time a live process has used, in ms."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def proc_status(pid: int) -> dict[str, int]:
    """VmHWM and VmRSS of a live process, in kB."""
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            k, _, v = line.partition(":")
            if k in ("VmHWM", "VmRSS"):
                out[k] = int(v.split()[0])
    except FileNotFoundError:
        pass
    return out


def free_port_base() -> int:
    """A base port with the six following ports (the feed is base + 5) free on 127.0.0.1."""
    for base in range(26000, 60000, 10):
        ok = True
        for port in range(base, base + 6):
            s = socket.socket()
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                ok = False
            finally:
                s.close()
            if not ok:
                break
        if ok:
            return base
    raise SystemExit("no free ports")


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


# ---------------------------------------------------------------------------------------------- the client

class Client:
    """A DEALER client of the DESIGN §5 protocol: "" | MSCAN/1 | VERB | BODY."""

    def __init__(self, endpoint: str) -> None:
        self.ctx = zmq.Context.instance()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(endpoint)
        self.seq = 0

    def request(self, verb: str, body: dict, timeout_s: float) -> dict:
        """Sends a request and returns the OK reply's body; `self.arrived` is the perf_counter() at
        which its frames arrived (before the JSON is parsed)."""
        self.seq += 1
        rid = f"bench-{self.seq}"
        body = dict(body, request_id=rid)
        self.sock.send_multipart([b"", b"MSCAN/1", verb.encode(), json.dumps(body).encode()])
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{verb}: no reply in {timeout_s} s")
            if not self.sock.poll(int(left * 1000)):
                continue
            frames = self.sock.recv_multipart()
            self.arrived = time.perf_counter()
            if len(frames) < 4:
                raise RuntimeError(f"{verb}: malformed reply {frames!r}")
            status, reply = frames[2].decode(), json.loads(frames[3])
            if reply.get("request_id") not in (None, rid):
                continue  # a late reply to an earlier (timed-out) request
            if status != "OK":
                raise RuntimeError(f"{verb}: {status} {reply}")
            return reply

    def close(self) -> None:
        self.sock.close(0)


def scan_body(ds: DataSet, symbols: list[str] | None = None, workload: str = "F1") -> dict:
    return {
        "formula": {"name": workload, "source": WORKLOADS[workload][0]},
        "criteria": {"symbols": symbols} if symbols else {},
        "timeframe": ds.timeframe,
        "date_range": {"from": ds.start, "to": ds.end},
        "parameters": {},
        "mode": "range",
        "wait": True,
    }


def analyse_scans(horizons) -> None:
    """From now on every `scan_body` asks for an event study and the funnel (`--study ... --explain`): the
    horizons `horizons()` returns, called once a scan (a new longest horizon each time makes every scan a
    first study of its bars). For the scripts that measure the study's cost."""
    plain = scan_body

    def analysed(ds: DataSet, symbols: list[str] | None = None, workload: str = "F1") -> dict:
        b = plain(ds, symbols, workload)
        b["study"] = {"horizons": horizons()}
        b["explain"] = True
        return b

    globals()["scan_body"] = analysed


def analyse_workload(workload: str) -> bool:
    """For the scripts' `study` and `fresh` workloads: from now on every scan asks for `--study 1,5,10,20
    --explain` (study), or the same with a longest horizon no scan used before, 21, 22, ... (fresh: no node
    remembers those baselines, each scan a first study of its bars). False (nothing changed) otherwise."""
    if workload == "study":
        analyse_scans(lambda: [1, 5, 10, 20])
    elif workload == "fresh":
        longest = itertools.count(21)
        analyse_scans(lambda: [1, 5, 10, next(longest)])
    else:
        return False
    return True


# ---------------------------------------------------------------------------------------------- the cluster

@dataclass
class Cluster:
    """scan-service + engine-nodes on one store, on 127.0.0.1."""

    bin: Path
    ds: DataSet
    nodes: int
    threads: int | None
    service: subprocess.Popen | None = None
    node_procs: list[subprocess.Popen] = field(default_factory=list)
    client: Client | None = None
    startup_ms: float = 0.0
    parse_ms: list[float] = field(default_factory=list)

    def __enter__(self) -> "Cluster":
        base = free_port_base()
        tag = f"{self.ds.name.lower()}-{self.nodes}n"
        t0 = time.perf_counter()
        # BENCH_SERVICE_ARGS / BENCH_NODE_ARGS: extra flags for the service / each node (an A/B of an option).
        extra = os.environ.get("BENCH_SERVICE_ARGS", "").split()
        self.service = PROCS.start(
            [str(self.bin / "scan-service"), "--db", str(self.ds.db), "--bind", "127.0.0.1",
             "--port-base", str(base), *extra], RESULTS / f"service-{tag}.log")
        for i in range(self.nodes):
            args = [str(self.bin / "engine-node"), "--service", f"127.0.0.1:{base}", "--db", str(self.ds.db),
                    "--name", f"bench-node-{i + 1}"]
            if self.threads:
                args += ["--threads", str(self.threads)]
            args += os.environ.get("BENCH_NODE_ARGS", "").split()
            self.node_procs.append(PROCS.start(args, RESULTS / f"node{i + 1}-{tag}.log"))
        self.client = Client(f"tcp://127.0.0.1:{base}")
        deadline = time.monotonic() + 60
        while True:
            for p in [self.service, *self.node_procs]:
                if p.poll() is not None:
                    raise RuntimeError(f"{p.args[0]} exited with {p.returncode} (see {RESULTS}/*-{tag}.log)")
            try:
                ping = self.client.request("PING", {}, timeout_s=2)
                if len(ping.get("nodes", [])) >= self.nodes:
                    break
            except TimeoutError:
                self.client.close()
                self.client = Client(f"tcp://127.0.0.1:{base}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the service did not see {self.nodes} nodes in 60 s")
            time.sleep(0.02)
        self.startup_ms = (time.perf_counter() - t0) * 1000
        return self

    def scan(self, symbols: list[str] | None = None, timeout_s: float = 600,
             workload: str = "F1") -> tuple[float, dict]:
        """One RUN_SCAN with "wait": true: milliseconds from sending the request to the reply's arrival
        (the client's JSON parsing of the reply is not counted; `parse_ms` records it), and the RESULT."""
        t0 = time.perf_counter()
        reply = self.client.request("RUN_SCAN", scan_body(self.ds, symbols, workload), timeout_s)
        ms = (self.client.arrived - t0) * 1000
        self.parse_ms.append((time.perf_counter() - self.client.arrived) * 1000)
        status = reply.get("session", {}).get("status")
        if status != "completed":
            raise RuntimeError(f"scan ended {status}: {reply.get('session', {}).get('error')}")
        return ms, reply["result"]

    def settle(self, scan=None, quiet_faults: int = 1500, max_scans: int = 20) -> int:
        """Repeats `scan()` (default: `self.scan()`) until two scans in a row load (almost) nothing on the
        nodes, and returns how many scans that took. The service's PUSH hands each chunk to whichever node's turn it is (no
        chunk-to-node affinity), so which node gets which symbols can shift from scan to scan, and for
        the first few scans a node still loads symbols the other one had: scans that are not warm,
        whatever their number (3 warm-ups left some runs loading ~200 symbols a scan per node). Settled:
        two scans in a row in which the nodes together faulted in fewer than `quiet_faults` fresh pages
        (a loaded symbol of T2 takes ~15; a settled T2 scan 200-700 in all). A settled start, not a
        guarantee: the order can shift again later, and then the nodes load again until each holds the
        whole universe."""
        scan = scan or self.scan
        quiet = 0
        for n in range(1, max_scans + 1):
            before = sum(minor_faults(p.pid) for p in self.node_procs)
            scan()
            quiet = quiet + 1 if sum(minor_faults(p.pid) for p in self.node_procs) - before < quiet_faults else 0
            if quiet == 2:
                return n
        return max_scans

    def cpu(self) -> list[float]:
        """CPU ms used so far by the service and each node."""
        return [cpu_ms(p.pid) for p in [self.service, *self.node_procs]]

    def memory(self) -> dict:
        return {
            "service": proc_status(self.service.pid),
            "nodes": [proc_status(p.pid) for p in self.node_procs],
        }

    def __exit__(self, *exc) -> None:
        if self.client:
            self.client.close()
        for p in [*self.node_procs, self.service]:
            if p is not None:
                PROCS.stop(p)


# ---------------------------------------------------------------------------------------------- steps

def build_marker(ds: DataSet) -> Path:
    return RESULTS / f"{ds.name.lower()}.params"


def ensure_data(bin: Path, ds: DataSet, need_csv: bool) -> dict:
    info: dict = {}
    marker = build_marker(ds)
    if not (ds.base.exists() and marker.exists() and marker.read_text() == ds.key()):
        for suffix in ("", "-wal", "-shm"):
            Path(str(ds.base) + suffix).unlink(missing_ok=True)
        ds.csv.unlink(missing_ok=True)
        marker.unlink(missing_ok=True)
        print(f"  generating {ds.name}: {ds.note} …", flush=True)
        t0 = time.perf_counter()
        run([str(bin / "scan"), "data", "generate", "--symbols", str(ds.symbols), "--days", str(ds.days),
             "--timeframe", ds.timeframe, "--seed", str(SEED), "--db", str(ds.base)])
        info["generate_s"] = time.perf_counter() - t0
        marker.write_text(ds.key())
    info["store_mb"] = sum(Path(str(ds.base) + s).stat().st_size for s in ("", "-wal") if Path(str(ds.base) + s).exists()) / 1e6
    if need_csv and not ds.csv.exists():
        print(f"  exporting {ds.name} to CSV for the peers …", flush=True)
        tmp = ds.csv.with_suffix(".csv.part")
        run([str(bin / "scan"), "data", "export", "--timeframe", ds.timeframe, "--db", str(ds.base), str(tmp)])
        tmp.rename(ds.csv)
    if ds.csv.exists():
        info["csv_mb"] = ds.csv.stat().st_size / 1e6
    return info


def fresh_copy(ds: DataSet) -> None:
    """Replaces the working store with a copy of the generated one (no sessions from earlier runs)."""
    for suffix in ("", "-wal", "-shm"):
        Path(str(ds.db) + suffix).unlink(missing_ok=True)
    for suffix in ("", "-wal"):
        if Path(str(ds.base) + suffix).exists():
            shutil.copyfile(str(ds.base) + suffix, str(ds.db) + suffix)


def match_set(result: dict) -> set[tuple[str, str]]:
    return {(m["symbol"], m["timestamp"]) for m in result["signals"]["matches"]}


def in_process(bin: Path, ds: DataSet, runs: int, workload: str = "F1") -> dict:
    out = RESULTS / f"local-{ds.name.lower()}-{workload}.json"
    walls, procs = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        run([str(bin / "scan"), "run", "--local", "--db", str(ds.db), "--formula", WORKLOADS[workload][0],
             "--name", workload,
             "--timeframe", ds.timeframe, "--from", ds.start, "--to", ds.end, "--format", "json",
             "--output", str(out)])
        walls.append((time.perf_counter() - t0) * 1000)
        doc = json.loads(out.read_text())
        procs.append(float(doc["processing_time_ms"]))
    return {"wall_ms": median(walls), "processing_ms": median(procs), "processing_all": procs,
            "matches": doc["signals"]["total_matches"], "symbols": doc["signals"]["total_symbols"],
            "errors": doc.get("errors_count", 0), "match_set": match_set(doc)}


def formula_bench(ds: DataSet) -> dict | None:
    """Evaluation alone, one core: the FormulaBench executable of Benchmarks/Package.swift, built for
    generic x86-64 by run.sh (issue 15's targets are on the generic build), on synthetic columns of the
    data set's shape, F1 and the 12-indicator formula. T3 (49 M bars, 2 GB of columns) runs a tenth of
    the symbols and scales the time by ten."""
    exe = HERE / ".build" / "release" / "FormulaBench"
    if not exe.exists():
        return None
    per_symbol = ds.bars // ds.symbols
    symbols, scale = (ds.symbols // 10, 10) if ds.bars > 20_000_000 else (ds.symbols, 1)
    out: dict = {}
    for workload, (_, _, prefix) in WORKLOADS.items():
        r = subprocess.run([str(exe), "--symbols", str(symbols), "--bars", str(per_symbol), "--runs", "5",
                            "--only", prefix], capture_output=True, text=True)
        if r.returncode != 0:
            out[workload] = {"error": (r.stderr or r.stdout).strip()[-300:]}
            continue
        pattern = re.escape(prefix) + r"\s+([\d.]+)\s+M bars/s\s+\(([\d.]+) ms best, ([\d.]+) ms median"
        m = next((m for m in map(lambda l: re.match(pattern, l), r.stdout.splitlines()) if m), None)
        if m is None:
            out[workload] = {"error": f"no {prefix!r} line in: " + r.stdout.strip()[-300:]}
            continue
        # The printed times have one decimal; the throughput gives the best time more precisely.
        out[workload] = {"ms": ds.bars / (float(m.group(1)) * 1e6) * 1000, "median_ms": float(m.group(3)) * scale,
                         "m_bars_per_s": float(m.group(1)), "symbols_run": symbols, "scaled_by": scale,
                         "line": m.group(0)}
    return out


def lean_peer(ds: DataSet, workload: str, runs: int) -> dict:
    """The lean pandas + TA-Lib loop (peers/pandas_talib_lean.py, issue 15) on the set's CSV: the best of
    `runs` runs by its compute's wall time (`scan_s`, CSV load excluded), and its match set."""
    out = RESULTS / f"peer-lean-{workload}-{ds.name.lower()}.csv"
    docs = []
    for _ in range(runs):
        r = run([sys.executable, str(HERE / "peers" / "pandas_talib_lean.py"), str(ds.csv), "--from", ds.start,
                 "--to", ds.end, "--formula", WORKLOADS[workload][1], "--matches-out", str(out)])
        docs.append(json.loads(r.stdout.strip().splitlines()[-1]))
    doc = min(docs, key=lambda d: d["scan_s"])
    doc["runs"] = [{k: d[k] for k in ("load_s", "scan_s", "scan_cpu_s", "total_s")} for d in docs]
    with open(out) as f:
        doc["match_set"] = {(row["symbol"], row["timestamp"]) for row in csv.DictReader(f)}
    return doc


def peer(script: str, ds: DataSet, runs: int) -> dict:
    """The best of `runs` runs of a peer script (the first may compile numba caches or fill the page cache)."""
    out = RESULTS / f"peer-{script}-{ds.name.lower()}.csv"
    docs = []
    for _ in range(runs):
        r = run([sys.executable, str(HERE / "peers" / f"{script}.py"), str(ds.csv), "--from", ds.start, "--to",
                 ds.end, "--matches-out", str(out)])
        docs.append(json.loads(r.stdout.strip().splitlines()[-1]))
    doc = min(docs, key=lambda d: d["scan_s"])
    doc["runs"] = [{k: d[k] for k in ("load_s", "scan_s", "total_s")} for d in docs]
    with open(out) as f:
        doc["match_set"] = {(row["symbol"], row["timestamp"]) for row in csv.DictReader(f)}
    return doc


def cross_check(name: str, ours: set, theirs: set, who: str) -> None:
    if ours != theirs:
        only_ours = sorted(ours - theirs)[:5]
        only_theirs = sorted(theirs - ours)[:5]
        raise SystemExit(
            f"CROSS-CHECK FAILED on {name}: MarketScan {len(ours)} matches, {who} {len(theirs)}; "
            f"only ours {only_ours}, only theirs {only_theirs}")


def warm_series(c: Cluster, workload: str, runs: int) -> tuple[list[float], list[float], dict]:
    """`runs` identical warm scans: their times, the CPU ms per scan of the service and each node, and the
    last RESULT."""
    before = c.cpu()
    warm, result = [], {}
    for _ in range(runs):
        ms, result = c.scan(workload=workload)
        warm.append(ms)
    after = c.cpu()
    return warm, [(a - b) / runs for a, b in zip(after, before)], result


def end_to_end(bin: Path, ds: DataSet, nodes: int, warm_runs: int, threads: int | None,
               workloads: list[str]) -> dict:
    """F1 on a fresh service (the first scan), then its warm runs; then each other workload: scans to
    warm it (its columns may differ), then its warm runs. Warm: after ``Cluster.settle`` (two scans in a
    row that loaded almost nothing on the nodes). Memory is read after all of them."""
    with Cluster(bin, ds, nodes, threads) as c:
        fresh_ms, result = c.scan()
        settled = {"F1": c.settle()}
        warm, per_scan, _ = warm_series(c, "F1", warm_runs)
        parse_ms = median(c.parse_ms[1:])
        doc = {"nodes": nodes, "startup_ms": c.startup_ms, "fresh_ms": fresh_ms, "warm_ms": median(warm),
               "warm_min_ms": min(warm), "warm_max_ms": max(warm), "warm_all": warm,
               "matches": result["signals"]["total_matches"], "symbols": result["signals"]["total_symbols"],
               "errors": result.get("errors_count", 0), "service_processing_ms": result.get("processing_time_ms"),
               "match_set": match_set(result),
               "cpu_ms_per_scan": {"service": per_scan[0], "nodes": per_scan[1:]},
               "client_parse_ms": parse_ms, "workloads": {}}
        for workload in workloads:
            if workload == "F1":
                continue
            first_ms, _ = c.scan(workload=workload)
            settled[workload] = c.settle(lambda: c.scan(workload=workload))
            w, cpu, res = warm_series(c, workload, warm_runs)
            doc["workloads"][workload] = {
                "first_ms": first_ms, "warm_ms": median(w), "warm_min_ms": min(w), "warm_max_ms": max(w),
                "warm_all": w, "matches": res["signals"]["total_matches"], "match_set": match_set(res),
                "errors": res.get("errors_count", 0),
                "cpu_ms_per_scan": {"service": cpu[0], "nodes": cpu[1:]}}
        doc["memory"] = c.memory()
        doc["settle_scans"] = settled
        return doc


def scaling(bin: Path, ds: DataSet, node_counts: list[int], fractions: list[int], runs: int,
            threads: int | None) -> dict:
    """Warm time and throughput (bars scanned per second) by node count, and by data size (2 nodes)."""
    by_nodes = []
    for n in node_counts:
        with Cluster(bin, ds, n, threads) as c:
            c.scan()
            c.scan()
            times = [c.scan()[0] for _ in range(runs)]
            by_nodes.append({"nodes": n, "warm_ms": median(times), "bars_per_s": ds.bars / (median(times) / 1000),
                             "memory": c.memory()})
            print(f"  {n} node(s): {median(times):.1f} ms", flush=True)
    by_size = []
    codes = [str(900000 + i) for i in range(ds.symbols)]
    with Cluster(bin, ds, 2, threads) as c:
        for div in fractions:
            subset = codes[: ds.symbols // div]
            c.scan(subset)
            c.scan(subset)
            times = [c.scan(subset)[0] for _ in range(runs)]
            bars = ds.bars // div
            by_size.append({"symbols": len(subset), "bars": bars, "warm_ms": median(times),
                            "bars_per_s": bars / (median(times) / 1000)})
            print(f"  {len(subset)} symbols: {median(times):.1f} ms", flush=True)
    return {"dataset": ds.name, "by_nodes": by_nodes, "by_size": by_size}


def chart(scale: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2))
    n = scale["by_nodes"]
    a.bar([str(x["nodes"]) for x in n], [x["bars_per_s"] / 1e6 for x in n], color="#4C72B0")
    for i, x in enumerate(n):
        a.text(i, x["bars_per_s"] / 1e6, f"{x['warm_ms']:.0f} ms", ha="center", va="bottom", fontsize=9)
    a.set_xlabel("engine-nodes (one machine, %d cores)" % os.cpu_count())
    a.set_ylabel("throughput, M bars/s (warm, end to end)")
    a.set_title(f"{scale['dataset']}: throughput by node count")
    s = scale["by_size"]
    xs = [x["bars"] / 1e6 for x in s]
    ys = [x["warm_ms"] for x in s]
    b.plot(xs, ys, "o-", color="#DD8452", label="measured (2 nodes)")
    if s:
        k = ys[-1] / xs[-1]
        b.plot(xs, [k * x for x in xs], "--", color="gray", label="linear through the largest")
    for x, y, row in zip(xs, ys, s):
        b.annotate(f"{row['symbols']} sym", (x, y), textcoords="offset points", xytext=(4, -12), fontsize=8)
    b.set_xscale("log")
    b.set_yscale("log")
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter, NullLocator
    b.xaxis.set_major_locator(FixedLocator(xs))
    b.xaxis.set_minor_locator(NullLocator())
    b.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.3g}"))
    nice = [m * 10 ** e for e in range(-1, 6) for m in (1, 2, 5)]
    b.yaxis.set_major_locator(FixedLocator([v for v in nice if min(ys) / 3 <= v <= max(ys) * 1.5]))
    b.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    b.yaxis.set_minor_formatter(NullFormatter())
    b.set_xlabel("bars scanned (millions; 1x, 4x, 16x)")
    b.set_ylabel("warm end-to-end time, ms")
    b.set_title(f"{scale['dataset']}: time by data size")
    b.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------------------------------------- report

def machine() -> dict:
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = int(next(l for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal")).split()[1])
    return {"nproc": os.cpu_count(), "cpu": cpu, "mem_gb": round(mem_kb / 1e6, 1), "kernel": platform.release(),
            "load_before": os.getloadavg(), "date": time.strftime("%Y-%m-%d %H:%M %Z"),
            "python": platform.python_version(), "peer_packages": peer_packages()}


def peer_packages() -> dict:
    """The versions of what the peers run on (the peers run with this interpreter): their speed moves with
    them (the lean peer took twice as long with pandas 3.1.1 / TA-Lib 0.8.2 as in the runs before)."""
    from importlib import metadata
    out = {}
    for name in ("pandas", "numpy", "TA-Lib", "vectorbt", "numba"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def fmt_ms(x) -> str:
    if x is None or x != x:
        return "–"
    return f"{x:,.0f}" if x >= 100 else f"{x:.1f}"


def mb(kb) -> str:
    return f"{kb / 1024:.0f}" if kb else "–"


def table(report: dict) -> str:
    lines = ["| set | bars | matches | e2e fresh ms | e2e warm ms (median) | in-process ms (proc / wall) "
             "| eval ms | pandas+TA-Lib s (scan / total) | vectorbt s (scan / total) | ratio vs pandas (scan / total) "
             "| service HWM MB | node HWM MB |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in report["sets"].items():
        e = r.get("e2e") or {}
        loc = r.get("local") or {}
        pd_ = r.get("pandas") or {}
        vb = r.get("vectorbt") or {}
        fb = (r.get("formula_bench") or {}).get("F1") or {}
        warm = e.get("warm_ms")
        ratio = "–"
        if warm and pd_:
            ratio = f"{pd_['scan_s'] * 1000 / warm:.1f}× / {pd_['total_s'] * 1000 / warm:.0f}×"
        mem = e.get("memory") or {}
        nodes = "/".join(mb(n.get("VmHWM")) for n in mem.get("nodes", [])) or "–"
        lines.append(
            f"| {name} | {r['bars']:,} | {r['matches']:,} | {fmt_ms(e.get('fresh_ms'))} | {fmt_ms(warm)} "
            f"| {fmt_ms(loc.get('processing_ms'))} / {fmt_ms(loc.get('wall_ms'))} "
            f"| {fmt_ms(fb.get('ms')) if isinstance(fb.get('ms'), (int, float)) else '–'} "
            f"| {pd_.get('scan_s', float('nan')):.2f} / {pd_.get('total_s', float('nan')):.2f} "
            f"| {vb.get('scan_s', float('nan')):.2f} / {vb.get('total_s', float('nan')):.2f} "
            f"| {ratio} | {mb((mem.get('service') or {}).get('VmHWM'))} | {nodes} |")
    return "\n".join(lines)


def lean_table(report: dict) -> str:
    """Each workload end to end (warm) beside the lean peer's compute, the CPU both use, and the
    evaluation-alone throughput."""
    lines = ["| set | workload | matches | e2e warm ms (min–max) | service + nodes CPU ms / scan "
             "| lean peer compute ms (CPU ms) | ratio (wall) | ratio (CPU) | FormulaBench M bars/s |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in report["sets"].items():
        e = r.get("e2e") or {}
        for workload in WORKLOADS:
            w = e if workload == "F1" else (e.get("workloads") or {}).get(workload)
            if not w:
                continue
            cpu = w["cpu_ms_per_scan"]
            total_cpu = cpu["service"] + sum(cpu["nodes"])
            doc = (r.get("lean") or {}).get(workload)
            fb = ((r.get("formula_bench") or {}).get(workload) or {}).get("m_bars_per_s")
            peer = f"{doc['scan_s'] * 1000:,.0f} ({doc['scan_cpu_s'] * 1000:,.0f})" if doc else "–"
            wall_ratio = f"{doc['scan_s'] * 1000 / w['warm_ms']:.1f}×" if doc else "–"
            cpu_ratio = f"{doc['scan_cpu_s'] * 1000 / total_cpu:.1f}×" if doc and total_cpu > 0 else "–"
            lines.append(f"| {name} | {workload} | {w['matches']:,} | {fmt_ms(w['warm_ms'])} "
                         f"({fmt_ms(w['warm_min_ms'])}–{fmt_ms(w['warm_max_ms'])}) "
                         f"| {cpu['service']:.1f} + {' + '.join(f'{x:.1f}' for x in cpu['nodes'])} "
                         f"| {peer} | {wall_ratio} | {cpu_ratio} | {fb if fb is not None else '–'} |")
    return "\n".join(lines)


Target = tuple[str, str, str, "bool | None"]


def targets(report: dict) -> list[Target]:
    """Every target of issue 15 and DESIGN §7: (label, our measured value, the peer's figure, met)."""
    out: list[Target] = []
    sets = report["sets"]

    def e2e(name):
        return (sets.get(name) or {}).get("e2e") or {}

    def lean(name, workload):
        return ((sets.get(name) or {}).get("lean") or {}).get(workload)

    def peer_ms(doc):
        return f"lean peer {doc['scan_s'] * 1000:,.0f} ms compute ({doc['scan_cpu_s'] * 1000:,.0f} ms CPU)" if doc else "–"

    def below(label, value, limit, unit, peer="–"):
        if value is None:
            out.append((label, "not measured", peer, None))
        else:
            out.append((label, f"{value:,.1f} {unit} (< {limit} {unit})", peer, value < limit))

    def ratio(label, ours_ms, doc, bound):
        if ours_ms is None or doc is None:
            out.append((label, "not measured", peer_ms(doc), None))
        else:
            x = doc["scan_s"] * 1000 / ours_ms
            out.append((label, f"{x:.1f}× ({ours_ms:,.1f} ms warm; ≥ {bound}×)", peer_ms(doc), x >= bound))

    twelve = (e2e("T2").get("workloads") or {}).get("twelve") or {}
    ratio("12-indicator, T2, e2e warm ≥ 10× the lean peer's compute", twelve.get("warm_ms"), lean("T2", "twelve"), 10)
    ratio("F1, T1, e2e warm ≥ 20× the lean peer's compute", e2e("T1").get("warm_ms"), lean("T1", "F1"), 20)
    ratio("F1, T2, e2e warm ≥ 20× the lean peer's compute", e2e("T2").get("warm_ms"), lean("T2", "F1"), 20)
    below("F1, T2 warm end to end", e2e("T2").get("warm_ms"), 100, "ms", peer_ms(lean("T2", "F1")))
    below("F1, T1 warm end to end", e2e("T1").get("warm_ms"), 5, "ms", peer_ms(lean("T1", "F1")))
    below("F1, T2 on a freshly started service", e2e("T2").get("fresh_ms"), 250, "ms", peer_ms(lean("T2", "F1")))
    fb = (sets.get("T2") or {}).get("formula_bench") or {}
    for workload, bound in (("twelve", 50), ("F1", 250)):
        f = fb.get(workload) or {}
        doc = lean("T2", workload)
        peer = f"lean peer {doc['bars'] / doc['scan_s'] / 1e6:.1f} M bars/s (1 core)" if doc else "–"
        v = f.get("m_bars_per_s")
        name = "12-indicator" if workload == "twelve" else "F1"
        label = f"evaluation alone, {name}, one core, generic build (FormulaBench, T2 shape)"
        if v is None:
            out.append((label, f.get("error", "not measured"), peer, None))
        else:
            out.append((label, f"{v:.1f} M bars/s (≥ {bound})", peer, v >= bound))
    for name in ("T1", "T2"):
        svc = ((e2e(name).get("memory") or {}).get("service") or {}).get("VmHWM")
        doc = lean(name, "F1")
        below(f"{name} service resident (VmHWM)", svc / 1024 if svc else None, 100, "MB",
              f"lean peer {doc['max_rss_mb']:.0f} MB" if doc and "max_rss_mb" in doc else "–")
    mem3 = e2e("T3").get("memory") or {}
    worst = None
    if mem3:
        worst = max([mem3["service"].get("VmHWM", 0)] + [n.get("VmHWM", 0) for n in mem3["nodes"]]) / 1024
    below("T3 every process resident (VmHWM)", worst, 500, "MB")
    # DESIGN §7's original targets, against the original peer (pandas_talib_scan.py).
    below("DESIGN §7: T1 warm end to end", e2e("T1").get("warm_ms"), 50, "ms")
    below("DESIGN §7: T1 fresh service", e2e("T1").get("fresh_ms"), 300, "ms")
    below("DESIGN §7: T2 warm end to end", e2e("T2").get("warm_ms"), 300, "ms")
    for name in ("T1", "T2"):
        warm, pd_ = e2e(name).get("warm_ms"), (sets.get(name) or {}).get("pandas")
        label = f"DESIGN §7: {name} ≥ 10× pandas_talib_scan.py (its scan, CSV load excluded)"
        if warm and pd_:
            x = pd_["scan_s"] * 1000 / warm
            out.append((label, f"{x:.1f}×", f"{pd_['scan_s'] * 1000:,.0f} ms", x >= 10))
        else:
            out.append((label, "not measured", "–", None))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True, type=Path, help="directory of the release scan, scan-service, engine-node")
    ap.add_argument("--quick", action="store_true", help="T1 only, fewer runs, scaling on T1 (harness check)")
    ap.add_argument("--no-t3", action="store_true", help="skip T3 (1-minute bars: a 2.6 GB store, ~20 s to generate)")
    ap.add_argument("--t3-peers", action="store_true", help="run the peers on T3 too (a 3 GB CSV in pandas)")
    ap.add_argument("--sets", help="comma-separated data sets to run (default T1,T2[,T3])")
    ap.add_argument("--runs", type=int, default=10, help="warm runs per figure (median)")
    ap.add_argument("--nodes", type=int, default=2)
    ap.add_argument("--threads", type=int, help="engine-node --threads (default: the node's own default)")
    ap.add_argument("--no-e2e", action="store_true", help="skip the service (when it is not built yet)")
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--no-scaling", action="store_true")
    a = ap.parse_args()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)  # also when started with SIGINT ignored (a background job)
    RESULTS.mkdir(exist_ok=True)
    CHARTS.mkdir(exist_ok=True)
    names = a.sets.split(",") if a.sets else (["T1"] if a.quick else ["T1", "T2"] + ([] if a.no_t3 else ["T3"]))
    runs = 5 if a.quick and a.runs == 10 else a.runs
    report = {"machine": machine(), "formula": F1, "seed": SEED, "warm_runs": runs, "nodes": a.nodes, "sets": {}}
    print(f"machine: {report['machine']}", flush=True)

    try:
        for name in names:
            ds = DATASETS[name]
            peers = not a.no_peers and (name != "T3" or a.t3_peers)
            print(f"{name}: {ds.note}", flush=True)
            r: dict = {"load_at_start": os.getloadavg(), "note": ds.note, "bars": ds.bars, "range": [ds.start, ds.end], "timeframe": ds.timeframe}
            r["data"] = ensure_data(a.bin, ds, need_csv=peers)
            fresh_copy(ds)
            workloads = ["F1"] if name == "T3" else list(WORKLOADS)
            print(f"  in-process engine …", flush=True)
            r["local"] = in_process(a.bin, ds, 3 if name != "T3" else 1)
            ours = {"F1": r["local"]["match_set"]}
            r["local_workloads"] = {}
            for workload in workloads[1:]:
                loc = in_process(a.bin, ds, 1, workload)
                ours[workload] = loc.pop("match_set")
                r["local_workloads"][workload] = loc
            r["matches"] = r["local"]["matches"]
            if r["local"]["errors"] or any(x["errors"] for x in r["local_workloads"].values()):
                raise SystemExit(f"{name}: an in-process scan reported errors")
            if not a.no_e2e:
                print(f"  end to end, scan-service + {a.nodes} engine-nodes: {', '.join(workloads)} …", flush=True)
                r["e2e"] = end_to_end(a.bin, ds, a.nodes, runs if name != "T3" else max(3, runs // 3), a.threads,
                                      workloads)
                cross_check(name, ours["F1"], r["e2e"].pop("match_set"), "the service")
                for workload, w in r["e2e"]["workloads"].items():
                    cross_check(f"{name} {workload}", ours[workload], w.pop("match_set"), "the service")
            print(f"  evaluation alone (FormulaBench) …", flush=True)
            r["formula_bench"] = formula_bench(ds)
            if peers:
                r["lean"] = {}
                for workload in workloads:
                    print(f"  lean peer (pandas + TA-Lib), {workload} …", flush=True)
                    doc = lean_peer(ds, workload, 3)
                    cross_check(f"{name} {workload}", ours[workload], doc.pop("match_set"), "the lean peer")
                    r["lean"][workload] = doc
                agree = ["MarketScan (in process and through the service)", "the lean peer"]
                for script, key, module in (("pandas_talib_scan", "pandas", "talib"),
                                            ("vectorbt_scan", "vectorbt", "vectorbt")):
                    if importlib.util.find_spec(module) is None:
                        print(f"  peer {key}: skipped, Python module {module!r} is not installed "
                              f"(pip install {'TA-Lib' if module == 'talib' else module})", flush=True)
                        continue
                    print(f"  peer {key} …", flush=True)
                    r[key] = peer(script, ds, 2 if name != "T3" else 1)
                    cross_check(name, ours["F1"], r[key].pop("match_set"), key)
                    if r[key]["matches"] != r["matches"]:
                        raise SystemExit(f"CROSS-CHECK FAILED on {name}: {key} {r[key]['matches']} != {r['matches']}")
                    agree.append(script)
                print(f"  cross-check: {', '.join(agree)} agree on {r['matches']:,} F1 matches"
                      + "".join(f", {len(ours[w]):,} {w} matches" for w in workloads[1:]), flush=True)
            r["local"].pop("match_set", None)
            report["sets"][name] = r
            summary = {k: v for k, v in (r.get("e2e") or {}).items() if k in ("fresh_ms", "warm_ms")}
            print(f"  {name}: {r['matches']:,} matches; e2e {summary}; local {r['local']['processing_ms']:.1f} ms",
                  flush=True)

        if not a.no_scaling and not a.no_e2e:
            ds = DATASETS["T1" if a.quick else "T2"]
            print(f"scaling on {ds.name} …", flush=True)
            fresh_copy(ds)
            report["scaling"] = scaling(a.bin, ds, [1, 2, 4], [16, 4, 1], max(3, runs // 2), a.threads)
            png = RESULTS / "scaling.png"
            chart(report["scaling"], png)
            if not a.quick:
                shutil.copy(png, CHARTS / "scaling.png")
    finally:
        PROCS.stop_all()
        report["machine"]["load_after"] = os.getloadavg()
        (RESULTS / "results.json").write_text(json.dumps(report, indent=2, default=str))

    t = table(report)
    checks = targets(report)
    lines = [t, "", lean_table(report), "", "| target | measured | peer | met |", "|---|---|---|---|"]
    for label, value, peer_figure, ok in checks:
        lines.append(f"| {label} | {value} | {peer_figure} | {'yes' if ok else ('no' if ok is False else '–')} |")
    if report.get("scaling"):
        lines += ["", "| nodes | warm ms | M bars/s |", "|---:|---:|---:|"]
        lines += [f"| {x['nodes']} | {fmt_ms(x['warm_ms'])} | {x['bars_per_s'] / 1e6:.1f} |"
                  for x in report["scaling"]["by_nodes"]]
        lines += ["", "| symbols | bars | warm ms | M bars/s |", "|---:|---:|---:|---:|"]
        lines += [f"| {x['symbols']:,} | {x['bars']:,} | {fmt_ms(x['warm_ms'])} | {x['bars_per_s'] / 1e6:.1f} |"
                  for x in report["scaling"]["by_size"]]
    lines += ["", "| set | service CPU ms / warm scan | node CPU ms / warm scan | client JSON parse ms | startup ms |",
              "|---|---:|---:|---:|---:|"]
    for name, r in report["sets"].items():
        e = r.get("e2e") or {}
        if e:
            cpu = e["cpu_ms_per_scan"]
            lines.append(f"| {name} | {cpu['service']:.1f} | {' / '.join(f'{x:.1f}' for x in cpu['nodes'])} "
                         f"| {e['client_parse_ms']:.1f} | {e['startup_ms']:.0f} |")
    text = "\n".join(lines)
    (RESULTS / "table.md").write_text(text + "\n")
    print()
    print(text)
    print(f"\nload average before {report['machine']['load_before']}, after {report['machine']['load_after']}")
    print(f"full figures: {RESULTS / 'results.json'}")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        PROCS.stop_all()
        sys.exit(130)
