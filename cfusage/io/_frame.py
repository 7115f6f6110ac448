"""From whatever a user has in hand to a typed usage frame: :func:`to_frame`, :func:`concat`.

The flow is: *sources* (an envelope, its bytes, a file, SDK objects, dicts, FOCUS files) → raw
columns (names as they came) → python names (:mod:`cfusage.schema`) → typed, checked columns. Large
JSON bodies take a fast path (msgspec splits the envelope, pyarrow's multi-threaded JSON reader
builds typed columns); anything the fast path cannot type goes through a careful path that checks
every value and names the ones it cannot use.
"""

from __future__ import annotations

import functools
import gzip
import io
import os
import re
import warnings
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple, overload

import msgspec
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json
from pandas.api.types import union_categoricals

from .. import schema
from ..errors import DataError, Error, MissingColumnsError, ResponseError, ValidationError
from ._checks import CLOUDFLARE, _empty_failures, _publishers, _row_failures
from ._coerce import NULL_TEXT, _coerce, _complete, _normalise_enums, _rename

__all__ = ["Rejected", "concat", "summary", "to_frame"]

Errors = Literal["raise", "quarantine"]

#: Columns of the rejected frame returned by ``to_frame(..., errors="quarantine")``.


class Rejected(NamedTuple):
    """Result of ``to_frame(..., errors="quarantine")``: the usable rows and the rows set aside.

    Unpacks as a pair: ``frame, rejected = to_frame(data, errors="quarantine")``.

    Attributes
    ----------
    frame : pandas.DataFrame
        The typed frame of every usable row.
    rejected : pandas.DataFrame
        One row per input record set aside: ``row`` (position in the input, counting across
        sources), ``source`` (which source it came from), ``reason`` (every problem, ``; ``-joined)
        and ``record`` (the record's fields as a dict). ``len(frame) + len(rejected)`` is the number
        of records in.
    """

    frame: pd.DataFrame
    rejected: pd.DataFrame


# --------------------------------------------------------------------------------------------
# Public entry points


@overload
def to_frame(data: Any, *, errors: Literal["raise"] = ..., dedupe: bool = ...) -> pd.DataFrame: ...
@overload
def to_frame(data: Any, *, errors: Literal["quarantine"], dedupe: bool = ...) -> Rejected: ...
def to_frame(
    data: Any, *, errors: Errors = "raise", dedupe: bool = True
) -> pd.DataFrame | Rejected:
    """Turn any billable-usage response into a typed pandas DataFrame.

    Accepts an envelope (``dict``, JSON ``str``/``bytes``, a path to a ``.json`` or ``.json.gz``
    file), the bare ``result`` list, the official SDK's ``UsageGetResponseItem`` objects (anything
    with ``to_dict()`` or ``model_dump()``), records with wire (``ChargePeriodStart``) or python
    (``charge_period_start``) names, FOCUS files from other tools (``.csv`` or ``.parquet``, FOCUS
    1.0 to 1.3: ``NULL`` text, a byte-order mark, CRLF, enum values in another case, Tags as JSON
    text), a DataFrame, or a list of any of these (e.g. one envelope per 31-day window, or
    Cloudflare beside AWS, Azure and GCP FOCUS exports). A single record or SDK item is one record.

    Which rows can be used follows FOCUS's own requirement levels, from the column table
    (:attr:`cfusage.schema.Column.required`): the charge period always; SkuId
    (``x_billable_metric_id``) on Usage and Purchase rows that are not corrections, from a
    provider that publishes SKUs (one of its rows in the input has one), and on every Cloudflare
    row. Tax, Credit, Adjustment and correction rows without a SkuId, and files with no SkuId
    column, are kept. The provider is ServiceProviderName, or ProviderName (FOCUS 1.0-1.2) where
    that is absent; records in the API's shapes (JSON, dicts, SDK objects) that name none are
    Cloudflare's. A number is a number: text that is not a plain decimal (``"1.000,50"``,
    ``"1,000"``, ``"$5"``) is refused, never rewritten. Dates are ISO 8601 in years 0001-9999.

    Parameters
    ----------
    data
        What to load (see above).
    errors : {"raise", "quarantine"}
        ``"raise"`` (default) raises :class:`~cfusage.ValidationError` naming every row, field and
        value that cannot be used. ``"quarantine"`` returns a :class:`Rejected` pair
        ``(frame, rejected)``: the usable rows, and every other row with its reason.
    dedupe : bool
        With several sources, a record whose key (:data:`cfusage.schema.KEY`) appears again in a
        later source is superseded by it (a re-fetched, possibly revised day). Duplicates inside one
        response are kept (:func:`validate` warns about them). In quarantine mode superseded rows
        are in ``rejected`` with that reason, so rows in = rows kept + rows rejected.

    Returns
    -------
    pandas.DataFrame or Rejected
        Every column of :data:`cfusage.schema.COLUMNS` under its python name and dtype, present
        even when the response omitted it, then unknown fields (kept, python-style names).
        ``df.attrs["cfusage"]`` holds ``rows_in`` and ``sources``.

    Raises
    ------
    ResponseError
        ``success: false`` (with the API's messages), a body that is not JSON, or one that cannot
        be decoded at all (nested too deeply), naming the source.
    DataError
        A file that cannot be read (not UTF-8 or UTF-16 with its mark, broken CSV quoting, a row
        with more cells than the header, an empty file, truncated gzip, corrupt Parquet), naming
        the file and the fault. Problems of single records are never raised whole: they are the
        rows' failure cases.
    ValidationError
        With ``errors="raise"``, rows that cannot be used (``.failure_cases`` lists them all).

    Examples
    --------
    >>> import cfusage
    >>> env = {"success": True, "errors": [], "messages": [], "result": [{
    ...     "ChargePeriodStart": "2026-03-01T00:00:00Z", "ChargePeriodEnd": "2026-03-02T00:00:00Z",
    ...     "x_BillableMetricId": "workers_standard_requests", "ConsumedQuantity": 150000}]}
    >>> df = cfusage.to_frame(env)
    >>> df.loc[0, "consumed_quantity"], str(df["charge_period_start"].dtype)
    (np.float64(150000.0), 'datetime64[us, UTC]')
    """
    if errors not in ("raise", "quarantine"):
        raise ValueError(f"errors={errors!r}: use 'raise' or 'quarantine'")
    parts: list[pd.DataFrame] = []
    rejects: list[pd.DataFrame] = []
    failures: list[pd.DataFrame] = []
    offset = 0
    sources = list(_sources(data))
    loaded = _load_all(sources)
    # Which providers publish SkuId is read across every source, so that the loader and
    # validate() (on the combined frame) apply the same rule.
    publishers = _publishers([part.typed for part in loaded])
    keyed = dedupe and len(sources) > 1  # rows need their position and source to be superseded
    for part in loaded:
        typed, source_of = part.typed, part.source
        failed = _row_failures(typed, part.failures, publishers)
        n = len(typed)
        if keyed:
            typed = typed.assign(_row=np.arange(offset, offset + n), _source=source_of)
        if len(failed):
            if isinstance(source_of, np.ndarray):  # several sources: their cases in source order
                order = np.argsort(source_of[failed["row"].to_numpy()], kind="stable")
                failed = failed.iloc[order].reset_index(drop=True)
            bad = np.zeros(n, dtype=bool)
            bad[failed["row"].to_numpy()] = True
            rejects.append(_rejected_rows(failed, typed, part.raw, offset, source_of))
            failures.append(failed.assign(row=failed["row"] + offset))
            typed = typed.loc[~bad]
        parts.append(typed)
        offset += n
    if failures and errors == "raise":
        raise ValidationError(pd.concat(failures, ignore_index=True))
    frame = _concat_typed(parts)
    superseded = pd.DataFrame()
    if keyed and len(frame):
        frame, superseded = _supersede(frame)
    if "_row" in frame.columns:
        frame = frame.drop(columns=["_row", "_source"])
    frame = _plain_index(frame)
    frame.attrs["cfusage"] = {"rows_in": offset, "sources": len(sources)}
    if errors == "raise":
        return frame
    if len(superseded):
        rejects.append(
            pd.DataFrame(
                {
                    "row": superseded["_row"].to_numpy(),
                    "source": superseded["_source"].to_numpy(),
                    "reason": "superseded by the same record (same key) in a later source",
                    "record": _records_of(superseded.drop(columns=["_row", "_source"])),
                }
            )
        )
    rejected = (
        pd.concat(rejects, ignore_index=True).sort_values("row", ignore_index=True)
        if rejects
        else _empty_rejected()
    )
    return Rejected(frame, rejected)


