"""The row rules shared by :func:`cfusage.to_frame` and :func:`cfusage.validate`.

A rule returns *failure cases*: one row per failing cell with ``row`` (position), ``field``,
``value``, ``check`` and ``reason``. The loader rejects the rows they name; ``validate`` reports
them as errors.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from .. import schema

#: The provider spelling that marks a Cloudflare row (compared case-insensitively).
CLOUDFLARE = "Cloudflare"


def _provider_key(typed: pd.DataFrame) -> pd.Series:
    """Each row's provider, lower-cased; ``""`` where the row names none."""
    return pd.Series(_text_key(typed["service_provider_name"]), index=typed.index, dtype=object)


def _text_key(column: pd.Series) -> np.ndarray:
    """Each row's text stripped and lower-cased (``""`` where missing), as an object array.

    A categorical column is keyed through its categories (a few values), not row by row.
    """
    if isinstance(column.dtype, pd.CategoricalDtype):
        keys = [str(c).strip().lower() for c in column.cat.categories]
        return np.array([*keys, ""], dtype=object)[column.cat.codes.to_numpy()]  # -1: missing
    text = column.astype("str").str.strip().str.lower().fillna("")
    return text.to_numpy(dtype=object)


def _text_in(column: pd.Series, values: Iterable[str], missing: bool) -> np.ndarray:
    """Which rows' text is one of ``values``; ``missing`` for rows with no value."""
    values = list(values)
    if isinstance(column.dtype, pd.CategoricalDtype):
        hit = pd.Index(column.cat.categories.astype("str")).isin(values)
        return np.append(hit, missing)[column.cat.codes.to_numpy()]
    text = column.astype("str")
    out = text.isin(values).to_numpy(dtype=bool, copy=True)
    out[text.isna().to_numpy()] = missing
    return out


def _publishers(frames: list[pd.DataFrame]) -> dict[str, frozenset[str]]:
    """For each column with a "publishing" requirement: the providers that carry it somewhere.

    A provider publishes a column (FOCUS: SkuId "MUST be present when the provider publishes
    price lists") when at least one of its rows in ``frames`` has a value there.
    """
    out: dict[str, frozenset[str]] = {}
    keys: dict[int, np.ndarray] = {}  # each frame's provider keys, computed once
    for spec in schema.COLUMNS:
        if not any(r.providers == "publishing" for r in spec.required):
            continue
        found: set[str] = set()
        for number, typed in enumerate(frames):
            if spec.python in typed.columns and len(typed):
                has = typed[spec.python].notna().to_numpy()
                if number not in keys:
                    keys[number] = _text_key(typed["service_provider_name"])
                found.update(keys[number][has].tolist())
        out[spec.python] = frozenset(found)
    return out


class _Rows:
    """What the requirements ask of each row of one frame, each computed once (on first use)."""

    def __init__(self, typed: pd.DataFrame) -> None:
        self.typed = typed
        self._provider: np.ndarray | None = None
        self._correction: np.ndarray | None = None
        self._category: dict[tuple[str, ...], np.ndarray] = {}

    def provider(self) -> np.ndarray:
        if self._provider is None:
            self._provider = _text_key(self.typed["service_provider_name"])
        return self._provider

    def correction(self) -> np.ndarray:
        if self._correction is None:
            self._correction = _text_in(self.typed["charge_class"], ["Correction"], False)
        return self._correction

    def category_in(self, categories: tuple[str, ...]) -> np.ndarray:
        """Rows whose ChargeCategory is one of ``categories`` (no ChargeCategory: ``Usage``)."""
        if categories not in self._category:
            column = self.typed["charge_category"]
            self._category[categories] = _text_in(column, categories, "Usage" in categories)
        return self._category[categories]


def _covered(
    typed: pd.DataFrame,
    rule: schema.Requirement,
    publishers: frozenset[str] | None,
    rows: _Rows | None = None,
) -> np.ndarray:
    """The rows a requirement covers (see :class:`cfusage.schema.Requirement`)."""
    rows = rows if rows is not None else _Rows(typed)
    covered = np.ones(len(typed), dtype=bool)
    if rule.categories:
        covered &= rows.category_in(rule.categories)
    if not rule.corrections:
        covered &= ~rows.correction()
    if rule.providers == "cloudflare":
        covered &= rows.provider() == CLOUDFLARE.lower()
    elif rule.providers == "publishing":
        covered &= pd.Index(rows.provider()).isin(sorted(publishers or ()))
    return covered


