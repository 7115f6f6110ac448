"""The report does not mislead (issue 13 §1) and has a Commitment section (§2).

Checked on the rendered HTML and the figures the report drew; figures the section quotes are
recomputed from :func:`cfusage.amortize_commitment` (what the commitment covered, row by row).
"""

from __future__ import annotations

import datetime as dt
import re
import warnings

import matplotlib

matplotlib.use("Agg")

import openpyxl
import pandas as pd
import pytest

import cfusage
import cfusage.sample
from cfusage.viz import _report


def build(frame, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cfusage.build_report(frame, **kwargs)


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return cfusage.sample.load()


@pytest.fixture(scope="module")
def report(sample):
    return build(sample, commitments=cfusage.sample.COMMITMENTS, budget=40_000)


@pytest.fixture(scope="module")
def page(report) -> str:
    return report.to_html()


def section(page: str, section_id: str) -> str:
    match = re.search(f'<section id="{section_id}">(.*?)</section>', page, re.S)
    assert match, section_id
    return match.group(1)


def legend(fig) -> list[str]:
    return [t.get_text() for t in fig.axes[0].get_legend().get_texts()]


# --------------------------------------------------------------------------------------------
# The cost tables list the chart's series
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("figure", "table", "by"),
    [
        ("cost-by-product", "cost_by_product", "product"),
        ("cost-by-account", "cost_by_account", "account"),
    ],
)
def test_cost_table_lists_the_series_the_chart_draws(report, figure, table, by) -> None:
    drawn = legend(report.figures[figure])
    rows = report.tables[table][by].tolist()
    assert rows[-1] == "Total"
    named = [r for r in rows[:-1] if r != "Other"]
    assert sorted(named) == sorted(n for n in drawn if n != "Other")  # the same N, the same set
    assert ("Other" in rows) == ("Other" in drawn)
    assert len(named) <= _report.TOP


def test_the_product_chart_and_table_use_the_same_n(report) -> None:
    # the sample has more product families than TOP: 6 + Other in both (before: 6 and 8)
    rows = report.tables["cost_by_product"]["product"].tolist()
    assert len(rows) == _report.TOP + 2 and rows[-2:] == ["Other", "Total"]
    assert len(legend(report.figures["cost-by-product"])) == _report.TOP + 1


def test_a_series_too_small_to_see_is_said_so_in_the_table(report, page, sample) -> None:
    # by hand: the account's largest daily bar against the tallest daily stack of the chart
    h = report.headline
    first = pd.Timestamp(dt.date(2026, 9, 1), tz="UTC")
    end = pd.Timestamp(h.as_of, tz="UTC") + pd.Timedelta(days=1)
    part = sample[(sample.charge_period_start >= first) & (sample.charge_period_start < end)]
    per_day = (
        part.groupby(["charge_period_start", "billing_account_name"], observed=True)[
            "effective_cost"
        ]
        .sum()
        .unstack()
    )
    tallest = float(per_day.clip(lower=0).sum(axis=1).max())
    small = per_day.max() / tallest
    assert float(small["Acme Staging"]) < 0.004 and (small.drop("Acme Staging") > 0.004).all()
    body = section(page, "cost-by-account")
    assert 'Acme Staging <span class="small-note">(too small to see in the chart)</span>' in body
    assert body.count("too small to see in the chart") == 1
    assert "too small to see" not in section(page, "cost-by-product")


# --------------------------------------------------------------------------------------------
# Budget table, ESR headline, discounts waterfall, no negative zero
# --------------------------------------------------------------------------------------------


def test_every_budget_column_has_a_label(page) -> None:
    headers = re.findall(r"<th>(.*?)</th>", section(page, "budget"), re.S)
    assert headers and all(h.strip() for h in headers), headers
    assert "Status" in headers


def test_esr_over_contract_of_zero_says_why(report, page) -> None:
    assert report.headline.esr_over_contract == pytest.approx(0.0, abs=5e-4)
    head = section(page, "headline")
    assert "0 is expected: the commitment is a prepaid purchase" in head
    assert "see Commitment below" in head


def test_the_report_waterfall_draws_prepaid_as_no_saving(report) -> None:
    from matplotlib.colors import to_hex

    from cfusage.viz._style import NEGATIVE, NEUTRAL

    ax = report.figures["discounts"].axes[0]
    bar = next(p for p in ax.patches if p.get_gid() == "bar:Prepaid &\ntiming")
    assert to_hex(bar.get_facecolor()) == NEUTRAL.lower() != NEGATIVE.lower()


def test_no_negative_zero_or_exponent_reaches_the_page(page) -> None:
    text = re.sub(r"<[^>]+>", " ", re.sub(r'src="data:[^"]+"', "", page))
    assert not re.search(r"[-−]\$?0(\.0+)?(?![\d.,])", text)
    assert not re.search(r"\d[eE][-+]\d", text)


# --------------------------------------------------------------------------------------------
# Commitment section
# --------------------------------------------------------------------------------------------


