"""Cost variance: period over period, price / volume / mix, budgets, top movers.

Every function takes a typed usage frame (:func:`cfusage.to_frame`) first, a ``by=`` dimension
(``None``, a name or a list; the aliases of :data:`cfusage.analysis._grouping.DIMENSIONS` such as
``"product"``, ``"account"``, ``"metric"``, or ``"tag:KEY"``) and the cost column to analyse
(``value=``, default ``effective_cost``), and returns a tidy frame: the by-columns, then
``billing_currency`` (costs in different currencies are never added), then the values.

Missing costs stay missing. A frame without the value column, or with only NA in it, raises
:class:`~cfusage.MissingColumnsError`. Rows whose value is NA are left out of every sum: the
functions warn (:class:`UserWarning`) with their number, and the comparison functions count them
per group in ``missing_value_rows``. A group that has no rows at all in a period had no usage
there, and its cost for that period is a true 0 (this is how ``new`` and ``retired`` groups arise).

The arithmetic follows ``shared/reference/focus.md`` ("Cost variance"); each function's docstring
states its formulas and the decisions taken where the reference leaves a choice.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import CurrencyError
from ..io import utc_day
from ._grouping import (
    CURRENCY,
    DIMENSIONS,
    PERIOD,
    By,
    add_period,
    floor_to,
    freq_of,
    group_keys,
    require,
    resolve_by,
    safe_ratio,
)

__all__ = [
    "budget_status",
    "budget_variance",
    "period_over_period",
    "price_volume_mix",
    "top_movers",
]

#: What a base or current period may be given as.
PeriodSpec = str | pd.Period | tuple[Any, Any]
DateLike = str | dt.date | dt.datetime | pd.Timestamp

_START = "charge_period_start"
_DAY = pd.Timedelta(days=1)
_CALENDAR = {"D": "D", "W": "W-MON", "MS": "MS", "QS": "QS-JAN"}
_STEP: dict[str, pd.DateOffset | pd.Timedelta] = {
    "D": pd.Timedelta(days=1),
    "W": pd.Timedelta(days=7),
    "MS": pd.DateOffset(months=1),
    "QS": pd.DateOffset(months=3),
}


# --------------------------------------------------------------------------------------------
# period over period
# --------------------------------------------------------------------------------------------


def period_over_period(
    data: pd.DataFrame,
    *,
    by: By = None,
    freq: str = "MS",
    value: str = "effective_cost",
    as_of: DateLike | None = None,
) -> pd.DataFrame:
    """Compare each period's cost with the period before, per group.

    A period that is not over yet is compared like for like: month-to-date against the same
    number of days at the start of the previous month. The last fully delivered day is
    ``as_of`` (the argument, else ``data.attrs["cfusage"]["complete_through"]``, else the
    last day that has data); rows after it are left out, since the API has not finished
    delivering them. Only the last period can be partial.

    Parameters
    ----------
    data : pandas.DataFrame
        A typed usage frame.
    freq : str, default "MS"
        Grain: ``"D"``, ``"W"`` (weeks start on Monday), ``"MS"`` (month), ``"QS"`` (quarter) or
        ``"billing_period"`` (groups on ``billing_period_start``); aliases such as ``"month"``
        work too.
    by : str, list of str or None
        Dimensions to compare separately (``"product"``, ``"account"``, ``"tag:team"``...).
    value : str, default "effective_cost"
        The cost column to compare.
    as_of : date-like, optional
        Last day fully delivered ("complete through"). Overrides ``data.attrs["cfusage"]["complete_through"]``.

    Returns
    -------
    pandas.DataFrame
        One row per group x period, sorted by group then period, with columns: the by-columns,
        ``billing_currency``, ``period`` (start of the period, UTC), ``previous`` (cost of the
        previous period, over ``previous_days_compared`` days), ``current``, ``change``
        (``current - previous``), ``relative_change`` (``change / |previous|``; NA when
        ``previous`` is 0, never infinite), ``status`` (``"new"``: no rows in the previous
        period, ``previous`` is 0; ``"retired"``: no rows in this period, ``current`` is 0;
        ``"continuing"``; NA for the first period of the frame, which has nothing to compare
        with, so ``previous`` and ``change`` are NA there), ``partial`` (the period is not
        over), ``days_compared`` (days of this period that were compared),
        ``previous_days_compared`` (days of the previous period that were compared:
        ``min(days_compared, its length)`` for a partial period, else its full length) and
        ``missing_value_rows`` (rows of the two compared spans whose ``value`` is NA and so is
        in neither sum). ``result.attrs["cfusage"]`` records ``complete_through``, ``freq`` and
        ``value``.

    Raises
    ------
    MissingColumnsError
        If ``value`` or ``charge_period_start`` is absent or only NA.
    ValueError
        For an unknown ``freq`` or ``by`` dimension.

    Examples
    --------
    >>> import pandas as pd
    >>> import cfusage.analysis._variance as v
    >>> data = pd.DataFrame({
    ...     "charge_period_start": pd.to_datetime(
    ...         ["2026-01-01", "2026-01-02", "2026-02-01", "2026-02-02"], utc=True),
    ...     "effective_cost": pd.array([1.0, 2.0, 4.0, 5.0], dtype="Float64"),
    ...     "billing_currency": pd.Categorical(["USD"] * 4),
    ... })
    >>> r = v.period_over_period(data, as_of="2026-02-28")
    >>> r[["period", "previous", "current", "change", "status", "partial"]]
                         period  previous  current  change      status  partial
    0 2026-01-01 00:00:00+00:00      <NA>      3.0    <NA>         NaN    False
    1 2026-02-01 00:00:00+00:00       3.0      9.0     6.0  continuing    False

    Without ``as_of`` the data ends on 2 February: February is month-to-date and is
    compared with 1-2 January.

    >>> v.period_over_period(data)[["previous", "current", "partial", "days_compared"]].iloc[1:]
       previous  current  partial  days_compared
    1       3.0      9.0     True              2
    """
    grain = freq_of(freq)
    d, _cols, keys = _prepare(data, by, value, "period_over_period")
    d, through = _up_to(data, d, as_of, "as_of", grain, "_day")
    starts, ends = _calendar(d, grain, through)
    cutoff = through + _DAY
    last_start, last_end = starts[-1], ends[-1]
    partial = bool(cutoff < last_end)
    last_days = int(((cutoff if partial else last_end) - last_start) / _DAY)

    position = pd.Series(np.arange(len(starts)), index=starts)
    pos = position.reindex(pd.DatetimeIndex(d[PERIOD])).to_numpy()
    span_days = ((ends - starts) / _DAY).astype(int).to_numpy()

    # What each period is compared with: the whole previous period, except for a partial last
    # period, compared with the same number of days at the start of the one before it.
    d = d.assign(_pos=pos, _na=d[value].isna())
    is_before_last = pos == len(starts) - 2
    offset = ((d["_day"] - d[PERIOD]) / _DAY).to_numpy()
    in_prev_span = ~is_before_last | (offset < last_days)
    agg_keys = [*keys, "_pos"]
    current = _sum_by(d, agg_keys, value)
    previous = _sum_by(d.loc[in_prev_span], agg_keys, value)
    previous["_pos"] = previous["_pos"] + 1
    previous = previous.loc[previous["_pos"] < len(starts)]

    out = current.merge(
        previous, on=agg_keys, how="outer", suffixes=("_cur", "_prev"), indicator=True
    )
    has_cur = (out["_merge"] != "right_only").to_numpy()
    has_prev = (out["_merge"] != "left_only").to_numpy()
    first = (out["_pos"] == 0).to_numpy()
    cur = out["value_cur"].astype("Float64").mask(~has_cur, 0.0)
    prev = out["value_prev"].astype("Float64").mask(~has_prev, 0.0).mask(first, pd.NA)
    status = np.select([first, ~has_prev, ~has_cur], [None, "new", "retired"], "continuing")
    p = out["_pos"].to_numpy()
    is_last = p == len(starts) - 1
    days = np.where(is_last, last_days, span_days[p])
    prev_len = span_days[np.maximum(p - 1, 0)]
    prev_days = np.where(is_last & partial, np.minimum(last_days, prev_len), prev_len)
    result = pd.DataFrame(
        {
            **{k: out[k] for k in keys},
            PERIOD: starts[p],
            "previous": prev,
            "current": cur,
            "change": cur - prev,
            "relative_change": safe_ratio(cur - prev, prev.abs()),
            "status": pd.Categorical(status, categories=["new", "retired", "continuing"]),
            "partial": is_last & partial,
            "days_compared": days.astype("int64"),
            "previous_days_compared": pd.array(prev_days, dtype="Int64"),
            "missing_value_rows": _missing_rows(out, "na_cur", "na_prev"),
        }
    )
    result.loc[first, "previous_days_compared"] = pd.NA
    result = result.sort_values([*keys, PERIOD], ignore_index=True, na_position="last")
    result.attrs["cfusage"] = {
        "complete_through": through.date(),
        "freq": grain,
        "value": value,
    }
    return result


# --------------------------------------------------------------------------------------------
# price / volume / mix
# --------------------------------------------------------------------------------------------


def price_volume_mix(
    data: pd.DataFrame,
    *,
    base: PeriodSpec,
    current: PeriodSpec,
    by: By = None,
    item: str = "x_billable_metric_id",
    value: str = "effective_cost",
    quantity: str = "pricing_quantity",
    detail: bool = False,
) -> pd.DataFrame:
    """Split each group's cost change between two periods into price, volume, mix, new, retired.

    For each item *i* (a billable metric) of a group, with cost ``c`` and quantity ``q`` summed
    over a period, and unit price ``p = c / q``; period 0 is ``base`` and period 1 ``current``:

    - **new**: items with no rows in the base period: ``new = c1``;
      **retired**: items with no rows in the current period: ``retired = -c0``.
    - items with a positive quantity in both periods (**continuing**):
      ``price = (p1 - p0) q1`` (computed as ``c1 - p0 q1``, the same number without the
      rounding of ``p1 q1``), ``volume = (q1 - q0) p0 = p0 q1 - c0``. The group's volume growth
      is the base-priced quantity index ``g = Σ q1 p0 / Σ q0 p0 - 1`` over its continuing items,
      and each item's volume effect splits into a growth part ``c0 g`` (reported as
      ``volume_effect``) and a mix part ``q1 p0 - c0 (1 + g)`` (``mix_effect``; the mix parts
      sum to zero within a group). When ``Σ q0 p0`` is 0 (only free usage in the base), ``g`` is
      taken as 0 and the whole volume effect is mix.

    Decisions where the reference leaves a choice (documented here, tested):

    - an item present in both periods whose quantity is 0 or NA in the base but positive in
      the current period has no base price: it counts as **new**, with effect ``c1 - c0``;
    - the reverse (positive, then 0 or NA) counts as **retired**, effect ``c1 - c0``;
    - an item with no positive quantity in either period (a fee without quantity, a
      correction) puts its whole change ``c1 - c0`` into **price**.

    So for every group ``price + volume + mix + new + retired = current_cost - previous_cost``
    (exactly, up to floating-point rounding). Rows whose ``value`` is NA are left out (their
    quantity too, so unit prices are not diluted) and counted in ``missing_value_rows``.

    Parameters
    ----------
    data : pandas.DataFrame
        A typed usage frame.
    base, current : str, pandas.Period or (start, end)
        The two periods: a period string (``"2026-02"``, ``"2026-Q1"``, ``"2026-02-14"``), a
        :class:`pandas.Period`, or a ``(start, end)`` pair of dates, start inclusive and end
        exclusive (the FOCUS convention). They must not overlap.
    by : str, list of str or None
        Dimensions to analyse separately (e.g. ``"product"``).
    item : str, default "x_billable_metric_id"
        The column (or alias) whose values are the items whose prices and quantities are
        compared; each item must have one pricing unit.
    value : str, default "effective_cost"
        The cost column.
    quantity : str, default "pricing_quantity"
        The quantity column, in the unit ``value`` is priced in.
    detail : bool, default False
        Return one row per group x item (with quantities, unit prices and ``status``) instead of
        one row per group.

    Returns
    -------
    pandas.DataFrame
        Per group: the by-columns, ``billing_currency``, ``previous_cost``, ``current_cost``,
        ``change``, ``price_effect``, ``volume_effect``, ``mix_effect``, ``new_effect``,
        ``retired_effect``, ``missing_value_rows``. With ``detail=True`` also the item column,
        ``status`` (``continuing``, ``new``, ``retired``, ``unpriced``),
        ``previous_quantity``, ``current_quantity``, ``previous_unit_price``,
        ``current_unit_price``. Rows are sorted by group (and item).

    Raises
    ------
    MissingColumnsError
        If ``value``, ``quantity`` or the item column is absent or only NA.
    ValueError
        For unparseable or overlapping periods, or an unknown dimension.

    Examples
    --------
    >>> import pandas as pd
    >>> import cfusage.analysis._variance as v
    >>> data = pd.DataFrame({
    ...     "charge_period_start": pd.to_datetime(["2026-01-05", "2026-02-05"], utc=True),
    ...     "x_billable_metric_id": ["requests", "requests"],
    ...     "pricing_quantity": pd.array([100.0, 150.0], dtype="Float64"),
    ...     "effective_cost": pd.array([10.0, 18.0], dtype="Float64"),
    ... })
    >>> r = v.price_volume_mix(data, base="2026-01", current="2026-02")
    >>> r[["change", "price_effect", "volume_effect", "mix_effect", "new_effect"]]
       change  price_effect  volume_effect  mix_effect  new_effect
    0     8.0           3.0            5.0         0.0         0.0
    """
    d, _cols, keys = _prepare(data, by, value, "price_volume_mix")
    item_col = DIMENSIONS.get(item, item)
    require(d, [quantity, item_col], "price_volume_mix")
    (s0, e0), (s1, e1) = _windows(base, current)
    wide = _two_periods(d, [*keys, item_col], value, (s0, e0), (s1, e1), quantity=quantity)

    c0 = wide["c0"].to_numpy(dtype=float, na_value=0.0)
    c1 = wide["c1"].to_numpy(dtype=float, na_value=0.0)
    q0 = wide["q0"].to_numpy(dtype=float, na_value=np.nan)
    q1 = wide["q1"].to_numpy(dtype=float, na_value=np.nan)
    present0 = wide["n0"].to_numpy(dtype=float, na_value=0.0) > 0
    present1 = wide["n1"].to_numpy(dtype=float, na_value=0.0) > 0
    q0pos, q1pos = q0 > 0, q1 > 0  # NaN compares False
    both = present0 & present1
    continuing = both & q0pos & q1pos
    new = ~present0 | (both & ~q0pos & q1pos)
    retired = ~present1 | (both & q0pos & ~q1pos)
    unpriced = both & ~q0pos & ~q1pos

    with np.errstate(divide="ignore", invalid="ignore"):
        p0 = np.where(continuing, c0 / np.where(q0pos, q0, 1.0), np.nan)
        p1 = np.where(q1pos & present1, c1 / np.where(q1pos, q1, 1.0), np.nan)
    at_base_price = np.where(continuing, p0 * np.where(q1pos, q1, 0.0), 0.0)
    change = c1 - c0
    price = np.where(continuing, c1 - at_base_price, np.where(unpriced, change, 0.0))
    volume = np.where(continuing, at_base_price - c0, 0.0)

    # Group-level quantity index over continuing items.
    gcode = _codes(wide, keys)
    ngroups = int(gcode.max()) + 1 if len(gcode) else 0
    base_sum = np.bincount(gcode, weights=np.where(continuing, c0, 0.0), minlength=ngroups)
    moved_sum = np.bincount(gcode, weights=at_base_price, minlength=ngroups)
    with np.errstate(divide="ignore", invalid="ignore"):
        growth_rate = np.where(base_sum != 0, moved_sum / base_sum - 1.0, 0.0)
    growth = np.where(continuing, c0 * growth_rate[gcode], 0.0)
    mix = volume - growth

    status = np.select(
        [continuing, new, retired, unpriced], ["continuing", "new", "retired", "unpriced"], ""
    )
    items = pd.DataFrame(
        {
            **{k: wide[k] for k in [*keys, item_col]},
            "status": pd.Categorical(
                status, categories=["continuing", "new", "retired", "unpriced"]
            ),
            "previous_quantity": wide["q0"].astype("Float64"),
            "current_quantity": wide["q1"].astype("Float64"),
            "previous_unit_price": pd.array(_na(p0), dtype="Float64"),
            "current_unit_price": pd.array(_na(p1), dtype="Float64"),
            "previous_cost": c0,
            "current_cost": c1,
            "change": change,
            "price_effect": price,
            "volume_effect": growth,
            "mix_effect": mix,
            "new_effect": np.where(new, change, 0.0),
            "retired_effect": np.where(retired, change, 0.0),
            "missing_value_rows": _missing_rows(wide, "na0", "na1"),
        }
    )
    money = [
        "previous_cost",
        "current_cost",
        "change",
        "price_effect",
        "volume_effect",
        "mix_effect",
        "new_effect",
        "retired_effect",
    ]
    items = items.astype(dict.fromkeys(money, "Float64"))
    items[money] = items[money] + 0.0  # no negative zeros in the output
    attrs = {"base": (s0, e0), "current": (s1, e1), "value": value, "item": item_col}
    if detail:
        items = items.sort_values([*keys, item_col], ignore_index=True, na_position="last")
        items.attrs["cfusage"] = attrs
        return items
    if keys:
        out = items.groupby(keys, observed=True, dropna=False, sort=True)[
            [*money, "missing_value_rows"]
        ].sum()
        out = out.reset_index()
    else:  # no by and no currency column: one row
        out = items[[*money, "missing_value_rows"]].sum().to_frame().T
        out = out.astype(dict.fromkeys(money, "Float64") | {"missing_value_rows": "int64"})
    out["change"] = out["current_cost"] - out["previous_cost"]
    out.attrs["cfusage"] = attrs
    return out


# --------------------------------------------------------------------------------------------
# budgets
# --------------------------------------------------------------------------------------------

Budget = float | int | Mapping[Any, float] | pd.DataFrame


def budget_variance(
    data: pd.DataFrame,
    *,
    budget: Budget,
    by: By = None,
    freq: str = "MS",
    value: str = "effective_cost",
    thresholds: Sequence[float] = (0.5, 0.8, 1.0),
    as_of: DateLike | None = None,
) -> pd.DataFrame:
    """Track cost against a budget day by day, with a run-rate forecast and alert thresholds.

    For each group and budget period (``freq``), one row per day from the start of the period to
    the end of the period or ``as_of``, whichever comes first. Days without usage rows count as
    0 (no usage), from the start of each period in which the group has usage.

    Formulas, for day *d* of a period of ``days_in_period`` days:

    - ``days_elapsed = d - period start + 1``;
    - ``cumulative_budget = budget x days_elapsed / days_in_period`` (linear);
    - ``variance_to_date = cumulative_actual - cumulative_budget``;
    - ``forecast = cumulative_actual x days_in_period / days_elapsed`` (run rate: the spend so far
      scaled by elapsed time);
    - ``projected_variance = forecast - budget`` (positive: over budget);
    - ``threshold_crossed``: the highest of ``thresholds`` with
      ``cumulative_actual >= threshold x budget`` (NA if none, or no positive budget);
      ``forecast_threshold``: the highest one the forecast crosses by the period's end.

    Parameters
    ----------
    data : pandas.DataFrame
        A typed usage frame.
    budget : float, mapping or pandas.DataFrame
        The budget per period, in the billing currency. A number applies to every group and
        period. A mapping maps periods (``"2026-03"``, a date in the period, a
        :class:`pandas.Period`) to amounts when ``by`` is None, and group labels (a value, or a
        tuple of values for several by-columns) to amounts per period otherwise. A DataFrame
        holds a ``budget`` column and optionally ``period`` and any by-columns (alias or column
        name) and ``billing_currency``; rows are matched on the columns it has. Groups or
        periods without a budget get NA, never 0.
    freq : str, default "MS"
        Budget period: ``"W"``, ``"MS"`` or ``"QS"`` (or ``"D"``).
    by : str, list of str or None
        Dimensions with their own budget lines.
    value : str, default "effective_cost"
        The cost column.
    thresholds : sequence of float, default (0.5, 0.8, 1.0)
        Fractions of the budget to alert on.
    as_of : date-like, optional
        The last day to count. Defaults to ``data.attrs["cfusage"]["complete_through"]``, else
        the last day with data. Later rows are ignored.

    Returns
    -------
    pandas.DataFrame
        The by-columns, ``billing_currency``, ``period``, ``date``, ``actual``,
        ``cumulative_actual``, ``budget``, ``cumulative_budget``, ``variance_to_date``,
        ``forecast``, ``projected_variance``, ``threshold_crossed``, ``forecast_threshold``,
        ``days_elapsed`` (how many days the forecast rests on), ``days_in_period``.

    Raises
    ------
    MissingColumnsError
        If ``value`` is absent or only NA.
    CurrencyError
        If the frame holds several currencies and ``budget`` is not a DataFrame with a
        ``billing_currency`` column (one amount cannot be a budget in two currencies).
    ValueError
        For an unknown ``freq``, ``by``, or an unusable ``budget``.

    Examples
    --------
    >>> import pandas as pd
    >>> import cfusage.analysis._variance as v
    >>> data = pd.DataFrame({
    ...     "charge_period_start": pd.to_datetime(["2026-04-01", "2026-04-02"], utc=True),
    ...     "effective_cost": pd.array([10.0, 20.0], dtype="Float64"),
    ... })
    >>> r = v.budget_variance(data, budget=600.0)
    >>> r[["date", "cumulative_actual", "forecast", "forecast_threshold"]]
                           date  cumulative_actual  forecast  forecast_threshold
    0 2026-04-01 00:00:00+00:00               10.0     300.0                 0.5
    1 2026-04-02 00:00:00+00:00               30.0     450.0                 0.5
    """
    grain = freq_of(freq)
    if grain == "billing_period":
        raise ValueError("budget_variance needs a calendar freq ('D', 'W', 'MS' or 'QS')")
    thresholds = sorted(float(t) for t in thresholds)
    d, cols, keys = _prepare(data, by, value, "budget_variance")
    if (
        CURRENCY in d.columns
        and d[CURRENCY].nunique() > 1
        and not (isinstance(budget, pd.DataFrame) and CURRENCY in budget.columns)
    ):
        raise CurrencyError(
            f"the frame holds costs in {sorted(map(str, d[CURRENCY].dropna().unique()))}: give "
            "budget as a DataFrame with a billing_currency column (one amount per currency)"
        )
    d, through = _up_to(data, d, as_of, "as_of", grain, "date")

    daily = d.groupby([*keys, PERIOD, "date"], observed=True, dropna=False, sort=True)[value].sum()
    daily = daily.reset_index()
    gp_group = daily.groupby([*keys, PERIOD], observed=True, dropna=False, sort=True)
    code = gp_group.ngroup().to_numpy()
    gp = gp_group.size().reset_index()[[*keys, PERIOD]]
    start = pd.DatetimeIndex(gp[PERIOD])
    end = start + _STEP[grain]
    cut = through + _DAY
    span = ((end - start) / _DAY).astype(int).to_numpy()
    n = ((end.where(end <= cut, cut) - start) / _DAY).astype(int).to_numpy()
    offsets = np.concatenate([[0], np.cumsum(n)[:-1]])
    rep = np.repeat(np.arange(len(gp)), n)
    within = np.arange(int(n.sum())) - offsets[rep]
    actual = np.zeros(int(n.sum()))
    day_in = ((pd.DatetimeIndex(daily["date"]) - start[code]) / _DAY).astype(int).to_numpy()
    actual[offsets[code] + day_in] = daily[value].to_numpy(dtype=float, na_value=0.0)

    grid = gp.iloc[rep].reset_index(drop=True)
    grid["date"] = start[rep] + pd.to_timedelta(within, unit="D")
    cumulative = pd.Series(actual).groupby(rep).cumsum().to_numpy()
    elapsed = within + 1
    days_in = span[rep]
    amount = _attach_budget(grid, budget, cols, keys, grain)
    cum_budget = amount * elapsed / days_in
    forecast = cumulative * days_in / elapsed
    result = grid.assign(
        actual=pd.array(actual, dtype="Float64"),
        cumulative_actual=pd.array(cumulative, dtype="Float64"),
        budget=pd.array(_na(amount), dtype="Float64"),
        cumulative_budget=pd.array(_na(cum_budget), dtype="Float64"),
        variance_to_date=pd.array(_na(cumulative - cum_budget), dtype="Float64"),
        forecast=pd.array(forecast, dtype="Float64"),
        projected_variance=pd.array(_na(forecast - amount), dtype="Float64"),
        threshold_crossed=_highest_crossed(cumulative, amount, thresholds),
        forecast_threshold=_highest_crossed(forecast, amount, thresholds),
        days_elapsed=elapsed.astype("int64"),
        days_in_period=days_in.astype("int64"),
    )
    result = result[[*keys, PERIOD, "date", *result.columns[len(keys) + 2 :]]]
    result.attrs["cfusage"] = {"as_of": through.date(), "freq": grain, "value": value}
    return result


def budget_status(
    data: pd.DataFrame,
    *,
    budget: Budget,
    by: By = None,
    freq: str = "MS",
    value: str = "effective_cost",
    thresholds: Sequence[float] = (0.5, 0.8, 1.0),
    as_of: DateLike | None = None,
) -> pd.DataFrame:
    """Where each budget line stands: the last day of :func:`budget_variance` per group x period.

    Parameters
    ----------
    data, budget, freq, by, value, thresholds, as_of
        As for :func:`budget_variance`.

    Returns
    -------
    pandas.DataFrame
        One row per group x period: the by-columns, ``billing_currency``, ``period``, ``as_of``
        (the last day counted), ``actual`` (spend to date), ``budget``, ``variance_to_date``,
        ``forecast``, ``projected_variance``, ``threshold_crossed``, ``forecast_threshold``,
        ``days_elapsed``, ``days_in_period`` and ``complete`` (the period is over).

    Raises
    ------
    MissingColumnsError, CurrencyError, ValueError
        As for :func:`budget_variance`.

    Examples
    --------
    >>> import pandas as pd
    >>> import cfusage.analysis._variance as v
    >>> data = pd.DataFrame({
    ...     "charge_period_start": pd.to_datetime(["2026-04-01", "2026-04-16"], utc=True),
    ...     "effective_cost": pd.array([100.0, 200.0], dtype="Float64"),
    ... })
    >>> s = v.budget_status(data, budget=500.0)
    >>> s[["actual", "forecast", "threshold_crossed", "forecast_threshold", "complete"]]
       actual  forecast  threshold_crossed  forecast_threshold  complete
    0   300.0     562.5                0.5                 1.0     False
    """
    daily = budget_variance(
        data, budget=budget, freq=freq, by=by, value=value, thresholds=thresholds, as_of=as_of
    )
    keys = list(daily.columns[: daily.columns.get_loc(PERIOD)])
    last = daily.groupby([*keys, PERIOD], observed=True, dropna=False, sort=False).tail(1)
    out = last.drop(columns=["actual", "cumulative_budget"]).rename(
        columns={"date": "as_of", "cumulative_actual": "actual"}
    )
    out["complete"] = out["days_elapsed"] == out["days_in_period"]
    out = out.reset_index(drop=True)
    out.attrs["cfusage"] = dict(daily.attrs["cfusage"])
    return out


# --------------------------------------------------------------------------------------------
# top movers
# --------------------------------------------------------------------------------------------


def top_movers(
    data: pd.DataFrame,
    *,
    base: PeriodSpec,
    current: PeriodSpec,
    by: By = "metric",
    n: int = 10,
    value: str = "effective_cost",
) -> pd.DataFrame:
    """The groups whose cost changed most (in absolute terms) between two periods.

    Parameters
    ----------
    data : pandas.DataFrame
        A typed usage frame.
    base, current : str, pandas.Period or (start, end)
        The two periods, as for :func:`price_volume_mix`.
    by : str or list of str, default "metric"
        What moves (``"metric"``, ``["account", "product"]``, ``"tag:team"``...).
    n : int, default 10
        How many to return (all if fewer).
    value : str, default "effective_cost"
        The cost column.

    Returns
    -------
    pandas.DataFrame
        The ``n`` rows with the largest ``|change|``, largest first: the by-columns,
        ``billing_currency``, ``previous``, ``current``, ``change``, ``relative_change`` (NA when
        ``previous`` is 0), ``status`` (``new``: no rows in the base period; ``retired``: none in
        the current one; ``continuing``) and ``missing_value_rows``.

    Raises
    ------
    MissingColumnsError
        If ``value`` is absent or only NA.
    ValueError
        For unparseable or overlapping periods, or an unknown dimension.

    Examples
    --------
    >>> import pandas as pd
    >>> import cfusage.analysis._variance as v
    >>> data = pd.DataFrame({
    ...     "charge_period_start": pd.to_datetime(["2026-01-05", "2026-02-05", "2026-02-06"], utc=True),
    ...     "x_billable_metric_name": ["Requests", "Requests", "Storage"],
    ...     "effective_cost": pd.array([10.0, 12.0, 30.0], dtype="Float64"),
    ... })
    >>> v.top_movers(data, base="2026-01", current="2026-02")[["x_billable_metric_name", "change", "status"]]
      x_billable_metric_name  change      status
    0                Storage    30.0         new
    1               Requests     2.0  continuing
    """
    d, _cols, keys = _prepare(data, by, value, "top_movers")
    (s0, e0), (s1, e1) = _windows(base, current)
    wide = _two_periods(d, keys, value, (s0, e0), (s1, e1))
    present0 = wide["n0"].fillna(0).to_numpy() > 0
    present1 = wide["n1"].fillna(0).to_numpy() > 0
    prev = wide["c0"].astype("Float64").mask(~present0, 0.0)
    cur = wide["c1"].astype("Float64").mask(~present1, 0.0)
    change = cur - prev
    status = np.select([~present0, ~present1], ["new", "retired"], "continuing")
    out = pd.DataFrame(
        {
            **{k: wide[k] for k in keys},
            "previous": prev,
            "current": cur,
            "change": change,
            "relative_change": safe_ratio(change, prev.abs()),
            "status": pd.Categorical(status, categories=["new", "retired", "continuing"]),
            "missing_value_rows": _missing_rows(wide, "na0", "na1"),
        }
    )
    order = np.argsort(-np.abs(change.to_numpy(dtype=float, na_value=0.0)), kind="stable")
    out = out.iloc[order[: max(int(n), 0)]].reset_index(drop=True)
    out.attrs["cfusage"] = {"base": (s0, e0), "current": (s1, e1), "value": value}
    return out


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def _prepare(
    df: pd.DataFrame, by: By, value: str, what: str
) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Check the columns, resolve ``by``, warn about NA values; return (frame, by-cols, keys)."""
    require(df, [value, _START], what)
    d, cols = resolve_by(df, by)
    keys = group_keys(d, cols)
    _warn_missing(d, value, what)
    return d, cols, keys


