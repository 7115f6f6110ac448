"""Cost anomalies: robust scores against a weekday-aware trailing baseline, grouped into events.

:func:`anomalies` scores every day (or week, month) of every group against the same group's recent
history, with the weekly rhythm and the monthly free-allowance reset taken out first;
:func:`describe_anomalies` turns runs of flagged days into ranked events (start, end, cost impact)
with a sentence each ("R2 Class A Operations in account Acme were 9.1x their usual level on
2026-03-14 ...").

Both take a pandas frame or an engine's frame (Polars, DuckDB, Spark, Ibis: see
:mod:`cfusage.analysis._engine`) and return the input's kind. On an engine, :func:`anomalies`
aggregates the daily series per group in the engine (each row's pre-allowance cost is computed
per row there first, a window over the metric's units), collects that series (groups x days, not
rows) and scores it with the same numpy code; :func:`describe_anomalies` collects the scored
series it is given.
"""

from __future__ import annotations

import warnings
from typing import Any

import narwhals.stable.v2 as nw
import numpy as np
import pandas as pd

from ..errors import ArgumentError
from . import _engine
from ._engine import Frame
from ._grouping import (
    CURRENCY,
    DIMENSIONS,
    PERIOD,
    By,
    freq_of,
    grouping,
    require,
    row_weights,
)

__all__ = ["anomalies", "describe_anomalies"]

#: MAD x 1.4826 estimates the standard deviation of normally distributed data.
MAD_SCALE = 1.4826
#: Whole weeks (Monday to Sunday) the weekday factors are measured on (daily grain).
SEASON_WEEKS = 8
#: Fewest values each weekday needs in those weeks before weekday factors are used.
MIN_PER_WEEKDAY = 3

_CALENDAR = {"D": "D", "W": "W-MON", "MS": "MS", "QS": "QS-JAN"}
_CHUNK = 1 << 15  # cells scored at once (memory: chunk x window)
_COSTS = {
    "list_cost": "list_unit_price",
    "contracted_cost": "contracted_unit_price",
    "effective_cost": "contracted_unit_price",
    "billed_cost": "contracted_unit_price",
}
_EVENT_FIGURES = [
    "kind",
    "periods",
    "actual",
    "expected",
    "impact",
    "peak",
    "score",
    "ratio",
    "description",
]
_LIFECYCLE = ("started", "stopped")
#: The engine path's per-row pre-allowance cost (computed in the engine, summed per day).
_PRE = "_cfusage_pre"
_START = "charge_period_start"


