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