def _warn_missing(d: pd.DataFrame, value: str, what: str) -> None:
    n = int(d[value].isna().sum())
    if n:
        warnings.warn(
            f"{what}: {n} of {len(d)} rows have no {value} (NA); they are left out of the sums, "
            "not counted as 0",
            UserWarning,
            stacklevel=3,
        )


def _utc(x: Any, name: str) -> pd.Timestamp:
    """The UTC midnight of the day ``x`` falls on (:func:`cfusage.io.utc_day`)."""
    return pd.Timestamp(utc_day(x, name)).tz_localize("UTC")


def _complete_through(df: pd.DataFrame, given: Any, day: pd.Series) -> pd.Timestamp:
    """The last complete day as a UTC midnight timestamp: argument, attrs, or last data day."""
    if given is None:
        given = (df.attrs.get("cfusage") or {}).get("complete_through")
    if given is None:
        last = day.max()
        if pd.isna(last):
            raise ValueError("charge_period_start holds no dates")
        return pd.Timestamp(last)
    return _utc(given, "complete_through").normalize()


def _up_to(
    df: pd.DataFrame, d: pd.DataFrame, given: Any, name: str, grain: str, day: str
) -> tuple[pd.DataFrame, pd.Timestamp]:
    """``d`` with a ``day`` column (UTC midnight) and its period, cut after the last complete day
    (``given``, the argument called ``name``: see :func:`_complete_through`); and that day."""
    days = floor_to(d[_START], "D")
    through = _complete_through(df, given, days)
    d = add_period(d.assign(**{day: days}), grain)
    d = d.loc[(d[day] <= through) & d[PERIOD].notna()]
    if d.empty:
        raise ValueError(f"no usage on or before {name}={through.date()}")
    return d, through


