"""N warm scans in a row through scan-service + 2 engine-nodes on a bench data set, each scan's wall time and
the CPU each process spent on it (service, node 1, node 2), one line a scan: shows a scan that reloads bars
(a node's CPU jumps) where a median would hide it. Workload F1, study (F1 with --study 1,5,10,20 --explain), or
fresh (the same with a longest horizon no scan used before, 21, 22, ...: each scan a first study of its bars).
BENCH_NODE_ARGS passes flags to the nodes (e.g. "--cache-mb 1024").

    python3 Benchmarks/cpu_per_scan.py .build/release T2 16 study|fresh"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402

binp, setname, n = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
workload = sys.argv[4] if len(sys.argv) > 4 else "F1"
ds = bench.DATASETS[setname]
bench.analyse_workload(workload)
bench.fresh_copy(ds)
with bench.Cluster(binp, ds, 2, None) as c:
    pids = [c.service.pid] + [p.pid for p in c.node_procs]
    for i in range(n):
        before = [bench.cpu_ms(p) for p in pids]
        ms, _ = c.scan(workload="F1")
        after = [bench.cpu_ms(p) for p in pids]
        cpu = " ".join(f"{b - a:5.0f}" for a, b in zip(before, after))
        print(f"scan {i + 1:3d}: {ms:7.1f} ms; CPU ms service, node 1, node 2: {cpu}", flush=True)
