"""Python client for the MarketScan scan service (the ZeroMQ protocol ``MSCAN/1``, see the
repository's ``protocol/README.md``).

>>> from marketscan import Client
>>> with Client("tcp://127.0.0.1:5555") as client:
...     result = client.run_scan("crossover(sma(close, 5), sma(close, 20))", markets=["KOSPI"])
...     frame = result.to_pandas()

:class:`AsyncClient` is the same on asyncio (``zmq.asyncio``); live watches: :meth:`Client.watch_start`,
:meth:`Client.follow_watch`.
"""
from .aio import AsyncClient
from .client import Client, CurveKeys, events_endpoint_for
from .errors import (
    BadRequest,
    Busy,
    InvalidFormula,
    MarketScanError,
    NotFound,
    RequestTimeout,
    ServiceError,
    TooLarge,
    TransportError,
    UnsupportedVersion,
)
from .models import (Event, LiveEvent, Match, Progress, Result, Session, SymbolInfo, SymbolList, Watch, WatchEntry,
                     fold)

__all__ = [
    "AsyncClient", "BadRequest", "Busy", "Client", "CurveKeys", "Event", "InvalidFormula", "LiveEvent",
    "MarketScanError", "Match", "NotFound", "Progress", "RequestTimeout", "Result", "ServiceError", "Session",
    "SymbolInfo", "SymbolList", "TooLarge", "TransportError", "UnsupportedVersion", "Watch", "WatchEntry",
    "events_endpoint_for", "fold",
]
__version__ = "0.2.0"
