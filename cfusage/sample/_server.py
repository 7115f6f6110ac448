"""A local stand-in for the Cloudflare billable-usage API, serving the sample organization.

:class:`SampleServer` is a real HTTP server on loopback (``http.server.ThreadingHTTPServer`` in a
background thread). Notebooks, the demo, the CLI (``cfusage serve-sample``) and the tests point a
:class:`cfusage.fetch._client.Client` at it instead of ``api.cloudflare.com``; no credentials needed.

Endpoints (paths exactly as the real API, under ``/client/v4``)
---------------------------------------------------------------
``GET /organizations/{org_id}/billable/usage?from=&to=[&metric=]``
    The organization's daily records. ``metric`` (one billable-metric id) exists in revisions
    ``A`` and ``B`` only; revision ``C`` answers it with 400 *unknown parameter* (code 1004), as
    for any other unknown query parameter (the server is strict so that client typos show).
    An unknown organization gets ``success: true, result: []`` (in every revision).
``GET /accounts/{account_id}/billable/usage?from=&to=``
    The same records for one account. An unknown account gets 404 (code 7003).
``POST /accounts/{account_id}/billable/usage``
    JSON body ``{"TimePeriod": {"From", "To"}, "FilterBy": {"MetricIds", "ProductFamilyIds",
    "Tags"}, "GroupBy": ["Tags"], "Metric": "cost"}``; ``From`` inclusive, ``To`` exclusive, at
    most 31 days; unknown fields are rejected with 400. ``Metric`` is ``"cost"`` (the default:
    rated records, with costs even when the server runs with ``costs=False``) or ``"usage"``
    (no price or cost fields). ``FilterBy.Tags`` entries are ``"key"`` or ``"key:value"``; a
    record matches when any entry matches. ``GroupBy`` supports ``"Tags"`` only (records then carry
    ``Tags``); the sample's tags are derived from the account: ``{"env": "prod" | "staging" |
    "shared", "team": <account slug>, "cost-allocated": true}``.

Parameter rules (GET)
---------------------
``from`` and ``to`` come together or not at all, as ``YYYY-MM-DD``; ``to`` must not precede
``from`` and ``to - from <= 30 days`` (at most 31 days counted inclusively). Without them the
server answers the start of the month of the sample's last day through that day. ``to`` is
inclusive (``to_inclusive=True``, the default); ``to_inclusive=False`` serves ``[from, to)``, so
tests can prove a client drops or doubles no boundary day under either reading.

Errors use the v4 envelope ``{"success": false, "errors": [{"code", "message"}], "messages": [],
"result": null}`` with these codes: 1001 ``from``/``to`` not given together, 1002 bad date,
1003 range too long or reversed, 1004 unknown parameter, 1005 bad POST body, 7000 no route
(404), 7001 method not allowed (405), 7003 unknown account (404), 10000 authentication (401),
971 rate limited (429), 10500 injected server fault (5xx).

Auth and rate limits
--------------------
``Authorization: Bearer <token>`` is required; any token is accepted unless ``token=`` is given.
Requests are counted per token per ``rate_window`` seconds (300); past ``rate_limit`` (1200) every
call gets 429 with ``Retry-After`` until the block (``rate_window`` seconds from the first refused
call) ends. Every response carries ``x-ratelimit-limit``, ``x-ratelimit-remaining``,
``Ratelimit: "default";r=<remaining>;t=<seconds to reset>`` and
``Ratelimit-Policy: "default";q=<limit>;w=<window>``. The ``Authorization`` header is never
logged or stored.

Fault knobs
-----------
Constructor arguments, CLI flags of ``cfusage serve-sample``, and attributes that may be changed
while the server runs: ``latency`` (seconds slept per request), ``rate_limit_storm`` (the next N
requests get 429, with ``Retry-After: retry_after`` or none when ``retry_after`` is None),
``error_rate`` (fraction answered 500/502/503), ``drop_rate`` (fraction whose connection is
closed without a response), ``truncate_rate`` (fraction whose body is cut in half after a
``Content-Length`` for the whole body), ``revision`` (``"A"``, ``"B"``, ``"C"``), ``costs`` and
``to_inclusive``. Random faults are drawn from ``random.Random(seed)``, three draws per request in
arrival order, so a sequential run is reproducible. Faults are applied before authentication, in
the order storm, drop, error; truncation applies to whatever response follows.

Every request served is appended to :attr:`SampleServer.requests` as a
:class:`ServedRequest` ``(method, path, query, status)``; only the last ``max_requests`` (10,000
by default, about 5 MB) are kept, so a long-running ``cfusage serve-sample`` does not grow
without bound. Rate-limit counters of tokens not seen for a ``rate_window`` are dropped too.

Examples
--------
>>> import httpx
>>> with SampleServer(port=0) as srv:
...     r = httpx.get(
...         f"{srv.base_url}/organizations/{srv.org_id}/billable/usage",
...         params={"from": "2026-03-01", "to": "2026-03-01"},
...         headers={"Authorization": "Bearer any"},
...     )
>>> r.status_code, r.json()["success"], r.headers["x-ratelimit-limit"]
(200, True, '1200')
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import itertools
import logging
import math
import random
import re
import socket
import sys
import threading
import time
from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlsplit

import msgspec

from ..schema import REVISIONS
from . import _generate as sample

__all__ = ["SampleServer", "ServedRequest"]

logger = logging.getLogger("cfusage.sample._server")

_API_PREFIX = "/client/v4"
_ORG_PATH = re.compile(r"^/client/v4/organizations/(?P<id>[^/]+)/billable/usage/?$")
_ACCOUNT_PATH = re.compile(r"^/client/v4/accounts/(?P<id>[^/]+)/billable/usage/?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MAX_SPAN_DAYS = 30  # to - from, i.e. 31 days counted inclusively
_POST_MAX_DAYS = 31  # To - From with To exclusive
_POST_FIELDS = {
    "TimePeriod": ("From", "To"),
    "FilterBy": ("MetricIds", "ProductFamilyIds", "Tags"),
}
_GROUP_BY = ("Tags",)
_ERROR_STATUSES = (500, 502, 503)
_encode = msgspec.json.Encoder().encode


class ServedRequest(NamedTuple):
    """One request the server answered.

    ``query`` holds the query parameters (last value of each); for a POST it holds the body's
    ``TimePeriod`` (``{"From": ..., "To": ...}``) when there is one. ``status`` is 0 when the
    connection was dropped without a response.
    """

    method: str
    path: str
    query: dict[str, str]
    status: int


class _Reply(NamedTuple):
    status: int
    body: bytes
    headers: dict[str, str]


class _HTTPServer(ThreadingHTTPServer):
    """Tracks open connections so that :meth:`SampleServer.stop` can close kept-alive ones."""

    daemon_threads = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._conn_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._conn_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError):
            logger.debug("sample server: client connection lost (%s)", type(exc).__name__)
        else:
            logger.exception("sample server: error while serving a request")

    def close_connections(self) -> None:
        with self._conn_lock:
            conns = list(self.connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _RateBucket:
    __slots__ = ("blocked_until", "count", "window_start")

    def __init__(self, now: float) -> None:
        self.window_start = now
        self.count = 0
        self.blocked_until = 0.0


@functools.lru_cache(maxsize=1)
def _default_records() -> tuple[dict[str, Any], ...]:
    """The committed sample organization (generated once per process)."""
    return tuple(sample.generate_records())


class SampleServer:
    """The sample organization behind a local imitation of the billable-usage API.

    Parameters
    ----------
    host : str, default "127.0.0.1"
        Interface to bind (loopback by default).
    port : int, default 0
        TCP port; 0 picks a free one (read it from :attr:`port` or :attr:`base_url`).
    token : str or None
        When given, only ``Authorization: Bearer <token>`` is accepted; otherwise any bearer token.
    latency : float
        Seconds slept before answering each request (requests are served concurrently).
    revision : {"A", "B", "C"}
        Schema revision of the records served (see :mod:`cfusage.schema`).
    costs : bool
        Whether GET responses carry prices and costs (the POST with ``Metric: cost`` always does).
    rate_limit_storm : int
        The next N requests are answered 429.
    retry_after : float or None
        ``Retry-After`` seconds sent with storm 429s; None sends no ``Retry-After``.
    error_rate, drop_rate, truncate_rate : float
        Fractions (0..1) of requests answered 500/502/503, dropped without a response, or sent a
        truncated body.
    seed : int
        Seed of the fault draws (the data is always the committed sample, or ``records``).
    to_inclusive : bool
        Serve ``[from, to]`` (True) or ``[from, to)`` (False) on GET.
    rate_limit : int
        Requests allowed per token per ``rate_window`` seconds before the 429 block.
    rate_window : float
        Length of the counting window and of the block, in seconds.
    records : sequence of dict or None
        Wire-name records to serve instead of ``cfusage.sample.generate_records()`` (the
        revision-``B``-with-costs shape the sample generator produces).
    org_id : str or None
        Organization id served; defaults to ``cfusage.sample.ORG_ID``.
    max_requests : int
        How many of the latest requests :attr:`requests` keeps (default 10,000).

    Attributes
    ----------
    requests : list of ServedRequest
        The last ``max_requests`` requests answered, oldest first.

    Examples
    --------
    >>> with SampleServer(port=0, revision="C", costs=False) as srv:
    ...     srv.base_url.startswith("http://127.0.0.1:")
    True
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        latency: float = 0.0,
        revision: str = "B",
        costs: bool = True,
        rate_limit_storm: int = 0,
        retry_after: float | None = None,
        error_rate: float = 0.0,
        drop_rate: float = 0.0,
        truncate_rate: float = 0.0,
        seed: int = 0,
        to_inclusive: bool = True,
        rate_limit: int = 1200,
        rate_window: float = 300.0,
        records: Sequence[Mapping[str, Any]] | None = None,
        org_id: str | None = None,
        max_requests: int = 10_000,
    ) -> None:
        if isinstance(max_requests, bool) or not isinstance(max_requests, int) or max_requests < 0:
            raise ValueError(f"max_requests={max_requests!r}: must be a non-negative integer")
        self.max_requests = max_requests
        self.host = host
        self._port = port
        self._token = token
        self.latency = latency
        self.revision = revision
        self.costs = costs
        self.rate_limit_storm = rate_limit_storm
        self.retry_after = retry_after
        self.error_rate = error_rate
        self.drop_rate = drop_rate
        self.truncate_rate = truncate_rate
        self.seed = seed
        self.to_inclusive = to_inclusive
        self.rate_limit = rate_limit
        self.rate_window = rate_window
        self._org_id = org_id
        self._records_arg = records
        self.requests: list[ServedRequest] = []
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._buckets: dict[str, _RateBucket] = {}
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._records: tuple[Mapping[str, Any], ...] = ()
        self._days: list[dt.date] = []
        self._starts: list[int] = []
        self._chunks: dict[tuple[str, bool, dt.date], bytes] = {}
        self._accounts: dict[str, str] = {}

    # -- knobs with validation ---------------------------------------------------------------
    @property
    def revision(self) -> str:
        """Schema revision served: ``"A"``, ``"B"`` or ``"C"``."""
        return self._revision

    @revision.setter
    def revision(self, value: str) -> None:
        if value not in REVISIONS:
            raise ValueError(f"revision must be one of {REVISIONS}, got {value!r}")
        self._revision = value

    @property
    def rate_limit_storm(self) -> int:
        """How many of the coming requests will still be answered 429."""
        return self._storm_left

    @rate_limit_storm.setter
    def rate_limit_storm(self, value: int) -> None:
        if value < 0:
            raise ValueError(f"rate_limit_storm must be >= 0, got {value!r}")
        self._storm_left = int(value)

    def _check_rates(self) -> None:
        for name in ("error_rate", "drop_rate", "truncate_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value!r}")
        if self.latency < 0:
            raise ValueError(f"latency must be >= 0, got {self.latency!r}")

    # -- data --------------------------------------------------------------------------------
    @property
    def records(self) -> tuple[Mapping[str, Any], ...]:
        """The records served (revision ``B`` with costs), sorted by ``ChargePeriodStart``.

        Assigning a new sequence re-indexes it while the server runs (tests use this to imitate
        the API revising a day).
        """
        return self._records

    @records.setter
    def records(self, records: Sequence[Mapping[str, Any]]) -> None:
        rows = list(records)  # served read-only: never modified, so not copied
        starts_text = [r["ChargePeriodStart"] for r in rows]
        if any(a > b for a, b in itertools.pairwise(starts_text)):
            rows.sort(key=lambda r: r["ChargePeriodStart"])
        days: list[dt.date] = []
        starts: list[int] = []
        accounts: dict[str, str] = {}
        for i, r in enumerate(rows):
            day = dt.date.fromisoformat(r["ChargePeriodStart"][:10])
            if not days or days[-1] != day:
                days.append(day)
                starts.append(i)
            acct = r.get("BillingAccountId")
            if acct:
                accounts.setdefault(acct, str(r.get("BillingAccountName") or acct))
        with self._lock:
            self._records = tuple(rows)
            self._days, self._starts = days, starts
            self._accounts = accounts
            self._chunks = {}

    @property
    def first_day(self) -> dt.date:
        """First charge day of the records served."""
        return self._days[0]

    @property
    def last_day(self) -> dt.date:
        """Last charge day of the records served (complete through this day)."""
        return self._days[-1]

    @property
    def org_id(self) -> str:
        """Organization id served."""
        if self._org_id is None:
            self._org_id = sample.ORG_ID
        return self._org_id

    @property
    def account_ids(self) -> list[str]:
        """Account ids present in the records."""
        return list(self._accounts)

    # -- lifecycle ---------------------------------------------------------------------------
    @property
    def port(self) -> int:
        """The bound TCP port (after :meth:`start`)."""
        if self._httpd is None:
            return self._port
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT/client/v4``, the value for ``Client(base_url=...)``."""
        return f"http://{self.host}:{self.port}{_API_PREFIX}"

    def start(self) -> SampleServer:
        """Load the records, bind the socket and serve in a daemon thread.

        Returns
        -------
        SampleServer
            ``self``, so that ``srv = SampleServer(port=0).start()`` works.
        """
        if self._httpd is not None:
            return self
        self._check_rates()
        if not self._records:
            self.records = (
                self._records_arg if self._records_arg is not None else _default_records()
            )
        _ = self.org_id
        self._httpd = _HTTPServer((self.host, self._port), _make_handler(self))
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"cfusage-sample-server-{self.port}",
            daemon=True,
        )
        self._thread.start()
        logger.info("sample API serving %s (organization %s)", self.base_url, self.org_id)
        return self

    def stop(self) -> None:
        """Stop serving and close the socket (idempotent)."""
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        self._httpd.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def serve_forever(self) -> None:
        """Start if needed and block until interrupted (Ctrl-C), then stop."""
        self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(timeout=0.5)
        finally:
            self.stop()

    def __enter__(self) -> SampleServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = self.base_url if self._httpd is not None else "stopped"
        token = "[secure]" if self._token is not None else "None"
        return (
            f"SampleServer({state}, revision={self.revision!r}, costs={self.costs}, token={token})"
        )

    # -- request handling --------------------------------------------------------------------
    def _handle(
        self, method: str, target: str, authorization: str | None, body: bytes
    ) -> _Reply | None:
        """Answer one request; None means drop the connection."""
        split = urlsplit(target)
        path = split.path
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        if self.latency:
            time.sleep(self.latency)
        with self._lock:
            storm = self._storm_left > 0
            if storm:
                self._storm_left -= 1
            drop = self._rng.random() < self.drop_rate
            error = self._rng.random() < self.error_rate
            truncate = self._rng.random() < self.truncate_rate
            status_pick = self._rng.choice(_ERROR_STATUSES)
        token = _bearer(authorization)
        if storm:
            headers = self._rate_headers(token)
            headers["x-ratelimit-remaining"] = "0"
            if self.retry_after is not None:
                headers["Retry-After"] = _seconds(self.retry_after)
            reply = _error(429, 971, "Rate limited. Please wait and consider throttling.", headers)
        elif drop:
            return None
        elif error:
            reply = _error(
                status_pick,
                10500,
                "Injected server fault (sample server error_rate).",
                self._rate_headers(token),
            )
        else:
            reply = self._answer(method, path, query, token, body)
        if truncate and reply.body:
            reply = reply._replace(headers={**reply.headers, "x-cfusage-truncated": "1"})
        return reply

    def _answer(
        self, method: str, path: str, query: dict[str, str], token: str | None, body: bytes
    ) -> _Reply:
        if token is None or (self._token is not None and token != self._token):
            reason = (
                "missing or malformed Authorization header (expected 'Bearer <token>')"
                if token is None
                else "invalid API token"
            )
            return _error(401, 10000, f"Authentication error: {reason}.", self._rate_headers(None))
        blocked, headers = self._count(token)
        if blocked is not None:
            headers["Retry-After"] = _seconds(blocked)
            return _error(
                429,
                971,
                f"Rate limit of {self.rate_limit} requests per {self.rate_window:.0f} s "
                f"exceeded; retry after {math.ceil(blocked)} s.",
                headers,
            )
        match_org = _ORG_PATH.match(path)
        match_acct = _ACCOUNT_PATH.match(path)
        if match_org is None and match_acct is None:
            return _error(404, 7000, f"No route for that URI: {path}", headers)
        if method == "POST" and match_acct is not None:
            return self._post_account(match_acct["id"], body, headers)
        if method != "GET":
            return _error(405, 7001, f"Method {method} not allowed for {path}", headers)
        if match_org is not None:
            return self._get(query, headers, org_id=match_org["id"])
        return self._get(query, headers, account_id=match_acct["id"])  # type: ignore[index]

    def _get(
        self,
        query: dict[str, str],
        headers: dict[str, str],
        *,
        org_id: str | None = None,
        account_id: str | None = None,
    ) -> _Reply:
        allowed = {"from", "to"}
        if org_id is not None and self.revision in ("A", "B"):
            allowed.add("metric")
        unknown = sorted(set(query) - allowed)
        if unknown:
            return _error(400, 1004, f"Unknown query parameter(s): {', '.join(unknown)}", headers)
        has_from, has_to = "from" in query, "to" in query
        if has_from != has_to:
            return _error(400, 1001, "Parameters 'from' and 'to' must be given together.", headers)
        if has_from:
            start, problem = _parse_date("from", query["from"])
            if problem:
                return _error(400, 1002, problem, headers)
            to, problem = _parse_date("to", query["to"])
            if problem:
                return _error(400, 1002, problem, headers)
            assert start is not None and to is not None
            if to < start:
                return _error(400, 1003, f"'to' ({to}) is before 'from' ({start}).", headers)
            if (to - start).days > _MAX_SPAN_DAYS:
                return _error(
                    400,
                    1003,
                    f"Range {start}..{to} is longer than 31 days (to - from must be at most "
                    f"{_MAX_SPAN_DAYS} days).",
                    headers,
                )
            end = to + dt.timedelta(days=1) if self.to_inclusive else to
        else:
            start = self.last_day.replace(day=1)
            end = self.last_day + dt.timedelta(days=1)
        metric = query.get("metric")
        if metric is not None and not metric:
            return _error(400, 1002, "Parameter 'metric' must not be empty.", headers)
        if account_id is not None and account_id not in self._accounts:
            return _error(
                404,
                7003,
                f"Could not route to /accounts/{account_id}, perhaps your object identifier "
                "is invalid?",
                headers,
            )
        if org_id is not None and org_id != self.org_id:
            return _Reply(200, _envelope_bytes(b""), headers)
        if metric is None and account_id is None:
            return _Reply(200, _envelope_bytes(self._range_chunk(start, end)), headers)

        def keep(r: Mapping[str, Any]) -> bool:
            return (metric is None or r.get("x_BillableMetricId") == metric) and (
                account_id is None or r.get("BillingAccountId") == account_id
            )

        rows = [r for r in self._slice(start, end) if keep(r)]
        chunk = self._encode(rows, self.revision, self.costs, account=account_id is not None)
        return _Reply(200, _envelope_bytes(chunk), headers)

    def _post_account(self, account_id: str, body: bytes, headers: dict[str, str]) -> _Reply:
        try:
            spec = msgspec.json.decode(body) if body else None
        except msgspec.DecodeError:
            return _error(400, 1005, "Request body is not valid JSON.", headers)
        parsed = _parse_post_body(spec)
        if isinstance(parsed, str):
            return _error(400, 1005, parsed, headers)
        if account_id not in self._accounts:
            return _error(
                404,
                7003,
                f"Could not route to /accounts/{account_id}, perhaps your object identifier "
                "is invalid?",
                headers,
            )
        start, end, metric_ids, family_ids, tag_filters, group_tags, with_costs = parsed
        rows = []
        for r in self._slice(start, end):
            if r.get("BillingAccountId") != account_id:
                continue
            if metric_ids is not None and r.get("x_BillableMetricId") not in metric_ids:
                continue
            if family_ids is not None and r.get("x_ProductFamilyId") not in family_ids:
                continue
            if tag_filters is not None or group_tags:
                tags = _tags_for(str(r.get("BillingAccountName") or account_id))
                if tag_filters is not None and not _tags_match(tags, tag_filters):
                    continue
                if group_tags:
                    r = {**r, "Tags": tags}
            rows.append(r)
        chunk = self._encode(rows, self.revision, with_costs, account=True)
        return _Reply(200, _envelope_bytes(chunk), headers)

    # -- slicing and encoding ----------------------------------------------------------------
    def _snapshot(self) -> tuple[list[dt.date], list[int], tuple[Mapping[str, Any], ...], dict]:
        """The index, records and chunk cache of one moment (records may be replaced live)."""
        with self._lock:
            return self._days, self._starts, self._records, self._chunks

    def _slice(
        self,
        start: dt.date,
        end: dt.date,
        snapshot: tuple[list[dt.date], list[int], tuple[Mapping[str, Any], ...], dict]
        | None = None,
    ) -> tuple[Mapping[str, Any], ...]:
        """Records whose charge day is in ``[start, end)``."""
        days, starts, records, _ = snapshot or self._snapshot()
        i = bisect_left(days, start)
        j = bisect_left(days, end)
        lo = starts[i] if i < len(starts) else len(records)
        hi = starts[j] if j < len(starts) else len(records)
        return records[lo:hi]

    def _range_chunk(self, start: dt.date, end: dt.date) -> bytes:
        """Comma-joined encoded records of ``[start, end)``, from a per-day cache."""
        revision, costs = self.revision, self.costs
        snapshot = self._snapshot()
        days, chunks = snapshot[0], snapshot[3]
        i, j = bisect_left(days, start), bisect_left(days, end)
        parts = []
        for day in days[i:j]:
            key = (revision, costs, day)
            chunk = chunks.get(key)
            if chunk is None:
                rows = self._slice(day, day + dt.timedelta(days=1), snapshot)
                chunk = chunks[key] = self._encode(rows, revision, costs)
            if chunk:
                parts.append(chunk)
        return b",".join(parts)

    @staticmethod
    def _encode(
        rows: Sequence[Mapping[str, Any]], revision: str, costs: bool, *, account: bool = False
    ) -> bytes:
        """Comma-joined JSON of ``rows`` shaped for ``revision``; ``account=True`` (account
        endpoints) leaves out rows that the revision does not attribute to an account."""
        if not rows:
            return b""
        shaped = sample.to_revision(list(rows), revision, costs=costs)
        if account:
            shaped = [r for r in shaped if r.get("BillingAccountId")]
        return _encode(shaped)[1:-1] if shaped else b""

    # -- rate limiting -----------------------------------------------------------------------
    def _count(self, token: str) -> tuple[float | None, dict[str, str]]:
        """Count one request for ``token``; returns (seconds blocked or None, headers)."""
        now = time.monotonic()
        with self._lock:
            bucket = self._bucket(token, now)
            if bucket.blocked_until > now:
                return bucket.blocked_until - now, self._headers_for(bucket, now)
            bucket.count += 1
            if bucket.count > self.rate_limit:
                bucket.blocked_until = now + self.rate_window
                return self.rate_window, self._headers_for(bucket, now)
            return None, self._headers_for(bucket, now)

    def _rate_headers(self, token: str | None) -> dict[str, str]:
        now = time.monotonic()
        with self._lock:
            return self._headers_for(self._bucket(token or "", now), now)

    def _bucket(self, token: str, now: float) -> _RateBucket:
        if len(self._buckets) > 1000 and token not in self._buckets:  # forget idle tokens
            self._buckets = {
                t: b
                for t, b in self._buckets.items()
                if now - b.window_start < self.rate_window or b.blocked_until > now
            }
        bucket = self._buckets.get(token)
        if bucket is None or (
            now - bucket.window_start >= self.rate_window and bucket.blocked_until <= now
        ):
            bucket = self._buckets[token] = _RateBucket(now)
        return bucket

    def _headers_for(self, bucket: _RateBucket, now: float) -> dict[str, str]:
        remaining = max(0, self.rate_limit - bucket.count)
        if bucket.blocked_until > now:
            remaining, reset = 0, bucket.blocked_until - now
        else:
            reset = bucket.window_start + self.rate_window - now
        return {
            "x-ratelimit-limit": str(self.rate_limit),
            "x-ratelimit-remaining": str(remaining),
            "Ratelimit": f'"default";r={remaining};t={max(0, math.ceil(reset))}',
            "Ratelimit-Policy": f'"default";q={self.rate_limit};w={self.rate_window:.0f}',
        }

    def _record(self, method: str, path: str, query: dict[str, str], status: int) -> None:
        with self._lock:
            self.requests.append(ServedRequest(method, path, query, status))
            excess = len(self.requests) - self.max_requests
            if excess > 0:
                del self.requests[:excess]


# -- module helpers --------------------------------------------------------------------------
def _bearer(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value:
        return None
    return value


def _seconds(value: float) -> str:
    return str(max(0, math.ceil(value)))


def _envelope_bytes(chunk: bytes) -> bytes:
    return b'{"success":true,"errors":[],"messages":[],"result":[' + chunk + b"]}"


def _error(status: int, code: int, message: str, headers: dict[str, str]) -> _Reply:
    body = _encode(
        {
            "success": False,
            "errors": [{"code": code, "message": message}],
            "messages": [],
            "result": None,
        }
    )
    return _Reply(status, body, headers)


def _parse_date(name: str, value: str) -> tuple[dt.date | None, str | None]:
    if not _DATE.match(value):
        return None, f"Parameter '{name}' must be a date YYYY-MM-DD, got {value!r}."
    try:
        return dt.date.fromisoformat(value), None
    except ValueError:
        return None, f"Parameter '{name}' is not a valid date: {value!r}."


def _parse_post_body(
    spec: Any,
) -> str | tuple[dt.date, dt.date, set[str] | None, set[str] | None, list[str] | None, bool, bool]:
    """Validate a POST body; returns an error message or the parsed parts."""
    if not isinstance(spec, dict):
        return "Request body must be a JSON object with TimePeriod."
    allowed = {"TimePeriod", "FilterBy", "GroupBy", "Metric"}
    unknown = sorted(set(spec) - allowed)
    if unknown:
        return f"Unknown body field(s): {', '.join(unknown)}"
    period = spec.get("TimePeriod")
    if not isinstance(period, dict):
        return 'TimePeriod is required: {"From": "YYYY-MM-DD", "To": "YYYY-MM-DD"}.'
    unknown = sorted(set(period) - set(_POST_FIELDS["TimePeriod"]))
    if unknown:
        return f"Unknown TimePeriod field(s): {', '.join(unknown)}"
    dates = []
    for name in ("From", "To"):
        raw = period.get(name)
        if not isinstance(raw, str):
            return f"TimePeriod.{name} is required as YYYY-MM-DD, got {raw!r}."
        value, problem = _parse_date(f"TimePeriod.{name}", raw.removesuffix("T00:00:00Z"))
        if problem:
            return problem
        dates.append(value)
    start, end = dates
    assert start is not None and end is not None
    if end <= start:
        return f"TimePeriod.To ({end}) must be after TimePeriod.From ({start}); To is exclusive."
    if (end - start).days > _POST_MAX_DAYS:
        return f"TimePeriod {start}..{end} is longer than {_POST_MAX_DAYS} days."
    filters = spec.get("FilterBy") or {}
    if not isinstance(filters, dict):
        return "FilterBy must be an object."
    unknown = sorted(set(filters) - set(_POST_FIELDS["FilterBy"]))
    if unknown:
        return f"Unknown FilterBy field(s): {', '.join(unknown)}"
    lists: dict[str, list[str] | None] = {}
    for name in _POST_FIELDS["FilterBy"]:
        value = filters.get(name)
        if value is not None and (
            not isinstance(value, list) or not all(isinstance(v, str) for v in value)
        ):
            return f"FilterBy.{name} must be a list of strings, got {value!r}."
        lists[name] = value
    group_by = spec.get("GroupBy") or []
    if not isinstance(group_by, list) or any(g not in _GROUP_BY for g in group_by):
        return f"GroupBy must be a list of {list(_GROUP_BY)}, got {group_by!r}."
    metric = spec.get("Metric", "cost")
    if metric not in ("cost", "usage"):
        return f"Metric must be 'cost' or 'usage', got {metric!r}."
    metric_ids = set(lists["MetricIds"]) if lists["MetricIds"] is not None else None
    family_ids = set(lists["ProductFamilyIds"]) if lists["ProductFamilyIds"] is not None else None
    return start, end, metric_ids, family_ids, lists["Tags"], "Tags" in group_by, metric == "cost"


def _tags_for(account_name: str) -> dict[str, str | bool]:
    """The sample's tags for an account: env, team slug and a value-less tag."""
    lower = account_name.lower()
    env = "prod" if "prod" in lower else "staging" if "staging" in lower else "shared"
    slug = re.sub(r"[^a-z0-9]+", "-", lower).strip("-")
    return {"env": env, "team": slug, "cost-allocated": True}


