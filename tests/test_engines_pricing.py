"""Pricing on engines: ``free_allowance_usage`` runs in the engine, ``rate`` needs pandas.

The golden matrix: the pandas result on the raw rows is the reference; the same rows as a Polars
LazyFrame, a DuckDB relation and a Spark DataFrame give the same cells (``assert_same``: columns,
key order, NA pattern, numbers to 1e-9). Independent expectations: a small frame worked by hand
(several rows of one account x metric on a day, in two orders), and row counts taken from the raw
rows. The trust property (an unknown quantity stays unknown) is rerun on engine inputs with the
strategy of tests/test_unknown_stays_unknown_costs.py.
"""

from __future__ import annotations

import math
import warnings

import duckdb
import pandas as pd
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cfusage
from cfusage.analysis import _engine
from cfusage.analysis._pricing import free_allowance_usage, rate
from cfusage.errors import ArgumentError
from tests.engines import arrow, as_engine, assert_same, collect
from tests.frames import typed
from tests.test_unknown_stays_unknown_costs import MONEY, _cells, _frames, _row

#: What rate() fills: the sample without them is usage the book has to price (as test_pricing).
FILLED = [
    "pricing_quantity",
    "pricing_unit",
    "list_unit_price",
    "list_cost",
    "contracted_unit_price",
    "contracted_cost",
    "effective_cost",
    "billed_cost",
    "billing_currency",
]
FREQS = ["MS", "D", "billing_period"]
AWS = "tests/data/focus/focus_1_3_cost_and_usage_aws.csv"


def _some_quantities_na(df: pd.DataFrame, step: int) -> pd.DataFrame:
    out = df.copy()
    out.loc[out.index[::step], "consumed_quantity"] = pd.NA
    return out


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    df = cfusage.sample.load()
    df.attrs.clear()
    return _some_quantities_na(df.drop(columns=FILLED), 11)


@pytest.fixture(scope="module")
def aws() -> pd.DataFrame:
    df = cfusage.to_frame(AWS)
    df.attrs.clear()
    return _some_quantities_na(df, 5)


_ON_ENGINE: dict[tuple[str, str], object] = {}


def _on(name: str, df: pd.DataFrame, engine: str) -> object:
    """The module's big inputs converted once per engine (a Spark conversion is a job)."""
    if (name, engine) not in _ON_ENGINE:
        _ON_ENGINE[name, engine] = as_engine(df, engine)
    return _ON_ENGINE[name, engine]


def _na_usage_rows(df: pd.DataFrame) -> int:
    usage = (
        df["charge_category"].astype(str).str.casefold().eq("usage") | df["charge_category"].isna()
    )
    return int((usage & df["consumed_quantity"].isna()).sum())


# ---- the golden matrix ------------------------------------------------------------------------


@pytest.mark.parametrize("freq", FREQS)
def test_free_allowance_usage_on_the_sample(sample, engine, freq):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every sample metric is in the shipped book
        reference = free_allowance_usage(sample, freq=freq)
        got = free_allowance_usage(_on("sample", sample, engine), freq=freq)
    assert_same(got, reference, engine)
    out = collect(got)
    # the weights: NA quantities are counted as input rows, not as reduced rows
    assert out["missing_quantity_rows"].sum() == _na_usage_rows(sample) > 1000
    # never more than the allowance (up to float dust: per-row free parts are differences)
    assert out["allowance_used_share"].max() <= 1.0 + 1e-9
    # every known quantity is either free or billable
    known = out["free_quantity"].notna()
    total = out["free_quantity"][known] + out["billable_quantity"][known]
    assert (total - out["consumed_quantity"][known]).abs().max() < 1e-6


@pytest.mark.parametrize("freq", FREQS)
def test_free_allowance_usage_on_an_aws_focus_file(aws, engine, freq):
    """No AWS metric is in the book: quantities summed, the allowance figures NA, a warning."""
    with pytest.warns(UserWarning, match="not in the price book"):
        reference = free_allowance_usage(aws, freq=freq)
    with pytest.warns(UserWarning, match="not in the price book"):
        got = free_allowance_usage(_on("aws", aws, engine), freq=freq)
    assert_same(got, reference, engine)
    out = collect(got)
    for c in ["free_quantity", "billable_quantity", "free_allowance", "allowance_used_share"]:
        assert out[c].isna().all(), c
    assert out["missing_quantity_rows"].sum() == _na_usage_rows(aws) > 0
    known = aws["consumed_quantity"].notna() & aws["charge_category"].astype(str).eq("Usage")
    assert math.isclose(
        out["consumed_quantity"].sum(), float(aws.loc[known, "consumed_quantity"].sum()),
        rel_tol=1e-9,
    )  # fmt: skip


