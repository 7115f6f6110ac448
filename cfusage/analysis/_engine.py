"""The engine layer: the table helpers on Polars, DuckDB, PySpark (and Ibis) through Narwhals.

A helper given a pandas frame runs its pandas code, unchanged. Given any other frame Narwhals
accepts (a Polars DataFrame or LazyFrame, a DuckDB relation, a PySpark DataFrame, an Ibis table),
it **aggregates in the engine and finishes small**:

1. :func:`reduce` groups the rows, inside the engine, by the columns the helper reads (its ``by=``
   columns, ``billing_currency`` and a few context columns), by UTC day and by which value columns
   are NA, and sums the value columns. Each group becomes one row of a small pandas frame whose
   :data:`ROWS` column says how many input rows it stands for. Nothing collects the raw rows.
2. The helper runs its pandas code on that frame. Every row count it reports (``rows``,
   ``missing_value_rows``...) adds up :data:`ROWS`, so a group of 40 rows counts 40.
3. :meth:`Reduced.back` hands the (small) result back as the input's kind of object: Polars stays
   Polars (lazy stays lazy), DuckDB a relation, Spark a Spark DataFrame.

Why the result equals the pandas one: sums of sums are sums (to float rounding, far below 1e-9
relative), a group is NA exactly when all its rows are (rows with and without a value never share a
reduced row, so "NA when every row is NA" survives), periods are whole days (floored in UTC, so a
month or a week is a set of days), and row counts are carried in :data:`ROWS`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import narwhals.stable.v2 as nw
import pandas as pd
import pyarrow as pa

from ..errors import ArgumentError, MissingColumnsError
from ..schema import DIMENSIONS, dtypes
from ._grouping import ROWS, By

__all__ = [
    "ROWS",
    "Frame",
    "Reduced",
    "ReplacementScanError",
    "as_utc",
    "beside",
    "by_columns",
    "columns_of",
    "is_engine",
    "lazy",
    "like",
    "plain",
    "reduce",
    "to_pandas",
    "utc_day",
]

#: The input's kind is the output's: a pandas frame in, a pandas frame out; a Polars LazyFrame in,
#: a Polars LazyFrame out (and so on for DuckDB, Spark and Ibis).
Frame = TypeVar("Frame", bound=Any)

_DAY = "charge_period_start"
_UTC = {"UTC", "Etc/UTC", "Etc/GMT", "GMT", "Z", "+00:00"}
_KINDS = "a pandas DataFrame, or a frame Narwhals accepts (Polars, DuckDB, PySpark, Ibis)"


def is_engine(data: Any) -> bool:
    """True when ``data`` is not a pandas frame (the helper takes the engine path)."""
    return not isinstance(data, pd.DataFrame)


def lazy(data: Any, what: str) -> nw.LazyFrame:
    """``data`` as a Narwhals LazyFrame; :class:`~cfusage.ArgumentError` for anything else."""
    try:
        frame = nw.from_native(data)
    except TypeError:
        raise ArgumentError(f"{what} takes {_KINDS}, not {type(data).__name__}") from None
    if isinstance(frame, nw.DataFrame):
        return frame.lazy()
    if isinstance(frame, nw.LazyFrame):
        return frame
    raise ArgumentError(f"{what} takes {_KINDS}, not {type(data).__name__}")


def columns_of(frame: nw.LazyFrame) -> list[str]:
    """Column names, read from the schema (no data is read)."""
    return list(frame.collect_schema().names())


def by_columns(by: By, what: str) -> list[str]:
    """The columns of ``by=`` (aliases resolved); ``tag:KEY`` needs pandas."""
    if by is None:
        return []
    names = [by] if isinstance(by, str) else list(by)
    tags = [n for n in names if n.startswith("tag:")]
    if tags:
        raise ArgumentError(
            f"{what}: by={tags[0]!r} reads the tags mapping, which only a pandas frame has; "
            "on an engine, extract the tag into a column and group by that column"
        )
    return list(dict.fromkeys(DIMENSIONS.get(n, n) for n in names))


@dataclass(frozen=True, repr=False)
class Reduced:
    """An engine input reduced to a small pandas frame, and the way back to the engine.

    Attributes
    ----------
    frame : pandas.DataFrame
        One row per key x UTC day x NA pattern, with cfusage's dtypes and a :data:`ROWS` column.
    native : object
        The caller's frame (Polars, DuckDB, Spark...): results are returned as its kind.
    """

    frame: pd.DataFrame
    native: Any

    def __repr__(self) -> str:
        engine = nw.from_native(self.native).implementation
        return f"Reduced({len(self.frame)} rows standing for {self.frame[ROWS].sum()}, {engine})"

    def back(self, result: pd.DataFrame) -> Any:
        """``result`` as the input's kind of object (see the module docstring)."""
        return like(result, self.native)


