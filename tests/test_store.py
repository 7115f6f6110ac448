"""The incremental Parquet store: sync against the sample server, read back typed frames."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cfusage.fetch._store as store_module
from cfusage import schema
from cfusage.errors import MissingColumnsError
from cfusage.fetch._client import Client
from cfusage.fetch._store import MANIFEST, Store, _runs

UTC = dt.UTC


def at(day: str, hour: int = 12) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def days(first: str, last: str) -> list[dt.date]:
    a, b = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    return [a + dt.timedelta(days=i) for i in range((b - a).days + 1)]


def client_for(srv) -> Client:
    return Client(
        token="store-test-token",
        base_url=srv.base_url,
        organization_id=srv.org_id,
        progress=False,
        cache=False,
    )


def sort_frame(df: pd.DataFrame) -> pd.DataFrame:
    keys = ["charge_period_start", *schema.KEY]
    out = df.sort_values(keys, ignore_index=True)[[c.python for c in schema.COLUMNS]]
    categorical = out.select_dtypes("category").columns
    return out.astype({c: "str" for c in categorical}).astype({c: "category" for c in categorical})


def usage_requests(srv) -> int:
    return sum(1 for r in srv.requests if r.path.endswith("/billable/usage"))


@pytest.fixture
def srv(make_server):
    return make_server()


@pytest.fixture
def client(srv):
    with client_for(srv) as c:
        yield c


# -- sync and read ---------------------------------------------------------------------------
def test_sync_then_read_returns_what_the_api_served(tmp_path, srv, client):
    store = Store(tmp_path / "s")
    result = store.sync(client, "2026-03-01", "2026-03-10", now=at("2026-06-01"))
    assert result.fetched == tuple(days("2026-03-01", "2026-03-10"))
    expected = client.usage("2026-03-01", "2026-03-10")
    got = store.read()
    assert result.rows == len(expected) == len(got)
    pd.testing.assert_frame_equal(sort_frame(got), sort_frame(expected))


def test_read_preserves_the_typed_dtypes(tmp_path, client):
    store = Store(tmp_path)
    store.sync(client, "2026-02-27", "2026-03-02", now=at("2026-06-01"))
    df = store.read()
    assert len(df)
    for name, dtype in schema.dtypes().items():
        assert str(df[name].dtype) == dtype, name
    assert df["list_cost"].isna().sum() == 0  # sample B with costs: every row is rated
    assert df["charge_class"].isna().all()


def test_resync_is_idempotent_same_rows_no_duplicates(tmp_path, srv, client):
    store = Store(tmp_path)
    store.sync(client, "2026-03-01", "2026-03-05", now=at("2026-03-06"))
    first = store.read()
    again = store.sync(client, "2026-03-01", "2026-03-05", now=at("2026-03-07"))
    assert again.fetched  # those days were not final, so they were fetched again
    second = store.read()
    assert not second.duplicated(list(schema.KEY)).any()
    pd.testing.assert_frame_equal(sort_frame(first), sort_frame(second))


def test_only_missing_or_non_final_days_are_fetched(tmp_path, srv, client):
    store = Store(tmp_path)
    store.sync(client, "2026-01-01", "2026-01-31", now=at("2026-06-01"))
    n = usage_requests(srv)
    assert n == math.ceil(31 / 30)  # the client's 30-day windows
    assert store.pending("2026-01-01", "2026-01-31") == []
    # everything final: a re-sync makes no request at all
    assert store.sync(client, "2026-01-01", "2026-01-31", now=at("2026-06-02")).fetched == ()
    assert usage_requests(srv) == n
    # extending the range fetches only the new days, in one window
    result = store.sync(client, "2026-01-01", "2026-02-20", now=at("2026-06-02"))
    assert result.fetched == tuple(days("2026-02-01", "2026-02-20"))
    assert usage_requests(srv) == n + 1
    fetched_windows = [r.query for r in srv.requests[n:]]
    assert fetched_windows == [{"from": "2026-02-01", "to": "2026-02-21"}]


def test_days_fetched_within_the_lookback_are_not_final(tmp_path, client):
    store = Store(tmp_path)
    store.sync(client, "2026-03-01", "2026-03-10", now=at("2026-03-11"))
    # day D is final once fetched at or after D + 1 + 3 days (00:00 UTC): Mar 7 and earlier
    assert store.pending("2026-03-01", "2026-03-10") == days("2026-03-08", "2026-03-10")
    assert store.pending("2026-03-01", "2026-03-10", lookback_days=0) == []
    assert store.pending("2026-03-01", "2026-03-10", lookback_days=10) == days(
        "2026-03-01", "2026-03-10"
    )


def test_lookback_refetch_replaces_a_revised_day(tmp_path, srv, client):
    store = Store(tmp_path)
    store.sync(client, "2026-03-01", "2026-03-10", now=at("2026-03-11"))
    before = store.read()
    # the API revises Mar 9: one record's cost changes, one disappears, a correction appears
    day9 = [r for r in srv.records if r["ChargePeriodStart"].startswith("2026-03-09")]
    revised, removed = dict(day9[0]), day9[1]
    revised["ListCost"] = 12345.0
    correction = dict(day9[2]) | {"ChargeClass": "Correction", "BilledCost": -1.5}
    records = [revised if r is day9[0] else r for r in srv.records if r is not removed] + [
        correction
    ]
    srv.records = records

    result = store.sync(client, "2026-03-01", "2026-03-10", now=at("2026-03-12"))
    assert result.fetched == tuple(days("2026-03-08", "2026-03-10"))
    after = store.read()
    assert len(after) == len(before)  # one record gone, one correction added
    assert not after.duplicated(list(schema.KEY)).any()
    day = pd.Timestamp("2026-03-09", tz="UTC")

    def rows(df: pd.DataFrame, record: dict) -> pd.DataFrame:
        """Rows of ``df`` on Mar 9 with the record's account, metric and zone."""
        zone = record.get("x_ZoneId")
        same_zone = df["x_zone_id"].isna() if zone is None else df["x_zone_id"] == zone
        return df[
            (df["charge_period_start"] == day)
            & (df["x_billable_metric_id"] == record["x_BillableMetricId"])
            & (df["billing_account_id"] == record["BillingAccountId"])
            & same_zone
        ]

    assert len(rows(before, removed)) == 1
    assert rows(after, revised)["list_cost"].tolist() == [12345.0]
    assert rows(after, removed).empty
    corr = rows(after, correction)["charge_class"].astype("str").fillna("-")
    assert sorted(corr.tolist()) == ["-", "Correction"]
    # the days before the look-back are untouched
    old_days = before["charge_period_start"] < pd.Timestamp("2026-03-08", tz="UTC")
    new_days = after["charge_period_start"] < pd.Timestamp("2026-03-08", tz="UTC")
    pd.testing.assert_frame_equal(sort_frame(before[old_days]), sort_frame(after[new_days]))


