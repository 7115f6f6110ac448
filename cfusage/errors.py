"""Every error cfusage raises, in one tree.

Catch :class:`Error` for anything from cfusage, or a precise subclass::

    Error
    ├── ArgumentError              a function was called with a bad argument (also a ValueError)
    ├── DataError                  bad input data
    │   ├── ValidationError        rows that cannot be used (failure_cases: a frame)
    │   ├── ResponseError          success: false, a body that is not JSON, a truncated body
    │   │   └── ResponseTooLargeError  a decoded body past the client's max_response_bytes
    │   ├── MissingColumnsError    a helper needs columns the frame lacks (e.g. no costs)
    │   ├── CurrencyError          costs in several currencies would be added up
    │   └── StoreError             a local store's files do not match its manifest (damage named)
    ├── APIError                   the API answered with an error status (status_code, errors)
    │   ├── BadRequestError        400, with the API's errors[] messages
    │   ├── AuthenticationError    401
    │   │   └── TokenError         no token, or one that cannot be sent (raised by Client())
    │   ├── PermissionDeniedError  403 (Billing Read; the restricted alpha)
    │   ├── NotFoundError          404
    │   ├── RateLimitError         429 past the retry ceiling (retry_after: when to try again)
    │   └── ServerError            5xx after retries
    └── TransportError             the connection failed or timed out after retries
        └── DeadlineError          one attempt took longer than the client's deadline

Errors raised while fetching carry ``window``, the ``(start, end)`` date window that failed, and
name it in their message. No message, attribute or ``repr`` ever holds an API token.

Examples
--------
>>> import cfusage
>>> issubclass(cfusage.RateLimitError, cfusage.APIError), issubclass(cfusage.APIError, cfusage.Error)
(True, True)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "APIError",
    "ArgumentError",
    "AuthenticationError",
    "BadRequestError",
    "CurrencyError",
    "DataError",
    "DeadlineError",
    "Error",
    "MissingColumnsError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseError",
    "ResponseTooLargeError",
    "ServerError",
    "StoreError",
    "TokenError",
    "TransportError",
    "ValidationError",
]

Window = tuple[dt.date, dt.date]


class Error(Exception):
    """Base class of every cfusage error."""

    def __init__(self, message: str, *, window: Window | None = None) -> None:
        if window is not None:
            message = f"window {window[0]}..{window[1]}: {message}"
        super().__init__(message)
        self.message = message
        self.window = window


class ArgumentError(Error, ValueError):
    """A function was called with an argument it cannot use (an unknown ``by=`` dimension, a
    ``freq=`` that is not a grain, a date that is not a date). The message names the argument, the
    value and what would be accepted. Also a :class:`ValueError`, as Python code expects."""


class DataError(Error):
    """Input data that cfusage cannot use as it is."""


class ValidationError(DataError):
    """Rows that cannot be used.

    Attributes
    ----------
    failure_cases : pandas.DataFrame
        One row per failure: ``row`` (position in the input), ``field``, ``value``, ``check``,
        ``reason``. Every failure is collected, not only the first.
    """

    def __init__(self, failure_cases: pd.DataFrame, *, window: Window | None = None) -> None:
        self.failure_cases = failure_cases
        n = len(failure_cases)
        rows = failure_cases["row"].nunique() if n else 0
        head = failure_cases.head(5)
        lines = [
            f"  row {r.row}: {r.field} = {_short(r.value)}: {r.reason}" for r in head.itertuples()
        ]
        more = f"\n  ... and {n - len(head)} more (see .failure_cases)" if n > len(head) else ""
        super().__init__(
            f"{n} problem(s) in {rows} row(s) that cannot be used:\n"
            + "\n".join(lines)
            + more
            + "\nPass errors='quarantine' to keep the good rows and set these aside.",
            window=window,
        )


class ResponseError(DataError):
    """A response that is not a usable envelope.

    ``success: false`` (``errors`` holds the API's messages), a body that is not JSON, or a
    truncated body.
    """

    def __init__(
        self,
        message: str,
        *,
        errors: Sequence[dict[str, Any]] = (),
        window: Window | None = None,
    ) -> None:
        self.errors = list(errors)
        if self.errors:
            message += ": " + "; ".join(_api_message(e) for e in self.errors)
        super().__init__(message, window=window)


class ResponseTooLargeError(ResponseError):
    """A response whose decoded body grew past the client's ``max_response_bytes``.

    The download stops there (the body is decoded as it streams in, so at most ``limit`` bytes
    plus one network chunk are ever held) and the request is not retried: the same request would
    get the same body.

    Attributes
    ----------
    limit : int
        The cap that was passed, in bytes of decoded body.
    """

    def __init__(self, message: str, *, limit: int = 0, window: Window | None = None) -> None:
        self.limit = limit
        super().__init__(message, window=window)


class MissingColumnsError(DataError):
    """A helper needs columns the frame lacks or holds only as NA (``columns``)."""

    def __init__(self, columns: Sequence[str], message: str) -> None:
        self.columns = list(columns)
        super().__init__(message)


class CurrencyError(DataError):
    """Costs in different currencies would have been added together."""


class StoreError(DataError):
    """A local store (:class:`cfusage.Store`) is damaged: a partition file is missing, unreadable
    (truncated, corrupted) or holds other rows than its manifest records, or the manifest itself
    cannot be read. The message names each damage (partition, expected vs found rows) and the
    repair path (``Store.verify()``, ``Store.sync(..., repair=True)``).

    Attributes
    ----------
    path : str
        The store directory.
    problems : list
        One :class:`cfusage.fetch.StoreProblem` per damage found (``kind``, ``partition``,
        ``expected_rows``, ``found_rows``, ``days``, ``message``).
    """

    def __init__(self, message: str, *, path: str = "", problems: Sequence[Any] = ()) -> None:
        self.path = path
        self.problems = list(problems)
        super().__init__(message)


class APIError(Error):
    """The API answered with an error status.

    Attributes
    ----------
    status_code : int
    errors : list of dict
        The envelope's ``errors[]`` (``message``, optional ``code``).
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        errors: Sequence[dict[str, Any]] = (),
        window: Window | None = None,
    ) -> None:
        self.status_code = status_code
        self.errors = list(errors)
        detail = "; ".join(_api_message(e) for e in self.errors)
        super().__init__(
            f"HTTP {status_code}: {message}" + (f" (API: {detail})" if detail else ""),
            window=window,
        )


