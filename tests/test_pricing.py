"""Tests for cfusage.pricing: load_price_book, rate, free_allowance_usage."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cfusage import sample
from cfusage.analysis._pricing import free_allowance_usage, load_price_book, rate
from cfusage.errors import MissingColumnsError, ValidationError

UTC = "datetime64[us, UTC]"
COSTS = ["list_cost", "contracted_cost", "effective_cost", "billed_cost"]


def _book(rows: list[tuple], **extra: list) -> pd.DataFrame:
    """rows: (metric, block_size, tier_start, list_unit_price, free_allowance, discount)."""
    df = pd.DataFrame(
        rows,
        columns=[
            "x_billable_metric_id",
            "block_size",
            "tier_start",
            "list_unit_price",
            "free_allowance",
            "contracted_discount",
        ],
    )
    df["currency"] = "USD"
    df["pricing_unit"] = df["x_billable_metric_id"] + "-blocks"
    return df.assign(**extra)


def _usage(rows: list[tuple]) -> pd.DataFrame:
    """rows: (day, account, metric, consumed quantity)."""
    df = pd.DataFrame(
        rows, columns=["charge_period_start", "billing_account_id", "x_billable_metric_id", "q"]
    )
    df["charge_period_start"] = pd.to_datetime(df["charge_period_start"], utc=True).astype(UTC)
    df["consumed_quantity"] = df.pop("q").astype("Float64")
    df["charge_category"] = pd.Categorical(["Usage"] * len(df))
    return df


REQ = ("req", 1e6, 0.0, 0.30, 10e6, 0.2)


def test_load_price_book_shipped_example() -> None:
    book = load_price_book()
    # one tier per metric and version; one version per metric but the one whose price changed
    assert not book.duplicated(["x_billable_metric_id", "valid_from", "valid_to"]).any()
    workers = book.set_index("x_billable_metric_id").loc["workers_standard_requests"]
    assert (workers["block_size"], workers["list_unit_price"], workers["free_allowance"]) == (
        1e6,
        0.30,
        10e6,
    )
    assert set(sample.METRICS["x_billable_metric_id"]) == set(book["x_billable_metric_id"])
    changed = book[book["x_billable_metric_id"].duplicated(keep=False)]
    assert set(changed["x_billable_metric_id"]) == set(sample.PRICE_CHANGES["x_billable_metric_id"])
    july = pd.Timestamp("2026-07-01", tz="UTC")
    assert changed[["valid_from", "valid_to", "list_unit_price"]].values.tolist() == [
        [pd.NaT, july, 4.50],
        [july, pd.NaT, 5.00],
    ]
    dated = book.drop_duplicates("x_billable_metric_id", keep=False)
    assert dated["valid_from"].isna().all() and dated["valid_to"].isna().all()


def test_load_price_book_reports_every_bad_value() -> None:
    bad = _book([("a", 0.0, 0.0, 1.0, 0.0, 0.0), ("b", 1.0, 5.0, -1.0, 0.0, 2.0)])
    with pytest.raises(ValidationError) as err:
        load_price_book(bad)
    cases = err.value.failure_cases
    assert set(zip(cases["row"], cases["field"], strict=True)) == {
        (0, "block_size"),
        (1, "list_unit_price"),
        (1, "contracted_discount"),
        (1, "tier_start"),  # metric b has no tier starting at 0
    }
    with pytest.raises(MissingColumnsError, match="free_allowance"):
        load_price_book(bad.drop(columns="free_allowance"))


def test_rate_allowance_crossing_mid_day() -> None:
    usage = _usage(
        [
            ("2026-03-01", "a", "req", 6e6),  # inside the 10M allowance
            ("2026-03-02", "a", "req", 8e6),  # crosses it: 4M billable
            ("2026-03-03", "a", "req", 3e6),
            ("2026-03-01", "b", "req", 12e6),  # another account has its own allowance
            ("2026-04-01", "a", "req", 2e6),  # a new billing period starts afresh
        ]
    )
    out = rate(usage, price_book=_book([REQ]))
    assert out["pricing_quantity"].tolist() == [0.0, 4.0, 3.0, 2.0, 0.0]
    assert out["list_cost"].tolist() == pytest.approx([0.0, 1.2, 0.9, 0.6, 0.0])
    assert out["contracted_unit_price"].tolist() == pytest.approx([0.24] * 5)
    assert out["contracted_cost"].tolist() == pytest.approx([0.0, 0.96, 0.72, 0.48, 0.0])
    assert out["effective_cost"].equals(out["contracted_cost"])
    assert out["billed_cost"].equals(out["contracted_cost"])
    assert out["list_unit_price"].tolist() == [0.30] * 5  # the price, even on free rows
    assert list(out["pricing_unit"].astype(str)) == ["req-blocks"] * 5
    assert list(out["billing_currency"].astype(str)) == ["USD"] * 5
    assert out["cost_estimated"].all()
    assert out["billing_currency"].dtype == "category" and out["list_cost"].dtype == "Float64"


def test_rate_tiers_priced_piecewise() -> None:
    # block 1 GB; 10 GB free; first 100 GB billable at 0.10, then 0.05
    book = _book([("gb", 1.0, 0.0, 0.10, 10.0, 0.0), ("gb", 1.0, 100.0, 0.05, 10.0, 0.0)])
    usage = _usage(
        [
            ("2026-03-01", "a", "gb", 60.0),  # billable 0..50
            ("2026-03-02", "a", "gb", 80.0),  # billable 50..130: 50 at 0.10 + 30 at 0.05
            ("2026-03-03", "a", "gb", 50.0),  # billable 130..180 at 0.05
            ("2026-03-04", "a", "gb", 0.0),  # nothing billable: the marginal (second) price
        ]
    )
    out = rate(usage, price_book=book)
    assert out["pricing_quantity"].tolist() == [50.0, 80.0, 50.0, 0.0]
    assert out["list_cost"].tolist() == pytest.approx([5.0, 6.5, 2.5, 0.0])
    assert out["list_unit_price"].tolist() == pytest.approx([0.10, 6.5 / 80, 0.05, 0.05])


def test_rate_uses_the_price_in_force_each_day() -> None:
    # [.., 03-02) at 0.30, [03-02, 03-04) at 0.50, nothing from 03-04: an interval join
    book = _book(
        [REQ, ("req", 1e6, 0.0, 0.50, 10e6, 0.2)],
        valid_from=[None, "2026-03-02"],
        valid_to=["2026-03-02", "2026-03-04"],
    )
    usage = _usage(
        [
            ("2026-03-01", "a", "req", 11e6),
            ("2026-03-03", "a", "req", 2e6),
            ("2026-03-04", "a", "req", 1e6),
        ]
    )
    with pytest.warns(UserWarning, match=r"no price in force on some charge days for \['req'\]"):
        out = rate(usage, price_book=book)
    assert out["list_unit_price"].tolist()[:2] == [0.30, 0.50]
    assert out["list_cost"].tolist()[:2] == pytest.approx([0.30, 1.00])
    assert pd.isna(out["list_cost"].iloc[2]) and not out["cost_estimated"].iloc[2]


def test_load_price_book_refuses_overlapping_versions() -> None:
    book = _book(
        [REQ, ("req", 1e6, 0.0, 0.50, 10e6, 0.2), ("req", 1e6, 0.0, 0.70, 10e6, 0.2)],
        valid_from=[None, "2026-03-02", "2026-04-01"],
        valid_to=["2026-03-05", "2026-05-01", "2026-03-15"],
    )
    with pytest.raises(ValidationError) as err:
        load_price_book(book)
    cases = err.value.failure_cases
    assert set(cases["field"]) == {"valid_from", "valid_to"}
    assert "two prices in force" in " ".join(cases["reason"])  # 03-02 starts before 03-05
    assert "empty validity" in " ".join(cases["reason"])  # 04-01 .. 03-15 is backwards


def test_rate_and_free_allowance_on_metrics_not_in_the_book() -> None:
    # every metric of an AWS file: no crash, a warning naming them, NA left (never 0)
    usage = _usage(
        [("2026-03-01", "a", "AmazonEC2 BoxUsage", 5.0), ("2026-03-02", "a", "AmazonS3", 6.0)]
    )
    with pytest.warns(UserWarning, match=r"AmazonEC2 BoxUsage.*AmazonS3"):
        out = rate(usage)
    assert out["list_cost"].isna().all() and not out["cost_estimated"].any()
    assert len(out) == 2
    with pytest.warns(UserWarning, match="AmazonS3"):
        fa = free_allowance_usage(usage)
    assert fa["x_billable_metric_id"].tolist() == ["AmazonEC2 BoxUsage", "AmazonS3"]
    assert fa["consumed_quantity"].tolist() == [5.0, 6.0]
    for c in ["free_quantity", "billable_quantity", "free_allowance", "allowance_used_share"]:
        assert fa[c].isna().all(), c


def test_rate_price_versions_by_effective_from() -> None:
    book = _book(
        [REQ, ("req", 1e6, 0.0, 0.50, 10e6, 0.2)],
        effective_from=[None, "2026-03-02"],
    )
    usage = _usage([("2026-03-01", "a", "req", 11e6), ("2026-03-02", "a", "req", 1e6)])
    out = rate(usage, price_book=book)
    assert out["list_unit_price"].tolist() == [0.30, 0.50]
    assert out["list_cost"].tolist() == pytest.approx([0.30, 0.50])


def test_rate_keeps_existing_costs_unless_overwrite() -> None:
    usage = _usage([("2026-03-01", "a", "req", 12e6), ("2026-03-02", "a", "req", 1e6)])
    usage["list_cost"] = pd.array([99.0, None], dtype="Float64")
    before = usage.copy()
    out = rate(usage, price_book=_book([REQ]))
    assert out["list_cost"].tolist() == [99.0, 0.30]  # the first row kept its own cost
    assert pd.isna(out["contracted_cost"].iloc[0])  # ... and its own (missing) other values
    assert out["cost_estimated"].tolist() == [False, True]
    # the kept row still used up the allowance: the second row is wholly billable
    assert out["pricing_quantity"].iloc[1] == 1.0
    again = rate(usage, price_book=_book([REQ]), overwrite=True)
    assert again["list_cost"].tolist() == pytest.approx([0.60, 0.30])
    assert again["cost_estimated"].all()
    pd.testing.assert_frame_equal(usage, before)


def test_rate_warns_about_unpriceable_rows_and_leaves_them_na() -> None:
    usage = _usage(
        [("2026-03-01", "a", "req", 12e6), ("2026-03-01", "a", "mystery", 5.0), ("2026-03-01", "a", "req", 1.0)]
    )  # fmt: skip
    usage["billing_currency"] = pd.Categorical([None, None, "EUR"])
    with pytest.warns(UserWarning) as record:
        out = rate(usage, price_book=_book([REQ]))
    messages = " ".join(str(w.message) for w in record)
    assert "mystery" in messages and "EUR" in messages
    assert out["list_cost"].isna().tolist() == [False, True, True]
    assert out["cost_estimated"].tolist() == [True, False, False]
    currency = out["billing_currency"]
    assert currency.iloc[0] == "USD" and pd.isna(currency.iloc[1]) and currency.iloc[2] == "EUR"


def test_rate_leaves_purchases_and_prices_corrections_without_allowance() -> None:
    usage = _usage(
        [
            ("2026-03-01", "a", "req", 5e6),
            ("2026-03-01", "a", "prepaid_commitment", None),
            ("2026-02-10", "a", "req", -2e6),
        ]
    )
    usage["charge_category"] = pd.Categorical(["Usage", "Purchase", "Usage"])
    usage["charge_class"] = pd.Categorical([None, None, "Correction"])
    usage["billing_period_start"] = pd.to_datetime(["2026-03-01"] * 3, utc=True).astype(UTC)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a purchase is no unknown metric
        out = rate(usage, price_book=_book([REQ]))
    assert out["pricing_quantity"].iloc[0] == 0.0  # the correction did not eat the allowance
    assert pd.isna(out["list_cost"].iloc[1]) and not out["cost_estimated"].iloc[1]
    assert out["list_cost"].iloc[2] == pytest.approx(-0.60)


def test_rate_requires_quantities() -> None:
    with pytest.raises(MissingColumnsError, match="consumed_quantity"):
        rate(_usage([("2026-03-01", "a", "req", 1.0)]).drop(columns="consumed_quantity"))


def test_free_allowance_usage_hand_worked() -> None:
    usage = _usage(
        [("2026-03-01", "a", "req", 6e6), ("2026-03-02", "a", "req", 8e6), ("2026-04-01", "a", "req", 1e6)]
    )  # fmt: skip
    out = free_allowance_usage(usage, price_book=_book([REQ]))
    assert out["free_quantity"].tolist() == [10e6, 1e6]
    assert out["billable_quantity"].tolist() == [4e6, 0.0]
    assert out["allowance_used_share"].tolist() == [1.0, 0.1]
    daily = free_allowance_usage(usage, price_book=_book([REQ]), freq="D")
    assert daily["allowance_used_share"].tolist() == pytest.approx([0.6, 0.4, 0.1])
    two_months = _usage([("2026-02-01", "a", "req", 3e6), ("2026-03-01", "a", "req", 6e6)])
    quarter = free_allowance_usage(two_months, price_book=_book([REQ]), freq="QS")
    assert quarter["free_allowance"].tolist() == [20e6]  # two billing periods in the quarter
    assert quarter["allowance_used_share"].tolist() == [9e6 / 20e6]


# ---- a naive twin and properties ------------------------------------------------------------


def _naive_rate(usage: pd.DataFrame, book: pd.DataFrame) -> list[tuple[float, float]]:
    """Row by row with running totals: (pricing quantity, list cost) per row."""
    tiers = {
        m: sorted(zip(t["tier_start"], t["list_unit_price"], strict=True))
        for m, t in book.groupby("x_billable_metric_id")
    }
    first = book.drop_duplicates("x_billable_metric_id").set_index("x_billable_metric_id")
    used: dict[tuple, float] = {}
    result: dict[int, tuple[float, float]] = {}
    order = sorted(
        range(len(usage)),
        key=lambda i: (
            usage["billing_account_id"].iloc[i],
            usage["x_billable_metric_id"].iloc[i],
            usage["charge_period_start"].iloc[i].strftime("%Y-%m"),
            usage["charge_period_start"].iloc[i],
            i,
        ),
    )
    for i in order:
        r = usage.iloc[i]
        m = r["x_billable_metric_id"]
        key = (r["billing_account_id"], m, r["charge_period_start"].strftime("%Y-%m"))
        allowance, block = first.loc[m, "free_allowance"], first.loc[m, "block_size"]
        before = used.get(key, 0.0)
        after = before + float(r["consumed_quantity"])
        used[key] = after
        b0, b1 = max(before - allowance, 0.0) / block, max(after - allowance, 0.0) / block
        cost = 0.0
        bounds = [*tiers[m], (np.inf, 0.0)]
        for (lo, price), (hi, _) in itertools.pairwise(bounds):
            cost += max(min(b1, hi) - max(b0, lo), 0.0) * price
        result[i] = (b1 - b0, cost)
    return [result[i] for i in range(len(usage))]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.integers(0, 45), st.sampled_from(["a", "b"]), st.sampled_from(["req", "gb"]),
                  st.floats(0, 5e6)),
        min_size=1,
        max_size=40,
    )
)  # fmt: skip
def test_rate_matches_naive_twin(rows: list[tuple]) -> None:
    book = _book(
        [
            ("req", 1e6, 0.0, 0.30, 10e6, 0.2),
            ("gb", 1000.0, 0.0, 0.10, 2e6, 0.0),
            ("gb", 1000.0, 1000.0, 0.08, 2e6, 0.0),
            ("gb", 1000.0, 3000.0, 0.05, 2e6, 0.0),
        ]
    )
    day0 = pd.Timestamp("2026-03-01")
    usage = _usage([((day0 + pd.Timedelta(days=d)).isoformat(), a, m, q) for d, a, m, q in rows])
    out = rate(usage, price_book=book)
    naive = np.array(_naive_rate(usage, book))
    np.testing.assert_allclose(
        out["pricing_quantity"].to_numpy(dtype=float), naive[:, 0], rtol=1e-9, atol=1e-6
    )
    np.testing.assert_allclose(
        out["list_cost"].to_numpy(dtype=float), naive[:, 1], rtol=1e-9, atol=1e-6
    )
    # the allowance is never exceeded: per group, billable = max(total - allowance, 0)
    month = usage["charge_period_start"].dt.strftime("%Y-%m")
    for (_acc, m, _), grp in out.groupby(["billing_account_id", "x_billable_metric_id", month]):
        allowance, block = (10e6, 1e6) if m == "req" else (2e6, 1000.0)
        expected = max(float(grp["consumed_quantity"].sum()) - allowance, 0.0) / block
        assert float(grp["pricing_quantity"].sum()) == pytest.approx(expected, rel=1e-9, abs=1e-6)


# ---- the sample: an independent check -------------------------------------------------------


def test_rate_reproduces_the_sample_costs() -> None:
    df = sample.load()
    filled = [
        "pricing_quantity",
        "pricing_unit",
        "list_unit_price",
        "list_cost",
        "contracted_unit_price",
        "contracted_cost",
        "effective_cost",
        "billed_cost",
        "billing_currency",
    ]
    out = rate(df.drop(columns=filled))  # the shipped, dated book
    usage = (df["charge_category"] == "Usage").to_numpy()
    assert out["cost_estimated"].to_numpy().tolist() == usage.tolist()
    # rows alone on their account x metric x day match exactly; where an account has several
    # rows of a metric on one day (zones, regions), the sample splits a day that crosses the
    # allowance in its own series order, so those are compared as day totals
    day_key = [df["billing_account_id"], df["x_billable_metric_id"], df["charge_period_start"]]
    alone = df.groupby(day_key, dropna=False)["x_billable_metric_id"].transform("size") == 1
    alone = alone.to_numpy() & usage
    for c in [
        "pricing_quantity",
        "list_unit_price",
        "list_cost",
        "contracted_unit_price",
        "contracted_cost",
    ]:
        np.testing.assert_allclose(
            out[c].to_numpy(dtype=float)[alone], df[c].to_numpy(dtype=float)[alone],
            rtol=1e-9, atol=1e-12, err_msg=c,
        )  # fmt: skip
        mine = out[c][usage].groupby([k[usage] for k in day_key], dropna=False).sum()
        theirs = df[c][usage].groupby([k[usage] for k in day_key], dropna=False).sum()
        np.testing.assert_allclose(
            mine.to_numpy(dtype=float), theirs.to_numpy(dtype=float), rtol=1e-9, atol=1e-9
        )
    assert (out["pricing_unit"].astype(str)[usage] == df["pricing_unit"].astype(str)[usage]).all()
    # the committed sample's free rows have a quantity and no cost: so do the estimates
    free = usage & (df["pricing_quantity"] == 0).to_numpy()
    assert free.any() and (out["list_cost"][free] == 0).all()
    # every day, before and after the price change: the day's list cost per metric is the
    # sample's own (the undated book over-rated r2_class_a_operations before July by 5/4.5)
    day = df["charge_period_start"][usage]
    keys = [day, df["x_billable_metric_id"][usage]]
    mine = out["list_cost"][usage].groupby(keys, observed=True).sum()
    theirs = df["list_cost"][usage].groupby(keys, observed=True).sum()
    np.testing.assert_allclose(mine.to_numpy(float), theirs.to_numpy(float), rtol=1e-9, atol=1e-9)
    r2a = df["x_billable_metric_id"][usage] == sample.EVENTS["price_change"]["x_billable_metric_id"]
    change = pd.Timestamp(sample.EVENTS["price_change"]["date"], tz="UTC")
    for when, price in ((day < change, 4.50), (day >= change, 5.00)):
        rows = (r2a & when).to_numpy()
        assert rows.sum() > 100
        priced = out["list_unit_price"][usage][rows]
        assert (priced[out["pricing_quantity"][usage][rows] > 0] == price).all()