def test_free_allowance_usage_collects_one_row_per_month_block(sample, monkeypatch):
    """What leaves the engine for freq="MS": one row per account x metric x billing period x
    month (x category, class, known or not), counted here on the raw rows; for "D" per day."""
    collected: list[int] = []
    real = _engine.to_pandas

    def spy(frame):
        out = real(frame)
        collected.append(len(out))
        return out

    monkeypatch.setattr(_engine, "to_pandas", spy)
    rel = _on("sample", sample, "duckdb")
    keys = ["billing_account_id", "x_billable_metric_id", "billing_period_start", "charge_category",
            "charge_class"]  # fmt: skip
    unknown = sample["consumed_quantity"].isna()
    sizes = {}
    for freq in ("MS", "D"):
        collected.clear()
        free_allowance_usage(rel, freq=freq)
        when = sample["charge_period_start"].dt.tz_localize(None).dt.to_period(freq[0])
        groups = sample.groupby([*(sample[k] for k in keys), when, unknown], observed=True,
                                dropna=False).ngroups  # fmt: skip
        assert collected == [groups], freq
        sizes[freq] = groups
    assert sizes["D"] > 10 * sizes["MS"] and sizes["MS"] < len(sample) / 15


# ---- worked by hand ---------------------------------------------------------------------------

BOOK = pd.DataFrame(
    {
        "x_billable_metric_id": ["req"],
        "block_size": [1e6],
        "tier_start": [0.0],
        "list_unit_price": [0.30],
        "currency": ["USD"],
        "free_allowance": [10e6],
    }
)


def _hand() -> pd.DataFrame:
    """Account a, metric req (10M free a month), several rows a day; M = 1e6.

    2026-03-01: 4M and 3M (7M, all free).
    2026-03-02: 2M, NA, 5M, 1M (8M: 3M free, 5M billable), a correction of -3M (billable, it
    does not move the allowance), 1M in EUR (the book has no EUR price: consumed, no free part)
    and a purchase (not usage: left out).
    """
    m = 1e6
    rows = [
        ("2026-03-01T05:00Z", 4 * m, "Usage", None, "USD"),
        ("2026-03-02T00:00Z", 2 * m, "Usage", None, "USD"),
        ("2026-03-02T00:00Z", None, "Usage", None, "USD"),
        ("2026-03-01T00:00Z", 3 * m, "Usage", None, "USD"),
        ("2026-03-02T13:00Z", 5 * m, "Usage", None, "USD"),
        ("2026-03-02T00:00Z", -3 * m, "Usage", "Correction", "USD"),
        ("2026-03-02T00:00Z", 1 * m, "Usage", None, "EUR"),
        ("2026-03-02T00:00Z", None, "Purchase", None, "USD"),
        ("2026-03-02T20:00Z", 1 * m, "Usage", None, "USD"),
    ]
    start, q, category, klass, currency = zip(*rows, strict=True)
    n = len(rows)
    return typed(
        charge_period_start=list(start),
        billing_period_start=["2026-03-01"] * n,
        billing_account_id=["a"] * n,
        x_billable_metric_id=["req"] * n,
        consumed_quantity=list(q),
        charge_category=list(category),
        charge_class=list(klass),
        billing_currency=list(currency),
    )


