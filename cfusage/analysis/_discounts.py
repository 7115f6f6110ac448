"""Discounts and savings: what the contract and the commitments saved against list price.

Three helpers, each taking a typed usage frame (:func:`cfusage.to_frame`) and returning a new,
tidy frame (one row per group x period; ``period`` first, then the ``by=`` columns, then
``billing_currency``, then values):

:func:`discounts`
    List, contracted, effective and billed cost; negotiated, commitment and total savings and their
    rates; the Effective Savings Rate both ways; the value of the free tier; and coverage columns
    that say how much of the spend each figure could see.
:func:`unit_price_discounts`
    Per billable metric, ``1 - contracted_unit_price / list_unit_price``.
:func:`savings_summary`
    One headline row per currency.

Rules (FinOps Foundation definitions; see ``shared/reference/focus.md``):

* Savings are computed over **usage rows only**: ``charge_category`` "Usage" (or missing, as
  Cloudflare sends only usage). Purchase rows are left out (their EffectiveCost is 0 by rule, so
  counting them would show the whole prepaid fee as savings), and so are Tax, Credit and Adjustment
  rows (not derived from usage).
* Ratios are ratios of sums, never averages of row ratios, and are NA where the denominator is 0.
* A missing cost is never a zero: savings are computed on the rows that have list, contracted and
  effective cost all present (the *savings basis*), and the coverage columns report how much of
  the spend that basis holds. A price missing from a row shows up as coverage below 1, never as
  a fake $0 of savings.
* Compute what the data allows: a cost column the frame lacks, or holds only as NA (many FOCUS
  exports of other clouds carry no ContractedCost), is left out of the savings basis, and the
  figures that need it are NA. Without ContractedCost, ``total_savings`` and ``esr_over_list``
  (list and effective cost) are computed over the rows with both; ``negotiated_savings``,
  ``commitment_savings`` and ``esr_over_contract`` are NA.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from os import PathLike
from typing import Any

import narwhals.stable.v2 as nw
import numpy as np
import pandas as pd

from ..errors import ArgumentError
from . import _engine
from . import _grouping as g
from ._engine import Frame
from ._pricing import _first_tier_prices, _versions, load_price_book

__all__ = ["discounts", "savings_summary", "unit_price_discounts"]

_COSTS = ("list_cost", "contracted_cost", "effective_cost", "billed_cost")
#: Columns every summary keeps from the frame (periods, currency, metric, costs).
_CONTEXT = (
    "charge_period_start",
    "billing_period_start",
    "billing_currency",
    "x_billable_metric_id",
    *_COSTS,
    g.ROWS,
)
#: The free-tier value of each row, computed in the engine before the reduction (a clip).
_FTV = "_cfusage_free_tier_value"
#: Columns the engine path keeps as keys when the frame has them (what the pandas code reads).
_ENGINE_CONTEXT = (g.CURRENCY, "charge_category", "billing_period_start")


def discounts(
    data: Frame,
    *,
    by: g.By = None,
    freq: str | None = "MS",
    currency_rates: Mapping[str, float] | None = None,
    price_book: pd.DataFrame | str | PathLike[str] | None = None,
) -> Frame:
    """Savings against list price per group and period.

    Sums list, contracted, effective and billed cost over usage rows and splits the difference
    between list and effective cost into negotiated savings (the contract's discount) and
    commitment savings (what commitments saved beyond it).

    Parameters
    ----------
    data : pandas.DataFrame or engine frame
        A typed usage frame with cost columns: a pandas DataFrame, or a Polars, DuckDB, Spark or
        Ibis frame (see "Engines" in :mod:`cfusage.analysis._engine`). On an engine the rows are
        reduced inside it (per key x UTC day x NA pattern, the free-tier value computed per row
        first) and only that small frame is collected.
    by : str, list of str or None
        Dimensions to group by: column names, aliases from ``cfusage.analysis._grouping.DIMENSIONS``
        (``"account"``, ``"product"``, ``"metric_id"``...) or ``"tag:KEY"``. ``None``: no
        dimension (one row per currency and period).
    freq : str or None
        Grain of ``period``: ``"D"``, ``"W"`` (weeks start Monday), ``"MS"``, ``"QS"`` or
        ``"billing_period"`` (groups on ``billing_period_start``). ``None``: the whole range, and
        the result has no ``period`` column.
    currency_rates : mapping of str to float, optional
        Convert every cost into one currency first (see ``_grouping.convert_currency``); without
        it, each currency gets its own rows and currencies are never added together.
    price_book : DataFrame or path, optional
        A price book (:func:`cfusage.load_price_book`) giving block size and list price for
        ``free_tier_value``; without it ``free_tier_value`` is NA.

    Returns
    -------
    pandas.DataFrame or engine frame
        Of the input's kind (pandas in, pandas out; a Polars LazyFrame in, a Polars LazyFrame
        out; DuckDB a relation, Spark a Spark DataFrame). One row per period x group x currency,
        columns in this order:

        ``period`` (unless ``freq=None``), the ``by`` columns, ``billing_currency``,
        ``rows`` (usage rows in the group),
        ``list_cost``, ``contracted_cost``, ``effective_cost``, ``billed_cost`` (sums over the
        usage rows where each is present; NA when none is),
        ``negotiated_savings`` (list - contracted), ``commitment_savings`` (contracted -
        effective), ``total_savings`` (list - effective): sums over the savings basis (rows with
        list, contracted and effective cost all present), so ``negotiated + commitment = total``,
        ``negotiated_savings_rate``, ``commitment_savings_rate``, ``total_savings_rate``: each
        divided by the list cost of the savings basis,
        ``esr_over_list`` = (Σlist - Σeffective) / Σlist (equal to ``total_savings_rate`` by
        definition; kept under its KPI name), ``esr_over_contract`` = (Σcontracted - Σeffective) /
        Σcontracted, the return on commitments alone (both over the savings basis; NA where the
        denominator is 0),
        ``free_tier_value``: what the usage covered by free allowances would have cost at list
        price. Rule per row: ``(consumed_quantity / block_size - pricing_quantity) x
        list_unit_price`` of the metric's first tier (``tier_start == 0``) in ``price_book``,
        clipped at 0 (the allowance covers the first units of a billing period, so they would
        have been priced at the first tier); NA for rows whose metric or currency is not in the
        price book or that lack a quantity, and for every row without ``price_book``,
        ``list_cost_coverage``: share of usage rows with ``list_cost`` present,
        ``contracted_cost_coverage``, ``effective_cost_coverage``, ``billed_cost_coverage``:
        share of the list cost (of rows with list cost) on rows that also have that cost,
        ``savings_coverage``: the same share for the savings basis (when the list cost of the
        group is 0, all free usage, these shares count rows instead of list cost),
        ``free_tier_value_coverage``: share of usage rows where the free-tier value was known.

        ESR, by hand: over list, 1 - Σeffective / Σlist (what you paid against the
        on-demand-equivalent price: the contract's discount and the commitments together); over
        contract, 1 - Σeffective / Σcontracted (what the commitments alone returned on top of the
        contract). Unused commitment (``commitment_status`` "Unused" rows from
        :func:`cfusage.amortize_commitment`, list and contracted cost 0) adds to Σeffective only,
        so it lowers both.

        A cost column the frame lacks or holds only as NA is left out of the savings basis; a
        figure that needs it is NA in every row (see the module docstring). ``billed_cost``
        absent: its sum is NA.

    Raises
    ------
    MissingColumnsError
        If fewer than two of list, contracted and effective cost are in the frame with a value
        (no savings figure can be computed: fetch costs, or estimate them with
        :func:`cfusage.rate`).
    CurrencyError
        If ``currency_rates`` lacks a currency of the frame.
    ArgumentError
        For an unknown ``by`` dimension or ``freq``.

    Examples
    --------
    >>> import pandas as pd
    >>> from cfusage.analysis._discounts import discounts
    >>> data = pd.DataFrame({
    ...     "charge_period_start": pd.to_datetime(["2026-03-01", "2026-03-02"], utc=True),
    ...     "charge_category": pd.Categorical(["Usage", "Usage"]),
    ...     "billing_currency": pd.Categorical(["USD", "USD"]),
    ...     "list_cost": pd.array([100.0, 100.0], dtype="Float64"),
    ...     "contracted_cost": pd.array([80.0, 80.0], dtype="Float64"),
    ...     "effective_cost": pd.array([80.0, 60.0], dtype="Float64"),
    ...     "billed_cost": pd.array([80.0, 60.0], dtype="Float64"),
    ... })
    >>> out = discounts(data)
    >>> out[["total_savings", "esr_over_list", "esr_over_contract"]].iloc[0].tolist()
    [60.0, 0.3, 0.125]
    """
    if _engine.is_engine(data):
        r = _reduced(data, by, price_book, "discounts()")
        out = _discounts(r.frame, by, freq, currency_rates, price_book, precomputed=True)
        return r.back(out)
    return _discounts(data, by, freq, currency_rates, price_book, precomputed=False)


def _discounts(
    data: pd.DataFrame,
    by: g.By,
    freq: str | None,
    currency_rates: Mapping[str, float] | None,
    price_book: pd.DataFrame | str | PathLike[str] | None,
    *,
    precomputed: bool,
) -> pd.DataFrame:
    """:func:`discounts` on a pandas frame; ``precomputed``: the free-tier value is in ``_FTV``."""
    available = _available_costs(data, "discounts()")
    grp = g.grouping(_with_cost_columns(data), by, freq)
    work = _usage_rows(grp, ("consumed_quantity", "pricing_quantity", _FTV))
    free = work[_FTV] if precomputed else _free_tier_value(work, price_book)
    work = work.assign(_free_tier_value=free)
    work = g.convert_currency(work, currency_rates, [*_COSTS, "_free_tier_value"])
    keys = list(grp.keys)

    cost = {c: work[c].to_numpy(dtype="float64", na_value=np.nan) for c in _COSTS}
    has = {c: ~np.isnan(v) for c, v in cost.items()}
    lst = np.where(has["list_cost"], cost["list_cost"], 0.0)
    basis = np.ones(len(work), dtype=bool)
    for c in available:
        basis &= has[c]
    ftv = work["_free_tier_value"].to_numpy(dtype="float64", na_value=np.nan)
    # how many input rows each row stands for (1, or ROWS on an engine's reduced frame)
    w = g.row_weights(work).astype("float64")
    parts: dict[str, np.ndarray] = {"rows": w}
    for c in _COSTS:
        parts[f"sum_{c}"] = np.where(has[c], cost[c], 0.0)
        parts[f"n_{c}"] = has[c] * w
        # list cost (and row count) on rows having list cost and this cost: coverage numerators
        both = has["list_cost"] & has[c]
        parts[f"cov_{c}"] = np.where(both, lst, 0.0)
        parts[f"covn_{c}"] = both * w
    parts["b_list"] = np.where(basis, cost["list_cost"], 0.0)
    parts["b_contracted"] = np.where(basis, cost["contracted_cost"], 0.0)
    parts["b_effective"] = np.where(basis, cost["effective_cost"], 0.0)
    parts["b_n"] = basis * w
    parts["ftv"] = np.where(np.isnan(ftv), 0.0, ftv)
    parts["ftv_n"] = ~np.isnan(ftv) * w
    numeric = pd.DataFrame(parts, index=work.index)
    for k in keys:
        numeric[k] = work[k]
    s = numeric.groupby(keys, observed=True, dropna=False, sort=True).sum()

    out = pd.DataFrame(index=s.index)
    out["rows"] = s["rows"].astype("int64")
    for c in _COSTS:
        out[c] = _na_where(s[f"sum_{c}"], s[f"n_{c}"] == 0)
    b_missing = s["b_n"] == 0
    b_list = _na_where(s["b_list"], b_missing)
    b_con = _na_where(s["b_contracted"], b_missing)
    b_eff = _na_where(s["b_effective"], b_missing)
    has_list, has_con, has_eff = (c in available for c in _COSTS[:3])
    na = pd.Series(pd.NA, index=s.index, dtype="Float64")
    out["negotiated_savings"] = b_list - b_con if has_list and has_con else na
    out["commitment_savings"] = b_con - b_eff if has_con and has_eff else na
    out["total_savings"] = b_list - b_eff if has_list and has_eff else na
    for name in ("negotiated", "commitment", "total"):
        out[f"{name}_savings_rate"] = g.safe_ratio(out[f"{name}_savings"], b_list)
    out["esr_over_list"] = g.safe_ratio(out["total_savings"], b_list)
    out["esr_over_contract"] = g.safe_ratio(out["commitment_savings"], b_con)
    out["free_tier_value"] = _na_where(s["ftv"], s["ftv_n"] == 0)
    out["list_cost_coverage"] = g.safe_ratio(s["n_list_cost"], s["rows"])
    for c in _COSTS[1:]:
        out[f"{c}_coverage"] = _coverage(s[f"cov_{c}"], s["sum_list_cost"], s[f"covn_{c}"], s)
    out["savings_coverage"] = _coverage(s["b_list"], s["sum_list_cost"], s["b_n"], s)
    out["free_tier_value_coverage"] = g.safe_ratio(s["ftv_n"], s["rows"])
    return out.reset_index()


def unit_price_discounts(
    data: pd.DataFrame,
    *,
    by: g.By = "metric_id",
    freq: str | None = None,
    currency_rates: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Unit-price discount (``1 - contracted_unit_price / list_unit_price``) per billable metric.

    The discount of a group is computed from sums, ``1 - Σcontracted_cost / Σlist_cost`` over
    usage rows with both costs present (a quantity-weighted average of the unit-price ratio),
    and the spread of the row-level ratio is reported beside it. Purchase, Tax, Credit and
    Adjustment rows are left out.

    Parameters
    ----------
    data : pandas.DataFrame
        A typed usage frame with list and contracted prices and costs.
    by : str, list of str or None
        Dimensions (default: the billable metric id); see :func:`discounts`.
    freq : str or None
        Grain of ``period``; ``None`` (default): the whole range, and no ``period`` column.
    currency_rates : mapping of str to float, optional
        Convert costs into one currency first; see :func:`discounts`.

    Returns
    -------
    pandas.DataFrame
        ``period`` (unless ``freq=None``), the ``by`` columns, ``billing_currency``, then
        ``rows`` (usage rows), ``priced_rows`` (rows with list and contracted cost),
        ``list_cost``, ``contracted_cost`` (sums over ``priced_rows``),
        ``unit_price_discount`` (``1 - contracted_cost / list_cost``; NA where list cost is 0),
        ``min_unit_price_discount``, ``max_unit_price_discount`` (over rows with both unit prices
        and a list unit price above 0; NA when none).

    Raises
    ------
    MissingColumnsError
        If list or contracted cost or unit price is missing or all NA.
    ArgumentError
        For an engine frame (Polars, DuckDB, Spark...): this helper takes pandas only.

    Examples
    --------
    >>> import pandas as pd
    >>> from cfusage.analysis._discounts import unit_price_discounts
    >>> data = pd.DataFrame({
    ...     "charge_period_start": pd.to_datetime(["2026-03-01", "2026-03-02"], utc=True),
    ...     "x_billable_metric_id": ["r2_storage", "r2_storage"],
    ...     "billing_currency": pd.Categorical(["USD", "USD"]),
    ...     "list_unit_price": pd.array([0.015, 0.015], dtype="Float64"),
    ...     "contracted_unit_price": pd.array([0.012, 0.015], dtype="Float64"),
    ...     "list_cost": pd.array([30.0, 10.0], dtype="Float64"),
    ...     "contracted_cost": pd.array([24.0, 10.0], dtype="Float64"),
    ... })
    >>> out = unit_price_discounts(data)
    >>> out[["unit_price_discount", "max_unit_price_discount"]].round(6).iloc[0].tolist()
    [0.15, 0.2]
    """
    if _engine.is_engine(data):
        raise ArgumentError(
            "unit_price_discounts() takes a pandas frame only (its min and max are of row-level "
            f"ratios), not {type(data).__name__}; discounts() and savings_summary() run on "
            "engines, or collect the rows you need into pandas first"
        )
    need = ["list_cost", "contracted_cost", "list_unit_price", "contracted_unit_price"]
    g.require(data, need, "unit_price_discounts()")
    grp = g.grouping(data, by, freq)
    work = _usage_rows(grp, ("list_unit_price", "contracted_unit_price"))
    work = g.convert_currency(work, currency_rates, ["list_cost", "contracted_cost"])
    keys = list(grp.keys)

    lc = work["list_cost"].to_numpy(dtype="float64", na_value=np.nan)
    cc = work["contracted_cost"].to_numpy(dtype="float64", na_value=np.nan)
    lp = work["list_unit_price"].to_numpy(dtype="float64", na_value=np.nan)
    cp = work["contracted_unit_price"].to_numpy(dtype="float64", na_value=np.nan)
    priced = ~np.isnan(lc) & ~np.isnan(cc)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(~np.isnan(lp) & ~np.isnan(cp) & (lp > 0), 1.0 - cp / lp, np.nan)
    numeric = pd.DataFrame(
        {
            "rows": np.ones(len(work)),
            "priced_rows": priced.astype("float64"),
            "list_cost": np.where(priced, lc, 0.0),
            "contracted_cost": np.where(priced, cc, 0.0),
            "_ratio_min": ratio,
            "_ratio_max": ratio,
        },
        index=work.index,
    )
    for k in keys:
        numeric[k] = work[k]
    grouped = numeric.groupby(keys, observed=True, dropna=False, sort=True)
    s = grouped[["rows", "priced_rows", "list_cost", "contracted_cost"]].sum()
    out = pd.DataFrame(index=s.index)
    out["rows"] = s["rows"].astype("int64")
    out["priced_rows"] = s["priced_rows"].astype("int64")
    none = s["priced_rows"] == 0
    out["list_cost"] = _na_where(s["list_cost"], none)
    out["contracted_cost"] = _na_where(s["contracted_cost"], none)
    out["unit_price_discount"] = 1 - g.safe_ratio(out["contracted_cost"], out["list_cost"])
    out["min_unit_price_discount"] = grouped["_ratio_min"].min().astype("Float64")
    out["max_unit_price_discount"] = grouped["_ratio_max"].max().astype("Float64")
    return out.reset_index()


def savings_summary(
    data: Frame,
    *,
    currency_rates: Mapping[str, float] | None = None,
    price_book: pd.DataFrame | str | PathLike[str] | None = None,
) -> Frame:
    """Headline savings: one row per currency over the whole frame.

    The same figures as :func:`discounts` with ``by=None, freq=None``, trimmed to the headline
    columns.

    Parameters
    ----------
    data : pandas.DataFrame or engine frame
        A typed usage frame with cost columns: a pandas DataFrame, or a Polars, DuckDB, Spark or
        Ibis frame (see "Engines" in :mod:`cfusage.analysis._engine`). On an engine the rows are
        reduced inside it (per key x UTC day x NA pattern, the free-tier value computed per row
        first) and only that small frame is collected.
    currency_rates : mapping of str to float, optional
        Convert costs into one currency first (then there is a single row).
    price_book : DataFrame or path, optional
        For ``free_tier_value``; see :func:`discounts`.

    Returns
    -------
    pandas.DataFrame or engine frame
        Of the input's kind (see :func:`discounts`): ``billing_currency``, ``list_cost``,
        ``contracted_cost``, ``effective_cost``, ``billed_cost``, ``negotiated_savings``, ``commitment_savings``, ``total_savings``,
        ``esr_over_list``, ``esr_over_contract``, ``free_tier_value``, ``savings_coverage``.

    Raises
    ------
    MissingColumnsError
        If no savings figure can be computed; see :func:`discounts` (a frame without
        ContractedCost still gets ``total_savings`` and ``esr_over_list``).

    Examples
    --------
    >>> import pandas as pd
    >>> from cfusage.analysis._discounts import savings_summary
    >>> data = pd.DataFrame({
    ...     "charge_period_start": pd.to_datetime(["2026-03-01"], utc=True),
    ...     "billing_currency": pd.Categorical(["USD"]),
    ...     "list_cost": pd.array([100.0], dtype="Float64"),
    ...     "contracted_cost": pd.array([80.0], dtype="Float64"),
    ...     "effective_cost": pd.array([80.0], dtype="Float64"),
    ...     "billed_cost": pd.array([80.0], dtype="Float64"),
    ... })
    >>> savings_summary(data)["esr_over_list"].tolist()
    [0.2]
    """
    if _engine.is_engine(data):
        r = _reduced(data, None, price_book, "savings_summary()")
        full = _discounts(r.frame, None, None, currency_rates, price_book, precomputed=True)
        return r.back(_headline(full))
    return _headline(_discounts(data, None, None, currency_rates, price_book, precomputed=False))


def _headline(full: pd.DataFrame) -> pd.DataFrame:
    """The headline columns of a ``discounts(by=None, freq=None)`` result."""
    cols = [
        *g.group_keys(full, []),
        *_COSTS,
        "negotiated_savings",
        "commitment_savings",
        "total_savings",
        "esr_over_list",
        "esr_over_contract",
        "free_tier_value",
        "savings_coverage",
    ]
    return full[cols]


def _reduced(
    data: Any, by: g.By, price_book: pd.DataFrame | str | PathLike[str] | None, what: str
) -> _engine.Reduced:
    """An engine input reduced for :func:`discounts` (costs and the free-tier value summed).

    The free-tier value is a clip per row, so it is computed per row in the engine (a
    ``when/then`` chain over the price book's first tiers) and summed like a cost. Cost columns
    the frame lacks are added as all-NA columns, as :func:`_with_cost_columns` does in pandas.
    """
    frame = _engine.lazy(data, what)
    names = _engine.columns_of(frame)
    absent = [nw.lit(None, dtype=nw.Float64()).alias(c) for c in _COSTS if c not in names]
    frame = frame.with_columns(*absent, _free_tier_expr(frame, price_book).alias(_FTV))
    return _engine.reduce(
        frame.to_native(),
        what,
        keys=_engine.by_columns(by, what),
        values=[*_COSTS, _FTV],
        optional=_ENGINE_CONTEXT,
    )


def _free_tier_expr(
    frame: nw.LazyFrame, price_book: pd.DataFrame | str | PathLike[str] | None
) -> nw.Expr:
    """Each row's free-tier value, in the engine: the rule of :func:`_free_tier_value`.

    One branch per version of the book's first tiers (metric and validity interval, see
    ``_pricing._versions``), the last version in force winning as in ``_first_tier_prices``:
    ``clip(consumed_quantity / block_size - pricing_quantity, 0) x list_unit_price``, NA when the
    row's currency is not the version's, and NA for rows no version covers.
    """
    none = nw.lit(None, dtype=nw.Float64())
    schema = frame.collect_schema()
    need = ("x_billable_metric_id", "consumed_quantity", "pricing_quantity")
    if price_book is None or any(c not in schema for c in need):
        return none
    versions = _versions(load_price_book(price_book))
    if not len(versions):
        return none
    zone = getattr(schema["charge_period_start"], "time_zone", None)
    day = nw.col("charge_period_start").dt.truncate("1d")

    def at(stamp: pd.Timestamp) -> nw.Expr:
        moment: datetime = stamp.tz_convert("UTC").to_pydatetime()
        return nw.lit(moment if zone is not None else moment.replace(tzinfo=None))

    def number(value: object) -> nw.Expr:
        return none if pd.isna(value) else nw.lit(float(value))  # type: ignore[arg-type]

    chain: Any = None
    for v in versions.iloc[::-1].itertuples(index=False):
        hit = nw.col("x_billable_metric_id") == str(v.x_billable_metric_id)
        if pd.notna(v.valid_from):
            hit = hit & (day >= at(v.valid_from))
        if pd.notna(v.valid_to):
            hit = hit & (day < at(v.valid_to))
        blocks = nw.col("consumed_quantity") / number(v.block_size) - nw.col("pricing_quantity")
        value = blocks.clip(lower_bound=0) * number(v.list_unit_price)
        if g.CURRENCY in schema:
            currency = nw.col(g.CURRENCY)
            value = nw.when(currency.is_null() | (currency == str(v.currency))).then(value)
        chain = nw.when(hit).then(value) if chain is None else chain.when(hit).then(value)
    return chain.otherwise(none)


def _usage_rows(grp: g.Grouping, extra: tuple[str, ...] = ()) -> pd.DataFrame:
    """The usage rows of the grouped frame, with only the columns a summary needs."""
    work = grp.frame
    needed = [*grp.keys, *_CONTEXT, *extra]
    cols = [c for c in dict.fromkeys(needed) if c in work.columns]
    mask = g.usage_mask(work)
    return work[cols] if mask.all() else work.loc[mask, cols]


def _available_costs(df: pd.DataFrame, what: str) -> list[str]:
    """The cost columns among list, contracted, effective that hold a value; at least two."""
    costs = list(_COSTS[:3])
    available = [c for c in costs if c in df.columns and df[c].notna().any()]
    if len(available) < 2:
        g.require(df, costs, what)  # raises, naming what is absent or empty
    return available


def _with_cost_columns(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every cost column present (all NA where the frame lacks it)."""
    absent = {c: pd.array([pd.NA] * len(df), dtype="Float64") for c in _COSTS if c not in df}
    return df.assign(**absent) if absent else df


def _free_tier_value(
    df: pd.DataFrame, price_book: pd.DataFrame | str | PathLike[str] | None
) -> pd.Series:
    """Row-level free-tier value at the first tier's list price in force; NA where unknowable."""
    na = pd.Series(pd.NA, index=df.index, dtype="Float64")
    if price_book is None or len(df) == 0:
        return na
    for c in ("x_billable_metric_id", "consumed_quantity", "pricing_quantity"):
        if c not in df.columns:
            return na

    tier = _first_tier_prices(df, load_price_book(price_book))
    price = tier["list_unit_price"]
    if "billing_currency" in df.columns:
        row_cur = df["billing_currency"].astype("str")
        price = price.where(row_cur.isna() | (row_cur == tier["currency"]))
    free_blocks = df["consumed_quantity"] / tier["block_size"] - df["pricing_quantity"]
    return (free_blocks.clip(lower=0) * price).astype("Float64")


def _na_where(values: pd.Series, mask: pd.Series) -> pd.Series:
    return values.astype("Float64").mask(mask)


def _coverage(num: pd.Series, den: pd.Series, num_rows: pd.Series, s: pd.DataFrame) -> pd.Series:
    """Share of list cost ``num / den``; where the list cost is 0, share of list-cost rows."""
    by_cost = g.safe_ratio(num, den)
    by_rows = g.safe_ratio(num_rows, s["n_list_cost"])
    return by_cost.where(den != 0, by_rows).astype("Float64")
