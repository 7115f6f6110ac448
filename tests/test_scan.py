"""Scanning, not loading (issue 14): ``Store.scan`` and ``cfusage.scan_focus`` on DuckDB and Polars.

The reference is always the eager path on the same files: ``Store.read()`` for the store and
``cfusage.to_frame(file)`` for FOCUS files (the committed AWS, Azure and GCP exports, FOCUS 1.2
and 1.3), compared column by column through tests/engines.py ``collect``; the helpers run on the
scans and equal the pandas helper on the eager frame (tests/engines.py ``assert_same``).
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

import cfusage
import cfusage.fetch._store as store_module
from cfusage import schema
from cfusage.analysis._variance import period_over_period
from cfusage.errors import ArgumentError, DataError, MissingColumnsError, StoreError
from cfusage.fetch._store import MANIFEST, Store
from tests.engines import assert_same, collect

FOCUS = Path(__file__).resolve().parent / "data" / "focus"
FILES = sorted(FOCUS.glob("*.csv"))
SCANS = ("duckdb", "polars")
AS_OF = dt.date(2026, 4, 30)

pytestmark = pytest.mark.filterwarnings("ignore:.*rows have no .* \\(NA\\):UserWarning")


def same_values(got: pd.DataFrame, want: pd.DataFrame, where: str) -> None:
    """Every column of ``want`` in ``got``, same NA pattern, values equal (numbers to 1e-12,
    relative), ``tags`` compared as the JSON objects they hold."""
    got, want = got.reset_index(drop=True), want.reset_index(drop=True)
    assert len(got) == len(want), where
    for c in want.columns:
        g, w = got[c], want[c]
        assert (g.isna().to_numpy() == w.isna().to_numpy()).all(), (where, c, "NA pattern")
        known = w.notna().to_numpy()
        if str(w.dtype) == "Float64":
            np.testing.assert_allclose(
                g[known].to_numpy(dtype=float),
                w[known].to_numpy(dtype=float),
                rtol=1e-12,
                err_msg=f"{where}: {c}",
            )
        elif c == "tags":
            assert [json.loads(v) for v in g[known]] == [
                json.loads(v) if isinstance(v, str) else v for v in w[known]
            ], (where, c)
        else:
            assert g[known].tolist() == w[known].tolist(), (where, c)


def by_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Rows in one order, whatever the engine read first: sorted on every column's text."""
    cells = df.drop(columns=[c for c in ("tags",) if c in df.columns]).astype(object)
    key = cells.map(lambda v: "<NA>" if v is None or v is pd.NA else repr(v)).agg("|".join, 1)
    return df.iloc[np.argsort(key.to_numpy(), kind="stable")].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# import cfusage stays light
