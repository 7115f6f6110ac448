"""to_frame: every shape a user has in hand becomes the same typed frame; nothing is lost."""

from __future__ import annotations

import gzip
import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cfusage
from cfusage import schema
from cfusage.io._frame import concat

RECORD = {
    "BillingAccountId": "023e105f4ecef8ad9ca31a8372d0c353",
    "BillingAccountName": "My Account",
    "ChargeCategory": "Usage",
    "ChargeDescription": "Workers Standard Requests — daily usage",
    "ChargeFrequency": "Usage-Based",
    "ChargePeriodEnd": "2025-05-02T00:00:00Z",
    "ChargePeriodStart": "2025-05-01T00:00:00Z",
    "ConsumedQuantity": 150000,
    "ConsumedUnit": "Requests",
    "HostProviderName": "Cloudflare",
    "InvoiceIssuerName": "Cloudflare",
    "ServiceProviderName": "Cloudflare",
    "x_BillableMetricName": "Workers Standard Requests",
    "BilledCost": 0,
    "BillingCurrency": "USD",
    "BillingPeriodEnd": "2025-06-01T00:00:00Z",
    "BillingPeriodStart": "2025-05-01T00:00:00Z",
    "ChargeClass": "Correction",
    "ContractedCost": 0.75,
    "ContractedUnitPrice": 0.000005,
    "EffectiveCost": 0,
    "ListCost": 0.75,
    "ListUnitPrice": 0.000005,
    "PricingQuantity": 150000,
    "PricingUnit": "Requests",
    "RegionId": "EEUR",
    "RegionName": "Eastern Europe",
    "SubAccountId": "c9bd752d-9ca8-411d-b804-be44a758057f",
    "SubAccountName": "My Subscription",
    "x_BillableMetricId": "workers_standard_requests",
    "x_ProductFamilyName": "Workers",
    "x_ZoneId": "023e105f4ecef8ad9ca31a8372d0c354",
    "x_ZoneName": "example.com",
}


def day_record(day: int, metric: str = "workers_standard_requests", **extra) -> dict:
    start = pd.Timestamp("2026-03-01", tz="UTC") + pd.Timedelta(days=day)
    return {
        **RECORD,
        "ChargeClass": None,
        "ChargePeriodStart": f"{start:%Y-%m-%dT%H:%M:%SZ}",
        "ChargePeriodEnd": f"{start + pd.Timedelta(days=1):%Y-%m-%dT%H:%M:%SZ}",
        "x_BillableMetricId": metric,
        **extra,
    }


def envelope(records: list[dict]) -> dict:
    return {"success": True, "errors": [], "messages": [], "result": records}


def assert_typed(df: pd.DataFrame) -> None:
    for name, dtype in schema.dtypes().items():
        assert name in df.columns, name
        assert str(df[name].dtype) == dtype, (name, df[name].dtype)


# ---------------------------------------------------------------------------------------------
# Shapes


def test_envelope_dict_gives_typed_columns_with_values():
    df = cfusage.to_frame(envelope([RECORD]))
    assert_typed(df)
    row = df.iloc[0]
    assert row["charge_period_start"] == pd.Timestamp("2025-05-01", tz="UTC")
    assert row["list_cost"] == 0.75
    assert row["billed_cost"] == 0.0
    assert row["charge_class"] == "Correction"
    assert row["x_zone_name"] == "example.com"


@pytest.mark.parametrize("form", ["str", "bytes", "path", "gzip", "bare_list", "bare_bytes"])
def test_every_json_form_gives_the_same_frame(form, tmp_path):
    records = [day_record(0), day_record(1, ListCost=None)]
    expected = cfusage.to_frame(envelope(records))
    text = json.dumps(envelope(records))
    if form == "str":
        data = text
    elif form == "bytes":
        data = text.encode()
    elif form == "path":
        data = tmp_path / "usage.json"
        data.write_text(text)
    elif form == "gzip":
        data = tmp_path / "usage.json.gz"
        data.write_bytes(gzip.compress(text.encode()))
    elif form == "bare_list":
        data = records
    else:
        data = json.dumps(records).encode()
    pd.testing.assert_frame_equal(cfusage.to_frame(data), expected)


