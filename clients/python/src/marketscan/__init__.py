"""Python client for the MarketScan scan service (the ZeroMQ protocol ``MSCAN/1``, see the
repository's ``protocol/README.md``).

>>> from marketscan import Client
>>> with Client("tcp://127.0.0.1:5555") as client:
...     result = client.run_scan("crossover(sma(close, 5), sma(close, 20))", markets=["KOSPI"])
...     frame = result.to_pandas()
"""
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
from .models import Event, Match, Progress, Result, Session, SymbolInfo, SymbolList

__all__ = [
    "BadRequest", "Busy", "Client", "CurveKeys", "Event", "InvalidFormula", "MarketScanError", "Match",
    "NotFound", "Progress", "RequestTimeout", "Result", "ServiceError", "Session", "SymbolInfo", "SymbolList",
    "TooLarge", "TransportError", "UnsupportedVersion", "events_endpoint_for",
]
__version__ = "0.1.0"
