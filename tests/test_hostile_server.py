"""The client against a hostile server of its own on 127.0.0.1 (issue 11, items 1, 5, 6, 7, 10).

The server answers each request with whatever the test's ``reply(handler)`` writes: a gzip bomb,
a body trickled byte by byte, JSON that cannot be represented, escape sequences, absurd
``Retry-After`` values, a connection dropped. Every test is bounded: small caps, deadlines of
about a second, ``Retry`` with few attempts and no real waits (a fake ``sleep``), and the server
counts what it served.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import json
import logging
import pickle
import threading
import time
import traceback
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

import cfusage.cli as cli
from cfusage.errors import (
    DeadlineError,
    Error,
    RateLimitError,
    ResponseError,
    ResponseTooLargeError,
    TokenError,
    TransportError,
)
from cfusage.fetch import AsyncClient, Client, Retry
from tests.conftest import FakeSleep

TOKEN = "cfut_HOSTILE-secret-7d1e5a90c3"
ORG = "org0hostile"
DAY = "2026-03-01"
WINDOW = (dt.date(2026, 3, 1), dt.date(2026, 3, 1))


def record(day: str = DAY, **extra: Any) -> dict[str, Any]:
    return {
        "BillingAccountId": "acct1",
        "ChargePeriodStart": f"{day}T00:00:00Z",
        "ChargePeriodEnd": f"{(dt.date.fromisoformat(day) + dt.timedelta(days=1))}T00:00:00Z",
        "x_BillableMetricId": "workers_standard_requests",
        "ConsumedQuantity": 7.0,
        "ConsumedUnit": "Requests",
        **extra,
    }


def envelope_bytes(records: list[dict[str, Any]]) -> bytes:
    body = {"success": True, "errors": [], "messages": [], "result": records}
    return json.dumps(body).encode()


class Hostile:
    """A loopback HTTP server whose every answer is ``self.reply(handler)``."""

    def __init__(self) -> None:
        self.reply: Callable[[BaseHTTPRequestHandler], None] = lambda h: send(h, 200, b"{}")
        self.seen: list[dict[str, str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                outer.seen.append(dict(self.headers))
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    outer.reply(self)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/client/v4"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def send(
    h: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str] | None = None
) -> None:
    h.send_response(status)
    h.send_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        h.send_header(k, v)
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)


@pytest.fixture
def server() -> Iterator[Hostile]:
    srv = Hostile()
    yield srv
    srv.close()


@pytest.fixture
def connect(server: Hostile, sleep: FakeSleep) -> Iterator[Callable[..., Client]]:
    made: list[Client] = []

    def factory(**kw: Any) -> Client:
        options: dict[str, Any] = {
            "token": TOKEN,
            "base_url": server.base_url,
            "organization_id": ORG,
            "progress": False,
            "cache": False,
            "timeout": 5.0,
            "sleep": sleep,
            "retry": Retry(max_attempts=2, jitter=False),
        }
        options.update(kw)
        client = Client(**options)
        made.append(client)
        return client

    yield factory
    for client in made:
        client.close()


def leaks(exc: BaseException, secret: str = TOKEN) -> list[str]:
    """Every place a token could hide in an exception, as text, that holds ``secret``."""
    texts = [str(exc), repr(exc), repr(vars(exc)) if hasattr(exc, "__dict__") else ""]
    texts.append("".join(traceback.format_exception(exc)))
    try:
        texts.append(pickle.dumps(exc).decode("latin-1"))
    except Exception as problem:  # an error that cannot be pickled holds nothing to leak
        texts.append(repr(problem))
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:  # the whole chain, and nothing from httpx holding a request in it
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, httpx.HTTPError):
            texts.append(f"{secret} (an httpx error is chained: {type(e).__name__})")
        texts += [repr(e), repr(getattr(e, "__dict__", ""))]
        todo += [e.__cause__, e.__context__]
    parts = {secret, secret.strip(), repr(secret)[1:-1]}
    return [t for t in texts if any(p and p in t for p in parts)]


# ---- 1. the token ----------------------------------------------------------------------------


@pytest.mark.parametrize("around", ["\n", "\r\n", " ", "\t ", "\n\n"])
def test_a_token_with_whitespace_around_it_is_sent_stripped(
    server: Hostile, connect: Callable[..., Client], monkeypatch: pytest.MonkeyPatch, around: str
) -> None:
    # issue 11: Path("token.txt").read_text() or a CRLF .env gave "tok\n": httpx raised
    # "Illegal header value b'Bearer tok\n'" with the token in it
    server.reply = lambda h: send(h, 200, envelope_bytes([record()]))
    assert len(connect(token=around + TOKEN + around).usage(DAY, DAY)) == 1
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", TOKEN + around)
    assert len(connect(token=None).usage(DAY, DAY)) == 1
    assert [h["Authorization"] for h in server.seen] == [f"Bearer {TOKEN}"] * 2


@pytest.mark.parametrize(
    ("inside", "problem"),
    [
        ("\n", "a control character (U+000A) at position 9"),
        ("\x00", "a control character (U+0000) at position 9"),
        (" ", "a space at position 9"),
        ("é", "a non-ASCII character at position 9"),
        ("\u2028", "a non-ASCII character at position 9"),  # a line separator
        ("\u00a0", "a non-ASCII character at position 9"),  # a no-break space
    ],
)
def test_a_token_that_cannot_be_a_header_is_refused_before_any_request(
    server: Hostile, caplog: pytest.LogCaptureFixture, inside: str, problem: str
) -> None:
    # issue 11: a non-ASCII token raised a raw UnicodeEncodeError holding it
    caplog.set_level(logging.DEBUG)
    bad = TOKEN[:8] + inside + TOKEN[8:]
    for make in (Client, AsyncClient):
        with pytest.raises(TokenError) as info:
            make(token=bad, base_url=server.base_url, organization_id=ORG)
        assert problem in str(info.value)
        assert info.value.status_code is None
        for secret in (bad, TOKEN[:8], TOKEN[8:]):
            assert leaks(info.value, secret) == []
    assert server.seen == []
    assert not [r for r in caplog.records if TOKEN[8:] in r.getMessage()]


@pytest.mark.parametrize("fault", ["dropped", "timeout"])
def test_transport_errors_chain_no_httpx_request_and_log_no_token(
    server: Hostile,
    connect: Callable[..., Client],
    caplog: pytest.LogCaptureFixture,
    fault: str,
) -> None:
    # issue 11: httpx errors in __cause__ kept .request.headers["authorization"]
    caplog.set_level(logging.DEBUG, logger="httpcore")
    caplog.set_level(logging.DEBUG, logger="httpx")
    caplog.set_level(logging.DEBUG, logger="cfusage")

    def reply(h: BaseHTTPRequestHandler) -> None:
        if fault == "dropped":
            h.close_connection = True
            h.wfile.flush()
            h.connection.shutdown(2)
        else:
            time.sleep(1.5)

    server.reply = reply
    with pytest.raises(TransportError) as info:
        connect(timeout=0.5).usage(DAY, DAY)
    assert info.value.window == WINDOW
    assert info.value.__cause__ is None
    assert leaks(info.value) == []
    assert len(server.seen) == 2  # Retry(max_attempts=2)
    assert any(r.name.startswith("httpcore") for r in caplog.records)  # it did log
    assert not [r for r in caplog.records if TOKEN in r.getMessage()]


def test_api_errors_chain_nothing_that_holds_the_token(
    server: Hostile, connect: Callable[..., Client]
) -> None:
    body = json.dumps({"success": False, "errors": [{"code": 1, "message": "nope"}]}).encode()
    for status in (400, 401, 403, 404, 500):
        server.reply = lambda h, s=status: send(h, s, body)
        with pytest.raises(Error) as info:
            connect().usage(DAY, DAY)
        assert leaks(info.value) == [], status


# ---- 5. the size cap -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """100 MiB of zeros, gzip'd to about 100 KB."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\0" * (1 << 20)
    return b"".join([comp.compress(block) for _ in range(100)] + [comp.flush()])


