"""Scanning, not loading: FOCUS datasets (and the store's files) as DuckDB or Polars lazy frames.

:func:`scan_focus` gives a lazy frame over FOCUS Parquet or CSV files from any provider (a file, a
directory or a glob; Hive partitions such as ``billing_period=2026-05/`` read as columns), with the
columns under cfusage's python names and types, computed by the engine when the frame is
collected: nothing is read into memory when the scan is made (only file footers and CSV headers,
for the column names). The helpers take the result directly (``cfusage.discounts(scan, ...)``):
they aggregate inside the engine and collect only their small result.

The mapping is :func:`cfusage.to_frame`'s, from the same tables (:data:`cfusage.schema.COLUMNS`
and the loader's alias table): each file column gets its python name (``ChargePeriodStart`` ->
``charge_period_start``); a FOCUS column stands for the Cloudflare column it corresponds to
(``SkuId`` -> ``x_billable_metric_id``, ``ServiceName`` -> ``x_product_family_name``,
``ResourceId`` -> ``x_zone_id``), the Cloudflare name winning where a file has both and each
filling the other's gaps; ``ProviderName`` (FOCUS 1.0-1.2) fills ``service_provider_name`` and is
also kept as ``provider_name``; every column of the table is present (null when the files lack
it), then the other columns of the files under their python-style names (``ServiceCategory`` ->
``service_category``), values as the files hold them (CSV: text, with ``NULL``-ish cells null).

Values, typed in the engine as the loader types them:

* dates: ``timestamp[us, UTC]``. Text must be ISO 8601 (years 0001-9999: a date, an optional time
  with optional seconds and fraction, an optional ``Z`` or ``+HH:MM`` offset; no offset means
  UTC); a Parquet timestamp without a zone is UTC; one with a zone is converted.
* costs, quantities, prices: ``double``. Text must be a plain decimal (``1234.5``, ``-0.25``,
  ``1.5e-3``): ``"1,000"``, ``"1.000,50"``, ``"$5"``, ``"inf"`` are refused, never rewritten. A
  float NaN is null (unknown, never 0); an infinite cost is refused.
* text: stripped; empty cells and ``NULL``-ish text (:data:`NULL_TEXT`) are null. Enumerations
  (``ChargeCategory``, ``ChargeClass``, ``ChargeFrequency``) in their canonical spelling
  (``usage-based`` -> ``Usage-Based``).
* ``tags``: the JSON text as the file holds it (the eager loader decodes it into dicts; engines
  have no dict column, and the helpers refuse ``by="tag:..."`` on an engine).

A value that cannot be typed, or a null ``ChargePeriodStart`` / ``ChargePeriodEnd``, stops the
query when it is collected, naming the column and the value (never a silent null or 0): DuckDB
raises ``duckdb.InvalidInputException`` with cfusage's message, Polars raises
:class:`cfusage.errors.DataError`. What :func:`cfusage.to_frame` does per row beyond typing (the
FOCUS requirement rules, e.g. SkuId on Usage rows of a provider that publishes SKUs, quarantine)
needs the whole dataset in pandas and is not applied: check an export with
``cfusage.to_frame(file, errors="quarantine")`` or :func:`cfusage.validate` first.
"""

from __future__ import annotations

import csv
import glob
import gzip
import io
import itertools
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq

from .. import schema
from ..errors import ArgumentError, DataError, MissingColumnsError
from ._coerce import _ALIAS_ONLY, _ALIASES, _DATE_REASON, _NUMBER_REASON, NULL_TEXT
from ._coerce import ISO_DATETIME as _ISO_DATETIME
from ._coerce import PLAIN_DECIMAL as _PLAIN_DECIMAL

__all__ = ["ENGINES", "Engine", "empty_scan", "engine_module", "scan_files", "scan_focus"]

Engine = Literal["duckdb", "polars"]
#: The engines a scan can give.
ENGINES: tuple[str, ...] = ("duckdb", "polars")

