"""The asyncio client: :class:`AsyncClient` has the methods of :class:`~marketscan.Client` as
coroutines, and its followers as async iterators, on ``zmq.asyncio``. Requests may run concurrently
on one client: replies are matched to their requests by ``request_id``."""
from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator, Dict, List, Mapping, Optional, Sequence, Union

import zmq
import zmq.asyncio

from . import _core
from ._core import CurveKeys, events_endpoint_for
from .errors import NotFound, RequestTimeout, TransportError
from .models import Event, LiveEvent, Result, Session, SymbolList, Watch

__all__ = ["AsyncClient"]

_LOG_PAGE = 1000  # GET_WATCH's largest page (§9)


class AsyncClient:
    """A MarketScan client for asyncio::

        async with AsyncClient("tcp://127.0.0.1:5555") as client:
            result = await client.run_scan("close > open", markets=["KOSPI"])
            async for event in client.follow_watch(watch_id):
                ...

    Use it from one event loop. ``async with``, or ``await`` :meth:`close`."""

    def __init__(
        self,
        endpoint: str,
        *,
        events_endpoint: Optional[str] = None,
        timeout: float = 30.0,
        curve: Optional[CurveKeys] = None,
        context: Optional[zmq.asyncio.Context] = None,
    ) -> None:
        self.endpoint = endpoint
        self.events_endpoint = events_endpoint or events_endpoint_for(endpoint)
        self.timeout = timeout
        self.curve = curve
        self._context = context or zmq.asyncio.Context.instance()
        self._socket = self._make_socket(zmq.DEALER)
        self._socket.connect(endpoint)
        self._pending: Dict[str, "asyncio.Future[Dict[str, Any]]"] = {}
        self._reader: Optional["asyncio.Task[None]"] = None

    def _make_socket(self, kind: int) -> zmq.asyncio.Socket:
        s = self._context.socket(kind)
        _core.configure(s, self.curve)
        return s

    async def close(self) -> None:
        """Stops the reply reader and closes the socket. Idempotent."""
        if self._reader is not None:
            self._reader.cancel()
            try:
                await self._reader
            except (asyncio.CancelledError, Exception):
                pass
            self._reader = None
        if not self._socket.closed:
            self._socket.close(linger=0)

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # MARK: requests

    async def _read_replies(self) -> None:
        """Resolves each reply's request; a frame that is no MSCAN/1 reply fails every waiting one."""
        while True:
            frames = await self._socket.recv_multipart()
            try:
                rid, status, body = _core.parse_reply(frames)
            except TransportError as e:
                for fut in self._pending.values():
                    if not fut.done():
                        fut.set_exception(e)
                continue
            waiting = self._pending.get(rid) if rid is not None else None
            if waiting is None or waiting.done():
                continue  # the late reply of a request that timed out
            try:
                waiting.set_result(_core.reply_outcome(status, body))
            except Exception as e:  # an ERROR reply: the request raises it
                waiting.set_exception(e)

    async def request(
        self, verb: str, body: Optional[Mapping[str, Any]] = None, timeout: Optional[float] = None
    ) -> Dict[str, Any]:
        """Sends ``verb`` with ``body`` and returns the OK reply's body; raises the
        :class:`~marketscan.errors.ServiceError` of an ERROR reply, :class:`RequestTimeout` without one."""
        if self._reader is None or self._reader.done():
            self._reader = asyncio.get_running_loop().create_task(self._read_replies())
        rid, frames = _core.request_frames(verb, body)
        future: "asyncio.Future[Dict[str, Any]]" = asyncio.get_running_loop().create_future()
        self._pending[rid] = future
        limit = self.timeout if timeout is None else timeout
        try:
            await self._socket.send_multipart(frames)
            return await asyncio.wait_for(future, limit)
        except asyncio.TimeoutError:
            raise RequestTimeout(f"no reply to {verb} from {self.endpoint} within {limit:g} s") from None
        finally:
            self._pending.pop(rid, None)

    async def run_scan(
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
        """:meth:`marketscan.Client.run_scan`, awaited."""
        universe = _core.criteria(symbols, markets, sectors, min_market_cap, max_market_cap, exclude)
        body = _core.run_scan_body(_core.formula_body(formula, name, universe, timeframe, parameters), mode,
                                   date_from, date_to)
        if not wait:
            return Session.from_json((await self.request("RUN_SCAN", body, timeout))["session"])
        body["wait"] = True
        wait_limit = timeout if timeout is not None else max(self.timeout, 3600.0)
        return _core.waited_result(await self.request("RUN_SCAN", body, wait_limit))

    async def session(self, session_id: str) -> Session:
        """One session (GET_SESSION)."""
        return Session.from_json((await self.request("GET_SESSION", {"session_id": session_id}))["session"])

    async def result(self, session_id: str, offset: int = 0, limit: Optional[int] = None) -> Result:
        """A finished session's result (GET_RESULT); ``offset``/``limit`` page the matches."""
        reply = await self.request("GET_RESULT", _core.result_body(session_id, offset, limit))
        return Result.from_json(reply["result"])

    async def sessions(self, status: Optional[str] = None, limit: int = 50) -> List[Session]:
        """Recent sessions, newest first (LIST_SESSIONS)."""
        reply = await self.request("LIST_SESSIONS", _core.sessions_body(status, limit))
        return [Session.from_json(s) for s in reply["sessions"]]

    async def cancel(self, session_id: str) -> Session:
        """Cancels a session (CANCEL) and returns it once ended; its partial result stays readable."""
        return Session.from_json((await self.request("CANCEL", {"session_id": session_id}))["session"])

    async def ping(self) -> Dict[str, Any]:
        """The service's state (PING)."""
        return await self.request("PING")

    async def symbols(
        self,
        *,
        symbols: Optional[Sequence[str]] = None,
        markets: Optional[Sequence[str]] = None,
        sectors: Optional[Sequence[str]] = None,
        search: Optional[str] = None,
        offset: int = 0,
        limit: Optional[int] = None,
    ) -> SymbolList:
        """The service's symbols (LIST_SYMBOLS), and every market and sector it has."""
        body = _core.symbols_body(symbols, markets, sectors, search, offset, limit)
        return SymbolList.from_json(await self.request("LIST_SYMBOLS", body))

    # MARK: live watches (§11)

    async def watch_start(
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
        """:meth:`marketscan.Client.watch_start`, awaited."""
        universe = _core.criteria(symbols, markets, sectors, min_market_cap, max_market_cap, exclude)
        body = _core.watch_start_body(_core.formula_body(formula, name, universe, timeframe, parameters), confirm)
        return _core.watch_from(await self.request("WATCH_START", body))

    async def watch_stop(self, watch_id: str) -> Watch:
        """Stops a watch (WATCH_STOP); returns it with status ``stopped`` and its last set."""
        return _core.watch_from(await self.request("WATCH_STOP", {"watch_id": watch_id}))

    async def watches(self) -> List[Watch]:
        """The running watches, oldest first, without their sets (LIST_WATCHES)."""
        return [Watch.from_json(w) for w in (await self.request("LIST_WATCHES"))["watches"]]

    async def watch(self, watch_id: str) -> Watch:
        """One watch with its current set (GET_WATCH)."""
        return _core.watch_from(await self.request("GET_WATCH", {"watch_id": watch_id}))

    async def watch_events(self, watch_id: str, after: int = 0, limit: Optional[int] = None) -> List[LiveEvent]:
        """A watch's logged events with ``seq`` > ``after`` (GET_WATCH with ``events_after``)."""
        reply = await self.request("GET_WATCH", _core.get_watch_body(watch_id, after, limit))
        return [LiveEvent.from_json(e) for e in reply.get("events", [])]

    # MARK: events

    async def follow(
        self, session_id: str, *, poll_interval: float = 1.0, timeout: Optional[float] = None
    ) -> AsyncIterator[Event]:
        """:meth:`marketscan.Client.follow` as an async iterator (the same gap-safe rules)."""
        sub = self._subscribe(_core.session_topic(session_id))
        try:
            f = _core.SessionFollower(session_id)
            for ev in f.start(await self.session(session_id)):
                yield ev
            end = _end(timeout)
            while not f.done:
                if f.needs_reading:
                    for ev in f.reading(await self.session(session_id)):
                        yield ev
                    continue
                body = await _next_event(sub, _wait(end, poll_interval, f"session {session_id} did not end"))
                if body is None:
                    f.quiet()
                    continue
                for ev in f.event(body):
                    yield ev
        finally:
            sub.close(linger=0)

    async def follow_watch(
        self,
        watch_id: str,
        *,
        after: Optional[int] = None,
        poll_interval: float = 2.0,
        timeout: Optional[float] = None,
    ) -> AsyncIterator[LiveEvent]:
        """:meth:`marketscan.Client.follow_watch` as an async iterator (the same gap-safe rules)."""
        sub = self._subscribe(_core.watch_topic(watch_id))
        try:
            f = _core.WatchFollower(await self.watch(watch_id), after)
            end = _end(timeout)
            while not f.done:
                if f.needs_log:
                    try:
                        reply = await self.request("GET_WATCH", _core.get_watch_body(watch_id, f.last, _LOG_PAGE))
                    except NotFound:
                        return
                    for ev in f.log(reply, _LOG_PAGE):
                        yield ev
                    continue
                body = await _next_event(sub, _wait(end, poll_interval, f"watch {watch_id} was not stopped"))
                if body is None:
                    f.quiet()
                    continue
                for ev in f.event(body):
                    yield ev
        finally:
            sub.close(linger=0)

    def _subscribe(self, topic: bytes) -> zmq.asyncio.Socket:
        sub = self._make_socket(zmq.SUB)
        sub.setsockopt(zmq.SUBSCRIBE, topic)
        sub.connect(self.events_endpoint)
        return sub


def _end(timeout: Optional[float]) -> Optional[float]:
    return None if timeout is None else asyncio.get_running_loop().time() + timeout


def _wait(end: Optional[float], interval: float, what: str) -> float:
    """How long the next wait may be within the whole follow's bound."""
    if end is None:
        return interval
    left = end - asyncio.get_running_loop().time()
    if left <= 0:
        raise RequestTimeout(f"{what} within its timeout")
    return min(interval, left)


async def _next_event(sub: zmq.asyncio.Socket, wait: float) -> Optional[Dict[str, Any]]:
    """The next event's body within ``wait`` seconds, ``None`` after a quiet spell."""
    loop = asyncio.get_running_loop()
    end = loop.time() + wait
    while True:
        left = end - loop.time()
        if left <= 0 or not await sub.poll(int(left * 1000) + 1):
            return None
        body = _core.event_body(await sub.recv_multipart())
        if body is not None:
            return body
