#!/usr/bin/env python3
"""Generate the TA-Lib reference fixtures for FormulaEngine's indicator kernels.

Regenerate (from the repository root):

    python3 scripts/gen_talib_fixtures.py                    # bars from ../shared/data/daily/bars.csv
    python3 scripts/gen_talib_fixtures.py path/to/bars.csv   # or any other bars file

Needs `pip install TA-Lib pandas` (the TA-Lib C library underneath; the TA-Lib version used is
recorded in every fixture file). Output: one JSON file per case in
`Tests/FormulaEngineTests/Fixtures/` (the directory is emptied of `talib_*.json` first).

Each file holds the case's inputs (`open high low close volume`, NaN written as null) and, for
every function and parameter set, TA-Lib's output over the whole input (null where TA-Lib has
no value). The Swift tests (`IndicatorTests.swift`) recompute every series with the Swift
kernels and compare every value: NaN positions identical, relative error <= 1e-9.

Cases:
- real bars of several symbols: 005930 and 000660 (last 300 sessions), 101360 (a window
  that holds its run of zero-volume flat days and the trading after it), 364980 (a short
  history, its first 300 sessions after listing);
- the first 10 bars and the first bar of 005930 (periods longer than the series);
- synthetic constant prices (zero variance, zero range, zero volume in the second half);
- NaN splitting: 005930's close with a leading NaN run and a NaN gap. The expected value of
  every single-source function there is TA-Lib's result on each NaN-free run on its own
  (the kernels' contract), so `sma(rsi(close, 14), 5)` starts where the RSI is defined.

RMA (Wilder's moving average) is not a TA-Lib function. It is defined here as: seed with the
SMA of the first `period` values, then `rma = (rma * (period - 1) + x) / period`. The
reference is computed by a plain loop and checked against pandas' `ewm(alpha=1/period)` on
the same seed and against TA-Lib's own Wilder smoothing (ATR = RMA of TRANGE).
"""

import json
import math
import os
import sys

import numpy as np
import pandas as pd
import talib

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# `../shared/data` from the repository root; a git worktree under `<root>/wt/<name>` looks two up.
DEFAULT_BARS = [os.path.join(REPO, *up, "shared", "data", "daily", "bars.csv") for up in ([".."], ["..", ".."])]
OUT_DIR = os.path.join(REPO, "Tests", "FormulaEngineTests", "Fixtures")

MAIN_PERIODS = [2, 5, 14, 50]
SMALL_PERIODS = [1, 2, 3, 5, 14, 50]
HLC_PERIODS = [2, 14, 30]
SMALL_HLC_PERIODS = [1, 2, 3, 14, 30]
MACD_PARAMS = [(12, 26, 9), (5, 35, 5), (3, 10, 1)]
BBANDS_PARAMS = [(5, 2.0), (20, 2.0), (20, 1.5)]
STOCH_PARAMS = [(5, 3, 3), (14, 5, 3), (14, 1, 1)]
SINGLE_SOURCE = ["sma", "ema", "wma", "rma", "rsi", "stddev", "max", "min", "sum", "roc", "mom"]


# MARK: RMA reference

def rma_loop(x, period):
    """Wilder's RMA by a plain loop: SMA seed over the first `period` values, then alpha 1/period."""
    x = np.asarray(x, dtype=float)
    out = np.full(len(x), np.nan)
    if len(x) < period:
        return out
    total = 0.0
    for v in x[:period]:
        total += v
    prev = total / period
    out[period - 1] = prev
    for i in range(period, len(x)):
        prev *= period - 1
        prev += x[i]
        prev /= period
        out[i] = prev
    return out


def rma_pandas(x, period):
    """The same RMA through pandas: the seed replaces the first window, then ewm(alpha=1/period)."""
    x = np.asarray(x, dtype=float)
    out = np.full(len(x), np.nan)
    if len(x) < period:
        return out
    seeded = np.concatenate([[x[:period].mean()], x[period:]])
    out[period - 1:] = pd.Series(seeded).ewm(alpha=1.0 / period, adjust=False).mean().to_numpy()
    return out


def close_enough(a, b, rel=1e-11):
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if not np.array_equal(np.isnan(a), np.isnan(b)):
        return False
    m = ~np.isnan(a)
    return bool(np.all(np.abs(a[m] - b[m]) <= rel * np.maximum(1.0, np.abs(b[m]))))