def anomalies(
    data: Frame,
    *,
    by: By = None,
    freq: str = "D",
    value: str = "effective_cost",
    window: int = 28,
    min_cost: float = 1.0,
    threshold: float = 3.5,
    min_history: int = 7,
    relative_floor: float = 0.10,
    seasonality: bool = True,
    allowance: bool = True,
) -> Frame:
    """Score each period of each group against its usual level, robustly.

    The method, per group (``by``) and period (``freq``), checkable by hand:

    1. **What is scored.** ``actual`` = the sum of ``value`` over the group's rows that period.
       With ``allowance=True`` the score uses the *pre-allowance* cost ``actual + allowance``:
       free allowances are used up in day order each billing period, so each month's first days
       cost less (often $0) while usage is unchanged. A row's pre-allowance cost is ``value x
       consumed_quantity / (pricing_quantity x block)`` (``block`` = the metric's consumed units
       per pricing unit: the smallest ``consumed_quantity / pricing_quantity`` of its rows, which
       is exact on every fully billed row), and ``consumed_quantity / block x`` the unit price
       (``list_unit_price`` for ``list_cost``, else ``contracted_unit_price``) for a row wholly
       covered (``pricing_quantity`` 0). ``allowance`` = what the free allowance took off that
       period; 0 where nothing was free or the frame cannot tell.
    2. **Weekly seasonality** (daily grain, ``seasonality=True``). For a day in a given week
       (Monday to Sunday), each weekday's factor = the median of that weekday over the group's 8
       whole weeks before that week / the median of all those 56 days (used once every weekday
       has 3 values and that median is above 0; else every factor is 1, as in a group's first 3
       weeks). A weekend that usually costs 40 % less has factor about 0.6.
    3. **Expected value and band.** Each of the previous ``window`` periods is divided by its
       weekday factor (``y``). ``m1``, ``m2`` = the medians of the older and the newer half of
       the window (14 days each by default); the level ``m = max(m2 + (m2 - m1) / 14 x 7.5,
       0)`` carries the newer half's median (centred 7.5 days back) to today along the trend
       between the halves, 14 days apart (so that a growing metric is not always above its
       trailing median; a window under 14 periods uses its plain median). ``MAD`` = median of
       the distances of ``y`` from that line; ``f`` = today's weekday factor. The usual
       pre-allowance cost is ``u = f x m``; ``expected = max(u - allowance, 0)``, the usual cost
       less the free allowance this period received, so that ``actual - expected`` is the
       departure at pre-allowance prices (unless the allowance exceeded ``u``).
       ``scale = max(1.4826 x f x MAD, relative_floor x u, min_cost / threshold)`` (the MAD is 0
       for a flat history; with the defaults no departure under 35 % of the usual level is an
       anomaly); ``lower`` / ``upper`` = ``expected -/+ threshold x scale``.
    4. **Score.** ``score = (actual + allowance - u) / scale`` (positive: spike, negative:
       drop); ``ratio = (actual + allowance) / u``, the period against its usual level (NA when
       ``u`` is 0). ``is_anomaly = |score| > threshold`` **and** ``|actual + allowance - u| >=
       min_cost``, so that a jump from $0.01 to $0.10 is not flagged.

    History: a group costs 0 on the periods before its first row in the frame (it did not exist:
    new usage is scored against nothing, and is an anomaly until its level catches up) and on a
    period without rows after it (``filled``: a group that stops is a real drop); output rows
    start at the group's first row. Periods with fewer than ``min_history`` values in their window
    get no score (NA, never an anomaly), and so do weeks, months or quarters the data covers only
    in part (at either end; listed in ``attrs["cfusage"]["partial"]``), which are no history
    either. **An unknown cost is never 0**: a period with a row whose ``value`` is NA has
    ``actual`` NA, is not scored, is no history for later periods, and is counted in ``missing``
    (rows) and ``attrs["cfusage"]["unscored"]`` (periods). Runs of flagged periods become events
    in :func:`describe_anomalies`.

    Parameters
    ----------
    data : pandas.DataFrame or an engine's frame
        A typed usage frame: a pandas DataFrame, or a Polars, DuckDB, Spark or Ibis frame (see
        "Engines" in :mod:`cfusage.analysis._engine`). On an engine the daily series per group
        (and each row's pre-allowance cost, computed per row in the engine) is aggregated in the
        engine, and only that small series is collected and scored: the figures are the same.
    by : str, list of str or None
        Dimensions scored separately (``["metric", "account"]``); None scores the total.
    freq : str, default "D"
        Grain: ``"D"``, ``"W"``, ``"MS"`` or ``"QS"``.
    value : str, default "effective_cost"
        The cost column.
    window : int, default 28
        Number of trailing periods forming the baseline.
    min_cost : float, default 1.0
        Smallest absolute departure from the expected cost (in the billing currency) that can be
        an anomaly.
    threshold : float, default 3.5
        Robust score above which (in absolute value) a period is anomalous.
    min_history : int, default 7
        Fewest values the window must hold for a score.
    relative_floor : float, default 0.10
        Floor of the scale as a fraction of the usual level.
    seasonality : bool, default True
        Take the weekly rhythm out (daily grain only; ignored at other grains).
    allowance : bool, default True
        Score the pre-allowance cost (needs ``consumed_quantity`` and ``pricing_quantity``; a
        frame without them is scored on ``value`` as it is).

    Returns
    -------
    pandas.DataFrame or an engine's frame
        Of the input's kind (pandas in, pandas out; a Polars LazyFrame in, a Polars LazyFrame
        out; a DuckDB relation, a Spark DataFrame). One row per group x period: ``period``, the
        by-columns, ``billing_currency``, then
        ``actual``, ``expected``, ``lower``, ``upper``, ``score``, ``ratio``, ``direction``
        (``"spike"`` / ``"drop"``, NA when there is no score or no departure), ``is_anomaly``,
        ``history`` (values in the window), ``filled`` (no rows that period: counted as 0),
        ``missing`` (rows without ``value``), ``allowance`` and ``weekday_factor`` (``f``).
        Rows are ordered by group, then period. ``result.attrs["cfusage"]`` records ``by``,
        ``value``, ``freq``, ``threshold``, ``min_cost``, ``seasonality``, ``allowance``,
        ``unscored`` (periods not scored because a cost was unknown) and ``partial`` (pandas
        results only: an engine's frame has no attrs).

    Raises
    ------
    MissingColumnsError
        If ``value`` or ``charge_period_start`` is absent or only NA.
    ArgumentError
        For a bad ``window``, ``min_history``, ``threshold``, ``min_cost``, ``freq`` or ``by``.

    Examples
    --------
    >>> import pandas as pd
    >>> from cfusage.analysis._anomalies import anomalies
    >>> days = pd.date_range("2026-03-01", periods=15, tz="UTC")
    >>> data = pd.DataFrame({
    ...     "charge_period_start": days,
    ...     "effective_cost": pd.array([10.0] * 14 + [90.0], dtype="Float64"),
    ... })
    >>> r = anomalies(data)
    >>> r.loc[r["is_anomaly"], ["period", "actual", "expected", "ratio", "direction"]]
                          period  actual  expected  ratio direction
    14 2026-03-15 00:00:00+00:00    90.0      10.0    9.0     spike
    """
    grain = freq_of(freq)
    if grain == "billing_period":
        raise ArgumentError("anomalies needs a calendar freq ('D', 'W', 'MS' or 'QS')")
    if int(window) < 1 or int(min_history) < 1 or int(min_history) > int(window):
        raise ArgumentError(
            f"window={window!r} and min_history={min_history!r}: need 1 <= min_history <= window"
        )
    if not threshold > 0 or not min_cost >= 0 or not relative_floor >= 0:
        raise ArgumentError(
            f"threshold={threshold!r}, min_cost={min_cost!r} and relative_floor="
            f"{relative_floor!r}: need threshold > 0, min_cost >= 0 and relative_floor >= 0"
        )
    window, min_history = int(window), int(min_history)
    reduced = None
    if _engine.is_engine(data):  # the daily series per group, aggregated in the engine
        reduced = _reduce(data, by, value, allowance)
        data = reduced.frame
    require(data, [value, _START], "anomalies")
    g = grouping(data, by, grain)
    keys = [k for k in g.keys if k != PERIOD]
    d = g.frame.loc[g.frame[PERIOD].notna()]
    v = d[value].to_numpy(dtype=float, na_value=np.nan)
    weight = row_weights(d)  # input rows per row (an engine's reduced rows stand for several)
    n_missing = int(weight[np.isnan(v)].sum())
    if n_missing:
        warnings.warn(
            f"anomalies: {n_missing} of {int(weight.sum())} rows have no {value} (NA); a period "
            "with such a row is not scored (its actual is NA) and is counted in the 'missing' "
            "column",
            UserWarning,
            stacklevel=2,
        )
    if not allowance:
        pre = v
    elif reduced is not None:  # computed per row in the engine (NA exactly where v is)
        pre = d[_PRE].to_numpy(dtype=float, na_value=np.nan) if _PRE in d.columns else v
    else:
        pre = _pre_allowance(d, value, v)
    cells = pd.DataFrame(
        {"v": v, "pre": pre, "missing": np.where(np.isnan(v), weight, 0)}, index=d.index
    )
    cells[[*keys, PERIOD]] = d[[*keys, PERIOD]]
    agg = (
        cells.groupby([*keys, PERIOD], observed=True, dropna=False, sort=True)
        .agg(v=("v", "sum"), pre=("pre", "sum"), missing=("missing", "sum"))
        .reset_index()
    )
    unknown = agg["missing"].to_numpy() > 0
    agg.loc[unknown, ["v", "pre"]] = np.nan

    if agg.empty:  # no dated rows: an empty result with the usual columns
        agg = agg.assign(**{PERIOD: pd.Series(dtype="datetime64[us, UTC]")})
    start, end = (agg[PERIOD].min(), agg[PERIOD].max()) if len(agg) else (None, None)
    calendar = (
        pd.date_range(start, end, freq=_CALENDAR[grain])
        if len(agg)
        else pd.DatetimeIndex([], dtype="datetime64[us, UTC]")
    )
    length = len(calendar)
    pos = calendar.as_unit("us").get_indexer(pd.DatetimeIndex(agg[PERIOD]).as_unit("us"))
    if keys:
        code = agg.groupby(keys, observed=True, dropna=False, sort=True).ngroup().to_numpy()
    else:
        code = np.zeros(len(agg), dtype=np.int64)
    n_groups = int(code.max()) + 1 if len(code) else 0
    first_row = np.flatnonzero(np.r_[True, code[1:] != code[:-1]]) if len(code) else code
    first_pos = pos[first_row]

    # one row per group, one column per calendar period; 0 where the group had no rows
    actual = np.zeros((n_groups, length))
    basis = np.zeros((n_groups, length))
    filled = np.ones((n_groups, length), dtype=bool)
    missing = np.zeros((n_groups, length), dtype=np.int64)
    actual[code, pos] = agg["v"].to_numpy(dtype=float)
    basis[code, pos] = agg["pre"].to_numpy(dtype=float)
    filled[code, pos] = False
    missing[code, pos] = agg["missing"].to_numpy(dtype=np.int64)

    # a period the data covers only in part (at either end of the frame) is neither scored nor
    # history: a week of 3 days is not a drop
    partial = _partial_periods(d[_START], calendar, grain)
    history_basis = basis.copy()
    history_basis[:, partial] = np.nan
    seasonal = bool(seasonality) and grain == "D"
    out_g, out_t = np.nonzero(np.arange(length)[None, :] >= first_pos[:, None])
    before = np.arange(length)[None, :] < first_pos[:, None]
    weekly = np.where(before, np.nan, history_basis) if seasonal else None
    monday = int(calendar[0].day_of_week) if len(calendar) else 0  # weekday of period 0
    level, mad, history, factor = (
        a[out_g, out_t] for a in _baseline(history_basis, weekly, window, monday)
    )
    x = basis[out_g, out_t]
    act = actual[out_g, out_t]
    ok = (history >= min_history) & ~np.isnan(x) & ~partial[out_t]
    usual = np.where(ok, factor * level, np.nan)  # the usual pre-allowance cost
    floor = max(min_cost / threshold, np.finfo(float).tiny)
    scale = np.fmax(np.fmax(MAD_SCALE * factor * mad, relative_floor * np.abs(usual)), floor)
    scale = np.where(ok, scale, np.nan)
    free = x - act  # NaN where the cost is unknown
    expected = usual - np.fmin(free, usual)  # the usual cost less the free allowance, >= 0
    diff = x - usual
    score = diff / scale
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(usual != 0, x / usual, np.nan)
    is_anomaly = (np.abs(score) > threshold) & (np.abs(diff) >= min_cost)
    direction = np.where(np.isnan(score) | (diff == 0), -1, np.where(diff > 0, 0, 1))

    labels = agg.iloc[first_row][keys].reset_index(drop=True)
    out = pd.DataFrame({PERIOD: calendar[out_t]})
    out = pd.concat([out, labels.iloc[out_g].reset_index(drop=True)], axis=1)
    out = out.assign(
        actual=_float(act),
        expected=_float(expected),
        lower=_float(expected - threshold * scale),
        upper=_float(expected + threshold * scale),
        score=_float(score),
        ratio=_float(ratio),
        direction=pd.Categorical.from_codes(direction, categories=["spike", "drop"]),
        is_anomaly=is_anomaly,
        history=history.astype("int64"),
        filled=filled[out_g, out_t],
        missing=missing[out_g, out_t],
        allowance=_float(free),
        weekday_factor=_float(np.where(ok, factor, np.nan)),
    )
    out.attrs["cfusage"] = {
        "by": list(g.dimensions),
        "value": value,
        "freq": grain,
        "threshold": threshold,
        "min_cost": min_cost,
        "seasonality": seasonal,
        "allowance": bool(allowance),
        "unscored": int(np.isnan(act).sum()),
        "partial": [p.date().isoformat() for p in calendar[partial]],
    }
    return out if reduced is None else reduced.back(out)


