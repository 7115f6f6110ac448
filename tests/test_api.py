"""Every public helper reads alike: ``helper(data, *, by=None, freq="MS", value=..., ...)``.

Walks ``cfusage.__all__`` (and the charts of ``cfusage.plots``) and checks the one signature style:
the data first, everything after it keyword-only, one name per concept, one default per concept.
"""

from __future__ import annotations

import inspect

import pytest

import cfusage
from cfusage import plots

#: The one default grain, wherever a helper chooses one.
FREQ_DEFAULT = "MS"
#: Helpers whose grain default differs, and why (written down, checked here).
FREQ_EXCEPTIONS = {
    # anomalies score a daily series against its trailing window: the grain is the series'
    "anomalies": "D",
    # unit prices need no period unless one is asked for
    "unit_price_discounts": None,
    # the explorer's first view is weekly by design (a year of daily bars is unreadable)
    "explore": "W",
}
#: Writers take the destination as their second positional argument, like DataFrame.to_csv.
WRITERS = {"to_focus": "path", "write_report": "path"}
#: Names retired in favour of one name per concept.
RETIRED = {"df": "data", "complete_through": "as_of", "result": "data"}


def _helpers() -> list[tuple[str, object]]:
    out = []
    for name in cfusage.__all__:
        obj = getattr(cfusage, name)
        if inspect.isfunction(obj):
            params = list(inspect.signature(obj).parameters.values())
            if params and params[0].name == "data":
                out.append((name, obj))
    return out


HELPERS = _helpers()


def test_the_frame_helpers_are_found():
    names = {n for n, _ in HELPERS}
    assert {"discounts", "period_over_period", "price_volume_mix", "anomalies", "amortize"} <= names
    assert {"to_frame", "validate", "summary", "to_focus", "write_report"} <= names


@pytest.mark.parametrize(("name", "func"), HELPERS, ids=[n for n, _ in HELPERS])
def test_everything_after_the_data_is_keyword_only(name, func):
    params = list(inspect.signature(func).parameters.values())[1:]
    positional = [p.name for p in params if p.kind is not inspect.Parameter.KEYWORD_ONLY]
    allowed = [WRITERS[name]] if name in WRITERS else []
    assert positional == allowed, f"{name}: {positional} can be passed by position"


@pytest.mark.parametrize(("name", "func"), HELPERS, ids=[n for n, _ in HELPERS])
def test_one_name_and_one_default_per_concept(name, func):
    params = inspect.signature(func).parameters
    for old, new in RETIRED.items():
        assert old not in params, f"{name} says {old!r}; the concept is called {new!r}"
    if "freq" in params:
        expected = FREQ_EXCEPTIONS.get(name, FREQ_DEFAULT)
        assert params["freq"].default == expected, name
    if "by" in params and name != "top_movers":  # movers are ranked per metric by default
        assert params["by"].default in (None, "metric_id", "product"), name
    if "value" in params:
        assert params["value"].default in ("effective_cost", None), name


def test_positional_options_are_refused():
    df = cfusage.sample.load().head(50)
    with pytest.raises(TypeError):
        cfusage.discounts(df, "product")  # type: ignore[misc]
    with pytest.raises(TypeError):
        cfusage.period_over_period(df, "product")  # type: ignore[misc]


def test_bad_arguments_raise_one_error_type():
    df = cfusage.sample.load().head(50)
    for call in (
        lambda: cfusage.discounts(df, by="no_such_dimension"),
        lambda: cfusage.period_over_period(df, freq="fortnight"),
        lambda: cfusage.utc_day("not a day"),
    ):
        with pytest.raises(cfusage.ArgumentError):
            call()
    assert issubclass(cfusage.ArgumentError, ValueError)
    assert issubclass(cfusage.ArgumentError, cfusage.Error)


def test_the_vocabulary_is_public():
    assert cfusage.DIMENSIONS["product"] == "x_product_family_name"
    assert cfusage.FREQS["month"] == "MS"
    assert cfusage.schema.DIMENSIONS is cfusage.DIMENSIONS


def test_every_public_chart_returns_its_axes_and_takes_ax_last_by_keyword():
    charts = [n for n in plots.__all__ if inspect.isfunction(getattr(plots, n))]
    drawing = [n for n in charts if "ax" in inspect.signature(getattr(plots, n)).parameters]
    assert len(drawing) >= 7
    for name in drawing:
        params = inspect.signature(getattr(plots, name)).parameters
        assert params["ax"].kind is inspect.Parameter.KEYWORD_ONLY, name
        assert params["ax"].default is None, name
        assert next(iter(params)) == "data", name