_Format = Literal["parquet", "csv", "tsv"]
_SUFFIXES: dict[str, _Format] = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}
_SUFFIXES[".tsv"] = "tsv"
_KNOWN = {c.python: c for c in schema.COLUMNS}
_FILE = "_cfusage_file"
_HIVE = re.compile(r"^([^=/\\]+)=([^/\\]*)$")
# The loader's number and date rules, in a spelling DuckDB (RE2) and Polars (Rust regex) accept:
# no look-ahead, so year 0000 is refused by a prefix test instead.
_NUMBER_RE = "^(?:" + _PLAIN_DECIMAL.pattern + ")$"
_DATE_RE = "^(?:" + _ISO_DATETIME.pattern.removeprefix("(?!0000)") + ")$"
_NO_YEAR_0 = "0000"
#: Text dates → one canonical form, ``YYYY-MM-DDTHH:MM:SS[.f]+HH:MM``: (pattern, replacement).
_DATE_STEPS: tuple[tuple[str, str], ...] = (
    (r"^([0-9]{4}-[0-9]{2}-[0-9]{2})$", r"\1T00:00:00"),
    (r"^([0-9]{4}-[0-9]{2}-[0-9]{2}) ", r"\1T"),
    (r"^([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2})(Z|[+-]|$)", r"\1:00\2"),
    (",", "."),
    ("Z$", "+00:00"),
    (r"([+-][0-9]{2})([0-9]{2})$", r"\1:\2"),
    (r"([+-][0-9]{2})$", r"\1:00"),
)
_HAS_OFFSET = r"[+-][0-9]{2}:[0-9]{2}$"
_POLARS_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S%.f%:z"
_WHITESPACE = " \t\n\r\f\v"


def engine_module(engine: str, what: str) -> Any:
    """The engine's module (imported here, on first use: ``import cfusage`` imports none).

    Raises
    ------
    ArgumentError
        For an engine that is not one of :data:`ENGINES`.
    ImportError
        When the engine's package is not installed, naming the extra that installs it.
    """
    if engine not in ENGINES:
        raise ArgumentError(
            f"{what}: engine={engine!r} is not one of {', '.join(map(repr, ENGINES))}"
        )
    try:
        if engine == "duckdb":
            import duckdb

            return duckdb
        import polars

        return polars
    except ImportError as e:
        raise ImportError(
            f"{what}: engine={engine!r} needs the {engine} package, which is not installed: "
            f"pip install 'cfusage[{engine}]'"
        ) from e


_UTC_CONNECTIONS: dict[int, Any] = {}


def _utc_connection(module: Any) -> Any:
    """cfusage's own DuckDB connection, in UTC (one per process and duckdb module).

    Helpers count UTC days and DuckDB truncates days in its connection's zone, which for the
    default connection is the machine's: a connection of our own keeps scans right on any machine
    without changing the user's default connection.
    """
    key = id(module)
    if key not in _UTC_CONNECTIONS:
        con = module.connect()
        con.execute("SET TimeZone = 'UTC'")
        _UTC_CONNECTIONS[key] = con
    return _UTC_CONNECTIONS[key]


def _connection(module: Any, engine: str, connection: Any, what: str) -> Any:
    if engine == "polars":
        if connection is not None:
            raise ArgumentError(f"{what}: connection= is for engine='duckdb'; Polars has none")
        return None
    if connection is None:
        return _utc_connection(module)
    if not isinstance(connection, module.DuckDBPyConnection):
        raise ArgumentError(
            f"{what}: connection= must be a duckdb connection (duckdb.connect()), "
            f"not {type(connection).__name__}"
        )
    return connection


# --------------------------------------------------------------------------------------------
# Public entry point


