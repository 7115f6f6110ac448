"""The engine matrix: one typed pandas frame handed to every engine, and results compared.

``ENGINES`` are the kinds of input every table helper takes: ``pandas`` (the reference), ``polars``
(a LazyFrame), ``duckdb`` (a relation) and ``spark`` (a PySpark DataFrame on ``local[2]``).
Use the ``engine`` fixture (tests/conftest.py) with :func:`as_engine` and :func:`assert_same`::

    def test_x(engine):
        ref = helper(df)
        assert_same(helper(as_engine(df, engine)), ref, engine)
"""

from __future__ import annotations

import shutil
from typing import Any

import narwhals.stable.v2 as nw
import numpy as np
import pandas as pd
import pyarrow as pa

ENGINES = ("pandas", "polars", "duckdb", "spark")
#: Why Spark cannot run here, or None when it can.
SPARK_MISSING = None if shutil.which("java") else "no Java on this machine: PySpark needs a JVM"

_spark: Any = None


def spark_session() -> Any:
    """One local[2] Spark session per process, in UTC (started on first use)."""
    global _spark
    if _spark is None:
        from pyspark.sql import SparkSession

        _spark = (
            SparkSession.builder.master("local[2]")
            .appName("cfusage-tests")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "2")
            .config("spark.default.parallelism", "2")
            .config("spark.driver.memory", "2g")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .getOrCreate()
        )
        _spark.sparkContext.setLogLevel("ERROR")
    return _spark


def arrow(df: pd.DataFrame) -> pa.Table:
    """``df`` as an Arrow table an engine reads: categories as text, no ``tags``, no index."""
    df = df.drop(columns=[c for c in ("tags",) if c in df.columns])
    table = pa.Table.from_pandas(df, preserve_index=False)
    fields = [
        pa.field(f.name, pa.string()) if pa.types.is_dictionary(f.type) else f for f in table.schema
    ]
    # one chunk per column: Spark reads a chunked timestamp column as an empty struct
    return table.cast(pa.schema(fields)).replace_schema_metadata(None).combine_chunks()


def as_engine(df: pd.DataFrame, engine: str) -> Any:
    """The same rows as a native frame of ``engine`` (``pandas`` returns ``df`` itself)."""
    if engine == "pandas":
        return df
    table = arrow(df)
    if engine == "polars":
        import polars as pl

        return pl.from_arrow(table).lazy()
    if engine == "duckdb":
        import duckdb

        return duckdb.from_arrow(table)
    if engine == "spark":
        return spark_session().createDataFrame(table.to_pandas(types_mapper=pd.ArrowDtype))
    raise ValueError(engine)


def collect(result: Any) -> pd.DataFrame:
    """Any helper result (pandas or native) as a plain pandas frame for comparison."""
    if isinstance(result, pd.DataFrame):
        df = result
    else:
        frame = nw.from_native(result)
        if isinstance(frame, nw.LazyFrame):
            frame = frame.collect(backend="pyarrow")
        df = frame.to_arrow().to_pandas()
    return _plain(df)


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    out = {}
    for c in df.columns:
        s = df[c]
        if (
            isinstance(s.dtype, pd.CategoricalDtype)
            or s.dtype == object
            or pd.api.types.is_string_dtype(s.dtype)
        ):
            out[c] = (
                s.astype("object")
                .where(s.notna(), None)
                .map(lambda v: None if v is None else str(v))
            )
        elif pd.api.types.is_datetime64_any_dtype(s.dtype):
            t = pd.to_datetime(s)
            out[c] = (
                t.dt.tz_localize("UTC") if t.dt.tz is None else t.dt.tz_convert("UTC")
            ).astype("datetime64[us, UTC]")
        elif pd.api.types.is_bool_dtype(s.dtype):
            out[c] = s.astype("boolean")
        elif pd.api.types.is_numeric_dtype(s.dtype):
            out[c] = s.astype("Float64")
        else:
            out[c] = s
    return pd.DataFrame(out)


def assert_same(result: Any, reference: pd.DataFrame, engine: str = "") -> None:
    """``result`` equals ``reference``: same columns in the same order, same rows in the same
    order, the same NA pattern, numbers equal to 1e-9 (relative, or absolute near 0)."""
    if engine == "pandas":
        assert isinstance(result, pd.DataFrame)
    elif engine:
        assert not isinstance(result, pd.DataFrame), f"{engine} input came back as pandas"
    got, want = collect(result), collect(reference)
    assert list(got.columns) == list(want.columns), engine
    assert len(got) == len(want), (engine, len(got), len(want))
    for c in want.columns:
        g, w = got[c], want[c]
        assert (g.isna().to_numpy() == w.isna().to_numpy()).all(), (engine, c, "NA pattern")
        known = w.notna().to_numpy()
        if str(w.dtype) == "Float64":
            np.testing.assert_allclose(
                g[known].to_numpy(dtype=float),
                w[known].to_numpy(dtype=float),
                rtol=1e-9,
                atol=1e-9,
                err_msg=f"{engine}: {c}",
            )
        else:
            assert g[known].tolist() == w[known].tolist(), (engine, c)
