"""The benchmarks' generated response (benchmarks/_large.py) is realistic and exact."""

from __future__ import annotations

import json
import math

import pytest

from benchmarks._large import large_response
from cfusage import sample
from cfusage.errors import ArgumentError
from cfusage.schema import COLUMNS


def test_large_response_parses_and_has_n_records() -> None:
    body = json.loads(large_response(5_000, seed=3))
    assert body["success"] is True
    result = body["result"]
    assert len(result) == 5_000
    fields = [c.wire for c in COLUMNS if c.wire != "Tags"]
    assert all(list(r) == fields for r in result)
    assert len({r["x_BillableMetricId"] for r in result}) == len(sample.METRICS)
    assert len({r["ChargePeriodStart"] for r in result}) == 31
    for r in result[:500]:
        assert math.isclose(r["ListCost"], r["ListUnitPrice"] * r["PricingQuantity"], rel_tol=1e-9)
        assert math.isclose(
            r["ContractedCost"], r["ContractedUnitPrice"] * r["PricingQuantity"], rel_tol=1e-9
        )
        assert r["BilledCost"] == r["EffectiveCost"] == r["ContractedCost"]
    assert large_response(5_000, seed=3) == large_response(5_000, seed=3)


def test_large_response_edge_sizes() -> None:
    assert json.loads(large_response(0))["result"] == []
    assert len(json.loads(large_response(1))["result"]) == 1
    with pytest.raises(ArgumentError, match="n_records"):
        large_response(-1)
