#!/usr/bin/env python3
"""The lean peer (issue 15): the scan a careful Python user writes with pandas + TA-Lib.

One pass over the symbols of a bars CSV sorted once; TA-Lib over each symbol's whole history; numpy
comparisons (a comparison with NaN is false, as in MarketScan); the date range applied once, to the
whole frame, before the loop. Range mode. Two formulas:

  f1      crossover(sma(close,5), sma(close,20)) and volume > 1.5 * sma(volume,20)
  twelve  sma(close, 20) > ema(close, 50) and rsi(close, 14) < 70 and macd_hist(12, 26, 9) > 0 and
          close > bb_lower(20, 2) and atr(14) > 0.5 and adx(14) > 20 and cci(20) > -100 and
          willr(14) > -80 and mfi(14) < 80 and stoch_k(14, 3, 3) > 20 and obv() > obv()[5] and
          wma(close, 10) > close[1]                       (Benchmarks/Sources/FormulaBench's formula)

Prints one JSON object: formula, matches, symbols, bars, load_s (CSV read, excluded from the
comparison), scan_s (the compute: sort, range mask, indicators, comparisons), scan_cpu_s (its CPU
time: on a shared machine, the figure load disturbs least), total_s, max_rss_mb (the process's
peak resident set, CSV load included).

    python3 Benchmarks/peers/pandas_talib_lean.py BARS.csv --from 2024-01-01 --to 2024-12-31 --formula twelve
"""
import argparse
import json
import resource
import time

import numpy as np
import pandas as pd
import talib

TWELVE = (
    "sma(close, 20) > ema(close, 50) and rsi(close, 14) < 70 and macd_hist(12, 26, 9) > 0 and "
    "close > bb_lower(20, 2) and atr(14) > 0.5 and adx(14) > 20 and cci(20) > -100 and "
    "willr(14) > -80 and mfi(14) < 80 and stoch_k(14, 3, 3) > 20 and obv() > obv()[5] and "
    "wma(close, 10) > close[1]"
)
F1 = "crossover(sma(close,5), sma(close,20)) and volume > 1.5 * sma(volume,20)"


def shifted(x: np.ndarray, n: int) -> np.ndarray:
    """x[i - n] (NaN before the first bar), as MarketScan's x[n]."""
    out = np.full_like(x, np.nan)
    out[n:] = x[:-n]
    return out


def f1(o, h, l, c, v) -> np.ndarray:  # noqa: ARG001
    fast, slow, vol = talib.SMA(c, 5), talib.SMA(c, 20), talib.SMA(v, 20)
    return (fast > slow) & (shifted(fast, 1) <= shifted(slow, 1)) & (v > 1.5 * vol)


def twelve(o, h, l, c, v) -> np.ndarray:  # noqa: ARG001
    _, _, hist = talib.MACD(c, 12, 26, 9)
    _, _, lower = talib.BBANDS(c, 20, 2.0, 2.0, 0)
    slowk, _ = talib.STOCH(h, l, c, 14, 3, 0, 3, 0)
    obv = talib.OBV(c, v)
    return (
        (talib.SMA(c, 20) > talib.EMA(c, 50))
        & (talib.RSI(c, 14) < 70)
        & (hist > 0)
        & (c > lower)
        & (talib.ATR(h, l, c, 14) > 0.5)
        & (talib.ADX(h, l, c, 14) > 20)
        & (talib.CCI(h, l, c, 20) > -100)
        & (talib.WILLR(h, l, c, 14) > -80)
        & (talib.MFI(h, l, c, v, 14) < 80)
        & (slowk > 20)
        & (obv > shifted(obv, 5))
        & (talib.WMA(c, 10) > shifted(c, 1))
    )


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("bars")
    p.add_argument("--from", dest="start", required=True)
    p.add_argument("--to", dest="end", required=True)
    p.add_argument("--formula", choices=["f1", "twelve"], default="twelve")
    p.add_argument("--matches-out", help="write the matches as CSV (symbol,timestamp) for cross-checks")
    a = p.parse_args()
    signal = {"f1": f1, "twelve": twelve}[a.formula]

    t0 = time.perf_counter()
    df = pd.read_csv(a.bars, dtype={"symbol": str})
    time_col = "date" if "date" in df.columns else "timestamp"
    t1 = time.perf_counter()
    c1 = time.process_time()

    if not df["symbol"].is_monotonic_increasing:  # `scan data export` writes symbol, then time order
        df = df.sort_values(["symbol", time_col], kind="stable", ignore_index=True)
    stamps = df[time_col]
    # Once, for the whole frame; "~" sorts after every character of an ISO timestamp, so an intraday
    # bar of the last day is inside the range.
    in_range = ((stamps >= a.start) & (stamps <= a.end + "~")).to_numpy()
    symbol = df["symbol"]
    starts = np.flatnonzero(symbol.ne(symbol.shift()).to_numpy())
    ends = np.r_[starts[1:], len(df)]
    cols = [df[k].to_numpy(dtype=np.float64) for k in ("open", "high", "low", "close", "volume")]
    hits = np.zeros(len(df), dtype=bool)
    for s, e in zip(starts, ends):
        hits[s:e] = signal(*(x[s:e] for x in cols))
    hits &= in_range
    matched = np.flatnonzero(hits)
    t2 = time.perf_counter()
    c2 = time.process_time()

    if a.matches_out:
        with open(a.matches_out, "w") as f:
            f.write("symbol,timestamp\n")
            for i in matched:
                f.write(f"{symbol.iat[i]},{stamps.iat[i]}\n")
    print(json.dumps({
        "formula": a.formula,
        "matches": int(len(matched)),
        "symbols": int(len(starts)),
        "bars": int(len(df)),
        "load_s": round(t1 - t0, 4),
        "scan_s": round(t2 - t1, 4),
        "scan_cpu_s": round(c2 - c1, 4),
        "total_s": round(t2 - t0, 4),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }))


if __name__ == "__main__":
    main()