def concat(frames: Sequence[pd.DataFrame], *, dedupe: bool = True) -> pd.DataFrame:
    """Concatenate typed frames, keeping dtypes, the later frame winning on equal keys.

    Parameters
    ----------
    frames : sequence of DataFrame
        Typed usage frames (from :func:`to_frame`), oldest first.
    dedupe : bool
        Drop a record when a later frame has a record with the same key (:data:`schema.KEY`).

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> import cfusage
    >>> rec = {"ChargePeriodStart": "2026-03-01", "ChargePeriodEnd": "2026-03-02",
    ...        "x_BillableMetricId": "r2_storage", "ListCost": 1.0}
    >>> a = cfusage.to_frame([rec]); b = cfusage.to_frame([rec | {"ListCost": 2.0}])
    >>> cfusage.io._frame.concat([a, b])["list_cost"].tolist()
    [2.0]
    """
    parts = [f.assign(_source=i, _row=np.arange(len(f))) for i, f in enumerate(frames)]
    out = _concat_typed(parts)
    if dedupe and len(frames) > 1 and len(out):
        out, _ = _supersede(out)
    return out.drop(columns=["_source", "_row"]).reset_index(drop=True)


def summary(data: pd.DataFrame) -> str:
    """A few lines describing a typed usage frame: rows, days, accounts, metrics, spend.

    Examples
    --------
    >>> import cfusage
    >>> print(cfusage.summary(cfusage.to_frame([])))
    0 usage records

    Raises
    ------
    MissingColumnsError
        When ``data`` is not a usage frame (it lacks columns the summary reads; they are named).
    """
    needed = _SUMMARY_COLUMNS
    missing = [c for c in needed if c not in getattr(data, "columns", ())]
    if missing:
        raise MissingColumnsError(
            missing,
            "summary() needs a usage frame (from cfusage.to_frame); this one lacks "
            + ", ".join(missing),
        )
    if not len(data):
        return "0 usage records"
    start = data["charge_period_start"].min()
    end = data["charge_period_end"].max()
    lines = [
        f"{len(data):,} usage records, {start:%Y-%m-%d} to {end - pd.Timedelta(days=1):%Y-%m-%d}"
        f" ({data['charge_period_start'].dt.normalize().nunique()} days)",
        f"{data['billing_account_id'].nunique()} accounts, "
        f"{data['x_product_family_name'].nunique()} product families, "
        f"{data['x_billable_metric_id'].nunique()} billable metrics, "
        f"{data['x_zone_id'].nunique()} zones",
    ]
    complete = data.attrs.get("cfusage", {}).get("complete_through")
    if complete is not None:
        lines.append(f"complete through {complete}")
    for value in ("list_cost", "effective_cost", "billed_cost"):
        present = data[value].notna()
        if not present.any():
            lines.append(f"{value}: not in this data (usage only)")
            continue
        totals = data.loc[present].groupby("billing_currency", observed=True)[value].sum()
        share = present.mean()
        money = ", ".join(f"{cur} {amount:,.2f}" for cur, amount in totals.items())
        lines.append(
            f"{value}: {money}" + (f" ({share:.0%} of rows carry it)" if share < 1 else "")
        )
    usage = data["charge_category"].astype("str") != "Purchase"
    by_family = (
        data.loc[usage & data["effective_cost"].notna()]
        .groupby(["x_product_family_name", "billing_currency"], observed=True)["effective_cost"]
        .sum()
        .sort_values(ascending=False)
    )
    if len(by_family):
        lines.append("effective cost by product family:")
        width = max(len(str(k[0])) for k in by_family.index)
        lines += [f"  {fam:<{width}}  {cur} {v:>14,.2f}" for (fam, cur), v in by_family.items()]
    return "\n".join(lines)