def test_free_allowance_usage_by_hand_in_any_row_order(engine):
    m = 1e6
    hand = _hand()
    for df in (hand, hand.iloc[::-1].reset_index(drop=True)):  # the order of a day's rows
        with pytest.warns(UserWarning, match="EUR"):
            month = collect(free_allowance_usage(as_engine(df, engine), price_book=BOOK))
        assert month[["consumed_quantity", "free_quantity", "billable_quantity"]].values.tolist() == [
            [13 * m, 10 * m, 2 * m]
        ]  # fmt: skip
        assert month["allowance_used_share"].tolist() == [1.0]
        assert month["missing_quantity_rows"].tolist() == [1]
    with pytest.warns(UserWarning, match="EUR"):
        daily = collect(free_allowance_usage(as_engine(hand, engine), price_book=BOOK, freq="D"))
    assert [str(d.date()) for d in daily["period"]] == ["2026-03-01", "2026-03-02"]
    assert daily["consumed_quantity"].tolist() == [7 * m, 6 * m]
    assert daily["free_quantity"].tolist() == [7 * m, 3 * m]
    assert daily["billable_quantity"].tolist() == [0.0, 2 * m]
    assert daily["allowance_used_share"].tolist() == pytest.approx([0.7, 0.3])
    assert daily["missing_quantity_rows"].tolist() == [0, 1]


def test_free_allowance_usage_with_a_price_version_from_mid_month(engine):
    """The month is cut where a version starts: 03-01 under 10M free, from 03-02 5M free.
    By hand (M = 1e6): 03-01 uses 7M, all free; on 03-02 the running 7M is already past 5M, so
    its 8M are billable (and the -3M correction): free 7M, billable 5M in March."""
    m = 1e6
    book = pd.concat([BOOK, BOOK.assign(free_allowance=[5e6])], ignore_index=True).assign(
        valid_from=[None, "2026-03-02"], valid_to=["2026-03-02", None]
    )
    frame = as_engine(_hand(), engine)
    for freq in ("MS", "billing_period"):
        with pytest.warns(UserWarning, match="EUR"):
            reference = free_allowance_usage(_hand(), price_book=book, freq=freq)
        with pytest.warns(UserWarning, match="EUR"):
            got = free_allowance_usage(frame, price_book=book, freq=freq)
        assert_same(got, reference, engine)
        out = collect(got)
        assert out[["free_quantity", "billable_quantity"]].values.tolist() == [[7 * m, 5 * m]]


# ---- what an engine refuses ---------------------------------------------------------------------


def test_rate_on_the_sample(sample, engine):
    """Polars: row for row the pandas estimates (the 168 rows whose split of a day's allowance
    follows the row order included); DuckDB and Spark have no row order: refused by name."""
    if engine in ("duckdb", "spark"):
        frame = _on("sample", sample, engine)
        kind = type(frame).__name__
        with pytest.raises(
            ArgumentError, match=rf"pandas DataFrame or a Polars frame, not a {kind}"
        ):
            rate(frame)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every sample metric is in the shipped book
        reference = rate(sample)
        got = rate(_on("sample", sample, engine))
    if engine != "pandas":
        reference = reference.drop(columns="tags")  # an engine frame has no tags mapping
    assert_same(got, reference, engine)
    out = collect(got)
    usage = sample["charge_category"].astype(str).eq("Usage").to_numpy()
    priced = usage & sample["consumed_quantity"].notna().to_numpy()
    assert out["cost_estimated"].tolist() == priced.tolist()
    assert out["list_cost"].isna().to_numpy().tolist() == (~priced).tolist()  # NA stays NA


def test_rate_on_polars_keeps_costs_it_has_unless_overwrite():
    df = cfusage.sample.load()
    df.attrs.clear()
    df = df.drop(columns="tags")
    df.loc[df.index[::13], ["list_cost", "contracted_cost", "effective_cost", "billed_cost"]] = (
        pd.NA
    )
    df.loc[df.index[::17], "consumed_quantity"] = pd.NA
    estimated = []
    for overwrite in (False, True):
        reference = rate(df, overwrite=overwrite)
        assert_same(rate(as_engine(df, "polars"), overwrite=overwrite), reference, "polars")
        estimated.append(int(reference["cost_estimated"].sum()))
    assert estimated[1] > estimated[0] > 1000  # overwrite re-estimates the rows with costs


def test_rate_on_polars_an_aws_file_keeps_its_costs_and_warns(aws):
    with pytest.warns(UserWarning, match="not in the price book"):
        reference = rate(aws).drop(columns="tags")
    with pytest.warns(UserWarning, match="not in the price book"):
        got = rate(as_engine(aws, "polars"))
    assert_same(got, reference, "polars")
    out = collect(got)
    assert not out["cost_estimated"].any()
    assert out["billed_cost"].isna().tolist() == aws["billed_cost"].isna().tolist()


