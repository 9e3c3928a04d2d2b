"""Typed views of the protocol's bodies (protocol §3, §4, §6). Each keeps the raw JSON in ``raw``:
bodies may gain keys within MSCAN/1, and nothing is lost by reading them through these classes."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, List, Optional

if TYPE_CHECKING:  # pandas is imported only when a DataFrame is asked for
    import pandas

FINAL_STATUSES = frozenset({"completed", "failed", "cancelled"})


@dataclass(frozen=True)
class Progress:
    completed: int
    total: int
    matches_so_far: int

    @staticmethod
    def from_json(d: Dict[str, Any]) -> "Progress":
        return Progress(int(d.get("completed", 0)), int(d.get("total", 0)), int(d.get("matches_so_far", 0)))


@dataclass(frozen=True)
class Session:
    """A scan session (SESSION, protocol §4)."""

    session_id: str
    status: str
    progress: Progress
    request: Dict[str, Any]
    created_at: str
    started_at: Optional[str] = None
    finished_at: Optional[str] = None
    error: Optional[str] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def is_final(self) -> bool:
        """Whether the session ended (``completed``, ``failed`` or ``cancelled``)."""
        return self.status in FINAL_STATUSES

    @staticmethod
    def from_json(d: Dict[str, Any]) -> "Session":
        return Session(
            session_id=d["session_id"],
            status=d["status"],
            progress=Progress.from_json(d.get("progress", {})),
            request=d.get("request", {}),
            created_at=d.get("created_at", ""),
            started_at=d.get("started_at"),
            finished_at=d.get("finished_at"),
            error=d.get("error"),
            raw=d,
        )


@dataclass(frozen=True)
class Match:
    symbol: str
    timestamp: str
    signal: str
    close: Optional[float]
    values: Dict[str, Optional[float]]


@dataclass(frozen=True)
class Result:
    """A session's result (RESULT, protocol §4): the matches, counts, statistics and per-symbol errors."""

    session_id: Optional[str]
    status: str
    total_symbols: int
    symbols_with_matches: int
    total_matches: int
    matches: List[Match]
    statistics: Dict[str, Any]
    errors: List[Dict[str, str]]
    processing_time_ms: float
    raw: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @staticmethod
    def from_json(d: Dict[str, Any]) -> "Result":
        signals = d.get("signals", {})
        return Result(
            session_id=d.get("session_id"),
            status=d.get("status", ""),
            total_symbols=int(signals.get("total_symbols", 0)),
            symbols_with_matches=int(signals.get("symbols_with_matches", 0)),
            total_matches=int(signals.get("total_matches", 0)),
            matches=[
                Match(m["symbol"], m["timestamp"], m["signal"], m.get("close"), dict(m.get("values") or {}))
                for m in signals.get("matches", [])
            ],
            statistics=d.get("statistics", {}),
            errors=list(d.get("errors", [])),
            processing_time_ms=float(d.get("processing_time_ms", 0.0)),
            raw=d,
        )

    def to_pandas(self, names: Optional[Dict[str, str]] = None) -> "pandas.DataFrame":
        """The matches as a DataFrame: ``symbol``, (``name`` when ``names`` maps symbols to names),
        ``timestamp`` (datetime64: dates for daily/weekly bars, UTC instants for intraday bars),
        ``signal``, ``close`` and one float column per formula ``column`` (NaN where undefined),
        in the result's order (timestamp, symbol, signal)."""
        import pandas as pd

        value_columns: List[str] = []
        for m in self.matches:
            for k in m.values:
                if k not in value_columns:
                    value_columns.append(k)
        rows: Dict[str, List[Any]] = {"symbol": [], "timestamp": [], "signal": [], "close": []}
        for k in value_columns:
            rows[k] = []
        for m in self.matches:
            rows["symbol"].append(m.symbol)
            rows["timestamp"].append(m.timestamp)
            rows["signal"].append(m.signal)
            rows["close"].append(float("nan") if m.close is None else float(m.close))
            for k in value_columns:
                v = m.values.get(k)
                rows[k].append(float("nan") if v is None else float(v))
        frame = pd.DataFrame(rows)
        intraday = any("T" in t for t in rows["timestamp"])
        frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=intraday, format="ISO8601" if intraday else "%Y-%m-%d")
        frame["close"] = frame["close"].astype("float64")
        if names is not None:
            frame.insert(1, "name", [names.get(s, "") for s in rows["symbol"]])
        return frame


