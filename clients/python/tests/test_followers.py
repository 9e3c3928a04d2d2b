"""The followers' gap rules on made-up events (no service): what ``follow_watch`` and ``follow`` do
when events are missed, repeated, or come before the log that precedes them."""
from __future__ import annotations

from marketscan import Session, Watch
from marketscan._core import SessionFollower, WatchFollower


def watch(seq: int) -> Watch:
    return Watch.from_json({"watch_id": "w", "status": "running", "seq": seq, "matches": []})


def ev(seq: int, event: str = "enter", symbol: str = "A") -> dict:
    body = {"watch_id": "w", "event": event, "seq": seq, "confirm": "bar", "time": "t"}
    if event != "stopped":
        body.update(symbol=symbol, signal="s", timestamp="2025-06-17", close=1.0, values={}, forming=False)
    return body


def test_a_watch_gap_is_filled_from_the_log_in_order():
    f = WatchFollower(watch(2), after=None)
    assert not f.needs_log and f.last == 2
    assert [e.seq for e in f.event(ev(3))] == [3]
    assert f.event(ev(3)) == [] and f.event(ev(1)) == []  # repeated and old events
    assert f.event(ev(6)) == [] and f.needs_log  # 4 and 5 were missed
    out = f.log({"events": [ev(4), ev(5, "exit")]}, limit=1000)
    assert [e.seq for e in out] == [4, 5, 6] and not f.needs_log
    assert [e.seq for e in f.event(ev(7, "stopped"))] == [7] and f.done


def test_a_watch_followed_from_zero_reads_the_log_page_by_page():
    f = WatchFollower(watch(3), after=0)
    assert f.needs_log
    assert [e.seq for e in f.log({"events": [ev(1), ev(2)]}, limit=2)] == [1, 2] and f.needs_log
    assert [e.seq for e in f.log({"events": [ev(3)]}, limit=2)] == [3] and not f.needs_log
    f.quiet()
    assert f.needs_log and f.log({"events": []}, limit=2) == [] and not f.done


def test_a_stopped_event_after_a_gap_comes_after_the_logged_events():
    f = WatchFollower(watch(1), after=None)
    assert f.event(ev(4, "stopped")) == [] and f.needs_log
    out = f.log({"events": [ev(2), ev(3, "exit")]}, limit=1000)
    assert [(e.seq, e.event) for e in out] == [(2, "enter"), (3, "exit"), (4, "stopped")] and f.done


def session(status: str, completed: int) -> Session:
    return Session.from_json({"session_id": "s", "status": status, "progress": {"completed": completed, "total": 4}})


def progress(seq: int, completed: int, status: str = "running") -> dict:
    event = "progress" if status == "running" else status
    return {"session_id": "s", "event": event, "status": status, "completed": completed, "total": 4,
            "matches_so_far": 0, "seq": seq, "time": "t"}


def test_a_session_gap_asks_for_a_reading_that_yields_only_news():
    f = SessionFollower("s")
    assert [e.completed for e in f.start(session("running", 0))] == [0]
    assert [e.seq for e in f.event(progress(2, 1))] == [2]
    assert f.event(progress(4, 3)) == [] and f.needs_reading
    assert [e.completed for e in f.reading(session("running", 3))] == [3] and not f.needs_reading
    f.quiet()
    assert f.reading(session("running", 3)) == []  # nothing new
    assert [e.status for e in f.event(progress(5, 4, "completed"))] == ["completed"] and f.done