def scan_focus(
    path_or_glob: str | os.PathLike[str],
    *,
    engine: Engine = "duckdb",
    connection: Any = None,
) -> Any:
    """A lazy frame over FOCUS Parquet or CSV files, with cfusage's column names and types.

    Nothing is read into memory: the engine reads the files when the frame is collected (or
    when a helper aggregates it). See the module docstring (:mod:`cfusage.io._scan`) for the
    mapping of names, the typing of values and what stops a query.

    Parameters
    ----------
    path_or_glob : str or path
        A FOCUS file (``.parquet``, ``.csv``, ``.csv.gz``, ``.tsv``), a directory (every such file
        under it, at any depth), or a glob (``"exports/**/*.parquet"``). Files and directories
        whose names start with ``_`` or ``.`` (``_SUCCESS``, ``.crc``, staging areas) are not
        read; under a directory or glob, files of other kinds (manifests, JSON) are ignored.
        Directories named ``key=value`` (Hive partitions, ``billing_period=2026-05/``) give a
        text column ``key`` (``billing_period``). One format per scan: Parquet or CSV.
    engine : {"duckdb", "polars"}
        ``"duckdb"`` gives a ``duckdb.DuckDBPyRelation``, ``"polars"`` a ``polars.LazyFrame``.
    connection : duckdb.DuckDBPyConnection, optional
        The DuckDB connection to scan on (default: cfusage's own connection, in UTC). Helpers
        truncate days in the connection's time zone, so they refuse a connection that is not
        in UTC (``SET TimeZone = 'UTC'``).

    Returns
    -------
    duckdb.DuckDBPyRelation or polars.LazyFrame
        Every column of :data:`cfusage.schema.COLUMNS` under its python name, in table order
        (null where the files lack it), then the files' other columns: one row per file row,
        the same rows and values as :func:`cfusage.to_frame` gives for the files (which also
        rejects rows that break FOCUS's requirement rules; the scan applies no row rules).

    Raises
    ------
    FileNotFoundError
        If nothing is found at ``path_or_glob``.
    ArgumentError
        For an unknown engine, a file of another kind, Parquet beside CSV, or ``connection=``
        with Polars.
    MissingColumnsError
        If the files have no ``ChargePeriodStart`` or ``ChargePeriodEnd`` column.
    DataError
        If a column holds values of a type cfusage cannot read as its kind (a boolean cost).
        Text that is not a number or a date is refused when the frame is collected (see the
        module docstring).
    ImportError
        If the engine's package is missing (``pip install 'cfusage[duckdb]'``).

    Examples
    --------
    >>> import cfusage, pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "focus.csv"
    >>> _ = path.write_text(
    ...     "ChargePeriodStart,ChargePeriodEnd,ServiceName,SkuId,BilledCost\\n"
    ...     "2026-05-01T00:00:00Z,2026-05-02T00:00:00Z,AmazonEC2,sku-1,1.25\\n"
    ...     "2026-05-01,2026-05-02,AmazonS3,sku-2,NULL\\n"
    ... )
    >>> scan = cfusage.scan_focus(path)  # a DuckDB relation: nothing is read yet
    >>> scan.project("x_product_family_name, x_billable_metric_id, billed_cost").fetchall()
    [('AmazonEC2', 'sku-1', 1.25), ('AmazonS3', 'sku-2', None)]
    >>> lazy = cfusage.scan_focus("exports/**/*.parquet", engine="polars")  # doctest: +SKIP
    >>> cfusage.period_over_period(lazy, by="service")  # a LazyFrame  # doctest: +SKIP
    """
    what = "scan_focus()"
    module = engine_module(engine, what)
    con = _connection(module, engine, connection, what)
    files, fmt = _resolve(path_or_glob)
    native = scan_files(files, fmt=fmt, engine=engine, connection=con, what=what)
    return _focus_columns(native, module, engine, fmt, what)


# --------------------------------------------------------------------------------------------
# Files


