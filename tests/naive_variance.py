"""Plain-Python twins of the variance helpers' formulas, for tests and benchmarks.

Written from the docstrings of :mod:`cfusage.analysis._variance` (and focus.md's "Cost
variance"), with loops and dicts only, so that they share no code with the helpers.
"""

from __future__ import annotations

EFFECTS = ("price", "days", "volume", "mix", "new", "retired")


def pvm_effects_by_group(groups: dict, d0: int, d1: int) -> dict:
    """Price/days/volume/mix/new/retired effects per group, item by item.

    ``groups`` maps a group to ``{item: (c0, c1, q0, q1, n0, n1)}``: the item's known cost and
    pricing quantity in the base and current periods and how many rows it had in each (items
    whose cost is unknown are left out by the caller). ``d0`` and ``d1`` are the days the two
    periods cover. Every group belongs to one whole (one currency).
    """
    ratio = d1 / d0 if d0 else 1.0

    def continuing(v):
        _, _, q0, q1, n0, n1 = v
        return n0 and n1 and q0 > 0 and q1 > 0

    # The whole's day-adjusted volume growth G over its continuing items.
    base = moved = 0.0
    for items in groups.values():
        for v in items.values():
            if continuing(v):
                base += v[0] * ratio
                moved += v[0] / v[2] * v[3]
    growth = moved / base - 1 if base else 0.0
    out = {}
    for group, items in groups.items():
        eff = dict.fromkeys(EFFECTS, 0.0)
        for v in items.values():
            c0, c1, q0, q1, n0, n1 = v
            if continuing(v):
                p0 = c0 / q0
                eff["price"] += c1 - p0 * q1
                eff["days"] += c0 * ratio - c0
                eff["volume"] += c0 * ratio * growth
                eff["mix"] += p0 * q1 - c0 * ratio * (1 + growth)
            elif not n0 or (q0 <= 0 and q1 > 0):
                eff["new"] += c1 - c0
            elif not n1 or (q0 > 0 and q1 <= 0):
                eff["retired"] += c1 - c0
            else:
                eff["price"] += c1 - c0
        out[group] = eff
    return out
