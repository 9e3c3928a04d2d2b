"""The client: one DEALER socket to the service's api endpoint, a SUB socket for events when
following a session (protocol §1–§6)."""
from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Union

import zmq

from .errors import RequestTimeout, TransportError, service_error
from .models import Event, Result, Session, SymbolList

VERSION = b"MSCAN/1"


@dataclass(frozen=True)
class CurveKeys:
    """CURVE encryption: the service's public key and this client's key pair, Z85 text (40 chars),
    as ``scan keygen`` writes them (``NAME.key`` public, ``NAME.key_secret`` both)."""

    server_public: str
    public: str
    secret: str

    @staticmethod
    def load(client_secret_file: Union[str, Path], server_public_file: Union[str, Path]) -> "CurveKeys":
        """Reads the client's ``*.key_secret`` and the service's ``*.key`` (zcert layout)."""
        client = _read_cert(Path(client_secret_file))
        server = _read_cert(Path(server_public_file))
        if "secret-key" not in client:
            raise ValueError(f"{client_secret_file}: no secret-key (give the .key_secret file)")
        return CurveKeys(server["public-key"], client["public-key"], client["secret-key"])


def _read_cert(path: Path) -> Dict[str, str]:
    keys: Dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        name, sep, value = line.strip().partition("=")
        if sep and name.strip() in ("public-key", "secret-key"):
            keys[name.strip()] = value.strip().strip('"')
    if "public-key" not in keys:
        raise ValueError(f"{path}: no public-key (not a zcert certificate)")
    for name, key in keys.items():
        if len(key) != 40:
            raise ValueError(f"{path}: {name} is not a 40-character Z85 key")
    return keys