def check_rma(close, high, low):
    for period in (1, 2, 5, 14, 50):
        assert close_enough(rma_loop(close, period), rma_pandas(close, period)), f"rma({period}) vs pandas"
        if period >= 2 and len(close) > period:
            # TA-Lib's ATR is Wilder's smoothing of the true range (TRANGE is undefined on bar 0).
            tr = talib.TRANGE(high, low, close)
            atr = talib.ATR(high, low, close, timeperiod=period)
            assert close_enough(rma_loop(tr[1:], period), atr[1:]), f"rma({period}) vs TA-Lib ATR"


# MARK: TA-Lib calls

def single(fn, x, p):
    """One single-source function over a NaN-free array; None when TA-Lib rejects the period."""
    try:
        if fn == "rma":
            if p < 1:
                return None
            return rma_loop(x, p)
        f = {
            "sma": talib.SMA, "ema": talib.EMA, "wma": talib.WMA, "rsi": talib.RSI,
            "max": talib.MAX, "min": talib.MIN, "sum": talib.SUM, "roc": talib.ROC, "mom": talib.MOM,
        }.get(fn)
        if f is not None:
            return f(x, timeperiod=p)
        if fn == "stddev":
            return talib.STDDEV(x, timeperiod=p, nbdev=1.0)
    except Exception:  # TA-Lib's "Bad Parameter" for a period out of its range
        return None
    raise ValueError(fn)


def split_runs(x, compute):
    """`compute` applied to each NaN-free run of x on its own; NaN elsewhere."""
    out = np.full(len(x), np.nan)
    i = 0
    n = len(x)
    while i < n:
        if math.isnan(x[i]):
            i += 1
            continue
        j = i
        while j < n and not math.isnan(x[j]):
            j += 1
        r = compute(np.ascontiguousarray(x[i:j]))
        if r is None:
            return None
        out[i:j] = r
        i = j
    return out


def series_entries(fn, source, params, outs):
    return [{"fn": fn, "source": source, "params": list(params), "out": name, "values": vals}
            for name, vals in outs]


def compute_case(bars, periods, hlc_periods, nan_split=False):
    o, h, l, c, v = (bars[k] for k in ("open", "high", "low", "close", "volume"))
    entries = []
    for fn in SINGLE_SOURCE:
        for p in periods:
            r = split_runs(c, lambda x: single(fn, x, p))
            if r is not None:
                entries += series_entries(fn, "close", [p], [("value", r)])
    for (fast, slow, sig) in MACD_PARAMS:
        def macd(x):
            try:
                return talib.MACD(x, fastperiod=fast, slowperiod=slow, signalperiod=sig)
            except Exception:
                return None
        parts = [split_runs(c, lambda x, k=k: (lambda r: None if r is None else r[k])(macd(x))) for k in range(3)]
        if all(p is not None for p in parts):
            entries += series_entries("macd", "close", [fast, slow, sig],
                                      list(zip(["macd", "signal", "hist"], parts)))
    for (p, k) in BBANDS_PARAMS:
        def bb(x, idx):
            try:
                return talib.BBANDS(x, timeperiod=p, nbdevup=k, nbdevdn=k, matype=0)[idx]
            except Exception:
                return None
        parts = [split_runs(c, lambda x, idx=idx: bb(x, idx)) for idx in range(3)]
        if all(q is not None for q in parts):
            entries += series_entries("bbands", "close", [p, k], list(zip(["upper", "middle", "lower"], parts)))
    # Nested: sma(rsi(close, 14), 5) starts where the RSI becomes defined (the SMA runs on its defined part).
    rsi = split_runs(c, lambda x: talib.RSI(x, timeperiod=14))
    entries += series_entries("sma_of_rsi", "close", [14, 5], [("value", split_runs(rsi, lambda r: talib.SMA(r, timeperiod=5)))])
    if nan_split:
        return entries  # multi-input kernels take raw price columns (no NaN)
    for p in hlc_periods:
        for fn, f in (("atr", talib.ATR), ("adx", talib.ADX), ("cci", talib.CCI), ("willr", talib.WILLR)):
            try:
                entries += series_entries(fn, "hlc", [p], [("value", f(h, l, c, timeperiod=p))])
            except Exception:
                pass
        try:
            entries += series_entries("mfi", "hlcv", [p], [("value", talib.MFI(h, l, c, v, timeperiod=p))])
        except Exception:
            pass
    entries += series_entries("obv", "cv", [], [("value", talib.OBV(c, v))])
    for (fk, sk, sd) in STOCH_PARAMS:
        try:
            k, d = talib.STOCH(h, l, c, fastk_period=fk, slowk_period=sk, slowk_matype=0,
                               slowd_period=sd, slowd_matype=0)
            entries += series_entries("stoch", "hlc", [fk, sk, sd], [("k", k), ("d", d)])
        except Exception:
            pass
    return entries


