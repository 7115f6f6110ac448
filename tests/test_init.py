"""The public surface: every name in __all__ resolves, and light imports stay light."""

from __future__ import annotations

import subprocess
import sys

import cfusage


def test_every_public_name_resolves_and_has_a_docstring():
    for name in cfusage.__all__:
        obj = getattr(cfusage, name)
        assert obj.__doc__, f"cfusage.{name} has no docstring"


def test_no_public_function_shadows_a_module():
    """Implementation modules are private, so no helper can hide a module of its name."""
    code = (
        "import importlib, pkgutil, cfusage; "
        "mods = {m.name.rsplit('.', 1)[-1] for m in pkgutil.walk_packages(cfusage.__path__, 'cfusage.')}; "
        "clash = [n for n in cfusage.__all__ if n in mods and callable(getattr(cfusage, n)) "
        "and not isinstance(getattr(cfusage, n), type(cfusage))]; "
        "assert not clash, clash"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_import_cfusage_does_not_import_plotting_widgets_or_http():
    code = (
        "import sys, cfusage; "
        "heavy = {'matplotlib', 'ipywidgets', 'httpx'} & set(sys.modules); "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_every_error_of_the_tree_is_importable_from_cfusage():
    import cfusage
    import cfusage.errors

    classes = [
        n
        for n, v in vars(cfusage.errors).items()
        if isinstance(v, type) and issubclass(v, cfusage.errors.Error)
    ]
    assert sorted(classes) == sorted(cfusage.errors.__all__)
    missing = [n for n in cfusage.errors.__all__ if n not in cfusage.__all__]
    assert not missing
    for name in cfusage.errors.__all__:
        assert getattr(cfusage, name) is getattr(cfusage.errors, name)
        assert name in cfusage.errors.__doc__  # drawn in the tree


def test_rate_limit_error_says_when_in_words_never_a_huge_number():
    import cfusage

    def message(seconds: float) -> str:
        return str(cfusage.RateLimitError("x", retry_after=seconds, status_code=429))

    assert message(273_600).endswith("try again in 3 d 4 h")
    assert message(1e12).endswith("try again in more than a year")
    assert message(42).endswith("try again in 42 s")