def test_a_gzip_bomb_stops_at_the_cap_and_is_not_retried(
    server: Hostile, connect: Callable[..., Client], bomb: bytes
) -> None:
    # issue 11: 1 MB of gzip expanding to 1 GB took 106 s and 6.3 GB of RAM, retried 5 times
    assert len(bomb) < 200_000
    server.reply = lambda h: send(h, 200, bomb, {"Content-Encoding": "gzip"})
    tracemalloc.start()
    try:
        with pytest.raises(ResponseTooLargeError) as info:
            connect(max_response_bytes=1 << 20, retry=Retry(max_attempts=5)).usage(DAY, DAY)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(server.seen) == 1  # not retried
    assert info.value.window == WINDOW and info.value.limit == 1 << 20
    assert "window 2026-03-01..2026-03-01" in str(info.value)
    assert "max_response_bytes=1,048,576" in str(info.value)
    assert peak < 16 << 20  # never decoded past the cap (100 MiB would have been held)
    assert isinstance(info.value, ResponseError)


def test_a_plain_body_announced_past_the_cap_is_refused_before_reading(
    server: Hostile, connect: Callable[..., Client]
) -> None:
    def reply(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", str(50 << 20))
        h.end_headers()
        h.wfile.write(b"[" * 1000)  # and never the rest

    server.reply = reply
    with pytest.raises(ResponseTooLargeError, match="is 52,428,800 bytes past"):
        connect(max_response_bytes=1 << 20, timeout=2.0).usage(DAY, DAY)
    assert len(server.seen) == 1


@pytest.mark.parametrize("coding", ["gzip", "deflate", "gzip-two-members", "identity"])
def test_bodies_within_the_cap_are_decoded_whole(
    server: Hostile, connect: Callable[..., Client], coding: str
) -> None:
    days = [f"2026-03-{d:02d}" for d in range(1, 11)]
    raw = envelope_bytes([record(d) for d in days])
    if coding == "gzip":
        body, header = gzip.compress(raw), "gzip"
    elif coding == "deflate":
        body, header = zlib.compress(raw), "deflate"
    elif coding == "gzip-two-members":
        body, header = gzip.compress(raw[:100]) + gzip.compress(raw[100:]), "gzip"
    else:
        body, header = raw, "identity"
    server.reply = lambda h: send(h, 200, body, {"Content-Encoding": header})
    df = connect(max_response_bytes=len(raw)).usage(days[0], days[-1])
    assert [ts.date().isoformat() for ts in df["charge_period_start"]] == days
    assert server.seen[0]["Accept-Encoding"] == "gzip, deflate"


def test_a_cut_gzip_stream_is_a_truncated_body_retried(
    server: Hostile, connect: Callable[..., Client]
) -> None:
    body = gzip.compress(envelope_bytes([record()]))[:-12]
    server.reply = lambda h: send(h, 200, body, {"Content-Encoding": "gzip"})
    with pytest.raises(ResponseError, match="truncated body"):
        connect().usage(DAY, DAY)
    assert len(server.seen) == 2


def test_an_encoding_not_asked_for_is_refused(
    server: Hostile, connect: Callable[..., Client]
) -> None:
    server.reply = lambda h: send(h, 200, b"\x1b\x00", {"Content-Encoding": "br"})
    with pytest.raises(ResponseError, match="Content-Encoding 'br'"):
        connect().usage(DAY, DAY)


def test_the_cap_must_be_a_positive_number_of_bytes() -> None:
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="max_response_bytes"):
            Client(token=TOKEN, max_response_bytes=bad)  # type: ignore[arg-type]
    for bad in (0, -2, float("nan")):
        with pytest.raises(ValueError, match="deadline"):
            Client(token=TOKEN, deadline=bad)