def test_fast_and_careful_paths_agree_on_many_records():
    rng = np.random.default_rng(1)
    records = [
        day_record(i % 31, metric=f"m{i % 7}", ListCost=float(rng.random()), x_ZoneId=None)
        for i in range(500)
    ]
    fast = cfusage.to_frame(json.dumps(envelope(records)).encode())  # pyarrow JSON reader
    careful = cfusage.to_frame(records)  # value-by-value path
    pd.testing.assert_frame_equal(fast, careful)


def test_sdk_objects_are_read_through_to_dict_and_model_dump():
    from cloudflare.types.organizations.billing.usage_get_response import UsageGetResponseItem

    items = [UsageGetResponseItem.model_validate(r) for r in (day_record(0), day_record(1))]
    expected = cfusage.to_frame([day_record(0), day_record(1)])
    pd.testing.assert_frame_equal(cfusage.to_frame(items), expected)

    class OnlyModelDump:  # pydantic models without the SDK's to_dict
        def __init__(self, item):
            self.item = item

        def model_dump(self):
            return self.item.model_dump()  # snake_case names, datetime objects

    pd.testing.assert_frame_equal(cfusage.to_frame([OnlyModelDump(i) for i in items]), expected)


def test_snake_case_dicts_are_read_like_wire_names():
    snake = [{schema.column(k).python: v for k, v in day_record(0).items()}]
    pd.testing.assert_frame_equal(cfusage.to_frame(snake), cfusage.to_frame([day_record(0)]))


def test_several_envelopes_are_concatenated_and_the_later_record_wins():
    first = envelope([day_record(0, ListCost=1.0), day_record(1, ListCost=2.0)])
    revised = envelope([day_record(1, ListCost=2.5), day_record(2, ListCost=3.0)])
    df = cfusage.to_frame([first, revised])
    assert len(df) == 3
    by_day = df.set_index(df["charge_period_start"].dt.day)["list_cost"]
    assert by_day.to_dict() == {1: 1.0, 2: 2.5, 3: 3.0}


def test_duplicates_inside_one_response_are_kept_for_validate_to_report():
    df = cfusage.to_frame(envelope([day_record(0), day_record(0)]))
    assert len(df) == 2
    assert "duplicate_key" in set(cfusage.validate(df).warnings["check"])


def test_concat_keeps_dtypes_and_lets_the_later_frame_win():
    a = cfusage.to_frame([day_record(0, BillingCurrency="USD", ListCost=1.0)])
    b = cfusage.to_frame([day_record(0, BillingCurrency="EUR", ListCost=9.0)])
    b2 = cfusage.to_frame([day_record(0, ListCost=4.0)])
    out = concat([a, b, b2])
    assert_typed(out)
    assert out["list_cost"].tolist() == [4.0]
    both = concat([a, cfusage.to_frame([day_record(1, BillingCurrency="EUR")])])
    assert sorted(both["billing_currency"].astype(str)) == ["EUR", "USD"]


def test_omitted_fields_are_present_as_missing_and_unknown_fields_are_kept():
    minimal = {
        "ChargePeriodStart": "2026-01-01T00:00:00Z",
        "ChargePeriodEnd": "2026-01-02T00:00:00Z",
        "x_BillableMetricId": "r2_class_a_operations",
        "x_NewFieldFromTheFuture": "kept",
        "SomeCount": 3,
    }
    df = cfusage.to_frame(envelope([minimal]))
    assert_typed(df)
    assert df.loc[0, "x_new_field_from_the_future"] == "kept"
    assert df.loc[0, "some_count"] == 3
    assert df["list_cost"].isna().all()  # missing stays missing: never 0
    assert df["billed_cost"].isna().all()


def test_tags_become_dicts():
    df = cfusage.to_frame([day_record(0, Tags={"team": "media", "prod": True}), day_record(1)])
    assert df.loc[0, "tags"] == {"team": "media", "prod": True}
    assert pd.isna(df.loc[1, "tags"])


def test_empty_responses_give_an_empty_typed_frame():
    for data in (envelope([]), {"success": True, "result": None}, [], b"[]"):
        df = cfusage.to_frame(data)
        assert len(df) == 0
        assert_typed(df)


# ---------------------------------------------------------------------------------------------
# FOCUS files from other tools


