"""Benchmark data: one large, realistic API envelope (generated, never committed)."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import numpy as np

from cfusage.errors import ArgumentError
from cfusage.sample._generate import CONTRACT, METRICS, _hex, envelope

# ---------------------------------------------------------------------------------------------
# Large responses for benchmarks
# ---------------------------------------------------------------------------------------------


def large_response(n_records: int = 1_000_000, *, seed: int = 0) -> bytes:
    """One envelope of ``n_records`` realistic records as JSON bytes, for benchmarks.

    Records cover 31 days from 2026-10-01, all 20 metrics of :data:`METRICS`, and as many accounts
    as needed (``n_records / 620``: about 1,600 for a million), with every field of a revision-B
    record in wire order (about 1 kB per record, like the API). Costs follow the sample's
    identities (list, contracted with the contract's discounts, billed = effective = contracted;
    no free allowance or commitment). Quantities are vectorised numpy; each record is filled into
    a string template, so a million records take a few seconds.

    Parameters
    ----------
    n_records : int, default 1_000_000
    seed : int, default 0

    Returns
    -------
    bytes
        UTF-8 JSON: ``{"success":true,"errors":[],"messages":[],"result":[...]}``.

    Raises
    ------
    cfusage.ArgumentError
        If ``n_records`` is negative.

    Examples
    --------
    >>> import json
    >>> len(json.loads(large_response(1000))["result"])
    1000
    """
    if n_records < 0:
        raise ArgumentError(f"n_records must not be negative, got n_records={n_records!r}")
    n = int(n_records)
    if n == 0:
        return msgspec.json.encode(envelope([]))
    rng = np.random.default_rng(seed)
    n_days, m = 31, METRICS
    i = np.arange(n)
    day = i % n_days
    metric = (i // n_days) % len(m)
    account = i // (n_days * len(m))
    n_accounts = int(account[-1]) + 1
    block = m["block_size"].to_numpy()[metric]
    price = m["list_unit_price"].to_numpy()
    cup = price * (1 - m["contracted_discount"].to_numpy())
    size = rng.lognormal(0.0, 1.0, n_accounts)[account]
    consumed = np.round(block * 50 * size * rng.lognormal(0.0, 0.3, n)).astype(np.int64)
    pq = consumed / block
    list_cost = price[metric] * pq
    contracted = cup[metric] * pq

    def fields(**kw: Any) -> str:
        # ASCII only (non-ASCII escaped as JSON \\uXXXX): joining and encoding stay memcpy-fast
        return json.dumps(kw, ensure_ascii=True, separators=(",", ":"))[1:-1] + ","

    first = np.datetime64("2026-10-01")
    head = [
        fields(
            BillingAccountId=_hex("account", f"large {k}"), BillingAccountName=f"Account {k:05d}"
        )
        + fields(
            SubAccountId=CONTRACT["sub_account_id"],
            SubAccountName=CONTRACT["sub_account_name"],
            BillingPeriodStart="2026-10-01T00:00:00Z",
            BillingPeriodEnd="2026-11-01T00:00:00Z",
        )
        for k in range(n_accounts)
    ]
    days = [
        fields(
            ChargePeriodStart=f"{first + d}T00:00:00Z",
            ChargePeriodEnd=f"{first + d + 1}T00:00:00Z",
            ChargeCategory="Usage",
            ChargeClass=None,
            ChargeFrequency="Usage-Based",
        )
        for d in range(n_days)
    ]
    seg1, seg2, seg3, seg4 = [], [], [], []
    for k, r in enumerate(m.itertuples()):
        seg1.append(
            fields(
                ChargeDescription=f"{r.x_billable_metric_name} \u2014 daily usage",
                x_BillableMetricId=r.x_billable_metric_id,
                x_BillableMetricName=r.x_billable_metric_name,
                x_ProductFamilyId=r.x_product_family_id,
                x_ProductFamilyName=r.x_product_family_name,
                x_ProductCategoryName=r.x_product_category_name,
            )
            + '"ConsumedQuantity":'
        )
        seg2.append("," + fields(ConsumedUnit=r.consumed_unit) + '"PricingQuantity":')
        seg3.append(
            "," + fields(PricingUnit=r.pricing_unit, ListUnitPrice=float(price[k])) + '"ListCost":'
        )
        seg4.append("," + fields(ContractedUnitPrice=float(cup[k])) + '"ContractedCost":')
    tail = (
        ","
        + fields(
            BillingCurrency="USD",
            HostProviderName="Cloudflare",
            InvoiceIssuerName="Cloudflare",
            ServiceProviderName="Cloudflare",
            RegionId=None,
            RegionName=None,
            x_ZoneId=None,
            x_ZoneName=None,
        )[:-1]
        + "}"
    )
    heads = np.array([",{" + h for h in head], dtype=object)
    day_parts = np.array(days, dtype=object)
    segs = [np.array(x, dtype=object) for x in (seg1, seg2, seg3, seg4)]
    chunks = [b'{"success":true,"errors":[],"messages":[],"result":[']
    # chunk by chunk (bounded memory): every piece of every record in one object array, the
    # numbers formatted by msgspec in bulk, then one join per chunk
    for lo in range(0, n, _CHUNK):
        rows = slice(lo, min(lo + _CHUNK, n))
        k = metric[rows]
        pieces = np.empty((rows.stop - lo, 15), dtype=object)
        pieces[:, 0] = heads[account[rows]]
        pieces[:, 1] = day_parts[day[rows]]
        pieces[:, 2] = segs[0][k]
        pieces[:, 3] = _numbers(consumed[rows])
        pieces[:, 4] = segs[1][k]
        pieces[:, 5] = _numbers(pq[rows])
        pieces[:, 6] = segs[2][k]
        pieces[:, 7] = _numbers(list_cost[rows])
        pieces[:, 8] = segs[3][k]
        pieces[:, 9] = pieces[:, 11] = pieces[:, 13] = _numbers(contracted[rows])
        pieces[:, 10] = ',"EffectiveCost":'
        pieces[:, 12] = ',"BilledCost":'
        pieces[:, 14] = tail
        text = "".join(pieces.ravel().tolist())
        chunks.append((text[1:] if lo == 0 else text).encode("ascii"))
    chunks.append(b"]}")
    return b"".join(chunks)


_CHUNK = 100_000


def _numbers(values: np.ndarray) -> np.ndarray:
    """JSON spellings of numbers (shortest round-trip for floats), encoded in bulk."""
    return np.array(msgspec.json.encode(values.tolist()).decode()[1:-1].split(","), dtype=object)
