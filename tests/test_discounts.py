"""Tests for cfusage.discounts: savings, ESR both ways, coverage, free-tier value, unit prices."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cfusage import sample
from cfusage.analysis._discounts import discounts, savings_summary, unit_price_discounts
from cfusage.errors import CurrencyError, MissingColumnsError

F = "Float64"
MONEY = ["list_cost", "contracted_cost", "effective_cost", "billed_cost"]


def _frame(rows: list[dict]) -> pd.DataFrame:
    """A small typed frame from dicts (costs Float64, text category, times UTC)."""
    df = pd.DataFrame(rows)
    df["charge_period_start"] = pd.to_datetime(df["charge_period_start"], utc=True).astype(
        "datetime64[us, UTC]"
    )
    for c in df.columns:
        if c in MONEY or c.endswith("quantity") or c.endswith("price"):
            df[c] = df[c].astype(F)
        elif c in ("billing_account_name", "charge_category", "billing_currency"):
            df[c] = df[c].astype("category")
    return df


@pytest.fixture
def small() -> pd.DataFrame:
    na = None
    return _frame(
        [
            # account A: commitment-covered usage, ordinary usage, the commitment's purchase
            dict(charge_period_start="2026-03-01", billing_account_name="A", charge_category="Usage", billing_currency="USD", list_cost=100.0, contracted_cost=80.0, effective_cost=60.0, billed_cost=0.0),
            dict(charge_period_start="2026-03-02", billing_account_name="A", charge_category="Usage", billing_currency="USD", list_cost=50.0, contracted_cost=40.0, effective_cost=40.0, billed_cost=40.0),
            dict(charge_period_start="2026-03-01", billing_account_name="A", charge_category="Purchase", billing_currency="USD", list_cost=1000.0, contracted_cost=1000.0, effective_cost=0.0, billed_cost=1000.0),
            # account B: a row missing its contracted cost, and a free row
            dict(charge_period_start="2026-03-05", billing_account_name="B", charge_category="Usage", billing_currency="USD", list_cost=10.0, contracted_cost=na, effective_cost=10.0, billed_cost=10.0),
            dict(charge_period_start="2026-03-06", billing_account_name="B", charge_category="Usage", billing_currency="USD", list_cost=0.0, contracted_cost=0.0, effective_cost=0.0, billed_cost=0.0),
        ]
    )  # fmt: skip


def test_discounts_hand_worked_values(small: pd.DataFrame) -> None:
    out = discounts(small, by="account", freq="MS").set_index("billing_account_name")
    a = out.loc["A"]
    assert a["rows"] == 2  # the Purchase row is left out
    assert (a["list_cost"], a["contracted_cost"], a["effective_cost"], a["billed_cost"]) == (
        150.0,
        120.0,
        100.0,
        40.0,
    )
    assert (a["negotiated_savings"], a["commitment_savings"], a["total_savings"]) == (30, 20, 50)
    assert a["negotiated_savings_rate"] == pytest.approx(30 / 150)
    assert a["commitment_savings_rate"] == pytest.approx(20 / 150)
    assert a["total_savings_rate"] == pytest.approx(50 / 150)
    assert a["esr_over_list"] == pytest.approx(50 / 150)
    assert a["esr_over_contract"] == pytest.approx(20 / 120)
    assert a["savings_coverage"] == 1.0


def test_discounts_missing_price_shows_as_coverage_not_savings(small: pd.DataFrame) -> None:
    b = discounts(small, by="account").set_index("billing_account_name").loc["B"]
    # list 10 + 0; the contracted cost is known only on the free row
    assert b["list_cost"] == 10.0
    assert b["contracted_cost"] == 0.0
    # savings over rows with list, contracted and effective present: only the free row
    assert b["negotiated_savings"] == 0.0 and b["total_savings"] == 0.0
    assert pd.isna(b["negotiated_savings_rate"]) and pd.isna(b["esr_over_list"])
    assert b["list_cost_coverage"] == 1.0
    assert b["contracted_cost_coverage"] == 0.0  # no list cost has a contracted cost beside it
    assert b["effective_cost_coverage"] == 1.0
    assert b["savings_coverage"] == 0.0


def test_discounts_column_order_and_types(small: pd.DataFrame) -> None:
    out = discounts(small, by=["account"], freq="MS")
    assert list(out.columns[:3]) == ["period", "billing_account_name", "billing_currency"]
    assert out["period"].dtype == "datetime64[us, UTC]"
    assert (out["period"] == pd.Timestamp("2026-03-01", tz="UTC")).all()
    for c in ["list_cost", "esr_over_list", "savings_coverage", "free_tier_value"]:
        assert out[c].dtype == "Float64"
    whole = discounts(small, by=None, freq=None)
    assert whole.columns[0] == "billing_currency" and len(whole) == 1


def test_discounts_ignores_the_index(small: pd.DataFrame) -> None:
    shuffled = small.set_axis([7, 7, 3, 3, 1])  # duplicate labels, not a RangeIndex
    pd.testing.assert_frame_equal(discounts(shuffled, by="account"), discounts(small, by="account"))


def test_discounts_does_not_mutate_input(small: pd.DataFrame) -> None:
    before = small.copy()
    discounts(small, by="tag:team")
    pd.testing.assert_frame_equal(small, before)


def test_discounts_zero_list_gives_na_not_inf() -> None:
    df = _frame(
        [
            dict(charge_period_start="2026-03-01", charge_category="Usage", billing_currency="USD", list_cost=0.0, contracted_cost=0.0, effective_cost=0.0, billed_cost=0.0),
        ]
    )  # fmt: skip
    out = discounts(df)
    rates = out[[c for c in out.columns if c.endswith("rate") or c.startswith("esr")]]
    assert rates.isna().all().all()
    assert not np.isinf(out.select_dtypes("number").to_numpy(dtype=float, na_value=0)).any()


def test_discounts_keeps_currencies_apart_and_converts_on_request() -> None:
    df = _frame(
        [
            dict(charge_period_start="2026-03-01", charge_category="Usage", billing_currency="USD", list_cost=100.0, contracted_cost=90.0, effective_cost=90.0, billed_cost=90.0),
            dict(charge_period_start="2026-03-01", charge_category="Usage", billing_currency="EUR", list_cost=100.0, contracted_cost=50.0, effective_cost=50.0, billed_cost=50.0),
        ]
    )  # fmt: skip
    split = discounts(df).set_index("billing_currency")
    assert split.loc["USD", "total_savings"] == 10.0 and split.loc["EUR", "total_savings"] == 50.0
    merged = discounts(df, currency_rates={"EUR": 2.0, "USD": 1.0})
    assert len(merged) == 1
    assert merged["list_cost"].iloc[0] == 300.0
    assert merged["total_savings"].iloc[0] == pytest.approx(10.0 + 100.0)
    with pytest.raises(CurrencyError, match="EUR"):
        discounts(df, currency_rates={"USD": 1.0})


def test_discounts_requires_costs() -> None:
    df = _frame([dict(charge_period_start="2026-03-01", list_cost=None, effective_cost=None)])
    with pytest.raises(MissingColumnsError) as err:
        discounts(df)
    assert "contracted_cost" in err.value.columns and "list_cost" in err.value.columns
    assert "rate(" in str(err.value)


def test_discounts_groups_by_tag() -> None:
    df = _frame(
        [
            dict(charge_period_start="2026-03-01", billing_currency="USD", list_cost=10.0, contracted_cost=8.0, effective_cost=8.0, billed_cost=8.0),
            dict(charge_period_start="2026-03-01", billing_currency="USD", list_cost=20.0, contracted_cost=20.0, effective_cost=20.0, billed_cost=20.0),
        ]
    )  # fmt: skip
    df["tags"] = pd.Series([{"team": "web"}, {"team": "data"}], dtype=object)
    out = discounts(df, by="tag:team").set_index("tag:team")
    assert out.loc["web", "negotiated_savings"] == 2.0
    assert out.loc["data", "negotiated_savings"] == 0.0


def test_free_tier_value_rule() -> None:
    book = pd.DataFrame(
        {
            "x_billable_metric_id": ["req"],
            "block_size": [1e6],
            "tier_start": [0.0],
            "list_unit_price": [0.30],
            "currency": ["USD"],
            "free_allowance": [10e6],
        }
    )
    df = _frame(
        [
            # 15M consumed, 4M billable (4 blocks): 11 blocks free at 0.30
            dict(charge_period_start="2026-03-01", x_billable_metric_id="req", charge_category="Usage", billing_currency="USD", consumed_quantity=15e6, pricing_quantity=4.0, list_cost=1.2, contracted_cost=1.2, effective_cost=1.2, billed_cost=1.2),
            # not in the book: unknowable
            dict(charge_period_start="2026-03-02", x_billable_metric_id="other", charge_category="Usage", billing_currency="USD", consumed_quantity=5.0, pricing_quantity=0.0, list_cost=0.0, contracted_cost=0.0, effective_cost=0.0, billed_cost=0.0),
        ]
    )  # fmt: skip
    out = discounts(df, freq=None, price_book=book)
    assert out["free_tier_value"].iloc[0] == pytest.approx(11 * 0.30)
    assert out["free_tier_value_coverage"].iloc[0] == 0.5
    without = discounts(df, freq=None)
    assert pd.isna(without["free_tier_value"].iloc[0])
    assert without["free_tier_value_coverage"].iloc[0] == 0.0


def test_unit_price_discounts_hand_worked() -> None:
    df = _frame(
        [
            dict(charge_period_start="2026-03-01", x_billable_metric_id="m", billing_currency="USD", list_unit_price=0.5, contracted_unit_price=0.4, list_cost=50.0, contracted_cost=40.0),
            dict(charge_period_start="2026-03-02", x_billable_metric_id="m", billing_currency="USD", list_unit_price=0.5, contracted_unit_price=0.5, list_cost=150.0, contracted_cost=150.0),
            dict(charge_period_start="2026-03-02", x_billable_metric_id="m", billing_currency="USD", list_unit_price=0.0, contracted_unit_price=0.0, list_cost=0.0, contracted_cost=0.0),
            dict(charge_period_start="2026-03-02", x_billable_metric_id="free", billing_currency="USD", list_unit_price=0.0, contracted_unit_price=0.0, list_cost=0.0, contracted_cost=0.0),
        ]
    )  # fmt: skip
    out = unit_price_discounts(df).set_index("x_billable_metric_id")
    assert "period" not in out.columns
    assert out.loc["m", "unit_price_discount"] == pytest.approx(1 - 190 / 200)
    assert out.loc["m", "min_unit_price_discount"] == pytest.approx(0.0)
    assert out.loc["m", "max_unit_price_discount"] == pytest.approx(0.2)
    assert out.loc["m", "priced_rows"] == 3
    assert pd.isna(out.loc["free", "unit_price_discount"])  # list cost 0: NA, not inf
    assert pd.isna(out.loc["free", "max_unit_price_discount"])


def test_savings_summary_one_row_per_currency(small: pd.DataFrame) -> None:
    s = savings_summary(small)
    assert list(s["billing_currency"]) == ["USD"]
    assert s["list_cost"].iloc[0] == 160.0
    assert s["esr_over_contract"].iloc[0] == pytest.approx(20 / 120)  # basis: rows with all three


# ---- properties -----------------------------------------------------------------------------

_cost = st.one_of(st.none(), st.just(0.0), st.floats(0.01, 1e6, allow_nan=False))


@st.composite
def _frames(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(1, 30))
    rows = []
    for _ in range(n):
        rows.append(
            dict(
                charge_period_start=f"2026-0{draw(st.integers(1, 3))}-1{draw(st.integers(0, 9))}",
                billing_account_name=draw(st.sampled_from(["A", "B", "C"])),
                charge_category=draw(st.sampled_from(["Usage", "Usage", "Purchase"])),
                billing_currency=draw(st.sampled_from(["USD", "EUR"])),
                **{c: draw(_cost) for c in MONEY},
            )
        )
    df = _frame(rows)
    df.loc[0, "list_cost"] = 1.0  # require() needs each cost present somewhere
    df.loc[0, "contracted_cost"] = 1.0
    df.loc[0, "effective_cost"] = 1.0
    df.loc[0, "billed_cost"] = 1.0
    return df


def _month(ts: pd.Series) -> pd.Series:
    return ts.dt.tz_localize(None).dt.to_period("M").dt.start_time.dt.tz_localize("UTC")


def _naive_discounts(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """A second implementation: python per group, row by row."""
    out = []
    usage = df[df["charge_category"].astype(str) != "Purchase"]
    for key, grp in usage.groupby(keys, observed=True):
        lst = con = eff = bl = bc = be = 0.0
        n_l = n_b = 0
        cov_c = 0.0
        for r in grp.itertuples():
            if not pd.isna(r.list_cost):
                lst += r.list_cost
                n_l += 1
                if not pd.isna(r.contracted_cost):
                    cov_c += r.list_cost
            if not pd.isna(r.contracted_cost):
                con += r.contracted_cost
            if not pd.isna(r.effective_cost):
                eff += r.effective_cost
            if not any(pd.isna(v) for v in (r.list_cost, r.contracted_cost, r.effective_cost)):
                bl += r.list_cost
                bc += r.contracted_cost
                be += r.effective_cost
                n_b += 1
        row = dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True))
        row.update(
            rows=len(grp),
            total_savings=(bl - be) if n_b else math.nan,
            negotiated_savings=(bl - bc) if n_b else math.nan,
            esr_over_list=(bl - be) / bl if n_b and bl else math.nan,
            esr_over_contract=(bc - be) / bc if n_b and bc else math.nan,
            list_cost=lst if n_l else math.nan,
            contracted_cost_coverage=cov_c / lst if lst else math.nan,
        )
        out.append(row)
    values = ["rows", "total_savings", "negotiated_savings", "esr_over_list", "esr_over_contract"]
    values += ["list_cost", "contracted_cost_coverage"]
    return pd.DataFrame(out, columns=[*keys, *values])  # no usage rows: no groups


def _compare(fast: pd.DataFrame, naive: pd.DataFrame, keys: list[str]) -> None:
    fast = fast.assign(**{k: fast[k].astype(str) for k in keys}).set_index(keys).sort_index()
    naive = naive.assign(**{k: naive[k].astype(str) for k in keys}).set_index(keys).sort_index()
    assert list(fast.index) == list(naive.index)
    for c in naive.columns:
        if c == "contracted_cost_coverage":  # the fast one falls back to row shares at list 0
            mask = ~naive[c].isna()
            a, b = fast[c][mask], naive[c][mask]
        else:
            a, b = fast[c], naive[c]
        np.testing.assert_allclose(
            a.to_numpy(dtype=float, na_value=np.nan),
            b.to_numpy(dtype=float),
            rtol=1e-9,
            atol=1e-6,
            err_msg=c,
        )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_frames())
def test_discounts_matches_naive_and_savings_add_up(df: pd.DataFrame) -> None:
    out = discounts(df, by="account", freq="MS")
    keys = ["period", "billing_account_name", "billing_currency"]
    naive = _naive_discounts(
        df.assign(period=_month(df["charge_period_start"])),
        keys,
    )
    _compare(out, naive, keys)
    known = out["total_savings"].notna()
    np.testing.assert_allclose(
        (out["negotiated_savings"] + out["commitment_savings"])[known].to_numpy(dtype=float),
        out["total_savings"][known].to_numpy(dtype=float),
        rtol=1e-9,
        atol=1e-6,
    )
    pd.testing.assert_series_equal(
        out["esr_over_list"], out["total_savings_rate"], check_names=False
    )
    assert ((out["list_cost_coverage"] >= 0) & (out["list_cost_coverage"] <= 1)).all()


@pytest.fixture(scope="module")
def sample_frame() -> pd.DataFrame:
    return sample.load()


def test_discounts_on_sample_match_naive_with_missing_prices(sample_frame: pd.DataFrame) -> None:
    rng = np.random.default_rng(0)
    df = sample_frame.copy()
    for c in ["list_cost", "contracted_cost", "effective_cost"]:
        blank = rng.random(len(df)) < 0.05
        df[c] = df[c].mask(blank)
    out = discounts(df, by=["account", "product"], freq="MS")
    keys = ["period", "billing_account_name", "x_product_family_name", "billing_currency"]
    naive = _naive_discounts(
        df.assign(period=_month(df["charge_period_start"])),
        keys,
    )
    _compare(out, naive, keys)


def test_discounts_on_sample_headline(sample_frame: pd.DataFrame) -> None:
    s = savings_summary(sample_frame).iloc[0]
    usage = sample_frame[sample_frame["charge_category"] == "Usage"]
    assert s["list_cost"] == pytest.approx(usage["list_cost"].sum())
    # the sample's negotiated discounts are 20 % / 15 % / 10 % on some families: between 0 and 20 %
    assert 0 < s["esr_over_list"] < 0.2
    # the sample sets effective = contracted on every usage row: no commitment savings
    assert s["esr_over_contract"] == pytest.approx(0.0, abs=1e-12)


def test_discounts_without_contracted_cost_computes_what_the_data_allows(
    small: pd.DataFrame,
) -> None:
    # a FOCUS file of another cloud may have no ContractedCost: total savings and ESR over list
    # need only list and effective cost; the figures that need the contracted cost are NA
    df = small.drop(columns=["contracted_cost"])
    out = discounts(df, by="account")
    a = out.set_index("billing_account_name")
    # A: usage rows list 100 + 50, effective 60 + 40 -> savings 50, ESR 50/150
    assert a.loc["A", "total_savings"] == 50.0
    assert a.loc["A", "esr_over_list"] == pytest.approx(50 / 150)
    # B: list 10 + 0, effective 10 + 0 (the row without contracted cost now counts)
    assert a.loc["B", "total_savings"] == 0.0 and a.loc["B", "esr_over_list"] == 0.0
    assert a.loc["B", "savings_coverage"] == 1.0
    for c in ["contracted_cost", "negotiated_savings", "commitment_savings", "esr_over_contract"]:
        assert a[c].isna().all(), c
    s = savings_summary(df).iloc[0]
    assert s["total_savings"] == 50.0 and s["esr_over_list"] == pytest.approx(50 / 160)
    assert pd.isna(s["esr_over_contract"]) and pd.isna(s["negotiated_savings"])
    # an all-NA column is the same as an absent one
    blank = small.assign(contracted_cost=pd.array([pd.NA] * len(small), dtype="Float64"))
    pd.testing.assert_frame_equal(discounts(blank, by="account"), out)