def _resolve(path_or_glob: str | os.PathLike[str]) -> tuple[list[str], _Format]:
    """The files to read (sorted) and their one format."""
    text = os.fspath(path_or_glob)
    path = Path(text).expanduser()
    explicit = False
    if glob.has_magic(text):
        # hidden names count below the glob's fixed part only (the user named the rest)
        base = Path(*itertools.takewhile(lambda part: not glob.has_magic(part), path.parts))
        found = [Path(p) for p in glob.glob(str(path), recursive=True)]
        files = [p for p in found if p.is_file() and not _hidden(p, base)]
    elif path.is_dir():
        files = [p for p in path.rglob("*") if p.is_file() and not _hidden(p, path)]
    elif path.is_file():
        files, explicit = [path], True
    else:
        raise FileNotFoundError(f"no such FOCUS file or directory: {text}")
    by_format: dict[_Format, list[str]] = {}
    for p in sorted(files):
        fmt = _format_of(p)
        if fmt is None:
            if explicit:
                raise ArgumentError(
                    f"cannot tell the format of {text!r}: scan .parquet, .csv, .csv.gz or .tsv "
                    "files"
                )
            continue
        by_format.setdefault(fmt, []).append(str(p))
    if not by_format:
        raise FileNotFoundError(f"no FOCUS Parquet or CSV file at {text}")
    if len(by_format) > 1:
        counts = ", ".join(f"{len(v)} {k}" for k, v in by_format.items())
        raise ArgumentError(
            f"{text!r} holds files of several formats ({counts}): scan each format on its own "
            "(a glob such as '**/*.parquet') and union the frames"
        )
    ((fmt, names),) = by_format.items()
    return names, fmt


def _hidden(path: Path, root: Path | str) -> bool:
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        parts = path.parts[-1:]
    return any(p.startswith(("_", ".")) for p in parts)


def _format_of(path: Path) -> _Format | None:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes[-1:] == [".gz"]:
        return "csv" if suffixes[-2:-1] == [".csv"] else None
    return _SUFFIXES.get(suffixes[-1]) if suffixes else None


def _hive_keys(files: Sequence[str]) -> list[str]:
    keys: dict[str, None] = {}
    for f in files:
        for part in Path(f).parent.parts:
            m = _HIVE.match(part)
            if m:
                keys.setdefault(m.group(1))
    return list(keys)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def scan_files(
    files: Sequence[str | os.PathLike[str]],
    *,
    fmt: _Format,
    engine: str,
    connection: Any = None,
    what: str,
) -> Any:
    """The files as one lazy frame of the engine, columns as the files name and type them.

    Files with different columns are unioned by name (a column a file lacks is null there).
    Hive partition directories (``key=value``) become text columns, after the files' columns.
    CSV cells are text. ``fmt``: ``"parquet"``, ``"csv"`` or ``"tsv"``.
    """
    module = engine_module(engine, what)
    names = [os.fspath(f) for f in files]
    if not names:
        raise ArgumentError(f"{what}: no files to scan")
    if engine == "duckdb":
        con = _connection(module, engine, connection, what)
        listed = "[" + ", ".join(_literal(n) for n in names) + "]"
        hive = "hive_partitioning = true, hive_types_autocast = false, union_by_name = true"
        if fmt == "parquet":
            return con.sql(f"SELECT * FROM read_parquet({listed}, {hive})")
        delim = "\\t" if fmt == "tsv" else ","
        return con.sql(
            f"SELECT * FROM read_csv({listed}, {hive}, header = true, all_varchar = true, "
            f"delim = E'{delim}', quote = '\"', escape = '\"')"
        )
    pl = module
    _connection(module, engine, connection, what)
    keys = _hive_keys(names)
    groups: dict[tuple[str, ...], list[str]] = {}
    for name in names:
        groups.setdefault(_header(name, fmt), []).append(name)
    frames = []
    for group in groups.values():
        if fmt == "parquet":
            frame = pl.scan_parquet(group, hive_partitioning=False, include_file_paths=_FILE)
        else:
            frame = pl.scan_csv(
                group,
                has_header=True,
                separator="\t" if fmt == "tsv" else ",",
                infer_schema=False,
                include_file_paths=_FILE,
            )
        file = pl.col(_FILE).str.replace_all("\\\\", "/")
        frame = frame.with_columns(
            file.str.extract(f"(?:^|/){re.escape(k)}=([^/]*)/", 1).alias(k) for k in keys
        ).drop(_FILE)
        frames.append(frame)
    return frames[0] if len(frames) == 1 else pl.concat(frames, how="diagonal_relaxed")


