#!/usr/bin/env python3
"""Make the import-layout fixtures of MarketDataTests from the shared real data.

Every fixture holds the same bars as its `native*.csv` twin, written the way another tool writes them
(FinanceDataReader, Yahoo Finance, pykrx, the KRX data portal); BarImporterLayoutTests checks that each
imports to exactly the same stored bars. Standard library only.

Regenerate (from the repository root, with ../shared/data beside it):

    python3 scripts/make-import-fixtures.py
"""
import csv
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(os.path.dirname(ROOT), "shared", "data")
OUT = os.path.join(ROOT, "Tests", "MarketDataTests", "Fixtures", "Imports")
SYMBOLS = ["005930", "000660"]
FROM, TO = "2022-07-01", "2022-09-19"
ADJUST_BEFORE = "2022-08-01"  # Yahoo fixture: Adj Close is 0.95 × Close before this date


def read_daily():
    rows = {s: [] for s in SYMBOLS}
    with open(os.path.join(DATA, "daily", "bars.csv"), newline="") as f:
        for r in csv.DictReader(f):
            if r["symbol"] in rows and FROM <= r["date"] <= TO:
                rows[r["symbol"]].append(r)
    return rows


def read_intraday(symbol, days):
    out = []
    with open(os.path.join(DATA, "intraday_1m", "bars.csv"), newline="") as f:
        for r in csv.DictReader(f):
            if r["symbol"] == symbol and r["timestamp"][:10] in days:
                out.append(r)
    return out


def write(path, header, rows, encoding="utf-8"):
    path = os.path.join(OUT, path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="", encoding=encoding) as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def grouped(n):
    return f"{int(n):,}"


def main():
    daily = read_daily()
    ohlcv = ["open", "high", "low", "close", "volume"]
    native = [[s, r["date"]] + [r[k] for k in ohlcv] for s in SYMBOLS for r in daily[s]]
    write("native.csv", ["symbol", "date"] + ohlcv, native)
    # The same bars, dated YYYYMMDD.
    write("native-yyyymmdd.csv", ["symbol", "date"] + ohlcv, [[r[0], r[1].replace("-", "")] + r[2:] for r in native])

    adjusted = []
    for s in SYMBOLS:
        prev = None
        fdr, yahoo, pykrx, krx = [], [], [], []
        for r in daily[s]:
            o, h, l, c, v = (int(r[k]) for k in ohlcv)
            change = 0.0 if prev is None else c / prev - 1
            rate = 0.0 if prev is None else round((c / prev - 1) * 100, 2)
            fdr.append([r["date"], o, h, l, c, v, repr(change)])
            adj = round(c * 0.95, 6) if r["date"] < ADJUST_BEFORE else float(c)
            yahoo.append([r["date"], f"{o:.6f}", f"{h:.6f}", f"{l:.6f}", f"{c:.6f}", f"{adj:.6f}", v])
            f = adj / c  # the importer's arithmetic, in the same order
            adjusted.append([s, r["date"], repr(o * f), repr(h * f), repr(l * f), repr(adj), v])
            pykrx.append([r["date"], o, h, l, c, v, rate])
            diff = 0 if prev is None else c - prev
            shares = 5969782550 if s == "005930" else 728002365
            krx.append([r["date"].replace("-", "/"), grouped(c), grouped(diff), f"{rate:.2f}", grouped(o),
                        grouped(h), grouped(l), grouped(v), grouped(c * v), grouped(c * shares), grouped(shares)])
            prev = c
        write(f"fdr/{s}.csv", ["Date", "Open", "High", "Low", "Close", "Volume", "Change"], fdr)
        write(f"yahoo/{s}.KS.csv", ["Date", "Open", "High", "Low", "Close", "Adj Close", "Volume"], yahoo)
        write(f"pykrx/{s}.csv", ["날짜", "시가", "고가", "저가", "종가", "거래량", "등락률"], pykrx)
        # The KRX data portal: CP949, newest first, YYYY/MM/DD, numbers with thousands separators.
        write(f"krx/{s}.csv", ["일자", "종가", "대비", "등락률", "시가", "고가", "저가", "거래량", "거래대금",
                               "시가총액", "상장주식수"], list(reversed(krx)), encoding="cp949")
        if s == "005930":
            # A per-stock download as the portal names it (no symbol in the name or the rows):
            # imported with --symbol 005930.
            write("krx-download/data_0412_20221001.csv", ["일자", "종가", "대비", "등락률", "시가", "고가", "저가",
                  "거래량", "거래대금", "시가총액", "상장주식수"], list(reversed(krx)), encoding="cp949")
    write("native-adjusted.csv", ["symbol", "date"] + ohlcv, adjusted)

    # Intraday: two New York sessions of FXY, with offsets (native), and local times for --tz.
    days = {"2025-06-09", "2025-06-10"}
    bars = read_intraday("FXY", days)
    write("native-1m.csv", ["symbol", "timestamp"] + ohlcv, [["FXY", r["timestamp"]] + [r[k] for k in ohlcv] for r in bars])
    write("local-1m/FXY.csv", ["Datetime", "Open", "High", "Low", "Close", "Volume"],
          [[r["timestamp"][:19].replace("T", " ")] + [r[k] for k in ohlcv] for r in bars])
    write("yahoo-1m/FXY.csv", ["Datetime", "Open", "High", "Low", "Close", "Adj Close", "Volume"],
          [[r["timestamp"].replace("T", " ")] + [r[k] for k in ohlcv[:4]] + [r["close"], r["volume"]] for r in bars])

    # Symbols: the native listing, and the KRX data portal's (CP949, thousands separators).
    listing = []
    with open(os.path.join(DATA, "symbols.csv"), newline="") as f:
        for r in csv.DictReader(f):
            if r["symbol"] in SYMBOLS or r["symbol"] in ("035720", "091990"):
                listing.append(r)
    write("symbols-native.csv", ["symbol", "name", "market", "sector", "market_cap"],
          [[r["symbol"], r["name"], r["market"], r["sector"], r["market_cap"]] for r in listing])
    write("symbols-krx.csv", ["종목코드", "종목명", "시장구분", "업종명", "종가", "대비", "등락률", "시가총액"],
          [[r["symbol"], r["name"], r["market"], r["sector"], "1,000", "0", "0.00",
            grouped(r["market_cap"]) if r["market_cap"] else ""] for r in listing], encoding="cp949")


if __name__ == "__main__":
    sys.exit(main())