def _calendar(
    d: pd.DataFrame, grain: str, through: pd.Timestamp
) -> tuple[pd.DatetimeIndex, pd.DatetimeIndex]:
    """Period starts (every period from the first to the one holding ``through``) and ends."""
    if grain == "billing_period":
        ends_by_start = (
            d.groupby(PERIOD)["billing_period_end"].max()
            if "billing_period_end" in d.columns
            else pd.Series(pd.NaT, index=pd.DatetimeIndex(d[PERIOD].unique()).sort_values())
        )
        starts = pd.DatetimeIndex(ends_by_start.index).sort_values()
        ends = pd.DatetimeIndex(ends_by_start.reindex(starts).to_numpy())
        nxt = pd.DatetimeIndex([*starts[1:], through + _DAY]).as_unit(starts.unit)
        ends = pd.DatetimeIndex(np.where(ends.isna(), nxt, ends.as_unit(starts.unit))).tz_localize(
            None
        )
        ends = ends.tz_localize("UTC") if ends.tz is None else ends
        return starts, ends.as_unit(starts.unit)
    first = d[PERIOD].min()
    last = max(d[PERIOD].max(), floor_to(pd.Series([through]), grain).iloc[0])
    starts = pd.date_range(first, last, freq=_CALENDAR[grain]).as_unit("us")
    return starts, (starts + _STEP[grain]).as_unit("us")


