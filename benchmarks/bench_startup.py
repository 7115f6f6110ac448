"""The small things a user touches first: ``import cfusage``, ``cfusage --help``, ``serve-sample``.

Each figure is wall time of a fresh process (best of several, the cases alternating), with
bytecode cached as in a user's shell (``PYTHONDONTWRITEBYTECODE`` is dropped for these processes
and the cache kept under ``benchmarks/out/pycache``): without a cache, every start compiles pandas
from source, which is not what a user sees after the first run:

- ``import cfusage`` minus ``import pandas`` alone (what cfusage adds on top of pandas);
- ``cfusage --help`` until it exits;
- ``cfusage serve-sample --port 0`` until the first usage request over a real socket is answered
  (process start, imports, building the sample, binding, one HTTP round trip).

Run: ``make bench`` or ``python -m benchmarks startup``.
"""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

from benchmarks._common import OUT, Target

ROOT = Path(__file__).resolve().parent.parent
IMPORT_OVER_PANDAS_S, HELP_S, SERVE_S = 0.3, 0.5, 1.0
#: ``import cfusage`` itself is light (pandas is imported on first use); this is the cost of
#: everything the library loads once it is used: the loader and every helper.
LOADED = (
    "import cfusage; cfusage.to_frame; cfusage.discounts; import pandas; pandas.DataFrame.cfusage"
)


def _cfusage_command() -> list[str]:
    """The installed ``cfusage`` script when there is one (as a user runs it), else ``-m``."""
    script = Path(sys.executable).parent / "cfusage"
    return [str(script)] if script.exists() else [sys.executable, "-m", "cfusage.cli"]


def _env() -> dict[str, str]:
    """The environment of a user's shell: bytecode cached (here under benchmarks/out/pycache, so
    that the venv is left as it is), even where this session says not to write it."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "PYTHONPYCACHEPREFIX": str(OUT / "pycache"), "PYTHONUNBUFFERED": "1"}


def _run(argv: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, cwd=ROOT, env=_env())
    return time.perf_counter() - t0


def serve_until_answer() -> float:
    """Seconds from starting ``cfusage serve-sample`` to the answer of one usage request."""
    env = _env()
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [*_cfusage_command(), "serve-sample", "--port", "0", "--token", "bench"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        org_line = proc.stdout.readline()
        if "http://127.0.0.1:" not in first:
            raise RuntimeError(f"serve-sample printed {first!r}")
        base = urllib.parse.urlsplit(first.rsplit(" ", 1)[1].strip())
        org = org_line.split(":", 1)[1].strip()
        conn = http.client.HTTPConnection(base.hostname, base.port, timeout=30)
        conn.request(
            "GET",
            f"{base.path}/organizations/{org}/billable/usage?from=2026-03-01&to=2026-03-01",
            headers={"Authorization": "Bearer bench"},
        )
        response = conn.getresponse()
        response.read()
        seconds = time.perf_counter() - t0
        conn.close()
        if response.status != 200:
            raise RuntimeError(f"serve-sample answered {response.status}")
        return seconds
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def main(repeat: int = 5) -> list[Target]:
    py = sys.executable
    best = dict.fromkeys(("pandas", "cfusage", "loaded", "help"), float("inf"))
    _run([py, "-c", LOADED])  # compiles and caches the bytecode once, as a user's first run does
    for _ in range(repeat):
        best["pandas"] = min(best["pandas"], _run([py, "-c", "import pandas"]))
        best["cfusage"] = min(best["cfusage"], _run([py, "-c", "import cfusage"]))
        best["loaded"] = min(best["loaded"], _run([py, "-c", LOADED]))
        best["help"] = min(best["help"], _run([*_cfusage_command(), "--help"]))
    serve = min(serve_until_answer() for _ in range(3))
    over = best["cfusage"] - best["pandas"]
    loaded = best["loaded"] - best["pandas"]
    print(
        f"  import pandas {best['pandas']:.2f} s; import cfusage {best['cfusage']:.2f} s "
        f"({over:+.2f} s; pandas is imported on first use); import cfusage with the loader and "
        f"every helper loaded {best['loaded']:.2f} s ({loaded:+.2f} s over pandas)"
    )
    print(f"  cfusage --help {best['help']:.2f} s; serve-sample answers after {serve:.2f} s")
    return [
        Target(
            "import cfusage over import pandas alone",
            f"<= +{IMPORT_OVER_PANDAS_S} s",
            f"{over:+.2f} s ({best['cfusage']:.2f} s vs {best['pandas']:.2f} s)",
            over <= IMPORT_OVER_PANDAS_S,
        ),
        Target(
            "... with to_frame and every helper loaded",
            f"<= +{IMPORT_OVER_PANDAS_S} s",
            f"{loaded:+.2f} s ({best['loaded']:.2f} s)",
            loaded <= IMPORT_OVER_PANDAS_S,
        ),
        Target("cfusage --help", f"<= {HELP_S} s", f"{best['help']:.2f} s", best["help"] <= HELP_S),
        Target(
            "cfusage serve-sample until it answers",
            f"<= {SERVE_S:.0f} s",
            f"{serve:.2f} s",
            serve <= SERVE_S,
        ),
    ]


if __name__ == "__main__":
    from benchmarks._common import target_table

    print(target_table(main()))
