"""FOCUS's own requirement levels: every row FOCUS allows is kept, on anyone's FOCUS files.

The expectations are computed from the raw files with the ``csv`` module and ``datetime`` alone
(nothing from cfusage): which rows have ISO 8601 charge periods, and the BilledCost / EffectiveCost
totals per ChargeCategory.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections import defaultdict
from pathlib import Path

import pandas as pd
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

import cfusage
from cfusage import schema
from cfusage.analysis._grouping import resolve_by
from tests.test_frame import day_record, envelope

DATA = Path(__file__).parent / "data"
GENERATED = sorted((DATA / "focus").glob("focus_*_cost_and_usage_*.csv"))
HANDMADE = DATA / "focus" / "handmade_tax_credit_correction.csv"
SPEC = sorted((DATA / "focus_spec").glob("*.csv"))
ALL_FILES = [*GENERATED, HANDMADE, *SPEC]
NULL = {"", "NULL", "null"}


def raw_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def iso(text: str) -> bool:
    try:
        dt.datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def usable(row: dict[str, str]) -> bool:
    """Independent twin of the loader's rule on these files: both charge-period ends ISO 8601."""
    return iso(row["ChargePeriodStart"]) and iso(row["ChargePeriodEnd"])


def totals(rows: list[dict[str, str]], column: str) -> dict[str, float]:
    out: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        if r.get(column, "") not in NULL:
            out[r["ChargeCategory"]].append(float(r[column]))
    return {k: math.fsum(v) for k, v in out.items()}


def test_the_committed_files_are_small_and_cover_every_provider_and_version():
    assert len(GENERATED) == 6
    assert sum(p.stat().st_size for p in ALL_FILES) < 2_000_000
    for path in GENERATED:
        rows = raw_rows(path)
        assert 200 <= len(rows) <= 2000
        assert any(r["ChargeCategory"] == "Tax" and r["SkuId"] in NULL for r in rows)


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.name)
def test_rows_in_equal_kept_plus_rejected_and_only_forbidden_dates_are_rejected(path):
    rows = raw_rows(path)
    frame, rejected = cfusage.to_frame(path, errors="quarantine")
    assert frame.attrs["cfusage"]["rows_in"] == len(rows)
    assert len(frame) + len(rejected) == len(rows)
    assert sorted(rejected["row"]) == [i for i, r in enumerate(rows) if not usable(r)]
    assert all("not a date/time" in reason for reason in rejected["reason"])
    if all(usable(r) for r in rows):  # a valid file loads whole with the default errors="raise"
        assert len(cfusage.to_frame(path)) == len(rows)
        assert cfusage.validate(frame).ok


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.name)
@pytest.mark.parametrize("column", ["BilledCost", "EffectiveCost"])
def test_totals_per_charge_category_equal_an_independent_sum(path, column):
    kept = [r for r in raw_rows(path) if usable(r)]
    expected = totals(kept, column)
    frame = cfusage.to_frame(path, errors="quarantine").frame
    got = frame.groupby(frame["charge_category"].astype("str"))[schema.python_name(column)].sum()
    assert set(got.index) == {r["ChargeCategory"] for r in kept}
    for category, total in expected.items():
        assert got[category] == pytest.approx(total, rel=1e-12, abs=1e-9), category


def test_tax_credit_correction_and_adjustment_rows_without_sku_are_kept():
    df = cfusage.to_frame(HANDMADE)  # errors="raise": nothing is rejected
    assert len(df) == 6
    no_sku = df.loc[df["x_billable_metric_id"].isna()]
    kinds = set(
        zip(
            no_sku["charge_category"].astype(str),
            no_sku["charge_class"].astype(str).fillna("-"),
            strict=True,
        )
    )
    assert kinds == {("Tax", "-"), ("Credit", "-"), ("Usage", "Correction"), ("Adjustment", "-")}
    assert df["billed_cost"].sum() == pytest.approx(2.40 + 100 + 8.20 - 5 - 1.20 + 0.50)
    assert cfusage.validate(df).ok


def test_a_usage_row_of_a_provider_that_publishes_skus_needs_one():
    rows = pd.read_csv(HANDMADE, dtype=str, keep_default_na=False)
    broken = rows.iloc[[0]].assign(SkuId="")  # an ordinary Usage row, no SkuId
    table = pd.concat([rows, broken], ignore_index=True)
    frame, rejected = cfusage.to_frame(table, errors="quarantine")
    assert len(frame) == 6 and rejected["row"].tolist() == [6]
    assert "x_billable_metric_id" in rejected.loc[0, "reason"]
    assert "Usage or Purchase rows that are not corrections" in rejected.loc[0, "reason"]
    report = cfusage.validate(table)
    errors = report.errors
    assert list(zip(errors["check"], errors["field"], errors["row"], strict=True)) == [
        ("required", "x_billable_metric_id", 6)
    ]


def test_a_file_without_a_sku_column_keeps_its_usage_rows():
    path = DATA / "focus_spec" / "commitment_discount_usage_scenario_4.csv"
    assert "SkuId" not in raw_rows(path)[0]
    df = cfusage.to_frame(path)
    assert df["charge_category"].astype(str).tolist() == ["Usage", "Usage"]


