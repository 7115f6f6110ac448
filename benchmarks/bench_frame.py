"""to_frame on a 1,000,000-record response against the naive path and the official SDK's path.

- naive: ``json.loads``, ``pd.DataFrame(result)``, ``pd.to_datetime`` per date column;
- SDK: the official ``cloudflare`` SDK's response objects (built the way the SDK builds them from a
  body, ``construct_type``), then ``pd.DataFrame([i.model_dump() for i in items])``; on 200,000
  records (it is slow), its time scaled by 5;
- cfusage: ``cfusage.to_frame(body)``.

Each path runs in its own subprocess so that its peak memory can be measured alone.
Run: ``make bench`` or ``python -m benchmarks frame``.
"""

from __future__ import annotations

import gc
import json
import time
from typing import Any

from benchmarks._common import in_subprocess, large_body, peak_rss_bytes, ratio, rss_bytes

DATE_COLUMNS = ("ChargePeriodStart", "ChargePeriodEnd", "BillingPeriodStart", "BillingPeriodEnd")
TARGETS = {"speed_vs_naive": 3.0, "speed_vs_sdk": 15.0, "peak_vs_naive": 0.5, "frame_vs_naive": 0.3}


def naive(body: bytes):
    import pandas as pd

    df = pd.DataFrame(json.loads(body)["result"])
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
    """Time one path on the body file; report wall time, peak extra memory and frame memory."""
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
    else:
        import cfusage  # noqa: F401
    gc.collect()
    before = rss_bytes()
    t0 = time.perf_counter()
    df = fn(body)
    seconds = time.perf_counter() - t0
    peak = peak_rss_bytes() - before
    return {
        "seconds": seconds,
        "peak_bytes": peak,
        "frame_bytes": int(df.memory_usage(deep=True).sum()),
        "rows": len(df),
    }


def main(n: int = 1_000_000, sdk_n: int = 200_000) -> dict[str, float]:
    body = str(large_body(n))
    results = {}
    for name, limit in (("naive", None), ("typed", None), ("sdk", sdk_n)):
        runs = [
            in_subprocess("benchmarks.bench_frame", "measure", name, body, limit) for _ in range(2)
        ]
        best = min(runs, key=lambda r: r["seconds"])
        scale = n / best["rows"]
        results[name] = best | {"seconds_scaled": best["seconds"] * scale}
        print(
            f"  {name:<6} {best['rows']:>9,} rows  {best['seconds']:7.2f} s"
            + (f" (x{scale:.0f} = {best['seconds'] * scale:.1f} s for {n:,})" if scale != 1 else "")
            + f"  peak +{best['peak_bytes'] / 2**20:7.0f} MiB  frame {best['frame_bytes'] / 2**20:6.0f} MiB"
        )
    nv, ty, sd = results["naive"], results["typed"], results["sdk"]
    figures = {
        "speed_vs_naive": nv["seconds"] / ty["seconds"],
        "speed_vs_sdk": sd["seconds_scaled"] / ty["seconds"],
        "peak_vs_naive": ty["peak_bytes"] / nv["peak_bytes"],
        "frame_vs_naive": ty["frame_bytes"] / nv["frame_bytes"],
    }
    print(
        f"  to_frame is {ratio(nv['seconds'], ty['seconds'])} faster than naive "
        f"(target >= {TARGETS['speed_vs_naive']:.0f}x), {ratio(sd['seconds_scaled'], ty['seconds'])} "
        f"faster than the SDK path (target >= {TARGETS['speed_vs_sdk']:.0f}x)"
    )
    print(
        f"  peak memory {figures['peak_vs_naive']:.2f}x naive (target <= 0.5x), "
        f"frame memory {figures['frame_vs_naive']:.2f}x naive (target <= 0.3x)"
    )
    return figures


if __name__ == "__main__":
    main()
