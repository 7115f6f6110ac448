"""An installed copy works: build the wheel, install it into a fresh venv, use it from there.

The venv is made with uv from the machine's own interpreter and filled from uv's package cache
only (``--offline``: the dependencies are already cached by ``make env``), so the test needs no
network. It runs ``cfusage.sample.load()``, ``cfusage report --sample`` and ``cfusage
serve-sample`` from the installed copy, in a directory that is not the checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def _uv() -> list[str]:
    """uv as make installs it: on PATH, or as a module of the machine's own Python."""
    candidates = [
        [shutil.which("uv") or "uv"],
        [getattr(sys, "_base_executable", sys.executable), "-m", "uv"],
    ]
    for command in candidates:
        try:
            subprocess.run([*command, "--version"], check=True, capture_output=True)
        except (subprocess.CalledProcessError, FileNotFoundError):
            continue
        return command
    pytest.skip("uv is not installed (make env installs it)")


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The bin/ directory of a fresh venv holding the wheel built from this checkout."""
    uv = _uv()
    work = tmp_path_factory.mktemp("wheel")
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    env.pop("VIRTUAL_ENV", None)
    subprocess.run(
        [*uv, "build", "--wheel", "--out-dir", str(work / "dist"), str(ROOT)],
        check=True,
        capture_output=True,
        env=env,
    )
    (wheel,) = (work / "dist").glob("cfusage-*.whl")
    # The locked runtime dependencies (no dev group, no extras), from uv's cache: a copy of
    # pyproject.toml and uv.lock synced into a new environment without the project itself...
    project = work / "project"
    project.mkdir()
    for name in ("pyproject.toml", "uv.lock", "README.md"):
        shutil.copy(ROOT / name, project / name)
    venv = work / "venv"
    sync = subprocess.run(
        [*uv, "sync", "--frozen", "--offline", "--no-dev", "--no-install-project"],
        cwd=project,
        capture_output=True,
        text=True,
        env={
            **env,
            "UV_PROJECT_ENVIRONMENT": str(venv),
            "UV_PYTHON": os.environ.get("UV_PYTHON", sys.executable),
        },
    )
    assert sync.returncode == 0, sync.stderr
    bin_dir = venv / "bin"
    # ... then the wheel, as a user's pip would install it.
    result = subprocess.run(
        [
            *uv,
            "pip",
            "install",
            "--offline",
            "--no-deps",
            "--python",
            str(bin_dir / "python"),
            str(wheel),
        ],
        capture_output=True,
        env=env,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    return bin_dir


def _run(bin_dir: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, env=env, timeout=300
    )


def test_the_wheel_carries_the_sample_and_the_price_book(installed, tmp_path):
    code = (
        "import cfusage, pathlib; df = cfusage.sample.load(); "
        "p = pathlib.Path(cfusage.__file__); "
        "assert 'site-packages' in str(p), p; "
        "assert cfusage.sample.price_book_path().is_file(); "
        "print(len(df), df['billing_account_name'].nunique())"
    )
    result = _run(installed, installed / "python", "-c", code, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["19621", "5"]


def test_cfusage_report_sample_from_the_installed_copy(installed, tmp_path):
    result = _run(
        installed,
        installed / "cfusage",
        "report",
        "--sample",
        "--no-progress",
        "--out",
        tmp_path / "report.html",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<html" in html.lower() and "Cloudflare spend" in html


def test_cfusage_serve_sample_from_the_installed_copy_answers(installed, tmp_path):
    proc = subprocess.Popen(
        [str(installed / "cfusage"), "serve-sample", "--port", "0"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        url = None
        assert proc.stdout is not None
        while time.monotonic() < deadline and url is None:
            line = proc.stdout.readline()
            if not line:
                break
            for word in line.split():
                if word.startswith("http://127.0.0.1:"):
                    url = word.rstrip(".,")
        assert url, "serve-sample printed no address"
        from cfusage.sample import ORG_ID

        request = urllib.request.Request(
            f"{url.rstrip('/')}/organizations/{ORG_ID}/billable/usage"
            "?from=2026-03-01&to=2026-03-02",
            headers={"Authorization": "Bearer test-token"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200
            assert b'"success":true' in response.read().replace(b" ", b"")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
