"""The declared dependencies match what the code imports, on every supported Python."""

import importlib.util
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
SPEC_PY = ROOT / "src" / "deepbalance" / "bench" / "spec.py"


def _requirements(extra=None) -> dict[str, Requirement]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = project["dependencies"] if extra is None else project["optional-dependencies"][extra]
    return {r.name.lower(): r for r in map(Requirement, lines)}


def test_tomli_is_required_exactly_where_tomllib_is_missing():
    tomli = _requirements()["tomli"]
    assert tomli.marker is not None
    assert tomli.marker.evaluate({"python_version": "3.10"})
    assert not tomli.marker.evaluate({"python_version": "3.11"})
    assert "1.1" in tomli.specifier and "1.0" not in tomli.specifier
    # the fallback is tested below on any Python, so the test extra carries it too
    assert "tomli" in _requirements("dev")


def test_pillow_floor_has_image_resampling():
    pillow = _requirements()["pillow"]
    assert "9.1" in pillow.specifier and "9.0.1" not in pillow.specifier


def _load_spec_module(monkeypatch):
    """Execute bench/spec.py afresh as a module of the package, with the current import state."""
    name = "deepbalance.bench._spec_import_probe"
    monkeypatch.delitem(sys.modules, name, raising=False)
    spec = importlib.util.spec_from_file_location(name, SPEC_PY)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    return module


def test_spec_reads_toml_with_tomli_when_tomllib_is_missing(monkeypatch):
    import tomli  # in the dev extra

    monkeypatch.setitem(sys.modules, "tomllib", None)  # `import tomllib` fails as on 3.10
    module = _load_spec_module(monkeypatch)
    assert module.tomllib is tomli
    # the TOML error path uses the module's decode error type, so it must be tomli's too
    with pytest.raises(module.SpecError, match="malformed TOML"):
        module.loads_spec("name = [", file="broken.toml")


def test_spec_without_any_toml_reader_names_the_missing_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "tomllib", None)
    monkeypatch.setitem(sys.modules, "tomli", None)
    with pytest.raises(ModuleNotFoundError, match="tomli"):
        _load_spec_module(monkeypatch)
