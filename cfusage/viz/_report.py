"""A one-file HTML spend report for FinOps analysts: headline figures, charts, tables.

:func:`build_report` computes every section from a typed usage frame and returns a :class:`Report`
(the numbers, tables and figures, which renders itself in a notebook); :func:`write_report` builds
and saves it. The HTML is self-contained: charts are inline PNG (``data:`` URIs), the CSS is inline,
nothing is fetched when the file is opened and no JavaScript is needed, so it can be mailed,
attached to a ticket or archived.

Sections (each an ``<section id=...>``): ``headline``, ``cost-by-product``, ``cost-by-account``,
``variance``, ``top-movers``, ``anomalies``, ``discounts``, ``budget`` (when a budget is given),
``commitment`` (the commitments' burn-down when ``commitments=`` is given; otherwise it says how to
give them) and ``about``. A section that cannot be computed from the data (a frame with usage but no costs, a
month with no predecessor) says why in place of its content rather than failing the whole report.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import cfusage.sample
>>> from cfusage.viz._report import build_report
>>> report = build_report(cfusage.sample.load())  # doctest: +SKIP
>>> report.headline.last_month_cost  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import calendar
import datetime as dt
import html
import importlib.resources
import io
import numbers
import pathlib
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..analysis import (
    anomalies,
    budget_variance,
    commitment_burndown,
    describe_anomalies,
    discounts,
    price_volume_mix,
    reconcile,
    require,
    top_movers,
)
from ..errors import ArgumentError, CurrencyError, DataError, Error, MissingColumnsError
from ..io import DateLike, utc_day
from ..schema import DIMENSIONS
from . import plots
from ._excel import write_excel
from ._style import format_percent

__all__ = ["Headline", "Report", "build_report", "write_report"]

#: The budget forms the report takes, as :func:`cfusage.budget_variance` does: a number (every
#: month), a mapping of months to amounts, or a frame with ``period`` and ``budget``.
Budget: TypeAlias = float | int | Mapping[Any, float] | pd.DataFrame

_VALUE = "effective_cost"
#: How many series the cost charts draw and their tables list before "Other" (the same N).
TOP = 6
#: A series whose largest bar is under this share of the chart's tallest stack is too thin to
#: see (under about one pixel at the report's size): its table row says so.
_VISIBLE_SHARE = 0.004


# --------------------------------------------------------------------------------------------
# The computed report
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Headline:
    """The headline figures of a report, as plain numbers (``None`` when not computable).

    Months are named by their first day. "Spend" is ``effective_cost`` (amortized, after every
    discount) over all rows; savings are those of :func:`cfusage.discounts` over usage rows
    (purchases, taxes and credits left out), following the FinOps Foundation definitions.

    Attributes
    ----------
    currency : str or None
        The report's currency (ISO 4217).
    as_of : datetime.date
        The last day the report looks at.
    complete_through : datetime.date or None
        The last day the data is complete for (``df.attrs["cfusage"]["complete_through"]``).
    month : datetime.date
        First day of the current month (the month of ``as_of``).
    month_days_elapsed, month_days : int
        Days of the current month covered through ``as_of``, and days in the month.
    month_is_partial : bool
        Whether the current month is not over (``month_days_elapsed < month_days``).
    month_to_date : float or None
        Spend of the current month through ``as_of``.
    month_forecast : float or None
        Run-rate forecast of the current month: ``month_to_date / month_days_elapsed *
        month_days``.
    last_month : datetime.date
        First day of the reported month, the month the report describes: ``month`` when
        ``as_of`` is its last day, else the month before ``month`` (the last complete month),
        or the month chosen with ``month=`` (see :func:`build_report`).
    month_rule : str
        Which rule chose ``last_month``: ``"complete"`` (the data ends on a month end),
        ``"before-partial"`` (the last complete month before the partial one) or ``"chosen"``.
    last_month_cost, previous_month_cost : float or None
        Spend of the reported month and of the month before it.
    last_month_change : float or None
        ``last_month_cost - previous_month_cost``.
    last_month_change_pct : float or None
        The change relative to ``previous_month_cost`` (``None`` when that is 0 or missing).
    list_cost, contracted_cost, usage_effective_cost : float or None
        The reported month's usage rows at list price, contracted price, and effective cost, as
        :func:`cfusage.discounts` sums them (usage rows only; purchases, taxes and credits are
        left out).
    negotiated_savings, commitment_savings, total_savings : float or None
        ``list - contracted``, ``contracted - effective``, ``list - effective``, over the rows
        with all three costs (:func:`cfusage.discounts`).
    esr_over_list : float or None
        Effective savings rate over list: ``total_savings / list_cost``.
    esr_over_contract : float or None
        Effective savings rate over contract: ``commitment_savings / contracted_cost``.
    savings_coverage : float or None
        Share of the list cost on rows that have every price (the savings are computed on them).
    rows_without_cost : int
        Rows up to ``as_of`` that have no ``effective_cost`` (not counted in any figure).
    """

    currency: str | None
    as_of: dt.date
    complete_through: dt.date | None
    month: dt.date
    month_days_elapsed: int
    month_days: int
    month_is_partial: bool
    month_to_date: float | None
    month_forecast: float | None
    last_month: dt.date
    month_rule: str
    last_month_cost: float | None
    previous_month_cost: float | None
    last_month_change: float | None
    last_month_change_pct: float | None
    list_cost: float | None
    contracted_cost: float | None
    usage_effective_cost: float | None
    negotiated_savings: float | None
    commitment_savings: float | None
    total_savings: float | None
    esr_over_list: float | None
    esr_over_contract: float | None
    savings_coverage: float | None
    rows_without_cost: int


@dataclass
class Report:
    """A computed spend report: headline numbers, tables and figures, ready to render.

    Build it with :func:`build_report`; show it in a notebook (``_repr_html_``), write it with
    :meth:`save`, or read its parts: ``report.headline.last_month_cost``,
    ``report.tables["discounts"]``, ``report.figures["cost-by-product"]``.

    Attributes
    ----------
    title : str
        The report's title.
    headline : Headline
        The headline figures.
    tables : dict of str to pandas.DataFrame
        Tidy tables by name: ``cost_by_product``, ``cost_by_account``, ``variance``,
        ``top_movers``, ``anomalies``, ``discounts``, ``budget``, ``commitment`` (one row per
        commitment: ``commitment``, ``kind``, ``billing_currency``, ``term_start``,
        ``last_day`` (the term's last day), ``amount``, ``drawn_to_date`` and ``balance``
        (through ``as_of``), ``drawdown_rate``, ``projected_balance_at_end``,
        ``projected_unused``, ``exhausted_on``, ``term_over``, ``days_left``, as
        :func:`cfusage.commitment_burndown` defines them) (those that could be computed).
    figures : dict of str to matplotlib.figure.Figure
        Charts by section id.
    sentences : dict of str to list of str
        Text for sections that speak in sentences (``anomalies``).
    unavailable : dict of str to str
        Section id to the reason it could not be computed.
    generated_at : datetime.datetime
        When the report was built (UTC).
    """

    title: str
    headline: Headline
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: dict[str, Figure] = field(default_factory=dict)
    sentences: dict[str, list[str]] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)
    generated_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    meta: dict[str, Any] = field(default_factory=dict)
    _png: dict[str, bytes] = field(default_factory=dict, init=False, repr=False)

    def png(self, name: str) -> bytes:
        """The PNG bytes of figure ``name`` (rendered once, then cached).

        Parameters
        ----------
        name : str
            A key of :attr:`figures`.

        Returns
        -------
        bytes
        """
        if name not in self._png:
            buf = io.BytesIO()
            self.figures[name].savefig(buf, format="png", dpi=120, facecolor="white")
            self._png[name] = buf.getvalue()
        return self._png[name]

    def to_html(self) -> str:
        """The whole report as one self-contained HTML document.

        Returns
        -------
        str
        """
        return _render(self, standalone=True)

    def _repr_html_(self) -> str:
        return _render(self, standalone=False)

    def save(self, path: str | pathlib.Path) -> pathlib.Path:
        """Write the report as one self-contained HTML file, or as an Excel workbook.

        Parameters
        ----------
        path : str or pathlib.Path
            Where to write; parent folders are created. A ``.xlsx`` path writes the headline and
            every table as sheets (:func:`cfusage.viz._excel.write_excel`: money formats, dates
            as UTC dates, frozen headers); any other path writes HTML.

        Returns
        -------
        pathlib.Path
            The path written.
        """
        if pathlib.Path(path).suffix.lower() == ".xlsx":
            return write_excel(self, path)
        target = pathlib.Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.to_html(), encoding="utf-8")
        return target


# --------------------------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------------------------


def build_report(
    data: pd.DataFrame,
    *,
    budget: Budget | None = None,
    commitments: pd.DataFrame | None = None,
    title: str = "Cloudflare spend",
    as_of: DateLike | None = None,
    month: DateLike | None = None,
    currency: str | None = None,
) -> Report:
    """Compute every section of the spend report from a typed usage frame.

    **Which month the report describes.** The report describes one calendar month, the
    *reported month* (``headline.last_month``): the month of ``as_of`` when ``as_of`` is its last
    day (the data ends on a month end: that month is complete), otherwise the month before it
    (the last complete month before the partial one, which the headline shows month to date);
    or the month chosen with ``month=`` (month-end close). The banner says which of the three.
    The variance bridge, the top movers and the discounts compare the reported month with the
    month before it; anomalies are listed from its first day.

    **Sections degrade on their own.** A section that cannot be computed from the data (usage
    without costs, a month with no predecessor, a budget that covers no month) says why in place
    of its content (``report.unavailable``); so does the headline. Only a frame the report
    cannot place in time at all (empty, no ``charge_period_start``) is refused.

    Parameters
    ----------
    data : pandas.DataFrame
        A typed usage frame (:func:`cfusage.to_frame`). Its
        ``attrs["cfusage"]["complete_through"]``, when present, says through which day the data
        is complete; the report states it and flags a partial month.
    budget : float, mapping or pandas.DataFrame, optional
        The monthly budget, in the forms :func:`cfusage.budget_variance` takes: a number (the
        same amount every month), a mapping of months to amounts (``{"2026-10": 40_000}``), or
        a DataFrame with columns ``period`` (a month: any day in it, or ``"YYYY-MM"``) and
        ``budget``; several rows for one month (a budget split by account or product) are added
        up, as the report tracks the organization's total. Adds the ``budget`` section and a
        headline card.
    commitments : pandas.DataFrame, optional
        The organization's commitments, one row per commitment as
        :func:`cfusage.amortize_commitment` takes them (like ``cfusage.sample.COMMITMENTS``:
        ``commitment_id``, ``kind``, ``amount``, ``currency``, ``term_start``, ``term_end``,
        scope columns). Fills the ``commitment`` section from
        :func:`cfusage.commitment_burndown` as of the report's ``as_of``: the balance left, the
        drawdown rate, the projected balance and unused amount at the term's end and the day
        the balance runs out if that is earlier (table ``commitment``, one row per
        commitment), and its burn-down chart. Without it the section says how to give them.
    title : str, default "Cloudflare spend"
        Title of the report.
    as_of : date-like, optional
        The report's "today": rows after it are left out, the current month is the month of
        ``as_of``. Default: the day the data is complete through, else the last day in the data;
        with ``month=``, the last day of that month when the data reaches it.
    month : date-like, optional
        The month to describe (``"2026-06"``, or any day in it), for month-end close. It must be
        complete through ``as_of``.
    currency : str, optional
        The currency to report in when the frame holds several (rows in other currencies are
        left out, and the report says so). Costs of different currencies are never added.

    Returns
    -------
    Report

    Raises
    ------
    MissingColumnsError
        If the frame has no ``charge_period_start``.
    CurrencyError
        If the frame holds several currencies and ``currency`` is not given.
    DataError
        If the frame is empty, has no rows up to ``as_of``, or ``month`` is not complete
        through ``as_of``.
    ArgumentError
        If ``budget`` is not a number, a mapping or a DataFrame, or ``month`` is not a date.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from cfusage.viz._report import build_report
    >>> days = pd.date_range("2026-02-01", "2026-03-10", freq="D", tz="UTC")
    >>> data = pd.DataFrame({
    ...     "charge_period_start": days,
    ...     "x_product_family_name": pd.Categorical(["Workers"] * len(days)),
    ...     "effective_cost": pd.array([10.0] * len(days), dtype="Float64"),
    ...     "billing_currency": pd.Categorical(["USD"] * len(days)),
    ... })
    >>> report = build_report(data)
    >>> report.headline.month_to_date, report.headline.last_month_cost
    (100.0, 280.0)
    >>> report.headline.last_month, report.headline.month_rule
    (datetime.date(2026, 2, 1), 'before-partial')
    >>> build_report(data, as_of="2026-02-28").headline.last_month
    datetime.date(2026, 2, 1)
    """
    require(data, ["charge_period_start"], "the report")
    monthly_budget = _check_budget(budget) if budget is not None else None
    if not len(data):
        raise DataError("the report needs at least one usage row; the frame is empty")
    frame, cur, other_currencies = _one_currency(data, currency)
    complete = _complete_through(data)
    chosen = _month_start(utc_day(month, "month")) if month is not None else None
    day = _as_of(frame, as_of, complete, chosen)
    end = pd.Timestamp(day, tz="UTC") + pd.Timedelta(days=1)
    frame = frame.loc[frame["charge_period_start"] < end]
    if not len(frame):
        raise DataError(f"as_of={day}: the frame has no row on or before that day")
    frame.attrs = dict(data.attrs)
    reported, rule = _reported_month(day, chosen)

    unavailable: dict[str, str] = {}
    try:
        head = _headline(frame, cur, day, complete, reported, rule)
    except Error as exc:
        head = _headline(frame, cur, day, complete, reported, rule, figures=False)
        unavailable["headline"] = str(exc)
    report = Report(title=title, headline=head, unavailable=unavailable)
    report.meta.update(
        first_day=frame["charge_period_start"].min().date(),
        last_day=day,
        rows=len(frame),
        other_currencies=other_currencies,
        accounts=_nunique(frame, "billing_account_id"),
        products=_nunique(frame, "x_product_family_name"),
        metrics=_nunique(frame, "x_billable_metric_id"),
        purchases=int((frame["charge_category"].astype("str") == "Purchase").sum())
        if "charge_category" in frame.columns
        else 0,
    )
    steps: list[tuple[str, Callable[[pd.DataFrame, Report], None]]] = [
        ("cost-by-product", _section_cost("product", "cost_by_product")),
        ("cost-by-account", _section_cost("account", "cost_by_account")),
        ("variance", _section_variance),
        ("top-movers", _section_top_movers),
        ("anomalies", _section_anomalies),
        ("discounts", _section_discounts),
    ]
    if monthly_budget is not None:
        steps.append(("budget", _section_budget(monthly_budget)))
    if commitments is not None:
        steps.append(("commitment", _section_commitment(commitments)))
    report.meta["commitments_given"] = commitments is not None
    for section_id, step in steps:
        try:
            step(frame, report)
        except Error as exc:
            report.unavailable[section_id] = str(exc)
    return report


def write_report(
    data: pd.DataFrame,
    path: str | pathlib.Path,
    *,
    budget: Budget | None = None,
    commitments: pd.DataFrame | None = None,
    title: str = "Cloudflare spend",
    as_of: DateLike | None = None,
    month: DateLike | None = None,
    currency: str | None = None,
) -> pathlib.Path:
    """Build the spend report and write it as one self-contained HTML file.

    ``write_report(data, path, ...)`` is ``build_report(data, ...).save(path)``: see
    :func:`build_report` for the parameters and what each section holds.

    Parameters
    ----------
    data : pandas.DataFrame
        A typed usage frame with costs.
    path : str or pathlib.Path
        The HTML file to write, or a ``.xlsx`` workbook of the report's tables (parent folders
        are created).
    budget : float, mapping or pandas.DataFrame, optional
        Monthly budget: a number, a mapping of months to amounts, or a frame with columns
        ``period`` and ``budget``.
    commitments : pandas.DataFrame, optional
        The commitments (like ``cfusage.sample.COMMITMENTS``) for the Commitment section.
    title : str, default "Cloudflare spend"
        Title of the report.
    as_of : date-like, optional
        The report's "today" (default: the last complete day of the data).
    month : date-like, optional
        The month to describe (``"2026-06"``), for month-end close; default: the last complete
        month (see :func:`build_report`).
    currency : str, optional
        The currency to report in when the frame holds several.

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    MissingColumnsError, CurrencyError, DataError, ArgumentError
        As :func:`build_report`.

    Examples
    --------
    >>> import cfusage.sample
    >>> from cfusage.viz._report import write_report
    >>> write_report(cfusage.sample.load(), "report.html")  # doctest: +SKIP
    PosixPath('report.html')
    """
    report = build_report(
        data,
        budget=budget,
        commitments=commitments,
        title=title,
        as_of=as_of,
        month=month,
        currency=currency,
    )
    return report.save(path)


# --------------------------------------------------------------------------------------------
# Periods, currency, sums
# --------------------------------------------------------------------------------------------


def _month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _add_months(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def _ts(day: dt.date) -> pd.Timestamp:
    return pd.Timestamp(day, tz="UTC")


def _complete_through(df: pd.DataFrame) -> dt.date | None:
    value = (df.attrs.get("cfusage") or {}).get("complete_through")
    if value is None or value is pd.NA:
        return None
    return pd.Timestamp(value).date()


def _month_end(month: dt.date) -> dt.date:
    return _add_months(month, 1) - dt.timedelta(days=1)


def _as_of(
    df: pd.DataFrame, as_of: DateLike | None, complete: dt.date | None, month: dt.date | None
) -> dt.date:
    """The report's last day: ``as_of``; else the data's last complete (or last) day, or with
    ``month`` the end of that month when the data reaches it. A chosen month must be complete."""
    if as_of is not None:
        day = utc_day(as_of, "as_of")
    else:
        day = complete if complete is not None else df["charge_period_start"].max().date()
        if month is not None:
            day = min(day, _month_end(month))
    if month is not None and _month_end(month) > day:
        raise DataError(
            f"month={month:%Y-%m}: the report describes a complete month, and the data is only "
            f"looked at through {day} (complete through {complete}); pick an earlier month or "
            "a later as_of"
        )
    return day


#: How the reported month was chosen (``Headline.month_rule``).
MONTH_RULES = {
    "complete": "the last complete month: the data ends on its last day",
    "before-partial": "the last complete month, before the partial month the data ends in",
    "chosen": "the month asked for (month=)",
}


def _reported_month(day: dt.date, chosen: dt.date | None) -> tuple[dt.date, str]:
    """The month the report describes, and which rule chose it (a key of :data:`MONTH_RULES`)."""
    if chosen is not None:
        return chosen, "chosen"
    if day == _month_end(_month_start(day)):
        return _month_start(day), "complete"
    return _add_months(_month_start(day), -1), "before-partial"


def _one_currency(df: pd.DataFrame, currency: str | None) -> tuple[pd.DataFrame, str | None, list]:
    """The rows in the report's currency, the currency, and the other currencies left out."""
    if "billing_currency" not in df.columns:
        return df, currency, []
    present = sorted(str(c) for c in df["billing_currency"].dropna().unique())
    if currency is None:
        if len(present) > 1:
            raise CurrencyError(
                f"billing_currency holds {present}; a report never adds different currencies: "
                f"pass currency= one of them"
            )
        return df, (present[0] if present else None), []
    if currency not in present:
        raise CurrencyError(f"currency={currency!r} is not in the frame, which holds {present}")
    keep = df["billing_currency"].astype("str") == currency
    return df.loc[keep.fillna(False)], currency, [c for c in present if c != currency]


