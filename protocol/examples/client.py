#!/usr/bin/env python3
"""A MarketScan client written from protocol/README.md alone (pyzmq).

Runs one scan on a scan-service, shows its progress from the events socket, and prints the result.

  python3 client.py --formula 'crossover(sma(close,5), sma(close,20))' --symbols 005930,000660
  python3 client.py --formula 'close > open' --market KOSPI --from 2024-01-02 --to 2024-06-28 --json

Exit status: 0 completed, 1 the service answered an error / the session failed / no reply in time,
130 cancelled with Ctrl-C (the partial result is printed).
"""
import argparse
import json
import sys
import time
import uuid

import zmq

VERSION = b"MSCAN/1"


class ServiceError(Exception):
    def __init__(self, code, message):
        super().__init__(f"{code}: {message}")
        self.code = code


class Client:
    """A DEALER to the api socket; every request has a request_id and a timeout."""

    def __init__(self, ctx, endpoint, timeout):
        self.endpoint = endpoint
        self.timeout = timeout
        self.sock = ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(endpoint)

    def call(self, verb, body, timeout=None):
        rid = str(uuid.uuid4())
        body = dict(body, request_id=rid)
        self.sock.send_multipart([b"", VERSION, verb.encode(), json.dumps(body).encode()])
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not self.sock.poll(int(left * 1000)):
                raise TimeoutError(f"no reply to {verb} from {self.endpoint} within {timeout or self.timeout} s")
            frames = self.sock.recv_multipart()
            if len(frames) != 4 or frames[0] != b"" or frames[1] != VERSION:
                continue  # not a reply of this protocol
            reply = json.loads(frames[3])
            if reply.get("request_id") != rid:
                continue  # a late reply to an earlier request
            if frames[2] == b"ERROR":
                raise ServiceError(reply["code"], reply["message"])
            return reply


def events_endpoint(api):
    host, _, port = api.rpartition(":")
    return f"{host}:{int(port) + 1}"


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


def build_request(a):
    criteria = {}
    if a.symbols:
        criteria["symbols"] = [s.strip() for s in a.symbols.split(",") if s.strip()]
    if a.market:
        criteria["markets"] = a.market
    if a.sector:
        criteria["sectors"] = a.sector
    if a.exclude:
        criteria["exclude"] = [s.strip() for s in a.exclude.split(",") if s.strip()]
    body = {"formula": {"name": a.name, "source": a.formula}, "criteria": criteria,
            "timeframe": a.timeframe, "mode": a.mode}
    if a.from_ and a.to:
        body["date_range"] = {"from": a.from_, "to": a.to}
    params = {}
    for p in a.param:
        k, _, v = p.partition("=")
        params[k.strip()] = {"true": True, "false": False}.get(v.strip().lower(), None)
        if params[k.strip()] is None:
            params[k.strip()] = float(v)
    if params:
        body["parameters"] = params
    return body


def follow(client, sub, session, max_seconds):
    """Follows the session's events until it is final; re-reads it on a seq gap or a quiet second."""
    sid = session["session_id"]
    last_seq = 0
    status = session["status"]
    deadline = time.monotonic() + max_seconds
    cancelled = False
    while status not in ("completed", "failed", "cancelled"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"session {sid} did not end within {max_seconds} s")
        try:
            ready = sub.poll(1000)
        except KeyboardInterrupt:
            ready = 0
            if cancelled:
                raise
            cancelled = True
            print("\ncancelling…", file=sys.stderr)
            status = client.call("CANCEL", {"session_id": sid})["session"]["status"]
            continue
        if not ready:
            s = client.call("GET_SESSION", {"session_id": sid})["session"]
            status, progress = s["status"], s["progress"]
        else:
            topic, body = sub.recv_multipart()
            event = json.loads(body)
            if event["session_id"] != sid:
                continue
            if event["seq"] != last_seq + 1:
                s = client.call("GET_SESSION", {"session_id": sid})["session"]
                status, progress = s["status"], s["progress"]
            else:
                status = event["status"]
                progress = {k: event[k] for k in ("completed", "total", "matches_so_far")}
            last_seq = event["seq"]
        if sys.stderr.isatty():
            print(f"\r{progress['completed']}/{progress['total']} symbols · {progress['matches_so_far']} matches",
                  end="", file=sys.stderr, flush=True)
    if sys.stderr.isatty():
        print("\r\033[K", end="", file=sys.stderr)
    return client.call("GET_SESSION", {"session_id": sid})["session"]


def read_result(client, sid, page_size):
    """GET_RESULT page by page; returns one RESULT with every match."""
    offset = 0
    result = None
    while True:
        page = client.call("GET_RESULT", {"session_id": sid, "offset": offset, "limit": page_size})["result"]
        if result is None:
            result = page
        else:
            result["signals"]["matches"].extend(page["signals"]["matches"])
        offset += len(page["signals"]["matches"])
        if len(page["signals"]["matches"]) < page_size or offset >= page["signals"]["total_matches"]:
            return result


def print_table(result):
    matches = result["signals"]["matches"]
    columns = sorted({c for m in matches for c in m["values"]})
    header = ["SYMBOL", "DATE", "SIGNAL", "CLOSE"] + [c.upper() for c in columns]
    rows = [[m["symbol"], m["timestamp"], m["signal"], "" if m["close"] is None else f"{m['close']:g}"]
            + ["" if m["values"].get(c) is None else f"{m['values'][c]:.2f}" for c in columns] for m in matches]
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    for r in [header] + rows:
        print("  ".join(str(v).ljust(widths[i]) for i, v in enumerate(r)).rstrip())
    s = result["signals"]
    print(f"{s['total_matches']} matches in {s['symbols_with_matches']} of {s['total_symbols']} symbols"
          f" · {result['errors_count']} errors · {result['status']}")


def main():
    a = parse_args()
    ctx = zmq.Context()
    try:
        client = Client(ctx, a.endpoint, a.timeout)
        sub = ctx.socket(zmq.SUB)
        sub.setsockopt(zmq.LINGER, 0)
        sub.setsockopt(zmq.SUBSCRIBE, b"scan.")
        sub.connect(a.events or events_endpoint(a.endpoint))
        client.call("PING", {})  # the service is there; gives the SUB connection time to complete
        session = client.call("RUN_SCAN", build_request(a))["session"]
        session = follow(client, sub, session, a.max_seconds)
        if session["status"] == "failed":
            print(f"scan failed: {session.get('error', 'unknown error')}", file=sys.stderr)
            return 1
        result = read_result(client, session["session_id"], a.page_size)
        if a.json:
            print(json.dumps(result, sort_keys=True))
        else:
            print_table(result)
        return 130 if session["status"] == "cancelled" else 0
    except ServiceError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except TimeoutError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        ctx.destroy(linger=0)


if __name__ == "__main__":
    sys.exit(main())
