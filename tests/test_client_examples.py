"""The examples in cfusage.client's docstrings run (against the local sample server) and hold."""

from __future__ import annotations

import doctest

import cfusage.client as client_module


def test_every_docstring_example_of_the_client_runs() -> None:
    result = doctest.testmod(client_module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.attempted >= 40
    assert result.failed == 0
