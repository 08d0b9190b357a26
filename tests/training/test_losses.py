"""Loss-level pieces checked against hand-computed values."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from deepbalance.training import (
    BalancedSoftmax,
    CappedLoss,
    ClassMeanCap,
    ClassWeights,
    LogitAdjustment,
    Objective,
    Recipe,
    effective_number_weights,
    inverse_frequency_weights,
)


def test_inverse_frequency_weights_by_hand():
    # 1/n = [1/30, 1/12, 1/7], scaled so the three weights sum to 3
    w = inverse_frequency_weights([30, 12, 7])
    np.testing.assert_allclose(w, [0.385321, 0.963303, 1.651376], atol=1e-6)
    assert w.sum() == pytest.approx(3.0)


def test_effective_number_weights_by_hand():
    # (1 - 0.999) / (1 - 0.999**n): 0.0338192, 0.0837927, 0.1432863 -> scaled to sum 3
    w = effective_number_weights([30, 12, 7], beta=0.999)
    raw = np.array([0.0338192, 0.0837927, 0.1432863])
    np.testing.assert_allclose(w, raw * 3 / raw.sum(), rtol=1e-5)


def test_effective_weights_tend_to_uniform_as_beta_goes_to_zero():
    np.testing.assert_allclose(effective_number_weights([100, 10], beta=0.0), [1.0, 1.0])


def test_weights_need_every_class_to_have_real_rows():
    with pytest.raises(ValueError, match=r"\['cat'\] have no real training rows"):
        inverse_frequency_weights([5, 0], class_names=("dog", "cat"))


def test_objective_weighted_mean_matches_torch_cross_entropy():
    torch.manual_seed(0)
    logits, y = torch.randn(6, 3), torch.tensor([0, 1, 2, 2, 1, 0])
    w = [0.5, 1.0, 2.0]
    loss = Objective(weights=ClassWeights(w))(logits, y, epoch=0)
    expected = F.cross_entropy(logits, y, weight=torch.tensor(w))
    torch.testing.assert_close(loss, expected)


def test_deferred_reweighting_switches_on_at_start_epoch():
    weights = ClassWeights([1.0, 3.0], start_epoch=2)
    assert weights.at(0) is None and weights.at(1) is None
    torch.testing.assert_close(weights.at(2), torch.tensor([1.0, 3.0]))
    objective = Objective(weights=weights)
    logits, y = torch.tensor([[2.0, 0.0], [0.0, 1.0]]), torch.tensor([0, 1])
    plain = F.cross_entropy(logits, y)
    weighted = F.cross_entropy(logits, y, weight=torch.tensor([1.0, 3.0]))
    torch.testing.assert_close(objective(logits, y, epoch=1), plain)
    torch.testing.assert_close(objective(logits, y, epoch=2), weighted)


def test_drw_start_fraction_and_epoch():
    assert Recipe(weighting="effective", drw_start=0.8).drw_start_epoch(200) == 160
    assert Recipe(weighting="effective", drw_start=3).drw_start_epoch(200) == 3
    recipe = Recipe(weighting="effective", drw_start=0.5)
    # the weights are not in the loss until their phase (deferred re-weighting) adds them
    assert recipe.build_objective([8, 2], epochs=10).weights is None
    [(start, phase)] = recipe.build_phases(10)
    assert start == 5 and type(phase).__name__ == "Reweight" and phase.weighting == "effective"


def test_logit_adjustment_offsets():
    la = LogitAdjustment([0.5, 0.25, 0.25], tau=1.0)
    np.testing.assert_allclose(la.offsets, [np.log(0.5), np.log(0.25), np.log(0.25)], rtol=1e-6)
    logits = torch.tensor([[1.0, 2.0, 3.0]])
    torch.testing.assert_close(la(logits), logits + torch.log(torch.tensor([0.5, 0.25, 0.25])))
    la2 = LogitAdjustment.from_counts([20, 10, 10], tau=2.0)
    np.testing.assert_allclose(la2.offsets, 2 * np.log([0.5, 0.25, 0.25]), rtol=1e-6)


def test_logit_adjustment_loss_is_cross_entropy_of_shifted_logits():
    logits, y = torch.tensor([[0.2, -0.1], [1.0, 0.3]]), torch.tensor([1, 0])
    objective = Objective(logit_adjustment=LogitAdjustment.from_counts([90, 10]))
    shifted = logits + torch.log(torch.tensor([0.9, 0.1]))
    torch.testing.assert_close(objective(logits, y, epoch=0), F.cross_entropy(shifted, y))


def test_balanced_softmax_equals_logit_adjustment_with_tau_one():
    bs, la = BalancedSoftmax.from_counts([30, 12, 7]), LogitAdjustment.from_counts([30, 12, 7])
    torch.testing.assert_close(bs.offsets, la.offsets)
    with pytest.raises(ValueError, match="tau=2"):
        BalancedSoftmax([0.5, 0.5], tau=2.0)


def test_capped_loss_formula_and_zero_gradient_when_capped():
    logits = torch.tensor([[2.0, 0.0], [0.0, 0.0], [-3.0, 3.0], [1.0, 0.0]], requires_grad=True)
    y = torch.tensor([1, 0, 0, 1])
    synthetic = torch.tensor([True, True, True, False])
    ce = F.cross_entropy(logits, y, reduction="none")  # 2.127, 0.693, 6.002, 1.313
    out = CappedLoss(1.5)(ce, y, synthetic)
    expected = torch.stack([torch.tensor(1.5), ce[1], torch.tensor(1.5), ce[3]])
    torch.testing.assert_close(out, expected)
    out.sum().backward()
    grad = logits.grad
    assert torch.all(grad[0] == 0) and torch.all(grad[2] == 0)  # capped synthetic rows
    assert torch.all(grad[1] != 0) and torch.all(grad[3] != 0)  # below the cap / real row


class _FixedMeans:
    """Stand-in for the trainer's epoch context with known real embeddings."""

    n_classes = 2
    class_names = ("a", "b")
    synthetic_classes = np.array([0, 1])

    def real_embeddings(self):
        return torch.tensor([[1.0, 0.0], [3.0, 0.0], [0.0, 2.0]]), torch.tensor([0, 0, 1])


