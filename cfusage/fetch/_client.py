"""HTTP clients for the Cloudflare billable-usage API: :class:`Client` and :class:`AsyncClient`.

Both fetch any date range as a typed usage frame (:func:`cfusage.to_frame`), splitting it into
windows the API accepts, fetching the windows concurrently, retrying what is worth retrying and
failing the whole call, with the window named, when a window cannot be fetched: never a silently
partial frame. :class:`AsyncClient` is the asyncio implementation (``asyncio.Semaphore`` bounds the
concurrency); :class:`Client` runs the very same request building, retry decisions and response
handling on a ``httpx.Client`` and a thread pool, so it works in a plain script and inside
Jupyter's running event loop alike. Only the I/O differs between the two.

Decisions (each one tested)
---------------------------
Ranges are days, both ends included.
    ``usage("2026-01-01", "2026-06-30")`` covers 1 January through 30 June, like the API's
    ``from``/``to`` and like pandas date slicing. ``start`` and ``end`` may be ``str``,
    ``datetime.date``, ``datetime.datetime`` or ``pandas.Timestamp`` (an aware time is first
    converted to UTC; only its day counts).
Windows.
    The half-open range ``[start, end + 1 day)`` is split into half-open windows ``[s, e)`` of at
    most 30 days (:func:`windows`; 365 days make 13 windows). Each is requested with ``from=s`` and
    ``to=e``, so ``to - from <= 30`` days: at most 31 calendar days counted inclusively, accepted
    whether the API reads ``to`` as inclusive or exclusive. Only records whose
    ``ChargePeriodStart`` falls in ``[s, e)`` are kept, so every day belongs to exactly one window
    under either reading: no day is dropped and none is counted twice. The rule is applied to
    every response, frames and :meth:`Client.raw` envelopes alike, so ``raw("2026-03-01",
    "2026-03-31")`` holds exactly March (an API reading ``to`` inclusively sends 1 April too; it is
    cut). The account-level POST (``To`` exclusive) uses the same windows.
Completeness.
    ``df.attrs["cfusage"]["complete_through"]`` is the last day of the range the API has delivered
    in full. The API delivers a day about a day late, so the candidate is
    ``min(end, today - 2 days)`` (UTC); it is the answer when the response has rows on or after
    that day, otherwise the last day that has rows (``None`` when there are none).
Retries (:class:`Retry`).
    Connection errors, timeouts, dropped connections, truncated bodies and 5xx are retried up to
    ``max_attempts`` times with exponential backoff and jitter. A 429 is retried within a time
    budget rather than a count: ``Retry-After`` (seconds or an HTTP date) is honoured, and without
    it the client backs off exponentially on its own (capped at ``max_backoff``) until the sum of
    its waits reaches ``max_wait`` (330 s by default: the API's 5-minute block after 1200 requests
    per 5 minutes, plus a margin). A ``Retry-After`` longer than what is left of the budget raises
    :class:`~cfusage.RateLimitError` at once, its ``retry_after`` saying when to try again. A
    negative or non-finite ``Retry-After`` is no instruction (as if absent). Each wait after a
    429 is announced: a ``WARNING`` on ``logging.getLogger("cfusage")`` and the progress bar's
    postfix say "rate limited (no Retry-After); retrying in 30 s at 14:05:12 UTC". Other 4xx are
    never retried.
Limits (``max_response_bytes``, ``deadline``).
    Bodies are streamed and decoded by the client itself (it asks for ``gzip, deflate`` only), at
    most 1 MiB per step, against ``max_response_bytes`` (2 GiB by default) of decoded body: past
    it the download stops with :class:`~cfusage.ResponseTooLargeError`, not retried, so a gzip
    bomb never expands in memory. ``deadline`` (300 s by default) bounds one attempt from the
    request to the body's last byte (``timeout`` bounds each read, and is capped at ``deadline``);
    past it :class:`~cfusage.DeadlineError`, retried like a timeout and counted in
    ``Retry.max_attempts``. Well-formed JSON that cannot be read (a number such as ``1e400``,
    nesting too deep) is a :class:`~cfusage.ResponseError` naming the window, not retried; no
    exception but a cfusage :class:`~cfusage.Error` leaves a fetch.
Errors.
    401 :class:`~cfusage.AuthenticationError`, 403 :class:`~cfusage.PermissionDeniedError` (with a
    hint about Billing Read and the restricted alpha), 400 :class:`~cfusage.BadRequestError`
    (carrying the API's ``errors[]``), 404 :class:`~cfusage.NotFoundError`, 429
    :class:`~cfusage.RateLimitError`, 5xx :class:`~cfusage.ServerError`, any other status
    :class:`~cfusage.APIError`; a 200 with ``success: false``, a body that is not JSON or a
    truncated body :class:`~cfusage.ResponseError`; a connection that fails or times out
    :class:`~cfusage.TransportError`. Every one carries ``window`` (first and last day, inclusive).
    No httpx exception is chained (``__cause__``): httpx errors hold the request and its
    ``Authorization`` header; a description of it, token scrubbed, is in the message.
Cache.
    Response bodies are cached on disk, gzip'd, for notebooks that re-run: only for requests whose
    ``to`` date is at least 3 days before today (the API may still revise its latest days), keyed
    by the sha256 of a token fingerprint (HMAC-SHA-256 of the token under a fixed key, truncated to
    128 bits), the method, base URL, path (which holds the organization or account id), sorted
    query parameters and JSON body. A client with another token misses the cache and asks the
    API, which checks the token; neither the token nor its fingerprint is written anywhere (the
    file name is the hash of the whole key). The directory is ``cache_dir``, else
    ``$CFUSAGE_CACHE_DIR``, else ``$XDG_CACHE_HOME/cfusage``, else ``~/.cache/cfusage``. Writes are
    atomic (temporary file + ``os.replace``). ``cache=False`` bypasses it; ``clear_cache()`` empties
    it.
Secrets.
    The token is required: no ``token=`` and no ``$CLOUDFLARE_API_TOKEN`` raises
    :class:`~cfusage.TokenError` when the client is built. Surrounding whitespace is stripped (a
    file's trailing newline, a CRLF ``.env``); a token that still holds a control character, a
    space or a non-ASCII character cannot be a header value and raises ``TokenError`` naming the
    kind of character and its position, never the token. The token is sent only in the
    ``Authorization`` header. It never appears in ``repr(client)`` (``token=[secure]``), in log
    records (``logging.getLogger("cfusage")`` logs method, path, status and elapsed time at
    DEBUG, never headers), in exception messages or their chain, in the progress bar or in the
    cache; :func:`scrub_secret` removes it, in its escaped forms too, from any text quoted from
    elsewhere.

Examples
--------
>>> from cfusage.fetch._client import Client
>>> Client(token="secret", organization_id="org1", base_url="http://127.0.0.1:8787/client/v4")
Client(base_url='http://127.0.0.1:8787/client/v4', organization_id='org1', token=[secure])
>>> [(str(s), str(e)) for s, e in windows("2026-01-01", "2026-02-15")]
[('2026-01-01', '2026-01-31'), ('2026-01-31', '2026-02-16')]
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import gzip
import hashlib
import hmac
import inspect
import io
import json
import logging
import math
import os
import random
import re
import tempfile
import threading
import time
import urllib.parse
import zlib
from collections.abc import Callable, Generator, Iterable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import msgspec
import pandas as pd
from tqdm.auto import tqdm

from .. import io as _frame
from ..errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    DeadlineError,
    Error,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseError,
    ResponseTooLargeError,
    ServerError,
    TokenError,
    TransportError,
)
from ..io import DateLike, utc_day

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_DEADLINE",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "AsyncClient",
    "Client",
    "Retry",
    "format_duration",
    "scrub_secret",
    "windows",
]

#: Where the API lives unless ``base_url`` or ``CLOUDFLARE_BASE_URL`` says otherwise.
DEFAULT_BASE_URL = "https://api.cloudflare.com/client/v4"
#: Longest window, in days, as ``to - from``: 31 calendar days counted inclusively.
MAX_WINDOW_DAYS = 30
#: A request is cached only when its ``to`` date is at least this many days before today.
FINAL_AFTER_DAYS = 3
#: The API delivers a day about a day late: the last day assumed complete is today minus this.
DELIVERY_LAG_DAYS = 2
#: Largest decoded response body accepted, in bytes (2 GiB). A 31-day window of an organization
#: with 1,000 accounts each using 100 billable metrics is 3.1 million records, about 1.9 GB of
#: JSON at ~600 bytes a record; the organizations we know of send a few MB.
DEFAULT_MAX_RESPONSE_BYTES = 2 * 1024**3
#: Longest one attempt may take, in seconds, from sending the request to the body's last byte.
DEFAULT_DEADLINE = 300.0
#: Encodings the client decodes itself, against the size cap, as the body streams in.
_ACCEPT_ENCODING = "gzip, deflate"
_CHUNK = 1 << 20  # decode at most this many bytes per step, so the cap is checked as we go

_logger = logging.getLogger("cfusage")
_USER_AGENT = "cfusage (+https://github.com/cfusage)"
_T = TypeVar("_T")
_Window = tuple[dt.date, dt.date]
# What an operation asks to have fetched: the calls, their parser, and what the progress bar says.
_Batch = tuple[list["_Call"], Callable[["_Call", bytes], Any], str]
# An operation (usage, raw, ...) without its I/O: yields batches, is sent each batch's results
# (or thrown its error) and returns the operation's result. Each client runs it its own way.
_Steps = Generator[_Batch, list[Any] | None, _T]


# --------------------------------------------------------------------------------------------
# Retry policy


@dataclass(frozen=True, slots=True)
class Retry:
    """How hard to try before a window fails.

    Parameters
    ----------
    max_attempts : int
        Attempts per request (the first included) against connection errors, timeouts, dropped
        connections, truncated bodies and 5xx. 429s do not count here: they are bounded by
        ``max_wait``.
    backoff : float
        First wait in seconds; each further wait doubles it. Also the shortest wait after a 429
        (a ``Retry-After: 0`` waits ``backoff``), so it must be positive.
    max_backoff : float
        Longest single wait of the client's own backoff.
    max_wait : float
        Ceiling on the sum of waits for one request. The default, 330 s, outlasts the API's
        5-minute block after 1200 requests in 5 minutes. A ``Retry-After`` beyond what is left of
        it raises :class:`~cfusage.RateLimitError` at once.
    jitter : bool
        Draw each of the client's own waits uniformly from ``[d / 2, d]`` instead of waiting
        exactly ``d``, so concurrent windows do not retry in lockstep.

    Raises
    ------
    ValueError
        If a field is out of range (``max_attempts < 1``, ``backoff <= 0``, negative waits).

    Examples
    --------
    >>> Retry().delays(5, jitter=False)
    [0.5, 1.0, 2.0, 4.0, 8.0]
    >>> Retry(max_attempts=3, backoff=1.0, max_backoff=1.5).delays(3, jitter=False)
    [1.0, 1.5, 1.5]
    """

    max_attempts: int = 5
    backoff: float = 0.5
    max_backoff: float = 60.0
    max_wait: float = 330.0
    jitter: bool = True

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"Retry.max_attempts={self.max_attempts!r}: must be at least 1")
        if not self.backoff > 0:
            raise ValueError(f"Retry.backoff={self.backoff!r}: must be positive")
        if self.max_backoff < self.backoff:
            raise ValueError(
                f"Retry.max_backoff={self.max_backoff!r}: must be at least backoff={self.backoff!r}"
            )
        if self.max_wait < 0:
            raise ValueError(f"Retry.max_wait={self.max_wait!r}: must not be negative")

    def delay(
        self, n: int, rng: random.Random | None = None, *, jitter: bool | None = None
    ) -> float:
        """The client's own wait before retry number ``n`` (1 for the first retry).

        Parameters
        ----------
        n : int
            Which retry (1-based).
        rng : random.Random, optional
            Source of the jitter (default: the ``random`` module).
        jitter : bool, optional
            Override :attr:`jitter`.

        Returns
        -------
        float
            ``min(max_backoff, backoff * 2 ** (n - 1))``, times a uniform draw from
            ``[0.5, 1]`` with jitter.

        Examples
        --------
        >>> Retry(backoff=2.0).delay(3, jitter=False)
        8.0
        """
        d = min(self.max_backoff, self.backoff * 2.0 ** (n - 1))
        if self.jitter if jitter is None else jitter:
            d *= 0.5 + 0.5 * (rng or random).random()
        return d

    def delays(self, n: int, *, jitter: bool | None = None) -> list[float]:
        """The first ``n`` waits of the client's own backoff (a look at the schedule).

        Examples
        --------
        >>> Retry(backoff=1.0, max_backoff=3.0).delays(4, jitter=False)
        [1.0, 2.0, 3.0, 3.0]
        """
        return [self.delay(i, jitter=jitter) for i in range(1, n + 1)]


@dataclass
class _Failure:
    """One attempt that did not give a usable body, and whether another attempt may help."""

    error: Error
    retryable: bool
    cause: BaseException | None = None
    retry_after: float | None = None
    rate_limited: bool = False


class _Backoff:
    """Retry bookkeeping for one request: decides how long to wait, or gives up by raising."""

    def __init__(self, retry: Retry, rng: random.Random, window: _Window) -> None:
        self.retry = retry
        self.rng = rng
        self.window = window
        self.failures = 1  # attempts made so far that were not 429s, counting the one to come
        self.limited = 0
        self.waited = 0.0

    def next_wait(self, failure: _Failure) -> float:
        retry = self.retry
        remaining = retry.max_wait - self.waited
        if not failure.retryable:
            raise failure.error from failure.cause
        if failure.rate_limited:
            self.limited += 1
            errors = getattr(failure.error, "errors", ())
            if remaining <= 0:
                raise RateLimitError(
                    f"still rate limited after waiting {format_duration(self.waited)} in total "
                    f"(Retry.max_wait={retry.max_wait:g})"
                    + (
                        ""
                        if failure.retry_after is not None
                        else "; no Retry-After (or an unusable one)"
                    ),
                    retry_after=failure.retry_after,
                    status_code=429,
                    errors=errors,
                    window=self.window,
                ) from failure.cause
            if failure.retry_after is not None:
                if failure.retry_after > remaining:
                    raise RateLimitError(
                        "rate limited; Retry-After asks for "
                        f"{format_duration(failure.retry_after)}, more than the "
                        f"{format_duration(remaining)} left of the retry ceiling "
                        f"(Retry.max_wait={retry.max_wait:g})",
                        retry_after=failure.retry_after,
                        status_code=429,
                        errors=errors,
                        window=self.window,
                    ) from failure.cause
                wait_for = min(max(failure.retry_after, retry.backoff), remaining)
            else:
                wait_for = min(retry.delay(self.limited, self.rng), remaining)
        else:
            if self.failures >= retry.max_attempts:
                raise failure.error from failure.cause
            wait_for = retry.delay(self.failures, self.rng)
            if failure.retry_after is not None:
                wait_for = max(wait_for, failure.retry_after)
            if wait_for > remaining:
                raise failure.error from failure.cause
            self.failures += 1
        self.waited += wait_for
        return wait_for


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date).

    ``None`` when absent or unusable: a negative or non-finite number is no instruction (the
    client then backs off on its own, as without the header). An HTTP date in the past is 0.
    """
    if value is None or not value.strip():
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def format_duration(seconds: float) -> str:
    """A wait in words a person reads at a glance: ``0.5 s``, ``42 s``, ``5 min 30 s``,
    ``2 h 5 min``, ``3 d 4 h``; past a year, ``more than a year``.

    Examples
    --------
    >>> [format_duration(s) for s in (0.25, 42, 330, 7500, 273600, 1e12)]
    ['0.25 s', '42 s', '5 min 30 s', '2 h 5 min', '3 d 4 h', 'more than a year']
    """
    if not math.isfinite(seconds) or seconds >= 365 * 86400:
        return "more than a year"
    seconds = max(0.0, seconds)
    if seconds < 10:
        return f"{seconds:.3g} s"
    whole = round(seconds)
    for unit, size, sub, sub_size in (
        ("d", 86400, "h", 3600),
        ("h", 3600, "min", 60),
        ("min", 60, "s", 1),
    ):
        if whole >= size:
            big, rest = divmod(whole, size)
            small = rest // sub_size
            return f"{big} {unit} {small} {sub}" if small else f"{big} {unit}"
    return f"{whole} s"


