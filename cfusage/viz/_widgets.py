"""An interactive explorer for a typed usage frame: ``cfusage.explore(df)``.

One call builds a small dashboard (ipywidgets): a date range, a grain (day / week / month), the value
to show (list, contracted, effective or billed cost, or consumed quantity), the dimension to group
by, filters for account, product family, metric and zone, a stacked chart, a summary table and a
button that exports the current selection to CSV.

How it stays responsive on millions of rows
-------------------------------------------
At construction the frame is aggregated once to one row per day x account x product x metric x
zone x ... (integer codes, vectorised). Every change then filters that aggregate with numpy boolean
masks and sums it with ``np.bincount``; the raw frame is only touched again by
:meth:`Explorer.selection` and the CSV export. Sliders use ``continuous_update=False`` and
:meth:`Explorer.hold` batches several programmatic changes into one redraw.

Decisions worth knowing
-----------------------
- Rows are placed on the day their charge period starts. Multi-day charges (a monthly fee) are not
  spread: amortize them first if that matters.
- Costs in different currencies, and quantities in different units, are never added together: each
  series of the chart and each row of the table holds one currency (or unit). When a selection
  holds several, the chart draws lines instead of stacking and labels each series with its
  currency or unit.
- A partial period (the selected days, through ``complete_through``, cover only some of its
  days: the first and last weeks or months of a range) is drawn lighter and hatched (hollow
  points in the lines view) with its day count, so that it does not read as a drop in spend.
- A Purchase row (a commitment's fee) has no product family: it is listed as "Commitment
  purchase" (or "Purchase"), not "(no product family)".
- A missing value (NA) is never counted as zero: the table reports, per row, how many records had
  no value, and the summary names the coverage. In :meth:`Explorer.chart_data` a cell whose records
  all lack the value is NA; a cell with no records at all (no usage) is 0.

Examples
--------
>>> import pandas as pd
>>> from cfusage.viz._widgets import explore
>>> df = pd.DataFrame(
...     {
...         "charge_period_start": pd.to_datetime(["2026-03-01", "2026-03-02"], utc=True),
...         "x_product_family_name": pd.Series(["Workers", "R2"], dtype="category"),
...         "billing_currency": pd.Series(["USD", "USD"], dtype="category"),
...         "effective_cost": pd.array([1.5, 2.0], dtype="Float64"),
...     }
... )
>>> ex = explore(df)
>>> ex.table()["effective_cost"].tolist()
[2.0, 1.5]
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import html
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from .. import schema
from ..analysis import floor_to
from ..errors import ArgumentError, DataError, MissingColumnsError
from ..io import neutralize_formulas
from ..schema import DIMENSIONS, FREQS
from . import _style as theme

__all__ = ["Explorer", "explore"]

#: Grain labels offered by the explorer → canonical grain of :mod:`cfusage.analysis._grouping`.
GRAINS: dict[str, str] = {"day": "D", "week": "W", "month": "MS"}
#: Dimensions offered in "group by" (aliases of ``cfusage.analysis._grouping.DIMENSIONS``), in menu order.
GROUP_BY: tuple[str, ...] = (
    "product",
    "account",
    "metric",
    "zone",
    "category",
    "region",
    "sub_account",
)
#: Dimensions with a filter control, and the attribute of :class:`Explorer` that holds it.
FILTERS: dict[str, str] = {
    "account": "accounts",
    "product": "products",
    "metric": "metrics",
    "zone": "zones",
}
#: Values the explorer can show: every cost column of the schema, and the consumed quantity.
VALUES: tuple[str, ...] = (*schema.MONEY, "consumed_quantity")

_LABELS: dict[str, str] = {
    "product": "Product family",
    "account": "Account",
    "metric": "Metric",
    "zone": "Zone",
    "category": "Product category",
    "region": "Region",
    "sub_account": "Sub-account",
}
_CURRENCY = "billing_currency"
_NEXT = {
    "day": pd.Timedelta(days=1),
    "week": pd.Timedelta(days=7),
    "month": pd.offsets.MonthBegin(1),
}
_UNIT = "consumed_unit"


#: Dimensions a Purchase row has no value in (it buys a commitment, no product): the explorer
#: names such a row by what it is rather than "(no product family)".
_PURCHASE_DIMENSIONS = ("product", "category")


def _purchase_labels(df: pd.DataFrame) -> pd.Series | None:
    """Per row, what a Purchase row is ("Commitment purchase", else "Purchase"); NA elsewhere.

    ``None`` when the frame has no Purchase row (or no ``charge_category``).
    """
    if "charge_category" not in df.columns:
        return None
    is_purchase = (df["charge_category"].astype("str") == "Purchase").to_numpy(dtype=bool)
    if not is_purchase.any():
        return None
    text = pd.Series("", index=df.index, dtype=object)
    for col in ("charge_description", "x_billable_metric_id", "x_billable_metric_name"):
        if col in df.columns:
            text = text + " " + df[col].astype("str").fillna("").astype(object)
    commitment = text.str.lower().str.contains("commitment", regex=False).to_numpy(dtype=bool)
    out = pd.Series(pd.NA, index=df.index, dtype=object)
    out[is_purchase] = np.where(commitment[is_purchase], "Commitment purchase", "Purchase")
    return out


def _label_purchases(values: pd.Series | None, purchases: pd.Series, n: int) -> pd.Series:
    """``values`` with the Purchase rows that have none named by :func:`_purchase_labels`."""
    base = (
        pd.Series(pd.NA, index=purchases.index, dtype=object)
        if values is None
        else values.astype(object)
    )
    fill = base.isna().to_numpy(dtype=bool) & purchases.notna().to_numpy(dtype=bool)
    if not fill.any():
        return base if values is None else values
    base = base.copy()
    base[fill] = purchases[fill]
    return base


def _value_label(column: str) -> str:
    return column.replace("_", " ").capitalize()


@dataclass(frozen=True)
class _Codes:
    """A dimension as integer codes: ``codes[i]`` indexes ``labels``; NA has its own label."""

    codes: np.ndarray
    labels: np.ndarray

    @classmethod
    def of(cls, values: pd.Series | None, n: int, missing: str) -> _Codes:
        if values is None:
            return cls(np.zeros(n, dtype=np.int64), np.array([missing], dtype=object))
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        labels = np.asarray([str(u) for u in uniques], dtype=object)
        order = np.argsort(labels, kind="stable")
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        labels = labels[order]
        codes = np.asarray(codes, dtype=np.int64)
        na = codes < 0
        codes = np.where(na, len(labels), rank[np.where(na, 0, codes)] if len(rank) else 0)
        if na.any():
            labels = np.append(labels, missing)
        return cls(codes, labels)


def _combine(parts: Sequence[tuple[np.ndarray, int]]) -> tuple[np.ndarray, int]:
    """Group id per row for several code arrays (mixed radix, re-factorized before overflow)."""
    key = np.zeros(len(parts[0][0]), dtype=np.int64)
    size = 1
    for codes, card in parts:
        if size * card >= 2**62:
            key, uniques = pd.factorize(key)
            key = np.asarray(key, dtype=np.int64)
            size = max(len(uniques), 1)
        key = key * card + codes
        size *= card
    gid, uniques = pd.factorize(key)
    return np.asarray(gid, dtype=np.int64), len(uniques)


def _check(
    df: pd.DataFrame, *, top: int, value: str | None, by: str | None, freq: str
) -> list[str]:
    """Validate :func:`explore`'s input; return the value columns the explorer can offer."""
    if "charge_period_start" not in df.columns:
        raise MissingColumnsError(
            ["charge_period_start"], "explore needs the column charge_period_start"
        )
    if len(df) == 0:
        raise DataError("explore needs at least one usage record; the frame is empty")
    starts = df["charge_period_start"]
    if not isinstance(starts.dtype, pd.DatetimeTZDtype):
        raise DataError(
            f"charge_period_start must hold UTC datetimes (a typed frame), not {starts.dtype}"
        )
    if starts.isna().any():
        rows = np.flatnonzero(starts.isna().to_numpy())[:5].tolist()
        raise DataError(f"charge_period_start is missing (NaT) in rows {rows}")
    for col in VALUES:
        if col in df.columns and not pd.api.types.is_numeric_dtype(df[col].dtype):
            raise DataError(f"{col} must be numeric (a typed frame), not {df[col].dtype}")
    values = [c for c in VALUES if c in df.columns and df[c].notna().any()]
    if not values:
        raise MissingColumnsError(
            list(VALUES),
            f"explore needs at least one of {list(VALUES)} with values; the frame has none",
        )
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ValueError(f"top={top!r} must be an integer of at least 1")
    if value is not None and value not in values:
        raise ValueError(
            f"value={value!r} is not a column with values in this frame; use one of {values}"
        )
    if by is not None and by not in GROUP_BY:
        raise ValueError(f"by={by!r} is not offered by the explorer; use one of {list(GROUP_BY)}")
    grain_of(freq)
    return values


