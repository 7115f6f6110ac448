"""How much of a commitment is left, and will it be used before the term ends?

:func:`commitment_burndown` follows each commitment day by day over its term, from what
:func:`cfusage.amortize_commitment` allocated to the usage it covered, and projects the days after
the data at the recent drawdown rate.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from ..errors import ArgumentError
from ..io import DateLike, utc_day
from ._amortization import amortize_commitment

__all__ = ["commitment_burndown"]

_DAY = pd.Timedelta(days=1)
#: Days of actual drawdown the projection's rate is the average of.
RATE_WINDOW_DAYS = 30


def commitment_burndown(
    data: pd.DataFrame,
    *,
    commitments: pd.DataFrame,
    as_of: DateLike | None = None,
    rate_window: int = RATE_WINDOW_DAYS,
) -> pd.DataFrame:
    """The balance left on each commitment, day by day over its term, actual then projected.

    Definitions (per commitment, per day ``d`` of ``[term_start, term_end)``):

    - ``drawn``: what the commitment covered on ``d``, Σ ``amortized_commitment_cost`` of its
      Used rows charged that day (:func:`cfusage.amortize_commitment`, so both always agree).
    - ``lost``: for a use-it-or-lose-it commitment, the day's share no usage absorbed (its Unused
      row); 0 for a prepaid balance, which loses nothing until the term ends.
    - ``balance``: ``amount - Σ drawn - Σ lost`` through the end of ``d``: what is left to use.
    - Days after ``as_of`` (default: the last day of usage in the data, in the term) are
      *projected* (``projected`` True): each draws the ``drawdown_rate``, the average daily
      ``drawn`` over the last ``rate_window`` actual days, capped by the balance for a prepaid
      balance and by the day's share (``amount / term days``) for use-it-or-lose-it, whose rest
      of the share is ``lost``.
    - ``projected_unused``: the balance left at the term's end (prepaid balance) or Σ ``lost``
      over the term (use-it-or-lose-it); ``exhausted_on``: the first day the balance reaches 0
      before the term ends (NaT if it does not).

    An unknown cost stays unknown: from the first day whose draw is NA, ``balance`` and every
    figure built on it are NA (``unknown_days`` counts the days with an unknown draw).

    Parameters
    ----------
    data : pandas.DataFrame
        A typed usage frame (the same one :func:`cfusage.amortize_commitment` takes).
    commitments : pandas.DataFrame
        One row per commitment, as for :func:`cfusage.amortize_commitment` (``kind`` included).
    as_of : date-like, optional
        The last actual day; later days are projected.
    rate_window : int, default 30
        Actual days whose average draw is the projected daily rate.

    Returns
    -------
    pandas.DataFrame
        One row per commitment x day of the term: ``commitment_id``, ``kind``, ``period`` (the
        day, UTC), ``billing_currency``, ``amount``, ``drawn``, ``lost``, ``cumulative_drawn``,
        ``balance``, ``projected``; then, the same on every row of a commitment,
        ``drawdown_rate``, ``projected_balance_at_end``, ``projected_unused``,
        ``exhausted_on``, ``unknown_days``.

    Examples
    --------
    >>> import pandas as pd
    >>> usage = pd.DataFrame({
    ...     "charge_period_start": pd.to_datetime(["2026-01-01", "2026-01-02"], utc=True),
    ...     "charge_category": pd.Categorical(["Usage", "Usage"]),
    ...     "billing_currency": pd.Categorical(["USD", "USD"]),
    ...     "contracted_cost": pd.array([3.0, 5.0], dtype="Float64"),
    ... })
    >>> commitment = pd.DataFrame({
    ...     "commitment_id": ["c1"], "kind": ["prepaid_balance"], "amount": [20.0],
    ...     "currency": ["USD"],
    ...     "term_start": pd.to_datetime(["2026-01-01"], utc=True),
    ...     "term_end": pd.to_datetime(["2026-01-05"], utc=True),
    ... })
    >>> b = commitment_burndown(usage, commitments=commitment)
    >>> b[["drawn", "balance", "projected"]].values.tolist()
    [[3.0, 17.0, False], [5.0, 12.0, False], [4.0, 8.0, True], [4.0, 4.0, True]]
    >>> float(b["projected_unused"].iloc[0])
    4.0
    """
    if rate_window < 1:
        raise ArgumentError(f"rate_window={rate_window!r} must be at least 1 day")
    allocated = amortize_commitment(data, commitments=commitments)
    used = allocated[allocated["commitment_status"].astype("str") == "Used"]
    unused = allocated[allocated["commitment_status"].astype("str") == "Unused"]
    last_day = _last_usage_day(data)
    through = utc_day(as_of, "as_of") if as_of is not None else last_day
    parts = [
        _one(c, used, unused, through, rate_window) for c in commitments.itertuples(index=False)
    ]
    if not parts:
        return pd.DataFrame(columns=_COLUMNS)
    return pd.concat(parts, ignore_index=True)[_COLUMNS]


_COLUMNS = [
    "commitment_id",
    "kind",
    "period",
    "billing_currency",
    "amount",
    "drawn",
    "lost",
    "cumulative_drawn",
    "balance",
    "projected",
    "drawdown_rate",
    "projected_balance_at_end",
    "projected_unused",
    "exhausted_on",
    "unknown_days",
]


def _last_usage_day(data: pd.DataFrame) -> dt.date | None:
    starts = data["charge_period_start"].dropna()
    return None if starts.empty else starts.max().tz_convert("UTC").date()


def _daily(rows: pd.DataFrame, cid: str, column: str, days: pd.DatetimeIndex) -> np.ndarray:
    """Σ ``column`` per day over ``days`` for commitment ``cid``: NaN where a value is NA."""
    mine = rows[rows["commitment_id"].astype("str") == cid]
    if mine.empty:
        return np.zeros(len(days))
    day = mine["charge_period_start"].dt.tz_convert("UTC").dt.floor("D")
    values = mine[column].astype("Float64")
    known = values.notna().groupby(day).all()
    sums = values.fillna(0.0).groupby(day).sum().astype("float64").where(known)
    return sums.reindex(days, fill_value=0.0).to_numpy(dtype="float64", na_value=np.nan).copy()


def _one(
    c: object, used: pd.DataFrame, unused: pd.DataFrame, through: dt.date | None, window: int
) -> pd.DataFrame:
    cid = str(c.commitment_id)  # type: ignore[attr-defined]
    kind = str(c.kind)  # type: ignore[attr-defined]
    amount = float(c.amount)  # type: ignore[attr-defined]
    start = pd.Timestamp(c.term_start).tz_convert("UTC").floor("D")  # type: ignore[attr-defined]
    end = pd.Timestamp(c.term_end).tz_convert("UTC")  # type: ignore[attr-defined]
    days = pd.date_range(start, end - pd.Timedelta(microseconds=1), freq="D")
    drawn = _daily(used, cid, "amortized_commitment_cost", days)
    lost = (
        _daily(unused, cid, "amortized_commitment_cost", days)
        if kind == "use_it_or_lose_it"
        else np.zeros(len(days))
    )
    actual = np.array([through is not None and d.date() <= through for d in days], dtype=bool)
    unknown_days = int(np.isnan(drawn[actual]).sum() + np.isnan(lost[actual]).sum())
    recent = drawn[actual][-window:]
    rate = float(np.mean(recent)) if len(recent) and not np.isnan(recent).any() else np.nan
    share = amount / max(len(days), 1)
    for i in np.flatnonzero(~actual):
        spent = np.nansum(drawn[:i]) + np.nansum(lost[:i])
        left = amount - spent
        if kind == "use_it_or_lose_it":
            drawn[i] = min(rate, share)
            lost[i] = share - drawn[i]
        else:
            drawn[i] = min(rate, max(left, 0.0))
    # NA propagates: an unknown draw makes every later balance unknown
    cumulative = np.cumsum(drawn)
    balance = amount - cumulative - np.cumsum(lost)
    if np.isnan(rate):
        drawn[~actual] = np.nan
        balance[~actual] = np.nan
    gone = np.flatnonzero(balance <= 1e-9)
    exhausted = days[gone[0]] if len(gone) and gone[0] < len(days) - 1 else pd.NaT
    at_end = balance[-1] if len(balance) else np.nan
    projected_unused = float(np.sum(lost)) if kind == "use_it_or_lose_it" else at_end
    currency = str(c.currency)  # type: ignore[attr-defined]
    return pd.DataFrame(
        {
            "commitment_id": cid,
            "kind": kind,
            "period": days,
            "billing_currency": pd.Categorical([currency] * len(days)),
            "amount": pd.array([amount] * len(days), dtype="Float64"),
            "drawn": pd.array(drawn, dtype="Float64"),
            "lost": pd.array(lost, dtype="Float64"),
            "cumulative_drawn": pd.array(cumulative, dtype="Float64"),
            "balance": pd.array(balance, dtype="Float64"),
            "projected": ~actual,
            "drawdown_rate": pd.array([rate] * len(days), dtype="Float64"),
            "projected_balance_at_end": pd.array([at_end] * len(days), dtype="Float64"),
            "projected_unused": pd.array([projected_unused] * len(days), dtype="Float64"),
            "exhausted_on": pd.Series([exhausted] * len(days), dtype="datetime64[us, UTC]"),
            "unknown_days": unknown_days,
        }
    )
