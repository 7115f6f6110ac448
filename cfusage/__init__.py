"""cfusage: Cloudflare billable usage as typed pandas DataFrames, with FinOps helpers.

The flow: :class:`Client` (HTTP, windows, retries) → envelopes → :func:`to_frame` (schema,
validation) → helpers (:func:`discounts`, :func:`amortize`, :func:`period_over_period`, ...) →
:mod:`cfusage.plots` / :func:`explore` / :func:`write_report`.

The package is layered; each layer imports only those below it:

- :mod:`cfusage.errors`, :mod:`cfusage.schema`: the error tree, the column table and the
  ``by=``/``freq=`` vocabulary (:data:`DIMENSIONS`, :data:`FREQS`).
- :mod:`cfusage.io`: responses and FOCUS files → typed frames (:func:`to_frame`, :func:`validate`,
  :func:`to_focus`).
- :mod:`cfusage.fetch`: the HTTP clients and the Parquet store.
- :mod:`cfusage.analysis`: the FinOps helpers.
- :mod:`cfusage.viz`: charts (:mod:`cfusage.plots`), the explorer and the report.
- :mod:`cfusage.sample`: the sample organization, its API server and the demo (scaffolding on top).

The clients, the store, the charts, the explorer and the report are imported on first use, so
``import cfusage`` needs neither httpx, matplotlib nor ipywidgets until they are used.

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
from .analysis import (
    amortize,
    amortize_commitment,
    anomalies,
    budget_status,
    budget_variance,
    describe_anomalies,
    discounts,
    free_allowance_usage,
    load_price_book,
    period_over_period,
    price_volume_mix,
    rate,
    reconcile,
    savings_summary,
    top_movers,
    unit_price_discounts,
)
from .errors import (
    APIError,
    ArgumentError,
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
from .io import Rejected, ValidationReport, concat, summary, to_focus, to_frame, utc_day, validate
from .schema import COLUMNS, DIMENSIONS, FREQS, Column

if TYPE_CHECKING:
    from . import plots, sample
    from .fetch import AsyncClient, Client, Retry, Store
    from .sample import SampleServer
    from .viz import Explorer, Report, build_report, explore, write_report

__version__ = "0.1.0"

#: Public names that live in subpackages imported on first use: name → subpackage.
_LAZY: dict[str, str] = {
    "Client": "fetch",
    "AsyncClient": "fetch",
    "Retry": "fetch",
    "Store": "fetch",
    "SampleServer": "sample",
    "explore": "viz",
    "build_report": "viz",
    "Explorer": "viz",
    "Report": "viz",
    "write_report": "viz",
}
_SUBMODULES = ("sample", "plots", "schema", "errors", "io", "fetch", "analysis", "viz")

__all__ = [
    "COLUMNS",
    "DIMENSIONS",
    "FREQS",
    "APIError",
    "ArgumentError",
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
    "utc_day",
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