def test_a_tax_row_with_a_sku_is_kept_and_warned_about():
    rows = pd.read_csv(HANDMADE, dtype=str, keep_default_na=False)
    rows.loc[2, "SkuId"] = "SKU-TAX"
    df = cfusage.to_frame(rows)
    assert len(df) == 6
    warned = cfusage.validate(df).warnings
    hit = warned.loc[warned["check"] == "must_be_null"]
    assert hit[["field", "row"]].values.tolist() == [["x_billable_metric_id", 2]]


@pytest.mark.parametrize("how", ["named", "envelope"])
def test_a_cloudflare_record_without_a_metric_id_is_rejected_and_reported(how):
    record = day_record(0, x_BillableMetricId=None)  # x_BillableMetricName is still there
    if how == "envelope":
        record.pop("ServiceProviderName")
    frame, rejected = cfusage.to_frame(envelope([day_record(1), record]), errors="quarantine")
    assert len(frame) == 1 and rejected["row"].tolist() == [1]
    assert "x_billable_metric_id" in rejected.loc[0, "reason"]
    with pytest.raises(cfusage.ValidationError):
        cfusage.to_frame(envelope([record]))
    # validate, on a frame that was never checked by the loader
    table = pd.DataFrame([{schema.python_name(k): v for k, v in day_record(0).items()}])
    table["x_billable_metric_id"] = None
    report = cfusage.validate(table)
    assert set(zip(report.errors["check"], report.errors["field"], strict=True)) == {
        ("required", "x_billable_metric_id")
    }


def test_provider_name_is_the_provider_column_and_service_provider_name_wins():
    aws12 = cfusage.to_frame(DATA / "focus" / "focus_1_2_cost_and_usage_aws.csv")
    assert set(aws12["service_provider_name"].astype(str)) == {"AWS"}
    both = pd.DataFrame(
        {
            "ChargePeriodStart": ["2026-03-01"],
            "ChargePeriodEnd": ["2026-03-02"],
            "ChargeCategory": ["Tax"],
            "ProviderName": ["Old Name"],
            "ServiceProviderName": ["New Name"],
        }
    )
    df = cfusage.to_frame(both)
    assert df["service_provider_name"].tolist() == ["New Name"]
    assert df["provider_name"].tolist() == ["Old Name"]  # a file's column is never dropped


def test_multi_cloud_sources_give_one_frame_grouped_by_provider_and_service(tmp_path):
    aws = DATA / "focus" / "focus_1_3_cost_and_usage_aws.csv"
    azure_csv = DATA / "focus" / "focus_1_2_cost_and_usage_azure.csv"
    azure = tmp_path / "azure_focus.parquet"
    pq.write_table(pa_csv.read_csv(azure_csv), azure)  # typed Parquet, as an export would be
    cloudflare = envelope([day_record(0, ListCost=1.0, BilledCost=1.0), day_record(1)])
    df = cfusage.to_frame([cloudflare, str(aws), azure])
    n_aws, n_azure = len(raw_rows(aws)), len(raw_rows(azure_csv))
    assert len(df) == 2 + n_aws + n_azure
    assert df["service_provider_name"].astype(str).value_counts().to_dict() == {
        "AWS": n_aws,
        "Microsoft Azure": n_azure,
        "Cloudflare": 2,
    }
    assert schema.DIMENSIONS["provider"] == "service_provider_name"
    assert schema.DIMENSIONS["service"] == "x_product_family_name"
    _, cols = resolve_by(df, ["provider", "service"])
    assert cols == ["service_provider_name", "x_product_family_name"]
    billed = df.groupby(df["service_provider_name"].astype(str))["billed_cost"].sum()
    assert billed["AWS"] == pytest.approx(math.fsum(totals(raw_rows(aws), "BilledCost").values()))
    assert billed["Microsoft Azure"] == pytest.approx(
        math.fsum(totals(raw_rows(azure_csv), "BilledCost").values())
    )
    assert cfusage.validate(df).ok


@pytest.mark.parametrize("path", GENERATED, ids=lambda p: p.stem)
def test_every_row_and_every_total_equals_duckdb_sql_over_the_raw_file(path):
    """The audit the issue asks for: DuckDB SQL over the raw CSV, sharing nothing with cfusage."""
    duckdb = pytest.importorskip("duckdb")
    sql = f"""
        SELECT ChargeCategory, count(*) AS rows,
               sum(TRY_CAST(BilledCost AS DOUBLE)) AS billed,
               sum(TRY_CAST(EffectiveCost AS DOUBLE)) AS effective
        FROM read_csv('{path}', all_varchar = true, header = true)
        GROUP BY ChargeCategory ORDER BY ChargeCategory
    """
    expected = duckdb.sql(sql).df().set_index("ChargeCategory")
    frame, rejected = cfusage.to_frame(path, errors="quarantine")
    assert len(rejected) == 0 and len(frame) == int(expected["rows"].sum())  # every row kept
    got = frame.groupby(frame["charge_category"].astype("str"), observed=True).agg(
        rows=("billed_cost", "size"),
        billed=("billed_cost", "sum"),
        effective=("effective_cost", "sum"),
    )
    assert sorted(got.index) == sorted(expected.index)
    for category, want in expected.iterrows():
        assert got.loc[category, "rows"] == want["rows"], category
        assert got.loc[category, "billed"] == pytest.approx(want["billed"], rel=1e-12, abs=1e-9)
        assert got.loc[category, "effective"] == pytest.approx(
            want["effective"], rel=1e-12, abs=1e-9
        )