def test_cosine_cap_by_hand():
    cap = ClassMeanCap(beta=1.0)
    cap.on_epoch_start(_FixedMeans())
    torch.testing.assert_close(cap.class_means_, torch.tensor([[2.0, 0.0], [0.0, 2.0]]))
    emb = torch.tensor([[0.0, 1.0], [1.0, 1.0], [-1.0, 0.0], [0.0, 5.0]])
    y = torch.tensor([0, 0, 0, 1])
    # cosine distances to mu_0 = (2, 0): 1, 1 - 1/sqrt(2), 2; to mu_1: 0 (-> no cap)
    values = cap(emb, y, torch.ones(4, dtype=torch.bool))
    torch.testing.assert_close(values[:3], torch.tensor([1.0, 1 / (1 - 2**-0.5), 0.5]))
    assert values[3] > 1e6


def test_euclidean_cap_and_beta_scaling():
    cap = ClassMeanCap(beta=2.0, distance="euclidean")
    cap.on_epoch_start(_FixedMeans())
    values = cap(torch.tensor([[2.0, 4.0], [0.0, 1.0]]), torch.tensor([0, 1]), None)
    torch.testing.assert_close(values, torch.tensor([2.0 / 4.0, 2.0 / 1.0]))


def test_cosine_capped_loss_on_synthetic_rows_only():
    cap = ClassMeanCap(beta=1.0)
    cap.on_epoch_start(_FixedMeans())
    emb = torch.tensor([[-1.0, 0.0], [-1.0, 0.0]], requires_grad=True)  # distance 2 -> cap 0.5
    ce = torch.tensor([3.0, 3.0], requires_grad=True)
    out = CappedLoss(cap)(ce, torch.tensor([0, 0]), torch.tensor([True, False]), emb)
    torch.testing.assert_close(out, torch.tensor([0.5, 3.0]))
    out.sum().backward()
    assert emb.grad is None or torch.all(emb.grad == 0)
    torch.testing.assert_close(ce.grad, torch.tensor([0.0, 1.0]))


def test_undetached_cap_passes_gradient_to_the_embedding():
    cap = ClassMeanCap(beta=1.0)
    cap.on_epoch_start(_FixedMeans())
    emb = torch.tensor([[-1.0, 0.5]], requires_grad=True)
    out = CappedLoss(cap, detach=False)(
        torch.tensor([9.0]), torch.tensor([0]), torch.tensor([True]), emb
    )
    out.sum().backward()
    assert torch.any(emb.grad != 0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"beta": 0}, r"beta=0 must be > 0"),
        ({"beta": -1.0}, r"beta=-1.0 must be > 0"),
        ({"margin": -0.1}, r"margin=-0.1 must be >= 0"),
        ({"cap": "cosine"}, r"cap='cosine'.*class-cosine"),
        ({"drw_start": 0.8}, r"weighting='effective'"),
        ({"logit_adjustment": "la"}, r"logit_adjustment='la'"),
    ],
)
def test_bad_recipe_values_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Recipe(**kwargs)


def test_bad_cap_beta_is_named():
    with pytest.raises(ValueError, match="beta=0"):
        ClassMeanCap(beta=0)
