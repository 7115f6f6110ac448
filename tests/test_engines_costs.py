"""discounts, savings_summary, reconcile and amortize on every engine equal the pandas reference.

The golden matrix (issue 14): each helper on the sample organization (attrs cleared, so the
pandas reference reads nothing an engine cannot carry) and on the generated AWS FOCUS 1.3 file
(Usage, Purchase and Tax rows, hourly and monthly charge periods), each also as a copy with NA
costs (scattered NA and a whole product-month with no list cost, so coverage and the NA pattern
are exercised), with by=None / one / two dimensions and freq "MS", "W", "D" and None, on pandas,
Polars (lazy), DuckDB and Spark, compared with :func:`tests.engines.assert_same`. The pandas path
is the reference: its own tests are tests/test_discounts.py and tests/test_amortization.py.

Then the trust issue's properties on engine inputs, with the strategies of
tests/test_unknown_stays_unknown_costs.py: an unknown cost never becomes 0 (discounts,
reconcile, amortize), rows are counted (``rows``, ``missing_costs``), and money is conserved
(amortize, reconcile's components).
"""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cfusage
from cfusage.analysis import _engine
from cfusage.analysis._amortization import amortize, amortize_commitment, reconcile
from cfusage.analysis._discounts import discounts, savings_summary, unit_price_discounts
from cfusage.errors import ArgumentError, MissingColumnsError, ValidationError
from tests.engines import arrow, as_engine, assert_same, collect
from tests.test_unknown_stays_unknown_costs import MONEY, _cells, _frames, _row

AWS = "tests/data/focus/focus_1_3_cost_and_usage_aws.csv"
BOOK = str(Path(cfusage.analysis.__file__).parent / "data" / "price_book.csv")


# --------------------------------------------------------------------------------------------------
# inputs (built once per process; each engine's copy too, as Spark frames are slow to make)


@cache
def _frame(name: str) -> pd.DataFrame:
    if name == "sample":
        df = cfusage.sample.load()
        assert isinstance(df, pd.DataFrame)
        df.attrs.clear()
        return df
    if name == "aws":
        return cfusage.to_frame(AWS)
    if name == "sample_cols":  # the sample's keys, periods, money and quantities (faster compares)
        keep = [c for c in _frame("sample").columns if c in _SAMPLE_COLUMNS]
        return _frame("sample")[keep]
    base = _frame(name.removesuffix("_na")).copy()
    return _with_na(base)


def _with_na(df: pd.DataFrame) -> pd.DataFrame:
    """Scattered NA in every cost, and one product's list cost NA for a whole month."""
    n = len(df)
    pos = np.arange(n)
    for step, col in zip((7, 11, 13, 17), MONEY, strict=True):
        values = df[col].copy()
        values[pos % step == 3] = pd.NA
        df[col] = values
    first = df["x_product_family_name"].dropna().astype(str).sort_values().iloc[0]
    month = df["charge_period_start"].dt.month == df["charge_period_start"].dt.month.iloc[0]
    blank = (df["x_product_family_name"].astype(str) == first) & month
    df.loc[blank.to_numpy(), "list_cost"] = pd.NA
    return df


_SAMPLE_COLUMNS = {
    "billing_account_id",
    "billing_period_start",
    "charge_period_start",
    "charge_period_end",
    "charge_category",
    "x_billable_metric_id",
    "x_product_family_name",
    "consumed_quantity",
    "pricing_quantity",
    "billing_currency",
    *MONEY,
}
_natives: dict[tuple[str, str], Any] = {}


def _on(name: str, engine: str) -> Any:
    """The frame ``name`` as an input of ``engine`` (made once)."""
    if engine == "pandas":
        return _frame(name)
    key = (name, engine)
    if key not in _natives:
        _natives[key] = as_engine(_frame(name), engine)
    return _natives[key]


