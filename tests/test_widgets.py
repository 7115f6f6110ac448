"""Tests for cfusage.widgets: drive the explorer's controls and check what it computes and shows.

Every expected value is computed independently with plain pandas on the raw rows (filter, floor the
day with ``dt.to_period``/weekday arithmetic, groupby-sum), never with the explorer's own code.
"""

from __future__ import annotations

import base64
import datetime as dt
from unittest import mock

import matplotlib
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

matplotlib.use("Agg")

import cfusage.viz._widgets as widgets_mod
from cfusage.errors import DataError, MissingColumnsError
from cfusage.viz._widgets import Explorer, explore
from tests.frames import typed

PRODUCT_OF = {"Workers Requests": "Workers", "Workers CPU": "Workers", "R2 Storage": "R2"}
UNIT_OF = {"Workers Requests": "Requests", "Workers CPU": "CPU ms", "R2 Storage": "GB-months"}


def make_frame(n: int = 240, seed: int = 1, currencies: tuple[str, ...] = ("USD",)) -> pd.DataFrame:
    """Random but reproducible usage rows over 2026-01-20 .. 2026-03-05 (weeks and months cross)."""
    rng = np.random.default_rng(seed)
    days = pd.date_range("2026-01-20", "2026-03-05", freq="D", tz="UTC")
    metrics = np.array(list(PRODUCT_OF))
    metric = metrics[rng.integers(0, len(metrics), n)]
    zones = np.array(["a.example", "b.example", None], dtype=object)
    cost = rng.uniform(0, 100, n).round(2)
    cost_na = rng.random(n) < 0.08
    start = days[rng.integers(0, len(days), n)]
    return typed(
        {
            "billing_account_name": rng.choice(["Acme", "Beta", "Gamma"], n),
            "charge_period_start": start,
            "charge_period_end": start + pd.Timedelta(days=1),
            "x_billable_metric_id": [m.lower().replace(" ", "_") for m in metric],
            "x_billable_metric_name": metric,
            "x_product_family_name": [PRODUCT_OF[m] for m in metric],
            "x_zone_name": zones[rng.integers(0, 3, n)],
            "consumed_quantity": rng.uniform(0, 1000, n).round(1),
            "consumed_unit": [UNIT_OF[m] for m in metric],
            "list_cost": cost * 1.25,
            "effective_cost": pd.array(np.where(cost_na, np.nan, cost), dtype="Float64"),
            "billing_currency": rng.choice(list(currencies), n),
        }
    )


def floor_naive(ts: pd.Series, grain: str) -> pd.Series:
    """Period start of each timestamp, computed without cfusage (UTC, weeks start on Monday)."""
    naive = ts.dt.tz_convert("UTC").dt.tz_localize(None)
    if grain == "day":
        out = naive.dt.normalize()
    elif grain == "week":
        out = naive.dt.normalize() - pd.to_timedelta(naive.dt.day_of_week, unit="D")
    else:
        out = naive.dt.to_period("M").dt.start_time
    return out.dt.tz_localize("UTC").astype("datetime64[us, UTC]")


def naive_selection(
    df: pd.DataFrame,
    start: dt.date,
    end: dt.date,
    *,
    accounts=(),
    products=(),
    metrics=(),
    zones=(),
) -> pd.DataFrame:
    day = df["charge_period_start"].dt.date
    keep = (day >= start) & (day <= end)
    for col, chosen in (
        ("billing_account_name", accounts),
        ("x_product_family_name", products),
        ("x_billable_metric_name", metrics),
        ("x_zone_name", zones),
    ):
        if chosen:
            values = df[col].astype(object).where(df[col].notna(), "(no zone)")
            keep &= values.isin(list(chosen))
    return df[keep]


