#!/usr/bin/env python3
"""Chaos and soak benchmark (issue 16, part 11). Bounded in time: --duration seconds (default 300).

  python3 Benchmarks/chaos.py --bin .build/release --duration 300

On a fresh copy of the bundled sample (48 KRX symbols, 2015-2022 daily bars) it
  * computes the reference: every formula of the mix scanned once by a clean service with two nodes;
  * then, for --duration seconds, keeps --clients scans in flight on a service with --nodes nodes
    (lease 3 s, --keep-sessions 50) while a chaos loop, every --chaos-every seconds, does one of:
    SIGKILL a node and start it again, SIGSTOP a node for 5 s then SIGCONT it, SIGTERM the service and
    start it again, SIGKILL the service and start it again, or a misbehaving client (a DEALER with
    RCVHWM 1 sending 2,000 PINGs it never reads, then 500 mutated requests, garbage frames);
  * checks every scan that completed against the reference (matches, errors and statistics equal: the
    session is re-read with GET_RESULT until the whole match list is in hand), and counts those that
    did not end `completed` (a scan whose service was SIGKILLed resumes on the restart; a client whose
    request was lost to a kill re-reads its session);
  * samples every second the service's resident memory (VmRSS, /proc) and the store's size on disk
    (main file + WAL), and at the end the RSS high-water mark (VmHWM) of each service incarnation;
    every 10 s the service's own figures from its --metrics endpoint (what the allocator holds in use
    and from the kernel: flat in-use under a rising RSS is the allocator's high-water mark, rising
    in-use a leak) and the machine's load average.
--service-arg passes options to every scan-service (e.g. `--service-arg=--malloc-arenas=0
--service-arg=--memory-release-idle-ms=0` for glibc's defaults, the peer of the memory figures).
Prints a summary and writes it as JSON to --out (default Benchmarks/results/chaos.json). Exits 1 if a
result differed from the reference, a scan was lost, or a node died of something the chaos did not send
(`node_crashes`, with the log lines that say why in `node_crash_lines`; the node is started again). Every
process it starts listens on 127.0.0.1 and is stopped on exit, error or Ctrl-C.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import zmq

HERE = Path(__file__).resolve().parent
VERSION = b"MSCAN/1"
FORMULAS = [
    ("f1", "crossover(sma(close,5), sma(close,20)) and volume > 1.5 * sma(volume,20)"),
    ("rsi", "input n = 14\nsignal oversold = rsi(close, n) < 30\nsignal overbought = rsi(close, n) > 70\ncolumn r = rsi(close, n)"),
    ("bb", "close < bb_lower(close, 20, 2) or close > bb_upper(close, 20, 2)"),
    ("macd", "crossover(macd(close, 12, 26, 9), macd_signal(close, 12, 26, 9))"),
]
RANGE = {"from": "2016-01-04", "to": "2022-09-19"}


def free_port_base() -> int:
    while True:
        base = random.randint(20000, 60000)
        ok = True
        for p in range(base, base + 7):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", p))
                except OSError:
                    ok = False
                    break
        if ok:
            return base


def rss_kb(pid: int, field: str = "VmRSS") -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


class Cluster:
    def __init__(self, bin_dir: Path, db: Path, base: int, nodes: int, logs: Path, extra_env: dict,
                 service_args: list[str] | None = None):
        self.bin, self.db, self.base, self.logs = bin_dir, db, base, logs
        self.service_args = service_args or []
        self.metrics_port = base + 6
        self.env = dict(os.environ, **extra_env)
        self.service: subprocess.Popen | None = None
        self.nodes: list[subprocess.Popen | None] = [None] * nodes
        self.hwm_kb: list[int] = []
        self.starts = 0

    def start_service(self):
        self.starts += 1
        log = open(self.logs / f"service-{self.starts}.log", "w")
        self.service = subprocess.Popen(
            [str(self.bin / "scan-service"), "--db", str(self.db), "--port-base", str(self.base),
             "--lease-ms", "3000", "--keep-sessions", "50",
             "--metrics", f"127.0.0.1:{self.metrics_port}", *self.service_args],
            stdout=log, stderr=subprocess.STDOUT, env=self.env)

    def stop_service(self, sig=signal.SIGTERM):
        if self.service and self.service.poll() is None:
            hwm = rss_kb(self.service.pid, "VmHWM")
            if hwm:
                self.hwm_kb.append(hwm)
            self.service.send_signal(sig)
            try:
                self.service.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.service.kill()
                self.service.wait()
        self.service = None

    def start_node(self, i: int):
        log = open(self.logs / f"node-{i}.log", "a")
        self.nodes[i] = subprocess.Popen(
            [str(self.bin / "engine-node"), "--service", f"127.0.0.1:{self.base}", "--db", str(self.db),
             "--threads", "1", "--name", f"chaos-{i}"],
            stdout=log, stderr=subprocess.STDOUT, env=self.env)

    def stop_node(self, i: int, sig=signal.SIGTERM):
        p = self.nodes[i]
        if p and p.poll() is None:
            try:
                p.send_signal(signal.SIGCONT)
            except ProcessLookupError:
                pass
            p.send_signal(sig)
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.nodes[i] = None

    def stop_all(self):
        for i in range(len(self.nodes)):
            self.stop_node(i, signal.SIGKILL)
        self.stop_service()


def scrape(port: int, names: tuple[str, ...]) -> dict[str, float]:
    """The named gauges from the service's Prometheus endpoint; {} when it does not answer."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as c:
            c.sendall(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            data = b""
            while chunk := c.recv(65536):
                data += chunk
    except OSError:
        return {}
    out = {}
    for line in data.decode(errors="replace").splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] in names:
            try:
                out[parts[0]] = float(parts[1])
            except ValueError:
                pass
    return out


