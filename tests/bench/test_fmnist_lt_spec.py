"""The ``fmnist-lt`` spec trains and tests on exactly the data and recipe of the benchmark
scripts behind the README's Fashion-MNIST-LT table (benchmarks/recipe.py)."""

from pathlib import Path

import numpy as np
import pytest

from deepbalance import load_dataset, make_imbalanced
from deepbalance.bench import load_spec
from deepbalance.bench.runner import Toolkit, build_test_sets, build_train_set, expand_grid
from deepbalance.training import TrainConfig

DEBIAN = Path("/usr/share/datasets/fashion-mnist")


def test_the_spec_names_registered_methods_and_the_recipe_of_the_scripts():
    spec = load_spec("fmnist-lt")
    assert spec.seeds == (0, 1, 2, 3, 4)
    config = TrainConfig(**spec.train.as_dict())
    script = TrainConfig(eval_every=TrainConfig().epochs)  # benchmarks/recipe.py's config
    # on the 9,000 rows of the profile the script's step budget does not bind: the same run
    assert config.for_rows(9_000) == script.for_rows(9_000)
    ids = [m.id for m in spec.methods]
    assert {"none", "random-oversampling", "deepsmote", "deepsmote-published"} <= set(ids)


@pytest.mark.fmnist
@pytest.mark.skipif(not DEBIAN.is_dir(), reason="needs: apt-get install dataset-fashion-mnist")
def test_train_and_test_sets_equal_the_scripts():
    spec = load_spec("fmnist-lt")
    toolkit = Toolkit().resolved()
    full = load_dataset("fashion-mnist", split="train")
    test = load_dataset("fashion-mnist", split="test")
    for point in [p for p in expand_grid(spec) if p.method.id == "none"][:2]:
        train = build_train_set(toolkit, spec, point)
        script = make_imbalanced(full, "deepsmote-mnist", seed=point.seed)
        np.testing.assert_array_equal(train.labels, script.labels)
        np.testing.assert_array_equal(train.images, script.images)
    tests = build_test_sets(toolkit, spec)
    np.testing.assert_array_equal(tests["balanced"].images, test.images)
    imbalanced = make_imbalanced(test, "deepsmote-imbalanced-test", seed=0)
    np.testing.assert_array_equal(tests["imbalanced"].labels, imbalanced.labels)
    np.testing.assert_array_equal(tests["imbalanced"].images, imbalanced.images)
