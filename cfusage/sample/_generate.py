"""A deterministic sample organization and its billable-usage records.

The sample is what the sample API server serves, what the notebooks and tests read, and what the
benchmarks scale up. Everything is generated from a seed with :class:`numpy.random.Generator`; no
value depends on today's date, so the same seed always gives the same bytes.

The organization
----------------
Five accounts (:data:`ACCOUNTS`; "Team Data" is created mid-period), four zones (:data:`ZONES`), 20
billable metrics across 13 product families (:data:`METRICS`, with Cloudflare's published list
prices and monthly free allowances), one enterprise contract (:data:`CONTRACT`: the SubAccount of
every row, with a negotiated discount per product family) and one prepaid commitment
(:data:`COMMITMENTS`). Daily rows run from 2025-10-01 through 2026-11-23 inclusive (the data is
complete through :data:`COMPLETE_THROUGH`). Planted events, for helpers to find, are listed in
:data:`EVENTS`.

The rules the generator follows
-------------------------------
- Free tier: each metric's monthly allowance per account is consumed in day order (within a day,
  in zone, then region order). ``PricingQuantity`` = billable (post-allowance) consumed quantity /
  block size; a wholly covered row has ``PricingQuantity`` 0 and every cost 0.
- ``ListCost = ListUnitPrice x PricingQuantity``; ``ContractedUnitPrice = ListUnitPrice x (1 - d)``
  with ``d`` the contract's discount for the product family; ``ContractedCost =
  ContractedUnitPrice x PricingQuantity``.
- The prepaid commitment is one ``Purchase`` row (the fee as ``BilledCost``, ``EffectiveCost`` 0).
  Usage in its scope and term draws the balance down at ``ContractedCost``: ``BilledCost`` 0 and
  ``EffectiveCost = ContractedCost`` while the balance lasts, ``BilledCost = ContractedCost`` past
  it. Every other row has ``EffectiveCost = BilledCost = ContractedCost``.
- Stock metrics (``*-months`` units: storage, stored minutes, seats, origins) are reported daily as
  the day's share of the month: the amount held that day / days in the month.

Examples
--------
>>> from cfusage import sample
>>> records = sample.generate_records("2026-03-01", "2026-03-03")
>>> sorted({r["ChargePeriodStart"] for r in records})
['2026-03-01T00:00:00Z', '2026-03-02T00:00:00Z']
>>> sample._generate._windows("2026-01-01", "2026-03-01")
[(datetime.date(2026, 1, 1), datetime.date(2026, 2, 1)), (datetime.date(2026, 2, 1), datetime.date(2026, 3, 1))]
"""

from __future__ import annotations

import datetime as dt
import functools
import gzip
import hashlib
import sys
import uuid
from collections.abc import Iterable, Mapping, Sequence
from copy import deepcopy
from importlib import resources
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pandas as pd

from ..errors import ArgumentError
from ..io import DateLike, to_frame, utc_day
from ..schema import COLUMNS, REVISIONS

__all__ = [
    "ACCOUNTS",
    "COMMITMENTS",
    "COMPLETE_THROUGH",
    "CONTRACT",
    "END",
    "EVENTS",
    "METRICS",
    "ORG_ID",
    "PRICE_CHANGES",
    "START",
    "ZONES",
    "envelope",
    "generate_records",
    "load",
    "main",
    "price_book_path",
    "sample_paths",
    "to_revision",
    "write_price_book",
    "write_sample",
]


def _hex(kind: str, name: str) -> str:
    """A stable 32-hex id for a named thing (the same on every machine and run)."""
    return hashlib.md5(f"cfusage-sample:{kind}:{name}".encode()).hexdigest()


def _uuid(kind: str, name: str) -> str:
    return str(uuid.UUID(_hex(kind, name), version=4))


#: First charge day of the sample.
START = dt.date(2025, 10, 1)
#: End (exclusive) of the sample's charge days.
END = dt.date(2026, 11, 24)
#: The last day fully delivered.
COMPLETE_THROUGH = END - dt.timedelta(days=1)

#: The organization id (32-hex).
ORG_ID = _hex("organization", "Acme Corporation")

# ---------------------------------------------------------------------------------------------
# The metric catalogue
# ---------------------------------------------------------------------------------------------

_WORKERS_URL = "https://developers.cloudflare.com/workers/platform/pricing/"
_R2_URL = "https://developers.cloudflare.com/r2/pricing/"

# id, name, family, family id, category, consumed unit, pricing unit, block size, list price,
# free allowance (consumed units per billing period), zone scoped, contract level, source
_METRIC_SPECS: tuple[tuple[Any, ...], ...] = (
    ("workers_standard_requests", "Workers Standard Requests", "Workers", "workers", "Developer", "Requests", "1M Requests", 1e6, 0.30, 10e6, False, False, _WORKERS_URL),
    ("workers_cpu_time", "Workers CPU Time", "Workers", "workers", "Developer", "CPU Milliseconds", "1M CPU Milliseconds", 1e6, 0.02, 30e6, False, False, _WORKERS_URL),
    ("workers_kv_reads", "Workers KV Reads", "Workers KV", "workers_kv", "Developer", "Reads", "1M Reads", 1e6, 0.50, 10e6, False, False, "https://developers.cloudflare.com/kv/platform/pricing/"),
    ("workers_kv_writes", "Workers KV Writes", "Workers KV", "workers_kv", "Developer", "Writes", "1M Writes", 1e6, 5.00, 1e6, False, False, "https://developers.cloudflare.com/kv/platform/pricing/"),
    ("durable_objects_requests", "Durable Objects Requests", "Durable Objects", "durable_objects", "Developer", "Requests", "1M Requests", 1e6, 0.15, 1e6, False, False, "https://developers.cloudflare.com/durable-objects/platform/pricing/"),
    ("queues_operations", "Queues Operations", "Queues", "queues", "Developer", "Operations", "1M Operations", 1e6, 0.40, 1e6, False, False, "https://developers.cloudflare.com/queues/platform/pricing/"),
    ("d1_rows_read", "D1 Rows Read", "D1", "d1", "Developer", "Rows", "1M Rows", 1e6, 0.001, 25e9, False, False, "https://developers.cloudflare.com/d1/platform/pricing/"),
    ("d1_rows_written", "D1 Rows Written", "D1", "d1", "Developer", "Rows", "1M Rows", 1e6, 1.00, 50e6, False, False, "https://developers.cloudflare.com/d1/platform/pricing/"),
    ("r2_storage", "R2 Storage (Standard)", "R2", "r2", "Developer", "GB-months", "GB-month", 1.0, 0.015, 10.0, False, False, _R2_URL),
    ("r2_class_a_operations", "R2 Class A Operations", "R2", "r2", "Developer", "Operations", "1M Operations", 1e6, 4.50, 1e6, False, False, _R2_URL),
    ("r2_class_b_operations", "R2 Class B Operations", "R2", "r2", "Developer", "Operations", "1M Operations", 1e6, 0.36, 10e6, False, False, _R2_URL),
    ("stream_minutes_stored", "Stream Minutes Stored", "Stream", "stream", "Media", "Minute-months", "1K Minute-months", 1e3, 5.00, 0.0, False, False, "https://developers.cloudflare.com/stream/pricing/"),
    ("stream_minutes_delivered", "Stream Minutes Delivered", "Stream", "stream", "Media", "Minutes", "1K Minutes", 1e3, 1.00, 0.0, False, False, "https://developers.cloudflare.com/stream/pricing/"),
    ("images_transformations", "Images Transformations", "Images", "images", "Media", "Transformations", "1K Transformations", 1e3, 0.50, 5e3, False, False, "https://developers.cloudflare.com/images/pricing/"),
    ("argo_smart_routing_data", "Argo Smart Routing Data Transfer", "Argo Smart Routing", "argo", "Application Performance", "GB", "GB", 1.0, 0.10, 1.0, True, False, "https://developers.cloudflare.com/argo-smart-routing/"),
    ("load_balancing_dns_queries", "Load Balancing DNS Queries", "Load Balancing", "load_balancing", "Application Performance", "Queries", "500K Queries", 5e5, 0.50, 5e5, True, False, "https://developers.cloudflare.com/load-balancing/"),
    ("load_balancing_origins", "Load Balancing Origins", "Load Balancing", "load_balancing", "Application Performance", "Origin-months", "Origin-month", 1.0, 5.00, 0.0, True, False, "https://developers.cloudflare.com/load-balancing/"),
    ("rate_limiting_requests", "Rate Limiting Good Requests", "Rate Limiting", "rate_limiting", "Application Security", "Requests", "10K Requests", 1e4, 0.05, 1e4, True, False, "https://developers.cloudflare.com/waf/rate-limiting-rules/"),
    ("zero_trust_seats", "Zero Trust Seats", "Zero Trust", "zero_trust", "Cloudflare One", "Seat-months", "Seat-month", 1.0, 7.00, 0.0, False, True, "https://www.cloudflare.com/plans/zero-trust-services/"),
    ("workers_ai_neurons", "Workers AI Neurons", "Workers AI", "workers_ai", "Developer", "Neurons", "1K Neurons", 1e3, 0.011, 3e5, False, False, "https://developers.cloudflare.com/workers-ai/platform/pricing/"),
)  # fmt: skip

