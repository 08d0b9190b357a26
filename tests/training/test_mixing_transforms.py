"""Remix, CutMix and CMO: each mechanism on hand-made batches, its bad input, and the methods
built from them (mixup-drw, remix-drw, cmo, cmo-drw)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from deepbalance.methods import get_method
from deepbalance.training import Recipe, TrainConfig, Trainer
from deepbalance.training.callbacks import Callback
from deepbalance.training.losses import ClassWeights
from deepbalance.training.transforms import (
    BATCH_TRANSFORMS,
    CMO,
    CutMix,
    Remix,
    TrainingRows,
    minority_row_weights,
    paste_box,
    random_box,
    remix_label_weights,
)

from .streams import cmo_rows_pasted

# --------------------------------------------------------------------------------------------
# Remix


@pytest.mark.parametrize(
    "lam, n_i, n_j, expected",
    [
        (0.3, 100, 10, 0.0),  # i majority (ratio 10 >= 3), minority j has the larger share
        (0.7, 100, 10, 0.7),  # i majority but it has the larger share: plain mixup label
        (0.3, 30, 10, 0.0),  # ratio exactly kappa counts as majority-minority
        (0.3, 29, 10, 0.3),  # ratio 2.9 < 3: not
        (0.7, 10, 100, 1.0),  # i minority (ratio 0.1 <= 1/3) with the larger share
        (0.3, 10, 100, 0.3),  # i minority, smaller share: plain mixup label
        (0.7, 10, 30, 1.0),  # ratio exactly 1/kappa
        (0.5, 100, 10, 0.5),  # lam = tau is not below tau
        (0.3, 20, 20, 0.3),  # equal classes
    ],
)
def test_remix_label_rule_at_kappa_3_tau_half(lam, n_i, n_j, expected):
    out = remix_label_weights(lam, [n_i], [n_j], kappa=3.0, tau=0.5)
    assert out.tolist() == [pytest.approx(expected)]


def test_remix_mixes_images_by_lambda_and_labels_by_the_rule():
    counts = np.array([100, 30, 10])
    x = torch.arange(6 * 4, dtype=torch.float32).view(6, 1, 2, 2)
    y = torch.tensor([0, 1, 2, 0, 2, 1])
    remix = Remix(alpha=1.0, kappa=3.0, tau=0.5)
    remix.setup(n_classes=3, real_counts=counts, seed=11)
    gen = torch.Generator().manual_seed(11)
    lambdas = np.random.default_rng(11).beta(1.0, 1.0, size=4)
    check_gen = torch.Generator().manual_seed(11)
    label_weights = []
    for lam in lambdas:
        mixed, soft = remix(x, y, epoch=0, generator=gen)
        perm = torch.randperm(6, generator=check_gen)
        assert remix.last_lambda == pytest.approx(lam)
        torch.testing.assert_close(mixed, float(lam) * x + (1 - float(lam)) * x[perm])
        lam_y = remix_label_weights(float(lam), counts[y.numpy()], counts[y[perm].numpy()])
        onehot = F.one_hot(y, 3).float()
        lam_y = torch.as_tensor(lam_y, dtype=torch.float32)[:, None]
        torch.testing.assert_close(soft, lam_y * onehot + (1 - lam_y) * onehot[perm])
        torch.testing.assert_close(soft.sum(1), torch.ones(6))
        label_weights.extend(remix.last_label_weights.tolist())
    # these draws move some labels wholly to the minority image, either way round
    assert {0.0, 1.0} <= set(label_weights)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"alpha": 0}, r"alpha=0 must be > 0"),
        ({"alpha": -0.5}, r"alpha=-0.5 must be > 0"),
        ({"kappa": 0.5}, r"kappa=0.5 must be >= 1.*kappa=3"),
        ({"tau": 1.5}, r"tau=1.5 must be in \[0, 1\].*tau=0.5"),
        ({"tau": -0.1}, r"tau=-0.1 must be in \[0, 1\]"),
    ],
)
def test_remix_bad_parameters_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Remix(**kwargs)


# --------------------------------------------------------------------------------------------
# CutMix's box


def test_random_box_has_the_drawn_area_and_stays_in_the_image():
    rng = np.random.default_rng(0)
    inside = 0
    for lam in np.linspace(0.0, 1.0, 21):
        top, bottom, left, right = random_box(32, 32, float(lam), rng)
        assert 0 <= top <= bottom <= 32 and 0 <= left <= right <= 32
        side = int(32 * (1 - lam) ** 0.5)
        assert bottom - top <= side and right - left <= side
        if 0 < top and bottom < 32 and 0 < left and right < 32:  # not clipped: the full side
            inside += 1
            assert bottom - top == 2 * (side // 2) and right - left == 2 * (side // 2)
    assert inside > 0


def test_paste_box_weights_the_background_by_the_share_left_unchanged():
    rng = np.random.default_rng(3)
    background, patch = torch.zeros(4, 2, 16, 16), torch.ones(4, 2, 16, 16)
    for _ in range(20):
        mixed, lam = paste_box(background, patch, rng, alpha=1.0)
        assert (mixed == 1).float().mean().item() == pytest.approx(1.0 - lam)
        assert torch.equal(background, torch.zeros_like(background))  # not changed in place


def test_cutmix_pastes_from_the_permuted_batch():
    x = torch.arange(4, dtype=torch.float32).view(4, 1, 1, 1).expand(4, 1, 8, 8).contiguous()
    y = torch.tensor([0, 1, 2, 1])
    cut = CutMix(alpha=1.0)
    cut.setup(n_classes=3, real_counts=np.array([5, 5, 5]), seed=5)
    mixed, soft = cut(x, y, epoch=0, generator=torch.Generator().manual_seed(5))
    perm = torch.randperm(4, generator=torch.Generator().manual_seed(5))
    for row in range(4):
        changed = mixed[row] != x[row]
        if y[row] != y[perm[row]]:
            assert soft[row, y[perm[row]]].item() == pytest.approx(changed.float().mean().item())
        assert torch.all(mixed[row][changed] == x[perm[row]][changed])
    torch.testing.assert_close(soft.sum(1), torch.ones(4))


# --------------------------------------------------------------------------------------------
# CMO


def _rows(labels, images, synthetic=None):
    labels = np.asarray(labels)
    synthetic = np.zeros(len(labels), bool) if synthetic is None else np.asarray(synthetic)
    return TrainingRows(labels, synthetic, lambda idx: images[idx])


def _cmo(labels, images, synthetic=None, seed=0, **params):
    cmo = CMO(**params)
    rows = _rows(labels, images, synthetic)
    real = ~rows.synthetic
    counts = np.bincount(rows.labels[real], minlength=int(rows.labels.max()) + 1)
    cmo.setup(n_classes=len(counts), real_counts=counts, seed=seed, rows=rows)
    return cmo


def test_cmo_pastes_a_minority_box_onto_the_batch_labelled_by_its_area():
    # 40 majority images (class 0, all zeros) and 4 minority images (class 1), each filled
    # with its own value, so every pasted pixel names the image it came from
    labels = np.array([0] * 40 + [1] * 4)
    images = torch.zeros(44, 1, 12, 12)
    images[40:] = torch.arange(1, 5, dtype=torch.float32).view(4, 1, 1, 1)
    cmo = _cmo(labels, images, probability=1.0, seed=2)
    batch = images[:8]
    y = torch.zeros(8, dtype=torch.int64)
    boxes = 0
    for _ in range(30):
        mixed, soft = cmo(batch, y, epoch=0, generator=torch.Generator())
        torch.testing.assert_close(soft.sum(1), torch.ones(8))
        rows, lam = cmo.last_rows, cmo.last_lambda
        for b in range(8):
            pasted = mixed[b, 0] != 0
            if labels[rows[b]] == 1:  # a minority image: its value, inside one box
                assert torch.all(mixed[b, 0][pasted] == float(rows[b] - 39))
                assert pasted.float().mean().item() == pytest.approx(1.0 - lam)
                assert soft[b, 1].item() == pytest.approx(1.0 - lam)
                assert soft[b, 0].item() == pytest.approx(lam)
                if pasted.any():
                    r, c = torch.nonzero(pasted, as_tuple=True)
                    height, width = r.max() - r.min() + 1, c.max() - c.min() + 1
                    assert pasted.sum() == height * width  # a rectangle
                    boxes += 1
            else:  # a majority image drawn (rarely): zeros pasted on zeros, label stays 0
                assert not pasted.any() and soft[b, 0].item() == pytest.approx(1.0)
    assert boxes > 50


def test_cmo_draws_real_rows_in_proportion_to_inverse_class_counts():
    counts = (80, 15, 5)
    labels = np.repeat(np.arange(3), counts)
    labels = np.concatenate([labels, [2] * 20])  # plus 20 synthetic rows of class 2
    synthetic = np.arange(len(labels)) >= sum(counts)
    images = torch.zeros(len(labels), 1, 2, 2)
    cmo = _cmo(labels, images, synthetic, seed=7)
    expected = np.where(synthetic, 0.0, 1.0 / np.array(counts, float)[labels])
    np.testing.assert_allclose(cmo.row_probabilities, expected / expected.sum())
    drawn = cmo.draw_rows(90_000)
    assert not synthetic[drawn].any()
    per_class = np.bincount(labels[drawn], minlength=3) / len(drawn)
    np.testing.assert_allclose(per_class, [1 / 3] * 3, atol=0.01)  # 1/n_c per image
    per_row = np.bincount(drawn, minlength=len(labels))[labels == 2][:5] / len(drawn)
    np.testing.assert_allclose(per_row, 1 / 15, rtol=0.1)  # 1/3 of the draws over 5 images
    # exponent 0: every real row alike, so classes in proportion to their counts
    flat = _cmo(labels, images, synthetic, seed=7, exponent=0.0).draw_rows(90_000)
    np.testing.assert_allclose(
        np.bincount(labels[flat], minlength=3) / len(flat), np.array(counts) / 100, atol=0.01
    )


def test_cmo_mixes_a_batch_with_its_probability_and_repeats_from_the_seed():
    labels = np.array([0] * 20 + [1] * 4)
    images = torch.rand(24, 1, 6, 6, generator=torch.Generator().manual_seed(0))
    y = torch.zeros(8, dtype=torch.int64)

    def run(seed, probability):
        cmo = _cmo(labels, images, seed=seed, probability=probability)
        return [cmo(images[:8], y, epoch=0, generator=torch.Generator()) for _ in range(400)]

    first, again = run(4, 0.5), run(4, 0.5)
    mixed = [soft is not None for _, soft in first]
    assert 0.43 < np.mean(mixed) < 0.57
    for (x1, s1), (x2, s2) in zip(first, again, strict=True):
        assert torch.equal(x1, x2) and (s1 is None) == (s2 is None)
        if s1 is not None:
            assert torch.equal(s1, s2)
    assert all(soft is None for _, soft in run(4, 0.0))
    assert all(soft is not None for _, soft in run(4, 1.0))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"alpha": 0}, r"alpha=0 must be > 0.*Beta\(alpha, alpha\).*alpha=1.0"),
        ({"alpha": -1.0}, r"alpha=-1.0 must be > 0"),
        ({"probability": 1.5}, r"probability=1.5 must be in \[0, 1\].*probability=0.5"),
        ({"probability": -0.1}, r"probability=-0.1 must be in \[0, 1\]"),
        ({"exponent": -1}, r"exponent=-1 must be >= 0.*exponent=1.0"),
    ],
)
def test_cmo_bad_parameters_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CMO(**kwargs)
    with pytest.raises(ValueError, match=match):
        Recipe(batch_transform="cmo", batch_transform_params=kwargs)


def test_cutmix_bad_parameters_are_named():
    with pytest.raises(ValueError, match=r"alpha=0 must be > 0"):
        CutMix(alpha=0)
    with pytest.raises(ValueError, match=r"probability=2 must be in \[0, 1\]"):
        CutMix(probability=2)


def test_cmo_needs_the_training_rows():
    with pytest.raises(ValueError, match="rows=None.*TrainingRows"):
        CMO().setup(n_classes=2, real_counts=np.array([3, 1]), seed=0)
    with pytest.raises(ValueError, match="every row is synthetic"):
        minority_row_weights([0, 1], [True, True])


# --------------------------------------------------------------------------------------------
# the methods


def test_the_methods_are_the_anchor_recipes():
    drw = get_method("drw").recipe
    assert (drw.weighting, drw.drw_start) == ("effective", 0.5)
    expected = {
        "mixup-drw": ("mixup", {"alpha": 1.0}, drw),
        "remix-drw": ("remix", {"alpha": 1.0, "kappa": 3.0, "tau": 0.5}, drw),
        "cmo": ("cmo", {"alpha": 1.0, "probability": 0.5, "exponent": 1.0}, Recipe()),
        "cmo-drw": ("cmo", {"alpha": 1.0, "probability": 0.5, "exponent": 1.0}, drw),
    }
    for name, (transform, params, base) in expected.items():
        method = get_method(name)
        assert method.sampler is None, name
        assert method.recipe == base.replace(
            batch_transform=transform, batch_transform_params=params
        ), name
        assert method.description, name


@pytest.mark.parametrize("name", ["mixup-drw", "remix-drw", "cmo", "cmo-drw"])
def test_soft_label_methods_refuse_the_cap(name):
    with pytest.raises(ValueError, match=r"mixes labels, but cap='class-cosine'.*drop the cap"):
        get_method(name, cap="class-cosine")


class _Watch(Callback):
    """Per epoch: whether class weights are active at the epoch's start."""

    def __init__(self):
        self.weighted = []

    def on_epoch_end(self, state):
        head = state.objective.head(ClassWeights)
        self.weighted.append(head is not None and head.at(state.epoch) is not None)


