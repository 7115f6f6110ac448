"""Shared fixtures: the local sample API server on a free port.

``sample_server``
    One :class:`cfusage.sample._server.SampleServer` per test module, on port 0, with the default knobs
    (revision B, costs, no faults, any bearer token). Do not change its knobs; use
    ``make_server`` for a server with faults.
``make_server``
    A factory: ``make_server(revision="C", error_rate=0.3)`` returns a started server with those
    knobs; every server it made is stopped at teardown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from cfusage.sample._server import SampleServer


@pytest.fixture(scope="module")
def sample_server() -> Iterator[SampleServer]:
    """A started sample API server with default knobs, shared by the tests of one module."""
    with SampleServer(port=0) as srv:
        yield srv


@pytest.fixture
def make_server() -> Iterator[Callable[..., SampleServer]]:
    """Factory of started sample API servers with the given knobs, stopped at teardown."""
    servers: list[SampleServer] = []

    def factory(**knobs: Any) -> SampleServer:
        knobs.setdefault("port", 0)
        srv = SampleServer(**knobs).start()
        servers.append(srv)
        return srv

    yield factory
    for srv in servers:
        srv.stop()


class FakeSleep:
    """A ``sleep`` for clients under test: records the waits instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sleep() -> FakeSleep:
    return FakeSleep()


@pytest.fixture(params=["pandas", "polars", "duckdb", "spark"])
def engine(request: pytest.FixtureRequest) -> str:
    """Each engine of the matrix in turn (tests/engines.py); Spark skips only without Java.

    Two markers choose fewer (the others are deselected, not skipped):
    ``@pytest.mark.engines("polars", "duckdb")`` runs a test on those engines only, and
    ``@pytest.mark.spark_only("case", CASES)`` runs it on Spark only where the parameter ``case``
    is one of ``CASES`` (Spark jobs take seconds each).
    """
    from tests.engines import SPARK_MISSING

    if request.param == "spark" and SPARK_MISSING:
        pytest.skip(SPARK_MISSING)
    return request.param


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "engines(*names): run on these engines of the matrix only")
    config.addinivalue_line(
        "markers", "spark_only(argname, values): on Spark, only the cases with argname in values"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    keep, drop = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        engine = params.get("engine")
        chosen = item.get_closest_marker("engines")
        spark = item.get_closest_marker("spark_only")
        if engine is not None and (
            (chosen is not None and engine not in chosen.args)
            or (
                engine == "spark"
                and spark is not None
                and params[spark.args[0]] not in spark.args[1]
            )
        ):
            drop.append(item)
        else:
            keep.append(item)
            if engine == "spark":
                # PySpark (py4j) leaves local result sockets for the garbage collector
                item.add_marker(
                    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
                )
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
