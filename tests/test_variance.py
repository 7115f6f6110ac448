"""Tests for cfusage.variance: hand-worked frames, properties, naive twins on the sample."""

from __future__ import annotations

import datetime as dt
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
from cfusage.errors import ArgumentError, CurrencyError, DataError, MissingColumnsError
from tests.naive_variance import pvm_effects_by_group

DTYPES = {
    "charge_period_start": "datetime64[us, UTC]",
    "x_billable_metric_id": "str",
    "x_product_family_name": "category",
    "billing_currency": "category",
    "pricing_quantity": "Float64",
    "effective_cost": "Float64",
}


def _utc(x) -> pd.Timestamp:
    ts = pd.Timestamp(x)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts


def frame(rows: list[tuple], attrs: dict | None = None) -> pd.DataFrame:
    """(day, metric, family, quantity, cost[, currency]) tuples -> a typed usage frame."""
    records = [
        {
            "charge_period_start": _utc(r[0]),
            "x_billable_metric_id": r[1],
            "x_product_family_name": r[2],
            "pricing_quantity": r[3],
            "effective_cost": r[4],
            "billing_currency": r[5] if len(r) > 5 else "USD",
        }
        for r in rows
    ]
    df = pd.DataFrame(records, columns=list(DTYPES)).astype(DTYPES)
    if attrs:
        df.attrs["cfusage"] = attrs
    return df


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    cfsample = pytest.importorskip("cfusage.sample")
    return cfsample.load()


# ---------------------------------------------------------------------------------------------
# period_over_period
# ---------------------------------------------------------------------------------------------


def test_period_over_period_monthly_by_product_worked_by_hand():
    df = frame(
        [
            ("2026-01-01", "req", "Workers", 1, 10.0),  # the data starts on 1 January
            ("2026-01-20", "req", "Workers", 1, 5.0),
            ("2026-02-10", "req", "Workers", 1, 30.0),
            ("2026-01-10", "ops", "R2", 1, 8.0),  # R2 retires in February
            ("2026-02-11", "img", "Images", 1, 4.0),  # Images is new in February
        ]
    )
    r = period_over_period(df, by="product", as_of="2026-02-28")
    feb = r[r["period"] == pd.Timestamp("2026-02-01", tz="UTC")].set_index("x_product_family_name")
    assert feb.loc["Workers", ["previous", "current", "change"]].tolist() == [15.0, 30.0, 15.0]
    assert feb.loc["Workers", "relative_change"] == 1.0
    assert feb.loc["Workers", "status"] == "continuing"
    assert feb.loc["R2", ["previous", "current", "change"]].tolist() == [8.0, 0.0, -8.0]
    assert feb.loc["R2", "status"] == "retired"
    assert feb.loc["Images", ["previous", "current"]].tolist() == [0.0, 4.0]
    assert feb.loc["Images", "status"] == "new"
    assert pd.isna(feb.loc["Images", "relative_change"])  # from zero: NA, not inf
    jan = r[r["period"] == pd.Timestamp("2026-01-01", tz="UTC")]
    assert jan["previous"].isna().all() and jan["status"].isna().all()  # nothing before January
    assert not r["partial"].any()
    assert (feb["basis"] == "full periods").all()
    assert list(r.columns[:3]) == ["period", "x_product_family_name", "billing_currency"]


def test_period_over_period_partial_month_compares_like_for_like():
    df = frame(
        [
            ("2026-01-01", "req", "Workers", 1, 1.0),
            ("2026-01-02", "req", "Workers", 1, 2.0),
            ("2026-01-03", "req", "Workers", 1, 100.0),  # beyond the 2 days compared
            ("2026-02-01", "req", "Workers", 1, 4.0),
            ("2026-02-02", "req", "Workers", 1, 5.0),
        ]
    )
    r = period_over_period(df)  # data ends on 2 Feb
    feb = r.iloc[-1]
    assert feb["partial"]
    assert feb["days"] == 2 and feb["previous_days"] == 2 and feb["basis"] == "same days"
    assert (feb["previous"], feb["current"], feb["change"]) == (3.0, 9.0, 6.0)
    assert r.iloc[0]["days"] == 31 and not r.iloc[0]["partial"]
    assert r.attrs["cfusage"]["complete_through"] == dt.date(2026, 2, 2)


