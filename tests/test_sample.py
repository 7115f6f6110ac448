"""Tests for cfusage.sample: the generated organization obeys its own rules and the FOCUS ones."""

from __future__ import annotations

import collections
import datetime as dt
import gzip
import json
import math
import re

import msgspec
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cfusage import sample
from cfusage.errors import ArgumentError
from cfusage.sample import _generate as gen
from cfusage.schema import COLUMNS

HEX32 = re.compile(r"^[0-9a-f]{32}$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
COST_FIELDS = {c.wire for c in COLUMNS if c.kind in ("money", "price")} | {"BillingCurrency"}


@pytest.fixture(scope="module")
def records() -> list[dict]:
    return sample.generate_records()


@pytest.fixture(scope="module")
def wire(records: list[dict]) -> pd.DataFrame:
    """The records as a plain object frame (wire names), with the charge day as a date."""
    df = pd.DataFrame.from_records(records)
    df["day"] = [dt.date.fromisoformat(s[:10]) for s in df["ChargePeriodStart"]]
    return df


@pytest.fixture(scope="module")
def usage(wire: pd.DataFrame) -> pd.DataFrame:
    """Ordinary usage rows: no purchase, no correction."""
    return wire[(wire["ChargeCategory"] == "Usage") & wire["ChargeClass"].isna()]


# --- determinism and shape -------------------------------------------------------------------


def test_generate_records_is_deterministic_for_a_seed(records: list[dict]) -> None:
    again = sample.generate_records()
    assert msgspec.json.encode(again) == msgspec.json.encode(records)
    other = sample.generate_records("2026-03-01", "2026-03-02", seed=8)
    same_day = [r for r in records if r["ChargePeriodStart"].startswith("2026-03-01")]
    assert [r["ConsumedQuantity"] for r in other] != [r["ConsumedQuantity"] for r in same_day]


def test_a_slice_equals_the_same_days_of_the_full_sample(records: list[dict]) -> None:
    part = sample.generate_records("2026-02-09", "2026-02-12")
    days = ("2026-02-09", "2026-02-10", "2026-02-11")
    assert part == [r for r in records if r["ChargePeriodStart"][:10] in days]
    assert any(r["ChargeClass"] == "Correction" for r in part)


def test_committed_sample_is_what_write_sample_writes(tmp_path) -> None:
    written = sample.write_sample(tmp_path)
    committed = {p.name: p.read_bytes() for p in sample.sample_paths()}
    envelopes = [p for p in written if p.name.endswith(".json.gz")]
    assert {p.name: p.read_bytes() for p in envelopes} == committed
    readme = sample.sample_paths()[0].parent / "README.md"
    assert (tmp_path / "README.md").read_text() == readme.read_text()
    assert sum(len(b) for b in committed.values()) < 5_000_000


def test_sample_files_are_one_envelope_per_window_of_charge_days(records: list[dict]) -> None:
    paths = sample.sample_paths()
    expected = gen._windows(sample.START, sample.END)
    assert [p.name for p in paths] == [f"usage_{a}_{b}.json.gz" for a, b in expected]
    total = 0
    for path, (lo, hi) in zip(paths, expected, strict=True):
        body = json.loads(gzip.decompress(path.read_bytes()))
        assert body["success"] is True and body["errors"] == [] and body["messages"] == []
        starts = {r["ChargePeriodStart"][:10] for r in body["result"]}
        assert min(starts) == lo.isoformat()
        assert max(starts) == (hi - dt.timedelta(days=1)).isoformat()
        total += len(body["result"])
    assert total == len(records)


def test_records_carry_every_field_but_tags_as_json_types(records: list[dict]) -> None:
    fields = [c.wire for c in COLUMNS if c.wire != "Tags"]
    for r in records[:50] + records[-50:]:
        assert list(r) == fields
    kinds = {type(v) for r in records for v in r.values()}
    assert kinds <= {str, int, float, type(None)}
    assert not any(isinstance(v, float) and math.isnan(v) for r in records for v in r.values())


def test_records_are_sorted_daily_rows_in_the_sample_range(wire: pd.DataFrame) -> None:
    assert wire["ChargePeriodStart"].is_monotonic_increasing
    assert wire["day"].min() == dt.date(2025, 10, 1)
    assert wire["day"].max() == dt.date(2026, 11, 23) == sample.COMPLETE_THROUGH
    daily = wire[wire["ChargeCategory"] == "Usage"]
    assert daily["ChargePeriodStart"].str.endswith("T00:00:00Z").all()
    ends = [(d + dt.timedelta(days=1)).isoformat() + "T00:00:00Z" for d in daily["day"].tolist()]
    assert daily["ChargePeriodEnd"].tolist() == ends


def test_billing_period_is_the_calendar_month_except_for_the_correction(
    wire: pd.DataFrame,
) -> None:
    rows = wire[wire["ChargeClass"].isna() & (wire["ChargeCategory"] == "Usage")]
    month_start = [f"{d:%Y-%m}-01T00:00:00Z" for d in rows["day"]]
    assert rows["BillingPeriodStart"].tolist() == month_start
    nxt = [gen._next_month(d.replace(day=1)) for d in rows["day"]]
    assert rows["BillingPeriodEnd"].tolist() == [f"{d}T00:00:00Z" for d in nxt]


def test_ids_are_stable_hex_and_the_contract_is_on_every_row(wire: pd.DataFrame) -> None:
    assert HEX32.match(sample.ORG_ID)
    assert all(HEX32.match(a) for a in sample.ACCOUNTS["billing_account_id"])
    assert all(HEX32.match(z) for z in sample.ZONES["x_zone_id"])
    assert UUID.match(sample.CONTRACT["sub_account_id"])
    assert (wire["SubAccountId"] == sample.CONTRACT["sub_account_id"]).all()
    assert (wire["SubAccountName"] == "Enterprise Agreement 2025").all()
    ids = dict(zip(wire["BillingAccountName"], wire["BillingAccountId"], strict=True))
    expected = dict(
        zip(
            sample.ACCOUNTS["billing_account_name"],
            sample.ACCOUNTS["billing_account_id"],
            strict=True,
        )
    )
    assert ids == expected
    assert (wire["BillingCurrency"] == "USD").all()
    for field in ("HostProviderName", "InvoiceIssuerName", "ServiceProviderName"):
        assert (wire[field] == "Cloudflare").all()


def test_zones_only_on_zone_scoped_metrics_and_regions_only_on_r2(usage: pd.DataFrame) -> None:
    zoned = set(sample.METRICS.loc[sample.METRICS["zone_scoped"], "x_billable_metric_id"])
    has_zone = usage["x_ZoneId"].notna()
    assert has_zone.eq(usage["x_BillableMetricId"].isin(zoned)).all()
    zones = dict(zip(sample.ZONES["x_zone_name"], sample.ZONES["x_zone_id"], strict=True))
    z = usage[has_zone]
    assert (z["x_ZoneId"] == z["x_ZoneName"].map(zones)).all()
    has_region = usage["RegionId"].notna()
    assert has_region.eq(usage["x_ProductFamilyName"] == "R2").all()
    assert usage.loc[has_region, "RegionName"].notna().all()


def test_metric_catalogue_is_complete_and_rows_agree_with_it(usage: pd.DataFrame) -> None:
    m = sample.METRICS
    assert len(m) >= 10 and m["x_billable_metric_id"].is_unique
    assert set(usage["x_BillableMetricId"]) == set(m["x_billable_metric_id"])
    cat = m.set_index("x_billable_metric_id")
    for field, col in [
        ("x_BillableMetricName", "x_billable_metric_name"),
        ("x_ProductFamilyName", "x_product_family_name"),
        ("x_ProductFamilyId", "x_product_family_id"),
        ("x_ProductCategoryName", "x_product_category_name"),
        ("ConsumedUnit", "consumed_unit"),
        ("PricingUnit", "pricing_unit"),
    ]:
        expected = usage["x_BillableMetricId"].map(cat[col])
        assert (usage[field] == expected).all(), field


def test_published_list_prices_and_allowances() -> None:
    m = sample.METRICS.set_index("x_billable_metric_id")
    per_block = m["list_unit_price"]
    assert per_block["workers_standard_requests"] == 0.30
    assert m.loc["workers_standard_requests", "block_size"] == 1e6
    assert m.loc["workers_standard_requests", "free_allowance"] == 10e6
    assert per_block["workers_cpu_time"] == 0.02
    assert per_block["r2_storage"] == 0.015 and m.loc["r2_storage", "free_allowance"] == 10
    assert per_block["r2_class_b_operations"] == 0.36
    assert per_block["stream_minutes_stored"] == 5.0
    assert per_block["stream_minutes_delivered"] == 1.0
    assert per_block["images_transformations"] == 0.50
    assert per_block["argo_smart_routing_data"] == 0.10
    assert per_block["workers_ai_neurons"] == 0.011
    assert m.loc["workers_ai_neurons", "free_allowance"] == 10_000 * 30
    # the catalogue holds the current price, after the planted change
    assert per_block["r2_class_a_operations"] == 5.00


# --- costs -----------------------------------------------------------------------------------


def test_cost_identities_hold_on_every_row(wire: pd.DataFrame) -> None:
    priced = wire[wire["ListUnitPrice"].notna()]
    assert len(priced) == len(wire) - 1  # all but the purchase row
    pq = priced["PricingQuantity"].astype(float)
    for unit_price, cost in [
        ("ListUnitPrice", "ListCost"),
        ("ContractedUnitPrice", "ContractedCost"),
    ]:
        expected = priced[unit_price].astype(float) * pq
        actual = priced[cost].astype(float)
        assert np.allclose(actual, expected, rtol=1e-9, atol=0), cost
    assert (priced["ContractedUnitPrice"] <= priced["ListUnitPrice"]).all()
    positive = priced[pq >= 0]
    assert (positive["ContractedCost"] <= positive["ListCost"]).all()
    assert (positive["EffectiveCost"] <= positive["ContractedCost"]).all()


def test_contracted_price_is_the_family_discount_off_list(usage: pd.DataFrame) -> None:
    discount = usage["x_ProductFamilyName"].map({"Workers": 0.2, "R2": 0.15, "Stream": 0.1})
    expected = usage["ListUnitPrice"] * (1 - discount.fillna(0.0))
    assert np.allclose(usage["ContractedUnitPrice"].astype(float), expected, rtol=1e-12)


def test_pricing_quantity_is_zero_exactly_when_costs_are_zero(usage: pd.DataFrame) -> None:
    free = usage["PricingQuantity"] == 0
    assert free.any() and (~free).any()
    assert (usage["ConsumedQuantity"] > 0).all()
    for cost in ("ListCost", "ContractedCost", "EffectiveCost", "BilledCost"):
        assert (usage.loc[free, cost] == 0).all(), cost
        assert (usage.loc[~free, "ListCost"] > 0).all()


def test_free_allowance_is_never_exceeded_and_fully_used_first(usage: pd.DataFrame) -> None:
    m = sample.METRICS.set_index("x_billable_metric_id")
    u = usage.assign(
        month=usage["ChargePeriodStart"].str[:7],
        billable=usage["PricingQuantity"] * usage["x_BillableMetricId"].map(m["block_size"]),
    )
    g = u.groupby(["BillingAccountName", "x_BillableMetricId", "month"])[
        ["ConsumedQuantity", "billable"]
    ].sum()
    allowance = g.index.get_level_values("x_BillableMetricId").map(m["free_allowance"])
    free = g["ConsumedQuantity"] - g["billable"]
    expected_free = np.minimum(g["ConsumedQuantity"], allowance)
    assert np.allclose(free, expected_free, rtol=1e-9, atol=1e-6)
    assert (u["billable"] <= u["ConsumedQuantity"] * (1 + 1e-12)).all()


def test_free_allowance_is_consumed_in_day_order(usage: pd.DataFrame) -> None:
    """A naive loop over one account's rows, day by day, gives the generator's quantities."""
    m = sample.METRICS.set_index("x_billable_metric_id")
    rows = usage[usage["BillingAccountName"].isin(["Acme Staging", "Team AI"])]
    used: dict[tuple, float] = collections.defaultdict(float)
    for r in rows.sort_values(["day"], kind="stable").itertuples():
        key = (r.BillingAccountName, r.x_BillableMetricId, r.day.strftime("%Y-%m"))
        left = max(m.loc[r.x_BillableMetricId, "free_allowance"] - used[key], 0.0)
        used[key] += r.ConsumedQuantity
        billable = max(r.ConsumedQuantity - left, 0.0)
        expected = billable / m.loc[r.x_BillableMetricId, "block_size"]
        assert math.isclose(r.PricingQuantity, expected, rel_tol=1e-9, abs_tol=1e-9), r


def test_wholly_free_partly_free_and_billed_rows_all_occur(usage: pd.DataFrame) -> None:
    block = usage["x_BillableMetricId"].map(
        sample.METRICS.set_index("x_billable_metric_id")["block_size"]
    )
    billable = usage["PricingQuantity"] * block
    assert (billable == 0).sum() > 100
    partly = (billable > 0) & (billable < usage["ConsumedQuantity"] - 1e-6)
    assert partly.sum() > 10
    staging = usage[usage["BillingAccountName"] == "Acme Staging"]
    assert (staging["PricingQuantity"] == 0).mean() > 0.5


# --- commitment ------------------------------------------------------------------------------


def test_commitment_purchase_row(records: list[dict]) -> None:
    purchases = [r for r in records if r["ChargeCategory"] == "Purchase"]
    assert len(purchases) == 1
    p = purchases[0]
    c = sample.COMMITMENTS.iloc[0]
    assert p["ChargeFrequency"] == "One-Time"
    assert p["x_BillableMetricId"] == "prepaid_commitment"
    assert p["ChargePeriodStart"] == "2025-11-01T00:00:00Z" == f"{c.term_start:%Y-%m-%dT%H:%M:%SZ}"
    assert p["ChargePeriodEnd"] == "2026-11-01T00:00:00Z" == f"{c.term_end:%Y-%m-%dT%H:%M:%SZ}"
    assert p["BillingPeriodStart"] == "2025-11-01T00:00:00Z"
    assert p["BillingPeriodEnd"] == "2025-12-01T00:00:00Z"
    assert p["BillingAccountId"] == c.billing_account_id
    assert p["ListCost"] == p["ContractedCost"] == p["BilledCost"] == c.amount == 60_000
    assert p["EffectiveCost"] == 0
    for field in ("ConsumedQuantity", "PricingQuantity", "ConsumedUnit", "PricingUnit"):
        assert p[field] is None


def test_commitments_frame_documents_its_scope() -> None:
    c = sample.COMMITMENTS
    assert len(c) == 1 and c["commitment_id"].is_unique
    assert str(c["term_start"].dtype) == "datetime64[us, UTC]"
    assert str(c["term_end"].dtype) == "datetime64[us, UTC]"
    assert c["x_product_family_name"].iloc[0].split("|") == ["Workers", "R2"]
    assert c["x_billable_metric_id"].isna().all()
    assert c["currency"].iloc[0] == "USD"
    assert UUID.match(c["commitment_id"].iloc[0])


def test_commitment_draws_down_in_day_order(usage: pd.DataFrame) -> None:
    """A naive running balance over the in-scope rows gives the generator's billed costs."""
    c = sample.COMMITMENTS.iloc[0]
    families = c["x_product_family_name"].split("|")
    term = (c.term_start.date(), c.term_end.date())
    scope = (
        (usage["BillingAccountId"] == c.billing_account_id)
        & usage["x_ProductFamilyName"].isin(families)
        & (usage["day"] >= term[0])
        & (usage["day"] < term[1])
    )
    balance = float(c.amount)
    for r in usage[scope].itertuples():  # records are in day order
        drawn = min(balance, r.ContractedCost)
        balance -= drawn
        assert math.isclose(r.BilledCost, r.ContractedCost - drawn, abs_tol=1e-9)
        assert r.EffectiveCost == r.ContractedCost
    assert balance > 0  # unused commitment at the end of the term
    outside = usage[~scope]
    assert (outside["BilledCost"] == outside["ContractedCost"]).all()
    assert (outside["EffectiveCost"] == outside["ContractedCost"]).all()


def test_commitment_usage_falls_short_in_some_months_only(usage: pd.DataFrame) -> None:
    c = sample.COMMITMENTS.iloc[0]
    scope = (usage["BillingAccountId"] == c.billing_account_id) & usage["x_ProductFamilyName"].isin(
        ["Workers", "R2"]
    )
    rows = usage[
        scope & (usage["day"] >= dt.date(2025, 11, 1)) & (usage["day"] < dt.date(2026, 11, 1))
    ]
    monthly = rows.groupby(rows["ChargePeriodStart"].str[:7])["ContractedCost"].sum()
    straight_line = 60_000 / 12
    assert len(monthly) == 12
    assert (monthly < straight_line).sum() >= 3
    assert (monthly > straight_line).sum() >= 1
    assert monthly.sum() < 60_000


# --- planted events --------------------------------------------------------------------------


def test_r2_class_a_price_changes_on_july_first(usage: pd.DataFrame) -> None:
    a = usage[usage["x_BillableMetricId"] == "r2_class_a_operations"]
    before = a[a["day"] < dt.date(2026, 7, 1)]
    after = a[a["day"] >= dt.date(2026, 7, 1)]
    assert set(before["ListUnitPrice"]) == {4.50}
    assert set(after["ListUnitPrice"]) == {5.00}
    assert (sample.PRICE_CHANGES["x_billable_metric_id"] == "r2_class_a_operations").all()


def test_spike_is_about_nine_times_the_accounts_median(usage: pd.DataFrame) -> None:
    ev = sample.EVENTS["spike"]
    rows = usage[
        (usage["BillingAccountName"] == ev["billing_account_name"])
        & (usage["x_BillableMetricId"] == ev["x_billable_metric_id"])
    ].set_index("day")["ConsumedQuantity"]
    day = ev["date"]
    around = rows[
        (rows.index >= day - dt.timedelta(days=14)) & (rows.index <= day + dt.timedelta(days=14))
    ]
    ratio = rows[day] / around.drop(day).median()
    assert 7 < ratio < 11
    others = around.drop(day) / around.drop(day).median()
    assert others.max() < 2


def test_correction_row(wire: pd.DataFrame) -> None:
    corr = wire[wire["ChargeClass"] == "Correction"]
    assert len(corr) == 1
    r = corr.iloc[0]
    ev = sample.EVENTS["correction"]
    assert r["day"] == ev["charge_date"] == dt.date(2026, 2, 10)
    assert r["BillingPeriodStart"] == "2026-03-01T00:00:00Z"
    assert r["BillingPeriodEnd"] == "2026-04-01T00:00:00Z"
    assert r["ChargeCategory"] == "Usage"
    for field in ("ConsumedQuantity", "PricingQuantity", "ListCost", "ContractedCost"):
        assert r[field] < 0, field
    assert r["BilledCost"] == r["EffectiveCost"] == r["ContractedCost"]
    original = wire[
        (wire["BillingAccountName"] == r["BillingAccountName"])
        & (wire["x_BillableMetricId"] == r["x_BillableMetricId"])
        & (wire["day"] == r["day"])
        & wire["ChargeClass"].isna()
    ]
    assert len(original) == 1
    assert -r["ConsumedQuantity"] == round(original["ConsumedQuantity"].iloc[0] * 0.3)


def test_workers_ai_adopted_and_stream_retired(usage: pd.DataFrame) -> None:
    ai = usage[usage["x_ProductFamilyName"] == "Workers AI"]
    assert ai["day"].min() == dt.date(2026, 4, 10) == sample.EVENTS["adoption"]["date"]
    stream = usage[usage["x_ProductFamilyName"] == "Stream"]
    assert stream["day"].max() == dt.date(2026, 6, 30) == sample.EVENTS["retirement"]["last_date"]
    assert stream["day"].min() == dt.date(2025, 10, 1)


def test_team_data_is_created_mid_period(usage: pd.DataFrame) -> None:
    first = usage.groupby("BillingAccountName")["day"].min()
    assert first["Team Data"] == dt.date(2026, 1, 15) == sample.EVENTS["account_created"]["date"]
    assert (first.drop("Team Data") == dt.date(2025, 10, 1)).all()
    assert len(first) == len(sample.ACCOUNTS) == 5


def test_weekly_seasonality_and_growth(usage: pd.DataFrame) -> None:
    w = usage[
        (usage["BillingAccountName"] == "Acme Prod")
        & (usage["x_BillableMetricId"] == "workers_standard_requests")
    ]
    weekend = w["day"].map(lambda d: d.weekday() >= 5)
    assert (
        w.loc[weekend, "ConsumedQuantity"].mean()
        < 0.85 * w.loc[~weekend, "ConsumedQuantity"].mean()
    )
    first = w[w["day"] < dt.date(2025, 11, 1)]["ConsumedQuantity"].mean()
    last = w[w["day"] >= dt.date(2026, 10, 1)]["ConsumedQuantity"].mean()
    assert last > 1.3 * first


def test_scale_multiplies_accounts_and_keeps_events_with_the_base_accounts() -> None:
    recs = sample.generate_records("2026-03-14", "2026-03-15", scale=3)
    names = {r["BillingAccountName"] for r in recs}
    assert len(names) == 15 and "Team Data 003" in names
    assert len({r["BillingAccountId"] for r in recs}) == 15
    base = [
        r for r in recs if r["BillingAccountName"] in set(sample.ACCOUNTS["billing_account_name"])
    ]
    assert base == sample.generate_records("2026-03-14", "2026-03-15")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"start": "2026-13-01"}, "start"),
        ({"end": "soon"}, "end"),
        ({"start": "2026-02-01", "end": "2026-01-01"}, "start"),
        ({"scale": 0}, "scale"),
    ],
)
def test_generate_records_rejects_bad_arguments(kwargs: dict, field: str) -> None:
    with pytest.raises(ArgumentError, match=field):
        sample.generate_records(**kwargs)