_SUMMARY_COLUMNS = (
    "charge_period_start",
    "charge_period_end",
    "billing_account_id",
    "x_product_family_name",
    "x_billable_metric_id",
    "x_zone_id",
    "list_cost",
    "effective_cost",
    "billed_cost",
    "billing_currency",
    "charge_category",
)


# --------------------------------------------------------------------------------------------
# Sources: what a user hands us, as raw tables


@dataclass
class _Source:
    """One response or file: either JSON bytes, python records or an already-tabular frame."""

    body: bytes | None = None
    records: list[Any] | None = None
    table: pd.DataFrame | None = None
    name: str = ""


def _sources(data: Any) -> Iterable[_Source]:
    if isinstance(data, _Source):
        yield data
    elif isinstance(data, bytes | bytearray | memoryview):
        yield _Source(body=bytes(data))
    elif isinstance(data, str):
        text = data.lstrip(_BOM_AND_SPACE)
        if text.startswith(("{", "[")) or not text or not _could_be_path(data):
            yield _Source(body=text.encode("utf-8", "surrogatepass"))
        else:
            yield _read_path(Path(data))
    elif isinstance(data, os.PathLike):
        yield _read_path(Path(data))
    elif isinstance(data, pd.DataFrame):
        yield _Source(table=data)
    elif isinstance(data, pa.Table):
        yield _Source(table=data.to_pandas())
    elif isinstance(data, Mapping):
        if _is_envelope(data):
            yield _envelope_source(data)
        else:
            yield _Source(records=[data])  # one record
    elif _is_sdk_item(data):  # one SDK item (a pydantic model iterates over its fields)
        yield _Source(records=[data])
    elif isinstance(data, Iterable):
        items = list(data)
        if items and all(_is_source_like(i) for i in items):
            for item in items:
                yield from _sources(item)
        else:
            yield _Source(records=items)
    elif _record_of(data) is not None:
        yield _Source(records=[data])
    else:
        raise TypeError(
            f"to_frame cannot read a {type(data).__name__}: pass an envelope, its JSON, a path, "
            "records, SDK objects, a DataFrame, or a list of these"
        )


_BOM_AND_SPACE = "\ufeff \t\r\n"
#: Longer text cannot be a file name on any common system: it is a body.
_MAX_PATH = 1024


def _could_be_path(text: str) -> bool:
    return len(text) <= _MAX_PATH and not any(c in text for c in "\n\r\x00\ufeff")


def _is_sdk_item(item: Any) -> bool:
    return any(callable(getattr(item, m, None)) for m in ("to_dict", "model_dump"))


def _is_envelope(d: Mapping[str, Any]) -> bool:
    return "result" in d or "success" in d


def _is_source_like(item: Any) -> bool:
    if isinstance(item, bytes | bytearray | str | os.PathLike | pd.DataFrame | pa.Table):
        return True
    return isinstance(item, Mapping) and _is_envelope(item)


def _envelope_source(env: Mapping[str, Any]) -> _Source:
    _check_envelope(env.get("success"), env.get("errors") or [])
    result = env.get("result")
    if result is not None and not isinstance(result, list):
        raise ResponseError(f"the envelope's result is a {type(result).__name__}, not a list")
    return _Source(records=list(result or []))


def _check_envelope(success: Any, errors: Sequence[Any]) -> None:
    if success is False:
        raise ResponseError("the API answered success: false", errors=list(errors))


def _read_path(path: Path) -> _Source:
    """Read one file; anything wrong with it is a :class:`DataError` naming the file and the fault."""
    try:
        exists = path.exists()
    except (OSError, ValueError):  # a name the system cannot even look up
        exists = False
    if not exists:
        raise FileNotFoundError(f"no such usage file: {path}")
    try:
        return _read_file(path)
    except Error:
        raise
    except gzip.BadGzipFile as exc:
        raise DataError(f"{path}: not a gzip file ({exc})") from exc
    except (EOFError, zlib.error) as exc:
        raise DataError(f"{path}: the gzip data is truncated or corrupt ({exc})") from exc
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{path}: the file is empty (not even a header row)") from exc
    except pd.errors.ParserError as exc:
        raise DataError(f"{path}: not a well-formed CSV ({exc})") from exc
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path}: not UTF-8 text (byte {exc.object[exc.start : exc.start + 1]!r} at offset "
            f"{exc.start}); FOCUS files are UTF-8: re-save it as UTF-8"
        ) from exc
    except (pa.ArrowException, OSError, ValueError) as exc:
        kind = "Parquet" if path.suffix.lower() == ".parquet" else "usage"
        raise DataError(f"{path}: not a readable {kind} file ({exc})") from exc


