"""Raw columns to typed columns: names from :mod:`cfusage.schema`, dtypes, enums, failure cases.

Used by the loader (:func:`cfusage.to_frame`) and by :func:`cfusage.validate`, so both type a value
the same way.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .. import schema
from ._checks import _cases, _empty_failures

#: Text that FOCUS files in the wild write for null.
NULL_TEXT = ("", "NULL", "null", "Null", "NaN", "nan", "None", "N/A", "#N/A")

_EMPTY_CATEGORY = pd.CategoricalDtype(pd.Index([], dtype="str"))
_KNOWN: dict[str, schema.Column] = {c.python: c for c in schema.COLUMNS}
# Names a file may use for our columns: the table's aliases (FOCUS 1.0-1.2 ProviderName), the FOCUS
# counterparts, and the python names.
_ALIASES: dict[str, str] = {
    **{schema.python_name(a): c.python for c in schema.COLUMNS for a in c.aliases},
    **{schema.python_name(c.focus): c.python for c in schema.COLUMNS if c.focus},
    **{c.python: c.python for c in schema.COLUMNS},
}

_ALIAS_ONLY = frozenset(schema.python_name(a) for c in schema.COLUMNS for a in c.aliases)

#: A number, as text: optional sign, digits, optional fraction, optional exponent. Nothing else
#: (no thousands separators, no decimal comma, no currency sign, no "inf"): "1.000,50" is refused,
#: never read as 1.0005.
PLAIN_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
#: A date/time as FOCUS writes it (ISO 8601, years 0001-9999): date, optional time, optional offset.
ISO_DATETIME = re.compile(
    r"(?!0000)[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]{1,9})?)?)?"
    r"(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)?"
)
_NUMBER_REASON = "not a number (a plain decimal expected: 1234.5, -0.25, 1.5e-3; no separators)"
_DATE_REASON = "not a date/time (ISO 8601 in years 0001-9999 expected, e.g. 2026-03-01T00:00:00Z)"


def _rename(raw: pd.DataFrame) -> pd.DataFrame:
    """Python names for every raw column; two names for one column are merged (first non-null).

    A column under an alias of the table (``ProviderName``) fills its column's gaps and is also
    kept under its own name: no column of a file is ever dropped.
    """
    merged: dict[str, pd.Series] = {}
    for name in raw.columns:
        py = schema.python_name(str(name))
        target = _ALIASES.get(py, py)
        col = raw[name]
        if py in _ALIAS_ONLY and py not in merged:
            merged[py] = col
        if target in merged:
            # The Cloudflare name wins over its FOCUS counterpart; each fills the other's gaps.
            own = schema.python_name(str(name)) == target
            merged[target] = (
                col.combine_first(merged[target]) if own else merged[target].combine_first(col)
            )
        else:
            merged[target] = col
    return pd.DataFrame(merged, index=raw.index) if merged else pd.DataFrame(index=raw.index)


def _coerce(raw: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Type every known column, value by value; collect the values that cannot be typed.

    Returns the typed frame and its typing failures (check ``type``); the row rules
    (:func:`._checks._row_failures`) come on top.
    """
    n = len(raw)
    failures: list[pd.DataFrame] = []
    out: dict[str, Any] = {}
    for name in raw.columns:
        spec = _KNOWN.get(name)
        if spec is None:
            out[name] = raw[name]
            continue
        typed, bad, why = _coerce_column(raw[name], spec)
        out[name] = typed
        if bad is not None and bad.any():
            rows = np.flatnonzero(bad)
            reason = why[rows] if isinstance(why, np.ndarray) else why
            failures.append(_cases(rows, name, raw[name], reason, "type"))
    typed = _complete(
        pd.DataFrame(out, index=pd.RangeIndex(n)) if out else pd.DataFrame(index=pd.RangeIndex(n))
    )
    typed = _normalise_enums(typed)
    if not failures:
        return typed, _empty_failures()
    return typed, pd.concat(failures, ignore_index=True)