def reduce(
    data: Any,
    what: str,
    *,
    keys: Iterable[str],
    values: Iterable[str],
    optional: Iterable[str] = (),
    ends: bool = False,
) -> Reduced:
    """Group ``data`` in its engine by ``keys`` x UTC day x NA pattern; sum ``values``; collect.

    Parameters
    ----------
    keys : iterable of str
        Columns the helper groups or filters on (``by=`` columns, currency...): required.
    values : iterable of str
        Numeric columns to sum: required.
    optional : iterable of str
        Columns kept as keys when the frame has them (``charge_category``, units...).
    ends : bool
        Also give each row ``charge_period_end`` (the day's end).

    Raises
    ------
    MissingColumnsError
        Naming required columns the frame lacks.
    """
    frame = lazy(data, what)
    names = columns_of(frame)
    keys = list(dict.fromkeys(keys))
    values = list(dict.fromkeys(values))
    missing = [c for c in [_DAY, *keys, *values] if c not in names]
    if missing:
        raise MissingColumnsError(missing, f"{what} needs columns the frame lacks: {missing}")
    keys += [c for c in optional if c in names and c not in keys and c not in values]
    flags = [f"_cfusage_na{i}" for i in range(len(values))]
    utc = utc_day(frame, what)
    grouped = (
        frame.with_columns(
            utc.alias("_cfusage_day"),
            *(nw.col(v).is_null().alias(f) for v, f in zip(values, flags, strict=True)),
        )
        .group_by("_cfusage_day", *keys, *flags, drop_null_keys=False)
        .agg(*(nw.col(v).sum() for v in values), nw.len().alias(ROWS))
    )
    small = to_pandas(grouped)
    for v, f in zip(values, flags, strict=True):
        small[v] = small[v].astype("Float64").where(~small[f].astype(bool), pd.NA)
    day = as_utc(small.pop("_cfusage_day"))
    out = pd.DataFrame({_DAY: day})
    if ends:
        out["charge_period_end"] = day + pd.Timedelta(days=1)
    out = out.assign(**{c: small[c] for c in keys + values})
    out[ROWS] = small[ROWS].astype("int64")
    out = _typed(out).sort_values([_DAY, *keys], ignore_index=True, kind="stable")
    return Reduced(frame=out, native=data)


def utc_day(frame: nw.LazyFrame, what: str) -> nw.Expr:
    """The UTC day of ``charge_period_start`` (truncated in the engine).

    DuckDB and Spark keep a time zone per connection or session, not per column, and truncate
    days in it; a zone other than UTC would shift every day, so it is refused with the fix.
    A timestamp without a zone is taken as UTC (how the store and FOCUS files hold them).
    """
    dtype = frame.collect_schema()[_DAY]
    if dtype != nw.Datetime:
        raise ArgumentError(f"{what}: {_DAY} must be a timestamp column, not {dtype}")
    zone = getattr(dtype, "time_zone", None)
    if zone is not None and zone not in _UTC:
        raise ArgumentError(
            f"{what}: this engine reads {_DAY} in the time zone {zone!r} (its session's), so days "
            "would not be UTC days; set the session to UTC first (DuckDB: SET TimeZone = 'UTC'; "
            "Spark: spark.conf.set('spark.sql.session.timeZone', 'UTC'))"
        )
    return nw.col(_DAY).dt.truncate("1d")