def test_period_over_period_uses_complete_through_from_attrs_and_drops_later_days():
    rows = [
        ("2026-01-01", "req", "Workers", 1, 1.0),
        ("2026-01-02", "req", "Workers", 1, 2.0),
        ("2026-02-01", "req", "Workers", 1, 4.0),
        ("2026-02-02", "req", "Workers", 1, 50.0),  # not fully delivered yet
    ]
    df = frame(rows, attrs={"complete_through": dt.date(2026, 2, 1)})
    feb = period_over_period(df).iloc[-1]
    assert (feb["previous"], feb["current"], feb["days"]) == (1.0, 4.0, 1)
    # the argument wins over attrs
    feb = period_over_period(df, as_of="2026-02-02").iloc[-1]
    assert (feb["previous"], feb["current"]) == (3.0, 54.0)


def test_period_over_period_partial_march_against_shorter_february():
    # 1 a day throughout: March 1-30 against February's daily average, not its 28-day total
    # (the old result, previous 28 against current 30, was a +7 % that never happened)
    days = pd.date_range("2026-02-01", "2026-03-30", tz="UTC")
    df = frame([(d, "req", "W", 1, 1.0) for d in days])
    mar = period_over_period(df).iloc[-1]
    assert mar["days"] == 30 and mar["previous_days"] == 28 and mar["partial"]
    assert mar["basis"] == "daily average"
    assert (mar["previous"], mar["current"], mar["change"]) == (30.0, 30.0, 0.0)


def test_period_over_period_keeps_currencies_apart():
    df = frame(
        [
            ("2026-01-01", "req", "W", 1, 10.0, "USD"),
            ("2026-02-05", "req", "W", 1, 20.0, "USD"),
            ("2026-01-01", "req", "W", 1, 7.0, "EUR"),
            ("2026-02-05", "req", "W", 1, 7.0, "EUR"),
        ]
    )
    r = period_over_period(df, as_of="2026-02-28")
    feb = r[r["period"].dt.month == 2].set_index("billing_currency")
    assert feb.loc["USD", "change"] == 10.0 and feb.loc["EUR", "change"] == 0.0


def test_period_over_period_weekly_grain():
    df = frame(
        [
            ("2026-03-02", "req", "W", 1, 1.0),  # Monday
            ("2026-03-08", "req", "W", 1, 2.0),  # Sunday, same week
            ("2026-03-09", "req", "W", 1, 5.0),  # next Monday
            ("2026-03-15", "req", "W", 1, 1.0),
        ]
    )
    r = period_over_period(df, freq="W")
    assert r["period"].dt.day.tolist() == [2, 9]
    assert r.iloc[1][["previous", "current"]].tolist() == [3.0, 6.0]
    assert not r.iloc[1]["partial"]


def test_period_over_period_warns_and_counts_missing_costs():
    df = frame(
        [
            ("2026-01-05", "req", "W", 1, 10.0),
            ("2026-02-05", "req", "W", 1, 20.0),
            ("2026-02-06", "req", "W", 1, None),
        ]
    )
    with pytest.warns(UserWarning, match="1 of 3 rows have no effective_cost"):
        r = period_over_period(df, as_of="2026-02-28")
    assert r.iloc[-1]["current"] == 20.0
    assert r.iloc[-1]["missing_value_rows"] == 1


def test_period_over_period_without_costs_raises_missing_columns():
    df = frame([("2026-01-05", "req", "W", 1, None)])
    with pytest.raises(MissingColumnsError, match="effective_cost"):
        period_over_period(df)
    with pytest.raises(MissingColumnsError, match="list_cost"):
        period_over_period(df, value="list_cost")


def test_period_over_period_does_not_mutate_input():
    df = frame([("2026-01-05", "req", "W", 1, 10.0), ("2026-02-05", "req", "W", 1, 20.0)])
    before = df.copy()
    period_over_period(df, by="product")
    pd.testing.assert_frame_equal(df, before)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.integers(0, 119),
            st.sampled_from(["a", "b", "c"]),
            st.floats(-50, 500, allow_nan=False),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_period_over_period_change_is_current_minus_previous(rows):
    start = pd.Timestamp("2026-01-01", tz="UTC")
    df = frame([(start + pd.Timedelta(days=d), m, m, 1, c) for d, m, c in rows])
    r = period_over_period(df, by="product", as_of="2026-04-30")
    compared = r["previous"].notna()
    diff = (r["current"] - r["previous"] - r["change"])[compared].abs()
    assert (diff <= 1e-9).all()
    assert r.loc[~compared, "change"].isna().all()
    # every complete month's current total matches a plain groupby sum
    naive = df.groupby(
        [df["x_product_family_name"].astype(str), df["charge_period_start"].dt.month]
    )["effective_cost"].sum()
    ours = r.set_index([r["x_product_family_name"].astype(str), r["period"].dt.month])["current"]
    for key, total in naive.items():
        assert ours.loc[key] == pytest.approx(total, abs=1e-9)