def naive_pivot(
    sel: pd.DataFrame, grain: str, by_col: str, value: str, like: pd.DataFrame
) -> pd.DataFrame:
    """Sum of present values per period x group, shaped like ``like``.

    NA where a cell has rows but none has a value; 0 where a cell has no rows at all.
    """
    period = floor_naive(sel["charge_period_start"], grain)
    keys = [period.rename("period"), sel[by_col].astype(str).rename("group")]
    sums = sel[value].astype("Float64").groupby(keys).sum(min_count=1).unstack("group")
    rows = sel.groupby(keys).size().unstack("group")
    shape = {"index": like.index, "columns": list(like.columns)}
    sums, rows = sums.reindex(**shape), rows.reindex(**shape)
    return sums.mask(rows.isna(), 0.0).astype("Float64")


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return make_frame()


@pytest.fixture
def explorer(frame: pd.DataFrame, tmp_path) -> Explorer:
    return explore(frame, export_dir=tmp_path, top=10)


def test_explore_returns_a_vbox_exposing_its_controls(explorer: Explorer) -> None:
    import ipywidgets

    assert isinstance(explorer, ipywidgets.VBox)
    assert explorer.dates.value == (dt.date(2026, 1, 20), dt.date(2026, 3, 5))
    assert explorer.grain.value == "week"  # the default grain: weeks (issue 13)
    assert explorer.value.value == "effective_cost"
    assert explorer.by.value == "product"
    assert set(explorer.products.options) == {"R2", "Workers"}
    assert set(explorer.zones.options) == {"a.example", "b.example", "(no zone)"}
    # only columns holding values are offered; contracted/billed cost are absent from this frame
    assert [v for _, v in explorer.value.options] == [
        "list_cost",
        "effective_cost",
        "consumed_quantity",
    ]


@pytest.mark.parametrize("grain", ["day", "week", "month"])
def test_chart_data_matches_naive_groupby(explorer: Explorer, frame: pd.DataFrame, grain) -> None:
    explorer.grain.value = grain
    got = explorer.chart_data()
    expected = naive_pivot(frame, grain, "x_product_family_name", "effective_cost", got)
    assert got.index.name == "period"
    # every period of the range is a row, even one without usage
    assert got.index[0] == floor_naive(frame["charge_period_start"], grain).min()
    assert got.index[-1] == floor_naive(frame["charge_period_start"], grain).max()
    assert got.index.is_monotonic_increasing and got.index.is_unique
    pd.testing.assert_frame_equal(got, expected, check_names=False, check_column_type=False)
    totals = frame.groupby(frame["x_product_family_name"].astype(str))["effective_cost"].sum()
    assert list(got.columns) == list(totals.sort_values(ascending=False).index)


def test_chart_data_week_starts_on_monday(explorer: Explorer) -> None:
    explorer.grain.value = "week"
    index = explorer.chart_data().index
    assert (index.day_of_week == 0).all()
    assert index[0] == pd.Timestamp("2026-01-19", tz="UTC")  # the Monday before 2026-01-20


def test_filters_and_dates_restrict_table_and_chart(explorer: Explorer, frame) -> None:
    with explorer.hold():
        explorer.dates.value = (dt.date(2026, 2, 1), dt.date(2026, 2, 28))
        explorer.accounts.value = ("Acme", "Gamma")
        explorer.zones.value = ("(no zone)",)
        explorer.by.value = "metric"
        explorer.grain.value = "month"
    sel = naive_selection(
        frame,
        dt.date(2026, 2, 1),
        dt.date(2026, 2, 28),
        accounts=("Acme", "Gamma"),
        zones=("(no zone)",),
    )
    assert len(sel) > 10
    table = explorer.table().set_index("metric")
    expected = sel.groupby(sel["x_billable_metric_name"].astype(str))["effective_cost"].sum()
    assert table["effective_cost"].to_dict() == pytest.approx(expected.to_dict())
    assert (
        table["records"].to_dict()
        == sel["x_billable_metric_name"].astype(str).value_counts().to_dict()
    )
    chart = explorer.chart_data()
    assert list(chart.index) == [pd.Timestamp("2026-02-01", tz="UTC")]
    assert chart.iloc[0].to_dict() == pytest.approx(expected.to_dict())
    assert table["share"].sum() == pytest.approx(1.0)


