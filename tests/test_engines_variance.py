"""The variance helpers on every engine (issue 14): pandas, Polars lazy, DuckDB and Spark.

The golden matrix: ``period_over_period``, ``price_volume_mix``, ``top_movers``,
``budget_variance`` and ``budget_status`` on the sample organization and on the generated AWS FOCUS
file (with costs set to NA in a copy, so that NA patterns and ``missing_value_rows`` are really
exercised), for several ``by=``, ``freq=``, windows and budgets, give on every engine the pandas
result (:func:`tests.engines.assert_same`). Row counts are also checked against DuckDB SQL over the
raw rows, and the trust issue's properties (tests/test_unknown_stays_unknown.py,
tests/test_like_for_like.py) are checked on engine inputs with those files' own helpers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import duckdb
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import cfusage
import cfusage.sample
from cfusage.analysis._variance import (
    budget_status,
    budget_variance,
    period_over_period,
    price_volume_mix,
    top_movers,
)
from cfusage.errors import ArgumentError, CurrencyError, DataError
from tests.engines import arrow, as_engine, assert_same, collect
from tests.frames import typed
from tests.test_like_for_like import daily, row
from tests.test_unknown_stays_unknown import (
    ANCHORS,
    EFFECTS,
    FEB1,
    JAN1,
    _check_pair,
    _known_sum,
    _naive,
    _row,
    _unknown,
    frame,
    quiet,
)

pytestmark = pytest.mark.filterwarnings("ignore:.*rows have no .* \\(NA\\):UserWarning")

FOCUS_AWS = "tests/data/focus/focus_1_3_cost_and_usage_aws.csv"
COST = "effective_cost"
DAY = "charge_period_start"


# ---------------------------------------------------------------------------------------------
# inputs: the sample and the AWS FOCUS file, each with NA costs in a copy
# ---------------------------------------------------------------------------------------------


def _sample_na() -> pd.DataFrame:
    df = cfusage.sample.load()
    df.attrs.clear()  # an engine frame has no attrs: the pandas reference must not use them
    out = df.copy()
    out.loc[out.index[::11], COST] = pd.NA  # scattered unknown costs
    out.loc[out.index[5::13], "pricing_quantity"] = pd.NA  # and unknown quantities
    images_sept = (out["x_product_family_name"] == "Images") & (
        out[DAY].dt.strftime("%Y-%m") == "2026-09"
    )
    out.loc[images_sept, COST] = pd.NA  # a whole group-month unknown
    return out


def _focus_na() -> pd.DataFrame:
    df = cfusage.to_frame(FOCUS_AWS)
    df.attrs.clear()
    out = df.copy()
    out.loc[out.index[::5], COST] = pd.NA
    rds_early = (out["x_product_family_name"] == "AmazonRDS") & (out[DAY] < "2026-05-11")
    out.loc[rds_early, COST] = pd.NA  # a whole group unknown in the base window
    return out


_FRAMES: dict[str, Callable[[], pd.DataFrame]] = {"sample": _sample_na, "focus": _focus_na}
#: What the five helpers read. Spark gets only these columns (a Spark job's cost grows with the
#: columns handed over); the other engines get every column, so ignoring the rest is tested too.
READ = [
    "charge_period_start",
    "billing_period_start",
    "billing_period_end",
    "billing_currency",
    "billing_account_name",
    "x_product_family_name",
    "x_billable_metric_id",
    "x_billable_metric_name",
    "pricing_quantity",
    "pricing_unit",
    "effective_cost",
]
_cache: dict[tuple[str, str], Any] = {}


def frames(name: str, engine: str) -> tuple[pd.DataFrame, Any]:
    """(the pandas frame, the same rows on ``engine``), built once per process."""
    if (name, "pandas") not in _cache:
        _cache[(name, "pandas")] = _FRAMES[name]()
    df = _cache[(name, "pandas")]
    if (name, engine) not in _cache:
        _cache[(name, engine)] = as_engine(df[READ] if engine == "spark" else df, engine)
    return df, _cache[(name, engine)]


# ---------------------------------------------------------------------------------------------
# the golden matrix
# ---------------------------------------------------------------------------------------------

SEP, OCT = "2026-09", "2026-10"
MAY_A = ("2026-05-01", "2026-05-11")
MAY_B = ("2026-05-11", "2026-05-21")
SAMPLE_BUDGET = pd.DataFrame(
    {
        "period": ["2026-09", "2026-10", "2026-11"] * 2,
        "product": ["R2"] * 3 + ["Workers"] * 3,
        "budget": [9_000.0, 9_500.0, 10_000.0, 3_000.0, 3_200.0, 3_400.0],
    }
)  # other products and periods: no budget (NA)
FOCUS_BUDGET = pd.DataFrame({"account": ["ExampleCorp Master Payer"], "budget": [120.0]})

CASES: dict[str, tuple[str, Callable[[Any], Any]]] = {
    # period_over_period
    "sample-pop-none-MS": ("sample", lambda d: period_over_period(d)),
    "sample-pop-account-W-as_of": (
        "sample",
        lambda d: period_over_period(d, by="account", freq="W", as_of="2026-11-30"),
    ),
    "sample-pop-product-account-billing_period": (
        "sample",
        lambda d: period_over_period(d, by=["product", "account"], freq="billing_period"),
    ),
    "sample-pop-product-D": ("sample", lambda d: period_over_period(d, by="product", freq="D")),
    "focus-pop-account-D": ("focus", lambda d: period_over_period(d, by="account", freq="D")),
    "focus-pop-product-account-billing_period": (
        "focus",
        lambda d: period_over_period(d, by=["product", "account"], freq="billing_period"),
    ),
    "focus-pop-none-W": ("focus", lambda d: period_over_period(d, freq="W")),
    # price_volume_mix
    "sample-pvm-none": ("sample", lambda d: price_volume_mix(d, base=SEP, current=OCT)),
    "sample-pvm-product-detail": (
        "sample",
        lambda d: price_volume_mix(d, base="2026-08", current=SEP, by="product", detail=True),
    ),
    "sample-pvm-product-account-windows": (
        "sample",
        lambda d: price_volume_mix(
            d,
            base=("2026-09-01", "2026-09-15"),
            current=("2026-10-01", "2026-10-20"),
            by=["product", "account"],
        ),
    ),
    "focus-pvm-product": (
        "focus",
        lambda d: price_volume_mix(d, base=MAY_A, current=MAY_B, by="product"),
    ),
    "focus-pvm-none-detail": (
        "focus",
        lambda d: price_volume_mix(d, base=MAY_A, current=MAY_B, detail=True),
    ),
    # top_movers
    "sample-movers-metric": ("sample", lambda d: top_movers(d, base="2026-08", current=SEP)),
    "sample-movers-product-account-quarters": (
        "sample",
        lambda d: top_movers(
            d, base="2026-Q2", current="2026-Q3", by=["product", "account"], n=100
        ),
    ),
    "focus-movers-product-account": (
        "focus",
        lambda d: top_movers(d, base=MAY_A, current=MAY_B, by=["product", "account"], n=50),
    ),
    # budget_variance / budget_status
    "sample-budget-none-MS-number": ("sample", lambda d: budget_variance(d, budget=50_000.0)),
    "sample-budget-product-W-mapping-as_of": (
        "sample",
        lambda d: budget_variance(
            d,
            budget={"Workers": 700.0, "R2": 2_100.0},
            by="product",
            freq="W",
            as_of="2026-11-15",
        ),
    ),
    "sample-status-product-account-MS-frame": (
        "sample",
        lambda d: budget_status(d, budget=SAMPLE_BUDGET, by=["product", "account"]),
    ),
    "sample-status-account-D": (
        "sample",
        lambda d: budget_status(d, budget=60.0, by="account", freq="D"),
    ),
    "focus-budget-account-W-frame": (
        "focus",
        lambda d: budget_variance(d, budget=FOCUS_BUDGET, by="account", freq="W"),
    ),
    "focus-status-product-MS-periods": (
        "focus",
        lambda d: budget_status(d, budget={"2026-05": 40.0}, by="product"),
    ),
}


#: The cases Spark runs too (every helper, both files, by none, one and two, freq MS, W and D,
#: NA costs): a Spark call costs seconds on this 2-core machine, so the other cases run on
#: pandas, Polars and DuckDB only (the reduction is the same Narwhals code on every engine).
SPARK_CASES = {
    "sample-pop-none-MS",
    "focus-pop-account-D",
    "sample-pvm-product-detail",
    "focus-pvm-none-detail",
    "sample-movers-product-account-quarters",
    "sample-status-product-account-MS-frame",
    "focus-budget-account-W-frame",
}
_references: dict[str, pd.DataFrame] = {}


@pytest.mark.spark_only("case", SPARK_CASES)  # seconds a call on Spark
@pytest.mark.parametrize("case", list(CASES))
def test_golden_matrix_equals_pandas(case, engine):
    name, call = CASES[case]
    df, native = frames(name, engine)
    if case not in _references:
        _references[case] = call(df)  # pandas on the raw rows: the reference
    reference = _references[case]
    assert len(reference), case  # a case that compares nothing proves nothing
    got = reference if engine == "pandas" else call(native)  # pandas: the reference itself
    assert_same(got, reference, engine)


def test_the_matrix_holds_unknown_costs_and_counts_them():
    """The NA copies really give NA figures, ``unknown`` rows and missing-value counts."""
    sample, _ = frames("sample", "pandas")
    focus, _ = frames("focus", "pandas")
    pop = CASES["sample-pop-product-D"][1](sample)
    assert (pop["status"] == "unknown").sum() > 0 and pop["missing_value_rows"].sum() > 0
    items = CASES["sample-pvm-product-detail"][1](sample)
    assert (items["status"] == "unknown").any()
    movers = CASES["focus-movers-product-account"][1](focus)
    assert movers["change"].isna().any() and movers["missing_value_rows"].sum() > 0
    status = CASES["sample-status-product-account-MS-frame"][1](sample)
    assert status["budget"].isna().any() and status["budget"].notna().any()
    assert status["unknown_days"].sum() > 0


# ---------------------------------------------------------------------------------------------
# row counts are the input's (weights), checked against DuckDB SQL over the raw rows
# ---------------------------------------------------------------------------------------------


def _sql(df: pd.DataFrame, query: str) -> pd.DataFrame:
    raw = arrow(df)  # noqa: F841 (read by the SQL)
    return duckdb.sql(query).df()


def test_missing_value_rows_are_input_rows(engine):
    df, native = frames("sample", engine)
    want = _sql(
        df,
        """
        select x_product_family_name as product, count(*) as rows
        from raw
        where effective_cost is null
          and charge_period_start >= '2026-09-01' and charge_period_start < '2026-11-01'
        group by all
        """,
    )
    want = dict(zip(want["product"].fillna("(none)"), want["rows"], strict=True))
    assert sum(want.values()) > 100

    def counts(result: pd.DataFrame) -> dict:
        product = result["x_product_family_name"].fillna("(none)")
        total = result["missing_value_rows"].astype(int).groupby(product).sum()
        return total[total > 0].to_dict()

    movers = collect(top_movers(native, base=SEP, current=OCT, by="product", n=100))
    assert counts(movers) == want
    status = collect(budget_status(native, budget=1.0, by="product", as_of="2026-10-31"))
    assert counts(status[status["period"] >= pd.Timestamp(SEP, tz="UTC")]) == want


def test_the_warning_counts_input_rows(engine):
    df, native = frames("focus", engine)
    counts = _sql(df, "select count(*) - count(effective_cost) as na, count(*) as n from raw")
    na, n = int(counts["na"].iloc[0]), int(counts["n"].iloc[0])
    assert 0 < na < n == len(df)
    with pytest.warns(UserWarning, match=rf"top_movers: {na} of {n} rows have no effective_cost"):
        top_movers(native, base=MAY_A, current=MAY_B, by="product")


def test_a_frame_without_billing_currency(engine):
    df = typed(
        charge_period_start=["2026-01-01", "2026-01-20", "2026-02-28"],
        x_billable_metric_id=["requests"] * 3,
        pricing_quantity=[40.0, 60.0, 150.0],
        effective_cost=[12.0, 19.0, 42.0],
    )
    native = as_engine(df, engine)
    pvm = collect(price_volume_mix(native, base="2026-01", current="2026-02"))
    assert pvm["change"].tolist() == [11.0]  # the docstring's example: 31 -> 42
    assert pvm["price_effect"].tolist() == pytest.approx([-4.5])
    if engine != "spark":  # one Spark call is enough for the point
        assert_same(budget_status(native, budget=100.0), budget_status(df, budget=100.0), engine)


# ---------------------------------------------------------------------------------------------
# what an engine cannot take is refused by name
# ---------------------------------------------------------------------------------------------

_HELPERS: dict[str, Callable[..., Any]] = {
    "period_over_period": lambda d, **k: period_over_period(d, **k),
    "price_volume_mix": lambda d, **k: price_volume_mix(d, base=SEP, current=OCT, **k),
    "top_movers": lambda d, **k: top_movers(d, base=SEP, current=OCT, **k),
    "budget_variance": lambda d, **k: budget_variance(d, budget=1.0, **k),
    "budget_status": lambda d, **k: budget_status(d, budget=1.0, **k),
}


@pytest.mark.engines("polars", "duckdb", "spark")  # pandas' tag path: tests/test_variance.py
@pytest.mark.parametrize("helper", list(_HELPERS))
def test_tag_by_is_refused_on_an_engine(helper, engine):
    _, native = frames("sample", engine)
    with pytest.raises(ArgumentError, match=r"by='tag:team'.*only a pandas frame"):
        _HELPERS[helper](native, by=["product", "tag:team"])


@pytest.mark.parametrize("helper", list(_HELPERS))
def test_an_unknown_dimension_is_an_argument_error_as_on_pandas(helper):
    df = frames("focus", "pandas")[0].drop(columns="x_zone_name")
    for data in (df, as_engine(df, "duckdb")):
        with pytest.raises(ArgumentError, match="by='zone' is not a dimension of this frame"):
            _HELPERS[helper](data, by=["product", "zone"])


@pytest.mark.parametrize("helper", list(_HELPERS))
def test_a_duckdb_session_not_in_utc_is_refused_naming_the_zone(helper):
    df = typed(
        charge_period_start=["2026-09-01T23:30Z", "2026-10-02T00:30Z"],
        x_billable_metric_id=["requests"] * 2,
        x_billable_metric_name=["Requests"] * 2,
        billing_currency=["USD", "USD"],
        pricing_quantity=[1.0, 2.0],
        effective_cost=[1.0, 2.0],
    )
    con = duckdb.connect()
    con.execute("SET TimeZone = 'America/New_York'")
    with pytest.raises(ArgumentError, match=r"'America/New_York'.*SET TimeZone = 'UTC'"):
        _HELPERS[helper](con.from_arrow(arrow(df)))


@pytest.mark.parametrize("kind", ["polars", "duckdb"])
def test_data_errors_are_the_pandas_ones_on_an_engine(kind):
    two_units = typed(
        charge_period_start=["2026-09-03", "2026-10-03"],
        x_billable_metric_id=["egress", "egress"],
        pricing_unit=["GB", "TB"],
        billing_currency=["USD", "USD"],
        pricing_quantity=[1.0, 1.0],
        effective_cost=[1.0, 2.0],
    )
    with pytest.raises(DataError, match=r"egress.*\['GB', 'TB'\].*pricing_unit"):
        price_volume_mix(as_engine(two_units, kind), base=SEP, current=OCT)
    two_currencies = two_units.assign(
        billing_currency=pd.Categorical(["USD", "EUR"]), pricing_unit="GB"
    )
    with pytest.raises(CurrencyError, match=r"\['EUR', 'USD'\]"):
        budget_status(as_engine(two_currencies, kind), budget=10.0)
    per_currency = pd.DataFrame({"billing_currency": ["USD", "EUR"], "budget": [10.0, 20.0]})
    assert_same(
        budget_status(as_engine(two_currencies, kind), budget=per_currency),
        budget_status(two_currencies, budget=per_currency),
        kind,
    )


def test_periods_that_are_not_whole_days_are_refused_on_an_engine():
    df = typed(charge_period_start=["2026-09-01", "2026-09-02"], effective_cost=[1.0, 2.0])
    hours = pd.Period("2026-09-01 10:00", freq="h")
    with pytest.raises(ArgumentError, match="UTC midnight"):
        top_movers(as_engine(df, "duckdb"), base=hours, current=hours + 1, by=None)


# ---------------------------------------------------------------------------------------------
# the trust issue's properties, on engine inputs
# ---------------------------------------------------------------------------------------------

_FEW = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # no shrinking on shared CPUs
)


def _examples(engine: str, spark: int, others: int) -> int:
    return spark if engine == "spark" else others


def _batch(examples: list[list[tuple]]) -> pd.DataFrame:
    """Several drawn frames as one: example ``i`` in its own currency ``C<i>``.

    Costs in different currencies are never added (every helper keys on ``billing_currency``,
    price_volume_mix's whole is a currency), and every example holds the same anchors, so the
    frame's span is each example's: each currency's rows of a result are that example's result.
    This keeps the engine calls per drawn batch at six, whatever the batch holds (Spark jobs are
    the slow part).
    """
    parts = [
        frame([*ANCHORS, *rows]).assign(billing_currency=f"C{i}") for i, rows in enumerate(examples)
    ]
    out = pd.concat(parts, ignore_index=True)
    # categories again (concat leaves text that Arrow holds in several chunks, which Spark's
    # Arrow path cannot take: tests/engines.py hands Spark the chunks as they are)
    names = ["billing_currency", "x_product_family_name", "x_billable_metric_id"]
    return out.astype(dict.fromkeys(names, "category"))


@pytest.mark.engines("polars", "duckdb", "spark")  # pandas: tests/test_unknown_stays_unknown.py
def test_an_unknown_cost_never_gives_a_figure_on_engines(engine):
    """tests/test_unknown_stays_unknown.py's property, on the engine's results."""

    @settings(_FEW, max_examples=_examples(engine, spark=2, others=4))
    @given(st.lists(st.lists(_row, min_size=1, max_size=25), min_size=1, max_size=8))
    def check(examples):
        df = _batch(examples)
        native = as_engine(df, engine)
        two = {"base": "2026-01", "current": "2026-02", "by": "product"}
        budget = pd.DataFrame({"billing_currency": df["billing_currency"].cat.categories})
        budget = budget.assign(budget=1000.0)

        def run(helper, **kwargs):
            """The engine's result, equal to pandas', as a plain frame."""
            got = quiet(helper, native, **kwargs)
            assert_same(got, quiet(helper, df, **kwargs), engine)
            return collect(got)

        results = {
            "pop": run(period_over_period, by="product"),
            "movers": run(top_movers, n=1000, **two),
            "detail": run(price_volume_mix, detail=True, **two),
            "summary": run(price_volume_mix, **two),
            "days": run(budget_variance, budget=budget, by="product"),
            "status": run(budget_status, budget=budget, by="product"),
        }
        for i, rows in enumerate(examples):
            one = {k: r[r["billing_currency"] == f"C{i}"] for k, r in results.items()}
            _check_example(rows, **one)

    check()


def _check_example(rows, pop, movers, detail, summary, days, status) -> None:
    """The invariants of test_all_na_inputs_never_give_a_figure, on one example's results."""
    cells = _naive(rows)
    products = sorted({r[1] for r in rows})
    for r in pop[pop["x_product_family_name"] != "Z"].to_dict("records"):
        r = pd.Series(r)
        if r["period"].month == 2:
            p = r["x_product_family_name"]
            _check_pair(r, cells, ("m", p, 1), ("m", p, 2))
    n_na = sum(1 for r in rows if r[4] is None)
    n_na_jan = sum(1 for r in rows if r[4] is None and r[0] < FEB1)
    assert pop["missing_value_rows"].sum() == n_na + n_na_jan

    movers = movers.set_index("x_product_family_name")
    for p in products:
        _check_pair(movers.loc[p], cells, ("m", p, 1), ("m", p, 2))
    assert movers["missing_value_rows"].sum() == n_na

    summary = summary.set_index("x_product_family_name")
    for p in products:
        items = detail[detail["x_product_family_name"] == p].set_index("x_billable_metric_id")
        known = []
        for item, it in items.iterrows():
            if _unknown(cells, ("i", p, item, 1)) or _unknown(cells, ("i", p, item, 2)):
                assert it["status"] == "unknown"
                assert all(pd.isna(it[c]) for c in ["change", *EFFECTS])
            else:
                assert it["status"] != "unknown"
                known.append(item)
        s = summary.loc[p]
        assert s["unknown_items"] == len(items) - len(known)
        if not known:
            assert all(pd.isna(s[c]) for c in ["previous", "current", "change", *EFFECTS])
        else:
            prev = sum(_known_sum(cells, ("i", p, i, 1)) for i in known)
            assert s["previous"] == pytest.approx(prev, abs=1e-6)
            scale = 1.0 + abs(s["previous"]) + abs(s["current"])
            assert abs(s[EFFECTS].sum() - s["change"]) <= 1e-9 * scale

    for p in products:
        for day_row in days[days["x_product_family_name"] == p].itertuples(index=False):
            day = int((day_row.date - JAN1) / pd.Timedelta(days=1))
            if _unknown(cells, ("d", p, day)):
                assert pd.isna(day_row.actual), (p, day)
            else:
                assert day_row.actual == pytest.approx(_known_sum(cells, ("d", p, day)))
    # conservation: every NA row is counted once, on its day and in its budget line
    assert days["missing_value_rows"].sum() == n_na
    assert status["missing_value_rows"].sum() == n_na


# tests/test_like_for_like.py's hand-worked cases, with its own helpers (daily, row): each is
# (frame, arguments, period, expected figures)
_LIKE_FOR_LIKE = {
    "a-complete-june-against-all-of-may": (
        lambda: daily("2026-01-01", "2026-06-30", lambda d: 1.0 if d.month <= 5 else 2.0),
        {"as_of": "2026-06-30"},
        "2026-06-01",
        {"previous": 31.0, "current": 60.0, "basis": "full periods", "days": 30},
    ),
    "b-partial-march-against-a-shorter-february": (
        lambda: daily("2026-02-01", "2026-03-29", lambda d: 10.0 if d.month == 2 else 10.32),
        {},
        "2026-03-01",
        {"previous": 290.0, "current": 299.28, "basis": "daily average", "days": 29},
    ),
    "b-same-days-of-the-previous-month": (
        lambda: daily("2026-05-01", "2026-06-20", lambda d: float(d.day) if d.month == 5 else 1.0),
        {},
        "2026-06-01",
        {"previous": 210.0, "current": 20.0, "basis": "same days", "previous_days": 20},
    ),
    "c-a-frame-that-starts-mid-month": (
        lambda: daily("2026-01-16", "2026-02-28", lambda d: 10.0 if d.month == 1 else 9.6),
        {},
        "2026-02-01",
        {"previous": 280.0, "current": 268.8, "basis": "daily average", "previous_days": 16},
    ),
    "c-a-week-with-three-days-at-the-start": (
        lambda: daily("2026-03-06", "2026-03-15", lambda d: 7.0 if d.day <= 8 else 6.0),
        {"freq": "W"},
        "2026-03-09",
        {"previous": 49.0, "current": 42.0, "basis": "daily average", "previous_days": 3},
    ),
    "d-as_of-after-the-data-is-no-usage": (
        lambda: daily("2026-05-01", "2026-06-10", lambda d: 1.0),
        {"as_of": "2026-06-30"},
        "2026-06-01",
        {"previous": 31.0, "current": 10.0, "basis": "full periods", "partial": False},
    ),
}


_LIKE_FOR_LIKE_SPARK = {
    "a-complete-june-against-all-of-may",
    "c-a-week-with-three-days-at-the-start",
}


@pytest.mark.spark_only("case", _LIKE_FOR_LIKE_SPARK)  # the property below runs on Spark too
@pytest.mark.parametrize("case", list(_LIKE_FOR_LIKE))
def test_like_for_like_on_engines(case, engine):
    make, kwargs, period, expected = _LIKE_FOR_LIKE[case]
    df = make()
    got = period_over_period(as_engine(df, engine), **kwargs)
    assert_same(got, period_over_period(df, **kwargs), engine)
    r = row(collect(got), period)
    for column, value in expected.items():
        if isinstance(value, str | bool):
            assert r[column] == value, (case, column)
        else:
            assert r[column] == pytest.approx(value), (case, column)


@pytest.mark.engines("polars", "duckdb", "spark")  # pandas is the reference
def test_like_for_like_property_on_engines(engine):
    """Any daily frame: on every engine, the figures are pandas', and a complete period is
    compared with the whole previous period (its cost by hand)."""

    @settings(_FEW, max_examples=_examples(engine, spark=3, others=10))
    @given(
        first=st.integers(0, 40),
        length=st.integers(20, 120),
        freq=st.sampled_from(["MS", "W", "D"]),
        known=st.floats(0.0, 1e3),
        costs=st.lists(st.one_of(st.none(), st.floats(0.0, 1e3)), max_size=6),
    )
    def check(first, length, freq, known, costs):
        costs = [known, *costs]  # 20 days or more: every cost is drawn, one at least known
        start = pd.Timestamp("2026-01-01") + pd.Timedelta(days=first)
        end = start + pd.Timedelta(days=length)
        df = daily(str(start.date()), str(end.date()), lambda d: costs[d.day % len(costs)])
        got = quiet(period_over_period, as_engine(df, engine), freq=freq)
        assert_same(got, quiet(period_over_period, df, freq=freq), engine)
        r = collect(got)
        full = r[r["basis"] == "full periods"]
        for p in full.to_dict("records"):
            prev_start = r["period"][r["period"] < p["period"]].max()
            span = df[(df[DAY] >= prev_start) & (df[DAY] < p["period"])][COST]
            if span.notna().any():
                assert p["previous"] == pytest.approx(float(span.sum()), abs=1e-9)
            else:
                assert pd.isna(p["previous"])

    check()
