"""The service's system calls per warm T1 F1 scan (`strace -c -f` of the service over N scans, after 5 warm-up
scans), with its and the nodes' CPU per scan. Counts, not times: they do not depend on the build's optimisation
or on the machine's load (the wall figure it prints is under strace and means nothing).

    python3 Benchmarks/service_syscalls.py .build/debug 40"""
import sys, time, subprocess, os, re
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402
binp = Path(sys.argv[1]); n = int(sys.argv[2])
ds = bench.DATASETS["T1"]
bench.ensure_data(binp, ds, need_csv=False)
bench.fresh_copy(ds)
with bench.Cluster(binp, ds, 2, None) as c:
    for _ in range(5): c.scan()
    pids = [c.service.pid] + [p.pid for p in c.node_procs]
    out = f"/tmp/strace-{os.getpid()}.txt"
    st = subprocess.Popen(["strace", "-f", "-c", "-o", out, "-p", str(pids[0])], stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    cpu0 = [bench.cpu_ms(p) for p in pids]
    ts = []
    for _ in range(n):
        ms, r = c.scan(); ts.append(ms)
    cpu1 = [bench.cpu_ms(p) for p in pids]
    st.send_signal(2); st.wait()
    ts.sort()
    print(f"{binp} n={n} median {ts[len(ts)//2]:.1f} ms (under strace); cpu/scan service {(cpu1[0]-cpu0[0])/n:.2f} nodes {(cpu1[1]-cpu0[1])/n:.2f} {(cpu1[2]-cpu0[2])/n:.2f} ms; matches {r['signals']['total_matches']}")
    for line in open(out):
        m = re.match(r"\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(\d+)?\s*(\w+)$", line)
        if m:
            calls, name = int(m.group(1)), m.group(3)
            if calls / n >= 0.5: print(f"  {name:16s} {calls / n:8.1f} per scan")