def test_selection_returns_the_raw_rows_of_the_selection(explorer: Explorer, frame) -> None:
    explorer.products.value = ("R2",)
    explorer.dates.value = (dt.date(2026, 1, 25), dt.date(2026, 2, 10))
    got = explorer.selection()
    expected = naive_selection(frame, dt.date(2026, 1, 25), dt.date(2026, 2, 10), products=("R2",))
    pd.testing.assert_frame_equal(got, expected)
    assert list(got.dtypes) == list(frame.dtypes)


def test_missing_costs_are_counted_never_added_as_zero(tmp_path) -> None:
    df = typed(
        {
            "charge_period_start": pd.to_datetime(
                ["2026-03-01", "2026-03-01", "2026-03-02", "2026-03-02"], utc=True
            ),
            "x_product_family_name": ["Workers", "Workers", "R2", "R2"],
            "billing_currency": ["USD"] * 4,
            "effective_cost": pd.array([1.0, None, None, None], dtype="Float64"),
        }
    )
    ex = explore(df, freq="D")
    table = ex.table().set_index("product")
    assert table.loc["Workers", "effective_cost"] == 1.0
    assert table.loc["Workers", "records_without_value"] == 1
    assert pd.isna(table.loc["R2", "effective_cost"])  # no value at all: NA, not 0
    assert table.loc["R2", "records_without_value"] == 2
    chart = ex.chart_data()
    assert chart.loc[pd.Timestamp("2026-03-01", tz="UTC"), "Workers"] == 1.0
    assert pd.isna(chart.loc[pd.Timestamp("2026-03-02", tz="UTC"), "R2"])
    # a day without any R2 record is 0 (no usage), not NA
    assert chart.loc[pd.Timestamp("2026-03-01", tz="UTC"), "R2"] == 0.0
    assert "3 of 4 records have no effective_cost" in ex.summary.value


def test_top_folds_the_smallest_series_into_other(frame: pd.DataFrame) -> None:
    ex = explore(frame, top=2, by="account")  # three accounts: two kept, one folded
    totals = frame.groupby(frame["billing_account_name"].astype(str))["effective_cost"].sum()
    ranked = totals.sort_values(ascending=False)
    # top + 1 series are all shown: folding one series into "Other" would hide its name
    assert list(ex.chart_data().columns) == list(ranked.index)
    ex = explore(frame, top=1, by="account")
    chart = ex.chart_data()
    assert list(chart.columns) == [ranked.index[0], "Other"]
    assert chart["Other"].sum() == pytest.approx(ranked.iloc[1:].sum())
    assert np.nansum(chart.to_numpy("float64", na_value=np.nan)) == pytest.approx(totals.sum())


def test_currencies_are_never_added_together() -> None:
    df = make_frame(currencies=("USD", "EUR"))
    ex = explore(df, top=10)
    table = ex.table()
    expected = df.groupby(
        [df["x_product_family_name"].astype(str), df["billing_currency"].astype(str)]
    )["effective_cost"].sum()
    got = table.set_index(["product", "billing_currency"])["effective_cost"]
    assert got.to_dict() == pytest.approx(expected.to_dict())
    # share is within each currency
    assert table.groupby("billing_currency")["share"].sum().to_dict() == pytest.approx(
        {"EUR": 1.0, "USD": 1.0}
    )
    assert set(ex.chart_data().columns) == {f"{p} ({c})" for p, c in expected.index}
    total_text = ex.summary.value.split("cfusage-total-value'>")[1].split("<")[0]
    assert "€" in total_text and "$" in total_text