def spread(values: list[float], scale: float = 1.0, digits: int = 1) -> dict | None:
    """min / median / max of `values` divided by `scale`."""
    if not values:
        return None
    v = sorted(values)
    return {"min": round(v[0] / scale, digits), "median": round(v[len(v) // 2] / scale, digits),
            "max": round(v[-1] / scale, digits), "n": len(v)}


ALLOCATOR = ("marketscan_allocator_in_use_bytes", "marketscan_allocator_system_bytes", "marketscan_resident_bytes")


class Client:
    def __init__(self, ctx, endpoint):
        self.ctx, self.endpoint = ctx, endpoint
        self.sock = None
        self.reconnect()

    def reconnect(self):
        if self.sock is not None:
            self.sock.close(0)
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(self.endpoint)

    def call(self, verb: str, body: dict, timeout: float = 10.0):
        """The reply body, or raises TimeoutError / RuntimeError(code)."""
        rid = str(uuid.uuid4())
        self.sock.send_multipart([b"", VERSION, verb.encode(), json.dumps(dict(body, request_id=rid)).encode()])
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not self.sock.poll(int(left * 1000)):
                self.reconnect()  # a reply lost to a service restart must not be read as the next one's
                raise TimeoutError(verb)
            frames = self.sock.recv_multipart()
            if len(frames) != 4:
                continue
            reply = json.loads(frames[3])
            if reply.get("request_id") != rid:
                continue
            if frames[2] == b"ERROR":
                raise RuntimeError(reply.get("code"), reply.get("message"))
            return reply


def scan_body(name: str, source: str) -> dict:
    return {"formula": {"name": name, "source": source}, "timeframe": "1d", "date_range": RANGE, "mode": "range"}


def full_result(client: Client, sid: str) -> dict:
    """GET_RESULT page by page until every match is in hand."""
    matches, offset, first = [], 0, None
    while True:
        r = client.call("GET_RESULT", {"session_id": sid, "offset": offset, "limit": 5000})["result"]
        first = first or r
        page = r["signals"]["matches"]
        matches += page
        offset += len(page)
        if not page or offset >= r["signals"]["total_matches"]:
            break
    first["signals"]["matches"] = matches
    return first


def comparable(result: dict) -> dict:
    return {"signals": result["signals"], "statistics": result["statistics"],
            "errors": result.get("errors", []), "errors_count": result.get("errors_count")}


def wait_nodes(client: Client, n: int, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if len(client.call("PING", {}, timeout=2)["nodes"]) >= n:
                return
        except (TimeoutError, RuntimeError):
            pass
        time.sleep(0.2)
    raise SystemExit(f"chaos: {n} nodes did not connect within {timeout} s")


def misbehave(ctx, endpoint: str, rng: random.Random):
    """A client that never reads (RCVHWM 1), then mutated requests, then garbage frames."""
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.setsockopt(zmq.RCVHWM, 1)
    s.setsockopt(zmq.SNDHWM, 0)
    s.connect(endpoint)
    for _ in range(2000):
        s.send_multipart([b"", VERSION, b"PING", json.dumps({"request_id": "x" * 2000}).encode()])
    seeds = [json.dumps(scan_body(n, f)).encode() for n, f in FORMULAS] + [b'{"session_id": "nope"}', b"{}"]
    verbs = [b"RUN_SCAN", b"GET_SESSION", b"GET_RESULT", b"CANCEL", b"LIST_SESSIONS", b"PING", b"FLY"]
    for _ in range(500):
        body = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 6)):
            k = rng.randrange(len(body)) if body else 0
            op = rng.random()
            if op < 0.4 and body:
                body[k] = rng.randrange(256)
            elif op < 0.7:
                body[k:k] = bytes([rng.randrange(256)]) * rng.randint(1, 8)
            elif body:
                del body[k:k + rng.randint(1, 8)]
        # mostly well-formed RUN_SCANs do not start: the formulas are mutated, or wait is garbage
        s.send_multipart([b"", VERSION, rng.choice(verbs), bytes(body)])
    for _ in range(200):
        s.send_multipart([os.urandom(rng.randint(0, 64)) for _ in range(rng.randint(1, 6))])
    time.sleep(0.5)
    s.close(0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", type=Path, default=Path(".build/release"))
    ap.add_argument("--duration", type=float, default=300)
    ap.add_argument("--nodes", type=int, default=3)
    ap.add_argument("--clients", type=int, default=3, help="scans kept in flight")
    ap.add_argument("--chaos-every", type=float, default=4)
    ap.add_argument("--seed", type=int, default=16)
    ap.add_argument("--env", action="append", default=[], help="KEY=VALUE for the service and nodes")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "chaos.json")
    ap.add_argument("--service-arg", action="append", default=[], help="an option for every scan-service")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    bin_dir = args.bin.resolve()
    work = Path(tempfile.mkdtemp(prefix="marketscan-chaos-"))
    db = work / "sample.sqlite"
    subprocess.run([str(bin_dir / "scan"), "data", "sample", "--db", str(db)], check=True,
                   stdout=subprocess.DEVNULL)
    extra_env = dict(kv.split("=", 1) for kv in args.env)
    ctx = zmq.Context()
    base = free_port_base()
    cluster = Cluster(bin_dir, db, base, args.nodes, work, extra_env, args.service_arg)
    api = f"tcp://127.0.0.1:{base}"
    stats = {"scans_started": 0, "scans_completed": 0, "scans_equal": 0, "scans_different": 0,
             "scans_not_completed": {}, "node_kills": 0, "node_stops": 0, "service_terms": 0,
             "service_kills": 0, "misbehaving_clients": 0, "request_timeouts": 0,
             "node_crashes": 0, "node_crash_lines": []}
    samples = []
    figures = []  # every 10 s: the service's allocator figures and the load average
    def summarize(elapsed: float, finished: bool) -> dict:
        rss = [s["rss_kb"] for s in samples if s["rss_kb"]]
        sizes = [s["store_bytes"] for s in samples]
        summary = {
            "duration_s": round(elapsed, 1), "finished": finished, "nodes": args.nodes, "clients": args.clients, "env": extra_env,
            **stats,
            "service_starts": cluster.starts,
            "service_rss_mb": {"first": round(rss[0] / 1024, 1), "max": round(max(rss) / 1024, 1),
                               "last": round(rss[-1] / 1024, 1)} if rss else None,
            "service_hwm_mb_per_start": [round(h / 1024, 1) for h in cluster.hwm_kb],
            "store_mb": {"first": round(sizes[0] / 2**20, 2), "max": round(max(sizes) / 2**20, 2),
                         "last": round(sizes[-1] / 2**20, 2)} if sizes else None,
            "service_rss_mb_spread": spread(rss, 1024),
            "store_mb_spread": spread(sizes, 2**20, 2),
            "allocator_in_use_mb_spread": spread([f[ALLOCATOR[0]] for f in figures if ALLOCATOR[0] in f], 2**20),
            "allocator_system_mb_spread": spread([f[ALLOCATOR[1]] for f in figures if ALLOCATOR[1] in f], 2**20),
            "load_average_spread": spread([f["load"] for f in figures], 1, 1),
            "service_args": args.service_arg,
            "samples": samples,
            "figures": figures,
        }
        return summary

    try:
        # The reference: a clean run.
        cluster.start_service()
        for i in range(2):
            cluster.start_node(i)
        client = Client(ctx, api)
        wait_nodes(client, 2)
        reference = {}
        for name, source in FORMULAS:
            r = client.call("RUN_SCAN", dict(scan_body(name, source), wait=True), timeout=120)
            assert r["session"]["status"] == "completed", r["session"]
            reference[name] = comparable(full_result(client, r["session"]["session_id"]))
        for i in range(2):
            cluster.stop_node(i)
        cluster.stop_service()

        # The soak with chaos.
        cluster.start_service()
        for i in range(args.nodes):
            cluster.start_node(i)
        client.reconnect()
        wait_nodes(client, args.nodes)
        inflight: dict[str, tuple[str, float]] = {}  # session -> (formula, started)
        t0 = time.monotonic()
        next_chaos = t0 + args.chaos_every
        next_sample = t0
        next_figures = t0
        stopped: dict[int, float] = {}
        service_down_until = 0.0
        while time.monotonic() - t0 < args.duration or inflight:
            now = time.monotonic()
            draining = now - t0 >= args.duration
            if now >= next_sample and cluster.service:
                size = sum(p.stat().st_size for p in work.glob("sample.sqlite*") if p.is_file())
                samples.append({"t": round(now - t0, 1), "rss_kb": rss_kb(cluster.service.pid),
                                "store_bytes": size, "inflight": len(inflight)})
                next_sample = now + 1
            if now >= next_figures and cluster.service:
                figures.append({"t": round(now - t0, 1), "load": os.getloadavg()[0],
                                **scrape(cluster.metrics_port, ALLOCATOR)})
                next_figures = now + 10
                if len(figures) % 6 == 0:  # a minute: the figures so far, in case the run is cut short
                    args.out.parent.mkdir(parents=True, exist_ok=True)
                    args.out.write_text(json.dumps(summarize(now - t0, False), indent=1))
            # A node that died of something the chaos did not send (a crash: its exit status, the log's
            # last lines) is counted and started again.
            for i, p in enumerate(cluster.nodes):
                if p is not None and i not in stopped and p.poll() is not None:
                    stats["node_crashes"] += 1
                    tail = (cluster.logs / f"node-{i}.log").read_text(errors="replace").splitlines()[-40:]
                    for line in tail:
                        if ("Assertion" in line or "Fatal" in line or "Signal" in line) and \
                                line not in stats["node_crash_lines"] and len(stats["node_crash_lines"]) < 10:
                            stats["node_crash_lines"].append(line[:200])
                    cluster.start_node(i)
            for i, until in list(stopped.items()):
                if now >= until:
                    p = cluster.nodes[i]
                    if p:
                        p.send_signal(signal.SIGCONT)
                    del stopped[i]
            if cluster.service is None and now >= service_down_until:
                cluster.start_service()
                client.reconnect()
            if not draining and now >= next_chaos and cluster.service is not None:
                next_chaos = now + args.chaos_every
                action = rng.choice(["node_kill", "node_stop", "service_term", "service_kill", "misbehave",
                                     "node_kill", "node_stop", "misbehave"])
                i = rng.randrange(args.nodes)
                if action == "node_kill" and i not in stopped:
                    cluster.stop_node(i, signal.SIGKILL)
                    cluster.start_node(i)
                    stats["node_kills"] += 1
                elif action == "node_stop" and i not in stopped and len(stopped) < args.nodes - 1:
                    p = cluster.nodes[i]
                    if p:
                        p.send_signal(signal.SIGSTOP)
                        stopped[i] = now + 5
                        stats["node_stops"] += 1
                elif action in ("service_term", "service_kill"):
                    cluster.stop_service(signal.SIGTERM if action == "service_term" else signal.SIGKILL)
                    stats["service_terms" if action == "service_term" else "service_kills"] += 1
                    service_down_until = now + 1
                    continue
                elif action == "misbehave":
                    misbehave(ctx, api, rng)
                    stats["misbehaving_clients"] += 1
            if cluster.service is None:
                time.sleep(0.1)
                continue
            try:
                while not draining and len(inflight) < args.clients:
                    name, source = rng.choice(FORMULAS)
                    r = client.call("RUN_SCAN", scan_body(name, source), timeout=5)
                    inflight[r["session"]["session_id"]] = (name, now)
                    stats["scans_started"] += 1
                for sid, (name, started) in list(inflight.items()):
                    s = client.call("GET_SESSION", {"session_id": sid}, timeout=5)["session"]
                    if s["status"] in ("pending", "running"):
                        if time.monotonic() - started > 300:
                            stats["scans_not_completed"]["stuck"] = stats["scans_not_completed"].get("stuck", 0) + 1
                            del inflight[sid]
                        continue
                    del inflight[sid]
                    if s["status"] != "completed":
                        stats["scans_not_completed"][s["status"]] = stats["scans_not_completed"].get(s["status"], 0) + 1
                        continue
                    stats["scans_completed"] += 1
                    if comparable(full_result(client, sid)) == reference[name]:
                        stats["scans_equal"] += 1
                    else:
                        stats["scans_different"] += 1
            except TimeoutError:
                stats["request_timeouts"] += 1
            except RuntimeError as e:
                if e.args[0] == "busy":
                    time.sleep(0.2)
                else:
                    raise
            time.sleep(0.05)
        elapsed = time.monotonic() - t0
        cluster.stop_all()
    finally:
        cluster.stop_all()
        ctx.destroy(0)
    summary = summarize(elapsed, True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=1))
    shutil.rmtree(work, ignore_errors=True)
    print(json.dumps({k: v for k, v in summary.items() if k not in ("samples", "figures")}, indent=1))
    ok = (stats["scans_different"] == 0 and not stats["scans_not_completed"] and stats["scans_completed"] > 0
          and stats["node_crashes"] == 0)
    return 0 if ok else 1


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(main())
