"""Checks on a typed usage frame: :func:`validate` and the :class:`ValidationReport` it returns.

Every rule reports the rows it fails on, collected (not only the first), with a severity:

=========  ==============================================================================
error      a row that cannot be used: a required field missing (each column's
           ``required`` in :mod:`cfusage.schema`: FOCUS's conditional nullability, e.g.
           SkuId on Usage/Purchase rows that are not corrections, and on every Cloudflare
           row), an unparseable date or number, a charge period that ends at or before it
           starts, infinite money
warning    usable, but a person should look: a value FOCUS says must be null there (SkuId
           or PricingQuantity on a Tax row), non-daily periods where daily is expected,
           negative quantity or cost outside a Correction, ListCost ≠ ListUnitPrice ×
           PricingQuantity, EffectiveCost above ListCost, a currency that is not ISO 4217,
           mixed currencies, duplicate record keys
=========  ==============================================================================

:func:`cfusage.to_frame` applies the error rules while loading (and raises, or sets the rows aside
with ``errors="quarantine"``); :func:`validate` applies all of them to a frame in hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .. import schema
from ..errors import ValidationError
from ._checks import _cases, _empty_failures, _null_for_cases, _row_failures
from ._coerce import _coerce, _rename

__all__ = ["ISO_4217", "ValidationReport", "validate"]

#: Active ISO 4217 currency codes.
ISO_4217 = frozenset(
    """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP
    BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL
    GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW
    KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN
    NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK
    SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS
    VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG""".split()  # noqa: SIM905
)

_CASE_COLUMNS = ("severity", "check", "field", "row", "value", "message")
#: Relative and absolute tolerance of the cost identities (providers round to cents or finer).
_REL_TOL = 1e-6
_ABS_TOL = 0.005


@dataclass(frozen=True)
class ValidationReport:
    """What :func:`validate` found: one row per (rule, row) that failed.

    Attributes
    ----------
    cases : pandas.DataFrame
        ``severity`` ("error" or "warning"), ``check``, ``field``, ``row`` (the frame's index
        label, NA for frame-level findings), ``value`` and ``message``.
    rows : int
        How many rows were checked.
    """

    cases: pd.DataFrame
    rows: int

    @property
    def errors(self) -> pd.DataFrame:
        """The error cases (rows that cannot be used)."""
        return self.cases.loc[self.cases["severity"] == "error"].reset_index(drop=True)

    @property
    def warnings(self) -> pd.DataFrame:
        """The warning cases (usable rows a person should look at)."""
        return self.cases.loc[self.cases["severity"] == "warning"].reset_index(drop=True)

    @property
    def ok(self) -> bool:
        """True when no row has an error (warnings allowed)."""
        return not (self.cases["severity"] == "error").any()

    def summary(self) -> pd.DataFrame:
        """One row per (severity, check, field): how many rows, and the first few of them."""
        if self.cases.empty:
            return pd.DataFrame(
                columns=["severity", "check", "field", "rows", "examples", "message"]
            )
        grouped = self.cases.groupby(["severity", "check", "field"], sort=False, dropna=False)
        out = grouped.agg(
            rows=("row", "size"),
            examples=("row", lambda r: ", ".join(str(x) for x in r.head(5) if pd.notna(x))),
            message=("message", "first"),
        ).reset_index()
        order = out["severity"].map({"error": 0, "warning": 1})
        return (
            out.assign(_o=order)
            .sort_values(["_o", "rows"], ascending=[True, False])
            .drop(columns="_o")
            .reset_index(drop=True)
        )

    def raise_for_errors(self) -> None:
        """Raise :class:`~cfusage.ValidationError` if any row has an error."""
        errs = self.errors
        if len(errs):
            raise ValidationError(errs.rename(columns={"message": "reason"}))

    def __repr__(self) -> str:
        n_err = int((self.cases["severity"] == "error").sum())
        n_warn = len(self.cases) - n_err
        head = f"ValidationReport: {self.rows:,} rows, {n_err} error(s), {n_warn} warning(s)"
        lines = [head]
        for r in self.summary().itertuples():
            lines.append(
                f"  {r.severity:<7} {r.check:<22} {r.field:<22} {r.rows:>7} rows  {r.message}"
            )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        n_err = int((self.cases["severity"] == "error").sum())
        n_warn = len(self.cases) - n_err
        colour = "#b00020" if n_err else ("#b26a00" if n_warn else "#1b7f3b")
        verdict = "errors found" if n_err else ("warnings only" if n_warn else "all checks passed")
        head = (
            f"<p><b>Validation</b> of {self.rows:,} rows: "
            f"<span style='color:{colour}'><b>{verdict}</b></span> "
            f"({n_err} error cases, {n_warn} warning cases)</p>"
        )
        if self.cases.empty:
            return head
        return head + self.summary().to_html(index=False, escape=True, border=0)


def validate(data: pd.DataFrame, *, daily: bool = True) -> ValidationReport:
    """Check a usage frame against every rule; collect all failures.

    Parameters
    ----------
    data : pandas.DataFrame
        A typed usage frame (:func:`cfusage.to_frame`). A frame with python column names but other
        dtypes (e.g. text read from a CSV) is typed first; values that cannot be typed are errors.
    daily : bool
        Warn about Usage rows whose charge period is not exactly one day (Cloudflare's records are
        daily).

    Returns
    -------
    ValidationReport
        Renders as a table in a notebook; ``.ok``, ``.errors``, ``.warnings``, ``.summary()``,
        ``.raise_for_errors()``.

    Examples
    --------
    >>> import cfusage
    >>> data = cfusage.to_frame([{"ChargePeriodStart": "2026-03-01", "ChargePeriodEnd": "2026-03-02",
    ...     "x_BillableMetricId": "r2_storage", "ListUnitPrice": 0.015, "PricingQuantity": 10,
    ...     "ListCost": 0.2, "BillingCurrency": "USD"}])
    >>> report = cfusage.validate(data)
    >>> report.ok, report.warnings["check"].tolist()
    (True, ['list_cost_identity'])
    """
    typed, type_cases = _typed(data)
    found = [
        _as_cases(_row_failures(typed, type_cases), "error"),
        _as_cases(_null_for_cases(typed), "warning"),
        *_warning_cases(typed, daily=daily),
    ]
    cases = (
        pd.concat([c for c in found if len(c)], ignore_index=True)
        if any(len(c) for c in found)
        else _empty()
    )
    labels = typed.index.to_numpy()
    rows = cases["row"].to_numpy()
    known = pd.notna(rows)
    positions = rows[known].astype(np.int64)
    rows = rows.astype(object)
    rows[known] = labels[positions]
    cases = cases.assign(row=rows)
    return ValidationReport(cases=cases[list(_CASE_COLUMNS)], rows=len(typed))


def _typed(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The frame typed like the loader types it, and its typing failures (``row`` positional)."""
    expected = schema.dtypes()
    if all(c in df.columns and str(df[c].dtype) == d for c, d in expected.items()):
        return df, _empty_failures()
    typed, cases = _coerce(_rename(df.reset_index(drop=True)))
    typed.index = df.index
    return typed, cases


