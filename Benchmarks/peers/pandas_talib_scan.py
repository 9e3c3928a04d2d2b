#!/usr/bin/env python3
"""The peer: the F1 scan as a Python user writes it with pandas + TA-Lib.

F1 = crossover(sma(close,5), sma(close,20)) and volume > 1.5 * sma(volume,20), range mode.

Loads a bars CSV (symbol,date|timestamp,open,high,low,close,volume), loops over the symbols, computes the
indicators with TA-Lib over each symbol's whole history, and counts the bars inside [--from, --to] where
the signal fires. Prints one JSON object: matches, symbols, bars, load_s, scan_s, total_s.

    python3 Benchmarks/peers/pandas_talib_scan.py BARS.csv --from 2024-01-01 --to 2024-12-31
"""
import argparse
import json
import time

import numpy as np
import pandas as pd
import talib


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("bars")
    p.add_argument("--from", dest="start", required=True)
    p.add_argument("--to", dest="end", required=True)
    p.add_argument("--matches-out", help="write the matches as CSV (symbol,timestamp) for cross-checks")
    a = p.parse_args()

    t0 = time.perf_counter()
    df = pd.read_csv(a.bars, dtype={"symbol": str})
    time_col = "date" if "date" in df.columns else "timestamp"
    t1 = time.perf_counter()

    matches = 0
    rows = []
    for symbol, g in df.groupby("symbol", sort=True):
        close = g["close"].to_numpy(dtype=np.float64)
        volume = g["volume"].to_numpy(dtype=np.float64)
        fast = talib.SMA(close, 5)
        slow = talib.SMA(close, 20)
        vol_avg = talib.SMA(volume, 20)
        prev_fast = np.roll(fast, 1)
        prev_slow = np.roll(slow, 1)
        prev_fast[0] = np.nan
        prev_slow[0] = np.nan
        with np.errstate(invalid="ignore"):
            signal = (fast > slow) & (prev_fast <= prev_slow) & (volume > 1.5 * vol_avg)
        day = g[time_col].str.slice(0, 10).to_numpy()
        in_range = (day >= a.start) & (day <= a.end)
        hits = signal & in_range
        matches += int(hits.sum())
        if a.matches_out:
            for ts in g[time_col].to_numpy()[hits]:
                rows.append((symbol, ts))
    t2 = time.perf_counter()

    if a.matches_out:
        pd.DataFrame(rows, columns=["symbol", "timestamp"]).to_csv(a.matches_out, index=False)
    print(json.dumps({
        "matches": matches,
        "symbols": int(df["symbol"].nunique()),
        "bars": int(len(df)),
        "load_s": t1 - t0,
        "scan_s": t2 - t1,
        "total_s": t2 - t0,
    }))


if __name__ == "__main__":
    main()
