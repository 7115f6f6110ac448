"""Cost variance: period over period, price / volume / mix, budgets, top movers.

Every function takes a typed usage frame (:func:`cfusage.to_frame`) first; everything after it is
keyword-only: a ``by=`` dimension (``None``, a name or a list; the aliases of
:data:`cfusage.DIMENSIONS` such as ``"product"``, ``"account"``, ``"metric"``, or ``"tag:KEY"``),
a grain ``freq=`` where there is one, and the cost column to analyse (``value=``, default
``effective_cost``). ``by=`` and ``freq=`` are resolved once by
:func:`cfusage.analysis.grouping`, so every result reads the same way: ``period`` first (where
there is one), then the ``by`` keys in the order given, then ``billing_currency`` (costs in
different currencies are never added), then the figures. The base figure is always called
``previous`` and the compared one ``current``.

Unknown stays unknown. A frame without the value column, or with only NA in it, raises
:class:`~cfusage.MissingColumnsError`. Rows whose value is NA are left out of every sum: the
functions warn (:class:`UserWarning`) with their number and count them in
``missing_value_rows``. A group, period or day whose rows *all* have NA as value has an unknown
cost: its figure is NA (never 0, never a finite figure built on it) and its status says
``"unknown"``. A group that has no rows at all in a period had no usage there, and its cost for
that period is a true 0 (this is how ``new`` and ``retired`` groups arise).

What the data covers. The frame covers the days from its first day with data to its last
*complete* day ("complete through"): ``as_of`` when given; otherwise the last day with data, or
``data.attrs["cfusage"]["complete_through"]`` (the source's recency, set by the client and the
sample) when that is earlier. A stale attribute (a frame filtered to an earlier date keeps the
unfiltered frame's attrs) is never later than the data's own last day, so filtering never
invents a period. A period is *complete* when every one of its days is covered.

The arithmetic follows ``shared/reference/focus.md`` ("Cost variance"); each function's docstring
states its formulas and the decisions taken where the reference leaves a choice.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from ..errors import ArgumentError, CurrencyError, DataError
from ..io import utc_day
from ..schema import DIMENSIONS
from . import _engine
from ._grouping import (
    CURRENCY,
    PERIOD,
    By,
    Grouping,
    floor_to,
    freq_of,
    grouping,
    require,
    row_weights,
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
PeriodSpec: TypeAlias = str | pd.Period | tuple[Any, Any]
DateLike: TypeAlias = str | dt.date | dt.datetime | pd.Timestamp
#: What ``budget=`` takes (see :func:`budget_variance`).
Budget: TypeAlias = float | int | Mapping[Any, float] | pd.DataFrame

_START = "charge_period_start"
_DAY = pd.Timedelta(days=1)
_CALENDAR = {"D": "D", "W": "W-MON", "MS": "MS", "QS": "QS-JAN"}
_STEP: dict[str, pd.DateOffset | pd.Timedelta] = {
    "D": pd.Timedelta(days=1),
    "W": pd.Timedelta(days=7),
    "MS": pd.DateOffset(months=1),
    "QS": pd.DateOffset(months=3),
}
_STATUS = ["new", "retired", "continuing", "unknown"]
_PVM_STATUS = ["continuing", "new", "retired", "unpriced", "unknown"]
_BASIS = ["full periods", "same days", "daily average"]
_EFFECTS = [
    "price_effect",
    "days_effect",
    "volume_effect",
    "mix_effect",
    "new_effect",
    "retired_effect",
]
_UNITS = {"pricing_quantity": "pricing_unit", "consumed_quantity": "consumed_unit"}


# --------------------------------------------------------------------------------------------
# period over period
# --------------------------------------------------------------------------------------------


def period_over_period(
    data: _engine.Frame,
    *,
    by: By = None,
    freq: str = "MS",
    value: str = "effective_cost",
    as_of: DateLike | None = None,
) -> _engine.Frame:
    """Compare each period's cost with the period before, per group, like for like.

    **The like-for-like rule.** The frame covers the days from its first day with data to its
    last complete day (``as_of``; see the module docstring for the default); rows after that
    day are left out, as the source has not finished delivering them. A period is *complete*
    when all its days are covered; only the first period (the data starts after its first day)
    and the last one (the data ends before its last day) can be partial. Each period's
    ``current`` is its cost over its covered days (``days``), and ``previous`` is the base it is
    compared with (``basis``):

    - ``"full periods"``: both periods are complete; ``previous`` is the whole previous
      period's cost (June, 30 days, against all 31 days of May);
    - ``"same days"``: the period is partial (month to date) and the previous period has the
      same days covered; ``previous`` is the cost of the previous period's first ``days`` days
      (1-20 June against 1-20 May);
    - ``"daily average"``: otherwise, i.e. the previous period is shorter than the covered days
      (1-29 March against a 28-day February) or is itself partial (the data starts on 16
      January); ``previous`` is the previous period's average daily cost over its
      ``previous_days`` covered days, times ``days`` (February's total x 29 / 28). The relative
      change is then the change of the daily run rate.

    The span is the frame's: compare products with ``by=`` rather than on a frame cut down to
    one product, since a frame holding only a product launched on 16 January starts on 16
    January (its first half month would be taken as not covered rather than as no usage).

    Parameters
    ----------
    data : pandas.DataFrame or engine frame
        A typed usage frame: a pandas DataFrame, or a Polars, DuckDB, Spark or Ibis frame (see
        "Engines" in :mod:`cfusage.analysis._engine`). An engine frame is reduced in its engine
        to one row per by-columns x currency x UTC day (x billing period) x NA pattern, and
        only that small frame is collected.
    by : str, list of str or None
        Dimensions to compare separately (``"product"``, ``"account"``, ``"tag:team"``...).
    freq : str, default "MS"
        Grain: ``"D"``, ``"W"`` (weeks start on Monday), ``"MS"`` (month), ``"QS"`` (quarter) or
        ``"billing_period"`` (groups on ``billing_period_start``); aliases such as ``"month"``
        work too.
    value : str, default "effective_cost"
        The cost column to compare.
    as_of : date-like, optional
        Last day fully delivered ("complete through"); days up to it without rows had no usage.
        Default: the last day with data, or ``data.attrs["cfusage"]["complete_through"]`` when
        that is earlier.

    Returns
    -------
    pandas.DataFrame or engine frame
        Of the input's kind: pandas for pandas (with ``attrs``), otherwise the engine's (a
        Polars LazyFrame for a LazyFrame, a DuckDB relation, a Spark DataFrame...; engines keep
        no ``attrs``), with the same rows and figures.

        One row per period x group, sorted by period then group, with columns: ``period``
        (start of the period, UTC), the by-columns, ``billing_currency``, then

        - ``previous``: the base of the comparison (see ``basis``); NA for the first period of
          the frame (nothing to compare with) and where every row it sums has NA as value;
        - ``current``: the period's cost over its covered days (NA where every row is NA);
        - ``change = current - previous``; ``relative_change = change / |previous|`` (NA when
          ``previous`` is 0 or NA, never infinite);
        - ``status``: ``"new"`` (no rows in the compared previous days: ``previous`` is 0),
          ``"retired"`` (no rows in this period: ``current`` is 0), ``"continuing"``,
          ``"unknown"`` (``previous`` or ``current`` is NA because all its rows are NA); NA for
          the first period;
        - ``basis``: ``"full periods"``, ``"same days"`` or ``"daily average"`` (above); NA for
          the first period;
        - ``partial``: the period is not complete; ``days``: its covered days;
          ``previous_days``: the previous period's days that ``previous`` is built on;
        - ``missing_value_rows``: rows of the two compared spans whose ``value`` is NA and so is
          in neither sum.

        ``result.attrs["cfusage"]`` records ``first_day``, ``complete_through``, ``freq`` and
        ``value``.

    Raises
    ------
    MissingColumnsError
        If ``value`` or ``charge_period_start`` is absent or only NA.
    ArgumentError
        For an unknown ``freq`` or ``by`` dimension, or an ``as_of`` before the data starts.
        On an engine frame also for ``by="tag:KEY"`` (tags are a pandas column) and for a
        DuckDB connection or Spark session whose time zone is not UTC.

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
    >>> r[["previous", "current", "change", "status", "basis"]]
       previous  current  change      status         basis
    0      <NA>      3.0    <NA>         NaN           NaN
    1       3.0      9.0     6.0  continuing  full periods

    Without ``as_of`` the data ends on 2 February: February is month-to-date and is
    compared with 1-2 January.

    >>> cols = ["previous", "current", "basis", "days", "previous_days"]
    >>> v.period_over_period(data)[cols].iloc[1:]
       previous  current      basis  days  previous_days
    1       3.0      9.0  same days     2              2
    """
    grain = freq_of(freq)
    if _engine.is_engine(data):
        r = _reduce(
            data,
            "period_over_period",
            by,
            [value],
            optional=["billing_period_start", "billing_period_end"],
        )
        return r.back(period_over_period(r.frame, by=by, freq=freq, value=value, as_of=as_of))
    g, d = _grouped(data, by, grain, value, "period_over_period")
    group = list(g.keys[1:])
    d = d.assign(_day=floor_to(d[_START], "D"))
    first, through = _span(data, d["_day"], as_of)
    d = d.loc[(d["_day"] <= through) & d[PERIOD].notna()]
    starts, ends = _calendar(d, grain, through)
    n = len(starts)
    lo = starts.where(starts >= first, first)
    hi = ends.where(ends <= through + _DAY, through + _DAY)
    days = np.maximum(((hi - lo) / _DAY).to_numpy(dtype=float).astype(np.int64), 0)
    length = ((ends - starts) / _DAY).to_numpy(dtype=float).astype(np.int64)
    partial = days < length
    late = np.asarray(lo > starts)

    # How each period k >= 1 is compared with period k - 1 (the like-for-like rule).
    basis = np.full(n, None, dtype=object)
    limit = np.full(n, np.iinfo(np.int64).max)  # rows of period j count for j + 1 below this
    factor = np.ones(n)
    prev_days = np.zeros(n, dtype=np.int64)
    for k in range(1, n):
        j = k - 1
        if not partial[k] and not partial[j]:
            basis[k], prev_days[k] = "full periods", days[j]
        elif not late[k] and not late[j] and days[k] <= days[j]:
            basis[k], prev_days[k], limit[j] = "same days", days[k], days[k]
        else:
            basis[k], prev_days[k] = "daily average", days[j]
            factor[k] = days[k] / days[j] if days[j] else np.nan

    position = pd.Series(np.arange(n), index=starts)
    pos = position.reindex(pd.DatetimeIndex(d[PERIOD])).to_numpy()
    offset = ((d["_day"] - d[PERIOD]) / _DAY).to_numpy()
    d = d.assign(_pos=pos, _na=d[value].isna())
    in_prev = (pos < n - 1) & (offset < limit[pos])
    agg_keys = [*group, "_pos"]
    current = _sum_by(d, agg_keys, value)
    previous = _sum_by(d.loc[in_prev], agg_keys, value)
    previous["_pos"] = previous["_pos"] + 1

    out = current.merge(previous, on=agg_keys, how="outer", suffixes=("_cur", "_prev"))
    p = out["_pos"].to_numpy(dtype=np.int64)
    first_row = p == 0
    n_cur = out["n_cur"].fillna(0).to_numpy()
    n_prev = out["n_prev"].fillna(0).to_numpy()
    cur = out["value_cur"].astype("Float64").mask(n_cur == 0, 0.0)
    prev = (out["value_prev"].astype("Float64") * factor[p]).mask(n_prev == 0, 0.0)
    prev = prev.mask(first_row, pd.NA)
    unknown = ((n_cur > 0) & cur.isna().to_numpy()) | (
        ~first_row & (n_prev > 0) & prev.isna().to_numpy()
    )
    status = np.select(
        [first_row, unknown, n_prev == 0, n_cur == 0],
        ["", "unknown", "new", "retired"],
        "continuing",
    ).astype(object)
    status[first_row] = None  # nothing to compare the first period with
    change = cur - prev
    result = pd.DataFrame(
        {
            PERIOD: starts[p],
            **{k: out[k] for k in group},
            "previous": prev,
            "current": cur,
            "change": change,
            "relative_change": safe_ratio(change, prev.abs()),
            "status": pd.Categorical(status, categories=_STATUS),
            "basis": pd.Categorical(basis[p], categories=_BASIS),
            "partial": partial[p],
            "days": days[p].astype("int64"),
            "previous_days": pd.array(np.where(first_row, None, prev_days[p]), dtype="Int64"),
            "missing_value_rows": _missing_rows(out, "na_cur", "na_prev"),
        }
    )
    result = result.sort_values([PERIOD, *group], ignore_index=True, na_position="last")
    result.attrs["cfusage"] = {
        "first_day": first.date(),
        "complete_through": through.date(),
        "freq": grain,
        "value": value,
    }
    return result


# --------------------------------------------------------------------------------------------
# price / volume / mix
# --------------------------------------------------------------------------------------------


def price_volume_mix(
    data: _engine.Frame,
    *,
    base: PeriodSpec,
    current: PeriodSpec,
    by: By = None,
    item: str = "x_billable_metric_id",
    value: str = "effective_cost",
    quantity: str = "pricing_quantity",
    detail: bool = False,
) -> _engine.Frame:
    """Split each group's cost change into price, days, volume, mix, new and retired effects.

    Period 0 is ``base`` and period 1 ``current``; ``D0`` and ``D1`` are their days covered by
    the frame (the window's days from the frame's first to its last day with data: 30 and 31
    for September and October). For each item *i* (a billable metric: one pricing unit) of a
    group, with cost ``c`` and quantity ``q`` summed over a period and unit price ``p = c / q``:

    - **new**: items with no rows in the base period, ``new = c1``; **retired**: items with no
      rows in the current period, ``retired = -c0``.
    - items with a positive quantity in both periods (**continuing**):

      - ``price = (p1 - p0) q1`` (computed as ``c1 - p0 q1``): the change at today's volume;
      - ``days = c0 (D1 / D0 - 1)``: the base period's daily run rate over the extra (or
        missing) days, the calendar effect (October's 31st day);
      - what is left, ``p0 q1 - c0 D1 / D0``, is the change of volume at base prices and per
        day, split into **volume** and **mix** against the whole (all groups of the result in
        the same currency). With the whole's day-adjusted volume growth
        ``G = Σ p0 q1 / Σ c0 (D1 / D0) - 1`` (over its continuing items),
        ``volume = c0 (D1 / D0) G``: the growth the group would have had at the whole's rate;
        ``mix = p0 q1 - c0 (D1 / D0) (1 + G)``: its share shift, positive when it grew faster
        than the whole. Mix sums to zero across the groups of a currency, and is non-zero
        when groups grow at different rates. Without ``by=`` there is one group (the whole),
        so ``mix`` is 0. When ``Σ c0`` is 0 (only free usage in the base), ``G`` is 0.

    Decisions where the reference leaves a choice (documented here, tested):

    - an item present in both periods whose quantity is 0 or NA in the base but positive in
      the current period has no base price: it counts as **new**, with effect ``c1 - c0``;
    - the reverse (positive, then 0 or NA) counts as **retired**, effect ``c1 - c0``;
    - an item with no positive quantity in either period (a fee without quantity, a
      correction) puts its whole change ``c1 - c0`` into **price**;
    - an item whose rows in one of the periods all have NA as value (**unknown**) has an
      unknown change: its figures and effects are NA, and it is left out of its group's totals
      (counted in ``unknown_items``), so that the effects still add up.

    So for every group ``price + days + volume + mix + new + retired = change = current -
    previous``, exactly (up to floating-point rounding). Rows whose ``value`` is NA are left
    out (their quantity too, so unit prices are not diluted) and counted in
    ``missing_value_rows``.

    Worked example: ``D0 = 4``, ``D1 = 5``; product X's item costs 40 for 400 units in the
    base and 66 for 600 in the current period (p0 = 0.10); product Y's item costs 60 for 100,
    then 75 for 125 (p0 = 0.60). X: price = 66 - 60 = 6, days = 40 x 0.25 = 10; Y: price = 0,
    days = 15. ``G = (60 + 75) / (50 + 75) - 1 = 0.08``: X volume = 50 x 0.08 = 4, mix =
    60 - 54 = 6; Y volume = 6, mix = -6. X: 6 + 10 + 4 + 6 = 26 = 66 - 40.

    Parameters
    ----------
    data : pandas.DataFrame or engine frame
        A typed usage frame: a pandas DataFrame, or a Polars, DuckDB, Spark or Ibis frame (see
        "Engines" in :mod:`cfusage.analysis._engine`). An engine frame is reduced in its engine
        to one row per by-columns x currency x item x unit x UTC day x NA pattern, and only
        that small frame is collected.
    base, current : str, pandas.Period or (start, end)
        The two periods: a period string (``"2026-02"``, ``"2026-Q1"``, ``"2026-02-14"``), a
        :class:`pandas.Period`, or a ``(start, end)`` pair of dates, start inclusive and end
        exclusive (the FOCUS convention). They must not overlap.
    by : str, list of str or None
        Dimensions to analyse separately (e.g. ``"product"``); may be the item column itself.
    item : str, default "x_billable_metric_id"
        The column (or alias) whose values are the items whose prices and quantities are
        compared; each item must have one pricing unit.
    value : str, default "effective_cost"
        The cost column.
    quantity : str, default "pricing_quantity"
        The quantity column, in the unit ``value`` is priced in (its unit column,
        ``pricing_unit`` for ``pricing_quantity``, is checked when the frame has it).
    detail : bool, default False
        Return one row per group x item (with quantities, unit prices and ``status``) instead of
        one row per group.

    Returns
    -------
    pandas.DataFrame or engine frame
        Of the input's kind: pandas for pandas (with ``attrs``), otherwise the engine's (a
        Polars LazyFrame for a LazyFrame, a DuckDB relation, a Spark DataFrame...; engines keep
        no ``attrs``), with the same rows and figures.

        Per group: the by-columns, ``billing_currency``, ``previous`` (``Σ c0``), ``current``
        (``Σ c1``), ``change``, ``price_effect``, ``days_effect``, ``volume_effect``,
        ``mix_effect``, ``new_effect``, ``retired_effect``, ``unknown_items``,
        ``missing_value_rows``, ``previous_days`` (``D0``), ``days`` (``D1``). With
        ``detail=True`` one row per item, with also the item column, ``status``
        (``continuing``, ``new``, ``retired``, ``unpriced``, ``unknown``),
        ``previous_quantity``, ``current_quantity``, ``previous_unit_price``,
        ``current_unit_price`` (the groups' totals are the sums of their items, unknown items
        left out). Rows are sorted by group (and item).

    Raises
    ------
    MissingColumnsError
        If ``value``, ``quantity`` or the item column is absent or only NA.
    DataError
        If an item is priced in two units (``GB`` and ``TB``) in the compared periods: its unit
        price would compare different things.
    ArgumentError
        For unparseable or overlapping periods, or an unknown dimension. On an engine frame
        also for periods that are not whole UTC days, ``by="tag:KEY"`` and a DuckDB
        connection or Spark session whose time zone is not UTC.

    Examples
    --------
    >>> import pandas as pd
    >>> import cfusage.analysis._variance as v
    >>> data = pd.DataFrame({
    ...     "charge_period_start": pd.to_datetime(["2026-01-01", "2026-02-28"], utc=True),
    ...     "x_billable_metric_id": ["requests", "requests"],
    ...     "pricing_quantity": pd.array([100.0, 150.0], dtype="Float64"),
    ...     "effective_cost": pd.array([31.0, 42.0], dtype="Float64"),
    ... })
    >>> r = v.price_volume_mix(data, base="2026-01", current="2026-02")
    >>> r[["change", "price_effect", "days_effect", "volume_effect", "mix_effect"]]
       change  price_effect  days_effect  volume_effect  mix_effect
    0    11.0          -4.5         -3.0           18.5         0.0

    January's 31 units-of-cost a day fall to 28 days: days = 31 x (28 / 31 - 1) = -3; at
    January's price (0.31) February's volume costs 46.5 (volume = 46.5 - 28 = 18.5); the price
    fell to 0.28 (price = 42 - 46.5 = -4.5).
    """
    item_col = DIMENSIONS.get(item, item)
    if _engine.is_engine(data):
        _whole_days(_windows(base, current), "price_volume_mix")
        r = _reduce(
            data,
            "price_volume_mix",
            by,
            [value, quantity],
            keys=[item_col],
            optional=[_unit(quantity)],
        )
        return r.back(
            price_volume_mix(
                r.frame,
                base=base,
                current=current,
                by=by,
                item=item,
                value=value,
                quantity=quantity,
                detail=detail,
            )
        )
    g, d = _grouped(data, by, None, value, "price_volume_mix")
    keys = list(g.keys)
    require(d, [quantity, item_col], "price_volume_mix")
    item_keys = keys if item_col in keys else [*keys, item_col]
    (s0, e0), (s1, e1) = _windows(base, current)
    _check_units(d, item_keys, item_col, quantity, ((s0, e0), (s1, e1)))
    d0, d1 = _covered_days(d, (s0, e0)), _covered_days(d, (s1, e1))
    ratio = d1 / d0 if d0 else 1.0
    wide = _two_periods(d, item_keys, value, (s0, e0), (s1, e1), quantity=quantity)

    c0 = wide["c0"].to_numpy(dtype=float, na_value=0.0)
    c1 = wide["c1"].to_numpy(dtype=float, na_value=0.0)
    q0 = wide["q0"].to_numpy(dtype=float, na_value=np.nan)
    q1 = wide["q1"].to_numpy(dtype=float, na_value=np.nan)
    n0 = wide["n0"].to_numpy(dtype=float, na_value=0.0)
    n1 = wide["n1"].to_numpy(dtype=float, na_value=0.0)
    na0 = wide["na0"].to_numpy(dtype=float, na_value=0.0)
    na1 = wide["na1"].to_numpy(dtype=float, na_value=0.0)
    present0, present1 = n0 > 0, n1 > 0
    unknown = (present0 & (na0 == n0)) | (present1 & (na1 == n1))
    q0pos, q1pos = q0 > 0, q1 > 0  # NaN compares False
    both = present0 & present1
    continuing = ~unknown & both & q0pos & q1pos
    new = ~unknown & (~present0 | (both & ~q0pos & q1pos))
    retired = ~unknown & (~present1 | (both & q0pos & ~q1pos))
    unpriced = ~unknown & both & ~q0pos & ~q1pos

    with np.errstate(divide="ignore", invalid="ignore"):
        p0 = np.where(continuing, c0 / np.where(q0pos, q0, 1.0), np.nan)
        p1 = np.where(q1pos & present1 & ~unknown, c1 / np.where(q1pos, q1, 1.0), np.nan)
    at_base_price = np.where(continuing, p0 * np.where(q1pos, q1, 0.0), 0.0)  # p0 q1
    per_day_base = np.where(continuing, c0 * ratio, 0.0)  # c0 D1 / D0
    change = c1 - c0
    repriced = c1 - at_base_price
    # An unchanged price gives exactly 0, not the rounding of c1 - (c0 / q0) q1; p0 q1 is then
    # c1 - price, so that the effects still add up to the change.
    repriced = np.where(np.abs(repriced) <= 1e-9 * np.abs(c1), 0.0, repriced)
    at_base_price = np.where(continuing, c1 - repriced, 0.0)
    price = np.where(continuing, repriced, np.where(unpriced, change, 0.0))
    days_eff = np.where(continuing, per_day_base - c0, 0.0)

    # Volume against the whole (per currency): growth at the whole's rate G, and mix.
    whole = _codes(wide, [CURRENCY] if CURRENCY in keys else [])
    nwhole = int(whole.max()) + 1 if len(whole) else 0
    base_sum = np.bincount(whole, weights=per_day_base, minlength=nwhole)
    moved_sum = np.bincount(whole, weights=at_base_price, minlength=nwhole)
    with np.errstate(divide="ignore", invalid="ignore"):
        growth_rate = np.where(base_sum != 0, moved_sum / base_sum - 1.0, 0.0)
    volume = np.where(continuing, per_day_base * growth_rate[whole], 0.0)
    mix = np.where(continuing, at_base_price - per_day_base - volume, 0.0)
    if not g.dimensions:  # the group is the whole: no share to shift
        volume, mix = volume + mix, np.zeros(len(mix))

    status = np.select(
        [unknown, continuing, new, retired, unpriced],
        ["unknown", "continuing", "new", "retired", "unpriced"],
        "",
    )
    figures = {
        "previous": c0,
        "current": c1,
        "change": change,
        "price_effect": price,
        "days_effect": days_eff,
        "volume_effect": volume,
        "mix_effect": mix,
        "new_effect": np.where(new, change, 0.0),
        "retired_effect": np.where(retired, change, 0.0),
    }
    money = {}
    for name, x in figures.items():
        x = np.where(unknown, np.nan, np.asarray(x, dtype=float) + 0.0)  # + 0.0: no -0.0
        money[name] = pd.array(_na(x), dtype="Float64")
    prev_na = present0 & (na0 == n0)
    cur_na = present1 & (na1 == n1)
    money["previous"] = pd.array(_na(np.where(prev_na, np.nan, c0 + 0.0)), dtype="Float64")
    money["current"] = pd.array(_na(np.where(cur_na, np.nan, c1 + 0.0)), dtype="Float64")
    items = pd.DataFrame(
        {
            **{k: wide[k] for k in item_keys},
            "status": pd.Categorical(status, categories=_PVM_STATUS),
            "previous_quantity": wide["q0"].astype("Float64"),
            "current_quantity": wide["q1"].astype("Float64"),
            "previous_unit_price": pd.array(_na(p0), dtype="Float64"),
            "current_unit_price": pd.array(_na(p1), dtype="Float64"),
            **money,
            "missing_value_rows": _missing_rows(wide, "na0", "na1"),
        }
    )
    attrs = {
        "base": (s0, e0),
        "current": (s1, e1),
        "previous_days": d0,
        "days": d1,
        "value": value,
        "item": item_col,
    }
    if detail:
        items = items.sort_values(item_keys, ignore_index=True, na_position="last")
        items.attrs["cfusage"] = attrs
        return items
    names = list(figures)
    known = items.loc[~unknown]
    if keys:
        grouped = known.groupby(keys, observed=True, dropna=False, sort=True)[names]
        out = grouped.sum(min_count=1)
        counts = (
            items.assign(_unknown=unknown)
            .groupby(keys, observed=True, dropna=False, sort=True)[
                ["_unknown", "missing_value_rows"]
            ]
            .sum()
        )
        out = counts.join(out, how="left").reset_index()
    else:  # no by and no currency column: one row
        out = pd.DataFrame(
            {name: pd.array([known[name].sum(min_count=1)], dtype="Float64") for name in names}
        ).assign(
            _unknown=int(unknown.sum()), missing_value_rows=int(items["missing_value_rows"].sum())
        )
    out = out.rename(columns={"_unknown": "unknown_items"})
    out = out.astype(dict.fromkeys(names, "Float64") | {"unknown_items": "int64"})
    out["change"] = out["current"] - out["previous"]
    out["previous_days"] = d0
    out["days"] = d1
    out = out[[*keys, *names, "unknown_items", "missing_value_rows", "previous_days", "days"]]
    out.attrs["cfusage"] = attrs
    return out


# --------------------------------------------------------------------------------------------
# budgets
# --------------------------------------------------------------------------------------------


def budget_variance(
    data: _engine.Frame,
    *,
    budget: Budget,
    by: By = None,
    freq: str = "MS",
    value: str = "effective_cost",
    thresholds: Sequence[float] = (0.5, 0.8, 1.0),
    as_of: DateLike | None = None,
) -> _engine.Frame:
    """Track cost against a budget day by day, with a run-rate forecast and alert thresholds.

    For each group and budget period (``freq``), one row per day from the start of the period to
    the end of the period or the last complete day (``as_of``), whichever comes first, for the
    periods in which the group has rows. A day without rows had no usage: its cost is 0. A day
    whose rows all have NA as value, or a day before the frame's first day (not in the data),
    has an **unknown** cost: ``actual`` is NA there and the day is counted in ``unknown_days``.

    Formulas, for day *d* of a period of ``days_in_period`` days:

    - ``days_elapsed = d - period start + 1``; ``known_days = days_elapsed - unknown_days``;
    - ``cumulative_actual``: the sum of ``actual`` over the known days so far (NA while no day
      is known);
    - ``cumulative_budget = budget x days_elapsed / days_in_period`` (linear);
    - ``variance_to_date = cumulative_actual - cumulative_budget``; NA when a day so far is
      unknown (the spend to date is not known);
    - ``forecast = cumulative_actual x days_in_period / known_days``: the run rate, built only
      on the known days (NA when there are none);
    - ``projected_variance = forecast - budget`` (positive: over budget);
    - ``threshold_crossed``: the highest of ``thresholds`` with
      ``cumulative_actual >= threshold x budget`` (NA if none, or no positive budget; with
      unknown days, what the known spend alone has crossed); ``forecast_threshold``: the
      highest one the forecast crosses by the period's end.

    Parameters
    ----------
    data : pandas.DataFrame or engine frame
        A typed usage frame: a pandas DataFrame, or a Polars, DuckDB, Spark or Ibis frame (see
        "Engines" in :mod:`cfusage.analysis._engine`). An engine frame is reduced in its engine
        to one row per by-columns x currency x UTC day x NA pattern, and only that small frame
        is collected.
    budget : float, mapping or pandas.DataFrame
        The budget per period, in the billing currency. A number applies to every group and
        period. A mapping maps, without ``by``, **periods** to amounts (``{"2026-03": 40_000}``;
        a key is a period string, a date in the period or a :class:`pandas.Period`), and with
        ``by``, **groups** to amounts for every period (``{"Workers": 3_000}``; a tuple of
        values for several by-columns; a mapping none of whose keys is a group but all are
        periods is read as period -> amount for every group; keys that are neither raise
        :class:`~cfusage.ArgumentError`). A DataFrame holds a ``budget`` column and optionally
        ``period`` and any by-columns (alias or column name) and ``billing_currency``; rows are
        matched on the columns it has. Groups or periods without a budget get NA, never 0.
    by : str, list of str or None
        Dimensions with their own budget lines.
    freq : str, default "MS"
        Budget period: ``"W"``, ``"MS"`` or ``"QS"`` (or ``"D"``).
    value : str, default "effective_cost"
        The cost column.
    thresholds : sequence of float, default (0.5, 0.8, 1.0)
        Fractions of the budget to alert on.
    as_of : date-like, optional
        The last day to count, as for :func:`period_over_period` (default: the last day with
        data, or ``data.attrs["cfusage"]["complete_through"]`` when earlier). Later rows are
        ignored.

    Returns
    -------
    pandas.DataFrame or engine frame
        Of the input's kind: pandas for pandas (with ``attrs``), otherwise the engine's (a
        Polars LazyFrame for a LazyFrame, a DuckDB relation, a Spark DataFrame...; engines keep
        no ``attrs``), with the same rows and figures.

        ``period``, the by-columns, ``billing_currency``, ``date``, ``actual``,
        ``cumulative_actual``, ``budget``, ``cumulative_budget``, ``variance_to_date``,
        ``forecast``, ``projected_variance``, ``threshold_crossed``, ``forecast_threshold``,
        ``days_elapsed``, ``days_in_period``, ``unknown_days`` (days of the period so far whose
        cost is unknown; the forecast rests on ``days_elapsed - unknown_days`` days) and
        ``missing_value_rows`` (the day's rows whose value is NA).

    Raises
    ------
    MissingColumnsError
        If ``value`` is absent or only NA.
    CurrencyError
        If the frame holds several currencies and ``budget`` is not a DataFrame with a
        ``billing_currency`` column (one amount cannot be a budget in two currencies).
    ArgumentError
        For an unknown ``freq`` or ``by``, or an unusable ``budget``.
        On an engine frame also for ``by="tag:KEY"`` (tags are a pandas column) and for a
        DuckDB connection or Spark session whose time zone is not UTC.

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
    grain = _budget_grain(freq)
    thresholds = sorted(_number(t, "thresholds") for t in thresholds)
    if _engine.is_engine(data):
        r = _reduce(data, "budget_variance", by, [value])
        return r.back(
            budget_variance(
                r.frame,
                budget=budget,
                by=by,
                freq=freq,
                value=value,
                thresholds=thresholds,
                as_of=as_of,
            )
        )
    g, d = _grouped(data, by, grain, value, "budget_variance")
    keys = list(g.keys)
    if (
        CURRENCY in d.columns
        and d[CURRENCY].nunique() > 1
        and not (isinstance(budget, pd.DataFrame) and CURRENCY in budget.columns)
    ):
        raise CurrencyError(
            f"the frame holds costs in {sorted(map(str, d[CURRENCY].dropna().unique()))}: give "
            "budget as a DataFrame with a billing_currency column (one amount per currency)"
        )
    d = d.assign(date=floor_to(d[_START], "D"))
    first, through = _span(data, d["date"], as_of)
    d = d.loc[(d["date"] <= through) & d[PERIOD].notna()]
    weight = row_weights(d)  # input rows (an engine's reduced row stands for several)
    d = d.assign(_na=np.where(d[value].isna().to_numpy(), weight, 0))

    by_day = d.groupby([*keys, "date"], observed=True, dropna=False, sort=True)
    daily = pd.DataFrame(
        {"value": by_day[value].sum(min_count=1), "na": by_day["_na"].sum()}
    ).reset_index()
    gp_group = daily.groupby(keys, observed=True, dropna=False, sort=True)
    code = gp_group.ngroup().to_numpy()
    gp = gp_group.size().reset_index()[keys]
    start = pd.DatetimeIndex(gp[PERIOD])
    end = start + _STEP[grain]
    cut = through + _DAY
    span = ((end - start) / _DAY).astype(int).to_numpy()
    n = ((end.where(end <= cut, cut) - start) / _DAY).astype(int).to_numpy()
    offsets = np.concatenate([[0], np.cumsum(n)[:-1]])
    rep = np.repeat(np.arange(len(gp)), n)
    within = np.arange(int(n.sum())) - offsets[rep]
    grid = gp.iloc[rep].reset_index(drop=True)
    grid["date"] = start[rep] + pd.to_timedelta(within, unit="D")
    at = offsets[code] + ((pd.DatetimeIndex(daily["date"]) - start[code]) / _DAY).astype(int)
    actual = np.zeros(int(n.sum()))  # no rows: no usage
    actual[at] = daily["value"].to_numpy(dtype=float, na_value=np.nan)
    actual[(grid["date"] < first).to_numpy()] = np.nan  # before the data starts: unknown
    missing = np.zeros(int(n.sum()), dtype=np.int64)
    missing[at] = daily["na"].to_numpy(dtype=np.int64)

    unknown = np.isnan(actual)
    unknown_days = pd.Series(unknown.astype(np.int64)).groupby(rep).cumsum().to_numpy()
    cumulative = pd.Series(np.where(unknown, 0.0, actual)).groupby(rep).cumsum().to_numpy()
    elapsed = within + 1
    known_days = elapsed - unknown_days
    cumulative = np.where(known_days > 0, cumulative, np.nan)
    days_in = span[rep]
    amount = _attach_budget(grid, budget, list(g.dimensions), keys, grain)
    cum_budget = amount * elapsed / days_in
    with np.errstate(divide="ignore", invalid="ignore"):
        forecast = np.where(known_days > 0, cumulative * days_in / known_days, np.nan)
    to_date = np.where(unknown_days > 0, np.nan, cumulative - cum_budget)
    result = grid.assign(
        actual=pd.array(_na(actual), dtype="Float64"),
        cumulative_actual=pd.array(_na(cumulative), dtype="Float64"),
        budget=pd.array(_na(amount), dtype="Float64"),
        cumulative_budget=pd.array(_na(cum_budget), dtype="Float64"),
        variance_to_date=pd.array(_na(to_date), dtype="Float64"),
        forecast=pd.array(_na(forecast), dtype="Float64"),
        projected_variance=pd.array(_na(forecast - amount), dtype="Float64"),
        threshold_crossed=_highest_crossed(cumulative, amount, thresholds),
        forecast_threshold=_highest_crossed(forecast, amount, thresholds),
        days_elapsed=elapsed.astype("int64"),
        days_in_period=days_in.astype("int64"),
        unknown_days=unknown_days.astype("int64"),
        missing_value_rows=missing,
    )
    result.attrs["cfusage"] = {
        "first_day": first.date(),
        "as_of": through.date(),
        "freq": grain,
        "value": value,
    }
    return result


def budget_status(
    data: _engine.Frame,
    *,
    budget: Budget,
    by: By = None,
    freq: str = "MS",
    value: str = "effective_cost",
    thresholds: Sequence[float] = (0.5, 0.8, 1.0),
    as_of: DateLike | None = None,
) -> _engine.Frame:
    """Where each budget line stands: the last day of :func:`budget_variance` per period x group.

    Parameters
    ----------
    data, budget, by, freq, value, thresholds, as_of
        As for :func:`budget_variance` (``budget`` a number, a mapping or a DataFrame).
        ``data`` is a pandas DataFrame, or a Polars, DuckDB, Spark or Ibis frame (see
        "Engines" in :mod:`cfusage.analysis._engine`), reduced in its engine to by-columns x
        currency x UTC day; ``budget`` stays a pandas object (it is small).

    Returns
    -------
    pandas.DataFrame or engine frame
        Of the input's kind: pandas for pandas (with ``attrs``), otherwise the engine's (a
        Polars LazyFrame for a LazyFrame, a DuckDB relation, a Spark DataFrame...; engines keep
        no ``attrs``), with the same rows and figures.

        One row per period x group: ``period``, the by-columns, ``billing_currency``, ``as_of``
        (the last day counted), ``actual`` (the known spend to date: ``cumulative_actual``),
        ``budget``, ``variance_to_date``, ``forecast``, ``projected_variance``,
        ``threshold_crossed``, ``forecast_threshold``, ``days_elapsed``, ``days_in_period``,
        ``unknown_days`` (days so far whose cost is unknown), ``missing_value_rows`` (rows of the
        period so far whose value is NA) and ``complete`` (the period is over).

    Raises
    ------
    MissingColumnsError, CurrencyError, ArgumentError
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
    if _engine.is_engine(data):
        _budget_grain(freq)
        r = _reduce(data, "budget_status", by, [value])
        return r.back(
            budget_status(
                r.frame,
                budget=budget,
                by=by,
                freq=freq,
                value=value,
                thresholds=thresholds,
                as_of=as_of,
            )
        )
    daily = budget_variance(
        data, budget=budget, freq=freq, by=by, value=value, thresholds=thresholds, as_of=as_of
    )
    keys = list(daily.columns[: daily.columns.get_loc("date")])
    lines = daily.groupby(keys, observed=True, dropna=False, sort=False)
    rows = lines["missing_value_rows"].transform("sum")
    last = (
        daily.assign(missing_value_rows=rows)
        .groupby(keys, observed=True, dropna=False, sort=False)
        .tail(1)
    )
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
    data: _engine.Frame,
    *,
    base: PeriodSpec,
    current: PeriodSpec,
    by: By = "metric",
    n: int = 10,
    value: str = "effective_cost",
) -> _engine.Frame:
    """The groups whose cost changed most (in absolute terms) between two periods.

    Parameters
    ----------
    data : pandas.DataFrame or engine frame
        A typed usage frame: a pandas DataFrame, or a Polars, DuckDB, Spark or Ibis frame (see
        "Engines" in :mod:`cfusage.analysis._engine`). An engine frame is reduced in its engine
        to one row per by-columns x currency x UTC day x NA pattern, and only that small frame
        is collected.
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
    pandas.DataFrame or engine frame
        Of the input's kind: pandas for pandas (with ``attrs``), otherwise the engine's (a
        Polars LazyFrame for a LazyFrame, a DuckDB relation, a Spark DataFrame...; engines keep
        no ``attrs``), with the same rows and figures.

        The ``n`` rows with the largest ``|change|``, largest first, then the groups whose change
        is unknown: the by-columns, ``billing_currency``, ``previous`` (the base period's cost:
        0 without rows, NA when all its rows have NA as value), ``current`` (likewise),
        ``change = current - previous`` (NA when either is), ``relative_change``
        (``change / |previous|``; NA when ``previous`` is 0 or NA), ``status`` (``new``: no rows
        in the base period; ``retired``: none in the current one; ``unknown``: the cost of a
        period is unknown, so the group is neither new nor continuing as far as we know;
        ``continuing``) and ``missing_value_rows``.

    Raises
    ------
    MissingColumnsError
        If ``value`` is absent or only NA.
    ArgumentError
        For unparseable or overlapping periods, an unknown dimension, or a negative ``n``.
        On an engine frame also for periods that are not whole UTC days, ``by="tag:KEY"``
        and a DuckDB connection or Spark session whose time zone is not UTC.

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
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
        raise ArgumentError(f"n={n!r}: give how many movers to return, an integer >= 0")
    if _engine.is_engine(data):
        _whole_days(_windows(base, current), "top_movers")
        r = _reduce(data, "top_movers", by, [value])
        return r.back(top_movers(r.frame, base=base, current=current, by=by, n=n, value=value))
    g, d = _grouped(data, by, None, value, "top_movers")
    keys = list(g.keys)
    (s0, e0), (s1, e1) = _windows(base, current)
    wide = _two_periods(d, keys, value, (s0, e0), (s1, e1))
    n0 = wide["n0"].fillna(0).to_numpy()
    n1 = wide["n1"].fillna(0).to_numpy()
    na0 = wide["na0"].fillna(0).to_numpy()
    na1 = wide["na1"].fillna(0).to_numpy()
    present0, present1 = n0 > 0, n1 > 0
    unknown0, unknown1 = present0 & (na0 == n0), present1 & (na1 == n1)
    prev = wide["c0"].astype("Float64").mask(~present0, 0.0).mask(unknown0, pd.NA)
    cur = wide["c1"].astype("Float64").mask(~present1, 0.0).mask(unknown1, pd.NA)
    change = cur - prev
    status = np.select(
        [unknown0 | unknown1, ~present0, ~present1], ["unknown", "new", "retired"], "continuing"
    )
    out = pd.DataFrame(
        {
            **{k: wide[k] for k in keys},
            "previous": prev,
            "current": cur,
            "change": change,
            "relative_change": safe_ratio(change, prev.abs()),
            "status": pd.Categorical(status, categories=_STATUS),
            "missing_value_rows": _missing_rows(wide, "na0", "na1"),
        }
    )
    size = np.abs(change.to_numpy(dtype=float, na_value=np.nan))
    order = np.argsort(np.where(np.isnan(size), np.inf, -size), kind="stable")
    out = out.iloc[order[: int(n)]].reset_index(drop=True)
    out.attrs["cfusage"] = {"base": (s0, e0), "current": (s1, e1), "value": value}
    return out


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def _reduce(
    data: Any,
    what: str,
    by: By,
    values: list[str],
    *,
    keys: Sequence[str] = (),
    optional: Sequence[str] = (),
) -> _engine.Reduced:
    """An engine frame reduced, in its engine, to what ``what``'s pandas code reads.

    The grain: the ``by=`` columns, ``keys``, ``billing_currency`` and ``optional`` (when the
    frame has them) x UTC day x NA pattern of ``values`` (summed; rows counted in ``ROWS``). A
    ``by=`` name the frame lacks is refused as pandas refuses it.
    """
    call = f"{what}()"
    dims = _engine.by_columns(by, call)
    names = set(_engine.columns_of(_engine.lazy(data, call)))
    given = [] if by is None else [by] if isinstance(by, str) else list(by)
    unknown = [n for n in given if DIMENSIONS.get(n, n) not in names]
    if unknown:
        known = sorted({a for a, c in DIMENSIONS.items() if c in names} | (names - {_START}))
        raise ArgumentError(
            f"{what}: by={unknown[0]!r} is not a dimension of this frame; use one of {known}"
        )
    return _engine.reduce(
        data, call, keys=[*dims, *keys], values=values, optional=[CURRENCY, *optional]
    )


def _budget_grain(freq: str) -> str:
    """The canonical budget grain; ``billing_period`` has no calendar to spread a budget on."""
    grain = freq_of(freq)
    if grain == "billing_period":
        raise ArgumentError(
            f"freq={freq!r}: budget_variance needs a calendar grain ('D', 'W', 'MS' or 'QS')"
        )
    return grain


def _whole_days(windows: Sequence[tuple[pd.Timestamp, pd.Timestamp]], what: str) -> None:
    """An engine frame is reduced to UTC days: a period must start and end at UTC midnight."""
    for start, end in windows:
        for t in (start, end):
            if t != t.floor("D"):
                raise ArgumentError(
                    f"{what}: the period {start} to {end} does not start and end at UTC midnight; "
                    "an engine frame is compared by whole UTC days (give dates or day periods)"
                )


def _unit(quantity: str) -> str:
    """The unit column of a quantity column (``pricing_unit`` for ``pricing_quantity``)."""
    return _UNITS.get(quantity, quantity.removesuffix("_quantity") + "_unit")


def _grouped(
    df: pd.DataFrame, by: By, freq: str | None, value: str, what: str
) -> tuple[Grouping, pd.DataFrame]:
    """Check the columns, resolve ``by``/``freq`` (the one :class:`Grouping`), warn about NA."""
    require(df, [value, _START], what)
    g = grouping(df, by, freq)
    _warn_missing(g.frame, value, what)
    return g, g.frame


def _warn_missing(d: pd.DataFrame, value: str, what: str) -> None:
    """Warn with the number of rows (input rows: :func:`row_weights`) whose value is NA."""
    weights = row_weights(d)
    n = int(weights[d[value].isna().to_numpy()].sum())
    if n:
        warnings.warn(
            f"{what}: {n} of {int(weights.sum())} rows have no {value} (NA); they are left out "
            "of the sums, not counted as 0",
            UserWarning,
            stacklevel=3,
        )


def _utc(x: Any, name: str) -> pd.Timestamp:
    """The UTC midnight of the day ``x`` falls on (:func:`cfusage.io.utc_day`)."""
    return pd.Timestamp(utc_day(x, name)).tz_localize("UTC").as_unit("us")


def _span(df: pd.DataFrame, day: pd.Series, as_of: Any) -> tuple[pd.Timestamp, pd.Timestamp]:
    """(first day, last complete day) the frame covers, as UTC midnights.

    The first day is the first day with data. The last complete day is ``as_of`` when given;
    else the last day with data, or ``df.attrs["cfusage"]["complete_through"]`` (the source's
    recency) when that is earlier, so that a stale attribute never outlives a filter.
    """
    first, last = day.min(), day.max()
    if pd.isna(last):
        raise DataError("charge_period_start holds no dates")
    first, last = pd.Timestamp(first), pd.Timestamp(last)
    if as_of is not None:
        through = _utc(as_of, "as_of")
        if through < first:
            raise ArgumentError(
                f"as_of={as_of!r} is before the frame's first day ({first.date()}): "
                "there is nothing to count"
            )
        return first, through
    stated = (df.attrs.get("cfusage") or {}).get("complete_through")
    if stated is None:
        return first, last
    through = min(_utc(stated, "complete_through"), last)
    if through < first:
        raise DataError(
            f"the frame says it is complete through {through.date()} (attrs), before its first "
            f"day {first.date()}: no day of it is complete; pass as_of= to count it anyway"
        )
    return first, through


def _covered_days(d: pd.DataFrame, window: tuple[pd.Timestamp, pd.Timestamp]) -> int:
    """Days of ``window`` from the frame's first to its last day with data."""
    days = floor_to(d[_START], "D")
    first, last = days.min(), days.max() + _DAY
    lo, hi = max(window[0], first), min(window[1], last)
    return max(int((hi - lo) / _DAY), 0)


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
        starts = pd.DatetimeIndex(ends_by_start.index).sort_values().as_unit("us")
        ends = pd.DatetimeIndex(ends_by_start.reindex(starts).to_numpy())
        nxt = pd.DatetimeIndex([*starts[1:], through + _DAY]).as_unit("us")
        ends = pd.DatetimeIndex(np.where(ends.isna(), nxt, ends.as_unit("us"))).tz_localize(None)
        ends = ends.tz_localize("UTC") if ends.tz is None else ends
        return starts, ends.as_unit("us")
    first = d[PERIOD].min()
    last = max(d[PERIOD].max(), floor_to(pd.Series([through]), grain).iloc[0])
    starts = pd.date_range(first, last, freq=_CALENDAR[grain]).as_unit("us")
    return starts, (starts + _STEP[grain]).as_unit("us")


def _sum_by(d: pd.DataFrame, keys: list[str], value: str) -> pd.DataFrame:
    """Per group: ``value`` (sum, NA when every row is NA), ``n`` (rows), ``na`` (NA rows).

    Rows are counted with their :func:`row_weights` (input rows on an engine's reduced frame).
    """
    w = row_weights(d)
    d = d.assign(_n=w, _nna=np.where(d["_na"].to_numpy(dtype=bool), w, 0))
    g = d.groupby(keys, observed=True, dropna=False, sort=False)
    out = pd.DataFrame(
        {"value": g[value].sum(min_count=1), "n": g["_n"].sum(), "na": g["_nna"].sum()}
    )
    return out.reset_index()


def _window(spec: Any, name: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """(start, end) of a period given as a string, a Period or a (start, end) pair."""
    if isinstance(spec, tuple):
        if len(spec) != 2:
            raise ArgumentError(f"{name}={spec!r}: give a (start, end) pair")
        start, end = _utc(spec[0], name), _utc(spec[1], name)
        if end <= start:
            raise ArgumentError(f"{name}={spec!r}: end must be after start (end is exclusive)")
        return start, end
    if isinstance(spec, str):
        try:
            spec = pd.Period(spec)
        except (TypeError, ValueError) as exc:
            raise ArgumentError(
                f"{name}={spec!r} is not a period; use '2026-03', '2026-Q1', '2026-03-14', "
                "a pandas.Period or a (start, end) pair"
            ) from exc
    if isinstance(spec, pd.Period):
        start = spec.start_time.tz_localize("UTC")
        end = (spec + 1).start_time.tz_localize("UTC")
        return start.as_unit("us"), end.as_unit("us")
    raise ArgumentError(
        f"{name}={spec!r} is not a period; use a string, a pandas.Period or a (start, end) pair"
    )


def _windows(
    base: Any, current: Any
) -> tuple[tuple[pd.Timestamp, pd.Timestamp], tuple[pd.Timestamp, pd.Timestamp]]:
    """(start, end) of ``base`` and of ``current`` (as :func:`_window`); they must not overlap."""
    (s0, e0), (s1, e1) = _window(base, "base"), _window(current, "current")
    if s0 < e1 and s1 < e0:
        raise ArgumentError(f"base={base!r} and current={current!r} overlap")
    return (s0, e0), (s1, e1)


def _in_window(t: pd.Series, w: tuple[pd.Timestamp, pd.Timestamp]) -> np.ndarray:
    return ((t >= w[0]) & (t < w[1])).to_numpy(dtype=bool, na_value=False)


def _check_units(
    d: pd.DataFrame,
    item_keys: list[str],
    item_col: str,
    quantity: str,
    windows: tuple[tuple[pd.Timestamp, pd.Timestamp], ...],
) -> None:
    """Raise :class:`DataError` naming an item priced in two units in the compared periods."""
    unit = _unit(quantity)
    if unit not in d.columns:
        return
    t = d[_START]
    rows = np.logical_or.reduce([_in_window(t, w) for w in windows])
    sub = d.loc[rows & d[unit].notna().to_numpy(), [*item_keys, unit]]
    if sub.empty:
        return
    sub = sub.assign(**{unit: sub[unit].astype("str")})
    counts = sub.groupby(item_keys, observed=True, dropna=False)[unit].nunique()
    mixed = counts[counts > 1]
    if mixed.empty:
        return
    label = mixed.index[0]
    label = label if isinstance(label, tuple) else (label,)
    where = dict(zip(item_keys, label, strict=True))
    units = sorted(sub.loc[(sub[item_keys] == pd.Series(where)).all(axis=1), unit].unique())
    others = f" (and {len(mixed) - 1} more)" if len(mixed) > 1 else ""
    raise DataError(
        f"price_volume_mix: item {item_col}={where[item_col]!r}{others} is priced in several "
        f"units in the compared periods ({units}, column {unit}); a unit price compares like "
        f"with like only in one unit: convert {quantity} to one unit first"
    )


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
    in0, in1 = _in_window(t, w0), _in_window(t, w1)
    either = in0 | in1
    sub = d.loc[either, keys]
    cost = d.loc[either, value]
    weight = row_weights(d)[either]  # input rows (an engine's reduced row stands for several)
    extra = {
        "_c": cost,
        "_n": weight,
        "_na": np.where(cost.isna().to_numpy(), weight, 0),
        "_side": in1[either].astype("int8"),
    }
    if quantity is not None:
        extra["_q"] = d.loc[either, quantity].where(cost.notna())
    sub = sub.assign(**extra)
    spec: dict[str, tuple[str, str]] = {"c": ("_c", "sum"), "n": ("_n", "sum")}
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


def _number(x: Any, name: str) -> float:
    """``x`` as a float, or :class:`ArgumentError` naming ``name`` and the value."""
    if isinstance(x, bool):
        raise ArgumentError(f"{name}: {x!r} is not an amount")
    try:
        return float(x)
    except (TypeError, ValueError):
        raise ArgumentError(f"{name}: {x!r} is not an amount") from None


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
            raise ArgumentError(
                f"budget: period {label!r} is not a period; use '2026-03', a date or a Period"
            ) from exc
    else:
        try:
            ts = pd.Timestamp(label)
        except (TypeError, ValueError) as exc:
            raise ArgumentError(f"budget: period {label!r} is not a period") from exc
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return floor_to(pd.Series([ts]), grain).iloc[0]


def _attach_budget(
    grid: pd.DataFrame, budget: Budget, cols: list[str], keys: list[str], grain: str
) -> np.ndarray:
    """The budget amount of each grid row as a float array (NaN where none was given)."""
    if isinstance(budget, int | float | np.number) and not isinstance(budget, bool):
        return np.full(len(grid), _number(budget, "budget"))
    if isinstance(budget, Mapping):
        if not cols:
            table = pd.DataFrame(
                {
                    PERIOD: [_period_start(k, grain) for k in budget],
                    "budget": [_number(v, f"budget[{k!r}]") for k, v in budget.items()],
                }
            )
        else:
            table = _group_budget(grid, budget, cols, grain)
    elif isinstance(budget, pd.DataFrame):
        if "budget" not in budget.columns:
            raise ArgumentError(
                f"budget: a DataFrame needs a 'budget' column; it has {list(budget)}"
            )
        table = budget.rename(columns={a: DIMENSIONS[a] for a in budget.columns if a in DIMENSIONS})
        if PERIOD in table.columns:
            table = table.assign(**{PERIOD: [_period_start(p, grain) for p in table[PERIOD]]})
    else:
        raise ArgumentError(f"budget={budget!r}: give a number, a mapping or a DataFrame")
    on = [c for c in dict.fromkeys([*keys, PERIOD]) if c in table.columns]
    unknown = [c for c in table.columns if c not in on and c != "budget"]
    if unknown:
        raise ArgumentError(f"budget columns {unknown} match no by-column of this call ({keys})")
    if table.duplicated(on).any():
        raise ArgumentError(f"budget has several amounts for the same {on}")
    left = pd.DataFrame({c: _merge_key(grid[c]) for c in on})
    right = pd.DataFrame({c: _merge_key(table[c]) for c in on}).assign(
        budget=pd.to_numeric(table["budget"]).astype(float).to_numpy()
    )
    merged = left.merge(right, on=on, how="left") if on else left.assign(budget=right["budget"][0])
    return merged["budget"].to_numpy(dtype=float)


def _group_budget(
    grid: pd.DataFrame, budget: Mapping[Any, Any], cols: list[str], grain: str
) -> pd.DataFrame:
    """A mapping budget with ``by=``: group -> amount; period -> amount when no key is a group."""
    amounts = [_number(v, f"budget[{k!r}]") for k, v in budget.items()]
    labels = [k if isinstance(k, tuple) else (k,) for k in budget]
    groups = set(grid[cols].astype("string").itertuples(index=False, name=None))
    if not any(tuple(map(str, k)) in groups for k in labels):
        try:
            periods = [_period_start(k, grain) for k in budget]
        except ArgumentError:
            shown = sorted(map(str, groups))[:5]
            raise ArgumentError(
                f"budget: no key of {list(budget)[:5]} is a {cols} group of this frame (it has "
                f"{shown}{', ...' if len(groups) > 5 else ''}) nor a period"
            ) from None
        return pd.DataFrame({PERIOD: periods, "budget": amounts})
    if any(len(k) != len(cols) for k in labels):
        raise ArgumentError(
            f"budget keys must be one value per by-column {cols} (a tuple for several)"
        )
    return pd.DataFrame(labels, columns=cols).assign(budget=amounts)


def _merge_key(s: pd.Series) -> pd.Series:
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        return s.dt.tz_convert("UTC").astype("datetime64[us, UTC]").reset_index(drop=True)
    return s.astype("string").reset_index(drop=True)
