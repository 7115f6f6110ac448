"""An incremental local store of usage records: a month-partitioned Parquet dataset.

A notebook syncs into it (:meth:`Store.sync`, which fetches only the days that are missing or not
yet final) and reads typed frames back from it (:meth:`Store.read`) without calling the API again.

Layout (hive partitioning, readable by DuckDB, Polars, Spark, Dask or pyarrow directly)::

    path/
        month=2026-02/part-0.parquet
        month=2026-03/part-0.parquet
        _cfusage_store.json

Each ``part-0.parquet`` holds the records whose ``charge_period_start`` falls in that month (UTC),
one row per record, columns under their python names (:data:`cfusage.schema.COLUMNS`) with arrow
types derived from the schema: datetimes ``timestamp[us, tz=UTC]``, money / quantities / prices
``double`` (null where the API sent none: never 0), low-cardinality text ``dictionary<int32,
string>``, ids ``string``, ``tags`` a JSON object as ``string``; extra columns are kept (object
columns as JSON text). The ``month`` partition key lives in the directory name only. For example
``duckdb.sql("select * from read_parquet('path/*/*.parquet', hive_partitioning=true)")`` or
``pyarrow.dataset.dataset(path, partitioning="hive")``.

``_cfusage_store.json`` (the manifest) records, for each day fetched, ``fetched_at`` (UTC) and
whether the API had delivered it in full (``complete``), plus ``complete_through``: the last day
of the unbroken run of complete days from the first stored day.

Rules
-----
* Days are UTC calendar days; ranges are inclusive (``sync(c, "2026-01-01", "2026-01-31")`` is
  all of January), as in :meth:`cfusage.fetch._client.Client.usage`.
* A stored day is **final** once it was fetched at least ``lookback_days`` whole days after it
  ended (``fetched_at >= day + 1 + lookback_days``): the API delivers a day about a day late and
  may revise its latest days. :meth:`Store.sync` fetches every day of its range that is missing or
  not final, so the trailing look-back is always re-fetched, and older days never are.
* Each re-fetched day replaces its earlier version (its rows are deleted, then the new rows
  inserted); within the written rows, records are unique on :data:`cfusage.schema.KEY`, the later
  fetch winning. Corrections (``charge_class == "Correction"``) have their own key and are kept
  as their own rows. Re-syncing a range is idempotent.
* Writes are atomic per file (a temp file in the same directory, then ``os.replace``); every
  partition is written before any is replaced, and the manifest is written last, so a crash while
  writing leaves the previous data readable and the days un-recorded (fetched again next time).
* One writer at a time: do not sync the same store from two processes at once.

Examples
--------
>>> from cfusage import Client, Store  # doctest: +SKIP
>>> store = Store("usage-store")  # doctest: +SKIP
>>> store.sync(Client(), "2026-01-01", "2026-06-30")  # doctest: +SKIP
>>> df = store.read(start="2026-03-01", columns=["billed_cost"])  # doctest: +SKIP
>>> df.attrs["cfusage"]["complete_through"]  # doctest: +SKIP
datetime.date(2026, 6, 30)
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .. import schema
from ..errors import MissingColumnsError
from ..io import DateLike, concat, utc_day
from ..io import complete_columns as _complete

__all__ = ["Store", "SyncResult"]

MANIFEST = "_cfusage_store.json"
_FORMAT = 1
_PART = "part-0.parquet"
_DAY = pd.Timedelta(days=1)


class _UsageClient(Protocol):
    def usage(self, start: Any, end: Any) -> pd.DataFrame: ...


class SyncResult(NamedTuple):
    """What :meth:`Store.sync` did.

    Attributes
    ----------
    fetched : tuple of datetime.date
        The days fetched (missing or not yet final), in order.
    rows : int
        Records written for those days.
    complete_through : datetime.date or None
        The store's complete-through day after the sync.
    """

    fetched: tuple[dt.date, ...]
    rows: int
    complete_through: dt.date | None


class Store:
    """A month-partitioned Parquet store of usage records that syncs incrementally.

    See the module docstring for the layout, the manifest and the finality rule.

    Parameters
    ----------
    path : str or path
        Directory of the dataset (created on the first sync).

    Examples
    --------
    >>> import tempfile
    >>> store = Store(tempfile.mkdtemp())
    >>> len(store.read()), store.complete_through
    (0, None)
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r}, days={len(self._days())}, complete_through={self.complete_through})"

    # -- manifest ----------------------------------------------------------------------------
    @property
    def manifest_path(self) -> Path:
        """Path of the JSON manifest."""
        return self.path / MANIFEST

    def _manifest(self) -> dict[str, Any]:
        try:
            data = json.loads(self.manifest_path.read_text())
        except FileNotFoundError:
            return {"format": _FORMAT, "complete_through": None, "days": {}, "json_columns": []}
        if data.get("format") != _FORMAT:
            raise ValueError(
                f"{self.manifest_path}: unknown store format {data.get('format')!r} "
                f"(this cfusage writes format {_FORMAT})"
            )
        return data

    def _days(self) -> dict[str, dict[str, Any]]:
        return self._manifest()["days"]

    @property
    def complete_through(self) -> dt.date | None:
        """The last day through which the stored data is complete (None if nothing is)."""
        value = self._manifest().get("complete_through")
        return dt.date.fromisoformat(value) if value else None

    @property
    def days(self) -> list[dt.date]:
        """Every day fetched into the store, in order."""
        return sorted(dt.date.fromisoformat(d) for d in self._days())

    def fetched_at(self, day: DateLike) -> dt.datetime | None:
        """When ``day`` was last fetched (UTC), or None if it never was.

        Examples
        --------
        >>> import tempfile
        >>> Store(tempfile.mkdtemp()).fetched_at("2026-03-01") is None
        True
        """
        entry = self._days().get(utc_day(day, "day").isoformat())
        return dt.datetime.fromisoformat(entry["fetched_at"]) if entry else None

    def pending(
        self,
        start: DateLike,
        end: DateLike,
        *,
        lookback_days: int = 3,
    ) -> list[dt.date]:
        """The days of ``start``..``end`` (inclusive) that a sync would fetch.

        A day is fetched when it is missing or not final: fetched less than ``lookback_days``
        whole days after it ended.

        Parameters
        ----------
        start, end : str, date, datetime or pandas.Timestamp
            First and last day, both included.
        lookback_days : int
            How many days after its end the API may still revise a day.
        Returns
        -------
        list of datetime.date

        Examples
        --------
        >>> import tempfile
        >>> Store(tempfile.mkdtemp()).pending("2026-03-01", "2026-03-03")
        [datetime.date(2026, 3, 1), datetime.date(2026, 3, 2), datetime.date(2026, 3, 3)]
        """
        first, last = _range(start, end)
        if lookback_days < 0:
            raise ValueError(f"lookback_days must be >= 0, got {lookback_days!r}")
        days = self._days()
        out = []
        day = first
        while day <= last:
            entry = days.get(day.isoformat())
            if entry is None or not _is_final(day, entry, lookback_days):
                out.append(day)
            day += dt.timedelta(days=1)
        return out

    # -- sync --------------------------------------------------------------------------------
    def sync(
        self,
        client: _UsageClient,
        start: DateLike,
        end: DateLike,
        *,
        lookback_days: int = 3,
        now: dt.datetime | None = None,
    ) -> SyncResult:
        """Fetch the days of ``start``..``end`` that are missing or not final, and store them.

        Contiguous runs of pending days are fetched with one ``client.usage(first, last)`` call
        each (the client splits them into API windows). Each fetched day replaces what the store
        held for it; see the module docstring for the rules.

        Parameters
        ----------
        client : cfusage.Client
            Anything with ``usage(start, end) -> typed frame`` (inclusive days). Its frame's
            ``attrs["cfusage"]["complete_through"]`` says which days were delivered in full;
            without it, days after the last day with rows count as not complete.
        start, end : str, date, datetime or pandas.Timestamp
            First and last day, both included.
        lookback_days : int
            Days after its end during which the API may still revise a day (default 3); such days
            are fetched again on every sync.
        now : datetime, optional
            The time stamped as ``fetched_at`` (UTC); default the current time.

        Returns
        -------
        SyncResult
            The days fetched, the rows written for them, and the new ``complete_through``.

        Raises
        ------
        cfusage.APIError, cfusage.TransportError, cfusage.ResponseError
            From the client; the store is left as it was.
        ValueError
            If a day cannot be read, ``end`` is before ``start`` or ``lookback_days`` < 0.

        Examples
        --------
        >>> result = store.sync(client, "2026-01-01", "2026-03-31")  # doctest: +SKIP
        >>> len(result.fetched)  # doctest: +SKIP
        90
        """
        now = _utc(now)
        todo = self.pending(start, end, lookback_days=lookback_days)
        manifest = self._manifest()
        if not todo:
            return SyncResult((), 0, self.complete_through)
        frames = []
        complete: dict[dt.date, bool] = {}
        for first, last in _runs(todo):
            df = client.usage(first, last)
            through = (df.attrs.get("cfusage") or {}).get("complete_through")
            if through is None and len(df):
                through = df["charge_period_start"].max().date()
            through = utc_day(through, "complete_through") if through is not None else None
            for day in _dates(first, last):
                complete[day] = through is not None and day <= through
            frames.append(df)
        fetched = _concat(frames)
        rows = self._write(fetched, todo, manifest)
        stamp = now.isoformat().replace("+00:00", "Z")
        for day in todo:
            manifest["days"][day.isoformat()] = {"fetched_at": stamp, "complete": complete[day]}
        manifest["days"] = dict(sorted(manifest["days"].items()))
        manifest["complete_through"] = _complete_through(manifest["days"])
        atomic_write_bytes(
            self.manifest_path, (json.dumps(manifest, indent=1) + "\n").encode("utf-8")
        )
        return SyncResult(tuple(todo), rows, self.complete_through)

    def _write(self, fetched: pd.DataFrame, days: Sequence[dt.date], manifest: dict) -> int:
        """Replace the rows of ``days`` by ``fetched`` in every month touched; manifest untouched.

        Works on arrow tables: each touched partition is read, its rows of ``days`` are dropped,
        the fetched rows of that month appended, and the result staged in a temp file; only when
        every partition is staged are they moved into place.
        """
        self.path.mkdir(parents=True, exist_ok=True)
        fetched = _dedupe(fetched)
        fetched_day = _charge_days(fetched)
        day_set = pd.DatetimeIndex([pd.Timestamp(d, tz="UTC") for d in days])
        in_days = fetched_day.isin(day_set).to_numpy()
        month_of = fetched_day.dt.strftime("%Y-%m").to_numpy()
        table, json_columns = to_arrow(fetched)
        day_values = pa.array(day_set.as_unit("us"), type=pa.timestamp("us", tz="UTC"))
        staged: list[tuple[Path, Path]] = []
        rows = 0
        try:
            for month in sorted({d.strftime("%Y-%m") for d in days}):
                target = self._partition(month)
                new = table.filter(pa.array(in_days & (month_of == month)))
                rows += new.num_rows
                parts = [new]
                if target.exists():
                    old = pq.read_table(target, partitioning=None)
                    refetched = pc.is_in(
                        pc.floor_temporal(old["charge_period_start"], unit="day"),
                        value_set=day_values,
                    )
                    parts.insert(0, old.filter(pc.invert(refetched)))
                merged = pa.concat_tables(parts, promote_options="permissive")
                merged = merged.take(
                    pc.sort_indices(merged, sort_keys=[("charge_period_start", "ascending")])
                )
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = _temp_path(target)
                staged.append((tmp, target))
                _write_parquet(merged.combine_chunks(), tmp)
        except BaseException:
            for tmp, _ in staged:
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
            raise
        for tmp, target in staged:
            os.replace(tmp, target)
        manifest["json_columns"] = sorted(set(manifest.get("json_columns", [])) | json_columns)
        return rows

    # -- read --------------------------------------------------------------------------------
    def read(
        self,
        start: DateLike | None = None,
        end: DateLike | None = None,
        columns: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """The stored records of ``start``..``end`` (inclusive days) as a typed frame.

        Parameters
        ----------
        start, end : str, date, datetime or pandas.Timestamp, optional
            First and last charge day, both included; default everything.
        columns : sequence of str, optional
            Python column names to return (default all, schema columns first).

        Returns
        -------
        pandas.DataFrame
            Typed as :func:`cfusage.to_frame` types it (:func:`cfusage.schema.dtypes`), sorted by
            charge day and key. ``df.attrs["cfusage"]`` holds ``complete_through`` (a
            ``datetime.date`` or None) and ``store`` (the path).

        Raises
        ------
        MissingColumnsError
            If a requested column is in no stored file and not in the schema.
        ValueError
            If a day cannot be read or ``end`` is before ``start``.

        Examples
        --------
        >>> import tempfile
        >>> df = Store(tempfile.mkdtemp()).read(columns=["billed_cost"])
        >>> list(df.columns), str(df["billed_cost"].dtype)
        (['billed_cost'], 'Float64')
        """
        first = utc_day(start, "start") if start is not None else None
        last = utc_day(end, "end") if end is not None else None
        if first is not None and last is not None and last < first:
            raise ValueError(f"end={last} is before start={first}")
        manifest = self._manifest()
        json_columns = set(manifest.get("json_columns", []))
        files = []
        for part in sorted(self.path.glob("month=*/" + _PART)):
            month = part.parent.name.removeprefix("month=")
            if first is not None and month < first.strftime("%Y-%m"):
                continue
            if last is not None and month > last.strftime("%Y-%m"):
                continue
            files.append(part)
        if columns is not None:
            known = {c.python for c in schema.COLUMNS}
            for part in files:
                known.update(pq.read_schema(part).names)
            missing = [c for c in columns if c not in known]
            if missing:
                raise MissingColumnsError(
                    missing,
                    f"columns {missing} are in no stored file and not in the usage schema; "
                    f"known columns: {sorted(known)}",
                )
        filters = []
        if first is not None:
            filters.append(("charge_period_start", ">=", pd.Timestamp(first, tz="UTC")))
        if last is not None:
            filters.append(("charge_period_start", "<", pd.Timestamp(last, tz="UTC") + _DAY))
        tables = [pq.read_table(p, filters=filters or None, partitioning=None) for p in files]
        if columns is not None:
            wanted = set(columns) | set(_SORT_KEYS)
            tables = [t.select([n for n in t.column_names if n in wanted]) for t in tables]
        df = _from_arrow(
            pa.concat_tables(tables, promote_options="permissive") if tables else None,
            json_columns,
        )
        df = df.sort_values(_sort_keys(df), kind="stable", ignore_index=True)
        for name in df.columns:
            if isinstance(df[name].dtype, pd.CategoricalDtype):
                present = df[name].cat.remove_unused_categories()
                categories = pd.Index(sorted(present.cat.categories), dtype="str")
                df[name] = present.astype(pd.CategoricalDtype(categories))
        if columns is not None:
            df = df[list(columns)]
        df.attrs["cfusage"] = {
            "complete_through": self.complete_through,
            "store": str(self.path),
        }
        return df

    # -- files -------------------------------------------------------------------------------
    def _partition(self, month: str) -> Path:
        return self.path / f"month={month}" / _PART


# -- module helpers --------------------------------------------------------------------------
def _range(start: DateLike, end: DateLike) -> tuple[dt.date, dt.date]:
    first, last = utc_day(start, "start"), utc_day(end, "end")
    if last < first:
        raise ValueError(f"end={last} is before start={first}")
    return first, last


def _dates(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def _runs(days: Sequence[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Contiguous runs of sorted days as (first, last) pairs."""
    runs: list[tuple[dt.date, dt.date]] = []
    for day in days:
        if runs and (day - runs[-1][1]).days == 1:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _utc(now: dt.datetime | None) -> dt.datetime:
    if now is None:
        return dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        raise ValueError(f"now={now!r} must be timezone-aware (UTC)")
    return now.astimezone(dt.UTC)


def _is_final(day: dt.date, entry: dict[str, Any], lookback_days: int) -> bool:
    fetched = dt.datetime.fromisoformat(entry["fetched_at"])
    settled = dt.datetime.combine(
        day + dt.timedelta(days=1 + lookback_days), dt.time(), tzinfo=dt.UTC
    )
    return bool(entry.get("complete")) and fetched >= settled


def _complete_through(days: dict[str, dict[str, Any]]) -> str | None:
    """Last day of the unbroken run of complete days starting at the first stored day."""
    through: dt.date | None = None
    for key in sorted(days):
        day = dt.date.fromisoformat(key)
        if not days[key].get("complete"):
            break
        if through is not None and (day - through).days != 1:
            break
        through = day
    return through.isoformat() if through else None


def _charge_days(df: pd.DataFrame) -> pd.Series:
    return df["charge_period_start"].dt.floor("D")


def _concat(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if f is not None]
    if not frames:
        return _typed(None)
    return concat([_typed(f) for f in frames], dedupe=True)


def _dedupe(df: pd.DataFrame) -> pd.DataFrame:
    keys = [k for k in schema.KEY if k in df.columns]
    out = df.drop_duplicates(subset=keys, keep="last")
    return out.sort_values(_sort_keys(out), kind="stable", ignore_index=True)


_SORT_KEYS = ("charge_period_start", *schema.KEY)


def _sort_keys(df: pd.DataFrame) -> list[str]:
    return [k for k in _SORT_KEYS if k in df.columns]


def _from_arrow(table: pa.Table | None, json_columns: Iterable[str]) -> pd.DataFrame:
    """A typed frame from a stored table: floats as ``Float64``, JSON text decoded."""
    if table is None:
        return _typed(None)
    df = table.to_pandas(types_mapper=_types_mapper, ignore_metadata=True)
    for name in json_columns:
        if name in df.columns:
            df[name] = _decode_json(df[name])
    return _typed(df)


def _typed(df: pd.DataFrame | None) -> pd.DataFrame:
    """Every schema column present with its schema dtype (the loader's own rule)."""
    return _complete(pd.DataFrame(index=pd.RangeIndex(0)) if df is None else df)


def _types_mapper(arrow_type: pa.DataType) -> Any:
    if pa.types.is_floating(arrow_type):
        return pd.Float64Dtype()
    return None


def _arrow_type(col: schema.Column) -> pa.DataType:
    if col.kind == "datetime":
        return pa.timestamp("us", tz="UTC")
    if col.kind in ("money", "quantity", "price"):
        return pa.float64()
    if col.kind == "category":
        return pa.dictionary(pa.int32(), pa.string())
    return pa.string()


def _to_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _decode_json(text: pd.Series) -> pd.Series:
    """JSON text back to python values; nulls become ``pd.NA`` (object dtype)."""
    present = text.notna().to_numpy()
    values = np.full(len(text), pd.NA, dtype=object)
    values[present] = [json.loads(v) for v in text.to_numpy()[present]]
    return pd.Series(values, index=text.index, dtype=object)


def to_arrow(df: pd.DataFrame) -> tuple[pa.Table, set[str]]:
    """The frame as an arrow table with the schema's types; returns the JSON-encoded columns."""
    arrays: list[pa.Array] = []
    fields: list[pa.Field] = []
    json_columns: set[str] = set()
    known = {c.python: c for c in schema.COLUMNS}
    for name in df.columns:
        col = df[name]
        spec = known.get(name)
        if (spec is not None and spec.kind == "tags") or (
            spec is None
            and col.dtype == object
            and not col.map(lambda v: isinstance(v, str), na_action="ignore").all()
        ):
            values = col.map(_to_json, na_action="ignore")
            mask = col.isna().to_numpy()
            array = pa.array(values.astype(object).to_numpy(), type=pa.string(), mask=mask)
            json_columns.add(name)
        elif spec is not None and spec.dtype == "Float64":
            array = pa.array(
                col.to_numpy(dtype=np.float64, na_value=np.nan),
                type=pa.float64(),
                mask=col.isna().to_numpy(),
            )
        elif spec is not None:
            array = pa.array(col, type=_arrow_type(spec), from_pandas=True)
        else:
            array = pa.array(col, from_pandas=True)
        arrays.append(array)
        fields.append(pa.field(name, array.type, nullable=True))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields)), json_columns


def _write_parquet(table: pa.Table, path: Path) -> None:
    """Write one partition file (module-level so tests can make it fail)."""
    pq.write_table(table, path, compression="zstd")


def _temp_path(target: Path) -> Path:
    fd, name = tempfile.mkstemp(prefix=".tmp-", suffix=".parquet", dir=target.parent)
    os.close(fd)
    return Path(name)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)
        raise