# --- revisions, windows, envelopes -----------------------------------------------------------


def test_to_revision_a_drops_family_id_and_category(records: list[dict]) -> None:
    out = sample.to_revision(records[:100], "A")
    assert all("x_ProductFamilyId" not in r and "x_ProductCategoryName" not in r for r in out)
    assert all(
        set(r) == set(o) - {"x_ProductFamilyId", "x_ProductCategoryName"}
        for r, o in zip(out, records, strict=False)
    )


def test_to_revision_b_is_an_equal_copy(records: list[dict]) -> None:
    out = sample.to_revision(records[:100], "B")
    assert out == records[:100] and out[0] is not records[0]


def test_to_revision_c_omits_the_account_on_contract_level_rows_only(records: list[dict]) -> None:
    out = sample.to_revision(records, "C")
    assert len(out) == len(records)
    for o, r in zip(out, records, strict=True):
        if r["x_BillableMetricId"] == "zero_trust_seats":
            assert "BillingAccountId" not in o and "BillingAccountName" not in o
        else:
            assert o == r
    assert records[0]["BillingAccountId"]  # the input is untouched


def test_to_revision_without_costs_drops_prices_costs_currency_and_purchases(
    records: list[dict],
) -> None:
    out = sample.to_revision(records, "C", costs=False)
    assert len(out) == len(records) - 1
    assert all(r["ChargeCategory"] == "Usage" for r in out)
    assert not any(COST_FIELDS & set(r) for r in out)
    assert all("PricingQuantity" in r and "ConsumedQuantity" in r for r in out)
    assert "ListCost" in records[0]