def describe_anomalies(data: Frame, *, n: int | None = 5) -> Frame:
    """The events of an :func:`anomalies` result, ranked, each with a sentence.

    An **event** is a run of consecutive flagged periods of one group in the same direction (a
    product that stops is one event, not one per day). Its figures:

    - ``start`` / ``end``: first and last flagged period; ``periods``: how many (days at the
      daily grain);
    - ``actual`` / ``expected``: their sums over the run; ``impact`` = ``actual - expected``
      (the cost impact: what the run cost above, or below, the usual level);
    - ``peak``, ``score``, ``ratio``: the period with the largest ``|score|``, its score and ratio;
    - ``kind``: ``"spike"`` or ``"drop"``; ``"started"`` for a spike of a group that cost
      nothing before (usual level 0 and no cost on its earlier rows: new usage); ``"stopped"``
      for a drop to 0 after which the group never costs anything again (a retired product).

    Events are ranked by ``|impact|``, largest first, the anomalies (spikes and drops) before
    the lifecycle changes (started, stopped: usually planned, and what
    :func:`cfusage.top_movers` reports as new and retired).

    Parameters
    ----------
    data : pandas.DataFrame or an engine's frame
        What :func:`anomalies` returned (possibly filtered to some periods or groups): a pandas
        DataFrame, or a Polars, DuckDB, Spark or Ibis frame (see "Engines" in
        :mod:`cfusage.analysis._engine`), which is collected (one row per group x period: the
        scored series, not usage rows). An engine's frame has no attrs: its by-columns are the
        columns before ``billing_currency`` (or ``actual``), and its grain is read from its
        periods (quarters when every period starts a quarter and they are at least 89 days
        apart, months likewise for the 1st and 28 days, weeks for Mondays and 7 days, else
        days; days for a single period).
    n : int or None, default 5
        How many events, at most; None for all.

    Returns
    -------
    pandas.DataFrame or an engine's frame
        Of the input's kind. One row per event: ``start``, ``end``, the by-columns, ``billing_currency``, then
        ``kind``, ``periods``, ``actual``, ``expected``, ``impact``, ``peak``, ``score``,
        ``ratio`` and ``description`` (a sentence). Empty (with these columns) when nothing is
        flagged. ``attrs["cfusage"]`` records ``by``, ``freq`` and ``events`` (how many in all,
        before ``n``).

    Raises
    ------
    MissingColumnsError
        If ``data`` lacks the columns :func:`anomalies` produces.
    ArgumentError
        If ``n`` is negative.

    Examples
    --------
    >>> import pandas as pd
    >>> from cfusage.analysis._anomalies import anomalies, describe_anomalies
    >>> df = pd.DataFrame({
    ...     "charge_period_start": pd.date_range("2026-03-01", periods=15, tz="UTC"),
    ...     "x_billable_metric_name": ["R2 Class A Operations"] * 15,
    ...     "billing_currency": ["USD"] * 15,
    ...     "effective_cost": pd.array([10.0] * 14 + [91.0], dtype="Float64"),
    ... })
    >>> events = describe_anomalies(anomalies(df, by="metric"))
    >>> events[["start", "kind", "periods", "impact"]]
           start   kind  periods  impact
    0 2026-03-15  spike        1    81.0
    >>> print(events.loc[0, "description"])
    R2 Class A Operations were 9.1x their usual level on 2026-03-15 (91.00 USD against a usual 10.00 USD).
    """
    if n is not None and int(n) < 0:
        raise ArgumentError(f"n={n!r}: give a count >= 0, or None for every event")
    if _engine.is_engine(data):  # a scored series: small, collected
        scored = _engine.to_pandas(_engine.lazy(data, "describe_anomalies()"))
        if PERIOD in scored.columns:
            scored[PERIOD] = _utc(scored[PERIOD])
            scored.attrs["cfusage"] = {"by": _guess_by(scored), "freq": _grain_of(scored[PERIOD])}
        return _engine.Reduced(frame=scored, native=data).back(describe_anomalies(scored, n=n))
    require(
        data,
        ["is_anomaly", PERIOD, "actual", "expected", "ratio", "score"],
        "describe_anomalies",
    )
    meta = data.attrs.get("cfusage", {})
    by = [c for c in meta.get("by", _guess_by(data)) if c in data.columns]
    freq = meta.get("freq", "D")
    keys = [*by, CURRENCY] if CURRENCY in data.columns else by
    rows = data.sort_values([*keys, PERIOD], kind="stable").reset_index(drop=True)
    code = _codes(rows, keys)
    flag = rows["is_anomaly"].to_numpy(dtype=bool, na_value=False)
    act = rows["actual"].to_numpy(dtype=float, na_value=np.nan)
    exp = rows["expected"].to_numpy(dtype=float, na_value=np.nan)
    score = rows["score"].to_numpy(dtype=float, na_value=0.0)
    # cost seen on a group's rows strictly before / after each row (NA counts: it may be cost)
    has_cost = (act != 0) | np.isnan(act)
    frame = pd.DataFrame({"code": code, "c": has_cost})
    before = frame.groupby("code")["c"].cumsum().to_numpy() - has_cost
    after = frame.iloc[::-1].groupby("code")["c"].cumsum().to_numpy()[::-1] - has_cost

    columns = ["start", "end", *keys, *_EVENT_FIGURES]
    idx = np.flatnonzero(flag)
    if not len(idx):
        empty = pd.DataFrame({c: pd.Series(dtype=rows[c].dtype) for c in keys})
        events = pd.DataFrame(columns=[c for c in columns if c not in keys])
        events = pd.concat([events, empty], axis=1)[columns]
        events.attrs["cfusage"] = {"by": by, "freq": freq, "events": 0}
        return events
    period = pd.DatetimeIndex(rows[PERIOD].iloc[idx])
    step = (
        pd.DateOffset(months=3 if freq == "QS" else 1)
        if freq in ("MS", "QS")
        else pd.Timedelta(days=7 if freq == "W" else 1)
    )
    nxt = period + step
    sign = np.sign(score[idx])
    c = code[idx]
    same = np.r_[False, (c[1:] == c[:-1]) & (period[1:] == nxt[:-1]) & (sign[1:] == sign[:-1])]
    run = np.cumsum(~same) - 1
    first = idx[~same]
    last = idx[np.r_[~same[1:], True]]
    strength = np.abs(score[idx])
    order = np.lexsort((-strength, run))
    peak = idx[order[np.r_[True, run[order][1:] != run[order][:-1]]]]
    sums = pd.DataFrame({"run": run, "a": act[idx], "e": exp[idx]}).groupby("run").sum()
    periods = np.bincount(run)
    spike = score[first] > 0
    ratio_all = rows["ratio"].to_numpy(dtype=float, na_value=np.nan)
    started = spike & (before[first] == 0) & np.isnan(ratio_all[first])  # usual level 0
    zero_run = pd.Series(act[idx] == 0).groupby(run).all().to_numpy()
    stopped = ~spike & zero_run & (after[last] == 0)
    kind = np.where(
        started, "started", np.where(stopped, "stopped", np.where(spike, "spike", "drop"))
    )
    impact = sums["a"].to_numpy() - sums["e"].to_numpy()

    events = rows.iloc[first][keys].reset_index(drop=True)
    events.insert(0, "start", _day(rows[PERIOD].iloc[first]))
    events.insert(1, "end", _day(rows[PERIOD].iloc[last]))
    events = events.assign(
        kind=pd.Categorical(kind, categories=["spike", "drop", "started", "stopped"]),
        periods=periods.astype("int64"),
        actual=_float(sums["a"].to_numpy()),
        expected=_float(sums["e"].to_numpy()),
        impact=_float(impact),
        peak=_day(rows[PERIOD].iloc[peak]),
        score=_float(score[peak]),
        ratio=_float(ratio_all[peak]),
    )
    records = rows.to_dict("records")
    events["description"] = [
        _sentence(records[p], by, freq, e) for p, e in zip(peak, events.itertuples(), strict=True)
    ]
    lifecycle = np.isin(kind, _LIFECYCLE)
    rank = np.lexsort((-np.abs(score[peak]), -np.abs(impact), lifecycle))
    events = events.iloc[rank].reset_index(drop=True)
    total = len(events)
    if n is not None:
        events = events.head(int(n))
    events.attrs["cfusage"] = {"by": by, "freq": freq, "events": total}
    return events


