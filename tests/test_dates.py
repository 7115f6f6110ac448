"""One date rule everywhere: any date-like → the UTC day it falls on (cfusage.utc_day)."""

from __future__ import annotations

import datetime as dt
import warnings

import pandas as pd
import pytest

import cfusage
from cfusage.fetch import _client, _store
from cfusage.sample import _generate

OFFSET = "2026-03-01T23:00-05:00"  # 04:00 UTC on 2 March
MARCH_2 = dt.date(2026, 3, 2)


@pytest.mark.parametrize(
    "value",
    [
        OFFSET,
        pd.Timestamp(OFFSET),
        pd.Timestamp(OFFSET).to_pydatetime(),
        "2026-03-02",
        dt.date(2026, 3, 2),
        dt.datetime(2026, 3, 2, 4, 0),  # naive: taken as UTC
        " 2026-03-02T00:00:00Z ",
    ],
)
def test_every_date_like_is_its_utc_day(value):
    assert cfusage.utc_day(value) == MARCH_2


@pytest.mark.parametrize("value", ["not a day", "2026-13-01", None, pd.NaT, 20260302])
def test_what_is_not_a_day_is_an_argument_error_naming_it(value):
    with pytest.raises(cfusage.ArgumentError, match="start="):
        cfusage.utc_day(value, "start")  # type: ignore[arg-type]


def test_client_store_sample_variance_and_report_read_the_offset_alike():
    assert _client._range(OFFSET, OFFSET) == (MARCH_2, MARCH_2)
    assert _store._range(OFFSET, OFFSET) == (MARCH_2, MARCH_2)
    days = {r["ChargePeriodStart"][:10] for r in _generate.generate_records(OFFSET, "2026-03-04")}
    assert min(days) == "2026-03-02"
    df = cfusage.sample.load()
    march = df[
        (df["charge_period_start"] >= "2026-02-01") & (df["charge_period_start"] < "2026-04-01")
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pop = cfusage.period_over_period(march, as_of=OFFSET)
        report = cfusage.build_report(df, as_of=OFFSET)
    assert pop.attrs["cfusage"]["complete_through"] == MARCH_2
    assert report.headline.as_of == MARCH_2