# --------------------------------------------------------------------------------------------
# Dates and windows


def _today() -> dt.date:
    """Today in UTC (the API's days are UTC days). Tests replace this."""
    return dt.datetime.now(dt.UTC).date()


def _range(start: DateLike, end: DateLike) -> tuple[dt.date, dt.date]:
    first, last = utc_day(start, "start"), utc_day(end, "end")
    if last < first:
        raise ValueError(f"end={last.isoformat()} is before start={first.isoformat()}")
    return first, last


def windows(
    start: DateLike, end: DateLike, *, days: int = MAX_WINDOW_DAYS
) -> list[tuple[dt.date, dt.date]]:
    """Split the days ``start`` to ``end`` (both included) into half-open windows ``[s, e)``.

    Parameters
    ----------
    start, end : str, date, datetime or pandas.Timestamp
        First and last day of the range, both included.
    days : int
        Longest window, as ``e - s`` in days (default 30, so that ``from=s&to=e`` spans at most
        31 calendar days even if the API reads ``to`` as inclusive).

    Returns
    -------
    list of (datetime.date, datetime.date)
        Consecutive windows covering ``[start, end + 1 day)`` exactly: each ``e`` is the next
        window's ``s``; the last ``e`` is ``end + 1 day``.

    Raises
    ------
    ValueError
        If a day cannot be read, ``end`` is before ``start``, or ``days < 1``.

    Examples
    --------
    >>> len(windows("2026-01-01", "2026-12-31"))
    13
    >>> [(str(s), str(e)) for s, e in windows("2026-03-01", "2026-03-01")]
    [('2026-03-01', '2026-03-02')]
    """
    if days < 1:
        raise ValueError(f"days={days!r}: a window must span at least one day")
    first, last = _range(start, end)
    stop = last + dt.timedelta(days=1)
    out: list[tuple[dt.date, dt.date]] = []
    s = first
    step = dt.timedelta(days=days)
    while s < stop:
        e = min(s + step, stop)
        out.append((s, e))
        s = e
    return out


# --------------------------------------------------------------------------------------------
# Requests and responses (shared by Client and AsyncClient)