def test_focus_csv_with_bom_crlf_null_text_enum_case_and_tags(tmp_path):
    header = (
        "BillingAccountId,ChargePeriodStart,ChargePeriodEnd,ChargeCategory,ChargeFrequency,"
        "ServiceName,SkuId,SkuMeter,ListCost,BilledCost,BillingCurrency,Tags,ProviderName,x_Custom"
    )
    rows = [
        "acc1,2026-03-01T00:00:00Z,2026-03-02T00:00:00Z,usage,Usage-based,Workers,"
        'workers_standard_requests,Requests,1.5,NULL,USD,"{""team"": ""web""}",Cloudflare,a',
        "acc1,2026-03-02T00:00:00Z,2026-03-03T00:00:00Z,USAGE,usage-based,R2,r2_storage,"
        "Storage,,0.2,USD,NULL,Cloudflare,b",
    ]
    path = tmp_path / "focus.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join([header, *rows]).encode() + b"\r\n")
    df = cfusage.to_frame(path)
    assert_typed(df)
    assert len(df) == 2
    assert df["charge_category"].tolist() == ["Usage", "Usage"]
    assert df["charge_frequency"].tolist() == ["Usage-Based", "Usage-Based"]
    assert df["x_product_family_name"].tolist() == ["Workers", "R2"]  # from ServiceName
    assert df["x_billable_metric_id"].tolist() == ["workers_standard_requests", "r2_storage"]
    assert df.loc[0, "list_cost"] == 1.5 and pd.isna(df.loc[1, "list_cost"])
    assert pd.isna(df.loc[0, "billed_cost"]) and df.loc[1, "billed_cost"] == 0.2
    assert df.loc[0, "tags"] == {"team": "web"} and pd.isna(df.loc[1, "tags"])
    assert df["provider_name"].tolist() == ["Cloudflare", "Cloudflare"]  # kept as it came
    # FOCUS 1.0-1.2 ProviderName is the provider column (ServiceProviderName in 1.3)
    assert df["service_provider_name"].tolist() == ["Cloudflare", "Cloudflare"]
    assert df["x_custom"].tolist() == ["a", "b"]


def test_focus_parquet_is_read(tmp_path):
    src = pd.DataFrame(
        {
            "ChargePeriodStart": pd.to_datetime(["2026-03-01", "2026-03-02"], utc=True),
            "ChargePeriodEnd": pd.to_datetime(["2026-03-02", "2026-03-03"], utc=True),
            "SkuId": ["a", "b"],
            "EffectiveCost": [1.0, np.nan],
        }
    )
    path = tmp_path / "focus.parquet"
    src.to_parquet(path)
    df = cfusage.to_frame(path)
    assert_typed(df)
    assert df["x_billable_metric_id"].tolist() == ["a", "b"]
    assert df.loc[0, "effective_cost"] == 1.0 and pd.isna(df.loc[1, "effective_cost"])


# ---------------------------------------------------------------------------------------------
# Errors and quarantine


def test_success_false_raises_with_the_api_messages():
    body = {"success": False, "errors": [{"code": 10000, "message": "Authentication error"}]}
    with pytest.raises(cfusage.ResponseError, match=r"\[10000\] Authentication error"):
        cfusage.to_frame(body)
    with pytest.raises(cfusage.ResponseError, match="Authentication error"):
        cfusage.to_frame(json.dumps(body).encode())


@pytest.mark.parametrize(
    "body", [b"<html>502 Bad Gateway</html>", b'{"success": true, "result": [{"a"']
)
def test_a_body_that_is_not_json_raises_response_error(body):
    with pytest.raises(cfusage.ResponseError, match="not a usage envelope"):
        cfusage.to_frame(body)


def test_raise_names_row_field_and_value():
    records = [
        day_record(0),
        day_record(1, ListCost="twelve"),
        day_record(2, ChargePeriodStart="yesterday"),
    ]
    with pytest.raises(cfusage.ValidationError) as info:
        cfusage.to_frame(records)
    cases = info.value.failure_cases
    assert set(zip(cases["row"], cases["field"], cases["value"], strict=True)) == {
        (1, "list_cost", "twelve"),
        (2, "charge_period_start", "yesterday"),
    }
    assert "row 1: list_cost = 'twelve'" in str(info.value)


def test_each_bad_money_cell_gets_its_own_reason():
    _, rejected = cfusage.to_frame(
        [day_record(0, ListCost=math.inf), day_record(1, ListCost="1,000")], errors="quarantine"
    )
    assert "infinite" in rejected.loc[0, "reason"]
    assert (
        "plain decimal" in rejected.loc[1, "reason"] and "infinite" not in rejected.loc[1, "reason"]
    )