#: The contract every row falls under (the SubAccount), with its negotiated discounts.
CONTRACT: dict[str, Any] = {
    "sub_account_id": _uuid("contract", "Enterprise Agreement 2025"),
    "sub_account_name": "Enterprise Agreement 2025",
    "start": START,
    "discounts": {"Workers": 0.20, "R2": 0.15, "Stream": 0.10},
}

#: List-price changes inside the sample: from ``effective_from`` (UTC midnight) the metric's list
#: price is ``list_unit_price`` (it was ``previous_list_unit_price``).
PRICE_CHANGES = pd.DataFrame(
    {
        "x_billable_metric_id": pd.Series(["r2_class_a_operations"], dtype="str"),
        "effective_from": pd.to_datetime(["2026-07-01"], utc=True).astype("datetime64[us, UTC]"),
        "previous_list_unit_price": pd.array([4.50], dtype="Float64"),
        "list_unit_price": pd.array([5.00], dtype="Float64"),
    }
)


def _metrics_frame() -> pd.DataFrame:
    cols = [
        "x_billable_metric_id",
        "x_billable_metric_name",
        "x_product_family_name",
        "x_product_family_id",
        "x_product_category_name",
        "consumed_unit",
        "pricing_unit",
        "block_size",
        "list_unit_price",
        "free_allowance",
        "zone_scoped",
        "contract_level",
        "source",
    ]
    df = pd.DataFrame(list(_METRIC_SPECS), columns=cols)
    # the catalogue carries the current list price (after any change in PRICE_CHANGES)
    latest = PRICE_CHANGES.sort_values("effective_from").groupby("x_billable_metric_id").last()
    current = df["x_billable_metric_id"].map(latest["list_unit_price"].astype(float))
    df["list_unit_price"] = current.fillna(df["list_unit_price"]).astype(float)
    df["contracted_discount"] = df["x_product_family_name"].map(CONTRACT["discounts"]).fillna(0.0)
    return df.astype(
        {
            "x_billable_metric_id": "str",
            "x_billable_metric_name": "str",
            "x_product_family_name": "str",
            "x_product_family_id": "str",
            "x_product_category_name": "str",
            "consumed_unit": "str",
            "pricing_unit": "str",
            "source": "str",
            "block_size": "float64",
            "list_unit_price": "float64",
            "free_allowance": "float64",
            "contracted_discount": "float64",
            "zone_scoped": "bool",
            "contract_level": "bool",
        }
    )


#: The metric catalogue: one row per billable metric. ``list_unit_price`` is the current list price
#: per ``pricing_unit`` (see :data:`PRICE_CHANGES` for earlier prices); ``block_size`` is how many
#: consumed units make one pricing unit; ``free_allowance`` is in consumed units per billing period
#: (calendar month) per account; ``contracted_discount`` is the sample contract's fraction;
#: ``contract_level`` metrics are bought on the contract (revision C omits their account).
METRICS: pd.DataFrame = _metrics_frame()

# ---------------------------------------------------------------------------------------------
# Accounts, zones and what each account uses
# ---------------------------------------------------------------------------------------------

_REGIONS = {
    "WNAM": "Western North America",
    "ENAM": "Eastern North America",
    "WEUR": "Western Europe",
    "EEUR": "Eastern Europe",
    "APAC": "Asia-Pacific",
}

# account name -> (created, [(metric, level at START, growth per year, zone, region, first day,
# end day exclusive)]); level is the daily consumed quantity for flows, the amount held for stocks.
_D = dt.date
_ACCOUNT_SPECS: dict[str, tuple[dt.date, list[tuple[Any, ...]]]] = {
    "Acme Prod": (_D(2025, 10, 1), [
        ("workers_standard_requests", 180e6, 0.55, None, None, None, None),
        ("workers_cpu_time", 1.2e9, 0.60, None, None, None, None),
        ("workers_kv_reads", 40e6, 0.40, None, None, None, None),
        ("workers_kv_writes", 1.5e6, 0.30, None, None, None, None),
        ("durable_objects_requests", 20e6, 0.50, None, None, None, None),
        ("r2_storage", 26_000.0, 0.60, None, "WNAM", None, None),
        ("r2_storage", 11_000.0, 0.45, None, "WEUR", None, None),
        ("r2_class_a_operations", 3.6e6, 0.50, None, "WNAM", None, None),
        ("r2_class_a_operations", 1.2e6, 0.40, None, "WEUR", None, None),
        ("r2_class_b_operations", 48e6, 0.50, None, "WNAM", None, None),
        ("r2_class_b_operations", 14e6, 0.40, None, "WEUR", None, None),
        ("argo_smart_routing_data", 1_500.0, 0.35, "acme.example", None, None, None),
        ("argo_smart_routing_data", 400.0, 0.50, "acme-api.example", None, None, None),
        ("load_balancing_dns_queries", 3e6, 0.30, "acme.example", None, None, None),
        ("load_balancing_dns_queries", 1e6, 0.40, "acme-api.example", None, None, None),
        ("load_balancing_origins", 4.0, 0.40, "acme.example", None, None, None),
        ("load_balancing_origins", 2.0, 0.0, "acme-api.example", None, None, None),
        ("rate_limiting_requests", 5e6, 0.30, "acme.example", None, None, None),
        ("rate_limiting_requests", 2e6, 0.45, "acme-api.example", None, None, None),
        ("zero_trust_seats", 180.0, 0.20, None, None, None, None),
    ]),
    "Acme Staging": (_D(2025, 10, 1), [
        ("workers_standard_requests", 250e3, 0.40, None, None, None, None),
        ("workers_cpu_time", 2.0e6, 0.40, None, None, None, None),
        ("workers_kv_reads", 150e3, 0.30, None, None, None, None),
        ("r2_storage", 6.0, 0.50, None, "WNAM", None, None),
        ("r2_class_a_operations", 25e3, 0.40, None, "WNAM", None, None),
        ("r2_class_b_operations", 200e3, 0.40, None, "WNAM", None, None),
        ("rate_limiting_requests", 5e3, 0.30, "acme-staging.example", None, None, None),
    ]),
    "Team Media": (_D(2025, 10, 1), [
        ("stream_minutes_stored", 400e3, 0.30, None, None, None, _D(2026, 7, 1)),
        ("stream_minutes_delivered", 300e3, 0.20, None, None, None, _D(2026, 7, 1)),
        ("images_transformations", 60e3, 0.50, None, None, None, None),
        ("r2_storage", 80_000.0, 0.50, None, "ENAM", None, None),
        ("r2_class_a_operations", 1.5e6, 0.40, None, "ENAM", None, None),
        ("r2_class_b_operations", 25e6, 0.60, None, "ENAM", None, None),
        ("workers_standard_requests", 8e6, 0.50, None, None, None, None),
        ("argo_smart_routing_data", 900.0, 0.40, "teammedia.example", None, None, None),
    ]),
    "Team Data": (_D(2026, 1, 15), [
        ("d1_rows_read", 3e9, 0.80, None, None, None, None),
        ("d1_rows_written", 4e6, 0.80, None, None, None, None),
        ("r2_storage", 20_000.0, 1.00, None, "EEUR", None, None),
        ("r2_class_a_operations", 3e6, 0.60, None, "EEUR", None, None),
        ("r2_class_b_operations", 12e6, 0.60, None, "EEUR", None, None),
        ("workers_standard_requests", 20e6, 0.60, None, None, None, None),
        ("workers_cpu_time", 300e6, 0.60, None, None, None, None),
        ("queues_operations", 5e6, 0.70, None, None, None, None),
    ]),
    "Team AI": (_D(2025, 10, 1), [
        ("workers_standard_requests", 15e6, 0.70, None, None, None, None),
        ("workers_cpu_time", 400e6, 0.80, None, None, None, None),
        ("workers_ai_neurons", 8e6, 1.50, None, None, _D(2026, 4, 10), None),
        ("r2_storage", 5_000.0, 0.80, None, "APAC", None, None),
        ("r2_class_a_operations", 400e3, 0.60, None, "APAC", None, None),
        ("r2_class_b_operations", 3e6, 0.60, None, "APAC", None, None),
        ("workers_kv_reads", 5e6, 0.60, None, None, None, None),
    ]),
}  # fmt: skip