def _coerce_column(
    values: pd.Series, spec: schema.Column
) -> tuple[pd.Series, np.ndarray | None, str | np.ndarray]:
    """Typed values, which present values could not be typed, and why (one text, or per row)."""
    values = values.reset_index(drop=True)
    present = _present(values)
    if spec.kind == "datetime":
        parsed = _to_utc(values)
        bad = present & parsed.isna().to_numpy()
        return parsed, bad, _DATE_REASON
    if spec.kind in ("money", "quantity", "price"):
        numbers, bad = _to_number(values, present)
        if spec.kind == "money":
            inf = np.isinf(numbers.to_numpy(dtype=float, na_value=np.nan))
            if inf.any():
                why = np.where(
                    inf, "not a finite number (money cannot be infinite)", _NUMBER_REASON
                )
                return numbers, bad | inf, why
        return numbers, bad, _NUMBER_REASON
    if spec.kind == "tags":
        return _to_tags(values, present)
    if values.dtype == object:
        text = values.map(_as_text, na_action="ignore")
    elif pd.api.types.is_string_dtype(values.dtype):  # "" and "NULL" are null in text columns too
        stripped = values.str.strip()
        text = stripped.mask(stripped.isin(NULL_TEXT))
    else:
        text = values
    return text.astype(spec.dtype), None, ""


def _present(values: pd.Series) -> np.ndarray:
    mask = values.notna().to_numpy(copy=True)
    if values.dtype == object:
        null_text = values.map(lambda v: isinstance(v, str) and v.strip() in NULL_TEXT)
        mask &= ~null_text.to_numpy(dtype=bool, na_value=False)
    elif pd.api.types.is_string_dtype(values.dtype):
        stripped = values.str.strip()
        mask &= ~stripped.isin(NULL_TEXT).to_numpy(dtype=bool, na_value=False)
    return mask


def _to_utc(values: pd.Series) -> pd.Series:
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC").astype(schema.dtypes()["charge_period_start"])
    if pd.api.types.is_datetime64_dtype(values.dtype):
        return values.dt.tz_localize("UTC").astype(schema.dtypes()["charge_period_start"])
    text = values.map(_date_text, na_action="ignore").astype("str")
    dtype = schema.dtypes()["charge_period_start"]
    try:
        parsed = pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601")
    except (ValueError, OverflowError, NotImplementedError):  # one odd value spoils the batch
        parsed = pd.Series([_one_date(t) for t in text.tolist()], index=values.index)
    return parsed.astype(dtype)


def _one_date(text: Any) -> Any:
    if not isinstance(text, str):
        return pd.NaT
    try:
        return pd.to_datetime(text, utc=True, format="ISO8601")
    except (ValueError, OverflowError, NotImplementedError):
        return pd.NaT


def _date_text(v: Any) -> Any:
    """ISO 8601 text for a date-like value, or None when it cannot be one (not ISO 8601, a year
    outside 0001-9999, a number)."""
    if hasattr(v, "isoformat"):
        try:
            text = v.isoformat()  # a naive datetime is read as UTC
        except (ValueError, TypeError, OverflowError):
            return None
    elif isinstance(v, str):
        text = v.strip()
    else:
        return None  # numbers, bools, dicts: not a date
    return text if isinstance(text, str) and ISO_DATETIME.fullmatch(text) else None


def _to_number(values: pd.Series, present: np.ndarray) -> tuple[pd.Series, np.ndarray]:
    if pd.api.types.is_bool_dtype(values.dtype):
        return pd.Series(pd.NA, index=values.index, dtype="Float64"), present.copy()
    if pd.api.types.is_numeric_dtype(values.dtype):
        out = values.astype("Float64")
        nan = np.isnan(out.to_numpy(dtype=float, na_value=0.0))
        # A float NaN is how pandas writes "missing": it stays missing (NA), never 0.
        return out.mask(nan), np.zeros(len(values), dtype=bool)
    cleaned = values.map(_number_or_nan, na_action="ignore")
    numbers = pd.to_numeric(cleaned, errors="coerce").astype("Float64")
    bad = present & numbers.isna().to_numpy()
    return numbers, bad


