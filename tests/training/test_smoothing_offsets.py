"""Label smoothing under a logit adjustment: where the uniform distribution is mixed in."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from deepbalance.training.losses import LogitAdjustment, Objective
from deepbalance.training.recipe import Recipe

COUNTS = np.array([1000, 100, 10])  # a ratio of 100 between the largest and the rarest class


def _optimum(smoothing: str, tau: float = 1.0, epsilon: float = 0.1) -> torch.Tensor:
    """Raw logits of one image of the largest class that minimise the objective."""
    adjustment = LogitAdjustment.from_counts(COUNTS, tau=tau)
    objective = Objective([adjustment], label_smoothing=epsilon, smoothing=smoothing)
    logits = torch.zeros(1, 3, requires_grad=True)
    optimiser = torch.optim.LBFGS([logits], max_iter=200, line_search_fn="strong_wolfe")
    y = torch.tensor([0])

    def closure():
        optimiser.zero_grad()
        loss = objective(logits, y, epoch=0)
        loss.backward()
        return loss

    for _ in range(5):
        optimiser.step(closure)
    return logits.detach()


def test_uniform_smoothing_on_adjusted_logits_predicts_the_rarest_class_at_its_optimum():
    # epsilon / K / prior_rare = 0.1 / 3 * 1110 / 10 = 3.7 > 0.933 * 1110 / 1000: the
    # raw logits' optimum prefers the rarest class for an image of the largest
    logits = _optimum("uniform")
    assert int(logits.argmax()) == 2


def test_balanced_smoothing_keeps_the_raw_optimum_at_the_smoothed_one_hot_target():
    logits = _optimum("balanced")
    assert int(logits.argmax()) == 0
    probs = F.softmax(logits, dim=1)[0].numpy()
    np.testing.assert_allclose(probs, [0.9 + 0.1 / 3, 0.1 / 3, 0.1 / 3], atol=1e-4)


def test_without_an_adjustment_or_smoothing_both_are_the_same_loss():
    torch.manual_seed(0)
    logits, y = torch.randn(8, 3), torch.randint(0, 3, (8,))
    for heads in ([], [LogitAdjustment.from_counts(COUNTS)]):
        epsilons = (0.1, 0.0) if not heads else (0.0,)
        for epsilon in epsilons:
            uniform = Objective(heads, label_smoothing=epsilon, smoothing="uniform")
            balanced = Objective(heads, label_smoothing=epsilon, smoothing="balanced")
            torch.testing.assert_close(uniform(logits, y, epoch=0), balanced(logits, y, epoch=0))


def test_smoothed_target_is_a_distribution_for_soft_targets_too():
    adjustment = LogitAdjustment.from_counts(COUNTS, tau=0.5)
    soft = torch.tensor([[0.7, 0.3, 0.0], [0.0, 0.0, 1.0]])
    target = adjustment.smoothed_target(soft, 0.1)
    torch.testing.assert_close(target.sum(dim=1), torch.ones(2))
    assert (target > 0).all()


def test_bad_smoothing_is_named():
    with pytest.raises(ValueError, match="smoothing"):
        Objective([], smoothing="prior")
    with pytest.raises(ValueError, match="smoothing"):
        Recipe(smoothing="nope")


def test_smoothing_none_ignores_the_configs_label_smoothing():
    torch.manual_seed(0)
    logits, y = torch.randn(8, 3), torch.randint(0, 3, (8,))
    adjustment = LogitAdjustment.from_counts(COUNTS)
    none = Objective([adjustment], label_smoothing=0.1, smoothing="none")
    plain = Objective([adjustment], label_smoothing=0.0)
    torch.testing.assert_close(none(logits, y, epoch=0), plain(logits, y, epoch=0))


def test_balanced_softmax_trains_as_without_label_smoothing(one_thread):
    """The registered method under the default recipe (label smoothing 0.1) trains exactly as
    balanced softmax with label smoothing 0 (benchmarks/smoothing_offsets.py's runs)."""
    from deepbalance import load_dataset, make_imbalanced
    from deepbalance.methods import get_method, run_method
    from deepbalance.training import TrainConfig

    train = make_imbalanced(load_dataset("digits", "train"), "longtail", seed=0, rho=10.0)
    tests = {"test": load_dataset("digits", "test")}
    config = TrainConfig(
        epochs=2, batch_size=32, min_steps=None, classifier_params={"channels": [8, 16, 16]}
    )
    method = get_method("balanced-softmax")
    assert method.recipe.smoothing == "none"
    a = run_method(method, train, tests, config=config, seed=0, progress=False)
    b = run_method(
        get_method("balanced-softmax", smoothing="uniform"),
        train,
        tests,
        config=config.replace(label_smoothing=0.0),
        seed=0,
        progress=False,
    )
    assert a.final["test"]["acsa"] == b.final["test"]["acsa"]
    np.testing.assert_array_equal(
        a.final["test"]["confusion_matrix"], b.final["test"]["confusion_matrix"]
    )
