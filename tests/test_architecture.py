"""The package's layers: no import cycles, no upward imports, no private names across modules.

Every ``import`` of every module counts, at module level and inside functions (a lazy import
is still a dependency). Layers, top to bottom::

    cli → workflows → bench → methods, tuning → training, samplers → nets
        → data, metrics, stats, method_names and the small shared helpers

A module may import its own layer and any layer below it. It may import a private *module*
(``deepbalance._checks``) but not another module's private *name* (``from .x import _y`` or
``x._y`` on an imported module).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

#: Top to bottom; a module's layer is that of its first name below the package.
LAYERS = (
    ("__main__",),
    ("cli",),
    ("workflows",),
    ("bench",),
    ("methods", "tuning"),
    ("training", "samplers"),
    ("nets",),
    (
        "data",
        "metrics",
        "stats",
        "method_names",
        "_checks",
        "_batching",
        "_console",
        "_plain",
        "_version",
        "registry",
    ),
)


@dataclass(frozen=True)
class Edge:
    """``source`` imports ``target`` at ``line`` (``name``: the imported name, if any)."""

    source: str
    target: str
    line: int
    name: str = ""

    def __str__(self) -> str:
        what = f"{self.target}.{self.name}" if self.name else self.target
        return f"{self.source}:{self.line} imports {what}"


def module_files(root: Path, package: str) -> dict[str, Path]:
    """``{dotted module name: file}`` of every module of ``package`` under ``root``."""
    out = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _resolve(module: str, is_package: bool, level: int, target: str | None) -> str:
    if not level:
        return target or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    if level > 1:
        base = base[: -(level - 1)]
    return ".".join([*base, *([target] if target else [])])


def imports(root: Path, package: str) -> tuple[list[Edge], list[Edge]]:
    """Every import edge between ``package``'s modules, and the private names imported.

    An edge is an ``import`` or ``from ... import`` statement anywhere in a module, or an
    ``importlib.import_module("...")`` call with a literal name.
    """
    modules = module_files(root, package)
    edges, private = [], []
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        bound: dict[str, str] = {}  # local name -> package module it is bound to
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in modules:
                        edges.append(Edge(module, alias.name, node.lineno))
                        top = alias.name.split(".")[0]
                        bound[alias.asname or top] = alias.name if alias.asname else top
            elif isinstance(node, ast.ImportFrom):
                target = _resolve(module, is_package, node.level, node.module)
                if target not in modules:
                    continue
                for alias in node.names:
                    submodule = f"{target}.{alias.name}"
                    if submodule in modules:
                        edges.append(Edge(module, submodule, node.lineno))
                        bound[alias.asname or alias.name] = submodule
                        continue
                    edges.append(Edge(module, target, node.lineno, alias.name))
                    if _is_private(alias.name):
                        private.append(Edge(module, target, node.lineno, alias.name))
            elif isinstance(node, ast.Call) and _called_name(node.func) == "import_module":
                name = node.args[0] if node.args else None
                if isinstance(name, ast.Constant) and name.value in modules:
                    edges.append(Edge(module, name.value, node.lineno))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Attribute) or not _is_private(node.attr):
                continue
            owner = _dotted(node.value, bound)
            if owner in modules and f"{owner}.{node.attr}" not in modules:
                private.append(Edge(module, owner, node.lineno, node.attr))
    return edges, private


def _called_name(func: ast.expr) -> str:
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _dotted(node: ast.expr, bound: dict[str, str]) -> str:
    """The module an expression like ``bench.store`` names, through the imported names."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or node.id not in bound:
        return ""
    return ".".join([bound[node.id], *reversed(parts)])


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def layer_of(module: str, package: str) -> int:
    parts = module.split(".")
    if len(parts) == 1:
        return 0  # the package itself: its facade sits on top
    for index, names in enumerate(LAYERS):
        if parts[1] in names:
            return index
    raise AssertionError(
        f"{module} belongs to no layer; add {parts[1]!r} to LAYERS in {Path(__file__).name}"
    )


def upward(edges: list[Edge], package: str) -> list[Edge]:
    """Edges from a lower layer into a higher one."""
    return [e for e in edges if layer_of(e.target, package) < layer_of(e.source, package)]


