"""Exports meant for people never run as spreadsheet formulas; the FOCUS export stays verbatim.

The rule (OWASP, CSV injection): a text cell starting with = + - @ tab or CR gets a single quote in
front; numbers stay numbers. Expectations are written out by hand.
"""

from __future__ import annotations

import csv
import datetime as dt
import pathlib

import matplotlib

matplotlib.use("Agg")

import pandas as pd
import pytest

import cfusage.sample
from cfusage import cli
from cfusage.io import neutralize_formulas, to_focus

HOSTILE = [
    '=HYPERLINK("http://evil.example","click")',
    "=cmd|' /C calc'!A0",
    "+SUM(1,2)",
    "-2+3",
    "@SUM(A1:A2)",
    "\tTAB",
    "\rCR",
]
PLAIN = ["Acme Prod", "a=b", "R2 + Workers", "", "x-y"]


def test_neutralize_formulas_quotes_formula_cells_only() -> None:
    frame = pd.DataFrame(
        {
            "name": pd.Series([*HOSTILE, *PLAIN], dtype=object),
            "category": pd.Categorical([*HOSTILE, *PLAIN]),
            "text": pd.Series([*HOSTILE, *PLAIN], dtype="string"),
            "cost": [-1.5, 2.0, -0.0, 3.0, -4.0, 5.0, 6.0, 7.0, 8.0, 9.0, -10.0, 11.0],
        }
    )
    out = neutralize_formulas(frame)
    expected = ["'" + h for h in HOSTILE] + PLAIN
    assert out["name"].tolist() == expected
    assert out["category"].astype(str).tolist() == expected
    assert isinstance(out["category"].dtype, pd.CategoricalDtype)
    assert out["text"].astype(str).tolist() == expected
    assert out["cost"].tolist() == frame["cost"].tolist()  # numbers stay numbers, sign and all
    assert frame["name"].tolist() == [*HOSTILE, *PLAIN]  # the caller's frame is not changed


def test_neutralize_formulas_keeps_missing_values_and_other_types() -> None:
    frame = pd.DataFrame(
        {
            "name": pd.Series(["=1", None, "ok"], dtype=object),
            "tags": [{"team": "=x"}, None, {}],
            "when": pd.to_datetime(["2026-03-01", None, "2026-03-02"], utc=True),
            "flag": [True, False, True],
            "=col": [1, 2, 3],
        }
    )
    out = neutralize_formulas(frame)
    assert out["name"].tolist()[0] == "'=1" and pd.isna(out["name"].iloc[1])
    assert out["tags"].tolist() == frame["tags"].tolist()  # not text: the CSV writer's job
    pd.testing.assert_series_equal(out["when"], frame["when"])
    assert out["flag"].tolist() == [True, False, True]
    assert list(out.columns) == ["name", "tags", "when", "flag", "'=col"]


@pytest.fixture(scope="module")
def hostile_sample() -> pd.DataFrame:
    df = cfusage.sample.load()
    df = df.loc[df["charge_period_start"] >= pd.Timestamp("2026-11-20", tz="UTC")].copy()
    names = df["billing_account_name"].cat.categories
    renamed = {old: new for old, new in zip(names, HOSTILE, strict=False)}
    df["billing_account_name"] = df["billing_account_name"].cat.rename_categories(renamed)
    return df


def read_cells(path: pathlib.Path, column: str) -> set[str]:
    with path.open(newline="", encoding="utf-8") as f:
        return {row[column] for row in csv.DictReader(f)}


def test_fetch_out_csv_neutralises_formula_cells(hostile_sample, tmp_path) -> None:
    path = tmp_path / "usage.csv"
    cli._write_frame(hostile_sample, path, "csv")  # what `cfusage fetch --out x.csv` writes
    names = read_cells(path, "billing_account_name")
    used = set(hostile_sample["billing_account_name"].astype(str))
    assert names == {"'" + n if n in HOSTILE else n for n in used}
    assert not any(n.startswith(("=", "+", "-", "@")) for n in names)
    with path.open(newline="", encoding="utf-8") as f:
        costs = [row["effective_cost"] for row in csv.DictReader(f)]
    assert all(c == "" or float(c) == float(c) for c in costs)  # still plain numbers


def test_focus_export_stays_verbatim(hostile_sample, tmp_path) -> None:
    path = tmp_path / "focus.csv"
    to_focus(hostile_sample, path)
    text = path.read_text(encoding="utf-8")
    used = [n for n in hostile_sample["billing_account_name"].astype(str).unique() if n in HOSTILE]
    assert used
    for name in used:
        if name[0] not in "\t\r":  # whitespace is quoted or kept by the CSV writer, never prefixed
            assert "'" + name not in text
    focus = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert set(used) <= set(focus["BillingAccountName"])


def test_report_month_on_the_command_line(tmp_path, capsys) -> None:
    out = tmp_path / "june.html"
    code = cli.main(
        ["report", "--sample", "--month", "2026-06", "--out", str(out), "--no-progress"]
    )
    assert code == 0, capsys.readouterr().err
    page = out.read_text(encoding="utf-8")
    assert "This report describes <b>June 2026</b>, the month asked for" in page
    assert f"{dt.date(2026, 6, 30):%d %b %Y}" in page
    # --sample passes the sample's commitments: the Commitment section shows its balance
    commitment = page[page.index('<section id="commitment">') :]
    commitment = commitment[: commitment.index("</section>")]
    assert "Prepaid commitment: Workers and R2, 12 months" in commitment
    assert "left on 30 June 2026" in commitment and "No commitments were given" not in commitment


def test_report_month_that_is_not_complete_exits_2(tmp_path, capsys) -> None:
    out = tmp_path / "nov.html"
    code = cli.main(
        ["report", "--sample", "--month", "2026-11", "--out", str(out), "--no-progress"]
    )
    assert code == 2
    assert "month=2026-11" in capsys.readouterr().err
    assert not out.exists()


def test_report_against_a_server_without_costs_degrades_section_by_section(
    tmp_path, capsys, monkeypatch
) -> None:
    from cfusage.sample import SampleServer

    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", "sample-token")
    monkeypatch.setenv("CFUSAGE_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "no-costs.html"
    with SampleServer(port=0, costs=False) as srv:  # `cfusage serve-sample --no-costs`
        args = ["report", "--org", srv.org_id, "--base-url", srv.base_url, "--no-progress"]
        args += ["--from", "2026-09-01", "--to", "2026-10-31", "--out", str(out), "--no-cache"]
        code = cli.main(args)
    assert code == 0, capsys.readouterr().err  # before: exit 2, no report
    page = out.read_text(encoding="utf-8")
    sections = ["cost-by-product", "cost-by-account", "variance", "top-movers", "anomalies"]
    for section in [*sections, "discounts", "headline", "about"]:
        assert f'id="{section}"' in page, section
    assert page.count("Not available for this data") == 6
    assert "Headline figures not available for this data" in page
    assert "This report describes <b>October 2026</b>" in page
