"""What every helper shares: ``by=`` dimensions, ``freq=`` grains, currencies, required columns.

Helpers (discounts, amortization, variance, anomalies, pricing) call these so that a dimension
alias, a grain or a currency rule means the same thing everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import pandas as pd

from ..errors import ArgumentError, CurrencyError, MissingColumnsError
from ..schema import DIMENSIONS, FREQS

#: What ``by=`` takes: nothing, one dimension, or several in order.
By: TypeAlias = str | Sequence[str] | None

CURRENCY = "billing_currency"
PERIOD = "period"
#: How many input rows a row of a reduced frame stands for (:mod:`cfusage.analysis._engine`).
ROWS = "_cfusage_rows"

_COST_HINT = (
    "The organization endpoint may return usage without costs: fetch rated costs from the "
    "account-level endpoint (Client.account_costs, POST with Metric: cost), or estimate them from a "
    "price book with cfusage.rate(df, price_book=cfusage.load_price_book())."
)


@dataclass(frozen=True)
class Grouping:
    """``by=`` and ``freq=`` resolved once: what every helper groups on.

    Attributes
    ----------
    frame : pandas.DataFrame
        The input with what grouping needs added (a ``period`` column when there is a grain,
        ``tag:KEY`` columns); never the caller's frame mutated.
    dimensions : tuple of str
        The ``by=`` columns, in the order given (aliases such as ``"product"`` resolved).
    freq : str or None
        The canonical grain (``"D"``, ``"W"``, ``"MS"``, ``"QS"``, ``"billing_period"``), or None.
    keys : tuple of str
        The result's key columns, always in this order: ``period`` (when there is a grain), the
        dimensions in the order given, then ``billing_currency`` (when the frame has it, so that
        currencies are never added together).
    """

    frame: pd.DataFrame
    dimensions: tuple[str, ...]
    freq: str | None
    keys: tuple[str, ...]


def grouping(
    data: pd.DataFrame,
    by: By = None,
    freq: str | None = None,
    *,
    column: str = "charge_period_start",
) -> Grouping:
    """Resolve ``by=`` and ``freq=`` into a :class:`Grouping` (the one place helpers do it).

    ``freq=None`` means no period key. ``column`` is the timestamp floored to the grain.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({
    ...     "charge_period_start": pd.to_datetime(["2026-01-05", "2026-02-05"], utc=True),
    ...     "x_product_family_name": ["Workers", "R2"],
    ...     "billing_currency": ["USD", "USD"],
    ... })
    >>> grouping(df, by="product", freq="MS").keys
    ('period', 'x_product_family_name', 'billing_currency')
    """
    grain = freq_of(freq) if freq is not None else None
    frame, dims = resolve_by(data, by)
    if grain is not None:
        frame = add_period(frame, grain, column)
    keys = ([PERIOD] if grain is not None else []) + group_keys(frame, dims)
    return Grouping(
        frame=sorted_categories(frame, keys), dimensions=tuple(dims), freq=grain, keys=tuple(keys)
    )


def sorted_categories(df: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """``df`` with the categories of ``columns`` in ascending order (the one key order).

    pandas orders a categorical key by its categories, which a loader lists in order of
    appearance; sorting them makes every helper's rows come out in ascending key order, the order
    an engine's sorted result has too (see :mod:`cfusage.analysis._engine`).
    """
    fixed = {}
    for c in columns:
        s = df[c]
        if (
            isinstance(s.dtype, pd.CategoricalDtype)
            and not s.cat.categories.is_monotonic_increasing
        ):
            fixed[c] = s.cat.reorder_categories(sorted(s.cat.categories, key=str))
    return df.assign(**fixed) if fixed else df


def resolve_by(df: pd.DataFrame, by: By) -> tuple[pd.DataFrame, list[str]]:
    """Turn ``by=`` into column names, adding ``tag:KEY`` columns when asked for.

    Returns the (possibly extended) frame and the list of grouping columns. ``None`` means no
    dimension. Raises :class:`~cfusage.ArgumentError` naming the unknown dimension and the ones available.
    """
    if by is None:
        return df, []
    names = [by] if isinstance(by, str) else list(by)
    cols: list[str] = []
    added: dict[str, pd.Series] = {}
    for name in names:
        if name.startswith("tag:"):
            key = name[4:]
            tags = df["tags"] if "tags" in df.columns else pd.Series(pd.NA, index=df.index)
            added[name] = tags.map(
                lambda t, k=key: str(t[k]) if isinstance(t, dict) and k in t else pd.NA
            ).astype("category")
            cols.append(name)
            continue
        col = DIMENSIONS.get(name, name)
        if col not in df.columns:
            known = sorted(set(DIMENSIONS) | {c for c in df.columns if not _is_numeric(df[c])})
            raise ArgumentError(
                f"by={name!r} is not a dimension of this frame; use one of {known}, or 'tag:KEY'"
            )
        cols.append(col)
    if added:
        df = df.assign(**added)
    return df, list(dict.fromkeys(cols))


def freq_of(freq: str) -> str:
    """Canonical grain for a ``freq=`` alias (``"D"``, ``"W"``, ``"MS"``, ``"QS"``, ``"billing_period"``)."""
    try:
        return FREQS[freq]
    except KeyError:
        raise ArgumentError(f"freq={freq!r} is not a grain; use one of {sorted(FREQS)}") from None


def floor_to(ts: pd.Series | pd.DatetimeIndex, freq: str) -> pd.Series:
    """Floor UTC timestamps to the start of their period (``D``, ``W`` = Monday, ``MS``, ``QS``).

    Vectorised through numpy's datetime64 units; keeps the tz-aware UTC dtype.
    """
    freq = freq_of(freq)
    s = pd.Series(ts) if not isinstance(ts, pd.Series) else ts
    naive = s.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
    if freq == "D":
        out = naive.astype("datetime64[D]")
    elif freq == "W":
        days = naive.astype("datetime64[D]")
        # 1970-01-01 was a Thursday: shift so that weeks start on Monday.
        out = days - ((days.astype(np.int64) + 3) % 7).astype("timedelta64[D]")
    elif freq == "MS":
        out = naive.astype("datetime64[M]")
    elif freq == "QS":
        months = naive.astype("datetime64[M]").astype(np.int64)
        out = (months - months % 3).astype("datetime64[M]")
    else:
        raise ArgumentError("billing_period has no fixed calendar; group on billing_period_start")
    result = pd.Series(out.astype("datetime64[us]"), index=s.index).dt.tz_localize("UTC")
    return result.where(s.notna())


def add_period(df: pd.DataFrame, freq: str, column: str = "charge_period_start") -> pd.DataFrame:
    """Return ``df`` with a ``period`` column: the start of each row's period at grain ``freq``."""
    freq = freq_of(freq)
    if freq == "billing_period":
        require(df, ["billing_period_start"], "grouping by billing period")
        return df.assign(**{PERIOD: df["billing_period_start"]})
    return df.assign(**{PERIOD: floor_to(df[column], freq)})