def _sum_by(d: pd.DataFrame, keys: list[str], value: str) -> pd.DataFrame:
    """Per group: ``value`` (sum, NA when every row is NA) and ``na`` (rows without a value)."""
    g = d.groupby(keys, observed=True, dropna=False, sort=False)
    out = pd.DataFrame({"value": g[value].sum(min_count=1), "na": g["_na"].sum()})
    return out.reset_index()


def _window(spec: Any, name: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """(start, end) of a period given as a string, a Period or a (start, end) pair."""
    if isinstance(spec, tuple):
        if len(spec) != 2:
            raise ValueError(f"{name}={spec!r}: give a (start, end) pair")
        start, end = _utc(spec[0], name), _utc(spec[1], name)
        if end <= start:
            raise ValueError(f"{name}={spec!r}: end must be after start (end is exclusive)")
        return start, end
    if isinstance(spec, str):
        try:
            spec = pd.Period(spec)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"{name}={spec!r} is not a period; use '2026-03', '2026-Q1', '2026-03-14', "
                "a pandas.Period or a (start, end) pair"
            ) from exc
    if isinstance(spec, pd.Period):
        start = spec.start_time.tz_localize("UTC")
        end = (spec + 1).start_time.tz_localize("UTC")
        return start.as_unit("us"), end.as_unit("us")
    raise ValueError(
        f"{name}={spec!r} is not a period; use a string, a pandas.Period or a (start, end) pair"
    )


