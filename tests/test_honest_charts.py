"""Charts and tables that do not mislead (issue 13 §1): what is drawn, checked on the artists.

Partial periods are lighter and hatched with their day count, money that is no saving is not
drawn as one, no stray axis offset label, legends off the data, and no negative zero or
scientific notation reaches a reader. Expected values are worked out by hand on small frames.
"""

from __future__ import annotations

import datetime as dt

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from cfusage.analysis import anomalies
from cfusage.viz import _style, plots
from tests.frames import typed


def new_ax():
    return Figure(figsize=(8, 4)).add_subplot()


def daily(first: str, last: str, cost: float = 10.0, **extra) -> pd.DataFrame:
    days = pd.date_range(first, last, freq="D")
    n = len(days)
    return typed(
        charge_period_start=list(days),
        x_product_family_name=["Workers"] * n,
        effective_cost=[cost] * n,
        billed_cost=[cost] * n,
        billing_currency=["USD"] * n,
        **extra,
    )


def notes(ax, gid: str = "partial-note") -> list[str]:
    return [t.get_text() for t in ax.texts if t.get_gid() == gid]


# --------------------------------------------------------------------------------------------
# The rule
# --------------------------------------------------------------------------------------------


def test_partial_periods_by_hand() -> None:
    # data Wed 4 March .. Tue 17 March 2026: weeks start on Mondays 2, 9 and 16 March
    weeks = pd.to_datetime(["2026-03-02", "2026-03-09", "2026-03-16"], utc=True)
    p = _style.partial_periods(
        weeks, "W", first_day=dt.date(2026, 3, 4), last_day=dt.date(2026, 3, 17)
    )
    assert p["days"].tolist() == [7, 7, 7]
    assert p["covered"].tolist() == [5, 7, 2]  # Wed..Sun; all; Mon..Tue
    assert p["partial"].tolist() == [True, False, True]
    assert p["note"].tolist() == ["5 of 7 days", "", "2 of 7 days"]
    months = pd.to_datetime(["2026-02-01", "2026-03-01"], utc=True)
    p = _style.partial_periods(
        months, "MS", first_day=dt.date(2026, 2, 1), last_day=dt.date(2026, 3, 29)
    )
    assert p[["days", "covered", "partial"]].values.tolist() == [[28, 28, False], [31, 29, True]]
    # a day after the complete-through day: no day of it is complete
    p = _style.partial_periods(
        pd.to_datetime(["2026-03-30"]),
        "D",
        first_day=dt.date(2026, 3, 1),
        last_day=dt.date(2026, 3, 29),
    )
    assert p["note"].tolist() == ["incomplete"]


