"""Errors raised by the client. A service ERROR reply becomes a :class:`ServiceError` subclass
carrying the protocol's ``code`` (protocol §2.1); transport trouble is a :class:`TransportError`."""
from __future__ import annotations

from typing import Dict, Optional, Type


class MarketScanError(Exception):
    """Base class of every error this package raises."""


class TransportError(MarketScanError):
    """The service could not be reached, or sent something that is not an MSCAN/1 reply."""


class RequestTimeout(TransportError, TimeoutError):
    """No reply within the timeout (the service may be down, or the request still running)."""


class ServiceError(MarketScanError):
    """An ``ERROR`` reply: ``code`` is the protocol's stable code, ``message`` is for people."""

    code: str = "unknown"

    def __init__(self, code: str, message: str, request_id: object = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.request_id = request_id


class BadRequest(ServiceError):
    """``bad_request``: frames, JSON or a field are wrong; the message names the field."""


class InvalidFormula(ServiceError):
    """``invalid_formula``: the formula does not compile; the message has line, column and a caret."""


class NotFound(ServiceError):
    """``not_found``: no such session, or the session has no result (yet)."""


class UnsupportedVersion(ServiceError):
    """``unsupported_version``: the service speaks another protocol version."""


class TooLarge(ServiceError):
    """``too_large``: the request body is over the service's limit."""


class Busy(ServiceError):
    """``busy``: too many running sessions, shutting down, or the session store failed."""


_BY_CODE: Dict[str, Type[ServiceError]] = {
    "bad_request": BadRequest,
    "invalid_formula": InvalidFormula,
    "not_found": NotFound,
    "unsupported_version": UnsupportedVersion,
    "too_large": TooLarge,
    "busy": Busy,
}


def service_error(body: dict) -> ServiceError:
    """The exception for an ERROR reply body ``{"code", "message", "request_id"?}``; an unknown code
    (a later service version) is a plain :class:`ServiceError` with that code."""
    code = str(body.get("code", "unknown"))
    cls: Optional[Type[ServiceError]] = _BY_CODE.get(code)
    return (cls or ServiceError)(code, str(body.get("message", "")), body.get("request_id"))
