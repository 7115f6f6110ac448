"""Write a typed usage frame as a FOCUS dataset that other FOCUS tools accept.

:func:`to_focus` turns a frame from :func:`cfusage.to_frame` into a FOCUS 1.2 (or 1.3) Cost and
Usage dataset, CSV or Parquet. Every column name comes from :data:`cfusage.schema.COLUMNS`:

* each column is written under its FOCUS name (``Column.focus``) when that name is a FOCUS column,
  and Cloudflare's own ``x_`` columns are kept under their wire names beside it, so
  ``x_BillableMetricId`` sits next to ``SkuId`` and ``x_ZoneId`` next to ``ResourceId``;
* columns FOCUS requires and Cloudflare does not send are derived: ``ServiceCategory`` (from the
  product family, through :data:`SERVICE_CATEGORIES`), ``ProviderName`` and ``PublisherName``
  (the 1.0-1.2 names of the service provider, kept beside 1.3's ``ServiceProviderName`` and
  ``HostProviderName``) and ``ResourceType`` (``"Zone"`` wherever ``ResourceId`` is set);
* extra columns of the frame are kept: under their PascalCase name when it is a FOCUS column
  (``invoice_id`` -> ``InvoiceId``), otherwise with the ``x_`` prefix FOCUS requires of custom
  columns (``cost_center`` -> ``x_CostCenter``, ``x_team`` -> ``x_Team``).

FOCUS columns come first, custom (``x_``) columns after them, as the spec recommends.

Value conventions (what a reader of these files meets)
------------------------------------------------------
* Dates: ISO 8601 UTC with ``Z``, to the second (``2026-03-01T00:00:00Z``); in Parquet,
  ``timestamp[us, tz=UTC]``.
* Null: an empty cell in CSV (never ``0``, never the text ``NULL``); a Parquet null.
* Money, quantities, prices: decimals as written by Python's ``repr`` of the float (shortest
  round-tripping text); Parquet ``double``.
* Tags: a flat JSON object as text (``{"env":"prod","team":true}``) in both formats.
* Text: UTF-8 without a byte-order mark, ``\\n`` line ends, RFC 4180 quoting where needed.

Decisions of ours (FOCUS leaves them to the data generator)
-----------------------------------------------------------
* ``ChargeCategory`` null -> ``"Usage"``: the billable-usage API serves usage only.
  ``ChargeFrequency`` null -> ``"Usage-Based"``, for ``Usage`` rows only (FOCUS forbids
  ``Usage-Based`` on ``Purchase`` rows).
* ``ServiceProviderName``, ``HostProviderName`` and ``InvoiceIssuerName`` null -> ``provider``
  (``"Cloudflare"``): the records come from Cloudflare's API. ``ProviderName`` and
  ``PublisherName`` copy ``ServiceProviderName``.
* No cost is ever filled in: a FOCUS column the data cannot satisfy (no costs, no currency, no
  billing period) raises :class:`~cfusage.errors.MissingColumnsError` naming it, or with
  ``strict=False`` is written null and named in a warning.
* Cloudflare's ``x_ProductFamilyId`` is kept under that name only: FOCUS 1.2 and 1.3 define no
  ``ServiceId`` column, and a custom column without ``x_`` would break the spec.
* ``ChargeDescription``: a description the API sends is written as sent when it is ASCII (FOCUS
  1.2's string rule, checked by focus-validator); one with other characters is transliterated
  (a typographic dash ``\u2014`` becomes ``-``, quotes become ``'``/``"``, accents are dropped,
  anything else becomes ``?``). Every other text column is written as sent.
* A Purchase row (a commitment bought up front) without ``PricingQuantity`` is the purchase of one
  commitment: ``PricingQuantity`` 1, ``PricingUnit`` "Commitment", ``ListUnitPrice`` =
  ``ListCost`` and ``ContractedUnitPrice`` = ``ContractedCost`` (FOCUS's all-upfront examples do
  the same). No cost is derived. A Purchase or Unused commitment row without ``ServiceName``
  (a commitment covering several product families) takes the metric's name
  (``x_BillableMetricName``, "Prepaid Commitment").
* Rows from :func:`cfusage.amortize_commitment`: ``commitment_id`` and ``commitment_status``
  are written as FOCUS ``CommitmentDiscountId`` and ``CommitmentDiscountStatus`` (with
  ``CommitmentDiscountCategory`` "Spend", ``CommitmentDiscountType`` "Prepaid Commitment",
  ``CommitmentDiscountQuantity`` = ``amortized_commitment_cost`` and ``CommitmentDiscountUnit``
  the currency); an ``Unused`` row has a null ``ConsumedQuantity``, as FOCUS requires.

Examples
--------
>>> import pandas as pd, tempfile, pathlib
>>> from cfusage.io._focus import to_focus, SERVICE_CATEGORIES
>>> SERVICE_CATEGORIES["Workers"], SERVICE_CATEGORIES["R2"]
(('Compute', 'Serverless Compute'), ('Storage', 'Object Storage'))
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
import unicodedata
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .. import schema
from ..errors import ArgumentError, MissingColumnsError

__all__ = [
    "DERIVED_COLUMNS",
    "FOCUS_COLUMNS",
    "FOCUS_SERVICE_CATEGORIES",
    "SERVICE_CATEGORIES",
    "to_focus",
]

Version = Literal["1.2", "1.3"]

#: FOCUS's fixed ``ServiceCategory`` values, each with its allowed ``ServiceSubcategory`` values
#: (FOCUS 1.2; unchanged in 1.3).
FOCUS_SERVICE_CATEGORIES: dict[str, tuple[str, ...]] = {
    "AI and Machine Learning": ("AI Platforms", "Bots", "Generative AI", "Machine Learning", "Natural Language Processing", "Other (AI and Machine Learning)"),
    "Analytics": ("Analytics Platforms", "Business Intelligence", "Data Processing", "Search", "Streaming Analytics", "Other (Analytics)"),
    "Business Applications": ("Productivity and Collaboration", "Other (Business Applications)"),
    "Compute": ("Containers", "End User Computing", "Quantum Compute", "Serverless Compute", "Virtual Machines", "Other (Compute)"),
    "Databases": ("Caching", "Data Warehouses", "Ledger Databases", "NoSQL Databases", "Relational Databases", "Time Series Databases", "Other (Databases)"),
    "Developer Tools": ("Developer Platforms", "Continuous Integration and Deployment", "Development Environments", "Source Code Management", "Quality Assurance", "Other (Developer Tools)"),
    "Identity": ("Identity and Access Management", "Other (Identity)"),
    "Integration": ("API Management", "Messaging", "Workflow Orchestration", "Other (Integration)"),
    "Internet of Things": ("IoT Analytics", "IoT Platforms", "Other (Internet of Things)"),
    "Management and Governance": ("Architecture", "Compliance", "Cost Management", "Data Governance", "Disaster Recovery", "Endpoint Management", "Observability", "Support", "Other (Management and Governance)"),
    "Media": ("Content Creation", "Gaming", "Media Streaming", "Mixed Reality", "Other (Media)"),
    "Migration": ("Data Migration", "Resource Migration", "Other (Migration)"),
    "Mobile": ("Other (Mobile)",),
    "Multicloud": ("Multicloud Integration", "Other (Multicloud)"),
    "Networking": ("Application Networking", "Content Delivery", "Network Connectivity", "Network Infrastructure", "Network Routing", "Network Security", "Other (Networking)"),
    "Security": ("Secret Management", "Security Posture Management", "Threat Detection and Response", "Other (Security)"),
    "Storage": ("Backup Storage", "Block Storage", "File Storage", "Object Storage", "Storage Platforms", "Other (Storage)"),
    "Web": ("Application Platforms", "Other (Web)"),
    "Other": ("Other (Other)",),
}  # fmt: skip

#: Cloudflare product family (``x_ProductFamilyName``) -> FOCUS (``ServiceCategory``,
#: ``ServiceSubcategory``).
#:
#: Cloudflare's own ``x_ProductCategoryName`` ("Developer", "Cloudflare One") is not on FOCUS's
#: list, so the category is decided per product family, by what the product mainly does: running
#: code is Compute, keeping objects is Storage, video and pictures are Media, moving or caching
#: traffic is Networking, protecting it is Security, models are AI and Machine Learning, logs and
#: traces are Management and Governance. Matching ignores case and repeated spaces; a family not
#: listed here, or a null family, becomes ``("Other", "Other (Other)")``. Pass
#: ``service_categories=`` to :func:`to_focus` to add or override entries.
SERVICE_CATEGORIES: dict[str, tuple[str, str]] = {
    "Workers": ("Compute", "Serverless Compute"),
    "Workers Paid": ("Compute", "Serverless Compute"),
    "Durable Objects": ("Compute", "Serverless Compute"),
    "Browser Rendering": ("Compute", "Serverless Compute"),
    "Containers": ("Compute", "Containers"),
    "R2": ("Storage", "Object Storage"),
    "Workers KV": ("Databases", "NoSQL Databases"),
    "KV": ("Databases", "NoSQL Databases"),
    "D1": ("Databases", "Relational Databases"),
    "Hyperdrive": ("Databases", "Caching"),
    "Vectorize": ("Databases", "Other (Databases)"),
    "Queues": ("Integration", "Messaging"),
    "Workflows": ("Integration", "Workflow Orchestration"),
    "Stream": ("Media", "Media Streaming"),
    "Images": ("Media", "Other (Media)"),
    "Calls": ("Media", "Media Streaming"),
    "Argo": ("Networking", "Network Routing"),
    "Argo Smart Routing": ("Networking", "Network Routing"),
    "Load Balancing": ("Networking", "Application Networking"),
    "Spectrum": ("Networking", "Application Networking"),
    "Cache Reserve": ("Networking", "Content Delivery"),
    "CDN": ("Networking", "Content Delivery"),
    "Magic Transit": ("Networking", "Network Security"),
    "Zero Trust": ("Security", "Other (Security)"),
    "Cloudflare One": ("Security", "Other (Security)"),
    "Gateway": ("Security", "Other (Security)"),
    "Access": ("Identity", "Identity and Access Management"),
    "Rate Limiting": ("Security", "Threat Detection and Response"),
    "WAF": ("Security", "Threat Detection and Response"),
    "Bot Management": ("Security", "Threat Detection and Response"),
    "Workers AI": ("AI and Machine Learning", "AI Platforms"),
    "AI Gateway": ("AI and Machine Learning", "AI Platforms"),
    "Analytics Engine": ("Analytics", "Analytics Platforms"),
    "Log Explorer": ("Management and Governance", "Observability"),
    "Logpush": ("Management and Governance", "Observability"),
    "Observability": ("Management and Governance", "Observability"),
    "Pages": ("Web", "Application Platforms"),
}
_UNKNOWN_SERVICE = ("Other", "Other (Other)")

#: Every column of FOCUS 1.2 (57), in the spec's alphabetical order.
_FOCUS_1_2: tuple[str, ...] = (
    "AvailabilityZone", "BilledCost", "BillingAccountId", "BillingAccountName",
    "BillingAccountType", "BillingCurrency", "BillingPeriodEnd", "BillingPeriodStart",
    "CapacityReservationId", "CapacityReservationStatus", "ChargeCategory", "ChargeClass",
    "ChargeDescription", "ChargeFrequency", "ChargePeriodEnd", "ChargePeriodStart",
    "CommitmentDiscountCategory", "CommitmentDiscountId", "CommitmentDiscountName",
    "CommitmentDiscountQuantity", "CommitmentDiscountStatus", "CommitmentDiscountType",
    "CommitmentDiscountUnit", "ConsumedQuantity", "ConsumedUnit", "ContractedCost",
    "ContractedUnitPrice", "EffectiveCost", "InvoiceId", "InvoiceIssuerName", "ListCost",
    "ListUnitPrice", "PricingCategory", "PricingCurrency", "PricingCurrencyContractedUnitPrice",
    "PricingCurrencyEffectiveCost", "PricingCurrencyListUnitPrice", "PricingQuantity",
    "PricingUnit", "ProviderName", "PublisherName", "RegionId", "RegionName", "ResourceId",
    "ResourceName", "ResourceType", "ServiceCategory", "ServiceName", "ServiceSubcategory",
    "SkuId", "SkuMeter", "SkuPriceDetails", "SkuPriceId", "SubAccountId", "SubAccountName",
    "SubAccountType", "Tags",
)  # fmt: skip
#: What 1.3 adds (it removes nothing; ProviderName and PublisherName stay, deprecated).
_FOCUS_1_3_ADDED: tuple[str, ...] = (
    "AllocatedMethodDetails", "AllocatedMethodId", "AllocatedResourceId",
    "AllocatedResourceName", "AllocatedTags", "ContractApplied", "HostProviderName",
    "ServiceProviderName",
)  # fmt: skip

#: FOCUS version -> its column names.
FOCUS_COLUMNS: dict[str, frozenset[str]] = {
    "1.2": frozenset(_FOCUS_1_2),
    "1.3": frozenset(_FOCUS_1_2 + _FOCUS_1_3_ADDED),
}
_ANY_FOCUS = frozenset().union(*FOCUS_COLUMNS.values())

#: FOCUS columns :func:`to_focus` adds that have no column in a cfusage frame; all are functions
#: of the other columns, so a reader of these files may drop them.
DERIVED_COLUMNS: tuple[str, ...] = (
    "ServiceCategory",
    "ServiceSubcategory",
    "ProviderName",
    "PublisherName",
    "ResourceType",
)

# Columns a FOCUS dataset must carry and never leave null ("Mandatory", "Allows nulls: False"),
# for the rules that hold for every row. The conditional rules follow in _CONDITIONAL.
_NOT_NULL_1_2 = (
    "BilledCost", "BillingAccountId", "BillingCurrency", "BillingPeriodEnd", "BillingPeriodStart",
    "ChargeCategory", "ChargeFrequency", "ChargePeriodEnd", "ChargePeriodStart", "ContractedCost",
    "EffectiveCost", "InvoiceIssuerName", "ListCost", "ProviderName", "PublisherName",
    "ServiceCategory", "ServiceName",
)  # fmt: skip
_NOT_NULL: dict[str, tuple[str, ...]] = {
    "1.2": _NOT_NULL_1_2,
    "1.3": (*_NOT_NULL_1_2, "ServiceProviderName"),
}
# (column, condition, the condition in words): the column must not be null where it holds. Only
# rules whose applicability criteria Cloudflare meets (usage measurement, unit and negotiated
# pricing, sub-accounts, regions, zones as resources).
_Condition = Literal["usage_not_correction", "usage_not_correction_only"]
_CONDITIONAL: tuple[tuple[str, _Condition, str], ...] = (  # Unused commitment rows: see below
    ("ListUnitPrice", "usage_not_correction", "on Usage/Purchase rows that are not corrections"),
    ("ContractedUnitPrice", "usage_not_correction", "on Usage/Purchase rows that are not corrections"),
    ("PricingQuantity", "usage_not_correction", "on Usage/Purchase rows that are not corrections"),
    ("SkuId", "usage_not_correction", "on Usage/Purchase rows that are not corrections"),
    ("ConsumedQuantity", "usage_not_correction_only", "on Usage rows that are not corrections or Unused commitment"),
)  # fmt: skip
# (column, the column that, when set, requires it)
_PAIRED: tuple[tuple[str, str], ...] = (
    ("PricingUnit", "PricingQuantity"),
    ("ConsumedUnit", "ConsumedQuantity"),
    ("SubAccountName", "SubAccountId"),
    ("RegionName", "RegionId"),
    ("ResourceType", "ResourceId"),
)

_SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
_DATE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def to_focus(
    data: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    version: Version = "1.2",
    strict: bool = True,
    provider: str = "Cloudflare",
    service_categories: Mapping[str, tuple[str, str]] | None = None,
) -> Path:
    """Write a typed usage frame as a FOCUS Cost and Usage dataset (CSV or Parquet).

    The format follows the path's suffix: ``.csv`` (``.csv.gz`` compressed) or ``.parquet``.
    Column names and value conventions are described in the module docstring; the file is
    written to a temporary name beside ``path`` and renamed, so a reader never sees half a file.

    Parameters
    ----------
    data : pandas.DataFrame
        A typed usage frame (:func:`cfusage.to_frame`). Missing schema columns are written as
        null; extra columns are kept. The frame is not modified.
    path : str or os.PathLike
        Where to write; parent directories must exist.
    version : {"1.2", "1.3"}, default "1.2"
        The FOCUS version whose mandatory columns are checked. Both write the same columns:
        1.3's ``ServiceProviderName``/``HostProviderName`` and the deprecated
        ``ProviderName``/``PublisherName`` are always present. 1.2 is what ``focus-validator``
        2.2 checks.
    strict : bool, default True
        When the data cannot satisfy a mandatory FOCUS column (all or some of its values null),
        raise. With ``False``, write anyway and warn, naming the columns.
    provider : str, default "Cloudflare"
        Fills null ``ServiceProviderName``, ``HostProviderName`` and ``InvoiceIssuerName``.
    service_categories : mapping of str to (str, str), optional
        Product family -> (ServiceCategory, ServiceSubcategory) entries added to (or overriding)
        :data:`SERVICE_CATEGORIES`; the pair must be on :data:`FOCUS_SERVICE_CATEGORIES`.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    cfusage.errors.MissingColumnsError
        With ``strict=True``, when a mandatory FOCUS column would be null in some or all rows
        (e.g. no costs: ``BilledCost``/``EffectiveCost``/``ListCost``/``ContractedCost`` all NA;
        no ``BillingCurrency``; no ``BillingPeriodStart``). ``columns`` names them.
    cfusage.ArgumentError
        For an unsupported ``version``, a path suffix other than ``.csv``/``.csv.gz``/
        ``.parquet``, or a ``service_categories`` value not on FOCUS's list.

    Warns
    -----
    UserWarning
        With ``strict=False``, naming the mandatory columns written with nulls.

    Examples
    --------
    >>> import pandas as pd, tempfile, pathlib
    >>> from cfusage.schema import dtypes
    >>> data = pd.DataFrame({
    ...     "billing_account_id": ["acc1"], "billing_account_name": ["Acme"],
    ...     "billing_period_start": [pd.Timestamp("2026-03-01", tz="UTC")],
    ...     "billing_period_end": [pd.Timestamp("2026-04-01", tz="UTC")],
    ...     "charge_period_start": [pd.Timestamp("2026-03-01", tz="UTC")],
    ...     "charge_period_end": [pd.Timestamp("2026-03-02", tz="UTC")],
    ...     "charge_description": ["Workers requests"],
    ...     "x_billable_metric_id": ["workers_standard_requests"],
    ...     "x_product_family_name": ["Workers"],
    ...     "consumed_quantity": [1.5e6], "consumed_unit": ["Requests"],
    ...     "pricing_quantity": [1.5], "pricing_unit": ["Million Requests"],
    ...     "list_unit_price": [0.3], "contracted_unit_price": [0.3],
    ...     "list_cost": [0.45], "contracted_cost": [0.45], "effective_cost": [0.45],
    ...     "billed_cost": [0.45], "billing_currency": ["USD"],
    ... })
    >>> data = data.astype({k: v for k, v in dtypes().items() if k in data.columns})
    >>> out = to_focus(data, pathlib.Path(tempfile.mkdtemp()) / "usage.csv")
    >>> focus = pd.read_csv(out)
    >>> focus.loc[0, ["ServiceName", "ServiceCategory", "SkuId", "ChargePeriodStart"]].tolist()
    ['Workers', 'Compute', 'workers_standard_requests', '2026-03-01T00:00:00Z']
    """
    if version not in FOCUS_COLUMNS:
        raise ArgumentError(
            f"version={version!r} is not supported; use one of {sorted(FOCUS_COLUMNS)}"
        )
    target = Path(path)
    fmt = _format_of(target)
    categories = _categories(service_categories)

    table = _focus_table(data, provider=provider, categories=categories)
    problems = _unsatisfied(table, version)
    if problems:
        message = (
            f"the data cannot satisfy {len(problems)} mandatory FOCUS {version} column(s): "
            + "; ".join(f"{name} ({why})" for name, why in problems.items())
        )
        if strict:
            raise MissingColumnsError(
                list(problems), message + ". Pass strict=False to write the file anyway."
            )
        warnings.warn(message + f"; {target.name} will not pass FOCUS validation.", stacklevel=2)

    _write_atomic(table, target, fmt)
    return target


def _format_of(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes[-1:] == [".gz"] and suffixes[-2:-1] == [".csv"]:
        return "csv"
    fmt = _SUFFIXES.get(suffixes[-1] if suffixes else "")
    if fmt is None:
        raise ArgumentError(
            f"cannot tell the FOCUS format of {str(path)!r}: use a .csv, .csv.gz or .parquet path"
        )
    return fmt


def _categories(extra: Mapping[str, tuple[str, str]] | None) -> dict[str, tuple[str, str]]:
    merged = {**SERVICE_CATEGORIES, **(extra or {})}
    bad = {
        family: value
        for family, value in merged.items()
        if not (
            isinstance(value, tuple)
            and len(value) == 2
            and value[1] in FOCUS_SERVICE_CATEGORIES.get(value[0], ())
        )
    }
    if bad:
        raise ArgumentError(
            "service_categories values must be (ServiceCategory, ServiceSubcategory) pairs from "
            f"FOCUS's lists (see cfusage.io._focus.FOCUS_SERVICE_CATEGORIES); got {bad!r}"
        )
    return {_norm(k): v for k, v in merged.items()}


def _norm(name: str) -> str:
    return " ".join(str(name).split()).casefold()


def _focus_table(
    df: pd.DataFrame, *, provider: str, categories: Mapping[str, tuple[str, str]]
) -> dict[str, pd.Series]:
    """FOCUS name -> column (typed, not yet formatted), FOCUS columns first, then ``x_`` ones."""
    n = len(df)
    known = {c.python for c in schema.COLUMNS}

    def col(c: schema.Column) -> pd.Series:
        if c.python in df.columns:
            return df[c.python]
        return pd.Series([pd.NA] * n, index=df.index, dtype="object" if c.kind == "tags" else None)

    focus: dict[str, pd.Series] = {}
    custom: dict[str, pd.Series] = {}
    for c in schema.COLUMNS:
        values = col(c)
        if c.focus in _ANY_FOCUS:
            focus[c.focus] = values
        if c.wire.startswith("x_") or c.focus not in _ANY_FOCUS:
            custom[_custom_name(c.wire)] = values

    category = _text(focus["ChargeCategory"]).fillna("Usage")
    focus["ChargeCategory"] = category
    focus["ChargeFrequency"] = _text(focus["ChargeFrequency"]).mask(
        focus["ChargeFrequency"].isna() & category.eq("Usage"), "Usage-Based"
    )
    for name in ("ServiceProviderName", "HostProviderName", "InvoiceIssuerName"):
        focus[name] = _text(focus[name]).fillna(provider)
    derived = {
        **_services(focus["ServiceName"], categories),
        "ProviderName": focus["ServiceProviderName"],
        "PublisherName": focus["ServiceProviderName"],
        "ResourceType": pd.Series("Zone", index=df.index, dtype="str").where(
            focus["ResourceId"].notna()
        ),
    }
    focus.update(derived)
    _purchases_and_commitments(df, focus, categories)

    for name in df.columns:
        if name in known or name in _COMMITMENT_COLUMNS:
            continue
        out_name = _extra_name(str(name))
        values = df[name]
        if out_name in focus:  # the frame carries its own value: it wins where set
            focus[out_name] = values.astype(object).combine_first(focus[out_name].astype(object))
        elif out_name.startswith("x_"):
            custom.setdefault(out_name, values)
        else:
            focus[out_name] = values
    return {**focus, **custom}


#: amortize_commitment's columns and their FOCUS names.
_COMMITMENT_COLUMNS = {
    "commitment_id": "CommitmentDiscountId",
    "commitment_status": "CommitmentDiscountStatus",
}
_TRANSLITERATE = str.maketrans(
    {
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
        "\u2015": "-", "\u2212": "-", "\u2018": "'", "\u2019": "'", "\u201a": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2026": "...", "\u00a0": " ",
        "\u2022": "*", "\u00d7": "x",
    }
)  # fmt: skip


def _ascii(text: str) -> str:
    """``text`` itself when ASCII, else a transliteration (see the module docstring)."""
    if text.isascii():
        return text
    plain = unicodedata.normalize("NFKD", text.translate(_TRANSLITERATE))
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch))
    return plain.encode("ascii", "replace").decode("ascii")


def _purchases_and_commitments(
    df: pd.DataFrame, focus: dict[str, pd.Series], categories: Mapping[str, tuple[str, str]]
) -> None:
    """ASCII descriptions, Purchase unit prices, commitment columns (see the module docstring)."""
    desc = focus["ChargeDescription"]
    if len(desc) and not desc.isna().all():
        text = _text(desc)
        uniques = text.dropna().unique()
        fixed = {u: _ascii(u) for u in uniques if not u.isascii()}
        if fixed:
            focus["ChargeDescription"] = text.replace(fixed)
    category = focus["ChargeCategory"]
    purchase = category.eq("Purchase").to_numpy(dtype=bool, na_value=False)
    status = (
        _text(df["commitment_status"])
        if "commitment_status" in df.columns
        else pd.Series(pd.NA, index=df.index, dtype="str")
    )
    unused = status.eq("Unused").to_numpy(dtype=bool, na_value=False)
    one = (
        purchase & focus["PricingQuantity"].isna().to_numpy() & focus["ListCost"].notna().to_numpy()
    )
    if one.any():
        mask = pd.Series(one, index=df.index)
        focus["PricingQuantity"] = focus["PricingQuantity"].astype("Float64").mask(mask, 1.0)
        focus["PricingUnit"] = _text(focus["PricingUnit"]).mask(
            mask & focus["PricingUnit"].isna(), "Commitment"
        )
        for price, cost in (
            ("ListUnitPrice", "ListCost"),
            ("ContractedUnitPrice", "ContractedCost"),
        ):
            values = focus[price].astype("Float64")
            focus[price] = values.mask(mask & values.isna(), focus[cost].astype("Float64"))
    nameless = (purchase | unused) & focus["ServiceName"].isna().to_numpy()
    if nameless.any() and "x_billable_metric_name" in df.columns:
        names = _text(df["x_billable_metric_name"])
        focus["ServiceName"] = _text(focus["ServiceName"]).mask(
            pd.Series(nameless, index=df.index), names
        )
        focus.update(_services(focus["ServiceName"], categories))
    if "commitment_id" in df.columns:
        cid = _text(df["commitment_id"])
        has = cid.notna()
        focus["CommitmentDiscountId"] = cid
        focus["CommitmentDiscountStatus"] = status.where(has)
        focus["CommitmentDiscountCategory"] = pd.Series("Spend", index=df.index, dtype="str").where(
            has
        )
        focus["CommitmentDiscountType"] = pd.Series(
            "Prepaid Commitment", index=df.index, dtype="str"
        ).where(has)
        if "amortized_commitment_cost" in df.columns:
            focus["CommitmentDiscountQuantity"] = (
                df["amortized_commitment_cost"].astype("Float64").where(has)
            )
            focus["CommitmentDiscountUnit"] = _text(focus["BillingCurrency"]).where(has)
    if unused.any():
        focus["ConsumedQuantity"] = (
            focus["ConsumedQuantity"].astype("Float64").mask(pd.Series(unused, index=df.index))
        )


def _services(family: pd.Series, categories: Mapping[str, tuple[str, str]]) -> pd.DataFrame:
    """ServiceCategory and ServiceSubcategory per row, looked up once per distinct family."""
    names = _text(family)
    uniques = names.dropna().unique()
    lookup = pd.DataFrame(
        [categories.get(_norm(f), _UNKNOWN_SERVICE) for f in uniques],
        index=pd.Index(uniques, dtype="str"),
        columns=["ServiceCategory", "ServiceSubcategory"],
    )
    out = lookup.reindex(names.to_numpy()).set_axis(family.index)
    return out.fillna(
        {"ServiceCategory": _UNKNOWN_SERVICE[0], "ServiceSubcategory": _UNKNOWN_SERVICE[1]}
    ).astype("str")


def _text(values: pd.Series) -> pd.Series:
    """Text (``str`` dtype, NA for null) from a category/str/object column."""
    return values.astype("str") if len(values) else pd.Series([], dtype="str", index=values.index)


def _custom_name(wire: str) -> str:
    return wire if wire.startswith("x_") else "x_" + wire


def _pascal(snake: str) -> str:
    if "_" not in snake and snake[:1].isupper():
        return snake
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[_\s]+", snake) if part)


def _extra_name(name: str) -> str:
    """The FOCUS-file name of an extra column: a FOCUS name, or ``x_`` + PascalCase."""
    if name[:2].lower() == "x_":
        return "x_" + _pascal(name[2:])
    pascal = _pascal(name)
    return pascal if pascal in _ANY_FOCUS else "x_" + pascal


def _unsatisfied(table: Mapping[str, pd.Series], version: str) -> dict[str, str]:
    """Mandatory FOCUS columns some of whose required values are null: name -> why."""
    n = len(next(iter(table.values()))) if table else 0
    problems: dict[str, str] = {}

    def report(name: str, missing: pd.Series, where: pd.Series | None, words: str) -> None:
        mask = missing if where is None else missing & where
        count = int(mask.sum())
        if not count:
            return
        of = n if where is None else int(where.sum())
        problems[name] = (
            f"null in all {of} rows{words}"
            if count == of
            else f"null in {count} of {of} rows{words}"
        )

    for name in _NOT_NULL[version]:
        report(name, table[name].isna(), None, "")
    category = table["ChargeCategory"]
    correction = table["ChargeClass"].astype("str").eq("Correction").fillna(False)
    usage_like = category.isin(["Usage", "Purchase"]) & ~correction
    unused = (
        table["CommitmentDiscountStatus"].astype("str").eq("Unused").fillna(False)
        if "CommitmentDiscountStatus" in table
        else False
    )
    usage_only = category.eq("Usage") & ~correction & ~unused
    for name, condition, words in _CONDITIONAL:
        where = usage_like if condition == "usage_not_correction" else usage_only
        report(name, table[name].isna(), where.astype(bool), " " + words)
    for name, trigger in _PAIRED:
        report(name, table[name].isna(), table[trigger].notna(), f" where {trigger} is set")
    return problems


def _formatted(values: pd.Series, fmt: str) -> pd.Series | pa.Array:
    """One column in its on-disk form: text/number series for CSV, an Arrow array for Parquet."""
    dtype = values.dtype
    if isinstance(dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(dtype):
        utc = (
            values.dt.tz_convert("UTC")
            if getattr(dtype, "tz", None)
            else values.dt.tz_localize("UTC")
        )
        if fmt == "csv":
            return utc.dt.strftime(_DATE_FORMAT).astype(object).where(utc.notna(), None)
        return pa.array(utc.astype("datetime64[us, UTC]"), type=pa.timestamp("us", tz="UTC"))
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        floats = values.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        if fmt == "csv":
            return pd.Series(floats, index=values.index)  # to_csv writes repr(); NaN as empty
        return pa.array(floats, type=pa.float64(), mask=np.isnan(floats))
    if pd.api.types.is_object_dtype(
        dtype
    ):  # tags, or an extra column of mixed values: cell by cell
        text = pd.Series([_cell_text(v) for v in values], index=values.index, dtype="str")
    elif pd.api.types.is_bool_dtype(dtype):
        text = values.map({True: "true", False: "false"}).astype("str")
    else:
        text = values.astype("str")
    if fmt == "csv":
        return text
    return pa.array(text, type=pa.string())


def _cell_text(v: Any) -> str | None:
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, Mapping):
        return json.dumps(dict(v), separators=(",", ":"), ensure_ascii=False, default=str)
    if isinstance(v, bool | np.bool_):
        return "true" if v else "false"
    if isinstance(v, pd.Timestamp):
        return v.tz_convert("UTC").strftime(_DATE_FORMAT) if v.tzinfo else v.strftime(_DATE_FORMAT)
    return str(v)


def _write_atomic(table: Mapping[str, pd.Series], target: Path, fmt: str) -> None:
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if fmt == "csv":
            frame = pd.DataFrame({k: _formatted(v, fmt) for k, v in table.items()})
            compression = "gzip" if target.suffix.lower() == ".gz" else None
            frame.to_csv(
                tmp, index=False, na_rep="", lineterminator="\n", encoding="utf-8",
                compression=compression,
            )  # fmt: skip
        else:
            arrays = {k: _formatted(v.reset_index(drop=True), fmt) for k, v in table.items()}
            pq.write_table(pa.table(arrays), tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
