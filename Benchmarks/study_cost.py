#!/usr/bin/env python3
"""What the event study and the condition funnel cost (issue 13, part 5): the T2 F1 scan with and
without `--study 1,5,10,20 --explain`, side by side in one run, so load affects both alike.

    scripts/build-release.sh && python3 Benchmarks/study_cost.py --bin .build/release [--runs 7]

Uses bench.py's data set T2 (2,000 symbols x 2,520 daily bars, generated once into
Benchmarks/results/t2.base.sqlite) and its cluster (scan-service + 2 engine-nodes on 127.0.0.1).
Measures, alternating plain and analysed runs after two warm-ups of each:

  * through the service, warm: RUN_SCAN with "wait": true, request sent to reply arrived;
  * in process: `scan run --local`, the result's processing_time_ms.

Prints the medians and their ratio, and the load average at the start and the end.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402

STUDY = {"horizons": [1, 5, 10, 20]}


def body(ds, analysed: bool) -> dict:
    b = bench.scan_body(ds)
    if analysed:
        b["study"] = STUDY
        b["explain"] = True
    return b


def service_runs(binary: Path, ds, runs: int) -> dict:
    out = {"plain": [], "analysed": []}
    with bench.Cluster(binary, ds, nodes=2, threads=None) as cluster:
        for analysed in (False, True, False, True):  # warm-ups: the nodes' caches, both code paths
            cluster.client.request("RUN_SCAN", body(ds, analysed), 600)
        for _ in range(runs):
            for analysed in (False, True):
                t0 = time.perf_counter()
                reply = cluster.client.request("RUN_SCAN", body(ds, analysed), 600)
                ms = (cluster.client.arrived - t0) * 1000
                if reply["session"]["status"] != "completed":
                    raise RuntimeError(reply["session"])
                out["analysed" if analysed else "plain"].append(ms)
                if analysed:
                    out["study_events"] = sum(
                        h["events"]["events"] for s in reply["result"]["study"]["signals"] for h in s["horizons"])
                out["matches"] = reply["result"]["signals"]["total_matches"]
    return out


def local_runs(binary: Path, ds, runs: int) -> dict:
    out = {"plain": [], "analysed": []}
    result = bench.RESULTS / "study-cost-local.json"
    base = [str(binary / "scan"), "run", "--local", "--db", str(ds.db), "--formula", bench.F1, "--name", "F1",
            "--from", ds.start, "--to", ds.end, "--format", "json", "--output", str(result)]
    extra = ["--study", ",".join(map(str, STUDY["horizons"])), "--explain"]
    for analysed in (False, True):
        bench.run(base + (extra if analysed else []))
    for _ in range(runs):
        for analysed in (False, True):
            bench.run(base + (extra if analysed else []))
            doc = json.loads(result.read_text())
            out["analysed" if analysed else "plain"].append(float(doc["processing_time_ms"]))
    return out


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
    try:
        figures = {} if args.no_service else {"service": service_runs(args.bin, ds, args.runs)}
        if not args.no_local:
            figures["local"] = local_runs(args.bin, ds, args.runs)
    finally:
        bench.PROCS.stop_all()
    load1 = os.getloadavg()
    print(f"T2 F1, {args.runs} alternating runs each; load average {load0[0]:.2f} at the start, {load1[0]:.2f} at the end")
    for where, f in figures.items():
        p, a = bench.median(f["plain"]), bench.median(f["analysed"])
        print(f"  {where:8s} plain {p:8.1f} ms   --study 1,5,10,20 --explain {a:8.1f} ms   ratio {a / p:.2f}x"
              f"   (plain {[round(x) for x in f['plain']]}, analysed {[round(x) for x in f['analysed']]})")
    (bench.RESULTS / "study-cost.json").write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
