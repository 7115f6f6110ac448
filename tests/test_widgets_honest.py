"""The explorer does not mislead (issue 13 §3): what it draws and writes, checked on the figure's
artists and the summary's HTML, with expectations worked out by hand on small frames."""

from __future__ import annotations

import datetime as dt
import inspect
import re

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

import cfusage
from cfusage import schema
from cfusage.viz import _style
from cfusage.viz._widgets import explore
from tests.frames import typed

DTYPES = schema.dtypes()


def usage(first: str, last: str, products=("Workers",), cost: float = 10.0) -> pd.DataFrame:
    days = pd.date_range(first, last, freq="D", tz="UTC")
    rows = [(d, p) for d in days for p in products]
    return typed(
        {
            "charge_period_start": [d for d, _ in rows],
            "charge_category": ["Usage"] * len(rows),
            "x_product_family_name": [p for _, p in rows],
            "billing_account_name": ["Acme"] * len(rows),
            "effective_cost": [cost] * len(rows),
            "consumed_quantity": [5.0] * len(rows),
            "consumed_unit": ["Requests"] * len(rows),
            "billing_currency": ["USD"] * len(rows),
        }
    )


def with_purchase(frame: pd.DataFrame) -> pd.DataFrame:
    purchase = typed(
        {
            "charge_period_start": [frame["charge_period_start"].min()],
            "charge_category": ["Purchase"],
            "charge_description": ["Prepaid commitment: Workers and R2, 12 months"],
            "x_billable_metric_id": ["prepaid_commitment"],
            "x_product_family_name": [None],
            "billing_account_name": ["Acme"],
            "effective_cost": [0.0],
            "billed_cost": [600.0],
            "consumed_quantity": [None],
            "consumed_unit": [None],
            "billing_currency": ["USD"],
        }
    )
    return pd.concat([frame, purchase], ignore_index=True).astype(
        {c: DTYPES[c] for c in purchase.columns if c in DTYPES}
    )


def texts(ax, gid: str) -> list[str]:
    return [t.get_text() for t in ax.texts if t.get_gid() == gid]


def test_explore_takes_data_first_and_is_weekly() -> None:
    params = inspect.signature(cfusage.explore).parameters
    assert next(iter(params)) == "data" and params["freq"].default == "W"
    ex = explore(data=usage("2026-03-02", "2026-03-15"))
    assert ex.grain.value == "week"


def test_partial_first_and_last_weeks_are_hatched_with_their_day_count() -> None:
    ex = explore(usage("2026-03-04", "2026-03-17"))  # Wed .. Tue: 5 and 2 days of their weeks
    ax = ex.figure.axes[0]
    partial = [c for c in ax.collections if (c.get_gid() or "").startswith("partial:")]
    assert len(partial) == 1 and len(partial[0].get_paths()) == 2
    assert partial[0].get_hatch() == _style.PARTIAL_HATCH
    assert partial[0].get_alpha() == pytest.approx(_style.PARTIAL_ALPHA)
    assert texts(ax, "partial-note") == ["5 of 7 days", "2 of 7 days"]
    caption = ax.texts[[t.get_gid() for t in ax.texts].index("partial-legend")]
    ex.figure.draw_without_rendering()
    assert ex.figure.bbox.contains(*caption.get_window_extent().p0)
    assert ex.figure.bbox.contains(*caption.get_window_extent().p1)


def test_narrowing_the_dates_makes_the_cut_weeks_partial() -> None:
    ex = explore(usage("2026-03-02", "2026-03-29"))  # four whole weeks
    assert texts(ex.figure.axes[0], "partial-note") == []
    ex.dates.value = (dt.date(2026, 3, 4), dt.date(2026, 3, 29))
    assert texts(ex.figure.axes[0], "partial-note") == ["5 of 7 days"]


def test_the_month_after_complete_through_is_partial() -> None:
    frame = usage("2026-02-01", "2026-03-31")
    frame.attrs = {"cfusage": {"complete_through": dt.date(2026, 3, 20)}}
    ex = explore(frame, freq="month")
    assert texts(ex.figure.axes[0], "partial-note") == ["20 of 31 days"]


def test_filters_say_that_empty_means_all() -> None:
    ex = explore(usage("2026-03-02", "2026-03-15", products=("Workers", "R2")))
    assert "an empty filter means <b>all</b>" in ex.filter_hint.value
    hints = [
        w.value
        for box in ex.children
        for col in getattr(box, "children", ())
        for w in getattr(col, "children", ())
        if "cfusage-filter-hint" in getattr(w, "value", "")
    ]
    assert len(hints) == 4 and all("(none selected: all)" in h for h in hints)


