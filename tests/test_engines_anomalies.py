"""Anomalies on engines: the daily series is reduced in the engine, the scoring is pandas'.

The golden matrix: the pandas result on the raw rows is the reference; the same rows as a Polars
LazyFrame, a DuckDB relation and a Spark DataFrame give the same cells (``assert_same``: columns,
key order, NA pattern, numbers to 1e-9), on the sample organization and the AWS FOCUS file, with
and without unknown costs. Independent expectations: a small frame worked by hand (several rows
a day, some unknown; a free allowance used up in day order, rows shuffled), and NA row counts
taken from the raw rows. The trust property of tests/test_anomalies.py (an unknown period is
never scored) is rerun on engine inputs with its strategy and frame builder.
"""

from __future__ import annotations

import warnings

import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import cfusage
from cfusage.analysis._anomalies import anomalies, describe_anomalies
from cfusage.errors import ArgumentError
from tests.engines import arrow, as_engine, assert_same, collect
from tests.test_anomalies import _with_allowance, series

AWS = "tests/data/focus/focus_1_3_cost_and_usage_aws.csv"
#: What anomalies reads (the by= columns of the matrix, the currency, the cost and what the free
#: allowance needs): the engines get these columns of the rows, the pandas reference all of them.
READ = [
    "charge_period_start",
    "billing_account_name",
    "x_product_family_name",
    "x_billable_metric_name",
    "billing_currency",
    "effective_cost",
    "list_cost",
    "billed_cost",
    "list_unit_price",
    "consumed_quantity",
    "pricing_quantity",
    "x_billable_metric_id",
    "consumed_unit",
    "pricing_unit",
    "contracted_unit_price",
]


def _some_costs_na(df: pd.DataFrame, step: int, days: tuple[int, ...]) -> pd.DataFrame:
    """Every ``step``-th row of the days of the month ``days`` without a cost (the rest known,
    so that most periods are still scored)."""
    out = df.copy()
    on = out["charge_period_start"].dt.day.isin(days).to_numpy() & (np.arange(len(out)) % step == 0)
    out.loc[on, "effective_cost"] = pd.NA
    return out


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    sample, aws = cfusage.sample.load(), cfusage.to_frame(AWS)
    assert isinstance(sample, pd.DataFrame) and isinstance(aws, pd.DataFrame)
    sample.attrs.clear()  # the attrs (as_of...) an engine's frame cannot carry
    aws.attrs.clear()
    return {
        "sample": sample,
        "sample_na": _some_costs_na(sample, 37, (3, 17)),
        "aws": aws,
        "aws_na": _some_costs_na(aws, 3, (9, 10)),
    }


@pytest.fixture(scope="module")
def natives(frames):
    """Each frame as each engine's frame (the columns anomalies reads), built once per module:
    Spark frames are slow to make."""
    made: dict[tuple[str, str], object] = {}

    def get(name: str, engine: str) -> object:
        if (name, engine) not in made:
            df = frames[name]
            made[name, engine] = df if engine == "pandas" else as_engine(df[READ], engine)
        return made[name, engine]

    return get


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the "rows have no effective_cost" warning
        return fn(*args, **kwargs)


# ---- the golden matrix ------------------------------------------------------------------------

#: (frame, by, freq, also on Spark): Spark runs three cases with NA costs (each of its jobs
#: takes seconds): no by= and by product, days and weeks, both files.
CASES = [
    ("sample", None, "D", False),
    ("sample", "product", "D", False),
    ("sample", "account", "D", False),
    ("sample", None, "W", False),
    ("sample", "product", "W", False),
    ("sample", ["metric", "account"], "D", False),
    ("sample_na", None, "D", True),
    ("sample_na", "account", "D", False),
    ("sample_na", "product", "W", True),
    ("aws", None, "D", False),
    ("aws", "product", "D", False),
    ("aws", "account", "D", False),
    ("aws", "account", "W", False),
    ("aws_na", "product", "D", True),
]


