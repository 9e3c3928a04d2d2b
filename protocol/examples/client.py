#!/usr/bin/env python3
"""A MarketScan client on the Python package `marketscan` (clients/python; `pip install ./clients/python`).

Runs one scan on a scan-service, shows its progress from the events socket, and prints the result.

  python3 client.py --formula 'crossover(sma(close,5), sma(close,20))' --symbols 005930,000660
  python3 client.py --formula 'close > open' --market KOSPI --from 2024-01-02 --to 2024-06-28 --json

Exit status: 0 completed, 1 the service answered an error / the session failed / no reply in time,
130 cancelled with Ctrl-C (the partial result is printed).
"""
import argparse
import json
import sys
from pathlib import Path

try:
    import marketscan
except ImportError:  # run from a checkout without `pip install ./clients/python`
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "clients" / "python" / "src"))
    import marketscan


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--endpoint", default="tcp://127.0.0.1:5555")
    p.add_argument("--events", help="events endpoint (default: the api port + 1)")
    p.add_argument("--formula", required=True)
    p.add_argument("--name", default="scan")
    p.add_argument("--symbols", help="comma-separated")
    p.add_argument("--market", action="append")
    p.add_argument("--sector", action="append")
    p.add_argument("--exclude", help="comma-separated")
    p.add_argument("--timeframe", default="1d")
    p.add_argument("--from", dest="from_")
    p.add_argument("--to")
    p.add_argument("--param", action="append", default=[], help="name=value (number or true/false)")
    p.add_argument("--mode", default="range", choices=["range", "latest"])
    p.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for each reply")
    p.add_argument("--max-seconds", type=float, default=600.0, help="give up on the scan after this long")
    p.add_argument("--page-size", type=int, default=1000, help="matches per GET_RESULT")
    p.add_argument("--json", action="store_true", help="print the RESULT document instead of a table")
    return p.parse_args()


def parameter(text):
    name, _, value = text.partition("=")
    if value in ("true", "false"):
        return name, value == "true"
    return name, float(value)


def whole_result(client, session_id, page_size):
    """The result, its matches read a page at a time (GET_RESULT offset/limit)."""
    first = client.result(session_id, offset=0, limit=page_size)
    raw = json.loads(json.dumps(first.raw))
    matches = raw["signals"]["matches"]
    while len(matches) < first.total_matches:
        page = client.result(session_id, offset=len(matches), limit=page_size)
        if not page.matches:
            break
        matches.extend(page.raw["signals"]["matches"])
    return marketscan.Result.from_json(raw)


def main():
    a = parse_args()
    split = lambda s: [x for x in (s or "").split(",") if x]  # noqa: E731
    client = marketscan.Client(a.endpoint, events_endpoint=a.events, timeout=a.timeout)
    session_id = None
    code = 0
    try:
        session = client.run_scan(
            a.formula, name=a.name, symbols=split(a.symbols) or None, markets=a.market, sectors=a.sector,
            exclude=split(a.exclude) or None, timeframe=a.timeframe, date_from=a.from_, date_to=a.to,
            parameters=dict(parameter(p) for p in a.param), mode=a.mode, wait=False,
        )
        session_id = session.session_id
        try:
            for ev in client.follow(session_id, timeout=a.max_seconds):
                print(f"\r{ev.completed}/{ev.total} symbols · {ev.matches_so_far} matches", end="", file=sys.stderr)
            print("\r\033[K", end="", file=sys.stderr)
        except KeyboardInterrupt:
            print("\ncancelling…", file=sys.stderr)
            client.cancel(session_id)
            code = 130
        final = client.session(session_id)
        if final.status == "failed":
            print(f"scan failed: {final.error or 'unknown error'}", file=sys.stderr)
            return 1
        result = whole_result(client, session_id, a.page_size)
        if a.json:
            print(json.dumps(result.raw, sort_keys=True))
        else:
            names = client.symbols(symbols=sorted({m.symbol for m in result.matches})).names
            frame = result.to_pandas(names=names)
            print(frame.to_string(index=False) if len(frame) else "no matches")
            print(f"{result.total_matches} matches in {result.symbols_with_matches} of {result.total_symbols} symbols"
                  f" ({result.status}, {result.processing_time_ms:.0f} ms)")
        return code
    except marketscan.MarketScanError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        client.close()


if __name__ == "__main__":
    sys.exit(main())