def test_period_over_period_matches_naive_loop_on_sample(sample):
    r = period_over_period(sample, by="product", as_of="2026-10-31")
    d = sample.assign(month=sample["charge_period_start"].dt.strftime("%Y-%m"))
    totals = {}
    for (fam, month), part in d.groupby(["x_product_family_name", "month"], observed=True):
        totals[(fam, month)] = float(part["effective_cost"].sum())
    months = sorted({m for _, m in totals})
    for row in r.dropna(subset=["x_product_family_name"]).itertuples():
        month = row.period.strftime("%Y-%m")
        i = months.index(month)
        cur = totals.get((row.x_product_family_name, month), 0.0)
        assert row.current == pytest.approx(cur, abs=1e-6)
        if i > 0:
            prev = totals.get((row.x_product_family_name, months[i - 1]), 0.0)
            assert row.previous == pytest.approx(prev, abs=1e-6)


# ---------------------------------------------------------------------------------------------
# price_volume_mix
# ---------------------------------------------------------------------------------------------

# One day each (the 5th of January and of February): the same number of days, so no days effect.
JAN5 = ("2026-01-05", "2026-01-06")
FEB5 = ("2026-02-05", "2026-02-06")
EFFECTS = [
    "price_effect",
    "days_effect",
    "volume_effect",
    "mix_effect",
    "new_effect",
    "retired_effect",
]


def test_price_volume_mix_worked_by_hand():
    # Group "W" has two continuing items, one new and one retired.
    df = frame(
        [
            ("2026-01-05", "req", "W", 100.0, 10.0),  # p0 = 0.10
            ("2026-02-05", "req", "W", 150.0, 18.0),  # p1 = 0.12
            ("2026-01-05", "cpu", "W", 50.0, 50.0),  # p0 = 1.00
            ("2026-02-05", "cpu", "W", 40.0, 40.0),  # p1 = 1.00
            ("2026-01-05", "old", "W", 10.0, 5.0),  # retired
            ("2026-02-05", "kv", "W", 3.0, 7.0),  # new
        ]
    )
    r = price_volume_mix(df, base=JAN5, current=FEB5, by="product").iloc[0]
    # base-priced quantity index over continuing items: (150*0.1 + 40*1) / (10 + 50) - 1
    g = (15.0 + 40.0) / 60.0 - 1.0
    assert r["previous"] == pytest.approx(65.0)
    assert r["current"] == pytest.approx(65.0)
    assert r["days_effect"] == 0.0 and (r["previous_days"], r["days"]) == (1, 1)
    assert r["price_effect"] == pytest.approx((0.12 - 0.10) * 150)  # 3.0
    assert r["volume_effect"] == pytest.approx(60.0 * g)  # growth part
    mix_req = 15.0 - 10.0 * (1 + g)
    mix_cpu = 40.0 - 50.0 * (1 + g)
    assert r["mix_effect"] == pytest.approx(mix_req + mix_cpu, abs=1e-12)  # sums to ~0
    assert r["new_effect"] == 7.0 and r["retired_effect"] == -5.0
    assert r[EFFECTS].sum() == pytest.approx(r["change"], abs=1e-12)


