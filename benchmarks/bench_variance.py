"""price_volume_mix and anomalies on a 1,000,000-record frame against naive twins.

The frame is ``cfusage.to_frame(benchmarks._large.large_response(1_000_000))`` (cached as Parquet
under benchmarks/out/ by ``benchmarks._common.large_frame``). It covers one month (October 2026),
so the two periods compared are its halves.

- ``price_volume_mix(df, base, current, by="product")`` against loops over product families and
  billable metrics (the formulas written out per item), run on the whole frame;
- ``anomalies(df, by=["account", "metric"])`` (about a million account x metric x day cells)
  against a python loop over groups and days calling ``np.median``; the loop runs on a random
  sample of groups and its time is scaled to all groups (it grows linearly with them); the
  output says so.

Run: ``make bench`` or ``python -m benchmarks variance``.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from benchmarks._common import best_of, large_frame, ratio
from cfusage.analysis._anomalies import MAD_SCALE, anomalies
from cfusage.analysis._variance import price_volume_mix
from tests.naive import pvm_effects

TARGET_SPEEDUP = 10.0
TARGET_SECONDS = 2.0
NAIVE_GROUPS = 300
BASE = ("2026-10-01", "2026-10-16")
CURRENT = ("2026-10-16", "2026-11-01")


def naive_price_volume_mix(df: pd.DataFrame, base: tuple, current: tuple) -> dict:
    """Loops over product families and items; the formulas of price_volume_mix per item."""
    b0, b1 = (pd.Timestamp(x, tz="UTC") for x in base)
    c0_, c1_ = (pd.Timestamp(x, tz="UTC") for x in current)
    out = {}
    for fam, part in df.groupby("x_product_family_name", observed=True):
        t = part["charge_period_start"]
        items = {}
        for item, rows in part.groupby("x_billable_metric_id"):
            rt = t.loc[rows.index]
            r0, r1 = rows[(rt >= b0) & (rt < b1)], rows[(rt >= c0_) & (rt < c1_)]
            r0, r1 = r0[r0["effective_cost"].notna()], r1[r1["effective_cost"].notna()]
            items[item] = (
                float(r0["effective_cost"].sum()),
                float(r1["effective_cost"].sum()),
                float(r0["pricing_quantity"].fillna(0).sum()),
                float(r1["pricing_quantity"].fillna(0).sum()),
                len(r0),
                len(r1),
            )
        out[fam] = pvm_effects(items)
    return out


def naive_anomalies(
    df: pd.DataFrame, keys: list[str], window: int = 28, min_history: int = 7
) -> list[tuple]:
    """A python loop over groups and days: median and MAD of the trailing window."""
    last = df["charge_period_start"].max()
    out = []
    for key, part in df.groupby(keys, observed=True):
        daily = part.groupby(part["charge_period_start"].dt.floor("D"))["effective_cost"].sum()
        days = pd.date_range(daily.index.min(), last, freq="D")
        x = daily.reindex(days, fill_value=0.0).to_numpy(float)
        for i in range(len(x)):
            hist = x[max(0, i - window) : i]
            if len(hist) < min_history:
                out.append((key, days[i], np.nan))
                continue
            med = np.median(hist)
            mad = np.median(np.abs(hist - med))
            scale = max(MAD_SCALE * mad, 0.05 * abs(med), 1.0 / 3.5)
            out.append((key, days[i], (x[i] - med) / scale))
    return out


def main() -> None:
    t0 = time.perf_counter()
    df = large_frame()
    print(f"   frame: {len(df):,} records, loaded in {time.perf_counter() - t0:.1f} s")

    # price / volume / mix
    fast, result = best_of(lambda: price_volume_mix(df, base=BASE, current=CURRENT, by="product"))
    slow, naive = best_of(lambda: naive_price_volume_mix(df, BASE, CURRENT), repeat=1)
    result = result.set_index("x_product_family_name")
    worst = max(
        abs(result.loc[fam, f"{k}_effect"] - v)
        for fam, eff in naive.items()
        for k, v in eff.items()
    )
    print(
        f"   price_volume_mix by product, two half-months: {fast:.3f} s; naive loops "
        f"{slow:.2f} s; speed-up {ratio(slow, fast)} (target >= {TARGET_SPEEDUP:.0f}x, "
        f"< {TARGET_SECONDS:.0f} s); largest difference {worst:.2e}"
    )

    # anomalies
    keys = ["billing_account_name", "x_billable_metric_name"]
    fast, result = best_of(lambda: anomalies(df, by=["account", "metric"]))
    groups = df[keys].drop_duplicates()
    chosen = groups.sample(min(NAIVE_GROUPS, len(groups)), random_state=0)
    subset = df.merge(chosen, on=keys)
    for c in keys:
        subset[c] = subset[c].astype(df[c].dtype)
    t1 = time.perf_counter()
    naive = naive_anomalies(subset, keys)
    slow_part = time.perf_counter() - t1
    slow = slow_part * len(groups) / len(chosen)
    ours = anomalies(subset, by=["account", "metric"])["score"].to_numpy(float, na_value=np.nan)
    theirs = np.array([s for *_, s in naive])
    agree = (
        np.allclose(ours, theirs, rtol=1e-9, equal_nan=True) if len(ours) == len(theirs) else False
    )
    print(
        f"   anomalies by account x metric ({len(result):,} cells): {fast:.3f} s; naive loop "
        f"{slow_part:.2f} s on {len(chosen)} of {len(groups):,} groups, scaled {slow:.1f} s; "
        f"speed-up {ratio(slow, fast)} (target >= {TARGET_SPEEDUP:.0f}x, "
        f"< {TARGET_SECONDS:.0f} s); scores agree on the sample: {agree}"
    )


if __name__ == "__main__":
    main()
