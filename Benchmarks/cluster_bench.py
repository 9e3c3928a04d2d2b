#!/usr/bin/env python3
"""Engine nodes on separate network hosts, on the shared PostgreSQL store (issue 12 part 4).

    sudo python3 Benchmarks/cluster_bench.py                 # T2, ~5 min on an idle 2-core box
    sudo python3 Benchmarks/cluster_bench.py --quick         # T1-sized data, for trying the script

Builds the hosts of deploy/netns-cluster.sh (PostgreSQL on `data`, the service on `svc`, nodes on
`n1` `n2` `n3`, this script's client on `cli`, each its own address), then measures, on T2 (2,000
symbols x 2,520 daily bars = 5.04 M bars, `scan data generate --seed 8`, as bench.py) and the
12-indicator formula of Benchmarks/Sources/FormulaBench over the whole history:

  * import: `scan data import-bars --create-symbols` of T2's CSV into a new SQLite file and into the
    new PostgreSQL database (wall time of the command); every scan below reads these two stores;
  * in process: `scan run --local` on each store (processing_time_ms; a new process each run, so
    every run reads every series from the store);
  * end to end, one node (`--threads 1`), on each store: the first scan after the node started
    (cold: the node reads every series from the store) and the median of the next runs (warm: from
    the node's series cache);
  * scaling on PostgreSQL: 1, 2 and 3 node hosts, each node `--threads 1` pinned with `taskset` to a
    core of its own (core i mod the cores there are: on a 2-core machine nodes 1 and 3 share core 0,
    which the table says); warm throughput in bars/s and the ratio to one node (target: 2 nodes
    >= 1.8x one node).

The service is not pinned (it only splits and merges). Prints a Markdown table ready for
BENCHMARKS.md (and writes it with every figure to Benchmarks/results/cluster/). Needs root (network
namespaces), iproute2, PostgreSQL's server binaries and pyzmq (scripts/setup.sh installs them), and
release binaries (built with `swift build -c release` when .build/release/scan is missing). Every
process and namespace it makes is removed on exit, error or Ctrl-C.
"""
from __future__ import annotations

import argparse
import ctypes
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "results" / "cluster"
NETNS = ROOT / "deploy" / "netns-cluster.sh"
SEED = 8
TWELVE = (
    "signal s = sma(close, 20) > ema(close, 50) and rsi(close, 14) < 70 and macd_hist(12, 26, 9) > 0 and\n"
    "  close > bb_lower(20, 2) and atr(14) > 0.5 and adx(14) > 20 and cci(20) > -100 and\n"
    "  willr(14) > -80 and mfi(14) < 80 and stoch_k(14, 3, 3) > 20 and obv() > obv()[5] and\n"
    "  wma(close, 10) > close[1]\n"
    "column rsi14 = rsi(close, 14)\n"
)
SETS = {
    "T2": dict(symbols=2000, days=2520, start="2015-01-01", end="2024-12-31"),
    "T1": dict(symbols=500, days=252, start="2024-01-01", end="2024-12-31"),
}
PROCS: list[subprocess.Popen] = []


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run(args: list[str], timeout: float = 900) -> subprocess.CompletedProcess:
    r = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise SystemExit(f"failed ({r.returncode}): {' '.join(args)}\n{r.stderr[-2000:]}")
    return r


def timed(args: list[str]) -> float:
    t0 = time.perf_counter()
    run(args)
    return time.perf_counter() - t0


