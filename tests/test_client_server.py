"""cfusage.client over real sockets against the local sample API server (cfusage.server).

Expected values come from the server's own records (``srv.records``, wire dicts), counted and
summed here in plain Python, independently of the client and of ``to_frame``. Waits between
retries go to a fake ``sleep`` so no test sleeps for real.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
import logging
import math
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd
import pytest

import cfusage.fetch._client as client_module
from cfusage.errors import (
    AuthenticationError,
    Error,
    NotFoundError,
    RateLimitError,
    ResponseError,
    TransportError,
)
from cfusage.fetch._client import AsyncClient, Client, Retry
from cfusage.sample._server import SampleServer
from tests.conftest import FakeSleep

TOKEN = "cfut_SAMPLE-secret-93b1e0aa77"
FIRST, LAST = "2026-01-01", "2026-03-15"  # 74 days: 3 windows, boundaries mid-month
SHORT = ("2026-01-20", "2026-02-25")  # 37 days: 2 windows, the boundary on 2026-02-19


@pytest.fixture
def connect(sleep: FakeSleep, tmp_path: Any) -> Iterator[Callable[..., Client]]:
    made: list[Client] = []

    def factory(srv: SampleServer, **kw: Any) -> Client:
        options: dict[str, Any] = {
            "token": TOKEN,
            "base_url": srv.base_url,
            "organization_id": srv.org_id,
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


def day(record: dict[str, Any]) -> str:
    return record["ChargePeriodStart"][:10]


def served(srv: SampleServer, first: str, last: str, **match: str) -> list[dict[str, Any]]:
    """The server's records whose charge day is in [first, last], by plain string comparison."""
    return [
        r
        for r in srv.records
        if first <= day(r) <= last and all(r.get(k) == v for k, v in match.items())
    ]


def rows_per_day(df: pd.DataFrame) -> Counter[str]:
    return Counter(ts.strftime("%Y-%m-%d") for ts in df["charge_period_start"])


# ---- the happy path -------------------------------------------------------------------------


def test_the_whole_sample_arrives_row_for_row(
    sample_server: SampleServer, connect: Callable[..., Client]
) -> None:
    srv = sample_server
    df = connect(srv).usage(srv.first_day, srv.last_day)
    expected = served(srv, srv.first_day.isoformat(), srv.last_day.isoformat())
    assert len(df) == len(expected)
    assert rows_per_day(df) == Counter(day(r) for r in expected)
    assert df["list_cost"].sum() == pytest.approx(
        math.fsum(r.get("ListCost") or 0 for r in expected)
    )
    assert df.attrs["cfusage"]["windows"] == math.ceil(
        ((srv.last_day - srv.first_day).days + 1) / 30
    )


@pytest.mark.parametrize("to_inclusive", [True, False], ids=["to-inclusive", "to-exclusive"])
def test_no_boundary_day_is_dropped_or_doubled(
    make_server: Callable[..., SampleServer], connect: Callable[..., Client], to_inclusive: bool
) -> None:
    srv = make_server(to_inclusive=to_inclusive)
    df = connect(srv).usage(FIRST, LAST)
    assert rows_per_day(df) == Counter(day(r) for r in served(srv, FIRST, LAST))
    asked = [(r.query["from"], r.query["to"]) for r in srv.requests]
    assert sorted(asked) == [
        ("2026-01-01", "2026-01-31"),
        ("2026-01-31", "2026-03-02"),
        ("2026-03-02", "2026-03-16"),
    ]


@pytest.mark.parametrize("revision", ["A", "B", "C"])
def test_every_schema_revision_loads(
    make_server: Callable[..., SampleServer], connect: Callable[..., Client], revision: str
) -> None:
    srv = make_server(revision=revision)
    df = connect(srv).usage(FIRST, LAST)
    expected = served(srv, FIRST, LAST)
    assert len(df) == len(expected)
    if revision == "A":
        assert df["x_product_family_id"].isna().all()
    else:
        assert df["x_product_family_id"].notna().all()
    contract_level = df["billing_account_id"].isna().sum()
    assert (contract_level > 0) == (revision == "C")


def test_costs_absent_stay_missing_and_account_costs_fills_them(
    make_server: Callable[..., SampleServer], connect: Callable[..., Client]
) -> None:
    srv = make_server(costs=False)
    c = connect(srv)
    df = c.usage(FIRST, LAST)
    assert len(df) > 0
    for money in ("list_cost", "contracted_cost", "effective_cost", "billed_cost"):
        assert df[money].isna().all(), money  # missing, never 0
    account = srv.account_ids[0]
    costs = c.account_costs(account, FIRST, LAST)
    expected = [
        r
        for r in served(srv, FIRST, LAST, BillingAccountId=account)
        if r.get("ChargeCategory", "Usage") == "Usage"
    ]
    assert len(costs) == len(expected)
    assert costs["list_cost"].notna().all()
    assert costs["list_cost"].sum() == pytest.approx(math.fsum(r["ListCost"] for r in expected))
    assert {r.method for r in srv.requests[-3:]} == {"POST"}


