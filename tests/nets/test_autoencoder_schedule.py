"""Autoencoder training: one-cycle schedule and the per-epoch callback."""

import numpy as np
import pytest

from deepbalance.nets import AutoencoderConfig, TrainSettings, train_autoencoder


def _data():
    rng = np.random.RandomState(0)
    return rng.rand(40, 1, 8, 8).astype(np.float32), np.repeat([0, 1], 20)


def test_on_epoch_sees_every_epoch_and_onecycle_trains():
    X, y = _data()
    config = AutoencoderConfig((1, 8, 8), "plain", dim_h=4, latent_dim=8)
    seen = []
    settings = TrainSettings(epochs=4, batch_size=8, patience=None, lr=2e-3, schedule="onecycle")
    model, history = train_autoencoder(
        config, X, y, settings, seed=0, on_epoch=lambda entry, m: seen.append(entry["epoch"])
    )
    assert seen == [1, 2, 3, 4] and len(history) == 4
    assert history[-1]["recon"] < history[0]["recon"]
    again, _ = train_autoencoder(config, X, y, settings, seed=0)
    assert all(
        np.array_equal(a.detach().numpy(), b.detach().numpy())
        for a, b in zip(model.parameters(), again.parameters(), strict=True)
    )  # the callback changes nothing


def test_bad_schedule_and_callback_are_named():
    with pytest.raises(ValueError, match="schedule='cyclic'"):
        TrainSettings(schedule="cyclic")
    X, y = _data()
    config = AutoencoderConfig((1, 8, 8), "plain", dim_h=4, latent_dim=8)
    with pytest.raises(TypeError, match="on_epoch=3 must be a callable"):
        train_autoencoder(config, X, y, TrainSettings(epochs=1), seed=0, on_epoch=3)