FRAMES = ["sample", "sample_na", "aws", "aws_na"]
#: by= and freq= combinations: every by= shape and every freq value appears.
COMBOS: list[tuple[Any, Any]] = [
    (None, "MS"),
    ("product", "W"),
    (("account", "product"), "D"),
    ("product", None),
    (None, "billing_period"),
]
RECONCILE = [
    (None, "MS"),
    ("product", "W"),
    (("account", "product"), "D"),
    (None, "billing_period"),
]


#: Spark jobs are slow (seconds each): on Spark the matrix runs on these two frames only.
SPARK_FRAMES = ("sample", "aws_na", "sample_cols")


def _some(engine: str, name: str, combos: list[Any]) -> list[Any]:
    """All combinations; on Spark every other one per frame (each once over the two kinds of
    frame: the sample takes the even ones, the AWS file the odd ones)."""
    if engine != "spark":
        return combos
    return combos[SPARK_FRAMES.index(name) % 2 :: 2]


@cache
def _reference(helper: Any, name: str, **kwargs: Any) -> pd.DataFrame:
    """The pandas result (computed once, shared by the engines)."""
    return helper(_frame(name), **kwargs)


def _book() -> pd.DataFrame:
    """The bundled price book, plus a second version of one metric (from 1 April 2026, at
    another price) and one metric priced in EUR, so that versions and currencies are looked up."""
    book = cfusage.load_price_book()
    metric = book["x_billable_metric_id"]
    old = book[metric == "workers_standard_requests"].copy()
    new = old.assign(list_unit_price=old["list_unit_price"] * 0.5)
    april = pd.Timestamp("2026-04-01", tz="UTC")
    old["valid_to"] = april
    new["valid_from"] = april
    book = book.assign(currency=book["currency"].where(metric != "r2_class_a_operations", "EUR"))
    rest = book[metric != "workers_standard_requests"]
    return cfusage.load_price_book(pd.concat([rest, old, new], ignore_index=True))


# --------------------------------------------------------------------------------------------------
# the golden matrix


@pytest.mark.spark_only("name", SPARK_FRAMES)
@pytest.mark.parametrize("name", FRAMES)
def test_discounts_golden(engine: str, name: str) -> None:
    for by, freq in _some(engine, name, COMBOS):
        ref = _reference(discounts, name, by=by, freq=freq)
        assert_same(discounts(_on(name, engine), by=by, freq=freq), ref, engine)


@pytest.mark.spark_only("name", SPARK_FRAMES)
@pytest.mark.parametrize("name", FRAMES)
def test_reconcile_golden(engine: str, name: str) -> None:
    for by, freq in _some(engine, name, RECONCILE):
        ref = _reference(reconcile, name, by=by, freq=freq)
        assert_same(reconcile(_on(name, engine), by=by, freq=freq), ref, engine)


@pytest.mark.spark_only("name", SPARK_FRAMES)
@pytest.mark.parametrize("name", ["sample", "aws_na"])
def test_savings_summary_golden(engine: str, name: str) -> None:
    assert_same(savings_summary(_on(name, engine)), _reference(savings_summary, name), engine)


def test_free_tier_value_with_price_book(engine: str) -> None:
    """The clip per row is computed in the engine: versions, currencies and NA as in pandas."""
    df = _frame("sample_na")
    df = df[[c for c in df.columns if c in _SAMPLE_COLUMNS]]
    months = df["charge_period_start"].dt.month
    df = df[((months >= 3) & (months <= 5)).to_numpy()].reset_index(drop=True)  # over 1 April
    eur = df["billing_account_id"].astype(str) == sorted(df["billing_account_id"].unique())[0]
    currency = df["billing_currency"].astype(str).where(~eur.to_numpy(), "EUR")
    df["billing_currency"] = currency.astype("category")
    df.loc[df.index % 5 == 1, "consumed_quantity"] = pd.NA
    book = _book()
    native = as_engine(df, engine)
    ref = discounts(df, by="metric_id", freq="MS", price_book=book)
    assert ref["free_tier_value"].notna().any() and ref["free_tier_value"].isna().any()
    assert_same(discounts(native, by="metric_id", freq="MS", price_book=book), ref, engine)
    rates = {"EUR": 1.1, "USD": 1.0}
    ref = savings_summary(df, price_book=book, currency_rates=rates)
    assert_same(savings_summary(native, price_book=book, currency_rates=rates), ref, engine)
    # the bundled book on the whole sample
    ref = _reference(savings_summary, "sample", price_book=BOOK)
    assert ref["free_tier_value"].iloc[0] > 0
    got = savings_summary(_on("sample", engine), price_book=BOOK)
    assert_same(got, ref, engine)


