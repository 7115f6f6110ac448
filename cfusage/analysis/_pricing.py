"""Pricing: estimate costs for usage that came without them, from a price book.

The organization endpoint may return usage without costs (schema revision C). :func:`rate` prices
consumption the way Cloudflare bills it:

1. **Free allowance.** Each metric's allowance (consumed units per billing period) is consumed
   per account x metric x billing period in day order (within a day, in the frame's row order).
   A row's *billable* quantity is the part of its consumption past the allowance.
2. **Blocks.** ``pricing_quantity = billable consumed quantity / block_size`` (a price "per 1M
   requests" has a block size of 1,000,000).
3. **Tiers.** ``tier_start`` is the cumulative pricing quantity per billing period from which a
   tier's price applies; a row straddling a tier boundary is priced piecewise.
4. **Contract.** ``contracted_unit_price = list_unit_price x (1 - contracted_discount)``.

The price book (CSV or DataFrame) has one row per metric and tier: ``x_billable_metric_id``,
``block_size``, ``tier_start``, ``list_unit_price``, ``currency``, ``free_allowance``, and
optionally ``contracted_discount``, ``pricing_unit``, ``consumed_unit``, ``valid_from`` and
``valid_to`` and descriptive columns (``source``...). The example shipped with cfusage
(:func:`load_price_book` with no argument) is Cloudflare's public list prices with the sample
organization's contract discounts, dated: ``r2_class_a_operations`` costs 4.50 USD per 1M until
2026-06-30 and 5.00 from 2026-07-01 (the sample's price change).

**Dated prices.** A *version* of a metric's prices is the set of its rows with the same validity
interval ``[valid_from, valid_to)``: UTC days, ``valid_from`` inclusive, ``valid_to`` exclusive,
an empty cell meaning "open" (since always / until further notice). A usage row is priced with the
version in force on its charge day (the UTC day of ``charge_period_start``): the one whose interval
holds that day. A day no version covers is left unpriced (NA, with a warning naming the metric);
two versions of a metric whose intervals overlap are refused. This is a plain interval join
(``metric = metric AND valid_from <= day < valid_to``), not an "as of" join, so it ports as is to
SQL or Spark. An older book dated by ``effective_from`` only is read as ``valid_from``, each
version valid until the metric's next ``effective_from``.

**Engines.** :func:`free_allowance_usage` takes any frame of :mod:`cfusage.analysis._engine`: it
sums the quantities in the engine per account x metric x billing period x block of days and
finishes in pandas. :func:`rate` takes pandas and Polars frames (on a LazyFrame it stays lazy), and
refuses DuckDB, Spark and Ibis frames, which have no row order (see its docstring).
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass
from importlib import resources
from os import PathLike
from pathlib import Path
from typing import Any, TypeAlias

import narwhals.stable.v2 as nw
import numpy as np
import pandas as pd

from ..errors import ArgumentError, DataError, MissingColumnsError, ValidationError
from ..schema import dtypes
from . import _engine
from . import _grouping as g
from ._engine import Frame

__all__ = ["free_allowance_usage", "load_price_book", "rate"]

PriceBook: TypeAlias = pd.DataFrame | str | PathLike[str]

_BOOK_REQUIRED = (
    "x_billable_metric_id",
    "block_size",
    "tier_start",
    "list_unit_price",
    "currency",
    "free_allowance",
)
_BOOK_NUMBERS = ("block_size", "tier_start", "list_unit_price", "free_allowance")
_FILLED = (
    "pricing_quantity",
    "pricing_unit",
    "list_unit_price",
    "list_cost",
    "contracted_unit_price",
    "contracted_cost",
    "effective_cost",
    "billed_cost",
    "billing_currency",
)
_COSTS = ("list_cost", "contracted_cost", "effective_cost", "billed_cost")
_RATE_REQUIRED = ("x_billable_metric_id", "consumed_quantity", "charge_period_start")
_RATE_NEEDS_ORDER = (
    "rate() takes a pandas DataFrame or a Polars frame, not a {kind}: it returns every row, and "
    "how a day's free allowance is split among several rows of one account x metric follows the "
    "frame's row order, which a DuckDB relation, a Spark DataFrame or an Ibis table does not "
    "have. Rate a collected slice instead (filter one billing period or account in the engine, "
    "collect it to pandas, then rate), or use the costs the store already has "
    "(Client.account_costs); free_allowance_usage() runs on every engine"
)
#: The columns the allowance reads besides metric, day and quantity (kept by an engine reduction).
_CONTEXT = (
    "billing_account_id",
    "billing_period_start",
    "billing_currency",
    "charge_category",
    "charge_class",
)
_NEVER = np.iinfo(np.int64).min


def load_price_book(path: PriceBook | None = None) -> pd.DataFrame:
    """Read and check a price book.

    Parameters
    ----------
    path : str, path or DataFrame, optional
        A CSV file or a DataFrame in the price-book format (see the module docstring). Default:
        the example shipped with cfusage (``cfusage/analysis/data/price_book.csv``).

    Returns
    -------
    pandas.DataFrame
        A new frame, one row per metric x version x tier sorted by metric, ``valid_from`` and
        ``tier_start``; numbers as float64, ``valid_from``/``valid_to`` as UTC timestamps (NaT:
        open), ``contracted_discount`` as float64 (NaN when not given: contracted prices stay
        unknown).

    Raises
    ------
    MissingColumnsError
        If a required column is absent.
    ValidationError
        If a value cannot be used (block size not above 0, a negative price or allowance, a
        metric without a tier starting at 0, a discount outside [0, 1], ``valid_to`` not after
        ``valid_from``, two versions of a metric in force on the same day); ``failure_cases``
        lists every one.

    Examples
    --------
    >>> from cfusage.analysis._pricing import load_price_book
    >>> book = load_price_book()
    >>> book.set_index("x_billable_metric_id").loc["workers_standard_requests", "block_size"]
    np.float64(1000000.0)
    """
    if path is None:
        path = Path(str(resources.files("cfusage.analysis").joinpath("data", "price_book.csv")))
    if isinstance(path, pd.DataFrame):
        book = path.copy()
    else:
        try:
            book = pd.read_csv(path, dtype={"x_billable_metric_id": "str", "currency": "str"})
        except (OSError, ValueError) as exc:
            raise DataError(f"cannot read the price book {str(path)!r}: {exc}") from exc
    g.require(book, list(_BOOK_REQUIRED), "a price book", allow_all_na=True)
    cases: list[tuple[int, str, object, str, str]] = []
    for col in _BOOK_NUMBERS:
        raw = book[col]
        num = pd.to_numeric(raw, errors="coerce").astype("float64")
        bad = num.isna() | (num < 0) | ((num <= 0) if col == "block_size" else False)
        for i in np.flatnonzero(bad.to_numpy()):
            check = "> 0" if col == "block_size" else ">= 0"
            cases.append((int(i), col, raw.iloc[i], f"a number {check}", "unusable price"))
        book[col] = num
    if "contracted_discount" in book.columns:
        raw = book["contracted_discount"]
        disc = pd.to_numeric(raw, errors="coerce").astype("float64")
        bad = (disc < 0) | (disc > 1)
        for i in np.flatnonzero(bad.to_numpy()):
            cases.append(
                (int(i), "contracted_discount", raw.iloc[i], "0 <= x <= 1", "bad discount")
            )
        book["contracted_discount"] = disc
    else:
        book["contracted_discount"] = np.nan
    from_only = "valid_from" not in book.columns and "effective_from" in book.columns
    if from_only:
        book = book.rename(columns={"effective_from": "valid_from"})
    for col in ("valid_from", "valid_to"):
        if col in book.columns:
            book[col] = _day_stamps(book[col], col, cases)
        else:
            book[col] = pd.Series(pd.NaT, index=book.index, dtype="datetime64[us, UTC]")
    if from_only:  # an older book: each version runs until the metric's next one
        book["valid_to"] = _next_start(book)
    backwards = (book["valid_to"] <= book["valid_from"]).to_numpy(dtype=bool, na_value=False)
    for i in np.flatnonzero(backwards):
        cases.append(
            (int(i), "valid_to", book["valid_to"].iloc[i], "> valid_from", "empty validity")
        )
    book["x_billable_metric_id"] = book["x_billable_metric_id"].astype("str")
    book["currency"] = book["currency"].astype("str")
    for i in np.flatnonzero(book["x_billable_metric_id"].isna().to_numpy()):
        cases.append((int(i), "x_billable_metric_id", None, "not null", "tier of no metric"))
    version = ["x_billable_metric_id", "valid_from", "valid_to"]
    cases += _overlaps(book)
    has_zero = book.groupby(version, dropna=False)["tier_start"].transform(lambda s: (s == 0).any())
    for i in np.flatnonzero(~has_zero.to_numpy(dtype=bool)):
        metric = book["x_billable_metric_id"].iloc[i]
        cases.append((int(i), "tier_start", book["tier_start"].iloc[i], "a tier at 0", metric))
    if cases:
        raise ValidationError(
            pd.DataFrame(cases, columns=["row", "field", "value", "check", "reason"])
        )
    return book.sort_values(
        [*version, "tier_start"], kind="stable", na_position="first"
    ).reset_index(drop=True)


def rate(data: Frame, *, price_book: PriceBook | None = None, overwrite: bool = False) -> Frame:
    """Estimate costs from a price book: free allowance, block pricing, tiers and contract discount.

    See the module docstring for the rules. Each row is priced with the version of its metric's
    prices in force on its charge day (``valid_from <= day < valid_to``), so usage before a price
    change gets the old price. Usage rows (``charge_category`` Usage or missing) whose metric is
    in the book are priced; Purchase, Tax, Credit and Adjustment rows are left as
    they are. Correction rows (``charge_class`` "Correction") do not move the allowance: they are
    priced at the first tier with no allowance (their place in the allowance is unknown).

    Decisions: an estimate has ``effective_cost = billed_cost = contracted_cost`` (a price book
    knows no commitments; apply them with :func:`cfusage.amortize_commitment`). A metric with
    several tiers gets ``list_unit_price = list_cost / pricing_quantity`` (the blended price),
    or the marginal tier's price on a row with nothing billable. Rows in another currency than
    the book's are not priced.

    Engines: ``rate`` returns every input row, and where several rows of one account x metric
    share the day the allowance runs out (or a tier boundary), how that day's free units are split
    among them follows the frame's row order (in the sample, reversing the row order changes the
    estimate of 168 of its 19,621 rows). A Polars frame has a row order: on a Polars LazyFrame the
    rules above run as Polars expressions (a running sum per account x metric x billing period
    ordered by day, then row; the price version and the tiers as ``when/then`` chains built from
    the book), the result stays lazy, and only the warnings' small query (the distinct metrics and
    currencies it cannot price) is run at the call. A DuckDB relation, a Spark DataFrame or an
    Ibis table has no row order, so the split would be arbitrary: it is refused with
    :class:`~cfusage.ArgumentError` before anything is read. Rate a collected slice (one billing
    period, one account...), or use the costs the store already has; :func:`free_allowance_usage`
    (sums over days, which do not depend on that order) runs on every engine.

    Parameters
    ----------
    data : pandas.DataFrame or Polars frame
        A typed usage frame with ``x_billable_metric_id``, ``consumed_quantity`` and
        ``charge_period_start``. The billing period is ``billing_period_start`` (the calendar
        month of the charge day where missing), the account ``billing_account_id``. A pandas
        DataFrame, or a Polars DataFrame or LazyFrame (not a DuckDB, Spark or Ibis frame: see
        "Engines" above and "Engines" in :mod:`cfusage.analysis._engine`).
    price_book : str, path or DataFrame, optional
        See :func:`load_price_book`; default: the example shipped with cfusage.
    overwrite : bool
        ``False`` (default): rows that already have a cost (any of list, contracted, effective,
        billed) keep every value they had, and only rows without costs are estimated. ``True``:
        every priced row gets the estimate.

    Returns
    -------
    pandas.DataFrame or Polars frame
        Of the input's kind (a LazyFrame stays lazy; there the filled text columns are strings,
        the figures Float64). A new frame: ``data`` with ``pricing_quantity``, ``pricing_unit``,
        ``list_unit_price``, ``list_cost``, ``contracted_unit_price``, ``contracted_cost``,
        ``effective_cost``, ``billed_cost`` and ``billing_currency`` filled (created, typed as in
        :mod:`cfusage.schema`, when absent) and a boolean ``cost_estimated`` column: True on rows
        whose values came from the book. Consumption of rows that kept their costs still uses up
        the allowance.

    Raises
    ------
    ArgumentError
        If ``data`` is a DuckDB, Spark or Ibis frame (no row order), or (Polars) its
        ``charge_period_start`` is not a UTC (or zone-less) timestamp.
    MissingColumnsError
        If ``data`` lacks ``x_billable_metric_id``, ``consumed_quantity`` or
        ``charge_period_start``.
    ValidationError
        If the price book has unusable values.

    Warns
    -----
    UserWarning
        Naming the metrics missing from the book (every metric of a file from another cloud),
        the metrics with no price in force on some days, and the currencies it cannot price;
        their rows keep NA costs (never 0) and ``cost_estimated`` False.

    Examples
    --------
    >>> import pandas as pd
    >>> from cfusage.analysis._pricing import rate
    >>> book = pd.DataFrame({
    ...     "x_billable_metric_id": ["requests"], "block_size": [1e6], "tier_start": [0.0],
    ...     "list_unit_price": [0.30], "currency": ["USD"], "free_allowance": [10e6],
    ...     "contracted_discount": [0.2], "pricing_unit": ["1M Requests"],
    ... })
    >>> usage = pd.DataFrame({
    ...     "x_billable_metric_id": ["requests", "requests"],
    ...     "billing_account_id": ["a", "a"],
    ...     "charge_period_start": pd.to_datetime(["2026-03-01", "2026-03-02"], utc=True),
    ...     "consumed_quantity": pd.array([6e6, 8e6], dtype="Float64"),
    ... })
    >>> out = rate(usage, price_book=book)
    >>> out["pricing_quantity"].tolist(), out["list_cost"].round(4).tolist()
    ([0.0, 4.0], [0.0, 1.2])
    """
    if _engine.is_engine(data):
        return _rate_lazy(data, load_price_book(price_book), overwrite)
    g.require(
        data,
        ["x_billable_metric_id", "consumed_quantity", "charge_period_start"],
        "rate()",
        allow_all_na=True,
    )
    book = load_price_book(price_book)
    pos = _positions(data, book, "rate()")
    n = len(data)
    est = _price(pos, book)

    has_cost = np.zeros(n, dtype=bool)
    for c in _COSTS:
        if c in data.columns:
            has_cost |= data[c].notna().to_numpy()
    fill = est.priced & (overwrite | ~has_cost)

    types = dtypes()
    out = {}
    for col in _FILLED:
        old = (
            data[col]
            if col in data.columns
            else pd.Series(pd.NA, index=data.index, dtype=types[col])
        )
        new = est.values[col]
        if types[col] == "category":
            merged = old.astype("object").where(~fill, new).astype("category")
        else:
            merged = old.astype(types[col]).where(~fill, pd.Series(new, index=data.index))
            merged = merged.astype(types[col])
        out[col] = merged
    out["cost_estimated"] = pd.Series(fill, index=data.index, dtype="bool")
    return data.assign(**out)


def free_allowance_usage(
    data: Frame, *, price_book: PriceBook | None = None, freq: str = "MS"
) -> Frame:
    """Share of each free allowance used, per account x metric x period.

    The allowance is consumed as in :func:`rate` (per account x metric x billing period, in day
    order). Only usage rows of metrics in the book (with a free allowance) count.

    Parameters
    ----------
    data : pandas.DataFrame or engine frame
        A typed usage frame with ``x_billable_metric_id``, ``consumed_quantity`` and
        ``charge_period_start``: a pandas DataFrame, or a Polars, DuckDB, Spark or Ibis frame
        (see "Engines" in :mod:`cfusage.analysis._engine`). On an engine the rows are summed in
        the engine per account x metric x billing period x block (x currency, charge category
        and class, and whether the quantity is known), and only those sums are collected; a
        block is a UTC day for ``freq`` "D" and "W", and for "MS", "QS" and "billing_period"
        a calendar month cut where a price version starts or ends. The figures are the same:
        the free part of a run of days does not depend on the order of its rows.
    price_book : str, path or DataFrame, optional
        See :func:`load_price_book`; default: the example shipped with cfusage.
    freq : str
        ``"MS"`` (calendar month, the default of every helper), ``"billing_period"``
        (the invoice cycle: ``billing_period_start``), ``"D"``, ``"W"`` or ``"QS"``.

    Returns
    -------
    pandas.DataFrame or engine frame
        Of the input's kind (a Polars LazyFrame stays lazy, a DuckDB relation stays a relation).
        ``period``, ``billing_account_id``, ``x_billable_metric_id``, then
        ``consumed_quantity`` (consumed units), ``free_quantity`` (the part covered by the
        allowance), ``billable_quantity`` (the rest), ``free_allowance`` (the allowance of the
        billing periods the cell touches: allowance x their number; at a daily grain, the whole
        billing period's allowance), ``allowance_used_share`` (``free_quantity /
        free_allowance``: at a daily grain, the share of the month's allowance used that day;
        NA where the allowance is 0), ``missing_quantity_rows`` (usage rows of the cell without a
        consumed quantity: they are left out of the sums and do not use up the allowance).

        A metric the book does not price (every metric of a file from another cloud) keeps its
        rows: ``consumed_quantity`` is summed, and ``free_quantity``, ``billable_quantity``,
        ``free_allowance`` and ``allowance_used_share`` are NA (unknown, never 0), with a
        warning naming the metrics.

    Raises
    ------
    MissingColumnsError
        If ``data`` lacks ``x_billable_metric_id``, ``consumed_quantity`` or
        ``charge_period_start``.
    ArgumentError
        If ``freq`` is not a grain, or (engine) the session's time zone is not UTC.

    Examples
    --------
    >>> import pandas as pd
    >>> from cfusage.analysis._pricing import free_allowance_usage
    >>> book = pd.DataFrame({
    ...     "x_billable_metric_id": ["requests"], "block_size": [1e6], "tier_start": [0.0],
    ...     "list_unit_price": [0.30], "currency": ["USD"], "free_allowance": [10e6],
    ... })
    >>> usage = pd.DataFrame({
    ...     "x_billable_metric_id": ["requests", "requests"],
    ...     "billing_account_id": ["a", "a"],
    ...     "charge_period_start": pd.to_datetime(["2026-03-01", "2026-03-02"], utc=True),
    ...     "consumed_quantity": pd.array([6e6, 8e6], dtype="Float64"),
    ... })
    >>> free_allowance_usage(usage, price_book=book)["allowance_used_share"].tolist()
    [1.0]
    """
    if _engine.is_engine(data):
        return _free_allowance_engine(data, load_price_book(price_book), freq)
    g.require(
        data,
        ["x_billable_metric_id", "consumed_quantity", "charge_period_start"],
        "free_allowance_usage()",
        allow_all_na=True,
    )
    book = load_price_book(price_book)
    pos = _positions(data, book, "free_allowance_usage()")
    usage = g.usage_mask(data)
    period = _billing_period(data) if g.freq_of(freq) == "billing_period" else None
    if period is None:
        period = g.floor_to(data["charge_period_start"], freq)
    has_q = ~np.isnan(pos.consumed)
    unknown = ~pos.known  # metric (or currency, or day) the book does not price
    free = np.where(unknown, np.nan, pos.consumed - pos.billable)
    account = (
        data["billing_account_id"]
        if "billing_account_id" in data.columns
        else pd.Series(pd.NA, index=data.index, dtype="str")
    )
    work = pd.DataFrame(
        {
            g.PERIOD: period.to_numpy(),
            "billing_account_id": account.astype("str").to_numpy(),
            "x_billable_metric_id": data["x_billable_metric_id"].astype("str").to_numpy(),
            "consumed_quantity": np.where(has_q, pos.consumed, np.nan),
            "free_quantity": np.where(has_q, free, np.nan),
            "billable_quantity": np.where(has_q & ~unknown, pos.billable, np.nan),
            "_allowance": np.where(unknown, np.nan, pos.allowance),
            "_bp": pos.bp_key,
            # input rows without a quantity (a reduced row stands for ROWS of them)
            "_missing": np.where(has_q, 0, g.row_weights(data)).astype(np.int64),
        }
    ).loc[usage]
    keys = [g.PERIOD, "billing_account_id", "x_billable_metric_id"]
    grouped = work.groupby(keys, dropna=False, sort=True)
    figures = ["consumed_quantity", "free_quantity", "billable_quantity"]
    out = grouped[figures].sum(min_count=1)
    # a figure of a metric the book does not price is unknown (NA), never 0
    out["free_quantity"] = out["free_quantity"].where(grouped["free_quantity"].count() > 0)
    out["free_allowance"] = grouped["_allowance"].first() * grouped["_bp"].nunique()
    out = out.astype("Float64")
    out["allowance_used_share"] = g.safe_ratio(out["free_quantity"], out["free_allowance"])
    out["missing_quantity_rows"] = grouped["_missing"].sum().astype("int64")
    return out.reset_index()


# --------------------------------------------------------------------------------------------------
# internals


@dataclass
class _Positions:
    """Where each row sits in its allowance: arrays aligned with the frame's rows."""

    known: np.ndarray  # usage row whose metric (and currency) the book prices
    version: np.ndarray  # index into the book's version table (-1: none)
    consumed: np.ndarray  # float, NaN where missing
    billable: np.ndarray  # consumed units past the allowance (NaN where unknown)
    before: np.ndarray  # billable consumed units of the billing period before this row
    allowance: np.ndarray
    correction: np.ndarray
    bp_key: np.ndarray  # billing period start, int64 microseconds


