"""Fixtures for the dataset loader tests."""

import pytest


@pytest.fixture
def data_env(tmp_path, monkeypatch):
    """Isolate the search order: no $DEEPBALANCE_DATA, an empty download cache under tmp_path."""
    monkeypatch.delenv("DEEPBALANCE_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    return tmp_path
