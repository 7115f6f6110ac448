"""Shared by every benchmark: the large generated data, timing and peak-memory measurement.

Each measurement of peak memory runs in a fresh subprocess (``ru_maxrss`` minus the resident size
just before the measured step), because pyarrow allocates outside Python's allocator, where
tracemalloc cannot see it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "out"


def large_body(n: int = 1_000_000) -> Path:
    """A generated envelope of ``n`` records as a JSON file (made once, cached under out/)."""
    from ._large import large_response

    path = OUT / f"large_{n}.json"
    if not path.exists():
        OUT.mkdir(exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(large_response(n))
        os.replace(tmp, path)
    return path


def large_frame(n: int = 1_000_000):
    """The typed frame of :func:`large_body` (cached as Parquet under out/)."""
    import pandas as pd

    import cfusage

    path = OUT / f"large_{n}.parquet"
    if path.exists():
        return pd.read_parquet(path)
    df = cfusage.to_frame(large_body(n))
    tmp = path.with_suffix(".tmp")
    df.drop(columns=["tags"]).to_parquet(tmp)
    os.replace(tmp, path)
    return cfusage.concat([pd.read_parquet(path)])


def best_of(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    """Best wall time of ``repeat`` runs, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def in_subprocess(module: str, function: str, *args: Any) -> dict[str, Any]:
    """Run ``module.function(*args)`` in a fresh interpreter; it returns a JSON-able dict."""
    code = (
        "import json, sys, importlib; "
        f"m = importlib.import_module({module!r}); "
        f"print(json.dumps(m.{function}(*json.loads(sys.argv[1]))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, json.dumps(args)],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def rss_bytes() -> int:
    """Resident set size of this process now."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss_bytes() -> int:
    """High-water mark of this process's resident set size."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "n/a"


@dataclass(frozen=True)
class Target:
    """One figure a benchmark promises: what it is, its target, what was measured, met or not."""

    figure: str
    target: str
    measured: str
    met: bool


def target_table(rows: Sequence[Target]) -> str:
    """The targets as a plain text table: figure, target, measured, met/missed."""
    head = ("figure", "target", "measured", "")
    cells = [head] + [(r.figure, r.target, r.measured, "met" if r.met else "missed") for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(4)]
    lines = ["  ".join(c[i].ljust(widths[i]) for i in range(4)).rstrip() for c in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
