"""``df.cfusage``: the cfusage helpers as a pandas accessor.

Importing :mod:`cfusage` registers the accessor. Each method is a thin layer over a plain
function that takes the frame first, so ``df.cfusage.discounts(by="product")`` is exactly
``cfusage.discounts.discounts(df, by="product")``; ``help(df.cfusage.discounts)`` shows that
function's own signature and docstring. The helper modules are imported when a method is first
used, so a missing optional module never breaks ``import cfusage``.

``df.cfusage.plot.<name>(...)`` forwards to ``cfusage.plots.<name>(df, ...)`` in the same way.

Examples
--------
>>> import pandas as pd
>>> import cfusage.accessor  # registers df.cfusage (import cfusage does it too)
>>> df = pd.DataFrame({
...     "charge_period_start": pd.to_datetime(["2026-01-05", "2026-02-05"], utc=True),
...     "effective_cost": pd.array([10.0, 12.0], dtype="Float64"),
... })
>>> df.cfusage.period_over_period(complete_through="2026-02-28")[["period", "change"]]
                     period  change
0 2026-01-01 00:00:00+00:00    <NA>
1 2026-02-01 00:00:00+00:00     2.0
"""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Callable
from typing import Any

import pandas as pd

__all__ = ["CfusageAccessor", "PlotNamespace"]


def _load(modules: tuple[str, ...], name: str) -> Callable[..., Any]:
    """The function ``name`` from the first of ``modules`` (under ``cfusage``) that defines it."""
    errors: list[str] = []
    for module in modules:
        try:
            mod = importlib.import_module(f"cfusage.{module}")
        except ImportError as exc:
            errors.append(f"cfusage.{module}: {exc}")
            continue
        func = getattr(mod, name, None)
        if callable(func):
            return func
        errors.append(f"cfusage.{module} has no {name}")
    raise AttributeError(f"df.cfusage.{name} is not available ({'; '.join(errors)})")


def _bind(func: Callable[..., Any], frame: pd.DataFrame, label: str) -> Callable[..., Any]:
    """``func`` with ``frame`` as its first argument; keeps its name, signature and docstring."""

    @functools.wraps(func)
    def bound(*args: Any, **kwargs: Any) -> Any:
        return func(frame, *args, **kwargs)

    try:
        sig = inspect.signature(func)
        bound.__signature__ = sig.replace(  # type: ignore[attr-defined]
            parameters=list(sig.parameters.values())[1:]
        )
    except (TypeError, ValueError):  # pragma: no cover - builtins without signatures
        pass
    target = f"{func.__module__}.{func.__qualname__}"
    bound.__doc__ = f"``{label}(...)`` calls :func:`{target}` with the frame first.\n\n" + (
        inspect.getdoc(func) or ""
    )
    return bound


class _Forward:
    """A method of the accessor that calls ``cfusage.<module>.<name>(frame, ...)``."""

    def __init__(self, *modules: str, name: str | None = None) -> None:
        self.modules = modules
        self.name = name
        self.__doc__ = f"Calls cfusage.{modules[0]}.{name or '<method name>'} with the frame first."

    def __set_name__(self, owner: type, attr: str) -> None:
        self.attr = attr
        self.name = self.name or attr
        self.__doc__ = f"Calls cfusage.{self.modules[0]}.{self.name} with the frame first."

    def __get__(self, obj: CfusageAccessor | None, owner: type | None = None) -> Any:
        if obj is None:
            return self
        func = _load(self.modules, self.name or self.attr)
        return _bind(func, obj._obj, f"df.cfusage.{self.attr}")


class PlotNamespace:
    """``df.cfusage.plot``: every plotting function of :mod:`cfusage.plots`, frame first.

    ``df.cfusage.plot.cost(by="product")`` is ``cfusage.plots.cost(df, by="product")``.
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        self._obj = frame

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)
        plots = importlib.import_module("cfusage.plots")
        func = getattr(plots, name, None)
        if name not in getattr(plots, "__all__", ()) or not callable(func):
            raise AttributeError(
                f"cfusage.plots has no plotting function {name!r}; available: {_plot_names()}"
            )
        return _bind(func, self._obj, f"df.cfusage.plot.{name}")

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(_plot_names()))

    def __repr__(self) -> str:
        return f"<cfusage plots: {', '.join(_plot_names())}>"


def _plot_names() -> list[str]:
    """Public functions of cfusage.plots whose first parameter is a DataFrame."""
    try:
        plots = importlib.import_module("cfusage.plots")
    except ImportError:
        return []
    names = []
    for name in getattr(plots, "__all__", ()):
        func = getattr(plots, name, None)
        if not inspect.isfunction(func):
            continue
        params = list(inspect.signature(func).parameters.values())
        if params and "DataFrame" in str(params[0].annotation):
            names.append(name)
    return sorted(names)


@pd.api.extensions.register_dataframe_accessor("cfusage")
class CfusageAccessor:
    """cfusage helpers on a typed usage frame: ``df.cfusage.<helper>(...)``.

    Every method calls the plain function of the same name with the frame as its first argument
    and returns exactly what it returns (``help(df.cfusage.<method>)`` shows that function's
    documentation). The frame is never modified.

    Examples
    --------
    >>> import pandas as pd
    >>> import cfusage.accessor
    >>> df = pd.DataFrame({
    ...     "charge_period_start": pd.to_datetime(["2026-01-05", "2026-02-05"], utc=True),
    ...     "effective_cost": pd.array([10.0, 12.0], dtype="Float64"),
    ... })
    >>> df.cfusage.budget_status(500.0, as_of="2026-02-14")[["period", "actual", "forecast"]]
                         period  actual  forecast
    0 2026-01-01 00:00:00+00:00    10.0      10.0
    1 2026-02-01 00:00:00+00:00    12.0      24.0
    """

    def __init__(self, pandas_obj: pd.DataFrame) -> None:
        self._obj = pandas_obj

    # data quality and export
    validate = _Forward("validation", "frame")
    to_focus = _Forward("focus")
    summary = _Forward("frame")

    # discounts, amortization, pricing (other modules, loaded on first use)
    discounts = _Forward("discounts")
    savings_summary = _Forward("discounts")
    unit_price_discounts = _Forward("discounts")
    amortize = _Forward("amortization")
    amortize_commitment = _Forward("amortization")
    reconcile = _Forward("amortization", "discounts")
    rate = _Forward("pricing")

    # variance and anomalies
    period_over_period = _Forward("variance")
    price_volume_mix = _Forward("variance")
    budget_variance = _Forward("variance")
    budget_status = _Forward("variance")
    top_movers = _Forward("variance")
    anomalies = _Forward("anomalies")

    @property
    def plot(self) -> PlotNamespace:
        """Plotting functions of :mod:`cfusage.plots`, frame first (``df.cfusage.plot.cost()``)."""
        return PlotNamespace(self._obj)

    def __dir__(self) -> list[str]:
        return sorted(n for n in set(super().__dir__()) if not n.startswith("_"))
