"""Service + 2 engine nodes on a bench data set: N warm scans, their median wall time and the CPU per scan of
the service and of each node (from /proc). Workload F1, twelve, study (F1 with --study 1,5,10,20
--explain) or fresh (the same with a longest horizon no scan used before, 21, 22, ...: no node remembers
those baselines, a first study of the bars). PERF=FILE records `perf record -g` of the service (PERFPID=1
or 2: a node) over the N scans.

    python3 Benchmarks/service_profile.py .build/release T2 10 twelve
"""
import sys, time, subprocess, os
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402
binp = Path(sys.argv[1]); setname = sys.argv[2]; n = int(sys.argv[3]); workload = sys.argv[4] if len(sys.argv) > 4 else "F1"
perf = os.environ.get("PERF")
ds = bench.DATASETS[setname]
bench.fresh_copy(ds)
if bench.analyse_workload(workload):
    workload = "F1"
with bench.Cluster(binp, ds, 2, None) as c:
    c.settle(lambda: c.scan(workload=workload))
    pids = [c.service.pid] + [p.pid for p in c.node_procs]
    cpu0 = [bench.cpu_ms(p) for p in pids]
    pp = None
    if perf:
        pp = subprocess.Popen(["perf", "record", "-F", "1999", "-g", "-o", perf, "-p", str(pids[int(os.environ.get("PERFPID","0"))])], stderr=subprocess.DEVNULL)
        time.sleep(0.5)
    ts = []
    for _ in range(n):
        ms, _r = c.scan(workload=workload); ts.append(ms)
    if pp: pp.send_signal(2); pp.wait()
    cpu1 = [bench.cpu_ms(p) for p in pids]
    ts.sort()
    print(f"{setname} {sys.argv[4] if len(sys.argv)>4 else 'F1'} n={n} median {ts[len(ts)//2]:.1f} ms min {ts[0]:.1f} max {ts[-1]:.1f}; cpu/scan service {(cpu1[0]-cpu0[0])/n:.2f} nodes {(cpu1[1]-cpu0[1])/n:.2f} {(cpu1[2]-cpu0[2])/n:.2f} ms")