def _tags_match(tags: Mapping[str, str | bool], filters: Sequence[str]) -> bool:
    for item in filters:
        key, sep, value = item.partition(":")
        if key in tags and (not sep or str(tags[key]) == value):
            return True
    return False


def _make_handler(server: SampleServer) -> Callable[..., BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "cfusage-sample"
        sys_version = ""
        timeout = 60
        disable_nagle_algorithm = True  # headers and body go out without a delayed-ACK stall

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def do_PUT(self) -> None:
            self._serve("PUT")

        def do_DELETE(self) -> None:
            self._serve("DELETE")

        def do_PATCH(self) -> None:
            self._serve("PATCH")

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            split = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
            reply = server._handle(method, self.path, self.headers.get("Authorization"), body)
            if method == "POST":
                try:
                    period = msgspec.json.decode(body).get("TimePeriod") if body else None
                    query = {str(k): str(v) for k, v in period.items()} if period else {}
                except (msgspec.DecodeError, AttributeError):
                    query = {}
            server._record(method, split.path, query, 0 if reply is None else reply.status)
            if reply is None:
                self.close_connection = True
                logger.debug("%s %s -> dropped", method, split.path)
                return
            truncate = reply.headers.pop("x-cfusage-truncated", None) is not None
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if truncate:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(reply.body[: len(reply.body) // 2] if truncate else reply.body)
            self.wfile.flush()

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            # The request line only: never headers (Authorization stays out of every log).
            logger.debug("%s %s -> %s", self.command, urlsplit(self.path).path, code)

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("sample server: " + format, *args)

    return Handler