# MARK: Output

def num(x):
    x = float(x)
    if math.isnan(x):
        return None
    if x == int(x) and abs(x) < 2**53:
        return int(x)  # exact, and shorter than "23100.0"
    return x  # json writes repr: shortest text that reads back to the same double


def write_case(name, description, bars, entries):
    doc = {
        "name": name,
        "description": description,
        "talib": talib.__ta_version__.decode() if isinstance(talib.__ta_version__, bytes) else str(talib.__ta_version__),
        "inputs": {k: [num(x) for x in bars[k]] for k in ("open", "high", "low", "close", "volume")},
        "series": [dict(e, values=[num(x) for x in e["values"]]) for e in entries],
    }
    path = os.path.join(OUT_DIR, f"talib_{name}.json")
    with open(path, "w") as f:
        json.dump(doc, f, separators=(",", ":"), allow_nan=False)
        f.write("\n")
    return path, len(doc["series"])


def arrays(df):
    return {k: np.ascontiguousarray(df[k].to_numpy(dtype=float)) for k in ("open", "high", "low", "close", "volume")}


def main():
    if len(sys.argv) > 1:
        bars_path = sys.argv[1]
    else:
        bars_path = next((p for p in DEFAULT_BARS if os.path.exists(p)), DEFAULT_BARS[0])
    df = pd.read_csv(bars_path, dtype={"symbol": str})
    by = {s: g.reset_index(drop=True) for s, g in df.groupby("symbol")}

    cases = []
    cases.append(("005930", "005930 (Samsung Electronics), last 300 sessions", by["005930"].tail(300)))
    cases.append(("000660", "000660 (SK hynix), last 300 sessions", by["000660"].tail(300)))
    cases.append(("101360", "101360 sessions 1100..1399: zero-volume flat days, then trading",
                  by["101360"].iloc[1100:1400]))
    cases.append(("364980", "364980 (short history), first 300 sessions after listing", by["364980"].head(300)))

    os.makedirs(OUT_DIR, exist_ok=True)
    for f in os.listdir(OUT_DIR):
        if f.startswith("talib_") and f.endswith(".json"):
            os.remove(os.path.join(OUT_DIR, f))

    written = []
    for name, desc, g in cases:
        b = arrays(g)
        check_rma(b["close"], b["high"], b["low"])
        written.append(write_case(name, desc, b, compute_case(b, MAIN_PERIODS, HLC_PERIODS)))

    first = arrays(by["005930"].tail(300))
    for n in (10, 1):
        b = {k: v[:n].copy() for k, v in first.items()}
        written.append(write_case(f"005930_first{n}", f"first {n} bar(s) of the 005930 case", b,
                                  compute_case(b, SMALL_PERIODS, SMALL_HLC_PERIODS)))

    n = 60
    const = {k: np.full(n, 100.0) for k in ("open", "high", "low", "close")}
    const["volume"] = np.concatenate([np.full(n // 2, 1000.0), np.zeros(n - n // 2)])
    check_rma(const["close"], const["high"], const["low"])
    written.append(write_case("constant", "synthetic: every price 100; volume 1000, then 0 from bar 30",
                              const, compute_case(const, SMALL_PERIODS, SMALL_HLC_PERIODS)))

    b = {k: v[:160].copy() for k, v in first.items()}
    b["close"][:12] = np.nan
    b["close"][70:73] = np.nan
    b["close"][100] = np.nan
    written.append(write_case("nan_split",
                              "005930 close with NaN at 0..11, 70..72 and 100: each run on its own",
                              b, compute_case(b, SMALL_PERIODS, SMALL_HLC_PERIODS, nan_split=True)))

    total = 0
    for path, count in written:
        size = os.path.getsize(path)
        total += size
        print(f"{os.path.relpath(path, REPO)}: {count} series, {size / 1024:.0f} KiB")
    print(f"total {total / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