_ZONE_OWNERS = {
    "acme.example": "Acme Prod",
    "acme-api.example": "Acme Prod",
    "acme-staging.example": "Acme Staging",
    "teammedia.example": "Team Media",
}

#: The accounts of the organization: id (32-hex), name and the first day with usage.
ACCOUNTS = pd.DataFrame(
    {
        "billing_account_id": pd.Series([_hex("account", n) for n in _ACCOUNT_SPECS], dtype="str"),
        "billing_account_name": pd.Series(list(_ACCOUNT_SPECS), dtype="str"),
        "created": pd.to_datetime([v[0] for v in _ACCOUNT_SPECS.values()], utc=True).astype(
            "datetime64[us, UTC]"
        ),
    }
)

#: The zones: id (32-hex), name and owning account.
ZONES = pd.DataFrame(
    {
        "x_zone_id": pd.Series([_hex("zone", z) for z in _ZONE_OWNERS], dtype="str"),
        "x_zone_name": pd.Series(list(_ZONE_OWNERS), dtype="str"),
        "billing_account_id": pd.Series(
            [_hex("account", a) for a in _ZONE_OWNERS.values()], dtype="str"
        ),
    }
)

_COMMITMENT_FEE = 60_000.0
_COMMITMENT_FAMILIES = ("Workers", "R2")
_COMMITMENT_ACCOUNT = "Acme Prod"
_TERM = (_D(2025, 11, 1), _D(2026, 11, 1))

#: The prepaid commitments: one row per commitment. ``kind`` "prepaid_balance": a balance paid up
#: front and drawn down at contracted prices by covered usage in day order until spent; what is
#: left at the end of the term is unused (see :func:`cfusage.amortize_commitment`). Scope: usage
#: of ``billing_account_id`` whose
#: product family is one of the ``"|"``-separated names in ``x_product_family_name`` (NA: every
#: family) and whose metric is ``x_billable_metric_id`` (NA: every metric), charged within
#: ``[term_start, term_end)``. The fee is paid up front by the one ``Purchase`` row
#: (``x_billable_metric_id`` ``"prepaid_commitment"``) of that account whose charge period is the
#: term.
COMMITMENTS = pd.DataFrame(
    {
        "commitment_id": pd.Series([_uuid("commitment", "Acme Prod prepaid 2025")], dtype="str"),
        "commitment_name": pd.Series(
            ["Prepaid commitment: Workers and R2, 12 months"], dtype="str"
        ),
        "kind": pd.Series(["prepaid_balance"], dtype="str"),
        "amount": pd.array([_COMMITMENT_FEE], dtype="Float64"),
        "currency": pd.Series(["USD"], dtype="str"),
        "term_start": pd.to_datetime([_TERM[0]], utc=True).astype("datetime64[us, UTC]"),
        "term_end": pd.to_datetime([_TERM[1]], utc=True).astype("datetime64[us, UTC]"),
        "billing_account_id": pd.Series([_hex("account", _COMMITMENT_ACCOUNT)], dtype="str"),
        "billing_account_name": pd.Series([_COMMITMENT_ACCOUNT], dtype="str"),
        "x_product_family_name": pd.Series(["|".join(_COMMITMENT_FAMILIES)], dtype="str"),
        "x_billable_metric_id": pd.Series([pd.NA], dtype="str"),
    }
)

_SPIKE = ("Team Data", "r2_class_a_operations", _D(2026, 3, 14), 9.0)
_CORRECTION = ("Team Media", "stream_minutes_delivered", _D(2026, 2, 10), 0.30, _D(2026, 3, 1))

#: The planted events, for notebooks and tests to refer to.
EVENTS: dict[str, dict[str, Any]] = {
    "price_change": {
        "x_billable_metric_id": "r2_class_a_operations",
        "date": _D(2026, 7, 1),
        "previous_list_unit_price": 4.50,
        "list_unit_price": 5.00,
    },
    "spike": {
        "billing_account_name": _SPIKE[0],
        "x_billable_metric_id": _SPIKE[1],
        "date": _SPIKE[2],
        "factor": _SPIKE[3],
    },
    "correction": {
        "billing_account_name": _CORRECTION[0],
        "x_billable_metric_id": _CORRECTION[1],
        "charge_date": _CORRECTION[2],
        "fraction": _CORRECTION[3],
        "billing_period_start": _CORRECTION[4],
    },
    "adoption": {"x_product_family_name": "Workers AI", "date": _D(2026, 4, 10)},
    "retirement": {"x_product_family_name": "Stream", "last_date": _D(2026, 6, 30)},
    "account_created": {"billing_account_name": "Team Data", "date": _D(2026, 1, 15)},
    "commitment": {
        "billing_account_name": _COMMITMENT_ACCOUNT,
        "families": _COMMITMENT_FAMILIES,
        "amount": _COMMITMENT_FEE,
        "term_start": _TERM[0],
        "term_end": _TERM[1],
    },
}

# how each metric behaves: weekend factor, noise sigma, stock (held amount reported per day)
_WEEKEND = {
    "stream_minutes_delivered": 1.25,
    "images_transformations": 1.10,
    "argo_smart_routing_data": 0.85,
    "workers_ai_neurons": 0.90,
    "d1_rows_read": 0.55,
    "d1_rows_written": 0.50,
    "queues_operations": 0.60,
}
_STOCK_UNITS = ("GB-months", "Minute-months", "Seat-months", "Origin-months")
_INTEGER_STOCKS = ("Seat-months", "Origin-months")
_MEASURED_UNITS = ("GB",)  # flows that are not counts (not whole numbers)