def test_crash_mid_write_leaves_the_old_data_readable(tmp_path, srv, client, monkeypatch):
    store = Store(tmp_path)
    store.sync(client, "2026-02-26", "2026-03-03", now=at("2026-03-01"))
    assert len(store.pending("2026-02-26", "2026-03-03")) == 6  # both months will be rewritten
    before = store.read()
    manifest = (tmp_path / MANIFEST).read_bytes()
    srv.records = [
        dict(r) | {"ListCost": 1.0} if r["ChargePeriodStart"] >= "2026-02-26" else r
        for r in srv.records
    ]
    written = []
    real_write = store_module._write_parquet

    def write_then_crash(table: pa.Table, path) -> None:
        if written:  # the first month file is written, the second one fails
            raise OSError("disk full")
        real_write(table, path)
        written.append(path)

    monkeypatch.setattr(store_module, "_write_parquet", write_then_crash)
    with pytest.raises(OSError, match="disk full"):
        store.sync(client, "2026-02-26", "2026-03-03", now=at("2026-03-05"))
    assert written
    pd.testing.assert_frame_equal(sort_frame(store.read()), sort_frame(before))
    assert (tmp_path / MANIFEST).read_bytes() == manifest
    assert not list(tmp_path.rglob(".tmp-*"))
    # after the crash, the next sync completes the revision
    monkeypatch.setattr(store_module, "_write_parquet", real_write)
    store.sync(client, "2026-02-26", "2026-03-03", now=at("2026-03-05"))
    assert (store.read()["list_cost"] == 1.0).all()


