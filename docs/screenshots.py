"""Regenerate the README's pictures from today's output: ``make screenshots``.

- ``docs/report.png``: ``cfusage report --sample`` rendered by headless Chromium (Playwright with
  Debian's ``/usr/bin/chromium``), the top of the page.
- ``docs/explorer.png``: the explorer in a real JupyterLab (``tests/test_browser.py`` with
  ``CFUSAGE_DOCS_SCREENSHOT=1``).

It then records, in ``docs/screenshots.json``, a fingerprint (SHA-256) of the code that draws each
picture; ``tests/test_docs.py`` fails when that code has changed since the pictures were made.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]

#: The files whose content decides what each picture shows.
SOURCES: dict[str, tuple[str, ...]] = {
    "report.png": (
        "cfusage/viz/_report.py",
        "cfusage/viz/plots.py",
        "cfusage/viz/_style.py",
        "cfusage/viz/*.css",
    ),
    "explorer.png": ("cfusage/viz/_widgets.py", "cfusage/viz/plots.py", "cfusage/viz/_style.py"),
}


def fingerprint(picture: str) -> str:
    """SHA-256 over the files that draw ``picture`` (names and contents, in order)."""
    digest = hashlib.sha256()
    for pattern in SOURCES[picture]:
        for path in sorted(REPO.glob(pattern)):
            digest.update(path.relative_to(REPO).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def report_png() -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        html = Path(tmp) / "report.html"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "cfusage",
                "report",
                "--sample",
                "--no-progress",
                "--out",
                str(html),
            ],
            check=True,
        )
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 1500})
            page.goto(html.as_uri())
            page.wait_for_timeout(300)
            page.screenshot(path=str(DOCS / "report.png"))
            browser.close()


def explorer_png() -> None:
    env = {**os.environ, "CFUSAGE_DOCS_SCREENSHOT": "1"}
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_browser.py"],
        check=True,
        cwd=REPO,
        env=env,
    )


def main() -> int:
    report_png()
    explorer_png()
    record = {name: fingerprint(name) for name in SOURCES}
    (DOCS / "screenshots.json").write_text(json.dumps(record, indent=1) + "\n")
    print("wrote docs/report.png, docs/explorer.png and docs/screenshots.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
