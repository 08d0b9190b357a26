"""``TrainConfig.min_steps``: the epochs a training set of a given size gets."""

import numpy as np
import pytest

from deepbalance import ImageSet
from deepbalance.training import TrainConfig, Trainer
from deepbalance.training.config import DEFAULT_MIN_STEPS


@pytest.mark.parametrize(
    "rows, epochs, steps",
    [
        (100, 500, 500),  # one batch per epoch: 500 epochs
        (780, 72, 504),  # 6 batches of 128 + one of 12: 7 steps per epoch
        (1_000, 63, 504),  # 8 steps per epoch
        (6_400, 10, 500),  # exactly 50 steps per epoch: the rule and the epochs meet
        (10_000, 10, 790),  # 79 steps per epoch: the 10 epochs already exceed 500 steps
    ],
)
def test_step_rule_on_hand_made_sizes(rows, epochs, steps):
    config = TrainConfig()
    assert config.min_steps == DEFAULT_MIN_STEPS == 500
    assert config.epochs_for(rows) == epochs
    assert config.epochs_for(rows) * config.steps_per_epoch(rows) == steps
    assert config.budget_text(rows).startswith(f"{steps} steps = {epochs} epochs of {rows} rows")


def test_fashion_mnist_lt_default_keeps_its_epochs():
    """The 9,000 real rows of profile deepsmote-mnist (4000 ... 40): 71 steps per epoch, 10
    epochs and 710 steps, as before the step budget existed (min_steps=None is the former
    rule), so its benchmark numbers stay bit-identical."""
    rows = sum((4000, 2000, 1000, 750, 500, 350, 200, 100, 60, 40))
    assert rows == 9_000
    before = TrainConfig(min_steps=None)
    assert TrainConfig().epochs_for(rows) == before.epochs_for(rows) == 10
    assert TrainConfig().steps_per_epoch(rows) * 10 == 710
    assert TrainConfig().for_rows(rows) == before  # the same config the trainer ran before


def test_none_trains_exactly_the_epochs_and_eval_every_scales():
    assert TrainConfig(min_steps=None, epochs=3).epochs_for(100) == 3
    resolved = TrainConfig(epochs=10, eval_every=5, min_steps=100).for_rows(128)  # 1 step/epoch
    assert (resolved.epochs, resolved.eval_every, resolved.min_steps) == (100, 50, None)
    assert TrainConfig(epochs=4, min_steps=3).epochs_for(0) == 4  # no rows: nothing to scale


@pytest.mark.parametrize("bad", [0, -5])
def test_step_budget_must_be_positive(bad):
    with pytest.raises(ValueError, match=rf"min_steps={bad} must be >= 1.*min_steps=None"):
        TrainConfig(min_steps=bad)


@pytest.mark.parametrize("bad", [True, 2.5, "500"])
def test_step_budget_must_be_an_integer(bad):
    with pytest.raises(TypeError, match="min_steps=.* must be an integer"):
        TrainConfig(min_steps=bad)


def _tiny(n=40, seed=0):
    rng = np.random.RandomState(seed)
    labels = np.arange(n) % 2
    images = rng.randint(0, 50, (n, 1, 8, 8)).astype(np.uint8)
    images[labels == 1, :, :, :4] += 150
    return ImageSet(images, labels.astype(np.int64), ("a", "b"))


def test_trainer_runs_the_resolved_budget():
    data = _tiny()
    config = TrainConfig(classifier="mlp", batch_size=16, epochs=2, min_steps=9, eval_every=1)
    # 40 rows in batches of 16: 3 steps per epoch, so 3 epochs (9 steps), not 2
    result = Trainer(config, seed=0, progress=False).fit(data, {"test": data})
    assert result.steps == 9
    assert max(r["epoch"] for r in result.history) == 3
    assert result.final["test"]["acsa"] == result.history[-1]["metrics"]["acsa"]
    exact = Trainer(config.replace(min_steps=None), seed=0, progress=False).fit(data)
    assert exact.steps == 6