def test_covered_days_stop_at_complete_through() -> None:
    frame = daily("2026-03-01", "2026-03-31")
    assert _style.covered_days(frame) == (dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    frame.attrs = {"cfusage": {"complete_through": dt.date(2026, 3, 29)}}
    assert _style.covered_days(frame) == (dt.date(2026, 3, 1), dt.date(2026, 3, 29))


# --------------------------------------------------------------------------------------------
# cost and amortized_vs_billed mark partial periods
# --------------------------------------------------------------------------------------------


def test_cost_draws_the_partial_first_and_last_weeks_hatched_with_their_day_count() -> None:
    ax = plots.cost(daily("2026-03-04", "2026-03-17"), freq="W", ax=new_ax())
    partial = [c for c in ax.collections if (c.get_gid() or "").startswith("partial:")]
    whole = [c for c in ax.collections if (c.get_gid() or "").startswith("series:")]
    assert len(partial) == 1 and len(partial[0].get_paths()) == 2  # the first and last weeks
    assert partial[0].get_hatch() == _style.PARTIAL_HATCH
    assert partial[0].get_alpha() == pytest.approx(_style.PARTIAL_ALPHA)
    assert len(whole) == 1 and len(whole[0].get_paths()) == 1  # the week of 9 March
    assert not whole[0].get_hatch() and whole[0].get_alpha() in (None, 1.0)
    heights = sorted(float(p.vertices[1, 1] - p.vertices[0, 1]) for p in partial[0].get_paths())
    assert heights == [20.0, 50.0]  # 2 days and 5 days at $10
    assert notes(ax) == ["5 of 7 days", "2 of 7 days"]
    assert "partial periods" in notes(ax, "partial-legend")[0]
    # the legend names the series once (a partial bar is the same series)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Workers"]


def test_cost_marks_the_month_after_the_complete_through_day() -> None:
    frame = daily("2026-02-01", "2026-03-31")
    frame.attrs = {"cfusage": {"complete_through": dt.date(2026, 3, 29)}}
    ax = plots.cost(frame, freq="MS", ax=new_ax())
    assert notes(ax) == ["29 of 31 days"]
    assert [c.get_gid() for c in ax.collections] == ["series:Workers", "partial:Workers"]


def test_whole_periods_are_not_marked() -> None:
    ax = plots.cost(daily("2026-03-02", "2026-03-15"), freq="W", ax=new_ax())
    assert notes(ax) == [] and notes(ax, "partial-legend") == []
    assert all(not (c.get_gid() or "").startswith("partial:") for c in ax.collections)


def test_amortized_vs_billed_marks_a_partial_month() -> None:
    ax = plots.amortized_vs_billed(daily("2026-02-01", "2026-03-15"), ax=new_ax())
    march = [p for p in ax.patches if (p.get_gid() or "").endswith(":2026-03-01")]
    february = [p for p in ax.patches if (p.get_gid() or "").endswith(":2026-02-01")]
    assert len(march) == 2 and len(february) == 2
    assert all(p.get_hatch() == _style.PARTIAL_HATCH for p in march)
    assert all(p.get_alpha() == pytest.approx(_style.PARTIAL_ALPHA) for p in march)
    assert all(not p.get_hatch() for p in february)
    assert notes(ax) == ["15 of 31 days"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "Billed (invoice)",
        "Effective (amortized)",
    ]


# --------------------------------------------------------------------------------------------
# No stray offset label on date axes
# --------------------------------------------------------------------------------------------


def test_daily_chart_has_no_offset_label_at_the_right_end() -> None:
    # the report's size: ticks at the day level, where matplotlib adds the offset "2026-Nov"
    ax = plots.cost(daily("2026-09-01", "2026-11-23"), ax=Figure(figsize=(11, 3.7)).add_subplot())
    ax.figure.draw_without_rendering()
    assert ax.xaxis.get_offset_text().get_text() == ""  # before: "2026-Nov"
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels and not any("2026-" in t for t in labels)


# --------------------------------------------------------------------------------------------
# The waterfall: money that is no saving is not drawn as one
# --------------------------------------------------------------------------------------------


def test_prepaid_and_timing_is_drawn_neutral_and_named_in_the_legend() -> None:
    result = pd.DataFrame(
        {
            "list_cost": [100.0],
            "contracted_cost": [80.0],
            "effective_cost": [70.0],
            "billed_cost": [55.0],
        }
    )
    ax = plots.discount_waterfall(result, ax=new_ax())
    colour = {p.get_gid(): to_hex(p.get_facecolor()) for p in ax.patches if p.get_gid()}
    assert colour["bar:Prepaid &\ntiming"] == _style.NEUTRAL.lower()
    assert colour["bar:Prepaid &\ntiming"] != _style.NEGATIVE.lower()
    assert colour["bar:Negotiated\nsavings"] == _style.NEGATIVE.lower()
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "Saving" in legend
    assert any(t.startswith("Not a saving") and "prepaid" in t for t in legend)


# --------------------------------------------------------------------------------------------
# The anomaly legend does not cover the data
# --------------------------------------------------------------------------------------------


def test_anomaly_legend_covers_no_point_of_the_data() -> None:
    # the spike sits in the upper left, where the legend used to be drawn
    values = [90.0] + [10.0] * 20
    frame = pd.DataFrame(
        {
            "charge_period_start": pd.date_range("2026-03-01", periods=21, tz="UTC"),
            "effective_cost": pd.array([10.0] * 14 + [200.0] + [10.0] * 6, dtype="Float64"),
        }
    )
    del values
    ax = plots.anomaly_timeline(anomalies(frame), ax=Figure(figsize=(8, 3)).add_subplot())
    fig = ax.figure
    fig.draw_without_rendering()
    box = ax.get_legend().get_window_extent()
    for line in ax.lines:
        xy = ax.transData.transform(np.column_stack(line.get_data(orig=False)).astype(float))
        xy = xy[np.isfinite(xy).all(axis=1)]
        inside = (
            (xy[:, 0] >= box.x0)
            & (xy[:, 0] <= box.x1)
            & (xy[:, 1] >= box.y0)
            & (xy[:, 1] <= box.y1)
        )
        assert not inside.any(), line.get_gid()
    assert box.x0 >= ax.get_window_extent().x1 - 1  # outside the axes, to the right


# --------------------------------------------------------------------------------------------
# Money, prices and rates: one place, no negative zero, no scientific notation
# --------------------------------------------------------------------------------------------


def test_prices_are_written_in_plain_decimals() -> None:
    assert _style.format_price(3e-07) == "$0.0000003"  # str() gives '3e-07'
    assert _style.format_price(0.000000123456) == "$0.0000001235"
    assert _style.format_price(0.0045) == "$0.0045"
    assert _style.format_price(0.5) == "$0.50"
    assert _style.format_price(1234.5) == "$1,234.50"
    assert _style.format_price(-0.0) == "$0"
    assert _style.format_price(None) == "—"


def test_no_negative_zero_anywhere() -> None:
    assert _style.format_money(-0.0) == "$0"
    assert _style.format_money(-1e-12, compact=False) == "$0.00"
    assert _style.format_number(-0.0001) == "0"
    assert _style.format_percent(-0.00001, signed=True) == "0.0%"
    assert _style.format_percent(-0.0004) == "0.0%"
    assert _style.format_percent(-0.025) == "−2.5%"


finite = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(finite)
def test_formatters_never_write_an_exponent_or_a_negative_zero(x: float) -> None:
    texts = [
        _style.format_money(x),
        _style.format_money(x, compact=False),
        _style.format_price(x),
        _style.format_number(x),
        _style.format_percent(x),
        _style.format_percent(x, signed=True),
    ]
    for text in texts:
        assert "e-" not in text and "e+" not in text, text
        digits = "".join(c for c in text if c.isdigit())
        if digits and set(digits) == {"0"}:  # the text says zero: no minus in front
            assert not text.startswith(("-", "−")), text
