"""The explorer on a 1,000,000-record frame: construction and every kind of change.

- explorer: ``cfusage.viz._widgets.explore(df)`` aggregates once to day x dimensions (integer codes);
  a change filters the aggregate with numpy masks and sums it with ``np.bincount``, then redraws.
- naive: what a change would cost without the pre-aggregation: filter the raw frame with pandas
  (dates, ``isin`` per filter), floor the day to the grain, ``groupby`` period x group x currency
  for the chart and group x currency for the table.

Reported per change: the explorer's full update (compute + chart PNG + summary HTML, what a person
waits for; the target is <= 1 s), its compute alone, the naive compute, and naive / explorer
compute. Run: ``make bench`` or ``python -m benchmarks explorer``.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

import pandas as pd

from benchmarks._common import best_of, large_frame, ratio

TARGET_UPDATE_S = 1.0


def naive(df: pd.DataFrame, state: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Chart pivot and table straight from the raw frame, as a notebook user would write them."""
    from cfusage.analysis._grouping import DIMENSIONS, floor_to

    lo, hi = state["dates"]
    day = df["charge_period_start"]
    keep = (day >= pd.Timestamp(lo, tz="UTC")) & (
        day < pd.Timestamp(hi, tz="UTC") + pd.Timedelta(days=1)
    )
    for name, chosen in state["filters"].items():
        if chosen:
            keep &= df[DIMENSIONS[name]].isin(chosen)
    sel = df[keep]
    value = state["value"]
    aux = "consumed_unit" if value == "consumed_quantity" else "billing_currency"
    group = DIMENSIONS[state["by"]]
    period = floor_to(
        sel["charge_period_start"], {"day": "D", "week": "W", "month": "MS"}[state["grain"]]
    )
    chart = (
        sel[value]
        .groupby([period.rename("period"), sel[group], sel[aux]], observed=True)
        .sum(min_count=1)
        .unstack([group, aux])
    )
    table = sel.groupby([sel[group], sel[aux]], observed=True)[value].agg(["sum", "count", "size"])
    return chart, table


def main() -> None:
    import matplotlib

    matplotlib.use("Agg")
    from cfusage.viz._widgets import explore

    t0 = time.perf_counter()
    df = large_frame(1_000_000)
    print(
        f"   frame: {len(df):,} records, {df['billing_account_name'].nunique():,} accounts "
        f"(loaded in {time.perf_counter() - t0:.1f} s)"
    )

    build_s, ex = best_of(lambda: explore(df), repeat=2)
    groups = len(ex._rows)
    print(
        f"   construction: {build_s:.2f} s (aggregate: {groups:,} day x dimension groups, "
        f"{len(df) / groups:.1f} records per group)"
    )

    products = [p for p in ex.products.options if p in ("Workers", "R2")]
    accounts = list(ex.accounts.options[:50])
    first, last = ex.dates.options[0][1], ex.dates.options[-1][1]
    changes: list[tuple[str, Callable[[], None]]] = [
        ("grain -> week", lambda: setattr(ex.grain, "value", "week")),
        ("value -> list cost", lambda: setattr(ex.value, "value", "list_cost")),
        ("group by -> account", lambda: setattr(ex.by, "value", "account")),
        ("filter product (2)", lambda: setattr(ex.products, "value", tuple(products))),
        ("filter accounts (50)", lambda: setattr(ex.accounts, "value", tuple(accounts))),
        (
            "dates -> 2 weeks",
            lambda: setattr(ex.dates, "value", (first, first + dt.timedelta(days=13))),
        ),
        ("group by -> metric", lambda: setattr(ex.by, "value", "metric")),
        ("value -> quantity", lambda: setattr(ex.value, "value", "consumed_quantity")),
        ("clear filters", ex.clear_filters),
        ("dates -> all", lambda: setattr(ex.dates, "value", (first, last))),
    ]
    print(f"   {'change':<24}{'update':>9}{'compute':>10}{'naive':>9}{'naive/explorer':>16}")
    worst = 0.0
    for name, change in changes:
        t = time.perf_counter()
        change()
        update = time.perf_counter() - t
        worst = max(worst, update)
        compute, _ = best_of(
            lambda: (setattr(ex, "_cache", None), ex.chart_data(), ex.table()), repeat=3
        )
        state = {
            "dates": ex.dates.value,
            "filters": {k: list(c.value) for k, c in ex.filters.items()},
            "value": ex.value.value,
            "by": ex.by.value,
            "grain": ex.grain.value,
        }
        slow, _ = best_of(lambda s=state: naive(df, s), repeat=1)
        print(
            f"   {name:<24}{update:>8.2f}s{compute:>9.3f}s{slow:>8.2f}s{ratio(slow, compute):>16}"
        )
    verdict = "ok" if worst <= TARGET_UPDATE_S else "OVER TARGET"
    print(f"   slowest update {worst:.2f} s (target <= {TARGET_UPDATE_S:.0f} s): {verdict}")


if __name__ == "__main__":
    main()
