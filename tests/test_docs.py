"""The README's pictures show today's output: they were made from the code that draws them now."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _screenshots():
    spec = importlib.util.spec_from_file_location("screenshots", REPO / "docs" / "screenshots.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_pictures_are_newer_than_the_code_that_draws_them():
    shots = _screenshots()
    recorded = json.loads((REPO / "docs" / "screenshots.json").read_text())
    readme = (REPO / "README.md").read_text()
    for picture in shots.SOURCES:
        assert f"docs/{picture}" in readme
        assert (REPO / "docs" / picture).stat().st_size > 20_000
        assert recorded.get(picture) == shots.fingerprint(picture), (
            f"docs/{picture} was made from older code: run `make screenshots`"
        )