def test_read_with_start_end_and_columns(tmp_path, client):
    store = Store(tmp_path)
    store.sync(client, "2026-02-20", "2026-03-10", now=at("2026-06-01"))
    everything = store.read()
    part = store.read(
        start="2026-02-28", end="2026-03-02", columns=["x_billable_metric_id", "billed_cost"]
    )
    assert list(part.columns) == ["x_billable_metric_id", "billed_cost"]
    day = everything["charge_period_start"]
    mask = (day >= pd.Timestamp("2026-02-28", tz="UTC")) & (
        day < pd.Timestamp("2026-03-03", tz="UTC")
    )
    expected = everything.loc[mask, ["x_billable_metric_id", "billed_cost"]].reset_index(drop=True)
    pd.testing.assert_frame_equal(part, expected)
    assert str(part["billed_cost"].dtype) == "Float64"


def test_read_unknown_column_names_it(tmp_path, client):
    store = Store(tmp_path)
    store.sync(client, "2026-03-01", "2026-03-01", now=at("2026-06-01"))
    with pytest.raises(MissingColumnsError, match="no_such_column") as info:
        store.read(columns=["billed_cost", "no_such_column"])
    assert info.value.columns == ["no_such_column"]


def test_read_reversed_range_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="before"):
        Store(tmp_path).read(start="2026-03-02", end="2026-03-01")


def test_empty_store_reads_an_empty_typed_frame(tmp_path):
    df = Store(tmp_path / "nothing-yet").read()
    assert len(df) == 0
    assert {c: str(t) for c, t in df.dtypes.items()} == schema.dtypes()
    assert df.attrs["cfusage"]["complete_through"] is None


# -- complete_through ------------------------------------------------------------------------
def test_complete_through_stops_at_the_last_delivered_day(tmp_path, srv, client):
    store = Store(tmp_path)
    last = srv.last_day  # the sample is complete through 2026-11-23
    result = store.sync(client, last - dt.timedelta(days=5), last + dt.timedelta(days=4))
    assert result.complete_through == last == store.complete_through
    assert store.read().attrs["cfusage"]["complete_through"] == last
    # undelivered days stay pending, whenever they were fetched
    assert store.pending(last - dt.timedelta(days=5), last + dt.timedelta(days=4))[-4:] == [
        last + dt.timedelta(days=i) for i in range(1, 5)
    ]


def test_complete_through_stops_at_a_gap(tmp_path, client):
    store = Store(tmp_path)
    store.sync(client, "2026-01-01", "2026-01-10", now=at("2026-06-01"))
    store.sync(client, "2026-01-20", "2026-01-25", now=at("2026-06-01"))
    assert store.complete_through == dt.date(2026, 1, 10)
    store.sync(client, "2026-01-01", "2026-01-25", now=at("2026-06-01"))
    assert store.complete_through == dt.date(2026, 1, 25)


# -- layout ----------------------------------------------------------------------------------
def test_layout_is_a_hive_partitioned_dataset_by_month(tmp_path, client):
    store = Store(tmp_path)
    store.sync(client, "2026-02-27", "2026-03-02", now=at("2026-06-01"))
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.parquet"))
    assert files == ["month=2026-02/part-0.parquet", "month=2026-03/part-0.parquet"]
    table = pads.dataset(tmp_path, format="parquet", partitioning="hive").to_table()
    assert table.num_rows == len(store.read())
    months = table.column("month").to_pylist()
    starts = table.column("charge_period_start").to_pylist()
    assert all(m == f"{s:%Y-%m}" for m, s in zip(months, starts, strict=True))
    file_schema = pads.dataset(tmp_path / "month=2026-03").schema
    assert file_schema.field("charge_period_start").type == pa.timestamp("us", tz="UTC")
    assert file_schema.field("list_cost").type == pa.float64()
    assert pa.types.is_dictionary(file_schema.field("x_product_family_name").type)
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    assert sorted(manifest["days"]) == [d.isoformat() for d in days("2026-02-27", "2026-03-02")]
    assert manifest["complete_through"] == "2026-03-02"


