"""Charts: what is drawn (bars, heights, colours, legends, tick labels), not only that they draw."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from cfusage.errors import CurrencyError, MissingColumnsError
from cfusage.viz import plots
from tests.frames import typed


def new_ax() -> plt.Axes:
    return Figure(figsize=(8, 4)).add_subplot()


def png_bytes(ax: plt.Axes) -> bytes:
    buf = io.BytesIO()
    ax.figure.savefig(buf, format="png")
    data = buf.getvalue()
    assert data.startswith(b"\x89PNG")
    return data


def bars(ax: plt.Axes, prefix: str) -> list:
    return [p for p in ax.patches if (p.get_gid() or "").startswith(prefix)]


def stacked(ax: plt.Axes, name: str = "") -> list[tuple[float, float, float]]:
    """(left, bottom, height) of every stacked bar of series ``name`` (all series if empty)."""
    out = []
    for coll in ax.collections:
        gid = (coll.get_gid() or "").replace("partial:", "series:", 1)  # partial periods too
        if gid.startswith(f"series:{name}") and (not name or gid == f"series:{name}"):
            for path in coll.get_paths():
                v = path.vertices
                out.append((float(v[0, 0]), float(v[0, 1]), float(v[1, 1] - v[0, 1])))
    return out


def series_colours(ax: plt.Axes, name: str) -> set[str]:
    gids = (f"series:{name}", f"partial:{name}")  # a partial period's bars keep their colour
    return {
        to_hex(c.get_facecolor()[0], keep_alpha=False)
        for c in ax.collections
        if c.get_gid() in gids
    }


@pytest.fixture
def daily() -> pd.DataFrame:
    """Three days, four products (one with a missing cost), one currency."""
    return typed(
        charge_period_start=["2026-03-01"] * 4 + ["2026-03-02"] * 4 + ["2026-03-03"] * 4,
        x_product_family_name=["Workers", "R2", "Stream", "Images"] * 3,
        billing_account_name=["acme", "acme", "beta", "beta"] * 3,
        effective_cost=[10.0, 6.0, 3.0, 1.0, 12.0, 6.0, 2.0, None, 8.0, 7.0, 4.0, 1.0],
        billing_currency=["USD"] * 12,
    )


# ------------------------------------------------------------------------------------------------
# money and palette


@pytest.mark.parametrize(
    ("value", "currency", "expected"),
    [
        (0, "USD", "$0"),
        (950, "USD", "$950"),
        (1000, "USD", "$1k"),
        (1234.5, "USD", "$1.2k"),
        (3_400_000, "USD", "$3.4M"),
        (2_500_000_000, "USD", "$2.5B"),
        (-12.5, "USD", "−$12.50"),
        (999_960, "USD", "$1M"),
        (150_000, "EUR", "€150k"),
        (1200, "CHF", "CHF 1.2k"),
        (0.004, "USD", "$0.004"),
        (0.00025, "USD", "$0.0003"),
        (-1e-12, "USD", "$0"),
        (5e-242, "USD", "$0"),
        (None, "USD", "—"),
        (float("nan"), "USD", "—"),
    ],
)
def test_format_money_compact(value: float | None, currency: str, expected: str) -> None:
    assert plots.format_money(value, currency) == expected


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=-5e12, max_value=5e12, allow_nan=False))
def test_format_money_compact_stays_within_half_a_unit(value: float) -> None:
    text = plots.format_money(value, "USD")
    sign = -1.0 if text.startswith("−") else 1.0
    body = text.removeprefix("−").removeprefix("$")
    scale = {"k": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}.get(body[-1], 1.0)
    number = float(body[:-1] if scale != 1.0 else body) * scale * sign
    # one decimal on at most 3 digits: off by at most 5 % (0.05 / 1.0), never the wrong unit
    assert abs(number - value) <= max(0.05 * abs(value), 0.005)
    assert len(body) <= 6


def test_format_money_full_has_cents_and_separators() -> None:
    assert plots.format_money(1234567.891, "USD", compact=False) == "$1,234,567.89"
    assert plots.format_money(-5, "GBP", compact=False) == "−£5.00"
    assert plots.format_money(-0.001, "USD", compact=False) == "$0.00"


def test_money_formatter_formats_ticks() -> None:
    fmt = plots.money_formatter("USD")
    assert [fmt(v, 0) for v in (0, 500, 1500, 2_000_000)] == ["$0", "$500", "$1.5k", "$2M"]


def test_known_family_has_its_fixed_colour() -> None:
    assert plots.color_for("Workers") == plots.FAMILY_COLORS["Workers"]
    assert plots.color_for("Other") == plots.OTHER_COLOR
    assert plots.color_for(pd.NA) == plots.OTHER_COLOR


def test_unknown_name_colour_is_stable_across_processes() -> None:
    code = "from cfusage.plots import color_for; print(color_for('Brand New Product'))"
    seen = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for seed in ("1", "2")
    }
    assert seen == {plots.color_for("Brand New Product")}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=20, unique=True))
def test_colors_for_gives_distinct_colours_whatever_the_order(names: list[str]) -> None:
    names = [n for n in names if n not in ("Other", "(not set)")] or ["x"]
    forward = plots.colors_for(names)
    backward = plots.colors_for(names[::-1])
    assert forward == backward
    unknown = [n for n in names if n not in plots.FAMILY_COLORS]
    if len(unknown) <= len(plots._HASH_PALETTE):
        assert len({forward[n] for n in unknown}) == len(unknown)
    for n in names:
        if n in plots.FAMILY_COLORS:
            assert forward[n] == plots.FAMILY_COLORS[n]


# ------------------------------------------------------------------------------------------------
# cost over time


def test_cost_stacks_top_n_plus_other(daily: pd.DataFrame) -> None:
    ax = plots.cost(daily, by="product", top=2, ax=new_ax())
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    # Workers 30, R2 19, Stream 9, Images 2 (one NA): top 2 + Other, listed as stacked (top first)
    assert legend == ["Other", "R2", "Workers"]
    # per day, the stacked bars add up to the day's total of the non-missing costs
    by_day: dict[float, float] = {}
    for left, _bottom, height in stacked(ax):
        by_day[round(left, 6)] = by_day.get(round(left, 6), 0.0) + height
    assert sorted(round(v, 9) for v in by_day.values()) == [20.0, 20.0, 20.0]
    other = stacked(ax, "Other")
    assert sorted(round(h, 9) for _x, _y, h in other) == [2.0, 4.0, 5.0]
    # Other sits on top of the two named series
    assert sorted(round(y, 9) for _x, y, _h in other) == [15.0, 16.0, 18.0]
    png_bytes(ax)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 9),
            st.sampled_from(["Workers", "R2", "Stream", "Images", "Foo", "Bar"]),
            st.one_of(st.none(), st.floats(-50, 500, allow_nan=False)),
        ),
        min_size=1,
        max_size=40,
    ),
    st.integers(1, 4),
)
def test_cost_draws_every_non_missing_amount_once(rows: list, top: int) -> None:
    df = typed(
        charge_period_start=[pd.Timestamp("2026-03-01") + pd.Timedelta(days=d) for d, _, _ in rows],
        x_product_family_name=[p for _, p, _ in rows],
        effective_cost=[c for _, _, c in rows],
        billing_currency=["USD"] * len(rows),
    )
    if df["effective_cost"].isna().all():
        with pytest.raises(MissingColumnsError):
            plots.cost(df, top=top, ax=new_ax())
        return
    ax = plots.cost(df, top=top, ax=new_ax())
    expected: dict[int, float] = {}
    for day, _product, amount in rows:
        if amount is not None:
            expected[day] = expected.get(day, 0.0) + amount
    drawn: dict[int, float] = {}
    start = matplotlib.dates.date2num(pd.Timestamp("2026-03-01"))
    for left, _bottom, height in stacked(ax):
        day = round(left - start)
        drawn[day] = drawn.get(day, 0.0) + height
    for day, total in expected.items():
        assert drawn.get(day, 0.0) == pytest.approx(total, abs=1e-6)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert len(legend) <= top + 1 and len(set(legend)) == len(legend)


def test_cost_says_how_many_rows_have_no_cost(daily: pd.DataFrame) -> None:
    ax = plots.cost(daily, ax=new_ax())
    notes = [t.get_text() for t in ax.texts if t.get_gid() == "coverage-note"]
    assert notes == ["1 of 12 rows have no effective_cost and are not included"]


def test_cost_axis_is_labelled_with_currency_and_money_ticks(daily: pd.DataFrame) -> None:
    ax = plots.cost(daily, by="account", ax=new_ax())
    ax.figure.canvas.draw()
    assert ax.get_ylabel() == "Effective cost (USD)"
    ticks = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert ticks and all(t.startswith("$") for t in ticks)


def test_cost_keeps_family_colour_across_charts(daily: pd.DataFrame) -> None:
    one = plots.cost(daily, by="product", top=2, ax=new_ax())
    two = plots.cost(daily, by="product", top=None, freq="W", ax=new_ax())
    for family in ("Workers", "R2"):
        c1, c2 = series_colours(one, family), series_colours(two, family)
        assert c1 == c2 == {plots.FAMILY_COLORS[family].lower()}


def test_cost_stacks_negative_corrections_below_zero() -> None:
    df = typed(
        charge_period_start=["2026-03-01", "2026-03-01", "2026-03-01"],
        x_product_family_name=["Workers", "R2", "Stream"],
        effective_cost=[10.0, -4.0, 3.0],
        billing_currency=["USD"] * 3,
    )
    ax = plots.cost(df, ax=new_ax())
    assert [(y, h) for _x, y, h in stacked(ax, "R2")] == [(0.0, -4.0)]
    tops = [y + h for _x, y, h in stacked(ax) if h > 0]
    assert max(tops) == 13.0


def test_cost_refuses_to_add_currencies(daily: pd.DataFrame) -> None:
    df = daily.assign(billing_currency=pd.Categorical(["USD"] * 6 + ["EUR"] * 6))
    with pytest.raises(CurrencyError, match="EUR"):
        plots.cost(df, ax=new_ax())


def test_cost_without_costs_names_the_column(daily: pd.DataFrame) -> None:
    df = daily.assign(effective_cost=pd.array([None] * 12, dtype="Float64"))
    with pytest.raises(MissingColumnsError, match="effective_cost"):
        plots.cost(df, ax=new_ax())


def test_cost_uses_current_axes_when_none_given(daily: pd.DataFrame) -> None:
    fig = plt.figure()
    try:
        ax = plots.cost(daily)
        assert ax is fig.axes[0]
    finally:
        plt.close(fig)


def test_cost_does_not_mutate_the_frame(daily: pd.DataFrame) -> None:
    before = daily.copy()
    plots.cost(daily, by="product", freq="W", ax=new_ax())
    pd.testing.assert_frame_equal(daily, before)


# ------------------------------------------------------------------------------------------------
# discount waterfall


def heights(ax: plt.Axes) -> dict[str, tuple[float, float]]:
    """Label -> (bottom, height) of the waterfall's bars."""
    return {p.get_gid()[4:]: (p.get_y(), p.get_height()) for p in bars(ax, "bar:")}