def _read_file(path: Path) -> _Source:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes[-1:] == [".parquet"]:
        return _Source(table=pd.read_parquet(path), name=str(path))
    opener = gzip.open if suffixes[-1:] == [".gz"] else open
    inner = (
        suffixes[-2]
        if suffixes[-1:] == [".gz"] and len(suffixes) > 1
        else suffixes[-1:][0]
        if suffixes
        else ""
    )
    if inner in (".csv", ".tsv"):
        with opener(path, "rb") as fh:
            return _Source(
                table=_read_focus_csv(fh.read(), sep="\t" if inner == ".tsv" else ","),
                name=str(path),
            )
    with opener(path, "rb") as fh:
        return _Source(body=fh.read(), name=str(path))


def _read_focus_csv(raw: bytes, sep: str = ",") -> pd.DataFrame:
    """Read a FOCUS CSV keeping every cell as text; NULL-ish text and empty cells become NA.

    Cells stay text (``dtype=str``, no thousands separator, no decimal comma): the column table's
    number rule decides what is a number, so ``"1.000,50"`` is refused, never rewritten. UTF-8 with
    or without a byte-order mark; UTF-16 when its byte-order mark says so; anything else is an
    error.
    """
    encoding = "utf-16" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"
    with warnings.catch_warnings():
        # A row with more cells than the header would shift its cells (or lose the extra ones).
        warnings.simplefilter("error", pd.errors.ParserWarning)
        try:
            return pd.read_csv(
                io.BytesIO(raw),
                sep=sep,
                dtype=str,
                keep_default_na=False,
                na_values=list(NULL_TEXT),
                encoding=encoding,
                encoding_errors="strict",
                index_col=False,
            )
        except pd.errors.ParserWarning as exc:
            raise pd.errors.ParserError(f"a row has more cells than the header ({exc})") from None


# --------------------------------------------------------------------------------------------
# Loading one source: raw columns → typed columns + failures


class _Envelope(msgspec.Struct):
    success: bool | None = None
    errors: list[Any] | None = None
    messages: list[Any] | None = None
    result: list[msgspec.Raw] | None = None


_ENVELOPE_DECODER = msgspec.json.Decoder(_Envelope)
_LIST_DECODER = msgspec.json.Decoder(list[msgspec.Raw])
_ANY_DECODER = msgspec.json.Decoder()


class _Loaded(NamedTuple):
    """The typed rows of one source, or of a run of JSON bodies parsed together."""

    typed: pd.DataFrame
    #: typing failures (``row``: position in ``typed``)
    failures: pd.DataFrame
    #: a way to get a rejected row's raw record back (indexed by position in ``typed``)
    raw: Any
    #: the source number, or each row's source number when several sources were parsed together
    source: int | np.ndarray


def _load_all(sources: list[_Source]) -> list[_Loaded]:
    """Every source loaded, in order; each run of two or more JSON bodies in one pyarrow pass.

    A call with many small bodies (one per window, the sample's 14 files) would otherwise pay the
    per-body fixed cost (pyarrow to pandas for every column, completing the table, the row rules)
    once per body. The records of consecutive bodies are parsed together and each row remembers
    its source, so row numbers, ``source`` in the rejected frame and "a later source wins on the
    record key" are exactly those of loading the bodies one by one. A run the fast path cannot type
    together (a body with Tags, python names beside wire names, a record that is not an object)
    is loaded body by body.
    """
    out: list[_Loaded] = []
    i = 0
    while i < len(sources):
        j = i
        while j < len(sources) and sources[j].body is not None:
            j += 1
        if j == i:  # not a body
            out.append(_Loaded(*_load(sources[i], i), i))
            i += 1
            continue
        splits = [_guarded(_split, sources[k], k) for k in range(i, j)]
        together = _load_bodies(sources[i:j], splits, i) if j - i > 1 else None
        if together is not None:
            out.append(together)
        else:
            out += [_Loaded(*_load(sources[k], k, splits[k - i]), k) for k in range(i, j)]
        i = j
    return out


def _load_bodies(
    sources: list[_Source], splits: list[list[msgspec.Raw]], first: int
) -> _Loaded | None:
    """Consecutive JSON bodies as one fast-path parse, each row's source number kept; None when
    the fast path cannot type them together."""
    names = {_fast_names(raws) for raws in splits if raws}
    if len(names) != 1 or None in names:
        return None
    raws = [r for rs in splits for r in rs]
    try:
        typed = _fast_json(
            raws, single_line=all(s.body is not None and _single_line(s.body) for s in sources)
        )
    except Error:
        raise
    except Exception:  # whatever spoils the parse is reported body by body
        return None
    if typed is None:
        return None
    counts = [len(rs) for rs in splits]
    source_of = np.repeat(np.arange(first, first + len(splits)), counts)
    return _Loaded(_cloudflare_by_default(typed), _empty_failures(), raws, source_of)


