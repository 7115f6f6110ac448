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
import importlib.util
import sys
from typing import TYPE_CHECKING, Any

from .errors import (
    APIError,
    ArgumentError,
    AuthenticationError,
    BadRequestError,
    CurrencyError,
    DataError,
    DeadlineError,
    Error,
    MissingColumnsError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseError,
    ResponseTooLargeError,
    ServerError,
    StoreError,
    TokenError,
    TransportError,
    ValidationError,
)
from .schema import COLUMNS, DIMENSIONS, FREQS, Column

if TYPE_CHECKING:
    from . import plots, sample
    from .analysis import (
        amortize,
        amortize_commitment,
        anomalies,
        budget_status,
        budget_variance,
        commitment_burndown,
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
    from .fetch import AsyncClient, Client, Retry, Store
    from .io import (
        Rejected,
        ValidationReport,
        concat,
        scan_focus,
        summary,
        to_focus,
        to_frame,
        utc_day,
        validate,
    )
    from .sample import SampleServer
    from .viz import Explorer, Report, build_report, explore, write_report

__version__ = "0.1.0"

#: Public names that live in subpackages imported on first use: name → subpackage.
_LAZY: dict[str, str] = {
    **dict.fromkeys(
        (
            "Rejected",
            "ValidationReport",
            "concat",
            "scan_focus",
            "summary",
            "to_focus",
            "to_frame",
            "utc_day",
            "validate",
        ),
        "io",
    ),
    **dict.fromkeys(
        (
            "amortize",
            "amortize_commitment",
            "anomalies",
            "budget_status",
            "budget_variance",
            "commitment_burndown",
            "describe_anomalies",
            "discounts",
            "free_allowance_usage",
            "load_price_book",
            "period_over_period",
            "price_volume_mix",
            "rate",
            "reconcile",
            "savings_summary",
            "top_movers",
            "unit_price_discounts",
        ),
        "analysis",
    ),
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
_SUBMODULES = (
    "sample",
    "plots",
    "schema",
    "errors",
    "io",
    "fetch",
    "analysis",
    "viz",
    "accessor",
)

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
    "DeadlineError",
    "Error",
    "Explorer",
    "MissingColumnsError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "Rejected",
    "Report",
    "ResponseError",
    "ResponseTooLargeError",
    "Retry",
    "SampleServer",
    "ServerError",
    "Store",
    "StoreError",
    "TokenError",
    "TransportError",
    "ValidationError",
    "ValidationReport",
    "amortize",
    "amortize_commitment",
    "anomalies",
    "budget_status",
    "budget_variance",
    "build_report",
    "commitment_burndown",
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
    "scan_focus",
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


# --------------------------------------------------------------------------------------------
# df.cfusage without importing pandas: ``import cfusage`` stays light (the CLI starts in a blink),
# and the accessor is registered the moment pandas is imported, whoever imports it.


class _Accessor:
    """``df.cfusage``: the cfusage helpers on a frame (:class:`cfusage.accessor.CfusageAccessor`).

    A stand-in registered with pandas: the first ``df.cfusage`` imports :mod:`cfusage.accessor`,
    which registers the real accessor in its place.
    """

    def __new__(cls, frame: Any) -> Any:
        pandas = sys.modules["pandas"]
        if getattr(pandas.DataFrame, "cfusage", None) is not None:
            delattr(pandas.DataFrame, "cfusage")  # so that the real one replaces it silently
        return importlib.import_module(".accessor", __name__).CfusageAccessor(frame)


def _register_accessor(pandas: Any) -> None:
    if f"{__name__}.accessor" in sys.modules:  # the accessor module registers itself
        return
    pandas.api.extensions.register_dataframe_accessor("cfusage")(_Accessor)


class _ImportHooks:
    """Import hooks, until the real accessor is imported.

    Right after pandas finishes importing, ``df.cfusage`` is registered (a stand-in); just before
    :mod:`cfusage.accessor` is imported (which registers the real accessor), the stand-in is
    removed, so pandas never warns that an accessor is overridden.
    """

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name == f"{__name__}.accessor":
            sys.meta_path.remove(self)
            pandas = sys.modules.get("pandas")
            if pandas is not None and vars(pandas.DataFrame).get("cfusage") is not None:
                delattr(pandas.DataFrame, "cfusage")
            return None
        if name != "pandas":
            return None
        spec = _find_elsewhere(self, name)
        loader = getattr(spec, "loader", None)
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        exec_module = loader.exec_module

        def exec_then_register(module: Any) -> None:
            exec_module(module)
            vars(loader).pop("exec_module", None)
            _register_accessor(module)

        loader.exec_module = exec_then_register
        return spec


def _find_elsewhere(hook: Any, name: str) -> Any:
    """The spec the other finders give (this hook stepped aside)."""
    index = sys.meta_path.index(hook)
    sys.meta_path.remove(hook)
    try:
        return importlib.util.find_spec(name)
    finally:
        sys.meta_path.insert(index, hook)


if f"{__name__}.accessor" not in sys.modules:
    if "pandas" in sys.modules:
        _register_accessor(sys.modules["pandas"])
    if not any(isinstance(f, _ImportHooks) for f in sys.meta_path):
        sys.meta_path.insert(0, _ImportHooks())