def _sum(values: pd.Series) -> float | None:
    """Sum of the non-missing values, ``None`` when there is none (never a silent 0)."""
    present = values.dropna()
    return float(present.sum()) if len(present) else None


def _between(df: pd.DataFrame, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Rows whose charge period starts in ``[start, end)``."""
    s = df["charge_period_start"]
    return df.loc[(s >= _ts(start)) & (s < _ts(end))]


def _nunique(df: pd.DataFrame, column: str) -> int | None:
    return int(df[column].nunique()) if column in df.columns else None


def _float(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def _ratio(num: float | None, den: float | None) -> float | None:
    return None if num is None or den is None or den == 0 else num / den


def _savings(df: pd.DataFrame) -> dict[str, float | None]:
    """The savings figures of :func:`cfusage.discounts` over ``df`` (empty when not computable)."""

    if not len(df):
        return {}
    try:
        row = discounts(df, by=None, freq=None).iloc[0]
    except Error:
        return {}
    return {
        k: (None if pd.isna(v) else float(v)) for k, v in row.items() if k != "billing_currency"
    }


def _headline(
    df: pd.DataFrame,
    currency: str | None,
    day: dt.date,
    complete: dt.date | None,
    last: dt.date,
    rule: str,
    *,
    figures: bool = True,
) -> Headline:
    """The headline; ``figures=False`` leaves every figure ``None`` (when they cannot be
    computed: the report says why)."""
    month = _month_start(day)
    month_days = calendar.monthrange(month.year, month.month)[1]
    elapsed = day.day
    previous = _add_months(last, -1)
    mtd = last_cost = prev_cost = None
    savings: dict[str, float | None] = {}
    if figures:
        require(df, [_VALUE], "the headline")
        mtd = _sum(_between(df, month, day + dt.timedelta(days=1))[_VALUE])
        last_month = _between(df, last, _add_months(last, 1))
        last_cost = _sum(last_month[_VALUE])
        prev_cost = _sum(_between(df, previous, last)[_VALUE])
        savings = _savings(last_month)
    change = _diff(last_cost, prev_cost)
    return Headline(
        currency=currency,
        as_of=day,
        complete_through=complete,
        month=month,
        month_days_elapsed=elapsed,
        month_days=month_days,
        month_is_partial=elapsed < month_days,
        month_to_date=mtd,
        month_forecast=None if mtd is None else mtd / elapsed * month_days,
        last_month=last,
        month_rule=rule,
        last_month_cost=last_cost,
        previous_month_cost=prev_cost,
        last_month_change=change,
        last_month_change_pct=_ratio(change, prev_cost),
        list_cost=savings.get("list_cost"),
        contracted_cost=savings.get("contracted_cost"),
        usage_effective_cost=savings.get("effective_cost"),
        negotiated_savings=savings.get("negotiated_savings"),
        commitment_savings=savings.get("commitment_savings"),
        total_savings=savings.get("total_savings"),
        esr_over_list=savings.get("esr_over_list"),
        esr_over_contract=savings.get("esr_over_contract"),
        savings_coverage=savings.get("savings_coverage"),
        rows_without_cost=int(df[_VALUE].isna().sum()) if _VALUE in df.columns else len(df),
    )


# --------------------------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------------------------

_WIDE = (11.0, 3.7)


def _figure(size: tuple[float, float] = _WIDE) -> tuple[Figure, Any]:
    fig = Figure(figsize=size, layout="constrained")
    return fig, fig.add_subplot()


def _month_label(month: dt.date, partial_days: int | None = None) -> str:
    label = f"{month:%b %Y}"
    return f"{label} (to {partial_days})" if partial_days else label


def _section_cost(by: str, name: str) -> Callable[[pd.DataFrame, Report], None]:
    """Cost over time by ``by`` (chart) and a month-by-month table of the top series."""

    def step(df: pd.DataFrame, report: Report) -> None:
        head = report.headline
        _need(df, [by], f"cost by {by}")
        fig, ax = _figure()
        first = min(_add_months(head.month, -2), _add_months(head.last_month, -1))
        recent = _between(df, first, head.as_of + dt.timedelta(days=1))
        plots.cost(recent, by=by, freq="D", top=TOP, ax=ax, currency=head.currency)
        report.figures[name.replace("_", "-")] = fig

        column = DIMENSIONS[by]
        require(df, [column], f"cost by {by}")
        labels = df[column].astype("str").fillna("(not set)")
        drawn, too_small = _drawn_series(recent, labels.loc[recent.index])
        months: list[tuple[dt.date, dt.date, int | None]] = [
            (_add_months(head.last_month, -1), head.last_month, None),
            (head.last_month, _add_months(head.last_month, 1), None),
        ]
        if head.month != head.last_month:  # the month the data ends in, to date
            months.append((head.month, head.as_of + dt.timedelta(days=1), head.month_days_elapsed))
        cols: dict[str, pd.Series] = {}
        for start, end, partial in months:
            part = _between(df, start, end)
            amounts = part[_VALUE].groupby(labels.loc[part.index], sort=False).sum(min_count=1)
            label = _month_label(start, partial if head.month_is_partial else None)
            cols[label] = amounts
        table = pd.DataFrame(cols).astype("Float64")
        prev_label, last_label = list(cols)[:2]
        table = table.sort_values(last_label, ascending=False, na_position="last")
        # the rows are the chart's series: its top TOP (by cost over the chart's range, as
        # plots.cost ranks them), the rest as one "Other" row, as the chart groups them
        shown = drawn[:TOP] if len(drawn) > TOP else drawn
        keep = table.index.isin(shown)
        if (~keep).any():
            rest = table.loc[~keep].sum(min_count=1).to_frame("Other").T
            table = pd.concat([table.loc[keep], rest])
        report.meta[f"{name}_too_small"] = sorted(set(too_small) & set(map(str, table.index)))
        total = table.sum(min_count=1).to_frame("Total").T
        table = pd.concat([table, total]).astype("Float64")
        table["change"] = table[last_label] - table[prev_label]
        table["change_pct"] = table["change"] / table[prev_label].where(table[prev_label] != 0)
        table.index.name = by
        report.tables[name] = table.reset_index()

    return step


def _drawn_series(frame: pd.DataFrame, labels: pd.Series) -> tuple[list[str], list[str]]:
    """The cost chart's series by total |cost| over its range (largest first, as
    :func:`cfusage.plots.cost` ranks them), and those too thin to see in it: a series whose
    largest daily bar is under :data:`_VISIBLE_SHARE` of the tallest daily stack."""
    amounts = frame[_VALUE].astype("Float64").astype("float64").fillna(0.0)
    totals = amounts.abs().groupby(labels, sort=False).sum().sort_values(ascending=False)
    order = [str(n) for n in totals.index]
    if not len(frame):
        return order, []
    day = frame["charge_period_start"].dt.floor("D")
    daily = amounts.groupby([day, labels]).sum().unstack(fill_value=0.0)
    tallest = float(daily.clip(lower=0).sum(axis=1).max()) if len(daily) else 0.0
    if tallest <= 0:
        return order, []
    biggest = daily.abs().max()
    small = [str(n) for n, v in biggest.items() if float(v) < _VISIBLE_SHARE * tallest]
    return order, small


def _need(df: pd.DataFrame, dimensions: list[str], what: str) -> None:
    """Raise MissingColumnsError when a dimension the section groups by is not in the frame."""

    require(df, [DIMENSIONS.get(d, d) for d in dimensions], what)


def _last_two_months(report: Report) -> tuple[tuple[dt.date, dt.date], tuple[dt.date, dt.date]]:
    """(base, current) windows: the month before the reported month, and the reported month."""
    h = report.headline
    return (_add_months(h.last_month, -1), h.last_month), (
        h.last_month,
        _add_months(h.last_month, 1),
    )


def _require_rows(df: pd.DataFrame, window: tuple[dt.date, dt.date], what: str) -> None:
    if not len(_between(df, *window)):
        raise DataError(
            f"{what} needs data for {window[0]:%B %Y}, and the frame has none "
            f"(it starts on {df['charge_period_start'].min():%Y-%m-%d})"
        )


def _section_variance(df: pd.DataFrame, report: Report) -> None:

    _need(df, ["product", "metric_id"], "the variance bridge")
    base, current = _last_two_months(report)
    _require_rows(df, base, "the variance bridge")
    _require_rows(df, current, "the variance bridge")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        pvm = price_volume_mix(
            df, base=tuple(map(_ts, base)), current=tuple(map(_ts, current)), by="product"
        )
    fig, ax = _figure((11.0, 3.6))
    plots.variance_bridge(pvm, ax=ax)
    report.figures["variance"] = fig
    order = pvm["change"].abs().sort_values(ascending=False, kind="stable").index
    report.tables["variance"] = pvm.loc[order].reset_index(drop=True)


def _section_top_movers(df: pd.DataFrame, report: Report) -> None:

    _need(df, ["metric", "account"], "top movers")
    base, current = _last_two_months(report)
    _require_rows(df, base, "top movers")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        movers = top_movers(
            df,
            base=tuple(map(_ts, base)),
            current=tuple(map(_ts, current)),
            by=["metric", "account"],
            n=10,
        )
    fig, ax = _figure((11.0, 0.9 + 0.32 * max(len(movers), 1)))
    plots.top_movers(movers, ax=ax)
    report.figures["top-movers"] = fig
    report.tables["top_movers"] = movers


def _section_anomalies(df: pd.DataFrame, report: Report) -> None:

    _need(df, ["metric", "account"], "anomalies by metric and account")
    h = report.headline
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        scored = anomalies(df, by=["metric", "account"], min_cost=_material(h))
    recent = scored.loc[scored["period"] >= _ts(h.last_month)]
    events = describe_anomalies(recent, n=5)  # ranked by |cost impact|
    report.sentences["anomalies"] = events["description"].tolist()
    flagged = recent.loc[recent["is_anomaly"].to_numpy(dtype=bool, na_value=False)]
    report.tables["anomalies"] = flagged.reset_index(drop=True)
    if len(events):
        fig, ax = _figure((11.0, 3.2))
        since = _add_months(h.last_month, -3)
        plots.anomaly_timeline(scored, group=_top_group(events, scored), ax=ax, since=since)
        report.figures["anomalies"] = fig


def _material(h: Headline) -> float:
    """Smallest departure the report calls an anomaly: 0.5 % of an average day's spend last
    month (at least 1 in the billing currency), so that cents-sized blips of small metrics do not
    crowd out what matters to the bill."""
    if h.last_month_cost is None:
        return 1.0
    days = calendar.monthrange(h.last_month.year, h.last_month.month)[1]
    return max(1.0, round(0.005 * h.last_month_cost / days, 2))


def _top_group(events: pd.DataFrame, scored: pd.DataFrame) -> tuple:
    """The by-values of the top event (the first sentence's anomaly)."""
    cols = (scored.attrs.get("cfusage") or {}).get("by", [])
    row = events.iloc[0]
    return tuple(row[c] for c in cols)


def _section_discounts(df: pd.DataFrame, report: Report) -> None:

    h = report.headline
    last = _between(df, h.last_month, _add_months(h.last_month, 1))
    if not len(last):
        raise DataError(f"no usage in {h.last_month:%B %Y}, the reported month")
    _need(df, ["product"], "discounts by product")
    by_product = discounts(last, by="product", freq=None)
    total = discounts(last, by=None, freq=None)
    by_product = by_product.sort_values("list_cost", ascending=False, na_position="last")
    table = pd.concat([by_product, total.assign(x_product_family_name="Total")], ignore_index=True)
    report.tables["discounts"] = table
    fig, ax = _figure((11.0, 3.4))
    plots.discount_waterfall(total, ax=ax)
    report.figures["discounts"] = fig
    try:
        after = _add_months(h.last_month, 1)
        window = _between(df, _add_months(after, -12), after)
        monthly = reconcile(window, freq="MS")
    except MissingColumnsError:
        return  # no billed cost: the waterfall stops at effective cost, and so does the report
    fig, ax = _figure((11.0, 3.0))
    plots.amortized_vs_billed(window, freq="MS", ax=ax)  # the frame: partial months are marked
    report.figures["billed-vs-effective"] = fig
    report.tables["billed_vs_effective"] = monthly


_NO_COMMITMENTS = (
    "No commitments were given. Pass them to see how much of a prepaid commitment is left "
    "and whether it will be used before its term ends: build_report(data, commitments=...) or "
    "write_report(data, path, commitments=...), with one row per commitment (commitment_id, "
    "kind 'prepaid_balance' or 'use_it_or_lose_it', amount, currency, term_start, term_end, "
    "and optional scope columns), like cfusage.sample.COMMITMENTS; cfusage report --sample "
    "passes the sample's."
)


def _section_commitment(commitments: pd.DataFrame) -> Callable[[pd.DataFrame, Report], None]:
    """The commitments' burn-down as of the report's day: a table and a chart."""

    def step(df: pd.DataFrame, report: Report) -> None:
        h = report.headline
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            burn = commitment_burndown(df, commitments=commitments, as_of=h.as_of)
        if not len(burn):
            raise DataError("the commitments frame holds no commitment")
        report.tables["commitment"] = _commitment_table(burn, commitments, h.as_of)
        ids = burn["commitment_id"].astype("str").unique().tolist()
        fig = Figure(figsize=(11.0, 3.2 * len(ids)), layout="constrained")
        for i, cid in enumerate(ids):
            plots.commitment_burndown(burn, commitment=cid, ax=fig.add_subplot(len(ids), 1, i + 1))
        report.figures["commitment"] = fig

    return step


def _commitment_table(
    burn: pd.DataFrame, commitments: pd.DataFrame, as_of: dt.date
) -> pd.DataFrame:
    """One row per commitment: its terms and :func:`cfusage.commitment_burndown`'s figures."""
    names = (
        dict(
            zip(
                commitments["commitment_id"].astype("str"),
                commitments["commitment_name"],
                strict=True,
            )
        )
        if "commitment_name" in commitments.columns
        else {}
    )
    rows = []
    for cid, one in burn.groupby(burn["commitment_id"].astype("str"), sort=False):
        one = one.sort_values("period")
        actual = one.loc[~one["projected"].to_numpy(dtype=bool)]
        first, last = one["period"].iloc[0], one["period"].iloc[-1]
        amount = _float(one["amount"].iloc[0])
        balance = _float(actual["balance"].iloc[-1]) if len(actual) else amount
        drawn = _float(actual["cumulative_drawn"].iloc[-1]) if len(actual) else 0.0
        rows.append(
            {
                "commitment": str(names.get(cid, cid)),
                "kind": str(one["kind"].iloc[0]),
                "billing_currency": str(one["billing_currency"].iloc[0]),
                "term_start": first,
                "last_day": last,
                "amount": amount,
                "drawn_to_date": drawn,
                "balance": balance,
                "drawdown_rate": _float(one["drawdown_rate"].iloc[0]),
                "projected_balance_at_end": _float(one["projected_balance_at_end"].iloc[0]),
                "projected_unused": _float(one["projected_unused"].iloc[0]),
                "exhausted_on": one["exhausted_on"].iloc[0],
                "term_over": bool(last.date() <= as_of),
                "days_left": max(0, (last.date() - as_of).days),
            }
        )
    table = pd.DataFrame(rows)
    for c in ("amount", "drawn_to_date", "balance", "drawdown_rate"):
        table[c] = table[c].astype("Float64")
    for c in ("projected_balance_at_end", "projected_unused"):
        table[c] = table[c].astype("Float64")
    table["exhausted_on"] = pd.to_datetime(table["exhausted_on"], utc=True)
    table["days_left"] = table["days_left"].astype("int64")
    return table


def _check_budget(budget: object) -> float | Mapping[Any, float] | pd.DataFrame:
    """The monthly budget in a form :func:`cfusage.budget_variance` takes.

    A number and a mapping (months to amounts) are handed on as they are; a frame becomes
    ``period`` (UTC month start) and ``budget`` (summed per month): rows that split a month's
    budget by dimension (account, product...) are added up, as the report tracks the
    organization's total.
    """
    if isinstance(budget, numbers.Real) and not isinstance(budget, bool):
        if not np.isfinite(float(budget)) or float(budget) < 0:
            raise ArgumentError(f"budget={budget!r} is not an amount (a finite number >= 0)")
        return float(budget)
    if isinstance(budget, Mapping):
        return budget
    if not isinstance(budget, pd.DataFrame):
        raise ArgumentError(
            "budget= must be a number (every month), a mapping of months to amounts "
            "({'2026-10': 40000}) or a DataFrame with columns 'period' and 'budget', "
            f"not a {type(budget).__name__}"
        )
    missing = [c for c in ("period", "budget") if c not in budget.columns]
    if missing:
        raise MissingColumnsError(
            missing,
            f"budget= lacks column(s) {missing}; it has {list(budget.columns)} "
            "(period: any day of the month, or 'YYYY-MM'; budget: an amount)",
        )
    periods = []
    for value in budget["period"]:
        try:
            ts = pd.Period(value, freq="M") if isinstance(value, str) else pd.Timestamp(value)
            ts = ts.start_time if isinstance(ts, pd.Period) else ts
            if pd.isna(ts):
                raise ValueError
        except (TypeError, ValueError):
            raise DataError(f"budget period = {value!r} is not a month (use YYYY-MM)") from None
        ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
        periods.append(ts.normalize().replace(day=1))
    amounts = pd.to_numeric(budget["budget"], errors="coerce").astype("Float64")
    bad = amounts.isna() & budget["budget"].notna() | budget["budget"].isna()
    if bad.any():
        first = budget["budget"][bad.to_numpy()].iloc[0]
        raise DataError(f"budget budget = {first!r} is not an amount")
    table = pd.DataFrame({"period": pd.DatetimeIndex(periods), "budget": amounts.to_numpy()})
    return table.groupby("period", as_index=False, sort=True)["budget"].sum()


def _section_budget(budget: Budget) -> Callable[[pd.DataFrame, Report], None]:
    def step(df: pd.DataFrame, report: Report) -> None:

        h = report.headline
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            daily = budget_variance(df, budget=budget, freq="MS", as_of=h.as_of)
        months = daily.loc[daily["budget"].notna()]
        if not len(months):
            raise DataError(
                "the budget covers none of the months in the data "
                f"({df['charge_period_start'].min():%b %Y} to {h.as_of:%b %Y})"
            )
        status = months.groupby("period", sort=True).tail(1).reset_index(drop=True)
        status["complete"] = status["days_elapsed"] == status["days_in_period"]
        report.tables["budget"] = status
        current = months.loc[months["period"] == months["period"].max()]
        fig, ax = _figure((11.0, 3.4))
        plots.budget(current, ax=ax)
        report.figures["budget"] = fig

    return step


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------

#: The report's style sheet, a file beside this module, inlined into every page it renders.
CSS_FILE = "report.css"


def _css() -> str:
    """The report's CSS (``report.css``), read when a report is rendered."""
    return importlib.resources.files(__package__).joinpath(CSS_FILE).read_text(encoding="utf-8")


_SECTIONS: dict[str, tuple[str, str]] = {
    "cost-by-product": (
        "Cost by product",
        "Daily effective cost (amortized, after discounts) by product family over the last "
        "three months; the largest six are drawn, the rest are grouped as Other.",
    ),
    "cost-by-account": (
        "Cost by account",
        "Daily effective cost by Cloudflare account over the last three months.",
    ),
    "variance": (
        "What changed last month",
        "The change in effective cost from the month before to the reported month, split into "
        "price, days (the months' lengths), volume, mix, new and retired metrics.",
    ),
    "top-movers": (
        "Top movers",
        "The billable metrics (per account) whose cost changed most between the two last "
        "months: the reported month and the month before it.",
    ),
    "anomalies": (
        "Anomalies",
        "Days whose cost left the expected band (a robust score against the trailing median).",
    ),
    "discounts": (
        "Discounts and savings",
        "The reported month's usage at list price, after negotiated discounts (contracted) and "
        "after commitments (effective), by product.",
    ),
    "budget": ("Budget", "Cumulative spend against the monthly budget, with a run-rate forecast."),
    "commitment": (
        "Commitment",
        "How much of each prepaid commitment is left, and whether it will be used before its "
        "term ends: the balance day by day (cfusage.commitment_burndown, from the usage "
        "cfusage.amortize_commitment allocates to it), then projected at the average draw of "
        "the last 30 days.",
    ),
}


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


_NA_HTML = '<span class="na">—</span>'

#: The effects of :func:`cfusage.price_volume_mix`, in the order the table lists them.
_EFFECTS = (
    "price_effect",
    "days_effect",
    "volume_effect",
    "mix_effect",
    "new_effect",
    "retired_effect",
)


def _is_na(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))


