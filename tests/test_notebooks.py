"""Run every example notebook (nbclient) and check how it is committed.

Each notebook gets its own test (``test_notebook_runs[01_quickstart]``...), executed in a temporary
working directory with a random API token substituted for the sample one, so that the test can
check that the token appears in no output. The notebooks are committed without outputs; a test
checks that too.
"""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))
SAMPLE_TOKEN = 'token="sample"'
CHECK_HEADING = "The figures quoted above, checked against the computed values"
PRIVATE_NAME = re.compile(r"\bcfusage(?:\.[A-Za-z]\w*)*\._\w+|\bfrom cfusage(?:\.\w+)* import _\w+")


def _repo_files() -> set[Path]:
    return {p for p in NOTEBOOKS.rglob("*")} | {
        p for p in NOTEBOOKS.parent.joinpath("cfusage", "sample", "data").rglob("*")
    }


def test_there_are_seven_notebooks() -> None:
    assert [p.stem[:2] for p in PATHS] == ["01", "02", "03", "04", "05", "06", "07"]


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, "a notebook without code"
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    # prose, not only code: at least a third of the cells explain
    assert sum(c.cell_type == "markdown" for c in nb.cells) >= len(nb.cells) / 3
    text = "".join(c.source for c in nb.cells)
    assert "CLOUDFLARE_API_TOKEN" in text and "CLOUDFLARE_ORGANIZATION_ID" in text
    assert SAMPLE_TOKEN in code[0].source or SAMPLE_TOKEN in "".join(c.source for c in code[:3])
    assert "srv.stop()" in code[-1].source


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_notebook_ends_by_checking_the_figures_its_prose_quotes(path: Path) -> None:
    """Just before the cell that stops the sample server: a markdown cell saying so, then a code
    cell of asserts over the notebook's own variables (issue 13 §6: the prose agrees with the
    output). The notebook run (test_notebook_runs) executes those asserts."""
    nb = nbformat.read(path, as_version=4)
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    assert len(code) >= 2
    stop, check = code[-1], code[-2]
    assert "srv.stop()" in nb.cells[stop].source
    source = nb.cells[check].source
    asserts = [line for line in source.splitlines() if line.lstrip().startswith("assert ")]
    assert len(asserts) >= 3, f"the cell before srv.stop() checks no figures:\n{source}"
    assert "srv.stop()" not in source
    assert nb.cells[check - 1].cell_type == "markdown"
    assert CHECK_HEADING in nb.cells[check - 1].source
    # nothing but markdown between the check and the clean-up
    assert all(c.cell_type == "markdown" for c in nb.cells[check + 1 : stop])


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_notebook_uses_only_public_names(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            found = PRIVATE_NAME.findall(cell.source)
            assert not found, f"private cfusage names in a notebook: {found}"


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_notebook_runs(path: Path, tmp_path: Path) -> None:
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    token = f"tok-{secrets.token_hex(12)}"
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.source = cell.source.replace(SAMPLE_TOKEN, f'token="{token}"')
    before = _repo_files()
    # IPC (Unix sockets in tmp_path), not TCP: kernels cannot race other processes for ports.
    km = KernelManager(kernel_name="python3", transport="ipc", ip=str(tmp_path / "kernel"))
    client = NotebookClient(
        nb,
        km=km,
        timeout=240,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()  # raises CellExecutionError, with the cell and its traceback, on failure

    outputs = json.dumps([c.get("outputs", []) for c in nb.cells if c.cell_type == "code"])
    assert token not in outputs, "the API token leaked into an output"
    assert '"output_type": "error"' not in outputs
    images = outputs.count('"image/png"')
    assert images >= 1, "every notebook draws at least one chart"
    assert _repo_files() == before, "the notebook wrote into the repository"