@pytest.mark.spark_only("on_spark", [True])  # Spark runs the cases with NA costs
@pytest.mark.parametrize(("name", "by", "freq", "on_spark"), CASES)
def test_anomalies_equal_pandas(frames, natives, engine, name, by, freq, on_spark):
    history = 2 if freq == "W" else 7  # a few whole weeks: scored from the third
    reference = _quiet(anomalies, frames[name], by=by, freq=freq, min_history=history)
    got = _quiet(anomalies, natives(name, engine), by=by, freq=freq, min_history=history)
    assert_same(got, reference, engine)
    # the matrix is not vacuous: scores, flags and (on the sample) free allowances are in it
    assert reference["score"].notna().sum() > 0
    if name.startswith("sample"):
        assert (reference["allowance"].fillna(0) > 0).any()
    if name.endswith("_na"):
        # NA rows counted from the raw rows: reduced rows are weighted by the rows they stand for
        raw = frames[name]
        assert int(collect(got)["missing"].sum()) == int(raw["effective_cost"].isna().sum())
        assert collect(got)["actual"].isna().sum() == reference["actual"].isna().sum() > 0


@pytest.mark.engines("pandas", "polars", "duckdb")  # the same reduction as the matrix
@pytest.mark.parametrize(
    "kwargs",
    [
        {"value": "list_cost", "by": "product"},
        {"value": "billed_cost", "by": "account", "freq": "MS", "min_history": 2},
        {"allowance": False, "seasonality": False, "window": 14},
        {"by": ["metric", "account"], "freq": "W", "min_history": 2},
    ],
)
def test_other_arguments_equal_pandas(frames, natives, engine, kwargs):
    reference = _quiet(anomalies, frames["sample_na"], **kwargs)
    assert_same(_quiet(anomalies, natives("sample_na", engine), **kwargs), reference, engine)


def test_sample_spike_events_equal_pandas(frames, natives, engine):
    """describe_anomalies takes an engine's result (no attrs: by and grain read from it)."""
    by = ["metric", "account"]
    reference = describe_anomalies(_quiet(anomalies, frames["sample_na"], by=by), n=None)
    got = describe_anomalies(_quiet(anomalies, natives("sample_na", engine), by=by), n=None)
    assert_same(got, reference, engine)
    top = collect(got).iloc[0]
    assert top["kind"] == "spike" and top["x_billable_metric_name"] == "R2 Class A Operations"
    assert top["description"] == reference["description"].iloc[0]


@pytest.mark.engines("pandas", "polars", "duckdb")  # the grain is read after collecting
def test_weekly_events_equal_pandas(frames, natives, engine):
    """The grain of an engine's result is read from its periods: weeks stay weeks."""
    reference = describe_anomalies(
        _quiet(anomalies, frames["sample_na"], by="product", freq="W", min_history=2), n=None
    )
    got = describe_anomalies(
        _quiet(anomalies, natives("sample_na", engine), by="product", freq="W", min_history=2),
        n=None,
    )
    assert_same(got, reference, engine)
    assert len(reference) > 0 and reference["description"].str.contains("week").any()


# ---- by hand ----------------------------------------------------------------------------------


def test_several_rows_a_day_some_unknown_by_hand(engine):
    """Three rows a day (5 + 3 + 2); on day 12 one row is unknown, on day 20 two are."""
    days = 25
    rows = []
    for i in range(days):
        for part, cost in enumerate((5.0, 3.0, 2.0)):
            unknown = (i == 11 and part == 1) or (i == 19 and part > 0)
            rows.append(series([None if unknown else cost], start=f"2026-03-{i + 1:02d}"))
    df = pd.concat(rows, ignore_index=True).sample(frac=1.0, random_state=4)  # any row order
    df = df.reset_index(drop=True)
    with pytest.warns(UserWarning, match="3 of 75 rows have no effective_cost"):
        r = collect(anomalies(as_engine(df, engine)))
    assert len(r) == days and r["actual"].notna().sum() == days - 2
    assert r["actual"].dropna().eq(10.0).all()
    assert r["missing"].tolist() == [1 if i == 11 else 2 if i == 19 else 0 for i in range(days)]
    assert r["score"].dropna().eq(0.0).all() and not r["is_anomaly"].any()
    assert r.loc[12, "history"] == 11  # the unknown day 12 is no history