def require(
    df: pd.DataFrame, columns: Sequence[str], what: str, *, allow_all_na: bool = False
) -> None:
    """Raise :class:`~cfusage.MissingColumnsError` if ``df`` lacks ``columns`` (or holds only NA).

    Parameters
    ----------
    what : str
        What needed them, for the message ("discounts").
    """
    missing = [c for c in columns if c not in df.columns]
    empty = [
        c
        for c in columns
        if c in df.columns and not allow_all_na and len(df) and not df[c].notna().any()
    ]
    if not missing and not empty:
        return
    parts = []
    if missing:
        parts.append(f"lacks {missing}")
    if empty:
        parts.append(f"has only missing values (NA) in {empty}")
    hint = _COST_HINT if any(c.endswith("cost") or "price" in c for c in missing + empty) else ""
    raise MissingColumnsError(
        missing + empty, f"{what} needs columns the frame {' and '.join(parts)}. {hint}".strip()
    )


def convert_currency(
    df: pd.DataFrame,
    rates: Mapping[str, float] | None,
    columns: Sequence[str],
    *,
    to: str | None = None,
) -> pd.DataFrame:
    """Convert cost ``columns`` into one currency with a user-supplied rate table.

    ``rates`` maps a currency code to the value of one unit in the target currency
    (``{"EUR": 1.08}`` with ``to="USD"``). With ``rates=None`` the frame is returned unchanged and
    helpers keep ``billing_currency`` as a grouping key, so different currencies are never summed.
    Raises :class:`~cfusage.CurrencyError` naming a currency that has no rate.
    """
    if rates is None or CURRENCY not in df.columns:
        return df
    target = to or "converted"
    cur = df[CURRENCY].astype("str")
    present = set(cur.dropna().unique())
    missing = sorted(present - set(rates) - {target})
    if missing:
        raise CurrencyError(f"no exchange rate for {missing}; rates were given for {sorted(rates)}")
    factor = cur.map(lambda c: 1.0 if c == target else rates.get(c, np.nan)).astype("Float64")
    out = {c: df[c] * factor for c in columns if c in df.columns}
    out[CURRENCY] = pd.Series(target, index=df.index, dtype="category")
    return df.assign(**out)


def group_keys(df: pd.DataFrame, cols: Sequence[str]) -> list[str]:
    """Grouping keys with ``billing_currency`` always among them, so currencies never mix."""
    keys = list(cols)
    if CURRENCY in df.columns and CURRENCY not in keys:
        keys.append(CURRENCY)
    return keys


def safe_ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    """``num / den`` as nullable floats, NA where the denominator is 0 or NA (never inf)."""
    num = num.astype("Float64")
    den = den.astype("Float64")
    return (num / den.where(den != 0)).astype("Float64")


def row_weights(df: pd.DataFrame) -> np.ndarray:
    """How many input rows each row stands for: ``ROWS`` on a reduced frame, else 1 each.

    Every row count a helper reports adds these up, so that a helper run on an engine's reduced
    frame (:mod:`cfusage.analysis._engine`) counts the rows of the input, not of the reduction.
    """
    if ROWS in df.columns:
        return df[ROWS].to_numpy(dtype="int64")
    return np.ones(len(df), dtype="int64")


def _is_numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s.dtype) and not isinstance(s.dtype, pd.CategoricalDtype)


def usage_mask(df: pd.DataFrame) -> np.ndarray:
    """Rows whose ``charge_category`` is Usage or missing (Cloudflare sends only Usage)."""
    if "charge_category" not in df.columns:
        return np.ones(len(df), dtype=bool)
    return text_is(df["charge_category"], "usage") | df["charge_category"].isna().to_numpy()


def text_is(s: pd.Series, value: str) -> np.ndarray:
    """``s == value`` ignoring case, without converting every row of a categorical to text."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        hits = [c for c in s.cat.categories if str(c).casefold() == value]
        return s.isin(hits).to_numpy(dtype=bool)
    return (s.astype("str").str.casefold() == value).to_numpy(dtype=bool, na_value=False)
