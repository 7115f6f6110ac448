"""Second, deliberately plain implementations shared by the tests and the benchmarks."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cfusage.analysis._anomalies import MAD_SCALE


def naive_anomalies(df, by, window=28, min_cost=1.0, threshold=3.5, min_history=7, floor=0.10):
    """Loop over groups and days: the docstring's rules, written out without vectorisation.

    A group costs 0 before its first day (new usage is scored against nothing); weekday factors
    come from the group's own days in the 8 whole weeks before the day's week; the level is the
    robust line through the two halves of the deseasonalised window.
    """
    calendar = pd.date_range(
        df["charge_period_start"].min().floor("D"), df["charge_period_start"].max(), freq="D"
    )
    out = []
    for key, part in df.groupby(by, observed=True):
        daily = part.groupby(part["charge_period_start"].dt.floor("D"))["effective_cost"].sum()
        x = daily.reindex(calendar, fill_value=0.0).to_numpy(float)
        i0 = calendar.get_loc(daily.index.min())
        wd = calendar.day_of_week
        for i in range(i0, len(calendar)):
            monday = i - wd[i]  # the factors come from the 8 whole weeks before i's week
            days = list(range(max(i0, monday - 56), monday))
            per_day = {w: [x[j] for j in days if wd[j] == w] for w in range(7)}
            overall = np.median([x[j] for j in days]) if days else 0.0
            f = {w: 1.0 for w in range(7)}
            if all(len(v) >= 3 for v in per_day.values()) and overall > 0:
                f = {w: np.median(v) / overall for w, v in per_day.items()}
            slots = range(i - window, i)  # oldest first; slots before the frame are empty
            y = {k: x[j] / f[wd[j]] for k, j in enumerate(slots) if j >= 0 and f[wd[j]] > 0}
            if len(y) < min_history:
                out.append((key, calendar[i], np.nan, False))
                continue
            half = window // 2
            older = [v for k, v in y.items() if k < window - half]
            newer = [v for k, v in y.items() if k >= window - half]
            if half >= 7 and older and newer:
                m2 = np.median(newer)
                slope = (m2 - np.median(older)) / (window / 2)
                centre = (window - half) + (half - 1) / 2
                line = {k: m2 + slope * (k - centre) for k in y}
                level = max(m2 + slope * (window - centre), 0.0)
            else:
                m = np.median(list(y.values()))
                line = {k: m for k in y}
                level = max(m, 0.0)
            mad = np.median([abs(v - line[k]) for k, v in y.items()])
            usual = f[wd[i]] * level
            scale = max(MAD_SCALE * f[wd[i]] * mad, floor * usual, min_cost / threshold)
            score = (x[i] - usual) / scale
            flag = abs(score) > threshold and abs(x[i] - usual) >= min_cost
            out.append((key, calendar[i], score, flag))
    return pd.DataFrame(out, columns=["key", "period", "score", "flag"])
