"""Live watches through the client against a real service fed by `scan feed replay` with the shared
minute bars (see conftest.py): the WATCH_* verbs, ``follow_watch`` gap-free in ``seq`` order, and
the asyncio client."""
from __future__ import annotations

import asyncio
import csv
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Iterator, List

import pytest

from marketscan import (AsyncClient, BadRequest, Client, InvalidFormula, LiveEvent, NotFound, RequestTimeout, Session,
                        Watch, fold)

from conftest import Cluster, shared_data, start_cluster, wait_ready

FORMULA = "signal above = close > sma(close, 5) and rsi(close, 14) > 50\ncolumn rsi14 = rsi(close, 14)"
ETFS = "symbol,name,market,sector,market_cap\nDBB,,NYSEARCA,,\nFXY,,NYSEARCA,,\nINDA,,NYSEARCA,,\n"
BARS = shared_data() / "intraday_1m" / "bars.csv"


@pytest.fixture(scope="module")
def live() -> Iterator[Cluster]:
    """A service with the three NYSEARCA ETFs of the minute sample and no node (watches run in
    the service; a scan stays running until it is cancelled)."""
    directory = Path(tempfile.mkdtemp(prefix="marketscan-py-live-"))
    c = start_cluster(directory, nodes=0, symbols_csv=ETFS)
    try:
        with Client(c.api, timeout=10) as client:
            wait_ready(client, nodes=0)
        yield c
    finally:
        c.stop()
        shutil.rmtree(directory, ignore_errors=True)


def bar_count(first: str, last: str) -> int:
    with open(BARS, newline="") as f:
        return sum(1 for r in csv.DictReader(f) if first <= r["timestamp"][:10] <= last)


def replay(cluster: Cluster, first: str, last: str) -> subprocess.CompletedProcess:
    """Pushes the sample's bars of those days to the feed socket, as fast as it takes them."""
    return subprocess.run(
        [cluster.binary("scan"), "feed", "replay", str(BARS), "--from", first, "--to", last, "--speed", "0",
         "--quiet", "--endpoint", cluster.api],
        capture_output=True, text=True, timeout=120,
    )