def _error_cases(
    typed: pd.DataFrame, publishers: dict[str, frozenset[str]] | None = None
) -> pd.DataFrame:
    """Rows that cannot be used: a required field missing, end <= start, infinite money.

    "Required" is each column's :attr:`cfusage.schema.Column.required` (FOCUS's conditional
    nullability: SkuId on Usage and Purchase rows that are not corrections, from a provider that
    publishes SKUs, and on every Cloudflare row; never on Tax, Credit or correction rows of other
    providers). ``publishers`` says which providers publish which column; by default it is read
    from ``typed`` itself (the loader passes what it saw across all its sources). ``row`` is the
    position in ``typed``. Shared with :func:`cfusage.to_frame`.
    """
    if publishers is None:
        publishers = _publishers([typed])
    found: list[pd.DataFrame] = []
    rows = _Rows(typed)
    for spec in schema.COLUMNS:
        if not spec.required or spec.python not in typed.columns:
            continue
        missing = typed[spec.python].isna().to_numpy(copy=True)
        for rule in spec.required:
            if not missing.any():
                break
            hit = missing & _covered(typed, rule, publishers.get(spec.python), rows)
            if hit.any():
                found.append(
                    _cases(
                        hit,
                        spec.python,
                        typed[spec.python],
                        f"required field is missing ({rule.describe()})",
                        "required",
                    )
                )
            missing &= ~hit  # one case per cell, from the first rule that covers it
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


def _null_for_cases(typed: pd.DataFrame) -> pd.DataFrame:
    """Values FOCUS says MUST be null on a row's ChargeCategory (SkuId on Tax): warnings."""
    found: list[pd.DataFrame] = []
    category = typed["charge_category"].astype("str")
    for spec in schema.COLUMNS:
        if not spec.null_for or spec.python not in typed.columns:
            continue
        hit = (category.isin(spec.null_for) & typed[spec.python].notna()).to_numpy(
            dtype=bool, na_value=False
        )
        if hit.any():
            found.append(
                _cases(
                    hit,
                    spec.python,
                    typed[spec.python],
                    f"FOCUS: {spec.focus or spec.wire} must be null on "
                    + " or ".join(spec.null_for)
                    + " rows",
                    "must_be_null",
                )
            )
    return pd.concat(found, ignore_index=True) if found else _empty_failures()


def _row_failures(
    typed: pd.DataFrame,
    type_cases: pd.DataFrame,
    publishers: dict[str, frozenset[str]] | None = None,
) -> pd.DataFrame:
    """Every reason a row of ``typed`` cannot be used: its typing failures, then the row rules.

    A "row" that is not a record at all (check ``record``) gets no rule cases on top.
    """
    rules = _without_repeats(_error_cases(typed, publishers), type_cases)
    if len(type_cases) and len(rules):
        not_records = type_cases.loc[type_cases["check"] == "record", "row"]
        rules = rules.loc[~rules["row"].isin(not_records)]
    if type_cases.empty:
        return rules
    if rules.empty:
        return type_cases
    return pd.concat([type_cases, rules], ignore_index=True)


def _without_repeats(rule_cases: pd.DataFrame, type_cases: pd.DataFrame) -> pd.DataFrame:
    """Rule cases on a cell that already failed typing say nothing new: drop them."""
    if type_cases.empty or rule_cases.empty:
        return rule_cases
    seen = pd.MultiIndex.from_frame(type_cases[["row", "field"]].astype({"row": "int64"}))
    mine = pd.MultiIndex.from_frame(rule_cases[["row", "field"]].astype({"row": "int64"}))
    return rule_cases.loc[~mine.isin(seen)]


def _cases(
    mask_or_rows: np.ndarray,
    field: str,
    values: pd.Series,
    reason: str | np.ndarray,
    check: str,
) -> pd.DataFrame:
    """Failure cases for the rows picked by a boolean mask (or positions); ``reason`` is one text
    or one per picked row."""
    rows = np.flatnonzero(mask_or_rows) if mask_or_rows.dtype == bool else mask_or_rows
    picked = values.reset_index(drop=True).iloc[rows]
    return pd.DataFrame(
        {
            "row": rows.astype("int64"),
            "field": field,
            "value": pd.Series([_showable(v) for v in picked.tolist()], dtype=object),
            "check": check,
            "reason": reason,
        }
    )


def _showable(v: object) -> object:
    """The value itself, unless it cannot even be shown (nested too deeply, an int too long)."""
    if isinstance(v, list | dict | tuple | int) and not isinstance(v, bool):
        try:
            repr(v)
        except (RecursionError, ValueError):
            return f"<{type(v).__name__} too deeply nested or too long to show>"
    return v


def _empty_failures() -> pd.DataFrame:
    """No failure cases (a copy: building the frame costs more than copying it)."""
    return _EMPTY_FAILURES.copy()


_EMPTY_FAILURES = pd.DataFrame(
    {
        "row": pd.Series(dtype="int64"),
        "field": pd.Series(dtype=object),
        "value": pd.Series(dtype=object),
        "check": pd.Series(dtype=object),
        "reason": pd.Series(dtype=object),
    }
)
