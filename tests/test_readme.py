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