class _Secret:
    """A token that shows as ``[secure]`` wherever it is printed."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "[secure]"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("an API token is not picklable")


_TOKEN_ENV = "CLOUDFLARE_API_TOKEN"


def _clean_token(value: object, source: str) -> str:
    """The token to send: surrounding whitespace stripped, refused if it cannot be a header value.

    A token read from a file or a CRLF ``.env`` often ends in ``\\n``, ``\\r\\n`` or a space;
    those are stripped. What is left must be visible ASCII (``!`` to ``~``): a control
    character, a space or a non-ASCII character inside cannot be sent in an HTTP header, and
    httpx would put the token's text in its error. :class:`~cfusage.TokenError` names the
    problem and its position, never the token.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        raise TokenError(
            f"no API token: pass token= or set ${_TOKEN_ENV} (a token with Billing Read)"
        )
    if not isinstance(value, str):
        raise TokenError(f"the API token ({source}) must be a str, not {type(value).__name__}")
    token = value.strip()
    for i, char in enumerate(token):
        if "!" <= char <= "~":
            continue
        code = ord(char)
        if code < 0x20 or 0x7F <= code < 0xA0:
            kind = f"a control character (U+{code:04X})"
        elif char == " ":
            kind = "a space"
        else:
            kind = "a non-ASCII character"
        raise TokenError(
            f"the API token ({source}) cannot be sent in an HTTP header: it holds {kind} at "
            f"position {i + 1} of {len(token)} (whitespace around it is stripped, not inside "
            "it); copy the token again"
        )
    return token


_VALUE_CHAR = r"[A-Za-z0-9_\-]"  # a character that would make the match part of a longer word
_BEFORE = f"(?:(?<=%[0-9A-Fa-f]{{2}})|(?<!{_VALUE_CHAR}))"  # a percent escape is a boundary
_AFTER = f"(?!{_VALUE_CHAR})"


def _secret_forms(secret: str) -> list[str]:
    """The ways ``secret`` can be written in a message: as is, repr-escaped (``tok\\n``),
    ``unicode_escape``d, as bytes (``\\xc3\\xa9``), percent-encoded; longest first."""
    forms = {secret, secret.strip()}
    for text in list(forms):
        forms.add(repr(text)[1:-1])
        forms.add(text.encode("unicode_escape").decode("ascii"))
        forms.add(repr(text.encode("utf-8", "backslashreplace"))[2:-1])
        forms.add(urllib.parse.quote(text, safe=""))
        forms.add(urllib.parse.quote_plus(text, safe=""))
        every = "".join(c if c.isascii() and c.isalnum() else urllib.parse.quote(c, safe="")
                        if not c.isascii() else f"%{ord(c):02X}" for c in text)  # fmt: skip
        forms.update((every, re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), every)))
    return sorted((f for f in forms if f), key=len, reverse=True)


def scrub_secret(text: str, *secrets: str | None) -> str:
    """``text`` with every written form of each secret replaced by ``[secure]``.

    A secret is replaced where it stands as a value, not inside a longer word: the character
    before and after the match must not be a letter, digit, ``_`` or ``-`` (a percent escape
    such as ``%20`` just before it counts as a boundary). So a token
    ``tok`` is scrubbed from ``Bearer tok``, ``b'Bearer tok\\n'`` and ``?t=tok%0A``, and a token
    ``wrong`` leaves "wrong" in "wrongly" alone. Escaped forms are covered (see
    :func:`_secret_forms`).

    Examples
    --------
    >>> scrub_secret("Illegal header value b'Bearer abc123\\\\n'", "abc123\\n")
    "Illegal header value b'Bearer [secure]'"
    >>> scrub_secret("wrongly typed", "wrong")
    'wrongly typed'
    """
    for secret in secrets:
        if not secret or not secret.strip():
            continue
        for form in _secret_forms(secret):
            text = re.sub(_BEFORE + re.escape(form) + _AFTER, "[secure]", text)
    return text


@dataclass(frozen=True, slots=True)
class _Call:
    """One request of a fetch: everything needed to send it, cache it and name it in errors."""

    method: str
    path: str
    params: tuple[tuple[str, str], ...]
    body: bytes | None
    window: _Window  # half-open [s, e)
    cacheable: bool

    @property
    def days(self) -> _Window:
        """The window as users see it: first and last day, both included."""
        return (self.window[0], self.window[1] - dt.timedelta(days=1))


def _api_errors(body: bytes) -> list[dict[str, Any]]:
    """The envelope's ``errors[]`` from an error body, or ``[]`` when it has none or is not JSON."""
    try:
        data = msgspec.json.decode(body)
    except (msgspec.DecodeError, RecursionError):
        return []
    errors = data.get("errors") if isinstance(data, dict) else None
    if not isinstance(errors, list):
        return []
    return [e if isinstance(e, dict) else {"message": str(e)} for e in errors]


def _json_problem(body: bytes) -> tuple[str, bool] | None:
    """Why ``body`` is not usable JSON and whether fetching it again may help; ``None`` if it is.

    Text that is not JSON (an HTML page from a proxy) or is cut short may be a passing fault:
    retried. Well-formed JSON that cannot be represented (a number out of range such as
    ``1e400``, nesting too deep) would come back the same: not retried.
    """
    try:
        msgspec.json.decode(body)
    except msgspec.ValidationError as exc:  # well-formed, not representable (1e400)
        return f"the body is JSON that cannot be read ({exc})", False
    except msgspec.DecodeError:
        return f"the body is not JSON or was cut short ({len(body):,} bytes)", True
    except RecursionError:
        return "the body is JSON nested too deeply to read", False
    return None


def _capped_timeout(timeout: float | httpx.Timeout, deadline: float) -> httpx.Timeout:
    """``timeout`` with no phase (connect, read, write, pool) longer than ``deadline``."""
    t = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
    return httpx.Timeout(
        connect=deadline if t.connect is None else min(t.connect, deadline),
        read=deadline if t.read is None else min(t.read, deadline),
        write=deadline if t.write is None else min(t.write, deadline),
        pool=deadline if t.pool is None else min(t.pool, deadline),
    )


class _BodyReader:
    """Decodes a streamed body as it arrives, against the size cap and the attempt's deadline.

    The client decodes ``gzip`` and ``deflate`` itself (they are all it asks for), at most
    :data:`_CHUNK` bytes per step, so a body that breaks the cap is stopped within a chunk of it,
    however well it compresses: a gzip bomb never expands in memory.
    """

    def __init__(
        self, call: _Call, response: httpx.Response, limit: int, deadline_at: float
    ) -> None:
        self.call = call
        self.limit = limit
        self.deadline_at = deadline_at
        self.out = io.BytesIO()
        self.size = 0
        encoding = response.headers.get("Content-Encoding", "").strip().lower()
        codings = [c.strip() for c in encoding.split(",") if c.strip() not in ("", "identity")]
        self.failure: _Failure | None = None
        self._zlib: Any = None
        self._wbits = 0
        if len(codings) > 1 or (codings and codings[0] not in ("gzip", "x-gzip", "deflate")):
            self.failure = _Failure(
                ResponseError(
                    f"the body is sent with Content-Encoding {encoding[:40]!r}, which the client "
                    f"did not ask for (it asks for {_ACCEPT_ENCODING})",
                    window=call.days,
                ),
                False,
            )
            return
        if codings:
            self._wbits = 16 + zlib.MAX_WBITS if codings[0] != "deflate" else zlib.MAX_WBITS
            self._zlib = zlib.decompressobj(self._wbits)
        else:
            length = response.headers.get("Content-Length", "")
            if length.isdigit() and int(length) > limit:
                self.failure = self._too_large(int(length))

    def _too_large(self, size: int | None = None) -> _Failure:
        what = f"is {size:,} bytes" if size is not None else "grew"
        return _Failure(
            ResponseTooLargeError(
                f"the response body {what} past max_response_bytes={self.limit:,} "
                f"({self.limit / 1024**2:,.0f} MiB) once decoded; the download was stopped and "
                "is not retried (the same request would get the same body). If this window "
                "really is that large, pass a larger max_response_bytes=",
                limit=self.limit,
                window=self.call.days,
            ),
            False,
        )

    def late(self) -> bool:
        return time.perf_counter() > self.deadline_at

    def feed(self, data: bytes) -> bool:
        """Take one raw chunk; False once the body broke the cap (``failure`` says so)."""
        if self._zlib is None:
            return self._put(data)
        while data:
            room = self.limit - self.size
            piece = self._zlib.decompress(data, min(room + 1, _CHUNK))
            if not self._put(piece):
                return False
            data = self._zlib.unconsumed_tail
            if not data and self._zlib.eof and self._zlib.unused_data:  # another gzip member
                data = self._zlib.unused_data
                self._zlib = zlib.decompressobj(self._wbits)
            elif not data and not piece:
                break
        return True

    def preloaded(self, content: bytes) -> None:
        """A body the transport has already read and decoded (a mock): check the cap only."""
        self._zlib = None
        self._put(content)

    def _put(self, piece: bytes) -> bool:
        self.size += len(piece)
        if self.size > self.limit:
            self.failure = self._too_large()
            return False
        self.out.write(piece)
        return True

    def body(self) -> bytes | _Failure:
        """The decoded body, or the failure: a cap broken, a compressed stream cut short."""
        if self.failure is not None:
            return self.failure
        if self._zlib is not None:
            try:
                tail = self._zlib.flush()
            except zlib.error as exc:
                tail, self.failure = b"", self._bad_coding(exc)
            if self.failure is None and not self._put(tail):
                return self.failure  # type: ignore[return-value]
            if self.failure is None and not self._zlib.eof:
                self.failure = _Failure(
                    ResponseError("truncated body (the compressed stream ends early)",
                                  window=self.call.days),
                    True,
                )  # fmt: skip
            if self.failure is not None:
                return self.failure
        return self.out.getvalue()

    def _bad_coding(self, exc: zlib.error) -> _Failure:
        return _Failure(
            ResponseError(f"the body could not be decoded ({exc})", window=self.call.days), True
        )

    def feed_checked(self, data: bytes) -> bool:
        """:meth:`feed`, turning a corrupt compressed stream into a failure."""
        try:
            return self.feed(data)
        except zlib.error as exc:
            self.failure = self._bad_coding(exc)
            return False


