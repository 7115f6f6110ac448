"""cfusage.sample.large_store: the generated large organization (notebook 07, the benchmark).

Expectations by hand: rows = accounts x 100 metrics x days; the store is one the Store reads and
verifies; an account's rows depend only on the seed and the account (a smaller store is a slice of
a larger one); list cost = list unit price x pricing quantity; about 0.1 % of rows unrated.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import cfusage
from cfusage.errors import ArgumentError
from tests.engines import assert_same


@pytest.fixture(scope="module")
def two(tmp_path_factory) -> cfusage.Store:
    return cfusage.Store(
        cfusage.sample.large_store(tmp_path_factory.mktemp("o") / "two", accounts=2, days=59)
    )


def test_the_store_holds_accounts_x_metrics_x_days_and_verifies(two):
    df = two.read()
    assert len(df) == 2 * 100 * 59
    assert two.verify().ok
    assert df["billing_account_id"].nunique() == 2 and df["x_billable_metric_id"].nunique() == 100
    assert str(two.complete_through) == "2025-02-28"
    usage = df.dropna(subset=["list_cost"])
    np.testing.assert_allclose(
        usage["list_cost"].to_numpy(float),
        (usage["list_unit_price"] * usage["pricing_quantity"]).to_numpy(float),
        rtol=1e-12,
    )
    unrated = df["effective_cost"].isna()
    assert 0 < unrated.sum() < len(df) * 0.005
    assert df.loc[unrated, ["list_cost", "contracted_cost", "billed_cost"]].isna().all().all()


def test_a_smaller_store_is_a_slice_of_a_larger_one(two, tmp_path):
    one = cfusage.Store(cfusage.sample.large_store(tmp_path / "one", accounts=1, days=59)).read()
    both = two.read()
    first = both[both["billing_account_id"] == one["billing_account_id"].iloc[0]]
    keys = ["charge_period_start", "x_billable_metric_id"]
    pd.testing.assert_frame_equal(
        one.sort_values(keys, ignore_index=True).astype(str),
        first.sort_values(keys, ignore_index=True).astype(str),
    )


def test_an_existing_store_is_reused_and_bad_sizes_are_refused(two, tmp_path):
    assert cfusage.sample.large_store(two.path, accounts=2, days=59) == two.path
    with pytest.raises(ArgumentError, match="accounts must be >= 1"):
        cfusage.sample.large_store(tmp_path / "none", accounts=0)


def test_the_scan_gives_the_stores_figures(two):
    want = cfusage.discounts(two.read(), by="product")
    assert_same(cfusage.discounts(two.scan("duckdb"), by="product"), want, "duckdb")