def cycles(edges: list[Edge]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    graph: dict[str, set[str]] = {}
    for e in edges:
        if e.source != e.target:
            graph.setdefault(e.source, set()).add(e.target)
            graph.setdefault(e.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _cycle_report(components: list[list[str]], edges: list[Edge]) -> str:
    lines = []
    for component in components:
        members = set(component)
        lines.append("cycle among " + ", ".join(component) + ":")
        lines += [f"  {e}" for e in edges if e.source in members and e.target in members]
    return "\n".join(lines)


def _check(root: Path, package: str) -> tuple[str, str, str]:
    edges, private = imports(root, package)
    return (
        _cycle_report(cycles(edges), edges),
        "\n".join(str(e) for e in upward(edges, package)),
        "\n".join(f"{e} (private)" for e in private),
    )


# ------------------------------------------------------------------------- deepbalance itself


@pytest.fixture(scope="module")
def checked():
    return _check(SRC, "deepbalance")


def test_every_module_has_a_layer():
    for module in module_files(SRC, "deepbalance"):
        layer_of(module, "deepbalance")


def test_no_import_cycles(checked):
    report, _, _ = checked
    assert not report, f"import cycles between deepbalance modules:\n{report}"


def test_no_upward_imports(checked):
    _, report, _ = checked
    assert not report, (
        f"a lower layer imports a higher one (layers: {LAYERS}):\n{report}\nmove the shared "
        "code down a layer, or the importing code up"
    )


def test_no_private_names_across_modules(checked):
    _, _, report = checked
    assert not report, (
        f"modules use other modules' private names:\n{report}\nmake the name public (and "
        "document it) or move the code that needs it"
    )


# ----------------------------------------------------------- the checker catches violations


def _plant(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / "deepbalance" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp_path


def test_checker_finds_a_cycle_even_through_a_lazy_import(tmp_path):
    root = _plant(
        tmp_path,
        {
            "__init__.py": "",
            "data/__init__.py": "from .a import f\n",
            "data/a.py": "def f():\n    from .b import g\n    return g\n",
            "data/b.py": "from . import a\n",
        },
    )
    report, upward_report, private_report = _check(root, "deepbalance")
    assert "cycle among deepbalance.data.a, deepbalance.data.b" in report
    assert "deepbalance.data.a:2 imports deepbalance.data.b" in report
    assert not upward_report and not private_report


def test_checker_finds_an_upward_import(tmp_path):
    root = _plant(
        tmp_path,
        {
            "__init__.py": "",
            "metrics.py": "def f():\n    import deepbalance.bench.runner\n",
            "stats.py": "import importlib\n\nM = importlib.import_module('deepbalance.cli')\n",
            "bench/__init__.py": "",
            "bench/runner.py": "from ..metrics import f\n",
            "cli.py": "from .stats import M\n",
        },
    )
    cycle_report, report, _ = _check(root, "deepbalance")
    assert report.splitlines() == [
        "deepbalance.metrics:2 imports deepbalance.bench.runner",
        "deepbalance.stats:3 imports deepbalance.cli",
    ]
    assert "cycle among deepbalance.cli, deepbalance.stats" in cycle_report


def test_checker_finds_private_names_but_allows_private_modules(tmp_path):
    root = _plant(
        tmp_path,
        {
            "__init__.py": "",
            "_checks.py": "def check_int():\n    pass\n\n_LIMIT = 1\n",
            "metrics.py": "from ._checks import _LIMIT\nfrom . import _checks\n",
            "data/__init__.py": "",
            "data/a.py": (
                "from .. import _checks, metrics\n"
                "X = _checks.check_int\nY = metrics._hidden\nZ = metrics.__name__\n"
            ),
            "data/b.py": "import deepbalance.data.a\n\nW = deepbalance.data.a._inner\n",
        },
    )
    _, upward_report, report = _check(root, "deepbalance")
    assert report.splitlines() == [
        "deepbalance.data.a:3 imports deepbalance.metrics._hidden (private)",
        "deepbalance.data.b:3 imports deepbalance.data.a._inner (private)",
        "deepbalance.metrics:1 imports deepbalance._checks._LIMIT (private)",
    ]
    assert not upward_report
