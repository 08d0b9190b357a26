"""Latent mixup: cross-class interpolation of codes with soft labels, and training on them."""

import numpy as np
import pytest
import torch

from deepbalance.methods import get_method, run_method
from deepbalance.nets.autoencoders import decode_latents, unit_rows
from deepbalance.samplers import LatentMixup, Provenance, make_strategy
from deepbalance.samplers.mixup import LatentMixupStrategy, mixed_targets
from deepbalance.training import Recipe, TrainConfig, Trainer
from deepbalance.training import losses as losses_module

TINY = {"epochs": 2, "dim_h": 4, "latent_dim": 8}


def tiny(cls, base=TINY, **changes):
    """``cls``'s default autoencoder with the tiny settings ``base`` (and ``changes``)."""
    return cls.default_autoencoder().set_params(**{**base, **changes})


FAST = TrainConfig(epochs=2, batch_size=16, min_steps=None, classifier_params={"channels": (8, 16)})


def test_strategy_interpolates_towards_other_classes_with_the_base_dominant():
    rng = np.random.RandomState(0)
    Z = rng.normal(size=(30, 4))
    y = np.repeat([0, 1, 2], [20, 7, 3])
    Z_new, y_new, prov = make_strategy("mixup").sample(Z, y, {1: 400, 2: 600}, rng=3)
    assert y_new.tolist() == [1] * 400 + [2] * 600
    assert (y[prov.base_index] == y_new).all()  # grown from its own class ...
    assert (y[prov.neighbor_index] != y_new).all()  # ... towards another one
    assert ((prov.lam >= 0) & (prov.lam <= 0.5)).all()
    np.testing.assert_allclose(
        Z_new,
        Z[prov.base_index] + prov.lam[:, None] * (Z[prov.neighbor_index] - Z[prov.base_index]),
    )
    assert abs(prov.lam.mean() - 0.25) < 0.02  # alpha = 1: lam uniform on [0, 0.5]
    again = make_strategy("mixup").sample(Z, y, {1: 400, 2: 600}, rng=3)
    np.testing.assert_array_equal(again[0], Z_new)
    peaked = LatentMixupStrategy(alpha=8.0).sample(Z, y, {2: 600}, rng=3)[2]
    assert peaked.lam.mean() > 0.35  # Beta(8, 8) near 0.5: lam close to 0.5
    assert set(prov.strategy) == {"mixup"}


def test_mixed_targets_from_the_provenance_by_hand():
    labels = np.array([0, 0, 1])
    prov = Provenance.build(
        [1, 1, 0],
        [2, 2, 0],
        neighbor_index=[0, -1, 2],
        lam=[0.3, np.nan, 0.0],
        strategy=np.array(["mixup", "random", "mixup"], dtype=object),
    )
    targets = mixed_targets(labels, 3, prov, 2)
    np.testing.assert_allclose(
        targets,
        [[1, 0], [1, 0], [0, 1], [0.3, 0.7], [0, 1], [1, 0]],  # a mix, a copy, lam = 0
        atol=1e-7,
    )


def test_sampler_gives_soft_labels_for_its_mixed_rows(digits, tmp_path):
    train, _ = digits
    sampler = LatentMixup(random_state=0, cache_dir=tmp_path, autoencoder=tiny(LatentMixup))
    X, y = sampler.fit_resample(train.images, train.labels)
    soft = sampler.soft_labels_
    assert soft.shape == (len(X), 3) and soft.dtype == np.float32
    np.testing.assert_allclose(soft.sum(axis=1), 1.0, atol=1e-6)
    assert (soft.argmax(axis=1) == y).all()  # the base's class keeps >= half
    real = ~sampler.synthetic_mask_
    np.testing.assert_array_equal(soft[real], np.eye(3, dtype=np.float32)[y[real]])
    prov = sampler.provenance_
    mixed = prov.strategy == "mixup"
    assert mixed.sum() == int(round(0.5 * sampler.synthetic_mask_.sum()))  # copy_fraction=0.5
    rows = np.flatnonzero(sampler.synthetic_mask_)[mixed]
    other = train.labels[prov.neighbor_index[mixed]]
    np.testing.assert_allclose(soft[rows, other], prov.lam[mixed], atol=1e-6)


