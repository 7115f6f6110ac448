"""The package's layers, read from its imports (ast): no cycle, nothing upward, nothing private
across subpackages, no library layer that imports the sample.

Layers, lowest first (a module may import its own subpackage and anything lower):

0. ``errors``, ``schema``      the error tree, the column table, the by=/freq= vocabulary
1. ``io``                      responses and FOCUS files → typed frames
2. ``fetch`` | ``analysis``    HTTP clients and store | the FinOps helpers (siblings: neither
                               imports the other)
3. ``viz``                     charts, explorer, report
4. ``accessor``, ``plots``     df.cfusage and the public path of the charts
5. ``sample``                  demo scaffolding: the sample, its server, the demo
6. ``cli``, ``__init__``, ``__main__``
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "cfusage"

LAYERS: dict[str, int] = {
    "errors": 0,
    "schema": 0,
    "io": 1,
    "fetch": 2,
    "analysis": 2,
    "viz": 3,
    "accessor": 4,
    "plots": 4,
    "sample": 5,
    "cli": 6,
    "__init__": 6,
    "__main__": 6,
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path) -> list[tuple[str, list[str], int]]:
    """(imported cfusage module, names taken from it, line) for every runtime import."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    me = _module_name(path)
    package = me if path.name == "__init__.py" else me.rsplit(".", 1)[0]
    found: list[tuple[str, list[str], int]] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                continue
            if isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")
                    base = base[: len(base) - (child.level - 1)]
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module or ""
                if target.split(".")[0] == "cfusage":
                    names = [a.name for a in child.names]
                    # ``from . import x`` imports the module cfusage.<...>.x
                    if child.module is None:
                        for n in names:
                            found.append((f"{target}.{n}", [], child.lineno))
                    else:
                        found.append((target, names, child.lineno))
            elif isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.split(".")[0] == "cfusage":
                        found.append((alias.name, [], child.lineno))
            visit(child)

    visit(tree)
    return found


def _layer(module: str) -> tuple[str, int]:
    top = module.split(".")[1] if "." in module else "__init__"
    return top, LAYERS[top]


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_top_level_name_has_a_layer():
    tops = {p.relative_to(PACKAGE).parts[0].removesuffix(".py") for p in MODULES}
    assert tops <= set(LAYERS), sorted(tops - set(LAYERS))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_go_down_the_layers_and_stay_public_across_subpackages(path: Path):
    me = _module_name(path)
    my_top, my_layer = _layer(me)
    problems = []
    for target, names, line in _imports(path):
        top, layer = _layer(target)
        if top == my_top:
            continue
        where = f"{path.relative_to(PACKAGE)}:{line} imports {target}"
        if layer >= my_layer and my_top not in ("__init__", "__main__", "cli"):
            problems.append(f"{where} (layer {layer}, not below {my_top}'s {my_layer})")
        private = [p for p in target.split(".")[1:] if p.startswith("_")]
        private += [n for n in names if n.startswith("_") and not n.startswith("__")]
        if private:
            problems.append(f"{where}: private {private} across subpackages")
    assert not problems, "\n".join(problems)


def test_no_library_layer_imports_the_sample():
    offenders = [
        f"{p.relative_to(PACKAGE)}:{line}"
        for p in MODULES
        if _layer(_module_name(p))[1] < LAYERS["sample"]
        for target, _, line in _imports(p)
        if _layer(target)[0] == "sample"
    ]
    assert not offenders


def test_no_import_cycle():
    graph: dict[str, set[str]] = {}
    known = {_module_name(p) for p in MODULES}
    for p in MODULES:
        me = _module_name(p)
        deps = set()
        for target, names, _ in _imports(p):
            # ``from pkg import name`` may name a submodule
            for cand in [f"{target}.{n}" for n in names] + [target]:
                if cand in known and cand != me:
                    deps.add(cand)
                    break
        graph[me] = deps
    # a package's __init__ importing its own modules is how re-exports work; a module importing
    # its own package's __init__ would be a cycle, and is caught like any other
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                return [*stack[stack.index(dep) :], dep]
            if dep not in state and (cycle := visit(dep)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            pytest.fail("import cycle: " + " → ".join(cycle))


def test_imports_inside_functions_are_only_the_lazy_entry_points():
    """Dependencies are visible at the top of each module; only the CLI (which imports per
    command, to start fast) and the lazy package entry points import inside functions."""
    allowed = {"cfusage/cli.py", "cfusage/accessor.py"}
    offenders = []
    for p in MODULES:
        rel = str(p.relative_to(PACKAGE.parent))
        if rel in allowed:
            continue
        tree = ast.parse(p.read_text(encoding="utf-8"))
        for fn in ast.walk(tree):
            if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef) and fn.name != "__getattr__":
                for node in ast.walk(fn):
                    if isinstance(node, ast.ImportFrom) and (
                        node.level or (node.module or "").startswith("cfusage")
                    ):
                        offenders.append(f"{rel}:{node.lineno}")
    assert not offenders, offenders
