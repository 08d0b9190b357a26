"""Fixtures of the benchmark tests: a fake, fast toolkit and a tiny spec."""

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
# fake_backend is imported as a top-level module so spawned workers can unpickle it.
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import fake_backend  # noqa: E402


@pytest.fixture
def fake():
    """The fake backend module (datasets, methods, training config)."""
    return fake_backend


@pytest.fixture
def toolkit():
    return fake_backend.toolkit()


@pytest.fixture
def spec_file(tmp_path):
    path = tmp_path / "fake.toml"
    path.write_text(fake_backend.SPEC_TOML, encoding="utf-8")
    return path


@pytest.fixture
def spec(spec_file):
    from deepbalance.bench.spec import load_spec

    return load_spec(spec_file)


@pytest.fixture(autouse=True)
def _fresh_memo():
    from deepbalance.bench.runner import clear_memo

    clear_memo()
    yield
    clear_memo()