# ---- 6. the deadline -------------------------------------------------------------------------


def trickle(h: BaseHTTPRequestHandler) -> None:
    """An envelope announced in full, then sent one byte a second."""
    body = envelope_bytes([record()])
    h.send_response(200)
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    for i in range(20):  # bounded: the server gives up after 20 s whatever the client does
        h.wfile.write(body[i : i + 1])
        h.wfile.flush()
        time.sleep(1.0)


def test_a_trickled_body_ends_at_the_deadline_counted_as_an_attempt(
    server: Hostile, connect: Callable[..., Client]
) -> None:
    # issue 11: a body trickled at 1 byte/s was still downloading after 200 s (timeout is per read)
    server.reply = trickle
    started = time.perf_counter()
    with pytest.raises(DeadlineError) as info:
        connect(deadline=2.0).usage(DAY, DAY)
    elapsed = time.perf_counter() - started
    assert len(server.seen) == 2  # retried once: Retry(max_attempts=2)
    assert info.value.deadline == 2.0 and info.value.window == WINDOW
    assert "window 2026-03-01..2026-03-01" in str(info.value) and "deadline" in str(info.value)
    assert isinstance(info.value, TransportError)
    assert elapsed < 30  # a bound for the test run, not a timing assertion on the client


def test_the_async_client_has_the_same_deadline(server: Hostile) -> None:
    import asyncio

    server.reply = trickle

    async def main() -> None:
        async with AsyncClient(
            token=TOKEN,
            base_url=server.base_url,
            organization_id=ORG,
            progress=False,
            cache=False,
            deadline=1.5,
            retry=Retry(max_attempts=1),
        ) as client:
            await client.usage(DAY, DAY)

    with pytest.raises(DeadlineError, match=r"window 2026-03-01\.\.2026-03-01"):
        asyncio.run(main())
    assert len(server.seen) == 1


