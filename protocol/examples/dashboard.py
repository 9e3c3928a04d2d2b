#!/usr/bin/env python3
"""A MarketScan dashboard: subscribes to the events socket (pyzmq; scan sessions, `scan.`, and live
watches, `live.`) and prints one line per event, noticing gaps in each session's and each watch's seq;
requests go through the Python package `marketscan` (clients/python).

  python3 dashboard.py                          # every session, until Ctrl-C
  python3 dashboard.py --count 20 --timeout 30  # stop after 20 events or 30 s, whichever first
  python3 dashboard.py --session ID --json      # one session's raw event bodies, one JSON per line
  python3 dashboard.py --watch ID               # one live watch's enter/exit events

With --endpoint it first lists the running sessions (LIST_SESSIONS) and re-reads a session
(GET_SESSION) whenever its events show a gap; a watch's missed events are fetched from its log
(GET_WATCH with events_after).
"""
import argparse
import json
import sys
import time
from pathlib import Path

import zmq

try:
    import marketscan
except ImportError:  # run from a checkout without `pip install ./clients/python`
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "clients" / "python" / "src"))
    import marketscan


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--events", default="tcp://127.0.0.1:5556", help="the service's events endpoint")
    p.add_argument("--endpoint", help="the service's api endpoint (optional: state on start and on gaps)")
    p.add_argument("--session", help="only this session's events")
    p.add_argument("--watch", help="only this live watch's events")
    p.add_argument("--count", type=int, help="stop after this many events")
    p.add_argument("--timeout", type=float, help="stop after this many seconds")
    p.add_argument("--json", action="store_true", help="print each event body as one JSON line")
    return p.parse_args()


def request(api, verb, body):
    """The OK reply's body, or None when the service answered an error or not in time."""
    try:
        return api.request(verb, body)
    except marketscan.MarketScanError as e:
        print(f"# {verb}: {e}", file=sys.stderr, flush=True)
        return None


def live_event(api, topic, event, last_seq, as_json):
    """A live-watch event: enter (+) or exit (-) of a symbol, or the watch's end."""
    wid = event["watch_id"]
    expected = last_seq.get(wid, event["seq"] - 1) + 1
    if event["seq"] > expected and api is not None:
        print(f"# gap in watch {wid}: expected seq {expected}, got {event['seq']}", file=sys.stderr, flush=True)
        missed = request(api, "GET_WATCH", {"watch_id": wid, "events_after": expected - 1})
        for m in (missed or {}).get("events", []):
            if m["seq"] < event["seq"]:
                print_live(f"live.{wid}.{m['event']}", m, as_json)
    last_seq[wid] = event["seq"]
    print_live(topic, event, as_json)


def print_live(topic, event, as_json):
    if as_json:
        print(json.dumps({"topic": topic, "body": event}, sort_keys=True), flush=True)
    elif event["event"] == "stopped":
        print(f"{event['time']} {topic} seq={event['seq']}", flush=True)
    else:
        mark = "+" if event["event"] == "enter" else "-"
        values = " ".join(f"{k}={v}" for k, v in sorted(event["values"].items()))
        print(f"{event['time']} {topic} seq={event['seq']} {mark} {event['symbol']} {event['signal']} "
              f"{event['timestamp']} close={event['close']} {values}".rstrip(), flush=True)


def main():
    a = parse_args()
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    if a.session or a.watch:
        prefixes = ([f"scan.{a.session}."] if a.session else []) + ([f"live.{a.watch}."] if a.watch else [])
    else:
        prefixes = ["scan.", "live."]
    for prefix in prefixes:
        sub.setsockopt(zmq.SUBSCRIBE, prefix.encode())
    sub.connect(a.events)
    api = None
    if a.endpoint:
        api = marketscan.Client(a.endpoint, timeout=5.0, context=ctx)
        listed = request(api, "LIST_SESSIONS", {"status": "running"})
        for s in (listed or {}).get("sessions", []):
            p = s["progress"]
            print(f"running {s['session_id']} {p['completed']}/{p['total']} matches={p['matches_so_far']}", flush=True)

    last_seq = {}
    seen = 0
    deadline = time.monotonic() + a.timeout if a.timeout else None
    try:
        while a.count is None or seen < a.count:
            wait_ms = 1000 if deadline is None else int(max(0, deadline - time.monotonic()) * 1000)
            if deadline is not None and wait_ms == 0:
                break
            if not sub.poll(wait_ms):
                continue
            topic, body = sub.recv_multipart()
            event = json.loads(body)
            seen += 1
            if topic.startswith(b"live."):
                live_event(api, topic.decode(), event, last_seq, a.json)
                continue
            sid = event["session_id"]
            expected = last_seq.get(sid, event["seq"] - 1) + 1
            if event["seq"] != expected:
                print(f"# gap in {sid}: expected seq {expected}, got {event['seq']}", file=sys.stderr, flush=True)
                if api is not None:
                    s = request(api, "GET_SESSION", {"session_id": sid})
                    if s:
                        print(f"# {sid} is {s['session']['status']} {s['session']['progress']}", file=sys.stderr, flush=True)
            last_seq[sid] = event["seq"]
            if a.json:
                print(json.dumps({"topic": topic.decode(), "body": event}, sort_keys=True), flush=True)
            else:
                line = (f"{event['time']} {topic.decode()} seq={event['seq']} {event['status']} "
                        f"{event['completed']}/{event['total']} matches={event['matches_so_far']}")
                if "error" in event:
                    line += f" error={event['error']}"
                print(line, flush=True)
            if event["event"] in ("completed", "failed", "cancelled"):
                last_seq.pop(sid, None)
    except KeyboardInterrupt:
        pass
    finally:
        if api is not None:
            api.close()
        ctx.destroy(linger=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
