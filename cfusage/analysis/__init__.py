"""The FinOps helpers: discounts, amortization, pricing, cost variance, budgets and anomalies.

Every helper takes a typed usage frame first and returns a new tidy frame. They share one grouping
rule (``by=`` dimensions and ``freq=`` grains of :mod:`cfusage.schema`, with ``billing_currency``
always a key so that currencies are never summed), implemented once in :mod:`._grouping`.
"""

from ._amortization import amortize, amortize_commitment, reconcile
from ._anomalies import anomalies, describe_anomalies
from ._commitments import commitment_burndown
from ._discounts import discounts, savings_summary, unit_price_discounts
from ._grouping import (
    CURRENCY,
    PERIOD,
    By,
    Grouping,
    add_period,
    convert_currency,
    floor_to,
    freq_of,
    group_keys,
    grouping,
    require,
    resolve_by,
    safe_ratio,
    text_is,
    usage_mask,
)
from ._pricing import free_allowance_usage, load_price_book, rate
from ._variance import (
    budget_status,
    budget_variance,
    period_over_period,
    price_volume_mix,
    top_movers,
)

__all__ = [
    "CURRENCY",
    "PERIOD",
    "By",
    "Grouping",
    "add_period",
    "amortize",
    "amortize_commitment",
    "anomalies",
    "budget_status",
    "budget_variance",
    "commitment_burndown",
    "convert_currency",
    "describe_anomalies",
    "discounts",
    "floor_to",
    "free_allowance_usage",
    "freq_of",
    "group_keys",
    "grouping",
    "load_price_book",
    "period_over_period",
    "price_volume_mix",
    "rate",
    "reconcile",
    "require",
    "resolve_by",
    "safe_ratio",
    "savings_summary",
    "text_is",
    "top_movers",
    "unit_price_discounts",
    "usage_mask",
]
