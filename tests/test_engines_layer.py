"""The engine layer itself (cfusage/analysis/_engine.py): what ``reduce`` collects and returns.

Independent expectations: DuckDB SQL over the same rows (the reduction's sums and row counts), and
small frames built by hand.
"""

from __future__ import annotations

import duckdb
import pandas as pd
import polars as pl
import pytest

import cfusage.sample
from cfusage.analysis import _engine
from cfusage.analysis._grouping import ROWS, row_weights
from cfusage.errors import ArgumentError, MissingColumnsError
from cfusage.schema import DIMENSIONS
from tests.engines import SPARK_MISSING, arrow, as_engine, collect
from tests.frames import typed


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    df = cfusage.sample.load()
    df.attrs.clear()
    return df


def _na_some(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    out.loc[out.index[::7], "list_cost"] = pd.NA
    return out


@pytest.mark.parametrize("engine", ["polars", "duckdb", "spark"])
def test_reduce_sums_and_counts_equal_sql_over_the_rows(sample, engine):
    """Per product x day: the sum of known list costs (NA when none is known), and the rows."""
    if engine == "spark" and SPARK_MISSING:
        pytest.skip(SPARK_MISSING)
    df = _na_some(sample)
    r = _engine.reduce(
        as_engine(df, engine), "test", keys=["x_product_family_name"], values=["list_cost"]
    )
    got = (
        r.frame.groupby(
            ["charge_period_start", "x_product_family_name"], observed=True, dropna=False
        )
        .agg(list_cost=("list_cost", lambda s: s.sum(min_count=1)), rows=(ROWS, "sum"))
        .reset_index()
    )
    raw = arrow(df)  # noqa: F841 (read by the SQL below)
    want = duckdb.sql(
        """
        select date_trunc('day', charge_period_start) as charge_period_start,
               x_product_family_name, sum(list_cost) as list_cost, count(*) as rows
        from raw group by all order by 1, 2
        """
    ).df()
    assert got["rows"].tolist() == want["rows"].tolist()
    assert got["rows"].sum() == len(df)
    pd.testing.assert_series_equal(
        got["list_cost"].astype(float), want["list_cost"].astype(float), check_names=False
    )
    # a group whose rows are all NA stays NA: the reduction never shares a row between NA and
    # known values, so every reduced row is all-known or all-NA
    assert r.frame["list_cost"].isna().sum() > 0
    assert len(r.frame) < len(df) / 2


def test_reduced_frame_is_typed_sorted_and_weighted(sample):
    r = _engine.reduce(
        as_engine(sample, "polars"),
        "t",
        keys=["billing_currency"],
        values=["effective_cost"],
        ends=True,
    )
    f = r.frame
    assert str(f["charge_period_start"].dtype) == "datetime64[us, UTC]"
    assert (f["charge_period_end"] - f["charge_period_start"]).eq(pd.Timedelta(days=1)).all()
    assert isinstance(f["billing_currency"].dtype, pd.CategoricalDtype)
    assert str(f["effective_cost"].dtype) == "Float64"
    assert f["charge_period_start"].is_monotonic_increasing
    assert row_weights(f).sum() == len(sample)
    assert (row_weights(sample) == 1).all()


def test_results_come_back_as_the_inputs_kind(sample, engine):
    small = sample.head(3)[["charge_period_start", "billing_currency", "effective_cost"]]
    back = _engine.like(small, as_engine(sample, engine))
    kinds = {
        "pandas": pd.DataFrame,
        "polars": pl.LazyFrame,
        "duckdb": duckdb.DuckDBPyRelation,
    }
    if engine in kinds:
        assert isinstance(back, kinds[engine])
    else:
        assert type(back).__name__ == "DataFrame" and type(back).__module__.startswith("pyspark")
    got = collect(back)
    assert got["effective_cost"].tolist() == small["effective_cost"].tolist()
    assert got["billing_currency"].tolist() == ["USD"] * 3
    assert got["charge_period_start"].tolist() == small["charge_period_start"].tolist()
    eager = _engine.like(small, pl.DataFrame(arrow(sample.head(1))))
    assert isinstance(eager, pl.DataFrame)


def test_a_day_is_a_utc_day_and_other_session_zones_are_refused():
    df = typed(
        charge_period_start=["2026-03-01T23:30Z", "2026-03-02T00:30Z"],
        billing_currency=["USD", "USD"],
        effective_cost=[1.0, 2.0],
    )
    r = _engine.reduce(as_engine(df, "duckdb"), "t", keys=[], values=["effective_cost"])
    assert [str(d.date()) for d in r.frame["charge_period_start"]] == ["2026-03-01", "2026-03-02"]
    con = duckdb.connect()
    con.execute("SET TimeZone = 'America/New_York'")
    with pytest.raises(ArgumentError, match=r"America/New_York.*SET TimeZone = 'UTC'"):
        _engine.reduce(con.from_arrow(arrow(df)), "t", keys=[], values=["effective_cost"])


def test_what_an_engine_cannot_take_is_refused_by_name(sample):
    with pytest.raises(ArgumentError, match=r"t\(\) takes a pandas DataFrame.*not list"):
        _engine.lazy([1, 2], "t()")
    with pytest.raises(ArgumentError, match=r"tag:team.*only a pandas frame"):
        _engine.by_columns(["product", "tag:team"], "t()")
    assert _engine.by_columns(["product", "account", "product"], "t()") == [
        DIMENSIONS["product"],
        DIMENSIONS["account"],
    ]
    with pytest.raises(MissingColumnsError, match="no_such_cost"):
        _engine.reduce(as_engine(sample, "polars"), "t()", keys=[], values=["no_such_cost"])


def test_a_duckdb_result_lives_on_the_input_s_connection(sample):
    """So that a helper's result joins with the relation it came from (DuckDB cannot combine
    relations of two connections)."""
    con = duckdb.connect()
    rel = con.from_arrow(arrow(sample.head(5)))
    small = sample.head(2)[["billing_currency", "effective_cost"]]
    back = _engine.like(small, rel)
    other = rel.select("billing_currency").limit(1).set_alias("other")
    joined = back.set_alias("result").join(other, "billing_currency")
    assert len(joined.fetchall()) == 2