_STATUS_ERRORS: dict[int, tuple[type[APIError], str]] = {
    400: (BadRequestError, "bad request"),
    401: (AuthenticationError, "authentication failed"),
    403: (
        PermissionDeniedError,
        "permission denied: the token needs the Billing Read (or Billing Edit) permission, and "
        "the billable-usage API is a restricted alpha: the organization must be allow-listed by "
        "Cloudflare",
    ),
    404: (NotFoundError, "not found: check the organization or account id and the base URL"),
}


class _Core:
    """Configuration, request building, response handling and cache shared by both clients."""

    _http: Any
    _http_class: Callable[
        ..., Any
    ]  # what ``http_client`` defaults to (httpx.Client or AsyncClient)

    def __init__(
        self,
        *,
        token: str | None,
        base_url: str | None,
        organization_id: str | None,
        concurrency: int,
        retry: Retry | None,
        timeout: float | httpx.Timeout,
        progress: bool,
        cache: bool,
        cache_dir: str | os.PathLike[str] | None,
        http_client: httpx.Client | httpx.AsyncClient | None,
        transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None,
        seed: int | None,
        max_response_bytes: int,
        deadline: float,
    ) -> None:
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ValueError(f"concurrency={concurrency!r}: must be a positive integer")
        if (
            isinstance(max_response_bytes, bool)
            or not isinstance(max_response_bytes, int)
            or max_response_bytes < 1
        ):
            raise ValueError(
                f"max_response_bytes={max_response_bytes!r}: must be a positive number of bytes"
            )
        if isinstance(deadline, bool) or not isinstance(deadline, int | float) or not deadline > 0:
            raise ValueError(f"deadline={deadline!r}: must be a positive number of seconds")
        if token is not None:
            self._token = _Secret(_clean_token(token, "token="))
        else:
            self._token = _Secret(_clean_token(os.environ.get(_TOKEN_ENV), f"${_TOKEN_ENV}"))
        self.max_response_bytes = max_response_bytes
        self.deadline = float(deadline)
        self.base_url = (
            base_url or os.environ.get("CLOUDFLARE_BASE_URL") or DEFAULT_BASE_URL
        ).rstrip("/")
        self.organization_id = organization_id or os.environ.get("CLOUDFLARE_ORGANIZATION_ID")
        self.concurrency = concurrency
        self.retry = retry if retry is not None else Retry()
        self.timeout = timeout
        self.progress = progress
        self.cache = cache
        self.cache_dir = _cache_dir(cache_dir)
        self._rng = random.Random(seed)
        self._owns_http = http_client is None
        self._http = http_client or self._http_class(
            transport=transport,
            limits=httpx.Limits(max_connections=max(10, concurrency)),
        )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(base_url={self.base_url!r}, "
            f"organization_id={self.organization_id!r}, token=[secure])"
        )

    # ---- planning -------------------------------------------------------------------------

    def _org_path(self) -> str:
        if not self.organization_id:
            raise Error(
                "no organization id: pass organization_id= or set CLOUDFLARE_ORGANIZATION_ID"
            )
        return f"/organizations/{self.organization_id}/billable/usage"

    @staticmethod
    def _account_path(account_id: str) -> str:
        if not isinstance(account_id, str) or not account_id.strip():
            raise ValueError(f"account_id={account_id!r}: pass the account's id (a string)")
        return f"/accounts/{account_id.strip()}/billable/usage"

    def _plan_get(
        self,
        path: str,
        first: dt.date,
        last: dt.date,
        params: dict[str, str | None],
        cache: bool | None,
    ) -> list[_Call]:
        use_cache = self.cache if cache is None else cache
        final = _today() - dt.timedelta(days=FINAL_AFTER_DAYS)
        extra = tuple(sorted((k, v) for k, v in params.items() if v is not None))
        return [
            _Call(
                "GET",
                path,
                (("from", s.isoformat()), ("to", e.isoformat()), *extra),
                None,
                (s, e),
                use_cache and e <= final,
            )
            for s, e in windows(first, last)
        ]

    def _plan_post(
        self,
        path: str,
        first: dt.date,
        last: dt.date,
        body: dict[str, Any],
        cache: bool | None,
    ) -> list[_Call]:
        use_cache = self.cache if cache is None else cache
        final = _today() - dt.timedelta(days=FINAL_AFTER_DAYS)
        calls = []
        for s, e in windows(first, last):
            payload = {"TimePeriod": {"From": s.isoformat(), "To": e.isoformat()}, **body}
            content = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
            calls.append(_Call("POST", path, (), content, (s, e), use_cache and e <= final))
        return calls

    # ---- one request ----------------------------------------------------------------------

    def _request_args(self, call: _Call) -> dict[str, Any]:
        headers = {
            "Accept": "application/json",
            "Accept-Encoding": _ACCEPT_ENCODING,
            "User-Agent": _USER_AGENT,
            "Authorization": f"Bearer {self._token.reveal()}",
        }
        if call.body is not None:
            headers["Content-Type"] = "application/json"
        return {
            "method": call.method,
            "url": self.base_url + call.path,
            "params": list(call.params),
            "content": call.body,
            "headers": headers,
            "timeout": _capped_timeout(self.timeout, self.deadline),
        }

    def _reader(self, call: _Call, response: httpx.Response, started: float) -> _BodyReader:
        return _BodyReader(call, response, self.max_response_bytes, started + self.deadline)

    def _deadline_failure(self, call: _Call) -> _Failure:
        return _Failure(
            DeadlineError(
                f"the response took longer than the deadline of {format_duration(self.deadline)} "
                f"(deadline={self.deadline:g}; counted as one attempt of Retry.max_attempts)",
                deadline=self.deadline,
                window=call.days,
            ),
            True,
        )

    def _log(self, call: _Call, status: int | str, started: float) -> None:
        if _logger.isEnabledFor(logging.DEBUG):
            query = "&".join(f"{k}={v}" for k, v in call.params)
            _logger.debug(
                "%s %s%s -> %s in %.3f s",
                call.method,
                call.path,
                f"?{query}" if query else "",
                status,
                time.perf_counter() - started,
            )

    def _transport_failure(self, call: _Call, exc: httpx.RequestError, started: float) -> _Failure:
        """Map an httpx exception to ours: the one place that does.

        Only a description of the httpx error is kept, with the token scrubbed from it: the
        exception itself is not chained (its ``.request`` holds the ``Authorization`` header).
        """
        name = type(exc).__name__
        detail = scrub_secret(str(exc) or name, self._token.reveal())
        if isinstance(exc, httpx.TimeoutException):
            if time.perf_counter() - started >= self.deadline:
                return self._deadline_failure(call)
            return _Failure(TransportError(f"timed out ({name}): {detail}", window=call.days), True)
        if isinstance(exc, httpx.RemoteProtocolError) and "message body" in detail:
            return _Failure(ResponseError(f"truncated body ({detail})", window=call.days), True)
        if isinstance(exc, httpx.DecodingError):
            return _Failure(
                ResponseError(f"the body could not be decoded ({detail})", window=call.days), True
            )
        if isinstance(exc, httpx.UnsupportedProtocol | httpx.LocalProtocolError):
            return _Failure(
                TransportError(f"cannot send the request ({name}): {detail}", window=call.days),
                False,
            )
        return _Failure(
            TransportError(f"connection failed ({name}): {detail}", window=call.days), True
        )

    def _check(self, call: _Call, response: httpx.Response, body: bytes) -> bytes | _Failure:
        """The body of a 2xx, or the typed failure an error status stands for."""
        status = response.status_code
        if 200 <= status < 300:
            return body
        errors = _api_errors(body)
        retry_after = _retry_after(response.headers.get("Retry-After"))
        if status == 429:
            error: APIError = RateLimitError(
                "rate limited", retry_after=retry_after, status_code=429, errors=errors,
                window=call.days,
            )  # fmt: skip
            return _Failure(error, True, None, retry_after, rate_limited=True)
        if status >= 500:
            error = ServerError("server error", status_code=status, errors=errors, window=call.days)
            return _Failure(error, True, None, retry_after)
        cls, message = _STATUS_ERRORS.get(status, (APIError, "unexpected status"))
        if status == 401:
            message += ": the token is invalid, expired or revoked"
        return _Failure(cls(message, status_code=status, errors=errors, window=call.days), False)

    def _parse(
        self, call: _Call, body: bytes, parse: Callable[[_Call, bytes], _T]
    ) -> _T | _Failure:
        try:
            return parse(call, body)
        except Error as exc:
            problem = _json_problem(body) if isinstance(exc, ResponseError) else None
            if problem is not None:
                return _Failure(ResponseError(problem[0], window=call.days), problem[1])
            return _Failure(_in_window(exc, call.days), False, exc.__cause__)
        except Exception as exc:  # nothing but a cfusage error leaves the client
            problem = _json_problem(body)
            if problem is not None:
                return _Failure(ResponseError(problem[0], window=call.days), problem[1])
            text = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
            return _Failure(
                ResponseError(
                    f"the body could not be read as usage ({type(exc).__name__}"
                    + (f": {text})" if text else ")"),
                    window=call.days,
                ),
                False,
            )

    # ---- parsers --------------------------------------------------------------------------

    @staticmethod
    def _parse_frame(call: _Call, body: bytes) -> pd.DataFrame:
        """Typed frame of one window, keeping only records that start inside ``[s, e)``."""
        df = _frame.to_frame(body)
        if not len(df):
            return df
        s, e = (pd.Timestamp(d, tz="UTC") for d in call.window)
        start = df["charge_period_start"]
        inside = ((start >= s) & (start < e)).to_numpy(dtype=bool, na_value=False)
        return df if inside.all() else df.loc[inside].reset_index(drop=True)

    @staticmethod
    def _parse_envelope(call: _Call, body: bytes) -> dict[str, Any]:
        """The envelope as sent, its ``result`` cut to the records that start inside ``[s, e)``.

        The same rule as :meth:`_parse_frame`, so :meth:`Client.raw` returns exactly the days
        asked whichever way the API reads ``to``. Records whose ``ChargePeriodStart`` cannot be
        read as a day are kept (``to_frame`` reports them).
        """
        try:
            envelope = msgspec.json.decode(body)
        except (msgspec.DecodeError, RecursionError) as exc:
            raise ResponseError(f"the body is not JSON ({exc})") from None
        if not isinstance(envelope, dict):
            raise ResponseError(f"the body is a JSON {type(envelope).__name__}, not an envelope")
        if envelope.get("success") is False:
            raise ResponseError(
                "the API answered success: false", errors=envelope.get("errors") or []
            )
        result = envelope.get("result")
        if isinstance(result, list):
            envelope["result"] = [r for r in result if _starts_inside(r, call.window)]
        return envelope

    # ---- operations (what the public methods do, minus the I/O) -----------------------------

    def _usage_steps(
        self,
        start: DateLike,
        end: DateLike,
        metric: str | None,
        accounts: str | Iterable[str] | None,
        cache: bool | None,
    ) -> _Steps[pd.DataFrame]:
        first, last = _range(start, end)
        calls = self._plan_get(self._org_path(), first, last, {"metric": metric}, cache)
        try:
            frames = yield calls, self._parse_frame, "usage"
            assert frames is not None  # a batch always answers with its results
        except BadRequestError as exc:
            if metric is None:
                raise
            _logger.info(
                "cfusage: the API rejected metric= (%s); filtering the result instead", exc
            )
            calls = self._plan_get(self._org_path(), first, last, {}, cache)
            frames = yield calls, self._parse_frame, "usage"
            assert frames is not None  # a batch always answers with its results
        return self._merge(frames, first, last, metric=metric, accounts=accounts, source="usage")

    def _raw_steps(
        self, start: DateLike, end: DateLike, metric: str | None, cache: bool | None
    ) -> _Steps[list[dict[str, Any]]]:
        first, last = _range(start, end)
        calls = self._plan_get(self._org_path(), first, last, {"metric": metric}, cache)
        envelopes = yield calls, self._parse_envelope, "raw"
        assert envelopes is not None  # a batch always answers with its results
        return envelopes

    def _account_usage_steps(
        self, account_id: str, start: DateLike, end: DateLike, cache: bool | None
    ) -> _Steps[pd.DataFrame]:
        first, last = _range(start, end)
        calls = self._plan_get(self._account_path(account_id), first, last, {}, cache)
        frames = yield calls, self._parse_frame, "account usage"
        assert frames is not None  # a batch always answers with its results
        return self._merge(frames, first, last, source="account_usage")

    def _account_costs_steps(
        self,
        account_id: str,
        start: DateLike,
        end: DateLike,
        body: dict[str, Any],
        cache: bool | None,
    ) -> _Steps[pd.DataFrame]:
        first, last = _range(start, end)
        calls = self._plan_post(self._account_path(account_id), first, last, body, cache)
        frames = yield calls, self._parse_frame, "account costs"
        assert frames is not None  # a batch always answers with its results
        return self._merge(frames, first, last, source="account_costs")

    # ---- one attempt's outcome ------------------------------------------------------------

    def _received(
        self,
        call: _Call,
        started: float,
        got: httpx.Response | httpx.RequestError,
        reader: _BodyReader | None,
    ) -> bytes | _Failure:
        """Log one attempt; the body it got, or the failure (transport, size, deadline, status)."""
        if isinstance(got, httpx.RequestError):
            self._log(call, type(got).__name__, started)
            return self._transport_failure(call, got, started)
        assert reader is not None
        body = reader.body()
        if isinstance(body, _Failure) and isinstance(body.error, ResponseTooLargeError):
            self._log(call, f"{got.status_code}, body past max_response_bytes", started)
            return body
        if reader.late():
            self._log(call, f"{got.status_code}, past the deadline", started)
            return self._deadline_failure(call)
        self._log(call, got.status_code, started)
        if isinstance(body, _Failure):
            return body
        return self._check(call, got, body)

    def _notice(self, bar: Any, call: _Call, failure: _Failure, pause: float) -> None:
        """Say in the progress bar and the log that a window is rate limited, and until when."""
        if not failure.rate_limited:
            return
        given = "Retry-After" if failure.retry_after is not None else "no Retry-After"
        text = f"rate limited ({given}); retrying in {format_duration(pause)}"
        try:
            at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=pause)
        except OverflowError:  # a Retry.max_wait of centuries
            pass
        else:
            text += f" at {at:%H:%M:%S} UTC" if pause < 86400 else f" at {at:%Y-%m-%d %H:%M} UTC"
        _logger.warning("cfusage: window %s..%s: %s", call.days[0], call.days[1], text)
        if bar is not None:
            bar.set_postfix_str(text, refresh=True)

    def _kept(self, call: _Call, body: bytes, result: _T | _Failure) -> _T | _Failure:
        """``result``, after caching the body it was parsed from when it is not a failure."""
        if not isinstance(result, _Failure):
            self._cache_put(call, body)
        return result

    # ---- results --------------------------------------------------------------------------

    @staticmethod
    def _merge(
        frames: Sequence[pd.DataFrame],
        first: dt.date,
        last: dt.date,
        *,
        metric: str | None = None,
        accounts: str | Iterable[str] | None = None,
        source: str,
    ) -> pd.DataFrame:
        df = _frame.concat(list(frames))
        complete = _complete_through(df, last)
        keep = None
        if metric is not None:
            keep = (df["x_billable_metric_id"] == metric).to_numpy(dtype=bool, na_value=False)
        if accounts is not None:
            wanted = [accounts] if isinstance(accounts, str) else list(accounts)
            mask = df["billing_account_id"].isin(wanted).to_numpy(dtype=bool, na_value=False)
            keep = mask if keep is None else keep & mask
        if keep is not None and not keep.all():
            df = df.loc[keep].reset_index(drop=True)
        attrs = dict(df.attrs.get("cfusage", {}))
        attrs.update(
            source=source,
            start=first,
            end=last,
            windows=len(frames),
            complete_through=complete,
        )
        df.attrs["cfusage"] = attrs
        return df

    # ---- cache ----------------------------------------------------------------------------

    def _token_fingerprint(self) -> str:
        """HMAC-SHA-256 of the token (fixed key), truncated: tells tokens apart, reveals none."""
        return hmac.new(
            b"cfusage response cache", self._token.reveal().encode(), hashlib.sha256
        ).hexdigest()[:32]

    def _cache_path(self, call: _Call) -> Path:
        key = json.dumps(
            [
                self._token_fingerprint(),
                call.method,
                self.base_url,
                call.path,
                sorted(call.params),
                (call.body or b"").hex(),
            ]
        )
        return self.cache_dir / f"{hashlib.sha256(key.encode()).hexdigest()}.json.gz"

    def _cache_get(self, call: _Call) -> bytes | None:
        if not call.cacheable:
            return None
        path = self._cache_path(call)
        try:
            with gzip.open(path, "rb") as fh:
                body = _read_capped(fh, self.max_response_bytes)
        except FileNotFoundError:
            return None
        except (OSError, EOFError, zlib.error):  # a damaged file: forget it and fetch again
            path.unlink(missing_ok=True)
            return None
        return body  # None past the cap: fetch it (and fail) again

    def _cache_put(self, call: _Call, body: bytes) -> None:
        if not call.cacheable:
            return
        path = self._cache_path(call)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json.gz")
            try:
                with (
                    os.fdopen(fd, "wb") as raw,
                    gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz,
                ):
                    gz.write(body)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:  # a cache that cannot be written is not worth failing the fetch
            _logger.warning(
                "cfusage: could not write the response cache in %s: %s", path.parent, exc
            )

    def clear_cache(self) -> int:
        """Delete every cached response in :attr:`cache_dir`.

        Returns
        -------
        int
            How many cached responses were deleted.

        Examples
        --------
        >>> import tempfile
        >>> Client(token="t", organization_id="org1", cache_dir=tempfile.mkdtemp()).clear_cache()
        0
        """
        removed = 0
        if self.cache_dir.is_dir():
            for path in self.cache_dir.glob("*.json.gz"):
                if len(path.name) == 64 + len(".json.gz"):
                    path.unlink(missing_ok=True)
                    removed += 1
        return removed

    def _bar(self, total: int, progress: bool | None, what: str) -> Any:
        show = self.progress if progress is None else progress
        return tqdm(total=total, desc=f"cfusage {what}", unit="window", disable=not show)