@dataclass
class _Estimate:
    priced: np.ndarray
    values: dict[str, object]


_VERSION = ["x_billable_metric_id", "valid_from", "valid_to"]


def _versions(book: pd.DataFrame) -> pd.DataFrame:
    """One row per metric x validity interval: the first tier's fields, in book order."""
    first = book.sort_values(
        [*_VERSION, "tier_start"], kind="stable", na_position="first"
    ).drop_duplicates(_VERSION, keep="first")
    return first.reset_index(drop=True)


def _version_of(df: pd.DataFrame, versions: pd.DataFrame) -> np.ndarray:
    """Index (into ``versions``) of the version in force on each row's charge day; -1: none.

    An interval join: same metric and ``valid_from <= day < valid_to`` (NaT: open).
    """
    n = len(df)
    metric = df["x_billable_metric_id"].astype("str").to_numpy(dtype=object, na_value=None)
    day = _us(g.floor_to(df["charge_period_start"], "D"))
    version = np.full(n, -1, dtype=np.int64)
    lo = _us(versions["valid_from"]) if len(versions) else np.zeros(0, dtype=np.int64)
    hi = _us(versions["valid_to"]) if len(versions) else np.zeros(0, dtype=np.int64)
    for i, m in enumerate(versions["x_billable_metric_id"].to_numpy(dtype=object)):
        hit = metric == m
        if lo[i] != _NEVER:
            hit &= day >= lo[i]
        if hi[i] != _NEVER:
            hit &= day < hi[i]
        version[hit] = i
    return version


