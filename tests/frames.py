"""Small typed frames built by hand, so that a test's expected values stay visible."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from cfusage.schema import dtypes

DTYPES = dtypes()


def typed(data: Mapping[str, Any] | None = None, /, **columns: Any) -> pd.DataFrame:
    """A frame whose columns known to the schema get its dtypes (others are left as given).

    ``typed({"effective_cost": [1.0]})`` and ``typed(effective_cost=[1.0])`` are the same.
    """
    df = pd.DataFrame(dict(data) if data is not None else columns)
    for name in df.columns:
        if name in DTYPES:
            if DTYPES[name].startswith("datetime"):
                df[name] = pd.to_datetime(df[name], utc=True).astype(DTYPES[name])
            else:
                df[name] = df[name].astype(DTYPES[name])
    return df
