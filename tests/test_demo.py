"""``make demo`` prints and reports the same month: the last complete month of the data."""

from __future__ import annotations

import datetime as dt

import matplotlib

matplotlib.use("Agg")

import pandas as pd
import pytest

import cfusage.sample
from cfusage.sample import demo


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return cfusage.sample.load()


def run(monkeypatch, capsys, frame: pd.DataFrame, tmp_path, *args: str) -> tuple[str, str]:
    monkeypatch.setattr(demo, "fetch_sample", lambda **_: frame)  # the server path has its tests
    out = tmp_path / "report.html"
    assert demo.main(["--out", str(out), *args]) == 0
    return capsys.readouterr().out, out.read_text(encoding="utf-8")


def test_demo_on_data_ending_in_a_partial_month_reports_the_month_before(
    sample, monkeypatch, capsys, tmp_path
) -> None:
    printed, page = run(monkeypatch, capsys, sample, tmp_path)  # complete through 2026-11-23
    assert "Effective cost, October 2026 against the month before" in printed
    assert "Report of October 2026 written to" in printed
    assert (
        "This report describes <b>October 2026</b>, the last complete month before November" in page
    )


def test_demo_on_data_ending_on_a_month_end_reports_that_month(
    sample, monkeypatch, capsys, tmp_path
) -> None:
    june = sample.loc[sample["charge_period_start"] < pd.Timestamp("2026-07-01", tz="UTC")].copy()
    june.attrs = {"cfusage": {"complete_through": dt.date(2026, 6, 30)}}
    printed, page = run(monkeypatch, capsys, june, tmp_path)
    # before: the demo printed June while its report described May
    assert "Effective cost, June 2026 against the month before" in printed
    assert "This report describes <b>June 2026</b>, the last complete month" in page


def test_demo_month_option(sample, monkeypatch, capsys, tmp_path) -> None:
    printed, page = run(monkeypatch, capsys, sample, tmp_path, "--month", "2026-03")
    assert "Effective cost, March 2026 against the month before" in printed
    assert "This report describes <b>March 2026</b>, the month asked for" in page


def test_demo_report_shows_the_sample_commitment(sample, monkeypatch, capsys, tmp_path) -> None:
    _printed, page = run(monkeypatch, capsys, sample, tmp_path)
    commitment = page[page.index('<section id="commitment">') :]
    commitment = commitment[: commitment.index("</section>")]
    # the sample's 12-month prepaid term ended on 31 October 2026, before the data's end
    assert "the term ended on 31 October 2026" in commitment
    assert "No commitments were given" not in commitment


def test_demo_explains_the_two_list_costs_and_the_zero_commitment_savings(
    sample, monkeypatch, capsys, tmp_path
) -> None:
    printed, _ = run(monkeypatch, capsys, sample, tmp_path)
    everything = sample["list_cost"].sum()
    usage = sample.loc[sample["charge_category"].astype("str") == "Usage", "list_cost"].sum()
    assert f"list_cost: USD {everything:,.2f}" in printed
    assert f"list cost             USD     {usage:,.2f}" in printed
    assert f"higher by {everything - usage:,.2f}: the commitment purchase" in printed
    assert "Commitment savings are 0 because the commitment is a prepaid balance" in printed