def test_discount_waterfall_from_a_frame_closes() -> None:
    df = typed(
        charge_period_start=["2026-03-01", "2026-03-02", "2026-03-02"],
        charge_category=["Usage", "Usage", "Purchase"],
        list_cost=[100.0, 50.0, 0.0],
        contracted_cost=[80.0, 45.0, 0.0],
        effective_cost=[60.0, 45.0, 0.0],
        billed_cost=[0.0, 45.0, 500.0],
        billing_currency=["USD"] * 3,
    )
    ax = plots.discount_waterfall(df, ax=new_ax())
    h = heights(ax)
    assert h["List"] == (0.0, 150.0)
    assert h["Negotiated\nsavings"] == (150.0, -25.0)
    assert h["Contracted"] == (0.0, 125.0)
    assert h["Commitment\nsavings"] == (125.0, -20.0)
    assert h["Effective"] == (0.0, 105.0)
    # billed over usage rows only: the purchase is not usage
    assert h["Prepaid &\ntiming"] == (105.0, -60.0)
    assert h["Billed"] == (0.0, 45.0)
    savings = [p for p in bars(ax, "bar:") if "savings" in p.get_gid()]
    assert {to_hex(p.get_facecolor()) for p in savings} == {plots.NEGATIVE.lower()}


def test_discount_waterfall_notes_partial_savings_coverage() -> None:
    result = pd.DataFrame(
        {
            "billing_currency": pd.Categorical(["USD"]),
            "list_cost": [100.0],
            "contracted_cost": [90.0],
            "effective_cost": [85.0],
            "billed_cost": [85.0],
            "total_savings": [10.0],
            "savings_coverage": [0.8],
        }
    )
    ax = plots.discount_waterfall(result, ax=new_ax())
    notes = [t.get_text() for t in ax.texts if t.get_gid() == "coverage-note"]
    assert notes == ["Savings are computed on the rows with every price: 80.0% of list cost"]


