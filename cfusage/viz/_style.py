"""The house style shared by the charts, the explorer and the report: colours, money, literal text.

One palette (a product family has the same colour in every chart, table and report), one way to
write money for people (:func:`format_money`: ``$1.2k``, ``€3.4M``, ``−$12.50``), the common look
of an Axes (:func:`style_axes`, :func:`money_axis`), and one rule for text: every label cfusage
hands to matplotlib is drawn literally (:func:`literal`, :func:`literal_axes`), so a name such as
``Plan $5 and $10`` is never typeset as mathematics and ``$\\frac{1}{0$`` never breaks a figure.

Examples
--------
>>> from cfusage.viz._style import format_money, color_for, literal
>>> format_money(1234.5), format_money(3_400_000, "EUR"), format_money(-12.5)
('$1.2k', '€3.4M', '−$12.50')
>>> color_for("Workers") == color_for("Workers")
True
>>> literal("Plan $5 and $10")
'Plan \\\\$5 and \\\\$10'
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import numpy as np
import pandas as pd
from matplotlib.text import Text
from matplotlib.ticker import FixedFormatter, FuncFormatter

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "FAMILY_COLORS",
    "GRID",
    "INK",
    "MUTED",
    "NEGATIVE",
    "NEUTRAL",
    "OTHER_COLOR",
    "POSITIVE",
    "TOTAL",
    "chart",
    "color_for",
    "colors_for",
    "covered_days",
    "format_money",
    "format_number",
    "format_percent",
    "format_price",
    "literal",
    "literal_axes",
    "mark_partial",
    "money_axis",
    "money_formatter",
    "naive_datetimes",
    "partial_periods",
    "style_axes",
]

# --------------------------------------------------------------------------------------------
# Palette
# --------------------------------------------------------------------------------------------

#: Fixed colours for the Cloudflare product families people meet most, so that a family keeps its
#: colour in every chart and every report. Colours are from the Tableau 10/20 qualitative sets,
#: the most common families taking the ten strong ones, so that any six of them stay apart.
FAMILY_COLORS: dict[str, str] = {
    "Workers": "#F28E2B",  # orange, Cloudflare's own colour family
    "R2": "#4E79A7",
    "Workers AI": "#B07AA1",
    "Stream": "#E15759",
    "Images": "#76B7B2",
    "Zero Trust": "#59A14F",
    "Argo Smart Routing": "#EDC948",
    "Cache Reserve": "#9C755F",
    "Load Balancing": "#FF9DA7",
    "Spectrum": "#D37295",
    "Rate Limiting": "#A0CBE8",
    "Workers KV": "#FFBE7D",
    "KV": "#FFBE7D",
    "D1": "#8CD17D",
    "Durable Objects": "#B6992D",
    "Queues": "#D4A6C8",
    "Log Explorer": "#499894",
    "Vectorize": "#FABFD2",
    "Analytics Engine": "#F1CE63",
    "Observability": "#79706E",
    "Pages": "#D7B5A6",
    "Hyperdrive": "#FF9D9A",
    "AI Gateway": "#86BCB6",
    "Browser Rendering": "#6A51A3",
}

#: The colour of the "Other" bucket and of anything that is not a named series.
OTHER_COLOR = "#BFBFBF"

#: Colours for names with no fixed colour, chosen by a stable hash of the name.
_HASH_PALETTE: tuple[str, ...] = (
    "#1F77B4",
    "#FF7F0E",
    "#2CA02C",
    "#D62728",
    "#9467BD",
    "#8C564B",
    "#E377C2",
    "#17BECF",
    "#BCBD22",
    "#AEC7E8",
    "#FFBB78",
    "#98DF8A",
    "#FF9896",
    "#C5B0D5",
    "#C49C94",
    "#F7B6D2",
    "#9EDAE5",
    "#DBDB8D",
    "#393B79",
    "#637939",
    "#8C6D31",
    "#843C39",
    "#7B4173",
    "#3182BD",
)

_OTHER = "Other"
_NOT_SET = "(not set)"

# Ink colours shared by every chart and the HTML report.
INK = "#1F2933"
MUTED = "#6B7785"
GRID = "#E4E7EB"
POSITIVE = "#C0392B"  # a cost increase is bad news
NEGATIVE = "#2E8B57"  # a saving or decrease is good news
TOTAL = "#3B4B5C"
NEUTRAL = "#A7B4C2"  # money that moved but is no saving and no increase (prepaid, timing)
#: How a partial period is drawn: hatched, at this opacity (the note says its day count).
PARTIAL_HATCH = "////"
PARTIAL_ALPHA = 0.45
#: What the caption under a chart with partial periods says.
PARTIAL_CAPTION = "lighter, hatched bars: partial periods (the data covers only some of their days)"


def _hash_index(name: str) -> int:
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % len(_HASH_PALETTE)


def color_for(name: object) -> str:
    """The colour of one series name: fixed for known product families, hash-stable otherwise.

    Parameters
    ----------
    name : object
        A product family, account, metric... ``"Other"`` and NA get :data:`OTHER_COLOR`.

    Returns
    -------
    str
        A ``#RRGGBB`` colour. The same name always gets the same colour, in any process (the
        hash is BLAKE2, not Python's salted ``hash``).

    Examples
    --------
    >>> color_for("R2"), color_for("Other")
    ('#4E79A7', '#BFBFBF')
    """
    if name is None or name is pd.NA or (isinstance(name, float) and np.isnan(name)):
        return OTHER_COLOR
    text = str(name)
    if text in (_OTHER, _NOT_SET):
        return OTHER_COLOR
    if text in FAMILY_COLORS:
        return FAMILY_COLORS[text]
    return _HASH_PALETTE[_hash_index(text)]


def colors_for(names: Iterable[object]) -> dict[str, str]:
    """Colours for the series of one chart: :func:`color_for`, with hash collisions resolved.

    Known families keep their fixed colour. Two other names whose hashes collide within the same
    chart are told apart by moving the later one (in sorted order) to the next free palette slot,
    so the assignment depends only on the set of names, never on their order.

    Parameters
    ----------
    names : iterable
        The series names of one chart.

    Returns
    -------
    dict of str to str
        Name (as ``str``) to ``#RRGGBB`` colour.

    Examples
    --------
    >>> colors_for(["Workers", "R2", "Other"])
    {'Workers': '#F28E2B', 'R2': '#4E79A7', 'Other': '#BFBFBF'}
    """
    labels = list(dict.fromkeys(str(n) for n in names))
    out: dict[str, str] = {}
    used: set[str] = set()
    for label in labels:
        if label in FAMILY_COLORS or label in (_OTHER, _NOT_SET):
            out[label] = color_for(label)
            used.add(out[label])
    for label in sorted(set(labels) - set(out)):
        start = _hash_index(label)
        n = len(_HASH_PALETTE)
        colour = _HASH_PALETTE[start]
        for step in range(n):
            candidate = _HASH_PALETTE[(start + step) % n]
            if candidate not in used:
                colour = candidate
                break
        out[label] = colour
        used.add(colour)
    return {label: out[label] for label in labels}


# --------------------------------------------------------------------------------------------
# Money and dates
# --------------------------------------------------------------------------------------------

_SYMBOLS: dict[str, str] = {
    "USD": "$",
    "EUR": "€",
    "GBP": "£",
    "JPY": "¥",
    "CNY": "¥",
    "INR": "₹",
    "KRW": "₩",
    "AUD": "A$",
    "CAD": "C$",
    "NZD": "NZ$",
    "HKD": "HK$",
    "SGD": "S$",
    "BRL": "R$",
    "MXN": "MX$",
}


def _symbol(currency: str | None) -> tuple[str, str]:
    """(prefix, suffix) for a currency code: ``$`` for USD, ``CHF `` for codes without a symbol."""
    if not currency:
        return "", ""
    code = str(currency).upper()
    if code in _SYMBOLS:
        return _SYMBOLS[code], ""
    return f"{code} ", ""


def format_money(
    value: float | None, currency: str | None = "USD", *, compact: bool = True, na: str = "—"
) -> str:
    """Format an amount of money for people: ``$1.2k``, ``$3.4M``, ``−$12.50``.

    Parameters
    ----------
    value : float or None
        The amount. NA/None/NaN give ``na`` (a missing cost is never shown as 0).
    currency : str or None, default "USD"
        ISO 4217 code. Known codes use their symbol (``$``, ``€``, ``£``), others their code
        (``CHF 1.2k``); ``None`` formats the bare number.
    compact : bool, default True
        ``True`` abbreviates thousands (``k``), millions (``M``) and billions (``B``) with one
        decimal (dropped when it is 0); ``False`` writes the full amount with thousands
        separators and cents (``$12,345.67``).
    na : str, default "—"
        What to write for a missing amount.

    Returns
    -------
    str

    Examples
    --------
    >>> format_money(0), format_money(950), format_money(1000), format_money(12.345)
    ('$0', '$950', '$1k', '$12.35')
    >>> format_money(12345.678, compact=False), format_money(None)
    ('$12,345.68', '—')
    """
    if value is None or value is pd.NA:
        return na
    x = float(value)
    if np.isnan(x):
        return na
    prefix, suffix = _symbol(currency)
    a = abs(x)
    sign = "−" if x < 0 and (not compact or a >= 0.00005) and (compact or a >= 0.005) else ""
    if not compact:
        return f"{sign}{prefix}{a:,.2f}{suffix}"
    return f"{sign}{prefix}{_compact(a)}{suffix}"


def _compact(a: float) -> str:
    """A non-negative amount in at most 4 significant characters: ``950``, ``1.2k``, ``3.4M``."""
    if a < 0.00005:
        return "0"
    if a < 999.5:
        if a >= 100 or a == int(a):
            return f"{a:.0f}"
        # sub-cent amounts (unit prices) keep up to four decimals: $0.004, $0.0003
        return f"{a:.4f}".rstrip("0") if a < 0.01 else f"{a:.2f}"
    units = ("k", "M", "B", "T")
    i = 0
    scaled = a / 1e3
    while i < len(units) - 1 and round(scaled, 0 if scaled >= 99.95 else 1) >= 1000:
        scaled /= 1e3
        i += 1
    text = f"{scaled:.1f}".removesuffix(".0") if scaled < 99.95 else f"{scaled:.0f}"
    return text + units[i]


def format_price(value: float | None, currency: str | None = "USD", *, na: str = "—") -> str:
    """Format a unit price for people: every significant digit a price needs, never ``3e-07``.

    Prices of metered usage are small (``$0.0000003`` per request): :func:`format_money` would
    round them to ``$0``, and Python's ``str`` writes them in scientific notation. A price is
    written in plain decimals with four significant digits (trailing zeros dropped), at least
    two decimals from a cent up, and never as ``−$0`` (a negative zero is 0).

    Parameters
    ----------
    value : float or None
        The price; NA gives ``na``.
    currency : str or None, default "USD"
        ISO 4217 code (``None``: the bare number).
    na : str, default "—"

    Returns
    -------
    str

    Examples
    --------
    >>> format_price(3e-07), format_price(0.0045), format_price(0.5), format_price(-0.0)
    ('$0.0000003', '$0.0045', '$0.50', '$0')
    >>> format_price(12.3456789), format_price(None)
    ('$12.35', '—')
    """
    if value is None or value is pd.NA:
        return na
    x = float(value)
    if np.isnan(x):
        return na
    prefix, suffix = _symbol(currency)
    if x == 0:
        return f"{prefix}0{suffix}"
    a = abs(x)
    decimals = max(2, 3 - int(np.floor(np.log10(a)))) if a < 1 else 2
    text = f"{a:,.{decimals}f}"
    whole, _, frac = text.partition(".")
    frac = frac.rstrip("0").ljust(2, "0")  # trailing zeros dropped, at least cents kept
    text = f"{whole}.{frac}"
    sign = "−" if x < 0 and float(text.replace(",", "")) != 0 else ""
    return f"{sign}{prefix}{text}{suffix}"


def format_number(value: float | None, *, decimals: int = 2, na: str = "—") -> str:
    """A plain number for people: thousands separators, no scientific notation, no ``-0``.

    Examples
    --------
    >>> format_number(-0.0001), format_number(1234567.891), format_number(2e-07, decimals=7)
    ('0', '1,234,567.89', '0.0000002')
    """
    if value is None or value is pd.NA:
        return na
    x = float(value)
    if np.isnan(x):
        return na
    text = f"{x:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text.lstrip("-") in ("0", ""):
        return "0"
    return text.replace("-", "−")


def format_percent(
    value: float | None, *, signed: bool = False, decimals: int = 1, na: str = "—"
) -> str:
    """A share or change as a percentage: ``12.3%``, ``+4.0%``, ``−2.5%``; never ``-0.0%``.

    Examples
    --------
    >>> format_percent(0.1234), format_percent(-0.00001, signed=True), format_percent(-0.025)
    ('12.3%', '0.0%', '−2.5%')
    """
    if value is None or value is pd.NA:
        return na
    x = float(value)
    if np.isnan(x):
        return na
    x = round(x * 100, decimals) + 0.0  # a change that rounds to 0 is 0, not "−0.0"
    if x == 0:
        return f"{0:.{decimals}f}%"
    text = f"{x:+.{decimals}f}%" if signed else f"{x:.{decimals}f}%"
    return text.replace("-", "−")


def money_formatter(currency: str | None = "USD") -> FuncFormatter:
    """A matplotlib tick formatter writing amounts as :func:`format_money` does.

    Parameters
    ----------
    currency : str or None, default "USD"
        ISO 4217 code of the axis.

    Returns
    -------
    matplotlib.ticker.FuncFormatter

    Examples
    --------
    >>> money_formatter("USD")(2500, 0)
    '$2.5k'
    """
    return FuncFormatter(lambda x, _pos: format_money(x, currency))


def money_axis(ax: Axes, name: str, currency: str | None, axis: str = "y") -> None:
    """Tick a value axis as money (:func:`money_formatter`) and label it ``name (CUR)``."""
    unit = f" ({currency})" if currency else ""
    if axis == "y":
        ax.yaxis.set_major_formatter(money_formatter(currency))
        ax.set_ylabel(f"{name}{unit}", color=INK)
    else:
        ax.xaxis.set_major_formatter(money_formatter(currency))
        ax.set_xlabel(f"{name}{unit}", color=INK)


def naive_datetimes(ts: pd.Series | pd.Index) -> np.ndarray:
    """UTC timestamps as naive datetime64 for matplotlib (which would otherwise warn on tz)."""
    s = pd.Series(ts)
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_convert("UTC").dt.tz_localize(None)
    return s.to_numpy(dtype="datetime64[us]")


# --------------------------------------------------------------------------------------------
# Partial periods
# --------------------------------------------------------------------------------------------

_GRAIN_NAMES = {"D": "day", "W": "week", "MS": "month", "QS": "quarter"}


def _period_end(start: pd.Timestamp, grain: str) -> pd.Timestamp:
    if grain == "D":
        return start + pd.Timedelta(days=1)
    if grain == "W":
        return start + pd.Timedelta(days=7)
    if grain == "MS":
        return start + pd.DateOffset(months=1)
    if grain == "QS":
        return start + pd.DateOffset(months=3)
    raise ValueError(f"grain {grain!r} is not one of {sorted(_GRAIN_NAMES)}")


def covered_days(data: pd.DataFrame) -> tuple[dt.date, dt.date] | None:
    """The days a usage frame covers completely: its first day through its last complete day.

    The last complete day is the frame's ``attrs["cfusage"]["complete_through"]`` when it is
    given and earlier than the last day in the frame (later days are still being delivered),
    else the last day in the frame. ``None`` for a frame with no ``charge_period_start``.
    """
    if "charge_period_start" not in data.columns:
        return None
    starts = data["charge_period_start"].dropna()
    if starts.empty:
        return None
    first, last = starts.min(), starts.max()
    if isinstance(first, pd.Timestamp) and first.tzinfo is not None:
        first, last = first.tz_convert("UTC"), last.tz_convert("UTC")
    first_day, last_day = pd.Timestamp(first).date(), pd.Timestamp(last).date()
    meta = data.attrs.get("cfusage") if isinstance(data.attrs, dict) else None
    complete = meta.get("complete_through") if isinstance(meta, dict) else None
    if complete is not None and complete is not pd.NA:
        last_day = min(last_day, pd.Timestamp(complete).date())
    return first_day, last_day


def partial_periods(
    starts: Iterable[Any], grain: str, *, first_day: dt.date, last_day: dt.date
) -> pd.DataFrame:
    """Which periods of a time chart the data covers only in part, and how many days it covers.

    THE rule of every time chart (plots, explorer, report): a period is *partial* when the days
    the data covers completely, ``first_day`` through ``last_day`` (:func:`covered_days`: the
    data's first day through its last complete day), hold only some of the period's days. That
    is the first or last period of the data cut by its range (a week that starts before the
    data does, the month it ends in), or a period after the frame's complete-through day.

    Parameters
    ----------
    starts : iterable of timestamps
        First day of each period (UTC, or naive UTC).
    grain : str
        ``"D"``, ``"W"``, ``"MS"`` or ``"QS"`` (the period each start opens).
    first_day, last_day : datetime.date
        The first and last day the data covers completely (inclusive).

    Returns
    -------
    pandas.DataFrame
        One row per start (same order): ``days`` (days in the period), ``covered`` (of them,
        those in ``[first_day, last_day]``), ``partial`` (``covered < days``), and ``note``
        (``"3 of 7 days"``, or ``"incomplete"`` when no day of it is complete; ``""`` for a
        whole period).

    Examples
    --------
    >>> import datetime as dt, pandas as pd
    >>> weeks = pd.to_datetime(["2026-03-02", "2026-03-09", "2026-03-16"])
    >>> p = partial_periods(weeks, "W", first_day=dt.date(2026, 3, 4),
    ...                     last_day=dt.date(2026, 3, 17))
    >>> p[["covered", "partial", "note"]].values.tolist()
    [[5, True, '5 of 7 days'], [7, False, ''], [2, True, '2 of 7 days']]
    """
    rows = []
    lo = pd.Timestamp(first_day)
    hi = pd.Timestamp(last_day) + pd.Timedelta(days=1)
    for raw in starts:
        start = pd.Timestamp(raw)
        if start.tzinfo is not None:
            start = start.tz_convert("UTC").tz_localize(None)
        start = start.normalize()
        end = _period_end(start, grain)
        days = int((end - start) / pd.Timedelta(days=1))
        overlap = (min(end, hi) - max(start, lo)) / pd.Timedelta(days=1)
        covered = int(max(0, overlap))
        partial = covered < days
        note = (
            "" if not partial else ("incomplete" if covered == 0 else f"{covered} of {days} days")
        )
        rows.append((days, covered, partial, note))
    return pd.DataFrame(rows, columns=["days", "covered", "partial", "note"]).astype(
        {"days": "int64", "covered": "int64", "partial": "bool", "note": "object"}
    )


def mark_partial(
    ax: Axes,
    centres: Sequence[float],
    tops: Sequence[float],
    notes: Sequence[str],
    *,
    caption: tuple[float, float, str, str] = (1.0, -0.16, "right", "top"),
    caption_text: str = PARTIAL_CAPTION,
    widths: Sequence[float] | None = None,
) -> None:
    """Write each partial period's day count above its bar, and say under the chart what
    lighter, hatched bars are (``gid="partial-note"`` and ``gid="partial-legend"``).

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    centres, tops : sequence of float
        Where each partial bar is: its x centre (data units) and its top (data units).
    notes : sequence of str
        :func:`partial_periods`'s ``note`` of each of them.
    caption : (x, y, ha, va), default under the chart on the right
        Where the caption goes, in Axes coordinates.
    caption_text : str
        The caption (:data:`PARTIAL_CAPTION`).
    widths : sequence of float, optional
        Each bar's width (data units): a note at an edge of the axes starts at its bar's
        outer edge.
    """
    if not len(notes):
        return
    lo, hi = ax.get_xlim()
    span = (hi - lo) or 1.0
    halves = [0.0] * len(notes) if widths is None else [w / 2 for w in widths]
    for x, y, note, half in zip(centres, tops, notes, halves, strict=True):
        # near an edge of the axes the note reads inwards from the bar's outer edge, so it
        # never sits over the value axis or the legend
        where = (x - lo) / span
        ha = "left" if where < 0.08 else "right" if where > 0.92 else "center"
        at = x - half if ha == "left" else x + half if ha == "right" else x
        ax.annotate(
            note,
            (at, y),
            xytext=(0, 2),
            textcoords="offset points",
            ha=ha,
            va="bottom",
            fontsize=7,
            color=INK,
            gid="partial-note",
            zorder=6,
            bbox={
                "boxstyle": "round,pad=0.15",
                "facecolor": "white",
                "edgecolor": "none",
                "alpha": 0.85,
            },
        )
    x, y, ha, va = caption
    ax.text(
        x,
        y,
        caption_text,
        transform=ax.transAxes,
        fontsize=7.5,
        color=MUTED,
        ha=ha,
        va=va,
        gid="partial-legend",
    )


def style_axes(ax: Axes, *, grid_axis: Literal["x", "y"] = "y") -> None:
    """The house look: light grid behind the data, no top/right spines, muted ticks."""
    ax.set_axisbelow(True)
    ax.grid(True, axis=grid_axis, color=GRID, linewidth=0.8)
    ax.grid(False, axis="x" if grid_axis == "y" else "y")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color("#9AA5B1")
    ax.tick_params(colors=INK, labelsize=9)
    ax.title.set_color(INK)


# --------------------------------------------------------------------------------------------
# Literal text
# --------------------------------------------------------------------------------------------


def literal(text: object) -> str:
    r"""``text`` as matplotlib draws it literally, as it is written.

    matplotlib typesets the part of a string between two unescaped ``$`` as mathematics
    (mathtext): ``Plan $5 and $10`` would be drawn in italics, ``$\frac{1}{0$`` would fail the
    whole figure, and it draws ``\$`` as ``$``. A text that matplotlib would not draw as written
    gets every ``$`` escaped (``\$``, drawn as ``$``); any other text (no ``$``, or a single
    one as in ``$1.2k``) is returned unchanged.

    Parameters
    ----------
    text : object
        Any label (``str()`` is taken).

    Returns
    -------
    str

    Examples
    --------
    >>> literal("R2"), literal("$1.2k"), literal("a$^{$b")
    ('R2', '$1.2k', 'a\\$^{\\$b')
    """
    s = str(text)
    unescaped = s.count("$") - s.count(r"\$")
    as_written = r"\$" not in s and not (unescaped > 0 and unescaped % 2 == 0)
    return s if as_written else s.replace("$", r"\$")


_LITERAL = "_cfusage_literal"


def literal_axes(ax: Axes) -> Axes:
    """Make every text of ``ax`` literal (:func:`literal`): titles, axis labels, tick labels,
    legend entries and title, annotations and notes.

    Text already made literal is left as it is (applying this twice changes nothing). Tick
    labels given as a list (``set_xticks(x, labels)``) are escaped in their formatter, so they
    stay literal when the figure is drawn again. Every chart of :mod:`cfusage.plots` and the
    explorer call this before handing back their Axes.

    Parameters
    ----------
    ax : matplotlib.axes.Axes

    Returns
    -------
    matplotlib.axes.Axes
        ``ax``.
    """
    for axis in (ax.xaxis, ax.yaxis):
        for ticker in (axis.major, axis.minor):
            _literal_formatter(ticker.formatter)
    for text in ax.findobj(Text):
        current = text.get_text()
        if current and getattr(text, _LITERAL, None) != current:
            escaped = literal(current)
            text.set_text(escaped)
            setattr(text, _LITERAL, escaped)
    return ax


def _literal_formatter(fmt: object) -> None:
    """Make a tick formatter that writes labels (a list, a function) write them literally."""
    if isinstance(fmt, FixedFormatter) and getattr(fmt, _LITERAL, None) is not fmt.seq:
        fmt.seq = [literal(s) for s in fmt.seq]
        setattr(fmt, _LITERAL, fmt.seq)
    elif isinstance(fmt, FuncFormatter) and getattr(fmt, _LITERAL, None) is not fmt.func:
        # set_xticks(x, labels) keeps its labels in a FuncFormatter; so does money_formatter
        inner = fmt.func

        def func(x: Any, pos: Any = None) -> str:
            return literal(inner(x, pos))

        fmt.func = func
        setattr(fmt, _LITERAL, func)


_Chart = TypeVar("_Chart", bound=Callable[..., Any])


def chart(func: _Chart) -> _Chart:
    """Decorate a public chart: whatever it draws, its texts are literal (:func:`literal_axes`).

    The chart keeps its own name, signature and docstring.
    """

    @functools.wraps(func)
    def draw(*args: Any, **kwargs: Any) -> Any:
        return literal_axes(func(*args, **kwargs))

    return draw  # type: ignore[return-value]