def _money(value: Any, currency: str | None, *, compact: bool = False) -> str:
    if _is_na(value):
        return _NA_HTML
    x = round(float(value), 2) + 0.0
    text = _esc(plots.format_money(x, currency, compact=compact))
    return f'<span class="zero">{text}</span>' if x == 0 else text


def _pct(value: Any, *, signed: bool = True, colour: bool = True) -> str:
    if _is_na(value):
        return _NA_HTML
    x = round(float(value), 3) + 0.0  # a rate that shows as 0.0 % is 0: never "−0.0 %"
    text = format_percent(x, signed=signed)
    if not colour or x == 0:
        return _esc(text)
    return f'<span class="{"up" if x > 0 else "down"}">{_esc(text)}</span>'


def _signed_money(value: Any, currency: str | None) -> str:
    if _is_na(value):
        return _NA_HTML
    x = round(float(value), 2) + 0.0  # float noise is not a change: no "−$0.00"
    if x == 0:
        return f'<span class="zero">{_esc(plots.format_money(0.0, currency, compact=False))}</span>'
    text = plots.format_money(x, currency, compact=False)
    if x > 0:
        return f'<span class="up">+{_esc(text)}</span>'
    if x < 0:
        return f'<span class="down">{_esc(text)}</span>'
    return _esc(text)


