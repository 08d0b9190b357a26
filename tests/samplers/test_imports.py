"""The sampler modules import one another in one direction, and public names stay put."""

import ast
import importlib
from pathlib import Path

import pytest

import deepbalance.samplers as samplers

PACKAGE = Path(samplers.__file__).parent


def _imports(path: Path) -> set[str]:
    """Sibling modules ``path`` imports anywhere (top level or inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:  # from . import x
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith("deepbalance.samplers."):
                found.add(node.module.split(".")[2])
    return found


def _graph() -> dict[str, set[str]]:
    modules = {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    return {m: _imports(PACKAGE / f"{m}.py") & modules for m in modules}


def _cycle(graph):
    state = {}

    def visit(node, stack):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state:
                found = visit(nxt, [*stack, nxt])
                if found:
                    return found
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state:
            found = visit(start, [start])
            if found:
                return found
    return None


def test_no_import_cycles_among_sampler_modules():
    graph = _graph()
    assert {"calibration", "strategies", "latent", "persistence"} <= set(graph)
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))
    assert "strategies" not in graph["calibration"] and "latent" not in graph["persistence"]


@pytest.mark.parametrize(
    "module, names",
    [
        ("deepbalance.samplers", ["WeightedCalibration", "make_strategy", "LatentOversampler"]),
        (
            "deepbalance.samplers.strategies",
            ["STRATEGIES", "ImblearnStrategy", "LatentStrategy", "make_strategy"],
        ),
        ("deepbalance.samplers.strategies", ["check_latent_inputs", "segment_provenance"]),
        ("deepbalance.samplers.calibration", ["WeightedCalibration", "calibrated_moments"]),
        (
            "deepbalance.samplers.persistence",
            ["cache_key", "load_cached_autoencoder", "store_cached_autoencoder"],
        ),
        ("deepbalance.samplers.persistence", ["load_sampler", "save_sampler", "CONFIG_FILE"]),
        ("deepbalance.samplers.latent", ["LatentOversampler"]),
    ],
)
def test_public_names_are_importable_where_they_were(module, names):
    mod = importlib.import_module(module)
    for name in names:
        assert hasattr(mod, name), f"{module}.{name}"


def test_calibration_is_registered_and_made_by_name():
    from deepbalance.samplers.strategies import STRATEGIES, make_strategy

    assert "calibration" in STRATEGIES
    assert isinstance(make_strategy("calibration"), samplers.WeightedCalibration)
