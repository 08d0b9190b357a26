"""``bench run --variants``: one variant of a spec, and the errors naming the choices."""

import pytest

from deepbalance.bench.spec import apply_overrides, load_spec


def test_variants_override_keeps_the_named_variants_and_counts_as_reduced():
    spec = load_spec("fmnist-lt-extreme")
    assert [v.name for v in spec.variants] == ["default", "long"]
    assert spec.full_variants == ("default", "long") and not spec.reduced
    long = apply_overrides(spec, variants="long")
    assert [v.name for v in long.variants] == ["long"]
    assert long.variants[0].train == {"epochs": 30, "eval_every": 30}
    assert long.overrides == {"variants": ["long"]} and long.reduced
    assert long.hash == spec.hash  # the same protocol: its runs share one store
    assert apply_overrides(spec, variants=["default", "long"]) is spec


def test_bad_variants_are_named():
    spec = load_spec("fmnist-lt-extreme")
    with pytest.raises(
        ValueError,
        match=r"variants=\['longer'\]: longer is not a variant of spec 'fmnist-lt-extreme'; "
        r"choose from default, long",
    ):
        apply_overrides(spec, variants="longer")
    with pytest.raises(ValueError, match=r"spec 'quickstart' has no variants; drop --variants"):
        apply_overrides(load_spec("quickstart"), variants="long")