def test_residual_decoding_blends_base_and_partner_detail(digits, tmp_path):
    train, _ = digits
    sampler = LatentMixup(
        random_state=1, cache_dir=tmp_path, copy_fraction=0.0, autoencoder=tiny(LatentMixup)
    )
    X, _ = sampler.fit_resample(train.images, train.labels)
    prov, model, Z = sampler.provenance_, sampler.autoencoder_, sampler.latent_
    i = 0
    b, n, lam = prov.base_index[i], prov.neighbor_index[i], prov.lam[i]
    z_new = Z[b] + lam * (Z[n] - Z[b])
    decoded = decode_latents(model, np.stack([z_new, Z[b], Z[n]]).astype(np.float32))
    originals = unit_rows(train.images, np.array([b, n]))
    expected = (
        decoded[0] + (1 - lam) * (originals[0] - decoded[1]) + lam * (originals[1] - decoded[2])
    )
    got = X[len(train) + i].astype(np.float32) / 255.0
    np.testing.assert_allclose(got, np.clip(expected, 0, 1), atol=1 / 255 + 1e-4)


def test_run_method_trains_on_the_samplers_soft_labels(digits, tmp_path, monkeypatch):
    train, test = digits
    seen = []
    call = losses_module.Objective.__call__

    def spy(self, logits, y, **kw):
        seen.append(kw["soft"])
        return call(self, logits, y, **kw)

    monkeypatch.setattr(losses_module.Objective, "__call__", spy)
    method = get_method("latent-mixup", sampler_params=TINY)
    result = run_method(
        method, train, {"test": test}, config=FAST, seed=0, cache_dir=tmp_path, progress=False
    )
    assert result.n_synthetic > 0 and all(s is not None for s in seen)
    soft = torch.cat(seen)
    assert ((soft > 0) & (soft < 1)).any()  # mixed rows reached the loss
    np.testing.assert_allclose(soft.sum(dim=1).numpy(), 1.0, atol=1e-6)


def test_bad_soft_labels_and_compositions_are_named(digits):
    train, test = digits
    n = len(train)
    trainer = Trainer(FAST, progress=False)
    with pytest.raises(
        ValueError, match=rf"soft_labels must have shape \({n}, 3\).*got \({n}, 2\)"
    ):
        trainer.fit(train, {"test": test}, soft_labels=np.full((n, 2), 0.5))
    bad = np.eye(3)[train.labels] * 0.9
    with pytest.raises(ValueError, match=r"soft_labels row 0 sums to 0.9000"):
        trainer.fit(train, {"test": test}, soft_labels=bad)
    good = np.eye(3)[train.labels]
    mixing = Trainer(FAST, recipe=Recipe(batch_transform="mixup"), progress=False)
    with pytest.raises(ValueError, match=r"batch_transform='mixup' mixes labels, but the rows"):
        mixing.fit(train, {"test": test}, soft_labels=good)
    capped = Trainer(FAST, recipe=Recipe(cap="class-cosine"), progress=False)
    with pytest.raises(ValueError, match=r"soft_labels .* with the loss head .*needs hard labels"):
        capped.fit(train, {"test": test}, soft_labels=good)
    with pytest.raises(ValueError, match=r"soft_labels with val_fraction=0.2: carve"):
        Trainer(FAST.replace(val_fraction=0.2), progress=False).fit(
            train, {"test": test}, soft_labels=good
        )


def test_bad_mixup_settings_are_named():
    Z, y = np.zeros((6, 2)), np.array([0, 0, 0, 0, 1, 1])
    with pytest.raises(ValueError, match=r"alpha=0.0 is out of range; pass alpha>0"):
        LatentMixupStrategy(alpha=0).sample(Z, y, {1: 2}, rng=0)
    with pytest.raises(ValueError, match=r"y has one class"):
        LatentMixupStrategy().sample(Z[:4], y[:4], {0: 2}, rng=0)