def test_free_allowance_is_computed_per_row_in_the_engine(engine):
    """The free allowance (test_anomalies' frame: 2.5M requests free a month, 1M a day at 1.0
    per 100K): 1-2 March wholly free, 3 March half. A sum of a day's rows cannot carry it; the
    per-row figure, computed in the engine, gives the by-hand values in any row order."""
    df = _with_allowance().sample(frac=1.0, random_state=7).reset_index(drop=True)
    r = collect(anomalies(as_engine(df, engine)))
    assert not r["is_anomaly"].any()
    march = r[r["period"].dt.month == 3].reset_index(drop=True)
    assert march["actual"].tolist()[:4] == [0.0, 0.0, 5.0, 10.0]
    assert march["allowance"].tolist()[:4] == [10.0, 10.0, 5.0, 0.0]
    assert march["expected"].tolist()[:4] == [0.0, 0.0, 5.0, 10.0]
    assert (march["ratio"] == 1.0).all()
    if engine != "spark":  # the contrast is engine-independent; Spark jobs are slow
        raw = collect(anomalies(as_engine(df, engine), allowance=False))
        assert raw["is_anomaly"].any() and raw["allowance"].eq(0.0).all()


# ---- the trust property on every engine ------------------------------------------------------


def test_unknown_periods_are_never_scored_on_every_engine(engine):
    """tests/test_anomalies.py::test_unknown_periods_are_never_scored, on engine inputs, and
    equal to the pandas result."""

    @settings(
        max_examples=2 if engine == "spark" else 10,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
        phases=[Phase.explicit, Phase.reuse, Phase.generate],
        derandomize=True,
    )
    @given(st.lists(st.booleans(), min_size=30, max_size=60))
    def check(unknown):
        costs = [None if u else 10.0 + (i % 3) for i, u in enumerate(unknown)]
        if all(c is None for c in costs):
            return
        df = series(costs)
        reference = _quiet(anomalies, df)
        got = _quiet(anomalies, as_engine(df, engine))
        assert_same(got, reference, engine)
        r = collect(got)
        na = np.array(unknown)[len(unknown) - len(r) :]
        assert r["actual"].isna().to_numpy().tolist() == na.tolist()
        assert r.loc[na, "score"].isna().all() and not r.loc[na, "is_anomaly"].any()
        assert int(r["missing"].sum()) == int(na.sum())

    check()


# ---- kinds and refusals -----------------------------------------------------------------------


def test_the_result_is_of_the_input_kind():
    df = series([10.0] * 20 + [90.0])
    assert isinstance(anomalies(pl.from_arrow(arrow(df))), pl.DataFrame)
    assert isinstance(anomalies(pl.from_arrow(arrow(df)).lazy()), pl.LazyFrame)
    rel = anomalies(duckdb.from_arrow(arrow(df)))
    assert isinstance(rel, duckdb.DuckDBPyRelation)
    events = describe_anomalies(rel)
    assert isinstance(events, duckdb.DuckDBPyRelation)
    assert collect(events)["description"].tolist() == [
        "Total cost were 9.0x their usual level on 2026-03-21 (90.00 USD against a usual 10.00 USD)."
    ]


def test_an_empty_engine_frame_gives_the_empty_result():
    df = series([1.0] * 3).iloc[:0]
    reference = anomalies(df, by="metric")
    assert_same(anomalies(as_engine(df, "polars"), by="metric"), reference, "polars")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"by": "tag:team"},
        {"by": "no_such_dimension"},
        {"window": 0},
        {"freq": "billing_period"},
    ],
)
def test_bad_arguments_on_an_engine_raise_argument_error(kwargs):
    with pytest.raises(ArgumentError):
        anomalies(as_engine(series([1.0] * 10), "polars"), **kwargs)


def test_a_duckdb_connection_not_in_utc_is_refused():
    con = duckdb.connect()
    con.execute("SET TimeZone = 'America/New_York'")
    rel = con.from_arrow(arrow(series([1.0] * 10)))
    with pytest.raises(ArgumentError, match="TimeZone"):
        anomalies(rel)