# ------------------------------------------------------------------------------------------------
# the sample organization, through the helpers


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    import cfusage.sample

    return cfusage.sample.load()


def test_cost_on_sample_shows_top_six_plus_other(sample: pd.DataFrame) -> None:
    ax = plots.cost(sample, by="product", freq="W", top=6, ax=new_ax())
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    usage = sample["effective_cost"].astype("float64")
    totals = usage.groupby(sample["x_product_family_name"].astype("str")).sum()
    top6 = totals.sort_values(ascending=False).index[:6].tolist()
    assert legend[0] == "Other" and sorted(legend[1:]) == sorted(top6)
    drawn = sum(h for _x, _y, h in stacked(ax))
    assert drawn == pytest.approx(float(usage.sum()), rel=1e-9)
    png_bytes(ax)


def test_family_colour_is_the_same_in_cost_and_account_filtered_charts(
    sample: pd.DataFrame,
) -> None:
    team_ai = sample.loc[sample["billing_account_name"].astype("str") == "Team AI"]
    one = plots.cost(sample, by="product", ax=new_ax())
    two = plots.cost(team_ai, by="product", freq="MS", ax=new_ax())
    assert series_colours(one, "Workers AI") == series_colours(two, "Workers AI")
    assert series_colours(one, "Workers AI") == {plots.FAMILY_COLORS["Workers AI"].lower()}


