#!/usr/bin/env python3
"""What the event study and the condition funnel cost (issue 13, part 5): the T2 F1 scan with and
without `--study 1,5,10,20 --explain`, paired side by side in one run, so load affects both alike.

    scripts/build-release.sh && python3 Benchmarks/study_cost.py --bin .build/release [--runs 7]

Uses bench.py's data set T2 (2,000 symbols x 2,520 daily bars, generated once into
Benchmarks/results/t2.base.sqlite) and its cluster (scan-service + 2 engine-nodes on 127.0.0.1).
After warm-up pairs until two in a row load (almost) nothing on the nodes (`bench.Cluster.settle`), `--runs` pairs, each a
plain run then an analysed one:

  * in process, `scan run --local --format json --output FILE`: the result's processing_time_ms (the
    scan), the process's wall time (opening the store, the scan, the analysis, writing the JSON) and
    its CPU time (user + system);
  * end to end, warm: RUN_SCAN with "wait": true through the service and its 2 nodes, request sent
    to reply arrived, and the CPU time the service and the nodes spent on it; and a third run per
    round, the analysed scan with a longest horizon not used before ("fresh": no node remembers
    those baselines yet, the cost of a first study of these bars; bound as well).

Prints, per figure, the medians, the median of the pairs' ratios and their range, and whether the
bound (analysed < 2x plain, issue 13 part 5) is met; "met" needs the median ratio of every wall-clock
figure below 2. The load average at the start and the end says how busy the machine was. Figures go
to Benchmarks/results/study-cost.json. Takes about 2 minutes on an idle 2-core machine.
"""

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402

STUDY = {"horizons": [1, 5, 10, 20]}
BOUND = 2.0


def body(ds, analysed: bool, study: dict | None = None) -> dict:
    b = bench.scan_body(ds)
    if analysed:
        b["study"] = study or STUDY
        b["explain"] = True
    return b


def service_runs(binary: Path, ds, runs: int) -> dict:
    """Per kind: request-to-reply ms and the cluster's CPU ms, one per run. "plain" and "analysed" as
    above; "fresh" is the analysed scan with a longest horizon no scan used before (21, 22, ...), so
    no node has its baseline yet (the nodes remember each symbol's baseline per horizons, entry and
    bars): what the first study over these symbols and dates costs."""
    kinds = ("plain", "analysed", "fresh")
    out: dict = {k: {"wall_ms": [], "cpu_ms": []} for k in kinds}
    with bench.Cluster(binary, ds, nodes=2, threads=None) as cluster:
        def pair() -> None:  # warm-ups: the nodes' caches, both code paths
            for analysed in (False, True):
                cluster.client.request("RUN_SCAN", body(ds, analysed), 600)

        out["settle_pairs"] = cluster.settle(pair)
        for run in range(runs):
            for kind in kinds:
                fresh = {"horizons": [1, 5, 10, 21 + run]} if kind == "fresh" else None
                cpu0 = sum(cluster.cpu())
                t0 = time.perf_counter()
                reply = cluster.client.request("RUN_SCAN", body(ds, kind != "plain", fresh), 600)
                ms = (cluster.client.arrived - t0) * 1000
                if reply["session"]["status"] != "completed":
                    raise RuntimeError(reply["session"])
                out[kind]["wall_ms"].append(ms)
                out[kind]["cpu_ms"].append(sum(cluster.cpu()) - cpu0)
                if kind == "analysed":
                    out["study_events"] = sum(
                        h["events"]["events"] for s in reply["result"]["study"]["signals"] for h in s["horizons"])
                out["matches"] = reply["result"]["signals"]["total_matches"]
    return out


def children_cpu_ms() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (r.ru_utime + r.ru_stime) * 1000