class Cluster:
    def __init__(self, rundir: Path) -> None:
        self.rundir = rundir
        self.env: dict[str, str] = {}
        self.home: int | None = None

    def up(self) -> None:
        self.down()
        shutil.rmtree(self.rundir, ignore_errors=True)  # a fresh PostgreSQL cluster every run
        out = run([str(NETNS), "up", str(self.rundir)], timeout=120).stdout
        self.env = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def down(self) -> None:
        self.enter(None)
        subprocess.run([str(NETNS), "down", str(self.rundir)], capture_output=True, timeout=120)

    def ns(self, host: str) -> str:
        return self.env[f"NS_{host.upper()}"]

    def addr(self, host: str) -> str:
        return self.env[f"ADDR_{host.upper()}"]

    @property
    def url(self) -> str:
        return self.env["STORE_URL"]

    def on(self, host: str, args: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.ns(host), *args]

    def start(self, host: str, args: list[str], name: str) -> subprocess.Popen:
        out = open(OUT / f"{name}.log", "wb")
        p = subprocess.Popen(self.on(host, args), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        PROCS.append(p)
        return p

    def enter(self, host: str | None) -> None:
        """Moves this process (before any socket or thread exists) into `host`'s network namespace, or
        back to the machine's (`None`: before `down`, which kills every process on the hosts)."""
        libc = ctypes.CDLL(None, use_errno=True)
        if host is None:
            fd, self.home = self.home, None
            if fd is None:
                return
        else:
            self.home = os.open("/proc/self/ns/net", os.O_RDONLY)
            fd = os.open(f"/run/netns/{self.ns(host)}", os.O_RDONLY)
        if libc.setns(fd, 0x40000000) != 0:  # CLONE_NEWNET
            raise SystemExit(f"setns {host}: {os.strerror(ctypes.get_errno())}")
        os.close(fd)


def stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        if p in PROCS:
            PROCS.remove(p)


class Api:
    """A DEALER client of the service's api socket (protocol/README.md): "" | MSCAN/1 | VERB | BODY."""

    def __init__(self, endpoint: str) -> None:
        import zmq

        self.zmq = zmq
        self.sock = zmq.Context.instance().socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(endpoint)
        self.seq = 0

    def request(self, verb: str, body: dict, timeout: float) -> dict:
        self.seq += 1
        rid = f"cb-{self.seq}"
        self.sock.send_multipart([b"", b"MSCAN/1", verb.encode(), json.dumps(dict(body, request_id=rid)).encode()])
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            if not self.sock.poll(int(left * 1000)):
                continue
            frames = self.sock.recv_multipart()
            reply = json.loads(frames[3]) if len(frames) > 3 else {}
            if reply.get("request_id") not in (None, rid):
                continue
            if frames[2] != b"OK":
                raise RuntimeError(f"{verb}: {frames[2].decode()} {reply}")
            return reply
        raise TimeoutError(f"{verb}: no reply within {timeout} s")

    def close(self) -> None:
        self.sock.close(0)


def scan_body(ds: dict) -> dict:
    return {
        "formula": {"name": "twelve", "source": TWELVE},
        "criteria": {},
        "timeframe": "1d",
        "date_range": {"from": ds["start"], "to": ds["end"]},
        "parameters": {},
        "mode": "range",
        "wait": True,
    }


def end_to_end(c: Cluster, bin: Path, ds: dict, store: list[str], nodes: int, runs: int, tag: str) -> dict:
    """Service on `svc` + `nodes` nodes (node i on n<i>, pinned to core (i-1) mod cores); the cold
    scan and the warm scans' times (ms, the service's processing_time_ms)."""
    cores = os.cpu_count() or 1
    procs = [c.start("svc", [str(bin / "scan-service"), *store, "--bind", c.addr("svc")], f"service-{tag}")]
    pins = []
    for i in range(1, nodes + 1):
        core = (i - 1) % cores
        pins.append(core)
        procs.append(c.start(f"n{i}", ["taskset", "-c", str(core), str(bin / "engine-node"), "--service",
                                       f"{c.addr('svc')}:5555", "--threads", "1", "--name", f"n{i}", *store],
                             f"node{i}-{tag}"))
    api = Api(f"tcp://{c.addr('svc')}:5555")
    try:
        deadline = time.monotonic() + 60
        while True:
            for p in procs:
                if p.poll() is not None:
                    raise SystemExit(f"{tag}: a process exited; see {OUT}/*-{tag}.log")
            try:
                if len(api.request("PING", {}, 2).get("nodes", [])) >= nodes:
                    break
            except (TimeoutError, RuntimeError):
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"{tag}: {nodes} nodes did not join within 60 s")
            time.sleep(0.2)
        times, matches = [], set()
        for _ in range(1 + runs):
            r = api.request("RUN_SCAN", scan_body(ds), 900)
            if r.get("session", {}).get("status") != "completed":
                raise SystemExit(f"{tag}: the scan ended {r.get('session', {}).get('status')}: {r.get('session')}")
            result = r["result"]
            if result.get("errors_count", 0):
                raise SystemExit(f"{tag}: scan errors {result.get('errors', [])[:3]}")
            times.append(float(result["processing_time_ms"]))
            matches.add(result["signals"]["total_matches"])
        warm = times[1:]
        return {"cold_ms": times[0], "warm_ms": statistics.median(warm), "warm_range_ms": [min(warm), max(warm)],
                "matches": sorted(matches), "pins": pins}
    finally:
        api.close()
        stop(procs)


