"""``df.cfusage``: the cfusage helpers as a pandas accessor.

Importing :mod:`cfusage` registers the accessor. Each method is the plain function of the same
name with the frame as its first argument, attached when the class is defined (as great-tables
does), so ``df.cfusage.discounts(by="product")`` is exactly ``cfusage.discounts(df, by="product")``
and ``help(df.cfusage.discounts)`` shows that function's own signature and docstring.

``df.cfusage.plot.<name>(...)`` is ``cfusage.plots.<name>(df, ...)`` for the charts that draw a
usage frame; matplotlib is imported the first time ``df.cfusage.plot`` is used.

Examples
--------
>>> import pandas as pd
>>> import cfusage
>>> df = pd.DataFrame({
...     "charge_period_start": pd.to_datetime(["2026-01-01", "2026-02-05"], utc=True),
...     "effective_cost": pd.array([10.0, 12.0], dtype="Float64"),
... })
>>> df.cfusage.period_over_period(as_of="2026-02-28")[["period", "change"]]
                     period  change
0 2026-01-01 00:00:00+00:00    <NA>
1 2026-02-01 00:00:00+00:00     2.0
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import pandas as pd

from . import analysis, io

__all__ = ["CfusageAccessor", "PlotNamespace"]

#: The charts of :mod:`cfusage.plots` that draw a typed usage frame (the others draw a helper's
#: result, so they are not offered on the frame).
USAGE_PLOTS: tuple[str, ...] = ("cost", "discount_waterfall", "amortized_vs_billed")


class _FrameFirst:
    """A method that calls ``func(frame, ...)``; shows ``func``'s signature and docstring."""

    def __init__(self, func: Callable[..., Any]) -> None:
        self.func = func
        sig = inspect.signature(func)
        self.signature = sig.replace(parameters=list(sig.parameters.values())[1:])
        self.__doc__ = func.__doc__
        self.__name__ = func.__name__
        self.__module__ = func.__module__  # doctest collects the examples where they are defined

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        bound = functools.partial(self.func, obj._obj)
        functools.update_wrapper(bound, self.func)
        bound.__signature__ = self.signature  # type: ignore[attr-defined]
        return bound


class PlotNamespace:
    """``df.cfusage.plot``: the charts of :mod:`cfusage.plots` that draw a usage frame.

    ``df.cfusage.plot.cost(by="product")`` is ``cfusage.plots.cost(df, by="product")``.
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        self._obj = frame

    def __repr__(self) -> str:
        return f"<cfusage plots: {', '.join(USAGE_PLOTS)}>"


@functools.cache
def _plot_namespace() -> type[PlotNamespace]:
    """PlotNamespace with the chart functions attached (matplotlib is imported here, once)."""
    from .viz import plots

    for name in USAGE_PLOTS:
        setattr(PlotNamespace, name, _FrameFirst(getattr(plots, name)))
    return PlotNamespace


@pd.api.extensions.register_dataframe_accessor("cfusage")
class CfusageAccessor:
    """cfusage helpers on a typed usage frame: ``df.cfusage.<helper>(...)``.

    Every method calls the plain function of the same name with the frame as its first argument
    and returns exactly what it returns. The frame is never modified.

    Examples
    --------
    >>> import pandas as pd
    >>> import cfusage
    >>> df = pd.DataFrame({
    ...     "charge_period_start": pd.to_datetime(["2026-01-01", "2026-02-05"], utc=True),
    ...     "effective_cost": pd.array([10.0, 12.0], dtype="Float64"),
    ... })
    >>> df.cfusage.budget_status(budget=500.0, as_of="2026-02-14")[["period", "actual", "forecast"]]
                         period  actual  forecast
    0 2026-01-01 00:00:00+00:00    10.0      10.0
    1 2026-02-01 00:00:00+00:00    12.0      24.0
    """

    def __init__(self, pandas_obj: pd.DataFrame) -> None:
        self._obj = pandas_obj

    # data quality and export
    validate = _FrameFirst(io.validate)
    to_focus = _FrameFirst(io.to_focus)
    summary = _FrameFirst(io.summary)

    # discounts, amortization, pricing
    discounts = _FrameFirst(analysis.discounts)
    savings_summary = _FrameFirst(analysis.savings_summary)
    unit_price_discounts = _FrameFirst(analysis.unit_price_discounts)
    amortize = _FrameFirst(analysis.amortize)
    amortize_commitment = _FrameFirst(analysis.amortize_commitment)
    commitment_burndown = _FrameFirst(analysis.commitment_burndown)
    reconcile = _FrameFirst(analysis.reconcile)
    rate = _FrameFirst(analysis.rate)
    free_allowance_usage = _FrameFirst(analysis.free_allowance_usage)

    # variance, budgets and anomalies
    period_over_period = _FrameFirst(analysis.period_over_period)
    price_volume_mix = _FrameFirst(analysis.price_volume_mix)
    budget_variance = _FrameFirst(analysis.budget_variance)
    budget_status = _FrameFirst(analysis.budget_status)
    top_movers = _FrameFirst(analysis.top_movers)
    anomalies = _FrameFirst(analysis.anomalies)

    @property
    def plot(self) -> PlotNamespace:
        """The charts that draw a usage frame, frame first (``df.cfusage.plot.cost()``)."""
        return _plot_namespace()(self._obj)

    def __dir__(self) -> list[str]:
        return sorted(n for n in set(super().__dir__()) if not n.startswith("_"))