def _guarded(fn: Any, source: _Source, number: int, *args: Any) -> Any:
    """``fn(source, *args)``, with any failure that is not one record's a cfusage error.

    A record's own problem (a value, a nesting too deep to decode) is a failure case of that
    record; what spoils the whole source becomes a :class:`ResponseError` (a JSON body) or a
    :class:`DataError`, naming the source, never a bare library exception.
    """
    try:
        return fn(source, *args)
    except Error:
        raise
    except Exception as exc:
        where = source.name or f"source {number}"
        cls = ResponseError if source.body is not None else DataError
        raise cls(f"{where} cannot be read: {type(exc).__name__}: {exc}") from exc


def _load(
    source: _Source, number: int, raws: list[msgspec.Raw] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, Any]:
    """:func:`_load_source` (see :func:`_guarded`)."""
    return _guarded(_load_source, source, number, raws)


def _split(source: _Source) -> list[msgspec.Raw]:
    """The raw records of a JSON body."""
    assert source.body is not None
    try:
        return _split_body(source.body)
    except RecursionError:  # one record nested too deeply: split without recursion
        return _split_flat(source.body)


def _load_source(
    source: _Source, raws: list[msgspec.Raw] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, Any]:
    """Return (typed frame, typing failures, a way to get raw records back for rejected rows).

    The row rules (:func:`._checks._row_failures`) are applied by the caller, across sources.
    Records that come in the API's shapes (a JSON body, dicts, SDK objects) and name no provider
    are Cloudflare's; a table (CSV, Parquet, DataFrame) says its provider itself.
    """
    if source.table is not None:
        raw = _rename(source.table.reset_index(drop=True))
        return (*_coerce(raw), raw)
    unreadable: dict[int, str] = {}
    if source.body is not None:
        if raws is None:
            raws = _split(source)
        typed = _fast_json(raws, single_line=_single_line(source.body))
        if typed is not None:
            return _cloudflare_by_default(typed), _empty_failures(), raws
        records: list[Any] = []
        for i, r in enumerate(raws):
            try:
                records.append(_decode_record(r))
            except (msgspec.DecodeError, RecursionError) as exc:
                why = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
                unreadable[i] = f"the record cannot be decoded ({why})"
                records.append(bytes(r).decode("utf-8", "replace"))
    else:
        records = source.records or []
    dicts = [None if i in unreadable else _record_of(r) for i, r in enumerate(records)]
    bad_shape = [i for i, d in enumerate(dicts) if d is None]
    rows = [d if d is not None else {} for d in dicts]
    raw = _rename(pd.DataFrame(rows, index=pd.RangeIndex(len(rows))))
    typed, failures = _coerce(raw)
    if bad_shape:
        failures = failures.loc[~failures["row"].isin(bad_shape)]
        extra = pd.DataFrame(
            {
                "row": bad_shape,
                "field": "<record>",
                "value": [records[i] for i in bad_shape],
                "check": "record",
                "reason": [
                    unreadable.get(i, "not a record (expected an object of fields)")
                    for i in bad_shape
                ],
            }
        )
        failures = pd.concat([failures, extra], ignore_index=True)
    return _cloudflare_by_default(typed), failures, records


_TEXT_FLOATS = msgspec.json.Decoder(float_hook=str)


def _decode_record(raw: msgspec.Raw) -> Any:
    """One record's JSON. A number out of a float's range (``1e400``) is kept as its text, so the
    number rule names the field and value instead of the whole record failing."""
    try:
        return _ANY_DECODER.decode(raw)
    except msgspec.ValidationError:
        return _TEXT_FLOATS.decode(raw)


_JSON_TOKEN = re.compile(rb'\\.|["\[\]{},:]')


def _split_flat(body: bytes) -> list[msgspec.Raw]:
    """The records of an envelope (or bare list) body, found by a scan that never recurses.

    Only for bodies msgspec cannot split (nesting deeper than its recursion limit): each record is
    then decoded on its own, and only the record nested too deeply is rejected.
    """
    depth, in_string, key, level = 0, False, b"", 0
    string_start = value_start = start = 0
    success: bytes | None = None
    records: list[msgspec.Raw] = []
    for match in _JSON_TOKEN.finditer(body):
        token, pos = match.group(), match.start()
        if in_string:
            if token == b'"':
                in_string = False
                if depth == 1 and not level:
                    key = body[string_start + 1 : pos]
            continue
        if token == b'"':
            in_string, string_start = True, pos
        elif token == b":" and depth == 1:
            value_start = pos + 1
        elif token in (b"[", b"{"):
            depth += 1
            if token == b"[" and not level and (depth == 1 or (depth == 2 and key == b"result")):
                level, start = depth, pos + 1
        elif token in (b"]", b"}"):
            if level and depth == level and token == b"]":
                last = body[start:pos].strip()
                if last:
                    records.append(msgspec.Raw(last))
                level = -1  # done: the records are found
            depth -= 1
            if depth == 0 and key == b"success" and success is None:
                success = body[value_start:pos].strip()
        elif token == b",":
            if level > 0 and depth == level:
                records.append(msgspec.Raw(body[start:pos].strip()))
                start = pos + 1
            elif depth == 1 and key == b"success" and success is None:
                success = body[value_start:pos].strip()
    if depth != 0 or in_string:
        raise ResponseError("the body is not a usage envelope (the body looks truncated)")
    _check_envelope(False if success == b"false" else None, [])
    return records


def _cloudflare_by_default(typed: pd.DataFrame) -> pd.DataFrame:
    """Rows that name no provider, from the API's shapes, are Cloudflare's."""
    provider = typed["service_provider_name"]
    if not provider.isna().any():
        return typed
    if CLOUDFLARE not in provider.cat.categories:
        provider = provider.cat.add_categories([CLOUDFLARE])
    return typed.assign(service_provider_name=provider.fillna(CLOUDFLARE))