# ---------------------------------------------------------------------------------------------
def test_import_cfusage_imports_no_engine():
    code = (
        "import sys\n"
        "ENGINES = ('polars', 'duckdb', 'pyspark', 'ibis', 'sqlframe', 'dask', 'modin')\n"
        "BACKENDS = ('narwhals._polars', 'narwhals._duckdb', 'narwhals._spark_like',\n"
        "            'narwhals._ibis', 'narwhals._dask', 'narwhals._sqlframe')\n"
        "def loaded():\n"
        "    return sorted(m for m in sys.modules\n"
        "                  if m.split('.')[0] in ENGINES or m.startswith(BACKENDS))\n"
        "import cfusage\n"
        "assert not loaded(), ('import cfusage', loaded())\n"
        "cfusage.Store\n"
        "assert not loaded(), ('cfusage.Store', loaded())\n"
        "cfusage.scan_focus\n"
        "assert not loaded(), ('cfusage.scan_focus', loaded())\n"
        "import tempfile\n"
        "cfusage.Store(tempfile.mkdtemp()).read()\n"
        "assert not loaded(), ('Store.read()', loaded())\n"
        "cfusage.Store(tempfile.mkdtemp()).scan('duckdb')\n"
        "assert 'duckdb' in sys.modules and 'polars' not in sys.modules, loaded()\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------------------------------------
# Store.scan
# ---------------------------------------------------------------------------------------------
class FakeClient:
    """Serves a typed frame's rows for the days asked (as tests/test_store.py's)."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame

    def usage(self, start: dt.date, end: dt.date) -> pd.DataFrame:
        day = self.frame["charge_period_start"]
        keep = (day >= pd.Timestamp(start, tz="UTC")) & (
            day < pd.Timestamp(end, tz="UTC") + pd.Timedelta(days=1)
        )
        out = self.frame.loc[keep].reset_index(drop=True)
        out.attrs["cfusage"] = {"complete_through": end}
        return out


def sample_rows() -> pd.DataFrame:
    """The sample organization in March and April 2026, some costs NA, tags and an extra column."""
    df = cfusage.sample.load()
    day = df["charge_period_start"]
    df = df.loc[(day >= "2026-03-01") & (day < "2026-05-01")].reset_index(drop=True)
    df.attrs.clear()
    na = np.arange(len(df)) % 7 == 3
    df["effective_cost"] = df["effective_cost"].mask(na)
    df["billed_cost"] = df["billed_cost"].mask(np.arange(len(df)) % 11 == 5)
    df["tags"] = [{"team": "edge"} if i % 5 == 0 else pd.NA for i in range(len(df))]
    df["x_cost_center"] = [f"cc-{i % 3}" for i in range(len(df))]
    return store_module._typed(df)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Store:
    path = tmp_path_factory.mktemp("store")
    s = Store(path)
    s.sync(
        FakeClient(sample_rows()),
        "2026-03-01",
        "2026-04-30",
        now=dt.datetime(2026, 6, 1, tzinfo=dt.UTC),
    )
    return s


def decoded(df: pd.DataFrame) -> pd.DataFrame:
    """JSON text columns of a scan decoded as read() decodes them."""
    out = df.copy()
    out["tags"] = [json.loads(v) if isinstance(v, str) else pd.NA for v in df["tags"]]
    return out


@pytest.mark.parametrize("engine", SCANS)
def test_store_scan_has_read_s_rows_columns_and_values(store, engine):
    scan = store.scan(engine)
    assert not isinstance(scan, pd.DataFrame)
    ref = store.read()
    got = collect(scan)
    assert "month" not in got.columns  # the partition key is no column (read() has none)
    assert list(got.columns) == list(ref.columns)
    want = collect(ref.drop(columns=["tags"]))
    keys = ["charge_period_start", *schema.KEY[:-2]]
    got = got.sort_values(keys, kind="stable", ignore_index=True)
    want = want.sort_values(keys, kind="stable", ignore_index=True)
    same_values(got.drop(columns=["tags"]), want, f"store scan {engine}")
    tags = ref.sort_values(keys, kind="stable", ignore_index=True)["tags"]
    assert decoded(got)["tags"].isna().tolist() == tags.isna().tolist()
    assert got["billed_cost"].isna().sum() == ref["billed_cost"].isna().sum() > 0  # NA stays NA


@pytest.mark.parametrize("engine", SCANS)
def test_months_with_different_extra_columns_scan_as_their_union(tmp_path, engine):
    """March carries an extra column April lacks (and April one March lacks): every column is
    scanned, null in the month without it, as read() gives it."""
    frame = sample_rows().drop(columns=["x_cost_center"])
    march = frame.loc[frame["charge_period_start"] < "2026-04-01"].assign(x_only_march="m")
    april = frame.loc[frame["charge_period_start"] >= "2026-04-01"].assign(x_only_april=1.5)
    s = Store(tmp_path)
    now = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    s.sync(
        FakeClient(store_module._typed(march.reset_index(drop=True))),
        "2026-03-01",
        "2026-03-31",
        now=now,
    )
    s.sync(
        FakeClient(store_module._typed(april.reset_index(drop=True))),
        "2026-04-01",
        "2026-04-30",
        now=now,
    )
    ref = s.read()
    got = collect(s.scan(engine))
    assert {"x_only_march", "x_only_april"} <= set(got.columns)
    assert set(got.columns) == set(ref.columns)
    for c, n in (("x_only_march", len(march)), ("x_only_april", len(april))):
        assert got[c].notna().sum() == ref[c].notna().sum() == n


@pytest.mark.parametrize("engine", SCANS)
def test_store_scan_types_are_the_store_s(store, engine):
    got = collect(store.scan(engine).limit(3) if engine == "duckdb" else store.scan(engine).head(3))
    assert str(got["charge_period_start"].dtype) == "datetime64[us, UTC]"
    assert str(got["billed_cost"].dtype) == "Float64"


@pytest.mark.parametrize("engine", SCANS)
@pytest.mark.parametrize("by", [None, "service", ["account", "metric"]])
def test_helpers_on_the_store_scan_equal_pandas_on_read(store, engine, by):
    ref = store.read()
    ref.attrs.clear()
    want = period_over_period(ref, by=by, as_of=AS_OF)
    assert_same(period_over_period(store.scan(engine), by=by, as_of=AS_OF), want, engine)
    want = cfusage.discounts(ref, by=by)
    assert_same(cfusage.discounts(store.scan(engine), by=by), want, engine)


@pytest.mark.parametrize("engine", SCANS)
def test_store_scan_reads_only_the_partition_files(store, tmp_path, engine):
    """A stray Parquet file in a partition directory (verify() reports it) is not read."""
    import shutil

    copy = Path(shutil.copytree(store.path, tmp_path / "copy"))
    month = sorted(copy.glob("month=*"))[0]
    shutil.copy(month / "part-0.parquet", month / "stray.parquet")
    assert any(p.kind == "stray" for p in Store(copy).verify().problems)
    assert len(collect(Store(copy).scan(engine))) == len(store.read())


@pytest.mark.parametrize("engine", SCANS)
def test_an_empty_store_scans_to_an_empty_typed_frame(tmp_path, engine):
    for path in (tmp_path / "none-yet", tmp_path):
        got = collect(Store(path).scan(engine))
        assert len(got) == 0
        assert list(got.columns) == [c.python for c in schema.COLUMNS]
        assert str(got["charge_period_start"].dtype) == "datetime64[us, UTC]"
        assert str(got["effective_cost"].dtype) == "Float64"
    assert not (tmp_path / "none-yet").exists()  # scanning creates nothing


@pytest.mark.parametrize("engine", SCANS)
def test_a_damaged_store_is_refused(store, tmp_path, engine):
    import shutil

    missing = Path(shutil.copytree(store.path, tmp_path / "missing"))
    (sorted(missing.glob("month=*"))[0] / "part-0.parquet").unlink()
    with pytest.raises(StoreError, match="file missing"):
        Store(missing).scan(engine)
    truncated = Path(shutil.copytree(store.path, tmp_path / "truncated"))
    part = sorted(truncated.glob("month=*"))[-1] / "part-0.parquet"
    part.write_bytes(part.read_bytes()[:-100])
    with pytest.raises(StoreError, match="cannot be read"):
        Store(truncated).scan(engine)
    bad = Path(shutil.copytree(store.path, tmp_path / "manifest"))
    (bad / MANIFEST).write_text("{not json")
    with pytest.raises(StoreError, match="not valid JSON"):
        Store(bad).scan(engine)


def test_store_scan_is_lazy_a_later_sync_is_seen(store, tmp_path):
    """The scan reads the files when collected, not when made."""
    import shutil

    copy = Store(shutil.copytree(store.path, tmp_path / "lazy"))
    scan = copy.scan("duckdb")
    before = scan.aggregate("count(*)").fetchall()[0][0]
    frame = sample_rows()
    frame = frame.loc[frame["charge_period_start"] < "2026-03-02"].reset_index(drop=True)
    copy.sync(FakeClient(frame.head(1)), "2026-03-01", "2026-03-01", repair=False)
    assert before == len(store.read())  # made before the sync, counted before it
    assert scan.aggregate("count(*)").fetchall()[0][0] == len(copy.read())


def test_store_scan_uses_the_connection_given(store):
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    scan = store.scan("duckdb", connection=con)
    con.execute(f"CREATE TABLE t AS SELECT * FROM read_parquet('{store.path}/*/*.parquet')")
    assert scan.aggregate("count(*)").fetchall() == con.sql("SELECT count(*) FROM t").fetchall()
    ny = duckdb.connect()
    ny.execute("SET TimeZone = 'America/New_York'")
    with pytest.raises(ArgumentError, match="UTC"):
        period_over_period(store.scan("duckdb", connection=ny), as_of=AS_OF)


def test_bad_engine_arguments(store, monkeypatch):
    with pytest.raises(ArgumentError, match="'duckdb', 'polars'"):
        store.scan("spark")  # type: ignore[arg-type]
    with pytest.raises(ArgumentError, match="'duckdb', 'polars'"):
        cfusage.scan_focus(FILES[0], engine="pandas")  # type: ignore[arg-type]
    with pytest.raises(ArgumentError, match="connection"):
        store.scan("polars", connection=duckdb.connect())
    with pytest.raises(ArgumentError, match="duckdb connection"):
        store.scan("duckdb", connection="memory")
    for engine in SCANS:
        monkeypatch.setitem(sys.modules, engine, None)  # as if not installed
        with pytest.raises(ImportError, match=rf"pip install 'cfusage\[{engine}\]'"):
            store.scan(engine)
        with pytest.raises(ImportError, match=rf"pip install 'cfusage\[{engine}\]'"):
            cfusage.scan_focus(FILES[0], engine=engine)
        monkeypatch.delitem(sys.modules, engine)


# ---------------------------------------------------------------------------------------------
# scan_focus: the committed FOCUS files, against to_frame
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("engine", SCANS)
@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_scan_focus_equals_to_frame_on_the_committed_files(path, engine):
    ref = cfusage.to_frame(path)
    got = collect(cfusage.scan_focus(path, engine=engine))
    assert list(got.columns) == list(ref.columns)  # same names, table columns first, then extras
    assert str(got["charge_period_start"].dtype) == "datetime64[us, UTC]"
    assert str(got["billed_cost"].dtype) == "Float64"
    want = collect(ref.drop(columns=["tags"])).assign(tags=ref["tags"].to_numpy())
    same_values(got, want[list(got.columns)], f"{path.name} {engine}")


@pytest.mark.parametrize("engine", SCANS)
@pytest.mark.parametrize(
    "path", [FOCUS / "focus_1_3_cost_and_usage_aws.csv", FOCUS / "focus_1_2_cost_and_usage_gcp.csv"]
)
@pytest.mark.parametrize("by", [None, "service", ["provider", "region"]])
def test_helpers_on_scan_focus_equal_pandas_on_to_frame(path, engine, by):
    ref = cfusage.to_frame(path)
    ref.attrs.clear()
    scan = cfusage.scan_focus(path, engine=engine)
    for freq in ("MS", "D"):
        want = period_over_period(ref, by=by, freq=freq)
        assert_same(period_over_period(scan, by=by, freq=freq), want, engine)
    assert_same(cfusage.discounts(scan, by=by), cfusage.discounts(ref, by=by), engine)


def parquet_copy(csv_path: Path, target: Path) -> Path:
    """The CSV as a Parquet export would hold it: arrow's types (timestamps, doubles, ints)."""
    table = pacsv.read_csv(csv_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, target)
    return target


@pytest.mark.parametrize("engine", SCANS)
def test_scan_focus_reads_hive_partitioned_parquet(tmp_path, engine):
    """Two billing periods from two providers (different columns): one scan, unioned by name,
    ``billing_period`` from the directory names, each partition equal to to_frame of its file."""
    may = parquet_copy(FILES[3], tmp_path / "billing_period=2026-05" / "part.parquet")
    june = parquet_copy(FILES[1], tmp_path / "billing_period=2026-06" / "part.parquet")
    (tmp_path / "_SUCCESS").write_text("")
    (tmp_path / "billing_period=2026-06" / ".part.parquet.crc").write_text("x")
    assert pa.types.is_timestamp(pq.read_schema(may).field("ChargePeriodStart").type)
    for source in (tmp_path, str(tmp_path / "*" / "*.parquet"), str(tmp_path / "**/*.parquet")):
        got = collect(cfusage.scan_focus(source, engine=engine))
        assert got["billing_period"].value_counts().to_dict() == {"2026-05": 250, "2026-06": 250}
        for period, file in (("2026-05", may), ("2026-06", june)):
            ref = cfusage.to_frame(file)
            part = got.loc[got["billing_period"] == period, list(ref.columns)]
            want = collect(ref.drop(columns=["tags"])).assign(tags=ref["tags"].to_numpy())
            same_values(by_rows(part), by_rows(want), f"{period} {engine}")


@pytest.mark.parametrize("engine", SCANS)
def test_scan_focus_of_several_csv_files_is_their_union(tmp_path, engine):
    for name in ("a", "b"):
        (tmp_path / f"{name}.csv").write_bytes(FILES[0 if name == "a" else 2].read_bytes())
    got = collect(cfusage.scan_focus(tmp_path / "*.csv", engine=engine))
    ref = cfusage.to_frame([FILES[0], FILES[2]], dedupe=False)
    assert len(got) == len(ref) == 500
    assert sorted(set(ref.columns) - set(got.columns)) == []
    cols = [c for c in ref.columns if c != "tags"]
    same_values(by_rows(got[cols]), by_rows(collect(ref[cols])), f"union {engine}")


QUIRKS = (
    "ChargePeriodStart,ChargePeriodEnd,BilledCost,EffectiveCost,ChargeCategory,ChargeFrequency,"
    "ServiceName,SkuId,x_BillableMetricId,ProviderName,BillingCurrency,Tags,MyColumn\n"
    "2026-03-01T00:00:00Z,2026-03-02T00:00:00Z,1.5,NULL,usage,usage-based,Workers,sku,,Cloudflare,"
    'USD,"{""env"":""prod""}",x\n'
    "2026-03-01,2026-03-02,  2.25 ,1e-3,Usage,Usage-Based, R2 ,,metric_b,AWS,USD,,NULL\n"
    "2026-03-01 02:00:00+02:00,2026-03-02T00:00+00:00,-0.5,,TAX,One-Time,,,,Azure, usd ,N/A,\n"
    "2026-03-01T05:06:07.25,2026-03-01T06:00:00-0130,0,.5,Credit,,Stream,,m,nan,EUR,,y\n"
)


@pytest.mark.parametrize("engine", SCANS)
def test_scan_focus_types_text_as_to_frame_does(tmp_path, engine):
    """Dates in every ISO 8601 spelling the loader takes, NULL-ish text, padded cells, enums in
    another case, SkuId beside x_BillableMetricId, ProviderName, an extra column."""
    path = tmp_path / "quirks.csv"
    path.write_text(QUIRKS)
    ref = cfusage.to_frame(path)
    assert len(ref) == 4
    got = collect(cfusage.scan_focus(path, engine=engine))
    assert list(got.columns) == list(ref.columns)
    want = collect(ref.drop(columns=["tags"])).assign(tags=ref["tags"].to_numpy())
    same_values(got, want, f"quirks {engine}")
    metric = got["x_billable_metric_id"]
    assert [None if pd.isna(v) else v for v in metric] == ["sku", "metric_b", None, "m"]
    assert got["charge_period_start"][2] == pd.Timestamp("2026-03-01T00:00:00Z")


def bad_file(tmp_path: Path, column: str, value: str) -> Path:
    lines = QUIRKS.splitlines()
    header = lines[0].split(",")
    cells = lines[2].split(",")
    cells[header.index(column)] = value
    path = tmp_path / f"bad_{column}.csv"
    path.write_text("\n".join([lines[0], lines[1], ",".join(cells)]) + "\n")
    return path


@pytest.mark.parametrize("engine", SCANS)
@pytest.mark.parametrize(
    ("column", "value", "python"),
    [
        ("BilledCost", '"1,000"', "billed_cost"),
        ("EffectiveCost", "$5", "effective_cost"),
        ("BilledCost", "inf", "billed_cost"),
        ("ChargePeriodEnd", "01/03/2026", "charge_period_end"),
        ("ChargePeriodStart", "0000-03-01", "charge_period_start"),
        ("ChargePeriodStart", "", "charge_period_start"),
    ],
)
def test_values_that_cannot_be_typed_stop_the_query_naming_column_and_value(
    tmp_path, engine, column, value, python
):
    path = bad_file(tmp_path, column, value)
    with pytest.raises(cfusage.ValidationError):  # the eager loader refuses the same row
        cfusage.to_frame(path)
    scan = cfusage.scan_focus(path, engine=engine)  # made: nothing read yet
    error = duckdb.Error if engine == "duckdb" else DataError
    with pytest.raises(error) as info:
        collect(scan)
    message = str(info.value)
    assert python in message
    if value:
        assert repr(value.strip('"')) in message or value.strip('"') in message


def test_a_file_without_charge_periods_is_refused_when_scanned(tmp_path):
    path = tmp_path / "no_period.csv"
    path.write_text("BilledCost,ServiceName\n1,Workers\n")
    for engine in SCANS:
        with pytest.raises(MissingColumnsError, match="ChargePeriodStart"):
            cfusage.scan_focus(path, engine=engine)  # type: ignore[arg-type]


@pytest.mark.parametrize("engine", SCANS)
def test_a_boolean_cost_column_is_refused(tmp_path, engine):
    path = tmp_path / "bool.parquet"
    pq.write_table(
        pa.table(
            {
                "ChargePeriodStart": pa.array([dt.datetime(2026, 3, 1)], pa.timestamp("us")),
                "ChargePeriodEnd": pa.array([dt.datetime(2026, 3, 2)], pa.timestamp("us")),
                "BilledCost": [True],
            }
        ),
        path,
    )
    with pytest.raises(DataError, match="BilledCost"):
        cfusage.scan_focus(path, engine=engine)


@pytest.mark.parametrize("engine", SCANS)
def test_parquet_nan_is_unknown_and_naive_timestamps_are_utc(tmp_path, engine):
    path = tmp_path / "nan.parquet"
    pq.write_table(
        pa.table(
            {
                "ChargePeriodStart": pa.array([dt.datetime(2026, 3, 1)] * 2, pa.timestamp("ns")),
                "ChargePeriodEnd": pa.array(
                    [dt.datetime(2026, 3, 2, tzinfo=dt.timezone(dt.timedelta(hours=2)))] * 2,
                    pa.timestamp("ms", tz="+02:00"),
                ),
                "BilledCost": [float("nan"), 2.0],
                "PricingQuantity": pa.array([3, None], pa.int64()),
            }
        ),
        path,
    )
    ref = cfusage.to_frame(path)
    got = collect(cfusage.scan_focus(path, engine=engine))
    same_values(got, collect(ref), f"nan {engine}")
    assert got["billed_cost"].isna().tolist() == [True, False]  # NaN is unknown, never 0
    assert got["charge_period_end"][0] == pd.Timestamp("2026-03-01T22:00:00Z")


def test_scan_focus_is_lazy_the_file_is_read_when_collected(tmp_path):
    """DuckDB reads the file when the relation is collected (a file replaced after the scan was
    made is read at its new content); Polars' plan is a scan of the file, not data in memory."""
    path = tmp_path / "lazy.parquet"
    parquet_copy(FILES[0], path)
    scan = cfusage.scan_focus(path, engine="duckdb")
    pq.write_table(pq.read_table(path).slice(0, 10), path)  # replaced after the scan was made
    assert len(collect(scan)) == 10
    plan = cfusage.scan_focus(path, engine="polars").explain()
    assert "Parquet SCAN" in plan and "lazy.parquet" in plan


def test_paths_that_cannot_be_scanned(tmp_path):
    with pytest.raises(FileNotFoundError):
        cfusage.scan_focus(tmp_path / "missing.csv")
    with pytest.raises(FileNotFoundError):
        cfusage.scan_focus(str(tmp_path / "*.parquet"))
    (tmp_path / "notes.json").write_text("{}")
    with pytest.raises(FileNotFoundError):
        cfusage.scan_focus(tmp_path)  # a directory without FOCUS files
    with pytest.raises(ArgumentError, match="format"):
        cfusage.scan_focus(tmp_path / "notes.json")
    (tmp_path / "a.csv").write_bytes(FILES[0].read_bytes())
    parquet_copy(FILES[0], tmp_path / "b.parquet")
    with pytest.raises(ArgumentError, match=r"1 csv, 1 parquet|1 parquet, 1 csv"):
        cfusage.scan_focus(tmp_path)
    assert len(collect(cfusage.scan_focus(tmp_path / "*.csv", engine="polars"))) == 250


@pytest.mark.parametrize("engine", SCANS)
def test_hidden_names_are_skipped_below_the_path_given_only(tmp_path, engine):
    """A dataset under ``_data/.cache`` is read (the user named that path); ``_``/``.`` names
    inside it are not."""
    root = tmp_path / "_data" / ".cache" / "focus"
    (root / "billing_period=2026-05").mkdir(parents=True)
    (root / "billing_period=2026-05" / "a.csv").write_bytes(FILES[0].read_bytes())
    (root / "_temporary").mkdir()
    (root / "_temporary" / "b.csv").write_bytes(FILES[0].read_bytes())
    (root / ".c.csv").write_bytes(FILES[0].read_bytes())
    for source in (root, str(root / "**" / "*.csv"), root / "billing_period=2026-05" / "a.csv"):
        got = collect(cfusage.scan_focus(source, engine=engine))
        assert len(got) == 250, source
    assert len(collect(cfusage.scan_focus(root / ".c.csv", engine=engine))) == 250  # named


@pytest.mark.parametrize("engine", SCANS)
def test_gzip_csv_and_tsv(tmp_path, engine):
    import gzip

    gz = tmp_path / "focus.csv.gz"
    gz.write_bytes(gzip.compress(FILES[4].read_bytes()))
    tsv = tmp_path / "focus.tsv"
    pacsv.write_csv(
        pacsv.read_csv(FILES[4], convert_options=pacsv.ConvertOptions(strings_can_be_null=True)),
        tsv,
        write_options=pacsv.WriteOptions(delimiter="\t", quoting_style="needed"),
    )
    for path in (gz, tsv):
        ref = cfusage.to_frame(path)
        assert len(ref) == 250
        want = collect(ref.drop(columns=["tags"])).assign(tags=ref["tags"].to_numpy())
        got = collect(cfusage.scan_focus(path, engine=engine))
        assert list(got.columns) == list(ref.columns)
        same_values(got, want[list(got.columns)], f"{path.name} {engine}")


def test_scan_focus_on_a_polars_engine_is_a_lazyframe_and_duckdb_a_relation():
    assert isinstance(cfusage.scan_focus(FILES[0], engine="polars"), pl.LazyFrame)
    assert isinstance(cfusage.scan_focus(FILES[0]), duckdb.DuckDBPyRelation)
    con = duckdb.connect()
    rel = cfusage.scan_focus(FILES[0], connection=con)
    con.register("focus", rel)
    assert con.sql("SELECT count(*) FROM focus").fetchall() == [(250,)]


def test_duckdb_scans_are_utc_whatever_the_machine_s_zone():
    """Without connection=, a scan runs on cfusage's own UTC connection: helpers work even when
    the default connection is in another zone (a machine not on UTC), which is left alone."""
    default = duckdb.default_connection()
    (before,) = default.execute("select current_setting('TimeZone')").fetchone()
    default.execute("SET TimeZone = 'America/New_York'")
    try:
        aws = Path(__file__).parent / "data" / "focus" / "focus_1_3_cost_and_usage_aws.csv"
        got = period_over_period(cfusage.scan_focus(aws), by="service", freq="D")
        want = period_over_period(cfusage.to_frame(aws), by="service", freq="D")
        assert_same(got, want, "duckdb")
        (now,) = default.execute("select current_setting('TimeZone')").fetchone()
        assert now == "America/New_York"
    finally:
        default.execute(f"SET TimeZone = '{before}'")
