"""The row rules shared by :func:`cfusage.to_frame` and :func:`cfusage.validate`.

A rule returns *failure cases*: one row per failing cell with ``row`` (position), ``field``,
``value``, ``check`` and ``reason``. The loader rejects the rows they name; ``validate`` reports
them as errors.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import schema


def _error_cases(typed: pd.DataFrame) -> pd.DataFrame:
    """Rows that cannot be used: required fields missing, end <= start, infinite money.

    ``row`` is the position in ``typed``. Shared with :func:`cfusage.to_frame`.
    """
    found: list[pd.DataFrame] = []
    for name in ("charge_period_start", "charge_period_end"):
        missing = typed[name].isna().to_numpy()
        if missing.any():
            found.append(
                _cases(missing, name, typed[name], "required field is missing", "required")
            )
    metric_missing = (
        typed["x_billable_metric_id"].isna() & typed["x_billable_metric_name"].isna()
    ).to_numpy()
    if metric_missing.any():
        found.append(
            _cases(
                metric_missing,
                "x_billable_metric_id",
                typed["x_billable_metric_id"],
                "required field is missing (and no x_billable_metric_name either)",
                "required",
            )
        )
    start, end = typed["charge_period_start"], typed["charge_period_end"]
    backwards = (end <= start).to_numpy(dtype=bool, na_value=False)
    if backwards.any():
        found.append(
            _cases(
                backwards,
                "charge_period_end",
                end,
                "charge period ends at or before it starts",
                "period",
            )
        )
    for name in schema.MONEY:
        inf = np.isinf(typed[name].to_numpy(dtype=float, na_value=np.nan))
        if inf.any():
            found.append(_cases(inf, name, typed[name], "money cannot be infinite", "finite"))
    if not found:
        return _empty_failures()
    return pd.concat(found, ignore_index=True)


def _without_repeats(rule_cases: pd.DataFrame, type_cases: pd.DataFrame) -> pd.DataFrame:
    """Rule cases on a cell that already failed typing say nothing new: drop them."""
    if type_cases.empty or rule_cases.empty:
        return rule_cases
    seen = pd.MultiIndex.from_frame(type_cases[["row", "field"]].astype({"row": "int64"}))
    mine = pd.MultiIndex.from_frame(rule_cases[["row", "field"]].astype({"row": "int64"}))
    return rule_cases.loc[~mine.isin(seen)]


def _cases(
    mask_or_rows: np.ndarray, field: str, values: pd.Series, reason: str, check: str
) -> pd.DataFrame:
    """Failure cases for the rows picked by a boolean mask (or positions)."""
    rows = np.flatnonzero(mask_or_rows) if mask_or_rows.dtype == bool else mask_or_rows
    picked = values.reset_index(drop=True).iloc[rows]
    return pd.DataFrame(
        {
            "row": rows.astype("int64"),
            "field": field,
            "value": pd.Series(picked.tolist(), dtype=object),
            "check": check,
            "reason": reason,
        }
    )


def _empty_failures() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "row": pd.Series(dtype="int64"),
            "field": pd.Series(dtype=object),
            "value": pd.Series(dtype=object),
            "check": pd.Series(dtype=object),
            "reason": pd.Series(dtype=object),
        }
    )
