"""The report's anomaly section speaks in the events of describe_anomalies (issue 10 §6)."""

from __future__ import annotations

import warnings
from html import escape as html_escape

import matplotlib

matplotlib.use("Agg")

import pandas as pd
import pytest

from cfusage.analysis._anomalies import anomalies, describe_anomalies
from cfusage.viz._report import _material, build_report


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    cfsample = pytest.importorskip("cfusage.sample")
    return cfsample.load()


def test_report_sentences_are_the_ranked_events_and_the_spike_leads(sample):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rep = build_report(sample, as_of="2026-03-31")
        month = pd.Timestamp(rep.headline.last_month).tz_localize("UTC")
        scored = anomalies(
            sample.loc[sample["charge_period_start"] < pd.Timestamp("2026-04-01", tz="UTC")],
            by=["metric", "account"],
            min_cost=_material(rep.headline),
        )
    events = describe_anomalies(scored.loc[scored["period"] >= month], n=5)
    sentences = rep.sentences["anomalies"]
    assert sentences == events["description"].tolist()
    assert sentences[0].startswith("R2 Class A Operations in account Team Data were ")
    assert "on 2026-03-14" in sentences[0]
    html = rep.to_html()
    for sentence in sentences:
        assert html_escape(sentence) in html
    assert "by cost impact" in html


def test_report_month_without_anomaly_says_so(sample):
    """Before: October 2026's weekend dips filled the section, a Saturday on top."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rep = build_report(sample)
    assert rep.sentences["anomalies"] == []
    assert "No anomaly since" in rep.to_html()