# --------------------------------------------------------------------------------------------


def _utc(s: pd.Series) -> pd.Series:
    """Timestamps as tz-aware UTC (Spark hands them over tz-naive, in UTC)."""
    s = pd.to_datetime(s)
    return s.dt.tz_localize("UTC") if s.dt.tz is None else s.dt.tz_convert("UTC")


def _grain_of(period: pd.Series) -> str:
    """The grain of a scored series without attrs, read from its periods (see
    :func:`describe_anomalies`)."""
    p = pd.DatetimeIndex(period.dropna().unique()).sort_values()
    if len(p) < 2:  # one period: no run to join, and nothing tells the grain
        return "D"
    gap = (p[1:] - p[:-1]).min() / pd.Timedelta(days=1)
    firsts = bool((p.day == 1).all())
    if gap >= 89 and firsts and bool(((p.month - 1) % 3 == 0).all()):
        return "QS"
    if gap >= 28 and firsts:
        return "MS"
    if gap >= 7 and bool((p.day_of_week == 0).all()):
        return "W"
    return "D"


def _partial_periods(start: pd.Series, calendar: pd.DatetimeIndex, grain: str) -> np.ndarray:
    """Which calendar periods the data covers only in part: the first one when the data starts
    after its first day, the last one when the data ends before its last day (weeks, months,
    quarters; a day is never partial)."""
    partial = np.zeros(len(calendar), dtype=bool)
    if grain == "D" or not len(calendar):
        return partial
    days = start.dropna().dt.floor("D")
    first_day, last_day = days.min(), days.max()
    step = {"W": pd.DateOffset(weeks=1), "MS": pd.DateOffset(months=1)}.get(
        grain, pd.DateOffset(months=3)
    )
    partial[0] = first_day > calendar[0]
    partial[-1] |= last_day < calendar[-1] + step - pd.Timedelta(days=1)
    return partial