# ---------------------------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------------------------


def _copy_zone(zone: str | None, copy: int) -> str | None:
    """The zone of a copy of a base account: ``acme.example`` -> ``acme-002.example``."""
    if zone is None or copy == 0:
        return zone
    name, _, tld = zone.rpartition(".")
    return f"{name}-{copy + 1:03d}.{tld}"


_OPEN_END = _D(2100, 1, 1)  # series without a retirement date go on past the sample


def _series_table(scale: int) -> pd.DataFrame:
    """One row per usage series (account x metric x zone x region), in a fixed order."""
    rows = []
    for copy in range(scale):
        for name, (created, specs) in _ACCOUNT_SPECS.items():
            account = name if copy == 0 else f"{name} {copy + 1:03d}"
            for metric, level, growth, zone, region, first, end in specs:
                rows.append(
                    {
                        "account": account,
                        "base_account": name,
                        "copy": copy,
                        "created": created,
                        "metric": metric,
                        "level": level,
                        "growth": growth,
                        "zone": _copy_zone(zone, copy),
                        "region": region,
                        "first": first or created,
                        "end": end or _OPEN_END,
                    }
                )
    table = pd.DataFrame(rows)
    table["first"] = [max(f, c) for f, c in zip(table["first"], table["created"], strict=True)]
    return table


def _shocks(series: pd.DataFrame, days: np.ndarray, seed: int) -> tuple[np.ndarray, ...]:
    """Standard-normal shocks per series x day, their normalised random walk, and copy sizes.

    Each copy of the base accounts draws from its own stream, day by day (days from
    :data:`START` forward, earlier days backward from a second stream), so a day's values do not
    depend on the range generated or on ``scale``.
    """
    n, m = len(series), len(days)
    forward = days >= np.datetime64(START, "D")
    m_f = int(forward.sum())
    shocks, walk, size = np.empty((n, m)), np.empty((n, m)), np.ones(n)
    copies = series["copy"].to_numpy()
    for copy in np.unique(copies):
        rows = np.flatnonzero(copies == copy)
        k = len(rows)
        rng = np.random.default_rng(seed if copy == 0 else [seed, int(copy)])
        if copy:
            size[rows] = rng.lognormal(0.0, 0.6, k)
        ahead = rng.standard_normal((m_f, k)).T
        back = np.random.default_rng([seed, int(copy), 1]).standard_normal((m - m_f, k)).T
        shocks[np.ix_(rows, forward)] = ahead
        shocks[np.ix_(rows, ~forward)] = back[:, ::-1]
        walk[np.ix_(rows, forward)] = np.cumsum(ahead, axis=1) / np.sqrt(np.arange(1, m_f + 1))
        walk[np.ix_(rows, ~forward)] = (
            np.cumsum(back, axis=1) / np.sqrt(np.arange(1, m - m_f + 1))
        )[:, ::-1]
    return shocks, walk, size


