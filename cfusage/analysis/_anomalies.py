"""Cost anomalies: robust median / MAD scores over a trailing window, and sentences about them.

:func:`anomalies` scores every day (or week, month) of every group against the same group's
recent history; :func:`describe_anomalies` turns the flagged ones into sentences a notebook can
print ("R2 Class A Operations in account Acme were 9.1x their usual level on 2026-03-14").
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ._grouping import (
    CURRENCY,
    DIMENSIONS,
    PERIOD,
    By,
    add_period,
    freq_of,
    group_keys,
    require,
    resolve_by,
)

__all__ = ["anomalies", "describe_anomalies"]

#: MAD x 1.4826 estimates the standard deviation of normally distributed data.
MAD_SCALE = 1.4826

_CALENDAR = {"D": "D", "W": "W-MON", "MS": "MS", "QS": "QS-JAN"}
_CHUNK = 1 << 16  # rows of the trailing-window matrix built at once (memory: chunk x window)


def anomalies(
    data: pd.DataFrame,
    *,
    by: By = None,
    freq: str = "D",
    value: str = "effective_cost",
    window: int = 28,
    min_cost: float = 1.0,
    threshold: float = 3.5,
    min_history: int = 7,
    relative_floor: float = 0.05,
) -> pd.DataFrame:
    """Score each period of each group against its trailing median, robustly.

    For each group (``by``) the cost is summed per period (``freq``); each period's value *x* is
    compared with the previous ``window`` periods of the same group (the current one excluded):

    - ``expected`` = median of the window, ``MAD`` = median of ``|x_j - expected|`` over it;
    - ``scale = max(1.4826 x MAD, relative_floor x |expected|, min_cost / threshold)``: the MAD
      is 0 for a flat (or mostly flat) history, so the scale is floored at 5 % of the usual level
      and at the amount that makes a ``min_cost`` departure reach the threshold;
    - ``score = (x - expected) / scale`` (signed: positive for a spike, negative for a drop);
      ``lower`` / ``upper`` = ``expected -/+ threshold x scale``; ``ratio = x / expected`` (NA
      when ``expected`` is 0);
    - ``is_anomaly = |score| > threshold`` **and** ``|x - expected| >= min_cost``, so a jump from
      $0.01 to $0.10 is not flagged.

    Periods with fewer than ``min_history`` values in their window get no score (NA, never an
    anomaly). Missing periods are filled with 0 (no usage) only from a group's first period with
    data to the last period of the frame: before it the group did not exist; after it, a group
    that stops is a real drop. A period whose rows all lack ``value`` stays NA: it is neither
    scored nor used as history. Vectorised: the trailing windows are gathered into a matrix and
    sorted row-wise, in chunks.

    Parameters
    ----------
    data : pandas.DataFrame
        A typed usage frame.
    by : str, list of str or None
        Dimensions scored separately (``["metric", "account"]``); None scores the total.
    value : str, default "effective_cost"
        The cost column.
    window : int, default 28
        Number of trailing periods forming the baseline.
    min_cost : float, default 1.0
        Smallest absolute departure from the expected cost (in the billing currency) that can be
        an anomaly.
    threshold : float, default 3.5
        Robust score above which (in absolute value) a period is anomalous.
    freq : str, default "D"
        Grain: ``"D"``, ``"W"``, ``"MS"`` or ``"QS"``.
    min_history : int, default 7
        Fewest values the window must hold for a score.
    relative_floor : float, default 0.05
        Floor of the scale as a fraction of ``|expected|``.

    Returns
    -------
    pandas.DataFrame
        One row per group x period: the by-columns, ``billing_currency``, ``period``, ``actual``,
        ``expected``, ``lower``, ``upper``, ``score``, ``ratio``, ``direction`` (``"spike"`` /
        ``"drop"``, NA when there is no score or ``actual == expected``), ``is_anomaly``,
        ``history`` (values in the window) and ``filled`` (no rows that period: counted as 0).
        ``result.attrs["cfusage"]`` records ``by`` (the by-columns), ``value``, ``freq``,
        ``threshold`` and ``min_cost``.

    Raises
    ------
    MissingColumnsError
        If ``value`` or ``charge_period_start`` is absent or only NA.
    ValueError
        For a bad ``window``, ``min_history``, ``freq`` or ``by``.

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
        raise ValueError("anomalies needs a calendar freq ('D', 'W', 'MS' or 'QS')")
    if int(window) < 1 or int(min_history) < 1 or int(min_history) > int(window):
        raise ValueError(
            f"window={window!r} and min_history={min_history!r}: need 1 <= min_history <= window"
        )
    window, min_history = int(window), int(min_history)
    require(data, [value, "charge_period_start"], "anomalies")
    d, cols = resolve_by(data, by)
    keys = group_keys(d, cols)
    n_missing = int(d[value].isna().sum())
    if n_missing:
        warnings.warn(
            f"anomalies: {n_missing} of {len(d)} rows have no {value} (NA); a period whose rows "
            "all lack it is not scored, the others are scored on the rows that have it",
            UserWarning,
            stacklevel=2,
        )
    d = add_period(d, grain)
    d = d.loc[d[PERIOD].notna()]
    g = d.groupby([*keys, PERIOD], observed=True, dropna=False, sort=True)[value]
    agg = g.sum(min_count=1).reset_index()

    calendar = pd.date_range(agg[PERIOD].min(), agg[PERIOD].max(), freq=_CALENDAR[grain])
    pos = calendar.as_unit("us").get_indexer(pd.DatetimeIndex(agg[PERIOD]).as_unit("us"))
    if keys:
        code = agg.groupby(keys, observed=True, dropna=False, sort=True).ngroup().to_numpy()
    else:
        code = np.zeros(len(agg), dtype=np.int64)
    first_row = np.flatnonzero(np.r_[True, code[1:] != code[:-1]])
    first_pos = pos[first_row]
    length = len(calendar) - first_pos
    offsets = np.r_[0, np.cumsum(length)[:-1]]
    total = int(length.sum())
    rep = np.repeat(np.arange(len(first_row)), length)
    within = np.arange(total) - offsets[rep]

    actual = np.zeros(total)
    filled = np.ones(total, dtype=bool)
    at = offsets[code] + pos - first_pos[code]
    actual[at] = agg[value].to_numpy(dtype=float, na_value=np.nan)
    filled[at] = False

    expected, mad, history = _trailing_median_mad(actual, rep, window)
    history_ok = history >= min_history
    expected = np.where(history_ok, expected, np.nan)
    floor = max(min_cost / threshold, 0.0) if threshold > 0 else 0.0
    scale = np.fmax(MAD_SCALE * mad, relative_floor * np.abs(expected))
    scale = np.fmax(scale, floor if floor > 0 else np.finfo(float).tiny)
    scale = np.where(history_ok, scale, np.nan)
    diff = actual - expected
    score = diff / scale
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(expected != 0, actual / expected, np.nan)
    is_anomaly = (np.abs(score) > threshold) & (np.abs(diff) >= min_cost)
    direction = np.select(
        [np.isnan(score), diff > 0, diff < 0], [None, "spike", "drop"], default=None
    )

    labels = agg.iloc[first_row][keys].reset_index(drop=True)
    out = labels.iloc[rep].reset_index(drop=True)
    out[PERIOD] = calendar[first_pos[rep] + within]
    out = out.assign(
        actual=_float(actual),
        expected=_float(expected),
        lower=_float(expected - threshold * scale),
        upper=_float(expected + threshold * scale),
        score=_float(score),
        ratio=_float(ratio),
        direction=pd.Categorical(direction, categories=["spike", "drop"]),
        is_anomaly=is_anomaly,
        history=history.astype("int64"),
        filled=filled,
    )
    out.attrs["cfusage"] = {
        "by": cols,
        "value": value,
        "freq": grain,
        "threshold": threshold,
        "min_cost": min_cost,
    }
    return out


