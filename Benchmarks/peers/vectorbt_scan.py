#!/usr/bin/env python3
"""The second peer: the F1 scan with vectorbt (1.2), one wide frame for the whole universe.

F1 = crossover(sma(close,5), sma(close,20)) and volume > 1.5 * sma(volume,20), range mode.

Loads the same bars CSV as the pandas + TA-Lib peer, pivots it to wide frames (time x symbol), runs
vectorbt's numba moving averages over every symbol at once and counts the bars inside [--from, --to]
where the signal fires. Prints one JSON object: matches, symbols, bars, load_s, scan_s, total_s
(scan_s includes the pivot, which a vectorbt user cannot skip).

The crossover is spelled out as DESIGN §3 defines it (fast > slow now, fast <= slow on the previous
bar): vectorbt's own `ma_crossed_above` differs on ties — it fires only after a bar strictly below
since the last NaN, so `>` then `==` then `>` is no cross for it — and the counts must be comparable.

    python3 Benchmarks/peers/vectorbt_scan.py BARS.csv --from 2024-01-01 --to 2024-12-31
"""
import argparse
import json
import time

import numpy as np
import pandas as pd
import vectorbt as vbt


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("bars")
    p.add_argument("--from", dest="start", required=True)
    p.add_argument("--to", dest="end", required=True)
    p.add_argument("--matches-out", help="write the matches as CSV (symbol,timestamp) for cross-checks")
    a = p.parse_args()

    # Compile numba kernels outside the timing (a long-lived vectorbt session has them cached).
    warm = pd.DataFrame(np.arange(40.0).reshape(20, 2))
    vbt.MA.run(warm, 5).ma

    t0 = time.perf_counter()
    df = pd.read_csv(a.bars, dtype={"symbol": str})
    time_col = "date" if "date" in df.columns else "timestamp"
    t1 = time.perf_counter()

    close = df.pivot(index=time_col, columns="symbol", values="close")
    volume = df.pivot(index=time_col, columns="symbol", values="volume")
    fast = vbt.MA.run(close, 5, short_name="fast").ma
    slow = vbt.MA.run(close, 20, short_name="slow").ma
    vol_avg = vbt.MA.run(volume, 20, short_name="vol").ma
    # vectorbt labels indicator output columns with the window; strip them to align with the prices.
    fast.columns = slow.columns = vol_avg.columns = close.columns
    f, s, v, va = fast.to_numpy(), slow.to_numpy(), volume.to_numpy(), vol_avg.to_numpy()
    pf = np.vstack([np.full((1, f.shape[1]), np.nan), f[:-1]])
    ps = np.vstack([np.full((1, s.shape[1]), np.nan), s[:-1]])
    with np.errstate(invalid="ignore"):
        signal = (f > s) & (pf <= ps) & (v > 1.5 * va)
    day = close.index.str.slice(0, 10).to_numpy()
    in_range = (day >= a.start) & (day <= a.end)
    hits = signal & in_range[:, None]
    matches = int(hits.sum())
    t2 = time.perf_counter()

    if a.matches_out:
        rows, cols = np.nonzero(hits)
        out = pd.DataFrame({"symbol": close.columns.to_numpy()[cols], "timestamp": close.index.to_numpy()[rows]})
        out.sort_values(["symbol", "timestamp"]).to_csv(a.matches_out, index=False)
    print(json.dumps({
        "matches": matches,
        "symbols": int(close.shape[1]),
        "bars": int(len(df)),
        "load_s": t1 - t0,
        "scan_s": t2 - t1,
        "total_s": t2 - t0,
    }))


if __name__ == "__main__":
    main()