def _split_body(body: bytes) -> list[msgspec.Raw]:
    """The records of a JSON body as raw slices (no value is decoded yet)."""
    head = body.lstrip()[:1]
    try:
        if head == b"[":
            return _LIST_DECODER.decode(body)
        env = _ENVELOPE_DECODER.decode(body)
    except msgspec.DecodeError as exc:
        hint = " (the body looks truncated)" if "truncated" in str(exc).lower() else ""
        raise ResponseError(f"the body is not a usage envelope{hint}: {exc}") from exc
    _check_envelope(env.success, env.errors or [])
    return env.result or []


def _single_line(body: bytes) -> bool:
    """Whether no record of the body can span lines: it has no line break at all (memchr-fast)."""
    return b"\n" not in body and b"\r" not in body


def _record_of(item: Any) -> dict[str, Any] | None:
    if isinstance(item, Mapping):
        return dict(item)
    for method in ("to_dict", "model_dump", "dict"):
        fn = getattr(item, method, None)
        if callable(fn):
            out = fn()
            if isinstance(out, Mapping):
                return dict(out)
    return None


def _arrow_type(col: schema.Column) -> pa.DataType:
    if col.kind == "datetime":
        return pa.timestamp("us", tz="UTC")
    if col.kind in ("money", "quantity", "price"):
        return pa.float64()
    return pa.string()


_FAST_COLUMNS = tuple(c for c in schema.COLUMNS if c.kind != "tags")
_CATEGORICAL = frozenset(
    name for c in _FAST_COLUMNS if c.dtype == "category" for name in (c.wire, c.python)
)
_PYTHON_NAMES = {name: c.python for c in _FAST_COLUMNS for name in (c.wire, c.python)}
#: The explicit pyarrow schema of a body, by the names it uses ("wire" or "python").
_ARROW_SCHEMAS = {
    names: pa.schema([pa.field(getattr(c, names), _arrow_type(c)) for c in _FAST_COLUMNS])
    for names in ("wire", "python")
}


