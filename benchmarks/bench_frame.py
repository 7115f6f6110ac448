"""to_frame against the naive path at every size, and the official SDK's path.

- naive: ``json.loads``, ``pd.DataFrame(result)``, ``pd.to_datetime`` per date column (for the
  sample: the same per file, then ``pd.concat``);
- SDK: the official ``cloudflare`` SDK's response objects (built the way the SDK builds them from a
  body, ``construct_type``), then ``pd.DataFrame([i.model_dump() for i in items])``; on 200,000
  records (it is slow), its time scaled to the large size;
- cfusage: ``cfusage.to_frame(body)`` (``cfusage.sample.load()`` for the sample).

Large bodies (200k and 1M records): each path runs in its own fresh subprocess (so its whole
process's peak memory is its own), twice, alternating naive and cfusage so that both see the same
machine; the best time of each is compared. Small bodies (1k to 20k records) and the sample run in
this process, alternating, best of several. Ratios are measured in one run: this machine's timings
swing by ±20 % from one run to the next, its two cores being shared.

Run: ``make bench`` or ``python -m benchmarks frame``.
"""

from __future__ import annotations

import gc
import gzip
import json
import time
from typing import Any

from benchmarks._common import (
    Target,
    in_subprocess,
    large_body,
    peak_rss_bytes,
    ratio,
    rss_bytes,
)

DATE_COLUMNS = ("ChargePeriodStart", "ChargePeriodEnd", "BillingPeriodStart", "BillingPeriodEnd")
LARGE = (200_000, 1_000_000)
SMALL = (1_000, 5_000, 20_000)
SDK_N = 200_000
#: issue 12's targets (and issue 3's SDK target)
SPEED, SPEED_MOONSHOT = 3.0, 4.0
PEAK, FRAME, SMALL_MAX, SDK = 0.5, 0.3, 1.0, 15.0


def naive(body: bytes):
    import pandas as pd

    df = pd.DataFrame(json.loads(body)["result"])
    for col in DATE_COLUMNS:
        if col in df.columns:
            df[col] = pd.to_datetime(df[col])
    return df


def naive_files(paths) -> Any:
    """The naive path over envelope files (gzip'd JSON): one frame per file, concatenated."""
    import pandas as pd

    frames = []
    for path in paths:
        with gzip.open(path, "rb") as fh:
            frames.append(pd.DataFrame(json.loads(fh.read())["result"]))
    df = pd.concat(frames, ignore_index=True)
    for col in DATE_COLUMNS:
        if col in df.columns:
            df[col] = pd.to_datetime(df[col])
    return df


def sdk(body: bytes):
    import pandas as pd
    from cloudflare._models import construct_type
    from cloudflare.types.organizations.billing.usage_get_response import UsageGetResponse

    items = construct_type(type_=UsageGetResponse, value=json.loads(body)["result"])
    return pd.DataFrame([i.model_dump() for i in items])


def typed(body: bytes):
    import cfusage

    return cfusage.to_frame(body)


def measure(path_name: str, body_path: str, limit: int | None = None) -> dict[str, Any]:
    """Time one path on the body file (in a fresh process): wall time, peak memory, frame memory.

    ``peak_bytes`` is the whole process's high-water mark (what a user sees: interpreter,
    libraries, the body and everything the step built); ``step_peak_bytes`` is that minus the
    resident size just before the step.
    """
    with open(body_path, "rb") as fh:
        body = fh.read()
    if limit is not None:  # the first `limit` records, as an envelope of their own
        result = json.loads(body)["result"][:limit]
        body = json.dumps(
            {"success": True, "errors": [], "messages": [], "result": result}
        ).encode()
        del result
    fn = {"naive": naive, "sdk": sdk, "typed": typed}[path_name]
    import pandas  # noqa: F401  (imports are not part of the measured step)

    if path_name == "sdk":
        import cloudflare  # noqa: F401
    elif path_name == "typed":
        import cfusage.io  # noqa: F401  (`import cfusage` alone defers the loader's imports)
    gc.collect()
    before = rss_bytes()
    t0 = time.perf_counter()
    df = fn(body)
    seconds = time.perf_counter() - t0
    peak = peak_rss_bytes()
    return {
        "seconds": seconds,
        "peak_bytes": peak,
        "step_peak_bytes": peak - before,
        "frame_bytes": int(df.memory_usage(deep=True).sum()),
        "rows": len(df),
    }


