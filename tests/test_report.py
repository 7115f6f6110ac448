"""The HTML report: every section is there, its figures are right, the file stands alone."""

from __future__ import annotations

import base64
import datetime as dt
import io
import pathlib
import re
import warnings
from html import escape as html_escape

import matplotlib

matplotlib.use("Agg")

import matplotlib.image as mpimg
import pandas as pd
import pytest

import cfusage.errors
import cfusage.sample
import cfusage.schema
from cfusage.analysis._variance import price_volume_mix
from cfusage.errors import CurrencyError
from cfusage.viz._report import Report, build_report, write_report

SECTIONS = (
    "headline",
    "completeness",
    "cost-by-product",
    "cost-by-account",
    "variance",
    "top-movers",
    "anomalies",
    "discounts",
    "about",
)


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return cfusage.sample.load()


@pytest.fixture(scope="module")
def budget() -> pd.DataFrame:
    months = pd.date_range("2026-06-01", "2026-11-01", freq="MS")
    return pd.DataFrame({"period": months.date, "budget": [40_000.0] * len(months)})


@pytest.fixture(scope="module")
def report(sample: pd.DataFrame, budget: pd.DataFrame) -> Report:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the report itself must not spray warnings
        return build_report(sample, budget=budget)


@pytest.fixture(scope="module")
def html(report: Report) -> str:
    return report.to_html()


def naive_sum(df: pd.DataFrame, column: str, start: str, end: str) -> float:
    """A second, row-by-row implementation of "sum of column for charge days in [start, end)"."""
    total = 0.0
    lo, hi = pd.Timestamp(start, tz="UTC"), pd.Timestamp(end, tz="UTC")
    for when, amount in zip(df["charge_period_start"], df[column], strict=True):
        if lo <= when < hi and not pd.isna(amount):
            total += float(amount)
    return total


# ------------------------------------------------------------------------------------------------
# structure


def test_report_has_every_section(html: str) -> None:
    for section in (*SECTIONS, "budget"):
        assert f'id="{section}"' in html, section
    assert "Not available for this data" not in html