def test_consumed_quantity_is_split_by_unit(explorer: Explorer, frame) -> None:
    explorer.value.value = "consumed_quantity"
    table = explorer.table()
    assert "consumed_unit" in table.columns and "billing_currency" not in table.columns
    expected = frame.groupby(
        [frame["x_product_family_name"].astype(str), frame["consumed_unit"].astype(str)]
    )["consumed_quantity"].sum()
    got = table.set_index(["product", "consumed_unit"])["consumed_quantity"]
    assert got.to_dict() == pytest.approx(expected.to_dict())
    assert "Workers (CPU ms)" in explorer.chart_data().columns


def test_several_units_are_drawn_apart_and_never_folded_into_other(frame) -> None:
    ex = explore(frame, value="consumed_quantity", by="metric", top=1)
    table = ex.table()
    assert len(table) == 3  # three metrics, three units
    chart = ex.chart_data()
    # only the largest series: an "Other" would add Requests to GB-months
    top = table.iloc[0]
    assert list(chart.columns) == [f"{top['metric']} ({top['consumed_unit']})"]
    assert chart.iloc[:, 0].sum() == pytest.approx(top["consumed_quantity"])


def test_group_by_nothing_gives_one_total_series(explorer: Explorer, frame) -> None:
    explorer.by.value = None
    explorer.grain.value = "month"
    chart = explorer.chart_data()
    assert list(chart.columns) == ["Total"]
    expected = frame.groupby(floor_naive(frame["charge_period_start"], "month"))[
        "effective_cost"
    ].sum()
    assert chart["Total"].to_dict() == pytest.approx(expected.to_dict())
    assert "product" not in explorer.table().columns


def test_export_button_writes_the_selection_to_csv(explorer: Explorer, frame, tmp_path) -> None:
    explorer.products.value = ("Workers",)
    explorer.dates.value = (dt.date(2026, 2, 2), dt.date(2026, 2, 20))
    explorer.export_button.click()
    path = explorer.last_export
    assert path is not None and path.parent == tmp_path and path.suffix == ".csv"
    assert str(path) in explorer.export_status.value
    written = pd.read_csv(path)
    expected = naive_selection(
        frame, dt.date(2026, 2, 2), dt.date(2026, 2, 20), products=("Workers",)
    )
    assert len(written) == len(expected)
    assert list(written.columns) == list(frame.columns)
    assert set(written["x_product_family_name"]) == {"Workers"}
    assert written["effective_cost"].isna().sum() == expected["effective_cost"].isna().sum()
    assert written["effective_cost"].sum() == pytest.approx(expected["effective_cost"].sum())
    assert written["charge_period_start"].iloc[0].endswith("T00:00:00Z")


def test_export_round_trips_through_to_frame(explorer: Explorer, tmp_path) -> None:
    frame_mod = pytest.importorskip("cfusage.io._frame")
    explorer.products.value = ("R2",)
    path = explorer.export(tmp_path / "r2.csv")
    back = frame_mod.to_frame(path)
    sel = explorer.selection()
    for col in sel.columns:
        pd.testing.assert_series_equal(
            back[col].reset_index(drop=True),
            sel[col].reset_index(drop=True),
            check_categorical=False,
        )


def test_explorer_never_mutates_the_callers_frame(frame: pd.DataFrame, tmp_path) -> None:
    before = frame.copy(deep=True)
    ex = explore(frame, export_dir=tmp_path)
    ex.products.value = ("R2",)
    ex.value.value = "consumed_quantity"
    ex.export()
    pd.testing.assert_frame_equal(frame, before)


def test_each_change_redraws_the_chart_once(explorer: Explorer, monkeypatch) -> None:
    calls = []
    original = Explorer._draw
    monkeypatch.setattr(Explorer, "_draw", lambda self, *a: calls.append(1) or original(self, *a))
    before = explorer.chart.outputs
    explorer.products.value = ("R2",)
    assert len(calls) == 1
    after = explorer.chart.outputs
    assert after != before
    png = base64.b64decode(after[0]["data"]["image/png"])
    assert png.startswith(b"\x89PNG")
    with explorer.hold():
        explorer.grain.value = "week"
        explorer.by.value = "account"
        explorer.zones.value = ("a.example",)
    assert len(calls) == 2  # three changes, one redraw