def _windows(
    base: Any, current: Any
) -> tuple[tuple[pd.Timestamp, pd.Timestamp], tuple[pd.Timestamp, pd.Timestamp]]:
    """(start, end) of ``base`` and of ``current`` (as :func:`_window`); they must not overlap."""
    (s0, e0), (s1, e1) = _window(base, "base"), _window(current, "current")
    if s0 < e1 and s1 < e0:
        raise ValueError(f"base={base!r} and current={current!r} overlap")
    return (s0, e0), (s1, e1)


def _two_periods(
    d: pd.DataFrame,
    keys: list[str],
    value: str,
    w0: tuple[pd.Timestamp, pd.Timestamp],
    w1: tuple[pd.Timestamp, pd.Timestamp],
    *,
    quantity: str | None = None,
) -> pd.DataFrame:
    """One row per ``keys`` with c0/c1 (cost), n0/n1 (rows), na0/na1 (NA rows), q0/q1."""
    t = d[_START]
    in0 = ((t >= w0[0]) & (t < w0[1])).to_numpy(dtype=bool, na_value=False)
    in1 = ((t >= w1[0]) & (t < w1[1])).to_numpy(dtype=bool, na_value=False)
    sub = d.loc[in0 | in1, keys]
    cost = d.loc[in0 | in1, value]
    extra = {"_c": cost, "_na": cost.isna(), "_side": in1[in0 | in1].astype("int8")}
    if quantity is not None:
        extra["_q"] = d.loc[in0 | in1, quantity].where(cost.notna())
    sub = sub.assign(**extra)
    spec: dict[str, tuple[str, str]] = {"c": ("_c", "sum"), "n": ("_na", "size")}
    spec["na"] = ("_na", "sum")
    if quantity is not None:
        spec["q"] = ("_q", "sum")
    g = sub.groupby([*keys, "_side"], observed=True, dropna=False, sort=False).agg(**spec)
    if keys:
        g = g.reset_index()
        sides = [
            g.loc[g["_side"] == s].drop(columns="_side").rename(columns=lambda c, s=s: _sfx(c, s))
            for s in (0, 1)
        ]
        wide = sides[0].merge(sides[1], on=keys, how="outer")
        wide = wide.sort_values(keys, ignore_index=True, na_position="last")
    else:
        g = g.reset_index()
        row: dict[str, Any] = {}
        for s in (0, 1):
            part = g.loc[g["_side"] == s]
            for c in spec:
                row[f"{c}{s}"] = part[c].iloc[0] if len(part) else pd.NA
        wide = pd.DataFrame([row])
    return wide