# -- without the HTTP client: tags, extras, the no-attrs rule ----------------------------------
class FakeClient:
    """Serves hand-built typed frames; records the ranges asked for."""

    def __init__(self, frame: pd.DataFrame, complete_through: dt.date | None = None) -> None:
        self.frame = frame
        self.complete_through = complete_through
        self.calls: list[tuple[dt.date, dt.date]] = []

    def usage(self, start: dt.date, end: dt.date) -> pd.DataFrame:
        self.calls.append((start, end))
        day = self.frame["charge_period_start"]
        keep = (day >= pd.Timestamp(start, tz="UTC")) & (
            day < pd.Timestamp(end, tz="UTC") + pd.Timedelta(days=1)
        )
        out = self.frame.loc[keep].reset_index(drop=True)
        if self.complete_through is not None:
            out.attrs["cfusage"] = {"complete_through": self.complete_through}
        return out


def typed_frame(day_values: list[tuple[str, str, float | None]]) -> pd.DataFrame:
    """Rows of (day, metric, billed_cost) with tags and an extra column, in the schema's dtypes."""
    starts = pd.to_datetime([d for d, _, _ in day_values], utc=True).as_unit("us")
    raw = pd.DataFrame(
        {
            "charge_period_start": starts,
            "charge_period_end": starts + pd.Timedelta(days=1),
            "x_billable_metric_id": [m for _, m, _ in day_values],
            "billing_account_id": "acct",
            "billed_cost": pd.array([v for _, _, v in day_values], dtype="Float64"),
            "tags": [{"env": "prod", "flag": True}] + [pd.NA] * (len(day_values) - 1),
            "x_new_field": [{"a": 1}] * len(day_values),
        }
    )
    return store_module._typed(raw)


def test_tags_and_unknown_fields_round_trip(tmp_path):
    frame = typed_frame([("2026-03-01", "m1", 1.5), ("2026-03-01", "m2", None)])
    store = Store(tmp_path)
    store.sync(FakeClient(frame, dt.date(2026, 3, 1)), "2026-03-01", "2026-03-01")
    df = store.read()
    assert df["tags"].tolist()[0] == {"env": "prod", "flag": True}
    assert df["tags"].isna().tolist() == [False, True]
    assert df["x_new_field"].tolist() == [{"a": 1}, {"a": 1}]
    assert df["billed_cost"].isna().tolist() == [False, True]  # a missing cost stays missing


def test_without_complete_through_days_after_the_last_row_are_not_complete(tmp_path):
    frame = typed_frame([("2026-03-01", "m1", 1.0), ("2026-03-02", "m1", 2.0)])
    store = Store(tmp_path)
    fake = FakeClient(frame)
    store.sync(fake, "2026-03-01", "2026-03-04", now=at("2026-04-01"))
    assert store.complete_through == dt.date(2026, 3, 2)
    assert store.pending("2026-03-01", "2026-03-04") == days("2026-03-03", "2026-03-04")


@given(st.sets(st.dates(dt.date(2026, 1, 1), dt.date(2026, 3, 31)), max_size=40))
def test_runs_cover_exactly_the_days_in_contiguous_blocks(day_set):
    runs = _runs(sorted(day_set))
    covered = [d for first, last in runs for d in days(first.isoformat(), last.isoformat())]
    assert covered == sorted(day_set)
    assert all((b[0] - a[1]).days > 1 for a, b in itertools.pairwise(runs))


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(st.integers(0, 20), st.integers(0, 6), st.floats(0, 100, allow_nan=False)),
        min_size=1,
        max_size=4,
    )
)
def test_store_holds_the_latest_fetch_of_every_day(tmp_path_factory, syncs):
    """Whatever the order of syncs and revisions, each day holds its latest version, once."""
    path = tmp_path_factory.mktemp("prop")
    store = Store(path)
    expected: dict[str, float] = {}
    for offset, length, cost in syncs:
        first = dt.date(2026, 3, 20) + dt.timedelta(days=offset)
        last = first + dt.timedelta(days=length)
        span = days(first.isoformat(), last.isoformat())
        frame = typed_frame([(d.isoformat(), "m", cost) for d in span])
        store.sync(FakeClient(frame, last), first, last, lookback_days=10_000)
        expected.update({d.isoformat(): cost for d in span})
    df = store.read()
    got = dict(
        zip(df["charge_period_start"].dt.strftime("%Y-%m-%d"), df["billed_cost"], strict=True)
    )
    assert len(df) == len(got) == len(expected)
    assert got == pytest.approx(expected)
