"""A generated year of a large organization, written as a cfusage store (for engines, benchmarks).

:func:`large_store` writes ``accounts`` x 100 metrics x 365 days of daily usage records (1,000
accounts: 36.5M rows; 100: 3.65M) straight to a Hive-partitioned Parquet store in the layout of
:class:`cfusage.Store` (see :mod:`cfusage.fetch._store`)::

    path/month=2025-01/part-0.parquet ... path/month=2025-12/part-0.parquet
    path/_cfusage_store.json          the manifest: every day fetched and complete, each
                                      partition's rows, bytes and SHA-256

Each partition holds every column of :data:`cfusage.schema.COLUMNS` under its python name, in that
order, with the store's Arrow types (datetimes ``timestamp[us, tz=UTC]``, money, quantities and
prices ``double``, categories ``dictionary<int32, string>``, ids ``string``, ``tags`` JSON text),
zstd-compressed with page checksums, as ``Store.sync`` writes them; ``Store(path).read()``,
``Store.verify()`` and the glob readers (DuckDB, Polars, Spark) read it as a synced store.

The organization
----------------
- 1,000 accounts (``Account 0000``...), lognormal sizes (a few large accounts hold much of the
  spend), each with its own yearly growth, all under the sample's enterprise contract
  (:data:`cfusage.sample.CONTRACT`: the SubAccount of every row).
- 100 billable metrics: the sample's 20 (:data:`cfusage.sample.METRICS`: 13 product families, their
  list prices, block sizes and monthly free allowances) in 5 regions (``region_id`` /
  ``region_name``), a metric id per region (``workers_cpu_time_weur``); list prices differ by
  region (x1.0 to x1.25).
- Every account uses every metric every day. Consumed quantity = account size x metric
  popularity x growth x weekly seasonality (weekends at 75 %, not for stock metrics) x lognormal
  noise, with rare spikes (0.05 % of rows, x3 to x8). Stock metrics (``*-months`` units) are
  reported as the day's share of the month.
- Costs follow the sample's rules: each account's monthly free allowance per metric is used up in
  day order (``pricing_quantity`` = billable consumed / block size, 0 on wholly free days);
  ``list_cost = list_unit_price x pricing_quantity``; the contract's discount per product family
  gives ``contracted_unit_price`` and ``contracted_cost``; ``effective_cost = billed_cost =
  contracted_cost`` (no commitment).
- 0.1 % of rows are unrated: their four costs are null (unknown, never 0).

Deterministic: account *a*'s records depend only on ``seed`` and *a* (each account draws from its
own generator), so the store of the first 100 accounts is exactly a slice of the 1,000-account
one. Memory stays low: one month is built (vectorised numpy, then pyarrow) and written at a time
(about 1 GB at 1,000 accounts).

``cfusage.sample.large_store(path, accounts=10)`` builds one (notebook 07 does);
``python -m benchmarks engines`` builds the 1,000-account store it measures.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .. import schema
from ..errors import ArgumentError
from ..fetch import arrow_type
from ._generate import CONTRACT, METRICS

__all__ = ["large_store"]

#: First charge day; the year is 365 days (2025 is not a leap year).
START = dt.date(2025, 1, 1)
DAYS = 365
REGIONS = (
    ("wnam", "North America", 1.0),
    ("weur", "Europe", 1.0),
    ("apac", "Asia Pacific", 1.1),
    ("latam", "Latin America", 1.2),
    ("afr", "Middle East and Africa", 1.25),
)
#: Metrics: the sample's 20 in each region, metric-major (the first 20 are North America's).
N_METRICS = len(METRICS) * len(REGIONS)
NA_SHARE = 0.001
SPIKE_SHARE = 0.0005
FETCHED_AT = "2026-01-10T00:00:00Z"
MANIFEST = "_cfusage_store.json"
PART = "part-0.parquet"


def large_store(
    path: str | os.PathLike[str],
    *,
    accounts: int = 1000,
    days: int = DAYS,
    seed: int = 0,
    quiet: bool = True,
) -> Path:
    """The store of ``accounts`` x 100 metrics x ``days`` days, generated if absent.

    Parameters
    ----------
    accounts : int, default 1000
        Accounts (rows = ``accounts x 100 x days``): 1,000 is the issue's large organization
        (36.5M rows), 100 its Spark slice (3.65M), 5-50 a size for tests and notebooks.
    days : int, default 365
        Charge days from 2025-01-01.
    seed : int, default 0
    path : path
        The store directory. An existing store there (one with a manifest) is returned as it
        is; otherwise it is written to a temporary directory beside it and renamed into place,
        so an interrupted run leaves no half store.
    quiet : bool, default True
        Print a line per month written.

    Returns
    -------
    pathlib.Path
        The store directory (``cfusage.Store(path)`` reads it).

    Examples
    --------
    >>> import tempfile, cfusage
    >>> path = cfusage.sample.large_store(tempfile.mkdtemp() + "/org", accounts=1, days=31)
    >>> store = cfusage.Store(path)
    >>> len(store.read()), store.verify().ok
    (3100, True)
    """
    if accounts < 1 or not 1 <= days <= DAYS:
        raise ArgumentError(f"accounts must be >= 1 and days in 1..{DAYS}: {accounts=}, {days=}")
    target = Path(path)
    if (target / MANIFEST).exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        _write(tmp, accounts, days, seed, quiet)
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


# -- the organization --------------------------------------------------------------------------
def _metrics() -> dict[str, np.ndarray]:
    """The 100 metrics as column arrays (sample metric k in region r is metric r * 20 + k)."""
    m = METRICS.reset_index(drop=True)
    n = len(m)
    region = np.repeat(np.arange(len(REGIONS)), n)
    base = np.tile(np.arange(n), len(REGIONS))
    factor = np.array([r[2] for r in REGIONS])[region]
    price = m["list_unit_price"].to_numpy(float)[base] * factor
    discount = np.array(
        [CONTRACT["discounts"].get(f, 0.0) for f in m["x_product_family_name"]], dtype=float
    )[base]
    out = {
        "x_billable_metric_id": np.array(
            [
                f"{m.at[b, 'x_billable_metric_id']}_{REGIONS[r][0]}"
                for r, b in zip(region, base, strict=True)
            ]
        ),
        "x_billable_metric_name": np.array(
            [
                f"{m.at[b, 'x_billable_metric_name']} ({REGIONS[r][1]})"
                for r, b in zip(region, base, strict=True)
            ]
        ),
        "region_id": np.array([REGIONS[r][0] for r in region]),
        "region_name": np.array([REGIONS[r][1] for r in region]),
        "list_unit_price": price,
        "contracted_unit_price": price * (1 - discount),
        "block": m["block_size"].to_numpy(float)[base],
        "allowance": m["free_allowance"].to_numpy(float)[base],
        "stock": m["pricing_unit"].str.endswith("-month").to_numpy(bool)[base],
    }
    for c in (
        "x_product_family_id",
        "x_product_family_name",
        "x_product_category_name",
        "consumed_unit",
        "pricing_unit",
    ):
        out[c] = m[c].to_numpy(str)[base]
    out["charge_description"] = np.array(
        [f"{n} \u2014 daily usage" for n in out["x_billable_metric_name"]]
    )
    return out


def _account_params(seed: int, accounts: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Size, yearly growth and per-metric popularity of each account (own generator each)."""
    size = np.empty(accounts)
    growth = np.empty(accounts)
    popularity = np.empty((accounts, N_METRICS))
    for a in range(accounts):
        rng = np.random.default_rng([seed, 0, a])
        size[a] = rng.lognormal(0.0, 1.0)
        growth[a] = rng.normal(0.3, 0.3)
        popularity[a] = rng.lognormal(0.0, 0.8, N_METRICS)
    return size, growth, popularity


