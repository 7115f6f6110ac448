"""Exports meant for people: CSV cells that a spreadsheet never runs as a formula.

A spreadsheet (Excel, LibreOffice, Google Sheets) opening a CSV runs a cell that starts with
``=``, ``+``, ``-`` or ``@`` as a formula (and some also after a leading tab or carriage return),
so a name such as ``=HYPERLINK("http://evil.example", "click")`` or ``=cmd|' /C calc'!A0`` coming
from the API would run on the reader's machine ("CSV injection"). The rule here is OWASP's:
a text cell that starts with one of ``= + - @ \\t \\r`` gets a single quote in front (``'=...``),
which spreadsheets show as text. Numbers stay numbers (``-12.5`` is written as ``-12.5``), and
so do datetimes and booleans: only text cells are changed.

Exports meant for people use it (the explorer's CSV export, ``cfusage fetch --out x.csv``); the
FOCUS export (:func:`cfusage.to_focus`) is a data interchange format read by programs and is
written verbatim.

Examples
--------
>>> import pandas as pd
>>> from cfusage.io import neutralize_formulas
>>> frame = pd.DataFrame({"name": ["=1+2", "Workers", "-x", "@SUM(A1)"], "cost": [-1.5, 2.0, 0.0, 1.0]})
>>> neutralize_formulas(frame)
        name  cost
0      '=1+2  -1.5
1    Workers   2.0
2        '-x   0.0
3  '@SUM(A1)   1.0
"""

from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = ["FORMULA_PREFIXES", "neutralize_formulas"]

#: The first characters that make a spreadsheet read a cell as a formula (OWASP, CSV injection).
FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralize_formulas(data: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``data`` whose text cells a spreadsheet cannot run as formulas.

    Every text cell (in ``object``, ``string`` or ``category`` columns) that starts with ``=``,
    ``+``, ``-``, ``@``, a tab or a carriage return gets a single quote in front (the OWASP rule
    against CSV injection); every other cell, and every number, datetime and boolean, is kept as
    it is. Column names are neutralised the same way. Missing values stay missing.

    Parameters
    ----------
    data : pandas.DataFrame
        The frame about to be written for people (CSV, spreadsheet). It is not modified.

    Returns
    -------
    pandas.DataFrame
        The same rows and columns; changed columns hold ``object`` text (a category column
        keeps being a category, with neutralised categories).

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"zone": pd.Categorical(["+1 555", "a.example"]), "n": [-1, 2]})
    >>> out = neutralize_formulas(frame)
    >>> out["zone"].tolist(), out["n"].tolist()
    (["'+1 555", 'a.example'], [-1, 2])
    """
    out = data.copy()
    for name in out.columns:
        column = out[name]
        dtype = column.dtype
        if isinstance(dtype, pd.CategoricalDtype):
            categories = dtype.categories
            if pd.api.types.is_object_dtype(categories) or pd.api.types.is_string_dtype(categories):
                renamed = [_cell(c) for c in categories]
                if renamed != list(categories) and len(set(renamed)) == len(renamed):
                    out[name] = column.cat.rename_categories(renamed)
                elif renamed != list(categories):
                    out[name] = column.astype(object).map(_cell, na_action="ignore")
        elif pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
            text = column.astype(object)
            starts = text.map(lambda v: isinstance(v, str) and v.startswith(FORMULA_PREFIXES))
            if bool(starts.any()):
                out[name] = text.map(_cell, na_action="ignore")
    out.columns = pd.Index([_cell(c) for c in out.columns], dtype=object)
    return out