def test_price_volume_mix_detail_shows_items_and_mix_cancels():
    df = frame(
        [
            ("2026-01-05", "req", "W", 100.0, 10.0),
            ("2026-02-05", "req", "W", 300.0, 30.0),
            ("2026-01-05", "cpu", "W", 50.0, 50.0),
            ("2026-02-05", "cpu", "W", 25.0, 25.0),
        ]
    )
    d = price_volume_mix(df, base=JAN5, current=FEB5, by="product", detail=True)
    d = d.set_index("x_billable_metric_id")
    g = (30.0 + 25.0) / 60.0 - 1.0
    assert d.loc["req", "volume_effect"] == pytest.approx(10.0 * g)
    assert d.loc["req", "mix_effect"] == pytest.approx(30.0 - 10.0 * (1 + g))
    assert d.loc["cpu", "mix_effect"] == pytest.approx(25.0 - 50.0 * (1 + g))
    assert d["mix_effect"].sum() == pytest.approx(0.0, abs=1e-12)
    assert d.loc["req", "previous_unit_price"] == pytest.approx(0.1)
    assert (d["status"] == "continuing").all()
    assert (d["price_effect"] == 0).all()


def test_price_volume_mix_zero_quantity_rules():
    df = frame(
        [
            ("2026-01-05", "free", "W", 0.0, 0.0),  # free tier in base, paid later: new
            ("2026-02-05", "free", "W", 10.0, 4.0),
            ("2026-01-05", "gone", "W", 10.0, 4.0),  # paid, then only free: retired
            ("2026-02-05", "gone", "W", 0.0, 0.0),
            ("2026-01-05", "fee", "W", None, 9.0),  # no quantity ever: price
            ("2026-02-05", "fee", "W", None, 12.0),
        ]
    )
    d = price_volume_mix(df, base="2026-01", current="2026-02", detail=True).set_index(
        "x_billable_metric_id"
    )
    assert d.loc["free", "status"] == "new" and d.loc["free", "new_effect"] == 4.0
    assert d.loc["gone", "status"] == "retired" and d.loc["gone", "retired_effect"] == -4.0
    assert d.loc["fee", "status"] == "unpriced" and d.loc["fee", "price_effect"] == 3.0
    assert pd.isna(d.loc["free", "previous_unit_price"])


def test_price_volume_mix_accepts_period_objects_and_pairs():
    df = frame([("2026-01-05", "req", "W", 10.0, 1.0), ("2026-02-05", "req", "W", 20.0, 2.0)])
    a = price_volume_mix(df, base="2026-01", current="2026-02")
    b = price_volume_mix(df, base=pd.Period("2026-01", "M"), current=("2026-02-01", "2026-03-01"))
    pd.testing.assert_frame_equal(a, b, check_like=True)
    with pytest.raises(ValueError, match="overlap"):
        price_volume_mix(df, base="2026-01", current=("2026-01-15", "2026-02-15"))
    with pytest.raises(ValueError, match="not a period"):
        price_volume_mix(df, base="last month", current="2026-02")


def test_price_volume_mix_needs_quantity():
    df = frame([("2026-01-05", "req", "W", None, 1.0), ("2026-02-05", "req", "W", None, 2.0)])
    with pytest.raises(MissingColumnsError, match="pricing_quantity"):
        price_volume_mix(df, base="2026-01", current="2026-02")


_item = st.tuples(
    st.sampled_from(["a", "b", "c", "d", "e"]),
    st.sampled_from(["F", "G"]),
    st.integers(0, 1),  # period
    st.one_of(st.none(), st.just(0.0), st.floats(1e-3, 1e6)),
    st.floats(-100, 1e5, allow_nan=False),
)


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # shrinking is slow on shared CPUs
)
@given(st.lists(_item, min_size=1, max_size=30))
def test_price_volume_mix_effects_add_up_to_change(rows):
    df = frame([(f"2026-0{1 + p}-05", m, f, q, c) for m, f, p, q, c in rows])
    if df["pricing_quantity"].isna().all():
        with pytest.raises(MissingColumnsError):
            price_volume_mix(df, base="2026-01", current="2026-02", by="product")
        return
    r = price_volume_mix(df, base="2026-01", current="2026-02", by="product")
    effects = r[EFFECTS]
    # rounding is relative to the largest amount involved (costs or effects)
    scale = np.maximum.reduce(
        [
            np.ones(len(r)),
            (r["previous"].abs() + r["current"].abs()).to_numpy(float),
            effects.abs().sum(axis=1).to_numpy(float),
        ]
    )
    gap = (effects.sum(axis=1) - r["change"]).abs().to_numpy(float)
    assert (gap <= 1e-9 * scale).all()
    # mix is a share shift: it sums to zero across the groups (one currency here)
    assert abs(float(r["mix_effect"].sum())) <= 1e-9 * scale.sum()
    d = price_volume_mix(df, base="2026-01", current="2026-02", by="product", detail=True)
    totals = d.groupby("x_product_family_name", observed=True)[EFFECTS].sum()
    for col in EFFECTS:  # the summary is the sum of its items
        np.testing.assert_allclose(
            totals[col].to_numpy(float), r[col].to_numpy(float), atol=1e-9 * scale.sum()
        )