def _number_or_nan(v: Any) -> float:
    """The float of a number or of plain decimal text; NaN (a typing failure) for anything else.

    Text is never rewritten: ``"1.000,50"``, ``"1,000"``, ``"1,2.5"``, ``"$5"``, ``"inf"`` are
    not numbers. Nor is a number out of a float's range (``10**400``, ``"1e400"``).
    """
    if isinstance(v, bool):
        return math.nan
    if isinstance(v, int | float | np.integer | np.floating):
        try:
            return float(v)
        except OverflowError:
            return math.nan
    if isinstance(v, str):
        s = v.strip()
        if not PLAIN_DECIMAL.fullmatch(s):
            return math.nan
        number = float(s)
        return number if math.isfinite(number) else math.nan  # "1e400": out of range
    return math.nan


def _to_tags(values: pd.Series, present: np.ndarray) -> tuple[pd.Series, np.ndarray, str]:
    out: list[Any] = []
    bad = np.zeros(len(values), dtype=bool)
    for i, v in enumerate(values.tolist()):
        if not present[i]:
            out.append(pd.NA)
        elif isinstance(v, Mapping):
            out.append(dict(v))
        elif isinstance(v, str):
            try:
                parsed = json.loads(v)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict):
                out.append(parsed)
            else:
                out.append(pd.NA)
                bad[i] = True
        else:
            out.append(pd.NA)
            bad[i] = True
    return pd.Series(out, index=values.index, dtype=object), bad, "tags must be a JSON object"


def _as_text(v: Any) -> Any:
    if isinstance(v, str):
        s = v.strip()
        return pd.NA if s in NULL_TEXT else s
    if isinstance(v, float) and math.isnan(v):
        return pd.NA
    if isinstance(v, bool | int | float | np.integer | np.floating):
        return str(v)
    return _safe_str(v)


def _safe_str(v: Any) -> str:
    try:
        return str(v)
    except (RecursionError, ValueError):  # nested too deeply; an int too long to print
        return f"<{type(v).__name__} nested too deeply to show>"


def _normalise_enums(typed: pd.DataFrame) -> pd.DataFrame:
    """Enum values in their canonical spelling (``Usage-based`` → ``Usage-Based``)."""
    changes: dict[str, pd.Series] = {}
    for spec in schema.COLUMNS:
        if not spec.values or spec.python not in typed.columns:
            continue
        col = typed[spec.python]
        if not isinstance(col.dtype, pd.CategoricalDtype):
            continue
        canon = {v.lower(): v for v in spec.values}
        renames = {c: canon[c.lower()] for c in col.cat.categories if canon.get(c.lower(), c) != c}
        if renames:
            changes[spec.python] = col.astype("str").replace(renames).astype("category")
    return typed.assign(**changes) if changes else typed


def _complete(typed: pd.DataFrame) -> pd.DataFrame:
    """Every known column present with its dtype, in table order, then the extra columns."""
    n = len(typed)
    cols: dict[str, Any] = {}
    for spec in schema.COLUMNS:
        if spec.python in typed.columns:
            col = typed[spec.python]
            if str(col.dtype) != spec.dtype:
                col = col.astype(spec.dtype)
            if spec.dtype == "category" and col.cat.categories.dtype != "str":
                col = col.astype("str").astype("category")
            cols[spec.python] = col
        else:
            dtype = _EMPTY_CATEGORY if spec.dtype == "category" else spec.dtype
            cols[spec.python] = pd.Series(
                [pd.NA] * n if spec.kind == "tags" else None, index=typed.index, dtype=dtype
            )
    for name in typed.columns:
        if name not in cols:
            cols[name] = typed[name]
    # no copy of the columns: copy-on-write keeps ``typed`` and the result apart
    return pd.DataFrame(cols, index=typed.index, copy=False)