def _pre_allowance(d: pd.DataFrame, value: str, v: np.ndarray) -> np.ndarray:
    """Each row's ``value`` before free allowances (see :func:`anomalies`, step 1)."""
    if value not in _COSTS or not {"consumed_quantity", "pricing_quantity"} <= set(d.columns):
        return v
    unit_keys = [
        c for c in ("x_billable_metric_id", "consumed_unit", "pricing_unit") if c in d.columns
    ]
    if not unit_keys:
        return v
    cq = d["consumed_quantity"].to_numpy(dtype=float, na_value=np.nan)
    pq = d["pricing_quantity"].to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where((pq > 0) & (cq > 0), cq / pq, np.nan)
    unit = d.groupby(unit_keys, observed=True, dropna=False, sort=False).ngroup().to_numpy()
    block = pd.Series(ratio).groupby(unit).min().reindex(np.arange(unit.max() + 1)).to_numpy()
    block = block[unit]  # NaN for a unit pair without any billed row
    out = v.copy()
    billed_units = pq * block
    part = (pq > 0) & (cq > billed_units * (1 + 1e-9)) & ~np.isnan(v)
    out[part] = v[part] * cq[part] / billed_units[part]
    price_col = _COSTS[value]
    if price_col in d.columns:
        price = d[price_col].to_numpy(dtype=float, na_value=np.nan)
        wholly = (pq == 0) & (cq > 0) & np.isfinite(block) & np.isfinite(price) & ~np.isnan(v)
        out[wholly] = v[wholly] + price[wholly] * cq[wholly] / block[wholly]
    return out


