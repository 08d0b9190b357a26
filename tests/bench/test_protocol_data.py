"""The built-in protocols draw the papers' training and test sets (on real Fashion-MNIST)."""

import pytest

from deepbalance.bench.runner import (
    Toolkit,
    build_fold_test,
    build_test_sets,
    build_train_set,
    expand_grid,
)
from deepbalance.bench.spec import apply_overrides, load_spec


def _fmnist_or_skip():
    from deepbalance.data import list_datasets

    info = {d.name: d for d in list_datasets()}["fashion-mnist"]
    if not info.available:
        pytest.skip("Fashion-MNIST files not installed (Debian package dataset-fashion-mnist)")


@pytest.mark.fmnist
def test_deepsmote_fmnist_sets():
    _fmnist_or_skip()
    from deepbalance.data.profiles import PROFILES

    spec = apply_overrides(load_spec("deepsmote-fmnist"), seeds=2)
    toolkit = Toolkit().resolved()
    point = expand_grid(spec)[0]
    assert (point.seed, point.fold) == (0, 1)
    # 5-fold cross-validation: the run trains on 4/5 of the paper's counts, tests on 1/5
    train = build_train_set(toolkit, spec, point)
    held_out = build_fold_test(toolkit, spec, point)
    counts = list(PROFILES.get("deepsmote-mnist").counts)
    assert (train.class_counts() + held_out.class_counts()).tolist() == counts
    assert held_out.class_counts().tolist() == [c // 5 for c in counts]
    tests = build_test_sets(toolkit, spec)
    assert tests["balanced"].class_counts().tolist() == [1000] * 10
    imbalanced = list(PROFILES.get("deepsmote-imbalanced-test").counts)
    assert tests["imbalanced"].class_counts().tolist() == imbalanced
    # another seed draws other training images, the same test sets
    other_point = expand_grid(spec)[5 * len(spec.methods)]
    assert (other_point.seed, other_point.fold) == (1, 1)
    other = build_train_set(toolkit, spec, other_point)
    assert other.class_counts().tolist() == train.class_counts().tolist()
    assert other.images.tobytes() != train.images.tobytes()


@pytest.mark.fmnist
def test_cle_binary_fmnist_sets():
    _fmnist_or_skip()
    spec = load_spec("cle-binary-fmnist")
    toolkit = Toolkit().resolved()
    points = {p.method.id: p for p in expand_grid(spec) if p.seed == 0}
    train = build_train_set(toolkit, spec, points["none"])
    assert train.class_counts().tolist() == [6000, 60]
    assert train.class_names == ("T-shirt/top", "Trouser")
    balanced = build_train_set(toolkit, spec, points["no-class-imbalance"])
    assert balanced.class_counts().tolist() == [6000, 6000]
    (test,) = build_test_sets(toolkit, spec).values()
    assert test.class_counts().tolist() == [1000, 1000]
    assert test.class_names == train.class_names
