"""Getting usage from Cloudflare: the HTTP clients and the local Parquet store.

:class:`Client` / :class:`AsyncClient` split a date range into API windows, retry what can be
retried and return typed frames (through :func:`cfusage.io.to_frame`); :class:`Store` keeps a
month-partitioned Parquet copy and syncs only the days that are missing or not yet final.
"""

from ._client import (
    DEFAULT_BASE_URL,
    DEFAULT_DEADLINE,
    DEFAULT_MAX_RESPONSE_BYTES,
    AsyncClient,
    Client,
    Retry,
    format_duration,
    scrub_secret,
)
from ._store import (
    MANIFEST,
    Store,
    StoreProblem,
    StoreReport,
    SyncResult,
    arrow_type,
    atomic_write_bytes,
    to_arrow,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_DEADLINE",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "MANIFEST",
    "AsyncClient",
    "Client",
    "Retry",
    "Store",
    "StoreProblem",
    "StoreReport",
    "SyncResult",
    "arrow_type",
    "atomic_write_bytes",
    "format_duration",
    "scrub_secret",
    "to_arrow",
]