def _canonical(result: Any) -> pd.DataFrame:
    """Rows in one order (an engine frame has none): sorted on a hash of each whole row."""
    df = collect(result)
    order = np.argsort(pd.util.hash_pandas_object(df, index=False).to_numpy(), kind="stable")
    return df.iloc[order].reset_index(drop=True)


@pytest.mark.spark_only("name", SPARK_FRAMES)
@pytest.mark.parametrize("name", ["sample_cols", "aws_na"])
def test_amortize_golden(engine: str, name: str) -> None:
    df = _frame(name)
    # the sample's 20k rows are slow to compare: two grains there (the purchase is split in 12
    # months and in 365 days), every grain on the AWS file (hourly and monthly rows)
    freqs = ["MS", "D"] if name == "sample_cols" else ["MS", "W", "D", "QS"]
    split = False
    for freq in _some(engine, name, freqs):
        ref = _canonical_amortized(name, freq)
        got = amortize(_on(name, engine), freq=freq)
        if engine == "pandas":
            got = got.drop(columns=["tags"], errors="ignore")  # engines carry no tags mapping
        else:
            assert not isinstance(got, pd.DataFrame)
        assert_same(_canonical(got), ref, "")
        split |= len(ref) > len(df)
    assert split  # rows were split


@cache
def _canonical_amortized(name: str, freq: str) -> pd.DataFrame:
    return _canonical(amortize(_frame(name), freq=freq).drop(columns=["tags"], errors="ignore"))


def test_amortize_collects_only_the_rows_it_splits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lazy in, lazy out; what leaves the engine is the rows spanning several periods."""
    import polars as pl

    seen: list[int] = []
    real = _engine.to_pandas

    def spy(frame: Any) -> pd.DataFrame:
        out = real(frame)
        seen.append(len(out))
        return out

    monkeypatch.setattr(_engine, "to_pandas", spy)
    df = _frame("aws")
    out = amortize(_on("aws", "polars"), freq="MS")
    assert isinstance(out, pl.LazyFrame)
    spanning = (df["charge_period_end"] - df["charge_period_start"]) > pd.Timedelta(days=1)
    months = (
        df["charge_period_start"].dt.month
        != (df["charge_period_end"] - pd.Timedelta(microseconds=1)).dt.month
    )
    assert seen == [int((spanning & months).sum())] and seen[0] < len(df)
    # a frame of daily rows only: nothing is collected, and the result is still lazy
    seen.clear()
    daily = df[~spanning.to_numpy()]
    out = amortize(as_engine(daily, "duckdb"), freq="W")
    assert seen == [0] and type(out).__name__ == "DuckDBPyRelation"
    assert len(collect(out)) == len(daily)


def test_amortize_on_a_duckdb_connection_of_its_own() -> None:
    """The split rows go back on the input relation's connection (DuckDB cannot mix two)."""
    import duckdb

    con = duckdb.connect()
    table = arrow(_frame("sample_cols"))
    out = amortize(con.from_arrow(table), freq="MS")
    assert_same(_canonical(out), _canonical_amortized("sample_cols", "MS"), "")
    con.execute("SET python_enable_replacements = false")
    with pytest.raises(ArgumentError, match="replacement scan"):
        amortize(con.from_arrow(table), freq="MS")
    # a FOCUS scan (cfusage's own DuckDB connection): the hourly file split by day, and summed
    scan = cfusage.scan_focus(AWS)
    got = collect(amortize(scan, freq="D"))
    ref = amortize(_frame("aws"), freq="D")
    common = [c for c in got.columns if c != "tags"]  # a scan keeps tags as JSON text
    assert common[0] == "period"
    assert_same(_canonical(got[common]), _canonical(ref[common]), "")
    assert_same(savings_summary(scan), _reference(savings_summary, "aws"), "duckdb")


