"""Triplet sampling (real positives and negatives only) and the triplet loss."""

import numpy as np
import pytest
import torch

from deepbalance.training import TripletPretraining, TripletSampler, triplet_loss


@pytest.fixture
def rows():
    rng = np.random.RandomState(0)
    labels = rng.randint(0, 3, size=200)
    synthetic = rng.rand(200) < 0.5
    labels[:3], synthetic[:3] = [0, 1, 2], False  # every class keeps real rows
    return labels, synthetic


def test_positives_and_negatives_are_always_real(rows):
    labels, synthetic = rows
    sampler = TripletSampler(labels, synthetic, 3)
    gen = torch.Generator().manual_seed(0)
    anchors = torch.arange(len(labels))
    seen_pos = set()
    for _ in range(50):
        pos, neg = (t.numpy() for t in sampler.sample(anchors, gen))
        assert not synthetic[pos].any() and not synthetic[neg].any()
        assert np.array_equal(labels[pos], labels)
        assert np.all(labels[neg] != labels)
        real_anchor = ~synthetic
        assert np.all(pos[real_anchor] != np.flatnonzero(real_anchor))  # not its own positive
        seen_pos.update(pos.tolist())
    assert seen_pos == set(np.flatnonzero(~synthetic).tolist())  # every real row gets drawn


def test_single_real_row_is_its_own_positive():
    labels, synthetic = np.array([0, 0, 0, 1, 1]), np.array([False, True, True, False, False])
    pos, neg = TripletSampler(labels, synthetic, 2).sample(torch.arange(5), torch.Generator())
    assert pos[:3].tolist() == [0, 0, 0]
    assert set(neg[:3].tolist()) <= {3, 4} and neg[3:].tolist() == [0, 0]


def test_class_without_real_rows_is_an_error():
    labels, synthetic = np.array([0, 0, 1, 1]), np.array([False, False, True, True])
    with pytest.raises(ValueError, match=r"class\(es\) \['b'\] have no real rows"):
        TripletSampler(labels, synthetic, 2, class_names=("a", "b"))


def test_triplet_loss_by_hand():
    a = torch.tensor([[0.0, 0.0], [0.0, 0.0]])
    p = torch.tensor([[3.0, 4.0], [1.0, 0.0]])  # distances 5 and 1
    n = torch.tensor([[1.0, 0.0], [0.0, 2.0]])  # distances 1 and 2
    assert triplet_loss(a, p, n).item() == pytest.approx((4.0 + 0.0) / 2, abs=1e-5)
    assert triplet_loss(a, p, n, margin=1.5).item() == pytest.approx((5.5 + 0.5) / 2, abs=1e-5)


def test_v1_anchors_are_real_rows_only():
    synthetic = np.array([False, True, False, True])
    assert TripletPretraining(anchors="real").anchor_rows(synthetic).tolist() == [0, 2]
    assert TripletPretraining(anchors="all").anchor_rows(synthetic).tolist() == [0, 1, 2, 3]


def test_negative_margin_is_an_error():
    with pytest.raises(ValueError, match="margin=-1 must be >= 0"):
        TripletPretraining(margin=-1)
