"""``make demo``: the whole path on the sample organization, with no credentials.

Starts the local sample API server on a free loopback port, fetches the whole sample range through
:class:`cfusage.Client` (windows, concurrency, retries: the code path a real organization takes),
stops the server, prints a summary, the discount summary and the reported month's change by
product, and writes ``report.html`` (with the sample's commitments, :data:`COMMITMENTS`, so
that its Commitment section shows the prepaid balance). The month is the report's (:func:`cfusage.build_report`): the
last complete month of the data (the data's own last month when it ends on a month end, else the
month before the partial one), so what the demo prints and what the report shows agree.

Run: ``python -m cfusage.sample.demo [--out report.html] [--month YYYY-MM]``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ..analysis import period_over_period, savings_summary
from ..fetch import Client
from ..io import summary
from ..viz import build_report
from ._generate import COMMITMENTS
from ._server import SampleServer


def fetch_sample(*, progress: bool = True) -> pd.DataFrame:
    """The sample organization's whole range, fetched through the client from the sample server.

    Examples
    --------
    >>> df = fetch_sample(progress=False)  # doctest: +SKIP
    """
    with SampleServer(port=0) as server:
        client = Client(
            base_url=server.base_url,
            token="sample-token",
            organization_id=server.org_id,
            cache=False,
            progress=progress,
        )
        with client:
            return client.usage(server.first_day, server.last_day)


def _money(x: float) -> str:
    return f"{x:>14,.2f}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cfusage.demo", description=__doc__)
    parser.add_argument("--out", default="report.html", help="where to write the HTML report")
    parser.add_argument(
        "--month", metavar="YYYY-MM", help="the month to report (default: the last complete one)"
    )
    args = parser.parse_args(argv)

    print("Fetching the sample organization from the local sample API server...")
    df = fetch_sample()
    print()
    print(summary(df))

    print("\nDiscounts and savings (Usage rows; Purchase rows left out):")
    for row in savings_summary(df).itertuples():
        print(f"  {'list cost':<22}{row.billing_currency} {_money(row.list_cost)}")
        print(
            f"  {'negotiated savings':<22}{row.billing_currency} {_money(row.negotiated_savings)}"
        )
        print(
            f"  {'commitment savings':<22}{row.billing_currency} {_money(row.commitment_savings)}"
        )
        print(f"  {'effective cost':<22}{row.billing_currency} {_money(row.effective_cost)}")
        print(f"  ESR over list {row.esr_over_list:.1%}, over contract {row.esr_over_contract:.1%}")
    purchases = df.loc[df["charge_category"].astype("str") == "Purchase", "list_cost"].sum()
    if purchases:
        print(
            f"  The summary's list_cost above is higher by {_money(purchases).strip()}: the"
            " commitment purchase,\n  a Purchase row, which savings leave out (FOCUS: its"
            " effective cost is 0)."
        )
        print(
            "  Commitment savings are 0 because the commitment is a prepaid balance drawn down at"
            "\n  contracted prices, not a discount below them: what it is worth is in the report's"
            "\n  Commitment section (balance left, projected unused)."
        )

    report = build_report(df, month=args.month, commitments=COMMITMENTS)
    month = pd.Timestamp(report.headline.last_month, tz="UTC")  # the month the report describes
    print(f"\nEffective cost, {month:%B %Y} against the month before, by product family:")
    pop = period_over_period(df, freq="MS", by="product")
    last = pop.loc[pop["period"] == month].sort_values("change", key=abs, ascending=False)
    for row in last.head(8).itertuples():
        rel = "new" if pd.isna(row.relative_change) else f"{row.relative_change:+.1%}"
        print(
            f"  {row.x_product_family_name!s:<20} {_money(row.previous)} -> {_money(row.current)}"
            f"  ({row.change:+,.2f}, {rel})"
        )

    path = report.save(Path(args.out))
    print(f"\nReport of {month:%B %Y} written to {path.resolve()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