@pytest.fixture(scope="module")
def june(sample: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """A report written by write_report, as of the end of June, without a budget."""
    target = tmp_path_factory.mktemp("report") / "out" / "report.html"
    written = write_report(sample, target, title="Acme <Cloud> spend", as_of="2026-06-30")
    assert written == target
    return written


def test_report_without_budget_has_no_budget_section(june: pathlib.Path) -> None:
    page = june.read_text(encoding="utf-8")
    assert 'id="budget"' not in page
    assert 'id="discounts"' in page


def test_report_is_self_contained(html: str) -> None:
    assert html.startswith("<!DOCTYPE html>")
    refs = re.findall(r"""(?:src|href|action|srcset)\s*=\s*["']?([^"'\s>]+)""", html, re.I)
    assert refs, "the report should hold inline images"
    assert all(r.startswith("data:image/png;base64,") for r in refs), refs[:3]
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", html, re.I)
    assert not re.search(r"@import|<script|<link|<iframe", html, re.I)


def test_report_images_decode(report: Report, html: str) -> None:
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    # seven charts, and the timeline of the strongest anomaly when there is one
    assert len(images) == len(report.figures) == 7 + ("anomalies" in report.figures)
    for data in images:
        raw = base64.b64decode(data, validate=True)
        assert raw.startswith(b"\x89PNG\r\n\x1a\n")
        pixels = mpimg.imread(io.BytesIO(raw), format="png")
        assert pixels.shape[0] > 200 and pixels.shape[1] > 1000


def test_repr_html_is_a_fragment_with_the_sections(report: Report) -> None:
    fragment = report._repr_html_()
    assert "<html" not in fragment and "<style>" in fragment
    assert all(f'id="{s}"' in fragment for s in SECTIONS)


def test_write_report_writes_one_escaped_file(june: pathlib.Path) -> None:
    assert june.is_file() and june.parent.name == "out"
    text = june.read_text(encoding="utf-8")
    assert "<title>Acme &lt;Cloud&gt; spend</title>" in text
    assert "Acme <Cloud>" not in text
    assert "June 2026" in text and "partial month" not in text


# ------------------------------------------------------------------------------------------------
# figures


def test_headline_matches_an_independent_computation(report: Report, sample: pd.DataFrame) -> None:
    h = report.headline
    # the sample is complete through its last day, 2026-11-23, and its attrs say so
    assert h.as_of == dt.date(2026, 11, 23) and h.complete_through == dt.date(2026, 11, 23)
    assert (h.month, h.last_month) == (dt.date(2026, 11, 1), dt.date(2026, 10, 1))
    mtd = naive_sum(sample, "effective_cost", "2026-11-01", "2026-11-24")
    october = naive_sum(sample, "effective_cost", "2026-10-01", "2026-11-01")
    september = naive_sum(sample, "effective_cost", "2026-09-01", "2026-10-01")
    assert h.month_to_date == pytest.approx(mtd, rel=1e-12)
    assert h.month_forecast == pytest.approx(mtd / 23 * 30, rel=1e-12)
    assert h.last_month_cost == pytest.approx(october, rel=1e-12)
    assert h.previous_month_cost == pytest.approx(september, rel=1e-12)
    assert h.last_month_change_pct == pytest.approx((october - september) / september)
    assert (h.month_days_elapsed, h.month_days, h.month_is_partial) == (23, 30, True)


def test_headline_savings_follow_the_finops_definitions(
    report: Report, sample: pd.DataFrame
) -> None:
    october = sample.loc[
        (sample["charge_period_start"] >= pd.Timestamp("2026-10-01", tz="UTC"))
        & (sample["charge_period_start"] < pd.Timestamp("2026-11-01", tz="UTC"))
        & (sample["charge_category"].astype("str") == "Usage")
    ]
    lst = float(october["list_cost"].sum())
    con = float(october["contracted_cost"].sum())
    eff = float(october["effective_cost"].sum())
    h = report.headline
    assert h.total_savings == pytest.approx(lst - eff)
    assert h.negotiated_savings == pytest.approx(lst - con)
    assert h.commitment_savings == pytest.approx(con - eff, abs=1e-6)
    assert h.esr_over_list == pytest.approx((lst - eff) / lst)
    assert h.esr_over_contract == pytest.approx((con - eff) / con, abs=1e-12)
    # the sample's negotiated discounts: Workers 20 %, R2 15 %, the rest 0
    table = report.tables["discounts"].set_index("x_product_family_name")
    assert table.loc["Workers", "esr_over_list"] == pytest.approx(0.20, abs=1e-9)
    assert table.loc["R2", "esr_over_list"] == pytest.approx(0.15, abs=1e-9)
    assert table.loc["Total", "total_savings"] == pytest.approx(lst - eff)


def test_headline_figures_are_printed(html: str, sample: pd.DataFrame) -> None:
    from cfusage.plots import format_money

    cards = html[html.index('id="headline"') : html.index('id="cost-by-product"')]
    mtd = naive_sum(sample, "effective_cost", "2026-11-01", "2026-11-24")
    october = naive_sum(sample, "effective_cost", "2026-10-01", "2026-11-01")
    september = naive_sum(sample, "effective_cost", "2026-09-01", "2026-10-01")
    assert f'<div class="value">{format_money(mtd)}</div>' in cards
    assert f'<div class="value">{format_money(october)}</div>' in cards
    assert f"{(october - september) / september:+.1%}" in cards
    assert f"run-rate forecast {format_money(mtd / 23 * 30)}" in cards
    over = mtd / 23 * 30 > 40_000
    assert ("over budget" if over else "within budget") in cards


def test_partial_month_is_flagged(html: str) -> None:
    banner = html[html.index('id="completeness"') :][:400]
    assert "November 2026 is a partial month" in banner
    assert "23 of 30 days" in banner


def test_complete_through_comes_from_attrs(sample: pd.DataFrame) -> None:
    df = sample.copy()
    df.attrs = {"cfusage": {"complete_through": dt.date(2026, 10, 31)}}
    rep = build_report(df)
    assert rep.headline.as_of == dt.date(2026, 10, 31)
    assert rep.headline.month_is_partial is False
    page = rep.to_html()
    assert "Data complete through <b>31 October 2026</b>" in page
    assert "partial month" not in page
    assert rep.headline.month_to_date == pytest.approx(
        naive_sum(sample, "effective_cost", "2026-10-01", "2026-11-01")
    )


def test_variance_section_equals_price_volume_mix(report: Report, sample: pd.DataFrame) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = price_volume_mix(sample, base="2026-09", current="2026-10", by="product")
    got = report.tables["variance"].set_index("x_product_family_name").sort_index()
    expected = expected.set_index("x_product_family_name").sort_index()
    pd.testing.assert_series_equal(got["change"], expected["change"], check_names=False)
    assert float(got["change"].sum()) == pytest.approx(report.headline.last_month_change, rel=1e-9)


# The anomaly section's sentences (events ranked by cost impact) are tested in
# tests/test_anomaly_report.py, beside the anomalies they describe.


def test_budget_table_matches_month_to_date(report: Report, sample: pd.DataFrame) -> None:
    table = report.tables["budget"]
    november = table.loc[table["period"] == pd.Timestamp("2026-11-01", tz="UTC")].iloc[0]
    mtd = naive_sum(sample, "effective_cost", "2026-11-01", "2026-11-24")
    assert float(november["cumulative_actual"]) == pytest.approx(mtd)
    assert float(november["forecast"]) == pytest.approx(mtd / 23 * 30)
    assert list(table["period"].dt.strftime("%Y-%m")) == [
        "2026-06",
        "2026-07",
        "2026-08",
        "2026-09",
        "2026-10",
        "2026-11",
    ]


# ------------------------------------------------------------------------------------------------
# bad and awkward input


def test_report_refuses_mixed_currencies(sample: pd.DataFrame) -> None:
    eur = sample.head(50).assign(billing_currency=pd.Categorical(["EUR"] * 50))
    mixed = pd.concat([sample, eur], ignore_index=True)
    with pytest.raises(CurrencyError, match="EUR"):
        build_report(mixed)
    rep = build_report(mixed, currency="USD")
    assert rep.headline.currency == "USD"
    assert rep.meta["other_currencies"] == ["EUR"]
    assert rep.headline.last_month_cost == pytest.approx(
        naive_sum(sample, "effective_cost", "2026-10-01", "2026-11-01")
    )


ALL_SECTIONS = (
    "cost-by-product",
    "cost-by-account",
    "variance",
    "top-movers",
    "anomalies",
    "discounts",
    "budget",
)


@pytest.mark.parametrize("how", ["all-na", "dropped"])
def test_usage_without_costs_gives_every_section_with_its_reason(
    sample: pd.DataFrame, how: str
) -> None:
    money = list(cfusage.schema.MONEY)
    if how == "all-na":
        no_costs = sample.assign(
            **{m: pd.array([None] * len(sample), dtype="Float64") for m in money}
        )
    else:
        no_costs = sample.drop(columns=[m for m in money if m in sample.columns])
    rep = build_report(no_costs, budget=40_000)  # before: MissingColumnsError, no report at all
    assert set(rep.unavailable) == {"headline", *ALL_SECTIONS}
    assert all("effective_cost" in why for why in rep.unavailable.values()), rep.unavailable
    assert rep.headline.last_month_cost is None and rep.headline.month_to_date is None
    assert rep.headline.rows_without_cost == len(sample)
    page = rep.to_html()
    for section in ("headline", *ALL_SECTIONS, "about"):
        assert f'id="{section}"' in page, section
    assert page.count("Not available for this data") == len(ALL_SECTIONS)
    assert "Headline figures not available for this data" in page


def test_missing_list_prices_make_discounts_unavailable_not_fatal(sample: pd.DataFrame) -> None:
    df = sample.assign(list_cost=pd.array([None] * len(sample), dtype="Float64"))
    rep = build_report(df, as_of="2026-10-31")
    assert "discounts" in rep.unavailable and "list_cost" in rep.unavailable["discounts"]
    page = rep.to_html()
    section = page[page.index('id="discounts"') :]
    assert "Not available for this data" in section[:2000]
    assert rep.headline.total_savings is None
    assert rep.headline.last_month_cost is not None


def test_rows_without_cost_are_counted_not_zeroed(sample: pd.DataFrame) -> None:
    df = sample.copy()
    holes = df.index[(df["charge_period_start"] >= pd.Timestamp("2026-10-01", tz="UTC"))][:7]
    df.loc[holes, "effective_cost"] = pd.NA
    rep = build_report(df, as_of="2026-10-31")
    assert rep.headline.rows_without_cost == 7
    assert rep.headline.month_to_date == pytest.approx(
        naive_sum(df, "effective_cost", "2026-10-01", "2026-11-01")
    )
    assert "7 rows have no effective cost" in rep.to_html()


def test_data_is_escaped_and_no_secret_leaks(sample: pd.DataFrame) -> None:
    df = sample.copy()
    df["billing_account_name"] = df["billing_account_name"].cat.rename_categories(
        {"Acme Prod": "<script>alert(1)</script>"}
    )
    df.attrs = {"cfusage": {"token": "cf-secret-token-123", "complete_through": None}}
    page = build_report(df, as_of="2026-10-31").to_html()
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "cf-secret-token-123" not in page


def test_report_does_not_mutate_the_frame(sample: pd.DataFrame) -> None:
    df = sample.head(3000).copy()
    before = df.copy()
    build_report(df)
    pd.testing.assert_frame_equal(df, before)


def test_budget_split_by_dimension_is_added_up(sample: pd.DataFrame) -> None:
    recent = sample.loc[sample["charge_period_start"] >= pd.Timestamp("2026-09-01", tz="UTC")]
    split = pd.DataFrame(
        {
            "period": ["2026-10", "2026-11", "2026-11"],
            "account": ["Acme Prod", "Acme Prod", "Team AI"],
            "budget": [30_000, 20_000, 25_000],
        }
    )
    table = build_report(recent, budget=split).tables["budget"]
    assert table["budget"].astype(float).tolist() == [30_000.0, 45_000.0]


@pytest.mark.parametrize(
    ("budget", "message"),
    [
        (pd.DataFrame({"period": ["2026-13"], "budget": [1.0]}), "period = '2026-13'"),
        (pd.DataFrame({"period": ["2026-10"], "budget": ["lots"]}), "budget = 'lots'"),
        (pd.DataFrame({"month": ["2026-10"], "budget": [1.0]}), "lacks column(s) ['period']"),
    ],
)
def test_bad_budget_is_refused_naming_the_value(
    sample: pd.DataFrame, budget: object, message: str
) -> None:
    with pytest.raises(cfusage.errors.DataError) as info:
        build_report(sample.head(10), budget=budget)
    assert message in str(info.value)


def test_short_frame_says_which_sections_cannot_be_computed(sample: pd.DataFrame) -> None:
    november = sample.loc[sample["charge_period_start"] >= pd.Timestamp("2026-11-01", tz="UTC")]
    rep = build_report(november)
    assert set(rep.unavailable) == {"variance", "top-movers", "discounts"}
    assert "September 2026" in rep.unavailable["variance"]
    assert rep.headline.last_month_cost is None
    assert rep.headline.month_to_date == pytest.approx(
        naive_sum(sample, "effective_cost", "2026-11-01", "2026-11-24")
    )
    page = rep.to_html()
    assert page.count("Not available for this data") == 3
    assert 'id="variance"' in page


@pytest.mark.parametrize(
    "budget",
    [
        40_000,
        40_000.0,
        {"2026-10": 40_000, "2026-11": 40_000},
        pd.DataFrame({"period": ["2026-10", "2026-11"], "budget": [40_000, 40_000]}),
    ],
    ids=["int", "float", "mapping", "frame"],
)
def test_budget_takes_a_number_a_mapping_or_a_frame(sample: pd.DataFrame, budget: object) -> None:
    recent = sample.loc[sample["charge_period_start"] >= pd.Timestamp("2026-09-01", tz="UTC")]
    rep = build_report(recent, budget=budget)  # before: "budget= must be a DataFrame"
    assert "budget" not in rep.unavailable
    table = rep.tables["budget"].set_index("period")
    november = table.loc[pd.Timestamp("2026-11-01", tz="UTC")]
    assert float(november["budget"]) == 40_000.0
    mtd = naive_sum(sample, "effective_cost", "2026-11-01", "2026-11-24")
    assert float(november["cumulative_actual"]) == pytest.approx(mtd)
    assert float(november["forecast"]) == pytest.approx(mtd / 23 * 30)
    assert 'id="budget"' in rep.to_html()


@pytest.mark.parametrize("budget", [[40_000.0], "lots", True, -5.0])
def test_a_budget_that_is_no_budget_is_refused(sample: pd.DataFrame, budget: object) -> None:
    with pytest.raises(cfusage.errors.ArgumentError, match="budget="):
        build_report(sample.head(10), budget=budget)


# ------------------------------------------------------------------------------------------------
# which month the report describes


def test_data_ending_on_a_month_end_reports_that_month(sample: pd.DataFrame) -> None:
    june = sample.loc[sample["charge_period_start"] < pd.Timestamp("2026-07-01", tz="UTC")].copy()
    june.attrs = {"cfusage": {"complete_through": dt.date(2026, 6, 30)}}
    rep = build_report(june)
    h = rep.headline
    # before: the report described May, the month before the month of as_of
    assert (h.as_of, h.last_month, h.month_rule) == (
        dt.date(2026, 6, 30),
        dt.date(2026, 6, 1),
        "complete",
    )
    assert h.last_month_cost == pytest.approx(
        naive_sum(sample, "effective_cost", "2026-06-01", "2026-07-01")
    )
    assert h.previous_month_cost == pytest.approx(
        naive_sum(sample, "effective_cost", "2026-05-01", "2026-06-01")
    )
    usage = sample.loc[sample["charge_category"].astype("str") == "Usage"]
    assert h.list_cost == pytest.approx(naive_sum(usage, "list_cost", "2026-06-01", "2026-07-01"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = price_volume_mix(sample, base="2026-05", current="2026-06", by="product")
    got = rep.tables["variance"].set_index("x_product_family_name").sort_index()
    expected = expected.set_index("x_product_family_name").sort_index()
    pd.testing.assert_series_equal(got["change"], expected["change"], check_names=False)
    page = rep.to_html()
    banner = page[page.index('id="completeness"') :][:600]
    assert "This report describes <b>June 2026</b>, the last complete month" in banner
    assert "partial month" not in page
    cards = page[page.index('id="headline"') : page.index('id="cost-by-product"')]
    assert cards.count("June 2026") == 1  # one card for June, not a "to date" card beside it


def test_a_partial_month_reports_the_complete_month_before_it(report: Report, html: str) -> None:
    h = report.headline
    assert (h.month, h.last_month, h.month_rule) == (
        dt.date(2026, 11, 1),
        dt.date(2026, 10, 1),
        "before-partial",
    )
    banner = html[html.index('id="completeness"') :][:600]
    assert (
        "This report describes <b>October 2026</b>, the last complete month before November"
        in banner
    )


@pytest.mark.parametrize("month", ["2026-06", dt.date(2026, 6, 17), "2026-06-01"])
def test_month_reports_the_chosen_month(sample: pd.DataFrame, month: object, tmp_path) -> None:
    path = write_report(sample, tmp_path / "june.html", month=month)
    rep = build_report(sample, month=month)
    h = rep.headline
    # month-end close of June: the report is as of June 30 (the data goes on to November)
    assert (h.as_of, h.last_month, h.month_rule) == (
        dt.date(2026, 6, 30),
        dt.date(2026, 6, 1),
        "chosen",
    )
    assert h.last_month_cost == pytest.approx(
        naive_sum(sample, "effective_cost", "2026-06-01", "2026-07-01")
    )
    page = path.read_text(encoding="utf-8")
    assert "This report describes <b>June 2026</b>, the month asked for" in page
    assert "this report looks at it through <b>30 June 2026</b>" in page
    assert rep.meta["last_day"] == dt.date(2026, 6, 30)


def test_month_with_a_later_as_of_keeps_the_chosen_month(sample: pd.DataFrame) -> None:
    rep = build_report(sample, month="2026-06", as_of="2026-11-23")
    h = rep.headline
    assert (h.last_month, h.month, h.month_is_partial) == (
        dt.date(2026, 6, 1),
        dt.date(2026, 11, 1),
        True,
    )
    assert h.last_month_cost == pytest.approx(
        naive_sum(sample, "effective_cost", "2026-06-01", "2026-07-01")
    )
    movers = rep.tables["top_movers"]
    assert movers.attrs["cfusage"]["current"][0] == pd.Timestamp("2026-06-01", tz="UTC")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"month": "2026-11"}, "month=2026-11"),  # not complete: the data ends on the 23rd
        ({"month": "2026-10", "as_of": "2026-10-15"}, "month=2026-10"),
    ],
)
def test_an_incomplete_month_is_refused(sample: pd.DataFrame, kwargs: dict, message: str) -> None:
    with pytest.raises(cfusage.errors.DataError, match=message):
        build_report(sample, **kwargs)