def _table_html(
    df: pd.DataFrame,
    formats: dict[str, Callable[[object], str]],
    *,
    headers: dict[str, str] | None = None,
    total: bool = False,
) -> str:
    """An HTML table via ``DataFrame.to_html``, every cell formatted (and escaped) by ``formats``."""
    headers = headers or {}
    shown = df.rename(columns={c: _esc(headers.get(c, c)) for c in df.columns})
    formatters = {_esc(headers.get(c, c)): formats.get(c, _esc) for c in df.columns}
    classes = ["data", "total"] if total else ["data"]
    return shown.to_html(
        index=False, escape=False, formatters=formatters, border=0, classes=classes, na_rep="—"
    )


def _img(report: Report, name: str, alt: str, css: str = "") -> str:
    if name not in report.figures:
        return ""
    data = base64.b64encode(report.png(name)).decode("ascii")
    cls = f' class="{css}"' if css else ""
    return f'<figure{cls}><img alt="{_esc(alt)}" src="data:image/png;base64,{data}"></figure>'


def _card(label: str, value: str, detail: str) -> str:
    return (
        f'<div class="card"><div class="label">{label}</div><div class="value">{value}</div>'
        f'<div class="detail">{detail}</div></div>'
    )


def _render_headline(report: Report) -> str:
    h = report.headline
    cur = h.currency
    cards = []
    if h.month != h.last_month:  # the month the data ends in, beside the reported month
        if h.month_is_partial:
            detail = (
                f"{h.month_days_elapsed} of {h.month_days} days · run-rate forecast "
                f"{_money(h.month_forecast, cur, compact=True)}"
            )
            label = f"{h.month:%B} to date"
        else:
            detail = f"all {h.month_days} days"
            label = f"{h.month:%B %Y}"
        cards.append(_card(_esc(label), _money(h.month_to_date, cur, compact=True), detail))
    change = (
        f"{_pct(h.last_month_change_pct)} ({_signed_money(h.last_month_change, cur)}) "
        f"vs {_add_months(h.last_month, -1):%B}"
        if h.last_month_change is not None
        else f"no data for {_add_months(h.last_month, -1):%B} to compare"
    )
    cards.append(
        _card(f"{h.last_month:%B %Y}", _money(h.last_month_cost, cur, compact=True), change)
    )
    cards.append(
        _card(
            f"Savings, {h.last_month:%B}",
            _money(h.total_savings, cur, compact=True),
            f"of {_money(h.list_cost, cur, compact=True)} at list price",
        )
    )
    cards.append(
        _card(
            "Effective savings rate",
            _pct(h.esr_over_list, signed=False, colour=False),
            f"over list · {_pct(h.esr_over_contract, signed=False, colour=False)} over contract "
            f"(commitments alone){_esr_contract_note(report)}",
        )
    )
    if "budget" in report.tables:
        last = report.tables["budget"].iloc[-1]
        share = _ratio(_float(last["forecast"]), _float(last["budget"]))
        over = share is not None and share > 1
        pill = "bad" if over else "good"
        value = f'<span class="pill {pill}">{"over" if over else "within"} budget</span>'
        cards.append(
            _card(
                f"Budget, {last['period']:%B}",
                _money(last["forecast"], cur, compact=True),
                f"forecast · {_pct(share, signed=False, colour=False)} of "
                f"{_money(last['budget'], cur, compact=True)} {value}",
            )
        )
    why = ""
    if "headline" in report.unavailable:
        why = (
            '<p class="unavailable">Headline figures not available for this data: '
            f"{_esc(report.unavailable['headline'])}</p>"
        )
    return f'<section id="headline">{why}<div class="cards">{"".join(cards)}</div></section>'


