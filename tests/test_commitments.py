"""commitment_burndown: the balance left, day by day, agrees with amortize_commitment."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import cfusage
from cfusage.analysis._commitments import commitment_burndown


def _usage(costs: list[float | None], start: str = "2026-01-01") -> pd.DataFrame:
    n = len(costs)
    return pd.DataFrame(
        {
            "charge_period_start": pd.date_range(start, periods=n, freq="D", tz="UTC"),
            "charge_category": pd.Categorical(["Usage"] * n),
            "billing_currency": pd.Categorical(["USD"] * n),
            "contracted_cost": pd.array(costs, dtype="Float64"),
        }
    )


def _commitment(kind: str, amount: float, days: int, start: str = "2026-01-01") -> pd.DataFrame:
    t0 = pd.Timestamp(start, tz="UTC")
    return pd.DataFrame(
        {
            "commitment_id": ["c1"],
            "kind": [kind],
            "amount": [amount],
            "currency": ["USD"],
            "term_start": [t0],
            "term_end": [t0 + pd.Timedelta(days=days)],
        }
    )


def test_prepaid_balance_by_hand_with_projection():
    b = commitment_burndown(_usage([3.0, 5.0]), commitments=_commitment("prepaid_balance", 20, 4))
    assert b["drawn"].tolist() == [3.0, 5.0, 4.0, 4.0]  # rate (3 + 5) / 2 projected
    assert b["balance"].tolist() == [17.0, 12.0, 8.0, 4.0]
    assert b["projected"].tolist() == [False, False, True, True]
    assert b["projected_unused"].iloc[0] == 4.0
    assert pd.isna(b["exhausted_on"].iloc[0])


def test_prepaid_balance_exhausted_before_the_term_ends():
    b = commitment_burndown(_usage([6.0, 6.0]), commitments=_commitment("prepaid_balance", 20, 5))
    # 20 - 6 - 6 = 8 left; the rate 6 draws 6, then the last 2: gone on day 4 of 5
    assert b["drawn"].tolist() == [6.0, 6.0, 6.0, 2.0, 0.0]
    assert b["exhausted_on"].iloc[0] == pd.Timestamp("2026-01-04", tz="UTC")
    assert b["projected_unused"].iloc[0] == 0.0


def test_use_it_or_lose_it_loses_each_days_unused_share():
    # 30 over 3 days: a share of 10 a day; day 1 draws 4 (6 lost), day 2 draws 12 (capped at 10)
    b = commitment_burndown(
        _usage([4.0, 12.0]), commitments=_commitment("use_it_or_lose_it", 30, 3)
    )
    assert b["drawn"].tolist()[:2] == [4.0, 10.0]
    assert b["lost"].tolist()[:2] == [6.0, 0.0]
    # projected day 3 draws the rate 7 = (4 + 10) / 2, loses 3
    assert b["drawn"].iloc[2] == 7.0 and b["lost"].iloc[2] == 3.0
    assert b["projected_unused"].iloc[0] == 9.0
    assert b["balance"].iloc[-1] == 0.0


def test_an_unknown_draw_makes_every_later_balance_unknown():
    b = commitment_burndown(
        _usage([3.0, None, 5.0]), commitments=_commitment("prepaid_balance", 20, 3)
    )
    assert b["balance"].iloc[0] == 17.0
    assert b["balance"].iloc[1:].isna().all()
    assert b["projected_unused"].isna().all()
    assert b["unknown_days"].iloc[0] >= 1


def test_sample_burndown_agrees_with_amortize_commitment_and_a_naive_sum():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = cfusage.sample.load()
        commitments = cfusage.sample.COMMITMENTS
        b = commitment_burndown(df, commitments=commitments)
        allocated = cfusage.amortize_commitment(df, commitments=commitments)
    unused = allocated.loc[allocated["commitment_status"].astype("str") == "Unused"]
    end = b.iloc[-1]
    assert not end["projected"]  # the sample covers the whole term
    assert end["balance"] == pytest.approx(float(unused["effective_cost"].sum()), abs=1e-6)
    # independently: the fee less the contracted cost of the usage in scope and term
    c = commitments.iloc[0]
    scope = (
        (df["billing_account_id"].astype("str") == c["billing_account_id"])
        & df["x_product_family_name"].astype("str").isin(c["x_product_family_name"].split("|"))
        & (df["charge_category"].astype("str") == "Usage")
        & df["charge_class"].isna()
        & (df["charge_period_start"] >= c["term_start"])
        & (df["charge_period_start"] < c["term_end"])
    )
    naive = float(c["amount"]) - float(df.loc[scope, "contracted_cost"].sum())
    assert end["balance"] == pytest.approx(naive, abs=1e-6)
    assert len(b) == (c["term_end"] - c["term_start"]).days


def test_sample_projection_from_mid_term_uses_the_last_30_days_rate():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = cfusage.sample.load()
        b = commitment_burndown(df, commitments=cfusage.sample.COMMITMENTS, as_of="2026-06-30")
    actual = b.loc[~b["projected"]]
    assert actual["period"].max() == pd.Timestamp("2026-06-30", tz="UTC")
    rate = float(np.mean(actual["drawn"].to_numpy(float)[-30:]))
    assert b["drawdown_rate"].iloc[0] == pytest.approx(rate)
    projected = b.loc[b["projected"], "drawn"].to_numpy(float)
    assert np.allclose(projected, rate)
    days_left = len(projected)
    expected_end = float(actual["balance"].iloc[-1]) - rate * days_left
    assert b["projected_balance_at_end"].iloc[0] == pytest.approx(expected_end)


def test_rate_window_must_be_positive():
    with pytest.raises(cfusage.ArgumentError, match="rate_window"):
        commitment_burndown(
            _usage([1.0]), commitments=_commitment("prepaid_balance", 5, 2), rate_window=0
        )


def test_the_burndown_chart_draws_actual_projected_and_the_day_it_runs_out():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from cfusage import plots

    b = commitment_burndown(_usage([6.0, 6.0]), commitments=_commitment("prepaid_balance", 20, 5))
    ax = plots.commitment_burndown(b, ax=Figure().add_subplot())
    lines = {line.get_gid(): line for line in ax.lines}
    assert list(lines["balance"].get_ydata()) == [14.0, 8.0]
    assert list(lines["projected"].get_ydata()) == [8.0, 2.0, 0.0, 0.0]  # from the last actual day
    assert list(lines["exhausted"].get_ydata()) == [0.0]
    assert "projected unused" in ax.get_title(loc="left")
    with pytest.raises(cfusage.DataError, match="commitment="):
        plots.commitment_burndown(b, commitment="nope", ax=Figure().add_subplot())
