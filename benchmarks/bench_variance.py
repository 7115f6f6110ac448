"""price_volume_mix and anomalies on a 1,000,000-record frame against naive twins.

The frame is ``cfusage.to_frame(benchmarks._large.large_response(1_000_000))`` (cached as Parquet
under benchmarks/out/ by ``benchmarks._common.large_frame``). It covers one month (October 2026),
so the two periods compared are its halves.

- ``price_volume_mix(df, base, current, by="product")`` against loops over product families and
  billable metrics feeding ``tests.naive_variance.pvm_effects_by_group`` (the formulas written
  out per item: days effect, mix against the whole), run on the whole frame;
- ``anomalies(df, by=["account", "metric"])`` (about a million account x metric x day cells)
  against ``tests.naive.naive_anomalies`` (a python loop over groups and days: weekday factors,
  the robust line, the scale floor, written out with ``np.median``); the loop runs on a random
  sample of groups and its time is scaled to all groups (it grows linearly with them); the
  output says so.

Run: ``make bench`` or ``python -m benchmarks variance``.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from benchmarks._common import best_of, large_frame, ratio
from cfusage.analysis._anomalies import anomalies
from cfusage.analysis._variance import price_volume_mix
from tests.naive import naive_anomalies
from tests.naive_variance import pvm_effects_by_group

TARGET_SPEEDUP = 10.0
TARGET_SECONDS = 2.0
NAIVE_GROUPS = 300
BASE = ("2026-10-01", "2026-10-16")
CURRENT = ("2026-10-16", "2026-11-01")


def naive_price_volume_mix(df: pd.DataFrame, base: tuple, current: tuple) -> dict:
    """Loops over product families and billable metrics, then the plain twin of the formulas
    (``tests.naive_variance.pvm_effects_by_group``: days effect, mix against the whole)."""
    b0, b1 = (pd.Timestamp(x, tz="UTC") for x in base)
    c0_, c1_ = (pd.Timestamp(x, tz="UTC") for x in current)
    groups = {}
    for fam, part in df.groupby("x_product_family_name", observed=True):
        t = part["charge_period_start"]
        items = {}
        for item, rows in part.groupby("x_billable_metric_id", observed=True):
            rt = t.loc[rows.index]
            r0, r1 = rows[(rt >= b0) & (rt < b1)], rows[(rt >= c0_) & (rt < c1_)]
            r0, r1 = r0[r0["effective_cost"].notna()], r1[r1["effective_cost"].notna()]
            if len(r0) or len(r1):
                items[item] = (
                    float(r0["effective_cost"].sum()),
                    float(r1["effective_cost"].sum()),
                    float(r0["pricing_quantity"].fillna(0).sum()),
                    float(r1["pricing_quantity"].fillna(0).sum()),
                    len(r0),
                    len(r1),
                )
        groups[fam] = items
    # the days each period covers, from the frame's first to its last day with data
    first = df["charge_period_start"].min().floor("D")
    last = df["charge_period_start"].max().floor("D") + pd.Timedelta(days=1)
    d0, d1 = (
        max(((min(hi, last) - max(lo, first)) // pd.Timedelta(days=1)), 0)
        for lo, hi in ((b0, b1), (c0_, c1_))
    )
    return pvm_effects_by_group(groups, d0, d1)


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
    ours = anomalies(subset, by=["account", "metric"])
    agree = (
        len(ours) == len(naive)
        and np.allclose(
            ours["score"].to_numpy(float, na_value=np.nan),
            naive["score"].to_numpy(float),
            rtol=1e-9,
            equal_nan=True,
        )
        and ours["is_anomaly"].tolist() == naive["flag"].tolist()
    )
    print(
        f"   anomalies by account x metric ({len(result):,} cells): {fast:.3f} s; naive loop "
        f"{slow_part:.2f} s on {len(chosen)} of {len(groups):,} groups, scaled {slow:.1f} s; "
        f"speed-up {ratio(slow, fast)} (target >= {TARGET_SPEEDUP:.0f}x, "
        f"< {TARGET_SECONDS:.0f} s); scores agree on the sample: {agree}"
    )


if __name__ == "__main__":
    main()