def local(c: Cluster, bin: Path, ds: dict, store: list[str], runs: int) -> dict:
    times = []
    for _ in range(runs):
        r = run(c.on("cli", [str(bin / "scan"), "run", "--local", *store, "--formula", TWELVE, "--name", "twelve",
                             "--from", ds["start"], "--to", ds["end"], "--format", "json"]))
        times.append(float(json.loads(r.stdout)["processing_time_ms"]))
    return {"ms": statistics.median(times), "range_ms": [min(times), max(times)]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="T1-sized data (500 x 252) instead of T2")
    ap.add_argument("--bin", type=Path, default=ROOT / ".build" / "release")
    ap.add_argument("--runs", type=int, default=3, help="warm runs per configuration (default 3)")
    ap.add_argument("--nodes", default="1,2,3")
    a = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("cluster_bench: needs root (network namespaces)")
    name = "T1" if a.quick else "T2"
    ds = SETS[name]
    bars = ds["symbols"] * ds["days"]
    OUT.mkdir(parents=True, exist_ok=True)
    if not (a.bin / "scan").exists():
        log("building release binaries …")
        run(["swift", "build", "-c", "release", "--package-path", str(ROOT)], timeout=3600)
    bin = a.bin.resolve()
    began = time.perf_counter()
    load = os.getloadavg()

    base = OUT / f"{name.lower()}.base.sqlite"
    marker = OUT / f"{name.lower()}.key"
    key = f"{ds['symbols']} {ds['days']} {SEED}"
    csv = OUT / f"{name.lower()}.csv"
    if not (base.exists() and marker.exists() and marker.read_text() == key):
        for p in (base, Path(f"{base}-wal"), Path(f"{base}-shm"), csv):
            p.unlink(missing_ok=True)
        log(f"generating {name} ({bars:,} bars) …")
        run([str(bin / "scan"), "data", "generate", "--symbols", str(ds["symbols"]), "--days", str(ds["days"]),
             "--seed", str(SEED), "--db", str(base)])
        marker.write_text(key)
    if not csv.exists():
        log("exporting it to CSV …")
        run([str(bin / "scan"), "data", "export", "--timeframe", "1d", "--db", str(base), str(csv) + ".part"])
        Path(str(csv) + ".part").rename(csv)

    c = Cluster(OUT / "netns")
    res: dict = {"set": name, "bars": bars, "load_before": load, "cores": os.cpu_count()}
    try:
        c.up()
        c.enter("cli")
        pg = ["--store", c.url]
        # Both stores are filled by `scan data import-bars` of the same CSV (timed): the scans then read
        # the same bars (symbols created bare: the scans take every symbol).
        log(f"import-bars of {name} into a new SQLite file and into PostgreSQL …")
        lite_db = OUT / f"{name.lower()}.sqlite"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{lite_db}{suffix}").unlink(missing_ok=True)
        lite = ["--db", str(lite_db)]
        res["import_sqlite_s"] = timed(c.on("cli", [str(bin / "scan"), "data", "import-bars", str(csv),
                                                    "--create-symbols", *lite]))
        res["import_postgres_s"] = timed(c.on("cli", [str(bin / "scan"), "data", "import-bars", str(csv),
                                                      "--create-symbols", *pg]))

        log("scan run --local on each store …")
        res["local_sqlite"] = local(c, bin, ds, lite, 2)
        res["local_postgres"] = local(c, bin, ds, pg, 2)
        log("end to end, one node, on SQLite …")
        res["e2e_sqlite_1"] = end_to_end(c, bin, ds, lite, 1, a.runs, "sqlite-1")
        for n in [int(x) for x in a.nodes.split(",")]:
            log(f"end to end, {n} node(s), on PostgreSQL …")
            res[f"e2e_postgres_{n}"] = end_to_end(c, bin, ds, pg, n, a.runs, f"postgres-{n}")
    finally:
        stop(list(PROCS))
        c.down()
    res["load_after"] = os.getloadavg()
    res["seconds"] = time.perf_counter() - began
    (OUT / "results.json").write_text(json.dumps(res, indent=2))
    table = render(res, a)
    (OUT / "table.md").write_text(table)
    print(table)


