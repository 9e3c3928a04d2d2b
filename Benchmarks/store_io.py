"""Service + 2 engine nodes on a bench data set: N warm scans, and per scan the bytes the service wrote
to and read from files (/proc/PID/io `wchar`/`rchar`: its session store's WAL, the checkpoints into the
store file; ZeroMQ's sockets are not counted) and its CPU time. Workloads as in service_profile.py (F1,
twelve, study, fresh).

    python3 Benchmarks/store_io.py .build/release 20 fresh
"""
import sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402


def io(pid: int) -> dict[str, int]:
    out = {}
    for line in open(f"/proc/{pid}/io"):
        key, value = line.split(":")
        out[key] = int(value)
    return out


binp = Path(sys.argv[1]); n = int(sys.argv[2]); workload = sys.argv[3] if len(sys.argv) > 3 else "F1"
ds = bench.DATASETS[sys.argv[4] if len(sys.argv) > 4 else "T2"]
bench.fresh_copy(ds)
scan_workload = "F1" if bench.analyse_workload(workload) else workload
with bench.Cluster(binp, ds, 2, None) as c:
    c.settle(lambda: c.scan(workload=scan_workload))
    pid = c.service.pid
    before, cpu0 = io(pid), bench.cpu_ms(pid)
    for _ in range(n):
        c.scan(workload=scan_workload)
    after, cpu1 = io(pid), bench.cpu_ms(pid)
    per = {k: (after[k] - before[k]) / n / 1e6 for k in ("wchar", "rchar")}
    print(f"{ds.name} {workload} n={n}: service wrote {per['wchar']:.2f} MB and read {per['rchar']:.2f} MB "
          f"of files a scan; CPU {(cpu1 - cpu0) / n:.1f} ms a scan")