class BadRequestError(APIError):
    """400: the request was malformed (dates, range over 31 days, unknown parameter)."""


class AuthenticationError(APIError):
    """401: the token is missing, malformed, expired or revoked."""


class TokenError(AuthenticationError):
    """No API token, or one that cannot be sent as an HTTP header value.

    Raised when a client is built, before any request: no token given and
    ``CLOUDFLARE_API_TOKEN`` unset or blank, or a token that still holds a control character,
    a space or a non-ASCII character once surrounding whitespace is stripped. The message names
    the problem (which kind of character, at which position) and never the token itself.
    ``status_code`` is ``None``: nothing was sent.
    """

    def __init__(self, message: str) -> None:
        self.status_code = None  # type: ignore[assignment]
        self.errors = []
        Error.__init__(self, message)


class PermissionDeniedError(APIError):
    """403: the token lacks Billing Read, or the organization is not allow-listed for the alpha."""


class NotFoundError(APIError):
    """404: unknown organization or account id, or a wrong base URL."""


class RateLimitError(APIError):
    """429 past the retry ceiling.

    Attributes
    ----------
    retry_after : float or None
        Seconds until the API should accept calls again, when known.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        self.retry_after = retry_after
        if retry_after is not None:
            message += f"; try again in {_duration(retry_after)}"
        super().__init__(message, **kw)


def _duration(seconds: float) -> str:
    """``42 s``, ``10 min``, ``3 h 5 min``, ``2 d 4 h``, or ``more than a year``."""
    if not seconds < 366 * 86_400:  # NaN and inf too
        return "more than a year"
    whole = max(round(seconds), 0)
    for unit, size, sub, sub_size in (("d", 86_400, "h", 3_600), ("h", 3_600, "min", 60)):
        if whole >= size:
            rest = (whole % size) // sub_size
            return f"{whole // size} {unit}" + (f" {rest} {sub}" if rest else "")
    return f"{whole // 60} min" if whole >= 60 and whole % 60 == 0 else f"{whole} s"


class ServerError(APIError):
    """5xx that persisted through the retries."""


class TransportError(Error):
    """The connection failed, was dropped or timed out, and retries did not help."""


class DeadlineError(TransportError):
    """One attempt (connect, headers and the whole body) took longer than the client's
    ``deadline``: a server trickling its body cannot hold a window for ever.

    Attributes
    ----------
    deadline : float
        The deadline that passed, in seconds.
    """

    def __init__(
        self, message: str, *, deadline: float = 0.0, window: Window | None = None
    ) -> None:
        self.deadline = deadline
        super().__init__(message, window=window)


def _api_message(e: Any) -> str:
    if isinstance(e, dict):
        code = e.get("code")
        msg = str(e.get("message", e))
        return f"[{code}] {msg}" if code is not None else msg
    return str(e)


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
