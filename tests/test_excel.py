"""The Excel export, read back with openpyxl and compared with the report's own tables."""

from __future__ import annotations

import datetime as dt
import math
import warnings

import openpyxl
import pandas as pd
import pytest

import cfusage
from cfusage.viz._excel import MONEY_FORMAT, PERCENT_FORMAT


@pytest.fixture(scope="module")
def report():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cfusage.build_report(cfusage.sample.load())


@pytest.fixture(scope="module")
def workbook(report, tmp_path_factory):
    path = tmp_path_factory.mktemp("xlsx") / "report.xlsx"
    assert cfusage.write_report(cfusage.sample.load(), path) == path
    return openpyxl.load_workbook(path)


def _expected(value):
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.tz_convert("UTC").tz_localize(None).to_pydatetime()
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value


def test_every_table_is_a_sheet_with_the_same_values(report, workbook):
    assert workbook.sheetnames[0] == "headline"
    for name, table in report.tables.items():
        sheet = workbook[name.replace("_", " ")[:31]]
        rows = list(sheet.iter_rows(values_only=True))
        assert list(rows[0]) == [str(c) for c in table.columns], name
        assert len(rows) - 1 == len(table), name
        for got_row, (_, want_row) in zip(rows[1:], table.iterrows(), strict=True):
            for got, want in zip(got_row, want_row.tolist(), strict=True):
                want = _expected(want)
                if isinstance(want, float):
                    assert got == pytest.approx(want, rel=1e-12, abs=1e-12), name
                elif isinstance(want, dt.datetime):
                    assert got == want, name
                elif want is None:
                    assert got is None, name
                else:
                    assert got == (want if isinstance(want, int) else str(want)), name


def test_money_and_rates_are_formatted_and_headers_frozen(workbook):
    sheet = workbook["discounts"]
    header = [c.value for c in sheet[1]]
    money = header.index("list_cost") + 1
    rate = header.index("esr_over_list") + 1
    assert sheet.cell(row=2, column=money).number_format == MONEY_FORMAT
    assert sheet.cell(row=2, column=rate).number_format == PERCENT_FORMAT
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref.startswith("A1:")


def test_dates_are_dates_and_the_headline_says_they_are_utc(workbook, report):
    sheet = workbook["billed vs effective"]
    cell = sheet.cell(row=2, column=1)
    assert cell.is_date and cell.value == report.tables["billed_vs_effective"]["period"].iloc[
        0
    ].tz_convert("UTC").tz_localize(None)
    headline = {r[0]: r[1] for r in workbook["headline"].iter_rows(min_row=2, values_only=True)}
    assert headline["last_month_cost"] == pytest.approx(report.headline.last_month_cost)
    assert "UTC" in headline["note"]


def test_text_that_looks_like_a_formula_stays_text(tmp_path):
    df = cfusage.sample.load()
    evil = '=HYPERLINK("http://x","click")'
    df["billing_account_name"] = df["billing_account_name"].cat.rename_categories({"Team AI": evil})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = cfusage.write_report(df, tmp_path / "r.xlsx")
    book = openpyxl.load_workbook(path)
    cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row if c.value == evil]
    assert cells, "the name is in the workbook"
    assert all(c.data_type == "s" for c in cells)  # a string, never a formula