def test_amortize_refuses_rows_it_cannot_spread_on_an_engine() -> None:
    df = _frame("aws").drop(columns=["tags"]).head(20).copy()
    df.loc[3, "charge_period_end"] = df.loc[3, "charge_period_start"] - pd.Timedelta(hours=1)
    with pytest.raises(ValidationError, match="charge_period_end >= charge_period_start"):
        amortize(as_engine(df, "polars"), freq="MS")
    with pytest.raises(MissingColumnsError, match="charge_period_end"):
        amortize(as_engine(df.drop(columns=["charge_period_end"]), "duckdb"))
    with pytest.raises(ArgumentError, match="billing_period"):
        amortize(as_engine(df, "polars"), freq="billing_period")


def test_pandas_only_helpers_refuse_engine_frames() -> None:
    native = _on("aws", "polars")
    with pytest.raises(ArgumentError, match=r"unit_price_discounts.*pandas frame only"):
        unit_price_discounts(native)
    commitments = cfusage.sample.COMMITMENTS
    with pytest.raises(ArgumentError, match=r"amortize_commitment.*pandas frame only"):
        amortize_commitment(native, commitments=commitments)


def test_engines_refuse_tags_and_non_utc_sessions() -> None:
    import duckdb

    native = _on("sample", "polars")
    for helper in (discounts, reconcile):
        with pytest.raises(ArgumentError, match="tag:team"):
            helper(native, by="tag:team")
    con = duckdb.connect()
    con.execute("SET TimeZone = 'Europe/Paris'")
    rel = con.from_arrow(arrow(_frame("aws")))
    for call in (discounts, savings_summary, reconcile, amortize):
        with pytest.raises(ArgumentError, match="TimeZone = 'UTC'"):
            call(rel)


# --------------------------------------------------------------------------------------------------
# the trust issue's properties, on engine inputs


def _examples(engine: str) -> settings:
    return settings(
        max_examples=4 if engine == "spark" else 12,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )


@st.composite
def _with_purchase(draw: st.DrawFn) -> pd.DataFrame:
    """A frame of the trust tests' strategy plus a purchase row spanning several periods (its
    costs may be NA), so that amortize splits a row and reconcile sees a prepaid purchase."""
    df = draw(_frames())
    row = df.iloc[[0]].copy()
    start = pd.Timestamp(f"2026-01-{draw(st.integers(1, 28)):02d}", tz="UTC")
    row["charge_period_start"] = start
    row["charge_period_end"] = start + pd.Timedelta(days=draw(st.integers(2, 120)))
    row["billing_period_start"] = pd.Timestamp("2026-01-01", tz="UTC")
    row["charge_category"] = "Purchase"
    for c in MONEY:
        row[c] = draw(st.one_of(st.none(), st.floats(0, 1e5, allow_nan=False)))
    out = pd.concat([df, row], ignore_index=True)
    out["charge_category"] = out["charge_category"].astype("category")
    for c in ("charge_period_start", "charge_period_end", "billing_period_start"):
        out[c] = out[c].astype(df[c].dtype)
    # one Arrow chunk per column: PySpark's Arrow path refuses a chunked text column
    out["x_billable_metric_id"] = out["x_billable_metric_id"].astype("category")
    for c in MONEY:
        out[c] = out[c].astype("Float64")
    return out


