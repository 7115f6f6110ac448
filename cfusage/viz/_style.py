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

import functools
import hashlib
from collections.abc import Callable, Iterable
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
    "OTHER_COLOR",
    "POSITIVE",
    "TOTAL",
    "chart",
    "color_for",
    "colors_for",
    "format_money",
    "literal",
    "literal_axes",
    "money_axis",
    "money_formatter",
    "naive_datetimes",
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