# ---- 7. bodies to_frame cannot take ----------------------------------------------------------


OUT_OF_RANGE = b'{"success": true, "errors": [], "result": [{"ListCost": 1e400}]}'
DEEP = b'{"success": true, "errors": [], "result": ' + b"[" * 5000 + b"]" * 5000 + b"}"
HUGE_INT = b'{"success": true, "errors": [], "result": [{"ConsumedQuantity": ' + b"9" * 500 + b"}]}"


@pytest.mark.parametrize(
    ("method", "body"),
    [
        ("usage", OUT_OF_RANGE),
        ("usage", DEEP),
        ("usage", HUGE_INT),
        ("raw", OUT_OF_RANGE),
        ("raw", DEEP),
    ],
    ids=["usage-1e400", "usage-deep-nesting", "usage-huge-int", "raw-1e400", "raw-deep-nesting"],
)
def test_json_that_cannot_be_read_is_a_cfusage_error_naming_the_window(
    server: Hostile, connect: Callable[..., Client], body: bytes, method: str
) -> None:
    # issue 11: msgspec.ValidationError / RecursionError came raw through Client.usage
    server.reply = lambda h: send(h, 200, body)
    with pytest.raises(Error) as info:
        getattr(connect(retry=Retry(max_attempts=3)), method)(DAY, DAY)
    assert len(server.seen) == 1  # JSON that cannot be read comes back the same: not retried
    assert info.value.window == WINDOW
    assert "window 2026-03-01..2026-03-01" in str(info.value)


def test_nothing_but_a_cfusage_error_leaves_the_client(
    server: Hostile, connect: Callable[..., Client], monkeypatch: pytest.MonkeyPatch
) -> None:
    import cfusage.fetch._client as client_module

    server.reply = lambda h: send(h, 200, envelope_bytes([record()]))
    for boom in (KeyError("ListCost"), OverflowError("int too large"), RuntimeError()):

        def to_frame(body: bytes, boom: Exception = boom) -> Any:
            raise boom

        monkeypatch.setattr(client_module._frame, "to_frame", to_frame)
        with pytest.raises(ResponseError) as info:
            connect().usage(DAY, DAY)
        assert info.value.window == WINDOW
        assert type(boom).__name__ in str(info.value)


# ---- 10. Retry-After and escapes -------------------------------------------------------------


def test_a_negative_retry_after_is_no_instruction(
    server: Hostile, connect: Callable[..., Client], sleep: FakeSleep
) -> None:
    # issue 11: this ended in "Retry-After asks for 0 s, more than the 0 s left"
    server.reply = lambda h: send(h, 429, b"{}", {"Retry-After": "-30"})
    with pytest.raises(RateLimitError) as info:
        connect(retry=Retry(max_wait=2.0, backoff=0.5, jitter=False)).usage(DAY, DAY)
    message = str(info.value)
    assert "asks for 0 s" not in message and "more than the 0 s left" not in message
    assert "still rate limited after waiting 2 s in total" in message
    assert info.value.retry_after is None
    assert sleep.waits == [0.5, 1.0, 0.5]


def test_a_retry_after_of_1e12_is_a_rate_limit_error_saying_more_than_a_year(
    server: Hostile, connect: Callable[..., Client]
) -> None:
    server.reply = lambda h: send(h, 429, b"{}", {"Retry-After": "1e12"})
    with pytest.raises(RateLimitError, match="asks for more than a year") as info:
        connect().usage(DAY, DAY)
    assert info.value.retry_after == 1e12


def test_the_cli_prints_api_messages_without_terminal_escapes(
    server: Hostile, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path
) -> None:
    hostile = "\x1b]0;owned\x07\x1b[31mbad \x1b[2Jrange\x1b[0m\r\x08"
    body = json.dumps({"success": False, "errors": [{"code": 1003, "message": hostile}]}).encode()
    server.reply = lambda h: send(h, 400, body)
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", TOKEN)
    monkeypatch.setenv("CFUSAGE_CACHE_DIR", str(tmp_path))
    argv = ["fetch", "--org", ORG, "--base-url", server.base_url, "--from", DAY, "--to", DAY]
    code = cli.main([*argv, "--out", str(tmp_path / "u.csv"), "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 5
    assert "[1003] bad range" in err
    assert all(c not in err + out for c in "\x1b\x07\r\x08")
    assert TOKEN not in err + out
