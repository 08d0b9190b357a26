"""Autoencoder sizing for large images."""

import math

import pytest
import torch

from deepbalance.nets.autoencoders import (
    AutoencoderConfig,
    autoencoder_activation_count,
    autoencoder_parameter_count,
    build_autoencoder,
)


@pytest.mark.parametrize(
    ("size", "stages", "top"),
    [
        (8, 3, 1),
        (28, 4, 1),
        (64, 4, 4),
        (128, 4, 8),
        (143, 4, 8),
        (144, 5, 4),
        (224, 5, 7),
        (512, 6, 8),
        (1024, 7, 8),
    ],
)
def test_stages_grow_with_the_image_and_stop_at_a_small_map(size, stages, top):
    config = AutoencoderConfig((1, size, size), dim_h=4)
    assert config.n_stages == stages
    model = build_autoencoder(config)
    assert model._top[1:] == (top, top)
    assert config.widths[-1] == 4 * 2 ** min(stages - 1, 3)


@pytest.mark.parametrize("size", [8, 12, 28, 32, 64, 100, 143])
def test_images_below_144_px_keep_their_architecture(size):
    assert AutoencoderConfig((1, size, size)).n_stages == min(4, int(math.log2(size)))


@pytest.mark.parametrize("shape", [(1, 224, 224), (3, 230, 150)])
def test_large_images_round_trip_to_their_own_shape(shape):
    config = AutoencoderConfig(shape, dim_h=2, latent_dim=8)
    model = build_autoencoder(config).eval()
    with torch.no_grad():
        assert model(torch.zeros(2, *shape)).shape == (2, *shape)


@pytest.mark.parametrize("variant", ["plain", "vae"])
@pytest.mark.parametrize("size", [8, 28, 224])
def test_counts_match_the_built_model(variant, size):
    config = AutoencoderConfig((2, size, size), dim_h=4, variant=variant, latent_dim=16)
    model = build_autoencoder(config).eval()
    assert autoencoder_parameter_count(config) == sum(p.numel() for p in model.parameters())
    with torch.no_grad():
        _, acts = model.hidden_activations(torch.zeros(1, 2, size, size))
    maps = sum(a.numel() for a in acts) - 2 * 16  # minus the code and the decoder's Linear
    encoder_maps = sum(a.numel() for a in acts[: config.n_stages])
    assert autoencoder_activation_count(config) >= maps
    assert autoencoder_activation_count(config) == 2 * encoder_maps + 2 * size * size


def test_the_224_px_linear_layers_stay_small():
    # with four stages the Linear layers would take 256 * 14 * 14 = 50,176 inputs
    model = build_autoencoder(AutoencoderConfig((1, 224, 224)))
    assert model.encoder_fc.in_features == 256 * 7 * 7