def _first_tier_prices(df: pd.DataFrame, book: pd.DataFrame) -> pd.DataFrame:
    """Per row of ``df``: block size, first-tier list price and currency of the version in force.

    NA where no version of the row's metric is in force on its charge day (for free-tier value).
    """
    versions = _versions(book)
    v = _version_of(df, versions)
    known = v >= 0
    vi = np.maximum(v, 0)

    def pick(col: str) -> pd.Series:
        if not len(versions):
            return pd.Series(pd.NA, index=df.index, dtype="object")
        return pd.Series(versions[col].to_numpy()[vi], index=df.index).where(known)

    return pd.DataFrame(
        {
            "block_size": pick("block_size").astype("Float64"),
            "list_unit_price": pick("list_unit_price").astype("Float64"),
            "currency": pick("currency").astype("str"),
        },
        index=df.index,
    )


def _day_stamps(values: pd.Series, col: str, cases: list) -> pd.Series:
    """A validity bound as UTC midnights (NaT: open); an unreadable or non-midnight value is a case."""
    text = values.astype("object").where(values.notna(), None)
    stamps = pd.to_datetime(text, utc=True, errors="coerce").astype("datetime64[us, UTC]")
    bad = (stamps.isna() & values.notna()).to_numpy(dtype=bool) | (
        stamps.notna() & (stamps != stamps.dt.floor("D"))
    ).to_numpy(dtype=bool)
    for i in np.flatnonzero(bad):
        cases.append((int(i), col, values.iloc[i], "a date (UTC day)", "unusable validity"))
    return stamps.where(~pd.Series(bad, index=stamps.index))