STEPS = ("Price", "Days", "Volume", "Mix", "New", "Retired")


def test_variance_bridge_bars_add_up_to_the_change(sample: pd.DataFrame) -> None:
    from cfusage.analysis._variance import price_volume_mix

    # July: the planted R2 Class A price change, Workers AI adoption in April, Stream retired
    pvm = price_volume_mix(sample, base="2026-06", current="2026-07", by="product")
    ax = plots.variance_bridge(pvm, ax=new_ax())
    h = heights(ax)
    previous, current = float(pvm["previous"].sum()), float(pvm["current"].sum())
    assert h["Previous"] == (0.0, pytest.approx(previous))
    assert h["Current"] == (0.0, pytest.approx(current))
    steps = [h[k][1] for k in STEPS]
    assert sum(steps) == pytest.approx(current - previous, rel=1e-9)
    assert h["Retired"][1] == pytest.approx(float(pvm["retired_effect"].sum()))
    assert h["Retired"][1] < 0  # Stream stopped at the end of June
    assert h["Price"][1] > 0  # R2 Class A list price 4.50 -> 5.00
    # July has a day more than June: the days effect is its own step
    assert h["Days"][1] == pytest.approx(float(pvm["days_effect"].sum()))
    # each step floats on the running total left by the one before
    running = previous
    for k in STEPS:
        assert h[k][0] == pytest.approx(running)
        running += h[k][1]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels[0] == "Jun 2026" and labels[-1] == "Jul 2026"
    png_bytes(ax)