def _sfx(column: str, side: int) -> str:
    return f"{column}{side}" if column in ("c", "n", "na", "q") else column


def _missing_rows(frame: pd.DataFrame, a: str, b: str) -> np.ndarray:
    """Rows without a value over two compared spans: ``frame[a] + frame[b]``, NA counted as 0."""
    return (frame[a].fillna(0).astype("int64") + frame[b].fillna(0).astype("int64")).to_numpy()


def _codes(frame: pd.DataFrame, keys: list[str]) -> np.ndarray:
    if not keys:
        return np.zeros(len(frame), dtype=np.int64)
    return frame.groupby(keys, observed=True, dropna=False, sort=False).ngroup().to_numpy()


def _na(x: np.ndarray) -> np.ndarray:
    """Float array with NaN turned into None, so ``pd.array(..., "Float64")`` holds NA."""
    out = np.asarray(x, dtype=object)
    out[np.isnan(np.asarray(x, dtype=float))] = None
    return out


def _highest_crossed(amount: np.ndarray, budget: np.ndarray, thresholds: list[float]) -> Any:
    crossed = np.full(len(amount), np.nan)
    valid = budget > 0
    for t in thresholds:
        crossed = np.where(valid & (amount >= t * budget), t, crossed)
    return pd.array(_na(crossed), dtype="Float64")