def _header(name: str, fmt: _Format) -> tuple[str, ...]:
    """The column names of one file (a Parquet footer, a CSV header line)."""
    try:
        if fmt == "parquet":
            return tuple(pq.read_schema(name).names)
        opener: Any = gzip.open if name.lower().endswith(".gz") else open
        with opener(name, "rb") as fh:
            line = fh.readline()
        text = line.decode("utf-8-sig")
        return tuple(next(csv.reader(io.StringIO(text), delimiter="\t" if fmt == "tsv" else ",")))
    except (OSError, pa.ArrowException, UnicodeDecodeError, StopIteration) as e:
        raise DataError(f"{name}: not a readable {fmt} file ({e})") from e


def empty_scan(engine: str, connection: Any, what: str) -> Any:
    """A lazy frame with no rows and every column of the table, typed as a scan types it."""
    module = engine_module(engine, what)
    con = _connection(module, engine, connection, what)
    fields = []
    for c in schema.COLUMNS:
        if c.kind == "datetime":
            t: pa.DataType = pa.timestamp("us", tz="UTC")
        elif c.kind in ("money", "quantity", "price"):
            t = pa.float64()
        else:
            t = pa.string()
        fields.append(pa.field(c.python, t))
    table = pa.schema(fields).empty_table()
    if engine == "duckdb":
        return con.from_arrow(table)
    return module.from_arrow(table).lazy()


# --------------------------------------------------------------------------------------------
# The mapping: file columns → cfusage's names and types, as engine expressions


def _plan(names: Sequence[str]) -> dict[str, list[str]]:
    """Output name → the file columns it takes its values from, first non-null wins.

    The loader's rule (``_coerce._rename``): the own (python or wire) name of a column before its
    FOCUS counterpart or alias; an alias-only name (``ProviderName``) also kept as itself.
    """
    merged: dict[str, list[str]] = {}
    for name in names:
        py = schema.python_name(str(name))
        target = _ALIASES.get(py, py)
        if py in _ALIAS_ONLY and py not in merged:
            merged[py] = [name]
        if target in merged:
            own = py == target
            merged[target] = [name, *merged[target]] if own else [*merged[target], name]
        else:
            merged[target] = [name]
    return merged


def _focus_columns(native: Any, module: Any, engine: str, fmt: _Format, what: str) -> Any:
    build = _Duck(native) if engine == "duckdb" else _Polars(native, module)
    names = build.names()
    plan = _plan(names)
    lacking = [c for c in schema.REQUIRED if c not in plan]
    if lacking:
        focus = [_KNOWN[c].focus or c for c in lacking]
        raise MissingColumnsError(
            lacking, f"{what}: the files have no {', '.join(focus)} column ({lacking})"
        )
    out = []
    for c in schema.COLUMNS:
        sources = plan.get(c.python)
        if not sources:
            out.append(build.alias(build.null(c.kind), c.python))
            continue
        values = [build.typed(src, c, what) for src in sources]
        expr = values[0] if len(values) == 1 else build.coalesce(values)
        if c.python in schema.REQUIRED:
            expr = build.required(expr, c, sources, what)
        out.append(build.alias(expr, c.python))
    for name, sources in plan.items():
        if name in _KNOWN:
            continue
        values = [build.extra(src, fmt != "parquet") for src in sources]
        out.append(build.alias(values[0] if len(values) == 1 else build.coalesce(values), name))
    return build.select(out)


