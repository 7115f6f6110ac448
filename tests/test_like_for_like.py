"""period_over_period compares like with like (issue 10, section 3): expectations by hand.

The rule (period_over_period's docstring): a complete period against the complete previous
period; a partial one against the same days of the previous period, or by daily averages where
the previous period is shorter or itself partial; partial periods flagged with their day
counts; "complete through" derived from the data and never from a stale attribute.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from cfusage.analysis._variance import period_over_period
from cfusage.errors import ArgumentError

DTYPES = {
    "charge_period_start": "datetime64[us, UTC]",
    "x_product_family_name": "category",
    "billing_currency": "category",
    "effective_cost": "Float64",
}


def daily(first: str, last: str, cost, product: str = "Workers") -> pd.DataFrame:
    """One row a day from ``first`` to ``last``; ``cost(day)`` gives each day's cost."""
    days = pd.date_range(first, last, tz="UTC")
    return pd.DataFrame(
        {
            "charge_period_start": days,
            "x_product_family_name": product,
            "billing_currency": "USD",
            "effective_cost": [cost(d) for d in days],
        }
    ).astype(DTYPES)


def row(result: pd.DataFrame, period: str) -> pd.Series:
    rows = result[result["period"] == pd.Timestamp(period, tz="UTC")]
    assert len(rows) == 1, rows
    return rows.iloc[0]


def test_a_complete_june_is_compared_with_all_of_may():
    # usage("2026-01-01", "2026-06-30"): May costs 1 a day (31), June 2 a day (60).
    df = daily("2026-01-01", "2026-06-30", lambda d: 1.0 if d.month <= 5 else 2.0)
    df.attrs["cfusage"] = {"complete_through": dt.date(2026, 6, 30)}
    june = row(period_over_period(df), "2026-06-01")
    assert (june["previous"], june["current"], june["change"]) == (31.0, 60.0, 29.0)
    assert not june["partial"] and june["basis"] == "full periods"
    assert (june["days"], june["previous_days"]) == (30, 31)  # before: May 1-30, 30.0


def test_b_partial_march_against_a_shorter_february_uses_daily_averages():
    # February 10 a day (280); March 1-29 10.32 a day (299.28): +3.2 % a day, not +6.9 %.
    df = daily("2026-02-01", "2026-03-29", lambda d: 10.0 if d.month == 2 else 10.32)
    march = row(period_over_period(df), "2026-03-01")
    assert march["partial"] and march["basis"] == "daily average"
    assert (march["days"], march["previous_days"]) == (29, 28)
    assert march["previous"] == pytest.approx(280.0 * 29 / 28)  # 290
    assert march["current"] == pytest.approx(299.28)
    assert march["relative_change"] == pytest.approx(0.032)


def test_b_partial_month_with_the_same_days_in_the_previous_month():
    # 1-20 June against 1-20 May (May costs its day of month, June 1 a day)
    df = daily("2026-05-01", "2026-06-20", lambda d: float(d.day) if d.month == 5 else 1.0)
    june = row(period_over_period(df), "2026-06-01")
    assert june["partial"] and june["basis"] == "same days"
    assert (june["days"], june["previous_days"]) == (20, 20)
    assert june["previous"] == sum(range(1, 21))  # 210, not May's 496
    assert june["current"] == 20.0


def test_c_a_frame_that_starts_mid_month():
    # 16-31 January at 10 a day (160), February at 9.6 a day (268.8): -4 % a day, not +68 %.
    df = daily("2026-01-16", "2026-02-28", lambda d: 10.0 if d.month == 1 else 9.6)
    r = period_over_period(df)
    jan, feb = row(r, "2026-01-01"), row(r, "2026-02-01")
    assert jan["partial"] and jan["days"] == 16 and pd.isna(jan["previous"])
    assert not feb["partial"] and feb["basis"] == "daily average"
    assert (feb["days"], feb["previous_days"]) == (28, 16)
    assert feb["previous"] == pytest.approx(160.0 * 28 / 16)  # 280
    assert feb["change"] == pytest.approx(268.8 - 280.0)
    assert feb["relative_change"] == pytest.approx(-0.04)