def describe_anomalies(result: pd.DataFrame, *, n: int = 5) -> list[str]:
    """Sentences about the strongest anomalies of an :func:`anomalies` result.

    Consecutive flagged periods of one group in the same direction form one episode (a service
    that stops is one drop, not one per day). Each episode is described by its peak (largest
    ``|score|``) and its length; episodes are ranked by that peak score.

    Parameters
    ----------
    result : pandas.DataFrame
        What :func:`anomalies` returned (possibly filtered).
    n : int, default 5
        How many sentences, at most.

    Returns
    -------
    list of str
        One sentence per episode, strongest first; empty when nothing is flagged.

    Raises
    ------
    MissingColumnsError
        If ``result`` lacks the columns :func:`anomalies` produces.

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
    >>> describe_anomalies(anomalies(df, by="metric"))
    ['R2 Class A Operations were 9.1x their usual level on 2026-03-15 (91.00 USD against a usual 10.00 USD).']
    """
    require(
        result,
        ["is_anomaly", PERIOD, "actual", "expected", "ratio", "score"],
        "describe_anomalies",
    )
    meta = result.attrs.get("cfusage", {})
    by = [c for c in meta.get("by", _guess_by(result)) if c in result.columns]
    freq = meta.get("freq", "D")
    keys = [*by, CURRENCY] if CURRENCY in result.columns else by
    flagged = result.loc[result["is_anomaly"].to_numpy(dtype=bool, na_value=False)]
    if flagged.empty or n <= 0:
        return []
    flagged = flagged.sort_values([*keys, PERIOD], kind="stable")
    code = _codes(flagged, keys)
    period = pd.DatetimeIndex(flagged[PERIOD])
    step = pd.DateOffset(months=3 if freq == "QS" else 1) if freq in ("MS", "QS") else None
    expected_next = period + (
        step if step is not None else pd.Timedelta(days=7 if freq == "W" else 1)
    )
    sign = np.sign(flagged["score"].to_numpy(dtype=float, na_value=0.0))
    same = np.r_[False, code[1:] == code[:-1]]
    contiguous = np.r_[False, period[1:] == expected_next[:-1]]
    same_way = np.r_[False, sign[1:] == sign[:-1]]
    episode = np.cumsum(~(same & contiguous & same_way))
    strength = np.abs(flagged["score"].to_numpy(dtype=float, na_value=0.0))
    frame = pd.DataFrame({"episode": episode, "strength": strength, "i": np.arange(len(episode))})
    peak = frame.sort_values(["episode", "strength"], ascending=[True, False]).drop_duplicates(
        "episode"
    )
    stats = frame.groupby("episode")["i"].agg(["size", "min", "max"])
    peak = peak.assign(
        length=stats["size"].to_numpy(), first=stats["min"].to_numpy(), last=stats["max"].to_numpy()
    )
    peak = peak.sort_values("strength", ascending=False, kind="stable").head(int(n))
    records = flagged.to_dict("records")
    return [
        _sentence(
            records[p.i], by, freq, int(p.length), records[p.first][PERIOD], records[p.last][PERIOD]
        )
        for p in peak.itertuples()
    ]


