"""What a person looks at: matplotlib charts (:mod:`cfusage.plots`), the ipywidgets explorer and
the HTML report. Each takes a typed frame or a helper's result; none of them fetches data.

- ``plots``: the charts, each ``plot(data, *, ..., ax=None)`` returning the Axes.
- ``_style``: what they share: the palette, money formatting, the Axes look, and literal text
  (names are drawn as written, never as matplotlib mathtext).
- ``_widgets``: the explorer (:func:`explore`); its CSV export neutralises formula cells.
- ``_report``: the report (:func:`build_report`, :func:`write_report`), styled by ``report.css``.

The explorer (ipywidgets) and the report are imported on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import plots

if TYPE_CHECKING:
    from ._report import Headline, Report, build_report, write_report
    from ._widgets import Explorer, explore

_LAZY = {
    "Explorer": "_widgets",
    "explore": "_widgets",
    "Headline": "_report",
    "Report": "_report",
    "build_report": "_report",
    "write_report": "_report",
}

__all__ = ["Explorer", "Headline", "Report", "build_report", "explore", "plots", "write_report"]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'cfusage.viz' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value
    return value
