"""The public surface: every name in __all__ resolves, and light imports stay light."""

from __future__ import annotations

import subprocess
import sys

import cfusage


def test_every_public_name_resolves_and_has_a_docstring():
    for name in cfusage.__all__:
        obj = getattr(cfusage, name)
        assert obj.__doc__, f"cfusage.{name} has no docstring"


def test_helper_functions_win_over_their_modules_of_the_same_name():
    code = (
        "import cfusage.analysis._discounts, cfusage.anomalies, cfusage; "
        "assert callable(cfusage.discounts) and callable(cfusage.anomalies)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_import_cfusage_does_not_import_plotting_widgets_or_http():
    code = (
        "import sys, cfusage; "
        "heavy = {'matplotlib', 'ipywidgets', 'httpx'} & set(sys.modules); "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
