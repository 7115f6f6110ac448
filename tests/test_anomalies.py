"""Tests for cfusage.anomalies: hand-worked series, properties, a naive twin, the planted spike."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from cfusage.analysis._anomalies import MAD_SCALE, anomalies, describe_anomalies
from cfusage.errors import MissingColumnsError

_SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)


def series(costs, metric="R2 Class A Operations", start="2026-03-01", account="Acme"):
    """One row per day for one metric and account: a typed usage frame."""
    days = pd.date_range(start, periods=len(costs), tz="UTC").as_unit("us")
    return pd.DataFrame(
        {
            "charge_period_start": days,
            "x_billable_metric_name": pd.Categorical([metric] * len(costs)),
            "billing_account_name": pd.Categorical([account] * len(costs)),
            "billing_currency": pd.Categorical(["USD"] * len(costs)),
            "effective_cost": pd.array(costs, dtype="Float64"),
        }
    )


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    cfsample = pytest.importorskip("cfusage.sample")
    return cfsample.load()


def test_spike_scored_by_hand():
    costs = [10.0, 12.0, 11.0, 13.0, 9.0, 10.0, 11.0, 50.0]
    r = anomalies(series(costs), window=7, min_history=7)
    last = r.iloc[-1]
    hist = np.array(costs[:7])
    med = np.median(hist)  # 11
    mad = np.median(np.abs(hist - med))  # 1
    scale = max(MAD_SCALE * mad, 0.05 * med, 1.0 / 3.5)
    assert last["expected"] == med
    assert last["score"] == pytest.approx((50.0 - med) / scale)
    assert last["upper"] == pytest.approx(med + 3.5 * scale)
    assert last["lower"] == pytest.approx(med - 3.5 * scale)
    assert last["ratio"] == pytest.approx(50.0 / 11.0)
    assert last["direction"] == "spike" and last["is_anomaly"]
    assert last["history"] == 7
    assert r["score"].iloc[:7].isna().all()  # not enough history yet
    assert not r["is_anomaly"].iloc[:7].any()


def test_drop_is_flagged():
    r = anomalies(series([100.0] * 20 + [5.0]))
    last = r.iloc[-1]
    assert last["direction"] == "drop" and last["is_anomaly"] and last["score"] < -3.5


def test_small_absolute_jump_is_not_flagged():
    # 0.01 -> 0.10 is 10x, but below min_cost
    r = anomalies(series([0.01] * 20 + [0.10]), min_cost=1.0)
    assert not r["is_anomaly"].any()
    assert r.iloc[-1]["ratio"] == pytest.approx(10.0)


def test_missing_days_filled_with_zero_only_after_group_starts():
    a = series([10.0] * 10, account="A", start="2026-03-01")
    b = series([10.0] * 5, account="B", start="2026-03-06")
    df = pd.concat([a, b.iloc[[0, 1, 3, 4]]], ignore_index=True)  # B misses 2026-03-08
    df["billing_account_name"] = df["billing_account_name"].astype("category")
    r = anomalies(df, by="account")
    rb = r[r["billing_account_name"] == "B"]
    assert rb["period"].min() == pd.Timestamp("2026-03-06", tz="UTC")  # no rows before it existed
    gap = rb[rb["period"] == pd.Timestamp("2026-03-08", tz="UTC")].iloc[0]
    assert gap["actual"] == 0.0 and gap["filled"]
    assert len(r[r["billing_account_name"] == "A"]) == 10


def test_day_without_cost_is_not_scored_nor_zero():
    costs = [10.0] * 10 + [None] + [10.0] * 3
    with pytest.warns(UserWarning, match="no effective_cost"):
        r = anomalies(series(costs))
    row = r.iloc[10]
    assert pd.isna(row["actual"]) and pd.isna(row["score"]) and not row["is_anomaly"]
    assert r.iloc[11]["history"] == 10  # the NA day is not history either


def test_missing_value_column_raises():
    df = series([1.0, 2.0]).drop(columns="effective_cost")
    with pytest.raises(MissingColumnsError, match="effective_cost"):
        anomalies(df)


def test_bad_window_raises():
    with pytest.raises(ValueError, match="min_history"):
        anomalies(series([1.0] * 5), window=5, min_history=6)


def test_weekly_grain_sums_days():
    r = anomalies(series([1.0] * 70), freq="W", min_history=1)
    assert (r["period"].dt.day_of_week == 0).all()
    assert r["actual"].iloc[1] == 7.0  # a full week


def test_does_not_mutate_input():
    df = series([10.0] * 30 + [100.0])
    before = df.copy()
    anomalies(df, by=["metric", "account"])
    pd.testing.assert_frame_equal(df, before)


@_SETTINGS
@given(st.floats(0.0, 1e5, allow_nan=False), st.integers(8, 60))
def test_constant_series_flags_nothing(level, days):
    r = anomalies(series([level] * days))
    assert not r["is_anomaly"].any()
    assert (r["score"].dropna() == 0).all()


@_SETTINGS
@given(
    st.floats(1.0, 1e4, allow_nan=False),
    st.integers(10, 40),
    st.lists(st.floats(0.8, 1.2), min_size=60, max_size=60),
)
def test_injected_10x_spike_is_flagged(level, at, noise):
    costs = [level * f for f in noise]
    costs[at] = level * 10
    r = anomalies(series(costs), min_cost=1.0)
    assert r.iloc[at]["is_anomaly"] and r.iloc[at]["direction"] == "spike"


def _naive(df, by, window=28, min_cost=1.0, threshold=3.5, min_history=7):
    """Loop over groups and days: the same rules without vectorisation."""
    out = []
    for key, part in df.groupby(by, observed=True):
        daily = part.groupby(part["charge_period_start"].dt.floor("D"))["effective_cost"].sum()
        full = pd.date_range(daily.index.min(), df["charge_period_start"].max(), freq="D")
        x = daily.reindex(full, fill_value=0.0).to_numpy(float)
        for i in range(len(x)):
            hist = x[max(0, i - window) : i]
            if len(hist) < min_history:
                out.append((key, full[i], np.nan, False))
                continue
            med = np.median(hist)
            mad = np.median(np.abs(hist - med))
            scale = max(MAD_SCALE * mad, 0.05 * abs(med), min_cost / threshold)
            score = (x[i] - med) / scale
            flag = abs(score) > threshold and abs(x[i] - med) >= min_cost
            out.append((key, full[i], score, flag))
    return pd.DataFrame(out, columns=["key", "period", "score", "flag"])


def test_matches_naive_loop_on_random_groups():
    rng = np.random.default_rng(3)
    frames = []
    for acct in ["A", "B", "C"]:
        n = int(rng.integers(20, 60))
        costs = rng.gamma(2.0, 5.0, n)
        costs[rng.integers(0, n)] *= 12
        s = series(list(costs), account=acct, start=f"2026-01-{int(rng.integers(1, 20)):02d}")
        frames.append(s.drop(index=rng.integers(0, n, 3), errors="ignore"))  # a few gaps
    df = pd.concat(frames, ignore_index=True).astype({"billing_account_name": "category"})
    r = anomalies(df, by="account")
    naive = _naive(df, "billing_account_name")
    assert len(r) == len(naive)
    np.testing.assert_allclose(
        r["score"].to_numpy(float, na_value=np.nan), naive["score"].to_numpy(float), rtol=1e-12
    )
    assert r["is_anomaly"].tolist() == naive["flag"].tolist()


def test_planted_sample_spike_is_found_and_nothing_small_is_flagged(sample):
    r = anomalies(sample, by=["metric", "account"])
    hit = r[
        (r["period"] == pd.Timestamp("2026-03-14", tz="UTC"))
        & (r["x_billable_metric_name"] == "R2 Class A Operations")
        & (r["billing_account_name"] == "Team Data")
    ].iloc[0]
    assert hit["is_anomaly"] and hit["direction"] == "spike" and hit["ratio"] > 5
    flagged = r[r["is_anomaly"]]
    assert ((flagged["actual"] - flagged["expected"]).abs() >= 1.0).all()
    # the planted spike is the strongest anomaly, and the first sentence
    sentences = describe_anomalies(r)
    assert sentences[0].startswith("R2 Class A Operations in account Team Data were ")
    assert "on 2026-03-14" in sentences[0]


def test_describe_anomalies_sentences_and_episodes():
    df = pd.concat(
        [
            series([10.0] * 20 + [95.0] + [10.0] * 5, metric="Workers Requests"),
            series([100.0] * 20 + [0.0] * 3 + [100.0] * 3, metric="Stream Minutes"),
        ],
        ignore_index=True,
    ).astype({"x_billable_metric_name": "category"})
    r = anomalies(df, by=["account", "metric"])
    text = describe_anomalies(r)
    assert text[0] == (
        "Workers Requests in account Acme were 9.5x their usual level on 2026-03-21 "
        "(95.00 USD against a usual 10.00 USD)."
    )
    assert text[1] == (
        "Stream Minutes in account Acme fell to 0% of their usual level on 2026-03-21 "
        "(0.00 USD against a usual 100.00 USD); anomalous 3 days in a row, "
        "2026-03-21 to 2026-03-23."
    )
    assert describe_anomalies(r, n=1) == text[:1]
    assert describe_anomalies(r[~r["is_anomaly"]]) == []