def _next_start(book: pd.DataFrame) -> pd.Series:
    """For a book dated by ``valid_from`` only: each row's next ``valid_from`` of its metric."""
    starts = book[["x_billable_metric_id", "valid_from"]].drop_duplicates()
    starts = starts.sort_values(["x_billable_metric_id", "valid_from"], na_position="first")
    starts["valid_to"] = starts.groupby("x_billable_metric_id", sort=False)["valid_from"].shift(-1)
    merged = book[["x_billable_metric_id", "valid_from"]].merge(
        starts, on=["x_billable_metric_id", "valid_from"], how="left"
    )
    return pd.Series(merged["valid_to"].to_numpy(), index=book.index).astype("datetime64[us, UTC]")


def _overlaps(book: pd.DataFrame) -> list[tuple[int, str, object, str, str]]:
    """Versions of one metric whose validity intervals share a day."""
    cases: list[tuple[int, str, object, str, str]] = []
    versions = book.drop_duplicates(_VERSION).reset_index()
    for metric, grp in versions.groupby("x_billable_metric_id", sort=False):
        if len(grp) < 2:
            continue
        lo = _us(grp["valid_from"])
        hi = _us(grp["valid_to"])
        lo = np.where(lo == _NEVER, np.iinfo(np.int64).min + 1, lo)
        hi = np.where(hi == _NEVER, np.iinfo(np.int64).max, hi)
        order = np.argsort(lo, kind="stable")
        for a, b in itertools.pairwise(order):
            if lo[b] < hi[a]:
                row = int(grp["index"].iloc[b])
                cases.append(
                    (
                        row,
                        "valid_from",
                        grp["valid_from"].iloc[b],
                        "no overlap",
                        f"{metric}: two prices in force",
                    )
                )
    return cases


