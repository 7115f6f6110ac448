"""cfusage: Cloudflare billable usage as typed pandas DataFrames, with FinOps helpers.

The flow: :class:`Client` (HTTP, windows, retries) → envelopes → :func:`to_frame` (schema,
validation) → helpers (:func:`discounts`, :func:`amortize`, :func:`period_over_period`, ...) →
:mod:`cfusage.plots` / :func:`explore` / :func:`write_report`.

Heavy parts (HTTP client, server, store, plots, widgets, report) are imported on first use, so
``import cfusage`` stays quick and needs neither matplotlib nor ipywidgets until they are used.

Examples
--------
>>> import cfusage
>>> df = cfusage.sample.load()            # the bundled sample organization
>>> cfusage.validate(df).ok
True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import accessor as _accessor  # noqa: F401  (registers df.cfusage)
from .amortization import amortize, amortize_commitment, reconcile
from .anomalies import anomalies, describe_anomalies
from .discounts import discounts, savings_summary, unit_price_discounts
from .errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    CurrencyError,
    DataError,
    Error,
    MissingColumnsError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseError,
    ServerError,
    TransportError,
    ValidationError,
)
from .frame import Rejected, concat, summary, to_frame
from .pricing import free_allowance_usage, load_price_book, rate
from .schema import COLUMNS, Column
from .validation import ValidationReport, validate
from .variance import (
    budget_status,
    budget_variance,
    period_over_period,
    price_volume_mix,
    top_movers,
)

if TYPE_CHECKING:
    from . import plots, sample
    from .client import AsyncClient, Client, Retry
    from .focus import to_focus
    from .report import Report, build_report, write_report
    from .server import SampleServer
    from .store import Store
    from .widgets import Explorer, explore

__version__ = "0.1.0"

#: Public names that live in modules imported on first use: name → module.
_LAZY: dict[str, str] = {
    "Client": "client",
    "AsyncClient": "client",
    "Retry": "client",
    "SampleServer": "server",
    "Store": "store",
    "to_focus": "focus",
    "explore": "widgets",
    "build_report": "report",
    "Explorer": "widgets",
    "Report": "report",
    "write_report": "report",
}
_SUBMODULES = ("sample", "plots", "schema", "frame", "validation", "errors")

__all__ = [
    "COLUMNS",
    "APIError",
    "AsyncClient",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "Column",
    "CurrencyError",
    "DataError",
    "Error",
    "Explorer",
    "MissingColumnsError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "Rejected",
    "Report",
    "ResponseError",
    "Retry",
    "SampleServer",
    "ServerError",
    "Store",
    "TransportError",
    "ValidationError",
    "ValidationReport",
    "amortize",
    "amortize_commitment",
    "anomalies",
    "budget_status",
    "budget_variance",
    "build_report",
    "concat",
    "describe_anomalies",
    "discounts",
    "explore",
    "free_allowance_usage",
    "load_price_book",
    "period_over_period",
    "plots",
    "price_volume_mix",
    "rate",
    "reconcile",
    "sample",
    "savings_summary",
    "summary",
    "to_focus",
    "to_frame",
    "top_movers",
    "unit_price_discounts",
    "validate",
    "write_report",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module 'cfusage' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
