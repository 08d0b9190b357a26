"""Learning-rate search: scored on a validation split of the training rows, deterministic."""

import numpy as np
import pytest
from sklearn.datasets import load_digits

from deepbalance.data.imageset import ImageSet
from deepbalance.training import TrainConfig
from deepbalance.tuning import DEFAULT_SEARCH_FRACTION, check_lr_grid, search_learning_rate

CONFIG = TrainConfig(
    classifier="mlp",
    classifier_params={"hidden": (32, 16)},
    epochs=4,
    eval_every=2,
    optimizer="adam",
    schedule="constant",
    augment="none",
)


@pytest.fixture(scope="module")
def digits():
    d = load_digits()
    X = np.rint(d.images * (255.0 / 16.0)).astype(np.uint8)[:, None]
    y = d.target.astype(np.int64)
    rows = np.concatenate([np.flatnonzero(y == c)[:n] for c, n in enumerate((80, 40, 20))])
    return ImageSet(X[rows], y[rows], ("0", "1", "2"), "digits")


def test_the_search_keeps_the_rate_best_on_validation(digits):
    grid = [1e-6, 3e-2]  # the first barely moves the weights in 4 epochs
    search = search_learning_rate("none", digits, config=CONFIG, seed=0, grid=grid)
    assert list(search.scores) == grid and search.chosen == 3e-2
    assert search.scores[3e-2] > search.scores[1e-6]
    assert (search.metric, search.selection) == ("acsa", "best")
    assert search.fraction == DEFAULT_SEARCH_FRACTION
    again = search_learning_rate("none", digits, config=CONFIG, seed=0, grid=grid)
    assert again.scores == search.scores  # same seed, same numbers
    final = search_learning_rate(
        "random-oversampling", digits, config=CONFIG.replace(val_fraction=0.2), seed=1,
        grid=grid, selection="final", metric="macro_f1",
    )  # fmt: skip
    assert final.fraction == 0.2 and final.metric == "macro_f1" and final.chosen == 3e-2
    assert final.as_dict()["scores"] == [[lr, final.scores[lr]] for lr in grid]


@pytest.mark.parametrize(
    "grid, match",
    [
        ([], "non-empty list"),
        ("0.1", "non-empty list"),
        ([0.1, 0.1], "repeats"),
        ([0.1, -1], "finite rate > 0"),
        ([True], "not a number"),
        ([float("nan")], "finite rate > 0"),
    ],
)
def test_bad_grids_are_named(grid, match):
    with pytest.raises(ValueError, match=match):
        check_lr_grid(grid)


def test_bad_search_settings_are_named(digits):
    with pytest.raises(ValueError, match="selection"):
        search_learning_rate("none", digits, config=CONFIG, seed=0, grid=[0.1], selection="top")
    with pytest.raises(ValueError, match="fraction=0 leaves nothing"):
        search_learning_rate("none", digits, config=CONFIG, seed=0, grid=[0.1], fraction=0)
    with pytest.raises(ValueError, match="metric='auroc_abnormal' is not measured"):
        search_learning_rate(
            "none", digits, config=CONFIG, seed=0, grid=[0.1], metric="auroc_abnormal"
        )