def _naive_pvm(df, base, current, by, item="x_billable_metric_id"):
    """A second implementation: plain loops over groups and items (whole months, no NA)."""
    groups = {}
    d = df.assign(month=df["charge_period_start"].dt.strftime("%Y-%m"))
    d = d[d["effective_cost"].notna()]
    for group, part in d.groupby(by, observed=True, dropna=False):
        items = {}
        for it, rows in part.groupby(item, observed=True):
            c0 = float(rows.loc[rows.month == base, "effective_cost"].sum())
            c1 = float(rows.loc[rows.month == current, "effective_cost"].sum())
            q0 = float(rows.loc[rows.month == base, "pricing_quantity"].fillna(0).sum())
            q1 = float(rows.loc[rows.month == current, "pricing_quantity"].fillna(0).sum())
            n0, n1 = (rows.month == base).sum(), (rows.month == current).sum()
            if n0 or n1:
                items[it] = (c0, c1, q0, q1, n0, n1)
        groups[group] = items
    d0 = pd.Period(base).days_in_month
    d1 = pd.Period(current).days_in_month
    return pvm_effects_by_group(groups, d0, d1)


def test_price_volume_mix_matches_naive_loop_on_sample(sample):
    r = price_volume_mix(sample, base="2026-06", current="2026-07", by="product")
    naive = _naive_pvm(sample, "2026-06", "2026-07", "x_product_family_name")
    assert (r["previous_days"].iloc[0], r["days"].iloc[0]) == (30, 31)
    r = r.dropna(subset=["x_product_family_name"]).set_index("x_product_family_name")
    for fam, eff in naive.items():
        if pd.isna(fam):  # the commitment purchase has no product family
            continue
        for k, v in eff.items():
            assert r.loc[fam, f"{k}_effect"] == pytest.approx(v, abs=1e-6), (fam, k)
    # the planted R2 Class A list-price change (4.50 -> 5.00 from July) shows up as price effect
    assert r.loc["R2", "price_effect"] > 0
    assert r.loc["Stream", "retired_effect"] == pytest.approx(-r.loc["Stream", "previous"])


# ---------------------------------------------------------------------------------------------
# budget_variance / budget_status
# ---------------------------------------------------------------------------------------------


def test_budget_variance_daily_rows_worked_by_hand():
    df = frame(
        [
            ("2026-04-01", "req", "W", 1, 10.0),
            ("2026-04-03", "req", "W", 1, 20.0),  # 2 April has no rows: 0
        ]
    )
    r = budget_variance(df, budget=300.0)
    assert r["date"].dt.day.tolist() == [1, 2, 3]
    assert r["actual"].tolist() == [10.0, 0.0, 20.0]
    assert r["cumulative_actual"].tolist() == [10.0, 10.0, 30.0]
    assert r["cumulative_budget"].tolist() == pytest.approx([10.0, 20.0, 30.0])
    assert r["forecast"].tolist() == pytest.approx([300.0, 150.0, 300.0])
    assert r["projected_variance"].tolist() == pytest.approx([0.0, -150.0, 0.0])
    assert r["days_elapsed"].tolist() == [1, 2, 3] and (r["days_in_period"] == 30).all()
    assert r["forecast_threshold"].tolist() == [1.0, 0.5, 1.0]
    assert r["threshold_crossed"].isna().all()


def test_budget_variance_thresholds_crossed():
    df = frame([("2026-04-01", "req", "W", 1, 50.0), ("2026-04-02", "req", "W", 1, 35.0)])
    r = budget_variance(df, budget=100.0, thresholds=(0.8, 0.5, 1.0))
    assert r["threshold_crossed"].tolist() == [0.5, 0.8]