def test_to_revision_keeps_unknown_fields_and_rejects_unknown_revisions() -> None:
    out = sample.to_revision(
        [{"x_BillableMetricId": "m", "x_NewField": 1, "ListCost": 2.0}], "A", costs=False
    )
    assert out == [{"x_BillableMetricId": "m", "x_NewField": 1}]
    with pytest.raises(ArgumentError, match="'D'"):
        sample.to_revision([], "D")


@settings(max_examples=200, deadline=None)
@given(
    start=st.dates(dt.date(2020, 1, 1), dt.date(2030, 1, 1)),
    length=st.integers(0, 800),
    days=st.integers(1, 40),
)
def test_windows_cover_the_range_without_gap_or_overlap(
    start: dt.date, length: int, days: int
) -> None:
    end = start + dt.timedelta(days=length)
    ws = gen._windows(start, end, days=days)
    assert len(ws) == math.ceil(length / days)
    covered = [w[0] + dt.timedelta(days=i) for w in ws for i in range((w[1] - w[0]).days)]
    assert covered == [start + dt.timedelta(days=i) for i in range(length)]
    assert all(0 < (b - a).days <= days for a, b in ws)


def test_windows_accepts_strings_and_rejects_bad_input() -> None:
    assert gen._windows("2026-01-01", "2026-01-01") == []
    assert gen._windows("2026-01-01", dt.date(2026, 1, 3)) == [
        (dt.date(2026, 1, 1), dt.date(2026, 1, 3))
    ]
    with pytest.raises(ArgumentError, match="start"):
        gen._windows("2026-02-01", "2026-01-01")
    with pytest.raises(ArgumentError, match="days"):
        gen._windows("2026-01-01", "2026-02-01", days=0)