def _esr_contract_note(report: Report) -> str:
    """Why the ESR over contract is 0 when the organization has a commitment.

    Usage a prepaid commitment pays for is priced at the contracted price (its balance is drawn
    at that price), so the commitment saves nothing over contract: its fee is a prepaid
    purchase (a Purchase row, billed once), not a discount. Said when the rate rounds to 0 and
    the data or the caller shows a commitment."""
    h = report.headline
    if h.esr_over_contract is None or round(h.esr_over_contract, 3) != 0:
        return ""
    if not (report.meta.get("commitments_given") or report.meta.get("purchases")):
        return ""
    where = (
        "see Commitment below"
        if "commitment" in report.tables
        else "see cfusage.amortize_commitment and commitment_burndown"
    )
    return (
        '<br><span class="why">0 is expected: the commitment is a prepaid purchase drawn at '
        f"contracted prices, not a discount ({where})</span>"
    )


def _render_banner(report: Report) -> str:
    h = report.headline
    if h.complete_through is not None and h.as_of < h.complete_through:
        through = (
            f"Data complete through <b>{h.complete_through:%d %B %Y}</b>; this report looks at "
            f"it through <b>{h.as_of:%d %B %Y}</b>."
        )
    elif h.complete_through is not None:
        through = f"Data complete through <b>{h.complete_through:%d %B %Y}</b>."
    else:
        through = (
            f"Data through <b>{h.as_of:%d %B %Y}</b> (the source did not say through which day "
            "it is complete)."
        )
    reported = _month_sentence(h)
    if h.month_is_partial:
        return (
            f'<div class="banner partial" id="completeness">{through} '
            f"<b>{h.month:%B %Y} is a partial month</b>: {h.month_days_elapsed} of "
            f"{h.month_days} days; its figures are month to date. {reported}</div>"
        )
    return f'<div class="banner" id="completeness">{through} {reported}</div>'


