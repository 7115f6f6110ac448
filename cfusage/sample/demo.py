"""``make demo``: the whole path on the sample organization, with no credentials.

Starts the local sample API server on a free loopback port, fetches the whole sample range through
:class:`cfusage.Client` (windows, concurrency, retries: the code path a real organization takes),
stops the server, prints a summary, the discount summary and last month's variance, and writes
``report.html``.

Run: ``python -m cfusage.demo [--out report.html]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ..analysis import period_over_period, savings_summary
from ..fetch import Client
from ..io import summary
from ..viz import write_report
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


def last_full_month(df: pd.DataFrame) -> pd.Timestamp:
    """Start of the last calendar month that the data covers in full."""
    complete = df.attrs.get("cfusage", {}).get("complete_through")
    last = pd.Timestamp(complete or df["charge_period_start"].max().date())
    month = last.to_period("M")
    if (last + dt.timedelta(days=1)).to_period("M") == month:  # the month is not over
        month -= 1
    return month.start_time.tz_localize("UTC")


def _money(x: float) -> str:
    return f"{x:>14,.2f}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cfusage.demo", description=__doc__)
    parser.add_argument("--out", default="report.html", help="where to write the HTML report")
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

    month = last_full_month(df)
    print(f"\nEffective cost, {month:%B %Y} against the month before, by product family:")
    pop = period_over_period(df, freq="MS", by="product")
    last = pop.loc[pop["period"] == month].sort_values("change", key=abs, ascending=False)
    for row in last.head(8).itertuples():
        rel = "new" if pd.isna(row.relative_change) else f"{row.relative_change:+.1%}"
        print(
            f"  {row.x_product_family_name!s:<20} {_money(row.previous)} -> {_money(row.current)}"
            f"  ({row.change:+,.2f}, {rel})"
        )

    path = write_report(df, Path(args.out))
    print(f"\nReport written to {path.resolve()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