def test_top_movers_draws_one_bar_per_row_largest_on_top(sample: pd.DataFrame) -> None:
    from cfusage.analysis._variance import top_movers

    movers = top_movers(sample, base="2026-06", current="2026-07", by="product", n=5)
    ax = plots.top_movers(movers, ax=new_ax())
    drawn = bars(ax, "bar:")
    assert len(drawn) == 5
    by_y = sorted(drawn, key=lambda p: -p.get_y())
    assert [p.get_width() for p in by_y] == pytest.approx(movers["change"].astype(float).tolist())
    colours = {to_hex(p.get_facecolor()) for p in drawn if p.get_width() < 0}
    assert colours <= {plots.NEGATIVE.lower()}
    ax.figure.canvas.draw()
    assert all(t.get_text().startswith(("$", "−$")) for t in ax.get_xticklabels() if t.get_text())
    assert any("(retired)" in t.get_text() for t in ax.texts)  # Stream


def test_anomaly_timeline_marks_the_planted_spike(sample: pd.DataFrame) -> None:
    from cfusage.analysis._anomalies import anomalies

    scored = anomalies(sample, by=["metric", "account"], min_cost=20)
    group = ("R2 Class A Operations", "Team Data")
    ax = plots.anomaly_timeline(scored, group=group, ax=new_ax(), since="2026-02-01")
    part = scored.loc[
        (scored["x_billable_metric_name"].astype("str") == group[0])
        & (scored["billing_account_name"].astype("str") == group[1])
        & (scored["period"] >= pd.Timestamp("2026-02-01", tz="UTC"))
    ]
    markers = next(c for c in ax.collections if c.get_gid() == "anomalies").get_offsets()
    assert len(markers) == int(part["is_anomaly"].sum()) >= 1
    spike = pd.Timestamp("2026-03-14")
    assert any(abs(x - matplotlib.dates.date2num(spike)) < 1e-9 for x in markers[:, 0])
    assert [line.get_gid() for line in ax.lines] == ["expected", "actual"]
    assert any(c.get_gid() == "band" for c in ax.collections)
    assert ax.get_title(loc="left") == "R2 Class A Operations / Team Data"


def test_anomaly_timeline_defaults_to_the_strongest_anomaly(sample: pd.DataFrame) -> None:
    from cfusage.analysis._anomalies import anomalies

    scored = anomalies(sample, by="product", min_cost=20)
    ax = plots.anomaly_timeline(scored, ax=new_ax())
    flagged = scored.loc[scored["is_anomaly"]]
    strongest = flagged.loc[flagged["score"].abs().idxmax()]  # describe_anomalies' first
    assert ax.get_title(loc="left") == str(strongest["x_product_family_name"])


def test_budget_draws_actual_budget_forecast_and_thresholds(sample: pd.DataFrame) -> None:
    from cfusage.analysis._variance import budget_variance

    daily = budget_variance(sample, budget=40_000.0, as_of="2026-11-20")
    ax = plots.budget(daily, ax=new_ax())
    gids = [line.get_gid() for line in ax.lines]
    assert gids[:3] == ["budget", "actual", "forecast"]
    assert sorted(g for g in gids if g.startswith("threshold:")) == [
        "threshold:0.5",
        "threshold:0.8",
        "threshold:1",
    ]
    november = daily.loc[daily["period"] == pd.Timestamp("2026-11-01", tz="UTC")]
    actual = next(line for line in ax.lines if line.get_gid() == "actual").get_ydata()
    assert actual[0] == 0.0 and len(actual) == 21
    assert actual[-1] == pytest.approx(float(november["cumulative_actual"].iloc[-1]))
    forecast = next(line for line in ax.lines if line.get_gid() == "forecast").get_ydata()
    assert forecast[-1] == pytest.approx(float(november["forecast"].iloc[-1]))
    assert ax.get_title(loc="left") == "Budget November 2026: $40k"


