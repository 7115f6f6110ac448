"""Matplotlib charts of Cloudflare spend: cost over time, discounts, variance, anomalies, budgets.

Every chart takes a typed frame (or a helper's result), draws on ``ax`` (the current Axes when
``ax=None``, like seaborn; nothing here calls ``plt.show()``) and returns the ``Axes``. Money axes
are labelled with their currency and ticked as ``$1.2k`` / ``$3.4M`` (:func:`money_formatter`),
date axes use matplotlib's concise date formatter at the grain of the data, and colours come from
one stable palette: a product family has the same colour in every chart (:func:`color_for`).

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> from cfusage.plots import format_money, color_for
>>> format_money(1234.5), format_money(3_400_000, "EUR"), format_money(-12.5)
('$1.2k', '€3.4M', '−$12.50')
>>> color_for("Workers") == color_for("Workers")
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.collections import PolyCollection
from matplotlib.patches import Patch

from ..analysis import add_period, discounts, freq_of, reconcile, require, resolve_by
from ..errors import CurrencyError, DataError, MissingColumnsError
from ..schema import DIMENSIONS
from ._style import _HASH_PALETTE as _HASH_PALETTE
from ._style import (
    _NOT_SET,
    _OTHER,
    FAMILY_COLORS,
    GRID,
    INK,
    MUTED,
    NEGATIVE,
    NEUTRAL,
    OTHER_COLOR,
    PARTIAL_ALPHA,
    PARTIAL_HATCH,
    POSITIVE,
    TOTAL,
    chart,
    color_for,
    colors_for,
    covered_days,
    format_money,
    format_number,
    format_percent,
    format_price,
    mark_partial,
    money_formatter,
    partial_periods,
)
from ._style import money_axis as _money_axis
from ._style import naive_datetimes as _naive
from ._style import style_axes as _style

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "FAMILY_COLORS",
    "OTHER_COLOR",
    "amortized_vs_billed",
    "anomaly_timeline",
    "budget",
    "color_for",
    "colors_for",
    "commitment_burndown",
    "cost",
    "discount_waterfall",
    "format_money",
    "format_number",
    "format_percent",
    "format_price",
    "money_formatter",
    "top_movers",
    "variance_bridge",
]


def _date_axis(ax: Axes, freq: str, axis: str = "x", *, show_offset: bool = False) -> None:
    """Concise date ticks at the data's grain (days, weeks, months, quarters).

    No offset label (the stray ``2026-Nov`` matplotlib writes at the axis' right end): the
    concise ticks already name each year and month where it changes."""
    freq = freq_of(freq) if freq != "billing_period" else "MS"
    if freq == "MS":
        locator: mdates.DateLocator = mdates.MonthLocator()
    elif freq == "QS":
        locator = mdates.MonthLocator(bymonth=(1, 4, 7, 10))
    elif freq == "W":
        locator = mdates.AutoDateLocator(minticks=4, maxticks=9)
    else:
        locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
    formatter = mdates.ConciseDateFormatter(locator, show_offset=show_offset)
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(locator)
    target.set_major_formatter(formatter)


def _period_days(freq: str) -> float:
    return {"D": 1.0, "W": 7.0, "MS": 30.4, "QS": 91.3, "billing_period": 30.4}[freq_of(freq)]


def _get_ax(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.gca()


def _currency_of(df: pd.DataFrame, currency: str | None = None) -> str | None:
    """The one currency of ``df`` (or ``currency`` if given); raise if several would be summed."""
    if "billing_currency" not in df.columns:
        return currency
    present = sorted(str(c) for c in df["billing_currency"].dropna().unique())
    if currency is not None:
        return currency
    if len(present) > 1:
        raise CurrencyError(
            f"billing_currency holds {present}: a chart would add different currencies; select "
            "one (df[df.billing_currency == 'USD']) or convert them first"
        )
    return present[0] if present else None


def _pretty(column: str) -> str:
    """``effective_cost`` -> ``Effective cost``."""
    return column.replace("_", " ").strip().capitalize()


def _note(
    ax: Axes, text: str, *, x: float = 0.0, y: float, ha: str = "left", gid: str = "coverage-note"
) -> None:
    """A small muted note under the chart, in Axes coordinates."""
    ax.text(x, y, text, transform=ax.transAxes, fontsize=8, color=MUTED, ha=ha, va="top", gid=gid)


def _coverage_note(ax: Axes, missing: int, total: int, value: str) -> None:
    """Say, on the chart, how many rows had no value (they are not drawn, never drawn as 0)."""
    if missing <= 0:
        return
    _note(ax, f"{missing:,} of {total:,} rows have no {value} and are not included", y=-0.16)


def _labels(df: pd.DataFrame, cols: Sequence[str]) -> pd.Series:
    """One text label per row for the grouping columns (``A / B`` when several)."""
    parts = [df[c].astype("str").fillna(_NOT_SET) for c in cols]
    out = parts[0]
    for p in parts[1:]:
        out = out + " / " + p
    return out


def _top_labels(labels: pd.Series, weights: pd.Series, top: int | None) -> pd.Series:
    """Keep the ``top`` labels by total weight; the rest become ``"Other"``."""
    if top is None:
        return labels
    if top < 1:
        raise ValueError(f"top={top!r} must be a positive integer or None")
    totals = weights.groupby(labels, sort=False).sum().sort_values(ascending=False)
    if len(totals) <= top:
        return labels
    keep = totals.index[:top]
    return labels.where(labels.isin(keep), _OTHER)


# --------------------------------------------------------------------------------------------
# Cost over time
# --------------------------------------------------------------------------------------------


def _stacked_bars(
    ax: Axes,
    left: np.ndarray,
    width: float,
    bottom: np.ndarray,
    height: np.ndarray,
    colour: str,
    label: str | None,
    name: str | None = None,
    *,
    only: np.ndarray | None = None,
    partial: bool = False,
) -> None:
    """One series of bars as a single ``PolyCollection`` (``gid="series:<name>"``).

    Hundreds of ``Rectangle`` patches (``ax.bar``) take seconds to build; one collection of
    rectangles per series takes milliseconds. Zero-height bars are not drawn. ``only`` keeps
    the bars it marks; ``partial`` draws them lighter and hatched (``gid="partial:<name>"``):
    the bars of partial periods (:func:`cfusage.viz._style.partial_periods`).
    """
    keep = height != 0
    if only is not None:
        keep &= only
    if not keep.any():
        return
    x0, y0, h = left[keep], bottom[keep], height[keep]
    verts = np.stack(
        [
            np.column_stack([x0, y0]),
            np.column_stack([x0, y0 + h]),
            np.column_stack([x0 + width, y0 + h]),
            np.column_stack([x0 + width, y0]),
        ],
        axis=1,
    )
    coll = PolyCollection(
        list(verts),
        facecolors=colour,
        edgecolors=colour if partial else "none",
        linewidths=0,
        label=label if label is not None and not partial else "_nolegend_",
        gid=f"{'partial' if partial else 'series'}:{name or label}",
    )
    if partial:
        coll.set_alpha(PARTIAL_ALPHA)
        coll.set_hatch(PARTIAL_HATCH)
    coll.sticky_edges.y.append(0.0)  # like ax.bar: no margin below a zero baseline
    ax.add_collection(coll, autolim=True)


@chart
def cost(
    data: pd.DataFrame,
    *,
    by: str | Sequence[str] | None = "product",
    freq: str = "D",
    value: str = "effective_cost",
    top: int | None = 6,
    currency: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Cost over time as bars stacked by a dimension (the top ``top`` plus "Other").

    Parameters
    ----------
    data : pandas.DataFrame
        A typed usage frame (:func:`cfusage.to_frame`), in one currency.
    by : str, list of str or None, default "product"
        A dimension alias (``product``, ``account``, ``metric``, ``zone``...), a column name,
        ``tag:KEY``, or ``None`` for a single series.
    freq : str, default "D"
        Grain of the bars: ``D``, ``W``, ``MS`` (month), ``QS``.
    value : str, default "effective_cost"
        The cost column to draw (``list_cost``, ``contracted_cost``, ``billed_cost``...).
    top : int or None, default 6
        How many series to draw by their total over the whole range; the rest are one grey
        "Other" series. ``None`` draws every series.
    ax : matplotlib.axes.Axes, optional
        Where to draw; the current Axes by default.
    currency : str, optional
        Currency for the axis label when the frame has no ``billing_currency``.

    Returns
    -------
    matplotlib.axes.Axes
        Bars are stacked with the largest series at the bottom; positive and negative amounts
        (corrections, credits) stack on their own side of zero. Rows with no ``value`` are not
        drawn, and a note under the chart says how many there were. A partial period (the
        data covers only some of its days: the first or last period, or days after
        ``attrs["cfusage"]["complete_through"]``; :func:`cfusage.viz._style.partial_periods`)
        is drawn lighter and hatched (``gid="partial:<series>"``) with its day count above it
        ("5 of 7 days") and a caption under the chart.

    Raises
    ------
    MissingColumnsError
        If ``value`` or ``charge_period_start`` is missing or entirely NA.
    CurrencyError
        If the frame holds several currencies.
    ValueError
        For an unknown ``by`` dimension, ``freq`` or ``top``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from cfusage.plots import cost
    >>> data = pd.DataFrame({
    ...     "charge_period_start": pd.to_datetime(["2026-03-01", "2026-03-02"], utc=True),
    ...     "x_product_family_name": pd.Categorical(["Workers", "R2"]),
    ...     "effective_cost": pd.array([10.0, 5.0], dtype="Float64"),
    ...     "billing_currency": pd.Categorical(["USD", "USD"]),
    ... })
    >>> from matplotlib.figure import Figure
    >>> ax = cost(data, ax=Figure().add_subplot())
    >>> [t.get_text() for t in ax.get_legend().get_texts()]  # top to bottom, as stacked
    ['R2', 'Workers']
    """
    require(data, [value, "charge_period_start"], f"cost(value={value!r})")
    if not pd.api.types.is_numeric_dtype(data[value].dtype):
        raise DataError(f"cost(value={value!r}): column {value!r} is not numeric")
    cur = _currency_of(data, currency)
    grain = freq_of(freq)
    frame, cols = resolve_by(data, by)
    has_value = frame[value].notna()
    n_missing = int((~has_value).sum())
    frame = frame.loc[has_value]
    frame = add_period(frame, grain)
    amounts = frame[value].astype("float64")
    if cols:
        labels = _top_labels(_labels(frame, cols), amounts.abs(), top)
    else:
        labels = pd.Series(_pretty(value), index=frame.index)
    table = (
        amounts.groupby([frame["period"], labels.rename("series")], sort=True)
        .sum()
        .unstack("series", fill_value=0.0)
    )
    order = table.abs().sum().sort_values(ascending=False).index.tolist()
    if _OTHER in order:
        order.remove(_OTHER)
        order.append(_OTHER)
    table = table[order]

    ax = _get_ax(ax)
    x = _naive(table.index)
    width = np.timedelta64(int(_period_days(grain) * 0.8 * 86400), "s")
    values = table.to_numpy(dtype="float64")
    pos = np.clip(values, 0, None)
    neg = np.clip(values, None, 0)
    pos_bottom = np.vstack([np.zeros(len(table)), np.cumsum(pos, axis=1)[:, :-1].T]).T
    neg_bottom = np.vstack([np.zeros(len(table)), np.cumsum(neg, axis=1)[:, :-1].T]).T
    palette = colors_for(order)
    left = mdates.date2num(x)
    span = width / np.timedelta64(1, "D")
    days = covered_days(frame) if len(frame) else None
    part = (
        partial_periods(table.index, grain, first_day=days[0], last_day=days[1])
        if days is not None
        else pd.DataFrame({"partial": np.zeros(len(table), bool), "note": [""] * len(table)})
    )
    is_partial = part["partial"].to_numpy(dtype=bool)
    for j, name in enumerate(order):
        colour = palette[str(name)]
        for flag, mask in ((False, ~is_partial), (True, is_partial)):
            _stacked_bars(
                ax,
                left,
                span,
                pos_bottom[:, j],
                pos[:, j],
                colour,
                str(name),
                only=mask,
                partial=flag,
            )
            if (neg[:, j] < 0).any():
                _stacked_bars(
                    ax,
                    left,
                    span,
                    neg_bottom[:, j],
                    neg[:, j],
                    colour,
                    None,
                    str(name),
                    only=mask,
                    partial=flag,
                )
    ax.xaxis_date()
    ax.autoscale_view()
    if is_partial.any():
        tops = pos.sum(axis=1)[is_partial]
        mark_partial(
            ax,
            list(left[is_partial] + span / 2),
            list(tops),
            part["note"][is_partial].tolist(),
            widths=[span] * int(is_partial.sum()),
        )
    _style(ax)
    _date_axis(ax, grain)
    _money_axis(ax, _pretty(value), cur)
    grain_name = {"D": "day", "W": "week", "MS": "month", "QS": "quarter"}[grain]
    what = None if by is None else by if isinstance(by, str) else " / ".join(by)
    ax.set_title(
        f"{_pretty(value)} per {grain_name}" + (f" by {what}" if what else ""),
        loc="left",
        fontsize=11,
    )
    if len(order) > 1 or cols:
        handles, names = ax.get_legend_handles_labels()
        seen: dict[str, Any] = {}
        for h, n in zip(handles, names, strict=True):
            seen.setdefault(n, h)
        # Listed top to bottom as the bars are stacked, so the legend reads like the stack.
        ax.legend(
            list(seen.values())[::-1],
            list(seen.keys())[::-1],
            frameon=False,
            fontsize=8,
            loc="upper left",
            bbox_to_anchor=(1.0, 1.0),
            title=what,
            title_fontsize=8,
        )
    _coverage_note(ax, n_missing, len(data), value)
    return ax


# --------------------------------------------------------------------------------------------
# Waterfalls: discounts and variance bridges
# --------------------------------------------------------------------------------------------


def _waterfall(
    ax: Axes,
    steps: Sequence[tuple[str, float, str]],
    currency: str | None,
    *,
    increase: str = POSITIVE,
    decrease: str = NEGATIVE,
    zoom: bool = False,
) -> None:
    """Draw a waterfall: ``total`` bars stand on 0, ``delta`` bars float from the running total.

    Each bar carries ``gid="bar:<label>"`` and a value label; deltas are signed (``"delta"``
    steps are coloured as increases or decreases, ``"neutral"`` steps, money that is neither a
    saving nor an increase, in :data:`NEUTRAL`). With ``zoom``
    the value axis starts just below the lowest running total (saying so on the chart) when the
    steps are small against the totals, so that they can be seen.
    """
    running = 0.0
    tops: list[float] = []
    for i, (label, amount, kind) in enumerate(steps):
        if kind == "total":
            bottom, height, colour = 0.0, amount, TOTAL
            running = amount
        elif kind == "neutral":  # money that moved but is no saving (prepaid, timing)
            bottom, height, colour = running, amount, NEUTRAL
            running = running + amount
        else:
            bottom, height = running, amount
            colour = increase if amount > 0 else decrease
            running = running + amount
        ax.bar(i, height, bottom=bottom, color=colour, width=0.62, gid=f"bar:{label}")
        tops.append(max(bottom, bottom + height))
        shown = round(amount, 2) + 0.0  # float noise (1e-12) is shown as $0, not "−$2.4e-12"
        text = format_money(shown, currency)
        if kind != "total" and shown > 0:
            text = "+" + text
        ax.annotate(
            text,
            (i, max(bottom, bottom + height)),
            xytext=(0, 3),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=8,
            color=INK,
        )
        if i + 1 < len(steps):
            ax.plot(
                [i + 0.31, i + 0.69],
                [running, running],
                color="#9AA5B1",
                linewidth=0.8,
                gid="connector",
            )
    ax.set_xticks(range(len(steps)), [s[0] for s in steps], fontsize=9)
    lo, hi = ax.get_ylim()
    bottom = min(lo, 0)
    if zoom:
        running, seen = 0.0, []
        for _label, amount, kind in steps:
            running = amount if kind == "total" else running + amount
            seen.append(running)
        low, high = min(seen), max(seen)
        span = max(high - low, 0.02 * abs(high))
        if low > 0 and low - 1.5 * span > 0:
            bottom = low - 1.5 * span
            _note(
                ax,
                "the value axis does not start at 0",
                x=1.0,
                y=-0.14,
                ha="right",
                gid="axis-note",
            )
    ax.set_ylim(bottom, hi + (hi - bottom) * 0.06)
    ax.axhline(0, color="#9AA5B1", linewidth=0.8)
    _style(ax)


def _need_columns(result: pd.DataFrame, columns: Sequence[str], message: str) -> None:
    """Raise :class:`MissingColumnsError` (with ``message``) if any of ``columns`` is absent."""
    missing = [c for c in columns if c not in result.columns]
    if missing:
        raise MissingColumnsError(missing, message)


def _single_row(result: pd.DataFrame, columns: Sequence[str], what: str) -> pd.Series:
    """Sum a helper's result over its rows (one currency) into one row of ``columns``."""
    _need_columns(result, columns, f"{what} needs a result with columns {list(columns)}")
    _currency_of(result)
    return result[list(columns)].sum(min_count=1)


@chart
def discount_waterfall(
    data: pd.DataFrame, *, currency: str | None = None, ax: Axes | None = None
) -> Axes:
    """Waterfall from list price to what was paid: list → savings → contracted → effective → billed.

    Parameters
    ----------
    data : pandas.DataFrame
        Either a typed usage frame (its usage rows are summed with :func:`cfusage.discounts`) or
        a result of :func:`cfusage.discounts` / :func:`cfusage.savings_summary` (its rows are
        added up, so pass the rows of one period and one currency).
    ax : matplotlib.axes.Axes, optional
        Where to draw; the current Axes by default.
    currency : str, optional
        Currency for the labels when the data has no ``billing_currency``.

    Returns
    -------
    matplotlib.axes.Axes
        Grey bars are totals (List, Contracted, Effective, Billed); green bars are the savings
        between them (Negotiated savings = list − contracted, Commitment savings = contracted −
        effective), drawn as the differences of the totals so the chart always closes. The
        Billed bar (usage rows, cash basis) follows a "Prepaid & timing" step (billed −
        effective: usage paid from a prepaid balance, which is billed at 0, and what
        amortization moved in or out of the period): it is **not a saving** (the prepaid fee
        was paid, on its Purchase row), so it is drawn in a neutral colour, and the legend
        says what each colour is. When the savings basis does not cover
        every row (``savings_coverage < 1``) a note under the chart says how much it covers.

    Raises
    ------
    MissingColumnsError
        If list, contracted or effective cost is missing or entirely NA.
    CurrencyError
        If the data holds several currencies.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from cfusage.plots import discount_waterfall
    >>> result = pd.DataFrame({"list_cost": [100.0], "contracted_cost": [80.0],
    ...                        "effective_cost": [70.0], "billed_cost": [70.0]})
    >>> from matplotlib.figure import Figure
    >>> ax = discount_waterfall(result, ax=Figure().add_subplot())
    >>> [t.get_text() for t in ax.get_xticklabels()][:3]
    ['List', 'Negotiated\\nsavings', 'Contracted']
    """
    if "total_savings" not in data.columns and "charge_period_start" in data.columns:
        data = discounts(data, by=None, freq=None)
    cur = _currency_of(data, currency)
    cols = ["list_cost", "contracted_cost", "effective_cost"]
    row = _single_row(
        data, [c for c in [*cols, "billed_cost"] if c in data.columns], "discount_waterfall"
    )
    missing = [c for c in cols if c not in row.index or pd.isna(row[c])]
    if missing:
        raise MissingColumnsError(
            missing, f"discount_waterfall needs {missing}; they are missing or NA"
        )
    lst, con, eff = (float(row[c]) for c in cols)
    steps: list[tuple[str, float, str]] = [
        ("List", lst, "total"),
        ("Negotiated\nsavings", con - lst, "delta"),
        ("Contracted", con, "total"),
        ("Commitment\nsavings", eff - con, "delta"),
        ("Effective", eff, "total"),
    ]
    billed = row.get("billed_cost")
    if billed is not None and not pd.isna(billed):
        steps += [
            ("Prepaid &\ntiming", float(billed) - eff, "neutral"),
            ("Billed", float(billed), "total"),
        ]
    ax = _get_ax(ax)
    _waterfall(ax, steps, cur, zoom=True)
    _money_axis(ax, "Cost", cur)
    ax.set_title("From list price to what was paid", loc="left", fontsize=11)
    kinds = {kind for _label, _amount, kind in steps}
    legend = [Patch(facecolor=TOTAL, label="Total")]
    legend.append(Patch(facecolor=NEGATIVE, label="Saving"))
    if any(k == "delta" and a > 0 for _label, a, k in steps):
        legend.append(Patch(facecolor=POSITIVE, label="Cost above the step before"))
    if "neutral" in kinds:
        legend.append(
            Patch(
                facecolor=NEUTRAL,
                label="Not a saving: usage paid from a prepaid balance, and timing",
            )
        )
    ax.legend(
        handles=legend,
        frameon=False,
        fontsize=8,
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
    )
    if "savings_coverage" in data.columns:
        coverage = _weighted_coverage(data)
        if coverage is not None and coverage < 0.9995:
            _note(
                ax,
                f"Savings are computed on the rows with every price: {coverage:.1%} of list cost",
                y=-0.2,
            )
    return ax


def _weighted_coverage(result: pd.DataFrame) -> float | None:
    cov = result["savings_coverage"].astype("Float64")
    weight = result["list_cost"].astype("Float64") if "list_cost" in result.columns else None
    if weight is None or not weight.notna().any() or float(weight.sum()) == 0:
        return None if not cov.notna().any() else float(cov.min())
    ok = cov.notna() & weight.notna()
    return float((cov[ok] * weight[ok]).sum() / weight[ok].sum())


#: The effects of :func:`cfusage.price_volume_mix`, in the order the bridge draws them.
_EFFECTS = (
    "price_effect",
    "days_effect",
    "volume_effect",
    "mix_effect",
    "new_effect",
    "retired_effect",
)


def _period_label(window: Any) -> str | None:
    """``Sep 2026`` for a calendar month window, ``1–14 Sep 2026`` otherwise."""
    try:
        start, end = (pd.Timestamp(t) for t in window)
    except (TypeError, ValueError):
        return None
    last = end - pd.Timedelta(days=1)
    if start.day == 1 and end == start + pd.DateOffset(months=1):
        return f"{start:%b %Y}"
    if start == last:
        return f"{start:%d %b %Y}"
    return f"{start:%d %b} – {last:%d %b %Y}"


@chart
def variance_bridge(data: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Bridge from the previous period's cost to the current one: price, days, volume, mix, new,
    retired.

    Parameters
    ----------
    data : pandas.DataFrame
        A result of :func:`cfusage.price_volume_mix` (one row per group; the rows are added up,
        so they must share one currency; pass ``detail=True`` rows or a filtered result as well).
    ax : matplotlib.axes.Axes, optional
        Where to draw; the current Axes by default.

    Returns
    -------
    matplotlib.axes.Axes
        Grey total bars for the previous and current cost; between them one floating bar per
        effect the result holds, in the order price, days, volume, mix, new, retired (red: it
        raised the cost, green: it lowered it). The effects' heights add up to
        ``current - previous`` exactly as the helper's effects do. An effect that is unknown
        (NA) for every group is drawn as 0 and said so under the chart.

    Raises
    ------
    MissingColumnsError
        If ``data`` lacks ``previous``, ``current`` or the price, volume, new and retired
        effects.
    CurrencyError
        If ``data`` holds several currencies.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from cfusage.plots import variance_bridge
    >>> pvm = pd.DataFrame({"previous": [100.0], "current": [130.0],
    ...     "price_effect": [10.0], "days_effect": [3.0], "volume_effect": [12.0],
    ...     "mix_effect": [0.0], "new_effect": [8.0], "retired_effect": [-3.0]})
    >>> from matplotlib.figure import Figure
    >>> ax = variance_bridge(pvm, ax=Figure().add_subplot())
    >>> steps = [p for p in ax.patches if p.get_gid() not in ("bar:Previous", "bar:Current")]
    >>> round(float(sum(p.get_height() for p in steps)), 6)
    30.0
    """
    required = ["price_effect", "volume_effect", "new_effect", "retired_effect"]
    effects = [e for e in _EFFECTS if e in data.columns or e in required]
    cols = ["previous", "current", *effects]
    cur = _currency_of(data) if "billing_currency" in data.columns else None
    sums = _single_row(data, cols, "variance_bridge")
    unknown = [e.removesuffix("_effect") for e in effects if pd.isna(sums[e])]
    missing = [c for c in ("previous", "current") if pd.isna(sums[c])]
    if missing:
        raise DataError(f"variance_bridge: {' and '.join(missing)} cost is unknown (NA)")
    row = sums.fillna(0.0)
    meta = data.attrs.get("cfusage") or {}
    before = _period_label(meta.get("base")) or "Previous"
    after = _period_label(meta.get("current")) or "Current"
    steps: list[tuple[str, float, str]] = [("Previous", float(row["previous"]), "total")]
    for name in effects:
        steps.append((name.removesuffix("_effect").capitalize(), float(row[name]), "delta"))
    steps.append(("Current", float(row["current"]), "total"))
    ax = _get_ax(ax)
    _waterfall(ax, steps, cur, zoom=True)
    labels = [before, *(s[0] for s in steps[1:-1]), after]
    ax.set_xticks(range(len(steps)), labels, fontsize=9)
    _money_axis(ax, _pretty(str(meta.get("value", "effective_cost"))), cur)
    if unknown:
        _note(ax, f"unknown (NA), drawn as 0: {', '.join(unknown)}", y=-0.2, gid="unknown-note")
    change = float(row["current"]) - float(row["previous"])
    ax.set_title(
        f"{before} → {after}: {'+' if change > 0 else ''}{format_money(change, cur)}",
        loc="left",
        fontsize=11,
    )
    return ax


def _by_columns(result: pd.DataFrame, stop: Sequence[str]) -> list[str]:
    """The grouping columns of a helper's result: those before the first of ``stop`` (the
    leading ``period`` of a result, which is no grouping, left out)."""
    for name in stop:
        if name in result.columns:
            before = result.columns[: result.columns.get_loc(name)]
            return [c for c in before if c != "period"]
    return []


@chart
def top_movers(data: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Horizontal bars of the largest cost changes, largest at the top.

    Parameters
    ----------
    data : pandas.DataFrame
        A result of :func:`cfusage.top_movers` (by-columns, ``billing_currency``, ``previous``,
        ``current``, ``change``, ``relative_change``, ``status``).
    ax : matplotlib.axes.Axes, optional
        Where to draw; the current Axes by default.

    Returns
    -------
    matplotlib.axes.Axes
        One bar per row (red: the cost rose, green: it fell), labelled with the change and its
        relative size, or ``new`` / ``retired``.

    Raises
    ------
    MissingColumnsError
        If ``data`` has no ``change`` column.
    CurrencyError
        If ``data`` holds several currencies.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from cfusage.plots import top_movers
    >>> movers = pd.DataFrame({"x_product_family_name": ["R2", "Workers"],
    ...     "change": [50.0, -20.0], "relative_change": [0.5, -0.1]})
    >>> from matplotlib.figure import Figure
    >>> ax = top_movers(movers, ax=Figure().add_subplot())
    >>> [t.get_text() for t in ax.get_yticklabels()]  # R2, the largest change, on top
    ['R2', 'Workers']
    """
    _need_columns(data, ["change"], "top_movers needs a cfusage.top_movers() result")
    cur = _currency_of(data)
    cols = _by_columns(data, ["billing_currency", "previous", "change"])
    labels = (
        _labels(data, cols) if cols else pd.Series([str(i) for i in data.index], index=data.index)
    )
    change = data["change"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    ax = _get_ax(ax)
    y = np.arange(len(data))[::-1]  # first row at the top
    colours = [POSITIVE if c > 0 else NEGATIVE for c in np.nan_to_num(change)]
    for yi, ci, colour, label in zip(y, np.nan_to_num(change), colours, labels, strict=True):
        ax.barh(yi, ci, color=colour, height=0.62, gid=f"bar:{label}")
    ax.set_yticks(y, labels.tolist(), fontsize=9)
    rel = (
        data["relative_change"].to_numpy(dtype=float, na_value=np.nan)
        if "relative_change" in data.columns
        else np.full(len(data), np.nan)
    )
    status = data["status"].astype("str").to_numpy() if "status" in data.columns else None
    span = np.nanmax(np.abs(change)) if len(change) and np.isfinite(change).any() else 1.0
    for i, (yi, ci) in enumerate(zip(y, change, strict=True)):
        if np.isnan(ci):
            continue
        text = ("+" if ci > 0 else "") + format_money(ci, cur)
        if status is not None and status[i] in ("new", "retired"):
            text += f"  ({status[i]})"
        elif not np.isnan(rel[i]):
            text += f"  ({format_percent(rel[i], signed=True, decimals=0)})"
        ax.text(
            ci + (0.01 * span if ci >= 0 else -0.01 * span),
            yi,
            text,
            va="center",
            ha="left" if ci >= 0 else "right",
            fontsize=8,
            color=INK,
        )
    lo, hi = ax.get_xlim()
    pad = (hi - lo) * 0.22
    ax.set_xlim(lo - (pad if lo < 0 else 0), hi + (pad if hi > 0 else 0))
    ax.axvline(0, color="#9AA5B1", linewidth=0.8)
    _style(ax, grid_axis="x")
    _money_axis(ax, "Change in cost", cur, axis="x")
    meta = data.attrs.get("cfusage") or {}
    before, after = _period_label(meta.get("base")), _period_label(meta.get("current"))
    title = "Largest changes" + (f", {before} → {after}" if before and after else "")
    ax.set_title(title, loc="left", fontsize=11)
    return ax


def _pick_group(result: pd.DataFrame, cols: list[str], group: Any) -> pd.DataFrame:
    """The rows of one group: ``group`` (a value, a tuple or a dict), else the strongest anomaly."""
    if not cols:
        return result
    if group is None:
        flagged = result.loc[result["is_anomaly"].to_numpy(dtype=bool, na_value=False)]
        source = flagged if len(flagged) else result
        if len(flagged) and "score" in flagged.columns:
            size = flagged["score"].abs()
        elif len(flagged):
            size = (flagged["actual"] - flagged["expected"]).abs()
        else:
            size = source["actual"]
        best = source.loc[size.fillna(-1).idxmax()]
        mask = np.ones(len(result), dtype=bool)
        for c in cols:
            mask &= (result[c].astype("str") == str(best[c])).to_numpy(dtype=bool, na_value=False)
        return result.loc[mask]
    if isinstance(group, dict):
        wanted = {_column_of(k, cols): v for k, v in group.items()}
    else:
        values = group if isinstance(group, tuple) else (group,)
        if len(values) != len(cols):
            raise ValueError(f"group={group!r}: give one value per by-column {cols}")
        wanted = dict(zip(cols, values, strict=True))
    mask = np.ones(len(result), dtype=bool)
    for c, v in wanted.items():
        mask &= (result[c].astype("str") == str(v)).to_numpy(dtype=bool, na_value=False)
    if not mask.any():
        raise ValueError(f"group={group!r} is not in the result (its by-columns are {cols})")
    return result.loc[mask]


def _column_of(name: str, cols: list[str]) -> str:

    col = DIMENSIONS.get(name, name)
    if col not in cols:
        raise ValueError(f"group key {name!r} is not a by-column of the result ({cols})")
    return col


@chart
def anomaly_timeline(
    data: pd.DataFrame,
    *,
    group: Any = None,
    since: Any = None,
    ax: Axes | None = None,
) -> Axes:
    """One group's cost over time with its expected band and the anomalies marked.

    Parameters
    ----------
    data : pandas.DataFrame
        A result of :func:`cfusage.anomalies`.
    group : object, tuple or dict, optional
        Which group to draw when the result has by-columns: a value (one by-column), a tuple
        (one value per by-column) or a dict (``{"metric": "R2 Storage", "account": "Acme"}``).
        Default: the group of the strongest anomaly (largest ``|score|``, the one
        :func:`cfusage.describe_anomalies` describes first), else the group with the largest
        cost in one period.
    ax : matplotlib.axes.Axes, optional
        Where to draw; the current Axes by default.
    since : date-like, optional
        Draw only periods from this day on.

    Returns
    -------
    matplotlib.axes.Axes
        A line of the actual cost (``gid="actual"``), a dashed line of the expected cost
        (``gid="expected"``), the band between ``lower`` and ``upper`` (``fill_between``,
        ``gid="band"``) and a marker per anomaly (``gid="anomalies"``).

    Raises
    ------
    MissingColumnsError
        If ``data`` lacks the columns :func:`cfusage.anomalies` produces.
    ValueError
        If ``group`` is not in the result.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from cfusage.analysis._anomalies import anomalies
    >>> from cfusage.plots import anomaly_timeline
    >>> df = pd.DataFrame({
    ...     "charge_period_start": pd.date_range("2026-03-01", periods=15, tz="UTC"),
    ...     "effective_cost": pd.array([10.0] * 14 + [90.0], dtype="Float64"),
    ... })
    >>> from matplotlib.figure import Figure
    >>> ax = anomaly_timeline(anomalies(df), ax=Figure().add_subplot())
    >>> len(ax.collections[-1].get_offsets())
    1
    """
    need = ["period", "actual", "expected", "lower", "upper", "is_anomaly"]
    _need_columns(data, need, "anomaly_timeline needs a cfusage.anomalies() result")
    meta = data.attrs.get("cfusage") or {}
    cols = [
        c
        for c in meta.get("by", _by_columns(data, ["billing_currency", "period"]))
        if c in data.columns
    ]
    part = _pick_group(data, cols, group)
    cur = _currency_of(part)
    if since is not None:
        start = pd.Timestamp(since)
        start = start.tz_localize("UTC") if start.tzinfo is None else start
        part = part.loc[part["period"] >= start]
    part = part.sort_values("period")
    x = _naive(part["period"])
    actual = part["actual"].to_numpy(dtype=float, na_value=np.nan)
    expected = part["expected"].to_numpy(dtype=float, na_value=np.nan)
    lower = part["lower"].to_numpy(dtype=float, na_value=np.nan)
    upper = part["upper"].to_numpy(dtype=float, na_value=np.nan)
    floor = min(0.0, np.nanmin(actual)) if np.isfinite(actual).any() else 0.0
    ax = _get_ax(ax)
    ax.fill_between(
        x,
        np.fmax(lower, floor),
        upper,
        color="#D9E2EC",
        alpha=0.8,
        linewidth=0,
        label="Expected band",
        gid="band",
    )
    ax.plot(x, expected, color=MUTED, linestyle="--", linewidth=1, label="Expected", gid="expected")
    ax.plot(x, actual, color=INK, linewidth=1.4, label="Actual", gid="actual")
    flagged = part["is_anomaly"].to_numpy(dtype=bool, na_value=False)
    ax.scatter(
        x[flagged],
        actual[flagged],
        color=POSITIVE,
        s=28,
        zorder=5,
        label="Anomaly",
        gid="anomalies",
    )
    _style(ax)
    _date_axis(ax, str(meta.get("freq", "D")))
    _money_axis(ax, _pretty(str(meta.get("value", "effective_cost"))), cur)
    name = " / ".join(str(part[c].iloc[0]) for c in cols) if cols and len(part) else "Total cost"
    ax.set_title(name, loc="left", fontsize=11)
    # outside the axes, to the right: a legend inside would cover the spike it is about
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return ax


@chart
def budget(
    data: pd.DataFrame,
    *,
    period: Any = None,
    thresholds: Sequence[float] = (0.5, 0.8, 1.0),
    ax: Axes | None = None,
) -> Axes:
    """Cumulative actual against the budget and the run-rate forecast, day by day, in one period.

    Parameters
    ----------
    data : pandas.DataFrame
        A result of :func:`cfusage.budget_variance` with no by-columns (or filtered to one
        group): ``period``, ``date``, ``cumulative_actual``, ``budget``, ``cumulative_budget``,
        ``forecast``, ``days_in_period``.
    ax : matplotlib.axes.Axes, optional
        Where to draw; the current Axes by default.
    period : date-like, optional
        Which budget period to draw (its first day, or any day in it); default: the last.
    thresholds : sequence of float, default (0.5, 0.8, 1.0)
        Fractions of the budget drawn as horizontal lines.

    Returns
    -------
    matplotlib.axes.Axes
        ``gid="actual"``: cumulative actual; ``gid="budget"``: the linear cumulative budget;
        ``gid="forecast"``: a dotted line from the last actual to the forecast at the period's
        end; ``gid="threshold:<t>"``: one horizontal line per threshold.

    Raises
    ------
    MissingColumnsError
        If ``data`` lacks the columns :func:`cfusage.budget_variance` produces.
    ValueError
        If the result holds several groups, or ``period`` is not in it.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from cfusage.analysis._variance import budget_variance
    >>> from cfusage.plots import budget
    >>> df = pd.DataFrame({
    ...     "charge_period_start": pd.date_range("2026-04-01", periods=10, tz="UTC"),
    ...     "effective_cost": pd.array([20.0] * 10, dtype="Float64"),
    ... })
    >>> from matplotlib.figure import Figure
    >>> ax = budget(budget_variance(df, budget=600.0, as_of="2026-04-10"), ax=Figure().add_subplot())
    >>> [line.get_gid() for line in ax.lines][:3]
    ['budget', 'actual', 'forecast']
    """
    need = [
        "period",
        "date",
        "cumulative_actual",
        "budget",
        "cumulative_budget",
        "forecast",
        "days_in_period",
    ]
    _need_columns(data, need, "budget needs a cfusage.budget_variance() result")
    cols = _by_columns(data, ["billing_currency", "period"])
    groups = data[cols].drop_duplicates() if cols else pd.DataFrame(index=[0])
    if len(groups) > 1:
        raise ValueError(
            f"the result holds {len(groups)} budget lines ({cols}); filter it to one group"
        )
    cur = _currency_of(data)
    periods = pd.DatetimeIndex(data["period"].drop_duplicates()).sort_values()
    if period is None:
        chosen = periods[-1]
    else:
        ts = pd.Timestamp(period)
        ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
        before = periods[periods <= ts]
        if not len(before):
            raise ValueError(f"period={period!r} is not in the result ({list(periods.date)})")
        chosen = before[-1]
    part = data.loc[data["period"] == chosen].sort_values("date")
    x = _naive(part["date"])
    day = np.timedelta64(1, "D")
    ax = _get_ax(ax)
    amount = float(part["budget"].iloc[-1]) if part["budget"].notna().any() else None
    days_in = int(part["days_in_period"].iloc[-1])
    end = _naive(pd.Series([chosen]))[0] + np.timedelta64(days_in, "D")
    first = x[0]
    if amount is not None:
        ax.plot(
            [first, end],
            [0, amount],
            color=MUTED,
            linestyle="--",
            linewidth=1,
            label="Budget (linear)",
            gid="budget",
        )
    actual = part["cumulative_actual"].to_numpy(dtype=float, na_value=np.nan)
    # cumulative at the end of each day, starting from 0 at the start of the period
    ax.plot(
        np.r_[first, x + day],
        np.r_[0.0, actual],
        color=INK,
        linewidth=1.8,
        marker="o",
        markersize=2.5,
        label="Actual (cumulative)",
        gid="actual",
    )
    forecast = float(part["forecast"].iloc[-1])
    ax.plot(
        [x[-1] + day, end],
        [actual[-1], forecast],
        color=_forecast_colour(forecast, amount),
        linestyle=":",
        linewidth=2,
        label=f"Run-rate forecast {format_money(forecast, cur)}",
        gid="forecast",
    )
    if amount is not None:
        for t in thresholds:
            ax.axhline(
                t * amount,
                color=GRID if t < 1 else POSITIVE,
                linewidth=1,
                linestyle="-",
                gid=f"threshold:{t:g}",
                zorder=0,
            )
            ax.annotate(
                f"{t:.0%} · {format_money(t * amount, cur)}",
                (first, t * amount),
                xytext=(2, 2),
                textcoords="offset points",
                ha="left",
                va="bottom",
                fontsize=7,
                color=MUTED,
            )
    _style(ax)
    _date_axis(ax, "D", show_offset=False)  # the title names the month
    ax.set_xlim(first, end)
    _money_axis(ax, "Cumulative cost", cur)
    title = f"Budget {chosen:%B %Y}"
    if amount is not None:
        title += f": {format_money(amount, cur)}"
    ax.set_title(title, loc="left", fontsize=11)
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    return ax


def _forecast_colour(forecast: float, amount: float | None) -> str:
    """Red when the forecast exceeds the budget, green otherwise (muted without a budget)."""
    if amount is None or np.isnan(forecast):
        return MUTED
    return POSITIVE if forecast > amount else NEGATIVE


@chart
def amortized_vs_billed(data: pd.DataFrame, *, freq: str = "MS", ax: Axes | None = None) -> Axes:
    """Billed cost (the invoice) beside effective cost (amortized) per period.

    Parameters
    ----------
    data : pandas.DataFrame
        A typed usage frame (reconciled with :func:`cfusage.reconcile` at ``freq``) or a
        :func:`cfusage.reconcile` result (``period``, ``billed_cost``, ``effective_cost``; its
        rows are added up per period, so pass one currency).
    freq : str, default "MS"
        Grain when ``data`` is a usage frame: ``"MS"``, ``"QS"``, ``"W"``, ``"D"`` or
        ``"billing_period"``.
    ax : matplotlib.axes.Axes, optional
        Where to draw; the current Axes by default.

    Returns
    -------
    matplotlib.axes.Axes
        Two bars per period (``gid="billed:<period>"`` and ``gid="effective:<period>"``): a
        prepaid fee stands out as a tall billed bar in the month it was invoiced, the usage it
        paid for as effective cost in the months after. Drawn from a usage frame, a partial
        period (the data covers only some of its days) is lighter and hatched, with its day
        count above it.

    Raises
    ------
    MissingColumnsError
        If billed or effective cost is missing.
    CurrencyError
        If the data holds several currencies.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from cfusage.plots import amortized_vs_billed
    >>> rec = pd.DataFrame({"period": pd.to_datetime(["2026-01-01", "2026-02-01"], utc=True),
    ...     "billed_cost": [100.0, 0.0], "effective_cost": [50.0, 50.0]})
    >>> from matplotlib.figure import Figure
    >>> len(amortized_vs_billed(rec, ax=Figure().add_subplot()).patches)
    4
    """
    days = None
    if "charge_period_start" in data.columns and "difference" not in data.columns:
        days = covered_days(data)
        data = reconcile(data, freq=freq)
    need = ["period", "billed_cost", "effective_cost"]
    _need_columns(data, need, "amortized_vs_billed needs a reconcile() result")
    cur = _currency_of(data)
    sums = data.groupby("period", sort=True)[["billed_cost", "effective_cost"]].sum(min_count=1)
    ax = _get_ax(ax)
    x = np.arange(len(sums))
    width = 0.4
    grain = freq_of(freq) if freq != "billing_period" else "MS"
    if days is not None and len(sums):
        part = partial_periods(sums.index, grain, first_day=days[0], last_day=days[1])
    else:
        part = pd.DataFrame({"partial": np.zeros(len(sums), bool), "note": [""] * len(sums)})
    is_partial = part["partial"].to_numpy(dtype=bool)
    for offset, name, colour, label in (
        (-width / 2, "billed_cost", TOTAL, "Billed (invoice)"),
        (width / 2, "effective_cost", "#F28E2B", "Effective (amortized)"),
    ):
        values = sums[name].to_numpy(dtype=float, na_value=np.nan)
        for xi, v, p, flag in zip(x, values, sums.index, is_partial, strict=True):
            if np.isnan(v):
                continue
            ax.bar(
                xi + offset,
                v,
                width=width,
                color=colour,
                gid=f"{name.split('_')[0]}:{p:%Y-%m-%d}",
                label="_nolegend_" if flag else label,
                alpha=PARTIAL_ALPHA if flag else 1.0,
                hatch=PARTIAL_HATCH if flag else None,
                edgecolor=colour if flag else None,
                linewidth=0,
            )
            if not flag:
                label = "_nolegend_"
    if is_partial.any():
        high = sums.to_numpy(dtype=float, na_value=np.nan).clip(min=0)
        tops = np.nan_to_num(np.nanmax(np.where(np.isnan(high), 0.0, high), axis=1))
        mark_partial(
            ax,
            list(x[is_partial]),
            list(tops[is_partial]),
            part["note"][is_partial].tolist(),
            widths=[2 * width] * int(is_partial.sum()),
        )
    fmt = {"D": "%d %b", "W": "%d %b", "MS": "%b\n%Y", "QS": "%b\n%Y", "billing_period": "%b\n%Y"}
    ax.set_xticks(
        x, [f"{pd.Timestamp(p):{fmt.get(grain, '%b %Y')}}" for p in sums.index], fontsize=8
    )
    _style(ax)
    _money_axis(ax, "Cost", cur)
    ax.set_title("Billed vs amortized (effective) cost", loc="left", fontsize=11)
    ax.legend(frameon=False, fontsize=8, loc="upper right")
    return ax


@chart
def commitment_burndown(
    data: pd.DataFrame, *, commitment: Any = None, ax: Axes | None = None
) -> Axes:
    """A commitment's balance over its term: actual, then projected, and when it runs out.

    Parameters
    ----------
    data : pandas.DataFrame
        A result of :func:`cfusage.commitment_burndown`.
    commitment : str, optional
        Which ``commitment_id`` to draw; default: the only one (required when there are several).
    ax : matplotlib.axes.Axes, optional
        Where to draw; the current Axes by default.

    Returns
    -------
    matplotlib.axes.Axes
        ``gid="balance"``: the actual balance; ``gid="projected"``: the projection (dashed) to
        the term's end; ``gid="exhausted"``: a marker on the day the balance runs out, if it
        does before the term ends; ``gid="as-of"`` (a dotted line) and ``"balance-note"``: the
        last actual day and its balance, when part of the term is projected;
        ``gid="end-balance"``: the balance on the term's last day.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import cfusage
    >>> from matplotlib.figure import Figure
    >>> b = cfusage.commitment_burndown(  # doctest: +SKIP
    ...     cfusage.sample.load(), commitments=cfusage.sample.COMMITMENTS, as_of="2026-06-30")
    >>> ax = commitment_burndown(b, ax=Figure().add_subplot())  # doctest: +SKIP
    """
    _need_columns(
        data,
        ["commitment_id", "period", "balance", "projected", "amount"],
        "commitment_burndown needs a cfusage.commitment_burndown() result",
    )
    ids = data["commitment_id"].astype("str").unique().tolist()
    if commitment is None:
        if len(ids) != 1:
            raise DataError(
                f"the result holds {len(ids)} commitments: pass commitment= one of {ids}"
            )
        commitment = ids[0]
    one = data[data["commitment_id"].astype("str") == str(commitment)]
    if one.empty:
        raise DataError(f"commitment={commitment!r} is not in the result; it holds {ids}")
    cur = _currency_of(one)
    ax = _get_ax(ax)
    days = _naive(one["period"])
    balance = one["balance"].to_numpy(dtype=float, na_value=np.nan)
    projected = one["projected"].to_numpy(dtype=bool)
    actual = ~projected
    ax.plot(days[actual], balance[actual], color=TOTAL, lw=1.8, gid="balance", label="Balance left")
    if projected.any():
        start = max(int(np.flatnonzero(projected)[0]) - 1, 0)
        ax.plot(
            days[start:],
            balance[start:],
            color=TOTAL,
            lw=1.4,
            ls="--",
            gid="projected",
            label="Projected at the recent drawdown rate",
        )
    ax.axhline(0, color=GRID, lw=1)
    if projected.any() and actual.any():  # where the actual balance ends: the report's day
        last = int(np.flatnonzero(actual)[-1])
        ax.axvline(days[last], color=MUTED, lw=0.8, ls=":", gid="as-of")
        ax.annotate(
            f"{format_money(balance[last], cur)} left on {pd.Timestamp(days[last]):%d %b %Y}",
            (days[last], balance[last]),
            xytext=(6, 6),
            textcoords="offset points",
            fontsize=8,
            color=INK,
            gid="balance-note",
        )
    if len(balance) and np.isfinite(balance[-1]):
        ax.annotate(
            format_money(balance[-1], cur),
            (days[-1], balance[-1]),
            xytext=(0, 6),
            textcoords="offset points",
            ha="right",
            fontsize=8,
            color=INK,
            gid="end-balance",
        )
    exhausted = one["exhausted_on"].dropna() if "exhausted_on" in one.columns else pd.Series()
    if len(exhausted):
        day = _naive(pd.Series([exhausted.iloc[0]]))[0]
        ax.plot([day], [0.0], "o", color=POSITIVE, gid="exhausted", label="Runs out")
    _style(ax)
    _money_axis(ax, "Balance", cur)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%b\n%Y"))
    end = one["projected_unused"].iloc[0] if "projected_unused" in one.columns else None
    title = "Commitment balance"
    if end is not None and not pd.isna(end):
        # "projected" only while some of the term is still to come
        what = "projected unused at term end" if projected.any() else "unused at term end"
        title += f": {format_money(float(end), cur)} {what}"
    ax.set_title(title, loc="left", fontsize=11)
    ax.legend(frameon=False, fontsize=8, loc="upper right")
    return ax
