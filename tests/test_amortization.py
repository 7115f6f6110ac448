"""Tests for cfusage.amortization: amortize, amortize_commitment, reconcile."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cfusage import sample
from cfusage.analysis._amortization import amortize, amortize_commitment, reconcile
from cfusage.analysis._discounts import discounts
from cfusage.errors import ArgumentError, MissingColumnsError, ValidationError

UTC = "datetime64[us, UTC]"


def _ts(values: list[str]) -> pd.Series:
    return pd.Series(pd.to_datetime(values, utc=True, format="ISO8601")).astype(UTC)


def _costs(values: list[float | None]) -> pd.Series:
    return pd.Series(values, dtype="Float64")


@pytest.fixture(scope="module")
def sample_frame() -> pd.DataFrame:
    return sample.load()


# ---- amortize -------------------------------------------------------------------------------


def test_amortize_quarter_purchase_lands_by_days() -> None:
    fee = pd.DataFrame(
        {
            "charge_period_start": _ts(["2026-01-01"]),
            "charge_period_end": _ts(["2026-04-01"]),
            "x_billable_metric_id": ["prepaid"],
            "billed_cost": _costs([900.0]),
            "effective_cost": _costs([None]),
        }
    )
    out = amortize(fee, freq="MS")
    assert list(out["period"]) == list(_ts(["2026-01-01", "2026-02-01", "2026-03-01"]))
    assert out["billed_cost"].tolist() == pytest.approx(
        [900 * 31 / 90, 900 * 28 / 90, 900 * 31 / 90]
    )
    assert out["effective_cost"].isna().all()  # missing stays missing in every piece
    assert (out["x_billable_metric_id"] == "prepaid").all()
    assert list(out.columns) == ["period", *fee.columns]


def test_amortize_daily_rows_stay_whole_at_every_grain() -> None:
    df = pd.DataFrame(
        {
            "charge_period_start": _ts(["2026-03-01", "2026-03-31"]),
            "charge_period_end": _ts(["2026-03-02", "2026-04-01"]),
            "list_cost": _costs([1.5, 2.5]),
        }
    )
    for freq, periods in {
        "D": ["2026-03-01", "2026-03-31"],
        "W": ["2026-02-23", "2026-03-30"],  # Mondays
        "MS": ["2026-03-01", "2026-03-01"],
        "QS": ["2026-01-01", "2026-01-01"],
    }.items():
        out = amortize(df, freq=freq)
        assert len(out) == 2, freq
        assert out["list_cost"].tolist() == [1.5, 2.5]
        assert list(out["period"]) == list(_ts(periods)), freq


def test_amortize_weekly_and_quarterly_partial_periods() -> None:
    # Sunday 1 March to Wednesday 4 March: one day in the week of 23 Feb, two in the week of 2 March
    df = pd.DataFrame(
        {
            "charge_period_start": _ts(["2026-03-01", "2026-02-15"]),
            "charge_period_end": _ts(["2026-03-04", "2026-05-15"]),
            "billed_cost": _costs([3.0, 89.0]),
        }
    )
    week = amortize(df.iloc[[0]], freq="W")
    assert list(week["period"]) == list(_ts(["2026-02-23", "2026-03-02"]))
    assert week["billed_cost"].tolist() == pytest.approx([1.0, 2.0])
    quarter = amortize(df.iloc[[1]], freq="QS")
    # 15 Feb to 1 Apr = 45 days, 1 Apr to 15 May = 44 days
    assert quarter["billed_cost"].tolist() == pytest.approx([45.0, 44.0])


def test_amortize_partial_day_by_time_and_zero_length() -> None:
    df = pd.DataFrame(
        {
            "charge_period_start": _ts(["2026-03-01T18:00:00Z", "2026-03-05"]),
            "charge_period_end": _ts(["2026-03-02T12:00:00Z", "2026-03-05"]),
            "billed_cost": _costs([18.0, 7.0]),
        }
    )
    out = amortize(df, freq="D")
    assert out["billed_cost"].tolist() == pytest.approx([6.0, 12.0, 7.0])
    assert list(out["period"]) == list(_ts(["2026-03-01", "2026-03-02", "2026-03-05"]))


def test_amortize_rejects_bad_periods_and_non_calendar_grains() -> None:
    df = pd.DataFrame(
        {
            "charge_period_start": _ts(["2026-03-05", "2026-03-01"]),
            "charge_period_end": pd.Series([pd.Timestamp("2026-03-01", tz="UTC"), pd.NaT]).astype(
                UTC
            ),
            "billed_cost": _costs([1.0, 1.0]),
        }
    )
    with pytest.raises(ValidationError) as err:
        amortize(df, freq="D")
    cases = err.value.failure_cases
    assert sorted(cases["row"]) == [0, 1]
    assert set(cases["field"]) == {"charge_period_end"}
    with pytest.raises(ValueError, match="billing_period"):
        amortize(df.iloc[:0], freq="billing_period")


def test_amortize_does_not_mutate_input(sample_frame: pd.DataFrame) -> None:
    df = sample_frame.head(50).copy()
    before = df.copy()
    amortize(df, freq="W")
    pd.testing.assert_frame_equal(df, before)


def _naive_amortize(df: pd.DataFrame, freq: str, columns: list[str]) -> pd.DataFrame:
    """A second implementation: a python loop over rows and their calendar periods."""
    step = {"D": pd.DateOffset(days=1), "W": pd.DateOffset(weeks=1), "MS": pd.DateOffset(months=1),
            "QS": pd.DateOffset(months=3)}[freq]  # fmt: skip
    out = []
    for i, r in enumerate(df.itertuples(index=False)):
        s, e = r.charge_period_start, r.charge_period_end
        p = s.normalize()
        if freq == "W":
            p = p - pd.Timedelta(days=p.weekday())
        elif freq == "MS":
            p = p.replace(day=1)
        elif freq == "QS":
            p = p.replace(day=1, month=3 * ((p.month - 1) // 3) + 1)
        while True:
            q = p + step
            overlap = (min(e, q) - max(s, p)) / (e - s) if e > s else 1.0
            out.append({"row": i, "period": p, **{c: getattr(r, c) * overlap for c in columns}})
            if q >= e:
                break
            p = q
    return pd.DataFrame(out)


_instants = st.integers(
    int(pd.Timestamp("2025-01-01").timestamp()), int(pd.Timestamp("2027-01-01").timestamp())
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    spans=st.lists(st.tuples(_instants, st.integers(1, 400 * 86400), st.floats(-1e4, 1e6)), min_size=1, max_size=12),
    freq=st.sampled_from(["D", "W", "MS", "QS"]),
)  # fmt: skip
def test_amortize_conserves_total(spans: list[tuple[int, int, float]], freq: str) -> None:
    start = pd.to_datetime([s for s, _, _ in spans], unit="s", utc=True)
    end = pd.to_datetime([s + d for s, d, _ in spans], unit="s", utc=True)
    df = pd.DataFrame(
        {
            "charge_period_start": pd.Series(start).astype(UTC),
            "charge_period_end": pd.Series(end).astype(UTC),
            "billed_cost": _costs([c for _, _, c in spans]),
            "list_cost": _costs([abs(c) for _, _, c in spans]),
        }
    )
    out = amortize(df, freq=freq)
    for c in ["billed_cost", "list_cost"]:
        total = float(df[c].sum())
        scale = float(df[c].abs().sum()) or 1.0
        assert abs(float(out[c].sum()) - total) <= 1e-9 * scale
    naive = _naive_amortize(df, freq, ["billed_cost"])
    assert list(out["period"]) == list(naive["period"])
    np.testing.assert_allclose(
        out["billed_cost"].to_numpy(dtype=float), naive["billed_cost"].to_numpy(dtype=float),
        rtol=1e-9, atol=1e-9 * float(df["billed_cost"].abs().max()),
    )  # fmt: skip


def test_amortize_sample_purchase_spreads_over_its_term(sample_frame: pd.DataFrame) -> None:
    out = amortize(sample_frame, freq="MS")
    purchase = out[out["charge_category"] == "Purchase"]
    assert len(purchase) == 12
    assert purchase["billed_cost"].iloc[0] == pytest.approx(60_000 * 30 / 365)  # November
    assert purchase["billed_cost"].sum() == pytest.approx(60_000, rel=1e-12)
    assert len(out) == len(sample_frame) + 11
    for c in ["list_cost", "billed_cost", "effective_cost"]:
        assert out[c].sum() == pytest.approx(sample_frame[c].sum(), rel=1e-12)


# ---- amortize_commitment --------------------------------------------------------------------


def _usage(rows: list[tuple]) -> pd.DataFrame:
    """rows: (day, account, family, currency, contracted cost[, charge class])."""
    df = pd.DataFrame(
        [r if len(r) == 6 else (*r, None) for r in rows],
        columns=[
            "charge_period_start",
            "billing_account_id",
            "x_product_family_name",
            "billing_currency",
            "contracted_cost",
            "charge_class",
        ],
    )
    df["charge_period_start"] = pd.to_datetime(df["charge_period_start"], utc=True).astype(UTC)
    df["charge_period_end"] = df["charge_period_start"] + pd.Timedelta(days=1)
    df["charge_category"] = pd.Categorical(["Usage"] * len(df))
    df["x_billable_metric_id"] = "m"
    df["x_product_family_name"] = df["x_product_family_name"].astype("category")
    df["billing_currency"] = df["billing_currency"].astype("category")
    df["charge_class"] = df["charge_class"].astype("category")
    df["contracted_cost"] = df["contracted_cost"].astype("Float64")
    for c in ["list_cost", "effective_cost", "billed_cost"]:
        df[c] = df["contracted_cost"]
    df["consumed_quantity"] = pd.Series(1.0, index=df.index, dtype="Float64")
    return df


def _commitments(*rows: tuple, kind: str = "use_it_or_lose_it") -> pd.DataFrame:
    """rows: (id, amount, currency, start, end, account, families); one ``kind`` for all."""
    df = pd.DataFrame(
        rows,
        columns=[
            "commitment_id",
            "amount",
            "currency",
            "term_start",
            "term_end",
            "billing_account_id",
            "x_product_family_name",
        ],
    )
    df["term_start"] = pd.to_datetime(df["term_start"], utc=True)
    df["term_end"] = pd.to_datetime(df["term_end"], utc=True)
    df["kind"] = kind
    return df


def test_amortize_commitment_hand_worked() -> None:
    usage = _usage(
        [
            ("2026-01-01", "acc", "Workers", "USD", 15.0),  # share 10: 10 absorbed, 5 on demand
            ("2026-01-02", "acc", "R2", "USD", 4.0),  # share 10: 4 absorbed, 6 unused
            ("2026-01-02", "acc", "Stream", "USD", 50.0),  # out of scope (family)
            ("2026-01-02", "other", "R2", "USD", 50.0),  # out of scope (account)
            ("2026-01-02", "acc", "R2", "EUR", 50.0),  # other currency
            ("2026-01-02", "acc", "R2", "USD", -3.0, "Correction"),  # corrections are not covered
        ]
    )
    c = _commitments(("c1", 20.0, "USD", "2026-01-01", "2026-01-03", "acc", "Workers|R2"))
    out = amortize_commitment(usage, commitments=c)
    relabelled = amortize_commitment(usage.set_axis([9, 9, 9, 2, 2, 2]), commitments=c)
    pd.testing.assert_frame_equal(relabelled, out)
    assert len(out) == len(usage) + 1
    assert out["commitment_status"].iloc[:2].tolist() == ["Used", "Used"]
    assert out["commitment_status"].iloc[2:6].isna().all()
    assert out["amortized_commitment_cost"].iloc[:2].tolist() == [10.0, 4.0]
    assert out["on_demand_cost"].iloc[:2].tolist() == [5.0, 0.0]
    assert out["amortized_commitment_cost"].iloc[2:6].isna().all()
    assert out["commitment_id"].iloc[:2].tolist() == ["c1", "c1"]
    unused = out.iloc[-1]
    assert unused["commitment_status"] == "Unused"
    assert unused["amortized_commitment_cost"] == 6.0 and unused["effective_cost"] == 6.0
    assert unused["list_cost"] == 0.0 and unused["billed_cost"] == 0.0
    assert pd.isna(unused["consumed_quantity"])
    assert unused["charge_period_start"] == pd.Timestamp("2026-01-02", tz="UTC")
    assert unused["charge_category"] == "Usage"
    assert unused["billing_account_id"] == "acc"
    assert pd.isna(unused["x_product_family_name"])  # two families in scope
    assert out["charge_category"].dtype == "category"
    flagged = amortize_commitment(usage.assign(cost_estimated=True), commitments=c)
    assert flagged["cost_estimated"].dtype == bool
    assert flagged["cost_estimated"].tolist() == [True] * 6 + [
        False
    ]  # the Unused row is no estimate
    assert out["billing_currency"].dtype == "category"
    # the input is untouched
    assert "commitment_id" not in usage.columns


def test_amortize_commitment_first_commitment_covers_overlaps() -> None:
    usage = _usage([("2026-01-01", "acc", "Workers", "USD", 30.0)])
    c = _commitments(
        ("late", 10.0, "USD", "2026-01-01", "2026-01-02", None, None),
        ("early", 10.0, "USD", "2025-12-31", "2026-01-02", None, "Workers"),
    )
    out = amortize_commitment(usage, commitments=c)
    assert out["commitment_id"].iloc[0] == "early"
    assert out["amortized_commitment_cost"].iloc[0] == 5.0  # early: 10 over two days
    unused = out[out["commitment_status"] == "Unused"]
    # "late" finds nothing left to cover; "early"'s 31 Dec lies before the frame: no row
    assert unused["commitment_id"].tolist() == ["late"]
    assert unused["amortized_commitment_cost"].tolist() == [10.0]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    costs=st.lists(st.tuples(st.integers(0, 20), st.floats(0, 500)), min_size=1, max_size=40),
    amount=st.floats(0, 5000),
    term=st.tuples(st.integers(0, 10), st.integers(1, 11)),
    kind=st.sampled_from(["use_it_or_lose_it", "prepaid_balance"]),
    discount=st.sampled_from([0.0, 0.25]),
)
def test_amortize_commitment_conserves_the_fee(
    costs: list[tuple[int, float]], amount: float, term: tuple[int, int], kind: str, discount: float
) -> None:
    # FOCUS: Σ amortized (effective) cost of the Used rows + Σ effective cost of the Unused rows
    # = the fee (the Purchase row's billed cost), for both kinds, when the frame covers the term
    day0 = dt.date(2026, 1, 1)
    rows = [((day0 + dt.timedelta(days=d)).isoformat(), "acc", "R2", "USD", c) for d, c in costs]
    # anchor the frame's range to the 21 days so every term day lies inside it
    rows += [(day0.isoformat(), "x", "R2", "USD", 1.0), ("2026-01-21", "x", "R2", "USD", 1.0)]
    usage = _usage(rows)
    start = day0 + dt.timedelta(days=term[0])
    end = start + dt.timedelta(days=term[1])
    c = _commitments(
        ("c", amount, "USD", start.isoformat(), end.isoformat(), "acc", "R2"), kind=kind
    ).assign(discount=discount)
    out = amortize_commitment(usage, commitments=c)
    mine = out[out["commitment_id"] == "c"]
    used = mine[mine["commitment_status"] == "Used"]
    unused = mine[mine["commitment_status"] == "Unused"]
    scale = max(amount, 1.0)
    assert float(used["amortized_commitment_cost"].sum()) + float(
        unused["effective_cost"].sum()
    ) == pytest.approx(amount, rel=1e-9, abs=1e-9 * scale)
    # each covered row: its draw is covered or on demand, and its effective cost is the sum
    draw = used["contracted_cost"] * (1 - discount)
    assert (used["amortized_commitment_cost"] <= draw + 1e-9).all()
    covered = (used["amortized_commitment_cost"] / draw.where(draw > 0)).fillna(0.0)
    np.testing.assert_allclose(
        used["on_demand_cost"].to_numpy(dtype=float),
        (used["contracted_cost"] * (1 - covered)).to_numpy(dtype=float),
        atol=1e-9 * scale,
    )
    np.testing.assert_allclose(
        used["effective_cost"].to_numpy(dtype=float),
        (used["amortized_commitment_cost"] + used["on_demand_cost"]).to_numpy(dtype=float),
    )
    # a naive twin of the two rules, in plain Python over the covered rows
    in_term = [(d, x) for d, x in costs if term[0] <= d < term[0] + term[1] and x > 0]
    if kind == "prepaid_balance":
        left, drawn = amount, 0.0
        for _, x in sorted(in_term, key=lambda t: t[0]):  # stable: frame order within a day
            take = min(left, x * (1 - discount))
            left -= take
            drawn += take
        lost = amount - drawn
        assert len(unused) == 1 if lost > 1e-9 * scale else len(unused) <= 1
        if len(unused):
            assert unused["charge_period_start"].iloc[0] == pd.Timestamp(
                end - dt.timedelta(days=1), tz="UTC"
            )
    else:
        share = amount / term[1]
        per_day: dict[int, float] = {}
        for d, x in in_term:
            per_day[d] = per_day.get(d, 0.0) + x * (1 - discount)
        drawn = sum(min(per_day.get(d, 0.0), share) for d in range(term[0], term[0] + term[1]))
    assert float(used["amortized_commitment_cost"].sum()) == pytest.approx(
        drawn, rel=1e-9, abs=1e-9 * scale
    )


def test_amortize_commitment_frame_conserves_money_with_the_purchase_row() -> None:
    # the invoice view: a prepaid fee of 30 (Purchase: billed 30, effective 0), usage of 12 and
    # 10 drawn from it at contracted prices (billed 0), then 15 of which 8 is past the balance
    usage = _usage(
        [
            ("2026-01-01", "acc", "R2", "USD", 12.0),
            ("2026-01-02", "acc", "R2", "USD", 10.0),
            ("2026-01-03", "acc", "R2", "USD", 15.0),
            ("2026-01-05", "acc", "R2", "USD", 2.0),  # after the term: ordinary usage
        ]
    )
    usage["billed_cost"] = _costs([0.0, 0.0, 7.0, 2.0])
    purchase = usage.iloc[[0]].assign(
        charge_category=pd.Categorical(["Purchase"]),
        charge_period_end=_ts(["2026-01-05"]),
        list_cost=_costs([30.0]),
        contracted_cost=_costs([30.0]),
        effective_cost=_costs([0.0]),
        billed_cost=_costs([30.0]),
    )
    frame = pd.concat([usage, purchase], ignore_index=True)
    c = _commitments(
        ("c", 30.0, "USD", "2026-01-01", "2026-01-05", "acc", "R2"), kind="prepaid_balance"
    )
    out = amortize_commitment(frame, commitments=c)
    # 12 + 10 + 8 of the third row drawn: nothing left, no Unused row
    assert out["amortized_commitment_cost"].iloc[:3].tolist() == [12.0, 10.0, 8.0]
    assert out["on_demand_cost"].iloc[:3].tolist() == [0.0, 0.0, 7.0]
    assert out["commitment_status"].iloc[3:].isna().all()
    assert float(out["effective_cost"].sum()) == float(out["billed_cost"].sum()) == 39.0
    # a smaller use: 12 + 10 drawn of 30, so 8 unused on the term's last day (4 January)
    light = frame.drop(index=2)
    out = amortize_commitment(light, commitments=c)
    unused = out[out["commitment_status"] == "Unused"]
    assert unused["effective_cost"].tolist() == [8.0]
    assert unused["charge_period_start"].tolist() == [pd.Timestamp("2026-01-04", tz="UTC")]
    assert pd.isna(unused["consumed_quantity"].iloc[0])
    # Σ effective after = Σ billed: 12 + 10 + 2 + 8 = 30 + 2 (reconcile sees no gap)
    assert float(out["effective_cost"].sum()) == float(out["billed_cost"].sum()) == 32.0
    # the same purchase as use-it-or-lose-it: 7.5 a day; day 1 uses 7.5 of 12, day 2 7.5 of 10,
    # 3 January has no usage (7.5 lost), 4 January neither (7.5 lost)
    uioli = amortize_commitment(light, commitments=c.assign(kind="use_it_or_lose_it"))
    assert uioli["amortized_commitment_cost"].iloc[:2].tolist() == [7.5, 7.5]
    lost = uioli[uioli["commitment_status"] == "Unused"]
    assert lost["effective_cost"].tolist() == [7.5, 7.5]
    assert float(uioli["effective_cost"].sum()) == 12 + 10 + 2 + 15  # on demand 4.5 + 2.5 more


def test_amortize_commitment_hourly_savings_plan_like_the_focus_example() -> None:
    # FOCUS working draft, AWS savings plan all upfront, 50 % utilisation: 24 hours of a
    # commitment of 79.11 an hour, 12 hours used: 12 Used rows absorb 79.11 each, 12 Unused rows
    hours = pd.date_range("2026-01-01", periods=12, freq="h", tz="UTC").astype(UTC)
    usage = _usage([(h.isoformat(), "acc", "EC2", "USD", 118.67) for h in hours])
    usage["charge_period_end"] = usage["charge_period_start"] + pd.Timedelta(hours=1)
    c = _commitments(("sp", 79.11 * 24, "USD", "2026-01-01", "2026-01-02", "acc", None)).assign(
        period="hour", discount=1 - 79.11 / 118.67
    )
    out = amortize_commitment(usage, commitments=c)
    used, unused = out.iloc[:12], out.iloc[12:]
    np.testing.assert_allclose(used["amortized_commitment_cost"].to_numpy(float), 79.11)
    np.testing.assert_allclose(used["on_demand_cost"].to_numpy(float), 0.0, atol=1e-9)
    np.testing.assert_allclose(used["effective_cost"].to_numpy(float), 79.11)
    assert len(unused) == 12 and (unused["commitment_status"] == "Unused").all()
    np.testing.assert_allclose(unused["effective_cost"].to_numpy(float), 79.11)
    assert float(out["effective_cost"].sum()) == pytest.approx(79.11 * 24)
    # daily rows under an hourly commitment: refused, naming the fix
    daily = _usage([("2026-01-01", "acc", "EC2", "USD", 10.0)])
    with pytest.raises(ArgumentError, match="period='day'"):
        amortize_commitment(daily, commitments=c)


def test_amortize_commitment_refuses_unknown_kind() -> None:
    usage = _usage([("2026-01-01", "acc", "R2", "USD", 1.0)])
    c = _commitments(("c", 1.0, "USD", "2026-01-01", "2026-01-02", "acc", "R2"), kind="monthly")
    with pytest.raises(ValidationError, match="kind"):
        amortize_commitment(usage, commitments=c)
    with pytest.raises(MissingColumnsError, match="kind"):
        amortize_commitment(usage, commitments=c.drop(columns=["kind"]))


def test_amortize_commitment_on_sample(sample_frame: pd.DataFrame) -> None:
    out = amortize_commitment(sample_frame, commitments=sample.COMMITMENTS)
    c = sample.COMMITMENTS.iloc[0]
    assert c["kind"] == "prepaid_balance"
    mine = out[out["commitment_id"] == c["commitment_id"]]
    assert float(mine["amortized_commitment_cost"].sum()) == pytest.approx(60_000, rel=1e-9)
    used = out[out["commitment_status"] == "Used"]
    assert set(used["billing_account_id"]) == {c["billing_account_id"]}
    assert set(used["x_product_family_name"].astype(str)) == {"Workers", "R2"}
    assert used["charge_period_start"].min() >= c["term_start"]
    assert used["charge_period_start"].max() < c["term_end"]
    # by hand: the in-scope usage's contracted cost over the term is what was drawn, the rest of
    # the 60,000 is the balance left at the end of the term (the sample's README says the same)
    raw = sample_frame
    scope = (
        (raw["charge_category"] == "Usage")
        & (raw["billing_account_id"] == c["billing_account_id"])
        & raw["x_product_family_name"].isin(["Workers", "R2"])
        & (raw["charge_period_start"] >= c["term_start"])
        & (raw["charge_period_start"] < c["term_end"])
    )
    drawn = float(raw.loc[scope, "contracted_cost"].sum())
    unused = out[out["commitment_status"] == "Unused"]
    assert len(unused) == 1
    assert unused["charge_period_start"].iloc[0] == pd.Timestamp("2026-10-31", tz="UTC")
    assert float(unused["effective_cost"].iloc[0]) == pytest.approx(60_000 - drawn, rel=1e-12)
    assert float(unused["effective_cost"].iloc[0]) == pytest.approx(5_153.51, abs=0.005)
    # conservation: the frame's effective total now equals what was paid (the billed total)
    assert float(out["effective_cost"].sum()) == pytest.approx(
        float(raw["billed_cost"].sum()), rel=1e-12
    )
    assert float(raw["billed_cost"].sum()) == pytest.approx(511_977.95, abs=0.005)
    # the sample's delivered drawdown matches: covered rows billed 0 while the balance lasts
    billed = raw["billed_cost"].to_numpy(dtype=float)[: len(raw)]
    on_demand = out["on_demand_cost"].iloc[: len(raw)].to_numpy(dtype=float, na_value=np.nan)
    np.testing.assert_allclose(on_demand[scope.to_numpy()], billed[scope.to_numpy()], atol=1e-9)
    # unused commitment lowers the ESR over contract below zero (effective > contracted)
    d = discounts(out, freq=None)
    assert d["esr_over_contract"].iloc[0] < 0
    assert d["commitment_savings"].iloc[0] == pytest.approx(-float(unused["effective_cost"].sum()))


def test_amortize_commitment_on_sample_as_use_it_or_lose_it(sample_frame: pd.DataFrame) -> None:
    c = sample.COMMITMENTS.assign(kind="use_it_or_lose_it")
    out = amortize_commitment(sample_frame, commitments=c)
    used = out[out["commitment_status"] == "Used"]
    # naive twin: per day, min(covered contracted cost, the day's share 60,000 / 365)
    share = 60_000 / 365
    covered = used.groupby(used["charge_period_start"].dt.date)["contracted_cost"].sum()
    days = pd.date_range(c["term_start"].iloc[0], c["term_end"].iloc[0], freq="D", inclusive="left")
    naive_used = sum(min(float(covered.get(d, 0.0)), share) for d in days.date)
    assert float(used["amortized_commitment_cost"].sum()) == pytest.approx(naive_used, rel=1e-9)
    unused = out.loc[out["commitment_status"] == "Unused", "effective_cost"]
    assert float(used["amortized_commitment_cost"].sum()) + float(unused.sum()) == pytest.approx(
        60_000, rel=1e-12
    )
    assert float(unused.sum()) == pytest.approx(60_000 - naive_used, rel=1e-9)


# ---- reconcile ------------------------------------------------------------------------------


def _ledger(rows: list[tuple]) -> pd.DataFrame:
    """rows: (charge day, billing period start, category, class, billed, effective)."""
    df = pd.DataFrame(
        rows,
        columns=[
            "charge_period_start",
            "billing_period_start",
            "charge_category",
            "charge_class",
            "billed_cost",
            "effective_cost",
        ],
    )
    for c in ["charge_period_start", "billing_period_start"]:
        df[c] = pd.to_datetime(df[c], utc=True).astype(UTC)
    for c in ["charge_category", "charge_class"]:
        df[c] = df[c].astype("category")
    for c in ["billed_cost", "effective_cost"]:
        df[c] = df[c].astype("Float64")
    df["billing_currency"] = pd.Categorical(["USD"] * len(df))
    return df


def test_reconcile_hand_worked() -> None:
    df = _ledger(
        [
            ("2026-01-01", "2026-01-01", "Purchase", None, 300.0, 0.0),  # prepaid fee
            ("2026-01-05", "2026-01-01", "Usage", None, 0.0, 40.0),  # drawn from the prepayment
            ("2026-01-06", "2026-01-01", "Usage", None, 25.0, 25.0),  # ordinary usage
            ("2026-02-03", "2026-02-01", "Usage", None, 0.0, 35.0),
            ("2026-01-20", "2026-02-01", "Usage", "Correction", -9.0, -9.0),  # billed Feb, for Jan
            ("2026-02-10", "2026-02-01", "Usage", None, 7.0, None),  # effective missing
        ]
    )
    out = reconcile(df).set_index("period")
    jan, feb = (
        out.loc[pd.Timestamp("2026-01-01", tz="UTC")],
        out.loc[pd.Timestamp("2026-02-01", tz="UTC")],
    )
    # January: billed 300 + 0 + 25; effective 0 + 40 + 25 + (-9, the correction's charge month)
    assert (jan["billed_cost"], jan["effective_cost"]) == (325.0, 56.0)
    assert jan["difference"] == 269.0
    assert (jan["prepaid_purchases"], jan["prepaid_drawdown"], jan["corrections"]) == (300, -40, 9)
    assert jan["other"] == 0.0
    # February: billed 0 - 9 + 7; effective 35 + NA is unknown (never 35 as if NA were 0)
    assert feb["billed_cost"] == -2.0
    assert pd.isna(feb["effective_cost"]) and pd.isna(feb["difference"])
    assert (feb["prepaid_drawdown"], feb["corrections"]) == (-35.0, -9.0)
    assert pd.isna(feb["other"])  # the row with the missing cost contributes to "other"
    assert feb["missing_costs"] == 1
    components = [
        "prepaid_purchases",
        "prepaid_drawdown",
        "unused_commitment",
        "corrections",
        "other",
    ]
    assert (out[components].sum(axis=1) == out["difference"]).dropna().all()
    # calendar grain: the same timing rule
    monthly = reconcile(df, freq="MS")
    pd.testing.assert_frame_equal(monthly, out.reset_index(), check_like=True)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.integers(0, 80),
            st.integers(0, 2),
            st.sampled_from(["Usage", "Usage", "Purchase"]),
            st.sampled_from([None, None, "Correction"]),
            st.one_of(st.none(), st.just(0.0), st.floats(-1e4, 1e5)),
            st.one_of(st.none(), st.just(0.0), st.floats(-1e4, 1e5)),
        ),
        min_size=1,
        max_size=30,
    ),
    st.sampled_from(["billing_period", "D", "W", "MS", "QS"]),
)
def test_reconcile_components_sum_to_difference(rows: list[tuple], freq: str) -> None:
    day0 = pd.Timestamp("2026-01-01")
    ledger = [
        (
            (day0 + pd.Timedelta(days=d)).isoformat(),
            (day0 + pd.DateOffset(months=(d // 31) + (bp if cls else 0)))
            .replace(day=1)
            .isoformat(),
            cat,
            cls,
            b,
            e,
        )
        for d, bp, cat, cls, b, e in rows
    ]
    df = _ledger(ledger)
    df.loc[0, ["billed_cost", "effective_cost"]] = [1.0, 1.0]
    out = reconcile(df, freq=freq)
    components = [
        "prepaid_purchases",
        "prepaid_drawdown",
        "unused_commitment",
        "corrections",
        "other",
    ]
    known = out["difference"].notna()
    scale = float(df[["billed_cost", "effective_cost"]].abs().sum().sum()) or 1.0
    assert out.loc[known, components].notna().all().all()  # known difference: known parts
    gap = (out[components].sum(axis=1) - out["difference"])[known].abs()
    assert (gap <= 1e-9 * scale).all()
    # a missing input makes some cell NA; with none missing the totals are kept
    for side in ("billed_cost", "effective_cost"):
        if df[side].isna().any():
            assert out[side].isna().any()
            assert int(out["missing_costs"].sum()) >= int(df[side].isna().sum())
        else:
            assert float(out[side].sum()) == pytest.approx(float(df[side].sum()), abs=1e-9 * scale)


def test_reconcile_sample(sample_frame: pd.DataFrame) -> None:
    out = reconcile(sample_frame)
    assert (out["other"] == 0).all()  # the sample is consistent
    nov = out.set_index("period").loc[pd.Timestamp("2025-11-01", tz="UTC")]
    assert nov["prepaid_purchases"] == 60_000
    corrections = out.loc[out["corrections"] != 0, ["period", "corrections"]]
    assert list(corrections["period"].dt.strftime("%Y-%m")) == ["2026-02", "2026-03"]
    assert corrections["corrections"].sum() == pytest.approx(0.0, abs=1e-9)
    # with the unused commitment made explicit, the drawdown and unused shares make up the fee
    explicit = reconcile(amortize_commitment(sample_frame, commitments=sample.COMMITMENTS))
    in_term = explicit[
        (explicit["period"] >= pd.Timestamp("2025-11-01", tz="UTC"))
        & (explicit["period"] < pd.Timestamp("2026-11-01", tz="UTC"))
    ]
    drawn = -float(in_term["prepaid_drawdown"].sum()) - float(in_term["unused_commitment"].sum())
    assert drawn >= 60_000 - 1e-6  # drawdown (whole days) + unused shares cover the fee
    by_account = reconcile(sample_frame, by="account", freq="QS")
    assert float(by_account["difference"].sum()) == pytest.approx(float(out["difference"].sum()))


def test_reconcile_unknown_effective_cost_is_not_zero() -> None:
    # the case: billed 150, effective 50 + NA: the difference is unknown, not 100
    df = _ledger(
        [
            ("2026-01-01", "2026-01-01", "Usage", None, 150.0, 50.0),
            ("2026-01-02", "2026-01-01", "Usage", None, 0.0, None),
        ]
    )
    r = reconcile(df).iloc[0]
    assert r["billed_cost"] == 150.0
    assert pd.isna(r["effective_cost"]) and pd.isna(r["difference"])
    assert pd.isna(r["other"])  # the component the rows fall in
    assert r["prepaid_drawdown"] == 0.0  # no row of it: known, 0
    assert r["missing_costs"] == 1
