"""The shapes speed relies on: dictionary-encoded ids, chunked parsing, category-keeping concat,
and a light ``import cfusage``. Behaviour only (no timings): each fast mechanism gives exactly
what the plain one gives."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import cfusage
from cfusage import schema
from cfusage.io import _frame

IDS = ("billing_account_id", "sub_account_id", "x_zone_id", "x_billable_metric_id")
IDS_AND_FAMILY = (*IDS, "x_product_family_id")


def record(i: int, *, account: str, zone: str | None, metric: str) -> dict:
    day = pd.Timestamp("2026-03-01", tz="UTC") + pd.Timedelta(days=i % 28)
    return {
        "BillingAccountId": account,
        "BillingAccountName": f"name of {account}",
        "SubAccountId": f"sub-{account}",
        "ChargePeriodStart": f"{day:%Y-%m-%dT%H:%M:%SZ}",
        "ChargePeriodEnd": f"{day + pd.Timedelta(days=1):%Y-%m-%dT%H:%M:%SZ}",
        "ChargeCategory": "Usage",
        "ChargeFrequency": "Usage-Based",
        "x_BillableMetricId": metric,
        "x_ProductFamilyId": f"fam-{metric[:1]}",
        "x_ZoneId": zone,
        "ConsumedQuantity": i,
        "ListCost": None if i % 5 == 0 else i / 10,
        "BillingCurrency": "USD",
        "ServiceProviderName": "Cloudflare",
    }


def records(n: int, seed: int = 0, prefix: str = "") -> list[dict]:
    rng = np.random.default_rng(seed)
    return [
        record(
            i,
            # values appear in a shuffled order, so pyarrow's dictionaries are not sorted
            account=f"{prefix}acct-{rng.integers(0, 9)}",
            zone=None if i % 3 == 0 else f"zone-{rng.integers(0, 20):02d}",
            metric=f"{'zyx'[i % 3]}-metric-{rng.integers(0, 4)}",
        )
        for i in range(n)
    ]


def body(recs: list[dict], *, indent: int | None = None) -> bytes:
    env = {"success": True, "errors": [], "messages": [], "result": recs}
    return json.dumps(env, indent=indent).encode()


def test_ids_are_dictionary_encoded_in_the_column_table_and_in_frames():
    for name in IDS_AND_FAMILY:
        assert schema.column(name).dtype == "category"
    df = cfusage.to_frame(body(records(50)))
    for name in IDS_AND_FAMILY:
        assert isinstance(df[name].dtype, pd.CategoricalDtype), name
        assert df[name].cat.categories.dtype == "str", name


def test_chunked_fast_path_equals_the_careful_path(monkeypatch):
    """Many small chunks, each with its own dictionaries, give the value-by-value path's frame
    exactly, categories (sorted) included."""
    recs = records(400, seed=3)
    careful = cfusage.to_frame(recs)  # python records: the careful path
    monkeypatch.setattr(_frame, "_CHUNK_BYTES", 2_000)  # a handful of records per chunk
    raws = _frame._split_body(body(recs))
    assert _frame._fast_json(raws, single_line=True) is not None  # the fast path is taken
    fast = cfusage.to_frame(body(recs))
    pd.testing.assert_frame_equal(fast, careful)
    for name in IDS:
        cats = fast[name].cat.categories
        assert list(cats) == sorted(cats), name


def test_a_pretty_printed_body_gives_the_compact_bodys_frame():
    recs = records(60, seed=4)
    assert b"\n" in body(recs, indent=2)
    pd.testing.assert_frame_equal(
        cfusage.to_frame(body(recs, indent=2)), cfusage.to_frame(body(recs))
    )


@pytest.mark.parametrize("bad", [None, 1, "text", [1, 2]])
def test_a_record_that_is_not_an_object_is_named_and_nothing_is_lost(bad, monkeypatch):
    monkeypatch.setattr(_frame, "_CHUNK_BYTES", 2_000)
    recs: list = records(30, seed=5)
    recs.insert(17, bad)
    frame, rejected = cfusage.to_frame(body(recs), errors="quarantine")
    assert len(frame) + len(rejected) == len(recs)
    assert rejected["row"].tolist() == [17]
    assert "not a record" in rejected["reason"].iloc[0]


def test_concat_of_frames_with_different_categories_keeps_categories_and_values():
    a = cfusage.to_frame(body(records(40, seed=1, prefix="a-")))
    b = cfusage.to_frame(body(records(40, seed=2, prefix="b-")))
    assert not a["billing_account_id"].cat.categories.equals(b["billing_account_id"].cat.categories)
    out = cfusage.concat([a, b], dedupe=False)
    # the expectation, independently: every value as text, concatenated
    for name in IDS_AND_FAMILY:
        assert isinstance(out[name].dtype, pd.CategoricalDtype), name
        expected = pd.concat([a[name].astype("str"), b[name].astype("str")], ignore_index=True)
        pd.testing.assert_series_equal(out[name].astype("str"), expected, check_names=False)
        cats = out[name].cat.categories
        assert list(cats) == sorted(cats) and cats.dtype == "str", name


def test_several_envelopes_concatenate_with_ids_as_categories():
    first, second = records(30, seed=1, prefix="a-"), records(30, seed=2, prefix="b-")
    df = cfusage.to_frame([body(first), body(second)])
    assert len(df) == 60
    assert isinstance(df["billing_account_id"].dtype, pd.CategoricalDtype)
    assert set(df["billing_account_id"].astype("str")) == {
        r["BillingAccountId"] for r in first + second
    }


def test_groupby_on_categorical_ids_gives_the_text_groupby():
    df = cfusage.to_frame(body(records(200, seed=6)))
    got = df.groupby("billing_account_id", observed=True)["consumed_quantity"].sum()
    text = df.assign(billing_account_id=df["billing_account_id"].astype("str"))
    want = text.groupby("billing_account_id")["consumed_quantity"].sum()
    assert got.index.astype("str").tolist() == want.index.tolist()
    assert got.tolist() == want.tolist()


def test_focus_export_writes_category_ids_as_their_text(tmp_path):
    df = cfusage.to_frame(body(records(30, seed=7)))
    text_ids = df.astype({name: "str" for name in IDS_AND_FAMILY})
    a = cfusage.to_focus(df, tmp_path / "a.csv", strict=False)
    b = cfusage.to_focus(text_ids, tmp_path / "b.csv", strict=False)
    assert a.read_bytes() == b.read_bytes()


def _python(code: str) -> str:
    out = subprocess.run(
        [sys.executable, "-W", "error", "-c", code], check=True, capture_output=True, text=True
    )
    return out.stdout.strip()


def test_import_cfusage_does_not_import_pandas():
    assert _python("import sys, cfusage; print('pandas' in sys.modules)") == "False"


@pytest.mark.parametrize(
    "order",
    [
        "import pandas as pd, cfusage",
        "import cfusage; import pandas as pd",
        "import cfusage; cfusage.to_frame([]); import pandas as pd",
        "import pandas as pd, cfusage, cfusage.accessor",
        "import cfusage.accessor, pandas as pd",
    ],
)
def test_df_cfusage_works_whichever_is_imported_first_and_never_warns(order):
    code = (
        f"{order}\n"
        "df = pd.DataFrame({'charge_period_start': pd.to_datetime(['2026-01-05', '2026-02-05'],"
        " utc=True), 'effective_cost': pd.array([10.0, 12.0], dtype='Float64')})\n"
        "print(type(df.cfusage).__name__, len(df.cfusage.period_over_period(as_of='2026-02-28')))"
    )
    assert _python(code) == "CfusageAccessor 2"


def _envelope(recs: list[dict]) -> dict:
    return {"success": True, "errors": [], "messages": [], "result": recs}


def test_several_bodies_are_parsed_in_one_pass_with_each_rows_source(monkeypatch):
    """Consecutive JSON bodies go through one pyarrow parse; rows, sources, rejected rows and
    "a later source wins on the key" are those of the same envelopes loaded record by record
    (dict envelopes: the careful path), and are checked by hand."""
    first = records(4, seed=1)
    second = records(3, seed=2, prefix="b-")
    second[1] = second[1] | {"x_BillableMetricId": None}  # row 5 overall: no SkuId
    third = [first[2] | {"ListCost": 99.0}]  # supersedes row 2 of the first body
    bodies = [body(first), body(second), body(third)]
    calls = []
    real = _frame._fast_json
    monkeypatch.setattr(_frame, "_fast_json", lambda *a, **k: calls.append(1) or real(*a, **k))
    frame, rejected = cfusage.to_frame(bodies, errors="quarantine")
    assert len(calls) == 1  # one parse for the three bodies
    monkeypatch.setattr(_frame, "_fast_json", real)
    careful, careful_rejected = cfusage.to_frame(
        [_envelope(first), _envelope(second), _envelope(third)], errors="quarantine"
    )
    pd.testing.assert_frame_equal(frame, careful)
    pd.testing.assert_frame_equal(rejected, careful_rejected)
    # by hand: 8 records in; row 2 (source 0) superseded, row 5 (source 1) has no SkuId
    assert frame.attrs["cfusage"] == {"rows_in": 8, "sources": 3}
    assert rejected["row"].tolist() == [2, 5]
    assert rejected["source"].tolist() == [0, 1]
    assert rejected["reason"][0].startswith("superseded")
    assert "x_billable_metric_id" in rejected["reason"][1]
    assert len(frame) + len(rejected) == 8
    assert frame.loc[frame["list_cost"] == 99.0].shape[0] == 1
    with pytest.raises(cfusage.ValidationError) as err:
        cfusage.to_frame(bodies)
    assert err.value.failure_cases["row"].tolist() == [5]


def test_bodies_that_cannot_be_parsed_together_are_loaded_one_by_one():
    """Wire names beside python names, or a body with Tags: each body on its own, same frame."""
    wire = records(3, seed=4)
    python = [{schema.python_name(k): v for k, v in r.items()} for r in records(3, seed=5)]
    tagged = [r | {"Tags": {"team": "x"}} for r in records(2, seed=6)]
    for parts in ([wire, python], [wire, tagged], [tagged, wire]):
        got = cfusage.to_frame([body(p) for p in parts])
        want = cfusage.to_frame([_envelope(p) for p in parts])
        pd.testing.assert_frame_equal(got, want)
        assert got.attrs["cfusage"]["rows_in"] == sum(map(len, parts))


def test_an_all_null_column_beside_its_other_spelling_is_merged_as_the_careful_path_does():
    """``charge_class`` (python name, null everywhere) beside ``ChargeClass`` with values: the
    value is kept, as the value-by-value path keeps it."""
    recs = [
        {schema.python_name(k): v for k, v in r.items()} | {"charge_class": None}
        for r in records(6, seed=7)
    ]
    recs = [r | {"ChargeClass": "Correction"} for r in recs]
    got = cfusage.to_frame(body(recs))
    want = cfusage.to_frame(recs)
    pd.testing.assert_frame_equal(got, want)
    assert (got["charge_class"] == "Correction").all()


def test_categories_built_once_per_process_give_the_same_frames():
    """The fast path's categorical dtypes come from a per-process cache: a second call on the same
    body reuses them and gives the first call's frame, codes as narrow as pandas makes them."""
    data = body(records(60, seed=8))
    first = cfusage.to_frame(data)
    hits = _frame._category_dtype.cache_info().hits
    second = cfusage.to_frame(data)
    assert _frame._category_dtype.cache_info().hits > hits
    pd.testing.assert_frame_equal(first, second)
    pd.testing.assert_frame_equal(first, cfusage.to_frame(records(60, seed=8)))
    for name in IDS_AND_FAMILY:
        assert first[name].cat.codes.dtype == np.int8, name
