"""The report's tables as an Excel workbook, where finance lives.

One sheet per table of a :class:`~cfusage.viz.Report` (headline first), written with XlsxWriter:
money in ``#,##0.00``, rates and shares in ``0.0%``, dates as Excel dates, the header row frozen
and filterable, NA as an empty cell. Excel has no time zones: every date is written as its UTC
date (and time, where there is one), and the headline sheet says so.

Text is always written as text, never as a formula (XlsxWriter's ``strings_to_formulas`` is off),
so a name such as ``=HYPERLINK(...)`` or ``@SUM(...)`` coming from the API cannot run when a person
opens the workbook.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import pathlib
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xlsxwriter

if TYPE_CHECKING:
    from ._report import Report

__all__ = ["MONEY_FORMAT", "PERCENT_FORMAT", "write_excel"]

#: Number format of money cells (the report's currency is named in the headline sheet).
MONEY_FORMAT = "#,##0.00;-#,##0.00;0.00"
#: Number format of rates, shares and coverages (0.123 shows as 12.3 %).
PERCENT_FORMAT = "0.0%"
_DATE_FORMAT = "yyyy-mm-dd"
_DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
_PERCENT = re.compile(r"(rate|pct|share|coverage|esr|ratio_of)", re.I)
_MONEY = re.compile(
    r"(cost|saving|change|effect|budget|actual|forecast|previous|current|expected|lower|upper|"
    r"difference|purchase|drawdown|unused|correction|other|value|impact|balance|spend|amount|"
    r"^[A-Z][a-z]{2} \d{4})",
    re.I,
)
#: Sheet names: Excel allows 31 characters and none of []:*?/\
_BAD_SHEET = re.compile(r"[\[\]:*?/\\]")


def write_excel(report: Report, path: str | pathlib.Path) -> pathlib.Path:
    """Write ``report``'s headline and tables to an ``.xlsx`` workbook.

    Parameters
    ----------
    report : cfusage.viz.Report
        A built report (:func:`cfusage.build_report`).
    path : str or pathlib.Path
        Where to write; parent folders are created.

    Returns
    -------
    pathlib.Path
        The path written.

    Examples
    --------
    >>> import tempfile, pathlib, cfusage
    >>> report = cfusage.build_report(cfusage.sample.load())  # doctest: +SKIP
    >>> write_excel(report, pathlib.Path(tempfile.mkdtemp()) / "r.xlsx").suffix  # doctest: +SKIP
    '.xlsx'
    """
    target = pathlib.Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    options = {"strings_to_formulas": False, "strings_to_urls": False, "nan_inf_to_errors": False}
    with xlsxwriter.Workbook(str(target), options) as book:
        formats = {
            "header": book.add_format({"bold": True, "bg_color": "#EEF1F4", "bottom": 1}),
            "money": book.add_format({"num_format": MONEY_FORMAT}),
            "percent": book.add_format({"num_format": PERCENT_FORMAT}),
            "date": book.add_format({"num_format": _DATE_FORMAT}),
            "datetime": book.add_format({"num_format": _DATETIME_FORMAT}),
            "number": book.add_format({"num_format": "#,##0.####"}),
            "integer": book.add_format({"num_format": "0"}),
        }
        used: set[str] = set()
        _write_sheet(book, _sheet_name("headline", used), headline_table(report), formats)
        for name, table in report.tables.items():
            _write_sheet(book, _sheet_name(name, used), table, formats)
        if report.unavailable:
            missing = pd.DataFrame(
                {"section": list(report.unavailable), "reason": list(report.unavailable.values())}
            )
            _write_sheet(book, _sheet_name("not computed", used), missing, formats)
    return target


def headline_table(report: Report) -> pd.DataFrame:
    """The headline figures as a two-column table (``figure``, ``value``), dates as dates."""
    rows: list[tuple[str, Any]] = [("title", report.title)]
    for f in dataclasses.fields(report.headline):
        rows.append((f.name, getattr(report.headline, f.name)))
    rows.append(("generated_at (UTC)", report.generated_at.replace(tzinfo=None)))
    rows.append(("note", "Excel has no time zones: every date in this workbook is a UTC date."))
    return pd.DataFrame(rows, columns=["figure", "value"])


def _sheet_name(name: str, used: set[str]) -> str:
    base = _BAD_SHEET.sub(" ", name.replace("_", " "))[:31].strip() or "sheet"
    candidate, i = base, 2
    while candidate.lower() in used:
        suffix = f" ({i})"
        candidate, i = base[: 31 - len(suffix)] + suffix, i + 1
    used.add(candidate.lower())
    return candidate


def _kind(name: str, values: pd.Series) -> str:
    """How a column is written: money, percent, date, datetime, integer, number or text."""
    dtype = values.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        times = values.dropna()
        return "date" if (times == times.dt.normalize()).all() else "datetime"
    if pd.api.types.is_bool_dtype(dtype):
        return "text"
    if pd.api.types.is_integer_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype):
        return "integer"
    if pd.api.types.is_float_dtype(dtype):
        if _PERCENT.search(name):
            return "percent"
        return "money" if _MONEY.search(name) else "number"
    return "text"


def _cell(value: Any, kind: str) -> Any:
    """A Python value XlsxWriter writes as the right Excel type (None for NA)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if kind in ("date", "datetime") or isinstance(value, pd.Timestamp | dt.datetime | dt.date):
        ts = pd.Timestamp(value)
        if ts.tzinfo is not None:
            ts = ts.tz_convert("UTC").tz_localize(None)
        return ts.to_pydatetime()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value == 0.0:
        return 0.0  # never a negative zero
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return value
    if isinstance(value, Mapping | list | tuple | set):
        return ", ".join(str(v) for v in value)
    return str(value)


def _write_sheet(
    book: xlsxwriter.Workbook, name: str, table: pd.DataFrame, formats: Mapping[str, Any]
) -> None:
    sheet = book.add_worksheet(name)
    table = table.reset_index(drop=True)
    columns = [str(c) for c in table.columns]
    kinds = [_kind(c, table[col]) for c, col in zip(columns, table.columns, strict=True)]
    for j, title in enumerate(columns):
        sheet.write_string(0, j, title, formats["header"])
    for j, (col, kind) in enumerate(zip(table.columns, kinds, strict=True)):
        fmt = formats.get(kind)
        width = len(columns[j])
        for i, raw in enumerate(table[col].tolist(), start=1):
            value = _cell(raw, kind)
            if value is None:
                sheet.write_blank(i, j, None, fmt)
            elif isinstance(value, dt.datetime):
                sheet.write_datetime(i, j, value, fmt or formats["datetime"])
                width = max(width, 16 if kind == "datetime" else 10)
            elif isinstance(value, str):
                sheet.write_string(i, j, value)
                width = max(width, min(len(value), 60))
            else:
                sheet.write_number(i, j, value, fmt)
                width = max(width, 12)
        sheet.set_column(j, j, width + 2)
    sheet.freeze_panes(1, 0)
    if len(table.columns):
        sheet.autofilter(0, 0, max(len(table), 1), len(table.columns) - 1)
