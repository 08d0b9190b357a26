"""Per-class diagnostics of synthetic images: fidelity, novelty, diversity, reconstruction."""

import numpy as np
import pytest
from sklearn.datasets import load_digits

from deepbalance.samplers import DeepSMOTE, PixelSMOTE, RandomOversampler
from deepbalance.samplers.diagnostics import COLUMNS, format_diagnostics, synthetic_diagnostics


def build(cls, **params):
    """``cls`` with flat autoencoder parameters, as methods and specs name them."""
    return cls(**cls.fold_autoencoder_params(params))


@pytest.fixture(scope="module")
def digits3():
    d = load_digits()
    X = np.rint(d.images * (255.0 / 16.0)).astype(np.uint8)[:, None]
    y = d.target
    train = np.concatenate([np.flatnonzero(y == c)[:n] for c, n in [(0, 80), (1, 25), (2, 12)]])
    hold = np.concatenate([np.flatnonzero(y == c)[-30:] for c in range(3)])
    return X[train], y[train], X[hold], y[hold]


def test_copies_have_zero_novelty_and_full_fidelity(digits3):
    X, y, Xh, yh = digits3
    sampler = RandomOversampler(random_state=0)
    X_res, y_res = sampler.fit_resample(X, y)
    rows = synthetic_diagnostics(sampler, X, y, X_res, y_res, X_holdout=Xh, y_holdout=yh)
    assert [r["class"] for r in rows] == [1, 2] and all(tuple(r) == COLUMNS for r in rows)
    for r in rows:
        assert r["novelty"] == pytest.approx(0.0, abs=1e-6)  # every synthetic row is a real one
        assert r["fidelity"] >= 0.9 and r["reference_recall"] >= 0.8
        assert np.isnan(r["reconstruction_mse"]) and r["reconstruction_split"] is None
        assert r["n_synthetic"] == 80 - r["n_real"]


def test_noise_is_flagged_as_off_class_and_far_from_the_real_images(digits3):
    X, y, Xh, yh = digits3

    class NoiseSampler:
        """Appends uniform noise images labelled as class 2."""

        def fit_resample(self, X, y):
            noise = np.random.RandomState(0).randint(0, 256, (40, *X.shape[1:]), dtype=np.uint8)
            self.synthetic_mask_ = np.r_[np.zeros(len(X), bool), np.ones(40, bool)]
            return np.concatenate([X, noise]), np.r_[y, np.full(40, 2)]

    sampler = NoiseSampler()
    X_res, y_res = sampler.fit_resample(X, y)
    (row,) = synthetic_diagnostics(sampler, X, y, X_res, y_res)
    assert row["class"] == 2 and row["fidelity"] < 0.5 and row["novelty"] > 2.0
    assert row["reference_recall"] > 0.8  # cross-validated on the real rows


def test_smote_is_between_copies_and_noise(digits3):
    X, y, _, _ = digits3
    sampler = PixelSMOTE(random_state=0)
    X_res, y_res = sampler.fit_resample(X, y)
    rows = synthetic_diagnostics(sampler, X, y, X_res, y_res)
    for r in rows:
        assert 0.0 < r["novelty"] < 1.5 and 0.3 < r["diversity"] < 1.2


def test_latent_sampler_reports_reconstruction_per_class(digits3):
    X, y, Xh, yh = digits3
    sampler = build(DeepSMOTE, random_state=0, epochs=2, dim_h=4, latent_dim=8)
    X_res, y_res = sampler.fit_resample(X, y)
    rows = synthetic_diagnostics(
        sampler, X, y, X_res, y_res, X_holdout=Xh, y_holdout=yh, classes=[2]
    )
    assert [r["class"] for r in rows] == [2] and rows[0]["reconstruction_split"] == "holdout"
    held = yh == 2
    from deepbalance.nets.autoencoders import decode_latents, encode_images

    X01 = Xh[held].astype(np.float32) / 255
    expected = np.mean(
        (decode_latents(sampler.autoencoder_, encode_images(sampler.autoencoder_, X01)) - X01) ** 2
    )
    assert rows[0]["reconstruction_mse"] == pytest.approx(expected, rel=1e-5)
    table = format_diagnostics(rows, class_names=["zero", "one", "two"])
    assert "| two | 12 | 68 |" in table and "(holdout)" in table


