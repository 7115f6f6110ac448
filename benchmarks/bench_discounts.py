"""amortize and discounts on a 1,000,000-record frame against naive twins.

The frame is ``cfusage.to_frame(benchmarks._large.large_response(1_000_000))`` (cached as Parquet
under benchmarks/out/), plus one monthly subscription fee per account x product family (charge
period = the whole month; about 22,000 rows), so that amortizing has rows to spread.

- ``amortize(df, "D")`` and ``amortize(df, "MS")`` against a python loop over rows and the
  periods each overlaps;
- ``discounts(df, by=["account", "product"], freq="MS")`` against ``groupby(...).apply`` of a
  per-group function computing the same columns.

The naive twins run on a 100,000-row random slice (their time grows linearly with rows, and with
groups for the groupby-apply) and their time is scaled to the full frame; the output says so.
Run: ``make bench`` or ``python -m benchmarks discounts``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchmarks._common import best_of, large_frame, ratio

TARGET_SPEEDUP = 10.0
TARGET_SECONDS = 2.0
NAIVE_ROWS = 100_000


def with_subscriptions(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` plus one monthly fee row per account x product family (charge period: the month)."""
    fees = df.drop_duplicates(["billing_account_id", "x_product_family_name"]).copy()
    month = fees["charge_period_start"].dt.tz_localize(None).dt.to_period("M")
    fees["charge_period_start"] = month.dt.start_time.dt.tz_localize("UTC").astype(
        "datetime64[us, UTC]"
    )
    fees["charge_period_end"] = (
        (month + 1).dt.start_time.dt.tz_localize("UTC").astype("datetime64[us, UTC]")
    )
    fees["charge_frequency"] = fees["charge_frequency"].cat.add_categories(["Recurring"])
    fees["charge_frequency"] = "Recurring"
    for c in ["consumed_quantity", "pricing_quantity"]:
        fees[c] = pd.array([pd.NA] * len(fees), dtype="Float64")
    for c in ["list_cost", "contracted_cost", "effective_cost", "billed_cost"]:
        fees[c] = fees[c] * 31
    out = pd.concat([df, fees], ignore_index=True)
    out["charge_frequency"] = out["charge_frequency"].astype("category")
    return out


# ---- naive twins ------------------------------------------------------------------------------

_MONEY = ["list_cost", "contracted_cost", "effective_cost", "billed_cost"]


def naive_amortize(df: pd.DataFrame, freq: str) -> pd.DataFrame:
    """A python loop over rows and the calendar periods each overlaps."""
    day = pd.Timedelta(days=1)
    rows = []
    for r in df.itertuples(index=False):
        s, e = r.charge_period_start, r.charge_period_end
        p = s.normalize() if freq == "D" else s.normalize().replace(day=1)
        while True:
            q = p + day if freq == "D" else p + pd.DateOffset(months=1)
            share = (min(e, q) - max(s, p)) / (e - s)
            piece = r._asdict()
            piece["period"] = p
            for c in _MONEY:
                v = piece[c]
                piece[c] = v * share if not pd.isna(v) else v
            rows.append(piece)
            if q >= e:
                break
            p = q
    return pd.DataFrame(rows)


def _naive_group(g: pd.DataFrame) -> pd.Series:
    g = g[g["charge_category"].astype(str) != "Purchase"]
    lst, con, eff = g["list_cost"], g["contracted_cost"], g["effective_cost"]
    basis = lst.notna() & con.notna() & eff.notna()
    bl, bc, be = lst[basis].sum(), con[basis].sum(), eff[basis].sum()
    total_list = lst.sum()
    return pd.Series(
        {
            "rows": len(g),
            "list_cost": total_list,
            "contracted_cost": con.sum(),
            "effective_cost": eff.sum(),
            "billed_cost": g["billed_cost"].sum(),
            "negotiated_savings": bl - bc,
            "commitment_savings": bc - be,
            "total_savings": bl - be,
            "negotiated_savings_rate": (bl - bc) / bl if bl else np.nan,
            "commitment_savings_rate": (bc - be) / bl if bl else np.nan,
            "total_savings_rate": (bl - be) / bl if bl else np.nan,
            "esr_over_list": (bl - be) / bl if bl else np.nan,
            "esr_over_contract": (bc - be) / bc if bc else np.nan,
            "list_cost_coverage": lst.notna().mean(),
            "contracted_cost_coverage": lst[con.notna()].sum() / total_list
            if total_list
            else np.nan,
            "effective_cost_coverage": lst[eff.notna()].sum() / total_list
            if total_list
            else np.nan,
            "billed_cost_coverage": lst[g["billed_cost"].notna()].sum() / total_list
            if total_list
            else np.nan,
            "savings_coverage": bl / total_list if total_list else np.nan,
        }
    )


def naive_discounts(df: pd.DataFrame) -> pd.DataFrame:
    """``groupby(...).apply`` of a per-group function."""
    month = df["charge_period_start"].dt.tz_localize(None).dt.to_period("M").dt.start_time
    keys = [
        month.rename("period"),
        "billing_account_name",
        "x_product_family_name",
        "billing_currency",
    ]
    return df.groupby(keys, observed=True).apply(_naive_group, include_groups=False).reset_index()


# ---- the run ---------------------------------------------------------------------------------


def main(n: int = 1_000_000) -> dict[str, float]:
    from cfusage.analysis._amortization import amortize
    from cfusage.analysis._discounts import discounts

    df = with_subscriptions(large_frame(n))
    multi = int((df["charge_period_end"] - df["charge_period_start"] > pd.Timedelta(days=1)).sum())
    print(f"  frame: {len(df):,} rows ({multi:,} monthly fees spanning a month)")
    sample_rows = np.random.default_rng(0).choice(
        len(df), size=min(NAIVE_ROWS, len(df)), replace=False
    )
    sliced = df.iloc[np.sort(sample_rows)]
    scale = len(df) / len(sliced)

    figures: dict[str, float] = {}
    cases = {
        "amortize D": (lambda: amortize(df, freq="D"), lambda: naive_amortize(sliced, "D")),
        "amortize MS": (lambda: amortize(df, freq="MS"), lambda: naive_amortize(sliced, "MS")),
        "discounts account x product x month": (
            lambda: discounts(df, by=["account", "product"], freq="MS"),
            lambda: naive_discounts(sliced),
        ),
    }
    for name, (fast, naive) in cases.items():
        t_fast, out = best_of(fast, repeat=3)
        t_naive, _ = best_of(naive, repeat=1)
        t_naive_full = t_naive * scale
        speedup = t_naive_full / t_fast
        figures[f"{name} seconds"] = t_fast
        figures[f"{name} speedup"] = speedup
        ok = "ok" if speedup >= TARGET_SPEEDUP and t_fast < TARGET_SECONDS else "MISSED"
        print(
            f"  {name:<37} {t_fast:6.2f} s -> {len(out):>9,} rows | naive {t_naive:6.2f} s on "
            f"{len(sliced):,} rows, x{scale:.1f} = {t_naive_full:7.1f} s | "
            f"{ratio(t_naive_full, t_fast)} faster [{ok}: >= {TARGET_SPEEDUP:.0f}x, < {TARGET_SECONDS:.0f} s]"
        )
    return figures


if __name__ == "__main__":
    main()