@dataclass(frozen=True)
class Event:
    """A progress event (protocol §6), or — with ``seq`` ``None`` — the session's state read with
    GET_SESSION because events were missed (a ``seq`` gap, or none arrived for a while)."""

    session_id: str
    event: str
    status: str
    completed: int
    total: int
    matches_so_far: int
    seq: Optional[int]
    time: Optional[str]
    error: Optional[str] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def from_session(self) -> bool:
        """Whether this was read with GET_SESSION rather than received as an event."""
        return self.seq is None

    @staticmethod
    def from_json(d: Dict[str, Any]) -> "Event":
        return Event(
            session_id=d["session_id"],
            event=d["event"],
            status=d["status"],
            completed=int(d.get("completed", 0)),
            total=int(d.get("total", 0)),
            matches_so_far=int(d.get("matches_so_far", 0)),
            seq=int(d["seq"]),
            time=d.get("time"),
            error=d.get("error"),
            raw=d,
        )

    @staticmethod
    def from_session_state(s: Session) -> "Event":
        kind = s.status if s.is_final else "status"
        return Event(
            session_id=s.session_id,
            event=kind,
            status=s.status,
            completed=s.progress.completed,
            total=s.progress.total,
            matches_so_far=s.progress.matches_so_far,
            seq=None,
            time=s.finished_at or s.started_at or s.created_at,
            error=s.error,
            raw=s.raw,
        )


@dataclass(frozen=True)
class SymbolInfo:
    """One symbol of a LIST_SYMBOLS reply; ``bars`` maps a stored timeframe to ``{"from", "to", "count"}``."""

    symbol: str
    name: str
    market: str
    sector: str
    market_cap: Optional[float]
    active: bool
    bars: Dict[str, Dict[str, Any]]


@dataclass(frozen=True)
class SymbolList:
    """A LIST_SYMBOLS reply: the page of symbols, how many matched, and every market and sector."""

    symbols: List[SymbolInfo]
    total: int
    markets: List[str]
    sectors: List[str]

    @staticmethod
    def from_json(d: Dict[str, Any]) -> "SymbolList":
        return SymbolList(
            symbols=[
                SymbolInfo(s["symbol"], s.get("name", ""), s.get("market", ""), s.get("sector", ""),
                           s.get("market_cap"), bool(s.get("active", True)), dict(s.get("bars", {})))
                for s in d.get("symbols", [])
            ],
            total=int(d.get("total", 0)),
            markets=list(d.get("markets", [])),
            sectors=list(d.get("sectors", [])),
        )

    @property
    def names(self) -> Dict[str, str]:
        """Symbol → name."""
        return {s.symbol: s.name for s in self.symbols}

    def to_pandas(self) -> "pandas.DataFrame":
        """One row per symbol: symbol, name, market, sector, market_cap, active, and ``from``, ``to``,
        ``bars`` of the daily bars stored."""
        import pandas as pd

        return pd.DataFrame(
            {
                "symbol": [s.symbol for s in self.symbols],
                "name": [s.name for s in self.symbols],
                "market": [s.market for s in self.symbols],
                "sector": [s.sector for s in self.symbols],
                "market_cap": [float("nan") if s.market_cap is None else float(s.market_cap) for s in self.symbols],
                "active": [s.active for s in self.symbols],
                "from": [s.bars.get("1d", {}).get("from") for s in self.symbols],
                "to": [s.bars.get("1d", {}).get("to") for s in self.symbols],
                "bars": [int(s.bars.get("1d", {}).get("count", 0)) for s in self.symbols],
            }
        )