def test_names_with_dollars_do_not_break_the_report(sample: pd.DataFrame, tmp_path) -> None:
    from matplotlib.text import Text

    names = ["$\\frac{1}{0$", "a$^{$b", "Plan $5 and $10"]
    df = sample.copy()
    products = df["x_product_family_name"].cat.categories
    recent = df.loc[df["charge_period_start"] >= pd.Timestamp("2026-08-01", tz="UTC")]
    by_cost = recent.groupby("x_product_family_name", observed=True)["effective_cost"].sum()
    top = by_cost.sort_values(ascending=False).index[:3]  # drawn in the charts, not in "Other"
    df["x_product_family_name"] = df["x_product_family_name"].cat.rename_categories(
        {p: n for p, n in zip(top, names, strict=True)} | {p: p for p in products if p not in top}
    )
    accounts = df["billing_account_name"].cat.categories
    df["billing_account_name"] = df["billing_account_name"].cat.rename_categories(
        {accounts[0]: "Team $x$"}
    )
    path = write_report(df, tmp_path / "r.html", as_of="2026-10-31")  # before: ValueError
    page = path.read_text(encoding="utf-8")
    assert html_escape(names[2]) in page
    rep = build_report(df, as_of="2026-10-31")
    figure = rep.figures["cost-by-product"]
    rep.png("cost-by-product")
    shown = [t._preprocess_math(t.get_text()) for t in figure.findobj(Text) if t.get_text()]
    for name in names:
        assert (name, False) in shown
    assert not any(math for _t, math in shown)