def _fast_json(raws: list[msgspec.Raw], *, single_line: bool = False) -> pd.DataFrame | None:
    """Typed columns straight from the records' JSON with pyarrow; None if it cannot type them.

    The records are joined into newline-delimited JSON a chunk of about :data:`_CHUNK_BYTES` at a
    time, and pyarrow parses each chunk's blocks on all cores, so the body is never copied whole.
    Each chunk's text columns are dictionary-encoded as soon as it is parsed (its strings are then
    dropped), which keeps the peak memory near the body's size. ``single_line`` says no record
    spans lines (the caller checked the body has no line break), which parses fastest.
    """
    names = _fast_names(raws)
    if names is None:
        return None
    schema_ = _ARROW_SCHEMAS[names]
    n = len(raws)
    lengths = np.fromiter(map(len, raws), dtype=np.int64, count=n)
    step = max(1, int(n * _CHUNK_BYTES // (int(lengths.sum()) + n)))
    blocks = (_joined(raws[lo : lo + step], lengths[lo : lo + step]) for lo in range(0, n, step))
    try:
        if n <= step:  # one chunk: no second thread
            tables = [_parse_chunk(block, schema_, single_line) for block in blocks]
        else:
            tables = _parse_overlapped(blocks, schema_, single_line)
        table = pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, _NotAnObject):
        return None
    if any(pa.types.is_nested(t.type) for t in table.schema):
        return None
    # categorical columns with no value at all: one shared empty column, not one pandas
    # conversion each (a fixed cost that small bodies feel)
    empty = [
        field.name
        for field, column in zip(table.schema, table.columns, strict=True)
        if pa.types.is_dictionary(field.type) and column.null_count == len(column)
    ]
    if empty and len(empty) < table.num_columns:
        table = table.drop_columns(empty)
    else:
        empty = []
    typed = _to_pandas(_sorted_dictionaries(table))
    typed.columns = [_PYTHON_NAMES.get(c) or schema.python_name(c) for c in table.column_names]
    empty_names = [_PYTHON_NAMES[c] for c in empty]
    # both spellings of a field (one maybe all-null): the careful path merges them
    if pd.Index([*typed.columns, *empty_names]).has_duplicates:
        return None
    nulls = {**_empty_categories(empty_names, typed.index), **_all_null_categories(typed)}
    return _complete(_normalise_enums(typed.assign(**nulls) if nulls else typed))


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    """The table as pandas columns; dictionary columns become categoricals through
    :func:`_category_dtype` (a dtype per set of categories, built once per process)."""
    dictionaries = {
        name: column
        for name, column in zip(table.column_names, table.columns, strict=True)
        if pa.types.is_dictionary(column.type) and column.num_chunks
    }
    rest = table.drop_columns(list(dictionaries)) if dictionaries else table
    frame = rest.to_pandas(
        types_mapper=_ARROW_TO_PANDAS.get,
        # one block per column (no consolidating copy); a small table is one core's work
        split_blocks=True,
        use_threads=table.num_rows > _THREADED_ROWS,
    )
    if not dictionaries:
        return frame
    columns: dict[str, Any] = {}
    for name in table.column_names:
        column = dictionaries.get(name)
        if column is None:
            columns[name] = frame[name]
            continue
        array = column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
        values = tuple(array.dictionary.to_pylist())
        dtype = _category_dtype(values) if len(values) <= _CACHED_CATEGORIES else None
        dtype = dtype or pd.CategoricalDtype(pd.Index(list(values), dtype="str"))
        indices = array.indices
        codes = (pc.fill_null(indices, -1) if indices.null_count else indices).to_numpy()
        codes = codes.astype(_code_type(len(values)), copy=False)
        columns[name] = pd.Series(
            pd.Categorical.from_codes(codes, dtype=dtype, validate=False), index=frame.index
        )
    return pd.DataFrame(columns, index=frame.index, copy=False)


#: Category sets of at most this many values have their dtype built once per process.
_CACHED_CATEGORIES = 1_000


@functools.lru_cache(maxsize=512)
def _category_dtype(values: tuple[str, ...]) -> pd.CategoricalDtype:
    """The categorical dtype of these (sorted, unique) text values. pandas checks categories
    every time it builds a dtype (about 0.1 ms a column): the ids, names and units of one
    organization repeat from call to call, so that cost is paid once."""
    return pd.CategoricalDtype(pd.Index(list(values), dtype="str"))


def _code_type(n: int) -> type[np.signedinteger]:
    """The smallest signed integer that holds codes 0..n-1 and -1 (pandas' own choice)."""
    for kind in (np.int8, np.int16, np.int32):
        if n < np.iinfo(kind).max:
            return kind
    return np.int64


def _fast_names(raws: list[msgspec.Raw]) -> str | None:
    """Which names the records use, read from the first (``"wire"`` or ``"python"``); None when
    the fast path cannot be tried (no records, or Tags, which the careful path types)."""
    if not raws:
        return None
    first = bytes(raws[0])
    if b'"Tags"' in first or b'"tags"' in first:
        return None
    return "python" if b'"charge_period_start"' in first else "wire"


#: About this many bytes of JSON are joined and parsed at a time (bounds the copy).
_CHUNK_BYTES = 64 << 20
#: A table of more rows is converted to pandas on every core.
_THREADED_ROWS = 50_000
#: pyarrow's block: the unit of work of one core.
_BLOCK_BYTES = 8 << 20
_ARROW_TO_PANDAS = {pa.float64(): pd.Float64Dtype(), pa.string(): pd.StringDtype(na_value=np.nan)}


class _NotAnObject(Exception):
    """A record that is not a JSON object: the careful path must name it."""


def _joined(raws: list[msgspec.Raw], lengths: np.ndarray) -> bytes:
    """Records as newline-delimited JSON, each checked to be an object.

    pyarrow reads a ``null`` line as an empty row (and crashes on a body of only ``null``), so
    every record is checked to be an object first: the byte at each record's start in the joined
    block must be ``{`` (one vectorised look-up, no Python loop).
    """
    block = b"\n".join(raws)
    starts = np.zeros(len(lengths), dtype=np.int64)
    np.cumsum(lengths[:-1] + 1, out=starts[1:])
    if not (np.frombuffer(block, dtype=np.uint8)[starts] == ord("{")).all():
        raise _NotAnObject
    return block


def _parse_chunk(block: bytes, schema_: pa.Schema, single_line: bool) -> pa.Table:
    """Parse one block of newline-delimited records, categorical text dictionary-encoded.

    A record spanning lines (a pretty-printed body) is allowed for, at pyarrow's slower pace.
    """
    options = pa_json.ParseOptions(
        explicit_schema=schema_,
        unexpected_field_behavior="infer",
        newlines_in_values=not single_line,
    )
    table = pa_json.read_json(
        io.BytesIO(block),
        # a block smaller than one pyarrow block is one core's work: no hand-off to the pool
        read_options=pa_json.ReadOptions(
            block_size=_BLOCK_BYTES, use_threads=len(block) > _BLOCK_BYTES
        ),
        parse_options=options,
    )
    return _dictionary_encode(table)


def _parse_overlapped(blocks: Iterator[bytes], schema_: pa.Schema, single_line: bool) -> list:
    """Parse the blocks in a worker thread while this one joins the next (pyarrow releases the
    GIL while it parses), at most two blocks alive at a time."""
    tables: list[pa.Table] = []
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="cfusage-json") as pool:
        pending: Future[pa.Table] | None = None
        for block in blocks:
            if pending is not None:
                tables.append(pending.result())
            pending = pool.submit(_parse_chunk, block, schema_, single_line)
            del block
        if pending is not None:
            tables.append(pending.result())
    return tables


def _dictionary_encode(table: pa.Table) -> pa.Table:
    """The table with its categorical columns dictionary-encoded (their strings dropped)."""
    for index, name in enumerate(table.column_names):
        if name in _CATEGORICAL and pa.types.is_string(table.schema.field(index).type):
            table = table.set_column(index, name, table.column(index).dictionary_encode())
    return table


def _sorted_dictionaries(table: pa.Table) -> pa.Table:
    """Every dictionary column with one dictionary, sorted (the indices remapped).

    pyarrow's dictionaries list values as they first appear, one dictionary per chunk; one sorted
    dictionary makes the fast path give what the careful path gives (``astype("category")``:
    sorted categories) and groupby results come in value order. Arrow does it on the codes, a
    few microseconds a column.
    """
    table = table.unify_dictionaries()
    for index, field in enumerate(table.schema):
        column = table.column(index)
        if not pa.types.is_dictionary(field.type) or column.num_chunks == 0:
            continue
        dictionary = column.chunk(0).dictionary
        order = pc.array_sort_indices(dictionary).to_numpy()
        if (order[1:] > order[:-1]).all():
            continue
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        rank_array, sorted_values = (
            pa.array(rank, type=field.type.index_type),
            dictionary.take(order),
        )
        chunks = [
            pa.DictionaryArray.from_arrays(rank_array.take(chunk.indices), sorted_values)
            for chunk in column.chunks
        ]
        table = table.set_column(index, field.name, pa.chunked_array(chunks, type=field.type))
    return table