def to_pandas(frame: nw.LazyFrame | nw.DataFrame) -> pd.DataFrame:
    """Collect a (small, already reduced) Narwhals frame into pandas."""
    if isinstance(frame, nw.LazyFrame):
        frame = frame.collect(backend="pyarrow")
    table = frame.to_arrow()
    return table.to_pandas(types_mapper=_arrow_types.get)


_arrow_types = {pa.string(): pd.StringDtype(), pa.large_string(): pd.StringDtype()}


def as_utc(s: pd.Series) -> pd.Series:
    """Timestamps as tz-aware UTC microseconds (Spark hands them over tz-naive, in UTC)."""
    s = pd.to_datetime(s)
    if s.dt.tz is None:
        s = s.dt.tz_localize("UTC")
    return s.dt.tz_convert("UTC").astype("datetime64[us, UTC]")


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    """cfusage's dtypes (the column table) on the columns it knows; categories sorted."""
    types = dtypes()
    out = {}
    for c in df.columns:
        t = types.get(c)
        if t is None or c == ROWS:
            continue
        if t == "category":
            s = df[c].astype("object").where(df[c].notna(), None)
            cats = sorted({str(v) for v in s.dropna()})
            out[c] = pd.Categorical(s.map(lambda v: None if v is None else str(v)), categories=cats)
        elif t.startswith("datetime64"):
            out[c] = as_utc(df[c])
        elif t == "bool":
            out[c] = df[c].astype("boolean")
        else:
            out[c] = df[c].astype(t)
    return df.assign(**out)


def like(result: pd.DataFrame, native: Any) -> Any:
    """``result`` as an object of ``native``'s kind (pandas in, pandas out)."""
    if isinstance(native, pd.DataFrame):
        return result
    result = plain(result)
    result.attrs = {}  # an engine's frame has nowhere to keep them
    table = pa.Table.from_pandas(result, preserve_index=False)
    impl = nw.from_native(native).implementation
    if impl.is_polars():
        pl = impl.to_native_namespace()
        out = pl.from_arrow(table)
        return out.lazy() if isinstance(native, pl.LazyFrame) else out
    if impl.is_duckdb():
        try:
            return beside(native, table)
        except ReplacementScanError:  # then on the default connection: usable, not joinable
            return impl.to_native_namespace().from_arrow(table)
    if impl.is_pyspark() or impl.is_pyspark_connect():
        return native.sparkSession.createDataFrame(table.to_pandas())
    if impl.is_ibis():
        return impl.to_native_namespace().memtable(table)
    return nw.from_native(table).lazy(backend=impl).to_native()


class ReplacementScanError(Exception):
    """A DuckDB connection that refuses Python replacement scans (see :func:`beside`)."""


def beside(relation: Any, table: pa.Table) -> Any:
    """``table`` as a DuckDB relation on ``relation``'s own connection.

    DuckDB cannot combine relations of two connections, and a relation does not expose its
    connection, so the table is read by a query over ``relation`` that scans the local Arrow
    table by name (DuckDB's Python replacement scan). Raises :class:`ReplacementScanError` when
    the connection has replacement scans switched off.
    """
    _cfusage_table = table
    try:
        return relation.query("_cfusage_input", "SELECT * FROM _cfusage_table")
    except Exception as exc:  # duckdb's own error types: duckdb is not imported here
        raise ReplacementScanError(str(exc)) from None


def plain(result: pd.DataFrame) -> pd.DataFrame:
    """Categories as text, so every engine receives ordinary string columns."""
    fixed = {
        c: result[c].astype("str").where(result[c].notna(), None)
        for c in result.columns
        if isinstance(result[c].dtype, pd.CategoricalDtype)
    }
    return result.assign(**fixed) if fixed else result.copy(deep=False)