def _month_sentence(h: Headline) -> str:
    """Which month the report describes, and why that one (:data:`MONTH_RULES`)."""
    month = f"<b>{h.last_month:%B %Y}</b>"
    if h.month_rule == "chosen":
        return (
            f'<span id="reported-month">This report describes {month}, the month asked for.</span>'
        )
    if h.month_rule == "complete":
        why = "the last complete month (the report looks at the data through its last day)"
    else:
        why = f"the last complete month before {h.month:%B}"
    return f'<span id="reported-month">This report describes {month}, {why}.</span>'


def _render_cost(report: Report, section_id: str, table: str) -> str:
    cur = report.headline.currency
    parts = [_img(report, section_id, _SECTIONS[section_id][0])]
    if table in report.tables:
        df = report.tables[table]
        months = [c for c in df.columns[1:] if c not in ("change", "change_pct")]
        formats: dict[str, Callable[[object], str]] = {
            m: (lambda v: _money(v, cur)) for m in months
        }
        h = report.headline
        vs = f"{h.last_month:%b} vs {_add_months(h.last_month, -1):%b}"
        formats["change"] = lambda v: _signed_money(v, cur)
        formats["change_pct"] = _pct
        small = set(report.meta.get(f"{table}_too_small", []))
        formats[df.columns[0]] = lambda v: (
            _esc(v)
            + (
                ' <span class="small-note">(too small to see in the chart)</span>'
                if str(v) in small
                else ""
            )
        )
        parts.append(
            _table_html(
                df,
                formats,
                headers={"change": vs, "change_pct": f"{vs} %", df.columns[0]: ""},
                total=True,
            )
        )
    return "".join(parts)