def test_end_before_start_and_infinite_money_are_errors():
    records = [
        day_record(0, ChargePeriodEnd="2026-02-01T00:00:00Z"),
        day_record(1, BilledCost=math.inf),
        day_record(2),
    ]
    frame, rejected = cfusage.to_frame(records, errors="quarantine")
    assert len(frame) == 1
    assert rejected["row"].tolist() == [0, 1]
    assert "ends at or before it starts" in rejected.loc[0, "reason"]
    assert "infinite" in rejected.loc[1, "reason"]
    assert rejected.loc[1, "record"]["BilledCost"] == math.inf


def test_quarantine_counts_superseded_rows_so_nothing_is_lost():
    first = envelope([day_record(0), day_record(1)])
    second = envelope([day_record(1), {"ChargePeriodStart": "bad"}])
    frame, rejected = cfusage.to_frame([first, second], errors="quarantine")
    assert len(frame) + len(rejected) == 4
    reasons = dict(zip(rejected["row"], rejected["reason"], strict=True))
    assert "superseded" in reasons[1]
    assert "charge_period_start" in reasons[3]


#: Placeholders the JSON form replaces with raw JSON no Python value dumps to.
BIG_NUMBER, DEEP_JSON = "<json:1e400>", "<json:deep>"
HOSTILE = [
    10**400,  # an int no float holds
    "1e400",
    "1.000,50",
    "2.500,00",
    "1,2.5",
    "1,000",
    "١٢",  # digits, but not ASCII ones
    "0000-01-01",
    "-2026-03-04T00:00:00Z",
    "-2026-03-03T00:00:00Z",
    "2026-03-01T30:00:00Z",
    "10000-01-01T00:00:00Z",
    "\ufeff2026-03-01",
    BIG_NUMBER,
    DEEP_JSON,
]
_value = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["2026-03-01T00:00:00Z", "2026-13-45", "NULL", "", "1e308", "ünïcødé ☁"]),
    st.sampled_from(HOSTILE),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.lists(st.integers(), max_size=2),
)


def _hostile_json(value: object) -> str:
    text = json.dumps(value, default=str)
    text = text.replace(json.dumps(BIG_NUMBER), "1e400")
    return text.replace(json.dumps(DEEP_JSON), "[" * 1000 + "]" * 1000)


_field = st.sampled_from([c.wire for c in schema.COLUMNS] + ["x_Unknown", "weird key ☁"])
_record = st.one_of(
    st.builds(
        lambda d, extra: {**d, **extra},
        st.sampled_from([day_record(0), day_record(3), {}]),
        st.dictionaries(_field, _value, max_size=6),
    ),
    _value,  # not even a record
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(_record, max_size=8), max_size=3), st.sampled_from(["records", "json"]))
def test_rows_in_equal_rows_kept_plus_rows_rejected(responses, form):
    if form == "json":
        try:
            json.dumps([envelope(r) for r in responses], default=str, allow_nan=False)
        except ValueError:  # NaN or infinity is not JSON: the whole body is refused
            data = [json.dumps(envelope(r), default=str).encode() for r in responses]
            with pytest.raises(cfusage.ResponseError):
                cfusage.to_frame(data, errors="quarantine")
            return
        data = [_hostile_json(envelope(r)).encode() for r in responses]
    else:
        data = [envelope(r) for r in responses]
    n_in = sum(len(r) for r in responses)
    # one record's problem (even a nesting too deep to decode) never refuses the whole body
    frame, rejected = cfusage.to_frame(data, errors="quarantine")
    assert len(frame) + len(rejected) == n_in
    assert rejected["row"].is_unique
    assert frame.attrs["cfusage"]["rows_in"] == n_in
    assert_typed(frame)
    # whatever was kept is usable: the error rules find nothing in it
    assert cfusage.validate(frame).ok


def test_summary_mentions_rows_and_spend():
    df = cfusage.to_frame([day_record(0, EffectiveCost=2.0), day_record(1, EffectiveCost=3.0)])
    text = cfusage.summary(df)
    assert "2 usage records" in text
    assert "USD 5.00" in text