def _period_start(label: Any, grain: str) -> pd.Timestamp:
    if isinstance(label, pd.Period):
        ts = label.start_time
    elif isinstance(label, str):
        try:
            ts = pd.Period(label).start_time
        except (TypeError, ValueError) as exc:
            raise ValueError(f"budget period {label!r} is not a period") from exc
    else:
        ts = pd.Timestamp(label)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return floor_to(pd.Series([ts]), grain).iloc[0]


def _attach_budget(
    grid: pd.DataFrame, budget: Budget, cols: list[str], keys: list[str], grain: str
) -> np.ndarray:
    """The budget amount of each grid row as a float array (NaN where none was given)."""
    if isinstance(budget, int | float | np.number) and not isinstance(budget, bool):
        return np.full(len(grid), float(budget))
    if isinstance(budget, Mapping):
        if not cols:
            table = pd.DataFrame(
                {
                    PERIOD: [_period_start(k, grain) for k in budget],
                    "budget": [float(v) for v in budget.values()],
                }
            )
        else:
            labels = [k if isinstance(k, tuple) else (k,) for k in budget]
            if any(len(k) != len(cols) for k in labels):
                raise ValueError(
                    f"budget keys must be one value per by-column {cols} (a tuple for several)"
                )
            table = pd.DataFrame(labels, columns=cols).assign(
                budget=[float(v) for v in budget.values()]
            )
    elif isinstance(budget, pd.DataFrame):
        if "budget" not in budget.columns:
            raise ValueError(f"a budget DataFrame needs a 'budget' column; it has {list(budget)}")
        table = budget.rename(columns={a: DIMENSIONS[a] for a in budget.columns if a in DIMENSIONS})
        if PERIOD in table.columns:
            table = table.assign(**{PERIOD: [_period_start(p, grain) for p in table[PERIOD]]})
    else:
        raise ValueError(f"budget={budget!r}: give a number, a mapping or a DataFrame")
    on = [c for c in [*keys, PERIOD] if c in table.columns]
    unknown = [c for c in table.columns if c not in on and c != "budget"]
    if unknown:
        raise ValueError(f"budget columns {unknown} match no by-column of this call ({keys})")
    if table.duplicated(on).any():
        raise ValueError(f"budget has several amounts for the same {on}")
    left = pd.DataFrame({c: _merge_key(grid[c]) for c in on})
    right = pd.DataFrame({c: _merge_key(table[c]) for c in on}).assign(
        budget=pd.to_numeric(table["budget"]).astype(float).to_numpy()
    )
    merged = left.merge(right, on=on, how="left") if on else left.assign(budget=right["budget"][0])
    return merged["budget"].to_numpy(dtype=float)


def _merge_key(s: pd.Series) -> pd.Series:
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        return s.dt.tz_convert("UTC").astype("datetime64[us, UTC]").reset_index(drop=True)
    return s.astype("string").reset_index(drop=True)