def applied(client: Client, watch_id: str, bars: int, within: float = 60.0) -> Watch:
    """The watch once its set reflects ``bars`` feed bars."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        w = client.watch(watch_id)
        if w.bars_applied >= bars:
            return w
        time.sleep(0.05)
    raise AssertionError(f"the watch did not apply {bars} bars within {within} s")


def keys(entries) -> List[tuple]:
    return [(e.symbol, e.signal) for e in entries]


def test_watch_verbs_and_follow_watch_from_the_log_and_live(live):
    with Client(live.api, timeout=30) as client:
        watch = client.watch_start(FORMULA, name="above", markets=["NYSEARCA"], timeframe="1m")
        assert isinstance(watch, Watch) and watch.status == "running" and watch.symbols == 3
        assert watch.request["confirm"] == "bar" and watch.request["timeframe"] == "1m"
        listed = client.watches()
        assert [w.watch_id for w in listed].count(watch.watch_id) == 1
        assert all(w.matches is None for w in listed)

        # Another client follows the watch from seq 0 while the feed plays two days.
        seen: List[LiveEvent] = []
        failure: List[BaseException] = []

        def consume() -> None:
            try:
                with Client(live.api, timeout=30) as follower:
                    for ev in follower.follow_watch(watch.watch_id, after=0, poll_interval=0.3, timeout=120):
                        seen.append(ev)
            except BaseException as e:  # reported by the test thread
                failure.append(e)

        thread = threading.Thread(target=consume)
        thread.start()
        played = replay(live, "2025-06-12", "2025-06-13")
        assert played.returncode == 0, played.stderr
        before = applied(client, watch.watch_id, bar_count("2025-06-12", "2025-06-13"))
        assert before.seq > 0 and before.match_count == len(before.matches or [])
        # The log from any seq: GET_WATCH events_after.
        logged = client.watch_events(watch.watch_id, after=0)
        assert [e.seq for e in logged] == list(range(1, before.seq + 1))
        assert keys(fold(None, logged)) == keys(before.matches)
        assert client.watch_events(watch.watch_id, after=before.seq - 1, limit=1)[0].seq == before.seq

        stopped = client.watch_stop(watch.watch_id)
        assert stopped.status == "stopped" and keys(stopped.matches) == keys(before.matches)
        thread.join(60)
        assert not thread.is_alive() and not failure, failure
        # Every event once, in seq order without a gap, ending with `stopped`; the fold is the set.
        assert [e.seq for e in seen] == list(range(1, len(seen) + 1))
        assert seen[-1].event == "stopped" and seen[-1].entry is None and len(seen) == before.seq + 1
        assert {e.event for e in seen[:-1]} <= {"enter", "exit"}
        assert keys(fold(None, seen[:-1])) == keys(before.matches)
        assert all(e.entry is not None and e.entry.timestamp.startswith("2025-06-1") for e in seen[:-1])
        frame = before.to_pandas()
        assert list(frame.columns) == ["symbol", "signal", "timestamp", "close", "forming", "rsi14"]
        assert len(frame) == before.match_count and frame["rsi14"].gt(50).all()

        with pytest.raises(NotFound):
            client.watch(watch.watch_id)
        with pytest.raises(NotFound):
            list(client.follow_watch(watch.watch_id))


def test_watch_errors_carry_the_protocol_code(live):
    with Client(live.api, timeout=30) as client:
        with pytest.raises(InvalidFormula) as e:
            client.watch_start("smaa(close, 5) > 1", markets=["NYSEARCA"], timeframe="1m")
        assert "did you mean 'sma'" in e.value.message
        with pytest.raises(BadRequest) as e:
            client.watch_start("close > open", markets=["NYSEARCA"], timeframe="5m")
        assert "timeframe" in e.value.message
        with pytest.raises(BadRequest) as e:
            client.watch_events("x", after=0, limit=0)
        assert "limit" in e.value.message
        with pytest.raises(ValueError):
            client.watch_start("close > open", confirm="sometimes")
        with pytest.raises(NotFound):
            client.watch_stop("no-such-watch")


def test_async_client(live):
    async def main() -> None:
        async with AsyncClient(live.api, timeout=30) as client:
            # Concurrent requests on one socket, each answered by its own reply.
            ping, listing, watches = await asyncio.gather(
                client.ping(), client.symbols(markets=["NYSEARCA"]), client.watches())
            assert "version" in ping and listing.total == 3 and isinstance(watches, list)
            with pytest.raises(NotFound):
                await client.session("no-such-session")

            watch = await client.watch_start(FORMULA, markets=["NYSEARCA"], timeframe="1m")
            seen: List[LiveEvent] = []

            async def consume() -> None:
                async for ev in client.follow_watch(watch.watch_id, after=0, poll_interval=0.3, timeout=120):
                    seen.append(ev)

            follower = asyncio.create_task(consume())
            bars = bar_count("2025-06-16", "2025-06-16")
            before = (await client.ping())["feed"]["bars_final"]
            played = await asyncio.to_thread(replay, live, "2025-06-16", "2025-06-16")
            assert played.returncode == 0, played.stderr
            deadline = time.monotonic() + 60
            while (current := await client.watch(watch.watch_id)).bars_applied < before + bars:
                assert time.monotonic() < deadline, "the watch did not apply the day's bars"
                await asyncio.sleep(0.05)
            stopped = await client.watch_stop(watch.watch_id)
            await asyncio.wait_for(follower, 60)
            assert [e.seq for e in seen] == list(range(1, len(seen) + 1)) and seen[-1].event == "stopped"
            assert keys(fold(None, seen[:-1])) == keys(stopped.matches) == keys(current.matches)

            # A session followed to its end: no node runs it, so it ends when cancelled.
            session = await client.run_scan("close > open", symbols=["005930"], wait=False)
            assert isinstance(session, Session)
            states = []
            async for ev in client.follow(session.session_id, poll_interval=0.3, timeout=60):
                states.append(ev)
                if len(states) == 1:
                    cancelled = await client.cancel(session.session_id)
                    assert cancelled.is_final
            assert states[-1].status == "cancelled" and states[-1].is_final
            assert (await client.result(session.session_id)).status == "cancelled"

        async with AsyncClient("tcp://127.0.0.1:9", timeout=0.3) as nobody:
            with pytest.raises(RequestTimeout):
                await nobody.ping()

    asyncio.run(main())