def test_budget_variance_budget_mapping_and_frame():
    df = frame(
        [
            ("2026-04-01", "req", "Workers", 1, 10.0),
            ("2026-04-01", "ops", "R2", 1, 20.0),
            ("2026-05-01", "ops", "R2", 1, 20.0),
        ]
    )
    by_group = budget_status(df, budget={"Workers": 300.0, "R2": 600.0}, by="product")
    got = {(r.x_product_family_name, r.period.month): r.budget for r in by_group.itertuples()}
    assert got == {("R2", 4): 600.0, ("R2", 5): 600.0, ("Workers", 4): 300.0}
    by_period = budget_status(df, budget={"2026-04": 100.0})
    assert by_period["budget"].isna().tolist() == [False, True]  # no May budget: NA, never 0
    table = pd.DataFrame({"product": ["R2"], "period": ["2026-05"], "budget": [62.0]})
    s = budget_status(df, budget=table, by="product")
    r2_may = s[(s.x_product_family_name == "R2") & (s.period.dt.month == 5)]
    assert r2_may["budget"].tolist() == [62.0]
    assert s["budget"].isna().sum() == 2


def test_budget_variance_refuses_one_amount_for_several_currencies():
    df = frame([("2026-04-01", "r", "W", 1, 1.0, "USD"), ("2026-04-01", "r", "W", 1, 1.0, "EUR")])
    with pytest.raises(CurrencyError, match="billing_currency"):
        budget_variance(df, budget=100.0)
    table = pd.DataFrame({"billing_currency": ["USD", "EUR"], "budget": [100.0, 90.0]})
    r = budget_status(df, budget=table).set_index("billing_currency")
    assert r.loc["EUR", "budget"] == 90.0


def test_budget_status_as_of_and_run_rate():
    days = pd.date_range("2026-04-01", "2026-04-20", tz="UTC")
    df = frame([(d, "req", "W", 1, 10.0) for d in days])
    s = budget_status(df, budget=120.0, as_of="2026-04-10")
    row = s.iloc[0]
    assert row["actual"] == 100.0 and row["days_elapsed"] == 10
    assert row["forecast"] == pytest.approx(300.0)  # 100 x 30 / 10
    assert row["threshold_crossed"] == 0.8  # 100 >= 0.8 x 120, < 120
    assert row["forecast_threshold"] == 1.0
    assert row["projected_variance"] == pytest.approx(180.0)
    assert not row["complete"]


def test_budget_variance_cumulative_matches_naive_on_sample(sample):
    r = budget_variance(sample, budget=50_000.0, by="account", as_of="2026-03-31")
    mar = r[r["period"] == pd.Timestamp("2026-03-01", tz="UTC")]
    last = mar[mar["date"] == pd.Timestamp("2026-03-31", tz="UTC")].set_index(
        "billing_account_name"
    )
    s = sample[sample["charge_period_start"].dt.strftime("%Y-%m") == "2026-03"]
    naive = s.groupby("billing_account_name", observed=True)["effective_cost"].sum()
    for acct, total in naive.items():
        assert last.loc[acct, "cumulative_actual"] == pytest.approx(total, abs=1e-6)


# ---------------------------------------------------------------------------------------------
# top_movers
# ---------------------------------------------------------------------------------------------


def test_top_movers_orders_by_absolute_change():
    df = frame(
        [
            ("2026-01-05", "a", "A", 1, 100.0),
            ("2026-02-05", "a", "A", 1, 40.0),  # -60
            ("2026-01-05", "b", "B", 1, 10.0),
            ("2026-02-05", "b", "B", 1, 15.0),  # +5
            ("2026-02-05", "c", "C", 1, 20.0),  # new, +20
        ]
    )
    r = top_movers(df, base="2026-01", current="2026-02", by="product", n=2)
    assert r["x_product_family_name"].astype(str).tolist() == ["A", "C"]
    assert r["change"].tolist() == [-60.0, 20.0]
    assert r["status"].tolist() == ["continuing", "new"]
    assert r.loc[0, "relative_change"] == pytest.approx(-0.6)
    assert pd.isna(r.loc[1, "relative_change"])


def test_top_movers_on_sample_finds_stream_retirement(sample):
    r = top_movers(sample, base="2026-06", current="2026-07", by=["account", "product"], n=3)
    top = r.iloc[0]
    assert top["x_product_family_name"] == "Stream" and top["status"] == "retired"
    assert top["billing_account_name"] == "Team Media"