def test_envelope_wraps_records() -> None:
    recs = [{"a": 1}]
    assert sample.envelope(recs) == {"success": True, "errors": [], "messages": [], "result": recs}


# --- files, price book, loading --------------------------------------------------------------


def test_price_book_is_generated_from_metrics(tmp_path) -> None:
    path = sample.price_book_path()
    assert path.is_file()
    fresh = sample.write_price_book(tmp_path / "pb.csv")
    assert fresh.read_bytes() == path.read_bytes()
    book = pd.read_csv(path)
    assert list(book.columns) == [
        "x_billable_metric_id",
        "x_billable_metric_name",
        "x_product_family_name",
        "consumed_unit",
        "pricing_unit",
        "block_size",
        "tier_start",
        "list_unit_price",
        "currency",
        "free_allowance",
        "contracted_discount",
        "valid_from",
        "valid_to",
        "source",
    ]
    m = sample.METRICS.set_index("x_billable_metric_id")
    # the current price of each metric: the version valid until further notice
    b = book[book["valid_to"].isna()].set_index("x_billable_metric_id")
    assert list(b.index) == list(m.index)
    for col in ("block_size", "list_unit_price", "free_allowance", "contracted_discount"):
        assert (b[col] == m[col]).all(), col
    assert (b["tier_start"] == 0).all() and (b["currency"] == "USD").all()
    assert b["source"].str.startswith("https://").all()