def test_unknown_stays_unknown_on_engines(engine: str) -> None:
    """One generated frame per example, all helpers on it (Spark frames are slow to make)."""

    @_examples(engine)
    @given(_with_purchase(), st.sampled_from(["D", "W", "MS", "QS"]))
    def run(df: pd.DataFrame, freq: str) -> None:
        native = as_engine(df, engine)
        usage = df[(df["charge_category"] == "Usage").to_numpy()]
        _check_discounts(usage, native)
        _check_reconcile(df, native)
        _check_amortize(df, native, freq)

    run()


def _check_discounts(usage: pd.DataFrame, native: Any) -> None:
    """The trust test of discounts, on the engine's result (the purchase row is not usage)."""
    out = collect(discounts(native, by="billing_account_id"))
    for (month, account), grp in _cells(usage).items():
        r = _row(out, month, str(account))
        assert r["rows"] == len(grp)  # counted: the reduced rows add up their ROWS
        for c in MONEY:
            if grp[c].isna().all():
                assert pd.isna(r[c]), c  # never 0
        basis = grp[["list_cost", "contracted_cost", "effective_cost"]].notna().all(axis=1)
        if not basis.any():
            for c in ["negotiated_savings", "commitment_savings", "total_savings"]:
                assert pd.isna(r[c]), c
            assert pd.isna(r["esr_over_list"]) and pd.isna(r["esr_over_contract"])
        assert r["list_cost_coverage"] == grp["list_cost"].notna().sum() / len(grp)
    summary = collect(savings_summary(native)).iloc[0]
    usable = usage[["list_cost", "contracted_cost", "effective_cost"]].notna().all(axis=1)
    expected = float((usage["list_cost"] - usage["effective_cost"])[usable].sum())
    assert math.isclose(summary["total_savings"], expected, rel_tol=1e-9, abs_tol=1e-6)


def _check_reconcile(df: pd.DataFrame, native: Any) -> None:
    """Unknown sums stay unknown, missing values are counted, the components add up."""
    out = collect(reconcile(native, by="billing_account_id"))
    n_missing = df["billed_cost"].isna().sum() + df["effective_cost"].isna().sum()
    assert out["missing_costs"].sum() == n_missing
    for (month, account), grp in _cells(df).items():
        r = _row(out, month, str(account))
        for side in ("billed_cost", "effective_cost"):
            if grp[side].isna().any():
                assert pd.isna(r[side]), side
            else:
                total = float(grp[side].sum())
                assert math.isclose(r[side], total, rel_tol=1e-9, abs_tol=1e-9)
        if pd.isna(r["difference"]):
            continue
        parts = [r[c] for c in ("prepaid_purchases", "prepaid_drawdown", "unused_commitment")]
        parts += [r["corrections"], r["other"]]
        assert not any(pd.isna(p) for p in parts)
        assert math.isclose(sum(parts), r["difference"], rel_tol=1e-9, abs_tol=1e-6)


def _check_amortize(df: pd.DataFrame, native: Any, freq: str) -> None:
    """Money is conserved; an unknown cost stays unknown on every piece, nothing else does."""
    out = collect(amortize(native, freq=freq))
    bought = (df["charge_category"] == "Purchase").to_numpy()
    pieces = (out["charge_category"] == "Purchase").to_numpy()
    for c in MONEY:
        total = float(out[c].sum())
        assert math.isclose(total, float(df[c].sum()), rel_tol=1e-9, abs_tol=1e-6), c
        assert out.loc[~pieces, c].isna().sum() == df.loc[~bought, c].isna().sum()
        if df.loc[bought, c].isna().all():
            assert out.loc[pieces, c].isna().all()
        else:
            assert out.loc[pieces, c].notna().all()
    assert out["period"].notna().all()
    assert_same(_canonical(out), _canonical(amortize(df, freq=freq)), "")