def _reduce(data: Any, by: By, value: str, allowance: bool) -> _engine.Reduced:
    """An engine input as its daily series per group (:func:`_engine.reduce`), for scoring.

    The keys are the ``by=`` columns and ``billing_currency`` (when present); the values are
    ``value`` and, with ``allowance=True``, each row's pre-allowance cost (:data:`_PRE`, computed
    per row in the engine by :func:`_pre_allowance_expr`: a per-row figure a daily sum of
    ``value`` cannot carry). Nothing else of a row is read. The result goes back as ``data``'s
    kind.
    """
    what = "anomalies()"
    frame = _engine.lazy(data, what)
    names = set(_engine.columns_of(frame))
    dims = _engine.by_columns(by, what)
    absent = [d for d in dims if d not in names]
    if absent:
        known = sorted(set(DIMENSIONS) | names)
        raise ArgumentError(
            f"by={absent[0]!r} is not a dimension of this frame; use one of {known}"
        )
    values = [value]
    pre = _pre_allowance_expr(names, value) if allowance and {value, _START} <= names else None
    if pre is not None:
        frame = frame.with_columns(pre.alias(_PRE))
        values.append(_PRE)
    r = _engine.reduce(frame.to_native(), what, keys=dims, values=values, optional=[CURRENCY])
    return _engine.Reduced(frame=r.frame, native=data)


def _pre_allowance_expr(names: set[str], value: str) -> nw.Expr | None:
    """:func:`_pre_allowance` as one Narwhals expression, evaluated per row in the engine.

    The same figures, row for row: ``block`` is the smallest ``consumed_quantity /
    pricing_quantity`` of the dated, fully billed rows of the row's unit (a window over the unit
    columns); a partly covered row is scaled up by ``consumed_quantity / (pricing_quantity x
    block)``; a wholly covered row gets ``unit price x consumed_quantity / block`` added. NA
    exactly where ``value`` is NA. None when the frame cannot tell (``value`` as it is).
    """
    if value not in _COSTS or not {"consumed_quantity", "pricing_quantity"} <= names:
        return None
    unit_keys = [c for c in ("x_billable_metric_id", "consumed_unit", "pricing_unit") if c in names]
    if not unit_keys:
        return None
    v = nw.col(value).cast(nw.Float64)
    cq = nw.col("consumed_quantity").cast(nw.Float64)
    pq = nw.col("pricing_quantity").cast(nw.Float64)
    known = ~v.is_null()
    ratio = nw.when(~nw.col(_START).is_null() & (pq > 0) & (cq > 0)).then(cq / pq)
    block = ratio.min().over(*unit_keys)  # null for a unit without any billed row
    billed = pq * block
    part = (pq > 0) & (cq > billed * (1 + 1e-9)) & known
    rest: nw.Expr = v
    price_col = _COSTS[value]
    if price_col in names:
        price = nw.col(price_col).cast(nw.Float64)
        wholly = (pq == 0) & (cq > 0) & block.is_finite() & price.is_finite() & known
        rest = nw.when(wholly).then(v + price * cq / block).otherwise(v)
    return nw.when(part).then(v * cq / billed).otherwise(rest)


