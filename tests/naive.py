"""Second, deliberately plain implementations shared by the tests and the benchmarks."""

from __future__ import annotations


def pvm_effects(items: dict) -> dict[str, float]:
    """Price/volume/mix/new/retired effects of one group, item by item, in plain Python.

    ``items`` maps an item to ``(c0, c1, q0, q1, n0, n1)``: its cost and pricing quantity in the
    base and current periods and how many rows it had in each. The formulas are focus.md's.
    """
    cont = {k: v for k, v in items.items() if v[4] and v[5] and v[2] > 0 and v[3] > 0}
    s0 = sum(v[0] for v in cont.values())
    g = sum(v[0] / v[2] * v[3] for v in cont.values()) / s0 - 1 if s0 else 0.0
    eff = dict.fromkeys(["price", "volume", "mix", "new", "retired"], 0.0)
    for k, (c0, c1, q0, q1, n0, n1) in items.items():
        if k in cont:
            p0 = c0 / q0
            eff["price"] += (c1 / q1 - p0) * q1
            eff["volume"] += c0 * g
            eff["mix"] += q1 * p0 - c0 * (1 + g)
        elif not n0 or (q0 <= 0 and q1 > 0):
            eff["new"] += c1 - c0
        elif not n1 or (q0 > 0 and q1 <= 0):
            eff["retired"] += c1 - c0
        else:
            eff["price"] += c1 - c0
    return eff