def test_helpers_reject_unknown_dimension():
    df = frame([("2026-01-05", "a", "A", 1, 1.0)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="not a dimension"):
            top_movers(df, base="2026-01", current="2026-02", by="planet")


# ---------------------------------------------------------------------------------------------
# price_volume_mix: the days (calendar) effect, mix against the whole, units, by=item
# ---------------------------------------------------------------------------------------------

# Four days (2-5 March) against five (9-13 March): D1 / D0 = 1.25.
WEEK0 = ("2026-03-02", "2026-03-06")
WEEK1 = ("2026-03-09", "2026-03-14")


def _two_products() -> pd.DataFrame:
    return frame(
        [
            ("2026-03-02", "a", "X", 400.0, 40.0),  # p0 = 0.10
            ("2026-03-13", "a", "X", 600.0, 66.0),  # p1 = 0.11
            ("2026-03-13", "c", "X", 1.0, 5.0),  # new
            ("2026-03-02", "b", "Y", 100.0, 60.0),  # p0 = 0.60
            ("2026-03-13", "b", "Y", 125.0, 75.0),  # p1 = 0.60
            ("2026-03-02", "d", "Y", 2.0, 8.0),  # retired
        ]
    )


def test_price_volume_mix_days_and_mix_worked_by_hand():
    r = price_volume_mix(_two_products(), base=WEEK0, current=WEEK1, by="product")
    r = r.set_index("x_product_family_name")
    assert (r["previous_days"] == 4).all() and (r["days"] == 5).all()
    # X: days = 40 x 0.25 = 10; at base price 600 x 0.10 = 60, price = 66 - 60 = 6
    # Y: days = 60 x 0.25 = 15; 125 x 0.60 = 75, price = 0
    # the whole grows G = (60 + 75) / (50 + 75) - 1 = 0.08 beyond the days
    # X: volume = 50 x 0.08 = 4, mix = 60 - 50 x 1.08 = 6; Y: volume = 6, mix = 75 - 81 = -6
    expected = {
        "X": dict(price=6.0, days=10.0, volume=4.0, mix=6.0, new=5.0, retired=0.0),
        "Y": dict(price=0.0, days=15.0, volume=6.0, mix=-6.0, new=0.0, retired=-8.0),
    }
    for product, effects in expected.items():
        for name, amount in effects.items():
            assert r.loc[product, f"{name}_effect"] == pytest.approx(amount), (product, name)
    assert r.loc["X", ["previous", "current", "change"]].tolist() == pytest.approx([40, 71, 31])
    assert r.loc["Y", ["previous", "current", "change"]].tolist() == pytest.approx([68, 75, 7])
    assert r["mix_effect"].sum() == pytest.approx(0.0, abs=1e-12)
    for product in "XY":
        assert r.loc[product, EFFECTS].sum() == pytest.approx(r.loc[product, "change"])


def test_price_volume_mix_without_by_has_no_mix():
    r = price_volume_mix(_two_products(), base=WEEK0, current=WEEK1).iloc[0]
    assert r["mix_effect"] == 0.0  # the whole is the only group: no share to shift
    assert r[["price_effect", "days_effect", "volume_effect"]].tolist() == pytest.approx(
        [6.0, 25.0, 10.0]
    )
    assert (r["new_effect"], r["retired_effect"], r["change"]) == pytest.approx((5.0, -8.0, 38.0))


def test_price_volume_mix_sample_october_days_effect(sample):
    r = price_volume_mix(sample, base="2026-09", current="2026-10", by="product")
    assert (r["previous_days"] == 30).all() and (r["days"] == 31).all()
    # every product continues: the calendar effect is September's daily run rate x 1 day
    assert r["days_effect"].sum() == pytest.approx(r["previous"].sum() / 30, rel=1e-9)
    assert r["mix_effect"].sum() == pytest.approx(0.0, abs=1e-6)
    assert r["mix_effect"].abs().max() > 100  # products grew at different rates
    assert (r["price_effect"] == 0.0).all()  # no price changed: exactly 0, never -0.00
    effects = r[EFFECTS].sum(axis=1)
    np.testing.assert_allclose(effects.to_numpy(float), r["change"].to_numpy(float), atol=1e-6)


def test_price_volume_mix_refuses_an_item_priced_in_two_units():
    df = frame(
        [
            ("2026-01-05", "egress", "W", 1000.0, 90.0),
            ("2026-02-05", "egress", "W", 1.0, 90.0),
        ]
    ).assign(pricing_unit=pd.Categorical(["GB", "TB"]))
    with pytest.raises(DataError, match=r"egress.*\['GB', 'TB'\]"):
        price_volume_mix(df, base="2026-01", current="2026-02")
    same = df.assign(pricing_unit=pd.Categorical(["GB", "GB"]))
    assert price_volume_mix(same, base="2026-01", current="2026-02")["price_effect"].notna().all()


def test_price_volume_mix_by_the_item_column():
    df = _two_products()
    r = price_volume_mix(df, base=WEEK0, current=WEEK1, by="metric_id")
    assert r["x_billable_metric_id"].tolist() == ["a", "b", "c", "d"]
    assert list(r.columns[:2]) == ["x_billable_metric_id", "billing_currency"]
    assert r["mix_effect"].tolist() == pytest.approx([6.0, -6.0, 0.0, 0.0])
    d = price_volume_mix(df, base=WEEK0, current=WEEK1, by="metric_id", detail=True)
    assert d.columns.tolist().count("x_billable_metric_id") == 1


def test_price_volume_mix_columns_follow_the_one_order():
    r = price_volume_mix(_two_products(), base=WEEK0, current=WEEK1, by="product")
    assert r.columns.tolist() == [
        "x_product_family_name",
        "billing_currency",
        "previous",
        "current",
        "change",
        *EFFECTS,
        "unknown_items",
        "missing_value_rows",
        "previous_days",
        "days",
    ]


def test_bad_arguments_raise_argument_error_naming_them():
    df = _two_products()
    cases = [
        (lambda: price_volume_mix(df, base="soon", current=WEEK1), "base='soon'"),
        (
            lambda: top_movers(df, base=WEEK0, current=("2026-03-20", "2026-03-10"), by="product"),
            "current=",
        ),
        (lambda: top_movers(df, base=WEEK0, current=WEEK1, by="product", n=-1), "n=-1"),
        (lambda: budget_variance(df, budget="lots"), "'lots'"),
        (lambda: budget_status(df, budget={"2026-03": "x"}), "budget\\['2026-03'\\]"),
        (lambda: budget_status(df, budget=pd.DataFrame({"amount": [1.0]})), "'budget' column"),
        (lambda: budget_variance(df, budget=1.0, freq="billing_period"), "freq='billing_period'"),
        (lambda: period_over_period(df, freq="fortnight"), "freq='fortnight'"),
    ]
    for call, message in cases:
        with pytest.raises(ArgumentError, match=message):
            call()


def test_budget_accepts_a_number_a_mapping_or_a_frame_in_both_helpers():
    df = frame([("2026-04-01", "r", "Workers", 1, 10.0), ("2026-04-01", "r", "R2", 1, 20.0)])
    forms = {
        "number": 300.0,
        "group mapping": {"Workers": 300.0, "R2": 300.0},
        "frame": pd.DataFrame({"product": ["Workers", "R2"], "budget": [300.0, 300.0]}),
    }
    for form in forms.values():
        s = budget_status(df, budget=form, by="product")
        daily = budget_variance(df, budget=form, by="product")
        assert s["budget"].tolist() == [300.0, 300.0]
        assert daily["budget"].tolist() == [300.0, 300.0]
    period = budget_status(df, budget={"2026-04": 600.0})
    assert period["budget"].tolist() == [600.0]
    assert budget_variance(df, budget={"2026-04": 600.0})["budget"].tolist() == [600.0]


def test_budget_mapping_with_by_reads_periods_when_no_key_is_a_group():
    df = frame([("2026-04-01", "r", "Workers", 1, 10.0), ("2026-04-01", "r", "R2", 1, 20.0)])
    s = budget_status(df, budget={"2026-04": 50.0}, by="product")
    assert s["budget"].tolist() == [50.0, 50.0]  # before: NA for both (keys read as products)
    partly = budget_status(df, budget={"Workers": 30.0, "Images": 9.0}, by="product")
    assert partly.set_index("x_product_family_name")["budget"].isna().to_dict() == {
        "R2": True,
        "Workers": False,
    }
    with pytest.raises(ArgumentError, match="no key of \\['Wrokers'\\]"):
        budget_status(df, budget={"Wrokers": 30.0}, by="product")