@pytest.mark.parametrize(
    "record",
    [
        {"BillingAccountId": None},  # a wire name, and nothing to tell the naming style by
        {"charge_period_start": "2026-03-01", "ChargePeriodStart": "2026-03-01"},  # both names
    ],
)
def test_json_bodies_with_few_or_mixed_names_are_read_like_records(record):
    record = {"charge_period_end": "2026-03-02", "x_billable_metric_id": "m", **record}
    body = json.dumps(envelope([record])).encode()
    from_json = cfusage.to_frame(body, errors="quarantine")
    from_records = cfusage.to_frame([record], errors="quarantine")
    pd.testing.assert_frame_equal(from_json.frame, from_records.frame)
    assert from_json.rejected["reason"].tolist() == from_records.rejected["reason"].tolist()


def test_a_cloudflare_frame_never_holds_a_date_outside_years_1_to_9999():
    records = [day_record(0, ChargePeriodStart="-2026-03-03T00:00:00Z"), day_record(1)]
    frame, rejected = cfusage.to_frame(records, errors="quarantine")
    assert len(frame) == 1 and rejected["row"].tolist() == [0]
    assert "years 0001-9999" in rejected.loc[0, "reason"]
    assert "usage records" in cfusage.summary(frame)


# ---------------------------------------------------------------------------------------------
# A number must be a number (issue 11 item 4)

NOT_NUMBERS = ["1.000,50", "2.500,00", "1,2.5", "1,000", "$5", "1 000", "1_000", "inf", "0x10"]


def _as_form(records: list[dict], form: str, tmp_path):
    if form == "dict":
        return records
    if form == "json":
        return json.dumps(envelope(records)).encode()
    path = tmp_path / "focus.csv"
    pd.DataFrame(records).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("form", ["dict", "json", "csv"])
@pytest.mark.parametrize("text", NOT_NUMBERS)
def test_money_text_that_is_not_a_plain_decimal_is_rejected_never_rewritten(text, form, tmp_path):
    data = _as_form([day_record(0), day_record(1, ListCost=text)], form, tmp_path)
    frame, rejected = cfusage.to_frame(data, errors="quarantine")
    assert frame["list_cost"].tolist() == [0.75]  # the good row only; nothing became 1.0005
    assert rejected["row"].tolist() == [1]
    assert f"list_cost = {text!r}" in rejected.loc[0, "reason"]
    assert "plain decimal" in rejected.loc[0, "reason"]
    with pytest.raises(cfusage.ValidationError) as info:
        cfusage.to_frame(data)
    assert info.value.failure_cases[["row", "field", "value"]].values.tolist() == [
        [1, "list_cost", text]
    ]


@pytest.mark.parametrize("form", ["dict", "json", "csv"])
@pytest.mark.parametrize(
    ("text", "value"),
    [("12.5", 12.5), (" -2 ", -2.0), ("+3.", 3.0), (".5", 0.5), ("1e3", 1000.0), ("1.5E-2", 0.015)],
)
def test_plain_decimal_text_is_read_as_its_number(text, value, form, tmp_path):
    df = cfusage.to_frame(_as_form([day_record(0, ListCost=text)], form, tmp_path))
    assert df["list_cost"].tolist() == [value]


# ---------------------------------------------------------------------------------------------
# Hostile input: nothing but cfusage errors escape (issue 11 item 7)


def test_numbers_out_of_range_are_the_records_problem_not_the_bodys():
    good = json.dumps(day_record(0))
    big = json.dumps(day_record(1)).replace('"ListCost": 0.75', '"ListCost": 1e400')
    body = ('{"success": true, "result": [' + good + ", " + big + "]}").encode()
    frame, rejected = cfusage.to_frame(body, errors="quarantine")
    assert len(frame) == 1 and rejected["row"].tolist() == [1]
    assert "list_cost = '1e400'" in rejected.loc[0, "reason"]
    frame, rejected = cfusage.to_frame([day_record(0, ListCost=10**400)], errors="quarantine")
    assert len(frame) == 0 and "list_cost" in rejected.loc[0, "reason"]
    with pytest.raises(cfusage.ValidationError):
        cfusage.to_frame([day_record(0, ListCost=10**400)])


@pytest.mark.parametrize(
    "date", ["0000-01-01", "-2026-03-04T00:00:00Z", "-2026-03-03T00:00:00Z", "2026-03-01T30:00Z"]
)
def test_dates_outside_years_1_to_9999_or_not_iso_are_rejected_with_the_reason(date):
    frame, rejected = cfusage.to_frame(
        [day_record(0), day_record(1, ChargePeriodStart=date)], errors="quarantine"
    )
    assert len(frame) == 1 and rejected["row"].tolist() == [1]
    assert f"charge_period_start = {date!r}: not a date/time" in rejected.loc[0, "reason"]