def _kind_group(kind: str) -> str:
    if kind in ("money", "quantity", "price"):
        return "number"
    return kind if kind in ("datetime", "tags") else "text"


def _bad_type(what: str, src: str, c: schema.Column, dtype: Any) -> DataError:
    return DataError(
        f"{what}: column {src!r} ({c.python}) holds {dtype} values, which cannot be read as "
        f"{c.kind}"
    )


def _message(what: str, c: schema.Column, src: str, reason: str) -> str:
    return f"cfusage {what}: column {src!r} ({c.python}): {reason}; got "


class _Duck:
    """Expressions as DuckDB SQL text over one relation."""

    def __init__(self, rel: Any) -> None:
        self.rel = rel
        self.types = {n: str(t).upper() for n, t in zip(rel.columns, rel.types, strict=True)}

    def names(self) -> list[str]:
        return list(self.rel.columns)

    @staticmethod
    def alias(expr: str, name: str) -> str:
        return f"{expr} AS {_quote(name)}"

    @staticmethod
    def null(kind: str) -> str:
        group = _kind_group(kind)
        sql = {"datetime": "TIMESTAMPTZ", "number": "DOUBLE"}.get(group, "VARCHAR")
        return f"CAST(NULL AS {sql})"

    @staticmethod
    def coalesce(values: list[str]) -> str:
        return "coalesce(" + ", ".join(values) + ")"

    def select(self, exprs: list[str]) -> Any:
        return self.rel.project(", ".join(exprs))

    def _text(self, src: str) -> str:
        col = _quote(src)
        t = self.types[src]
        raw = col if t == "VARCHAR" else f"CAST({col} AS VARCHAR)"
        stripped = f"trim({raw}, {_literal(_WHITESPACE)})"
        nulls = ", ".join(_literal(v) for v in NULL_TEXT)
        return f"(CASE WHEN {stripped} IN ({nulls}) THEN NULL ELSE {stripped} END)"

    def _checked(self, text: str, pattern: str, message: str) -> str:
        return (
            f"(CASE WHEN {text} IS NULL OR regexp_full_match({text}, {_literal(pattern)}) "
            f"THEN {text} ELSE error({_literal(message)} || {text}) END)"
        )

    def typed(self, src: str, c: schema.Column, what: str) -> str:
        col, t = _quote(src), self.types[src]
        group = _kind_group(c.kind)
        if group == "number":
            if t == "VARCHAR":
                text = self._text(src)
                msg = _message(what, c, src, _NUMBER_REASON)
                return f"CAST({self._checked(text, _NUMBER_RE, msg)} AS DOUBLE)"
            if not _duck_numeric(t):
                raise _bad_type(what, src, c, t)
            d = f"CAST({col} AS DOUBLE)"
            expr = f"(CASE WHEN isnan({d}) THEN NULL ELSE {d} END)"
            if c.kind == "money":
                msg = _message(what, c, src, "not a finite number (money cannot be infinite)")
                expr = (
                    f"(CASE WHEN isinf({d}) THEN error({_literal(msg)} || CAST({d} AS VARCHAR)) "
                    f"ELSE {expr} END)"
                )
            return expr
        if group == "datetime":
            if t == "VARCHAR":
                text = self._text(src)
                msg = _message(what, c, src, _DATE_REASON)
                checked = (
                    f"(CASE WHEN {text} IS NULL OR (regexp_full_match({text}, "
                    f"{_literal(_DATE_RE)}) AND NOT starts_with({text}, '{_NO_YEAR_0}')) "
                    f"THEN {text} ELSE error({_literal(msg)} || {text}) END)"
                )
                for pattern, repl in _DATE_STEPS:
                    checked = f"regexp_replace({checked}, {_literal(pattern)}, {_literal(repl)})"
                canonical = (
                    f"(CASE WHEN regexp_matches({checked}, {_literal(_HAS_OFFSET)}) "
                    f"THEN {checked} ELSE {checked} || '+00:00' END)"
                )
                return f"CAST({canonical} AS TIMESTAMPTZ)"
            if t.startswith("TIMESTAMP WITH TIME ZONE") or t == "TIMESTAMPTZ":
                return col
            if t.startswith("TIMESTAMP") or t == "DATE":
                return f"timezone('UTC', CAST({col} AS TIMESTAMP))"
            raise _bad_type(what, src, c, t)
        if group == "tags" and t != "VARCHAR":
            return f"CAST(to_json({col}) AS VARCHAR)"
        if t == "BOOLEAN" and group == "text":
            return f"(CASE WHEN {col} THEN 'true' WHEN NOT {col} THEN 'false' END)"
        text = self._text(src)
        if c.values:
            cases = " ".join(f"WHEN {_literal(v.lower())} THEN {_literal(v)}" for v in c.values)
            text = f"(CASE lower({text}) {cases} ELSE {text} END)"
        return text

    def required(self, expr: str, c: schema.Column, sources: list[str], what: str) -> str:
        focus = c.focus or c.wire
        msg = (
            f"cfusage {what}: {c.python} ({', '.join(sources)}) is null on a row; FOCUS "
            f"{focus} must not be null (load the file with cfusage.to_frame(file, "
            "errors='quarantine') to see the rows)"
        )
        return (
            f"(CASE WHEN {expr} IS NULL THEN error({_literal(msg)} || "
            f"coalesce(CAST({expr} AS VARCHAR), '')) ELSE {expr} END)"
        )

    def extra(self, src: str, text: bool) -> str:
        col = _quote(src)
        if not text or self.types[src] != "VARCHAR":
            return col
        nulls = ", ".join(_literal(v) for v in NULL_TEXT)
        return f"(CASE WHEN {col} IN ({nulls}) THEN NULL ELSE {col} END)"


