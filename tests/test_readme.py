"""The README's column table is the schema's, word for word."""

from __future__ import annotations

from pathlib import Path

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