def local_runs(binary: Path, ds, runs: int) -> dict:
    """Per kind: processing_time_ms, the process's wall ms and CPU ms, one per run."""
    out: dict = {k: {"processing_ms": [], "wall_ms": [], "cpu_ms": []} for k in ("plain", "analysed")}
    result = bench.RESULTS / "study-cost-local.json"
    base = [str(binary / "scan"), "run", "--local", "--db", str(ds.db), "--formula", bench.F1, "--name", "F1",
            "--from", ds.start, "--to", ds.end, "--format", "json", "--output", str(result)]
    extra = ["--study", ",".join(map(str, STUDY["horizons"])), "--explain"]
    for analysed in (False, True):
        bench.run(base + (extra if analysed else []))
    for _ in range(runs):
        for analysed in (False, True):
            kind = "analysed" if analysed else "plain"
            cpu0 = children_cpu_ms()
            t0 = time.perf_counter()
            bench.run(base + (extra if analysed else []))
            out[kind]["wall_ms"].append((time.perf_counter() - t0) * 1000)
            out[kind]["cpu_ms"].append(children_cpu_ms() - cpu0)
            doc = json.loads(result.read_text())
            out[kind]["processing_ms"].append(float(doc["processing_time_ms"]))
    return out


def summary(f: dict, figure: str, kind: str = "analysed") -> dict:
    plain, analysed = f["plain"][figure], f[kind][figure]
    ratios = sorted(a / p for p, a in zip(plain, analysed) if p > 0)
    return {
        "plain_ms": bench.median(plain),
        "analysed_ms": bench.median(analysed),
        "ratio": bench.median(ratios),
        "ratio_range": [ratios[0], ratios[-1]] if ratios else [],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True, type=Path)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--no-local", action="store_true")
    ap.add_argument("--no-service", action="store_true", help="only the in-process engine (needs only `scan`)")
    args = ap.parse_args()
    ds = bench.DATASETS["T2"]
    bench.RESULTS.mkdir(exist_ok=True)
    bench.ensure_data(args.bin, ds, need_csv=False)
    bench.fresh_copy(ds)
    load0 = os.getloadavg()
    figures: dict = {}
    try:
        if not args.no_local:
            figures["local"] = local_runs(args.bin, ds, args.runs)
        if not args.no_service:
            figures["service"] = service_runs(args.bin, ds, args.runs)
    finally:
        bench.PROCS.stop_all()
    load1 = os.getloadavg()
    settled = f" after {figures['service']['settle_pairs']} warm-up pairs" if "service" in figures else ""
    print(f"T2 F1 (plain) against T2 F1 --study 1,5,10,20 --explain (analysed): {args.runs} pairs each{settled}; "
          f"load average {load0[0]:.2f} at the start, {load1[0]:.2f} at the end")
    rows = []
    if "local" in figures:
        rows += [("in process, processing_time_ms", "local", "processing_ms", True),
                 ("in process, process wall time", "local", "wall_ms", True),
                 ("in process, process CPU time", "local", "cpu_ms", False)]
    if "service" in figures:
        rows += [("service + 2 nodes, request -> reply", "service", "wall_ms", True),
                 ("service + 2 nodes, their CPU time", "service", "cpu_ms", False),
                 ("  the same, baselines not remembered", "service", "wall_ms", "fresh"),
                 ("  their CPU time", "service", "cpu_ms", False)]
    met = True
    report = {"load_average": [load0[0], load1[0]], "runs": args.runs, "figures": figures, "summary": {}}
    kind = "analysed"
    for label, where, figure, bound in rows:
        if bound == "fresh":  # from here on: the "fresh" runs, against the same plain runs (bound too)
            kind = "fresh"
        s = summary(figures[where], figure, kind)
        report["summary"][f"{where}.{figure}" + ("" if kind == "analysed" else f".{kind}")] = s
        lo, hi = s["ratio_range"]
        verdict = ("met" if s["ratio"] < BOUND else "NOT met") if bound else "(work, not bound)"
        if bound:
            met = met and s["ratio"] < BOUND
        print(f"  {label:38s} plain {s['plain_ms']:8.1f} ms  analysed {s['analysed_ms']:8.1f} ms  "
              f"ratio {s['ratio']:.2f}x (pairs {lo:.2f}-{hi:.2f})  {verdict}")
    report["met"] = met
    print(f"bound (analysed < {BOUND:g}x plain, every wall-clock figure): {'MET' if met else 'NOT MET'}")
    (bench.RESULTS / "study-cost.json").write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
