"""df.cfusage returns exactly what the plain functions return."""

from __future__ import annotations

import importlib
import inspect
import warnings

import pandas as pd
import pytest

import cfusage
import cfusage.accessor
from cfusage.analysis import _variance as variance

# `cfusage.anomalies` is the function; the module of the same name is fetched explicitly.
anomalies_mod = importlib.import_module("cfusage.analysis._anomalies")


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    cfsample = pytest.importorskip("cfusage.sample")
    return cfsample.load()


@pytest.mark.parametrize(
    ("method", "func", "kwargs"),
    [
        ("period_over_period", variance.period_over_period, {"by": "product"}),
        (
            "price_volume_mix",
            variance.price_volume_mix,
            {"base": "2026-05", "current": "2026-06", "by": "product"},
        ),
        ("budget_variance", variance.budget_variance, {"budget": 50_000.0, "as_of": "2026-04-10"}),
        ("budget_status", variance.budget_status, {"budget": 50_000.0}),
        ("top_movers", variance.top_movers, {"base": "2026-05", "current": "2026-06", "n": 5}),
        ("anomalies", anomalies_mod.anomalies, {"by": ["metric", "account"]}),
    ],
)
def test_accessor_returns_what_the_function_returns(sample, method, func, kwargs):
    got = getattr(sample.cfusage, method)(**kwargs)
    expected = func(sample, **kwargs)
    pd.testing.assert_frame_equal(got, expected)


@pytest.mark.parametrize(
    ("method", "kwargs"),
    [("discounts", {"by": "product"}), ("amortize", {}), ("reconcile", {})],
)
def test_accessor_forwards_to_other_helpers(sample, method, kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = getattr(sample.cfusage, method)(**kwargs)
        expected = getattr(cfusage, method)(sample, **kwargs)
    pd.testing.assert_frame_equal(got, expected)


def test_accessor_methods_show_the_function_signature_and_docstring(sample):
    bound = sample.cfusage.price_volume_mix
    params = list(inspect.signature(bound).parameters)
    assert params[:2] == ["base", "current"]  # the frame is already given
    assert bound.func is cfusage.price_volume_mix
    assert bound.__doc__ == cfusage.price_volume_mix.__doc__
    assert "period_over_period" in dir(sample.cfusage)


def test_accessor_does_not_mutate_the_frame(sample):
    df = sample.head(3000)
    before = df.copy()
    df.cfusage.anomalies(by="product")
    df.cfusage.period_over_period(by="account")
    pd.testing.assert_frame_equal(df, before)


def test_plot_namespace_offers_only_the_charts_that_draw_a_usage_frame(sample):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n in dir(sample.cfusage.plot) if not n.startswith("_")]
    assert names == sorted(cfusage.accessor.USAGE_PLOTS)
    frame = sample[sample["charge_period_start"] >= "2026-10-01"]
    for name in names:
        fig, ax = plt.subplots()
        assert getattr(frame.cfusage.plot, name)(ax=ax) is ax
        plt.close(fig)
    with pytest.raises(AttributeError):
        _ = sample.cfusage.plot.variance_bridge  # draws a helper's result, not a frame
