"""The cfusage charts (public import path; the code lives in :mod:`cfusage.viz.plots`).

Each function takes ``ax=`` (or draws on a new figure) and returns the matplotlib ``Axes``.
"""

from .viz.plots import *  # noqa: F403
from .viz.plots import __all__ as __all__