# --------------------------------------------------------------------------------------------


def _trailing_median_mad(
    x: np.ndarray, group_of: np.ndarray, window: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Median, MAD and count of non-NaN values in the ``window`` values before each one.

    ``x`` holds the groups one after another (``group_of[i]`` is row ``i``'s group, ascending).
    Each group is preceded by ``window`` NaNs in a padded copy, so a trailing window never reaches
    into the previous group, and the windows are rows of a sliding view of it. NaN is skipped.
    """
    n = len(x)
    padded_pos = np.arange(n) + (group_of + 1) * window
    xp = np.full(n + (int(group_of[-1]) + 1 if n else 0) * window, np.nan)
    xp[padded_pos] = x
    view = np.lib.stride_tricks.sliding_window_view(xp, window)
    med = np.empty(n)
    mad = np.empty(n)
    cnt = np.empty(n, dtype=np.int64)
    for lo in range(0, n, _CHUNK):
        hi = min(n, lo + _CHUNK)
        w = view[padded_pos[lo:hi] - window]  # a copy: the window before each row
        c = window - np.isnan(w).sum(axis=1)
        w.sort(axis=1)  # NaN last
        m = _sorted_median(w, c)
        np.subtract(w, m[:, None], out=w)
        np.abs(w, out=w)
        w.sort(axis=1)
        med[lo:hi], mad[lo:hi], cnt[lo:hi] = m, _sorted_median(w, c), c
    return med, mad, cnt


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


_NOUN = {col: alias for alias, col in DIMENSIONS.items() if alias not in ("product_family",)}


def _guess_by(result: pd.DataFrame) -> list[str]:
    stop = result.columns.get_loc(CURRENCY if CURRENCY in result.columns else PERIOD)
    return list(result.columns[:stop])


def _codes(frame: pd.DataFrame, keys: list[str]) -> np.ndarray:
    if not keys:
        return np.zeros(len(frame), dtype=np.int64)
    return frame.groupby(keys, observed=True, dropna=False, sort=False).ngroup().to_numpy()


def _sentence(
    row: dict,
    by: list[str],
    freq: str,
    length: int = 1,
    first: pd.Timestamp | None = None,
    last: pd.Timestamp | None = None,
) -> str:
    subject_first = ("x_billable_metric_name", "x_billable_metric_id", "x_product_family_name")
    ordered = sorted(by, key=lambda c: (c not in subject_first, by.index(c)))
    if ordered:
        label = str(row[ordered[0]])
        for c in ordered[1:]:
            label += f" in {_NOUN.get(c, c.removeprefix('tag:'))} {row[c]}"
    else:
        label = "Total cost"
    when = row[PERIOD].strftime("%Y-%m-%d")
    when = f"on {when}" if freq == "D" else f"in the {_grain_noun(freq)} starting {when}"
    cur = f" {row[CURRENCY]}" if CURRENCY in row and not pd.isna(row[CURRENCY]) else ""
    actual, expected, ratio = row["actual"], row["expected"], row["ratio"]
    amounts = f"({actual:,.2f}{cur} against a usual {expected:,.2f}{cur})"
    if pd.isna(ratio):
        text = f"{label} cost {actual:,.2f}{cur} {when}, against a usual {expected:,.2f}{cur}"
    elif actual > expected:
        text = f"{label} were {ratio:.1f}x their usual level {when} {amounts}"
    else:
        text = f"{label} fell to {ratio:.0%} of their usual level {when} {amounts}"
    if length > 1 and first is not None and last is not None:
        unit = {"W": "weeks", "MS": "months", "QS": "quarters"}.get(freq, "days")
        text += f"; anomalous {length} {unit} in a row, {first:%Y-%m-%d} to {last:%Y-%m-%d}"
    return text + "."


def _grain_noun(freq: str) -> str:
    return {"W": "week", "MS": "month", "QS": "quarter"}.get(freq, "period")