def _billing_period(df: pd.DataFrame) -> pd.Series:
    month = g.floor_to(df["charge_period_start"], "MS")
    if "billing_period_start" not in df.columns:
        return month
    return df["billing_period_start"].where(df["billing_period_start"].notna(), month)


def _positions(df: pd.DataFrame, book: pd.DataFrame, what: str) -> _Positions:
    """Version lookup and the allowance position of every row (vectorised cumulative sums)."""
    n = len(df)
    versions = _versions(book)
    metric = df["x_billable_metric_id"].astype("str").to_numpy(dtype=object, na_value=None)
    charge_us = _us(g.floor_to(df["charge_period_start"], "D"))
    version = _version_of(df, versions)

    usage = g.usage_mask(df)
    in_book = version >= 0
    known = usage & in_book
    if "billing_currency" in df.columns:
        cur = df["billing_currency"].astype("str").to_numpy(dtype=object, na_value=None)
        book_cur = versions["currency"].to_numpy(dtype=object)[np.maximum(version, 0)]
        other = known & (cur != None) & (cur != book_cur)  # noqa: E711 (element-wise)
        _warn_currencies(what, set(zip(metric[other], cur[other], strict=True)))
        known &= ~other
    absent = {m for m in metric[usage & ~in_book] if m is not None}
    _warn_absent(what, absent, set(versions["x_billable_metric_id"]))

    consumed = df["consumed_quantity"].to_numpy(dtype="float64", na_value=np.nan)
    allowance = np.where(in_book, versions["free_allowance"].to_numpy()[np.maximum(version, 0)], 0)
    correction = np.zeros(n, dtype=bool)
    if "charge_class" in df.columns:
        correction = (df["charge_class"].astype("str").str.casefold() == "correction").to_numpy(
            dtype=bool, na_value=False
        )
    bp_key = _us(_billing_period(df))
    counted = known & ~correction & ~np.isnan(consumed)
    idx = np.flatnonzero(counted)
    account = (
        df["billing_account_id"].astype("str").to_numpy(dtype=object, na_value="\x00none")
        if "billing_account_id" in df.columns
        else np.full(n, "", dtype=object)
    )
    a_code = pd.Categorical(account[idx]).codes.astype(np.int64)
    m_code = pd.Categorical(metric[idx]).codes.astype(np.int64)
    p_key, d_key = bp_key[idx], charge_us[idx]
    # np.lexsort is stable: rows of the same day keep the frame's order
    order = np.lexsort((d_key, p_key, m_code, a_code))
    rows = idx[order]
    a_s, m_s, p_s = a_code[order], m_code[order], p_key[order]
    new_group = np.r_[True, (np.diff(a_s) != 0) | (np.diff(m_s) != 0) | (np.diff(p_s) != 0)]
    new_group = new_group[: len(rows)]  # no row: no group (np.r_ would leave one)
    q = consumed[rows]
    # cumulative sum restarting at each group (per group, so no cancellation across groups)
    cum = pd.Series(q).groupby(np.cumsum(new_group)).cumsum().to_numpy()
    prev = cum - q
    a = allowance[rows]
    billable = np.full(n, np.nan)
    before = np.full(n, np.nan)
    billable[rows] = np.maximum(cum - a, 0.0) - np.maximum(prev - a, 0.0)
    before[rows] = np.maximum(prev - a, 0.0)
    # corrections: at the first tier, no allowance
    corr = known & correction & ~np.isnan(consumed)
    billable[corr] = consumed[corr]
    before[corr] = 0.0
    return _Positions(known, version, consumed, billable, before, allowance, correction, bp_key)


