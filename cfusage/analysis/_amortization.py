"""Amortization: spread costs over the time they cover, and reconcile billed with effective cost.

:func:`amortize`
    Spread every cost of each row evenly over its charge period onto a calendar grain.
:func:`amortize_commitment`
    Spread prepaid commitments over their term by day, allocate each day's share to the usage it
    covered, and add explicit "Unused" rows for the share no usage absorbed.
:func:`reconcile`
    Billed (invoice) against effective (amortized) cost per period, with the difference explained.

Every function returns a new frame and leaves the caller's frame untouched.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import narwhals.stable.v2 as nw
import numpy as np
import pandas as pd
import pyarrow as pa

from ..errors import ArgumentError, DataError, MissingColumnsError, ValidationError
from ..schema import MONEY
from . import _engine
from . import _grouping as g
from ._engine import Frame

__all__ = ["amortize", "amortize_commitment", "reconcile"]

_US_PER_DAY = 86_400 * 1_000_000
_US_PER_HOUR = 3_600 * 1_000_000
_NAT = np.iinfo(np.int64).min
#: The commitment kinds :func:`amortize_commitment` knows (the ``kind`` column of commitments).
KINDS = ("prepaid_balance", "use_it_or_lose_it")
_CALENDAR = ("D", "W", "MS", "QS")


# --------------------------------------------------------------------------------------------------
# amortize


def amortize(data: Frame, *, freq: str = "MS", columns: Sequence[str] = MONEY) -> Frame:
    """Spread each row's costs evenly over its charge period, onto periods of grain ``freq``.

    A row whose ``[charge_period_start, charge_period_end)`` overlaps several periods becomes one
    row per period, each carrying ``cost x overlap / duration`` (measured in microseconds, so a
    purchase covering 1 January to 1 April lands 31/90, 28/90 and 31/90 of its cost in the three
    months at ``freq="MS"``). A row lying within one period (a daily usage row at daily, weekly
    or monthly grain) is kept as it is. Totals are conserved (to float rounding).

    Parameters
    ----------
    data : pandas.DataFrame or engine frame
        A typed usage frame (``charge_period_start`` and ``charge_period_end`` are needed): a
        pandas DataFrame, or a Polars, DuckDB, Spark or Ibis frame (see "Engines" in
        :mod:`cfusage.analysis._engine`). On an engine the rows within one period get their
        ``period`` in the engine and stay there; only the rows spanning several periods (and
        rows that cannot be amortized) are collected, split by the pandas code and put back.
    freq : str, default "MS"
        Target grain: ``"D"``, ``"W"`` (weeks start Monday), ``"MS"`` or ``"QS"`` (aliases as in
        :data:`cfusage.FREQS`). ``"billing_period"`` has no calendar and is refused.
    columns : sequence of str
        The columns to spread (default: every cost column, ``cfusage.schema.MONEY``). Columns the
        frame lacks are skipped. Every other column, quantities included, is repeated unchanged
        on each piece of a split row: add quantity columns here to spread them too.

    Returns
    -------
    pandas.DataFrame or engine frame
        Of the input's kind (pandas in, pandas out; a Polars LazyFrame, a DuckDB relation or a
        Spark DataFrame in: the same, still lazy). ``period`` (start of the target period, UTC)
        followed by every column of ``data``, one row per original row x period it overlaps, in
        the original row order, with a fresh RangeIndex (pandas). An engine frame has no row
        order: its result holds the one-period rows, then the pieces of the split rows, with
        the input's column types. A zero-length charge period (end == start) keeps its whole
        cost in the period of its start.

    Raises
    ------
    MissingColumnsError
        If the frame lacks the charge period columns.
    ValidationError
        If a row has no charge period start or end, or ends before it starts
        (``failure_cases`` lists every such row; on an engine, which has no row positions,
        ``row`` numbers the collected rows, the split and the failing ones).
    ArgumentError
        If ``freq`` is not a calendar grain; on DuckDB, if the relation's connection has
        Python replacement scans switched off (the split rows are read back through one).

    Examples
    --------
    >>> import pandas as pd
    >>> from cfusage.analysis._amortization import amortize
    >>> fee = pd.DataFrame({
    ...     "charge_period_start": pd.to_datetime(["2026-01-01"], utc=True),
    ...     "charge_period_end": pd.to_datetime(["2026-04-01"], utc=True),
    ...     "billed_cost": pd.array([900.0], dtype="Float64"),
    ... })
    >>> amortize(fee, freq="MS")["billed_cost"].round(2).tolist()
    [310.0, 280.0, 310.0]
    """
    if _engine.is_engine(data):
        return _amortize_engine(data, freq, columns)
    grain = _calendar_grain(freq)
    g.require(data, ["charge_period_start", "charge_period_end"], "amortize()", allow_all_na=True)
    start, end = _period_bounds(data)
    first = _period_index(start, grain)
    last = np.where(end > start, _period_index(end - 1, grain), first)
    n = (last - first + 1).astype(np.int64)
    cols = [c for c in columns if c in data.columns]
    if len(data) == 0 or (n == 1).all():
        out = data.assign(**{g.PERIOD: _to_timestamps(_period_start_us(first, grain))})
        return _period_first(out).reset_index(drop=True)

    rep = np.repeat(np.arange(len(data)), n)
    offset = np.arange(len(rep)) - np.repeat(np.cumsum(n) - n, n)
    idx = first[rep] + offset
    p_start = _period_start_us(idx, grain)
    p_end = _period_start_us(idx + 1, grain)
    s, e = start[rep], end[rep]
    duration = e - s
    overlap = np.minimum(e, p_end) - np.maximum(s, p_start)
    share = np.where(duration > 0, overlap / np.where(duration > 0, duration, 1), 1.0)
    out = data.take(rep)
    spread = {
        c: pd.array(
            data[c].to_numpy(dtype="float64", na_value=np.nan)[rep] * share, dtype="Float64"
        )
        for c in cols
    }
    spread[g.PERIOD] = _to_timestamps(p_start)
    out = out.assign(**{k: _aligned(v, out.index) for k, v in spread.items()})
    return _period_first(out).reset_index(drop=True)


# amortize on an engine: the one-period rows stay in it, the few longer rows are split in pandas

#: The Narwhals ``truncate`` unit and the period's length (``offset_by``) of each grain.
_TRUNCATE = {"D": ("1d", "1d"), "W": ("1d", "7d"), "MS": ("1mo", "1mo"), "QS": ("1q", "3mo")}
_START, _END = "charge_period_start", "charge_period_end"


def _amortize_engine(data: Any, freq: str, columns: Sequence[str]) -> Any:
    """:func:`amortize` on an engine frame: lazy in, lazy out.

    A row within one period (every daily usage row) gets its ``period`` in the engine and stays
    there. Only the rows spanning several periods (purchases, few) and the rows that cannot be
    amortized are collected (one filtered query); the former are split by the pandas code and
    put back, as a frame of the same engine, after the rest.
    """
    grain = _calendar_grain(freq)
    frame = _engine.lazy(data, "amortize()")
    names = _engine.columns_of(frame)
    missing = [c for c in (_START, _END) if c not in names]
    if missing:
        raise MissingColumnsError(missing, f"amortize() needs columns the frame lacks: {missing}")
    _engine.utc_day(frame, "amortize()")  # refuses a session zone other than UTC
    start, end = nw.col(_START), nw.col(_END)
    period = _period_expr(grain)
    bad = start.is_null() | end.is_null() | (end < start)
    longer = ~bad & (end > period.dt.offset_by(_TRUNCATE[grain][1]))
    rest = frame.filter(~(bad | longer)).with_columns(period.alias(g.PERIOD))
    rest = rest.select(g.PERIOD, *[c for c in names if c != g.PERIOD])
    few = _engine.to_pandas(frame.filter(bad | longer))
    if not len(few):
        return _eager_if(rest, data)
    few = few.assign(
        **{
            c: _engine.as_utc(few[c])
            for c in few.columns
            if pd.api.types.is_datetime64_any_dtype(few[c].dtype)
        }
    )
    pieces = amortize(few, freq=freq, columns=columns)  # raises ValidationError for bad rows
    out = nw.concat([rest, _same_engine(pieces, rest)], how="vertical")
    return _eager_if(out, data)


def _eager_if(out: nw.LazyFrame, data: Any) -> Any:
    """``out`` as a native frame, collected only when the input itself was eager (Polars)."""
    if isinstance(nw.from_native(data), nw.DataFrame):
        return out.collect().to_native()
    return out.to_native()


def _period_expr(grain: str) -> nw.Expr:
    """The start of the period holding ``charge_period_start``, in the engine (UTC)."""
    day = nw.col(_START).dt.truncate(_TRUNCATE[grain][0])
    if grain != "W":
        return day
    # no "1w" truncation on every engine: Monday is the day minus (weekday - 1) days; weekday is
    # 1 (Monday) to 7 (Sunday), and Sunday is 0 on Spark, so both spellings are taken
    weekday = nw.col(_START).dt.weekday()
    monday: Any = nw.when((weekday == 7) | (weekday == 0)).then(day.dt.offset_by("-6d"))
    for k in range(1, 7):
        shifted = day.dt.offset_by(f"-{k - 1}d") if k > 1 else day
        monday = monday.when(weekday == k).then(shifted)
    return monday.otherwise(day)


def _same_engine(pieces: pd.DataFrame, like: nw.LazyFrame) -> nw.LazyFrame:
    """``pieces`` (pandas) as a lazy frame of ``like``'s engine and schema, to concat with it.

    DuckDB cannot combine relations of two connections, so the pieces are read on ``like``'s
    connection itself (:func:`cfusage.analysis._engine.beside`).
    """
    schema = like.collect_schema()
    native = like.to_native()
    table = pa.Table.from_pandas(_engine.plain(pieces)[list(schema)], preserve_index=False)
    impl = like.implementation
    if impl.is_duckdb():
        try:
            small: Any = _engine.beside(native, table)
        except _engine.ReplacementScanError as exc:
            raise ArgumentError(
                "amortize() on DuckDB reads the split rows back on the relation's own connection "
                "through a Python replacement scan, which this connection refuses "
                f"({exc}); SET python_enable_replacements = true, or pass a pandas frame"
            ) from None
    elif impl.is_pyspark() or impl.is_pyspark_connect():
        small = native.sparkSession.createDataFrame(table.to_pandas(), schema=native.schema)
    else:
        small = nw.from_native(_engine.like(pieces, native)).lazy().to_native()
    frame = nw.from_native(small).lazy()
    return frame.select(*(nw.col(c).cast(dtype) for c, dtype in schema.items()))


# --------------------------------------------------------------------------------------------------
# amortize_commitment


def amortize_commitment(data: pd.DataFrame, *, commitments: pd.DataFrame) -> pd.DataFrame:
    """Allocate commitments to the usage they covered, and make what no usage absorbed explicit.

    Two kinds of commitment, chosen per commitment by the ``kind`` column of ``commitments``:

    ``"prepaid_balance"`` (Cloudflare's prepaid commitments, the sample's contract)
        A balance of ``amount`` paid up front, drawn down by covered usage in time order (charge
        start, then the frame's row order) at ``contracted_cost x (1 - discount)`` until it is
        spent; usage past it is on demand. Nothing is lost day by day: *unused* is the balance
        left at the end of the term, which is how the invoice sees it, and becomes one
        ``Unused`` row on the term's last day, written only when the frame holds usage through
        that day (before that, the balance is not lost yet).
    ``"use_it_or_lose_it"`` (AWS/Azure savings plans, a spend commitment per hour or day)
        The fee is spread evenly over the term by ``period`` (``"day"``, default, or ``"hour"``;
        partial periods prorated by time): each period's *share* covers, up to the share, the
        covered usage charged in that period; what the period's usage did not absorb is lost at
        the period's end: one ``Unused`` row per period with an unused share (FOCUS's all-upfront
        savings plan example). If the period's covered draw exceeds the share, the share is
        allocated in proportion to each row's draw, and each row's remainder is on demand.
        Periods before the frame's first or after its last usage day get no Unused row (the
        frame cannot tell whether usage absorbed them).

    *Covered usage*: usage rows (``charge_category`` Usage or missing, not corrections) with a
    contracted cost above 0 or unknown, in the commitment's currency and scope, whose
    ``charge_period_start`` lies in ``[term_start, term_end)``. A row is covered by at most one
    commitment: the first in order of ``term_start`` then ``commitment_id``.

    An unknown cost stays unknown: a covered row whose contracted cost is NA draws an unknown
    amount, so for a prepaid balance that row and every later one (the balance they draw from
    is unknown) and the unused balance are NA; for use-it-or-lose-it, the rows and the unused
    share of that row's period are NA. Unused rows are still written (with NA amounts), and the
    covered rows keep ``commitment_status`` "Used".

    Definitions, per covered row (``draw = contracted_cost x (1 - discount)``, the cost of the
    row at the commitment's rate; ``f`` the fraction of the draw the commitment covered)::

        amortized_commitment_cost = f x draw          (the part of the fee the row absorbed)
        on_demand_cost            = (1 - f) x contracted_cost   (the rest, paid at contract price)
        effective_cost            = amortized_commitment_cost + on_demand_cost

    **Conservation of money** (FOCUS): per commitment, Σ ``amortized_commitment_cost`` over its
    Used rows + Σ ``effective_cost`` of its Unused rows = the fee (the Purchase row's
    BilledCost), when the frame covers the term (for use-it-or-lose-it, the fee share of the
    periods the frame covers; for a prepaid balance, up to the fee while the term is open). So a
    frame with the Purchase row has, after this call, Σ ``effective_cost`` = Σ ``billed_cost``
    (given usage billed at 0 while covered, as Cloudflare bills it).

    Parameters
    ----------
    data : pandas.DataFrame
        A typed usage frame with ``charge_period_start``, ``contracted_cost`` and
        ``billing_currency``.
    commitments : pandas.DataFrame
        One row per commitment, like ``cfusage.sample.COMMITMENTS``: ``commitment_id``,
        ``kind`` (``"prepaid_balance"`` or ``"use_it_or_lose_it"``), ``amount``, ``currency``,
        ``term_start``, ``term_end`` (UTC timestamps, end exclusive); optional ``discount`` (the
        commitment's rate below the contracted price, in [0, 1); missing or NA: 0, usage draws at
        contracted prices), ``period`` (``"day"`` or ``"hour"``, use-it-or-lose-it only; default
        ``"day"``), and scope columns ``billing_account_id``, ``x_product_family_name``,
        ``x_billable_metric_id``. A scope value may be NA (any), one value, a ``"|"``-separated
        list of values (``"Workers|R2"``) or a list/tuple of values. A missing scope column
        means any.

    Returns
    -------
    pandas.DataFrame
        Every row of ``data`` (same order, fresh RangeIndex) with four new columns, then the
        Unused rows:

        ``commitment_id`` (str; NA on rows no commitment covers), ``commitment_status``
        ("Used" on covered rows, "Unused" on the new rows, NA elsewhere, like FOCUS
        CommitmentDiscountStatus), ``amortized_commitment_cost`` (NA on uncovered rows),
        ``on_demand_cost`` (NA on uncovered and Unused rows). ``effective_cost`` of covered rows
        is set as defined above (with ``discount`` 0 it equals ``contracted_cost``, as
        Cloudflare delivers it); ``billed_cost`` and every other column are left as delivered.
        Uncovered rows are unchanged; a covered row's unknown cost stays unknown (NA).

        Unused rows: ``charge_category`` "Usage", ``x_billable_metric_id`` "unused_commitment",
        charge period the period (the term's last day for a prepaid balance), billing period its
        calendar month, ``billing_account_id`` and ``x_product_family_name`` the commitment's
        scope when it names exactly one (else the account of the covered rows when they share
        one: FOCUS requires BillingAccountId), ``billing_currency`` the commitment currency,
        ``effective_cost`` = ``amortized_commitment_cost`` = the unused amount, ``list_cost`` =
        ``contracted_cost`` = ``billed_cost`` = 0 (the fee is billed on its Purchase row),
        ``pricing_quantity`` the unused amount (commitment units, in the currency) at unit prices
        0, ``consumed_quantity`` NA (FOCUS: no resource consumed). Because their effective cost
        exceeds their list cost, unused commitment lowers the Effective Savings Rate in
        :func:`cfusage.discounts`, as it should.

    Raises
    ------
    MissingColumnsError
        If ``data`` lacks ``charge_period_start``, ``contracted_cost`` or ``billing_currency``, or
        ``commitments`` lacks one of its required columns (``kind`` included: the two kinds
        give different figures, so the choice is never implicit).
    ValidationError
        If a commitment has a missing or negative amount, a term that ends before it starts, an
        unknown ``kind`` or ``period``, or a ``discount`` outside [0, 1).
    ArgumentError
        If an hourly commitment covers rows longer than an hour (daily rows: use ``period="day"``),
        or for an engine frame (Polars, DuckDB, Spark...): this helper takes pandas only.

    Warns
    -----
    UserWarning
        For a prepaid balance whose term starts before the frame's first usage day: what was
        drawn before is unknown, so the frame's usage is drawn from the whole amount.

    Examples
    --------
    >>> import pandas as pd
    >>> from cfusage.analysis._amortization import amortize_commitment
    >>> usage = pd.DataFrame({
    ...     "charge_period_start": pd.to_datetime(["2026-01-01", "2026-01-02"], utc=True),
    ...     "charge_category": pd.Categorical(["Usage", "Usage"]),
    ...     "billing_currency": pd.Categorical(["USD", "USD"]),
    ...     "contracted_cost": pd.array([15.0, 4.0], dtype="Float64"),
    ... })
    >>> commitment = pd.DataFrame({
    ...     "commitment_id": ["c1", "c2"], "kind": ["use_it_or_lose_it", "prepaid_balance"],
    ...     "amount": [20.0, 20.0], "currency": ["USD", "USD"],
    ...     "term_start": pd.to_datetime(["2026-01-01"] * 2, utc=True),
    ...     "term_end": pd.to_datetime(["2026-01-03"] * 2, utc=True),
    ... })
    >>> cols = ["commitment_status", "amortized_commitment_cost", "on_demand_cost"]
    >>> amortize_commitment(usage, commitments=commitment.iloc[[0]])[cols].values.tolist()
    [['Used', 10.0, 5.0], ['Used', 4.0, 0.0], ['Unused', 6.0, <NA>]]
    >>> amortize_commitment(usage, commitments=commitment.iloc[[1]])[cols].values.tolist()
    [['Used', 15.0, 0.0], ['Used', 4.0, 0.0], ['Unused', 1.0, <NA>]]
    """
    if _engine.is_engine(data):
        raise ArgumentError(
            "amortize_commitment() takes a pandas frame only (a balance is drawn row by row in "
            f"time order), not {type(data).__name__}; collect the rows of the commitments' "
            "scope and terms into pandas first"
        )
    g.require(
        data,
        ["charge_period_start", "contracted_cost", "billing_currency"],
        "amortize_commitment()",
    )
    need = ["commitment_id", "kind", "amount", "currency", "term_start", "term_end"]
    g.require(commitments, need, "amortize_commitment(commitments=)", allow_all_na=True)
    book = _check_commitments(commitments)

    n = len(data)
    usage = g.usage_mask(data)
    if "charge_class" in data.columns:
        usage &= ~g.text_is(data["charge_class"], "correction")
    contracted = data["contracted_cost"].to_numpy(dtype="float64", na_value=np.nan)
    usage &= ~(contracted <= 0)  # free rows draw nothing; an unknown cost may draw
    start = _us(data["charge_period_start"])
    end = _us(data["charge_period_end"]) if "charge_period_end" in data.columns else None
    currency = data["billing_currency"].astype("str").to_numpy(dtype=object, na_value=None)
    any_usage = g.usage_mask(data) & (start != _NAT)
    known = start[any_usage] if any_usage.any() else start[start != _NAT]
    first_day, last_day = (
        (known.min() // _US_PER_DAY, known.max() // _US_PER_DAY) if len(known) else (0, -1)
    )

    assigned = np.full(n, -1, dtype=np.int64)
    covered_contract = np.full(n, np.nan)  # contracted cost of the covered part of each row
    amortized = np.full(n, np.nan)
    unused_parts: list[pd.DataFrame] = []
    for j, c in enumerate(book.itertuples(index=False)):
        t0, t1 = int(c.term_start_us), int(c.term_end_us)
        mask = usage & (assigned < 0) & (currency == c.currency) & (start >= t0) & (start < t1)
        for col, allowed in c.scope:
            mask &= data[col].astype("str").isin(allowed).to_numpy(dtype=bool, na_value=False)
        rows = np.flatnonzero(mask)
        assigned[rows] = j
        draw = contracted[rows] * (1.0 - c.discount)
        if c.kind == "prepaid_balance":
            if t0 // _US_PER_DAY < first_day:
                warnings.warn(
                    f"amortize_commitment(): commitment {c.commitment_id} (a prepaid balance) starts "
                    f"before the frame's first usage day; what was drawn before is unknown, so the "
                    "frame's usage is drawn from the whole amount",
                    UserWarning,
                    stacklevel=2,
                )
            used, lost = _draw_balance(start[rows], draw, c.amount)
            term_last = (t1 - 1) // _US_PER_DAY if t1 > t0 else t0 // _US_PER_DAY
            if last_day >= term_last and not lost <= 0:  # NaN: unknown, still written
                lo = np.array([max(term_last * _US_PER_DAY, t0)])
                unused_parts.append(
                    _unused_rows(data, c, lo, np.array([t1]), np.array([lost]), rows)
                )
        else:
            step = _US_PER_HOUR if c.period == "hour" else _US_PER_DAY
            if c.period == "hour" and end is not None and len(rows):
                long = rows[(end[rows] - start[rows]) > step]
                if len(long):
                    raise ArgumentError(
                        f"commitment {c.commitment_id} is use-it-or-lose-it per hour, but "
                        f"{len(long)} covered row(s) last longer than an hour (row {int(long[0])}); "
                        "give it period='day' for daily usage rows"
                    )
            used, periods, _share, unused = _draw_per_period(
                start[rows], draw, t0, t1, step, c.amount
            )
            p_lo, p_hi = periods * step, (periods + 1) * step
            in_frame = (p_hi > first_day * _US_PER_DAY) & (p_lo < (last_day + 1) * _US_PER_DAY)
            keep = in_frame & ~(unused <= 0)  # NaN: a period with an unknown cost
            if keep.any():
                lo = np.maximum(p_lo[keep], t0)
                hi = np.minimum(p_hi[keep], t1)
                unused_parts.append(_unused_rows(data, c, lo, hi, unused[keep], rows))
        # = f x contracted_cost; exactly the contracted cost where the whole draw was covered
        covered_contract[rows] = np.where(used == draw, contracted[rows], used / (1.0 - c.discount))
        amortized[rows] = used

    covered_rows = assigned >= 0
    on_demand = np.where(covered_rows, contracted - covered_contract, np.nan)
    effective = np.where(covered_rows, amortized + on_demand, np.nan)
    ids = book["commitment_id"].to_numpy(dtype=object)
    new: dict[str, object] = {
        "commitment_id": pd.Series(ids[np.maximum(assigned, 0)], dtype="str")
        .where(covered_rows)
        .array,
        "commitment_status": pd.Categorical(
            pd.Series("Used", index=range(n), dtype="str").where(covered_rows),
            categories=["Used", "Unused"],
        ),
        "amortized_commitment_cost": pd.array(amortized, dtype="Float64"),
        "on_demand_cost": pd.array(on_demand, dtype="Float64"),
    }
    out = data.reset_index(drop=True)
    if "effective_cost" in out.columns and covered_rows.any():
        old = out["effective_cost"].astype("Float64")
        new["effective_cost"] = old.mask(
            pd.Series(covered_rows, index=out.index), pd.Series(effective, index=out.index)
        ).astype(out["effective_cost"].dtype)
    out = out.assign(**new)
    if not unused_parts:
        return out
    return _concat_typed(out, pd.concat(unused_parts, ignore_index=True))


def _draw_balance(start: np.ndarray, draw: np.ndarray, amount: float) -> tuple[np.ndarray, float]:
    """A prepaid balance drawn in time order (ties: row order): each row's part, what is left."""
    order = np.argsort(start, kind="stable")
    cum = np.cumsum(draw[order])
    prev = cum - draw[order]
    used = np.empty(len(draw))
    # wholly covered rows draw exactly their cost; the row that empties the balance the rest
    used[order] = np.where(
        cum <= amount, draw[order], np.maximum(amount - np.minimum(prev, amount), 0.0)
    )
    spent = float(used.sum())  # NaN once a cost is unknown: every later position is unknown
    return used, max(amount - spent, 0.0) if not np.isnan(spent) else np.nan


def _draw_per_period(
    start: np.ndarray, draw: np.ndarray, t0: int, t1: int, step: int, amount: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Use-it-or-lose-it: each period's share covers its usage; (row parts, periods, shares, unused)."""
    p0 = t0 // step
    p1 = max(p0, -(-t1 // step) - 1)  # last period touched by [t0, t1)
    periods = np.arange(p0, p1 + 1)
    lo = np.maximum(periods * step, t0)
    hi = np.minimum((periods + 1) * step, t1)
    share = amount * (hi - lo) / (t1 - t0) if t1 > t0 else np.where(periods == p0, amount, 0.0)
    rel = start // step - p0
    covered = np.bincount(rel, weights=draw, minlength=len(periods))
    used_p = np.minimum(covered, share)
    factor = np.divide(used_p, covered, out=np.zeros_like(used_p), where=covered > 0)
    factor[np.isnan(covered)] = np.nan  # a period holding an unknown cost: all of it unknown
    return draw * factor[rel], periods, share, share - used_p


def _check_commitments(commitments: pd.DataFrame) -> pd.DataFrame:
    """Typed copy of the commitments table, ordered, with parsed scope and term in microseconds."""
    book = commitments.copy()
    start = pd.to_datetime(book["term_start"], utc=True)
    end = pd.to_datetime(book["term_end"], utc=True)
    amount = pd.to_numeric(book["amount"], errors="coerce").astype("float64")
    kind = book["kind"].astype("str")
    discount = (
        pd.to_numeric(book["discount"], errors="coerce").astype("float64").fillna(0.0)
        if "discount" in book.columns
        else pd.Series(0.0, index=book.index)
    )
    period = (
        book["period"].astype("str").fillna("day")
        if "period" in book.columns
        else pd.Series("day", index=book.index, dtype="str")
    )
    problems = []
    for i in range(len(book)):
        cid = book["commitment_id"].iloc[i]
        if not np.isfinite(amount.iloc[i]) or amount.iloc[i] < 0:
            problems.append((i, "amount", book["amount"].iloc[i], "amount >= 0", f"{cid}"))
        if pd.isna(start.iloc[i]) or pd.isna(end.iloc[i]) or end.iloc[i] < start.iloc[i]:
            problems.append(
                (i, "term_end", book["term_end"].iloc[i], "term_end >= term_start", f"{cid}")
            )
        if kind.iloc[i] not in KINDS:
            problems.append((i, "kind", book["kind"].iloc[i], f"one of {list(KINDS)}", f"{cid}"))
        if period.iloc[i] not in ("day", "hour"):
            problems.append((i, "period", period.iloc[i], "'day' or 'hour'", f"{cid}"))
        if not 0 <= discount.iloc[i] < 1:
            problems.append((i, "discount", discount.iloc[i], "0 <= discount < 1", f"{cid}"))
    if problems:
        cases = pd.DataFrame(problems, columns=["row", "field", "value", "check", "reason"])
        cases["reason"] = "commitment " + cases["reason"] + " cannot be amortized"
        raise ValidationError(cases)
    book = book.assign(
        amount=amount,
        kind=kind,
        discount=discount,
        period=period,
        currency=book["currency"].astype("str"),
        term_start_us=_us(start),
        term_end_us=_us(end),
    )
    scopes = []
    for _, r in book.iterrows():
        scope = []
        for col in ("billing_account_id", "x_product_family_name", "x_billable_metric_id"):
            if col in book.columns:
                allowed = _scope_values(r[col])
                if allowed is not None:
                    scope.append((col, allowed))
        scopes.append(tuple(scope))
    book["scope"] = scopes
    return book.sort_values(["term_start_us", "commitment_id"], kind="stable").reset_index(
        drop=True
    )


def _scope_values(value: object) -> list[str] | None:
    """NA -> None (any); "A|B" or a list -> the allowed values."""
    if isinstance(value, (list, tuple, set, frozenset, np.ndarray)):
        values = [str(v) for v in value if not pd.isna(v)]
        return values or None
    if value is None or pd.isna(value):
        return None
    return [v.strip() for v in str(value).split("|") if v.strip()]


def _unused_rows(
    df: pd.DataFrame,
    c: Any,
    lo: np.ndarray,
    hi: np.ndarray,
    unused: np.ndarray,
    covered: np.ndarray,
) -> pd.DataFrame:
    """One Unused row per period ``[lo, hi)`` (microseconds) for commitment ``c``."""
    k = len(lo)
    p_start = _to_timestamps(lo)
    month = p_start.dt.tz_localize(None).dt.to_period("M")
    month_start = month.dt.start_time.dt.tz_localize("UTC").astype("datetime64[us, UTC]")
    month_end = (month + 1).dt.start_time.dt.tz_localize("UTC").astype("datetime64[us, UTC]")
    zero = pd.array(np.zeros(k), dtype="Float64")
    amount = pd.array(unused, dtype="Float64")
    values: dict[str, object] = {
        "charge_period_start": p_start,
        "charge_period_end": _to_timestamps(hi),
        "billing_period_start": month_start,
        "billing_period_end": month_end,
        "charge_category": "Usage",
        "charge_frequency": "Usage-Based",
        "charge_description": f"Unused commitment {c.commitment_id}",
        "x_billable_metric_id": "unused_commitment",
        "x_billable_metric_name": "Unused commitment",
        "billing_currency": c.currency,
        "pricing_quantity": amount,
        "pricing_unit": c.currency,
        "list_unit_price": zero,
        "contracted_unit_price": zero,
        "list_cost": zero,
        "contracted_cost": zero,
        "billed_cost": zero,
        "effective_cost": amount,
        "commitment_id": str(c.commitment_id),
        "commitment_status": "Unused",
        "amortized_commitment_cost": amount,
    }
    for col, allowed in c.scope:
        if len(allowed) == 1:
            values[col] = allowed[0]
    if "billing_account_id" in values and "billing_account_name" in df.columns:
        names = df.loc[
            df["billing_account_id"].astype("str") == values["billing_account_id"],
            "billing_account_name",
        ]
        if len(names):
            values["billing_account_name"] = names.iloc[0]
    if len(covered):
        first = df.iloc[int(covered[0])]
        for col in (
            "sub_account_id",
            "sub_account_name",
            "host_provider_name",
            "invoice_issuer_name",
            "service_provider_name",
        ):
            if col in df.columns:
                values[col] = first[col]
        # no account in the scope: the covered rows' account, when they all share one
        for col in ("billing_account_id", "billing_account_name"):
            if col in df.columns and col not in values:
                seen = df[col].iloc[covered].dropna().unique()
                if len(seen) == 1:
                    values[col] = seen[0]
    return pd.DataFrame(
        {col: _aligned(v, pd.RangeIndex(k)) for col, v in values.items() if _keep(col, df)}
    )


def _keep(col: str, df: pd.DataFrame) -> bool:
    extra = ("commitment_id", "commitment_status", "amortized_commitment_cost")
    return col in df.columns or col in extra


def _concat_typed(out: pd.DataFrame, extra: pd.DataFrame) -> pd.DataFrame:
    """Append ``extra`` to ``out`` keeping ``out``'s dtypes (categories are united)."""
    extra = extra.reindex(columns=out.columns)
    head = {}
    for col in out.columns:
        dtype = out[col].dtype
        if isinstance(dtype, pd.CategoricalDtype):
            new = pd.Index(extra[col].dropna().astype("str").unique())
            cats = dtype.categories.union(new.difference(dtype.categories), sort=False)
            cat_dtype = pd.CategoricalDtype(cats, ordered=dtype.ordered)
            head[col] = out[col].astype(cat_dtype)
            extra[col] = extra[col].astype("object").astype(cat_dtype)
        elif pd.api.types.is_bool_dtype(
            dtype
        ):  # e.g. rate()'s cost_estimated: the new rows are not estimates
            extra[col] = extra[col].astype("boolean").fillna(False).astype(bool)
        else:
            extra[col] = extra[col].astype(dtype)
    out = out.assign(**head) if head else out
    return pd.concat([out, extra], ignore_index=True)


# --------------------------------------------------------------------------------------------------
# reconcile

_COMPONENTS = (
    "prepaid_purchases",
    "prepaid_drawdown",
    "unused_commitment",
    "corrections",
    "other",
)


def reconcile(
    data: Frame,
    *,
    by: g.By = None,
    freq: str = "MS",
    currency_rates: Mapping[str, float] | None = None,
) -> Frame:
    """Billed cost (the invoice) against effective cost (amortized), the difference explained.

    Timing: billed cost belongs to the period it is invoiced in, effective cost to the period the
    usage happened in. For every row but corrections these are the same period; a ``Correction``
    row is billed in its billing period and its effective cost goes back to the charge period it
    corrects. At ``freq="billing_period"`` a row's period is its ``billing_period_start`` and a
    correction's effective cost goes to the billing period (among those in the frame) holding its
    charge period start; at a calendar grain periods come from ``charge_period_start``
    (corrections' billed cost from ``billing_period_start``).

    Each row's contribution to ``billed - effective`` is put in exactly one component, so the
    components add up to ``difference`` (to float rounding):

    ``prepaid_purchases``
        Purchase rows (a prepaid fee: billed, effective 0), ``+billed - effective``.
    ``prepaid_drawdown``
        Usage rows billed at 0 with an effective cost (usage paid from a prepaid balance):
        ``-effective``, so negative.
    ``unused_commitment``
        Rows with ``commitment_status == "Unused"`` (from :func:`amortize_commitment`):
        ``-effective``.
    ``corrections``
        Correction rows: ``+billed`` in the period billed, ``-effective`` in the period corrected.
    ``other``
        Everything else; 0 on consistent data (billed = effective).

    An unknown cost stays unknown: ``billed_cost`` of a cell is NA as soon as one billed value
    attributed to it is missing, ``effective_cost`` likewise, ``difference`` is NA where either
    is, and a component is NA in a cell where a row contributing to it has a missing cost (the
    other components stay known). So billed 150 and effective 50 + NA give effective NA and
    difference NA, never 100; ``missing_costs`` counts the missing values.

    Parameters
    ----------
    data : pandas.DataFrame or engine frame
        A typed usage frame with ``billed_cost`` and ``effective_cost``: a pandas DataFrame, or a
        Polars, DuckDB, Spark or Ibis frame (see "Engines" in :mod:`cfusage.analysis._engine`).
        On an engine the rows are reduced inside it (per key x UTC day x NA pattern x whether
        the row was billed 0 with an effective cost) and only that small frame is collected.
    by : str, list of str or None
        Dimensions; see :func:`cfusage.discounts`.
    freq : str
        ``"MS"`` (calendar month, the default of every helper), ``"billing_period"``
        (the invoice cycle: ``billing_period_start``), ``"D"``, ``"W"`` or ``"QS"``.
    currency_rates : mapping of str to float, optional
        Convert costs into one currency first.

    Returns
    -------
    pandas.DataFrame or engine frame
        Of the input's kind (pandas in, pandas out; Polars lazy stays lazy; DuckDB a relation,
        Spark a Spark DataFrame): ``period``, the ``by`` columns, ``billing_currency``, ``billed_cost``,
        ``effective_cost`` (sums of the values attributed to the period; NA when one of them is
        missing), ``difference`` (billed - effective), the five components above (they add up
        to ``difference`` where it is known), and ``missing_costs`` (number of billed or
        effective values missing in the cell).

    Raises
    ------
    MissingColumnsError
        If ``billed_cost`` or ``effective_cost`` is missing or all NA.

    Examples
    --------
    >>> import pandas as pd
    >>> from cfusage.analysis._amortization import reconcile
    >>> month = pd.to_datetime(["2026-01-01"] * 2, utc=True)
    >>> data = pd.DataFrame({
    ...     "charge_period_start": pd.to_datetime(["2026-01-01", "2026-01-02"], utc=True),
    ...     "billing_period_start": month,
    ...     "charge_category": pd.Categorical(["Purchase", "Usage"]),
    ...     "billing_currency": pd.Categorical(["USD", "USD"]),
    ...     "billed_cost": pd.array([100.0, 0.0], dtype="Float64"),
    ...     "effective_cost": pd.array([0.0, 30.0], dtype="Float64"),
    ... })
    >>> r = reconcile(data)
    >>> r[["difference", "prepaid_purchases", "prepaid_drawdown", "other"]].iloc[0].tolist()
    [70.0, 100.0, -30.0, 0.0]
    """
    if _engine.is_engine(data):
        r = _reconcile_reduced(data, by)
        return r.back(reconcile(r.frame, by=by, freq=freq, currency_rates=currency_rates))
    g.require(data, ["billed_cost", "effective_cost"], "reconcile()")
    grain = g.freq_of(freq)
    work = g.convert_currency(data, currency_rates, ["billed_cost", "effective_cost"])
    grp = g.grouping(work, by)  # no grain here: the two sides have their own periods
    work, keys = grp.frame, list(grp.keys)
    bill_period, eff_period = _reconcile_periods(work, grain)

    billed = work["billed_cost"].to_numpy(dtype="float64", na_value=np.nan)
    effective = work["effective_cost"].to_numpy(dtype="float64", na_value=np.nan)
    category = _text(work, "charge_category")
    purchase = category == "purchase"
    correction = (_text(work, "charge_class") == "correction") & ~purchase
    unused = (_text(work, "commitment_status") == "unused") & ~purchase & ~correction
    if _DRAWN in work.columns:  # an engine's reduced frame: the row-level test, made there
        drawdown = work[_DRAWN].to_numpy(dtype=bool, na_value=False).copy()
    else:
        drawdown = (billed == 0) & ~np.isnan(effective) & (effective != 0)
    drawdown &= ~purchase & ~correction & ~unused
    w = g.row_weights(work).astype("float64")  # input rows per row (engines: ROWS)
    component = np.select(
        [purchase, unused, correction, drawdown],
        ["prepaid_purchases", "unused_commitment", "corrections", "prepaid_drawdown"],
        "other",
    )
    dims_frame = work[keys].reset_index(drop=True)
    b0 = np.where(np.isnan(billed), 0.0, billed)
    e0 = np.where(np.isnan(effective), 0.0, effective)
    # a row whose two sides fall in the same period adds its net (b - e) once, so that rows with
    # billed == effective add exactly 0 to their component
    same = (bill_period == eff_period).to_numpy(dtype=bool, na_value=False)
    net = {"billed": np.where(same, b0 - e0, b0), "effective": np.where(same, 0.0, -e0)}
    sides = []
    for name, values, period in (
        ("billed", billed, bill_period),
        ("effective", effective, eff_period),
    ):
        side = dims_frame.assign(
            **{
                g.PERIOD: period,
                "_component": component,
                "_net": net[name],
                "_value": np.where(np.isnan(values), 0.0, values),
                "_unknown_net": np.isnan(values) * w,
                "_present": ~np.isnan(values) * w,
                "_missing": np.isnan(values) * w,
                "_side": name,
            }
        )
        sides.append(side)
    long = pd.concat(sides, ignore_index=True)
    cell = [g.PERIOD, *keys]
    comp = long.pivot_table(
        index=cell,
        columns="_component",
        values="_net",
        aggfunc="sum",
        observed=True,
        dropna=False,
        fill_value=0.0,
    )
    side = long.pivot_table(
        index=cell,
        columns="_side",
        values=["_value", "_present", "_missing"],
        aggfunc="sum",
        observed=True,
        dropna=False,
        fill_value=0.0,
    )
    # a row with a missing cost makes its component unknown in the cells it reaches
    unknown = long.pivot_table(
        index=cell,
        columns="_component",
        values="_unknown_net",
        aggfunc="sum",
        observed=True,
        dropna=False,
        fill_value=0.0,
    )
    out = pd.DataFrame(index=comp.index)
    for name in ("billed", "effective"):
        total = side[("_value", name)]
        out[f"{name}_cost"] = total.astype("Float64").mask(side[("_missing", name)] > 0)
    out["difference"] = out["billed_cost"] - out["effective_cost"]
    for name in _COMPONENTS:
        values = comp[name] if name in comp.columns else pd.Series(0.0, index=comp.index)
        hidden = (
            unknown[name].reindex(comp.index, fill_value=0.0) > 0
            if name in unknown.columns
            else pd.Series(False, index=comp.index)
        )
        out[name] = values.astype("Float64").mask(hidden.to_numpy(dtype=bool))
    out["missing_costs"] = (side[("_missing", "billed")] + side[("_missing", "effective")]).astype(
        "int64"
    )
    return out.reset_index()


#: Set by the engine path: the row was billed 0 with a known, non-zero effective cost.
_DRAWN = "_cfusage_billed_zero"
#: Columns :func:`reconcile` reads besides the costs and ``by=`` (kept as keys on an engine).
_RECONCILE_CONTEXT = (
    g.CURRENCY,
    "charge_category",
    "charge_class",
    "commitment_status",
    "billing_period_start",
)


def _reconcile_reduced(data: Any, by: g.By) -> _engine.Reduced:
    """An engine input reduced for :func:`reconcile`: billed and effective cost summed per key x
    UTC day x NA pattern x the row-level "billed 0, effective not" test (the one per-row figure
    reconcile reads besides its keys)."""
    frame = _engine.lazy(data, "reconcile()")
    if {"billed_cost", "effective_cost"} <= set(_engine.columns_of(frame)):
        billed, effective = nw.col("billed_cost"), nw.col("effective_cost")
        drawn = (billed == 0) & ~effective.is_null() & (effective != 0)
        frame = frame.with_columns(nw.when(drawn).then(True).otherwise(False).alias(_DRAWN))
    return _engine.reduce(
        frame.to_native(),
        "reconcile()",
        keys=_engine.by_columns(by, "reconcile()"),
        values=["billed_cost", "effective_cost"],
        optional=[_DRAWN, *_RECONCILE_CONTEXT],
    )


def _reconcile_periods(work: pd.DataFrame, grain: str) -> tuple[pd.Series, pd.Series]:
    """(period of each row's billed cost, period of its effective cost), as UTC timestamps."""
    correction = (_text(work, "charge_class") == "correction") & (
        _text(work, "charge_category") != "purchase"
    )
    charge = work["charge_period_start"].reset_index(drop=True)
    has_bp = "billing_period_start" in work.columns
    if grain == "billing_period":
        g.require(work, ["billing_period_start"], "reconcile(freq='billing_period')")
        bps = work["billing_period_start"].reset_index(drop=True)
        known = np.sort(bps.dropna().unique().to_numpy(dtype="datetime64[us]"))
        pos = np.searchsorted(
            known, charge.dt.tz_localize(None).to_numpy("datetime64[us]"), "right"
        )
        held = pd.Series(known[np.maximum(pos - 1, 0)], dtype="datetime64[us]").dt.tz_localize(
            "UTC"
        )
        held = held.where(pos > 0, g.floor_to(charge, "MS"))
        bill = bps.where(bps.notna(), g.floor_to(charge, "MS"))
        eff = bill.where(~correction, held)
        return bill, eff
    eff = g.floor_to(charge, grain)
    if not has_bp:
        return eff, eff
    billed_at = g.floor_to(work["billing_period_start"].reset_index(drop=True), grain)
    bill = eff.where(~correction | billed_at.isna(), billed_at)
    return bill, eff


def _text(df: pd.DataFrame, col: str) -> np.ndarray:
    """Lower-cased text of ``col`` as an object array ('' where missing or absent)."""
    if col not in df.columns:
        return np.full(len(df), "", dtype=object)
    return df[col].astype("str").str.casefold().fillna("").to_numpy(dtype=object)


# --------------------------------------------------------------------------------------------------
# time helpers (vectorised, microseconds since the epoch)


def _calendar_grain(freq: str) -> str:
    grain = g.freq_of(freq)
    if grain not in _CALENDAR:
        raise ArgumentError(
            f"freq={freq!r} has no calendar to spread costs over; use one of {list(_CALENDAR)}"
        )
    return grain


def _us(ts: pd.Series) -> np.ndarray:
    """UTC timestamps as int64 microseconds since the epoch (NaT -> int64 min)."""
    naive = pd.Series(ts).dt.tz_convert("UTC").dt.tz_localize(None)
    return naive.to_numpy(dtype="datetime64[us]").astype(np.int64)


def _period_bounds(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    start_s, end_s = df["charge_period_start"], df["charge_period_end"]
    bad_start = start_s.isna().to_numpy()
    bad_end = end_s.isna().to_numpy()
    start, end = _us(start_s), _us(end_s)
    backwards = ~bad_start & ~bad_end & (end < start)
    if bad_start.any() or bad_end.any() or backwards.any():
        cases = []
        for field, mask, check in (
            ("charge_period_start", bad_start, "not null"),
            ("charge_period_end", bad_end, "not null"),
            ("charge_period_end", backwards, "charge_period_end >= charge_period_start"),
        ):
            for i in np.flatnonzero(mask):
                value = df[field].iloc[i]
                cases.append((int(i), field, value, check, f"cannot amortize: {check} fails"))
        raise ValidationError(
            pd.DataFrame(cases, columns=["row", "field", "value", "check", "reason"])
        )
    return start, end


def _period_index(us: np.ndarray, grain: str) -> np.ndarray:
    """Integer index of the period holding each instant (days, Monday-weeks, months, quarters)."""
    days = np.floor_divide(us, _US_PER_DAY)
    if grain == "D":
        return days
    if grain == "W":
        return np.floor_divide(days + 3, 7)  # 1970-01-01 was a Thursday
    months = us.astype("datetime64[us]").astype("datetime64[M]").astype(np.int64)
    if grain == "MS":
        return months
    if grain == "QS":
        return np.floor_divide(months, 3)
    raise DataError(f"unknown grain {grain!r}")


def _period_start_us(idx: np.ndarray, grain: str) -> np.ndarray:
    """Start (microseconds since the epoch) of period ``idx`` at ``grain``."""
    if grain == "D":
        return idx * _US_PER_DAY
    if grain == "W":
        return (idx * 7 - 3) * _US_PER_DAY
    months = idx if grain == "MS" else idx * 3
    return months.astype("datetime64[M]").astype("datetime64[us]").astype(np.int64)


def _to_timestamps(us: np.ndarray) -> pd.Series:
    return pd.Series(np.asarray(us, dtype=np.int64).astype("datetime64[us]")).dt.tz_localize("UTC")


def _aligned(value: object, index: pd.Index) -> object:
    if isinstance(value, pd.Series):
        return value.set_axis(index)
    if isinstance(value, (pd.api.extensions.ExtensionArray, np.ndarray)):
        return pd.Series(value, index=index)
    return value


def _period_first(df: pd.DataFrame) -> pd.DataFrame:
    return df[[g.PERIOD, *[c for c in df.columns if c != g.PERIOD]]]