def test_rate_on_polars_stays_lazy_and_eager_stays_eager():
    read: list[int] = []

    def spy(s: pl.Series) -> pl.Series:
        read.append(len(s))
        return s

    hand = _hand()
    frame = as_engine(hand, "polars").with_columns(
        pl.col("consumed_quantity").map_batches(spy, return_dtype=pl.Float64)
    )
    with pytest.warns(UserWarning, match="EUR"):
        out = rate(frame, price_book=BOOK)
    assert isinstance(out, pl.LazyFrame) and read == []  # no quantity read yet
    with pytest.warns(UserWarning, match="EUR"):
        reference = rate(hand, price_book=BOOK)
    assert_same(out, reference, "polars")
    assert read == [len(hand)]
    with pytest.warns(UserWarning, match="EUR"):
        eager = rate(pl.DataFrame(arrow(hand)), price_book=BOOK)
    assert isinstance(eager, pl.DataFrame)
    assert_same(eager, reference, "polars")
    # by hand (blocks of 1M, 10M free): 03-01 is free; 03-02 has 5 blocks billable after 3M free,
    # and the correction -3 (the EUR row is not priced)
    assert collect(out)["pricing_quantity"].tolist()[:2] == [0.0, 0.0]
    day2 = collect(out)[[str(d.date()) == "2026-03-02" for d in hand["charge_period_start"]]]
    assert day2["pricing_quantity"].sum() == pytest.approx(5 - 3)


def test_rate_on_polars_takes_days_in_order_then_rows_in_frame_order():
    """10M free: 6M on 03-01, then two rows on 03-03 crossing the allowance, then 8M on 03-05,
    the frame's rows out of day order. Whichever of 03-03's rows comes second in the frame has
    the 1M past 10M (3M + 2M or 2M + 3M); 03-05 is all billable."""
    days = ["2026-03-05", "2026-03-01", "2026-03-03", "2026-03-03"]
    for q, billed in (([8e6, 6e6, 3e6, 2e6], [8.0, 0.0, 0.0, 1.0]),
                      ([8e6, 6e6, 2e6, 3e6], [8.0, 0.0, 0.0, 1.0])):  # fmt: skip
        df = typed(
            charge_period_start=days,
            billing_account_id=["a"] * 4,
            x_billable_metric_id=["req"] * 4,
            consumed_quantity=q,
            charge_category=["Usage"] * 4,
        )
        out = rate(as_engine(df, "polars"), price_book=BOOK)
        assert collect(out)["pricing_quantity"].tolist() == billed
        assert_same(out, rate(df, price_book=BOOK), "polars")


def test_rate_on_polars_zone_less_times_categories_and_a_column_of_its_own():
    """Timestamps without a zone are UTC (as in the store), categorical text is text, and the
    caller's own columns (even one named like a helper column) come back untouched."""
    hand = _hand()
    with pytest.warns(UserWarning, match="EUR"):
        reference = rate(hand, price_book=BOOK).assign(_day=1)
    frame = as_engine(hand, "polars").with_columns(
        pl.col("charge_period_start", "billing_period_start").dt.replace_time_zone(None),
        pl.col("x_billable_metric_id", "billing_currency").cast(pl.Categorical),
        _day=pl.lit(1),
    )
    with pytest.warns(UserWarning, match="EUR"):
        got = rate(frame, price_book=BOOK)
    assert_same(got.select(reference.columns), reference, "polars")


def test_rate_refuses_duckdb_before_reading_a_row():
    # the relation would fail if any row were read
    rel = duckdb.sql(
        "select timestamptz '2026-03-01 00:00:00+00' as charge_period_start, 'req' as "
        "x_billable_metric_id, error('a row was read')::double as consumed_quantity"
    )
    with pytest.raises(ArgumentError, match=r"DuckDBPyRelation.*row order.*collected slice"):
        rate(rel, price_book=BOOK)


