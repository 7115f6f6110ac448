"""validate: each rule, its severity, and a report that reads well."""

from __future__ import annotations

import pandas as pd
import pytest

import cfusage
from tests.test_frame import day_record


def checks(records, **kw) -> dict[str, set]:
    report = cfusage.validate(cfusage.to_frame(records, errors="quarantine").frame, **kw)
    out: dict[str, set] = {}
    for r in report.cases.itertuples():
        out.setdefault(r.check, set()).add(r.row)
    return out


def test_clean_records_pass():
    report = cfusage.validate(cfusage.to_frame([day_record(0), day_record(1)]))
    assert report.ok
    assert report.cases.empty
    assert "all checks passed" in report._repr_html_()


@pytest.mark.parametrize(
    ("change", "check"),
    [
        ({"ChargePeriodEnd": "2026-03-04T00:00:00Z"}, "daily"),
        ({"ConsumedQuantity": -5}, "negative"),
        ({"ListCost": 9.0}, "list_cost_identity"),
        ({"ContractedCost": 9.0}, "contracted_cost_identity"),
        ({"EffectiveCost": 1.0}, "effective_above_list"),
        ({"BillingCurrency": "XYZ"}, "currency_code"),
    ],
)
def test_each_warning_rule_flags_only_the_bad_row(change, check):
    found = checks([day_record(0), day_record(1, **change)])
    assert found[check] == {1}
    report = cfusage.validate(cfusage.to_frame([day_record(0), day_record(1, **change)]))
    assert report.ok  # warnings leave the rows usable


def test_negative_cost_on_a_correction_is_not_a_warning():
    found = checks(
        [
            day_record(
                0,
                ChargeClass="Correction",
                ListCost=-0.75,
                ContractedCost=-0.75,
                PricingQuantity=-150000,
                ConsumedQuantity=-150000,
                BilledCost=-0.1,
            )
        ]
    )
    assert "negative" not in found


def test_mixed_currencies_are_one_frame_level_warning():
    report = cfusage.validate(
        cfusage.to_frame([day_record(0), day_record(1, BillingCurrency="EUR")])
    )
    mixed = report.warnings.loc[report.warnings["check"] == "mixed_currencies"]
    assert len(mixed) == 1 and pd.isna(mixed["row"].iloc[0])
    assert mixed["value"].iloc[0] == ["EUR", "USD"]


def test_errors_on_an_untyped_frame_name_row_and_value():
    raw = pd.DataFrame(
        {
            "charge_period_start": ["2026-03-01", "not a date", "2026-03-03"],
            "charge_period_end": ["2026-03-02", "2026-03-03", "2026-03-02"],
            "x_billable_metric_id": ["a", "b", None],
            "list_cost": ["1.0", "x", "2"],
        },
        index=[10, 11, 12],
    )
    report = cfusage.validate(raw)
    assert not report.ok
    got = set(
        zip(report.errors["check"], report.errors["field"], report.errors["row"], strict=True)
    )
    assert got == {
        ("type", "charge_period_start", 11),
        ("type", "list_cost", 11),
        ("period", "charge_period_end", 12),
        ("required", "x_billable_metric_id", 12),
    }
    with pytest.raises(cfusage.ValidationError, match="row 11"):
        report.raise_for_errors()


def test_report_summary_counts_rows_per_rule():
    report = cfusage.validate(
        cfusage.to_frame([day_record(0, ListCost=9.0), day_record(1, ListCost=8.0), day_record(2)])
    )
    summary = report.summary()
    row = summary.loc[summary["check"] == "list_cost_identity"].iloc[0]
    assert row["rows"] == 2 and row["examples"] == "0, 1"
    assert "list_cost_identity" in repr(report)
