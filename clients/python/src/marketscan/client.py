"""The blocking client: one DEALER socket to the service's api endpoint, a SUB socket for events when
following a session or a watch (protocol §1–§6, §11). :class:`~marketscan.AsyncClient` is the same
on asyncio."""
from __future__ import annotations

import time
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Union

import zmq

from . import _core
from ._core import CurveKeys, events_endpoint_for
from .errors import NotFound, RequestTimeout
from .models import Event, LiveEvent, Result, Session, SymbolList, Watch

__all__ = ["Client", "CurveKeys", "events_endpoint_for"]


class Client:
    """A MarketScan client. ``Client("tcp://127.0.0.1:5555").run_scan("close > open", markets=["KOSPI"])``.

    Requests carry a fresh string ``request_id`` and replies are matched by it, so a reply that
    arrives after its request timed out is dropped, never mistaken for another's. Not thread-safe:
    use one client per thread. Use as a context manager, or call :meth:`close`.
    """

    def __init__(
        self,
        endpoint: str,
        *,
        events_endpoint: Optional[str] = None,
        timeout: float = 30.0,
        curve: Optional[CurveKeys] = None,
        context: Optional[zmq.Context] = None,
    ) -> None:
        self.endpoint = endpoint
        self.events_endpoint = events_endpoint or events_endpoint_for(endpoint)
        self.timeout = timeout
        self.curve = curve
        self._context = context or zmq.Context.instance()
        self._socket = self._make_socket(zmq.DEALER)
        self._socket.connect(endpoint)

    def _make_socket(self, kind: int) -> zmq.Socket:
        s = self._context.socket(kind)
        _core.configure(s, self.curve)
        return s

    def close(self) -> None:
        """Closes the socket. Idempotent."""
        if not self._socket.closed:
            self._socket.close(linger=0)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # MARK: requests

    def request(self, verb: str, body: Optional[Mapping[str, Any]] = None, timeout: Optional[float] = None) -> Dict[str, Any]:
        """Sends ``verb`` with ``body`` and returns the OK reply's body; raises the
        :class:`~marketscan.errors.ServiceError` of an ERROR reply, :class:`RequestTimeout` without one."""
        rid, frames = _core.request_frames(verb, body)
        self._socket.send_multipart(frames)
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not self._socket.poll(int(left * 1000) + 1):
                raise RequestTimeout(f"no reply to {verb} from {self.endpoint} within {limit:g} s")
            reply = _core.reply_body(self._socket.recv_multipart(), rid)
            if reply is not None:
                return reply

    def run_scan(
        self,
        formula: str,
        *,
        name: Optional[str] = None,
        symbols: Optional[Sequence[str]] = None,
        markets: Optional[Sequence[str]] = None,
        sectors: Optional[Sequence[str]] = None,
        min_market_cap: Optional[float] = None,
        max_market_cap: Optional[float] = None,
        exclude: Optional[Sequence[str]] = None,
        timeframe: str = "1d",
        date_from: Optional[str] = None,
        date_to: Optional[str] = None,
        parameters: Optional[Mapping[str, Union[float, bool]]] = None,
        mode: str = "range",
        wait: bool = True,
        timeout: Optional[float] = None,
    ) -> Union[Result, Session]:
        """Runs a scan (RUN_SCAN). With ``wait`` (the default) returns its :class:`Result` once it
        ended (raises :class:`~marketscan.errors.ServiceError` with code ``failed`` if it failed);
        without, returns the new :class:`Session` at once (follow it with :meth:`follow`).
        ``date_from``/``date_to`` are ``YYYY-MM-DD`` (both or neither)."""
        universe = _core.criteria(symbols, markets, sectors, min_market_cap, max_market_cap, exclude)
        body = _core.run_scan_body(_core.formula_body(formula, name, universe, timeframe, parameters), mode,
                                   date_from, date_to)
        if not wait:
            return Session.from_json(self.request("RUN_SCAN", body, timeout)["session"])
        body["wait"] = True
        wait_limit = timeout if timeout is not None else max(self.timeout, 3600.0)
        return _core.waited_result(self.request("RUN_SCAN", body, wait_limit))

    def session(self, session_id: str) -> Session:
        """One session (GET_SESSION)."""
        return Session.from_json(self.request("GET_SESSION", {"session_id": session_id})["session"])

    def result(self, session_id: str, offset: int = 0, limit: Optional[int] = None) -> Result:
        """A finished session's result (GET_RESULT); ``offset``/``limit`` page the matches."""
        return Result.from_json(self.request("GET_RESULT", _core.result_body(session_id, offset, limit))["result"])

    def sessions(self, status: Optional[str] = None, limit: int = 50) -> List[Session]:
        """Recent sessions, newest first (LIST_SESSIONS)."""
        reply = self.request("LIST_SESSIONS", _core.sessions_body(status, limit))
        return [Session.from_json(s) for s in reply["sessions"]]

    def cancel(self, session_id: str) -> Session:
        """Cancels a session (CANCEL) and returns it once ended; its partial result stays readable."""
        return Session.from_json(self.request("CANCEL", {"session_id": session_id})["session"])

    def ping(self) -> Dict[str, Any]:
        """The service's state (PING): version, uptime, live nodes, running sessions."""
        return self.request("PING")

    def symbols(
        self,
        *,
        symbols: Optional[Sequence[str]] = None,
        markets: Optional[Sequence[str]] = None,
        sectors: Optional[Sequence[str]] = None,
        search: Optional[str] = None,
        offset: int = 0,
        limit: Optional[int] = None,
    ) -> SymbolList:
        """The service's symbols (LIST_SYMBOLS) with their names and stored bars, and every market
        and sector it has."""
        body = _core.symbols_body(symbols, markets, sectors, search, offset, limit)
        return SymbolList.from_json(self.request("LIST_SYMBOLS", body))

    # MARK: live watches (§11)

    def watch_start(
        self,
        formula: str,
        *,
        name: Optional[str] = None,
        symbols: Optional[Sequence[str]] = None,
        markets: Optional[Sequence[str]] = None,
        sectors: Optional[Sequence[str]] = None,
        min_market_cap: Optional[float] = None,
        max_market_cap: Optional[float] = None,
        exclude: Optional[Sequence[str]] = None,
        timeframe: str = "1d",
        parameters: Optional[Mapping[str, Union[float, bool]]] = None,
        confirm: str = "bar",
    ) -> Watch:
        """Starts a live watch (WATCH_START): ``formula`` evaluated on each symbol's newest bar
        whenever the feed brings bars; returns the :class:`Watch` with its first set. ``timeframe``
        is ``1d`` or ``1m``; ``confirm`` ``bar`` (final bars only) or ``tick`` (forming bars too).
        Raises :class:`~marketscan.errors.Busy` beyond the service's watch limit."""
        universe = _core.criteria(symbols, markets, sectors, min_market_cap, max_market_cap, exclude)
        body = _core.watch_start_body(_core.formula_body(formula, name, universe, timeframe, parameters), confirm)
        return _core.watch_from(self.request("WATCH_START", body))

    def watch_stop(self, watch_id: str) -> Watch:
        """Stops a watch (WATCH_STOP); returns it with status ``stopped`` and its last set."""
        return _core.watch_from(self.request("WATCH_STOP", {"watch_id": watch_id}))

    def watches(self) -> List[Watch]:
        """The running watches, oldest first, without their sets (LIST_WATCHES)."""
        return [Watch.from_json(w) for w in self.request("LIST_WATCHES")["watches"]]

    def watch(self, watch_id: str) -> Watch:
        """One watch with its current set (GET_WATCH)."""
        return _core.watch_from(self.request("GET_WATCH", {"watch_id": watch_id}))

    def watch_events(self, watch_id: str, after: int = 0, limit: Optional[int] = None) -> List[LiveEvent]:
        """A watch's logged events with ``seq`` > ``after``, oldest first, at most ``limit``
        (1 … 1000, the service's default 1000) — GET_WATCH with ``events_after``."""
        reply = self.request("GET_WATCH", _core.get_watch_body(watch_id, after, limit))
        return [LiveEvent.from_json(e) for e in reply.get("events", [])]

    # MARK: events

    def follow(self, session_id: str, *, poll_interval: float = 1.0, timeout: Optional[float] = None) -> Iterator[Event]:
        """The session's progress until it ends: its events (protocol §6) as they are published.

        Gap-safe: the state is read with GET_SESSION after subscribing (events published before the
        subscription took effect are never seen), whenever an event's ``seq`` is not the last one + 1
        (missed events), and whenever no event came for ``poll_interval`` seconds; such a reading is
        yielded as an :class:`Event` with ``seq`` ``None`` when it says more than what was seen. The
        iterator ends after the final state (``completed``, ``failed`` or ``cancelled``), whichever
        way it was learnt. ``timeout`` bounds the whole follow (:class:`RequestTimeout`).
        """
        sub = self._subscribe(_core.session_topic(session_id))
        try:
            f = _core.SessionFollower(session_id)
            yield from f.start(self.session(session_id))
            deadline = _Deadline(timeout, f"session {session_id} did not end within {timeout} s")
            while not f.done:
                if f.needs_reading:
                    yield from f.reading(self.session(session_id))
                    continue
                body = self._next_event(sub, deadline.wait(poll_interval))
                if body is None:
                    f.quiet()
                else:
                    yield from f.event(body)
        finally:
            sub.close(linger=0)

    def follow_watch(
        self,
        watch_id: str,
        *,
        after: Optional[int] = None,
        poll_interval: float = 2.0,
        timeout: Optional[float] = None,
    ) -> Iterator[LiveEvent]:
        """A watch's events (protocol §11.3) in ``seq`` order without gaps, as they happen, until it
        is stopped (the last is ``stopped``, or the iterator just ends when the watch was stopped
        while no event could be seen).

        From the events after ``after`` (default: the watch's ``seq`` when following began, so only
        what comes next; ``after=0`` replays the whole log first, and folding the events with
        :func:`~marketscan.models.fold` then gives the current set). Gap-safe: subscribed before
        the watch is read; a ``seq`` gap, or no event for ``poll_interval`` seconds, fetches the
        missing events from the watch's log (GET_WATCH ``events_after``). ``timeout`` bounds the
        whole follow (:class:`RequestTimeout`); raises :class:`~marketscan.errors.NotFound` for an
        unknown watch."""
        sub = self._subscribe(_core.watch_topic(watch_id))
        try:
            f = _core.WatchFollower(self.watch(watch_id), after)
            deadline = _Deadline(timeout, f"watch {watch_id} was not stopped within {timeout} s")
            while not f.done:
                if f.needs_log:
                    try:
                        reply = self.request("GET_WATCH", _core.get_watch_body(watch_id, f.last, _LOG_PAGE))
                    except NotFound:
                        f.gone()
                        return
                    yield from f.log(reply, _LOG_PAGE)
                    continue
                body = self._next_event(sub, deadline.wait(poll_interval))
                if body is None:
                    f.quiet()
                else:
                    yield from f.event(body)
        finally:
            sub.close(linger=0)

    def _subscribe(self, topic: bytes) -> zmq.Socket:
        sub = self._make_socket(zmq.SUB)
        sub.setsockopt(zmq.SUBSCRIBE, topic)
        sub.connect(self.events_endpoint)
        return sub

    @staticmethod
    def _next_event(sub: zmq.Socket, wait: float) -> Optional[Dict[str, Any]]:
        """The next event's body within ``wait`` seconds, ``None`` after a quiet spell."""
        end = time.monotonic() + wait
        while True:
            left = end - time.monotonic()
            if left <= 0 or not sub.poll(int(left * 1000) + 1):
                return None
            body = _core.event_body(sub.recv_multipart())
            if body is not None:
                return body


_LOG_PAGE = 1000  # GET_WATCH's largest page (§9)


class _Deadline:
    """The bound of a whole follow: how long the next wait may be."""

    def __init__(self, timeout: Optional[float], message: str) -> None:
        self.end = None if timeout is None else time.monotonic() + timeout
        self.message = message

    def wait(self, interval: float) -> float:
        if self.end is None:
            return interval
        left = self.end - time.monotonic()
        if left <= 0:
            raise RequestTimeout(self.message)
        return min(interval, left)
