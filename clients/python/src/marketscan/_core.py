"""What the blocking :class:`~marketscan.Client` and the asyncio :class:`~marketscan.AsyncClient`
share, free of I/O: the request envelope (protocol §2), the request bodies, and the gap-safe
followers of a session (§6) and of a watch (§11.3), each fed by its client's sockets."""
from __future__ import annotations

import json
import uuid
from pathlib import Path
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from .errors import ServiceError, TransportError, service_error
from .models import Event, LiveEvent, Result, Session, Watch

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


def configure(socket: Any, curve: Optional[CurveKeys]) -> None:
    """No linger, and the CURVE keys when given (a ``zmq`` or ``zmq.asyncio`` socket)."""
    import zmq

    socket.setsockopt(zmq.LINGER, 0)
    if curve is not None:
        socket.curve_serverkey = curve.server_public.encode()
        socket.curve_publickey = curve.public.encode()
        socket.curve_secretkey = curve.secret.encode()


# MARK: the envelope


def request_frames(verb: str, body: Optional[Mapping[str, Any]]) -> Tuple[str, List[bytes]]:
    """A fresh string ``request_id`` and the DEALER frames of ``verb`` with ``body`` carrying it."""
    rid = str(uuid.uuid4())
    payload = dict(body or {})
    payload["request_id"] = rid
    return rid, [b"", VERSION, verb.encode("ascii"), json.dumps(payload).encode("utf-8")]


def parse_reply(frames: List[bytes]) -> Tuple[Optional[str], bytes, Dict[str, Any]]:
    """A reply's ``request_id`` (``None`` when it has no string one), status and body; raises
    :class:`TransportError` for anything that is not an MSCAN/1 reply."""
    if frames and frames[0] == b"":
        frames = frames[1:]
    if len(frames) != 3 or frames[0] != VERSION:
        raise TransportError(f"not an MSCAN/1 reply: {len(frames)} frames")
    try:
        reply = json.loads(frames[2].decode("utf-8"))
    except ValueError as e:
        raise TransportError(f"reply body is not JSON: {e}") from e
    if not isinstance(reply, dict):
        raise TransportError("reply body is not a JSON object")
    rid = reply.get("request_id")
    return (rid if isinstance(rid, str) else None), frames[1], reply


def reply_outcome(status: bytes, reply: Dict[str, Any]) -> Dict[str, Any]:
    """The OK body; raises the :class:`ServiceError` of an ERROR reply."""
    if status == b"OK":
        return reply
    if status == b"ERROR":
        raise service_error(reply)
    raise TransportError(f"unknown reply status {status!r}")


def reply_body(frames: List[bytes], rid: str) -> Optional[Dict[str, Any]]:
    """The OK body of the reply to request ``rid``; ``None`` for the late reply of an earlier request
    (dropped); raises the :class:`ServiceError` of an ERROR reply, :class:`TransportError` for
    anything that is not an MSCAN/1 reply."""
    got, status, reply = parse_reply(frames)
    return reply_outcome(status, reply) if got == rid else None


def event_body(frames: List[bytes]) -> Optional[Dict[str, Any]]:
    """The JSON body of a two-frame event, ``None`` for anything else."""
    if len(frames) != 2:
        return None
    try:
        body = json.loads(frames[1].decode("utf-8"))
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


# MARK: bodies


def criteria(
    symbols: Optional[Sequence[str]],
    markets: Optional[Sequence[str]],
    sectors: Optional[Sequence[str]],
    min_market_cap: Optional[float],
    max_market_cap: Optional[float],
    exclude: Optional[Sequence[str]],
) -> Dict[str, Any]:
    """A universe (§3 ``criteria``): only what is given."""
    out: Dict[str, Any] = {}
    for key, value in (("symbols", symbols), ("markets", markets), ("sectors", sectors), ("exclude", exclude)):
        if value is not None:
            out[key] = list(value)
    if min_market_cap is not None:
        out["min_market_cap"] = min_market_cap
    if max_market_cap is not None:
        out["max_market_cap"] = max_market_cap
    return out


def formula_body(
    formula: str,
    name: Optional[str],
    universe: Dict[str, Any],
    timeframe: str,
    parameters: Optional[Mapping[str, Union[float, bool]]],
) -> Dict[str, Any]:
    """What RUN_SCAN and WATCH_START have in common: formula, criteria, timeframe, parameters."""
    body: Dict[str, Any] = {"formula": {"source": formula}, "criteria": universe, "timeframe": timeframe}
    if name is not None:
        body["formula"]["name"] = name
    if parameters:
        body["parameters"] = dict(parameters)
    return body


def run_scan_body(
    base: Dict[str, Any], mode: str, date_from: Optional[str], date_to: Optional[str]
) -> Dict[str, Any]:
    if (date_from is None) != (date_to is None):
        raise ValueError("give both date_from and date_to, or neither")
    body = dict(base, mode=mode)
    if date_from is not None:
        body["date_range"] = {"from": date_from, "to": date_to}
    return body


def waited_result(reply: Dict[str, Any]) -> Result:
    """The result of a RUN_SCAN with ``wait``; a session that did not complete raises ``failed``."""
    session = Session.from_json(reply["session"])
    if "result" not in reply:
        raise ServiceError("failed", f"session {session.session_id} {session.status}: {session.error or ''}".strip())
    return Result.from_json(reply["result"])


def result_body(session_id: str, offset: int, limit: Optional[int]) -> Dict[str, Any]:
    body: Dict[str, Any] = {"session_id": session_id, "offset": offset}
    if limit is not None:
        body["limit"] = limit
    return body


