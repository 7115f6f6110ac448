"""The one date rule: any date-like value a user passes → the UTC day it falls on.

Used by the clients, the store, the sample, the variance helpers and the report, so that
``"2026-03-01T23:00-05:00"`` is 2 March (04:00 UTC) everywhere.
"""

from __future__ import annotations

import datetime as dt
from typing import TypeAlias

import pandas as pd

from ..errors import ArgumentError

#: What a day may be given as: ``"YYYY-MM-DD"`` (or any ISO 8601 text), a ``datetime.date``, a
#: ``datetime.datetime`` or a ``pandas.Timestamp``, with or without a UTC offset.
DateLike: TypeAlias = str | dt.date | dt.datetime | pd.Timestamp


def utc_day(value: DateLike, name: str = "date") -> dt.date:
    """The UTC calendar day of ``value``.

    A ``datetime.date`` is that day; a datetime or text with an offset is converted to UTC first;
    one without an offset is taken as UTC already. ``name`` is the argument's name, for the error.

    Raises
    ------
    cfusage.ArgumentError
        When ``value`` is not a date (or is NaT / None), naming ``name`` and the value.

    Examples
    --------
    >>> utc_day("2026-03-01T23:00-05:00")
    datetime.date(2026, 3, 2)
    >>> utc_day("2026-03-01")
    datetime.date(2026, 3, 1)
    """
    parsed: object = value
    if isinstance(value, str):
        try:
            parsed = pd.Timestamp(value.strip())
        except (ValueError, OverflowError):
            parsed = None
    if isinstance(parsed, pd.Timestamp | dt.datetime) and parsed is not pd.NaT:
        ts = pd.Timestamp(parsed)
        return (ts.tz_convert("UTC") if ts.tzinfo is not None else ts).date()
    if isinstance(parsed, dt.date) and parsed is not pd.NaT:
        return parsed
    raise ArgumentError(
        f"{name}={value!r} is not a day: pass 'YYYY-MM-DD', a datetime.date, a datetime or a "
        "pandas.Timestamp"
    )