_RATE_ROW = st.tuples(
    st.integers(0, 40),
    st.sampled_from(["a", "b", None]),
    st.sampled_from(["req", "gb", "mystery"]),
    st.one_of(st.none(), st.floats(0, 4e6, allow_nan=False)),
    st.sampled_from([None, None, None, "Correction"]),
    st.sampled_from(["USD", "USD", None, "EUR"]),
    st.one_of(st.none(), st.none(), st.floats(0, 10, allow_nan=False)),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_RATE_ROW, min_size=1, max_size=40), st.booleans())
def test_rate_on_polars_equals_pandas_row_for_row(rows, overwrite):
    """Tiers, dated prices, corrections, other currencies, unknown metrics and quantities, own
    costs, several rows a day: the Polars expressions give the pandas figures, row for row."""
    book = pd.DataFrame(
        [
            ("req", 1e6, 0.0, 0.30, 10e6, 0.2, None, "2026-03-20"),
            ("req", 1e6, 0.0, 0.40, 5e6, 0.1, "2026-03-20", None),
            ("gb", 1000.0, 0.0, 0.10, 2e6, None, None, None),
            ("gb", 1000.0, 1000.0, 0.08, 2e6, None, None, None),
            ("gb", 1000.0, 3000.0, 0.05, 2e6, None, None, None),
        ],
        columns=[
            "x_billable_metric_id", "block_size", "tier_start", "list_unit_price",
            "free_allowance", "contracted_discount", "valid_from", "valid_to",
        ],
    ).assign(currency="USD", pricing_unit=lambda b: b["x_billable_metric_id"] + "-blocks")  # fmt: skip
    day, account, metric, q, klass, currency, cost = zip(*rows, strict=True)
    df = typed(
        charge_period_start=[
            pd.Timestamp("2026-03-01", tz="UTC") + pd.Timedelta(days=d, hours=d % 5) for d in day
        ],
        billing_account_id=list(account),
        x_billable_metric_id=list(metric),
        consumed_quantity=list(q),
        charge_category=["Usage"] * len(rows),
        charge_class=list(klass),
        billing_currency=list(currency),
        list_cost=list(cost),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # mystery and EUR are warned about (tested above)
        reference = rate(df, price_book=book, overwrite=overwrite)
        got = rate(as_engine(df, "polars"), price_book=book, overwrite=overwrite)
    assert_same(got, reference, "polars")


def test_free_allowance_usage_refuses_a_session_that_is_not_utc():
    con = duckdb.connect()
    con.execute("SET TimeZone = 'America/New_York'")
    with pytest.raises(ArgumentError, match="SET TimeZone = 'UTC'"):
        free_allowance_usage(con.from_arrow(arrow(_hand())), price_book=BOOK)
    with pytest.raises(ArgumentError, match="freq='Y'"):
        free_allowance_usage(as_engine(_hand(), "duckdb"), price_book=BOOK, freq="Y")


# ---- the trust property on engines ------------------------------------------------------------


def _unknown_stays_unknown(df: pd.DataFrame, engine: str) -> None:
    book = BOOK.assign(free_allowance=[1e6])
    costs_free = df.drop(columns=[*MONEY, "list_unit_price", "contracted_unit_price"])
    reference = free_allowance_usage(costs_free, price_book=book)
    got = free_allowance_usage(as_engine(costs_free, engine), price_book=book)
    assert_same(got, reference, engine)
    fa = collect(got)
    for (month, account), grp in _cells(df).items():
        r = _row(fa, month, str(account))
        assert r["missing_quantity_rows"] == int(grp["consumed_quantity"].isna().sum())
        if grp["consumed_quantity"].isna().all():
            for c in ["consumed_quantity", "free_quantity", "billable_quantity"]:
                assert pd.isna(r[c]), c


_CHECKS = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]


@pytest.mark.engines("polars", "duckdb")  # pandas: tests/test_unknown_stays_unknown_costs.py
@given(df=_frames())
@settings(max_examples=15, deadline=None, suppress_health_check=_CHECKS)
def test_free_allowance_unknown_quantity_stays_unknown_on_engines(df, engine):
    _unknown_stays_unknown(df, engine)


@pytest.mark.engines("spark")  # fewer examples: seconds a Spark job
@given(df=_frames())
@settings(max_examples=3, deadline=None, suppress_health_check=_CHECKS)
def test_free_allowance_unknown_quantity_stays_unknown_on_spark(df, engine):
    _unknown_stays_unknown(df, engine)