def _warn_currencies(what: str, pairs: set[tuple[str, str]], stacklevel: int = 4) -> None:
    """Warn about (metric, currency) pairs the book has no price in."""
    if not pairs:
        return
    text = sorted(f"{m} in {c}" for m, c in pairs)
    warnings.warn(
        f"{what}: the price book has no price in these currencies, left unpriced: "
        f"{text[:10]}{' ...' if len(text) > 10 else ''}",
        UserWarning,
        stacklevel=stacklevel,
    )


def _warn_absent(what: str, absent: set[str], listed: set[str], stacklevel: int = 4) -> None:
    """Warn about usage metrics without a price: not in the book, or not on some days."""
    missing = sorted(absent - listed)
    if missing:
        warnings.warn(
            f"{what}: {len(missing)} metric(s) not in the price book, left unpriced (NA): "
            f"{missing[:20]}{' ...' if len(missing) > 20 else ''}",
            UserWarning,
            stacklevel=stacklevel,
        )
    undated = sorted(absent & listed)
    if undated:
        warnings.warn(
            f"{what}: no price in force on some charge days for {undated} (see valid_from/"
            "valid_to in the price book); those rows are left unpriced (NA)",
            UserWarning,
            stacklevel=stacklevel,
        )


def _price(pos: _Positions, book: pd.DataFrame) -> _Estimate:
    """List and contracted prices and costs of every row from its allowance position."""
    versions = _versions(book)
    v = np.maximum(pos.version, 0)
    priced = pos.known & ~np.isnan(pos.billable)
    block = versions["block_size"].to_numpy()[v]
    pq = pos.billable / block
    b0 = pos.before / block
    b1 = b0 + pq
    # tiers as a (versions x K) table, padded with +inf starts
    vkey = versions[_VERSION]
    tiers = book.merge(vkey.reset_index(names="_v"), on=_VERSION)
    tiers = tiers.sort_values(["_v", "tier_start"], kind="stable")
    tiers["_k"] = tiers.groupby("_v").cumcount()
    width = int(tiers["_k"].max()) + 1 if len(tiers) else 1
    starts = np.full((len(versions), width + 1), np.inf)
    prices = np.zeros((len(versions), width))
    starts[tiers["_v"], tiers["_k"]] = tiers["tier_start"]
    prices[tiers["_v"], tiers["_k"]] = tiers["list_unit_price"]
    n_tiers = np.isfinite(starts[:, :width]).sum(axis=1)[v]

    single = n_tiers == 1
    first_price = prices[v, 0]
    list_cost = np.where(single, first_price * pq, 0.0)
    marginal = first_price.copy()
    multi = np.flatnonzero(~single & priced)
    if len(multi):
        vm = v[multi]
        cost = np.zeros(len(multi))
        for t in range(width):
            lo, hi = starts[vm, t], starts[vm, t + 1]
            inside = np.clip(np.minimum(b1[multi], hi) - np.maximum(b0[multi], lo), 0.0, None)
            cost += np.where(np.isfinite(lo), inside * prices[vm, t], 0.0)
            marginal[multi] = np.where(b0[multi] >= lo, prices[vm, t], marginal[multi])
        list_cost[multi] = cost
    with np.errstate(divide="ignore", invalid="ignore"):
        blended = np.where(pq > 0, list_cost / pq, marginal)
    lup = np.where(single, first_price, blended)
    discount = versions["contracted_discount"].to_numpy()[v]
    cup = lup * (1.0 - discount)
    contracted = cup * pq
    nan = ~priced
    unit = (
        versions["pricing_unit"].astype("object").to_numpy()[v]
        if "pricing_unit" in versions.columns
        else np.full(len(v), None, dtype=object)
    )
    currency = versions["currency"].to_numpy(dtype=object)[v]
    values: dict[str, np.ndarray] = {
        "pricing_quantity": np.where(nan, np.nan, pq),
        "pricing_unit": _masked(unit, nan),
        "list_unit_price": np.where(nan, np.nan, lup),
        "list_cost": np.where(nan, np.nan, list_cost),
        "contracted_unit_price": np.where(nan, np.nan, cup),
        "contracted_cost": np.where(nan, np.nan, contracted),
        "effective_cost": np.where(nan, np.nan, contracted),
        "billed_cost": np.where(nan, np.nan, contracted),
        "billing_currency": _masked(currency, nan),
    }
    typed: dict[str, object] = {
        k: (pd.array(a, dtype="Float64") if a.dtype.kind == "f" else a) for k, a in values.items()
    }
    return _Estimate(priced, typed)