def test_main_regenerates_sample_and_price_book(tmp_path, monkeypatch, capsys) -> None:
    before = sample.price_book_path().read_bytes()
    assert sample.main([str(tmp_path / "out")]) == 0
    assert len(list((tmp_path / "out").glob("usage_*.json.gz"))) == len(sample.sample_paths())
    assert (tmp_path / "out" / "price_book.csv").read_bytes() == before
    assert sample.price_book_path().read_bytes() == before  # the package's own copy is untouched
    assert "wrote 15 files" in capsys.readouterr().out
    assert sample.main([]) == 2  # a directory (or --package) must be named


def test_load_gives_the_typed_frame_of_the_whole_sample(records: list[dict]) -> None:
    df = sample.load()
    assert len(df) == len(records)
    assert str(df["charge_period_start"].dtype) == "datetime64[us, UTC]"
    assert math.isclose(
        float(df["billed_cost"].sum()), sum(r["BilledCost"] for r in records), rel_tol=1e-12
    )


def test_load_parses_once_and_hands_out_independent_copies() -> None:
    first = sample.load()
    second = sample.load()
    assert first is not second
    pd.testing.assert_frame_equal(first, second)
    second.loc[0, "effective_cost"] = 123456.0
    second.attrs["cfusage"]["note"] = "changed"
    third = sample.load()
    assert third.loc[0, "effective_cost"] == first.loc[0, "effective_cost"] != 123456.0
    assert "note" not in third.attrs["cfusage"] and "note" not in first.attrs["cfusage"]
