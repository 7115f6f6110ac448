"""An unknown cost stays unknown in the discount, amortization and pricing helpers.

The property, for every table helper here: a frame with some NA costs never yields a 0 (or any
finite figure) for a group x period whose inputs for that figure were all NA; such cells are NA,
and the helper's coverage / missing column counts what it could not use. The expectations are
computed here, independently, from the raw rows (plain Python per cell).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cfusage.analysis._amortization import amortize, amortize_commitment, reconcile
from cfusage.analysis._discounts import discounts, savings_summary, unit_price_discounts
from cfusage.analysis._pricing import free_allowance_usage, rate

UTC = "datetime64[us, UTC]"
MONEY = ["list_cost", "contracted_cost", "effective_cost", "billed_cost"]
_cost = st.one_of(st.none(), st.just(0.0), st.floats(0.01, 1e5, allow_nan=False))


@st.composite
def _frames(draw: st.DrawFn) -> pd.DataFrame:
    """Usage rows over three months and three accounts; account C often has no costs at all."""
    n = draw(st.integers(2, 25))
    rows = []
    for _ in range(n):
        account = draw(st.sampled_from(["A", "B", "C"]))
        blank = account == "C" and draw(st.booleans())
        costs = {c: None if blank else draw(_cost) for c in MONEY}
        q = draw(st.one_of(st.none(), st.floats(0, 5e6, allow_nan=False)))
        rows.append(
            dict(
                charge_period_start=f"2026-0{draw(st.integers(1, 3))}-1{draw(st.integers(0, 9))}",
                billing_account_id=account,
                consumed_quantity=None if blank else q,
                list_unit_price=None if costs["list_cost"] is None else 1.0,
                contracted_unit_price=None if costs["contracted_cost"] is None else 0.8,
                **costs,
            )
        )
    df = pd.DataFrame(rows)
    df["charge_period_start"] = pd.to_datetime(df["charge_period_start"], utc=True).astype(UTC)
    df["charge_period_end"] = df["charge_period_start"] + pd.Timedelta(days=1)
    df["billing_period_start"] = (
        df["charge_period_start"]
        .dt.tz_localize(None)
        .dt.to_period("M")
        .dt.start_time.dt.tz_localize("UTC")
        .astype(UTC)
    )
    for c in [*MONEY, "consumed_quantity", "list_unit_price", "contracted_unit_price"]:
        df[c] = df[c].astype("Float64")
    df["billing_account_id"] = df["billing_account_id"].astype("category")
    df["charge_category"] = pd.Categorical(["Usage"] * len(df))
    df["billing_currency"] = pd.Categorical(["USD"] * len(df))
    df["x_billable_metric_id"] = "req"
    # every helper needs each cost present somewhere (else it refuses the frame, by design)
    df.loc[0, MONEY] = [1.0, 1.0, 1.0, 1.0]
    df.loc[0, ["list_unit_price", "contracted_unit_price", "consumed_quantity"]] = [1.0, 1.0, 1.0]
    return df


def _cells(df: pd.DataFrame) -> dict[tuple, pd.DataFrame]:
    month = df["billing_period_start"]
    return {
        (m, a): grp for (m, a), grp in df.groupby([month, df["billing_account_id"]], observed=True)
    }


def _row(out: pd.DataFrame, month: pd.Timestamp, account: str) -> pd.Series:
    hit = out[(out["period"] == month) & (out["billing_account_id"].astype(str) == account)]
    assert len(hit) == 1, (month, account)
    return hit.iloc[0]


SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(_frames())
def test_reconcile_unknown_costs_stay_unknown(df: pd.DataFrame) -> None:
    out = reconcile(df, by="billing_account_id")
    for (month, account), grp in _cells(df).items():
        r = _row(out, month, str(account))
        n_missing = int(grp["billed_cost"].isna().sum() + grp["effective_cost"].isna().sum())
        assert r["missing_costs"] == n_missing
        for side in ("billed_cost", "effective_cost"):
            if grp[side].isna().any():  # one unknown input: the sum is unknown
                assert pd.isna(r[side]), side
            else:
                assert math.isclose(r[side], float(grp[side].sum()), rel_tol=1e-9, abs_tol=1e-9)
        if n_missing:
            assert pd.isna(r["difference"])


@SETTINGS
@given(_frames())
def test_discounts_unknown_costs_stay_unknown(df: pd.DataFrame) -> None:
    out = discounts(df, by="billing_account_id")
    for (month, account), grp in _cells(df).items():
        r = _row(out, month, str(account))
        assert r["rows"] == len(grp)
        for c in MONEY:
            if grp[c].isna().all():
                assert pd.isna(r[c]), c  # never 0
        basis = grp[["list_cost", "contracted_cost", "effective_cost"]].notna().all(axis=1)
        if not basis.any():
            for c in ["negotiated_savings", "commitment_savings", "total_savings"]:
                assert pd.isna(r[c]), c
            assert pd.isna(r["esr_over_list"]) and pd.isna(r["esr_over_contract"])
        # counted: the coverage columns say how much could be used
        assert r["list_cost_coverage"] == grp["list_cost"].notna().sum() / len(grp)
        if grp["list_cost"].isna().all():
            assert r["list_cost_coverage"] == 0
    summary = savings_summary(df).iloc[0]
    usable = df[["list_cost", "contracted_cost", "effective_cost"]].notna().all(axis=1)
    expected = float((df["list_cost"] - df["effective_cost"])[usable].sum())
    assert math.isclose(summary["total_savings"], expected, rel_tol=1e-9, abs_tol=1e-6)


@SETTINGS
@given(_frames())
def test_unit_price_discounts_unknown_costs_stay_unknown(df: pd.DataFrame) -> None:
    out = unit_price_discounts(df, by="billing_account_id", freq="MS")
    for (month, account), grp in _cells(df).items():
        r = _row(out, month, str(account))
        priced = grp[["list_cost", "contracted_cost"]].notna().all(axis=1)
        assert r["priced_rows"] == int(priced.sum())  # counted
        if not priced.any():
            assert pd.isna(r["list_cost"]) and pd.isna(r["contracted_cost"])
            assert pd.isna(r["unit_price_discount"])


@SETTINGS
@given(_frames())
def test_amortize_keeps_unknown_costs_unknown(df: pd.DataFrame) -> None:
    out = amortize(df, freq="MS")
    for c in MONEY:
        assert out[c].isna().tolist() == df[c].isna().tolist()


@pytest.mark.filterwarnings("ignore:amortize_commitment.*starts before the frame")
@SETTINGS
@given(_frames(), st.sampled_from(["prepaid_balance", "use_it_or_lose_it"]))
def test_amortize_commitment_unknown_draw_stays_unknown(df: pd.DataFrame, kind: str) -> None:
    c = pd.DataFrame(
        {
            "commitment_id": ["c"],
            "kind": [kind],
            "amount": [500.0],
            "currency": ["USD"],
            "term_start": pd.to_datetime(["2026-01-01"], utc=True),
            "term_end": pd.to_datetime(["2026-03-20"], utc=True),  # last day 19 March
            "billing_account_id": ["C"],
        }
    )
    out = amortize_commitment(df, commitments=c)
    n = len(df)
    covered = (df["billing_account_id"] == "C") & ~(df["contracted_cost"] <= 0).fillna(False)
    unknown = covered & df["contracted_cost"].isna()
    head = out.iloc[:n]
    # a row whose draw is unknown never gets a finite share of the fee
    assert head.loc[unknown.to_numpy(), "amortized_commitment_cost"].isna().all()
    assert head.loc[unknown.to_numpy(), "effective_cost"].isna().all()
    unused = out.iloc[n:]
    through_term = df["charge_period_start"].max() >= pd.Timestamp("2026-03-19", tz="UTC")
    if kind == "prepaid_balance" and unknown.any() and through_term:
        # the balance left after an unknown draw is unknown: NA, never a number
        assert len(unused) == 1 and unused["effective_cost"].isna().all()
    if kind == "prepaid_balance" and not through_term:
        assert len(unused) == 0  # the term is still open in the frame: nothing is lost yet
    if kind == "use_it_or_lose_it":
        days = df.loc[unknown, "charge_period_start"]
        lost = unused.set_index("charge_period_start")["effective_cost"]
        for day in days:
            assert pd.isna(lost.get(day, pd.NA)), day


@SETTINGS
@given(_frames())
def test_rate_and_free_allowance_unknown_quantity_stays_unknown(df: pd.DataFrame) -> None:
    book = pd.DataFrame(
        {
            "x_billable_metric_id": ["req"],
            "block_size": [1e6],
            "tier_start": [0.0],
            "list_unit_price": [0.3],
            "currency": ["USD"],
            "free_allowance": [1e6],
        }
    )
    costs_free = df.drop(columns=[*MONEY, "list_unit_price", "contracted_unit_price"])
    priced = rate(costs_free, price_book=book)
    missing = df["consumed_quantity"].isna().to_numpy()
    assert priced["list_cost"].isna().to_numpy()[missing].all()
    assert not priced["cost_estimated"].to_numpy()[missing].any()
    fa = free_allowance_usage(costs_free, price_book=book)
    for (month, account), grp in _cells(df).items():
        r = _row(fa, month, str(account))
        assert r["missing_quantity_rows"] == int(grp["consumed_quantity"].isna().sum())
        if grp["consumed_quantity"].isna().all():
            for c in ["consumed_quantity", "free_quantity", "billable_quantity"]:
                assert pd.isna(r[c]), c
        else:
            known = float(grp["consumed_quantity"].sum())
            assert math.isclose(r["consumed_quantity"], known, rel_tol=1e-9)
    assert np.isfinite(fa["free_allowance"].to_numpy(dtype=float)).all()