def _masked(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """An object array of ``values`` with None where ``mask`` is set."""
    out = np.asarray(values, dtype=object).copy()
    out[mask] = None
    return out


def _us(ts: pd.Series) -> np.ndarray:
    naive = pd.Series(ts).dt.tz_convert("UTC").dt.tz_localize(None)
    return naive.to_numpy(dtype="datetime64[us]").astype(np.int64)


# --------------------------------------------------------------------------------------------------
# free_allowance_usage() on an engine: reduce to blocks of days, finish in pandas


def _free_allowance_engine(data: Any, book: pd.DataFrame, freq: str) -> Any:
    """Sum the rows in the engine per account x metric x billing period x *block*, then run the
    pandas code on those sums (:mod:`cfusage.analysis._engine`).

    A block is a run of consecutive days inside one cell of the result and one price version:
    a UTC day for ``freq`` "D" and "W"; for "MS", "QS" and "billing_period" the calendar month,
    cut where a version of the book starts or ends. Each block is represented by its first day.
    Why the cells come out the same: the billable part of a run of rows in day order is
    ``max(C_after - a, 0) - max(C_before - a, 0)`` whatever their order inside the run (the
    per-row differences telescope), blocks of one account x metric x billing period follow each
    other in day order, and a block's first day has the same cell and price version as its rows.
    """
    what = "free_allowance_usage()"
    grain = g.freq_of(freq)  # a bad grain is refused before the engine runs
    frame = _engine.lazy(data, what)
    dtype = frame.collect_schema().get("charge_period_start")
    if grain in ("MS", "QS", "billing_period") and dtype == nw.Datetime:
        zone = getattr(dtype, "time_zone", None)
        frame = frame.with_columns(_block_start(book, zone).alias("charge_period_start"))
    r = _engine.reduce(
        frame.to_native(),
        what,
        keys=["x_billable_metric_id"],
        values=["consumed_quantity"],
        optional=[*_CONTEXT],
    )
    return _engine.like(free_allowance_usage(r.frame, price_book=book, freq=freq), data)


def _block_start(book: pd.DataFrame, zone: str | None) -> nw.Expr:
    """The first day of each row's block: its month's start, or the last version boundary of
    the book (a ``valid_from`` or ``valid_to``) in the month on or before the row's day."""
    ts = nw.col("charge_period_start")
    start: Any = ts.dt.truncate("1mo")
    bounds = pd.concat([book["valid_from"], book["valid_to"]]).dropna().unique()
    for b in sorted(pd.Timestamp(x).tz_convert("UTC") for x in bounds):
        when = b.to_pydatetime() if zone is not None else b.tz_localize(None).to_pydatetime()
        cut = nw.lit(when)
        start = nw.when((ts >= cut) & (start < cut)).then(cut).otherwise(start)
    return start


# --------------------------------------------------------------------------------------------------
# rate() on an ordered engine frame (Polars): the same rules as Narwhals expressions, still lazy

_ROW = "_cfusage_row"


def _rate_lazy(data: Any, book: pd.DataFrame, overwrite: bool) -> Any:
    """:func:`rate` on a Polars frame, as expressions: nothing is collected but the warnings'
    (distinct unpriced metrics and currencies). Row for row the pandas figures: the allowance's
    running sum is ordered by day, then by the frame's row order (a Polars frame has one)."""
    what = "rate()"
    frame = _engine.lazy(data, what)
    if not frame.implementation.is_polars():
        raise ArgumentError(_RATE_NEEDS_ORDER.format(kind=type(data).__name__))
    names = _engine.columns_of(frame)
    missing = [c for c in _RATE_REQUIRED if c not in names]
    if missing:
        raise MissingColumnsError(missing, f"{what} needs columns the frame lacks: {missing}")
    day = _engine.utc_day(frame, what)  # the UTC day; other zones refused
    zone = getattr(frame.collect_schema()["charge_period_start"], "time_zone", None)
    native = frame.to_native()
    ordered = nw.from_native(native.with_row_index(_ROW)).lazy()
    versions = _versions(book)
    n_v = len(versions)
    v = nw.col("_cfusage_v")

    def stamp(ts: pd.Timestamp) -> Any:
        t = ts.tz_convert("UTC").to_pydatetime()
        return t if zone is not None else t.replace(tzinfo=None)

    def pick(values: Any, dtype: Any) -> nw.Expr:
        """The value of each row's version (null where none is in force)."""
        expr: Any = None
        for i, val in enumerate(values):
            lit = nw.lit(None if pd.isna(val) else val, dtype=dtype)
            expr = (nw.when(v == i) if expr is None else expr.when(v == i)).then(lit)
        return nw.lit(None, dtype=dtype) if expr is None else expr.otherwise(None).cast(dtype)

    metric = nw.col("x_billable_metric_id").cast(nw.String())
    version: Any = None
    for i, (m, lo, hi) in enumerate(versions[_VERSION].itertuples(index=False)):
        cond = metric == m
        if pd.notna(lo):
            cond = cond & (nw.col("_cfusage_day") >= nw.lit(stamp(lo)))
        if pd.notna(hi):
            cond = cond & (nw.col("_cfusage_day") < nw.lit(stamp(hi)))
        version = (nw.when(cond) if version is None else version.when(cond)).then(nw.lit(i))
    version = nw.lit(None, dtype=nw.Int64()) if version is None else version.otherwise(None)

    def text_is(col: str, value: str) -> nw.Expr:
        return nw.col(col).cast(nw.String()).str.to_lowercase() == value

    month = nw.col("charge_period_start").dt.truncate("1mo")
    usage = (
        text_is("charge_category", "usage") | nw.col("charge_category").is_null()
        if "charge_category" in names
        else nw.lit(True)
    )
    step1 = ordered.with_columns(
        day.alias("_cfusage_day"),
        (
            nw.coalesce(nw.col("billing_period_start"), month)
            if "billing_period_start" in names
            else month
        ).alias("_cfusage_bp"),
        usage.fill_null(True).alias("_cfusage_usage"),
        (
            text_is("charge_class", "correction").fill_null(False)
            if "charge_class" in names
            else nw.lit(False)
        ).alias("_cfusage_corr"),
        nw.col("consumed_quantity").cast(nw.Float64()).alias("_cfusage_q"),
        (
            nw.col("billing_currency").cast(nw.String())
            if "billing_currency" in names
            else nw.lit(None, dtype=nw.String())
        ).alias("_cfusage_cur"),
    ).with_columns(version.alias("_cfusage_v"))
    book_cur = pick(versions["currency"], nw.String())
    in_book = ~v.is_null()
    other = (
        nw.col("_cfusage_usage")
        & in_book
        & ~nw.col("_cfusage_cur").is_null()
        & (nw.col("_cfusage_cur") != book_cur)
    )
    step2 = step1.with_columns(other.fill_null(False).alias("_cfusage_other")).with_columns(
        (nw.col("_cfusage_usage") & in_book & ~nw.col("_cfusage_other")).alias("_cfusage_known"),
        pick(versions["free_allowance"], nw.Float64()).alias("_cfusage_a"),
        pick(versions["block_size"], nw.Float64()).alias("_cfusage_block"),
    )
    _warn_lazy(step2, what, set(versions["x_billable_metric_id"]))

    q, a = nw.col("_cfusage_q"), nw.col("_cfusage_a")
    counted = nw.col("_cfusage_known") & ~nw.col("_cfusage_corr") & ~q.is_null()
    corr = nw.col("_cfusage_known") & nw.col("_cfusage_corr") & ~q.is_null()
    group = [c for c in ("billing_account_id",) if c in names] + [
        "x_billable_metric_id",
        "_cfusage_bp",
    ]
    step3 = step2.with_columns(
        counted.alias("_cfusage_counted"),
        corr.alias("_cfusage_corrected"),
        nw.when(counted)
        .then(q)
        .otherwise(nw.lit(0.0))
        .cum_sum()
        .over(*group, order_by=["_cfusage_day", _ROW])
        .alias("_cfusage_cum"),
    )
    cum = nw.col("_cfusage_cum")
    prev = cum - q
    step4 = step3.with_columns(
        nw.when(nw.col("_cfusage_counted"))
        .then((cum - a).clip(lower_bound=0.0) - (prev - a).clip(lower_bound=0.0))
        .when(nw.col("_cfusage_corrected"))
        .then(q)
        .otherwise(None)
        .alias("_cfusage_bill"),
        nw.when(nw.col("_cfusage_counted"))
        .then((prev - a).clip(lower_bound=0.0))
        .when(nw.col("_cfusage_corrected"))
        .then(nw.lit(0.0))
        .otherwise(None)
        .alias("_cfusage_before"),
    ).with_columns(
        (nw.col("_cfusage_known") & ~nw.col("_cfusage_bill").is_null()).alias("_cfusage_priced"),
        (nw.col("_cfusage_bill") / nw.col("_cfusage_block")).alias("_cfusage_pq"),
        (nw.col("_cfusage_before") / nw.col("_cfusage_block")).alias("_cfusage_b0"),
    )
    pq, b0 = nw.col("_cfusage_pq"), nw.col("_cfusage_b0")
    b1 = b0 + pq
    first_price = pick(versions["list_unit_price"], nw.Float64())
    list_cost: Any = None
    unit_price: Any = None
    for i, tiers in _tier_table(book, versions).items():
        if len(tiers) < 2:
            continue
        cost: Any = nw.lit(0.0)
        marginal: Any = nw.lit(float(tiers[0][1]))
        for k, (lo, price) in enumerate(tiers):
            hi = tiers[k + 1][0] if k + 1 < len(tiers) else None
            top = b1 if hi is None else nw.min_horizontal(b1, nw.lit(float(hi)))
            inside = (top - nw.max_horizontal(b0, nw.lit(float(lo)))).clip(lower_bound=0.0)
            cost = cost + inside * float(price)
            marginal = nw.when(b0 >= float(lo)).then(nw.lit(float(price))).otherwise(marginal)
        blended = nw.when(pq > 0).then(cost / pq).otherwise(marginal)
        list_cost = (nw.when(v == i) if list_cost is None else list_cost.when(v == i)).then(cost)
        unit_price = (nw.when(v == i) if unit_price is None else unit_price.when(v == i)).then(
            blended
        )
    single_cost = first_price * pq
    list_cost = single_cost if list_cost is None else list_cost.otherwise(single_cost)
    unit_price = first_price if unit_price is None else unit_price.otherwise(first_price)
    discount = pick(versions["contracted_discount"], nw.Float64())
    units = (
        versions["pricing_unit"]
        if "pricing_unit" in versions.columns
        else pd.Series([None] * n_v, dtype="object")
    )
    step5 = step4.with_columns(
        list_cost.alias("_cfusage_lc"),
        unit_price.alias("_cfusage_lup"),
        discount.alias("_cfusage_disc"),
    ).with_columns((nw.col("_cfusage_lup") * (1.0 - nw.col("_cfusage_disc"))).alias("_cfusage_cup"))
    contracted = nw.col("_cfusage_cup") * pq
    new = {
        "pricing_quantity": pq,
        "pricing_unit": pick(units.astype("object").where(units.notna(), None), nw.String()),
        "list_unit_price": nw.col("_cfusage_lup"),
        "list_cost": nw.col("_cfusage_lc"),
        "contracted_unit_price": nw.col("_cfusage_cup"),
        "contracted_cost": contracted,
        "effective_cost": contracted,
        "billed_cost": contracted,
        "billing_currency": book_cur,
    }
    has_cost: Any = nw.lit(False)
    for c in _COSTS:
        if c in names:
            has_cost = has_cost | ~nw.col(c).is_null()
    fill = nw.col("_cfusage_priced") & (nw.lit(overwrite) | ~has_cost)
    types = dtypes()
    step6 = step5.with_columns(fill.alias("_cfusage_fill"))
    filled = []
    for col, expr in new.items():
        dtype = nw.String() if types[col] == "category" else nw.Float64()
        old = nw.col(col).cast(dtype) if col in names else nw.lit(None, dtype=dtype)
        filled.append(
            nw.when(nw.col("_cfusage_fill")).then(expr.cast(dtype)).otherwise(old).alias(col)
        )
    out = step6.with_columns(*filled, nw.col("_cfusage_fill").alias("cost_estimated"))
    added = [c for c in [*_FILLED, "cost_estimated"] if c not in names]
    result = out.select(*names, *added)
    if isinstance(nw.from_native(data), nw.DataFrame):
        return result.collect().to_native()  # an eager frame in, an eager frame out
    return result.to_native()


def _warn_lazy(frame: nw.LazyFrame, what: str, listed: set[str]) -> None:
    """The warnings of the pandas path, from one small query (the distinct unpriced cases)."""
    cases = _engine.to_pandas(
        frame.filter(
            nw.col("_cfusage_usage") & (nw.col("_cfusage_v").is_null() | nw.col("_cfusage_other"))
        )
        .select(
            nw.col("x_billable_metric_id").cast(nw.String()).alias("m"),
            nw.col("_cfusage_cur").alias("c"),
            nw.col("_cfusage_other").alias("other"),
        )
        .unique()
    )
    other = cases["other"].astype(bool).to_numpy()
    _warn_currencies(
        what, set(zip(cases["m"][other], cases["c"][other], strict=True)), stacklevel=5
    )
    absent = {str(m) for m in cases["m"][~other] if pd.notna(m)}
    _warn_absent(what, absent, listed, stacklevel=5)


def _tier_table(book: pd.DataFrame, versions: pd.DataFrame) -> dict[int, list[tuple[float, float]]]:
    """Per version index: its tiers as (tier_start, list_unit_price), by tier_start."""
    tiers = book.merge(versions[_VERSION].reset_index(names="_v"), on=_VERSION)
    tiers = tiers.sort_values(["_v", "tier_start"], kind="stable")
    return {
        int(i): list(zip(t["tier_start"], t["list_unit_price"], strict=True))
        for i, t in tiers.groupby("_v", sort=True)
    }
