"""The shared name -> object registry: lookups, close-name hints and renames."""

import pytest

from deepbalance.registry import Registry


def test_a_renamed_entry_answers_to_its_former_name_with_a_warning():
    reg = Registry("thing")
    reg.register("new-name", 1)
    reg.rename("old-name", "new-name")
    assert "old-name" in reg and reg.names() == ["new-name"]
    assert reg.renamed() == {"old-name": "new-name"}
    with pytest.warns(FutureWarning, match="thing 'old-name' is now called 'new-name'"):
        assert reg.get("old-name") == 1
    with pytest.warns(FutureWarning, match="use 'new-name'"):
        assert reg.resolve("old-name") == "new-name"
    assert reg.resolve("new-name") == "new-name"  # no warning for a current name


def test_renames_are_checked():
    reg = Registry("thing")
    reg.register("a", 1)
    with pytest.raises(ValueError, match="thing 'b' is not registered; register it before"):
        reg.rename("x", "b")
    with pytest.raises(ValueError, match="thing 'a' is already registered"):
        reg.rename("a", "a")
    reg.rename("old", "a")
    with pytest.raises(ValueError, match="thing 'old' is already registered"):
        reg.register("old", 2)
    with pytest.raises(TypeError, match="thing name=3 must be a string"):
        reg.resolve(3)
    with pytest.raises(ValueError, match="unknown thing 'c'"):
        reg.get("c")
