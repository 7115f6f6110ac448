"""Reading and writing usage data: responses and FOCUS files in, typed frames out.

:func:`to_frame` turns whatever a user has in hand (an API envelope, its bytes, a file, SDK objects,
FOCUS CSV/Parquet, a DataFrame) into a typed frame with the columns of :mod:`cfusage.schema`;
:func:`validate` checks a frame against the same rules; :func:`to_focus` writes a FOCUS file;
:func:`scan_focus` gives a DuckDB or Polars lazy frame over FOCUS files without loading them.
"""

from ._coerce import NULL_TEXT
from ._coerce import _complete as complete_columns
from ._dates import DateLike, utc_day
from ._export import neutralize_formulas
from ._focus import to_focus
from ._frame import Rejected, concat, summary, to_frame
from ._scan import ENGINES, Engine, empty_scan, engine_module, scan_files, scan_focus
from ._validation import ISO_4217, ValidationReport, validate

__all__ = [
    "ENGINES",
    "ISO_4217",
    "NULL_TEXT",
    "DateLike",
    "Engine",
    "Rejected",
    "ValidationReport",
    "complete_columns",
    "concat",
    "empty_scan",
    "engine_module",
    "neutralize_formulas",
    "scan_files",
    "scan_focus",
    "summary",
    "to_focus",
    "to_frame",
    "utc_day",
    "validate",
]