def test_summary_shows_the_total_of_the_selection(explorer: Explorer, frame) -> None:
    def shown_total() -> str:
        return explorer.summary.value.split("cfusage-total-value'>")[1].split("<")[0]

    total = frame["effective_cost"].sum()
    assert shown_total() == f"${total:,.2f}"
    explorer.products.value = ("R2",)
    r2 = frame.loc[frame["x_product_family_name"] == "R2", "effective_cost"].sum()
    assert shown_total() == f"${r2:,.2f}"
    explorer.clear_button.click()
    assert explorer.products.value == ()
    assert shown_total() == f"${total:,.2f}"


def test_empty_selection_shows_no_usage(explorer: Explorer) -> None:
    explorer.dates.value = (dt.date(2026, 1, 20), dt.date(2026, 1, 20))
    explorer.metrics.value = ("R2 Storage",)
    explorer.products.value = ("Workers",)
    assert explorer.table().empty
    assert explorer.chart_data().shape[1] == 0
    assert "no usage" in explorer.summary.value


def test_incomplete_days_are_flagged(frame: pd.DataFrame) -> None:
    df = frame.copy()
    df.attrs["cfusage"] = {"complete_through": dt.date(2026, 3, 1)}
    ex = explore(df)
    assert "complete through 2026-03-01" in ex.summary.value
    ex.dates.value = (dt.date(2026, 1, 20), dt.date(2026, 3, 1))
    assert "complete through" not in ex.summary.value


@pytest.mark.parametrize(
    ("change", "error", "named"),
    [
        (lambda df: df.drop(columns="charge_period_start"), MissingColumnsError, "charge_period"),
        (
            lambda df: df.drop(columns=["effective_cost", "list_cost", "consumed_quantity"]),
            MissingColumnsError,
            "effective_cost",
        ),
        (lambda df: df.iloc[:0], DataError, "empty"),
        (
            lambda df: df.assign(
                charge_period_start=df["charge_period_start"].where(df.index != 3)
            ),
            DataError,
            "rows [3]",
        ),
        (
            lambda df: df.assign(charge_period_start=df["charge_period_start"].astype(str)),
            DataError,
            "charge_period_start must hold UTC datetimes",
        ),
        (
            lambda df: df.assign(effective_cost=df["effective_cost"].astype(str)),
            DataError,
            "effective_cost must be numeric",
        ),
    ],
    ids=["no-charge-period", "no-values", "empty", "missing-day", "text-days", "text-cost"],
)
def test_unusable_frames_raise_typed_errors(frame: pd.DataFrame, change, error, named) -> None:
    with pytest.raises(error) as info:
        explore(change(frame))
    assert named in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"by": "colour"}, "colour"),
        ({"value": "tax"}, "tax"),
        ({"freq": "hour"}, "hour"),
        ({"top": 0}, "top"),
    ],
)
def test_bad_arguments_name_the_value(frame: pd.DataFrame, kwargs, word) -> None:
    with pytest.raises(ValueError, match=word):
        explore(frame, **kwargs)


