"""Latent samplers at scale: decoding in batches straight into the output, and refusal of
requests that cannot fit."""

import numpy as np
import pytest

from deepbalance.nets.autoencoders import decode_latents
from deepbalance.samplers import DeepSMOTE, latent
from deepbalance.samplers.memory import ENV_VAR, InsufficientMemoryError

TINY = {"dim_h": 4, "latent_dim": 8, "epochs": 1, "batch_size": 16}


def tiny(cls, base=TINY, **changes):
    """``cls``'s default autoencoder with the tiny settings ``base`` (and ``changes``)."""
    return cls.default_autoencoder().set_params(**{**base, **changes})


def _restored(layout, images):
    return layout.restore(images)


@pytest.mark.parametrize("residual", [False, True])
def test_batched_decoding_equals_decoding_everything(tiny_images, monkeypatch, residual):
    X, y = tiny_images
    monkeypatch.setattr(latent, "DECODE_BATCH", 5)  # 41 rows -> 9 batches
    s = DeepSMOTE(random_state=0, residual=residual, copy_fraction=0.0, autoencoder=tiny(DeepSMOTE))
    Xr, _ = s.fit_resample(X, y)
    p = s.provenance_
    Z = s.latent_
    lam = p.lam[:, None]
    Z_new = (Z[p.base_index] + lam * (Z[p.neighbor_index] - Z[p.base_index])).astype(np.float32)
    decoded = decode_latents(s.autoencoder_, Z_new)
    if residual:
        X01 = (X / np.float32(255)).astype(np.float32)
        detail = X01[p.base_index] - decode_latents(s.autoencoder_, Z[p.base_index])
        decoded = np.clip(decoded + detail, 0.0, 1.0)
    expected = _restored(s.layout_, decoded)
    # the codes are rebuilt from the provenance (float rounding), so allow 1 grey level
    assert np.abs(Xr[len(X) :].astype(int) - expected.astype(int)).max() <= 1
    assert Xr.dtype == np.uint8 and len(Xr) == len(X) + 41


def test_generate_writes_batches_into_the_caller_layout(tiny_images, monkeypatch):
    X, y = tiny_images
    s = DeepSMOTE(random_state=0, autoencoder=tiny(DeepSMOTE))
    s.fit_resample(X[:, 0], y)  # (N, H, W)
    whole = s.generate(23, 2, random_state=1, X=X[:, 0])
    monkeypatch.setattr(latent, "DECODE_BATCH", 4)
    batched = s.generate(23, 2, random_state=1, X=X[:, 0])
    assert batched.shape == (23, 8, 8) and batched.dtype == np.uint8
    np.testing.assert_array_equal(batched, whole)


def test_refuses_before_training(tiny_images, monkeypatch):
    X, y = tiny_images
    monkeypatch.setenv(ENV_VAR, "64K")
    s = DeepSMOTE(random_state=0, autoencoder=tiny(DeepSMOTE))
    with pytest.raises(InsufficientMemoryError, match="autoencoder training") as info:
        s.fit_resample(X, y)
    assert "DeepSMOTE.fit_resample on 49 images of shape (1, 8, 8)" in str(info.value)
    assert not hasattr(s, "autoencoder_")  # nothing was trained