def test_account_usage_is_that_accounts_records(
    sample_server: SampleServer, connect: Callable[..., Client]
) -> None:
    account = sample_server.account_ids[1]
    df = connect(sample_server).account_usage(account, FIRST, LAST)
    expected = served(sample_server, FIRST, LAST, BillingAccountId=account)
    assert len(df) == len(expected)
    assert set(df["billing_account_id"]) == {account}


def test_unknown_account_is_not_found_naming_the_window(
    sample_server: SampleServer, connect: Callable[..., Client]
) -> None:
    with pytest.raises(NotFoundError, match=r"window 2026-01-01\.\.2026-01-30") as info:
        connect(sample_server, concurrency=1).account_usage("no-such-account", FIRST, LAST)
    assert info.value.status_code == 404
    assert info.value.errors[0]["code"] == 7003


@pytest.mark.parametrize("revision", ["B", "C"])
def test_metric_filter_works_in_every_revision(
    make_server: Callable[..., SampleServer], connect: Callable[..., Client], revision: str
) -> None:
    srv = make_server(revision=revision)
    metric = "workers_standard_requests"
    df = connect(srv).usage(FIRST, LAST, metric=metric)
    assert len(df) == len(served(srv, FIRST, LAST, x_BillableMetricId=metric))
    assert set(df["x_billable_metric_id"]) == {metric}
    # revision C rejects the parameter (400) and the client filters the full response instead
    assert any(r.status == 400 for r in srv.requests) == (revision == "C")


def test_accounts_filter(sample_server: SampleServer, connect: Callable[..., Client]) -> None:
    wanted = sample_server.account_ids[:2]
    df = connect(sample_server).usage(FIRST, LAST, accounts=wanted)
    expected = [
        r for r in served(sample_server, FIRST, LAST) if r.get("BillingAccountId") in wanted
    ]
    assert len(df) == len(expected)


def test_async_client_matches_the_sync_client(
    sample_server: SampleServer, connect: Callable[..., Client]
) -> None:
    sync = connect(sample_server).usage(*SHORT)

    async def fetch() -> pd.DataFrame:
        async with AsyncClient(
            token=TOKEN,
            base_url=sample_server.base_url,
            organization_id=sample_server.org_id,
            progress=False,
            cache=False,
        ) as c:
            return await c.usage(*SHORT)

    pd.testing.assert_frame_equal(asyncio.run(fetch()), sync)


# ---- fault knobs ----------------------------------------------------------------------------


def test_latency_past_the_timeout_is_a_transport_error(
    make_server: Callable[..., SampleServer], connect: Callable[..., Client], sleep: FakeSleep
) -> None:
    srv = make_server(latency=1.0)
    c = connect(srv, timeout=0.1, retry=Retry(max_attempts=2, jitter=False))
    with pytest.raises(TransportError, match="timed out"):
        c.usage("2026-01-01", "2026-01-01")
    assert sleep.waits == [0.5]


def test_latency_within_the_timeout_is_fine(
    make_server: Callable[..., SampleServer], connect: Callable[..., Client]
) -> None:
    srv = make_server(latency=0.05)
    df = connect(srv).usage(*SHORT)
    assert len(df) == len(served(srv, *SHORT))


def test_a_429_storm_with_retry_after_is_waited_out(
    make_server: Callable[..., SampleServer], connect: Callable[..., Client], sleep: FakeSleep
) -> None:
    srv = make_server(rate_limit_storm=4, retry_after=2)
    df = connect(srv, concurrency=1).usage(FIRST, LAST)
    assert len(df) == len(served(srv, FIRST, LAST))
    assert sleep.waits == [2.0] * 4
    assert [r.status for r in srv.requests].count(429) == 4


def test_a_429_storm_without_retry_after_backs_off_on_its_own(
    make_server: Callable[..., SampleServer], connect: Callable[..., Client], sleep: FakeSleep
) -> None:
    srv = make_server(rate_limit_storm=3, retry_after=None)
    df = connect(srv, concurrency=1).usage(FIRST, LAST)
    assert len(df) == len(served(srv, FIRST, LAST))
    assert sleep.waits == [0.5, 1.0, 2.0]


def test_the_rate_limit_block_raises_saying_when_to_try_again(
    make_server: Callable[..., SampleServer], connect: Callable[..., Client], sleep: FakeSleep
) -> None:
    srv = make_server(rate_limit=2, rate_window=300)
    c = connect(srv, concurrency=1, retry=Retry(max_wait=60, jitter=False))
    with pytest.raises(RateLimitError) as info:
        c.usage(FIRST, LAST)
    assert info.value.retry_after == pytest.approx(300, abs=2)
    assert "try again in 5 min" in str(info.value) or "try again in 299 s" in str(info.value)
    assert info.value.window == (dt.date(2026, 3, 2), dt.date(2026, 3, 15))
    assert sleep.waits == []


