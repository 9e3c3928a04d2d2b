#!/usr/bin/env python3
"""T2 F1 on a freshly started service + 2 nodes, binaries alternated: for each run and each binary directory,
a fresh copy of the generated store, a new cluster (bench.py's), its first scan (request -> reply) and the CPU
the service and the nodes spent on it. Compares two builds in the same minutes (the figure `run.sh` reports
as "T2 on a freshly started service" is one such first scan).

    python3 Benchmarks/fresh_pairs.py RUNS BIN_DIR [BIN_DIR ...]
"""
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402


def main() -> None:
    runs = int(sys.argv[1])
    bins = [Path(b) for b in sys.argv[2:]]
    ds = bench.DATASETS["T2"]
    walls: dict[str, list[float]] = {str(b): [] for b in bins}
    for _ in range(runs):
        for b in bins:
            bench.fresh_copy(ds)
            with bench.Cluster(b, ds, 2, None) as c:
                pids = [c.service.pid] + [p.pid for p in c.node_procs]
                cpu0 = [bench.cpu_ms(p) for p in pids]
                ms, _ = c.scan()
                cpu = [bench.cpu_ms(p) - c0 for p, c0 in zip(pids, cpu0)]
                walls[str(b)].append(ms)
                print(f"{b}: fresh {ms:.0f} ms, cpu service {cpu[0]:.0f} nodes {cpu[1]:.0f} {cpu[2]:.0f}", flush=True)
    for b, v in walls.items():
        v.sort()
        print(f"{b}: median {v[len(v) // 2]:.0f} ms, min {v[0]:.0f}, max {v[-1]:.0f}")
    print("load average", os.getloadavg())


if __name__ == "__main__":
    main()