def _quantities(series: pd.DataFrame, days: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Consumed quantity per series x day, and where each series is active."""
    metrics = METRICS.set_index("x_billable_metric_id")
    t = (days - np.datetime64(START, "D")).astype(float) / 365.0
    dow = (days.astype("datetime64[D]").view("int64") - 4) % 7  # 0 = Monday
    weekend = dow >= 5
    month = days.astype("datetime64[M]")
    days_in_month = ((month + 1).astype("datetime64[D]") - month.astype("datetime64[D]")).astype(
        float
    )
    unit = metrics.loc[series["metric"], "consumed_unit"].to_numpy()
    stock = np.isin(unit, _STOCK_UNITS)
    integer_stock = np.isin(unit, _INTEGER_STOCKS)
    wk = series["metric"].map(_WEEKEND).fillna(0.75).to_numpy()
    wk = np.where(stock, 1.0, wk)
    shocks, walk, size = _shocks(series, days, seed)
    level = series["level"].to_numpy() * size
    growth = series["growth"].to_numpy()

    trend = level[:, None] * np.exp(growth[:, None] * t[None, :])
    season = np.where(weekend[None, :], wk[:, None], 1.0)
    sigma = np.where(stock, 0.004, 0.09)[:, None]
    # stocks drift slowly (a random walk), flows are noisy day to day
    noise = np.where(stock[:, None], np.exp(sigma * walk), np.exp(sigma * shocks - sigma**2 / 2))
    held_or_used = trend * season * noise
    held_or_used = np.where(
        integer_stock[:, None], np.maximum(np.round(held_or_used), 1.0), held_or_used
    )
    counted = ~stock & ~np.isin(unit, _MEASURED_UNITS)
    consumed = np.where(
        stock[:, None],
        held_or_used / days_in_month[None, :],
        np.where(counted[:, None], np.round(held_or_used), np.round(held_or_used, 3)),
    )
    first = pd.to_datetime(series["first"]).to_numpy().astype("datetime64[D]")
    end = pd.to_datetime(series["end"]).to_numpy().astype("datetime64[D]")
    active = (days[None, :] >= first[:, None]) & (days[None, :] < end[:, None])
    return consumed, active


def _usage(seed: int, scale: int, first: dt.date, last: dt.date) -> dict[str, Any]:
    """Usage rows for charge days in ``[first, last)``, as column arrays plus the series table.

    Rows are ordered by account, metric, day and series (the order the free allowance is consumed
    in). Costs follow the rules of the module docstring; no commitment yet.
    """
    series = _series_table(scale)
    days = np.arange(np.datetime64(first, "D"), np.datetime64(last, "D"))
    consumed, active = _quantities(series, days, seed)
    account = series["account"].to_numpy(dtype=object)
    metric = series["metric"].to_numpy(dtype=object)

    acc, met, day, factor = _SPIKE
    s = (account == acc) & (metric == met)
    d = days == np.datetime64(day, "D")
    consumed[np.ix_(s, d)] = np.round(consumed[np.ix_(s, d)] * factor)

    si, di = np.nonzero(active)
    acc_code = pd.factorize(account)[0]
    met_code = pd.factorize(metric)[0]
    order = np.lexsort((si, di, met_code[si], acc_code[si]))
    si, di = si[order], di[order]
    q = consumed[si, di]
    month = days.astype("datetime64[M]").astype(np.int64)[di]

    # free allowance, consumed in order within account x metric x month
    mt = METRICS.set_index("x_billable_metric_id")
    new_group = np.ones(len(si), dtype=bool)
    new_group[1:] = (
        (acc_code[si][1:] != acc_code[si][:-1])
        | (met_code[si][1:] != met_code[si][:-1])
        | (month[1:] != month[:-1])
    )
    # a running sum per group (not one global cumsum: that would lose precision)
    cum = pd.Series(q).groupby(np.cumsum(new_group)).cumsum().to_numpy()
    prev = cum - q
    allowance = mt["free_allowance"].reindex(metric).to_numpy()[si]
    billable = np.maximum(cum - allowance, 0.0) - np.maximum(prev - allowance, 0.0)
    pq = billable / mt["block_size"].reindex(metric).to_numpy()[si]

    # list price: the earliest one, then each change from its date
    base_price = {spec[0]: spec[8] for spec in _METRIC_SPECS}
    price = np.array([base_price[m] for m in metric], dtype=float)[si]
    row_day = days[di]
    for change in PRICE_CHANGES.itertuples():
        hit = (metric[si] == change.x_billable_metric_id) & (
            row_day >= np.datetime64(change.effective_from.date(), "D")
        )
        price = np.where(hit, float(change.list_unit_price), price)
    family = mt["x_product_family_name"].reindex(metric).to_numpy(dtype=object)
    discount = np.array([CONTRACT["discounts"].get(f, 0.0) for f in family])[si]
    discount = np.where(row_day >= np.datetime64(CONTRACT["start"], "D"), discount, 0.0)
    contracted_price = price * (1.0 - discount)
    return {
        "series": series,
        "days": days,
        "si": si,
        "di": di,
        "q": q,
        "pricing_quantity": pq,
        "list_unit_price": price,
        "contracted_unit_price": contracted_price,
        "list_cost": price * pq,
        "contracted_cost": contracted_price * pq,
    }


def _commitment_billed(u: dict[str, Any]) -> np.ndarray:
    """Billed cost of each usage row, drawing the prepaid balance down in day order."""
    contracted = u["contracted_cost"]
    series, si = u["series"], u["si"]
    day = u["days"][u["di"]]
    family = METRICS.set_index("x_billable_metric_id")["x_product_family_name"]
    in_scope_series = (series["account"].to_numpy(dtype=object) == _COMMITMENT_ACCOUNT) & np.isin(
        family.reindex(series["metric"]).to_numpy(dtype=object), _COMMITMENT_FAMILIES
    )
    scope = (
        in_scope_series[si]
        & (day >= np.datetime64(_TERM[0], "D"))
        & (day < np.datetime64(_TERM[1], "D"))
    )
    billed = contracted.copy()
    idx = np.flatnonzero(scope)
    order = idx[np.lexsort((si[idx], day[idx]))]
    cum = np.cumsum(contracted[order])
    prev = cum - contracted[order]
    fee = _COMMITMENT_FEE
    billed[order] = np.maximum(cum - fee, 0.0) - np.maximum(prev - fee, 0.0)
    return billed


def _iso(days: np.ndarray) -> np.ndarray:
    return np.char.add(np.datetime_as_string(days.astype("datetime64[D]"), unit="D"), "T00:00:00Z")


def _objects(values: np.ndarray) -> np.ndarray:
    return np.asarray(values).astype(object)


def _wire_columns(u: dict[str, Any]) -> dict[str, np.ndarray]:
    """Usage rows in wire names: one object array per field (Python values, None for null)."""
    series, si, di, days = u["series"], u["si"], u["di"], u["days"]
    mt = METRICS.set_index("x_billable_metric_id")
    metric = series["metric"].to_numpy(dtype=object)
    account = series["account"].to_numpy(dtype=object)
    zone = np.array([z if isinstance(z, str) else None for z in series["zone"]], dtype=object)
    region = np.array([r if isinstance(r, str) else None for r in series["region"]], dtype=object)

    def per_series(values: Any) -> np.ndarray:
        return np.asarray(values, dtype=object)[si]

    def per_metric(name: str) -> np.ndarray:
        return per_series(mt[name].reindex(metric).to_numpy(dtype=object))

    month = days.astype("datetime64[M]")
    day_iso, next_iso = _objects(_iso(days)), _objects(_iso(days + 1))
    bp_start = _objects(_iso(month.astype("datetime64[D]")))
    bp_end = _objects(_iso((month + 1).astype("datetime64[D]")))
    unit = per_metric("consumed_unit")
    q = u["q"]
    consumed = _objects(q)
    whole = ~np.isin(unit, _STOCK_UNITS + _MEASURED_UNITS)
    consumed[whole] = _objects(q[whole].astype(np.int64))
    names = mt["x_billable_metric_name"].reindex(metric).to_numpy(dtype=object)
    n = len(si)
    const = {
        "SubAccountId": CONTRACT["sub_account_id"],
        "SubAccountName": CONTRACT["sub_account_name"],
        "ChargeCategory": "Usage",
        "ChargeClass": None,
        "ChargeFrequency": "Usage-Based",
        "BillingCurrency": "USD",
        "HostProviderName": "Cloudflare",
        "InvoiceIssuerName": "Cloudflare",
        "ServiceProviderName": "Cloudflare",
    }
    cols: dict[str, np.ndarray] = {
        "BillingAccountId": per_series([_hex("account", a) for a in account]),
        "BillingAccountName": per_series(account),
        "BillingPeriodStart": bp_start[di],
        "BillingPeriodEnd": bp_end[di],
        "ChargePeriodStart": day_iso[di],
        "ChargePeriodEnd": next_iso[di],
        "ChargeDescription": per_series([f"{m} \u2014 daily usage" for m in names]),
        "x_BillableMetricId": per_series(metric),
        "x_BillableMetricName": per_series(names),
        "x_ProductFamilyId": per_metric("x_product_family_id"),
        "x_ProductFamilyName": per_metric("x_product_family_name"),
        "x_ProductCategoryName": per_metric("x_product_category_name"),
        "ConsumedQuantity": consumed,
        "ConsumedUnit": unit,
        "PricingQuantity": _objects(u["pricing_quantity"]),
        "PricingUnit": per_metric("pricing_unit"),
        "ListUnitPrice": _objects(u["list_unit_price"]),
        "ListCost": _objects(u["list_cost"]),
        "ContractedUnitPrice": _objects(u["contracted_unit_price"]),
        "ContractedCost": _objects(u["contracted_cost"]),
        "EffectiveCost": _objects(u["contracted_cost"]),
        "BilledCost": _objects(u["billed_cost"]),
        "RegionId": per_series(region),
        "RegionName": per_series([_REGIONS.get(r) for r in region]),
        "x_ZoneId": per_series([None if z is None else _hex("zone", z) for z in zone]),
        "x_ZoneName": per_series(zone),
    }
    for k, v in const.items():
        cols[k] = np.full(n, v, dtype=object)
    return {c.wire: cols[c.wire] for c in COLUMNS if c.wire in cols}


def _special_rows(u: dict[str, Any], cols: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """The commitment's Purchase row and the correction row (wire records)."""
    start, end = _TERM
    purchase = {
        "BillingAccountId": _hex("account", _COMMITMENT_ACCOUNT),
        "BillingAccountName": _COMMITMENT_ACCOUNT,
        "SubAccountId": CONTRACT["sub_account_id"],
        "SubAccountName": CONTRACT["sub_account_name"],
        "BillingPeriodStart": f"{start:%Y-%m-%d}T00:00:00Z",
        "BillingPeriodEnd": f"{_next_month(start):%Y-%m-%d}T00:00:00Z",
        "ChargePeriodStart": f"{start:%Y-%m-%d}T00:00:00Z",
        "ChargePeriodEnd": f"{end:%Y-%m-%d}T00:00:00Z",
        "ChargeCategory": "Purchase",
        "ChargeClass": None,
        "ChargeFrequency": "One-Time",
        "ChargeDescription": COMMITMENTS["commitment_name"].iloc[0],
        "x_BillableMetricId": "prepaid_commitment",
        "x_BillableMetricName": "Prepaid Commitment",
        "ListCost": _COMMITMENT_FEE,
        "ContractedCost": _COMMITMENT_FEE,
        "EffectiveCost": 0.0,
        "BilledCost": _COMMITMENT_FEE,
        "BillingCurrency": "USD",
        "HostProviderName": "Cloudflare",
        "InvoiceIssuerName": "Cloudflare",
        "ServiceProviderName": "Cloudflare",
    }
    rows = [{k: purchase.get(k) for k in cols}]

    account, metric, day, fraction, billing = _CORRECTION
    hit = np.flatnonzero(
        (cols["BillingAccountName"] == account)
        & (cols["x_BillableMetricId"] == metric)
        & (u["days"][u["di"]] == np.datetime64(day, "D"))
    )
    if len(hit):
        row = {k: v[hit[0]] for k, v in cols.items()}
        block = float(METRICS.set_index("x_billable_metric_id").loc[metric, "block_size"])
        q = -round(row["ConsumedQuantity"] * fraction)
        pq = q / block
        contracted = row["ContractedUnitPrice"] * pq
        row.update(
            {
                "BillingPeriodStart": f"{billing:%Y-%m-%d}T00:00:00Z",
                "BillingPeriodEnd": f"{_next_month(billing):%Y-%m-%d}T00:00:00Z",
                "ChargeClass": "Correction",
                "ChargeDescription": f"{row['x_BillableMetricName']} \u2014 correction of "
                f"over-metered usage on {day:%Y-%m-%d}",
                "ConsumedQuantity": q,
                "PricingQuantity": pq,
                "ListCost": row["ListUnitPrice"] * pq,
                "ContractedCost": contracted,
                "EffectiveCost": contracted,
                "BilledCost": contracted,
            }
        )
        rows.append(row)
    return rows


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def generate_records(
    start: DateLike = "2025-10-01",
    end: DateLike = "2026-11-24",
    *,
    seed: int = 7,
    scale: int = 1,
) -> list[dict[str, Any]]:
    """Generate the sample organization's usage records for charge days in ``[start, end)``.

    The records are what the API would send: wire names (FOCUS PascalCase and ``x_`` names),
    ISO-8601 strings ending in ``Z``, numbers as JSON numbers (counts as ints) and ``None`` where
    a field is null. Every field of the record but ``Tags`` is present. The values of a given day
    do not depend on ``start`` and ``end`` (the whole sample period is generated and sliced), only
    on ``seed`` and ``scale``.

    Parameters
    ----------
    start, end : str or date, default "2025-10-01", "2026-11-24"
        Half-open range of charge days (``end`` exclusive). Before 2025-10-01 there is no usage
        (the accounts do not exist yet); after 2026-11-23 the trends go on.
    seed : int, default 7
        Seed of the :func:`numpy.random.default_rng` generator.
    scale : int, default 1
        Number of copies of the five base accounts; ``scale=50`` gives 250 accounts (about a
        million records for the whole period). Copies are named ``"<name> 002"`` and so on, have
        their own zones (``acme-002.example``) and a random size; the planted events and the
        commitment stay with the base accounts.

    Returns
    -------
    list of dict
        Sorted by ``ChargePeriodStart``, then account, metric, zone and region (in the order the
        accounts and their series are defined); within a day the commitment's ``Purchase`` row
        and the correction row come last. Each is included when its ``ChargePeriodStart`` is in
        the range.

    Raises
    ------
    cfusage.ArgumentError
        If ``start`` or ``end`` is not a date, ``start >= end`` or ``scale < 1``.

    Examples
    --------
    >>> records = generate_records("2026-01-01", "2026-01-02")
    >>> r = records[0]
    >>> r["ChargePeriodStart"], r["ChargePeriodEnd"], r["BillingCurrency"], r["BillingAccountName"]
    ('2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z', 'USD', 'Acme Prod')
    """
    start_d, end_d = utc_day(start, "start"), utc_day(end, "end")
    if start_d >= end_d:
        raise ArgumentError(f"start must be before end, got start={start_d} end={end_d}")
    if not isinstance(scale, int) or isinstance(scale, bool) or scale < 1:
        raise ArgumentError(f"scale must be a positive integer, got scale={scale!r}")
    first, last = min(start_d, START), max(end_d, END)
    u = _usage(seed, scale, first, last)
    u["billed_cost"] = _commitment_billed(u)
    cols = _wire_columns(u)
    special = _special_rows(u, cols)

    # order: day, then the series order (account, metric, zone, region as defined), specials last
    n = len(u["si"])
    day_index = np.concatenate(
        [u["di"], [(utc_day(r["ChargePeriodStart"][:10], "day") - first).days for r in special]]
    )
    tail = np.concatenate([np.zeros(n, dtype=np.int64), np.arange(1, len(special) + 1)])
    series_rank = np.concatenate([u["si"], np.zeros(len(special), dtype=np.int64)])
    lo, hi = (start_d - first).days, (end_d - first).days
    order = np.lexsort((series_rank, tail, day_index))
    order = order[(day_index[order] >= lo) & (day_index[order] < hi)]
    keys = list(cols)
    columns = [
        np.concatenate([cols[k], np.array([r[k] for r in special], dtype=object)])[order].tolist()
        for k in keys
    ]
    return [dict(zip(keys, row, strict=True)) for row in zip(*columns, strict=True)]


# ---------------------------------------------------------------------------------------------
# Revisions, windows, envelopes
# ---------------------------------------------------------------------------------------------

_REVISION_FIELDS = {rev: {c.wire for c in COLUMNS if rev in c.revisions} for rev in REVISIONS}
_COST_FIELDS = frozenset(
    c.wire for c in COLUMNS if c.kind in ("money", "price") or c.wire == "BillingCurrency"
)
_CONTRACT_LEVEL = frozenset(METRICS.loc[METRICS["contract_level"], "x_billable_metric_id"])


def to_revision(
    records: Iterable[Mapping[str, Any]], revision: str = "B", *, costs: bool = True
) -> list[dict[str, Any]]:
    """Reshape wire records for one of the published schema revisions.

    ``"A"`` drops the fields revision A lacks (``x_ProductFamilyId``, ``x_ProductCategoryName``);
    ``"B"`` keeps every field; ``"C"`` omits ``BillingAccountId`` and ``BillingAccountName`` on
    contract-level rows (metrics with ``METRICS.contract_level``: Zero Trust seats, bought on the
    contract). ``costs=False`` drops every price and cost field and ``BillingCurrency``, and drops
    the non-usage rows (the commitment's ``Purchase`` row), as the newest organization endpoint
    serves usage only. Unknown fields are kept. The input is not modified.

    Parameters
    ----------
    records : iterable of dict
        Wire records, e.g. from :func:`generate_records`.
    revision : {"A", "B", "C"}, default "B"
    costs : bool, default True

    Returns
    -------
    list of dict
        New dicts, in the input order.

    Raises
    ------
    cfusage.ArgumentError
        If ``revision`` is not one of ``"A"``, ``"B"``, ``"C"``.

    Examples
    --------
    >>> r = to_revision(generate_records("2026-01-01", "2026-01-02")[:1], "A", costs=False)[0]
    >>> "x_ProductFamilyId" in r, "ListCost" in r, "x_ProductFamilyName" in r
    (False, False, True)
    """
    if revision not in REVISIONS:
        raise ArgumentError(f"revision must be one of {', '.join(REVISIONS)}, got {revision!r}")
    known = {c.wire for c in COLUMNS}
    drop = known - _REVISION_FIELDS[revision]
    if not costs:
        drop |= _COST_FIELDS
    out = []
    for r in records:
        if not costs and r.get("ChargeCategory", "Usage") != "Usage":
            continue
        new = {k: v for k, v in r.items() if k not in drop}
        if revision == "C" and r.get("x_BillableMetricId") in _CONTRACT_LEVEL:
            new.pop("BillingAccountId", None)
            new.pop("BillingAccountName", None)
        out.append(new)
    return out


def _windows(start: DateLike, end: DateLike, days: int = 31) -> list[tuple[dt.date, dt.date]]:
    """Split ``[start, end)`` into consecutive half-open windows of at most ``days`` days.

    Parameters
    ----------
    start, end : str or date
        ``end`` is exclusive.
    days : int, default 31
        Longest window (the API's maximum range).

    Returns
    -------
    list of (date, date)
        ``(from, to)`` pairs, ``to`` exclusive; each window starts where the previous ended, the
        first at ``start`` and the last ends at ``end``. Empty if ``start == end``.

    Raises
    ------
    cfusage.ArgumentError
        If a date does not parse, ``start > end`` or ``days < 1``.

    Examples
    --------
    >>> _windows("2026-01-01", "2026-02-05")
    [(datetime.date(2026, 1, 1), datetime.date(2026, 2, 1)), (datetime.date(2026, 2, 1), datetime.date(2026, 2, 5))]
    """
    lo, hi = utc_day(start, "start"), utc_day(end, "end")
    if lo > hi:
        raise ArgumentError(f"start must not be after end, got start={lo} end={hi}")
    if days < 1:
        raise ArgumentError(f"days must be at least 1, got days={days!r}")
    step = dt.timedelta(days=days)
    out = []
    while lo < hi:
        nxt = min(lo + step, hi)
        out.append((lo, nxt))
        lo = nxt
    return out


def envelope(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Wrap records in the API's v4 envelope.

    Examples
    --------
    >>> envelope([])
    {'success': True, 'errors': [], 'messages': [], 'result': []}
    """
    return {"success": True, "errors": [], "messages": [], "result": list(records)}


# ---------------------------------------------------------------------------------------------
# The committed files
# ---------------------------------------------------------------------------------------------

_PACKAGE_SAMPLE = Path(__file__).resolve().parent / "data"


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


def write_sample(directory: str | Path) -> list[Path]:
    """Write the sample as the API would serve it: one gzip'd envelope per 31-day window.

    Files are named ``usage_<from>_<to>.json.gz`` (``to`` exclusive) and hold the records whose
    ``ChargePeriodStart`` falls in the window (the commitment's ``Purchase`` row is in the window
    of its term start). A ``README.md`` describing the organization is written beside them.
    Older ``usage_*.json.gz`` files in ``directory`` are removed. The bytes depend only on the
    code (gzip headers carry no time).

    Parameters
    ----------
    directory : str or Path
        Where to write; ``python -m cfusage.sample --package`` regenerates the copy that ships
        inside the package (``cfusage/sample/data/``).

    Returns
    -------
    list of Path
        The envelope files, in date order, then the README.

    Examples
    --------
    >>> import tempfile
    >>> paths = write_sample(tempfile.mkdtemp())  # doctest: +SKIP
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    records = generate_records()
    starts = np.array([r["ChargePeriodStart"][:10] for r in records])
    written = []
    for lo, hi in _windows(START, END):
        sel = np.flatnonzero((starts >= lo.isoformat()) & (starts < hi.isoformat()))
        body = msgspec.json.encode(envelope([records[i] for i in sel]))
        path = out / f"usage_{lo.isoformat()}_{hi.isoformat()}.json.gz"
        path.write_bytes(_gzip(body))
        written.append(path)
    for old in out.glob("usage_*.json.gz"):
        if old not in written:
            old.unlink()
    readme = out / "README.md"
    readme.write_text(_readme(records), encoding="utf-8")
    return [*written, readme]


def sample_paths() -> list[Path]:
    """The committed sample files (gzip'd envelopes), in date order.

    Returns
    -------
    list of Path

    The files ship inside the package (``cfusage/sample/data/``), so an installed copy has them.

    Examples
    --------
    >>> [p.name for p in sample_paths()][:1]
    ['usage_2025-10-01_2025-11-01.json.gz']
    """
    return sorted(_PACKAGE_SAMPLE.glob("usage_*.json.gz"))


def load(**to_frame_kwargs: Any) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """The whole committed sample as a typed frame (:func:`cfusage.io._frame.to_frame`).

    Parameters
    ----------
    **to_frame_kwargs
        Passed to :func:`cfusage.io._frame.to_frame` (e.g. ``errors="quarantine"``).

    Returns
    -------
    pandas.DataFrame or (pandas.DataFrame, pandas.DataFrame)
        The typed frame (19,621 rows), ``attrs["cfusage"]["complete_through"]`` set to
        :data:`COMPLETE_THROUGH`; with ``errors="quarantine"`` the pair ``(frame, rejected)``.
        The files are parsed once per process: later calls return a copy of the same frame
        (copy-on-write, so changing one never changes another).

    Examples
    --------
    >>> df = load()
    >>> df["billing_account_name"].nunique(), df.attrs["cfusage"]["complete_through"]
    (5, datetime.date(2026, 11, 23))
    """
    if not to_frame_kwargs:
        return _copy(_loaded())
    loaded = to_frame(sample_paths(), **to_frame_kwargs)
    frame = loaded[0] if isinstance(loaded, tuple) else loaded
    frame.attrs["cfusage"]["complete_through"] = COMPLETE_THROUGH
    return loaded


@functools.cache
def _loaded() -> pd.DataFrame:
    """The sample parsed once per process (its files never change while it runs)."""
    frame = to_frame(sample_paths())
    frame.attrs["cfusage"]["complete_through"] = COMPLETE_THROUGH
    return frame


def _copy(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy that shares the columns until either side writes (pandas copy-on-write)."""
    out = frame.copy(deep=False)
    out.attrs = deepcopy(frame.attrs)
    return out


# ---------------------------------------------------------------------------------------------
# The price book
# ---------------------------------------------------------------------------------------------

_PRICE_BOOK_COLUMNS = [
    "x_billable_metric_id",
    "x_billable_metric_name",
    "x_product_family_name",
    "consumed_unit",
    "pricing_unit",
    "block_size",
    "tier_start",
    "list_unit_price",
    "currency",
    "free_allowance",
    "contracted_discount",
    "valid_from",
    "valid_to",
    "source",
]


def price_book_path() -> Path:
    """Path of the example price book shipped with cfusage (``cfusage/analysis/data/price_book.csv``).

    One row per metric, price version and tier: ``tier_start`` is the pricing quantity per billing
    period from which the row's ``list_unit_price`` applies (0 for a single tier; every sample
    metric has one tier), ``free_allowance`` is in consumed units per billing period,
    ``contracted_discount`` is the sample contract's fraction. ``valid_from``/``valid_to`` (UTC
    days, ``valid_to`` exclusive, empty = open) date each price: a metric of
    :data:`PRICE_CHANGES` has one row until the change and one from it.

    Examples
    --------
    >>> price_book_path().name
    'price_book.csv'
    """
    return Path(str(resources.files("cfusage.analysis").joinpath("data", "price_book.csv")))


def _price_book() -> pd.DataFrame:
    """The book: METRICS' current prices from each change on, the earlier prices until it."""
    book = METRICS.assign(tier_start=0.0, currency="USD", valid_from="", valid_to="")
    rows = []
    for m in book.to_dict("records"):
        changes = PRICE_CHANGES[PRICE_CHANGES["x_billable_metric_id"] == m["x_billable_metric_id"]]
        changes = changes.sort_values("effective_from")
        since = ""
        for change in changes.itertuples():
            day = f"{change.effective_from:%Y-%m-%d}"
            rows.append(
                {**m, "list_unit_price": float(change.previous_list_unit_price),
                 "valid_from": since, "valid_to": day}
            )  # fmt: skip
            since = day
        rows.append({**m, "valid_from": since})
    return pd.DataFrame(rows)[_PRICE_BOOK_COLUMNS]


def write_price_book(path: str | Path | None = None) -> Path:
    """Write the example price book from :data:`METRICS`.

    Parameters
    ----------
    path : str or Path, optional
        Default :func:`price_book_path`.

    Returns
    -------
    Path

    Examples
    --------
    >>> import tempfile, os
    >>> write_price_book(os.path.join(tempfile.mkdtemp(), "pb.csv")).name
    'pb.csv'
    """
    target = Path(path) if path is not None else price_book_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    _price_book().to_csv(target, index=False, lineterminator="\n", float_format="%.15g")
    return target


# ---------------------------------------------------------------------------------------------
# README of data/sample and the command line
# ---------------------------------------------------------------------------------------------


def _readme(records: Sequence[dict[str, Any]]) -> str:
    df = pd.DataFrame.from_records(records)
    usage = df[df["ChargeCategory"] == "Usage"]
    by_acc = usage.groupby("BillingAccountName").agg(
        first=("ChargePeriodStart", "min"),
        metrics=("x_BillableMetricId", "nunique"),
        billed=("BilledCost", "sum"),
    )
    lines = [
        "# The cfusage sample organization",
        "",
        "Generated by `python -m cfusage.sample --package` (seed 7; do not edit by hand). Each",
        "`usage_<from>_<to>.json.gz` is one API envelope (revision B, with costs) holding the records",
        "whose `ChargePeriodStart` is in `[from, to)`; `to` is exclusive. Load them all with",
        "`cfusage.sample.load()`.",
        "",
        f"- Organization `{ORG_ID}`; {len(records):,} records; charge days {START} through "
        f"{COMPLETE_THROUGH} (complete through {COMPLETE_THROUGH}).",
        f"- Contract (SubAccount on every row): {CONTRACT['sub_account_name']} "
        f"`{CONTRACT['sub_account_id']}`, from {CONTRACT['start']}; negotiated discounts "
        + ", ".join(f"{k} {v:.0%}" for k, v in CONTRACT["discounts"].items())
        + ", other families 0 %.",
        "- Currency USD; providers Cloudflare. Billing period = calendar month of the charge day",
        "  (except the correction row).",
        "",
        "## Accounts",
        "",
        "| account | id | first usage | metrics | usage billed (USD) |",
        "|---|---|---|---|---|",
    ]
    for row in ACCOUNTS.itertuples():
        a = by_acc.loc[row.billing_account_name]
        lines.append(
            f"| {row.billing_account_name} | `{row.billing_account_id}` | {a['first'][:10]} | "
            f"{a['metrics']} | {a['billed']:,.2f} |"
        )
    lines += ["", "## Zones", "", "| zone | id | account |", "|---|---|---|"]
    names = ACCOUNTS.set_index("billing_account_id")["billing_account_name"]
    for z in ZONES.itertuples():
        lines.append(f"| {z.x_zone_name} | `{z.x_zone_id}` | {names[z.billing_account_id]} |")
    lines += [
        "",
        "## Metrics (current list prices; `cfusage/analysis/data/price_book.csv` is generated from them)",
        "",
        "| metric id | family | consumed unit | pricing unit | list price (USD) | free per month |",
        "|---|---|---|---|---|---|",
    ]
    for m in METRICS.itertuples():
        lines.append(
            f"| `{m.x_billable_metric_id}` | {m.x_product_family_name} | {m.consumed_unit} | "
            f"{m.pricing_unit} | {m.list_unit_price:g} | {m.free_allowance:,.0f} |"
        )
    c = COMMITMENTS.iloc[0]
    in_scope = usage[
        (usage["BillingAccountName"] == _COMMITMENT_ACCOUNT)
        & usage["x_ProductFamilyName"].isin(_COMMITMENT_FAMILIES)
        & (usage["ChargePeriodStart"] >= f"{_TERM[0]}")
        & (usage["ChargePeriodStart"] < f"{_TERM[1]}")
    ]
    drawn = float(in_scope["ContractedCost"].sum())
    monthly = in_scope.groupby(in_scope["ChargePeriodStart"].str[:7])["ContractedCost"].sum()
    ev = EVENTS
    lines += [
        "",
        "## Prepaid commitment",
        "",
        f"- `{c.commitment_id}`: USD {c.amount:,.0f} prepaid for {_TERM[0]} to {_TERM[1]} "
        f"(exclusive), account {_COMMITMENT_ACCOUNT}, families {', '.join(_COMMITMENT_FAMILIES)}.",
        "- One `Purchase` row (`x_BillableMetricId` `prepaid_commitment`, ChargeFrequency One-Time,",
        "  charge period = the term, billing period = its first month): ListCost = ContractedCost =",
        "  BilledCost = fee, EffectiveCost 0, quantities null.",
        "- Covered usage: BilledCost 0, EffectiveCost = ContractedCost while the balance lasts.",
        f"- Usage drawn against it over the term: USD {drawn:,.2f} "
        f"({drawn / _COMMITMENT_FEE:.1%} of the fee; unused USD {max(_COMMITMENT_FEE - drawn, 0):,.2f}). "
        f"Months below the straight-line USD {_COMMITMENT_FEE / 12:,.0f}: "
        + ", ".join(k for k, v in monthly.items() if v < _COMMITMENT_FEE / 12)
        + ".",
        "",
        "## Planted events",
        "",
        f"- Price change: `{ev['price_change']['x_billable_metric_id']}` list price "
        f"{ev['price_change']['previous_list_unit_price']:.2f} -> "
        f"{ev['price_change']['list_unit_price']:.2f} USD per 1M from {ev['price_change']['date']}.",
        f"- Usage spike: `{ev['spike']['x_billable_metric_id']}` in {ev['spike']['billing_account_name']} "
        f"~{ev['spike']['factor']:g}x normal on {ev['spike']['date']}.",
        f"- Correction: one row (ChargeClass Correction, negative quantities and costs) for "
        f"`{ev['correction']['x_billable_metric_id']}` in {ev['correction']['billing_account_name']}, "
        f"charge day {ev['correction']['charge_date']}, billed in the period starting "
        f"{ev['correction']['billing_period_start']} ({ev['correction']['fraction']:.0%} of that "
        "day's usage).",
        f"- Adoption: {ev['adoption']['x_product_family_name']} (Team AI) from {ev['adoption']['date']}.",
        f"- Retirement: {ev['retirement']['x_product_family_name']} (Team Media) last day "
        f"{ev['retirement']['last_date']}.",
        f"- New account: {ev['account_created']['billing_account_name']} from "
        f"{ev['account_created']['date']}.",
        "- Free tier: allowances are consumed in day order per account, metric and month; fully",
        "  covered rows have PricingQuantity 0 and zero costs (Acme Staging is mostly free).",
        "- Zero Trust seats are contract-level: revision C omits their account.",
        "",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Regenerate the committed sample and the price book: ``python -m cfusage.sample DIR``.

    Examples
    --------
    >>> main(["/tmp/cfusage-sample"])  # doctest: +SKIP
    0
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if args not in (["--package"],) and len(args) != 1:
        print(
            "usage: python -m cfusage.sample DIR  (writes the sample and price_book.csv into DIR)\n"
            "       python -m cfusage.sample --package  (regenerates the copy cfusage ships)",
            file=sys.stderr,
        )
        return 2
    if args == ["--package"]:
        directory, book_path = _PACKAGE_SAMPLE, price_book_path()
    else:
        directory = Path(args[0])
        book_path = directory / "price_book.csv"
    paths = write_sample(directory)
    book = write_price_book(book_path)
    size = sum(p.stat().st_size for p in paths)
    print(f"wrote {len(paths)} files ({size / 1e6:.1f} MB) to {directory} and {book}")
    return 0