def test_commitment_section_quotes_the_burndown(report, sample) -> None:
    h = report.headline
    row = report.tables["commitment"].iloc[0]
    # by hand, from what amortize_commitment allocated to the commitment through as_of
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        alloc = cfusage.amortize_commitment(sample, commitments=cfusage.sample.COMMITMENTS)
    end = pd.Timestamp(h.as_of, tz="UTC") + pd.Timedelta(days=1)
    used = alloc[
        (alloc["commitment_status"].astype("str") == "Used") & (alloc["charge_period_start"] < end)
    ]
    drawn = float(used["amortized_commitment_cost"].sum())
    assert row["amount"] == 60_000
    assert row["drawn_to_date"] == pytest.approx(drawn, abs=1e-6)
    assert row["balance"] == pytest.approx(60_000 - drawn, abs=1e-6)
    # the term (1 Nov 2025 to 31 Oct 2026) is over on 23 Nov: the unused is what is left
    assert row["term_over"] and row["days_left"] == 0
    assert row["projected_unused"] == pytest.approx(60_000 - drawn, abs=1e-6)
    assert pd.isna(row["exhausted_on"])


def test_commitment_section_renders_its_figures_and_chart(report, page) -> None:
    body = section(page, "commitment")
    row = report.tables["commitment"].iloc[0]
    unused = cfusage.plots.format_money(round(row["projected_unused"], 2), "USD", compact=False)
    assert "the term ended on 31 October 2026" in body
    assert f"{unused} unused" in body
    assert "<img" in body
    ax = report.figures["commitment"].axes[0]
    assert ax.lines[0].get_gid() == "balance"
    title = ax.get_title(loc="left")
    assert "unused at term end" in title and "projected" not in title


def test_commitment_mid_term_shows_projection_and_balance_left(sample) -> None:
    june = build(sample, commitments=cfusage.sample.COMMITMENTS, month="2026-06")
    row = june.tables["commitment"].iloc[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        burn = cfusage.commitment_burndown(
            sample, commitments=cfusage.sample.COMMITMENTS, as_of="2026-06-30"
        )
    assert row["balance"] == pytest.approx(
        float(burn.loc[burn["period"] == pd.Timestamp("2026-06-30", tz="UTC"), "balance"].iloc[0])
    )
    assert row["drawdown_rate"] == pytest.approx(float(burn["drawdown_rate"].iloc[0]))
    assert row["projected_balance_at_end"] == pytest.approx(
        float(burn["projected_balance_at_end"].iloc[0])
    )
    assert (
        not row["term_over"]
        and row["days_left"] == (dt.date(2026, 10, 31) - dt.date(2026, 6, 30)).days
    )
    body = section(june.to_html(), "commitment")
    assert "left on 30 June 2026" in body and "projected to end the term with" in body
    ax = june.figures["commitment"].axes[0]
    gids = [line.get_gid() for line in ax.lines]
    assert "projected" in gids and "as-of" in gids
    left = cfusage.plots.format_money(row["balance"], "USD")
    assert [t.get_text() for t in ax.texts if t.get_gid() == "balance-note"] == [
        f"{left} left on 30 Jun 2026"
    ]
    end = cfusage.plots.format_money(row["projected_balance_at_end"], "USD")
    assert [t.get_text() for t in ax.texts if t.get_gid() == "end-balance"] == [end]


def test_commitment_that_runs_out_says_when() -> None:
    days = pd.date_range("2026-01-01", "2026-01-10", tz="UTC")
    usage = pd.DataFrame(
        {
            "charge_period_start": days,
            "charge_category": pd.Categorical(["Usage"] * len(days)),
            "billing_currency": pd.Categorical(["USD"] * len(days)),
            "x_product_family_name": pd.Categorical(["Workers"] * len(days)),
            "contracted_cost": pd.array([10.0] * len(days), dtype="Float64"),
            "effective_cost": pd.array([10.0] * len(days), dtype="Float64"),
        }
    )
    commitment = pd.DataFrame(
        {
            "commitment_id": ["c1"],
            "kind": ["prepaid_balance"],
            "amount": [150.0],
            "currency": ["USD"],
            "term_start": pd.to_datetime(["2026-01-01"], utc=True),
            "term_end": pd.to_datetime(["2026-02-01"], utc=True),
        }
    )
    r = build(usage, commitments=commitment)
    row = r.tables["commitment"].iloc[0]
    # $10 a day from $150: $50 left after 10 days, gone 5 days later (end of 15 January)
    assert row["balance"] == pytest.approx(50.0)
    assert row["drawdown_rate"] == pytest.approx(10.0)
    assert pd.Timestamp(row["exhausted_on"]).date() == dt.date(2026, 1, 15)
    assert "it runs out on 15 January 2026" in section(r.to_html(), "commitment")


def test_without_commitments_the_section_says_how_to_give_them(sample) -> None:
    page = build(sample).to_html()
    body = section(page, "commitment")
    assert "No commitments were given" in body and "commitments=" in body
    assert "cfusage.sample.COMMITMENTS" in body
    assert "Not available for this data" not in body


def test_commitment_table_is_an_excel_sheet(report, tmp_path) -> None:
    path = report.save(tmp_path / "r.xlsx")
    sheet = openpyxl.load_workbook(path)["commitment"]
    rows = list(sheet.iter_rows(values_only=True))
    table = report.tables["commitment"]
    assert list(rows[0]) == list(table.columns)
    got = dict(zip(rows[0], rows[1], strict=True))
    want = table.iloc[0]
    for c in ("amount", "drawn_to_date", "balance", "drawdown_rate", "projected_unused"):
        assert got[c] == pytest.approx(float(want[c]), abs=1e-9), c
    assert got["last_day"] == dt.datetime(2026, 10, 31)
    assert got["commitment"] == "Prepaid commitment: Workers and R2, 12 months"