def _money_formats(
    columns: list[str], currency: str | None, *, signed: tuple[str, ...] = ()
) -> dict[str, Callable[[object], str]]:
    formats: dict[str, Callable[[object], str]] = {}
    for c in columns:
        if c in signed:
            formats[c] = lambda v: _signed_money(v, currency)
        else:
            formats[c] = lambda v: _money(v, currency)
    return formats


def _with_total(df: pd.DataFrame, label_col: str, money: list[str]) -> pd.DataFrame:
    total = {c: df[c].astype("Float64").sum(min_count=1) for c in money}
    row = pd.DataFrame([{label_col: "Total", **total}])
    return pd.concat([df.astype({label_col: "object"}), row], ignore_index=True)


def _render_variance(report: Report) -> str:
    h = report.headline
    cur = h.currency
    pvm = report.tables["variance"]
    effects = [e for e in _EFFECTS if e in pvm.columns]
    money = ["previous", "current", "change", *effects]
    label = "x_product_family_name"
    shown = _with_total(pvm[[label, *money]], label, money)
    base, current = _last_two_months(report)
    formats = _money_formats(money, cur, signed=("change", *effects))
    headers = {
        label: "Product",
        "previous": f"{base[0]:%b %Y}",
        "current": f"{current[0]:%b %Y}",
        "change": "Change",
        **{e: e.removesuffix("_effect").capitalize() for e in effects},
    }
    return _img(report, "variance", "Variance bridge") + _table_html(
        shown, formats, headers=headers, total=True
    )


def _render_top_movers(report: Report) -> str:
    cur = report.headline.currency
    movers = report.tables["top_movers"]
    cols = [c for c in movers.columns if c not in ("billing_currency", "missing_value_rows")]
    labels = {
        "x_billable_metric_name": "Metric",
        "billing_account_name": "Account",
        "previous": "Before",
        "current": "After",
        "change": "Change",
        "relative_change": "Change %",
        "status": "Status",
    }
    base, current = _last_two_months(report)
    labels["previous"], labels["current"] = f"{base[0]:%b %Y}", f"{current[0]:%b %Y}"
    formats = _money_formats(["previous", "current", "change"], cur, signed=("change",))
    formats["relative_change"] = _pct
    return _img(report, "top-movers", "Top movers") + _table_html(
        movers[cols], formats, headers=labels
    )


def _render_anomalies(report: Report) -> str:
    h = report.headline
    sentences = report.sentences.get("anomalies", [])
    flagged = report.tables.get("anomalies")
    since = f"{h.last_month:%d %B %Y}"
    floor = plots.format_money(_material(h), h.currency, compact=False)
    if not sentences:
        return (
            f"<p>No anomaly since {_esc(since)}: every metric of every account stayed within "
            f"its expected band, or left it by less than {_esc(floor)} a day.</p>"
        )
    n = len(flagged) if flagged is not None else len(sentences)
    groups = (
        len(flagged.drop_duplicates(["x_billable_metric_name", "billing_account_name"]))
        if flagged is not None and len(flagged)
        else 0
    )
    intro = (
        f"<p>{n} day(s) flagged since {_esc(since)}, across {groups} metric and account "
        f"pair(s) (departures of at least {_esc(floor)} a day). The largest, by cost impact "
        "(a run of flagged days is one event):</p>"
    )
    items = "".join(f"<li>{_esc(t)}</li>" for t in sentences)
    return (
        intro
        + f'<ul class="sentences">{items}</ul>'
        + _img(report, "anomalies", "Timeline of the largest anomaly")
    )


def _render_discounts(report: Report) -> str:
    cur = report.headline.currency
    table = report.tables["discounts"]
    money = [
        "list_cost",
        "contracted_cost",
        "effective_cost",
        "billed_cost",
        "negotiated_savings",
        "commitment_savings",
        "total_savings",
    ]
    rates = ["esr_over_list", "esr_over_contract"]
    label = "x_product_family_name"
    formats = _money_formats(money, cur)
    for r in rates:
        formats[r] = lambda v: _pct(v, signed=False, colour=False)
    headers = {
        label: "Product",
        "list_cost": "List",
        "contracted_cost": "Contracted",
        "effective_cost": "Effective",
        "billed_cost": "Billed",
        "negotiated_savings": "Negotiated savings",
        "commitment_savings": "Commitment savings",
        "total_savings": "Total savings",
        "esr_over_list": "ESR (list)",
        "esr_over_contract": "ESR (contract)",
    }
    note = ""
    coverage = report.headline.savings_coverage
    if coverage is not None and coverage < 0.9995:
        note = (
            f'<p class="lede">Savings are computed on the rows that carry every price: '
            f"{coverage:.1%} of list cost.</p>"
        )
    timing = ""
    if "billed-vs-effective" in report.figures:
        timing = (
            "<h3>Billed and amortized, month by month</h3>"
            '<p class="lede">Billed cost is the invoice (a prepaid fee counts in the month it is '
            "invoiced, usage it covers is billed at 0); effective cost spreads the fee over the "
            "usage it pays for. The twelve months through the reported month.</p>"
            + _img(report, "billed-vs-effective", "Billed against effective cost per month")
        )
    return (
        _img(report, "discounts", "From list price to what was paid")
        + _table_html(table[[label, *money, *rates]], formats, headers=headers, total=True)
        + note
        + timing
    )