def test_nesting_too_deep_is_a_cfusage_error():
    deep = "[" * 1000 + "]" * 1000
    record = json.dumps(day_record(0))[:-1] + ', "x_Deep": ' + deep + "}"
    for body in (
        ('{"success": true, "result": [' + json.dumps(day_record(1)) + ", " + record + "]}"),
        ("[" + json.dumps(day_record(1)) + ", " + record + "]"),
    ):
        frame, rejected = cfusage.to_frame(body.encode(), errors="quarantine")
        assert len(frame) == 1 and rejected["row"].tolist() == [1]  # only that record
        assert "nested too deeply" in rejected.loc[0, "reason"]
        with pytest.raises(cfusage.ValidationError, match="nested too deeply"):
            cfusage.to_frame(body.encode())
    with pytest.raises(cfusage.ResponseError, match="success: false"):
        cfusage.to_frame(('{"success": false, "errors": [], "result": [' + record + "]}").encode())
    nested: list = []
    cur = nested
    for _ in range(5000):
        cur.append([])
        cur = cur[0]
    frame, rejected = cfusage.to_frame([day_record(0, ListCost=nested)], errors="quarantine")
    assert len(frame) == 0 and "too deeply nested" in rejected.loc[0, "reason"]


HEADER = "ChargePeriodStart,ChargePeriodEnd,SkuId,ListCost\n"


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("quoting.csv", (HEADER + '"2026-03-01,2026-03-02,a,1\n').encode(), "well-formed CSV"),
        ("extra.csv", (HEADER + "2026-03-01,2026-03-02,a,1,9\n").encode(), "more cells"),
        ("latin1.csv", (HEADER + "2026-03-01,2026-03-02,café,1\n").encode("latin-1"), "UTF-8"),
        ("empty.csv", b"", "empty"),
        ("cut.json.gz", gzip.compress(json.dumps(envelope([RECORD])).encode())[:60], "truncated"),
        ("not.json.gz", b"plain text", "gzip"),
        ("bad.parquet", b"PAR1garbagegarbagePAR1", "Parquet"),
    ],
)
def test_broken_files_raise_a_data_error_naming_the_file(name, content, match, tmp_path):
    path = tmp_path / name
    path.write_bytes(content)
    for errors in ("raise", "quarantine"):
        with pytest.raises(cfusage.DataError, match=match) as info:
            cfusage.to_frame(path, errors=errors)
        assert name in str(info.value)


def test_a_utf16_csv_with_its_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "utf16.csv"
    path.write_bytes((HEADER + "2026-03-01,2026-03-02,café,1.5\n").encode("utf-16"))
    df = cfusage.to_frame(path)
    assert df["x_billable_metric_id"].tolist() == ["café"] and df["list_cost"].tolist() == [1.5]


def test_json_text_with_a_bom_or_thousands_of_characters_is_a_body_not_a_path():
    records = [day_record(i % 28, metric=f"m{i}") for i in range(40)]
    text = json.dumps(envelope(records))
    assert len(text) > 5000
    expected = cfusage.to_frame(records)
    pd.testing.assert_frame_equal(cfusage.to_frame("\ufeff" + text), expected)
    pd.testing.assert_frame_equal(cfusage.to_frame("\n  " + text), expected)
    with pytest.raises(cfusage.ResponseError):
        cfusage.to_frame("x" * 5000)  # not a file name any system accepts: read as a body


# ---------------------------------------------------------------------------------------------
# One item, and summary() on something else (issue 13 item 5)


def test_a_single_sdk_item_or_record_dict_is_one_record():
    from cloudflare.types.organizations.billing.usage_get_response import UsageGetResponseItem

    item = UsageGetResponseItem.model_validate(day_record(0))
    expected = cfusage.to_frame([day_record(0)])
    pd.testing.assert_frame_equal(cfusage.to_frame(item), expected)
    pd.testing.assert_frame_equal(cfusage.to_frame(day_record(0)), expected)


def test_summary_of_a_frame_that_is_not_usage_names_the_missing_columns():
    with pytest.raises(cfusage.MissingColumnsError, match="charge_period_start") as info:
        cfusage.summary(pd.DataFrame({"a": [1, 2]}))
    assert "billed_cost" in info.value.columns and "a" not in info.value.columns