def _warning_cases(typed: pd.DataFrame, *, daily: bool) -> list[pd.DataFrame]:
    found: list[pd.DataFrame] = []
    category = typed["charge_category"].astype("str")
    usage = category.isna() | (category == "Usage")
    correction = (typed["charge_class"].astype("str") == "Correction").fillna(False)
    credit = (category == "Credit").fillna(False)

    def warn(
        mask: Any, field: str, message: str, check: str, values: pd.Series | None = None
    ) -> None:
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            found.append(
                _as_cases(
                    _cases(mask, field, typed[field] if values is None else values, message, check),
                    "warning",
                )
            )

    if daily:
        length = typed["charge_period_end"] - typed["charge_period_start"]
        not_daily = (usage & (length != pd.Timedelta(days=1))).to_numpy(dtype=bool, na_value=False)
        warn(
            not_daily, "charge_period_end", "a Usage row that is not one day long", "daily", length
        )
    ordinary = (~correction & ~credit).to_numpy(dtype=bool)
    for name in (*schema.QUANTITY, *schema.MONEY):
        negative = (typed[name] < 0).to_numpy(dtype=bool, na_value=False) & ordinary
        warn(negative, name, "negative on a row that is not a Correction or Credit", "negative")
    for cost, price in (
        ("list_cost", "list_unit_price"),
        ("contracted_cost", "contracted_unit_price"),
    ):
        expected = typed[price] * typed["pricing_quantity"]
        gap = (typed[cost] - expected).abs()
        tol = np.maximum(_ABS_TOL, _REL_TOL * expected.abs().to_numpy(dtype=float, na_value=0.0))
        off = (gap > tol).to_numpy(dtype=bool, na_value=False)
        warn(off, cost, f"{cost} differs from {price} x pricing_quantity", f"{cost}_identity")
    above = (typed["effective_cost"] > typed["list_cost"] + _ABS_TOL).to_numpy(
        dtype=bool, na_value=False
    )
    warn(
        above & ordinary, "effective_cost", "effective cost above list cost", "effective_above_list"
    )
    currency = typed["billing_currency"].astype("str")
    not_iso = (currency.notna() & ~currency.isin(ISO_4217)).to_numpy(dtype=bool)
    warn(not_iso, "billing_currency", "not an ISO 4217 currency code", "currency_code")
    currencies = sorted(currency.dropna().unique())
    if len(currencies) > 1:
        found.append(
            pd.DataFrame(
                {
                    "severity": ["warning"],
                    "check": ["mixed_currencies"],
                    "field": ["billing_currency"],
                    "row": [pd.NA],
                    "value": [currencies],
                    "message": [
                        f"{len(currencies)} currencies in one frame: never add their costs together"
                    ],
                }
            )
        )
    keys = [k for k in schema.KEY if k in typed.columns]
    dup = typed.duplicated(keys, keep=False).to_numpy()
    warn(dup, "x_billable_metric_id", "another row has the same record key", "duplicate_key")
    return found


def _as_cases(failures: pd.DataFrame, severity: str) -> pd.DataFrame:
    return failures.rename(columns={"reason": "message"}).assign(severity=severity)


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in _CASE_COLUMNS})