def test_budget_refuses_several_budget_lines(sample: pd.DataFrame) -> None:
    from cfusage.analysis._variance import budget_variance

    daily = budget_variance(sample, budget=10_000.0, by="account", as_of="2026-11-20")
    with pytest.raises(ValueError, match="filter it to one group"):
        plots.budget(daily, ax=new_ax())


def test_amortized_vs_billed_shows_the_prepaid_fee(sample: pd.DataFrame) -> None:
    from cfusage.analysis._amortization import reconcile

    monthly = reconcile(sample, freq="MS")
    ax = plots.amortized_vs_billed(monthly, ax=new_ax())
    billed = {p.get_gid()[7:]: p.get_height() for p in bars(ax, "billed:")}
    effective = {p.get_gid()[10:]: p.get_height() for p in bars(ax, "effective:")}
    assert len(billed) == len(effective) == monthly["period"].nunique() == 14
    # November 2025 carries the USD 60,000 prepayment on the invoice, not in effective cost
    assert billed["2025-11-01"] - effective["2025-11-01"] > 55_000
    expected = monthly.groupby("period")["billed_cost"].sum()
    assert billed["2026-03-01"] == pytest.approx(
        float(expected[pd.Timestamp("2026-03-01", tz="UTC")])
    )


# ------------------------------------------------------------------------------------------------
# names are drawn as written: never as mathtext


DOLLAR_NAMES = ["$\\frac{1}{0$", "a$^{$b", "Plan $5 and $10"]


def shown(ax: plt.Axes) -> list[tuple[str, bool]]:
    """(text as matplotlib will draw it, drawn as mathematics?) for every text of the figure."""
    from matplotlib.text import Text

    return [t._preprocess_math(t.get_text()) for t in ax.figure.findobj(Text) if t.get_text()]


@pytest.fixture
def dollars() -> pd.DataFrame:
    return typed(
        charge_period_start=["2026-03-01"] * 3 + ["2026-03-02"] * 3,
        x_product_family_name=DOLLAR_NAMES * 2,
        effective_cost=[10.0, 6.0, 3.0, 12.0, 5.0, 2.0],
        billing_currency=["USD"] * 6,
    )


def test_cost_draws_names_with_dollars_literally(dollars: pd.DataFrame) -> None:
    ax = plots.cost(dollars, by="product", ax=new_ax())
    png_bytes(ax)  # before the fix: ValueError from mathtext while drawing
    texts = shown(ax)
    for name in DOLLAR_NAMES:
        assert (name, False) in texts
    assert not any(math for _t, math in texts)
    png_bytes(ax)  # drawing again changes nothing
    assert shown(ax) == texts


def test_every_chart_text_is_literal_for_hostile_names(dollars: pd.DataFrame) -> None:
    movers = pd.DataFrame(
        {
            "x_product_family_name": DOLLAR_NAMES,
            "billing_currency": ["USD"] * 3,
            "change": [5.0, -2.0, 1.0],
        },
    )
    ax = plots.top_movers(movers, ax=new_ax())
    png_bytes(ax)
    assert list(dict.fromkeys(t for t, _m in shown(ax) if t in DOLLAR_NAMES)) == DOLLAR_NAMES
    assert not any(math for _t, math in shown(ax))
    # the money labels keep their dollar sign, drawn as text
    assert any(t.startswith("+$5") for t, _m in shown(ax))