def _read_capped(fh: Any, limit: int) -> bytes | None:
    """All of ``fh`` in steps of :data:`_CHUNK` (never one allocation of ``limit``), or ``None``
    once it holds more than ``limit`` bytes."""
    out = io.BytesIO()
    size = 0
    while chunk := fh.read(_CHUNK):
        size += len(chunk)
        if size > limit:
            return None
        out.write(chunk)
    return out.getvalue()


def _starts_inside(record: Any, window: _Window) -> bool:
    """Whether a wire record's ``ChargePeriodStart`` day is in ``[s, e)``; True when unreadable."""
    if not isinstance(record, dict) or not isinstance(record.get("ChargePeriodStart"), str):
        return True
    value = record["ChargePeriodStart"]
    if len(value) >= 10 and value[10:] in ("", "T00:00:00Z") and value[4:5] == "-":
        return window[0].isoformat() <= value[:10] < window[1].isoformat()  # the usual shape
    try:
        day = utc_day(value, "ChargePeriodStart")
    except (Error, ValueError, OverflowError):
        return True
    return window[0] <= day < window[1]


def _in_window(exc: Error, window: _Window) -> Error:
    """The same error, now naming the window it happened in (the base class formats it)."""
    if exc.window is None:
        Error.__init__(exc, exc.message, window=window)
    return exc


