"""The explorer in a real JupyterLab, driven by headless Chromium (Playwright).

Starts JupyterLab on loopback with a random token in a temporary root, writes a notebook that loads
the sample frame and calls ``explore(df)``, runs it in the browser, picks one product family in the
filter and checks that the rendered total changes to the right amount. Every process started here
(the server, its kernels, the browser) is stopped in teardown, even when the test fails.

Set ``CFUSAGE_DOCS_SCREENSHOT=1`` to also write the screenshot to ``docs/explorer.png``.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import nbformat
import pytest

CHROMIUM = "/usr/bin/chromium"
REPO = Path(__file__).resolve().parents[1]
JUPYTER = Path(sys.executable).with_name("jupyter")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(240)]


@dataclass
class Lab:
    url: str
    token: str
    root: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM if pytest itself is killed (Linux prctl)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _children(pid: int) -> list[int]:
    """Pids whose parent is ``pid`` (the kernels the server launched in their own sessions)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == pid:
                found.append(int(entry.name))
    return found


def _stop(proc: subprocess.Popen, lab: Lab | None) -> None:
    """Shut the server down (it stops its kernels), then make sure every pid we know is gone."""
    kernels = _children(proc.pid)
    if lab is not None and proc.poll() is None:
        with contextlib.suppress(httpx.HTTPError):
            httpx.post(
                f"{lab.url}/api/shutdown",
                headers={"Authorization": f"token {lab.token}"},
                timeout=5,
            )
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    for pid in kernels:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium not installed: apt-get install chromium")
    root = tmp_path / "root"
    root.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    port, token = _free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "HOME": str(home),
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
        "MPLBACKEND": "Agg",
        "PYTHONPATH": str(REPO),
    }
    cmd = [
        str(JUPYTER),
        "lab",
        "--no-browser",
        f"--port={port}",
        f"--IdentityProvider.token={token}",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.port_retries=0",
        "--LabApp.news_url=",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
    ]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    # no "Jupyter news?" toast over the explorer
    notification = home / "settings" / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True)
    (notification / "notification.jupyterlab-settings").write_text(
        '{"fetchNews": "false", "checkForUpdates": false}'
    )
    log = (tmp_path / "lab.log").open("wb")
    proc = subprocess.Popen(
        cmd,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=_die_with_parent if sys.platform == "linux" else None,
    )
    info = Lab(f"http://127.0.0.1:{port}", token, root)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"jupyter lab exited:\n{(tmp_path / 'lab.log').read_text()[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                r = httpx.get(f"{info.url}/api/status", params={"token": token}, timeout=2)
                if r.status_code == 200:
                    break
            if time.monotonic() > deadline:
                pytest.fail("jupyter lab did not answer /api/status within 60 s")
            time.sleep(0.5)
        yield info
    finally:
        _stop(proc, info)
        log.close()


def _write_notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import cfusage.sample\n"
            "from cfusage.viz._widgets import explore\n\n"
            "df = cfusage.sample.load()\n"
            'explorer = explore(df, export_dir=".", freq="week", by="product")\n'
            "explorer"
        )
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    nbformat.write(nb, path)


def _expected() -> tuple[str, str, int]:
    """The totals the page should show and the R2 record count, computed with plain pandas."""
    from cfusage import sample
    from cfusage.plots import format_money

    df = sample.load()
    total = df["effective_cost"].sum()
    r2 = df[df["x_product_family_name"] == "R2"]
    return (
        format_money(total, "USD", compact=False),
        format_money(r2["effective_cost"].sum(), "USD", compact=False),
        len(r2),
    )


def test_explorer_renders_and_reacts_in_jupyterlab(lab: Lab, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    _write_notebook(lab.root / "explore.ipynb")
    all_total, r2_total, r2_rows = _expected()

    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1180})
            page.set_default_timeout(90_000)
            page.goto(f"{lab.url}/lab/tree/explore.ipynb?token={lab.token}&reset")
            page.wait_for_selector(".jp-NotebookPanel .jp-Cell", state="visible")
            # JupyterLab may ask which kernel to start: take the notebook's own (python3)
            with contextlib.suppress(sync_api.TimeoutError):
                page.click(".jp-Dialog .jp-mod-accept", timeout=5_000)
            # wait for the kernel, then run every cell through the menu, as a person would
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']")
            page.click(".lm-MenuBar-itemLabel:text-is('Run')")
            page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")

            explorer = page.wait_for_selector(".cfusage-explorer", state="visible")
            total = page.locator(".cfusage-total-value")
            assert total.inner_text() == all_total
            page.wait_for_selector(".cfusage-chart img")

            # pick one product family in the filter: the summary follows
            page.select_option(".cfusage-filter-product select", "R2")
            page.wait_for_function(
                "t => document.querySelector('.cfusage-total-value').innerText === t",
                arg=r2_total,
            )
            assert total.inner_text() == r2_total
            assert "R2" in page.locator(".cfusage-summary table").inner_text()

            # export the selection: the kernel writes the CSV next to the notebook
            page.click(".cfusage-explorer button:has-text('Export CSV')")
            exported = page.wait_for_selector(".cfusage-export-path")
            csv = lab.root / Path(exported.inner_text()).name
            assert csv.exists()
            assert len(csv.read_text().splitlines()) == r2_rows + 1  # header + R2 records

            # back to everything, for the screenshot
            page.click(".cfusage-explorer button:has-text('Clear filters')")
            page.wait_for_function(
                "t => document.querySelector('.cfusage-total-value').innerText === t",
                arg=all_total,
            )
            page.eval_on_selector_all(
                ".cfusage-explorer select", "els => els.forEach(e => { e.scrollTop = 0; })"
            )
            page.click(".jp-SideBar [data-id='filebrowser']")  # fold the file browser away
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']")
            page.wait_for_timeout(500)
            explorer.scroll_into_view_if_needed()
            shot = tmp_path / "explorer.png"
            page.screenshot(path=str(shot))
            assert shot.stat().st_size > 20_000
            if os.environ.get("CFUSAGE_DOCS_SCREENSHOT"):
                (REPO / "docs").mkdir(exist_ok=True)
                shutil.copyfile(shot, REPO / "docs" / "explorer.png")
        except Exception:
            # keep what the page looked like, for the failure report
            with contextlib.suppress(Exception):
                page.screenshot(path=str(tmp_path / "failure.png"))
                print(f"screenshot of the failure: {tmp_path / 'failure.png'}")
            raise
        finally:
            browser.close()
