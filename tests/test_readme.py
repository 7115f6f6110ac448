"""The README's column table is the schema's, word for word."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cfusage.schema import markdown_table

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_column_table_is_derived_from_the_schema():
    text = README.read_text()
    start = text.index("<!-- COLUMNS:BEGIN -->") + len("<!-- COLUMNS:BEGIN -->")
    end = text.index("<!-- COLUMNS:END -->")
    assert text[start:end].strip() == markdown_table(), (
        "README column table is stale: replace it with cfusage.schema.markdown_table()"
    )


def _block(text: str, heading: str) -> str:
    section = text[text.index(heading) :]
    start = section.index("```python") + len("```python")
    return section[start : section.index("```", start)]


def test_readme_quickstart_runs_against_the_sample_api(sample_server, monkeypatch, tmp_path):
    """The quickstart, as written, with the environment pointing at the local sample API."""
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", "readme-token")
    monkeypatch.setenv("CLOUDFLARE_ORGANIZATION_ID", sample_server.org_id)
    monkeypatch.setenv("CLOUDFLARE_BASE_URL", sample_server.base_url)
    monkeypatch.setenv("CFUSAGE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    import matplotlib

    matplotlib.use("Agg")
    code = _block(README.read_text(), "## Quickstart")
    namespace: dict = {}
    exec(compile(code, "README quickstart", "exec"), namespace)
    assert len(namespace["df"]) > 0
    assert (tmp_path / "report.html").stat().st_size > 10_000


def test_readme_one_line_examples_run_on_the_sample():
    """Every `cfusage.<helper>(df, ...)` example in the README's helper tables runs."""
    import re

    import cfusage

    df = cfusage.sample.load()
    text = README.read_text()
    examples = re.findall(r"^\| `\w+`(?: / `\w+`)? \| `(cfusage\.[^`]+)`", text, flags=re.M)
    assert len(examples) >= 12, examples
    for example in examples:
        result = eval(example, {"cfusage": cfusage, "df": df})
        assert result is not None and len(result) > 0, example


def test_readme_figures_are_the_codes():
    """The figures the README quotes about the sample, computed here from the sample."""
    import datetime as dt

    import pandas as pd

    import cfusage
    from cfusage.viz._style import partial_periods

    text = " ".join(README.read_text().split())
    df = cfusage.sample.load()
    everything = float(df["list_cost"].sum())
    usage = float(df.loc[df["charge_category"].astype("str") == "Usage", "list_cost"].sum())
    purchase = everything - usage
    assert f"The summary's list cost ({everything:,.2f}) is the usage rows' ({usage:,.2f})" in text
    assert f"plus the ${purchase:,.0f} purchase" in text
    first = df["charge_period_start"].min().date()
    last = df.attrs["cfusage"]["complete_through"]
    weeks = partial_periods(
        [pd.Timestamp(first) - pd.Timedelta(days=first.weekday())],
        "W",
        first_day=first,
        last_day=last,
    )
    months = partial_periods(
        [pd.Timestamp(last.replace(day=1))], "MS", first_day=first, last_day=last
    )
    assert f"first week has {weeks['covered'].iloc[0]} of its 7 days" in text
    assert f"its November {months['covered'].iloc[0]} of {months['days'].iloc[0]}" in text
    assert last == dt.date(2026, 11, 23) and "through 2026-11-23" in text
    assert f"{len(df):,}" == "19,621" and df["billing_account_name"].nunique() == 5
    assert "five accounts, 20 billable metrics" in text
    assert (
        df.loc[df["charge_category"].astype("str") == "Usage", "x_billable_metric_id"].nunique()
        == 20
    )


def test_readme_defaults_are_the_signatures():
    """The defaults the README states, read from the code."""
    import inspect

    import cfusage

    text = " ".join(README.read_text().split())
    client = inspect.signature(cfusage.Client).parameters
    assert client["deadline"].default == 300.0 and "`deadline=` (default 300 s)" in text
    assert client["timeout"].default == 60.0 and "`timeout=` (60 s)" in text
    assert client["max_response_bytes"].default == 2 * 1024**3
    assert "`max_response_bytes=` (default 2 GiB" in text
    assert client["concurrency"].default == 4 and "30-day windows, 4 at a time" in text
    server = inspect.signature(cfusage.SampleServer).parameters
    assert server["max_requests"].default == 10_000 and "latest 10,000 requests" in text
    burndown = inspect.signature(cfusage.commitment_burndown).parameters
    assert burndown["rate_window"].default == 30 and "the last 30 days" in text


def _blocks(text: str, heading: str) -> list[str]:
    """The python blocks of a README section (up to the next ``## `` heading)."""
    section = text[text.index(heading) + len(heading) :]
    section = section[: section.index("\n## ")]
    parts = section.split("```python")[1:]
    return [p[: p.index("```")] for p in parts]


def test_readme_engine_examples_run(tmp_path, monkeypatch):
    """The three examples of "Bigger than one machine", as written: DuckDB over a store synced
    from the sample, Polars over FOCUS exports, Spark over a table (a temporary view here); each
    result equals the pandas helper on the same rows."""
    import shutil

    import cfusage
    from tests.engines import SPARK_MISSING, as_engine, assert_same, spark_session

    blocks = _blocks(README.read_text(), "## Bigger than one machine")
    assert len(blocks) == 3
    df = cfusage.sample.load()
    df.attrs.clear()

    class Sample:  # what Store.sync needs of a client
        def usage(self, start, end):
            day = df["charge_period_start"].dt.date
            return df[(day >= start) & (day <= end)]

    monkeypatch.chdir(tmp_path)
    first, last = df["charge_period_start"].min().date(), df["charge_period_start"].max().date()
    cfusage.Store("usage-store").sync(
        Sample(), first, last, now=pd.Timestamp("2027-01-01", tz="UTC")
    )
    ns: dict = {}
    exec(compile(blocks[0], "README duckdb", "exec"), ns)
    assert_same(ns["by_product"], cfusage.discounts(df, by="product", freq="MS"), "duckdb")

    data = Path(__file__).parent / "data" / "focus"
    (tmp_path / "focus-exports").mkdir()
    for name in ("focus_1_3_cost_and_usage_aws.csv", "focus_1_3_cost_and_usage_gcp.csv"):
        shutil.copy(data / name, tmp_path / "focus-exports" / name)
    ns = {}
    exec(compile(blocks[1], "README polars", "exec"), ns)
    both = cfusage.to_frame(sorted((tmp_path / "focus-exports").iterdir()))
    want = cfusage.period_over_period(both, by="service", freq="D")
    assert_same(ns["change"], want, "polars")

    if SPARK_MISSING:
        pytest.skip(SPARK_MISSING)
    columns = [
        "charge_period_start",
        "charge_period_end",
        "billing_currency",
        "x_product_family_name",
        "x_billable_metric_id",
        "consumed_quantity",
        "consumed_unit",
        "pricing_quantity",
        "pricing_unit",
        "effective_cost",
        "charge_category",
    ]
    as_engine(df[columns], "spark").createOrReplaceTempView("cloudflare_usage")
    spark_session()  # the README's builder gets this session
    ns = {}
    exec(compile(blocks[2], "README spark", "exec"), ns)
    assert_same(ns["scores"], cfusage.anomalies(df[columns], by="product"), "spark")
