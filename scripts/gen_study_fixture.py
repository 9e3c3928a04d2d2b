#!/usr/bin/env python3
"""Generate the pandas reference fixture for the event study (`scan run --study`).

Regenerate (from the repository root):

    python3 scripts/gen_study_fixture.py                    # bars from ../shared/data/daily/bars.csv
    python3 scripts/gen_study_fixture.py path/to/bars.csv   # or any other bars file

Needs `pip install pandas`. Output: `Tests/ScanCoreTests/Fixtures/event_study.json`, which
`EventStudyTests.swift` compares with what MarketScan computes on the same bars (every event's
forward returns and excursions, every aggregate; relative error <= 1e-9).

The scan is chosen so that pandas finds its signals with exact comparisons of integer prices,
independently of the formula engine:

    signal up   = close > high[1] and volume > volume[1]
    signal down = close < low[1]

over twelve symbols (088980 stops on 2022-06-10 and 364980 has a short history, so some events
run past the data) from 2021-07-01 to 2022-08-31 (the data ends 2022-09-19, so the 20-bar
horizon of the last events is incomplete), horizons 1, 5, 20, for both entries.

Definitions (the contract the Swift code implements, written independently here):
- entry price `e`: the signal bar's close (`close`) or the next bar's open (`next-open`);
- forward return at horizon h: close[i + h] / e - 1, missing (incomplete) past the data;
- maximum favourable / adverse excursion: max(high[i+1 .. i+H]) / e - 1 and
  min(low[i+1 .. i+H]) / e - 1 with H the longest horizon, missing when i + H is past the data;
- statistics over the complete values: mean, median, sample std (ddof=1), hit rate (share > 0),
  95 % interval mean +- 1.959963984540054 * std / sqrt(n);
- baseline: every bar of the twelve symbols inside the date range as an entry, same figures
  except the median.
"""

import json
import math
import os
import sys

import pandas as pd

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "ScanCoreTests", "Fixtures", "event_study.json")
SYMBOLS = ["000660", "005930", "006400", "035720", "051910", "101360",
           "088980", "105560", "263750", "357780", "364980", "000080"]
FROM, TO = "2021-07-01", "2022-08-31"
HORIZONS = [1, 5, 20]
Z95 = 1.959963984540054
FORMULA = "signal up = close > high[1] and volume > volume[1]\nsignal down = close < low[1]\n"


def num(x):
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def stats(values, with_median=True):
    s = pd.Series(values, dtype="float64")
    complete = s.dropna()
    n = int(complete.size)
    out = {"events": n, "incomplete": int(s.size - n)}
    if n > 0:
        out["mean"] = float(complete.mean())
        out["hit_rate"] = float((complete > 0).mean())
        if with_median:
            out["median"] = float(complete.median())
    if n > 1:
        std = float(complete.std(ddof=1))
        out["std"] = std
        out["ci95_low"] = out["mean"] - Z95 * std / math.sqrt(n)
        out["ci95_high"] = out["mean"] + Z95 * std / math.sqrt(n)
    return out


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "..", "shared", "data", "daily", "bars.csv")
    bars = pd.read_csv(path, dtype={"symbol": str})
    bars = bars[bars.symbol.isin(SYMBOLS)]
    longest = max(HORIZONS)
    fixture = {
        "generator": "scripts/gen_study_fixture.py",
        "pandas": pd.__version__,
        "symbols": SYMBOLS,
        "from": FROM,
        "to": TO,
        "formula": FORMULA,
        "horizons": HORIZONS,
        "entries": {},
    }
    for entry in ["close", "next-open"]:
        events = []
        baseline = {h: [] for h in HORIZONS}
        baseline_mfe, baseline_mae = [], []
        for symbol, df in bars.groupby("symbol"):
            df = df.sort_values("date").reset_index(drop=True)
            o, h, l, c, v = (df[k].astype("float64") for k in ["open", "high", "low", "close", "volume"])
            e = c if entry == "close" else o.shift(-1)
            e = e.where(e > 0)
            fwd = {k: c.shift(-k) / e - 1 for k in HORIZONS}
            highs = pd.concat([h.shift(-k) for k in range(1, longest + 1)], axis=1).max(axis=1, skipna=False)
            lows = pd.concat([l.shift(-k) for k in range(1, longest + 1)], axis=1).min(axis=1, skipna=False)
            mfe = highs / e - 1
            mae = lows / e - 1
            in_range = (df.date >= FROM) & (df.date <= TO)
            signals = {
                "up": (c > h.shift(1)) & (v > v.shift(1)),
                "down": c < l.shift(1),
            }
            for i in df.index[in_range]:
                for k in HORIZONS:
                    baseline[k].append(fwd[k][i])
                baseline_mfe.append(mfe[i])
                baseline_mae.append(mae[i])
                for name, fired in signals.items():
                    if fired[i]:
                        events.append({
                            "signal": name,
                            "symbol": symbol,
                            "date": df.date[i],
                            "returns": [num(fwd[k][i]) for k in HORIZONS],
                            "max_favorable": num(mfe[i]),
                            "max_adverse": num(mae[i]),
                        })
        events.sort(key=lambda x: (x["date"], x["symbol"], x["signal"]))
        per_signal = {}
        for name in ["up", "down"]:
            mine = [x for x in events if x["signal"] == name]
            nan = float("nan")
            per_signal[name] = {
                "horizons": [
                    dict(horizon=k, **stats([nan if x["returns"][j] is None else x["returns"][j] for x in mine]))
                    for j, k in enumerate(HORIZONS)
                ],
                "max_favorable": stats([nan if x["max_favorable"] is None else x["max_favorable"] for x in mine]),
                "max_adverse": stats([nan if x["max_adverse"] is None else x["max_adverse"] for x in mine]),
            }
        fixture["entries"][entry] = {
            "events": events,
            "signals": per_signal,
            "baseline": {
                "horizons": [dict(horizon=k, **stats(baseline[k], with_median=False)) for k in HORIZONS],
                "max_favorable": stats(baseline_mfe, with_median=False),
                "max_adverse": stats(baseline_mae, with_median=False),
            },
        }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(fixture, f, sort_keys=True, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {OUT}: {sum(len(x['events']) for x in fixture['entries'].values())} events")


if __name__ == "__main__":
    main()
