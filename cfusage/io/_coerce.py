"""Raw columns to typed columns: names from :mod:`cfusage.schema`, dtypes, enums, failure cases.

Used by the loader (:func:`cfusage.to_frame`) and by :func:`cfusage.validate`, so both type a value
the same way.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .. import schema
from ._checks import _cases, _error_cases, _without_repeats

#: Text that FOCUS files in the wild write for null.
NULL_TEXT = ("", "NULL", "null", "Null", "NaN", "nan", "None", "N/A", "#N/A")

_EMPTY_CATEGORY = pd.CategoricalDtype(pd.Index([], dtype="str"))
_KNOWN: dict[str, schema.Column] = {c.python: c for c in schema.COLUMNS}
# Names a file may use for our columns: the FOCUS counterparts, and the python names.
_ALIASES: dict[str, str] = {
    **{schema.python_name(c.focus): c.python for c in schema.COLUMNS if c.focus},
    **{c.python: c.python for c in schema.COLUMNS},
}


def _rename(raw: pd.DataFrame) -> pd.DataFrame:
    """Python names for every raw column; two names for one column are merged (first non-null)."""
    merged: dict[str, pd.Series] = {}
    for name in raw.columns:
        py = schema.python_name(str(name))
        target = _ALIASES.get(py, py)
        col = raw[name]
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
    """Type every known column, value by value; collect what cannot be used."""
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
            failures.append(_cases(np.flatnonzero(bad), name, raw[name], why, "type"))
    typed = _complete(
        pd.DataFrame(out, index=pd.RangeIndex(n)) if out else pd.DataFrame(index=pd.RangeIndex(n))
    )
    typed = _normalise_enums(typed)
    if not failures:
        return typed, _error_cases(typed)
    type_cases = pd.concat(failures, ignore_index=True)
    rule_cases = _without_repeats(_error_cases(typed), type_cases)
    return typed, pd.concat([type_cases, rule_cases], ignore_index=True)


def _coerce_column(
    values: pd.Series, spec: schema.Column
) -> tuple[pd.Series, np.ndarray | None, str]:
    values = values.reset_index(drop=True)
    present = _present(values)
    if spec.kind == "datetime":
        parsed = _to_utc(values)
        bad = present & parsed.isna().to_numpy()
        return parsed, bad, "not a date/time (ISO 8601 expected, e.g. 2026-03-01T00:00:00Z)"
    if spec.kind in ("money", "quantity", "price"):
        numbers, bad = _to_number(values, present)
        if spec.kind == "money":
            inf = np.isinf(numbers.to_numpy(dtype=float, na_value=np.nan))
            if inf.any():
                return numbers, bad | inf, "not a finite number (money cannot be infinite)"
        return numbers, bad, "not a number"
    if spec.kind == "tags":
        return _to_tags(values, present)
    text = values.map(_as_text, na_action="ignore") if values.dtype == object else values
    return text.astype(spec.dtype), None, ""


def _present(values: pd.Series) -> np.ndarray:
    mask = values.notna().to_numpy(copy=True)
    if values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
        stripped = values.astype("str").str.strip()
        mask &= ~stripped.isin(NULL_TEXT).to_numpy(dtype=bool, na_value=False)
    return mask


def _to_utc(values: pd.Series) -> pd.Series:
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC").astype(schema.dtypes()["charge_period_start"])
    if pd.api.types.is_datetime64_dtype(values.dtype):
        return values.dt.tz_localize("UTC").astype(schema.dtypes()["charge_period_start"])
    text = values.map(_date_text, na_action="ignore").astype("str")
    parsed = pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601")
    return parsed.astype(schema.dtypes()["charge_period_start"])


def _date_text(v: Any) -> Any:
    if hasattr(v, "isoformat"):
        text = v.isoformat()
        # A naive datetime is read as UTC.
        return text
    if isinstance(v, str):
        return v.strip()
    return None  # numbers, bools, dicts: not a date


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


def _number_or_nan(v: Any) -> Any:
    if isinstance(v, bool):
        return math.nan
    if isinstance(v, int | float | np.integer | np.floating):
        return v
    if isinstance(v, str):
        s = v.strip().replace(",", "") if v.count(",") and "." in v else v.strip()
        try:
            return float(s)
        except ValueError:
            return math.nan
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
    return str(v)


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
    return pd.DataFrame(cols, index=typed.index)