def sessions_body(status: Optional[str], limit: int) -> Dict[str, Any]:
    body: Dict[str, Any] = {"limit": limit}
    if status is not None:
        body["status"] = status
    return body


def symbols_body(
    symbols: Optional[Sequence[str]],
    markets: Optional[Sequence[str]],
    sectors: Optional[Sequence[str]],
    search: Optional[str],
    offset: int,
    limit: Optional[int],
) -> Dict[str, Any]:
    body: Dict[str, Any] = criteria(symbols, markets, sectors, None, None, None)
    body["offset"] = offset
    if search is not None:
        body["search"] = search
    if limit is not None:
        body["limit"] = limit
    return body


def watch_start_body(base: Dict[str, Any], confirm: str) -> Dict[str, Any]:
    if confirm not in ("bar", "tick"):
        raise ValueError(f"confirm must be 'bar' or 'tick', not {confirm!r}")
    return dict(base, confirm=confirm)


def get_watch_body(watch_id: str, events_after: Optional[int], limit: Optional[int]) -> Dict[str, Any]:
    body: Dict[str, Any] = {"watch_id": watch_id}
    if events_after is not None:
        body["events_after"] = events_after
    if limit is not None:
        body["limit"] = limit
    return body


# MARK: followers


def session_topic(session_id: str) -> bytes:
    return f"scan.{session_id}.".encode("ascii")


def watch_topic(watch_id: str) -> bytes:
    return f"live.{watch_id}.".encode("ascii")


class SessionFollower:
    """Folds a session's events and readings (GET_SESSION) into what ``follow`` yields (§6).

    Its client subscribes first, then feeds it the first reading (:meth:`start`), every event
    (:meth:`event`) and a reading whenever :attr:`needs_reading` (a ``seq`` gap, or a quiet
    spell: :meth:`quiet`). Each call returns the :class:`Event`\\ s to yield; :attr:`done` after
    the final state, however it was learnt."""

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        self.done = False
        self.needs_reading = False
        self._last_seq: Optional[int] = None
        self._seen: Tuple[Optional[str], int] = (None, -1)

    def _emit(self, ev: Event) -> List[Event]:
        self._seen = (ev.status, ev.completed)
        self.done = ev.is_final
        return [ev]

    def start(self, session: Session) -> List[Event]:
        return self._emit(Event.from_session_state(session))

    def reading(self, session: Session) -> List[Event]:
        self.needs_reading = False
        state = Event.from_session_state(session)
        if (state.status, state.completed) != self._seen or state.is_final:
            return self._emit(state)
        return []

    def event(self, body: Dict[str, Any]) -> List[Event]:
        ev = Event.from_json(body)
        if ev.session_id != self.session_id:
            return []
        last = self._last_seq
        if last is not None and ev.seq is not None and ev.seq <= last and ev.seq != 1:
            return []  # an old duplicate
        self._last_seq = ev.seq
        if last is not None and ev.seq is not None and ev.seq != last + 1:
            self.needs_reading = True  # events were missed
            return []
        return self._emit(ev)

    def quiet(self) -> None:
        self.needs_reading = True


class WatchFollower:
    """Orders a watch's events by ``seq`` without gaps (§11.3) for ``follow_watch``.

    Its client subscribes to ``live.<watch_id>.`` first, reads the watch, then feeds it every event
    (:meth:`event`) and, whenever :attr:`needs_log` (a ``seq`` gap, a quiet spell: :meth:`quiet`,
    or a start before the watch's last event), the logged events after :attr:`last` (GET_WATCH with
    ``events_after``; :meth:`log`). Each call returns the :class:`LiveEvent`\\ s to yield, in order;
    :attr:`done` after ``stopped`` (or :meth:`gone`: the watch was stopped unseen)."""

    def __init__(self, watch: Watch, after: Optional[int]) -> None:
        self.watch_id = watch.watch_id
        self.last = watch.seq if after is None else after
        self.needs_log = self.last < watch.seq
        self.done = False
        self._pending: Optional[LiveEvent] = None  # the live event after a gap, until the log is read

    def _take(self, events: List[LiveEvent]) -> List[LiveEvent]:
        out: List[LiveEvent] = []
        for ev in sorted(events, key=lambda e: e.seq):
            if self.done or ev.seq != self.last + 1:
                continue
            self.last = ev.seq
            out.append(ev)
            self.done = ev.event == "stopped"
        return out

    def event(self, body: Dict[str, Any]) -> List[LiveEvent]:
        ev = LiveEvent.from_json(body)
        if ev.watch_id != self.watch_id or ev.seq <= self.last:
            return []
        if ev.seq > self.last + 1:
            self.needs_log = True
            self._pending = ev
            return []
        return self._take([ev])

    def log(self, reply: Dict[str, Any], limit: int) -> List[LiveEvent]:
        """Takes a GET_WATCH reply with ``events_after`` = :attr:`last`; asks for the next page while
        the page was full."""
        events = [LiveEvent.from_json(e) for e in reply.get("events", [])]
        out = self._take(events)
        self.needs_log = len(events) >= limit
        if not self.needs_log and self._pending is not None:
            pending, self._pending = self._pending, None
            out += self._take([pending])  # a `stopped` is not logged: it may only come live
        return out

    def quiet(self) -> None:
        self.needs_log = True

    def gone(self) -> None:
        self.done = True


def watch_from(reply: Dict[str, Any]) -> Watch:
    return Watch.from_json(reply["watch"])
