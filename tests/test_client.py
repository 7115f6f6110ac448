"""Wire-level tests of cfusage.client with httpx.MockTransport: exact requests, statuses, retries.

The fake API here serves one record per account per day, reading ``to`` as inclusive or exclusive
as asked, so the expected frame is known day by day. Real-socket tests against the sample server
are in ``test_client_server.py``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import gzip
import itertools
import json
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cfusage.fetch._client as client_module
from cfusage.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    Error,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseError,
    ServerError,
    TokenError,
    TransportError,
)
from cfusage.fetch._client import AsyncClient, Client, Retry, windows
from tests.conftest import FakeSleep

TOKEN = "cfut_SECRET-token-4f9a2c81d7"
BASE = "https://api.test/client/v4"
ORG = "org0123"
TODAY = dt.date(2026, 6, 15)
ONE = dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_module, "_today", lambda: TODAY)


def record(day: dt.date, account: str = "acct1", metric: str = "workers_standard_requests") -> dict:
    return {
        "BillingAccountId": account,
        "ChargePeriodStart": f"{day.isoformat()}T00:00:00Z",
        "ChargePeriodEnd": f"{(day + ONE).isoformat()}T00:00:00Z",
        "x_BillableMetricId": metric,
        "ConsumedQuantity": float(day.toordinal()),
        "ConsumedUnit": "Requests",
    }


def envelope(records: list[dict]) -> dict:
    return {"success": True, "errors": [], "messages": [], "result": records}


def error_body(code: int, message: str) -> dict:
    return {"success": False, "errors": [{"code": code, "message": message}], "messages": []}


class FakeAPI:
    """One record per account per day; ``script`` answers (or raises) first, in order."""

    def __init__(
        self,
        *,
        to_inclusive: bool = True,
        accounts: tuple[str, ...] = ("acct1",),
        metrics: tuple[str, ...] = ("workers_standard_requests",),
        script: list[Any] | None = None,
    ) -> None:
        self.to_inclusive = to_inclusive
        self.accounts = accounts
        self.metrics = metrics
        self.script = list(script or [])
        self.requests: list[httpx.Request] = []
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.requests.append(request)
            step = self.script.pop(0) if self.script else None
        if isinstance(step, Exception):
            raise step
        if isinstance(step, httpx.Response):
            return step
        if callable(step):
            return step(request)
        return self.serve(request)

    def serve(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            period = json.loads(request.content)["TimePeriod"]
            first = dt.date.fromisoformat(period["From"])
            stop = dt.date.fromisoformat(period["To"])
        else:
            first = dt.date.fromisoformat(request.url.params["from"])
            to = dt.date.fromisoformat(request.url.params["to"])
            assert (to - first).days <= 30, "the client asked for more than 31 days"
            stop = to + ONE if self.to_inclusive else to
        wanted = request.url.params.get("metric")
        rows = [
            record(first + i * ONE, account, metric)
            for i in range((stop - first).days)
            for account in self.accounts
            for metric in self.metrics
            if wanted is None or metric == wanted
        ]
        return httpx.Response(200, json=envelope(rows))

    @property
    def windows_asked(self) -> list[tuple[str, str]]:
        return [(r.url.params["from"], r.url.params["to"]) for r in self.requests]


@pytest.fixture
def make_client(sleep: FakeSleep, tmp_path: Any) -> Iterator[Callable[..., Client]]:
    made: list[Client] = []

    def factory(api: Callable[[httpx.Request], httpx.Response], **kw: Any) -> Client:
        options: dict[str, Any] = {
            "token": TOKEN,
            "base_url": BASE,
            "organization_id": ORG,
            "transport": httpx.MockTransport(api),
            "progress": False,
            "cache": False,
            "cache_dir": tmp_path / "cache",
            "sleep": sleep,
            "retry": Retry(jitter=False),
        }
        options.update(kw)
        c = Client(**options)
        made.append(c)
        return c

    yield factory
    for c in made:
        c.close()


def days_of(df: pd.DataFrame) -> list[dt.date]:
    return [ts.date() for ts in df["charge_period_start"]]


def every_day(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + i * ONE for i in range((last - first).days + 1)]


# ---- windows ---------------------------------------------------------------------------------


def test_a_year_is_thirteen_windows_of_at_most_thirty_days() -> None:
    ws = windows("2025-01-01", "2025-12-31")
    assert len(ws) == 13
    assert ws[0] == (dt.date(2025, 1, 1), dt.date(2025, 1, 31))
    assert ws[-1] == (dt.date(2025, 12, 27), dt.date(2026, 1, 1))
    assert all((e - s).days <= 30 for s, e in ws)


@settings(max_examples=200, deadline=None)
@given(
    first=st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2030, 1, 1)),
    length=st.integers(min_value=0, max_value=1000),
    days=st.integers(min_value=1, max_value=31),
)
def test_windows_cover_every_day_exactly_once(first: dt.date, length: int, days: int) -> None:
    last = first + length * ONE
    ws = windows(first, last, days=days)
    covered = [s + i * ONE for s, e in ws for i in range((e - s).days)]
    assert covered == every_day(first, last)
    assert all(1 <= (e - s).days <= days for s, e in ws)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(ws))


def test_windows_reject_end_before_start_naming_both() -> None:
    with pytest.raises(ValueError, match=r"end=2026-01-01 is before start=2026-02-01"):
        windows("2026-02-01", "2026-01-01")


def test_bad_day_names_the_argument_and_value() -> None:
    with pytest.raises(ValueError, match=r"start='yesterday-ish'"):
        windows("yesterday-ish", "2026-01-01")
    with pytest.raises(ValueError, match=r"end=3\.5"):
        windows("2026-01-01", 3.5)  # type: ignore[arg-type]
    for missing in (pd.NaT, "NaT", None):
        with pytest.raises(ValueError, match="is not a day"):
            windows(missing, "2026-01-01")  # type: ignore[arg-type]


# ---- the boundary day and the happy path ------------------------------------------------------


@pytest.mark.parametrize("to_inclusive", [True, False], ids=["to-inclusive", "to-exclusive"])
def test_usage_keeps_every_day_once_whichever_way_the_api_reads_to(
    make_client: Callable[..., Client], to_inclusive: bool
) -> None:
    api = FakeAPI(to_inclusive=to_inclusive)
    df = make_client(api).usage("2025-01-01", "2025-12-31")
    assert days_of(df) == every_day(dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    # independent check of the values: each day's quantity is its ordinal
    expected = sum(d.toordinal() for d in every_day(dt.date(2025, 1, 1), dt.date(2025, 12, 31)))
    assert df["consumed_quantity"].sum() == expected
    assert len(api.requests) == 13
    assert api.windows_asked[0] == ("2025-01-01", "2025-01-31")
    assert api.windows_asked[1] == ("2025-01-31", "2025-03-02")
    assert api.windows_asked[-1] == ("2025-12-27", "2026-01-01")


def test_usage_of_one_day_is_that_day(make_client: Callable[..., Client]) -> None:
    api = FakeAPI()
    df = make_client(api).usage("2026-03-01", "2026-03-01")
    assert days_of(df) == [dt.date(2026, 3, 1)]
    assert api.windows_asked == [("2026-03-01", "2026-03-02")]


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2026-03-01", "2026-03-03"),
        (dt.date(2026, 3, 1), dt.date(2026, 3, 3)),
        (dt.datetime(2026, 3, 1, 12), dt.datetime(2026, 3, 3, 23, 59)),
        (pd.Timestamp("2026-03-01"), pd.Timestamp("2026-03-03")),
        (pd.Timestamp("2026-03-01 01:00", tz="Europe/Paris"), "2026-03-03"),  # 00:00 UTC
    ],
)
def test_usage_accepts_str_date_datetime_and_timestamp(
    make_client: Callable[..., Client], start: Any, end: Any
) -> None:
    df = make_client(FakeAPI()).usage(start, end)
    assert days_of(df) == every_day(dt.date(2026, 3, 1), dt.date(2026, 3, 3))


def test_usage_returns_the_typed_frame_with_range_metadata(
    make_client: Callable[..., Client],
) -> None:
    df = make_client(FakeAPI()).usage("2026-01-01", "2026-02-15")
    assert str(df["charge_period_start"].dtype) == "datetime64[us, UTC]"
    assert str(df["consumed_quantity"].dtype) == "Float64"
    assert df["list_cost"].isna().all()  # absent costs stay NA, never 0
    meta = df.attrs["cfusage"]
    assert meta["start"] == dt.date(2026, 1, 1)
    assert meta["end"] == dt.date(2026, 2, 15)
    assert meta["windows"] == 2


def test_requests_carry_the_bearer_token_and_inclusive_dates(
    make_client: Callable[..., Client],
) -> None:
    api = FakeAPI()
    make_client(api).usage("2026-03-01", "2026-03-10")
    (request,) = api.requests
    assert request.method == "GET"
    assert request.url.path == f"/client/v4/organizations/{ORG}/billable/usage"
    assert dict(request.url.params) == {"from": "2026-03-01", "to": "2026-03-11"}
    assert request.headers["authorization"] == f"Bearer {TOKEN}"


def test_settings_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, sleep: FakeSleep
) -> None:
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", "env-token-xyz")
    monkeypatch.setenv("CLOUDFLARE_BASE_URL", "https://proxy.example/client/v4/")
    monkeypatch.setenv("CLOUDFLARE_ORGANIZATION_ID", "org-from-env")
    api = FakeAPI()
    with Client(transport=httpx.MockTransport(api), progress=False, cache=False) as c:
        assert c.base_url == "https://proxy.example/client/v4"
        assert c.organization_id == "org-from-env"
        c.usage("2026-03-01", "2026-03-01")
    assert str(api.requests[0].url).startswith(
        "https://proxy.example/client/v4/organizations/org-from-env/billable/usage?"
    )
    assert api.requests[0].headers["authorization"] == "Bearer env-token-xyz"


def test_default_base_url_is_cloudflare(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLOUDFLARE_BASE_URL", raising=False)
    assert Client(token=TOKEN, organization_id="o").base_url == (
        "https://api.cloudflare.com/client/v4"
    )


def test_no_organization_id_says_how_to_give_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLOUDFLARE_ORGANIZATION_ID", raising=False)
    with pytest.raises(Error, match="CLOUDFLARE_ORGANIZATION_ID"):
        Client(token=TOKEN, progress=False).usage("2026-03-01", "2026-03-02")


def test_a_users_own_httpx_client_is_used_and_left_open() -> None:
    api = FakeAPI()
    own = httpx.Client(transport=httpx.MockTransport(api))
    with Client(
        token=TOKEN, organization_id=ORG, base_url=BASE, http_client=own, progress=False,
        cache=False,
    ) as c:  # fmt: skip
        c.usage("2026-03-01", "2026-03-02")
    assert len(api.requests) == 1
    assert not own.is_closed
    own.close()


def test_accounts_filter_keeps_only_those_accounts(make_client: Callable[..., Client]) -> None:
    api = FakeAPI(accounts=("a1", "a2", "a3"))
    df = make_client(api).usage("2026-03-01", "2026-03-04", accounts=["a1", "a3"])
    assert sorted(df["billing_account_id"].unique()) == ["a1", "a3"]
    assert len(df) == 2 * 4
    one = make_client(api).usage("2026-03-01", "2026-03-04", accounts="a2")
    assert list(one["billing_account_id"].unique()) == ["a2"]


def test_metric_is_sent_and_applied(make_client: Callable[..., Client]) -> None:
    api = FakeAPI(metrics=("m1", "m2"))
    df = make_client(api).usage("2026-03-01", "2026-03-02", metric="m2")
    assert api.requests[0].url.params["metric"] == "m2"
    assert set(df["x_billable_metric_id"]) == {"m2"}
    assert len(df) == 2


def test_metric_rejected_by_revision_c_is_filtered_client_side(
    make_client: Callable[..., Client],
) -> None:
    def no_metric_param(request: httpx.Request) -> httpx.Response:
        if "metric" in request.url.params:
            return httpx.Response(400, json=error_body(1004, "Unknown query parameter(s): metric"))
        return api.serve(request)

    api = FakeAPI(metrics=("m1", "m2"), script=[no_metric_param] * 10)
    df = make_client(api).usage("2026-03-01", "2026-03-02", metric="m1")
    assert set(df["x_billable_metric_id"]) == {"m1"}
    assert days_of(df) == every_day(dt.date(2026, 3, 1), dt.date(2026, 3, 2))
    assert "metric" not in api.requests[-1].url.params


@pytest.mark.parametrize("to_inclusive", [True, False], ids=["to-inclusive", "to-exclusive"])
def test_raw_returns_exactly_the_days_asked(
    make_client: Callable[..., Client], to_inclusive: bool
) -> None:
    # issue 13: raw("2026-03-01", "2026-03-31") also returned 1 April (and the boundary day twice)
    envelopes = make_client(FakeAPI(to_inclusive=to_inclusive)).raw("2026-03-01", "2026-03-31")
    assert [e["success"] for e in envelopes] == [True, True]
    days = [r["ChargePeriodStart"][:10] for e in envelopes for r in e["result"]]
    assert days == [d.isoformat() for d in every_day(dt.date(2026, 3, 1), dt.date(2026, 3, 31))]
    assert set(envelopes[0]) == {"success", "errors", "messages", "result"}


def test_raw_keeps_records_whose_start_cannot_be_read(make_client: Callable[..., Client]) -> None:
    odd = {"BillingAccountId": "a", "ChargePeriodStart": "not a date"}
    api = FakeAPI(script=[httpx.Response(200, json=envelope([odd, record(dt.date(2026, 3, 1))]))])
    (env,) = make_client(api).raw("2026-03-01", "2026-03-01")
    assert env["result"] == [odd, record(dt.date(2026, 3, 1))]


def test_account_usage_gets_the_account_endpoint(make_client: Callable[..., Client]) -> None:
    api = FakeAPI()
    df = make_client(api).account_usage("acct1", "2026-03-01", "2026-03-05")
    assert api.requests[0].url.path == "/client/v4/accounts/acct1/billable/usage"
    assert days_of(df) == every_day(dt.date(2026, 3, 1), dt.date(2026, 3, 5))
    assert df.attrs["cfusage"]["source"] == "account_usage"


def test_account_costs_posts_the_documented_body(make_client: Callable[..., Client]) -> None:
    api = FakeAPI()
    df = make_client(api).account_costs(
        "acct1",
        "2026-01-01",
        "2026-02-05",
        metric_ids=["workers_standard_requests"],
        product_family_ids=["workers"],
        tags=["env:prod"],
        group_by=["Tags"],
    )
    assert [r.method for r in api.requests] == ["POST", "POST"]
    assert api.requests[0].url.path == "/client/v4/accounts/acct1/billable/usage"
    assert api.requests[0].headers["content-type"] == "application/json"
    assert json.loads(api.requests[0].content) == {
        "TimePeriod": {"From": "2026-01-01", "To": "2026-01-31"},
        "FilterBy": {
            "MetricIds": ["workers_standard_requests"],
            "ProductFamilyIds": ["workers"],
            "Tags": ["env:prod"],
        },
        "GroupBy": ["Tags"],
        "Metric": "cost",
    }
    assert json.loads(api.requests[1].content)["TimePeriod"] == {
        "From": "2026-01-31",
        "To": "2026-02-06",
    }
    assert days_of(df) == every_day(dt.date(2026, 1, 1), dt.date(2026, 2, 5))


def test_account_costs_leaves_out_empty_filters(make_client: Callable[..., Client]) -> None:
    api = FakeAPI()
    make_client(api).account_costs("acct1", "2026-01-01", "2026-01-01")
    assert json.loads(api.requests[0].content) == {
        "TimePeriod": {"From": "2026-01-01", "To": "2026-01-02"},
        "Metric": "cost",
    }


def test_account_costs_rejects_a_non_string_filter(make_client: Callable[..., Client]) -> None:
    with pytest.raises(ValueError, match=r"metric_ids=\[1\]"):
        make_client(FakeAPI()).account_costs("a", "2026-01-01", "2026-01-01", metric_ids=[1])  # type: ignore[list-item]


# ---- completeness ---------------------------------------------------------------------------


def test_complete_through_is_two_days_before_today_when_reached(
    make_client: Callable[..., Client],
) -> None:
    # the fake API has every day, so a range running to today is complete through today - 2
    df = make_client(FakeAPI()).usage(TODAY - 40 * ONE, TODAY)
    assert df.attrs["cfusage"]["complete_through"] == TODAY - 2 * ONE


def test_complete_through_is_end_for_a_past_range(make_client: Callable[..., Client]) -> None:
    df = make_client(FakeAPI()).usage("2026-01-01", "2026-01-31")
    assert df.attrs["cfusage"]["complete_through"] == dt.date(2026, 1, 31)


def test_complete_through_is_the_last_day_with_rows_when_short(
    make_client: Callable[..., Client],
) -> None:
    last_served = TODAY - 5 * ONE

    def lagging(request: httpx.Request) -> httpx.Response:
        first = dt.date.fromisoformat(request.url.params["from"])
        to = dt.date.fromisoformat(request.url.params["to"])
        days = every_day(first, min(to, last_served))
        return httpx.Response(200, json=envelope([record(d) for d in days]))

    df = make_client(lagging).usage(TODAY - 20 * ONE, TODAY)
    assert df.attrs["cfusage"]["complete_through"] == last_served


def test_complete_through_is_none_without_rows(make_client: Callable[..., Client]) -> None:
    empty = httpx.Response(200, json=envelope([]))
    df = make_client(lambda r: empty).usage("2026-03-01", "2026-03-02")
    assert len(df) == 0
    assert df.attrs["cfusage"]["complete_through"] is None


# ---- error statuses -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error", "text"),
    [
        (400, BadRequestError, "bad request"),
        (401, AuthenticationError, "invalid, expired or revoked"),
        (403, PermissionDeniedError, "Billing Read"),
        (404, NotFoundError, "organization or account id"),
        (409, APIError, "unexpected status"),
        (422, APIError, "unexpected status"),
    ],
)
def test_each_error_status_maps_to_its_error_and_is_not_retried(
    make_client: Callable[..., Client],
    sleep: FakeSleep,
    status: int,
    error: type[APIError],
    text: str,
) -> None:
    reply = httpx.Response(status, json=error_body(1003, "Range is longer than 31 days"))
    api = FakeAPI(script=[reply])
    with pytest.raises(error) as info:
        make_client(api).usage("2026-03-01", "2026-03-02")
    assert type(info.value) is error
    assert info.value.status_code == status
    assert info.value.errors == [{"code": 1003, "message": "Range is longer than 31 days"}]
    assert info.value.window == (dt.date(2026, 3, 1), dt.date(2026, 3, 2))
    message = str(info.value)
    assert text in message
    assert "[1003] Range is longer than 31 days" in message
    assert "window 2026-03-01..2026-03-02" in message
    assert len(api.requests) == 1
    assert sleep.waits == []


def test_permission_denied_mentions_the_restricted_alpha(
    make_client: Callable[..., Client],
) -> None:
    api = FakeAPI(script=[httpx.Response(403, json=error_body(9109, "Unauthorized"))])
    with pytest.raises(PermissionDeniedError, match="restricted alpha"):
        make_client(api).usage("2026-03-01", "2026-03-02")


@pytest.mark.parametrize("env", [None, "", "  \n"], ids=["unset", "empty", "blank"])
def test_no_token_fails_at_construction_saying_where_to_put_one(
    make_client: Callable[..., Client], monkeypatch: pytest.MonkeyPatch, env: str | None
) -> None:
    # issue 13: Client() without a token used to send requests anyway (and get a 401)
    if env is None:
        monkeypatch.delenv("CLOUDFLARE_API_TOKEN", raising=False)
    else:
        monkeypatch.setenv("CLOUDFLARE_API_TOKEN", env)
    api = FakeAPI()
    with pytest.raises(
        TokenError, match=r"no API token: pass token= or set \$CLOUDFLARE_API_TOKEN"
    ):
        make_client(api, token=None)
    with pytest.raises(AuthenticationError):  # a TokenError is an AuthenticationError
        AsyncClient(organization_id="o")
    assert api.requests == []


def test_success_false_is_a_response_error_with_the_api_messages(
    make_client: Callable[..., Client], sleep: FakeSleep
) -> None:
    reply = httpx.Response(200, json={**error_body(7000, "No route"), "result": None})
    api = FakeAPI(script=[reply])
    with pytest.raises(ResponseError, match=r"success: false.*\[7000\] No route") as info:
        make_client(api).usage("2026-03-01", "2026-03-02")
    assert info.value.errors == [{"code": 7000, "message": "No route"}]
    assert info.value.window == (dt.date(2026, 3, 1), dt.date(2026, 3, 2))
    assert len(api.requests) == 1  # not retried: the API said no


def test_a_body_that_is_not_json_is_retried_then_a_response_error(
    make_client: Callable[..., Client], sleep: FakeSleep
) -> None:
    html = httpx.Response(200, text="<html>gateway</html>")
    api = FakeAPI(script=[html] * 5)
    with pytest.raises(ResponseError, match="not JSON or was cut short") as info:
        make_client(api).usage("2026-03-01", "2026-03-02")
    assert info.value.window == (dt.date(2026, 3, 1), dt.date(2026, 3, 2))
    assert len(api.requests) == 5
    assert sleep.waits == [0.5, 1.0, 2.0, 4.0]


def test_a_truncated_body_is_retried_and_recovers(
    make_client: Callable[..., Client], sleep: FakeSleep
) -> None:
    full = json.dumps(envelope([record(dt.date(2026, 3, 1))])).encode()
    cut = httpx.Response(200, content=full[: len(full) // 2])
    api = FakeAPI(script=[cut])
    df = make_client(api).usage("2026-03-01", "2026-03-01")
    assert days_of(df) == [dt.date(2026, 3, 1)]
    assert len(api.requests) == 2
    assert sleep.waits == [0.5]


def test_a_connection_closed_mid_body_is_a_truncated_body(
    make_client: Callable[..., Client],
) -> None:
    cut = httpx.RemoteProtocolError(
        "peer closed connection without sending complete message body: received 10 bytes, "
        "expected 20"
    )
    api = FakeAPI(script=[cut] * 5)
    with pytest.raises(ResponseError, match="truncated body") as info:
        make_client(api).usage("2026-03-01", "2026-03-02")
    assert info.value.__cause__ is None  # httpx errors hold the request and its Authorization
    assert "peer closed connection" in str(info.value)
    assert len(api.requests) == 5


# ---- retries --------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_retried_with_exponential_backoff(
    make_client: Callable[..., Client], sleep: FakeSleep, status: int
) -> None:
    api = FakeAPI(script=[httpx.Response(status, json=error_body(10500, "boom"))] * 3)
    df = make_client(api).usage("2026-03-01", "2026-03-02")
    assert len(df) == 2
    assert len(api.requests) == 4
    assert sleep.waits == [0.5, 1.0, 2.0]


def test_5xx_past_max_attempts_is_a_server_error_naming_the_window(
    make_client: Callable[..., Client], sleep: FakeSleep
) -> None:
    api = FakeAPI(script=[httpx.Response(502, json=error_body(10500, "bad gateway"))] * 3)
    c = make_client(api, retry=Retry(max_attempts=3, backoff=1.0, jitter=False))
    with pytest.raises(ServerError, match=r"window 2026-03-01..2026-03-02: HTTP 502") as info:
        c.usage("2026-03-01", "2026-03-02")
    assert info.value.status_code == 502
    assert len(api.requests) == 3
    assert sleep.waits == [1.0, 2.0]


def test_backoff_is_capped_by_max_backoff(
    make_client: Callable[..., Client], sleep: FakeSleep
) -> None:
    api = FakeAPI(script=[httpx.Response(500)] * 5)
    c = make_client(api, retry=Retry(max_attempts=6, backoff=1.0, max_backoff=3.0, jitter=False))
    c.usage("2026-03-01", "2026-03-01")
    assert sleep.waits == [1.0, 2.0, 3.0, 3.0, 3.0]


def test_5xx_with_retry_after_waits_at_least_that_long(
    make_client: Callable[..., Client], sleep: FakeSleep
) -> None:
    api = FakeAPI(script=[httpx.Response(503, headers={"Retry-After": "7"})])
    make_client(api).usage("2026-03-01", "2026-03-01")
    assert sleep.waits == [7.0]


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ConnectError("connection refused"),
        httpx.ReadTimeout("read timed out"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.ReadError("connection reset by peer"),
    ],
    ids=["connect", "timeout", "dropped", "reset"],
)
def test_connection_failures_are_retried(
    make_client: Callable[..., Client], sleep: FakeSleep, exc: Exception
) -> None:
    api = FakeAPI(script=[exc, exc])
    df = make_client(api).usage("2026-03-01", "2026-03-02")
    assert len(df) == 2
    assert len(api.requests) == 3
    assert sleep.waits == [0.5, 1.0]


def test_connection_failures_past_max_attempts_are_a_transport_error(
    make_client: Callable[..., Client],
) -> None:
    api = FakeAPI(script=[httpx.ConnectTimeout("connect timed out")] * 5)
    with pytest.raises(TransportError, match=r"window 2026-03-01..2026-03-02: timed out") as info:
        make_client(api).usage("2026-03-01", "2026-03-02")
    assert info.value.__cause__ is None and "ConnectTimeout" in str(info.value)
    assert len(api.requests) == 5


def test_jitter_keeps_each_wait_between_half_and_the_full_delay(
    make_client: Callable[..., Client], sleep: FakeSleep
) -> None:
    api = FakeAPI(script=[httpx.Response(500)] * 4)
    make_client(api, retry=Retry(jitter=True), seed=3).usage("2026-03-01", "2026-03-01")
    full = [0.5, 1.0, 2.0, 4.0]
    assert len(sleep.waits) == 4
    assert all(d / 2 <= w <= d for w, d in zip(sleep.waits, full, strict=True))
    assert sleep.waits != full


def test_429_honours_retry_after_seconds(
    make_client: Callable[..., Client], sleep: FakeSleep
) -> None:
    storm = httpx.Response(429, headers={"Retry-After": "12"}, json=error_body(971, "slow down"))
    api = FakeAPI(script=[storm, storm])
    df = make_client(api).usage("2026-03-01", "2026-03-01")
    assert len(df) == 1
    assert sleep.waits == [12.0, 12.0]


def test_429_honours_retry_after_as_an_http_date(
    make_client: Callable[..., Client], sleep: FakeSleep
) -> None:
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=90)
    storm = httpx.Response(429, headers={"Retry-After": email.utils.format_datetime(when, True)})
    make_client(FakeAPI(script=[storm])).usage("2026-03-01", "2026-03-01")
    (waited,) = sleep.waits
    assert 80 <= waited <= 90


def test_429_storm_longer_than_max_attempts_is_ridden_out(
    make_client: Callable[..., Client], sleep: FakeSleep
) -> None:
    storm = httpx.Response(429, headers={"Retry-After": "1"})
    api = FakeAPI(script=[storm] * 20)
    df = make_client(api).usage("2026-03-01", "2026-03-01")
    assert len(df) == 1
    assert sleep.waits == [1.0] * 20


def test_the_five_minute_block_is_waited_out(
    make_client: Callable[..., Client], sleep: FakeSleep
) -> None:
    block = httpx.Response(429, headers={"Retry-After": "300"})
    api = FakeAPI(script=[block])
    make_client(api).usage("2026-03-01", "2026-03-01")
    assert sleep.waits == [300.0]


def test_retry_after_beyond_the_ceiling_raises_at_once_saying_when(
    make_client: Callable[..., Client], sleep: FakeSleep
) -> None:
    block = httpx.Response(429, headers={"Retry-After": "300"}, json=error_body(971, "limited"))
    api = FakeAPI(script=[block])
    c = make_client(api, retry=Retry(max_wait=60, jitter=False))
    with pytest.raises(RateLimitError, match="try again in 5 min") as info:
        c.usage("2026-03-01", "2026-03-01")
    assert info.value.retry_after == 300.0
    assert info.value.status_code == 429
    assert info.value.window == (dt.date(2026, 3, 1), dt.date(2026, 3, 1))
    assert sleep.waits == []
    assert len(api.requests) == 1


def test_429_without_retry_after_backs_off_until_the_ceiling(
    make_client: Callable[..., Client], sleep: FakeSleep
) -> None:
    api = FakeAPI(script=[httpx.Response(429)] * 100)
    with pytest.raises(RateLimitError, match="no Retry-After") as info:
        make_client(api).usage("2026-03-01", "2026-03-01")
    assert info.value.retry_after is None
    # exponential from backoff, capped at max_backoff, the last wait trimmed to the ceiling
    assert sleep.waits[:8] == [0.5, 1, 2, 4, 8, 16, 32, 60]
    assert sum(sleep.waits) == pytest.approx(330.0)
    assert sum(sleep.waits[:-1]) > 300  # long enough to outlast the API's 5-minute block
    assert len(api.requests) == len(sleep.waits) + 1


def test_429_without_retry_after_recovers_when_the_block_ends(
    make_client: Callable[..., Client], sleep: FakeSleep
) -> None:
    api = FakeAPI(script=[httpx.Response(429)] * 4)
    make_client(api).usage("2026-03-01", "2026-03-01")
    assert sleep.waits == [0.5, 1, 2, 4]


def test_retry_after_zero_still_waits_the_backoff(
    make_client: Callable[..., Client], sleep: FakeSleep
) -> None:
    api = FakeAPI(script=[httpx.Response(429, headers={"Retry-After": "0"})] * 3)
    make_client(api).usage("2026-03-01", "2026-03-01")
    assert sleep.waits == [0.5, 0.5, 0.5]


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        ("1.5", 1.5),
        ("-3", None),  # no instruction: the client backs off on its own
        ("", None),
        ("soon", None),
        (None, None),
        ("inf", None),
        ("nan", None),
    ],
)
def test_retry_after_parsing(value: str | None, seconds: float | None) -> None:
    assert client_module._retry_after(value) == seconds


def test_retry_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="max_attempts=0"):
        Retry(max_attempts=0)
    with pytest.raises(ValueError, match="backoff=0"):
        Retry(backoff=0)
    with pytest.raises(ValueError, match="max_backoff=1"):
        Retry(backoff=2, max_backoff=1)


@settings(max_examples=100, deadline=None)
@given(
    backoff=st.floats(min_value=0.01, max_value=10),
    cap=st.floats(min_value=10, max_value=100),
    n=st.integers(min_value=1, max_value=30),
)
def test_delay_is_exponential_capped_and_jitter_stays_within_half(
    backoff: float, cap: float, n: int
) -> None:
    retry = Retry(backoff=backoff, max_backoff=cap)
    plain = retry.delay(n, jitter=False)
    assert plain == pytest.approx(min(cap, backoff * 2 ** (n - 1)))
    assert plain / 2 <= retry.delay(n) <= plain


# ---- one failing window fails the call ------------------------------------------------------


def test_one_failing_window_fails_the_whole_call_naming_it(
    make_client: Callable[..., Client],
) -> None:
    def second_window_missing(request: httpx.Request) -> httpx.Response:
        if request.url.params["from"] == "2026-01-31":
            return httpx.Response(404, json=error_body(7003, "Could not route"))
        return api.serve(request)

    api = FakeAPI(script=[second_window_missing] * 3)
    with pytest.raises(NotFoundError) as info:
        make_client(api, concurrency=1).usage("2026-01-01", "2026-03-31")
    assert info.value.window == (dt.date(2026, 1, 31), dt.date(2026, 3, 1))
    assert "window 2026-01-31..2026-03-01" in str(info.value)


def test_a_failure_stops_windows_not_yet_started(make_client: Callable[..., Client]) -> None:
    api = FakeAPI(script=[httpx.Response(401)])
    with pytest.raises(AuthenticationError):
        make_client(api, concurrency=1).usage("2025-01-01", "2025-12-31")
    assert len(api.requests) == 1


def test_a_failure_wakes_windows_waiting_to_retry(tmp_path: Any) -> None:
    def replies(request: httpx.Request) -> httpx.Response:
        if request.url.params["from"] == "2026-01-01":
            return httpx.Response(503, headers={"Retry-After": "120"})
        return httpx.Response(401)

    c = Client(
        token=TOKEN, base_url=BASE, organization_id=ORG, transport=httpx.MockTransport(replies),
        progress=False, cache=False, concurrency=2,
    )  # fmt: skip
    with pytest.raises(AuthenticationError):
        c.usage("2026-01-01", "2026-02-15")
    # the window told to wait 120 s for its retry gives up as soon as the other one failed
    for thread in threading.enumerate():
        if thread.name.startswith("cfusage"):
            thread.join(timeout=10)
            assert not thread.is_alive()


def test_windows_are_fetched_concurrently_up_to_the_bound(
    make_client: Callable[..., Client],
) -> None:
    in_flight = 0
    peak = 0
    lock = threading.Lock()
    gate = threading.Barrier(3, timeout=10)

    def counting(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        gate.wait()  # three requests must be in flight at once for any to proceed
        with lock:
            in_flight -= 1
        return api.serve(request)

    api = FakeAPI(script=[counting] * 12)
    df = make_client(api, concurrency=3).usage("2025-01-01", dt.date(2025, 1, 1) + 359 * ONE)
    assert len(df) == 360
    assert peak == 3


# ---- the cache ------------------------------------------------------------------------------


def test_final_windows_are_served_from_the_cache_on_rerun(
    make_client: Callable[..., Client], tmp_path: Any
) -> None:
    api = FakeAPI()
    first = make_client(api, cache=True).usage("2026-01-01", "2026-03-31")
    assert len(api.requests) == 3
    again = make_client(api, cache=True).usage("2026-01-01", "2026-03-31")
    assert len(api.requests) == 3  # nothing fetched again
    pd.testing.assert_frame_equal(first, again)


def test_recent_windows_are_never_cached(make_client: Callable[..., Client]) -> None:
    api = FakeAPI()
    # 59 days, 2 windows; the last one's to = TODAY - 1 (> TODAY - 3): fetched every time
    start = TODAY - 60 * ONE
    make_client(api, cache=True).usage(start, TODAY - 2 * ONE)
    make_client(api, cache=True).usage(start, TODAY - 2 * ONE)
    assert len(api.requests) == 2 + 1
    recent = ("2026-05-16", "2026-06-14")
    assert api.windows_asked[-1] == recent  # asked again: it is not final
    assert recent in api.windows_asked[:2]  # the first call's two windows go out concurrently


def test_a_window_ending_three_days_ago_is_final(make_client: Callable[..., Client]) -> None:
    api = FakeAPI()
    for _ in range(2):
        make_client(api, cache=True).usage(TODAY - 10 * ONE, TODAY - 4 * ONE)  # to = today - 3
    assert len(api.requests) == 1


def test_cache_false_bypasses_the_cache(make_client: Callable[..., Client]) -> None:
    api = FakeAPI()
    c = make_client(api, cache=True)
    c.usage("2026-01-01", "2026-01-05")
    c.usage("2026-01-01", "2026-01-05", cache=False)
    assert len(api.requests) == 2


def test_cache_is_keyed_by_organization_and_params(make_client: Callable[..., Client]) -> None:
    api = FakeAPI(metrics=("m1", "m2"))
    make_client(api, cache=True).usage("2026-01-01", "2026-01-05")
    make_client(api, cache=True, organization_id="other-org").usage("2026-01-01", "2026-01-05")
    make_client(api, cache=True).usage("2026-01-01", "2026-01-05", metric="m1")
    make_client(api, cache=True).usage("2026-01-01", "2026-01-06")
    assert len(api.requests) == 4


def test_the_cache_does_not_answer_a_client_with_another_token(
    make_client: Callable[..., Client], tmp_path: Any
) -> None:
    # issue 11: the on-disk cache answered a client whose token was wrong
    api = FakeAPI()
    make_client(api, cache=True).usage("2026-01-01", "2026-01-05")
    make_client(api, cache=True).usage("2026-01-01", "2026-01-05")
    assert len(api.requests) == 1  # the same token: served from the cache
    make_client(api, cache=True, token="cfut_another-token-00000").usage("2026-01-01", "2026-01-05")
    assert len(api.requests) == 2  # another token: asked the API (which checks it)
    make_client(api, cache=True, token=TOKEN + "\n").usage("2026-01-01", "2026-01-05")
    assert len(api.requests) == 2  # the same token once stripped
    files = list((tmp_path / "cache").iterdir())
    assert len(files) == 2
    import hashlib

    digests = {hashlib.sha256(TOKEN.encode()).hexdigest(), TOKEN.encode().hex()}
    for path in files:
        text = path.name + gzip.decompress(path.read_bytes()).decode()
        assert TOKEN not in text and not any(d[:16] in text for d in digests)


def test_a_rate_limit_shows_in_the_progress_bar_and_the_log_with_the_retry_time(
    make_client: Callable[..., Client],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # issue 13: a rate limit without Retry-After waited 5.5 minutes in silence
    caplog.set_level(logging.WARNING, logger="cfusage")
    api = FakeAPI(script=[httpx.Response(429), httpx.Response(429, headers={"Retry-After": "7"})])
    make_client(api, progress=True).usage("2026-03-01", "2026-03-01")
    err = capsys.readouterr().err
    assert "rate limited (no Retry-After); retrying in 0.5 s at " in err  # the bar's postfix
    messages = [r.getMessage() for r in caplog.records if r.name == "cfusage"]
    assert [m.split(" at ")[0] for m in messages] == [
        "cfusage: window 2026-03-01..2026-03-01: rate limited (no Retry-After); retrying in 0.5 s",
        "cfusage: window 2026-03-01..2026-03-01: rate limited (Retry-After); retrying in 7 s",
    ]
    assert all(m.endswith(" UTC") for m in messages)


def test_the_timeout_of_each_step_never_exceeds_the_deadline() -> None:
    capped = client_module._capped_timeout(60.0, 2.0)
    assert (capped.connect, capped.read, capped.write, capped.pool) == (2.0, 2.0, 2.0, 2.0)
    capped = client_module._capped_timeout(httpx.Timeout(1.0, read=None), 5.0)
    assert (capped.connect, capped.read) == (1.0, 5.0)


def test_clear_cache_empties_it(make_client: Callable[..., Client], tmp_path: Any) -> None:
    api = FakeAPI()
    c = make_client(api, cache=True)
    c.usage("2026-01-01", "2026-03-01")  # 60 days: 2 windows
    assert c.clear_cache() == 2
    assert list((tmp_path / "cache").iterdir()) == []
    c.usage("2026-01-01", "2026-03-01")
    assert len(api.requests) == 4


def test_cache_files_hold_the_gzipped_body_and_no_temp_files(
    make_client: Callable[..., Client], tmp_path: Any
) -> None:
    make_client(FakeAPI(), cache=True).usage("2026-01-01", "2026-01-02")
    (path,) = (tmp_path / "cache").iterdir()
    assert path.name.endswith(".json.gz") and len(path.name) == 64 + 8
    body = json.loads(gzip.decompress(path.read_bytes()))
    assert body == envelope([record(dt.date(2026, 1, d)) for d in (1, 2, 3)])


def test_a_damaged_cache_file_is_fetched_again(
    make_client: Callable[..., Client], tmp_path: Any
) -> None:
    api = FakeAPI()
    make_client(api, cache=True).usage("2026-01-01", "2026-01-02")
    (path,) = (tmp_path / "cache").iterdir()
    path.write_bytes(b"not gzip")
    df = make_client(api, cache=True).usage("2026-01-01", "2026-01-02")
    assert len(df) == 2
    assert len(api.requests) == 2


def test_error_responses_are_never_cached(
    make_client: Callable[..., Client], tmp_path: Any
) -> None:
    api = FakeAPI(script=[httpx.Response(200, json={**error_body(1, "no"), "result": None})])
    with pytest.raises(ResponseError):
        make_client(api, cache=True).usage("2026-01-01", "2026-01-02")
    assert not (tmp_path / "cache").exists() or list((tmp_path / "cache").iterdir()) == []


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"CFUSAGE_CACHE_DIR": "/tmp/cf-a"}, "/tmp/cf-a"),
        ({"XDG_CACHE_HOME": "/tmp/xdg"}, "/tmp/xdg/cfusage"),
        ({"CFUSAGE_CACHE_DIR": "/tmp/cf-a", "XDG_CACHE_HOME": "/tmp/xdg"}, "/tmp/cf-a"),
    ],
)
def test_cache_dir_follows_the_environment(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    monkeypatch.delenv("CFUSAGE_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert str(Client(token=TOKEN, organization_id="o").cache_dir) == expected
    assert str(Client(token=TOKEN, organization_id="o", cache_dir="/tmp/arg").cache_dir) == (
        "/tmp/arg"
    )


def test_cache_dir_defaults_to_dot_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.delenv("CFUSAGE_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert Client(token=TOKEN, organization_id="o").cache_dir == tmp_path / ".cache" / "cfusage"


# ---- the token never leaks ------------------------------------------------------------------


def test_repr_masks_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLOUDFLARE_API_TOKEN", raising=False)
    c = Client(token=TOKEN, organization_id="o", base_url=BASE)
    assert repr(c) == f"Client(base_url='{BASE}', organization_id='o', token=[secure])"
    assert TOKEN not in str(c) and TOKEN not in repr(vars(c))
    assert repr(AsyncClient(token=TOKEN, organization_id="o")).endswith("token=[secure])")


def test_the_token_appears_in_no_output(
    make_client: Callable[..., Client],
    tmp_path: Any,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    outputs: list[str] = []
    failures = [
        httpx.Response(400, json=error_body(1, "bad")),
        httpx.Response(401, json=error_body(10000, "auth")),
        httpx.Response(403),
        httpx.Response(404),
        httpx.Response(429, headers={"Retry-After": "1000"}),
        httpx.Response(200, text="<html>"),
        httpx.Response(200, json={"success": False, "errors": [], "result": None}),
    ]
    for reply in failures:
        api = FakeAPI(script=[reply] * 5)
        try:
            make_client(api, retry=Retry(max_attempts=1)).usage("2026-01-01", "2026-01-02")
        except Error as exc:
            outputs += [str(exc), repr(exc), repr(exc.__cause__), repr(vars(exc))]
        else:
            raise AssertionError(f"{reply.status_code} did not raise")
    for exc in (httpx.ConnectError("refused"), httpx.ReadTimeout("slow")):
        try:
            make_client(FakeAPI(script=[exc]), retry=Retry(max_attempts=1)).usage(
                "2026-01-01", "2026-01-02"
            )
        except TransportError as err:
            outputs += [str(err), repr(err), repr(err.__cause__)]
    c = make_client(FakeAPI(), cache=True, progress=True)
    c.usage("2026-01-01", "2026-03-31")
    outputs.append(repr(c))
    captured = capsys.readouterr()
    outputs += [captured.out, captured.err]
    assert "cfusage usage" in captured.err  # the progress bar did print
    outputs += [r.getMessage() for r in caplog.records]
    assert any("GET /organizations/" in r.getMessage() for r in caplog.records)
    cached = list((tmp_path / "cache").iterdir())
    assert cached
    outputs += [gzip.decompress(p.read_bytes()).decode() + p.name for p in cached]
    for text in outputs:
        assert TOKEN not in text


def test_each_request_is_logged_at_debug(
    make_client: Callable[..., Client], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="cfusage")
    make_client(FakeAPI(script=[httpx.Response(500)])).usage("2026-03-01", "2026-03-01")
    messages = [r.getMessage() for r in caplog.records if r.name == "cfusage"]
    assert len(messages) == 2
    assert messages[0].startswith(
        f"GET /organizations/{ORG}/billable/usage?from=2026-03-01&to=2026-03-02 -> 500 in "
    )
    assert " -> 200 in " in messages[1]
    assert all(r.levelno == logging.DEBUG for r in caplog.records if r.name == "cfusage")


def test_a_pickled_client_would_not_carry_the_token() -> None:
    import pickle

    with pytest.raises(TypeError, match="not picklable"):
        pickle.dumps(client_module._Secret(TOKEN))


# ---- the async client -----------------------------------------------------------------------


def run_async(api: Any, method: str, *args: Any, **kw: Any) -> Any:
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)

    async def main() -> Any:
        async with AsyncClient(
            token=TOKEN,
            base_url=BASE,
            organization_id=ORG,
            transport=httpx.MockTransport(api),
            progress=False,
            cache=False,
            sleep=fake_sleep,
            retry=Retry(jitter=False),
            concurrency=kw.pop("concurrency", 4),
        ) as c:
            return await getattr(c, method)(*args, **kw), waits

    return asyncio.run(main())


@pytest.mark.parametrize("to_inclusive", [True, False], ids=["to-inclusive", "to-exclusive"])
def test_async_usage_keeps_every_day_once(to_inclusive: bool) -> None:
    api = FakeAPI(to_inclusive=to_inclusive)
    df, _ = run_async(api, "usage", "2025-01-01", "2025-12-31")
    assert days_of(df) == every_day(dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    assert len(api.requests) == 13
    assert df.attrs["cfusage"]["complete_through"] == dt.date(2025, 12, 31)


def test_async_matches_sync(make_client: Callable[..., Client]) -> None:
    sync = make_client(FakeAPI(accounts=("a", "b"))).usage("2026-01-01", "2026-04-30")
    asynchronous, _ = run_async(FakeAPI(accounts=("a", "b")), "usage", "2026-01-01", "2026-04-30")
    pd.testing.assert_frame_equal(sync, asynchronous)


def test_async_retries_with_the_same_policy() -> None:
    api = FakeAPI(script=[httpx.Response(503), httpx.ConnectError("refused")])
    df, waits = run_async(api, "usage", "2026-03-01", "2026-03-01")
    assert len(df) == 1
    assert waits == [0.5, 1.0]


def test_async_failure_names_the_window_and_cancels_the_rest() -> None:
    api = FakeAPI(script=[httpx.Response(403)])
    with pytest.raises(PermissionDeniedError) as info:
        run_async(api, "usage", "2025-01-01", "2025-12-31", concurrency=1)
    assert info.value.window == (dt.date(2025, 1, 1), dt.date(2025, 1, 30))
    assert len(api.requests) == 1


def test_async_account_costs_and_raw() -> None:
    api = FakeAPI()
    df, _ = run_async(api, "account_costs", "acct1", "2026-01-01", "2026-01-03")
    assert json.loads(api.requests[0].content)["Metric"] == "cost"
    assert len(df) == 3
    envelopes, _ = run_async(FakeAPI(), "raw", "2026-01-01", "2026-01-03")
    assert len(envelopes) == 1 and envelopes[0]["success"] is True


def test_a_rate_limit_notice_of_centuries_does_not_overflow(
    make_client: Callable[..., Client], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="cfusage")
    api = FakeAPI(script=[httpx.Response(429, headers={"Retry-After": "1e12"})])
    make_client(api, retry=Retry(max_wait=1e13, jitter=False)).usage("2026-03-01", "2026-03-01")
    (message,) = [r.getMessage() for r in caplog.records if r.name == "cfusage"]
    assert message.endswith("rate limited (Retry-After); retrying in more than a year")


def test_a_cached_body_past_the_cap_is_fetched_again(
    make_client: Callable[..., Client], tmp_path: Any
) -> None:
    api = FakeAPI()
    make_client(api, cache=True).usage("2026-01-01", "2026-01-05")
    (path,) = (tmp_path / "cache").iterdir()
    size = len(gzip.decompress(path.read_bytes()))
    make_client(api, cache=True, max_response_bytes=size).usage("2026-01-01", "2026-01-05")
    assert len(api.requests) == 1  # at the cap: served from the cache
    with pytest.raises(ResponseError, match="max_response_bytes"):
        make_client(api, cache=True, max_response_bytes=size - 1).usage("2026-01-01", "2026-01-05")
    assert len(api.requests) == 2  # past the cap: not taken from the cache, fetched (and refused)
