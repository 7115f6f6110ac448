"""df.cfusage returns exactly what the plain functions return."""

from __future__ import annotations

import importlib
import inspect
import warnings

import pandas as pd
import pytest

import cfusage.accessor
from cfusage.analysis import _variance as variance

# `cfusage.anomalies` is the function; the module of the same name is fetched explicitly.
anomalies_mod = importlib.import_module("cfusage.analysis._anomalies")


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    cfsample = pytest.importorskip("cfusage.sample")
    return cfsample.load()


@pytest.mark.parametrize(
    ("method", "func", "args", "kwargs"),
    [
        ("period_over_period", variance.period_over_period, (), {"by": "product"}),
        ("price_volume_mix", variance.price_volume_mix, ("2026-05", "2026-06"), {"by": "product"}),
        ("budget_variance", variance.budget_variance, (50_000.0,), {"as_of": "2026-04-10"}),
        ("budget_status", variance.budget_status, (50_000.0,), {}),
        ("top_movers", variance.top_movers, ("2026-05", "2026-06"), {"n": 5}),
        ("anomalies", anomalies_mod.anomalies, (), {"by": ["metric", "account"]}),
    ],
)
def test_accessor_returns_what_the_function_returns(sample, method, func, args, kwargs):
    got = getattr(sample.cfusage, method)(*args, **kwargs)
    expected = func(sample, *args, **kwargs)
    pd.testing.assert_frame_equal(got, expected)


@pytest.mark.parametrize(
    ("module", "method", "kwargs"),
    [
        ("discounts", "discounts", {"by": "product"}),
        ("amortization", "amortize", {}),
        ("amortization", "reconcile", {}),
    ],
)
def test_accessor_forwards_to_other_helpers(sample, module, method, kwargs):
    mod = pytest.importorskip(f"cfusage.{module}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = getattr(sample.cfusage, method)(**kwargs)
        expected = getattr(mod, method)(sample, **kwargs)
    pd.testing.assert_frame_equal(got, expected)


def test_accessor_methods_show_the_function_signature_and_docstring(sample):
    bound = sample.cfusage.price_volume_mix
    params = list(inspect.signature(bound).parameters)
    assert params[:2] == ["base", "current"]  # the frame is already given
    assert "calls :func:`cfusage.analysis._variance.price_volume_mix`" in bound.__doc__
    assert variance.price_volume_mix.__doc__.splitlines()[0] in bound.__doc__
    assert "period_over_period" in dir(sample.cfusage)


def test_accessor_does_not_mutate_the_frame(sample):
    df = sample.head(3000)
    before = df.copy()
    df.cfusage.anomalies(by="product")
    df.cfusage.period_over_period(by="account")
    pd.testing.assert_frame_equal(df, before)


def test_missing_helper_module_is_a_clear_attribute_error(monkeypatch):
    monkeypatch.setattr(
        cfusage.accessor.CfusageAccessor,
        "nothing",
        cfusage.accessor._Forward("no_such_module", name="nothing"),
        raising=False,
    )
    df = pd.DataFrame({"a": [1]})
    with pytest.raises(AttributeError, match=r"cfusage\.no_such_module"):
        df.cfusage.nothing()


def test_plot_namespace_forwards_frame_first(monkeypatch):
    plots = pytest.importorskip("cfusage.plots")

    def fake(df: pd.DataFrame, by: str | None = None, ax: object = None) -> tuple:
        """A stand-in plotting function."""
        return df, by, ax

    monkeypatch.setattr(plots, "fake_plot", fake, raising=False)
    monkeypatch.setattr(plots, "__all__", [*plots.__all__, "fake_plot"])
    df = pd.DataFrame({"a": [1]})
    got = df.cfusage.plot.fake_plot(by="product")
    assert got[0] is df and got[1] == "product"
    assert "fake_plot" in dir(df.cfusage.plot)
    assert "color_for" not in dir(df.cfusage.plot)  # not a frame-first function
    with pytest.raises(AttributeError, match="no plotting function"):
        df.cfusage.plot.not_a_plot()