def _months(days: int) -> list[tuple[dt.date, int, int]]:
    """(month start, first day index of the year, days of the month in the range)."""
    out = []
    end = START + dt.timedelta(days=days)
    month = START
    while month < end:
        nxt = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        out.append((month, (month - START).days, (min(nxt, end) - month).days))
        month = nxt
    return out


def _write(root: Path, accounts: int, days: int, seed: int, quiet: bool) -> None:
    metrics = _metrics()
    size, growth, popularity = _account_params(seed, accounts)
    account_ids = np.array([_hex("account", f"large org {a}") for a in range(accounts)])
    account_names = np.array([f"Account {a:04d}" for a in range(accounts)])
    partitions = {}
    for index, (month, first, n_days) in enumerate(_months(days)):
        table = _month_table(
            month, first, n_days, index, seed, metrics, size, growth, popularity,
            account_ids, account_names,
        )  # fmt: skip
        folder = root / f"month={month:%Y-%m}"
        folder.mkdir()
        part = folder / PART
        with open(part, "xb") as fh:
            pq.write_table(table, fh, compression="zstd", write_page_checksum=True)
        partitions[f"{month:%Y-%m}"] = {
            "rows": table.num_rows,
            "bytes": part.stat().st_size,
            "sha256": _sha256(part),
        }
        if not quiet:
            print(f"   {part.relative_to(root)}: {table.num_rows:,} rows", flush=True)
        del table
    last = START + dt.timedelta(days=days - 1)
    manifest = {
        "format": 2,
        "complete_through": last.isoformat(),
        "days": {
            (START + dt.timedelta(days=i)).isoformat(): {"fetched_at": FETCHED_AT, "complete": True}
            for i in range(days)
        },
        "json_columns": ["tags"],
        "partitions": partitions,
    }
    (root / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")


def _month_table(
    month: dt.date,
    first: int,
    n_days: int,
    index: int,
    seed: int,
    metrics: dict[str, np.ndarray],
    size: np.ndarray,
    growth: np.ndarray,
    popularity: np.ndarray,
    account_ids: np.ndarray,
    account_names: np.ndarray,
) -> pa.Table:
    """One month's records, ordered by day, account, metric."""
    accounts, n_m = len(size), N_METRICS
    full = _month_length(month)
    shape = (accounts, n_m, n_days)
    noise = np.empty(shape)
    spike = np.ones(shape)
    unrated = np.zeros(shape, dtype=bool)
    for a in range(accounts):  # each account its own generator: a slice of accounts is a slice
        rng = np.random.default_rng([seed, 1 + index, a])
        noise[a] = rng.lognormal(0.0, 0.2, (n_m, full))[:, :n_days]
        hit = rng.random((n_m, full))[:, :n_days] < SPIKE_SHARE
        spike[a][hit] = rng.uniform(3.0, 8.0, (n_m, full))[:, :n_days][hit]
        unrated[a] = rng.random((n_m, full))[:, :n_days] < NA_SHARE
    day = np.arange(first, first + n_days)
    weekday = np.array([(START + dt.timedelta(days=int(d))).weekday() for d in day])
    weekly = np.where(weekday >= 5, 0.75, 1.0)
    stock = metrics["stock"]
    season = np.where(stock[:, None], 1.0 / full, weekly[None, :])  # (metrics, days)
    trend = np.exp(growth[:, None] * (day[None, :] / DAYS))  # (accounts, days)
    level = 1.0 * size[:, None] * popularity * metrics["block"][None, :]  # (accounts, metrics)
    consumed = np.round(
        level[:, :, None] * trend[:, None, :] * season[None, :, :] * noise * spike, 3
    )
    # the monthly free allowance per account and metric, used up in day order
    allowance = metrics["allowance"][None, :, None]
    used = np.cumsum(consumed, axis=2)
    billable = np.diff(np.maximum(used - allowance, 0.0), axis=2, prepend=0.0)
    pricing = billable / metrics["block"][None, :, None]

    # rows ordered by day, then account, then metric
    def rows(x: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(np.moveaxis(x, 2, 0)).ravel()

    n = accounts * n_m * n_days
    d_idx = np.repeat(np.arange(n_days), accounts * n_m)
    a_idx = np.tile(np.repeat(np.arange(accounts), n_m), n_days)
    m_idx = np.tile(np.arange(n_m), accounts * n_days)
    consumed_r, pricing_r, unrated_r = rows(consumed), rows(pricing), rows(unrated)
    list_price = metrics["list_unit_price"][m_idx]
    contracted_price = metrics["contracted_unit_price"][m_idx]
    day_us = (np.datetime64(month, "us") + np.arange(n_days + 1).astype("timedelta64[D]")).astype(
        "int64"
    )
    next_month = month + dt.timedelta(days=full)
    values: dict[str, pa.Array] = {
        "billing_account_id": _take(account_ids, a_idx),
        "billing_account_name": _dict(account_names, a_idx),
        "sub_account_id": _repeat(CONTRACT["sub_account_id"], n),
        "sub_account_name": _repeat(CONTRACT["sub_account_name"], n),
        "billing_period_start": _ts(np.full(n, _us(month))),
        "billing_period_end": _ts(np.full(n, _us(next_month))),
        "charge_period_start": _ts(day_us[:-1][d_idx]),
        "charge_period_end": _ts(day_us[1:][d_idx]),
        "charge_category": _repeat("Usage", n),
        "charge_frequency": _repeat("Usage-Based", n),
        "consumed_quantity": pa.array(consumed_r),
        "pricing_quantity": pa.array(pricing_r),
        "list_unit_price": pa.array(list_price),
        "contracted_unit_price": pa.array(contracted_price),
        "billing_currency": _repeat("USD", n),
        "host_provider_name": _repeat("Cloudflare", n),
        "invoice_issuer_name": _repeat("Cloudflare", n),
        "service_provider_name": _repeat("Cloudflare", n),
    }
    list_cost = list_price * pricing_r
    contracted = contracted_price * pricing_r
    for name, cost in (
        ("list_cost", list_cost),
        ("contracted_cost", contracted),
        ("effective_cost", contracted),
        ("billed_cost", contracted),
    ):
        values[name] = pa.array(cost, mask=unrated_r)
    for name in (
        "charge_description",
        "x_billable_metric_name",
        "x_product_family_name",
        "x_product_category_name",
        "consumed_unit",
        "pricing_unit",
        "region_id",
        "region_name",
    ):
        values[name] = _dict(metrics[name], m_idx)
    for name in ("x_billable_metric_id", "x_product_family_id"):
        values[name] = _take(metrics[name], m_idx)
    arrays, fields = [], []
    for col in schema.COLUMNS:
        kind = arrow_type(col)
        array = values.get(col.python)
        if array is None:  # charge_class, zone, tags: null on every row
            array = pa.nulls(n, kind)
        arrays.append(array.cast(kind) if array.type != kind else array)
        fields.append(pa.field(col.python, kind, nullable=True))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


# -- small helpers ------------------------------------------------------------------------------
def _dict(labels: np.ndarray, codes: np.ndarray) -> pa.DictionaryArray:
    """A dictionary column: categories sorted (as pandas categories come from the loader)."""
    uniq, inverse = np.unique(labels, return_inverse=True)
    return pa.DictionaryArray.from_arrays(
        pa.array(inverse[codes].astype(np.int32)), pa.array(uniq.tolist(), pa.string())
    )


def _take(labels: np.ndarray, codes: np.ndarray) -> pa.Array:
    return pa.array(labels.tolist(), pa.string()).take(pa.array(codes))


def _repeat(value: str, n: int) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(
        pa.array(np.zeros(n, dtype=np.int32)), pa.array([value], pa.string())
    )


def _us(day: dt.date) -> int:
    return int(np.datetime64(day, "us").astype("int64"))


def _ts(us: np.ndarray) -> pa.Array:
    return pa.array(us.astype("int64")).view(pa.timestamp("us", tz="UTC"))


def _month_length(month: dt.date) -> int:
    nxt = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return (nxt - month).days


def _hex(kind: str, name: str) -> str:
    """A stable 32-hex id (the same on every machine and run)."""
    return hashlib.md5(f"cfusage-bench:{kind}:{name}".encode()).hexdigest()


def _sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()