def test_bad_input_is_named(digits3):
    X, y, Xh, yh = digits3
    with pytest.raises(ValueError, match="is not fitted"):
        synthetic_diagnostics(PixelSMOTE(), X, y, X, y)
    sampler = RandomOversampler(random_state=0)
    X_res, y_res = sampler.fit_resample(X, y)
    with pytest.raises(ValueError, match=r"classes=\[0\]: \[0\] got no synthetic rows"):
        synthetic_diagnostics(sampler, X, y, X_res, y_res, classes=[0])
    with pytest.raises(ValueError, match="pass both X_holdout and y_holdout"):
        synthetic_diagnostics(sampler, X, y, X_res, y_res, X_holdout=Xh)
    with pytest.raises(ValueError, match="synthetic_mask_ covers"):
        synthetic_diagnostics(sampler, X, y, X_res[:-1], y_res[:-1])
    with pytest.raises(ValueError, match="outside \\[0, 1\\]"):
        synthetic_diagnostics(sampler, X, y, X_res.astype(np.float32), y_res)


def test_residual_adds_back_the_base_images_detail(digits3):
    from deepbalance.nets.autoencoders import decode_latents

    X, y, _, _ = digits3
    kw = {"random_state": 0, "epochs": 2, "dim_h": 4, "latent_dim": 8, "copy_fraction": 0.0}
    plain, residual = build(DeepSMOTE, residual=False, **kw), build(DeepSMOTE, residual=True, **kw)
    X_p, _ = plain.fit_resample(X, y)
    X_r, _ = residual.fit_resample(X, y)
    rows = np.asarray(residual.provenance_.base_index)
    assert (rows >= 0).all() and np.array_equal(rows, plain.provenance_.base_index)
    decoded_base = decode_latents(residual.autoencoder_, residual.latent_[rows])
    syn_p = X_p[plain.synthetic_mask_].astype(np.float32) / 255
    expected = np.clip(syn_p + X[rows].astype(np.float32) / 255 - decoded_base, 0, 1)
    got = X_r[residual.synthetic_mask_].astype(np.float32) / 255
    assert np.abs(got - expected).max() <= 1.5 / 255  # uint8 rounding of both outputs
    assert np.abs(got - syn_p).mean() > 0.01  # the detail changed the images
    # the fitted images are kept for generate(); a sampler fitted without them needs X
    np.testing.assert_array_equal(residual.generate(2, 1), residual.generate(2, 1, X=X))
    plain.residual = True
    with pytest.raises(ValueError, match="residual=True adds each base image's detail"):
        plain.generate(2, 1)
    with pytest.raises(TypeError, match="residual='yes' must be True or False"):
        build(DeepSMOTE, residual="yes", **kw).fit_resample(X, y)


def test_copy_fraction_mixes_real_copies_into_the_decoded_rows(digits3):
    X, y, _, _ = digits3
    kw = {"random_state": 0, "epochs": 2, "dim_h": 4, "latent_dim": 8, "residual": False}
    decoded_only = build(DeepSMOTE, copy_fraction=0.0, **kw)
    X_d, _ = decoded_only.fit_resample(X, y)
    mixed = build(DeepSMOTE, copy_fraction=0.5, **kw)
    X_m, y_m = mixed.fit_resample(X, y)
    prov = mixed.provenance_
    copies = prov.strategy == "random"
    # classes 1 and 2 ask for 55 and 68 rows: round(0.5 * n) copies each, the rest decoded
    asked = {1: 55, 2: 68}
    y_syn = y_m[mixed.synthetic_mask_]
    for c, n in asked.items():
        assert (y_syn == c).sum() == n
        assert (copies & (y_syn == c)).sum() == round(0.5 * n)
    syn = X_m[mixed.synthetic_mask_]
    # copies are the real images themselves, of their own class; the rest are decodings
    assert np.array_equal(syn[copies], X[prov.base_index[copies]])
    assert (y[prov.base_index[copies]] == y_syn[copies]).all()
    assert (prov.neighbor_index[copies] == -1).all() and (prov.strategy[~copies] == "smote").all()
    # the autoencoder is the same one (copies draw from the generator after it is trained)
    assert np.array_equal(mixed.latent_, decoded_only.latent_)
    decoded = syn[~copies].reshape((~copies).sum(), -1)
    bases = X[prov.base_index[~copies]].reshape(len(decoded), -1)
    assert not (decoded == bases).all(axis=1).any()
    all_copies = build(DeepSMOTE, copy_fraction=1.0, **kw)
    X_c, _ = all_copies.fit_resample(X, y)
    assert (all_copies.provenance_.strategy == "random").all()
    assert np.array_equal(X_c[all_copies.synthetic_mask_], X[all_copies.provenance_.base_index])
    assert len(X_d) == len(X_m) == len(X_c)
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match="copy_fraction"):
            build(DeepSMOTE, copy_fraction=bad, **kw).fit_resample(X, y)
    with pytest.raises(TypeError, match="copy_fraction='half' must be a number"):
        build(DeepSMOTE, copy_fraction="half", **kw).fit_resample(X, y)