def test_drw_weights_the_mixed_rows_from_half_way(digits, monkeypatch):
    train, test = digits
    seen = []

    class Spy(Remix):
        def __call__(self, x, y, *, epoch, generator):
            seen.append(epoch)
            return super().__call__(x, y, epoch=epoch, generator=generator)

    monkeypatch.setitem(BATCH_TRANSFORMS._entries, "spy-remix", Spy)
    recipe = get_method("remix-drw").recipe.replace(batch_transform="spy-remix")
    watch = _Watch()
    Trainer(
        TrainConfig(epochs=4, batch_size=16, min_steps=None),
        recipe=recipe,
        progress=False,
        callbacks=[watch],
    ).fit(train, {"test": test})
    assert set(seen) == {0, 1, 2, 3}  # mixed throughout
    assert watch.weighted == [False, False, True, True]


def test_cmo_in_the_trainer_draws_real_rows_only_and_repeats(digits, monkeypatch):
    train, test = digits
    synthetic = np.zeros(len(train), bool)
    synthetic[-3:] = True  # pretend a sampler made the last rows (class 2)
    drawn = cmo_rows_pasted(monkeypatch)
    recipe = get_method("cmo").recipe.replace(batch_transform="spy-cmo")
    config = TrainConfig(epochs=2, batch_size=16, min_steps=None)

    def fit():
        return Trainer(config, recipe=recipe, seed=1, progress=False).fit(
            train, {"test": test}, synthetic_mask=synthetic
        )

    first = fit()
    rows = np.concatenate(drawn)
    assert len(drawn) > 0 and not synthetic[rows].any()
    second = fit()
    assert first.losses == second.losses and first.final == second.final