def render(res: dict, a: argparse.Namespace) -> str:
    bars = res["bars"]
    rows = [
        f"`sudo python3 Benchmarks/cluster_bench.py{' --quick' if a.quick else ''}` — {res['set']}, "
        f"{bars:,} daily bars, the 12-indicator formula over the whole history; {res['cores']} cores; "
        f"load average before {res['load_before'][0]:.1f}, after {res['load_after'][0]:.1f}; "
        f"{res['seconds']:.0f} s in all.",
        "",
        "| what | SQLite | PostgreSQL |",
        "| --- | ---: | ---: |",
        f"| `scan data import-bars` of the CSV (s) | {res['import_sqlite_s']:.1f} | {res['import_postgres_s']:.1f} |",
        f"| `scan run --local`, both cores (ms, median of 2; range) | {res['local_sqlite']['ms']:.0f} "
        f"({res['local_sqlite']['range_ms'][0]:.0f}–{res['local_sqlite']['range_ms'][1]:.0f}) | "
        f"{res['local_postgres']['ms']:.0f} ({res['local_postgres']['range_ms'][0]:.0f}–"
        f"{res['local_postgres']['range_ms'][1]:.0f}) |",
    ]
    s1, p1 = res["e2e_sqlite_1"], res.get("e2e_postgres_1")
    if p1:
        rows.append(f"| 1 node, cold scan (ms) | {s1['cold_ms']:.0f} | {p1['cold_ms']:.0f} |")
        rows.append(f"| 1 node, warm scan (ms, median of {a.runs}) | {s1['warm_ms']:.0f} | {p1['warm_ms']:.0f} |")
    rows += ["", "| node hosts (PostgreSQL) | cores pinned | warm scan (ms, median; range) | bars/s | vs 1 node |",
             "| ---: | --- | ---: | ---: | ---: |"]
    one = p1["warm_ms"] if p1 else None
    for n in (1, 2, 3):
        r = res.get(f"e2e_postgres_{n}")
        if not r:
            continue
        ratio = f"{one / r['warm_ms']:.2f}x" if one else "–"
        shared = " (shared)" if len(set(r["pins"])) < len(r["pins"]) else ""
        rows.append(f"| {n} | {','.join(map(str, r['pins']))}{shared} | {r['warm_ms']:.0f} "
                    f"({r['warm_range_ms'][0]:.0f}–{r['warm_range_ms'][1]:.0f}) | "
                    f"{bars / (r['warm_ms'] / 1000) / 1e6:.1f} M | {ratio} |")
    matches = {str(res[k]["matches"]) for k in res if k.startswith("e2e_")}
    rows += ["", f"Matches: {', '.join(sorted(matches))} (the same in every configuration when one value).",
             "Target: 2 nodes >= 1.8x one node."]
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # SIGTERM cleans up too (the finally in main)
    try:
        main()
    except KeyboardInterrupt:
        stop(list(PROCS))
        raise
