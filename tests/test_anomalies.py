"""Tests for cfusage.anomalies: hand-worked series, properties, a naive twin, the planted spike."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from cfusage.analysis._anomalies import MAD_SCALE, anomalies, describe_anomalies
from cfusage.errors import ArgumentError, MissingColumnsError
from tests.naive import naive_anomalies as _naive

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
    scale = max(MAD_SCALE * mad, 0.10 * med, 1.0 / 3.5)
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


def test_matches_naive_loop_on_random_groups():
    rng = np.random.default_rng(3)
    frames = []
    for acct in ["A", "B", "C"]:
        n = int(rng.integers(30, 90))
        start = pd.Timestamp(f"2026-01-{int(rng.integers(1, 20)):02d}", tz="UTC")
        days = pd.date_range(start, periods=n, tz="UTC")
        trend = np.linspace(1.0, float(rng.uniform(0.7, 1.6)), n)
        weekend = np.where(days.day_of_week >= 5, 0.6, 1.0)
        costs = rng.gamma(8.0, 5.0, n) * trend * weekend
        costs[rng.integers(0, n)] *= 12
        s = series(list(costs), account=acct, start=str(start.date()))
        frames.append(s.drop(index=rng.integers(0, n, 3), errors="ignore"))  # a few gaps
    df = pd.concat(frames, ignore_index=True).astype({"billing_account_name": "category"})
    r = anomalies(df, by="account")
    naive = _naive(df, "billing_account_name")
    assert len(r) == len(naive)
    assert (r["period"].to_numpy() == naive["period"].to_numpy()).all()
    np.testing.assert_allclose(
        r["score"].to_numpy(float, na_value=np.nan), naive["score"].to_numpy(float), rtol=1e-9
    )
    assert r["is_anomaly"].tolist() == naive["flag"].tolist()
    assert (r["weekday_factor"].dropna() != 1.0).any()  # the weekly factors were exercised


@pytest.fixture(scope="module")
def sample_scored(sample) -> pd.DataFrame:
    return anomalies(sample, by=["metric", "account"])


def test_planted_sample_spike_is_found_and_nothing_small_is_flagged(sample_scored):
    r = sample_scored
    hit = r[
        (r["period"] == pd.Timestamp("2026-03-14", tz="UTC"))
        & (r["x_billable_metric_name"] == "R2 Class A Operations")
        & (r["billing_account_name"] == "Team Data")
    ].iloc[0]
    assert hit["is_anomaly"] and hit["direction"] == "spike" and hit["ratio"] > 5
    flagged = r[r["is_anomaly"]]
    pre = flagged["actual"] + flagged["allowance"]
    usual = pre / flagged["ratio"]
    assert ((pre - usual).abs().dropna() >= 1.0).all()


def test_sample_planted_spike_is_the_top_event_and_weekends_are_quiet(sample, sample_scored):
    """Issue 10 §6. Before: 247 flagged days, 102 weekend dips, 101 first-of-month resets, the
    retirement as 28 daily drops, a Saturday on top. Now: the spike on top, <= 5 weekend or
    first-of-month days flagged outside the planted lifecycle events, no weekend dip at all."""
    from cfusage.sample import EVENTS

    r = sample_scored
    events = describe_anomalies(r, n=None)
    top = events.iloc[0]
    spike = EVENTS["spike"]
    assert top["kind"] == "spike" and top["start"] == pd.Timestamp(spike["date"])
    assert top["billing_account_name"] == spike["billing_account_name"]
    assert top["x_billable_metric_name"] == "R2 Class A Operations"
    # the biggest |impact| among the anomalies (spikes and drops) is the planted spike
    plain = events[events["kind"].isin(["spike", "drop"])]
    assert plain["impact"].abs().idxmax() == 0
    # flagged days that fall on a weekend or a 1st, outside the planted starts and stops
    life = events[events["kind"].isin(["started", "stopped"])]
    in_life = np.zeros(len(r), dtype=bool)
    for e in life.itertuples():
        in_life |= (
            (r["x_billable_metric_name"] == e.x_billable_metric_name)
            & (r["billing_account_name"] == e.billing_account_name)
            & (r["period"].dt.tz_localize(None) >= e.start)
            & (r["period"].dt.tz_localize(None) <= e.end)
        ).to_numpy()
    flagged = r["is_anomaly"].to_numpy() & ~in_life
    day = r["period"]
    calendar_days = ((day.dt.day_of_week >= 5) | (day.dt.day == 1)).to_numpy()
    assert int((flagged & calendar_days).sum()) <= 5
    weekend_drops = flagged & (day.dt.day_of_week >= 5).to_numpy() & (r["score"] < 0).to_numpy()
    assert int(weekend_drops.sum()) == 0
    first_drops = flagged & (day.dt.day == 1).to_numpy() & (r["score"] < 0).to_numpy()
    assert int(first_drops.sum()) == 0
    # far fewer flagged days than the 247 before, and every event is one row, not one per day
    assert int(r["is_anomaly"].sum()) < 150
    assert events["periods"].sum() == int(r["is_anomaly"].sum())


def test_sample_adoption_retirement_and_new_account_are_events(sample_scored):
    from cfusage.sample import EVENTS

    events = describe_anomalies(sample_scored, n=None)
    started = events[events["kind"] == "started"]
    stopped = events[events["kind"] == "stopped"]
    adopted = started[started["x_billable_metric_name"] == "Workers AI Neurons"]
    assert len(adopted) == 1
    assert adopted["start"].iloc[0] == pd.Timestamp(EVENTS["adoption"]["date"])
    assert adopted["billing_account_name"].iloc[0] == "Team AI"
    # the retired product is one event per metric, not 28 daily drops
    assert set(stopped["x_billable_metric_name"]) == {
        "Stream Minutes Delivered",
        "Stream Minutes Stored",
    }
    last = pd.Timestamp(EVENTS["retirement"]["last_date"])
    assert (stopped["start"] == last + pd.Timedelta(days=1)).all()
    assert (stopped["impact"] < 0).all()
    created = started[
        started["billing_account_name"] == EVENTS["account_created"]["billing_account_name"]
    ]
    assert len(created) >= 6
    assert (created["start"] == pd.Timestamp(EVENTS["account_created"]["date"])).all()
    # the lifecycle changes rank after the anomalies
    kinds = events["kind"].astype(str).tolist()
    first_life = min(kinds.index("started"), kinds.index("stopped"))
    assert set(kinds[first_life:]) <= {"started", "stopped"}


def test_describe_anomalies_sentences_and_events():
    """Issue 9 §8: a frame, not a bare list. Multi-day runs are described whole (start, end,
    total and impact) instead of by their peak alone (the old behaviour, updated here)."""
    df = pd.concat(
        [
            series([10.0] * 20 + [95.0] + [10.0] * 5, metric="Workers Requests"),
            series([100.0] * 20 + [0.0] * 3 + [100.0] * 3, metric="Stream Minutes"),
        ],
        ignore_index=True,
    ).astype({"x_billable_metric_name": "category"})
    r = anomalies(df, by=["account", "metric"])
    events = describe_anomalies(r)
    assert isinstance(events, pd.DataFrame)
    assert list(events.columns) == [
        "start",
        "end",
        "billing_account_name",
        "x_billable_metric_name",
        "billing_currency",
        "kind",
        "periods",
        "actual",
        "expected",
        "impact",
        "peak",
        "score",
        "ratio",
        "description",
    ]
    # ranked by |impact|: the 3-day drop (-300) before the 1-day spike (+85)
    assert events["kind"].astype(str).tolist() == ["drop", "spike"]
    drop, spike = events.iloc[0], events.iloc[1]
    assert (drop["start"], drop["end"]) == (pd.Timestamp("2026-03-21"), pd.Timestamp("2026-03-23"))
    assert drop["periods"] == 3 and drop["actual"] == 0.0 and drop["expected"] == 300.0
    assert drop["impact"] == -300.0
    assert spike["impact"] == 85.0 and spike["peak"] == pd.Timestamp("2026-03-21")
    assert spike["description"] == (
        "Workers Requests in account Acme were 9.5x their usual level on 2026-03-21 "
        "(95.00 USD against a usual 10.00 USD)."
    )
    assert drop["description"] == (
        "Stream Minutes in account Acme fell to 0% of their usual level at the lowest, from "
        "2026-03-21 to 2026-03-23 (3 days: 0.00 USD against a usual 300.00 USD, -300.00 USD)."
    )
    assert describe_anomalies(r, n=1)["description"].tolist() == [drop["description"]]
    assert len(describe_anomalies(r, n=None)) == 2
    none = describe_anomalies(r[~r["is_anomaly"]])
    assert none.empty and list(none.columns) == list(events.columns)


def test_result_keys_come_first_in_order():
    """Issue 9 §2: period, the by keys in the order given, billing_currency, then figures."""
    r = anomalies(series([10.0] * 10), by=["account", "metric"])
    assert list(r.columns[:5]) == [
        "period",
        "billing_account_name",
        "x_billable_metric_name",
        "billing_currency",
        "actual",
    ]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"window": 0},
        {"window": 5, "min_history": 6},
        {"threshold": 0},
        {"min_cost": -1.0},
        {"freq": "billing_period"},
        {"freq": "fortnight"},
        {"by": "no_such_dimension"},
    ],
)
def test_bad_arguments_raise_argument_error(kwargs):
    with pytest.raises(ArgumentError):
        anomalies(series([1.0] * 10), **kwargs)


def test_describe_bad_n_raises_argument_error():
    with pytest.raises(ArgumentError):
        describe_anomalies(anomalies(series([1.0] * 10)), n=-1)


def _weekly(weeks=10, weekday=100.0, weekend=50.0):
    """Weekdays at ``weekday``, Saturdays and Sundays at ``weekend``, from a Monday."""
    days = pd.date_range("2026-03-02", periods=7 * weeks, tz="UTC")  # a Monday
    return [weekend if d.day_of_week >= 5 else weekday for d in days]


def test_weekend_rhythm_is_expected_not_flagged():
    costs = _weekly()
    r = anomalies(series(costs, start="2026-03-02"))
    # the factors need 3 of each weekday: the first 3 weeks are scored without them
    warm = r["period"] < pd.Timestamp("2026-03-23", tz="UTC")
    assert (r.loc[warm, "weekday_factor"].dropna() == 1.0).all()
    assert not r.loc[~warm, "is_anomaly"].any()
    # after 8 weeks: Saturday's factor = median of 8 Saturdays / median of the 56 days = 50/100
    sat = r[
        (r["period"] >= pd.Timestamp("2026-04-27", tz="UTC")) & (r["period"].dt.day_of_week == 5)
    ]
    assert (sat["weekday_factor"] == 0.5).all() and (sat["expected"] == 50.0).all()
    # without the weekly model, the weekend is a dip every week (the bug of issue 10 §6)
    flat = anomalies(series(costs, start="2026-03-02"), seasonality=False)
    flagged = flat[flat["is_anomaly"] & ~warm]
    assert len(flagged) > 0 and (flagged["period"].dt.day_of_week >= 5).all()


def test_a_real_weekend_dip_is_still_flagged_by_hand():
    costs = _weekly()
    costs[-2] = 10.0  # the last Saturday
    r = anomalies(series(costs, start="2026-03-02"))
    last_sat = r.iloc[-2]
    # deseasonalised history is flat at 100, MAD 0; f = 0.5: usual 50, scale = 10 % of 50 = 5
    assert last_sat["expected"] == 50.0
    assert last_sat["score"] == pytest.approx((10.0 - 50.0) / 5.0)
    assert last_sat["lower"] == pytest.approx(50.0 - 3.5 * 5.0)
    assert last_sat["is_anomaly"] and last_sat["direction"] == "drop"
    after_warm_up = r["period"] >= pd.Timestamp("2026-03-23", tz="UTC")
    assert r.loc[after_warm_up, "is_anomaly"].sum() == 1


def _with_allowance(months=("2026-01", "2026-02", "2026-03", "2026-04"), free=2.5e6):
    """1M requests a day at 1.0 per 100K requests (10.0 a day), ``free`` requests free a month."""
    rows = []
    for month in months:
        days = pd.date_range(f"{month}-01", pd.Timestamp(f"{month}-01") + pd.offsets.MonthEnd(0))
        left = free
        for d in days:
            consumed = 1e6
            covered = min(left, consumed)
            left -= covered
            pq = (consumed - covered) / 1e5
            rows.append((d.tz_localize("UTC"), consumed, pq, 1.0, pq * 1.0))
    df = pd.DataFrame(
        rows,
        columns=[
            "charge_period_start",
            "consumed_quantity",
            "pricing_quantity",
            "contracted_unit_price",
            "effective_cost",
        ],
    )
    df = df.astype({c: "Float64" for c in df.columns[1:]})
    df["x_billable_metric_id"] = pd.Categorical(["workers_requests"] * len(df))
    df["billing_currency"] = pd.Categorical(["USD"] * len(df))
    return df


def test_free_allowance_reset_is_expected_not_flagged():
    df = _with_allowance()
    r = anomalies(df)
    assert not r["is_anomaly"].any()
    march = r[r["period"].dt.month == 3].reset_index(drop=True)
    # 1 and 2 March wholly free (10.0 each), 3 March half free, then nothing free
    assert march["actual"].tolist()[:4] == [0.0, 0.0, 5.0, 10.0]
    assert march["allowance"].tolist()[:4] == [10.0, 10.0, 5.0, 0.0]
    assert march["expected"].tolist()[:4] == [0.0, 0.0, 5.0, 10.0]
    assert (march["ratio"] == 1.0).all()
    # scoring the billed cost as it is flags the first days of every month (the old bug)
    raw = anomalies(df, allowance=False)
    flagged = raw[raw["is_anomaly"]]
    assert len(flagged) > 0 and (flagged["period"].dt.day <= 3).all()


def test_a_day_with_an_unknown_cost_is_skipped_and_counted_never_zero():
    df = pd.concat(
        [series([10.0] * 20, account="A"), series([5.0] * 9 + [None] + [5.0] * 10, account="A")],
        ignore_index=True,
    )
    with pytest.warns(UserWarning, match="no effective_cost"):
        r = anomalies(df)
    day = r.iloc[9]
    # one of its two rows is unknown: the day's cost is unknown, not 10.0 and not 0
    assert pd.isna(day["actual"]) and pd.isna(day["score"]) and not day["is_anomaly"]
    assert day["missing"] == 1 and r.attrs["cfusage"]["unscored"] == 1
    assert r.iloc[10]["history"] == 9  # not history for the next day either
    assert not r["is_anomaly"].any()


@_SETTINGS
@given(st.lists(st.booleans(), min_size=30, max_size=60))
def test_unknown_periods_are_never_scored(unknown):
    costs = [None if u else 10.0 + (i % 3) for i, u in enumerate(unknown)]
    if all(c is None for c in costs):
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        r = anomalies(series(costs))
    na = np.array(unknown)[len(unknown) - len(r) :]
    assert r["actual"].isna().to_numpy().tolist() == na.tolist()
    assert r.loc[na, "score"].isna().all() and not r.loc[na, "is_anomaly"].any()
    assert r.attrs["cfusage"]["unscored"] == int(na.sum())


def test_new_and_stopped_groups_are_lifecycle_events():
    a = series([10.0] * 40, account="A")
    b = series([20.0] * 20, account="B", start="2026-03-21")  # appears on day 21
    c = series([30.0] * 25, account="C")  # stops after day 25
    df = pd.concat([a, b, c], ignore_index=True).astype({"billing_account_name": "category"})
    r = anomalies(df, by="account")
    assert r[r["billing_account_name"] == "B"]["period"].min() == pd.Timestamp(
        "2026-03-21", tz="UTC"
    )
    events = describe_anomalies(r, n=None)
    assert events["kind"].astype(str).tolist() == ["stopped", "started"]
    stopped, started = events.iloc[0], events.iloc[1]
    assert stopped["billing_account_name"] == "C" and stopped["start"] == pd.Timestamp("2026-03-26")
    # Σ(actual - expected) over the flagged days, by hand from the daily frame
    part = r[(r["billing_account_name"] == "C") & r["is_anomaly"]]
    assert stopped["impact"] == pytest.approx(float((part["actual"] - part["expected"]).sum()))
    assert stopped["impact"] == -30.0 * stopped["periods"]
    assert started["billing_account_name"] == "B" and started["start"] == pd.Timestamp("2026-03-21")
    assert started["impact"] == 20.0 * started["periods"]
    assert "started on 2026-03-21" in started["description"]


def test_a_week_the_data_covers_in_part_is_not_a_drop():
    # Monday 2 March to Tuesday 12 May: the last week has 2 days of data (20.0 against 70.0)
    df = series([10.0] * 72, start="2026-03-02")
    r = anomalies(df, freq="W", min_history=3)
    last = r.iloc[-1]
    assert last["actual"] == 20.0 and pd.isna(last["score"]) and not last["is_anomaly"]
    assert r.attrs["cfusage"]["partial"] == ["2026-05-11"]
    assert not r["is_anomaly"].any()
    # a frame starting on a Wednesday: its first week is partial, and no history either
    r = anomalies(df.iloc[2:], freq="W", min_history=3)
    assert r.attrs["cfusage"]["partial"][0] == "2026-03-02"
    assert r.iloc[3]["history"] == 2  # weeks 2 and 3, not the partial first


def test_a_frame_without_rows_gives_an_empty_result_with_the_columns():
    r = anomalies(series([1.0] * 3).iloc[:0], by="metric")  # before: ValueError from date_range
    assert r.empty and list(r.columns[:3]) == [
        "period",
        "x_billable_metric_name",
        "billing_currency",
    ]
    assert describe_anomalies(r).empty
