"""Service + 2 engine nodes on T2: N warm scans, and per scan each process's minor page faults (fresh pages
the kernel zeroed and mapped, from /proc/PID/stat) and CPU time, their peak RSS (VmHWM), and the scans'
median wall time. Workload F1, twelve, study or fresh (as in service_profile.py). For an A/B of the
allocator's settings, alternate runs with and without an option:

    python3 Benchmarks/page_faults.py .build/release 15 fresh
    BENCH_SERVICE_ARGS="--malloc-keep-mb 0" python3 Benchmarks/page_faults.py .build/release 15 fresh
"""
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402


def peak_mb(pid: int) -> int:
    line = next(x for x in Path(f"/proc/{pid}/status").read_text().splitlines() if x.startswith("VmHWM"))
    return int(line.split()[1]) // 1024


def main() -> None:
    binp, n, workload = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else "F1"
    name = workload
    ds = bench.DATASETS["T2"]
    if bench.analyse_workload(workload):
        workload = "F1"
    with bench.Cluster(binp, ds, 2, None) as c:
        settled = c.settle(lambda: c.scan(workload=workload))
        pids = [c.service.pid] + [p.pid for p in c.node_procs]
        f0, c0 = [bench.minor_faults(p) for p in pids], [bench.cpu_ms(p) for p in pids]
        ts = sorted(c.scan(workload=workload)[0] for _ in range(n))
        f1, c1 = [bench.minor_faults(p) for p in pids], [bench.cpu_ms(p) for p in pids]
        hwm = [peak_mb(p) for p in pids]
    per = lambda a, b: [round((y - x) / n) for x, y in zip(a, b)]  # noqa: E731
    print(f"T2 {name} {os.environ.get('BENCH_SERVICE_ARGS', '')!r} n={n} after {settled} warm-ups: median {ts[n // 2]:.1f} ms; "
          f"per scan (service, node 1, node 2) faults {per(f0, f1)} cpu ms {per(c0, c1)}; peak RSS MB {hwm}")


if __name__ == "__main__":
    main()