@pytest.mark.parametrize(
    "knob", ["error_rate", "drop_rate", "truncate_rate"], ids=["5xx", "dropped", "truncated"]
)
def test_random_faults_are_retried_to_the_same_frame(
    make_server: Callable[..., SampleServer],
    connect: Callable[..., Client],
    sleep: FakeSleep,
    knob: str,
) -> None:
    # seed 2: the knob fires on at least one of the first two requests, whichever window they are
    srv = make_server(seed=2, **{knob: 0.6})
    faulty = connect(srv, retry=Retry(max_attempts=12, jitter=False)).usage(*SHORT)
    expected = served(srv, *SHORT)
    assert rows_per_day(faulty) == Counter(day(r) for r in expected)
    assert faulty["list_cost"].sum() == pytest.approx(math.fsum(r["ListCost"] for r in expected))
    assert sleep.waits  # faults happened and were retried
    assert len(srv.requests) == 2 + len(sleep.waits)


def test_bodies_always_truncated_are_a_response_error(
    make_server: Callable[..., SampleServer], connect: Callable[..., Client]
) -> None:
    srv = make_server(truncate_rate=1.0)
    c = connect(srv, retry=Retry(max_attempts=2, jitter=False))
    with pytest.raises(ResponseError, match="truncated body") as info:
        c.usage("2026-01-01", "2026-01-02")
    assert info.value.window == (dt.date(2026, 1, 1), dt.date(2026, 1, 2))


def test_connections_always_dropped_are_a_transport_error(
    make_server: Callable[..., SampleServer], connect: Callable[..., Client]
) -> None:
    srv = make_server(drop_rate=1.0)
    with pytest.raises(TransportError, match=r"window 2026-01-01\.\.2026-01-02"):
        connect(srv, retry=Retry(max_attempts=3, jitter=False)).usage("2026-01-01", "2026-01-02")
    assert len(srv.requests) == 3


# ---- auth, cache, secrets -------------------------------------------------------------------


def test_a_wrong_token_is_an_authentication_error(
    make_server: Callable[..., SampleServer], connect: Callable[..., Client]
) -> None:
    srv = make_server(token=TOKEN)
    assert len(connect(srv).usage("2026-01-01", "2026-01-02")) > 0
    with pytest.raises(AuthenticationError, match="invalid, expired or revoked"):
        connect(srv, token="wrong-token").usage("2026-01-01", "2026-01-02")


def test_a_rerun_is_served_from_the_cache(
    make_server: Callable[..., SampleServer], connect: Callable[..., Client]
) -> None:
    srv = make_server()
    first = connect(srv, cache=True).usage(*SHORT)
    n = len(srv.requests)
    again = connect(srv, cache=True).usage(*SHORT)
    assert len(srv.requests) == n
    pd.testing.assert_frame_equal(first, again)


def test_the_last_days_are_not_cached(
    sample_server: SampleServer, connect: Callable[..., Client]
) -> None:
    last = client_module._today() - dt.timedelta(days=1)
    before = len(sample_server.requests)
    for _ in range(2):
        connect(sample_server, cache=True).usage(last - dt.timedelta(days=3), last)
    assert len(sample_server.requests) == before + 2


def test_the_token_leaks_nowhere(
    make_server: Callable[..., SampleServer],
    connect: Callable[..., Client],
    tmp_path: Any,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    srv = make_server(token=TOKEN, error_rate=0.3, seed=3)
    outputs: list[str] = []
    c = connect(srv, cache=True, progress=True, retry=Retry(max_attempts=10, jitter=False))
    c.usage(*SHORT)
    outputs.append(repr(c))
    for bad in (
        lambda: connect(srv, token=TOKEN + "x").usage(FIRST, LAST),
        lambda: connect(srv).account_usage("nope", FIRST, LAST),
        lambda: connect(make_server(drop_rate=1.0), retry=Retry(max_attempts=1)).usage(FIRST, LAST),
    ):
        with pytest.raises(Error) as info:
            bad()
        outputs += [str(info.value), repr(info.value), repr(info.value.__cause__)]
    captured = capsys.readouterr()
    assert "cfusage usage" in captured.err
    outputs += [captured.out, captured.err]
    assert caplog.records
    outputs += [r.getMessage() for r in caplog.records]
    files = list((tmp_path / "cache").iterdir())
    assert files
    outputs += [gzip.decompress(p.read_bytes()).decode(errors="replace") for p in files]
    for text in outputs:
        assert TOKEN not in text