def _complete_through(df: pd.DataFrame, last: dt.date) -> dt.date | None:
    """The last day the API has delivered in full (see the module docstring for the rule)."""
    if not len(df):
        return None
    candidate = min(last, _today() - dt.timedelta(days=DELIVERY_LAG_DAYS))
    newest = df["charge_period_start"].max()
    if pd.isna(newest):
        return None
    newest_day = newest.date()
    return candidate if newest_day >= candidate else newest_day


def _cache_dir(value: str | os.PathLike[str] | None) -> Path:
    if value is not None:
        return Path(value).expanduser()
    if os.environ.get("CFUSAGE_CACHE_DIR"):
        return Path(os.environ["CFUSAGE_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
    return Path(base).expanduser() / "cfusage"


def _cost_body(
    metric_ids: Sequence[str] | None,
    product_family_ids: Sequence[str] | None,
    tags: Sequence[str] | None,
    group_by: Sequence[str] | None,
) -> dict[str, Any]:
    filters: dict[str, list[str]] = {}
    for wire, value, name in (
        ("MetricIds", metric_ids, "metric_ids"),
        ("ProductFamilyIds", product_family_ids, "product_family_ids"),
        ("Tags", tags, "tags"),
    ):
        if value is not None:
            filters[wire] = _strings(value, name)
    body: dict[str, Any] = {"Metric": "cost"}
    if filters:
        body["FilterBy"] = filters
    if group_by is not None:
        body["GroupBy"] = _strings(group_by, "group_by")
    return body


def _strings(value: str | Sequence[str], name: str) -> list[str]:
    items = [value] if isinstance(value, str) else list(value)
    bad = [v for v in items if not isinstance(v, str)]
    if bad:
        raise ValueError(f"{name}={value!r}: every item must be a string (got {bad[0]!r})")
    return items


# --------------------------------------------------------------------------------------------
# The synchronous client


class _Abort(Exception):
    """Another window failed: stop this one quietly."""


class Client(_Core):
    """Synchronous client for the billable-usage API (works inside Jupyter's event loop).

    Windows are fetched by a thread pool of ``concurrency`` workers sharing one
    ``httpx.Client``; see the module docstring for the window, retry, cache and error rules.

    Parameters
    ----------
    token : str, optional
        API token with Billing Read; default ``$CLOUDFLARE_API_TOKEN``. Never shown anywhere.
        Surrounding whitespace (a trailing newline from a file, ``\\r`` from a CRLF ``.env``) is
        stripped. No token, or one that still holds a control character, a space or a non-ASCII
        character, raises :class:`~cfusage.TokenError` here, before any request.
    base_url : str, optional
        Default ``$CLOUDFLARE_BASE_URL``, else ``https://api.cloudflare.com/client/v4``.
    organization_id : str, optional
        Default ``$CLOUDFLARE_ORGANIZATION_ID``; needed by :meth:`usage` and :meth:`raw`.
    concurrency : int
        Windows fetched at the same time (default 4).
    retry : Retry, optional
        Retry policy (default ``Retry()``).
    timeout : float or httpx.Timeout
        Timeout of each network step (connect, each read, each write) in seconds (default 60),
        never longer than ``deadline``.
    max_response_bytes : int
        Largest decoded body accepted, in bytes (default 2 GiB, :data:`DEFAULT_MAX_RESPONSE_BYTES`:
        about 3 million records, far above a 31-day window of a large organization). Bodies are
        decoded (gzip, deflate) as they stream in and the download stops at the cap with
        :class:`~cfusage.ResponseTooLargeError` naming the window; it is not retried.
    deadline : float
        Longest one attempt may take, in seconds, from sending the request to the last byte of
        the body (default 300, :data:`DEFAULT_DEADLINE`). ``timeout`` bounds each read; this bounds
        the whole response, so a server trickling its body cannot hold a window for ever. An
        attempt past it fails with :class:`~cfusage.DeadlineError` (a ``TransportError``) naming
        the window, and counts as one of ``Retry.max_attempts`` like any timeout: a window takes
        at most about ``max_attempts * deadline`` plus the waits between attempts.
    progress : bool
        Show a ``tqdm.auto`` progress bar over windows (a widget in Jupyter). Default True.
    cache : bool
        Use the on-disk response cache for final windows (default True).
    cache_dir : str or path, optional
        Where the cache lives (see the module docstring for the default).
    http_client : httpx.Client, optional
        Your own client (proxies, certificates). It is used as is and not closed by :meth:`close`.
    transport : httpx.BaseTransport, optional
        A transport for the client this one creates (ignored with ``http_client``).
    sleep : callable, optional
        ``sleep(seconds)`` used between retries; tests inject a fake. By default the wait ends
        early when another window has failed or the call is interrupted.
    seed : int, optional
        Seed of the backoff jitter.

    Examples
    --------
    >>> from cfusage.sample._server import SampleServer  # the local sample API: no credentials
    >>> with SampleServer() as srv, Client(token="any", base_url=srv.base_url,
    ...         organization_id=srv.org_id, progress=False, cache=False) as client:
    ...     df = client.usage("2026-01-01", "2026-03-31")
    >>> df.attrs["cfusage"]["windows"], df["charge_period_start"].min().date().isoformat()
    (3, '2026-01-01')
    """

    _http_class = httpx.Client

    def __init__(
        self,
        *,
        token: str | None = None,
        base_url: str | None = None,
        organization_id: str | None = None,
        concurrency: int = 4,
        retry: Retry | None = None,
        timeout: float | httpx.Timeout = 60.0,
        progress: bool = True,
        cache: bool = True,
        cache_dir: str | os.PathLike[str] | None = None,
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], object] | None = None,
        seed: int | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        deadline: float = DEFAULT_DEADLINE,
    ) -> None:
        super().__init__(
            token=token,
            base_url=base_url,
            organization_id=organization_id,
            concurrency=concurrency,
            retry=retry,
            timeout=timeout,
            progress=progress,
            cache=cache,
            cache_dir=cache_dir,
            http_client=http_client,
            transport=transport,
            seed=seed,
            max_response_bytes=max_response_bytes,
            deadline=deadline,
        )
        self._sleep = sleep  # None: wait on the call's abort event, so a failure ends the wait

    def close(self) -> None:
        """Close the connection pool (not a ``http_client`` you passed in)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- public API -----------------------------------------------------------------------

    def usage(
        self,
        start: DateLike,
        end: DateLike,
        *,
        metric: str | None = None,
        accounts: str | Iterable[str] | None = None,
        progress: bool | None = None,
        cache: bool | None = None,
    ) -> pd.DataFrame:
        """Organization usage for the days ``start`` to ``end`` (both included) as a typed frame.

        Parameters
        ----------
        start, end : str, date, datetime or pandas.Timestamp
            First and last day, both included. Any length: split into windows of at most 30
            days fetched concurrently (see the module docstring).
        metric : str, optional
            One billable-metric id (``workers_standard_requests``): sent as the API's ``metric``
            parameter and also applied to the result. Revision C of the API has no ``metric``
            parameter; when the API answers 400 to it, the range is fetched again without it
            and filtered here, so the frame holds that metric only either way.
        accounts : str or iterable of str, optional
            Keep these account ids only (applied to the result: the endpoint has no such filter;
            contract-level rows without an account are dropped).
        progress, cache : bool, optional
            Override the client's settings for this call.

        Returns
        -------
        pandas.DataFrame
            The typed frame (:func:`cfusage.to_frame`), de-duplicated on
            :data:`cfusage.schema.KEY`. ``df.attrs["cfusage"]`` holds ``start``, ``end``,
            ``windows`` and ``complete_through``.

        Raises
        ------
        APIError, ResponseError, TransportError, ValidationError
            When any window fails after retries (the error names the window).
        ValueError
            If a day cannot be read or ``end`` is before ``start``.
        Error
            If no organization id is configured.

        Examples
        --------
        >>> from cfusage.sample._server import SampleServer
        >>> with SampleServer() as srv, Client(token="any", base_url=srv.base_url,
        ...         organization_id=srv.org_id, progress=False, cache=False) as client:
        ...     df = client.usage("2025-11-01", "2026-10-31", metric="r2_class_a_operations")
        >>> df.attrs["cfusage"]["windows"], df["x_billable_metric_id"].unique().tolist()
        (13, ['r2_class_a_operations'])
        """
        return self._drive(self._usage_steps(start, end, metric, accounts, cache), progress)

    def raw(
        self,
        start: DateLike,
        end: DateLike,
        *,
        metric: str | None = None,
        progress: bool | None = None,
        cache: bool | None = None,
    ) -> list[dict[str, Any]]:
        """The API's envelopes for the days ``start`` to ``end``, one per window, as sent.

        Nothing is filtered: if the API reads ``to`` as inclusive, consecutive envelopes share
        their boundary day. ``cfusage.to_frame(envelopes)`` de-duplicates on the key; prefer
        :meth:`usage`, which keeps each day from exactly one window.

        Parameters
        ----------
        start, end : str, date, datetime or pandas.Timestamp
            First and last day, both included.
        metric : str, optional
            The API's ``metric`` parameter (revisions A and B).
        progress, cache : bool, optional
            Override the client's settings for this call.

        Returns
        -------
        list of dict
            ``{"success", "errors", "messages", "result"}`` per window, oldest first.

        Raises
        ------
        APIError, ResponseError, TransportError
            When any window fails after retries.

        Examples
        --------
        >>> from cfusage.sample._server import SampleServer
        >>> with SampleServer() as srv, Client(token="any", base_url=srv.base_url,
        ...         organization_id=srv.org_id, progress=False, cache=False) as client:
        ...     envelopes = client.raw("2026-03-01", "2026-03-31")
        >>> len(envelopes), envelopes[0]["success"], envelopes[0]["result"][0]["ChargePeriodStart"]
        (2, True, '2026-03-01T00:00:00Z')
        """
        return self._drive(self._raw_steps(start, end, metric, cache), progress)

    def account_usage(
        self,
        account_id: str,
        start: DateLike,
        end: DateLike,
        *,
        progress: bool | None = None,
        cache: bool | None = None,
    ) -> pd.DataFrame:
        """One account's usage (``GET /accounts/{id}/billable/usage``) as a typed frame.

        Same windows, retries and result as :meth:`usage`.

        Parameters
        ----------
        account_id : str
            The account's id (tag).
        start, end : str, date, datetime or pandas.Timestamp
            First and last day, both included.
        progress, cache : bool, optional
            Override the client's settings for this call.

        Returns
        -------
        pandas.DataFrame

        Raises
        ------
        APIError, ResponseError, TransportError, ValidationError
            When any window fails after retries.

        Examples
        --------
        >>> from cfusage.sample._server import SampleServer
        >>> with SampleServer() as srv, Client(token="any", base_url=srv.base_url,
        ...         organization_id=srv.org_id, progress=False, cache=False) as client:
        ...     account = srv.account_ids[0]
        ...     df = client.account_usage(account, "2026-03-01", "2026-03-31")
        >>> df["billing_account_id"].unique().tolist() == [account]
        True
        """
        return self._drive(self._account_usage_steps(account_id, start, end, cache), progress)

    def account_costs(
        self,
        account_id: str,
        start: DateLike,
        end: DateLike,
        *,
        metric_ids: Sequence[str] | None = None,
        product_family_ids: Sequence[str] | None = None,
        tags: Sequence[str] | None = None,
        group_by: Sequence[str] | None = None,
        progress: bool | None = None,
        cache: bool | None = None,
    ) -> pd.DataFrame:
        """Rated costs of one account (``POST /accounts/{id}/billable/usage``, ``Metric: cost``).

        The newest API revision serves usage only at the organization endpoint; this is where
        costs come from. Each window is posted as
        ``{"TimePeriod": {"From": s, "To": e}, "FilterBy": {...}, "GroupBy": [...],
        "Metric": "cost"}`` (``From`` inclusive, ``To`` exclusive); empty filters are left out.

        Parameters
        ----------
        account_id : str
            The account's id (tag).
        start, end : str, date, datetime or pandas.Timestamp
            First and last day, both included.
        metric_ids, product_family_ids, tags : sequence of str, optional
            ``FilterBy.MetricIds``, ``FilterBy.ProductFamilyIds``, ``FilterBy.Tags``.
        group_by : sequence of str, optional
            ``GroupBy``.
        progress, cache : bool, optional
            Override the client's settings for this call.

        Returns
        -------
        pandas.DataFrame
            The typed frame, costs filled in.

        Raises
        ------
        APIError, ResponseError, TransportError, ValidationError
            When any window fails after retries.
        ValueError
            If a filter holds something other than strings.

        Examples
        --------
        >>> from cfusage.sample._server import SampleServer
        >>> with SampleServer(costs=False) as srv, Client(token="any", base_url=srv.base_url,
        ...         organization_id=srv.org_id, progress=False, cache=False) as client:
        ...     usage = client.usage("2026-03-01", "2026-03-31")
        ...     costs = client.account_costs(srv.account_ids[0], "2026-03-01", "2026-03-31")
        >>> usage["list_cost"].isna().all(), costs["list_cost"].notna().all()
        (np.True_, np.True_)
        """
        body = _cost_body(metric_ids, product_family_ids, tags, group_by)
        return self._drive(self._account_costs_steps(account_id, start, end, body, cache), progress)

    # ---- I/O ------------------------------------------------------------------------------

    def _drive(self, steps: _Steps[_T], progress: bool | None) -> _T:
        """Run an operation: fetch each batch it asks for, then hand it the results or the error."""
        results: list[Any] | None = None  # the first send starts the generator
        error: Error | None = None
        while True:
            try:
                calls, parse, what = steps.send(results) if error is None else steps.throw(error)
            except StopIteration as stop:
                return stop.value
            try:
                results, error = self._run(calls, parse, progress, what), None
            except Error as exc:
                error = exc

    def _run(
        self,
        calls: list[_Call],
        parse: Callable[[_Call, bytes], _T],
        progress: bool | None,
        what: str,
    ) -> list[_T]:
        """Fetch every call on the thread pool; the first failure cancels the rest and is raised."""
        abort = threading.Event()
        results: dict[int, _T] = {}
        with self._bar(len(calls), progress, what) as bar:
            pool = ThreadPoolExecutor(
                max_workers=min(self.concurrency, len(calls)), thread_name_prefix="cfusage"
            )
            try:
                futures: dict[Future[_T], int] = {
                    pool.submit(self._fetch, call, parse, abort, bar): i
                    for i, call in enumerate(calls)
                }
                pending = set(futures)
                while pending:
                    done, pending = wait(pending, return_when=FIRST_EXCEPTION)
                    errors = [e for f in done if (e := f.exception()) is not None]
                    if errors:
                        abort.set()
                        for other in pending:
                            other.cancel()
                        raise next((e for e in errors if not isinstance(e, _Abort)), errors[0])
                    for future in done:
                        results[futures[future]] = future.result()
                        bar.update(1)
            except BaseException:  # a failed window, or Ctrl-C: stop the others, do not wait
                abort.set()
                raise
            finally:
                pool.shutdown(wait=not abort.is_set(), cancel_futures=True)
        return [results[i] for i in range(len(calls))]

    def _fetch(
        self,
        call: _Call,
        parse: Callable[[_Call, bytes], _T],
        abort: threading.Event,
        bar: Any = None,
    ) -> _T:
        if abort.is_set():
            raise _Abort
        try:
            return self._fetch_one(call, parse, abort, bar)
        except BaseException:
            abort.set()  # before this worker takes the next window
            raise

    def _fetch_one(
        self,
        call: _Call,
        parse: Callable[[_Call, bytes], _T],
        abort: threading.Event,
        bar: Any = None,
    ) -> _T:
        cached = self._cache_get(call)
        if cached is not None:
            result = self._parse(call, cached, parse)
            if not isinstance(result, _Failure):
                return result
        backoff = _Backoff(self.retry, self._rng, call.days)
        while True:
            if abort.is_set():
                raise _Abort
            outcome = self._attempt(call, parse)
            if not isinstance(outcome, _Failure):
                if backoff.limited and bar is not None:
                    bar.set_postfix_str("", refresh=False)  # no longer rate limited
                return outcome
            pause = backoff.next_wait(outcome)
            self._notice(bar, call, outcome, pause)
            if self._sleep is not None:
                self._sleep(pause)
            elif abort.wait(pause):
                raise _Abort

    def _attempt(self, call: _Call, parse: Callable[[_Call, bytes], _T]) -> _T | _Failure:
        started = time.perf_counter()
        reader: _BodyReader | None = None
        got: httpx.Response | httpx.RequestError
        try:
            request = self._http.build_request(**self._request_args(call))
            response = self._http.send(request, stream=True)
            try:
                reader = self._reader(call, response, started)
                if reader.failure is None and response.is_stream_consumed:
                    reader.preloaded(response.content)  # a transport that read it already
                elif reader.failure is None:
                    for chunk in response.iter_raw():
                        if not reader.feed_checked(chunk) or reader.late():
                            break
            finally:
                response.close()
            got = response
        except httpx.RequestError as exc:
            got = exc
        except httpx.InvalidURL as exc:
            got = httpx.UnsupportedProtocol(str(exc))
        body = self._received(call, started, got, reader)
        if isinstance(body, _Failure):
            return body
        return self._kept(call, body, self._parse(call, body, parse))


# --------------------------------------------------------------------------------------------
# The asynchronous client


class AsyncClient(_Core):
    """Asynchronous client: the same methods as :class:`Client`, as coroutines.

    Windows are fetched as asyncio tasks bounded by an ``asyncio.Semaphore(concurrency)``;
    parsing runs in a worker thread so the event loop keeps serving other downloads. Parameters
    are those of :class:`Client`, except ``http_client`` (an ``httpx.AsyncClient``), ``transport``
    (an ``httpx.AsyncBaseTransport``) and ``sleep`` (default ``asyncio.sleep``; a plain function
    works too).

    Examples
    --------
    >>> import asyncio
    >>> from cfusage.sample._server import SampleServer
    >>> async def main(srv):
    ...     async with AsyncClient(token="any", base_url=srv.base_url, organization_id=srv.org_id,
    ...                            progress=False, cache=False) as client:
    ...         return await client.usage("2026-01-01", "2026-06-30")
    >>> with SampleServer() as srv:
    ...     df = asyncio.run(main(srv))
    >>> df.attrs["cfusage"]["windows"]
    7
    """

    _http_class = httpx.AsyncClient

    def __init__(
        self,
        *,
        token: str | None = None,
        base_url: str | None = None,
        organization_id: str | None = None,
        concurrency: int = 4,
        retry: Retry | None = None,
        timeout: float | httpx.Timeout = 60.0,
        progress: bool = True,
        cache: bool = True,
        cache_dir: str | os.PathLike[str] | None = None,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], object] | None = None,
        seed: int | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        deadline: float = DEFAULT_DEADLINE,
    ) -> None:
        super().__init__(
            token=token,
            base_url=base_url,
            organization_id=organization_id,
            concurrency=concurrency,
            retry=retry,
            timeout=timeout,
            progress=progress,
            cache=cache,
            cache_dir=cache_dir,
            http_client=http_client,
            transport=transport,
            seed=seed,
            max_response_bytes=max_response_bytes,
            deadline=deadline,
        )
        self._sleep = sleep or asyncio.sleep

    async def aclose(self) -> None:
        """Close the connection pool (not a ``http_client`` you passed in)."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def usage(
        self,
        start: DateLike,
        end: DateLike,
        *,
        metric: str | None = None,
        accounts: str | Iterable[str] | None = None,
        progress: bool | None = None,
        cache: bool | None = None,
    ) -> pd.DataFrame:
        """Organization usage as a typed frame: see :meth:`Client.usage`.

        Examples
        --------
        >>> import asyncio
        >>> from cfusage.sample._server import SampleServer
        >>> async def fetch(srv):
        ...     async with AsyncClient(token="any", base_url=srv.base_url,
        ...             organization_id=srv.org_id, progress=False, cache=False) as client:
        ...         return await client.usage("2026-01-01", "2026-06-30")
        >>> with SampleServer() as srv:
        ...     result = asyncio.run(fetch(srv))
        >>> len(result) > 0
        True
        """
        steps = self._usage_steps(start, end, metric, accounts, cache)
        return await self._drive(steps, progress)

    async def raw(
        self,
        start: DateLike,
        end: DateLike,
        *,
        metric: str | None = None,
        progress: bool | None = None,
        cache: bool | None = None,
    ) -> list[dict[str, Any]]:
        """The API's envelopes, one per window: see :meth:`Client.raw`.

        Examples
        --------
        >>> import asyncio
        >>> from cfusage.sample._server import SampleServer
        >>> async def fetch(srv):
        ...     async with AsyncClient(token="any", base_url=srv.base_url,
        ...             organization_id=srv.org_id, progress=False, cache=False) as client:
        ...         return await client.raw("2026-03-01", "2026-03-31")
        >>> with SampleServer() as srv:
        ...     result = asyncio.run(fetch(srv))
        >>> len(result) > 0
        True
        """
        return await self._drive(self._raw_steps(start, end, metric, cache), progress)

    async def account_usage(
        self,
        account_id: str,
        start: DateLike,
        end: DateLike,
        *,
        progress: bool | None = None,
        cache: bool | None = None,
    ) -> pd.DataFrame:
        """One account's usage: see :meth:`Client.account_usage`.

        Examples
        --------
        >>> import asyncio
        >>> from cfusage.sample._server import SampleServer
        >>> async def fetch(srv):
        ...     async with AsyncClient(token="any", base_url=srv.base_url,
        ...             organization_id=srv.org_id, progress=False, cache=False) as client:
        ...         return await client.account_usage(srv.account_ids[0], "2026-03-01", "2026-03-31")
        >>> with SampleServer() as srv:
        ...     result = asyncio.run(fetch(srv))
        >>> len(result) > 0
        True
        """
        steps = self._account_usage_steps(account_id, start, end, cache)
        return await self._drive(steps, progress)

    async def account_costs(
        self,
        account_id: str,
        start: DateLike,
        end: DateLike,
        *,
        metric_ids: Sequence[str] | None = None,
        product_family_ids: Sequence[str] | None = None,
        tags: Sequence[str] | None = None,
        group_by: Sequence[str] | None = None,
        progress: bool | None = None,
        cache: bool | None = None,
    ) -> pd.DataFrame:
        """Rated costs of one account: see :meth:`Client.account_costs`.

        Examples
        --------
        >>> import asyncio
        >>> from cfusage.sample._server import SampleServer
        >>> async def fetch(srv):
        ...     async with AsyncClient(token="any", base_url=srv.base_url,
        ...             organization_id=srv.org_id, progress=False, cache=False) as client:
        ...         return await client.account_costs(srv.account_ids[0], "2026-03-01", "2026-03-31")
        >>> with SampleServer() as srv:
        ...     result = asyncio.run(fetch(srv))
        >>> len(result) > 0
        True
        """
        body = _cost_body(metric_ids, product_family_ids, tags, group_by)
        steps = self._account_costs_steps(account_id, start, end, body, cache)
        return await self._drive(steps, progress)

    # ---- I/O ------------------------------------------------------------------------------

    async def _drive(self, steps: _Steps[_T], progress: bool | None) -> _T:
        """Run an operation: fetch each batch it asks for, then hand it the results or the error."""
        results: list[Any] | None = None  # the first send starts the generator
        error: Error | None = None
        while True:
            try:
                calls, parse, what = steps.send(results) if error is None else steps.throw(error)
            except StopIteration as stop:
                return stop.value
            try:
                results, error = await self._run(calls, parse, progress, what), None
            except Error as exc:
                error = exc

    async def _run(
        self,
        calls: list[_Call],
        parse: Callable[[_Call, bytes], _T],
        progress: bool | None,
        what: str,
    ) -> list[_T]:
        """Fetch every call as a task; the first failure cancels the rest and is raised."""
        gate = asyncio.Semaphore(self.concurrency)
        failed = False

        async def one(call: _Call) -> _T:
            nonlocal failed
            async with gate:
                if failed:
                    raise _Abort
                try:
                    return await self._fetch(call, parse, bar)
                except BaseException:
                    failed = True  # set before the slot goes to the next window
                    raise

        with self._bar(len(calls), progress, what) as bar:
            tasks = [asyncio.ensure_future(one(call)) for call in calls]
            try:
                for task in asyncio.as_completed(tasks):
                    await task
                    bar.update(1)
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        return [task.result() for task in tasks]

    async def _fetch(self, call: _Call, parse: Callable[[_Call, bytes], _T], bar: Any = None) -> _T:
        cached = self._cache_get(call)
        if cached is not None:
            result = await asyncio.to_thread(self._parse, call, cached, parse)
            if not isinstance(result, _Failure):
                return result
        backoff = _Backoff(self.retry, self._rng, call.days)
        while True:
            outcome = await self._attempt(call, parse)
            if not isinstance(outcome, _Failure):
                if backoff.limited and bar is not None:
                    bar.set_postfix_str("", refresh=False)  # no longer rate limited
                return outcome
            wait_for = backoff.next_wait(outcome)
            self._notice(bar, call, outcome, wait_for)
            pause = self._sleep(wait_for)
            if inspect.isawaitable(pause):
                await pause

    async def _attempt(self, call: _Call, parse: Callable[[_Call, bytes], _T]) -> _T | _Failure:
        started = time.perf_counter()
        reader: _BodyReader | None = None
        got: httpx.Response | httpx.RequestError
        try:
            request = self._http.build_request(**self._request_args(call))
            response = await self._http.send(request, stream=True)
            try:
                reader = self._reader(call, response, started)
                if reader.failure is None and response.is_stream_consumed:
                    reader.preloaded(response.content)  # a transport that read it already
                elif reader.failure is None:
                    async for chunk in response.aiter_raw():
                        if not reader.feed_checked(chunk) or reader.late():
                            break
            finally:
                await response.aclose()
            got = response
        except httpx.RequestError as exc:
            got = exc
        except httpx.InvalidURL as exc:
            got = httpx.UnsupportedProtocol(str(exc))
        body = self._received(call, started, got, reader)
        if isinstance(body, _Failure):
            return body
        return self._kept(call, body, await asyncio.to_thread(self._parse, call, body, parse))