def _alternating(n: int, body: str, runs: int = 2) -> dict[str, dict[str, Any]]:
    """Each path ``runs`` times in fresh processes, alternating; the best time of each."""
    got: dict[str, list[dict[str, Any]]] = {"naive": [], "typed": []}
    for i in range(runs):
        for name in ("naive", "typed") if i % 2 == 0 else ("typed", "naive"):
            got[name].append(in_subprocess("benchmarks.bench_frame", "measure", name, body))
    return {name: min(rs, key=lambda r: r["seconds"]) for name, rs in got.items()}


def large(n: int) -> tuple[dict[str, dict[str, Any]], list[Target]]:
    results = _alternating(n, str(large_body(n)))
    nv, ty = results["naive"], results["typed"]
    for name, r in results.items():
        print(
            f"  {n:>9,} {name:<6} {r['seconds']:7.2f} s  peak {r['peak_bytes'] / 2**20:6.0f} MiB"
            f" (step +{r['step_peak_bytes'] / 2**20:5.0f})  frame {r['frame_bytes'] / 2**20:5.0f} MiB"
        )
    speed = nv["seconds"] / ty["seconds"]
    rows = [
        Target(
            f"to_frame vs naive, time, {n:,} records",
            f">= {SPEED:.0f}x (moonshot {SPEED_MOONSHOT:.0f}x)",
            f"{speed:.2f}x ({ty['seconds']:.2f} s vs {nv['seconds']:.2f} s)",
            speed >= SPEED,
        )
    ]
    if n == max(LARGE):
        peak = ty["peak_bytes"] / nv["peak_bytes"]
        frame = ty["frame_bytes"] / nv["frame_bytes"]
        rows += [
            Target(
                f"peak memory (whole process) vs naive, {n:,}",
                f"<= {PEAK}x (moonshot 0.3x)",
                f"{peak:.3f}x ({ty['peak_bytes'] / 2**20:,.0f} vs {nv['peak_bytes'] / 2**20:,.0f} MiB)",
                peak <= PEAK,
            ),
            Target(
                f"frame memory vs the naive frame, {n:,}",
                f"<= {FRAME}x (moonshot 0.2x)",
                f"{frame:.3f}x ({ty['frame_bytes'] / 2**20:,.0f} vs {nv['frame_bytes'] / 2**20:,.0f} MiB)",
                frame <= FRAME,
            ),
        ]
    return results, rows


def small(sizes: tuple[int, ...] = SMALL, repeat: int = 7) -> list[Target]:
    """to_frame on small bodies in this process, alternating with naive, best of ``repeat``."""
    import cfusage
    from benchmarks._large import large_response

    rows = []
    for n in sizes:
        body = large_response(n)
        cfusage.to_frame(body)  # first call: lazy imports and caches are not the figure
        best = {"naive": float("inf"), "typed": float("inf")}
        for _ in range(repeat):
            for name, fn in (("naive", naive), ("typed", cfusage.to_frame)):
                t0 = time.perf_counter()
                fn(body)
                best[name] = min(best[name], time.perf_counter() - t0)
        r = best["typed"] / best["naive"]
        print(
            f"  {n:>9,} to_frame {best['typed'] * 1000:7.1f} ms  naive {best['naive'] * 1000:7.1f} ms"
            f"  ({r:.2f}x the naive time)"
        )
        rows.append(
            Target(
                f"to_frame time / naive, {n:,} records",
                f"<= {SMALL_MAX:.0f}x (moonshot 0.5x)",
                f"{r:.2f}x ({best['typed'] * 1000:.0f} ms vs {best['naive'] * 1000:.0f} ms)",
                r <= SMALL_MAX,
            )
        )
    return rows