def _baseline(
    x: np.ndarray, weekly: np.ndarray | None, window: int, first_weekday: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Usual level, MAD, count and weekday factor of every cell of ``x`` (groups x days).

    For cell ``(g, t)`` the baseline is ``x[g, t-window:t]``, each value divided by its
    weekday's factor for the week of ``t`` (:func:`_week_factors` on ``weekly``: ``x`` with NaN
    before the group's first row; None: no seasonality, every factor 1). ``first_weekday`` is the
    weekday of day 0 (Monday 0). The level is a robust line through the deseasonalised window
    (:func:`_robust_line`). NaN (unknown cost, or before the frame) is skipped. Worked a week
    at a time (every day of a week shares its factors), groups in chunks.
    """
    g, length = x.shape
    padded = np.full((g, length + window), np.nan)
    padded[:, window:] = x  # day p is column p + window; its window is columns p .. p+window-1
    level, mad = np.empty((g, length)), np.empty((g, length))
    cnt, factor = np.empty((g, length), dtype=np.int64), np.ones((g, length))
    blocks: list[tuple[int, int, int | None]] = [(0, length, None)]  # (first day, end, week)
    if weekly is not None:
        weeks = _week_factors(weekly, first_weekday)
        with np.errstate(divide="ignore"):
            inverse = np.where(weeks > 0, 1.0 / weeks, np.nan)
        blocks = []
        for week in range(weeks.shape[1]):
            first, end = max(7 * week - first_weekday, 0), min(7 * week - first_weekday + 7, length)
            if first < end:
                blocks.append((first, end, week))
    days = max(end - first for first, end, _ in blocks) if blocks else 1
    step = max(1, _CHUNK // days)
    for t0, t1, k in blocks:
        seg_days = np.arange(t0 - window, t1 - 1)  # the days the block's windows cover
        for lo in range(0, g, step):
            hi = min(g, lo + step)
            seg = padded[lo:hi, t0 : t1 - 1 + window]
            if k is not None:
                weekday = (first_weekday + seg_days) % 7
                seg = seg * inverse[lo:hi, k][:, weekday]
                factor[lo:hi, t0:t1] = weeks[lo:hi, k][:, (first_weekday + np.arange(t0, t1)) % 7]
            y = np.lib.stride_tricks.sliding_window_view(seg, window, axis=1)
            y = y.reshape(-1, window)  # a copy: one row per cell
            m, d, c = _robust_line(y)
            shape = (hi - lo, t1 - t0)
            level[lo:hi, t0:t1], mad[lo:hi, t0:t1] = m.reshape(shape), d.reshape(shape)
            cnt[lo:hi, t0:t1] = c.reshape(shape)
    return level, mad, cnt, factor


def _week_factors(x: np.ndarray, first_weekday: int) -> np.ndarray:
    """Weekday factors per group and calendar week: groups x weeks x 7 (Monday first).

    Week ``k`` starts on the Monday at day ``7k - first_weekday``; its factors come from the
    ``SEASON_WEEKS`` whole weeks before that Monday (see :func:`_weekday_factors`).
    """
    season = 7 * SEASON_WEEKS
    g, length = x.shape
    n_weeks = (length + first_weekday + 6) // 7
    padded = np.full((g, season + first_weekday + length), np.nan)
    padded[:, season + first_weekday :] = x
    view = np.lib.stride_tricks.sliding_window_view(padded, season, axis=1)[:, ::7][:, :n_weeks]
    return _weekday_factors(view.reshape(g * n_weeks, season)).reshape(g, n_weeks, 7)


def _robust_line(y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Level one period after each row of ``y`` (n x window, oldest first), its MAD and count.

    The window is cut in an older and a newer half; ``m1``, ``m2`` are their medians and the
    slope is ``(m2 - m1) / h`` per period (``h`` = half the window): the level is ``m2 + slope x
    (h + 1) / 2`` (the newer half's median carried to the period scored), at least 0. The MAD is
    the median of ``|y - line|``. A window of fewer than 2 x 7 values (or a half without values)
    uses its plain median (no slope).
    """
    w = y.shape[1]
    h = w // 2
    old, new = y[:, : w - h], y[:, w - h :]
    c_old = old.shape[1] - np.isnan(old).sum(axis=1)
    c_new = new.shape[1] - np.isnan(new).sum(axis=1)
    count = c_old + c_new
    m_old = _sorted_median(np.sort(old, axis=1), c_old)
    m_new = _sorted_median(np.sort(new, axis=1), c_new)
    sloped = (h >= 7) & (c_old > 0) & (c_new > 0)
    m_all = np.zeros(len(y))
    flat = np.flatnonzero(~sloped)
    if len(flat):
        m_all[flat] = _sorted_median(np.sort(y[flat], axis=1), count[flat])
    slope = np.where(sloped, (m_new - m_old) / (w / 2.0), 0.0)  # w / 2: between the centres
    centre = np.where(sloped, (w - h) + (h - 1) / 2.0, (w - 1) / 2.0)
    base = np.where(sloped, m_new, m_all)
    line = base[:, None] + slope[:, None] * (np.arange(w)[None, :] - centre[:, None])
    resid = np.abs(y - line)
    resid.sort(axis=1)
    level = np.fmax(base + slope * (w - centre), 0.0)
    return level, _sorted_median(resid, count), count


def _weekday_factors(s: np.ndarray) -> np.ndarray:
    """Weekday factors (n x 7) of each row of 56 days that starts on a Monday (Monday first).

    Factor = the weekday's median / the median of all 56 days; NaN is skipped. A row without 3
    values of every weekday, or whose median is not above 0, gets factors 1 (unsorted).
    """
    n, season = s.shape
    weeks = season // 7
    f = np.ones((n, 7))
    count = weeks - np.isnan(s).reshape(n, weeks, 7).sum(axis=1)  # n x 7
    rows = np.flatnonzero((count >= MIN_PER_WEEKDAY).all(axis=1))
    if not len(rows):
        return f
    m = len(rows)
    sub = s[rows]
    by_day = sub.reshape(m, weeks, 7).transpose(0, 2, 1).reshape(m * 7, weeks)  # a copy
    by_day.sort(axis=1)
    day_med = _sorted_median(by_day, count[rows].reshape(-1)).reshape(m, 7)
    every_count = count[rows].sum(axis=1)
    sub.sort(axis=1)
    overall = _sorted_median(sub, every_count)
    usable = overall > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        f[rows[usable]] = day_med[usable] / overall[usable, None]
    return f


def _sorted_median(w: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Row medians of a row-sorted matrix whose first ``count`` entries per row are valid."""
    lo = np.maximum((count - 1) // 2, 0)
    hi = np.maximum(count // 2, 0)
    rows = np.arange(len(w))
    out = (w[rows, lo] + w[rows, np.minimum(hi, w.shape[1] - 1)]) / 2.0
    return np.where(count > 0, out, np.nan)


def _float(x: np.ndarray) -> pd.arrays.FloatingArray:
    arr = np.asarray(x, dtype=float)
    return pd.arrays.FloatingArray(np.nan_to_num(arr, nan=0.0), np.isnan(arr))


def _day(s: pd.Series) -> pd.Series:
    return pd.Series(pd.DatetimeIndex(s).tz_localize(None).normalize().as_unit("s")).reset_index(
        drop=True
    )


_NOUN = {col: alias for alias, col in DIMENSIONS.items() if alias not in ("product_family",)}


def _guess_by(result: pd.DataFrame) -> list[str]:
    cols = list(result.columns)
    stop = cols.index(CURRENCY) if CURRENCY in cols else cols.index("actual")
    return [c for c in cols[:stop] if c != PERIOD]


def _codes(frame: pd.DataFrame, keys: list[str]) -> np.ndarray:
    if not keys:
        return np.zeros(len(frame), dtype=np.int64)
    return frame.groupby(keys, observed=True, dropna=False, sort=False).ngroup().to_numpy()


def _sentence(row: dict, by: list[str], freq: str, event: Any) -> str:
    """The sentence of one event (``event``: a row of the events frame; ``row``: its peak)."""
    subject_first = ("x_billable_metric_name", "x_billable_metric_id", "x_product_family_name")
    ordered = sorted(by, key=lambda c: (c not in subject_first, by.index(c)))
    if ordered:
        label = str(row[ordered[0]])
        for c in ordered[1:]:
            label += f" in {_NOUN.get(c, c.removeprefix('tag:'))} {row[c]}"
    else:
        label = "Total cost"
    cur = f" {row[CURRENCY]}" if CURRENCY in row and not pd.isna(row[CURRENCY]) else ""
    kind, count = str(event.kind), int(event.periods)
    start, end = event.start, event.end
    total, usual = float(event.actual), float(event.expected)
    impact = total - usual
    unit = {"W": "weeks", "MS": "months", "QS": "quarters"}.get(freq, "days")
    span = f"{count} {unit}" if count > 1 else f"1 {unit[:-1]}"

    def when(ts: pd.Timestamp) -> str:
        day = f"{ts:%Y-%m-%d}"
        return f"on {day}" if freq == "D" else f"in the {_grain_noun(freq)} starting {day}"

    if kind == "started":
        return (
            f"{label} started {when(start)}, where it cost nothing before: {total:,.2f}{cur} "
            f"in its first {span}."
        )
    if kind == "stopped":
        return (
            f"{label} stopped {when(start)} and cost nothing after: {impact:+,.2f}{cur} against "
            f"its usual level in the first {span} ({usual / count:,.2f}{cur} a {unit[:-1]})."
        )
    ratio = row["ratio"]
    if count == 1:
        actual, expected = row["actual"], row["expected"]
        amounts = f"({actual:,.2f}{cur} against a usual {expected:,.2f}{cur})"
        if pd.isna(ratio):
            usual_text = f"{expected:,.2f}{cur}"
            return f"{label} cost {actual:,.2f}{cur} {when(start)}, against a usual {usual_text}."
        if kind == "spike":
            return f"{label} were {ratio:.1f}x their usual level {when(start)} {amounts}."
        return f"{label} fell to {ratio:.0%} of their usual level {when(start)} {amounts}."
    amounts = f"({span}: {total:,.2f}{cur} against a usual {usual:,.2f}{cur}, {impact:+,.2f}{cur})"
    between = f"from {start:%Y-%m-%d} to {end:%Y-%m-%d}"
    if pd.isna(ratio):
        return f"{label} left its usual level {between} {amounts}."
    if kind == "spike":
        return f"{label} rose to {ratio:.1f}x their usual level at the peak, {between} {amounts}."
    return f"{label} fell to {ratio:.0%} of their usual level at the lowest, {between} {amounts}."


def _grain_noun(freq: str) -> str:
    return {"W": "week", "MS": "month", "QS": "quarter"}.get(freq, "period")
