"""The column table: the single source of truth for every usage-record field.

Each :class:`Column` names a field four ways (the API's wire name, the python name used in frames
and by the official SDK, the FOCUS 1.x column it corresponds to, and its pandas dtype) and says
whether it may be null and what it means. The loader (:func:`cfusage.to_frame`), validation
(:func:`cfusage.validate`), the FOCUS export (:func:`cfusage.to_focus`) and the README's column
table are all derived from :data:`COLUMNS`; nothing else lists columns by hand.

Schema revisions
----------------
Three revisions of the record have been published (see ``shared/reference/cloudflare-api.md``).
cfusage reads all three and names them:

``A``
    The first alpha: ``BillingAccountId`` and ``ConsumedQuantity`` required, ``x_BillableMetricId``
    optional, no ``x_ProductFamilyId`` / ``x_ProductCategoryName``; the ``metric`` query parameter
    exists.
``B``
    Adds ``x_ProductFamilyId`` and ``x_ProductCategoryName``; ``x_BillableMetricId`` becomes
    required; ``metric`` still exists.
``C``
    The newest: ``BillingAccountId`` and ``ConsumedQuantity`` become optional (contract-level usage
    has no account), the ``metric`` parameter is gone, and the organization endpoint serves usage
    only (rated costs come from the account-level POST with ``Metric: cost``).

Examples
--------
>>> from cfusage.schema import column
>>> column("ListCost").python, column("list_cost").focus, column("list_cost").dtype
('list_cost', 'ListCost', 'Float64')
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "COLUMNS",
    "DATETIME",
    "DIMENSIONS",
    "FREQS",
    "KEY",
    "MONEY",
    "QUANTITY",
    "REQUIRED",
    "REVISIONS",
    "Column",
    "column",
    "dtypes",
    "python_name",
]

Kind = Literal["datetime", "money", "quantity", "price", "category", "id", "text", "tags"]

#: The pandas dtype of each kind of column.
_DTYPE: dict[str, str] = {
    "datetime": "datetime64[us, UTC]",
    "money": "Float64",
    "quantity": "Float64",
    "price": "Float64",
    "category": "category",
    # Ids repeat on every row (a few hundred distinct values in millions of rows): dictionary-encoded.
    "id": "category",
    "text": "str",
    "tags": "object",
}

REVISIONS = ("A", "B", "C")


Providers = Literal["every", "cloudflare", "publishing"]


@dataclass(frozen=True, slots=True)
class Requirement:
    """Rows on which a column must not be null (FOCUS's conditional nullability).

    A row is covered when all three conditions hold; a covered row whose value is null cannot be
    used: :func:`cfusage.to_frame` rejects it and :func:`cfusage.validate` reports an error.

    Attributes
    ----------
    categories : tuple of str
        The ChargeCategory values covered; empty means every row. A row with no ChargeCategory
        counts as ``Usage`` (Cloudflare's records are usage).
    corrections : bool
        Whether rows with ChargeClass ``Correction`` are covered too.
    providers : {"every", "cloudflare", "publishing"}
        Whose rows are covered: every row; Cloudflare's rows (ServiceProviderName, or ProviderName
        in FOCUS 1.0-1.2, is ``Cloudflare``; records that come in the API's shapes and name no
        provider are Cloudflare's); or the rows of a provider that publishes this column (FOCUS:
        "MUST be present when the provider publishes price lists"), i.e. at least one row of that
        provider in the data carries a value. A file without the column at all covers no row.
    """

    categories: tuple[str, ...] = ()
    corrections: bool = True
    providers: Providers = "every"

    def describe(self) -> str:
        """The rule in a few words, for error messages and the README."""
        rows = " or ".join(self.categories) + " rows" if self.categories else "every row"
        if not self.corrections:
            rows += " that are not corrections"
        who = {
            "every": "",
            "cloudflare": " of Cloudflare",
            "publishing": " of a provider that publishes it",
        }[self.providers]
        return f"required on {rows}{who}"


@dataclass(frozen=True, slots=True)
class Column:
    """One field of a usage record.

    Attributes
    ----------
    wire : str
        Name on the wire (FOCUS PascalCase; Cloudflare's own fields carry ``x_``).
    python : str
        Name in cfusage frames and in the official SDK (snake_case).
    focus : str or None
        The FOCUS 1.x column it corresponds to (``ServiceName`` for ``x_ProductFamilyName``);
        ``None`` for Cloudflare-only fields with no FOCUS counterpart.
    kind : str
        ``datetime``, ``money``, ``quantity``, ``price``, ``category``, ``id``, ``text`` or
        ``tags``; it decides the dtype and the checks.
    nullable : bool
        Whether a record may lack it (in the newest revision).
    meaning : str
        One line for people.
    values : tuple of str
        For enumerations, the allowed values in their canonical spelling.
    revisions : str
        The schema revisions that carry it.
    required : tuple of Requirement
        Rows on which a null cannot be used (any rule that covers the row applies). This is the
        one source of the loader's and :func:`cfusage.validate`'s "required field" errors.
    null_for : tuple of str
        ChargeCategory values on which FOCUS says the column MUST be null (``SkuId`` on Tax); a
        value there is a :func:`cfusage.validate` warning, never a lost row.
    aliases : tuple of str
        Other names a file may use for it (``ProviderName``, FOCUS 1.0-1.2, for
        ``ServiceProviderName``); the column's own name wins where both are present.
    """

    wire: str
    python: str
    focus: str | None
    kind: Kind
    nullable: bool
    meaning: str
    values: tuple[str, ...] = ()
    revisions: str = "ABC"
    required: tuple[Requirement, ...] = ()
    null_for: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()

    @property
    def dtype(self) -> str:
        """The pandas dtype of the column in a typed frame."""
        return _DTYPE[self.kind]

    @property
    def null_rule(self) -> str:
        """Where the column may be null, in words (the README table's ``nullable`` cell)."""
        if not self.nullable:
            return "no"
        if not self.required and not self.null_for:
            return "yes"
        parts = [r.describe() for r in self.required]
        if self.null_for:
            parts.append("null on " + " or ".join(self.null_for) + " rows")
        return "yes, but " + "; ".join(parts)


def _c(
    wire: str,
    focus: str | None,
    kind: Kind,
    nullable: bool,
    meaning: str,
    values: tuple[str, ...] = (),
    revisions: str = "ABC",
    *,
    required: tuple[Requirement, ...] = (),
    null_for: tuple[str, ...] = (),
    aliases: tuple[str, ...] = (),
) -> Column:
    if not nullable:
        required = (*required, _ALWAYS)
    return Column(
        wire,
        python_name(wire),
        focus,
        kind,
        nullable,
        meaning,
        values,
        revisions,
        required,
        null_for,
        aliases,
    )


_ALWAYS = Requirement()


def python_name(name: str) -> str:
    """The python (snake_case) spelling of a wire or FOCUS name.

    Parameters
    ----------
    name : str
        A PascalCase or ``x_``-prefixed name, or one already in snake_case.

    Returns
    -------
    str

    Examples
    --------
    >>> python_name("x_BillableMetricId"), python_name("ChargePeriodStart"), python_name("tags")
    ('x_billable_metric_id', 'charge_period_start', 'tags')
    """
    prefix = ""
    if name[:2] in ("x_", "X_"):
        prefix, name = "x_", name[2:]
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name.strip())
    s = re.sub(r"[^0-9A-Za-z]+", "_", s).strip("_").lower()
    return prefix + (s or "column")


_CHARGE_CATEGORIES = ("Usage", "Purchase", "Tax", "Credit", "Adjustment")
_CHARGE_FREQUENCIES = ("One-Time", "Recurring", "Usage-Based")

#: Every field of the three published revisions, plus ``Tags``, in the API's documented order.
COLUMNS: tuple[Column, ...] = (
    _c(
        "BillingAccountId",
        "BillingAccountId",
        "id",
        True,
        "Cloudflare account tag billed for the usage; absent for contract-level usage (revision C).",
    ),
    _c("BillingAccountName", "BillingAccountName", "category", True, "Name of the billed account."),
    _c(
        "SubAccountId",
        "SubAccountId",
        "id",
        True,
        "The subscription or contract the usage falls under (not a child account).",
    ),
    _c(
        "SubAccountName",
        "SubAccountName",
        "category",
        True,
        "Name of the subscription or contract.",
    ),
    _c(
        "BillingPeriodStart",
        "BillingPeriodStart",
        "datetime",
        True,
        "Start (inclusive) of the billing cycle holding the row.",
    ),
    _c(
        "BillingPeriodEnd",
        "BillingPeriodEnd",
        "datetime",
        True,
        "End (exclusive) of the billing cycle holding the row.",
    ),
    _c(
        "ChargePeriodStart",
        "ChargePeriodStart",
        "datetime",
        False,
        "Start (inclusive) of when the usage happened; daily rows start at 00:00Z.",
    ),
    _c(
        "ChargePeriodEnd",
        "ChargePeriodEnd",
        "datetime",
        False,
        "End (exclusive) of when the usage happened.",
    ),
    _c(
        "ChargeCategory",
        "ChargeCategory",
        "category",
        True,
        "Usage, Purchase, Tax, Credit or Adjustment (Cloudflare sends Usage).",
        _CHARGE_CATEGORIES,
    ),
    _c(
        "ChargeClass",
        "ChargeClass",
        "category",
        True,
        "'Correction' for a row correcting an earlier billing period, else null.",
        ("Correction",),
    ),
    _c(
        "ChargeFrequency",
        "ChargeFrequency",
        "category",
        True,
        "One-Time, Recurring or Usage-Based.",
        _CHARGE_FREQUENCIES,
    ),
    _c(
        "ChargeDescription",
        "ChargeDescription",
        "category",
        True,
        "Human description of the charge.",
    ),
    _c(
        "x_BillableMetricId",
        "SkuId",
        "id",
        True,
        "Cloudflare billable metric id (workers_standard_requests); FOCUS SkuId.",
        required=(
            # FOCUS SkuId: MUST NOT be null for Usage and Purchase that are not corrections, when
            # the provider publishes price lists; MAY be null otherwise (Credit, corrections).
            Requirement(("Usage", "Purchase"), corrections=False, providers="publishing"),
            # A Cloudflare record is identified by its metric: every one carries it.
            Requirement(providers="cloudflare"),
        ),
        null_for=("Tax",),
    ),
    _c(
        "x_BillableMetricName",
        "SkuMeter",
        "category",
        True,
        "Billable metric name; FOCUS SkuMeter.",
    ),
    _c(
        "x_ProductFamilyId",
        "ServiceId",
        "id",
        True,
        "Product family id; FOCUS ServiceId.",
        revisions="BC",
    ),
    _c(
        "x_ProductFamilyName",
        "ServiceName",
        "category",
        True,
        "Product family (Workers, R2, Stream); FOCUS ServiceName.",
    ),
    _c(
        "x_ProductCategoryName",
        None,
        "category",
        True,
        "Cloudflare product category (Developer, Cloudflare One); closest to FOCUS ServiceCategory, which is a fixed list.",
        revisions="BC",
    ),
    _c(
        "ConsumedQuantity",
        "ConsumedQuantity",
        "quantity",
        True,
        "Raw metered amount in ConsumedUnit, free tier included.",
    ),
    _c(
        "ConsumedUnit",
        "ConsumedUnit",
        "category",
        True,
        "Unit of ConsumedQuantity (Requests, GB-months, vCPU-Hours, Neurons).",
    ),
    _c(
        "PricingQuantity",
        "PricingQuantity",
        "quantity",
        True,
        "Quantity in the unit prices are quoted in, after block pricing.",
        null_for=("Tax",),
    ),
    _c(
        "PricingUnit",
        "PricingUnit",
        "category",
        True,
        "Unit of PricingQuantity and of the unit prices.",
    ),
    _c(
        "ListUnitPrice",
        "ListUnitPrice",
        "price",
        True,
        "Public price of one PricingUnit, before discounts.",
    ),
    _c("ListCost", "ListCost", "money", True, "ListUnitPrice x PricingQuantity."),
    _c(
        "ContractedUnitPrice",
        "ContractedUnitPrice",
        "price",
        True,
        "Negotiated price of one PricingUnit.",
    ),
    _c("ContractedCost", "ContractedCost", "money", True, "ContractedUnitPrice x PricingQuantity."),
    _c(
        "EffectiveCost",
        "EffectiveCost",
        "money",
        True,
        "Amortized cost after all discounts, with the share of prepaid purchases.",
    ),
    _c(
        "BilledCost",
        "BilledCost",
        "money",
        True,
        "What the invoice charges for the row (cash basis, no amortization).",
    ),
    _c(
        "BillingCurrency",
        "BillingCurrency",
        "category",
        True,
        "ISO 4217 currency of every cost column.",
    ),
    _c(
        "HostProviderName",
        "HostProviderName",
        "category",
        True,
        "Who hosts the resource (Cloudflare).",
    ),
    _c(
        "InvoiceIssuerName",
        "InvoiceIssuerName",
        "category",
        True,
        "Who issues the invoice (Cloudflare).",
    ),
    _c(
        "ServiceProviderName",
        "ServiceProviderName",
        "category",
        True,
        "Who provides the service (Cloudflare); FOCUS 1.0-1.2 ProviderName.",
        aliases=("ProviderName",),
    ),
    _c("RegionId", "RegionId", "category", True, "Region id (EEUR)."),
    _c("RegionName", "RegionName", "category", True, "Region name (Eastern Europe)."),
    _c(
        "x_ZoneId",
        "ResourceId",
        "id",
        True,
        "Zone id; null for account-level metrics and contract-level usage. Closest to FOCUS ResourceId.",
    ),
    _c(
        "x_ZoneName",
        "ResourceName",
        "category",
        True,
        "Zone name (example.com). Closest to FOCUS ResourceName.",
    ),
    _c(
        "Tags",
        "Tags",
        "tags",
        True,
        "Tags as a dict of str to str or True (only when grouping by tags).",
    ),
)

_BY_NAME: dict[str, Column] = {}
for _col in COLUMNS:
    _BY_NAME[_col.wire] = _col
    _BY_NAME[_col.python] = _col
del _col


def column(name: str) -> Column:
    """Look a column up by its wire or python name.

    Raises
    ------
    KeyError
        If no column has that name.

    Examples
    --------
    >>> column("x_ZoneId").python
    'x_zone_id'
    """
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"no usage column is named {name!r}") from None


def dtypes() -> dict[str, str]:
    """Python name → pandas dtype, for every column of a typed frame.

    Examples
    --------
    >>> dtypes()["charge_period_start"]
    'datetime64[us, UTC]'
    """
    return {c.python: c.dtype for c in COLUMNS}


def _names(*kinds: str) -> tuple[str, ...]:
    return tuple(c.python for c in COLUMNS if c.kind in kinds)


#: Datetime columns (tz-aware UTC).
DATETIME = _names("datetime")
#: Cost columns, in the currency of ``billing_currency``.
MONEY = _names("money")
#: Quantity columns.
QUANTITY = _names("quantity")
#: Fields a usable record cannot lack, whatever the row (conditional requirements are in each
#: column's ``required``).
REQUIRED = tuple(c.python for c in COLUMNS if not c.nullable)
#: The fields that identify a record: two records with equal keys describe the same charge, and the
#: later one (a revised day) supersedes the earlier one.
KEY = (
    "billing_account_id",
    "sub_account_id",
    "x_billable_metric_id",
    "x_zone_id",
    "region_id",
    "charge_category",
    "charge_class",
    "charge_period_start",
    "charge_period_end",
)


def markdown_table() -> str:
    """The column table as Markdown: the README's column table is this text (a test checks it).

    Examples
    --------
    >>> markdown_table().splitlines()[0]
    '| wire name | python name | FOCUS | dtype | nullable | revisions | meaning |'
    """
    lines = [
        "| wire name | python name | FOCUS | dtype | nullable | revisions | meaning |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in COLUMNS:
        lines.append(
            f"| `{c.wire}` | `{c.python}` | {c.focus or '-'} | `{c.dtype}` | "
            f"{c.null_rule} | {c.revisions} | {c.meaning} |"
        )
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------
# The helpers' shared vocabulary: ``by=`` dimensions and ``freq=`` grains

#: Friendly names for dimensions; any column name of the frame works as well.
DIMENSIONS: dict[str, str] = {
    "account": "billing_account_name",
    "account_id": "billing_account_id",
    "sub_account": "sub_account_name",
    "product": "x_product_family_name",
    "product_family": "x_product_family_name",
    "category": "x_product_category_name",
    "metric": "x_billable_metric_name",
    "metric_id": "x_billable_metric_id",
    "zone": "x_zone_name",
    "region": "region_name",
    "currency": "billing_currency",
    "charge_category": "charge_category",
    # Multi-cloud: who provides the service (ServiceProviderName, or ProviderName in FOCUS 1.0-1.2)
    # and which service it is (ServiceName; Cloudflare's product family).
    "provider": "service_provider_name",
    "service": "x_product_family_name",
}

#: Grain aliases → canonical grain. ``billing_period`` groups on ``billing_period_start``.
FREQS: dict[str, str] = {
    "D": "D",
    "day": "D",
    "daily": "D",
    "W": "W",
    "week": "W",
    "weekly": "W",
    "MS": "MS",
    "M": "MS",
    "ME": "MS",
    "month": "MS",
    "monthly": "MS",
    "QS": "QS",
    "Q": "QS",
    "QE": "QS",
    "quarter": "QS",
    "quarterly": "QS",
    "billing_period": "billing_period",
}