def test_the_purchase_row_is_named_a_commitment_purchase() -> None:
    ex = explore(with_purchase(usage("2026-03-02", "2026-03-15")), value="billed_cost")
    assert "Commitment purchase" in ex.products.options
    assert "(no product family)" not in ex.products.options
    table = ex.table()
    assert table["product"].tolist()[0] == "Commitment purchase"
    assert float(table["billed_cost"].iloc[0]) == 600.0
    assert "Commitment purchase" in ex.summary.value
    ex.products.value = ("Commitment purchase",)
    assert ex.selection()["charge_category"].astype(str).tolist() == ["Purchase"]


def test_a_purchase_without_commitment_words_is_a_purchase() -> None:
    frame = with_purchase(usage("2026-03-02", "2026-03-08"))
    for col in ("charge_description", "x_billable_metric_id"):
        frame[col] = frame[col].astype(object)
    frame.loc[frame["charge_category"].astype(str) == "Purchase", "charge_description"] = "Support"
    frame.loc[frame["charge_category"].astype(str) == "Purchase", "x_billable_metric_id"] = (
        "support"
    )
    assert "Purchase" in explore(frame).products.options


def test_quantity_total_does_not_start_with_a_dash() -> None:
    ex = explore(with_purchase(usage("2026-03-02", "2026-03-15")), value="consumed_quantity")
    total = re.search(r"<b class='cfusage-total-value'>(.*?)</b>", ex.summary.value).group(1)
    assert total == "70 Requests"  # 14 days x 5; the Purchase row's NA quantity is no term
    assert "–" not in total and "+" not in total
    assert "1 of 15 records have no consumed_quantity" in ex.summary.value


def test_the_not_drawn_note_is_inside_the_figure() -> None:
    frame = usage("2026-03-02", "2026-03-15", products=tuple(f"P{i:02d}" for i in range(12)))
    frame["billing_currency"] = pd.Categorical(
        np.where(np.arange(len(frame)) % 2 == 0, "USD", "EUR")
    )
    ex = explore(frame, top=3)  # two currencies: lines, 3 drawn, the rest not
    ax = ex.figure.axes[0]
    note = next(t for t in ax.texts if t.get_gid() == "not-drawn-note")
    assert note.get_text().startswith(f"{len(ex.table()) - 3} smaller series")
    ex.figure.draw_without_rendering()
    box = note.get_window_extent()
    fig_box = ex.figure.bbox
    assert fig_box.x0 <= box.x0 and box.x1 <= fig_box.x1
    assert fig_box.y0 <= box.y0 and box.y1 <= fig_box.y1


def test_the_table_shows_every_row_in_a_scrolling_area() -> None:
    names = tuple(f"Product {i:02d}" for i in range(14))
    ex = explore(usage("2026-03-02", "2026-03-15", products=names))
    html = ex.summary.value
    assert "cfusage-table-scroll" in html and "overflow-y:auto" in html
    assert all(f">{n}</td>" in html for n in names)  # before: 12 rows and "... and 2 more"
    assert "more rows" not in html
    assert "14 rows" in html


def test_partial_periods_in_the_lines_view_are_hollow_points() -> None:
    frame = usage("2026-03-04", "2026-03-17", products=("Workers", "R2"))
    frame["billing_currency"] = pd.Categorical(
        np.where(frame["x_product_family_name"].astype(str) == "R2", "EUR", "USD")
    )
    ex = explore(frame)
    ax = ex.figure.axes[0]
    hollow = [line for line in ax.lines if (line.get_gid() or "").startswith("partial:")]
    assert len(hollow) == 2 and all(len(line.get_xdata()) == 2 for line in hollow)
    assert all(line.get_markerfacecolor() == "white" for line in hollow)
    assert texts(ax, "partial-note") == ["5 of 7 days", "2 of 7 days"]
    ex.figure.draw_without_rendering()
    for t in ax.texts:
        box = t.get_window_extent()
        assert ex.figure.bbox.x0 <= box.x0 and box.x1 <= ex.figure.bbox.x1, t.get_text()


def test_a_series_too_small_to_see_is_said_so_in_the_explorer_table() -> None:
    big = usage("2026-03-02", "2026-03-15", products=("Workers",), cost=1000.0)
    tiny = usage("2026-03-02", "2026-03-15", products=("Pages",), cost=2.0)
    ex = explore(pd.concat([big, tiny], ignore_index=True))
    # by hand: Pages' $2 bar against the $1,002 stack is 0.2 %, under one pixel
    html = ex.summary.value
    assert "Pages <span class='cfusage-too-small'" in html
    assert html.count("too small to see in the chart") == 1


def test_the_daily_view_has_no_offset_label() -> None:
    ex = explore(usage("2026-11-01", "2026-11-23"), freq="day")
    # the explorer saved its figure as a PNG: the offset text is what was drawn
    assert ex.figure.axes[0].xaxis.get_offset_text().get_text() == ""  # before: "2026-Nov"
