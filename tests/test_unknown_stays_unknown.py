"""An unknown cost stays unknown through the variance helpers (issue 10, section 2).

A group, period or day whose rows all have NA as cost gets NA (never 0, never a finite figure
built on it) and is counted in the helper's coverage columns (``status == "unknown"``,
``unknown_items``, ``unknown_days``, ``missing_value_rows``). Hand-worked cases first, then one
hypothesis property over period_over_period, top_movers, price_volume_mix, budget_variance and
budget_status, checked against plain loops over the raw rows.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from cfusage.analysis._variance import (
    budget_status,
    budget_variance,
    period_over_period,
    price_volume_mix,
    top_movers,
)

DTYPES = {
    "charge_period_start": "datetime64[us, UTC]",
    "x_billable_metric_id": "str",
    "x_product_family_name": "category",
    "billing_currency": "category",
    "pricing_quantity": "Float64",
    "effective_cost": "Float64",
}
JAN1 = pd.Timestamp("2026-01-01", tz="UTC")
EFFECTS = [
    "price_effect",
    "days_effect",
    "volume_effect",
    "mix_effect",
    "new_effect",
    "retired_effect",
]


def frame(rows: list[tuple]) -> pd.DataFrame:
    """(day offset from 1 January 2026, product, item, quantity, cost) -> a typed frame."""
    return pd.DataFrame(
        {
            "charge_period_start": [JAN1 + pd.Timedelta(days=r[0]) for r in rows],
            "x_billable_metric_id": [r[2] for r in rows],
            "x_product_family_name": [r[1] for r in rows],
            "billing_currency": "USD",
            "pricing_quantity": [r[3] for r in rows],
            "effective_cost": [r[4] for r in rows],
        },
        columns=list(DTYPES),
    ).astype(DTYPES)


def quiet(call, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return call(*args, **kwargs)


# Anchors: the frame covers 1 January to 28 February (both months complete) whatever is drawn.
ANCHORS = [(0, "Z", "z", 1.0, 1.0), (58, "Z", "z", 1.0, 1.0)]
FEB1 = 31


# ---------------------------------------------------------------------------------------------
# by hand
# ---------------------------------------------------------------------------------------------


def test_top_movers_an_unknown_base_is_not_zero_and_not_new():
    df = frame([*ANCHORS, (5, "R2", "ops", 1.0, None), (FEB1 + 5, "R2", "ops", 1.0, 40.0)])
    r = quiet(top_movers, df, base="2026-01", current="2026-02", by="product")
    r2 = r.set_index("x_product_family_name").loc["R2"]
    assert pd.isna(r2["previous"]) and pd.isna(r2["change"])  # before: previous 0, change 40
    assert r2["current"] == 40.0
    assert r2["status"] == "unknown"  # before: "continuing"
    assert r2["missing_value_rows"] == 1
    assert r["x_product_family_name"].tolist()[-1] == "R2"  # an unknown change ranks last


def test_price_volume_mix_an_unknown_item_is_left_out_and_counted():
    df = frame(
        [
            *ANCHORS,
            (5, "R2", "ops", 10.0, None),  # base cost unknown
            (FEB1 + 5, "R2", "ops", 10.0, 40.0),
            (5, "R2", "get", 10.0, 5.0),
            (FEB1 + 5, "R2", "get", 10.0, 5.0),
        ]
    )
    d = quiet(price_volume_mix, df, base="2026-01", current="2026-02", by="product", detail=True)
    ops = d.set_index("x_billable_metric_id").loc["ops"]
    assert ops["status"] == "unknown"  # before: "new", new_effect 40
    assert pd.isna(ops["previous"]) and ops["current"] == 40.0
    assert all(pd.isna(ops[e]) for e in ["change", *EFFECTS])
    s = quiet(price_volume_mix, df, base="2026-01", current="2026-02", by="product")
    r2 = s.set_index("x_product_family_name").loc["R2"]
    assert (r2["previous"], r2["current"], r2["change"]) == (5.0, 5.0, 0.0)  # "get" only
    assert r2["unknown_items"] == 1 and r2["missing_value_rows"] == 1
    only_unknown = frame([*ANCHORS, (5, "R2", "ops", 1.0, None), (FEB1 + 5, "R2", "ops", 1.0, 4.0)])
    s = quiet(price_volume_mix, only_unknown, base="2026-01", current="2026-02", by="product")
    r2 = s.set_index("x_product_family_name").loc["R2"]
    assert all(pd.isna(r2[c]) for c in ["previous", "current", "change", *EFFECTS])


def test_budget_variance_an_unknown_day_is_na_and_the_forecast_uses_known_days():
    # 1 April: 10; 2 April: one row without cost; 3 April: 20. Budget 300 for 30 days.
    df = pd.DataFrame(
        {
            "charge_period_start": pd.to_datetime(
                ["2026-04-01", "2026-04-02", "2026-04-03"], utc=True
            ),
            "effective_cost": pd.array([10.0, None, 20.0], dtype="Float64"),
        }
    )
    r = quiet(budget_variance, df, budget=300.0)
    assert r["actual"].isna().tolist() == [False, True, False]  # before: 0.0 on 2 April
    assert r["cumulative_actual"].tolist() == [10.0, 10.0, 30.0]
    assert r["unknown_days"].tolist() == [0, 1, 1]
    assert r["missing_value_rows"].tolist() == [0, 1, 0]
    # run rate over the known days: 10 x 30 / 1, then 30 x 30 / 2 (before: 150 and 300)
    assert r["forecast"].tolist() == pytest.approx([300.0, 300.0, 450.0])
    assert r["variance_to_date"].isna().tolist() == [False, True, True]
    s = quiet(budget_status, df, budget=300.0).iloc[0]
    assert (s["actual"], s["forecast"], s["unknown_days"], s["missing_value_rows"]) == (
        30.0,
        450.0,
        1,
        1,
    )


def test_budget_variance_a_period_with_only_unknown_days_has_no_figures():
    df = pd.DataFrame(
        {
            "charge_period_start": pd.to_datetime(["2026-04-01", "2026-05-01"], utc=True),
            "effective_cost": pd.array([10.0, None], dtype="Float64"),
        }
    )
    s = quiet(budget_status, df, budget=300.0).set_index("period")
    may = s.loc[pd.Timestamp("2026-05-01", tz="UTC")]
    assert pd.isna(may["actual"]) and pd.isna(may["forecast"]) and may["unknown_days"] == 1
    assert pd.isna(may["threshold_crossed"]) and pd.isna(may["projected_variance"])


def test_budget_variance_days_before_the_data_are_unknown_not_zero():
    df = pd.DataFrame(
        {
            "charge_period_start": pd.date_range("2026-04-16", "2026-04-20", tz="UTC"),
            "effective_cost": pd.array([10.0] * 5, dtype="Float64"),
        }
    )
    s = budget_status(df, budget=300.0).iloc[0]
    assert s["unknown_days"] == 15 and s["days_elapsed"] == 20
    assert s["forecast"] == pytest.approx(50.0 * 30 / 5)  # not 50 x 30 / 20


def test_period_over_period_unknown_status():
    df = frame([*ANCHORS, (5, "R2", "ops", 1.0, None), (FEB1 + 5, "R2", "ops", 1.0, 4.0)])
    r = quiet(period_over_period, df, by="product")
    feb = r[(r["period"].dt.month == 2) & (r["x_product_family_name"] == "R2")].iloc[0]
    assert pd.isna(feb["previous"]) and pd.isna(feb["change"]) and feb["status"] == "unknown"


# ---------------------------------------------------------------------------------------------
# the property
# ---------------------------------------------------------------------------------------------

_row = st.tuples(
    st.integers(0, 58),  # day: 1 January .. 28 February
    st.sampled_from(["A", "B", "C"]),
    st.sampled_from(["a", "b"]),
    st.floats(1.0, 1e4),
    st.one_of(st.none(), st.floats(0.0, 1e4)),
)


def _naive(rows: list[tuple]) -> dict:
    """Per (product, month), (product, item, month) and (product, day): (rows, known costs)."""
    cells: dict = {}
    for day, product, item, _q, cost in rows:
        month = 1 if day < FEB1 else 2
        for key in (("m", product, month), ("i", product, item, month), ("d", product, day)):
            n, known = cells.get(key, (0, []))
            cells[key] = (n + 1, known + ([cost] if cost is not None else []))
    return cells


def _unknown(cells: dict, key) -> bool:
    n, known = cells.get(key, (0, []))
    return n > 0 and not known


def _known_sum(cells: dict, key) -> float:
    return float(sum(cells.get(key, (0, []))[1]))


def _check_pair(row: pd.Series, cells: dict, key0, key1) -> None:
    """previous/current/change/status of a base-current comparison against the raw cells."""
    for side, key in (("previous", key0), ("current", key1)):
        if _unknown(cells, key):
            assert pd.isna(row[side]), (side, key)
        else:
            assert row[side] == pytest.approx(_known_sum(cells, key), abs=1e-6), (side, key)
    if _unknown(cells, key0) or _unknown(cells, key1):
        assert pd.isna(row["change"]) and row["status"] == "unknown"
    else:
        assert row["status"] != "unknown"


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # shrinking is slow on shared CPUs
)
@given(st.lists(_row, min_size=1, max_size=25))
def test_all_na_inputs_never_give_a_figure(rows):
    df = frame([*ANCHORS, *rows])
    cells = _naive(rows)
    products = sorted({r[1] for r in rows})

    # period_over_period: every (product, month) cell
    pop = quiet(period_over_period, df, by="product")
    for r in pop[pop["x_product_family_name"] != "Z"].itertuples(index=False):
        row = pd.Series(r._asdict())
        month, product = row["period"].month, row["x_product_family_name"]
        if month == 2:
            _check_pair(row, cells, ("m", product, 1), ("m", product, 2))
        elif _unknown(cells, ("m", product, 1)):
            assert pd.isna(row["current"])
    n_na = sum(1 for r in rows if r[4] is None)
    assert pop["missing_value_rows"].sum() == n_na + sum(
        1 for r in rows if r[4] is None and r[0] < FEB1
    )  # January's NA rows are counted again as February's previous

    # top_movers: every product
    movers = quiet(top_movers, df, base="2026-01", current="2026-02", by="product", n=10)
    movers = movers.set_index("x_product_family_name")
    for p in products:
        _check_pair(movers.loc[p], cells, ("m", p, 1), ("m", p, 2))

    # price_volume_mix: every item, and the product totals over the known items
    detail = quiet(
        price_volume_mix, df, base="2026-01", current="2026-02", by="product", detail=True
    )
    summary = quiet(price_volume_mix, df, base="2026-01", current="2026-02", by="product")
    summary = summary.set_index("x_product_family_name")
    for p in products:
        items = detail[detail["x_product_family_name"] == p].set_index("x_billable_metric_id")
        known_items = []
        for item, it in items.iterrows():
            unknown = _unknown(cells, ("i", p, item, 1)) or _unknown(cells, ("i", p, item, 2))
            if unknown:
                assert it["status"] == "unknown"
                assert all(pd.isna(it[c]) for c in ["change", *EFFECTS])
            else:
                assert it["status"] != "unknown"
                known_items.append(item)
        row = summary.loc[p]
        assert row["unknown_items"] == len(items) - len(known_items)
        if not known_items:
            assert all(pd.isna(row[c]) for c in ["previous", "current", "change", *EFFECTS])
        else:
            prev = sum(_known_sum(cells, ("i", p, i, 1)) for i in known_items)
            assert row["previous"] == pytest.approx(prev, abs=1e-6)
            scale = 1.0 + abs(row["previous"]) + abs(row["current"])
            assert abs(row[EFFECTS].sum() - row["change"]) <= 1e-9 * scale

    # budget_variance: every (product, day) and the run rate over the known days
    daily = quiet(budget_variance, df, budget=1000.0, by="product")
    for p in products:
        lines = daily[daily["x_product_family_name"] == p]
        for (_period,), line in lines.groupby(["period"], observed=True):
            unknown_so_far, known_sum = 0, 0.0
            for day_row in line.itertuples(index=False):
                day = int((day_row.date - JAN1) / pd.Timedelta(days=1))
                if _unknown(cells, ("d", p, day)):
                    assert pd.isna(day_row.actual), (p, day)
                    unknown_so_far += 1
                else:
                    assert day_row.actual == pytest.approx(
                        _known_sum(cells, ("d", p, day)), abs=1e-6
                    )
                    known_sum += _known_sum(cells, ("d", p, day))
                assert day_row.unknown_days == unknown_so_far
                known_days = day_row.days_elapsed - unknown_so_far
                if known_days == 0:
                    assert pd.isna(day_row.cumulative_actual) and pd.isna(day_row.forecast)
                else:
                    expected = known_sum * day_row.days_in_period / known_days
                    assert day_row.forecast == pytest.approx(expected, abs=1e-6)
                if unknown_so_far:
                    assert pd.isna(day_row.variance_to_date)

    # budget_status: the last day of each line
    status = quiet(budget_status, df, budget=1000.0, by="product")
    last = daily.groupby(["period", "x_product_family_name"], observed=True).tail(1)
    merged = status.merge(last, on=["period", "x_product_family_name"], suffixes=("", "_d"))
    assert np.array_equal(
        merged["actual"].isna().to_numpy(), merged["cumulative_actual"].isna().to_numpy()
    )
    assert (merged["unknown_days"] == merged["unknown_days_d"]).all()