def _render_budget(report: Report) -> str:
    cur = report.headline.currency
    table = report.tables["budget"].copy()
    table["month"] = [f"{p:%b %Y}" for p in table["period"]]
    table["state"] = np.where(table["complete"], "complete", "in progress")
    money = ["budget", "cumulative_actual", "variance_to_date", "forecast", "projected_variance"]
    formats = _money_formats(money, cur, signed=("variance_to_date", "projected_variance"))
    formats["threshold_crossed"] = lambda v: (
        _NA_HTML if (share := _float(v)) is None else f"{share:.0%}"
    )
    headers = {
        "month": "Month",
        "budget": "Budget",
        "cumulative_actual": "Actual",
        "variance_to_date": "Variance to date",
        "forecast": "Forecast",
        "projected_variance": "Projected variance",
        "threshold_crossed": "Threshold crossed",
        "state": "Status",
    }
    cols = ["month", *money, "threshold_crossed", "state"]
    return _img(report, "budget", "Budget") + _table_html(table[cols], formats, headers=headers)


def _render_commitment(report: Report) -> str:
    if "commitment" not in report.tables:  # none given: say how to give them
        return f'<p class="unavailable" id="commitment-how">{_esc(_NO_COMMITMENTS)}</p>'
    table = report.tables["commitment"]
    h = report.headline
    items = []
    for r in table.to_dict("records"):
        cur = r["billing_currency"]
        end = pd.Timestamp(r["last_day"])
        name = _esc(r["commitment"])
        if r["term_over"]:
            text = (
                f"<b>{name}</b>: the term ended on {end:%d %B %Y}; "
                f"{_money(r['drawn_to_date'], cur)} of {_money(r['amount'], cur)} was used, "
                f"<b>{_money(r['projected_unused'], cur)} unused</b>."
            )
        else:
            text = (
                f"<b>{name}</b>: {_money(r['balance'], cur)} of {_money(r['amount'], cur)} "
                f"left on {h.as_of:%d %B %Y} ({r['days_left']} days to the term's end on "
                f"{end:%d %B %Y}); drawn at {_money(r['drawdown_rate'], cur)} a day lately, "
            )
            if not pd.isna(r["exhausted_on"]):
                text += (
                    f"<b>it runs out on {pd.Timestamp(r['exhausted_on']):%d %B %Y}</b>, "
                    "before the term ends (usage after that is paid on demand)."
                )
            else:
                text += (
                    f"it is projected to end the term with "
                    f"<b>{_money(r['projected_balance_at_end'], cur)} left</b> "
                    f"({_money(r['projected_unused'], cur)} unused)."
                )
        items.append(f"<li>{text}</li>")
    money = ["amount", "drawn_to_date", "balance", "drawdown_rate"]
    money += ["projected_balance_at_end", "projected_unused"]
    formats: dict[str, Callable[[object], str]] = {}
    for c in money:
        formats[c] = lambda v: _money(v, h.currency)
    for c in ("term_start", "last_day", "exhausted_on"):
        formats[c] = lambda v: _NA_HTML if pd.isna(v) else _esc(f"{pd.Timestamp(v):%d %b %Y}")
    formats["kind"] = lambda v: _esc(str(v).replace("_", " "))
    formats["term_over"] = lambda v: "ended" if v else "open"
    headers = {
        "commitment": "Commitment",
        "kind": "Kind",
        "term_start": "Term start",
        "last_day": "Last day of the term",
        "amount": "Amount",
        "drawn_to_date": "Drawn to date",
        "balance": "Balance left",
        "drawdown_rate": "Drawdown a day",
        "projected_balance_at_end": "Projected balance at term end",
        "projected_unused": "Projected unused",
        "exhausted_on": "Runs out on",
        "term_over": "Term",
    }
    cols = [c for c in headers if c in table.columns]
    return (
        f'<ul class="sentences">{"".join(items)}</ul>'
        + _img(report, "commitment", "Commitment balance over its term")
        + _table_html(table[cols], formats, headers=headers)
    )


def _render_section(report: Report, section_id: str, body: Callable[[], str]) -> str:
    title, lede = _SECTIONS[section_id]
    if section_id not in report.unavailable:
        try:
            content = body()
        except Error as exc:  # a section that cannot be shown says why, in its place
            report.unavailable[section_id] = str(exc)
    if section_id in report.unavailable:
        content = (
            f'<p class="unavailable">Not available for this data: '
            f"{_esc(report.unavailable[section_id])}</p>"
        )
    return (
        f'<section id="{section_id}"><h2>{_esc(title)}</h2><p class="lede">{_esc(lede)}</p>'
        f"{content}</section>"
    )


def _render_about(report: Report) -> str:
    h = report.headline
    m = report.meta
    rows = [
        (
            "Data",
            f"{m['rows']:,} usage rows, {m['first_day']:%d %b %Y} to {m['last_day']:%d %b %Y}",
        ),
        (
            "Scope",
            f"{m['accounts']} accounts, {m['products']} product families, "
            f"{m['metrics']} billable metrics",
        ),
        ("Currency", h.currency or "not stated"),
        ("Spend", "effective cost: amortized, after negotiated and commitment discounts"),
        (
            "Savings",
            "over usage rows (purchases left out): list − contracted (negotiated), "
            "contracted − effective (commitments)",
        ),
        ("Forecast", "run rate: month to date ÷ days elapsed × days in month"),
        ("Generated", f"{report.generated_at:%Y-%m-%d %H:%M} UTC by cfusage"),
    ]
    if h.rows_without_cost:
        rows.insert(
            3,
            (
                "Coverage",
                f"{h.rows_without_cost:,} rows have no effective cost and "
                "are left out of every figure",
            ),
        )
    if m.get("other_currencies"):
        rows.insert(3, ("Left out", f"rows billed in {', '.join(m['other_currencies'])}"))
    items = "".join(f"<dt>{_esc(k)}</dt><dd>{_esc(v)}</dd>" for k, v in rows)
    return f'<footer id="about"><dl>{items}</dl></footer>'


def _render(report: Report, *, standalone: bool) -> str:
    h = report.headline
    m = report.meta
    sub = (
        f"{m['first_day']:%d %b %Y} – {m['last_day']:%d %b %Y} · "
        f"{m['accounts']} accounts · {m['products']} products"
        + (f" · {h.currency}" if h.currency else "")
    )
    body = [
        '<div class="cfr">',
        '<header class="top"><div class="eyebrow">Cloudflare billable usage · spend report</div>',
        f'<h1>{_esc(report.title)}</h1><p class="sub">{_esc(sub)}</p></header>',
        _render_banner(report),
        _render_headline(report),
        _render_section(
            report,
            "cost-by-product",
            lambda: _render_cost(report, "cost-by-product", "cost_by_product"),
        ),
        _render_section(
            report,
            "cost-by-account",
            lambda: _render_cost(report, "cost-by-account", "cost_by_account"),
        ),
        _render_section(report, "variance", lambda: _render_variance(report)),
        _render_section(report, "top-movers", lambda: _render_top_movers(report)),
        _render_section(report, "anomalies", lambda: _render_anomalies(report)),
        _render_section(report, "discounts", lambda: _render_discounts(report)),
    ]
    if "budget" in report.unavailable or "budget" in report.tables:
        body.append(_render_section(report, "budget", lambda: _render_budget(report)))
    body.append(_render_section(report, "commitment", lambda: _render_commitment(report)))
    body += [_render_about(report), "</div>"]
    content = "\n".join(body)
    style = f"<style>{_css()}</style>"
    if not standalone:
        return style + content
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_esc(report.title)}</title>{style}</head>"
        f'<body style="margin:0;background:#fff">{content}</body></html>\n'
    )