@pytest.fixture(scope="module")
def shared_explorer(frame: pd.DataFrame) -> Explorer:
    return explore(frame, top=1)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    lo=st.integers(0, 45),
    span=st.integers(0, 45),
    accounts=st.sets(st.sampled_from(["Acme", "Beta", "Gamma"])),
    zones=st.sets(st.sampled_from(["a.example", "b.example", "(no zone)"])),
    grain=st.sampled_from(["day", "week", "month"]),
    by=st.sampled_from(["product", "account", "metric", "zone", None]),
)
def test_chart_table_and_selection_agree_on_the_total(
    shared_explorer: Explorer, frame, lo, span, accounts, zones, grain, by
) -> None:
    ex = shared_explorer
    days = ex.dates.options
    lo = min(lo, len(days) - 1)
    hi = min(lo + span, len(days) - 1)
    # this checks the numbers, not the picture: skip the redraw
    with mock.patch.object(Explorer, "_draw"), ex.hold():
        ex.dates.index = (lo, hi)
        ex.accounts.value = tuple(sorted(accounts))
        ex.zones.value = tuple(sorted(zones))
        ex.grain.value = grain
        ex.by.value = by
    sel = naive_selection(frame, days[lo][1], days[hi][1], accounts=accounts, zones=zones)
    expected = float(sel["effective_cost"].sum())
    chart_total = float(np.nansum(ex.chart_data().to_numpy(dtype="float64", na_value=np.nan)))
    table_total = float(ex.table()["effective_cost"].sum())
    assert chart_total == pytest.approx(expected, abs=1e-6)
    assert table_total == pytest.approx(expected, abs=1e-6)
    assert int(ex.table()["records"].sum()) == len(sel)
    assert len(ex.selection()) == len(sel)


def test_sample_month_by_account_matches_pandas() -> None:
    sample = pytest.importorskip("cfusage.sample")
    df = sample.load()
    ex = explore(df, by="account", freq="month", top=10)
    ex.products.value = ("R2",)
    r2 = df[df["x_product_family_name"] == "R2"]
    got = ex.chart_data()
    expected = naive_pivot(r2, "month", "billing_account_name", "effective_cost", got)
    pd.testing.assert_frame_equal(got, expected, check_names=False, check_column_type=False)
    assert widgets_mod.GRAINS["month"] == "MS"


# ------------------------------------------------------------------------------------------------
# hostile names: spreadsheets and mathtext


HOSTILE = [
    '=HYPERLINK("http://evil.example","click")',
    "=cmd|' /C calc'!A0",
    "+1+2",
    "-2+3",
    "@SUM(A1:A2)",
    "\tTAB",
    "\rCR",
]


def test_export_neutralises_formula_cells_and_keeps_numbers(tmp_path) -> None:
    import csv

    n = len(HOSTILE) + 1
    df = typed(
        {
            "charge_period_start": pd.to_datetime(["2026-03-01"] * n, utc=True),
            "billing_account_name": [*HOSTILE, "Acme"],
            "x_product_family_name": ["Workers"] * n,
            "billing_currency": ["USD"] * n,
            "effective_cost": pd.array([-1.5] * (n - 1) + [2.0], dtype="Float64"),
        }
    )
    path = explore(df).export(tmp_path / "x.csv")
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    # the OWASP rule, written out by hand: a leading = + - @ tab or CR gets a single quote
    assert [r["billing_account_name"] for r in rows] == [*("'" + h for h in HOSTILE), "Acme"]
    assert [r["effective_cost"] for r in rows] == ["-1.5"] * (n - 1) + ["2.0"]
    assert rows[0]["charge_period_start"] == "2026-03-01T00:00:00Z"
    assert df["billing_account_name"].astype(str).tolist()[0] == HOSTILE[0]  # caller's frame kept


@pytest.mark.parametrize("name", ["$\\frac{1}{0$", "a$^{$b", "Plan $5 and $10"])
def test_names_with_dollars_are_drawn_literally(name: str) -> None:
    from matplotlib.text import Text

    df = typed(
        {
            "charge_period_start": pd.to_datetime(["2026-03-01", "2026-03-02"], utc=True),
            "x_product_family_name": [name, "R2"],
            "billing_currency": ["USD"] * 2,
            "effective_cost": pd.array([1.5, 2.0], dtype="Float64"),
        }
    )
    ex = explore(df, freq="D")
    fig = ex.figure
    assert fig is not None and ex.chart.outputs  # the PNG was rendered (no mathtext error)
    shown = [t._preprocess_math(t.get_text()) for t in fig.findobj(Text) if t.get_text()]
    assert (name, False) in shown  # drawn as written, not as mathematics
    assert all(not math for _text, math in shown)
