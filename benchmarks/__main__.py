"""Run the benchmarks: ``python -m benchmarks [name ...]`` (names: frame, client, discounts, ...)."""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
from pathlib import Path

from benchmarks._common import Target, target_table


def main(argv: list[str]) -> int:
    here = Path(__file__).resolve().parent
    names = sorted(
        m.name[len("bench_") :]
        for m in pkgutil.iter_modules([str(here)])
        if m.name.startswith("bench_")
    )
    chosen = argv or names
    unknown = sorted(set(chosen) - set(names))
    if unknown:
        print(f"unknown benchmark(s) {unknown}; choose from {names}", file=sys.stderr)
        return 2
    targets: list[Target] = []
    for name in chosen:
        print(f"== {name}", flush=True)
        t0 = time.perf_counter()
        got = importlib.import_module(f"benchmarks.bench_{name}").main()
        if isinstance(got, list):
            targets += [t for t in got if isinstance(t, Target)]
        print(f"   ({time.perf_counter() - t0:.0f} s)", flush=True)
    if targets:
        print("== targets (every figure measured in this run)")
        print(target_table(targets))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