def grain_of(freq: str) -> str:
    """The explorer's grain label (``"day"``, ``"week"``, ``"month"``) for a ``freq=``.

    ``freq`` is read as everywhere in cfusage (:data:`cfusage.FREQS`: ``"D"``, ``"W"``, ``"MS"``
    or their names ``"day"``, ``"week"``, ``"month"``...); the explorer offers days, weeks and
    months.
    """
    canonical = FREQS.get(freq) if isinstance(freq, str) else None
    for label, grain in GRAINS.items():
        if canonical == grain:
            return label
    offered = ["D", "W", "MS", *GRAINS]
    raise ArgumentError(f"freq={freq!r} is not a grain of the explorer; use one of {offered}")


def _sums(
    ids: np.ndarray, weights: dict[str, np.ndarray], size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per id (``0 .. size - 1``): sum of the value (float64), records with a value, records."""
    total = np.bincount(ids, weights=weights["sum"], minlength=size).astype("float64")
    present = np.bincount(ids, weights=weights["present"], minlength=size)
    rows = np.bincount(ids, weights=weights["rows"], minlength=size)
    return total, present, rows


def _floats(s: pd.Series) -> np.ndarray:
    return s.to_numpy(dtype="float64", na_value=np.nan)


def _fmt(x: float | None, unit: str = "") -> str:
    """A quantity for people (:func:`cfusage.viz._style.format_number`: no ``-0``, no
    exponent), millions as ``1.23M``."""
    if x is None or pd.isna(x):
        return "–"
    if abs(x) >= 1e6:
        text = theme.format_number(x / 1e6, decimals=2) + "M"
    elif abs(x) >= 1000 or x == int(x):
        text = theme.format_number(x, decimals=0)
    else:
        text = theme.format_number(x, decimals=2)
    return f"{text} {unit}".strip()


#: A stacked series whose largest bar is under this share of the tallest stack is too thin to
#: see (under about a pixel): the table says so (the report uses the same share).
_VISIBLE_SHARE = 0.004


def _too_small(data: pd.DataFrame) -> set[str]:
    """The series of a stacked chart (:meth:`Explorer.chart_data`) too thin to see in it."""
    if data.empty:
        return set()
    values = data.astype("float64").fillna(0.0)
    tallest = float(values.clip(lower=0).sum(axis=1).max())
    if tallest <= 0:
        return set()
    biggest = values.abs().max()
    return {str(n) for n, v in biggest.items() if float(v) < _VISIBLE_SHARE * tallest}


def _short(label: str, limit: int = 30) -> str:
    """A legend label that fits beside the chart."""
    return label if len(label) <= limit else label[: limit - 1] + "…"


class Explorer(widgets.VBox):
    """The dashboard returned by :func:`explore`: controls, chart, table and export.

    A :class:`ipywidgets.VBox`: display it in Jupyter (it is the last expression of a cell) or put
    it in a layout of your own. Its controls are attributes, so code (and tests) can drive it by
    setting their ``value``; :meth:`selection`, :meth:`chart_data` and :meth:`table` always reflect
    the controls' current values.

    Attributes
    ----------
    dates : ipywidgets.SelectionRangeSlider
        The first and last day shown (inclusive), as ``datetime.date``; ``dates_label`` (HTML)
        spells the range out.
    grain : ipywidgets.ToggleButtons
        ``"day"``, ``"week"`` (weeks start on Monday) or ``"month"``.
    value : ipywidgets.Dropdown
        The column shown: a cost column of :data:`cfusage.schema.MONEY` or ``consumed_quantity``.
        Only columns holding at least one value are offered.
    by : ipywidgets.Dropdown
        The dimension the chart stacks and the table rows (``"product"``, ``"account"``,
        ``"metric"``, ``"zone"``, ...; ``None`` for the total).
    accounts, products, metrics, zones : ipywidgets.SelectMultiple
        Filters; an empty selection means "all". Missing values have their own option
        (``"(no zone)"``: account-level metrics).
    clear_button, export_button : ipywidgets.Button
        Clear every filter; write the selection to CSV in ``export_dir``.
    export_status : ipywidgets.HTML
        The path of the last export.
    chart : ipywidgets.Output
        The matplotlib chart (a PNG), redrawn on every change.
    summary : ipywidgets.HTML
        The totals and the summary table.
    figure : matplotlib.figure.Figure or None
        The figure last drawn.
    last_export : pathlib.Path or None
        The file the export button wrote last.

    Parameters
    ----------
    data, top, export_dir, value, by, freq
        As for :func:`explore`, which is the usual way to build one.
    figsize : tuple of float, default (10, 3.8)
        Size of the chart in inches (at 100 dpi).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame(
    ...     {
    ...         "charge_period_start": pd.to_datetime(["2026-03-01", "2026-03-02"], utc=True),
    ...         "billing_account_name": pd.Series(["Acme", "Beta"], dtype="category"),
    ...         "effective_cost": pd.array([1.5, 2.0], dtype="Float64"),
    ...     }
    ... )
    >>> ex = Explorer(df, by="account")
    >>> ex.accounts.value = ("Beta",)
    >>> ex.table()["effective_cost"].tolist(), ex.summary.value.count("Beta") > 0
    ([2.0], True)
    """

    def __init__(
        self,
        data: pd.DataFrame,
        *,
        top: int = 8,
        export_dir: str | Path | None = None,
        value: str | None = None,
        by: str | None = "product",
        freq: str = "W",
        figsize: tuple[float, float] = (10.0, 3.8),
    ) -> None:
        values = _check(data, top=top, value=value, by=by, freq=freq)  # before any widget exists
        super().__init__()
        self._values = values
        self._df = data
        self._top = int(top)
        self._export_dir = Path(export_dir) if export_dir is not None else None
        self._figsize = figsize
        self._holding = 0
        self._pending = False
        self._cache: tuple[Any, dict[str, Any]] | None = None
        self.figure: Figure | None = None
        self.last_export: Path | None = None
        self._too_small: set[str] = set()
        self._build_aggregate(data)
        self._build_controls(value=value, by=by, freq=grain_of(freq))
        self._refresh()

    # ------------------------------------------------------------------ construction

    def _build_aggregate(self, df: pd.DataFrame) -> None:
        n = len(df)
        days = (
            df["charge_period_start"]
            .dt.tz_convert("UTC")
            .dt.tz_localize(None)
            .to_numpy(dtype="datetime64[us]")
            .astype("datetime64[D]")
        )
        first_day, last_day = days.min(), days.max()
        day_code = (days - first_day).astype(np.int64)
        self._days = np.arange(first_day, last_day + np.timedelta64(1, "D"), dtype="datetime64[D]")
        dims: dict[str, _Codes] = {}
        purchases = _purchase_labels(df)
        for name in dict.fromkeys((*GROUP_BY, *FILTERS)):
            col = DIMENSIONS[name]
            values = df[col] if col in df.columns else None
            if purchases is not None and name in _PURCHASE_DIMENSIONS:
                values = _label_purchases(values, purchases, n)
            dims[name] = _Codes.of(values, n, f"(no {_LABELS[name].lower()})")
        aux = {
            _CURRENCY: _Codes.of(df.get(_CURRENCY), n, "(no currency)"),
            _UNIT: _Codes.of(df.get(_UNIT), n, "(no unit)"),
        }
        parts = [(day_code, len(self._days))]
        parts += [(d.codes, len(d.labels)) for d in (*dims.values(), *aux.values())]
        gid, groups = _combine(parts)
        _, first = np.unique(gid, return_index=True)
        self._gid = gid
        self._agg_day = day_code[first]
        self._dims = {k: _Codes(d.codes[first], d.labels) for k, d in dims.items()}
        self._aux = {k: _Codes(d.codes[first], d.labels) for k, d in aux.items()}
        self._rows = np.bincount(gid, minlength=groups).astype(np.int64)
        self._sum: dict[str, np.ndarray] = {}
        self._present: dict[str, np.ndarray] = {}
        for col in self._values:
            x = _floats(df[col])
            ok = ~np.isnan(x)
            self._sum[col] = np.bincount(gid, weights=np.where(ok, x, 0.0), minlength=groups)
            self._present[col] = np.bincount(gid, weights=ok, minlength=groups).astype(np.int64)
        stamps = pd.Series(self._days.astype("datetime64[us]")).dt.tz_localize("UTC")
        self._periods: dict[str, tuple[np.ndarray, pd.DatetimeIndex]] = {}
        for label, grain in GRAINS.items():
            floored = floor_to(stamps, grain)
            codes, uniques = pd.factorize(floored, sort=True)
            self._periods[label] = (np.asarray(codes, dtype=np.int64), pd.DatetimeIndex(uniques))
        meta = df.attrs.get("cfusage", {}) if isinstance(df.attrs, dict) else {}
        complete = meta.get("complete_through") if isinstance(meta, dict) else None
        self._complete_through = complete if isinstance(complete, dt.date) else None

    def _build_controls(self, *, value: str | None, by: str | None, freq: str) -> None:
        day_options = [(str(d), d.astype(dt.date)) for d in self._days]
        self.dates = widgets.SelectionRangeSlider(
            options=day_options,
            index=(0, len(day_options) - 1),
            description="Days",
            continuous_update=False,
            readout=False,
            layout=widgets.Layout(width="520px"),
            style={"description_width": "50px"},
        )
        self.dates_label = widgets.HTML(layout=widgets.Layout(width="260px"))
        self.grain = widgets.ToggleButtons(
            options=list(GRAINS),
            value=freq,
            style={"button_width": "64px"},
            layout=widgets.Layout(width="auto"),
        )
        if value is None:
            value = next(c for c in ("effective_cost", *self._values) if c in self._values)
        self.value = widgets.Dropdown(
            options=[(_value_label(c), c) for c in self._values],
            value=value,
            description="Value",
            layout=widgets.Layout(width="250px"),
            style={"description_width": "50px"},
        )
        groupable = [d for d in GROUP_BY if len(self._dims[d].labels) > 1 or d == by]
        self.by = widgets.Dropdown(
            options=[*((_LABELS[d], d) for d in groupable), ("(total)", None)],
            value=by,
            description="Group by",
            layout=widgets.Layout(width="260px"),
            style={"description_width": "70px"},
        )
        self.filters: dict[str, widgets.SelectMultiple] = {}
        self.filter_hint = widgets.HTML(
            f"<span class='cfusage-filters-hint' style='color:{theme.MUTED};font-size:12px'>"
            "Filters: an empty filter means <b>all</b> (every account, product, metric, zone); "
            "select one or more values (Ctrl/Cmd-click) to narrow the selection.</span>"
        )
        boxes = []
        for name, attr in FILTERS.items():
            labels = self._dims[name].labels
            control = widgets.SelectMultiple(
                options=[str(label) for label in labels],
                value=(),
                rows=min(6, max(2, len(labels))),
                layout=widgets.Layout(width="230px"),
                disabled=len(labels) < 2,
            )
            control.add_class(f"cfusage-filter-{name}")
            setattr(self, attr, control)
            self.filters[name] = control
            boxes.append(
                widgets.VBox(
                    [
                        widgets.HTML(
                            f"<b>{_LABELS[name]}</b> <span class='cfusage-filter-hint' "
                            f"style='color:{theme.MUTED}'>(none selected: all)</span>"
                        ),
                        control,
                    ]
                )
            )
        self.clear_button = widgets.Button(description="Clear filters", icon="times")
        self.export_button = widgets.Button(
            description="Export CSV", icon="download", button_style="warning"
        )
        self.export_status = widgets.HTML()
        self.chart = widgets.Output(layout=widgets.Layout(min_height="300px"))
        self.summary = widgets.HTML()
        self.title = widgets.HTML(self._title_html())
        self.clear_button.on_click(lambda _: self.clear_filters())
        self.export_button.on_click(lambda _: self._on_export())
        for control in (self.dates, self.grain, self.value, self.by, *self.filters.values()):
            control.observe(self._on_change, names="value")
        self.children = (
            self.title,
            widgets.HBox([self.dates, self.dates_label, self.grain]),
            widgets.HBox([self.value, self.by, self.clear_button, self.export_button]),
            self.filter_hint,
            widgets.HBox(boxes),
            self.export_status,
            self.chart,
            self.summary,
        )
        self.add_class("cfusage-explorer")
        for name in ("dates", "grain", "value", "by", "chart", "summary", "export_button"):
            getattr(self, name).add_class(f"cfusage-{name.replace('_', '-')}")

    def _title_html(self) -> str:
        n = len(self._df)
        accounts = int((self._dims["account"].labels != "(no account)").sum())
        return (
            "<div style='font-size:15px'><b>cfusage explorer</b> &middot; "
            f"{n:,} records &middot; {accounts:,} accounts &middot; "
            f"{self._days[0]} to {self._days[-1]}</div>"
        )

    # ------------------------------------------------------------------ state

    def _mask(self) -> np.ndarray:
        lo, hi = self.dates.index
        mask = (self._agg_day >= lo) & (self._agg_day <= hi)
        for name, control in self.filters.items():
            if control.value:
                labels = self._dims[name].labels
                keep = np.isin(labels, np.asarray(control.value, dtype=object))
                mask &= keep[self._dims[name].codes]
        return mask

    def _aux_name(self) -> str:
        return _UNIT if self.value.value == "consumed_quantity" else _CURRENCY

    def _series(self) -> dict[str, Any]:
        """The selected part of the aggregate, per series (group x currency or unit).

        Cached on the controls' values, so that :meth:`table` and :meth:`chart_data` of one
        update share the work. With no filter and the whole date range, nothing is copied.
        """
        key = (
            self.dates.index,
            tuple(c.value for c in self.filters.values()),
            self.value.value,
            self.by.value,
        )
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        mask = self._mask()
        idx = None if mask.all() else np.flatnonzero(mask)

        def take(a: np.ndarray) -> np.ndarray:
            return a if idx is None else a[idx]

        col = self.value.value
        aux = self._aux[self._aux_name()]
        n_aux = len(aux.labels)
        if self.by.value is None:
            group = _Codes(np.zeros(len(mask), dtype=np.int64), np.array(["Total"], dtype=object))
        else:
            group = self._dims[self.by.value]
        sid = take(group.codes) * n_aux + take(aux.codes)
        weights = {"sum": take(self._sum[col]), "present": take(self._present[col])}
        weights["rows"] = take(self._rows)
        total, present, rows = _sums(sid, weights, len(group.labels) * n_aux)
        used = np.flatnonzero(rows > 0)
        order = used[np.lexsort((used, -total[used]))]
        result = {
            "sid": sid,
            "day": take(self._agg_day),
            "weights": weights,
            "order": order,
            "total": total,
            "present": present.astype(np.int64),
            "rows": rows.astype(np.int64),
            "group": group,
            "aux": aux,
            "n_aux": n_aux,
            "multi": len(np.unique(order % n_aux)) > 1,
        }
        self._cache = (key, result)
        return result

    def _label(self, s: dict[str, Any], series: int) -> str:
        g, a = divmod(int(series), s["n_aux"])
        label = str(s["group"].labels[g])
        return f"{label} ({s['aux'].labels[a]})" if s["multi"] else label

    def selection(self) -> pd.DataFrame:
        """The records of the current selection (dates and filters), as a new typed frame.

        Returns
        -------
        pandas.DataFrame
            The rows of the frame given to :func:`explore` that fall in the selection, with all
            their columns and dtypes (the caller's frame is not modified).

        Examples
        --------
        >>> import pandas as pd
        >>> df = pd.DataFrame(
        ...     {
        ...         "charge_period_start": pd.to_datetime(["2026-03-01", "2026-03-02"], utc=True),
        ...         "x_product_family_name": pd.Series(["Workers", "R2"], dtype="category"),
        ...         "effective_cost": pd.array([1.5, 2.0], dtype="Float64"),
        ...     }
        ... )
        >>> ex = explore(df)
        >>> ex.products.value = ("Workers",)
        >>> len(ex.selection())
        1
        """
        return self._df[self._mask()[self._gid]]

    def chart_data(self) -> pd.DataFrame:
        """The frame the chart draws: one row per period, one column per series.

        The ``top`` series with the largest totals get a column each; the others are summed
        into ``"Other"``. When the selection holds several currencies (or units), each column
        is labelled with its own and the others are left out (an "Other" would add different
        currencies or units): :meth:`table` still lists every series.

        Returns
        -------
        pandas.DataFrame
            Index ``period`` (UTC start of each day, week or month in the date range), nullable
            ``Float64`` columns. A cell with records that all lack the value is NA; a cell with no
            records is 0.

        Examples
        --------
        >>> import pandas as pd
        >>> df = pd.DataFrame(
        ...     {
        ...         "charge_period_start": pd.to_datetime(["2026-03-01", "2026-03-02"], utc=True),
        ...         "x_product_family_name": pd.Series(["Workers", "R2"], dtype="category"),
        ...         "effective_cost": pd.array([1.5, 2.0], dtype="Float64"),
        ...     }
        ... )
        >>> explore(df, freq="month").chart_data().iloc[0].tolist()
        [2.0, 1.5]
        """
        s = self._series()
        order = s["order"]
        top = order if len(order) <= self._top + 1 else order[: self._top]
        rest = order[len(top) :]
        column_of = np.full(len(s["total"]), -1, dtype=np.int64)  # -1: not drawn
        column_of[top] = np.arange(len(top))
        names = [self._label(s, i) for i in top]
        if len(rest) and not s["multi"]:  # one currency or unit: the rest adds up to "Other"
            column_of[rest] = len(top)
            names.append("Other")
        codes, index = self._periods[self.grain.value]
        lo, hi = self.dates.index
        p0, p1 = codes[lo], codes[hi]
        n_periods, n_cols = int(p1 - p0 + 1), len(names)
        column, w = column_of[s["sid"]], s["weights"]
        drawn = None if len(rest) == 0 or not s["multi"] else np.flatnonzero(column >= 0)
        if drawn is not None:
            column = column[drawn]
            w = {k: v[drawn] for k, v in w.items()}
        cell = (codes[s["day"] if drawn is None else s["day"][drawn]] - p0) * n_cols + column
        shape = (n_periods, n_cols)
        total, present, rows = (a.reshape(shape) for a in _sums(cell, w, n_periods * n_cols))
        total[(rows > 0) & (present == 0)] = np.nan
        out = pd.DataFrame(
            total,
            index=pd.DatetimeIndex(index[p0 : p1 + 1], name="period"),
            columns=pd.Index(names, dtype=object, name=self.by.value or "series"),
        )
        return out.astype("Float64")

    def table(self) -> pd.DataFrame:
        """The summary table: one row per group (and currency or unit) of the selection.

        Returns
        -------
        pandas.DataFrame
            Columns: the group dimension (``product``, ``account``, ...; absent when grouping by
            nothing), ``billing_currency`` (costs) or ``consumed_unit`` (quantity), the value
            column (e.g. ``effective_cost``: the sum of the values present, NA when none is),
            ``share`` (of the total in the same currency or unit), ``records`` and
            ``records_without_value`` (records whose value is NA, not counted in the sum). Sorted
            by value, largest first.

        Examples
        --------
        >>> import pandas as pd
        >>> df = pd.DataFrame(
        ...     {
        ...         "charge_period_start": pd.to_datetime(["2026-03-01", "2026-03-02"], utc=True),
        ...         "x_product_family_name": pd.Series(["Workers", "R2"], dtype="category"),
        ...         "effective_cost": pd.array([1.5, pd.NA], dtype="Float64"),
        ...     }
        ... )
        >>> explore(df).table()[["product", "effective_cost", "records_without_value"]]
           product  effective_cost  records_without_value
        0  Workers             1.5                      0
        1       R2            <NA>                      1
        """
        s = self._series()
        col, aux_name, order, n_aux = self.value.value, self._aux_name(), s["order"], s["n_aux"]
        g, a = np.divmod(order, n_aux)
        total = pd.array(s["total"][order], dtype="Float64")
        total[s["present"][order] == 0] = pd.NA
        per_aux = pd.Series(total).groupby(a).transform("sum")
        share = pd.Series(total) / per_aux.where(per_aux != 0)
        data: dict[str, Any] = {}
        if self.by.value is not None:
            data[self.by.value] = pd.Series(s["group"].labels[g], dtype="str")
        data[aux_name] = pd.Series(s["aux"].labels[a], dtype="str")
        data[col] = total
        data["share"] = share.astype("Float64").array
        data["records"] = s["rows"][order]
        data["records_without_value"] = s["rows"][order] - s["present"][order]
        out = pd.DataFrame(data)
        by_value = out[col].to_numpy(dtype="float64", na_value=-np.inf)
        return out.iloc[np.argsort(-by_value, kind="stable")].reset_index(drop=True)

    # ------------------------------------------------------------------ updates

    @contextlib.contextmanager
    def hold(self) -> Iterator[Explorer]:
        """Batch several control changes into a single redraw.

        Yields
        ------
        Explorer
            ``self``.

        Examples
        --------
        >>> import pandas as pd
        >>> df = pd.DataFrame(
        ...     {
        ...         "charge_period_start": pd.to_datetime(["2026-03-01"], utc=True),
        ...         "effective_cost": pd.array([1.5], dtype="Float64"),
        ...     }
        ... )
        >>> ex = explore(df)
        >>> with ex.hold():
        ...     ex.grain.value = "month"
        ...     ex.by.value = None
        """
        self._holding += 1
        try:
            yield self
        finally:
            self._holding -= 1
            if not self._holding and self._pending:
                self._refresh()

    def clear_filters(self) -> None:
        """Empty every filter (show all accounts, products, metrics and zones), one redraw.

        Examples
        --------
        >>> import pandas as pd
        >>> df = pd.DataFrame(
        ...     {
        ...         "charge_period_start": pd.to_datetime(["2026-03-01", "2026-03-02"], utc=True),
        ...         "x_product_family_name": pd.Series(["Workers", "R2"], dtype="category"),
        ...         "effective_cost": pd.array([1.5, 2.0], dtype="Float64"),
        ...     }
        ... )
        >>> ex = explore(df)
        >>> ex.products.value = ("R2",)
        >>> ex.clear_filters()
        >>> len(ex.selection())
        2
        """
        with self.hold():
            for control in self.filters.values():
                control.value = ()

    def _on_change(self, change: dict[str, Any]) -> None:
        if self._holding:
            self._pending = True
            return
        self._refresh()

    def _refresh(self) -> None:
        self._pending = False
        table = self.table()
        data = self.chart_data()
        lo, hi = self.dates.value
        self.dates_label.value = (
            f"<span class='cfusage-dates-label'>{lo} to {hi} ({(hi - lo).days + 1} days)</span>"
        )
        # the chart first: once the summary shows the new total, the chart is up to date too
        self._too_small = _too_small(data) if self._single_aux(table) else set()
        self._draw(data, table)
        self.summary.value = self._summary_html(table)

    def _single_aux(self, table: pd.DataFrame) -> bool:
        """Whether the chart stacks bars (one currency or unit) rather than drawing lines."""
        return len(table) > 0 and table[self._aux_name()].nunique() == 1

    def _draw(self, data: pd.DataFrame, table: pd.DataFrame) -> None:
        # fixed margins (room for the legend on the right): a layout engine would draw twice
        fig = Figure(figsize=self._figsize, dpi=100)
        width, height = self._figsize
        fig.subplots_adjust(
            left=0.85 / width, right=1 - 2.3 / width, bottom=0.45 / height, top=1 - 0.4 / height
        )
        ax = fig.add_subplot()
        col = self.value.value
        aux_values = table[self._aux_name()].unique().tolist() if len(table) else []
        if data.empty or data.shape[1] == 0:
            self._style(ax, dates=False)
            ax.text(
                0.5,
                0.5,
                "No usage in this selection",
                ha="center",
                va="center",
                transform=ax.transAxes,
                color=theme.MUTED,
            )
            ax.set_xticks([])
            ax.set_yticks([])
        elif len(aux_values) == 1:
            self._plot_stacked(ax, data, aux_values[0])
        else:
            self._plot_lines(ax, data)
            if len(table) > data.shape[1]:
                # in the right margin, under the legend: below the axes it would be clipped
                ax.text(
                    1.02,
                    0.0,
                    f"{len(table) - data.shape[1]} smaller series\nnot drawn: see the table",
                    transform=ax.transAxes,
                    fontsize=8,
                    color=theme.MUTED,
                    ha="left",
                    va="bottom",
                    gid="not-drawn-note",
                )
        self._shade_incomplete(ax, data)
        theme.literal_axes(ax)  # names are drawn as written, never as mathtext
        self.figure = fig
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=100, facecolor="white")
        png = base64.b64encode(buf.getvalue()).decode("ascii")
        self.chart.outputs = (
            {
                "output_type": "display_data",
                "data": {"image/png": png, "text/plain": f"<{_value_label(col)} chart>"},
                "metadata": {},
            },
        )

    def _plot_stacked(self, ax: Any, data: pd.DataFrame, aux: str) -> None:
        """One currency (or unit): stacked bars in the look of :func:`cfusage.plots.cost`.

        Each series is one ``PolyCollection`` of rectangles (not one patch per bar), so a year of
        daily bars draws in milliseconds. Positive and negative amounts (corrections) stack on
        their own side of zero; NA cells are not drawn (the summary counts them).
        """
        col = self.value.value
        names = [str(c) for c in data.columns]
        palette = theme.colors_for(names)
        start = mdates.date2num(theme.naive_datetimes(data.index))
        last = data.index[-1] + _NEXT[self.grain.value]
        nxt = np.append(start[1:], mdates.date2num(theme.naive_datetimes(pd.DatetimeIndex([last]))))
        width = (nxt - start) * (0.8 if len(start) <= 120 else 1.0)
        values = data.astype("float64").fillna(0.0).to_numpy()
        pos, neg = np.clip(values, 0, None), np.clip(values, None, 0)
        pos_base = np.cumsum(pos, axis=1) - pos
        neg_base = np.cumsum(neg, axis=1) - neg
        part = self._partial(data.index)
        is_partial = part["partial"].to_numpy(dtype=bool)
        handles = []
        for j, name in enumerate(names):
            colour = palette[name]
            for flag in (False, True):
                rects = []
                for height, base in ((pos[:, j], pos_base[:, j]), (neg[:, j], neg_base[:, j])):
                    nz = np.flatnonzero((height != 0) & (is_partial == flag))
                    x0, x1 = start[nz], start[nz] + width[nz]
                    y0, y1 = base[nz], base[nz] + height[nz]
                    rects.append(
                        np.stack([[x0, y0], [x0, y1], [x1, y1], [x1, y0]]).transpose(2, 0, 1)
                    )
                polys = np.concatenate(rects)
                if flag and not len(polys):
                    continue
                coll = PolyCollection(
                    list(polys),
                    facecolors=colour,
                    edgecolors=colour if flag else "none",
                    linewidths=0,
                    gid=f"{'partial' if flag else 'series'}:{name}",
                )
                if flag:  # a partial period: lighter and hatched, its day count above it
                    coll.set_alpha(theme.PARTIAL_ALPHA)
                    coll.set_hatch(theme.PARTIAL_HATCH)
                ax.add_collection(coll)
            handles.append(Patch(facecolor=colour, label=_short(name)))
        if is_partial.any():
            theme.mark_partial(
                ax,
                list((start + width / 2)[is_partial]),
                list(pos.sum(axis=1)[is_partial]),
                part["note"][is_partial].tolist(),
                widths=list(width[is_partial]),
                caption=(1.02, 0.0, "left", "bottom"),
                caption_text="lighter, hatched bars:\npartial periods (the\nselection covers only\n"
                "some of their days)",
            )
        ax.set_xlim(start[0] - 0.5, nxt[-1] + 0.5)
        low, high = float(neg.sum(axis=1).min()), float(pos.sum(axis=1).max())
        pad = 0.05 * ((high - low) or 1.0)
        ax.set_ylim(low - pad if low < 0 else 0.0, high + pad)
        self._style(ax)
        known = not aux.startswith("(no ")
        money = col != "consumed_quantity"  # a quantity's unit is no currency
        ax.yaxis.set_major_formatter(theme.money_formatter(aux if known and money else None))
        ax.set_ylabel(f"{_value_label(col)} ({aux})" if known else _value_label(col))
        by = self.by.value
        title = f"{_value_label(col)} per {self.grain.value}"
        ax.set_title(title + (f" by {_LABELS[by].lower()}" if by else ""), loc="left", fontsize=11)
        if by is not None:
            ax.legend(
                handles=handles[::-1],
                frameon=False,
                fontsize=8,
                loc="upper left",
                bbox_to_anchor=(1.0, 1.0),
                title=_LABELS[by],
                title_fontsize=8,
            )

    def _plot_lines(self, ax: Any, data: pd.DataFrame) -> None:
        """Several currencies or units: one line per series, never stacked or added."""
        col = self.value.value
        x = theme.naive_datetimes(data.index)
        names = [str(c) for c in data.columns]
        palette = theme.colors_for(names)
        others = iter(("--", ":", "-.") * len(names))
        for name in names:
            y = data[name].astype("float64").to_numpy()
            other = name.startswith("Other")
            ax.plot(
                x,
                y,
                label=_short(name),
                color=theme.OTHER_COLOR if other else palette[name],
                linestyle=next(others) if other else "-",
                marker="o" if len(x) < 25 else None,
                lw=1.6,
            )
        part = self._partial(data.index)
        is_partial = part["partial"].to_numpy(dtype=bool)
        if is_partial.any():  # a partial period's point is hollow, its day count above it
            values = data.astype("float64").to_numpy()
            for j, name in enumerate(names):
                colour = theme.OTHER_COLOR if name.startswith("Other") else palette[name]
                ax.plot(
                    x[is_partial],
                    values[is_partial, j],
                    linestyle="none",
                    marker="o",
                    markerfacecolor="white",
                    markeredgecolor=colour,
                    markersize=6,
                    gid=f"partial:{name}",
                )
            tops = np.nan_to_num(np.nanmax(np.where(np.isnan(values), -np.inf, values), axis=1))
            theme.mark_partial(
                ax,
                list(mdates.date2num(x[is_partial])),
                list(tops[is_partial]),
                part["note"][is_partial].tolist(),
                caption=(1.02, 0.2, "left", "bottom"),  # above the "not drawn" note
                caption_text="hollow points:\npartial periods (the\nselection covers only\n"
                "some of their days)",
            )
        self._style(ax)
        ax.yaxis.set_major_formatter(theme.money_formatter(None))
        what = "units" if col == "consumed_quantity" else "currencies"
        ax.set_ylabel(f"{_value_label(col)} (several {what})", color=theme.INK)
        ax.set_title(
            f"{_value_label(col)} per {self.grain.value}: one line per series, "
            f"{what} are never added",
            loc="left",
            fontsize=11,
        )
        ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))

    def _style(self, ax: Any, *, dates: bool = True) -> None:
        """The look of :mod:`cfusage.plots`: light y grid, no top/right spines, concise dates."""
        theme.style_axes(ax)
        if not dates:
            return
        ax.xaxis_date()
        if self.grain.value == "month":
            locator: mdates.DateLocator = mdates.MonthLocator()
        else:
            locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
        ax.xaxis.set_major_locator(locator)
        # no offset label (a stray "2026-Nov" at the axis' right end)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, show_offset=False))

    def _partial(self, periods: pd.DatetimeIndex) -> pd.DataFrame:
        """:func:`cfusage.viz._style.partial_periods` of the chart's periods: the selection's
        days (and of them, those through ``complete_through``) cover only some of their days."""
        lo, hi = self.dates.value
        if self._complete_through is not None:
            hi = min(hi, self._complete_through)
        first = max(lo, self._days[0].astype(dt.date))
        return theme.partial_periods(
            periods, GRAINS[self.grain.value], first_day=first, last_day=max(hi, first)
        )

    def _shade_incomplete(self, ax: Any, data: pd.DataFrame) -> None:
        """Grey the days after ``complete_through`` (still being delivered)."""
        complete = self._complete_through
        if complete is None or data.empty:
            return
        edge = np.datetime64(complete + dt.timedelta(days=1), "us")
        end = np.datetime64(self.dates.value[1] + dt.timedelta(days=1), "us")
        if edge < end:
            ax.axvspan(edge, end, color=theme.MUTED, alpha=0.12, lw=0, zorder=0)
            ax.text(
                edge,
                1.0,
                " incomplete",
                transform=ax.get_xaxis_transform(),
                fontsize=7.5,
                color=theme.MUTED,
                va="top",
            )

    def _amount(self, value: Any, aux: str, *, unit: bool = True) -> str:
        """An amount for people: money with its currency symbol, a quantity with its unit."""
        known = not aux.startswith("(no ")
        if self.value.value != "consumed_quantity":
            return theme.format_money(value, aux if known else None, compact=False, na="–")
        return _fmt(value, aux if unit and known else "")

    def _summary_html(self, table: pd.DataFrame) -> str:
        col, aux_name, group = self.value.value, self._aux_name(), self.by.value
        lo, hi = self.dates.value
        records = int(table["records"].sum())
        missing = int(table["records_without_value"].sum())
        totals = table.groupby(aux_name, sort=True)[col].sum(min_count=1)
        # a currency or unit with no value at all (NA: a Purchase row's quantity) is no term
        # of the total: it is counted in the records without value below, never shown as "–"
        known = [self._amount(v, u) for u, v in totals.items() if not pd.isna(v)]
        empty = "no value (NA)" if len(totals) else "no usage"
        total_text = " + ".join(known) if known else empty
        notes = []
        if missing:
            notes.append(
                f"<div class='cfusage-missing' style='color:#b00020'>{missing:,} of {records:,} "
                f"records have no {html.escape(col)} (NA) and are not in these totals.</div>"
            )
        if self._complete_through is not None and hi > self._complete_through:
            notes.append(
                f"<div style='color:{theme.MUTED}'>Data is complete through "
                f"{self._complete_through}; later days may still change.</div>"
            )
        head = (
            "<div class='cfusage-total' style='font-size:14px;margin:6px 0 2px'>"
            f"Total {html.escape(_value_label(col).lower())}: "
            f"<b class='cfusage-total-value'>{html.escape(total_text)}</b>"
            f"<span style='color:{theme.MUTED}'> &middot; {lo} to {hi} "
            f"({(hi - lo).days + 1} days) &middot; {records:,} records</span></div>"
        )
        header = [_LABELS[group] if group else "", aux_name.replace("_", " "), _value_label(col)]
        header += ["share", "records", "without value"]
        shown = table  # every row, in a scrollable area
        small = self._too_small
        rows = []
        for r in shown.to_dict("records"):
            share = r["share"]
            bar = 0.0 if pd.isna(share) else max(0.0, min(1.0, float(share)))
            rows.append(
                "<tr>"
                f"<td class='l'>{html.escape(str(r[group])) if group else 'Total'}"
                + (
                    f" <span class='cfusage-too-small' style='color:{theme.MUTED}'>"
                    "(too small to see in the chart)</span>"
                    if group and str(r[group]) in small
                    else ""
                )
                + "</td>"
                f"<td class='l'>{html.escape(str(r[aux_name]))}</td>"
                f"<td>{html.escape(self._amount(r[col], str(r[aux_name]), unit=False))}</td>"
                f"<td><span class='cfusage-bar' style='width:{60 * bar:.0f}px'></span>"
                f"{theme.format_percent(share, na='–')}</td>"
                f"<td>{r['records']:,}</td><td>{r['records_without_value']:,}</td></tr>"
            )
        style = (
            "<style>.cfusage-table{border-collapse:collapse;font-size:12px;margin-top:4px}"
            ".cfusage-table td,.cfusage-table th{padding:3px 12px;text-align:right;"
            "border-bottom:1px solid #eceff1;white-space:nowrap}"
            ".cfusage-table th{border-bottom:1px solid #9aa5b1;font-weight:600}"
            ".cfusage-table .l{text-align:left}"
            ".cfusage-table-scroll{max-height:340px;overflow-y:auto;display:inline-block;"
            "border:1px solid #eceff1}"
            ".cfusage-table thead th{position:sticky;top:0;background:#fff}"
            ".cfusage-bar{display:inline-block;height:8px;background:#f6a04d;margin-right:6px;"
            "vertical-align:middle;border-radius:1px}</style>"
        )
        thead = "".join(
            f"<th class='{'l' if i < 2 else ''}'>{html.escape(h)}</th>"
            for i, h in enumerate(header)
        )
        return (
            style
            + head
            + "".join(notes)
            + "<div class='cfusage-table-scroll'><table class='cfusage-table'>"
            + f"<thead><tr>{thead}</tr></thead><tbody>"
            + "".join(rows)
            + f"</tbody></table></div><div style='color:{theme.MUTED};font-size:11px'>"
            + f"{len(table):,} rows</div>"
        )

    # ------------------------------------------------------------------ export

    def export(self, path: str | Path | None = None) -> Path:
        """Write the current selection (all its columns) to a CSV file.

        Parameters
        ----------
        path : str or pathlib.Path, optional
            The file to write. By default a new file named after the selection
            (``cfusage-selection-<first day>-<last day>-<time>.csv``) in ``export_dir`` (the
            current directory when :func:`explore` was given none).

        Returns
        -------
        pathlib.Path
            The file written (absolute). Datetimes are ISO 8601 UTC (``2026-03-01T00:00:00Z``), missing
            values are empty cells, tags are JSON objects. A text cell that starts with ``=``,
            ``+``, ``-``, ``@``, a tab or a carriage return is written with a single quote in
            front (:func:`cfusage.io.neutralize_formulas`), so that a spreadsheet shows it as
            text instead of running it as a formula; numbers are written as numbers.
            Lines end in CRLF (RFC 4180), so a text holding a line break stays in its cell.

        Examples
        --------
        >>> import pandas as pd, tempfile
        >>> df = pd.DataFrame(
        ...     {
        ...         "charge_period_start": pd.to_datetime(["2026-03-01"], utc=True),
        ...         "effective_cost": pd.array([1.5], dtype="Float64"),
        ...     }
        ... )
        >>> path = explore(df, export_dir=tempfile.mkdtemp()).export()
        >>> path.read_text().splitlines()[1]
        '2026-03-01T00:00:00Z,1.5'
        """
        if path is None:
            lo, hi = self.dates.value
            stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
            folder = self._export_dir if self._export_dir is not None else Path.cwd()
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"cfusage-selection-{lo}-{hi}-{stamp}.csv"
        path = Path(path).resolve()
        frame = self.selection()
        if "tags" in frame.columns:
            frame = frame.assign(
                tags=frame["tags"].map(
                    lambda t: json.dumps(t, sort_keys=True) if isinstance(t, dict) else None
                )
            )
        # a CSV is opened in spreadsheets: no cell may run as a formula (=, +, -, @ ...)
        frame = neutralize_formulas(frame)
        # RFC 4180 line ends (CRLF): a cell holding a CR or LF is then quoted, never split
        frame.to_csv(path, index=False, date_format="%Y-%m-%dT%H:%M:%SZ", lineterminator="\r\n")
        return path

    def _on_export(self) -> None:
        try:
            path = self.export()
        except OSError as exc:
            self.export_status.value = (
                f"<span style='color:#b00020'>Export failed: {html.escape(str(exc))}</span>"
            )
            return
        n = int(self._rows[self._mask()].sum())
        self.export_status.value = (
            f"Exported {n:,} records to <code class='cfusage-export-path'>"
            f"{html.escape(str(path))}</code>"
        )
        self.last_export = path


def explore(
    data: pd.DataFrame,
    *,
    top: int = 8,
    export_dir: str | Path | None = None,
    value: str | None = None,
    by: str | None = "product",
    freq: str = "W",
) -> Explorer:
    """Explore a typed usage frame interactively: filters, a chart, a table, a CSV export.

    Parameters
    ----------
    data : pandas.DataFrame
        A typed frame (:func:`cfusage.to_frame`); it needs ``charge_period_start`` and at least one
        of the cost columns or ``consumed_quantity``. It is not modified.
    top : int, default 8
        How many series the chart draws before summing the rest into "Other".
    export_dir : str or pathlib.Path, optional
        Where the "Export CSV" button writes (default: the current directory).
    value : str, optional
        The column shown first (default ``effective_cost`` when present).
    by : str or None, default "product"
        The dimension shown first: one of :data:`GROUP_BY`, or ``None`` for the total.
    freq : str, default "W"
        The grain shown first: ``"D"``, ``"W"`` or ``"MS"`` (or ``"day"``, ``"week"``,
        ``"month"``: any alias of :data:`cfusage.FREQS` for them). Weeks by default: a year of
        daily bars is unreadable, and a week evens out the weekend dip.

    Returns
    -------
    Explorer
        The dashboard (an ``ipywidgets.VBox``); display it, or drive its controls from code.

    Raises
    ------
    cfusage.MissingColumnsError
        If the frame lacks ``charge_period_start`` or holds no cost or quantity at all.
    cfusage.DataError
        If the frame is empty or a ``charge_period_start`` is missing.
    ValueError
        If ``value``, ``by``, ``freq`` or ``top`` is not one the explorer offers.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame(
    ...     {
    ...         "charge_period_start": pd.to_datetime(["2026-03-01", "2026-03-02"], utc=True),
    ...         "x_product_family_name": pd.Series(["Workers", "R2"], dtype="category"),
    ...         "effective_cost": pd.array([1.5, 2.0], dtype="Float64"),
    ...     }
    ... )
    >>> ex = explore(df, freq="week")
    >>> float(ex.chart_data().to_numpy().sum())
    3.5
    """
    return Explorer(data, top=top, export_dir=export_dir, value=value, by=by, freq=freq)