def crossover(sizes: tuple[int, ...] = (10, 100, 1_000, 10_000), repeat: int = 3) -> None:
    """Both sides of the small-body question: the fast path (pyarrow) against the careful
    value-by-value path on the same records, and the naive path; best of ``repeat``."""
    import cfusage
    from benchmarks._large import large_response

    print(f"  {'records':>9}  {'fast path':>10}  {'careful path':>12}  {'naive':>8}")
    for n in sizes:
        body = large_response(n)
        records = json.loads(body)["result"]
        best = {"fast": float("inf"), "careful": float("inf"), "naive": float("inf")}
        for _ in range(repeat):
            for name, fn in (
                ("fast", lambda b=body: cfusage.to_frame(b)),
                ("careful", lambda r=records: cfusage.to_frame(r)),
                ("naive", lambda b=body: naive(b)),
            ):
                t0 = time.perf_counter()
                fn()
                best[name] = min(best[name], time.perf_counter() - t0)
        print(
            f"  {n:>9,}  {best['fast'] * 1000:8.1f} ms  {best['careful'] * 1000:10.1f} ms"
            f"  {best['naive'] * 1000:6.1f} ms"
        )


def sample_first_call(path_name: str) -> dict[str, Any]:
    """In a fresh process: the first ``cfusage.sample.load()`` (what every new user runs first), or
    the naive path over the same files. Imports are done before the clock starts."""
    import pandas  # noqa: F401

    import cfusage.io
    import cfusage.sample

    paths = cfusage.sample.sample_paths()
    fn = cfusage.sample.load if path_name == "typed" else lambda: naive_files(paths)
    t0 = time.perf_counter()
    df = fn()
    return {"seconds": time.perf_counter() - t0, "rows": len(df), "files": len(paths)}


def sample(repeat: int = 3) -> list[Target]:
    """cfusage.sample.load() against the naive path over the same files: first calls, alternating
    in fresh processes (later calls in one process return the frame parsed the first time)."""
    best = {"naive": float("inf"), "typed": float("inf")}
    got: dict[str, Any] = {}
    for i in range(repeat):
        for name in ("naive", "typed") if i % 2 == 0 else ("typed", "naive"):
            got = in_subprocess("benchmarks.bench_frame", "sample_first_call", name)
            best[name] = min(best[name], got["seconds"])
    r = best["typed"] / best["naive"]
    print(
        f"  sample.load() {got['rows']:,} rows, first call: {best['typed']:.3f} s; naive over the "
        f"same {got['files']} files {best['naive']:.3f} s ({r:.2f}x the naive time)"
    )
    return [
        Target(
            "sample.load() time / naive (first call)",
            f"<= {SMALL_MAX:.0f}x (moonshot 0.5x)",
            f"{r:.2f}x ({best['typed']:.2f} s vs {best['naive']:.2f} s)",
            r <= SMALL_MAX,
        )
    ]


def main(sizes: tuple[int, ...] = LARGE, sdk_n: int = SDK_N) -> list[Target]:
    rows = small()
    crossover()
    rows += sample()
    results: dict[str, dict[str, Any]] = {}
    for n in sizes:
        results, got = large(n)
        rows += got
    n = max(sizes)
    sd = in_subprocess("benchmarks.bench_frame", "measure", "sdk", str(large_body(n)), sdk_n)
    scaled = sd["seconds"] * n / sd["rows"]
    vs_sdk = scaled / results["typed"]["seconds"]
    print(
        f"  SDK path {sd['rows']:,} records {sd['seconds']:.2f} s (x{n / sd['rows']:.0f} = "
        f"{scaled:.1f} s for {n:,}): to_frame is {ratio(scaled, results['typed']['seconds'])} faster"
    )
    rows.append(
        Target(
            f"to_frame vs the SDK path, {n:,} records",
            f">= {SDK:.0f}x",
            f"{vs_sdk:.1f}x",
            vs_sdk >= SDK,
        )
    )
    return rows


if __name__ == "__main__":
    from benchmarks._common import target_table

    print(target_table(main()))