def _all_null_categories(typed: pd.DataFrame) -> dict[str, pd.Series]:
    """Categorical columns with no value at all, with text (``str``) categories like the others."""
    empty = [
        name
        for name, dtype in typed.dtypes.items()
        if isinstance(dtype, pd.CategoricalDtype) and not len(dtype.categories)
    ]
    return _empty_categories(empty, typed.index) if empty else {}


def _empty_categories(names: list[str], index: pd.Index) -> dict[str, pd.Series]:
    """One all-missing categorical column (``str`` categories) under each name, shared
    (copy-on-write keeps them apart)."""
    codes = np.full(len(index), -1, dtype=np.int8)
    column = pd.Series(pd.Categorical.from_codes(codes, dtype=_EMPTY_TEXT), index=index)
    return dict.fromkeys(names, column)


_EMPTY_TEXT = pd.CategoricalDtype(pd.Index([], dtype="str"))


def _rejected_rows(
    failed: pd.DataFrame,
    typed: pd.DataFrame,
    raw_records: Any,
    offset: int,
    number: int | np.ndarray,
) -> pd.DataFrame:
    """One row per rejected record, every problem of the record in its reason."""
    failed = failed.assign(_local=failed["row"].to_numpy())
    described = failed.assign(
        text=failed["field"] + " = " + failed["value"].map(_short) + ": " + failed["reason"]
    )
    reasons = described.groupby("_local", sort=True)["text"].agg("; ".join)
    positions = reasons.index.to_numpy()
    return pd.DataFrame(
        {
            "row": positions + offset,
            "source": number[positions] if isinstance(number, np.ndarray) else number,
            "reason": reasons.to_numpy(),
            "record": [_raw_record(raw_records, typed, int(i)) for i in positions],
        }
    )


def _raw_record(raw_records: Any, typed: pd.DataFrame, i: int) -> dict[str, Any]:
    if isinstance(raw_records, pd.DataFrame):
        return {k: v for k, v in raw_records.iloc[i].items() if not _is_missing(v)}
    if isinstance(raw_records, list) and i < len(raw_records):
        item = raw_records[i]
        if isinstance(item, msgspec.Raw):
            try:
                return _ANY_DECODER.decode(item)
            except (msgspec.DecodeError, RecursionError):
                return {"value": _short(bytes(item).decode("utf-8", "replace"))}
        rec = _record_of(item)
        return rec if rec is not None else {"value": item}
    return {k: v for k, v in typed.iloc[i].items() if not _is_missing(v) and not k.startswith("_")}


def _is_missing(v: Any) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _short(v: Any) -> str:
    try:
        text = repr(v)
    except (RecursionError, ValueError):
        return f"<{type(v).__name__} too deeply nested or too long to show>"
    return text if len(text) <= 60 else text[:57] + "..."


def _empty_rejected() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "row": pd.Series(dtype="int64"),
            "source": pd.Series(dtype="int64"),
            "reason": pd.Series(dtype="str"),
            "record": pd.Series(dtype=object),
        }
    )


# --------------------------------------------------------------------------------------------
# Concatenation and de-duplication


def _concat_typed(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate frames, keeping every categorical column categorical.

    A column categorical in every part becomes one categorical whose categories are the sorted
    union of the parts' (``union_categoricals``: each part's codes are remapped, no value goes
    through text and back), so frames with different categories concatenate at the speed of
    their codes.
    """
    if not parts:
        return _complete(pd.DataFrame(index=pd.RangeIndex(0))).assign(
            _row=pd.Series(dtype="int64"), _source=pd.Series(dtype="int64")
        )
    if len(parts) == 1:
        return _plain_index(parts[0])
    kinds = [p.dtypes for p in parts]
    shared = [
        name
        for name, dtype in kinds[0].items()
        if isinstance(dtype, pd.CategoricalDtype)
        and all(isinstance(k.get(name), pd.CategoricalDtype) for k in kinds[1:])
    ]
    rest = pd.concat([p.drop(columns=shared) for p in parts], ignore_index=True)
    columns = {
        name: pd.Series(
            union_categoricals([p[name] for p in parts], sort_categories=True), index=rest.index
        )
        for name in shared
    }
    order = [*kinds[0].index, *(c for c in rest.columns if c not in kinds[0].index)]
    out = pd.DataFrame({name: columns[name] if name in columns else rest[name] for name in order})
    names = {c.python for c in schema.COLUMNS if c.dtype == "category"}
    lost = [
        c for c in names if c in out.columns and not isinstance(out[c].dtype, pd.CategoricalDtype)
    ]
    return out.astype(dict.fromkeys(lost, "category")) if lost else out


def _plain_index(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with index 0..n-1 (itself when it already has it)."""
    index = frame.index
    if isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1:
        return frame
    return frame.reset_index(drop=True)


def _supersede(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Keep, for each key, only the rows of the last source that has it."""
    keys = [k for k in schema.KEY if k in frame.columns]
    last = frame.groupby(keys, sort=False, dropna=False, observed=True)["_source"].transform("max")
    keep = (frame["_source"] == last).to_numpy()
    return frame.loc[keep], frame.loc[~keep]


def _records_of(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {k: v for k, v in row.items() if not _is_missing(v)} for row in frame.to_dict("records")
    ]