def _duck_numeric(t: str) -> bool:
    return t.startswith(("DECIMAL", "NUMERIC")) or t in {
        "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
        "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "REAL",
    }  # fmt: skip


class _Polars:
    """Expressions as Polars expressions over one LazyFrame."""

    def __init__(self, frame: Any, pl: Any) -> None:
        self.frame, self.pl = frame, pl
        self.schema = frame.collect_schema()

    def names(self) -> list[str]:
        return list(self.schema.names())

    @staticmethod
    def alias(expr: Any, name: str) -> Any:
        return expr.alias(name)

    def null(self, kind: str) -> Any:
        pl = self.pl
        group = _kind_group(kind)
        dtype = {"datetime": pl.Datetime("us", "UTC"), "number": pl.Float64}.get(group, pl.String)
        return pl.lit(None, dtype=dtype)

    def coalesce(self, values: list[Any]) -> Any:
        return self.pl.coalesce(values)

    def select(self, exprs: list[Any]) -> Any:
        return self.frame.select(exprs)

    def _text(self, src: str) -> Any:
        pl = self.pl
        col = pl.col(src)
        if self.schema[src] != pl.String:
            col = col.cast(pl.String)
        stripped = col.str.strip_chars(_WHITESPACE)
        return pl.when(stripped.is_in(list(NULL_TEXT))).then(None).otherwise(stripped)

    def _checked(self, text: Any, pattern: str, message: str, *, year_0: bool = False) -> Any:
        pl = self.pl

        def check(s: Any) -> Any:
            ok = s.str.contains(pattern)
            if year_0:
                ok = ok & ~s.str.starts_with(_NO_YEAR_0)
            bad = s.is_not_null() & ~ok
            if bad.any():
                raise _values_error(message, s.filter(bad))
            return s

        return text.map_batches(check, return_dtype=pl.String, is_elementwise=True)

    def typed(self, src: str, c: schema.Column, what: str) -> Any:
        pl = self.pl
        col, t = pl.col(src), self.schema[src]
        group = _kind_group(c.kind)
        if group == "number":
            if t == pl.String or isinstance(t, pl.Categorical | pl.Enum):
                msg = _message(what, c, src, _NUMBER_REASON)
                return self._checked(self._text(src), _NUMBER_RE, msg).cast(pl.Float64)
            if not t.is_numeric():
                raise _bad_type(what, src, c, t)
            expr = col.cast(pl.Float64).fill_nan(None)
            if c.kind == "money":
                msg = _message(what, c, src, "not a finite number (money cannot be infinite)")

                def finite(s: Any) -> Any:
                    bad = s.is_infinite().fill_null(False)
                    if bad.any():
                        raise _values_error(msg, s.filter(bad))
                    return s

                expr = expr.map_batches(finite, return_dtype=pl.Float64, is_elementwise=True)
            return expr
        if group == "datetime":
            if t == pl.String or isinstance(t, pl.Categorical | pl.Enum):
                msg = _message(what, c, src, _DATE_REASON)
                text = self._checked(self._text(src), _DATE_RE, msg, year_0=True)
                for pattern, repl in _DATE_STEPS:
                    text = text.str.replace(pattern, re.sub(r"\\([0-9])", r"${\1}", repl))
                text = (
                    pl.when(text.str.contains(_HAS_OFFSET))
                    .then(text)
                    .otherwise(text + pl.lit("+00:00"))
                )
                return text.str.to_datetime(
                    _POLARS_DATE_FORMAT, time_zone="UTC", time_unit="us", strict=True
                )
            if isinstance(t, pl.Datetime):
                if t.time_zone is None:
                    return col.dt.replace_time_zone("UTC").dt.cast_time_unit("us")
                return col.dt.convert_time_zone("UTC").dt.cast_time_unit("us")
            if t == pl.Date:
                return col.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
            raise _bad_type(what, src, c, t)
        if group == "tags" and isinstance(t, pl.Struct):
            return col.struct.json_encode()
        if t == pl.Boolean and group == "text":
            return pl.when(col).then(pl.lit("true")).when(~col).then(pl.lit("false"))
        text = self._text(src)
        if c.values:
            lower = text.str.to_lowercase()
            expr = pl.when(pl.lit(False)).then(pl.lit(None, dtype=pl.String))
            for v in c.values:
                expr = expr.when(lower == v.lower()).then(pl.lit(v))
            text = expr.otherwise(text)
        return text

    def required(self, expr: Any, c: schema.Column, sources: list[str], what: str) -> Any:
        pl = self.pl
        focus = c.focus or c.wire
        msg = (
            f"cfusage {what}: {c.python} ({', '.join(sources)}) is null on {{n}} row(s); FOCUS "
            f"{focus} must not be null (load the file with cfusage.to_frame(file, "
            "errors='quarantine') to see the rows)"
        )

        def check(s: Any) -> Any:
            n = s.null_count()
            if n:
                raise DataError(msg.format(n=n))
            return s

        return expr.map_batches(check, return_dtype=pl.Datetime("us", "UTC"), is_elementwise=True)

    def extra(self, src: str, text: bool) -> Any:
        pl = self.pl
        col = pl.col(src)
        if not text or self.schema[src] != pl.String:
            return col
        return pl.when(col.is_in(list(NULL_TEXT))).then(None).otherwise(col)


def _values_error(message: str, bad: Any) -> DataError:
    shown = bad.unique(maintain_order=True).head(5).to_list()
    more = f" (and {len(bad) - len(shown)} more)" if len(bad) > len(shown) else ""
    return DataError(f"{message}{', '.join(map(repr, shown))}{more}")