def events_endpoint_for(endpoint: str) -> str:
    """The events endpoint by the port convention (§1): api ``tcp://HOST:P`` → ``tcp://HOST:P+1``."""
    head, sep, port = endpoint.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"cannot derive the events endpoint from {endpoint!r}; pass events_endpoint")
    return f"{head}:{int(port) + 1}"


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
        s.setsockopt(zmq.LINGER, 0)
        if self.curve is not None:
            s.curve_serverkey = self.curve.server_public.encode()
            s.curve_publickey = self.curve.public.encode()
            s.curve_secretkey = self.curve.secret.encode()
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
        rid = str(uuid.uuid4())
        payload = dict(body or {})
        payload["request_id"] = rid
        self._socket.send_multipart([b"", VERSION, verb.encode("ascii"), json.dumps(payload).encode("utf-8")])
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not self._socket.poll(int(left * 1000) + 1):
                raise RequestTimeout(f"no reply to {verb} from {self.endpoint} within {limit:g} s")
            frames = self._socket.recv_multipart()
            if frames and frames[0] == b"":
                frames = frames[1:]
            if len(frames) != 3 or frames[0] != VERSION:
                raise TransportError(f"not an MSCAN/1 reply: {len(frames)} frames")
            try:
                reply = json.loads(frames[2].decode("utf-8"))
            except ValueError as e:
                raise TransportError(f"reply body is not JSON: {e}") from e
            if not isinstance(reply, dict) or reply.get("request_id") != rid:
                continue  # the late reply of an earlier request that timed out
            if frames[1] == b"OK":
                return reply
            if frames[1] == b"ERROR":
                raise service_error(reply)
            raise TransportError(f"unknown reply status {frames[1]!r}")

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
        criteria: Dict[str, Any] = {}
        for key, value in (("symbols", symbols), ("markets", markets), ("sectors", sectors), ("exclude", exclude)):
            if value is not None:
                criteria[key] = list(value)
        if min_market_cap is not None:
            criteria["min_market_cap"] = min_market_cap
        if max_market_cap is not None:
            criteria["max_market_cap"] = max_market_cap
        body: Dict[str, Any] = {"formula": {"source": formula}, "criteria": criteria, "timeframe": timeframe, "mode": mode}
        if name is not None:
            body["formula"]["name"] = name
        if (date_from is None) != (date_to is None):
            raise ValueError("give both date_from and date_to, or neither")
        if date_from is not None:
            body["date_range"] = {"from": date_from, "to": date_to}
        if parameters:
            body["parameters"] = dict(parameters)
        if not wait:
            return Session.from_json(self.request("RUN_SCAN", body, timeout)["session"])
        body["wait"] = True
        reply = self.request("RUN_SCAN", body, timeout=timeout if timeout is not None else max(self.timeout, 3600.0))
        session = Session.from_json(reply["session"])
        if "result" not in reply:
            from .errors import ServiceError

            raise ServiceError("failed", f"session {session.session_id} {session.status}: {session.error or ''}".strip())
        return Result.from_json(reply["result"])

    def session(self, session_id: str) -> Session:
        """One session (GET_SESSION)."""
        return Session.from_json(self.request("GET_SESSION", {"session_id": session_id})["session"])

    def result(self, session_id: str, offset: int = 0, limit: Optional[int] = None) -> Result:
        """A finished session's result (GET_RESULT); ``offset``/``limit`` page the matches."""
        body: Dict[str, Any] = {"session_id": session_id, "offset": offset}
        if limit is not None:
            body["limit"] = limit
        return Result.from_json(self.request("GET_RESULT", body)["result"])

    def sessions(self, status: Optional[str] = None, limit: int = 50) -> List[Session]:
        """Recent sessions, newest first (LIST_SESSIONS)."""
        body: Dict[str, Any] = {"limit": limit}
        if status is not None:
            body["status"] = status
        return [Session.from_json(s) for s in self.request("LIST_SESSIONS", body)["sessions"]]

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
        body: Dict[str, Any] = {"offset": offset}
        for key, value in (("symbols", symbols), ("markets", markets), ("sectors", sectors)):
            if value is not None:
                body[key] = list(value)
        if search is not None:
            body["search"] = search
        if limit is not None:
            body["limit"] = limit
        return SymbolList.from_json(self.request("LIST_SYMBOLS", body))

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
        sub = self._make_socket(zmq.SUB)
        try:
            sub.setsockopt(zmq.SUBSCRIBE, f"scan.{session_id}.".encode("ascii"))
            sub.connect(self.events_endpoint)
            deadline = None if timeout is None else time.monotonic() + timeout
            last_seq: Optional[int] = None
            seen = (None, -1)  # (status, completed) last yielded

            def fresh(ev: Event) -> bool:
                return (ev.status, ev.completed) != seen or ev.is_final

            snapshot = Event.from_session_state(self.session(session_id))
            yield snapshot
            seen = (snapshot.status, snapshot.completed)
            if snapshot.is_final:
                return
            while True:
                wait = poll_interval
                if deadline is not None:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise RequestTimeout(f"session {session_id} did not end within {timeout:g} s")
                    wait = min(wait, left)
                if sub.poll(int(wait * 1000) + 1):
                    _topic, body = sub.recv_multipart()
                    ev = Event.from_json(json.loads(body.decode("utf-8")))
                    if ev.session_id != session_id:
                        continue
                    if last_seq is not None and ev.seq is not None and ev.seq <= last_seq and ev.seq != 1:
                        continue  # an old duplicate
                    gap = last_seq is not None and ev.seq is not None and ev.seq != last_seq + 1
                    last_seq = ev.seq
                    if gap:
                        state = Event.from_session_state(self.session(session_id))
                        if fresh(state):
                            yield state
                            seen = (state.status, state.completed)
                        if state.is_final:
                            return
                        continue
                    yield ev
                    seen = (ev.status, ev.completed)
                    if ev.is_final:
                        return
                else:
                    state = Event.from_session_state(self.session(session_id))
                    if fresh(state):
                        yield state
                        seen = (state.status, state.completed)
                    if state.is_final:
                        return
        finally:
            sub.close(linger=0)