def test_c_a_week_with_three_days_of_data_at_the_start():
    # Friday 6 to Sunday 8 March at 7 a day (21), then the week of 9 March at 6 a day (42)
    df = daily("2026-03-06", "2026-03-15", lambda d: 7.0 if d.day <= 8 else 6.0)
    r = period_over_period(df, freq="W")
    first, second = row(r, "2026-03-02"), row(r, "2026-03-09")
    assert first["partial"] and first["days"] == 3
    assert second["basis"] == "daily average" and second["previous_days"] == 3
    assert second["previous"] == pytest.approx(21.0 * 7 / 3)  # 49
    assert second["relative_change"] == pytest.approx(42.0 / 49.0 - 1)


def test_c_a_week_with_three_days_of_data_at_the_end():
    # Monday 2 to Sunday 8 March cost 1..7; Monday 9 to Wednesday 11 cost 2 a day.
    df = daily("2026-03-02", "2026-03-11", lambda d: float(d.day - 1) if d.day <= 8 else 2.0)
    last = row(period_over_period(df, freq="W"), "2026-03-09")
    assert last["partial"] and last["basis"] == "same days"
    assert (last["days"], last["previous_days"]) == (3, 3)
    assert (last["previous"], last["current"]) == (1.0 + 2.0 + 3.0, 6.0)


def test_d_a_filtered_frame_does_not_keep_a_stale_complete_through():
    df = daily("2026-04-01", "2026-08-20", lambda d: 1.0)
    df.attrs["cfusage"] = {"complete_through": dt.date(2026, 8, 20)}
    cut = df[df["charge_period_start"] <= "2026-06-30"]
    assert cut.attrs["cfusage"]["complete_through"] == dt.date(2026, 8, 20)  # the stale attrs
    r = period_over_period(cut)
    assert r["period"].max() == pd.Timestamp("2026-06-01", tz="UTC")  # no July row
    assert (r["status"] != "retired").all()
    june = row(r, "2026-06-01")
    assert not june["partial"] and (june["previous"], june["current"]) == (31.0, 30.0)
    assert r.attrs["cfusage"]["complete_through"] == dt.date(2026, 6, 30)


def test_d_an_earlier_complete_through_still_wins_over_the_last_day():
    # the source says 18 June is the last complete day: 19-20 June are left out
    df = daily("2026-05-01", "2026-06-20", lambda d: 1.0)
    df.attrs["cfusage"] = {"complete_through": dt.date(2026, 6, 18)}
    june = row(period_over_period(df), "2026-06-01")
    assert june["days"] == 18 and june["current"] == 18.0 and june["previous"] == 18.0


def test_as_of_after_the_data_counts_days_without_rows_as_no_usage():
    df = daily("2026-05-01", "2026-06-10", lambda d: 1.0)
    june = row(period_over_period(df, as_of="2026-06-30"), "2026-06-01")
    assert not june["partial"] and june["basis"] == "full periods"
    assert (june["previous"], june["current"]) == (31.0, 10.0)


def test_as_of_before_the_data_is_refused_naming_it():
    df = daily("2026-05-01", "2026-06-10", lambda d: 1.0)
    with pytest.raises(ArgumentError, match="as_of='2026-04-01'"):
        period_over_period(df, as_of="2026-04-01")


def test_sample_last_complete_month_and_month_to_date(sample):
    r = period_over_period(sample)  # the sample is complete through 23 November 2026
    months = sample.assign(m=sample["charge_period_start"].dt.strftime("%Y-%m"))
    total = months.groupby("m")["effective_cost"].sum()
    october = row(r, "2026-10-01")
    assert october["basis"] == "full periods" and (october["days"], october["previous_days"]) == (
        31,
        30,
    )
    assert october["previous"] == pytest.approx(total["2026-09"], abs=1e-6)
    november = row(r, "2026-11-01")
    assert november["partial"] and november["basis"] == "same days" and november["days"] == 23
    day = sample["charge_period_start"]
    oct_1_23 = sample.loc[(day >= "2026-10-01") & (day < "2026-10-24"), "effective_cost"].sum()
    assert november["previous"] == pytest.approx(oct_1_23, abs=1e-6)


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    cfsample = pytest.importorskip("cfusage.sample")
    return cfsample.load()