@dataclass(frozen=True)
class WatchEntry:
    """A signal matching on a symbol's newest bar (an entry of a watch's set, protocol §11.2)."""

    symbol: str
    signal: str
    timestamp: str
    close: Optional[float]
    values: Dict[str, Optional[float]]
    forming: bool

    @staticmethod
    def from_json(d: Dict[str, Any]) -> "WatchEntry":
        return WatchEntry(d["symbol"], d["signal"], d["timestamp"], d.get("close"), dict(d.get("values") or {}),
                          bool(d.get("forming", False)))


@dataclass(frozen=True)
class Watch:
    """A live watch (WATCH, protocol §11.2): a standing latest-mode scan and its current set.

    ``seq`` is its last event's (the set is the fold of events 1 … ``seq``); ``bars_applied`` the
    feed bars the set reflects; ``matches`` is ``None`` in :meth:`~marketscan.Client.watches`."""

    watch_id: str
    status: str
    request: Dict[str, Any]
    created_at: str
    seq: int
    bars_applied: int
    symbols: int
    match_count: int
    matches: Optional[List[WatchEntry]]
    errors: List[Dict[str, str]]
    raw: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @staticmethod
    def from_json(d: Dict[str, Any]) -> "Watch":
        matches = d.get("matches")
        return Watch(
            watch_id=d["watch_id"],
            status=d.get("status", ""),
            request=d.get("request", {}),
            created_at=d.get("created_at", ""),
            seq=int(d.get("seq", 0)),
            bars_applied=int(d.get("bars_applied", 0)),
            symbols=int(d.get("symbols", 0)),
            match_count=int(d.get("match_count", 0)),
            matches=None if matches is None else [WatchEntry.from_json(m) for m in matches],
            errors=list(d.get("errors", [])),
            raw=d,
        )

    def to_pandas(self) -> "pandas.DataFrame":
        """The set, one row per entry: symbol, signal, timestamp (as sent: the bar's local time),
        close, forming, and one float column per formula ``column`` (NaN where undefined)."""
        import pandas as pd

        entries = self.matches or []
        columns: List[str] = []
        for e in entries:
            columns += [k for k in e.values if k not in columns]
        frame = pd.DataFrame(
            {
                "symbol": [e.symbol for e in entries],
                "signal": [e.signal for e in entries],
                "timestamp": [e.timestamp for e in entries],
                "close": [float("nan") if e.close is None else float(e.close) for e in entries],
                "forming": [e.forming for e in entries],
            }
        )
        def number(v: Optional[float]) -> float:
            return float("nan") if v is None else float(v)

        for k in columns:
            frame[k] = [number(e.values.get(k)) for e in entries]
        return frame


@dataclass(frozen=True)
class LiveEvent:
    """A watch's event (protocol §11.3): ``enter`` (``entry`` started matching), ``exit`` (it stopped;
    the fields are the newest bar's) or ``stopped`` (no entry). ``seq`` counts the watch's events
    from 1 without gaps."""

    watch_id: str
    event: str
    seq: int
    confirm: str
    time: str
    entry: Optional[WatchEntry]
    raw: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @staticmethod
    def from_json(d: Dict[str, Any]) -> "LiveEvent":
        entry = WatchEntry.from_json(d) if d.get("event") in ("enter", "exit") else None
        return LiveEvent(d["watch_id"], d["event"], int(d["seq"]), d.get("confirm", "bar"), d.get("time", ""), entry, d)


def fold(entries: Optional[List[WatchEntry]], events: List[LiveEvent]) -> List[WatchEntry]:
    """A watch's set after ``events`` (in ``seq`` order) starting from ``entries``, sorted by symbol
    and signal: folding events 1 … ``seq`` from nothing gives the watch's set at ``seq``."""
    current = {(e.symbol, e.signal): e for e in entries or []}
    for ev in events:
        if ev.entry is None:
            continue
        key = (ev.entry.symbol, ev.entry.signal)
        if ev.event == "enter":
            current[key] = ev.entry
        elif ev.event == "exit":
            current.pop(key, None)
    return [current[k] for k in sorted(current)]
